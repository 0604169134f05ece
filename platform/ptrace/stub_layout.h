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
#define STUB_FDSOCK 6 /* the sandbox's socket of host files to map */
/* Where a received file lands: the lowest free number (0-2 are closed),
 * closed again right after its mapping. */
#define STUB_RECV_FD 0

/* systrap: each guest thread's slot, SLOT_SIZE-aligned at the same
 * address in every stub: a message page (the fast path's stack at its
 * top), the fast path's frame, then the signal stack. */
#define SLOTS_BASE 0x7ff000000000
#define SLOT_SIZE 0x10000
#define MAX_SLOTS 8192
#define FAST_STACK 0x1000 /* top of the fast path's stack */
#define FAST_UC 0x1000    /* its frame: a kernel struct ucontext, */
#define FAST_FP 0x1140    /* then an XSAVE area (64-byte aligned) */
#define FAST_END 0x4000
#define ALTSTACK_OFF 0x4000

/* The global page: the sentry writes it, every stub reads it. */
#define GLOBAL_SLEEPING 0 /* u32: the sentry sleeps; ring the doorbell */
#define GLOBAL_XMASK 8    /* u64: the XSAVE features the fast path saves */

/* struct ucontext (the kernel's) and its sigcontext registers. */
#define UC_GREGS 40
#define UC_R8 40
#define UC_R9 48
#define UC_R10 56
#define UC_R11 64
#define UC_R12 72
#define UC_R13 80
#define UC_R14 88
#define UC_R15 96
#define UC_RDI 104
#define UC_RSI 112
#define UC_RBP 120
#define UC_RBX 128
#define UC_RDX 136
#define UC_RAX 144
#define UC_RCX 152
#define UC_RSP 160
#define UC_RIP 168
#define UC_EFL 176
#define UC_FPREGS 224
#define UC_SIGMASK 296

/* Syscall patching (systrap): a guest's `mov $nr,%eax; syscall` becomes
 * `jmp *entry` through a table of UT_ENTRY-byte entries at UT_BASE (low,
 * so the address fits the jump's 32 bits, and its third byte, 0x06, lands
 * where the syscall instruction was: an invalid opcode).  The table's
 * first entry is its header: the fast path's address, then the number of
 * entries in use. */
#define UT_BASE 0x60000
#define UT_SIZE 0x10000
#define UT_ENTRY 64
#define UT_HDR_FAST 0  /* u64 */
#define UT_HDR_USED 8  /* u32, entries in use, the header included */
/* An entry: */
#define UT_JMP 0   /* u64: address of UT_CODE, what the patched jump reads */
#define UT_RET 8   /* u64: the address after the patched site */
#define UT_CODE 16 /* lea entry(%rip),%rcx; jmp *UT_BASE (the fast path) */
#define UT_SLOW 30 /* mov $nr,%eax; syscall; jmp *UT_RET(entry) */
#define UT_NR 48   /* u32 */

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
#define MSG_SELF 96     /* u64: the slot's own address (the fast path's check) */
#define MSG_INTR 104    /* u32: an interrupt came during the fast path */
#define MSG_FPDIRTY 108 /* u32: the sentry rewrote the fast frame's FPU state */
#define MSG_FAST 112    /* u32: this stop came through the fast path */
/* u32: how long to spin for the answer (pause loops), set by the sentry at
 * each resume; the stub spins SPIN_LOOPS at most, whatever a guest that
 * rewrites it says, so that a stub told to sleep beside the sentry never
 * spins there for long. */
#define MSG_SPIN 116

/* The signal the sentry interrupts a running guest thread with
 * (SIGSTKFLT), and the ones the stub's handler looks at itself. */
#define INTERRUPT_SIGNO 16
#define SIGSEGV_NO 11
#define SIGSYS_NO 31

/* How long a stub on a CPU of its own spins for an answer before it
 * sleeps (pause loops, about 40 us). */
#define SPIN_LOOPS 4000

#endif
