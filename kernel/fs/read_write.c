/* read, write and their vectored and positional forms, lseek, close.  The
 * data moves between the file and guest memory through host iovecs over the
 * memory file: no bounce buffer, and no byte the guest may not touch. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../sentry.h"

/* Linux's MAX_RW_COUNT: one transfer moves at most this much. */
#define MAX_RW ((size_t)(INT_MAX & PAGE_MASK))
#define MAX_IOV 1024
#define TASK_SIZE_MAX 0x7ffffffff000UL
#define HOST_IOV 1024
#define ERESTARTSYS 512

static bool may(struct k_file *f, bool write)
{
	int acc = f->flags & O_ACCMODE;
	return write ? acc == O_WRONLY || acc == O_RDWR : acc == O_RDONLY || acc == O_RDWR;
}

/* Moves data for the guest iovecs gv[0..n). */
static long do_rw(struct k_task *t, struct k_file *f, const struct iovec *gv, int n, bool write,
		  int64_t *pos)
{
	return k_file_rw(t, f, gv, n, write, pos, 0);
}

long k_file_rw(struct k_task *t, struct k_file *f, const struct iovec *gv, int n, bool write,
	       int64_t *pos, int flags)
{
	if (!may(f, write))
		return -EBADF;
	if (f->inode && S_ISDIR(f->inode->mode))
		return -EISDIR;
	if (write ? !f->ops->write : !f->ops->read)
		return -EINVAL;
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		if (gv[i].iov_len > SSIZE_MAX)
			return -EINVAL;
		/* Linux's access_ok: the range must lie below TASK_SIZE. */
		uint64_t base = (uint64_t)gv[i].iov_base;
		if (gv[i].iov_len && (base > TASK_SIZE_MAX || gv[i].iov_len > TASK_SIZE_MAX - base))
			return -EFAULT;
		total += gv[i].iov_len;
	}
	/* A write by anyone without CAP_FSETID drops setuid (and setgid on a
	 * group-executable file), as Linux's file_remove_privs. */
	struct k_inode *ino = f->inode;
	if (write && ino && S_ISREG(ino->mode) && t->tg->fsuid != 0 &&
	    ((ino->mode & S_ISUID) || (ino->mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) &&
	    ino->ops->setattr) {
		struct k_setattr at = {.mask = K_SET_MODE,
				       .mode = ino->mode & 07777 & ~(uint32_t)(S_ISUID | S_ISGID)};
		if (!(ino->mode & S_IXGRP))
			at.mode |= ino->mode & S_ISGID;
		ino->ops->setattr(ino, &at);
	}
	if (total == 0 || (write && f->ops->discards)) {
		/* Linux hands even empty transfers to the file (/dev/full says
		 * ENOSPC); a discarding device never reads the buffer. */
		struct iovec none = {NULL, 0};
		struct iovec fake = {NULL, total};
		long z = write ? f->ops->write(f, total ? &fake : &none, 1, pos)
			       : f->ops->read(f, &none, 0, pos);
		/* Nothing to move: a transfer that would wait is done. */
		return z == -K_EBLOCK ? 0 : z;
	}
	struct iovec *hv = malloc(HOST_IOV * sizeof(*hv));
	if (!hv)
		return -ENOMEM;
	/* A blocking pipe write goes on until all of it is in (Linux), and a
	 * transfer that would block sleeps and starts over: the host iovecs
	 * are made again each time, as the guest's memory may have changed. */
	bool whole = write && file_is_pipe(f) && !(f->flags & O_NONBLOCK);
	size_t done = 0;
	long r;
	for (;;) {
		int nh = 0;
		size_t budget = MAX_RW - done, mapped = 0, skip = done;
		for (int i = 0; i < n && nh < HOST_IOV && budget > 0; i++) {
			size_t len = gv[i].iov_len;
			if (skip >= len) {
				skip -= len;
				continue;
			}
			size_t want = len - skip < budget ? len - skip : budget;
			int got_iov;
			size_t got = k_guest_iov(t->mm, (uint64_t)gv[i].iov_base + skip, want, !write,
						 hv + nh, HOST_IOV - nh, &got_iov);
			skip = 0;
			nh += got_iov;
			mapped += got;
			budget -= got;
			if (got < want)
				break; /* a hole: transfer what comes before it */
		}
		if (mapped == 0)
			r = done ? 0 : !write && f->ops->at_eof && f->ops->at_eof(f) ? 0 : -EFAULT;
		else
			r = write ? f->ops->write(f, hv, nh, pos) : f->ops->read(f, hv, nh, pos);
		if (r > 0) {
			done += (size_t)r;
			if (whole && done < total)
				continue; /* more to write: it waits for room next time */
			r = (long)done;
			break;
		}
		if (r == 0 && done) {
			r = (long)done;
			break;
		}
		if (r != -K_EBLOCK)
			break;
		if ((flags & K_RW_NONBLOCK) || (f->flags & O_NONBLOCK)) {
			r = done ? (long)done : -EAGAIN;
			break;
		}
		/* A host-backed file (stdin) is waited on at the host. */
		struct k_waitq *q = &k_file_events;
		struct pollfd hp = {f->host_fd, write ? POLLOUT : POLLIN, 0};
		struct k_sleep sl = {.qs = &q, .nq = 1};
		if (f->host_fd >= 0)
			sl.fds = &hp, sl.nfds = 1;
		/* A file that becomes ready by itself (a timerfd) says when. */
		int64_t wake = f->ops->poll_wake ? f->ops->poll_wake(f) : 0;
		struct timespec dl = {wake / 1000000000LL, wake % 1000000000LL};
		if (wake)
			sl.clock = CLOCK_MONOTONIC, sl.deadline = &dl;
		if (k_sleep(t, &sl) == -EINTR) {
			r = done ? (long)done : -ERESTARTSYS;
			break;
		}
	}
	free(hv);
	if (r < 0 && done)
		r = (long)done; /* an error after some data: the data counts */
	/* Writing to a pipe nobody reads: EPIPE, and SIGPIPE, as Linux. */
	if (write && r == -EPIPE && !(flags & K_RW_NOSIGNAL))
		task_send(t, SIGPIPE, SI_USER);
	return r;
}

