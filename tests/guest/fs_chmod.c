/* fs_chmod.c - chmod, fchmod, fchmodat and fchmodat2: permission and
 * special bits, bits above 07777, symlinks (followed by chmod, refused
 * by fchmodat2 with AT_SYMLINK_NOFOLLOW), O_PATH descriptors, and the
 * error paths. */
#include "guest.h"

#define D "/tmp/husk-fs-chmod"
#define SYS_fchmodat2_ 452

static void mode(const char *label, const char *path)
{
	struct stat st = {0};
	if (syscall(SYS_lstat, path, &st))
		printf("%s: errno=%s\n", label, errname(errno));
	else
		printf("%s: %s %04o\n", label, mode_type(st.st_mode), (unsigned)(st.st_mode & 07777));
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "x", -1, 0644);
	if (syscall(SYS_mkdir, D "/d", 0755L) || syscall(SYS_symlink, "f", D "/lf") ||
	    syscall(SYS_symlink, "nowhere", D "/dangling") ||
	    syscall(SYS_mknod, D "/fifo", (long)(S_IFIFO | 0644), 0L))
		die("setup");

	static const long modes[] = {0, 0600, 0444, 04755, 02755, 01777, 07777, 0177777, 0100644};
	for (unsigned i = 0; i < sizeof modes / sizeof *modes; i++) {
		char label[64] = {0};
		snprintf(label, sizeof label, "chmod f %#lo", modes[i]);
		errno = 0;
		long r = syscall(SYS_chmod, D "/f", modes[i]);
		printf("%s: ret=%ld errno=%s, ", label, r, r ? errname(errno) : "-");
		mode("now", D "/f");
	}
	CHECK("chmod d 01777", syscall(SYS_chmod, D "/d", 01777L));
	mode("d", D "/d");
	CHECK("chmod fifo 0600", syscall(SYS_chmod, D "/fifo", 0600L));
	mode("fifo", D "/fifo");
	CHECK("chmod lf 0640 (follows)", syscall(SYS_chmod, D "/lf", 0640L));
	mode("lf", D "/lf");
	mode("f", D "/f");
	CHECK("chmod dangling", syscall(SYS_chmod, D "/dangling", 0640L));
	CHECK("chmod missing", syscall(SYS_chmod, D "/missing", 0640L));
	CHECK("chmod f/x", syscall(SYS_chmod, D "/f/x", 0640L));
	CHECK("chmod f/", syscall(SYS_chmod, D "/f/", 0640L));
	CHECK("chmod empty path", syscall(SYS_chmod, "", 0640L));
	CHECK("chmod bad pointer", syscall(SYS_chmod, BAD_LOW, 0640L));

	/* fchmod. */
	long fd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	CHECK("fchmod(O_RDONLY fd, 0604)", syscall(SYS_fchmod, fd, 0604L));
	mode("f", D "/f");
	syscall(SYS_close, fd);
	fd = syscall(SYS_open, D "/f", (long)O_PATH, 0L);
	CHECK("fchmod(O_PATH fd)", syscall(SYS_fchmod, fd, 0600L));
	CHECK("fchmodat2(O_PATH fd, \"\", AT_EMPTY_PATH)",
	      syscall(SYS_fchmodat2_, fd, "", 0600L, (long)AT_EMPTY_PATH));
	mode("f", D "/f");
	syscall(SYS_close, fd);
	CHECK("fchmod(bad fd)", syscall(SYS_fchmod, 999L, 0600L));
	fd = syscall(SYS_open, D "/d", (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("fchmod(dir fd, 0700)", syscall(SYS_fchmod, fd, 0700L));
	mode("d", D "/d");

	/* fchmodat (no flags argument) and fchmodat2. */
	CHECK("fchmodat(d's fd, \"f\") (no f in d)", syscall(SYS_fchmodat, fd, "f", 0640L));
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("fchmodat(dfd, \"f\", 0640)", syscall(SYS_fchmodat, dfd, "f", 0640L));
	mode("f", D "/f");
	CHECK("fchmodat(dfd, \"lf\", 0600) follows", syscall(SYS_fchmodat, dfd, "lf", 0600L));
	mode("f", D "/f");
	CHECK("fchmodat(999, \"f\")", syscall(SYS_fchmodat, 999L, "f", 0600L));
	CHECK("fchmodat2(dfd, \"f\", 0, 0)", syscall(SYS_fchmodat2_, dfd, "f", 0644L, 0L));
	CHECK("fchmodat2(dfd, \"f\", AT_SYMLINK_NOFOLLOW) on a file",
	      syscall(SYS_fchmodat2_, dfd, "f", 0644L, (long)AT_SYMLINK_NOFOLLOW));
	CHECK("fchmodat2(dfd, \"lf\", AT_SYMLINK_NOFOLLOW) on a symlink",
	      syscall(SYS_fchmodat2_, dfd, "lf", 0600L, (long)AT_SYMLINK_NOFOLLOW));
	mode("lf", D "/lf");
	mode("f", D "/f");
	CHECK("fchmodat2 flags 0x1", syscall(SYS_fchmodat2_, dfd, "f", 0644L, 1L));
	CHECK("fchmodat2(dfd, \"\", 0700, AT_EMPTY_PATH) the dir itself",
	      syscall(SYS_fchmodat2_, dfd, "", 0700L, (long)AT_EMPTY_PATH));
	mode("dir", D);
	syscall(SYS_close, fd);
	syscall(SYS_close, dfd);
	cleanup_dir(D);
	return 0;
}
