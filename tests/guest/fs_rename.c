/* fs_rename.c - rename, renameat and renameat2: files and directories,
 * replacing an existing target, directory onto (non-)empty directory,
 * type mismatches, moving a directory into itself, renaming onto a hard
 * link of itself, RENAME_NOREPLACE, RENAME_EXCHANGE, invalid flags,
 * EXDEV across mounts, and the error paths. */
#include "guest.h"

#define D "/tmp/husk-fs-rename"

static void cat(const char *label, const char *path)
{
	char buf[64] = {0};
	long n = get_file(path, buf, sizeof buf);
	if (n < 0)
		printf("%s: errno=%s\n", label, errname(errno));
	else
		printf("%s: [%s]\n", label, buf);
}

#define R(label, a, b) CHECK(label, syscall(SYS_rename, a, b))
#define R2(label, a, b, fl) CHECK(label, syscall(SYS_renameat2, (long)AT_FDCWD, a, (long)AT_FDCWD, b, (long)(fl)))

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/a", "A", -1, 0644);
	put_file(D "/b", "B", -1, 0644);
	if (syscall(SYS_mkdir, D "/d1", 0755L) || syscall(SYS_mkdir, D "/d2", 0755L) ||
	    syscall(SYS_mkdir, D "/full", 0755L) || syscall(SYS_mkdir, D "/d1/sub", 0755L))
		die("setup");
	put_file(D "/full/x", "x", -1, 0644);

	/* Files. */
	R("rename a -> c", D "/a", D "/c");
	cat("c", D "/c");
	cat("a", D "/a");
	long fd = syscall(SYS_open, D "/b", (long)O_RDONLY, 0L);
	R("rename c -> b (replaces b)", D "/c", D "/b");
	cat("b", D "/b");
	char buf[8] = {0};
	syscall(SYS_read, fd, buf, 7L);
	printf("old b still readable through its fd: [%s]\n", buf);
	struct stat st = {0};
	syscall(SYS_fstat, fd, &st);
	printf("old b nlink: %ld\n", (long)st.st_nlink);
	syscall(SYS_close, fd);
	R("rename b -> b (same name)", D "/b", D "/b");
	if (syscall(SYS_link, D "/b", D "/b2"))
		die("link");
	R("rename b -> b2 (hard links to one inode: no-op)", D "/b", D "/b2");
	show_lstat("b", D "/b");
	show_lstat("b2", D "/b2");
	R("rename missing", D "/missing", D "/z");
	R("rename b -> missing/z", D "/b", D "/missing/z");
	R("rename b -> b2/z (through a file)", D "/b", D "/b2/z");
	R("rename b -> d1 (file onto dir)", D "/b", D "/d1");
	R("rename d2 -> b (dir onto file)", D "/d2", D "/b");
	R("rename b -> b3/ (trailing slash on a file target)", D "/b", D "/b3/");
	R("rename b/ -> b3 (trailing slash on a file source)", D "/b/", D "/b3");
	R("rename empty source", "", D "/z");
	R("rename empty target", D "/b", "");
	CHECK("rename bad pointer", syscall(SYS_rename, BAD_LOW, D "/z"));
	CHECK("rename bad pointer target", syscall(SYS_rename, D "/b", BAD_LOW));

	/* Symlinks are renamed, not followed. */
	if (syscall(SYS_symlink, "b", D "/lb"))
		die("symlink");
	R("rename lb -> lb2", D "/lb", D "/lb2");
	show_lstat("lb2", D "/lb2");
	show_lstat("b", D "/b");

	/* Directories. */
	R("rename d2 -> d3", D "/d2", D "/d3");
	show_lstat("d3", D "/d3");
	R("rename d3 -> d1/sub (onto an empty dir)", D "/d3", D "/d1/sub");
	show_lstat("d1/sub", D "/d1/sub");
	show_lstat("d1", D "/d1");
	R("rename d1 -> full (non-empty target)", D "/d1", D "/full");
	R("rename d1 -> d1/sub/inner (into itself)", D "/d1", D "/d1/sub/inner");
	R("rename d1 -> d1/sub (onto its own child)", D "/d1", D "/d1/sub");
	R("rename d1/sub -> d1 (onto its own parent)", D "/d1/sub", D "/d1");
	R("rename d1/ -> d4/ (trailing slashes)", D "/d1/", D "/d4/");
	R("rename d4/sub -> sub2 (up a level)", D "/d4/sub", D "/sub2");
	show_lstat("d4 after losing its subdirectory", D "/d4");
	show_lstat("parent", D);
	R("rename d4/. -> d5", D "/d4/.", D "/d5");
	R("rename d4 -> d4/..", D "/d4", D "/d4/..");
	R("rename d4/.. -> d6", D "/d4/..", D "/d6");
	R("rename / -> /husk-fs-rename-d7 (same mount)", "/", "/husk-fs-rename-d7");

	/* renameat2 flags. */
	R2("NOREPLACE onto existing", D "/b", D "/b2", RENAME_NOREPLACE);
	R2("NOREPLACE onto a symlink", D "/b", D "/lb2", RENAME_NOREPLACE);
	syscall(SYS_unlink, D "/b2");
	if (syscall(SYS_symlink, "nowhere", D "/dangling"))
		die("symlink");
	R2("NOREPLACE onto dangling symlink", D "/b", D "/dangling", RENAME_NOREPLACE);
	R2("NOREPLACE to a new name", D "/b", D "/e", RENAME_NOREPLACE);
	put_file(D "/f", "F", -1, 0644);
	R2("EXCHANGE e <-> f", D "/e", D "/f", RENAME_EXCHANGE);
	cat("e", D "/e");
	cat("f", D "/f");
	R2("EXCHANGE file <-> dir", D "/e", D "/d4", RENAME_EXCHANGE);
	show_lstat("e (now the dir)", D "/e");
	show_lstat("d4 (now the file)", D "/d4");
	R2("EXCHANGE with a missing target", D "/f", D "/missing", RENAME_EXCHANGE);
	R2("EXCHANGE with itself", D "/f", D "/f", RENAME_EXCHANGE);
	R2("EXCHANGE dir <-> its child", D "/full", D "/full/x", RENAME_EXCHANGE);
	R2("NOREPLACE|EXCHANGE", D "/f", D "/d4", RENAME_NOREPLACE | RENAME_EXCHANGE);
	R2("flags 0x80", D "/f", D "/g", 0x80);
	R2("flags -1", D "/f", D "/g", -1);
	R2("NOREPLACE onto itself", D "/f", D "/f", RENAME_NOREPLACE);

	/* renameat with directory fds. */
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	long sfd = syscall(SYS_open, D "/sub2", (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("renameat(dfd, f, sfd, f-moved)", syscall(SYS_renameat, dfd, "f", sfd, "f-moved"));
	show_lstat("sub2/f-moved", D "/sub2/f-moved");
	CHECK("renameat(999, f, sfd, g)", syscall(SYS_renameat, 999L, "f", sfd, "g"));
	CHECK("renameat(dfd, x, 999, g)", syscall(SYS_renameat, dfd, "x", 999L, "g"));
	syscall(SYS_close, sfd);
	syscall(SYS_close, dfd);

	/* Across mounts: EXDEV. */
	R("rename to /proc", D "/e", "/proc/husk-fs-rename");
	R("rename from /proc", "/proc/self/status", D "/status");
	R2("EXCHANGE across mounts", D "/d4", "/proc/self/status", RENAME_EXCHANGE);

	cleanup_dir(D);
	return 0;
}
