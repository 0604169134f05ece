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
 *   - systrap's fast path (found through a patched syscall site): enter it
 *     with a forged table entry, at every byte of its code, with gs
 *     pointing at guest memory dressed as a slot, and from a thread whose
 *     gs is another thread's slot, and looping in its wait with the alarm
 *     that should end it absorbed (the sentry kills it)
 *   - tell its own slot to spin for ever before each of ten 10 ms sleeps
 *     (a stub that obeyed would burn the whole 100 ms, on the sentry's
 *     CPU; it spins 40 us at most)
 *   - scribble over the page through which the stub receives the host
 *     files it maps, before and while mapping one: a view that shows
 *     another file's bytes counts as an escape
 * Prints one line per probe: "contained" or "ESCAPED". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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

/* The stub's descriptor page (FDMSG_ADDR): writable in its process. */
#define FDMSG (STUB + 0x3000)

static volatile int scribbling = 1;

static void *scribble(void *arg)
{
	(void)arg;
	uint64_t n = 0;
	while (scribbling)
		for (int i = 0; i < 512; i++)
			((volatile uint64_t *)FDMSG)[i] = ++n * 0x9e3779b97f4a7c15ULL;
	return NULL;
}

/* Maps this binary many times and checks every view against pread; the
 * descriptor page is garbage first, and with race != 0 a thread keeps it
 * so throughout.  Exit 1: every view right (or killed); 2: a view lied. */
static void fdmsg_probe(uint64_t race)
{
	memset((void *)FDMSG, 0xa5, 4096);
	pthread_t th;
	if (race && pthread_create(&th, NULL, scribble, NULL) != 0)
		_exit(3);
	int fd = open("/proc/self/exe", O_RDONLY);
	static uint8_t want[4096];
	if (fd < 0 || pread(fd, want, sizeof want, 0) != (ssize_t)sizeof want)
		_exit(3);
	for (int i = 0; i < 200; i++) {
		uint8_t *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			continue;
		if (memcmp(p, want, sizeof want) != 0)
			_exit(2);
		munmap(p, 4096);
	}
	scribbling = 0;
	if (race)
		pthread_join(th, NULL);
	_exit(1);
}

