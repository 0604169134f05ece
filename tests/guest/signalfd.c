/* signalfd: reading blocked signals as signalfd_siginfo (kill, sigqueue,
 * SIGCHLD from a child), several in one read, a short buffer, nonblocking
 * EAGAIN, poll and epoll readiness, updating the mask through the fd, a
 * blocking read woken by another process, and the errors. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

static void report(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

static void read_all(const char *what, int fd)
{
	struct signalfd_siginfo si[4];
	ssize_t n = read(fd, si, sizeof(si));
	if (n < 0) {
		printf("%s: -1 %s\n", what, errname(errno));
		return;
	}
	printf("%s: %zd bytes", what, n);
	for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++)
		printf(" [sig %u code %d self %s int %d]", si[i].ssi_signo, si[i].ssi_code,
		       si[i].ssi_pid == (uint32_t)getpid() ? "yes" : "no", si[i].ssi_int);
	printf("\n");
}

int main(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	report("signalfd", fd >= 0 ? 0 : -1);
	read_all("empty", fd);
	kill(getpid(), SIGUSR1);
	union sigval v = {.sival_int = 42};
	sigqueue(getpid(), SIGUSR2, v);
	struct pollfd p = {fd, POLLIN, 0};
	report("poll ready", poll(&p, 1, 0));
	read_all("two at once", fd);
	report("poll after", poll(&p, 1, 0));

	char small[16];
	kill(getpid(), SIGUSR1);
	report("short buffer", read(fd, small, sizeof(small)));
	read_all("still there", fd);

	/* A child's exit, read as SIGCHLD. */
	pid_t c = fork();
	if (c == 0)
		_exit(3);
	siginfo_t wi;
	waitid(P_PID, (id_t)c, &wi, WEXITED | WNOWAIT); /* exited, not reaped */
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) == sizeof(si))
		printf("child: sig %u code %d status %d pid %s\n", si.ssi_signo, si.ssi_code,
		       si.ssi_status, si.ssi_pid == (uint32_t)c ? "yes" : "no");
	waitpid(c, NULL, 0);

	/* The mask changes through the fd; signals outside it stay pending. */
	sigset_t only1;
	sigemptyset(&only1);
	sigaddset(&only1, SIGUSR1);
	report("update mask", signalfd(fd, &only1, 0) == fd ? 0 : -1);
	kill(getpid(), SIGUSR2);
	read_all("USR2 outside the mask", fd);
	sigset_t pend;
	sigpending(&pend);
	printf("USR2 still pending: %s\n", sigismember(&pend, SIGUSR2) ? "yes" : "no");
	int r = sigwaitinfo(&mask, NULL);
	printf("sigwaitinfo took %d\n", r);

	/* epoll sees it; a blocking read wakes when another process signals. */
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	struct epoll_event out;
	report("epoll idle", epoll_wait(ep, &out, 1, 0));
	kill(getpid(), SIGUSR1);
	report("epoll ready", epoll_wait(ep, &out, 1, 0));
	read_all("drain", fd);
	int bfd = signalfd(-1, &only1, 0);
	c = fork();
	if (c == 0) {
		struct timespec d = {0, 50 * 1000 * 1000};
		nanosleep(&d, NULL);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	read_all("blocking read", bfd);
	waitpid(c, NULL, 0);

	/* Errors. */
	report("bad size", syscall(SYS_signalfd4, -1, &mask, 4L, 0L));
	report("bad flags", syscall(SYS_signalfd4, -1, &mask, 8L, 0x10L));
	report("not a signalfd", signalfd(0, &mask, 0));
	report("bad fd", signalfd(999, &mask, 0));
	report("bad mask pointer", syscall(SYS_signalfd4, -1, 8L, 8L, 0L));
	return 0;
}
