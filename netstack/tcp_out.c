/* TCP output: segments with their options (MSS, window scale and
 * timestamps in the handshake, timestamps after), what the windows,
 * Nagle and sender-side silly window avoidance let go, and resets. */
#include <stdlib.h>

#include "tcp_internal.h"

#define OPT_MAX 40

uint32_t tcp_rcv_window(const struct ns_tcp *t)
{
	size_t free_ = t->rcvq.cap > t->rcvq.len + t->ooo_bytes
			       ? t->rcvq.cap - t->rcvq.len - t->ooo_bytes
			       : 0;
	uint64_t max = (uint64_t)65535 << t->rcv_wscale;
	return (uint32_t)(free_ < max ? free_ : max);
}

void tcp_arm_rexmit(struct ns_tcp *t)
{
	tcp_timer(t, &t->t_rexmit, t->s->now + t->rto);
}

/* The MSS we offer: the route's MTU less the headers. */
static uint16_t our_mss(struct ns_tcp *t)
{
	uint32_t src;
	struct ns_if *f = ns_route(t->s, t->raddr, &src);
	int mtu = f ? f->mtu : 576;
	return (uint16_t)(mtu - IP_HDR_MIN - TCP_HDR > 65495 ? 65495 : mtu - IP_HDR_MIN - TCP_HDR);
}

/* The receiver's SACK blocks (RFC 2018): the runs of out-of-order data
 * held, the one with the latest arrival first, at most max. */
static int sack_blocks(const struct ns_tcp *t, uint32_t out[][2], int max)
{
	uint32_t runs[8][2];
	int nr = 0;
	for (const struct ooo *o = t->ooo; o; o = o->next) {
		uint32_t s = o->seq, e = o->seq + o->len;
		if (!o->len)
			continue;
		if (nr && seq_leq(s, runs[nr - 1][1])) {
			if (seq_gt(e, runs[nr - 1][1]))
				runs[nr - 1][1] = e;
		} else if (nr < 8) {
			runs[nr][0] = s, runs[nr][1] = e;
			nr++;
		}
	}
	int n = 0;
	for (int i = 0; i < nr && n < max; i++)
		if (seq_leq(runs[i][0], t->last_ooo) && seq_lt(t->last_ooo, runs[i][1])) {
			out[n][0] = runs[i][0], out[n][1] = runs[i][1];
			n++;
		}
	for (int i = 0; i < nr && n < max; i++)
		if (!(seq_leq(runs[i][0], t->last_ooo) && seq_lt(t->last_ooo, runs[i][1]))) {
			out[n][0] = runs[i][0], out[n][1] = runs[i][1];
			n++;
		}
	return n;
}

static size_t put_options(struct ns_tcp *t, uint8_t *o, bool syn)
{
	size_t n = 0;
	bool synack = syn && t->state == TCP_SYN_RECEIVED;
	if (syn) {
		o[n++] = 2, o[n++] = 4;
		put16(o + n, our_mss(t));
		n += 2;
		if (!synack || t->ws_ok) {
			o[n++] = 1, o[n++] = 3, o[n++] = 3, o[n++] = OUR_WSCALE;
		}
		if (!synack || t->sack_ok) {
			o[n++] = 1, o[n++] = 1, o[n++] = 4, o[n++] = 2;
		}
	}
	if (syn ? (!synack || t->ts_ok) : t->ts_ok) {
		o[n++] = 1, o[n++] = 1, o[n++] = 8, o[n++] = 10;
		put32(o + n, syn && t->syn_tsval ? t->syn_tsval : (uint32_t)(t->s->now / MS));
		put32(o + n + 4, t->ts_recent);
		n += 8;
	}
	if (!syn && t->sack_ok && t->ooo) {
		uint32_t b[4][2];
		int nb = sack_blocks(t, b, t->ts_ok ? 3 : 4);
		if (nb) {
			o[n++] = 1, o[n++] = 1, o[n++] = 5, o[n++] = (uint8_t)(2 + 8 * nb);
			for (int i = 0; i < nb; i++, n += 8) {
				put32(o + n, b[i][0]);
				put32(o + n + 4, b[i][1]);
			}
		}
	}
	return n;
}

uint32_t tcp_next_hole(const struct ns_tcp *t, uint32_t from, uint32_t *len)
{
	uint32_t at = seq_lt(from, t->snd_una) ? t->snd_una : from;
	uint32_t data_end = t->snd_una + (uint32_t)t->sndq.len;
	*len = 0;
	if (!t->nsacked) {
		/* No SACK yet (the duplicates said nothing else): the first
		 * segment is the one missing. */
		if (at == t->snd_una && t->sndq.len)
			*len = t->sndq.len < t->mss ? (uint32_t)t->sndq.len : t->mss;
		return at;
	}
	for (int i = 0; i < t->nsacked; i++) {
		if (seq_lt(at, t->sacked[i].start)) {
			uint32_t end = seq_lt(t->sacked[i].start, data_end) ? t->sacked[i].start : data_end;
			if (seq_lt(at, end))
				*len = end - at;
			return at;
		}
		if (seq_lt(at, t->sacked[i].end))
			at = t->sacked[i].end;
	}
	return at; /* above the highest SACK: not known lost */
}

