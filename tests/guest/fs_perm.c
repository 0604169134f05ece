/* fs_perm.c - permission checks for an unprivileged user: with the
 * uids and gids set to 65534 (the saved uid stays 0, so root comes back
 * for cleanup), EACCES from modes (read, write, search, list), EPERM
 * from ownership (chmod, chown, utimensat, O_NOATIME, sticky
 * directories, chroot, mknod of a device), set-ID bits cleared by a
 * write and by chmod, set-group-ID directories, and the owner of new
 * files. */
#include "guest.h"

#define D "/tmp/husk-fs-perm"
#define NB 65534L

#ifndef O_NOATIME
#define O_NOATIME 01000000
#endif

static void become(long uid, long gid)
{
	if (uid) {
		if (syscall(SYS_setresgid, gid, gid, gid) || syscall(SYS_setresuid, uid, uid, 0L))
			die("drop");
	} else {
		if (syscall(SYS_setresuid, 0L, 0L, 0L) || syscall(SYS_setresgid, 0L, 0L, 0L))
			die("regain root");
	}
}

static void owner(const char *label, const char *path)
{
	struct stat st = {0};
	if (syscall(SYS_lstat, path, &st))
		printf("%s: errno=%s\n", label, errname(errno));
	else
		printf("%s: %s uid=%ld gid=%ld mode=%04o\n", label, mode_type(st.st_mode), (long)st.st_uid,
		       (long)st.st_gid, (unsigned)(st.st_mode & 07777));
}

