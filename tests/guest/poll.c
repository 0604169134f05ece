/* poll, ppoll, select and pselect6 over pipes, eventfds, timerfds, a
 * regular file and stdin: readiness, POLLHUP/POLLERR/POLLNVAL, timeouts
 * (and the time left written back), a wait that a timerfd ends, signals
 * (EINTR, and the temporary masks of ppoll and pselect6) and bad
 * arguments. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/timerfd.h>

static volatile int usr1, alrm;

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

static void on_alrm(int sig)
{
	(void)sig;
	alrm++;
}

static void show(const char *label, long r, const struct pollfd *p, int n)
{
	printf("%s: ret %ld%s%s", label, r, r < 0 ? " " : "", r < 0 ? errname(errno) : "");
	for (int i = 0; i < n && r >= 0; i++)
		printf(" [%#x]", (unsigned)(unsigned short)p[i].revents);
	printf("\n");
}

static void on(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigaction(sig, &sa, NULL);
}

int main(void)
{
	on(SIGUSR1, on_usr1);
	on(SIGALRM, on_alrm);
	int p[2];
	pipe(p);
	struct pollfd f[4];
	f[0] = (struct pollfd){p[0], POLLIN, 0};
	f[1] = (struct pollfd){p[1], POLLOUT, 0};
	show("pipe empty", poll(f, 2, 0), f, 2);
	write(p[1], "x", 1);
	show("pipe with data", poll(f, 2, 0), f, 2);
	f[0].events = POLLOUT; /* not what a read end can do */
	show("read end asked for POLLOUT", poll(f, 1, 0), f, 1);
	f[0].events = POLLIN;
	close(p[1]);
	show("writer closed, data left", poll(f, 1, 0), f, 1);
	char c;
	read(p[0], &c, 1);
	show("writer closed, drained", poll(f, 1, 0), f, 1);
	close(p[0]);
	pipe(p);
	close(p[0]);
	f[0] = (struct pollfd){p[1], POLLOUT, 0};
	show("reader closed", poll(f, 1, 0), f, 1);
	close(p[1]);

	/* Negative fds are skipped, closed ones are POLLNVAL, plain files and
	 * stdin (/dev/null or a file here) always ready. */
	int file = open("/proc/self/status", O_RDONLY);
	f[0] = (struct pollfd){-1, POLLIN, 0x55};
	f[1] = (struct pollfd){99, POLLIN, 0};
	f[2] = (struct pollfd){file, POLLIN | POLLOUT | POLLPRI, 0};
	f[3] = (struct pollfd){0, POLLIN, 0};
	show("negative, closed, file, stdin", poll(f, 4, 0), f, 4);
	close(file);

	int efd = (int)syscall(SYS_eventfd2, 0, O_NONBLOCK);
	f[0] = (struct pollfd){efd, POLLIN | POLLOUT, 0};
	show("eventfd at 0", poll(f, 1, 0), f, 1);
	uint64_t v = 3;
	write(efd, &v, 8);
	show("eventfd at 3", poll(f, 1, 0), f, 1);
	v = 0xfffffffffffffffbULL;
	write(efd, &v, 8);
	show("eventfd full", poll(f, 1, 0), f, 1);
	read(efd, &v, 8);

	/* A timeout with nothing ready, and a wait a timerfd ends. */
	f[0] = (struct pollfd){efd, POLLIN, 0};
	show("20ms timeout", poll(f, 1, 20), f, 1);
	int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = {{0, 0}, {0, 30000000}};
	timerfd_settime(tfd, 0, &its, NULL);
	f[0] = (struct pollfd){efd, POLLIN, 0};
	f[1] = (struct pollfd){tfd, POLLIN, 0};
	show("infinite wait ended by the timerfd", poll(f, 2, -1), f, 2);
	read(tfd, &v, 8);

	/* A handler interrupts poll with EINTR, SA_RESTART or not. */
	alarm(1);
	show("poll interrupted by SIGALRM", poll(f, 1, -1), f, 1);
	printf("  alarm handled %d\n", alrm);

	/* Arguments. */
	CHECK("poll nfds over RLIMIT_NOFILE", syscall(SYS_poll, f, 1L << 30, 0));
	CHECK("poll bad pointer", syscall(SYS_poll, (void *)1, 1, 0));
	CHECK("poll no fds, 10ms", poll(NULL, 0, 10));

	/* ppoll: the temporary mask lets a blocked pending signal in. */
	sigset_t usr1_set, empty;
	sigemptyset(&usr1_set);
	sigaddset(&usr1_set, SIGUSR1);
	sigemptyset(&empty);
	sigprocmask(SIG_BLOCK, &usr1_set, NULL);
	raise(SIGUSR1);
	struct timespec ts = {5, 0};
	long r = ppoll(f, 1, &ts, &empty);
	show("ppoll with usr1 pending, empty mask", r, f, 1);
	printf("  usr1 handled %d, blocked again %s\n", usr1, sigprocmask(SIG_BLOCK, NULL, &empty) == 0 &&
	       sigismember(&empty, SIGUSR1) ? "yes" : "no");
	sigemptyset(&empty);
	ts = (struct timespec){0, 20000000};
	show("ppoll 20ms", ppoll(f, 1, &ts, NULL), f, 1);
	printf("  time left %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	ts = (struct timespec){0, 1000000000};
	CHECK("ppoll nsec 1e9", ppoll(f, 1, &ts, NULL));
	ts = (struct timespec){0, 0};
	CHECK("ppoll sigsetsize 4", syscall(SYS_ppoll, f, 1, &ts, &empty, 4));
	CHECK("ppoll bad timeout", syscall(SYS_ppoll, f, 1, (void *)1, NULL, 8));
	CHECK("ppoll bad mask", syscall(SYS_ppoll, f, 1, &ts, (void *)1, 8));

	/* select. */
	pipe(p);
	write(p[1], "y", 1);
	fd_set rd, wr, ex;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_ZERO(&ex);
	FD_SET(p[0], &rd);
	FD_SET(efd, &rd);
	FD_SET(p[1], &wr);
	FD_SET(p[0], &ex);
	struct timeval tv = {0, 50000};
	r = select(efd > p[1] ? efd + 1 : p[1] + 1, &rd, &wr, &ex, &tv);
	printf("select: ret %ld, read %d%d, write %d, except %d, time left in (0, 50ms]: %s\n", r,
	       FD_ISSET(p[0], &rd), FD_ISSET(efd, &rd), FD_ISSET(p[1], &wr), FD_ISSET(p[0], &ex),
	       tv.tv_sec == 0 && tv.tv_usec > 0 && tv.tv_usec <= 50000 ? "yes" : "no");
	FD_ZERO(&rd);
	FD_SET(efd, &rd);
	tv = (struct timeval){0, 20000};
	r = select(efd + 1, &rd, NULL, NULL, &tv);
	printf("select nothing ready: ret %ld, set cleared %s, time left %ld.%06ld\n", r,
	       FD_ISSET(efd, &rd) ? "no" : "yes", (long)tv.tv_sec, (long)tv.tv_usec);
	/* A hung-up pipe is readable, not exceptional: in exceptfds alone it
	 * lets select time out. */
	int hp[2];
	pipe(hp);
	close(hp[1]);
	FD_ZERO(&ex);
	FD_SET(hp[0], &ex);
	tv = (struct timeval){0, 20000};
	r = select(hp[0] + 1, NULL, NULL, &ex, &tv);
	printf("select hung-up pipe in exceptfds only: ret %ld\n", r);
	close(hp[0]);
	FD_ZERO(&rd);
	FD_SET(60, &rd); /* under 64, the smallest fd table Linux has */
	tv = (struct timeval){0, 0};
	CHECK("select closed fd", select(61, &rd, NULL, NULL, &tv));
	CHECK("select nfds -1", select(-1, NULL, NULL, NULL, &tv));
	tv.tv_usec = 1000000;
	CHECK("select usec 1e6", select(1, NULL, NULL, NULL, &tv));
	tv.tv_usec = 0;
	CHECK("select bad set", syscall(SYS_select, 4, (void *)1, NULL, NULL, &tv));
	CHECK("select bad timeout", syscall(SYS_select, 4, NULL, NULL, NULL, (void *)1));
	tv = (struct timeval){0, 10000};
	CHECK("select no sets, 10ms", select(0, NULL, NULL, NULL, &tv));

	/* pselect6 with a mask, interrupted. */
	raise(SIGUSR1);
	FD_ZERO(&rd);
	FD_SET(efd, &rd);
	ts = (struct timespec){5, 0};
	r = pselect(efd + 1, &rd, NULL, NULL, &ts, &empty);
	printf("pselect with usr1 pending: ret %ld %s, usr1 handled %d\n", r,
	       r < 0 ? errname(errno) : "", usr1);
	uint64_t bad_sig[2] = {(uint64_t)(uintptr_t)&empty, 4};
	ts = (struct timespec){0, 0};
	CHECK("pselect6 sigsetsize 4", syscall(SYS_pselect6, 1, NULL, NULL, NULL, &ts, bad_sig));
	CHECK("pselect6 bad sig pointer", syscall(SYS_pselect6, 1, NULL, NULL, NULL, &ts, (void *)1));
	ts = (struct timespec){-1, 0};
	CHECK("pselect6 negative timeout", syscall(SYS_pselect6, 1, NULL, NULL, NULL, &ts, NULL));
	return 0;
}
