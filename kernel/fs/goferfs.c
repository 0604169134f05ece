/* goferfs: a bind mount of the sandbox, served by the gofer.  Each inode
 * holds a gofer fid; names resolved once stay in the dentry cache, so a
 * path costs one round trip per new component the first time and none
 * after.  Regular files are read through a host descriptor the gofer
 * donates (read-only for read-only mounts), once per inode: the sentry's
 * pread on it is a plain host call, no round trip. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../../gofer/gofer.h"
#include "../sentry.h"

struct gofer_sb {
	struct gf_client *c;
	struct k_kernel *k;
	bool readonly;
};

struct gofer_node {
	gf_fid fid;
	int ro_fd;     /* donated read-only host fd, -1 until first needed */
	char *target;  /* symlinks: cached target (read-only mounts) */
	struct k_mobj *cache; /* read-only mounts: the file's bytes, once mapped */
};

static const struct k_inode_ops gofer_ops;

static struct gofer_sb *gsb(struct k_inode *ino)
{
	return ino->sb->priv;
}

static struct gofer_node *gnode(struct k_inode *ino)
{
	return ino->priv;
}

static void apply_stat(struct k_inode *ino, const struct gf_stat *st)
{
	ino->mode = st->mode;
	ino->nlink = st->nlink;
	ino->uid = st->uid;
	ino->gid = st->gid;
	ino->rdev = st->rdev;
	ino->size = st->size;
	ino->blocks = st->blocks;
	ino->atime = (struct timespec){st->atime_sec, st->atime_nsec};
	ino->mtime = (struct timespec){st->mtime_sec, st->mtime_nsec};
	ino->ctime = (struct timespec){st->ctime_sec, st->ctime_nsec};
}

static struct k_inode *gofer_inode(struct k_super *sb, gf_fid fid, const struct gf_stat *st)
{
	struct gofer_node *n = calloc(1, sizeof(*n));
	struct k_inode *ino = n ? inode_new(sb, &gofer_ops, st->mode) : NULL;
	if (!ino) {
		free(n);
		return NULL;
	}
	n->fid = fid;
	n->ro_fd = -1;
	ino->priv = n;
	/* The host's inode numbers: stable, and tell hard links apart. */
	ino->ino = st->ino;
	apply_stat(ino, st);
	return ino;
}

static void gofer_evict(struct k_inode *ino)
{
	struct gofer_node *n = gnode(ino);
	if (!n)
		return;
	gf_close(gsb(ino)->c, &n->fid, 1);
	if (n->ro_fd >= 0)
		close(n->ro_fd);
	if (n->cache)
		mobj_put(&gsb(ino)->k->mem, n->cache);
	free(n->target);
	free(n);
}

static int gofer_lookup(struct k_inode *dir, const char *name, struct k_inode **out)
{
	const char *names[1] = {name};
	gf_fid fid;
	struct gf_stat st;
	int stop = 0;
	int n = gf_walk(gsb(dir)->c, gnode(dir)->fid, names, 1, &fid, &st, &stop);
	if (n < 0)
		return n;
	if (n == 0)
		return stop ? -stop : -ENOENT;
	struct k_inode *ino = gofer_inode(dir->sb, fid, &st);
	if (!ino) {
		gf_close(gsb(dir)->c, &fid, 1);
		return -ENOMEM;
	}
	*out = ino;
	return 0;
}

static int gofer_iterate(struct k_inode *dir, int64_t *pos, k_dirent_fn emit, void *ctx)
{
	struct gf_dirent ents[64];
	for (;;) {
		int n = gf_getdents(gsb(dir)->c, gnode(dir)->fid, (uint64_t)*pos, ents, 64);
		if (n < 0)
			return n;
		if (n == 0)
			return 0;
		for (int i = 0; i < n; i++) {
			size_t len = strnlen(ents[i].name, sizeof(ents[i].name) - 1);
			if (emit(ctx, ents[i].name, len, ents[i].ino, ents[i].type,
				 (int64_t)ents[i].off))
				return 0;
			*pos = (int64_t)ents[i].off;
		}
	}
}

