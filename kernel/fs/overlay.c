/* overlay: a writable in-memory upper layer (tmpfs) over a read-only lower
 * one (the gofer's root), as Linux's overlayfs and Cloud Run's in-memory
 * filesystem: reads see the lower files until something changes them; a
 * change copies the file up first; deleting a lower name leaves a whiteout
 * (a 0/0 character device) in the upper layer; a directory made where a
 * lower one was deleted is opaque.  Nothing ever reaches the lower layer. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "../sentry.h"

struct list;

struct ovl_node {
	struct k_inode *upper; /* NULL until copied up (or for lower-only) */
	struct k_inode *lower; /* NULL for upper-only */
	struct k_inode *parent; /* the overlay directory it was found in (held) */
	char *name;             /* its name there, for copy-up */
	struct list *listing;   /* directories: the merged listing, until a change */
};

static const struct k_inode_ops ovl_ops;

static struct ovl_node *on(struct k_inode *ino)
{
	return ino->priv;
}

static struct k_inode *real(struct k_inode *ino)
{
	return on(ino)->upper ? on(ino)->upper : on(ino)->lower;
}

static bool is_whiteout(const struct k_inode *ino)
{
	return S_ISCHR(ino->mode) && ino->rdev == 0;
}

/* The overlay inode mirrors the attributes of the layer that is live. */
static void sync_attrs(struct k_inode *ino)
{
	struct k_inode *r = real(ino);
	ino->mode = r->mode;
	ino->nlink = r->nlink;
	ino->uid = r->uid;
	ino->gid = r->gid;
	ino->rdev = r->rdev;
	ino->size = r->size;
	ino->blocks = r->blocks;
	ino->atime = r->atime;
	ino->mtime = r->mtime;
	ino->ctime = r->ctime;
}

static struct k_inode *ovl_inode(struct k_super *sb, struct k_inode *upper, struct k_inode *lower,
				 struct k_inode *parent, const char *name)
{
	struct ovl_node *n = calloc(1, sizeof(*n));
	char *nm = name ? strdup(name) : NULL;
	struct k_inode *ino = n && (nm || !name) ? inode_new(sb, &ovl_ops, 0) : NULL;
	if (!ino) {
		free(n);
		free(nm);
		return NULL;
	}
	n->upper = upper ? inode_get(upper) : NULL;
	n->lower = lower ? inode_get(lower) : NULL;
	n->parent = parent ? inode_get(parent) : NULL;
	n->name = nm;
	ino->priv = n;
	/* Lower inode numbers are the host's; upper ones are the sandbox's. */
	ino->ino = lower ? lower->ino : upper->ino + (1ULL << 48);
	sync_attrs(ino);
	return ino;
}

static void forget_listing(struct k_inode *dir);

static void ovl_evict(struct k_inode *ino)
{
	struct ovl_node *n = on(ino);
	if (!n)
		return;
	forget_listing(ino);
	inode_put(n->upper);
	inode_put(n->lower);
	inode_put(n->parent);
	free(n->name);
	free(n);
}

static int sub_lookup(struct k_inode *dir, const char *name, struct k_inode **out)
{
	*out = NULL;
	if (!dir || !S_ISDIR(dir->mode) || !dir->ops->lookup)
		return -ENOENT;
	return dir->ops->lookup(dir, name, out);
}

static bool opaque(const struct k_inode *upper_dir)
{
	return upper_dir && (upper_dir->iflags & K_I_OPAQUE);
}

static int ovl_lookup(struct k_inode *dir, const char *name, struct k_inode **out)
{
	struct ovl_node *d = on(dir);
	struct k_inode *u = NULL, *l = NULL;
	int err = sub_lookup(d->upper, name, &u);
	if (err && err != -ENOENT)
		return err;
	if (u && is_whiteout(u)) {
		inode_put(u);
		return -ENOENT;
	}
	bool want_lower = !opaque(d->upper) && (!u || (S_ISDIR(u->mode) && !opaque(u)));
	if (want_lower) {
		err = sub_lookup(d->lower, name, &l);
		if (err && err != -ENOENT) {
			inode_put(u);
			return err;
		}
		/* A lower name under an upper non-directory does not show. */
		if (l && u && (!S_ISDIR(l->mode) || !S_ISDIR(u->mode))) {
			inode_put(l);
			l = NULL;
		}
	}
	if (!u && !l)
		return -ENOENT;
	*out = ovl_inode(dir->sb, u, l, dir, name);
	inode_put(u);
	inode_put(l);
	return *out ? 0 : -ENOMEM;
}

