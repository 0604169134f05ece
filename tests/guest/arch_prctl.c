/* arch_prctl.c - FS/GS base get/set, TLS access through %fs, and the
 * error paths (unknown code, bad pointer, non-canonical base). */
#include "guest.h"

/* Raw two-argument syscall that touches neither errno nor TLS, for use
 * while %fs points at a fake TCB. */
static inline long rsys2(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline unsigned long read_fs0(void)
{
	unsigned long v;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(v));
	return v;
}
static inline unsigned long read_fs8(void)
{
	unsigned long v;
	__asm__ volatile("mov %%fs:8, %0" : "=r"(v));
	return v;
}
static inline unsigned long read_gs0(void)
{
	unsigned long v;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(v));
	return v;
}
static inline unsigned long read_gs8(void)
{
	unsigned long v;
	__asm__ volatile("mov %%gs:8, %0" : "=r"(v));
	return v;
}

static __thread int tls_var = 5;
static __thread char tls_buf[100];
static unsigned long fake_tcb[64] __attribute__((aligned(64)));
static unsigned long fake_gs[64] __attribute__((aligned(64)));

int main(void)
{
	GUEST_INIT();
	unsigned long fs = 0, gs = 1;

	CHECK("ARCH_GET_FS", syscall(SYS_arch_prctl, (long)ARCH_GET_FS, &fs));
	EXPECT("FS base != 0", fs != 0);
	EXPECT("FS base == %fs:0 (TCB self pointer)", fs == read_fs0());
	CHECK("ARCH_GET_GS", syscall(SYS_arch_prctl, (long)ARCH_GET_GS, &gs));
	EXPECT("initial GS base == 0", gs == 0);

	/* Thread-local storage works through the FS base. */
	EXPECT("tls_var initial 5", tls_var == 5);
	tls_var = 7;
	memset(tls_buf, 'x', sizeof tls_buf);
	EXPECT("tls_var now 7", tls_var == 7);
	EXPECT("tls_buf inside TLS block near FS base",
	       (unsigned long)tls_buf < fs && fs - (unsigned long)tls_buf < 65536);

	/* Point FS at a fake TCB, read through it, restore. No libc calls
	 * in between: libc itself relies on %fs. */
	fake_tcb[0] = (unsigned long)fake_tcb;
	fake_tcb[1] = 0x1122334455667788UL;
	long r1 = rsys2(SYS_arch_prctl, ARCH_SET_FS, (long)fake_tcb);
	unsigned long seen0 = read_fs0(), seen8 = read_fs8(), got = 0;
	long r2 = rsys2(SYS_arch_prctl, ARCH_GET_FS, (long)&got);
	long r3 = rsys2(SYS_arch_prctl, ARCH_SET_FS, (long)fs);
	printf("SET_FS(fake): ret=%ld\n", r1);
	EXPECT("%fs:0 == fake TCB", seen0 == (unsigned long)fake_tcb);
	EXPECT("%fs:8 == fake_tcb[1]", seen8 == 0x1122334455667788UL);
	printf("GET_FS while fake: ret=%ld\n", r2);
	EXPECT("GET_FS returned fake TCB", got == (unsigned long)fake_tcb);
	printf("SET_FS(restore): ret=%ld\n", r3);
	EXPECT("FS restored", read_fs0() == fs && tls_var == 7);

	/* GS is unused by libc: set it, read through it, clear it. */
	fake_gs[0] = 0xabcdef;
	fake_gs[1] = 0x123456;
	CHECK("ARCH_SET_GS", syscall(SYS_arch_prctl, (long)ARCH_SET_GS, fake_gs));
	EXPECT("%gs:0 == fake_gs[0]", read_gs0() == 0xabcdef);
	EXPECT("%gs:8 == fake_gs[1]", read_gs8() == 0x123456);
	CHECK("ARCH_GET_GS", syscall(SYS_arch_prctl, (long)ARCH_GET_GS, &gs));
	EXPECT("GET_GS == fake_gs", gs == (unsigned long)fake_gs);
	/* A hot syscall site (one a sandbox may rewrite) while GS is the
	 * program's own: the calls work and the memory GS points at is left
	 * as it was. */
	pid_t pp = getppid();
	int same = 1;
	for (int i = 0; i < 10; i++)
		same &= getppid() == pp;
	int untouched = fake_gs[0] == 0xabcdef && fake_gs[1] == 0x123456;
	for (int i = 2; i < 64; i++)
		untouched &= fake_gs[i] == 0;
	EXPECT("getppid x10 with GS set: same answer", same);
	EXPECT("memory at GS untouched", untouched);
	EXPECT("%gs:0 still fake_gs[0]", read_gs0() == 0xabcdef);
	CHECK("ARCH_SET_GS(0)", syscall(SYS_arch_prctl, (long)ARCH_SET_GS, 0L));
	CHECK("ARCH_GET_GS", syscall(SYS_arch_prctl, (long)ARCH_GET_GS, &gs));
	EXPECT("GS base back to 0", gs == 0);

	/* Error paths. */
	CHECK("arch_prctl(0x1005)", syscall(SYS_arch_prctl, 0x1005L, &gs));
	CHECK("arch_prctl(0x9999)", syscall(SYS_arch_prctl, 0x9999L, &gs));
	CHECK("arch_prctl(0)", syscall(SYS_arch_prctl, 0L, 0L));
	CHECK("ARCH_GET_FS(NULL)", syscall(SYS_arch_prctl, (long)ARCH_GET_FS, NULL));
	CHECK("ARCH_GET_FS(bad)", syscall(SYS_arch_prctl, (long)ARCH_GET_FS, BAD_LOW));
	CHECK("ARCH_GET_GS(bad)", syscall(SYS_arch_prctl, (long)ARCH_GET_GS, BAD_NONCANON));
	CHECK("ARCH_SET_FS(non-canonical)",
	      syscall(SYS_arch_prctl, (long)ARCH_SET_FS, BAD_NONCANON));
	CHECK("ARCH_SET_GS(non-canonical)",
	      syscall(SYS_arch_prctl, (long)ARCH_SET_GS, BAD_NONCANON));
	CHECK("ARCH_GET_FS after errors", syscall(SYS_arch_prctl, (long)ARCH_GET_FS, &got));
	EXPECT("FS base unchanged", got == fs);
	return 0;
}
