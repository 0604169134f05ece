/* The host side of a sandbox's network link: a netstack of its own at
 * the gateway address on one end of the link, driven by a libuv loop,
 * that relays each host connection to a published port into a netstack
 * connection to the guest (and back), with backpressure both ways: a
 * guest that does not read stops the host read, a host client that does
 * not read stops the guest's data at the stack's window.
 *
 * Egress is the same relay the other way round, as slirp and passt do
 * it: the stack's forward hook gets the guest's first packet to another
 * address; where the policy allows, the gateway connects a host socket
 * there and only then accepts the guest's SYN as that address (so the
 * guest sees the real outcome: connected, refused, unreachable), or
 * opens a host UDP socket for the flow. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "../kernel/kernel.h"
#include "../netstack/netstack.h"
#include "executor.h"

/* How much of the guest's data may wait in libuv for a slow host client
 * before the gateway stops taking more from the stack. */
#define HOST_QUEUE_MAX (1u << 20)
#define READ_CHUNK 65536
/* The link's socket buffers: room for a window's worth of packets. */
#define LINK_BUF (4 << 20)
/* Egress bounds per sandbox: TCP connections (and those still being
 * connected on the host), UDP flows; past them a first packet is dropped
 * and the guest retries, as with a full SYN queue. */
#define EGRESS_TCP_MAX 1024
#define EGRESS_CONNECTING_MAX 256
#define EGRESS_UDP_MAX 256
/* Linux's conntrack UDP timeouts: a flow with no answer yet, and one
 * that has been answered (a "stream"), in seconds. */
#define UDP_IDLE_S 30
#define UDP_STREAM_IDLE_S 120
#define SWEEP_MS 5000

struct gw;

struct relay {
	struct gw *gw;
	struct relay *next;
	uv_tcp_t host;
	struct ns_tcp *guest;
	uint8_t rbuf[READ_CHUNK]; /* the host's bytes read last */
	size_t pend_off, pend_len; /* of rbuf: not yet taken by the guest */
	size_t host_queued;        /* bytes in libuv's writes to the host */
	bool reading, host_eof, guest_shut, guest_eof, host_shut, closing;
	/* Egress: the guest's SYN, kept while the host socket connects. */
	bool egress, connecting;
	uv_connect_t conn;
	uint8_t *syn;
	size_t syn_len;
	uint32_t src, dst;
	uint16_t sport, dport;
};

/* A guest's UDP flow to another address: its transparent endpoint in the
 * stack and a connected host socket. */
struct flow {
	struct gw *gw;
	struct flow *next;
	uv_udp_t host;
	struct ns_udp *guest;
	uint64_t last; /* activity, uv_hrtime */
	bool replied, closing;
	/* The first datagram's IP and UDP headers: what an ICMP error
	 * quotes if the destination refuses. */
	uint8_t head[68];
	size_t head_len;
};

struct listener {
	uv_tcp_t tcp;
	struct gw *gw;
	uint16_t guest_port;
};

struct gw {
	uv_loop_t *loop;
	struct ns_stack *s;
	int ifx, link_fd;
	uv_poll_t link;
	uv_timer_t timer;
	struct listener *ls;
	int nls;
	struct relay *relays;
	struct ex_egress egress;
	int n_out, n_connecting, n_flows;
	struct flow *flows;
	uv_timer_t sweep;
	uv_timer_t trim;       /* idle a while: the heap goes back to the host */
	uint8_t dgram[65536]; /* one UDP datagram on its way */
};

int ex_publish_parse(const char *s, struct ex_publish *out)
{
	char *end;
	unsigned long h = strtoul(s, &end, 10);
	if (end == s || *end != ':' || h == 0 || h > 65535)
		return -EINVAL;
	const char *g = end + 1;
	unsigned long p = strtoul(g, &end, 10);
	if (end == g || *end || p == 0 || p > 65535)
		return -EINVAL;
	out->host_port = (uint16_t)h;
	out->guest_port = (uint16_t)p;
	return 0;
}

