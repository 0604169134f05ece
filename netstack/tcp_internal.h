/* Internal to netstack/'s TCP (tcp*.c): the connection block. */
#ifndef HUSK_NETSTACK_TCP_INTERNAL_H
#define HUSK_NETSTACK_TCP_INTERNAL_H

#include "internal.h"

enum tcp_state {
	TCP_CLOSED,
	TCP_LISTEN,
	TCP_SYN_SENT,
	TCP_SYN_RECEIVED,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
};

enum { TH_FIN = 1, TH_SYN = 2, TH_RST = 4, TH_PSH = 8, TH_ACK = 16, TH_URG = 32 };

#define TCP_HDR 20
#define MS 1000000ULL
/* Linux's constants: RTO bounds and start, delayed ACK, TIME_WAIT (and
 * an orphan's FIN_WAIT_2: tcp_fin_timeout), retries before giving up
 * (tcp_syn_retries, tcp_retries2), the initial window (RFC 6928). */
#define RTO_MIN_NS (200 * MS)
#define RTO_MAX_NS (120000 * MS)
#define RTO_INIT_NS (1000 * MS)
#define DELACK_NS (40 * MS)
#define TIME_WAIT_NS (60000 * MS)
#define FIN_WAIT2_NS (60000 * MS)
#define SYN_RETRIES 6
#define DATA_RETRIES 15
#define INIT_CWND_SEGS 10
#define DEFAULT_MSS 536
#define OUR_WSCALE 7
#define MAX_WSCALE 14
#define KEEPIDLE_S 7200
#define KEEPINTVL_S 75
#define KEEPCNT 9
/* Connections (of every state) one stack holds, listeners' half-open
 * ones included: past it, new SYNs and connects are refused. */
#define MAX_TCBS 4096
/* SACKed ranges a sender keeps (beyond it, the rest is ignored). */
#define SACK_SCOREBOARD 32

/* A byte ring: the send queue (from snd_una on) or the receive queue.
 * Memory comes as bytes do, up to cap: an idle connection holds little;
 * what the rings of a stack hold together is counted in *mem, and past
 * STACK_RING_MAX a ring does not grow beyond its first page (as Linux's
 * tcp_mem pressure: the sender waits, data that does not fit is dropped
 * and sent again). */
struct ring {
	uint8_t *buf;
	size_t alloc, cap, head, len;
	size_t *mem;
};
#define STACK_RING_MAX (64u << 20)
int ring_init(struct ring *r, size_t cap, size_t *mem);
void ring_free(struct ring *r);
size_t ring_write(struct ring *r, const uint8_t *data, size_t n);
/* Bytes a write could take now (memory of the stack allowing). */
size_t ring_room(const struct ring *r);
/* Copies n bytes starting off bytes into the ring out to dst. */
void ring_peek(const struct ring *r, size_t off, uint8_t *dst, size_t n);
void ring_drop(struct ring *r, size_t n);

/* An out-of-order segment, waiting for the gap before it. */
struct ooo {
	struct ooo *next;
	uint32_t seq;
	uint32_t len;
	bool fin;
	uint8_t data[];
};

struct ns_tcp {
	struct ns_stack *s;
	struct ns_tcp *next, **pprev; /* every connection of the stack */
	/* Connected ones (a remote address and port): in the stack's hash by
	 * their four-tuple.  Listeners: on the stack's list of them. */
	struct ns_tcp *hnext, **hpprev;
	struct ns_tcp *lnext, **lpprev;
	enum tcp_state state;
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	bool bound, reuse, orphan; /* orphan: the user closed it */
	bool foreign; /* transparent: laddr is not the stack's */
	uint32_t syn_tsval;    /* a SYN-ACK's own timestamp (a cookie's options); 0: the clock */
	uint64_t cookies_until; /* a listener: SYN cookies went out; their ACKs count until then */
	uint64_t last_oow_ack;  /* when it last answered a segment it refused */

	/* A listener's queues; a child's listener until accepted. */
	struct ns_tcp *listener;
	struct ns_tcp *aq_head, *aq_tail, *aq_next;
	int aq_len, backlog, syn_len;
	bool in_aq; /* a child: on the accept queue (else half-open) */

	/* Sending (RFC 9293's names). */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	uint8_t snd_wscale;
	uint16_t mss;      /* data bytes per segment, options accounted */
	struct ring sndq;  /* data from snd_una (past the SYN) on */
	bool fin_queued;   /* the user shut the sending side */
	bool fin_out;      /* our FIN went out (at fin_seq) */
	uint32_t fin_seq;

