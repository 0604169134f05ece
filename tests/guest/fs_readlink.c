/* fs_readlink.c - readlink and readlinkat: full and truncated reads (no
 * NUL is added), EINVAL on things that are not symlinks and on sizes <= 0,
 * readlinkat with an empty path on an O_PATH|O_NOFOLLOW descriptor, and
 * the error paths. */
#include "guest.h"

#define D "/tmp/husk-fs-readlink"

static void rl(const char *label, long dfd, const char *path, long size)
{
	char buf[5000] = {0};
	memset(buf, '#', sizeof buf);
	errno = 0;
	long n = syscall(SYS_readlinkat, dfd, path, buf, size);
	if (n < 0) {
		printf("%s: ret=-1 errno=%s\n", label, errname(errno));
		return;
	}
	printf("%s: ret=%ld [%.*s] next byte %s\n", label, n, (int)(n > 60 ? 60 : n), buf,
	       buf[n] == '#' ? "untouched" : "written");
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "data", -1, 0644);
	static char longtarget[4096];
	memset(longtarget, 'x', 4095);
	for (int i = 100; i < 4095; i += 100)
		longtarget[i] = '/';
	if (syscall(SYS_mkdir, D "/d", 0755L) || syscall(SYS_symlink, "f", D "/rel") ||
	    syscall(SYS_symlink, D "/f", D "/abs") ||
	    syscall(SYS_symlink, "../no/such/thing", D "/dangling") ||
	    syscall(SYS_symlink, "rel", D "/chain") || syscall(SYS_symlink, "d", D "/ld") ||
	    syscall(SYS_symlink, longtarget, D "/long"))
		die("setup");

	rl("rel", AT_FDCWD, D "/rel", 100);
	rl("abs", AT_FDCWD, D "/abs", 100);
	rl("dangling", AT_FDCWD, D "/dangling", 100);
	rl("chain (not followed)", AT_FDCWD, D "/chain", 100);
	rl("abs size 5 (truncated)", AT_FDCWD, D "/abs", 5);
	rl("abs size 1", AT_FDCWD, D "/abs", 1);
	rl("abs exact size", AT_FDCWD, D "/abs", (long)strlen(D "/f"));
	rl("size 0", AT_FDCWD, D "/abs", 0);
	rl("size -1", AT_FDCWD, D "/abs", -1);
	rl("4095-byte target", AT_FDCWD, D "/long", 5000);
	char buf[5000] = {0};
	long n = syscall(SYS_readlink, D "/long", buf, 5000L);
	EXPECT("4095-byte target intact", n == 4095 && !memcmp(buf, longtarget, 4095));
	char t4096[4097] = {0};
	memset(t4096, 'y', 4096);
	t4096[4096] = 0;
	CHECK("symlink with a 4096-byte target", syscall(SYS_symlink, t4096, D "/toolong"));
	CHECK("symlink with an empty target", syscall(SYS_symlink, "", D "/empty"));

	/* Not symlinks. */
	rl("regular file", AT_FDCWD, D "/f", 100);
	rl("directory", AT_FDCWD, D "/d", 100);
	rl("symlink to dir, trailing slash", AT_FDCWD, D "/ld/", 100);
	rl("/dev/null", AT_FDCWD, "/dev/null", 100);
	rl("missing", AT_FDCWD, D "/missing", 100);
	rl("through a file", AT_FDCWD, D "/f/x", 100);
	rl("through the dangling link", AT_FDCWD, D "/dangling/x", 100);
	rl("empty path", AT_FDCWD, "", 100);

	/* readlinkat. */
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	rl("readlinkat(dfd, \"rel\")", dfd, "rel", 100);
	rl("readlinkat(dfd, \"d/../abs\")", dfd, "d/../abs", 100);
	rl("readlinkat(999, \"rel\")", 999, "rel", 100);
	rl("readlinkat(999, absolute)", 999, D "/rel", 100);
	long lfd = syscall(SYS_open, D "/rel", (long)(O_PATH | O_NOFOLLOW), 0L);
	rl("readlinkat(O_PATH|O_NOFOLLOW link, \"\")", lfd, "", 100);
	rl("readlinkat(O_PATH|O_NOFOLLOW link, \"\", 2)", lfd, "", 2);
	syscall(SYS_close, lfd);
	long ffd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	rl("readlinkat(file fd, \"\")", ffd, "", 100);
	rl("readlinkat(file fd, \"x\")", ffd, "x", 100);
	syscall(SYS_close, ffd);
	rl("readlinkat(dir fd, \"\")", dfd, "", 100);
	syscall(SYS_close, dfd);

	/* Bad pointers. */
	CHECK("readlink bad buffer", syscall(SYS_readlink, D "/rel", BAD_LOW, 100L));
	CHECK("readlink bad path", syscall(SYS_readlink, BAD_LOW, buf, 100L));
	unsigned char *ro = map_pages(1, PROT_READ);
	CHECK("readlink read-only buffer", syscall(SYS_readlink, D "/rel", ro, 100L));
	CHECK("readlink bad buffer, not a link", syscall(SYS_readlink, D "/f", BAD_LOW, 100L));

	cleanup_dir(D);
	return 0;
}