static void pump(struct gw *g);

/* Idle for TRIM_MS: what the relays' buffers (64 KiB each, from the
 * heap) took goes back to the host, or an idle sandbox keeps it.  Not at
 * each close: a client opening a connection a request would pay it. */
#define TRIM_MS 100
static void on_trim(uv_timer_t *t)
{
	struct gw *g = t->data;
	if (!g->relays)
		malloc_trim(0);
}

static void on_closed(uv_handle_t *h)
{
	struct relay *r = h->data;
	struct gw *g = r->gw;
	free(r->syn);
	free(r);
	if (!g->relays)
		uv_timer_start(&g->trim, on_trim, TRIM_MS, 0);
}

static void relay_close(struct relay *r, bool reset)
{
	if (r->closing)
		return;
	r->closing = true;
	for (struct relay **pp = &r->gw->relays; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	if (r->egress)
		r->gw->n_out--;
	if (r->connecting)
		r->gw->n_connecting--;
	if (r->guest)
		ns_tcp_close(r->guest);
	r->guest = NULL;
	r->host.data = r;
	/* A socket still connecting has nothing to reset. */
	if (reset && !r->connecting)
		uv_tcp_close_reset(&r->host, on_closed);
	else
		uv_close((uv_handle_t *)&r->host, on_closed);
}

static void on_written(uv_write_t *w, int status)
{
	struct relay *r = w->data;
	r->host_queued -= ((uv_buf_t *)(w + 1))->len;
	free(w);
	if (status < 0 && !r->closing)
		relay_close(r, true);
	pump(r->gw);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	free(req);
}

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *buf)
{
	(void)want;
	struct relay *r = h->data;
	*buf = uv_buf_init((char *)r->rbuf, sizeof(r->rbuf));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	(void)buf;
	struct relay *r = st->data;
	if (n == UV_EOF) {
		r->host_eof = true;
		uv_read_stop(st);
		r->reading = false;
	} else if (n < 0) {
		relay_close(r, true);
		return;
	} else if (n > 0) {
		/* One chunk at a time: reading waits until the guest took it. */
		r->pend_off = 0;
		r->pend_len = (size_t)n;
		uv_read_stop(st);
		r->reading = false;
	}
	pump(r->gw);
}

/* Moves what can move for one relay; false if it ended. */
static bool service(struct relay *r)
{
	struct gw *g = r->gw;
	(void)g;
	/* Host to guest. */
	if (r->pend_len) {
		struct iovec iov = {r->rbuf + r->pend_off, r->pend_len};
		ssize_t w = ns_tcp_send(r->guest, &iov, 1, 0);
		if (w > 0) {
			r->pend_off += (size_t)w;
			r->pend_len -= (size_t)w;
		} else if (w != -EAGAIN) {
			relay_close(r, true);
			return false;
		}
	}
	if (!r->pend_len && !r->host_eof && !r->reading) {
		r->reading = true;
		uv_read_start((uv_stream_t *)&r->host, on_alloc, on_read);
	}
	if (!r->pend_len && r->host_eof && !r->guest_shut) {
		ns_tcp_shutdown(r->guest, false, true);
		r->guest_shut = true;
	}
	/* Guest to host, while the host keeps up. */
	while (!r->guest_eof && r->host_queued < HOST_QUEUE_MAX) {
		uv_write_t *w = malloc(sizeof(*w) + sizeof(uv_buf_t) + READ_CHUNK);
		if (!w)
			break;
		uv_buf_t *b = (uv_buf_t *)(w + 1);
		char *data = (char *)(b + 1);
		struct iovec iov = {data, READ_CHUNK};
		ssize_t k = ns_tcp_recv(r->guest, &iov, 1, 0);
		if (k <= 0) {
			free(w);
			if (k == 0) {
				r->guest_eof = true;
				break;
			}
			if (k == -EAGAIN)
				break;
			relay_close(r, true); /* refused or reset by the guest */
			return false;
		}
		*b = uv_buf_init(data, (unsigned)k);
		w->data = r;
		r->host_queued += (size_t)k;
		if (uv_write(w, (uv_stream_t *)&r->host, b, 1, on_written) < 0) {
			r->host_queued -= (size_t)k;
			free(w);
			relay_close(r, true);
			return false;
		}
	}
	if (r->guest_eof && !r->host_shut && !r->host_queued) {
		uv_shutdown_t *sd = malloc(sizeof(*sd));
		if (sd && uv_shutdown(sd, (uv_stream_t *)&r->host, on_shutdown) == 0)
			r->host_shut = true;
		else
			free(sd);
	}
	if (r->host_shut && r->host_eof && r->guest_shut && !r->pend_len) {
		relay_close(r, false);
		return false;
	}
	return true;
}

