/* fs_open.c - open, openat and creat: O_CREAT|O_EXCL, O_TRUNC, O_APPEND,
 * O_DIRECTORY, O_NOFOLLOW, O_PATH, O_CLOEXEC, odd access modes, and the
 * error paths (ENOENT, ENOTDIR, EISDIR, EEXIST, ELOOP, EBADF, EINVAL,
 * EFAULT). */
#include "guest.h"

#define D "/tmp/husk-fs-open"

static long op(const char *path, long flags, long mode)
{
	return syscall(SYS_open, path, flags, mode);
}

static void shut(long fd)
{
	if (fd >= 0)
		syscall(SYS_close, fd);
}

/* Opens and closes again, printing only ok or the errno. */
#define TRY(label, path, flags, mode) CHECK_OK(label, shut_r(op(path, (long)(flags), (long)(mode))))
static long shut_r(long fd)
{
	int e = errno;
	shut(fd);
	errno = e;
	return fd;
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "hello world", -1, 0644);
	if (syscall(SYS_mkdir, D "/d", 0755L) || syscall(SYS_symlink, "f", D "/lf") ||
	    syscall(SYS_symlink, "d", D "/ld") || syscall(SYS_symlink, "nowhere", D "/dangling"))
		die("setup");

	/* O_CREAT and O_EXCL. */
	TRY("O_CREAT|O_EXCL new", D "/new", O_RDWR | O_CREAT | O_EXCL, 0640);
	show_lstat("new", D "/new");
	TRY("O_CREAT|O_EXCL existing", D "/new", O_RDWR | O_CREAT | O_EXCL, 0640);
	TRY("O_CREAT|O_EXCL dangling symlink", D "/dangling", O_RDWR | O_CREAT | O_EXCL, 0600);
	TRY("O_CREAT|O_EXCL symlink to file", D "/lf", O_RDWR | O_CREAT | O_EXCL, 0600);
	TRY("O_EXCL without O_CREAT, existing", D "/f", O_RDONLY | O_EXCL, 0);
	TRY("O_CREAT existing keeps data", D "/f", O_RDWR | O_CREAT, 0600);
	show_lstat("f", D "/f");
	TRY("O_CREAT|O_NOFOLLOW dangling symlink", D "/dangling", O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
	show_lstat("nowhere before", D "/nowhere");
	TRY("O_CREAT through dangling symlink", D "/dangling", O_RDWR | O_CREAT, 0604);
	show_lstat("nowhere after", D "/nowhere");
	TRY("O_CREAT mode 04755", D "/suid", O_RDWR | O_CREAT | O_EXCL, 04755);
	show_lstat("suid", D "/suid");
	TRY("O_CREAT mode with high bits 0170777", D "/hi", O_RDWR | O_CREAT | O_EXCL, 0170777);
	show_lstat("hi", D "/hi");

	/* O_TRUNC. */
	put_file(D "/t", "0123456789", -1, 0644);
	TRY("O_WRONLY|O_TRUNC", D "/t", O_WRONLY | O_TRUNC, 0);
	show_lstat("t after O_WRONLY|O_TRUNC", D "/t");
	put_file(D "/t", "0123456789", -1, 0644);
	TRY("O_RDONLY|O_TRUNC", D "/t", O_RDONLY | O_TRUNC, 0);
	show_lstat("t after O_RDONLY|O_TRUNC", D "/t");
	TRY("O_TRUNC on directory", D "/d", O_RDONLY | O_TRUNC, 0);

	/* O_APPEND: every write goes to the end, whatever the offset. */
	long fd = op(D "/f", O_WRONLY | O_APPEND, 0);
	CHECK("lseek(append fd, 0, SEEK_SET)", syscall(SYS_lseek, fd, 0L, (long)SEEK_SET));
	CHECK("write(append fd, \"!\")", syscall(SYS_write, fd, "!", 1L));
	CHECK("lseek(append fd, 0, SEEK_CUR)", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	shut(fd);
	char buf[64] = {0};
	get_file(D "/f", buf, sizeof buf);
	printf("f: [%s]\n", buf);

	/* O_DIRECTORY. */
	TRY("O_DIRECTORY on dir", D "/d", O_RDONLY | O_DIRECTORY, 0);
	TRY("O_DIRECTORY on file", D "/f", O_RDONLY | O_DIRECTORY, 0);
	TRY("O_DIRECTORY on symlink to dir", D "/ld", O_RDONLY | O_DIRECTORY, 0);
	TRY("O_DIRECTORY|O_NOFOLLOW on symlink to dir", D "/ld", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	TRY("O_DIRECTORY missing", D "/missing", O_RDONLY | O_DIRECTORY, 0);
	TRY("O_DIRECTORY|O_CREAT new", D "/dc", O_RDONLY | O_DIRECTORY | O_CREAT, 0755);
	show_lstat("dc", D "/dc");

	/* Directories cannot be opened for writing. */
	TRY("dir O_RDONLY", D "/d", O_RDONLY, 0);
	TRY("dir O_WRONLY", D "/d", O_WRONLY, 0);
	TRY("dir O_RDWR", D "/d", O_RDWR, 0);
	TRY("dir O_CREAT", D "/d", O_RDONLY | O_CREAT, 0644);
	TRY("dir O_CREAT|O_EXCL", D "/d", O_RDONLY | O_CREAT | O_EXCL, 0644);
	TRY("O_CREAT new name with trailing slash", D "/newdir/", O_RDWR | O_CREAT, 0644);
	show_lstat("newdir", D "/newdir");

	/* O_NOFOLLOW. */
	TRY("O_NOFOLLOW on symlink", D "/lf", O_RDONLY | O_NOFOLLOW, 0);
	TRY("O_NOFOLLOW on file", D "/f", O_RDONLY | O_NOFOLLOW, 0);
	TRY("O_NOFOLLOW on dangling symlink", D "/dangling", O_RDONLY | O_NOFOLLOW, 0);
	TRY("O_NOFOLLOW, symlink not last", D "/ld/../f", O_RDONLY | O_NOFOLLOW, 0);

	/* O_PATH: a handle for the name, no I/O. */
	CHECK_OK("O_PATH file", fd = op(D "/f", O_PATH, 0));
	CHECK("read(O_PATH fd)", syscall(SYS_read, fd, buf, 4L));
	CHECK("write(O_PATH fd)", syscall(SYS_write, fd, "x", 1L));
	CHECK("fchmod(O_PATH fd)", syscall(SYS_fchmod, fd, 0600L));
	CHECK("fsync(O_PATH fd)", syscall(SYS_fsync, fd));
	CHECK("lseek(O_PATH fd)", syscall(SYS_lseek, fd, 0L, (long)SEEK_SET));
	struct stat st = {0};
	CHECK("fstat(O_PATH fd)", syscall(SYS_fstat, fd, &st));
	printf("O_PATH fstat: %s size=%ld\n", mode_type(st.st_mode), (long)st.st_size);
	long fl = syscall(SYS_fcntl, fd, (long)F_GETFL);
	printf("F_GETFL(O_PATH) has O_PATH: %s\n", (fl & O_PATH) ? "yes" : "no");
	shut(fd);
	CHECK_OK("O_PATH|O_NOFOLLOW symlink", fd = op(D "/lf", O_PATH | O_NOFOLLOW, 0));
	syscall(SYS_fstat, fd, &st);
	printf("O_PATH|O_NOFOLLOW fstat: %s size=%ld\n", mode_type(st.st_mode), (long)st.st_size);
	shut(fd);
	CHECK_OK("O_PATH dir", fd = op(D "/d", O_PATH | O_DIRECTORY, 0));
	CHECK_OK("openat(O_PATH dirfd, \"../f\") real",
		 shut_r(syscall(SYS_openat, fd, "../f", (long)O_RDONLY, 0L)));
	CHECK("getdents64(O_PATH dirfd)", syscall(SYS_getdents64, fd, buf, (long)sizeof buf));
	shut(fd);
	TRY("O_PATH ignores O_CREAT on missing", D "/p-missing", O_PATH | O_CREAT, 0644);
	show_lstat("p-missing", D "/p-missing");

	/* O_CLOEXEC. */
	fd = op(D "/f", O_RDONLY | O_CLOEXEC, 0);
	CHECK("F_GETFD with O_CLOEXEC", syscall(SYS_fcntl, fd, (long)F_GETFD));
	shut(fd);
	fd = op(D "/f", O_RDONLY, 0);
	CHECK("F_GETFD without O_CLOEXEC", syscall(SYS_fcntl, fd, (long)F_GETFD));
	shut(fd);

	/* Access mode 3 (O_WRONLY|O_RDWR): needs both permissions, allows
	 * neither read nor write. */
	CHECK_OK("open access mode 3", fd = op(D "/f", 3, 0));
	CHECK("read(mode 3 fd)", syscall(SYS_read, fd, buf, 1L));
	CHECK("write(mode 3 fd)", syscall(SYS_write, fd, "x", 1L));
	shut(fd);
	TRY("unknown flag bit 0x40000000 ignored", D "/f", O_RDONLY | 0x40000000, 0);

	/* Lookup errors. */
	TRY("missing file", D "/missing", O_RDONLY, 0);
	TRY("missing parent with O_CREAT", D "/nodir/x", O_RDWR | O_CREAT, 0644);
	TRY("file as directory", D "/f/x", O_RDONLY, 0);
	TRY("file as directory with O_CREAT", D "/f/x", O_RDWR | O_CREAT, 0644);
	TRY("empty path", "", O_RDONLY, 0);
	CHECK("open(bad pointer)", syscall(SYS_open, BAD_LOW, (long)O_RDONLY, 0L));
	CHECK("open(non-canonical pointer)", syscall(SYS_open, BAD_NONCANON, (long)O_RDONLY, 0L));

	/* openat. */
	long dfd = op(D, O_RDONLY | O_DIRECTORY, 0);
	long ffd = op(D "/f", O_RDONLY, 0);
	CHECK_OK("openat(dirfd, \"f\")", shut_r(syscall(SYS_openat, dfd, "f", (long)O_RDONLY, 0L)));
	CHECK_OK("openat(dirfd, \"d/../f\")", shut_r(syscall(SYS_openat, dfd, "d/../f", (long)O_RDONLY, 0L)));
	CHECK("openat(1000, \"f\")", syscall(SYS_openat, 1000L, "f", (long)O_RDONLY, 0L));
	CHECK("openat(-5, \"f\")", syscall(SYS_openat, -5L, "f", (long)O_RDONLY, 0L));
	CHECK_OK("openat(1000, absolute)", shut_r(syscall(SYS_openat, 1000L, D "/f", (long)O_RDONLY, 0L)));
	CHECK("openat(file fd, \"x\")", syscall(SYS_openat, ffd, "x", (long)O_RDONLY, 0L));
	CHECK("openat(file fd, \"\")", syscall(SYS_openat, ffd, "", (long)O_RDONLY, 0L));
	CHECK_OK("openat(AT_FDCWD, relative to /)",
		 shut_r(syscall(SYS_openat, (long)AT_FDCWD, "tmp/husk-fs-open/f", (long)O_RDONLY, 0L)));
	shut(ffd);
	shut(dfd);

	/* creat = O_WRONLY|O_CREAT|O_TRUNC. */
	CHECK_OK("creat new", fd = syscall(SYS_creat, D "/c", 0600L));
	CHECK("read(creat fd)", syscall(SYS_read, fd, buf, 1L));
	CHECK("write(creat fd)", syscall(SYS_write, fd, "abc", 3L));
	shut(fd);
	show_lstat("c", D "/c");
	CHECK_OK("creat existing", shut_r(syscall(SYS_creat, D "/c", 0644L)));
	show_lstat("c after second creat", D "/c");
	CHECK("creat on dir", syscall(SYS_creat, D "/d", 0644L));
	CHECK("creat bad pointer", syscall(SYS_creat, BAD_LOW, 0644L));

	/* close. */
	fd = op(D "/f", O_RDONLY, 0);
	CHECK("close", syscall(SYS_close, fd));
	CHECK("close again", syscall(SYS_close, fd));
	CHECK("close(-1)", syscall(SYS_close, -1L));
	CHECK("close(1<<20)", syscall(SYS_close, 1L << 20));

	cleanup_dir(D);
	return 0;
}
