/* Calls that change names: mkdir, mknod, rmdir, unlink, rename, link,
 * symlink, with Linux's checks in Linux's order (fs/namei.c). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../sentry.h"

/* The parent directory and a dentry for the last component. */
struct target {
	struct k_path parent;
	struct k_dentry *d; /* NULL when the last component is not a name */
	char last[K_NAME_MAX + 1];
	bool slash;
	bool dot; /* "." , ".." or "" (the root) */
};

static void target_put(struct target *tg)
{
	if (tg->d)
		dentry_put(tg->d);
	path_put(&tg->parent);
}

static int target_get_x(struct k_task *t, int dirfd, uint64_t upath, struct target *tg,
			bool proc_enoent)
{
	char path[K_PATH_MAX];
	memset(tg, 0, sizeof(*tg));
	int err = k_copy_path(t, upath, path, false);
	if (err < 0)
		return err;
	if ((err = path_parent(t, dirfd, path, 0, &tg->parent, tg->last, &tg->slash)))
		return err;
	tg->dot = !tg->last[0] || strcmp(tg->last, ".") == 0 || strcmp(tg->last, "..") == 0;
	if (tg->dot)
		return 0;
	tg->d = dentry_lookup(tg->parent.d, tg->last, &err);
	if (!tg->d) {
		path_put(&tg->parent);
		return err;
	}
	/* /proc and /sys answer a missing name with an error, not with a
	 * place to create one. */
	long magic = tg->parent.d->inode->sb->magic;
	if (proc_enoent && !tg->d->inode && (magic == PROC_SUPER_MAGIC || magic == SYSFS_MAGIC)) {
		target_put(tg);
		return -ENOENT;
	}
	return 0;
}

static int target_get(struct k_task *t, int dirfd, uint64_t upath, struct target *tg)
{
	return target_get_x(t, dirfd, upath, tg, true);
}

/* May the task create or remove names in dir? */
static int may_change(struct k_task *t, const struct k_path *dir)
{
	if (dir->d->inode->nlink == 0)
		return -ENOENT; /* a removed directory takes no new names */
	int err = inode_permission(t, dir->d->inode, MAY_WRITE | MAY_EXEC);
	if (!err && mount_readonly(dir->mnt))
		err = -EROFS;
	return err;
}

/* The sticky bit: only the owner of the file or of the directory (or
 * root) may remove or rename it. */
static int sticky_ok(struct k_task *t, struct k_inode *dir, struct k_inode *victim)
{
	uint32_t fsuid = t->tg->fsuid;
	if (!(dir->mode & S_ISVTX) || fsuid == 0 || fsuid == victim->uid || fsuid == dir->uid)
		return 0;
	return -EPERM;
}

static long do_mkdir(struct k_task *t, int dirfd, uint64_t upath, uint32_t mode)
{
	struct target tg;
	int err = target_get(t, dirfd, upath, &tg);
	if (err)
		return err;
	struct k_inode *dir = tg.parent.d->inode, *ino = NULL;
	if (tg.dot || tg.d->inode)
		err = -EEXIST;
	else if (!(err = may_change(t, &tg.parent)) && !dir->ops->mkdir)
		err = -EPERM;
	if (!err) {
		struct k_cred c;
		task_cred(t, &c);
		err = dir->ops->mkdir(dir, tg.last, mode & (07777 & ~(uint32_t)(S_ISUID | S_ISGID)) &
						       ~t->fs->umask, &c, &ino);
	}
	if (!err) {
		dentry_instantiate(tg.d, ino);
		inode_put(ino);
	}
	target_put(&tg);
	return err;
}

SYSCALL(mkdir) { return do_mkdir(t, AT_FDCWD, a[0], (uint32_t)a[1]); }
SYSCALL(mkdirat) { return do_mkdir(t, (int)a[0], a[1], (uint32_t)a[2]); }

/* A new node at tg's name (mode less the umask): its inode, referenced. */
static int make_node(struct k_task *t, struct target *tg, uint32_t mode, uint64_t rdev,
		     struct k_inode **out)
{
	struct k_inode *dir = tg->parent.d->inode;
	int err;
	if (tg->dot || tg->d->inode)
		return -EEXIST;
	if (tg->slash)
		return -ENOENT;
	if ((err = may_change(t, &tg->parent)))
		return err;
	if (!dir->ops->create)
		return -EPERM;
	struct k_cred c;
	task_cred(t, &c);
	uint32_t m = (mode & S_IFMT) | (mode & 07777 & ~t->fs->umask);
	if ((err = dir->ops->create(dir, tg->last, m, rdev, &c, out)))
		return err;
	dentry_instantiate(tg->d, *out);
	return 0;
}

