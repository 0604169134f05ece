/* The data plane: HTTP/1.1 on the node's listening address, routed to a
 * function by path (/NAME/rest: the prefix is stripped and sent as
 * X-Forwarded-Prefix) or by Host (NAME.anything).  Each request gets an
 * instance (waiting in the function's bounded queue while one starts),
 * a connection of its own to that instance's gateway, and its bytes
 * passed through as they are, bodies streamed both ways with
 * backpressure; the router only reads heads, and where each body ends,
 * to keep client connections alive and free the instance's slot as soon
 * as the response is done.  Errors of its own are short text answers:
 * 400/431/505 (bad heads), 404 (no such function), 429 (queue full), 501
 * (upgrades), 502 (the instance failed), 503 (none could start or the
 * function is not ready), 504 (past timeout_s). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node.h"

#define BUF_MAX (HTTP_HEAD_MAX + 65536) /* client bytes held before a request goes */
#define WRITE_HIGH (1u << 20)           /* a side's queued writes that stop the other's reads */
#define HEAD_TIMEOUT_MS 30000           /* a head must arrive within (slow clients) */
#define IDLE_TIMEOUT_MS 60000           /* a kept-alive connection idle this long goes */
#define CLOSE_WAIT_MS 5000              /* for an answer to drain before the close */
#define CONNS_MAX 10000                 /* client connections at once */

enum conn_state { C_HEAD, C_QUEUED, C_CONNECTING, C_RELAY, C_CLOSING };

struct conn {
	struct ex_node *node;
	struct conn *qnext;
	struct ex_fn *fn;    /* while queued */
	struct ex_inst *inst; /* while it holds a slot */
	enum conn_state state;
	uv_tcp_t client;
	struct upconn *up;   /* to the instance, while a request is on it */
	uv_timer_t timer;
	int handles;         /* open, to close before it is freed */
	bool client_reading, up_reading, client_eof, closed, counted;
	bool up_keep;        /* the response allows the connection to serve again */
	bool up_reused;      /* the connection served an earlier request */
	/* The client's bytes not passed on yet (a head, body, the next request). */
	char *in;
	size_t inlen;
	/* The request being served. */
	char *up_head;       /* its head as the instance gets it */
	size_t up_head_len;
	char method[24];
	bool keep_alive;     /* the client's */
	int minor;           /* its HTTP/1.minor */
	struct http_body req_body;
	bool req_done;
	/* Its response. */
	char *resp;          /* a head being read */
	size_t resp_len;
	bool resp_started;   /* a head went to the client: errors can only cut it */
	bool resp_close;     /* the client connection ends after this response */
	struct http_body resp_body;
	int status;
	uint64_t t0;
};

/* A connection to an instance's gateway: one request's at a time, and
 * between requests kept on the instance's list for the next one (an
 * HTTP/1.1 instance keeps it alive; one that closes it is found out by
 * the read kept on it while idle). */
struct upconn {
	uv_tcp_t tcp;
	uv_connect_t connect;
	struct ex_node *node;
	struct ex_inst *inst; /* NULL once the instance is gone */
	struct conn *c;       /* the request's, NULL while idle */
	struct upconn *next;  /* on inst->idle_up */
	bool idle, closing;
};

/* At most this many kept an instance (more go as they finish). */
#define IDLE_UP_MAX 64

struct wr {
	uv_write_t req;
	struct conn *c;      /* a write to the client */
	struct upconn *u;    /* or to an instance */
	char data[];
};

static void conn_close(struct conn *c);
static void on_timeout(uv_timer_t *t);
static void up_connect(struct conn *c, struct ex_inst *in);
static void next_request(struct conn *c);
static void client_read_start(struct conn *c);
static void on_up_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static const char *reason(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	(void)h;
	(void)suggested;
	static char buf[65536]; /* (one loop thread; every read is used at once) */
	*b = uv_buf_init(buf, sizeof(buf));
}

