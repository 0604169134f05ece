/* TCP input: RFC 9293's "segment arrives" (3.10.7), with RFC 5961's
 * defences against blind resets and SYNs, RFC 7323's timestamps (PAWS
 * and RTT samples), RFC 6298's RTO, and NewReno's fast retransmit and
 * recovery (RFC 5681, 6582). */
#include <stdlib.h>

#include "tcp_internal.h"

/* Half-open connections one listener keeps; past them, SYN cookies. */
#define SYN_BACKLOG_MAX 256
/* A cookie's clock ticks every 64 s; a cookie is good for its tick and
 * the next (Linux: a minute counter, MAX_SYNCOOKIE_AGE 2). */
#define COOKIE_TICK_NS (64ULL * 1000000000ULL)
/* Linux's tcp_invalid_ratelimit and tcp_challenge_ack_limit. */
#define OOW_GAP_NS (500ULL * 1000000ULL)
#define CHALLENGE_ACK_LIMIT 1000
/* cwnd never grows past this (bytes). */
#define CWND_MAX (64u << 20)

struct seg {
	uint32_t seq, ack, len; /* len: data bytes */
	uint32_t seglen;        /* len plus SYN and FIN */
	uint16_t wnd;
	uint8_t flags;
	const uint8_t *data;
	const uint8_t *ip, *th; /* the packet, for resets */
	size_t tlen;
	bool has_ts, has_ws, has_mss, sack_perm;
	uint32_t tsval, tsecr;
	int nsack;
	uint32_t sack[4][2];
	uint8_t ws;
	uint16_t mss;
};

static bool parse_options(const uint8_t *o, size_t n, struct seg *g)
{
	size_t i = 0;
	while (i < n) {
		uint8_t kind = o[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n)
			return false;
		uint8_t len = o[i + 1];
		if (kind == 2 && len == 4) {
			g->has_mss = true;
			g->mss = get16(o + i + 2);
		} else if (kind == 3 && len == 3) {
			g->has_ws = true;
			g->ws = o[i + 2] > MAX_WSCALE ? MAX_WSCALE : o[i + 2];
		} else if (kind == 4 && len == 2) {
			g->sack_perm = true;
		} else if (kind == 5 && len >= 10 && (len - 2) % 8 == 0) {
			for (int k = 0; k < (len - 2) / 8 && g->nsack < 4; k++, g->nsack++) {
				g->sack[g->nsack][0] = get32(o + i + 2 + 8 * k);
				g->sack[g->nsack][1] = get32(o + i + 6 + 8 * k);
			}
		} else if (kind == 8 && len == 10) {
			g->has_ts = true;
			g->tsval = get32(o + i + 2);
			g->tsecr = get32(o + i + 6);
		}
		i += len;
	}
	return true;
}

static struct ns_tcp *lookup(struct ns_stack *s, uint32_t src, uint16_t sport, uint32_t dst,
			     uint16_t dport)
{
	struct ns_tcp *t = tcp_hash_find(s, dst, dport, src, sport);
	if (t)
		return t;
	/* A listener on the port: one bound to the address before one on
	 * any address. */
	struct ns_tcp *listener = NULL;
	for (t = s->listeners; t; t = t->lnext)
		if (t->state == TCP_LISTEN && t->lport == dport && (!t->laddr || t->laddr == dst) &&
		    (!listener || t->laddr))
			listener = t;
	return listener;
}

static void rtt_sample(struct ns_tcp *t, uint64_t r)
{
	if (!r)
		r = 1;
	if (!t->rtt_seeded) {
		t->srtt = r;
		t->rttvar = r / 2;
		t->rtt_seeded = true;
	} else {
		uint64_t d = t->srtt > r ? t->srtt - r : r - t->srtt;
		t->rttvar = (3 * t->rttvar + d) / 4;
		t->srtt = (7 * t->srtt + r) / 8;
	}
	uint64_t var = 4 * t->rttvar < MS ? MS : 4 * t->rttvar;
	t->rto = t->srtt + var;
	if (t->rto < RTO_MIN_NS)
		t->rto = RTO_MIN_NS;
	if (t->rto > RTO_MAX_NS)
		t->rto = RTO_MAX_NS;
}

/* What the handshake agreed: options, MSS, windows. */
static void take_syn_options(struct ns_tcp *t, const struct seg *g)
{
	t->ts_ok = g->has_ts;
	t->ws_ok = g->has_ws;
	t->sack_ok = g->sack_perm;
	t->snd_wscale = g->has_ws ? g->ws : 0;
	t->rcv_wscale = g->has_ws ? OUR_WSCALE : 0;
	t->peer_mss = g->has_mss && g->mss >= 64 ? g->mss : DEFAULT_MSS;
	uint32_t src;
	struct ns_if *f = ns_route(t->s, t->raddr, &src);
	uint32_t mine = (uint32_t)(f ? f->mtu : 576) - IP_HDR_MIN - TCP_HDR;
	uint32_t mss = t->peer_mss < mine ? t->peer_mss : mine;
	if (t->ts_ok)
		mss -= 12;
	t->mss = (uint16_t)mss;
	t->cwnd = INIT_CWND_SEGS * mss;
	t->ssthresh = UINT32_MAX / 2;
	if (g->has_ts)
		t->ts_recent = g->tsval;
}

