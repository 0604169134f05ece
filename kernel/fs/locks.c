/* File locks: POSIX record locks (owned by the process), OFD locks (owned
 * by the open file description) and flock (per description, whole file),
 * with Linux's conflict rules, splitting and merging.  With one process
 * a POSIX lock never conflicts with the caller's own; descriptions do. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "../sentry.h"

#define ERESTARTSYS 512
#define END_OF_FILE INT64_MAX

struct k_lock {
	short type;       /* F_RDLCK, F_WRLCK */
	bool ofd;         /* owned by a description (OFD or flock) */
	bool flock;       /* a flock(2) lock: its own namespace of locks */
	int64_t start, end; /* inclusive */
	const void *owner;
	int pid;
	struct k_lock *next;
};

/* The guest's struct flock on x86-64. */
struct k_flock {
	int16_t type, whence;
	int32_t pad;
	int64_t start, len;
	int32_t pid, pad2;
};

static bool overlaps(const struct k_lock *l, int64_t start, int64_t end)
{
	return l->start <= end && start <= l->end;
}

static struct k_lock *conflict(struct k_inode *ino, const void *owner, bool flock, short type,
			       int64_t start, int64_t end)
{
	for (struct k_lock *l = ino->locks; l; l = l->next)
		if (l->flock == flock && l->owner != owner && overlaps(l, start, end) &&
		    (l->type == F_WRLCK || type == F_WRLCK))
			return l;
	return NULL;
}

/* Removes owner's locks in [start, end], splitting those that stick out. */
static int unlock_range(struct k_inode *ino, const void *owner, bool flock, int64_t start,
			int64_t end)
{
	k_file_notify(); /* whoever waits for this range looks again */
	for (struct k_lock **pp = (struct k_lock **)&ino->locks; *pp;) {
		struct k_lock *l = *pp;
		if (l->flock != flock || l->owner != owner || !overlaps(l, start, end)) {
			pp = &l->next;
			continue;
		}
		if (l->start < start && l->end > end) {
			struct k_lock *tail = malloc(sizeof(*tail));
			if (!tail)
				return -ENOLCK;
			*tail = *l;
			tail->start = end + 1;
			l->end = start - 1;
			tail->next = l->next;
			l->next = tail;
			return 0;
		}
		if (l->start < start) {
			l->end = start - 1;
			pp = &l->next;
		} else if (l->end > end) {
			l->start = end + 1;
			pp = &l->next;
		} else {
			*pp = l->next;
			free(l);
		}
	}
	return 0;
}

static int add_lock(struct k_inode *ino, const void *owner, bool ofd, bool flock, short type,
		    int64_t start, int64_t end, int pid)
{
	int err = unlock_range(ino, owner, flock, start, end);
	if (err)
		return err;
	/* Merge with the owner's adjacent locks of the same type. */
	for (struct k_lock **pp = (struct k_lock **)&ino->locks; *pp;) {
		struct k_lock *l = *pp;
		if (l->flock == flock && l->owner == owner && l->type == type &&
		    (l->end == start - 1 || (end != END_OF_FILE && l->start == end + 1))) {
			if (l->start < start)
				start = l->start;
			if (l->end > end)
				end = l->end;
			*pp = l->next;
			free(l);
			continue;
		}
		pp = &l->next;
	}
	struct k_lock *l = malloc(sizeof(*l));
	if (!l)
		return -ENOLCK;
	*l = (struct k_lock){.type = type, .ofd = ofd, .flock = flock, .start = start, .end = end,
			     .owner = owner, .pid = pid};
	/* Kept in order of start: F_GETLK reports the first conflict. */
	struct k_lock **pp = (struct k_lock **)&ino->locks;
	while (*pp && (*pp)->start <= start)
		pp = &(*pp)->next;
	l->next = *pp;
	*pp = l;
	return 0;
}

/* Waits for a lock to go (every unlock wakes the file waiters). */
static long wait_unlock(struct k_task *t)
{
	struct k_waitq *q = &k_file_events;
	struct k_sleep s = {.qs = &q, .nq = 1};
	return k_sleep(t, &s) == -EINTR ? -ERESTARTSYS : 0;
}

