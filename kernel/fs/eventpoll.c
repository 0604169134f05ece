/* epoll: an interest list of (file, fd) pairs whose readiness epoll_wait
 * collects.  Readiness comes from the same place as poll's (k_file_ready):
 * the sentry's files answer from their state, host descriptors through a
 * host poll.  A wait scans the list and sleeps as poll does, woken by any
 * change of a sentry file.  Level-triggered by default; EPOLLET reports a
 * file again only once its readiness changed or some sentry file changed
 * (so an edge is never missed, though one may come that Linux would not
 * report); EPOLLONESHOT disarms an entry after one report.  An entry goes
 * when its file description is released, as in Linux (closing one fd of
 * a dup'd description keeps it). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "../../snapshot/snapshot.h"
#include "../sentry.h"

#define ERESTARTNOHAND 514
/* Linux's EP_MAX_EVENTS: INT_MAX over the size of one event. */
#define EP_MAX_EVENTS (0x7fffffff / 12)
#define EP_PRIVATE_BITS (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)
/* What EPOLLEXCLUSIVE may come with. */
#define EP_EXCLUSIVE_OK (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | \
			 EPOLLEXCLUSIVE | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND)

struct epitem {
	struct epitem *next;     /* in the epoll's list */
	struct epitem *fnext;    /* in the file's list of registrations */
	struct k_epoll *ep;
	struct k_file *file;     /* not a reference: the release hook removes us */
	int fd;
	uint32_t events;
	uint64_t data;
	uint32_t reported;       /* EPOLLET: what was last reported */
	uint64_t seq;            /* and k_file_seq then */
};

struct k_epoll {
	struct epitem *items;
	struct k_kernel *k;
	struct k_file *file; /* its own file (not a reference) */
	uint64_t gen;   /* ep_poll's pass that last evaluated it */
	short cached;   /* and what it found */
	uint64_t bgen, agen; /* epoll_ctl's depth checks: when measured */
	int below, above;    /* and what they found */
};

/* Linux's EP_MAX_NESTS: epolls in epolls, at most this deep. */
#define EP_MAX_NESTS 4
#define EP_MAX_WATCHES (1 << 19)

/* The packed x86-64 struct epoll_event. */
struct k_epoll_event {
	uint32_t events;
	uint64_t data;
} __attribute__((packed));

static void unlink_file(struct epitem *it)
{
	for (struct epitem **p = (struct epitem **)&it->file->epitems; *p; p = &(*p)->fnext)
		if (*p == it) {
			*p = it->fnext;
			return;
		}
}

static void item_free(struct k_epoll *ep, struct epitem *it)
{
	for (struct epitem **p = &ep->items; *p; p = &(*p)->next)
		if (*p == it) {
			*p = it->next;
			break;
		}
	unlink_file(it);
	ep->k->epoll_watches--;
	free(it);
}

void epoll_file_gone(struct k_file *f)
{
	while (f->epitems) {
		struct epitem *it = f->epitems;
		item_free(it->ep, it);
	}
}

static struct epitem *find(struct k_epoll *ep, struct k_file *f, int fd)
{
	for (struct epitem *it = ep->items; it; it = it->next)
		if (it->file == f && it->fd == fd)
			return it;
	return NULL;
}

