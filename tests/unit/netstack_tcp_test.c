/* netstack's TCP between two stacks over a simulated link (virtual time:
 * a packet takes a millisecond, and the link may drop, duplicate and
 * reorder): the handshake, a 50 MB transfer under 2% loss that arrives
 * intact, half-close, resets, refused and timed-out connects, a full
 * accept queue, a zero window, and hostile segments. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../netstack/netstack.h"

#define A_ADDR 0x0a000001u
#define B_ADDR 0x0a000002u
#define MS 1000000ULL
#define SEC (1000 * MS)

struct pkt {
	uint64_t at, order;
	int to; /* 0: A, 1: B */
	size_t len;
	uint8_t *data;
};

struct net {
	struct ns_stack *st[2];
	int ifx[2];
	uint64_t now, order;
	struct pkt *q;
	size_t n, cap;
	/* In parts per thousand. */
	unsigned loss, dup, reorder;
	bool cut; /* everything dropped */
	uint64_t seed;
	uint64_t sent, dropped;
};

struct end {
	struct net *net;
	int to;
};

static struct end ends[2];

static uint32_t rnd(struct net *n)
{
	n->seed = n->seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(n->seed >> 33);
}

static void enqueue(struct net *n, int to, const uint8_t *p, size_t len, uint64_t delay)
{
	if (n->n == n->cap) {
		n->cap = n->cap ? n->cap * 2 : 256;
		n->q = realloc(n->q, n->cap * sizeof(*n->q));
	}
	struct pkt *k = &n->q[n->n++];
	k->at = n->now + delay;
	k->order = n->order++;
	k->to = to;
	k->len = len;
	k->data = malloc(len);
	memcpy(k->data, p, len);
}

static int tx(void *ctx, const uint8_t *p, size_t len)
{
	struct end *e = ctx;
	struct net *n = e->net;
	n->sent++;
	if (n->cut || (n->loss && rnd(n) % 1000 < n->loss)) {
		n->dropped++;
		return 0;
	}
	uint64_t delay = 1 * MS;
	if (n->reorder && rnd(n) % 1000 < n->reorder)
		delay += (rnd(n) % 3 + 1) * MS;
	enqueue(n, e->to, p, len, delay);
	if (n->dup && rnd(n) % 1000 < n->dup)
		enqueue(n, e->to, p, len, delay + MS / 2);
	return 0;
}

static void net_init(struct net *n)
{
	memset(n, 0, sizeof(*n));
	n->seed = 42;
	n->now = 1 * SEC;
	uint32_t addr[2] = {A_ADDR, B_ADDR};
	for (int i = 0; i < 2; i++) {
		n->st[i] = ns_stack_new();
		ends[i] = (struct end){n, 1 - i};
		n->ifx[i] = ns_if_add(n->st[i], "eth0", addr[i], 24, 1500, tx, &ends[i]);
		cr_assert_gt(n->ifx[i], 0);
		ns_set_time(n->st[i], n->now);
	}
}

static void net_free(struct net *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->q[i].data);
	free(n->q);
	ns_stack_free(n->st[0]);
	ns_stack_free(n->st[1]);
}

/* Runs the world one event ahead (a packet or a timer); false when
 * nothing is left to happen before limit. */
static bool step(struct net *n, uint64_t limit)
{
	uint64_t next = UINT64_MAX;
	for (size_t i = 0; i < n->n; i++)
		if (n->q[i].at < next)
			next = n->q[i].at;
	for (int i = 0; i < 2; i++) {
		uint64_t d = ns_next_deadline(n->st[i]);
		if (d < next)
			next = d;
	}
	if (next == UINT64_MAX || next > limit)
		return false;
	if (next > n->now)
		n->now = next;
	/* Packets due, in the order they were sent. */
	for (;;) {
		size_t best = n->n;
		for (size_t i = 0; i < n->n; i++)
			if (n->q[i].at <= n->now && (best == n->n || n->q[i].order < n->q[best].order))
				best = i;
		if (best == n->n)
			break;
		struct pkt k = n->q[best];
		n->q[best] = n->q[--n->n];
		ns_set_time(n->st[k.to], n->now);
		ns_input(n->st[k.to], n->ifx[k.to], k.data, k.len);
		free(k.data);
	}
	for (int i = 0; i < 2; i++)
		if (ns_next_deadline(n->st[i]) <= n->now)
			ns_run_timers(n->st[i], n->now);
	return true;
}

