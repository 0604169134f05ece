/* Freezing a sandbox for a checkpoint, and the control socket that asks
 * for one.  A request comes on the control socket husk's caller gave
 * (k_config.control_fd): one datagram of JSON, {"op": "checkpoint",
 * "leave_running": bool, "compress": bool}, carrying the descriptor the
 * snapshot goes into (the sentry opens no files).  Every task is then
 * stopped at a syscall boundary: guest code is interrupted, and a task
 * in a syscall that sleeps is woken as a signal would wake it, its call
 * rewound to run again once the sandbox goes on (or is restored), as
 * Linux's freezer and gVisor's save do.  With every task parked the
 * sandbox is saved (ckpt/save.c), the answer goes back, and the sandbox
 * either goes on or ends. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../netstack/netstack.h"
#include "ckpt.h"

/* Tasks that do not reach a syscall boundary by then fail the request
 * (a stopped process, a vfork parent: sleeps a freeze does not end). */
#define FREEZE_TIMEOUT_NS (5LL * 1000000000LL)
#define ERESTARTNOINTR 513
#define ERESTART_RESTARTBLOCK 516

static int64_t now_ns(void)
{
	return k_clock_ns(CLOCK_MONOTONIC);
}

/* Sends the answer; whether the client got all of it. */
static bool reply(struct k_kernel *k, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	bool sent = text && k->ctl_conn >= 0 &&
		    send(k->ctl_conn, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT) ==
			    (ssize_t)strlen(text);
	free(text);
	json_decref(msg);
	return sent;
}

static void reply_error(struct k_kernel *k, const char *why)
{
	reply(k, json_pack("{s:b, s:s}", "ok", 0, "error", why));
}

static void end_request(struct k_kernel *k)
{
	if (k->ckpt_fd >= 0)
		close(k->ckpt_fd);
	k->ckpt_fd = -1;
	if (k->ctl_conn >= 0)
		close(k->ctl_conn);
	k->ctl_conn = -1;
}

void ckpt_thaw(struct k_kernel *k)
{
	k->freezing = false;
	waitq_wake_all(&k->thaw_wait);
}

static int take_fd(struct msghdr *mh, ssize_t n);

/* {"op": "listening", "port": N}: whether a guest TCP socket listens on
 * port N (any address), which is when a function is ready to serve (as
 * Cloud Run's TCP startup probe sees it, without connecting). */
static void answer_listening(struct k_kernel *k, json_t *port)
{
	if (!json_is_integer(port) || json_integer_value(port) < 1 ||
	    json_integer_value(port) > 65535) {
		reply_error(k, "\"port\" wants a number from 1 to 65535");
		return;
	}
	struct ns_stack *s = k_net_stack(k);
	struct ns_conn c[64];
	bool found = false;
	int n = s ? ns_tcp_list(s, c, (int)ARRAY_LEN(c)) : 0;
	struct ns_conn *all = c; /* (more than fit: a buffer for them all) */
	if (n > (int)ARRAY_LEN(c) && (all = calloc((size_t)n, sizeof(*all))))
		n = ns_tcp_list(s, all, n);
	else if (n > (int)ARRAY_LEN(c))
		n = (int)ARRAY_LEN(c), all = c;
	for (int i = 0; i < n && !found; i++)
		found = all[i].state == 10 /* LISTEN */ && all[i].lport == json_integer_value(port);
	if (all != c)
		free(all);
	reply(k, json_pack("{s:b, s:b}", "ok", 1, "listening", found));
}

/* A request on the connection: a checkpoint starts, or the answer is an
 * error at once. */
