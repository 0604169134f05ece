/* mprotect.c - protection changes observed through kernel probes
 * (getrandom writes, writev reads: EFAULT instead of a crash), data
 * preservation, VMA splitting, and the argument checks. */
#include "guest.h"

#define MP(label, addr, len, prot)                                         \
	CHECK(label, syscall(SYS_mprotect, (void *)(addr), (unsigned long)(len), (long)(prot)))

int main(void)
{
	GUEST_INIT();
	/* Pages 0-7 are the test area (pages 6 and 7 stay zero for the read
	 * probe), pages 8-11 are a hole, pages 12-15 another mapping. */
	unsigned char *p = map_pages(16, PROT_READ | PROT_WRITE);
	if (syscall(SYS_munmap, p + 8 * PAGE, 4 * PAGE) != 0)
		die("munmap setup");
	fill_pattern(p, 6 * PAGE, 5);
	uint32_t sum = fnv1a(p, 6 * PAGE);
	uint32_t sum5 = fnv1a(p + 5 * PAGE, PAGE);

	MP("PROT_READ on pages 0-7", p, 8 * PAGE, PROT_READ);
	EXPECT("kernel cannot write read-only page", !kernel_can_write(p + 6 * PAGE));
	EXPECT("kernel can read read-only page", kernel_can_read_zeroed(p + 6 * PAGE));
	EXPECT("data preserved under PROT_READ", fnv1a(p, 6 * PAGE) == sum);

	MP("PROT_NONE on page 6", p + 6 * PAGE, PAGE, PROT_NONE);
	EXPECT("kernel cannot read PROT_NONE page", !kernel_can_read_zeroed(p + 6 * PAGE));
	EXPECT("page 7 still readable", kernel_can_read_zeroed(p + 7 * PAGE));

	MP("PROT_READ|PROT_WRITE on pages 0-7", p, 8 * PAGE, PROT_READ | PROT_WRITE);
	EXPECT("kernel can write again", kernel_can_write(p + 7 * PAGE));
	EXPECT("data preserved after PROT_NONE round trip", fnv1a(p, 6 * PAGE) == sum);
	p[6 * PAGE] = 1;
	p[6 * PAGE] = 0;

	/* Splitting: only the middle page of three becomes read-only. */
	MP("PROT_READ on page 1 only", p + PAGE, PAGE, PROT_READ);
	EXPECT("page 0 writable", kernel_can_write(p));
	EXPECT("page 1 read-only", !kernel_can_write(p + PAGE));
	EXPECT("page 2 writable", kernel_can_write(p + 2 * PAGE));
	MP("PROT_READ|PROT_WRITE page 1", p + PAGE, PAGE, PROT_READ | PROT_WRITE);

	/* Unaligned length rounds up to the page. */
	MP("PROT_READ page 3, len 1", p + 3 * PAGE, 1, PROT_READ);
	EXPECT("page 3 read-only", !kernel_can_write(p + 3 * PAGE + PAGE - 8));
	EXPECT("page 4 writable", kernel_can_write(p + 4 * PAGE));
	MP("PROT_READ|PROT_WRITE page 3", p + 3 * PAGE, PAGE, PROT_READ | PROT_WRITE);

	MP("PROT_EXEC|PROT_READ", p + 5 * PAGE, PAGE, PROT_READ | PROT_EXEC);
	MP("PROT_READ|PROT_WRITE|PROT_EXEC", p + 5 * PAGE, PAGE,
	   PROT_READ | PROT_WRITE | PROT_EXEC);
	MP("PROT_SEM", p + 5 * PAGE, PAGE, PROT_READ | PROT_WRITE | 0x8);

	/* Argument checks. */
	MP("len 0", p, 0, PROT_READ);
	MP("len 0, unaligned addr", p + 1, 0, PROT_READ);
	MP("unaligned addr", p + 1, PAGE, PROT_READ);
	MP("unknown prot bit 0x10", p, PAGE, PROT_READ | 0x10);
	MP("PROT_GROWSDOWN on normal mapping", p, PAGE, PROT_READ | 0x01000000);
	MP("PROT_GROWSDOWN|PROT_GROWSUP", p, PAGE, PROT_READ | 0x03000000);
	MP("len -1", p, ~0UL, PROT_READ);
	MP("unmapped range", p + 8 * PAGE, PAGE, PROT_READ);
	MP("hole first, then mapping", p + 10 * PAGE, 4 * PAGE, PROT_READ);
	EXPECT("mapping after the hole untouched", kernel_can_write(p + 12 * PAGE));
	MP("NULL page", 0, PAGE, PROT_READ);
	MP("kernel half", 0xffff800000000000UL, PAGE, PROT_READ);
	EXPECT("page 7 still writable after failures", kernel_can_write(p + 7 * PAGE));

	/* A range that starts mapped and runs into a hole: Linux changes the
	 * mapped part, then fails with ENOMEM. */
	MP("pages 7-8 (mapping then hole)", p + 7 * PAGE, 2 * PAGE, PROT_READ);
	EXPECT("page 7 became read-only anyway", !kernel_can_write(p + 7 * PAGE));
	EXPECT("page 6 untouched", kernel_can_write(p + 6 * PAGE));

	EXPECT("page 5 data preserved at the end", fnv1a(p + 5 * PAGE, PAGE) == sum5);
	CHECK("libc mprotect", mprotect(p, PAGE, PROT_READ));
	return 0;
}