static void established(struct ns_tcp *t)
{
	t->state = TCP_ESTABLISHED;
	t->retries = 0;
	t->t_rexmit = 0;
	if (t->keepalive)
		tcp_timer(t, &t->t_keep, t->s->now + (uint64_t)t->ka_idle * 1000 * MS);
}

/* A connection answering a SYN (SYN-RECEIVED): a listener's child, or
 * (l NULL) a transparent one of the user's. */
static struct ns_tcp *passive_open(struct ns_stack *s, struct ns_tcp *l, const struct seg *g,
				   uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	struct ns_tcp *c = tcp_new(s);
	if (!c)
		return NULL;
	if (l) {
		c->sndbuf = l->sndbuf;
		c->rcvbuf = l->rcvbuf;
		c->nodelay = l->nodelay;
		c->keepalive = l->keepalive;
		c->ka_idle = l->ka_idle, c->ka_intvl = l->ka_intvl, c->ka_cnt = l->ka_cnt;
	}
	if (tcp_alloc_queues(c)) {
		tcp_destroy(c);
		return NULL;
	}
	c->laddr = dst;
	c->lport = dport;
	c->raddr = src;
	c->rport = sport;
	c->bound = true;
	tcp_hash_add(c);
	c->listener = l;
	if (l)
		l->syn_len++;
	c->irs = g->seq;
	c->rcv_nxt = g->seq + 1;
	c->state = TCP_SYN_RECEIVED;
	take_syn_options(c, g);
	c->iss = tcp_isn(s, dst, c->lport, src, sport);
	c->snd_una = c->snd_nxt = c->snd_max = c->recover = c->iss;
	s->st.tcp_passive_opens++;
	return c;
}

/* ---- SYN cookies (in the spirit of Linux's syncookies=1) ----
 * With its half-open queue full, a listener keeps no state for a SYN:
 * its SYN-ACK's sequence number is a cookie, [tick:5][mss index:3]
 * [keyed hash:24], the hash over the connection, the tick, the index and
 * the client's ISN; the client's ACK of it is checked and becomes the
 * connection.  The peer's window scale and SACK permission ride in the
 * low bits of the SYN-ACK's timestamp, which the ACK echoes; without
 * timestamps they are not offered (as Linux does). */
static void synchronized(struct ns_tcp *t, struct seg *g);

static const uint16_t cookie_mss[8] = {536, 1220, 1440, 1460, 4312, 8960, 16344, 65483};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint32_t cookie_hash(const struct ns_stack *s, uint32_t la, uint16_t lp, uint32_t ra,
			    uint16_t rp, uint64_t tick, uint32_t peer_isn, uint32_t idx)
{
	uint64_t x = mix64(s->isn_secret ^ 0x636f6f6b6965ULL ^ ((uint64_t)la << 32 | ra));
	x = mix64(x ^ ((uint64_t)lp << 48 | (uint64_t)rp << 32 | peer_isn));
	x = mix64(x ^ (tick << 3 | idx));
	return (uint32_t)(x >> 40);
}

static void send_cookie(struct ns_stack *s, struct ns_tcp *l, const struct seg *g, uint32_t src,
			uint16_t sport, uint32_t dst)
{
	struct ns_tcp c = {0};
	c.s = s;
	c.state = TCP_SYN_RECEIVED;
	c.laddr = dst, c.lport = l->lport, c.raddr = src, c.rport = sport;
	c.irs = g->seq;
	c.rcv_nxt = g->seq + 1;
	c.rcvq.cap = l->rcvbuf; /* the window offered; nothing is allocated */
	take_syn_options(&c, g);
	uint32_t idx = 0;
	while (idx < 7 && cookie_mss[idx + 1] <= c.peer_mss)
		idx++;
	uint64_t tick = s->now / COOKIE_TICK_NS;
	c.iss = (uint32_t)(tick & 31) << 27 | idx << 24 |
		cookie_hash(s, dst, l->lport, src, sport, tick, g->seq, idx);
	c.snd_una = c.snd_nxt = c.snd_max = c.iss;
	if (c.ts_ok) {
		uint32_t now_ms = (uint32_t)(s->now / MS);
		uint32_t v = (now_ms & ~0x3fu) | (c.ws_ok ? c.snd_wscale : 0xf) | (c.sack_ok ? 0x10 : 0);
		c.syn_tsval = v > now_ms && v >= 64 ? v - 64 : v;
		if (!c.syn_tsval)
			c.syn_tsval = 0x40 | (v & 0x3f);
	} else {
		c.ws_ok = c.sack_ok = false;
		c.rcv_wscale = 0;
	}
	tcp_send_syn(&c);
	l->cookies_until = s->now + 2 * COOKIE_TICK_NS;
	s->st.tcp_syncookies_sent++;
}

