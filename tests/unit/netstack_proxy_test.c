/* netstack as a transparent proxy (the gateway's egress): a guest stack
 * and a gateway stack on a SOCK_SEQPACKET link, the gateway's forward
 * hook keeping the first packet of each flow to another address and then
 * accepting or rejecting it; and hostile first packets. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../netstack/netstack.h"

#define GW 0x0a000202u    /* 10.0.2.2 */
#define GUEST 0x0a00020fu /* 10.0.2.15 */
#define FAR 0x5db8d822u   /* 93.184.216.34: somewhere else */
#define SEC 1000000000ULL

static struct ns_stack *g, *u;
static int gi, ui, sv[2];
static uint64_t now = SEC;

/* What the gateway's hook kept: the last first packet, and how many. */
static uint8_t kept[70000];
static size_t kept_len;
static int hooked;

static int keep(void *ctx, int ifindex, const uint8_t *pkt, size_t len)
{
	(void)ctx, (void)ifindex;
	cr_assert(len <= sizeof kept);
	memcpy(kept, pkt, len);
	kept_len = len;
	hooked++;
	return 0;
}

/* Moves packets both ways until the link is quiet. */
static void pump(void)
{
	for (int round = 0; round < 100; round++) {
		ns_set_time(g, now);
		ns_set_time(u, now);
		int a = ns_link_fd_rx(g, gi, sv[0]);
		int b = ns_link_fd_rx(u, ui, sv[1]);
		if (a <= 0 && b <= 0)
			return;
	}
}

/* Lets sim time pass, running both stacks' timers. */
static void advance(uint64_t span)
{
	uint64_t end = now + span;
	while (now < end) {
		now += SEC / 10;
		ns_run_timers(g, now);
		ns_run_timers(u, now);
		pump();
	}
}

static void setup(void)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	g = ns_stack_new();
	u = ns_stack_new();
	gi = ns_if_add(g, "link", GW, 24, 1500, ns_link_fd_tx, &sv[0]);
	ui = ns_if_add(u, "eth0", GUEST, 24, 1500, ns_link_fd_tx, &sv[1]);
	cr_assert(gi > 0 && ui > 0);
	cr_assert_eq(ns_route_default(u, ui), 0);
	ns_set_forward(g, keep, NULL);
	ns_set_time(g, now);
	ns_set_time(u, now);
	hooked = 0;
	kept_len = 0;
}

static void teardown(void)
{
	ns_stack_free(g);
	ns_stack_free(u);
	close(sv[0]);
	close(sv[1]);
}

TestSuite(proxy, .init = setup, .fini = teardown);

static ssize_t send_str(struct ns_tcp *t, const char *s)
{
	struct iovec iov = {(void *)s, strlen(s)};
	return ns_tcp_send(t, &iov, 1, 0);
}

static ssize_t recv_buf(struct ns_tcp *t, char *buf, size_t n)
{
	struct iovec iov = {buf, n};
	return ns_tcp_recv(t, &iov, 1, 0);
}

Test(proxy, tcp_flow_terminated_at_the_gateway)
{
	struct ns_tcp *c, *p;
	cr_assert_eq(ns_tcp_open(u, &c), 0);
	cr_assert_eq(ns_tcp_connect(c, FAR, 80), -EINPROGRESS);
	pump();
	cr_assert_eq(hooked, 1, "the SYN went to the hook");
	cr_assert_eq(kept[9], 6);
	/* While the gateway decides, the guest's SYN comes again, and again
	 * reaches the hook (it keeps one). */
	advance(SEC + SEC / 5);
	cr_assert_eq(hooked, 2);
	cr_assert_eq(ns_tcp_poll(c) & (NS_POLLOUT | NS_POLLERR), 0u);
	cr_assert_eq(ns_tcp_accept_syn(g, kept, kept_len, &p), 0);
	cr_assert_eq(ns_tcp_accept_syn(g, kept, kept_len, &p), -EEXIST);
	pump();
	cr_assert(ns_tcp_poll(c) & NS_POLLOUT, "the guest is connected");
	cr_assert(ns_tcp_poll(p) & NS_POLLOUT, "and so is the gateway's end");
	struct ns_sockaddr l, r;
	cr_assert_eq(ns_tcp_name(p, &l, &r), 0);
	cr_assert_eq(l.addr, FAR);
	cr_assert_eq(l.port, 80);
	cr_assert_eq(r.addr, GUEST);
	struct ns_sockaddr cl, cr;
	ns_tcp_name(c, &cl, &cr);
	cr_assert_eq(r.port, cl.port);
	cr_assert_eq(cr.addr, FAR);
	/* Bytes both ways; the flow's segments no longer reach the hook. */
	cr_assert_eq(send_str(c, "GET / HTTP/1.0\r\n\r\n"), 18);
	pump();
	char buf[64];
	cr_assert_eq(recv_buf(p, buf, sizeof buf), 18);
	cr_assert_eq(memcmp(buf, "GET /", 5), 0);
	cr_assert_eq(send_str(p, "HTTP/1.0 200 OK\r\n\r\n"), 19);
	cr_assert_eq(ns_tcp_shutdown(p, false, true), 0);
	pump();
	cr_assert_eq(recv_buf(c, buf, sizeof buf), 19);
	cr_assert_eq(recv_buf(c, buf, sizeof buf), 0, "then the gateway's FIN");
	cr_assert_eq(hooked, 2);
	ns_tcp_close(c);
	ns_tcp_close(p);
	advance(70 * SEC);
	struct ns_conn list[4];
	cr_assert_eq(ns_tcp_list(g, list, 4), 0, "the gateway's end is gone");
	/* With no transparent connection left, a stray segment of the old
	 * flow goes to the hook again (it would refuse it). */
	cr_assert_eq(ns_tcp_open(u, &c), 0);
	cr_assert_eq(ns_tcp_connect(c, FAR, 80), -EINPROGRESS);
	pump();
	cr_assert_eq(hooked, 3);
	ns_tcp_close(c);
}

