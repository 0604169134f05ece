/* fs_stat.c - stat, fstat, lstat and newfstatat on files, directories,
 * symlinks, FIFOs and /dev/null: type bits, permission bits, size, nlink,
 * owner, rdev of devices, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, and the
 * error paths.  Never times or inode numbers (only their relations). */
#include "guest.h"
#include <sys/sysmacros.h>

#define D "/tmp/husk-fs-stat"

/* Device nodes and the host's "/" print no owner or link count: those
 * are the host's business. */
static void show(const char *label, long r, const struct stat *st)
{
	if (r != 0) {
		printf("%s: errno=%s\n", label, errname(errno));
		return;
	}
	if (strstr(label, "/dev/") || strstr(label, "is /")) {
		printf("%s: %s mode=%04o", label, mode_type(st->st_mode),
		       (unsigned)(st->st_mode & 07777));
		if (S_ISCHR(st->st_mode))
			printf(" rdev=%u:%u", major(st->st_rdev), minor(st->st_rdev));
		printf("\n");
		return;
	}
	printf("%s: %s mode=%04o nlink=%ld uid=%ld gid=%ld", label, mode_type(st->st_mode),
	       (unsigned)(st->st_mode & 07777), (long)st->st_nlink, (long)st->st_uid,
	       (long)st->st_gid);
	if (!S_ISDIR(st->st_mode))
		printf(" size=%ld", (long)st->st_size);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		printf(" rdev=%u:%u", major(st->st_rdev), minor(st->st_rdev));
	printf(" blksize>0=%s\n", st->st_blksize > 0 ? "yes" : "no");
}

