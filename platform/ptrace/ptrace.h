/* Internal to the ptrace platform. */
#ifndef HUSK_PLATFORM_PTRACE_H
#define HUSK_PLATFORM_PTRACE_H

#include <stdbool.h>
#include <sys/types.h>

#include "../platform.h"

/* The stub page sits at the top of the user address space; guests map
 * below it. */
#define STUB_ADDR 0x7fffffff0000UL
#define STUB_SIZE 0x1000UL
#define USER_TOP 0x7ffffffff000UL
/* The batch page: the sentry writes queued mapping changes into it
 * (through its own mapping of the memory file); the stub, which sees it
 * read-only, runs them in one go. */
#define BATCH_ADDR (STUB_ADDR + STUB_SIZE)
#define BATCH_MAX ((int)(4096 / 64))
/* The memory file's descriptor number inside the stub process. */
#define STUB_MEMFD 3

struct pf_ctx;

struct pf_as {
	pid_t pid;         /* host pid of the stub process (its main thread) */
	pf_regs tmpl;      /* registers at the ready stop: valid segments */
	bool main_taken;   /* the main thread runs a context */
	bool dead;
	int wait_status;
	struct pf_ctx *ctxs; /* the contexts of this address space */
	uint64_t (*batch)[8]; /* the batch page as the sentry sees it; NULL: none */
	int nbatch;          /* queued entries */
};

struct pf_ctx {
	struct pf_as *as;
	pid_t tid;
	int bound_cpu;          /* the CPU the stub thread is pinned to, or -1 */
	bool running;           /* resumed, its stop not yet collected */
	bool interrupt_pending; /* an interrupt arrived during an injection */
	bool dead;              /* its host thread is gone */
	int wait_status;
	void *owner;
	struct pf_ctx *next;    /* in as->ctxs */
	struct pf_ctx *hnext;   /* in the tid hash */
};

/* Starts a confined stub process traced by the calling thread; on success
 * it is stopped at its ready trap.  Returns 0 or -errno. */
int stub_spawn(int memfd, pid_t *pid);

#endif
