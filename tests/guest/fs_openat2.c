/* fs_openat2.c - openat2: struct open_how validation (size, unknown
 * flags, mode without O_CREAT, unknown resolve bits) and the RESOLVE_*
 * flags: NO_SYMLINKS, NO_MAGICLINKS, BENEATH, IN_ROOT, NO_XDEV. */
#include "guest.h"

#define D "/tmp/husk-fs-openat2"

static long o2(long dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
	struct k_open_how how = {flags, mode, resolve};
	long fd = syscall(SYS_openat2, dirfd, path, &how, (long)sizeof how);
	if (fd >= 0) {
		int e = errno;
		syscall(SYS_close, fd);
		errno = e;
	}
	return fd;
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "inside", -1, 0644);
	if (syscall(SYS_mkdir, D "/root", 0755L) || syscall(SYS_mkdir, D "/root/sub", 0755L))
		die("setup mkdir");
	put_file(D "/root/sub/g", "g", -1, 0644);
	put_file(D "/root/f", "jailed", -1, 0644);
	if (syscall(SYS_symlink, "f", D "/lf") ||
	    syscall(SYS_symlink, "/f", D "/root/abs") ||          /* absolute */
	    syscall(SYS_symlink, "../../f", D "/root/sub/up") ||  /* escapes */
	    syscall(SYS_symlink, "sub/g", D "/root/rel"))
		die("setup symlink");
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	long rfd = syscall(SYS_open, D "/root", (long)(O_RDONLY | O_DIRECTORY), 0L);
	if (dfd < 0 || rfd < 0)
		die("open dirs");

	/* The struct and its size. */
	struct k_open_how how = {O_RDONLY, 0, 0};
	CHECK_OK("size 24", o2(dfd, "f", O_RDONLY, 0, 0));
	CHECK("size 0", syscall(SYS_openat2, dfd, "f", &how, 0L));
	CHECK("size 23", syscall(SYS_openat2, dfd, "f", &how, 23L));
	struct {
		struct k_open_how how;
		uint64_t extra[2];
	} big = {{O_RDONLY, 0, 0}, {0, 0}};
	long fd;
	CHECK_OK("size 40, zero tail", fd = syscall(SYS_openat2, dfd, "f", &big, (long)sizeof big));
	if (fd >= 0)
		syscall(SYS_close, fd);
	big.extra[1] = 1;
	CHECK("size 40, nonzero tail", syscall(SYS_openat2, dfd, "f", &big, (long)sizeof big));
	CHECK("size 4097", syscall(SYS_openat2, dfd, "f", &big, 4097L));
	CHECK("how = bad pointer", syscall(SYS_openat2, dfd, "f", BAD_LOW, 24L));
	CHECK("path = bad pointer", syscall(SYS_openat2, dfd, BAD_LOW, &how, 24L));
	CHECK("dirfd 1000", o2(1000, "f", O_RDONLY, 0, 0));

	/* Flags and mode are checked strictly, unlike openat. */
	CHECK("unknown flag 0x40000000", o2(dfd, "f", O_RDONLY | 0x40000000, 0, 0));
	CHECK("flags above 32 bits", o2(dfd, "f", O_RDONLY | (1ULL << 40), 0, 0));
	CHECK("mode without O_CREAT", o2(dfd, "f", O_RDONLY, 0644, 0));
	CHECK("mode with bits above 07777", o2(dfd, "new", O_RDWR | O_CREAT, 010644, 0));
	CHECK_OK("O_CREAT|O_EXCL with mode 0600", o2(dfd, "new", O_RDWR | O_CREAT | O_EXCL, 0600, 0));
	show_lstat("new", D "/new");
	CHECK("O_CREAT|O_EXCL again", o2(dfd, "new", O_RDWR | O_CREAT | O_EXCL, 0600, 0));
	CHECK("O_PATH with O_RDWR", o2(dfd, "f", O_PATH | O_RDWR, 0, 0));
	CHECK_OK("O_PATH|O_CLOEXEC", o2(dfd, "f", O_PATH | O_CLOEXEC, 0, 0));
	CHECK("unknown resolve bit 0x80", o2(dfd, "f", O_RDONLY, 0, 0x80));
	CHECK("RESOLVE_BENEATH|RESOLVE_IN_ROOT", o2(dfd, "f", O_RDONLY, 0, K_RESOLVE_BENEATH | K_RESOLVE_IN_ROOT));

	/* RESOLVE_NO_SYMLINKS: no symlink anywhere in the path. */
	CHECK_OK("NO_SYMLINKS plain", o2(dfd, "root/sub/g", O_RDONLY, 0, K_RESOLVE_NO_SYMLINKS));
	CHECK("NO_SYMLINKS last component", o2(dfd, "lf", O_RDONLY, 0, K_RESOLVE_NO_SYMLINKS));
	CHECK("NO_SYMLINKS middle component", o2(dfd, "root/rel/x", O_RDONLY, 0, K_RESOLVE_NO_SYMLINKS));
	CHECK_OK("NO_SYMLINKS|O_PATH|O_NOFOLLOW on symlink",
		 o2(dfd, "lf", O_PATH | O_NOFOLLOW, 0, K_RESOLVE_NO_SYMLINKS));

	/* RESOLVE_BENEATH: stay under dirfd. */
	CHECK_OK("BENEATH sub/g", o2(rfd, "sub/g", O_RDONLY, 0, K_RESOLVE_BENEATH));
	CHECK_OK("BENEATH sub/../f", o2(rfd, "sub/../f", O_RDONLY, 0, K_RESOLVE_BENEATH));
	CHECK("BENEATH ../f", o2(rfd, "../f", O_RDONLY, 0, K_RESOLVE_BENEATH));
	CHECK("BENEATH absolute path", o2(rfd, D "/f", O_RDONLY, 0, K_RESOLVE_BENEATH));
	CHECK("BENEATH absolute symlink", o2(rfd, "abs", O_RDONLY, 0, K_RESOLVE_BENEATH));
	CHECK("BENEATH escaping symlink", o2(rfd, "sub/up", O_RDONLY, 0, K_RESOLVE_BENEATH));
	CHECK_OK("BENEATH relative symlink", o2(rfd, "rel", O_RDONLY, 0, K_RESOLVE_BENEATH));
	CHECK("BENEATH missing", o2(rfd, "nothing", O_RDONLY, 0, K_RESOLVE_BENEATH));

	/* RESOLVE_IN_ROOT: dirfd is "/" for the lookup. */
	char buf[64] = {0};
	struct k_open_how h = {O_RDONLY, 0, K_RESOLVE_IN_ROOT};
	const char *inroot[] = {"/f", "../f", "../../../f", "abs", "sub/up", "/sub/../../g", "rel"};
	for (unsigned i = 0; i < sizeof inroot / sizeof *inroot; i++) {
		fd = syscall(SYS_openat2, rfd, inroot[i], &h, (long)sizeof h);
		if (fd < 0) {
			printf("IN_ROOT %s: errno=%s\n", inroot[i], errname(errno));
			continue;
		}
		long n = syscall(SYS_read, fd, buf, (long)sizeof buf - 1);
		buf[n < 0 ? 0 : n] = 0;
		printf("IN_ROOT %s: [%s]\n", inroot[i], buf);
		syscall(SYS_close, fd);
	}

	/* RESOLVE_NO_MAGICLINKS: /proc/self/fd/N is a magic link. */
	long ffd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	char magic[64] = {0};
	snprintf(magic, sizeof magic, "/proc/self/fd/%ld", ffd);
	CHECK_OK("/proc/self/fd/N plain", o2(AT_FDCWD, magic, O_RDONLY, 0, 0));
	CHECK("/proc/self/fd/N NO_MAGICLINKS", o2(AT_FDCWD, magic, O_RDONLY, 0, K_RESOLVE_NO_MAGICLINKS));
	CHECK("/proc/self/fd/N NO_SYMLINKS", o2(AT_FDCWD, magic, O_RDONLY, 0, K_RESOLVE_NO_SYMLINKS));
	CHECK_OK("NO_MAGICLINKS ordinary symlink", o2(dfd, "lf", O_RDONLY, 0, K_RESOLVE_NO_MAGICLINKS));
	syscall(SYS_close, ffd);

	/* RESOLVE_NO_XDEV: /proc is another mount. */
	long root = syscall(SYS_open, "/", (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("NO_XDEV / -> proc/self/status", o2(root, "proc/self/status", O_RDONLY, 0, K_RESOLVE_NO_XDEV));
	CHECK_OK("NO_XDEV / -> proc/self/status without flag", o2(root, "proc/self/status", O_RDONLY, 0, 0));
	CHECK_OK("NO_XDEV within one directory", o2(dfd, "root/sub/g", O_RDONLY, 0, K_RESOLVE_NO_XDEV));
	syscall(SYS_close, root);

	syscall(SYS_close, rfd);
	syscall(SYS_close, dfd);
	cleanup_dir(D);
	return 0;
}
