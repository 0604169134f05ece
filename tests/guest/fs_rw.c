/* fs_rw.c - read, write, pread64 and pwrite64 on regular files: offsets,
 * holes, EOF, O_APPEND with pwrite, partial copies at an unmapped page,
 * and the error paths (EBADF, EISDIR, EINVAL, EFAULT). */
#include "guest.h"

#define D "/tmp/husk-fs-rw"

static unsigned char big[3 * 4096 + 123], back[sizeof big];

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	if (syscall(SYS_mkdir, D "/d", 0755L))
		die("mkdir");
	long fd = syscall(SYS_open, D "/f", (long)(O_RDWR | O_CREAT | O_EXCL), 0644L);
	if (fd < 0)
		die("open");

	fill_pattern(big, sizeof big, 7);
	CHECK("write 12411 bytes", syscall(SYS_write, fd, big, (long)sizeof big));
	CHECK("lseek(SEEK_CUR) after write", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	CHECK("read at EOF", syscall(SYS_read, fd, back, 10L));
	CHECK("lseek(0)", syscall(SYS_lseek, fd, 0L, (long)SEEK_SET));
	long got = 0;
	for (;;) {
		long n = syscall(SYS_read, fd, back + got, 1000L);
		if (n <= 0)
			break;
		got += n;
	}
	printf("read back in 1000-byte chunks: %ld bytes, equal: %s\n", got,
	       got == (long)sizeof big && !memcmp(big, back, sizeof big) ? "yes" : "no");
	printf("checksum: %08x\n", fnv1a(back, got));
	CHECK("read count 0", syscall(SYS_read, fd, back, 0L));
	CHECK("write count 0", syscall(SYS_write, fd, back, 0L));
	CHECK("write count 0, NULL buffer", syscall(SYS_write, fd, NULL, 0L));

	/* pread/pwrite leave the offset alone. */
	CHECK("lseek(100)", syscall(SYS_lseek, fd, 100L, (long)SEEK_SET));
	char b[32] = {0};
	CHECK("pread64(8 at 4096)", syscall(SYS_pread64, fd, b, 8L, 4096L));
	EXPECT("pread64 data matches", !memcmp(b, big + 4096, 8));
	CHECK("pwrite64(\"PW\" at 10)", syscall(SYS_pwrite64, fd, "PW", 2L, 10L));
	CHECK("offset still 100", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	CHECK("pread64 at EOF", syscall(SYS_pread64, fd, b, 8L, (long)sizeof big));
	CHECK("pread64 straddling EOF", syscall(SYS_pread64, fd, b, 32L, (long)sizeof big - 5));
	CHECK("pread64 beyond EOF", syscall(SYS_pread64, fd, b, 8L, 1L << 20));
	CHECK("pread64 offset -1", syscall(SYS_pread64, fd, b, 8L, -1L));
	CHECK("pwrite64 offset -1", syscall(SYS_pwrite64, fd, "x", 1L, -1L));
	CHECK("pread64 count 0 offset -1", syscall(SYS_pread64, fd, b, 0L, -1L));

	/* A write beyond EOF leaves a hole that reads as zeros. */
	long hfd = syscall(SYS_open, D "/hole", (long)(O_RDWR | O_CREAT | O_EXCL), 0644L);
	CHECK("pwrite64(\"end\" at 20000)", syscall(SYS_pwrite64, hfd, "end", 3L, 20000L));
	struct stat st = {0};
	syscall(SYS_fstat, hfd, &st);
	printf("hole file size: %ld\n", (long)st.st_size);
	static unsigned char zeros[20003];
	CHECK("read whole hole file", syscall(SYS_read, hfd, zeros, (long)sizeof zeros));
	int allzero = 1;
	for (int i = 0; i < 20000; i++)
		allzero &= zeros[i] == 0;
	printf("hole reads as zeros: %s, tail: [%.3s]\n", allzero ? "yes" : "no", zeros + 20000);
	CHECK("lseek(hfd, 30000) then write", syscall(SYS_lseek, hfd, 30000L, (long)SEEK_SET));
	CHECK("write at 30000", syscall(SYS_write, hfd, "z", 1L));
	syscall(SYS_fstat, hfd, &st);
	printf("size now: %ld\n", (long)st.st_size);
	syscall(SYS_close, hfd);

	/* Another open file description sees the data at once. */
	long fd2 = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	CHECK("read 12 via second description", syscall(SYS_read, fd2, b, 12L));
	printf("first 12 match (with PW at 10): %s\n",
	       !memcmp(b, big, 10) && b[10] == 'P' && b[11] == 'W' ? "yes" : "no");

	/* Access modes. */
	CHECK("write on O_RDONLY", syscall(SYS_write, fd2, "x", 1L));
	CHECK("pwrite64 on O_RDONLY", syscall(SYS_pwrite64, fd2, "x", 1L, 0L));
	long wfd = syscall(SYS_open, D "/f", (long)O_WRONLY, 0L);
	CHECK("read on O_WRONLY", syscall(SYS_read, wfd, b, 1L));
	CHECK("pread64 on O_WRONLY", syscall(SYS_pread64, wfd, b, 1L, 0L));
	syscall(SYS_close, wfd);

	/* pwrite on an O_APPEND descriptor appends (a Linux quirk). */
	put_file(D "/a", "abc", -1, 0644);
	long afd = syscall(SYS_open, D "/a", (long)(O_RDWR | O_APPEND), 0L);
	CHECK("pwrite64(\"XY\" at 0) on O_APPEND", syscall(SYS_pwrite64, afd, "XY", 2L, 0L));
	CHECK("offset of O_APPEND fd after pwrite", syscall(SYS_lseek, afd, 0L, (long)SEEK_CUR));
	CHECK("write(\"Z\") on O_APPEND", syscall(SYS_write, afd, "Z", 1L));
	CHECK("offset after write", syscall(SYS_lseek, afd, 0L, (long)SEEK_CUR));
	CHECK("pread64 works on O_APPEND", syscall(SYS_pread64, afd, b, 16L, 0L));
	printf("a: [%.6s]\n", b);
	syscall(SYS_close, afd);

	/* Directories. */
	long dfd = syscall(SYS_open, D "/d", (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("read(dir)", syscall(SYS_read, dfd, b, 1L));
	CHECK("pread64(dir)", syscall(SYS_pread64, dfd, b, 1L, 0L));
	CHECK("write(dir)", syscall(SYS_write, dfd, b, 1L));
	syscall(SYS_close, dfd);

	/* Bad descriptors and buffers. */
	CHECK("read(bad fd)", syscall(SYS_read, 999L, b, 1L));
	CHECK("pwrite64(bad fd)", syscall(SYS_pwrite64, -1L, b, 1L, 0L));
	CHECK("read into bad pointer", syscall(SYS_read, fd2, BAD_LOW, 4L));
	CHECK("write from bad pointer", syscall(SYS_write, fd, BAD_LOW, 4L));
	CHECK("pread64 into bad pointer", syscall(SYS_pread64, fd, BAD_NONCANON, 4L, 0L));
	CHECK("read count -1", syscall(SYS_read, fd2, b, -1L));
	unsigned char *ro = map_pages(1, PROT_READ);
	CHECK("read into read-only page", syscall(SYS_read, fd2, ro, 4L));
	/* A buffer whose second page is inaccessible: a partial count. */
	unsigned char *two = map_pages(2, PROT_READ | PROT_WRITE);
	syscall(SYS_mprotect, two + PAGE, PAGE, (long)PROT_NONE);
	CHECK("pread64 8192 into 4096 good bytes", syscall(SYS_pread64, fd, two, 8192L, 0L));
	EXPECT("partial pread data", !memcmp(two, big, 10));
	memcpy(two, big, PAGE);
	long pfd = syscall(SYS_open, D "/p", (long)(O_RDWR | O_CREAT | O_EXCL), 0644L);
	CHECK("write 8192 from 4096 good bytes", syscall(SYS_write, pfd, two, 8192L));
	syscall(SYS_fstat, pfd, &st);
	printf("size after partial write: %ld\n", (long)st.st_size);
	CHECK("write starting in bad page", syscall(SYS_write, pfd, two + PAGE, 10L));
	syscall(SYS_close, pfd);

	syscall(SYS_close, fd2);
	syscall(SYS_close, fd);
	cleanup_dir(D);
	return 0;
}
