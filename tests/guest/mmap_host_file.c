/* mmap_host_file.c - mappings of a file the sandbox cannot change (this
 * program's own binary, on a read-only mount under husk, whose stubs then
 * map the host file itself): private views read the file and copy a page
 * once written (PROT_WRITE at mmap or by mprotect), the file never
 * changes, a read-only shared mapping of an O_RDONLY descriptor refuses
 * PROT_WRITE, the sentry reads the mapping for a syscall (write from it),
 * partial munmap keeps the rest, mincore sees it, and a fork's child,
 * given many mappings at once, sees every one of them. */
#include <sys/wait.h>

#include "guest.h"

#define MAPS 48

static int same_as_file(long fd, const unsigned char *p, long off, unsigned long len)
{
	static unsigned char buf[2 * PAGE];
	if (len > sizeof buf || syscall(SYS_pread64, fd, buf, (long)len, off) != (long)len)
		return 0;
	return !memcmp(p, buf, len);
}

int main(void)
{
	GUEST_INIT();
	long fd = syscall(SYS_open, "/proc/self/exe", (long)O_RDONLY, 0L);
	if (fd < 0)
		die("open /proc/self/exe");
	struct stat st;
	if (syscall(SYS_fstat, fd, &st) != 0 || st.st_size < (off_t)(4 * PAGE))
		die("fstat");

	/* A private read-only view, at a page offset. */
	unsigned char *p = raw_mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, fd, (long)PAGE);
	if (p == MAP_FAILED)
		die("mmap private");
	EXPECT("private view has the file's bytes", same_as_file(fd, p, (long)PAGE, 2 * PAGE));
	EXPECT("ELF magic through a view at 0",
	       ({
		       unsigned char *h = raw_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
		       int ok = h != MAP_FAILED && !memcmp(h, "\177ELF", 4);
		       syscall(SYS_munmap, h, PAGE);
		       ok;
	       }));

	/* Written after mprotect: that page is copied, the file is not. */
	CHECK("mprotect the private view writable",
	      syscall(SYS_mprotect, p, 2 * PAGE, (long)(PROT_READ | PROT_WRITE)));
	unsigned char was = p[PAGE + 7];
	p[PAGE + 7] = (unsigned char)(was ^ 0xff);
	EXPECT("the written byte reads back", p[PAGE + 7] == (unsigned char)(was ^ 0xff));
	unsigned char file_byte = 0;
	syscall(SYS_pread64, fd, &file_byte, 1L, (long)(2 * PAGE + 7));
	EXPECT("the file keeps its byte", file_byte == was);
	EXPECT("the unwritten page still reads the file", same_as_file(fd, p, (long)PAGE, PAGE));

	/* Writable from the start. */
	unsigned char *w = raw_mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (w == MAP_FAILED)
		die("mmap private writable");
	w[0] = 'X';
	EXPECT("a writable private view writes its copy", w[0] == 'X');
	syscall(SYS_pread64, fd, &file_byte, 1L, 0L);
	EXPECT("the file still starts with 0x7f", file_byte == 0x7f);

	/* Shared read-only: never writable through an O_RDONLY descriptor. */
	unsigned char *s = raw_mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED)
		die("mmap shared");
	EXPECT("shared view has the file's bytes", same_as_file(fd, s, 0, PAGE));
	CHECK("mprotect the shared view writable",
	      syscall(SYS_mprotect, s, PAGE, (long)(PROT_READ | PROT_WRITE)));
	CHECK("mmap shared writable of O_RDONLY",
	      (long)raw_mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));

	/* The kernel reads the mapping for a syscall. */
	int pfd[2];
	if (pipe(pfd) != 0)
		die("pipe");
	unsigned char back[64];
	long wr = syscall(SYS_write, pfd[1], s + 100, 64L);
	long rd = syscall(SYS_read, pfd[0], back, 64L);
	EXPECT("write from the mapping carries its bytes",
	       wr == 64 && rd == 64 && !memcmp(back, s + 100, 64));
	unsigned char vec[2];
	CHECK("mincore of the private view", syscall(SYS_mincore, p, 2 * PAGE, vec));

	/* Half of a view unmapped: the other half stays. */
	CHECK("munmap the first page", syscall(SYS_munmap, p, PAGE));
	EXPECT("the second page is still the copy", p[PAGE + 7] == (unsigned char)(was ^ 0xff));

	/* Many views at once, then a fork: the child's address space gets
	 * them all in one go. */
	unsigned char *many[MAPS];
	for (int i = 0; i < MAPS; i++) {
		long off = (long)((unsigned long)(i % 4) * PAGE);
		many[i] = raw_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, off);
		if (many[i] == MAP_FAILED)
			die("mmap many");
	}
	int before = 1;
	for (int i = 0; i < MAPS; i++)
		before &= same_as_file(fd, many[i], (long)((unsigned long)(i % 4) * PAGE), PAGE);
	EXPECT("every view reads its page", before);
	long pid = syscall(SYS_fork);
	if (pid == 0) {
		int ok = 1;
		for (int i = 0; i < MAPS; i++)
			ok &= same_as_file(fd, many[i], (long)((unsigned long)(i % 4) * PAGE), PAGE);
		w[1] = 'C'; /* the child's copy only */
		_exit(ok && w[0] == 'X' ? 0 : 1);
	}
	int status = -1;
	syscall(SYS_wait4, pid, &status, 0L, 0L);
	EXPECT("the child saw every view and the parent's copy",
	       WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT("the child's write stayed its own", w[1] != 'C');
	return 0;
}