static void run_for(struct net *n, uint64_t span)
{
	uint64_t limit = n->now + span;
	while (step(n, limit))
		;
	if (n->now < limit)
		n->now = limit;
	for (int i = 0; i < 2; i++)
		ns_set_time(n->st[i], n->now);
}

static struct net net;

static void setup(void) { net_init(&net); }
static void teardown(void) { net_free(&net); }

TestSuite(tcp, .init = setup, .fini = teardown, .timeout = 120);

/* A listening on port, B connected to it; both ends returned. */
static void connect_pair(uint16_t port, struct ns_tcp **server, struct ns_tcp **client,
			 struct ns_tcp **listener)
{
	struct ns_tcp *l, *c;
	cr_assert_eq(ns_tcp_open(net.st[0], &l), 0);
	cr_assert_eq(ns_tcp_bind(l, 0, port), 0);
	cr_assert_eq(ns_tcp_listen(l, 16), 0);
	cr_assert_eq(ns_tcp_open(net.st[1], &c), 0);
	cr_assert_eq(ns_tcp_connect(c, A_ADDR, port), -EINPROGRESS);
	cr_assert_eq(ns_tcp_connect(c, A_ADDR, port), -EALREADY);
	run_for(&net, 10 * MS);
	cr_assert(ns_tcp_poll(c) & NS_POLLOUT, "client connected");
	cr_assert(ns_tcp_poll(l) & NS_POLLIN, "a connection to accept");
	struct ns_tcp *s;
	cr_assert_eq(ns_tcp_accept(l, &s), 0);
	cr_assert_eq(ns_tcp_accept(l, &s) == -EAGAIN ? 0 : 1, 0);
	*server = s;
	*client = c;
	if (listener)
		*listener = l;
	else
		ns_tcp_close(l);
}

Test(tcp, handshake_and_echo)
{
	struct ns_tcp *s, *c;
	connect_pair(80, &s, &c, NULL);
	struct ns_tcp_info info;
	ns_tcp_info(c, &info);
	cr_assert_eq(info.state, 1, "ESTABLISHED");
	cr_assert(info.timestamps && info.wscale);
	cr_assert_eq(info.snd_mss, 1460 - 12);
	struct ns_sockaddr peer, me;
	cr_assert_eq(ns_tcp_name(s, &me, &peer), 0);
	cr_assert_eq(me.addr, A_ADDR);
	cr_assert_eq(me.port, 80);
	cr_assert_eq(peer.addr, B_ADDR);
	struct iovec iov = {"hello", 5};
	cr_assert_eq(ns_tcp_send(c, &iov, 1, 0), 5);
	run_for(&net, 5 * MS);
	char buf[16] = {0};
	struct iovec r = {buf, sizeof buf};
	cr_assert_eq(ns_tcp_recv(s, &r, 1, 0), 5);
	cr_assert_str_eq(buf, "hello");
	cr_assert_eq(ns_tcp_recv(s, &r, 1, 0), -EAGAIN);
	struct iovec back = {"world", 5};
	cr_assert_eq(ns_tcp_send(s, &back, 1, 0), 5);
	run_for(&net, 5 * MS);
	cr_assert_eq(ns_tcp_recv(c, &r, 1, 0), 5);
	cr_assert(!memcmp(buf, "world", 5));
	ns_tcp_close(c);
	ns_tcp_close(s);
	run_for(&net, 70 * SEC);
	cr_assert_eq(ns_next_deadline(net.st[0]), UINT64_MAX, "everything closed, TIME_WAIT over");
	cr_assert_eq(ns_next_deadline(net.st[1]), UINT64_MAX);
}

