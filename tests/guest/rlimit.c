/* rlimit.c - getrlimit/setrlimit/prlimit64: consistency between the
 * three interfaces, lowering and restoring soft limits, argument checks.
 * The (inherited) limit values themselves are never printed. */
#include "guest.h"

static const char *const names[16] = {
	"CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE",
	"MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME",
};

int main(void)
{
	GUEST_INIT();
	long pid = syscall(SYS_getpid);
	char label[96];
	for (int r = 0; r < 16; r++) {
		struct k_rlimit64 g = {1, 2}, p0 = {3, 4}, pp = {5, 6};
		long a = syscall(SYS_getrlimit, (long)r, &g);
		long b = syscall(SYS_prlimit64, 0L, (long)r, NULL, &p0);
		long c = syscall(SYS_prlimit64, pid, (long)r, NULL, &pp);
		printf("RLIMIT_%s: getrlimit=%ld prlimit64(0)=%ld prlimit64(pid)=%ld\n",
		       names[r], a, b, c);
		snprintf(label, sizeof label, "RLIMIT_%s consistent", names[r]);
		EXPECT(label, g.cur == p0.cur && g.max == p0.max && p0.cur == pp.cur &&
		       p0.max == pp.max);
		snprintf(label, sizeof label, "RLIMIT_%s cur <= max", names[r]);
		EXPECT(label, g.cur <= g.max);
	}

	/* Lower the NOFILE soft limit and restore it. */
	struct k_rlimit64 orig, cur, set;
	syscall(SYS_prlimit64, 0L, (long)RLIMIT_NOFILE, NULL, &orig);
	EXPECT("NOFILE hard >= 64", orig.max >= 64);
	set.cur = 64;
	set.max = orig.max;
	CHECK("setrlimit(NOFILE, 64/hard)", syscall(SYS_setrlimit, (long)RLIMIT_NOFILE, &set));
	syscall(SYS_getrlimit, (long)RLIMIT_NOFILE, &cur);
	printf("NOFILE soft now: %llu\n", (unsigned long long)cur.cur);
	EXPECT("NOFILE hard unchanged", cur.max == orig.max);
	struct k_rlimit64 old = {0, 0};
	CHECK("prlimit64(0, NOFILE, orig, &old)",
	      syscall(SYS_prlimit64, 0L, (long)RLIMIT_NOFILE, &orig, &old));
	printf("old soft returned by prlimit64: %llu\n", (unsigned long long)old.cur);
	syscall(SYS_getrlimit, (long)RLIMIT_NOFILE, &cur);
	EXPECT("NOFILE restored", cur.cur == orig.cur && cur.max == orig.max);

	/* Soft above hard is invalid; so is raising NOFILE past nr_open. */
	set.cur = orig.max == K_RLIM_INFINITY ? orig.max : orig.max + 1;
	set.max = orig.max == K_RLIM_INFINITY ? 1 : orig.max;
	CHECK("setrlimit(NOFILE, soft > hard)", syscall(SYS_setrlimit, (long)RLIMIT_NOFILE, &set));
	set.cur = set.max = K_RLIM_INFINITY;
	CHECK("setrlimit(NOFILE, infinity)", syscall(SYS_setrlimit, (long)RLIMIT_NOFILE, &set));
	syscall(SYS_getrlimit, (long)RLIMIT_NOFILE, &cur);
	EXPECT("NOFILE unchanged by failures", cur.cur == orig.cur && cur.max == orig.max);

	/* CORE: lower both limits (permitted without privilege). */
	set.cur = 0;
	set.max = 0;
	CHECK("setrlimit(CORE, 0/0)", syscall(SYS_setrlimit, (long)RLIMIT_CORE, &set));
	syscall(SYS_getrlimit, (long)RLIMIT_CORE, &cur);
	printf("CORE now: %llu/%llu\n", (unsigned long long)cur.cur, (unsigned long long)cur.max);
	set.cur = 0;
	set.max = 0;
	CHECK("setrlimit(CORE, 0/0) again", syscall(SYS_setrlimit, (long)RLIMIT_CORE, &set));

	/* Setting the same value back is always allowed. */
	syscall(SYS_getrlimit, (long)RLIMIT_STACK, &cur);
	CHECK("setrlimit(STACK, unchanged)", syscall(SYS_setrlimit, (long)RLIMIT_STACK, &cur));

	/* libc wrappers. */
	struct rlimit lr;
	CHECK("libc getrlimit(NOFILE)", getrlimit(RLIMIT_NOFILE, &lr));
	EXPECT("libc agrees", lr.rlim_cur == orig.cur && lr.rlim_max == orig.max);
	CHECK("libc setrlimit(NOFILE, same)", setrlimit(RLIMIT_NOFILE, &lr));

	/* Argument checks. */
	CHECK("getrlimit(16)", syscall(SYS_getrlimit, 16L, &cur));
	CHECK("getrlimit(100)", syscall(SYS_getrlimit, 100L, &cur));
	CHECK("getrlimit(-1)", syscall(SYS_getrlimit, -1L, &cur));
	CHECK("setrlimit(16)", syscall(SYS_setrlimit, 16L, &cur));
	CHECK("prlimit64(0, 16)", syscall(SYS_prlimit64, 0L, 16L, NULL, &cur));
	CHECK("prlimit64(0, 16, NULL, NULL)", syscall(SYS_prlimit64, 0L, 16L, NULL, NULL));
	CHECK("prlimit64(0, NOFILE, NULL, NULL)",
	      syscall(SYS_prlimit64, 0L, (long)RLIMIT_NOFILE, NULL, NULL));
	CHECK("getrlimit(NOFILE, NULL)", syscall(SYS_getrlimit, (long)RLIMIT_NOFILE, NULL));
	CHECK("getrlimit(NOFILE, bad)", syscall(SYS_getrlimit, (long)RLIMIT_NOFILE, BAD_LOW));
	CHECK("setrlimit(NOFILE, bad)", syscall(SYS_setrlimit, (long)RLIMIT_NOFILE, BAD_LOW));
	CHECK("prlimit64(0, NOFILE, bad new)",
	      syscall(SYS_prlimit64, 0L, (long)RLIMIT_NOFILE, BAD_LOW, NULL));
	CHECK("prlimit64(0, NOFILE, NULL, bad old)",
	      syscall(SYS_prlimit64, 0L, (long)RLIMIT_NOFILE, NULL, BAD_LOW));
	CHECK("prlimit64(-1, NOFILE)", syscall(SYS_prlimit64, -1L, (long)RLIMIT_NOFILE, NULL, &cur));
	CHECK("prlimit64(0x0fffffff, NOFILE)",
	      syscall(SYS_prlimit64, 0x0fffffffL, (long)RLIMIT_NOFILE, NULL, &cur));
	CHECK("prlimit64(0, 16, bad, bad)", syscall(SYS_prlimit64, 0L, 16L, BAD_LOW, BAD_LOW));
	return 0;
}
