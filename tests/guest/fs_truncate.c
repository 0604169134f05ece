/* fs_truncate.c - truncate and ftruncate: growing (zeros), shrinking,
 * growing again (old bytes do not come back), symlinks followed, the
 * file offset left alone, and the error paths (directories, read-only
 * descriptors, O_PATH, negative lengths, FIFOs). */
#include "guest.h"

#define D "/tmp/husk-fs-truncate"

static long size(const char *path)
{
	struct stat st = {0};
	return syscall(SYS_stat, path, &st) ? -1 : (long)st.st_size;
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "0123456789", -1, 0644);
	if (syscall(SYS_mkdir, D "/d", 0755L) || syscall(SYS_symlink, "f", D "/lf") ||
	    syscall(SYS_mknod, D "/fifo", (long)(S_IFIFO | 0644), 0L))
		die("setup");

	CHECK("truncate f 4", syscall(SYS_truncate, D "/f", 4L));
	printf("size %ld\n", size(D "/f"));
	CHECK("truncate f 8000 (grow)", syscall(SYS_truncate, D "/f", 8000L));
	printf("size %ld\n", size(D "/f"));
	static unsigned char buf[9000];
	memset(buf, 0xee, sizeof buf);
	long n = get_file(D "/f", (char *)buf, sizeof buf);
	int zeros = 1;
	for (long i = 4; i < n; i++)
		zeros &= buf[i] == 0;
	printf("read %ld: [%.4s] then zeros: %s\n", n, buf, zeros ? "yes" : "no");
	CHECK("truncate f 0", syscall(SYS_truncate, D "/f", 0L));
	CHECK("truncate f 10 (old bytes do not come back)", syscall(SYS_truncate, D "/f", 10L));
	n = get_file(D "/f", (char *)buf, sizeof buf);
	zeros = 1;
	for (long i = 0; i < n; i++)
		zeros &= buf[i] == 0;
	printf("read %ld, all zeros: %s\n", n, zeros ? "yes" : "no");
	CHECK("truncate lf 3 (follows)", syscall(SYS_truncate, D "/lf", 3L));
	printf("f size %ld\n", size(D "/f"));
	CHECK("truncate f 1<<32", syscall(SYS_truncate, D "/f", 1L << 32));
	printf("f size %ld\n", size(D "/f"));
	CHECK("truncate f -1", syscall(SYS_truncate, D "/f", -1L));
	CHECK("truncate d", syscall(SYS_truncate, D "/d", 0L));
	CHECK("truncate fifo", syscall(SYS_truncate, D "/fifo", 0L));
	CHECK("truncate missing", syscall(SYS_truncate, D "/missing", 0L));
	CHECK("truncate f/x", syscall(SYS_truncate, D "/f/x", 0L));
	CHECK("truncate f/", syscall(SYS_truncate, D "/f/", 0L));
	CHECK("truncate empty path", syscall(SYS_truncate, "", 0L));
	CHECK("truncate bad pointer", syscall(SYS_truncate, BAD_LOW, 0L));
	CHECK("truncate /dev/null", syscall(SYS_truncate, "/dev/null", 0L));

	/* ftruncate. */
	put_file(D "/g", "abcdefghij", -1, 0644);
	long fd = syscall(SYS_open, D "/g", (long)O_RDWR, 0L);
	syscall(SYS_lseek, fd, 8L, (long)SEEK_SET);
	CHECK("ftruncate 5", syscall(SYS_ftruncate, fd, 5L));
	CHECK("offset still 8", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	CHECK("read at 8 (beyond EOF)", syscall(SYS_read, fd, buf, 10L));
	CHECK("write at 8", syscall(SYS_write, fd, "Z", 1L));
	n = syscall(SYS_pread64, fd, buf, 20L, 0L);
	printf("g: %ld bytes:", n);
	for (long i = 0; i < n; i++)
		printf(" %02x", buf[i]);
	printf("\n");
	CHECK("ftruncate -1", syscall(SYS_ftruncate, fd, -1L));
	CHECK("ftruncate 0", syscall(SYS_ftruncate, fd, 0L));
	syscall(SYS_close, fd);
	fd = syscall(SYS_open, D "/g", (long)(O_WRONLY | O_APPEND), 0L);
	CHECK("ftruncate on O_APPEND fd", syscall(SYS_ftruncate, fd, 3L));
	printf("g size %ld\n", size(D "/g"));
	syscall(SYS_close, fd);
	fd = syscall(SYS_open, D "/g", (long)O_RDONLY, 0L);
	CHECK("ftruncate on O_RDONLY fd", syscall(SYS_ftruncate, fd, 0L));
	syscall(SYS_close, fd);
	fd = syscall(SYS_open, D "/g", (long)O_PATH, 0L);
	CHECK("ftruncate on O_PATH fd", syscall(SYS_ftruncate, fd, 0L));
	syscall(SYS_close, fd);
	fd = syscall(SYS_open, D "/d", (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("ftruncate on a directory", syscall(SYS_ftruncate, fd, 0L));
	syscall(SYS_close, fd);
	fd = syscall(SYS_open, D "/fifo", (long)O_RDWR, 0L);
	CHECK("ftruncate on a FIFO", syscall(SYS_ftruncate, fd, 0L));
	syscall(SYS_close, fd);
	fd = syscall(SYS_open, "/dev/null", (long)O_RDWR, 0L);
	CHECK("ftruncate on /dev/null", syscall(SYS_ftruncate, fd, 0L));
	syscall(SYS_close, fd);
	CHECK("ftruncate bad fd", syscall(SYS_ftruncate, 999L, 0L));
	printf("g size %ld\n", size(D "/g"));

	cleanup_dir(D);
	return 0;
}
