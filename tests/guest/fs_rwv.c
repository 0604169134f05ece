/* fs_rwv.c - readv, writev, preadv, pwritev, preadv2 and pwritev2 on a
 * regular file: scatter/gather order, offsets (-1 means "the file
 * position" for the v2 calls), RWF_* flags, and the error paths. */
#include "guest.h"
#include <sys/uio.h>

#define D "/tmp/husk-fs-rwv"

static void show(const char *label, const char *path)
{
	char buf[128] = {0};
	long n = get_file(path, buf, sizeof buf);
	printf("%s: %ld [%s]\n", label, n, n < 0 ? "" : buf);
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	long fd = syscall(SYS_open, D "/f", (long)(O_RDWR | O_CREAT | O_EXCL), 0644L);
	if (fd < 0)
		die("open");

	char a[] = "alpha-", b[] = "", c[] = "gamma-", d[] = "delta";
	struct iovec w[4] = {{a, 6}, {b, 0}, {c, 6}, {d, 5}};
	CHECK("writev 4 iovecs", syscall(SYS_writev, fd, w, 4L));
	CHECK("offset after writev", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	show("after writev", D "/f");

	char r1[4] = {0}, r2[7] = {0}, r3[20] = {0};
	memset(r3, 0, sizeof r3);
	struct iovec r[3] = {{r1, 4}, {r2, 7}, {r3, 20}};
	CHECK("readv at EOF", syscall(SYS_readv, fd, r, 3L));
	syscall(SYS_lseek, fd, 0L, (long)SEEK_SET);
	CHECK("readv 3 iovecs", syscall(SYS_readv, fd, r, 3L));
	printf("r1=[%.4s] r2=[%.7s] r3=[%s]\n", r1, r2, r3);

	/* preadv/pwritev: explicit offset, file position untouched. */
	syscall(SYS_lseek, fd, 2L, (long)SEEK_SET);
	struct iovec pw[2] = {{"XX", 2}, {"YY", 2}};
	CHECK("pwritev at 6", syscall(SYS_pwritev, fd, pw, 2L, 6L, 0L));
	CHECK("offset still 2", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	memset(r3, 0, sizeof r3);
	struct iovec pr[2] = {{r1, 3}, {r3, 19}};
	CHECK("preadv at 4", syscall(SYS_preadv, fd, pr, 2L, 4L, 0L));
	printf("r1=[%.3s] r3=[%s]\n", r1, r3);
	CHECK("offset still 2", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	CHECK("preadv beyond EOF", syscall(SYS_preadv, fd, pr, 2L, 1000L, 0L));
	CHECK("preadv offset -1", syscall(SYS_preadv, fd, pr, 2L, -1L, 0L));
	CHECK("pwritev offset -5", syscall(SYS_pwritev, fd, pw, 2L, -5L, 0L));
	CHECK("pwritev beyond EOF (hole)", syscall(SYS_pwritev, fd, pw, 1L, 30L, 0L));
	struct stat st = {0};
	syscall(SYS_fstat, fd, &st);
	printf("size: %ld\n", (long)st.st_size);
	syscall(SYS_ftruncate, fd, 17L);

	/* preadv2/pwritev2 with offset -1: use and advance the position. */
	syscall(SYS_lseek, fd, 6L, (long)SEEK_SET);
	memset(r3, 0, sizeof r3);
	struct iovec one = {r3, 4};
	CHECK("preadv2(-1, 0)", syscall(SYS_preadv2, fd, &one, 1L, -1L, 0L, 0L));
	printf("got [%s]\n", r3);
	CHECK("offset now 10", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	CHECK("preadv2(0, 0)", syscall(SYS_preadv2, fd, &one, 1L, 0L, 0L, 0L));
	CHECK("offset still 10", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	struct iovec wv = {"++", 2};
	CHECK("pwritev2(-1, 0)", syscall(SYS_pwritev2, fd, &wv, 1L, -1L, 0L, 0L));
	CHECK("offset now 12", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	CHECK("pwritev2(0, RWF_DSYNC)", syscall(SYS_pwritev2, fd, &wv, 1L, 0L, 0L, (long)RWF_DSYNC));
	CHECK("pwritev2(1, RWF_SYNC)", syscall(SYS_pwritev2, fd, &wv, 1L, 1L, 0L, (long)RWF_SYNC));
	show("after pwritev2", D "/f");
	CHECK("pwritev2(0, RWF_APPEND)", syscall(SYS_pwritev2, fd, &wv, 1L, 0L, 0L, (long)RWF_APPEND));
	CHECK("offset after RWF_APPEND at explicit offset", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	CHECK("pwritev2(-1, RWF_APPEND)", syscall(SYS_pwritev2, fd, &wv, 1L, -1L, 0L, (long)RWF_APPEND));
	CHECK("offset after RWF_APPEND at -1", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	show("after RWF_APPEND", D "/f");
	CHECK("preadv2 unknown flag 0x40000000", syscall(SYS_preadv2, fd, &one, 1L, 0L, 0L, 0x40000000L));
	CHECK("pwritev2 unknown flag 0x40000000", syscall(SYS_pwritev2, fd, &wv, 1L, 0L, 0L, 0x40000000L));
	CHECK("preadv2 RWF_APPEND", syscall(SYS_preadv2, fd, &one, 1L, 0L, 0L, (long)RWF_APPEND));
	CHECK("preadv2 offset -2", syscall(SYS_preadv2, fd, &one, 1L, -2L, 0L, 0L));

	/* The usual iovec rules. */
	CHECK("readv iovcnt 0", syscall(SYS_readv, fd, r, 0L));
	CHECK("readv iovcnt -1", syscall(SYS_readv, fd, r, -1L));
	CHECK("readv iovcnt 1025", syscall(SYS_readv, fd, r, 1025L));
	CHECK("writev bad iov pointer", syscall(SYS_writev, fd, BAD_LOW, 1L));
	struct iovec bad = {BAD_LOW, 4};
	CHECK("writev bad iov_base", syscall(SYS_writev, fd, &bad, 1L));
	CHECK("preadv bad iov_base", syscall(SYS_preadv, fd, &bad, 1L, 0L, 0L));
	struct iovec neg = {r1, (size_t)-1};
	CHECK("readv iov_len -1", syscall(SYS_readv, fd, &neg, 1L));
	CHECK("readv bad fd", syscall(SYS_readv, 555L, r, 1L));
	long ro = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	CHECK("writev on O_RDONLY", syscall(SYS_writev, ro, w, 1L));
	CHECK("pwritev2 on O_RDONLY", syscall(SYS_pwritev2, ro, w, 1L, 0L, 0L, 0L));
	syscall(SYS_close, ro);
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("readv on a directory", syscall(SYS_readv, dfd, r, 1L));
	CHECK("preadv2 on a directory", syscall(SYS_preadv2, dfd, r, 1L, 0L, 0L, 0L));
	syscall(SYS_close, dfd);

	/* 1024 iovecs, each one byte. */
	static struct iovec many[1024];
	static char bytes[1024];
	for (int i = 0; i < 1024; i++) {
		bytes[i] = (char)('a' + i % 26);
		many[i].iov_base = bytes + i;
		many[i].iov_len = 1;
	}
	CHECK("pwritev 1024 one-byte iovecs", syscall(SYS_pwritev, fd, many, 1024L, 0L, 0L));
	static char chk[1024];
	CHECK("pread64 them back", syscall(SYS_pread64, fd, chk, 1024L, 0L));
	EXPECT("equal", !memcmp(chk, bytes, 1024));

	syscall(SYS_close, fd);
	cleanup_dir(D);
	return 0;
}