/* Bytes of the stream at offset i: a pattern a lost or misplaced segment
 * would break. */
static uint8_t pattern(uint64_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ULL;
	return (uint8_t)(x >> 56 ^ i);
}

static void bulk(size_t total, unsigned loss, unsigned dup, unsigned reorder)
{
	struct ns_tcp *s, *c;
	connect_pair(5001, &s, &c, NULL);
	net.loss = loss;
	net.dup = dup;
	net.reorder = reorder;
	static uint8_t chunk[65536];
	size_t sent = 0, got = 0;
	bool bad = false;
	uint64_t limit = net.now + 3600 * SEC;
	while (got < total) {
		while (sent < total) {
			size_t n = total - sent < sizeof chunk ? total - sent : sizeof chunk;
			for (size_t i = 0; i < n; i++)
				chunk[i] = pattern(sent + i);
			struct iovec iov = {chunk, n};
			ssize_t w = ns_tcp_send(c, &iov, 1, 0);
			if (w <= 0)
				break;
			sent += (size_t)w;
		}
		for (;;) {
			struct iovec r = {chunk, sizeof chunk};
			ssize_t k = ns_tcp_recv(s, &r, 1, 0);
			if (k <= 0)
				break;
			for (ssize_t i = 0; i < k; i++)
				bad |= chunk[i] != pattern(got + (size_t)i);
			got += (size_t)k;
		}
		cr_assert(!bad, "the stream differs by byte %zu", got);
		if (got < total && !step(&net, limit))
			cr_assert_fail("stalled at %zu of %zu bytes (sent %zu)", got, total, sent);
	}
	cr_assert_eq(got, total);
	struct ns_tcp_info ci;
	ns_tcp_info(c, &ci);
	cr_log_info("client: cwnd %u segs, ssthresh %u, rtt %u us, rto %u us", ci.snd_cwnd,
		    ci.snd_ssthresh, ci.rtt_us, ci.rto_us);
	struct ns_stats st;
	ns_stats_get(net.st[1], &st);
	cr_log_info("%zu bytes, %llu packets, %llu dropped, %llu retransmitted, virtual %.1f s",
		    total, (unsigned long long)net.sent, (unsigned long long)net.dropped,
		    (unsigned long long)st.tcp_retrans_segs, (double)net.now / SEC);
	if (loss)
		cr_assert_gt(st.tcp_retrans_segs, 0);
	ns_tcp_close(c);
	ns_tcp_close(s);
	net.loss = net.dup = net.reorder = 0;
	run_for(&net, 200 * SEC);
	cr_assert_eq(ns_next_deadline(net.st[0]), UINT64_MAX);
	cr_assert_eq(ns_next_deadline(net.st[1]), UINT64_MAX);
}

Test(tcp, bulk_clean_link) { bulk(8u << 20, 0, 0, 0); }

Test(tcp, bulk_50mb_lossy_link, .timeout = 600)
{
	/* 2% lost, 1% duplicated, 1% delayed past later ones. */
	bulk(50u << 20, 20, 10, 10);
}

Test(tcp, half_close)
{
	struct ns_tcp *s, *c;
	connect_pair(81, &s, &c, NULL);
	cr_assert_eq(ns_tcp_shutdown(c, false, true), 0);
	run_for(&net, 5 * MS);
	char buf[8];
	struct iovec r = {buf, sizeof buf};
	cr_assert_eq(ns_tcp_recv(s, &r, 1, 0), 0, "end of stream");
	cr_assert(ns_tcp_poll(s) & NS_POLLIN);
	struct iovec iov = {"late", 4};
	cr_assert_eq(ns_tcp_send(s, &iov, 1, 0), 4, "the other way still open");
	struct iovec no = {"x", 1};
	cr_assert_eq(ns_tcp_send(c, &no, 1, 0), -EPIPE);
	run_for(&net, 5 * MS);
	cr_assert_eq(ns_tcp_recv(c, &r, 1, 0), 4);
	ns_tcp_close(s);
	run_for(&net, 5 * MS);
	cr_assert_eq(ns_tcp_recv(c, &r, 1, 0), 0);
	struct ns_tcp_info info;
	ns_tcp_info(c, &info);
	cr_assert_eq(info.state, 6, "the client closed first: TIME_WAIT");
	ns_tcp_close(c);
	run_for(&net, 61 * SEC);
	cr_assert_eq(ns_next_deadline(net.st[1]), UINT64_MAX);
}