static void on_written(uv_write_t *w, int status)
{
	struct wr *x = (struct wr *)w;
	/* (A write to an instance outlives the request it was for when
	 * that went: the connection's own request is looked at.) */
	struct conn *c = x->u ? x->u->c : x->c;
	uv_stream_t *to = w->handle;
	bool up = x->u != NULL;
	free(x);
	if (!c)
		return;
	if (status < 0 && c->state != C_CLOSING) {
		conn_close(c);
		return;
	}
	/* Below the mark again: the other side may send more. */
	if (c->state == C_RELAY && !up && !c->up_reading && c->up &&
	    uv_stream_get_write_queue_size(to) < WRITE_HIGH) {
		c->up_reading = true;
		uv_read_start((uv_stream_t *)&c->up->tcp, on_alloc, on_up_read);
	}
	if (c->state == C_RELAY && up && !c->req_done &&
	    uv_stream_get_write_queue_size(to) < WRITE_HIGH)
		client_read_start(c);
}

static int send_to(struct conn *c, uv_tcp_t *to, const char *data, size_t len)
{
	if (!len)
		return 0;
	struct wr *x = malloc(sizeof(*x) + len);
	if (!x)
		return -ENOMEM;
	x->u = c->up && to == &c->up->tcp ? c->up : NULL;
	x->c = x->u ? NULL : c;
	memcpy(x->data, data, len);
	uv_buf_t b = uv_buf_init(x->data, (unsigned)len);
	int err = uv_write(&x->req, (uv_stream_t *)to, &b, 1, on_written);
	if (err)
		free(x);
	return err;
}

static void account(struct conn *c, int status)
{
	struct ex_fn *fn = c->inst ? c->inst->rev->fn : c->fn;
	if (!fn)
		return;
	fn->by_code[status / 100 >= 1 && status / 100 <= 5 ? status / 100 : 5]++;
	hist_add(&fn->latency, (double)(uv_now(&c->node->loop) - c->t0) / 1000.0);
}

/* An answer of the router's own; the connection ends after it. */
static void fail(struct conn *c, int status, const char *msg)
{
	if (c->state == C_CLOSING)
		return;
	if (c->resp_started) {
		conn_close(c); /* (too late for a status: the client sees it cut) */
		return;
	}
	char buf[512];
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
			 status, reason(status), strlen(msg) + 1, msg);
	node_lock(c->node);
	account(c, status);
	node_unlock(c->node);
	send_to(c, &c->client, buf, (size_t)n);
	conn_close(c);
}

static void on_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->handles == 0) {
		if (c->counted)
			c->node->nconns--;
		free(c->in);
		free(c->up_head);
		free(c->resp);
		free(c);
	}
}

static void up_closed(uv_handle_t *h)
{
	free(h->data);
}

static void up_unlist(struct upconn *u)
{
	if (!u->idle || !u->inst)
		return;
	for (struct upconn **p = &u->inst->idle_up; *p; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			u->inst->nidle_up--;
			break;
		}
	u->idle = false;
}

static void up_close(struct upconn *u)
{
	if (u->closing)
		return;
	up_unlist(u);
	u->closing = true;
	u->c = NULL;
	uv_close((uv_handle_t *)&u->tcp, up_closed);
}

/* An idle kept connection said something, or closed: it is not used
 * again (an HTTP server sends nothing unasked). */
static void on_idle_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)b;
	struct upconn *u = s->data;
	if (n == 0)
		return;
	node_lock(u->node);
	up_close(u);
	node_unlock(u->node);
}

void router_inst_gone(struct ex_inst *in)
{
	/* (lock held) */
	while (in->idle_up) {
		struct upconn *u = in->idle_up;
		up_close(u);
		u->inst = NULL;
	}
}

/* Lets go of the instance, keeping the connection to it for its next
 * request where the response allows: lock held. */