#define ST(label, path) do { struct stat s_; errno = 0; long r_ = syscall(SYS_stat, path, &s_); show(label, r_, &s_); } while (0)
#define LST(label, path) do { struct stat s_; errno = 0; long r_ = syscall(SYS_lstat, path, &s_); show(label, r_, &s_); } while (0)
#define AT(label, dfd, path, fl) do { struct stat s_; errno = 0; long r_ = syscall(SYS_newfstatat, (long)(dfd), path, &s_, (long)(fl)); show(label, r_, &s_); } while (0)

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "twelve bytes", -1, 0640);
	if (syscall(SYS_mkdir, D "/d", 0711L) || syscall(SYS_mkdir, D "/d/sub1", 0755L) ||
	    syscall(SYS_mkdir, D "/d/sub2", 0755L) || syscall(SYS_symlink, "f", D "/lf") ||
	    syscall(SYS_symlink, "d", D "/ld") || syscall(SYS_symlink, "nowhere", D "/dangling") ||
	    syscall(SYS_mknod, D "/fifo", (long)(S_IFIFO | 0620), 0L) ||
	    syscall(SYS_link, D "/f", D "/f2"))
		die("setup");

	ST("stat f", D "/f");
	ST("stat d (two subdirectories)", D "/d");
	ST("stat d/sub1", D "/d/sub1");
	ST("stat lf (follows)", D "/lf");
	LST("lstat lf", D "/lf");
	LST("lstat ld", D "/ld");
	ST("stat dangling", D "/dangling");
	LST("lstat dangling", D "/dangling");
	LST("lstat fifo", D "/fifo");
	LST("lstat f (after link)", D "/f");
	ST("stat /dev/null", "/dev/null");
	ST("stat /dev/zero", "/dev/zero");
	ST("stat /dev/full", "/dev/full");
	ST("stat /dev/urandom", "/dev/urandom");
	ST("stat ld/ (trailing slash follows)", D "/ld/");
	LST("lstat ld/ (trailing slash follows)", D "/ld/");
	LST("lstat lf/ (trailing slash on file link)", D "/lf/");

	/* Errors. */
	ST("stat missing", D "/missing");
	ST("stat f/x", D "/f/x");
	ST("stat f/", D "/f/");
	ST("stat empty path", "");
	struct stat st = {0};
	CHECK("stat bad path pointer", syscall(SYS_stat, BAD_LOW, &st));
	CHECK("stat bad buffer", syscall(SYS_stat, D "/f", BAD_LOW));
	unsigned char *ro = map_pages(1, PROT_READ);
	CHECK("stat read-only buffer", syscall(SYS_stat, D "/f", ro));

	/* fstat. */
	long fd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	{ errno = 0; long r = syscall(SYS_fstat, fd, &st); show("fstat f", r, &st); }
	{ errno = 0; long r = syscall(SYS_fstat, 1000L, &st); show("fstat bad fd", r, &st); }
	CHECK("fstat bad buffer", syscall(SYS_fstat, fd, BAD_LOW));

	/* newfstatat. */
	AT("fstatat(dfd, \"f\", 0)", dfd, "f", 0);
	AT("fstatat(dfd, \"lf\", 0)", dfd, "lf", 0);
	AT("fstatat(dfd, \"lf\", AT_SYMLINK_NOFOLLOW)", dfd, "lf", AT_SYMLINK_NOFOLLOW);
	AT("fstatat(fd, \"\", AT_EMPTY_PATH)", fd, "", AT_EMPTY_PATH);
	AT("fstatat(dfd, \"\", AT_EMPTY_PATH)", dfd, "", AT_EMPTY_PATH);
	AT("fstatat(AT_FDCWD, \"\", AT_EMPTY_PATH) is /", AT_FDCWD, "", AT_EMPTY_PATH);
	AT("fstatat(fd, \"\", 0)", fd, "", 0);
	AT("fstatat(fd, \"x\", 0) not a dir", fd, "x", 0);
	AT("fstatat(999, \"f\", 0)", 999, "f", 0);
	AT("fstatat(999, absolute, 0)", 999, D "/f", 0);
	AT("fstatat(999, \"\", AT_EMPTY_PATH)", 999, "", AT_EMPTY_PATH);
	AT("fstatat(dfd, \"f\", 0x1)", dfd, "f", 0x1);
	AT("fstatat(dfd, \"f\", AT_NO_AUTOMOUNT)", dfd, "f", AT_NO_AUTOMOUNT);
	AT("fstatat(dfd, \"f\", AT_SYMLINK_FOLLOW)", dfd, "f", AT_SYMLINK_FOLLOW);
	AT("fstatat(dfd, \"d/../f\", 0)", dfd, "d/../f", 0);

	/* Relations between results: the same inode through every path. */
	struct stat a = {0}, b = {0}, c = {0};
	syscall(SYS_stat, D "/f", &a);
	syscall(SYS_stat, D "/f2", &b);
	syscall(SYS_fstat, fd, &c);
	EXPECT("f and f2 same ino/dev", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	EXPECT("fstat same ino as stat", a.st_ino == c.st_ino && a.st_dev == c.st_dev);
	syscall(SYS_lstat, D "/lf", &b);
	EXPECT("symlink has its own ino", a.st_ino != b.st_ino);
	syscall(SYS_stat, D "/d", &b);
	EXPECT("file and dir on the same device", a.st_dev == b.st_dev);
	syscall(SYS_stat, "/proc", &b);
	EXPECT("/proc on another device", a.st_dev != b.st_dev);

	/* Changes show up at once. */
	syscall(SYS_chmod, D "/f", 0600L);
	syscall(SYS_truncate, D "/f", 3L);
	{ errno = 0; long r = syscall(SYS_fstat, fd, &st); show("fstat f after chmod+truncate", r, &st); }
	syscall(SYS_unlink, D "/f");
	syscall(SYS_unlink, D "/f2");
	{ errno = 0; long r = syscall(SYS_fstat, fd, &st); show("fstat f after unlinking both names", r, &st); }

	syscall(SYS_close, fd);
	syscall(SYS_close, dfd);
	cleanup_dir(D);
	return 0;
}
