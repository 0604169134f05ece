/* fstat_stdio.c - fstat and newfstatat(AT_EMPTY_PATH) on the stdio fds.
 * stdin is the 60-byte fstat_stdio.stdin file; stdout and stderr are
 * regular files created by the runner. */
#include "guest.h"
#include <sys/stat.h>

static const char *ftype(mode_t m)
{
	if (S_ISREG(m)) return "regular";
	if (S_ISCHR(m)) return "char";
	if (S_ISFIFO(m)) return "fifo";
	if (S_ISSOCK(m)) return "socket";
	if (S_ISDIR(m)) return "dir";
	return "other";
}

int main(void)
{
	GUEST_INIT();
	struct stat s0, s1, s2, a;

	CHECK("fstat(0)", syscall(SYS_fstat, 0L, &s0));
	CHECK("fstat(1)", syscall(SYS_fstat, 1L, &s1));
	CHECK("fstat(2)", syscall(SYS_fstat, 2L, &s2));
	printf("stdin type: %s\n", ftype(s0.st_mode));
	printf("stdout type: %s\n", ftype(s1.st_mode));
	printf("stderr type: %s\n", ftype(s2.st_mode));
	printf("stdin size: %lld\n", (long long)s0.st_size);
	EXPECT("stdin nlink >= 1", s0.st_nlink >= 1);
	EXPECT("stdin blksize > 0", s0.st_blksize > 0);
	EXPECT("stdin blocks >= 0", s0.st_blocks >= 0);
	EXPECT("stdin ino != 0", s0.st_ino != 0);
	EXPECT("stdin and stdout are different files",
	       s0.st_ino != s1.st_ino || s0.st_dev != s1.st_dev);
	EXPECT("stdout and stderr are different files",
	       s1.st_ino != s2.st_ino || s1.st_dev != s2.st_dev);

	/* stdout's size is exactly what has been written so far. */
	long off = syscall(SYS_lseek, 1L, 0L, (long)SEEK_CUR);
	CHECK("fstat(1) again", syscall(SYS_fstat, 1L, &s1));
	EXPECT("stdout size == stdout offset", (long)s1.st_size == off);
	CHECK("write 10 bytes", syscall(SYS_write, 1L, "0123456789", 10L));
	off = syscall(SYS_lseek, 1L, 0L, (long)SEEK_CUR);
	struct stat s1b;
	CHECK("fstat(1) after write", syscall(SYS_fstat, 1L, &s1b));
	EXPECT("stdout size == stdout offset", (long)s1b.st_size == off);
	EXPECT("stdout grew by at least 10", s1b.st_size >= s1.st_size + 10);

	CHECK("newfstatat(0, \"\", AT_EMPTY_PATH)",
	      syscall(SYS_newfstatat, 0L, "", &a, (long)AT_EMPTY_PATH));
	EXPECT("same dev/ino/mode/size as fstat",
	       a.st_dev == s0.st_dev && a.st_ino == s0.st_ino &&
	       a.st_mode == s0.st_mode && a.st_size == s0.st_size);
	CHECK("newfstatat(1, \"\", AT_EMPTY_PATH)",
	      syscall(SYS_newfstatat, 1L, "", &a, (long)AT_EMPTY_PATH));
	EXPECT("same dev/ino as fstat(1)", a.st_dev == s1.st_dev && a.st_ino == s1.st_ino);
	CHECK("libc fstat(0)", fstat(0, &a));
	EXPECT("libc fstat same ino", a.st_ino == s0.st_ino);

	CHECK("fstat(-1)", syscall(SYS_fstat, -1L, &a));
	CHECK("fstat(1000)", syscall(SYS_fstat, 1000L, &a));
	CHECK("fstat(0, NULL)", syscall(SYS_fstat, 0L, NULL));
	CHECK("fstat(0, bad)", syscall(SYS_fstat, 0L, BAD_LOW));
	CHECK("fstat(1000, bad)", syscall(SYS_fstat, 1000L, BAD_LOW));
	CHECK("newfstatat(1000, \"\", AT_EMPTY_PATH)",
	      syscall(SYS_newfstatat, 1000L, "", &a, (long)AT_EMPTY_PATH));
	CHECK("newfstatat(0, \"\", AT_EMPTY_PATH, bad statbuf)",
	      syscall(SYS_newfstatat, 0L, "", BAD_LOW, (long)AT_EMPTY_PATH));
	return 0;
}
