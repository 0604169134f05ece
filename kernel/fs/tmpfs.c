/* tmpfs: a filesystem in the sentry's memory.  File data lives in the
 * memory file, in chunks that are memory objects of their own, so a
 * MAP_SHARED mapping of a tmpfs file maps the very pages read() and write()
 * use, and a snapshot saves them with the rest of guest memory. */
#define _GNU_SOURCE
#include <dirent.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../sentry.h"

#define CHUNK (1UL << 20)
/* A file's size and chunks a snapshot may give it: 1 TiB. */
#define TMPFS_MAX_CHUNKS (1UL << 20)

struct tmpfs_ent {
	char *name;
	struct k_inode *ino;
	int64_t serial; /* the getdents cookie: insertion order, never reused */
};

struct tmpfs_dir {
	struct tmpfs_ent *v;
	size_t n, cap;
	int64_t next_serial;
	struct k_inode *parent; /* for ".." (not a reference) */
};

struct tmpfs_file {
	struct k_mobj **chunks;
	size_t nchunks;
};

struct tmpfs_node {
	struct k_kernel *k;
	union {
		struct tmpfs_dir dir;
		struct tmpfs_file file;
		char *target; /* symlinks */
	};
};

static const struct k_inode_ops tmpfs_ops;

static struct tmpfs_node *node(struct k_inode *ino)
{
	return ino->priv;
}

static struct k_inode *tmpfs_inode(struct k_kernel *k, struct k_super *sb, uint32_t mode,
				   const struct k_cred *c)
{
	struct k_inode *ino = inode_new(sb, &tmpfs_ops, mode);
	if (!ino)
		return NULL;
	struct tmpfs_node *n = calloc(1, sizeof(*n));
	if (!n) {
		inode_put(ino);
		return NULL;
	}
	n->k = k;
	if (S_ISDIR(mode)) {
		n->dir.next_serial = 2;
		ino->nlink = 2;
		ino->size = 4096;
	}
	ino->priv = n;
	if (c) {
		ino->uid = c->fsuid;
		ino->gid = c->fsgid;
	}
	return ino;
}

static void file_truncate(struct tmpfs_node *n, struct k_inode *ino, uint64_t size)
{
	struct k_memfile *mf = &n->k->mem;
	size_t keep = (size_t)((size + CHUNK - 1) / CHUNK);
	for (size_t i = keep; i < n->file.nchunks; i++) {
		if (n->file.chunks[i] && --n->file.chunks[i]->refs == 0) {
			memfile_free(mf, n->file.chunks[i]->off, n->file.chunks[i]->len);
			free(n->file.chunks[i]);
		}
		n->file.chunks[i] = NULL;
	}
	if (keep < n->file.nchunks)
		n->file.nchunks = keep;
	/* Bytes past the new end read as zero if the file grows again. */
	if (size < ino->size && size % CHUNK && keep > 0 && n->file.chunks[keep - 1]) {
		struct k_mobj *o = n->file.chunks[keep - 1];
		uint64_t in = size % CHUNK, page_end = PAGE_UP(in);
		memset(mf->base + o->off + in, 0, page_end - in);
		if (page_end < CHUNK)
			memfile_zero(mf, o->off + page_end, CHUNK - page_end);
	}
	ino->size = size;
}

static void tmpfs_evict(struct k_inode *ino)
{
	struct tmpfs_node *n = node(ino);
	if (!n)
		return;
	if (S_ISDIR(ino->mode)) {
		for (size_t i = 0; i < n->dir.n; i++) {
			free(n->dir.v[i].name);
			inode_put(n->dir.v[i].ino);
		}
		free(n->dir.v);
	} else if (S_ISREG(ino->mode)) {
		file_truncate(n, ino, 0);
		free(n->file.chunks);
	} else if (S_ISLNK(ino->mode)) {
		free(n->target);
	}
	pipe_free(ino->pipe);
	ino->pipe = NULL;
	free(n);
}

static struct tmpfs_ent *dir_find(struct tmpfs_dir *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].name, name) == 0)
			return &d->v[i];
	return NULL;
}

static int dir_add(struct k_inode *dir, const char *name, struct k_inode *ino)
{
	struct tmpfs_dir *d = &node(dir)->dir;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 8;
		struct tmpfs_ent *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	d->v[d->n++] = (struct tmpfs_ent){copy, inode_get(ino), d->next_serial++};
	if (S_ISDIR(ino->mode)) {
		node(ino)->dir.parent = dir;
		dir->nlink++;
	}
	inode_touch(dir, false, true, true);
	return 0;
}

