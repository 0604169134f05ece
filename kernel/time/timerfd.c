/* timerfd: timers read through a descriptor.  Expirations are counted
 * when asked (a read, gettime, fdinfo) from the clock and the timer's
 * deadline and interval, so no host timer runs for them; a blocking read
 * sleeps in the sentry until the next deadline or a signal. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../../snapshot/snapshot.h"
#include "../sentry.h"

#define TFD_TIMER_ABSTIME 1
#define TFD_TIMER_CANCEL_ON_SET 2
#define ERESTARTSYS 512
#define NSEC 1000000000LL

struct k_timerfd {
	clockid_t host;  /* the host clock it runs on */
	int clockid;     /* as the guest named it */
	int settime_flags;
	int64_t next;     /* next expiration not yet counted, clock ns; 0: disarmed */
	int64_t interval; /* ns; 0: one-shot */
	uint64_t ticks;   /* expirations counted, not yet read */
};

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;
	k_clock_ts(c, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return k_ns(ts->tv_sec, ts->tv_nsec);
}

static struct timespec ns_ts(int64_t ns)
{
	return (struct timespec){ns / NSEC, ns % NSEC};
}

/* Moves expirations up to now into ticks. */
static void advance(struct k_timerfd *tf)
{
	if (!tf->next)
		return;
	int64_t now = now_ns(tf->host);
	if (now < tf->next)
		return;
	if (!tf->interval) {
		tf->ticks++;
		tf->next = 0;
		return;
	}
	int64_t n = (now - tf->next) / tf->interval + 1, step;
	tf->ticks += (uint64_t)n;
	if (__builtin_mul_overflow(n, tf->interval, &step))
		step = INT64_MAX;
	tf->next = k_ns_add(tf->next, step);
}

static ssize_t tfd_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct k_timerfd *tf = f->priv;
	if (pos)
		return -ESPIPE;
	if (iov_total(iov, n) < 8)
		return -EINVAL;
	advance(tf);
	if (!tf->ticks)
		return (f->flags & O_NONBLOCK) ? -EAGAIN : -K_EBLOCK; /* sleeps until poll_wake */
	uint64_t val = tf->ticks;
	tf->ticks = 0;
	iov_copy(iov, n, &val, 8, true);
	return 8;
}

static void tfd_release(struct k_file *f)
{
	free(f->priv);
}

/* What is left before the next expiration. */
static int64_t remaining(struct k_timerfd *tf)
{
	advance(tf);
	if (!tf->next)
		return 0;
	int64_t left = tf->next - now_ns(tf->host);
	return left > 0 ? left : 1;
}

static int tfd_fdinfo(struct k_file *f, char *buf, size_t size)
{
	struct k_timerfd *tf = f->priv;
	struct timespec v = ns_ts(remaining(tf)), i = ns_ts(tf->interval);
	return snprintf(buf, size,
			"clockid: %d\nticks: %llu\nsettime flags: 0%o\nit_value: (%lld, %ld)\n"
			"it_interval: (%lld, %ld)\n",
			tf->clockid, (unsigned long long)tf->ticks, (unsigned)tf->settime_flags,
			(long long)v.tv_sec, v.tv_nsec, (long long)i.tv_sec, i.tv_nsec);
}

static short tfd_poll(struct k_file *f)
{
	struct k_timerfd *tf = f->priv;
	advance(tf);
	return tf->ticks ? POLLIN : 0;
}

static int64_t tfd_poll_wake(struct k_file *f)
{
	struct k_timerfd *tf = f->priv;
	/* Readable already, it stays so until a read: nothing to wake for. */
	if (!tf->next || tf->ticks)
		return 0;
	/* The next expiry, moved onto the monotonic clock. */
	return k_ns_add(now_ns(CLOCK_MONOTONIC), tf->next - now_ns(tf->host));
}

/* Checkpoint: the timer as it stands, its deadline as the guest's clock
 * reads it (a restore's clock goes on from the snapshot's). */
static int tfd_save(struct k_file *f, struct snap_enc *e, struct ckpt_ctx *c)
{
	(void)c;
	struct k_timerfd *tf = f->priv;
	snap_put_u32(e, (uint32_t)tf->clockid);
	snap_put_u32(e, (uint32_t)tf->settime_flags);
	snap_put_i64(e, tf->next ? k_clock_to_guest(tf->host, tf->next) : 0);
	snap_put_i64(e, tf->interval);
	snap_put_u64(e, tf->ticks);
	return 0;
}

/* The clock a timerfd of clockid runs on; -EINVAL for one it cannot. */
static int host_clock(int clockid, clockid_t *host)
{
	switch (clockid) {
	case CLOCK_REALTIME: case CLOCK_REALTIME_ALARM: *host = CLOCK_REALTIME; return 0;
	case CLOCK_MONOTONIC: *host = CLOCK_MONOTONIC; return 0;
	case CLOCK_BOOTTIME: case CLOCK_BOOTTIME_ALARM: *host = CLOCK_BOOTTIME; return 0;
	default: return -EINVAL;
	}
}

