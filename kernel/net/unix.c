/* AF_UNIX sockets: socketpair's connected ends, and sockets of socket(2)
 * named in the filesystem (a socket node bind makes) or in the abstract
 * namespace, with listen/accept/connect for SOCK_STREAM and SOCK_SEQPACKET
 * and addressed datagrams for SOCK_DGRAM (unix_name.c).  A connected end
 * reads the queue of messages its peer sends.  SOCK_STREAM reads run
 * across messages (but never past one carrying descriptors); SOCK_DGRAM
 * and SOCK_SEQPACKET read one message a call and drop what does not fit
 * (MSG_TRUNC).  Messages carry descriptors (SCM_RIGHTS: references to the
 * sender's files, installed in the receiver's table by recvmsg; a plain
 * read drops them) and the sender's credentials (SCM_CREDENTIALS, for a
 * receiver with SO_PASSCRED).  Blocking reads and writes go through the
 * read/write layer (K_EBLOCK), so they sleep and are woken as pipes are. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "net.h"

/* All queued messages of the sandbox, as the sentry's heap holds them:
 * past this a send fails with ENOBUFS, as under Linux's memory pressure;
 * and descriptors in flight (Linux bounds them by RLIMIT_NOFILE): past
 * this, ETOOMANYREFS. */
#define ERESTARTSYS 512 /* the kernel's: restart under SA_RESTART */
#define SANDBOX_BYTES (256UL << 20)
#define SANDBOX_INFLIGHT 4096
static size_t queued_bytes;
static int inflight;

static void put_files(struct k_file **files, int n)
{
	for (int i = 0; i < n; i++)
		file_put(files[i]);
	free(files);
}

static void msg_free(struct unix_msg *m)
{
	inflight -= m->nfiles;
	put_files(m->files, m->nfiles);
	free(m);
}

struct unix_queue *unix_queue_new(void)
{
	struct unix_queue *q = calloc(1, sizeof(*q));
	if (q)
		q->refs = 1;
	return q;
}

void unix_queue_put(struct unix_queue *q)
{
	if (q && --q->refs == 0) {
		while (q->head) {
			struct unix_msg *m = q->head;
			q->head = m->next;
			queued_bytes -= m->len + MSG_COST;
			msg_free(m);
		}
		free(q);
	}
}

void unix_cred_of(const struct k_task *t, struct unix_cred *c)
{
	*c = (struct unix_cred){t->tg->pid, t->tg->euid, t->tg->egid};
}

static struct unix_end *all_ends;

struct unix_end *unix_end_new(struct k_task *t, int type)
{
	struct unix_end *e = unix_end_alloc(type);
	if (e)
		unix_cred_of(t, &e->cred);
	return e;
}

struct unix_end *unix_end_alloc(int type)
{
	struct unix_end *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->type = type;
	e->all_next = all_ends;
	if (all_ends)
		all_ends->all_prev = &e->all_next;
	e->all_prev = &all_ends;
	all_ends = e;
	return e;
}

void unix_end_free(struct unix_end *e)
{
	if (!e)
		return;
	free(e->node_path);
	*e->all_prev = e->all_next;
	if (e->all_next)
		e->all_next->all_prev = e->all_prev;
	free(e);
}

void unix_end_attach(struct unix_end *e, struct k_file *f)
{
	f->priv = e;
	e->file = f;
	e->file_ino = f->ino;
}

struct unix_end *unix_all_ends(void)
{
	return all_ends;
}

int unix_inflight_count(void)
{
	return inflight;
}

bool unix_room(size_t bytes)
{
	return bytes <= SANDBOX_BYTES - queued_bytes;
}

void unix_queue_push(struct unix_queue *q, struct unix_msg *m)
{
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += m->len + MSG_COST;
	queued_bytes += m->len + MSG_COST;
	q->nmsgs++;
}

