/* fs_memfd.c - memfd_create: flags (MFD_CLOEXEC, MFD_ALLOW_SEALING,
 * unknown bits), names (length limit, the /proc/self/fd link text),
 * write/read/ftruncate/fstat, MAP_SHARED mappings seen by read() and
 * vice versa, and seals (F_ADD_SEALS, F_GET_SEALS; SEAL_WRITE against
 * writes and writable mappings, SHRINK, GROW, SEAL). */
#include "guest.h"

static void link_of(const char *label, long fd)
{
	char p[64] = {0}, buf[300] = {0};
	snprintf(p, sizeof p, "/proc/self/fd/%ld", fd);
	long n = syscall(SYS_readlink, p, buf, (long)sizeof buf - 1);
	buf[n < 0 ? 0 : n] = 0;
	printf("%s: %s\n", label, n < 0 ? errname(errno) : buf);
}

static void seals(const char *label, long fd)
{
	long s = syscall(SYS_fcntl, fd, (long)F_GET_SEALS);
	if (s < 0) {
		printf("%s: errno=%s\n", label, errname(errno));
		return;
	}
	printf("%s:%s%s%s%s%s\n", label, s == 0 ? " none" : "", s & F_SEAL_SEAL ? " SEAL" : "",
	       s & F_SEAL_SHRINK ? " SHRINK" : "", s & F_SEAL_GROW ? " GROW" : "",
	       s & F_SEAL_WRITE ? " WRITE" : "");
}

static long size(long fd)
{
	struct stat st = {0};
	return syscall(SYS_fstat, fd, &st) ? -1 : (long)st.st_size;
}

