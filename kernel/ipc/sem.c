/* System V semaphores: semget, semop, semtimedop, semctl.  The sandbox is
 * one IPC namespace.  A semop applies all its operations or none: one
 * that cannot go on sleeps on its set until another changes it (or a
 * signal: EINTR, never restarted; or the set's removal: EIDRM).  SEM_UNDO
 * adjustments are kept per process and applied when it exits. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../sentry.h"

/* Linux's defaults (include/uapi/linux/sem.h). */
#define SEMMNI 32000
#define SEMMSL 32000
#define SEMMNS (SEMMNI * SEMMSL)
#define SEMOPM 500
#define SEMVMX 32767
#define SEMAEM SEMVMX
#define SETS 4096 /* table slots the sentry keeps */
#define SEQ_MULTIPLIER 32768

#define K_IPC_CREAT 01000
#define K_IPC_EXCL 02000
#define K_IPC_NOWAIT 04000
#define K_IPC_RMID 0
#define K_IPC_SET 1
#define K_IPC_STAT 2
#define K_IPC_INFO 3
#define K_GETPID 11
#define K_GETVAL 12
#define K_GETALL 13
#define K_GETNCNT 14
#define K_GETZCNT 15
#define K_SETVAL 16
#define K_SETALL 17
#define K_SEM_STAT 18
#define K_SEM_INFO 19
#define K_SEM_STAT_ANY 20
#define K_SEM_UNDO 0x1000

struct k_semid64_ds {
	struct k_ipc64_perm perm;
	int64_t otime;
	uint64_t unused1;
	int64_t ctime;
	uint64_t unused2;
	uint64_t nsems;
	uint64_t unused3, unused4;
};

struct k_seminfo {
	int32_t semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz, semvmx, semaem;
};

struct k_sembuf {
	uint16_t num;
	int16_t op;
	int16_t flg;
};

struct sem_waiter {
	struct sem_waiter *next;
	int num;   /* the semaphore it waits on */
	bool zero; /* for zero (semop 0), else for an increase */
};

struct sem_set {
	struct k_ipc_perm perm;
	int nsems;
	uint16_t *val;
	int32_t *pid;
	int64_t otime, ctime;
	struct k_waitq wait;
	struct sem_waiter *waiters;
	bool removed;
	int users; /* sleepers in semop: the set lives until they leave */
};

/* A process's SEM_UNDO adjustments for one set. */
struct sem_undo {
	struct sem_undo *next;
	int id;
	int nsems;
	int16_t adj[];
};

static struct sem_set *sets[SETS];
static uint16_t next_seq;

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static struct sem_set *by_id(int id, int *idx)
{
	if (id < 0)
		return NULL;
	int i = id % SEQ_MULTIPLIER;
	if (i >= SETS || !sets[i] || sets[i]->perm.seq != id / SEQ_MULTIPLIER)
		return NULL;
	if (idx)
		*idx = i;
	return sets[i];
}

/* SEMMNS for the sandbox: every set's semaphores together. */
#define SANDBOX_SEMS (1 << 20)
static int nsems_total;

static void set_free(struct sem_set *s)
{
	nsems_total -= s->nsems;
	free(s->val);
	free(s->pid);
	free(s);
}

/* Takes a set out of the table: sleepers wake to EIDRM, the last frees it. */
static void set_remove(int idx)
{
	struct sem_set *s = sets[idx];
	sets[idx] = NULL;
	s->removed = true;
	waitq_wake_all(&s->wait);
	if (!s->users)
		set_free(s);
}