/* What an entry reports now (0: nothing). */
static uint32_t item_ready(struct epitem *it, struct pollfd *host, int *nhost, int maxhost,
			   int64_t *wake)
{
	uint32_t want = it->events & ~EP_PRIVATE_BITS;
	if (!want && !(it->events & EPOLLET) && (it->events & EPOLLONESHOT))
		return 0; /* disarmed */
	uint32_t mask = (uint16_t)k_file_ready(it->file, (short)want, host, nhost, maxhost);
	if (it->file->ops && it->file->ops->poll_wake) {
		int64_t w = it->file->ops->poll_wake(it->file);
		if (w && (!*wake || w < *wake))
			*wake = w;
	}
	/* Errors and hangups are reported whether asked for or not. */
	uint32_t got = mask & (want | EPOLLERR | EPOLLHUP);
	if (!(it->events & EPOLLET))
		return got;
	if (!got) {
		it->reported = 0;
		return 0;
	}
	/* New events, or a change of some sentry file since the last report
	 * (the sentry does not tell which file: an edge may be reported
	 * that Linux would not, never one missed). */
	bool fresh = (got & ~it->reported) || it->seq != k_file_seq;
	it->reported = got;
	it->seq = k_file_seq;
	return fresh ? got : 0;
}

/* An epoll is readable when one of its entries is ready.  Nested epolls
 * are asked once per outermost question (a generation), so a lattice of
 * epolls costs its size, not its paths; depth is bounded at ADD time,
 * and here again as a backstop. */
static uint64_t ep_gen;
static int ep_depth;

static short ep_poll(struct k_file *f)
{
	struct k_epoll *ep = f->priv;
	if (ep_depth == 0)
		ep_gen++;
	if (ep->gen == ep_gen)
		return ep->cached;
	if (ep_depth > EP_MAX_NESTS)
		return 0;
	ep->gen = ep_gen;
	ep->cached = 0;
	ep_depth++;
	struct pollfd host[1];
	for (struct epitem *it = ep->items; it; it = it->next) {
		uint32_t want = it->events & ~EP_PRIVATE_BITS;
		int nhost = 0;
		uint32_t mask = (uint16_t)k_file_ready(it->file, (short)want, host, &nhost, 1);
		if (mask & (want | EPOLLERR | EPOLLHUP)) {
			ep->cached = POLLIN | POLLRDNORM;
			break;
		}
	}
	ep_depth--;
	return ep->cached;
}

static void ep_release(struct k_file *f)
{
	struct k_epoll *ep = f->priv;
	while (ep->items)
		item_free(ep, ep->items);
	free(ep);
}

static int ep_fdinfo(struct k_file *f, char *buf, size_t size)
{
	struct k_epoll *ep = f->priv;
	size_t n = 0;
	for (struct epitem *it = ep->items; it && n < size; it = it->next) {
		int w = snprintf(buf + n, size - n, "tfd: %8d events: %8x data: %16llx  pos:0 ino:%llx sdev:0\n",
				 it->fd, it->events, (unsigned long long)it->data,
				 (unsigned long long)it->file->ino);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	return (int)(n < size ? n : size);
}

/* Checkpoint: nothing of its own; its entries go in a record of their own
 * once every file they name is saved (ckpt/save.c). */
static int ep_save(struct k_file *f, struct snap_enc *e, struct ckpt_ctx *c)
{
	(void)f, (void)e, (void)c;
	return 0;
}

static const struct k_file_ops epoll_ops = {
	.ckpt_kind = CKF_EPOLL,
	.save = ep_save,
	.stat = anon_stat,
	.seek = anon_seek,
	.anon_name = "[eventpoll]",
	.fdinfo = ep_fdinfo,
	.poll = ep_poll,
	.release = ep_release,
};

/* An empty epoll's file (epoll_create and a restore). */
static struct k_file *epoll_new(struct k_kernel *k)
{
	struct k_epoll *ep = calloc(1, sizeof(*ep));
	struct k_file *f = ep ? file_new(&epoll_ops, O_RDWR) : NULL;
	if (!f) {
		free(ep);
		return NULL;
	}
	f->priv = ep;
	ep->file = f;
	ep->k = k;
	return f;
}

static long create(struct k_task *t, int flags)
{
	if (flags & ~EPOLL_CLOEXEC)
		return -EINVAL;
	struct k_file *f = epoll_new(t->k);
	if (!f)
		return -ENOMEM;
	long fd = fdt_install(t, f, 0, flags & EPOLL_CLOEXEC);
	file_put(f);
	return fd;
}

SYSCALL(epoll_create1) { return create(t, (int)a[0]); }

int epoll_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		  struct k_file **out)
{
	(void)d, (void)flags, (void)c;
	return (*out = epoll_new(k)) ? 0 : -ENOMEM;
}

