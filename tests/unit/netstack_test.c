/* netstack's IPv4, ICMP and UDP: through loopback, through a captured
 * packet link (what leaves the stack is checked byte by byte), between
 * two stacks over a link that reorders and duplicates, and against
 * hostile packets (bad headers, overlapping and endless fragments,
 * floods, random bytes). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../netstack/netstack.h"

#define A_ADDR 0x0a000001u /* 10.0.0.1: the peer on the link */
#define B_ADDR 0x0a000002u /* 10.0.0.2: the stack under test */
#define SEC 1000000000ULL

/* A link whose packets the test collects. */
struct wire {
	int n;
	size_t len[256];
	uint8_t *pkt[256];
};

static int capture(void *ctx, const uint8_t *pkt, size_t len)
{
	struct wire *w = ctx;
	if (w->n == 256)
		return -ENOBUFS;
	w->pkt[w->n] = malloc(len);
	memcpy(w->pkt[w->n], pkt, len);
	w->len[w->n++] = len;
	return 0;
}

static void wire_clear(struct wire *w)
{
	for (int i = 0; i < w->n; i++)
		free(w->pkt[i]);
	w->n = 0;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* An IPv4 header at p for a payload of plen bytes. */
static void ip_hdr(uint8_t *p, size_t plen, uint8_t proto, uint32_t src, uint32_t dst,
		   uint16_t id, uint16_t frag)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	wr16(p + 2, (uint16_t)(20 + plen));
	wr16(p + 4, id);
	wr16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	wr32(p + 12, src);
	wr32(p + 16, dst);
	wr16(p + 10, ns_checksum(p, 20));
}

/* An ICMP echo request from A to dst, data "ping!". */
static size_t echo_request(uint8_t *p, uint32_t dst)
{
	uint8_t *m = p + 20;
	memset(m, 0, 8);
	m[0] = 8;
	wr16(m + 4, 0x1234);
	wr16(m + 6, 7);
	memcpy(m + 8, "ping!", 5);
	wr16(m + 2, ns_checksum(m, 13));
	ip_hdr(p, 13, 1, A_ADDR, dst, 99, 0);
	return 33;
}

/* The UDP checksum over the pseudo-header, as a receiver checks it. */
static uint16_t udp_sum(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len)
{
	uint8_t *buf = malloc(12 + len + 1);
	wr32(buf, src);
	wr32(buf + 4, dst);
	buf[8] = 0;
	buf[9] = 17;
	wr16(buf + 10, (uint16_t)len);
	memcpy(buf + 12, seg, len);
	uint16_t c = ns_checksum(buf, 12 + len);
	free(buf);
	return c;
}

static size_t udp_packet(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
			 const void *data, size_t len)
{
	uint8_t *u = p + 20;
	wr16(u, sport);
	wr16(u + 2, dport);
	wr16(u + 4, (uint16_t)(8 + len));
	wr16(u + 6, 0);
	memcpy(u + 8, data, len);
	uint16_t c = udp_sum(src, dst, u, 8 + len);
	wr16(u + 6, c ? c : 0xffff);
	ip_hdr(p, 8 + len, 17, src, dst, 7, 0);
	return 28 + len;
}

static struct ns_stack *s;
static struct wire w;
static int eth;

static void setup(void)
{
	s = ns_stack_new();
	cr_assert(s);
	cr_assert_eq(ns_if_add_loopback(s), 1);
	eth = ns_if_add(s, "eth0", B_ADDR, 24, 1500, capture, &w);
	cr_assert_eq(eth, 2);
	cr_assert_eq(ns_route_default(s, eth), 0);
	ns_set_time(s, 1 * SEC);
}

static void teardown(void)
{
	ns_stack_free(s);
	wire_clear(&w);
}

TestSuite(netstack, .init = setup, .fini = teardown);