static long rw_one(struct k_task *t, int fd, uint64_t buf, uint64_t len, bool write,
		   int64_t *pos)
{
	struct k_file *f = fdt_get(t, fd);
	if (!f)
		return -EBADF;
	struct iovec v = {(void *)buf, len > MAX_RW ? MAX_RW : len};
	/* access_ok looks at the whole count, before it is clamped. */
	if (len && (buf > TASK_SIZE_MAX || len > TASK_SIZE_MAX - buf)) {
		int acc = f->flags & O_ACCMODE;
		bool ok = write ? acc == O_WRONLY || acc == O_RDWR : acc == O_RDONLY || acc == O_RDWR;
		file_put(f);
		return ok ? -EFAULT : -EBADF;
	}
	long r = do_rw(t, f, &v, 1, write, pos);
	file_put(f);
	return r;
}

static long rw_vec(struct k_task *t, int fd, uint64_t uiov, uint64_t cnt, bool write,
		   int64_t *pos)
{
	struct k_file *f = fdt_get(t, fd);
	if (!f)
		return -EBADF;
	long r;
	if (!may(f, write)) {
		r = -EBADF;
	} else if (cnt > MAX_IOV) {
		r = -EINVAL;
	} else if (cnt == 0) {
		r = 0;
	} else {
		struct iovec gv[MAX_IOV];
		r = k_copy_in(t, gv, uiov, cnt * sizeof(gv[0]));
		if (r == 0)
			r = do_rw(t, f, gv, (int)cnt, write, pos);
	}
	file_put(f);
	return r;
}

SYSCALL(read) { return rw_one(t, (int)a[0], a[1], a[2], false, NULL); }
SYSCALL(write) { return rw_one(t, (int)a[0], a[1], a[2], true, NULL); }
SYSCALL(readv) { return rw_vec(t, (int)a[0], a[1], a[2], false, NULL); }
SYSCALL(writev) { return rw_vec(t, (int)a[0], a[1], a[2], true, NULL); }

