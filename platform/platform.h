/* platform: how guest code runs, and how its syscalls, faults and
 * interruptions are caught.  The sentry (kernel/) drives guest threads through
 * this interface only; the ptrace implementation lives in platform/ptrace/. */
#ifndef HUSK_PLATFORM_H
#define HUSK_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/user.h>

/* Guest general-purpose registers (x86-64 layout, fs_base/gs_base included). */
typedef struct user_regs_struct pf_regs;

/* Guest FPU/SSE state in FXSAVE layout (512 bytes). */
typedef struct user_fpregs_struct pf_fpregs;

enum pf_stop {
	PF_SYSCALL,   /* the guest executed a 64-bit `syscall` instruction */
	PF_SYSCALL32, /* int 0x80 or sysenter: a 32-bit syscall we do not run */
	PF_FAULT,     /* a synchronous fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) */
	PF_INTERRUPT, /* pf_ctx_interrupt() or an external signal stopped it */
	PF_DEAD,      /* the host process running the guest is gone */
};

struct pf_event {
	enum pf_stop kind;
	int signo;     /* PF_FAULT: the host signal */
	int code;      /* PF_FAULT: its si_code (SEGV_MAPERR, ...) */
	uint64_t addr; /* PF_FAULT: si_addr */
	int status;    /* PF_DEAD: the wait status of the host process */
	bool patchable; /* PF_SYSCALL: it trapped the slow way; patching its
			   site (below) would make the next one fast */
};

struct pf_as;  /* one guest address space */
struct pf_ctx; /* one guest thread context */

/* Selects the platform by name ("systrap" or "ptrace"); returns 0,
 * -EINVAL for another name, or -ENOTSUP where systrap cannot run. */
int pf_select(const char *name);
const char *pf_name(void);

/* Lowest and one past the highest address a guest may map. */
uint64_t pf_guest_min(void);
uint64_t pf_guest_max(void);

/* Creates an address space whose mappings come from memfd (the sentry's
 * memory file).  The host process behind it starts empty and confined.
 * All address spaces of a sandbox share one memory file. */
int pf_as_new(int memfd, struct pf_as **out);
void pf_as_free(struct pf_as *as);
/* Ends the sandbox's platform state (its template process). */
void pf_shutdown(void);

/* Gives as two pages of the memory file (off; host: the sentry's mapping
 * of them) for batching: from then on the mapping calls below are queued
 * and run in one go before a context of as next runs (an error then
 * kills the address space, as a failed page-table update would).  The
 * second page is where the stub receives host files' descriptors. */
int pf_as_set_batch(struct pf_as *as, void *host, uint64_t off);

/* Maps [addr, addr+len) to memfd offset off, shared, with prot. */
int pf_as_map(struct pf_as *as, uint64_t addr, uint64_t len, int prot,
	      uint64_t off);
/* The same, with the host's page tables filled now (MAP_POPULATE): for
 * memory already in the memory file that the guest is about to touch,
 * which would otherwise cost a host fault a page. */
int pf_as_map_populated(struct pf_as *as, uint64_t addr, uint64_t len, int prot,
			uint64_t off);
/* Maps [addr, addr+len) to offset off of the host file fd (open
 * read-only: the mapping can never write it), shared, with prot (no
 * PROT_WRITE).  Needs a batch page (pf_as_set_batch); fd is the caller's
 * still (the platform takes a copy while the change is queued). */
int pf_as_map_file(struct pf_as *as, uint64_t addr, uint64_t len, int prot, int fd,
		   uint64_t off);
/* Reserves [addr, addr+len) inaccessible and without backing. */
int pf_as_reserve(struct pf_as *as, uint64_t addr, uint64_t len);
int pf_as_unmap(struct pf_as *as, uint64_t addr, uint64_t len);
int pf_as_protect(struct pf_as *as, uint64_t addr, uint64_t len, int prot);

/* Runs the mapping changes queued for as now, not at its next resume. */
int pf_as_flush(struct pf_as *as);
/* Makes a host thread ahead for the next context of as (systrap: what
 * pf_ctx_new then costs is nothing; a freed context's thread is kept so
 * too, a few an address space).  Nothing where threads are cheap. */
int pf_as_spare_thread(struct pf_as *as);