/* An ACK for a listener: the completion of a cookie's handshake?  True
 * if it was (a connection, or a full accept queue's drop). */
static bool cookie_ack(struct ns_stack *s, struct ns_tcp *l, struct seg *g, uint32_t src,
		       uint16_t sport, uint32_t dst)
{
	if (!l->cookies_until || s->now > l->cookies_until || (g->flags & (TH_SYN | TH_FIN)))
		return false;
	uint32_t cookie = g->ack - 1, peer_isn = g->seq - 1, idx = cookie >> 24 & 7;
	uint64_t tick = s->now / COOKIE_TICK_NS;
	bool good = false;
	for (uint64_t d = 0; d < 2 && d <= tick && !good; d++)
		good = ((tick - d) & 31) == cookie >> 27 &&
		       cookie_hash(s, dst, l->lport, src, sport, tick - d, peer_isn, idx) ==
			       (cookie & 0xffffff);
	if (!good) {
		s->st.tcp_syncookies_failed++;
		return false;
	}
	if (l->aq_len >= l->backlog) {
		s->st.tcp_listen_drops++;
		return true;
	}
	/* The SYN, as far as the cookie remembers it. */
	struct seg syn = {.seq = peer_isn, .has_mss = true, .mss = cookie_mss[idx]};
	if (g->has_ts && (g->tsecr & 0xf) != 0xf) {
		syn.has_ws = true;
		syn.ws = (uint8_t)(g->tsecr & 0xf) > MAX_WSCALE ? MAX_WSCALE : (uint8_t)(g->tsecr & 0xf);
	}
	if (g->has_ts) {
		syn.sack_perm = g->tsecr & 0x10;
		syn.has_ts = true;
		syn.tsval = g->tsval;
	}
	struct ns_tcp *c = passive_open(s, l, &syn, src, sport, dst, l->lport);
	if (!c) {
		s->st.tcp_listen_drops++;
		return true;
	}
	c->iss = cookie;
	c->snd_una = c->recover = cookie;
	c->snd_nxt = c->snd_max = cookie + 1;
	s->st.tcp_syncookies_recv++;
	synchronized(c, g); /* the ACK completes it, and its data is taken */
	if (c->state == TCP_SYN_RECEIVED)
		tcp_done(c, 0); /* it did not: no half-open child without a timer */
	return true;
}

/* A SYN for a listener: a half-open child answers it, or a cookie. */
static void listen_syn(struct ns_stack *s, struct ns_tcp *l, const struct seg *g, uint32_t src,
		       uint16_t sport, uint32_t dst)
{
	if (l->aq_len >= l->backlog) {
		s->st.tcp_listen_drops++;
		return;
	}
	if (l->syn_len >= SYN_BACKLOG_MAX) {
		send_cookie(s, l, g, src, sport, dst);
		return;
	}
	struct ns_tcp *c = passive_open(s, l, g, src, sport, dst, l->lport);
	if (!c) {
		s->st.tcp_listen_drops++;
		return;
	}
	tcp_send_syn(c);
}

/* Data (and a FIN) that arrived in order, then whatever waited for it. */
static void take_in_order(struct ns_tcp *t, const uint8_t *data, uint32_t len, bool fin)
{
	if (len) {
		/* What does not fit (no memory) was never received. */
		size_t took = ring_write(&t->rcvq, data, len);
		t->rcv_nxt += (uint32_t)took;
		if (took < len)
			fin = false;
	}
	while (t->ooo && seq_leq(t->ooo->seq, t->rcv_nxt)) {
		struct ooo *o = t->ooo;
		t->ooo = o->next;
		t->ooo_bytes -= o->len;
		uint32_t skip = t->rcv_nxt - o->seq;
		if (skip < o->len)
			t->rcv_nxt += (uint32_t)ring_write(&t->rcvq, o->data + skip, o->len - skip);
		if (o->fin && o->seq + o->len == t->rcv_nxt)
			fin = true;
		free(o);
	}
	if (fin && !t->fin_rcvd) {
		t->fin_rcvd = true;
		t->rcv_nxt++;
		t->ack_now = true;
	}
}

/* A segment past a gap: kept (within the window and memory) for later. */
static void keep_out_of_order(struct ns_tcp *t, uint32_t seq, const uint8_t *data, uint32_t len,
			      bool fin)
{
	struct ooo **pp = &t->ooo;
	while (*pp && seq_lt((*pp)->seq, seq))
		pp = &(*pp)->next;
	/* Already held whole: nothing new. */
	for (struct ooo *o = t->ooo; o; o = o->next)
		if (seq_leq(o->seq, seq) && seq_geq(o->seq + o->len, seq + len) && (!fin || o->fin))
			return;
	if (t->ooo_bytes + len > t->rcvbuf) {
		t->s->st.tcp_ooo_drops++;
		return;
	}
	struct ooo *o = malloc(sizeof(*o) + len);
	if (!o)
		return;
	o->seq = seq;
	o->len = len;
	o->fin = fin;
	memcpy(o->data, data, len);
	o->next = *pp;
	*pp = o;
	t->ooo_bytes += len;
	t->last_ooo = seq;
}

