/* A server whose state lives in files a checkpoint must carry: the
 * sandbox's /tmp (a directory, a hard link, a symlink, a sparse file of
 * several chunks), its root overlay (a new file, a host file deleted and
 * one replaced), /dev/shm mapped shared, and descriptors kept open on
 * them (a log appended to, a reader part way in, a directory).
 * Each answer appends a line to the log and bumps a counter in the
 * shared mapping, then reports what it finds; a restored copy goes on
 * from the snapshot, independently of any other copy. */
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define BIG (3 << 20)

static int put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static void slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 8080;
	if (mkdir("/tmp/dir", 0750) || put("/tmp/dir/a.txt", "alpha\n") ||
	    link("/tmp/dir/a.txt", "/tmp/dir/b.txt") || symlink("dir/a.txt", "/tmp/link") ||
	    put("/etc/husk-ckpt.conf", "conf kept\n") || put("/etc/hostname", "replaced\n"))
		return 1;
	unlink("/etc/issue.net"); /* a host file, gone from the overlay */
	int big = open("/tmp/big", O_RDWR | O_CREAT, 0600);
	if (big < 0 || pwrite(big, "head", 4, 0) != 4 || pwrite(big, "tail", 4, BIG - 4) != 4)
		return 2;
	close(big);
	int log = open("/tmp/dir/log", O_WRONLY | O_CREAT | O_APPEND, 0600);
	int rd = open("/tmp/dir/log", O_RDONLY);
	int dir = open("/tmp/dir", O_RDONLY | O_DIRECTORY);
	if (log < 0 || rd < 0 || dir < 0 || write(log, "line\n", 5) != 5)
		return 3;
	/* Appending to the log leaves the directory's times as they are. */
	struct stat dst;
	if (stat("/tmp/dir", &dst))
		return 9;
	int shm = open("/dev/shm/counter", O_RDWR | O_CREAT, 0600);
	if (shm < 0 || ftruncate(shm, 4096))
		return 4;
	unsigned *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0);
	if (counter == MAP_FAILED)
		return 5;
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 16))
		return 6;
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		char req[2048];
		if (read(c, req, sizeof(req)) < 0)
			req[0] = 0;
		if (write(log, "line\n", 5) != 5)
			return 7;
		++*counter;
		/* The reader goes on from where it was: one line a request. */
		char got[6] = {0};
		ssize_t k = read(rd, got, 5);
		unsigned seen = 0;
		if (pread(shm, &seen, sizeof(seen), 0) != sizeof(seen))
			seen = 0;
		struct stat st;
		char link[32], conf[32], host[32], bigs[8] = {0};
		slurp("/tmp/link", link, sizeof(link));
		slurp("/etc/husk-ckpt.conf", conf, sizeof(conf));
		slurp("/etc/hostname", host, sizeof(host));
		int fd = open("/tmp/big", O_RDONLY);
		int bigok = fd >= 0 && fstat(fd, &st) == 0 && st.st_size == BIG &&
			    pread(fd, bigs, 4, BIG - 4) == 4 && !strcmp(bigs, "tail");
		if (fd >= 0)
			close(fd);
		struct stat la, lb;
		int links = !stat("/tmp/dir/a.txt", &la) && !stat("/tmp/dir/b.txt", &lb) &&
			    la.st_ino == lb.st_ino && la.st_nlink == 2;
		/* The directory descriptor lists from the start again. */
		lseek(dir, 0, SEEK_SET);
		DIR *d = fdopendir(dup(dir));
		int entries = 0;
		for (struct dirent *e; d && (e = readdir(d));)
			entries++;
		if (d)
			closedir(d);
		struct stat ds;
		if (stat("/tmp/dir", &ds))
			memset(&ds, 0, sizeof(ds));
		char body[512], resp[700];
		int bl = snprintf(body, sizeof(body),
				  "read %s counter %u/%u link %s links %d conf %s hostname %s "
				  "issue.net %s big %d entries %d mode %o times %s\n",
				  k == 5 ? "line" : "none", *counter, seen, link, links, conf, host,
				  access("/etc/issue.net", F_OK) ? "gone" : "there", bigok, entries,
				  ds.st_mode & 07777,
				  ds.st_mtim.tv_sec == dst.st_mtim.tv_sec &&
						  ds.st_mtim.tv_nsec == dst.st_mtim.tv_nsec
					  ? "kept"
					  : "changed");
		int rl = snprintf(resp, sizeof(resp),
				  "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", bl, body);
		if (write(c, resp, (size_t)rl) < 0)
			return 8;
		close(c);
	}
}
