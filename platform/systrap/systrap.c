/* The systrap platform: guest threads run untraced in the same stub
 * processes as the ptrace platform's, under a second seccomp filter that
 * turns each guest syscall into SIGSYS.  The stub's handler (stub.S) runs
 * on the thread's own slot, a piece of a memory file shared with the
 * sentry: it leaves the signal's facts in the slot's message page, the
 * registers stay in the signal frame on the slot's stack, and it waits
 * (spinning a little, then in futex) while the sentry reads and rewrites
 * them; rt_sigreturn then puts the guest back where the sentry says.
 * Faults take the same path, and so does the sentry's interrupt (a
 * SIGSTKFLT it sends with tgkill).
 *
 * The sentry learns of a stop by looking at the message pages; when it
 * is about to sleep it says so in the global page, and a stopping thread
 * then rings the doorbell, an eventfd in the sentry's ppoll.  Mapping
 * changes and new threads still go through the stub process's main
 * thread, which stays traced and never runs guest code (ptrace.c).
 *
 * What the guest can do about it: its own syscalls only trap; from the
 * stub page its filter lets through exactly the handler's futex wait and
 * wake, the doorbell write, rt_sigreturn and exit (anything else from
 * there kills the process); blocking SIGSYS makes the next trap kill it;
 * the stub page, the global page and the slots lie above every address it
 * may map.  It can write its own threads' slots: the sentry trusts
 * nothing it reads there, checks every pointer against the slot, and a
 * slot is only ever reused inside the process that had it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <cpuid.h>
#include <linux/audit.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../ptrace/ptrace.h"
#include "systrap.h"

extern const char husk_stub_begin[], husk_st_init[], husk_st_handler[], husk_st_restorer[],
	husk_st_exit[], husk_st_fast[];
#define STUB_SYM(s) (STUB_ADDR + (uint64_t)((s) - husk_stub_begin))

#define SLOTS_OFF 0x10000UL /* the slots, in the sysmsg file; the global page is at 0 */
#define SHM_SIZE (SLOTS_OFF + (uint64_t)MAX_SLOTS * SLOT_SIZE)
#define INTERRUPT_SIG SIGSTKFLT
_Static_assert(INTERRUPT_SIG == INTERRUPT_SIGNO && SIGSEGV == SIGSEGV_NO && SIGSYS == SIGSYS_NO,
	       "the stub's signal numbers");
_Static_assert(PF_UT_BASE == UT_BASE && PF_UT_SIZE == UT_SIZE && PF_UT_ENTRY == UT_ENTRY,
	       "the patch table's layout");
_Static_assert(offsetof(ucontext_t, uc_mcontext.gregs[REG_RIP]) == UC_RIP &&
		       offsetof(ucontext_t, uc_mcontext.fpregs) == UC_FPREGS &&
		       offsetof(ucontext_t, uc_sigmask) == UC_SIGMASK,
	       "the stub's ucontext offsets");
#define SA_RESTORER 0x04000000 /* the kernel's: libc headers hide it */
/* The sentry spins this long for a guest that stopped quickly last time. */
#define SPIN_NS 40000
/* How long a context may take to park or to stop when asked.  A thread
 * that lets an interrupt go unanswered that long while its process keeps
 * using CPU (STOP_CPU_NS of it) is looping in the stub's code by its own
 * doing (it jumped in, or blocked the signal with a forged frame), and
 * its process is killed; one the host just has not run yet is left be. */
#define STOP_WAIT_NS 2000000000LL
#define STOP_CPU_NS 200000000ULL

static struct {
	bool on;
	int shm_fd, doorbell;
	uint8_t *shm;
	bool slot_used[MAX_SLOTS];
	struct pf_ctx *ctxs;   /* every context */
	struct pf_as *ases;    /* every live address space */
	struct st_grave *graves;
	bool fast;             /* the fast path (and so patching) works here */
	int ncpus;
	int cpu;               /* the sentry's, or -1 */
	bool spin;             /* the last stop came within SPIN_NS */
	bool reap_due;         /* the sentry slept: a SIGCHLD may have come */
	int64_t next_reap;
} st = {.shm_fd = -1, .doorbell = -1};

/* Slots of a freed address space whose process is not reaped yet. */
struct st_grave {
	pid_t pid;
	int *slots;
	int n;
	struct st_grave *next;
};