static void enter_time_wait(struct ns_tcp *t)
{
	t->state = TCP_TIME_WAIT;
	t->t_rexmit = t->t_persist = t->t_keep = t->t_delack = 0;
	tcp_timer(t, &t->t_wait, t->s->now + TIME_WAIT_NS);
	tcp_wake(t);
}

/* The sender's scoreboard: what snd_una passed goes, the ACK's SACK
 * blocks (those within what is outstanding) merge in. */
static void sack_update(struct ns_tcp *t, const struct seg *g)
{
	int w = 0;
	for (int i = 0; i < t->nsacked; i++) {
		uint32_t s = t->sacked[i].start, e = t->sacked[i].end;
		if (seq_leq(e, t->snd_una))
			continue;
		if (seq_lt(s, t->snd_una))
			s = t->snd_una;
		t->sacked[w].start = s;
		t->sacked[w++].end = e;
	}
	t->nsacked = w;
	for (int k = 0; k < g->nsack; k++) {
		uint32_t s = g->sack[k][0], e = g->sack[k][1];
		if (!seq_lt(s, e) || seq_lt(s, t->snd_una) || seq_gt(e, t->snd_max))
			continue; /* below snd_una (a D-SACK) or never sent: ignored */
		if (t->nsacked == SACK_SCOREBOARD)
			break;
		int i = 0;
		while (i < t->nsacked && seq_lt(t->sacked[i].start, s))
			i++;
		memmove(&t->sacked[i + 1], &t->sacked[i], (size_t)(t->nsacked - i) * sizeof(t->sacked[0]));
		t->sacked[i].start = s;
		t->sacked[i].end = e;
		t->nsacked++;
		/* Merge what now touches or overlaps. */
		int m = 0;
		for (int j = 1; j < t->nsacked; j++) {
			if (seq_leq(t->sacked[j].start, t->sacked[m].end)) {
				if (seq_gt(t->sacked[j].end, t->sacked[m].end))
					t->sacked[m].end = t->sacked[j].end;
			} else {
				t->sacked[++m] = t->sacked[j];
			}
		}
		t->nsacked = m + 1;
	}
	t->sacked_bytes = 0;
	for (int i = 0; i < t->nsacked; i++)
		t->sacked_bytes += t->sacked[i].end - t->sacked[i].start;
}

static void enter_recovery(struct ns_tcp *t)
{
	uint32_t flight = tcp_flight(t);
	t->ssthresh = flight / 2 > 2u * t->mss ? flight / 2 : 2u * t->mss;
	t->recover = t->snd_max;
	t->in_recovery = true;
	t->s->st.tcp_fast_retrans++;
	if (t->sack_ok) {
		/* RFC 6675: no inflation; the holes go as the pipe allows. */
		t->cwnd = t->ssthresh;
		t->rexmit_next = t->snd_una;
		tcp_output(t);
	} else {
		tcp_retransmit_first(t);
		t->cwnd = t->ssthresh + 3u * t->mss;
	}
}

/* The ACK field of g, in a synchronized state.  Returns false when the
 * segment is to be dropped (it acknowledged what was never sent). */
