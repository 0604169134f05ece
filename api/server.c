/* The control plane's HTTP side: libmicrohttpd, a thread a connection
 * (a deploy with ?wait=1 blocks its own), bodies capped, the bearer
 * token checked in constant time, routes dispatched to api/functions.c,
 * and every error as {"error": {"code": N, "message": "..."}}. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define API_CONNECTIONS_MAX 64
#define API_PER_IP_MAX 32
#define API_TIMEOUT_S 60 /* a connection silent this long goes */

struct api {
	struct MHD_Daemon *d;
	struct ex_node *node;
	unsigned char token_hash[32];
	uint16_t port;
};

/* A request's upload, gathered (up to API_BODY_MAX). */
struct upload {
	char *data;
	size_t len;
};

static int reply(struct MHD_Connection *c, int status, const char *type, char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	if (status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"husk\"");
	int ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

int api_reply_json(struct MHD_Connection *c, int status, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	if (!text)
		return api_reply_error(c, 500, "out of memory");
	size_t len = strlen(text);
	char *body = realloc(text, len + 2);
	if (!body) {
		free(text);
		return MHD_NO;
	}
	body[len] = '\n';
	return reply(c, status, "application/json", body, len + 1);
}

int api_reply_error(struct MHD_Connection *c, int status, const char *msg)
{
	json_t *o = json_pack("{s:{s:i, s:s}}", "error", "code", status, "message", msg);
	char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	if (!text)
		return MHD_NO;
	return reply(c, status, "application/json", text, strlen(text));
}

int api_reply_text(struct MHD_Connection *c, int status, const char *type, char *text)
{
	return reply(c, status, type, text, strlen(text));
}

/* Bearer TOKEN, compared as SHA-256 digests in constant time (the
 * digests' equal length hides the token's). */
static bool authorized(const struct api *a, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	unsigned char d[32];
	unsigned int dl = 0;
	if (!EVP_Digest(h + 7, strlen(h + 7), d, &dl, EVP_sha256(), NULL) || dl != sizeof(d))
		return false;
	return CRYPTO_memcmp(d, a->token_hash, sizeof(d)) == 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *data_len, void **state)
{
	(void)version;
	struct api *a = cls;
	struct upload *u = *state;
	if (!u) {
		/* The first call has the head: refuse early what is refused
		 * anyway (the body then is not read). */
		if (!(u = calloc(1, sizeof(*u))))
			return MHD_NO;
		*state = u;
		/* The token before any body is taken: a client without it
		 * cannot make the node hold 64 MiB a connection. */
		bool open_path = !strcmp(url, "/healthz") || !strcmp(url, "/metrics");
		if (!open_path && !authorized(a, c))
			return api_reply_error(c, 401, "missing or wrong bearer token");
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX)
			return api_reply_error(c, 413, "the body is over " API_BODY_MAX_TEXT);
		return MHD_YES;
	}
	if (*data_len) {
		if (u->len + *data_len > API_BODY_MAX) {
			/* (Answered now: the rest is not read.) */
			*data_len = 0;
			return api_reply_error(c, 413, "the body is over " API_BODY_MAX_TEXT);
		} else {
			char *g = realloc(u->data, u->len + *data_len + 1);
			if (!g)
				return MHD_NO;
			u->data = g;
			memcpy(u->data + u->len, data, *data_len);
			u->len += *data_len;
			u->data[u->len] = 0;
		}
		*data_len = 0;
		return MHD_YES;
	}
	if (!strcmp(url, "/healthz") && !strcmp(method, "GET"))
		return api_reply_json(c, 200, json_pack("{s:s}", "status", "ok"));
	if (!strcmp(url, "/metrics") && !strcmp(method, "GET")) {
		char *m = ex_node_metrics(a->node);
		return m ? api_reply_text(c, 200, "text/plain; version=0.0.4", m)
			 : api_reply_error(c, 500, "out of memory");
	}
	if (!authorized(a, c))
		return api_reply_error(c, 401, "missing or wrong bearer token");
	return api_route(a->node, c, url, method, u->data, u->len);
}

static void done(void *cls, struct MHD_Connection *c, void **state,
		 enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)c;
	(void)why;
	struct upload *u = *state;
	if (u) {
		free(u->data);
		free(u);
	}
	*state = NULL;
}

int api_start(const struct api_config *cfg, struct ex_node *node, struct api **out, char *why,
	      size_t n)
{
	struct api *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->node = node;
	unsigned int dl;
	EVP_Digest(cfg->token, strlen(cfg->token), a->token_hash, &dl, EVP_sha256(), NULL);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(cfg->port)};
	if (inet_pton(AF_INET, cfg->host, &sin.sin_addr) != 1) {
		snprintf(why, n, "--api: '%s' is not an IPv4 address", cfg->host);
		free(a);
		return -EINVAL;
	}
	a->d = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0,
		NULL, NULL, handle, a, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_CONNECTIONS_MAX,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)API_PER_IP_MAX,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED,
		done, NULL, MHD_OPTION_END);
	if (!a->d) {
		snprintf(why, n, "cannot listen on %s:%u (in use?)", cfg->host, cfg->port);
		free(a);
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT);
	a->port = info ? info->port : cfg->port;
	*out = a;
	return 0;
}

void api_stop(struct api *a)
{
	if (!a)
		return;
	MHD_stop_daemon(a->d);
	free(a);
}

uint16_t api_port(const struct api *a)
{
	return a->port;
}

int api_token(const char *state_dir, const char *given, char *out, size_t size, char *why,
	      size_t n)
{
	if (given) {
		size_t l = strlen(given);
		bool ok = l >= 32 && l <= 256 && l < size;
		for (const char *p = given; ok && *p; p++)
			ok = *p > 0x20 && *p < 0x7f;
		if (!ok) {
			snprintf(why, n, "--token wants 32 to 256 printable characters, no spaces");
			return -EINVAL;
		}
		memcpy(out, given, l + 1);
		return 0;
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/token", state_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		ssize_t got = read(fd, out, size - 1);
		close(fd);
		while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == '\r'))
			got--;
		if (got < 32) {
			snprintf(why, n, "%s: not a token (delete it to make a new one)", path);
			return -EINVAL;
		}
		out[got] = 0;
		return 0;
	}
	unsigned char raw[32];
	if (size < 2 * sizeof(raw) + 1 || RAND_bytes(raw, sizeof(raw)) != 1) {
		snprintf(why, n, "cannot make a token");
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		sprintf(out + 2 * i, "%02x", raw[i]);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, out, strlen(out)) != (ssize_t)strlen(out) || write(fd, "\n", 1) != 1) {
		snprintf(why, n, "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}
