/* fs_many_names.c - thousands of names in one directory and across
 * several: each created, found again by stat and open, renamed, looked up
 * under its old name (ENOENT) and its new one, and removed; then the
 * directories are empty.  Under husk this grows the sentry's dentry cache
 * far past its first buckets while names come and go. */
#include "guest.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#define D "/tmp/husk-fs-many-names"
#define DIRS 4
#define PER 1500

static void path_of(char *out, size_t n, int d, int i, const char *tag)
{
	snprintf(out, n, D "/d%d/%s-%05d", d, tag, i);
}

static int count_entries(const char *dir)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

int main(void)
{
	char p[128], q[128];
	mkdir(D, 0755);
	for (int d = 0; d < DIRS; d++) {
		snprintf(p, sizeof p, D "/d%d", d);
		mkdir(p, 0755);
	}
	int made = 0, found = 0, opened = 0, gone = 0, renamed = 0, removed = 0;
	for (int d = 0; d < DIRS; d++)
		for (int i = 0; i < PER; i++) {
			path_of(p, sizeof p, d, i, "a");
			int fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
			if (fd >= 0) {
				made += write(fd, &i, sizeof i) == sizeof i;
				close(fd);
			}
		}
	for (int d = 0; d < DIRS; d++)
		for (int i = PER - 1; i >= 0; i--) {
			struct stat st;
			path_of(p, sizeof p, d, i, "a");
			found += stat(p, &st) == 0 && st.st_size == sizeof i;
			int fd = open(p, O_RDONLY), v = -1;
			if (fd >= 0) {
				opened += read(fd, &v, sizeof v) == sizeof v && v == i;
				close(fd);
			}
			path_of(q, sizeof q, d, i, "b");
			renamed += rename(p, q) == 0;
			gone += stat(p, &st) != 0 && errno == ENOENT;
		}
	printf("made %d found %d opened %d renamed %d gone %d\n", made, found, opened, renamed,
	       gone);
	for (int d = 0; d < DIRS; d++) {
		snprintf(p, sizeof p, D "/d%d", d);
		printf("d%d: %d entries\n", d, count_entries(p));
	}
	for (int d = 0; d < DIRS; d++)
		for (int i = 0; i < PER; i++) {
			path_of(q, sizeof q, d, i, "b");
			removed += unlink(q) == 0;
		}
	printf("removed %d\n", removed);
	for (int d = 0; d < DIRS; d++) {
		snprintf(p, sizeof p, D "/d%d", d);
		int left = count_entries(p);
		printf("d%d: %d entries, rmdir %s\n", d, left, rmdir(p) == 0 ? "ok" : errname(errno));
	}
	printf("rmdir %s\n", rmdir(D) == 0 ? "ok" : errname(errno));
	return 0;
}
