/* The node (husk serve): its state directory, its loop, and the deploy
 * call of the control plane. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node.h"

#define TICK_MS 1000

/* Makes path (and its parents) a directory. */
static int mkdirs(const char *path, mode_t mode)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, 0755) != 0 && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	return mkdir(p, mode) == 0 || errno == EEXIST ? 0 : -errno;
}

static int put_file(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* The template every function's root starts from (read-only, with an
 * in-memory layer over it): mount points, the usr-merged links Debian
 * has, and an /etc of its own, so no host file is seen but the runtime's
 * paths. */
static int make_root(const char *root)
{
	static const char *const dirs[] = {"usr", "code", "tmp", "etc", "root"};
	static const char *const links[][2] = {
		{"bin", "usr/bin"}, {"sbin", "usr/sbin"}, {"lib", "usr/lib"}, {"lib64", "usr/lib64"}};
	int err = mkdirs(root, 0755);
	char p[PATH_MAX + 64];
	for (size_t i = 0; !err && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			err = -errno;
	}
	for (size_t i = 0; !err && i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, links[i][0]);
		if (symlink(links[i][1], p) != 0 && errno != EEXIST)
			err = -errno;
	}
	snprintf(p, sizeof(p), "%s/etc", root);
	if (!err)
		err = put_file(p, "passwd", "root:x:0:0:root:/root:/bin/sh\n"
					    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	if (!err)
		err = put_file(p, "group", "root:x:0:\nnogroup:x:65534:\n");
	if (!err)
		err = put_file(p, "hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n");
	if (!err)
		err = put_file(p, "nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n");
	if (!err)
		err = put_file(p, "hostname", "localhost\n");
	return err;
}

static void on_wake(uv_async_t *a)
{
	struct ex_node *node = a->data;
	node_lock(node);
	if (__atomic_load_n(&node->stop_asked, __ATOMIC_SEQ_CST) && !node->stopping) {
		node->stopping = true;
		uv_close((uv_handle_t *)&node->listener, NULL);
		pool_stop_all(node);
	}
	pool_tick(node);
	for (struct ex_fn *fn = node->fns; fn; fn = fn->next)
		pool_dispatch(fn);
	node_unlock(node);
}

static void on_tick(uv_timer_t *t)
{
	struct ex_node *node = t->data;
	node_lock(node);
	pool_tick(node);
	bool alive = false;
	for (struct ex_fn *fn = node->fns; fn; fn = fn->next)
		for (struct ex_rev *r = fn->revs; r; r = r->next)
			alive |= r->insts != NULL;
	/* Stopping: done once every instance has gone and no deploy runs. */
	if (node->stopping && !alive && !node->ndeploys)
		uv_stop(&node->loop);
	node_unlock(node);
}

int ex_node_open(const struct ex_node_config *cfg, struct ex_node **out, char *why, size_t n)
{
	struct ex_node *node = calloc(1, sizeof(*node));
	if (!node) {
		snprintf(why, n, "out of memory");
		return -ENOMEM;
	}
	node->cfg = *cfg;
	int err = mkdirs(cfg->state_dir, 0700);
	char real[PATH_MAX];
	if (err || !realpath(cfg->state_dir, real)) {
		snprintf(why, n, "the state directory %s: %s", cfg->state_dir,
			 strerror(err ? -err : errno));
		free(node);
		return err ? err : -errno;
	}
	if (strlen(real) >= sizeof(node->state_dir)) {
		snprintf(why, n, "the state directory's path is too long");
		free(node);
		return -ENAMETOOLONG;
	}
	memcpy(node->state_dir, real, strlen(real) + 1);
	snprintf(node->root_dir, sizeof(node->root_dir), "%s/root", node->state_dir);
	snprintf(node->run_dir, sizeof(node->run_dir), "%s/run", node->state_dir);
	char trash[PATH_MAX + 8];
	snprintf(trash, sizeof(trash), "%s/trash", node->state_dir);
	/* Control sockets live in run/: their paths must fit sun_path. */
	if (strlen(node->run_dir) + 16 > 107) {
		snprintf(why, n, "the state directory's path is too long (at most %d bytes)",
			 107 - 16 - 4);
		free(node);
		return -ENAMETOOLONG;
	}
	rm_tree(node->run_dir);
	rm_tree(trash);
	if ((err = make_root(node->root_dir)) || (err = mkdirs(node->run_dir, 0700)) ||
	    (err = mkdirs(trash, 0700))) {
		snprintf(why, n, "cannot set up %s: %s", node->state_dir, strerror(-err));
		free(node);
		return err;
	}
	/* Cold starts wait on pool threads (one each while it restores). */
	setenv("UV_THREADPOOL_SIZE", "64", 0);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&node->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&node->changed, &ca);
	pthread_condattr_destroy(&ca);
	uv_loop_init(&node->loop);
	uv_async_init(&node->loop, &node->wake, on_wake);
	node->wake.data = node;
	uv_timer_init(&node->loop, &node->tick);
	node->tick.data = node;
	if ((err = router_listen(node, why, n)) || (err = registry_load(node, why, n))) {
		ex_node_free(node);
		return err;
	}
	*out = node;
	return 0;
}

int ex_node_run(struct ex_node *node)
{
	uv_timer_start(&node->tick, on_tick, TICK_MS, TICK_MS);
	uv_async_send(&node->wake); /* (min_instances at once) */
	return uv_run(&node->loop, UV_RUN_DEFAULT);
}

void ex_node_stop(struct ex_node *node)
{
	__atomic_store_n(&node->stop_asked, true, __ATOMIC_SEQ_CST);
	uv_async_send(&node->wake);
}

