/* UDP (RFC 768) endpoints with Linux's socket semantics: binding and
 * ephemeral ports, connected endpoints (the peer filters what arrives,
 * and ICMP errors come back as ECONNREFUSED and the like), receive
 * queues bounded by SO_RCVBUF (datagrams past it are dropped and
 * counted), and truncation reported through the datagram's full length. */
#include <stdlib.h>

#include "internal.h"

#define UDP_HDR 8

struct dgram {
	struct dgram *next;
	uint32_t addr;
	uint16_t port;
	size_t len;
	uint8_t data[];
};

struct ns_udp {
	struct ns_stack *s;
	struct ns_udp *next;
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	bool bound, connected, reuse, shut_rd, shut_wr;
	bool foreign; /* transparent: laddr is not the stack's */
	int err; /* pending, positive */
	struct dgram *rq, **rq_tail;
	size_t rq_bytes, rcvbuf, sndbuf;
	ns_notify_fn notify;
	void *notify_ctx;
};

int ns_udp_open(struct ns_stack *s, struct ns_udp **out)
{
	struct ns_udp *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->s = s;
	u->rq_tail = &u->rq;
	u->rcvbuf = DEFAULT_RCVBUF;
	u->sndbuf = DEFAULT_SNDBUF;
	u->next = s->udps;
	s->udps = u;
	*out = u;
	return 0;
}

static void flush_queue(struct ns_udp *u)
{
	while (u->rq) {
		struct dgram *d = u->rq;
		u->rq = d->next;
		free(d);
	}
	u->rq_tail = &u->rq;
	u->rq_bytes = 0;
}

