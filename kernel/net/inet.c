/* AF_INET sockets: TCP and UDP endpoints of the sandbox's own netstack
 * (netstack/), never the host's.  The stack has the loopback interface
 * (127.0.0.1/8) until the sandbox's link comes; its clock is the
 * sandbox's monotonic clock, and the scheduler runs its timers
 * (k_net_tick).  Reads and writes go through the read/write layer, so
 * blocking, O_NONBLOCK, signals and SIGPIPE work as for pipes; accept and
 * connect sleep on the same queue, which the stack's readiness
 * notifications wake. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/tcp.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "../../netstack/netstack.h"
#include "../../snapshot/snapshot.h"
#include "net.h"

#define ERESTARTSYS 512 /* the kernel's: restart under SA_RESTART */

/* Linux's defaults as getsockopt shows them: tcp_rmem[1], tcp_wmem[1],
 * and the datagram default (wmem/rmem_default). */
#define TCP_RCVBUF_DEFAULT 131072
#define TCP_SNDBUF_DEFAULT 16384
#define UDP_BUF_DEFAULT 212992
#define SOMAXCONN_ 4096
#define BACKLOG_MIN 128

struct inet_sock {
	struct k_kernel *k;
	int type; /* SOCK_STREAM or SOCK_DGRAM */
	struct ns_tcp *tcp;
	struct ns_udp *udp;
	int rcvbuf, sndbuf;
	int backlog; /* listen's, as the stack got it */
	bool reuseaddr, reuseport, keepalive, broadcast, nodelay;
	bool connecting; /* a connect said EINPROGRESS: the next one reports */
	struct linger linger;
	int tos, ttl;
	struct timeval rcvtimeo, sndtimeo;
	int64_t deadline; /* SO_RCVTIMEO/SO_SNDTIMEO: when a blocked call gives up */
	/* What the call in progress asked (read by the file operations). */
	int flags;
	bool has_to;
	struct ns_sockaddr to, from;
	size_t full;
};

static const struct k_file_ops inet_ops;

bool inet_file(const struct k_file *f)
{
	return f->ops == &inet_ops;
}


static void wake_files(void *ctx)
{
	(void)ctx;
	k_file_notify();
}

int k_net_init(struct k_kernel *k)
{
	k->net_fd = k->cfg.net_fd > 0 ? k->cfg.net_fd : -1;
	if (k->net_fd < 0)
		return 0;
	k->net = ns_stack_new();
	if (!k->net || ns_if_add_loopback(k->net) < 0)
		return -ENOMEM;
	int ifx = ns_if_add(k->net, "eth0", K_NET_GUEST, K_NET_PREFIX, K_NET_MTU, ns_link_fd_tx,
			    &k->net_fd);
	if (ifx < 0 || ns_route_default(k->net, ifx) < 0)
		return ifx < 0 ? ifx : -EINVAL;
	k->net_if = ifx;
	return 0;
}

void k_net_rx(struct k_kernel *k)
{
	if (!k->net || !k->net_if)
		return;
	ns_set_time(k->net, (uint64_t)sock_now_ns());
	int n = ns_link_fd_rx(k->net, k->net_if, k->net_fd);
	if (n < 0) {
		/* The host side is gone: the link is down for good (sends on
		 * it fail and are dropped, as on a cable pulled out). */
		k_log(k, "network link closed: %s", strerror(-n));
		k->net_fd = -1;
	}
	if (n != 0)
		k_file_notify();
}

/* The sandbox's stack (made at its first socket when it has no link),
 * its clock set. */
static struct ns_stack *stack_of(struct k_kernel *k)
{
	if (!k->net) {
		k->net = ns_stack_new();
		if (!k->net)
			return NULL;
		if (ns_if_add_loopback(k->net) < 0) {
			ns_stack_free(k->net);
			k->net = NULL;
			return NULL;
		}
	}
	ns_set_time(k->net, (uint64_t)sock_now_ns());
	return k->net;
}

struct ns_stack *k_net_stack(struct k_kernel *k)
{
	return stack_of(k);
}

void k_net_tick(struct k_kernel *k, int64_t now, int64_t *wake)
{
	if (!k->net)
		return;
	uint64_t d = ns_next_deadline(k->net);
	if (d != UINT64_MAX && (int64_t)d <= now) {
		ns_run_timers(k->net, (uint64_t)now);
		d = ns_next_deadline(k->net);
	}
	if (d != UINT64_MAX && (!*wake || (int64_t)d < *wake))
		*wake = (int64_t)d;
}

void k_net_free(struct k_kernel *k)
{
	ns_stack_free(k->net);
	k->net = NULL;
}

static struct inet_sock *sock_of(struct k_file *f)
{
	return f->priv;
}

/* ---- file operations ---- */
/* A transfer that would wait: it sleeps (K_EBLOCK), until the socket's
 * timeout, if it has one, runs out: EAGAIN then, as Linux's. */
static ssize_t blocked(struct inet_sock *sk, bool write)
{
	const struct timeval *tv = write ? &sk->sndtimeo : &sk->rcvtimeo;
	if (!tv->tv_sec && !tv->tv_usec)
		return -K_EBLOCK;
	int64_t now = sock_now_ns();
	if (!sk->deadline) {
		sk->deadline = sock_deadline(tv->tv_sec, tv->tv_usec * 1000LL);
		return -K_EBLOCK;
	}
	if (now >= sk->deadline) {
		sk->deadline = 0;
		return -EAGAIN;
	}
	return -K_EBLOCK;
}

static int64_t inet_poll_wake(struct k_file *f)
{
	return sock_of(f)->deadline;
}