/* Syscall patching (systrap).  A site `mov $nr,%eax; syscall` (b8 nr 0f
 * 05) that trapped with ev.patchable may be rewritten by the sentry into
 * `jmp *entry` (ff 24 25 entry), entry being one PF_UT_ENTRY-byte slot of
 * a table it maps at PF_UT_BASE, readable and executable, private to the
 * address space.  The jump leads into the platform's signal-free path.
 * The table's first slot is its header.  The address is below 2 GiB (the
 * jump's operand) and its third byte, 0x06, an invalid opcode, takes the
 * place of the old syscall instruction: code that reaches it faults
 * (SIGILL) instead of running half an instruction. */
#define PF_UT_BASE 0x60000
#define PF_UT_SIZE 0x10000
#define PF_UT_ENTRY 64
bool pf_ut_enabled(void);
/* A header with used slots taken (itself included), and its count back
 * (0 for bytes that are not a header). */
void pf_ut_header(uint8_t out[PF_UT_ENTRY], uint32_t used);
uint32_t pf_ut_used(const uint8_t hdr[PF_UT_ENTRY]);
/* A header a snapshot brought (another husk's, whose stub may sit
 * elsewhere): whether it needs pf_ut_rebase, which points it at this
 * platform's path, keeping its count.  Entries jump through the header,
 * so that is all a restored table needs. */
bool pf_ut_stale(const uint8_t hdr[PF_UT_ENTRY]);
void pf_ut_rebase(uint8_t hdr[PF_UT_ENTRY]);
/* The slot at address entry for syscall nr returning to ret, and the
 * number of a slot the platform wrote (-1 for anything else). */
void pf_ut_entry(uint8_t out[PF_UT_ENTRY], uint64_t entry, uint32_t nr, uint64_t ret);
int64_t pf_ut_entry_nr(const uint8_t in[PF_UT_ENTRY], uint64_t entry);

/* Fresh registers for a new guest thread of as: 64-bit user segments, all
 * else zero. */
void pf_regs_init(pf_regs *r, const struct pf_as *as);

/* A thread context runs guest code in as: its first context is the stub
 * process's main thread, later ones are new stub threads.  All contexts
 * are driven from the one host thread that created the first address
 * space (their tracer). */
int pf_ctx_new(struct pf_as *as, struct pf_ctx **out);
void pf_ctx_free(struct pf_ctx *ctx);
/* An opaque pointer the sentry keeps with a context (its task). */
void pf_ctx_set_owner(struct pf_ctx *ctx, void *owner);
void *pf_ctx_owner(const struct pf_ctx *ctx);

/* Runs the guest with regs until it stops; regs then hold its state. */
int pf_ctx_run(struct pf_ctx *ctx, pf_regs *regs, struct pf_event *ev);
/* The same in two halves, for a sentry that runs many contexts at once:
 * pf_ctx_resume lets the guest go, or returns 1 when there is a stop to
 * report without running (a dead context, an interrupt that came during
 * an injection);
 * pf_wait_any reports a context that stopped (1), or none yet (0), and
 * pf_ctx_stopped turns that stop into an event and regs.  alone: no
 * other guest thread of the caller's runs now or lately (the platform
 * then may give this one a CPU of its own, where it spins for answers;
 * threads that take turns are better off sharing the caller's CPU, where
 * a handoff is a switch and not a wakeup of another CPU). */
int pf_ctx_resume(struct pf_ctx *ctx, pf_regs *regs, bool alone);
int pf_wait_any(struct pf_ctx **ctx, int *status);
int pf_ctx_stopped(struct pf_ctx *ctx, int status, pf_regs *regs, struct pf_event *ev);
int pf_ctx_get_fpregs(struct pf_ctx *ctx, pf_fpregs *fp);
int pf_ctx_set_fpregs(struct pf_ctx *ctx, const pf_fpregs *fp);

/* Around the sentry's sleep (its one ppoll): pf_idle_arm spins a little
 * when a guest is likely to stop soon, then returns 1 if a context has
 * stopped already (do not sleep), else 0 with *fd a descriptor to poll
 * for reading as well (-1: none; ptrace stops arrive as SIGCHLD).
 * pf_idle_disarm after the sleep. */
int pf_idle_arm(int *fd);
void pf_idle_disarm(void);

/* Safe from any thread: makes a running context stop with PF_INTERRUPT. */
void pf_ctx_interrupt(struct pf_ctx *ctx);
/* A context resumed beside others has run guest code this long without a
 * stop: it computes, and pf_ctx_long_run lets the platform move its
 * thread to wherever the host finds room (not the sentry's CPU alone). */
#define PF_LONG_RUN_NS 2000000
void pf_ctx_long_run(struct pf_ctx *ctx);

/* Host CPU time the context's guest code has used, in nanoseconds. */
uint64_t pf_ctx_cputime_ns(struct pf_ctx *ctx);

#endif