Test(netstack, checksum_rfc1071)
{
	/* RFC 1071's example sums to 0xddf2; the checksum is its complement. */
	const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	cr_assert_eq(ns_checksum(b, sizeof b), (uint16_t)~0xddf2);
	const uint8_t odd[] = {0x01, 0x02, 0x03};
	cr_assert_eq(ns_checksum(odd, 3), (uint16_t)~(0x0102 + 0x0300));
}

Test(netstack, echo_reply)
{
	uint8_t p[64];
	size_t n = echo_request(p, B_ADDR);
	ns_input(s, eth, p, n);
	cr_assert_eq(w.n, 1);
	const uint8_t *r = w.pkt[0];
	cr_assert_eq(w.len[0], 33);
	cr_assert_eq(ns_checksum(r, 20), 0, "the reply's IP checksum");
	cr_assert_eq(rd32(r + 12), B_ADDR);
	cr_assert_eq(rd32(r + 16), A_ADDR);
	cr_assert_eq(r[9], 1);
	cr_assert_eq(r[20], 0, "echo reply");
	cr_assert_eq(rd16(r + 24), 0x1234);
	cr_assert_eq(rd16(r + 26), 7);
	cr_assert(!memcmp(r + 28, "ping!", 5));
	cr_assert_eq(ns_checksum(r + 20, 13), 0, "the ICMP checksum");
	struct ns_stats st;
	ns_stats_get(s, &st);
	cr_assert_eq(st.icmp_in_echos, 1);
	cr_assert_eq(st.icmp_out_echo_reps, 1);
}

Test(netstack, echo_to_broadcast_ignored)
{
	uint8_t p[64];
	size_t n = echo_request(p, 0x0a0000ff);
	ns_input(s, eth, p, n);
	cr_assert_eq(w.n, 0);
}