static ssize_t inet_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct inet_sock *sk = sock_of(f);
	if (pos)
		return -ESPIPE;
	stack_of(sk->k);
	int fl = (sk->flags & MSG_PEEK) ? NS_MSG_PEEK : 0;
	ssize_t r;
	if (sk->tcp)
		r = ns_tcp_recv(sk->tcp, iov, n, fl);
	else
		r = ns_udp_recvmsg(sk->udp, iov, n, fl, &sk->from, &sk->full);
	if (r == -EAGAIN)
		return blocked(sk, false);
	sk->deadline = 0;
	return r;
}

static ssize_t inet_write(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct inet_sock *sk = sock_of(f);
	if (pos)
		return -ESPIPE;
	stack_of(sk->k);
	ssize_t r;
	if (sk->tcp) {
		/* The layer above hands an empty write a NULL buffer. */
		if (n == 1 && !iov[0].iov_base)
			return 0;
		r = ns_tcp_send(sk->tcp, iov, n, 0);
	} else {
		/* An empty datagram comes as one NULL buffer. */
		bool empty = n == 1 && !iov[0].iov_base;
		r = ns_udp_sendmsg(sk->udp, iov, empty ? 0 : n, sk->has_to ? &sk->to : NULL, 0);
	}
	if (r == -EAGAIN)
		return blocked(sk, true);
	sk->deadline = 0;
	return r;
}

static short inet_poll(struct k_file *f)
{
	struct inet_sock *sk = sock_of(f);
	unsigned m = sk->tcp ? ns_tcp_poll(sk->tcp) : ns_udp_poll(sk->udp);
	short r = 0;
	if (m & NS_POLLIN)
		r |= POLLIN | POLLRDNORM;
	if (m & NS_POLLOUT)
		r |= POLLOUT | POLLWRNORM;
	if (m & NS_POLLERR)
		r |= POLLERR;
	if (m & NS_POLLHUP)
		r |= POLLHUP;
	if (m & NS_POLLRDHUP)
		r |= POLLRDHUP;
	return r;
}

static bool inet_at_eof(struct k_file *f)
{
	struct inet_sock *sk = sock_of(f);
	return sk->tcp && ns_tcp_readable(sk->tcp) == 0 && (ns_tcp_poll(sk->tcp) & NS_POLLIN) &&
	       !(ns_tcp_poll(sk->tcp) & NS_POLLERR);
}

static int inet_stat(struct k_file *f, struct stat *st)
{
	int r = anon_stat(f, st);
	st->st_mode = S_IFSOCK | 0777;
	st->st_blksize = 4096;
	return r;
}

static void inet_release(struct k_file *f)
{
	struct inet_sock *sk = sock_of(f);
	if (!sk)
		return;
	stack_of(sk->k);
	if (sk->tcp)
		ns_tcp_close(sk->tcp);
	if (sk->udp)
		ns_udp_close(sk->udp);
	free(sk);
	k_file_notify();
}

static bool listening(const struct inet_sock *sk)
{
	if (!sk->tcp)
		return false;
	struct ns_tcp_info ni;
	ns_tcp_info(sk->tcp, &ni);
	return ni.state == 10; /* TCP_LISTEN */
}

/* The interface an ifreq names (by name, or by index for SIOCGIFNAME). */
static int find_if(struct ns_stack *s, const struct ifreq *r, bool by_index, struct ns_ifinfo *out)
{
	for (int k = 0; ns_if_info(s, k, out) > 0; k++)
		if (by_index ? out->index == r->ifr_ifindex
			     : !strncmp(out->name, r->ifr_name, sizeof(r->ifr_name)))
			return 0;
	return -ENODEV;
}

static void set_sin(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(addr)};
	memcpy(sa, &in, sizeof(in));
}

/* The interface ioctls (SIOCGIF*): what ifconfig and older programs ask,
 * answered from the sandbox's netstack.  Setting anything is EPERM. */
static long if_ioctl(struct k_task *t, unsigned cmd, uint64_t arg)
{
	struct ns_stack *s = stack_of(t->k);
	struct ns_ifinfo i;
	if (cmd == SIOCGIFCONF) {
		struct ifconf ic;
		if (k_copy_in(t, &ic, arg, sizeof(ic)))
			return -EFAULT;
		int len = 0;
		for (int k = 0; ns_if_info(s, k, &i) > 0; k++) {
			if (ic.ifc_buf) {
				if (ic.ifc_len - len < (int)sizeof(struct ifreq))
					break;
				struct ifreq r;
				memset(&r, 0, sizeof(r));
				memcpy(r.ifr_name, i.name, sizeof(r.ifr_name) - 1);
				set_sin(&r.ifr_addr, i.addr);
				if (k_copy_out(t, (uint64_t)ic.ifc_buf + (uint64_t)len, &r, sizeof(r)))
					return -EFAULT;
			}
			len += (int)sizeof(struct ifreq);
		}
		ic.ifc_len = len;
		return k_copy_out(t, arg, &ic, sizeof(ic));
	}
	struct ifreq r;
	if (k_copy_in(t, &r, arg, sizeof(r)))
		return -EFAULT;
	int err = find_if(s, &r, cmd == SIOCGIFNAME, &i);
	if (err)
		return err;
	switch (cmd) {
	case SIOCGIFNAME: memset(r.ifr_name, 0, sizeof(r.ifr_name));
		memcpy(r.ifr_name, i.name, sizeof(r.ifr_name) - 1);
		break;
	case SIOCGIFINDEX: r.ifr_ifindex = i.index; break;
	case SIOCGIFFLAGS:
		r.ifr_flags = (short)(IFF_UP | IFF_RUNNING |
				      (i.loopback ? IFF_LOOPBACK : IFF_POINTOPOINT | IFF_NOARP));
		break;
	case SIOCGIFMTU: r.ifr_mtu = i.mtu; break;
	case SIOCGIFADDR: set_sin(&r.ifr_addr, i.addr); break;
	case SIOCGIFNETMASK: set_sin(&r.ifr_netmask, i.prefix ? 0xffffffffu << (32 - i.prefix) : 0); break;
	case SIOCGIFBRDADDR:
		set_sin(&r.ifr_broadaddr, i.addr | (i.prefix ? ~(0xffffffffu << (32 - i.prefix)) : ~0u));
		break;
	case SIOCGIFHWADDR:
		memset(&r.ifr_hwaddr, 0, sizeof(r.ifr_hwaddr));
		r.ifr_hwaddr.sa_family = i.loopback ? ARPHRD_LOOPBACK : ARPHRD_NONE;
		break;
	default: return -EINVAL;
	}
	return k_copy_out(t, arg, &r, sizeof(r));
}

