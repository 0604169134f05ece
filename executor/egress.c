/* A sandbox's egress policy: which addresses its guest may reach through
 * the gateway.  Some never are, whatever the operator wrote: the host's
 * loopback and the unspecified network (Linux takes 0.0.0.0 as "this
 * host"), link-local (cloud metadata services live there), multicast and
 * the reserved range with broadcast, the sandbox link's own subnet, and
 * the node's own ports on any of the host's addresses. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernel/kernel.h"
#include "executor.h"

static uint32_t mask_of(int prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* One "a.b.c.d" or "a.b.c.d/n" (host bits are masked off, as iptables
 * does); 0 or -EINVAL. */
static int parse_cidr(const char *s, size_t n, uint32_t *addr, uint32_t *mask)
{
	char buf[32];
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	int prefix = 32;
	char *slash = strchr(buf, '/');
	if (slash) {
		char *end;
		*slash = 0;
		long p = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || p < 0 || p > 32)
			return -EINVAL;
		prefix = (int)p;
	}
	struct in_addr a;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	*mask = mask_of(prefix);
	*addr = ntohl(a.s_addr) & *mask;
	return 0;
}

int ex_egress_parse(const char *s, struct ex_egress *out)
{
	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "none"))
		return 0;
	if (!strcmp(s, "all")) {
		out->all = true;
		return 0;
	}
	for (const char *p = s;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (out->ncidr == EX_EGRESS_MAX)
			return -E2BIG;
		if (parse_cidr(p, n, &out->cidr[out->ncidr].addr, &out->cidr[out->ncidr].mask))
			return -EINVAL;
		out->ncidr++;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

bool ex_egress_any(const struct ex_egress *e)
{
	return e && (e->all || e->ncidr > 0);
}

int ex_egress_add_node_port(struct ex_egress *e, uint16_t port)
{
	for (int i = 0; i < e->nports; i++)
		if (e->node_ports[i] == port)
			return 0;
	if (e->nports == EX_NODE_PORTS_MAX)
		return -E2BIG;
	e->node_ports[e->nports++] = port;
	return 0;
}

int ex_egress_host_addrs(struct ex_egress *e)
{
	struct ifaddrs *ifa;
	if (getifaddrs(&ifa) != 0)
		return -errno;
	e->nhost = 0;
	for (struct ifaddrs *i = ifa; i && e->nhost < EX_HOST_ADDRS_MAX; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET)
			e->host[e->nhost++] =
				ntohl(((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
	freeifaddrs(ifa);
	return 0;
}

static bool in(uint32_t a, uint32_t net, int prefix)
{
	return (a & mask_of(prefix)) == net;
}

bool ex_egress_allows(const struct ex_egress *e, uint32_t addr, uint16_t port)
{
	if (!e || in(addr, 0, 8) || in(addr, 0x7f000000, 8) || in(addr, 0xa9fe0000, 16) ||
	    in(addr, 0xe0000000, 4) || in(addr, 0xf0000000, 4) ||
	    in(addr, K_NET_GATEWAY & mask_of(K_NET_PREFIX), K_NET_PREFIX))
		return false;
	for (int h = 0; h < e->nhost; h++)
		if (e->host[h] == addr)
			for (int i = 0; i < e->nports; i++)
				if (e->node_ports[i] == port)
					return false;
	if (e->all)
		return true;
	for (int i = 0; i < e->ncidr; i++)
		if ((addr & e->cidr[i].mask) == e->cidr[i].addr)
			return true;
	return false;
}
