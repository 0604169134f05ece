/* Deploying a revision, on a thread of its own: its code is written into
 * rev-N/code, its root (a mount spec) into rev-N/root.json, then a first
 * sandbox boots it from its runtime's manifest, and once the guest
 * listens on $PORT (asked on the control socket: the port is open, as
 * Cloud Run's TCP startup probe sees it) it is checkpointed into
 * rev-N/snapshot, which every later cold start restores. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "node.h"

#define GUEST_PORT 8080 /* $PORT, as Cloud Run sets it */
#define MANIFEST_MAX (64 * 1024)

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A runtime's manifest (runtimes/NAME/manifest.json), checked. */
static json_t *manifest_load(struct ex_node *node, const char *runtime, char *why, size_t n)
{
	char path[PATH_MAX];
	bool name_ok = runtime[0] && strlen(runtime) < 32;
	for (const char *p = runtime; *p; p++)
		name_ok &= (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-';
	if (!name_ok || snprintf(path, sizeof(path), "%s/%s/manifest.json", node->cfg.runtimes_dir,
				 runtime) >= (int)sizeof(path)) {
		snprintf(why, n, "unknown runtime '%.32s'", runtime);
		return NULL;
	}
	json_error_t e;
	json_t *m = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (!m) {
		snprintf(why, n, "unknown runtime '%s'", runtime);
		return NULL;
	}
	json_t *argv = json_object_get(m, "argv"), *paths = json_object_get(m, "paths");
	json_t *env = json_object_get(m, "env"), *h = json_object_get(m, "handler");
	if (!json_is_array(argv) || !json_array_size(argv) || !json_is_array(paths) ||
	    (env && !json_is_object(env)) || !json_is_string(h)) {
		snprintf(why, n, "runtime '%s': its manifest is malformed", runtime);
		json_decref(m);
		return NULL;
	}
	return m;
}

void ex_runtime_handler(struct ex_node *node, const char *runtime, char *buf, size_t size)
{
	char why[128];
	json_t *m = manifest_load(node, runtime, why, sizeof(why));
	snprintf(buf, size, "%s", m ? json_string_value(json_object_get(m, "handler")) : "");
	json_decref(m);
}

bool ex_runtime_known(struct ex_node *node, const char *runtime)
{
	char why[128];
	json_t *m = manifest_load(node, runtime, why, sizeof(why));
	json_decref(m);
	return m != NULL;
}

/* The revision's root: the node's template / (with an in-memory layer),
 * the runtime's host paths read-only, the code read-only at /code, and
 * an in-memory /tmp. */
static int write_root(struct ex_node *node, struct ex_rev *rev, json_t *manifest, char *why,
		      size_t n)
{
	json_t *mounts = json_array();
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b, s:b}", "path", "/", "type",
						"bind", "source", node->root_dir, "readonly", 1,
						"overlay", 1));
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(manifest, "paths"), i, p) {
		if (!json_is_string(p) || json_string_value(p)[0] != '/' ||
		    !strcmp(json_string_value(p), "/") || !strcmp(json_string_value(p), "/code") ||
		    !strcmp(json_string_value(p), "/tmp")) {
			snprintf(why, n, "runtime '%s': bad path in its manifest", rev->cfg.runtime);
			json_decref(mounts);
			return -EINVAL;
		}
		if (access(json_string_value(p), R_OK) != 0)
			continue; /* (not on this host: not in the root) */
		json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}", "path",
							json_string_value(p), "type", "bind",
							"source", json_string_value(p), "readonly", 1));
	}
	char code[PATH_MAX + 8], spec[PATH_MAX + 16];
	snprintf(code, sizeof(code), "%s/code", rev->dir);
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}", "path", "/code", "type",
						"bind", "source", code, "readonly", 1));
	json_array_append_new(mounts, json_pack("{s:s, s:s}", "path", "/tmp", "type", "tmpfs"));
	json_t *o = json_pack("{s:o}", "mounts", mounts);
	snprintf(spec, sizeof(spec), "%s/root.json", rev->dir);
	int err = o && json_dump_file(o, spec, JSON_COMPACT) == 0 ? 0 : -EIO;
	json_decref(o);
	if (err)
		snprintf(why, n, "cannot write the revision's root spec");
	return err;
}

/* The code, written where the deploy's call can still refuse it: a
 * directory of its own under trash/ (renamed into the revision once it
 * has one), so a bad archive is the caller's 400, not a failed deploy. */
