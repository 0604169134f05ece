/* fs_getdents.c - getdents64 (and the old getdents) on a directory of
 * known entries: names and d_type (sorted, since the order depends on the
 * file system), small buffers, resuming at a saved d_off, rewinding,
 * entries removed between passes, and the error paths. */
#include "guest.h"
#include <dirent.h>

#define D "/tmp/husk-fs-getdents"
#define MAXN 64

static char names[MAXN][272];
static int nnames;
static int64_t offs[MAXN];

static int cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static const char *dtype(int t)
{
	switch (t) {
	case DT_REG: return "reg";
	case DT_DIR: return "dir";
	case DT_LNK: return "lnk";
	case DT_FIFO: return "fifo";
	case DT_UNKNOWN: return "unknown";
	default: return "other";
	}
}

/* Reads the rest of the directory with buffers of bufsz bytes into
 * names[] ("name:type"); returns the number of calls that returned
 * entries, or -1 with errno. */
static int slurp(long fd, long bufsz, int *badreclen)
{
	static char buf[65536];
	int calls = 0;
	nnames = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, bufsz);
		if (n < 0)
			return -1;
		if (n == 0)
			return calls;
		calls++;
		for (long off = 0; off < n;) {
			struct k_dirent64 *d = (struct k_dirent64 *)(buf + off);
			if (d->d_reclen % 8 || d->d_reclen == 0)
				*badreclen = 1;
			if (nnames < MAXN) {
				snprintf(names[nnames], sizeof names[0], "%s:%s", d->d_name, dtype(d->d_type));
				offs[nnames] = d->d_off;
				nnames++;
			}
			off += d->d_reclen;
			if (d->d_reclen == 0)
				break;
		}
	}
}

static void print_sorted(const char *label)
{
	static char copy[MAXN][272];
	memcpy(copy, names, sizeof copy);
	qsort(copy, nnames, sizeof copy[0], cmp);
	printf("%s (%d):", label, nnames);
	for (int i = 0; i < nnames; i++)
		printf(" %s", copy[i]);
	printf("\n");
}

