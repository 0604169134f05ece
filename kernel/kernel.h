/* kernel: the sentry.  Every syscall a guest makes is implemented here; the
 * guest's memory, tasks and files are the sentry's objects.  This header is
 * the whole interface other folders see. */
#ifndef HUSK_KERNEL_H
#define HUSK_KERNEL_H

#include <stdbool.h>

struct gf_spec;

struct k_config {
	const char *platform;    /* "ptrace" */
	const char *exe;         /* the program: a guest path, or a name to find on PATH */
	const struct gf_spec *spec; /* the sandbox's mounts (NULL: an empty tmpfs root) */
	int gofer_sock;          /* connected to the sandbox's gofer (> 2), or 0 */
	int gofer_pid;           /* its process (moved to the sentry's CPU), or 0 */
	const char *cwd;         /* the guest's working directory (NULL: "/") */
	char *const *argv;       /* guest argv (argv[0] is shown to the guest) */
	char *const *envp;       /* guest environment */
	int stdio[3];            /* host fds backing guest fds 0, 1, 2 */
	bool strace;             /* print every guest syscall on strace_fd */
	int strace_fd;
	const char *hostname;    /* the sandbox's uname nodename */
	bool debug;              /* log sentry events (unknown syscalls, ...) */
	unsigned long long memory_limit; /* bytes of guest memory; 0: none */
	int max_tasks;           /* threads and processes at once; 0: the default */
	int net_fd;              /* the sandbox's packet link (a SOCK_SEQPACKET end, > 2),
				  * or 0: loopback only */
	int control_fd;          /* a listening SOCK_SEQPACKET unix socket (> 2) its
				  * controller connects to (checkpoint), or 0: none */
	bool restore_eager;      /* k_restore copies memory in instead of mapping the
				  * snapshot's memory image */
};

/* The sandbox's network, as its link's two ends see it: the guest at
 * 10.0.2.15/24, the host side (gateway) at 10.0.2.2; packets up to the
 * MTU, one per datagram of the link. */
#define K_NET_GUEST 0x0a00020fu
#define K_NET_GATEWAY 0x0a000202u
#define K_NET_PREFIX 24
#define K_NET_MTU 65520

/* Boots a sandbox running cfg->exe and runs it to the end.  Returns 0 and
 * sets *status to what a shell would report (exit code, or 128+signal), or
 * returns a negative errno if the sandbox could not start; *why then says
 * what failed. */
int k_run(const struct k_config *cfg, int *status, const char **why);

/* The same for a sandbox saved by a checkpoint: cfg as for k_run (its
 * exe, argv and envp unused), the snapshot file at path.  The sandbox
 * goes on where the snapshot left it. */
int k_restore(const struct k_config *cfg, const char *path, int *status, const char **why);

/* The Linux release the guest sees in uname(2). */
#define K_UTS_RELEASE "4.4.0"
#define K_UTS_VERSION "#1 SMP Sun Jan 10 15:06:54 PST 2016"

#endif
