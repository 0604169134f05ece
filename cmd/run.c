/* husk run: run one program in a new sandbox, like `runsc do`.  Exits with
 * the program's status, or 128+signal when a signal killed it. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../kernel/kernel.h"
#include "cmd.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_ENV 4096

/* Finds prog on PATH when it names no directory, as a shell would. */
static const char *resolve(const char *prog, char *buf, size_t size)
{
	if (strchr(prog, '/'))
		return prog;
	const char *path = getenv("PATH");
	if (!path)
		path = DEFAULT_PATH;
	while (*path) {
		size_t n = strcspn(path, ":");
		if (n > 0 && (size_t)snprintf(buf, size, "%.*s/%s", (int)n, path, prog) < size) {
			struct stat st;
			if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
				return buf;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return NULL;
}

/* Sets K=V in env, replacing an earlier K. */
static int env_set(char **env, int n, char *kv)
{
	size_t klen = strcspn(kv, "=");
	for (int i = 0; i < n; i++)
		if (strncmp(env[i], kv, klen) == 0 && env[i][klen] == '=') {
			env[i] = kv;
			return n;
		}
	env[n] = kv;
	return n + 1;
}

int cmd_run(int argc, char **argv)
{
	struct k_config cfg = {
		.platform = "ptrace",
		.stdio = {0, 1, 2},
		.strace_fd = 2,
		.hostname = "husk",
	};
	static char *env[MAX_ENV + 2];
	static char path_env[] = "PATH=" DEFAULT_PATH;
	int nenv = env_set(env, 0, path_env);
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strncmp(a, "--platform=", 11) == 0) {
			cfg.platform = a + 11;
		} else if (strcmp(a, "--platform") == 0 && i + 1 < argc) {
			cfg.platform = argv[++i];
		} else if (strcmp(a, "--strace") == 0) {
			cfg.strace = true;
		} else if (strcmp(a, "--debug") == 0) {
			cfg.debug = true;
		} else if ((strcmp(a, "--env") == 0 || strcmp(a, "-e") == 0) && i + 1 < argc) {
			char *kv = argv[++i];
			if (!strchr(kv, '=') || kv[0] == '=') {
				fprintf(stderr, "husk run: --env wants K=V, not '%s'\n", kv);
				return 2;
			}
			if (nenv >= MAX_ENV) {
				fprintf(stderr, "husk run: too many --env\n");
				return 2;
			}
			nenv = env_set(env, nenv, kv);
		} else if (strncmp(a, "--env=", 6) == 0 && strchr(a + 6, '=') && nenv < MAX_ENV) {
			nenv = env_set(env, nenv, (char *)a + 6);
		} else if (strcmp(a, "--hostname") == 0 && i + 1 < argc) {
			cfg.hostname = argv[++i];
		} else if (a[0] != '-') {
			break;
		} else {
			fprintf(stderr, "husk run: unknown option '%s'\n", a);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: husk run [OPTIONS] -- PROG [ARGS...]\n");
		return 2;
	}
	env[nenv] = NULL;
	char buf[PATH_MAX];
	const char *exe = resolve(argv[i], buf, sizeof(buf));
	if (!exe) {
		fprintf(stderr, "husk run: %s: command not found\n", argv[i]);
		return 127;
	}
	cfg.exe = exe;
	cfg.argv = argv + i;
	cfg.envp = env;
	int status = 0;
	const char *why = NULL;
	int err = k_run(&cfg, &status, &why);
	if (err) {
		fprintf(stderr, "husk run: %s: %s: %s\n", argv[i], why ? why : "cannot run",
			strerror(-err));
		return err == -ENOENT ? 127 : (err == -ENOEXEC || err == -EACCES) ? 126 : 125;
	}
	return status;
}