Test(netstack, bad_headers_dropped)
{
	uint8_t p[64];
	size_t n = echo_request(p, B_ADDR);
	uint8_t q[64];
	struct {
		const char *what;
		size_t len;
		void (*edit)(uint8_t *);
	} cases[] = {
		{"short", 19, NULL},
		{"version 6", 0, NULL},
		{"ihl 4", 0, NULL},
		{"total past the packet", 0, NULL},
		{"bad checksum", 0, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memcpy(q, p, n);
		size_t len = cases[i].len ? cases[i].len : n;
		if (i == 1)
			q[0] = 0x65;
		if (i == 2)
			q[0] = 0x44;
		if (i == 3)
			wr16(q + 2, 60);
		if (i == 4)
			q[10] ^= 1;
		if (i >= 1 && i <= 3) {
			wr16(q + 10, 0);
			wr16(q + 10, ns_checksum(q, 20));
		}
		ns_input(s, eth, q, len);
		cr_assert_eq(w.n, 0, "%s: answered", cases[i].what);
	}
	struct ns_stats st;
	ns_stats_get(s, &st);
	cr_assert_eq(st.ip_in_hdr_errors, 5);
}

Test(netstack, not_ours_and_martians_dropped)
{
	uint8_t p[64];
	size_t n = echo_request(p, 0x0a000009); /* another host's */
	ns_input(s, eth, p, n);
	n = echo_request(p, B_ADDR);
	wr32(p + 12, 0x7f000001); /* loopback source from the wire */
	wr16(p + 10, 0);
	wr16(p + 10, ns_checksum(p, 20));
	ns_input(s, eth, p, n);
	cr_assert_eq(w.n, 0);
	struct ns_stats st;
	ns_stats_get(s, &st);
	cr_assert_eq(st.ip_in_addr_errors, 2);
}

Test(netstack, udp_loopback)
{
	struct ns_udp *a, *b;
	cr_assert_eq(ns_udp_open(s, &a), 0);
	cr_assert_eq(ns_udp_open(s, &b), 0);
	cr_assert_eq(ns_udp_bind(a, 0x7f000001, 5000), 0);
	struct ns_sockaddr to = {0x7f000001, 5000};
	struct iovec iov[2] = {{"hel", 3}, {"lo, udp", 7}};
	cr_assert_eq(ns_udp_sendmsg(b, iov, 2, &to, 0), 10);
	struct ns_sockaddr bname;
	cr_assert_eq(ns_udp_name(b, &bname, NULL), 0);
	cr_assert(bname.port >= 32768 && bname.port <= 60999, "ephemeral port %u", bname.port);
	cr_assert_eq(ns_udp_next_len(a), 10);
	cr_assert_eq(ns_udp_poll(a) & NS_POLLIN, NS_POLLIN);
	char buf[4];
	struct iovec r = {buf, sizeof buf};
	struct ns_sockaddr from;
	size_t full = 0;
	cr_assert_eq(ns_udp_recvmsg(a, &r, 1, NS_MSG_PEEK, &from, &full), 4);
	cr_assert_eq(full, 10);
	char big[32] = {0};
	struct iovec rb = {big, sizeof big};
	cr_assert_eq(ns_udp_recvmsg(a, &rb, 1, 0, &from, &full), 10);
	cr_assert_str_eq(big, "hello, udp");
	cr_assert_eq(from.addr, 0x7f000001);
	cr_assert_eq(from.port, bname.port);
	cr_assert_eq(ns_udp_recvmsg(a, &rb, 1, 0, &from, &full), -EAGAIN);
	cr_assert_eq(w.n, 0, "loopback traffic never reaches the link");
	ns_udp_close(a);
	ns_udp_close(b);
}

Test(netstack, udp_to_own_address_and_empty_datagram)
{
	struct ns_udp *a, *b;
	ns_udp_open(s, &a);
	ns_udp_open(s, &b);
	cr_assert_eq(ns_udp_bind(a, 0, 6000), 0);
	struct ns_sockaddr to = {B_ADDR, 6000};
	cr_assert_eq(ns_udp_sendmsg(b, NULL, 0, &to, 0), 0);
	size_t full = 99;
	struct ns_sockaddr from;
	char c;
	struct iovec r = {&c, 1};
	cr_assert_eq(ns_udp_recvmsg(a, &r, 1, 0, &from, &full), 0);
	cr_assert_eq(full, 0);
	cr_assert_eq(from.addr, B_ADDR, "its own address is the source");
	cr_assert_eq(w.n, 0);
}

Test(netstack, udp_connected_refused_on_loopback)
{
	struct ns_udp *c;
	ns_udp_open(s, &c);
	cr_assert_eq(ns_udp_connect(c, 0x7f000001, 9), 0);
	struct iovec iov = {"x", 1};
	cr_assert_eq(ns_udp_sendmsg(c, &iov, 1, NULL, 0), 1);
	/* The port unreachable came back through loopback. */
	cr_assert_eq(ns_udp_poll(c) & NS_POLLERR, NS_POLLERR);
	char b[4];
	struct iovec r = {b, 4};
	cr_assert_eq(ns_udp_recvmsg(c, &r, 1, 0, NULL, NULL), -ECONNREFUSED);
	cr_assert_eq(ns_udp_recvmsg(c, &r, 1, 0, NULL, NULL), -EAGAIN, "reported once");
	cr_assert_eq(ns_udp_sendmsg(c, &iov, 1, NULL, 0), 1);
	cr_assert_eq(ns_udp_take_error(c), ECONNREFUSED);
	struct ns_stats st;
	ns_stats_get(s, &st);
	cr_assert_eq(st.udp_no_ports, 2);
	cr_assert_eq(st.icmp_out_dest_unreachs, 2);
}

Test(netstack, udp_closed_port_on_link_gets_port_unreachable)
{
	uint8_t p[128];
	size_t n = udp_packet(p, A_ADDR, B_ADDR, 4444, 53, "q", 1);
	ns_input(s, eth, p, n);
	cr_assert_eq(w.n, 1);
	const uint8_t *r = w.pkt[0];
	cr_assert_eq(r[20], 3);
	cr_assert_eq(r[21], 3, "port unreachable");
	cr_assert_eq(ns_checksum(r + 20, w.len[0] - 20), 0);
	cr_assert(!memcmp(r + 28, p, n), "quotes the datagram");
}

Test(netstack, udp_bad_checksum_and_length)
{
	struct ns_udp *a;
	ns_udp_open(s, &a);
	ns_udp_bind(a, 0, 7000);
	uint8_t p[128];
	size_t n = udp_packet(p, A_ADDR, B_ADDR, 1, 7000, "data", 4);
	p[28] ^= 0xff;
	ns_input(s, eth, p, n);
	n = udp_packet(p, A_ADDR, B_ADDR, 1, 7000, "data", 4);
	wr16(p + 24, 40); /* UDP length past the datagram */
	ns_input(s, eth, p, n);
	cr_assert_eq(ns_udp_next_len(a), 0);
	struct ns_stats st;
	ns_stats_get(s, &st);
	cr_assert_eq(st.udp_in_csum_errors, 1);
	cr_assert_eq(st.udp_in_errors, 2);
	/* Checksum 0: none was computed, accepted. */
	n = udp_packet(p, A_ADDR, B_ADDR, 1, 7000, "data", 4);
	wr16(p + 26, 0);
	ns_input(s, eth, p, n);
	cr_assert_eq(ns_udp_next_len(a), 4);
}

Test(netstack, udp_bind_rules)
{
	struct ns_udp *a, *b, *c;
	ns_udp_open(s, &a);
	ns_udp_open(s, &b);
	ns_udp_open(s, &c);
	cr_assert_eq(ns_udp_bind(a, 0, 8000), 0);
	cr_assert_eq(ns_udp_bind(a, 0, 8001), -EINVAL, "bound already");
	cr_assert_eq(ns_udp_bind(b, B_ADDR, 8000), -EADDRINUSE);
	cr_assert_eq(ns_udp_bind(b, 0x0a000063, 8002), -EADDRNOTAVAIL);
	ns_udp_set_reuse(a, true);
	ns_udp_set_reuse(b, true);
	cr_assert_eq(ns_udp_bind(b, B_ADDR, 8000), 0, "both reuse");
	cr_assert_eq(ns_udp_bind(c, 0x7f000001, 8000), -EADDRINUSE, "a holds any");
	/* The specific address wins the datagram. */
	uint8_t p[128];
	size_t n = udp_packet(p, A_ADDR, B_ADDR, 1, 8000, "to b", 4);
	ns_input(s, eth, p, n);
	cr_assert_eq(ns_udp_next_len(b), 4);
	cr_assert_eq(ns_udp_next_len(a), 0);
}

Test(netstack, udp_connected_filters_peers)
{
	struct ns_udp *a;
	ns_udp_open(s, &a);
	cr_assert_eq(ns_udp_connect(a, A_ADDR, 53), 0);
	struct ns_sockaddr me;
	ns_udp_name(a, &me, NULL);
	cr_assert_eq(me.addr, B_ADDR, "the route's source address");
	uint8_t p[128];
	size_t n = udp_packet(p, A_ADDR, B_ADDR, 54, me.port, "no", 2);
	ns_input(s, eth, p, n);
	cr_assert_eq(ns_udp_next_len(a), 0, "another port of the peer");
	n = udp_packet(p, A_ADDR, B_ADDR, 53, me.port, "yes", 3);
	ns_input(s, eth, p, n);
	cr_assert_eq(ns_udp_next_len(a), 3);
	struct iovec iov = {"q", 1};
	cr_assert_eq(ns_udp_sendmsg(a, &iov, 1, NULL, 0), 1);
	cr_assert_eq(w.n, 2, "an ICMP for port 54, then the datagram");
	const uint8_t *d = w.pkt[1];
	cr_assert_eq(rd32(d + 16), A_ADDR);
	cr_assert_eq(rd16(d + 22), 53);
	cr_assert_eq(udp_sum(rd32(d + 12), rd32(d + 16), d + 20, w.len[1] - 20), 0);
}

Test(netstack, udp_rcvbuf_bounds_the_queue)
{
	struct ns_udp *a;
	ns_udp_open(s, &a);
	ns_udp_bind(a, 0, 9000);
	ns_udp_set_bufs(a, 1000, 0);
	uint8_t p[600];
	static const char data[500];
	for (int i = 0; i < 5; i++) {
		size_t n = udp_packet(p, A_ADDR, B_ADDR, 1, 9000, data, sizeof data);
		ns_input(s, eth, p, n);
	}
	struct ns_stats st;
	ns_stats_get(s, &st);
	cr_assert_eq(st.udp_in_datagrams, 2);
	cr_assert_eq(st.udp_rcvbuf_errors, 3);
}

Test(netstack, udp_errors)
{
	struct ns_udp *a;
	ns_udp_open(s, &a);
	struct iovec iov = {"x", 1};
	cr_assert_eq(ns_udp_sendmsg(a, &iov, 1, NULL, 0), -EDESTADDRREQ);
	static char huge[65508];
	struct iovec big = {huge, sizeof huge};
	struct ns_sockaddr to = {A_ADDR, 1};
	cr_assert_eq(ns_udp_sendmsg(a, &big, 1, &to, 0), -EMSGSIZE);
	struct ns_sockaddr zero = {A_ADDR, 0};
	cr_assert_eq(ns_udp_sendmsg(a, &iov, 1, &zero, 0), -EINVAL);
	cr_assert_eq(ns_udp_shutdown(a, true, false), -ENOTCONN);
	struct ns_sockaddr peer;
	cr_assert_eq(ns_udp_name(a, NULL, &peer), -ENOTCONN);
}

Test(netstack, fragments_reassembled_in_any_order)
{
	/* B sends 10000 bytes over a 1500-byte MTU: seven fragments. */
	struct ns_udp *u;
	ns_udp_open(s, &u);
	uint8_t *data = malloc(10000);
	for (int i = 0; i < 10000; i++)
		data[i] = (uint8_t)(i * 7);
	struct iovec iov = {data, 10000};
	struct ns_sockaddr to = {A_ADDR, 4000};
	cr_assert_eq(ns_udp_sendmsg(u, &iov, 1, &to, 0), 10000);
	cr_assert_eq(w.n, 7);
	for (int i = 0; i < w.n; i++) {
		cr_assert_leq(w.len[i], 1500);
		uint16_t f = rd16(w.pkt[i] + 6);
		cr_assert_eq(((f & 0x1fff) * 8) % 8, 0);
		cr_assert_eq(!!(f & 0x2000), i < 6, "MF on all but the last");
	}
	/* A receives them backwards, one twice. */
	struct ns_stack *a = ns_stack_new();
	struct wire aw = {0};
	int aif = ns_if_add(a, "eth0", A_ADDR, 24, 1500, capture, &aw);
	struct ns_udp *r;
	ns_udp_open(a, &r);
	cr_assert_eq(ns_udp_bind(r, 0, 4000), 0);
	ns_input(a, aif, w.pkt[3], w.len[3]);
	for (int i = w.n - 1; i >= 0; i--)
		ns_input(a, aif, w.pkt[i], w.len[i]);
	cr_assert_eq(ns_udp_next_len(r), 10000);
	uint8_t *got = malloc(10000);
	struct iovec gi = {got, 10000};
	cr_assert_eq(ns_udp_recvmsg(r, &gi, 1, 0, NULL, NULL), 10000);
	cr_assert(!memcmp(got, data, 10000));
	struct ns_stats st;
	ns_stats_get(a, &st);
	cr_assert_eq(st.ip_reasm_oks, 1);
	cr_assert_eq(ns_next_deadline(a), UINT64_MAX, "nothing left pending");
	free(got);
	free(data);
	ns_stack_free(a);
	wire_clear(&aw);
}

/* Fragment k (of 8-byte units) of a datagram id from A to B. */
static size_t frag_packet(uint8_t *p, uint16_t id, size_t off8, size_t len, bool more,
			  uint8_t fill)
{
	memset(p + 20, fill, len);
	ip_hdr(p, len, 17, A_ADDR, B_ADDR, id, (uint16_t)((more ? 0x2000 : 0) | off8));
	return 20 + len;
}

Test(netstack, overlapping_fragments_discard_the_datagram)
{
	uint8_t p[1500];
	ns_input(s, eth, p, frag_packet(p, 1, 0, 800, true, 'a'));
	ns_input(s, eth, p, frag_packet(p, 1, 50, 800, false, 'b')); /* 400 < 800 */
	ns_input(s, eth, p, frag_packet(p, 1, 100, 800, false, 'c'));
	struct ns_stats st;
	ns_stats_get(s, &st);
	cr_assert_eq(st.ip_reasm_oks, 0);
	cr_assert_geq(st.ip_reasm_fails, 1);
	cr_assert_eq(st.udp_in_datagrams + st.udp_no_ports, 0, "nothing delivered");
}

Test(netstack, incomplete_datagram_times_out)
{
	uint8_t p[1500];
	ns_input(s, eth, p, frag_packet(p, 2, 0, 800, true, 'a'));
	uint64_t due = ns_next_deadline(s);
	cr_assert_eq(due, 31 * SEC);
	ns_run_timers(s, due - 1);
	cr_assert_eq(w.n, 0);
	ns_run_timers(s, due);
	cr_assert_eq(ns_next_deadline(s), UINT64_MAX);
	cr_assert_eq(w.n, 1, "time exceeded for the first fragment");
	cr_assert_eq(w.pkt[0][20], 11);
	cr_assert_eq(w.pkt[0][21], 1);
	struct ns_stats st;
	ns_stats_get(s, &st);
	cr_assert_eq(st.ip_reasm_timeouts, 1);
}

Test(netstack, fragment_flood_is_bounded)
{
	/* Thousands of datagrams that never complete, each fragment 1400
	 * bytes: the stack keeps a bounded number, and a real one still
	 * gets through afterwards. */
	uint8_t p[1500];
	for (int id = 0; id < 5000; id++)
		ns_input(s, eth, p, frag_packet(p, (uint16_t)id, 0, 1400, true, 'f'));
	struct ns_stats st;
	ns_stats_get(s, &st);
	cr_assert_geq(st.ip_reasm_fails, 5000 - 64);
	struct ns_udp *u;
	ns_udp_open(s, &u);
	ns_udp_bind(u, 0, 7777);
	uint8_t d[1500];
	size_t n = udp_packet(d, A_ADDR, B_ADDR, 1, 7777, "ok", 2);
	ns_input(s, eth, d, n);
	cr_assert_eq(ns_udp_next_len(u), 2);
}

Test(netstack, icmp_errors_rate_limited)
{
	uint8_t p[128];
	for (int i = 0; i < 200; i++) {
		size_t n = udp_packet(p, A_ADDR, B_ADDR, 1, 9, "x", 1);
		ns_input(s, eth, p, n);
	}
	cr_assert_eq(w.n, 50, "the burst, then nothing in the same millisecond");
	wire_clear(&w);
	ns_set_time(s, 1 * SEC + 10000000); /* 10 ms later: 10 more tokens */
	for (int i = 0; i < 200; i++) {
		size_t n = udp_packet(p, A_ADDR, B_ADDR, 1, 9, "x", 1);
		ns_input(s, eth, p, n);
	}
	cr_assert_eq(w.n, 10);
}

Test(netstack, random_packets_do_no_harm)
{
	struct ns_udp *u;
	ns_udp_open(s, &u);
	ns_udp_bind(u, 0, 53);
	srand(12345);
	uint8_t p[2048];
	for (int i = 0; i < 200000; i++) {
		size_t len = (size_t)(rand() % 2048);
		for (size_t k = 0; k < len; k++)
			p[k] = (uint8_t)rand();
		if (len >= 20 && (i & 1)) {
			/* A valid header over random contents: the layers above see it. */
			uint8_t proto = (uint8_t)(i % 3 == 0 ? 1 : i % 3 == 1 ? 17 : rand());
			uint16_t frag = (uint16_t)(i % 5 == 0 ? rand() & 0x3fff : 0);
			ip_hdr(p, len - 20, proto, A_ADDR, B_ADDR, (uint16_t)rand(), frag);
		}
		ns_input(s, eth, p, len);
		if (w.n > 200)
			wire_clear(&w);
		if (i % 1000 == 0)
			ns_run_timers(s, (uint64_t)(1 + i / 1000) * SEC);
	}
	ns_run_timers(s, 1000 * SEC);
	cr_assert_eq(ns_next_deadline(s), UINT64_MAX);
}

Test(netstack, tcp_over_loopback)
{
	/* Both ends in one stack: every segment goes round through the
	 * backlog, never by recursion. */
	struct ns_tcp *l, *c, *a;
	cr_assert_eq(ns_tcp_open(s, &l), 0);
	cr_assert_eq(ns_tcp_bind(l, 0x7f000001, 8080), 0);
	cr_assert_eq(ns_tcp_listen(l, 4), 0);
	cr_assert_eq(ns_tcp_open(s, &c), 0);
	cr_assert_eq(ns_tcp_connect(c, 0x7f000001, 8080), -EINPROGRESS);
	cr_assert(ns_tcp_poll(c) & NS_POLLOUT, "established within the call");
	cr_assert_eq(ns_tcp_accept(l, &a), 0);
	static uint8_t buf[1 << 16];
	size_t sent = 0, got = 0, total = 1 << 20;
	uint32_t sum_out = 0, sum_in = 0;
	for (int round = 0; got < total && round < 100000; round++) {
		if (sent < total) {
			size_t n = total - sent < sizeof buf ? total - sent : sizeof buf;
			for (size_t i = 0; i < n; i++)
				buf[i] = (uint8_t)((sent + i) * 31 + 7);
			struct iovec iov = {buf, n};
			ssize_t w = ns_tcp_send(c, &iov, 1, 0);
			for (ssize_t i = 0; i < w; i++)
				sum_out = sum_out * 33 + buf[i];
			if (w > 0)
				sent += (size_t)w;
		}
		struct iovec r = {buf, sizeof buf};
		ssize_t k;
		while ((k = ns_tcp_recv(a, &r, 1, 0)) > 0) {
			for (ssize_t i = 0; i < k; i++)
				sum_in = sum_in * 33 + buf[i];
			got += (size_t)k;
		}
		/* Delayed ACKs and the like need the clock to move. */
		uint64_t d = ns_next_deadline(s);
		if (d != UINT64_MAX && k == -EAGAIN)
			ns_run_timers(s, d);
	}
	cr_assert_eq(got, total);
	cr_assert_eq(sum_in, sum_out);
	cr_assert_eq(w.n, 0, "nothing on the link");
	ns_tcp_close(c);
	char x;
	struct iovec r = {&x, 1};
	cr_assert_eq(ns_tcp_recv(a, &r, 1, 0), 0, "the client's FIN");
	ns_tcp_close(a);
	ns_tcp_close(l);
	ns_run_timers(s, 100 * SEC);
	cr_assert_eq(ns_next_deadline(s), UINT64_MAX);
}

static int count_refusal(void *ctx, int ifindex, const uint8_t *pkt, size_t len)
{
	(void)ifindex, (void)pkt, (void)len;
	(*(int *)ctx)++;
	return -1;
}

Test(netstack, fd_link_and_refused_egress)
{
	/* Two stacks on a SOCK_SEQPACKET socketpair, as the sentry and its
	 * gateway are: the gateway refuses what is not for it. */
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	struct ns_stack *g = ns_stack_new(), *u = ns_stack_new();
	int gi = ns_if_add(g, "link", 0x0a000202, 24, 65520, ns_link_fd_tx, &sv[0]);
	int ui = ns_if_add(u, "eth0", 0x0a00020f, 24, 65520, ns_link_fd_tx, &sv[1]);
	cr_assert(gi > 0 && ui > 0);
	ns_route_default(u, ui);
	int refused = 0;
	ns_set_forward(g, count_refusal, &refused);
	struct ns_udp *a, *b;
	ns_udp_open(g, &a);
	cr_assert_eq(ns_udp_bind(a, 0, 53), 0);
	ns_udp_open(u, &b);
	struct ns_sockaddr gw = {0x0a000202, 53};
	static char big[30000];
	memset(big, 'z', sizeof big);
	struct iovec iov = {big, sizeof big};
	cr_assert_eq(ns_udp_sendmsg(b, &iov, 1, &gw, 0), (ssize_t)sizeof big);
	cr_assert_eq(ns_link_fd_rx(g, gi, sv[0]), 1, "one packet: the MTU holds it");
	cr_assert_eq(ns_udp_next_len(a), sizeof big);
	/* Elsewhere: refused, and the connected sender hears of it. */
	cr_assert_eq(ns_udp_connect(b, 0x08080808, 53), 0);
	struct iovec q = {"q", 1};
	cr_assert_eq(ns_udp_sendmsg(b, &q, 1, NULL, 0), 1);
	cr_assert_eq(ns_link_fd_rx(g, gi, sv[0]), 1);
	cr_assert_eq(refused, 1);
	cr_assert_eq(ns_link_fd_rx(u, ui, sv[1]), 1, "the ICMP came back");
	cr_assert_eq(ns_udp_take_error(b), EHOSTUNREACH);
	close(sv[0]);
	cr_assert_eq(ns_link_fd_rx(u, ui, sv[1]), -EPIPE, "the other side went");
	close(sv[1]);
	ns_stack_free(g);
	ns_stack_free(u);
}

Test(netstack, tcp_memory_is_bounded_per_stack)
{
	/* Connections whose data nobody reads: together their queues stay
	 * within the stack's ceiling, and each sender is told to wait. */
	struct ns_tcp *l;
	ns_tcp_open(s, &l);
	ns_tcp_bind(l, 0x7f000001, 9000);
	ns_tcp_listen(l, 1024);
	static uint8_t blob[65536];
	struct iovec iov = {blob, sizeof blob};
	for (int i = 0; i < 300; i++) {
		struct ns_tcp *c, *a;
		cr_assert_eq(ns_tcp_open(s, &c), 0);
		cr_assert_eq(ns_tcp_connect(c, 0x7f000001, 9000), -EINPROGRESS);
		cr_assert_eq(ns_tcp_accept(l, &a), 0);
		for (int k = 0; k < 16 && ns_tcp_send(c, &iov, 1, 0) > 0; k++)
			;
	}
	struct ns_stats st;
	ns_stats_get(s, &st);
	/* 64 MiB, and the first page of each queue. */
	cr_assert_leq(st.tcp_mem_bytes, (64u << 20) + 1200 * 4096, "%llu bytes",
		      (unsigned long long)st.tcp_mem_bytes);
	cr_assert_gt(st.tcp_mem_bytes, 32u << 20, "the queues did fill");
}