static void release(struct conn *c)
{
	struct upconn *u = c->up;
	c->up = NULL;
	c->up_reading = false;
	if (u) {
		struct ex_inst *in = u->inst;
		bool keep = c->up_keep && in && in->state == INST_READY && !u->closing &&
			    in->nidle_up < IDLE_UP_MAX &&
			    uv_stream_get_write_queue_size((uv_stream_t *)&u->tcp) == 0;
		c->up_keep = false;
		if (keep) {
			u->c = NULL;
			u->idle = true;
			u->next = in->idle_up;
			in->idle_up = u;
			in->nidle_up++;
			/* (A stream already reading keeps its callback: stop first.) */
			uv_read_stop((uv_stream_t *)&u->tcp);
			uv_read_start((uv_stream_t *)&u->tcp, on_alloc, on_idle_read);
		} else {
			up_close(u);
		}
	}
	if (c->inst) {
		struct ex_inst *in = c->inst;
		c->inst = NULL;
		pool_release(in);
	}
}

static void unqueue(struct conn *c)
{
	struct ex_fn *fn = c->fn;
	if (c->state != C_QUEUED || !fn)
		return;
	for (struct conn **p = &fn->qhead, *prev = NULL; *p; prev = *p, p = &(*p)->qnext)
		if (*p == c) {
			*p = c->qnext;
			if (fn->qtail == c)
				fn->qtail = prev;
			fn->nqueued--;
			break;
		}
	c->fn = NULL;
}

static void close_handles(struct conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	uv_close((uv_handle_t *)&c->timer, on_closed);
	uv_close((uv_handle_t *)&c->client, on_closed);
}

static void on_shutdown(uv_shutdown_t *sd, int status)
{
	(void)status;
	struct conn *c = sd->data;
	free(sd);
	close_handles(c);
}

static void conn_close(struct conn *c)
{
	if (c->state == C_CLOSING)
		return;
	c->up_keep = false; /* (cut short: the connection cannot serve again) */
	node_lock(c->node);
	unqueue(c);
	release(c);
	node_unlock(c->node);
	c->state = C_CLOSING;
	if (c->client_reading)
		uv_read_stop((uv_stream_t *)&c->client);
	/* What is queued for the client (an answer of the router's own) goes
	 * first: the handle is closed once the shutdown is through, or after
	 * CLOSE_WAIT_MS for a client that does not read. */
	uv_timer_start(&c->timer, on_timeout, CLOSE_WAIT_MS, 0);
	uv_shutdown_t *sd = malloc(sizeof(*sd));
	if (sd)
		sd->data = c;
	if (!sd || uv_shutdown(sd, (uv_stream_t *)&c->client, on_shutdown) != 0) {
		free(sd);
		close_handles(c);
	}
}

static void on_timeout(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->state == C_CLOSING)
		close_handles(c);
	else if (c->state == C_HEAD)
		conn_close(c); /* (no request, or a head too slow) */
	else
		fail(c, 504, "the function did not answer in time");
}

/* The instance could not be reached, or closed the connection without
 * an answer: it is crashing (its guest killed, past memory_mb) or
 * broken, and gets no more requests (it is stopped; a new one starts). */
static void instance_failed(struct conn *c)
{
	if (!c->inst || c->resp_started)
		return;
	node_lock(c->node);
	pool_stop_inst(c->inst);
	node_unlock(c->node);
}

/* ---- the response ---- */

