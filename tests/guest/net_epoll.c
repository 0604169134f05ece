/* net_epoll.c - an event loop over loopback TCP, as servers run: a
 * non-blocking listener in epoll, clients from a forked process, accept4
 * of each as it comes, their data read as epoll reports it, answers, and
 * end of stream seen as EPOLLIN with a zero read (and EPOLLRDHUP). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "guest.h"

#define CLIENTS 5

int main(void)
{
	GUEST_INIT();
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 16))
		die("listen");
	socklen_t alen = sizeof a;
	getsockname(l, (struct sockaddr *)&a, &alen);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	pid_t pid = fork();
	if (pid == 0) {
		int bad = 0;
		for (int i = 0; i < CLIENTS; i++) {
			int c = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(c, (struct sockaddr *)&a, sizeof a))
				_exit(20);
			char msg[16];
			int n = snprintf(msg, sizeof msg, "client %d", i);
			send(c, msg, (size_t)n, 0);
			char back[32] = {0};
			ssize_t k = recv(c, back, sizeof back - 1, 0);
			bad += k != n + 4 || strncmp(back, "ok: ", 4) || memcmp(back + 4, msg, (size_t)n);
			close(c);
		}
		_exit(bad);
	}
	int accepted = 0, answered = 0, ended = 0;
	while (ended < CLIENTS) {
		struct epoll_event out[8];
		int n = epoll_wait(ep, out, 8, 10000);
		if (n <= 0)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			int fd = out[i].data.fd;
			if (fd == l) {
				int s;
				while ((s = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = s};
					epoll_ctl(ep, EPOLL_CTL_ADD, s, &cev);
					accepted++;
				}
				if (errno != EAGAIN)
					die("accept4");
				continue;
			}
			char buf[64];
			ssize_t k = read(fd, buf, sizeof buf);
			if (k > 0) {
				char reply[80];
				int m = snprintf(reply, sizeof reply, "ok: %.*s", (int)k, buf);
				write(fd, reply, (size_t)m);
				answered++;
			} else if (k == 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
				ended++;
			} else if (errno != EAGAIN) {
				die("read");
			}
		}
	}
	int st = 0;
	waitpid(pid, &st, 0);
	printf("accepted %d, answered %d, ended %d, clients happy: %d\n", accepted, answered, ended,
	       WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return 0;
}