static long op(const char *path, long flags)
{
	long fd = syscall(SYS_open, path, flags, 0644L);
	if (fd >= 0) {
		syscall(SYS_close, fd);
		return 0;
	}
	return -1;
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 0L); /* modes exactly as written while setting up */
	if (syscall(SYS_setgroups, 0L, NULL))
		die("setgroups");
	become(0, 0);
	fresh_dir(D);
	put_file(D "/rootfile", "data", -1, 0644);
	put_file(D "/private", "secret", -1, 0600);
	put_file(D "/world", "anyone", -1, 0666);
	put_file(D "/suidw", "suid", -1, 0644);
	syscall(SYS_chmod, D "/suidw", 06777L);
	if (syscall(SYS_mkdir, D "/closed", 0700L) || syscall(SYS_mkdir, D "/nox", 0755L) ||
	    syscall(SYS_mkdir, D "/wonly", 0755L) || syscall(SYS_mkdir, D "/sticky", 0755L) ||
	    syscall(SYS_mkdir, D "/mine", 0755L) || syscall(SYS_mkdir, D "/group", 0770L) ||
	    syscall(SYS_mkdir, D "/sgid", 0755L))
		die("mkdir");
	put_file(D "/closed/inner", "inner", -1, 0644);
	put_file(D "/nox/file", "f", -1, 0644);
	put_file(D "/sticky/rootowned", "r", -1, 0666);
	put_file(D "/group/g", "g", -1, 0660);
	put_file(D "/mine/own", "own", -1, 0644);
	syscall(SYS_chmod, D "/nox", 0644L);
	syscall(SYS_chmod, D "/wonly", 0333L);
	syscall(SYS_chmod, D "/sticky", 01777L);
	syscall(SYS_chmod, D "/sgid", 02777L);
	if (syscall(SYS_chown, D "/mine", NB, NB) || syscall(SYS_chown, D "/mine/own", NB, NB) ||
	    syscall(SYS_chown, D "/group", 0L, NB) || syscall(SYS_chown, D "/group/g", 0L, NB) ||
	    syscall(SYS_chown, D "/sgid", 0L, 1234L))
		die("chown");
	syscall(SYS_chmod, D "/sgid", 02777L);

	syscall(SYS_umask, 022L);
	become(NB, NB);
	unsigned r, e, s;
	syscall(SYS_getresuid, &r, &e, &s);
	printf("uids %u/%u/%u\n", r, e, s);

	/* Modes: files. */
	CHECK("open rootfile O_RDONLY", op(D "/rootfile", O_RDONLY));
	CHECK("open rootfile O_WRONLY", op(D "/rootfile", O_WRONLY));
	CHECK("open rootfile O_RDWR", op(D "/rootfile", O_RDWR));
	CHECK("open rootfile O_RDONLY|O_TRUNC", op(D "/rootfile", O_RDONLY | O_TRUNC));
	CHECK("open private O_RDONLY", op(D "/private", O_RDONLY));
	CHECK("open world O_RDWR", op(D "/world", O_RDWR));
	CHECK("open group/g O_RDWR (group member)", op(D "/group/g", O_RDWR));
	CHECK("truncate rootfile", syscall(SYS_truncate, D "/rootfile", 0L));
	CHECK("open rootfile O_RDONLY|O_NOATIME (not the owner)", op(D "/rootfile", O_RDONLY | O_NOATIME));
	CHECK("open mine/own O_RDONLY|O_NOATIME (the owner)", op(D "/mine/own", O_RDONLY | O_NOATIME));

	/* Modes: directories. */
	struct stat st = {0};
	CHECK("stat closed/inner (no search)", syscall(SYS_stat, D "/closed/inner", &st));
	CHECK("open closed/inner", op(D "/closed/inner", O_RDONLY));
	CHECK("open closed O_DIRECTORY (no read)", op(D "/closed", O_RDONLY | O_DIRECTORY));
	CHECK("chdir closed", syscall(SYS_chdir, D "/closed"));
	CHECK("stat closed itself", syscall(SYS_stat, D "/closed", &st));
	long fd;
	CHECK_OK("open nox O_DIRECTORY (read, no search)", fd = syscall(SYS_open, D "/nox", (long)(O_RDONLY | O_DIRECTORY), 0L));
	static char buf[4096];
	long n = syscall(SYS_getdents64, fd, buf, (long)sizeof buf);
	int k = 0, hasfile = 0;
	for (long off = 0; off < n; k++) {
		struct k_dirent64 *d = (struct k_dirent64 *)(buf + off);
		hasfile |= !strcmp(d->d_name, "file");
		off += d->d_reclen;
	}
	printf("  getdents64: %d entries, \"file\" listed: %s\n", k, hasfile ? "yes" : "no");
	CHECK("  fstatat(nox, \"file\")", syscall(SYS_newfstatat, fd, "file", &st, 0L));
	syscall(SYS_close, fd);
	CHECK("chdir nox", syscall(SYS_chdir, D "/nox"));
	CHECK("open wonly O_DIRECTORY (search, no read)", op(D "/wonly", O_RDONLY | O_DIRECTORY));
	CHECK("create wonly/new", op(D "/wonly/new", O_RDWR | O_CREAT | O_EXCL));
	owner("wonly/new", D "/wonly/new");

	/* Creating and removing in a directory of root's. */
	CHECK("create in D", op(D "/new", O_RDWR | O_CREAT));
	CHECK("mkdir in D", syscall(SYS_mkdir, D "/newdir", 0755L));
	CHECK("symlink in D", syscall(SYS_symlink, "x", D "/newlink"));
	CHECK("mknod FIFO in D", syscall(SYS_mknod, D "/newfifo", (long)(S_IFIFO | 0644), 0L));
	CHECK("unlink D/rootfile", syscall(SYS_unlink, D "/rootfile"));
	CHECK("rename D/rootfile", syscall(SYS_rename, D "/rootfile", D "/mine/stolen"));
	CHECK("rmdir D/closed", syscall(SYS_rmdir, D "/closed"));
	CHECK("create in mine (own dir)", op(D "/mine/new", O_RDWR | O_CREAT | O_EXCL));
	owner("mine/new", D "/mine/new");
	CHECK("mkdir in mine", syscall(SYS_mkdir, D "/mine/sub", 0755L));
	owner("mine/sub", D "/mine/sub");
	CHECK("mknod char device in mine", syscall(SYS_mknod, D "/mine/null", (long)(S_IFCHR | 0666), (long)((1 << 8) | 3)));
	CHECK("mknod FIFO in mine", syscall(SYS_mknod, D "/mine/fifo", (long)(S_IFIFO | 0644), 0L));

	/* Sticky directory: only the owner of a file (or the dir) removes it. */
	CHECK("unlink sticky/rootowned", syscall(SYS_unlink, D "/sticky/rootowned"));
	CHECK("rename sticky/rootowned", syscall(SYS_rename, D "/sticky/rootowned", D "/sticky/x"));
	CHECK("open sticky/rootowned O_RDWR (mode 0666)", op(D "/sticky/rootowned", O_RDWR));
	CHECK("create sticky/mine", op(D "/sticky/mine", O_RDWR | O_CREAT | O_EXCL));
	CHECK("rename sticky/mine -> sticky/mine2", syscall(SYS_rename, D "/sticky/mine", D "/sticky/mine2"));
	CHECK("rename sticky/mine2 onto sticky/rootowned", syscall(SYS_rename, D "/sticky/mine2", D "/sticky/rootowned"));
	CHECK("unlink sticky/mine2", syscall(SYS_unlink, D "/sticky/mine2"));

	/* Ownership. */
	CHECK("chmod rootfile", syscall(SYS_chmod, D "/rootfile", 0666L));
	CHECK("chmod world (0666, not the owner)", syscall(SYS_chmod, D "/world", 0666L));
	CHECK("chown rootfile to self", syscall(SYS_chown, D "/rootfile", NB, NB));
	CHECK("chown own file to root", syscall(SYS_chown, D "/mine/own", 0L, -1L));
	CHECK("chown own file to own ids", syscall(SYS_chown, D "/mine/own", NB, NB));
	CHECK("chown own file to -1:-1", syscall(SYS_chown, D "/mine/own", -1L, -1L));
	CHECK("chgrp own file to group 0 (not a member)", syscall(SYS_chown, D "/mine/own", -1L, 0L));
	CHECK("chmod own file 0600", syscall(SYS_chmod, D "/mine/own", 0600L));
	struct timespec ts[2] = {{1000, 0}, {2000, 0}};
	CHECK("utimensat rootfile explicit", syscall(SYS_utimensat, (long)AT_FDCWD, D "/rootfile", ts, 0L));
	CHECK("utimensat rootfile NOW (not writable)", syscall(SYS_utimensat, (long)AT_FDCWD, D "/rootfile", NULL, 0L));
	CHECK("utimensat world NOW (writable)", syscall(SYS_utimensat, (long)AT_FDCWD, D "/world", NULL, 0L));
	CHECK("utimensat world explicit (writable, not owner)", syscall(SYS_utimensat, (long)AT_FDCWD, D "/world", ts, 0L));
	CHECK("utimensat own file explicit", syscall(SYS_utimensat, (long)AT_FDCWD, D "/mine/own", ts, 0L));
	CHECK("chroot", syscall(SYS_chroot, D "/mine"));
	/* Set-ID bits: a write by someone else clears them; chmod by a
	 * non-member of the file's group drops S_ISGID. */
	fd = syscall(SYS_open, D "/suidw", (long)O_WRONLY, 0L);
	CHECK("write to a 06777 root file", syscall(SYS_write, fd, "w", 1L));
	syscall(SYS_close, fd);
	owner("suidw after the write", D "/suidw");
	CHECK("create in sgid dir", op(D "/sgid/f", O_RDWR | O_CREAT | O_EXCL));
	owner("sgid/f (group of the directory)", D "/sgid/f");
	CHECK("mkdir in sgid dir", syscall(SYS_mkdir, D "/sgid/d", 0755L));
	owner("sgid/d (group and S_ISGID inherited)", D "/sgid/d");
	CHECK("chmod sgid/f 02755 (group 1234, not a member)", syscall(SYS_chmod, D "/sgid/f", 02755L));
	owner("sgid/f", D "/sgid/f");
	CHECK("chmod mine/own 02755 (own group)", syscall(SYS_chmod, D "/mine/own", 02755L));
	owner("mine/own", D "/mine/own");

	become(0, 0);
	syscall(SYS_getresuid, &r, &e, &s);
	printf("uids %u/%u/%u\n", r, e, s);
	owner("rootfile unchanged", D "/rootfile");
	cleanup_dir(D);
	return 0;
}
