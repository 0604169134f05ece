/* fs_dev.c - the character devices every program expects: /dev/null
 * (reads EOF, swallows writes), /dev/zero (reads zeros, private and
 * shared mappings of zeros), /dev/full (reads zeros, writes ENOSPC),
 * /dev/urandom and /dev/random (full reads, not all zero), their types,
 * device numbers, seeks and the /dev/fd and /dev/std* links. */
#include "guest.h"
#include <sys/sysmacros.h>
#include <sys/uio.h>

static void dev(const char *path)
{
	struct stat st = {0};
	if (syscall(SYS_stat, path, &st)) {
		printf("%s: errno=%s\n", path, errname(errno));
		return;
	}
	printf("%s: %s %u:%u mode=%04o\n", path, mode_type(st.st_mode), major(st.st_rdev),
	       minor(st.st_rdev), (unsigned)(st.st_mode & 0777));
}

int main(void)
{
	GUEST_INIT();
	static unsigned char buf[65536];
	dev("/dev/null");
	dev("/dev/zero");
	dev("/dev/full");
	dev("/dev/random");
	dev("/dev/urandom");

	/* /dev/null. */
	long fd = syscall(SYS_open, "/dev/null", (long)O_RDWR, 0L);
	CHECK("null: read", syscall(SYS_read, fd, buf, 100L));
	CHECK("null: write 100", syscall(SYS_write, fd, buf, 100L));
	CHECK("null: write 65536", syscall(SYS_write, fd, buf, 65536L));
	CHECK("null: pwrite at 1<<40", syscall(SYS_pwrite64, fd, buf, 10L, 1L << 40));
	CHECK("null: pread", syscall(SYS_pread64, fd, buf, 10L, 0L));
	CHECK("null: lseek 1000", syscall(SYS_lseek, fd, 1000L, (long)SEEK_SET));
	CHECK("null: lseek SEEK_END", syscall(SYS_lseek, fd, 0L, (long)SEEK_END));
	CHECK("null: write from a bad pointer", syscall(SYS_write, fd, BAD_LOW, 10L));
	CHECK("null: read into a bad pointer", syscall(SYS_read, fd, BAD_LOW, 10L));
	struct iovec iov[2] = {{buf, 5}, {buf + 5, 5}};
	CHECK("null: writev", syscall(SYS_writev, fd, iov, 2L));
	CHECK("null: readv", syscall(SYS_readv, fd, iov, 2L));
	syscall(SYS_close, fd);

	/* /dev/zero. */
	fd = syscall(SYS_open, "/dev/zero", (long)O_RDWR, 0L);
	memset(buf, 0xaa, sizeof buf);
	CHECK("zero: read 65536", syscall(SYS_read, fd, buf, 65536L));
	int z = 1;
	for (unsigned i = 0; i < sizeof buf; i++)
		z &= buf[i] == 0;
	printf("zero: all zeros: %s\n", z ? "yes" : "no");
	CHECK("zero: write", syscall(SYS_write, fd, "abc", 3L));
	CHECK("zero: lseek", syscall(SYS_lseek, fd, 123L, (long)SEEK_SET));
	CHECK("zero: pread", syscall(SYS_pread64, fd, buf, 10L, 1000L));
	CHECK("zero: read into a bad pointer", syscall(SYS_read, fd, BAD_LOW, 10L));
	unsigned char *m;
	CHECK_OK("zero: MAP_PRIVATE", (long)(m = raw_mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)));
	if (m != MAP_FAILED) {
		m[0] = 1;
		printf("zero: private mapping: %d %d\n", m[0], m[PAGE]);
	}
	unsigned char *s;
	CHECK_OK("zero: MAP_SHARED", (long)(s = raw_mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)));
	if (s != MAP_FAILED) {
		s[7] = 7;
		printf("zero: shared mapping: %d %d\n", s[0], s[7]);
	}
	syscall(SYS_close, fd);

	/* /dev/full. */
	fd = syscall(SYS_open, "/dev/full", (long)O_RDWR, 0L);
	CHECK("full: write", syscall(SYS_write, fd, "abc", 3L));
	CHECK("full: write 0 bytes", syscall(SYS_write, fd, "abc", 0L));
	CHECK("full: writev", syscall(SYS_writev, fd, iov, 2L));
	memset(buf, 0xaa, 100);
	CHECK("full: read", syscall(SYS_read, fd, buf, 100L));
	printf("full: reads zeros: %s\n", buf[0] == 0 && buf[99] == 0 ? "yes" : "no");
	CHECK("full: lseek", syscall(SYS_lseek, fd, 0L, (long)SEEK_SET));
	syscall(SYS_close, fd);

	/* Random devices: full-length reads, not all zero, two reads differ. */
	static const char *rnd[] = {"/dev/urandom", "/dev/random"};
	for (int r = 0; r < 2; r++) {
		fd = syscall(SYS_open, rnd[r], (long)O_RDONLY, 0L);
		unsigned char a[64] = {0}, b[64] = {0};
		long n1 = syscall(SYS_read, fd, a, 64L);
		long n2 = syscall(SYS_read, fd, b, 64L);
		int nz = 0;
		for (int i = 0; i < 64; i++)
			nz |= a[i];
		printf("%s: read 64 -> %ld, again -> %ld, nonzero: %s, differ: %s\n", rnd[r], n1, n2,
		       nz ? "yes" : "no", memcmp(a, b, 64) ? "yes" : "no");
		CHECK("  read 65536", syscall(SYS_read, fd, buf, 65536L));
		CHECK("  read into a bad pointer", syscall(SYS_read, fd, BAD_LOW, 8L));
		syscall(SYS_close, fd);
	}
	CHECK_OK("urandom: open O_WRONLY", fd = syscall(SYS_open, "/dev/urandom", (long)O_WRONLY, 0L));
	syscall(SYS_close, fd);

	/* Directory entries of /dev. */
	CHECK("open /dev/null O_DIRECTORY", syscall(SYS_open, "/dev/null", (long)(O_RDONLY | O_DIRECTORY), 0L));
	CHECK("open /dev/null/", syscall(SYS_open, "/dev/null/", (long)O_RDONLY, 0L));
	CHECK("open /dev/nonexistent", syscall(SYS_open, "/dev/husk-nonexistent", (long)O_RDONLY, 0L));
	struct stat st = {0};
	CHECK("lstat /dev/fd", syscall(SYS_lstat, "/dev/fd", &st));
	printf("  type: %s\n", mode_type(st.st_mode));
	char l[64] = {0};
	long n = syscall(SYS_readlink, "/dev/fd", l, 63L);
	l[n < 0 ? 0 : n] = 0;
	printf("  -> %s\n", l);
	static const char *std[] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
	for (int i = 0; i < 3; i++) {
		n = syscall(SYS_readlink, std[i], l, 63L);
		l[n < 0 ? 0 : n] = 0;
		printf("%s -> %s\n", std[i], n < 0 ? errname(errno) : l);
	}
	return 0;
}