static bool hop_by_hop(const struct http_header *h)
{
	static const char *const names[] = {"connection", "keep-alive", "proxy-connection",
					    "te", "upgrade", "proxy-authenticate",
					    "proxy-authorization"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (h->name_len == strlen(names[i]) && !strncasecmp(h->name, names[i], h->name_len))
			return true;
	return false;
}

static bool is_named(const struct http_header *h, const char *name)
{
	return h->name_len == strlen(name) && !strncasecmp(h->name, name, h->name_len);
}

/* Whether a Connection field of head names x (a hop-by-hop field of the
 * sender's choosing, RFC 9110 7.6.1). */
static bool connection_names(const struct http_head *head, const struct http_header *x)
{
	for (int i = 0; i < head->nh; i++) {
		if (!is_named(&head->h[i], "connection"))
			continue;
		const char *v = head->h[i].value, *end = v + head->h[i].value_len;
		while (v < end) {
			while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
				v++;
			const char *t = v;
			while (v < end && *v != ',' && *v != ' ' && *v != '\t')
				v++;
			if ((size_t)(v - t) == x->name_len && !strncasecmp(t, x->name, x->name_len))
				return true;
		}
	}
	return false;
}

static void response_done(struct conn *c)
{
	if (!c->req_done)
		c->up_keep = false; /* (the instance may wait for the rest of a body) */
	node_lock(c->node);
	account(c, c->status);
	release(c);
	node_unlock(c->node);
	if (c->resp_close || !c->req_done)
		conn_close(c);
	else
		next_request(c);
}

/* The instance's response head: passed on with its own hop-by-hop
 * fields replaced by the router's Connection. */
static int response_head(struct conn *c)
{
	struct http_head h;
	int err = http_parse_response(c->resp, c->resp_len, c->method, strlen(c->method), &h);
	if (err == -EAGAIN)
		return c->resp_len >= HTTP_HEAD_MAX ? -E2BIG : 0;
	if (err)
		return err;
	if (h.status == 101)
		return -EPROTO; /* (upgrades are refused before they are sent) */
	char *out = malloc(h.len + 64);
	if (!out)
		return -ENOMEM;
	bool interim = h.status >= 100 && h.status < 200;
	c->resp_close = !c->keep_alive || h.body == HTTP_BODY_UNTIL_CLOSE || c->node->stopping;
	c->up_keep = h.keep_alive && c->minor == 1 && !c->node->stopping;
	/* The status line as it came, the fields but hop-by-hop ones. */
	const char *eol = memchr(c->resp, '\n', h.len);
	size_t n = (size_t)(eol - c->resp) + 1;
	memcpy(out, c->resp, n);
	for (int i = 0; i < h.nh; i++) {
		if (hop_by_hop(&h.h[i]) || connection_names(&h, &h.h[i]))
			continue;
		const char *line = h.h[i].name;
		const char *end = memchr(line, '\n', h.len - (size_t)(line - c->resp));
		memcpy(out + n, line, (size_t)(end - line) + 1);
		n += (size_t)(end - line) + 1;
	}
	if (!interim)
		n += (size_t)sprintf(out + n, "%s", c->resp_close ? "Connection: close\r\n"
					      : c->minor == 0 ? "Connection: keep-alive\r\n"
					      : "");
	memcpy(out + n, "\r\n", 2);
	n += 2;
	send_to(c, &c->client, out, n);
	free(out);
	size_t rest = c->resp_len - h.len;
	memmove(c->resp, c->resp + h.len, rest);
	c->resp_len = rest;
	if (interim)
		return response_head(c); /* (another head follows) */
	c->status = h.status;
	c->resp_started = true;
	http_body_init(&c->resp_body, &h);
	/* What came with the head is body. */
	if (rest) {
		ssize_t k = http_body_scan(&c->resp_body, c->resp, rest);
		if (k < 0)
			return (int)k;
		send_to(c, &c->client, c->resp, (size_t)k);
	}
	c->resp_len = 0;
	if (c->resp_body.done)
		response_done(c);
	return 0;
}

static void on_up_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct upconn *u = s->data;
	struct conn *c = u->c;
	if (!c || c->state != C_RELAY || n == 0)
		return;
	if (n < 0) {
		/* The instance closed: the end of a body read to the close, or
		 * a failure. */
		if (c->resp_started && http_body_eof(&c->resp_body)) {
			c->resp_close = true;
			response_done(c);
		} else if (c->up_reused && !c->resp_len && !c->resp_started &&
			   c->req_body.kind == HTTP_BODY_NONE) {
			/* A kept connection the instance had closed as the
			 * request went: once more on a new one (no body was
			 * consumed, nothing was answered). */
			node_lock(c->node);
			up_close(c->up);
			c->up = NULL;
			c->up_reading = false;
			if (c->inst)
				up_connect(c, c->inst);
			node_unlock(c->node);
		} else {
			instance_failed(c);
			fail(c, 502, "the function's instance closed the connection");
		}
		return;
	}
	if (!c->resp_started) {
		char *g = realloc(c->resp, c->resp_len + (size_t)n);
		if (!g) {
			fail(c, 502, "out of memory");
			return;
		}
		c->resp = g;
		memcpy(c->resp + c->resp_len, b->base, (size_t)n);
		c->resp_len += (size_t)n;
		int err = response_head(c);
		if (err)
			fail(c, 502, "the function's instance sent a malformed response");
		return;
	}
	ssize_t k = http_body_scan(&c->resp_body, b->base, (size_t)n);
	if (k < 0) {
		conn_close(c);
		return;
	}
	send_to(c, &c->client, b->base, (size_t)k);
	if (c->resp_body.done) {
		response_done(c);
		return;
	}
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->client) >= WRITE_HIGH) {
		uv_read_stop(s);
		c->up_reading = false;
	}
}