/* ---- copy-up ---- */

static int copy_data(struct k_inode *from, struct k_inode *to)
{
	struct k_file *src = file_new(NULL, O_RDONLY), *dst = file_new(NULL, O_WRONLY);
	int err = src && dst ? 0 : -ENOMEM;
	if (!err) {
		src->inode = inode_get(from);
		dst->inode = inode_get(to);
		err = from->ops->open(from, src);
	}
	if (!err)
		err = to->ops->open(to, dst);
	char *buf = err ? NULL : malloc(1 << 16);
	if (!err && !buf)
		err = -ENOMEM;
	for (int64_t off = 0; !err;) {
		ssize_t n = k_file_pread(src, buf, 1 << 16, off);
		if (n <= 0) {
			err = (int)n;
			break;
		}
		ssize_t w = k_file_pwrite(dst, buf, (size_t)n, off);
		if (w != n)
			err = w < 0 ? (int)w : -EIO;
		off += n;
	}
	free(buf);
	file_put(src);
	file_put(dst);
	return err;
}

static int copy_up(struct k_inode *ino)
{
	struct ovl_node *n = on(ino);
	if (n->upper)
		return 0;
	struct k_inode *pdir = n->parent;
	int err = copy_up(pdir);
	if (err)
		return err;
	struct k_inode *udir = on(pdir)->upper, *lo = n->lower, *up = NULL;
	struct k_cred c = {.fsuid = lo->uid, .fsgid = lo->gid};
	if (S_ISDIR(lo->mode))
		err = udir->ops->mkdir(udir, n->name, lo->mode & 07777, &c, &up);
	else if (S_ISLNK(lo->mode)) {
		char target[K_PATH_MAX];
		int len = lo->ops->readlink(lo, target, sizeof(target) - 1);
		if (len < 0)
			return len;
		target[len] = 0;
		err = udir->ops->symlink(udir, n->name, target, &c, &up);
	} else if (S_ISREG(lo->mode)) {
		err = udir->ops->create(udir, n->name, S_IFREG | (lo->mode & 07777), 0, &c, &up);
		if (!err && (err = copy_data(lo, up)))
			udir->ops->unlink(udir, n->name, up);
	} else {
		err = udir->ops->create(udir, n->name, lo->mode, lo->rdev, &c, &up);
	}
	if (err) {
		inode_put(up);
		return err;
	}
	/* Keep the lower times: a copy-up is not a change. */
	struct k_setattr a = {.mask = K_SET_ATIME | K_SET_MTIME | K_SET_MODE,
			      .atime = lo->atime, .mtime = lo->mtime, .mode = lo->mode & 07777};
	if (up->ops->setattr && !S_ISLNK(lo->mode))
		up->ops->setattr(up, &a);
	n->upper = up;
	if (!S_ISDIR(lo->mode)) {
		/* A copied-up file is the upper file alone from now on. */
		inode_put(n->lower);
		n->lower = NULL;
	}
	sync_attrs(ino);
	return 0;
}

/* ---- names ---- */

/* Removes a whiteout at name in the upper directory, if there is one. */
static int clear_whiteout(struct k_inode *udir, const char *name, bool *was)
{
	struct k_inode *u = NULL;
	*was = false;
	if (sub_lookup(udir, name, &u) == 0 && u) {
		int err = 0;
		if (is_whiteout(u)) {
			err = udir->ops->unlink(udir, name, u);
			*was = true;
		} else {
			err = -EEXIST;
		}
		inode_put(u);
		return err;
	}
	return 0;
}