void unix_queue_take(struct unix_queue *q, struct unix_msg **list)
{
	if (!q)
		return;
	while (q->head) {
		struct unix_msg *m = q->head;
		q->head = m->next;
		q->bytes -= m->len + MSG_COST;
		queued_bytes -= m->len + MSG_COST;
		q->nmsgs--;
		m->next = *list;
		*list = m;
	}
	q->tail = NULL;
}

void unix_msgs_free(struct unix_msg *list)
{
	while (list) {
		struct unix_msg *m = list;
		list = m->next;
		msg_free(m);
	}
}

int k_unix_list(struct k_unix_info *out, int max)
{
	int n = 0;
	for (const struct unix_end *e = all_ends; e; e = e->all_next, n++) {
		if (n >= max)
			continue;
		struct k_unix_info *i = &out[n];
		i->type = e->type;
		i->listening = e->listening;
		i->ino = e->file_ino;
		/* Linux's socket states: an accepted-to-be end has no socket
		 * yet (connecting); the rest are connected or not. */
		bool connected = e->type == SOCK_DGRAM ? e->peer.len || e->peer_ino : e->tx != NULL;
		i->state = !e->file_ino ? 2 : connected ? 3 : 1;
		i->path_len = e->name.len;
		memcpy(i->path, e->name.path, e->name.len);
	}
	return n;
}

static void drop_head(struct unix_queue *q)
{
	struct unix_msg *m = q->head;
	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= m->len + MSG_COST;
	queued_bytes -= m->len + MSG_COST;
	q->nmsgs--;
	msg_free(m);
}

static ssize_t unix_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct unix_end *e = f->priv;
	struct unix_queue *q = e->rx;
	if (pos)
		return -ESPIPE;
	if (!q)
		return e->listening ? -ENOTCONN : -EINVAL; /* a stream never connected */
	if (!q->head)
		return q->eof || e->shut_rd ? 0 : -K_EBLOCK;
	bool peek = e->rflags & MSG_PEEK;
	size_t want = iov_total(iov, n), done = 0, at = 0;
	int i = 0;
	struct unix_msg *m = q->head;
	/* A message read into no buffer is taken all the same (not a stream). */
	while (m && (done < want || (!want && e->type != SOCK_STREAM))) {
		/* A read never takes two messages' descriptors. */
		if (done && m->nfiles)
			break;
		size_t off = peek && m != q->head ? 0 : m->off;
		size_t left = m->len - off;
		while (left && i < n) {
			size_t room = iov[i].iov_len - at;
			size_t take = left < room ? left : room;
			memcpy((char *)iov[i].iov_base + at, m->data + off, take);
			off += take, left -= take, at += take, done += take;
			if (at == iov[i].iov_len)
				i++, at = 0;
		}
		if (!e->got_any) {
			/* The first message read names the sender and brings
			 * its descriptors (a peek leaves them queued). */
			e->got_any = true;
			e->got_cred = m->cred;
			e->got_from = m->from;
			if (!peek && m->nfiles) {
				e->got_files = m->files;
				e->got_nfiles = m->nfiles;
				inflight -= m->nfiles;
				m->files = NULL;
				m->nfiles = 0;
			}
		}
		if (e->type != SOCK_STREAM) {
			e->got_len = m->len;
			if (!peek)
				drop_head(q);
			break;
		}
		if (peek) {
			m = m->next;
			continue;
		}
		m->off = off;
		if (left)
			break;
		drop_head(q);
		m = q->head;
		if (e->got_nfiles)
			break;
	}
	if (e->got_nfiles && !e->want_control) {
		/* read(2) has nowhere to put descriptors: they are closed. */
		put_files(e->got_files, e->got_nfiles);
		e->got_files = NULL;
		e->got_nfiles = 0;
	}
	if (!peek)
		k_file_notify();
	return (ssize_t)done;
}

