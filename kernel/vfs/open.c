/* open, openat, openat2, creat and close_range, with Linux's flag checks
 * (build_open_flags) and open rules (may_open, O_CREAT, O_EXCL, O_TRUNC,
 * O_NOFOLLOW, O_DIRECTORY, O_PATH, O_TMPFILE). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "../sentry.h"

/* The kernel's O_LARGEFILE; glibc's is 0 on 64-bit targets, but F_GETFL
 * on Linux shows the bit. */
#define K_O_LARGEFILE 0100000
#define K_O_TMPFILE_BIT 020000000

#ifndef __O_TMPFILE
#define __O_TMPFILE 020000000
#endif

/* Every flag open knows (Linux's VALID_OPEN_FLAGS). */
#define VALID_OPEN_FLAGS                                                                    \
	(O_RDONLY | O_WRONLY | O_RDWR | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND |    \
	 O_NONBLOCK | O_DSYNC | FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW |  \
	 O_NOATIME | O_CLOEXEC | O_PATH | __O_TMPFILE | O_SYNC)
/* What a file description keeps (F_GETFL shows these). */
#define KEPT_FLAGS                                                                          \
	(O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | FASYNC | O_DIRECT | O_LARGEFILE |      \
	 O_NOATIME | O_PATH | O_SYNC | O_DIRECTORY | O_NOFOLLOW)

static void vfs_release(struct k_file *f)
{
	(void)f; /* the path and inode are dropped by file_put */
}

static int64_t path_only_seek(struct k_file *f, int64_t off, int whence)
{
	(void)f, (void)off, (void)whence;
	return -EBADF;
}

int vfs_file_stat(struct k_file *f, struct stat *st)
{
	inode_stat(f->inode, st);
	return 0;
}

/* O_PATH descriptions: a place, not an open file. */
static const struct k_file_ops path_ops = {
	.seek = path_only_seek,
	.stat = vfs_file_stat,
	.release = vfs_release,
};

static int64_t dir_seek(struct k_file *f, int64_t off, int whence);

/* Directories of every filesystem: getdents goes to the inode, lseek
 * moves the cookie. */
const struct k_file_ops vfs_dir_ops = {
	.seek = dir_seek,
	.stat = vfs_file_stat,
};

static int64_t dir_seek(struct k_file *f, int64_t off, int whence)
{
	return vfs_dir_seek(f, off, whence);
}

int64_t vfs_dir_seek(struct k_file *f, int64_t off, int whence)
{
	int64_t at;
	if (whence == SEEK_SET) {
		at = off;
	} else if (whence == SEEK_CUR) {
		if (__builtin_add_overflow(f->pos, off, &at))
			return -EOVERFLOW;
	} else {
		return -EINVAL;
	}
	if (at < 0)
		return -EINVAL;
	f->pos = at;
	return at;
}

static int may_open(struct k_task *t, const struct k_path *p, int acc, int flags)
{
	struct k_inode *ino = p->d->inode;
	if (S_ISLNK(ino->mode))
		return -ELOOP;
	if (S_ISDIR(ino->mode) && (acc & MAY_WRITE))
		return -EISDIR;
	if ((flags & O_DIRECTORY) && !S_ISDIR(ino->mode))
		return -ENOTDIR;
	if ((S_ISCHR(ino->mode) || S_ISBLK(ino->mode)) && (p->mnt->flags & MS_NODEV))
		return -EACCES;
	int err = inode_permission(t, ino, acc);
	if (err)
		return err;
	/* O_NOATIME is for the owner (or CAP_FOWNER) only. */
	if ((flags & O_NOATIME) && t->tg->fsuid != 0 && t->tg->fsuid != ino->uid)
		return -EPERM;
	if ((acc & MAY_WRITE) && mount_readonly(p->mnt) &&
	    (S_ISREG(ino->mode) || S_ISDIR(ino->mode) || S_ISLNK(ino->mode)))
		return -EROFS;
	return 0;
}

int vfs_open_path(struct k_task *t, const struct k_path *p, int flags, struct k_file **out)
{
	(void)t;
	struct k_inode *ino = p->d->inode;
	struct k_file *f = file_new(&path_ops, (flags & KEPT_FLAGS) |
					       (flags & O_PATH ? 0 : K_O_LARGEFILE));
	if (!f)
		return -ENOMEM;
	f->path = path_get(*p);
	f->inode = inode_get(ino);
	if (!(flags & O_PATH)) {
		int err = ino->ops->open ? ino->ops->open(ino, f) : -ENXIO;
		if (err) {
			file_put(f);
			return err;
		}
	}
	*out = f;
	return 0;
}

static int truncate_open(struct k_task *t, struct k_file *f)
{
	struct k_inode *ino = f->inode;
	(void)t;
	if (!S_ISREG(ino->mode) || !ino->ops->setattr)
		return 0;
	struct k_setattr a = {.mask = K_SET_SIZE, .size = 0};
	return ino->ops->setattr(ino, &a);
}

