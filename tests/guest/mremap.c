/* mremap.c - shrink, grow in place, move (MAYMOVE/FIXED), data
 * preservation, and the argument checks. */
#include "guest.h"

#define MR(label, old, olen, nlen, flags, naddr)                           \
	CHECK_OK(label, syscall(SYS_mremap, (void *)(old), (unsigned long)(olen), \
				(unsigned long)(nlen), (long)(flags), (void *)(naddr)))

static void *mr(void *old, unsigned long olen, unsigned long nlen, long flags, void *naddr)
{
	long r = syscall(SYS_mremap, old, olen, nlen, flags, naddr);
	return r == -1 ? MAP_FAILED : (void *)r;
}

int main(void)
{
	GUEST_INIT();
	/* Reserve 16 pages, keep pages 0-3 with data, free pages 4-15. */
	unsigned char *p = map_pages(16, PROT_READ | PROT_WRITE);
	if (syscall(SYS_munmap, p + 4 * PAGE, 12 * PAGE) != 0)
		die("munmap setup");
	fill_pattern(p, 4 * PAGE, 11);
	uint32_t s01 = fnv1a(p, 2 * PAGE), s0123 = fnv1a(p, 4 * PAGE);

	/* Shrink in place. */
	void *r = mr(p, 4 * PAGE, 2 * PAGE, 0, NULL);
	EXPECT("shrink 4->2 pages in place", r == p);
	EXPECT("shrunk data intact", fnv1a(p, 2 * PAGE) == s01);
	EXPECT("pages 2-3 released", range_unmapped(p + 2 * PAGE, 2 * PAGE));

	/* Grow in place into the free space: new pages are zero. */
	r = mr(p, 2 * PAGE, 6 * PAGE, 0, NULL);
	EXPECT("grow 2->6 pages in place", r == p);
	EXPECT("old data intact", fnv1a(p, 2 * PAGE) == s01);
	EXPECT("grown pages zero", p[2 * PAGE] == 0 && p[6 * PAGE - 1] == 0);
	fill_pattern(p + 2 * PAGE, 2 * PAGE, 12);
	p[5 * PAGE] = 0x55;

	/* Growing into an occupied range fails without MAYMOVE... */
	unsigned char *blk = raw_mmap(p + 8 * PAGE, PAGE, PROT_READ,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	EXPECT("blocker placed", blk == p + 8 * PAGE);
	MR("grow 6->10 pages blocked, no MAYMOVE", p, 6 * PAGE, 10 * PAGE, 0, 0);
	EXPECT("still 6 pages at p", !range_unmapped(p, 6 * PAGE) && p[5 * PAGE] == 0x55);

	/* ...and moves with MAYMOVE, preserving the data. */
	unsigned char *m = mr(p, 6 * PAGE, 10 * PAGE, MREMAP_MAYMOVE, NULL);
	EXPECT("grow with MAYMOVE", m != MAP_FAILED);
	EXPECT("moved elsewhere", m != p);
	EXPECT("moved data intact", fnv1a(m, 2 * PAGE) == s01 && m[5 * PAGE] == 0x55);
	EXPECT("old range now unmapped", range_unmapped(p, 6 * PAGE));
	EXPECT("tail zero", m[10 * PAGE - 1] == 0);
	EXPECT("moved mapping writable by kernel", kernel_can_write(m + 9 * PAGE));

	/* MREMAP_FIXED moves to an exact address, replacing what is there. */
	unsigned char *dst = map_pages(12, PROT_READ | PROT_WRITE);
	memset(dst, 0xee, 12 * PAGE);
	unsigned char *f = mr(m, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst + 4 * PAGE);
	EXPECT("MREMAP_FIXED to dst+4 pages", f == dst + 4 * PAGE);
	EXPECT("data arrived", fnv1a(f, 2 * PAGE) == s01);
	EXPECT("neighbours at dst untouched", dst[4 * PAGE - 1] == 0xee && dst[6 * PAGE] == 0xee);
	EXPECT("source pages gone", range_unmapped(m, 2 * PAGE));
	EXPECT("rest of the source stays", !range_unmapped(m + 2 * PAGE, 8 * PAGE) &&
	       m[5 * PAGE] == 0x55);
	/* MREMAP_FIXED may also shrink. */
	f = mr(m + 2 * PAGE, 4 * PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	EXPECT("MREMAP_FIXED shrinking move", f == dst);
	EXPECT("first page data moved", f[0] != 0xee);
	EXPECT("all 4 source pages gone", range_unmapped(m + 2 * PAGE, 4 * PAGE));
	(void)s0123;

	/* Argument checks. */
	unsigned char *a = map_pages(2, PROT_READ | PROT_WRITE);
	MR("unaligned old address", a + 1, PAGE, PAGE, 0, 0);
	MR("new_len 0", a, PAGE, 0, 0, 0);
	MR("unknown flag 8", a, PAGE, PAGE, 8 | MREMAP_MAYMOVE, 0);
	MR("MREMAP_FIXED without MAYMOVE", a, PAGE, PAGE, MREMAP_FIXED, dst);
	MR("MREMAP_FIXED unaligned new address", a, PAGE, PAGE,
	   MREMAP_MAYMOVE | MREMAP_FIXED, dst + 1);
	MR("MREMAP_FIXED onto itself", a, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, a);
	MR("MREMAP_DONTUNMAP without MAYMOVE", a, PAGE, PAGE, MREMAP_DONTUNMAP, 0);
	MR("MREMAP_DONTUNMAP with size change", a, PAGE, 2 * PAGE,
	   MREMAP_DONTUNMAP | MREMAP_MAYMOVE, 0);
	MR("old_len 0 on a private mapping", a, 0, PAGE, MREMAP_MAYMOVE, 0);
	MR("unmapped old address", p, PAGE, PAGE, 0, 0);
	MR("unmapped old address, MAYMOVE", p, PAGE, 2 * PAGE, MREMAP_MAYMOVE, 0);
	MR("old_len beyond the mapping", a, 3 * PAGE, 4 * PAGE, MREMAP_MAYMOVE, 0);
	MR("growing a range that spans two mappings", dst, 12 * PAGE, 13 * PAGE,
	   MREMAP_MAYMOVE, 0);
	MR("new_len 1<<62", a, PAGE, 1UL << 62, MREMAP_MAYMOVE, 0);
	MR("non-canonical old address", BAD_NONCANON, PAGE, PAGE, 0, 0);
	MR("same size, no flags", a, 2 * PAGE, 2 * PAGE, 0, 0);
	MR("unaligned lengths are rounded", a, PAGE + 1, PAGE + 2, 0, 0);
	EXPECT("a still mapped", !range_unmapped(a, 2 * PAGE));

	unsigned char *o = map_pages(4, PROT_READ | PROT_WRITE);
	o[0] = 1;
	MR("MREMAP_FIXED overlapping ranges", o, 2 * PAGE, 2 * PAGE,
	   MREMAP_MAYMOVE | MREMAP_FIXED, o + PAGE);
	MR("MREMAP_FIXED overlapping ranges (new below old)", o + PAGE, 2 * PAGE, 2 * PAGE,
	   MREMAP_MAYMOVE | MREMAP_FIXED, o);
	EXPECT("o untouched", o[0] == 1 && !range_unmapped(o, PAGE) &&
	       !range_unmapped(o + 3 * PAGE, PAGE));
	/* Adjacent (not overlapping) ranges are fine. */
	unsigned char *o2 = mr(o, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, o + PAGE);
	EXPECT("MREMAP_FIXED to the adjacent page", o2 == o + PAGE && o2[0] == 1);
	EXPECT("source page gone", range_unmapped(o, PAGE));

	a[0] = 0x77;
	unsigned char *b = mremap(a, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
	EXPECT("libc mremap grow", b != MAP_FAILED && b[0] == 0x77 && b[4 * PAGE - 1] == 0);
	return 0;
}