static ssize_t unix_write(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct unix_end *e = f->priv;
	struct unix_queue *q = e->send_to ? e->send_to : e->tx;
	if (pos)
		return -ESPIPE;
	if (!q)
		return -ENOTCONN;
	if (q->eof)
		return -EPIPE;
	if (q->nopeer)
		return e->type == SOCK_DGRAM ? -ECONNREFUSED : -EPIPE;
	size_t len = iov_total(iov, n);
	if (e->type != SOCK_STREAM && len > UNIX_BUF)
		return -EMSGSIZE;
	size_t room = q->bytes + MSG_COST < UNIX_BUF ? UNIX_BUF - q->bytes - MSG_COST : 0;
	if (e->type == SOCK_STREAM ? room == 0 : room < len || q->nmsgs >= DGRAM_QLEN)
		return -K_EBLOCK;
	if (e->type == SOCK_STREAM && len > room)
		len = room;
	if (len == 0 && e->type == SOCK_STREAM && !e->send_nfiles)
		return 0;
	if (!unix_room(len + MSG_COST))
		return -ENOBUFS;
	struct unix_msg *m = calloc(1, sizeof(*m) + len);
	if (!m)
		return -ENOMEM;
	m->len = len;
	size_t done = 0;
	for (int i = 0; i < n && done < len; i++) {
		size_t take = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
		memcpy(m->data + done, iov[i].iov_base, take);
		done += take;
	}
	m->cred = e->send_has_cred ? e->send_cred : e->cred;
	m->from = e->name;
	if (e->send_nfiles) {
		/* The descriptors go with the first message of the call. */
		m->files = e->send_files;
		m->nfiles = e->send_nfiles;
		inflight += m->nfiles;
		e->send_files = NULL;
		e->send_nfiles = 0;
	}
	unix_queue_push(q, m);
	k_file_notify();
	return (ssize_t)len;
}

static short unix_poll(struct k_file *f)
{
	struct unix_end *e = f->priv;
	short mask = 0;
	if (e->listening)
		return e->aq_head ? POLLIN | POLLRDNORM : 0;
	if (!e->rx || (!e->tx && e->type != SOCK_DGRAM))
		return POLLOUT | POLLWRNORM | POLLHUP; /* a stream not connected (Linux) */
	if (e->rx->head || e->rx->eof || e->shut_rd)
		mask |= POLLIN | POLLRDNORM;
	if (e->tx && e->rx->eof && (e->tx->eof || e->tx->nopeer))
		mask |= POLLHUP;
	if (e->rx->eof || e->shut_rd)
		mask |= POLLRDHUP;
	/* Writable by buffer space alone (a write to a gone peer fails with
	 * EPIPE then, but poll says nothing of it: Linux's unix_writable). */
	if (!e->tx || (e->tx->bytes + MSG_COST < UNIX_BUF && e->tx->nmsgs < DGRAM_QLEN))
		mask |= POLLOUT | POLLWRNORM;
	return mask;
}

static bool unix_at_eof(struct k_file *f)
{
	struct unix_end *e = f->priv;
	return e->rx && !e->rx->head && (e->rx->eof || e->shut_rd);
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
	unix_unbind(e);
	if (e->tx)
		e->tx->eof = true; /* the peer reads EOF */
	if (e->rx)
		e->rx->nopeer = true; /* and its sends fail */
	unix_queue_put(e->rx);
	unix_queue_put(e->tx);
	unix_end_free(e);
	k_file_notify();
	unix_gc(); /* a closed socket may leave a cycle in flight */
}

static long unix_ioctl(struct k_task *t, struct k_file *f, unsigned cmd, uint64_t arg)
{
	struct unix_end *e = f->priv;
	if (cmd != FIONREAD && cmd != TIOCOUTQ)
		return -ENOTTY;
	if (e->listening)
		return -EINVAL;
	int n = 0;
	if (cmd == FIONREAD && e->rx) {
		for (struct unix_msg *m = e->rx->head; m; m = m->next) {
			n += (int)(m->len - m->off);
			if (e->type != SOCK_STREAM)
				break; /* the next datagram's size */
		}
	} else if (cmd == TIOCOUTQ && e->tx) {
		for (struct unix_msg *m = e->tx->head; m; m = m->next)
			n += (int)(m->len - m->off);
	}
	return k_copy_out(t, arg, &n, sizeof(n));
}