static long inet_ioctl(struct k_task *t, struct k_file *f, unsigned cmd, uint64_t arg)
{
	struct inet_sock *sk = sock_of(f);
	int n;
	switch (cmd) {
	case SIOCGIFCONF: case SIOCGIFNAME: case SIOCGIFINDEX: case SIOCGIFFLAGS:
	case SIOCGIFMTU: case SIOCGIFADDR: case SIOCGIFNETMASK: case SIOCGIFBRDADDR:
	case SIOCGIFHWADDR:
		return if_ioctl(t, cmd, arg);
	case SIOCSIFFLAGS: case SIOCSIFADDR: case SIOCSIFNETMASK: case SIOCSIFMTU:
	case SIOCSIFBRDADDR: case SIOCSIFNAME: case SIOCSIFHWADDR:
		return -EPERM;
	case FIONREAD:
		if (listening(sk))
			return -EINVAL;
		n = (int)(sk->tcp ? ns_tcp_readable(sk->tcp) : ns_udp_next_len(sk->udp));
		break;
	case TIOCOUTQ:
		n = (int)(sk->tcp ? ns_tcp_unsent(sk->tcp) : 0);
		break;
	default:
		return -ENOTTY;
	}
	return k_copy_out(t, arg, &n, sizeof(n));
}

/* ---- checkpoint and restore ----
 * What survives: the socket's options, its address, a TCP listener
 * (listening again; connections it had not accepted are gone) and a UDP
 * endpoint's association.  A TCP connection cannot move to a new sandbox
 * with its peer: it comes back closed, reporting ECONNRESET. */
enum { INET_FRESH, INET_LISTEN, INET_RESET, INET_UDP };
static struct inet_sock *sock_new(struct k_kernel *k, int type);
static struct k_file *sock_file(struct inet_sock *sk, int flags);

static int inet_save(struct k_file *f, struct snap_enc *e, struct ckpt_ctx *c)
{
	(void)c;
	struct inet_sock *sk = sock_of(f);
	struct ns_sockaddr local = {0}, peer = {0};
	int what;
	if (sk->tcp) {
		struct ns_tcp_info info;
		ns_tcp_info(sk->tcp, &info);
		ns_tcp_name(sk->tcp, &local, NULL);
		what = info.state == 10 ? INET_LISTEN : info.state == 7 ? INET_FRESH : INET_RESET;
	} else {
		ns_udp_name(sk->udp, &local, NULL);
		if (ns_udp_name(sk->udp, NULL, &peer) != 0)
			peer = (struct ns_sockaddr){0};
		what = INET_UDP;
	}
	snap_put_u8(e, (uint8_t)what);
	snap_put_u8(e, (uint8_t)sk->type);
	snap_put_u32(e, local.addr);
	snap_put_u16(e, local.port);
	snap_put_u32(e, peer.addr);
	snap_put_u16(e, peer.port);
	snap_put_u32(e, (uint32_t)sk->backlog);
	snap_put_u32(e, (uint32_t)sk->rcvbuf);
	snap_put_u32(e, (uint32_t)sk->sndbuf);
	snap_put_u8(e, (uint8_t)(sk->reuseaddr | sk->reuseport << 1 | sk->keepalive << 2 |
				 sk->broadcast << 3 | sk->nodelay << 4));
	snap_put_u32(e, (uint32_t)sk->linger.l_onoff);
	snap_put_u32(e, (uint32_t)sk->linger.l_linger);
	snap_put_u32(e, (uint32_t)sk->tos);
	snap_put_u32(e, (uint32_t)sk->ttl);
	snap_put_i64(e, sk->rcvtimeo.tv_sec);
	snap_put_i64(e, sk->rcvtimeo.tv_usec);
	snap_put_i64(e, sk->sndtimeo.tv_sec);
	snap_put_i64(e, sk->sndtimeo.tv_usec);
	return 0;
}