static void close_any(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void ex_node_free(struct ex_node *node)
{
	if (!node)
		return;
	uv_walk(&node->loop, close_any, NULL);
	uv_run(&node->loop, UV_RUN_DEFAULT);
	uv_loop_close(&node->loop);
	while (node->fns) {
		struct ex_fn *fn = node->fns;
		node->fns = fn->next;
		fn_free(fn);
	}
	pthread_mutex_destroy(&node->lock);
	pthread_cond_destroy(&node->changed);
	free(node);
}

uint16_t ex_node_listen_port(const struct ex_node *node)
{
	return node->port;
}

int ex_fn_deploy(struct ex_node *node, const struct ex_fn_config *cfg, const struct ex_code *code,
		 bool replace, bool wait, json_t **out, char *why, size_t n)
{
	*out = NULL;
	if (!ex_name_ok(cfg->name)) {
		snprintf(why, n, "\"name\" wants a DNS label: 1 to %d of a-z, 0-9 and '-', "
				 "not starting or ending with '-'", EX_NAME_MAX);
		return 400;
	}
	if (!ex_runtime_known(node, cfg->runtime)) {
		snprintf(why, n, "unknown runtime '%.32s'", cfg->runtime);
		return 400;
	}
	struct ex_fn_config c = *cfg;
	c.env = cfg->env ? json_deep_copy(cfg->env) : NULL;
	if (!c.handler[0])
		ex_runtime_handler(node, c.runtime, c.handler, sizeof(c.handler));
	if (!ex_code_path_ok(c.handler)) {
		ex_fn_config_free(&c);
		snprintf(why, n, "\"handler\" wants a relative path in the function's files");
		return 400;
	}
	if (!code->files && !code->archive) {
		ex_fn_config_free(&c);
		snprintf(why, n, "the function has no code: give \"files\" or \"archive\"");
		return 400;
	}
	char staged[PATH_MAX];
	int err = code_stage(node, code, c.handler, staged, sizeof(staged), why, n);
	if (err) {
		ex_fn_config_free(&c);
		return err == -EIO ? 500 : 400;
	}
	node_lock(node);
	struct ex_fn *fn = fn_find(node, c.name);
	int status = 0;
	if (node->stopping) {
		snprintf(why, n, "the node is stopping");
		status = 503;
	} else if (fn && !replace) {
		snprintf(why, n, "a function named '%s' exists (PUT /functions/%s updates it)", c.name,
			 c.name);
		status = 409;
	} else if (!fn && replace) {
		snprintf(why, n, "no function named '%s'", c.name);
		status = 404;
	} else if (node->ndeploys >= DEPLOYS_MAX) {
		snprintf(why, n, "%d deploys are in progress, the most at once: try again", DEPLOYS_MAX);
		status = 429;
	} else if (fn && fn->revs && fn->revs->state == REV_DEPLOYING) {
		snprintf(why, n, "a deploy of '%s' is in progress", c.name);
		status = 409;
	} else if (!fn && node->nfns >= NODE_FUNCTIONS_MAX) {
		snprintf(why, n, "the node holds %d functions, its most", NODE_FUNCTIONS_MAX);
		status = 507;
	}
	char dir[PATH_MAX];
	if (!status && !fn) {
		snprintf(dir, sizeof(dir), "%s/functions/%s", node->state_dir, c.name);
		fn = calloc(1, sizeof(*fn));
		if (!fn || (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
			snprintf(why, n, "cannot make %s: %s", dir, strerror(errno));
			free(fn);
			fn = NULL;
			status = 500;
		} else {
			fn->node = node;
			snprintf(fn->name, sizeof(fn->name), "%s", c.name);
			fn->next = node->fns;
			node->fns = fn;
			node->nfns++;
		}
	}
	struct ex_rev *rev = status ? NULL : calloc(1, sizeof(*rev));
	if (!status && !rev) {
		snprintf(why, n, "out of memory");
		status = 500;
	}
	if (status) {
		node_unlock(node);
		rm_tree(staged);
		ex_fn_config_free(&c);
		return status;
	}
	rev->fn = fn;
	rev->num = fn->revs ? fn->revs->num + 1 : 1;
	rev->cfg = c;
	rev->state = REV_DEPLOYING;
	rev->created = (int64_t)time(NULL);
	snprintf(rev->dir, sizeof(rev->dir), "%s/functions/%s/rev-%u", node->state_dir, fn->name,
		 rev->num);
	rm_tree(rev->dir); /* (what a deploy cut short by a crash left) */
	rev->next = fn->revs;
	fn->revs = rev;
	char code_dir[PATH_MAX + 8];
	snprintf(code_dir, sizeof(code_dir), "%s/code", rev->dir);
	if (mkdir(rev->dir, 0700) != 0 || rename(staged, code_dir) != 0) {
		rev->state = REV_FAILED;
		rev->error = strdup("cannot move the code into the revision's directory");
		rm_tree(staged);
	} else if ((err = deploy_start(node, rev))) {
		rev->state = REV_FAILED;
		rev->error = strdup("cannot start the deploy's thread");
	}
	rev_save(fn);
	if (wait) {
		fn->waiters++;
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += DEPLOY_TIMEOUT_MS / 1000 + 30;
		while (rev->state == REV_DEPLOYING && !fn->deleted &&
		       pthread_cond_timedwait(&node->changed, &node->lock, &until) != ETIMEDOUT)
			;
		fn->waiters--;
	}
	json_t *o = fn_json(fn);
	json_object_set_new(o, "deploy", rev_json(rev));
	*out = o;
	status = rev->state == REV_DEPLOYING ? 202 : replace ? 200 : 201;
	node_unlock(node);
	return status;
}
