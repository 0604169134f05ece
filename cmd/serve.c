/* husk serve: the node.  The control plane's API and the data plane's
 * router, with the state (functions, their snapshots, the API's token)
 * in a directory of its own; SIGINT or SIGTERM stops it, its instances
 * first. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../api/api.h"
#include "../executor/executor.h"
#include "cmd.h"

static struct ex_node *the_node;

static void on_signal(int sig)
{
	(void)sig;
	if (the_node)
		ex_node_stop(the_node);
}

/* "HOST:PORT" (an IPv4 address). */
static int addr_parse(const char *s, char *host, size_t size, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	if (!colon || colon == s || (size_t)(colon - s) >= size)
		return -1;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || p > 65535)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	*port = (uint16_t)p;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: husk serve [--api HOST:PORT] [--listen HOST:PORT] [--state DIR]\n"
			"                  [--token TOKEN] [--runtimes DIR] [--platform NAME]\n");
	return 2;
}

int cmd_serve(int argc, char **argv)
{
	const char *api_addr = "127.0.0.1:8080", *listen_addr = "127.0.0.1:8081";
	const char *state = "./var/husk", *token_arg = NULL, *runtimes = NULL, *platform = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--api") && v)
			api_addr = argv[++i];
		else if (!strcmp(a, "--listen") && v)
			listen_addr = argv[++i];
		else if (!strcmp(a, "--state") && v)
			state = argv[++i];
		else if (!strcmp(a, "--token") && v)
			token_arg = argv[++i];
		else if (!strcmp(a, "--runtimes") && v)
			runtimes = argv[++i];
		else if (!strcmp(a, "--platform") && v)
			platform = argv[++i];
		else
			return usage();
	}
	char api_host[64], listen_host[64];
	uint16_t aport, listen_port;
	if (addr_parse(api_addr, api_host, sizeof(api_host), &aport) ||
	    addr_parse(listen_addr, listen_host, sizeof(listen_host), &listen_port)) {
		fprintf(stderr, "husk serve: --api and --listen want HOST:PORT\n");
		return 2;
	}
	/* The runtimes beside the binary (bin/husk: ../runtimes) by default. */
	char self[PATH_MAX], rt[PATH_MAX + 32];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		fprintf(stderr, "husk serve: cannot find the husk binary\n");
		return 1;
	}
	self[sl] = 0;
	if (!runtimes) {
		char dir[PATH_MAX];
		memcpy(dir, self, (size_t)sl + 1);
		char *slash = strrchr(dir, '/');
		*slash = 0;
		snprintf(rt, sizeof(rt), "%s/../runtimes", dir);
		runtimes = rt;
	}
	/* Each client connection and each request to an instance is a
	 * descriptor: as many as the host lets this process have. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	char why[512];
	/* Sandboxes are bin/husk beside this binary (without the node's
	 * libraries), or this binary where there is none. */
	char lean[PATH_MAX + 8];
	memcpy(lean, self, (size_t)sl + 1);
	char *base = strrchr(lean, '/');
	strcpy(base + 1, "husk");
	const char *husk = access(lean, X_OK) == 0 ? lean : self;
	struct ex_node_config cfg = {.state_dir = state, .listen_host = listen_host,
				     .listen_port = listen_port, .runtimes_dir = runtimes,
				     .husk = husk, .platform = platform, .api_port = aport};
	struct ex_node *node;
	int err = ex_node_open(&cfg, &node, why, sizeof(why));
	if (err) {
		fprintf(stderr, "husk serve: %s\n", why);
		return 1;
	}
	char token[300];
	if ((err = api_token(state, token_arg, token, sizeof(token), why, sizeof(why)))) {
		fprintf(stderr, "husk serve: %s\n", why);
		ex_node_free(node);
		return 1;
	}
	struct api_config ac = {.host = api_host, .port = aport, .token = token};
	struct api *api;
	if ((err = api_start(&ac, node, &api, why, sizeof(why)))) {
		fprintf(stderr, "husk serve: %s\n", why);
		ex_node_free(node);
		return 1;
	}
	the_node = node;
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("husk serve: api on http://%s:%u (token in %s/token), functions on http://%s:%u\n",
	       api_host, api_port(api), state, listen_host, ex_node_listen_port(node));
	fflush(stdout);
	ex_node_run(node);
	api_stop(api);
	ex_node_free(node);
	return 0;
}
