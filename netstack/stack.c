/* The stack object: interfaces, the clock and timers, the backlog of
 * packets the stack sends itself, and its counters. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "internal.h"

struct ns_stack *ns_stack_new(void)
{
	struct ns_stack *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->backlog_tail = &s->backlog;
	if (!(s->thash = calloc(TCB_HASH, sizeof(*s->thash)))) {
		free(s);
		return NULL;
	}
	s->next_port = EPHEMERAL_LO;
	s->tcp_deadline = UINT64_MAX;
	s->icmp_tokens = ICMP_BURST;
	/* RFC 6528: initial sequence numbers keyed by a secret. */
	if (getrandom(&s->isn_secret, sizeof(s->isn_secret), 0) != sizeof(s->isn_secret))
		s->isn_secret = (uint64_t)(uintptr_t)s * 0x9e3779b97f4a7c15ULL;
	return s;
}

void ns_stack_free(struct ns_stack *s)
{
	if (!s)
		return;
	while (s->backlog) {
		struct ns_pkt *p = s->backlog;
		s->backlog = p->next;
		free(p);
	}
	ns_reasm_free(s);
	ns_udp_free_all(s);
	ns_tcp_free_all(s);
	free(s->thash);
	free(s);
}

void ns_set_time(struct ns_stack *s, uint64_t now_ns)
{
	if (now_ns > s->now)
		s->now = now_ns;
}

uint64_t ns_next_deadline(const struct ns_stack *s)
{
	uint64_t r = ns_reasm_deadline(s), t = ns_tcp_deadline(s);
	return r < t ? r : t;
}

void ns_run_timers(struct ns_stack *s, uint64_t now_ns)
{
	ns_enter(s);
	ns_set_time(s, now_ns);
	ns_reasm_expire(s);
	ns_tcp_run_timers(s);
	ns_leave(s);
}

void ns_enter(struct ns_stack *s)
{
	s->depth++;
}

void ns_leave(struct ns_stack *s)
{
	if (s->depth > 1) {
		s->depth--;
		return;
	}
	/* Still "inside" while the backlog runs: what it sends queues up
	 * behind it instead of recursing. */
	while (s->backlog) {
		struct ns_pkt *p = s->backlog;
		s->backlog = p->next;
		if (!s->backlog)
			s->backlog_tail = &s->backlog;
		s->backlog_len--;
		ns_input(s, p->ifindex, p->data, p->len);
		free(p);
	}
	s->depth--;
}

static int add_if(struct ns_stack *s, const char *name, uint32_t addr, int prefix, int mtu,
		  bool loopback, ns_tx_fn tx, void *ctx)
{
	if (s->nifs == NS_MAX_IFS)
		return -ENOSPC;
	if (!name || !*name || strlen(name) >= NS_IFNAME_MAX || prefix < 0 || prefix > 32 ||
	    mtu < 576 || mtu > LOOPBACK_MTU || (!loopback && !tx))
		return -EINVAL;
	for (int i = 0; i < s->nifs; i++)
		if (!strcmp(s->ifs[i].name, name))
			return -EEXIST;
	struct ns_if *f = &s->ifs[s->nifs];
	memset(f, 0, sizeof(*f));
	f->index = s->nifs + 1;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->addr = addr;
	f->prefix = prefix;
	f->mtu = mtu;
	f->loopback = loopback;
	f->tx = tx;
	f->ctx = ctx;
	s->nifs++;
	return f->index;
}

int ns_if_add_loopback(struct ns_stack *s)
{
	return add_if(s, "lo", 0x7f000001, 8, LOOPBACK_MTU, true, NULL, NULL);
}

int ns_if_add(struct ns_stack *s, const char *name, uint32_t addr, int prefix, int mtu,
	      ns_tx_fn tx, void *ctx)
{
	if ((addr >> 24) == 127 || addr == 0)
		return -EINVAL;
	return add_if(s, name, addr, prefix, mtu, false, tx, ctx);
}

int ns_route_default(struct ns_stack *s, int ifindex)
{
	struct ns_if *f = ns_if_get(s, ifindex);
	if (!f || f->loopback)
		return -ENODEV;
	s->default_if = ifindex;
	return 0;
}

struct ns_if *ns_if_get(struct ns_stack *s, int ifindex)
{
	if (ifindex < 1 || ifindex > s->nifs)
		return NULL;
	return &s->ifs[ifindex - 1];
}

int ns_if_info(const struct ns_stack *s, int i, struct ns_ifinfo *out)
{
	if (i < 0 || i >= s->nifs)
		return -ENODEV;
	const struct ns_if *f = &s->ifs[i];
	*out = (struct ns_ifinfo){
		.index = f->index, .addr = f->addr, .prefix = f->prefix, .mtu = f->mtu,
		.loopback = f->loopback, .rx_packets = f->rx_packets, .rx_bytes = f->rx_bytes,
		.tx_packets = f->tx_packets, .tx_bytes = f->tx_bytes,
		.rx_dropped = f->rx_dropped, .tx_dropped = f->tx_dropped,
	};
	memcpy(out->name, f->name, sizeof(out->name));
	return s->nifs;
}

int ns_pick_port(struct ns_stack *s, int proto, uint32_t addr)
{
	int span = EPHEMERAL_HI - EPHEMERAL_LO + 1;
	for (int i = 0; i < span; i++) {
		uint16_t p = s->next_port;
		s->next_port = p == EPHEMERAL_HI ? EPHEMERAL_LO : (uint16_t)(p + 1);
		if (!(proto == IPPROTO_UDP_ ? ns_udp_holds : ns_tcp_holds)(s, addr, p))
			return p;
	}
	return -EADDRNOTAVAIL; /* Linux's answer when the range is used up */
}

void ns_stats_get(const struct ns_stack *s, struct ns_stats *out)
{
	*out = s->st;
	out->tcp_mem_bytes = s->ring_mem;
}
