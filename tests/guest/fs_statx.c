/* fs_statx.c - statx: the basic fields and their agreement with fstat,
 * the returned mask, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, the sync-type
 * flags, reserved mask bits and the error paths. */
#include "guest.h"
#include <sys/sysmacros.h>

#define D "/tmp/husk-fs-statx"
#define SX(dfd, path, flags, mask, buf)                                     \
	syscall(SYS_statx, (long)(dfd), (path), (long)(flags), (long)(mask), (buf))

static void show(const char *label, long r, const struct k_statx *x)
{
	if (r != 0) {
		printf("%s: errno=%s\n", label, errname(errno));
		return;
	}
	/* Bits beyond the basic ones (btime, mount id, ...) depend on the
	 * file system and the kernel version: masked off.  So are MTIME and
	 * CTIME: since Linux 6.13 file systems with multigrain timestamps
	 * (ext4, tmpfs, ...) report them only when asked for. */
	printf("%s: mask&BASIC=%#x %s mode=%04o", label,
	       x->stx_mask & K_STATX_BASIC_STATS & ~(K_STATX_MTIME | K_STATX_CTIME),
	       mode_type(x->stx_mode), x->stx_mode & 07777);
	if (S_ISCHR(x->stx_mode)) { /* a host device node: no owner */
		printf(" rdev=%u:%u\n", x->stx_rdev_major, x->stx_rdev_minor);
		return;
	}
	printf(" nlink=%u uid=%u gid=%u", x->stx_nlink, x->stx_uid, x->stx_gid);
	if (!S_ISDIR(x->stx_mode))
		printf(" size=%llu", (unsigned long long)x->stx_size);
	printf(" blksize>0=%s\n", x->stx_blksize > 0 ? "yes" : "no");
}

#define SHOW(label, dfd, path, flags, mask)                                  \
	do {                                                                 \
		struct k_statx x_;                                           \
		memset(&x_, 0xa5, sizeof x_);                                \
		errno = 0;                                                   \
		long r_ = SX(dfd, path, flags, mask, &x_);                   \
		show(label, r_, &x_);                                        \
	} while (0)

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "0123456789abcdef", -1, 0604);
	if (syscall(SYS_mkdir, D "/d", 0750L) || syscall(SYS_symlink, "f", D "/lf") ||
	    syscall(SYS_symlink, "missing-target", D "/dangling"))
		die("setup");
	long fd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);

	SHOW("f BASIC_STATS", AT_FDCWD, D "/f", 0, K_STATX_BASIC_STATS);
	SHOW("f mask 0", AT_FDCWD, D "/f", 0, 0);
	SHOW("f mask TYPE|SIZE", AT_FDCWD, D "/f", 0, K_STATX_TYPE | K_STATX_SIZE);
	SHOW("d", dfd, "d", 0, K_STATX_BASIC_STATS);
	SHOW("lf follows", dfd, "lf", 0, K_STATX_BASIC_STATS);
	SHOW("lf AT_SYMLINK_NOFOLLOW", dfd, "lf", AT_SYMLINK_NOFOLLOW, K_STATX_BASIC_STATS);
	SHOW("dangling follows", dfd, "dangling", 0, K_STATX_BASIC_STATS);
	SHOW("dangling AT_SYMLINK_NOFOLLOW", dfd, "dangling", AT_SYMLINK_NOFOLLOW, K_STATX_BASIC_STATS);
	SHOW("fd AT_EMPTY_PATH", fd, "", AT_EMPTY_PATH, K_STATX_BASIC_STATS);
	SHOW("fd \"\" without AT_EMPTY_PATH", fd, "", 0, K_STATX_BASIC_STATS);
	SHOW("AT_STATX_FORCE_SYNC", AT_FDCWD, D "/f", K_AT_STATX_FORCE_SYNC, K_STATX_BASIC_STATS);
	SHOW("AT_STATX_DONT_SYNC", AT_FDCWD, D "/f", K_AT_STATX_DONT_SYNC, K_STATX_BASIC_STATS);
	SHOW("FORCE_SYNC|DONT_SYNC", AT_FDCWD, D "/f", K_AT_STATX_FORCE_SYNC | K_AT_STATX_DONT_SYNC,
	     K_STATX_BASIC_STATS);
	SHOW("unknown flag 0x10000", AT_FDCWD, D "/f", 0x10000, K_STATX_BASIC_STATS);
	SHOW("mask STATX__RESERVED", AT_FDCWD, D "/f", 0, K_STATX__RESERVED);
	SHOW("mask BASIC|STATX__RESERVED", AT_FDCWD, D "/f", 0, K_STATX_BASIC_STATS | K_STATX__RESERVED);
	SHOW("mask all 31 low bits", AT_FDCWD, D "/f", 0, 0x7fffffff);
	SHOW("/dev/null", AT_FDCWD, "/dev/null", 0, K_STATX_BASIC_STATS);
	SHOW("missing", AT_FDCWD, D "/missing", 0, K_STATX_BASIC_STATS);
	SHOW("f/x", AT_FDCWD, D "/f/x", 0, K_STATX_BASIC_STATS);
	SHOW("bad dirfd", 999, "f", 0, K_STATX_BASIC_STATS);
	SHOW("file as dirfd", fd, "f", 0, K_STATX_BASIC_STATS);
	struct k_statx x = {0};
	CHECK("bad buffer", SX(AT_FDCWD, D "/f", 0, K_STATX_BASIC_STATS, BAD_LOW));
	CHECK("bad path", SX(AT_FDCWD, BAD_LOW, 0, K_STATX_BASIC_STATS, &x));

	/* statx and fstat agree. */
	struct stat st = {0};
	syscall(SYS_fstat, fd, &st);
	memset(&x, 0, sizeof x);
	SX(fd, "", AT_EMPTY_PATH, K_STATX_BASIC_STATS, &x);
	EXPECT("ino equal", x.stx_ino == st.st_ino);
	EXPECT("dev equal", makedev(x.stx_dev_major, x.stx_dev_minor) == st.st_dev);
	EXPECT("mode equal", x.stx_mode == st.st_mode);
	EXPECT("size equal", (long)x.stx_size == (long)st.st_size);
	EXPECT("blocks equal", (long)x.stx_blocks == (long)st.st_blocks);
	EXPECT("mtime equal", x.stx_mtime.tv_sec == st.st_mtim.tv_sec &&
				      x.stx_mtime.tv_nsec == (uint32_t)st.st_mtim.tv_nsec);
	EXPECT("ctime equal", x.stx_ctime.tv_sec == st.st_ctim.tv_sec &&
				      x.stx_ctime.tv_nsec == (uint32_t)st.st_ctim.tv_nsec);
	syscall(SYS_stat, "/dev/null", &st);
	SX(AT_FDCWD, "/dev/null", 0, K_STATX_BASIC_STATS, &x);
	EXPECT("/dev/null rdev equal", makedev(x.stx_rdev_major, x.stx_rdev_minor) == st.st_rdev);

	syscall(SYS_close, fd);
	syscall(SYS_close, dfd);
	cleanup_dir(D);
	return 0;
}
