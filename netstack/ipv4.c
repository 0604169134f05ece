/* IPv4 (RFC 791): header checks on the way in, routing, the header and
 * fragmentation on the way out.  The stack is a host, not a router:
 * datagrams for other addresses are dropped, never forwarded. */
#include <stdlib.h>

#include "internal.h"

static uint32_t mask_of(int prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

static struct ns_if *loopback_if(struct ns_stack *s)
{
	for (int i = 0; i < s->nifs; i++)
		if (s->ifs[i].loopback)
			return &s->ifs[i];
	return NULL;
}

bool ns_is_local(const struct ns_stack *s, uint32_t addr)
{
	for (int i = 0; i < s->nifs; i++) {
		const struct ns_if *f = &s->ifs[i];
		if (f->loopback ? (addr >> 24) == 127 : addr == f->addr)
			return true;
	}
	return false;
}

bool ns_is_broadcast(const struct ns_stack *s, uint32_t addr)
{
	if (addr == 0xffffffffu)
		return true;
	for (int i = 0; i < s->nifs; i++) {
		const struct ns_if *f = &s->ifs[i];
		uint32_t m = mask_of(f->prefix);
		if (!f->loopback && f->prefix < 31 && (addr & m) == (f->addr & m) &&
		    (addr | m) == 0xffffffffu)
			return true;
	}
	return false;
}

static bool martian_source(uint32_t src)
{
	return src == 0xffffffffu || (src >> 28) == 0xe /* multicast */ ||
	       (src >> 28) == 0xf /* reserved */ || (src >> 24) == 0;
}

struct ns_if *ns_route(struct ns_stack *s, uint32_t dst, uint32_t *src)
{
	/* Our own addresses and 127/8 go round through loopback (through
	 * the owning interface when there is no lo). */
	if (ns_is_local(s, dst)) {
		struct ns_if *lo = loopback_if(s);
		if ((dst >> 24) == 127) {
			*src = lo ? lo->addr : 0;
			return lo;
		}
		*src = dst;
		if (lo)
			return lo;
		for (int i = 0; i < s->nifs; i++)
			if (s->ifs[i].addr == dst)
				return &s->ifs[i];
		return NULL;
	}
	struct ns_if *best = NULL;
	for (int i = 0; i < s->nifs; i++) {
		struct ns_if *f = &s->ifs[i];
		uint32_t m = mask_of(f->prefix);
		if (!f->loopback && (dst & m) == (f->addr & m) && (!best || f->prefix > best->prefix))
			best = f;
	}
	if (!best)
		best = ns_if_get(s, s->default_if);
	if (best)
		*src = best->addr;
	return best;
}

/* One packet out of interface f, or round to the stack itself. */
static int transmit(struct ns_stack *s, struct ns_if *f, uint32_t dst, uint8_t *pkt, size_t len)
{
	if (f->loopback || ns_is_local(s, dst)) {
		if (s->backlog_len >= BACKLOG_MAX) {
			s->st.backlog_drops++;
			f->tx_dropped++;
			return -ENOBUFS;
		}
		struct ns_pkt *p = malloc(sizeof(*p) + len);
		if (!p) {
			f->tx_dropped++;
			return -ENOBUFS;
		}
		p->next = NULL;
		p->ifindex = f->index;
		p->len = len;
		memcpy(p->data, pkt, len);
		*s->backlog_tail = p;
		s->backlog_tail = &p->next;
		s->backlog_len++;
		f->tx_packets++;
		f->tx_bytes += len;
		return 0;
	}
	int err = f->tx(f->ctx, pkt, len);
	if (err) {
		f->tx_dropped++;
		s->st.ip_out_discards++;
		return err;
	}
	f->tx_packets++;
	f->tx_bytes += len;
	return 0;
}

static void build_header(uint8_t *h, size_t total, uint16_t id, uint16_t frag, uint8_t proto,
			 uint32_t src, uint32_t dst)
{
	h[0] = 0x45;
	h[1] = 0;
	put16(h + 2, (uint16_t)total);
	put16(h + 4, id);
	put16(h + 6, frag);
	h[8] = DEFAULT_TTL;
	h[9] = proto;
	put16(h + 10, 0);
	put32(h + 12, src);
	put32(h + 16, dst);
	put16(h + 10, ns_checksum(h, IP_HDR_MIN));
}

/* Copies len bytes at offset off of the gather list into dst. */
static void gather(uint8_t *dst, const struct iovec *iov, int iovcnt, size_t off, size_t len)
{
	for (int i = 0; i < iovcnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t n = iov[i].iov_len - off;
		if (n > len)
			n = len;
		memcpy(dst, (const uint8_t *)iov[i].iov_base + off, n);
		dst += n;
		len -= n;
		off = 0;
	}
}

int ns_ip_output(struct ns_stack *s, uint32_t src, uint32_t dst, uint8_t proto,
		 const struct iovec *iov, int iovcnt, bool df)
{
	s->st.ip_out_requests++;
	uint32_t rsrc = 0;
	struct ns_if *f = ns_route(s, dst, &rsrc);
	if (!f) {
		s->st.ip_out_no_routes++;
		return -ENETUNREACH;
	}
	if (!src)
		src = rsrc;
	size_t plen = 0;
	for (int i = 0; i < iovcnt; i++)
		plen += iov[i].iov_len;
	if (plen > IP_MAX_LEN - IP_HDR_MIN)
		return -EMSGSIZE;
	uint16_t id = s->ip_id++;
	size_t mtu = (size_t)f->mtu;
	if (IP_HDR_MIN + plen <= mtu) {
		uint8_t *pkt = malloc(IP_HDR_MIN + plen);
		if (!pkt)
			return -ENOBUFS;
		build_header(pkt, IP_HDR_MIN + plen, id, df ? 0x4000 : 0, proto, src, dst);
		gather(pkt + IP_HDR_MIN, iov, iovcnt, 0, plen);
		int err = transmit(s, f, dst, pkt, IP_HDR_MIN + plen);
		free(pkt);
		return err;
	}
	if (df) {
		s->st.ip_frag_fails++;
		return -EMSGSIZE;
	}
	/* Fragments: every one but the last carries a multiple of 8 bytes. */
	size_t chunk = (mtu - IP_HDR_MIN) & ~(size_t)7;
	uint8_t *pkt = malloc(IP_HDR_MIN + chunk);
	if (!pkt)
		return -ENOBUFS;
	int err = 0;
	for (size_t off = 0; off < plen && !err; off += chunk) {
		size_t n = plen - off < chunk ? plen - off : chunk;
		bool more = off + n < plen;
		build_header(pkt, IP_HDR_MIN + n, id, (uint16_t)((more ? 0x2000 : 0) | (off / 8)),
			     proto, src, dst);
		gather(pkt + IP_HDR_MIN, iov, iovcnt, off, n);
		err = transmit(s, f, dst, pkt, IP_HDR_MIN + n);
		s->st.ip_frag_creates++;
	}
	free(pkt);
	if (!err)
		s->st.ip_frag_oks++;
	else
		s->st.ip_frag_fails++;
	return err;
}

int ns_ip_check(const uint8_t *pkt, size_t len)
{
	if (!pkt || len < IP_HDR_MIN || (pkt[0] >> 4) != 4)
		return -EINVAL;
	size_t hlen = (size_t)(pkt[0] & 15) * 4;
	if (hlen < IP_HDR_MIN || hlen > len || get16(pkt + 2) != len ||
	    (get16(pkt + 6) & 0x3fff) || ns_checksum(pkt, hlen) != 0)
		return -EINVAL;
	return (int)hlen;
}

/* Whether a transparent endpoint (ns_tcp_accept_syn, ns_udp_accept)
 * owns this datagram for another address. */
static bool foreign_owned(struct ns_stack *s, const uint8_t *hdr, const uint8_t *payload,
			  size_t len)
{
	if (!s->nforeign || len < 4)
		return false;
	uint32_t src = get32(hdr + 12), dst = get32(hdr + 16);
	uint16_t sport = get16(payload), dport = get16(payload + 2);
	if (hdr[9] == IPPROTO_TCP_)
		return ns_tcp_foreign_owns(s, src, sport, dst, dport);
	if (hdr[9] == IPPROTO_UDP_)
		return ns_udp_foreign_owns(s, src, sport, dst, dport);
	return false;
}

void ns_ip_deliver(struct ns_stack *s, struct ns_if *in, const uint8_t *hdr, size_t hlen,
		   const uint8_t *payload, size_t len)
{
	uint32_t dst = get32(hdr + 16);
	if (!ns_is_local(s, dst) && !ns_is_broadcast(s, dst) &&
	    !foreign_owned(s, hdr, payload, len)) {
		/* The hook sees the whole datagram in one buffer: the link's
		 * packet, or reassembly's copy (header then payload). */
		if (!s->forward || payload != hdr + hlen) {
			s->st.ip_in_addr_errors++;
			return;
		}
		if (s->forward(s->forward_ctx, in->index, hdr, hlen + len) != 0)
			ns_icmp_error(s, 3, 13 /* administratively prohibited */, hdr, hlen,
				      payload, len);
		return;
	}
	switch (hdr[9]) {
	case IPPROTO_ICMP_:
		s->st.ip_in_delivers++;
		ns_icmp_input(s, in, hdr, hlen, payload, len);
		break;
	case IPPROTO_UDP_:
		s->st.ip_in_delivers++;
		ns_udp_input(s, in, hdr, hlen, payload, len);
		break;
	case IPPROTO_TCP_:
		s->st.ip_in_delivers++;
		ns_tcp_input(s, in, hdr, hlen, payload, len);
		break;
	default:
		s->st.ip_in_unknown_protos++;
		ns_icmp_error(s, 3, 2 /* protocol unreachable */, hdr, hlen, payload, len);
		break;
	}
}

void ns_set_forward(struct ns_stack *s, ns_forward_fn fn, void *ctx)
{
	s->forward = fn;
	s->forward_ctx = ctx;
}

void ns_input(struct ns_stack *s, int ifindex, const uint8_t *pkt, size_t len)
{
	struct ns_if *in = ns_if_get(s, ifindex);
	if (!in || !pkt)
		return;
	ns_enter(s);
	in->rx_packets++;
	in->rx_bytes += len;
	s->st.ip_in_receives++;
	size_t hlen = len ? (size_t)(pkt[0] & 15) * 4 : 0;
	size_t total = len >= 4 ? get16(pkt + 2) : 0;
	if (len < IP_HDR_MIN || (pkt[0] >> 4) != 4 || hlen < IP_HDR_MIN || hlen > len ||
	    total < hlen || total > len || ns_checksum(pkt, hlen) != 0) {
		s->st.ip_in_hdr_errors++;
		in->rx_dropped++;
		goto out;
	}
	/* Bytes past the total length are the link's padding: ignored. */
	uint32_t src = get32(pkt + 12), dst = get32(pkt + 16);
	bool lo_addr = (src >> 24) == 127 || (dst >> 24) == 127;
	if (martian_source(src) || (lo_addr && !in->loopback)) {
		s->st.ip_in_addr_errors++;
		in->rx_dropped++;
		goto out;
	}
	/* Datagrams for other addresses go to the forward hook (if any)
	 * whole: fragments are reassembled first, as a proxy must. */
	if (!ns_is_local(s, dst) && !ns_is_broadcast(s, dst) && !s->forward) {
		s->st.ip_in_addr_errors++;
		goto out;
	}
	uint16_t frag = get16(pkt + 6);
	if (frag & 0x3fff)
		ns_reasm_input(s, in, pkt, hlen, total);
	else
		ns_ip_deliver(s, in, pkt, hlen, pkt + hlen, total - hlen);
out:
	ns_leave(s);
}
