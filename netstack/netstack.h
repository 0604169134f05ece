/* netstack: husk's user-space TCP/IP stack, the whole interface.
 *
 * A stack (struct ns_stack) is a set of interfaces and the endpoints bound
 * to them.  It is a plain library: no threads, no host sockets, no clock
 * of its own.  The owner feeds it packets (ns_input), tells it the time
 * (ns_set_time, ns_run_timers) and gets packets out through each packet
 * interface's transmit callback.  The sentry runs one stack per sandbox
 * (the guest's sockets); the host side runs one per sandbox link as its
 * gateway.  Packets between addresses of the stack itself (loopback, or
 * its own address) are queued and handled when the outermost call into
 * the stack returns, as Linux's backlog does, never by recursion.
 *
 * Addresses are IPv4 in host byte order (127.0.0.1 is 0x7f000001), ports
 * in host byte order.  Functions return 0 (or a count) or a negative
 * errno, as Linux's do.  Everything a packet says is checked: a bad one
 * is counted and dropped, never trusted.  Memory is bounded per stack:
 * queues and reassembly have limits, and a packet that does not fit is
 * dropped (and counted). */
#ifndef HUSK_NETSTACK_H
#define HUSK_NETSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct ns_stack;
struct ns_udp;
struct ns_tcp;

/* ---- the stack ---- */
struct ns_stack *ns_stack_new(void);
void ns_stack_free(struct ns_stack *s);

/* The stack's clock (monotonic nanoseconds): the caller sets it before
 * feeding packets, and runs the timers when ns_next_deadline comes
 * (UINT64_MAX: no timer pending). */
void ns_set_time(struct ns_stack *s, uint64_t now_ns);
uint64_t ns_next_deadline(const struct ns_stack *s);
void ns_run_timers(struct ns_stack *s, uint64_t now_ns);

/* ---- interfaces ---- */
#define NS_MAX_IFS 8
#define NS_IFNAME_MAX 16

/* Sends one IPv4 packet on a link; returns 0, or a negative errno (the
 * packet is then counted as dropped). */
typedef int (*ns_tx_fn)(void *ctx, const uint8_t *pkt, size_t len);

/* Adds the loopback interface (lo, 127.0.0.1/8, MTU 65536); its index. */
int ns_if_add_loopback(struct ns_stack *s);
/* Adds a packet interface: raw IPv4 packets, no link-layer header (a
 * point-to-point link: no ARP).  addr/prefix is the stack's address on it;
 * mtu at least 576.  Returns its index (1, 2, ...) or -errno. */
int ns_if_add(struct ns_stack *s, const char *name, uint32_t addr, int prefix, int mtu,
	      ns_tx_fn tx, void *ctx);
/* Packets to addresses no interface's subnet holds go through ifindex. */
int ns_route_default(struct ns_stack *s, int ifindex);

struct ns_ifinfo {
	int index;
	char name[NS_IFNAME_MAX];
	uint32_t addr;
	int prefix;
	int mtu;
	bool loopback;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, rx_dropped, tx_dropped;
};
/* Describes interface number i (0 .. count-1); the count, or -ENODEV. */
int ns_if_info(const struct ns_stack *s, int i, struct ns_ifinfo *out);

/* A packet arrived on interface ifindex.  The stack copies what it keeps. */
void ns_input(struct ns_stack *s, int ifindex, const uint8_t *pkt, size_t len);

/* Packets for addresses that are not the stack's: by default dropped (a
 * host, not a router).  With a forward hook, the hook gets each such
 * datagram whole (fragments reassembled first, as a proxy needs them;
 * pkt is a checked IPv4 datagram of len bytes) and decides: 0 it took
 * the packet, -1 it refuses it, and the stack answers the sender with
 * ICMP destination unreachable, administratively prohibited
 * (EHOSTUNREACH to a connection opening there), as a firewall rejects. */
typedef int (*ns_forward_fn)(void *ctx, int ifindex, const uint8_t *pkt, size_t len);
void ns_set_forward(struct ns_stack *s, ns_forward_fn fn, void *ctx);

