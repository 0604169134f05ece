/* AF_UNIX names and connections: socket(2), bind (a socket node in the
 * filesystem, made as mknod would and left behind when the socket goes,
 * or an abstract name, or an autobound one), listen, connect (a fresh
 * pair of queues, the server's end waiting on the listener's queue until
 * accept), datagram destinations by name, and the names getsockname and
 * getpeername report.  Names live in a list of the sandbox's bound
 * sockets; a filesystem name is found by its node. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net.h"

#define ERESTARTSYS 512 /* the kernel's: restart under SA_RESTART */
#define BACKLOG_MAX 4096

static struct unix_end *bound; /* every named socket of the sandbox */
static unsigned autobind_next;

static bool same_name(const struct unix_addr *a, const struct unix_addr *b)
{
	return a->len == b->len && !memcmp(a->path, b->path, a->len);
}

/* The bound socket an abstract name (ino NULL) or a node names; an
 * abstract name of another type (type > 0) is not found, as in Linux. */
static struct unix_end *find_bound(const struct unix_addr *a, const struct k_inode *ino, int type)
{
	for (struct unix_end *e = bound; e; e = e->next_bound)
		if (ino ? e->ino == ino
			: !e->ino && same_name(&e->name, a) && (type <= 0 || e->type == type))
			return e;
	return NULL;
}

/* A sockaddr_un from the guest: an abstract name (path[0] == 0, every
 * byte counts), a filesystem path (up to its NUL), or nothing (len 0). */
static long get_addr(struct k_task *t, uint64_t uaddr, int len, struct unix_addr *out)
{
	struct sockaddr_un sa;
	if (len < (int)sizeof(sa_family_t) || (size_t)len > sizeof(sa))
		return -EINVAL;
	memset(&sa, 0, sizeof(sa));
	if (k_copy_in(t, &sa, uaddr, (size_t)len))
		return -EFAULT;
	if (sa.sun_family != AF_UNIX)
		return -EINVAL;
	size_t plen = (size_t)len - offsetof(struct sockaddr_un, sun_path);
	memset(out, 0, sizeof(*out));
	if (plen == 0)
		return 0;
	if (sa.sun_path[0] == 0) {
		out->len = (socklen_t)plen;
		memcpy(out->path, sa.sun_path, plen);
		return 0;
	}
	size_t n = strnlen(sa.sun_path, plen);
	if (n == sizeof(sa.sun_path))
		return -EINVAL; /* no room for the NUL Linux adds */
	memcpy(out->path, sa.sun_path, n);
	out->len = (socklen_t)n + 1;
	return 0;
}

long unix_put_addr(struct k_task *t, uint64_t uaddr, uint64_t ulen, const struct unix_addr *a)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, a->path, a->len);
	return sock_copy_out(t, uaddr, ulen, &sa, offsetof(struct sockaddr_un, sun_path) + a->len,
			     SOCK_OUT_ADDR);
}

/* The node a filesystem name is (referenced), for connect and sendto:
 * a socket node the caller may write to. */
static long lookup_node(struct k_task *t, const struct unix_addr *a, struct k_inode **out)
{
	struct k_path p;
	int err = path_lookup(t, AT_FDCWD, a->path, LOOKUP_FOLLOW, &p);
	if (err)
		return err;
	struct k_inode *ino = p.d->inode;
	if (!S_ISSOCK(ino->mode))
		err = -ECONNREFUSED;
	else
		err = inode_permission(t, ino, MAY_WRITE);
	if (!err)
		*out = inode_get(ino);
	path_put(&p);
	return err;
}

/* The socket a name is, of type (a node's of another type is EPROTOTYPE). */
static struct unix_end *resolve(struct k_task *t, const struct unix_addr *a, int type, long *err)
{
	if (a->path[0] == 0)
		return find_bound(a, NULL, type) ?: (*err = -ECONNREFUSED, NULL);
	struct k_inode *ino;
	if ((*err = lookup_node(t, a, &ino)))
		return NULL;
	struct unix_end *e = find_bound(NULL, ino, 0);
	inode_put(ino);
	if (!e)
		*err = -ECONNREFUSED;
	else if (e->type != type)
		*err = -EPROTOTYPE, e = NULL;
	return e;
}

