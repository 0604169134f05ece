/* poll, ppoll, select and pselect6.  A sentry file answers from its own
 * state (k_file_ops.poll, or always ready as Linux's default); husk's
 * host descriptors (stdio) are asked with a host poll.  A wait is one host
 * ppoll over those descriptors that a signal, the timeout or the next
 * expiry of a timerfd being polled also ends. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../sentry.h"

#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516
#define DEFAULT_POLLMASK (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)
/* What each select set asks for, as Linux's POLLIN_SET and friends. */
#define IN_SET (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR)
#define OUT_SET (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR)
#define EX_SET (POLLPRI)

struct preq {
	int fd;
	short events, revents;
	short match; /* what counts as ready: poll adds POLLERR and POLLHUP */
};

static int64_t mono_now(void)
{
	struct timespec ts;
	k_clock_ts(CLOCK_MONOTONIC, &ts);
	return k_ns(ts.tv_sec, ts.tv_nsec);
}

/* The file's readiness, all of it; host files add their descriptor to
 * what a wait sleeps on. */
short k_file_ready(struct k_file *f, short events, struct pollfd *host, int *nhost, int maxhost)
{
	if (f->ops && f->ops->poll)
		return f->ops->poll(f);
	if (f->host_fd < 0)
		return DEFAULT_POLLMASK;
	struct pollfd p = {f->host_fd, events, 0};
	if (poll(&p, 1, 0) < 0)
		p.revents = 0;
	/* One entry a host descriptor, however many guest fds share it. */
	int i = 0;
	while (i < *nhost && host[i].fd != f->host_fd)
		i++;
	if (i == *nhost) {
		if (*nhost >= maxhost)
			return p.revents; /* no room to wait on it: polled at each look */
		host[(*nhost)++] = (struct pollfd){f->host_fd, 0, 0};
	}
	host[i].events |= events;
	return p.revents;
}

/* Scans until something is ready, the deadline (CLOCK_MONOTONIC ns; 0:
 * none, -1: do not wait) passes, or a signal comes (-EINTR).  Returns the
 * number of requests with revents. */
static long do_poll(struct k_task *t, struct preq *req, unsigned n, int64_t deadline)
{
	struct pollfd *host = calloc(n ? n : 1, sizeof(*host));
	if (!host)
		return -ENOMEM;
	bool last = deadline < 0;
	long ready;
	for (;;) {
		int nhost = 0;
		int64_t wake = deadline > 0 ? deadline : 0;
		ready = 0;
		for (unsigned i = 0; i < n; i++) {
			req[i].revents = 0;
			if (req[i].fd < 0)
				continue;
			struct k_file *f = fdt_get(t, req[i].fd);
			if (!f) {
				req[i].revents = POLLNVAL;
				ready++;
				continue;
			}
			req[i].revents =
				(short)(k_file_ready(f, req[i].events, host, &nhost, (int)n) & req[i].match);
			if (f->ops && f->ops->poll_wake) {
				int64_t w = f->ops->poll_wake(f);
				if (w && (!wake || w < wake))
					wake = w;
			}
			file_put(f);
			if (req[i].revents)
				ready++;
		}
		if (ready || last)
			break;
		/* A signal the guest lets in (ppoll's mask, say) ends the wait. */
		if (task_interrupted(t)) {
			ready = -EINTR;
			break;
		}
		struct timespec until = {wake / 1000000000, wake % 1000000000};
		struct k_waitq *q = &k_file_events;
		struct k_sleep sl = {.qs = &q, .nq = 1, .clock = CLOCK_MONOTONIC,
				     .deadline = wake ? &until : NULL, .fds = host, .nfds = nhost};
		int r = k_sleep(t, &sl);
		if (r < 0 && r != -ETIMEDOUT) {
			ready = r; /* -EINTR: a signal */
			break;
		}
		/* Past the deadline: one more look, then give up. */
		if (deadline > 0 && mono_now() >= deadline)
			last = true;
	}
	free(host);
	return ready;
}

/* ---- poll and ppoll ---- */