static void dir_remove(struct k_inode *dir, const char *name)
{
	struct tmpfs_dir *d = &node(dir)->dir;
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->v[i].name, name) != 0)
			continue;
		struct k_inode *ino = d->v[i].ino;
		if (S_ISDIR(ino->mode))
			dir->nlink--;
		free(d->v[i].name);
		memmove(&d->v[i], &d->v[i + 1], (d->n - i - 1) * sizeof(d->v[0]));
		d->n--;
		inode_touch(dir, false, true, true);
		inode_put(ino);
		return;
	}
}

static int tmpfs_lookup(struct k_inode *dir, const char *name, struct k_inode **out)
{
	struct tmpfs_ent *e = dir_find(&node(dir)->dir, name);
	if (!e)
		return -ENOENT;
	*out = inode_get(e->ino);
	return 0;
}

static int make(struct k_inode *dir, const char *name, uint32_t mode, const struct k_cred *c,
		struct k_inode **out)
{
	if (dir_find(&node(dir)->dir, name))
		return -EEXIST;
	struct k_inode *ino = tmpfs_inode(node(dir)->k, dir->sb, mode, c);
	if (!ino)
		return -ENOMEM;
	/* A directory with the setgid bit passes its group on. */
	if (dir->mode & S_ISGID) {
		ino->gid = dir->gid;
		if (S_ISDIR(mode))
			ino->mode |= S_ISGID;
	}
	int err = dir_add(dir, name, ino);
	if (err) {
		inode_put(ino);
		return err;
	}
	*out = ino;
	return 0;
}

static int tmpfs_create(struct k_inode *dir, const char *name, uint32_t mode, uint64_t rdev,
			const struct k_cred *c, struct k_inode **out)
{
	int err = make(dir, name, mode, c, out);
	if (!err)
		(*out)->rdev = rdev;
	return err;
}

static int tmpfs_mkdir(struct k_inode *dir, const char *name, uint32_t mode,
		       const struct k_cred *c, struct k_inode **out)
{
	return make(dir, name, S_IFDIR | (mode & 07777), c, out);
}

static int tmpfs_symlink(struct k_inode *dir, const char *name, const char *target,
			 const struct k_cred *c, struct k_inode **out)
{
	char *copy = strdup(target);
	if (!copy)
		return -ENOMEM;
	int err = make(dir, name, S_IFLNK | 0777, c, out);
	if (err) {
		free(copy);
		return err;
	}
	node(*out)->target = copy;
	(*out)->size = strlen(target);
	return 0;
}

static int tmpfs_link(struct k_inode *dir, const char *name, struct k_inode *target)
{
	if (dir_find(&node(dir)->dir, name))
		return -EEXIST;
	int err = dir_add(dir, name, target);
	if (!err) {
		target->nlink++;
		inode_touch(target, false, false, true);
	}
	return err;
}

static int tmpfs_unlink(struct k_inode *dir, const char *name, struct k_inode *victim)
{
	victim->nlink--;
	inode_touch(victim, false, false, true);
	dir_remove(dir, name);
	return 0;
}

static int tmpfs_rmdir(struct k_inode *dir, const char *name, struct k_inode *victim)
{
	if (node(victim)->dir.n)
		return -ENOTEMPTY;
	victim->nlink = 0;
	dir_remove(dir, name);
	return 0;
}

static int tmpfs_rename(struct k_inode *odir, const char *oname, struct k_inode *ndir,
			const char *nname, unsigned flags)
{
	struct tmpfs_ent *src = dir_find(&node(odir)->dir, oname);
	if (!src)
		return -ENOENT;
	struct tmpfs_ent *dst = dir_find(&node(ndir)->dir, nname);
	struct k_inode *moving = inode_get(src->ino);
	if (flags & RENAME_EXCHANGE) {
		struct k_inode *other = dst->ino;
		src->ino = other;
		dst->ino = moving;
		if (S_ISDIR(moving->mode) != S_ISDIR(other->mode) && odir != ndir) {
			int d = S_ISDIR(moving->mode) ? 1 : -1;
			ndir->nlink += (uint32_t)d;
			odir->nlink -= (uint32_t)d;
		}
		if (S_ISDIR(moving->mode))
			node(moving)->dir.parent = ndir;
		if (S_ISDIR(other->mode))
			node(other)->dir.parent = odir;
		inode_put(moving);
		inode_touch(odir, false, true, true);
		inode_touch(ndir, false, true, true);
		return 0;
	}
	if (dst) {
		struct k_inode *victim = dst->ino;
		if (S_ISDIR(victim->mode)) {
			if (node(victim)->dir.n) {
				inode_put(moving);
				return -ENOTEMPTY;
			}
			victim->nlink = 0;
		} else {
			victim->nlink--;
		}
		dir_remove(ndir, nname);
	}
	int err = dir_add(ndir, nname, moving);
	if (err) {
		inode_put(moving);
		return err;
	}
	dir_remove(odir, oname);
	inode_put(moving);
	inode_touch(moving, false, false, true);
	return 0;
}

