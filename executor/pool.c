/* The instances of each function: started from the serving revision's
 * snapshot when requests wait and none has room (up to max_instances),
 * kept at min_instances, stopped after idle_timeout_s idle (and at once
 * when their revision is no longer served and they are idle), SIGTERM
 * first and SIGKILL after a grace period.  All on the loop's thread,
 * with the node's lock held. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node.h"

static void inst_maybe_free(struct ex_inst *in);

/* The output of an instance: a log line at each newline. */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	static char b[16384]; /* (the loop's thread only; each read is used at once) */
	*buf = uv_buf_init(b, sizeof(b));
}

static void on_output(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ex_inst *in = s->data;
	int k = (uv_pipe_t *)s == &in->out[1];
	struct ex_node *node = in->rev->fn->node;
	node_lock(node);
	for (ssize_t i = 0; i < nread; i++) {
		if (buf->base[i] == '\n' || in->linelen[k] == LOG_LINE_MAX) {
			log_add(in->rev->fn, in->rev->num, in->id, k, in->linebuf[k], in->linelen[k]);
			in->linelen[k] = 0;
			if (buf->base[i] == '\n')
				continue;
		}
		in->linebuf[k][in->linelen[k]++] = buf->base[i];
	}
	if (nread < 0) {
		if (in->linelen[k])
			log_add(in->rev->fn, in->rev->num, in->id, k, in->linebuf[k], in->linelen[k]);
		in->linelen[k] = 0;
		uv_read_stop(s);
	}
	node_unlock(node);
}

static void on_closed(uv_handle_t *h)
{
	struct ex_inst *in = h->data;
	struct ex_node *node = in->rev->fn->node;
	node_lock(node);
	in->open_handles--;
	inst_maybe_free(in);
	node_unlock(node);
}

/* Unlinks and frees an instance once its process is gone, its handles
 * are closed, and no request holds it. */
static void inst_maybe_free(struct ex_inst *in)
{
	if (!in->exited || in->active)
		return;
	if (in->open_handles > 0 && !in->closing) {
		in->closing = true;
		uv_close((uv_handle_t *)&in->proc, on_closed);
		uv_close((uv_handle_t *)&in->out[0], on_closed);
		uv_close((uv_handle_t *)&in->out[1], on_closed);
		uv_close((uv_handle_t *)&in->kill_timer, on_closed);
		return;
	}
	if (in->open_handles > 0 || in->loading)
		return;
	struct ex_rev *rev = in->rev;
	for (struct ex_inst **p = &rev->insts; *p; p = &(*p)->next)
		if (*p == in) {
			*p = in->next;
			break;
		}
	rev->ninst--;
	unlink(in->sock);
	free(in);
}

static void on_exit_(uv_process_t *p, int64_t status, int sig)
{
	struct ex_inst *in = p->data;
	struct ex_fn *fn = in->rev->fn;
	node_lock(fn->node);
	in->exited = true;
	if (in->state != INST_STOPPING) {
		char msg[128];
		int n = snprintf(msg, sizeof(msg), "husk: instance %u ended (%s %d)", in->id,
				 sig ? "signal" : "status", sig ? sig : (int)status);
		log_add(fn, in->rev->num, in->id, true, msg, (size_t)n);
	}
	in->state = INST_STOPPING;
	router_inst_gone(in);
	uv_timer_stop(&in->kill_timer);
	inst_maybe_free(in);
	pool_dispatch(fn);
	node_unlock(fn->node);
}

static void on_kill_timer(uv_timer_t *t)
{
	struct ex_inst *in = t->data;
	if (!in->exited)
		uv_process_kill(&in->proc, SIGKILL);
}

void pool_stop_inst(struct ex_inst *in)
{
	if (in->state == INST_STOPPING)
		return;
	in->state = INST_STOPPING;
	router_inst_gone(in);
	if (in->exited)
		return;
	/* The guest's init gets SIGTERM (the sentry passes it on), as
	 * Cloud Run and Kubernetes stop a container. */
	uv_process_kill(&in->proc, SIGTERM);
	uv_timer_start(&in->kill_timer, on_kill_timer, STOP_GRACE_MS, 0);
}

/* ---- the restore request, on a pool thread ---- */

static void load_work(uv_work_t *w)
{
	struct ex_inst *in = w->data;
	char snap[PATH_MAX + 16];
	snprintf(snap, sizeof(snap), "%s/snapshot", in->rev->dir);
	/* Its control socket appears once it has booted and waits. */
	for (int i = 0; access(in->sock, F_OK) != 0; i++) {
		if (i >= START_TIMEOUT_MS || __atomic_load_n(&in->exited, __ATOMIC_RELAXED)) {
			in->load_err = -ETIMEDOUT;
			snprintf(in->load_why, sizeof(in->load_why), "the sandbox did not start");
			return;
		}
		usleep(1000);
	}
	int fd = open(snap, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		in->load_err = -errno;
		snprintf(in->load_why, sizeof(in->load_why), "its snapshot: %s", strerror(errno));
		return;
	}
	json_t *req = json_pack("{s:s, s:s}", "op", "restore", "path", snap), *rep = NULL;
	in->load_err = ex_control_call(in->sock, req, fd, START_TIMEOUT_MS, &rep, in->load_why,
				       sizeof(in->load_why));
	if (!in->load_err && !json_is_true(json_object_get(rep, "ok")))
		in->load_err = -EINVAL;
	if (!in->load_err)
		in->restore_ms = json_number_value(json_object_get(rep, "restore_ms"));
	json_decref(req);
	json_decref(rep);
	close(fd);
}

