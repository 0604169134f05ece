/* The mount spec: parsing (strict), the default, and back to JSON. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gofer.h"
#include "proto.h"

enum { SPEC_MOUNTS_MAX = 64 };

/* The reason for the last parse error of this thread (gf_spec_parse's *why
 * points here until the next call). */
static __thread char why_buf[320];

static int fail(const char **why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
	va_end(ap);
	if (why)
		*why = why_buf;
	return -EINVAL;
}

/* Normalises an absolute path: repeated and trailing slashes go; "." and
 * ".." components, NULs, components over 255 bytes and paths over 4095
 * bytes are refused.  Returns a malloc'ed copy, or NULL with *err set. */
static char *norm_path(const char *in, size_t len, const char **err)
{
	if (len == 0 || in[0] != '/') {
		*err = "must be an absolute path";
		return NULL;
	}
	if (len > GF_PATH_MAX) {
		*err = "is longer than 4095 bytes";
		return NULL;
	}
	if (memchr(in, '\0', len)) {
		*err = "contains a NUL byte";
		return NULL;
	}
	char *out = malloc(len + 1);
	if (!out) {
		*err = "out of memory";
		return NULL;
	}
	size_t o = 0, i = 0;
	while (i < len) {
		while (i < len && in[i] == '/')
			i++;
		size_t start = i;
		while (i < len && in[i] != '/')
			i++;
		size_t n = i - start;
		if (n == 0)
			break;
		if ((n == 1 && in[start] == '.') || (n == 2 && in[start] == '.' && in[start + 1] == '.')) {
			free(out);
			*err = "has a \".\" or \"..\" component";
			return NULL;
		}
		if (n > GF_NAME_MAX) {
			free(out);
			*err = "has a component longer than 255 bytes";
			return NULL;
		}
		out[o++] = '/';
		memcpy(out + o, in + start, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

static int cmp_mount(const void *a, const void *b)
{
	return strcmp(((const struct gf_mount *)a)->path, ((const struct gf_mount *)b)->path);
}

void gf_spec_free(struct gf_spec *spec)
{
	if (!spec)
		return;
	for (int i = 0; i < spec->nmounts; i++) {
		free(spec->mounts[i].path);
		free(spec->mounts[i].source);
	}
	free(spec->mounts);
	spec->mounts = NULL;
	spec->nmounts = 0;
}

static int parse_mount(json_t *m, int i, struct gf_mount *out, const char **why)
{
	if (!json_is_object(m))
		return fail(why, "mounts[%d]: must be an object", i);
	const char *key;
	json_t *v;
	json_t *jpath = NULL, *jtype = NULL, *jsource = NULL, *jro = NULL, *jov = NULL;
	json_object_foreach(m, key, v) {
		if (strcmp(key, "path") == 0)
			jpath = v;
		else if (strcmp(key, "type") == 0)
			jtype = v;
		else if (strcmp(key, "source") == 0)
			jsource = v;
		else if (strcmp(key, "readonly") == 0)
			jro = v;
		else if (strcmp(key, "overlay") == 0)
			jov = v;
		else
			return fail(why, "mounts[%d]: unknown key \"%.64s\"", i, key);
	}
	if (!jpath)
		return fail(why, "mounts[%d]: \"path\" is missing", i);
	if (!json_is_string(jpath))
		return fail(why, "mounts[%d]: \"path\" must be a string", i);
	if (!jtype)
		return fail(why, "mounts[%d]: \"type\" is missing", i);
	if (!json_is_string(jtype))
		return fail(why, "mounts[%d]: \"type\" must be a string", i);
	const char *type = json_string_value(jtype);
	if (strcmp(type, "bind") == 0 && json_string_length(jtype) == 4)
		out->type = GF_MOUNT_BIND;
	else if (strcmp(type, "tmpfs") == 0 && json_string_length(jtype) == 5)
		out->type = GF_MOUNT_TMPFS;
	else
		return fail(why, "mounts[%d]: \"type\" must be \"bind\" or \"tmpfs\"", i);
	if (jro && !json_is_boolean(jro))
		return fail(why, "mounts[%d]: \"readonly\" must be true or false", i);
	if (jov && !json_is_boolean(jov))
		return fail(why, "mounts[%d]: \"overlay\" must be true or false", i);

	const char *err;
	out->path = norm_path(json_string_value(jpath), json_string_length(jpath), &err);
	if (!out->path)
		return fail(why, "mounts[%d]: \"path\" %s", i, err);

	if (out->type == GF_MOUNT_TMPFS) {
		if (jsource)
			return fail(why, "mounts[%d]: a tmpfs mount has no \"source\"", i);
		if (jro || jov)
			return fail(why, "mounts[%d]: \"readonly\" and \"overlay\" are for bind mounts", i);
		return 0;
	}
	if (!jsource)
		return fail(why, "mounts[%d]: a bind mount needs a \"source\"", i);
	if (!json_is_string(jsource))
		return fail(why, "mounts[%d]: \"source\" must be a string", i);
	out->source = norm_path(json_string_value(jsource), json_string_length(jsource), &err);
	if (!out->source)
		return fail(why, "mounts[%d]: \"source\" %s", i, err);
	out->readonly = jro && json_is_true(jro);
	out->overlay = jov && json_is_true(jov);
	if (out->overlay && !out->readonly)
		return fail(why, "mounts[%d]: \"overlay\" needs \"readonly\": true", i);
	return 0;
}

int gf_spec_parse(const char *json, struct gf_spec *spec, const char **why)
{
	spec->mounts = NULL;
	spec->nmounts = 0;
	if (!json)
		return fail(why, "no spec");
	json_error_t jerr;
	json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(why, "invalid JSON at line %d column %d: %.200s", jerr.line, jerr.column,
			    jerr.text);
	int rc = 0;
	json_t *mounts = NULL;
	if (!json_is_object(root)) {
		rc = fail(why, "the spec must be a JSON object");
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "mounts") != 0) {
			rc = fail(why, "unknown key \"%.64s\"", key);
			goto out;
		}
		mounts = v;
	}
	if (!mounts) {
		rc = fail(why, "\"mounts\" is missing");
		goto out;
	}
	if (!json_is_array(mounts)) {
		rc = fail(why, "\"mounts\" must be an array");
		goto out;
	}
	size_t n = json_array_size(mounts);
	if (n == 0) {
		rc = fail(why, "\"mounts\" is empty: \"/\" must be a bind mount");
		goto out;
	}
	if (n > SPEC_MOUNTS_MAX) {
		rc = fail(why, "more than %d mounts", SPEC_MOUNTS_MAX);
		goto out;
	}
	spec->mounts = calloc(n, sizeof(*spec->mounts));
	if (!spec->mounts) {
		rc = fail(why, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		spec->nmounts = (int)i + 1;
		rc = parse_mount(json_array_get(mounts, i), (int)i, &spec->mounts[i], why);
		if (rc)
			goto out;
	}
	qsort(spec->mounts, n, sizeof(*spec->mounts), cmp_mount);
	for (size_t i = 1; i < n; i++)
		if (strcmp(spec->mounts[i - 1].path, spec->mounts[i].path) == 0) {
			rc = fail(why, "two mounts at \"%.200s\"", spec->mounts[i].path);
			goto out;
		}
	if (strcmp(spec->mounts[0].path, "/") != 0) {
		rc = fail(why, "no mount at \"/\": \"/\" must be a bind mount");
		goto out;
	}
	if (spec->mounts[0].type != GF_MOUNT_BIND) {
		rc = fail(why, "\"/\" must be a bind mount");
		goto out;
	}
out:
	json_decref(root);
	if (rc)
		gf_spec_free(spec);
	return rc;
}

int gf_spec_default(struct gf_spec *spec)
{
	spec->nmounts = 0;
	spec->mounts = calloc(2, sizeof(*spec->mounts));
	if (!spec->mounts)
		return -ENOMEM;
	spec->nmounts = 2;
	struct gf_mount *r = &spec->mounts[0], *t = &spec->mounts[1];
	r->path = strdup("/");
	r->source = strdup("/");
	r->type = GF_MOUNT_BIND;
	r->readonly = true;
	r->overlay = true;
	t->path = strdup("/tmp");
	t->type = GF_MOUNT_TMPFS;
	if (!r->path || !r->source || !t->path) {
		gf_spec_free(spec);
		return -ENOMEM;
	}
	return 0;
}

char *gf_spec_to_json(const struct gf_spec *spec)
{
	json_t *root = json_object(), *mounts = json_array();
	if (!root || !mounts || json_object_set_new(root, "mounts", mounts) != 0) {
		json_decref(root);
		return NULL;
	}
	bool ok = true;
	for (int i = 0; i < spec->nmounts && ok; i++) {
		const struct gf_mount *m = &spec->mounts[i];
		json_t *o = json_object();
		if (!o || !m->path) {
			json_decref(o);
			ok = false;
			break;
		}
		ok = json_object_set_new(o, "path", json_string(m->path)) == 0;
		if (m->type == GF_MOUNT_BIND) {
			ok = ok && m->source &&
			     json_object_set_new(o, "type", json_string("bind")) == 0 &&
			     json_object_set_new(o, "source", json_string(m->source)) == 0 &&
			     json_object_set_new(o, "readonly", json_boolean(m->readonly)) == 0 &&
			     json_object_set_new(o, "overlay", json_boolean(m->overlay)) == 0;
		} else {
			ok = ok && json_object_set_new(o, "type", json_string("tmpfs")) == 0;
		}
		if (json_array_append_new(mounts, o) != 0)
			ok = false;
	}
	char *s = ok ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	return s;
}