static int tmpfs_iterate(struct k_inode *dir, int64_t *pos, k_dirent_fn emit, void *ctx)
{
	struct tmpfs_dir *d = &node(dir)->dir;
	if (*pos == 0) {
		if (emit(ctx, ".", 1, dir->ino, DT_DIR, 1))
			return 0;
		*pos = 1;
	}
	if (*pos == 1) {
		struct k_inode *up = d->parent ? d->parent : dir;
		if (emit(ctx, "..", 2, up->ino, DT_DIR, 2))
			return 0;
		*pos = 2;
	}
	for (size_t i = 0; i < d->n; i++) {
		struct tmpfs_ent *e = &d->v[i];
		if (e->serial < *pos)
			continue;
		if (emit(ctx, e->name, strlen(e->name), e->ino->ino, IFTODT(e->ino->mode),
			 e->serial + 1))
			return 0;
		*pos = e->serial + 1;
	}
	return 0;
}

static int tmpfs_readlink(struct k_inode *ino, char *buf, size_t size)
{
	size_t len = strlen(node(ino)->target);
	if (len > size)
		len = size;
	memcpy(buf, node(ino)->target, len);
	return (int)len;
}

static int tmpfs_setattr(struct k_inode *ino, const struct k_setattr *a)
{
	if (a->mask & K_SET_SIZE) {
		if (!S_ISREG(ino->mode))
			return -EINVAL;
		if (((ino->seals & F_SEAL_SHRINK) && a->size < ino->size) ||
		    ((ino->seals & F_SEAL_GROW) && a->size > ino->size))
			return -EPERM;
		file_truncate(node(ino), ino, a->size);
		inode_touch(ino, false, true, true);
	}
	if (a->mask & K_SET_MODE)
		ino->mode = (ino->mode & S_IFMT) | (a->mode & 07777);
	if (a->mask & K_SET_UID)
		ino->uid = a->uid;
	if (a->mask & K_SET_GID)
		ino->gid = a->gid;
	if (a->mask & K_SET_ATIME)
		ino->atime = a->atime;
	if (a->mask & K_SET_MTIME)
		ino->mtime = a->mtime;
	if (a->mask & K_SET_CTIME)
		ino->ctime = a->ctime;
	else
		inode_touch(ino, false, false, true);
	return 0;
}

/* The chunk holding byte off, allocated if create. */
static struct k_mobj *chunk(struct tmpfs_node *n, uint64_t off, bool create)
{
	size_t i = (size_t)(off / CHUNK);
	if (i >= n->file.nchunks) {
		if (!create)
			return NULL;
		struct k_mobj **v = realloc(n->file.chunks, (i + 1) * sizeof(*v));
		if (!v)
			return NULL;
		for (size_t j = n->file.nchunks; j <= i; j++)
			v[j] = NULL;
		n->file.chunks = v;
		n->file.nchunks = i + 1;
	}
	if (!n->file.chunks[i] && create) {
		struct k_mobj *o = malloc(sizeof(*o));
		int64_t at = o ? memfile_alloc(&n->k->mem, CHUNK) : -ENOMEM;
		if (at < 0) {
			free(o);
			return NULL;
		}
		*o = (struct k_mobj){.refs = 1, .off = (uint64_t)at, .len = CHUNK, .fd = -1};
		n->file.chunks[i] = o;
	}
	return n->file.chunks[i];
}

bool tmpfs_inode_is(const struct k_inode *ino)
{
	return ino->ops == &tmpfs_ops;
}