static int whiteout(struct k_inode *udir, const char *name)
{
	struct k_cred root = {0};
	struct k_inode *w;
	int err = udir->ops->create(udir, name, S_IFCHR, makedev(0, 0), &root, &w);
	if (!err)
		inode_put(w);
	return err;
}

/* Does the lower layer have name in dir (so removing it needs a whiteout)? */
static bool lower_has(struct k_inode *dir, const char *name)
{
	struct k_inode *l = NULL;
	if (opaque(on(dir)->upper) || sub_lookup(on(dir)->lower, name, &l) || !l)
		return false;
	inode_put(l);
	return true;
}

typedef int (*make_fn)(struct k_inode *udir, const char *name, void *arg, struct k_inode **out);

static int make(struct k_inode *dir, const char *name, make_fn fn, void *arg,
		struct k_inode **out, bool is_dir)
{
	int err = copy_up(dir);
	if (err)
		return err;
	struct k_inode *udir = on(dir)->upper, *up = NULL;
	bool was;
	if ((err = clear_whiteout(udir, name, &was)))
		return err;
	if ((err = fn(udir, name, arg, &up))) {
		if (was)
			whiteout(udir, name);
		return err;
	}
	/* Where a lower directory was deleted, the new one starts empty. */
	if (is_dir && (was || lower_has(dir, name)))
		up->iflags |= K_I_OPAQUE;
	*out = ovl_inode(dir->sb, up, NULL, dir, name);
	inode_put(up);
	sync_attrs(dir);
	forget_listing(dir);
	return *out ? 0 : -ENOMEM;
}

struct mk_args {
	uint32_t mode;
	uint64_t rdev;
	const char *target;
	const struct k_cred *c;
};

static int mk_create(struct k_inode *udir, const char *name, void *arg, struct k_inode **out)
{
	struct mk_args *a = arg;
	return udir->ops->create(udir, name, a->mode, a->rdev, a->c, out);
}

static int mk_dir(struct k_inode *udir, const char *name, void *arg, struct k_inode **out)
{
	struct mk_args *a = arg;
	return udir->ops->mkdir(udir, name, a->mode, a->c, out);
}

static int mk_symlink(struct k_inode *udir, const char *name, void *arg, struct k_inode **out)
{
	struct mk_args *a = arg;
	return udir->ops->symlink(udir, name, a->target, a->c, out);
}

static int ovl_create(struct k_inode *dir, const char *name, uint32_t mode, uint64_t rdev,
		      const struct k_cred *c, struct k_inode **out)
{
	struct mk_args a = {.mode = mode, .rdev = rdev, .c = c};
	return make(dir, name, mk_create, &a, out, false);
}

static int ovl_mkdir(struct k_inode *dir, const char *name, uint32_t mode, const struct k_cred *c,
		     struct k_inode **out)
{
	struct mk_args a = {.mode = mode, .c = c};
	return make(dir, name, mk_dir, &a, out, true);
}

static int ovl_symlink(struct k_inode *dir, const char *name, const char *target,
		       const struct k_cred *c, struct k_inode **out)
{
	struct mk_args a = {.target = target, .c = c};
	return make(dir, name, mk_symlink, &a, out, false);
}

static int ovl_link(struct k_inode *dir, const char *name, struct k_inode *target)
{
	int err = copy_up(target);
	if (!err)
		err = copy_up(dir);
	if (err)
		return err;
	struct k_inode *udir = on(dir)->upper;
	bool was;
	if ((err = clear_whiteout(udir, name, &was)))
		return err;
	err = udir->ops->link(udir, name, on(target)->upper);
	sync_attrs(target);
	sync_attrs(dir);
	forget_listing(dir);
	return err;
}