const struct k_file_ops unix_ops = {
	.ckpt_kind = CKF_UNIX,
	.save = unix_save,
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
	struct unix_queue *q1 = unix_queue_new(), *q2 = unix_queue_new();
	struct unix_end *e1 = unix_end_new(t, type), *e2 = unix_end_new(t, type);
	int fl = O_RDWR | ((flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0);
	struct k_file *f1 = file_new(&unix_ops, fl), *f2 = file_new(&unix_ops, fl);
	if (!q1 || !q2 || !e1 || !e2 || !f1 || !f2) {
		free(q1), free(q2), unix_end_free(e1), unix_end_free(e2);
		if (f1)
			f1->ops = NULL, file_put(f1);
		if (f2)
			f2->ops = NULL, file_put(f2);
		return -ENOMEM;
	}
	q1->refs = q2->refs = 2;
	e1->rx = q1, e1->tx = q2;
	e2->rx = q2, e2->tx = q1;
	e1->peer_cred = e2->cred, e2->peer_cred = e1->cred;
	e1->has_peer_cred = e2->has_peer_cred = true;
	unix_end_attach(e1, f1);
	unix_end_attach(e2, f2);
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

#define MAX_IOV 1024
#define CONTROL_MAX 4096

/* The control messages of a sendmsg: descriptors and credentials. */
static long parse_control(struct k_task *t, struct unix_end *e, const struct msghdr *mh)
{
	if (!mh->msg_controllen)
		return 0;
	if (mh->msg_controllen > CONTROL_MAX)
		return -ENOBUFS;
	uint8_t *buf = malloc(mh->msg_controllen);
	if (!buf)
		return -ENOMEM;
	long err = 0;
	if (k_copy_in(t, buf, (uint64_t)mh->msg_control, mh->msg_controllen)) {
		free(buf);
		return -EFAULT;
	}
	struct msghdr hm = {.msg_control = buf, .msg_controllen = mh->msg_controllen};
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&hm); c && !err; c = CMSG_NXTHDR(&hm, c)) {
		if (c->cmsg_len < CMSG_LEN(0) || c->cmsg_len > mh->msg_controllen ||
		    (uint8_t *)c + c->cmsg_len > buf + mh->msg_controllen) {
			err = -EINVAL;
			break;
		}
		if (c->cmsg_level != SOL_SOCKET) {
			err = -EINVAL;
			break;
		}
		size_t dlen = c->cmsg_len - CMSG_LEN(0);
		if (c->cmsg_type == SCM_RIGHTS) {
			int k = (int)(dlen / sizeof(int));
			if (k <= 0 || dlen % sizeof(int) || e->send_nfiles) {
				err = -EINVAL;
				break;
			}
			if (k > SCM_MAX_FD) {
				err = -EINVAL;
				break;
			}
			if (inflight + k > SANDBOX_INFLIGHT)
				unix_gc(); /* what cycles hold may be freed */
			if (inflight + k > SANDBOX_INFLIGHT) {
				err = -ETOOMANYREFS;
				break;
			}
			struct k_file **files = calloc((size_t)k, sizeof(*files));
			if (!files) {
				err = -ENOMEM;
				break;
			}
			for (int i = 0; i < k && !err; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (!(files[i] = fdt_get(t, fd))) {
					put_files(files, i);
					files = NULL;
					err = -EBADF;
				}
			}
			if (!err) {
				e->send_files = files;
				e->send_nfiles = k;
			}
		} else if (c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;
			if (dlen < sizeof(uc)) {
				err = -EINVAL;
				break;
			}
			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			/* Only one's own, unless privileged (Linux's scm_check_creds). */
			const struct k_thread_group *g = t->tg;
			if (g->euid != 0 && ((int)uc.pid != g->pid ||
					     (uc.uid != g->uid && uc.uid != g->euid && uc.uid != g->suid) ||
					     (uc.gid != g->gid && uc.gid != g->egid && uc.gid != g->sgid))) {
				err = -EPERM;
				break;
			}
			e->send_cred = (struct unix_cred){uc.pid, uc.uid, uc.gid};
			e->send_has_cred = true;
		} else {
			err = -EINVAL;
		}
	}
	free(buf);
	return err;
}

