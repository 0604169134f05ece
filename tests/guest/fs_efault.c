/* fs_efault.c - every path-taking file system call, and the buffers of
 * the descriptor calls, given pointers the kernel cannot read or write:
 * a low address, a non-canonical one, a PROT_NONE page, and a read-only
 * page where the call writes.  All must fail with EFAULT (and change
 * nothing). */
#include "guest.h"
#include <sys/uio.h>
#include <sys/vfs.h>

#define D "/tmp/husk-fs-efault"

static void *bad[3];
static const char *badname[3] = {"low", "non-canonical", "PROT_NONE"};

#define ALL(label, call)                                                     \
	do {                                                                 \
		for (int i_ = 0; i_ < 3; i_++) {                             \
			void *B = bad[i_];                                   \
			char l_[96];                                         \
			snprintf(l_, sizeof l_, "%s [%s]", label, badname[i_]); \
			CHECK(l_, call);                                     \
		}                                                            \
	} while (0)

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "0123456789", -1, 0644);
	if (syscall(SYS_symlink, "f", D "/lf"))
		die("symlink");
	bad[0] = BAD_LOW;
	bad[1] = BAD_NONCANON;
	bad[2] = map_pages(1, PROT_NONE);
	unsigned char *ro = map_pages(1, PROT_READ);
	long fd = syscall(SYS_open, D "/f", (long)O_RDWR, 0L);
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	struct stat st = {0};
	struct statfs sfs = {0};
	char buf[64] = {0};
	struct k_open_how how = {O_RDONLY, 0, 0};
	struct k_statx stx = {0};

	/* Paths. */
	ALL("open", syscall(SYS_open, B, (long)O_RDONLY, 0L));
	ALL("openat", syscall(SYS_openat, dfd, B, (long)O_RDONLY, 0L));
	ALL("openat2 path", syscall(SYS_openat2, dfd, B, &how, (long)sizeof how));
	ALL("creat", syscall(SYS_creat, B, 0644L));
	ALL("stat", syscall(SYS_stat, B, &st));
	ALL("lstat", syscall(SYS_lstat, B, &st));
	ALL("newfstatat", syscall(SYS_newfstatat, dfd, B, &st, 0L));
	ALL("statx path", syscall(SYS_statx, dfd, B, 0L, (long)K_STATX_BASIC_STATS, &stx));
	ALL("statfs", syscall(SYS_statfs, B, &sfs));
	ALL("access", syscall(SYS_access, B, (long)F_OK));
	ALL("faccessat2", syscall(SYS_faccessat2, dfd, B, (long)F_OK, 0L));
	ALL("readlink path", syscall(SYS_readlink, B, buf, 64L));
	ALL("mkdir", syscall(SYS_mkdir, B, 0755L));
	ALL("mkdirat", syscall(SYS_mkdirat, dfd, B, 0755L));
	ALL("mknod", syscall(SYS_mknod, B, (long)(S_IFIFO | 0644), 0L));
	ALL("rmdir", syscall(SYS_rmdir, B));
	ALL("unlink", syscall(SYS_unlink, B));
	ALL("unlinkat", syscall(SYS_unlinkat, dfd, B, 0L));
	ALL("rename from", syscall(SYS_rename, B, D "/x"));
	ALL("rename to", syscall(SYS_rename, D "/f", B));
	ALL("renameat2 to", syscall(SYS_renameat2, dfd, "f", dfd, B, 0L));
	ALL("link from", syscall(SYS_link, B, D "/x"));
	ALL("link to", syscall(SYS_link, D "/f", B));
	ALL("symlink target", syscall(SYS_symlink, B, D "/x"));
	ALL("symlink name", syscall(SYS_symlink, "f", B));
	ALL("chmod", syscall(SYS_chmod, B, 0644L));
	ALL("fchmodat", syscall(SYS_fchmodat, dfd, B, 0644L));
	ALL("chown", syscall(SYS_chown, B, 0L, 0L));
	ALL("lchown", syscall(SYS_lchown, B, 0L, 0L));
	ALL("fchownat", syscall(SYS_fchownat, dfd, B, 0L, 0L, 0L));
	ALL("utimensat path", syscall(SYS_utimensat, dfd, B, NULL, 0L));
	ALL("truncate", syscall(SYS_truncate, B, 0L));
	ALL("chdir", syscall(SYS_chdir, B));
	ALL("chroot", syscall(SYS_chroot, B));
	ALL("memfd_create name", syscall(SYS_memfd_create, B, 0L));

	/* Buffers. */
	ALL("read into", syscall(SYS_read, fd, B, 8L));
	ALL("write from", syscall(SYS_write, fd, B, 8L));
	ALL("pread64 into", syscall(SYS_pread64, fd, B, 8L, 0L));
	ALL("pwrite64 from", syscall(SYS_pwrite64, fd, B, 8L, 0L));
	ALL("readv iovec array", syscall(SYS_readv, fd, B, 1L));
	ALL("preadv2 iovec array", syscall(SYS_preadv2, fd, B, 1L, 0L, 0L, 0L));
	ALL("fstat buffer", syscall(SYS_fstat, fd, B));
	ALL("stat buffer", syscall(SYS_stat, D "/f", B));
	ALL("statx buffer", syscall(SYS_statx, dfd, "f", 0L, (long)K_STATX_BASIC_STATS, B));
	ALL("fstatfs buffer", syscall(SYS_fstatfs, fd, B));
	ALL("getdents64 buffer", (syscall(SYS_lseek, dfd, 0L, (long)SEEK_SET), syscall(SYS_getdents64, dfd, B, 4096L)));
	ALL("readlink buffer", syscall(SYS_readlink, D "/lf", B, 64L));
	ALL("getcwd buffer", syscall(SYS_getcwd, B, 64L));
	ALL("openat2 how", syscall(SYS_openat2, dfd, "f", B, (long)sizeof how));
	ALL("utimensat times", syscall(SYS_utimensat, dfd, "f", B, 0L));
	ALL("fcntl F_GETLK", syscall(SYS_fcntl, fd, (long)F_GETLK, B));
	ALL("ioctl FIONREAD", syscall(SYS_ioctl, fd, (long)FIONREAD, B));
	ALL("sendfile offset", syscall(SYS_sendfile, fd, fd, B, 1L));
	ALL("copy_file_range offset", syscall(SYS_copy_file_range, fd, B, fd, NULL, 1L, 0L));

	/* Read-only memory where the kernel writes. */
	CHECK("read into read-only", syscall(SYS_read, fd, ro, 8L));
	CHECK("fstat into read-only", syscall(SYS_fstat, fd, ro));
	CHECK("statx into read-only", syscall(SYS_statx, dfd, "f", 0L, (long)K_STATX_BASIC_STATS, ro));
	CHECK("getdents64 into read-only", (syscall(SYS_lseek, dfd, 0L, (long)SEEK_SET), syscall(SYS_getdents64, dfd, ro, 4096L)));
	CHECK("readlink into read-only", syscall(SYS_readlink, D "/lf", ro, 64L));
	CHECK("fstatfs into read-only", syscall(SYS_fstatfs, fd, ro));
	CHECK("ioctl FIONREAD into read-only", syscall(SYS_ioctl, fd, (long)FIONREAD, ro));
	/* Reading from read-only memory is fine. */
	CHECK("write from read-only", syscall(SYS_pwrite64, fd, ro, 4L, 20L));

	/* Nothing changed. */
	char back[16] = {0};
	syscall(SYS_pread64, fd, back, 10L, 0L);
	printf("f still [%s]\n", back);
	CHECK("offset still 0", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	CHECK("cwd still /", syscall(SYS_getcwd, buf, 64L));
	syscall(SYS_close, fd);
	syscall(SYS_close, dfd);
	cleanup_dir(D);
	return 0;
}