long unix_socket(struct k_task *t, int type, int proto, int flags)
{
	if (type == SOCK_RAW)
		type = SOCK_DGRAM; /* Linux's unix_create */
	if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET)
		return type == SOCK_RDM || type == SOCK_PACKET ? -ESOCKTNOSUPPORT : -EINVAL;
	if (proto != 0 && proto != PF_UNIX)
		return -EPROTONOSUPPORT;
	struct unix_end *e = unix_end_new(t, type);
	if (e && type == SOCK_DGRAM && !(e->rx = unix_queue_new())) {
		unix_end_free(e);
		e = NULL;
	}
	struct k_file *f = e ? file_new(&unix_ops, O_RDWR | ((flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0))
			     : NULL;
	if (!f) {
		if (e)
			unix_queue_put(e->rx);
		unix_end_free(e);
		return -ENOMEM;
	}
	unix_end_attach(e, f);
	int fd = fdt_install(t, f, 0, flags & SOCK_CLOEXEC);
	file_put(f);
	return fd;
}

static void add_bound(struct unix_end *e)
{
	e->next_bound = bound;
	bound = e;
}

/* Where a node just made at path is, named from the top of the mount tree
 * (path may be relative): a snapshot finds the node again there. */
static char *node_path(struct k_task *t, const char *path)
{
	struct k_path p, top = vfs_abs_root(t->k);
	char buf[K_PATH_MAX];
	if (path_lookup(t, AT_FDCWD, path, 0, &p))
		return NULL;
	int err = top.mnt ? path_name(&top, &p, buf, sizeof(buf)) : -ENOENT;
	path_put(&p);
	return err < 0 ? NULL : strdup(buf);
}

/* ---- checkpoint and restore (unix_ckpt.c) ---- */

const char *unix_bound_node_path(const struct k_inode *ino)
{
	struct unix_end *e = ino ? find_bound(NULL, ino, 0) : NULL;
	return e ? e->node_path : NULL;
}

int unix_rebind(struct k_task *t, struct unix_end *e, const char *path)
{
	if (!e->name.len)
		return 0;
	if (e->name.path[0] == 0 || !path) {
		/* Abstract, or a node that was gone: the name alone. */
		if (e->name.path[0] == 0 && find_bound(&e->name, NULL, 0))
			return -EADDRINUSE;
	} else {
		struct k_inode *ino;
		struct k_path p;
		int err = path_lookup(t, AT_FDCWD, path, 0, &p);
		if (err)
			return 0; /* (the node is gone: unreachable, as it was) */
		ino = p.d->inode;
		if (S_ISSOCK(ino->mode) && !find_bound(NULL, ino, 0)) {
			e->ino = inode_get(ino);
			e->node_path = strdup(path);
		}
		path_put(&p);
	}
	add_bound(e);
	return 0;
}

struct k_inode *unix_node_at(struct k_task *t, const char *path)
{
	struct k_path p;
	if (!path || path_lookup(t, AT_FDCWD, path, 0, &p))
		return NULL;
	struct k_inode *ino = S_ISSOCK(p.d->inode->mode) ? inode_get(p.d->inode) : NULL;
	path_put(&p);
	return ino;
}

long unix_bind(struct k_task *t, struct k_file *f, uint64_t uaddr, int len)
{
	struct unix_end *e = f->priv;
	struct unix_addr a;
	long err = get_addr(t, uaddr, len, &a);
	if (err)
		return err;
	if (e->name.len)
		return -EINVAL; /* named already */
	if (!a.len) {
		/* Autobind: an abstract name of five hex digits, as Linux's. */
		for (unsigned i = 0; i < 0x100000; i++) {
			unsigned n = autobind_next++ & 0xfffff;
			a.path[0] = 0;
			snprintf(a.path + 1, sizeof(a.path) - 1, "%05x", n);
			a.len = 6;
			if (!find_bound(&a, NULL, 0))
				break;
			a.len = 0;
		}
		if (!a.len)
			return -ENOSPC;
	} else if (a.path[0] == 0) {
		if (find_bound(&a, NULL, 0))
			return -EADDRINUSE;
	} else {
		struct k_inode *ino;
		err = vfs_mknod_path(t, a.path, S_IFSOCK | 0777, &ino);
		if (err)
			return err == -EEXIST ? -EADDRINUSE : err;
		e->ino = ino;
		e->node_path = node_path(t, a.path);
	}
	e->name = a;
	add_bound(e);
	return 0;
}