SYSCALL(semget)
{
	int32_t key = (int32_t)a[0];
	int nsems = (int)a[1], flg = (int)a[2];
	if (nsems < 0 || nsems > SEMMSL)
		return -EINVAL;
	if (key != 0) {
		for (int i = 0; i < SETS; i++) {
			struct sem_set *s = sets[i];
			if (!s || s->perm.key != key)
				continue;
			if ((flg & K_IPC_CREAT) && (flg & K_IPC_EXCL))
				return -EEXIST;
			if (nsems > s->nsems)
				return -EINVAL;
			if (!ipc_allowed(t, &s->perm, ((flg >> 6) | (flg >> 3) | flg) & 7))
				return -EACCES;
			return (long)s->perm.seq * SEQ_MULTIPLIER + i;
		}
		if (!(flg & K_IPC_CREAT))
			return -ENOENT;
	}
	if (nsems == 0)
		return -EINVAL;
	int idx = -1;
	for (int i = 0; i < SETS && idx < 0; i++)
		if (!sets[i])
			idx = i;
	if (idx < 0 || nsems > SANDBOX_SEMS - nsems_total)
		return -ENOSPC;
	struct sem_set *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->val = calloc((size_t)nsems, sizeof(*s->val));
	s->pid = calloc((size_t)nsems, sizeof(*s->pid));
	if (!s->val || !s->pid) {
		set_free(s);
		return -ENOMEM;
	}
	s->nsems = nsems;
	nsems_total += nsems;
	ipc_perm_init(t, &s->perm, key, flg, next_seq++ % (INT32_MAX / SEQ_MULTIPLIER));
	s->ctime = now_s();
	sets[idx] = s;
	return (long)s->perm.seq * SEQ_MULTIPLIER + idx;
}

static struct sem_undo *undo_for(struct k_task *t, int id, int nsems, bool create)
{
	for (struct sem_undo *u = t->tg->sem_undo; u; u = u->next)
		if (u->id == id)
			return u;
	if (!create)
		return NULL;
	struct sem_undo *u = calloc(1, sizeof(*u) + (size_t)nsems * sizeof(int16_t));
	if (!u)
		return NULL;
	u->id = id;
	u->nsems = nsems;
	u->next = t->tg->sem_undo;
	t->tg->sem_undo = u;
	return u;
}

/* Whether all of ops can go on now: 0, -EAGAIN (with the op that blocks
 * in *block), or -ERANGE. */
static int try_ops(const struct sem_set *s, const struct k_sembuf *ops, int n, int *block)
{
	int32_t val[SEMOPM];
	for (int i = 0; i < n; i++)
		val[i] = -1;
	for (int i = 0; i < n; i++) {
		int32_t v = s->val[ops[i].num];
		/* Earlier operations on the same semaphore count. */
		for (int j = i - 1; j >= 0; j--)
			if (ops[j].num == ops[i].num && val[j] >= 0) {
				v = val[j];
				break;
			}
		if (ops[i].op == 0) {
			if (v != 0)
				return *block = i, -EAGAIN;
		} else {
			v += ops[i].op;
			if (v < 0)
				return *block = i, -EAGAIN;
			if (v > SEMVMX)
				return -ERANGE;
		}
		val[i] = v;
	}
	return 0;
}

static long do_semop(struct k_task *t, int id, uint64_t usops, uint64_t nsops, uint64_t uts)
{
	if (nsops < 1)
		return -EINVAL;
	if (nsops > SEMOPM)
		return -E2BIG;
	struct k_sembuf ops[SEMOPM];
	if (k_copy_in(t, ops, usops, nsops * sizeof(ops[0])))
		return -EFAULT;
	struct timespec deadline, *dl = NULL;
	if (uts) {
		struct timespec ts;
		if (k_copy_in(t, &ts, uts, sizeof(ts)))
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
			return -EINVAL;
		struct timespec now;
		k_clock_ts(CLOCK_MONOTONIC, &now);
		deadline = k_ts_add(now, ts);
		dl = &deadline;
	}
	int idx;
	struct sem_set *s = by_id(id, &idx);
	if (!s)
		return -EINVAL;
	int n = (int)nsops;
	bool alter = false, undo = false;
	for (int i = 0; i < n; i++) {
		if (ops[i].num >= s->nsems)
			return -EFBIG;
		alter |= ops[i].op != 0;
		undo |= (ops[i].flg & K_SEM_UNDO) != 0;
	}
	if (!ipc_allowed(t, &s->perm, alter ? 2 : 4))
		return -EACCES;
	struct sem_undo *u = undo ? undo_for(t, id, s->nsems, true) : NULL;
	if (undo && !u)
		return -ENOMEM;
	s->users++;
	long r;
	for (;;) {
		int block = 0;
		r = try_ops(s, ops, n, &block);
		if (r != -EAGAIN)
			break;
		if (ops[block].flg & K_IPC_NOWAIT)
			break;
		struct sem_waiter w = {.num = ops[block].num, .zero = ops[block].op == 0,
				       .next = s->waiters};
		s->waiters = &w;
		struct k_waitq *q = &s->wait;
		struct k_sleep sl = {.qs = &q, .nq = 1, .clock = CLOCK_MONOTONIC, .deadline = dl};
		int sr = k_sleep(t, &sl);
		for (struct sem_waiter **p = &s->waiters; *p; p = &(*p)->next)
			if (*p == &w) {
				*p = w.next;
				break;
			}
		if (s->removed) {
			r = -EIDRM;
			break;
		}
		if (sr == -EINTR) {
			r = -EINTR; /* semop is never restarted */
			break;
		}
		if (sr == -ETIMEDOUT) {
			r = -EAGAIN;
			break;
		}
	}
	if (r == 0) {
		for (int i = 0; i < n; i++) {
			struct k_sembuf *o = &ops[i];
			s->val[o->num] = (uint16_t)(s->val[o->num] + o->op);
			s->pid[o->num] = t->tg->pid;
			if ((o->flg & K_SEM_UNDO) && u)
				u->adj[o->num] = (int16_t)(u->adj[o->num] - o->op);
		}
		s->otime = now_s();
		waitq_wake_all(&s->wait);
	}
	if (--s->users == 0 && s->removed)
		set_free(s);
	return r;
}