	/* Receiving. */
	uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: the right edge offered */
	uint8_t rcv_wscale;
	struct ring rcvq;
	struct ooo *ooo;
	size_t ooo_bytes;
	bool fin_rcvd;
	int unacked_segs;
	bool ack_now;

	/* Options agreed in the handshake. */
	bool ts_ok, ws_ok, sack_ok;
	uint32_t ts_recent;
	uint16_t peer_mss;

	/* RTT and RTO (RFC 6298), in ns. */
	uint64_t srtt, rttvar, rto;
	bool rtt_seeded;
	uint32_t rtt_seq;   /* timing this sequence (without timestamps) */
	uint64_t rtt_start; /* 0: nothing timed */
	int retries;

	/* Congestion control: NewReno (RFC 5681, 6582), with SACK-based loss
	 * recovery when both ends agreed (RFC 2018, 6675). */
	uint32_t cwnd, ssthresh, recover;
	int dupacks;
	bool in_recovery;
	struct { uint32_t start, end; } sacked[SACK_SCOREBOARD]; /* sorted, apart */
	int nsacked;
	uint32_t sacked_bytes;
	uint32_t rexmit_next;  /* in recovery: holes below it went again */
	uint32_t last_ooo;     /* receiving: the latest out-of-order segment's seq */

	/* Timers: absolute ns, 0 when off. */
	uint64_t t_rexmit, t_delack, t_keep, t_wait, t_persist;
	int persist_backoff;

	/* The user's side. */
	int err;      /* pending, positive */
	int soft_err; /* from ICMP: what a timeout reports (Linux's sk_err_soft) */
	bool shut_rd, nodelay, keepalive, linger0, quickack;
	int ka_idle, ka_intvl, ka_cnt, ka_probes;
	size_t sndbuf, rcvbuf;
	ns_notify_fn notify;
	void *notify_ctx;
	bool notify_due;
};

/* tcp.c */
struct ns_tcp *tcp_new(struct ns_stack *s);
/* The send and receive queues, at the sizes asked for. */
int tcp_alloc_queues(struct ns_tcp *t);
/* A child of a listener is complete: onto its accept queue. */
void tcp_child_ready(struct ns_tcp *c);
/* Frees a connection the user no longer holds (orphan) or never had. */
void tcp_destroy(struct ns_tcp *t);
/* The connection ends: error err (0: none), state CLOSED, timers off;
 * an orphan is freed. */
void tcp_done(struct ns_tcp *t, int err);
/* The stack's hash of connected TCBs: t goes in by its four-tuple (set
 * now; again after a change), out when it is freed. */
void tcp_hash_add(struct ns_tcp *t);
/* The live (not CLOSED) connection with that four-tuple, or NULL. */
struct ns_tcp *tcp_hash_find(const struct ns_stack *s, uint32_t laddr, uint16_t lport,
			     uint32_t raddr, uint16_t rport);

/* Arms one of t's timers (field: &t->t_rexmit, ...) for when (0:
 * stopped), keeping the stack's bound on the next deadline. */
static inline void tcp_timer(struct ns_tcp *t, uint64_t *field, uint64_t when)
{
	*field = when;
	if (when && when < t->s->tcp_deadline)
		t->s->tcp_deadline = when;
}
void tcp_wake(struct ns_tcp *t);
uint32_t tcp_isn(struct ns_stack *s, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp);

/* tcp_out.c */
/* Sends what the windows, Nagle and the state allow, and an ACK if one
 * is due. */
void tcp_output(struct ns_tcp *t);
void tcp_send_ack(struct ns_tcp *t);
void tcp_send_syn(struct ns_tcp *t);
/* Retransmits the first unacknowledged segment (fast retransmit). */
void tcp_retransmit_first(struct ns_tcp *t);
/* RFC 6675's pipe: bytes thought to be in the network. */
uint32_t tcp_pipe(const struct ns_tcp *t);
/* The first un-SACKed hole at or after from, below the highest SACKed
 * byte: its start and length (0: none). */
uint32_t tcp_next_hole(const struct ns_tcp *t, uint32_t from, uint32_t *len);
/* A reset for a segment that has no connection (RFC 9293 3.10.7.1). */
void tcp_send_reset_for(struct ns_stack *s, const uint8_t *ip, const uint8_t *th, size_t len,
			uint32_t seglen);
void tcp_send_reset(struct ns_tcp *t);
uint32_t tcp_rcv_window(const struct ns_tcp *t);
void tcp_arm_rexmit(struct ns_tcp *t);



/* Sequence-space comparisons (RFC 9293: modulo 2^32). */
static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

/* Bytes sent and not yet acknowledged (SYN and FIN count one each). */
static inline uint32_t tcp_flight(const struct ns_tcp *t) { return t->snd_max - t->snd_una; }

#endif