void ns_udp_close(struct ns_udp *u)
{
	if (!u)
		return;
	for (struct ns_udp **pp = &u->s->udps; *pp; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	if (u->foreign)
		u->s->nforeign--;
	flush_queue(u);
	free(u);
}

void ns_udp_free_all(struct ns_stack *s)
{
	while (s->udps)
		ns_udp_close(s->udps);
}

void ns_udp_set_notify(struct ns_udp *u, ns_notify_fn fn, void *ctx)
{
	u->notify = fn;
	u->notify_ctx = ctx;
}

static void notify(struct ns_udp *u)
{
	if (u->notify)
		u->notify(u->notify_ctx);
}

/* Whether another endpoint holds addr:port so that u may not bind it. */
static bool port_taken(const struct ns_stack *s, const struct ns_udp *u, uint32_t addr,
		       uint16_t port)
{
	for (const struct ns_udp *o = s->udps; o; o = o->next) {
		if (o == u || !o->bound || o->lport != port)
			continue;
		if (o->laddr && addr && o->laddr != addr)
			continue; /* different specific addresses coexist */
		if (!(u->reuse && o->reuse))
			return true;
	}
	return false;
}

bool ns_udp_holds(const struct ns_stack *s, uint32_t addr, uint16_t port)
{
	for (const struct ns_udp *o = s->udps; o; o = o->next)
		if (o->bound && o->lport == port && (!o->laddr || !addr || o->laddr == addr))
			return true;
	return false;
}

int ns_udp_bind(struct ns_udp *u, uint32_t addr, uint16_t port)
{
	struct ns_stack *s = u->s;
	if (u->bound)
		return -EINVAL;
	if (addr && !ns_is_local(s, addr) && !ns_is_broadcast(s, addr))
		return -EADDRNOTAVAIL;
	if (port == 0) {
		int p = ns_pick_port(s, IPPROTO_UDP_, addr);
		if (p < 0)
			return p;
		port = (uint16_t)p;
	} else if (port_taken(s, u, addr, port)) {
		return -EADDRINUSE;
	}
	u->laddr = addr;
	u->lport = port;
	u->bound = true;
	return 0;
}

int ns_udp_connect(struct ns_udp *u, uint32_t addr, uint16_t port)
{
	struct ns_stack *s = u->s;
	uint32_t src = 0;
	if (!ns_route(s, addr, &src))
		return -ENETUNREACH;
	if (!u->bound) {
		int err = ns_udp_bind(u, 0, 0);
		if (err)
			return err;
	}
	/* Linux fixes the source address of an endpoint bound to any. */
	if (!u->laddr && !ns_is_broadcast(s, addr))
		u->laddr = src;
	u->raddr = addr;
	u->rport = port;
	u->connected = true;
	u->err = 0;
	return 0;
}

int ns_udp_disconnect(struct ns_udp *u)
{
	u->connected = false;
	u->raddr = 0;
	u->rport = 0;
	return 0;
}

int ns_udp_set_reuse(struct ns_udp *u, bool on)
{
	u->reuse = on;
	return 0;
}

int ns_udp_set_bufs(struct ns_udp *u, size_t rcvbuf, size_t sndbuf)
{
	if (rcvbuf)
		u->rcvbuf = rcvbuf;
	if (sndbuf)
		u->sndbuf = sndbuf;
	return 0;
}

int ns_udp_take_error(struct ns_udp *u)
{
	int e = u->err;
	u->err = 0;
	return e;
}

ssize_t ns_udp_sendmsg(struct ns_udp *u, const struct iovec *iov, int iovcnt,
		       const struct ns_sockaddr *to, int flags)
{
	(void)flags;
	struct ns_stack *s = u->s;
	if (iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	size_t len = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > NS_UDP_MAX_PAYLOAD || len + iov[i].iov_len > NS_UDP_MAX_PAYLOAD)
			return -EMSGSIZE;
		len += iov[i].iov_len;
	}
	if (u->shut_wr)
		return -EPIPE;
	if (u->err)
		return -ns_udp_take_error(u);
	uint32_t dst;
	uint16_t dport;
	if (to) {
		dst = to->addr;
		dport = to->port;
		if (dport == 0)
			return -EINVAL;
	} else if (u->connected) {
		dst = u->raddr;
		dport = u->rport;
	} else {
		return -EDESTADDRREQ;
	}
	if (len + UDP_HDR > u->sndbuf)
		return -EMSGSIZE;
	ns_enter(s);
	ssize_t ret;
	if (!u->bound && (ret = ns_udp_bind(u, 0, 0)) < 0)
		goto out;
	uint32_t src = u->laddr;
	if (!src || ns_is_broadcast(s, src)) {
		if (!ns_route(s, dst, &src)) {
			ret = -ENETUNREACH;
			goto out;
		}
	}
	/* One flat payload: the checksum pairs bytes across the pieces. */
	uint8_t *flat = NULL;
	const uint8_t *data = iovcnt == 1 ? iov[0].iov_base : NULL;
	if (iovcnt > 1 && len) {
		if (!(flat = malloc(len))) {
			ret = -ENOBUFS;
			goto out;
		}
		size_t at = 0;
		for (int i = 0; i < iovcnt; i++) {
			if (iov[i].iov_len)
				memcpy(flat + at, iov[i].iov_base, iov[i].iov_len);
			at += iov[i].iov_len;
		}
		data = flat;
	}
	uint8_t h[UDP_HDR];
	put16(h, u->lport);
	put16(h + 2, dport);
	put16(h + 4, (uint16_t)(len + UDP_HDR));
	put16(h + 6, 0);
	uint32_t sum = csum_pseudo(src, dst, IPPROTO_UDP_, (uint32_t)(len + UDP_HDR));
	sum = csum_add(csum_add(sum, h, UDP_HDR), data, len);
	uint16_t c = csum_fold(sum);
	put16(h + 6, c ? c : 0xffff); /* 0 would mean "no checksum" */
	struct iovec two[2] = {{h, UDP_HDR}, {(void *)data, len}};
	s->st.udp_out_datagrams++;
	ret = ns_ip_output(s, src, dst, IPPROTO_UDP_, two, len ? 2 : 1, false);
	free(flat);
	if (ret == 0)
		ret = (ssize_t)len;
out:
	ns_leave(s);
	return ret;
}