Test(tcp, close_with_unread_data_resets)
{
	struct ns_tcp *s, *c;
	connect_pair(82, &s, &c, NULL);
	struct iovec iov = {"unread", 6};
	ns_tcp_send(c, &iov, 1, 0);
	run_for(&net, 5 * MS);
	ns_tcp_close(s);
	run_for(&net, 5 * MS);
	char buf[8];
	struct iovec r = {buf, sizeof buf};
	cr_assert_eq(ns_tcp_recv(c, &r, 1, 0), -ECONNRESET);
	cr_assert_eq(ns_tcp_send(c, &iov, 1, 0), -EPIPE);
	ns_tcp_close(c);
}

Test(tcp, refused)
{
	struct ns_tcp *c;
	ns_tcp_open(net.st[1], &c);
	cr_assert_eq(ns_tcp_connect(c, A_ADDR, 9), -EINPROGRESS);
	run_for(&net, 5 * MS);
	cr_assert(ns_tcp_poll(c) & NS_POLLERR);
	cr_assert_eq(ns_tcp_take_error(c), ECONNREFUSED);
	ns_tcp_close(c);
}

Test(tcp, connect_times_out)
{
	net.cut = true;
	struct ns_tcp *c;
	ns_tcp_open(net.st[1], &c);
	cr_assert_eq(ns_tcp_connect(c, A_ADDR, 80), -EINPROGRESS);
	run_for(&net, 60 * SEC);
	cr_assert_eq(ns_tcp_poll(c) & NS_POLLERR, 0, "still trying after a minute");
	run_for(&net, 100 * SEC);
	cr_assert_eq(ns_tcp_take_error(c), ETIMEDOUT, "1+2+4+...+64 s of SYNs");
	struct ns_stats st;
	ns_stats_get(net.st[1], &st);
	cr_assert_eq(net.sent, 7, "the SYN and six retries");
	ns_tcp_close(c);
}

Test(tcp, full_accept_queue)
{
	struct ns_tcp *l;
	ns_tcp_open(net.st[0], &l);
	ns_tcp_bind(l, 0, 90);
	ns_tcp_listen(l, 2);
	struct ns_tcp *c[5];
	for (int i = 0; i < 5; i++) {
		ns_tcp_open(net.st[1], &c[i]);
		ns_tcp_connect(c[i], A_ADDR, 90);
	}
	run_for(&net, 100 * MS);
	int queued = 0;
	struct ns_tcp *s[5];
	while (ns_tcp_accept(l, &s[queued]) == 0)
		queued++;
	cr_assert_eq(queued, 2, "the backlog");
	/* The rest get in as the queue empties (their retries). */
	for (int round = 0; round < 10 && queued < 5; round++) {
		run_for(&net, 5 * SEC);
		while (queued < 5 && ns_tcp_accept(l, &s[queued]) == 0)
			queued++;
	}
	cr_assert_eq(queued, 5);
	for (int i = 0; i < 5; i++) {
		ns_tcp_close(s[i]);
		ns_tcp_close(c[i]);
	}
	ns_tcp_close(l);
}