static long do_mknod(struct k_task *t, int dirfd, uint64_t upath, uint32_t mode, uint64_t dev)
{
	switch (mode & S_IFMT) {
	case 0:
		mode |= S_IFREG;
		break;
	case S_IFREG: case S_IFIFO: case S_IFSOCK: case S_IFCHR: case S_IFBLK:
		break;
	case S_IFDIR:
		return -EPERM;
	default:
		return -EINVAL;
	}
	struct target tg;
	int err = target_get(t, dirfd, upath, &tg);
	if (err)
		return err;
	struct k_inode *ino = NULL;
	if ((S_ISCHR(mode) || S_ISBLK(mode)) && t->tg->euid != 0 && !tg.dot && !tg.d->inode &&
	    !tg.slash)
		err = -EPERM;
	else
		err = make_node(t, &tg, mode, S_ISCHR(mode) || S_ISBLK(mode) ? dev : 0, &ino);
	if (!err)
		inode_put(ino);
	target_put(&tg);
	return err;
}

int vfs_mknod_path(struct k_task *t, const char *path, uint32_t mode, struct k_inode **out)
{
	struct target tg;
	memset(&tg, 0, sizeof(tg));
	int err = path_parent(t, AT_FDCWD, path, 0, &tg.parent, tg.last, &tg.slash);
	if (err)
		return err;
	tg.dot = !tg.last[0] || strcmp(tg.last, ".") == 0 || strcmp(tg.last, "..") == 0;
	if (!tg.dot && !(tg.d = dentry_lookup(tg.parent.d, tg.last, &err))) {
		path_put(&tg.parent);
		return err;
	}
	err = make_node(t, &tg, mode, 0, out); /* create's reference, the caller's now */
	target_put(&tg);
	return err;
}

SYSCALL(mknod) { return do_mknod(t, AT_FDCWD, a[0], (uint32_t)a[1], (uint32_t)a[2]); }
SYSCALL(mknodat) { return do_mknod(t, (int)a[0], a[1], (uint32_t)a[2], (uint32_t)a[3]); }

static bool is_mount_root(const struct k_path *parent, const struct k_dentry *d)
{
	return d->mounted || parent->mnt->root == d;
}

static long do_rmdir(struct k_task *t, int dirfd, uint64_t upath)
{
	struct target tg;
	int err = target_get(t, dirfd, upath, &tg);
	if (err)
		return err;
	struct k_inode *dir = tg.parent.d->inode;
	if (tg.dot)
		err = strcmp(tg.last, ".") == 0 ? -EINVAL : tg.last[0] ? -ENOTEMPTY : -EBUSY;
	else if (!tg.d->inode)
		err = -ENOENT;
	else if (!S_ISDIR(tg.d->inode->mode))
		err = -ENOTDIR;
	else if (!(err = may_change(t, &tg.parent)) &&
		 !(err = sticky_ok(t, dir, tg.d->inode))) {
		if (is_mount_root(&tg.parent, tg.d))
			err = -EBUSY;
		else if (!dir->ops->rmdir)
			err = -EPERM;
		else
			err = dir->ops->rmdir(dir, tg.last, tg.d->inode);
	}
	if (!err)
		dentry_drop(tg.d);
	target_put(&tg);
	return err;
}

static long do_unlink(struct k_task *t, int dirfd, uint64_t upath)
{
	struct target tg;
	int err = target_get(t, dirfd, upath, &tg);
	if (err)
		return err;
	struct k_inode *dir = tg.parent.d->inode;
	if (tg.dot)
		err = -EISDIR;
	else if (!tg.d->inode)
		err = -ENOENT;
	else if (tg.slash)
		err = S_ISDIR(tg.d->inode->mode) ? -EISDIR : -ENOTDIR;
	else if (!(err = may_change(t, &tg.parent)) &&
		 !(err = sticky_ok(t, dir, tg.d->inode))) {
		if (S_ISDIR(tg.d->inode->mode))
			err = -EISDIR;
		else if (tg.d->mounted)
			err = -EBUSY;
		else if (!dir->ops->unlink)
			err = -EPERM;
		else
			err = dir->ops->unlink(dir, tg.last, tg.d->inode);
	}
	if (!err)
		dentry_drop(tg.d);
	target_put(&tg);
	return err;
}