/* The control messages recvmsg hands over: the descriptors (installed
 * now), the credentials for SO_PASSCRED.  What does not fit the buffer
 * is dropped (the descriptors closed) and MSG_CTRUNC said. */
static long put_control(struct k_task *t, struct unix_end *e, struct msghdr *mh, int flags,
			int *out_flags)
{
	uint8_t buf[CMSG_SPACE(sizeof(int) * SCM_MAX_FD) + CMSG_SPACE(sizeof(struct ucred))];
	size_t used = 0;
	size_t room = mh->msg_control ? mh->msg_controllen : 0;
	if (room > sizeof(buf))
		room = sizeof(buf);
	memset(buf, 0, sizeof(buf));
	if (e->passcred && e->got_any) {
		if (used + CMSG_SPACE(sizeof(struct ucred)) <= room) {
			struct cmsghdr *c = (struct cmsghdr *)(buf + used);
			c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_CREDENTIALS;
			struct ucred uc = {e->got_cred.pid, e->got_cred.uid, e->got_cred.gid};
			memcpy(CMSG_DATA(c), &uc, sizeof(uc));
			used += CMSG_SPACE(sizeof(struct ucred));
		} else {
			*out_flags |= MSG_CTRUNC;
		}
	}
	if (e->got_nfiles) {
		int fit = room > used + CMSG_LEN(0) ? (int)((room - used - CMSG_LEN(0)) / sizeof(int)) : 0;
		if (fit > e->got_nfiles)
			fit = e->got_nfiles;
		if (fit < e->got_nfiles)
			*out_flags |= MSG_CTRUNC;
		if (fit > 0) {
			struct cmsghdr *c = (struct cmsghdr *)(buf + used);
			c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)fit);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			int installed = 0;
			for (int i = 0; i < fit; i++) {
				int fd = fdt_install(t, e->got_files[i], 0, flags & MSG_CMSG_CLOEXEC);
				if (fd < 0) {
					*out_flags |= MSG_CTRUNC;
					break;
				}
				memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
				installed++;
			}
			c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)installed);
			if (installed)
				used += CMSG_SPACE(sizeof(int) * (size_t)installed);
		}
		put_files(e->got_files, e->got_nfiles);
		e->got_files = NULL;
		e->got_nfiles = 0;
	}
	if (used > room)
		used = room;
	if (used && k_copy_out(t, (uint64_t)mh->msg_control, buf, used))
		return -EFAULT;
	mh->msg_controllen = used;
	return 0;
}

static void call_reset(struct unix_end *e)
{
	if (e->send_nfiles)
		put_files(e->send_files, e->send_nfiles);
	if (e->got_nfiles)
		put_files(e->got_files, e->got_nfiles);
	unix_queue_put(e->send_to);
	e->send_to = NULL;
	e->send_files = e->got_files = NULL;
	e->send_nfiles = e->got_nfiles = 0;
	e->send_has_cred = e->got_any = e->want_control = false;
	e->rflags = 0;
	e->got_len = 0;
	e->got_from.len = 0;
}

/* send and receive on iovecs the guest described; a datagram's
 * destination (uaddr), what control data asked, the sender's address. */
