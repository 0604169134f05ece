/* A server whose state lives in the kernel objects a checkpoint must
 * carry: it waits for connections with epoll (watching its listener and
 * an eventfd), keeps bytes unread in a pipe, a count in the eventfd, a
 * timerfd and a POSIX timer armed, a blocked signal pending that a
 * signalfd reads, a child that exited, not yet reaped, an epoll that
 * watches the eventfd through another epoll, and (unreported: for the
 * snapshot fuzzer's sake) a file in /tmp, a socketpair with bytes in it
 * and a unix listener with an accepted connection.
 * Each answer shows the pipe's bytes, the eventfd's count (both put back
 * after), how many requests came, whether the signalfd sees the signal
 * (left pending), and whether the monotonic clock went on
 * from the last request's (the test restores its snapshot 3 s after the
 * checkpoint: the clock goes on from the checkpoint, not jumping 3 s),
 * then adds one to the count. */
#include <poll.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 8080;
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 16))
		return 1;
	int p[2];
	if (pipe(p) || write(p[1], "kept", 4) != 4)
		return 2;
	int efd = eventfd(5, EFD_NONBLOCK);
	/* A timer that stays armed across the checkpoint (an hour off). */
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec its = {.it_value = {3600, 0}, .it_interval = {3600, 0}};
	if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL))
		return 6;
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	int sfd = sigprocmask(SIG_BLOCK, &usr1, NULL) ? -1 : signalfd(-1, &usr1, SFD_NONBLOCK);
	if (sfd < 0 || raise(SIGUSR1))
		return 7;
	pid_t child = fork();
	if (child == 0)
		_exit(7);
	siginfo_t zi;
	if (child < 0 || waitid(P_PID, (id_t)child, &zi, WEXITED | WNOWAIT))
		return 9; /* (waits for it to exit; leaves it a zombie) */
	timer_t ptimer;
	struct sigevent sev = {.sigev_notify = SIGEV_NONE};
	if (timer_create(CLOCK_MONOTONIC, &sev, &ptimer) || timer_settime(ptimer, 0, &its, NULL))
		return 8;
	int sp[2], ul = socket(AF_UNIX, SOCK_STREAM, 0), uc = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un ua = {.sun_family = AF_UNIX, .sun_path = "/tmp/state.sock"};
	FILE *note = fopen("/tmp/state.txt", "w");
	if (!note || fputs("state\n", note) < 0 || fclose(note) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sp) || write(sp[0], "pair", 4) != 4 ||
	    bind(ul, (struct sockaddr *)&ua, sizeof(ua)) || listen(ul, 4) ||
	    connect(uc, (struct sockaddr *)&ua, sizeof(ua)) || accept(ul, NULL, NULL) < 0 ||
	    write(uc, "conn", 4) != 4)
		return 11;
	int inner = epoll_create1(0), top = epoll_create1(0);
	struct epoll_event nev = {.events = EPOLLIN};
	if (epoll_ctl(inner, EPOLL_CTL_ADD, efd, &nev) || epoll_ctl(top, EPOLL_CTL_ADD, inner, &nev))
		return 10;
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	ev.data.u32 = 2;
	epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
	double last = 0;
	for (unsigned long served = 1;;) {
		struct epoll_event got[4];
		int n = epoll_wait(ep, got, 4, -1);
		for (int i = 0; i < n; i++) {
			if (got[i].data.u32 != 1)
				continue; /* the eventfd is always ready: only counted */
			int c = accept(l, NULL, NULL);
			if (c < 0)
				continue;
			char buf[2048];
			if (read(c, buf, sizeof(buf)) < 0)
				buf[0] = 0;
			char kept[8] = {0};
			ssize_t k = read(p[0], kept, sizeof(kept) - 1);
			if (k > 0 && write(p[1], kept, (size_t)k) != k)
				return 3;
			uint64_t v = 0;
			if (read(efd, &v, 8) != 8)
				v = 0;
			uint64_t back = v + 1;
			if (write(efd, &back, 8) != 8)
				return 4;
			struct itimerspec left;
			int armed = timerfd_gettime(tfd, &left) == 0 && left.it_value.tv_sec > 0;
			armed += timer_gettime(ptimer, &left) == 0 && left.it_value.tv_sec > 3000 &&
				 left.it_interval.tv_sec == 3600;
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
			const char *clock = !last || now - last < 2.5 ? "on" : "jumped";
			memset(&zi, 0, sizeof(zi));
			int zombie = waitid(P_PID, (id_t)child, &zi, WEXITED | WNOHANG | WNOWAIT)
					     ? -1 : zi.si_status;
			struct epoll_event through;
			int nested = epoll_wait(top, &through, 1, 0);
			struct pollfd pf = {sfd, POLLIN, 0};
			int sig = poll(&pf, 1, 0) == 1;
			last = now;
			char body[160], resp[288];
			int bl = snprintf(body, sizeof(body),
					  "request %lu pipe %s eventfd %llu timer %d clock %s signalfd %d "
					  "zombie %d nested %d\n", served++, kept, (unsigned long long)v,
					  armed, clock, sig, zombie, nested);
			int rl = snprintf(resp, sizeof(resp),
					  "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", bl, body);
			if (write(c, resp, (size_t)rl) < 0)
				return 5;
			close(c);
		}
	}
}
