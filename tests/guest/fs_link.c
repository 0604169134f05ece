/* fs_link.c - link and linkat: link counts as names come and go,
 * linkat with and without AT_SYMLINK_FOLLOW (a link to the symlink or to
 * its target), AT_EMPTY_PATH, directories (EPERM), EEXIST, EXDEV across
 * mounts, flag checks and the error paths. */
#include "guest.h"

#define D "/tmp/husk-fs-link"

static long nlink(const char *path)
{
	struct stat st = {0};
	if (syscall(SYS_lstat, path, &st))
		return -1;
	return (long)st.st_nlink;
}

static int same(const char *a, const char *b)
{
	struct stat x = {0}, y = {0};
	return !syscall(SYS_lstat, a, &x) && !syscall(SYS_lstat, b, &y) && x.st_ino == y.st_ino &&
	       x.st_dev == y.st_dev;
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "data", -1, 0644);
	if (syscall(SYS_mkdir, D "/d", 0755L) || syscall(SYS_symlink, "f", D "/lf") ||
	    syscall(SYS_symlink, "nowhere", D "/dangling"))
		die("setup");

	printf("nlink f: %ld\n", nlink(D "/f"));
	CHECK("link f -> g", syscall(SYS_link, D "/f", D "/g"));
	CHECK("link f -> d/h", syscall(SYS_link, D "/f", D "/d/h"));
	printf("nlink f: %ld, f==g: %s, f==d/h: %s\n", nlink(D "/f"), same(D "/f", D "/g") ? "yes" : "no",
	       same(D "/f", D "/d/h") ? "yes" : "no");
	put_file(D "/g", "changed", -1, 0644);
	char buf[32] = {0};
	get_file(D "/f", buf, sizeof buf);
	printf("f after writing g: [%s]\n", buf);
	CHECK("unlink g", syscall(SYS_unlink, D "/g"));
	printf("nlink f: %ld\n", nlink(D "/f"));
	long fd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	CHECK("unlink f", syscall(SYS_unlink, D "/f"));
	CHECK("unlink d/h", syscall(SYS_unlink, D "/d/h"));
	struct stat st = {0};
	syscall(SYS_fstat, fd, &st);
	printf("open file with no names: nlink %ld\n", (long)st.st_nlink);
	CHECK("linkat(fd, \"\", AT_EMPTY_PATH) of a file with no names",
	      syscall(SYS_linkat, fd, "", (long)AT_FDCWD, D "/revived", (long)AT_EMPTY_PATH));
	syscall(SYS_close, fd);
	put_file(D "/f", "data", -1, 0644);

	/* Errors. */
	CHECK("link f -> lf (exists)", syscall(SYS_link, D "/f", D "/lf"));
	CHECK("link f -> dangling (exists)", syscall(SYS_link, D "/f", D "/dangling"));
	CHECK("link f -> f", syscall(SYS_link, D "/f", D "/f"));
	CHECK("link d -> d2 (a directory)", syscall(SYS_link, D "/d", D "/d2"));
	CHECK("link missing -> x", syscall(SYS_link, D "/missing", D "/x"));
	CHECK("link f -> missing/x", syscall(SYS_link, D "/f", D "/missing/x"));
	CHECK("link f -> f/x", syscall(SYS_link, D "/f", D "/f/x"));
	CHECK("link f -> x/ (trailing slash)", syscall(SYS_link, D "/f", D "/x/"));
	CHECK("link f/ -> x", syscall(SYS_link, D "/f/", D "/x"));
	CHECK("link empty source", syscall(SYS_link, "", D "/x"));
	CHECK("link bad pointer", syscall(SYS_link, BAD_LOW, D "/x"));
	CHECK("link to /proc (proc has no such name: ENOENT first)", syscall(SYS_link, D "/f", "/proc/husk-link"));
	CHECK("link from /proc", syscall(SYS_link, "/proc/self/status", D "/status"));

	/* Symlinks: link() does not follow; linkat follows on request. */
	CHECK("link lf -> lf2", syscall(SYS_link, D "/lf", D "/lf2"));
	show_lstat("lf2 (a second name of the symlink)", D "/lf2");
	EXPECT("lf2 is lf", same(D "/lf", D "/lf2"));
	CHECK("linkat lf -> lf3, AT_SYMLINK_FOLLOW",
	      syscall(SYS_linkat, (long)AT_FDCWD, D "/lf", (long)AT_FDCWD, D "/lf3", (long)AT_SYMLINK_FOLLOW));
	show_lstat("lf3 (a name of f)", D "/lf3");
	EXPECT("lf3 is f", same(D "/f", D "/lf3"));
	CHECK("link dangling -> dl", syscall(SYS_link, D "/dangling", D "/dl"));
	CHECK("linkat dangling, AT_SYMLINK_FOLLOW",
	      syscall(SYS_linkat, (long)AT_FDCWD, D "/dangling", (long)AT_FDCWD, D "/dl2", (long)AT_SYMLINK_FOLLOW));

	/* linkat flags and fds. */
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	long sfd = syscall(SYS_open, D "/d", (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("linkat(dfd, f, sfd, k)", syscall(SYS_linkat, dfd, "f", sfd, "k", 0L));
	EXPECT("d/k is f", same(D "/f", D "/d/k"));
	CHECK("linkat flags 0x1", syscall(SYS_linkat, dfd, "f", sfd, "k2", 1L));
	CHECK("linkat AT_SYMLINK_NOFOLLOW (invalid)", syscall(SYS_linkat, dfd, "f", sfd, "k2", (long)AT_SYMLINK_NOFOLLOW));
	CHECK("linkat(999, f, ...)", syscall(SYS_linkat, 999L, "f", sfd, "k2", 0L));
	CHECK("linkat(..., 999, k2)", syscall(SYS_linkat, dfd, "f", 999L, "k2", 0L));
	fd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	CHECK("linkat(fd, \"\", AT_EMPTY_PATH)", syscall(SYS_linkat, fd, "", dfd, "via-fd", (long)AT_EMPTY_PATH));
	EXPECT("via-fd is f", same(D "/f", D "/via-fd"));
	CHECK("linkat(fd, \"\", 0)", syscall(SYS_linkat, fd, "", dfd, "via-fd2", 0L));
	syscall(SYS_close, fd);
	fd = syscall(SYS_open, D "/f", (long)O_PATH, 0L);
	CHECK("linkat(O_PATH fd, \"\", AT_EMPTY_PATH)", syscall(SYS_linkat, fd, "", dfd, "via-opath", (long)AT_EMPTY_PATH));
	syscall(SYS_close, fd);
	fd = syscall(SYS_open, D "/d", (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("linkat(dir fd, \"\", AT_EMPTY_PATH)", syscall(SYS_linkat, fd, "", dfd, "dir-link", (long)AT_EMPTY_PATH));
	syscall(SYS_close, fd);
	char proc[64] = {0};
	fd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	snprintf(proc, sizeof proc, "/proc/self/fd/%ld", fd);
	CHECK("linkat(/proc/self/fd/N, AT_SYMLINK_FOLLOW)",
	      syscall(SYS_linkat, (long)AT_FDCWD, proc, dfd, "via-proc", (long)AT_SYMLINK_FOLLOW));
	EXPECT("via-proc is f", same(D "/f", D "/via-proc"));
	CHECK("linkat(/proc/self/fd/N, 0) (links the magic link: EXDEV)",
	      syscall(SYS_linkat, (long)AT_FDCWD, proc, dfd, "via-proc2", 0L));
	syscall(SYS_close, fd);
	printf("nlink f at the end: %ld\n", nlink(D "/f"));
	syscall(SYS_close, sfd);
	syscall(SYS_close, dfd);
	cleanup_dir(D);
	return 0;
}