static void on_timer(uv_timer_t *t)
{
	struct gw *g = t->data;
	ns_run_timers(g->s, uv_hrtime());
	pump(g);
}

static void flow_service(struct flow *f);

/* After anything touched the stack: every relay and flow moves, and the
 * timer follows the stack's next deadline. */
static void pump(struct gw *g)
{
	ns_set_time(g->s, uv_hrtime());
	for (struct relay *r = g->relays, *next; r; r = next) {
		next = r->next;
		if (!r->connecting)
			service(r);
	}
	for (struct flow *f = g->flows, *next; f; f = next) {
		next = f->next;
		flow_service(f);
	}
	uint64_t d = ns_next_deadline(g->s);
	if (d == UINT64_MAX) {
		uv_timer_stop(&g->timer);
		return;
	}
	uint64_t now = uv_hrtime();
	uint64_t ms = d > now ? (d - now + 999999) / 1000000 : 0;
	uv_timer_start(&g->timer, on_timer, ms, 0);
}

static void on_link(uv_poll_t *p, int status, int events)
{
	struct gw *g = p->data;
	if (status < 0 || (events & UV_DISCONNECT)) {
		uv_stop(g->loop);
		return;
	}
	ns_set_time(g->s, uv_hrtime());
	if (ns_link_fd_rx(g->s, g->ifx, g->link_fd) < 0) {
		uv_stop(g->loop); /* the sandbox is gone */
		return;
	}
	pump(g);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *l = server->data;
	struct gw *g = l->gw;
	if (status < 0)
		return;
	struct relay *r = calloc(1, sizeof(*r));
	if (!r)
		return;
	r->gw = g;
	uv_tcp_init(g->loop, &r->host);
	r->host.data = r;
	if (uv_accept(server, (uv_stream_t *)&r->host) < 0) {
		uv_close((uv_handle_t *)&r->host, on_closed);
		return;
	}
	uv_tcp_nodelay(&r->host, 1);
	ns_set_time(g->s, uv_hrtime());
	if (ns_tcp_open(g->s, &r->guest) < 0) {
		r->guest = NULL;
		r->closing = true;
		uv_tcp_close_reset(&r->host, on_closed);
		return;
	}
	ns_tcp_setopt(r->guest, NS_TCP_NODELAY, 1);
	ns_tcp_setopt(r->guest, NS_TCP_QUICKACK, 1);
	int err = ns_tcp_connect(r->guest, K_NET_GUEST, l->guest_port);
	if (err != -EINPROGRESS) {
		ns_tcp_close(r->guest);
		r->guest = NULL;
		r->closing = true;
		uv_tcp_close_reset(&r->host, on_closed);
		return;
	}
	r->next = g->relays;
	g->relays = r;
	pump(g);
}

/* ---- egress: TCP ---- */

/* The host socket connected (or could not): the guest's SYN is accepted
 * as the destination, or answered as the destination answered. */