bool st_enabled(void)
{
	return st.on;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The XSAVE features the fast path saves, or 0 where it cannot run: it
 * needs XSAVE enabled by the OS, BMI2 (its flag-free slot check) and an
 * area that fits between FAST_FP and FAST_END.  Features the kernel
 * hands out only on request (XFD: AMX tiles) are left out; a guest
 * cannot get them. */
static uint64_t fast_xmask(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)) /* OSXSAVE */)
		return 0;
	if (__get_cpuid_max(0, NULL) < 0xd || !__get_cpuid_count(7, 0, &a, &b, &c, &d) ||
	    !(b & (1u << 8)) /* BMI2 */)
		return 0;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	uint64_t xcr0 = (uint64_t)hi << 32 | lo, mask = xcr0 & 3;
	uint64_t size = 576; /* the legacy area and the header */
	for (int i = 2; i < 63; i++) {
		if (!(xcr0 & (1ULL << i)))
			continue;
		__cpuid_count(0xd, (unsigned)i, a, b, c, d);
		if (c & 4 /* XFD */)
			continue;
		mask |= 1ULL << i;
		if (b + a > size)
			size = b + a;
	}
	return size <= FAST_END - FAST_FP ? mask : 0;
}

int st_init(void)
{
	if (st.on)
		return 0;
	/* rdfsbase and friends keep the guest's TLS registers in the handler. */
	if (!(getauxval(AT_HWCAP2) & 2 /* HWCAP2_FSGSBASE */))
		return -ENOTSUP;
	st.shm_fd = memfd_create("husk-sysmsg", MFD_CLOEXEC);
	if (st.shm_fd < 0)
		return -errno;
	if (ftruncate(st.shm_fd, (off_t)SHM_SIZE) != 0)
		goto fail;
	st.shm = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		      st.shm_fd, 0);
	if (st.shm == MAP_FAILED)
		goto fail;
	st.doorbell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (st.doorbell < 0)
		goto fail;
	uint64_t xmask = fast_xmask();
	st.fast = xmask != 0;
	st.ncpus = (int)sysconf(_SC_NPROCESSORS_CONF);
	/* The sentry stays on the CPU it started on, the stub's main thread
	 * and the gofer follow it there, and a lone guest thread keeps off
	 * it: handoffs between the sentry and its helpers are then switches
	 * on one CPU, and the sentry never lands where the guest spins (a
	 * sentry the scheduler moves next to its waker costs more than any
	 * balance it gains; in a VM, far more). */
	int cpu = sched_getcpu();
	st.cpu = -1;
	if (st.ncpus > 1 && cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) == 0)
			st.cpu = cpu;
	}
	memcpy(st.shm + GLOBAL_XMASK, &xmask, sizeof(xmask));
	st.on = true;
	return 0;
fail:;
	int e = -errno;
	if (st.shm && st.shm != MAP_FAILED)
		munmap(st.shm, SHM_SIZE);
	st.shm = NULL;
	close(st.shm_fd);
	st.shm_fd = -1;
	return e;
}

int st_shm_fd(void) { return st.shm_fd; }
int st_cpu(void) { return st.cpu; }
int st_doorbell_fd(void) { return st.doorbell; }

/* ---- the zygote: the handler for every signal a guest stop comes as ---- */
int st_zygote_setup(struct pf_as *z)
{
	long r = pt_inject(z, SYS_mmap, STUB_ADDR + GLOBAL_OFF, PAGE_SIZE, PROT_READ,
			   MAP_SHARED | MAP_FIXED, SYSMSG_FD, 0);
	if (r < 0)
		return (int)r;
	const uint64_t scratch = 0x10000;
	r = pt_inject(z, SYS_mmap, scratch, PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, (uint64_t)-1, 0);
	if (r < 0)
		return (int)r;
	/* struct kernel_sigaction: handler, flags, restorer, mask (all). */
	const uint64_t act[4] = {STUB_SYM(husk_st_handler),
				 SA_SIGINFO | SA_ONSTACK | SA_RESTORER,
				 STUB_SYM(husk_st_restorer), ~0ULL};
	for (int i = 0; i < 4; i++)
		if (ptrace(PTRACE_POKEDATA, z->pid, scratch + 8 * (uint64_t)i, (void *)act[i]) != 0)
			return -errno;
	const int sigs[] = {SIGSYS, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, INTERRUPT_SIG};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]) && r >= 0; i++)
		r = pt_inject(z, SYS_rt_sigaction, (uint64_t)sigs[i], scratch, 0, 8, 0, 0);
	long u = pt_inject(z, SYS_munmap, scratch, PAGE_SIZE, 0, 0, 0, 0);
	return r < 0 ? (int)r : u < 0 ? (int)u : 0;
}

/* ---- slots ---- */
static uint64_t slot_addr(int slot)
{
	return SLOTS_BASE + (uint64_t)slot * SLOT_SIZE;
}

static uint8_t *slot_host(int slot)
{
	return st.shm + SLOTS_OFF + (uint64_t)slot * SLOT_SIZE;
}

static volatile uint32_t *state_of(const struct pf_ctx *c)
{
	return (volatile uint32_t *)(slot_host(c->slot) + MSG_STATE);
}

