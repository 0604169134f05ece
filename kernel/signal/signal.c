/* Signals: dispositions, masks, the alternate stack, sending to oneself,
 * and delivery — the default action, or a handler entered through an
 * rt_sigframe laid out exactly as Linux's x86-64 setup_rt_frame does. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
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
/* The first real-time signal of the kernel's ABI (glibc keeps 32 and 33). */
#define K_SIGRTMIN 32

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
		    (act.handler == (uint64_t)SIG_DFL && default_action((int)sig) == SD_IGNORE)) {
			t->tg->pending &= ~SIGBIT(sig);
			sigq_drop(t->k, &t->tg->rtq, (int)sig);
			for (struct k_task *o = t->tg->threads; o; o = o->tg_next) {
				o->pending &= ~SIGBIT(sig);
				sigq_drop(t->k, &o->rtq, (int)sig);
			}
		}
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
	uint64_t set = (t->pending | t->tg->pending) & t->sigmask;
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

void sigq_drop(struct k_kernel *k, struct k_sigq **q, int sig)
{
	while (*q) {
		struct k_sigq *e = *q;
		if (sig && e->info.si_signo != sig) {
			q = &e->next;
			continue;
		}
		*q = e->next;
		free(e);
		if (k && k->nsigq)
			k->nsigq--;
	}
}

uint64_t task_ready_signals(const struct k_task *t)
{
	return (t->pending | t->tg->pending) & ~t->sigmask;
}

bool sig_ignored(const struct k_thread_group *tg, int sig)
{
	const struct k_sigaction *act = &tg->act[sig];
	return act->handler == (uint64_t)SIG_IGN ||
	       (act->handler == (uint64_t)SIG_DFL && default_action(sig) == SD_IGNORE);
}

static void fill_info(siginfo_t *si, int sig, const siginfo_t *info)
{
	if (info) {
		*si = *info;
		si->si_signo = sig;
	} else {
		memset(si, 0, sizeof(*si));
		si->si_signo = sig;
		si->si_code = SI_KERNEL;
	}
}

/* The stop and continue side effects of sending (Linux's prepare_signal). */
static void prepare(struct k_thread_group *tg, int sig)
{
	if (sig == SIGCONT || sig == SIGKILL) {
		uint64_t stops = SIGBIT(SIGSTOP) | SIGBIT(SIGTSTP) | SIGBIT(SIGTTIN) | SIGBIT(SIGTTOU);
		tg->pending &= ~stops;
		for (struct k_task *o = tg->threads; o; o = o->tg_next)
			o->pending &= ~stops;
		if (tg->stopped && sig == SIGCONT) {
			tg->stopped = false;
			tg->report_stop = false;
			tg->report_cont = true;
			waitq_wake_all(&tg->stop_wait);
			tg_notify_parent(tg, CLD_CONTINUED, SIGCONT);
		}
	} else if (default_action(sig) == SD_STOP) {
		tg->pending &= ~SIGBIT(SIGCONT);
		for (struct k_task *o = tg->threads; o; o = o->tg_next)
			o->pending &= ~SIGBIT(SIGCONT);
	}
}

/* Wakes a thread that can take sig: the one it was sent to, else the
 * first that does not block it (Linux's complete_signal). */
static void complete(struct k_thread_group *tg, struct k_task *to, int sig)
{
	if (sig == SIGKILL) {
		if (tg->threads)
			task_exit_group(tg->threads, K_WKILLED(SIGKILL));
		return;
	}
	if (to) {
		if (!(to->sigmask & SIGBIT(sig)))
			k_task_kick(to);
		return;
	}
	for (struct k_task *o = tg->threads; o; o = o->tg_next)
		if (!(o->sigmask & SIGBIT(sig))) {
			k_task_kick(o);
			return;
		}
}

