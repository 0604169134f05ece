/* Internal to netstack/: the stack's state and the layers' entry points. */
#ifndef HUSK_NETSTACK_INTERNAL_H
#define HUSK_NETSTACK_INTERNAL_H

#include <errno.h>
#include <string.h>

#include "netstack.h"

enum { IPPROTO_ICMP_ = 1, IPPROTO_TCP_ = 6, IPPROTO_UDP_ = 17 };

#define IP_HDR_MIN 20
#define IP_MAX_LEN 65535
#define DEFAULT_TTL 64
#define LOOPBACK_MTU 65536
/* Linux's netdev_max_backlog: packets waiting for the stack itself. */
#define BACKLOG_MAX 1000
/* Linux's ipfrag_time and a memory bound in the spirit of
 * ipfrag_high_thresh (4 MiB there; one sandbox needs far less). */
#define REASM_TIMEOUT_NS (30ULL * 1000000000ULL)
#define REASM_MAX_BYTES (1024 * 1024)
#define REASM_MAX_QUEUES 64
/* Linux's rmem_default and wmem_default. */
#define DEFAULT_RCVBUF 212992
#define DEFAULT_SNDBUF 212992
/* Linux's ip_local_port_range. */
#define TCB_HASH 1024 /* buckets of a stack's hash of connections */
#define EPHEMERAL_LO 32768
#define EPHEMERAL_HI 60999
/* Linux's icmp_msgs_per_sec and icmp_msgs_burst. */
#define ICMP_RATE_PER_SEC 1000
#define ICMP_BURST 50

struct ns_if {
	int index;
	char name[NS_IFNAME_MAX];
	uint32_t addr;
	int prefix;
	int mtu;
	bool loopback;
	ns_tx_fn tx;
	void *ctx;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, rx_dropped, tx_dropped;
};

/* A packet waiting for the stack (loopback, or to its own address). */
struct ns_pkt {
	struct ns_pkt *next;
	int ifindex;
	size_t len;
	uint8_t data[];
};

struct reasm;

struct ns_stack {
	struct ns_if ifs[NS_MAX_IFS];
	int nifs;
	int default_if; /* index, 0: none */
	uint64_t now;
	uint16_t ip_id;
	int depth; /* calls into the stack in progress: the backlog runs at 0 */
	struct ns_pkt *backlog, **backlog_tail;
	int backlog_len;
	struct reasm *reasm;
	size_t reasm_bytes;
	int reasm_queues;
	struct ns_udp *udps;
	struct ns_tcp *tcps;
	int ntcbs;
	struct ns_tcp **thash;     /* TCB_HASH buckets */
	struct ns_tcp *listeners;
	/* No TCP timer is due before this (a bound: a timer stopped since
	 * may leave it early; ns_tcp_run_timers makes it exact).  Found by
	 * a walk of every connection only when it passes, not at each look
	 * at the next deadline: thousands in TIME_WAIT cost that walk. */
	uint64_t tcp_deadline;
	size_t ring_mem; /* what TCP's queues hold (tcp_internal.h's rings) */
	uint64_t isn_secret;
	uint64_t challenge_sec; /* RFC 5961's challenge ACKs: this second's budget */
	int challenge_budget;
	uint16_t next_port;
	int nforeign; /* transparent endpoints (ns_*_accept*) */
	ns_forward_fn forward;
	void *forward_ctx;
	uint64_t icmp_refill_at;
	int icmp_tokens;
	struct ns_stats st;
};

/* Calls from outside bracket their work: the backlog (and notifications
 * it causes) runs when the outermost returns. */
void ns_enter(struct ns_stack *s);
void ns_leave(struct ns_stack *s);

/* Byte order: the wire is big-endian. */
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* checksum.c: a running ones'-complement sum, folded at the end. */
uint32_t csum_add(uint32_t sum, const void *buf, size_t len);
uint16_t csum_fold(uint32_t sum);
/* The TCP/UDP pseudo-header's part of the sum. */
uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len);

