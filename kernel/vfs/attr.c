/* Calls that change an inode's attributes: chmod, chown, utimensat,
 * truncate, fallocate; and the sync calls, which have nothing to flush. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/stat.h>

#include "../sentry.h"

/* The path or (empty path, AT_EMPTY_PATH) the descriptor's file. */
static int attr_target(struct k_task *t, int dirfd, uint64_t upath, int flags, struct k_path *p)
{
	char path[K_PATH_MAX];
	int n = k_copy_path(t, upath, path, flags & AT_EMPTY_PATH);
	if (n < 0)
		return n;
	int lf = (flags & AT_SYMLINK_NOFOLLOW) ? 0 : LOOKUP_FOLLOW;
	if (n == 0)
		lf |= LOOKUP_EMPTY;
	return path_lookup(t, dirfd, path, lf, p);
}

static int fd_path(struct k_task *t, int fd, struct k_path *p)
{
	struct k_file *f = fdt_get(t, fd);
	if (!f)
		return -EBADF;
	int err = 0;
	if (!f->path.d)
		err = -EPERM; /* husk's stdio: not the guest's to change */
	else
		*p = path_get(f->path);
	file_put(f);
	return err;
}

static int setattr(struct k_task *t, struct k_path *p, struct k_setattr *a)
{
	(void)t;
	struct k_inode *ino = p->d->inode;
	if (mount_readonly(p->mnt))
		return -EROFS;
	if (!ino->ops->setattr)
		return -EPERM;
	return ino->ops->setattr(ino, a);
}

static bool owner_or_root(struct k_task *t, struct k_inode *ino)
{
	return t->tg->euid == 0 || t->tg->euid == ino->uid;
}

static long chmod_path(struct k_task *t, struct k_path *p, uint32_t mode)
{
	struct k_inode *ino = p->d->inode;
	if (!owner_or_root(t, ino))
		return -EPERM;
	mode &= 07777;
	/* A non-root owner outside the file's group cannot set setgid. */
	if (t->tg->euid != 0 && t->tg->egid != ino->gid && !S_ISDIR(ino->mode))
		mode &= ~(uint32_t)S_ISGID;
	struct k_setattr a = {.mask = K_SET_MODE, .mode = mode};
	return setattr(t, p, &a);
}

static long do_fchmodat(struct k_task *t, int dirfd, uint64_t upath, uint32_t mode, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct k_path p;
	int err = attr_target(t, dirfd, upath, flags, &p);
	if (err)
		return err;
	/* Links have no mode of their own. */
	err = S_ISLNK(p.d->inode->mode) ? -EOPNOTSUPP : (int)chmod_path(t, &p, mode);
	path_put(&p);
	return err;
}

SYSCALL(chmod) { return do_fchmodat(t, AT_FDCWD, a[0], (uint32_t)a[1], 0); }
SYSCALL(fchmodat) { return do_fchmodat(t, (int)a[0], a[1], (uint32_t)a[2], 0); }
SYSCALL(fchmod)
{
	struct k_path p;
	int err = fd_path(t, (int)a[0], &p);
	if (err)
		return err;
	err = (int)chmod_path(t, &p, (uint32_t)a[1]);
	path_put(&p);
	return err;
}

static long chown_path(struct k_task *t, struct k_path *p, uint32_t uid, uint32_t gid)
{
	struct k_inode *ino = p->d->inode;
	struct k_setattr a = {0};
	bool root = t->tg->euid == 0;
	if (uid != (uint32_t)-1) {
		if (!root && uid != ino->uid)
			return -EPERM;
		a.mask |= K_SET_UID;
		a.uid = uid;
	}
	if (gid != (uint32_t)-1) {
		if (!root && (t->tg->euid != ino->uid || (gid != ino->gid && gid != t->tg->egid)))
			return -EPERM;
		a.mask |= K_SET_GID;
		a.gid = gid;
	}
	/* Any chown drops setuid, and setgid where group-executable, even
	 * one that changes nothing (Linux's ATTR_KILL_SUID). */
	if (!S_ISDIR(ino->mode) && (ino->mode & (S_ISUID | S_ISGID))) {
		a.mask |= K_SET_MODE;
		a.mode = ino->mode & 07777 & ~(uint32_t)S_ISUID;
		if (ino->mode & S_IXGRP)
			a.mode &= ~(uint32_t)S_ISGID;
	}
	return setattr(t, p, &a);
}

static long do_fchownat(struct k_task *t, int dirfd, uint64_t upath, uint32_t uid, uint32_t gid,
			int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct k_path p;
	int err = attr_target(t, dirfd, upath, flags, &p);
	if (err)
		return err;
	err = (int)chown_path(t, &p, uid, gid);
	path_put(&p);
	return err;
}