static int gofer_readlink(struct k_inode *ino, char *buf, size_t size)
{
	struct gofer_node *n = gnode(ino);
	if (!n->target) {
		char tmp[K_PATH_MAX];
		int len = gf_readlink(gsb(ino)->c, n->fid, tmp, sizeof(tmp) - 1);
		if (len < 0)
			return len;
		tmp[len] = 0;
		if (!gsb(ino)->readonly) {
			size_t l = (size_t)len < size ? (size_t)len : size;
			memcpy(buf, tmp, l);
			return (int)l;
		}
		n->target = strdup(tmp);
		if (!n->target)
			return -ENOMEM;
	}
	size_t len = strlen(n->target);
	if (len > size)
		len = size;
	memcpy(buf, n->target, len);
	return (int)len;
}

static int host_fd(struct k_file *f)
{
	struct k_inode *ino = f->inode;
	struct gofer_node *n = gnode(ino);
	if (f->host_fd >= 0)
		return f->host_fd;
	if (n->ro_fd < 0) {
		int err = gf_open(gsb(ino)->c, n->fid, O_RDONLY, &n->ro_fd);
		if (err)
			return err;
	}
	return n->ro_fd;
}

static ssize_t gofer_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	int fd = host_fd(f);
	if (fd < 0)
		return fd;
	int64_t *p = pos ? pos : &f->pos;
	ssize_t r = preadv(fd, iov, n, (off_t)*p);
	if (r < 0)
		return -errno;
	*p += r;
	return r;
}

static ssize_t gofer_write(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	if (f->host_fd < 0)
		return -EBADF;
	int64_t *p = pos ? pos : &f->pos;
	if (!pos && (f->flags & O_APPEND)) {
		off_t end = lseek(f->host_fd, 0, SEEK_END);
		if (end < 0)
			return -errno;
		*p = end;
	}
	ssize_t r = pwritev(f->host_fd, iov, n, (off_t)*p);
	if (r < 0)
		return -errno;
	*p += r;
	if ((uint64_t)*p > f->inode->size)
		f->inode->size = (uint64_t)*p;
	inode_touch(f->inode, false, true, true);
	return r;
}

static int64_t gofer_seek(struct k_file *f, int64_t off, int whence)
{
	int64_t at;
	switch (whence) {
	case SEEK_SET: at = off; break;
	case SEEK_CUR:
		if (__builtin_add_overflow(f->pos, off, &at))
			return -EOVERFLOW;
		break;
	case SEEK_END:
		if (__builtin_add_overflow((int64_t)f->inode->size, off, &at))
			return -EOVERFLOW;
		break;
	case SEEK_DATA:
	case SEEK_HOLE: {
		int fd = host_fd(f);
		if (fd < 0)
			return fd;
		off_t r = lseek(fd, (off_t)off, whence);
		if (r < 0)
			return -errno;
		at = r;
		break;
	}
	default:
		return -EINVAL;
	}
	if (at < 0)
		return -EINVAL;
	f->pos = at;
	return at;
}

static void gofer_release(struct k_file *f)
{
	if (f->host_fd >= 0)
		close(f->host_fd);
	f->host_fd = -1;
}

/* A read-only mount's files cannot change under the sandbox: mappings
 * share the host file's own pages (one object per file, kept with its
 * inode), which the stubs map straight from the gofer's descriptor. */
static struct k_mobj *gofer_page_cache(struct k_file *f)
{
	struct k_inode *ino = f->inode;
	struct gofer_node *n = gnode(ino);
	struct gofer_sb *g = gsb(ino);
	if (!g->readonly || !S_ISREG(ino->mode) || ino->size == 0)
		return NULL;
	if (!n->cache) {
		int fd = host_fd(f);
		if (fd < 0 || !(n->cache = mobj_file(fd, ino->size)))
			return NULL; /* read per mapping instead */
		/* Where it came from, for a snapshot to map it again. */
		char path[K_PATH_MAX];
		struct k_path root = vfs_abs_root(g->k);
		if (root.mnt && path_name(&root, &f->path, path, sizeof(path)) >= 0) {
			n->cache->src = strdup(path);
			n->cache->src_ino = ino->ino;
			n->cache->src_size = ino->size;
			n->cache->src_mtime = ino->mtime;
		}
	}
	n->cache->refs++;
	return n->cache;
}