/* Removes name (an upper file, a lower one, or both) from dir. */
static int remove_name(struct k_inode *dir, const char *name, struct k_inode *victim, bool rmdir)
{
	int err = copy_up(dir);
	if (err)
		return err;
	struct k_inode *udir = on(dir)->upper;
	struct ovl_node *v = on(victim);
	bool lower = v->lower || lower_has(dir, name);
	if (v->upper) {
		if (rmdir) {
			/* The upper directory may hold whiteouts only: drop them. */
			struct k_inode *up = v->upper;
			err = up->ops->rmdir ? udir->ops->rmdir(udir, name, up) : -EPERM;
		} else {
			err = udir->ops->unlink(udir, name, v->upper);
		}
		if (err)
			return err;
	}
	if (lower)
		err = whiteout(udir, name);
	victim->nlink = rmdir ? 0 : victim->nlink - 1;
	sync_attrs(dir);
	forget_listing(dir);
	return err;
}

struct list {
	char **names;
	uint64_t *inos;
	uint8_t *types;
	size_t n, cap;
};

static int list_add(struct list *l, const char *name, uint64_t ino, unsigned type)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		char **nv = realloc(l->names, cap * sizeof(*nv));
		if (nv)
			l->names = nv;
		uint64_t *iv = realloc(l->inos, cap * sizeof(*iv));
		if (iv)
			l->inos = iv;
		uint8_t *tv = realloc(l->types, cap);
		if (tv)
			l->types = tv;
		if (!nv || !iv || !tv)
			return -ENOMEM;
		l->cap = cap;
	}
	l->names[l->n] = strdup(name);
	if (!l->names[l->n])
		return -ENOMEM;
	l->inos[l->n] = ino;
	l->types[l->n] = (uint8_t)type;
	l->n++;
	return 0;
}

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->inos);
	free(l->types);
}

struct collect {
	struct list *l;
	struct list *hidden; /* whiteouts seen in the upper layer */
	bool upper;
	int err;
};

static int collect(void *ctx, const char *name, size_t len, uint64_t ino, unsigned type,
		   int64_t next)
{
	(void)next;
	struct collect *c = ctx;
	char nm[K_NAME_MAX + 1];
	memcpy(nm, name, len);
	nm[len] = 0;
	if (c->upper && type == DT_CHR) {
		/* It may be a whiteout: those hide the lower name. */
		c->err = list_add(c->hidden, nm, ino, type);
		return c->err ? 1 : 0;
	}
	for (size_t i = 0; i < c->hidden->n; i++)
		if (strcmp(c->hidden->names[i], nm) == 0)
			return 0;
	c->err = list_add(c->l, nm, ino, type);
	return c->err ? 1 : 0;
}

/* The merged listing: upper names, then lower names not shadowed. */
static int merged(struct k_inode *dir, struct list *l)
{
	struct ovl_node *d = on(dir);
	struct list hidden = {0};
	struct collect c = {.l = l, .hidden = &hidden};
	int err = 0;
	if (d->upper) {
		c.upper = true;
		int64_t pos = 0;
		err = d->upper->ops->iterate(d->upper, &pos, collect, &c);
		/* Character devices that are real devices, not whiteouts, stay. */
		for (size_t i = 0; !err && i < hidden.n;) {
			struct k_inode *u = NULL;
			if (sub_lookup(d->upper, hidden.names[i], &u) == 0 && u && !is_whiteout(u)) {
				err = list_add(l, hidden.names[i], hidden.inos[i], DT_CHR);
				free(hidden.names[i]);
				memmove(&hidden.names[i], &hidden.names[i + 1],
					(hidden.n - i - 1) * sizeof(char *));
				hidden.n--;
			} else {
				i++;
			}
			inode_put(u);
		}
	}
	if (!err && d->lower && !opaque(d->upper)) {
		c.upper = false;
		int64_t pos = 0;
		err = d->lower->ops->iterate(d->lower, &pos, collect, &c);
	}
	list_free(&hidden);
	return err ? err : c.err;
}

static void forget_listing(struct k_inode *dir)
{
	struct ovl_node *d = on(dir);
	if (d && d->listing) {
		list_free(d->listing);
		free(d->listing);
		d->listing = NULL;
	}
}