ssize_t ns_udp_recvmsg(struct ns_udp *u, const struct iovec *iov, int iovcnt, int flags,
		       struct ns_sockaddr *from, size_t *full)
{
	if (iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	if (u->err && !(flags & NS_MSG_PEEK))
		return -ns_udp_take_error(u);
	struct dgram *d = u->rq;
	if (!d)
		return u->shut_rd ? 0 : -EAGAIN;
	size_t done = 0;
	for (int i = 0; i < iovcnt && done < d->len; i++) {
		size_t n = d->len - done < iov[i].iov_len ? d->len - done : iov[i].iov_len;
		memcpy(iov[i].iov_base, d->data + done, n);
		done += n;
	}
	if (from)
		*from = (struct ns_sockaddr){d->addr, d->port};
	if (full)
		*full = d->len;
	if (!(flags & NS_MSG_PEEK)) {
		u->rq = d->next;
		if (!u->rq)
			u->rq_tail = &u->rq;
		u->rq_bytes -= d->len;
		free(d);
	}
	return (ssize_t)done;
}

int ns_udp_shutdown(struct ns_udp *u, bool rd, bool wr)
{
	/* Linux: shutdown of a UDP socket that is not connected is ENOTCONN. */
	if (!u->connected)
		return -ENOTCONN;
	u->shut_rd |= rd;
	u->shut_wr |= wr;
	notify(u);
	return 0;
}

unsigned ns_udp_poll(const struct ns_udp *u)
{
	unsigned m = 0;
	if (u->rq || u->shut_rd || u->err)
		m |= NS_POLLIN;
	if (!u->shut_wr)
		m |= NS_POLLOUT;
	if (u->err)
		m |= NS_POLLERR;
	if (u->shut_rd && u->shut_wr)
		m |= NS_POLLHUP;
	return m;
}

int ns_udp_list(const struct ns_stack *s, struct ns_conn *out, int max)
{
	int n = 0;
	for (const struct ns_udp *u = s->udps; u; u = u->next, n++)
		if (n < max)
			out[n] = (struct ns_conn){.laddr = u->laddr, .raddr = u->raddr,
						  .lport = u->lport, .rport = u->rport,
						  .state = u->connected ? 1 : 7,
						  .rx_queue = u->rq_bytes};
	return n;
}

size_t ns_udp_next_len(const struct ns_udp *u)
{
	return u->rq ? u->rq->len : 0;
}

int ns_udp_name(const struct ns_udp *u, struct ns_sockaddr *local, struct ns_sockaddr *peer)
{
	if (local)
		*local = (struct ns_sockaddr){u->laddr, u->lport};
	if (peer) {
		if (!u->connected)
			return -ENOTCONN;
		*peer = (struct ns_sockaddr){u->raddr, u->rport};
	}
	return 0;
}

/* The endpoint a datagram to dst:dport from src:sport belongs to: a
 * connected one that matches the peer first, then a specific address
 * before any (Linux scores them the same way). */
static struct ns_udp *lookup(struct ns_stack *s, uint32_t src, uint16_t sport, uint32_t dst,
			     uint16_t dport)
{
	struct ns_udp *best = NULL;
	int best_score = -1;
	for (struct ns_udp *u = s->udps; u; u = u->next) {
		if (!u->bound || u->lport != dport || u->shut_rd)
			continue;
		int score = 0;
		if (u->laddr) {
			if (u->laddr != dst)
				continue;
			score += 2;
		}
		if (u->connected) {
			if (u->raddr != src || u->rport != sport)
				continue;
			score += 4;
		}
		if (score > best_score) {
			best = u;
			best_score = score;
		}
	}
	return best;
}

/* Checks a datagram's UDP header and checksum: its length without the
 * link's padding, or 0 (counted) if it is not a valid one. */
static size_t check_dgram(struct ns_stack *s, uint32_t src, uint32_t dst, const uint8_t *seg,
			  size_t len)
{
	if (len < UDP_HDR || get16(seg + 4) < UDP_HDR || get16(seg + 4) > len) {
		s->st.udp_in_errors++;
		return 0;
	}
	len = get16(seg + 4); /* bytes past the UDP length: padding */
	if (get16(seg + 6) != 0) {
		uint32_t sum = csum_add(csum_pseudo(src, dst, IPPROTO_UDP_, (uint32_t)len), seg, len);
		if (csum_fold(sum) != 0) {
			s->st.udp_in_errors++;
			s->st.udp_in_csum_errors++;
			return 0;
		}
	}
	return len;
}

/* Queues a datagram's payload on u (dropped, counted, past SO_RCVBUF). */
static void enqueue(struct ns_udp *u, uint32_t src, uint16_t sport, const uint8_t *data,
		    size_t plen)
{
	struct ns_stack *s = u->s;
	if (u->rq_bytes + plen > u->rcvbuf) {
		s->st.udp_rcvbuf_errors++;
		s->st.udp_in_errors++;
		return;
	}
	struct dgram *d = malloc(sizeof(*d) + plen);
	if (!d) {
		s->st.udp_rcvbuf_errors++;
		return;
	}
	d->next = NULL;
	d->addr = src;
	d->port = sport;
	d->len = plen;
	memcpy(d->data, data, plen);
	*u->rq_tail = d;
	u->rq_tail = &d->next;
	u->rq_bytes += plen;
	s->st.udp_in_datagrams++;
	notify(u);
}

void ns_udp_input(struct ns_stack *s, struct ns_if *in, const uint8_t *hdr, size_t hlen,
		  const uint8_t *seg, size_t len)
{
	(void)in;
	uint32_t src = get32(hdr + 12), dst = get32(hdr + 16);
	if (!(len = check_dgram(s, src, dst, seg, len)))
		return;
	uint16_t sport = get16(seg), dport = get16(seg + 2);
	struct ns_udp *u = lookup(s, src, sport, dst, dport);
	if (!u) {
		s->st.udp_no_ports++;
		ns_icmp_error(s, 3, 3 /* port unreachable */, hdr, hlen, seg, len);
		return;
	}
	enqueue(u, src, sport, seg + UDP_HDR, len - UDP_HDR);
}

bool ns_udp_foreign_owns(const struct ns_stack *s, uint32_t src, uint16_t sport, uint32_t dst,
			 uint16_t dport)
{
	for (const struct ns_udp *u = s->udps; u; u = u->next)
		if (u->foreign && !u->shut_rd && u->laddr == dst && u->lport == dport &&
		    u->raddr == src && u->rport == sport)
			return true;
	return false;
}

int ns_udp_accept(struct ns_stack *s, const uint8_t *pkt, size_t len, struct ns_udp **out)
{
	int hlen = ns_ip_check(pkt, len);
	if (hlen < 0 || pkt[9] != IPPROTO_UDP_ || !out)
		return -EINVAL;
	uint32_t src = get32(pkt + 12), dst = get32(pkt + 16);
	const uint8_t *seg = pkt + hlen;
	size_t ulen = check_dgram(s, src, dst, seg, len - (size_t)hlen);
	if (!ulen || !get16(seg) || !get16(seg + 2) || !src || ns_is_local(s, dst) ||
	    ns_is_broadcast(s, dst))
		return -EINVAL;
	if (ns_udp_foreign_owns(s, src, get16(seg), dst, get16(seg + 2)))
		return -EEXIST;
	struct ns_udp *u;
	int err = ns_udp_open(s, &u);
	if (err)
		return err;
	u->laddr = dst;
	u->lport = get16(seg + 2);
	u->bound = true;
	u->raddr = src;
	u->rport = get16(seg);
	u->connected = true;
	u->foreign = true;
	s->nforeign++;
	enqueue(u, src, u->rport, seg + UDP_HDR, ulen - UDP_HDR);
	*out = u;
	return 0;
}

void ns_udp_icmp_error(struct ns_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		       uint16_t rport, int err)
{
	/* Only a connected endpoint hears of it (without IP_RECVERR, as in
	 * Linux): an unconnected one cannot tell which send it was about. */
	for (struct ns_udp *u = s->udps; u; u = u->next)
		if (u->connected && u->lport == lport && u->raddr == raddr && u->rport == rport &&
		    (!u->laddr || u->laddr == laddr)) {
			u->err = err;
			notify(u);
			return;
		}
}
