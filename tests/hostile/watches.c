/* For the sandbox-wide caps: adds epoll watches until epoll_ctl fails,
 * makes POSIX timers until timer_create fails, and makes pipes past the
 * soft mark of pipe buffers; prints where and what. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct rlimit r = {60000, 60000};
	setrlimit(RLIMIT_NOFILE, &r);
	int p[2];
	if (pipe(p) != 0)
		return 1;
	static int fds[2000];
	for (int i = 0; i < 2000; i++)
		fds[i] = dup(p[0]);
	long added = 0;
	int err = 0;
	for (int e = 0; e < 1000 && !err; e++) {
		int ep = epoll_create1(0);
		for (int i = 0; i < 2000; i++) {
			struct epoll_event ev = {.events = EPOLLIN};
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0) {
				err = errno;
				break;
			}
			added++;
		}
	}
	printf("watches %ld, then %s\n", added, err == ENOSPC ? "ENOSPC" : strerror(err));
	long n = 0;
	timer_t t;
	while (timer_create(CLOCK_MONOTONIC, NULL, &t) == 0)
		n++;
	printf("timers %ld, then %s\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno));
	int q[2] = {-1, -1};
	for (int i = 0; i < 1100; i++)
		if (pipe(q) != 0)
			return 1;
	printf("pipe 1100 holds %d\n", fcntl(q[0], F_GETPIPE_SZ));
	return 0;
}