SYSCALL(semop) { return do_semop(t, (int)a[0], a[1], a[2], 0); }
SYSCALL(semtimedop) { return do_semop(t, (int)a[0], a[1], a[2], a[3]); }

/* At a process's exit: its SEM_UNDO adjustments, clamped as Linux does. */
void sem_exit(struct k_thread_group *tg)
{
	while (tg->sem_undo) {
		struct sem_undo *u = tg->sem_undo;
		tg->sem_undo = u->next;
		struct sem_set *s = by_id(u->id, NULL);
		if (s && s->nsems == u->nsems) {
			for (int i = 0; i < s->nsems; i++) {
				int v = s->val[i] + u->adj[i];
				s->val[i] = (uint16_t)(v < 0 ? 0 : v > SEMVMX ? SEMVMX : v);
				if (u->adj[i])
					s->pid[i] = tg->pid;
			}
			waitq_wake_all(&s->wait);
		}
		free(u);
	}
}

/* SETVAL and SETALL cancel every process's adjustments of what they set. */
static void clear_undo(struct k_kernel *k, int id, int num)
{
	for (struct k_task *o = k->tasks; o; o = o->next) {
		if (o->tg->threads != o)
			continue;
		for (struct sem_undo *u = o->tg->sem_undo; u; u = u->next)
			if (u->id == id) {
				if (num < 0)
					memset(u->adj, 0, (size_t)u->nsems * sizeof(int16_t));
				else if (num < u->nsems)
					u->adj[num] = 0;
			}
	}
}

static void fill_ds(const struct sem_set *s, struct k_semid64_ds *d)
{
	memset(d, 0, sizeof(*d));
	ipc_perm64(&s->perm, &d->perm);
	d->otime = s->otime;
	d->ctime = s->ctime;
	d->nsems = (uint64_t)s->nsems;
}

