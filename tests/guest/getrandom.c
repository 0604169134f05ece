/* getrandom.c - lengths and flags; only statistics-free facts about the
 * bytes are printed. */
#include "guest.h"

static int all_zero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i]) return 0;
	return 1;
}

int main(void)
{
	GUEST_INIT();
	unsigned char a[64], b[64], big[4096];
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	CHECK("getrandom(64, 0)", syscall(SYS_getrandom, a, 64L, 0L));
	CHECK("getrandom(64, 0) again", syscall(SYS_getrandom, b, 64L, 0L));
	EXPECT("not all zero", !all_zero(a, 64));
	EXPECT("two buffers differ", memcmp(a, b, 64) != 0);
	CHECK("getrandom(64, GRND_NONBLOCK)", syscall(SYS_getrandom, a, 64L, (long)GRND_NONBLOCK));
	CHECK("getrandom(64, GRND_RANDOM)", syscall(SYS_getrandom, a, 64L, (long)GRND_RANDOM));
	CHECK("getrandom(64, GRND_RANDOM|GRND_NONBLOCK)",
	      syscall(SYS_getrandom, a, 64L, (long)(GRND_RANDOM | GRND_NONBLOCK)));
	CHECK("getrandom(64, GRND_INSECURE)", syscall(SYS_getrandom, a, 64L, (long)GRND_INSECURE));
	CHECK("getrandom(256, 0)", syscall(SYS_getrandom, big, 256L, 0L));
	memset(big, 0, sizeof big);
	CHECK("getrandom(1, 0)", syscall(SYS_getrandom, big, 1L, 0L));
	EXPECT("only 1 byte written", all_zero(big + 1, sizeof big - 1));
	CHECK("getrandom(0, 0)", syscall(SYS_getrandom, a, 0L, 0L));
	CHECK("getrandom(NULL, 0, 0)", syscall(SYS_getrandom, NULL, 0L, 0L));
	CHECK("getrandom(bad, 0, 0)", syscall(SYS_getrandom, BAD_LOW, 0L, 0L));

	/* Byte histogram over 4 KiB: every byte value can't be missing. */
	long n = syscall(SYS_getrandom, big, (long)sizeof big, 0L);
	EXPECT("getrandom(4096) returned > 0", n > 0);
	int seen[256] = {0}, distinct = 0;
	for (long i = 0; i < n; i++)
		seen[big[i]] = 1;
	for (int i = 0; i < 256; i++)
		distinct += seen[i];
	EXPECT("more than 128 distinct byte values in 4 KiB", n == 4096 && distinct > 128);

	CHECK("getrandom(flags 8)", syscall(SYS_getrandom, a, 64L, 8L));
	CHECK("getrandom(flags 0x100)", syscall(SYS_getrandom, a, 64L, 0x100L));
	CHECK("getrandom(flags -1)", syscall(SYS_getrandom, a, 64L, -1L));
	CHECK("getrandom(GRND_INSECURE|GRND_RANDOM)",
	      syscall(SYS_getrandom, a, 64L, (long)(GRND_INSECURE | GRND_RANDOM)));
	CHECK("getrandom(bad, 64, 0)", syscall(SYS_getrandom, BAD_LOW, 64L, 0L));
	CHECK("getrandom(non-canonical, 64, 0)", syscall(SYS_getrandom, BAD_NONCANON, 64L, 0L));
	CHECK("getrandom(bad, 64, flags 8) flags first", syscall(SYS_getrandom, BAD_LOW, 64L, 8L));
	unsigned char *ro = map_pages(1, PROT_READ);
	CHECK("getrandom(read-only, 16)", syscall(SYS_getrandom, ro, 16L, 0L));
	EXPECT("read-only page still zero", all_zero(ro, PAGE));
	/* Runs into a PROT_NONE page: the accessible prefix is filled. */
	unsigned char *two = map_pages(2, PROT_READ | PROT_WRITE);
	if (syscall(SYS_mprotect, two + PAGE, PAGE, (long)PROT_NONE) != 0)
		die("mprotect");
	CHECK("getrandom(16 bytes before PROT_NONE, 64)",
	      syscall(SYS_getrandom, two + PAGE - 16, 64L, 0L));
	CHECK("libc getentropy(32)", getentropy(a, 32));
	return 0;
}
