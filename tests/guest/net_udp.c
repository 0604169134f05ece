/* net_udp.c - UDP over loopback: sendto and recvfrom with the source's
 * address, a connected socket's send and recv, MSG_PEEK, MSG_TRUNC (in
 * the flags and in msg_flags), an empty datagram, a receive into no
 * buffer (it waits for a datagram and takes it), FIONREAD, recvmsg's
 * name, a connected socket that sends to a closed port and hears
 * ECONNREFUSED, and disconnecting with AF_UNSPEC. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

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

static int bound(void)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = loopback(0);
	if (bind(u, (struct sockaddr *)&a, sizeof a))
		die("bind");
	return u;
}

static struct sockaddr_in name_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &len);
	return a;
}

int main(void)
{
	GUEST_INIT();
	int a = bound(), b = bound();
	struct sockaddr_in an = name_of(a), bn = name_of(b);
	CHECK("sendto", sendto(b, "first", 5, 0, (struct sockaddr *)&an, sizeof an));
	CHECK("sendto", sendto(b, "second!", 7, 0, (struct sockaddr *)&an, sizeof an));
	int avail = -1;
	ioctl(a, FIONREAD, &avail);
	printf("FIONREAD %d (the next datagram)\n", avail);
	char buf[64] = {0};
	struct sockaddr_in from;
	socklen_t flen = sizeof from;
	ssize_t k = recvfrom(a, buf, sizeof buf, MSG_PEEK, (struct sockaddr *)&from, &flen);
	printf("peek %zd '%.*s'\n", k, (int)k, buf);
	k = recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
	printf("recvfrom %zd '%.*s' from the sender: %d\n", k, (int)k, buf,
	       flen == sizeof from && from.sin_port == bn.sin_port &&
		       from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	k = recv(a, buf, 3, MSG_TRUNC);
	printf("recv 3 with MSG_TRUNC: %zd '%.3s'\n", k, buf);

	/* recvmsg: the name and MSG_TRUNC in msg_flags. */
	sendto(b, "0123456789", 10, 0, (struct sockaddr *)&an, sizeof an);
	struct iovec iov = {buf, 4};
	struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
			    .msg_iovlen = 1};
	k = recvmsg(a, &mh, 0);
	printf("recvmsg %zd '%.4s' truncated %d namelen %u\n", k, buf, !!(mh.msg_flags & MSG_TRUNC),
	       mh.msg_namelen);

	/* An empty datagram. */
	CHECK("send empty", sendto(b, "", 0, 0, (struct sockaddr *)&an, sizeof an));
	CHECK("recv empty", recv(a, buf, sizeof buf, 0));
	CHECK("recv into no buffer, nothing queued", recv(a, buf, 0, MSG_DONTWAIT));
	sendto(b, "xyz", 3, 0, (struct sockaddr *)&an, sizeof an);
	CHECK("recv into no buffer takes a datagram", recv(a, buf, 0, 0));
	CHECK("it is gone", recv(a, buf, sizeof buf, MSG_DONTWAIT));

	/* Connected: the peer is implied, and only its datagrams come. */
	CHECK("connect", connect(b, (struct sockaddr *)&an, sizeof an));
	CHECK("send", send(b, "via connect", 11, 0));
	k = recv(a, buf, sizeof buf, 0);
	printf("got %zd '%.*s'\n", k, (int)k, buf);
	int c = bound();
	struct sockaddr_in bn2 = name_of(b);
	sendto(c, "stranger", 8, 0, (struct sockaddr *)&bn2, sizeof bn2);
	CHECK("recv on b (the stranger's was filtered)", recv(b, buf, sizeof buf, MSG_DONTWAIT));
	struct sockaddr_in pn;
	socklen_t pnlen = sizeof pn;
	CHECK("getpeername", getpeername(b, (struct sockaddr *)&pn, &pnlen));

	/* A closed port: ECONNREFUSED comes back to the connected socket. */
	int gone = bound();
	struct sockaddr_in gn = name_of(gone);
	close(gone);
	int d = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK("connect to a closed port", connect(d, (struct sockaddr *)&gn, sizeof gn));
	CHECK("send to it", send(d, "anyone?", 7, 0));
	usleep(100000);
	CHECK("recv: refused", recv(d, buf, sizeof buf, MSG_DONTWAIT));
	CHECK("recv again: nothing", recv(d, buf, sizeof buf, MSG_DONTWAIT));

	/* Disconnect. */
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	CHECK("disconnect", connect(b, &unspec, sizeof unspec));
	CHECK("getpeername after", getpeername(b, (struct sockaddr *)&pn, &pnlen));
	CHECK("send without a peer", send(b, "x", 1, 0));
	CHECK("sendto port 0", sendto(b, "x", 1, 0, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)}, sizeof(struct sockaddr_in)));
	close(a);
	close(b);
	close(c);
	close(d);
	return 0;
}
