/* munmap.c - unmapping whole, partial and absent ranges, and the
 * argument checks. */
#include "guest.h"

int main(void)
{
	GUEST_INIT();
	/* Own 48 pages: 0-15 read/write (the test area), 16-31 PROT_NONE (a
	 * separate mapping), 32-47 unmapped.  Nothing outside is touched. */
	unsigned char *p = map_pages(48, PROT_READ | PROT_WRITE);
	if (syscall(SYS_mprotect, p + 16 * PAGE, 16 * PAGE, (long)PROT_NONE) != 0)
		die("mprotect setup");
	if (syscall(SYS_munmap, p + 32 * PAGE, 16 * PAGE) != 0)
		die("munmap setup");
	fill_pattern(p, 16 * PAGE, 3);
	uint32_t before_01 = fnv1a(p, 2 * PAGE);
	uint32_t before_lo = fnv1a(p, 4 * PAGE), before_hi = fnv1a(p + 5 * PAGE, 11 * PAGE);

	CHECK("munmap len 0", syscall(SYS_munmap, p, 0L));
	CHECK("munmap unaligned addr", syscall(SYS_munmap, p + 1, PAGE));
	CHECK("munmap len 1<<62", syscall(SYS_munmap, p, 1UL << 62));
	CHECK("munmap non-canonical", syscall(SYS_munmap, BAD_NONCANON, PAGE));
	CHECK("munmap kernel half", syscall(SYS_munmap, 0xffff800000000000UL, PAGE));
	CHECK("munmap len -1", syscall(SYS_munmap, p, ~0UL));
	CHECK("munmap NULL page (nothing there)", syscall(SYS_munmap, NULL, PAGE));
	EXPECT("still mapped after errors", !range_unmapped(p, 16 * PAGE));

	/* Punch a one-page hole in the middle (unaligned length rounds up). */
	CHECK("munmap middle page, len 1", syscall(SYS_munmap, p + 4 * PAGE, 1L));
	EXPECT("hole is unmapped", range_unmapped(p + 4 * PAGE, PAGE));
	EXPECT("kernel cannot write the hole", !kernel_can_write(p + 4 * PAGE));
	EXPECT("low part intact", fnv1a(p, 4 * PAGE) == before_lo);
	EXPECT("high part intact", fnv1a(p + 5 * PAGE, 11 * PAGE) == before_hi);
	CHECK("munmap the hole again", syscall(SYS_munmap, p + 4 * PAGE, PAGE));

	/* One call across mapping, hole, mapping. */
	CHECK("munmap across the hole", syscall(SYS_munmap, p + 2 * PAGE, 6 * PAGE));
	EXPECT("range gone", range_unmapped(p + 2 * PAGE, 6 * PAGE));
	EXPECT("pages 0-1 intact", !range_unmapped(p, 2 * PAGE) &&
	       fnv1a(p, 2 * PAGE) == before_01);
	EXPECT("pages 8-15 intact", !range_unmapped(p + 8 * PAGE, 8 * PAGE));

	/* One call across the end of a mapping, another mapping and a hole. */
	CHECK("munmap pages 14-45", syscall(SYS_munmap, p + 14 * PAGE, 32 * PAGE));
	EXPECT("pages 8-13 intact", !range_unmapped(p + 8 * PAGE, 6 * PAGE));
	EXPECT("pages 14-47 gone", range_unmapped(p + 14 * PAGE, 34 * PAGE));

	/* Remap the hole and see fresh zero pages. */
	unsigned char *q = raw_mmap(p + 2 * PAGE, 6 * PAGE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	EXPECT("refill the hole", q == p + 2 * PAGE);
	EXPECT("refilled pages are zero", q[0] == 0 && q[6 * PAGE - 1] == 0);

	CHECK("munmap everything", syscall(SYS_munmap, p, 14 * PAGE));
	EXPECT("all gone", range_unmapped(p, 48 * PAGE));
	CHECK("munmap everything again", syscall(SYS_munmap, p, 48 * PAGE));
	CHECK("libc munmap of nothing", munmap(p, PAGE));
	return 0;
}
