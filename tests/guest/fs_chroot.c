/* fs_chroot.c - chroot as root into a directory of our own: "/" is that
 * directory afterwards, ".." at the new root stays there, absolute
 * symlinks resolve inside it, a working directory left outside shows in
 * getcwd as "(unreachable)", descriptors opened before still reach the
 * old tree (they are how the test cleans up), and the error paths. */
#include "guest.h"

#define D "/tmp/husk-fs-chroot"

static void cwd(const char *label)
{
	char buf[256] = {0};
	long r = syscall(SYS_getcwd, buf, (long)sizeof buf);
	if (r < 0)
		printf("%s: getcwd errno=%s\n", label, errname(errno));
	else
		printf("%s: getcwd=%s\n", label, buf);
}

static void cat(const char *label, const char *path)
{
	char buf[64] = {0};
	long n = get_file(path, buf, sizeof buf);
	printf("%s: %s\n", label, n < 0 ? errname(errno) : buf);
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	if (syscall(SYS_mkdir, D "/jail", 0755L) || syscall(SYS_mkdir, D "/jail/sub", 0755L) ||
	    syscall(SYS_mkdir, D "/jail/etc", 0755L) ||
	    syscall(SYS_symlink, "/etc/marker", D "/jail/abs-link") ||
	    syscall(SYS_symlink, "../../../../../marker", D "/jail/sub/up-link"))
		die("setup");
	put_file(D "/outside", "outside", -1, 0644);
	put_file(D "/jail/marker", "jail marker", -1, 0644);
	put_file(D "/jail/etc/marker", "jail etc marker", -1, 0644);
	put_file(D "/jail/sub/f", "sub f", -1, 0644);
	long tmpfd = syscall(SYS_open, "/tmp", (long)(O_RDONLY | O_DIRECTORY), 0L);
	long outfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);

	/* Errors first. */
	CHECK("chroot missing", syscall(SYS_chroot, D "/missing"));
	CHECK("chroot a file", syscall(SYS_chroot, D "/outside"));
	CHECK("chroot through a file", syscall(SYS_chroot, D "/outside/x"));
	CHECK("chroot empty path", syscall(SYS_chroot, ""));
	CHECK("chroot bad pointer", syscall(SYS_chroot, BAD_LOW));

	/* cwd stays at "/" of the old tree: outside the new root. */
	CHECK("chroot jail", syscall(SYS_chroot, D "/jail"));
	cwd("cwd left outside");
	cat("/marker", "/marker");
	cat("/etc/marker", "/etc/marker");
	cat("/abs-link", "/abs-link");
	cat("/sub/up-link", "/sub/up-link");
	cat("/../../marker", "/../../marker");
	cat("/sub/../../marker", "/sub/../../marker");
	cat("/outside", "/outside");
	cat("/tmp/husk-fs-chroot/outside", "/tmp/husk-fs-chroot/outside");
	struct stat st = {0};
	CHECK("stat /proc/self", syscall(SYS_stat, "/proc/self", &st));
	CHECK("stat /etc/passwd", syscall(SYS_stat, "/etc/passwd", &st));
	CHECK("chdir /", syscall(SYS_chdir, "/"));
	cwd("after chdir /");
	CHECK("chdir ..", syscall(SYS_chdir, ".."));
	cwd("after chdir ..");
	CHECK("chdir sub", syscall(SYS_chdir, "sub"));
	cwd("after chdir sub");
	cat("f (relative)", "f");
	CHECK("chdir ../../..", syscall(SYS_chdir, "../../.."));
	cwd("after chdir ../../..");

	/* Descriptors opened before the chroot still reach outside. */
	char buf[32] = {0};
	long fd = syscall(SYS_openat, outfd, "outside", (long)O_RDONLY, 0L);
	syscall(SYS_read, fd, buf, 31L);
	syscall(SYS_close, fd);
	printf("openat(old dir fd, outside): %s\n", buf);
	CHECK_OK("openat(old dir fd, ../../..)", fd = syscall(SYS_openat, outfd, "../../..", (long)(O_RDONLY | O_DIRECTORY), 0L));
	syscall(SYS_close, fd);
	/* A nested chroot works relative to the current root. */
	CHECK("chroot /sub", syscall(SYS_chroot, "/sub"));
	cat("/f after the nested chroot", "/f");
	cat("/marker after the nested chroot", "/marker");
	cwd("cwd (the old new root, now outside)");
	CHECK("chdir /", syscall(SYS_chdir, "/"));
	cwd("after chdir /");

	/* Clean up through the descriptors taken before. */
	if (rm_tree_at((int)tmpfd, "husk-fs-chroot") != 0)
		printf("cleanup failed: %s\n", errname(errno));
	CHECK("fstatat(/tmp fd, husk-fs-chroot)", syscall(SYS_newfstatat, tmpfd, "husk-fs-chroot", &st, 0L));
	syscall(SYS_close, outfd);
	syscall(SYS_close, tmpfd);
	return 0;
}
