/* Per-call cost of four everyday syscalls, timed from inside whatever runs
 * it (the host, husk, runsc), one "name ns-per-call" line each:
 *   getppid     the cheapest round trip into the kernel and back
 *   pipe        write one byte into a pipe, read it back (two calls)
 *   clock       clock_gettime(CLOCK_MONOTONIC) through libc (the vDSO)
 *   open+close  of a small file the program made in /tmp (two calls)
 * usage: syscalls [CALLS] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void report(const char *name, double start, long n)
{
	printf("%s %.1f\n", name, (now_ns() - start) / (double)n);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	if (n < 1)
		n = 1;
	/* A warm-up call of each kind first: the first one may be slower
	 * anywhere (page faults, a sandbox's first look at the call site). */
	double t = now_ns();
	getppid();
	t = now_ns();
	for (long i = 0; i < n; i++)
		getppid();
	report("getppid", t, n);

	int p[2];
	char c = 'x';
	if (pipe(p) != 0 || write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1) {
		perror("pipe");
		return 1;
	}
	t = now_ns();
	for (long i = 0; i < n; i++)
		if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1) {
			perror("pipe");
			return 1;
		}
	report("pipe", t, n);

	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t = now_ns();
	for (long i = 0; i < n; i++)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	report("clock", t, n);

	char path[64];
	snprintf(path, sizeof(path), "/tmp/husk-bench-%d", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "hello\n", 6) != 6 || close(fd) != 0) {
		perror(path);
		return 1;
	}
	t = now_ns();
	for (long i = 0; i < n; i++) {
		fd = open(path, O_RDONLY);
		if (fd < 0 || close(fd) != 0) {
			perror(path);
			unlink(path);
			return 1;
		}
	}
	report("open+close", t, n);
	unlink(path);
	return 0;
}
