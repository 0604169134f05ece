/* The stat family, statfs, readlink, access and getdents64. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../sentry.h"

static int stat_file(struct k_file *f, struct stat *st)
{
	/* The name's inode (an overlay's, say) is what stat(2) of the path
	 * shows too; the description may work on a lower one. */
	if (f->path.d && f->path.d->inode) {
		inode_stat(f->path.d->inode, st);
		return 0;
	}
	if (f->inode) {
		inode_stat(f->inode, st);
		return 0;
	}
	return f->ops->stat ? f->ops->stat(f, st) : -EINVAL;
}

/* Resolves (dirfd, path, AT_* flags) for the stat-like calls: either a
 * path, or (for AT_EMPTY_PATH on any descriptor) the open file itself. */
static int at_target(struct k_task *t, int dirfd, uint64_t upath, int atflags,
		     struct k_path *p, struct k_file **file)
{
	char path[K_PATH_MAX];
	*file = NULL;
	int n = k_copy_path(t, upath, path, atflags & AT_EMPTY_PATH);
	if (n < 0)
		return n;
	if (n == 0 && dirfd != AT_FDCWD) {
		struct k_file *f = fdt_get_raw(t, dirfd);
		if (!f)
			return -EBADF;
		if (!f->path.d) {
			*file = f;
			return 0;
		}
		*p = path_get(f->path);
		file_put(f);
		return 0;
	}
	int lf = (atflags & AT_SYMLINK_NOFOLLOW) ? 0 : LOOKUP_FOLLOW;
	if (n == 0)
		lf |= LOOKUP_EMPTY;
	int err = path_lookup_file(t, dirfd, path, lf, p, file);
	return err == -K_EMAGICFILE ? 0 : err;
}

