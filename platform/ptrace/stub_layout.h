/* The stub's fixed layout, shared by its assembly (stub.S) and the
 * platforms' C code.  Numbers only: the assembler includes it too. */
#ifndef HUSK_STUB_LAYOUT_H
#define HUSK_STUB_LAYOUT_H

/* The stub page sits near the top of the user address space; the batch
 * page follows it, then (systrap) the global page.  Guests map below. */
#define STUB_ADDR 0x7fffffff0000
#define STUB_SIZE 0x1000
#define USER_TOP 0x7ffffffff000
#define GLOBAL_OFF 0x2000 /* the global page, from STUB_ADDR */

/* Descriptor numbers inside the stub process. */
#define STUB_MEMFD 3
#define SYSMSG_FD 4   /* systrap: slots and the global page */
#define DOORBELL_FD 5 /* systrap: an eventfd the sentry polls */

/* systrap: each guest thread's slot, SLOT_SIZE-aligned at the same
 * address in every stub: a message page, then its signal stack. */
#define SLOTS_BASE 0x7ff000000000
#define SLOT_SIZE 0x10000
#define MAX_SLOTS 8192

/* The message page. */
#define MSG_STATE 0    /* u32, the futex word: */
#define ST_RUNNING 0   /*   in the guest */
#define ST_EVENT 1     /*   stopped, for the sentry to look at */
#define ST_RESUME 2    /*   the sentry is done: go on */
#define MSG_SLEEPING 4 /* u32: the stub waits in futex, not spinning */
#define MSG_SIGNO 8
#define MSG_CODE 12
#define MSG_SYSCALL 16
#define MSG_ARCH 20
#define MSG_ADDR 24
#define MSG_UCTX 32
#define MSG_FS 40
#define MSG_GS 48
#define MSG_ALTSTACK 64 /* a stack_t for sigaltstack */

/* How long the stub spins for an answer before it sleeps (pause loops). */
#define SPIN_LOOPS 4000

#endif
