/* stack_grow.c - the main thread's stack grows on demand: recurse
 * through 4 MiB of 64 KiB frames (well inside the usual 8 MiB limit),
 * touching every page, and check the data on the way back up. */
#include "guest.h"

#define FRAME (64 * 1024)

static unsigned long deepest;

static __attribute__((noinline)) uint32_t dive(int depth)
{
	volatile unsigned char buf[FRAME];
	for (int i = 0; i < FRAME; i += 512)
		buf[i] = (unsigned char)(depth + i / 512);
	if ((unsigned long)buf < deepest || deepest == 0)
		deepest = (unsigned long)buf;
	uint32_t below = depth > 0 ? dive(depth - 1) : 0;
	uint32_t h = below;
	for (int i = 0; i < FRAME; i += 512)
		h = h * 31 + buf[i];
	return h;
}

int main(void)
{
	GUEST_INIT();
	struct rlimit rl;
	getrlimit(RLIMIT_STACK, &rl);
	EXPECT("RLIMIT_STACK >= 6 MiB (else test not meaningful)",
	       rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (6UL << 20));
	unsigned long top = (unsigned long)&rl;
	uint32_t h = dive(63);
	printf("checksum over 64 frames: %08x\n", h);
	EXPECT("used more than 4 MiB of stack", top - deepest >= (4UL << 20));
	/* Second pass reuses the already-grown stack. */
	EXPECT("second pass same checksum", dive(63) == h);
	return 0;
}
