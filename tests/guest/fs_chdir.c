/* fs_chdir.c - chdir, fchdir and getcwd: relative paths after a chdir,
 * "..", symlinks resolved into the real path, fchdir on directory and
 * O_PATH descriptors, a removed working directory (getcwd ENOENT,
 * relative lookups ENOENT), and the error paths. */
#include "guest.h"

#define D "/tmp/husk-fs-chdir"

static void cwd(const char *label)
{
	char buf[256] = {0};
	long r = syscall(SYS_getcwd, buf, (long)sizeof buf);
	if (r < 0)
		printf("%s: getcwd errno=%s\n", label, errname(errno));
	else
		printf("%s: getcwd=%s (ret %ld)\n", label, buf, r);
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
	if (syscall(SYS_mkdir, D "/a", 0755L) || syscall(SYS_mkdir, D "/a/b", 0755L) ||
	    syscall(SYS_symlink, "a/b", D "/lb") || syscall(SYS_mkdir, D "/gone", 0755L))
		die("setup");
	put_file(D "/top", "top", -1, 0644);
	put_file(D "/a/in-a", "in a", -1, 0644);
	put_file(D "/a/b/in-b", "in b", -1, 0644);

	cwd("start");
	CHECK("chdir D", syscall(SYS_chdir, D));
	cwd("after chdir D");
	cat("top (relative)", "top");
	cat("a/b/in-b (relative)", "a/b/in-b");
	CHECK("chdir a", syscall(SYS_chdir, "a"));
	cwd("after chdir a");
	cat("../top", "../top");
	cat("./in-a", "./in-a");
	CHECK("chdir ../lb (symlink)", syscall(SYS_chdir, "../lb"));
	cwd("after chdir ../lb (the real path)");
	cat("in-b", "in-b");
	CHECK("chdir ..", syscall(SYS_chdir, ".."));
	cwd("after chdir .. (the parent of b, not of the link)");
	CHECK("chdir .", syscall(SYS_chdir, "."));
	cwd("after chdir .");
	CHECK("chdir ''", syscall(SYS_chdir, ""));
	CHECK("chdir in-a (a file)", syscall(SYS_chdir, "in-a"));
	CHECK("chdir missing", syscall(SYS_chdir, "missing"));
	CHECK("chdir in-a/x", syscall(SYS_chdir, "in-a/x"));
	CHECK("chdir bad pointer", syscall(SYS_chdir, BAD_LOW));
	cwd("unchanged by the failures");

	/* mkdir/rename/symlink relative to the cwd. */
	CHECK("mkdir new (relative)", syscall(SYS_mkdir, "new", 0755L));
	CHECK("rename new -> b/new", syscall(SYS_rename, "new", "b/new"));
	CHECK("symlink ../top -> ltop", syscall(SYS_symlink, "../top", "ltop"));
	cat("ltop", "ltop");
	show_lstat(D "/a/b/new", D "/a/b/new");

	/* fchdir. */
	long dfd = syscall(SYS_open, D "/a/b", (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("fchdir(b)", syscall(SYS_fchdir, dfd));
	cwd("after fchdir(b)");
	syscall(SYS_close, dfd);
	long pfd = syscall(SYS_open, D, (long)(O_PATH | O_DIRECTORY), 0L);
	CHECK("fchdir(O_PATH D)", syscall(SYS_fchdir, pfd));
	cwd("after fchdir(O_PATH D)");
	syscall(SYS_close, pfd);
	long ffd = syscall(SYS_open, D "/top", (long)O_RDONLY, 0L);
	CHECK("fchdir(file)", syscall(SYS_fchdir, ffd));
	syscall(SYS_close, ffd);
	CHECK("fchdir(999)", syscall(SYS_fchdir, 999L));
	CHECK("fchdir(-1)", syscall(SYS_fchdir, -1L));
	cwd("unchanged");

	/* The working directory is removed. */
	CHECK("chdir gone", syscall(SYS_chdir, "gone"));
	CHECK("rmdir ../gone", syscall(SYS_rmdir, "../gone"));
	cwd("in a removed directory");
	cat("read . (a directory)", ".");
	struct stat st = {0};
	CHECK("stat .", syscall(SYS_stat, ".", &st));
	printf("  nlink of the removed cwd: %ld\n", (long)st.st_nlink);
	CHECK("stat ..", syscall(SYS_stat, "..", &st));
	CHECK("open x O_CREAT", syscall(SYS_open, "x", (long)(O_RDWR | O_CREAT), 0644L));
	CHECK("chdir ..", syscall(SYS_chdir, ".."));
	cwd("back in D");

	/* getcwd buffer sizes. */
	char small[32] = {0};
	long need = (long)strlen(D) + 1;
	CHECK("getcwd exact size", syscall(SYS_getcwd, small, need));
	CHECK("getcwd one byte short", syscall(SYS_getcwd, small, need - 1));

	CHECK("chdir /", syscall(SYS_chdir, "/"));
	cwd("end");
	cleanup_dir(D);
	return 0;
}
