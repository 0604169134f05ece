/* Signals: dispositions, masks, the alternate stack, sending to oneself,
 * and delivery — the default action, or a handler entered through an
 * rt_sigframe laid out exactly as Linux's x86-64 setup_rt_frame does. */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "../sentry.h"

/* Kernel ABI values glibc's headers do not export. */
#define SS_AUTODISARM (1U << 31)
#define SA_RESTORER 0x04000000
/* Linux's MINSIGSTKSZ for x86-64 sigaltstack checks. */
#define K_MINSIGSTKSZ 2048UL

/* The sa_flags Linux keeps (UAPI_SA_FLAGS); others read back as clear. */
#define SA_KNOWN \
	(SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | 0x800 /* SA_EXPOSE_TAGBITS */ | SA_ONSTACK | \
	 SA_RESTART | SA_NODEFER | SA_RESETHAND | SA_RESTORER)

#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))

enum sigdefault { SD_TERM, SD_CORE, SD_IGNORE, SD_STOP };

static enum sigdefault default_action(int sig)
{
	switch (sig) {
	case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
	case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS:
		return SD_CORE;
	case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH:
		return SD_IGNORE;
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return SD_STOP;
	default:
		return SD_TERM;
	}
}

static bool valid_sig(uint64_t sig)
{
	return sig >= 1 && sig <= K_NSIG;
}