Test(tcp, zero_window_then_resume)
{
	struct ns_tcp *s, *c;
	connect_pair(83, &s, &c, NULL);
	static uint8_t blob[1 << 20];
	size_t sent = 0;
	for (int i = 0; i < 200; i++) {
		struct iovec iov = {blob, sizeof blob};
		ssize_t w = ns_tcp_send(c, &iov, 1, 0);
		if (w > 0)
			sent += (size_t)w;
		run_for(&net, 50 * MS);
	}
	size_t queued = ns_tcp_readable(s);
	cr_assert_gt(queued, 0);
	cr_assert_lt(queued, sent, "the receiver's buffer filled: the sender waits");
	run_for(&net, 30 * SEC); /* persist probes meanwhile */
	struct ns_tcp_info info;
	ns_tcp_info(c, &info);
	cr_assert_eq(info.state, 1, "probing a zero window keeps the connection");
	cr_assert_eq(ns_tcp_poll(c) & NS_POLLOUT, 0, "its send queue is full");
	size_t got = 0;
	static uint8_t buf[1 << 16];
	for (int i = 0; i < 2000 && got < sent; i++) {
		struct iovec r = {buf, sizeof buf};
		ssize_t k;
		while ((k = ns_tcp_recv(s, &r, 1, 0)) > 0)
			got += (size_t)k;
		run_for(&net, 20 * MS);
	}
	cr_assert_eq(got, sent, "everything came once the reader read");
	ns_tcp_close(c);
	ns_tcp_close(s);
}