static const struct k_file_ops timerfd_ops = {
	.ckpt_kind = CKF_TIMERFD,
	.save = tfd_save,
	.read = tfd_read,
	.stat = anon_stat,
	.seek = anon_seek,
	.release = tfd_release,
	.anon_name = "timerfd",
	.fdinfo = tfd_fdinfo,
	.poll = tfd_poll,
	.poll_wake = tfd_poll_wake,
};

SYSCALL(timerfd_create)
{
	int clockid = (int)a[0], flags = (int)a[1];
	clockid_t host;
	if (host_clock(clockid, &host))
		return -EINVAL;
	if (flags & ~(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	/* The alarm clocks need CAP_WAKE_ALARM: euid 0 in the sandbox. */
	if ((clockid == CLOCK_REALTIME_ALARM || clockid == CLOCK_BOOTTIME_ALARM) &&
	    t->tg->euid != 0)
		return -EPERM;
	struct k_timerfd *tf = calloc(1, sizeof(*tf));
	struct k_file *f = tf ? file_new(&timerfd_ops, O_RDWR | (flags & O_NONBLOCK)) : NULL;
	if (!f) {
		free(tf);
		return -ENOMEM;
	}
	tf->host = host;
	tf->clockid = clockid;
	f->priv = tf;
	long fd = fdt_install(t, f, 0, flags & O_CLOEXEC);
	file_put(f);
	return fd;
}

int timerfd_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		    struct k_file **out)
{
	(void)k, (void)c;
	int clockid = (int)snap_get_u32(d), sflags = (int)snap_get_u32(d);
	int64_t next = snap_get_i64(d), interval = snap_get_i64(d);
	uint64_t ticks = snap_get_u64(d);
	clockid_t host;
	if (host_clock(clockid, &host))
		return -EBADMSG;
	if (snap_dec_err(d) || next < 0 || interval < 0 ||
	    (sflags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)))
		return -EBADMSG;
	if (next && (next = k_clock_from_guest(host, next)) <= 0)
		next = 1; /* (due: at once) */
	struct k_timerfd *tf = calloc(1, sizeof(*tf));
	struct k_file *f = tf ? file_new(&timerfd_ops, O_RDWR | (flags & O_NONBLOCK)) : NULL;
	if (!f) {
		free(tf);
		return -ENOMEM;
	}
	*tf = (struct k_timerfd){.host = host, .clockid = clockid, .settime_flags = sflags,
				 .next = next, .interval = interval, .ticks = ticks};
	f->priv = tf;
	*out = f;
	return 0;
}

/* The timerfd behind fd: EBADF for no file, EINVAL for another kind. */
static long get_timerfd(struct k_task *t, int fd, struct k_file **out)
{
	struct k_file *f = fdt_get(t, fd);
	if (!f)
		return -EBADF;
	if (f->ops != &timerfd_ops) {
		file_put(f);
		return -EINVAL;
	}
	*out = f;
	return 0;
}

static void get_value(struct k_timerfd *tf, struct itimerspec *cur)
{
	cur->it_value = ns_ts(remaining(tf));
	cur->it_interval = ns_ts(tf->interval);
}

static bool valid_ts(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < NSEC;
}

SYSCALL(timerfd_settime)
{
	int flags = (int)a[1];
	struct itimerspec nv, old;
	if (k_copy_in(t, &nv, a[2], sizeof(nv)))
		return -EFAULT;
	if ((flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) || !valid_ts(&nv.it_value) ||
	    !valid_ts(&nv.it_interval))
		return -EINVAL;
	struct k_file *f;
	long err = get_timerfd(t, (int)a[0], &f);
	if (err)
		return err;
	struct k_timerfd *tf = f->priv;
	get_value(tf, &old);
	/* Setting the timer drops expirations not yet read, as Linux does. */
	tf->ticks = 0;
	tf->settime_flags = flags;
	tf->interval = ts_ns(&nv.it_interval);
	int64_t v = ts_ns(&nv.it_value);
	if (!v)
		tf->next = 0;
	else if (flags & TFD_TIMER_ABSTIME)
		tf->next = (v = k_clock_from_guest(tf->host, v)) > 0 ? v : 1; /* (0 reads as disarmed) */
	else
		tf->next = k_ns_add(now_ns(tf->host), v);
	file_put(f);
	k_file_notify(); /* sleepers recompute their deadline */
	if (a[3] && k_copy_out(t, a[3], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

SYSCALL(timerfd_gettime)
{
	struct k_file *f;
	long err = get_timerfd(t, (int)a[0], &f);
	if (err)
		return err;
	struct itimerspec cur;
	get_value(f->priv, &cur);
	file_put(f);
	return k_copy_out(t, a[1], &cur, sizeof(cur));
}
