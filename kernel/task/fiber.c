/* Fibers: each task runs its part of the sentry on a stack of its own, so
 * that a syscall that has to wait (a pipe read, wait4, a futex) simply
 * yields to the scheduler and resumes later where it stopped, as a
 * goroutine does in gVisor.  All fibers run on the sentry's one host
 * thread, one at a time: the sentry needs no locks. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>

#include "../sentry.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
/* The sanitizer follows stack switches only when told. */
#define FIBER_STACK (1024 * 1024UL)
#else
#define FIBER_STACK (256 * 1024UL)
#endif

struct k_fiber {
	void *sp; /* its saved stack pointer while switched away */
	void *stack;
	size_t stack_size;
	void *map;
	size_t map_len;
	void (*fn)(void *);
	void *arg;
	bool done;
	void *fake_stack; /* ASan's bookkeeping while switched away */
};

static void *sched_sp;
static struct k_fiber *current;
static void *sched_fake_stack;
static const void *sched_stack_bottom;
static size_t sched_stack_size;

static void before_switch(void **fake, const void *bottom, size_t size)
{
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_start_switch_fiber(fake, bottom, size);
#else
	(void)fake, (void)bottom, (void)size;
#endif
}

static void after_switch(void *fake, const void **bottom, size_t *size)
{
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_finish_switch_fiber(fake, bottom, size);
#else
	(void)fake, (void)bottom, (void)size;
#endif
}

/* Saves the callee-saved registers (and the x87 and SSE control words, as
 * the ABI asks) on the current stack, stores its pointer in *save, and
 * resumes what load saved: a tenth of swapcontext's cost, and no signal
 * mask syscalls (the sentry keeps one mask everywhere). */
__attribute__((naked, noinline)) static void ctx_switch(void **save __attribute__((unused)),
							 void *load __attribute__((unused)))
{
	__asm__ volatile("push %rbp\n\t"
			 "push %rbx\n\t"
			 "push %r12\n\t"
			 "push %r13\n\t"
			 "push %r14\n\t"
			 "push %r15\n\t"
			 "sub $8, %rsp\n\t"
			 "stmxcsr (%rsp)\n\t"
			 "fnstcw 4(%rsp)\n\t"
			 "mov %rsp, (%rdi)\n\t"
			 "mov %rsi, %rsp\n\t"
			 "ldmxcsr (%rsp)\n\t"
			 "fldcw 4(%rsp)\n\t"
			 "add $8, %rsp\n\t"
			 "pop %r15\n\t"
			 "pop %r14\n\t"
			 "pop %r13\n\t"
			 "pop %r12\n\t"
			 "pop %rbx\n\t"
			 "pop %rbp\n\t"
			 "ret\n\t");
}

static void fiber_start(void)
{
	struct k_fiber *f = current;
	after_switch(NULL, &sched_stack_bottom, &sched_stack_size);
	f->fn(f->arg);
	f->done = true;
	/* Gone for good: ASan may drop this stack's fake frames. */
	before_switch(NULL, sched_stack_bottom, sched_stack_size);
	void *unused;
	ctx_switch(&unused, sched_sp);
	__builtin_unreachable();
}

int fiber_new(void (*fn)(void *), void *arg, struct k_fiber **out)
{
	struct k_fiber *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	/* A guard page below the stack turns an overflow into a crash, not
	 * a write into the heap. */
	f->map_len = FIBER_STACK + PAGE_SIZE;
	f->map = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (f->map == MAP_FAILED) {
		free(f);
		return -ENOMEM;
	}
	mprotect(f->map, PAGE_SIZE, PROT_NONE);
	f->stack = (char *)f->map + PAGE_SIZE;
#if defined(__SANITIZE_ADDRESS__)
	/* The range may have been an earlier fiber's stack: forget its frames. */
	ASAN_UNPOISON_MEMORY_REGION(f->stack, FIBER_STACK);
#endif
	f->stack_size = FIBER_STACK;
	f->fn = fn;
	f->arg = arg;
	/* The first switch "returns" into fiber_start as if it were called:
	 * a zero return address above, six registers and the control words
	 * below (MXCSR 0x1f80, x87 control word 0x37f: their defaults). */
	uint64_t *sp = (uint64_t *)((char *)f->stack + FIBER_STACK);
	*--sp = 0;
	*--sp = (uint64_t)(uintptr_t)fiber_start;
	for (int i = 0; i < 6; i++)
		*--sp = 0;
	*--sp = 0x1f80ULL | (0x37fULL << 32);
	f->sp = sp;
	*out = f;
	return 0;
}

void fiber_free(struct k_fiber *f)
{
	if (!f)
		return;
	munmap(f->map, f->map_len);
	free(f);
}

bool fiber_switch(struct k_fiber *f)
{
	current = f;
	before_switch(&sched_fake_stack, f->stack, f->stack_size);
	ctx_switch(&sched_sp, f->sp);
	after_switch(sched_fake_stack, NULL, NULL);
	current = NULL;
	return f->done;
}

void fiber_yield(void)
{
	struct k_fiber *f = current;
	before_switch(&f->fake_stack, sched_stack_bottom, sched_stack_size);
	ctx_switch(&f->sp, sched_sp);
	after_switch(f->fake_stack, &sched_stack_bottom, &sched_stack_size);
}

bool fiber_active(void)
{
	return current != NULL;
}
