/* The ptrace platform: each address space is a stub process, guest syscalls
 * stop it through PTRACE_SYSEMU (so the host never runs them), and the
 * sentry changes its mappings by injecting syscalls at the stub's own
 * syscall instruction. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ptrace.h"

extern const char husk_stub_begin[], husk_stub_syscall[];

/* The signal pf_ctx_interrupt sends; a traced process reports it to us. */
#define INTERRUPT_SIG SIGSTOP

uint64_t pf_guest_min(void) { return 0x10000; }
uint64_t pf_guest_max(void) { return STUB_ADDR; }

static int wait_stop(pid_t tid, int *st)
{
	while (waitpid(tid, st, __WALL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void mark_dead(struct pf_as *as, int st)
{
	as->dead = true;
	as->wait_status = st;
}

static long inject(struct pf_as *as, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		   uint64_t a3, uint64_t a4, uint64_t a5);

/* The zygote: the sandbox's first stub, which never runs guest code.
 * Every address space is a fork of it made by an injected clone, so a new
 * one needs no host clone of the sentry's (which its seccomp filter
 * forbids), starts with nothing but the stub page, and shares the
 * sandbox's namespaces.  It is the pid namespace's init. */
static struct pf_as *zygote;
static int zygote_memfd = -1;

#define SCRATCH 0x10000UL

static void reap(pid_t pid)
{
	int st;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, __WALL) >= 0 && !WIFEXITED(st) && !WIFSIGNALED(st))
		;
}

static int zygote_start(int memfd)
{
	if (zygote)
		return zygote_memfd == memfd ? 0 : -EBUSY;
	struct pf_as *z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	int err = stub_spawn(memfd, &z->pid);
	if (err) {
		free(z);
		return err;
	}
	if (ptrace(PTRACE_GETREGS, z->pid, 0, &z->tmpl) != 0 ||
	    ptrace(PTRACE_SETOPTIONS, z->pid, 0,
		   PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK) != 0) {
		err = -errno;
		reap(z->pid);
		free(z);
		return err;
	}
	/* SIGCHLD ignored in the zygote: the stubs it forks are reaped as
	 * soon as the sentry, their tracer, has seen them exit. */
	long r = inject(z, SYS_mmap, SCRATCH, PAGE_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, (uint64_t)-1, 0);
	if (r == (long)SCRATCH) {
		/* struct kernel_sigaction: handler SIG_IGN, flags, restorer, mask */
		ptrace(PTRACE_POKEDATA, z->pid, SCRATCH, (void *)(uintptr_t)SIG_IGN);
		for (int i = 1; i < 4; i++)
			ptrace(PTRACE_POKEDATA, z->pid, SCRATCH + 8 * (uint64_t)i, 0);
		r = inject(z, SYS_rt_sigaction, SIGCHLD, SCRATCH, 0, 8, 0, 0);
		inject(z, SYS_munmap, SCRATCH, PAGE_SIZE, 0, 0, 0, 0);
	}
	if (r < 0) {
		reap(z->pid);
		free(z);
		return (int)r;
	}
	zygote = z;
	zygote_memfd = memfd;
	return 0;
}

void pf_shutdown(void)
{
	if (zygote) {
		reap(zygote->pid);
		free(zygote);
		zygote = NULL;
		zygote_memfd = -1;
	}
}

/* Forks the zygote: the child stops at once (auto-attached, SIGSTOP). */
static int zygote_fork(pid_t *child)
{
	struct pf_as *z = zygote;
	pf_regs r = z->tmpl;
	r.rip = STUB_ADDR + (uint64_t)(husk_stub_syscall - husk_stub_begin);
	r.rax = SYS_clone;
	r.orig_rax = (uint64_t)-1;
	r.rdi = SIGCHLD, r.rsi = 0, r.rdx = 0, r.r10 = 0, r.r8 = 0;
	if (ptrace(PTRACE_SETREGS, z->pid, 0, &r) != 0 || ptrace(PTRACE_CONT, z->pid, 0, 0) != 0)
		return -errno;
	unsigned long pid = 0;
	for (;;) {
		int st, err = wait_stop(z->pid, &st);
		if (err)
			return err;
		if (!WIFSTOPPED(st))
			return -ESRCH;
		if ((st >> 8) == (SIGTRAP | (PTRACE_EVENT_FORK << 8))) {
			if (ptrace(PTRACE_GETEVENTMSG, z->pid, 0, &pid) != 0)
				return -errno;
			ptrace(PTRACE_CONT, z->pid, 0, 0);
			continue;
		}
		if (WSTOPSIG(st) == SIGTRAP)
			break; /* the int3 after the syscall */
		ptrace(PTRACE_CONT, z->pid, 0, 0);
	}
	if (ptrace(PTRACE_GETREGS, z->pid, 0, &r) != 0)
		return -errno;
	if ((long)r.rax < 0)
		return (int)r.rax;
	if (!pid)
		return -ECHILD;
	int st, err = wait_stop((pid_t)pid, &st);
	if (err)
		return err;
	if (!WIFSTOPPED(st)) {
		return -ECHILD;
	}
	*child = (pid_t)pid;
	return 0;
}

int pf_as_new(int memfd, struct pf_as **out)
{
	int err = zygote_start(memfd);
	if (err)
		return err;
	struct pf_as *as = calloc(1, sizeof(*as));
	if (!as)
		return -ENOMEM;
	if ((err = zygote_fork(&as->pid))) {
		free(as);
		return err;
	}
	if (ptrace(PTRACE_GETREGS, as->pid, 0, &as->tmpl) != 0) {
		err = -errno;
		reap(as->pid);
		free(as);
		return err;
	}
	*out = as;
	return 0;
}

void pf_as_free(struct pf_as *as)
{
	if (!as)
		return;
	if (!as->dead)
		reap(as->pid);
	free(as);
}

/* Runs one syscall in the stub and returns its result (or -errno). */
static long inject(struct pf_as *as, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		   uint64_t a3, uint64_t a4, uint64_t a5)
{
	if (as->dead)
		return -ESRCH;
	pf_regs r = as->tmpl;
	r.rip = STUB_ADDR + (uint64_t)(husk_stub_syscall - husk_stub_begin);
	r.rax = (uint64_t)nr;
	r.orig_rax = (uint64_t)-1;
	r.rdi = a0, r.rsi = a1, r.rdx = a2, r.r10 = a3, r.r8 = a4, r.r9 = a5;
	if (ptrace(PTRACE_SETREGS, as->pid, 0, &r) != 0 || ptrace(PTRACE_CONT, as->pid, 0, 0) != 0)
		return -errno;
	for (;;) {
		int st, err = wait_stop(as->pid, &st);
		if (err)
			return err;
		if (!WIFSTOPPED(st)) {
			mark_dead(as, st);
			return -ESRCH;
		}
		int sig = WSTOPSIG(st);
		if (sig == SIGTRAP)
			break;
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) {
			/* A fault inside the stub itself: it is broken. */
			kill(as->pid, SIGKILL);
			return -EFAULT;
		}
		/* An interrupt raced with the injection: report it on the
		 * next run, and let the injected syscall go on. */
		as->interrupt_pending = true;
		if (ptrace(PTRACE_CONT, as->pid, 0, 0) != 0)
			return -errno;
	}
	if (ptrace(PTRACE_GETREGS, as->pid, 0, &r) != 0)
		return -errno;
	return (long)r.rax;
}

