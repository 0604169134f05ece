/* Internal to the ptrace platform. */
#ifndef HUSK_PLATFORM_PTRACE_H
#define HUSK_PLATFORM_PTRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../platform.h"

#include "stub_layout.h"

/* The batch page: the sentry writes queued mapping changes into it
 * (through its own mapping of the memory file); the stub, which sees it
 * read-only, runs them in one go. */
#define BATCH_ADDR (STUB_ADDR + STUB_SIZE)
#define BATCH_MAX ((int)(4096 / 64))
/* The descriptor page: a struct msghdr (and its buffers) through which
 * the stub receives the host file a queued mapping needs, writable in the
 * stub (recvmsg writes it back).  The guest could scribble on it, but the
 * kernel writes there only what guest code could itself, and the file
 * always lands at STUB_RECV_FD, whatever the message says. */
#define FDMSG_ADDR (STUB_ADDR + 0x3000)
/* A file a batch maps is received once and held in the stub, at
 * HELD_FD + i, until the batch's end (the memory image backs most of a
 * restored process's mappings): up to HELD_MAX at a time.  Below 64: a
 * descriptor past a process's first 64 grows its table, which for a
 * table its threads share waits out an RCU grace period (14 ms here). */
#define HELD_FD 16
#define HELD_MAX 8

struct pf_ctx;

/* systrap: a slot the address space's process has mapped, and the guest
 * thread that has it (or had it: reusable once that thread is gone). */
struct st_owned {
	int slot;
	pid_t tid;
	bool busy;
	bool spare; /* its thread is parked, for the next context to take */
};

struct pf_as {
	pid_t pid;         /* host pid of the stub process (its main thread) */
	pf_regs tmpl;      /* registers at the ready stop: valid segments */
	bool main_taken;   /* the main thread runs a context */
	bool dead;
	int wait_status;
	struct pf_ctx *ctxs; /* the contexts of this address space */
	uint64_t (*batch)[8]; /* the batch page as the sentry sees it; NULL: none */
	int nbatch;          /* queued entries */
	uint8_t *fdmsg;      /* the descriptor page as the sentry sees it */
	int fds[BATCH_MAX];  /* copies of the files queued mappings receive */
	int nfds;
	struct {
		dev_t dev;
		ino_t ino;
	} held[HELD_MAX];    /* the files the queued batch holds, at HELD_FD + i */
	int nheld;
	int main_cpu;        /* the CPU its main thread is pinned to (+1; 0: none) */
	struct st_owned *owned; /* systrap: its slots */
	int nowned, capowned;
	struct pf_as *st_next;  /* systrap: every live address space */
};

/* Where a guest thread may run: anywhere, on the sentry's CPU alone, or
 * on every CPU but the sentry's (unset: as its thread was made, which
 * may be any of them). */
enum pt_place { PT_UNSET, PT_ANY, PT_WITH, PT_AWAY };

struct pf_ctx {
	struct pf_as *as;
	pid_t tid;
	enum pt_place place;    /* where its thread may run (pt_place) */
	int place_cpu;          /* the sentry's CPU then, or -1 */
	int64_t resumed_at;     /* when it last went into the guest */
	bool long_run;          /* its last (or this) run is longer than PF_LONG_RUN_NS */
	bool running;           /* resumed, its stop not yet collected */
	bool interrupt_pending; /* an interrupt arrived during an injection */
	bool dead;              /* its host thread is gone */
	int wait_status;
	void *owner;
	struct pf_ctx *next;    /* in as->ctxs */
	struct pf_ctx *hnext;   /* in the tid hash */
	int slot;               /* systrap: its slot */
	bool collected;         /* systrap: its stop was reported by pf_wait_any */
	bool spins;             /* systrap: resumed alone, it spins for answers */
	int64_t intr_at;        /* systrap: when an unanswered interrupt was sent */
	uint64_t intr_cpu;      /* systrap: its process's CPU time then */
	struct pf_ctx *st_next; /* systrap: every context */
};

/* ptrace.c's stub machinery, for systrap.c. */
void pt_place(struct pf_ctx *ctx, enum pt_place where, int cpu);
void pt_run_ended(struct pf_ctx *ctx, int64_t now);
long pt_inject(struct pf_as *as, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
	       uint64_t a4, uint64_t a5);
int pt_new_thread(struct pf_as *as, pid_t *tid);
int pt_flush(struct pf_as *as);
int pt_wait_stop(pid_t tid, int *status);
void pt_mark_dead(struct pf_as *as, int status);

/* Starts a confined stub process traced by the calling thread; on success
 * it is stopped at its ready trap.  Returns 0 or -errno.  With sysmsg and
 * doorbell (>= 0) it is a systrap stub: they become SYSMSG_FD and
 * DOORBELL_FD, and its filter traps guest syscalls.  fdsock becomes
 * STUB_FDSOCK. */
int stub_spawn(int memfd, int sysmsg, int doorbell, int fdsock, pid_t *pid);
/* The guest threads' filter (a struct sock_fprog) in the stub page. */
uint64_t stub_guest_filter_addr(void);

#endif