SYSCALL(semctl)
{
	int id = (int)a[0], num = (int)a[1], cmd = (int)a[2] & ~0x100 /* IPC_64 */;
	uint64_t arg = a[3];
	switch (cmd) {
	case K_IPC_INFO:
	case K_SEM_INFO: {
		struct k_seminfo info = {.semmap = SEMMNS, .semmni = SEMMNI, .semmns = SEMMNS,
					 .semmnu = SEMMNS, .semmsl = SEMMSL, .semopm = SEMOPM,
					 .semume = SEMOPM, .semusz = 20, .semvmx = SEMVMX,
					 .semaem = SEMAEM};
		int last = 0, used = 0, total = 0;
		for (int i = 0; i < SETS; i++)
			if (sets[i]) {
				last = i;
				used++;
				total += sets[i]->nsems;
			}
		if (cmd == K_SEM_INFO) {
			info.semusz = used;
			info.semaem = total;
		}
		if (k_copy_out(t, arg, &info, sizeof(info)))
			return -EFAULT;
		return last;
	}
	case K_SEM_STAT:
	case K_SEM_STAT_ANY: {
		if (id < 0 || id >= SETS || !sets[id])
			return -EINVAL;
		struct sem_set *s = sets[id];
		if (cmd == K_SEM_STAT && !ipc_allowed(t, &s->perm, 4))
			return -EACCES;
		struct k_semid64_ds d;
		fill_ds(s, &d);
		if (k_copy_out(t, arg, &d, sizeof(d)))
			return -EFAULT;
		return (long)s->perm.seq * SEQ_MULTIPLIER + id;
	}
	}
	int idx;
	struct sem_set *s = by_id(id, &idx);
	if (!s)
		return -EINVAL;
	switch (cmd) {
	case K_IPC_STAT: {
		if (!ipc_allowed(t, &s->perm, 4))
			return -EACCES;
		struct k_semid64_ds d;
		fill_ds(s, &d);
		return k_copy_out(t, arg, &d, sizeof(d));
	}
	case K_IPC_SET: {
		struct k_semid64_ds d;
		if (k_copy_in(t, &d, arg, sizeof(d)))
			return -EFAULT;
		if (!ipc_owner(t, &s->perm))
			return -EPERM;
		s->perm.uid = d.perm.uid;
		s->perm.gid = d.perm.gid;
		s->perm.mode = (uint16_t)(d.perm.mode & 0777);
		s->ctime = now_s();
		return 0;
	}
	case K_IPC_RMID:
		if (!ipc_owner(t, &s->perm))
			return -EPERM;
		set_remove(idx);
		return 0;
	case K_GETVAL:
	case K_GETPID:
	case K_GETNCNT:
	case K_GETZCNT: {
		if (!ipc_allowed(t, &s->perm, 4))
			return -EACCES;
		if (num < 0 || num >= s->nsems)
			return -EINVAL;
		if (cmd == K_GETVAL)
			return s->val[num];
		if (cmd == K_GETPID)
			return s->pid[num];
		int cnt = 0;
		for (struct sem_waiter *w = s->waiters; w; w = w->next)
			cnt += w->num == num && w->zero == (cmd == K_GETZCNT);
		return cnt;
	}
	case K_GETALL: {
		if (!ipc_allowed(t, &s->perm, 4))
			return -EACCES;
		return k_copy_out(t, arg, s->val, (size_t)s->nsems * sizeof(uint16_t));
	}
	case K_SETVAL: {
		if (!ipc_allowed(t, &s->perm, 2))
			return -EACCES;
		if (num < 0 || num >= s->nsems)
			return -EINVAL;
		int v = (int)(uint32_t)arg;
		if (v < 0 || v > SEMVMX)
			return -ERANGE;
		s->val[num] = (uint16_t)v;
		s->pid[num] = t->tg->pid;
		s->ctime = now_s();
		clear_undo(t->k, id, num);
		waitq_wake_all(&s->wait);
		return 0;
	}
	case K_SETALL: {
		if (!ipc_allowed(t, &s->perm, 2))
			return -EACCES;
		uint16_t *v = malloc((size_t)s->nsems * sizeof(*v));
		if (!v)
			return -ENOMEM;
		if (k_copy_in(t, v, arg, (size_t)s->nsems * sizeof(*v))) {
			free(v);
			return -EFAULT;
		}
		for (int i = 0; i < s->nsems; i++)
			if (v[i] > SEMVMX) {
				free(v);
				return -ERANGE;
			}
		memcpy(s->val, v, (size_t)s->nsems * sizeof(*v));
		free(v);
		for (int i = 0; i < s->nsems; i++)
			s->pid[i] = t->tg->pid;
		s->ctime = now_s();
		clear_undo(t->k, id, -1);
		waitq_wake_all(&s->wait);
		return 0;
	}
	default:
		return -EINVAL;
	}
}

void sem_teardown(void)
{
	for (int i = 0; i < SETS; i++)
		if (sets[i]) {
			set_free(sets[i]);
			sets[i] = NULL;
		}
	next_seq = 0;
}

int sem_count(void)
{
	int n = 0;
	for (int i = 0; i < SETS; i++)
		n += sets[i] != NULL;
	return n;
}