int pf_as_map(struct pf_as *as, uint64_t addr, uint64_t len, int prot, uint64_t off)
{
	long r = inject(as, SYS_mmap, addr, len, (uint64_t)prot, MAP_SHARED | MAP_FIXED,
			STUB_MEMFD, off);
	return r < 0 ? (int)r : 0;
}

int pf_as_reserve(struct pf_as *as, uint64_t addr, uint64_t len)
{
	long r = inject(as, SYS_mmap, addr, len, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, (uint64_t)-1, 0);
	return r < 0 ? (int)r : 0;
}

int pf_as_unmap(struct pf_as *as, uint64_t addr, uint64_t len)
{
	return (int)inject(as, SYS_munmap, addr, len, 0, 0, 0, 0);
}

int pf_as_protect(struct pf_as *as, uint64_t addr, uint64_t len, int prot)
{
	return (int)inject(as, SYS_mprotect, addr, len, (uint64_t)prot, 0, 0, 0);
}

int pf_ctx_new(struct pf_as *as, struct pf_ctx **out)
{
	/* One host thread per address space for now; guest threads need stub
	 * threads of their own. */
	if (as->ctx_taken)
		return -EAGAIN;
	struct pf_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->as = as;
	c->tid = as->pid;
	c->bound_cpu = -1;
	as->ctx_taken = true;
	*out = c;
	return 0;
}

void pf_ctx_free(struct pf_ctx *ctx)
{
	if (!ctx)
		return;
	ctx->as->ctx_taken = false;
	free(ctx);
}