static void load_done(uv_work_t *w, int status)
{
	struct ex_inst *in = w->data;
	struct ex_fn *fn = in->rev->fn;
	node_lock(fn->node);
	in->loading = false;
	if (status == 0 && !in->load_err && in->state == INST_STARTING && !in->exited) {
		in->state = INST_READY;
		in->idle_since = uv_now(&fn->node->loop);
		hist_add(&fn->cold_restore, (double)(uv_now(&fn->node->loop) - in->started) / 1000.0);
		fn->cold_starts_restore++;
	} else {
		if (in->state == INST_STARTING) {
			char msg[400];
			int n = snprintf(msg, sizeof(msg), "husk: instance %u did not start: %s", in->id,
					 in->load_why[0] ? in->load_why : "cancelled");
			log_add(fn, in->rev->num, in->id, true, msg, (size_t)n);
			fn->cold_starts_failed++;
		}
		pool_stop_inst(in);
		if (!in->exited)
			uv_process_kill(&in->proc, SIGKILL);
	}
	inst_maybe_free(in);
	pool_dispatch(fn);
	node_unlock(fn->node);
}

/* A sandbox for rev, started (husk restore --wait): standing by (waiting
 * for a snapshot), or NULL. */
static struct ex_inst *spawn(struct ex_rev *rev, enum inst_state state)
{
	struct ex_node *node = rev->fn->node;
	struct ex_inst *in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->rev = rev;
	in->id = ++node->next_inst;
	int port = ex_pick_port();
	/* (ex_node_open made sure the run directory's path leaves room.) */
	bool fits = snprintf(in->sock, sizeof(in->sock), "%s/%u.sock", node->run_dir, in->id) <
		    (int)sizeof(in->sock);
	json_t *args = port > 0 && fits ? sandbox_args(node, rev, in->sock, port, NULL) : NULL;
	size_t argc = args ? json_array_size(args) : 0;
	char **argv = args ? calloc(argc + 1, sizeof(char *)) : NULL;
	if (!argv) {
		json_decref(args);
		free(in);
		return NULL;
	}
	for (size_t i = 0; i < argc; i++)
		argv[i] = (char *)json_string_value(json_array_get(args, i));
	in->port = (uint16_t)port;
	uv_pipe_init(&node->loop, &in->out[0], 0);
	uv_pipe_init(&node->loop, &in->out[1], 0);
	uv_timer_init(&node->loop, &in->kill_timer);
	in->out[0].data = in->out[1].data = in->kill_timer.data = in->proc.data = in;
	uv_stdio_container_t stdio[3] = {
		{.flags = UV_IGNORE},
		{.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&in->out[0]},
		{.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&in->out[1]},
	};
	uv_process_options_t opt = {.exit_cb = on_exit_, .file = argv[0], .args = argv,
				    .stdio_count = 3, .stdio = stdio};
	unlink(in->sock);
	int err = uv_spawn(&node->loop, &in->proc, &opt);
	free(argv);
	json_decref(args);
	in->open_handles = 4;
	in->next = rev->insts;
	rev->insts = in;
	rev->ninst++;
	in->started = uv_now(&node->loop);
	if (err) {
		char msg[200];
		int n = snprintf(msg, sizeof(msg), "husk: cannot start an instance: %s", uv_strerror(err));
		log_add(rev->fn, rev->num, in->id, true, msg, (size_t)n);
		/* (A failed spawn leaves the process handle to close too.) */
		in->exited = true;
		in->state = INST_STOPPING;
		inst_maybe_free(in);
		return NULL;
	}
	uv_read_start((uv_stream_t *)&in->out[0], on_alloc, on_output);
	uv_read_start((uv_stream_t *)&in->out[1], on_alloc, on_output);
	in->state = state;
	return in;
}

int pool_start(struct ex_rev *rev)
{
	struct ex_node *node = rev->fn->node;
	/* The sandbox standing by has booted (or is booting) already: only
	 * the restore is left (tick makes the next one). */
	struct ex_inst *in = NULL;
	for (struct ex_inst *s = rev->insts; s && !in; s = s->next)
		if (s->state == INST_STANDBY && !s->exited)
			in = s;
	if (in) {
		in->state = INST_STARTING;
		in->started = uv_now(&node->loop);
	} else if (!(in = spawn(rev, INST_STARTING))) {
		return -ENOMEM;
	}
	in->loading = true;
	in->load.data = in;
	uv_queue_work(&node->loop, &in->load, load_work, load_done);
	return 0;
}

/* ---- choosing and scaling ---- */

/* Whether an instance counts toward the revision's (not one stopping
 * or standing by). */