static long do_stat(struct k_task *t, int dirfd, uint64_t upath, int atflags, uint64_t ubuf)
{
	if (atflags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	struct k_path p = {0};
	struct k_file *f = NULL;
	int err = at_target(t, dirfd, upath, atflags, &p, &f);
	if (err)
		return err;
	struct stat st;
	if (f) {
		err = stat_file(f, &st);
		file_put(f);
	} else {
		inode_stat(p.d->inode, &st);
		path_put(&p);
	}
	return err ? err : k_copy_out(t, ubuf, &st, sizeof(st));
}

SYSCALL(stat) { return do_stat(t, AT_FDCWD, a[0], 0, a[1]); }
SYSCALL(lstat) { return do_stat(t, AT_FDCWD, a[0], AT_SYMLINK_NOFOLLOW, a[1]); }
SYSCALL(newfstatat) { return do_stat(t, (int)a[0], a[1], (int)a[3], a[2]); }

SYSCALL(fstat)
{
	struct k_file *f = fdt_get_raw(t, (int)a[0]);
	if (!f)
		return -EBADF;
	struct stat st;
	int err = stat_file(f, &st);
	file_put(f);
	return err ? err : k_copy_out(t, a[1], &st, sizeof(st));
}

SYSCALL(statx)
{
	int dirfd = (int)a[0], atflags = (int)a[2];
	unsigned mask = (unsigned)a[3];
	if (atflags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE))
		return -EINVAL;
	if ((atflags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE)
		return -EINVAL;
	if (mask & STATX__RESERVED)
		return -EINVAL;
	struct k_path p = {0};
	struct k_file *f = NULL;
	int err = at_target(t, dirfd, a[1], atflags, &p, &f);
	if (err)
		return err;
	struct stat st;
	if (f) {
		err = stat_file(f, &st);
		file_put(f);
	} else {
		inode_stat(p.d->inode, &st);
		path_put(&p);
	}
	if (err)
		return err;
	struct statx sx;
	memset(&sx, 0, sizeof(sx));
	sx.stx_mask = STATX_BASIC_STATS;
	sx.stx_blksize = (uint32_t)st.st_blksize;
	sx.stx_nlink = (uint32_t)st.st_nlink;
	sx.stx_uid = st.st_uid;
	sx.stx_gid = st.st_gid;
	sx.stx_mode = (uint16_t)st.st_mode;
	sx.stx_ino = st.st_ino;
	sx.stx_size = (uint64_t)st.st_size;
	sx.stx_blocks = (uint64_t)st.st_blocks;
	sx.stx_atime = (struct statx_timestamp){st.st_atim.tv_sec, (uint32_t)st.st_atim.tv_nsec, 0};
	sx.stx_mtime = (struct statx_timestamp){st.st_mtim.tv_sec, (uint32_t)st.st_mtim.tv_nsec, 0};
	sx.stx_ctime = (struct statx_timestamp){st.st_ctim.tv_sec, (uint32_t)st.st_ctim.tv_nsec, 0};
	sx.stx_rdev_major = major(st.st_rdev);
	sx.stx_rdev_minor = minor(st.st_rdev);
	sx.stx_dev_major = major(st.st_dev);
	sx.stx_dev_minor = minor(st.st_dev);
	return k_copy_out(t, a[4], &sx, sizeof(sx));
}

static int statfs_of(struct k_inode *ino, struct statfs *st)
{
	if (ino->ops->statfs)
		return ino->ops->statfs(ino, st);
	memset(st, 0, sizeof(*st));
	st->f_type = ino->sb->magic;
	st->f_bsize = 4096;
	st->f_namelen = K_NAME_MAX;
	return 0;
}

static void statfs_flags(const struct k_mount *m, struct statfs *st)
{
	/* ST_VALID, and the mount's flags as statfs(2) reports them (files
	 * of internal filesystems, pipes and sockets, have no mount). */
	st->f_flags = 0x20;
	if (!m)
		return;
	if (m->flags & MS_RDONLY)
		st->f_flags |= ST_RDONLY;
	if (m->flags & MS_NOSUID)
		st->f_flags |= ST_NOSUID;
	if (m->flags & MS_NODEV)
		st->f_flags |= ST_NODEV;
	if (m->flags & MS_NOEXEC)
		st->f_flags |= ST_NOEXEC;
}

SYSCALL(statfs)
{
	char path[K_PATH_MAX];
	int err = k_copy_path(t, a[0], path, false);
	if (err < 0)
		return err;
	struct k_path p;
	if ((err = path_lookup(t, AT_FDCWD, path, LOOKUP_FOLLOW, &p)))
		return err;
	struct statfs st;
	err = statfs_of(p.d->inode, &st);
	statfs_flags(p.mnt, &st);
	path_put(&p);
	return err ? err : k_copy_out(t, a[1], &st, sizeof(st));
}

SYSCALL(fstatfs)
{
	struct k_file *f = fdt_get_raw(t, (int)a[0]);
	if (!f)
		return -EBADF;
	struct statfs st;
	int err;
	if (f->inode) {
		err = statfs_of(f->inode, &st);
		statfs_flags(f->path.mnt, &st);
	} else if (f->host_fd >= 0) {
		err = fstatfs(f->host_fd, &st) == 0 ? 0 : -errno;
	} else {
		/* The sentry's anonymous files: sockfs for sockets, else
		 * anon_inodefs, as Linux reports them. */
		memset(&st, 0, sizeof(st));
		bool sock = f->ops && f->ops->anon_name && strcmp(f->ops->anon_name, "socket") == 0;
		st.f_type = sock ? 0x534F434B : 0x09041934;
		st.f_bsize = 4096;
		st.f_namelen = 255;
		st.f_frsize = 4096;
		st.f_flags = 0x20;
		err = 0;
	}
	file_put(f);
	return err ? err : k_copy_out(t, a[1], &st, sizeof(st));
}

static long do_readlink(struct k_task *t, int dirfd, uint64_t upath, uint64_t ubuf, int64_t size)
{
	if (size <= 0)
		return -EINVAL;
	struct k_path p = {0};
	struct k_file *f = NULL;
	int err = at_target(t, dirfd, upath, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, &p, &f);
	if (err)
		return err;
	if (f) {
		file_put(f);
		return -ENOENT;
	}
	struct k_inode *ino = p.d->inode;
	/* An empty path reads dirfd itself only if that is a symlink. */
	char first;
	if (k_copy_in(t, &first, upath, 1) == 0 && first == 0 && !S_ISLNK(ino->mode)) {
		path_put(&p);
		return -ENOENT;
	}
	if (!S_ISLNK(ino->mode) || !ino->ops->readlink) {
		path_put(&p);
		return -EINVAL;
	}
	char buf[K_PATH_MAX];
	int n = ino->ops->readlink(ino, buf, sizeof(buf));
	path_put(&p);
	if (n < 0)
		return n;
	if ((int64_t)n > size)
		n = (int)size;
	return k_copy_out(t, ubuf, buf, (size_t)n) ? -EFAULT : n;
}

SYSCALL(readlink) { return do_readlink(t, AT_FDCWD, a[0], a[1], (int)a[2]); }
SYSCALL(readlinkat) { return do_readlink(t, (int)a[0], a[1], a[2], (int)a[3]); }

static long do_access(struct k_task *t, int dirfd, uint64_t upath, int mode, int flags)
{
	if (mode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	/* access(2) checks with the real ids unless AT_EACCESS: the whole
	 * lookup too, as Linux's override_creds. */
	uint32_t euid = t->tg->euid, egid = t->tg->egid, fsuid = t->tg->fsuid, fsgid = t->tg->fsgid;
	if (!(flags & AT_EACCESS)) {
		t->tg->euid = t->tg->fsuid = t->tg->uid;
		t->tg->egid = t->tg->fsgid = t->tg->gid;
	}
	struct k_path p = {0};
	struct k_file *f = NULL;
	int err = at_target(t, dirfd, upath, flags, &p, &f);
	if (err || f) {
		file_put(f);
		t->tg->euid = euid, t->tg->egid = egid, t->tg->fsuid = fsuid, t->tg->fsgid = fsgid;
		return err;
	}
	struct k_inode *ino = p.d->inode;
	int mask = (mode & R_OK ? MAY_READ : 0) | (mode & W_OK ? MAY_WRITE : 0) |
		   (mode & X_OK ? MAY_EXEC : 0);
	err = mask ? inode_permission(t, ino, mask) : 0;
	if (!err && (mode & W_OK) && mount_readonly(p.mnt) &&
	    (S_ISREG(ino->mode) || S_ISDIR(ino->mode) || S_ISLNK(ino->mode)))
		err = -EROFS;
	t->tg->euid = euid;
	t->tg->egid = egid;
	t->tg->fsuid = fsuid;
	t->tg->fsgid = fsgid;
	path_put(&p);
	return err;
}

SYSCALL(access) { return do_access(t, AT_FDCWD, a[0], (int)a[1], 0); }
SYSCALL(faccessat) { return do_access(t, (int)a[0], a[1], (int)a[2], 0); }
SYSCALL(faccessat2) { return do_access(t, (int)a[0], a[1], (int)a[2], (int)a[3]); }

struct dirent_buf {
	char *buf;
	size_t size, used;
	bool overflow;
	bool old; /* struct linux_dirent of getdents(2) */
};

static int emit_dirent64(void *ctx, const char *name, size_t len, uint64_t ino, unsigned type,
			 int64_t next)
{
	struct dirent_buf *b = ctx;
	/* linux_dirent64: ino, off, reclen, type, name.  linux_dirent: ino,
	 * off, reclen, name, NUL, type in the last byte. */
	size_t reclen = b->old ? (18 + len + 2 + 7) & ~(size_t)7 : (19 + len + 1 + 7) & ~(size_t)7;
	if (b->used + reclen > b->size) {
		b->overflow = true;
		return 1;
	}
	char *r = b->buf + b->used;
	memset(r, 0, reclen);
	memcpy(r, &ino, 8);
	memcpy(r + 8, &next, 8);
	uint16_t rl = (uint16_t)reclen;
	memcpy(r + 16, &rl, 2);
	if (b->old) {
		memcpy(r + 18, name, len);
		r[reclen - 1] = (char)type;
	} else {
		r[18] = (char)type;
		memcpy(r + 19, name, len);
	}
	b->used += reclen;
	return 0;
}

static long do_getdents(struct k_task *t, const uint64_t *a, bool old)
{
	struct k_file *f = fdt_get(t, (int)a[0]);
	if (!f)
		return -EBADF;
	long r;
	struct k_inode *ino = f->inode;
	/* The count is an int inside Linux: a "huge" one is negative. */
	int count = (int)(uint32_t)a[2];
	if (!ino || !S_ISDIR(ino->mode) || !ino->ops->iterate) {
		r = -ENOTDIR;
	} else if (ino->nlink == 0) {
		r = -ENOENT; /* a removed directory */
	} else if (count < 0) {
		r = -EINVAL;
	} else {
		size_t size = count > (1 << 20) ? (1 << 20) : (size_t)count;
		struct dirent_buf b = {.buf = malloc(size ? size : 1), .size = size, .old = old};
		if (!b.buf) {
			r = -ENOMEM;
		} else {
			int64_t pos = f->pos;
			r = ino->ops->iterate(ino, &pos, emit_dirent64, &b);
			if (r == 0) {
				if (b.used == 0 && b.overflow)
					r = -EINVAL;
				else if (k_copy_out(t, a[1], b.buf, b.used))
					r = -EFAULT;
				else {
					f->pos = pos;
					r = (long)b.used;
					inode_touch(ino, true, false, false);
				}
			}
			free(b.buf);
		}
	}
	file_put(f);
	return r;
}

SYSCALL(getdents64) { return do_getdents(t, a, false); }
SYSCALL(getdents) { return do_getdents(t, a, true); }
