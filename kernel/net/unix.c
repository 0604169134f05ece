/* Connected AF_UNIX socket pairs (socketpair(2)): two ends, each with a
 * receive queue of messages the other end sends.  SOCK_STREAM reads run
 * across messages; SOCK_DGRAM and SOCK_SEQPACKET read one message a call
 * and drop what does not fit (MSG_TRUNC).  Blocking reads and writes go
 * through the read/write layer (K_EBLOCK), so they sleep and are woken as
 * pipes are.  Named sockets, listen/accept and descriptor passing are
 * still to come (socket(AF_UNIX) answers EAFNOSUPPORT until then). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "net.h"

/* Linux's default SO_SNDBUF for unix sockets (net.core.wmem_default),
 * what each message costs beyond its bytes (as an skb's truesize does),
 * and how many datagrams may wait (net.unix.max_dgram_qlen). */
#define UNIX_BUF 212992
#define MSG_COST 256
#define DGRAM_QLEN 512
/* All queued messages of the sandbox, as the sentry's heap holds them:
 * past this a send fails with ENOBUFS, as under Linux's memory pressure. */
#define SANDBOX_BYTES (256UL << 20)
static size_t queued_bytes;
#define SOCKFS_MAGIC 0x534F434B

struct unix_msg {
	struct unix_msg *next;
	size_t len, off; /* off: what a stream reader took already */
	char data[];
};

struct unix_queue {
	struct unix_msg *head, *tail;
	size_t bytes;   /* charged: payload plus MSG_COST a message */
	int nmsgs;
	int refs;   /* the two ends */
	bool eof;   /* the sender shut down writing, or closed */
	bool nopeer; /* the receiver is gone: sends fail with EPIPE */
};

struct unix_end {
	int type;
	struct unix_queue *rx, *tx;
	bool shut_rd;
};

static void queue_put(struct unix_queue *q)
{
	if (q && --q->refs == 0) {
		while (q->head) {
			struct unix_msg *m = q->head;
			q->head = m->next;
			queued_bytes -= m->len + MSG_COST;
			free(m);
		}
		free(q);
	}
}

static ssize_t unix_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct unix_end *e = f->priv;
	struct unix_queue *q = e->rx;
	if (pos)
		return -ESPIPE;
	if (!q->head)
		return q->eof || e->shut_rd ? 0 : -K_EBLOCK;
	size_t want = iov_total(iov, n), done = 0;
	int i = 0;
	size_t at = 0;
	while (q->head && done < want) {
		struct unix_msg *m = q->head;
		size_t left = m->len - m->off;
		while (left && i < n) {
			size_t room = iov[i].iov_len - at;
			size_t take = left < room ? left : room;
			memcpy((char *)iov[i].iov_base + at, m->data + m->off, take);
			m->off += take, left -= take, at += take, done += take;
			if (at == iov[i].iov_len)
				i++, at = 0;
		}
		/* A datagram is read whole or its rest is dropped. */
		if (e->type != SOCK_STREAM || !left) {
			q->head = m->next;
			if (!q->head)
				q->tail = NULL;
			q->bytes -= m->len + MSG_COST;
			queued_bytes -= m->len + MSG_COST;
			q->nmsgs--;
			free(m);
		}
		if (e->type != SOCK_STREAM)
			break;
	}
	k_file_notify();
	return (ssize_t)done;
}

static ssize_t unix_write(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct unix_end *e = f->priv;
	struct unix_queue *q = e->tx;
	if (pos)
		return -ESPIPE;
	if (q->eof || q->nopeer)
		return -EPIPE;
	size_t len = iov_total(iov, n);
	if (e->type != SOCK_STREAM && len > UNIX_BUF)
		return -EMSGSIZE;
	size_t room = q->bytes + MSG_COST < UNIX_BUF ? UNIX_BUF - q->bytes - MSG_COST : 0;
	if (e->type == SOCK_STREAM ? room == 0 : room < len || q->nmsgs >= DGRAM_QLEN)
		return -K_EBLOCK;
	if (e->type == SOCK_STREAM && len > room)
		len = room;
	if (len == 0 && e->type == SOCK_STREAM)
		return 0;
	if (queued_bytes + len + MSG_COST > SANDBOX_BYTES)
		return -ENOBUFS;
	struct unix_msg *m = malloc(sizeof(*m) + len);
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->len = len;
	m->off = 0;
	size_t done = 0;
	for (int i = 0; i < n && done < len; i++) {
		size_t take = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
		memcpy(m->data + done, iov[i].iov_base, take);
		done += take;
	}
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += len + MSG_COST;
	queued_bytes += len + MSG_COST;
	q->nmsgs++;
	k_file_notify();
	return (ssize_t)len;
}