int inet_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		 struct k_file **out)
{
	(void)c;
	int what = snap_get_u8(d), type = snap_get_u8(d);
	struct ns_sockaddr local, peer;
	local.addr = snap_get_u32(d);
	local.port = snap_get_u16(d);
	peer.addr = snap_get_u32(d);
	peer.port = snap_get_u16(d);
	int backlog = (int)snap_get_u32(d);
	int rcvbuf = (int)snap_get_u32(d), sndbuf = (int)snap_get_u32(d);
	int bits = snap_get_u8(d);
	struct linger linger = {(int)snap_get_u32(d), (int)snap_get_u32(d)};
	int tos = (int)snap_get_u32(d), ttl = (int)snap_get_u32(d);
	struct timeval rto = {snap_get_i64(d), snap_get_i64(d)};
	struct timeval sto = {snap_get_i64(d), snap_get_i64(d)};
	if (snap_dec_err(d) || what > INET_UDP || (type != SOCK_STREAM && type != SOCK_DGRAM) ||
	    (what == INET_UDP) != (type == SOCK_DGRAM) || backlog < 0 || backlog > SOMAXCONN_ ||
	    rcvbuf < 0 || sndbuf < 0 || rto.tv_sec < 0 || rto.tv_usec < 0 ||
	    rto.tv_usec >= 1000000 || sto.tv_sec < 0 || sto.tv_usec < 0 || sto.tv_usec >= 1000000)
		return -EBADMSG;
	/* setsockopt's bounds (net.core.[rw]mem_max doubled): a snapshot
	 * cannot give a socket more. */
	if (rcvbuf > 425984)
		rcvbuf = 425984;
	if (sndbuf > 425984)
		sndbuf = 425984;
	struct ns_stack *s = stack_of(k);
	struct inet_sock *sk = s ? sock_new(k, type) : NULL;
	if (!sk)
		return -ENOMEM;
	sk->rcvbuf = rcvbuf, sk->sndbuf = sndbuf;
	sk->reuseaddr = bits & 1, sk->reuseport = bits >> 1 & 1, sk->keepalive = bits >> 2 & 1;
	sk->broadcast = bits >> 3 & 1, sk->nodelay = bits >> 4 & 1;
	sk->linger = linger;
	sk->tos = tos, sk->ttl = ttl;
	sk->rcvtimeo = rto, sk->sndtimeo = sto;
	int err = type == SOCK_STREAM ? ns_tcp_open(s, &sk->tcp) : ns_udp_open(s, &sk->udp);
	if (err) {
		free(sk);
		return err;
	}
	if (sk->tcp) {
		ns_tcp_set_notify(sk->tcp, wake_files, NULL);
		ns_tcp_setopt(sk->tcp, NS_TCP_REUSE, sk->reuseaddr || sk->reuseport);
		ns_tcp_setopt(sk->tcp, NS_TCP_NODELAY, sk->nodelay);
		ns_tcp_setopt(sk->tcp, NS_TCP_KEEPALIVE, sk->keepalive);
		if (rcvbuf >= 2048)
			ns_tcp_setopt(sk->tcp, NS_TCP_RCVBUF, rcvbuf);
		if (sndbuf >= 2048)
			ns_tcp_setopt(sk->tcp, NS_TCP_SNDBUF, sndbuf);
		if (what == INET_LISTEN || (what == INET_FRESH && local.port))
			err = ns_tcp_bind(sk->tcp, local.addr, local.port);
		if (!err && what == INET_LISTEN) {
			sk->backlog = backlog;
			err = ns_tcp_listen(sk->tcp, backlog ? backlog : BACKLOG_MIN);
		}
		if (what == INET_RESET)
			ns_tcp_set_error(sk->tcp, ECONNRESET);
	} else {
		ns_udp_set_notify(sk->udp, wake_files, NULL);
		ns_udp_set_reuse(sk->udp, sk->reuseaddr || sk->reuseport);
		ns_udp_set_bufs(sk->udp, (size_t)rcvbuf, (size_t)sndbuf);
		if (local.port)
			err = ns_udp_bind(sk->udp, local.addr, local.port);
		if (!err && peer.port)
			err = ns_udp_connect(sk->udp, peer.addr, peer.port);
	}
	struct k_file *f = err ? NULL : sock_file(sk, flags & O_NONBLOCK ? SOCK_NONBLOCK : 0);
	if (!f) {
		if (sk->tcp)
			ns_tcp_close(sk->tcp);
		else
			ns_udp_close(sk->udp);
		free(sk);
		return err ? err : -ENOMEM;
	}
	f->flags = flags;
	*out = f;
	return 0;
}

static const struct k_file_ops inet_ops = {
	.ckpt_kind = CKF_INET,
	.save = inet_save,
	.read = inet_read,
	.write = inet_write,
	.ioctl = inet_ioctl,
	.stat = inet_stat,
	.seek = anon_seek,
	.at_eof = inet_at_eof,
	.poll = inet_poll,
	.poll_wake = inet_poll_wake,
	.release = inet_release,
	.anon_name = "socket",
};