static long transfer(struct k_task *t, struct k_file *f, struct iovec *gv, int n, int flags,
		     bool send, uint64_t uaddr, int alen)
{
	struct unix_end *e = f->priv;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (send && uaddr) {
		if (e->type != SOCK_DGRAM)
			return e->tx ? -EISCONN : -EOPNOTSUPP;
		long err;
		if (!(e->send_to = unix_dgram_target(t, e, uaddr, alen, &err)))
			return err;
	} else if (send && e->type == SOCK_DGRAM && !e->tx && e->peer.len) {
		/* Connected by name: the peer is looked up at each send. */
		long err;
		if (!(e->send_to = unix_dgram_peer(e, &err)))
			return err;
	}
	/* What a plain read left behind says nothing of this call. */
	e->got_any = false;
	e->got_len = 0;
	e->got_from.len = 0;
	e->rflags = flags & MSG_PEEK;
	bool empty = true;
	for (int i = 0; i < n; i++)
		empty &= gv[i].iov_len == 0;
	if (!send && e->type != SOCK_STREAM && e->rx && empty) {
		/* Into no buffer a datagram is still waited for and taken (the
		 * read/write layer would call an empty read done at once). */
		for (;;) {
			if (e->rx->head || e->rx->eof || e->shut_rd) {
				struct iovec none = {NULL, 0};
				return unix_read(f, &none, 0, NULL);
			}
			if ((flags & MSG_DONTWAIT) || (f->flags & O_NONBLOCK))
				return -EAGAIN;
			struct k_waitq *wq = &k_file_events;
			struct k_sleep sl = {.qs = &wq, .nq = 1};
			if (k_sleep(t, &sl) == -EINTR)
				return -ERESTARTSYS;
		}
	}
	return k_file_rw(t, f, gv, n, send, NULL, msg_flags(flags));
}

long unix_sendto(struct k_task *t, const uint64_t *a)
{
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	struct iovec v = {(void *)a[1], a[2]};
	long r = transfer(t, f, &v, 1, (int)a[3], true, a[4], (int)a[5]);
	call_reset(f->priv);
	file_put(f);
	return r;
}

long unix_recvfrom(struct k_task *t, const uint64_t *a)
{
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	struct unix_end *e = f->priv;
	struct iovec v = {(void *)a[1], a[2]};
	long r = transfer(t, f, &v, 1, (int)a[3], false, 0, 0);
	struct unix_addr from = e->got_from;
	size_t full = e->got_len;
	call_reset(e);
	file_put(f);
	if (r >= 0 && a[4] && a[5] && (err = unix_put_addr(t, a[4], a[5], &from)))
		return err;
	if (r >= 0 && ((int)a[3] & MSG_TRUNC) && full > (size_t)r)
		r = (long)full;
	return r;
}

