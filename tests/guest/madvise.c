/* madvise.c - advice semantics that are observable (DONTNEED zeroes
 * private anonymous memory but not shared), accepted hints, and the
 * argument checks. */
#include "guest.h"

#define MA(label, addr, len, adv)                                          \
	CHECK(label, syscall(SYS_madvise, (void *)(addr), (unsigned long)(len), (long)(adv)))

int main(void)
{
	GUEST_INIT();
	/* Pages 0-7 private, 8-11 a hole. */
	unsigned char *p = map_pages(12, PROT_READ | PROT_WRITE);
	if (syscall(SYS_munmap, p + 8 * PAGE, 4 * PAGE) != 0)
		die("munmap setup");
	fill_pattern(p, 8 * PAGE, 21);
	uint32_t s0 = fnv1a(p, PAGE), s3 = fnv1a(p + 3 * PAGE, PAGE);

	MA("MADV_DONTNEED pages 1-2", p + PAGE, 2 * PAGE, MADV_DONTNEED);
	EXPECT("pages 1-2 read back as zero", p[PAGE] == 0 && p[2 * PAGE + 17] == 0 &&
	       p[3 * PAGE - 1] == 0);
	EXPECT("page 0 untouched", fnv1a(p, PAGE) == s0);
	EXPECT("page 3 untouched", fnv1a(p + 3 * PAGE, PAGE) == s3);
	p[PAGE] = 9;
	EXPECT("zeroed page writable again", p[PAGE] == 9);

	MA("MADV_NORMAL", p, 8 * PAGE, MADV_NORMAL);
	MA("MADV_RANDOM", p, 8 * PAGE, MADV_RANDOM);
	MA("MADV_SEQUENTIAL", p, 8 * PAGE, MADV_SEQUENTIAL);
	MA("MADV_WILLNEED", p, 8 * PAGE, MADV_WILLNEED);
	MA("MADV_DONTFORK", p, 8 * PAGE, MADV_DONTFORK);
	MA("MADV_DOFORK", p, 8 * PAGE, MADV_DOFORK);
	EXPECT("hints keep data", fnv1a(p, PAGE) == s0 && fnv1a(p + 3 * PAGE, PAGE) == s3);
	MA("MADV_FREE page 5", p + 5 * PAGE, PAGE, MADV_FREE);
	p[5 * PAGE] = 3; /* writing after MADV_FREE keeps the page */
	EXPECT("page after MADV_FREE + write", p[5 * PAGE] == 3);

	/* Argument checks. */
	MA("len 0", p, 0, MADV_DONTNEED);
	MA("len 0, unaligned addr", p + 1, 0, MADV_DONTNEED);
	MA("unaligned addr", p + 1, PAGE, MADV_DONTNEED);
	MA("advice 999", p, PAGE, 999);
	MA("advice -1", p, PAGE, -1);
	MA("len -1", p, ~0UL, MADV_NORMAL);
	MA("unmapped range, MADV_NORMAL", p + 8 * PAGE, PAGE, MADV_NORMAL);
	MA("unmapped range, MADV_DONTNEED", p + 8 * PAGE, 2 * PAGE, MADV_DONTNEED);
	MA("NULL page, MADV_DONTNEED", 0, PAGE, MADV_DONTNEED);
	MA("unaligned len rounds up", p + 4 * PAGE, 1, MADV_DONTNEED);
	EXPECT("page 4 zeroed by len 1", p[4 * PAGE + PAGE - 1] == 0);

	/* A range that runs into a hole: mapped part is advised, then ENOMEM. */
	MA("DONTNEED pages 6-9 (mapping then hole)", p + 6 * PAGE, 4 * PAGE, MADV_DONTNEED);
	EXPECT("pages 6-7 zeroed anyway", p[6 * PAGE] == 0 && p[8 * PAGE - 1] == 0);
	EXPECT("page 3 still intact", fnv1a(p + 3 * PAGE, PAGE) == s3);

	/* Shared anonymous memory keeps its contents across MADV_DONTNEED. */
	unsigned char *s = raw_mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		die("mmap shared");
	fill_pattern(s, 4 * PAGE, 22);
	uint32_t ss = fnv1a(s, 4 * PAGE);
	MA("MADV_DONTNEED shared", s, 4 * PAGE, MADV_DONTNEED);
	EXPECT("shared contents preserved", fnv1a(s, 4 * PAGE) == ss);

	/* PROT_NONE memory can be advised too. */
	unsigned char *n = map_pages(2, PROT_NONE);
	MA("MADV_DONTNEED on PROT_NONE", n, 2 * PAGE, MADV_DONTNEED);
	CHECK("libc madvise", madvise(p, PAGE, MADV_NORMAL));
	return 0;
}
