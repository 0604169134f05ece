/* futex(2): wait queues keyed by the futex word.  A word in private memory
 * is named by (address space, address); one in a shared mapping by (memory
 * object, offset), so that processes sharing it meet on the same queue
 * whatever address each maps it at (Linux's get_futex_key).  PI futexes
 * are not offered (ENOSYS): the C libraries use them only when asked. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../sentry.h"

#define ERESTARTSYS 512

struct futex_key {
	const void *obj; /* the mm, or the memory object */
	uint64_t off;    /* the address, or the offset in the object */
};

struct futex_waiter {
	struct futex_waiter *next, *prev;
	struct futex_key key;
	uint32_t bitset;
	struct k_task *t;
	bool woken;
};

/* Each bucket is a FIFO: wakes go to the longest waiting, as Linux's
 * plist of equal priorities does. */
#define BUCKETS 256
static struct {
	struct futex_waiter *head, *tail;
} buckets[BUCKETS];

static unsigned bucket(const struct futex_key *k)
{
	uint64_t h = (uint64_t)(uintptr_t)k->obj * 0x9e3779b97f4a7c15ULL ^ (k->off >> 2);
	h ^= h >> 29;
	return (unsigned)(h % BUCKETS);
}

static int get_key(struct k_task *t, uint64_t uaddr, bool private, struct futex_key *key)
{
	if (uaddr & 3)
		return -EINVAL;
	struct k_vma *v = mm_find(t->mm, uaddr);
	if (!v)
		return -EFAULT;
	if (!private && (v->flags & VMA_SHARED) && v->mobj)
		*key = (struct futex_key){v->mobj, v->pgoff + (uaddr - v->start)};
	else
		*key = (struct futex_key){t->mm, uaddr};
	return 0;
}

static void enqueue(struct futex_waiter *w)
{
	unsigned b = bucket(&w->key);
	w->next = NULL;
	w->prev = buckets[b].tail;
	if (w->prev)
		w->prev->next = w;
	else
		buckets[b].head = w;
	buckets[b].tail = w;
}

static void dequeue(struct futex_waiter *w)
{
	unsigned b = bucket(&w->key);
	if (w->prev)
		w->prev->next = w->next;
	else
		buckets[b].head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		buckets[b].tail = w->prev;
	w->next = w->prev = NULL;
}

static bool same(const struct futex_key *a, const struct futex_key *b)
{
	return a->obj == b->obj && a->off == b->off;
}

/* Wakes up to n waiters on key whose bitset meets bitset, then moves up
 * to nreq more to key2 (requeue).  Returns how many woke plus moved. */
static int wake_requeue(const struct futex_key *key, int n, uint32_t bitset,
			const struct futex_key *key2, int nreq)
{
	int woke = 0, moved = 0;
	struct futex_waiter *w, *next;
	for (w = buckets[bucket(key)].head; w; w = next) {
		next = w->next;
		if (!same(&w->key, key) || !(w->bitset & bitset))
			continue;
		if (woke < n) {
			dequeue(w);
			w->woken = true;
			k_task_wake(w->t);
			woke++;
		} else if (key2 && moved < nreq) {
			/* Into key2's bucket, at its tail: if that is this
			 * bucket, the walk meets it again under key2 and
			 * passes it by. */
			dequeue(w);
			w->key = *key2;
			enqueue(w);
			moved++;
		} else {
			break;
		}
	}
	return woke + moved;
}

int futex_wake_addr(struct k_task *t, uint64_t addr, int n)
{
	struct futex_key key;
	if (get_key(t, addr, false, &key))
		return 0;
	return wake_requeue(&key, n, FUTEX_BITSET_MATCH_ANY, NULL, 0);
}

static long futex_wait(struct k_task *t, uint64_t uaddr, bool private, uint32_t val,
		       uint64_t utime, bool absolute, clockid_t clock, uint32_t bitset)
{
	struct futex_waiter w = {.bitset = bitset, .t = t};
	int err = get_key(t, uaddr, private, &w.key);
	if (err)
		return err;
	struct timespec ts, deadline;
	struct k_sleep s = {.clock = clock};
	if (utime) {
		if (k_copy_in(t, &ts, utime, sizeof(ts)))
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
			return -EINVAL;
		if (absolute) {
			deadline = k_ts_from_guest(clock, ts);
		} else {
			struct timespec now;
			k_clock_ts(clock, &now);
			deadline = k_ts_add(now, ts);
		}
		s.deadline = &deadline;
	}
	uint32_t cur;
	if (k_copy_in(t, &cur, uaddr, sizeof(cur)))
		return -EFAULT;
	if (cur != val)
		return -EAGAIN;
	/* No other task runs between the check and the queueing: no wake
	 * can be lost. */
	enqueue(&w);
	int r = 0;
	while (!w.woken && r == 0)
		r = k_sleep(t, &s);
	if (!w.woken)
		dequeue(&w);
	if (w.woken)
		return 0;
	return r == -ETIMEDOUT ? -ETIMEDOUT : -ERESTARTSYS;
}

