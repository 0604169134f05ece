/* Spawning the stub process: fresh namespaces, an empty root, no fds but the
 * memory file, no_new_privs, and a seccomp filter that admits only syscalls
 * made from the stub's own syscall instruction. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ptrace.h"

extern const char husk_stub_begin[], husk_stub_syscall[], husk_stub_end[];

/* Where each step of the child's setup failed, as its exit status. */
enum {
	STEP_PDEATHSIG = 100, STEP_SETSID, STEP_RSEQ, STEP_FDS, STEP_MOUNT,
	STEP_PIVOT, STEP_NNP, STEP_RLIMIT, STEP_TRACEME, STEP_STUBMAP,
};

static const char *step_name(int code)
{
	static const char *names[] = {
		"pdeathsig", "setsid", "rseq unregister", "closing fds", "tmpfs root",
		"pivot_root", "no_new_privs", "rlimits", "PTRACE_TRACEME",
		"mapping the stub page",
	};
	if (code >= STEP_PDEATHSIG && code <= STEP_STUBMAP)
		return names[code - STEP_PDEATHSIG];
	return "unknown step";
}

/* The layout of the data half of the stub page. */
struct stub_data {
	struct sock_fprog prog;       /* every thread's: installed by the stub */
	struct sock_filter filter[12];
	struct sock_fprog guest_prog; /* systrap: each guest thread's, on top */
	struct sock_filter guest[20];
};
#define STUB_DATA_OFF 0x800
_Static_assert(STUB_DATA_OFF + sizeof(struct stub_data) <= STUB_SIZE, "stub data fits");

#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define JGE(k, t, f) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), (t), (f))
#define IP_LO offsetof(struct seccomp_data, instruction_pointer)
#define IP_HI (offsetof(struct seccomp_data, instruction_pointer) + 4)
#define ARG_LO(i) offsetof(struct seccomp_data, args[i])
#define ARG_HI(i) (offsetof(struct seccomp_data, args[i]) + 4)

/* The filter every thread of the stub runs under.
 * ptrace: allowed is the stub's own injection instruction only; a call
 * into the vsyscall page traps (SIGSYS, which the tracer sees: the
 * kernel's emulation is the only way to reach seccomp from a kernel-half
 * address); anything else kills the process (guest syscalls never get
 * here: PTRACE_SYSEMU stops them first).
 * systrap: allowed is any syscall made from the stub page; everything else
 * traps, for the stub's SIGSYS handler to take to the sentry. */
static void build_filter(struct stub_data *d, uint64_t data_addr, bool systrap)
{
	uint64_t ip = STUB_ADDR + (uint64_t)(husk_stub_syscall - husk_stub_begin) + 2;
	uint32_t other = systrap ? SECCOMP_RET_TRAP : SECCOMP_RET_KILL_PROCESS;
	uint32_t lo = systrap ? (uint32_t)STUB_ADDR : (uint32_t)ip;
	uint32_t hi = systrap ? (uint32_t)STUB_ADDR + STUB_SIZE : (uint32_t)ip + 1;
	struct sock_filter f[] = {
		/* 0 */ LD(offsetof(struct seccomp_data, arch)),
		/* 1 */ JEQ(AUDIT_ARCH_X86_64, 0, 9),
		/* 2 */ LD(IP_HI),
		/* 3 */ JEQ(0xffffffffU, 5, 0),
		/* 4 */ JEQ((uint32_t)(ip >> 32), 0, 6),
		/* 5 */ LD(IP_LO),
		/* 6 */ JGE(lo, 0, 4),
		/* 7 */ JGE(hi, 3, 0),
		/* 8 */ RET(SECCOMP_RET_ALLOW),
		/* 9 */ RET(SECCOMP_RET_TRAP),
		/* 10 */ RET(other), /* unused */
		/* 11 */ RET(other),
	};
	_Static_assert(sizeof(f) == sizeof(d->filter), "filter size");
	memcpy(d->filter, f, sizeof(f));
	d->prog.len = sizeof(f) / sizeof(f[0]);
	d->prog.filter = (struct sock_filter *)(data_addr + offsetof(struct stub_data, filter));

	/* systrap's guest threads add this one: from the stub page only what
	 * the handler does (futex wait and wake, the doorbell write,
	 * rt_sigreturn, exit), with a look at the arguments; any other
	 * syscall from there means the guest jumped into the stub with its
	 * own registers, and the process dies.  The guest's own syscalls
	 * trap. */
	struct sock_filter g[] = {
		/* 0 */ LD(offsetof(struct seccomp_data, arch)),
		/* 1 */ JEQ(AUDIT_ARCH_X86_64, 0, 16),
		/* 2 */ LD(IP_HI),
		/* 3 */ JEQ((uint32_t)(STUB_ADDR >> 32), 0, 14),
		/* 4 */ LD(IP_LO),
		/* 5 */ JGE((uint32_t)STUB_ADDR, 0, 12),
		/* 6 */ JGE((uint32_t)STUB_ADDR + STUB_SIZE, 11, 0),
		/* 7 */ LD(offsetof(struct seccomp_data, nr)),
		/* 8 */ JEQ(SYS_rt_sigreturn, 8, 0),
		/* 9 */ JEQ(SYS_exit, 7, 0),
		/* 10 */ JEQ(SYS_futex, 0, 3),
		/* 11 */ LD(ARG_LO(1)),
		/* 12 */ JEQ(0 /* FUTEX_WAIT */, 4, 0),
		/* 13 */ JEQ(1 /* FUTEX_WAKE */, 3, 5),
		/* 14 */ JEQ(SYS_write, 0, 4),
		/* 15 */ LD(ARG_LO(0)),
		/* 16 */ JEQ(DOORBELL_FD, 0, 2),
		/* 17 */ RET(SECCOMP_RET_ALLOW),
		/* 18 */ RET(SECCOMP_RET_TRAP),
		/* 19 */ RET(SECCOMP_RET_KILL_PROCESS),
	};
	_Static_assert(sizeof(g) == sizeof(d->guest), "guest filter size");
	memcpy(d->guest, g, sizeof(g));
	d->guest_prog.len = sizeof(g) / sizeof(g[0]);
	d->guest_prog.filter = (struct sock_filter *)(data_addr + offsetof(struct stub_data, guest));
}