long file_lock(struct k_task *t, struct k_file *f, int cmd, uint64_t uarg)
{
	struct k_inode *ino = f->inode;
	struct k_flock fl;
	if (k_copy_in(t, &fl, uarg, sizeof(fl)))
		return -EFAULT;
	bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
	bool get = cmd == F_GETLK || cmd == F_OFD_GETLK;
	bool wait = cmd == F_SETLKW || cmd == F_OFD_SETLKW;
	if (fl.type != F_RDLCK && fl.type != F_WRLCK && fl.type != F_UNLCK)
		return -EINVAL;
	if (ofd && fl.pid != 0)
		return -EINVAL;
	if (!ino)
		return -EINVAL;
	int64_t base;
	switch (fl.whence) {
	case SEEK_SET: base = 0; break;
	case SEEK_CUR: base = f->pos; break;
	case SEEK_END: base = (int64_t)ino->size; break;
	default: return -EINVAL;
	}
	int64_t start, end;
	if (__builtin_add_overflow(base, fl.start, &start))
		return -EOVERFLOW;
	if (fl.len > 0) {
		if (__builtin_add_overflow(start, fl.len - 1, &end))
			return -EOVERFLOW;
	} else if (fl.len < 0) {
		end = start - 1;
		if (__builtin_add_overflow(start, fl.len, &start))
			return -EINVAL;
	} else {
		end = END_OF_FILE;
	}
	if (start < 0)
		return -EINVAL;
	const void *owner = ofd ? (const void *)f : (const void *)t->tg;
	if (get) {
		if (fl.type == F_UNLCK)
			return -EINVAL;
		struct k_lock *c = conflict(ino, owner, false, fl.type, start, end);
		if (!c) {
			fl.type = F_UNLCK;
		} else {
			fl.type = c->type;
			fl.whence = SEEK_SET;
			fl.start = c->start;
			fl.len = c->end == END_OF_FILE ? 0 : c->end - c->start + 1;
			fl.pid = c->ofd ? -1 : c->pid;
		}
		return k_copy_out(t, uarg, &fl, sizeof(fl));
	}
	int acc = f->flags & O_ACCMODE;
	if ((fl.type == F_RDLCK && acc != O_RDONLY && acc != O_RDWR) ||
	    (fl.type == F_WRLCK && acc != O_WRONLY && acc != O_RDWR))
		return -EBADF;
	if (fl.type == F_UNLCK)
		return unlock_range(ino, owner, false, start, end);
	while (conflict(ino, owner, false, fl.type, start, end)) {
		if (!wait)
			return -EAGAIN;
		long r = wait_unlock(t);
		if (r)
			return r;
	}
	return add_lock(ino, owner, ofd, false, fl.type, start, end, t->tg->pid);
}

SYSCALL(flock)
{
	int op = (int)a[1];
	struct k_file *f = fdt_get(t, (int)a[0]);
	if (!f)
		return -EBADF;
	long r;
	int kind = op & ~LOCK_NB;
	if (kind != LOCK_SH && kind != LOCK_EX && kind != LOCK_UN) {
		r = -EINVAL;
	} else if (!f->inode) {
		r = -EINVAL;
	} else if (kind == LOCK_UN) {
		r = unlock_range(f->inode, f, true, 0, END_OF_FILE);
	} else {
		short type = kind == LOCK_EX ? F_WRLCK : F_RDLCK;
		/* A conversion gives up the old lock first, as Linux does. */
		unlock_range(f->inode, f, true, 0, END_OF_FILE);
		r = 0;
		while (!r && conflict(f->inode, f, true, type, 0, END_OF_FILE))
			r = (op & LOCK_NB) ? -EWOULDBLOCK : wait_unlock(t);
		if (!r)
			r = add_lock(f->inode, f, true, true, type, 0, END_OF_FILE, t->tg->pid);
	}
	file_put(f);
	return r;
}

void locks_close(struct k_task *t, struct k_file *f)
{
	/* Closing any descriptor of a file drops the process's POSIX locks
	 * on it (the classic, surprising rule). */
	if (f->inode && f->inode->locks)
		unlock_range(f->inode, t->tg, false, 0, END_OF_FILE);
}

void locks_release(struct k_file *f)
{
	/* The last reference to a description drops its OFD and flock locks. */
	if (f->inode && f->inode->locks) {
		unlock_range(f->inode, f, false, 0, END_OF_FILE);
		unlock_range(f->inode, f, true, 0, END_OF_FILE);
	}
}

void locks_free(struct k_inode *ino)
{
	while (ino->locks) {
		struct k_lock *l = ino->locks;
		ino->locks = l->next;
		free(l);
	}
}
