/* mprotect_segv.c - reading a PROT_NONE page kills the process with
 * SIGSEGV (exit status 139 as seen by the shell). */
#include "guest.h"

int main(void)
{
	GUEST_INIT();
	no_core_dumps();
	unsigned char *p = map_pages(2, PROT_READ | PROT_WRITE);
	p[PAGE] = 42;
	printf("before mprotect: %d\n", p[PAGE]);
	CHECK("mprotect PROT_NONE", syscall(SYS_mprotect, p + PAGE, PAGE, (long)PROT_NONE));
	printf("page 0 still readable: %d\n", p[0]);
	printf("touching PROT_NONE page\n");
	volatile unsigned char *vp = p + PAGE;
	printf("survived (wrong): %d\n", *vp);
	return 0;
}