/* ---- the request ---- */

/* Passes on what of c->in belongs to the request's body. */
static void pass_body(struct conn *c)
{
	if (c->req_done || !c->inlen)
		return;
	ssize_t k = http_body_scan(&c->req_body, c->in, c->inlen);
	if (k < 0) {
		fail(c, 400, "malformed chunked body");
		return;
	}
	send_to(c, &c->up->tcp, c->in, (size_t)k);
	memmove(c->in, c->in + k, c->inlen - (size_t)k);
	c->inlen -= (size_t)k;
	c->req_done = c->req_body.done;
}

/* The connection to the instance is there (new, or kept from an earlier
 * request): the request goes. */
static void start_relay(struct conn *c)
{
	c->state = C_RELAY;
	send_to(c, &c->up->tcp, c->up_head, c->up_head_len);
	pass_body(c);
	if (c->state != C_RELAY)
		return;
	c->up_reading = true;
	uv_read_start((uv_stream_t *)&c->up->tcp, on_alloc, on_up_read);
	if (!c->req_done)
		client_read_start(c);
}

static void on_connected(uv_connect_t *r, int status)
{
	struct upconn *u = r->data;
	struct conn *c = u->c;
	if (!c || u->closing || c->state != C_CONNECTING)
		return; /* (the request went meanwhile: release closed it) */
	if (status < 0) {
		instance_failed(c);
		fail(c, 502, "cannot reach the function's instance");
		return;
	}
	start_relay(c);
}

/* A new connection to the instance for c's request (lock held). */
static void up_connect(struct conn *c, struct ex_inst *in)
{
	struct upconn *u = calloc(1, sizeof(*u));
	if (!u) {
		node_unlock(c->node);
		fail(c, 503, "out of memory");
		node_lock(c->node);
		return;
	}
	u->node = c->node;
	u->inst = in;
	u->c = c;
	u->tcp.data = u;
	u->connect.data = u;
	uv_tcp_init(&c->node->loop, &u->tcp);
	uv_tcp_nodelay(&u->tcp, 1);
	c->up = u;
	c->up_reused = false;
	c->state = C_CONNECTING;
	struct sockaddr_in a;
	uv_ip4_addr("127.0.0.1", in->port, &a);
	if (uv_tcp_connect(&u->connect, &u->tcp, (struct sockaddr *)&a, on_connected)) {
		node_unlock(c->node);
		fail(c, 502, "cannot reach the function's instance");
		node_lock(c->node);
	}
}

void router_assign(struct conn *c, struct ex_inst *in, int status, const char *msg)
{
	/* (lock held) */
	if (!in) {
		c->state = C_HEAD; /* (so fail does not unqueue it again) */
		node_unlock(c->node);
		fail(c, status, msg);
		node_lock(c->node);
		return;
	}
	c->fn = NULL;
	c->inst = in;
	c->state = C_CONNECTING;
	c->up_reused = false;
	/* A connection the instance kept from an earlier request, or a new one. */
	struct upconn *u = in->idle_up;
	if (u) {
		up_unlist(u);
		uv_read_stop((uv_stream_t *)&u->tcp);
		u->c = c;
		c->up = u;
		c->up_reused = true;
		node_unlock(c->node); /* (start_relay may fail the request: it locks) */
		start_relay(c);
		node_lock(c->node);
		return;
	}
	up_connect(c, in);
}