SYSCALL(rt_sigaction)
{
	uint64_t sig = (uint64_t)(int)a[0]; /* an int in Linux's prototype */
	if (a[3] != sizeof(uint64_t))
		return -EINVAL;
	struct k_sigaction act;
	if (a[1] && k_copy_in(t, &act, a[1], sizeof(act)))
		return -EFAULT;
	if (!valid_sig(sig) || (a[1] && (sig == SIGKILL || sig == SIGSTOP)))
		return -EINVAL;
	struct k_sigaction old = t->tg->act[sig];
	if (a[1]) {
		act.mask &= ~UNBLOCKABLE;
		act.flags &= SA_KNOWN;
		t->tg->act[sig] = act;
		/* Setting SIG_IGN, or SIG_DFL on an ignored-by-default signal,
		 * discards what is pending. */
		if (act.handler == (uint64_t)SIG_IGN ||
		    (act.handler == (uint64_t)SIG_DFL && default_action((int)sig) == SD_IGNORE))
			t->pending &= ~SIGBIT(sig);
	}
	if (a[2] && k_copy_out(t, a[2], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

SYSCALL(rt_sigprocmask)
{
	int how = (int)a[0];
	if (a[3] != sizeof(uint64_t))
		return -EINVAL;
	uint64_t old = t->sigmask;
	if (a[1]) {
		uint64_t set;
		if (k_copy_in(t, &set, a[1], sizeof(set)))
			return -EFAULT;
		set &= ~UNBLOCKABLE;
		switch (how) {
		case SIG_BLOCK: t->sigmask |= set; break;
		case SIG_UNBLOCK: t->sigmask &= ~set; break;
		case SIG_SETMASK: t->sigmask = set; break;
		default: return -EINVAL;
		}
	}
	if (a[2] && k_copy_out(t, a[2], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

SYSCALL(rt_sigpending)
{
	if (a[1] > sizeof(uint64_t))
		return -EINVAL;
	uint64_t set = t->pending & t->sigmask;
	return k_copy_out(t, a[0], &set, a[1]);
}

/* The guest's stack_t. */
struct k_stack {
	uint64_t sp;
	int32_t flags;
	int32_t pad;
	uint64_t size;
};

static bool on_altstack(const struct k_task *t, uint64_t sp)
{
	return t->sas_size && sp > t->sas_sp && sp - t->sas_sp <= t->sas_size;
}

static struct k_stack altstack_info(const struct k_task *t)
{
	struct k_stack s = {.sp = t->sas_sp, .size = t->sas_size, .flags = t->sas_flags};
	if (!t->sas_size)
		s.flags = SS_DISABLE;
	else if (on_altstack(t, t->regs.rsp))
		s.flags = SS_ONSTACK;
	return s;
}

static long set_altstack(struct k_task *t, const struct k_stack *ss)
{
	if (on_altstack(t, t->regs.rsp))
		return -EPERM;
	int mode = (int)((unsigned)ss->flags & ~SS_AUTODISARM);
	if (mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0)
		return -EINVAL;
	if (mode == SS_DISABLE) {
		t->sas_sp = t->sas_size = 0;
		t->sas_flags = 0;
		return 0;
	}
	if (ss->size < K_MINSIGSTKSZ)
		return -ENOMEM;
	t->sas_sp = ss->sp;
	t->sas_size = ss->size;
	t->sas_flags = (int)((unsigned)ss->flags & SS_AUTODISARM);
	return 0;
}

SYSCALL(sigaltstack)
{
	struct k_stack old = altstack_info(t), ss;
	if (a[0]) {
		if (k_copy_in(t, &ss, a[0], sizeof(ss)))
			return -EFAULT;
		long r = set_altstack(t, &ss);
		if (r)
			return r;
	}
	if (a[1] && k_copy_out(t, a[1], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

static void queue(struct k_task *t, int sig, int code, uint64_t addr, int from_pid)
{
	t->pending |= SIGBIT(sig);
	siginfo_t *si = &t->siginfo[sig];
	memset(si, 0, sizeof(*si));
	si->si_signo = sig;
	si->si_code = code;
	if (code > 0) {
		si->si_addr = (void *)addr;
	} else {
		si->si_pid = from_pid;
		si->si_uid = t->tg->uid;
	}
}

void task_signal(struct k_task *t, int sig, int code, uint64_t addr)
{
	/* A synchronous fault cannot be blocked or ignored: like Linux's
	 * force_sig, unblock it and fall back to the default action. */
	struct k_sigaction *act = &t->tg->act[sig];
	if ((t->sigmask & SIGBIT(sig)) || act->handler == (uint64_t)SIG_IGN) {
		t->sigmask &= ~SIGBIT(sig);
		act->handler = (uint64_t)SIG_DFL;
	}
	queue(t, sig, code, addr, 0);
}

/* Sends sig to the one thread group there is; pid checks are the caller's. */
static long send_self(struct k_task *t, uint64_t sig, int code)
{
	if (sig == 0)
		return 0;
	if (!valid_sig(sig))
		return -EINVAL;
	struct k_sigaction *act = &t->tg->act[sig];
	if (act->handler == (uint64_t)SIG_IGN ||
	    (act->handler == (uint64_t)SIG_DFL && default_action((int)sig) == SD_IGNORE))
		return 0;
	queue(t, (int)sig, code, 0, t->tg->pid);
	return 0;
}

void k_signal_host(struct k_task *t, int sig)
{
	send_self(t, (uint64_t)sig, SI_KERNEL);
}

void task_send(struct k_task *t, int sig, int code)
{
	send_self(t, (uint64_t)sig, code);
}

SYSCALL(kill)
{
	int pid = (int)a[0];
	uint64_t sig = (uint64_t)(int)a[1];
	/* kill(-1) signals every process but the caller: there is none. */
	if (pid == -1)
		return !valid_sig(sig) && sig != 0 ? -EINVAL : -ESRCH;
	if (pid != t->tg->pid && pid != 0 && pid != -t->tg->pgid)
		return -ESRCH;
	if (!valid_sig(sig) && sig != 0)
		return -EINVAL;
	return send_self(t, sig, SI_USER);
}

SYSCALL(tgkill)
{
	int tgid = (int)a[0], tid = (int)a[1];
	uint64_t sig = (uint64_t)(int)a[2];
	if (tgid <= 0 || tid <= 0)
		return -EINVAL;
	if (tgid != t->tg->pid || tid != t->tid)
		return -ESRCH;
	if (!valid_sig(sig) && sig != 0)
		return -EINVAL;
	return send_self(t, sig, SI_TKILL);
}

SYSCALL(tkill)
{
	int tid = (int)a[0];
	uint64_t sig = (uint64_t)(int)a[1];
	if (tid <= 0)
		return -EINVAL;
	if (tid != t->tid)
		return -ESRCH;
	if (!valid_sig(sig) && sig != 0)
		return -EINVAL;
	return send_self(t, sig, SI_TKILL);
}

/* ---- delivery ---- */

struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate;
	uint64_t reserved[8];
};

struct k_ucontext {
	uint64_t flags;
	uint64_t link;
	struct k_stack stack;
	struct k_sigcontext mcontext;
	uint64_t sigmask;
};

struct k_rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	siginfo_t info;
};

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
/* The flags a signal handler may change: Linux's FIX_EFLAGS. */
#define FIX_EFLAGS 0x40dd5UL
#define FP_SIZE 512

/* Interrupted syscalls report these until delivery decides (Linux's
 * internal restart codes). */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

static void restart_syscall(struct k_task *t, bool handler, uint64_t sa_flags)
{
	if (!t->in_syscall)
		return;
	long r = (long)t->regs.rax;
	bool restart;
	switch (-r) {
	case ERESTARTNOHAND:
	case ERESTART_RESTARTBLOCK:
		restart = !handler;
		break;
	case ERESTARTSYS:
		restart = !handler || (sa_flags & SA_RESTART);
		break;
	case ERESTARTNOINTR:
		restart = true;
		break;
	default:
		return;
	}
	if (restart) {
		t->regs.rax = -r == ERESTART_RESTARTBLOCK ? t->restart_nr : t->syscall_nr;
		t->regs.rip -= 2;
	} else {
		t->regs.rax = (uint64_t)-EINTR;
	}
}

static int setup_frame(struct k_task *t, int sig, struct k_sigaction *act)
{
	pf_regs *r = &t->regs;
	uint64_t sp = r->rsp;
	struct k_stack stack = altstack_info(t);
	if ((act->flags & SA_ONSTACK) && t->sas_size && !on_altstack(t, sp)) {
		sp = t->sas_sp + t->sas_size;
		if ((unsigned)t->sas_flags & SS_AUTODISARM)
			t->sas_sp = t->sas_size = 0;
	} else {
		sp -= 128; /* the red zone */
	}
	if (!(act->flags & SA_RESTORER))
		return -EFAULT;
	pf_fpregs fp;
	if (pf_ctx_get_fpregs(t->ctx, &fp))
		return -EFAULT;
	uint64_t fpaddr = (sp - FP_SIZE) & ~63UL;
	uint64_t frame = ((fpaddr - sizeof(struct k_rt_sigframe)) & ~15UL) - 8;
	struct k_rt_sigframe f;
	memset(&f, 0, sizeof(f));
	f.pretcode = act->restorer;
	f.uc.flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f.uc.stack = stack;
	struct k_sigcontext *c = &f.uc.mcontext;
	c->r8 = r->r8, c->r9 = r->r9, c->r10 = r->r10, c->r11 = r->r11;
	c->r12 = r->r12, c->r13 = r->r13, c->r14 = r->r14, c->r15 = r->r15;
	c->rdi = r->rdi, c->rsi = r->rsi, c->rbp = r->rbp, c->rbx = r->rbx;
	c->rdx = r->rdx, c->rax = r->rax, c->rcx = r->rcx, c->rsp = r->rsp;
	c->rip = r->rip, c->eflags = r->eflags;
	c->cs = (uint16_t)r->cs, c->ss = (uint16_t)r->ss;
	siginfo_t *si = &t->siginfo[sig];
	if (si->si_code > 0 && (sig == SIGSEGV || sig == SIGBUS)) {
		c->cr2 = (uint64_t)si->si_addr;
		c->trapno = 14;
		c->err = t->fault_err;
	}
	/* After rt_sigsuspend the handler returns to the caller's mask. */
	uint64_t oldmask = t->has_saved_sigmask ? t->saved_sigmask : t->sigmask;
	c->oldmask = oldmask;
	c->fpstate = fpaddr;
	f.uc.sigmask = oldmask;
	f.info = *si;
	if (k_copy_out(t, fpaddr, &fp, sizeof(fp)) || k_copy_out(t, frame, &f, sizeof(f)))
		return -EFAULT;
	r->rip = act->handler;
	r->rsp = frame;
	r->rdi = (uint64_t)sig;
	r->rsi = frame + offsetof(struct k_rt_sigframe, info);
	r->rdx = frame + offsetof(struct k_rt_sigframe, uc);
	r->rax = 0;
	r->eflags &= ~(0x100UL | 0x400UL | 0x10000UL); /* TF, DF, RF */
	/* Handlers start with a clean FPU, as after Linux's fpu__clear. */
	pf_fpregs clean = {.cwd = 0x37f, .mxcsr = 0x1f80};
	pf_ctx_set_fpregs(t->ctx, &clean);
	return 0;
}

SYSCALL(rt_sigreturn)
{
	(void)a;
	uint64_t frame = t->regs.rsp - 8;
	struct k_rt_sigframe f;
	if (k_copy_in(t, &f, frame, sizeof(f))) {
		task_signal(t, SIGSEGV, SI_KERNEL, 0);
		return (long)t->regs.rax;
	}
	struct k_sigcontext *c = &f.uc.mcontext;
	pf_regs *r = &t->regs;
	r->r8 = c->r8, r->r9 = c->r9, r->r10 = c->r10, r->r11 = c->r11;
	r->r12 = c->r12, r->r13 = c->r13, r->r14 = c->r14, r->r15 = c->r15;
	r->rdi = c->rdi, r->rsi = c->rsi, r->rbp = c->rbp, r->rbx = c->rbx;
	r->rdx = c->rdx, r->rax = c->rax, r->rcx = c->rcx, r->rsp = c->rsp;
	r->rip = c->rip;
	r->eflags = (r->eflags & ~FIX_EFLAGS) | (c->eflags & FIX_EFLAGS);
	/* cs and ss stay the 64-bit user segments whatever the frame says. */
	t->sigmask = f.uc.sigmask & ~UNBLOCKABLE;
	if (c->fpstate) {
		pf_fpregs fp;
		if (k_copy_in(t, &fp, c->fpstate, sizeof(fp))) {
			task_signal(t, SIGSEGV, SI_KERNEL, 0);
			return (long)r->rax;
		}
		fp.mxcsr &= 0xffff; /* reserved MXCSR bits would fault the host */
		pf_ctx_set_fpregs(t->ctx, &fp);
	}
	set_altstack(t, &f.uc.stack);
	t->in_syscall = false; /* nothing to restart */
	t->restart_nr = 0;     /* and no interrupted sleep to resume */
	return (long)r->rax;
}

void signal_deliver(struct k_task *t)
{
	uint64_t ready = t->pending & ~t->sigmask;
	while (ready && !t->tg->exiting) {
		/* Synchronous faults first, then the lowest number, as Linux. */
		int sig = 0;
		const int sync[] = {SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS};
		for (size_t i = 0; i < ARRAY_LEN(sync) && !sig; i++)
			if (ready & SIGBIT(sync[i]))
				sig = sync[i];
		if (!sig)
			sig = __builtin_ctzll(ready) + 1;
		t->pending &= ~SIGBIT(sig);
		ready &= ~SIGBIT(sig);
		struct k_sigaction *act = &t->tg->act[sig];
		if (act->handler == (uint64_t)SIG_IGN)
			continue;
		if (act->handler == (uint64_t)SIG_DFL) {
			enum sigdefault d = default_action(sig);
			if (d == SD_IGNORE || d == SD_STOP)
				continue; /* no job control in the sandbox yet */
			task_exit_group(t, 128 + sig);
			return;
		}
		restart_syscall(t, true, act->flags);
		t->in_syscall = false;
		struct k_sigaction used = *act;
		if (act->flags & SA_RESETHAND)
			act->handler = (uint64_t)SIG_DFL;
		if (setup_frame(t, sig, &used) != 0) {
			/* No room for the frame: Linux's force_sigsegv. */
			t->tg->act[SIGSEGV].handler = (uint64_t)SIG_DFL;
			task_exit_group(t, 128 + SIGSEGV);
			return;
		}
		t->has_saved_sigmask = false;
		t->sigmask |= used.mask;
		if (!(used.flags & SA_NODEFER))
			t->sigmask |= SIGBIT(sig);
		return; /* one frame at a time; the rest after the handler runs */
	}
	restart_syscall(t, false, 0);
	t->in_syscall = false;
	if (t->has_saved_sigmask) {
		/* No handler ran: rt_sigsuspend restarts from the caller's mask. */
		t->sigmask = t->saved_sigmask;
		t->has_saved_sigmask = false;
	}
}

SYSCALL(pause)
{
	/* Only a signal ends it: the waiting is done in the sentry. */
	if (!(t->pending & ~t->sigmask))
		k_wait_host_signal(CLOCK_MONOTONIC, NULL);
	return -ERESTARTNOHAND;
}

/* Waits until a signal the mask lets through is pending. */
static void wait_unblocked(struct k_task *t)
{
	for (;;) {
		k_collect_signals(t);
		if ((t->pending & ~t->sigmask) || t->tg->exiting)
			return;
		k_wait_host_signal(CLOCK_MONOTONIC, NULL);
	}
}

static long read_sigset(struct k_task *t, uint64_t uset, uint64_t size, uint64_t *set)
{
	if (size != sizeof(uint64_t))
		return -EINVAL;
	if (k_copy_in(t, set, uset, sizeof(*set)))
		return -EFAULT;
	*set &= ~UNBLOCKABLE;
	return 0;
}

SYSCALL(rt_sigsuspend)
{
	uint64_t mask;
	long err = read_sigset(t, a[0], a[1], &mask);
	if (err)
		return err;
	t->saved_sigmask = t->sigmask;
	t->has_saved_sigmask = true;
	t->sigmask = mask;
	wait_unblocked(t);
	return -ERESTARTNOHAND;
}

SYSCALL(rt_sigtimedwait)
{
	uint64_t set;
	long err = read_sigset(t, a[0], a[3], &set);
	if (err)
		return err;
	struct timespec ts, deadline, *dl = NULL;
	if (a[2]) {
		if (k_copy_in(t, &ts, a[2], sizeof(ts)))
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
			return -EINVAL;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		deadline = k_ts_add(now, ts);
		dl = &deadline;
	}
	bool timed_out = false;
	for (;;) {
		k_collect_signals(t);
		uint64_t got = t->pending & set;
		if (got) {
			int sig = __builtin_ctzll(got) + 1;
			t->pending &= ~SIGBIT(sig);
			if (a[1] && k_copy_out(t, a[1], &t->siginfo[sig], sizeof(siginfo_t)))
				return -EFAULT;
			return sig;
		}
		/* Another signal the mask lets through is handled instead; as
		 * in Linux, the wait is not restarted after it. */
		if (t->pending & ~t->sigmask)
			return -EINTR;
		if (timed_out || t->tg->exiting)
			return -EAGAIN;
		timed_out = k_wait_host_signal(CLOCK_MONOTONIC, dl) == -ETIMEDOUT;
	}
}

static long queue_info(struct k_task *t, int pid, int tid, uint64_t sig, uint64_t uinfo)
{
	siginfo_t si;
	if (k_copy_in(t, &si, uinfo, sizeof(si)))
		return -EFAULT;
	/* Only the kernel may claim kernel or kill() codes to another. */
	bool to_self = tid ? tid == t->tid : pid == t->tg->pid;
	if ((si.si_code >= 0 || si.si_code == SI_TKILL) && !to_self)
		return -EPERM;
	if (pid != t->tg->pid || (tid && tid != t->tid))
		return -ESRCH;
	if (!valid_sig(sig) && sig != 0)
		return -EINVAL;
	bool was_pending = sig && valid_sig(sig) && (t->pending & SIGBIT(sig));
	long err = send_self(t, sig, si.si_code);
	/* One siginfo a signal: a second send while pending keeps the first. */
	if (!err && sig && !was_pending && (t->pending & SIGBIT(sig))) {
		si.si_signo = (int)sig;
		t->siginfo[sig] = si;
	}
	return err;
}

SYSCALL(rt_sigqueueinfo)
{
	return queue_info(t, (int)a[0], 0, (uint64_t)(int)a[1], a[2]);
}

SYSCALL(rt_tgsigqueueinfo)
{
	int tgid = (int)a[0], tid = (int)a[1];
	siginfo_t si;
	/* Linux copies the siginfo in before it looks at the ids. */
	if (k_copy_in(t, &si, a[3], sizeof(si)))
		return -EFAULT;
	if (tgid <= 0 || tid <= 0)
		return -EINVAL;
	return queue_info(t, tgid, tid, (uint64_t)(int)a[2], a[3]);
}