/* The positional forms: the offset is the fourth argument and may not be
 * negative. */
static long rw_at(struct k_task *t, const uint64_t *a, bool write, bool vec)
{
	int64_t pos = (int64_t)a[3];
	if (pos < 0)
		return -EINVAL;
	return vec ? rw_vec(t, (int)a[0], a[1], a[2], write, &pos)
		   : rw_one(t, (int)a[0], a[1], a[2], write, &pos);
}

/* preadv2/pwritev2: offset -1 is the file position; RWF_* flags. */
static long rw_v2(struct k_task *t, const uint64_t *a, bool write)
{
	int64_t pos = (int64_t)a[3];
	uint64_t flags = a[5];
	if (flags & ~(uint64_t)(RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND))
		return -EOPNOTSUPP;
	if (pos < -1)
		return -EINVAL;
	if (write && (flags & RWF_APPEND)) {
		/* At the end whatever the offset says; at -1 the position then
		 * follows the data, as a write with O_APPEND. */
		struct k_file *f = fdt_get(t, (int)a[0]);
		if (!f)
			return -EBADF;
		bool cur = pos == -1;
		if (f->inode)
			pos = (int64_t)f->inode->size;
		long r = rw_vec(t, (int)a[0], a[1], a[2], write, &pos);
		if (cur && r >= 0)
			f->pos = pos;
		file_put(f);
		return r;
	}
	if (pos == -1)
		return rw_vec(t, (int)a[0], a[1], a[2], write, NULL);
	return rw_vec(t, (int)a[0], a[1], a[2], write, &pos);
}

SYSCALL(preadv2) { return rw_v2(t, a, false); }
SYSCALL(pwritev2) { return rw_v2(t, a, true); }
SYSCALL(pread64) { return rw_at(t, a, false, false); }
SYSCALL(pwrite64) { return rw_at(t, a, true, false); }
SYSCALL(preadv) { return rw_at(t, a, false, true); }
SYSCALL(pwritev) { return rw_at(t, a, true, true); }

SYSCALL(lseek)
{
	int whence = (int)a[2];
	struct k_file *f = fdt_get(t, (int)a[0]);
	if (!f)
		return -EBADF;
	long r;
	if (whence < SEEK_SET || whence > SEEK_HOLE)
		r = -EINVAL;
	else if (!f->ops->seek)
		r = -ESPIPE;
	else
		r = f->ops->seek(f, (int64_t)a[1], whence);
	file_put(f);
	return r;
}

SYSCALL(close) { return fdt_close(t, (int)a[0]); }

/* Copies n bytes from in (at *in_pos, or its position) to out (at
 * *out_pos, or its position) through a buffer of the sentry's. */
/* Sleeps until a sentry file changes (or a host one is ready): 0, or
 * -ERESTARTSYS for a signal. */
static long wait_file(struct k_task *t, struct k_file *f, bool write)
{
	struct k_waitq *q = &k_file_events;
	struct pollfd hp = {f->host_fd, write ? POLLOUT : POLLIN, 0};
	struct k_sleep sl = {.qs = &q, .nq = 1};
	if (f->host_fd >= 0)
		sl.fds = &hp, sl.nfds = 1;
	return k_sleep(t, &sl) == -EINTR ? -ERESTARTSYS : 0;
}

/* Copies through a bounce buffer; a side that would block waits (or is
 * EAGAIN when nonblocking), and bytes read are never dropped: a write
 * that has to wait keeps them. */
