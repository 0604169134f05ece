/* Pipes and FIFOs: a ring buffer in the sentry with Linux's rules for
 * PIPE_BUF atomicity, EOF, EPIPE, O_NONBLOCK, FIONREAD and
 * F_GETPIPE_SZ/F_SETPIPE_SZ.  A transfer that would block returns
 * -K_EBLOCK: the read/write layer sleeps until a pipe changes and tries
 * again, so no guest buffer is held across the sleep. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../../snapshot/snapshot.h"
#include "../sentry.h"

#define PIPE_DEF (16 * PAGE_SIZE)
#define PIPE_MAX (1 << 20) /* /proc/sys/fs/pipe-max-size */
#define K_PIPE_BUF 4096
#define ERESTARTSYS 512
#define PIPEFS_MAGIC 0x50495045

struct k_pipe {
	char *buf;
	size_t cap, head, len; /* ring: data at [head, head+len) mod cap */
	int readers, writers;
	unsigned r_opens, w_opens; /* FIFO opens so far: a waiting open sees a brief one */
};

/* Pipe buffers live in the sentry's heap: the sandbox's total is bounded
 * as Linux's pipe-user-pages-soft and -hard bound a user's.  Past the
 * soft mark new pipes get two pages (PIPE_MIN_DEF_BUFFERS); past the hard one none are made
 * (ENFILE) and none grow (EPERM). */
#define PIPE_SOFT (64UL << 20)
#define PIPE_HARD (256UL << 20)
static size_t pipe_bytes;

static struct k_pipe *pipe_new(void)
{
	if (pipe_bytes >= PIPE_HARD)
		return NULL;
	size_t cap = pipe_bytes + PIPE_DEF > PIPE_SOFT ? 2 * PAGE_SIZE : PIPE_DEF;
	struct k_pipe *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->buf = malloc(cap);
	if (!p->buf) {
		free(p);
		return NULL;
	}
	p->cap = cap;
	pipe_bytes += cap;
	return p;
}

void pipe_free(void *pipe)
{
	struct k_pipe *p = pipe;
	if (p) {
		pipe_bytes -= p->cap;
		free(p->buf);
		free(p);
	}
}

static struct k_pipe *pipe_of(struct k_file *f)
{
	return f->inode->pipe;
}

static ssize_t pipe_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct k_pipe *p = pipe_of(f);
	if (pos)
		return -ESPIPE;
	size_t want = iov_total(iov, n);
	if (want == 0)
		return 0;
	if (p->len == 0) {
		if (p->writers == 0)
			return 0;
		return (f->flags & O_NONBLOCK) ? -EAGAIN : -K_EBLOCK;
	}
	size_t done = 0;
	for (int i = 0; i < n && p->len; i++) {
		size_t at = 0;
		while (at < iov[i].iov_len && p->len) {
			size_t run = p->cap - p->head < p->len ? p->cap - p->head : p->len;
			size_t take = run < iov[i].iov_len - at ? run : iov[i].iov_len - at;
			memcpy((char *)iov[i].iov_base + at, p->buf + p->head, take);
			p->head = (p->head + take) % p->cap;
			p->len -= take;
			at += take;
		}
		done += at;
	}
	if (p->len == 0)
		p->head = 0;
	inode_touch(f->inode, true, false, false);
	k_file_notify();
	return (ssize_t)done;
}

