/* A handler runs between two instructions of the interrupted code and must
 * leave no trace: general registers and SSE registers are restored by
 * rt_sigreturn, the red zone below the stack pointer survives. */
#include "guest.h"

static void clobber(int sig)
{
	(void)sig;
	/* Scribble over caller-saved registers, as any handler may. */
	__asm__ volatile("mov $-1, %%r8\n\tmov $-1, %%r9\n\tmov $-1, %%r10\n\tmov $-1, %%r11\n\t"
			 "pcmpeqd %%xmm8, %%xmm8\n\tpcmpeqd %%xmm15, %%xmm15\n\t"
			 "pcmpeqd %%xmm0, %%xmm0"
			 :
			 :
			 : "r8", "r9", "r10", "r11", "xmm0", "xmm8", "xmm15", "memory");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGUSR1, clobber);
	long pid = getpid(), tid = syscall(SYS_gettid);
	uint64_t r8 = 0x1111, r9 = 0x2222, r10 = 0x3333, x8 = 0x4444, x15 = 0x5555;
	uint64_t o8, o9, o10, ox8, ox15, rz;
	/* tgkill(pid, tid, SIGUSR1): the handler runs as the syscall returns. */
	__asm__ volatile("mov %[r8], %%r8\n\t"
			 "mov %[r9], %%r9\n\t"
			 "mov %[r10], %%r10\n\t"
			 "movq %[x8], %%xmm8\n\t"
			 "movq %[x15], %%xmm15\n\t"
			 "movq $0x6666, -64(%%rsp)\n\t"
			 "mov $234, %%eax\n\t"
			 "syscall\n\t"
			 "mov %%r8, %[o8]\n\t"
			 "mov %%r9, %[o9]\n\t"
			 "mov %%r10, %[o10]\n\t"
			 "movq %%xmm8, %[ox8]\n\t"
			 "movq %%xmm15, %[ox15]\n\t"
			 "mov -64(%%rsp), %[rz]"
			 : [o8] "=&m"(o8), [o9] "=&m"(o9), [o10] "=&m"(o10), [ox8] "=&m"(ox8),
			   [ox15] "=&m"(ox15), [rz] "=&r"(rz)
			 : [r8] "r"(r8), [r9] "r"(r9), [r10] "r"(r10), [x8] "r"(x8), [x15] "r"(x15),
			   "D"(pid), "S"(tid), "d"((long)SIGUSR1)
			 : "rax", "rcx", "r8", "r9", "r10", "r11", "xmm8", "xmm15", "memory");
	printf("r8 %s, r9 %s, r10 %s\n", o8 == r8 ? "kept" : "lost", o9 == r9 ? "kept" : "lost",
	       o10 == r10 ? "kept" : "lost");
	printf("xmm8 %s, xmm15 %s\n", ox8 == x8 ? "kept" : "lost", ox15 == x15 ? "kept" : "lost");
	printf("red zone %s\n", rz == 0x6666 ? "kept" : "lost");
	return 0;
}