static int ovl_iterate(struct k_inode *dir, int64_t *pos, k_dirent_fn emit, void *ctx)
{
	/* Merging is done once and kept until the directory changes: a
	 * listing read a few entries at a time stays linear. */
	struct ovl_node *d = on(dir);
	if (!d->listing || *pos == 0) {
		forget_listing(dir);
		struct list *l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		int err = merged(dir, l);
		if (err) {
			list_free(l);
			free(l);
			return err;
		}
		d->listing = l;
	}
	struct list *l = d->listing;
	for (size_t i = (size_t)*pos; i < l->n; i++) {
		if (emit(ctx, l->names[i], strlen(l->names[i]), l->inos[i], l->types[i], (int64_t)i + 1))
			break;
		*pos = (int64_t)i + 1;
	}
	return 0;
}

static bool empty_dir(struct k_inode *dir)
{
	struct list l = {0};
	int err = merged(dir, &l);
	bool empty = !err;
	for (size_t i = 0; empty && i < l.n; i++)
		if (strcmp(l.names[i], ".") && strcmp(l.names[i], ".."))
			empty = false;
	list_free(&l);
	return empty;
}

static int ovl_unlink(struct k_inode *dir, const char *name, struct k_inode *victim)
{
	return remove_name(dir, name, victim, false);
}

/* Removes the whiteouts an upper directory holds (before it goes). */
static void drop_whiteouts(struct k_inode *udir)
{
	if (!udir)
		return;
	struct list l = {0}, hidden = {0};
	struct collect c = {.l = &l, .hidden = &hidden, .upper = true};
	int64_t pos = 0;
	udir->ops->iterate(udir, &pos, collect, &c);
	for (size_t i = 0; i < hidden.n; i++) {
		struct k_inode *w = NULL;
		if (sub_lookup(udir, hidden.names[i], &w) == 0 && w && is_whiteout(w))
			udir->ops->unlink(udir, hidden.names[i], w);
		inode_put(w);
	}
	list_free(&l);
	list_free(&hidden);
}

static int ovl_rmdir(struct k_inode *dir, const char *name, struct k_inode *victim)
{
	if (!empty_dir(victim))
		return -ENOTEMPTY;
	drop_whiteouts(on(victim)->upper);
	return remove_name(dir, name, victim, true);
}

static int ovl_rename(struct k_inode *odir, const char *oname, struct k_inode *ndir,
		      const char *nname, unsigned flags)
{
	struct k_inode *src = NULL, *dst = NULL;
	int err = ovl_lookup(odir, oname, &src);
	if (err)
		return err;
	ovl_lookup(ndir, nname, &dst);
	/* A directory with lower contents cannot move (Linux overlayfs
	 * without redirect_dir says the same: EXDEV, and mv copies). */
	if ((S_ISDIR(src->mode) && on(src)->lower) ||
	    ((flags & RENAME_EXCHANGE) && dst && S_ISDIR(dst->mode) && on(dst)->lower)) {
		err = -EXDEV;
		goto out;
	}
	if (dst && S_ISDIR(dst->mode) && !(flags & RENAME_EXCHANGE) && !empty_dir(dst)) {
		err = -ENOTEMPTY;
		goto out;
	}
	if ((err = copy_up(src)) || (dst && (err = copy_up(dst))) || (err = copy_up(ndir)))
		goto out;
	bool src_lower = lower_has(odir, oname), was;
	bool dst_lower = dst && S_ISDIR(dst->mode) && lower_has(ndir, nname);
	struct k_inode *ou = on(odir)->upper, *nu = on(ndir)->upper;
	if (!dst && (err = clear_whiteout(nu, nname, &was)))
		goto out;
	if (dst && S_ISDIR(dst->mode) && !(flags & RENAME_EXCHANGE))
		drop_whiteouts(on(dst)->upper); /* empty when merged: only whiteouts */
	err = ou->ops->rename(ou, oname, nu, nname, flags);
	/* A directory moved over a lower one must not show what was below. */
	if (!err && dst_lower && on(src)->upper && S_ISDIR(src->mode))
		on(src)->upper->iflags |= K_I_OPAQUE;
	if (!err && src_lower && !(flags & RENAME_EXCHANGE))
		err = whiteout(ou, oname);
	sync_attrs(odir);
	sync_attrs(ndir);
	forget_listing(odir);
	forget_listing(ndir);
out:
	inode_put(src);
	inode_put(dst);
	return err;
}