int epoll_entries(struct k_file *f, struct k_epoll_entry *out, int max)
{
	struct k_epoll *ep = f->priv;
	int n = 0;
	for (struct epitem *it = ep->items; it; it = it->next, n++)
		if (n < max)
			out[n] = (struct k_epoll_entry){it->file, it->fd, it->events, it->data};
	return n;
}

static bool nest_ok(struct k_file *f, struct k_epoll *ep);

int epoll_restore_entry(struct k_kernel *k, struct k_file *f, const struct k_epoll_entry *e)
{
	struct k_epoll *ep = f->priv;
	/* (No search for a duplicate: a linear one per entry would let a
	 * snapshot's huge list take quadratic time.  A duplicate entry only
	 * reports its file twice, to that guest.) */
	if (e->file == f || k->epoll_watches >= EP_MAX_WATCHES)
		return -EINVAL;
	/* An epoll in an epoll: the checks epoll_ctl makes (a snapshot
	 * cannot make a loop, or a chain deeper than Linux allows). */
	if (file_is_epoll(e->file) && !nest_ok(e->file, ep))
		return -ELOOP;
	struct epitem *it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	k->epoll_watches++;
	*it = (struct epitem){.ep = ep, .file = e->file, .fd = e->fd, .events = e->events,
			      .data = e->data};
	/* Oldest first in the save: each goes to the front, as epoll_ctl's. */
	it->next = ep->items;
	ep->items = it;
	it->fnext = e->file->epitems;
	e->file->epitems = it;
	return 0;
}

SYSCALL(epoll_create)
{
	if ((int)a[0] <= 0)
		return -EINVAL;
	return create(t, 0);
}

static bool is_epoll(const struct k_file *f)
{
	return f->ops == &epoll_ops;
}

bool file_is_epoll(const struct k_file *f)
{
	return is_epoll(f);
}

/* How deep epolls go below f (0: f is no epoll), and whether ep is among
 * them (a loop).  The graph is kept loop-free and at most EP_MAX_NESTS
 * deep by these very checks, so the recursion is shallow; each epoll is
 * measured once per check (a generation), so a lattice costs its size. */
static uint64_t chk_gen;

static int depth_below(struct k_file *f, struct k_epoll *ep, bool *loop)
{
	if (!is_epoll(f))
		return 0;
	struct k_epoll *inner = f->priv;
	if (inner == ep) {
		*loop = true;
		return 1;
	}
	if (inner->bgen == chk_gen)
		return inner->below;
	int most = 0;
	for (struct epitem *it = inner->items; it && !*loop; it = it->next) {
		int d = depth_below(it->file, ep, loop);
		if (d > most)
			most = d;
	}
	inner->bgen = chk_gen;
	inner->below = 1 + most;
	return inner->below;
}

/* How many epolls hold the epoll ep, directly or through others, at most. */
static int depth_above(struct k_epoll *ep)
{
	if (ep->agen == chk_gen)
		return ep->above;
	int most = 0;
	for (struct epitem *it = ep->file->epitems; it; it = it->fnext) {
		int d = 1 + depth_above(it->ep);
		if (d > most)
			most = d;
	}
	ep->agen = chk_gen;
	ep->above = most;
	return most;
}

/* Whether the epoll f may go into ep: no loop, and no chain deeper than
 * Linux allows. */
static bool nest_ok(struct k_file *f, struct k_epoll *ep)
{
	bool loop = false;
	chk_gen++;
	int below = depth_below(f, ep, &loop);
	int above = depth_above(ep);
	return !loop && above + below <= EP_MAX_NESTS;
}