static const struct k_file_ops gofer_file_ops = {
	.page_cache = gofer_page_cache,
	.read = gofer_read,
	.write = gofer_write,
	.seek = gofer_seek,
	.stat = vfs_file_stat,
	.release = gofer_release,
};

static int gofer_open(struct k_inode *ino, struct k_file *f)
{
	if (S_ISDIR(ino->mode)) {
		f->ops = &vfs_dir_ops;
		return 0;
	}
	if (S_ISCHR(ino->mode))
		return chrdev_open(ino->rdev, f);
	if (!S_ISREG(ino->mode))
		return -ENXIO;
	f->ops = &gofer_file_ops;
	int acc = f->flags & O_ACCMODE;
	if (acc == O_WRONLY || acc == O_RDWR) {
		/* Writable mounts: a descriptor of this description's own. */
		int fd;
		int err = gf_open(gsb(ino)->c, gnode(ino)->fid, acc | (f->flags & O_APPEND), &fd);
		if (err)
			return err;
		f->host_fd = fd;
	}
	return 0;
}

static int gofer_statfs(struct k_inode *ino, struct statfs *st)
{
	return gf_statfs(gsb(ino)->c, gnode(ino)->fid, st);
}

/* ---- writes (writable mounts) ---- */

static int instantiate(struct k_inode *dir, gf_fid fid, const struct gf_stat *st,
		       struct k_inode **out)
{
	struct k_inode *ino = gofer_inode(dir->sb, fid, st);
	if (!ino) {
		gf_close(gsb(dir)->c, &fid, 1);
		return -ENOMEM;
	}
	inode_touch(dir, false, true, true);
	*out = ino;
	return 0;
}

static int gofer_create(struct k_inode *dir, const char *name, uint32_t mode, uint64_t rdev,
			const struct k_cred *c, struct k_inode **out)
{
	if (!S_ISREG(mode) || rdev)
		return -EPERM; /* device nodes and fifos stay in the sandbox */
	gf_fid fid;
	struct gf_stat st;
	int fd = -1;
	int err = gf_create(gsb(dir)->c, gnode(dir)->fid, name, O_RDWR, mode & 07777, c->fsuid,
			    c->fsgid, &fid, &st, &fd);
	if (err)
		return err;
	if (fd >= 0)
		close(fd);
	return instantiate(dir, fid, &st, out);
}

static int gofer_mkdir(struct k_inode *dir, const char *name, uint32_t mode,
		       const struct k_cred *c, struct k_inode **out)
{
	gf_fid fid;
	struct gf_stat st;
	int err = gf_mkdir(gsb(dir)->c, gnode(dir)->fid, name, mode & 07777, c->fsuid, c->fsgid,
			   &fid, &st);
	return err ? err : instantiate(dir, fid, &st, out);
}

static int gofer_symlink(struct k_inode *dir, const char *name, const char *target,
			 const struct k_cred *c, struct k_inode **out)
{
	gf_fid fid;
	struct gf_stat st;
	int err = gf_symlink(gsb(dir)->c, gnode(dir)->fid, name, target, c->fsuid, c->fsgid, &fid,
			     &st);
	return err ? err : instantiate(dir, fid, &st, out);
}

static int gofer_link(struct k_inode *dir, const char *name, struct k_inode *target)
{
	int err = gf_link(gsb(dir)->c, gnode(dir)->fid, name, gnode(target)->fid);
	if (!err) {
		target->nlink++;
		inode_touch(dir, false, true, true);
	}
	return err;
}

