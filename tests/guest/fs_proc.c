/* fs_proc.c - the parts of /proc and /sys that programs rely on:
 * /proc/self/fd/N links (a /tmp file, a directory, " (deleted)"),
 * reopening through them, /proc/self/{exe,cwd,root,cmdline,status,stat},
 * the /proc/self symlink, /proc/cpuinfo, /proc/meminfo,
 * /proc/sys/kernel/ostype and /sys/devices/system/cpu/online.  Only
 * presence and relations are printed, never host values. */
#include "guest.h"

#define D "/tmp/husk-fs-proc"

static char big[65536];

static void link_of(const char *label, const char *path)
{
	char buf[512] = {0};
	long n = syscall(SYS_readlink, path, buf, (long)sizeof buf - 1);
	buf[n < 0 ? 0 : n] = 0;
	printf("%s: %s\n", label, n < 0 ? errname(errno) : buf);
}

static void fdlink(const char *label, long fd)
{
	char p[64] = {0};
	snprintf(p, sizeof p, "/proc/self/fd/%ld", fd);
	link_of(label, p);
}

/* Reads a whole /proc file (its size is 0, so read until EOF). */
static long slurp(const char *path)
{
	long fd = syscall(SYS_open, path, (long)O_RDONLY, 0L);
	if (fd < 0)
		return -1;
	long got = 0, n;
	while (got < (long)sizeof big - 1 && (n = syscall(SYS_read, fd, big + got, (long)sizeof big - 1 - got)) > 0)
		got += n;
	big[got] = 0;
	syscall(SYS_close, fd);
	return got;
}