/* ---- terminating flows to other addresses (a transparent proxy) ----
 * As Linux's TPROXY lets a proxy do, a forward hook may end a flow
 * itself: it keeps the first packet (a TCP SYN, a UDP datagram), decides
 * (say, after connecting to the real destination), then accepts it: the
 * stack makes an endpoint whose local address is the packet's
 * destination, and the flow's later packets reach that endpoint, not the
 * hook.  Or it rejects it (ns_reject). */
/* Answers the SYN pkt as a listener at its destination would: a
 * connection (SYN-RECEIVED until the peer's ACK: then NS_POLLOUT) that
 * the caller owns as one from ns_tcp_open.  -EINVAL if pkt is not a SYN
 * for another address, -EEXIST if that connection exists, -ENOBUFS. */
int ns_tcp_accept_syn(struct ns_stack *s, const uint8_t *pkt, size_t len, struct ns_tcp **out);
/* An endpoint bound to the datagram pkt's destination and connected to
 * its source, with the datagram queued: the caller owns it (ns_udp_close).
 * -EINVAL if pkt is not a UDP datagram for another address, -EEXIST if
 * that flow has one. */
int ns_udp_accept(struct ns_stack *s, const uint8_t *pkt, size_t len, struct ns_udp **out);
/* Answers a packet the hook kept as the destination's host or network
 * would: err is the errno the real destination gave.  ECONNREFUSED to a
 * TCP SYN is a reset, to anything else ICMP port unreachable;
 * ENETUNREACH and EHOSTUNREACH (or ETIMEDOUT) are ICMP net and host
 * unreachable; anything else is ICMP administratively prohibited. */
void ns_reject(struct ns_stack *s, const uint8_t *pkt, size_t len, int err);

/* ---- a packet link over a descriptor (link.c) ----
 * One IPv4 packet per read and write of a non-blocking descriptor: a
 * SOCK_SEQPACKET socketpair between the sandbox and its host side, or a
 * TUN device. */
/* The transmit callback for such a link: ctx is a pointer to the fd.  A
 * full queue drops the packet (-ENOBUFS), as a full NIC queue does. */
int ns_link_fd_tx(void *ctx, const uint8_t *pkt, size_t len);
/* Reads the packets waiting on fd (up to a batch) into the stack as
 * arrivals on ifindex: how many, or -errno (-EPIPE when the peer is
 * gone). */
int ns_link_fd_rx(struct ns_stack *s, int ifindex, int fd);
/* Opens the TUN device name (IFF_TUN, no packet information: bare IPv4
 * packets), non-blocking; its fd or -errno.  The caller configures the
 * host's side of it (address, up). */
int ns_tun_open(const char *name);

/* ---- counters (the names of Linux's /proc/net/snmp) ---- */
struct ns_stats {
	uint64_t ip_in_receives, ip_in_hdr_errors, ip_in_addr_errors, ip_in_unknown_protos,
		ip_in_delivers, ip_out_requests, ip_out_no_routes, ip_out_discards,
		ip_reasm_reqds, ip_reasm_oks, ip_reasm_fails, ip_reasm_timeouts, ip_frag_oks,
		ip_frag_creates, ip_frag_fails;
	uint64_t icmp_in_msgs, icmp_in_errors, icmp_in_echos, icmp_in_dest_unreachs,
		icmp_out_msgs, icmp_out_echo_reps, icmp_out_dest_unreachs, icmp_out_rate_limited;
	uint64_t udp_in_datagrams, udp_no_ports, udp_in_errors, udp_out_datagrams,
		udp_rcvbuf_errors, udp_in_csum_errors;
	uint64_t tcp_active_opens, tcp_passive_opens, tcp_attempt_fails, tcp_estab_resets,
		tcp_in_segs, tcp_out_segs, tcp_retrans_segs, tcp_in_errs, tcp_out_rsts,
		tcp_in_csum_errors, tcp_listen_drops, tcp_fast_retrans, tcp_timeouts,
		tcp_ooo_drops, tcp_syncookies_sent, tcp_syncookies_recv,
		tcp_syncookies_failed, tcp_challenge_acks, tcp_acks_rate_limited,
		tcp_time_wait_reaped; /* TIME_WAIT cut short: the table was full */
	uint64_t tcp_mem_bytes; /* what TCP's queues hold now (64 MiB at most) */
	uint64_t backlog_drops;
};
void ns_stats_get(const struct ns_stack *s, struct ns_stats *out);

