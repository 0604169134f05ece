/* fs_ioctl.c - generic ioctls on files: FIONREAD (bytes from the offset
 * to EOF), FIOCLEX/FIONCLEX (seen by F_GETFD), FIONBIO (seen by
 * F_GETFL), FIOASYNC, terminal ioctls on a regular file (ENOTTY), unknown
 * requests, O_PATH descriptors and bad pointers. */
#include "guest.h"

#define D "/tmp/husk-fs-ioctl"
#ifndef FIOASYNC
#define FIOASYNC 0x5452
#endif

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	static char data[5000];
	memset(data, 'd', sizeof data);
	put_file(D "/f", data, sizeof data, 0644);
	long fd = syscall(SYS_open, D "/f", (long)O_RDWR, 0L);

	int n = -1;
	CHECK("FIONREAD at 0", syscall(SYS_ioctl, fd, (long)FIONREAD, &n));
	printf("  = %d\n", n);
	syscall(SYS_lseek, fd, 4000L, (long)SEEK_SET);
	CHECK("FIONREAD at 4000", syscall(SYS_ioctl, fd, (long)FIONREAD, &n));
	printf("  = %d\n", n);
	syscall(SYS_lseek, fd, 9000L, (long)SEEK_SET);
	CHECK("FIONREAD beyond EOF", syscall(SYS_ioctl, fd, (long)FIONREAD, &n));
	printf("  = %d (i_size - offset, negative)\n", n);
	CHECK("FIONREAD bad pointer", syscall(SYS_ioctl, fd, (long)FIONREAD, BAD_LOW));
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("FIONREAD on a directory", syscall(SYS_ioctl, dfd, (long)FIONREAD, &n));

	CHECK("FIOCLEX", syscall(SYS_ioctl, fd, (long)FIOCLEX));
	CHECK("  F_GETFD", syscall(SYS_fcntl, fd, (long)F_GETFD));
	CHECK("FIONCLEX", syscall(SYS_ioctl, fd, (long)FIONCLEX));
	CHECK("  F_GETFD", syscall(SYS_fcntl, fd, (long)F_GETFD));
	CHECK("FIOCLEX on a directory", syscall(SYS_ioctl, dfd, (long)FIOCLEX));
	CHECK("  F_GETFD", syscall(SYS_fcntl, dfd, (long)F_GETFD));

	int on = 1, off = 0;
	CHECK("FIONBIO 1", syscall(SYS_ioctl, fd, (long)FIONBIO, &on));
	EXPECT("  O_NONBLOCK set", syscall(SYS_fcntl, fd, (long)F_GETFL) & O_NONBLOCK);
	CHECK("FIONBIO 0", syscall(SYS_ioctl, fd, (long)FIONBIO, &off));
	EXPECT("  O_NONBLOCK set", syscall(SYS_fcntl, fd, (long)F_GETFL) & O_NONBLOCK);
	int big = 0x100;
	CHECK("FIONBIO 0x100 (any nonzero)", syscall(SYS_ioctl, fd, (long)FIONBIO, &big));
	EXPECT("  O_NONBLOCK set", syscall(SYS_fcntl, fd, (long)F_GETFL) & O_NONBLOCK);
	CHECK("FIONBIO bad pointer", syscall(SYS_ioctl, fd, (long)FIONBIO, BAD_LOW));
	CHECK("FIOASYNC 0", syscall(SYS_ioctl, fd, (long)FIOASYNC, &off));
	CHECK("FIOASYNC bad pointer", syscall(SYS_ioctl, fd, (long)FIOASYNC, BAD_LOW));

	char termios[64] = {0};
	CHECK("TCGETS on a file", syscall(SYS_ioctl, fd, (long)TCGETS, termios));
	CHECK("TIOCGWINSZ on a file", syscall(SYS_ioctl, fd, (long)TIOCGWINSZ, termios));
	CHECK("TCGETS on a directory", syscall(SYS_ioctl, dfd, (long)TCGETS, termios));
	long nul = syscall(SYS_open, "/dev/null", (long)O_RDWR, 0L);
	CHECK("TCGETS on /dev/null", syscall(SYS_ioctl, nul, (long)TCGETS, termios));
	CHECK("FIONREAD on /dev/null", syscall(SYS_ioctl, nul, (long)FIONREAD, &n));
	syscall(SYS_close, nul);
	CHECK("request 0x12345678 on a file", syscall(SYS_ioctl, fd, 0x12345678L, 0L));
	CHECK("request 0 on a file", syscall(SYS_ioctl, fd, 0L, 0L));
	CHECK("bad fd", syscall(SYS_ioctl, 999L, (long)FIONREAD, &n));
	CHECK("bad fd FIOCLEX", syscall(SYS_ioctl, 999L, (long)FIOCLEX));
	long p = syscall(SYS_open, D "/f", (long)O_PATH, 0L);
	CHECK("FIOCLEX on O_PATH", syscall(SYS_ioctl, p, (long)FIOCLEX));
	CHECK("FIONREAD on O_PATH", syscall(SYS_ioctl, p, (long)FIONREAD, &n));

	syscall(SYS_close, p);
	syscall(SYS_close, dfd);
	syscall(SYS_close, fd);
	cleanup_dir(D);
	return 0;
}