SYSCALL(rmdir) { return do_rmdir(t, AT_FDCWD, a[0]); }
SYSCALL(unlink) { return do_unlink(t, AT_FDCWD, a[0]); }

SYSCALL(unlinkat)
{
	int flags = (int)a[2];
	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	return flags & AT_REMOVEDIR ? do_rmdir(t, (int)a[0], a[1]) : do_unlink(t, (int)a[0], a[1]);
}

/* Is d (in the same mount) anc or below it? */
static bool below(const struct k_dentry *d, const struct k_dentry *anc)
{
	for (; d; d = d->parent)
		if (d == anc)
			return true;
	return false;
}

static long do_rename(struct k_task *t, int odirfd, uint64_t opath, int ndirfd, uint64_t npath,
		      unsigned flags)
{
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_WHITEOUT) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if (flags & RENAME_WHITEOUT)
		return -EINVAL; /* whiteouts are the overlay's own business */
	struct target o, n;
	/* rename checks the mounts (EXDEV) before the names. */
	int err = target_get_x(t, odirfd, opath, &o, false);
	if (err)
		return err;
	if ((err = target_get_x(t, ndirfd, npath, &n, false))) {
		target_put(&o);
		return err;
	}
	struct k_inode *odir = o.parent.d->inode, *ndir = n.parent.d->inode;
	struct k_inode *src = o.d ? o.d->inode : NULL, *dst = n.d ? n.d->inode : NULL;
	if (o.parent.mnt != n.parent.mnt)
		err = -EXDEV;
	else if (o.dot)
		err = -EBUSY;
	else if (n.dot)
		err = flags & RENAME_NOREPLACE ? -EEXIST : -EBUSY;
	else if (!src)
		err = -ENOENT;
	else if ((flags & RENAME_EXCHANGE) && !dst)
		err = -ENOENT;
	else if ((flags & RENAME_NOREPLACE) && dst)
		err = -EEXIST;
	else if (!S_ISDIR(src->mode) && (o.slash || (n.slash && !(flags & RENAME_EXCHANGE))))
		err = -ENOTDIR;
	else if ((flags & RENAME_EXCHANGE) && n.slash && !S_ISDIR(dst->mode))
		err = -ENOTDIR;
	if (err)
		goto out;
	if (src == dst)
		goto out; /* the same file: nothing to do */
	/* A directory may not go below itself, nor (exchange) the other. */
	if (S_ISDIR(src->mode) && below(n.parent.d, o.d)) {
		err = -EINVAL;
		goto out;
	}
	if (dst && (flags & RENAME_EXCHANGE) && S_ISDIR(dst->mode) && below(o.parent.d, n.d)) {
		err = -EINVAL;
		goto out;
	}
	if (dst && !(flags & RENAME_EXCHANGE)) {
		if (S_ISDIR(src->mode) && !S_ISDIR(dst->mode))
			err = -ENOTDIR;
		else if (!S_ISDIR(src->mode) && S_ISDIR(dst->mode))
			err = -EISDIR;
		else if (below(o.parent.d, n.d))
			err = -ENOTEMPTY; /* the target is an ancestor of the source */
		if (err)
			goto out;
	}
	if ((err = may_change(t, &o.parent)) || (err = may_change(t, &n.parent)) ||
	    (err = sticky_ok(t, odir, src)) || (dst && (err = sticky_ok(t, ndir, dst))))
		goto out;
	/* Moving a directory rewrites its "..": it must be writable. */
	if (S_ISDIR(src->mode) && odir != ndir && (err = inode_permission(t, src, MAY_WRITE)))
		goto out;
	if (is_mount_root(&o.parent, o.d) || (dst && is_mount_root(&n.parent, n.d))) {
		err = -EBUSY;
		goto out;
	}
	if (!odir->ops->rename) {
		err = -EPERM;
		goto out;
	}
	err = odir->ops->rename(odir, o.last, ndir, n.last, flags);
	if (err)
		goto out;
	if (flags & RENAME_EXCHANGE) {
		/* Swap the two cached names through a temporary one. */
		char tmp[64];
		snprintf(tmp, sizeof(tmp), ".husk-exchange-%p", (void *)o.d);
		dentry_move(o.d, o.parent.d, tmp);
		dentry_move(n.d, o.parent.d, o.last);
		dentry_move(o.d, n.parent.d, n.last);
	} else {
		dentry_drop(n.d);
		dentry_move(o.d, n.parent.d, n.last);
	}
out:
	target_put(&n);
	target_put(&o);
	return err;
}

