/* fs_paths.c - path resolution edge cases: trailing slashes on files and
 * directories, "//", "/./", ".." at "/", "." and ".." in the middle,
 * empty paths and AT_EMPTY_PATH, the 4096-byte PATH_MAX and the 255-byte
 * component limits, and components through non-directories. */
#include "guest.h"

#define D "/tmp/husk-fs-paths"

static void st(const char *label, const char *path)
{
	struct stat s = {0};
	if (syscall(SYS_stat, path, &s))
		printf("%s: errno=%s\n", label, errname(errno));
	else
		printf("%s: %s\n", label, mode_type(s.st_mode));
}

/* Does path name the same inode as ref? */
static void same(const char *label, const char *path, const char *ref)
{
	struct stat a = {0}, b = {0};
	if (syscall(SYS_stat, path, &a)) {
		printf("%s: errno=%s\n", label, errname(errno));
		return;
	}
	syscall(SYS_stat, ref, &b);
	printf("%s: %s\n", label, a.st_ino == b.st_ino && a.st_dev == b.st_dev ? "same as ref" : "different");
}

static char big[8192];

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "x", -1, 0644);
	if (syscall(SYS_mkdir, D "/d", 0755L) || syscall(SYS_symlink, "d", D "/ld") ||
	    syscall(SYS_symlink, "f", D "/lf"))
		die("setup");

	/* Trailing slashes. */
	st("f", D "/f");
	st("f/", D "/f/");
	st("f/.", D "/f/.");
	st("f/..", D "/f/..");
	st("d/", D "/d/");
	st("d//", D "/d//");
	st("d/.", D "/d/.");
	st("ld/", D "/ld/");
	st("lf/", D "/lf/");
	CHECK("open f/ O_RDONLY", syscall(SYS_open, D "/f/", (long)O_RDONLY, 0L));
	CHECK("open f/ O_CREAT", syscall(SYS_open, D "/f/", (long)(O_RDWR | O_CREAT), 0644L));
	CHECK("open new/ O_CREAT", syscall(SYS_open, D "/new/", (long)(O_RDWR | O_CREAT), 0644L));
	CHECK("open . O_CREAT", syscall(SYS_open, D "/.", (long)(O_RDWR | O_CREAT), 0644L));

	/* Redundant separators and dots. */
	same("//tmp//husk-fs-paths///f", "//tmp//husk-fs-paths///f", D "/f");
	same("/./tmp/./husk-fs-paths/./f", "/./tmp/./husk-fs-paths/./f", D "/f");
	same("/tmp/husk-fs-paths/d/../f", "/tmp/husk-fs-paths/d/../f", D "/f");
	same("/tmp/husk-fs-paths/ld/../f (.. after a symlink)", "/tmp/husk-fs-paths/ld/../f", D "/f");
	same("/..", "/..", "/");
	same("/../../..", "/../../..", "/");
	same("/../tmp/../../tmp", "/../tmp/../../tmp", "/tmp");
	same("///", "///", "/");
	same("/.", "/.", "/");
	same(". (cwd is /)", ".", "/");
	same("..", "..", "/");
	same("tmp/husk-fs-paths/f (relative to /)", "tmp/husk-fs-paths/f", D "/f");
	st("/tmp/husk-fs-paths/missing/..", D "/missing/..");
	st("/tmp/husk-fs-paths/f/../f", D "/f/../f");

	/* Empty paths and AT_EMPTY_PATH. */
	struct stat s = {0};
	CHECK("stat \"\"", syscall(SYS_stat, "", &s));
	CHECK("open \"\"", syscall(SYS_open, "", (long)O_RDONLY, 0L));
	long fd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	CHECK("fstatat(fd, \"\", AT_EMPTY_PATH)", syscall(SYS_newfstatat, fd, "", &s, (long)AT_EMPTY_PATH));
	CHECK("fstatat(fd, \"\", 0)", syscall(SYS_newfstatat, fd, "", &s, 0L));
	CHECK("fstatat(AT_FDCWD, \"\", AT_EMPTY_PATH)", syscall(SYS_newfstatat, (long)AT_FDCWD, "", &s, (long)AT_EMPTY_PATH));
	syscall(SYS_close, fd);

	/* PATH_MAX: 4096 bytes including the NUL.  Built from "./" so it
	 * names /tmp/husk-fs-paths/f whatever its length. */
	const char *tail = "tmp/husk-fs-paths/f";
	int tl = (int)strlen(tail);
	for (int len = 4094; len <= 4097; len++) {
		int pre = len - tl; /* bytes of "./" and "/" padding */
		memset(big, 0, sizeof big);
		int i = 0;
		big[i++] = '/';
		while (i < pre) {
			if (pre - i >= 2) {
				big[i++] = '.';
				big[i++] = '/';
			} else {
				big[i++] = '/';
			}
		}
		memcpy(big + i, tail, tl + 1);
		char label[64] = {0};
		snprintf(label, sizeof label, "stat of a %d-byte path", (int)strlen(big));
		CHECK(label, syscall(SYS_stat, big, &s));
	}
	memset(big, '/', 5000);
	big[5000] = 0;
	CHECK("stat of 5000 slashes", syscall(SYS_stat, big, &s));
	memset(big, 'a', 5000);
	CHECK("stat of a 5000-byte name", syscall(SYS_stat, big, &s));
	CHECK("open of a 5000-byte name O_CREAT", syscall(SYS_open, big, (long)(O_RDWR | O_CREAT), 0644L));
	CHECK("mkdir of a 5000-byte name", syscall(SYS_mkdir, big, 0755L));

	/* NAME_MAX: 255 bytes per component. */
	char name[300] = {0};
	for (int len = 255; len <= 256; len++) {
		int n = snprintf(name, sizeof name, D "/");
		memset(name + n, 'c', len);
		name[n + len] = 0;
		char label[64] = {0};
		snprintf(label, sizeof label, "create a %d-byte component", len);
		CHECK_OK(label, fd = syscall(SYS_open, name, (long)(O_RDWR | O_CREAT | O_EXCL), 0644L));
		if (fd >= 0)
			syscall(SYS_close, fd);
		snprintf(label, sizeof label, "stat a %d-byte component", len);
		CHECK(label, syscall(SYS_stat, name, &s));
		snprintf(label, sizeof label, "mkdir a %d-byte component", len);
		CHECK(label, syscall(SYS_mkdir, name, 0755L));
		snprintf(label, sizeof label, "symlink named by a %d-byte component", len);
		CHECK(label, syscall(SYS_symlink, "f", name));
		snprintf(label, sizeof label, "stat missing/%d-byte component", len);
		int m = snprintf(name, sizeof name, D "/missing/");
		memset(name + m, 'c', len);
		name[m + len] = 0;
		CHECK(label, syscall(SYS_stat, name, &s));
	}
	memset(name, 'c', 256);
	name[256] = 0;
	CHECK("stat a 256-byte relative name", syscall(SYS_stat, name, &s));

	/* Non-directories in the middle. */
	st("f/x", D "/f/x");
	st("f/x/y", D "/f/x/y");
	st("lf/x", D "/lf/x");
	st("/dev/null/x", "/dev/null/x");
	st("missing/x", D "/missing/x");
	fd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	char magic[64] = {0};
	snprintf(magic, sizeof magic, "/proc/self/fd/%ld/x", fd);
	st("/proc/self/fd/N/x (N a file)", magic);
	snprintf(magic, sizeof magic, "/proc/self/fd/%ld/", fd);
	st("/proc/self/fd/N/ (N a file)", magic);
	syscall(SYS_close, fd);
	fd = syscall(SYS_open, D "/d", (long)(O_RDONLY | O_DIRECTORY), 0L);
	snprintf(magic, sizeof magic, "/proc/self/fd/%ld/../f", fd);
	same("/proc/self/fd/N/../f (N a directory)", magic, D "/f");
	syscall(SYS_close, fd);

	CHECK("stat bad pointer", syscall(SYS_stat, BAD_LOW, &s));
	CHECK("stat non-canonical pointer", syscall(SYS_stat, BAD_NONCANON, &s));
	/* A path that runs into unmapped memory before its NUL. */
	unsigned char *pg = map_pages(2, PROT_READ | PROT_WRITE);
	syscall(SYS_munmap, pg + PAGE, PAGE);
	memset(pg, 'a', PAGE);
	CHECK("stat 4096 unterminated bytes before a hole", syscall(SYS_stat, pg, &s));
	CHECK("stat 100 unterminated bytes before a hole", syscall(SYS_stat, pg + PAGE - 100, &s));
	memcpy(pg + PAGE - 3, "/x", 3);
	CHECK("stat path ending exactly at a page end", syscall(SYS_stat, pg + PAGE - 3, &s));

	cleanup_dir(D);
	return 0;
}