Test(proxy, tcp_rejections_as_the_destination_gave_them)
{
	struct ns_tcp *c;
	/* Refused over there: a reset, ECONNREFUSED at once. */
	ns_tcp_open(u, &c);
	ns_tcp_connect(c, FAR, 81);
	pump();
	ns_reject(g, kept, kept_len, ECONNREFUSED);
	pump();
	cr_assert(ns_tcp_poll(c) & NS_POLLERR);
	cr_assert_eq(ns_tcp_take_error(c), ECONNREFUSED);
	ns_tcp_close(c);
	/* Not allowed (the policy): administratively prohibited. */
	ns_tcp_open(u, &c);
	ns_tcp_connect(c, FAR, 82);
	pump();
	ns_reject(g, kept, kept_len, EACCES);
	pump();
	cr_assert_eq(ns_tcp_take_error(c), EHOSTUNREACH);
	ns_tcp_close(c);
	/* No route over there: net unreachable ends the attempt too. */
	ns_tcp_open(u, &c);
	ns_tcp_connect(c, FAR, 83);
	pump();
	ns_reject(g, kept, kept_len, ENETUNREACH);
	pump();
	cr_assert_eq(ns_tcp_take_error(c), ENETUNREACH);
	ns_tcp_close(c);
	/* Once established, an unreachable is soft: noted, and what the
	 * connection's timeout then reports, as Linux's does. */
	struct ns_tcp *p;
	ns_tcp_open(u, &c);
	ns_tcp_connect(c, FAR, 84);
	pump();
	cr_assert_eq(ns_tcp_accept_syn(g, kept, kept_len, &p), 0);
	pump();
	cr_assert(ns_tcp_poll(c) & NS_POLLOUT);
	/* The path breaks: the guest's data vanishes, and an unreachable
	 * comes back about it. */
	cr_assert_eq(send_str(c, "lost"), 4);
	uint8_t seg[100];
	ssize_t n = read(sv[0], seg, sizeof seg);
	cr_assert_eq(n, 20 + 32 + 4, "one data segment");
	now += 2 * SEC; /* past the ICMP rate limiter's refill */
	ns_set_time(g, now);
	ns_reject(g, seg, (size_t)n, EHOSTUNREACH);
	pump();
	cr_assert_eq(ns_tcp_poll(c) & NS_POLLERR, 0u, "established: still trying");
	for (int i = 0; i < 10000 && !(ns_tcp_poll(c) & NS_POLLERR); i++) {
		now += SEC / 10;
		ns_run_timers(u, now);
		while (read(sv[0], seg, sizeof seg) > 0)
			; /* retransmissions vanish */
	}
	cr_assert_eq(ns_tcp_take_error(c), EHOSTUNREACH, "the timeout reports the cause");
	ns_tcp_close(c);
	ns_tcp_close(p);
}

