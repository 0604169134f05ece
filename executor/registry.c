/* The function registry: functions and their revisions, kept in the
 * state directory (functions/NAME/function.json, written whole and
 * renamed into place; each revision's code and snapshot under
 * functions/NAME/rev-N/), loaded again when the node starts; and the
 * control plane's calls that read and change it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node.h"

static const char *const rev_states[] = {"deploying", "ready", "failed"};
static const char *const inst_states[INST_STATES] = {"starting", "ready", "stopping", "standby"};

struct ex_fn *fn_find(struct ex_node *node, const char *name)
{
	for (struct ex_fn *f = node->fns; f; f = f->next)
		if (!f->deleted && !strcmp(f->name, name))
			return f;
	return NULL;
}

void rev_free(struct ex_rev *r)
{
	ex_fn_config_free(&r->cfg);
	free(r->error);
	free(r->output);
	free(r);
}

void fn_free(struct ex_fn *fn)
{
	while (fn->revs) {
		struct ex_rev *r = fn->revs;
		fn->revs = r->next;
		rev_free(r);
	}
	for (uint32_t i = 0; i < fn->log_count; i++)
		free(fn->logs[(fn->log_first + i) % LOG_LINES_MAX].text);
	free(fn->trash);
	free(fn);
}

/* What the registry keeps of a revision, and what the API shows. */
json_t *rev_json(const struct ex_rev *r)
{
	json_t *o = json_pack("{s:i, s:s, s:o, s:I, s:I, s:f, s:I}", "revision", (json_int_t)r->num,
			      "state", rev_states[r->state], "config", ex_fn_config_json(&r->cfg),
			      "snapshot_bytes", (json_int_t)r->snapshot_bytes, "memory_bytes",
			      (json_int_t)r->memory_bytes, "deploy_ms", r->deploy_ms, "created",
			      (json_int_t)r->created);
	if (o && r->error)
		json_object_set_new(o, "error", json_string(r->error));
	if (o && r->output)
		json_object_set_new(o, "output", json_string(r->output));
	return o;
}

static int fn_path(const struct ex_node *node, const char *name, const char *leaf, char *out,
		   size_t size)
{
	int n = snprintf(out, size, "%s/functions/%s%s%s", node->state_dir, name, leaf ? "/" : "",
			 leaf ? leaf : "");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int rev_save(struct ex_fn *fn)
{
	json_t *revs = json_array();
	for (struct ex_rev *r = fn->revs; r; r = r->next)
		json_array_append_new(revs, rev_json(r));
	json_t *o = json_pack("{s:s, s:i, s:o}", "name", fn->name, "serving",
			      (json_int_t)(fn->serving ? fn->serving->num : 0), "revisions", revs);
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int err = fn_path(fn->node, fn->name, "function.json", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!err && (!o || json_dump_file(o, tmp, JSON_INDENT(1)) != 0))
		err = -EIO;
	if (!err && rename(tmp, path) != 0)
		err = -errno;
	json_decref(o);
	return err;
}

/* A revision as the registry kept it; NULL when the record is not one. */
static struct ex_rev *rev_load(struct ex_fn *fn, json_t *o)
{
	json_t *num = json_object_get(o, "revision"), *st = json_object_get(o, "state");
	json_t *cfg = json_object_get(o, "config");
	if (!json_is_integer(num) || json_integer_value(num) < 1 ||
	    json_integer_value(num) > 1000000 || !json_is_string(st))
		return NULL;
	struct ex_rev *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->fn = fn;
	r->num = (uint32_t)json_integer_value(num);
	ex_fn_config_defaults(&r->cfg);
	snprintf(r->cfg.name, sizeof(r->cfg.name), "%s", fn->name);
	char why[256];
	if (ex_fn_config_parse(cfg, &r->cfg, why, sizeof(why))) {
		rev_free(r);
		return NULL;
	}
	r->state = !strcmp(json_string_value(st), "ready") ? REV_READY : REV_FAILED;
	json_t *e = json_object_get(o, "error");
	if (json_is_string(e))
		r->error = strdup(json_string_value(e));
	else if (strcmp(json_string_value(st), "ready"))
		r->error = strdup("the node stopped during the deploy");
	r->snapshot_bytes = (uint64_t)json_integer_value(json_object_get(o, "snapshot_bytes"));
	r->memory_bytes = (uint64_t)json_integer_value(json_object_get(o, "memory_bytes"));
	r->deploy_ms = json_number_value(json_object_get(o, "deploy_ms"));
	r->created = json_integer_value(json_object_get(o, "created"));
	snprintf(r->dir, sizeof(r->dir), "%s/functions/%s/rev-%u", fn->node->state_dir, fn->name,
		 r->num);
	/* A ready revision needs its snapshot still. */
	char snap[PATH_MAX + 16];
	snprintf(snap, sizeof(snap), "%s/snapshot", r->dir);
	if (r->state == REV_READY && access(snap, R_OK) != 0) {
		r->state = REV_FAILED;
		r->error = strdup("its snapshot is gone from the state directory");
	}
	return r;
}

static int fn_load(struct ex_node *node, const char *name)
{
	char path[PATH_MAX];
	if (!ex_name_ok(name) || fn_path(node, name, "function.json", path, sizeof(path)))
		return -EINVAL;
	json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	json_t *revs = o ? json_object_get(o, "revisions") : NULL;
	if (!json_is_array(revs)) {
		json_decref(o);
		return -EINVAL;
	}
	struct ex_fn *fn = calloc(1, sizeof(*fn));
	if (!fn) {
		json_decref(o);
		return -ENOMEM;
	}
	fn->node = node;
	snprintf(fn->name, sizeof(fn->name), "%.63s", name);
	struct ex_rev **tail = &fn->revs;
	size_t i;
	json_t *v;
	json_array_foreach(revs, i, v) {
		struct ex_rev *r = rev_load(fn, v);
		if (r) {
			*tail = r;
			tail = &r->next;
		}
	}
	json_decref(o);
	for (struct ex_rev *r = fn->revs; r && !fn->serving; r = r->next)
		if (r->state == REV_READY)
			fn->serving = r;
	fn->next = node->fns;
	node->fns = fn;
	node->nfns++;
	rev_save(fn); /* (what changed on loading: deploys cut short, snapshots gone) */
	return 0;
}

int registry_load(struct ex_node *node, char *why, size_t n)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/functions", node->state_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(why, n, "cannot make %s: %s", dir, strerror(errno));
		return -errno;
	}
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(why, n, "cannot read %s: %s", dir, strerror(errno));
		return -errno;
	}
	struct dirent *e;
	while ((e = readdir(d)) && node->nfns < NODE_FUNCTIONS_MAX) {
		if (e->d_name[0] == '.')
			continue;
		if (fn_load(node, e->d_name))
			fprintf(stderr, "husk serve: %s/%s: not a function's record, left alone\n", dir,
				e->d_name);
	}
	closedir(d);
	return 0;
}