static short unix_poll(struct k_file *f)
{
	struct unix_end *e = f->priv;
	short mask = 0;
	if (e->rx->head || e->rx->eof || e->shut_rd)
		mask |= POLLIN | POLLRDNORM;
	if (e->rx->eof && (e->tx->eof || e->tx->nopeer))
		mask |= POLLHUP;
	if (e->rx->eof || e->shut_rd)
		mask |= POLLRDHUP;
	/* Writable by buffer space alone (a write to a gone peer fails with
	 * EPIPE then, but poll says nothing of it: Linux's unix_writable). */
	if (e->tx->bytes + MSG_COST < UNIX_BUF && e->tx->nmsgs < DGRAM_QLEN)
		mask |= POLLOUT | POLLWRNORM;
	return mask;
}

static bool unix_at_eof(struct k_file *f)
{
	struct unix_end *e = f->priv;
	return !e->rx->head && (e->rx->eof || e->shut_rd);
}

static int unix_stat(struct k_file *f, struct stat *st)
{
	int r = anon_stat(f, st);
	st->st_mode = S_IFSOCK | 0777;
	st->st_blksize = 4096;
	return r;
}

static void unix_release(struct k_file *f)
{
	struct unix_end *e = f->priv;
	if (!e)
		return;
	e->tx->eof = true;   /* the peer reads EOF */
	e->rx->nopeer = true; /* and its sends fail */
	queue_put(e->rx);
	queue_put(e->tx);
	free(e);
	k_file_notify();
}

static long unix_ioctl(struct k_task *t, struct k_file *f, unsigned cmd, uint64_t arg)
{
	struct unix_end *e = f->priv;
	if (cmd != FIONREAD && cmd != TIOCOUTQ)
		return -ENOTTY;
	int n = 0;
	if (cmd == FIONREAD) {
		for (struct unix_msg *m = e->rx->head; m; m = m->next) {
			n += (int)(m->len - m->off);
			if (e->type != SOCK_STREAM)
				break; /* the next datagram's size */
		}
	} else {
		for (struct unix_msg *m = e->tx->head; m; m = m->next)
			n += (int)(m->len - m->off);
	}
	return k_copy_out(t, arg, &n, sizeof(n));
}

static const struct k_file_ops unix_ops = {
	.read = unix_read,
	.write = unix_write,
	.ioctl = unix_ioctl,
	.stat = unix_stat,
	.seek = anon_seek,
	.at_eof = unix_at_eof,
	.poll = unix_poll,
	.release = unix_release,
	.anon_name = "socket",
};

bool unix_file(const struct k_file *f)
{
	return f->ops == &unix_ops;
}

/* The socket at fd (a new reference), or NULL with *err set. */
static struct k_file *sock_get(struct k_task *t, int fd, long *err)
{
	struct k_file *f = fdt_get(t, fd);
	if (!f) {
		*err = -EBADF;
		return NULL;
	}
	if (f->ops != &unix_ops) {
		file_put(f);
		*err = -ENOTSOCK;
		return NULL;
	}
	return f;
}