/* O_CREAT: the parent, then the last component, created if missing.  A
 * dangling symlink there is followed, and its target created, as Linux
 * does unless O_EXCL or O_NOFOLLOW. */
static int open_create(struct k_task *t, int dirfd, const struct k_path *from, const char *path,
		       int flags, uint32_t mode, int lflags, struct k_path *out, bool *created,
		       int depth)
{
	struct k_path parent;
	char last[K_NAME_MAX + 1];
	bool slash;
	int err = from ? path_parent_from(t, from, path, lflags & ~LOOKUP_FOLLOW, &parent, last, &slash)
		       : path_parent(t, dirfd, path, lflags & ~LOOKUP_FOLLOW, &parent, last, &slash);
	if (err)
		return err;
	if (slash || !last[0] || strcmp(last, ".") == 0 || strcmp(last, "..") == 0) {
		path_put(&parent);
		return -EISDIR;
	}
	struct k_dentry *d = dentry_lookup(parent.d, last, &err);
	if (!d) {
		path_put(&parent);
		return err;
	}
	if (d->inode) {
		struct k_inode *ino = d->inode;
		if (flags & O_EXCL) {
			err = -EEXIST;
		} else if (S_ISDIR(ino->mode)) {
			err = -EISDIR;
		} else if (S_ISLNK(ino->mode) && !(flags & O_NOFOLLOW)) {
			/* Follow it from its directory; create there if dangling. */
			char target[K_PATH_MAX];
			int n = ino->ops->readlink ? ino->ops->readlink(ino, target, K_PATH_MAX - 1)
						   : -EINVAL;
			if (n < 0)
				err = n;
			else if (n == 0)
				err = -ENOENT;
			else if (depth >= K_MAXSYMLINKS || (lflags & LOOKUP_NO_SYMLINKS))
				err = -ELOOP;
			else {
				target[n] = 0;
				err = open_create(t, AT_FDCWD, &parent, target, flags, mode, lflags,
						  out, created, depth + 1);
			}
		} else {
			*out = (struct k_path){parent.mnt, dentry_get(d)};
			parent.mnt->refs++;
		}
		dentry_put(d);
		path_put(&parent);
		return err;
	}
	struct k_inode *dir = parent.d->inode;
	if (dir->nlink == 0)
		err = -ENOENT; /* a removed directory */
	else if ((err = inode_permission(t, dir, MAY_WRITE | MAY_EXEC)) == 0 &&
		 mount_readonly(parent.mnt))
		err = -EROFS;
	if (!err && !dir->ops->create)
		err = -EPERM;
	struct k_inode *ino = NULL;
	if (!err) {
		struct k_cred c;
		task_cred(t, &c);
		mode = (mode & ~t->fs->umask & 07777) | S_IFREG;
		err = dir->ops->create(dir, last, mode, 0, &c, &ino);
	}
	if (err) {
		dentry_put(d);
		path_put(&parent);
		return err;
	}
	dentry_instantiate(d, ino);
	inode_put(ino);
	*out = (struct k_path){parent.mnt, d};
	parent.mnt->refs++;
	path_put(&parent);
	*created = true;
	return 0;
}

