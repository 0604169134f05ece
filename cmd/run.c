/* husk run: run one program in a new sandbox, like `runsc do`.  Exits with
 * the program's status, or 128+signal when a signal killed it. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../executor/executor.h"
#include "../gofer/gofer.h"
#include "../kernel/kernel.h"
#include "cmd.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_ENV 4096
#define MAX_BINDS 16
#define MAX_PUBLISH 16

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct gf_mount *)a)->path, ((const struct gf_mount *)b)->path);
}

/* --bind HOST[:GUEST]: a read-only bind mount added to the spec. */
static int add_bind(struct gf_spec *spec, const char *arg)
{
	const char *colon = strchr(arg, ':');
	char host[PATH_MAX];
	size_t hl = colon ? (size_t)(colon - arg) : strlen(arg);
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, arg, hl);
	host[hl] = 0;
	char real[PATH_MAX];
	if (!realpath(host, real))
		return -errno;
	const char *guest = colon ? colon + 1 : real;
	if (guest[0] != '/' || strstr(guest, "/..") || strstr(guest, "/./"))
		return -EINVAL;
	struct gf_mount *m = realloc(spec->mounts, (size_t)(spec->nmounts + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	spec->mounts = m;
	m = &spec->mounts[spec->nmounts];
	memset(m, 0, sizeof(*m));
	m->path = strdup(guest);
	m->source = strdup(real);
	if (!m->path || !m->source) {
		free(m->path);
		free(m->source);
		return -ENOMEM;
	}
	m->type = GF_MOUNT_BIND;
	m->readonly = true;
	spec->nmounts++;
	qsort(spec->mounts, (size_t)spec->nmounts, sizeof(*spec->mounts), by_path);
	return 0;
}

/* Reads a whole (small) file, for --root. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
		if (n + 1 == cap) {
			if (cap >= (1 << 20))
				break; /* a mount spec is never this large */
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	fclose(f);
	if (buf)
		buf[n] = 0;
	return buf;
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

/* husk run, and husk restore (the same options; a snapshot file where
 * run takes a program). */
static int run_main(int argc, char **argv, bool restore)
{
	struct k_config cfg = {
		.platform = NULL, /* systrap where it can run */
		.stdio = {0, 1, 2},
		.strace_fd = 2,
		.hostname = "husk",
		.memory_limit = 4ULL << 30, /* 4 GiB unless --memory says otherwise */
	};
	static char *env[MAX_ENV + 2];
	static char path_env[] = "PATH=" DEFAULT_PATH;
	int nenv = env_set(env, 0, path_env);
	const char *root_spec = NULL;
	const char *binds[MAX_BINDS];
	int nbinds = 0;
	struct ex_publish pubs[MAX_PUBLISH];
	int npubs = 0;
	struct ex_egress egress = {0}; /* none */
	const char *control = NULL;
	const char *cwd_arg = NULL; /* the guest's working directory */
	bool wait_load = false; /* restore: boot now, take the snapshot from husk load */
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
		} else if (strcmp(a, "--bind") == 0 && i + 1 < argc) {
			if (nbinds == MAX_BINDS) {
				fprintf(stderr, "husk run: too many --bind\n");
				return 2;
			}
			binds[nbinds++] = argv[++i];
		} else if ((strcmp(a, "--memory") == 0 && i + 1 < argc) || strncmp(a, "--memory=", 9) == 0) {
			const char *v = a[8] == '=' ? a + 9 : argv[++i];
			char *end;
			unsigned long long n = strtoull(v, &end, 10);
			unsigned long long mult = *end == 'k' || *end == 'K' ? 1ULL << 10
						: *end == 'm' || *end == 'M' ? 1ULL << 20
						: *end == 'g' || *end == 'G' ? 1ULL << 30 : 1;
			if (end == v || (mult > 1 && end[1]) || (mult == 1 && *end) || n > (1ULL << 40)) {
				fprintf(stderr, "husk run: --memory wants a size like 512M, not '%s'\n", v);
				return 2;
			}
			cfg.memory_limit = n * mult;
		} else if ((strcmp(a, "--tasks") == 0 && i + 1 < argc) || strncmp(a, "--tasks=", 8) == 0) {
			const char *v = a[7] == '=' ? a + 8 : argv[++i];
			char *end;
			long n = strtol(v, &end, 10);
			if (end == v || *end || n < 1 || n > 1 << 22) {
				fprintf(stderr, "husk run: --tasks wants a number from 1, not '%s'\n", v);
				return 2;
			}
			cfg.max_tasks = (int)n;
		} else if ((strcmp(a, "--publish") == 0 && i + 1 < argc) ||
			   strncmp(a, "--publish=", 10) == 0) {
			const char *v = a[9] == '=' ? a + 10 : argv[++i];
			if (npubs == MAX_PUBLISH || ex_publish_parse(v, &pubs[npubs])) {
				fprintf(stderr, "husk run: --publish wants HOSTPORT:GUESTPORT, not '%s'\n", v);
				return 2;
			}
			npubs++;
		} else if ((strcmp(a, "--egress") == 0 && i + 1 < argc) ||
			   strncmp(a, "--egress=", 9) == 0) {
			const char *v = a[8] == '=' ? a + 9 : argv[++i];
			if (ex_egress_parse(v, &egress)) {
				fprintf(stderr, "husk run: --egress wants none, all or CIDR,... "
						"(at most %d), not '%s'\n", EX_EGRESS_MAX, v);
				return 2;
			}
		} else if (strcmp(a, "--die-with-parent") == 0) {
			/* (The node's sandboxes: none outlives a node killed.) */
			pid_t parent = getppid();
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
				return 125;
		} else if (restore && strcmp(a, "--no-image") == 0) {
			cfg.restore_eager = true;
		} else if (restore && strcmp(a, "--wait") == 0) {
			wait_load = true;
		} else if ((strcmp(a, "--control") == 0 && i + 1 < argc) ||
			   strncmp(a, "--control=", 10) == 0) {
			control = a[9] == '=' ? a + 10 : argv[++i];
		} else if ((strcmp(a, "--cwd") == 0 && i + 1 < argc) || strncmp(a, "--cwd=", 6) == 0) {
			cwd_arg = a[5] == '=' ? a + 6 : argv[++i];
			if (cwd_arg[0] != '/') {
				fprintf(stderr, "husk run: --cwd wants an absolute path, not '%s'\n",
					cwd_arg);
				return 2;
			}
		} else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
			root_spec = argv[++i];
		} else if (strncmp(a, "--root=", 7) == 0) {
			root_spec = a + 7;
		} else if (a[0] != '-') {
			break;
		} else {
			fprintf(stderr, "husk run: unknown option '%s'\n", a);
			return 2;
		}
	}
	if (wait_load ? (i != argc || !control) : (i >= argc || (restore && i + 1 != argc))) {
		fprintf(stderr, restore ? "usage: husk restore [OPTIONS] SNAPSHOT\n"
					  "       husk restore [OPTIONS] --control SOCK --wait\n"
					: "usage: husk run [OPTIONS] -- PROG [ARGS...]\n");
		return 2;
	}
	env[nenv] = NULL;
	struct gf_spec spec;
	const char *why = NULL;
	int err;
	if (root_spec) {
		char *json = slurp(root_spec);
		if (!json) {
			fprintf(stderr, "husk run: --root %s: %s\n", root_spec, strerror(errno));
			return 2;
		}
		err = gf_spec_parse(json, &spec, &why);
		free(json);
		if (err) {
			fprintf(stderr, "husk run: --root %s: %s\n", root_spec, why ? why : "bad spec");
			return 2;
		}
	} else if ((err = gf_spec_default(&spec))) {
		fprintf(stderr, "husk run: %s\n", strerror(-err));
		return 125;
	}
	for (int b = 0; b < nbinds; b++) {
		if ((err = add_bind(&spec, binds[b]))) {
			fprintf(stderr, "husk run: --bind %s: %s\n", binds[b], strerror(-err));
			gf_spec_free(&spec);
			return 2;
		}
	}
	/* The gofer serves the sandbox's files from its own confined process. */
	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		fprintf(stderr, "husk run: cannot find the husk binary\n");
		gf_spec_free(&spec);
		return 125;
	}
	self[sl] = 0;
	int sock;
	pid_t gofer;
	if ((err = gf_spawn(self, &spec, &sock, &gofer))) {
		fprintf(stderr, "husk run: cannot start the gofer: %s\n", strerror(-err));
		gf_spec_free(&spec);
		return 125;
	}
	/* Like runsc do: the guest starts in the caller's directory. */
	char cwd[PATH_MAX];
	if (cwd_arg)
		cfg.cwd = cwd_arg;
	else if (getcwd(cwd, sizeof(cwd)))
		cfg.cwd = cwd;
	cfg.spec = &spec;
	cfg.gofer_sock = sock;
	cfg.gofer_pid = gofer;
	/* Published ports or egress: the sandbox gets a network link, whose
	 * host side (the gateway) listens on those ports and relays what the
	 * policy lets out. */
	pid_t gw = -1;
	if (npubs || ex_egress_any(&egress)) {
		int link;
		if ((err = ex_gateway_start(pubs, npubs, &egress, &link, &gw))) {
			fprintf(stderr, "husk run: cannot start the sandbox's gateway: %s\n",
				strerror(-err));
			close(sock);
			waitpid(gofer, NULL, 0);
			gf_spec_free(&spec);
			return 125;
		}
		cfg.net_fd = link;
	}
	/* The control socket: husk checkpoint connects to it. */
	if (control) {
		struct sockaddr_un ca = {.sun_family = AF_UNIX};
		int cs = strlen(control) < sizeof(ca.sun_path)
				 ? socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)
				 : -1;
		if (cs >= 0) {
			strcpy(ca.sun_path, control);
			/* A stale socket of an earlier run goes; anything else at
			 * that path stays (bind then fails). */
			struct stat cst;
			if (lstat(control, &cst) == 0 && S_ISSOCK(cst.st_mode))
				unlink(control);
			/* Only its owner may reach it: it dumps and ends the
			 * sandbox. */
			mode_t old = umask(077);
			int b = bind(cs, (struct sockaddr *)&ca, sizeof(ca));
			umask(old);
			if (b || listen(cs, 4)) {
				close(cs);
				cs = -1;
			}
		}
		if (cs < 0) {
			fprintf(stderr, "husk run: cannot listen on %s: %s\n", control,
				strerror(errno ? errno : ENAMETOOLONG));
			close(sock);
			waitpid(gofer, NULL, 0);
			gf_spec_free(&spec);
			return 125;
		}
		cfg.control_fd = cs;
	}
	cfg.exe = wait_load ? NULL : argv[i];
	cfg.argv = wait_load ? NULL : argv + i;
	cfg.envp = env;
	int status = 0;
	err = restore ? k_restore(&cfg, wait_load ? NULL : argv[i], &status, &why)
		      : k_run(&cfg, &status, &why);
	close(sock);
	/* (The socket's name stays: this process is confined now and may
	 * not unlink; the next run on that path replaces it.) */
	if (cfg.control_fd > 0)
		close(cfg.control_fd);
	if (gw > 0) {
		close(cfg.net_fd); /* the gateway ends with its link */
		waitpid(gw, NULL, 0);
	}
	waitpid(gofer, NULL, 0);
	gf_spec_free(&spec);
	if (err) {
		fprintf(stderr, "husk %s: %s: %s: %s\n", restore ? "restore" : "run",
			wait_load ? "(waited)" : argv[i], why ? why : "cannot run", strerror(-err));
		return err == -ENOENT ? 127 : (err == -ENOEXEC || err == -EACCES) ? 126 : 125;
	}
	return status;
}

int cmd_run(int argc, char **argv)
{
	return run_main(argc, argv, false);
}

int cmd_restore(int argc, char **argv)
{
	return run_main(argc, argv, true);
}