static bool process_ack(struct ns_tcp *t, const struct seg *g)
{
	struct ns_stack *s = t->s;
	if (seq_gt(g->ack, t->snd_max)) {
		t->ack_now = true;
		return false;
	}
	uint32_t wnd = (uint32_t)g->wnd << t->snd_wscale;
	bool window_changed = wnd != t->snd_wnd;
	if (seq_gt(g->ack, t->snd_una)) {
		uint32_t acked = g->ack - t->snd_una;
		/* RTT: from the echoed timestamp, or the one timed segment. */
		if (t->ts_ok && g->has_ts && g->tsecr) {
			uint32_t ms = (uint32_t)(s->now / MS) - g->tsecr;
			if (ms < 600000)
				rtt_sample(t, (uint64_t)ms * MS);
		} else if (t->rtt_start && seq_geq(g->ack, t->rtt_seq)) {
			rtt_sample(t, s->now - t->rtt_start);
			t->rtt_start = 0;
		}
		size_t data = acked < t->sndq.len ? acked : t->sndq.len;
		ring_drop(&t->sndq, data);
		t->snd_una = g->ack;
		if (seq_lt(t->snd_nxt, t->snd_una))
			t->snd_nxt = t->snd_una;
		t->retries = 0;
		t->soft_err = 0; /* the path works after all */
		if (t->sack_ok)
			sack_update(t, g);
		/* Congestion control. */
		if (t->in_recovery) {
			if (seq_geq(g->ack, t->recover)) {
				uint32_t flight = tcp_flight(t);
				t->cwnd = t->ssthresh < flight + t->mss ? t->ssthresh : flight + t->mss;
				t->in_recovery = false;
				t->dupacks = 0;
			} else if (t->sack_ok) {
				/* A partial ACK: the scoreboard says what goes next. */
				if (seq_lt(t->rexmit_next, t->snd_una))
					t->rexmit_next = t->snd_una;
			} else {
				/* A partial ACK: the next hole goes at once. */
				tcp_retransmit_first(t);
				t->cwnd = t->cwnd > acked ? t->cwnd - acked : 0;
				t->cwnd += t->mss;
			}
		} else {
			t->dupacks = 0;
			/* Slow start counts bytes acked, up to two segments an
			 * ACK (RFC 3465's L = 2: a delayed ACK covers two). */
			if (t->cwnd < t->ssthresh)
				t->cwnd += acked < 2u * t->mss ? acked : 2u * t->mss;
			else
				t->cwnd += (uint32_t)((uint64_t)t->mss * t->mss / t->cwnd) ?: 1;
			if (t->cwnd > CWND_MAX)
				t->cwnd = CWND_MAX;
		}
		if (t->snd_una == t->snd_max)
			t->t_rexmit = 0;
		else
			tcp_arm_rexmit(t);
		t->notify_due = true; /* room to write */
	} else if (g->ack == t->snd_una && !g->len && !(g->flags & (TH_SYN | TH_FIN)) &&
		   !window_changed && t->snd_max != t->snd_una) {
		/* A duplicate ACK (RFC 5681's definition). */
		t->dupacks++;
		if (t->sack_ok)
			sack_update(t, g);
		/* Lost: three duplicates, or (RFC 6675's IsLost) more than two
		 * segments' worth SACKed above the first hole. */
		bool lost = t->dupacks >= 3 || (t->sack_ok && t->sacked_bytes > 2u * t->mss);
		if (lost && !t->in_recovery && seq_gt(t->snd_una, t->recover - 1))
			enter_recovery(t);
		else if (t->in_recovery && t->sack_ok)
			tcp_output(t);
		else if (t->in_recovery)
			t->cwnd += t->mss;
	}
	/* The send window (RFC 9293 3.10.7.4, SND.WL1/WL2). */
	if (seq_lt(t->snd_wl1, g->seq) ||
	    (t->snd_wl1 == g->seq && seq_leq(t->snd_wl2, g->ack))) {
		if (!t->snd_wnd && wnd)
			t->t_persist = 0;
		t->snd_wnd = wnd;
		t->snd_wl1 = g->seq;
		t->snd_wl2 = g->ack;
	}
	return true;
}

static bool fin_acked(const struct ns_tcp *t)
{
	return t->fin_out && seq_gt(t->snd_una, t->fin_seq);
}

static void reset_received(struct ns_tcp *t)
{
	int err;
	switch (t->state) {
	case TCP_SYN_SENT: err = ECONNREFUSED; break;
	case TCP_SYN_RECEIVED: err = t->listener ? 0 : ECONNREFUSED; break;
	case TCP_CLOSE_WAIT: err = EPIPE; break;
	case TCP_CLOSING:
	case TCP_LAST_ACK:
	case TCP_TIME_WAIT: err = 0; break;
	default: err = ECONNRESET; break;
	}
	tcp_done(t, err);
}

/* Linux's tcp_invalid_ratelimit: a connection answers segments without
 * data (or with SYN) that it refuses at most once per 500 ms, so that two
 * confused ends cannot loop ACKs.  True: skip this answer. */
static bool oow_limited(struct ns_tcp *t, const struct seg *g)
{
	if (g->len && !(g->flags & TH_SYN))
		return false; /* data wants its duplicate ACK: not a loop */
	if (t->last_oow_ack && t->s->now - t->last_oow_ack < OOW_GAP_NS) {
		t->s->st.tcp_acks_rate_limited++;
		return true;
	}
	t->last_oow_ack = t->s->now;
	return false;
}

static void send_dupack(struct ns_tcp *t, const struct seg *g)
{
	if (!oow_limited(t, g))
		tcp_send_ack(t);
}

/* RFC 5961 section 7: challenge ACKs are throttled, per connection as
 * above and per stack to about CHALLENGE_ACK_LIMIT a second, the exact
 * budget drawn at random each second (as Linux does since CVE-2016-5696,
 * so that the count is no side channel). */
