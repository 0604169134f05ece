/* net_tcp.c - TCP over loopback: bind to port 0 and getsockname, listen,
 * a forked client that connects, sends, half-closes and reads the
 * answer to its end; accept and getpeername; MSG_PEEK and FIONREAD;
 * socket options a server sets and reads back; non-blocking connect
 * (EINPROGRESS, then writable, SO_ERROR 0) and accept (EAGAIN); and
 * the errors: ECONNREFUSED, EADDRINUSE, EOPNOTSUPP, EINVAL, ENOTCONN,
 * EPIPE, EISCONN, ENOTSOCK, EAFNOSUPPORT, EPROTONOSUPPORT. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "guest.h"

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static uint16_t port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &len);
	return ntohs(a.sin_port);
}

static int listener(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = loopback(0);
	if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 8))
		die("listen");
	return l;
}

static int intopt(int fd, int level, int opt)
{
	int v = -1;
	socklen_t len = sizeof v;
	if (getsockopt(fd, level, opt, &v, &len))
		return -errno;
	return v;
}

int main(void)
{
	GUEST_INIT();
	int l = listener();
	struct sockaddr_in me;
	socklen_t mlen = sizeof me;
	CHECK("getsockname", getsockname(l, (struct sockaddr *)&me, &mlen));
	EXPECT("bound to loopback, a port picked", mlen == sizeof me && me.sin_family == AF_INET &&
						       me.sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
						       me.sin_port != 0);
	printf("SO_ACCEPTCONN %d SO_TYPE %d SO_PROTOCOL %d SO_DOMAIN %d SO_REUSEADDR %d\n",
	       intopt(l, SOL_SOCKET, SO_ACCEPTCONN), intopt(l, SOL_SOCKET, SO_TYPE),
	       intopt(l, SOL_SOCKET, SO_PROTOCOL), intopt(l, SOL_SOCKET, SO_DOMAIN),
	       intopt(l, SOL_SOCKET, SO_REUSEADDR));
	uint16_t port = port_of(l);

	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = loopback(port);
		if (connect(c, (struct sockaddr *)&a, sizeof a))
			_exit(10);
		if (send(c, "hello, server", 13, 0) != 13)
			_exit(11);
		shutdown(c, SHUT_WR);
		char buf[64];
		size_t got = 0;
		ssize_t k;
		while ((k = recv(c, buf + got, sizeof buf - got, 0)) > 0)
			got += (size_t)k;
		_exit(got == 6 && !memcmp(buf, "thanks", 6) ? 0 : 12);
	}
	struct sockaddr_in peer;
	socklen_t plen = sizeof peer;
	int s = accept(l, (struct sockaddr *)&peer, &plen);
	EXPECT("accepted from loopback", s >= 0 && plen == sizeof peer &&
						 peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	struct sockaddr_in pn;
	socklen_t pnlen = sizeof pn;
	CHECK("getpeername", getpeername(s, (struct sockaddr *)&pn, &pnlen));
	EXPECT("getpeername is the client", pn.sin_port == peer.sin_port);
	char buf[64] = {0};
	/* Wait for the whole message, then look at it twice. */
	struct pollfd pf = {s, POLLIN, 0};
	poll(&pf, 1, 5000);
	int avail = 0;
	for (int i = 0; i < 100 && avail < 13; i++) {
		ioctl(s, FIONREAD, &avail);
		if (avail < 13)
			usleep(10000);
	}
	printf("FIONREAD %d\n", avail);
	ssize_t k = recv(s, buf, 5, MSG_PEEK);
	printf("peek %zd %.5s\n", k, buf);
	size_t got = 0;
	while ((k = recv(s, buf + got, sizeof buf - 1 - got, 0)) > 0)
		got += (size_t)k;
	printf("read %zu '%s', then %zd (end)\n", got, buf, k);
	CHECK("send after the peer's half-close", send(s, "thanks", 6, 0) == 6 ? 0 : -1);
	close(s);
	int st = 0;
	waitpid(pid, &st, 0);
	printf("client exit %d\n", WEXITSTATUS(st));

	/* Options a server sets. */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	CHECK("TCP_NODELAY", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
	printf("TCP_NODELAY %d\n", intopt(c, IPPROTO_TCP, TCP_NODELAY));
	CHECK("SO_KEEPALIVE", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one));
	printf("SO_KEEPALIVE %d\n", intopt(c, SOL_SOCKET, SO_KEEPALIVE));
	int idle = 30;
	CHECK("TCP_KEEPIDLE", setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle));
	printf("TCP_KEEPIDLE %d\n", intopt(c, IPPROTO_TCP, TCP_KEEPIDLE));
	int rcv = 65536;
	setsockopt(c, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	printf("SO_RCVBUF after 65536: %d\n", intopt(c, SOL_SOCKET, SO_RCVBUF));
	printf("SO_ERROR %d\n", intopt(c, SOL_SOCKET, SO_ERROR));
	CHECK("unknown option", setsockopt(c, SOL_SOCKET, 9999, &one, sizeof one));

	/* Errors before a connection. */
	struct sockaddr_in nowhere;
	socklen_t nlen = sizeof nowhere;
	CHECK("getpeername unconnected", getpeername(c, (struct sockaddr *)&nowhere, &nlen));
	CHECK("recv unconnected", recv(c, buf, 1, 0));
	CHECK("send unconnected", send(c, "x", 1, MSG_NOSIGNAL));
	CHECK("accept not listening", accept(c, NULL, NULL));
	struct sockaddr_in taken = loopback(port);
	CHECK("bind a port in use", bind(c, (struct sockaddr *)&taken, sizeof taken));
	close(c);

	/* Refused: a port nobody listens on. */
	int gone = listener();
	uint16_t free_port = port_of(gone);
	close(gone);
	c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in fa = loopback(free_port);
	CHECK("connect to a closed port", connect(c, (struct sockaddr *)&fa, sizeof fa));
	close(c);

	/* Non-blocking: connect in progress, then writable; accept EAGAIN. */
	int nl = listener();
	fcntl(nl, F_SETFL, O_NONBLOCK);
	CHECK("accept with nothing waiting", accept(nl, NULL, NULL));
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in na = loopback(port_of(nl));
	int r = connect(c, (struct sockaddr *)&na, sizeof na);
	printf("non-blocking connect: %s\n", r == 0 ? "done at once" : errno == EINPROGRESS ? "in progress" : strerror(errno));
	struct pollfd wp = {c, POLLOUT, 0};
	int pr = poll(&wp, 1, 5000);
	printf("poll: %d, writable %d\n", pr, !!(wp.revents & POLLOUT));
	printf("SO_ERROR %d\n", intopt(c, SOL_SOCKET, SO_ERROR));
	CHECK("connect again: it completed", connect(c, (struct sockaddr *)&na, sizeof na));
	CHECK("and again", connect(c, (struct sockaddr *)&na, sizeof na));
	struct pollfd lp = {nl, POLLIN, 0};
	poll(&lp, 1, 5000);
	int a2 = accept4(nl, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	EXPECT("accept4 non-blocking, close-on-exec", a2 >= 0 && (fcntl(a2, F_GETFL) & O_NONBLOCK) &&
						       (fcntl(a2, F_GETFD) & FD_CLOEXEC));
	CHECK("read with nothing sent", read(a2, buf, 1));
	close(a2);
	close(c);
	close(nl);

	/* What is not a TCP socket. */
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK("listen on UDP", listen(u, 1));
	close(u);
	CHECK("bind on a pipe", ({ int p[2]; pipe(p); bind(p[0], (struct sockaddr *)&na, sizeof na); }));
	CHECK("socket bad protocol", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	struct sockaddr_in bad = loopback(1);
	bad.sin_family = AF_INET6;
	int b = socket(AF_INET, SOCK_STREAM, 0);
	CHECK("bind wrong family", bind(b, (struct sockaddr *)&bad, sizeof bad));
	CHECK("bind short address", bind(b, (struct sockaddr *)&bad, 4));
	close(b);
	close(l);
	return 0;
}