struct k_mobj *tmpfs_chunk_peek(struct k_inode *ino, uint64_t off, uint64_t *chunk_size)
{
	*chunk_size = CHUNK;
	return chunk(node(ino), off, false);
}

struct k_mobj *tmpfs_chunk(struct k_inode *ino, uint64_t off, uint64_t *chunk_size)
{
	*chunk_size = CHUNK;
	return chunk(node(ino), off, true);
}

static ssize_t tmpfs_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct k_inode *ino = f->inode;
	struct tmpfs_node *tn = node(ino);
	int64_t *p = pos ? pos : &f->pos;
	uint64_t at = (uint64_t)*p;
	size_t done = 0;
	for (int i = 0; i < n && at < ino->size; i++) {
		size_t want = iov[i].iov_len;
		if (want > ino->size - at)
			want = (size_t)(ino->size - at);
		size_t got = 0;
		while (got < want) {
			uint64_t in = (at + got) % CHUNK;
			size_t take = CHUNK - in < want - got ? CHUNK - in : want - got;
			struct k_mobj *o = chunk(tn, at + got, false);
			char *dst = (char *)iov[i].iov_base + got;
			if (o)
				memcpy(dst, tn->k->mem.base + o->off + in, take);
			else
				memset(dst, 0, take);
			got += take;
		}
		at += got;
		done += got;
		if (got < iov[i].iov_len)
			break;
	}
	*p = (int64_t)at;
	inode_touch(ino, true, false, false);
	return (ssize_t)done;
}

