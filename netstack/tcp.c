/* TCP: the user's calls (socket semantics as Linux's), the byte rings
 * the queues live in, and the stack's table of connections. */
#include <stdlib.h>

#include "tcp_internal.h"

/* ---- rings ---- */
#define RING_FIRST 4096

int ring_init(struct ring *r, size_t cap, size_t *mem)
{
	/* The first page is granted even past the ceiling (it is bounded by
	 * the count of connections): a full stack still takes new ones. */
	r->alloc = cap < RING_FIRST ? cap : RING_FIRST;
	r->buf = malloc(r->alloc);
	if (!r->buf)
		return -ENOMEM;
	r->mem = mem;
	*mem += r->alloc;
	r->cap = cap;
	r->head = r->len = 0;
	return 0;
}

void ring_free(struct ring *r)
{
	if (r->buf && r->mem)
		*r->mem -= r->alloc;
	free(r->buf);
	r->buf = NULL;
	r->alloc = r->cap = r->head = r->len = 0;
}

/* Room for need bytes in all: a bigger buffer, the bytes in order. */
static bool ring_grow(struct ring *r, size_t need)
{
	size_t n = r->alloc * 2 > need ? r->alloc * 2 : need;
	if (n > r->cap)
		n = r->cap;
	size_t others = *r->mem - r->alloc;
	if (others >= STACK_RING_MAX)
		return false;
	if (others + n > STACK_RING_MAX)
		n = STACK_RING_MAX - others;
	if (n <= r->alloc)
		return false;
	uint8_t *b = malloc(n);
	if (!b)
		return false;
	ring_peek(r, 0, b, r->len);
	free(r->buf);
	r->buf = b;
	*r->mem += n - r->alloc;
	r->alloc = n;
	r->head = 0;
	return true;
}

size_t ring_write(struct ring *r, const uint8_t *data, size_t n)
{
	if (r->len >= r->cap)
		return 0; /* shrunk below what it holds */
	if (n > r->cap - r->len)
		n = r->cap - r->len;
	/* Growth may stop short of what was asked (the stack's ceiling). */
	if (r->len + n > r->alloc)
		ring_grow(r, r->len + n);
	if (n > r->alloc - r->len)
		n = r->alloc - r->len;
	if (!n)
		return 0;
	size_t at = (r->head + r->len) % r->alloc;
	size_t first = r->alloc - at < n ? r->alloc - at : n;
	memcpy(r->buf + at, data, first);
	memcpy(r->buf, data + first, n - first);
	r->len += n;
	return n;
}

size_t ring_room(const struct ring *r)
{
	size_t limit = r->cap;
	if (r->mem) {
		size_t others = *r->mem - r->alloc;
		size_t most = others >= STACK_RING_MAX ? 0 : STACK_RING_MAX - others;
		if (limit > most)
			limit = most;
	}
	if (limit < r->alloc)
		limit = r->alloc;
	return limit > r->len ? limit - r->len : 0;
}

void ring_peek(const struct ring *r, size_t off, uint8_t *dst, size_t n)
{
	if (!n)
		return;
	size_t at = (r->head + off) % r->alloc;
	size_t first = r->alloc - at < n ? r->alloc - at : n;
	memcpy(dst, r->buf + at, first);
	memcpy(dst + first, r->buf, n - first);
}

void ring_drop(struct ring *r, size_t n)
{
	if (n > r->len)
		n = r->len;
	r->len -= n;
	r->head = r->len ? (r->head + n) % r->alloc : 0;
}

/* ---- the table ---- */

/* The table is full: a connection the user has closed that waits out
 * TIME_WAIT makes room, the one nearest its end.  Linux does the same in
 * effect (past tcp_max_tw_buckets a closing socket skips TIME_WAIT), so
 * a server closing connections faster than MAX_TCBS a minute keeps
 * accepting; the risk, an old segment landing in a new connection on the
 * same ports, is the one Linux takes. */
