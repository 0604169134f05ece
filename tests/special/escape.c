/* Tries to reach the host kernel around the sentry: a `syscall` the guest
 * places at an address of its choosing, the stub's own syscall instruction,
 * and int 0x80.  Under husk each must be handled by the sentry (or refused),
 * never run by the host.  Run only under husk; see escape.expected. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Calls code at fn as a function taking (nr, a0, a1, a2) that runs
 * `syscall; ret`. */
typedef long (*sysfn)(long nr, long a0, long a1, long a2);

static long raw_at(void *code, long nr, long a0, long a1, long a2)
{
	long ret;
	register long r10 __asm__("r10") = 0;
	__asm__ volatile("call *%[fn]"
			 : "=a"(ret)
			 : [fn] "r"(code), "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	/* 1. A syscall instruction in a page the guest wrote itself. */
	unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return 1;
	const unsigned char code[] = {0x0f, 0x05, 0xc3}; /* syscall; ret */
	memcpy(page + 100, code, sizeof(code));
	printf("own syscall getpid: %ld\n", raw_at(page + 100, SYS_getpid, 0, 0, 0));
	printf("own syscall getppid: %ld\n", raw_at(page + 100, SYS_getppid, 0, 0, 0));
	/* The host would run this; the sentry does not implement it. */
	printf("own syscall reboot: %ld\n", raw_at(page + 100, SYS_reboot, 0, 0, 0));

	/* 2. int 0x80: the 32-bit ABI (eax 20 is getpid, 1 is exit there). */
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
	printf("int 0x80 getpid: %ld\n", r);
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(1L), "b"(7L) : "memory");
	printf("int 0x80 exit: %ld\n", r);

	/* 3. The stub's own syscall instruction, which the stub's seccomp
	 * filter admits for the sentry's injections.  Under ptrace it is
	 * still a trapped guest syscall, followed by int3: the guest dies of
	 * SIGTRAP after the write.  Under systrap a guest thread's filter
	 * kills it for any syscall from the stub page but the handful its
	 * own handler makes (escape.systrap.expected). */
	static const char msg[] = "stub syscall write: handled by the sentry\n";
	void *stub_syscall = (void *)0x7fffffff0048UL;
	raw_at(stub_syscall, SYS_write, 1, (long)msg, sizeof(msg) - 1);
	printf("not reached\n");
	return 0;
}