long unix_socketpair(struct k_task *t, const uint64_t *a)
{
	int domain = (int)a[0], flags = (int)a[1], proto = (int)a[2];
	int type = flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (domain != AF_UNIX)
		return domain == AF_INET || domain == AF_INET6 ? -EOPNOTSUPP : -EAFNOSUPPORT;
	/* Linux's unix_create: a raw unix socket is a datagram one. */
	if (type == SOCK_RAW)
		type = SOCK_DGRAM;
	if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET)
		return type == SOCK_RDM || type == SOCK_PACKET ? -ESOCKTNOSUPPORT : -EINVAL;
	if (proto != 0 && proto != PF_UNIX)
		return -EPROTONOSUPPORT;
	struct unix_queue *q1 = calloc(1, sizeof(*q1)), *q2 = calloc(1, sizeof(*q2));
	struct unix_end *e1 = calloc(1, sizeof(*e1)), *e2 = calloc(1, sizeof(*e2));
	int fl = O_RDWR | ((flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0);
	struct k_file *f1 = file_new(&unix_ops, fl), *f2 = file_new(&unix_ops, fl);
	if (!q1 || !q2 || !e1 || !e2 || !f1 || !f2) {
		free(q1), free(q2), free(e1), free(e2);
		if (f1)
			f1->ops = NULL, file_put(f1);
		if (f2)
			f2->ops = NULL, file_put(f2);
		return -ENOMEM;
	}
	q1->refs = q2->refs = 2;
	*e1 = (struct unix_end){.type = type, .rx = q1, .tx = q2};
	*e2 = (struct unix_end){.type = type, .rx = q2, .tx = q1};
	f1->priv = e1;
	f2->priv = e2;
	bool cloexec = flags & SOCK_CLOEXEC;
	int fds[2] = {fdt_install(t, f1, 0, cloexec), -1};
	if (fds[0] >= 0)
		fds[1] = fdt_install(t, f2, 0, cloexec);
	file_put(f1);
	file_put(f2);
	long err = fds[0] < 0 ? fds[0] : fds[1] < 0 ? fds[1] : 0;
	if (!err && k_copy_out(t, a[3], fds, sizeof(fds)))
		err = -EFAULT;
	if (err) {
		if (fds[0] >= 0)
			fdt_close(t, fds[0]);
		if (fds[1] >= 0)
			fdt_close(t, fds[1]);
	}
	return err;
}

static int msg_flags(int flags)
{
	return ((flags & MSG_DONTWAIT) ? K_RW_NONBLOCK : 0) |
	       ((flags & MSG_NOSIGNAL) ? K_RW_NOSIGNAL : 0);
}

#define KNOWN_MSG_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_WAITALL | MSG_CMSG_CLOEXEC | MSG_EOR | MSG_MORE)

/* send and receive on iovecs the guest described. */
static long transfer(struct k_task *t, int fd, struct iovec *gv, int n, int flags, bool send)
{
	long err;
	if (flags & (MSG_PEEK | MSG_OOB))
		return flags & MSG_OOB ? -EOPNOTSUPP : -EINVAL; /* not offered yet */
	struct k_file *f = sock_get(t, fd, &err);
	if (!f)
		return err;
	long r = k_file_rw(t, f, gv, n, send, NULL, msg_flags(flags));
	file_put(f);
	return r;
}

long unix_sendto(struct k_task *t, const uint64_t *a)
{
	struct iovec v = {(void *)a[1], a[2]};
	/* A connected pair takes no address: Linux says EISCONN for one. */
	if (a[4]) {
		long err;
		struct k_file *f = sock_get(t, (int)a[0], &err);
		if (!f)
			return err;
		file_put(f);
		return -EISCONN;
	}
	return transfer(t, (int)a[0], &v, 1, (int)a[3], true);
}

long unix_recvfrom(struct k_task *t, const uint64_t *a)
{
	struct iovec v = {(void *)a[1], a[2]};
	long r = transfer(t, (int)a[0], &v, 1, (int)a[3], false);
	/* The peer is unnamed: an address of just the family. */
	if (r >= 0 && a[4] && a[5]) {
		uint32_t len;
		if (k_copy_in(t, &len, a[5], sizeof(len)))
			return -EFAULT;
		sa_family_t fam = AF_UNIX;
		if (len >= sizeof(fam) && k_copy_out(t, a[4], &fam, sizeof(fam)))
			return -EFAULT;
		len = sizeof(fam);
		if (k_copy_out(t, a[5], &len, sizeof(len)))
			return -EFAULT;
	}
	return r;
}

