/* thread_fpu.c - a new thread starts with the FPU control state of the
 * thread that made it (clone copies it), whatever threads that ended
 * before had set: their own rounding modes and exception masks leave with
 * them.  Threads are made and ended in turn, so that a platform keeping
 * ended threads' host threads for new ones is seen to hand each over
 * clean. */
#include "guest.h"

#include <pthread.h>

static unsigned mxcsr_get(void)
{
	unsigned v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void mxcsr_set(unsigned v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}

static unsigned short fcw_get(void)
{
	unsigned short v;
	__asm__ volatile("fnstcw %0" : "=m"(v));
	return v;
}

static void fcw_set(unsigned short v)
{
	__asm__ volatile("fldcw %0" : : "m"(v));
}

/* Reports what it starts with, then leaves something else behind. */
static void *scribbler(void *arg)
{
	unsigned *seen = arg;
	seen[0] = mxcsr_get() & 0xffbf; /* (DAZ aside: not every CPU has it) */
	seen[1] = fcw_get();
	mxcsr_set(0x7f80 | 0x6000); /* round toward zero, all masked */
	fcw_set(0x0c7f);            /* x87: round toward zero */
	volatile double x = 1.0;
	x /= 3.0;
	(void)x;
	return NULL;
}

static void round_of_threads(const char *what)
{
	for (int i = 0; i < 6; i++) {
		unsigned seen[2];
		pthread_t th;
		if (pthread_create(&th, NULL, scribbler, seen) || pthread_join(th, NULL)) {
			printf("%s: thread %d failed\n", what, i);
			return;
		}
		printf("%s: thread %d starts with mxcsr %#x fcw %#x\n", what, i, seen[0], seen[1]);
	}
}

int main(void)
{
	round_of_threads("default");
	/* The maker's own settings are what the next threads inherit. */
	mxcsr_set(0x1f80 | 0x4000); /* round up */
	fcw_set(0x087f);            /* x87: round up */
	round_of_threads("round up");
	mxcsr_set(0x1f80);
	fcw_set(0x037f);
	round_of_threads("back to default");
	return 0;
}