static void challenge_ack(struct ns_tcp *t, const struct seg *g)
{
	struct ns_stack *s = t->s;
	if (oow_limited(t, g))
		return;
	uint64_t sec = s->now / 1000000000ULL;
	if (sec != s->challenge_sec || !s->challenge_budget) {
		s->challenge_sec = sec;
		uint64_t r = mix64(s->isn_secret ^ sec ^ (uint64_t)(uintptr_t)t);
		s->challenge_budget = CHALLENGE_ACK_LIMIT / 2 + (int)(r % CHALLENGE_ACK_LIMIT) + 1;
	}
	if (s->challenge_budget <= 1) {
		s->challenge_budget = 1; /* spent until the next second */
		s->st.tcp_acks_rate_limited++;
		return;
	}
	s->challenge_budget--;
	s->st.tcp_challenge_acks++;
	tcp_send_ack(t);
}

static void synchronized(struct ns_tcp *t, struct seg *g)
{
	struct ns_stack *s = t->s;
	/* PAWS (RFC 7323 5.3): an old timestamp is a segment from the past. */
	if (t->ts_ok && g->has_ts && !(g->flags & TH_RST) &&
	    (int32_t)(g->tsval - t->ts_recent) < 0) {
		send_dupack(t, g);
		return;
	}
	/* 1. Acceptability (RFC 9293 3.10.7.4), against the window offered
	 * (or the room there is now, if more). */
	uint32_t rwnd = seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
	if (tcp_rcv_window(t) > rwnd)
		rwnd = tcp_rcv_window(t);
	bool ok;
	if (g->seglen == 0)
		ok = rwnd == 0 ? g->seq == t->rcv_nxt
			       : seq_leq(t->rcv_nxt, g->seq) && seq_lt(g->seq, t->rcv_nxt + rwnd);
	else
		ok = rwnd != 0 &&
		     ((seq_leq(t->rcv_nxt, g->seq) && seq_lt(g->seq, t->rcv_nxt + rwnd)) ||
		      (seq_leq(t->rcv_nxt, g->seq + g->seglen - 1) &&
		       seq_lt(g->seq + g->seglen - 1, t->rcv_nxt + rwnd)));
	if (!ok) {
		if (g->flags & TH_SYN)
			challenge_ack(t, g);
		else if (!(g->flags & TH_RST))
			send_dupack(t, g);
		return;
	}
	/* 2. RST (RFC 5961 3.2): exactly at RCV.NXT resets; elsewhere in the
	 * window it only earns a challenge ACK. */
	if (g->flags & TH_RST) {
		if (g->seq == t->rcv_nxt)
			reset_received(t);
		else
			challenge_ack(t, g);
		return;
	}
	/* 4. A SYN in a synchronized state (RFC 5961 4.2): challenge ACK. */
	if (g->flags & TH_SYN) {
		challenge_ack(t, g);
		return;
	}
	/* 5. ACK. */
	if (!(g->flags & TH_ACK))
		return;
	if (t->ts_ok && g->has_ts && seq_leq(g->seq, t->rcv_nxt))
		t->ts_recent = g->tsval;
	if (t->state == TCP_SYN_RECEIVED) {
		if (!(seq_lt(t->snd_una, g->ack) && seq_leq(g->ack, t->snd_max))) {
			tcp_send_reset_for(s, g->ip, g->th, g->tlen, g->seglen);
			return;
		}
		if (t->listener && t->listener->aq_len >= t->listener->backlog) {
			/* A full accept queue: the ACK is ignored and the
			 * client retransmits (Linux, tcp_abort_on_overflow 0). */
			s->st.tcp_listen_drops++;
			return;
		}
		t->snd_una = g->ack;
		t->snd_wnd = (uint32_t)g->wnd << t->snd_wscale;
		t->snd_wl1 = g->seq;
		t->snd_wl2 = g->ack;
		established(t);
		if (t->listener)
			tcp_child_ready(t);
		t->notify_due = true;
	} else {
		if (t->state == TCP_TIME_WAIT) {
			/* A retransmitted FIN: ACK it again, wait anew. */
			if (g->flags & TH_FIN) {
				tcp_timer(t, &t->t_wait, s->now + TIME_WAIT_NS);
				tcp_send_ack(t);
			}
			return;
		}
		if (!process_ack(t, g)) {
			tcp_output(t);
			return;
		}
		if (fin_acked(t)) {
			if (t->state == TCP_FIN_WAIT_1) {
				t->state = TCP_FIN_WAIT_2;
				if (t->orphan)
					tcp_timer(t, &t->t_wait, s->now + FIN_WAIT2_NS);
			} else if (t->state == TCP_CLOSING) {
				enter_time_wait(t);
			} else if (t->state == TCP_LAST_ACK) {
				tcp_done(t, 0);
				return;
			}
		}
	}
	/* 7. Data. */
	bool fin = g->flags & TH_FIN;
	bool can_take = t->state == TCP_ESTABLISHED || t->state == TCP_FIN_WAIT_1 ||
			t->state == TCP_FIN_WAIT_2;
	if ((g->len || fin) && can_take) {
		if (t->orphan && g->len && t->fin_queued) {
			/* Data for a connection the user closed: nobody will read
			 * it, and the peer must know (Linux resets). */
			tcp_send_reset(t);
			tcp_done(t, 0);
			return;
		}
		const uint8_t *data = g->data;
		uint32_t seq = g->seq, len = g->len;
		if (seq_lt(seq, t->rcv_nxt)) {
			uint32_t skip = t->rcv_nxt - seq;
			if (skip > len) {
				skip = len;
			}
			data += skip;
			len -= skip;
			seq += skip;
		}
		uint32_t room = tcp_rcv_window(t);
		uint32_t edge = t->rcv_adv - t->rcv_nxt > room ? t->rcv_adv - t->rcv_nxt : room;
		if (seq - t->rcv_nxt + len > edge) {
			uint32_t cut = seq - t->rcv_nxt + len - edge;
			len = cut > len ? 0 : len - cut;
			fin = false;
		}
		if (seq == t->rcv_nxt) {
			bool had_gap = t->ooo != NULL;
			take_in_order(t, data, len, fin);
			if (len || fin)
				t->notify_due = true;
			t->unacked_segs++;
			if (had_gap || t->unacked_segs >= 2 || fin || t->ooo || t->quickack)
				t->ack_now = true;
			else if (!t->t_delack)
				tcp_timer(t, &t->t_delack, s->now + DELACK_NS);
		} else if (len || fin) {
			keep_out_of_order(t, seq, data, len, fin);
			t->ack_now = true; /* a duplicate ACK tells the sender */
		}
		if (t->fin_rcvd) {
			if (t->state == TCP_ESTABLISHED) {
				t->state = TCP_CLOSE_WAIT;
			} else if (t->state == TCP_FIN_WAIT_1) {
				t->state = fin_acked(t) ? TCP_TIME_WAIT : TCP_CLOSING;
				if (t->state == TCP_TIME_WAIT)
					enter_time_wait(t);
			} else if (t->state == TCP_FIN_WAIT_2) {
				enter_time_wait(t);
			}
			t->notify_due = true;
		}
	} else if (fin && t->state != TCP_ESTABLISHED) {
		/* A repeated FIN (CLOSE_WAIT, CLOSING, LAST_ACK): ACK it again. */
		t->ack_now = true;
	}
	if (t->keepalive && t->state == TCP_ESTABLISHED) {
		t->ka_probes = 0;
		tcp_timer(t, &t->t_keep, s->now + (uint64_t)t->ka_idle * 1000 * MS);
	}
	tcp_output(t);
}