SYSCALL(chown) { return do_fchownat(t, AT_FDCWD, a[0], (uint32_t)a[1], (uint32_t)a[2], 0); }
SYSCALL(lchown)
{
	return do_fchownat(t, AT_FDCWD, a[0], (uint32_t)a[1], (uint32_t)a[2], AT_SYMLINK_NOFOLLOW);
}
SYSCALL(fchownat)
{
	return do_fchownat(t, (int)a[0], a[1], (uint32_t)a[2], (uint32_t)a[3], (int)a[4]);
}
SYSCALL(fchown)
{
	struct k_path p;
	int err = fd_path(t, (int)a[0], &p);
	if (err)
		return err;
	err = (int)chown_path(t, &p, (uint32_t)a[1], (uint32_t)a[2]);
	path_put(&p);
	return err;
}

static bool valid_time(const struct timespec *ts)
{
	return ts->tv_nsec == UTIME_NOW || ts->tv_nsec == UTIME_OMIT ||
	       (ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000);
}

SYSCALL(utimensat)
{
	int dirfd = (int)a[0], flags = (int)a[3];
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	bool given = a[2] != 0;
	if (given && k_copy_in(t, ts, a[2], sizeof(ts)))
		return -EFAULT;
	if (!valid_time(&ts[0]) || !valid_time(&ts[1]))
		return -EINVAL;
	if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
		return 0;
	struct k_path p;
	int err;
	if (a[1] == 0) {
		/* A NULL path: the descriptor itself (futimens). */
		if (flags & AT_SYMLINK_NOFOLLOW)
			return -EINVAL;
		err = dirfd == AT_FDCWD ? -EFAULT : fd_path(t, dirfd, &p);
	} else {
		err = attr_target(t, dirfd, a[1], flags, &p);
	}
	if (err)
		return err;
	struct k_inode *ino = p.d->inode;
	bool only_now = ts[0].tv_nsec != UTIME_OMIT && ts[1].tv_nsec != UTIME_OMIT &&
			(ts[0].tv_nsec == UTIME_NOW && ts[1].tv_nsec == UTIME_NOW);
	/* Setting "now" needs write access; setting chosen times, ownership. */
	if (!owner_or_root(t, ino)) {
		if (!only_now)
			err = -EPERM;
		else if (inode_permission(t, ino, MAY_WRITE))
			err = -EACCES;
	}
	if (!err) {
		struct timespec now;
		k_clock_ts(CLOCK_REALTIME, &now);
		struct k_setattr at = {.mask = K_SET_CTIME, .ctime = now};
		if (ts[0].tv_nsec != UTIME_OMIT) {
			at.mask |= K_SET_ATIME;
			at.atime = ts[0].tv_nsec == UTIME_NOW ? now : ts[0];
		}
		if (ts[1].tv_nsec != UTIME_OMIT) {
			at.mask |= K_SET_MTIME;
			at.mtime = ts[1].tv_nsec == UTIME_NOW ? now : ts[1];
		}
		err = setattr(t, &p, &at);
	}
	path_put(&p);
	return err;
}

static long truncate_path(struct k_task *t, struct k_path *p, int64_t len)
{
	struct k_inode *ino = p->d->inode;
	if (S_ISDIR(ino->mode))
		return -EISDIR;
	if (!S_ISREG(ino->mode))
		return -EINVAL;
	struct k_setattr a = {.mask = K_SET_SIZE, .size = (uint64_t)len};
	return setattr(t, p, &a);
}

SYSCALL(truncate)
{
	int64_t len = (int64_t)a[1];
	char path[K_PATH_MAX];
	int err = k_copy_path(t, a[0], path, false);
	if (err < 0)
		return err;
	if (len < 0)
		return -EINVAL;
	struct k_path p;
	if ((err = path_lookup(t, AT_FDCWD, path, LOOKUP_FOLLOW, &p)))
		return err;
	if (S_ISDIR(p.d->inode->mode))
		err = -EISDIR;
	else
		err = inode_permission(t, p.d->inode, MAY_WRITE);
	if (!err)
		err = (int)truncate_path(t, &p, len);
	path_put(&p);
	return err;
}

SYSCALL(ftruncate)
{
	int64_t len = (int64_t)a[1];
	if (len < 0)
		return -EINVAL;
	struct k_file *f = fdt_get(t, (int)a[0]);
	if (!f)
		return -EBADF;
	int acc = f->flags & O_ACCMODE;
	long err;
	if (!f->inode) {
		err = -EINVAL;
	} else if (!S_ISREG(f->inode->mode) || (acc != O_WRONLY && acc != O_RDWR) ||
		   (f->flags & O_PATH)) {
		err = f->flags & O_PATH ? -EBADF : -EINVAL;
	} else {
		struct k_setattr at = {.mask = K_SET_SIZE, .size = (uint64_t)len};
		err = f->inode->ops->setattr ? f->inode->ops->setattr(f->inode, &at) : -EINVAL;
	}
	file_put(f);
	return err;
}