static uint32_t msg_u32(const struct pf_ctx *c, int off)
{
	return __atomic_load_n((uint32_t *)(slot_host(c->slot) + off), __ATOMIC_RELAXED);
}

static uint64_t msg_u64(const struct pf_ctx *c, int off)
{
	return __atomic_load_n((uint64_t *)(slot_host(c->slot) + off), __ATOMIC_RELAXED);
}

static void slot_release(int slot)
{
	/* Zeroes, and gives the pages back. */
	fallocate(st.shm_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		  (off_t)(SLOTS_OFF + (uint64_t)slot * SLOT_SIZE), SLOT_SIZE);
	st.slot_used[slot] = false;
}

static bool thread_gone(pid_t pid, pid_t tid)
{
	return syscall(SYS_tgkill, pid, tid, 0) != 0 && errno == ESRCH;
}

/* A slot for a new thread of as: one its process had for a thread that
 * is gone, or a fresh one mapped into it. */
static int slot_get(struct pf_as *as)
{
	for (int i = 0; i < as->nowned; i++) {
		struct st_owned *o = &as->owned[i];
		if (!o->busy && (!o->tid || thread_gone(as->pid, o->tid))) {
			o->busy = true;
			o->tid = 0;
			return o->slot;
		}
	}
	int slot = -1;
	for (int i = 0; i < MAX_SLOTS; i++)
		if (!st.slot_used[i]) {
			slot = i;
			break;
		}
	if (slot < 0)
		return -EAGAIN;
	if (as->nowned == as->capowned) {
		int cap = as->capowned ? as->capowned * 2 : 8;
		struct st_owned *n = realloc(as->owned, (size_t)cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		as->owned = n;
		as->capowned = cap;
	}
	long r = pt_inject(as, SYS_mmap, slot_addr(slot), SLOT_SIZE, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_FIXED, SYSMSG_FD, SLOTS_OFF + (uint64_t)slot * SLOT_SIZE);
	if (r < 0)
		return (int)r;
	st.slot_used[slot] = true;
	as->owned[as->nowned++] = (struct st_owned){.slot = slot, .busy = true};
	return slot;
}

static struct st_owned *owned_of(struct pf_as *as, int slot)
{
	for (int i = 0; as && i < as->nowned; i++)
		if (as->owned[i].slot == slot)
			return &as->owned[i];
	return NULL;
}

/* ---- address spaces ---- */
void st_as_new(struct pf_as *as)
{
	as->st_next = st.ases;
	st.ases = as;
}

/* as is going: its slots go back once its process is reaped. */
void st_as_free(struct pf_as *as)
{
	for (struct pf_as **p = &st.ases; *p; p = &(*p)->st_next)
		if (*p == as) {
			*p = as->st_next;
			break;
		}
	struct st_grave *g = NULL;
	if (!as->dead && as->nowned && (g = calloc(1, sizeof(*g))) &&
	    !(g->slots = calloc((size_t)as->nowned, sizeof(int)))) {
		free(g);
		g = NULL;
	}
	for (int i = 0; i < as->nowned; i++) {
		if (g)
			g->slots[g->n++] = as->owned[i].slot;
		else if (as->dead)
			slot_release(as->owned[i].slot);
		/* else: out of memory, the slot is lost rather than shared */
	}
	if (g) {
		g->pid = as->pid;
		g->next = st.graves;
		st.graves = g;
	}
	free(as->owned);
	as->owned = NULL;
	as->nowned = as->capowned = 0;
}

static void reaped(pid_t pid, int status)
{
	for (struct pf_as *as = st.ases; as; as = as->st_next)
		if (as->pid == pid) {
			pt_mark_dead(as, status);
			for (struct pf_ctx *c = as->ctxs; c; c = c->next) {
				c->dead = true;
				c->wait_status = status;
			}
		}
	for (struct st_grave **p = &st.graves; *p; p = &(*p)->next)
		if ((*p)->pid == pid) {
			struct st_grave *g = *p;
			*p = g->next;
			for (int i = 0; i < g->n; i++)
				slot_release(g->slots[i]);
			free(g->slots);
			free(g);
			return;
		}
}

/* ---- the signal frame ---- */
/* The ucontext the kernel wrote on the slot's stack, as the sentry sees
 * it, or NULL when the message points anywhere else. */
static ucontext_t *frame_of(const struct pf_ctx *c)
{
	uint64_t uc = msg_u64(c, MSG_UCTX), lo = slot_addr(c->slot) + PAGE_SIZE,
		 hi = slot_addr(c->slot) + SLOT_SIZE;
	/* The kernel's struct ucontext ends with an 8-byte signal mask. */
	size_t size = offsetof(ucontext_t, uc_sigmask) + 8;
	if (uc < lo || uc > hi - size || uc % 8)
		return NULL;
	return (ucontext_t *)(slot_host(c->slot) + (uc - slot_addr(c->slot)));
}

/* The FXSAVE/XSAVE area the frame points to, checked the same way. */
static uint8_t *fpstate_of(const struct pf_ctx *c, ucontext_t *uc)
{
	uint64_t fp = (uint64_t)uc->uc_mcontext.fpregs, lo = slot_addr(c->slot) + PAGE_SIZE,
		 hi = slot_addr(c->slot) + SLOT_SIZE;
	if (fp < lo || fp > hi - 512 - 64 || fp % 16)
		return NULL;
	return slot_host(c->slot) + (fp - slot_addr(c->slot));
}

static void regs_from(pf_regs *r, const ucontext_t *uc, const struct pf_ctx *c)
{
	const greg_t *g = uc->uc_mcontext.gregs;
	r->r8 = (uint64_t)g[REG_R8], r->r9 = (uint64_t)g[REG_R9];
	r->r10 = (uint64_t)g[REG_R10], r->r11 = (uint64_t)g[REG_R11];
	r->r12 = (uint64_t)g[REG_R12], r->r13 = (uint64_t)g[REG_R13];
	r->r14 = (uint64_t)g[REG_R14], r->r15 = (uint64_t)g[REG_R15];
	r->rdi = (uint64_t)g[REG_RDI], r->rsi = (uint64_t)g[REG_RSI];
	r->rbp = (uint64_t)g[REG_RBP], r->rbx = (uint64_t)g[REG_RBX];
	r->rdx = (uint64_t)g[REG_RDX], r->rax = (uint64_t)g[REG_RAX];
	r->rcx = (uint64_t)g[REG_RCX], r->rsp = (uint64_t)g[REG_RSP];
	r->rip = (uint64_t)g[REG_RIP], r->eflags = (uint64_t)g[REG_EFL];
	r->orig_rax = (uint64_t)-1;
	r->fs_base = msg_u64(c, MSG_FS);
	/* The thread's gs holds its slot while the guest's own is 0. */
	r->gs_base = msg_u64(c, MSG_GS);
	if (r->gs_base == slot_addr(c->slot))
		r->gs_base = 0;
	const pf_regs *t = &c->as->tmpl;
	r->cs = t->cs, r->ss = t->ss, r->ds = t->ds, r->es = t->es, r->fs = t->fs, r->gs = t->gs;
}

static void regs_to(ucontext_t *uc, const pf_regs *r, struct pf_ctx *c)
{
	greg_t *g = uc->uc_mcontext.gregs;
	g[REG_R8] = (greg_t)r->r8, g[REG_R9] = (greg_t)r->r9;
	g[REG_R10] = (greg_t)r->r10, g[REG_R11] = (greg_t)r->r11;
	g[REG_R12] = (greg_t)r->r12, g[REG_R13] = (greg_t)r->r13;
	g[REG_R14] = (greg_t)r->r14, g[REG_R15] = (greg_t)r->r15;
	g[REG_RDI] = (greg_t)r->rdi, g[REG_RSI] = (greg_t)r->rsi;
	g[REG_RBP] = (greg_t)r->rbp, g[REG_RBX] = (greg_t)r->rbx;
	g[REG_RDX] = (greg_t)r->rdx, g[REG_RAX] = (greg_t)r->rax;
	g[REG_RCX] = (greg_t)r->rcx, g[REG_RSP] = (greg_t)r->rsp;
	g[REG_RIP] = (greg_t)r->rip, g[REG_EFL] = (greg_t)r->eflags;
	/* The host's view of the thread's signal mask: nothing blocked. */
	memset(&uc->uc_sigmask, 0, 8);
	uint8_t *m = slot_host(c->slot);
	__atomic_store_n((uint64_t *)(m + MSG_FS), r->fs_base, __ATOMIC_RELAXED);
	__atomic_store_n((uint64_t *)(m + MSG_GS), r->gs_base ? r->gs_base : slot_addr(c->slot),
			 __ATOMIC_RELAXED);
}

/* Lets a parked thread go on with whatever its frame now says. */
static void release(struct pf_ctx *c)
{
	/* Whatever an interrupt wanted, this stop gave the sentry. */
	__atomic_store_n((uint32_t *)(slot_host(c->slot) + MSG_INTR), 0, __ATOMIC_RELAXED);
	__atomic_store_n(state_of(c), ST_RESUME, __ATOMIC_SEQ_CST);
	if (__atomic_load_n((uint32_t *)(slot_host(c->slot) + MSG_SLEEPING), __ATOMIC_SEQ_CST))
		syscall(SYS_futex, state_of(c), FUTEX_WAKE, 1, NULL, NULL, 0);
}

static bool stopped(const struct pf_ctx *c)
{
	return __atomic_load_n(state_of(c), __ATOMIC_ACQUIRE) == ST_EVENT;
}

/* Waits (spinning, then in short sleeps) for c to stop; false on timeout. */
static bool wait_stopped(struct pf_ctx *c)
{
	int64_t until = now_ns() + STOP_WAIT_NS;
	for (int i = 0; !stopped(c); i++) {
		if (c->as && (c->as->dead || thread_gone(c->as->pid, c->tid)))
			return false;
		if (now_ns() > until)
			return false;
		if (i > 1000) {
			struct timespec ts = {0, 50000};
			nanosleep(&ts, NULL);
		}
	}
	return true;
}

/* ---- contexts ---- */
/* How many threads of ended contexts an address space keeps parked: a
 * new thread then costs nothing (making one takes several ptrace round
 * trips), which is what servers starting a thread a request need. */
#define SPARES 4

static bool xsave_area(const struct pf_ctx *c, const uint8_t *area);

/* A spare's FPU as a new thread's (the one it ran for may have left
 * anything there): x87 and SSE as after FNINIT, the rest initial. */
static void fp_reset(struct pf_ctx *c)
{
	pf_fpregs clean;
	memset(&clean, 0, sizeof(clean));
	clean.cwd = 0x37f;
	clean.mxcsr = 0x1f80;
	if (st_set_fpregs(c, &clean) != 0)
		return;
	uint8_t *area = fpstate_of(c, frame_of(c));
	if (area && xsave_area(c, area)) {
		uint64_t bv;
		memcpy(&bv, area + 512, 8);
		bv &= 3; /* AVX and beyond: back to their initial state */
		memcpy(area + 512, &bv, 8);
	}
}

/* A parked thread for c, if as has one alive: true when c has it. */
static bool take_spare(struct pf_as *as, struct pf_ctx *c)
{
	for (int i = 0; i < as->nowned; i++) {
		struct st_owned *o = &as->owned[i];
		if (!o->spare)
			continue;
		o->spare = false;
		c->as = as;
		c->slot = o->slot;
		c->tid = o->tid;
		if (thread_gone(as->pid, o->tid) || !stopped(c)) {
			o->busy = false; /* (its slot goes to the next thread) */
			continue;
		}
		fp_reset(c);
		c->st_next = st.ctxs;
		st.ctxs = c;
		return true;
	}
	return false;
}

int st_ctx_new(struct pf_as *as, struct pf_ctx *c)
{
	if (take_spare(as, c))
		return 0;
	int slot = slot_get(as);
	if (slot < 0)
		return slot;
	struct st_owned *o = owned_of(as, slot);
	uint8_t *m = slot_host(slot);
	memset(m, 0, PAGE_SIZE);
	stack_t ss = {.ss_sp = (void *)(slot_addr(slot) + ALTSTACK_OFF), .ss_flags = 0,
		      .ss_size = SLOT_SIZE - ALTSTACK_OFF};
	memcpy(m + MSG_ALTSTACK, &ss, sizeof(ss));
	uint64_t self = slot_addr(slot);
	memcpy(m + MSG_SELF, &self, sizeof(self));
	c->slot = slot;
	pid_t tid;
	int err = pt_new_thread(as, &tid);
	if (err) {
		o->busy = false;
		return err;
	}
	/* Its setup, traced: the signal stack and the guest filter. */
	pf_regs r = as->tmpl;
	r.rip = STUB_SYM(husk_st_init);
	r.rdi = slot_addr(slot) + MSG_ALTSTACK;
	r.rsi = stub_guest_filter_addr();
	r.orig_rax = (uint64_t)-1;
	int st_;
	if (ptrace(PTRACE_SETREGS, tid, 0, &r) != 0 || ptrace(PTRACE_CONT, tid, 0, 0) != 0 ||
	    pt_wait_stop(tid, &st_) != 0 || !WIFSTOPPED(st_) || WSTOPSIG(st_) != SIGTRAP ||
	    ptrace(PTRACE_GETREGS, tid, 0, &r) != 0 || r.rax != 0) {
		err = r.rax ? (int)(long)r.rax : -ECHILD;
		goto broken;
	}
	/* Untraced from here: the next int3 parks it in the handler. */
	o->tid = tid;
	c->tid = tid;
	if (ptrace(PTRACE_DETACH, tid, 0, 0) != 0) {
		err = -errno;
		goto broken;
	}
	if (!wait_stopped(c)) {
		err = -ETIMEDOUT;
		goto broken;
	}
	c->st_next = st.ctxs;
	st.ctxs = c;
	return 0;
broken:
	/* A stub that cannot set up a thread is of no more use. */
	kill(as->pid, SIGKILL);
	pt_mark_dead(as, SIGKILL);
	o->busy = false;
	return err < 0 && err > -4096 ? err : -ECHILD;
}

void st_ctx_free(struct pf_ctx *c)
{
	for (struct pf_ctx **p = &st.ctxs; *p; p = &(*p)->st_next)
		if (*p == c) {
			*p = c->st_next;
			break;
		}
	struct pf_as *as = c->as;
	if (!as || as->dead || c->dead)
		return;
	struct st_owned *o = owned_of(as, c->slot);
	if (c->running) {
		syscall(SYS_tgkill, as->pid, c->tid, INTERRUPT_SIG);
		c->running = false;
	}
	ucontext_t *uc = wait_stopped(c) ? frame_of(c) : NULL;
	if (!uc) {
		/* It will not stop (its guest blocked the interrupt) or its
		 * slot is garbage: the address space goes. */
		kill(as->pid, SIGKILL);
		pt_mark_dead(as, SIGKILL);
		return;
	}
	int spares = 0;
	for (int i = 0; i < as->nowned; i++)
		spares += as->owned[i].spare;
	if (o && spares < SPARES) {
		o->spare = true; /* parked as it is, slot and all */
		return;
	}
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)STUB_SYM(husk_st_exit);
	release(c);
	if (o)
		o->busy = false; /* reused once the thread is gone */
}