static bool reap_time_wait(struct ns_stack *s)
{
	struct ns_tcp *oldest = NULL;
	for (struct ns_tcp *t = s->tcps; t; t = t->next)
		if (t->state == TCP_TIME_WAIT && t->orphan && (!oldest || t->t_wait < oldest->t_wait))
			oldest = t;
	if (!oldest)
		return false;
	s->st.tcp_time_wait_reaped++;
	tcp_done(oldest, 0); /* (an orphan: it goes) */
	return true;
}

struct ns_tcp *tcp_new(struct ns_stack *s)
{
	if (s->ntcbs >= MAX_TCBS && !reap_time_wait(s))
		return NULL;
	struct ns_tcp *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->s = s;
	t->sndbuf = DEFAULT_SNDBUF;
	t->rcvbuf = DEFAULT_RCVBUF;
	t->rto = RTO_INIT_NS;
	t->mss = DEFAULT_MSS;
	t->ka_idle = KEEPIDLE_S;
	t->ka_intvl = KEEPINTVL_S;
	t->ka_cnt = KEEPCNT;
	t->next = s->tcps;
	t->pprev = &s->tcps;
	if (s->tcps)
		s->tcps->pprev = &t->next;
	s->tcps = t;
	s->ntcbs++;
	return t;
}

static unsigned tuple_hash(uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	uint64_t x = ((uint64_t)la << 32 | ra) ^ ((uint64_t)lp << 16 | rp) * 0x9e3779b97f4a7c15ULL;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	return (unsigned)(x >> 40) % TCB_HASH;
}

static void hash_del(struct ns_tcp *t)
{
	if (!t->hpprev)
		return;
	*t->hpprev = t->hnext;
	if (t->hnext)
		t->hnext->hpprev = t->hpprev;
	t->hnext = NULL;
	t->hpprev = NULL;
}

void tcp_hash_add(struct ns_tcp *t)
{
	struct ns_stack *s = t->s;
	hash_del(t);
	struct ns_tcp **b = &s->thash[tuple_hash(t->laddr, t->lport, t->raddr, t->rport)];
	t->hnext = *b;
	t->hpprev = b;
	if (*b)
		(*b)->hpprev = &t->hnext;
	*b = t;
}

struct ns_tcp *tcp_hash_find(const struct ns_stack *s, uint32_t laddr, uint16_t lport,
			     uint32_t raddr, uint16_t rport)
{
	for (struct ns_tcp *t = s->thash[tuple_hash(laddr, lport, raddr, rport)]; t; t = t->hnext)
		if (t->state != TCP_CLOSED && t->lport == lport && t->laddr == laddr &&
		    t->raddr == raddr && t->rport == rport)
			return t;
	return NULL;
}

static void unlink_tcb(struct ns_tcp *t)
{
	struct ns_stack *s = t->s;
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	hash_del(t);
	if (t->lpprev) {
		*t->lpprev = t->lnext;
		if (t->lnext)
			t->lnext->lpprev = t->lpprev;
	}
	s->ntcbs--;
	if (t->foreign)
		s->nforeign--;
}

/* Takes child c off its listener's accept queue (or half-open count). */
static void leave_listener(struct ns_tcp *c)
{
	struct ns_tcp *l = c->listener;
	if (!l)
		return;
	if (!c->in_aq) {
		l->syn_len--;
	} else {
		for (struct ns_tcp **pp = &l->aq_head; *pp; pp = &(*pp)->aq_next)
			if (*pp == c) {
				*pp = c->aq_next;
				if (l->aq_tail == c) {
					l->aq_tail = NULL;
					for (struct ns_tcp *q = l->aq_head; q; q = q->aq_next)
						l->aq_tail = q;
				}
				l->aq_len--;
				break;
			}
	}
	c->listener = NULL;
	c->aq_next = NULL;
	c->in_aq = false;
}

void tcp_child_ready(struct ns_tcp *c)
{
	struct ns_tcp *l = c->listener;
	l->syn_len--;
	c->in_aq = true;
	c->aq_next = NULL;
	if (l->aq_tail)
		l->aq_tail->aq_next = c;
	else
		l->aq_head = c;
	l->aq_tail = c;
	l->aq_len++;
	if (l->notify)
		l->notify(l->notify_ctx);
}