static void on_egress_connect(uv_connect_t *req, int status)
{
	struct relay *r = req->data;
	struct gw *g = r->gw;
	if (r->closing)
		return; /* closed while connecting (UV_ECANCELED) */
	r->connecting = false;
	g->n_connecting--;
	ns_set_time(g->s, uv_hrtime());
	if (status < 0) {
		/* libuv's codes are negated errnos on Unix. */
		ns_reject(g->s, r->syn, r->syn_len, -status);
		relay_close(r, false);
		pump(g);
		return;
	}
	int err = ns_tcp_accept_syn(g->s, r->syn, r->syn_len, &r->guest);
	free(r->syn);
	r->syn = NULL;
	if (err) {
		r->guest = NULL;
		relay_close(r, true);
		pump(g);
		return;
	}
	ns_tcp_setopt(r->guest, NS_TCP_NODELAY, 1);
	ns_tcp_setopt(r->guest, NS_TCP_QUICKACK, 1);
	uv_tcp_nodelay(&r->host, 1);
	pump(g);
}

static struct sockaddr_in sin_of(uint32_t addr, uint16_t port)
{
	return (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port),
				    .sin_addr.s_addr = htonl(addr)};
}

/* A TCP segment for another address that no relay holds.  Returns the
 * forward hook's answer. */
static int egress_tcp(struct gw *g, const uint8_t *pkt, size_t len, const uint8_t *th,
		      size_t tlen, uint32_t src, uint32_t dst)
{
	if (tlen < 20)
		return -1;
	uint16_t sport = (uint16_t)(th[0] << 8 | th[1]), dport = (uint16_t)(th[2] << 8 | th[3]);
	uint8_t flags = th[13] & 0x3f;
	if ((flags & 0x17) != 0x02) {
		/* Not a SYN: a segment of no connection, answered with a reset
		 * as a host answers it (never one to a reset). */
		ns_reject(g->s, pkt, len, ECONNREFUSED);
		return 0;
	}
	for (struct relay *r = g->relays; r; r = r->next)
		if (r->connecting && r->src == src && r->sport == sport && r->dst == dst &&
		    r->dport == dport)
			return 0; /* the SYN again, while the host socket connects */
	if (g->n_out >= EGRESS_TCP_MAX || g->n_connecting >= EGRESS_CONNECTING_MAX)
		return 0; /* dropped: the guest retries */
	struct relay *r = calloc(1, sizeof(*r));
	if (!r || !(r->syn = malloc(len))) {
		free(r);
		return 0;
	}
	memcpy(r->syn, pkt, len);
	r->syn_len = len;
	r->gw = g;
	r->egress = r->connecting = true;
	r->src = src, r->dst = dst, r->sport = sport, r->dport = dport;
	uv_tcp_init(g->loop, &r->host);
	r->host.data = r;
	r->conn.data = r;
	g->n_out++;
	g->n_connecting++;
	r->next = g->relays;
	g->relays = r;
	struct sockaddr_in to = sin_of(dst, dport);
	int err = uv_tcp_connect(&r->conn, &r->host, (const struct sockaddr *)&to,
				 on_egress_connect);
	if (err < 0) {
		ns_reject(g->s, pkt, len, -err);
		relay_close(r, false);
	}
	return 0;
}

/* ---- egress: UDP ---- */

static void on_flow_closed(uv_handle_t *h)
{
	free(h->data);
}

