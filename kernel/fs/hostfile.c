/* Files backed by a host descriptor the sentry owns: husk's own stdin,
 * stdout and stderr, handed to the guest as its fds 0, 1 and 2.  The guest
 * never holds the host descriptor; it reaches it only through these ops. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "../../snapshot/snapshot.h"
#include "../sentry.h"

/* A signal for the guest interrupted the host call: restart or EINTR, as
 * the guest's disposition decides. */
#define ERESTARTSYS 512

/* Whether the host descriptor is ready: a blocking read that would wait
 * returns -K_EBLOCK, and the read layer sleeps on the descriptor, where a
 * signal that came just before cannot be missed (not in the host readv).
 * Blocking writes go straight to the host. */
static int wait_ready(struct k_file *f, short ev)
{
	bool nonblock = f->flags & O_NONBLOCK;
	if (!nonblock && ev != POLLIN)
		return 0;
	struct pollfd p = {f->host_fd, ev, 0};
	int r = poll(&p, 1, 0);
	if (r < 0)
		return -errno;
	if (r == 0)
		return nonblock ? -EAGAIN : -K_EBLOCK;
	return 0;
}

static ssize_t host_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	int err = wait_ready(f, POLLIN);
	if (err)
		return err;
	ssize_t r = pos ? preadv(f->host_fd, iov, n, (off_t)*pos) : readv(f->host_fd, iov, n);
	if (r < 0)
		return errno == EINTR ? -ERESTARTSYS : -errno;
	if (pos)
		*pos += r;
	return r;
}

static ssize_t host_write(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	int err = wait_ready(f, POLLOUT);
	if (err)
		return err;
	ssize_t r = pos ? pwritev(f->host_fd, iov, n, (off_t)*pos) : writev(f->host_fd, iov, n);
	if (r < 0)
		return errno == EINTR ? -ERESTARTSYS : -errno;
	if (pos)
		*pos += r;
	return r;
}

static long host_ioctl(struct k_task *t, struct k_file *f, unsigned cmd, uint64_t arg)
{
	switch (cmd) {
	case TCGETS: {
		/* The kernel's struct termios (36 bytes), not glibc's larger one:
		 * the guest gets exactly what Linux writes. */
		struct {
			uint32_t iflag, oflag, cflag, lflag;
			uint8_t line, cc[19];
		} tio;
		_Static_assert(sizeof(tio) == 36, "kernel termios");
		if (ioctl(f->host_fd, TCGETS, &tio) != 0)
			return -errno;
		return k_copy_out(t, arg, &tio, sizeof(tio));
	}
	case TIOCGWINSZ: {
		struct winsize ws;
		if (ioctl(f->host_fd, TIOCGWINSZ, &ws) != 0)
			return -errno;
		return k_copy_out(t, arg, &ws, sizeof(ws));
	}
	case TIOCGPGRP: {
		/* The host's process group is a host pid: answer with the
		 * guest's own. */
		if (!isatty(f->host_fd))
			return -ENOTTY;
		int pgrp = t->tg->pgid;
		return k_copy_out(t, arg, &pgrp, sizeof(pgrp));
	}
	case FIONREAD: {
		int avail;
		if (ioctl(f->host_fd, FIONREAD, &avail) != 0)
			return -errno;
		return k_copy_out(t, arg, &avail, sizeof(avail));
	}
	default:
		return -ENOTTY;
	}
}

static int host_stat(struct k_file *f, struct stat *st)
{
	if (fstat(f->host_fd, st) != 0)
		return -errno;
	/* Host device and inode numbers mean nothing in the sandbox (and an
	 * address of the sentry's would tell the guest too much). */
	st->st_dev = makedev(0, 0x10);
	st->st_ino = f->ino;
	return 0;
}

static int64_t host_seek(struct k_file *f, int64_t off, int whence)
{
	off_t r = lseek(f->host_fd, (off_t)off, whence);
	return r < 0 ? -errno : (int64_t)r;
}

static bool host_at_eof(struct k_file *f)
{
	struct stat st;
	if (fstat(f->host_fd, &st) != 0)
		return false;
	if (S_ISREG(st.st_mode)) {
		off_t pos = lseek(f->host_fd, 0, SEEK_CUR);
		return pos >= st.st_size;
	}
	if (S_ISCHR(st.st_mode))
		return st.st_rdev == makedev(1, 3); /* /dev/null */
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
		struct pollfd p = {f->host_fd, POLLIN, 0};
		return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && !(p.revents & POLLIN);
	}
	return false;
}

static void host_release(struct k_file *f)
{
	close(f->host_fd);
}

/* Only husk's own stdio can be bound again in a restored sandbox: the
 * snapshot says which one (f->priv: 1 + its number, 0 for none). */
static int host_save(struct k_file *f, struct snap_enc *e, struct ckpt_ctx *c)
{
	(void)c;
	int which = hostfile_stdio(f);
	if (which < 0)
		return -EOPNOTSUPP;
	snap_put_u8(e, (uint8_t)which);
	return 0;
}

static const struct k_file_ops hostfile_ops = {
	.ckpt_kind = CKF_STDIO,
	.save = host_save,
	.read = host_read,
	.write = host_write,
	.ioctl = host_ioctl,
	.stat = host_stat,
	.seek = host_seek,
	.at_eof = host_at_eof,
	.release = host_release,
};

struct k_file *hostfile_new(int host_fd, int flags)
{
	struct k_file *f = file_new(&hostfile_ops, flags);
	if (f)
		f->host_fd = host_fd;
	return f;
}

void hostfile_set_stdio(struct k_file *f, int which)
{
	if (f->ops == &hostfile_ops && which >= 0 && which <= 2)
		f->priv = (void *)(intptr_t)(which + 1);
}

int hostfile_stdio(const struct k_file *f)
{
	return f->ops == &hostfile_ops && f->priv ? (int)(intptr_t)f->priv - 1 : -1;
}

int hostfile_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		     struct k_file **out)
{
	(void)c;
	int which = snap_get_u8(d);
	if (snap_dec_err(d) || which > 2)
		return -EBADMSG;
	/* The restoring husk's own stdio, as at boot (closed there: /dev/null
	 * semantics are not invented, the guest's fd stays closed). */
	int hfd = k->cfg.stdio[which];
	if (fcntl(hfd, F_GETFL) < 0)
		return -ENOENT;
	int fd = fcntl(hfd, F_DUPFD_CLOEXEC, 10);
	if (fd < 0)
		return -errno;
	struct k_file *f = hostfile_new(fd, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	hostfile_set_stdio(f, which);
	*out = f;
	return 0;
}