static long splice_copy(struct k_task *t, struct k_file *in, int64_t *in_pos, struct k_file *out,
			int64_t *out_pos, size_t n)
{
	size_t cap = n < (1 << 16) ? n : (1 << 16);
	char *buf = malloc(cap ? cap : 1);
	if (!buf)
		return -ENOMEM;
	size_t done = 0;
	long err = 0;
	while (done < n && !err) {
		struct iovec v = {buf, n - done < cap ? n - done : cap};
		ssize_t r = in->ops->read(in, &v, 1, in_pos);
		if (r == -K_EBLOCK) {
			if (done)
				break; /* what came so far */
			if (in->flags & O_NONBLOCK) {
				err = -EAGAIN;
				break;
			}
			err = wait_file(t, in, false);
			continue;
		}
		if (r <= 0) {
			err = r;
			break;
		}
		size_t off = 0;
		while (off < (size_t)r) {
			struct iovec w = {buf + off, (size_t)r - off};
			ssize_t wr = out->ops->write(out, &w, 1, out_pos);
			if (wr == -K_EBLOCK) {
				if (out->flags & O_NONBLOCK) {
					wr = -EAGAIN;
				} else if ((wr = wait_file(t, out, true)) == 0) {
					continue;
				}
			}
			if (wr < 0) {
				/* The bytes read and not written are lost to the
				 * reader, as with Linux's sendfile on an error. */
				err = wr;
				break;
			}
			off += (size_t)wr;
			done += (size_t)wr;
		}
	}
	free(buf);
	return done ? (long)done : err;
}

SYSCALL(sendfile)
{
	struct k_file *out = fdt_get(t, (int)a[0]), *in = fdt_get(t, (int)a[1]);
	long r = 0;
	int64_t off = 0;
	if (!out || !in) {
		r = -EBADF;
	} else if (!may(in, false) || !may(out, true)) {
		r = -EBADF;
	} else if (!in->ops->read || !out->ops->write || (in->inode && S_ISDIR(in->inode->mode))) {
		r = -EINVAL;
	} else if (out->flags & O_APPEND) {
		r = -EINVAL;
	} else if (a[2] && k_copy_in(t, &off, a[2], sizeof(off))) {
		r = -EFAULT;
	} else if (a[2] && off < 0) {
		r = -EINVAL;
	} else {
		size_t n = a[3] > MAX_RW ? MAX_RW : (size_t)a[3];
		r = splice_copy(t, in, a[2] ? &off : NULL, out, NULL, n);
		if (r >= 0 && a[2] && k_copy_out(t, a[2], &off, sizeof(off)))
			r = -EFAULT;
	}
	file_put(in);
	file_put(out);
	return r;
}

SYSCALL(copy_file_range)
{
	if (a[5] != 0)
		return -EINVAL;
	struct k_file *in = fdt_get(t, (int)a[0]), *out = fdt_get(t, (int)a[2]);
	long r = 0;
	int64_t ioff = 0, ooff = 0;
	size_t len = a[4] > MAX_RW ? MAX_RW : (size_t)a[4];
	if (!in || !out || !may(in, false) || !may(out, true) || (out->flags & O_APPEND)) {
		r = -EBADF;
	} else if (!in->inode || !out->inode) {
		r = -EINVAL;
	} else if (S_ISDIR(in->inode->mode) || S_ISDIR(out->inode->mode)) {
		r = -EISDIR;
	} else if (!S_ISREG(in->inode->mode) || !S_ISREG(out->inode->mode)) {
		r = -EINVAL;
	} else if ((a[1] && k_copy_in(t, &ioff, a[1], 8)) || (a[3] && k_copy_in(t, &ooff, a[3], 8))) {
		r = -EFAULT;
	} else {
		int64_t ip = a[1] ? ioff : in->pos, op = a[3] ? ooff : out->pos;
		if (ip < 0 || op < 0)
			r = -EOVERFLOW; /* as Linux's checks see a negative offset */
		else if ((uint64_t)ip + len > (uint64_t)INT64_MAX ||
			 (uint64_t)op + len > (uint64_t)INT64_MAX)
			r = -EOVERFLOW;
		else if (in->inode == out->inode && ip < op + (int64_t)len && op < ip + (int64_t)len)
			r = -EINVAL; /* overlapping ranges of one file */
		if (!r && len) {
			r = splice_copy(t, in, &ip, out, &op, len);
			if (r >= 0) {
				if (a[1])
					r = k_copy_out(t, a[1], &ip, 8) ? -EFAULT : r;
				else
					in->pos = ip;
				if (a[3])
					r = k_copy_out(t, a[3], &op, 8) ? -EFAULT : r;
				else
					out->pos = op;
			}
		}
	}
	file_put(in);
	file_put(out);
	return r;
}