/* ---- readiness ---- */
enum { NS_POLLIN = 1, NS_POLLOUT = 4, NS_POLLERR = 8, NS_POLLHUP = 16, NS_POLLRDHUP = 32 };
/* Called when an endpoint's readiness may have changed (data came, an
 * error arrived): the owner's wait queue.  Never called re-entrantly
 * from inside the endpoint's own call. */
typedef void (*ns_notify_fn)(void *ctx);

/* ---- UDP ---- */
enum { NS_MSG_PEEK = 1, NS_MSG_DONTROUTE = 2 };
#define NS_UDP_MAX_PAYLOAD 65507

int ns_udp_open(struct ns_stack *s, struct ns_udp **out);
/* Frees the endpoint (its queued datagrams too). */
void ns_udp_close(struct ns_udp *u);
void ns_udp_set_notify(struct ns_udp *u, ns_notify_fn fn, void *ctx);
/* addr 0 is INADDR_ANY; port 0 picks a free ephemeral port.  EINVAL when
 * already bound, EADDRNOTAVAIL for an address the stack does not have,
 * EADDRINUSE for a port taken (unless both set reuse). */
int ns_udp_bind(struct ns_udp *u, uint32_t addr, uint16_t port);
/* Sets the default peer, which sends without an address go to and the
 * only source datagrams are then taken from (binding first, to the
 * route's source address and an ephemeral port, if needed). */
int ns_udp_connect(struct ns_udp *u, uint32_t addr, uint16_t port);
/* Dissolves the association (connect with AF_UNSPEC). */
int ns_udp_disconnect(struct ns_udp *u);
int ns_udp_set_reuse(struct ns_udp *u, bool on);
int ns_udp_set_bufs(struct ns_udp *u, size_t rcvbuf, size_t sndbuf);
/* Sends one datagram to addr:port (to == NULL: the connected peer).
 * Returns the payload length or -errno (EMSGSIZE, EDESTADDRREQ,
 * ENETUNREACH, a pending error such as ECONNREFUSED...). */
struct ns_sockaddr {
	uint32_t addr;
	uint16_t port;
};
ssize_t ns_udp_sendmsg(struct ns_udp *u, const struct iovec *iov, int iovcnt,
		       const struct ns_sockaddr *to, int flags);
/* Receives one datagram into iov: the bytes copied, -EAGAIN when none is
 * queued, or a pending error.  *full gets the datagram's whole length
 * (more than copied: it was truncated); from its source. */
ssize_t ns_udp_recvmsg(struct ns_udp *u, const struct iovec *iov, int iovcnt, int flags,
		       struct ns_sockaddr *from, size_t *full);
/* Takes the pending error (SO_ERROR): 0 or a positive errno. */
int ns_udp_take_error(struct ns_udp *u);
int ns_udp_shutdown(struct ns_udp *u, bool rd, bool wr);
unsigned ns_udp_poll(const struct ns_udp *u);
/* Bytes of the next queued datagram (FIONREAD), 0 when none. */
size_t ns_udp_next_len(const struct ns_udp *u);
int ns_udp_name(const struct ns_udp *u, struct ns_sockaddr *local, struct ns_sockaddr *peer);

/* ---- TCP (RFC 9293) ----
 * Connections with Linux's socket semantics.  A connection the user
 * closes (ns_tcp_close) is the stack's from then on: it finishes its
 * close (FIN, TIME_WAIT) on its own and is freed by the stack. */
enum { NS_TCP_NODELAY = 1, NS_TCP_KEEPALIVE, NS_TCP_KEEPIDLE, NS_TCP_KEEPINTVL,
       NS_TCP_KEEPCNT, NS_TCP_RCVBUF, NS_TCP_SNDBUF, NS_TCP_REUSE, NS_TCP_LINGER0,
       /* Every segment acknowledged at once (a relay: nothing of its own
	* to piggyback the ACK on, and a peer's Nagle waits for it). */
       NS_TCP_QUICKACK };

