/* mmap_errors.c - mmap argument validation: lengths, flags, alignment,
 * address range, MAP_FIXED_NOREPLACE conflicts, file-backed requests
 * with bad fds. */
#include "guest.h"

#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define M(label, addr, len, prot, flags, fd, off)                          \
	CHECK_OK(label, syscall(SYS_mmap, (void *)(addr), (unsigned long)(len), \
				(long)(prot), (long)(flags), (long)(fd), (long)(off)))

int main(void)
{
	GUEST_INIT();
	unsigned char *p = map_pages(4, PROT_READ | PROT_WRITE);
	p[0] = 0x11;

	M("len 0", 0, 0, PROT_READ, ANON, -1, 0);
	M("len 1", 0, 1, PROT_READ, ANON, -1, 0);
	M("len 1<<62", 0, 1UL << 62, PROT_READ, ANON, -1, 0);
	M("len 1<<47", 0, 1UL << 47, PROT_READ, ANON, -1, 0);
	M("len -1 (rounds to 0)", 0, ~0UL, PROT_READ, ANON, -1, 0);
	M("len -4096", 0, -4096UL, PROT_READ, ANON, -1, 0);

	M("flags 0 (no type)", 0, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0);
	M("MAP_SHARED|MAP_PRIVATE anon (=SHARED_VALIDATE)", 0, PAGE, PROT_READ,
	  MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	M("MAP_SHARED_VALIDATE anon + unknown flag", 0, PAGE, PROT_READ,
	  MAP_SHARED_VALIDATE | MAP_ANONYMOUS | 0x200000, -1, 0);
	M("type 0x0f", 0, PAGE, PROT_READ, 0x0f | MAP_ANONYMOUS, -1, 0);
	M("MAP_PRIVATE anon + unknown flag 0x200000 (ignored)", 0, PAGE, PROT_READ,
	  ANON | 0x200000, -1, 0);
	M("MAP_PRIVATE anon + MAP_STACK", 0, PAGE, PROT_READ | PROT_WRITE,
	  ANON | MAP_STACK, -1, 0);
	M("MAP_PRIVATE anon + MAP_POPULATE", 0, PAGE, PROT_READ | PROT_WRITE,
	  ANON | MAP_POPULATE, -1, 0);
	M("prot 0x10 (unknown bit)", 0, PAGE, 0x10, ANON, -1, 0);
	M("prot PROT_SEM", 0, PAGE, PROT_READ | 0x8, ANON, -1, 0);

	M("MAP_FIXED unaligned addr", p + 1, PAGE, PROT_READ, ANON | MAP_FIXED, -1, 0);
	M("MAP_FIXED_NOREPLACE unaligned addr", p + 100, PAGE, PROT_READ,
	  ANON | MAP_FIXED_NOREPLACE, -1, 0);
	M("offset 123 (unaligned)", 0, PAGE, PROT_READ, ANON, -1, 123);
	M("offset -4096 anon", 0, PAGE, PROT_READ, ANON, -1, -4096L);
	M("MAP_FIXED kernel half", 0xffff800000000000UL, PAGE, PROT_READ,
	  ANON | MAP_FIXED, -1, 0);
	M("MAP_FIXED non-canonical", BAD_NONCANON, PAGE, PROT_READ,
	  ANON | MAP_FIXED, -1, 0);
	M("hint in kernel half (ignored)", 0xffff800000000000UL, PAGE, PROT_READ,
	  ANON, -1, 0);

	M("MAP_FIXED_NOREPLACE exact overlap", p, PAGE, PROT_READ,
	  ANON | MAP_FIXED_NOREPLACE, -1, 0);
	M("MAP_FIXED_NOREPLACE partial overlap (end)", p + 3 * PAGE, 4 * PAGE,
	  PROT_READ, ANON | MAP_FIXED_NOREPLACE, -1, 0);
	M("MAP_FIXED_NOREPLACE covering", p - PAGE, 6 * PAGE, PROT_READ,
	  ANON | MAP_FIXED_NOREPLACE, -1, 0);
	EXPECT("existing mapping untouched", p[0] == 0x11 && !range_unmapped(p, 4 * PAGE));
	M("MAP_FIXED|MAP_FIXED_NOREPLACE overlap", p, PAGE, PROT_READ,
	  ANON | MAP_FIXED | MAP_FIXED_NOREPLACE, -1, 0);

	/* Without MAP_ANONYMOUS an fd is required. */
	M("file mapping fd -1", 0, PAGE, PROT_READ, MAP_PRIVATE, -1, 0);
	M("file mapping fd 1000", 0, PAGE, PROT_READ, MAP_PRIVATE, 1000, 0);
	M("file mapping fd -1, len 0", 0, 0, PROT_READ, MAP_PRIVATE, -1, 0);
	M("file mapping fd -1, no type", 0, PAGE, PROT_READ, 0, -1, 0);

	/* Failed MAP_FIXED requests leave the old mapping alone. */
	EXPECT("original data intact", p[0] == 0x11);
	return 0;
}
