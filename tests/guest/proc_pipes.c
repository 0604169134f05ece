/* proc_pipes.c - pipes between processes: 1 MiB each way with a checksum
 * sent back on a second pipe; several writer processes whose PIPE_BUF
 * records must arrive whole; EOF only once every writer is gone; a
 * writer blocked on a full pipe when the reader leaves (the partial
 * count, then EPIPE); poll() across processes (POLLIN, POLLHUP, POLLOUT,
 * POLLERR); O_NONBLOCK reads; a FIFO whose open blocks until the other
 * side opens it in another process; F_SETPIPE_SZ/F_GETPIPE_SZ on a pipe
 * shared by processes. */
#include "guest.h"

#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#define MIB (1024 * 1024)

static void mkpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe2");
}

static void closep(int p[2])
{
	close(p[0]);
	close(p[1]);
}

/* Reads exactly n bytes unless EOF comes first; returns the count. */
static size_t read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static size_t write_full(int fd, const void *buf, size_t n)
{
	size_t put = 0;
	while (put < n) {
		ssize_t r = write(fd, (const char *)buf + put, n - put);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		put += (size_t)r;
	}
	return put;
}

static int child_exit(pid_t c)
{
	int st = 0;
	if (waitpid(c, &st, 0) != c)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

static void wait_byte(int fd)
{
	char c;
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static const char *events(short ev)
{
	static char buf[64];
	buf[0] = 0;
	if (ev & POLLIN)
		strcat(buf, "IN ");
	if (ev & POLLOUT)
		strcat(buf, "OUT ");
	if (ev & POLLHUP)
		strcat(buf, "HUP ");
	if (ev & POLLERR)
		strcat(buf, "ERR ");
	if (ev & POLLNVAL)
		strcat(buf, "NVAL ");
	if (ev & ~(POLLIN | POLLOUT | POLLHUP | POLLERR | POLLNVAL | POLLRDNORM | POLLWRNORM))
		strcat(buf, "other ");
	if (!buf[0])
		return "none";
	buf[strlen(buf) - 1] = 0;
	return buf;
}

static void show_poll(const char *label, int fd, short want, int timeout)
{
	struct pollfd p = {fd, want, 0};
	int r = poll(&p, 1, timeout);
	printf("%s: poll %d, revents %s\n", label, r, r < 0 ? errname(errno) : events(p.revents));
}

/* ---- bulk transfer -------------------------------------------------- */

static void bulk(void)
{
	unsigned char *buf = map_pages(MIB / PAGE, PROT_READ | PROT_WRITE);
	fill_pattern(buf, MIB, 1);
	uint32_t want = fnv1a(buf, MIB);

	int down[2], up[2];
	mkpipe(down);
	mkpipe(up);
	pid_t c = fork();
	if (c == 0) {
		close(down[1]);
		close(up[0]);
		/* Odd read sizes; checksum as the bytes come. */
		static unsigned char in[MIB];
		size_t got = 0;
		static const size_t sizes[] = {1, 7, 4096, 65536, 100000, 3};
		for (int i = 0;; i++) {
			size_t want_n = sizes[i % 6];
			unsigned char extra, *to = in + got;
			if (want_n > MIB - got)
				want_n = MIB - got;
			if (want_n == 0) { /* look for the EOF */
				want_n = 1;
				to = &extra;
			}
			ssize_t r = read(down[0], to, want_n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		uint32_t h = fnv1a(in, got < MIB ? got : MIB);
		uint64_t msg[2] = {got, h};
		write_full(up[1], msg, sizeof msg);
		_exit(0);
	}
	close(down[0]);
	close(up[1]);
	/* Writes of odd sizes too, some larger than the pipe. */
	static const size_t wsizes[] = {5, 4096, 70000, 1, 300000, 12345};
	size_t put = 0;
	for (int i = 0; put < MIB; i++) {
		size_t n = wsizes[i % 6];
		if (n > MIB - put)
			n = MIB - put;
		ssize_t r = write(down[1], buf + put, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		put += (size_t)r;
	}
	close(down[1]);
	uint64_t msg[2] = {0, 0};
	size_t n = read_full(up[0], msg, sizeof msg);
	printf("1 MiB down: wrote %zu, child read %llu, checksum %08x, child's matches %s\n", put,
	       (unsigned long long)msg[0], want, n == sizeof msg && msg[1] == want ? "yes" : "no");
	printf("  child exit %d\n", child_exit(c));
	close(up[0]);

	/* And 1 MiB up, the child writing in one call. */
	mkpipe(up);
	c = fork();
	if (c == 0) {
		close(up[0]);
		fill_pattern(buf, MIB, 2);
		ssize_t r = write(up[1], buf, MIB);
		_exit(r == MIB ? 0 : 1);
	}
	close(up[1]);
	memset(buf, 0, MIB);
	size_t got = read_full(up[0], buf, MIB);
	unsigned char extra;
	ssize_t e = read(up[0], &extra, 1);
	uint32_t h = fnv1a(buf, got);
	unsigned char *ref = map_pages(MIB / PAGE, PROT_READ | PROT_WRITE);
	fill_pattern(ref, MIB, 2);
	printf("1 MiB up in one write: read %zu, checksum %08x, matches %s, then read %zd\n", got, h,
	       h == fnv1a(ref, MIB) ? "yes" : "no", e);
	printf("  child exit %d\n", child_exit(c));
	close(up[0]);
	munmap(ref, MIB);
	munmap(buf, MIB);
}

/* ---- atomic records from several writers ---------------------------- */

#define WRITERS 4
#define RECORDS 64

static void make_record(unsigned char *r, int writer, int seq)
{
	fill_pattern(r, PIPE_BUF, (unsigned)(writer * 1000 + seq));
	r[0] = (unsigned char)writer;
	r[1] = (unsigned char)seq;
}

static void records(void)
{
	int p[2];
	mkpipe(p);
	pid_t w[WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		w[i] = fork();
		if (w[i] == 0) {
			close(p[0]);
			static unsigned char r[PIPE_BUF];
			for (int s = 0; s < RECORDS; s++) {
				make_record(r, i, s);
				if (write(p[1], r, PIPE_BUF) != PIPE_BUF)
					_exit(1);
				if (s % 8 == 0)
					sched_yield();
			}
			_exit(0);
		}
	}
	close(p[1]);
	static unsigned char r[PIPE_BUF], ref[PIPE_BUF];
	int next[WRITERS] = {0}, total = 0, intact = 0, in_order = 1;
	for (;;) {
		size_t n = read_full(p[0], r, PIPE_BUF);
		if (n == 0)
			break;
		total++;
		if (n != PIPE_BUF || r[0] >= WRITERS)
			continue;
		make_record(ref, r[0], r[1]);
		if (memcmp(r, ref, PIPE_BUF) == 0)
			intact++;
		if (r[1] != next[r[0]])
			in_order = 0;
		next[r[0]] = r[1] + 1;
	}
	int ok = 0;
	for (int i = 0; i < WRITERS; i++)
		if (child_exit(w[i]) == 0)
			ok++;
	printf("%d writers x %d records of PIPE_BUF (%d): read %d, intact %d, each writer in order "
	       "%s, EOF after all writers, writers ok %d\n",
	       WRITERS, RECORDS, PIPE_BUF, total, intact, in_order ? "yes" : "no", ok);
	close(p[0]);
}

/* ---- EOF and writers that are still around -------------------------- */

static void eof(void)
{
	int p[2], go[2];
	mkpipe(p);
	mkpipe(go);
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		close(go[1]);
		write(p[1], "w", 1);
		wait_byte(go[0]); /* holds the write end until told */
		_exit(0);
	}
	close(p[1]);
	close(go[0]);
	char ch;
	CHECK("read the child's byte", read(p[0], &ch, 1));
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) != 0)
		die("F_SETFL");
	CHECK("O_NONBLOCK read, writer alive", read(p[0], &ch, 1));
	show_poll("  poll while the writer lives", p[0], POLLIN, 0);
	write(go[1], "g", 1);
	printf("  child exit %d\n", child_exit(c));
	show_poll("  poll after the writer exited", p[0], POLLIN, 0);
	CHECK("O_NONBLOCK read, no writer", read(p[0], &ch, 1));
	closep(go);
	close(p[0]);

	/* The writer blocked on a full pipe when the reader goes away. */
	int res[2];
	mkpipe(p);
	mkpipe(res);
	c = fork();
	if (c == 0) {
		static unsigned char big[MIB];
		close(p[0]);
		close(res[0]);
		signal(SIGPIPE, SIG_IGN);
		errno = 0;
		long r1 = (long)write(p[1], big, MIB);
		int e1 = errno;
		errno = 0;
		long r2 = (long)write(p[1], big, 10);
		int e2 = errno;
		dprintf(res[1], "writer: blocked write returned %ld (%s), next write %ld %s\n", r1,
			r1 < 0 ? errname(e1) : "-", r2, r2 < 0 ? errname(e2) : "-");
		_exit(0);
	}
	close(p[1]);
	close(res[1]);
	/* Wait until the pipe is full: the writer is then blocked in write. */
	int avail = 0;
	for (int i = 0; i < 100000; i++) {
		if (ioctl(p[0], FIONREAD, &avail) != 0 || avail >= 65536)
			break;
		sched_yield();
	}
	printf("pipe full with the writer blocked: %d bytes\n", avail);
	close(p[0]);
	char line[200];
	size_t n = read_full(res[0], line, sizeof line - 1);
	line[n] = 0;
	printf("%s", line);
	printf("  child exit %d\n", child_exit(c));
	close(res[0]);
}

/* ---- poll across processes ------------------------------------------ */

static void polling(void)
{
	int p[2], go[2];
	mkpipe(p);
	mkpipe(go);
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		close(go[1]);
		wait_byte(go[0]);
		write(p[1], "data", 4);
		wait_byte(go[0]);
		_exit(0);
	}
	close(p[1]);
	close(go[0]);
	show_poll("read end, nothing written yet", p[0], POLLIN, 0);
	write(go[1], "1", 1);
	show_poll("read end, child wrote (blocking poll)", p[0], POLLIN, -1);
	char buf[8];
	CHECK("  read", read(p[0], buf, sizeof buf));
	show_poll("read end, drained", p[0], POLLIN, 0);
	write(go[1], "2", 1);
	show_poll("read end, child exiting (blocking poll)", p[0], POLLIN, -1);
	CHECK("  read", read(p[0], buf, sizeof buf));
	printf("  child exit %d\n", child_exit(c));
	close(p[0]);
	close(go[1]);

	/* The write end: full, then room once a child reads, then ERR. */
	int cnt[2];
	mkpipe(p);
	mkpipe(go);
	mkpipe(cnt);
	c = fork();
	if (c == 0) {
		close(p[1]);
		close(go[1]);
		close(cnt[1]);
		long want = 0;
		read_full(cnt[0], &want, sizeof want);
		static char sink[65536];
		long got = 0;
		while (got < want) {
			ssize_t r = read(p[0], sink, sizeof sink);
			if (r <= 0)
				break;
			got += r;
		}
		wait_byte(go[0]);
		_exit(got == want ? 0 : 1);
	}
	close(p[0]);
	close(go[0]);
	close(cnt[0]);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	static char fill[4096];
	long total = 0;
	for (;;) {
		ssize_t r = write(p[1], fill, sizeof fill);
		if (r < 0)
			break;
		total += r;
	}
	printf("filled the pipe: %ld bytes, then %s\n", total, errname(errno));
	show_poll("write end, full", p[1], POLLOUT, 0);
	write(cnt[1], &total, sizeof total);
	show_poll("write end, child reading (blocking poll)", p[1], POLLOUT, -1);
	write(go[1], "g", 1);
	printf("  child exit %d\n", child_exit(c));
	show_poll("write end, reader gone", p[1], POLLOUT, 0);
	CHECK("  write", write(p[1], "x", 1));
	close(p[1]);
	close(go[1]);
	close(cnt[1]);
}

/* ---- FIFOs ---------------------------------------------------------- */

static void fifos(void)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/husk-proc_pipes.%ld", (long)getpid());
	unlink(path);
	CHECK("mkfifo", mkfifo(path, 0600));
	show_lstat("  lstat", path);
	CHECK("open O_WRONLY|O_NONBLOCK without a reader", open(path, O_WRONLY | O_NONBLOCK));
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	printf("open O_RDONLY|O_NONBLOCK without a writer: %s\n", fd >= 0 ? "ok" : errname(errno));
	char ch;
	CHECK("  read, no writer ever", read(fd, &ch, 1));
	close(fd);

	/* A reader in a child blocks in open until we open for writing. */
	int rep[2];
	mkpipe(rep);
	pid_t c = fork();
	if (c == 0) {
		close(rep[0]);
		write(rep[1], "s", 1); /* about to open */
		int r = open(path, O_RDONLY);
		write(rep[1], "o", 1); /* opened */
		char buf[32] = {0};
		size_t n = read_full(r, buf, sizeof buf - 1);
		dprintf(rep[1], "reader: got %zu bytes '%s', then EOF\n", n, buf);
		_exit(r >= 0 ? 0 : 1);
	}
	close(rep[1]);
	wait_byte(rep[0]);
	struct pollfd pf = {rep[0], POLLIN, 0};
	int r = poll(&pf, 1, 200); /* generous: the open must still be waiting */
	printf("reader opened before any writer: %s\n", r == 0 ? "no" : "yes");
	int w = open(path, O_WRONLY);
	printf("open O_WRONLY with a reader waiting: %s\n", w >= 0 ? "ok" : errname(errno));
	wait_byte(rep[0]);
	write_full(w, "through the fifo", 16);
	close(w);
	char line[100];
	size_t n = read_full(rep[0], line, sizeof line - 1);
	line[n] = 0;
	printf("%s", line);
	printf("  child exit %d\n", child_exit(c));
	close(rep[0]);

	/* The other way round: a writer blocks until we open for reading. */
	mkpipe(rep);
	c = fork();
	if (c == 0) {
		close(rep[0]);
		write(rep[1], "s", 1);
		int wf = open(path, O_WRONLY);
		write(rep[1], "o", 1);
		write_full(wf, "back", 4);
		_exit(wf >= 0 ? 0 : 1);
	}
	close(rep[1]);
	wait_byte(rep[0]);
	pf.revents = 0;
	r = poll(&pf, 1, 200);
	printf("writer opened before any reader: %s\n", r == 0 ? "no" : "yes");
	int rf = open(path, O_RDONLY);
	wait_byte(rep[0]);
	char buf[16] = {0};
	n = read_full(rf, buf, sizeof buf - 1);
	printf("read from the writer child: %zu '%s'\n", n, buf);
	printf("  child exit %d\n", child_exit(c));
	close(rf);
	close(rep[0]);

	/* O_RDWR never blocks. */
	int rw = open(path, O_RDWR);
	printf("open O_RDWR alone: %s\n", rw >= 0 ? "ok" : errname(errno));
	close(rw);
	CHECK("unlink", unlink(path));
}