static int send(struct k_thread_group *tg, struct k_task *to, int sig, const siginfo_t *info)
{
	if (sig == 0)
		return 0;
	if (!valid_sig((uint64_t)sig))
		return -EINVAL;
	if (tg->zombie || tg->exiting)
		return 0;
	prepare(tg, sig);
	/* An ignored signal is dropped at once, unless blocked: a handler
	 * may be installed before it is unblocked (Linux's sig_ignored). */
	bool blocked = to ? (to->sigmask & SIGBIT(sig)) != 0 : false;
	if (!to && tg->threads) {
		blocked = true;
		for (struct k_task *o = tg->threads; o; o = o->tg_next)
			blocked &= (o->sigmask & SIGBIT(sig)) != 0;
	}
	if (sig_ignored(tg, sig) && !blocked)
		return 0;
	uint64_t *pending = to ? &to->pending : &tg->pending;
	siginfo_t *slot = to ? &to->siginfo[sig] : &tg->siginfo[sig];
	/* Standard signals do not queue: a second one while pending merges.
	 * Real-time ones queue, up to RLIMIT_SIGPENDING in the sandbox; past
	 * it a sigqueue fails with EAGAIN and a kill merges, as in Linux. */
	if (!(*pending & SIGBIT(sig))) {
		*pending |= SIGBIT(sig);
		fill_info(slot, sig, info);
	} else if (sig >= K_SIGRTMIN) {
		struct k_kernel *k = tg->threads ? tg->threads->k : NULL;
		uint64_t lim = tg->rlim[RLIMIT_SIGPENDING].rlim_cur;
		struct k_sigq *e = NULL;
		if (k && (lim == RLIM_INFINITY || k->nsigq < lim))
			e = malloc(sizeof(*e));
		if (!e) {
			if (info && info->si_code != SI_USER)
				return -EAGAIN;
		} else {
			fill_info(&e->info, sig, info);
			e->next = NULL;
			struct k_sigq **q = to ? &to->rtq : &tg->rtq;
			while (*q)
				q = &(*q)->next;
			*q = e;
			k->nsigq++;
		}
	}
	complete(tg, to, sig);
	k_file_notify(); /* signalfd readers and pollers look again */
	return 0;
}

int sig_send_group(struct k_thread_group *tg, int sig, const siginfo_t *info)
{
	return send(tg, NULL, sig, info);
}

int sig_send_thread(struct k_task *t, int sig, const siginfo_t *info)
{
	return send(t->tg, t, sig, info);
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
	t->pending |= SIGBIT(sig);
	siginfo_t *si = &t->siginfo[sig];
	memset(si, 0, sizeof(*si));
	si->si_signo = sig;
	si->si_code = code;
	si->si_addr = (void *)addr;
}

static siginfo_t kill_info(struct k_task *from, int sig, int code)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = code;
	si.si_pid = from ? from->tg->pid : 0;
	si.si_uid = from ? from->tg->uid : 0;
	return si;
}

void k_signal_host(struct k_kernel *k, int sig)
{
	/* From outside the sandbox: to its init, as SIGTERM from docker. */
	if (k->init && !k->init->zombie) {
		siginfo_t si = kill_info(NULL, sig, SI_KERNEL);
		sig_send_group(k->init, sig, &si);
	}
}

void task_send(struct k_task *t, int sig, int code)
{
	siginfo_t si = kill_info(code == SI_KERNEL ? NULL : t, sig, code);
	/* The kernel's own signals to a process (SIGPIPE, SIGALRM, SIGXFSZ). */
	if (sig == SIGPIPE || sig == SIGXFSZ)
		sig_send_thread(t, sig, &si);
	else
		sig_send_group(t->tg, sig, &si);
}

/* kill(2)'s permission rule (Linux's kill_ok_by_cred, in the sandbox's
 * user namespace): privilege, or a real or effective id matching the
 * target's real or saved one; SIGCONT within a session too. */
static bool may_signal(struct k_task *t, struct k_thread_group *tg, int sig)
{
	struct k_thread_group *me = t->tg;
	if (me == tg || me->euid == 0)
		return true;
	if (me->euid == tg->suid || me->euid == tg->uid || me->uid == tg->suid ||
	    me->uid == tg->uid)
		return true;
	return sig == SIGCONT && me->sid == tg->sid;
}

/* Init is protected from signals it has no handler for, from inside its
 * namespace (SIGNAL_UNKILLABLE), unless it blocks them. */
static bool init_protected(struct k_task *t, struct k_thread_group *tg, int sig)
{
	/* A blocked signal is never ignored: a handler may come first. */
	if (!sig || tg->pid != 1 || t->tg == tg || !tg->threads ||
	    (tg->threads->sigmask & SIGBIT(sig)))
		return false;
	return tg->act[sig].handler == (uint64_t)SIG_DFL;
}

static int kill_tg(struct k_task *t, struct k_thread_group *tg, int sig, const siginfo_t *si)
{
	if (!may_signal(t, tg, sig))
		return -EPERM;
	if (init_protected(t, tg, sig))
		return 0;
	return sig_send_group(tg, sig, si);
}