int st_ctx_resume(struct pf_ctx *c, pf_regs *regs, bool alone)
{
	struct pf_as *as = c->as;
	if (as && !c->dead && pt_flush(as) != 0 && as->dead)
		c->dead = true;
	if (c->dead || !as || as->dead || c->interrupt_pending)
		return 1;
	ucontext_t *uc = stopped(c) ? frame_of(c) : NULL;
	if (!uc) {
		kill(as->pid, SIGKILL);
		pt_mark_dead(as, SIGKILL);
		c->dead = true;
		c->wait_status = SIGKILL;
		return 1;
	}
	regs_to(uc, regs, c);
	/* A lone thread gets a CPU of its own (never the sentry's, see
	 * st_init), and both sides spin for each other.  Threads that take
	 * turns share the sentry's CPU and sleep as soon as they stop: a
	 * handoff is then a switch there, where a wakeup of another CPU costs
	 * tens of microseconds in a VM, and a spinning stub would only keep
	 * its CPU from whoever is next.  One that computes between stops,
	 * beside others, may use any CPU. */
	c->spins = alone && st.ncpus > 1;
	pt_place(c, alone ? PT_AWAY : c->long_run ? PT_ANY : PT_WITH, st.cpu);
	__atomic_store_n((uint32_t *)(slot_host(c->slot) + MSG_SPIN), c->spins ? SPIN_LOOPS : 0,
			 __ATOMIC_RELAXED);
	c->running = true;
	c->collected = false;
	c->intr_at = 0;
	release(c);
	return 0;
}