SYSCALL(fallocate)
{
	int mode = (int)a[1];
	int64_t off = (int64_t)a[2], len = (int64_t)a[3];
	struct k_file *f = fdt_get(t, (int)a[0]);
	if (!f)
		return -EBADF;
	long err = 0;
	int acc = f->flags & O_ACCMODE;
	if (off < 0 || len <= 0)
		err = -EINVAL;
	else if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		err = -EOPNOTSUPP;
	else if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		err = -EOPNOTSUPP;
	else if (acc != O_WRONLY && acc != O_RDWR)
		err = -EBADF;
	else if (!f->inode || S_ISFIFO(f->inode->mode))
		err = -ESPIPE;
	else if (S_ISDIR(f->inode->mode))
		err = -EISDIR;
	else if (!S_ISREG(f->inode->mode))
		err = -ENODEV;
	else if ((uint64_t)off + (uint64_t)len > (uint64_t)INT64_MAX ||
		 (uint64_t)off + (uint64_t)len > (1ULL << 40))
		err = -EFBIG;
	else if (!f->inode->ops->fallocate)
		err = -EOPNOTSUPP;
	else
		err = f->inode->ops->fallocate(f->inode, mode, (uint64_t)off, (uint64_t)len);
	file_put(f);
	return err;
}

/* Nothing is buffered between the sentry and its filesystems. */
static long sync_fd(struct k_task *t, int fd)
{
	struct k_file *f = fdt_get(t, fd);
	if (!f)
		return -EBADF;
	long r = file_is_pipe(f) ? -EINVAL : 0;
	file_put(f);
	return r;
}

SYSCALL(fsync) { return sync_fd(t, (int)a[0]); }
SYSCALL(fdatasync) { return sync_fd(t, (int)a[0]); }
SYSCALL(syncfs) { return sync_fd(t, (int)a[0]); }
SYSCALL(sync) { return 0; }

SYSCALL(fadvise64)
{
	int advice = (int)a[3];
	int64_t len = (int64_t)a[2];
	struct k_file *f = fdt_get(t, (int)a[0]);
	if (!f)
		return -EBADF;
	long err = 0;
	if (!f->inode || S_ISFIFO(f->inode->mode))
		err = -ESPIPE;
	else if (advice < POSIX_FADV_NORMAL || advice > POSIX_FADV_NOREUSE || len < 0)
		err = -EINVAL;
	file_put(f);
	return err;
}

SYSCALL(readahead)
{
	struct k_file *f = fdt_get(t, (int)a[0]);
	if (!f)
		return -EBADF;
	long err = 0;
	int acc = f->flags & O_ACCMODE;
	if (acc != O_RDONLY && acc != O_RDWR)
		err = -EBADF;
	else if (!f->inode || !S_ISREG(f->inode->mode))
		err = -EINVAL;
	file_put(f);
	return err;
}

/* The timeval forms: utimes, futimesat, and utime's utimbuf. */
static long utimes_common(struct k_task *t, int dirfd, uint64_t upath, uint64_t utv, bool utimbuf)
{
	struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	if (utv) {
		if (utimbuf) {
			int64_t b[2];
			if (k_copy_in(t, b, utv, sizeof(b)))
				return -EFAULT;
			ts[0] = (struct timespec){b[0], 0};
			ts[1] = (struct timespec){b[1], 0};
		} else {
			struct timeval tv[2];
			if (k_copy_in(t, tv, utv, sizeof(tv)))
				return -EFAULT;
			for (int i = 0; i < 2; i++) {
				if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
					return -EINVAL;
				ts[i] = (struct timespec){tv[i].tv_sec, tv[i].tv_usec * 1000};
			}
		}
	}
	struct k_path p;
	int err = attr_target(t, dirfd, upath, 0, &p);
	if (err)
		return err;
	struct k_inode *ino = p.d->inode;
	if (!owner_or_root(t, ino)) {
		if (utv)
			err = -EPERM;
		else if (inode_permission(t, ino, MAY_WRITE))
			err = -EACCES;
	}
	if (!err) {
		struct timespec now;
		k_clock_ts(CLOCK_REALTIME, &now);
		struct k_setattr at = {.mask = K_SET_ATIME | K_SET_MTIME | K_SET_CTIME, .ctime = now,
				       .atime = utv ? ts[0] : now, .mtime = utv ? ts[1] : now};
		err = setattr(t, &p, &at);
	}
	path_put(&p);
	return err;
}

SYSCALL(utimes) { return utimes_common(t, AT_FDCWD, a[0], a[1], false); }
SYSCALL(futimesat) { return utimes_common(t, (int)a[0], a[1], a[2], false); }
SYSCALL(utime) { return utimes_common(t, AT_FDCWD, a[0], a[1], true); }

SYSCALL(fchmodat2)
{
	int flags = (int)a[3];
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	return do_fchmodat(t, (int)a[0], a[1], (uint32_t)a[2], flags);
}

SYSCALL(sync_file_range)
{
	int64_t off = (int64_t)a[1], n = (int64_t)a[2];
	unsigned flags = (unsigned)a[3];
	if (flags & ~7u)
		return -EINVAL;
	if (off < 0 || n < 0 || off + n < off)
		return -EINVAL;
	struct k_file *f = fdt_get(t, (int)a[0]);
	if (!f)
		return -EBADF;
	long r = f->inode && (S_ISREG(f->inode->mode) || S_ISDIR(f->inode->mode) ||
			      S_ISLNK(f->inode->mode)) ? 0 : -ESPIPE;
	file_put(f);
	return r;
}