static uint32_t sorted_sum(int from)
{
	static char copy[MAXN][272];
	int n = nnames - from;
	memcpy(copy, names + from, n * sizeof copy[0]);
	qsort(copy, n, sizeof copy[0], cmp);
	uint32_t h = 0;
	for (int i = 0; i < n; i++)
		h = h * 31 + fnv1a(copy[i], strlen(copy[i]));
	return h;
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	char p[128] = {0};
	for (int i = 0; i < 24; i++) {
		snprintf(p, sizeof p, D "/file%02d", i);
		put_file(p, "", 0, 0644);
	}
	if (syscall(SYS_mkdir, D "/dir0", 0755L) || syscall(SYS_mkdir, D "/dir1", 0755L) ||
	    syscall(SYS_symlink, "file00", D "/link") ||
	    syscall(SYS_mknod, D "/pipe", (long)(S_IFIFO | 0644), 0L))
		die("setup");
	long fd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	int bad = 0;
	int calls = slurp(fd, 65536, &bad);
	printf("one big buffer: %d call(s)\n", calls);
	print_sorted("entries");
	EXPECT("every d_reclen a multiple of 8", !bad);
	CHECK("getdents64 at the end", syscall(SYS_getdents64, fd, p, (long)sizeof p));

	/* Rewind, then read with a buffer that holds one or two entries. */
	CHECK("lseek(dir, 0, SEEK_SET)", syscall(SYS_lseek, fd, 0L, (long)SEEK_SET));
	calls = slurp(fd, 64, &bad);
	printf("64-byte buffer: %d entries, more than 10 calls: %s\n", nnames, calls > 10 ? "yes" : "no");
	print_sorted("entries");
	syscall(SYS_lseek, fd, 0L, (long)SEEK_SET);
	static char tiny[300];
	CHECK("buffer too small for any entry (10 bytes)", syscall(SYS_getdents64, fd, tiny, 10L));
	CHECK("buffer 0 bytes", syscall(SYS_getdents64, fd, tiny, 0L));

	/* A 255-byte name needs a 280-byte record: a 279-byte buffer cannot
	 * get past it (how many entries come first depends on the order). */
	char longname[256] = {0}, lp[300] = {0};
	memset(longname, 'n', 255);
	longname[255] = 0;
	if (syscall(SYS_mkdir, D "/long", 0755L))
		die("mkdir long");
	snprintf(lp, sizeof lp, D "/long/%s", longname);
	put_file(lp, "", 0, 0644);
	long lfd = syscall(SYS_open, D "/long", (long)(O_RDONLY | O_DIRECTORY), 0L);
	for (long sz = 279; sz <= 280; sz++) {
		syscall(SYS_lseek, lfd, 0L, (long)SEEK_SET);
		int k = 0;
		long n;
		while ((n = syscall(SYS_getdents64, lfd, tiny, sz)) > 0)
			for (long off = 0; off < n; k++)
				off += ((struct k_dirent64 *)(tiny + off))->d_reclen;
		if (n == 0)
			printf("%ld-byte buffer: %d entries, then the end\n", sz, k);
		else
			printf("%ld-byte buffer: stops with %s\n", sz, errname(errno));
	}
	syscall(SYS_close, lfd);
	syscall(SYS_unlink, lp);
	syscall(SYS_rmdir, D "/long");

	/* Resume from a saved d_off: the same entries follow. */
	syscall(SYS_lseek, fd, 0L, (long)SEEK_SET);
	slurp(fd, 65536, &bad);
	int total = nnames;
	int64_t saved = offs[9];
	uint32_t tail = sorted_sum(10);
	EXPECT("lseek to the 10th entry's d_off", syscall(SYS_lseek, fd, (long)saved, (long)SEEK_SET) == saved);
	slurp(fd, 65536, &bad);
	printf("after resuming: %d entries (of %d), same as the first pass: %s\n", nnames, total,
	       sorted_sum(0) == tail ? "yes" : "no");

	/* Entries removed or added are seen after a rewind. */
	syscall(SYS_unlink, D "/file05");
	syscall(SYS_unlink, D "/file06");
	syscall(SYS_rmdir, D "/dir1");
	put_file(D "/zz-new", "", 0, 0644);
	syscall(SYS_lseek, fd, 0L, (long)SEEK_SET);
	slurp(fd, 4096, &bad);
	print_sorted("after changes");

	/* d_ino matches stat. */
	struct stat st = {0};
	syscall(SYS_stat, D "/file00", &st);
	syscall(SYS_lseek, fd, 0L, (long)SEEK_SET);
	static char buf[8192];
	long n = syscall(SYS_getdents64, fd, buf, (long)sizeof buf);
	int match = 0;
	for (long off = 0; off < n;) {
		struct k_dirent64 *d = (struct k_dirent64 *)(buf + off);
		if (!strcmp(d->d_name, "file00"))
			match = d->d_ino == st.st_ino;
		off += d->d_reclen;
	}
	EXPECT("d_ino of file00 == st_ino", match);

	/* The old getdents: the same names. */
	syscall(SYS_lseek, fd, 0L, (long)SEEK_SET);
	n = syscall(SYS_getdents, fd, buf, (long)sizeof buf);
	int count = 0;
	for (long off = 0; off < n; count++) {
		unsigned short reclen = *(unsigned short *)(buf + off + 16);
		off += reclen;
		if (!reclen)
			break;
	}
	printf("old getdents: %d entries\n", count);

	/* Errors. */
	long ffd = syscall(SYS_open, D "/file00", (long)O_RDONLY, 0L);
	CHECK("getdents64 on a file", syscall(SYS_getdents64, ffd, buf, (long)sizeof buf));
	syscall(SYS_close, ffd);
	CHECK("getdents64 bad fd", syscall(SYS_getdents64, 999L, buf, (long)sizeof buf));
	syscall(SYS_lseek, fd, 0L, (long)SEEK_SET);
	CHECK("getdents64 bad buffer", syscall(SYS_getdents64, fd, BAD_LOW, (long)sizeof buf));
	syscall(SYS_lseek, fd, 0L, (long)SEEK_SET);
	unsigned char *ro = map_pages(1, PROT_READ);
	CHECK("getdents64 read-only buffer", syscall(SYS_getdents64, fd, ro, 4096L));
	long pfd = syscall(SYS_open, D, (long)(O_PATH | O_DIRECTORY), 0L);
	CHECK("getdents64 on O_PATH", syscall(SYS_getdents64, pfd, buf, (long)sizeof buf));
	syscall(SYS_close, pfd);

	/* A directory removed while open reads as empty. */
	syscall(SYS_mkdir, D "/gone", 0755L);
	long gfd = syscall(SYS_open, D "/gone", (long)(O_RDONLY | O_DIRECTORY), 0L);
	syscall(SYS_rmdir, D "/gone");
	CHECK("getdents64 on a removed directory", syscall(SYS_getdents64, gfd, buf, (long)sizeof buf));
	syscall(SYS_close, gfd);

	syscall(SYS_close, fd);
	cleanup_dir(D);
	return 0;
}