static ssize_t tmpfs_write(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct k_inode *ino = f->inode;
	struct tmpfs_node *tn = node(ino);
	int64_t *p = pos ? pos : &f->pos;
	/* O_APPEND wins even over pwrite's offset, as in Linux. */
	int64_t ignored;
	if (f->flags & O_APPEND) {
		if (pos)
			p = &ignored;
		*p = (int64_t)ino->size;
	}
	uint64_t at = (uint64_t)*p;
	size_t done = 0;
	if (ino->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
		return -EPERM;
	for (int i = 0; i < n; i++) {
		size_t want = iov[i].iov_len;
		if (at + want > (1ULL << 40))
			return done ? (ssize_t)done : -EFBIG;
		if ((ino->seals & F_SEAL_GROW) && at + want > ino->size)
			return done ? (ssize_t)done : -EPERM;
		size_t got = 0;
		while (got < want) {
			uint64_t in = (at + got) % CHUNK;
			size_t take = CHUNK - in < want - got ? CHUNK - in : want - got;
			struct k_mobj *o = chunk(tn, at + got, true);
			if (!o)
				return done + got ? (ssize_t)(done + got) : -ENOSPC;
			memcpy(tn->k->mem.base + o->off + in, (char *)iov[i].iov_base + got, take);
			got += take;
		}
		at += got;
		done += got;
		if (at > ino->size)
			ino->size = at;
	}
	*p = (int64_t)at;
	ino->blocks = (ino->size + 511) / 512;
	inode_touch(ino, false, true, true);
	return (ssize_t)done;
}

static int64_t tmpfs_seek(struct k_file *f, int64_t off, int whence)
{
	int64_t size = (int64_t)f->inode->size, at;
	switch (whence) {
	case SEEK_SET: at = off; break;
	case SEEK_CUR:
		if (__builtin_add_overflow(f->pos, off, &at))
			return -EOVERFLOW;
		break;
	case SEEK_END:
		if (__builtin_add_overflow(size, off, &at))
			return -EOVERFLOW;
		break;
	case SEEK_DATA:
	case SEEK_HOLE:
		if (off < 0 || off >= size)
			return -ENXIO;
		/* Data and holes page by page: a missing chunk is a hole, and
		 * inside a chunk the memory file itself knows (it is sparse). */
		at = off;
		while (at < size) {
			struct k_mobj *o = chunk(node(f->inode), (uint64_t)at, false);
			int64_t chunk_end = (at / (int64_t)CHUNK + 1) * (int64_t)CHUNK;
			if (!o) {
				if (whence == SEEK_HOLE)
					break;
				at = chunk_end;
				continue;
			}
			int memfd = node(f->inode)->k->mem.fd;
			int64_t base = (int64_t)o->off - (at / (int64_t)CHUNK) * (int64_t)CHUNK;
			off_t r = lseek(memfd, (off_t)(at + base), whence);
			if (r >= 0 && r - base < chunk_end) {
				at = r - base;
				break;
			}
			if (whence == SEEK_HOLE && r >= 0) {
				at = chunk_end; /* hole at the chunk's end, or beyond */
				break;
			}
			at = chunk_end;
		}
		if (at >= size) {
			if (whence == SEEK_DATA)
				return -ENXIO;
			at = size;
		}
		break;
	default:
		return -EINVAL;
	}
	if (at < 0)
		return -EINVAL;
	f->pos = at;
	return at;
}

static const struct k_file_ops tmpfs_file_ops = {
	.read = tmpfs_read,
	.write = tmpfs_write,
	.seek = tmpfs_seek,
	.stat = vfs_file_stat,
};

static int tmpfs_open(struct k_inode *ino, struct k_file *f)
{
	if (S_ISREG(ino->mode))
		f->ops = &tmpfs_file_ops;
	else if (S_ISDIR(ino->mode))
		f->ops = &vfs_dir_ops;
	else if (S_ISCHR(ino->mode))
		return chrdev_open(ino->rdev, f);
	else if (S_ISFIFO(ino->mode))
		return fifo_open(ino, f);
	else
		return -ENXIO; /* sockets come with the network */
	return 0;
}

static int tmpfs_statfs(struct k_inode *ino, struct statfs *st)
{
	memset(st, 0, sizeof(*st));
	st->f_type = TMPFS_MAGIC;
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	uint64_t total = node(ino)->k->mem.size / 4096;
	uint64_t used = node(ino)->k->mem.allocated / 4096;
	st->f_blocks = total;
	st->f_bfree = st->f_bavail = total - used;
	st->f_files = 1 << 20;
	st->f_ffree = ino->sb->next_ino < (1 << 20) ? (1 << 20) - ino->sb->next_ino : 0;
	st->f_namelen = K_NAME_MAX;
	return 0;
}

static int tmpfs_fallocate(struct k_inode *ino, int mode, uint64_t off, uint64_t len)
{
	struct tmpfs_node *n = node(ino);
	struct k_memfile *mf = &n->k->mem;
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		if (ino->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
			return -EPERM;
		uint64_t end = off + len < ino->size ? off + len : ino->size;
		for (uint64_t at = off; at < end;) {
			uint64_t in = at % CHUNK, take = CHUNK - in < end - at ? CHUNK - in : end - at;
			struct k_mobj *o = chunk(n, at, false);
			if (o) {
				/* Whole pages go back to the host; the edges are zeroed. */
				uint64_t lo = PAGE_UP(in), hi = (in + take) & PAGE_MASK;
				if (lo < hi) {
					memset(mf->base + o->off + in, 0, lo - in);
					memfile_zero(mf, o->off + lo, hi - lo);
					memset(mf->base + o->off + hi, 0, in + take - hi);
				} else {
					memset(mf->base + o->off + in, 0, take);
				}
			}
			at += take;
		}
		inode_touch(ino, false, true, true);
		return 0;
	}
	if ((ino->seals & F_SEAL_GROW) && !(mode & FALLOC_FL_KEEP_SIZE) && off + len > ino->size)
		return -EPERM;
	for (uint64_t at = off & ~(CHUNK - 1); at < off + len; at += CHUNK)
		if (!chunk(n, at, true))
			return -ENOSPC;
	if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > ino->size) {
		ino->size = off + len;
		inode_touch(ino, false, true, true);
	}
	return 0;
}

static const struct k_inode_ops tmpfs_ops = {
	.fallocate = tmpfs_fallocate,
	.lookup = tmpfs_lookup,
	.create = tmpfs_create,
	.mkdir = tmpfs_mkdir,
	.symlink = tmpfs_symlink,
	.link = tmpfs_link,
	.unlink = tmpfs_unlink,
	.rmdir = tmpfs_rmdir,
	.rename = tmpfs_rename,
	.iterate = tmpfs_iterate,
	.readlink = tmpfs_readlink,
	.setattr = tmpfs_setattr,
	.open = tmpfs_open,
	.statfs = tmpfs_statfs,
	.evict = tmpfs_evict,
};

int tmpfs_new(struct k_kernel *k, uint32_t root_mode, struct k_super **sbp, struct k_inode **root)
{
	struct k_super *sb = super_new("tmpfs", TMPFS_MAGIC);
	if (!sb)
		return -ENOMEM;
	struct k_inode *ino = tmpfs_inode(k, sb, S_IFDIR | root_mode, NULL);
	if (!ino) {
		super_put(sb);
		return -ENOMEM;
	}
	*sbp = sb;
	*root = ino;
	return 0;
}

