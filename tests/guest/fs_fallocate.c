/* fs_fallocate.c - fallocate: mode 0 grows the size (zeros), KEEP_SIZE
 * does not, PUNCH_HOLE|KEEP_SIZE zeroes a range in place, PUNCH_HOLE
 * alone and unknown modes are refused, and the argument and descriptor
 * checks. */
#include "guest.h"

#define D "/tmp/husk-fs-fallocate"
#define FA(label, fd, mode, off, len)                                            \
	CHECK(label, syscall(SYS_fallocate, (long)(fd), (long)(mode), (long)(off), (long)(len)))

static long fsize(long fd)
{
	struct stat st = {0};
	return syscall(SYS_fstat, fd, &st) ? -1 : (long)st.st_size;
}

static unsigned char buf[3 * 4096];

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	long fd = syscall(SYS_open, D "/f", (long)(O_RDWR | O_CREAT | O_EXCL), 0644L);
	if (fd < 0)
		die("open");

	FA("mode 0, 0..10000", fd, 0, 0, 10000);
	printf("size %ld\n", fsize(fd));
	long n = syscall(SYS_pread64, fd, buf, (long)sizeof buf, 0L);
	int z = 1;
	for (long i = 0; i < n; i++)
		z &= buf[i] == 0;
	printf("read %ld, all zeros: %s\n", n, z ? "yes" : "no");
	FA("mode 0 inside the file", fd, 0, 100, 100);
	printf("size %ld\n", fsize(fd));
	FA("KEEP_SIZE beyond EOF", fd, FALLOC_FL_KEEP_SIZE, 10000, 20000);
	printf("size %ld\n", fsize(fd));
	CHECK("pread beyond EOF after KEEP_SIZE", syscall(SYS_pread64, fd, buf, 10L, 12000L));

	/* Punch a hole through data. */
	fill_pattern(buf, sizeof buf, 9);
	syscall(SYS_pwrite64, fd, buf, (long)sizeof buf, 0L);
	FA("PUNCH_HOLE alone", fd, FALLOC_FL_PUNCH_HOLE, 4096, 4096);
	FA("PUNCH_HOLE|KEEP_SIZE 4096..8192", fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096);
	FA("PUNCH_HOLE|KEEP_SIZE 100..300 (partial page)", fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 200);
	static unsigned char back[sizeof buf];
	syscall(SYS_pread64, fd, back, (long)sizeof back, 0L);
	int ok = 1;
	for (unsigned i = 0; i < sizeof back; i++) {
		int hole = (i >= 4096 && i < 8192) || (i >= 100 && i < 300);
		ok &= hole ? back[i] == 0 : back[i] == buf[i];
	}
	printf("size %ld, holes zero and the rest intact: %s\n", fsize(fd), ok ? "yes" : "no");
	FA("PUNCH_HOLE|KEEP_SIZE beyond EOF", fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 50000, 4096);
	printf("size %ld\n", fsize(fd));

	/* Argument checks. */
	FA("len 0", fd, 0, 0, 0);
	FA("len -1", fd, 0, 0, -1);
	FA("offset -1", fd, 0, -1, 10);
	FA("offset+len overflows", fd, 0, 0x7fffffffffffff00L, 0x1000);
	FA("mode 0x1000 (unknown)", fd, 0x1000, 0, 10);
	FA("mode -1", fd, -1, 0, 10);
	FA("bad fd", 999, 0, 0, 10);
	long ro = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	FA("O_RDONLY fd", ro, 0, 0, 10);
	syscall(SYS_close, ro);
	long ap = syscall(SYS_open, D "/f", (long)(O_WRONLY | O_APPEND), 0L);
	FA("O_APPEND fd, mode 0", ap, 0, 0, 10);
	FA("O_APPEND fd, PUNCH_HOLE|KEEP_SIZE", ap, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 10);
	syscall(SYS_close, ap);
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	FA("directory fd", dfd, 0, 0, 10);
	syscall(SYS_close, dfd);
	long pfd = syscall(SYS_open, D "/f", (long)O_PATH, 0L);
	FA("O_PATH fd", pfd, 0, 0, 10);
	syscall(SYS_close, pfd);
	if (syscall(SYS_mknod, D "/fifo", (long)(S_IFIFO | 0644), 0L))
		die("mknod");
	long ffd = syscall(SYS_open, D "/fifo", (long)O_RDWR, 0L);
	FA("FIFO fd", ffd, 0, 0, 10);
	syscall(SYS_close, ffd);
	long nul = syscall(SYS_open, "/dev/null", (long)O_RDWR, 0L);
	FA("/dev/null", nul, 0, 0, 10);
	syscall(SYS_close, nul);

	syscall(SYS_close, fd);
	cleanup_dir(D);
	return 0;
}