struct conn *router_queue_next(struct conn *c)
{
	return c->qnext;
}

void router_drop_queue(struct ex_fn *fn, int status, const char *msg)
{
	while (fn->qhead) {
		struct conn *c = fn->qhead;
		fn->qhead = c->qnext;
		fn->nqueued--;
		router_assign(c, NULL, status, msg);
	}
	fn->qtail = NULL;
}

/* Which function a request is for, and the target it is sent with: the
 * Host's first label when the Host is a name (not an address) with a
 * dot and names a function (as Knative routes), else the path's first
 * segment, stripped (lock held). */
static struct ex_fn *route(struct ex_node *node, const struct http_head *h, char *prefix,
			   const char **target, size_t *tlen)
{
	char name[EX_NAME_MAX + 1];
	*target = h->target;
	*tlen = h->target_len;
	prefix[0] = 0;
	size_t hl;
	const char *host = http_header_get(h, "host", &hl);
	const char *dot = host ? memchr(host, '.', hl) : NULL;
	bool address = host && hl && (host[0] == '[' || (host[0] >= '0' && host[0] <= '9'));
	if (dot && !address && dot > host && (size_t)(dot - host) <= EX_NAME_MAX) {
		memcpy(name, host, (size_t)(dot - host));
		name[dot - host] = 0;
		struct ex_fn *fn = ex_name_ok(name) ? fn_find(node, name) : NULL;
		if (fn)
			return fn;
	}
	if (h->target_len && h->target[0] == '/') {
		size_t i = 1;
		while (i < h->target_len && h->target[i] != '/' && h->target[i] != '?')
			i++;
		if (i - 1 >= 1 && i - 1 <= EX_NAME_MAX) {
			memcpy(name, h->target + 1, i - 1);
			name[i - 1] = 0;
			struct ex_fn *fn = ex_name_ok(name) ? fn_find(node, name) : NULL;
			if (fn) {
				snprintf(prefix, EX_NAME_MAX + 2, "/%s", name);
				*target = h->target + i;
				*tlen = h->target_len - i;
				return fn;
			}
		}
	}
	return NULL;
}

/* The head the instance gets: the request line with the routed target,
 * the client's fields but hop-by-hop ones, X-Forwarded-*, and a
 * connection of its own that ends with the response. */