Test(proxy, udp_flow_terminated_at_the_gateway)
{
	struct ns_udp *c, *p;
	ns_udp_open(u, &c);
	struct ns_sockaddr dns = {0x08080808, 53};
	struct iovec q = {"query", 5};
	cr_assert_eq(ns_udp_sendmsg(c, &q, 1, &dns, 0), 5);
	pump();
	cr_assert_eq(hooked, 1);
	cr_assert_eq(ns_udp_accept(g, kept, kept_len, &p), 0);
	cr_assert_eq(ns_udp_accept(g, kept, kept_len, &p), -EEXIST);
	char buf[40000];
	struct iovec b = {buf, sizeof buf};
	struct ns_sockaddr from;
	size_t full;
	cr_assert_eq(ns_udp_recvmsg(p, &b, 1, 0, &from, &full), 5, "the first datagram is queued");
	cr_assert_eq(from.addr, GUEST);
	/* Later ones, even fragmented on the 1500-byte link, reach the
	 * endpoint whole, not the hook. */
	static char big[30000];
	memset(big, 'x', sizeof big);
	struct iovec bi = {big, sizeof big};
	cr_assert_eq(ns_udp_sendmsg(c, &bi, 1, &dns, 0), (ssize_t)sizeof big);
	pump();
	cr_assert_eq(hooked, 1);
	cr_assert_eq(ns_udp_recvmsg(p, &b, 1, 0, &from, &full), (ssize_t)sizeof big);
	/* The answer comes from the far address. */
	struct iovec a = {"answer", 6};
	cr_assert_eq(ns_udp_sendmsg(p, &a, 1, NULL, 0), 6);
	pump();
	cr_assert_eq(ns_udp_recvmsg(c, &b, 1, 0, &from, &full), 6);
	cr_assert_eq(from.addr, 0x08080808u);
	cr_assert_eq(from.port, 53);
	ns_udp_close(p);
	/* A first datagram that is fragmented reaches the hook whole. */
	struct ns_sockaddr other = {0x08080404, 53};
	cr_assert_eq(ns_udp_sendmsg(c, &bi, 1, &other, 0), (ssize_t)sizeof big);
	pump();
	cr_assert_eq(hooked, 2);
	cr_assert_eq(kept_len, 20 + 8 + sizeof big);
	/* Refused there: the connected sender hears ECONNREFUSED. */
	ns_udp_connect(c, 0x08080404, 53);
	ns_reject(g, kept, kept_len, ECONNREFUSED);
	pump();
	cr_assert_eq(ns_udp_take_error(c), ECONNREFUSED);
	ns_udp_close(c);
}

Test(proxy, hostile_first_packets)
{
	struct ns_tcp *t;
	struct ns_udp *d;
	uint8_t junk[100];
	memset(junk, 0x45, sizeof junk);
	cr_assert_eq(ns_tcp_accept_syn(g, junk, sizeof junk, &t), -EINVAL);
	cr_assert_eq(ns_udp_accept(g, junk, sizeof junk, &d), -EINVAL);
	cr_assert_eq(ns_tcp_accept_syn(g, NULL, 0, &t), -EINVAL);
	ns_reject(g, junk, sizeof junk, ECONNREFUSED);
	ns_reject(g, NULL, 0, EACCES);
	/* A real SYN: but not a UDP datagram, and not twice. */
	struct ns_tcp *c;
	ns_tcp_open(u, &c);
	ns_tcp_connect(c, FAR, 443);
	pump();
	cr_assert_eq(ns_udp_accept(g, kept, kept_len, &d), -EINVAL);
	/* Truncated, or with a flipped payload bit: refused. */
	cr_assert_eq(ns_tcp_accept_syn(g, kept, kept_len - 1, &t), -EINVAL);
	kept[kept_len - 1] ^= 1;
	cr_assert_eq(ns_tcp_accept_syn(g, kept, kept_len, &t), -EINVAL);
	kept[kept_len - 1] ^= 1;
	/* An ACK is no SYN. */
	uint8_t *th = kept + 20;
	th[13] |= 0x10;
	cr_assert_eq(ns_tcp_accept_syn(g, kept, kept_len, &t), -EINVAL);
	th[13] &= (uint8_t)~0x10;
	/* Random bytes after a valid header: never a crash. */
	srand(7);
	for (int i = 0; i < 2000; i++) {
		uint8_t p[200];
		memcpy(p, kept, kept_len < sizeof p ? kept_len : sizeof p);
		for (int k = 0; k < 4; k++)
			p[rand() % 200] = (uint8_t)rand();
		size_t n = (size_t)(rand() % 200);
		if (ns_tcp_accept_syn(g, p, n, &t) == 0)
			ns_tcp_close(t);
		if (ns_udp_accept(g, p, n, &d) == 0)
			ns_udp_close(d);
		ns_reject(g, p, n, rand() % 2 ? ECONNREFUSED : EHOSTUNREACH);
	}
	/* (The mutations that missed the packet accepted it: closed, that
	 * connection is the stack's to finish.)  The stack still works. */
	ns_tcp_close(c);
	ns_tcp_open(u, &c);
	ns_tcp_connect(c, FAR, 444);
	pump();
	cr_assert_eq(ns_tcp_accept_syn(g, kept, kept_len, &t), 0);
	pump();
	cr_assert(ns_tcp_poll(c) & NS_POLLOUT);
	ns_tcp_close(t);
	ns_tcp_close(c);
}