static void flow_close(struct flow *f)
{
	if (f->closing)
		return;
	f->closing = true;
	for (struct flow **pp = &f->gw->flows; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	if (--f->gw->n_flows == 0)
		uv_timer_stop(&f->gw->sweep);
	ns_udp_close(f->guest);
	f->guest = NULL;
	uv_close((uv_handle_t *)&f->host, on_flow_closed);
}

/* The guest's datagrams of the flow go out (a full host queue drops
 * them, as a full NIC queue would). */
static void flow_service(struct flow *f)
{
	struct gw *g = f->gw;
	for (;;) {
		struct iovec iov = {g->dgram, sizeof(g->dgram)};
		size_t full;
		ssize_t n = ns_udp_recvmsg(f->guest, &iov, 1, 0, NULL, &full);
		if (n < 0)
			break;
		uv_buf_t b = uv_buf_init((char *)g->dgram, (unsigned)n);
		uv_udp_try_send(&f->host, &b, 1, NULL);
		f->last = uv_hrtime();
	}
}

static void on_flow_alloc(uv_handle_t *h, size_t want, uv_buf_t *buf)
{
	(void)want;
	struct flow *f = h->data;
	*buf = uv_buf_init((char *)f->gw->dgram, sizeof(f->gw->dgram));
}

static void on_flow_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
			 const struct sockaddr *from, unsigned flags)
{
	(void)flags;
	struct flow *f = h->data;
	struct gw *g = f->gw;
	if (f->closing || (n == 0 && !from))
		return; /* nothing more to read (an empty datagram has a sender) */
	ns_set_time(g->s, uv_hrtime());
	if (n < 0) {
		/* The destination's ICMP errors reach a connected socket as
		 * receive errors: passed on, quoting the flow's first header. */
		if (n == UV_ECONNREFUSED || n == UV_EHOSTUNREACH || n == UV_ENETUNREACH)
			ns_reject(g->s, f->head, f->head_len, (int)-n);
		return;
	}
	struct iovec iov = {buf->base, (size_t)n};
	ns_udp_sendmsg(f->guest, &iov, 1, NULL, 0);
	f->last = uv_hrtime();
	f->replied = true;
}

static void on_sweep(uv_timer_t *t)
{
	struct gw *g = t->data;
	uint64_t now = uv_hrtime();
	for (struct flow *f = g->flows, *next; f; f = next) {
		next = f->next;
		uint64_t idle = (uint64_t)(f->replied ? UDP_STREAM_IDLE_S : UDP_IDLE_S) * 1000000000ULL;
		if (now - f->last > idle)
			flow_close(f);
	}
}

/* Room for one more flow: at the limit, the one idle longest goes,
 * unanswered ones first (conntrack's early drop), so that a guest that
 * sprays datagrams cannot keep its own later flows out. */
static void flow_make_room(struct gw *g)
{
	if (g->n_flows < EGRESS_UDP_MAX)
		return;
	struct flow *victim = NULL;
	for (struct flow *f = g->flows; f; f = f->next)
		if (!victim || (!f->replied && victim->replied) ||
		    (f->replied == victim->replied && f->last < victim->last))
			victim = f;
	if (victim)
		flow_close(victim);
}