static char *upstream_head(struct conn *c, const struct http_head *h, const char *prefix,
			   const char *target, size_t tlen, size_t *len)
{
	char peer[64] = "";
	struct sockaddr_storage sa;
	int sl = sizeof(sa);
	if (uv_tcp_getpeername(&c->client, (struct sockaddr *)&sa, &sl) == 0)
		uv_ip_name((struct sockaddr *)&sa, peer, sizeof(peer));
	char *out = NULL;
	FILE *f = open_memstream(&out, len);
	if (!f)
		return NULL;
	fprintf(f, "%.*s %s%.*s HTTP/1.%d\r\n", (int)h->method_len, h->method,
		tlen && target[0] == '/' ? "" : "/", (int)tlen, target, h->minor);
	size_t fl = 0;
	const char *fwd = http_header_get(h, "x-forwarded-for", &fl);
	for (int i = 0; i < h->nh; i++) {
		const struct http_header *x = &h->h[i];
		if (hop_by_hop(x) || connection_names(h, x) || is_named(x, "x-forwarded-for") ||
		    is_named(x, "x-forwarded-prefix") || is_named(x, "x-forwarded-proto"))
			continue;
		fprintf(f, "%.*s: %.*s\r\n", (int)x->name_len, x->name, (int)x->value_len,
			x->value);
	}
	fprintf(f, "X-Forwarded-For: %.*s%s%s\r\n", (int)fl, fwd ? fwd : "", fwd ? ", " : "", peer);
	if (prefix[0])
		fprintf(f, "X-Forwarded-Prefix: %s\r\n", prefix);
	/* HTTP/1.1 keeps the connection to the instance for its next
	 * request; an HTTP/1.0 request (sent as such) ends it. */
	fprintf(f, "X-Forwarded-Proto: http\r\n%s\r\n", h->minor ? "" : "Connection: close\r\n");
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* A whole head is in c->in: route it and find it an instance. */
static void request(struct conn *c)
{
	struct http_head h;
	int err = http_parse_request(c->in, c->inlen, &h);
	if (err == -EAGAIN) {
		if (c->inlen >= HTTP_HEAD_MAX)
			fail(c, 431, "request head too large");
		return;
	}
	if (err) {
		fail(c, err == -E2BIG ? 431 : err == -ENOSYS ? 505 : 400,
		     err == -E2BIG ? "request head too large" : "malformed request");
		return;
	}
	c->t0 = uv_now(&c->node->loop);
	c->keep_alive = h.keep_alive;
	c->minor = h.minor;
	snprintf(c->method, sizeof(c->method), "%.*s", (int)(h.method_len < 23 ? h.method_len : 23),
		 h.method);
	if (h.upgrade) {
		fail(c, 501, "protocol upgrades (WebSocket, CONNECT) are not supported");
		return;
	}
	char prefix[EX_NAME_MAX + 2];
	const char *target;
	size_t tlen;
	node_lock(c->node);
	c->node->requests_total++;
	struct ex_fn *fn = route(c->node, &h, prefix, &target, &tlen);
	if (!fn) {
		node_unlock(c->node);
		fail(c, 404, "no such function (route by /NAME/... or the Host NAME.<domain>)");
		return;
	}
	free(c->up_head);
	c->up_head = upstream_head(c, &h, prefix, target, tlen, &c->up_head_len);
	if (!c->up_head) {
		node_unlock(c->node);
		fail(c, 503, "out of memory");
		return;
	}
	http_body_init(&c->req_body, &h);
	c->req_done = c->req_body.done;
	memmove(c->in, c->in + h.len, c->inlen - h.len);
	c->inlen -= h.len;
	c->resp_started = false;
	c->resp_len = 0;
	c->status = 0;
	uv_timer_stop(&c->timer);
	c->fn = fn;
	fn->last_used = uv_now(&c->node->loop);
	if (!fn->serving) {
		node_unlock(c->node);
		fail(c, 503, "the function has no ready revision");
		return;
	}
	uint32_t timeout_s = fn->serving->cfg.timeout_s;
	uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_s * 1000, 0);
	struct ex_inst *in = pool_pick(fn);
	if (in) {
		in->active++;
		router_assign(c, in, 0, NULL);
		node_unlock(c->node);
		return;
	}
	uint64_t slots = (uint64_t)fn->serving->cfg.concurrency * fn->serving->cfg.max_instances;
	if (fn->nqueued >= QUEUE_MAX || fn->nqueued >= QUEUE_PER_SLOT * slots) {
		node_unlock(c->node);
		fail(c, 429, "too many requests wait for this function");
		return;
	}
	c->state = C_QUEUED;
	c->qnext = NULL;
	if (fn->qtail)
		fn->qtail->qnext = c;
	else
		fn->qhead = c;
	fn->qtail = c;
	fn->nqueued++;
	pool_dispatch(fn);
	node_unlock(c->node);
}