int main(void)
{
	GUEST_INIT();
	long fd;
	CHECK_OK("memfd_create(MFD_CLOEXEC)", fd = syscall(SYS_memfd_create, "husk-test", (long)MFD_CLOEXEC));
	CHECK("  F_GETFD", syscall(SYS_fcntl, fd, (long)F_GETFD));
	link_of("  /proc/self/fd link", fd);
	struct stat st = {0};
	syscall(SYS_fstat, fd, &st);
	printf("  fstat: %s mode=%04o size=%ld nlink=%ld\n", mode_type(st.st_mode),
	       (unsigned)(st.st_mode & 07777), (long)st.st_size, (long)st.st_nlink);
	CHECK("  F_GETFL & O_ACCMODE", syscall(SYS_fcntl, fd, (long)F_GETFL) & O_ACCMODE);
	seals("  seals without MFD_ALLOW_SEALING", fd);
	CHECK("  F_ADD_SEALS without MFD_ALLOW_SEALING", syscall(SYS_fcntl, fd, (long)F_ADD_SEALS, (long)F_SEAL_WRITE));

	/* I/O. */
	CHECK("  write 10", syscall(SYS_write, fd, "0123456789", 10L));
	CHECK("  lseek 0", syscall(SYS_lseek, fd, 0L, (long)SEEK_SET));
	char buf[64] = {0};
	CHECK("  read", syscall(SYS_read, fd, buf, 63L));
	printf("  data [%s]\n", buf);
	CHECK("  ftruncate 8192", syscall(SYS_ftruncate, fd, 8192L));
	printf("  size %ld\n", size(fd));

	/* A shared mapping and read/write see each other. */
	unsigned char *m = raw_mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap memfd");
	printf("  mapping sees [%.10s], byte 5000 = %d\n", m, m[5000]);
	memcpy(m + 100, "via-map", 7);
	syscall(SYS_pread64, fd, buf, 7L, 100L);
	printf("  pread sees [%.7s]\n", buf);
	syscall(SYS_pwrite64, fd, "via-write", 9L, 4096L);
	printf("  mapping sees [%.9s]\n", m + 4096);
	unsigned char *m2 = raw_mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
	if (m2 == MAP_FAILED)
		die("mmap memfd at 4096");
	printf("  second mapping at offset 4096 sees [%.9s]\n", m2);
	syscall(SYS_munmap, m2, 4096L);
	syscall(SYS_munmap, m, 8192L);
	syscall(SYS_close, fd);

	/* Names. */
	char name[300] = {0};
	memset(name, 'n', sizeof name);
	name[249] = 0;
	CHECK_OK("memfd_create 249-byte name", fd = syscall(SYS_memfd_create, name, 0L));
	syscall(SYS_close, fd);
	name[249] = 'n';
	name[250] = 0;
	CHECK("memfd_create 250-byte name", syscall(SYS_memfd_create, name, 0L));
	CHECK_OK("memfd_create empty name", fd = syscall(SYS_memfd_create, "", 0L));
	link_of("  link", fd);
	CHECK("  F_GETFD", syscall(SYS_fcntl, fd, (long)F_GETFD));
	syscall(SYS_close, fd);
	CHECK_OK("memfd_create name with '/' and ' '", fd = syscall(SYS_memfd_create, "a/b c", 0L));
	link_of("  link", fd);
	syscall(SYS_close, fd);
	CHECK("memfd_create bad name pointer", syscall(SYS_memfd_create, BAD_LOW, 0L));
	CHECK("memfd_create flags 0x100", syscall(SYS_memfd_create, "x", 0x100L));
	CHECK("memfd_create flags -1", syscall(SYS_memfd_create, "x", -1L));

	/* Seals. */
	CHECK_OK("memfd_create(MFD_ALLOW_SEALING)", fd = syscall(SYS_memfd_create, "sealed", (long)(MFD_ALLOW_SEALING | MFD_CLOEXEC)));
	seals("  seals", fd);
	syscall(SYS_write, fd, "abcdefgh", 8L);
	CHECK("  F_ADD_SEALS SHRINK", syscall(SYS_fcntl, fd, (long)F_ADD_SEALS, (long)F_SEAL_SHRINK));
	seals("  seals", fd);
	CHECK("  ftruncate 4 (shrink)", syscall(SYS_ftruncate, fd, 4L));
	CHECK("  ftruncate 16 (grow)", syscall(SYS_ftruncate, fd, 16L));
	CHECK("  F_ADD_SEALS GROW", syscall(SYS_fcntl, fd, (long)F_ADD_SEALS, (long)F_SEAL_GROW));
	CHECK("  ftruncate 32 (grow)", syscall(SYS_ftruncate, fd, 32L));
	CHECK("  ftruncate 16 (same size)", syscall(SYS_ftruncate, fd, 16L));
	CHECK("  pwrite at 16 (would grow)", syscall(SYS_pwrite64, fd, "x", 1L, 16L));
	CHECK("  pwrite at 15 (inside)", syscall(SYS_pwrite64, fd, "x", 1L, 15L));
	CHECK("  fallocate beyond EOF", syscall(SYS_fallocate, fd, 0L, 0L, 100L));
	/* WRITE refuses while a writable shared mapping exists. */
	m = raw_mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK("  F_ADD_SEALS WRITE with a writable MAP_SHARED", syscall(SYS_fcntl, fd, (long)F_ADD_SEALS, (long)F_SEAL_WRITE));
	syscall(SYS_munmap, m, 4096L);
	CHECK("  F_ADD_SEALS WRITE after munmap", syscall(SYS_fcntl, fd, (long)F_ADD_SEALS, (long)F_SEAL_WRITE));
	seals("  seals", fd);
	CHECK("  write", syscall(SYS_pwrite64, fd, "y", 1L, 0L));
	CHECK("  mmap PROT_WRITE MAP_SHARED", (long)raw_mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == -1 ? -1 : 0);
	CHECK_OK("  mmap PROT_WRITE MAP_PRIVATE", (long)(m = raw_mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)));
	if (m != MAP_FAILED) {
		m[0] = 'Z';
		syscall(SYS_pread64, fd, buf, 1L, 0L);
		printf("  private write not in the memfd: %s\n", buf[0] == 'a' ? "yes" : "no");
		syscall(SYS_munmap, m, 4096L);
	}
	CHECK_OK("  mmap PROT_READ MAP_SHARED", (long)(m = raw_mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0)));
	if (m != MAP_FAILED) {
		CHECK("  mprotect it to PROT_WRITE", syscall(SYS_mprotect, m, 4096L, (long)(PROT_READ | PROT_WRITE)));
		syscall(SYS_munmap, m, 4096L);
	}
	CHECK("  F_ADD_SEALS SEAL", syscall(SYS_fcntl, fd, (long)F_ADD_SEALS, (long)F_SEAL_SEAL));
	CHECK("  F_ADD_SEALS after SEAL", syscall(SYS_fcntl, fd, (long)F_ADD_SEALS, (long)F_SEAL_SHRINK));
	CHECK("  F_ADD_SEALS 0 after SEAL", syscall(SYS_fcntl, fd, (long)F_ADD_SEALS, 0L));
	seals("  seals", fd);
	syscall(SYS_pread64, fd, buf, 16L, 0L);
	printf("  data [%.8s] size %ld\n", buf, size(fd));
	CHECK("  F_ADD_SEALS unknown bit", syscall(SYS_fcntl, fd, (long)F_ADD_SEALS, 0x1000L));
	syscall(SYS_close, fd);
	/* (Not tried on a /tmp file: on a tmpfs every file has seals, and
	 * natively /tmp need not be a tmpfs.) */
	fd = syscall(SYS_open, "/dev/null", (long)O_RDWR, 0L);
	CHECK("F_GET_SEALS on /dev/null", syscall(SYS_fcntl, fd, (long)F_GET_SEALS));
	syscall(SYS_close, fd);
	return 0;
}