SYSCALL(epoll_ctl)
{
	int epfd = (int)a[0], op = (int)a[1], fd = (int)a[2];
	struct k_epoll_event ev = {0};
	bool need_event = op != EPOLL_CTL_DEL;
	if (need_event && k_copy_in(t, &ev, a[3], sizeof(ev)))
		return -EFAULT;
	struct k_file *ef = fdt_get(t, epfd);
	if (!ef)
		return -EBADF;
	struct k_file *f = fdt_get(t, fd);
	long r = 0;
	if (!f) {
		r = -EBADF;
		goto out;
	}
	/* Files that cannot be polled (regular files, directories). */
	if (!(f->ops && f->ops->poll) && f->host_fd < 0) {
		r = -EPERM;
		goto out;
	}
	if (ef == f || !is_epoll(ef)) {
		r = -EINVAL;
		goto out;
	}
	if (need_event && (ev.events & EPOLLEXCLUSIVE)) {
		if (op == EPOLL_CTL_MOD || (ev.events & ~EP_EXCLUSIVE_OK) || is_epoll(f)) {
			r = -EINVAL;
			goto out;
		}
	}
	struct k_epoll *ep = ef->priv;
	struct epitem *it = find(ep, f, fd);
	switch (op) {
	case EPOLL_CTL_ADD:
		if (it) {
			r = -EEXIST;
			break;
		}
		if (is_epoll(f) && !nest_ok(f, ep)) {
			r = -ELOOP;
			break;
		}
		/* Linux's fs.epoll.max_user_watches, for the whole sandbox. */
		if (t->k->epoll_watches >= EP_MAX_WATCHES) {
			r = -ENOSPC;
			break;
		}
		if (!(it = calloc(1, sizeof(*it)))) {
			r = -ENOMEM;
			break;
		}
		t->k->epoll_watches++;
		*it = (struct epitem){.ep = ep, .file = f, .fd = fd,
				      .events = ev.events | EPOLLERR | EPOLLHUP, .data = ev.data};
		it->next = ep->items;
		ep->items = it;
		it->fnext = f->epitems;
		f->epitems = it;
		break;
	case EPOLL_CTL_MOD:
		if (!it) {
			r = -ENOENT;
			break;
		}
		if (it->events & EPOLLEXCLUSIVE) {
			r = -EINVAL;
			break;
		}
		it->events = ev.events | EPOLLERR | EPOLLHUP;
		it->data = ev.data;
		it->reported = 0;
		break;
	case EPOLL_CTL_DEL:
		if (!it)
			r = -ENOENT;
		else
			item_free(ep, it);
		break;
	default:
		r = -EINVAL;
	}
	if (!r)
		k_file_notify(); /* a nested epoll's readiness may have changed */
out:
	file_put(f);
	file_put(ef);
	return r;
}

#define MAX_HOST 64

/* Collects up to max ready entries into out; sleeps until one is ready,
 * the deadline (CLOCK_MONOTONIC ns; 0: none; -1: no wait) or a signal. */
static long do_wait(struct k_task *t, struct k_epoll *ep, struct k_epoll_event *out, int max,
		    int64_t deadline)
{
	struct pollfd host[MAX_HOST];
	for (;;) {
		int n = 0, nhost = 0;
		int64_t wake = deadline > 0 ? deadline : 0;
		for (struct epitem *it = ep->items; it && n < max; it = it->next) {
			uint32_t got = item_ready(it, host, &nhost, MAX_HOST, &wake);
			if (!got)
				continue;
			out[n++] = (struct k_epoll_event){got, it->data};
			if (it->events & EPOLLONESHOT)
				it->events &= EP_PRIVATE_BITS; /* disarmed until a MOD */
		}
		if (n || deadline < 0)
			return n;
		if (task_interrupted(t))
			return -EINTR;
		struct timespec until = {wake / 1000000000, wake % 1000000000};
		struct k_waitq *q = &k_file_events;
		struct k_sleep sl = {.qs = &q, .nq = 1, .clock = CLOCK_MONOTONIC,
				     .deadline = wake ? &until : NULL, .fds = host, .nfds = nhost};
		int r = k_sleep(t, &sl);
		if (r == -EINTR)
			return -EINTR;
		if (r == -ETIMEDOUT && deadline > 0) {
			struct timespec now;
			k_clock_ts(CLOCK_MONOTONIC, &now);
			if (k_ns(now.tv_sec, now.tv_nsec) >= deadline)
				deadline = -1; /* one last look */
		}
	}
}

