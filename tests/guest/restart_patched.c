/* A syscall interrupted by a signal handler, from a call site that has
 * been made hot first (under husk's systrap such a site is patched into a
 * jump, and the restart lands in the middle of it): readv on an empty
 * pipe with SA_RESTART restarts and returns the byte written later;
 * without SA_RESTART it fails with EINTR. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits;

static void on_alarm(int sig)
{
	(void)sig;
	hits++;
}

/* Always the same call site. */
static __attribute__((noinline)) ssize_t read1(int fd, char *c)
{
	struct iovec iov = {c, 1};
	return readv(fd, &iov, 1);
}

static void ticker(long us)
{
	struct itimerval it = {{0, us}, {0, us}};
	setitimer(ITIMER_REAL, &it, NULL);
}

static void run(int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, NULL);
	int p[2];
	if (pipe(p) != 0)
		return;
	char c = 0;
	/* Warm the site: several calls that do not block. */
	for (int i = 0; i < 8; i++) {
		if (write(p[1], "w", 1) != 1 || read1(p[0], &c) != 1)
			printf("warm-up read failed\n");
	}
	pid_t kid = fork();
	if (kid == 0) {
		struct timespec ts = {0, 60 * 1000000};
		nanosleep(&ts, NULL);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		_exit(0);
	}
	hits = 0;
	ticker(5000);
	errno = 0;
	ssize_t n = read1(p[0], &c);
	int e = errno;
	ticker(0);
	if (restart)
		printf("SA_RESTART: readv returned %zd '%c', handler ran: %s\n", n, n == 1 ? c : '-',
		       hits > 0 ? "yes" : "no");
	else
		printf("no SA_RESTART: readv returned %zd, errno %s, handler ran: %s\n", n,
		       e == EINTR ? "EINTR" : strerror(e), hits > 0 ? "yes" : "no");
	int st;
	waitpid(kid, &st, 0);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	run(1);
	run(0);
	/* The same site still works after both. */
	int p[2];
	char c = 0;
	if (pipe(p) == 0 && write(p[1], "z", 1) == 1) {
		ssize_t n = read1(p[0], &c);
		printf("afterwards: readv returned %zd '%c'\n", n, c);
	}
	return 0;
}
