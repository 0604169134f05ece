/* fs_chown.c - chown, fchown, lchown and fchownat as root: the resulting
 * uid and gid, -1 meaning "unchanged", symlinks (followed or not),
 * AT_EMPTY_PATH, the clearing of set-user-ID and set-group-ID bits, and
 * the error paths. */
#include "guest.h"

#define D "/tmp/husk-fs-chown"

static void owner(const char *label, const char *path)
{
	struct stat st = {0};
	if (syscall(SYS_lstat, path, &st))
		printf("%s: errno=%s\n", label, errname(errno));
	else
		printf("%s: %s uid=%ld gid=%ld mode=%04o\n", label, mode_type(st.st_mode), (long)st.st_uid,
		       (long)st.st_gid, (unsigned)(st.st_mode & 07777));
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "x", -1, 0644);
	if (syscall(SYS_mkdir, D "/d", 0755L) || syscall(SYS_symlink, "f", D "/lf") ||
	    syscall(SYS_symlink, "nowhere", D "/dangling"))
		die("setup");

	owner("f initially", D "/f");
	CHECK("chown f 1234:5678", syscall(SYS_chown, D "/f", 1234L, 5678L));
	owner("f", D "/f");
	CHECK("chown f -1:42", syscall(SYS_chown, D "/f", -1L, 42L));
	owner("f", D "/f");
	CHECK("chown f 7:-1", syscall(SYS_chown, D "/f", 7L, -1L));
	owner("f", D "/f");
	CHECK("chown f -1:-1", syscall(SYS_chown, D "/f", -1L, -1L));
	owner("f", D "/f");
	CHECK("chown f 4294967294:4294967294", syscall(SYS_chown, D "/f", 4294967294L, 4294967294L));
	owner("f", D "/f");
	CHECK("chown f 0x100000000 (truncated to 0)", syscall(SYS_chown, D "/f", 0x100000000L, 0x100000000L));
	owner("f", D "/f");

	/* Symlinks. */
	CHECK("chown lf 11:12 (follows)", syscall(SYS_chown, D "/lf", 11L, 12L));
	owner("lf", D "/lf");
	owner("f", D "/f");
	CHECK("lchown lf 21:22", syscall(SYS_lchown, D "/lf", 21L, 22L));
	owner("lf", D "/lf");
	owner("f", D "/f");
	CHECK("chown dangling", syscall(SYS_chown, D "/dangling", 1L, 1L));
	CHECK("lchown dangling", syscall(SYS_lchown, D "/dangling", 31L, 32L));
	owner("dangling", D "/dangling");

	/* fchown and fchownat. */
	long fd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	CHECK("fchown(fd, 41, 42)", syscall(SYS_fchown, fd, 41L, 42L));
	owner("f", D "/f");
	syscall(SYS_close, fd);
	fd = syscall(SYS_open, D "/f", (long)O_PATH, 0L);
	CHECK("fchown(O_PATH fd)", syscall(SYS_fchown, fd, 1L, 1L));
	CHECK("fchownat(O_PATH fd, \"\", AT_EMPTY_PATH)", syscall(SYS_fchownat, fd, "", 51L, 52L, (long)AT_EMPTY_PATH));
	owner("f", D "/f");
	CHECK("fchownat(O_PATH fd, \"\", 0)", syscall(SYS_fchownat, fd, "", 51L, 52L, 0L));
	syscall(SYS_close, fd);
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("fchownat(dfd, \"lf\", 0) follows", syscall(SYS_fchownat, dfd, "lf", 61L, 62L, 0L));
	owner("f", D "/f");
	CHECK("fchownat(dfd, \"lf\", AT_SYMLINK_NOFOLLOW)", syscall(SYS_fchownat, dfd, "lf", 71L, 72L, (long)AT_SYMLINK_NOFOLLOW));
	owner("lf", D "/lf");
	CHECK("fchownat(dfd, \"d\", 0)", syscall(SYS_fchownat, dfd, "d", 81L, 82L, 0L));
	owner("d", D "/d");
	CHECK("fchownat flags 0x1", syscall(SYS_fchownat, dfd, "f", 1L, 1L, 1L));
	CHECK("fchownat AT_SYMLINK_FOLLOW (invalid)", syscall(SYS_fchownat, dfd, "f", 1L, 1L, (long)AT_SYMLINK_FOLLOW));
	CHECK("fchownat(999, \"f\")", syscall(SYS_fchownat, 999L, "f", 1L, 1L, 0L));
	CHECK("fchown(999)", syscall(SYS_fchown, 999L, 1L, 1L));
	syscall(SYS_close, dfd);

	/* Set-ID bits are cleared by a change of owner, even by root:
	 * S_ISUID always, S_ISGID only together with group execute. */
	static const long modes[] = {04755, 02755, 06755, 02644, 06644, 01755};
	for (unsigned i = 0; i < sizeof modes / sizeof *modes; i++) {
		char label[64] = {0};
		syscall(SYS_chmod, D "/f", modes[i]);
		snprintf(label, sizeof label, "mode %04lo after chown 1:1", modes[i]);
		syscall(SYS_chown, D "/f", 1L, 1L);
		owner(label, D "/f");
		snprintf(label, sizeof label, "mode %04lo after chown -1:-1", modes[i]);
		syscall(SYS_chmod, D "/f", modes[i]);
		syscall(SYS_chown, D "/f", -1L, -1L);
		owner(label, D "/f");
	}
	syscall(SYS_chmod, D "/d", 06755L);
	syscall(SYS_chown, D "/d", 2L, 2L);
	owner("dir 06755 after chown 2:2", D "/d");

	/* Errors. */
	CHECK("chown missing", syscall(SYS_chown, D "/missing", 1L, 1L));
	CHECK("chown f/x", syscall(SYS_chown, D "/f/x", 1L, 1L));
	CHECK("chown empty path", syscall(SYS_chown, "", 1L, 1L));
	CHECK("chown bad pointer", syscall(SYS_chown, BAD_LOW, 1L, 1L));
	CHECK("lchown bad pointer", syscall(SYS_lchown, BAD_LOW, 1L, 1L));

	cleanup_dir(D);
	return 0;
}
