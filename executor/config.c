/* A function's configuration to and from JSON: what POST /functions
 * takes (after the API has taken name, files and archive out) and what
 * the registry keeps.  Strict: unknown keys, wrong types and values out
 * of range are errors that name the key. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "executor.h"

void ex_fn_config_defaults(struct ex_fn_config *c)
{
	memset(c, 0, sizeof(*c));
	c->memory_mb = 256;
	c->timeout_s = 300; /* Cloud Run's default request timeout */
	c->concurrency = 80; /* and its default concurrency */
	c->min_instances = 0;
	c->max_instances = 10;
	c->idle_timeout_s = 300;
	snprintf(c->egress, sizeof(c->egress), "none");
}

bool ex_name_ok(const char *s)
{
	/* An RFC 1123 DNS label, lower case (it is also a host name part). */
	size_t n = strlen(s);
	if (n == 0 || n > EX_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

static int get_u32(json_t *v, const char *key, uint32_t lo, uint32_t hi, uint32_t *out, char *why,
		   size_t n)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		snprintf(why, n, "\"%s\" wants an integer from %u to %u", key, lo, hi);
		return -1;
	}
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int get_str(json_t *v, const char *key, char *out, size_t size, char *why, size_t n)
{
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= size ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(why, n, "\"%s\" wants a string of 1 to %zu bytes", key, size - 1);
		return -1;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* Environment names as POSIX shells take them; values without NUL.  The
 * node's own (PORT, K_SERVICE, K_REVISION) are reserved, as Cloud Run
 * reserves them. */
static int check_env(json_t *env, char *why, size_t n)
{
	if (!json_is_object(env) || json_object_size(env) > EX_ENV_MAX) {
		snprintf(why, n, "\"env\" wants an object of at most %d strings", EX_ENV_MAX);
		return -1;
	}
	const char *k;
	json_t *v;
	size_t total = 0;
	json_object_foreach(env, k, v) {
		bool ok = (isalpha((unsigned char)k[0]) || k[0] == '_') && strlen(k) <= 255;
		for (const char *p = k; ok && *p; p++)
			ok = isalnum((unsigned char)*p) || *p == '_';
		if (!ok) {
			snprintf(why, n, "\"env\": '%.64s' is not a variable name", k);
			return -1;
		}
		if (!strcmp(k, "PORT") || !strcmp(k, "K_SERVICE") || !strcmp(k, "K_REVISION") ||
		    !strcmp(k, "K_CONFIGURATION")) {
			snprintf(why, n, "\"env\": %s is set by the node", k);
			return -1;
		}
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
		    json_string_length(v) > 32768) {
			snprintf(why, n, "\"env\": %s wants a string (no NUL, at most 32 KiB)", k);
			return -1;
		}
		total += strlen(k) + json_string_length(v) + 2;
	}
	if (total > 128 * 1024) {
		snprintf(why, n, "\"env\" is over 128 KiB in all");
		return -1;
	}
	return 0;
}

int ex_fn_config_parse(json_t *obj, struct ex_fn_config *c, char *why, size_t n)
{
	const char *key;
	json_t *v;
	if (!json_is_object(obj)) {
		snprintf(why, n, "the function wants a JSON object");
		return -1;
	}
	json_object_foreach(obj, key, v) {
		int r;
		if (!strcmp(key, "runtime"))
			r = get_str(v, key, c->runtime, sizeof(c->runtime), why, n);
		else if (!strcmp(key, "handler"))
			r = get_str(v, key, c->handler, sizeof(c->handler), why, n);
		else if (!strcmp(key, "memory_mb"))
			r = get_u32(v, key, 16, 65536, &c->memory_mb, why, n);
		else if (!strcmp(key, "timeout_s"))
			r = get_u32(v, key, 1, 3600, &c->timeout_s, why, n);
		else if (!strcmp(key, "concurrency"))
			r = get_u32(v, key, 1, 1000, &c->concurrency, why, n);
		else if (!strcmp(key, "min_instances"))
			r = get_u32(v, key, 0, 1000, &c->min_instances, why, n);
		else if (!strcmp(key, "max_instances"))
			r = get_u32(v, key, 1, 1000, &c->max_instances, why, n);
		else if (!strcmp(key, "idle_timeout_s"))
			r = get_u32(v, key, 1, 86400, &c->idle_timeout_s, why, n);
		else if (!strcmp(key, "egress")) {
			struct ex_egress e;
			r = get_str(v, key, c->egress, sizeof(c->egress), why, n);
			if (!r && ex_egress_parse(c->egress, &e)) {
				snprintf(why, n, "\"egress\" wants none, all or CIDR,... (at most %d)",
					 EX_EGRESS_MAX);
				r = -1;
			}
		} else if (!strcmp(key, "env")) {
			r = check_env(v, why, n);
			if (!r) {
				json_decref(c->env);
				c->env = json_deep_copy(v);
			}
		} else {
			snprintf(why, n, "unknown field \"%.64s\"", key);
			r = -1;
		}
		if (r)
			return -1;
	}
	if (c->min_instances > c->max_instances) {
		snprintf(why, n, "\"min_instances\" is over \"max_instances\"");
		return -1;
	}
	if (!c->runtime[0]) {
		snprintf(why, n, "\"runtime\" is missing");
		return -1;
	}
	for (const char *p = c->handler; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(why, n, "\"handler\" has a control character");
			return -1;
		}
	return 0;
}

json_t *ex_fn_config_json(const struct ex_fn_config *c)
{
	return json_pack("{s:s, s:s, s:o, s:i, s:i, s:i, s:i, s:i, s:i, s:s}", "runtime", c->runtime,
			 "handler", c->handler, "env", c->env ? json_deep_copy(c->env) : json_object(), "memory_mb",
			 (json_int_t)c->memory_mb, "timeout_s", (json_int_t)c->timeout_s,
			 "concurrency", (json_int_t)c->concurrency, "min_instances",
			 (json_int_t)c->min_instances, "max_instances", (json_int_t)c->max_instances,
			 "idle_timeout_s", (json_int_t)c->idle_timeout_s, "egress", c->egress);
}

void ex_fn_config_free(struct ex_fn_config *c)
{
	json_decref(c->env);
	c->env = NULL;
}
