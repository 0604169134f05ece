/* A packet link over a descriptor: one IPv4 packet per read and write.
 * The sandbox's link (a SOCK_SEQPACKET socketpair between the sentry and
 * its gateway) and a TUN device (tests against Linux's own TCP) are both
 * such descriptors.  They are non-blocking: a full queue drops a packet,
 * as a NIC's does, and reading stops when nothing is left. */
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"

int ns_link_fd_tx(void *ctx, const uint8_t *pkt, size_t len)
{
	int fd = *(const int *)ctx;
	ssize_t r;
	do
		r = write(fd, pkt, len);
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
		ssize_t r = read(fd, buf, sizeof(buf));
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

int ns_tun_open(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	size_t n = strlen(name);
	if (n >= sizeof(ifr.ifr_name)) {
		close(fd);
		return -EINVAL;
	}
	memcpy(ifr.ifr_name, name, n);
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}