static void syn_sent(struct ns_tcp *t, struct seg *g)
{
	struct ns_stack *s = t->s;
	bool ack = g->flags & TH_ACK;
	if (ack && (seq_leq(g->ack, t->iss) || seq_gt(g->ack, t->snd_max))) {
		if (!(g->flags & TH_RST))
			tcp_send_reset_for(s, g->ip, g->th, g->tlen, g->seglen); /* seq = its ACK */
		return;
	}
	if (g->flags & TH_RST) {
		if (ack)
			tcp_done(t, ECONNREFUSED);
		return;
	}
	if (!(g->flags & TH_SYN))
		return;
	t->irs = g->seq;
	t->rcv_nxt = g->seq + 1;
	take_syn_options(t, g);
	if (ack) {
		t->snd_una = g->ack;
		t->snd_wnd = g->wnd; /* a SYN's window is never scaled (RFC 7323 2.2) */
		t->snd_wl1 = g->seq;
		t->snd_wl2 = g->ack;
		if (t->rtt_start == 0 && t->retries == 0)
			rtt_sample(t, s->now - (t->t_rexmit - t->rto));
		established(t);
		t->ack_now = true;
		t->notify_due = true;
		tcp_output(t);
	} else {
		/* Simultaneous open. */
		t->state = TCP_SYN_RECEIVED;
		tcp_send_syn(t);
	}
}

/* Checks and parses a segment (th, len bytes, in datagram ip); false,
 * counted, when it is not a valid one. */
static bool parse_segment(struct ns_stack *s, const uint8_t *ip, const uint8_t *th, size_t len,
			  struct seg *g)
{
	uint32_t src = get32(ip + 12), dst = get32(ip + 16);
	if (len < TCP_HDR) {
		s->st.tcp_in_errs++;
		return false;
	}
	size_t doff = (size_t)(th[12] >> 4) * 4;
	if (doff < TCP_HDR || doff > len) {
		s->st.tcp_in_errs++;
		return false;
	}
	if (csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_TCP_, (uint32_t)len), th, len))) {
		s->st.tcp_in_errs++;
		s->st.tcp_in_csum_errors++;
		return false;
	}
	*g = (struct seg){0};
	g->seq = get32(th + 4);
	g->ack = get32(th + 8);
	g->flags = th[13] & 0x3f;
	g->wnd = get16(th + 14);
	g->data = th + doff;
	g->ip = ip;
	g->th = th;
	g->tlen = len;
	g->len = (uint32_t)(len - doff);
	g->seglen = g->len + !!(g->flags & TH_SYN) + !!(g->flags & TH_FIN);
	if (!parse_options(th + TCP_HDR, doff - TCP_HDR, g)) {
		s->st.tcp_in_errs++;
		return false;
	}
	return true;
}

