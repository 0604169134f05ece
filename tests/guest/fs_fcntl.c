/* fs_fcntl.c - fcntl on file descriptors: F_GETFD/F_SETFD, F_GETFL
 * (access mode, O_APPEND, O_NONBLOCK, O_LARGEFILE added on x86-64 by
 * open), F_SETFL (which bits it changes and which it ignores), and the
 * error paths.  F_DUPFD is in fs_dup_close, locks in fs_locks. */
#include "guest.h"

#define D "/tmp/husk-fs-fcntl"
#ifndef O_NOATIME
#define O_NOATIME 01000000
#endif

static void fl(const char *label, long fd)
{
	errno = 0;
	long r = syscall(SYS_fcntl, fd, (long)F_GETFL);
	if (r < 0)
		printf("%s: errno=%s\n", label, errname(errno));
	else
		printf("%s: F_GETFL=0%lo\n", label, r);
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "x", -1, 0644);

	long ro = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	long wo = syscall(SYS_open, D "/f", (long)O_WRONLY, 0L);
	long rw = syscall(SYS_open, D "/f", (long)(O_RDWR | O_APPEND | O_NONBLOCK | O_CLOEXEC), 0L);
	long dir = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	long path = syscall(SYS_open, D "/f", (long)O_PATH, 0L);
	long sync = syscall(SYS_open, D "/f", (long)(O_RDWR | O_SYNC | O_DSYNC), 0L);
	long trunc = syscall(SYS_open, D "/f", (long)(O_RDWR | O_TRUNC | O_NOFOLLOW), 0L);
	long creat = syscall(SYS_open, D "/g", (long)(O_RDWR | O_CREAT | O_EXCL | O_NOCTTY), 0644L);
	/* Only the opened file's flags; O_CREAT etc. are not kept. */
	fl("O_RDONLY", ro);
	fl("O_WRONLY", wo);
	fl("O_RDWR|O_APPEND|O_NONBLOCK|O_CLOEXEC", rw);
	fl("O_DIRECTORY", dir);
	fl("O_PATH", path);
	fl("O_RDWR|O_SYNC|O_DSYNC", sync);
	fl("O_RDWR|O_TRUNC|O_NOFOLLOW", trunc);
	fl("O_RDWR|O_CREAT|O_EXCL|O_NOCTTY", creat);

	/* F_GETFD / F_SETFD. */
	CHECK("F_GETFD O_CLOEXEC fd", syscall(SYS_fcntl, rw, (long)F_GETFD));
	CHECK("F_SETFD 0", syscall(SYS_fcntl, rw, (long)F_SETFD, 0L));
	CHECK("F_GETFD", syscall(SYS_fcntl, rw, (long)F_GETFD));
	CHECK("F_SETFD 0xff (only FD_CLOEXEC kept)", syscall(SYS_fcntl, rw, (long)F_SETFD, 0xffL));
	CHECK("F_GETFD", syscall(SYS_fcntl, rw, (long)F_GETFD));
	CHECK("F_SETFD on O_PATH fd", syscall(SYS_fcntl, path, (long)F_SETFD, (long)FD_CLOEXEC));
	CHECK("F_GETFD on O_PATH fd", syscall(SYS_fcntl, path, (long)F_GETFD));

	/* F_SETFL changes O_APPEND, O_NONBLOCK, O_NOATIME, O_ASYNC, O_DIRECT
	 * only; the access mode and creation flags are ignored. */
	CHECK("F_SETFL O_APPEND on O_WRONLY", syscall(SYS_fcntl, wo, (long)F_SETFL, (long)O_APPEND));
	fl("  now", wo);
	CHECK("write appends", syscall(SYS_write, wo, "y", 1L));
	CHECK("  offset", syscall(SYS_lseek, wo, 0L, (long)SEEK_CUR));
	CHECK("F_SETFL O_RDWR|O_NONBLOCK on O_RDONLY", syscall(SYS_fcntl, ro, (long)F_SETFL, (long)(O_RDWR | O_NONBLOCK)));
	fl("  now (still read-only)", ro);
	CHECK("  write", syscall(SYS_write, ro, "z", 1L));
	CHECK("F_SETFL O_TRUNC|O_CREAT|O_EXCL|O_SYNC (ignored)",
	      syscall(SYS_fcntl, ro, (long)F_SETFL, (long)(O_TRUNC | O_CREAT | O_EXCL | O_SYNC)));
	fl("  now", ro);
	CHECK("F_SETFL O_NOATIME (owner is root)", syscall(SYS_fcntl, ro, (long)F_SETFL, (long)O_NOATIME));
	fl("  now", ro);
	CHECK("F_SETFL 0 clears", syscall(SYS_fcntl, rw, (long)F_SETFL, 0L));
	fl("  now", rw);
	CHECK("F_SETFL on O_PATH fd", syscall(SYS_fcntl, path, (long)F_SETFL, (long)O_APPEND));
	CHECK("F_SETFL O_NONBLOCK on dir", syscall(SYS_fcntl, dir, (long)F_SETFL, (long)O_NONBLOCK));
	fl("  now", dir);

	/* Errors. */
	CHECK("F_GETFL bad fd", syscall(SYS_fcntl, 999L, (long)F_GETFL));
	CHECK("F_GETFD bad fd", syscall(SYS_fcntl, -1L, (long)F_GETFD));
	CHECK("cmd 12345", syscall(SYS_fcntl, ro, 12345L, 0L));
	CHECK("cmd -1", syscall(SYS_fcntl, ro, -1L, 0L));
	CHECK("F_GETOWN on a file", syscall(SYS_fcntl, ro, (long)F_GETOWN));
	CHECK("F_GETSIG on a file", syscall(SYS_fcntl, ro, (long)F_GETSIG));
	CHECK("F_GETLEASE on a file", syscall(SYS_fcntl, ro, (long)F_GETLEASE));
	CHECK("F_GETPIPE_SZ on a file", syscall(SYS_fcntl, ro, (long)F_GETPIPE_SZ));

	syscall(SYS_close, ro);
	syscall(SYS_close, wo);
	syscall(SYS_close, rw);
	syscall(SYS_close, dir);
	syscall(SYS_close, path);
	syscall(SYS_close, sync);
	syscall(SYS_close, trunc);
	syscall(SYS_close, creat);
	cleanup_dir(D);
	return 0;
}