static bool counted(const struct ex_inst *in)
{
	return in->state == INST_STARTING || in->state == INST_READY;
}

/* The ready instance of the serving revision with the most requests
 * that still has room (packing requests lets the others go idle and
 * stop, as Cloud Run does), or NULL. */
struct ex_inst *pool_pick(struct ex_fn *fn)
{
	struct ex_rev *rev = fn->serving;
	struct ex_inst *best = NULL;
	for (struct ex_inst *in = rev ? rev->insts : NULL; in; in = in->next)
		if (in->state == INST_READY && in->active < rev->cfg.concurrency &&
		    (!best || in->active > best->active))
			best = in;
	return best;
}

void pool_release(struct ex_inst *in)
{
	struct ex_fn *fn = in->rev->fn;
	in->active--;
	if (!in->active) {
		in->idle_since = uv_now(&fn->node->loop);
		if (in->rev != fn->serving)
			pool_stop_inst(in);
	}
	inst_maybe_free(in);
	pool_dispatch(fn);
}

void pool_dispatch(struct ex_fn *fn)
{
	struct ex_inst *in;
	while (fn->qhead && (in = pool_pick(fn))) {
		struct conn *c = fn->qhead;
		fn->qhead = router_queue_next(c);
		if (!fn->qhead)
			fn->qtail = NULL;
		fn->nqueued--;
		in->active++;
		router_assign(c, in, 0, NULL);
	}
	struct ex_rev *rev = fn->serving;
	if (!fn->qhead || !rev)
		return;
	/* Enough instances starting for the requests that wait. */
	uint32_t starting = 0, alive = 0;
	for (in = rev->insts; in; in = in->next) {
		starting += in->state == INST_STARTING;
		alive += counted(in);
	}
	uint32_t want = (fn->nqueued + rev->cfg.concurrency - 1) / rev->cfg.concurrency;
	while (starting < want && alive < rev->cfg.max_instances && !fn->node->stopping) {
		if (pool_start(rev))
			break;
		starting++;
		alive++;
	}
	if (!starting && alive >= rev->cfg.max_instances)
		return; /* (they wait for a slot) */
	if (!starting)
		router_drop_queue(fn, 503, "no instance could be started");
}

static void fn_tick(struct ex_fn *fn, uint64_t now)
{
	struct ex_rev *serving = fn->serving;
	if (fn->want_standby) {
		fn->want_standby = false;
		fn->last_used = now;
	}
	bool recent = fn->last_used && now - fn->last_used < STANDBY_KEEP_MS;
	for (struct ex_rev *r = fn->revs; r; r = r->next) {
		uint32_t up = 0;
		bool standby = false;
		for (struct ex_inst *in = r->insts; in; in = in->next) {
			up += counted(in);
			if (in->state == INST_STANDBY) {
				if (r != serving || fn->deleted || !recent || standby)
					pool_stop_inst(in);
				standby = true;
			}
		}
		if (r == serving && !standby && recent && !fn->deleted && !fn->node->stopping)
			spawn(r, INST_STANDBY);
		for (struct ex_inst *in = r->insts; in; in = in->next) {
			if (in->state != INST_READY || in->active)
				continue;
			bool idle = now - in->idle_since >= (uint64_t)r->cfg.idle_timeout_s * 1000;
			if (r != serving || fn->deleted || (idle && up > r->cfg.min_instances)) {
				pool_stop_inst(in);
				up--;
			}
		}
		if (fn->deleted || fn->node->stopping)
			for (struct ex_inst *in = r->insts; in; in = in->next)
				pool_stop_inst(in);
	}
	if (!serving || fn->deleted || fn->node->stopping)
		return;
	uint32_t up = 0;
	for (struct ex_inst *in = serving->insts; in; in = in->next)
		up += counted(in);
	while (up < serving->cfg.min_instances && up < serving->cfg.max_instances &&
	       !pool_start(serving))
		up++;
}

void pool_tick(struct ex_node *node)
{
	uint64_t now = uv_now(&node->loop);
	for (struct ex_fn **p = &node->fns; *p;) {
		struct ex_fn *fn = *p;
		if (fn->deleted)
			router_drop_queue(fn, 404, "no such function");
		fn_tick(fn, now);
		bool busy = false;
		for (struct ex_rev *r = fn->revs; r; r = r->next)
			busy |= r->insts || r->state == REV_DEPLOYING;
		if (fn->deleted && !busy && !fn->waiters) {
			*p = fn->next;
			node->nfns--;
			if (fn->trash)
				rm_tree(fn->trash); /* (its sandboxes are gone: nothing maps it) */
			fn_free(fn);
			continue;
		}
		p = &fn->next;
	}
}

void pool_stop_all(struct ex_node *node)
{
	for (struct ex_fn *fn = node->fns; fn; fn = fn->next) {
		router_drop_queue(fn, 503, "the node is stopping");
		for (struct ex_rev *r = fn->revs; r; r = r->next)
			for (struct ex_inst *in = r->insts; in; in = in->next)
				pool_stop_inst(in);
	}
}