int st_wait_any(struct pf_ctx **out, int *status)
{
	int ws;
	pid_t pid;
	/* Main threads: their process died (a guest thread's fatal signal,
	 * or a kill); a stop of an idle one is left for its next injection.
	 * Looked for after each sleep (a SIGCHLD ends it) and now and then,
	 * not at every stop: waitpid costs more than the stop itself. */
	int64_t now = now_ns();
	if (st.reap_due || now >= st.next_reap) {
		st.reap_due = false;
		st.next_reap = now + 10000000;
		while ((pid = waitpid(-1, &ws, WNOHANG | __WALL)) > 0)
			if (!WIFSTOPPED(ws))
				reaped(pid, ws);
	}
	for (struct pf_ctx *c = st.ctxs; c; c = c->st_next) {
		if (c->running && !c->collected && !c->dead && c->intr_at &&
		    now - c->intr_at > STOP_WAIT_NS && !stopped(c) && c->as &&
		    pf_ctx_cputime_ns(c) - c->intr_cpu > STOP_CPU_NS) {
			kill(c->as->pid, SIGKILL);
			pt_mark_dead(c->as, SIGKILL);
			c->dead = true;
			c->wait_status = SIGKILL;
		}
		if (!c->running || c->collected || (!c->dead && !stopped(c)))
			continue;
		c->collected = true; /* reported once per stop */
		c->intr_at = 0;
		st.spin = c->spins && now - c->resumed_at < SPIN_NS;
		pt_run_ended(c, now);
		*out = c;
		*status = 0;
		return 1;
	}
	return 0;
}