void tcp_destroy(struct ns_tcp *t)
{
	struct ooo *o = t->ooo;
	while (o) {
		struct ooo *n = o->next;
		free(o);
		o = n;
	}
	ring_free(&t->sndq);
	ring_free(&t->rcvq);
	unlink_tcb(t);
	free(t);
}

void tcp_wake(struct ns_tcp *t)
{
	if (t->notify)
		t->notify(t->notify_ctx);
	if (t->listener && t->listener->notify)
		t->listener->notify(t->listener->notify_ctx);
}

void tcp_done(struct ns_tcp *t, int err)
{
	bool was_estab = t->state == TCP_ESTABLISHED || t->state == TCP_CLOSE_WAIT;
	if (err == ECONNRESET && was_estab)
		t->s->st.tcp_estab_resets++;
	if (err)
		t->err = err;
	t->state = TCP_CLOSED;
	t->t_rexmit = t->t_delack = t->t_keep = t->t_wait = t->t_persist = 0;
	if (t->listener) {
		/* A child that never got accepted: it just goes. */
		leave_listener(t);
		tcp_destroy(t);
		return;
	}
	if (t->orphan) {
		tcp_destroy(t);
		return;
	}
	tcp_wake(t);
}

void ns_tcp_free_all(struct ns_stack *s)
{
	while (s->tcps)
		tcp_destroy(s->tcps);
}

/* RFC 6528: a 4 µs clock plus a keyed hash of the connection. */
uint32_t tcp_isn(struct ns_stack *s, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	uint64_t x = s->isn_secret ^ ((uint64_t)la << 32 | ra) ^ ((uint64_t)lp << 16 | rp) << 7;
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (uint32_t)x + (uint32_t)(s->now / 4000);
}

bool ns_tcp_holds(const struct ns_stack *s, uint32_t addr, uint16_t port)
{
	for (const struct ns_tcp *t = s->tcps; t; t = t->next)
		if (t->bound && t->lport == port && (!t->laddr || !addr || t->laddr == addr))
			return true;
	return false;
}

/* ---- the user's calls ---- */
int ns_tcp_open(struct ns_stack *s, struct ns_tcp **out)
{
	struct ns_tcp *t = tcp_new(s);
	if (!t)
		return -ENOBUFS;
	*out = t;
	return 0;
}

void ns_tcp_set_notify(struct ns_tcp *t, ns_notify_fn fn, void *ctx)
{
	t->notify = fn;
	t->notify_ctx = ctx;
}

int ns_tcp_bind(struct ns_tcp *t, uint32_t addr, uint16_t port)
{
	struct ns_stack *s = t->s;
	if (t->bound || t->state != TCP_CLOSED)
		return -EINVAL;
	if (addr && !ns_is_local(s, addr))
		return -EADDRNOTAVAIL;
	if (port == 0) {
		int p = ns_pick_port(s, IPPROTO_TCP_, addr);
		if (p < 0)
			return p;
		port = (uint16_t)p;
	} else {
		for (const struct ns_tcp *o = s->tcps; o; o = o->next) {
			if (o == t || !o->bound || o->lport != port || o->listener)
				continue;
			if (o->laddr && addr && o->laddr != addr)
				continue;
			/* SO_REUSEADDR lets a port be bound again while the
			 * old connection waits out TIME_WAIT, never beside a
			 * listener or a live connection. */
			if (t->reuse && o->reuse && o->state != TCP_LISTEN &&
			    (o->state == TCP_TIME_WAIT || o->orphan || o->state == TCP_CLOSED))
				continue;
			return -EADDRINUSE;
		}
	}
	t->laddr = addr;
	t->lport = port;
	t->bound = true;
	return 0;
}