/* A UDP datagram for another address that no flow holds: a new flow. */
static int egress_udp(struct gw *g, const uint8_t *pkt, size_t len, size_t hlen, uint32_t dst,
		      uint16_t dport)
{
	if (hlen + 8 > sizeof(((struct flow *)0)->head))
		return 0; /* dropped */
	flow_make_room(g);
	struct flow *f = calloc(1, sizeof(*f));
	if (!f)
		return 0;
	f->gw = g;
	if (ns_udp_accept(g->s, pkt, len, &f->guest) != 0) {
		free(f);
		return 0;
	}
	/* The headers alone, made a whole (checksummed) datagram again. */
	memcpy(f->head, pkt, hlen + 8);
	f->head_len = hlen + 8;
	f->head[2] = (uint8_t)(f->head_len >> 8), f->head[3] = (uint8_t)f->head_len;
	f->head[6] = f->head[7] = 0;
	f->head[10] = f->head[11] = 0;
	uint16_t sum = ns_checksum(f->head, hlen);
	f->head[10] = (uint8_t)(sum >> 8), f->head[11] = (uint8_t)sum;
	f->head[hlen + 4] = 0, f->head[hlen + 5] = 8;
	f->last = uv_hrtime();
	uv_udp_init(g->loop, &f->host);
	f->host.data = f;
	f->next = g->flows;
	g->flows = f;
	if (g->n_flows++ == 0)
		uv_timer_start(&g->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
	struct sockaddr_in to = sin_of(dst, dport);
	int err = uv_udp_connect(&f->host, (const struct sockaddr *)&to);
	if (!err)
		err = uv_udp_recv_start(&f->host, on_flow_alloc, on_flow_recv);
	if (err) {
		ns_reject(g->s, f->head, f->head_len, -err);
		flow_close(f);
		return 0;
	}
	flow_service(f); /* the first datagram, queued on the endpoint */
	return 0;
}

/* The stack's forward hook: a packet from the guest for another address
 * that no relay or flow holds yet.  0: taken; -1: refused by the policy
 * (ICMP administratively prohibited). */
static int forward(void *ctx, int ifindex, const uint8_t *pkt, size_t len)
{
	(void)ifindex;
	struct gw *g = ctx;
	size_t hlen = (size_t)(pkt[0] & 15) * 4;
	uint32_t src = (uint32_t)pkt[12] << 24 | (uint32_t)pkt[13] << 16 | (uint32_t)pkt[14] << 8 | pkt[15];
	uint32_t dst = (uint32_t)pkt[16] << 24 | (uint32_t)pkt[17] << 16 | (uint32_t)pkt[18] << 8 | pkt[19];
	if (src != K_NET_GUEST || (pkt[9] != 6 && pkt[9] != 17) || len < hlen + 8)
		return -1;
	const uint8_t *l4 = pkt + hlen;
	uint16_t dport = (uint16_t)(l4[2] << 8 | l4[3]);
	if (!ex_egress_allows(&g->egress, dst, dport))
		return -1;
	if (pkt[9] == 6)
		return egress_tcp(g, pkt, len, l4, len - hlen, src, dst);
	return egress_udp(g, pkt, len, hlen, dst, dport);
}

/* Once listening, the gateway only moves bytes between descriptors it
 * holds or accepts: a seccomp allowlist (libuv's loop, the sockets,
 * memory, time, leaving) so that a packet or a client that broke it
 * could do little more.  Not under AddressSanitizer, whose runtime makes
 * calls of its own (as the sentry's). */
static int confine(bool egress)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)egress;
	return 0;
#else
	static const int allowed[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
		SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
		SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(shutdown), SCMP_SYS(close),
		SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname),
		SCMP_SYS(getpeername), SCMP_SYS(ioctl), SCMP_SYS(fcntl),
		SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
		SCMP_SYS(epoll_create1), SCMP_SYS(eventfd2), SCMP_SYS(pipe2),
		SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk),
		SCMP_SYS(madvise), SCMP_SYS(futex), SCMP_SYS(clock_gettime),
		SCMP_SYS(gettimeofday), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(tgkill),
		SCMP_SYS(exit), SCMP_SYS(exit_group),
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	int err = 0;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && !err; i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* libuv reopens a spare descriptor when accept hits EMFILE: it is
	 * told no, and carries on without, rather than the gateway dying. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
	/* Egress: IPv4 sockets of its own, connected where the policy
	 * (checked before each connect) allows; UDP sockets are bound to an
	 * ephemeral port first. */
	if (egress) {
		if (!err)
			err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
					       SCMP_A0(SCMP_CMP_EQ, AF_INET));
		static const int more[] = {SCMP_SYS(connect), SCMP_SYS(bind),
					   SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg)};
		for (size_t i = 0; i < sizeof(more) / sizeof(more[0]) && !err; i++)
			err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, more[i], 0);
	}
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
#endif
}

