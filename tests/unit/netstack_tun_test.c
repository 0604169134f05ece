/* netstack's TCP against Linux's own, through a TUN device in a network
 * namespace the test makes: Linux at 10.9.0.1, netstack at 10.9.0.2.  A
 * Linux client sends 100 MB to a netstack server and the reverse, both
 * checked byte by byte, each side half-closing and answering after;
 * connections refused both ways; a netstack close with unread data resets
 * the Linux peer.  Linux's side runs in a thread with blocking sockets,
 * netstack's in the test's own loop.  Skipped where namespaces or TUN are
 * not allowed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../netstack/netstack.h"

#define LINUX_ADDR 0x0a090001u
#define NS_ADDR 0x0a090002u
#define TOTAL (100u << 20)

static int tun = -1, ifx;
static struct ns_stack *s;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 2654435761u >> 13);
}

static void setup(void)
{
	if (unshare(CLONE_NEWNET) != 0)
		cr_skip_test("no network namespace here: %s", strerror(errno));
	tun = ns_tun_open("husktun0");
	if (tun < 0)
		cr_skip_test("no TUN device here: %s", strerror(-tun));
	int sk = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "husktun0");
	struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(LINUX_ADDR);
	cr_assert_eq(ioctl(sk, SIOCSIFADDR, &ifr), 0, "address: %s", strerror(errno));
	a->sin_addr.s_addr = htonl(0xffffff00);
	cr_assert_eq(ioctl(sk, SIOCSIFNETMASK, &ifr), 0);
	cr_assert_eq(ioctl(sk, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	cr_assert_eq(ioctl(sk, SIOCSIFFLAGS, &ifr), 0, "up: %s", strerror(errno));
	close(sk);
	s = ns_stack_new();
	ifx = ns_if_add(s, "tun", NS_ADDR, 24, 1500, ns_link_fd_tx, &tun);
	cr_assert_gt(ifx, 0);
	ns_set_time(s, now_ns());
}

static void teardown(void)
{
	if (s)
		ns_stack_free(s);
	s = NULL;
	if (tun >= 0)
		close(tun);
	tun = -1;
}

TestSuite(tun, .init = setup, .fini = teardown, .timeout = 300);

/* Runs the stack for up to ms: packets from Linux, and its timers. */
static void pump(int ms)
{
	uint64_t d = ns_next_deadline(s), t = now_ns();
	int wait = ms;
	if (d != UINT64_MAX) {
		uint64_t left = d > t ? (d - t) / 1000000 : 0;
		if ((int)left < wait)
			wait = (int)left;
	}
	struct pollfd p = {tun, POLLIN, 0};
	poll(&p, 1, wait);
	ns_set_time(s, now_ns());
	if (p.revents & POLLIN)
		ns_link_fd_rx(s, ifx, tun);
	if (ns_next_deadline(s) <= now_ns())
		ns_run_timers(s, now_ns());
}

static struct sockaddr_in addr(uint32_t a, uint16_t port)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(a)};
	return in;
}

/* ---- Linux client, netstack server ---- */
struct client_job {
	int err;
	char reply[32];
};

static void *linux_client(void *arg)
{
	struct client_job *j = arg;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr(NS_ADDR, 5002);
	if (connect(c, (struct sockaddr *)&a, sizeof a)) {
		j->err = errno;
		close(c);
		return NULL;
	}
	static uint8_t buf[65536];
	for (size_t off = 0; off < TOTAL;) {
		size_t n = TOTAL - off < sizeof buf ? TOTAL - off : sizeof buf;
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i);
		ssize_t w = write(c, buf, n);
		if (w <= 0) {
			j->err = errno;
			close(c);
			return NULL;
		}
		off += (size_t)w;
	}
	shutdown(c, SHUT_WR);
	size_t got = 0;
	ssize_t k;
	while ((k = read(c, j->reply + got, sizeof j->reply - 1 - got)) > 0)
		got += (size_t)k;
	if (k < 0)
		j->err = errno;
	close(c);
	return NULL;
}

Test(tun, linux_client_to_netstack_server)
{
	struct ns_tcp *l, *c = NULL;
	ns_tcp_open(s, &l);
	cr_assert_eq(ns_tcp_bind(l, 0, 5002), 0);
	cr_assert_eq(ns_tcp_listen(l, 4), 0);
	struct client_job job = {0};
	pthread_t th;
	pthread_create(&th, NULL, linux_client, &job);
	size_t got = 0;
	bool bad = false, eof = false;
	static uint8_t buf[65536];
	uint64_t limit = now_ns() + 120ull * 1000000000ull;
	while (!eof && now_ns() < limit) {
		pump(10);
		if (!c && ns_tcp_accept(l, &c) != 0)
			continue;
		ssize_t k;
		struct iovec iov = {buf, sizeof buf};
		while ((k = ns_tcp_recv(c, &iov, 1, 0)) > 0) {
			for (ssize_t i = 0; i < k; i++)
				bad |= buf[i] != pattern(got + (size_t)i);
			got += (size_t)k;
		}
		if (k == 0)
			eof = true;
	}
	cr_assert(eof, "the client's FIN came (got %zu)", got);
	cr_assert_eq(got, TOTAL);
	cr_assert(!bad, "the bytes are the client's");
	/* Half-closed by the client: the answer still goes the other way. */
	struct iovec ok = {"OK 104857600", 12};
	cr_assert_eq(ns_tcp_send(c, &ok, 1, 0), 12);
	ns_tcp_shutdown(c, false, true);
	for (int i = 0; i < 200; i++)
		pump(5);
	pthread_join(th, NULL);
	cr_assert_eq(job.err, 0, "client: %s", strerror(job.err));
	cr_assert_str_eq(job.reply, "OK 104857600");
	ns_tcp_close(c);
	ns_tcp_close(l);
}