int ns_tcp_listen(struct ns_tcp *t, int backlog)
{
	if (t->state == TCP_LISTEN) {
		t->backlog = backlog < 1 ? 1 : backlog;
		return 0;
	}
	if (t->state != TCP_CLOSED)
		return -EINVAL;
	if (!t->bound) {
		int err = ns_tcp_bind(t, 0, 0);
		if (err)
			return err;
	}
	t->backlog = backlog < 1 ? 1 : backlog > 4096 ? 4096 : backlog;
	t->state = TCP_LISTEN;
	struct ns_stack *s = t->s;
	if (t->lpprev)
		return 0; /* (listening again after a close: listed already) */
	t->lnext = s->listeners;
	t->lpprev = &s->listeners;
	if (s->listeners)
		s->listeners->lpprev = &t->lnext;
	s->listeners = t;
	return 0;
}

int ns_tcp_accept(struct ns_tcp *t, struct ns_tcp **out)
{
	if (t->state != TCP_LISTEN)
		return -EINVAL;
	struct ns_tcp *c = t->aq_head;
	if (!c)
		return -EAGAIN;
	t->aq_head = c->aq_next;
	if (!t->aq_head)
		t->aq_tail = NULL;
	t->aq_len--;
	c->aq_next = NULL;
	c->listener = NULL;
	c->in_aq = false;
	*out = c;
	return 0;
}

int tcp_alloc_queues(struct ns_tcp *t)
{
	if (!t->sndq.buf && ring_init(&t->sndq, t->sndbuf, &t->s->ring_mem))
		return -ENOBUFS;
	if (!t->rcvq.buf && ring_init(&t->rcvq, t->rcvbuf, &t->s->ring_mem))
		return -ENOBUFS;
	return 0;
}

int ns_tcp_connect(struct ns_tcp *t, uint32_t addr, uint16_t port)
{
	struct ns_stack *s = t->s;
	switch (t->state) {
	case TCP_CLOSED:
		break;
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
		return -EALREADY;
	case TCP_LISTEN:
		return -EINVAL;
	default:
		return -EISCONN;
	}
	if (t->err) /* a failed connect is reported once, then it may go again */
		return -ns_tcp_take_error(t);
	if (port == 0 || addr == 0 || ns_is_broadcast(s, addr) || (addr >> 28) == 0xe)
		return port == 0 ? -ECONNREFUSED : -ENETUNREACH;
	uint32_t src = 0;
	if (!ns_route(s, addr, &src))
		return -ENETUNREACH;
	if (!t->bound) {
		int err = ns_tcp_bind(t, 0, 0);
		if (err)
			return err;
	}
	if (!t->laddr)
		t->laddr = src;
	const struct ns_tcp *o = tcp_hash_find(s, t->laddr, t->lport, addr, port);
	if (o && o != t)
		return -EADDRNOTAVAIL;
	int err = tcp_alloc_queues(t);
	if (err)
		return err;
	t->raddr = addr;
	t->rport = port;
	tcp_hash_add(t);
	t->iss = tcp_isn(s, t->laddr, t->lport, addr, port);
	t->snd_una = t->snd_nxt = t->snd_max = t->recover = t->iss;
	t->state = TCP_SYN_SENT;
	t->retries = 0;
	s->st.tcp_active_opens++;
	ns_enter(s);
	tcp_send_syn(t);
	ns_leave(s);
	return -EINPROGRESS;
}

