/* fs_umask.c - umask: the old value returned, only 0777 kept, and its
 * effect on open(O_CREAT), creat, mkdir, mknod, O_TMPFILE and openat2;
 * symlinks are always 0777, and chmod/fchmod ignore it. */
#include "guest.h"

#define D "/tmp/husk-fs-umask"

static void make_all(const char *tag)
{
	char p[128] = {0};
	snprintf(p, sizeof p, D "/%s-open", tag);
	long fd = syscall(SYS_open, p, (long)(O_RDWR | O_CREAT | O_EXCL), 0777L);
	syscall(SYS_close, fd);
	show_lstat(p + sizeof D, p);
	snprintf(p, sizeof p, D "/%s-creat", tag);
	fd = syscall(SYS_creat, p, 0666L);
	syscall(SYS_close, fd);
	show_lstat(p + sizeof D, p);
	snprintf(p, sizeof p, D "/%s-mkdir", tag);
	syscall(SYS_mkdir, p, 0777L);
	show_lstat(p + sizeof D, p);
	snprintf(p, sizeof p, D "/%s-fifo", tag);
	syscall(SYS_mknod, p, (long)(S_IFIFO | 0666), 0L);
	show_lstat(p + sizeof D, p);
	snprintf(p, sizeof p, D "/%s-symlink", tag);
	syscall(SYS_symlink, "target", p);
	show_lstat(p + sizeof D, p);
	snprintf(p, sizeof p, D "/%s-openat2", tag);
	struct k_open_how how = {O_RDWR | O_CREAT | O_EXCL, 0777, 0};
	fd = syscall(SYS_openat2, (long)AT_FDCWD, p, &how, (long)sizeof how);
	syscall(SYS_close, fd);
	show_lstat(p + sizeof D, p);
	fd = syscall(SYS_open, D, (long)(O_RDWR | O_TMPFILE), 0777L);
	struct stat st = {0};
	if (fd < 0 || syscall(SYS_fstat, fd, &st))
		printf("%s-tmpfile: errno=%s\n", tag, errname(errno));
	else
		printf("%s-tmpfile: %s mode=%04o\n", tag, mode_type(st.st_mode), (unsigned)(st.st_mode & 07777));
	syscall(SYS_close, fd);
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	CHECK("umask(0)", syscall(SYS_umask, 0L));
	CHECK("umask(0777)", syscall(SYS_umask, 0777L));
	CHECK("umask(0177777) keeps 0777 only", syscall(SYS_umask, 0177777L));
	CHECK("umask(-1)", syscall(SYS_umask, -1L));
	CHECK("umask(022)", syscall(SYS_umask, 022L));
	CHECK("umask(022) again", syscall(SYS_umask, 022L));

	fresh_dir(D);
	syscall(SYS_umask, 0L);
	make_all("u000");
	syscall(SYS_umask, 022L);
	make_all("u022");
	syscall(SYS_umask, 0277L);
	make_all("u277");
	syscall(SYS_umask, 0777L);
	make_all("u777");

	/* chmod ignores the umask. */
	CHECK("chmod u777-open 0666", syscall(SYS_chmod, D "/u777-open", 0666L));
	show_lstat("u777-open", D "/u777-open");
	long fd = syscall(SYS_open, D "/u777-open", (long)O_RDONLY, 0L);
	CHECK("fchmod 0755", syscall(SYS_fchmod, fd, 0755L));
	syscall(SYS_close, fd);
	show_lstat("u777-open", D "/u777-open");
	CHECK("umask(022) returns 0777", syscall(SYS_umask, 022L));
	cleanup_dir(D);
	return 0;
}