int code_stage(struct ex_node *node, const struct ex_code *code, const char *handler, char *dir,
	       size_t size, char *why, size_t n)
{
	if (snprintf(dir, size, "%s/trash/stage-XXXXXX", node->state_dir) >= (int)size ||
	    !mkdtemp(dir) || chmod(dir, 0755) != 0) {
		snprintf(why, n, "cannot make a directory for the code: %s", strerror(errno));
		return -EIO;
	}
	int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(why, n, "cannot open the code's directory: %s", strerror(errno));
		rm_tree(dir);
		return -EIO;
	}
	struct ex_code_limits lim = {0};
	int err = 0;
	const char *key;
	json_t *v;
	if (code->files)
		json_object_foreach(code->files, key, v) {
			const char *w = "";
			/* A handler is run: its file gets the exec bit. */
			err = ex_code_write(dfd, key, json_string_value(v), json_string_length(v),
					    !strcmp(key, handler), &lim, &w);
			if (err) {
				snprintf(why, n, "files: '%.200s': %s", key, w);
				break;
			}
		}
	if (!err && code->archive) {
		char w[512];
		if ((err = ex_code_unpack(dfd, code->archive, code->archive_len, &lim, w, sizeof(w))))
			snprintf(why, n, "archive: %s", w);
	}
	close(dfd);
	if (err)
		rm_tree(dir);
	return err;
}

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int port = -1;
	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

int ex_pick_port(void)
{
	return free_port();
}

/* husk's arguments for a sandbox of rev: boot (argv of the guest) or a
 * restore waiting on its control socket (argv NULL). */
json_t *sandbox_args(struct ex_node *node, const struct ex_rev *rev, const char *sock, int port,
		     json_t *manifest)
{
	json_t *a = json_array();
	char v[PATH_MAX + 32];
	json_array_append_new(a, json_string(node->cfg.husk));
	json_array_append_new(a, json_string(manifest ? "run" : "restore"));
	json_array_append_new(a, json_string("--die-with-parent"));
	if (node->cfg.platform) {
		snprintf(v, sizeof(v), "--platform=%s", node->cfg.platform);
		json_array_append_new(a, json_string(v));
	}
	snprintf(v, sizeof(v), "%s/root.json", rev->dir);
	json_array_append_new(a, json_string("--root"));
	json_array_append_new(a, json_string(v));
	snprintf(v, sizeof(v), "--memory=%uM", rev->cfg.memory_mb);
	json_array_append_new(a, json_string(v));
	snprintf(v, sizeof(v), "--egress=%s", rev->cfg.egress);
	json_array_append_new(a, json_string(v));
	snprintf(v, sizeof(v), "--publish=%d:%d", port, GUEST_PORT);
	json_array_append_new(a, json_string(v));
	json_array_append_new(a, json_string("--control"));
	json_array_append_new(a, json_string(sock));
	if (!manifest) {
		json_array_append_new(a, json_string("--wait"));
		return a;
	}
	json_array_append_new(a, json_string("--cwd=/code"));
	json_array_append_new(a, json_string("--hostname"));
	json_array_append_new(a, json_string("localhost"));
	const char *key;
	json_t *val;
	snprintf(v, sizeof(v), "%d", GUEST_PORT);
	json_t *env = json_pack("{s:s, s:s, s:s}", "PORT", v, "K_SERVICE", rev->cfg.name,
				"K_CONFIGURATION", rev->cfg.name);
	snprintf(v, sizeof(v), "%s-%05u", rev->cfg.name, rev->num);
	json_object_set_new(env, "K_REVISION", json_string(v));
	json_object_set_new(env, "HOME", json_string("/tmp"));
	json_object_update(env, json_object_get(manifest, "env"));
	if (rev->cfg.env)
		json_object_update(env, rev->cfg.env);
	json_object_foreach(env, key, val) {
		/* (Strings all: the config's are checked, the manifest is ours.) */
		char *kv;
		if (!json_is_string(val) || asprintf(&kv, "%s=%s", key, json_string_value(val)) < 0)
			continue;
		json_array_append_new(a, json_string("--env"));
		json_array_append_new(a, json_string(kv));
		free(kv);
	}
	json_decref(env);
	json_array_append_new(a, json_string("--"));
	size_t i;
	json_t *arg;
	json_array_foreach(json_object_get(manifest, "argv"), i, arg) {
		const char *s = json_is_string(arg) ? json_string_value(arg) : "";
		if (!strcmp(s, "{handler}")) {
			snprintf(v, sizeof(v), "/code/%s", rev->cfg.handler);
			s = v;
		}
		json_array_append_new(a, json_string(s));
	}
	return a;
}

