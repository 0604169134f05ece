/* fs_locks.c - record locks and flock within one process: POSIX locks of
 * one process never conflict with each other, OFD locks of two open file
 * descriptions do, OFD and POSIX locks conflict with each other, closing
 * any descriptor drops the process's POSIX locks, lock splitting, l_len
 * 0 and negative, flock on two descriptions (EWOULDBLOCK), and the
 * argument checks. */
#include "guest.h"
#include <sys/file.h>

#define D "/tmp/husk-fs-locks"

static long lk(long fd, long cmd, short type, long start, long len)
{
	struct flock fl = {0};
	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	return syscall(SYS_fcntl, fd, cmd, &fl);
}

static const char *tname(int t)
{
	return t == F_RDLCK ? "F_RDLCK" : t == F_WRLCK ? "F_WRLCK" : t == F_UNLCK ? "F_UNLCK" : "?";
}

/* Asks with cmd (F_GETLK or F_OFD_GETLK) whether a write lock on
 * [start, start+len) would conflict, and prints the answer. */
static void probe(const char *label, long fd, long cmd, short type, long start, long len)
{
	struct flock fl = {0};
	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	if (syscall(SYS_fcntl, fd, cmd, &fl)) {
		printf("%s: errno=%s\n", label, errname(errno));
		return;
	}
	if (fl.l_type == F_UNLCK) {
		printf("%s: F_UNLCK\n", label);
		return;
	}
	const char *pid = fl.l_pid == -1 ? "-1 (OFD)" : fl.l_pid == (pid_t)syscall(SYS_getpid) ? "self" : "other";
	printf("%s: %s start=%ld len=%ld pid=%s\n", label, tname(fl.l_type), (long)fl.l_start,
	       (long)fl.l_len, pid);
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "0123456789", -1, 0644);
	long a = syscall(SYS_open, D "/f", (long)O_RDWR, 0L);
	long b = syscall(SYS_open, D "/f", (long)O_RDWR, 0L);
	long ro = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	long wo = syscall(SYS_open, D "/f", (long)O_WRONLY, 0L);

	/* POSIX locks: one owner, the process. */
	CHECK("F_SETLK a WR [0,10)", lk(a, F_SETLK, F_WRLCK, 0, 10));
	probe("F_GETLK b WR [0,10)", b, F_GETLK, F_WRLCK, 0, 10);
	CHECK("F_SETLK b WR [0,10) (same process)", lk(b, F_SETLK, F_WRLCK, 0, 10));
	CHECK("F_SETLKW b RD [5,15)", lk(b, F_SETLKW, F_RDLCK, 5, 10));

	/* OFD locks: owned by the open file description. */
	CHECK("F_OFD_SETLK a WR [100,110)", lk(a, F_OFD_SETLK, F_WRLCK, 100, 10));
	probe("F_OFD_GETLK b WR [100,110)", b, F_OFD_GETLK, F_WRLCK, 100, 10);
	probe("F_OFD_GETLK a WR [100,110) (own lock)", a, F_OFD_GETLK, F_WRLCK, 100, 10);
	CHECK("F_OFD_SETLK b WR [105,106)", lk(b, F_OFD_SETLK, F_WRLCK, 105, 1));
	CHECK("F_OFD_SETLK b RD [105,106)", lk(b, F_OFD_SETLK, F_RDLCK, 105, 1));
	CHECK("F_OFD_SETLK b WR [110,120) (adjacent)", lk(b, F_OFD_SETLK, F_WRLCK, 110, 10));
	long a2 = syscall(SYS_dup, a);
	CHECK("F_OFD_SETLK dup(a) RD [100,110) (same description)", lk(a2, F_OFD_SETLK, F_RDLCK, 100, 10));
	probe("F_OFD_GETLK b WR [100,110) after downgrade", b, F_OFD_GETLK, F_WRLCK, 100, 10);
	probe("F_OFD_GETLK b RD [100,110) after downgrade", b, F_OFD_GETLK, F_RDLCK, 100, 10);
	CHECK("F_OFD_SETLK b RD [100,110) (shared)", lk(b, F_OFD_SETLK, F_RDLCK, 100, 10));
	CHECK("F_OFD_SETLK a WR [100,110) (b reads)", lk(a, F_OFD_SETLK, F_WRLCK, 100, 10));
	CHECK("F_OFD_SETLK b UN [100,120)", lk(b, F_OFD_SETLK, F_UNLCK, 100, 20));
	CHECK("F_OFD_SETLK a WR [100,110) now", lk(a, F_OFD_SETLK, F_WRLCK, 100, 10));

	/* OFD and POSIX locks conflict even within one process. */
	probe("F_OFD_GETLK b WR [0,10) (process's POSIX lock)", b, F_OFD_GETLK, F_WRLCK, 0, 10);
	CHECK("F_OFD_SETLK b WR [0,10)", lk(b, F_OFD_SETLK, F_WRLCK, 0, 10));
	probe("F_GETLK b WR [100,110) (a's OFD lock)", b, F_GETLK, F_WRLCK, 100, 10);
	CHECK("F_SETLK b WR [100,110)", lk(b, F_SETLK, F_WRLCK, 100, 10));

	/* Splitting: unlock the middle of a POSIX lock. */
	CHECK("F_SETLK a WR [0,100)", lk(a, F_SETLK, F_WRLCK, 0, 100));
	CHECK("F_SETLK a UN [40,60)", lk(a, F_SETLK, F_UNLCK, 40, 20));
	probe("F_OFD_GETLK b WR [0,100)", b, F_OFD_GETLK, F_WRLCK, 0, 100);
	probe("F_OFD_GETLK b WR [40,60)", b, F_OFD_GETLK, F_WRLCK, 40, 20);
	probe("F_OFD_GETLK b WR [50,100)", b, F_OFD_GETLK, F_WRLCK, 50, 50);

	/* Closing any descriptor of the file drops all the process's POSIX
	 * locks on it (but not OFD locks). */
	long c = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	syscall(SYS_close, c);
	probe("after close(c): F_OFD_GETLK b WR [0,100)", b, F_OFD_GETLK, F_WRLCK, 0, 100);
	probe("after close(c): F_OFD_GETLK b WR [100,110)", b, F_OFD_GETLK, F_WRLCK, 100, 10);

	/* Lengths 0 (to EOF and beyond) and negative (bytes before start). */
	CHECK("F_SETLK a WR start 1000 len 0", lk(a, F_SETLK, F_WRLCK, 1000, 0));
	probe("F_OFD_GETLK b WR [5000,5001)", b, F_OFD_GETLK, F_WRLCK, 5000, 1);
	CHECK("F_SETLK a UN start 1000 len 0", lk(a, F_SETLK, F_UNLCK, 1000, 0));
	CHECK("F_SETLK a WR start 300 len -50", lk(a, F_SETLK, F_WRLCK, 300, -50));
	probe("F_OFD_GETLK b WR [200,400)", b, F_OFD_GETLK, F_WRLCK, 200, 200);
	CHECK("F_SETLK a WR start 10 len -20", lk(a, F_SETLK, F_WRLCK, 10, -20));
	CHECK("F_SETLK a WR start -1", lk(a, F_SETLK, F_WRLCK, -1, 1));
	{
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_END, .l_start = -2, .l_len = 2};
		CHECK("F_SETLK a WR SEEK_END -2 len 2", syscall(SYS_fcntl, a, (long)F_SETLK, &fl));
		probe("F_OFD_GETLK b WR [8,10)", b, F_OFD_GETLK, F_WRLCK, 8, 2);
		fl.l_whence = 7;
		CHECK("F_SETLK whence 7", syscall(SYS_fcntl, a, (long)F_SETLK, &fl));
	}

	/* Argument checks. */
	CHECK("F_SETLK WR on O_RDONLY fd", lk(ro, F_SETLK, F_WRLCK, 0, 1));
	CHECK("F_SETLK RD on O_WRONLY fd", lk(wo, F_SETLK, F_RDLCK, 0, 1));
	CHECK("F_SETLK RD on O_RDONLY fd", lk(ro, F_SETLK, F_RDLCK, 2000, 1));
	CHECK("F_SETLK type 7", lk(a, F_SETLK, 7, 0, 1));
	CHECK("F_GETLK type F_UNLCK", lk(a, F_GETLK, F_UNLCK, 0, 1));
	{
		struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 3000, .l_len = 1, .l_pid = 1};
		CHECK("F_OFD_SETLK with l_pid != 0", syscall(SYS_fcntl, a, (long)F_OFD_SETLK, &fl));
		CHECK("F_SETLK with l_pid != 0 (ignored)", syscall(SYS_fcntl, a, (long)F_SETLK, &fl));
	}
	CHECK("F_SETLK bad pointer", syscall(SYS_fcntl, a, (long)F_SETLK, BAD_LOW));
	CHECK("F_OFD_GETLK bad pointer", syscall(SYS_fcntl, a, (long)F_OFD_GETLK, BAD_LOW));
	long p = syscall(SYS_open, D "/f", (long)O_PATH, 0L);
	CHECK("F_SETLK on O_PATH fd", lk(p, F_SETLK, F_RDLCK, 0, 1));
	CHECK("F_OFD_SETLK on O_PATH fd", lk(p, F_OFD_SETLK, F_RDLCK, 0, 1));
	CHECK("F_SETLK bad fd", lk(999, F_SETLK, F_RDLCK, 0, 1));

	/* flock: owned by the open file description. */
	put_file(D "/g", "g", -1, 0644);
	long f1 = syscall(SYS_open, D "/g", (long)O_RDONLY, 0L);
	long f2 = syscall(SYS_open, D "/g", (long)O_RDONLY, 0L);
	long f1d = syscall(SYS_dup, f1);
	CHECK("flock f1 LOCK_EX|LOCK_NB", syscall(SYS_flock, f1, (long)(LOCK_EX | LOCK_NB)));
	CHECK("flock f2 LOCK_EX|LOCK_NB", syscall(SYS_flock, f2, (long)(LOCK_EX | LOCK_NB)));
	CHECK("flock f2 LOCK_SH|LOCK_NB", syscall(SYS_flock, f2, (long)(LOCK_SH | LOCK_NB)));
	CHECK("flock dup(f1) LOCK_EX|LOCK_NB", syscall(SYS_flock, f1d, (long)(LOCK_EX | LOCK_NB)));
	CHECK("flock dup(f1) LOCK_SH (convert)", syscall(SYS_flock, f1d, (long)LOCK_SH));
	CHECK("flock f2 LOCK_SH|LOCK_NB", syscall(SYS_flock, f2, (long)(LOCK_SH | LOCK_NB)));
	CHECK("flock f1 LOCK_EX|LOCK_NB (f2 shares)", syscall(SYS_flock, f1, (long)(LOCK_EX | LOCK_NB)));
	CHECK("flock f2 LOCK_UN", syscall(SYS_flock, f2, (long)LOCK_UN));
	CHECK("flock f1 LOCK_EX|LOCK_NB", syscall(SYS_flock, f1, (long)(LOCK_EX | LOCK_NB)));
	syscall(SYS_close, f1);
	CHECK("flock f2 LOCK_EX|LOCK_NB (dup still open)", syscall(SYS_flock, f2, (long)(LOCK_EX | LOCK_NB)));
	syscall(SYS_close, f1d);
	CHECK("flock f2 LOCK_EX|LOCK_NB (all closed)", syscall(SYS_flock, f2, (long)(LOCK_EX | LOCK_NB)));
	/* flock and record locks are independent. */
	long f3 = syscall(SYS_open, D "/g", (long)O_RDWR, 0L);
	CHECK("F_OFD_SETLK on g while flocked", lk(f3, F_OFD_SETLK, F_WRLCK, 0, 0));
	CHECK("F_OFD_SETLK UN on g", lk(f3, F_OFD_SETLK, F_UNLCK, 0, 0));
	CHECK("F_SETLK on g while flocked", lk(f3, F_SETLK, F_WRLCK, 0, 0));
	CHECK("flock op 0", syscall(SYS_flock, f2, 0L));
	CHECK("flock op LOCK_NB alone", syscall(SYS_flock, f2, (long)LOCK_NB));
	CHECK("flock op 0x40", syscall(SYS_flock, f2, 0x40L));
	CHECK("flock bad fd", syscall(SYS_flock, 999L, (long)LOCK_SH));
	CHECK("flock O_PATH fd", syscall(SYS_flock, p, (long)LOCK_SH));
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("flock a directory", syscall(SYS_flock, dfd, (long)(LOCK_EX | LOCK_NB)));

	syscall(SYS_close, dfd);
	syscall(SYS_close, f3);
	syscall(SYS_close, f2);
	syscall(SYS_close, p);
	syscall(SYS_close, a2);
	syscall(SYS_close, a);
	syscall(SYS_close, b);
	syscall(SYS_close, ro);
	syscall(SYS_close, wo);
	cleanup_dir(D);
	return 0;
}