/* ---- the control plane's calls ---- */

json_t *fn_json(const struct ex_fn *fn)
{
	uint32_t counts[INST_STATES] = {0};
	for (const struct ex_rev *r = fn->revs; r; r = r->next)
		for (const struct ex_inst *in = r->insts; in; in = in->next)
			counts[in->state]++;
	const struct ex_rev *latest = fn->revs;
	json_t *o = json_pack(
		"{s:s, s:s, s:i, s:i, s:o, s:{s:i, s:i, s:i, s:i}, s:i}", "name", fn->name, "state",
		fn->serving ? "ready" : latest && latest->state == REV_DEPLOYING ? "deploying"
									 : "failed",
		"revision", (json_int_t)(fn->serving ? fn->serving->num : 0), "latest_revision",
		(json_int_t)(latest ? latest->num : 0),
		"config", latest ? ex_fn_config_json(&latest->cfg) : json_object(), "instances",
		"starting", (json_int_t)counts[INST_STARTING], "ready", (json_int_t)counts[INST_READY],
		"stopping", (json_int_t)counts[INST_STOPPING], "standby",
		(json_int_t)counts[INST_STANDBY], "queued", (json_int_t)fn->nqueued);
	if (!o)
		return NULL;
	json_object_set_new(o, "url_path", json_sprintf("/%s/", fn->name));
	if (fn->serving)
		json_object_set_new(o, "snapshot_bytes", json_integer((json_int_t)fn->serving->snapshot_bytes));
	/* The latest deploy's outcome, when it is not the one serving. */
	if (latest && latest != fn->serving) {
		json_object_set_new(o, "latest_state", json_string(rev_states[latest->state]));
		if (latest->error)
			json_object_set_new(o, "last_error", json_string(latest->error));
		if (latest->output)
			json_object_set_new(o, "output", json_string(latest->output));
	}
	json_t *revs = json_array();
	for (const struct ex_rev *r = fn->revs; r; r = r->next) {
		json_t *j = json_pack("{s:i, s:s, s:I, s:f}", "revision", (json_int_t)r->num, "state",
				      rev_states[r->state], "snapshot_bytes",
				      (json_int_t)r->snapshot_bytes, "deploy_ms", r->deploy_ms);
		if (j && r->error)
			json_object_set_new(j, "error", json_string(r->error));
		json_array_append_new(revs, j);
	}
	json_object_set_new(o, "revisions", revs);
	return o;
}

