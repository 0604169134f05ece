/* lseek.c - lseek on a regular-file stdin (lseek.stdin, 60 bytes) and on
 * the stdout file. */
#include "guest.h"

static long out_bytes; /* bytes written to stdout so far */

#define P(...) (out_bytes += printf(__VA_ARGS__))
#define LS(label, fd, off, wh)                                             \
	do {                                                               \
		errno = 0;                                                 \
		long r_ = syscall(SYS_lseek, (long)(fd), (long)(off), (long)(wh)); \
		P("%s: ret=%ld errno=%s\n", (label), r_,                   \
		  r_ == -1 ? errname(errno) : "-");                        \
	} while (0)

int main(void)
{
	GUEST_INIT();
	char buf[32];

	LS("lseek(0, 0, SEEK_CUR) at start", 0, 0, SEEK_CUR);
	LS("lseek(0, 0, SEEK_END)", 0, 0, SEEK_END);
	LS("lseek(0, 4, SEEK_SET)", 0, 4, SEEK_SET);
	long n = syscall(SYS_read, 0L, buf, 11L);
	P("read 11 at 4: %ld [%.*s]\n", n, (int)(n > 0 ? n : 0), buf);
	LS("lseek(0, 0, SEEK_CUR)", 0, 0, SEEK_CUR);
	LS("lseek(0, -5, SEEK_CUR)", 0, -5, SEEK_CUR);
	n = syscall(SYS_read, 0L, buf, 5L);
	P("read 5: %ld [%.*s]\n", n, (int)(n > 0 ? n : 0), buf);
	LS("lseek(0, -4, SEEK_END)", 0, -4, SEEK_END);
	n = syscall(SYS_read, 0L, buf, 32L);
	P("read to EOF: %ld [%.3s]\n", n, buf);
	LS("lseek(0, 1000, SEEK_END) past EOF", 0, 1000, SEEK_END);
	P("read past EOF: %ld\n", (long)syscall(SYS_read, 0L, buf, 32L));
	LS("lseek(0, -1, SEEK_SET)", 0, -1, SEEK_SET);
	LS("lseek(0, 0, SEEK_SET)", 0, 0, SEEK_SET);
	LS("lseek(0, -100, SEEK_CUR)", 0, -100, SEEK_CUR);
	LS("lseek(0, -1000, SEEK_END)", 0, -1000, SEEK_END);
	LS("lseek(0, 0, SEEK_CUR) unchanged after errors", 0, 0, SEEK_CUR);
	LS("lseek(0, 0, SEEK_DATA)", 0, 0, 3);
	LS("lseek(0, 0, SEEK_HOLE)", 0, 0, 4);
	LS("lseek(0, 0, whence=5)", 0, 0, 5);
	LS("lseek(0, 0, whence=-1)", 0, 0, -1);
	LS("lseek(-1, 0, SEEK_SET)", -1, 0, SEEK_SET);
	LS("lseek(1000, 0, SEEK_SET)", 1000, 0, SEEK_SET);

	/* stdout is a regular file opened with O_TRUNC: its offset is the
	 * number of bytes printed so far. */
	long before = out_bytes;
	long cur = syscall(SYS_lseek, 1L, 0L, (long)SEEK_CUR);
	long end = syscall(SYS_lseek, 1L, 0L, (long)SEEK_END);
	P("stdout offset == bytes printed: %s\n", cur == before ? "yes" : "no");
	P("stdout end == bytes printed: %s\n", end == before ? "yes" : "no");
	/* Rewind stdout and overwrite the first line in place. */
	static const char fix[] = "LSEEK";
	long pos = syscall(SYS_lseek, 1L, 0L, (long)SEEK_CUR);
	if (syscall(SYS_lseek, 1L, 0L, (long)SEEK_SET) != 0)
		die("lseek(1, 0, SEEK_SET)");
	if (syscall(SYS_write, 1L, fix, 5L) != 5)
		die("overwrite");
	if (syscall(SYS_lseek, 1L, pos, (long)SEEK_SET) != pos)
		die("lseek back");
	P("overwrote the first 5 bytes of stdout\n");
	return 0;
}