static int gofer_unlink(struct k_inode *dir, const char *name, struct k_inode *victim)
{
	int err = gf_unlink(gsb(dir)->c, gnode(dir)->fid, name, 0);
	if (!err)
		victim->nlink--;
	return err;
}

static int gofer_rmdir(struct k_inode *dir, const char *name, struct k_inode *victim)
{
	int err = gf_unlink(gsb(dir)->c, gnode(dir)->fid, name, AT_REMOVEDIR);
	if (!err)
		victim->nlink = 0;
	return err;
}

static int gofer_rename(struct k_inode *odir, const char *oname, struct k_inode *ndir,
			const char *nname, unsigned flags)
{
	return gf_rename(gsb(odir)->c, gnode(odir)->fid, oname, gnode(ndir)->fid, nname, flags);
}

static int gofer_setattr(struct k_inode *ino, const struct k_setattr *a)
{
	struct gf_setattr ga = {0};
	if (a->mask & K_SET_MODE)
		ga.mask |= GF_SET_MODE, ga.mode = a->mode;
	if (a->mask & K_SET_UID)
		ga.mask |= GF_SET_UID, ga.uid = a->uid;
	if (a->mask & K_SET_GID)
		ga.mask |= GF_SET_GID, ga.gid = a->gid;
	if (a->mask & K_SET_SIZE)
		ga.mask |= GF_SET_SIZE, ga.size = a->size;
	if (a->mask & K_SET_ATIME)
		ga.mask |= GF_SET_ATIME, ga.atime_sec = a->atime.tv_sec, ga.atime_nsec = a->atime.tv_nsec;
	if (a->mask & K_SET_MTIME)
		ga.mask |= GF_SET_MTIME, ga.mtime_sec = a->mtime.tv_sec, ga.mtime_nsec = a->mtime.tv_nsec;
	int err = ga.mask ? gf_setattr(gsb(ino)->c, gnode(ino)->fid, &ga) : 0;
	if (err)
		return err;
	struct gf_stat st;
	if (gf_stat(gsb(ino)->c, gnode(ino)->fid, &st) == 0)
		apply_stat(ino, &st);
	return 0;
}

static const struct k_inode_ops gofer_ops = {
	.lookup = gofer_lookup,
	.create = gofer_create,
	.mkdir = gofer_mkdir,
	.symlink = gofer_symlink,
	.link = gofer_link,
	.unlink = gofer_unlink,
	.rmdir = gofer_rmdir,
	.rename = gofer_rename,
	.iterate = gofer_iterate,
	.readlink = gofer_readlink,
	.setattr = gofer_setattr,
	.open = gofer_open,
	.statfs = gofer_statfs,
	.evict = gofer_evict,
};

bool goferfs_readonly(const struct k_inode *ino)
{
	return ino && ino->ops == &gofer_ops && ((struct gofer_sb *)ino->sb->priv)->readonly;
}

int goferfs_new(struct k_kernel *k, struct gf_client *c, const char *mount_path, bool readonly,
		struct k_super **sbp, struct k_inode **root)
{
	(void)k;
	gf_fid fid;
	struct gf_stat st;
	int err = gf_attach(c, mount_path, &fid, &st);
	if (err)
		return err;
	struct gofer_sb *g = calloc(1, sizeof(*g));
	struct k_super *sb = g ? super_new("gofer", 0x01021997 /* V9FS_MAGIC, as gVisor */) : NULL;
	if (!sb) {
		free(g);
		gf_close(c, &fid, 1);
		return -ENOMEM;
	}
	g->c = c;
	g->readonly = readonly;
	g->k = k;
	sb->priv = g;
	sb->put_priv = free;
	struct k_inode *ino = gofer_inode(sb, fid, &st);
	if (!ino) {
		gf_close(c, &fid, 1);
		super_put(sb);
		return -ENOMEM;
	}
	super_put(sb); /* the inode holds it now */
	*sbp = sb;
	sb->refs++;
	*root = ino;
	return 0;
}