/* ---- netstack client, Linux server ---- */
struct server_job {
	int listener;
	size_t got;
	bool bad;
	int err;
};

static void *linux_server(void *arg)
{
	struct server_job *j = arg;
	int c = accept(j->listener, NULL, NULL);
	if (c < 0) {
		j->err = errno;
		return NULL;
	}
	static uint8_t buf[65536];
	ssize_t k;
	while ((k = read(c, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < k; i++)
			j->bad |= buf[i] != pattern(j->got + (size_t)i);
		j->got += (size_t)k;
	}
	if (k < 0)
		j->err = errno;
	write(c, "OK", 2);
	close(c);
	return NULL;
}

Test(tun, netstack_client_to_linux_server)
{
	struct server_job job = {0};
	job.listener = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr(LINUX_ADDR, 5001);
	cr_assert_eq(bind(job.listener, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(job.listener, 4), 0);
	pthread_t th;
	pthread_create(&th, NULL, linux_server, &job);
	struct ns_tcp *c;
	ns_tcp_open(s, &c);
	cr_assert_eq(ns_tcp_connect(c, LINUX_ADDR, 5001), -EINPROGRESS);
	static uint8_t buf[65536];
	size_t sent = 0;
	uint64_t limit = now_ns() + 120ull * 1000000000ull;
	while (sent < TOTAL && now_ns() < limit) {
		pump(10);
		for (;;) {
			size_t n = TOTAL - sent < sizeof buf ? TOTAL - sent : sizeof buf;
			for (size_t i = 0; i < n; i++)
				buf[i] = pattern(sent + i);
			struct iovec iov = {buf, n};
			ssize_t w = ns_tcp_send(c, &iov, 1, 0);
			if (w <= 0)
				break;
			sent += (size_t)w;
		}
	}
	cr_assert_eq(sent, TOTAL);
	ns_tcp_shutdown(c, false, true);
	char reply[8] = {0};
	size_t got = 0;
	bool eof = false;
	while (!eof && now_ns() < limit) {
		pump(10);
		struct iovec iov = {reply + got, sizeof reply - 1 - got};
		ssize_t k = ns_tcp_recv(c, &iov, 1, 0);
		if (k > 0)
			got += (size_t)k;
		else if (k == 0)
			eof = true;
	}
	pthread_join(th, NULL);
	cr_assert_eq(job.err, 0, "server: %s", strerror(job.err));
	cr_assert_eq(job.got, TOTAL);
	cr_assert(!job.bad, "the bytes are netstack's");
	cr_assert(eof);
	cr_assert_str_eq(reply, "OK");
	ns_tcp_close(c);
	close(job.listener);
}

/* ---- refusals and resets ---- */
static void *linux_connect_closed(void *arg)
{
	int *err = arg;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr(NS_ADDR, 9);
	*err = connect(c, (struct sockaddr *)&a, sizeof a) ? errno : 0;
	close(c);
	return NULL;
}

Test(tun, refused_both_ways)
{
	int err = -1;
	pthread_t th;
	pthread_create(&th, NULL, linux_connect_closed, &err);
	for (int i = 0; i < 300 && err == -1; i++)
		pump(10);
	pthread_join(th, NULL);
	cr_assert_eq(err, ECONNREFUSED, "Linux to a closed netstack port: %s", strerror(err));
	struct ns_tcp *c;
	ns_tcp_open(s, &c);
	cr_assert_eq(ns_tcp_connect(c, LINUX_ADDR, 9), -EINPROGRESS);
	for (int i = 0; i < 300 && !(ns_tcp_poll(c) & NS_POLLERR); i++)
		pump(10);
	cr_assert_eq(ns_tcp_take_error(c), ECONNREFUSED, "netstack to a closed Linux port");
	ns_tcp_close(c);
}

struct reset_job {
	int err;
	volatile int sent;
};

static void *linux_sends_then_reads(void *arg)
{
	struct reset_job *j = arg;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr(NS_ADDR, 5003);
	if (connect(c, (struct sockaddr *)&a, sizeof a)) {
		j->err = -errno;
		return NULL;
	}
	write(c, "unread", 6);
	j->sent = 1;
	char b[4];
	j->err = read(c, b, sizeof b) < 0 ? errno : 0;
	close(c);
	return NULL;
}

Test(tun, close_with_unread_data_resets_linux)
{
	struct ns_tcp *l, *c = NULL;
	ns_tcp_open(s, &l);
	ns_tcp_bind(l, 0, 5003);
	ns_tcp_listen(l, 4);
	struct reset_job job = {0};
	pthread_t th;
	pthread_create(&th, NULL, linux_sends_then_reads, &job);
	for (int i = 0; i < 500 && (!c || ns_tcp_readable(c) < 6); i++) {
		pump(10);
		if (!c)
			ns_tcp_accept(l, &c);
	}
	cr_assert(c && ns_tcp_readable(c) == 6);
	ns_tcp_close(c);
	for (int i = 0; i < 100; i++)
		pump(5);
	pthread_join(th, NULL);
	cr_assert_eq(job.err, ECONNRESET, "Linux's read: %s", strerror(job.err));
	ns_tcp_close(l);
}