/* Runs probe(arg) in a child; contained unless it exited 2. */
static void probe(const char *what, void (*fn)(uint64_t), uint64_t arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		guest_pid = syscall(SYS_getpid);
		ualarm(300000, 0); /* some sites loop (the handler's wait): contained too */
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

/* ---- systrap's fast path ---- */
static uint64_t fast;  /* its entry point, read from the patch table */
static uint8_t *forged; /* a table entry of our own, below 2 GiB */

/* Follows getppid's patched jump: the entry, its code's jump through the
 * table header, the header's first word.  0 when there is no patch. */
static uint64_t find_fast(void)
{
	for (int i = 0; i < 3; i++)
		getppid();
	const uint8_t *p = (const uint8_t *)getppid;
	if (p[0] != 0xff || p[1] != 0x24 || p[2] != 0x25)
		return 0;
	uint32_t entry, hdr;
	memcpy(&entry, p + 3, 4);
	const uint8_t *code = (const uint8_t *)*(const uint64_t *)(uintptr_t)entry;
	if (code[7] != 0xff || code[8] != 0x24 || code[9] != 0x25)
		return 0;
	memcpy(&hdr, code + 10, 4);
	return *(const uint64_t *)(uintptr_t)hdr;
}

/* An entry as the sentry writes them (mov $nr; syscall; jmp *ret for its
 * slow way at 30, the number at 48); ret is set by each jump. */
static void forge(void)
{
	forged = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (forged == MAP_FAILED) {
		forged = NULL;
		return;
	}
	memset(forged, 0xcc, 64);
	const uint8_t slow[] = {0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xff, 0x24, 0x25};
	memcpy(forged + 30, slow, sizeof(slow));
	uint32_t back = (uint32_t)(uintptr_t)(forged + 8), nr = 39;
	memcpy(forged + 40, &back, 4);
	memcpy(forged + 48, &nr, 4);
}

/* rcx = the forged entry, rax = getpid, into the fast path at off. */
static void fast_jump(uint64_t off)
{
	long r;
	__asm__ volatile("lea 1f(%%rip), %%rdx\n\t"
			 "mov %%rdx, 8(%[e])\n\t"
			 "mov %[e], %%rcx\n\t"
			 "mov $39, %%eax\n\t"
			 "jmp *%[to]\n\t"
			 "1:"
			 : "=a"(r)
			 : [e] "r"(forged), [to] "r"(fast + off)
			 : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
			   "r14", "r15", "memory");
	judge(r);
}

/* gs at guest memory that holds its own address where a slot would. */
static void fake_slot(uint64_t unused)
{
	(void)unused;
	static uint8_t page[65536] __attribute__((aligned(65536)));
	uint64_t self = (uint64_t)page;
	memcpy(page + 96, &self, 8);
	__asm__ volatile("wrgsbase %0" : : "r"(self) : "memory");
	fast_jump(0);
}

static volatile uint64_t main_gs;
static volatile int spin_on = 1;

static void *borrow(void *arg)
{
	(void)arg;
	__asm__ volatile("wrgsbase %0" : : "r"(main_gs) : "memory");
	fast_jump(0);
	return NULL;
}

/* A thread whose gs is the main thread's slot, while that one runs. */
static void other_slot(uint64_t unused)
{
	(void)unused;
	uint64_t gs;
	__asm__ volatile("rdgsbase %0" : "=r"(gs));
	main_gs = gs;
	pthread_t t;
	if (pthread_create(&t, NULL, borrow, NULL) != 0)
		_exit(4);
	while (spin_on)
		;
}

/* The wait loop's futex part (found back from the fast path: the compare
 * with ST_RESUME before `mov $202,%eax`), entered with the thread's own
 * slot while it is not stopped: futex returns at once, the loop spins,
 * and the interrupt for the alarm is absorbed.  The sentry's deadline
 * must end it (a kill), not let it spin forever. */
static void wait_loop(uint64_t unused)
{
	(void)unused;
	const uint8_t *p = (const uint8_t *)fast;
	uint64_t at = 0;
	for (int i = 1; i < 512 && !at; i++)
		if (p[-i] == 0xb8 && p[-i + 1] == 202 && !p[-i + 2] && !p[-i + 3] && !p[-i + 4])
			for (int j = i; j < i + 40; j++)
				if (p[-j] == 0x83 && p[-j + 1] == 0x3b && p[-j + 2] == 0x02) {
					at = fast - (uint64_t)j;
					break;
				}
	if (!at)
		_exit(2); /* the stub changed: fix this probe */
	uint64_t gs;
	__asm__ volatile("rdgsbase %0" : "=r"(gs));
	__asm__ volatile("mov %0, %%rbx\n\tjmp *%1" : : "r"(gs), "r"(at) : "rbx", "memory");
}

/* systrap: the slot's spin count (MSG_SPIN) at its largest before each
 * sleep; the process's CPU time must stay far below the time slept. */
static void spin_forever(uint64_t unused)
{
	(void)unused;
	uint64_t gs;
	__asm__ volatile("rdgsbase %0" : "=r"(gs));
	struct timespec a, b, nap = {0, 10000000};
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (int i = 0; i < 10; i++) {
		*(volatile uint32_t *)(gs + 116) = 0xffffffffu;
		syscall(SYS_nanosleep, &nap, NULL);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	_exit(ms < 50 ? 1 : 2);
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
	probe("descriptor page scribbled", fdmsg_probe, 0);
	probe("descriptor page scribbled while mapping", fdmsg_probe, 1);
	fast = find_fast();
	forge();
	if (fast && forged) {
		printf("fast path: found\n");
		probe("fast path: forged entry", fast_jump, 0);
		int bad = 0;
		for (uint64_t off = 1; off < 1024; off++) {
			fflush(stdout);
			pid_t c = fork();
			if (c == 0) {
				guest_pid = syscall(SYS_getpid);
				ualarm(100000, 0);
				fast_jump(off);
			}
			int cst;
			waitpid(c, &cst, 0);
			bad += WIFEXITED(cst) && WEXITSTATUS(cst) == 2;
		}
		printf("fast path: every byte: %s\n", bad ? "ESCAPED" : "contained");
		probe("fast path: gs at a fake slot", fake_slot, 0);
		probe("fast path: another thread's slot", other_slot, 0);
		probe("fast path: spinning in the stub's wait", wait_loop, 0);
		probe("slot told to spin for ever", spin_forever, 0);
	} else {
		printf("fast path: none\n");
	}
	printf("done\n");
	return 0;
}