long vfs_openat(struct k_task *t, int dirfd, uint64_t upath, uint64_t flags, uint32_t mode,
		uint64_t resolve)
{
	char path[K_PATH_MAX];
	int err = k_copy_path(t, upath, path, false);
	if (err < 0)
		return err;
	int lflags = 0;
	if (resolve & RESOLVE_NO_XDEV)
		lflags |= LOOKUP_NO_XDEV;
	if (resolve & RESOLVE_NO_MAGICLINKS)
		lflags |= LOOKUP_NO_MAGICLINKS;
	if (resolve & RESOLVE_NO_SYMLINKS)
		lflags |= LOOKUP_NO_SYMLINKS;
	if (resolve & RESOLVE_BENEATH)
		lflags |= LOOKUP_BENEATH;
	if (resolve & RESOLVE_IN_ROOT)
		lflags |= LOOKUP_IN_ROOT;
	if (flags & O_PATH)
		flags &= O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC;
	int acc = 0;
	if (!(flags & O_PATH)) {
		switch (flags & O_ACCMODE) {
		case O_RDONLY: acc = MAY_READ; break;
		case O_WRONLY: acc = MAY_WRITE; break;
		default: acc = MAY_READ | MAY_WRITE; break;
		}
		if (flags & O_TRUNC)
			acc |= MAY_WRITE;
	}
	struct k_path p = {0};
	bool created = false;
	/* The kernel's __O_TMPFILE bit (glibc's macro includes O_DIRECTORY);
	 * Linux's O_TMPFILE_MASK: it needs O_DIRECTORY, and not O_CREAT. */
	bool tmpfile = flags & K_O_TMPFILE_BIT;
	if (tmpfile && (flags & (K_O_TMPFILE_BIT | O_DIRECTORY | O_CREAT)) !=
			       (K_O_TMPFILE_BIT | O_DIRECTORY))
		return -EINVAL;
	/* Linux 6.4 and later refuse the ambiguous pair. */
	if (!tmpfile && (flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY))
		return -EINVAL;
	if (tmpfile) {
		/* An unnamed file in the directory: tmpfs only, as in Linux. */
		if (!(acc & MAY_WRITE))
			return -EINVAL;
		struct k_path dir;
		err = path_lookup(t, dirfd, path, lflags | LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &dir);
		if (err)
			return err;
		err = vfs_tmpfile(t, &dir, mode, !(flags & O_EXCL), &p);
		path_put(&dir);
		if (err)
			return err;
		created = true;
	} else if (flags & O_CREAT) {
		err = open_create(t, dirfd, NULL, path, (int)flags, mode, lflags, &p, &created, 0);
	} else {
		int lf = lflags | ((flags & O_NOFOLLOW) ? 0 : LOOKUP_FOLLOW);
		if (flags & O_DIRECTORY)
			lf |= LOOKUP_DIRECTORY;
		struct k_file *magic = NULL;
		err = path_lookup_file(t, dirfd, path, lf, &p, &magic);
		if (err == -K_EMAGICFILE) {
			/* /dev/stdout and friends: a new description of that file. */
			struct k_file *nf = NULL;
			err = (flags & O_DIRECTORY) ? -ENOTDIR : procfs_reopen(magic, (int)flags, &nf);
			file_put(magic);
			if (err)
				return err;
			int fd = fdt_install(t, nf, 0, flags & O_CLOEXEC);
			file_put(nf);
			return fd;
		}
	}
	if (err)
		return err;
	if (!(flags & O_PATH) && !created)
		err = may_open(t, &p, acc, (int)flags);
	else if (!tmpfile && (flags & O_DIRECTORY) && !S_ISDIR(p.d->inode->mode))
		err = -ENOTDIR;
	struct k_file *f = NULL;
	if (!err)
		err = vfs_open_path(t, &p, (int)(tmpfile ? flags & ~(uint64_t)O_DIRECTORY : flags), &f);
	path_put(&p);
	if (!err && (flags & O_TRUNC) && !created && !(flags & O_PATH))
		err = truncate_open(t, f);
	if (err) {
		file_put(f);
		return err;
	}
	int fd = fdt_install(t, f, 0, flags & O_CLOEXEC);
	file_put(f);
	return fd;
}

SYSCALL(open) { return vfs_openat(t, AT_FDCWD, a[0], (uint32_t)a[1], (uint32_t)a[2], 0); }
SYSCALL(openat) { return vfs_openat(t, (int)a[0], a[1], (uint32_t)a[2], (uint32_t)a[3], 0); }

SYSCALL(creat)
{
	return vfs_openat(t, AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, (uint32_t)a[1], 0);
}

SYSCALL(openat2)
{
	struct open_how how = {0};
	size_t size = a[3];
	if (size < sizeof(how))
		return -EINVAL;
	if (size > PAGE_SIZE)
		return -E2BIG;
	if (k_copy_in(t, &how, a[2], sizeof(how)))
		return -EFAULT;
	/* A larger struct from a newer libc is fine if the rest is zero. */
	for (size_t off = sizeof(how); off < size; off++) {
		uint8_t b;
		if (k_copy_in(t, &b, a[2] + off, 1))
			return -EFAULT;
		if (b)
			return -E2BIG;
	}
	if (how.flags & ~(uint64_t)VALID_OPEN_FLAGS)
		return -EINVAL;
	if (how.resolve & ~(uint64_t)(RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS |
				     RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_IN_ROOT |
				     RESOLVE_CACHED))
		return -EINVAL;
	if ((how.resolve & RESOLVE_BENEATH) && (how.resolve & RESOLVE_IN_ROOT))
		return -EINVAL;
	if (how.flags & (O_CREAT | __O_TMPFILE)) {
		if (how.mode & ~(uint64_t)07777)
			return -EINVAL;
	} else if (how.mode) {
		return -EINVAL;
	}
	if ((how.flags & O_PATH) && (how.flags & ~(uint64_t)(O_DIRECTORY | O_NOFOLLOW | O_PATH |
							     O_CLOEXEC)))
		return -EINVAL;
	return vfs_openat(t, (int)a[0], a[1], how.flags, (uint32_t)how.mode, how.resolve);
}

SYSCALL(close_range)
{
	unsigned first = (unsigned)a[0], last = (unsigned)a[1];
	unsigned flags = (unsigned)a[2];
	if (flags & ~(unsigned)(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE))
		return -EINVAL;
	if (first > last)
		return -EINVAL;
	struct k_fdtable *fdt = t->fdt;
	for (unsigned fd = first; fd <= last && fd < (unsigned)fdt->n; fd++) {
		if (!fdt->v[fd].f)
			continue;
		if (flags & CLOSE_RANGE_CLOEXEC)
			fdt->v[fd].cloexec = true;
		else
			fdt_close(t, (int)fd);
	}
	return 0;
}