uint32_t tcp_pipe(const struct ns_tcp *t)
{
	uint32_t out = t->snd_max - t->snd_una - t->sacked_bytes;
	/* Holes not sent again since they were found lost are not out. */
	uint32_t at = t->rexmit_next, len;
	for (int guard = 0; guard < SACK_SCOREBOARD + 1; guard++) {
		at = tcp_next_hole(t, at, &len);
		if (!len || !t->nsacked)
			break;
		out = out > len ? out - len : 0;
		at += len;
	}
	return out;
}

/* One segment: seq, flags, len bytes of the send queue from off. */
static int send_segment(struct ns_tcp *t, uint32_t seq, uint8_t flags, size_t off, size_t len)
{
	struct ns_stack *s = t->s;
	bool syn = flags & TH_SYN;
	uint8_t *seg = malloc(TCP_HDR + OPT_MAX + len);
	if (!seg)
		return -ENOBUFS;
	size_t olen = put_options(t, seg + TCP_HDR, syn);
	size_t hl = TCP_HDR + olen;
	put16(seg, t->lport);
	put16(seg + 2, t->rport);
	put32(seg + 4, seq);
	put32(seg + 8, (flags & TH_ACK) ? t->rcv_nxt : 0);
	seg[12] = (uint8_t)((hl / 4) << 4);
	seg[13] = flags;
	uint32_t wnd = tcp_rcv_window(t);
	/* Never move the right edge back (RFC 9293 3.8.6). */
	if (seq_lt(t->rcv_nxt + wnd, t->rcv_adv) && (flags & TH_ACK) && !syn)
		wnd = t->rcv_adv - t->rcv_nxt;
	uint32_t field = syn ? (wnd > 65535 ? 65535 : wnd) : wnd >> t->rcv_wscale;
	if (field > 65535)
		field = 65535;
	put16(seg + 14, (uint16_t)field);
	put16(seg + 16, 0);
	put16(seg + 18, 0);
	if (len)
		ring_peek(&t->sndq, off, seg + hl, len);
	uint32_t sum = csum_add(csum_pseudo(t->laddr, t->raddr, IPPROTO_TCP_, (uint32_t)(hl + len)),
				seg, hl + len);
	put16(seg + 16, csum_fold(sum));
	struct iovec iov = {seg, hl + len};
	if (flags & TH_ACK) {
		uint32_t edge = t->rcv_nxt + (syn ? field : field << t->rcv_wscale);
		if (seq_gt(edge, t->rcv_adv) || !t->rcv_adv)
			t->rcv_adv = edge;
		t->unacked_segs = 0;
		t->t_delack = 0;
		t->ack_now = false;
	}
	s->st.tcp_out_segs++;
	if (flags & TH_RST)
		s->st.tcp_out_rsts++;
	int err = ns_ip_output(s, t->laddr, t->raddr, IPPROTO_TCP_, &iov, 1, true);
	free(seg);
	return err;
}

void tcp_send_ack(struct ns_tcp *t)
{
	send_segment(t, t->snd_nxt, TH_ACK, 0, 0);
}

void tcp_send_reset(struct ns_tcp *t)
{
	if (t->state == TCP_CLOSED || t->state == TCP_LISTEN || t->state == TCP_SYN_SENT)
		return;
	send_segment(t, t->snd_nxt, TH_RST | TH_ACK, 0, 0);
}

void tcp_send_syn(struct ns_tcp *t)
{
	uint8_t flags = t->state == TCP_SYN_RECEIVED ? TH_SYN | TH_ACK : TH_SYN;
	if (t->snd_max != t->iss)
		t->s->st.tcp_retrans_segs++;
	send_segment(t, t->iss, flags, 0, 0);
	t->snd_nxt = t->iss + 1;
	if (seq_gt(t->snd_nxt, t->snd_max))
		t->snd_max = t->snd_nxt;
	tcp_arm_rexmit(t);
}

/* Data bytes of the queue not sent yet (snd_nxt counts from snd_una). */
static size_t unsent(const struct ns_tcp *t)
{
	uint32_t sent = t->snd_nxt - t->snd_una;
	return sent < t->sndq.len ? t->sndq.len - sent : 0;
}

static bool fin_sent(const struct ns_tcp *t)
{
	return t->fin_queued && t->snd_nxt - t->snd_una == t->sndq.len + 1;
}

void tcp_retransmit_first(struct ns_tcp *t)
{
	struct ns_stack *s = t->s;
	if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED) {
		tcp_send_syn(t);
		return;
	}
	s->st.tcp_retrans_segs++;
	size_t len = t->sndq.len < t->mss ? t->sndq.len : t->mss;
	if (len)
		send_segment(t, t->snd_una, TH_ACK | (len == t->sndq.len ? TH_PSH : 0), 0, len);
	else if (t->fin_queued) {
		send_segment(t, t->snd_una, TH_FIN | TH_ACK, 0, 0);
		t->fin_out = true;
		t->fin_seq = t->snd_una;
	}
	tcp_arm_rexmit(t);
}