void pf_regs_init(pf_regs *r, const struct pf_as *as)
{
	memset(r, 0, sizeof(*r));
	r->cs = as->tmpl.cs;
	r->ss = as->tmpl.ss;
	r->ds = as->tmpl.ds;
	r->es = as->tmpl.es;
	r->eflags = 0x202; /* IF, and the always-one bit */
	r->orig_rax = (uint64_t)-1;
}

int pf_ctx_run(struct pf_ctx *ctx, pf_regs *regs, struct pf_event *ev)
{
	struct pf_as *as = ctx->as;
	memset(ev, 0, sizeof(*ev));
	if (as->dead) {
		ev->kind = PF_DEAD;
		ev->status = as->wait_status;
		return 0;
	}
	if (as->interrupt_pending) {
		as->interrupt_pending = false;
		ev->kind = PF_INTERRUPT;
		return 0;
	}
	/* Keep the stub on the sentry thread's CPU: each stop then wakes the
	 * tracer without a cross-CPU interrupt (gVisor's ptrace does the same). */
	int cpu = sched_getcpu();
	if (cpu >= 0 && cpu != ctx->bound_cpu) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(ctx->tid, sizeof(set), &set) == 0)
			ctx->bound_cpu = cpu;
	}
	/* orig_rax -1: the host must never treat the resume as a syscall
	 * restart. */
	regs->orig_rax = (uint64_t)-1;
	if (ptrace(PTRACE_SETREGS, ctx->tid, 0, regs) != 0)
		return -errno;
	if (ptrace(PTRACE_SYSEMU, ctx->tid, 0, 0) != 0)
		return -errno;
	int st, err = wait_stop(ctx->tid, &st);
	if (err)
		return err;
	if (!WIFSTOPPED(st)) {
		mark_dead(as, st);
		ev->kind = PF_DEAD;
		ev->status = st;
		return 0;
	}
	if (ptrace(PTRACE_GETREGS, ctx->tid, 0, regs) != 0)
		return -errno;
	int sig = WSTOPSIG(st);
	if (sig == (SIGTRAP | 0x80)) {
		/* `syscall` leaves the return address in rcx; int 0x80 and
		 * sysenter do not.  Either way the host did not run it. */
		ev->kind = regs->rcx == regs->rip ? PF_SYSCALL : PF_SYSCALL32;
		return 0;
	}
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, ctx->tid, 0, &si) != 0)
		return -errno;
	if (sig == SIGSYS && si.si_code == 1 /* SYS_SECCOMP */ &&
	    (uint64_t)si.si_call_addr >= 0xffffffffff600000UL &&
	    (uint64_t)si.si_call_addr < 0xffffffffff601000UL) {
		/* A call into the vsyscall page: the kernel already returned to
		 * the caller; si_syscall names the syscall the sentry must do. */
		ev->kind = PF_SYSCALL;
		regs->orig_rax = (uint64_t)si.si_syscall;
		return 0;
	}
	bool sync = si.si_code > 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
				       sig == SIGFPE || sig == SIGTRAP);
	if (sync) {
		ev->kind = PF_FAULT;
		ev->signo = sig;
		ev->code = si.si_code;
		ev->addr = (uint64_t)si.si_addr;
	} else {
		/* Our interrupt, or a signal someone on the host sent to the
		 * stub: either way it is suppressed, never seen by the guest. */
		ev->kind = PF_INTERRUPT;
	}
	return 0;
}

int pf_ctx_get_fpregs(struct pf_ctx *ctx, pf_fpregs *fp)
{
	return ptrace(PTRACE_GETFPREGS, ctx->tid, 0, fp) == 0 ? 0 : -errno;
}

int pf_ctx_set_fpregs(struct pf_ctx *ctx, const pf_fpregs *fp)
{
	return ptrace(PTRACE_SETFPREGS, ctx->tid, 0, fp) == 0 ? 0 : -errno;
}

void pf_ctx_interrupt(struct pf_ctx *ctx)
{
	syscall(SYS_tgkill, ctx->as->pid, ctx->tid, INTERRUPT_SIG);
}

uint64_t pf_ctx_cputime_ns(struct pf_ctx *ctx)
{
	/* The stub's process CPU clock (Linux's MAKE_PROCESS_CPUCLOCK with
	 * CPUCLOCK_SCHED): another process's thread clocks are not readable. */
	clockid_t id = (clockid_t)((~(unsigned)ctx->as->pid << 3) | 2);
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int pf_select(const char *name)
{
	return strcmp(name, "ptrace") == 0 ? 0 : -EINVAL;
}

const char *pf_name(void)
{
	return "ptrace";
}