/* ---- the calls ---- */
static struct k_file *sock_file(struct inet_sock *sk, int flags)
{
	struct k_file *f = file_new(&inet_ops, O_RDWR | ((flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0));
	if (f)
		f->priv = sk;
	return f;
}

static struct inet_sock *sock_new(struct k_kernel *k, int type)
{
	struct inet_sock *sk = calloc(1, sizeof(*sk));
	if (!sk)
		return NULL;
	sk->k = k;
	sk->type = type;
	sk->rcvbuf = type == SOCK_STREAM ? TCP_RCVBUF_DEFAULT : UDP_BUF_DEFAULT;
	sk->sndbuf = type == SOCK_STREAM ? TCP_SNDBUF_DEFAULT : UDP_BUF_DEFAULT;
	sk->ttl = 64;
	return sk;
}

long inet_socket(struct k_task *t, int type, int proto, int flags)
{
	if (type != SOCK_STREAM && type != SOCK_DGRAM)
		return type == SOCK_RAW ? -EPERM : -ESOCKTNOSUPPORT;
	if (proto && proto != (type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
		return -EPROTONOSUPPORT;
	struct ns_stack *s = stack_of(t->k);
	struct inet_sock *sk = s ? sock_new(t->k, type) : NULL;
	if (!sk)
		return -ENOMEM;
	int err = type == SOCK_STREAM ? ns_tcp_open(s, &sk->tcp) : ns_udp_open(s, &sk->udp);
	if (err) {
		free(sk);
		return err == -ENOBUFS ? -ENOBUFS : err;
	}
	if (sk->tcp)
		ns_tcp_set_notify(sk->tcp, wake_files, NULL);
	else
		ns_udp_set_notify(sk->udp, wake_files, NULL);
	struct k_file *f = sock_file(sk, flags);
	if (!f) {
		if (sk->tcp)
			ns_tcp_close(sk->tcp);
		else
			ns_udp_close(sk->udp);
		free(sk);
		return -ENOMEM;
	}
	int fd = fdt_install(t, f, 0, flags & SOCK_CLOEXEC);
	file_put(f);
	return fd;
}

/* A struct sockaddr_in from the guest.  unspec: AF_UNSPEC came. */
static long get_addr(struct k_task *t, uint64_t uaddr, int len, struct ns_sockaddr *out,
		     bool *unspec)
{
	struct sockaddr_in in;
	*unspec = false;
	if (len < 0 || (size_t)len > 128)
		return -EINVAL;
	if ((size_t)len >= sizeof(sa_family_t)) {
		sa_family_t fam;
		if (k_copy_in(t, &fam, uaddr, sizeof(fam)))
			return -EFAULT;
		if (fam == AF_UNSPEC) {
			*unspec = true;
			return 0;
		}
	}
	if ((size_t)len < sizeof(in))
		return -EINVAL;
	if (k_copy_in(t, &in, uaddr, sizeof(in)))
		return -EFAULT;
	if (in.sin_family != AF_INET)
		return -EAFNOSUPPORT;
	out->addr = ntohl(in.sin_addr.s_addr);
	out->port = ntohs(in.sin_port);
	return 0;
}

/* Writes addr as a sockaddr_in to the guest, truncated to its buffer,
 * and the whole length to *ulen (Linux's move_addr_to_user). */
static long put_addr(struct k_task *t, uint64_t uaddr, uint64_t ulen, struct ns_sockaddr a)
{
	struct sockaddr_in in;
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = htons(a.port);
	in.sin_addr.s_addr = htonl(a.addr);
	return sock_copy_out(t, uaddr, ulen, &in, sizeof(in), SOCK_OUT_ADDR);
}

long inet_bind(struct k_task *t, struct k_file *f, uint64_t uaddr, int len)
{
	struct inet_sock *sk = sock_of(f);
	struct ns_sockaddr a = {0};
	bool unspec;
	long err = get_addr(t, uaddr, len, &a, &unspec);
	if (err)
		return err;
	if (unspec) {
		/* Linux takes AF_UNSPEC as AF_INET only for INADDR_ANY. */
		struct sockaddr_in in;
		if ((size_t)len < sizeof(in) || k_copy_in(t, &in, uaddr, sizeof(in)))
			return (size_t)len < sizeof(in) ? -EINVAL : -EFAULT;
		if (in.sin_addr.s_addr != htonl(INADDR_ANY))
			return -EAFNOSUPPORT;
		a.addr = 0;
		a.port = ntohs(in.sin_port);
	}
	stack_of(t->k);
	if (sk->tcp)
		return ns_tcp_bind(sk->tcp, a.addr, a.port);
	return ns_udp_bind(sk->udp, a.addr, a.port);
}

long inet_listen(struct k_task *t, struct k_file *f, int backlog)
{
	struct inet_sock *sk = sock_of(f);
	if (!sk->tcp)
		return -EOPNOTSUPP;
	stack_of(t->k);
	if (backlog > SOMAXCONN_ || backlog < 0)
		backlog = SOMAXCONN_;
	/* Linux runs each loopback handshake as its connect does, and a host
	 * client's as packets come; the sandbox's stack takes a burst off
	 * its link at once, before the guest can accept any.  A small backlog
	 * (python's socketserver asks for 5) would drop most of a burst and
	 * cost each dropped client a second: at least BACKLOG_MIN here. */
	if (backlog < BACKLOG_MIN)
		backlog = BACKLOG_MIN;
	sk->backlog = backlog;
	return ns_tcp_listen(sk->tcp, backlog);
}

/* Sleeps until the stack says something changed; -ERESTARTSYS on a
 * signal (the call restarts under SA_RESTART). */
static long wait_stack(struct k_task *t, int64_t deadline)
{
	struct k_waitq *q = &k_file_events;
	struct timespec dl = {deadline / 1000000000LL, deadline % 1000000000LL};
	struct k_sleep sl = {.qs = &q, .nq = 1};
	if (deadline)
		sl.clock = CLOCK_MONOTONIC, sl.deadline = &dl;
	int r = k_sleep(t, &sl);
	return r == -EINTR ? -ERESTARTSYS : r == -ETIMEDOUT ? -ETIMEDOUT : 0;
}

/* When a call blocked under timeout tv gives up (0: never). */
static int64_t deadline_of(const struct timeval *tv)
{
	if (!tv->tv_sec && !tv->tv_usec)
		return 0;
	return sock_deadline(tv->tv_sec, tv->tv_usec * 1000LL);
}

long inet_accept(struct k_task *t, struct k_file *f, uint64_t uaddr, uint64_t ulen, int flags)
{
	struct inet_sock *sk = sock_of(f);
	if (!sk->tcp)
		return -EOPNOTSUPP;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	struct ns_tcp *c;
	int64_t until = deadline_of(&sk->rcvtimeo);
	for (;;) {
		stack_of(t->k);
		long r = ns_tcp_accept(sk->tcp, &c);
		if (r == 0)
			break;
		if (r != -EAGAIN || (f->flags & O_NONBLOCK))
			return r;
		if ((r = wait_stack(t, until)))
			return r == -ETIMEDOUT ? -EAGAIN : r;
	}
	struct inet_sock *nsk = sock_new(t->k, SOCK_STREAM);
	struct k_file *nf = nsk ? sock_file(nsk, flags) : NULL;
	if (!nf) {
		free(nsk);
		ns_tcp_close(c);
		return -ENOMEM;
	}
	nsk->tcp = c;
	nsk->nodelay = sk->nodelay;
	nsk->keepalive = sk->keepalive;
	ns_tcp_set_notify(c, wake_files, NULL);
	struct ns_sockaddr peer;
	ns_tcp_name(c, NULL, &peer);
	long err = put_addr(t, uaddr, ulen, peer);
	if (err) {
		file_put(nf);
		return err;
	}
	int fd = fdt_install(t, nf, 0, flags & SOCK_CLOEXEC);
	file_put(nf);
	return fd;
}

long inet_connect(struct k_task *t, struct k_file *f, uint64_t uaddr, int len)
{
	struct inet_sock *sk = sock_of(f);
	struct ns_sockaddr a = {0};
	bool unspec;
	long err = get_addr(t, uaddr, len, &a, &unspec);
	if (err)
		return err;
	stack_of(t->k);
	if (sk->udp)
		return unspec ? ns_udp_disconnect(sk->udp) : ns_udp_connect(sk->udp, a.addr, a.port);
	if (unspec)
		return 0; /* Linux: disconnecting a stream socket this way is a no-op here */
	long r = ns_tcp_connect(sk->tcp, a.addr, a.port);
	if (r == -EISCONN && sk->connecting) {
		/* The first connect after the handshake finished on its own
		 * says so, as Linux's (the socket becomes connected then). */
		sk->connecting = false;
		return 0;
	}
	if (r != -EALREADY)
		sk->connecting = r == -EINPROGRESS;
	if (r != -EINPROGRESS || (f->flags & O_NONBLOCK))
		return r;
	sk->connecting = false;
	int64_t until = deadline_of(&sk->sndtimeo);
	for (;;) {
		unsigned m = ns_tcp_poll(sk->tcp);
		if (m & NS_POLLERR)
			return -ns_tcp_take_error(sk->tcp);
		if (m & NS_POLLOUT)
			return 0;
		if (m & NS_POLLHUP)
			return -ECONNREFUSED;
		long w = wait_stack(t, until);
		if (w == -ETIMEDOUT) {
			sk->connecting = true;
			return -EINPROGRESS; /* Linux: the timeout leaves it connecting */
		}
		if (w) {
			/* The handshake goes on: a retry says EALREADY, or 0
			 * once it is done. */
			sk->connecting = true;
			return -EINTR;
		}
		stack_of(t->k);
	}
}

static int rw_flags(int flags)
{
	return ((flags & MSG_DONTWAIT) ? K_RW_NONBLOCK : 0) |
	       ((flags & MSG_NOSIGNAL) ? K_RW_NOSIGNAL : 0);
}

long inet_sendmsg(struct k_task *t, struct k_file *f, struct iovec *gv, int n, uint64_t uaddr,
		  int alen, int flags)
{
	struct inet_sock *sk = sock_of(f);
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	sk->has_to = false;
	if (uaddr && sk->udp) {
		bool unspec;
		long err = get_addr(t, uaddr, alen, &sk->to, &unspec);
		if (err)
			return err;
		sk->has_to = !unspec;
	}
	sk->flags = flags;
	sk->deadline = 0;
	long r = k_file_rw(t, f, gv, n, true, NULL, rw_flags(flags));
	sk->has_to = false;
	return r;
}

/* A datagram received into no buffer still waits for one and takes it
 * (Linux's udp_recvmsg); the read/write layer would call an empty
 * transfer done at once. */
static long empty_recv(struct k_task *t, struct k_file *f, struct inet_sock *sk, int flags)
{
	int64_t until = deadline_of(&sk->rcvtimeo);
	for (;;) {
		stack_of(sk->k);
		long r = ns_udp_recvmsg(sk->udp, NULL, 0, (flags & MSG_PEEK) ? NS_MSG_PEEK : 0,
					&sk->from, &sk->full);
		if (r != -EAGAIN)
			return r;
		if ((flags & MSG_DONTWAIT) || (f->flags & O_NONBLOCK))
			return -EAGAIN;
		long w = wait_stack(t, until);
		if (w)
			return w == -ETIMEDOUT ? -EAGAIN : w;
	}
}

long inet_recvmsg(struct k_task *t, struct k_file *f, struct iovec *gv, int n, int flags,
		  uint64_t uaddr, uint64_t ulen, bool *trunc)
{
	struct inet_sock *sk = sock_of(f);
	if (flags & MSG_OOB)
		return -EINVAL;
	sk->flags = flags;
	sk->full = 0;
	sk->deadline = 0;
	bool empty = true;
	for (int i = 0; i < n; i++)
		empty &= gv[i].iov_len == 0;
	long r;
	if (sk->udp && empty)
		r = empty_recv(t, f, sk, flags);
	else
		r = k_file_rw(t, f, gv, n, false, NULL, rw_flags(flags));
	/* MSG_WAITALL on a stream: on until the buffers are full, the end of
	 * the stream, an error or a signal (what came is returned then). */
	if (r > 0 && sk->tcp && (flags & MSG_WAITALL) && !(flags & (MSG_PEEK | MSG_DONTWAIT)) &&
	    !(f->flags & O_NONBLOCK)) {
		size_t want = 0, done = (size_t)r;
		for (int i = 0; i < n; i++)
			want += gv[i].iov_len;
		struct iovec *rest = malloc((size_t)(n ? n : 1) * sizeof(*rest));
		while (rest && done < want) {
			size_t skip = done;
			int m = 0;
			for (int i = 0; i < n; i++) {
				if (skip >= gv[i].iov_len) {
					skip -= gv[i].iov_len;
					continue;
				}
				rest[m].iov_base = (char *)gv[i].iov_base + skip;
				rest[m++].iov_len = gv[i].iov_len - skip;
				skip = 0;
			}
			long more = k_file_rw(t, f, rest, m, false, NULL, rw_flags(flags));
			if (more <= 0)
				break;
			done += (size_t)more;
		}
		free(rest);
		r = (long)done;
	}
	sk->flags = 0;
	if (r < 0)
		return r;
	*trunc = false;
	if (sk->udp) {
		*trunc = sk->full > (size_t)r;
		long err = put_addr(t, uaddr, ulen, sk->from);
		if (err)
			return err;
		if (flags & MSG_TRUNC)
			r = (long)sk->full;
	} else if (uaddr && ulen) {
		/* A stream socket names no source (Linux leaves it). */
		int32_t zero = 0;
		if (k_copy_out(t, ulen, &zero, sizeof(zero)))
			return -EFAULT;
	}
	return r;
}

long inet_shutdown(struct k_task *t, struct k_file *f, int how)
{
	struct inet_sock *sk = sock_of(f);
	stack_of(t->k);
	bool rd = how != SHUT_WR, wr = how != SHUT_RD;
	long r = sk->tcp ? ns_tcp_shutdown(sk->tcp, rd, wr) : ns_udp_shutdown(sk->udp, rd, wr);
	k_file_notify();
	return r;
}

long inet_name(struct k_task *t, struct k_file *f, uint64_t uaddr, uint64_t ulen, bool peer)
{
	struct inet_sock *sk = sock_of(f);
	struct ns_sockaddr local, remote;
	long r = sk->tcp ? ns_tcp_name(sk->tcp, &local, peer ? &remote : NULL)
			 : ns_udp_name(sk->udp, &local, peer ? &remote : NULL);
	if (r)
		return r;
	return put_addr(t, uaddr, ulen, peer ? remote : local);
}

static long put_int(struct k_task *t, uint64_t uval, uint64_t ulen, int val)
{
	return sock_copy_out(t, uval, ulen, &val, sizeof(val), SOCK_OUT_OPT);
}

static long put_blob(struct k_task *t, uint64_t uval, uint64_t ulen, const void *v, size_t size)
{
	return sock_copy_out(t, uval, ulen, v, size, SOCK_OUT_OPT);
}

long inet_getsockopt(struct k_task *t, struct k_file *f, int level, int opt, uint64_t uval,
		     uint64_t ulen)
{
	struct inet_sock *sk = sock_of(f);
	int v;
	if (level == SOL_SOCKET) {
		switch (opt) {
		case SO_TYPE: v = sk->type; break;
		case SO_DOMAIN: v = AF_INET; break;
		case SO_PROTOCOL: v = sk->tcp ? IPPROTO_TCP : IPPROTO_UDP; break;
		case SO_ERROR: v = sk->tcp ? ns_tcp_take_error(sk->tcp) : ns_udp_take_error(sk->udp); break;
		case SO_REUSEADDR: v = sk->reuseaddr; break;
		case SO_REUSEPORT: v = sk->reuseport; break;
		case SO_KEEPALIVE: v = sk->keepalive; break;
		case SO_BROADCAST: v = sk->broadcast; break;
		case SO_RCVBUF: v = sk->rcvbuf; break;
		case SO_SNDBUF: v = sk->sndbuf; break;
		case SO_ACCEPTCONN: v = listening(sk); break;
		case SO_LINGER: return put_blob(t, uval, ulen, &sk->linger, sizeof(sk->linger));
		case SO_RCVTIMEO: return put_blob(t, uval, ulen, &sk->rcvtimeo, sizeof(sk->rcvtimeo));
		case SO_SNDTIMEO: return put_blob(t, uval, ulen, &sk->sndtimeo, sizeof(sk->sndtimeo));
		default: return -ENOPROTOOPT;
		}
		return put_int(t, uval, ulen, v);
	}
	if (level == IPPROTO_IP) {
		switch (opt) {
		case IP_TOS: v = sk->tos; break;
		case IP_TTL: v = sk->ttl; break;
		default: return -ENOPROTOOPT;
		}
		return put_int(t, uval, ulen, v);
	}
	if (level == IPPROTO_TCP && sk->tcp) {
		switch (opt) {
		case TCP_NODELAY: v = sk->nodelay; break;
		case TCP_KEEPIDLE: ns_tcp_getopt(sk->tcp, NS_TCP_KEEPIDLE, &v); break;
		case TCP_KEEPINTVL: ns_tcp_getopt(sk->tcp, NS_TCP_KEEPINTVL, &v); break;
		case TCP_KEEPCNT: ns_tcp_getopt(sk->tcp, NS_TCP_KEEPCNT, &v); break;
		case TCP_MAXSEG: {
			struct ns_tcp_info ni;
			ns_tcp_info(sk->tcp, &ni);
			v = (int)ni.snd_mss;
			break;
		}
		case TCP_INFO: {
			struct ns_tcp_info ni;
			ns_tcp_info(sk->tcp, &ni);
			struct tcp_info ti;
			memset(&ti, 0, sizeof(ti));
			ti.tcpi_state = (uint8_t)ni.state;
			ti.tcpi_retransmits = (uint8_t)ni.retransmits;
			ti.tcpi_options = (uint8_t)((ni.timestamps ? TCPI_OPT_TIMESTAMPS : 0) |
						    (ni.wscale ? TCPI_OPT_WSCALE : 0));
			ti.tcpi_snd_wscale = (uint8_t)(ni.snd_wscale & 15);
			ti.tcpi_rcv_wscale = (uint8_t)(ni.rcv_wscale & 15);
			ti.tcpi_rto = ni.rto_us;
			ti.tcpi_snd_mss = ni.snd_mss;
			ti.tcpi_rcv_mss = ni.rcv_mss;
			ti.tcpi_rtt = ni.rtt_us;
			ti.tcpi_rttvar = ni.rttvar_us;
			ti.tcpi_snd_ssthresh = ni.snd_ssthresh;
			ti.tcpi_snd_cwnd = ni.snd_cwnd;
			return put_blob(t, uval, ulen, &ti, sizeof(ti));
		}
		default: return -ENOPROTOOPT;
		}
		return put_int(t, uval, ulen, v);
	}
	return level == IPPROTO_TCP ? -EOPNOTSUPP : -ENOPROTOOPT;
}

long inet_setsockopt(struct k_task *t, struct k_file *f, int level, int opt, uint64_t uval,
		     int len)
{
	struct inet_sock *sk = sock_of(f);
	if (len < 0)
		return -EINVAL;
	if (level == SOL_SOCKET && (opt == SO_LINGER || opt == SO_RCVTIMEO || opt == SO_SNDTIMEO)) {
		if (opt == SO_LINGER) {
			if ((size_t)len < sizeof(sk->linger))
				return -EINVAL;
			if (k_copy_in(t, &sk->linger, uval, sizeof(sk->linger)))
				return -EFAULT;
			if (sk->tcp)
				ns_tcp_setopt(sk->tcp, NS_TCP_LINGER0,
					      sk->linger.l_onoff && !sk->linger.l_linger);
			return 0;
		}
		struct timeval tv;
		if ((size_t)len < sizeof(tv))
			return -EINVAL;
		if (k_copy_in(t, &tv, uval, sizeof(tv)))
			return -EFAULT;
		if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
			return -EDOM;
		*(opt == SO_RCVTIMEO ? &sk->rcvtimeo : &sk->sndtimeo) = tv;
		return 0;
	}
	int v = 0;
	if ((size_t)len < sizeof(v)) {
		if (len == 0)
			return -EINVAL;
		uint8_t b;
		if (k_copy_in(t, &b, uval, 1))
			return -EFAULT;
		v = b;
	} else if (k_copy_in(t, &v, uval, sizeof(v))) {
		return -EFAULT;
	}
	stack_of(t->k);
	if (level == SOL_SOCKET) {
		switch (opt) {
		case SO_REUSEADDR:
			sk->reuseaddr = v != 0;
			return sk->tcp ? ns_tcp_setopt(sk->tcp, NS_TCP_REUSE, v != 0)
				       : ns_udp_set_reuse(sk->udp, v != 0 || sk->reuseport);
		case SO_REUSEPORT:
			sk->reuseport = v != 0;
			return sk->udp ? ns_udp_set_reuse(sk->udp, v != 0 || sk->reuseaddr) : 0;
		case SO_KEEPALIVE:
			sk->keepalive = v != 0;
			return sk->tcp ? ns_tcp_setopt(sk->tcp, NS_TCP_KEEPALIVE, v != 0) : 0;
		case SO_BROADCAST:
			sk->broadcast = v != 0;
			return 0;
		case SO_RCVBUF:
		case SO_SNDBUF: {
			/* Linux doubles what is asked (the bookkeeping's share),
			 * within net.core.[rw]mem_max and a floor. */
			int64_t want = (int64_t)v * 2;
			int64_t floor = opt == SO_RCVBUF ? 2304 : 4608;
			if (want < floor)
				want = floor;
			if (want > 425984)
				want = 425984;
			*(opt == SO_RCVBUF ? &sk->rcvbuf : &sk->sndbuf) = (int)want;
			if (sk->tcp)
				ns_tcp_setopt(sk->tcp, opt == SO_RCVBUF ? NS_TCP_RCVBUF : NS_TCP_SNDBUF,
					      (int)want);
			else
				ns_udp_set_bufs(sk->udp, opt == SO_RCVBUF ? (size_t)want : 0,
						opt == SO_SNDBUF ? (size_t)want : 0);
			return 0;
		}
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level == IPPROTO_IP) {
		switch (opt) {
		case IP_TOS: sk->tos = v & 0xfc; return 0;
		case IP_TTL:
			if (v < -1 || v == 0 || v > 255)
				return -EINVAL;
			sk->ttl = v == -1 ? 64 : v;
			return 0;
		default: return -ENOPROTOOPT;
		}
	}
	if (level == IPPROTO_TCP && sk->tcp) {
		switch (opt) {
		case TCP_NODELAY:
			sk->nodelay = v != 0;
			return ns_tcp_setopt(sk->tcp, NS_TCP_NODELAY, v != 0);
		case TCP_KEEPIDLE: return ns_tcp_setopt(sk->tcp, NS_TCP_KEEPIDLE, v);
		case TCP_KEEPINTVL: return ns_tcp_setopt(sk->tcp, NS_TCP_KEEPINTVL, v);
		case TCP_KEEPCNT: return ns_tcp_setopt(sk->tcp, NS_TCP_KEEPCNT, v);
		default: return -ENOPROTOOPT;
		}
	}
	return level == IPPROTO_TCP ? -EOPNOTSUPP : -ENOPROTOOPT;
}