static bool sending_state(const struct ns_tcp *t)
{
	return t->state == TCP_ESTABLISHED || t->state == TCP_CLOSE_WAIT ||
	       t->state == TCP_FIN_WAIT_1 || t->state == TCP_CLOSING || t->state == TCP_LAST_ACK;
}

void tcp_output(struct ns_tcp *t)
{
	if (!sending_state(t)) {
		if (t->ack_now && t->state != TCP_CLOSED && t->state != TCP_LISTEN &&
		    t->state != TCP_SYN_SENT)
			tcp_send_ack(t);
		return;
	}
	struct ns_stack *s = t->s;
	bool sack_recovery = t->in_recovery && t->sack_ok;
	/* In SACK recovery the holes go first, as the pipe allows (RFC 6675's
	 * NextSeg), each once. */
	while (sack_recovery && tcp_pipe(t) + t->mss <= t->cwnd) {
		uint32_t len, h = tcp_next_hole(t, t->rexmit_next, &len);
		if (!len)
			break;
		if (len > t->mss)
			len = t->mss;
		s->st.tcp_retrans_segs++;
		send_segment(t, h, TH_ACK, h - t->snd_una, len);
		t->rexmit_next = h + len;
		if (!t->t_rexmit)
			tcp_arm_rexmit(t);
	}
	for (;;) {
		size_t left = unsent(t);
		if (!left)
			break;
		uint32_t wnd = t->cwnd < t->snd_wnd ? t->cwnd : t->snd_wnd;
		uint32_t flight = sack_recovery ? tcp_pipe(t) : t->snd_nxt - t->snd_una;
		uint32_t usable = wnd > flight ? wnd - flight : 0;
		size_t len = left < t->mss ? left : t->mss;
		if (len > usable)
			len = usable;
		if (!len) {
			/* A closed window with nothing in flight: probe it. */
			if (!t->snd_wnd && t->snd_nxt == t->snd_una && !t->t_persist) {
				t->persist_backoff = 0;
				tcp_timer(t, &t->t_persist, s->now + t->rto);
			}
			break;
		}
		if (len < t->mss) {
			/* Nagle (RFC 896): a small segment waits while data is
			 * unacknowledged, unless TCP_NODELAY or this is the
			 * last before a FIN.  Sender-side SWS: a segment the
			 * window cut short waits for more window. */
			bool last = len == left;
			if (!last && flight && len < t->snd_wnd / 2)
				break;
			if (last && flight && !t->nodelay && !t->fin_queued)
				break;
		}
		uint32_t seq = t->snd_nxt;
		if (seq_lt(seq, t->snd_max))
			s->st.tcp_retrans_segs++;
		send_segment(t, seq, TH_ACK | (len == left ? TH_PSH : 0), seq - t->snd_una, len);
		if (!t->ts_ok && !t->rtt_start && seq_geq(seq, t->snd_max)) {
			t->rtt_start = s->now ? s->now : 1;
			t->rtt_seq = seq + (uint32_t)len;
		}
		t->snd_nxt = seq + (uint32_t)len;
		if (seq_gt(t->snd_nxt, t->snd_max))
			t->snd_max = t->snd_nxt;
		if (!t->t_rexmit)
			tcp_arm_rexmit(t);
		t->t_persist = 0;
	}
	if (t->fin_queued && !unsent(t) && !fin_sent(t) &&
	    t->snd_nxt - t->snd_una == t->sndq.len) {
		uint32_t seq = t->snd_nxt;
		if (seq_lt(seq, t->snd_max))
			s->st.tcp_retrans_segs++;
		send_segment(t, seq, TH_FIN | TH_ACK, 0, 0);
		t->fin_out = true;
		t->fin_seq = seq;
		t->snd_nxt = seq + 1;
		if (seq_gt(t->snd_nxt, t->snd_max))
			t->snd_max = t->snd_nxt;
		if (!t->t_rexmit)
			tcp_arm_rexmit(t);
	}
	if (t->ack_now)
		tcp_send_ack(t);
}

void tcp_send_reset_for(struct ns_stack *s, const uint8_t *ip, const uint8_t *th, size_t len,
			uint32_t seglen)
{
	(void)len;
	uint8_t seg[TCP_HDR];
	uint8_t flags = th[13];
	memset(seg, 0, sizeof(seg));
	put16(seg, get16(th + 2));
	put16(seg + 2, get16(th));
	if (flags & TH_ACK) {
		put32(seg + 4, get32(th + 8));
		seg[13] = TH_RST;
	} else {
		put32(seg + 8, get32(th + 4) + seglen);
		seg[13] = TH_RST | TH_ACK;
	}
	seg[12] = (TCP_HDR / 4) << 4;
	uint32_t src = get32(ip + 16), dst = get32(ip + 12);
	put16(seg + 16, csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_TCP_, TCP_HDR), seg,
					   TCP_HDR)));
	struct iovec iov = {seg, TCP_HDR};
	s->st.tcp_out_segs++;
	s->st.tcp_out_rsts++;
	ns_ip_output(s, src, dst, IPPROTO_TCP_, &iov, 1, true);
}