#define MAX_IOV 1024

long unix_msg(struct k_task *t, int fd, uint64_t umsg, int flags, bool send)
{
	struct msghdr mh;
	if (k_copy_in(t, &mh, umsg, sizeof(mh)))
		return -EFAULT;
	if (mh.msg_iovlen > MAX_IOV)
		return -EMSGSIZE;
	if (send && mh.msg_controllen)
		return -EOPNOTSUPP; /* descriptor passing comes with the netstack */
	struct iovec *gv = malloc((mh.msg_iovlen ? mh.msg_iovlen : 1) * sizeof(*gv));
	if (!gv)
		return -ENOMEM;
	long r = 0;
	if (mh.msg_iovlen && k_copy_in(t, gv, (uint64_t)mh.msg_iov, mh.msg_iovlen * sizeof(*gv)))
		r = -EFAULT;
	if (!r)
		r = transfer(t, fd, gv, (int)mh.msg_iovlen, flags, send);
	free(gv);
	if (r >= 0 && !send) {
		/* No control data, no name, no truncation to report. */
		mh.msg_controllen = 0;
		mh.msg_flags = 0;
		if (mh.msg_name && mh.msg_namelen >= sizeof(sa_family_t)) {
			sa_family_t fam = AF_UNIX;
			if (k_copy_out(t, (uint64_t)mh.msg_name, &fam, sizeof(fam)))
				return -EFAULT;
			mh.msg_namelen = sizeof(fam);
		} else {
			mh.msg_namelen = 0;
		}
		if (k_copy_out(t, umsg, &mh, sizeof(mh)))
			return -EFAULT;
	}
	return r;
}


long unix_shutdown(struct k_task *t, const uint64_t *a)
{
	int how = (int)a[1];
	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	struct unix_end *e = f->priv;
	if (how != SHUT_WR)
		e->shut_rd = true;
	if (how != SHUT_RD)
		e->tx->eof = true;
	k_file_notify();
	file_put(f);
	return 0;
}

long unix_name(struct k_task *t, int fd, uint64_t uaddr, uint64_t ulen)
{
	long err;
	struct k_file *f = sock_get(t, fd, &err);
	if (!f)
		return err;
	file_put(f);
	int32_t len;
	if (k_copy_in(t, &len, ulen, sizeof(len)))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	sa_family_t fam = AF_UNIX;
	if (len > 0 && k_copy_out(t, uaddr, &fam, (size_t)len < sizeof(fam) ? (size_t)len : sizeof(fam)))
		return -EFAULT;
	len = sizeof(fam);
	return k_copy_out(t, ulen, &len, sizeof(len));
}


long unix_getsockopt(struct k_task *t, const uint64_t *a)
{
	int level = (int)a[1], opt = (int)a[2];
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	struct unix_end *e = f->priv;
	int type = e->type;
	file_put(f);
	int32_t len;
	if (k_copy_in(t, &len, a[4], sizeof(len)))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if (level != SOL_SOCKET)
		return -EOPNOTSUPP;
	int val;
	switch (opt) {
	case SO_TYPE: val = type; break;
	case SO_DOMAIN: val = AF_UNIX; break;
	case SO_PROTOCOL: val = 0; break;
	case SO_ERROR: val = 0; break;
	case SO_SNDBUF: case SO_RCVBUF: val = UNIX_BUF; break;
	case SO_ACCEPTCONN: case SO_PASSCRED: case SO_KEEPALIVE: val = 0; break;
	default: return -ENOPROTOOPT;
	}
	size_t n = (size_t)len < sizeof(val) ? (size_t)len : sizeof(val);
	if (k_copy_out(t, a[3], &val, n))
		return -EFAULT;
	len = (int32_t)n;
	return k_copy_out(t, a[4], &len, sizeof(len));
}

long unix_setsockopt(struct k_task *t, const uint64_t *a)
{
	int level = (int)a[1];
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	file_put(f);
	if ((int)a[4] < 0)
		return -EINVAL;
	/* Buffer sizes and flags are accepted; the pair's buffer stays. */
	return level == SOL_SOCKET ? 0 : -EOPNOTSUPP;
}