Test(tcp, blind_reset_and_syn_are_challenged)
{
	struct ns_tcp *s, *c;
	connect_pair(84, &s, &c, NULL);
	/* A forged RST from B's address, in A's window but not at RCV.NXT:
	 * A answers with a challenge ACK and stays up. */
	struct ns_tcp_info before;
	ns_tcp_info(s, &before);
	uint8_t p[40] = {0};
	p[0] = 0x45;
	p[3] = 40;
	p[8] = 64;
	p[9] = 6;
	uint32_t src = B_ADDR, dst = A_ADDR;
	for (int i = 0; i < 4; i++) {
		p[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		p[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	struct ns_sockaddr cme;
	ns_tcp_name(c, &cme, NULL);
	uint8_t *t = p + 20;
	t[0] = (uint8_t)(cme.port >> 8), t[1] = (uint8_t)cme.port;
	t[2] = 0, t[3] = 84;
	t[4] = 0x12, t[5] = 0x34, t[6] = 0x56, t[7] = 0x78; /* a guess */
	t[12] = 5 << 4;
	t[13] = 0x04; /* RST */
	uint8_t ph[12 + 20];
	memcpy(ph, p + 12, 8);
	ph[8] = 0, ph[9] = 6, ph[10] = 0, ph[11] = 20;
	memcpy(ph + 12, t, 20);
	uint16_t sum = ns_checksum(ph, sizeof ph);
	t[16] = (uint8_t)(sum >> 8), t[17] = (uint8_t)sum;
	uint16_t isum = ns_checksum(p, 20);
	p[10] = (uint8_t)(isum >> 8), p[11] = (uint8_t)isum;
	ns_input(net.st[0], net.ifx[0], p, 40);
	run_for(&net, 5 * MS);
	struct ns_tcp_info after;
	ns_tcp_info(s, &after);
	cr_assert_eq(after.state, 1, "a guessed RST does not end the connection");
	struct iovec iov = {"still", 5};
	cr_assert_eq(ns_tcp_send(c, &iov, 1, 0), 5);
	run_for(&net, 5 * MS);
	cr_assert_eq(ns_tcp_readable(s), 5);
	ns_tcp_close(c);
	ns_tcp_close(s);
}

Test(tcp, random_segments_do_no_harm)
{
	struct ns_tcp *s, *c, *l;
	connect_pair(85, &s, &c, &l);
	struct ns_sockaddr cme;
	ns_tcp_name(c, &cme, NULL);
	uint64_t seed = 7;
	uint8_t p[1500];
	for (int i = 0; i < 100000; i++) {
		seed = seed * 6364136223846793005ULL + 1;
		size_t tl = 20 + (size_t)(seed >> 40) % 200;
		for (size_t k = 0; k < tl; k++) {
			seed = seed * 6364136223846793005ULL + 1;
			p[20 + k] = (uint8_t)(seed >> 33);
		}
		uint8_t *t = p + 20;
		uint16_t sport = i & 1 ? cme.port : (uint16_t)(seed >> 20);
		uint16_t dport = i & 2 ? 85 : (uint16_t)(seed >> 12);
		t[0] = (uint8_t)(sport >> 8), t[1] = (uint8_t)sport;
		t[2] = (uint8_t)(dport >> 8), t[3] = (uint8_t)dport;
		t[12] = (uint8_t)((5 + (seed >> 50) % 11) << 4);
		memset(p, 0, 20);
		p[0] = 0x45;
		p[2] = (uint8_t)((20 + tl) >> 8), p[3] = (uint8_t)(20 + tl);
		p[8] = 64;
		p[9] = 6;
		p[12] = 10, p[15] = 2;
		p[16] = 10, p[19] = 1;
		t[16] = t[17] = 0;
		uint8_t ph[12 + 220];
		memcpy(ph, p + 12, 8);
		ph[8] = 0, ph[9] = 6, ph[10] = (uint8_t)(tl >> 8), ph[11] = (uint8_t)tl;
		memcpy(ph + 12, t, tl);
		uint16_t sum = ns_checksum(ph, 12 + tl);
		t[16] = (uint8_t)(sum >> 8), t[17] = (uint8_t)sum;
		uint16_t isum = ns_checksum(p, 20);
		p[10] = (uint8_t)(isum >> 8), p[11] = (uint8_t)isum;
		ns_input(net.st[0], net.ifx[0], p, 20 + tl);
		if (i % 1000 == 0)
			run_for(&net, 10 * MS);
	}
	run_for(&net, 10 * SEC);
	/* Whatever it did to that connection, a new one works. */
	struct ns_tcp *c2, *s2;
	ns_tcp_open(net.st[1], &c2);
	cr_assert_eq(ns_tcp_connect(c2, A_ADDR, 85), -EINPROGRESS);
	run_for(&net, 10 * MS);
	cr_assert_eq(ns_tcp_accept(l, &s2), 0);
	struct iovec iov = {"ok", 2};
	cr_assert_eq(ns_tcp_send(c2, &iov, 1, 0), 2);
	run_for(&net, 10 * MS);
	cr_assert_eq(ns_tcp_readable(s2), 2);
}

/* A segment to A from src:sport (not on the link: A's answers vanish). */
static void forge(uint32_t src, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
		  uint32_t ack)
{
	uint8_t p[40] = {0};
	p[0] = 0x45;
	p[3] = 40;
	p[8] = 64;
	p[9] = 6;
	for (int i = 0; i < 4; i++) {
		p[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		p[16 + i] = (uint8_t)(A_ADDR >> (24 - 8 * i));
	}
	uint8_t *t = p + 20;
	t[0] = (uint8_t)(sport >> 8), t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8), t[3] = (uint8_t)dport;
	for (int i = 0; i < 4; i++) {
		t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	t[12] = 5 << 4;
	t[13] = flags;
	t[14] = 0xff, t[15] = 0xff;
	uint8_t ph[12 + 20];
	memcpy(ph, p + 12, 8);
	ph[8] = 0, ph[9] = 6, ph[10] = 0, ph[11] = 20;
	memcpy(ph + 12, t, 20);
	uint16_t sum = ns_checksum(ph, sizeof ph);
	t[16] = (uint8_t)(sum >> 8), t[17] = (uint8_t)sum;
	uint16_t isum = ns_checksum(p, 20);
	p[10] = (uint8_t)(isum >> 8), p[11] = (uint8_t)isum;
	ns_input(net.st[0], net.ifx[0], p, 40);
}

Test(tcp, syn_flood_answered_with_cookies)
{
	struct ns_tcp *l;
	ns_tcp_open(net.st[0], &l);
	ns_tcp_bind(l, 0, 91);
	ns_tcp_listen(l, 1024);
	/* A flood of SYNs from an address that never answers fills the
	 * half-open queue (256)... */
	for (int i = 0; i < 1000; i++)
		forge(0x0a000063, (uint16_t)(10000 + i), 91, 0x02, (uint32_t)i * 7919, 0);
	struct ns_stats st;
	ns_stats_get(net.st[0], &st);
	cr_assert_eq(st.tcp_syncookies_sent, 1000 - 256, "past the queue: cookies, no state");
	struct ns_conn conns[8];
	cr_assert_eq(ns_tcp_list(net.st[0], conns, 8), 1 + 256);
	/* ...yet a real client still gets in, through a cookie, with its
	 * options (window scaling and timestamps ride in the cookie's
	 * timestamp), and its data arrives. */
	struct ns_tcp *c, *s;
	ns_tcp_open(net.st[1], &c);
	ns_tcp_connect(c, A_ADDR, 91);
	run_for(&net, 10 * MS);
	cr_assert(ns_tcp_poll(c) & NS_POLLOUT);
	cr_assert_eq(ns_tcp_accept(l, &s), 0);
	ns_stats_get(net.st[0], &st);
	cr_assert_eq(st.tcp_syncookies_recv, 1);
	struct ns_tcp_info info;
	ns_tcp_info(s, &info);
	cr_assert_eq(info.state, 1);
	cr_assert(info.timestamps && info.wscale);
	cr_assert_eq(info.snd_wscale, 7);
	cr_assert_eq(info.snd_mss, 1460 - 12, "the MSS the cookie kept");
	static uint8_t big[200000];
	memset(big, 'c', sizeof big);
	struct iovec iov = {big, sizeof big};
	size_t sent = 0, got = 0;
	for (int round = 0; round < 200 && got < sizeof big; round++) {
		if (sent < sizeof big) {
			struct iovec rest = {big + sent, sizeof big - sent};
			ssize_t n = ns_tcp_send(c, &rest, 1, 0);
			if (n > 0)
				sent += (size_t)n;
		}
		run_for(&net, 5 * MS);
		static uint8_t in[65536];
		struct iovec r = {in, sizeof in};
		ssize_t n;
		while ((n = ns_tcp_recv(s, &r, 1, 0)) > 0)
			got += (size_t)n;
	}
	(void)iov;
	cr_assert_eq(got, sizeof big, "a window past 64 KiB: scaling works");
	/* A forged ACK (a guessed cookie) is no connection: it is reset. */
	forge(0x0a000064, 4242, 91, 0x10, 1000, 0x12345678);
	ns_stats_get(net.st[0], &st);
	cr_assert_eq(st.tcp_syncookies_failed, 1);
	cr_assert_eq(st.tcp_syncookies_recv, 1);
	struct ns_tcp *none;
	cr_assert_eq(ns_tcp_accept(l, &none), -EAGAIN);
	/* The flood's half-open connections give up (SYN-ACK retries). */
	run_for(&net, 200 * SEC);
	int left = ns_tcp_list(net.st[0], conns, 8);
	cr_assert_eq(left, 2, "the listener and the one connection, not %d", left);
	ns_tcp_close(s);
	ns_tcp_close(c);
	ns_tcp_close(l);
}

/* Bytes the receiver holds once the sender has pushed all it can. */
static size_t fill_unread(struct ns_tcp *c, struct ns_tcp *s)
{
	static uint8_t chunk[65536];
	for (int round = 0; round < 400; round++) {
		struct iovec iov = {chunk, sizeof chunk};
		ns_tcp_send(c, &iov, 1, 0);
		run_for(&net, 5 * MS);
	}
	return ns_tcp_readable(s);
}

Test(tcp, buffers_resized_on_a_live_connection)
{
	struct ns_tcp *s, *c;
	connect_pair(92, &s, &c, NULL);
	ns_tcp_setopt(c, NS_TCP_SNDBUF, 4 << 20);
	size_t before = fill_unread(c, s);
	cr_assert_leq(before, 212992, "the default receive buffer bounds it");
	cr_assert_gt(before, 100000);
	/* A bigger buffer: the window opens (an update goes out at once)
	 * and more arrives without a byte read. */
	cr_assert_eq(ns_tcp_setopt(s, NS_TCP_RCVBUF, 2 << 20), 0);
	size_t after = fill_unread(c, s);
	cr_assert_gt(after, 1 << 20, "held %zu", after);
	cr_assert_leq(after, 2 << 20);
	/* A smaller one keeps what is held; nothing more comes until it is
	 * read below the new size. */
	cr_assert_eq(ns_tcp_setopt(s, NS_TCP_RCVBUF, 65536), 0);
	cr_assert_eq(fill_unread(c, s), after);
	static uint8_t sink[1 << 16];
	size_t drained = 0;
	while (drained < after) {
		struct iovec r = {sink, sizeof sink};
		ssize_t n = ns_tcp_recv(s, &r, 1, 0);
		cr_assert_gt(n, 0);
		drained += (size_t)n;
	}
	size_t again = fill_unread(c, s);
	cr_assert_gt(again, 0);
	cr_assert_leq(again, 65536);
	int v;
	ns_tcp_getopt(s, NS_TCP_RCVBUF, &v);
	cr_assert_eq(v, 65536);
	ns_tcp_close(c);
	ns_tcp_close(s);
}

Test(tcp, challenge_acks_are_rate_limited)
{
	struct ns_tcp *s, *c;
	connect_pair(93, &s, &c, NULL);
	struct ns_sockaddr cme;
	ns_tcp_name(c, &cme, NULL);
	struct ns_stats st0, st;
	ns_stats_get(net.st[0], &st0);
	/* A burst of SYNs on the established connection (RFC 5961 4.2):
	 * one challenge ACK, the rest held back (500 ms per connection). */
	for (int i = 0; i < 100; i++)
		forge(B_ADDR, cme.port, 93, 0x02, (uint32_t)i * 1000003u, 0);
	ns_stats_get(net.st[0], &st);
	cr_assert_eq(st.tcp_challenge_acks - st0.tcp_challenge_acks, 1);
	cr_assert_eq(st.tcp_acks_rate_limited - st0.tcp_acks_rate_limited, 99);
	run_for(&net, 600 * MS);
	forge(B_ADDR, cme.port, 93, 0x02, 77, 0);
	ns_stats_get(net.st[0], &st);
	cr_assert_eq(st.tcp_challenge_acks - st0.tcp_challenge_acks, 2, "half a second later, one more");
	/* The connection is unharmed. */
	run_for(&net, 10 * MS);
	struct iovec iov = {"fine", 4};
	cr_assert_eq(ns_tcp_send(c, &iov, 1, 0), 4);
	run_for(&net, 10 * MS);
	cr_assert_eq(ns_tcp_readable(s), 4);
	ns_tcp_close(c);
	ns_tcp_close(s);
}

/* A server that closes first leaves each connection in TIME_WAIT for a
 * minute: more of them than the table holds must not stop it accepting
 * (the oldest closed one makes room, as Linux's tcp_max_tw_buckets). */
Test(tcp, time_wait_does_not_fill_the_table, .timeout = 300)
{
	struct ns_tcp *l;
	cr_assert_eq(ns_tcp_open(net.st[0], &l), 0);
	cr_assert_eq(ns_tcp_bind(l, 0, 90), 0);
	cr_assert_eq(ns_tcp_listen(l, 16), 0);
	for (int i = 0; i < 5000; i++) {
		struct ns_tcp *c, *s;
		cr_assert_eq(ns_tcp_open(net.st[1], &c), 0, "connection %d", i);
		cr_assert_eq(ns_tcp_connect(c, A_ADDR, 90), -EINPROGRESS, "connection %d", i);
		run_for(&net, 10 * MS);
		cr_assert_eq(ns_tcp_accept(l, &s), 0, "connection %d accepted", i);
		ns_tcp_close(s);
		run_for(&net, 2 * MS);
		ns_tcp_close(c);
		run_for(&net, 2 * MS);
	}
	struct ns_stats st;
	ns_stats_get(net.st[0], &st);
	cr_assert_gt(st.tcp_time_wait_reaped, 0);
	ns_tcp_close(l);
}
