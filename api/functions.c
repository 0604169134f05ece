/* The routes of /functions: the JSON a deploy takes, checked strictly
 * (unknown fields, wrong types, bad names, code that is not text or
 * base64), handed to the executor; and the reads and deletes. */
#define _GNU_SOURCE
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Base64 (RFC 4648, line breaks allowed) into bytes: malloc'd, or NULL. */
static unsigned char *base64_decode(const char *s, size_t len, size_t *out_len)
{
	unsigned char *out = malloc(len / 4 * 3 + 4);
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	int n = 0, m = 0;
	if (!out || !ctx || len > INT32_MAX)
		goto bad;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &n, (const unsigned char *)s, (int)len) < 0 ||
	    EVP_DecodeFinal(ctx, out + n, &m) != 1)
		goto bad;
	EVP_ENCODE_CTX_free(ctx);
	*out_len = (size_t)(n + m);
	return out;
bad:
	EVP_ENCODE_CTX_free(ctx);
	free(out);
	return NULL;
}

/* A deploy's body: POST (name in it) or PUT (name from the path; one in
 * the body must be the same). */
static int deploy(struct ex_node *node, struct MHD_Connection *c, const char *path_name,
		  const char *body, size_t len)
{
	json_error_t e;
	json_t *o = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &e) : NULL;
	char why[2048];
	if (!o) {
		snprintf(why, sizeof(why), "malformed JSON: %s (line %d)", len ? e.text : "no body",
			 len ? e.line : 0);
		return api_reply_error(c, 400, why);
	}
	if (!json_is_object(o)) {
		json_decref(o);
		return api_reply_error(c, 400, "the body wants a JSON object");
	}
	struct ex_fn_config cfg;
	ex_fn_config_defaults(&cfg);
	struct ex_code code = {0};
	unsigned char *archive = NULL;
	json_t *rest = json_object(); /* the configuration's fields */
	const char *key;
	json_t *v;
	int status = 0;
	json_object_foreach(o, key, v) {
		if (!strcmp(key, "name")) {
			if (!json_is_string(v) || !ex_name_ok(json_string_value(v))) {
				snprintf(why, sizeof(why), "\"name\" wants a DNS label: 1 to %d of a-z, "
					 "0-9 and '-', not starting or ending with '-'", EX_NAME_MAX);
				status = 400;
			} else if (path_name && strcmp(path_name, json_string_value(v))) {
				snprintf(why, sizeof(why), "\"name\" is not the one in the path");
				status = 400;
			} else {
				snprintf(cfg.name, sizeof(cfg.name), "%s", json_string_value(v));
			}
		} else if (!strcmp(key, "files")) {
			const char *p;
			json_t *t;
			if (!json_is_object(v) || json_object_size(v) > EX_CODE_FILES_MAX) {
				snprintf(why, sizeof(why), "\"files\" wants an object of path: text");
				status = 400;
			} else
				json_object_foreach(v, p, t) {
					if (!ex_code_path_ok(p)) {
						snprintf(why, sizeof(why), "\"files\": '%.200s' is not a "
							 "relative path inside the function", p);
						status = 400;
						break;
					}
					if (!json_is_string(t)) {
						snprintf(why, sizeof(why), "\"files\": '%.200s' wants a "
							 "string", p);
						status = 400;
						break;
					}
				}
			code.files = v;
		} else if (!strcmp(key, "archive")) {
			if (!json_is_string(v) ||
			    !(archive = base64_decode(json_string_value(v), json_string_length(v),
						      &code.archive_len)) ||
			    !code.archive_len) {
				snprintf(why, sizeof(why), "\"archive\" wants a tar.gz or zip in base64");
				status = 400;
			}
			code.archive = archive;
		} else {
			json_object_set(rest, key, v);
		}
		if (status)
			break;
	}
	if (!status && ex_fn_config_parse(rest, &cfg, why, sizeof(why)))
		status = 400;
	if (!status && path_name)
		snprintf(cfg.name, sizeof(cfg.name), "%s", path_name);
	if (!status && !cfg.name[0]) {
		snprintf(why, sizeof(why), "\"name\" is missing");
		status = 400;
	}
	const char *w = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait");
	bool wait = w && (!strcmp(w, "1") || !strcmp(w, "true"));
	json_t *out = NULL;
	if (!status)
		status = ex_fn_deploy(node, &cfg, &code, path_name != NULL, wait, &out, why,
				      sizeof(why));
	json_decref(o);
	json_decref(rest);
	free(archive);
	ex_fn_config_free(&cfg);
	return status < 300 ? api_reply_json(c, status, out) : api_reply_error(c, status, why);
}

