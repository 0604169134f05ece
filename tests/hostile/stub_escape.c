/* Attacks on the stub a guest shares its host process with (most of all
 * systrap's, whose guest threads run untraced).  Each probe runs in its own
 * child; what must never happen is a host syscall of the guest's choosing.
 * The witness is getpid: the sentry answers with the guest's pid, the host
 * kernel would answer with the stub's pid in its own namespace.
 *   - jump to every syscall instruction in the stub page with rax=getpid
 *   - the same with rax=rt_sigreturn and a frame that blocks every signal,
 *     then getpid from the guest's own code
 *   - unmap, reprotect and overwrite the stub page
 *   - install a SIGSYS handler and block SIGSYS through the sentry
 * Prints one line per probe: "contained" or "ESCAPED". */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define STUB 0x7fffffff0000UL

static long guest_pid;

/* Exit status 1: the syscall answered as the sentry would; 2: it did not. */
static void judge(long pid)
{
	_exit(pid == guest_pid ? 1 : 2);
}

static void jump_getpid(uint64_t at)
{
	long r;
	__asm__ volatile("lea 1f(%%rip), %%rcx\n\t"
			 "push %%rcx\n\t"      /* where a ret would come back */
			 "mov $39, %%eax\n\t"
			 "jmp *%1\n\t"
			 "1:"
			 : "=a"(r)
			 : "r"(at)
			 : "rcx", "r11", "memory");
	/* Only the sentry could bring us back here (it returns after the
	 * syscall instruction, inside the stub: we never get here either). */
	judge(r);
}

/* A kernel rt_sigframe at rsp: ucontext with every signal blocked and rip
 * at the continuation, then rt_sigreturn from the stub's instruction. */
static void after_sigreturn(void)
{
	judge(syscall(SYS_getpid));
}

static void jump_sigreturn(uint64_t at)
{
	static uint8_t stack[65536] __attribute__((aligned(64)));
	uint8_t *sp = stack + sizeof(stack) / 2;
	memset(stack, 0, sizeof(stack));
	/* struct ucontext: flags 8, link 8, stack 24, sigcontext 256, mask 8 */
	uint64_t *uc = (uint64_t *)sp;
	uint64_t *g = uc + 5; /* sigcontext: r8..r15 rdi rsi rbp rbx rdx rax rcx rsp rip eflags csgsfs */
	g[15] = (uint64_t)(stack + sizeof(stack) - 256); /* rsp */
	g[16] = (uint64_t)after_sigreturn;              /* rip */
	g[17] = 0x202;                                  /* eflags */
	g[18] = 0x33 | (0x2bUL << 48);                  /* cs, ss */
	uc[5 + 32] = ~0UL;                              /* uc_sigmask: all blocked */
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "mov $15, %%eax\n\t"
			 "jmp *%1"
			 :
			 : "r"(sp), "r"(at)
			 : "memory");
	_exit(3);
}

/* Runs probe(arg) in a child; contained unless it exited 2. */
static void probe(const char *what, void (*fn)(uint64_t), uint64_t arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		guest_pid = syscall(SYS_getpid);
		alarm(2); /* some sites loop (the handler's wait): that is contained too */
		fn(arg);
		_exit(4);
	}
	int st;
	waitpid(pid, &st, 0);
	bool escaped = WIFEXITED(st) && WEXITSTATUS(st) == 2;
	printf("%s: %s\n", what, escaped ? "ESCAPED" : "contained");
}

static void tamper(uint64_t how)
{
	if (how == 0)
		syscall(SYS_munmap, STUB, 0x3000);
	else if (how == 1)
		syscall(SYS_mprotect, STUB, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC);
	else if (how == 2)
		syscall(SYS_mmap, STUB, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	else
		memset((void *)STUB, 0xcc, 16); /* a write to code: a fault */
	judge(syscall(SYS_getpid));
}

static void on_sys(int sig)
{
	(void)sig;
	_exit(2); /* a host SIGSYS reaching guest code would be an escape */
}

static void own_sigsys(uint64_t block)
{
	signal(SIGSYS, on_sys);
	if (block) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGSYS);
		sigprocmask(SIG_BLOCK, &s, NULL);
	}
	judge(syscall(SYS_getpid));
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int sites = 0;
	/* The stub page is readable where a stub maps it (not a guest VMA). */
	pid_t pid = fork();
	if (pid == 0) {
		volatile uint8_t *p = (volatile uint8_t *)STUB;
		int n = 0;
		for (int i = 0; i + 1 < 4096; i++)
			if (p[i] == 0x0f && p[i + 1] == 0x05)
				n++;
		_exit(n > 200 ? 200 : n);
	}
	int st;
	waitpid(pid, &st, 0);
	if (WIFEXITED(st))
		sites = WEXITSTATUS(st);
	for (int i = 0, seen = 0; sites && i + 1 < 4096 && seen < sites; i++) {
		/* Found again in this process, one probe per site. */
		volatile uint8_t *p = (volatile uint8_t *)STUB;
		if (p[i] != 0x0f || p[i + 1] != 0x05)
			continue;
		seen++;
		probe("jump into the stub: getpid", jump_getpid, STUB + (uint64_t)i);
		probe("jump into the stub: rt_sigreturn blocking all", jump_sigreturn, STUB + (uint64_t)i);
	}
	probe("munmap the stub", tamper, 0);
	probe("mprotect the stub writable", tamper, 1);
	probe("map over the stub", tamper, 2);
	probe("write the stub", tamper, 3);
	probe("own SIGSYS handler", own_sigsys, 0);
	probe("SIGSYS blocked", own_sigsys, 1);
	printf("done\n");
	return 0;
}
