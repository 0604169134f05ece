/* AF_NETLINK, NETLINK_ROUTE: what programs ask the kernel about their
 * network (glibc's getifaddrs and if_nameindex, node's
 * os.networkInterfaces): the sandbox's interfaces (RTM_GETLINK) and
 * addresses (RTM_GETADDR), answered from its netstack.  A request is
 * answered when written; the answers wait in the socket's queue, a
 * datagram each, for recv.  Everything else that asks is refused with an
 * NLMSG_ERROR (EOPNOTSUPP), as a kernel without that feature would. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../netstack/netstack.h"
#include "net.h"

/* What one socket may have waiting: past it, requests get ENOBUFS. */
#define NL_QUEUE_MAX (256 * 1024)
#define NL_MSG_MAX 8192

struct nl_dgram {
	struct nl_dgram *next;
	size_t len;
	uint8_t data[];
};

struct nl_sock {
	struct k_kernel *k;
	int type;
	uint32_t port; /* nl_pid: the owner's pid, from bind or the first use */
	struct nl_dgram *head, *tail;
	size_t queued;
	int rflags;
	size_t got_len;
};

static const struct k_file_ops netlink_ops;

bool netlink_file(const struct k_file *f)
{
	return f->ops == &netlink_ops;
}

/* A message being built into a datagram. */
struct nl_buf {
	uint8_t data[NL_MSG_MAX];
	size_t len;
	bool full;
};

static void *nl_put(struct nl_buf *b, size_t n)
{
	size_t at = NLMSG_ALIGN(b->len);
	if (at + NLMSG_ALIGN(n) > sizeof(b->data)) {
		b->full = true;
		return NULL;
	}
	memset(b->data + b->len, 0, at + NLMSG_ALIGN(n) - b->len);
	b->len = at + n;
	return b->data + at;
}

static struct nlmsghdr *nl_msg(struct nl_buf *b, uint16_t type, uint16_t flags, uint32_t seq,
			       uint32_t port)
{
	struct nlmsghdr *h = nl_put(b, sizeof(*h));
	if (h)
		*h = (struct nlmsghdr){.nlmsg_type = type, .nlmsg_flags = flags, .nlmsg_seq = seq,
				       .nlmsg_pid = port};
	return h;
}

static void nl_attr(struct nl_buf *b, uint16_t type, const void *v, size_t n)
{
	struct rtattr *a = nl_put(b, RTA_LENGTH(n));
	if (!a)
		return;
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(n);
	memcpy(RTA_DATA(a), v, n);
	b->len = NLMSG_ALIGN(b->len);
}

static void nl_end(struct nl_buf *b, struct nlmsghdr *h)
{
	h->nlmsg_len = (uint32_t)(b->data + b->len - (uint8_t *)h);
}

static int queue_dgram(struct nl_sock *n, const struct nl_buf *b)
{
	if (n->queued + b->len > NL_QUEUE_MAX)
		return -ENOBUFS;
	struct nl_dgram *d = malloc(sizeof(*d) + b->len);
	if (!d)
		return -ENOMEM;
	d->next = NULL;
	d->len = b->len;
	memcpy(d->data, b->data, b->len);
	if (n->tail)
		n->tail->next = d;
	else
		n->head = d;
	n->tail = d;
	n->queued += b->len;
	return 0;
}

static int reply_error(struct nl_sock *n, const struct nlmsghdr *req, int err)
{
	struct nl_buf b = {.len = 0};
	struct nlmsghdr *h = nl_msg(&b, NLMSG_ERROR, 0, req->nlmsg_seq, n->port);
	struct nlmsgerr *e = nl_put(&b, sizeof(*e));
	e->error = err;
	e->msg = *req;
	nl_end(&b, h);
	return queue_dgram(n, &b);
}

static void put_link(struct nl_buf *b, const struct ns_ifinfo *i, uint32_t seq, uint32_t port,
		     uint16_t flags)
{
	struct nlmsghdr *h = nl_msg(b, RTM_NEWLINK, flags, seq, port);
	struct ifinfomsg *ifi = nl_put(b, sizeof(*ifi));
	if (!h || !ifi)
		return;
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_type = i->loopback ? ARPHRD_LOOPBACK : ARPHRD_NONE;
	ifi->ifi_index = i->index;
	ifi->ifi_flags = IFF_UP | IFF_RUNNING | IFF_LOWER_UP |
			 (i->loopback ? IFF_LOOPBACK : IFF_POINTOPOINT | IFF_NOARP);
	b->len = NLMSG_ALIGN(b->len);
	nl_attr(b, IFLA_IFNAME, i->name, strlen(i->name) + 1);
	uint32_t mtu = (uint32_t)i->mtu, txq = i->loopback ? 1000 : 500;
	nl_attr(b, IFLA_MTU, &mtu, sizeof(mtu));
	nl_attr(b, IFLA_TXQLEN, &txq, sizeof(txq));
	uint8_t oper = 6; /* IF_OPER_UP */
	nl_attr(b, IFLA_OPERSTATE, &oper, 1);
	if (i->loopback) {
		static const uint8_t zero[6];
		nl_attr(b, IFLA_ADDRESS, zero, sizeof(zero));
		nl_attr(b, IFLA_BROADCAST, zero, sizeof(zero));
	}
	struct rtnl_link_stats st = {
		.rx_packets = (uint32_t)i->rx_packets, .tx_packets = (uint32_t)i->tx_packets,
		.rx_bytes = (uint32_t)i->rx_bytes, .tx_bytes = (uint32_t)i->tx_bytes,
		.rx_dropped = (uint32_t)i->rx_dropped, .tx_dropped = (uint32_t)i->tx_dropped,
	};
	nl_attr(b, IFLA_STATS, &st, sizeof(st));
	nl_end(b, h);
}