void unix_unbind(struct unix_end *e)
{
	for (struct unix_end **pp = &bound; *pp; pp = &(*pp)->next_bound)
		if (*pp == e) {
			*pp = e->next_bound;
			break;
		}
	if (e->ino)
		inode_put(e->ino);
	if (e->peer_ino)
		inode_put(e->peer_ino);
	e->ino = e->peer_ino = NULL;
	/* Connections nobody accepted: their clients are cut off. */
	while (e->aq_head) {
		struct unix_end *s = e->aq_head;
		e->aq_head = s->aq_next;
		s->tx->eof = true;
		s->rx->nopeer = true;
		unix_queue_put(s->rx);
		unix_queue_put(s->tx);
		unix_end_free(s);
	}
	e->aq_tail = NULL;
	e->aq_len = 0;
}

long unix_listen(struct k_task *t, struct k_file *f, int backlog)
{
	(void)t;
	struct unix_end *e = f->priv;
	if (e->type == SOCK_DGRAM)
		return -EOPNOTSUPP;
	if (!e->name.len || e->tx)
		return -EINVAL; /* Linux: only a bound, unconnected socket listens */
	if (backlog < 0 || backlog > BACKLOG_MAX)
		backlog = BACKLOG_MAX;
	e->backlog = backlog;
	e->listening = true;
	k_file_notify();
	return 0;
}

static long wait_events(struct k_task *t)
{
	struct k_waitq *q = &k_file_events;
	struct k_sleep sl = {.qs = &q, .nq = 1};
	return k_sleep(t, &sl) == -EINTR ? -ERESTARTSYS : 0;
}

long unix_connect(struct k_task *t, struct k_file *f, uint64_t uaddr, int len)
{
	struct unix_end *e = f->priv;
	struct unix_addr a;
	if (e->type == SOCK_DGRAM && len >= (int)sizeof(sa_family_t)) {
		sa_family_t fam;
		if (k_copy_in(t, &fam, uaddr, sizeof(fam)))
			return -EFAULT;
		if (fam == AF_UNSPEC) {
			/* A datagram socket forgets its peer. */
			memset(&e->peer, 0, sizeof(e->peer));
			if (e->peer_ino)
				inode_put(e->peer_ino);
			e->peer_ino = NULL;
			return 0;
		}
	}
	long err = get_addr(t, uaddr, len, &a);
	if (err)
		return err;
	if (!a.len)
		return -EINVAL;
	if (e->type == SOCK_DGRAM) {
		struct unix_end *target = resolve(t, &a, SOCK_DGRAM, &err);
		if (!target)
			return err;
		if (e->peer_ino)
			inode_put(e->peer_ino);
		e->peer = a;
		e->peer_ino = target->ino ? inode_get(target->ino) : NULL;
		return 0;
	}
	if (e->tx)
		return -EISCONN;
	if (e->listening)
		return -EINVAL;
	for (;;) {
		struct unix_end *target = resolve(t, &a, e->type, &err);
		if (!target)
			return err;
		if (!target->listening)
			return -ECONNREFUSED;
		if (target->aq_len > target->backlog) {
			/* A full queue: wait for an accept (or EAGAIN). */
			if (f->flags & O_NONBLOCK)
				return -EAGAIN;
			if ((err = wait_events(t)))
				return err;
			continue; /* the listener may be gone: look again */
		}
		struct unix_queue *q1 = unix_queue_new(), *q2 = unix_queue_new();
		struct unix_end *s = unix_end_new(t, e->type);
		if (!q1 || !q2 || !s) {
			free(q1), free(q2), unix_end_free(s);
			return -ENOMEM;
		}
		q1->refs = q2->refs = 2;
		e->rx = q1, e->tx = q2;
		s->rx = q2, s->tx = q1;
		s->cred = target->cred;
		s->name = target->name;
		s->peer = e->name;
		e->peer = target->name;
		unix_cred_of(t, &s->peer_cred);
		e->peer_cred = target->cred;
		e->has_peer_cred = s->has_peer_cred = true;
		if (target->aq_tail)
			target->aq_tail->aq_next = s;
		else
			target->aq_head = s;
		target->aq_tail = s;
		target->aq_len++;
		k_file_notify();
		return 0;
	}
}

