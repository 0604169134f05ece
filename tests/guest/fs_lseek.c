/* fs_lseek.c - lseek on regular files: SEEK_SET/CUR/END, positions beyond
 * EOF, negative results, SEEK_DATA/SEEK_HOLE on a dense, an empty and a
 * sparse file, bad whence values and descriptors. */
#include "guest.h"

#define D "/tmp/husk-fs-lseek"
#define L(label, fd, off, wh) CHECK(label, syscall(SYS_lseek, (long)(fd), (long)(off), (long)(wh)))

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	long fd = syscall(SYS_open, D "/f", (long)(O_RDWR | O_CREAT | O_EXCL), 0644L);
	static unsigned char buf[10000];
	fill_pattern(buf, sizeof buf, 3);
	if (fd < 0 || syscall(SYS_write, fd, buf, (long)sizeof buf) != (long)sizeof buf)
		die("setup");

	L("SEEK_SET 0", fd, 0, SEEK_SET);
	L("SEEK_SET 5000", fd, 5000, SEEK_SET);
	L("SEEK_CUR +100", fd, 100, SEEK_CUR);
	L("SEEK_CUR -5100", fd, -5100, SEEK_CUR);
	L("SEEK_CUR -1 at 0", fd, -1, SEEK_CUR);
	L("offset unchanged", fd, 0, SEEK_CUR);
	L("SEEK_SET -1", fd, -1, SEEK_SET);
	L("SEEK_END 0", fd, 0, SEEK_END);
	L("SEEK_END -10", fd, -10, SEEK_END);
	L("SEEK_END +10", fd, 10, SEEK_END);
	L("SEEK_END -10001", fd, -10001, SEEK_END);
	L("SEEK_SET 1<<33", fd, 1L << 33, SEEK_SET);
	L("SEEK_CUR 0 at 1<<33", fd, 0, SEEK_CUR);
	L("whence 5", fd, 0, 5);
	L("whence -1", fd, 0, -1);
	L("bad fd", 777, 0, SEEK_SET);
	L("fd -1", -1, 0, SEEK_SET);

	/* Beyond EOF: reads give 0, a write extends the file. */
	L("SEEK_SET 12000", fd, 12000, SEEK_SET);
	char c;
	CHECK("read beyond EOF", syscall(SYS_read, fd, &c, 1L));
	L("offset unchanged by read", fd, 0, SEEK_CUR);
	CHECK("write beyond EOF", syscall(SYS_write, fd, "!", 1L));
	L("SEEK_END now", fd, 0, SEEK_END);
	syscall(SYS_ftruncate, fd, 10000L);
	L("SEEK_CUR after shrinking keeps the offset", fd, 0, SEEK_CUR);

	/* SEEK_DATA / SEEK_HOLE on a dense file. */
	L("SEEK_DATA 0", fd, 0, SEEK_DATA);
	L("SEEK_DATA 9999", fd, 9999, SEEK_DATA);
	L("SEEK_DATA 10000 (EOF)", fd, 10000, SEEK_DATA);
	L("SEEK_DATA -1", fd, -1, SEEK_DATA);
	L("SEEK_HOLE 0", fd, 0, SEEK_HOLE);
	L("SEEK_HOLE 5000", fd, 5000, SEEK_HOLE);
	L("SEEK_HOLE 10000 (EOF)", fd, 10000, SEEK_HOLE);
	L("SEEK_HOLE 20000", fd, 20000, SEEK_HOLE);
	L("offset after SEEK_HOLE errors", fd, 0, SEEK_CUR);

	/* An empty file has neither data nor a hole to find. */
	long e = syscall(SYS_open, D "/empty", (long)(O_RDWR | O_CREAT | O_EXCL), 0644L);
	L("empty SEEK_DATA 0", e, 0, SEEK_DATA);
	L("empty SEEK_HOLE 0", e, 0, SEEK_HOLE);
	L("empty SEEK_END 0", e, 0, SEEK_END);
	syscall(SYS_close, e);

	/* A sparse file: 4 KiB of data at 0 and at 1 MiB, a hole between.
	 * Holes are page- and block-aligned, so every Linux file system
	 * that tracks holes gives the same answers. */
	long s = syscall(SYS_open, D "/sparse", (long)(O_RDWR | O_CREAT | O_EXCL), 0644L);
	syscall(SYS_pwrite64, s, buf, 4096L, 0L);
	syscall(SYS_pwrite64, s, buf, 4096L, 1L << 20);
	L("sparse SEEK_HOLE 0", s, 0, SEEK_HOLE);
	L("sparse SEEK_DATA 4096", s, 4096, SEEK_DATA);
	L("sparse SEEK_DATA 100", s, 100, SEEK_DATA);
	L("sparse SEEK_HOLE (1<<20)+1", s, (1L << 20) + 1, SEEK_HOLE);
	L("sparse SEEK_DATA 500000", s, 500000, SEEK_DATA);
	syscall(SYS_close, s);

	/* Directories: rewinding is always allowed. */
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	L("directory SEEK_SET 0", dfd, 0, SEEK_SET);
	L("directory SEEK_SET -1", dfd, -1, SEEK_SET);
	syscall(SYS_close, dfd);

	syscall(SYS_close, fd);
	cleanup_dir(D);
	return 0;
}