int st_ctx_stopped(struct pf_ctx *c, pf_regs *regs, struct pf_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	bool was_running = c->running;
	c->running = false;
	if (c->dead || !c->as || c->as->dead) {
		ev->kind = PF_DEAD;
		ev->status = c->wait_status ? c->wait_status : c->as ? c->as->wait_status : SIGKILL;
		return 0;
	}
	if (!was_running) {
		c->interrupt_pending = false;
		ev->kind = PF_INTERRUPT;
		return 0;
	}
	ucontext_t *uc = stopped(c) ? frame_of(c) : NULL;
	if (!uc) {
		kill(c->as->pid, SIGKILL);
		pt_mark_dead(c->as, SIGKILL);
		c->dead = true;
		ev->kind = PF_DEAD;
		ev->status = SIGKILL;
		return 0;
	}
	regs_from(regs, uc, c);
	int sig = (int)msg_u32(c, MSG_SIGNO), code = (int)msg_u32(c, MSG_CODE);
	uint64_t addr = msg_u64(c, MSG_ADDR);
	if (sig == SIGSYS && code == 1 /* SYS_SECCOMP */) {
		regs->orig_rax = msg_u32(c, MSG_SYSCALL);
		ev->patchable = st.fast && !msg_u32(c, MSG_FAST);
		bool vsyscall = addr >= 0xffffffffff600000UL && addr < 0xffffffffff601000UL;
		ev->kind = vsyscall || msg_u32(c, MSG_ARCH) == AUDIT_ARCH_X86_64 ? PF_SYSCALL
										 : PF_SYSCALL32;
		return 0;
	}
	if (code > 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
			 sig == SIGTRAP)) {
		ev->kind = PF_FAULT;
		ev->signo = sig;
		ev->code = code;
		ev->addr = addr;
		return 0;
	}
	ev->kind = PF_INTERRUPT;
	return 0;
}