long unix_accept(struct k_task *t, struct k_file *f, uint64_t uaddr, uint64_t ulen, int flags)
{
	struct unix_end *e = f->priv;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (e->type == SOCK_DGRAM)
		return -EOPNOTSUPP;
	if (!e->listening)
		return -EINVAL;
	while (!e->aq_head) {
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		long err = wait_events(t);
		if (err)
			return err;
		if (!e->listening)
			return -EINVAL;
	}
	struct unix_end *s = e->aq_head;
	struct k_file *nf = file_new(&unix_ops, O_RDWR | ((flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0));
	if (!nf)
		return -ENOMEM;
	e->aq_head = s->aq_next;
	if (!e->aq_head)
		e->aq_tail = NULL;
	e->aq_len--;
	s->aq_next = NULL;
	unix_end_attach(s, nf);
	long err = unix_put_addr(t, uaddr, ulen, &s->peer);
	if (err) {
		file_put(nf);
		return err;
	}
	int fd = fdt_install(t, nf, 0, flags & SOCK_CLOEXEC);
	file_put(nf);
	k_file_notify(); /* room on the queue for a waiting connect */
	return fd;
}

/* Linux's unix_may_send: a datagram socket connected to another takes
 * datagrams from that one only. */
static bool may_send(const struct unix_end *from, const struct unix_end *to)
{
	if (!to->peer.len)
		return true;
	if (to->peer_ino)
		return from->ino == to->peer_ino;
	return !from->ino && same_name(&from->name, &to->peer);
}

struct unix_queue *unix_dgram_target(struct k_task *t, struct unix_end *from, uint64_t uaddr,
				     int len, long *err)
{
	struct unix_addr a;
	if ((*err = get_addr(t, uaddr, len, &a)))
		return NULL;
	if (!a.len) {
		*err = -EINVAL;
		return NULL;
	}
	struct unix_end *target = resolve(t, &a, SOCK_DGRAM, err);
	if (!target)
		return NULL;
	if (!target->rx) {
		*err = -ECONNREFUSED;
		return NULL;
	}
	if (!may_send(from, target)) {
		*err = -EPERM;
		return NULL;
	}
	target->rx->refs++;
	return target->rx;
}

struct unix_queue *unix_dgram_peer(struct unix_end *e, long *err)
{
	struct unix_end *target = e->peer_ino ? find_bound(NULL, e->peer_ino, 0)
					       : find_bound(&e->peer, NULL, SOCK_DGRAM);
	if (!target || target->type != SOCK_DGRAM || !target->rx) {
		*err = -ECONNREFUSED;
		return NULL;
	}
	if (!may_send(e, target)) {
		*err = -EPERM;
		return NULL;
	}
	target->rx->refs++;
	return target->rx;
}

long unix_getname(struct k_task *t, struct k_file *f, uint64_t uaddr, uint64_t ulen, bool peer)
{
	struct unix_end *e = f->priv;
	if (peer && !e->tx && !e->peer.len)
		return -ENOTCONN;
	if (!ulen)
		return -EFAULT; /* getsockname's length is not optional */
	return unix_put_addr(t, uaddr, ulen, peer ? &e->peer : &e->name);
}
