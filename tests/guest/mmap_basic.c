/* mmap_basic.c - anonymous mappings: zero fill, read/write, alignment,
 * placement hints, MAP_FIXED replacement, shared anonymous memory. */
#include "guest.h"

int main(void)
{
	GUEST_INIT();
	const unsigned long len = 64 * PAGE;
	unsigned char *p = raw_mmap(NULL, len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT("mmap private anon", p != MAP_FAILED);
	if (p == MAP_FAILED)
		return 1;
	EXPECT("page aligned", ((unsigned long)p & (PAGE - 1)) == 0);
	int zero = 1;
	for (unsigned long i = 0; i < len; i++)
		if (p[i]) { zero = 0; break; }
	EXPECT("zero filled", zero);
	EXPECT("kernel can write it", kernel_can_write(p + 100));
	fill_pattern(p, len, 7);
	printf("checksum: %08x\n", fnv1a(p, len));

	/* Length is rounded up to whole pages. */
	unsigned char *q = raw_mmap(NULL, 100, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT("mmap 100 bytes", q != MAP_FAILED);
	q[PAGE - 1] = 1;
	EXPECT("whole page usable", q[PAGE - 1] == 1 && q[0] == 0);
	CHECK("munmap 100 bytes", syscall(SYS_munmap, q, 100L));
	EXPECT("page gone", range_unmapped(q, PAGE));

	/* fd and offset: fd is ignored for MAP_ANONYMOUS, page-aligned offsets
	 * are accepted. */
	void *r = raw_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, 1000, 0);
	EXPECT("anon with fd=1000", r != MAP_FAILED);
	r = raw_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 16 * PAGE);
	EXPECT("anon with offset 16 pages", r != MAP_FAILED);

	/* A free hint address is honoured exactly. */
	unsigned char *h = map_pages(4, PROT_READ);
	CHECK("munmap hole", syscall(SYS_munmap, h, 4 * PAGE));
	unsigned char *h2 = raw_mmap(h + PAGE, PAGE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT("free hint honoured", h2 == h + PAGE);
	/* An occupied hint is not an error: the kernel picks another place. */
	unsigned char *h3 = raw_mmap(h2, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT("occupied hint moved elsewhere", h3 != MAP_FAILED && h3 != h2);
	/* An unaligned hint is rounded, not an error. */
	unsigned char *h4 = raw_mmap(h + 2 * PAGE + 5, PAGE, PROT_READ,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT("unaligned hint ok and page aligned",
	       h4 != MAP_FAILED && ((unsigned long)h4 & (PAGE - 1)) == 0);

	/* MAP_FIXED replaces existing pages with fresh zero pages. */
	unsigned char *f = raw_mmap(p + 8 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	EXPECT("MAP_FIXED over existing", f == p + 8 * PAGE);
	EXPECT("replaced pages zeroed", f[0] == 0 && f[2 * PAGE - 1] == 0);
	EXPECT("neighbours intact", p[8 * PAGE - 1] != 0 || p[8 * PAGE - 2] != 0);
	printf("checksum after MAP_FIXED: %08x\n", fnv1a(p, len));

	/* MAP_FIXED_NOREPLACE into a free range works exactly there. */
	CHECK("munmap 2 pages", syscall(SYS_munmap, p + 20 * PAGE, 2 * PAGE));
	f = raw_mmap(p + 20 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	EXPECT("MAP_FIXED_NOREPLACE into hole", f == p + 20 * PAGE);

	/* Shared anonymous memory behaves like ordinary memory in-process. */
	unsigned char *s = raw_mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	EXPECT("mmap shared anon", s != MAP_FAILED);
	EXPECT("shared zero filled", s[0] == 0 && s[8 * PAGE - 1] == 0);
	fill_pattern(s, 8 * PAGE, 9);
	printf("shared checksum: %08x\n", fnv1a(s, 8 * PAGE));

	/* PROT_NONE mappings exist but are not accessible. */
	unsigned char *n = raw_mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT("PROT_NONE mapping", n != MAP_FAILED);
	EXPECT("PROT_NONE not kernel writable", !kernel_can_write(n));
	EXPECT("PROT_NONE not kernel readable", !kernel_can_read_zeroed(n));
	EXPECT("PROT_NONE still occupies its range", !range_unmapped(n, PAGE));

	/* Large sparse mapping: only touched pages matter. */
	unsigned char *big = raw_mmap(NULL, 1UL << 30, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	EXPECT("1 GiB MAP_NORESERVE", big != MAP_FAILED);
	if (big != MAP_FAILED) {
		for (unsigned long off = 0; off < (1UL << 30); off += 64UL << 20)
			big[off] = (unsigned char)(off >> 20);
		unsigned sum = 0;
		for (unsigned long off = 0; off < (1UL << 30); off += 64UL << 20)
			sum += big[off] + big[off + 1];
		printf("sparse sum: %u\n", sum);
		CHECK("munmap 1 GiB", syscall(SYS_munmap, big, 1UL << 30));
	}

	/* libc wrapper agrees. */
	void *w = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT("libc mmap", w != MAP_FAILED);
	CHECK("libc munmap", munmap(w, PAGE));
	return 0;
}