/* FUTEX_WAKE_OP's operation on the word at uaddr2; returns the old value's
 * comparison (1 true, 0 false) or -errno. */
static long wake_op(struct k_task *t, uint64_t uaddr2, uint32_t encoded)
{
	unsigned op = (encoded >> 28) & 7, cmp = (encoded >> 24) & 15;
	uint32_t oparg = (encoded >> 12) & 0xfff, cmparg = encoded & 0xfff;
	if (encoded & (1U << 31))
		oparg = 1U << (oparg & 31);
	if (uaddr2 & 3)
		return -EINVAL;
	uint32_t old;
	if (k_copy_in(t, &old, uaddr2, sizeof(old)))
		return -EFAULT;
	uint32_t nv;
	switch (op) {
	case FUTEX_OP_SET: nv = oparg; break;
	case FUTEX_OP_ADD: nv = old + oparg; break;
	case FUTEX_OP_OR: nv = old | oparg; break;
	case FUTEX_OP_ANDN: nv = old & ~oparg; break;
	case FUTEX_OP_XOR: nv = old ^ oparg; break;
	default: return -ENOSYS;
	}
	if (cmp > FUTEX_OP_CMP_GE)
		return -ENOSYS;
	if (k_copy_out(t, uaddr2, &nv, sizeof(nv)))
		return -EFAULT;
	int o = (int)old, c = (int)cmparg;
	switch (cmp) {
	case FUTEX_OP_CMP_EQ: return o == c;
	case FUTEX_OP_CMP_NE: return o != c;
	case FUTEX_OP_CMP_LT: return o < c;
	case FUTEX_OP_CMP_LE: return o <= c;
	case FUTEX_OP_CMP_GT: return o > c;
	default: return o >= c;
	}
}

SYSCALL(futex)
{
	uint64_t uaddr = a[0], utime = a[3], uaddr2 = a[4];
	int op = (int)a[1];
	uint32_t val = (uint32_t)a[2], val3 = (uint32_t)a[5];
	int cmd = op & FUTEX_CMD_MASK;
	bool private = (op & FUTEX_PRIVATE_FLAG) != 0;
	clockid_t clock = (op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;
	if ((op & FUTEX_CLOCK_REALTIME) && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET &&
	    cmd != FUTEX_WAIT_REQUEUE_PI && cmd != FUTEX_LOCK_PI2)
		return -ENOSYS;
	/* val2 of REQUEUE and WAKE_OP travels in the timeout argument. */
	int val2 = (int)(uint32_t)utime;
	struct futex_key k1, k2;
	long err;
	switch (cmd) {
	case FUTEX_WAIT:
		return futex_wait(t, uaddr, private, val, utime, false, clock,
				  FUTEX_BITSET_MATCH_ANY);
	case FUTEX_WAIT_BITSET:
		if (!val3)
			return -EINVAL;
		return futex_wait(t, uaddr, private, val, utime, true, clock, val3);
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
		if (cmd == FUTEX_WAKE_BITSET && !val3)
			return -EINVAL;
		if ((err = get_key(t, uaddr, private, &k1)))
			return err == -EFAULT ? 0 : err; /* nobody can wait on a hole */
		return wake_requeue(&k1, (int)val < 0 ? INT32_MAX : (int)val,
				    cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3, NULL, 0);
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE: {
		if ((int)val < 0 || val2 < 0)
			return -EINVAL;
		if ((err = get_key(t, uaddr, private, &k1)) ||
		    (err = get_key(t, uaddr2, private, &k2)))
			return err;
		if (cmd == FUTEX_CMP_REQUEUE) {
			uint32_t cur;
			if (k_copy_in(t, &cur, uaddr, sizeof(cur)))
				return -EFAULT;
			if (cur != val3)
				return -EAGAIN;
		}
		if (same(&k1, &k2))
			return -EINVAL;
		return wake_requeue(&k1, (int)val, FUTEX_BITSET_MATCH_ANY, &k2, val2);
	}
	case FUTEX_WAKE_OP: {
		if ((err = get_key(t, uaddr, private, &k1)) ||
		    (err = get_key(t, uaddr2, private, &k2)))
			return err;
		long cmp = wake_op(t, uaddr2, val3);
		if (cmp < 0)
			return cmp;
		int woke = wake_requeue(&k1, (int)val, FUTEX_BITSET_MATCH_ANY, NULL, 0);
		if (cmp)
			woke += wake_requeue(&k2, val2, FUTEX_BITSET_MATCH_ANY, NULL, 0);
		return woke;
	}
	default:
		return -ENOSYS;
	}
}
