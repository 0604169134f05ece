/* Internal to kernel/net/: the two socket families, for socket.c, which
 * holds the socket syscalls and hands each to the family of its fd. */
#ifndef HUSK_KERNEL_NET_H
#define HUSK_KERNEL_NET_H

#include "../sentry.h"

/* unix.c: socketpair's connected AF_UNIX ends. */
bool unix_file(const struct k_file *f);
long unix_socketpair(struct k_task *t, const uint64_t *a);
long unix_sendto(struct k_task *t, const uint64_t *a);
long unix_recvfrom(struct k_task *t, const uint64_t *a);
long unix_msg(struct k_task *t, int fd, uint64_t umsg, int flags, bool send);
long unix_shutdown(struct k_task *t, const uint64_t *a);
long unix_name(struct k_task *t, int fd, uint64_t uaddr, uint64_t ulen);
long unix_getsockopt(struct k_task *t, const uint64_t *a);
long unix_setsockopt(struct k_task *t, const uint64_t *a);

/* inet.c: AF_INET TCP and UDP over the sandbox's netstack. */
bool inet_file(const struct k_file *f);
long inet_socket(struct k_task *t, int type, int proto, int flags);
long inet_bind(struct k_task *t, struct k_file *f, uint64_t uaddr, int len);
long inet_listen(struct k_task *t, struct k_file *f, int backlog);
long inet_accept(struct k_task *t, struct k_file *f, uint64_t uaddr, uint64_t ulen, int flags);
long inet_connect(struct k_task *t, struct k_file *f, uint64_t uaddr, int len);
long inet_sendmsg(struct k_task *t, struct k_file *f, struct iovec *gv, int n, uint64_t uaddr,
		  int alen, int flags);
/* uaddr, ulen (when given): where a datagram came from; *trunc: it was
 * longer than the buffers (MSG_TRUNC). */
long inet_recvmsg(struct k_task *t, struct k_file *f, struct iovec *gv, int n, int flags,
		  uint64_t uaddr, uint64_t ulen, bool *trunc);
long inet_shutdown(struct k_task *t, struct k_file *f, int how);
long inet_name(struct k_task *t, struct k_file *f, uint64_t uaddr, uint64_t ulen, bool peer);
long inet_getsockopt(struct k_task *t, struct k_file *f, int level, int opt, uint64_t uval,
		     uint64_t ulen);
long inet_setsockopt(struct k_task *t, struct k_file *f, int level, int opt, uint64_t uval,
		     int len);

#endif