void ns_tcp_reset_for(struct ns_stack *s, const uint8_t *ip, const uint8_t *th, size_t len)
{
	struct seg g;
	if (parse_segment(s, ip, th, len, &g) && !(g.flags & TH_RST))
		tcp_send_reset_for(s, ip, th, len, g.seglen);
}

bool ns_tcp_foreign_owns(const struct ns_stack *s, uint32_t src, uint16_t sport, uint32_t dst,
			 uint16_t dport)
{
	for (const struct ns_tcp *t = s->tcps; t; t = t->next)
		if (t->foreign && t->state != TCP_CLOSED && t->laddr == dst && t->lport == dport &&
		    t->raddr == src && t->rport == sport)
			return true;
	return false;
}

int ns_tcp_accept_syn(struct ns_stack *s, const uint8_t *pkt, size_t len, struct ns_tcp **out)
{
	int hlen = ns_ip_check(pkt, len);
	if (hlen < 0 || pkt[9] != IPPROTO_TCP_ || !out)
		return -EINVAL;
	uint32_t src = get32(pkt + 12), dst = get32(pkt + 16);
	const uint8_t *th = pkt + hlen;
	size_t tlen = len - (size_t)hlen;
	ns_enter(s);
	struct seg g;
	int err = 0;
	if (!parse_segment(s, pkt, th, tlen, &g) ||
	    (g.flags & (TH_SYN | TH_ACK | TH_RST | TH_FIN)) != TH_SYN || !get16(th) ||
	    !get16(th + 2) || ns_is_local(s, dst) || ns_is_broadcast(s, dst) || !src) {
		err = -EINVAL;
	} else if (ns_tcp_foreign_owns(s, src, get16(th), dst, get16(th + 2))) {
		err = -EEXIST;
	} else {
		struct ns_tcp *c = passive_open(s, NULL, &g, src, get16(th), dst, get16(th + 2));
		if (!c) {
			err = -ENOBUFS;
		} else {
			c->foreign = true;
			s->nforeign++;
			tcp_send_syn(c);
			*out = c;
		}
	}
	ns_leave(s);
	return err;
}

void ns_tcp_input(struct ns_stack *s, struct ns_if *in, const uint8_t *ip, size_t hlen,
		  const uint8_t *th, size_t len)
{
	(void)in;
	(void)hlen;
	s->st.tcp_in_segs++;
	uint32_t src = get32(ip + 12), dst = get32(ip + 16);
	struct seg g;
	if (!parse_segment(s, ip, th, len, &g))
		return;
	if (ns_is_broadcast(s, dst))
		return;
	uint16_t sport = get16(th), dport = get16(th + 2);
	struct ns_tcp *t = lookup(s, src, sport, dst, dport);
	if (!t) {
		if (!(g.flags & TH_RST))
			tcp_send_reset_for(s, ip, th, len, g.seglen);
		return;
	}
	if (t->state == TCP_LISTEN) {
		if (g.flags & TH_RST)
			return;
		if (g.flags & TH_ACK) {
			if (!cookie_ack(s, t, &g, src, sport, dst))
				tcp_send_reset_for(s, ip, th, len, g.seglen);
			return;
		}
		if (!(g.flags & TH_SYN) || sport == 0)
			return;
		listen_syn(s, t, &g, src, sport, dst);
		return;
	}
	if (t->state == TCP_SYN_SENT)
		syn_sent(t, &g);
	else
		synchronized(t, &g);
	/* t may be gone (tcp_done on an orphan): look it up again. */
	for (struct ns_tcp *u = s->tcps; u; u = u->next)
		if (u == t && u->notify_due) {
			u->notify_due = false;
			tcp_wake(u);
		}
}

void ns_tcp_icmp_error(struct ns_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		       uint16_t rport, uint32_t seq, int err)
{
	for (struct ns_tcp *t = s->tcps; t; t = t->next) {
		if (t->lport != lport || t->raddr != raddr || t->rport != rport ||
		    t->laddr != laddr || t->state == TCP_LISTEN)
			continue;
		if (seq_lt(seq, t->snd_una) || seq_geq(seq, t->snd_max))
			return; /* not about anything in flight: forged or stale */
		/* Linux (tcp_v4_err): any unreachable ends a connection still
		 * opening ("fragmentation needed" is path MTU news, not an
		 * error); once established they are soft errors, reported if
		 * the connection then times out (RFC 1122 4.2.3.9). */
		if ((t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED) && err != EMSGSIZE) {
			if (t->state == TCP_SYN_SENT)
				s->st.tcp_attempt_fails++;
			tcp_done(t, err);
		} else {
			t->soft_err = err;
		}
		return;
	}
}
