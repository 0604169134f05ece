/* Internal to kernel/net/: the two socket families, for socket.c, which
 * holds the socket syscalls and hands each to the family of its fd. */
#ifndef HUSK_KERNEL_NET_H
#define HUSK_KERNEL_NET_H

#include "../sentry.h"

/* socket.c: writes size bytes of v to a guest buffer of *ulen bytes,
 * truncated to it, then *ulen: the whole size for an address (Linux's
 * move_addr_to_user; nothing when ubuf or ulen is NULL), what was
 * copied for an option (getsockopt). */
enum { SOCK_OUT_ADDR, SOCK_OUT_OPT };
/* CLOCK_MONOTONIC in ns, and when a wait of sec+nsec from now ends: a
 * guest's timeout, so a negative one ends at once and a huge one is held
 * to 10^9 s (no overflow), as Linux clamps to MAX_SCHEDULE_TIMEOUT. */
int64_t sock_now_ns(void);
int64_t sock_deadline(int64_t sec, int64_t nsec);
long sock_copy_out(struct k_task *t, uint64_t ubuf, uint64_t ulen, const void *v, size_t size,
		   int kind);

/* unix.c and unix_name.c: AF_UNIX. */
#include <sys/un.h>

/* Linux's default SO_SNDBUF for unix sockets (net.core.wmem_default),
 * what each message costs beyond its bytes (as an skb's truesize does),
 * how many datagrams may wait (net.unix.max_dgram_qlen), and how many
 * descriptors one message may carry (SCM_MAX_FD). */
#define UNIX_BUF 212992
#define MSG_COST 256
#define DGRAM_QLEN 512
#define SCM_MAX_FD 253