/* Every live process in group pgid (0: the caller's), or every one but
 * init and the caller (all). */
static long kill_many(struct k_task *t, int pgid, bool all, int sig, const siginfo_t *si)
{
	bool found = false;
	int err = -ESRCH, sent = 0;
	for (struct k_task *o = t->k->tasks; o; o = o->next) {
		struct k_thread_group *tg = o->tg;
		if (tg->threads != o)
			continue; /* once per group: its first thread */
		if (all ? (tg->pid == 1 || tg == t->tg) : tg->pgid != pgid)
			continue;
		found = true;
		int r = kill_tg(t, tg, sig, si);
		if (r == 0)
			sent++;
		else
			err = r;
	}
	if (!found)
		return -ESRCH;
	return sent ? 0 : err;
}

SYSCALL(kill)
{
	int pid = (int)a[0];
	int sig = (int)a[1];
	if (!valid_sig((uint64_t)(int64_t)sig) && sig != 0)
		return -EINVAL;
	siginfo_t si = kill_info(t, sig, SI_USER);
	if (pid == INT32_MIN)
		return -ESRCH;
	if (pid == -1)
		return kill_many(t, 0, true, sig, &si);
	if (pid <= 0)
		return kill_many(t, pid ? -pid : t->tg->pgid, false, sig, &si);
	struct k_thread_group *tg = tg_by_pid(t->k, pid);
	if (!tg || !tg->threads)
		return tg && tg->zombie ? 0 : -ESRCH; /* a zombie takes signals, as Linux */
	return kill_tg(t, tg, sig, &si);
}

static long kill_thread(struct k_task *t, int tgid, int tid, int sig)
{
	struct k_task *o = task_by_tid(t->k, tid);
	if (!o || (tgid > 0 && o->tg->pid != tgid))
		return -ESRCH;
	if (!may_signal(t, o->tg, sig))
		return -EPERM;
	if (init_protected(t, o->tg, sig))
		return 0;
	siginfo_t si = kill_info(t, sig, SI_TKILL);
	return sig_send_thread(o, sig, &si);
}

SYSCALL(tgkill)
{
	int tgid = (int)a[0], tid = (int)a[1];
	int sig = (int)a[2];
	if (tgid <= 0 || tid <= 0)
		return -EINVAL;
	if (!valid_sig((uint64_t)(int64_t)sig) && sig != 0)
		return -EINVAL;
	return kill_thread(t, tgid, tid, sig);
}