static __attribute__((noreturn)) void serve(int link_fd, const int *lfd,
					    const struct ex_publish *pub, int npub,
					    const struct ex_egress *egress)
{
	static struct gw g; /* big (a datagram buffer): not on the stack */
	g.link_fd = link_fd;
	g.nls = npub;
	g.egress = *egress;
	g.loop = uv_default_loop();
	g.s = ns_stack_new();
	g.ls = calloc((size_t)npub, sizeof(*g.ls));
	if (!g.s || !g.ls)
		_exit(1);
	g.ifx = ns_if_add(g.s, "link", K_NET_GATEWAY, K_NET_PREFIX, K_NET_MTU, ns_link_fd_tx,
			  &g.link_fd);
	if (g.ifx < 0)
		_exit(1);
	ns_set_forward(g.s, forward, &g);
	uv_timer_init(g.loop, &g.timer);
	g.timer.data = &g;
	uv_timer_init(g.loop, &g.sweep);
	g.sweep.data = &g;
	uv_timer_init(g.loop, &g.trim);
	g.trim.data = &g;
	uv_poll_init(g.loop, &g.link, link_fd);
	g.link.data = &g;
	uv_poll_start(&g.link, UV_READABLE | UV_DISCONNECT, on_link);
	for (int i = 0; i < npub; i++) {
		struct listener *l = &g.ls[i];
		l->gw = &g;
		l->guest_port = pub[i].guest_port;
		uv_tcp_init(g.loop, &l->tcp);
		l->tcp.data = l;
		if (uv_tcp_open(&l->tcp, lfd[i]) < 0 ||
		    uv_listen((uv_stream_t *)&l->tcp, 128, on_connection) < 0)
			_exit(1);
	}
	/* As many descriptors as the host allows: a relay holds one each. */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || confine(ex_egress_any(egress)) != 0)
		_exit(1);
	uv_run(g.loop, UV_RUN_DEFAULT);
	_exit(0);
}

int ex_gateway_start(const struct ex_publish *pub, int npub, const struct ex_egress *egress,
		     int *sandbox_fd, pid_t *pid)
{
	if (npub < 0 || npub > 64 || (npub && !pub))
		return -EINVAL;
	/* The policy the child enforces, with the host's addresses now and
	 * the published ports among the node's own. */
	struct ex_egress policy = {0};
	if (egress)
		policy = *egress;
	for (int i = 0; i < npub; i++)
		if (ex_egress_add_node_port(&policy, pub[i].host_port))
			return -E2BIG;
	int err = ex_egress_any(&policy) ? ex_egress_host_addrs(&policy) : 0;
	if (err)
		return err;
	int lfd[64], sv[2], n = 0;
	for (; n < npub; n++) {
		lfd[n] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(pub[n].host_port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		if (lfd[n] < 0 || setsockopt(lfd[n], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		    bind(lfd[n], (struct sockaddr *)&a, sizeof(a)) || listen(lfd[n], 128)) {
			err = -errno;
			if (lfd[n] >= 0)
				close(lfd[n]);
			break;
		}
	}
	if (!err && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		err = -errno;
	if (err) {
		while (n-- > 0)
			close(lfd[n]);
		return err;
	}
	int buf = LINK_BUF;
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		fcntl(sv[i], F_SETFL, O_NONBLOCK); /* a link never blocks its owner */
	}
	pid_t child = fork();
	if (child < 0) {
		err = -errno;
	} else if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_IGN);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Nothing of husk's but the link and the listeners. */
		close(sv[1]);
		for (int fd = 3; fd < 4096; fd++) {
			bool keep = fd == sv[0];
			for (int i = 0; i < npub; i++)
				keep |= fd == lfd[i];
			if (!keep)
				close(fd);
		}
		serve(sv[0], lfd, pub, npub, &policy);
	}
	for (int i = 0; i < npub; i++)
		close(lfd[i]);
	close(sv[0]);
	if (err) {
		close(sv[1]);
		return err;
	}
	*sandbox_fd = sv[1];
	*pid = child;
	return 0;
}