static ssize_t pipe_write(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct k_pipe *p = pipe_of(f);
	if (pos)
		return -ESPIPE;
	if (p->readers == 0)
		return -EPIPE;
	size_t want = iov_total(iov, n);
	if (want == 0)
		return 0;
	size_t room = p->cap - p->len;
	/* Up to PIPE_BUF bytes go in whole or not at all. */
	if (room == 0 || (want <= K_PIPE_BUF && room < want)) {
		return (f->flags & O_NONBLOCK) ? -EAGAIN : -K_EBLOCK;
	}
	size_t done = 0;
	for (int i = 0; i < n && p->len < p->cap; i++) {
		size_t at = 0;
		while (at < iov[i].iov_len && p->len < p->cap) {
			size_t tail = (p->head + p->len) % p->cap;
			size_t run = tail >= p->head ? p->cap - tail : p->head - tail;
			size_t take = run < iov[i].iov_len - at ? run : iov[i].iov_len - at;
			memcpy(p->buf + tail, (char *)iov[i].iov_base + at, take);
			p->len += take;
			at += take;
		}
		done += at;
	}
	inode_touch(f->inode, false, true, true);
	k_file_notify();
	return (ssize_t)done;
}

static long pipe_ioctl(struct k_task *t, struct k_file *f, unsigned cmd, uint64_t arg)
{
	if (cmd != FIONREAD)
		return -ENOTTY;
	int n = (int)pipe_of(f)->len;
	return k_copy_out(t, arg, &n, sizeof(n));
}

static int pipe_stat(struct k_file *f, struct stat *st)
{
	inode_stat(f->inode, st);
	st->st_size = 0;
	st->st_blksize = 4096;
	return 0;
}

static bool pipe_at_eof(struct k_file *f)
{
	return pipe_of(f)->len == 0 && pipe_of(f)->writers == 0;
}

static void pipe_release(struct k_file *f)
{
	struct k_pipe *p = pipe_of(f);
	int acc = f->flags & O_ACCMODE;
	if (acc == O_RDONLY || acc == O_RDWR)
		p->readers--;
	if (acc == O_WRONLY || acc == O_RDWR)
		p->writers--;
	k_file_notify();
}

static short pipe_poll(struct k_file *f)
{
	struct k_pipe *p = pipe_of(f);
	int acc = f->flags & O_ACCMODE;
	short mask = 0;
	if (acc == O_RDONLY || acc == O_RDWR) {
		if (p->len)
			mask |= POLLIN | POLLRDNORM;
		if (!p->writers)
			mask |= POLLHUP;
	}
	if (acc == O_WRONLY || acc == O_RDWR) {
		if (p->cap - p->len >= K_PIPE_BUF)
			mask |= POLLOUT | POLLWRNORM;
		if (!p->readers)
			mask |= POLLERR;
	}
	return mask;
}

/* Checkpoint: an anonymous pipe (a FIFO's node would have to come back
 * with its filesystem: not yet).  The first of its two files saved writes
 * the pipe's size and the bytes in it. */
static struct k_super *pipefs;

static int pipe_save(struct k_file *f, struct snap_enc *e, struct ckpt_ctx *c)
{
	if (f->inode->sb != pipefs)
		return -EOPNOTSUPP;
	struct k_pipe *p = pipe_of(f);
	bool fresh;
	uint32_t id = ckpt_shared_id(c, p, &fresh);
	if (!id)
		return -ENOMEM;
	snap_put_u32(e, id);
	snap_put_u8(e, fresh);
	if (fresh) {
		snap_put_u32(e, (uint32_t)p->cap);
		snap_put_u32(e, f->inode->uid);
		snap_put_u32(e, f->inode->gid);
		size_t first = p->cap - p->head < p->len ? p->cap - p->head : p->len;
		snap_put_u32(e, (uint32_t)p->len);
		snap_put_bytes(e, p->buf + p->head, first);
		snap_put_bytes(e, p->buf, p->len - first);
	}
	return 0;
}

static const struct k_file_ops pipe_ops = {
	.ckpt_kind = CKF_PIPE,
	.save = pipe_save,
	.read = pipe_read,
	.write = pipe_write,
	.ioctl = pipe_ioctl,
	.stat = pipe_stat,
	.at_eof = pipe_at_eof,
	.poll = pipe_poll,
	.release = pipe_release,
};

bool file_is_pipe(const struct k_file *f)
{
	return f->ops == &pipe_ops;
}