long unix_msg(struct k_task *t, int fd, uint64_t umsg, int flags, bool send)
{
	struct msghdr mh;
	if (k_copy_in(t, &mh, umsg, sizeof(mh)))
		return -EFAULT;
	if (mh.msg_iovlen > MAX_IOV)
		return -EMSGSIZE;
	long err;
	struct k_file *f = sock_get(t, fd, &err);
	if (!f)
		return err;
	struct unix_end *e = f->priv;
	struct iovec *gv = malloc((mh.msg_iovlen ? mh.msg_iovlen : 1) * sizeof(*gv));
	long r = gv ? 0 : -ENOMEM;
	if (!r && mh.msg_iovlen &&
	    k_copy_in(t, gv, (uint64_t)mh.msg_iov, mh.msg_iovlen * sizeof(*gv)))
		r = -EFAULT;
	if (!r && send)
		r = parse_control(t, e, &mh);
	e->want_control = !send;
	if (!r)
		r = transfer(t, f, gv, (int)mh.msg_iovlen, flags, send,
			     send ? (uint64_t)mh.msg_name : 0, (int)mh.msg_namelen);
	free(gv);
	if (r >= 0 && !send) {
		int out_flags = 0;
		if (e->type != SOCK_STREAM && e->got_len > (size_t)r)
			out_flags |= MSG_TRUNC;
		long cerr = put_control(t, e, &mh, flags, &out_flags);
		struct unix_addr from = e->got_from;
		if (!cerr && mh.msg_name) {
			/* The length is msg_namelen, in the guest's msghdr. */
			cerr = unix_put_addr(t, (uint64_t)mh.msg_name,
					     umsg + offsetof(struct msghdr, msg_namelen), &from);
		} else if (!cerr) {
			uint32_t zero = 0;
			cerr = k_copy_out(t, umsg + offsetof(struct msghdr, msg_namelen), &zero,
					  sizeof(zero));
		}
		if (!cerr &&
		    (k_copy_out(t, umsg + offsetof(struct msghdr, msg_controllen), &mh.msg_controllen,
				sizeof(mh.msg_controllen)) ||
		     k_copy_out(t, umsg + offsetof(struct msghdr, msg_flags), &out_flags,
				sizeof(out_flags))))
			cerr = -EFAULT;
		if (cerr)
			r = cerr;
		if (r >= 0 && (flags & MSG_TRUNC) && e->type != SOCK_STREAM && e->got_len > (size_t)r)
			r = (long)e->got_len;
	}
	call_reset(e);
	file_put(f);
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
	if (!e->rx || (!e->tx && e->type != SOCK_DGRAM)) {
		file_put(f);
		return -ENOTCONN;
	}
	if (how != SHUT_WR)
		e->shut_rd = true;
	if (how != SHUT_RD && e->tx)
		e->tx->eof = true;
	k_file_notify();
	file_put(f);
	return 0;
}

long unix_getsockopt(struct k_task *t, const uint64_t *a)
{
	int level = (int)a[1], opt = (int)a[2];
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	struct unix_end *e = f->priv;
	struct unix_end copy = *e;
	file_put(f);
	if (level != SOL_SOCKET)
		return -EOPNOTSUPP;
	if (opt == SO_PEERCRED) {
		if (!copy.has_peer_cred)
			return -ENOTCONN;
		struct ucred uc = {copy.peer_cred.pid, copy.peer_cred.uid, copy.peer_cred.gid};
		return sock_copy_out(t, a[3], a[4], &uc, sizeof(uc), SOCK_OUT_OPT);
	}
	int val;
	switch (opt) {
	case SO_TYPE: val = copy.type; break;
	case SO_DOMAIN: val = AF_UNIX; break;
	case SO_PROTOCOL: val = 0; break;
	case SO_ERROR: val = 0; break;
	case SO_SNDBUF: case SO_RCVBUF: val = UNIX_BUF; break;
	case SO_ACCEPTCONN: val = copy.listening; break;
	case SO_PASSCRED: val = copy.passcred; break;
	case SO_KEEPALIVE: val = 0; break;
	default: return -ENOPROTOOPT;
	}
	return sock_copy_out(t, a[3], a[4], &val, sizeof(val), SOCK_OUT_OPT);
}

long unix_setsockopt(struct k_task *t, const uint64_t *a)
{
	int level = (int)a[1], opt = (int)a[2];
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	struct unix_end *e = f->priv;
	if ((int)a[4] < 0) {
		file_put(f);
		return -EINVAL;
	}
	long r = level == SOL_SOCKET ? 0 : -EOPNOTSUPP;
	if (!r && opt == SO_PASSCRED) {
		int v = 0;
		if ((int)a[4] < (int)sizeof(v))
			r = -EINVAL;
		else if (k_copy_in(t, &v, a[3], sizeof(v)))
			r = -EFAULT;
		else
			e->passcred = v != 0;
	}
	/* Buffer sizes and other flags are accepted; the buffers stay. */
	file_put(f);
	return r;
}
