/* The sentry confines itself once the sandbox is built: a seccomp
 * allowlist of what running a guest needs.  No open or openat (every file
 * comes through the gofer, opened before this or donated by it), no
 * execve, no new processes, no sockets.  Anything else kills the sentry,
 * and with it the sandbox (its stub dies with it, PTRACE_O_EXITKILL). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sentry.h"

static const int allowed[] = {
	/* guest execution: the platform */
	SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(kill), SCMP_SYS(tgkill),
	SCMP_SYS(sched_setaffinity), SCMP_SYS(sched_getaffinity), SCMP_SYS(sched_yield),
	SCMP_SYS(getpid), SCMP_SYS(gettid),
	/* memory: the sentry's heap, the memory file's holes and residency */
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(fallocate), SCMP_SYS(mincore),
	/* descriptors the sentry already holds: stdio, donated files, the
	 * memory file, the gofer socket */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(lseek),
	SCMP_SYS(sendfile),
	SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(fstatfs),
	SCMP_SYS(fcntl), SCMP_SYS(ioctl), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),
	/* the control socket's one connection at a time */
	SCMP_SYS(accept4),
	/* time, randomness, signals, waiting */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(getrandom), SCMP_SYS(sysinfo),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(pause), SCMP_SYS(futex), SCMP_SYS(getcpu), SCMP_SYS(sigaltstack),
	/* leaving */
	SCMP_SYS(exit_group), SCMP_SYS(exit),
};

/* The filter, compiled ahead (libseccomp takes a good part of a
 * millisecond to build it): a restore installs it as soon as it is done. */
static struct sock_filter *prog;
static unsigned short prog_len;

int k_seccomp_prepare(void)
{
	if (prog)
		return 0;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	int err = 0;
	for (size_t i = 0; i < ARRAY_LEN(allowed) && !err; i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* libseccomp 2.5 exports to a descriptor only: a pipe holds it
	 * (a few hundred instructions, far below a pipe's capacity). */
	int p[2] = {-1, -1};
	if (!err && pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
		err = -errno;
	if (!err)
		err = seccomp_export_bpf(ctx, p[1]);
	seccomp_release(ctx);
	struct sock_filter *buf = err ? NULL : malloc(BPF_MAXINSNS * sizeof(*buf));
	ssize_t n = buf ? read(p[0], buf, BPF_MAXINSNS * sizeof(*buf)) : -1;
	if (p[0] >= 0)
		close(p[0]), close(p[1]);
	if (!err && (n <= 0 || n % sizeof(*buf)))
		err = buf ? -EIO : -ENOMEM;
	if (err) {
		free(buf);
		return err;
	}
	prog = buf;
	prog_len = (unsigned short)(n / sizeof(*buf));
	return 0;
}

int k_seccomp_confine(void)
{
	int err = k_seccomp_prepare();
	if (err)
		return err;
	struct sock_fprog fp = {.len = prog_len, .filter = prog};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) != 0)
		return -errno;
	return 0;
}