struct unix_addr {
	socklen_t len; /* bytes of path used (an abstract name's start with 0); 0: none */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct unix_cred {
	int pid;
	uint32_t uid, gid;
};

struct unix_msg {
	struct unix_msg *next;
	size_t len, off; /* off: what a stream reader took already */
	struct k_file **files; /* SCM_RIGHTS */
	int nfiles;
	struct unix_cred cred;
	struct unix_addr from;
	char data[];
};

struct unix_queue {
	struct unix_msg *head, *tail;
	size_t bytes;   /* charged: payload plus MSG_COST a message */
	int nmsgs;
	int refs;
	bool eof;    /* the sender shut down writing, or closed */
	bool nopeer; /* the receiver is gone: sends fail with EPIPE */
};

struct unix_end {
	int type;
	struct unix_queue *rx, *tx; /* connected: both; a datagram socket: rx from the start */
	bool shut_rd, passcred, listening;
	struct unix_addr name, peer;
	struct k_inode *ino;        /* the socket node its name is (filesystem names) */
	char *node_path;            /* where that node was made, from the top (snapshots) */
	struct k_inode *peer_ino;   /* a datagram socket connected by a filesystem name */
	struct unix_cred cred;      /* its creator's, what SO_PEERCRED shows its peer */
	struct unix_cred peer_cred;
	bool has_peer_cred;
	int backlog, aq_len;        /* listening: connections not yet accepted */
	struct unix_end *aq_head, *aq_tail, *aq_next;
	struct unix_end *next_bound;
	struct unix_end *all_next, **all_prev; /* every end of the sandbox */
	unsigned long file_ino; /* its file's inode number; 0: not yet accepted */
	struct k_file *file;    /* its file (no reference: the file owns the end) */
	int gc_inflight, gc_count; /* unix_gc's marks */
	bool gc_candidate, gc_alive, gc_scanned;
	/* The call in progress (set by unix_msg, read by the file ops). */
	int rflags;
	bool want_control;
	struct unix_queue *send_to;
	struct k_file **send_files;
	int send_nfiles;
	struct unix_cred send_cred;
	bool send_has_cred;
	struct k_file **got_files;
	int got_nfiles;
	bool got_any;
	struct unix_cred got_cred;
	struct unix_addr got_from;
	size_t got_len;
};

extern const struct k_file_ops unix_ops;
struct unix_queue *unix_queue_new(void);
void unix_queue_put(struct unix_queue *q);
struct unix_end *unix_end_new(struct k_task *t, int type);
void unix_end_free(struct unix_end *e);
/* Every end of the sandbox (through all_next), and descriptors in flight. */
struct unix_end *unix_all_ends(void);
int unix_inflight_count(void);
/* Moves q's messages onto *list (q is left empty), and frees such a list
 * (its descriptors dropped). */
void unix_queue_take(struct unix_queue *q, struct unix_msg **list);
void unix_msgs_free(struct unix_msg *list);
/* unix_gc.c: frees sockets only in-flight messages keep alive. */
void unix_gc(void);
/* The end becomes f's (its inode number is what /proc/net/unix shows). */
void unix_end_attach(struct unix_end *e, struct k_file *f);
void unix_cred_of(const struct k_task *t, struct unix_cred *c);
/* Snapshots (unix_ckpt.c): the node path of the socket bound to ino
 * (NULL: none bound); a restored end's name taken again (its node found
 * at path, where it still is); the socket node at path (held), if any. */
const char *unix_bound_node_path(const struct k_inode *ino);
int unix_rebind(struct k_task *t, struct unix_end *e, const char *path);
struct k_inode *unix_node_at(struct k_task *t, const char *path);
/* Whether the sandbox's queues have room for bytes more (messages cost
 * their bytes and MSG_COST); a message at a queue's tail, counted. */
bool unix_room(size_t bytes);
void unix_queue_push(struct unix_queue *q, struct unix_msg *m);
int unix_save(struct k_file *f, struct snap_enc *e, struct ckpt_ctx *c);
/* An end of no task's (a restore's: its credentials are set after). */
struct unix_end *unix_end_alloc(int type);
bool unix_file(const struct k_file *f);
long unix_socketpair(struct k_task *t, const uint64_t *a);
long unix_sendto(struct k_task *t, const uint64_t *a);
long unix_recvfrom(struct k_task *t, const uint64_t *a);
long unix_msg(struct k_task *t, int fd, uint64_t umsg, int flags, bool send);
long unix_shutdown(struct k_task *t, const uint64_t *a);
long unix_getsockopt(struct k_task *t, const uint64_t *a);
long unix_setsockopt(struct k_task *t, const uint64_t *a);
/* unix_name.c */
long unix_socket(struct k_task *t, int type, int proto, int flags);
long unix_bind(struct k_task *t, struct k_file *f, uint64_t uaddr, int len);
long unix_listen(struct k_task *t, struct k_file *f, int backlog);
long unix_accept(struct k_task *t, struct k_file *f, uint64_t uaddr, uint64_t ulen, int flags);
long unix_connect(struct k_task *t, struct k_file *f, uint64_t uaddr, int len);
/* The receive queue of the datagram socket a guest address names, or
 * that e is connected to (a new reference), or NULL with *err (EPERM:
 * that socket is connected to another than the sender, from). */
struct unix_queue *unix_dgram_target(struct k_task *t, struct unix_end *from, uint64_t uaddr,
				     int len, long *err);
struct unix_queue *unix_dgram_peer(struct unix_end *e, long *err);
long unix_getname(struct k_task *t, struct k_file *f, uint64_t uaddr, uint64_t ulen, bool peer);
/* Writes a to the guest as a sockaddr_un (truncated to its buffer). */
long unix_put_addr(struct k_task *t, uint64_t uaddr, uint64_t ulen, const struct unix_addr *a);
/* A closing end gives its name back (and a listener its queue). */
void unix_unbind(struct unix_end *e);

/* netlink.c: AF_NETLINK, NETLINK_ROUTE's questions about interfaces. */
bool netlink_file(const struct k_file *f);
long netlink_socket(struct k_task *t, int type, int proto, int flags);
long netlink_bind(struct k_task *t, struct k_file *f, uint64_t uaddr, int len);
long netlink_getname(struct k_task *t, struct k_file *f, uint64_t uaddr, uint64_t ulen, bool peer);
long netlink_transfer(struct k_task *t, struct k_file *f, struct iovec *gv, int cnt, int flags,
		      bool send, uint64_t uaddr, uint64_t ulen, bool *trunc);

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