static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = s->data;
	if (c->state == C_CLOSING || n == 0)
		return; /* (0: nothing this time, as libuv may say) */
	if (n < 0) {
		/* The client went (or half-closed): a request it was waiting
		 * for is abandoned and its slot freed. */
		c->client_eof = true;
		if (c->state == C_RELAY && c->req_done && c->resp_started)
			return; /* (a half-close after its request: the answer still goes) */
		conn_close(c);
		return;
	}
	if (c->inlen + (size_t)n > BUF_MAX) {
		/* More than may wait: read again once the instance took some. */
		if (c->state == C_HEAD) {
			fail(c, 431, "request head too large");
			return;
		}
	}
	char *g = realloc(c->in, c->inlen + (size_t)n);
	if (!g) {
		conn_close(c);
		return;
	}
	c->in = g;
	memcpy(c->in + c->inlen, b->base, (size_t)n);
	c->inlen += (size_t)n;
	if (c->state == C_HEAD)
		request(c);
	else if (c->state == C_RELAY)
		pass_body(c);
	if (c->state == C_CLOSING)
		return;
	/* Hold back: past BUF_MAX held (the next requests, or a body
	 * waiting for its instance), or a body the instance does not take.
	 * Otherwise reading goes on, so that a client that goes is seen at
	 * once and its slot freed. */
	bool full = c->inlen >= BUF_MAX ||
		    (c->state == C_RELAY && !c->req_done && c->up &&
		     uv_stream_get_write_queue_size((uv_stream_t *)&c->up->tcp) >= WRITE_HIGH);
	if (full && c->client_reading) {
		uv_read_stop(s);
		c->client_reading = false;
	}
}

static void client_read_start(struct conn *c)
{
	if (!c->client_reading && c->state != C_CLOSING) {
		c->client_reading = true;
		uv_read_start((uv_stream_t *)&c->client, on_alloc, on_client_read);
	}
}

/* The response is done and the connection stays: the next request may
 * already be here. */
static void next_request(struct conn *c)
{
	c->state = C_HEAD;
	c->resp_started = false;
	uv_timer_start(&c->timer, on_timeout, c->inlen ? HEAD_TIMEOUT_MS : IDLE_TIMEOUT_MS, 0);
	if (c->inlen)
		request(c);
	if (c->state == C_HEAD || (c->state == C_RELAY && !c->req_done))
		client_read_start(c);
}

static void on_accept(uv_stream_t *l, int status)
{
	struct ex_node *node = l->data;
	if (status < 0)
		return;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->node = node;
	uv_tcp_init(&node->loop, &c->client);
	uv_timer_init(&node->loop, &c->timer);
	c->client.data = c->timer.data = c;
	c->handles = 2;
	/* Past CONNS_MAX at once a connection is closed as it comes (each
	 * holds little, and a head must come within 30 s, but their number
	 * is the node's descriptors). */
	if (uv_accept(l, (uv_stream_t *)&c->client) != 0 || node->stopping ||
	    node->nconns >= CONNS_MAX) {
		c->state = C_CLOSING;
		uv_close((uv_handle_t *)&c->client, on_closed);
		uv_close((uv_handle_t *)&c->timer, on_closed);
		return;
	}
	node->nconns++;
	c->counted = true;
	uv_tcp_nodelay(&c->client, 1);
	uv_timer_start(&c->timer, on_timeout, HEAD_TIMEOUT_MS, 0);
	client_read_start(c);
}

int router_listen(struct ex_node *node, char *why, size_t n)
{
	struct sockaddr_storage a;
	int err = uv_ip4_addr(node->cfg.listen_host, node->cfg.listen_port, (struct sockaddr_in *)&a);
	if (err)
		err = uv_ip6_addr(node->cfg.listen_host, node->cfg.listen_port,
				  (struct sockaddr_in6 *)&a);
	if (err) {
		snprintf(why, n, "--listen: '%s' is not an IP address", node->cfg.listen_host);
		return -EINVAL;
	}
	uv_tcp_init(&node->loop, &node->listener);
	node->listener.data = node;
	if ((err = uv_tcp_bind(&node->listener, (struct sockaddr *)&a, 0)) ||
	    (err = uv_listen((uv_stream_t *)&node->listener, 1024, on_accept))) {
		snprintf(why, n, "cannot listen on %s:%u: %s", node->cfg.listen_host,
			 node->cfg.listen_port, uv_strerror(err));
		return err;
	}
	struct sockaddr_storage got;
	int gl = sizeof(got);
	uv_tcp_getsockname(&node->listener, (struct sockaddr *)&got, &gl);
	node->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
	return 0;
}
