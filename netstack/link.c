/* A packet link over a datagram socket: the sandbox's side and the
 * host's side of one socketpair, one IPv4 packet per datagram. */
#include <sys/socket.h>

#include "internal.h"

int ns_link_fd_tx(void *ctx, const uint8_t *pkt, size_t len)
{
	int fd = *(const int *)ctx;
	ssize_t r;
	do
		r = send(fd, pkt, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r == (ssize_t)len)
		return 0;
	return r < 0 && errno != EAGAIN ? -errno : -ENOBUFS;
}

int ns_link_fd_rx(struct ns_stack *s, int ifindex, int fd)
{
	static uint8_t buf[IP_MAX_LEN + 1];
	int n = 0;
	/* A bounded batch: a peer that floods the link cannot keep the
	 * owner's loop here forever. */
	while (n < 256) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (r < 0)
			return errno == EAGAIN || errno == EINTR ? n : -errno;
		if (r == 0)
			return n ? n : -EPIPE;
		if ((size_t)r > IP_MAX_LEN)
			continue; /* longer than any IPv4 packet: not one */
		ns_input(s, ifindex, buf, (size_t)r);
		n++;
	}
	return n;
}
