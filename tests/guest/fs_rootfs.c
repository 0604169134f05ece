/* fs_rootfs.c - reading the host's root file system (read-only under
 * husk, with a writable layer on top): stable files only -- the first
 * line of /etc/passwd, the os-release contents, what /bin and /bin/sh
 * are, /usr/bin/env being an executable file, directory listings that
 * contain known names, and a private mapping of a host file.  Nothing is
 * written. */
#include "guest.h"

static char buf[65536];

static void kind(const char *path)
{
	struct stat st = {0};
	if (syscall(SYS_lstat, path, &st)) {
		printf("%s: errno=%s\n", path, errname(errno));
		return;
	}
	printf("%s: %s", path, mode_type(st.st_mode));
	if (S_ISLNK(st.st_mode)) {
		char t[256] = {0};
		long n = syscall(SYS_readlink, path, t, 255L);
		t[n < 0 ? 0 : n] = 0;
		printf(" -> %s", t);
	}
	printf("\n");
}

static int lists(const char *dir, const char *name)
{
	long fd = syscall(SYS_open, dir, (long)(O_RDONLY | O_DIRECTORY), 0L);
	int found = 0;
	long n;
	while (fd >= 0 && !found && (n = syscall(SYS_getdents64, fd, buf, (long)sizeof buf)) > 0)
		for (long off = 0; off < n;) {
			struct k_dirent64 *d = (struct k_dirent64 *)(buf + off);
			found |= !strcmp(d->d_name, name);
			off += d->d_reclen;
		}
	syscall(SYS_close, fd);
	return found;
}

int main(void)
{
	GUEST_INIT();
	long n = get_file("/etc/passwd", buf, sizeof buf);
	char *nl = n > 0 ? strchr(buf, '\n') : NULL;
	if (nl)
		*nl = 0;
	printf("/etc/passwd first line: %s\n", n > 0 ? buf : errname(errno));
	struct stat st = {0};
	syscall(SYS_stat, "/etc/passwd", &st);
	printf("/etc/passwd: %s mode=%04o uid=%ld\n", mode_type(st.st_mode), (unsigned)(st.st_mode & 07777),
	       (long)st.st_uid);

	const char *osr = syscall(SYS_access, "/etc/os-release", (long)F_OK) == 0 ? "/etc/os-release"
										   : "/usr/lib/os-release";
	n = get_file(osr, buf, sizeof buf);
	printf("%s: %ld bytes, fnv1a %08x\n", osr, n, n > 0 ? fnv1a(buf, n) : 0);
	char *id = strstr(buf, "\nID=");
	if (id) {
		nl = strchr(id + 1, '\n');
		if (nl)
			*nl = 0;
		printf("  %s\n", id + 1);
	}

	kind("/bin");
	kind("/bin/sh");
	kind("/usr/bin");
	kind("/etc/os-release");
	kind("/usr/bin/env");
	CHECK("access /usr/bin/env X_OK", syscall(SYS_access, "/usr/bin/env", (long)X_OK));
	CHECK("access /usr/bin/env W_OK (root)", syscall(SYS_access, "/usr/bin/env", (long)W_OK));
	CHECK("stat /usr/bin/husk-definitely-missing", syscall(SYS_stat, "/usr/bin/husk-definitely-missing", &st));
	CHECK("stat /etc/passwd/x", syscall(SYS_stat, "/etc/passwd/x", &st));

	/* The real path of /bin/sh through its descriptor. */
	long fd = syscall(SYS_open, "/bin/sh", (long)O_RDONLY, 0L);
	char p[64] = {0}, t[256] = {0};
	snprintf(p, sizeof p, "/proc/self/fd/%ld", fd);
	n = syscall(SYS_readlink, p, t, 255L);
	t[n < 0 ? 0 : n] = 0;
	printf("/bin/sh opened is %s\n", t);
	n = syscall(SYS_read, fd, t, 4L);
	EXPECT("  an ELF file", n == 4 && !memcmp(t, "\177ELF", 4));
	syscall(SYS_close, fd);

	EXPECT("/etc lists passwd", lists("/etc", "passwd"));
	EXPECT("/etc lists os-release", lists("/etc", "os-release"));
	EXPECT("/usr/bin lists env", lists("/usr/bin", "env"));
	EXPECT("/ lists tmp", lists("/", "tmp"));
	EXPECT("/ lists proc", lists("/", "proc"));

	/* A private mapping of a host file matches read(). */
	fd = syscall(SYS_open, "/etc/passwd", (long)O_RDONLY, 0L);
	syscall(SYS_fstat, fd, &st);
	unsigned char *m = raw_mmap(NULL, (unsigned long)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	n = syscall(SYS_pread64, fd, buf, (long)sizeof buf, 0L);
	EXPECT("mmap of /etc/passwd equals read", m != MAP_FAILED && n == st.st_size && !memcmp(m, buf, n));
	if (m != MAP_FAILED)
		m[0] = 'X'; /* private: the file is untouched */
	syscall(SYS_pread64, fd, buf, 1L, 0L);
	EXPECT("private write did not reach the file", buf[0] != 'X');
	EXPECT("lseek SEEK_END equals st_size", syscall(SYS_lseek, fd, 0L, (long)SEEK_END) == st.st_size);
	syscall(SYS_close, fd);
	return 0;
}
