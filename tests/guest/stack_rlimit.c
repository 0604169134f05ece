/* The stack grows on demand up to RLIMIT_STACK, including a limit raised
 * after the program started; past the limit the overflow is a SIGSEGV. */
#include "guest.h"

static volatile int limit_depth = 1 << 30;

static unsigned long use_stack(int depth)
{
	volatile unsigned char pad[16384];
	pad[0] = (unsigned char)depth;
	pad[sizeof(pad) - 1] = (unsigned char)(depth >> 8);
	if (depth <= 0 || depth > limit_depth)
		return pad[0];
	return use_stack(depth - 1) + pad[0] + pad[sizeof(pad) - 1];
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	no_core_dumps();
	struct rlimit rl;
	getrlimit(RLIMIT_STACK, &rl);
	rl.rlim_cur = 64UL << 20;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
		rl.rlim_cur = rl.rlim_max;
	printf("raise RLIMIT_STACK to 64 MiB: %d\n", setrlimit(RLIMIT_STACK, &rl));
	/* 2000 frames of 16 KiB: about 32 MiB of stack. */
	printf("deep recursion checksum: %lu\n", use_stack(2000) % 1000);
	rl.rlim_cur = 40UL << 20;
	setrlimit(RLIMIT_STACK, &rl);
	printf("within 40 MiB again: %lu\n", use_stack(2000) % 1000);
	printf("now past the limit (dies of SIGSEGV)\n");
	printf("%lu\n", use_stack(4000));
	return 0;
}
