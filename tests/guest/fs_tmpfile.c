/* fs_tmpfile.c - O_TMPFILE: an unnamed regular file in a directory (not
 * listed, nlink 0, " (deleted)" in /proc/self/fd), given a name by
 * linkat(AT_EMPTY_PATH) or through /proc/self/fd with AT_SYMLINK_FOLLOW,
 * O_EXCL forbidding that, and the flag checks. */
#include "guest.h"

#define D "/tmp/husk-fs-tmpfile"

static int listed_count(void)
{
	static char buf[8192];
	long fd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	long n = syscall(SYS_getdents64, fd, buf, (long)sizeof buf);
	int k = 0;
	for (long off = 0; off < n; k++)
		off += ((struct k_dirent64 *)(buf + off))->d_reclen;
	syscall(SYS_close, fd);
	return k;
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "x", -1, 0644);

	long fd;
	CHECK_OK("open(D, O_RDWR|O_TMPFILE, 0600)", fd = syscall(SYS_open, D, (long)(O_RDWR | O_TMPFILE), 0600L));
	struct stat st = {0};
	syscall(SYS_fstat, fd, &st);
	printf("  fstat: %s mode=%04o nlink=%ld size=%ld\n", mode_type(st.st_mode), (unsigned)(st.st_mode & 07777),
	       (long)st.st_nlink, (long)st.st_size);
	printf("  directory entries (., .., f): %d\n", listed_count());
	char p[64] = {0}, l[256] = {0};
	snprintf(p, sizeof p, "/proc/self/fd/%ld", fd);
	long n = syscall(SYS_readlink, p, l, 255L);
	l[n < 0 ? 0 : n] = 0;
	EXPECT("  /proc/self/fd link is \"" D "/#<ino> (deleted)\"",
	       !strncmp(l, D "/#", strlen(D) + 2) && n > 10 && !strcmp(l + n - 10, " (deleted)"));
	CHECK("  write", syscall(SYS_write, fd, "temporary", 9L));
	char b[16] = {0};
	CHECK("  pread", syscall(SYS_pread64, fd, b, 15L, 0L));
	unsigned char *m = raw_mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT("  MAP_SHARED sees the data", m != MAP_FAILED && !memcmp(m, "temporary", 9));
	CHECK("  linkat(fd, \"\", AT_EMPTY_PATH) -> named",
	      syscall(SYS_linkat, fd, "", (long)AT_FDCWD, D "/named", (long)AT_EMPTY_PATH));
	syscall(SYS_fstat, fd, &st);
	printf("  nlink now %ld, entries %d\n", (long)st.st_nlink, listed_count());
	show_lstat("  named", D "/named");
	get_file(D "/named", b, sizeof b);
	printf("  named: [%s]\n", b);
	CHECK("  linkat again -> named2", syscall(SYS_linkat, fd, "", (long)AT_FDCWD, D "/named2", (long)AT_EMPTY_PATH));
	CHECK("  linkat onto an existing name", syscall(SYS_linkat, fd, "", (long)AT_FDCWD, D "/f", (long)AT_EMPTY_PATH));
	syscall(SYS_close, fd);

	CHECK_OK("open(D, O_WRONLY|O_TMPFILE)", fd = syscall(SYS_open, D, (long)(O_WRONLY | O_TMPFILE), 0644L));
	snprintf(p, sizeof p, "/proc/self/fd/%ld", fd);
	CHECK("  linkat(/proc/self/fd/N, AT_SYMLINK_FOLLOW) -> via-proc",
	      syscall(SYS_linkat, (long)AT_FDCWD, p, (long)AT_FDCWD, D "/via-proc", (long)AT_SYMLINK_FOLLOW));
	show_lstat("  via-proc", D "/via-proc");
	syscall(SYS_close, fd);

	CHECK_OK("open(D, O_RDWR|O_TMPFILE|O_EXCL)", fd = syscall(SYS_open, D, (long)(O_RDWR | O_TMPFILE | O_EXCL), 0600L));
	CHECK("  linkat(AT_EMPTY_PATH) refused", syscall(SYS_linkat, fd, "", (long)AT_FDCWD, D "/excl", (long)AT_EMPTY_PATH));
	snprintf(p, sizeof p, "/proc/self/fd/%ld", fd);
	CHECK("  linkat(/proc/self/fd/N) refused",
	      syscall(SYS_linkat, (long)AT_FDCWD, p, (long)AT_FDCWD, D "/excl", (long)AT_SYMLINK_FOLLOW));
	syscall(SYS_close, fd);
	printf("entries at the end: %d\n", listed_count());

	/* Flag checks. */
	CHECK("O_RDONLY|O_TMPFILE", syscall(SYS_open, D, (long)(O_RDONLY | O_TMPFILE), 0600L));
	CHECK("O_RDWR|O_TMPFILE|O_CREAT", syscall(SYS_open, D, (long)(O_RDWR | O_TMPFILE | O_CREAT), 0600L));
	CHECK("O_RDWR|__O_TMPFILE without O_DIRECTORY", syscall(SYS_open, D, (long)(O_RDWR | (O_TMPFILE & ~O_DIRECTORY)), 0600L));
	CHECK("O_TMPFILE on a file", syscall(SYS_open, D "/f", (long)(O_RDWR | O_TMPFILE), 0600L));
	CHECK("O_TMPFILE on a missing directory", syscall(SYS_open, D "/missing", (long)(O_RDWR | O_TMPFILE), 0600L));
	CHECK("O_TMPFILE in /proc", syscall(SYS_open, "/proc", (long)(O_RDWR | O_TMPFILE), 0600L));
	struct k_open_how how = {O_RDWR | O_TMPFILE, 0600, 0};
	CHECK_OK("openat2 O_TMPFILE", fd = syscall(SYS_openat2, (long)AT_FDCWD, D, &how, (long)sizeof how));
	syscall(SYS_close, fd);
	how.mode = 0;
	CHECK_OK("openat2 O_TMPFILE mode 0", fd = syscall(SYS_openat2, (long)AT_FDCWD, D, &how, (long)sizeof how));
	if (fd >= 0) {
		syscall(SYS_fstat, fd, &st);
		printf("  mode=%04o\n", (unsigned)(st.st_mode & 07777));
		syscall(SYS_close, fd);
	}
	cleanup_dir(D);
	return 0;
}
