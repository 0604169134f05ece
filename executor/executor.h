/* executor: the node's side of sandboxes.  So far, the host side of a
 * sandbox's network link: the gateway, and its egress policy. */
#ifndef HUSK_EXECUTOR_H
#define HUSK_EXECUTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A host TCP port on 127.0.0.1 whose connections reach a guest port. */
struct ex_publish {
	uint16_t host_port, guest_port;
};

/* Parses "HOSTPORT:GUESTPORT" (1-65535 each); 0 or -EINVAL. */
int ex_publish_parse(const char *s, struct ex_publish *out);

/* Where a guest may connect through its gateway (--egress): nowhere
 * ("none", the default), anywhere ("all"), or the IPv4 networks listed
 * ("CIDR,..."): each within what is never reachable (ex_egress_allows). */
#define EX_EGRESS_MAX 32
#define EX_NODE_PORTS_MAX 80
#define EX_HOST_ADDRS_MAX 64
struct ex_egress {
	bool all;
	int ncidr;
	struct {
		uint32_t addr, mask; /* host byte order */
	} cidr[EX_EGRESS_MAX];
	/* The node's own ports, and the host's addresses they are never
	 * reached at. */
	int nports, nhost;
	uint16_t node_ports[EX_NODE_PORTS_MAX];
	uint32_t host[EX_HOST_ADDRS_MAX];
};

/* Parses "none", "all" or "CIDR,CIDR,..." (a.b.c.d[/n]); 0, -EINVAL, or
 * -E2BIG past EX_EGRESS_MAX networks. */
int ex_egress_parse(const char *s, struct ex_egress *out);
/* Whether the policy lets anything out. */
bool ex_egress_any(const struct ex_egress *e);
/* Notes a port of the node's (never reachable on the host's addresses). */
int ex_egress_add_node_port(struct ex_egress *e, uint16_t port);
/* Fills in the host's IPv4 addresses (getifaddrs); 0 or -errno. */
int ex_egress_host_addrs(struct ex_egress *e);
/* Whether a guest may reach addr:port (host byte order).  Never: 0/8,
 * 127/8, 169.254/16 (link-local), 224/4 and 240/4 (multicast, reserved,
 * broadcast), the sandbox link's subnet, and the node's ports on the
 * host's addresses; then "all", or one of the networks listed. */
bool ex_egress_allows(const struct ex_egress *e, uint32_t addr, uint16_t port);

/* Starts a sandbox's gateway: listens on each published host port now
 * (so a port in use fails here, -EADDRINUSE), then serves in a child
 * process (*pid) that runs its own netstack at the gateway address on
 * one end of a SOCK_SEQPACKET link and relays each accepted host
 * connection into a netstack connection to the guest's port; the other
 * end is *sandbox_fd, for the sentry (k_config.net_fd).  The guest's own
 * TCP connections and UDP flows to other addresses are terminated there
 * and relayed through host sockets where egress allows (NULL: nowhere),
 * refused with ICMP administratively prohibited where it does not.  The
 * published ports join egress's node ports.  The child ends when the
 * link's other end closes or husk dies. */
int ex_gateway_start(const struct ex_publish *pub, int npub, const struct ex_egress *egress,
		     int *sandbox_fd, pid_t *pid);

#endif
