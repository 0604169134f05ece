/* husk: one binary, with a subcommand for each role. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../gofer/gofer.h"
#include "cmd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: husk COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  serve [OPTIONS]                   the node: deploy functions, serve requests\n"
		"  run [OPTIONS] -- PROG [ARGS...]   run PROG in a new sandbox\n"
		"  gofer --fd N --spec JSON          serve a sandbox's files (started by run)\n"
		"  help                              this text\n"
		"\n"
		"husk run options:\n"
		"  --platform=NAME     how guest code runs: systrap (default) or ptrace\n"
		"  --strace            print each guest syscall on stderr\n"
		"  --env K=V           set a guest environment variable (repeatable)\n"
		"  --bind HOST[:GUEST] bind a host directory read-only into the sandbox\n"
		"  --root SPEC.json    the sandbox's mounts (default: host / read-only, tmpfs /tmp)\n"
		"  --memory SIZE       guest memory limit, e.g. 512M (default 4G); over it: SIGKILL\n"
		"  --tasks N           threads and processes at once (default 1024); past it: EAGAIN\n"
		"  --hostname NAME     the sandbox's hostname (default: husk)\n"
		"  --publish H:G       relay 127.0.0.1:H on the host to the guest's port G\n"
		"  --egress POLICY     where the guest may connect: none (default), all, or\n"
		"                      CIDR,... (never the host's loopback, link-local, or\n"
		"                      the node's own ports)\n"
		"  --cwd DIR           the guest's working directory (default: the caller's)\n"
		"  --control PATH      a socket husk checkpoint can reach this sandbox by\n"
		"  --debug             log sentry events on stderr\n"
		"  --die-with-parent   end (SIGKILL) when the process that started it ends\n"
		"\n"
		"husk checkpoint --control PATH [--leave-running] [--no-compress] FILE\n"
		"  saves the sandbox husk run --control PATH runs into FILE (then it ends,\n"
		"  unless --leave-running)\n"
		"husk restore [husk run options] [--no-image] FILE\n"
		"  a new sandbox that goes on where the snapshot FILE left off\n"
		"husk restore [husk run options] --control PATH --wait\n"
		"  a sandbox started ahead, waiting for husk load to give it a snapshot\n"
		"husk load --control PATH FILE\n"
		"  hands FILE to the sandbox waiting on PATH\n"
		"\n"
		"husk serve options:\n"
		"  --api HOST:PORT     the control plane's API (default 127.0.0.1:8080)\n"
		"  --listen HOST:PORT  where functions are invoked (default 127.0.0.1:8081)\n"
		"  --state DIR         functions, snapshots and the API token (default ./var/husk)\n"
		"  --token TOKEN       the API's bearer token (default: made into DIR/token)\n"
		"  --runtimes DIR      runtime manifests (default: runtimes/ beside bin/)\n"
		"  --platform NAME     how the sandboxes run guest code\n");
}

/* bin/husk leaves the node out (cmd_serve is then NULL): husk serve is
 * bin/husk-serve beside it, with the node's libraries, which the
 * sandboxes' processes (all bin/husk) never load. */
static int exec_serve(char **argv)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);
	char *slash = n > 0 ? memrchr(self, '/', (size_t)n) : NULL;
	if (!slash) {
		fprintf(stderr, "husk: cannot find the husk binary\n");
		return 1;
	}
	strcpy(slash + 1, "husk-serve");
	execv(self, argv);
	fprintf(stderr, "husk serve: %s: %s (make builds it beside husk)\n", self, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve ? cmd_serve(argc - 1, argv + 1) : exec_serve(argv);
	if (strcmp(argv[1], "load") == 0)
		return cmd_load(argc - 1, argv + 1);
	if (strcmp(argv[1], "restore") == 0)
		return cmd_restore(argc - 1, argv + 1);
	if (strcmp(argv[1], "checkpoint") == 0)
		return cmd_checkpoint(argc - 1, argv + 1);
	if (strcmp(argv[1], "gofer") == 0)
		return gofer_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "husk: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
