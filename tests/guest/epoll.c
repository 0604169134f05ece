/* epoll over pipes, eventfds, timerfds and socket pairs: level and edge
 * triggering, EPOLLONESHOT, readiness between processes, epoll_pwait's
 * mask, nested epolls, the entry going with its file description, and
 * epoll_create1/epoll_ctl/epoll_wait errors. */
#include "guest.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

static void report(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

/* The events of one wait, in the order of their data, as "data:events". */
static void show_wait(const char *what, int ep, int timeout)
{
	struct epoll_event ev[8];
	int n = epoll_wait(ep, ev, 8, timeout);
	if (n < 0) {
		printf("%s: -1 %s\n", what, errname(errno));
		return;
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (ev[j].data.u64 < ev[i].data.u64) {
				struct epoll_event t = ev[i];
				ev[i] = ev[j];
				ev[j] = t;
			}
	printf("%s: %d", what, n);
	for (int i = 0; i < n; i++)
		printf(" %llu:%#x", (unsigned long long)ev[i].data.u64, ev[i].events);
	printf("\n");
}

static void add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		printf("add %llu: %s\n", (unsigned long long)data, errname(errno));
}

static void on_usr1(int sig)
{
	(void)sig;
}

int main(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	report("epoll_create1", ep >= 0 ? 0 : -1);
	report("epoll_create1(bad flags)", epoll_create1(1));
	report("epoll_create(0)", epoll_create(0));
	int p[2];
	if (pipe(p) != 0)
		die("pipe");

	/* Level-triggered: reported while data is there. */
	add(ep, p[0], EPOLLIN, 1);
	add(ep, p[1], EPOLLOUT, 2);
	show_wait("pipe empty", ep, 0);
	if (write(p[1], "ab", 2) != 2)
		die("write");
	show_wait("pipe data", ep, 0);
	show_wait("pipe data again (LT)", ep, 0);
	char buf[64];
	if (read(p[0], buf, sizeof(buf)) != 2)
		die("read");
	show_wait("pipe drained", ep, 0);

	/* Errors of epoll_ctl. */
	struct epoll_event ev = {.events = EPOLLIN};
	int q[2];
	if (pipe(q) != 0)
		die("pipe");
	report("ADD twice", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	report("MOD missing", epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &ev));
	report("DEL missing", epoll_ctl(ep, EPOLL_CTL_DEL, q[0], &ev));
	report("ADD itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
	report("ADD bad fd", epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev));
	report("ctl on a pipe", epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev));
	report("bad op", epoll_ctl(ep, 99, p[0], &ev));
	int reg = open("/proc/self/status", O_RDONLY);
	report("ADD a regular file", epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev));
	close(reg);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	report("MOD with EPOLLEXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	struct epoll_event out[1];
	report("wait maxevents 0", epoll_wait(ep, out, 0, 0));
	report("wait on a pipe", epoll_wait(p[0], out, 1, 0));
	report("wait bad buffer", syscall(SYS_epoll_wait, ep, 8L, 1L, 0L));
	report("DEL", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));

	/* Edge-triggered: once per change. */
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.u64 = 1};
	report("MOD to ET", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	if (write(p[1], "x", 1) != 1)
		die("write");
	show_wait("ET first", ep, 0);
	show_wait("ET again, no change", ep, 0);
	if (read(p[0], buf, 1) != 1)
		die("read");
	if (write(p[1], "y", 1) != 1)
		die("write");
	show_wait("ET after drain and write", ep, 0);
	if (read(p[0], buf, 1) != 1)
		die("read");

	/* One-shot: disarmed after one report until MOD. */
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 1};
	report("MOD to ONESHOT", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	if (write(p[1], "z", 1) != 1)
		die("write");
	show_wait("ONESHOT first", ep, 0);
	show_wait("ONESHOT disarmed", ep, 0);
	report("MOD rearms", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	show_wait("ONESHOT rearmed", ep, 0);
	if (read(p[0], buf, 1) != 1)
		die("read");

	/* eventfd and timerfd. */
	int efd = eventfd(0, EFD_NONBLOCK);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	add(ep, efd, EPOLLIN | EPOLLOUT, 3);
	add(ep, tfd, EPOLLIN, 4);
	ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 1};
	epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	show_wait("eventfd writable", ep, 0);
	uint64_t one = 1;
	if (write(efd, &one, 8) != 8)
		die("eventfd write");
	show_wait("eventfd readable", ep, 0);
	uint64_t got;
	if (read(efd, &got, 8) != 8)
		die("eventfd read");
	struct itimerspec its = {.it_value = {0, 20 * 1000 * 1000}};
	timerfd_settime(tfd, 0, &its, NULL);
	epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL);
	show_wait("timerfd fires (blocking wait)", ep, 5000);
	if (read(tfd, &got, 8) != 8)
		die("timerfd read");
	show_wait("timeout 30 ms", ep, 30);

	/* Another process makes the pipe readable while we block. */
	pid_t c = fork();
	if (c == 0) {
		struct timespec d = {0, 50 * 1000 * 1000};
		nanosleep(&d, NULL);
		if (write(p[1], "child", 5) != 5)
			_exit(1);
		_exit(0);
	}
	show_wait("woken by a child's write", ep, 5000);
	waitpid(c, NULL, 0);
	if (read(p[0], buf, sizeof(buf)) != 5)
		die("read");

	/* epoll_pwait's mask: a signal it lets in interrupts the wait. */
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t block, none;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	c = fork();
	if (c == 0) {
		struct timespec d = {0, 50 * 1000 * 1000};
		nanosleep(&d, NULL);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	sigemptyset(&none);
	int r = epoll_pwait(ep, out, 1, 5000, &none);
	report("epoll_pwait interrupted", r);
	waitpid(c, NULL, 0);
	sigprocmask(SIG_UNBLOCK, &block, NULL);

	/* A nested epoll is readable when its inner one has events. */
	int outer = epoll_create1(0);
	add(outer, ep, EPOLLIN, 9);
	show_wait("outer, inner idle", outer, 0);
	if (write(p[1], "q", 1) != 1)
		die("write");
	show_wait("outer, inner ready", outer, 0);
	report("loop: inner adds outer", epoll_ctl(ep, EPOLL_CTL_ADD, outer, &ev));
	if (read(p[0], buf, 1) != 1)
		die("read");

	/* Chains of epolls: built top-down or bottom-up, Linux stops them at
	 * the same depth (ELOOP). */
	int chain[10];
	chain[0] = epoll_create1(0);
	int depth = 0;
	for (int i = 1; i < 10; i++) {
		chain[i] = epoll_create1(0);
		struct epoll_event ce = {.events = EPOLLIN};
		if (epoll_ctl(chain[i - 1], EPOLL_CTL_ADD, chain[i], &ce) != 0) {
			printf("top-down chain stops at %d: %s\n", i, errname(errno));
			break;
		}
		depth = i;
	}
	(void)depth;
	int up[10];
	up[0] = epoll_create1(0);
	for (int i = 1; i < 10; i++) {
		up[i] = epoll_create1(0);
		struct epoll_event ce = {.events = EPOLLIN};
		if (epoll_ctl(up[i], EPOLL_CTL_ADD, up[i - 1], &ce) != 0) {
			printf("bottom-up chain stops at %d: %s\n", i, errname(errno));
			break;
		}
	}

	/* Socket pairs: writable, readable after the peer writes, HUP once
	 * the peer is gone. */
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		die("socketpair");
	add(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP, 5);
	epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);
	epoll_ctl(ep, EPOLL_CTL_DEL, tfd, NULL);
	show_wait("socket writable", ep, 0);
	if (write(sv[1], "hi", 2) != 2)
		die("write");
	show_wait("socket readable", ep, 0);
	close(sv[1]);
	show_wait("socket peer closed", ep, 0);

	/* An entry stays while a dup of its description is open, and goes
	 * with the last close. */
	int d = dup(sv[0]);
	close(sv[0]);
	show_wait("after closing the fd, dup open", ep, 0);
	close(d);
	show_wait("after the last close", ep, 0);
	return 0;
}
