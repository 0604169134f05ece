/* IPv4 fragment reassembly.  A datagram's fragments are kept in order of
 * offset until they cover it whole; as Linux has done since
 * FragmentSmack, any overlap other than an exact duplicate discards the
 * whole datagram.  Queues time out after 30 s (Linux's ipfrag_time: an
 * ICMP time exceeded goes back when the first fragment came), and the
 * memory all queues hold is bounded: past it, the oldest are dropped. */
#include <stdlib.h>

#include "internal.h"

struct frag {
	struct frag *next;
	size_t off, len;
	uint8_t data[];
};

struct reasm {
	struct reasm *next; /* oldest first */
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	uint64_t expires;
	struct frag *frags; /* by offset */
	size_t have;        /* payload bytes held */
	size_t end;         /* the datagram's payload length, once the last came */
	bool last_seen;
	uint8_t hdr[60];    /* the first fragment's header */
	size_t hlen;
	size_t mem;
	int ifindex;
};

/* Where the fragments held so far end. */
static size_t held_end(const struct reasm *q)
{
	const struct frag *l = q->frags;
	while (l && l->next)
		l = l->next;
	return l ? l->off + l->len : 0;
}

static void drop_queue(struct ns_stack *s, struct reasm *q)
{
	for (struct reasm **pp = &s->reasm; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	while (q->frags) {
		struct frag *f = q->frags;
		q->frags = f->next;
		free(f);
	}
	s->reasm_bytes -= q->mem;
	s->reasm_queues--;
	free(q);
}

static void fail_queue(struct ns_stack *s, struct reasm *q)
{
	s->st.ip_reasm_fails++;
	drop_queue(s, q);
}

void ns_reasm_input(struct ns_stack *s, struct ns_if *in, const uint8_t *pkt, size_t hlen,
		    size_t total)
{
	s->st.ip_reasm_reqds++;
	uint16_t frag = get16(pkt + 6);
	size_t off = (size_t)(frag & 0x1fff) * 8, len = total - hlen;
	bool more = frag & 0x2000;
	if (more)
		len &= ~(size_t)7; /* as Linux: a middle fragment ends on 8 bytes */
	size_t end = off + len;
	uint32_t src = get32(pkt + 12), dst = get32(pkt + 16);
	uint16_t id = get16(pkt + 4);
	uint8_t proto = pkt[9];
	if (end + hlen > IP_MAX_LEN || (more && len == 0)) {
		s->st.ip_reasm_fails++;
		return;
	}
	struct reasm *q = s->reasm;
	while (q && !(q->src == src && q->dst == dst && q->id == id && q->proto == proto))
		q = q->next;
	if (!q) {
		while (s->reasm && (s->reasm_queues >= REASM_MAX_QUEUES ||
				    s->reasm_bytes + len > REASM_MAX_BYTES))
			fail_queue(s, s->reasm);
		if (len > REASM_MAX_BYTES || !(q = calloc(1, sizeof(*q)))) {
			s->st.ip_reasm_fails++;
			return;
		}
		q->src = src;
		q->dst = dst;
		q->id = id;
		q->proto = proto;
		q->expires = s->now + REASM_TIMEOUT_NS;
		q->ifindex = in->index;
		struct reasm **tail = &s->reasm;
		while (*tail)
			tail = &(*tail)->next;
		*tail = q;
		s->reasm_queues++;
	}
	/* The end: known once the last fragment came, and never contradicted. */
	if (!more) {
		if ((q->last_seen && end != q->end) || end < held_end(q)) {
			fail_queue(s, q);
			return;
		}
		q->last_seen = true;
		q->end = end;
	} else if (q->last_seen && end > q->end) {
		fail_queue(s, q);
		return;
	}
	struct frag **pp = &q->frags;
	while (*pp && (*pp)->off < off)
		pp = &(*pp)->next;
	struct frag *prev = NULL;
	for (struct frag *f = q->frags; f && f->off < off; f = f->next)
		prev = f;
	struct frag *next = *pp;
	if (next && next->off == off && next->len == len &&
	    !memcmp(next->data, pkt + hlen, len))
		return; /* an exact duplicate: nothing new */
	if ((prev && prev->off + prev->len > off) || (next && next->off < end)) {
		fail_queue(s, q);
		return;
	}
	size_t need = sizeof(struct frag) + len;
	while (s->reasm != q && s->reasm_bytes + need > REASM_MAX_BYTES)
		fail_queue(s, s->reasm);
	if (s->reasm_bytes + need > REASM_MAX_BYTES) {
		fail_queue(s, q);
		return;
	}
	struct frag *f = malloc(need);
	if (!f) {
		fail_queue(s, q);
		return;
	}
	f->off = off;
	f->len = len;
	memcpy(f->data, pkt + hlen, len);
	f->next = *pp;
	*pp = f;
	q->have += len;
	q->mem += need;
	s->reasm_bytes += need;
	if (off == 0) {
		memcpy(q->hdr, pkt, hlen);
		q->hlen = hlen;
	}
	if (!q->last_seen || q->have != q->end || !q->hlen)
		return;
	/* Whole: no overlaps, so the bytes held are the whole range. */
	uint8_t *dgram = malloc(q->hlen + q->end);
	if (!dgram) {
		fail_queue(s, q);
		return;
	}
	memcpy(dgram, q->hdr, q->hlen);
	put16(dgram + 2, (uint16_t)(q->hlen + q->end));
	put16(dgram + 6, 0);
	put16(dgram + 10, 0);
	put16(dgram + 10, ns_checksum(dgram, q->hlen));
	for (struct frag *g = q->frags; g; g = g->next)
		memcpy(dgram + q->hlen + g->off, g->data, g->len);
	size_t dlen = q->end, dhlen = q->hlen;
	drop_queue(s, q);
	s->st.ip_reasm_oks++;
	ns_ip_deliver(s, in, dgram, dhlen, dgram + dhlen, dlen);
	free(dgram);
}

void ns_reasm_expire(struct ns_stack *s)
{
	while (s->reasm && s->reasm->expires <= s->now) {
		struct reasm *q = s->reasm;
		s->st.ip_reasm_timeouts++;
		/* RFC 792: time exceeded, fragment reassembly, when the first
		 * fragment came (its header and start are what it quotes). */
		if (q->hlen && q->frags && q->frags->off == 0)
			ns_icmp_error(s, 11, 1, q->hdr, q->hlen, q->frags->data, q->frags->len);
		fail_queue(s, q);
	}
}

uint64_t ns_reasm_deadline(const struct ns_stack *s)
{
	return s->reasm ? s->reasm->expires : UINT64_MAX;
}

void ns_reasm_free(struct ns_stack *s)
{
	while (s->reasm)
		drop_queue(s, s->reasm);
}