/* Checkpoint and restore (ckpt/fs.c) see a tree through these. */

int tmpfs_each_entry(struct k_inode *dir, tmpfs_entry_fn fn, void *arg)
{
	struct tmpfs_dir *d = &node(dir)->dir;
	for (size_t i = 0; i < d->n; i++) {
		int err = fn(arg, d->v[i].name, d->v[i].ino, d->v[i].serial);
		if (err)
			return err;
	}
	return 0;
}

int64_t tmpfs_dir_serial(struct k_inode *dir)
{
	return node(dir)->dir.next_serial;
}

size_t tmpfs_file_chunks(struct k_inode *ino, struct k_mobj *const **chunks)
{
	*chunks = node(ino)->file.chunks;
	return node(ino)->file.nchunks;
}

const char *tmpfs_link_target(struct k_inode *ino)
{
	return node(ino)->target;
}

struct k_inode *tmpfs_inode_restore(struct k_kernel *k, struct k_super *sb, uint32_t mode,
				    const char *target)
{
	if (!S_ISDIR(mode) && !S_ISREG(mode) && !S_ISLNK(mode) && !S_ISCHR(mode) &&
	    !S_ISBLK(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode))
		return NULL;
	char *copy = S_ISLNK(mode) ? strdup(target ? target : "") : NULL;
	struct k_inode *ino = S_ISLNK(mode) && !copy ? NULL : tmpfs_inode(k, sb, mode, NULL);
	if (!ino) {
		free(copy);
		return NULL;
	}
	/* Names give it its links, as they are added. */
	ino->nlink = S_ISDIR(mode) ? 2 : 0;
	if (copy) {
		node(ino)->target = copy;
		ino->size = strlen(copy);
	}
	return ino;
}

int tmpfs_entry_restore(struct k_inode *dir, const char *name, struct k_inode *ino,
			int64_t serial)
{
	struct tmpfs_dir *d = &node(dir)->dir;
	if (dir->ops != &tmpfs_ops || ino->ops != &tmpfs_ops || ino->sb != dir->sb ||
	    !S_ISDIR(dir->mode) || !name[0] || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, "..") || dir_find(d, name) || serial < 2 || serial >= d->next_serial ||
	    (S_ISDIR(ino->mode) && node(ino)->dir.parent))
		return -EINVAL; /* (a directory has one name) */
	int64_t next = d->next_serial;
	struct timespec mtime = dir->mtime, ctime = dir->ctime;
	int err = dir_add(dir, name, ino);
	if (err)
		return err;
	d->v[d->n - 1].serial = serial;
	d->next_serial = next;
	dir->mtime = mtime; /* (as the snapshot has them, not now) */
	dir->ctime = ctime;
	if (!S_ISDIR(ino->mode))
		ino->nlink++;
	return 0;
}

int tmpfs_dir_set_serial(struct k_inode *dir, int64_t next)
{
	struct tmpfs_dir *d = &node(dir)->dir;
	if (dir->ops != &tmpfs_ops || !S_ISDIR(dir->mode) || next < 2 || next > INT64_MAX / 2)
		return -EINVAL;
	if (next > d->next_serial)
		d->next_serial = next; /* (never lower: cookies are not reused) */
	return 0;
}

int tmpfs_file_restore(struct k_inode *ino, struct k_mobj **chunks, size_t n, uint64_t size)
{
	struct tmpfs_node *nd = node(ino);
	/* (Holes, and chunks past the end that fallocate kept, are as
	 * they were.) */
	if (ino->ops != &tmpfs_ops || !S_ISREG(ino->mode) || nd->file.nchunks ||
	    n > TMPFS_MAX_CHUNKS || size > (uint64_t)TMPFS_MAX_CHUNKS * CHUNK)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (chunks[i] && (chunks[i]->len != CHUNK || chunks[i]->fd >= 0))
			return -EINVAL;
	struct k_mobj **v = n ? calloc(n, sizeof(*v)) : NULL;
	if (n && !v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if ((v[i] = chunks[i]))
			v[i]->refs++;
	nd->file.chunks = v;
	nd->file.nchunks = n;
	ino->size = size;
	return 0;
}