/* ---- pipe size -------------------------------------------------------- */

static void pipe_size(void)
{
	int p[2], go[2], rep[2];
	mkpipe(p);
	mkpipe(go);
	mkpipe(rep);
	CHECK("F_GETPIPE_SZ default", fcntl(p[0], F_GETPIPE_SZ));
	CHECK("F_SETPIPE_SZ 100000", fcntl(p[1], F_SETPIPE_SZ, 100000));
	CHECK("F_GETPIPE_SZ on the other end", fcntl(p[0], F_GETPIPE_SZ));
	pid_t c = fork();
	if (c == 0) {
		close(go[1]);
		close(rep[0]);
		long seen = fcntl(p[0], F_GETPIPE_SZ);
		long set = fcntl(p[1], F_SETPIPE_SZ, 16384);
		dprintf(rep[1], "child: sees %ld, sets 16384 -> %ld\n", seen, set);
		wait_byte(go[0]);
		/* Fill the 16 KiB pipe: the parent checks the capacity. */
		static char buf[16384];
		write_full(p[1], buf, sizeof buf);
		_exit(0);
	}
	close(go[0]);
	close(rep[1]);
	char line[100];
	size_t n = 0;
	while (n < sizeof line - 1 && read(rep[0], line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = 0;
	printf("%s\n", line);
	CHECK("F_GETPIPE_SZ after the child set it", fcntl(p[1], F_GETPIPE_SZ));
	write(go[1], "g", 1);
	printf("  child exit %d\n", child_exit(c));
	int avail = -1;
	ioctl(p[0], FIONREAD, &avail);
	printf("  bytes queued %d\n", avail);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	CHECK("  write to the full 16 KiB pipe", write(p[1], "x", 1));
	CHECK("F_SETPIPE_SZ 4096 below the content", fcntl(p[1], F_SETPIPE_SZ, 4096));
	static char drain[16384];
	read_full(p[0], drain, sizeof drain);
	CHECK("F_SETPIPE_SZ 0 (rounds to a page)", fcntl(p[1], F_SETPIPE_SZ, 0));
	CHECK("F_SETPIPE_SZ 5000 (rounds up)", fcntl(p[1], F_SETPIPE_SZ, 5000));
	CHECK("F_SETPIPE_SZ -1", fcntl(p[1], F_SETPIPE_SZ, -1));
	int dn = open("/dev/null", O_RDONLY);
	CHECK("F_GETPIPE_SZ on /dev/null", fcntl(dn, F_GETPIPE_SZ));
	close(dn);
	closep(p);
	close(go[1]);
	close(rep[0]);
}

int main(void)
{
	GUEST_INIT();
	signal(SIGPIPE, SIG_IGN);
	umask(022);
	bulk();
	records();
	eof();
	polling();
	fifos();
	pipe_size();
	printf("done\n");
	return 0;
}