int ex_fn_get(struct ex_node *node, const char *name, json_t **out, char *why, size_t n)
{
	node_lock(node);
	struct ex_fn *fn = fn_find(node, name);
	*out = fn ? fn_json(fn) : NULL;
	node_unlock(node);
	if (!fn) {
		snprintf(why, n, "no function named '%s'", name);
		return 404;
	}
	return *out ? 200 : 500;
}

int ex_fn_list(struct ex_node *node, json_t **out)
{
	json_t *a = json_array();
	node_lock(node);
	for (struct ex_fn *f = node->fns; f; f = f->next)
		if (!f->deleted)
			json_array_append_new(a, fn_json(f));
	node_unlock(node);
	*out = json_pack("{s:o}", "functions", a);
	return *out ? 200 : 500;
}

/* A list's answer ({key: list}), or 404 when there is no such function. */
static int listing(bool found, const char *name, const char *key, json_t *list, json_t **out,
		   char *why, size_t n)
{
	if (!found) {
		json_decref(list);
		snprintf(why, n, "no function named '%s'", name);
		return 404;
	}
	*out = json_pack("{s:o}", key, list);
	return *out ? 200 : 500;
}

int ex_fn_instances(struct ex_node *node, const char *name, json_t **out, char *why, size_t n)
{
	node_lock(node);
	struct ex_fn *fn = fn_find(node, name);
	json_t *a = json_array();
	uint64_t now = uv_now(&node->loop);
	for (struct ex_rev *r = fn ? fn->revs : NULL; r; r = r->next)
		for (struct ex_inst *in = r->insts; in; in = in->next)
			json_array_append_new(
				a, json_pack("{s:i, s:i, s:i, s:s, s:i, s:I, s:f}", "id",
					     (json_int_t)in->id, "pid",
					     (json_int_t)(in->exited ? 0 : in->proc.pid),
					     "revision", (json_int_t)r->num, "state",
					     inst_states[in->state], "active", (json_int_t)in->active,
					     "idle_ms",
					     (json_int_t)(in->active || !in->idle_since
								  ? 0
								  : now - in->idle_since),
					     "restore_ms", in->restore_ms));
	node_unlock(node);
	return listing(fn != NULL, name, "instances", a, out, why, n);
}

int ex_fn_logs(struct ex_node *node, const char *name, size_t tail, json_t **out, char *why,
	       size_t n)
{
	node_lock(node);
	struct ex_fn *fn = fn_find(node, name);
	json_t *a = json_array();
	if (fn) {
		uint32_t count = fn->log_count, skip = tail < count ? count - (uint32_t)tail : 0;
		for (uint32_t i = skip; i < count; i++) {
			const struct log_line *l = &fn->logs[(fn->log_first + i) % LOG_LINES_MAX];
			char when[40];
			time_t s = (time_t)(l->when_ms / 1000);
			struct tm tm;
			gmtime_r(&s, &tm);
			size_t w = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
			snprintf(when + w, sizeof(when) - w, ".%03dZ", (int)(l->when_ms % 1000));
			json_array_append_new(
				a, json_pack("{s:s, s:i, s:i, s:s, s:s}", "time", when, "revision",
					     (json_int_t)l->rev, "instance", (json_int_t)l->inst,
					     "stream", l->err ? "stderr" : "stdout", "text", l->text));
		}
	}
	node_unlock(node);
	return listing(fn != NULL, name, "logs", a, out, why, n);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes a tree, never following its links (what a deploy wrote). */
void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

int ex_fn_delete(struct ex_node *node, const char *name, char *why, size_t n)
{
	node_lock(node);
	struct ex_fn *fn = fn_find(node, name);
	char dir[PATH_MAX], gone[PATH_MAX + 32];
	if (!fn) {
		node_unlock(node);
		snprintf(why, n, "no function named '%s'", name);
		return 404;
	}
	/* Out of the registry now; its memory goes once its instances and
	 * deploys have (pool_tick). */
	fn->deleted = true;
	fn->serving = NULL;
	fn_path(node, name, NULL, dir, sizeof(dir));
	snprintf(gone, sizeof(gone), "%s/trash/%s.%u", node->state_dir, name, node->next_inst++);
	int err = rename(dir, gone) == 0 ? 0 : -errno;
	if (!err)
		fn->trash = strdup(gone);
	uv_async_send(&node->wake);
	node_unlock(node);
	if (err) {
		snprintf(why, n, "cannot remove its files: %s", strerror(-err));
		return 500;
	}
	return 204;
}