long pipe_size(struct k_file *f, int cmd, uint64_t arg)
{
	struct k_pipe *p = pipe_of(f);
	if (cmd == F_GETPIPE_SZ)
		return (long)p->cap;
	/* F_SETPIPE_SZ: at least a page, a power of two of pages.  The size
	 * is an unsigned int; past 2 GiB it rounds to nothing (EINVAL) before
	 * the limit is looked at (Linux's round_pipe_size). */
	arg = (uint32_t)arg;
	if (arg > (1UL << 31))
		return -EINVAL;
	if (arg > PIPE_MAX)
		return -EPERM;
	size_t cap = PAGE_SIZE;
	while (cap < arg)
		cap <<= 1;
	if (cap < p->len)
		return -EBUSY;
	if (cap > p->cap && pipe_bytes + (cap - p->cap) > PIPE_HARD)
		return -EPERM;
	char *nb = malloc(cap);
	if (!nb)
		return -ENOMEM;
	for (size_t i = 0; i < p->len; i++)
		nb[i] = p->buf[(p->head + i) % p->cap];
	free(p->buf);
	pipe_bytes = pipe_bytes - p->cap + cap;
	p->buf = nb;
	p->cap = cap;
	p->head = 0;
	return (long)cap;
}

/* Opening a FIFO: the pipe lives with the inode while anyone has it open. */
int fifo_open(struct k_inode *ino, struct k_file *f)
{
	if (!ino->pipe && !(ino->pipe = pipe_new()))
		return -ENOMEM;
	struct k_pipe *p = ino->pipe;
	int acc = f->flags & O_ACCMODE;
	bool nonblock = f->flags & O_NONBLOCK;
	if (acc == O_WRONLY && p->readers == 0 && nonblock)
		return -ENXIO;
	if (acc == O_RDONLY || acc == O_RDWR)
		p->readers++, p->r_opens++;
	if (acc == O_WRONLY || acc == O_RDWR)
		p->writers++, p->w_opens++;
	f->ops = &pipe_ops;
	k_file_notify();
	/* A blocking open waits for the other end (Linux's wait_for_partner):
	 * a reader for a writer, a writer for a reader. */
	struct k_task *t = k_current();
	bool need_writer = acc == O_RDONLY && !nonblock, need_reader = acc == O_WRONLY;
	unsigned seen = need_writer ? p->w_opens : p->r_opens;
	while (t && ((need_writer && !p->writers) || (need_reader && !p->readers)) &&
	       seen == (need_writer ? p->w_opens : p->r_opens)) {
		struct k_waitq *q = &k_file_events;
		struct k_sleep sl = {.qs = &q, .nq = 1};
		if (k_sleep(t, &sl) == -EINTR) {
			if (acc == O_RDONLY)
				p->readers--;
			else
				p->writers--;
			f->ops = NULL;
			k_file_notify();
			return -ERESTARTSYS;
		}
	}
	return 0;
}


static void pipefs_evict(struct k_inode *ino)
{
	pipe_free(ino->pipe);
	ino->pipe = NULL;
}

static const struct k_inode_ops pipefs_ops = {.evict = pipefs_evict};

