/* executor: the node's side of sandboxes.  So far, the host side of a
 * sandbox's network link: the gateway. */
#ifndef HUSK_EXECUTOR_H
#define HUSK_EXECUTOR_H

#include <stdint.h>
#include <sys/types.h>

/* A host TCP port on 127.0.0.1 whose connections reach a guest port. */
struct ex_publish {
	uint16_t host_port, guest_port;
};

/* Parses "HOSTPORT:GUESTPORT" (1-65535 each); 0 or -EINVAL. */
int ex_publish_parse(const char *s, struct ex_publish *out);

/* Starts a sandbox's gateway: listens on each published host port now
 * (so a port in use fails here, -EADDRINUSE), then serves in a child
 * process (*pid) that runs its own netstack at the gateway address on
 * one end of a SOCK_SEQPACKET link and relays each accepted host
 * connection into a netstack connection to the guest's port; the other
 * end is *sandbox_fd, for the sentry (k_config.net_fd).  Packets the
 * guest sends anywhere else are refused with ICMP (no egress).  The
 * child ends when the link's other end closes or husk dies. */
int ex_gateway_start(const struct ex_publish *pub, int npub, int *sandbox_fd, pid_t *pid);

#endif