static int ovl_readlink(struct k_inode *ino, char *buf, size_t size)
{
	struct k_inode *r = real(ino);
	return r->ops->readlink(r, buf, size);
}

static int ovl_setattr(struct k_inode *ino, const struct k_setattr *a)
{
	int err = copy_up(ino);
	if (err)
		return err;
	struct k_inode *up = on(ino)->upper;
	err = up->ops->setattr ? up->ops->setattr(up, a) : -EPERM;
	sync_attrs(ino);
	return err;
}

static int ovl_open(struct k_inode *ino, struct k_file *f)
{
	if (S_ISDIR(ino->mode)) {
		/* Stays an overlay file: getdents must see the merged listing. */
		f->ops = &vfs_dir_ops;
		return 0;
	}
	int acc = f->flags & O_ACCMODE;
	if ((acc == O_WRONLY || acc == O_RDWR) && S_ISREG(ino->mode)) {
		int err = copy_up(ino);
		if (err)
			return err;
	}
	/* The description works on the real inode from here on. */
	struct k_inode *r = real(ino);
	inode_put(f->inode);
	f->inode = inode_get(r);
	return r->ops->open(r, f);
}

static int ovl_statfs(struct k_inode *ino, struct statfs *st)
{
	struct k_inode *r = on(ino)->upper ? on(ino)->upper : real(ino);
	int err = r->ops->statfs ? r->ops->statfs(r, st) : -ENOSYS;
	if (!err)
		st->f_type = 0x794c7630; /* OVERLAYFS_SUPER_MAGIC */
	return err;
}

static int ovl_fallocate(struct k_inode *ino, int mode, uint64_t off, uint64_t len)
{
	int err = copy_up(ino);
	if (err)
		return err;
	struct k_inode *up = on(ino)->upper;
	err = up->ops->fallocate ? up->ops->fallocate(up, mode, off, len) : -EOPNOTSUPP;
	sync_attrs(ino);
	return err;
}

static void ovl_refresh(struct k_inode *ino)
{
	sync_attrs(ino);
}

static const struct k_inode_ops ovl_ops = {
	.lookup = ovl_lookup,
	.create = ovl_create,
	.mkdir = ovl_mkdir,
	.symlink = ovl_symlink,
	.link = ovl_link,
	.unlink = ovl_unlink,
	.rmdir = ovl_rmdir,
	.rename = ovl_rename,
	.iterate = ovl_iterate,
	.readlink = ovl_readlink,
	.setattr = ovl_setattr,
	.open = ovl_open,
	.statfs = ovl_statfs,
	.fallocate = ovl_fallocate,
	.refresh = ovl_refresh,
	.evict = ovl_evict,
};

int overlay_new(struct k_kernel *k, struct k_inode *lower_root, struct k_super **sbp,
		struct k_inode **root)
{
	struct k_super *usb, *sb = super_new("overlay", 0x794c7630);
	struct k_inode *uroot;
	if (!sb)
		return -ENOMEM;
	int err = tmpfs_new(k, lower_root->mode & 07777, &usb, &uroot);
	if (err) {
		super_put(sb);
		return err;
	}
	uroot->uid = lower_root->uid;
	uroot->gid = lower_root->gid;
	*root = ovl_inode(sb, uroot, lower_root, NULL, NULL);
	inode_put(uroot);
	super_put(usb);
	if (!*root) {
		super_put(sb);
		return -ENOMEM;
	}
	*sbp = sb;
	return 0;
}

struct k_inode *overlay_upper_root(struct k_inode *root)
{
	return root->ops == &ovl_ops ? on(root)->upper : NULL;
}