/* The legacy FXSAVE region of the parked thread's frame; the software
 * bytes at its end (the xsave magic) are the kernel's, not the guest's. */
#define FX_SW_OFF 464

/* Whether a frame's FPU area is in XSAVE form: the kernel's says so with
 * its software bytes, the fast path's always is. */
static bool xsave_area(const struct pf_ctx *c, const uint8_t *area)
{
	uint32_t magic;
	memcpy(&magic, area + FX_SW_OFF, 4);
	return magic == 0x46505853U /* FP_XSTATE_MAGIC1 */ || msg_u32(c, MSG_FAST);
}

int st_get_fpregs(struct pf_ctx *c, pf_fpregs *fp)
{
	ucontext_t *uc = !c->dead && c->as && stopped(c) ? frame_of(c) : NULL;
	uint8_t *area = uc ? fpstate_of(c, uc) : NULL;
	if (!area)
		return -ESRCH;
	memcpy(fp, area, FX_SW_OFF);
	memset((uint8_t *)fp + FX_SW_OFF, 0, sizeof(*fp) - FX_SW_OFF);
	/* In an XSAVE area a component marked absent is in its initial
	 * state, whatever its bytes say. */
	uint64_t bv = ~0ULL;
	if (xsave_area(c, area))
		memcpy(&bv, area + 512, 8);
	if (!(bv & 1)) {
		fp->cwd = 0x37f;
		fp->swd = fp->ftw = fp->fop = 0;
		fp->rip = fp->rdp = 0;
		memset(fp->st_space, 0, sizeof(fp->st_space));
	}
	if (!(bv & 2))
		memset(fp->xmm_space, 0, sizeof(fp->xmm_space));
	return 0;
}

int st_set_fpregs(struct pf_ctx *c, const pf_fpregs *fp)
{
	ucontext_t *uc = !c->dead && c->as && stopped(c) ? frame_of(c) : NULL;
	uint8_t *area = uc ? fpstate_of(c, uc) : NULL;
	if (!area)
		return -ESRCH;
	memcpy(area, fp, FX_SW_OFF);
	/* In an XSAVE frame, x87 and SSE must be marked present, or the
	 * restore would reset them instead of loading what was written. */
	if (xsave_area(c, area)) {
		uint64_t bv;
		memcpy(&bv, area + 512, 8);
		bv |= 3;
		memcpy(area + 512, &bv, 8);
	}
	/* The fast path puts the FPU back only when told to. */
	__atomic_store_n((uint32_t *)(slot_host(c->slot) + MSG_FPDIRTY), 1, __ATOMIC_RELAXED);
	return 0;
}

void st_ctx_interrupt(struct pf_ctx *c)
{
	struct pf_as *as = c->as;
	if (!as || c->dead || !c->running)
		return;
	if (!c->intr_at) {
		c->intr_at = now_ns();
		c->intr_cpu = pf_ctx_cputime_ns(c);
	}
	if (syscall(SYS_tgkill, as->pid, c->tid, INTERRUPT_SIG) != 0 && errno == ESRCH) {
		/* Its thread is gone (its own doing): report it dead. */
		c->dead = true;
		c->wait_status = SIGKILL;
	}
}

/* ---- the sentry's sleep ---- */
static bool any_stop(bool *running)
{
	*running = false;
	for (struct pf_ctx *c = st.ctxs; c; c = c->st_next) {
		if (!c->running || c->collected)
			continue;
		*running = true;
		if (c->dead || stopped(c))
			return true;
	}
	return false;
}