static void request(struct k_kernel *k)
{
	char buf[1024];
	char cbuf[CMSG_SPACE(4 * sizeof(int))] = {0};
	struct iovec iov = {buf, sizeof(buf) - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	ssize_t n = recvmsg(k->ctl_conn, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && errno == EAGAIN)
		return;
	/* The first descriptor is the snapshot's; any more are closed. */
	int fd = take_fd(&mh, n);
	k->ckpt_fd = fd;
	if (n <= 0) {
		end_request(k); /* the client went */
		return;
	}
	buf[n] = 0;
	json_error_t jerr;
	json_t *req = json_loads(buf, 0, &jerr);
	json_t *op = req ? json_object_get(req, "op") : NULL;
	if (json_is_string(op) && !strcmp(json_string_value(op), "listening")) {
		answer_listening(k, json_object_get(req, "port"));
		json_decref(req);
		end_request(k);
		return;
	}
	if (!json_is_string(op) || strcmp(json_string_value(op), "checkpoint")) {
		reply_error(k, "unknown request ({\"op\": \"checkpoint\"} or "
			       "{\"op\": \"listening\", \"port\": N} are known)");
		json_decref(req);
		end_request(k);
		return;
	}
	k->ckpt_leave = json_is_true(json_object_get(req, "leave_running"));
	json_t *c = json_object_get(req, "compress");
	k->ckpt_compress = !json_is_false(c);
	json_decref(req);
	if (fd < 0 || (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY) {
		reply_error(k, "the request carries no writable file for the snapshot");
		end_request(k);
		return;
	}
	k->freezing = true;
	k->freeze_started = now_ns();
	for (struct k_task *t = k->tasks; t; t = t->next)
		k_task_kick(t);
}

/* ---- a pre-started sandbox waits for its snapshot ---- */

/* The descriptors of one message (the first kept, the rest closed). */
static int take_fd(struct msghdr *mh, ssize_t n)
{
	int fd = -1;
	for (struct cmsghdr *c = n < 0 ? NULL : CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int x;
			memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = x;
			else
				close(x);
		}
	}
	return fd;
}

int ckpt_wait_restore(struct k_kernel *k, int *snap_fd, char *path, size_t size)
{
	if (k->cfg.control_fd <= 0)
		return -EINVAL;
	for (;;) {
		int c = accept4(k->cfg.control_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return -errno;
		}
		/* One request a connection; a client that says nothing within
		 * a second is dropped, and the next one waited for. */
		struct pollfd p = {c, POLLIN, 0};
		char buf[4200];
		char cbuf[CMSG_SPACE(4 * sizeof(int))] = {0};
		struct iovec iov = {buf, sizeof(buf) - 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t n = poll(&p, 1, 1000) == 1 ? recvmsg(c, &mh, MSG_CMSG_CLOEXEC) : -1;
		int fd = take_fd(&mh, n);
		k->ctl_conn = c;
		json_t *req = n > 0 ? (buf[n] = 0, json_loads(buf, 0, NULL)) : NULL;
		json_t *op = req ? json_object_get(req, "op") : NULL;
		json_t *where = req ? json_object_get(req, "path") : NULL;
		if (json_is_string(op) && !strcmp(json_string_value(op), "restore") &&
		    json_is_string(where) && json_string_value(where)[0] == '/' &&
		    strlen(json_string_value(where)) < size && fd >= 0) {
			snprintf(path, size, "%s", json_string_value(where));
			json_decref(req);
			*snap_fd = fd;
			return 0; /* the answer comes once restored (ckpt_answer_restore) */
		}
		json_decref(req);
		if (fd >= 0)
			close(fd);
		reply_error(k, "this sandbox waits for {\"op\": \"restore\", \"path\": "
			       "\"/absolute/snapshot\"} with the snapshot's descriptor");
		end_request(k);
	}
}

void ckpt_answer_restore(struct k_kernel *k, int err, const char *why, double ms)
{
	if (k->ctl_conn < 0)
		return;
	if (err)
		reply_error(k, why && why[0] ? why : strerror(-err));
	else
		reply(k, json_pack("{s:b, s:f, s:i}", "ok", 1, "restore_ms", ms, "tasks",
				   k->ntasks));
	end_request(k);
}

void ckpt_poll_fds(struct k_kernel *k, struct pollfd *fds, int *n)
{
	if (k->cfg.control_fd > 0 && k->ctl_conn < 0)
		fds[(*n)++] = (struct pollfd){.fd = k->cfg.control_fd, .events = POLLIN};
	if (k->ctl_conn >= 0 && !k->freezing)
		fds[(*n)++] = (struct pollfd){.fd = k->ctl_conn, .events = POLLIN};
}

void ckpt_poll_done(struct k_kernel *k, const struct pollfd *fds, int n)
{
	for (int i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		if (fds[i].fd == k->cfg.control_fd && k->ctl_conn < 0) {
			k->ctl_conn = accept4(k->cfg.control_fd, NULL, NULL,
					      SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (k->ctl_conn < 0)
				k->ctl_conn = -1;
		} else if (fds[i].fd == k->ctl_conn) {
			request(k);
		}
	}
}

void ckpt_park(struct k_task *t)
{
	struct k_kernel *k = t->k;
	struct k_waitq *q = &k->thaw_wait;
	struct k_sleep s = {.qs = &q, .nq = 1, .nointr = true};
	t->frozen = true;
	k->nfrozen++;
	while (k->freezing && !t->exiting && !t->tg->exiting)
		k_sleep(t, &s);
	t->frozen = false;
	k->nfrozen--;
}

void ckpt_rewind(struct k_task *t)
{
	/* Woken by the freeze, not a signal: whatever the call said, it runs
	 * again from the start (the sandbox, or its restored copy, goes on
	 * from there). */
	if (!t->k->freezing || !t->in_syscall || task_ready_signals(t))
		return;
	/* (A restart block stays: the sandbox goes on with its remaining
	 * time, and a snapshot runs the call again from the start.) */
	if ((long)t->regs.rax == -EINTR)
		t->regs.rax = (uint64_t)-ERESTARTNOINTR;
}

int64_t ckpt_deadline(const struct k_kernel *k)
{
	return k->freezing ? k->freeze_started + FREEZE_TIMEOUT_NS : 0;
}

void ckpt_step(struct k_kernel *k)
{
	if (!k->freezing)
		return;
	if (k->nfrozen < k->ntasks) {
		if (now_ns() - k->freeze_started > FREEZE_TIMEOUT_NS) {
			reply_error(k, "the sandbox's tasks did not all stop at a syscall "
				       "boundary (a stopped process or a vfork parent?)");
			end_request(k);
			ckpt_thaw(k);
		}
		return;
	}
	char why[512];
	struct snap_write_stats st = {0};
	int64_t t0 = now_ns();
	int err = ckpt_save(k, k->ckpt_fd, k->ckpt_compress, &st, why, sizeof(why));
	double ms = (double)(now_ns() - t0) / 1e6;
	bool told = false;
	if (err) {
		reply_error(k, why[0] ? why : strerror(-err));
	} else {
		told = reply(k, json_pack("{s:b, s:I, s:I, s:I, s:I, s:f, s:i}", "ok", 1,
					  "file_size", (json_int_t)st.file_size, "memory_bytes",
					  (json_int_t)st.nonzero_bytes, "stored_bytes",
					  (json_int_t)st.stored_bytes, "blocks",
					  (json_int_t)st.blocks, "save_ms", ms, "tasks", k->ntasks));
	}
	end_request(k);
	/* Saved, and the client knows: this copy ends.  (A client that went
	 * meanwhile has no snapshot: the sandbox goes on.) */
	if (told && !k->ckpt_leave)
		k_kill_all(k);
	ckpt_thaw(k);
}
