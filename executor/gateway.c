/* The host side of a sandbox's network link: a netstack of its own at
 * the gateway address on one end of the link, driven by a libuv loop,
 * that relays each host connection to a published port into a netstack
 * connection to the guest (and back), with backpressure both ways: a
 * guest that does not read stops the host read, a host client that does
 * not read stops the guest's data at the stack's window. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

static void on_closed(uv_handle_t *h)
{
	free(h->data);
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
	if (r->guest)
		ns_tcp_close(r->guest);
	r->guest = NULL;
	r->host.data = r;
	if (reset)
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

/* After anything touched the stack: every relay moves, and the timer
 * follows the stack's next deadline. */
static void pump(struct gw *g)
{
	ns_set_time(g->s, uv_hrtime());
	for (struct relay *r = g->relays, *next; r; r = next) {
		next = r->next;
		service(r);
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

/* Once listening, the gateway only moves bytes between descriptors it
 * holds or accepts: a seccomp allowlist (libuv's loop, the sockets,
 * memory, time, leaving) so that a packet or a client that broke it
 * could do little more.  Not under AddressSanitizer, whose runtime makes
 * calls of its own (as the sentry's). */
static int confine(void)
{
#if defined(__SANITIZE_ADDRESS__)
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
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
#endif
}

/* Egress policy "none": nothing the guest sends leaves the sandbox. */
static int refuse(void *ctx, int ifindex, const uint8_t *pkt, size_t len)
{
	(void)ctx, (void)ifindex, (void)pkt, (void)len;
	return -1;
}

static __attribute__((noreturn)) void serve(int link_fd, const int *lfd,
					    const struct ex_publish *pub, int npub)
{
	struct gw g = {.link_fd = link_fd, .nls = npub};
	g.loop = uv_default_loop();
	g.s = ns_stack_new();
	g.ls = calloc((size_t)npub, sizeof(*g.ls));
	if (!g.s || !g.ls)
		_exit(1);
	g.ifx = ns_if_add(g.s, "link", K_NET_GATEWAY, K_NET_PREFIX, K_NET_MTU, ns_link_fd_tx,
			  &g.link_fd);
	if (g.ifx < 0)
		_exit(1);
	ns_set_forward(g.s, refuse, NULL);
	uv_timer_init(g.loop, &g.timer);
	g.timer.data = &g;
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
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || confine() != 0)
		_exit(1);
	uv_run(g.loop, UV_RUN_DEFAULT);
	_exit(0);
}

int ex_gateway_start(const struct ex_publish *pub, int npub, int *sandbox_fd, pid_t *pid)
{
	if (npub < 0 || npub > 64 || (npub && !pub))
		return -EINVAL;
	int lfd[64], sv[2], err = 0, n = 0;
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
		serve(sv[0], lfd, pub, npub);
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
