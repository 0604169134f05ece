/* A guest that tries to make the sentry's network stack hold without end:
 * sockets until something says no, a thousand half-open handshakes to a
 * listener that never accepts, datagrams by the ten thousand to a
 * socket that never reads, and a stream written into a peer that never
 * reads, and timeouts of either extreme.  Every one must end in an error
 * or a full buffer, bounded, and the stack must still carry a
 * conversation afterwards.  Prints "done". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in lo(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	return a;
}

static uint16_t port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &len);
	return ntohs(a.sin_port);
}

static int fds[70000];

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct rlimit rl = {65536, 65536};
	setrlimit(RLIMIT_NOFILE, &rl);

	/* 1. Sockets until refused. */
	int n = 0, err = 0;
	while (n < 70000) {
		int s = socket(AF_INET, n & 1 ? SOCK_DGRAM : SOCK_STREAM, 0);
		if (s < 0) {
			err = errno;
			break;
		}
		fds[n++] = s;
	}
	printf("sockets: %d, then %s\n", n, err ? strerror(err) : "no limit met");
	for (int i = 0; i < n; i++)
		close(fds[i]);

	/* 2. Handshakes to a listener that never accepts. */
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la = lo(0);
	bind(l, (struct sockaddr *)&la, sizeof la);
	listen(l, 4096);
	la = lo(port_of(l));
	n = 0;
	for (int i = 0; i < 3000; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c < 0)
			break;
		int r = connect(c, (struct sockaddr *)&la, sizeof la);
		if (r && errno != EINPROGRESS) {
			close(c);
			break;
		}
		fds[n++] = c;
	}
	printf("connects: %d made\n", n);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	close(l);

	/* 3. Datagrams nobody reads. */
	int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ua = lo(0);
	bind(u, (struct sockaddr *)&ua, sizeof ua);
	ua = lo(port_of(u));
	static char blob[1400];
	int sent = 0;
	for (int i = 0; i < 50000; i++)
		sent += sendto(v, blob, sizeof blob, 0, (struct sockaddr *)&ua, sizeof ua) > 0;
	int queued = 0;
	char b[2000];
	while (recv(u, b, sizeof b, MSG_DONTWAIT) > 0)
		queued++;
	printf("datagrams: %d sent, %s queued\n", sent, queued < 1000 ? "a bounded number" : "too many");
	close(u);
	close(v);

	/* 4. A stream into a peer that never reads. */
	l = socket(AF_INET, SOCK_STREAM, 0);
	la = lo(0);
	bind(l, (struct sockaddr *)&la, sizeof la);
	listen(l, 1);
	la = lo(port_of(l));
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&la, sizeof la);
	int s = accept(l, NULL, NULL);
	fcntl(c, F_SETFL, O_NONBLOCK);
	long total = 0;
	static char big[65536];
	for (int i = 0; i < 100000; i++) {
		ssize_t w = write(c, big, sizeof big);
		if (w < 0)
			break;
		total += w;
	}
	printf("stream: %s before EAGAIN\n", total > 0 && total < (64L << 20) ? "a bounded amount" : "unbounded");
	close(s);
	close(c);
	close(l);

	/* 5. Timeouts at the edges: a negative one ends at once, a huge one
	 * neither overflows nor hangs a non-blocking call. */
	int tq = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in tqa = lo(0);
	bind(tq, (struct sockaddr *)&tqa, sizeof tqa);
	struct timeval neg = {-5, 0}, huge = {0x7fffffffffffffffL, 999999};
	setsockopt(tq, SOL_SOCKET, SO_RCVTIMEO, &neg, sizeof neg);
	int neg_ok = recv(tq, b, 1, 0) < 0 && errno == EAGAIN;
	setsockopt(tq, SOL_SOCKET, SO_RCVTIMEO, &huge, sizeof huge);
	setsockopt(tq, SOL_SOCKET, SO_SNDTIMEO, &huge, sizeof huge);
	int huge_ok = recv(tq, b, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
	struct mmsghdr mm = {0};
	struct timespec forever = {0x7fffffffffffffffL, 0};
	huge_ok &= recvmmsg(tq, &mm, 1, MSG_DONTWAIT, &forever) < 0 && errno == EAGAIN;
	printf("timeouts: %s\n", neg_ok && huge_ok ? "bounded" : "wrong");
	close(tq);

	/* 6. Still a working stack. */
	l = socket(AF_INET, SOCK_STREAM, 0);
	la = lo(0);
	bind(l, (struct sockaddr *)&la, sizeof la);
	listen(l, 1);
	la = lo(port_of(l));
	c = socket(AF_INET, SOCK_STREAM, 0);
	int ok = connect(c, (struct sockaddr *)&la, sizeof la) == 0;
	s = accept(l, NULL, NULL);
	ok &= write(c, "ping", 4) == 4 && read(s, b, 4) == 4 && !memcmp(b, "ping", 4);
	printf("after all that: %s\n", ok ? "working" : "broken");
	printf("done\n");
	return 0;
}
