/* fs_utimens.c - utimensat (and utimes/utime): explicit times read back
 * exactly, UTIME_OMIT leaves a time alone, UTIME_NOW and NULL set "now"
 * (only compared with the clock, never printed), symlinks with and
 * without AT_SYMLINK_NOFOLLOW, the fd form (path NULL), writes moving
 * mtime, and the error paths. */
#include "guest.h"
#include <sys/time.h>
#include <utime.h>

#define D "/tmp/husk-fs-utimens"
#ifndef UTIME_NOW
#define UTIME_NOW ((1l << 30) - 1l)
#endif
#ifndef UTIME_OMIT
#define UTIME_OMIT ((1l << 30) - 2l)
#endif

static void times_of(const char *label, const char *path, int follow)
{
	struct stat st = {0};
	long r = follow ? syscall(SYS_stat, path, &st) : syscall(SYS_lstat, path, &st);
	if (r) {
		printf("%s: errno=%s\n", label, errname(errno));
		return;
	}
	printf("%s: atime=%ld.%09ld mtime=%ld.%09ld\n", label, (long)st.st_atim.tv_sec,
	       (long)st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
}

/* Is mtime (or atime) of path within [before, now]? */
static int recent(const char *path, int mtime, time_t before)
{
	struct stat st = {0};
	struct timespec now = {0};
	syscall(SYS_stat, path, &st);
	syscall(SYS_clock_gettime, (long)CLOCK_REALTIME, &now);
	time_t t = mtime ? st.st_mtim.tv_sec : st.st_atim.tv_sec;
	return t >= before && t <= now.tv_sec;
}

#define U(label, dfd, path, ts, fl) CHECK(label, syscall(SYS_utimensat, (long)(dfd), path, ts, (long)(fl)))

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "x", -1, 0644);
	if (syscall(SYS_symlink, "f", D "/lf") || syscall(SYS_mkdir, D "/d", 0755L))
		die("setup");
	struct timespec t0 = {0};
	syscall(SYS_clock_gettime, (long)CLOCK_REALTIME, &t0);
	time_t before = t0.tv_sec - 1;

	struct timespec ts[2] = {{1000000000, 123456789}, {1200000000, 500}};
	U("explicit times", AT_FDCWD, D "/f", ts, 0);
	times_of("f", D "/f", 1);
	struct timespec omit_a[2] = {{0, UTIME_OMIT}, {1300000000, 0}};
	U("atime OMIT, mtime explicit", AT_FDCWD, D "/f", omit_a, 0);
	times_of("f", D "/f", 1);
	struct timespec both_omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	U("both OMIT", AT_FDCWD, D "/f", both_omit, 0);
	times_of("f", D "/f", 1);
	struct timespec now_m[2] = {{5, UTIME_OMIT}, {5, UTIME_NOW}};
	U("atime OMIT, mtime NOW", AT_FDCWD, D "/f", now_m, 0);
	EXPECT("mtime is now", recent(D "/f", 1, before));
	EXPECT("atime kept", !recent(D "/f", 0, before));
	U("NULL times (both now)", AT_FDCWD, D "/f", NULL, 0);
	EXPECT("atime is now", recent(D "/f", 0, before));
	U("pre-1970 times", AT_FDCWD, D "/f", ((struct timespec[2]){{-1, 0}, {-86400, 999999999}}), 0);
	times_of("f", D "/f", 1);
	U("time 0", AT_FDCWD, D "/f", ((struct timespec[2]){{0, 0}, {0, 0}}), 0);
	times_of("f", D "/f", 1);

	/* Invalid nanoseconds. */
	U("tv_nsec 1000000000", AT_FDCWD, D "/f", ((struct timespec[2]){{0, 1000000000}, {0, 0}}), 0);
	U("tv_nsec -1", AT_FDCWD, D "/f", ((struct timespec[2]){{0, 0}, {0, -1}}), 0);
	U("tv_nsec UTIME_NOW-2 (not special)", AT_FDCWD, D "/f", ((struct timespec[2]){{0, UTIME_NOW - 2}, {0, 0}}), 0);
	times_of("f unchanged", D "/f", 1);

	/* Symlinks. */
	ts[0].tv_sec = 1111111111;
	ts[1].tv_sec = 1222222222;
	U("lf, follow", AT_FDCWD, D "/lf", ts, 0);
	times_of("f via lf", D "/f", 1);
	ts[1].tv_sec = 1333333333;
	U("lf, AT_SYMLINK_NOFOLLOW", AT_FDCWD, D "/lf", ts, AT_SYMLINK_NOFOLLOW);
	times_of("lf itself", D "/lf", 0);
	times_of("f untouched", D "/f", 1);
	U("flags 0x1", AT_FDCWD, D "/f", ts, 1);
	U("AT_EMPTY_PATH with a path", AT_FDCWD, D "/f", ts, AT_EMPTY_PATH);

	/* The descriptor forms. */
	long fd = syscall(SYS_open, D "/f", (long)O_RDWR, 0L);
	ts[1].tv_sec = 1444444444;
	U("utimensat(fd, NULL, ts, 0)", fd, NULL, ts, 0);
	times_of("f", D "/f", 1);
	U("utimensat(fd, NULL, ts, AT_SYMLINK_NOFOLLOW)", fd, NULL, ts, AT_SYMLINK_NOFOLLOW);
	U("utimensat(AT_FDCWD, NULL, ts, 0)", AT_FDCWD, NULL, ts, 0);
	U("utimensat(999, NULL, ts, 0)", 999, NULL, ts, 0);
	ts[1].tv_sec = 1555555555;
	U("utimensat(fd, \"\", ts, AT_EMPTY_PATH)", fd, "", ts, AT_EMPTY_PATH);
	times_of("f", D "/f", 1);
	U("utimensat(fd, \"\", ts, 0)", fd, "", ts, 0);
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	ts[1].tv_sec = 1666666666;
	U("utimensat(dfd, \"d\", ts, 0)", dfd, "d", ts, 0);
	times_of("d", D "/d", 1);
	syscall(SYS_close, dfd);

	/* A write moves mtime to now. */
	syscall(SYS_write, fd, "more", 4L);
	EXPECT("write sets mtime to now", recent(D "/f", 1, before));
	syscall(SYS_ftruncate, fd, 0L);
	syscall(SYS_utimensat, fd, NULL, ts, 0L);
	syscall(SYS_ftruncate, fd, 0L);
	EXPECT("ftruncate to the same size sets mtime to now", recent(D "/f", 1, before));
	syscall(SYS_close, fd);

	/* utimes and utime (microsecond and second forms). */
	struct timeval tv[2] = {{1700000000, 250000}, {1700000001, 999999}};
	CHECK("utimes", syscall(SYS_utimes, D "/f", tv));
	times_of("f", D "/f", 1);
	tv[0].tv_usec = 1000000;
	CHECK("utimes tv_usec 1000000", syscall(SYS_utimes, D "/f", tv));
	struct utimbuf ub = {1750000000, 1760000000};
	CHECK("utime", syscall(SYS_utime, D "/f", &ub));
	times_of("f", D "/f", 1);

	/* Errors. */
	U("missing", AT_FDCWD, D "/missing", ts, 0);
	U("f/x", AT_FDCWD, D "/f/x", ts, 0);
	U("empty path", AT_FDCWD, "", ts, 0);
	U("bad path pointer", AT_FDCWD, BAD_LOW, ts, 0);
	U("bad times pointer", AT_FDCWD, D "/f", BAD_LOW, 0);
	U("bad dirfd", 999, "f", ts, 0);

	cleanup_dir(D);
	return 0;
}