static long wait_common(struct k_task *t, int epfd, uint64_t uevents, int max, int64_t deadline,
			uint64_t umask, uint64_t masksize)
{
	if (max <= 0 || max > EP_MAX_EVENTS)
		return -EINVAL;
	struct k_file *ef = fdt_get(t, epfd);
	if (!ef)
		return -EBADF;
	long r = 0;
	if (!is_epoll(ef)) {
		r = -EINVAL;
		goto out;
	}
	/* The buffer must be writable before anything is taken. */
	struct iovec iov[1];
	int niov;
	size_t len = (size_t)max * sizeof(struct k_epoll_event);
	if (k_guest_iov(t->mm, uevents, len, true, iov, 1, &niov) == 0) {
		r = -EFAULT;
		goto out;
	}
	if (umask) {
		uint64_t mask;
		if (masksize != sizeof(mask)) {
			r = -EINVAL;
			goto out;
		}
		if (k_copy_in(t, &mask, umask, sizeof(mask))) {
			r = -EFAULT;
			goto out;
		}
		t->saved_sigmask = t->sigmask;
		t->has_saved_sigmask = true;
		t->sigmask = mask & ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
	}
	int cap = max < 1024 ? max : 1024;
	struct k_epoll_event *evs = malloc((size_t)cap * sizeof(*evs));
	if (!evs) {
		r = -ENOMEM;
		goto out;
	}
	r = do_wait(t, ef->priv, evs, cap, deadline);
	if (r > 0 && k_copy_out(t, uevents, evs, (size_t)r * sizeof(*evs)))
		r = -EFAULT;
	free(evs);
	if (r == -EINTR)
		r = umask ? -ERESTARTNOHAND : -EINTR;
	else if (umask && t->has_saved_sigmask) {
		t->sigmask = t->saved_sigmask;
		t->has_saved_sigmask = false;
	}
out:
	file_put(ef);
	return r;
}

static int64_t ms_deadline(int ms)
{
	if (ms < 0)
		return 0;
	if (ms == 0)
		return -1;
	struct timespec now;
	k_clock_ts(CLOCK_MONOTONIC, &now);
	return k_ns_add(k_ns(now.tv_sec, now.tv_nsec), (int64_t)ms * 1000000);
}

SYSCALL(epoll_wait)
{
	return wait_common(t, (int)a[0], a[1], (int)a[2], ms_deadline((int)a[3]), 0, 0);
}

SYSCALL(epoll_pwait)
{
	return wait_common(t, (int)a[0], a[1], (int)a[2], ms_deadline((int)a[3]), a[4], a[5]);
}

SYSCALL(epoll_pwait2)
{
	int64_t deadline = 0;
	if (a[3]) {
		struct timespec ts;
		if (k_copy_in(t, &ts, a[3], sizeof(ts)))
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
			return -EINVAL;
		int64_t ns = k_ns(ts.tv_sec, ts.tv_nsec);
		struct timespec now;
		k_clock_ts(CLOCK_MONOTONIC, &now);
		deadline = ns ? k_ns_add(k_ns(now.tv_sec, now.tv_nsec), ns) : -1;
	}
	return wait_common(t, (int)a[0], a[1], (int)a[2], deadline, a[4], a[5]);
}
