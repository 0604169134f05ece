/* iovec.c - readv/writev on stdio, including the iovec validation rules. */
#include "guest.h"
#include <sys/uio.h>

int main(void)
{
	GUEST_INIT();
	static char a[] = "writev ", b[] = "", c[] = "three ", d[] = "parts\n";
	struct iovec iov[4] = {
		{a, sizeof a - 1}, {b, 0}, {c, sizeof c - 1}, {d, sizeof d - 1},
	};
	CHECK("writev(1, 4 iovecs)", syscall(SYS_writev, 1L, iov, 4L));
	CHECK("writev(1, iov, 0)", syscall(SYS_writev, 1L, iov, 0L));
	CHECK("writev(1, NULL, 0)", syscall(SYS_writev, 1L, NULL, 0L));
	CHECK("writev(1, bad iov, 0)", syscall(SYS_writev, 1L, BAD_LOW, 0L));
	CHECK("writev(1, bad iov, 1)", syscall(SYS_writev, 1L, BAD_LOW, 1L));
	CHECK("writev(1, iov, -1)", syscall(SYS_writev, 1L, iov, -1L));

	static struct iovec many[1025];
	for (int i = 0; i < 1025; i++) {
		many[i].iov_base = NULL;
		many[i].iov_len = 0;
	}
	many[1023].iov_base = "z\n";
	many[1023].iov_len = 2;
	CHECK("writev(1, 1024 iovecs)", syscall(SYS_writev, 1L, many, 1024L));
	CHECK("writev(1, 1025 iovecs)", syscall(SYS_writev, 1L, many, 1025L));

	struct iovec huge[2] = {{a, (size_t)-1}, {c, 1}};
	CHECK("writev(1, iov_len=-1)", syscall(SYS_writev, 1L, huge, 1L));
	/* NB: a total above MAX_RW_COUNT is silently truncated by Linux, not
	 * rejected, and what happens next depends on the host file system,
	 * so only an individually negative length is tested. */
	struct iovec badbase[1] = {{BAD_LOW, 5}};
	CHECK("writev(1, bad iov_base)", syscall(SYS_writev, 1L, badbase, 1L));
	struct iovec nulbase[2] = {{NULL, 0}, {d, sizeof d - 1}};
	CHECK("writev(1, {NULL,0},{parts})", syscall(SYS_writev, 1L, nulbase, 2L));
	CHECK("writev(1000, iov, 1)", syscall(SYS_writev, 1000L, iov, 1L));
	CHECK("writev(0) read-only fd", syscall(SYS_writev, 0L, iov, 1L));
	CHECK("writev(0, iov, -1) read-only fd", syscall(SYS_writev, 0L, iov, -1L));

	/* readv from the stdin file: 27+11 bytes of input. */
	char r1[3], r2[5], r3[10];
	struct iovec riov[3] = {{r1, 3}, {r2, 5}, {r3, 10}};
	CHECK("readv(0, bad iov, 1)", syscall(SYS_readv, 0L, BAD_LOW, 1L));
	CHECK("readv(0, iov, 0)", syscall(SYS_readv, 0L, riov, 0L));
	CHECK("readv(0, iov, -1)", syscall(SYS_readv, 0L, riov, -1L));
	CHECK("readv(1) write-only fd", syscall(SYS_readv, 1L, riov, 3L));
	CHECK("readv(0, 3 iovecs)", syscall(SYS_readv, 0L, riov, 3L));
	printf("r1=[%.3s] r2=[%.5s] r3=[%.10s]\n", r1, r2, r3);
	char big[64];
	memset(big, 0, sizeof big);
	struct iovec rest[2] = {{big, 10}, {big + 10, 50}};
	CHECK("readv(0, rest)", syscall(SYS_readv, 0L, rest, 2L));
	for (int i = 0; i < 64; i++)
		if (big[i] == '\n')
			big[i] = '|';
	printf("rest=[%s]\n", big);
	CHECK("readv at EOF", syscall(SYS_readv, 0L, riov, 3L));
	return 0;
}