SYSCALL(rename) { return do_rename(t, AT_FDCWD, a[0], AT_FDCWD, a[1], 0); }
SYSCALL(renameat) { return do_rename(t, (int)a[0], a[1], (int)a[2], a[3], 0); }
SYSCALL(renameat2) { return do_rename(t, (int)a[0], a[1], (int)a[2], a[3], (unsigned)a[4]); }

static long do_link(struct k_task *t, int odirfd, uint64_t opath, int ndirfd, uint64_t npath,
		    int flags)
{
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	char path[K_PATH_MAX];
	int err = k_copy_path(t, opath, path, flags & AT_EMPTY_PATH);
	if (err < 0)
		return err;
	struct k_path old;
	int lf = (flags & AT_SYMLINK_FOLLOW) ? LOOKUP_FOLLOW : 0;
	if (err == 0)
		lf |= LOOKUP_EMPTY;
	if ((err = path_lookup(t, odirfd, path, lf, &old)))
		return err;
	struct target n;
	if ((err = target_get(t, ndirfd, npath, &n))) {
		path_put(&old);
		return err;
	}
	struct k_inode *src = old.d->inode, *dir = n.parent.d->inode;
	if (n.dot || n.d->inode)
		err = -EEXIST;
	else if (n.slash)
		err = -ENOENT;
	else if (old.mnt != n.parent.mnt)
		err = -EXDEV;
	else if (S_ISDIR(src->mode))
		err = -EPERM;
	else if (!(err = may_change(t, &n.parent))) {
		if (src->nlink == 0 && !(src->iflags & K_I_LINKABLE))
			err = -ENOENT;
		else if (!dir->ops->link)
			err = -EPERM;
		else
			err = dir->ops->link(dir, n.last, src);
	}
	if (!err) {
		src->iflags &= ~K_I_LINKABLE;
		dentry_instantiate(n.d, src);
	}
	target_put(&n);
	path_put(&old);
	return err;
}

SYSCALL(link) { return do_link(t, AT_FDCWD, a[0], AT_FDCWD, a[1], 0); }
SYSCALL(linkat) { return do_link(t, (int)a[0], a[1], (int)a[2], a[3], (int)a[4]); }

static long do_symlink(struct k_task *t, uint64_t utarget, int dirfd, uint64_t upath)
{
	char target[K_PATH_MAX];
	int err = k_copy_path(t, utarget, target, false);
	if (err < 0)
		return err;
	struct target n;
	if ((err = target_get(t, dirfd, upath, &n)))
		return err;
	struct k_inode *dir = n.parent.d->inode, *ino = NULL;
	if (n.dot || n.d->inode)
		err = -EEXIST;
	else if (n.slash)
		err = -ENOENT;
	else if (!(err = may_change(t, &n.parent)) && !dir->ops->symlink)
		err = -EPERM;
	if (!err) {
		struct k_cred c;
		task_cred(t, &c);
		err = dir->ops->symlink(dir, n.last, target, &c, &ino);
	}
	if (!err) {
		dentry_instantiate(n.d, ino);
		inode_put(ino);
	}
	target_put(&n);
	return err;
}

SYSCALL(symlink) { return do_symlink(t, a[0], AT_FDCWD, a[1]); }
SYSCALL(symlinkat) { return do_symlink(t, a[0], (int)a[1], a[2]); }

int vfs_tmpfile(struct k_task *t, const struct k_path *dir, uint32_t mode, bool linkable,
		struct k_path *out)
{
	static unsigned long serial;
	struct k_inode *di = dir->d->inode;
	if (dir->d->inode->sb->magic != TMPFS_MAGIC)
		return -EOPNOTSUPP;
	int err = may_change(t, dir);
	if (err)
		return err;
	/* A file created under a private name and unlinked at once. */
	char name[64];
	snprintf(name, sizeof(name), ".husk-tmpfile-%lu", serial++);
	struct k_cred c;
	task_cred(t, &c);
	struct k_inode *ino;
	err = di->ops->create(di, name, S_IFREG | (mode & 07777 & ~t->fs->umask), 0, &c, &ino);
	if (err)
		return err;
	di->ops->unlink(di, name, ino);
	if (linkable)
		ino->iflags |= K_I_LINKABLE;
	char label[32];
	snprintf(label, sizeof(label), "#%llu", (unsigned long long)ino->ino);
	struct k_dentry *d = dentry_anon(dir->d, label, ino);
	inode_put(ino);
	if (!d)
		return -ENOMEM;
	*out = (struct k_path){dir->mnt, d};
	dir->mnt->refs++;
	return 0;
}