static long poll_fds(struct k_task *t, uint64_t ufds, unsigned n, int64_t deadline)
{
	/* RLIMIT_NOFILE, which Linux keeps under nr_open (1 << 20): that
	 * bounds what the sentry allocates here. */
	if (n > t->tg->rlim[RLIMIT_NOFILE].rlim_cur || n > (1U << 20))
		return -EINVAL;
	struct pollfd *p = calloc(n ? n : 1, sizeof(*p));
	struct preq *req = calloc(n ? n : 1, sizeof(*req));
	long r = p && req ? 0 : -ENOMEM;
	if (!r && n && k_copy_in(t, p, ufds, n * sizeof(*p)))
		r = -EFAULT;
	if (!r) {
		for (unsigned i = 0; i < n; i++)
			req[i] = (struct preq){p[i].fd, p[i].events, 0,
					       (short)(p[i].events | POLLERR | POLLHUP)};
		r = do_poll(t, req, n, deadline);
	}
	if (r >= 0) {
		for (unsigned i = 0; i < n; i++)
			p[i].revents = req[i].revents;
		if (n && k_copy_out(t, ufds, p, n * sizeof(*p)))
			r = -EFAULT;
	}
	free(p);
	free(req);
	return r;
}

static long restart_poll(struct k_task *t)
{
	int64_t deadline = (int64_t)t->restart_args[1];
	long r = poll_fds(t, t->restart_args[0], (unsigned)t->restart_args[2], deadline);
	if (r == -EINTR) {
		t->restart_fn = restart_poll;
		t->restart_nr = SYS_restart_syscall;
		return -ERESTART_RESTARTBLOCK;
	}
	return r;
}

SYSCALL(poll)
{
	unsigned n = (unsigned)a[1];
	int ms = (int)a[2];
	int64_t deadline = ms < 0 ? 0 : ms == 0 ? -1 : k_ns_add(mono_now(), (int64_t)ms * 1000000);
	long r = poll_fds(t, a[0], n, deadline);
	if (r == -EINTR) {
		/* Resumed with what is left of the timeout, as Linux's
		 * do_restart_poll. */
		t->restart_fn = restart_poll;
		t->restart_args[0] = a[0];
		t->restart_args[1] = (uint64_t)deadline;
		t->restart_args[2] = n;
		t->restart_nr = SYS_restart_syscall;
		return -ERESTART_RESTARTBLOCK;
	}
	return r;
}

/* A timeout given as a timespec (NULL: forever) as a deadline for
 * do_poll; the zero timeout means no wait. */
static long ts_deadline(struct k_task *t, uint64_t uts, int64_t *deadline)
{
	*deadline = 0;
	if (!uts)
		return 0;
	struct timespec ts;
	if (k_copy_in(t, &ts, uts, sizeof(ts)))
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
		return -EINVAL;
	int64_t ns = k_ns(ts.tv_sec, ts.tv_nsec);
	*deadline = ns ? k_ns_add(mono_now(), ns) : -1;
	return 0;
}

/* The temporary signal mask of ppoll and pselect6, kept as rt_sigsuspend
 * keeps it: restored on return unless a handler is about to run. */
static long set_mask(struct k_task *t, uint64_t umask, uint64_t size)
{
	if (!umask)
		return 0;
	if (size != sizeof(uint64_t))
		return -EINVAL;
	uint64_t mask;
	if (k_copy_in(t, &mask, umask, sizeof(mask)))
		return -EFAULT;
	t->saved_sigmask = t->sigmask;
	t->has_saved_sigmask = true;
	t->sigmask = mask & ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
	return 0;
}

/* Linux's poll_select_finish: the time left goes back to the caller, and
 * the saved mask stays only for a signal's handler. */
static long finish(struct k_task *t, int64_t deadline, uint64_t uts, bool timeval, long r)
{
	if (r == -EINTR)
		r = -ERESTARTNOHAND;
	else if (t->has_saved_sigmask) {
		t->sigmask = t->saved_sigmask;
		t->has_saved_sigmask = false;
	}
	if (!uts || deadline <= 0)
		return r;
	int64_t left = deadline - mono_now();
	if (left < 0)
		left = 0;
	bool fault;
	if (timeval) {
		struct timeval tv = {left / 1000000000, left % 1000000000 / 1000};
		fault = k_copy_out(t, uts, &tv, sizeof(tv)) != 0;
	} else {
		struct timespec ts = {left / 1000000000, left % 1000000000};
		fault = k_copy_out(t, uts, &ts, sizeof(ts)) != 0;
	}
	return fault && r == -ERESTARTNOHAND ? -EINTR : r;
}

