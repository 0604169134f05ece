/* mmap_shared.c - MAP_SHARED|MAP_ANONYMOUS specifics: mremap with
 * old_len 0 creates a second view of the same pages; mremap moves of
 * shared memory keep sharing; MAP_PRIVATE cannot be duplicated. */
#include "guest.h"

int main(void)
{
	GUEST_INIT();
	unsigned char *s = raw_mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		die("mmap shared");
	strcpy((char *)s, "hello shared");

	long r = syscall(SYS_mremap, s, 0L, 2 * PAGE, (long)MREMAP_MAYMOVE, NULL);
	EXPECT("mremap(old_len 0) of shared mapping", r != -1);
	if (r == -1)
		return 1;
	unsigned char *t = (unsigned char *)r;
	EXPECT("second view at a different address", t != s);
	printf("second view reads: %s\n", (char *)t);
	strcpy((char *)t + PAGE, "written via second view");
	printf("first view reads: %s\n", (char *)s + PAGE);
	s[5] = '_';
	printf("second view reads: %s\n", (char *)t);
	EXPECT("original still mapped", !range_unmapped(s, 2 * PAGE));

	/* Unmapping one view leaves the other working. */
	CHECK("munmap first view", syscall(SYS_munmap, s, 2 * PAGE));
	printf("second view after unmap: %s / %s\n", (char *)t, (char *)t + PAGE);

	/* Growing a shared mapping in place or by moving keeps the data. */
	long g = syscall(SYS_mremap, t, 2 * PAGE, 8 * PAGE, (long)MREMAP_MAYMOVE, NULL);
	EXPECT("grow shared mapping", g != -1);
	unsigned char *u = (unsigned char *)g;
	printf("after grow: %s / %s\n", (char *)u, (char *)u + PAGE);
	/* NB: the pages beyond the original 2-page object are not backed:
	 * touching them raises SIGBUS on Linux, so they are not touched. */
	EXPECT("grown range mapped", !range_unmapped(u, 8 * PAGE));

	unsigned char *p = map_pages(1, PROT_READ | PROT_WRITE);
	CHECK_OK("mremap(old_len 0) of private mapping",
		 syscall(SYS_mremap, p, 0L, PAGE, (long)MREMAP_MAYMOVE, NULL));
	CHECK_OK("mremap(old_len 0) shared without MAYMOVE",
		 syscall(SYS_mremap, u, 0L, PAGE, 0L, NULL));
	return 0;
}
