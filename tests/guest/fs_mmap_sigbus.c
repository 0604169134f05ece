/* fs_mmap_sigbus.c - a file mapping that extends past EOF: the partial
 * last page reads zeros beyond EOF, but touching a page wholly beyond
 * EOF kills the process with SIGBUS (exit status 135 as the shell
 * reports it).  The scratch directory is removed before the fault. */
#include "guest.h"

#define D "/tmp/husk-fs-sigbus"

int main(void)
{
	GUEST_INIT();
	no_core_dumps();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "a file of 27 bytes, no more", -1, 0644);
	long fd = syscall(SYS_open, D "/f", (long)O_RDWR, 0L);
	unsigned char *p = raw_mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	syscall(SYS_close, fd);
	cleanup_dir(D); /* the mapping keeps the file */
	printf("page 0: [%.8s], byte 4095 = %d\n", p, p[4095]);
	/* Growing the file through ftruncate would make page 1 valid; here
	 * nothing does, so touching it faults. */
	printf("touching page 1 (beyond EOF)\n");
	volatile unsigned char *q = p + PAGE;
	printf("survived (wrong): %d\n", *q);
	return 0;
}
