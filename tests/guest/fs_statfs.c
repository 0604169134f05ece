/* fs_statfs.c - statfs and fstatfs: only facts that hold for every
 * backing file system (f_bsize > 0, f_namelen 255, f_type of /proc and
 * /sys, path and descriptor agree), and the error paths.  /tmp's f_type
 * is not printed: natively /tmp need not be a tmpfs. */
#include "guest.h"
#include <sys/vfs.h>

#define D "/tmp/husk-fs-statfs"

static void show(const char *label, const char *path)
{
	struct statfs s = {0};
	memset(&s, 0, sizeof s);
	if (syscall(SYS_statfs, path, &s) != 0) {
		printf("%s: errno=%s\n", label, errname(errno));
		return;
	}
	printf("%s: bsize>0=%s namelen=%ld frsize>0=%s\n", label, s.f_bsize > 0 ? "yes" : "no",
	       (long)s.f_namelen, s.f_frsize > 0 ? "yes" : "no");
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "x", -1, 0644);
	if (syscall(SYS_symlink, "f", D "/lf"))
		die("symlink");

	show("statfs /", "/");
	show("statfs /tmp", "/tmp");
	show("statfs file in /tmp", D "/f");
	show("statfs symlink (follows)", D "/lf");
	show("statfs /usr/bin", "/usr/bin");
	show("statfs missing", D "/missing");
	show("statfs f/x", D "/f/x");
	show("statfs empty path", "");

	struct statfs a = {0}, b = {0};
	CHECK("statfs bad buffer", syscall(SYS_statfs, "/", BAD_LOW));
	CHECK("statfs bad path", syscall(SYS_statfs, BAD_LOW, &a));

	syscall(SYS_statfs, "/proc", &a);
	EXPECT("/proc is proc (PROC_SUPER_MAGIC)", a.f_type == K_PROC_SUPER_MAGIC);
	syscall(SYS_statfs, "/proc/self/status", &a);
	EXPECT("/proc/self/status is proc", a.f_type == K_PROC_SUPER_MAGIC);
	syscall(SYS_statfs, "/sys", &a);
	EXPECT("/sys is sysfs (SYSFS_MAGIC)", a.f_type == K_SYSFS_MAGIC);

	/* fstatfs on the same file agrees with statfs. */
	long fd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	syscall(SYS_statfs, D "/f", &a);
	CHECK("fstatfs", syscall(SYS_fstatfs, fd, &b));
	EXPECT("fstatfs f_type == statfs f_type", a.f_type == b.f_type);
	EXPECT("fstatfs f_bsize == statfs f_bsize", a.f_bsize == b.f_bsize);
	EXPECT("fstatfs f_fsid == statfs f_fsid", !memcmp(&a.f_fsid, &b.f_fsid, sizeof a.f_fsid));
	syscall(SYS_statfs, "/tmp", &b);
	EXPECT("a file in /tmp is on /tmp's file system", a.f_type == b.f_type);
	syscall(SYS_close, fd);
	fd = syscall(SYS_open, D "/f", (long)O_PATH, 0L);
	CHECK("fstatfs(O_PATH fd)", syscall(SYS_fstatfs, fd, &b));
	syscall(SYS_close, fd);
	fd = syscall(SYS_open, "/proc/self/status", (long)O_RDONLY, 0L);
	syscall(SYS_fstatfs, fd, &b);
	EXPECT("fstatfs /proc/self/status is proc", b.f_type == K_PROC_SUPER_MAGIC);
	syscall(SYS_close, fd);
	CHECK("fstatfs(bad fd)", syscall(SYS_fstatfs, 999L, &b));
	CHECK("fstatfs(bad buffer)", syscall(SYS_fstatfs, 1L, BAD_LOW));

	cleanup_dir(D);
	return 0;
}