/* ipv4.c */
struct ns_if *ns_if_get(struct ns_stack *s, int ifindex);
bool ns_is_local(const struct ns_stack *s, uint32_t addr);
bool ns_is_broadcast(const struct ns_stack *s, uint32_t addr);
/* The interface a packet to dst leaves by (NULL: no route), and the
 * source address to use from it. */
struct ns_if *ns_route(struct ns_stack *s, uint32_t dst, uint32_t *src);
/* Sends a transport payload (the gather list) from src (0: the route's)
 * to dst, fragmenting where the interface needs it (unless df). */
int ns_ip_output(struct ns_stack *s, uint32_t src, uint32_t dst, uint8_t proto,
		 const struct iovec *iov, int iovcnt, bool df);
/* Checks pkt is one whole IPv4 datagram (a forward hook's): its header
 * length, or -EINVAL. */
int ns_ip_check(const uint8_t *pkt, size_t len);
/* A whole datagram, after reassembly: header hdr (hlen bytes), payload. */
void ns_ip_deliver(struct ns_stack *s, struct ns_if *in, const uint8_t *hdr, size_t hlen,
		   const uint8_t *payload, size_t len);

/* reasm.c: a fragment; calls ns_ip_deliver when it completes one. */
void ns_reasm_input(struct ns_stack *s, struct ns_if *in, const uint8_t *pkt, size_t hlen,
		    size_t total);
void ns_reasm_expire(struct ns_stack *s);
uint64_t ns_reasm_deadline(const struct ns_stack *s);
void ns_reasm_free(struct ns_stack *s);

/* icmp.c */
void ns_icmp_input(struct ns_stack *s, struct ns_if *in, const uint8_t *hdr, size_t hlen,
		   const uint8_t *msg, size_t len);
/* An error about the datagram hdr+payload (only its start is quoted). */
void ns_icmp_error(struct ns_stack *s, uint8_t type, uint8_t code, const uint8_t *hdr,
		   size_t hlen, const uint8_t *payload, size_t len);

/* udp.c */
void ns_udp_input(struct ns_stack *s, struct ns_if *in, const uint8_t *hdr, size_t hlen,
		  const uint8_t *seg, size_t len);
/* An ICMP error quoting a datagram we sent from lport to raddr:rport. */
void ns_udp_icmp_error(struct ns_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		       uint16_t rport, int err);
void ns_udp_free_all(struct ns_stack *s);
/* Whether a transparent endpoint holds that flow to a foreign address. */
bool ns_udp_foreign_owns(const struct ns_stack *s, uint32_t src, uint16_t sport, uint32_t dst,
			 uint16_t dport);
bool ns_tcp_foreign_owns(const struct ns_stack *s, uint32_t src, uint16_t sport, uint32_t dst,
			 uint16_t dport);
/* An ephemeral port no endpoint of proto (17 or 6) holds on addr. */
int ns_pick_port(struct ns_stack *s, int proto, uint32_t addr);
/* Whether an endpoint of that protocol is bound to port on addr (or on
 * any address, or addr is any). */
bool ns_udp_holds(const struct ns_stack *s, uint32_t addr, uint16_t port);
bool ns_tcp_holds(const struct ns_stack *s, uint32_t addr, uint16_t port);

/* tcp*.c */
void ns_tcp_input(struct ns_stack *s, struct ns_if *in, const uint8_t *hdr, size_t hlen,
		  const uint8_t *seg, size_t len);
void ns_tcp_icmp_error(struct ns_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		       uint16_t rport, uint32_t seq, int err);
uint64_t ns_tcp_deadline(const struct ns_stack *s);
void ns_tcp_run_timers(struct ns_stack *s);
/* Answers a TCP segment (th, len bytes, in datagram ip) with a reset, as
 * for a port nothing listens on; checks it first. */
void ns_tcp_reset_for(struct ns_stack *s, const uint8_t *ip, const uint8_t *th, size_t len);
void ns_tcp_free_all(struct ns_stack *s);

#endif
