/* fs_mknod.c - mknod and mknodat: FIFOs (and regular files through
 * mknod), the types that are refused, and what a FIFO does when opened:
 * O_RDWR works alone, O_WRONLY|O_NONBLOCK without a reader fails with
 * ENXIO, data goes through in order, lseek and pread fail with ESPIPE. */
#include "guest.h"

#define D "/tmp/husk-fs-mknod"

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "x", -1, 0644);

	CHECK("mknod FIFO 0666", syscall(SYS_mknod, D "/fifo", (long)(S_IFIFO | 0666), 0L));
	show_lstat("fifo", D "/fifo");
	CHECK("mknod FIFO again", syscall(SYS_mknod, D "/fifo", (long)(S_IFIFO | 0666), 0L));
	CHECK("mknod regular file (S_IFREG)", syscall(SYS_mknod, D "/reg", (long)(S_IFREG | 0640), 0L));
	show_lstat("reg", D "/reg");
	CHECK("mknod type 0 (regular file)", syscall(SYS_mknod, D "/reg0", 0600L, 0L));
	show_lstat("reg0", D "/reg0");
	CHECK("mknod S_IFDIR", syscall(SYS_mknod, D "/dir", (long)(S_IFDIR | 0755), 0L));
	CHECK("mknod S_IFLNK", syscall(SYS_mknod, D "/lnk", (long)(S_IFLNK | 0777), 0L));
	CHECK("mknod bad type 0170000", syscall(SYS_mknod, D "/bad", (long)(0170000 | 0644), 0L));
	CHECK("mknod over a file", syscall(SYS_mknod, D "/f", (long)(S_IFIFO | 0644), 0L));
	CHECK("mknod missing parent", syscall(SYS_mknod, D "/no/fifo", (long)(S_IFIFO | 0644), 0L));
	CHECK("mknod through a file", syscall(SYS_mknod, D "/f/fifo", (long)(S_IFIFO | 0644), 0L));
	CHECK("mknod trailing slash", syscall(SYS_mknod, D "/slash/", (long)(S_IFIFO | 0644), 0L));
	CHECK("mknod bad pointer", syscall(SYS_mknod, BAD_LOW, (long)(S_IFIFO | 0644), 0L));
	CHECK("mknod FIFO mode 07777", syscall(SYS_mknod, D "/fifo2", (long)(S_IFIFO | 07777), 0L));
	show_lstat("fifo2", D "/fifo2");

	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("mknodat(dfd, \"fifo3\")", syscall(SYS_mknodat, dfd, "fifo3", (long)(S_IFIFO | 0600), 0L));
	show_lstat("fifo3", D "/fifo3");
	CHECK("mknodat(999, \"x\")", syscall(SYS_mknodat, 999L, "x", (long)(S_IFIFO | 0600), 0L));
	syscall(SYS_close, dfd);

	/* Opening FIFOs. */
	CHECK("open O_WRONLY|O_NONBLOCK, no reader",
	      syscall(SYS_open, D "/fifo", (long)(O_WRONLY | O_NONBLOCK), 0L));
	long rd;
	CHECK_OK("open O_RDONLY|O_NONBLOCK", rd = syscall(SYS_open, D "/fifo", (long)(O_RDONLY | O_NONBLOCK), 0L));
	char buf[16] = {0};
	CHECK("read, no writer ever (EOF)", syscall(SYS_read, rd, buf, sizeof buf));
	long wr;
	CHECK_OK("open O_WRONLY|O_NONBLOCK with a reader", wr = syscall(SYS_open, D "/fifo", (long)(O_WRONLY | O_NONBLOCK), 0L));
	CHECK("read, writer open, empty", syscall(SYS_read, rd, buf, sizeof buf));
	CHECK("write 5", syscall(SYS_write, wr, "hello", 5L));
	CHECK("write 3", syscall(SYS_write, wr, "abc", 3L));
	int avail = -1;
	CHECK("FIONREAD", syscall(SYS_ioctl, rd, (long)FIONREAD, &avail));
	printf("FIONREAD: %d\n", avail);
	CHECK("read 6", syscall(SYS_read, rd, buf, 6L));
	printf("got [%.6s]\n", buf);
	CHECK("lseek on FIFO", syscall(SYS_lseek, rd, 0L, (long)SEEK_SET));
	CHECK("pread64 on FIFO", syscall(SYS_pread64, rd, buf, 1L, 0L));
	CHECK("pwrite64 on FIFO", syscall(SYS_pwrite64, wr, "x", 1L, 0L));
	CHECK("read the rest", syscall(SYS_read, rd, buf, sizeof buf));
	printf("got [%.2s]\n", buf);
	struct stat st = {0};
	syscall(SYS_fstat, rd, &st);
	printf("fstat: %s size=%ld\n", mode_type(st.st_mode), (long)st.st_size);
	CHECK("F_GETFL reader", syscall(SYS_fcntl, rd, (long)F_GETFL) & ~0100000L);
	syscall(SYS_close, wr);
	CHECK("read after the writer closed (EOF)", syscall(SYS_read, rd, buf, sizeof buf));
	syscall(SYS_close, rd);

	long rw;
	CHECK_OK("open O_RDWR (no blocking)", rw = syscall(SYS_open, D "/fifo", (long)O_RDWR, 0L));
	CHECK("write via O_RDWR", syscall(SYS_write, rw, "loop", 4L));
	CHECK("read via O_RDWR", syscall(SYS_read, rw, buf, sizeof buf));
	printf("got [%.4s]\n", buf);
	syscall(SYS_fcntl, rw, (long)F_SETFL, (long)O_NONBLOCK);
	CHECK("read empty, O_NONBLOCK", syscall(SYS_read, rw, buf, sizeof buf));
	syscall(SYS_close, rw);

	/* Data in a FIFO does not live in the file system. */
	show_lstat("fifo after use", D "/fifo");
	CHECK("truncate a FIFO", syscall(SYS_truncate, D "/fifo", 0L));
	CHECK("unlink a FIFO", syscall(SYS_unlink, D "/fifo"));

	cleanup_dir(D);
	return 0;
}