static void put_addr(struct nl_buf *b, const struct ns_ifinfo *i, uint32_t seq, uint32_t port,
		     uint16_t flags)
{
	struct nlmsghdr *h = nl_msg(b, RTM_NEWADDR, flags, seq, port);
	struct ifaddrmsg *ifa = nl_put(b, sizeof(*ifa));
	if (!h || !ifa)
		return;
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)i->prefix;
	ifa->ifa_flags = IFA_F_PERMANENT;
	ifa->ifa_scope = i->loopback ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)i->index;
	b->len = NLMSG_ALIGN(b->len);
	uint32_t a = htonl(i->addr);
	nl_attr(b, IFA_ADDRESS, &a, 4);
	nl_attr(b, IFA_LOCAL, &a, 4);
	if (!i->loopback && i->prefix < 31) {
		uint32_t mask = i->prefix ? 0xffffffffu << (32 - i->prefix) : 0;
		uint32_t bc = htonl(i->addr | ~mask);
		nl_attr(b, IFA_BROADCAST, &bc, 4);
	}
	nl_attr(b, IFA_LABEL, i->name, strlen(i->name) + 1);
	nl_end(b, h);
}

/* One request: its answers queued (a dump ends with NLMSG_DONE). */
static int handle(struct nl_sock *n, struct ns_stack *s, const struct nlmsghdr *req)
{
	bool dump = (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	uint16_t type = req->nlmsg_type;
	if (type != RTM_GETLINK && type != RTM_GETADDR) {
		if (type < NLMSG_MIN_TYPE)
			return 0; /* NOOP, DONE, ERROR sent to the kernel: nothing */
		return reply_error(n, req, -EOPNOTSUPP);
	}
	if (type == RTM_GETADDR && !dump)
		return reply_error(n, req, -EOPNOTSUPP);
	int want = 0;
	if (!dump) {
		const struct ifinfomsg *ifi = NLMSG_DATA(req);
		if (req->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
			return reply_error(n, req, -EINVAL);
		want = ifi->ifi_index;
	}
	struct nl_buf b = {.len = 0};
	int err = 0, found = 0;
	struct ns_ifinfo i;
	for (int k = 0; s && ns_if_info(s, k, &i) > 0; k++) {
		if (want && i.index != want)
			continue;
		found++;
		size_t before = b.len;
		if (type == RTM_GETLINK)
			put_link(&b, &i, req->nlmsg_seq, n->port, dump ? NLM_F_MULTI : 0);
		else
			put_addr(&b, &i, req->nlmsg_seq, n->port, NLM_F_MULTI);
		if (b.full) {
			/* This one goes in a datagram of its own. */
			b.len = before;
			b.full = false;
			if ((err = queue_dgram(n, &b)))
				return err;
			b.len = 0;
			k--;
		}
	}
	if (!dump) {
		if (!found)
			return reply_error(n, req, -ENODEV);
		return queue_dgram(n, &b);
	}
	struct nlmsghdr *d = nl_msg(&b, NLMSG_DONE, NLM_F_MULTI, req->nlmsg_seq, n->port);
	int *zero = nl_put(&b, sizeof(int));
	if (d && zero) {
		*zero = 0;
		nl_end(&b, d);
	}
	return queue_dgram(n, &b);
}

static ssize_t netlink_write(struct k_file *f, const struct iovec *iov, int cnt, int64_t *pos)
{
	struct nl_sock *n = f->priv;
	if (pos)
		return -ESPIPE;
	size_t len = iov_total(iov, cnt);
	if (len > NL_MSG_MAX)
		return -EMSGSIZE;
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	size_t at = 0;
	for (int i = 0; i < cnt; i++) {
		if (iov[i].iov_len)
			memcpy(buf + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	struct ns_stack *s = k_net_stack(n->k);
	int err = 0;
	/* Each message in the datagram, checked before it is believed. */
	for (size_t off = 0; off + sizeof(struct nlmsghdr) <= len && !err;) {
		struct nlmsghdr h;
		memcpy(&h, buf + off, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off)
			break;
		uint8_t *copy = malloc(h.nlmsg_len);
		if (!copy) {
			err = -ENOMEM;
			break;
		}
		memcpy(copy, buf + off, h.nlmsg_len);
		if (h.nlmsg_flags & NLM_F_REQUEST)
			err = handle(n, s, (struct nlmsghdr *)copy);
		if (!err && (h.nlmsg_flags & NLM_F_ACK))
			err = reply_error(n, (struct nlmsghdr *)copy, 0);
		free(copy);
		off += NLMSG_ALIGN(h.nlmsg_len);
	}
	free(buf);
	k_file_notify();
	return err ? err : (ssize_t)len;
}

static ssize_t netlink_read(struct k_file *f, const struct iovec *iov, int cnt, int64_t *pos)
{
	struct nl_sock *n = f->priv;
	if (pos)
		return -ESPIPE;
	struct nl_dgram *d = n->head;
	if (!d)
		return -K_EBLOCK;
	size_t done = 0;
	for (int i = 0; i < cnt && done < d->len; i++) {
		size_t take = d->len - done < iov[i].iov_len ? d->len - done : iov[i].iov_len;
		memcpy(iov[i].iov_base, d->data + done, take);
		done += take;
	}
	n->got_len = d->len;
	if (!(n->rflags & MSG_PEEK)) {
		n->head = d->next;
		if (!n->head)
			n->tail = NULL;
		n->queued -= d->len;
		free(d);
	}
	return (ssize_t)done;
}

static short netlink_poll(struct k_file *f)
{
	struct nl_sock *n = f->priv;
	return (short)((n->head ? POLLIN | POLLRDNORM : 0) | POLLOUT | POLLWRNORM);
}

static void netlink_release(struct k_file *f)
{
	struct nl_sock *n = f->priv;
	if (!n)
		return;
	while (n->head) {
		struct nl_dgram *d = n->head;
		n->head = d->next;
		free(d);
	}
	free(n);
}

static int netlink_stat(struct k_file *f, struct stat *st)
{
	int r = anon_stat(f, st);
	st->st_mode = S_IFSOCK | 0777;
	return r;
}

static const struct k_file_ops netlink_ops = {
	.read = netlink_read,
	.write = netlink_write,
	.stat = netlink_stat,
	.seek = anon_seek,
	.poll = netlink_poll,
	.release = netlink_release,
	.anon_name = "socket",
};

long netlink_socket(struct k_task *t, int type, int proto, int flags)
{
	if (type != SOCK_RAW && type != SOCK_DGRAM)
		return -ESOCKTNOSUPPORT;
	if (proto != NETLINK_ROUTE)
		return -EPROTONOSUPPORT;
	struct nl_sock *n = calloc(1, sizeof(*n));
	struct k_file *f = n ? file_new(&netlink_ops, O_RDWR | ((flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0))
			     : NULL;
	if (!f) {
		free(n);
		return -ENOMEM;
	}
	n->k = t->k;
	n->type = type;
	n->port = (uint32_t)t->tg->pid;
	f->priv = n;
	int fd = fdt_install(t, f, 0, flags & SOCK_CLOEXEC);
	file_put(f);
	return fd;
}

static long put_nladdr(struct k_task *t, uint64_t uaddr, uint64_t ulen, uint32_t pid)
{
	struct sockaddr_nl a = {.nl_family = AF_NETLINK, .nl_pid = pid};
	return sock_copy_out(t, uaddr, ulen, &a, sizeof(a), SOCK_OUT_ADDR);
}

long netlink_bind(struct k_task *t, struct k_file *f, uint64_t uaddr, int len)
{
	struct nl_sock *n = f->priv;
	struct sockaddr_nl a;
	if (len < (int)sizeof(a))
		return -EINVAL;
	if (k_copy_in(t, &a, uaddr, sizeof(a)))
		return -EFAULT;
	if (a.nl_family != AF_NETLINK)
		return -EINVAL;
	if (a.nl_groups)
		return -EPERM; /* no multicast groups to join yet */
	if (a.nl_pid)
		n->port = a.nl_pid;
	return 0;
}

long netlink_getname(struct k_task *t, struct k_file *f, uint64_t uaddr, uint64_t ulen, bool peer)
{
	struct nl_sock *n = f->priv;
	return put_nladdr(t, uaddr, ulen, peer ? 0 : n->port);
}

long netlink_transfer(struct k_task *t, struct k_file *f, struct iovec *gv, int cnt, int flags,
		      bool send, uint64_t uaddr, uint64_t ulen, bool *trunc)
{
	struct nl_sock *n = f->priv;
	n->rflags = flags & MSG_PEEK;
	n->got_len = 0;
	int rw = ((flags & MSG_DONTWAIT) ? K_RW_NONBLOCK : 0) | K_RW_NOSIGNAL;
	long r = k_file_rw(t, f, gv, cnt, send, NULL, rw);
	n->rflags = 0;
	if (r < 0 || send)
		return r;
	*trunc = n->got_len > (size_t)r;
	long err = put_nladdr(t, uaddr, ulen, 0); /* from the kernel */
	if (err)
		return err;
	return (flags & MSG_TRUNC) ? (long)n->got_len : r;
}