int pf_idle_arm(int *fd)
{
	*fd = -1;
	if (!st.on)
		return 0;
	bool running;
	if (any_stop(&running))
		return 1;
	if (!running)
		return 0;
	if (st.spin) {
		/* The guest stopped quickly last time: it likely will again. */
		int64_t until = now_ns() + SPIN_NS;
		while (now_ns() < until) {
			for (int i = 0; i < 64; i++)
				__builtin_ia32_pause();
			if (any_stop(&running))
				return 1;
		}
		st.spin = false;
	}
	volatile uint32_t *sleeping = (volatile uint32_t *)st.shm;
	__atomic_store_n(sleeping, 1, __ATOMIC_SEQ_CST);
	if (any_stop(&running)) {
		__atomic_store_n(sleeping, 0, __ATOMIC_SEQ_CST);
		return 1;
	}
	*fd = st.doorbell;
	return 0;
}

void pf_idle_disarm(void)
{
	if (!st.on)
		return;
	__atomic_store_n((volatile uint32_t *)st.shm, 0, __ATOMIC_SEQ_CST);
	st.reap_due = true;
	uint64_t n;
	while (read(st.doorbell, &n, sizeof(n)) == sizeof(n))
		;
}

/* ---- syscall patching: the table's contents (platform.h) ---- */
bool pf_ut_enabled(void)
{
	return st.on && st.fast;
}

void pf_ut_header(uint8_t out[PF_UT_ENTRY], uint32_t used)
{
	memset(out, 0xcc, PF_UT_ENTRY);
	uint64_t fast = STUB_SYM(husk_st_fast);
	memcpy(out + UT_HDR_FAST, &fast, 8);
	memcpy(out + UT_HDR_USED, &used, 4);
}

uint32_t pf_ut_used(const uint8_t hdr[PF_UT_ENTRY])
{
	uint64_t fast;
	uint32_t used;
	memcpy(&fast, hdr + UT_HDR_FAST, 8);
	memcpy(&used, hdr + UT_HDR_USED, 4);
	return fast == STUB_SYM(husk_st_fast) && used <= UT_SIZE / UT_ENTRY ? used : 0;
}

bool pf_ut_stale(const uint8_t hdr[PF_UT_ENTRY])
{
	uint64_t fast;
	memcpy(&fast, hdr + UT_HDR_FAST, 8);
	return fast != STUB_SYM(husk_st_fast);
}

void pf_ut_rebase(uint8_t hdr[PF_UT_ENTRY])
{
	uint32_t used;
	memcpy(&used, hdr + UT_HDR_USED, 4);
	pf_ut_header(hdr, used <= UT_SIZE / UT_ENTRY ? used : UT_SIZE / UT_ENTRY);
}

void pf_ut_entry(uint8_t out[PF_UT_ENTRY], uint64_t entry, uint32_t nr, uint64_t ret)
{
	memset(out, 0xcc, PF_UT_ENTRY); /* int3 between the pieces */
	uint64_t code = entry + UT_CODE;
	memcpy(out + UT_JMP, &code, 8);
	memcpy(out + UT_RET, &ret, 8);
	/* lea entry(%rip), %rcx */
	const uint8_t lea[3] = {0x48, 0x8d, 0x0d};
	int32_t disp = -(UT_CODE + 7);
	memcpy(out + UT_CODE, lea, 3);
	memcpy(out + UT_CODE + 3, &disp, 4);
	/* jmp *UT_BASE: the header's first word, the fast path */
	const uint8_t jmp[3] = {0xff, 0x24, 0x25};
	uint32_t hdr = UT_BASE + UT_HDR_FAST, back = (uint32_t)(entry + UT_RET);
	memcpy(out + UT_CODE + 7, jmp, 3);
	memcpy(out + UT_CODE + 10, &hdr, 4);
	/* The slow way, for a thread whose gs is its own: mov $nr, %eax;
	 * syscall; jmp *UT_RET(entry) */
	out[UT_SLOW] = 0xb8;
	memcpy(out + UT_SLOW + 1, &nr, 4);
	out[UT_SLOW + 5] = 0x0f;
	out[UT_SLOW + 6] = 0x05;
	memcpy(out + UT_SLOW + 7, jmp, 3);
	memcpy(out + UT_SLOW + 10, &back, 4);
	memcpy(out + UT_NR, &nr, 4);
}

int64_t pf_ut_entry_nr(const uint8_t in[PF_UT_ENTRY], uint64_t entry)
{
	uint8_t want[PF_UT_ENTRY];
	uint32_t nr;
	uint64_t ret;
	memcpy(&nr, in + UT_NR, 4);
	memcpy(&ret, in + UT_RET, 8);
	pf_ut_entry(want, entry, nr, ret);
	return memcmp(want, in, PF_UT_ENTRY) == 0 ? (int64_t)nr : -1;
}
