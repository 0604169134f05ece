/* brk.c - the program break: query, grow (unaligned), touch, shrink,
 * refuse impossible requests.  Raw syscalls only; libc malloc is never
 * used, so nothing else moves the break. */
#include "guest.h"

static unsigned long sbrk_raw(unsigned long want)
{
	return (unsigned long)syscall(SYS_brk, want);
}

int main(void)
{
	GUEST_INIT();
	unsigned long cur = sbrk_raw(0);
	EXPECT("brk(0) > 0", cur > 0);
	EXPECT("brk(0) stable", sbrk_raw(0) == cur);

	/* Grow by 1 MiB + 123 bytes: Linux returns the exact, unaligned value. */
	unsigned long want = cur + (1UL << 20) + 123;
	unsigned long got = sbrk_raw(want);
	EXPECT("grow returns requested value", got == want);
	EXPECT("brk(0) == new break", sbrk_raw(0) == want);

	/* The new memory is zero-filled and usable up to the break. */
	unsigned char *p = (unsigned char *)cur;
	size_t n = want - cur;
	int zero = 1;
	for (size_t i = 0; i < n; i += 512)
		if (p[i]) zero = 0;
	EXPECT("new heap zero-filled", zero && p[n - 1] == 0);
	fill_pattern(p, n, 1);
	printf("heap checksum: %08x\n", fnv1a(p, n));
	EXPECT("kernel can write heap", kernel_can_write(p + n - 8));

	/* Shrink by half; the rest of the page-rounded old area is gone. */
	unsigned long half = cur + (n / 2);
	EXPECT("shrink returns requested value", sbrk_raw(half) == half);
	unsigned long next_page = (half + PAGE - 1) & ~(PAGE - 1);
	EXPECT("memory above new break unmapped",
	       range_unmapped((void *)(next_page + PAGE), PAGE));
	printf("remaining heap checksum: %08x\n", fnv1a(p, half - cur));

	/* Growing again yields zeroed memory where the old data was. */
	EXPECT("regrow", sbrk_raw(want) == want);
	EXPECT("regrown page zeroed", p[n - 1] == 0 && p[next_page - cur + PAGE] == 0);

	/* Impossible or nonsensical requests fail by returning the old break. */
	unsigned long before = sbrk_raw(0);
	EXPECT("brk(1) returns current", sbrk_raw(1) == before);
	EXPECT("brk(below start) returns current", sbrk_raw(cur - (64UL << 20)) == before);
	EXPECT("brk(+256 TiB) returns current", sbrk_raw(cur + (1UL << 48)) == before);
	EXPECT("brk(non-canonical) returns current",
	       sbrk_raw(0x8000000000000000UL) == before);
	EXPECT("brk(-1) returns current", sbrk_raw(~0UL) == before);

	/* The break cannot grow into an existing mapping. */
	unsigned long top = (before + PAGE - 1) & ~(PAGE - 1);
	void *blocker = raw_mmap((void *)(top + 4 * PAGE), PAGE, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	EXPECT("placed a mapping above the break", blocker == (void *)(top + 4 * PAGE));
	EXPECT("brk into mapping returns current",
	       sbrk_raw(top + 8 * PAGE) == before);
	/* Linux keeps a one-page gap below the next mapping. */
	EXPECT("brk to 1 page below the mapping works",
	       sbrk_raw(top + 3 * PAGE) == top + 3 * PAGE);
	EXPECT("brk 1 byte further returns current",
	       sbrk_raw(top + 3 * PAGE + 1) == top + 3 * PAGE);
	EXPECT("brk right up to the mapping returns current",
	       sbrk_raw(top + 4 * PAGE) == top + 3 * PAGE);
	EXPECT("blocker still mapped", !range_unmapped(blocker, PAGE));

	/* Back to the original break. */
	EXPECT("brk(original)", sbrk_raw(cur) == cur);
	return 0;
}