/* Starts husk with args, stdout and stderr into one pipe (*out), stdin
 * /dev/null: its pid or -errno. */
static pid_t spawn(json_t *args, int *out)
{
	size_t n = json_array_size(args);
	char **argv = calloc(n + 1, sizeof(char *));
	int p[2];
	if (!argv || pipe2(p, O_CLOEXEC) != 0) {
		free(argv);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		argv[i] = (char *)json_string_value(json_array_get(args, i));
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t pid = fork();
	if (pid == 0) {
		/* (Only async-signal-safe calls between fork and exec.) */
		if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(125);
		execv(argv[0], argv);
		_exit(127);
	}
	int err = errno;
	if (null >= 0)
		close(null);
	close(p[1]);
	free(argv);
	if (pid < 0) {
		close(p[0]);
		return -err;
	}
	/* (Read between the readiness checks: never blocks.) */
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*out = p[0];
	return pid;
}

/* The boot's output: into the function's logs (a line at a time) and the
 * revision's record of it (its last OUTPUT_MAX bytes). */
struct output {
	char buf[OUTPUT_MAX];
	size_t len;
	char line[LOG_LINE_MAX];
	size_t linelen;
};

static void take_output(struct ex_rev *rev, int fd, struct output *o)
{
	char b[4096];
	ssize_t got;
	while ((got = read(fd, b, sizeof(b))) > 0) {
		_Static_assert(sizeof(b) < sizeof(o->buf), "a read fits the output kept");
		if (o->len + (size_t)got >= sizeof(o->buf)) {
			size_t drop = o->len + (size_t)got - (sizeof(o->buf) - 1);
			memmove(o->buf, o->buf + drop, o->len - drop);
			o->len -= drop;
		}
		memcpy(o->buf + o->len, b, (size_t)got);
		o->len += (size_t)got;
		node_lock(rev->fn->node);
		for (ssize_t i = 0; i < got; i++) {
			if (b[i] == '\n' || o->linelen == sizeof(o->line)) {
				log_add(rev->fn, rev->num, 0, true, o->line, o->linelen);
				o->linelen = 0;
				if (b[i] == '\n')
					continue;
			}
			o->line[o->linelen++] = b[i];
		}
		node_unlock(rev->fn->node);
	}
}

/* Boots the revision and checkpoints it: 0, or -1 with why. */
static int boot_and_checkpoint(struct ex_node *node, struct ex_rev *rev, json_t *manifest,
			       struct output *o, char *why, size_t n)
{
	char sock[PATH_MAX + 16], snap[PATH_MAX + 16], tmp[PATH_MAX + 24];
	snprintf(sock, sizeof(sock), "%s/boot.sock", rev->dir);
	snprintf(snap, sizeof(snap), "%s/snapshot", rev->dir);
	snprintf(tmp, sizeof(tmp), "%s/snapshot.tmp", rev->dir);
	int port = free_port();
	json_t *args = sandbox_args(node, rev, sock, port, manifest);
	int out = -1;
	pid_t pid = port > 0 ? spawn(args, &out) : -EADDRNOTAVAIL;
	json_decref(args);
	if (pid < 0) {
		snprintf(why, n, "cannot start a sandbox: %s", strerror((int)-pid));
		return -1;
	}
	int64_t deadline = now_ms() + DEPLOY_TIMEOUT_MS;
	int status = 0, rc = -1;
	bool exited = false, listening = false;
	/* Until the guest listens, exits, or takes too long. */
	while (!listening) {
		struct pollfd p = {out, POLLIN, 0};
		if (poll(&p, 1, 5) > 0)
			take_output(rev, out, o);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			break;
		}
		if (now_ms() > deadline || __atomic_load_n(&rev->fn->deleted, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&node->stop_asked, __ATOMIC_RELAXED))
			break;
		if (access(sock, F_OK) != 0)
			continue;
		json_t *req = json_pack("{s:s, s:i}", "op", "listening", "port", (json_int_t)GUEST_PORT);
		json_t *rep = NULL;
		char w[256];
		if (ex_control_call(sock, req, -1, 1000, &rep, w, sizeof(w)) == 0)
			listening = json_is_true(json_object_get(rep, "listening"));
		json_decref(req);
		json_decref(rep);
	}
	if (exited) {
		take_output(rev, out, o);
		snprintf(why, n, "the function exited before it listened on $PORT (%d): %s %d",
			 GUEST_PORT, WIFSIGNALED(status) ? "signal" : "status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	} else if (!listening) {
		if (now_ms() <= deadline)
			snprintf(why, n, "the deploy was cut short (the function deleted, or the "
					 "node stopping)");
		else
			snprintf(why, n, "the function did not listen on $PORT (%d) within %d s",
				 GUEST_PORT, DEPLOY_TIMEOUT_MS / 1000);
	} else {
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		json_t *req = json_pack("{s:s, s:b, s:b}", "op", "checkpoint", "leave_running", 0,
					"compress", 1);
		json_t *rep = NULL;
		char w[256];
		int err = fd < 0 ? -errno : ex_control_call(sock, req, fd, DEPLOY_TIMEOUT_MS, &rep, w, sizeof(w));
		json_decref(req);
		if (fd < 0)
			snprintf(why, n, "cannot write the snapshot: %s", strerror(-err));
		else if (err || !json_is_true(json_object_get(rep, "ok")))
			snprintf(why, n, "the checkpoint failed: %s", w);
		else if (fsync(fd) != 0 || rename(tmp, snap) != 0)
			snprintf(why, n, "cannot write the snapshot: %s", strerror(errno));
		else {
			rev->snapshot_bytes = (uint64_t)json_integer_value(json_object_get(rep, "file_size"));
			rev->memory_bytes = (uint64_t)json_integer_value(json_object_get(rep, "memory_bytes"));
			rc = 0;
		}
		json_decref(rep);
		if (fd >= 0)
			close(fd);
		if (rc)
			unlink(tmp);
	}
	if (!exited) {
		/* A checkpoint ends the sandbox; anything else is ended here. */
		for (int i = 0; i < 2000 && waitpid(pid, &status, WNOHANG) != pid; i++) {
			if (i == 0 && rc)
				kill(pid, SIGKILL);
			if (i == 1000)
				kill(pid, SIGKILL);
			usleep(1000);
		}
		take_output(rev, out, o);
	}
	close(out);
	unlink(sock);
	return rc;
}

static void *deploy_main(void *arg)
{
	struct ex_rev *rev = arg;
	struct ex_node *node = rev->fn->node;
	char why[1024] = "";
	int64_t t0 = now_ms();
	struct output *o = calloc(1, sizeof(*o));
	json_t *manifest = manifest_load(node, rev->cfg.runtime, why, sizeof(why));
	int rc = -1;
	if (o && manifest && !write_root(node, rev, manifest, why, sizeof(why)))
		rc = boot_and_checkpoint(node, rev, manifest, o, why, sizeof(why));
	else if (!o)
		snprintf(why, sizeof(why), "out of memory");
	json_decref(manifest);
	node_lock(node);
	rev->deploy_ms = (double)(now_ms() - t0);
	if (rc == 0) {
		rev->state = REV_READY;
		hist_add(&rev->fn->cold_boot, rev->deploy_ms / 1000.0);
		/* Traffic moves to the newest ready revision; the older one
		 * drains (pool_tick stops its instances as they go idle). */
		if (!rev->fn->deleted && (!rev->fn->serving || rev->fn->serving->num < rev->num)) {
			rev->fn->serving = rev;
			rev->fn->want_standby = true;
		}
	} else {
		rev->state = REV_FAILED;
		rev->error = strdup(why);
		if (o && o->len)
			rev->output = strndup(o->buf, o->len);
	}
	if (!rev->fn->deleted)
		rev_save(rev->fn);
	node->ndeploys--;
	pthread_cond_broadcast(&node->changed);
	uv_async_send(&node->wake);
	node_unlock(node);
	free(o);
	return NULL;
}

int deploy_start(struct ex_node *node, struct ex_rev *rev)
{
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int err = pthread_create(&rev->thread, &at, deploy_main, rev);
	pthread_attr_destroy(&at);
	if (err)
		return -err;
	node->ndeploys++;
	return 0;
}
