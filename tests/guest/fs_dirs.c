/* fs_dirs.c - mkdir, mkdirat, rmdir, unlink and unlinkat: modes (with the
 * umask), parent link counts, trailing slashes, ".", "..", "/", non-empty
 * directories, AT_REMOVEDIR, and the error paths. */
#include "guest.h"

#define D "/tmp/husk-fs-dirs"

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "x", -1, 0644);
	if (syscall(SYS_symlink, "f", D "/lf") || syscall(SYS_symlink, "nowhere", D "/dangling"))
		die("setup");

	/* mkdir. */
	CHECK("mkdir a 0777", syscall(SYS_mkdir, D "/a", 0777L));
	show_lstat("a", D "/a");
	show_lstat("parent after one subdirectory", D);
	CHECK("mkdir a again", syscall(SYS_mkdir, D "/a", 0755L));
	CHECK("mkdir over a file", syscall(SYS_mkdir, D "/f", 0755L));
	CHECK("mkdir over a symlink", syscall(SYS_mkdir, D "/lf", 0755L));
	CHECK("mkdir over a dangling symlink", syscall(SYS_mkdir, D "/dangling", 0755L));
	show_lstat("dangling target", D "/nowhere");
	CHECK("mkdir b/ (trailing slash)", syscall(SYS_mkdir, D "/b/", 0700L));
	show_lstat("b", D "/b");
	CHECK("mkdir c// (two slashes)", syscall(SYS_mkdir, D "/c//", 0700L));
	CHECK("mkdir a/. ", syscall(SYS_mkdir, D "/a/.", 0755L));
	CHECK("mkdir a/..", syscall(SYS_mkdir, D "/a/..", 0755L));
	CHECK("mkdir missing/x", syscall(SYS_mkdir, D "/missing/x", 0755L));
	CHECK("mkdir f/x", syscall(SYS_mkdir, D "/f/x", 0755L));
	CHECK("mkdir empty path", syscall(SYS_mkdir, "", 0755L));
	CHECK("mkdir bad pointer", syscall(SYS_mkdir, BAD_LOW, 0755L));
	CHECK("mkdir mode 07777", syscall(SYS_mkdir, D "/m", 07777L));
	show_lstat("m (only the sticky bit is kept)", D "/m");
	CHECK("mkdir /", syscall(SYS_mkdir, "/", 0755L));
	CHECK("mkdir /tmp", syscall(SYS_mkdir, "/tmp", 0755L));

	/* mkdirat. */
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	long ffd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	CHECK("mkdirat(dfd, \"a/sub\")", syscall(SYS_mkdirat, dfd, "a/sub", 0750L));
	show_lstat("a/sub", D "/a/sub");
	show_lstat("a after a subdirectory", D "/a");
	CHECK("mkdirat(999, \"x\")", syscall(SYS_mkdirat, 999L, "x", 0755L));
	CHECK("mkdirat(file fd, \"x\")", syscall(SYS_mkdirat, ffd, "x", 0755L));
	CHECK("mkdirat(999, absolute)", syscall(SYS_mkdirat, 999L, D "/abs", 0755L));
	CHECK("mkdirat(AT_FDCWD, relative to /)", syscall(SYS_mkdirat, (long)AT_FDCWD, "tmp/husk-fs-dirs/rel", 0755L));
	show_lstat("rel", D "/rel");

	/* rmdir. */
	CHECK("rmdir a (not empty)", syscall(SYS_rmdir, D "/a"));
	CHECK("rmdir f (a file)", syscall(SYS_rmdir, D "/f"));
	CHECK("rmdir lf (symlink to file)", syscall(SYS_rmdir, D "/lf"));
	if (syscall(SYS_symlink, "b", D "/lb"))
		die("symlink lb");
	CHECK("rmdir lb (symlink to dir)", syscall(SYS_rmdir, D "/lb"));
	CHECK("rmdir lb/ (trailing slash)", syscall(SYS_rmdir, D "/lb/"));
	CHECK("rmdir missing", syscall(SYS_rmdir, D "/missing"));
	CHECK("rmdir a/sub/.", syscall(SYS_rmdir, D "/a/sub/."));
	CHECK("rmdir a/sub/..", syscall(SYS_rmdir, D "/a/sub/.."));
	CHECK("rmdir .", syscall(SYS_rmdir, "."));
	CHECK("rmdir ..", syscall(SYS_rmdir, ".."));
	CHECK("rmdir /", syscall(SYS_rmdir, "/"));
	CHECK("rmdir empty path", syscall(SYS_rmdir, ""));
	CHECK("rmdir bad pointer", syscall(SYS_rmdir, BAD_LOW));
	CHECK("rmdir a/sub/ (trailing slash)", syscall(SYS_rmdir, D "/a/sub/"));
	show_lstat("a after rmdir", D "/a");
	CHECK("rmdir a", syscall(SYS_rmdir, D "/a"));
	CHECK("rmdir a again", syscall(SYS_rmdir, D "/a"));
	/* A directory that is someone's cwd can still be removed. */
	CHECK("mkdir cwd", syscall(SYS_mkdir, D "/cwd", 0755L));
	CHECK("chdir cwd", syscall(SYS_chdir, D "/cwd"));
	CHECK("rmdir the cwd", syscall(SYS_rmdir, D "/cwd"));
	CHECK("create in a removed cwd", syscall(SYS_open, "x", (long)(O_RDWR | O_CREAT), 0644L));
	CHECK("mkdir in a removed cwd", syscall(SYS_mkdir, "y", 0755L));
	CHECK("chdir /", syscall(SYS_chdir, "/"));

	/* unlink. */
	CHECK("unlink a directory", syscall(SYS_unlink, D "/b"));
	CHECK("unlink lb (removes the link only)", syscall(SYS_unlink, D "/lb"));
	show_lstat("b still there", D "/b");
	CHECK("unlink f/ (trailing slash)", syscall(SYS_unlink, D "/f/"));
	CHECK("unlink lf", syscall(SYS_unlink, D "/lf"));
	show_lstat("f still there", D "/f");
	CHECK("unlink dangling", syscall(SYS_unlink, D "/dangling"));
	CHECK("unlink missing", syscall(SYS_unlink, D "/missing"));
	CHECK("unlink f/x", syscall(SYS_unlink, D "/f/x"));
	CHECK("unlink empty path", syscall(SYS_unlink, ""));
	CHECK("unlink bad pointer", syscall(SYS_unlink, BAD_LOW));
	CHECK("unlink /", syscall(SYS_unlink, "/"));
	/* An open file survives its last name. */
	long fd = syscall(SYS_open, D "/f", (long)O_RDWR, 0L);
	CHECK("unlink open file", syscall(SYS_unlink, D "/f"));
	CHECK("write to it", syscall(SYS_write, fd, "yz", 2L));
	char buf[8] = {0};
	CHECK("pread it", syscall(SYS_pread64, fd, buf, 8L, 0L));
	printf("contents: [%s]\n", buf);
	syscall(SYS_close, fd);

	/* unlinkat. */
	put_file(D "/g", "g", -1, 0644);
	CHECK("unlinkat(dfd, \"g\", AT_REMOVEDIR)", syscall(SYS_unlinkat, dfd, "g", (long)AT_REMOVEDIR));
	CHECK("unlinkat(dfd, \"b\", 0)", syscall(SYS_unlinkat, dfd, "b", 0L));
	CHECK("unlinkat(dfd, \"b\", 0x1)", syscall(SYS_unlinkat, dfd, "b", 1L));
	CHECK("unlinkat(dfd, \"b\", AT_SYMLINK_NOFOLLOW)", syscall(SYS_unlinkat, dfd, "b", (long)AT_SYMLINK_NOFOLLOW));
	CHECK("unlinkat(dfd, \"b\", AT_REMOVEDIR)", syscall(SYS_unlinkat, dfd, "b", (long)AT_REMOVEDIR));
	CHECK("unlinkat(dfd, \"g\", 0)", syscall(SYS_unlinkat, dfd, "g", 0L));
	CHECK("unlinkat(999, \"g\", 0)", syscall(SYS_unlinkat, 999L, "g", 0L));
	CHECK("unlinkat(file fd, \"g\", 0)", syscall(SYS_unlinkat, ffd, "g", 0L));
	CHECK("unlinkat(dfd, \".\", AT_REMOVEDIR)", syscall(SYS_unlinkat, dfd, ".", (long)AT_REMOVEDIR));
	CHECK("unlinkat(dfd, \"\", AT_REMOVEDIR)", syscall(SYS_unlinkat, dfd, "", (long)AT_REMOVEDIR));
	show_lstat("parent at the end", D);

	syscall(SYS_close, ffd);
	syscall(SYS_close, dfd);
	cleanup_dir(D);
	return 0;
}
