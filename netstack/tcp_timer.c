/* TCP timers: retransmission (RFC 6298: back off, give up after Linux's
 * retry counts), delayed ACKs, zero-window probes, keepalive, TIME_WAIT
 * and an orphan's FIN_WAIT_2. */
#include "tcp_internal.h"

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

uint64_t ns_tcp_deadline(const struct ns_stack *s)
{
	return s->tcp_deadline;
}

/* The exact next deadline, from every connection's timers. */
static uint64_t exact_deadline(const struct ns_stack *s)
{
	uint64_t d = 0;
	for (const struct ns_tcp *t = s->tcps; t; t = t->next) {
		d = earliest(d, t->t_rexmit);
		d = earliest(d, t->t_delack);
		d = earliest(d, t->t_persist);
		d = earliest(d, t->t_keep);
		d = earliest(d, t->t_wait);
	}
	return d ? d : UINT64_MAX;
}

/* The retransmission timer fired.  Returns false if t is gone. */
static bool rexmit(struct ns_tcp *t)
{
	struct ns_stack *s = t->s;
	t->t_rexmit = 0;
	int limit = t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED ? SYN_RETRIES
									      : DATA_RETRIES;
	if (++t->retries > limit) {
		if (t->state == TCP_SYN_SENT)
			s->st.tcp_attempt_fails++;
		tcp_done(t, t->soft_err ? t->soft_err : ETIMEDOUT);
		return false;
	}
	s->st.tcp_timeouts++;
	t->rto = t->rto * 2 > RTO_MAX_NS ? RTO_MAX_NS : t->rto * 2;
	if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED) {
		tcp_send_syn(t);
		return true;
	}
	/* RFC 5681 3.1: the loss window, and everything after snd_una goes
	 * again (Karn: nothing timed across a retransmission). */
	uint32_t flight = tcp_flight(t);
	t->ssthresh = flight / 2 > 2u * t->mss ? flight / 2 : 2u * t->mss;
	t->cwnd = t->mss;
	t->in_recovery = false;
	t->dupacks = 0;
	t->recover = t->snd_max;
	t->nsacked = 0; /* RFC 6675 5.1: after a timeout, SACK information is suspect */
	t->sacked_bytes = 0;
	t->rtt_start = 0;
	t->snd_nxt = t->snd_una;
	tcp_output(t);
	if (!t->t_rexmit && t->snd_una != t->snd_max)
		tcp_arm_rexmit(t);
	return true;
}

/* A segment the peer must answer with an ACK carrying its window:
 * sequence snd_una - 1, which it has already seen (Linux's probe). */
static void probe(struct ns_tcp *t)
{
	uint32_t saved = t->snd_nxt;
	t->snd_nxt = t->snd_una - 1;
	tcp_send_ack(t);
	t->snd_nxt = saved;
}

void ns_tcp_run_timers(struct ns_stack *s)
{
	uint64_t now = s->now;
	if (now < s->tcp_deadline)
		return; /* (nothing is due: no walk) */
	for (struct ns_tcp *t = s->tcps, *next; t; t = next) {
		next = t->next;
		if (t->t_wait && t->t_wait <= now) {
			t->t_wait = 0;
			tcp_done(t, 0);
			continue;
		}
		if (t->t_rexmit && t->t_rexmit <= now && !rexmit(t))
			continue;
		if (t->t_delack && t->t_delack <= now) {
			t->t_delack = 0;
			tcp_send_ack(t);
		}
		if (t->t_persist && t->t_persist <= now) {
			probe(t);
			if (t->persist_backoff < 10)
				t->persist_backoff++;
			uint64_t wait = t->rto << t->persist_backoff;
			tcp_timer(t, &t->t_persist, now + (wait > RTO_MAX_NS ? RTO_MAX_NS : wait));
		}
		if (t->t_keep && t->t_keep <= now) {
			if (t->ka_probes >= t->ka_cnt) {
				tcp_done(t, ETIMEDOUT);
				continue;
			}
			t->ka_probes++;
			probe(t);
			tcp_timer(t, &t->t_keep, now + (uint64_t)t->ka_intvl * 1000 * MS);
		}
		if (t->notify_due) {
			t->notify_due = false;
			tcp_wake(t);
		}
	}
	s->tcp_deadline = exact_deadline(s);
}
