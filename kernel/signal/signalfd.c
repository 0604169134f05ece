/* signalfd: a file that reads the reader's pending signals of its mask
 * as struct signalfd_siginfo, taking them as sigtimedwait would.  Poll
 * answers for the task that asks (as Linux's signalfd_poll does for
 * current). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include "../../snapshot/snapshot.h"
#include "../sentry.h"

#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))

struct k_signalfd {
	uint64_t mask;
};

static void to_ssi(const siginfo_t *si, struct signalfd_siginfo *o)
{
	memset(o, 0, sizeof(*o));
	o->ssi_signo = (uint32_t)si->si_signo;
	o->ssi_errno = si->si_errno;
	o->ssi_code = si->si_code;
	if (si->si_code > 0 && si->si_signo != SIGCHLD) {
		/* A fault: the address. */
		o->ssi_addr = (uint64_t)(uintptr_t)si->si_addr;
		return;
	}
	o->ssi_pid = (uint32_t)si->si_pid;
	o->ssi_uid = si->si_uid;
	if (si->si_signo == SIGCHLD) {
		o->ssi_status = si->si_status;
	} else if (si->si_code == SI_QUEUE || si->si_code == SI_TIMER || si->si_code == SI_MESGQ) {
		o->ssi_int = si->si_value.sival_int;
		o->ssi_ptr = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
		if (si->si_code == SI_TIMER) {
			o->ssi_tid = (uint32_t)si->si_timerid;
			o->ssi_overrun = (uint32_t)si->si_overrun;
		}
	}
}

static ssize_t sfd_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct k_signalfd *s = f->priv;
	struct k_task *t = k_current();
	if (pos)
		return -ESPIPE;
	size_t room = iov_total(iov, n);
	if (room < sizeof(struct signalfd_siginfo))
		return -EINVAL;
	if (!t)
		return -EAGAIN;
	size_t done = 0;
	/* As many as fit, each whole; written piece by piece into the iovecs. */
	while (room - done >= sizeof(struct signalfd_siginfo)) {
		siginfo_t si;
		if (!signal_dequeue(t, s->mask, &si))
			break;
		struct signalfd_siginfo o;
		to_ssi(&si, &o);
		size_t skip = done, at = 0;
		for (int i = 0; i < n && at < sizeof(o); i++) {
			if (skip >= iov[i].iov_len) {
				skip -= iov[i].iov_len;
				continue;
			}
			size_t take = iov[i].iov_len - skip;
			if (take > sizeof(o) - at)
				take = sizeof(o) - at;
			memcpy((char *)iov[i].iov_base + skip, (char *)&o + at, take);
			at += take;
			skip = 0;
		}
		done += sizeof(o);
	}
	if (done)
		return (ssize_t)done;
	return (f->flags & O_NONBLOCK) ? -EAGAIN : -K_EBLOCK;
}

static short sfd_poll(struct k_file *f)
{
	struct k_signalfd *s = f->priv;
	struct k_task *t = k_current();
	if (t && ((t->pending | t->tg->pending) & s->mask))
		return POLLIN | POLLRDNORM;
	return 0;
}

static void sfd_release(struct k_file *f)
{
	free(f->priv);
}

static int sfd_fdinfo(struct k_file *f, char *buf, size_t size)
{
	struct k_signalfd *s = f->priv;
	return snprintf(buf, size, "sigmask:\t%016llx\n", (unsigned long long)s->mask);
}

/* Checkpoint: a signalfd is its mask (the signals it reads are the
 * tasks', saved with them). */
static int sfd_save(struct k_file *f, struct snap_enc *e, struct ckpt_ctx *c)
{
	(void)c;
	snap_put_u64(e, ((struct k_signalfd *)f->priv)->mask);
	return 0;
}

static const struct k_file_ops signalfd_ops = {
	.ckpt_kind = CKF_SIGNALFD,
	.save = sfd_save,
	.read = sfd_read,
	.stat = anon_stat,
	.seek = anon_seek,
	.poll = sfd_poll,
	.release = sfd_release,
	.fdinfo = sfd_fdinfo,
	.anon_name = "[signalfd]",
};

static struct k_file *sfd_new(uint64_t mask, int flags)
{
	struct k_signalfd *s = calloc(1, sizeof(*s));
	struct k_file *f = s ? file_new(&signalfd_ops, O_RDWR | (flags & O_NONBLOCK)) : NULL;
	if (!f) {
		free(s);
		return NULL;
	}
	s->mask = mask & ~UNBLOCKABLE;
	f->priv = s;
	return f;
}

int signalfd_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		     struct k_file **out)
{
	(void)k, (void)c;
	uint64_t mask = snap_get_u64(d);
	if (snap_dec_err(d))
		return -EBADMSG;
	struct k_file *f = sfd_new(mask, flags);
	if (!f)
		return -ENOMEM;
	f->flags = flags;
	*out = f;
	return 0;
}

SYSCALL(signalfd4)
{
	int fd = (int)a[0], flags = (int)a[3];
	if (a[2] != sizeof(uint64_t))
		return -EINVAL;
	if (flags & ~(SFD_CLOEXEC | SFD_NONBLOCK))
		return -EINVAL;
	uint64_t mask;
	if (k_copy_in(t, &mask, a[1], sizeof(mask)))
		return -EFAULT;
	mask &= ~UNBLOCKABLE;
	if (fd != -1) {
		struct k_file *f = fdt_get(t, fd);
		if (!f)
			return -EBADF;
		long r = -EINVAL;
		if (f->ops == &signalfd_ops) {
			((struct k_signalfd *)f->priv)->mask = mask;
			k_file_notify();
			r = fd;
		}
		file_put(f);
		return r;
	}
	struct k_file *f = sfd_new(mask, flags & SFD_NONBLOCK ? O_NONBLOCK : 0);
	if (!f)
		return -ENOMEM;
	long r = fdt_install(t, f, 0, flags & SFD_CLOEXEC);
	file_put(f);
	return r;
}

SYSCALL(signalfd)
{
	const uint64_t b[4] = {a[0], a[1], a[2], 0};
	return sys_signalfd4(t, b);
}