int pipe_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		 struct k_file **out)
{
	(void)k;
	uint32_t id = snap_get_u32(d);
	bool fresh = snap_get_u8(d);
	int acc = flags & O_ACCMODE;
	if (snap_dec_err(d) || (acc != O_RDONLY && acc != O_WRONLY) ||
	    fresh != !ckpt_shared_known(c, id))
		return -EBADMSG;
	struct k_inode *ino = ckpt_shared_get(c, id, CKF_PIPE);
	if (!fresh && !ino)
		return -EBADMSG; /* (another kind's) */
	if (fresh) {
		uint32_t cap = snap_get_u32(d), uid = snap_get_u32(d), gid = snap_get_u32(d);
		uint32_t len = snap_get_u32(d);
		size_t n1, n2;
		const void *b1 = snap_get_blob(d, &n1), *b2 = snap_get_blob(d, &n2);
		if (snap_dec_err(d) || cap < PAGE_SIZE || cap > PIPE_MAX || cap & (cap - 1) ||
		    len > cap || n1 + n2 != len)
			return -EBADMSG;
		if (!pipefs && !(pipefs = super_new("pipefs", PIPEFS_MAGIC)))
			return -ENOMEM;
		if (!(ino = inode_new(pipefs, &pipefs_ops, S_IFIFO | 0600)))
			return -ENOMEM;
		ino->uid = uid, ino->gid = gid;
		struct k_pipe *p = pipe_new();
		char *buf = p ? realloc(p->buf, cap) : NULL;
		if (!buf) {
			pipe_free(p);
			inode_put(ino);
			return -ENOMEM;
		}
		pipe_bytes += cap - p->cap;
		p->buf = buf;
		p->cap = cap;
		memcpy(p->buf, b1, n1);
		memcpy(p->buf + n1, b2, n2);
		p->len = len;
		ino->pipe = p;
		int err = ckpt_shared_set(c, id, CKF_PIPE, ino);
		if (err) {
			inode_put(ino);
			return err;
		}
	}
	struct k_file *f = file_new(&pipe_ops, flags & (O_ACCMODE | O_NONBLOCK | O_DIRECT));
	if (!f) {
		if (fresh)
			inode_put(ino); /* (the table's pointer is not used again) */
		return -ENOMEM;
	}
	f->inode = inode_get(ino);
	if (fresh)
		inode_put(ino); /* the files hold it; the table only names it */
	struct k_pipe *p = ino->pipe;
	if (acc == O_RDONLY)
		p->readers++;
	else
		p->writers++;
	*out = f;
	return 0;
}

SYSCALL(pipe2)
{
	int flags = (int)a[1];
	if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
		return -EINVAL;
	if (!pipefs && !(pipefs = super_new("pipefs", PIPEFS_MAGIC)))
		return -ENOMEM;
	struct k_inode *ino = inode_new(pipefs, &pipefs_ops, S_IFIFO | 0600);
	if (!ino)
		return -ENOMEM;
	ino->uid = t->tg->fsuid;
	ino->gid = t->tg->fsgid;
	struct k_file *r = file_new(&pipe_ops, O_RDONLY | (flags & O_NONBLOCK));
	struct k_file *w = file_new(&pipe_ops, O_WRONLY | (flags & (O_NONBLOCK | O_DIRECT)));
	long err = !r || !w ? -ENOMEM : (ino->pipe = pipe_new()) ? 0
				     : pipe_bytes >= PIPE_HARD ? -ENFILE : -ENOMEM;
	if (!err) {
		r->inode = inode_get(ino);
		w->inode = inode_get(ino);
		((struct k_pipe *)ino->pipe)->readers = 1;
		((struct k_pipe *)ino->pipe)->writers = 1;
	}
	inode_put(ino);
	int fds[2] = {-1, -1};
	if (!err && (fds[0] = fdt_install(t, r, 0, flags & O_CLOEXEC)) < 0)
		err = fds[0];
	if (!err && (fds[1] = fdt_install(t, w, 0, flags & O_CLOEXEC)) < 0)
		err = fds[1];
	if (!err && k_copy_out(t, a[0], fds, sizeof(fds)))
		err = -EFAULT;
	if (err) {
		if (fds[0] >= 0)
			fdt_close(t, fds[0]);
		if (fds[1] >= 0)
			fdt_close(t, fds[1]);
	}
	if (r && !r->inode)
		r->ops = NULL;
	if (w && !w->inode)
		w->ops = NULL;
	file_put(r);
	file_put(w);
	return err;
}

SYSCALL(pipe)
{
	const uint64_t b[2] = {a[0], 0};
	return sys_pipe2(t, b);
}
