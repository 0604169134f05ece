/* segv_readonly.c - a store into a PROT_READ mapping kills the process
 * with SIGSEGV; loads from it work until then. */
#include "guest.h"

int main(void)
{
	GUEST_INIT();
	no_core_dumps();
	unsigned char *p = map_pages(1, PROT_READ);
	printf("load from read-only page: %d\n", ((volatile unsigned char *)p)[100]);
	printf("storing to read-only page\n");
	((volatile unsigned char *)p)[100] = 1;
	printf("survived (wrong)\n");
	return 0;
}