int ns_tcp_open(struct ns_stack *s, struct ns_tcp **out);
void ns_tcp_set_notify(struct ns_tcp *t, ns_notify_fn fn, void *ctx);
/* As ns_udp_bind (port 0: ephemeral). */
int ns_tcp_bind(struct ns_tcp *t, uint32_t addr, uint16_t port);
/* backlog: completed connections waiting for accept (at least 1). */
int ns_tcp_listen(struct ns_tcp *t, int backlog);
/* A completed connection (-EAGAIN when none waits; -EINVAL if t is not
 * listening). */
int ns_tcp_accept(struct ns_tcp *t, struct ns_tcp **out);
/* Starts the handshake: -EINPROGRESS, then NS_POLLOUT (established) or
 * NS_POLLERR with the error in ns_tcp_take_error (ECONNREFUSED,
 * ETIMEDOUT...).  -EISCONN, -EALREADY, -ENETUNREACH as Linux. */
int ns_tcp_connect(struct ns_tcp *t, uint32_t addr, uint16_t port);
/* Queues bytes to send: how many fit (-EAGAIN when none, or while the
 * handshake runs), -EPIPE when not connected, after shutdown or a reset
 * (the caller raises SIGPIPE), or a pending error. */
ssize_t ns_tcp_send(struct ns_tcp *t, const struct iovec *iov, int iovcnt, int flags);
/* Takes received bytes: the count, 0 at the end of the stream, -EAGAIN
 * when none are there yet, -ENOTCONN, a pending error (ECONNRESET). */
ssize_t ns_tcp_recv(struct ns_tcp *t, const struct iovec *iov, int iovcnt, int flags);
int ns_tcp_shutdown(struct ns_tcp *t, bool rd, bool wr);
void ns_tcp_close(struct ns_tcp *t);
unsigned ns_tcp_poll(const struct ns_tcp *t);
int ns_tcp_take_error(struct ns_tcp *t);
/* A closed connection reports err (positive) to its next call: what a
 * restored sandbox's connections that could not survive say (ECONNRESET). */
void ns_tcp_set_error(struct ns_tcp *t, int err);
int ns_tcp_setopt(struct ns_tcp *t, int opt, int val);
int ns_tcp_getopt(const struct ns_tcp *t, int opt, int *val);
int ns_tcp_name(const struct ns_tcp *t, struct ns_sockaddr *local, struct ns_sockaddr *peer);
/* Bytes waiting to be read (FIONREAD) and to be acknowledged (TIOCOUTQ). */
size_t ns_tcp_readable(const struct ns_tcp *t);
size_t ns_tcp_unsent(const struct ns_tcp *t);

/* What TCP_INFO reports (Linux's names); state is Linux's number
 * (1 ESTABLISHED ... 10 LISTEN, 11 CLOSING). */
struct ns_tcp_info {
	int state;
	uint32_t rto_us, rtt_us, rttvar_us, snd_mss, rcv_mss, snd_cwnd, snd_ssthresh,
		retransmits, snd_wscale, rcv_wscale;
	bool timestamps, wscale;
};
void ns_tcp_info(const struct ns_tcp *t, struct ns_tcp_info *out);

/* ---- what /proc/net lists ---- */
struct ns_conn {
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	int state;        /* Linux's TCP state numbers; UDP: 7 (CLOSE) or 1 (connected) */
	size_t tx_queue, rx_queue;
};
/* Up to max of the stack's TCP connections (listeners included) or UDP
 * endpoints, in out; how many there are in all. */
int ns_tcp_list(const struct ns_stack *s, struct ns_conn *out, int max);
int ns_udp_list(const struct ns_stack *s, struct ns_conn *out, int max);

/* ---- helpers for callers and tests ---- */
/* The Internet checksum (RFC 1071) of buf, folded, complemented. */
uint16_t ns_checksum(const void *buf, size_t len);

#endif