SYSCALL(ppoll)
{
	int64_t deadline;
	long r = ts_deadline(t, a[2], &deadline);
	if (r)
		return r;
	if ((r = set_mask(t, a[3], a[4])))
		return r;
	r = poll_fds(t, a[0], (unsigned)a[1], deadline);
	return finish(t, deadline, a[2], false, r);
}

/* ---- select and pselect6 ---- */

static long do_select(struct k_task *t, int n, const uint64_t *usets, int64_t deadline)
{
	if (n < 0)
		return -EINVAL;
	/* Clamped to the fd table's size, which in Linux is never under 64:
	 * a closed descriptor below that is EBADF, not ignored. */
	int max_fds = t->fdt->n < 64 ? 64 : t->fdt->n;
	if (n > max_fds)
		n = max_fds;
	size_t words = ((size_t)n + 63) / 64, bytes = words * 8;
	uint64_t *sets[3] = {NULL, NULL, NULL}, *out[3] = {NULL, NULL, NULL};
	struct preq *req = calloc((size_t)n ? (size_t)n : 1, sizeof(*req));
	long r = req ? 0 : -ENOMEM;
	for (int s = 0; s < 3 && !r; s++) {
		if (!usets[s])
			continue;
		sets[s] = calloc(words ? words : 1, 8);
		out[s] = calloc(words ? words : 1, 8);
		if (!sets[s] || !out[s])
			r = -ENOMEM;
		else if (bytes && k_copy_in(t, sets[s], usets[s], bytes))
			r = -EFAULT;
	}
	/* Every descriptor named must be open (Linux's max_select_fd). */
	unsigned nreq = 0;
	for (int fd = 0; fd < n && !r; fd++) {
		short ev = 0;
		const short want[3] = {IN_SET, OUT_SET, EX_SET};
		for (int s = 0; s < 3; s++)
			if (sets[s] && (sets[s][fd / 64] >> (fd % 64) & 1))
				ev |= want[s];
		if (!ev)
			continue;
		struct k_file *f = fdt_get(t, fd);
		if (!f) {
			r = -EBADF;
			break;
		}
		file_put(f);
		req[nreq++] = (struct preq){fd, ev, 0, ev};
	}
	if (!r)
		r = do_poll(t, req, nreq, deadline);
	if (r >= 0) {
		long count = 0;
		for (unsigned i = 0; i < nreq; i++) {
			int fd = req[i].fd;
			const short want[3] = {IN_SET, OUT_SET, EX_SET};
			for (int s = 0; s < 3; s++) {
				if (!sets[s] || !(sets[s][fd / 64] >> (fd % 64) & 1))
					continue;
				if (req[i].revents & want[s]) {
					out[s][fd / 64] |= 1ULL << (fd % 64);
					count++;
				}
			}
		}
		r = count;
		for (int s = 0; s < 3; s++)
			if (sets[s] && bytes && k_copy_out(t, usets[s], out[s], bytes))
				r = -EFAULT;
	}
	for (int s = 0; s < 3; s++) {
		free(sets[s]);
		free(out[s]);
	}
	free(req);
	return r;
}

SYSCALL(select)
{
	int64_t deadline = 0;
	if (a[4]) {
		struct timeval tv;
		if (k_copy_in(t, &tv, a[4], sizeof(tv)))
			return -EFAULT;
		if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
			return -EINVAL;
		int64_t ns = k_ns(tv.tv_sec, tv.tv_usec * 1000);
		deadline = ns ? k_ns_add(mono_now(), ns) : -1;
	}
	const uint64_t sets[3] = {a[1], a[2], a[3]};
	long r = do_select(t, (int)a[0], sets, deadline);
	return finish(t, deadline, a[4], true, r);
}

SYSCALL(pselect6)
{
	int64_t deadline;
	long r = ts_deadline(t, a[4], &deadline);
	if (r)
		return r;
	if (a[5]) {
		/* The sixth argument points at {const sigset_t *ss; size_t len}. */
		uint64_t sig[2];
		if (k_copy_in(t, sig, a[5], sizeof(sig)))
			return -EFAULT;
		if ((r = set_mask(t, sig[0], sig[1])))
			return r;
	}
	const uint64_t sets[3] = {a[1], a[2], a[3]};
	r = do_select(t, (int)a[0], sets, deadline);
	return finish(t, deadline, a[4], false, r);
}
