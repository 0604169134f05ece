/* ICMP (RFC 792, with RFC 1122 and 1812's rules for errors): echo
 * replies, destination unreachable and time exceeded out, and incoming
 * unreachables handed to the transport that sent the quoted datagram. */
#include "internal.h"

enum {
	ICMP_ECHOREPLY = 0,
	ICMP_DEST_UNREACH = 3,
	ICMP_SOURCE_QUENCH = 4,
	ICMP_REDIRECT = 5,
	ICMP_ECHO = 8,
	ICMP_TIME_EXCEEDED = 11,
	ICMP_PARAMETERPROB = 12,
};
#define ICMP_HDR 8
/* An error quotes as much of the datagram as fits in 576 bytes. */
#define ICMP_ERROR_MAX 576

static bool is_error_type(uint8_t type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH || type == ICMP_REDIRECT ||
	       type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
}

/* Linux's icmp_err_convert: the errno a destination unreachable code
 * means to the socket that sent the datagram. */
static int unreach_errno(uint8_t code)
{
	static const int map[16] = {
		ENETUNREACH, EHOSTUNREACH, ENOPROTOOPT, ECONNREFUSED, EMSGSIZE, EOPNOTSUPP,
		ENETUNREACH, EHOSTDOWN, ENONET, ENETUNREACH, EHOSTUNREACH, ENETUNREACH,
		EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH,
	};
	return code < 16 ? map[code] : EHOSTUNREACH;
}

void ns_reject(struct ns_stack *s, const uint8_t *pkt, size_t len, int err)
{
	int hlen = ns_ip_check(pkt, len);
	if (hlen < 0)
		return;
	ns_enter(s);
	const uint8_t *p = pkt + hlen;
	size_t plen = len - (size_t)hlen;
	if (err == ECONNREFUSED && pkt[9] == IPPROTO_TCP_) {
		ns_tcp_reset_for(s, pkt, p, plen);
	} else {
		uint8_t code = err == ECONNREFUSED  ? 3
			       : err == ENETUNREACH ? 0
			       : err == EHOSTUNREACH || err == ETIMEDOUT ? 1
							       : 13 /* administratively prohibited */;
		ns_icmp_error(s, ICMP_DEST_UNREACH, code, pkt, (size_t)hlen, p, plen);
	}
	ns_leave(s);
}

/* The global token bucket of Linux's icmp_global_allow. */
static bool rate_ok(struct ns_stack *s)
{
	uint64_t ms = s->now / 1000000;
	if (ms > s->icmp_refill_at) {
		uint64_t add = (ms - s->icmp_refill_at) * ICMP_RATE_PER_SEC / 1000;
		if (add > ICMP_BURST)
			add = ICMP_BURST;
		s->icmp_tokens += (int)add;
		if (s->icmp_tokens > ICMP_BURST)
			s->icmp_tokens = ICMP_BURST;
		s->icmp_refill_at = ms;
	}
	if (s->icmp_tokens <= 0) {
		s->st.icmp_out_rate_limited++;
		return false;
	}
	s->icmp_tokens--;
	return true;
}

void ns_icmp_error(struct ns_stack *s, uint8_t type, uint8_t code, const uint8_t *hdr,
		   size_t hlen, const uint8_t *payload, size_t len)
{
	uint32_t src = get32(hdr + 12), dst = get32(hdr + 16);
	/* Never about a broadcast, a non-first fragment, a datagram from no
	 * one in particular, or another ICMP error (RFC 1122 3.2.2). */
	if (ns_is_broadcast(s, dst) || (dst >> 28) == 0xe || src == 0 || ns_is_broadcast(s, src) ||
	    (src >> 28) >= 0xe || (get16(hdr + 6) & 0x1fff))
		return;
	if (hdr[9] == IPPROTO_ICMP_ && (len < 1 || is_error_type(payload[0])))
		return;
	if (!rate_ok(s))
		return;
	uint8_t msg[ICMP_ERROR_MAX];
	size_t room = ICMP_ERROR_MAX - IP_HDR_MIN - ICMP_HDR;
	size_t qh = hlen < room ? hlen : room;
	size_t qp = len < room - qh ? len : room - qh;
	msg[0] = type;
	msg[1] = code;
	put16(msg + 2, 0);
	put32(msg + 4, 0);
	memcpy(msg + ICMP_HDR, hdr, qh);
	memcpy(msg + ICMP_HDR + qh, payload, qp);
	put16(msg + 2, ns_checksum(msg, ICMP_HDR + qh + qp));
	struct iovec iov = {msg, ICMP_HDR + qh + qp};
	/* From the address the datagram was for, when it is ours. */
	uint32_t from = ns_is_local(s, dst) ? dst : 0;
	s->st.icmp_out_msgs++;
	if (type == ICMP_DEST_UNREACH)
		s->st.icmp_out_dest_unreachs++;
	ns_ip_output(s, from, src, IPPROTO_ICMP_, &iov, 1, false);
}

static void echo_reply(struct ns_stack *s, const uint8_t *hdr, const uint8_t *msg, size_t len)
{
	uint32_t src = get32(hdr + 12), dst = get32(hdr + 16);
	uint8_t h[ICMP_HDR];
	memcpy(h, msg, ICMP_HDR);
	h[0] = ICMP_ECHOREPLY;
	put16(h + 2, 0);
	uint32_t sum = csum_add(csum_add(0, h, ICMP_HDR), msg + ICMP_HDR, len - ICMP_HDR);
	put16(h + 2, csum_fold(sum));
	struct iovec iov[2] = {{h, ICMP_HDR}, {(void *)(msg + ICMP_HDR), len - ICMP_HDR}};
	s->st.icmp_out_msgs++;
	s->st.icmp_out_echo_reps++;
	ns_ip_output(s, dst, src, IPPROTO_ICMP_, iov, 2, false);
}

void ns_icmp_input(struct ns_stack *s, struct ns_if *in, const uint8_t *hdr, size_t hlen,
		   const uint8_t *msg, size_t len)
{
	(void)in;
	(void)hlen;
	s->st.icmp_in_msgs++;
	if (len < ICMP_HDR || ns_checksum(msg, len) != 0) {
		s->st.icmp_in_errors++;
		return;
	}
	switch (msg[0]) {
	case ICMP_ECHO:
		s->st.icmp_in_echos++;
		/* Linux's icmp_echo_ignore_broadcasts: no smurf amplifier. */
		if (!ns_is_broadcast(s, get32(hdr + 16)))
			echo_reply(s, hdr, msg, len);
		break;
	case ICMP_DEST_UNREACH: {
		s->st.icmp_in_dest_unreachs++;
		/* The quoted header and the first 8 bytes of what it carried. */
		const uint8_t *q = msg + ICMP_HDR;
		size_t qlen = len - ICMP_HDR;
		if (qlen < IP_HDR_MIN || (q[0] >> 4) != 4)
			break;
		size_t qh = (size_t)(q[0] & 15) * 4;
		if (qh < IP_HDR_MIN || qlen < qh + 8)
			break;
		if (q[9] == IPPROTO_UDP_)
			ns_udp_icmp_error(s, get32(q + 12), get16(q + qh), get32(q + 16),
					  get16(q + qh + 2), unreach_errno(msg[1]));
		else if (q[9] == IPPROTO_TCP_)
			ns_tcp_icmp_error(s, get32(q + 12), get16(q + qh), get32(q + 16),
					  get16(q + qh + 2), get32(q + qh + 4), unreach_errno(msg[1]));
		break;
	}
	default:
		break; /* replies to pings we never send, and the rest: ignored */
	}
}