static int method_not_allowed(struct MHD_Connection *c, const char *allow)
{
	char msg[128];
	snprintf(msg, sizeof(msg), "method not allowed here (allowed: %s)", allow);
	return api_reply_error(c, 405, msg);
}

/* (out: where the call left its answer, read once it has returned.) */
static int result(struct MHD_Connection *c, int status, json_t **out, const char *why)
{
	json_t *o = out ? *out : NULL;
	if (status == 204) {
		json_decref(o);
		return api_reply_text(c, 204, "text/plain", strdup(""));
	}
	return status < 300 ? api_reply_json(c, status, o) : api_reply_error(c, status, why);
}

int api_route(struct ex_node *node, struct MHD_Connection *c, const char *url, const char *method,
	      const char *body, size_t len)
{
	char why[512] = "";
	json_t *out = NULL;
	if (!strcmp(url, "/functions") || !strcmp(url, "/functions/")) {
		if (!strcmp(method, "GET"))
			return result(c, ex_fn_list(node, &out), &out, why);
		if (!strcmp(method, "POST"))
			return deploy(node, c, NULL, body, len);
		return method_not_allowed(c, "GET, POST");
	}
	if (strncmp(url, "/functions/", 11) != 0)
		return api_reply_error(c, 404, "no such path");
	/* /functions/NAME[/instances|/logs] */
	const char *name = url + 11, *slash = strchr(name, '/');
	size_t nl = slash ? (size_t)(slash - name) : strlen(name);
	char fn[EX_NAME_MAX + 1];
	if (nl == 0 || nl > EX_NAME_MAX)
		return api_reply_error(c, 404, "no such function");
	memcpy(fn, name, nl);
	fn[nl] = 0;
	if (!ex_name_ok(fn))
		return api_reply_error(c, 404, "no such function");
	const char *sub = slash ? slash : "";
	if (!*sub || !strcmp(sub, "/")) {
		if (!strcmp(method, "GET"))
			return result(c, ex_fn_get(node, fn, &out, why, sizeof(why)), &out, why);
		if (!strcmp(method, "PUT"))
			return deploy(node, c, fn, body, len);
		if (!strcmp(method, "DELETE"))
			return result(c, ex_fn_delete(node, fn, why, sizeof(why)), NULL, why);
		return method_not_allowed(c, "GET, PUT, DELETE");
	}
	if (!strcmp(sub, "/instances")) {
		if (strcmp(method, "GET"))
			return method_not_allowed(c, "GET");
		return result(c, ex_fn_instances(node, fn, &out, why, sizeof(why)), &out, why);
	}
	if (!strcmp(sub, "/logs")) {
		if (strcmp(method, "GET"))
			return method_not_allowed(c, "GET");
		const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tail");
		char *end = NULL;
		unsigned long tail = t ? strtoul(t, &end, 10) : 100;
		if (t && (!*t || *end || tail > 100000))
			return api_reply_error(c, 400, "?tail wants a number from 0 to 100000");
		return result(c, ex_fn_logs(node, fn, tail, &out, why, sizeof(why)), &out, why);
	}
	return api_reply_error(c, 404, "no such path");
}
