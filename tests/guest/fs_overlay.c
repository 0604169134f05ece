/* fs_overlay.c - writing into the root file system (under husk, into the
 * in-memory layer over the read-only host root; natively, into the
 * host's /var/tmp, so everything is removed at the end): a fresh
 * directory in an existing host directory, files created, written,
 * renamed, linked, truncated, chmod-ed and removed, a listing that shows
 * exactly the new names, and an existing host file opened for writing
 * without writing to it. */
#include "guest.h"

#define D "/var/tmp/husk-fs-overlay-test"

static char buf[8192];

static int cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void list(const char *label, const char *dir)
{
	static char names[64][64];
	int k = 0;
	long fd = syscall(SYS_open, dir, (long)(O_RDONLY | O_DIRECTORY), 0L);
	long n;
	while (fd >= 0 && (n = syscall(SYS_getdents64, fd, buf, (long)sizeof buf)) > 0)
		for (long off = 0; off < n && k < 64;) {
			struct k_dirent64 *d = (struct k_dirent64 *)(buf + off);
			snprintf(names[k++], sizeof names[0], "%s", d->d_name);
			off += d->d_reclen;
		}
	syscall(SYS_close, fd);
	qsort(names, k, sizeof names[0], cmp);
	printf("%s:", label);
	for (int i = 0; i < k; i++)
		printf(" %s", names[i]);
	printf("\n");
}

static void cat(const char *label, const char *path)
{
	char b[64] = {0};
	long n = get_file(path, b, sizeof b);
	printf("%s: %s\n", label, n < 0 ? errname(errno) : b);
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	struct stat st = {0};
	CHECK("stat /var/tmp (a host directory)", syscall(SYS_stat, "/var/tmp", &st));
	printf("  %s mode=%04o\n", mode_type(st.st_mode), (unsigned)(st.st_mode & 07777));
	if (rm_tree(D) != 0)
		die("remove an old tree");
	CHECK("mkdir " D, syscall(SYS_mkdir, D, 0755L));
	CHECK("mkdir again", syscall(SYS_mkdir, D, 0755L));
	CHECK("mkdir sub", syscall(SYS_mkdir, D "/sub", 0700L));
	long fd;
	CHECK_OK("create file", fd = syscall(SYS_open, D "/file", (long)(O_RDWR | O_CREAT | O_EXCL), 0640L));
	static unsigned char data[10000];
	fill_pattern(data, sizeof data, 1);
	CHECK("write 10000", syscall(SYS_write, fd, data, (long)sizeof data));
	CHECK("pread back", syscall(SYS_pread64, fd, buf, 8192L, 1000L));
	EXPECT("  same bytes", !memcmp(buf, data + 1000, 8192));
	unsigned char *m;
	CHECK_OK("mmap MAP_SHARED", (long)(m = raw_mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)));
	if (m != MAP_FAILED) {
		m[1] = 'M';
		syscall(SYS_pread64, fd, buf, 2L, 0L);
		EXPECT("  store seen by pread", buf[1] == 'M');
		syscall(SYS_munmap, m, 3 * PAGE);
	}
	syscall(SYS_close, fd);
	show_lstat("file", D "/file");
	put_file(D "/sub/inner", "inner", -1, 0644);
	CHECK("link file -> hard", syscall(SYS_link, D "/file", D "/hard"));
	CHECK("symlink sub/inner -> soft", syscall(SYS_symlink, "sub/inner", D "/soft"));
	cat("soft", D "/soft");
	CHECK("rename file -> renamed", syscall(SYS_rename, D "/file", D "/renamed"));
	show_lstat("renamed", D "/renamed");
	CHECK("truncate renamed 5", syscall(SYS_truncate, D "/renamed", 5L));
	CHECK("chmod renamed 0600", syscall(SYS_chmod, D "/renamed", 0600L));
	CHECK("chown renamed 1:2", syscall(SYS_chown, D "/renamed", 1L, 2L));
	syscall(SYS_stat, D "/hard", &st);
	printf("hard: size=%ld mode=%04o uid=%ld gid=%ld nlink=%ld\n", (long)st.st_size,
	       (unsigned)(st.st_mode & 07777), (long)st.st_uid, (long)st.st_gid, (long)st.st_nlink);
	CHECK("mknod fifo", syscall(SYS_mknod, D "/fifo", (long)(S_IFIFO | 0644), 0L));
	list("listing", D);
	show_lstat("sub", D "/sub");
	CHECK("rmdir sub (not empty)", syscall(SYS_rmdir, D "/sub"));
	CHECK("rename sub -> moved", syscall(SYS_rename, D "/sub", D "/moved"));
	cat("soft (dangling now)", D "/soft");
	CHECK("renameat2 NOREPLACE hard -> renamed",
	      syscall(SYS_renameat2, (long)AT_FDCWD, D "/hard", (long)AT_FDCWD, D "/renamed", (long)RENAME_NOREPLACE));
	CHECK("renameat2 EXCHANGE soft <-> fifo",
	      syscall(SYS_renameat2, (long)AT_FDCWD, D "/soft", (long)AT_FDCWD, D "/fifo", (long)RENAME_EXCHANGE));
	show_lstat("soft (now the fifo)", D "/soft");
	CHECK("unlink renamed", syscall(SYS_unlink, D "/renamed"));
	show_lstat("hard after unlinking the other name", D "/hard");
	list("listing", D);

	/* A host file opened for writing, never written: nothing changes. */
	syscall(SYS_stat, "/etc/passwd", &st);
	long size = (long)st.st_size;
	CHECK_OK("open /etc/passwd O_RDWR", fd = syscall(SYS_open, "/etc/passwd", (long)O_RDWR, 0L));
	long n = syscall(SYS_read, fd, buf, 5L);
	printf("  reads [%.*s]\n", (int)(n < 0 ? 0 : n), buf);
	syscall(SYS_close, fd);
	syscall(SYS_stat, "/etc/passwd", &st);
	EXPECT("  size unchanged", (long)st.st_size == size);

	CHECK("remove the tree", rm_tree(D));
	CHECK("stat after removal", syscall(SYS_stat, D, &st));
	return 0;
}