int main(int argc, char **argv)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/f", "0123456789", -1, 0644);
	if (syscall(SYS_mkdir, D "/d", 0755L))
		die("mkdir");

	/* /proc/self/fd. */
	long fd = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	long dfd = syscall(SYS_open, D "/d", (long)(O_RDONLY | O_DIRECTORY), 0L);
	long pfd = syscall(SYS_open, D "/f", (long)O_PATH, 0L);
	fdlink("fd of /tmp file", fd);
	fdlink("fd of a directory", dfd);
	fdlink("O_PATH fd", pfd);
	char p[64] = {0};
	snprintf(p, sizeof p, "/proc/self/fd/%ld", fd);
	struct stat st = {0}, st2 = {0};
	CHECK("lstat /proc/self/fd/N", syscall(SYS_lstat, p, &st));
	printf("  type: %s\n", mode_type(st.st_mode));
	syscall(SYS_stat, p, &st);
	syscall(SYS_stat, D "/f", &st2);
	EXPECT("stat through it is the file", st.st_ino == st2.st_ino && st.st_dev == st2.st_dev);
	/* Reopening gives a new description with its own offset. */
	char b[8] = {0};
	syscall(SYS_read, fd, b, 4L);
	long re;
	CHECK_OK("open /proc/self/fd/N O_RDWR (of an O_RDONLY fd)", re = syscall(SYS_open, p, (long)O_RDWR, 0L));
	syscall(SYS_read, re, b, 4L);
	printf("  reopened fd reads from 0: [%.4s]\n", b);
	syscall(SYS_close, re);
	snprintf(p, sizeof p, "/proc/self/fd/%ld", pfd);
	CHECK_OK("open /proc/self/fd/N of an O_PATH fd", re = syscall(SYS_open, p, (long)O_RDONLY, 0L));
	syscall(SYS_close, re);
	CHECK("readlink /proc/self/fd/999", syscall(SYS_readlink, "/proc/self/fd/999", b, 8L));
	syscall(SYS_unlink, D "/f");
	fdlink("after unlink", fd);
	syscall(SYS_rmdir, D "/d");
	fdlink("directory after rmdir", dfd);
	/* The fd directory lists open descriptors. */
	long lfd = syscall(SYS_open, "/proc/self/fd", (long)(O_RDONLY | O_DIRECTORY), 0L);
	long n = syscall(SYS_getdents64, lfd, big, (long)sizeof big);
	int has0 = 0, hasfd = 0, has999 = 0;
	char want[16] = {0};
	snprintf(want, sizeof want, "%ld", fd);
	for (long off = 0; off < n;) {
		struct k_dirent64 *d = (struct k_dirent64 *)(big + off);
		has0 |= !strcmp(d->d_name, "0");
		hasfd |= !strcmp(d->d_name, want);
		has999 |= !strcmp(d->d_name, "999");
		off += d->d_reclen;
	}
	printf("/proc/self/fd lists 0: %s, our fd: %s, 999: %s\n", has0 ? "yes" : "no", hasfd ? "yes" : "no",
	       has999 ? "yes" : "no");
	syscall(SYS_close, lfd);
	syscall(SYS_close, fd);
	syscall(SYS_close, dfd);
	syscall(SYS_close, pfd);

	/* /proc/self and friends. */
	char buf[64] = {0};
	CHECK("lstat /proc/self", syscall(SYS_lstat, "/proc/self", &st));
	printf("  type: %s\n", mode_type(st.st_mode));
	n = syscall(SYS_readlink, "/proc/self", buf, (long)sizeof buf - 1);
	buf[n < 0 ? 0 : n] = 0;
	EXPECT("readlink /proc/self is our pid", n > 0 && atol(buf) == syscall(SYS_getpid));
	CHECK_OK("readlink /proc/self/exe", syscall(SYS_readlink, "/proc/self/exe", big, 4096L));
	CHECK_OK("open /proc/self/exe", fd = syscall(SYS_open, "/proc/self/exe", (long)O_RDONLY, 0L));
	n = syscall(SYS_read, fd, buf, 4L);
	EXPECT("  it starts with ELF magic", n == 4 && !memcmp(buf, "\177ELF", 4));
	syscall(SYS_close, fd);
	link_of("readlink /proc/self/cwd", "/proc/self/cwd");
	link_of("readlink /proc/self/root", "/proc/self/root");
	syscall(SYS_chdir, "/tmp");
	link_of("readlink /proc/self/cwd after chdir /tmp", "/proc/self/cwd");
	syscall(SYS_chdir, "/");

	n = slurp("/proc/self/cmdline");
	long want_len = 0;
	int match = 1;
	for (int i = 0; i < argc; i++) {
		long l = (long)strlen(argv[i]) + 1;
		match &= want_len + l <= n && !memcmp(big + want_len, argv[i], l);
		want_len += l;
	}
	EXPECT("/proc/self/cmdline is argv, NUL-separated", match && n == want_len);
	n = slurp("/proc/self/status");
	EXPECT("/proc/self/status has Name:", n > 0 && !strncmp(big, "Name:", 5));
	char *pid = strstr(big, "\nPid:");
	EXPECT("/proc/self/status has Pid: with our pid", pid && atol(pid + 5) == syscall(SYS_getpid));
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	char comm[16] = {0};
	snprintf(comm, sizeof comm, "%.15s", base);
	char *nl = strchr(big, '\n');
	if (nl)
		*nl = 0;
	char *val = big + 5;
	while (*val == ' ' || *val == '\t')
		val++;
	EXPECT("Name: is the first 15 bytes of the program's name", !strcmp(val, comm));
	n = slurp("/proc/self/stat");
	EXPECT("/proc/self/stat starts with our pid", n > 0 && atol(big) == syscall(SYS_getpid));
	char *paren = strchr(big, '(');
	EXPECT("  then (comm)", paren && !strncmp(paren + 1, comm, strlen(comm)) && paren[1 + strlen(comm)] == ')');

	/* System-wide files. */
	n = slurp("/proc/cpuinfo");
	EXPECT("/proc/cpuinfo has \"processor\"", n > 0 && strstr(big, "processor") != NULL);
	n = slurp("/proc/meminfo");
	EXPECT("/proc/meminfo starts with MemTotal:", n > 0 && !strncmp(big, "MemTotal:", 9));
	n = slurp("/proc/sys/kernel/ostype");
	printf("/proc/sys/kernel/ostype: %ld [%s]\n", n, n > 0 && big[n - 1] == '\n' ? (big[n - 1] = 0, big) : big);
	CHECK("access /sys/devices/system/cpu/online", syscall(SYS_access, "/sys/devices/system/cpu/online", (long)R_OK));
	n = slurp("/sys/devices/system/cpu/online");
	int cpulist = n > 1 && big[n - 1] == '\n' && big[0] >= '0' && big[0] <= '9';
	for (long i = 0; i < n - 1; i++)
		cpulist &= (big[i] >= '0' && big[i] <= '9') || big[i] == '-' || big[i] == ',';
	EXPECT("  it is a cpu list", cpulist);
	CHECK("stat /proc/self/fd/ (a directory)", syscall(SYS_stat, "/proc/self/fd/", &st));
	CHECK("open /proc/missing", syscall(SYS_open, "/proc/missing", (long)O_RDONLY, 0L));
	CHECK("mkdir /proc/husk-x", syscall(SYS_mkdir, "/proc/husk-x", 0755L));

	cleanup_dir(D);
	return 0;
}