SYSCALL(tkill)
{
	int tid = (int)a[0];
	int sig = (int)a[1];
	if (tid <= 0)
		return -EINVAL;
	if (!valid_sig((uint64_t)(int64_t)sig) && sig != 0)
		return -EINVAL;
	return kill_thread(t, 0, tid, sig);
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
	siginfo_t *si = &t->siginfo[0]; /* what dequeue took */
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

/* Takes the next signal t may take: thread-directed first, synchronous
 * faults before others, then the lowest number, as Linux's dequeue. */
static int dequeue(struct k_task *t, uint64_t mask, siginfo_t *si)
{
	return signal_dequeue(t, mask, si);
}

int signal_dequeue(struct k_task *t, uint64_t mask, siginfo_t *si)
{
	uint64_t *sets[2] = {&t->pending, &t->tg->pending};
	siginfo_t *infos[2] = {t->siginfo, t->tg->siginfo};
	const int sync[] = {SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS};
	for (int i = 0; i < 2; i++) {
		uint64_t ready = *sets[i] & mask;
		if (!ready)
			continue;
		int sig = 0;
		for (size_t j = 0; j < ARRAY_LEN(sync) && !sig; j++)
			if (ready & SIGBIT(sync[j]))
				sig = sync[j];
		if (!sig)
			sig = __builtin_ctzll(ready) + 1;
		*si = infos[i][sig];
		/* The next queued one of that number takes its place. */
		struct k_sigq **q = i == 0 ? &t->rtq : &t->tg->rtq;
		while (*q && (*q)->info.si_signo != sig)
			q = &(*q)->next;
		if (*q) {
			struct k_sigq *e = *q;
			*q = e->next;
			infos[i][sig] = e->info;
			free(e);
			t->k->nsigq--;
		} else {
			*sets[i] &= ~SIGBIT(sig);
		}
		return sig;
	}
	return 0;
}

/* A stop signal's default action: the whole group stops, and its parent
 * hears of it (Linux's do_signal_stop). */
static void group_stop(struct k_task *t, int sig)
{
	struct k_thread_group *tg = t->tg;
	if (tg->stopped)
		return;
	tg->stopped = true;
	tg->stop_sig = sig;
	tg->report_stop = true;
	tg->report_cont = false;
	for (struct k_task *o = tg->threads; o; o = o->tg_next)
		if (o != t)
			k_task_kick(o);
	tg_notify_parent(tg, CLD_STOPPED, sig);
}

void signal_deliver(struct k_task *t)
{
	siginfo_t si;
	int sig;
	while (!t->tg->exiting && !t->tg->stopped && (sig = dequeue(t, ~t->sigmask, &si))) {
		struct k_sigaction *act = &t->tg->act[sig];
		if (act->handler == (uint64_t)SIG_IGN)
			continue;
		if (act->handler == (uint64_t)SIG_DFL) {
			enum sigdefault d = default_action(sig);
			if (d == SD_IGNORE)
				continue;
			if (d == SD_STOP) {
				group_stop(t, sig);
				break; /* the syscall restarts after SIGCONT */
			}
			task_exit_group(t, K_WKILLED(sig) | (d == SD_CORE ? K_WCORE : 0));
			return;
		}
		restart_syscall(t, true, act->flags);
		t->in_syscall = false;
		struct k_sigaction used = *act;
		if (act->flags & SA_RESETHAND)
			act->handler = (uint64_t)SIG_DFL;
		t->siginfo[0] = si; /* the frame's copy */
		if (setup_frame(t, sig, &used) != 0) {
			/* No room for the frame: Linux's force_sigsegv. */
			t->tg->act[SIGSEGV].handler = (uint64_t)SIG_DFL;
			task_exit_group(t, K_WKILLED(SIGSEGV) | K_WCORE);
			return;
		}
		t->has_saved_sigmask = false;
		t->sigmask |= used.mask;
		if (!(used.flags & SA_NODEFER))
			t->sigmask |= SIGBIT(sig);
		return; /* one frame at a time; the rest after the handler runs */
	}
	if (t->tg->stopped)
		return; /* restarts are decided when it runs again */
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
	/* Only a signal ends it. */
	struct k_sleep s = {0};
	while (!task_interrupted(t))
		k_sleep(t, &s);
	return -ERESTARTNOHAND;
}

/* Waits until a signal the mask lets through is pending. */
static void wait_unblocked(struct k_task *t)
{
	struct k_sleep s = {0};
	while (!task_interrupted(t))
		k_sleep(t, &s);
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
	struct timespec ts, deadline;
	struct k_sleep s = {.clock = CLOCK_MONOTONIC};
	if (a[2]) {
		if (k_copy_in(t, &ts, a[2], sizeof(ts)))
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
			return -EINVAL;
		struct timespec now;
		k_clock_ts(CLOCK_MONOTONIC, &now);
		deadline = k_ts_add(now, ts);
		s.deadline = &deadline;
	}
	/* The waited-for signals count as unblocked while it sleeps, so that
	 * they wake it (Linux sets real_blocked the same way). */
	uint64_t mask = t->sigmask;
	t->sigmask &= ~set;
	int r = 0;
	for (;;) {
		siginfo_t si;
		int sig = dequeue(t, set, &si);
		if (sig) {
			t->sigmask = mask;
			if (a[1] && k_copy_out(t, a[1], &si, sizeof(si)))
				return -EFAULT;
			return sig;
		}
		/* Another signal the mask lets through is handled instead; as
		 * in Linux, the wait is not restarted after it. */
		if (task_interrupted(t) || r == -ETIMEDOUT) {
			t->sigmask = mask;
			return r == -ETIMEDOUT && !task_ready_signals(t) ? -EAGAIN : -EINTR;
		}
		r = k_sleep(t, &s);
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
	struct k_thread_group *tg = tg_by_pid(t->k, pid);
	struct k_task *to = tid ? task_by_tid(t->k, tid) : NULL;
	if (!tg || !tg->threads || (tid && (!to || to->tg != tg)))
		return -ESRCH;
	if (!valid_sig(sig) && sig != 0)
		return -EINVAL;
	if (!may_signal(t, tg, (int)sig))
		return -EPERM;
	if (sig == 0 || init_protected(t, tg, (int)sig))
		return 0;
	si.si_signo = (int)sig;
	return to ? sig_send_thread(to, (int)sig, &si) : sig_send_group(tg, (int)sig, &si);
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