ssize_t ns_tcp_send(struct ns_tcp *t, const struct iovec *iov, int iovcnt, int flags)
{
	(void)flags;
	struct ns_stack *s = t->s;
	if (iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	if (t->err)
		return -ns_tcp_take_error(t);
	switch (t->state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		break;
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
		return -EAGAIN;
	default:
		/* Never connected, listening, or past its end: Linux says EPIPE
		 * (and the caller raises SIGPIPE). */
		return -EPIPE;
	}
	if (t->fin_queued)
		return -EPIPE;
	size_t done = 0;
	for (int i = 0; i < iovcnt; i++) {
		size_t n = ring_write(&t->sndq, iov[i].iov_base, iov[i].iov_len);
		done += n;
		if (n < iov[i].iov_len)
			break;
	}
	if (!done) {
		size_t total = 0;
		for (int i = 0; i < iovcnt; i++)
			total += iov[i].iov_len;
		return total ? -EAGAIN : 0;
	}
	ns_enter(s);
	tcp_output(t);
	ns_leave(s);
	return (ssize_t)done;
}

/* Reading opened the window: tell the peer when it grew enough to matter
 * (RFC 9293's receiver-side silly window avoidance). */
static void window_update(struct ns_tcp *t)
{
	uint32_t wnd = tcp_rcv_window(t);
	uint32_t offered = t->rcv_adv - t->rcv_nxt;
	uint32_t grow = wnd > offered ? wnd - offered : 0;
	if (grow >= 2u * t->mss || (offered < t->mss && wnd >= t->mss) ||
	    grow >= t->rcvbuf / 2)
		tcp_send_ack(t);
}

ssize_t ns_tcp_recv(struct ns_tcp *t, const struct iovec *iov, int iovcnt, int flags)
{
	struct ns_stack *s = t->s;
	if (iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	if (t->state == TCP_LISTEN)
		return -ENOTCONN;
	size_t avail = t->rcvq.len, done = 0;
	for (int i = 0; i < iovcnt && done < avail; i++) {
		size_t n = avail - done < iov[i].iov_len ? avail - done : iov[i].iov_len;
		ring_peek(&t->rcvq, done, iov[i].iov_base, n);
		done += n;
	}
	if (done) {
		if (!(flags & NS_MSG_PEEK)) {
			ring_drop(&t->rcvq, done);
			ns_enter(s);
			if (t->state >= TCP_ESTABLISHED && t->state != TCP_TIME_WAIT)
				window_update(t);
			ns_leave(s);
		}
		return (ssize_t)done;
	}
	size_t want = 0;
	for (int i = 0; i < iovcnt; i++)
		want += iov[i].iov_len;
	if (t->err)
		return -ns_tcp_take_error(t);
	if (t->fin_rcvd || t->shut_rd)
		return 0;
	if (t->state == TCP_CLOSED)
		return t->raddr ? 0 : -ENOTCONN;
	if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED)
		return -EAGAIN;
	return want ? -EAGAIN : 0;
}

int ns_tcp_shutdown(struct ns_tcp *t, bool rd, bool wr)
{
	struct ns_stack *s = t->s;
	if (t->state == TCP_CLOSED || t->state == TCP_SYN_SENT || t->state == TCP_LISTEN) {
		if (t->state == TCP_LISTEN && rd) {
			/* Linux: shutdown(SHUT_RD) of a listener stops it. */
			ns_tcp_close(t);
			return 0;
		}
		return -ENOTCONN;
	}
	if (rd)
		t->shut_rd = true;
	if (wr && !t->fin_queued) {
		t->fin_queued = true;
		if (t->state == TCP_ESTABLISHED || t->state == TCP_SYN_RECEIVED)
			t->state = TCP_FIN_WAIT_1;
		else if (t->state == TCP_CLOSE_WAIT)
			t->state = TCP_LAST_ACK;
		ns_enter(s);
		tcp_output(t);
		ns_leave(s);
	}
	tcp_wake(t);
	return 0;
}

void ns_tcp_close(struct ns_tcp *t)
{
	if (!t)
		return;
	struct ns_stack *s = t->s;
	ns_enter(s);
	t->notify = NULL;
	t->orphan = true;
	switch (t->state) {
	case TCP_LISTEN:
		/* Half-open and unaccepted children are reset. */
		for (struct ns_tcp *c = s->tcps; c; c = c->next)
			if (c->listener == t) {
				tcp_send_reset(c);
				c->orphan = true;
			}
		for (struct ns_tcp *c = s->tcps, *n; c; c = n) {
			n = c->next;
			if (c->listener == t)
				tcp_done(c, 0);
		}
		tcp_destroy(t);
		break;
	case TCP_CLOSED:
	case TCP_SYN_SENT:
		tcp_destroy(t);
		break;
	default:
		/* Unread data, or SO_LINGER 0: the peer learns by a reset (Linux). */
		if (t->rcvq.len || t->linger0) {
			if (t->state != TCP_TIME_WAIT)
				tcp_send_reset(t);
			tcp_destroy(t);
			break;
		}
		if (!t->fin_queued) {
			t->fin_queued = true;
			if (t->state == TCP_ESTABLISHED || t->state == TCP_SYN_RECEIVED)
				t->state = TCP_FIN_WAIT_1;
			else if (t->state == TCP_CLOSE_WAIT)
				t->state = TCP_LAST_ACK;
			tcp_output(t);
		}
		if (t->state == TCP_FIN_WAIT_2 && !t->t_wait)
			tcp_timer(t, &t->t_wait, s->now + FIN_WAIT2_NS);
		break;
	}
	ns_leave(s);
}

unsigned ns_tcp_poll(const struct ns_tcp *t)
{
	unsigned m = 0;
	if (t->state == TCP_LISTEN)
		return t->aq_head ? NS_POLLIN : 0;
	if (t->rcvq.len || t->fin_rcvd || t->shut_rd)
		m |= NS_POLLIN;
	if (t->fin_rcvd || t->shut_rd)
		m |= NS_POLLRDHUP;
	if (t->err)
		m |= NS_POLLERR | NS_POLLIN;
	bool can_send = t->state == TCP_ESTABLISHED || t->state == TCP_CLOSE_WAIT;
	if (can_send && !t->fin_queued && ring_room(&t->sndq))
		m |= NS_POLLOUT;
	if (t->state == TCP_CLOSED && t->raddr)
		m |= NS_POLLHUP | NS_POLLIN | NS_POLLOUT;
	if (t->fin_rcvd && t->fin_queued)
		m |= NS_POLLHUP;
	return m;
}

int ns_tcp_take_error(struct ns_tcp *t)
{
	int e = t->err;
	t->err = 0;
	return e;
}

int ns_tcp_setopt(struct ns_tcp *t, int opt, int val)
{
	switch (opt) {
	case NS_TCP_NODELAY:
		t->nodelay = val != 0;
		if (t->nodelay && t->state >= TCP_ESTABLISHED) {
			ns_enter(t->s);
			tcp_output(t);
			ns_leave(t->s);
		}
		return 0;
	case NS_TCP_KEEPALIVE:
		t->keepalive = val != 0;
		tcp_timer(t, &t->t_keep, t->keepalive && t->state == TCP_ESTABLISHED
				    ? t->s->now + (uint64_t)t->ka_idle * 1000 * MS
				    : 0);
		return 0;
	case NS_TCP_KEEPIDLE:
	case NS_TCP_KEEPINTVL:
		if (val < 1 || val > 32767)
			return -EINVAL;
		*(opt == NS_TCP_KEEPIDLE ? &t->ka_idle : &t->ka_intvl) = val;
		return 0;
	case NS_TCP_KEEPCNT:
		if (val < 1 || val > 127)
			return -EINVAL;
		t->ka_cnt = val;
		return 0;
	case NS_TCP_RCVBUF:
	case NS_TCP_SNDBUF:
	{
		if (val < 2048 || val > 16 << 20)
			return -EINVAL;
		*(opt == NS_TCP_RCVBUF ? &t->rcvbuf : &t->sndbuf) = (size_t)val;
		/* Live queues take the new size as Linux's do: the rings grow
		 * on demand up to it; a smaller one keeps what is queued and
		 * (receiving) offers a window only once reading frees room. */
		struct ring *r = opt == NS_TCP_RCVBUF ? &t->rcvq : &t->sndq;
		if (r->buf)
			r->cap = (size_t)val; /* may be below what it holds */
		if (opt == NS_TCP_RCVBUF && t->rcvq.buf && t->state == TCP_ESTABLISHED) {
			ns_enter(t->s);
			window_update(t);
			ns_leave(t->s);
		}
		return 0;
	}
	case NS_TCP_REUSE:
		t->reuse = val != 0;
		return 0;
	case NS_TCP_LINGER0:
		t->linger0 = val != 0;
		return 0;
	case NS_TCP_QUICKACK:
		t->quickack = val != 0;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

int ns_tcp_getopt(const struct ns_tcp *t, int opt, int *val)
{
	switch (opt) {
	case NS_TCP_NODELAY: *val = t->nodelay; return 0;
	case NS_TCP_KEEPALIVE: *val = t->keepalive; return 0;
	case NS_TCP_KEEPIDLE: *val = t->ka_idle; return 0;
	case NS_TCP_KEEPINTVL: *val = t->ka_intvl; return 0;
	case NS_TCP_KEEPCNT: *val = t->ka_cnt; return 0;
	case NS_TCP_RCVBUF: *val = (int)t->rcvbuf; return 0;
	case NS_TCP_SNDBUF: *val = (int)t->sndbuf; return 0;
	case NS_TCP_REUSE: *val = t->reuse; return 0;
	case NS_TCP_LINGER0: *val = t->linger0; return 0;
	case NS_TCP_QUICKACK: *val = t->quickack; return 0;
	default: return -ENOPROTOOPT;
	}
}

int ns_tcp_name(const struct ns_tcp *t, struct ns_sockaddr *local, struct ns_sockaddr *peer)
{
	if (local)
		*local = (struct ns_sockaddr){t->laddr, t->lport};
	if (peer) {
		bool connected = t->state != TCP_CLOSED && t->state != TCP_LISTEN &&
				 t->state != TCP_SYN_SENT;
		if (!connected)
			return -ENOTCONN;
		*peer = (struct ns_sockaddr){t->raddr, t->rport};
	}
	return 0;
}

void ns_tcp_set_error(struct ns_tcp *t, int err)
{
	if (t->state == TCP_CLOSED && err > 0)
		t->err = err;
}

int ns_tcp_list(const struct ns_stack *s, struct ns_conn *out, int max)
{
	int n = 0;
	for (const struct ns_tcp *t = s->tcps; t; t = t->next, n++) {
		if (n >= max)
			continue;
		struct ns_tcp_info i;
		ns_tcp_info(t, &i);
		out[n] = (struct ns_conn){.laddr = t->laddr, .raddr = t->raddr, .lport = t->lport,
					  .rport = t->rport, .state = i.state,
					  .tx_queue = t->sndq.len, .rx_queue = t->rcvq.len};
	}
	return n;
}

size_t ns_tcp_readable(const struct ns_tcp *t)
{
	return t->rcvq.len;
}

size_t ns_tcp_unsent(const struct ns_tcp *t)
{
	return t->sndq.len;
}

void ns_tcp_info(const struct ns_tcp *t, struct ns_tcp_info *out)
{
	static const int linux_state[] = {
		[TCP_CLOSED] = 7, [TCP_LISTEN] = 10, [TCP_SYN_SENT] = 2,
		[TCP_SYN_RECEIVED] = 3, [TCP_ESTABLISHED] = 1, [TCP_FIN_WAIT_1] = 4,
		[TCP_FIN_WAIT_2] = 5, [TCP_CLOSE_WAIT] = 8, [TCP_CLOSING] = 11,
		[TCP_LAST_ACK] = 9, [TCP_TIME_WAIT] = 6,
	};
	*out = (struct ns_tcp_info){
		.state = linux_state[t->state],
		.rto_us = (uint32_t)(t->rto / 1000),
		.rtt_us = (uint32_t)(t->srtt / 1000),
		.rttvar_us = (uint32_t)(t->rttvar / 1000),
		.snd_mss = t->mss,
		.rcv_mss = t->peer_mss ? t->peer_mss : DEFAULT_MSS,
		.snd_cwnd = t->mss ? t->cwnd / t->mss : 0,
		.snd_ssthresh = t->mss ? t->ssthresh / t->mss : 0,
		.retransmits = (uint32_t)t->retries,
		.snd_wscale = t->snd_wscale,
		.rcv_wscale = t->rcv_wscale,
		.timestamps = t->ts_ok,
		.wscale = t->ws_ok,
	};
}