uint64_t stub_guest_filter_addr(void)
{
	return STUB_ADDR + STUB_DATA_OFF + offsetof(struct stub_data, guest_prog);
}

/* Runs in the cloned child only; uses raw syscalls and never returns. */
static __attribute__((noreturn)) void stub_child(int memfd, int sysmsg, int doorbell, int fdsock)
{
	bool systrap = sysmsg >= 0;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		_exit(STEP_PDEATHSIG);
	if (setsid() < 0)
		_exit(STEP_SETSID);
	/* The rseq area glibc registered lives in memory the stub unmaps; the
	 * kernel would fault on it at the next preemption. */
	if (__rseq_size > 0) {
		/* glibc registered 32 bytes even where it reports fewer. */
		char *area = (char *)__builtin_thread_pointer() + __rseq_offset;
		if (syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0 &&
		    syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0)
			_exit(STEP_RSEQ);
	}
	/* The descriptors the stub keeps, at their fixed numbers: moved out
	 * of the way first, so that none overwrites another. */
	_Static_assert(SYSMSG_FD == STUB_MEMFD + 1 && DOORBELL_FD == STUB_MEMFD + 2 &&
			       STUB_FDSOCK == STUB_MEMFD + 3 && STUB_RECV_FD < STUB_MEMFD,
		       "the stub's descriptor numbers");
	int want[4] = {memfd, sysmsg, doorbell, fdsock};
	for (int i = 0; i < 4; i++)
		if (want[i] >= 0 && (want[i] = fcntl(want[i], F_DUPFD, STUB_MEMFD + 4)) < 0)
			_exit(STEP_FDS);
	for (int i = 0; i < 4; i++)
		if (want[i] >= 0 && dup2(want[i], STUB_MEMFD + i) != STUB_MEMFD + i)
			_exit(STEP_FDS);
	if (syscall(SYS_close_range, 0, STUB_MEMFD - 1, 0) != 0 ||
	    syscall(SYS_close_range, STUB_MEMFD + 4, ~0U, 0) != 0)
		_exit(STEP_FDS);
	for (int i = 0; i < 4; i++)
		if (want[i] < 0)
			close(STUB_MEMFD + i); /* ptrace: no slots, no doorbell */
	/* An empty, read-only root: a tiny tmpfs pivoted over the old one. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		_exit(STEP_MOUNT);
	const char *at = "/tmp";
	if (mount("husk-stub", at, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,nr_inodes=1") != 0) {
		at = "/dev";
		if (mount("husk-stub", at, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=4k,nr_inodes=1") != 0)
			_exit(STEP_MOUNT);
	}
	if (chdir(at) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 ||
	    umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
		_exit(STEP_PIVOT);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		_exit(STEP_NNP);
	struct rlimit zero = {0, 0};
	if (setrlimit(RLIMIT_CORE, &zero) != 0)
		_exit(STEP_RLIMIT);
	if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0)
		_exit(STEP_TRACEME);
	void *page = mmap((void *)STUB_ADDR, STUB_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (page != (void *)STUB_ADDR)
		_exit(STEP_STUBMAP);
	size_t code = (size_t)(husk_stub_end - husk_stub_begin);
	if (code > STUB_DATA_OFF)
		_exit(STEP_STUBMAP);
	memcpy(page, husk_stub_begin, code);
	build_filter((struct stub_data *)((char *)page + STUB_DATA_OFF), STUB_ADDR + STUB_DATA_OFF,
		     systrap);
	if (mprotect(page, STUB_SIZE, PROT_READ | PROT_EXEC) != 0)
		_exit(STEP_STUBMAP);
	/* Off we go: the stub unmaps this very code. */
	__asm__ volatile("jmp *%0" : : "r"(STUB_ADDR), "D"(STUB_ADDR + STUB_DATA_OFF) : "memory");
	__builtin_unreachable();
}

int stub_spawn(int memfd, int sysmsg, int doorbell, int fdsock, pid_t *pidp)
{
	long pid = syscall(SYS_clone,
			   CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET |
				   CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD,
			   0, 0, 0, 0);
	if (pid < 0)
		return -errno;
	if (pid == 0)
		stub_child(memfd, sysmsg, doorbell, fdsock);

	int st;
	while (waitpid((pid_t)pid, &st, __WALL) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP) {
		if (WIFEXITED(st))
			fprintf(stderr, "husk: stub setup failed: %s\n", step_name(WEXITSTATUS(st)));
		else if (WIFSIGNALED(st))
			fprintf(stderr, "husk: stub died during setup: %s\n", strsignal(WTERMSIG(st)));
		else
			fprintf(stderr, "husk: stub stopped unexpectedly: %s\n", strsignal(WSTOPSIG(st)));
		if (WIFSTOPPED(st)) {
			kill((pid_t)pid, SIGKILL);
			waitpid((pid_t)pid, &st, __WALL);
		}
		return -ECHILD;
	}
	if (ptrace(PTRACE_SETOPTIONS, (pid_t)pid, 0,
		   PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD) != 0) {
		int e = errno;
		kill((pid_t)pid, SIGKILL);
		waitpid((pid_t)pid, &st, __WALL);
		return -e;
	}
	*pidp = (pid_t)pid;
	return 0;
}
