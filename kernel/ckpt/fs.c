/* Filesystem contents in a snapshot: the sandbox's tmpfs trees (its /tmp,
 * /dev/shm, an overlay's upper layer: everything the guest wrote that
 * lives nowhere else) saved inode by inode, and rebuilt by a restore into
 * the mounts its boot made again.  The mount table comes first: a restore
 * with other mounts (other --bind or --root options) is refused, as the
 * trees would land in the wrong places.  Bind mounts of host directories
 * hold nothing to save: their files are the host's.
 *
 * Records: CK_MOUNTS (the table), then for each tree, parents first,
 * CK_INODE (a tree's root: which mount's; or a new inode, its attributes
 * and contents, file data as memory objects written before it) and
 * CK_DENTRY (a name in a directory).  A directory is named once, and only
 * in one already in the tree, so what a restore builds is a tree. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"

/* ---- save ---- */

/* The root inode of what is saved of mount m: a tmpfs's root, or an
 * overlay's upper root; NULL for mounts whose files live elsewhere. */
static struct k_inode *tree_of(const struct k_mount *m)
{
	struct k_inode *root = m->root ? m->root->inode : NULL;
	if (!root || m->root->parent)
		return NULL; /* (a bind of part of a tree: not made by a boot) */
	if (tmpfs_inode_is(root))
		return root;
	return overlay_upper_root(root);
}

struct fs_saver {
	struct k_kernel *k;
	struct snap_enc *e;
	const struct ckpt_fs_save_ops *ops;
	const void **ino;
	size_t n, cap;
	char *why;
	size_t whylen;
};

static uint32_t ino_find(const struct fs_saver *s, const struct k_inode *i)
{
	for (size_t j = 0; j < s->n; j++)
		if (s->ino[j] == i)
			return (uint32_t)j + 1;
	return 0;
}

static uint32_t ino_add(struct fs_saver *s, const struct k_inode *i)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		const void **v = realloc(s->ino, cap * sizeof(*v));
		if (!v)
			return 0;
		s->ino = v;
		s->cap = cap;
	}
	s->ino[s->n++] = i;
	return (uint32_t)s->n;
}

static void put_times(struct snap_enc *e, const struct k_inode *i)
{
	const struct timespec *t[] = {&i->atime, &i->mtime, &i->ctime};
	for (int j = 0; j < 3; j++) {
		snap_put_i64(e, t[j]->tv_sec);
		snap_put_i64(e, t[j]->tv_nsec);
	}
}

static int save_inode(struct fs_saver *s, struct k_inode *i, uint32_t mount, uint32_t tree,
		      uint32_t *out)
{
	/* File data first: the inode's record names its chunks. */
	struct k_mobj *const *ch = NULL;
	size_t nch = S_ISREG(i->mode) ? tmpfs_file_chunks(i, &ch) : 0;
	for (size_t j = 0; j < nch; j++)
		if (ch[j] && !s->ops->mobj(s->ops->arg, ch[j]))
			return -ENOMEM;
	uint32_t id = ino_add(s, i);
	if (!id)
		return -ENOMEM;
	*out = id;
	struct snap_enc *e = s->e;
	snap_rec_begin(e, CK_INODE);
	snap_put_u32(e, id);
	snap_put_u32(e, mount);
	snap_put_u32(e, tree ? tree : id);
	snap_put_u32(e, i->mode);
	snap_put_u32(e, i->uid);
	snap_put_u32(e, i->gid);
	snap_put_u64(e, i->rdev);
	snap_put_u64(e, i->ino);
	snap_put_u64(e, i->size);
	put_times(e, i);
	snap_put_u32(e, i->iflags & K_I_OPAQUE);
	snap_put_u32(e, i->seals);
	if (S_ISREG(i->mode)) {
		snap_put_u32(e, (uint32_t)nch);
		for (size_t j = 0; j < nch; j++)
			snap_put_u32(e, ch[j] ? s->ops->mobj(s->ops->arg, ch[j]) : 0);
	} else if (S_ISLNK(i->mode)) {
		snap_put_str(e, tmpfs_link_target(i));
	} else if (S_ISDIR(i->mode)) {
		snap_put_i64(e, tmpfs_dir_serial(i));
	}
	snap_rec_end(e);
	return 0;
}

struct walk {
	struct fs_saver *s;
	uint32_t dir, tree;
};

static int save_entry(void *arg, const char *name, struct k_inode *ino, int64_t serial)
{
	struct walk *w = arg;
	struct fs_saver *s = w->s;
	if (!tmpfs_inode_is(ino))
		return -EXDEV; /* (a tree holds only its own inodes) */
	uint32_t id = ino_find(s, ino);
	bool fresh = !id;
	int err = fresh ? save_inode(s, ino, 0, w->tree, &id) : 0;
	if (err)
		return err;
	snap_rec_begin(s->e, CK_DENTRY);
	snap_put_u32(s->e, w->dir);
	snap_put_str(s->e, name);
	snap_put_u32(s->e, id);
	snap_put_i64(s->e, serial);
	snap_rec_end(s->e);
	if (fresh && S_ISDIR(ino->mode)) {
		struct walk sub = {s, id, w->tree};
		return tmpfs_each_entry(ino, save_entry, &sub);
	}
	return 0;
}

/* The mounts, newest first as the table keeps them: fs type and where. */
static void save_mounts(struct fs_saver *s)
{
	struct snap_enc *e = s->e;
	struct k_path top = vfs_abs_root(s->k);
	uint32_t n = 0;
	for (struct k_mount *m = s->k->mounts; m; m = m->next)
		n++;
	snap_rec_begin(e, CK_MOUNTS);
	snap_put_u32(e, n);
	for (struct k_mount *m = s->k->mounts; m; m = m->next) {
		char where[K_PATH_MAX] = "/";
		if (m->parent) {
			struct k_path at = {m->parent, m->mountpoint};
			if (path_name(&top, &at, where, sizeof(where)) < 0)
				where[0] = 0;
		}
		snap_put_str(e, m->sb->type);
		snap_put_str(e, where);
	}
	snap_rec_end(e);
}

int ckpt_fs_save(struct k_kernel *k, struct snap_enc *e, const struct ckpt_fs_save_ops *ops,
		 char *why, size_t whylen)
{
	struct fs_saver s = {.k = k, .e = e, .ops = ops, .why = why, .whylen = whylen};
	save_mounts(&s);
	int err = 0;
	uint32_t index = 0;
	for (struct k_mount *m = k->mounts; m && !err; m = m->next, index++) {
		struct k_inode *root = tree_of(m);
		if (!root)
			continue;
		uint32_t id;
		if (!(err = save_inode(&s, root, index + 1, 0, &id))) {
			struct walk w = {&s, id, id};
			err = tmpfs_each_entry(root, save_entry, &w);
		}
	}
	free(s.ino);
	if (err == -EXDEV)
		snprintf(why, whylen, "a tmpfs directory holds an inode of another filesystem");
	return err;
}

struct chunks {
	int (*fn)(void *arg, struct k_mobj *o);
	void *arg;
	const void **seen;
	size_t n, cap;
};

static int chunk_entry(void *arg, const char *name, struct k_inode *ino, int64_t serial)
{
	(void)name, (void)serial;
	struct chunks *c = arg;
	if (!tmpfs_inode_is(ino))
		return 0;
	for (size_t j = 0; j < c->n; j++)
		if (c->seen[j] == ino)
			return 0; /* (another name of a file already done) */
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		const void **v = realloc(c->seen, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->seen = v;
		c->cap = cap;
	}
	c->seen[c->n++] = ino;
	if (S_ISDIR(ino->mode))
		return tmpfs_each_entry(ino, chunk_entry, c);
	struct k_mobj *const *ch = NULL;
	size_t nch = S_ISREG(ino->mode) ? tmpfs_file_chunks(ino, &ch) : 0;
	for (size_t j = 0; j < nch; j++) {
		int err = ch[j] ? c->fn(c->arg, ch[j]) : 0;
		if (err)
			return err;
	}
	return 0;
}

int ckpt_fs_chunks(struct k_kernel *k, int (*fn)(void *arg, struct k_mobj *o), void *arg)
{
	struct chunks c = {fn, arg, NULL, 0, 0};
	int err = 0;
	for (struct k_mount *m = k->mounts; m && !err; m = m->next) {
		struct k_inode *root = tree_of(m);
		if (root)
			err = tmpfs_each_entry(root, chunk_entry, &c);
	}
	free(c.seen);
	return err;
}

/* ---- restore ---- */

struct ckpt_fs_rs {
	struct k_inode **v; /* by id - 1 (held) */
	bool *attached;     /* in a tree: may hold names (directories) */
	uint32_t *tree;     /* the root id of each one's tree */
	size_t n, cap;
	bool mounts_seen;
	uint32_t nmounts;
	bool *root_done;    /* each mount's tree restored once */
};

static int fs_fail(char *why, size_t len, int err, const char *what)
{
	snprintf(why, len, "%s", what);
	return err;
}

static struct k_mount *mount_at_index(struct k_kernel *k, uint32_t index)
{
	struct k_mount *m = k->mounts;
	while (m && index--)
		m = m->next;
	return m;
}

static int restore_mounts(struct k_kernel *k, struct ckpt_fs_rs *st, struct snap_dec *d,
			  char *why, size_t len)
{
	uint32_t n = snap_get_u32(d), have = 0;
	for (struct k_mount *m = k->mounts; m; m = m->next)
		have++;
	if (st->mounts_seen || snap_dec_err(d) || n > 4096)
		return fs_fail(why, len, -EBADMSG, "a bad mount table record");
	if (n != have) {
		snprintf(why, len,
			 "the snapshot's sandbox had %u mounts, this one has %u: restore with the "
			 "--bind and --root options it was taken with", n, have);
		return -EINVAL;
	}
	struct k_path top = vfs_abs_root(k);
	struct k_mount *m = k->mounts;
	for (uint32_t i = 0; i < n; i++, m = m->next) {
		char type[64], where[K_PATH_MAX], here[K_PATH_MAX] = "/";
		snap_get_str(d, type, sizeof(type));
		snap_get_str(d, where, sizeof(where));
		if (snap_dec_err(d))
			return fs_fail(why, len, -EBADMSG, "a bad mount table record");
		if (m->parent) {
			struct k_path at = {m->parent, m->mountpoint};
			if (path_name(&top, &at, here, sizeof(here)) < 0)
				here[0] = 0;
		}
		if (strcmp(type, m->sb->type) || strcmp(where, here)) {
			snprintf(why, len,
				 "the snapshot's mounts differ from this sandbox's (%s on %s, not %s on "
				 "%s): restore with the --bind and --root options it was taken with",
				 type, where, m->sb->type, here);
			return -EINVAL;
		}
	}
	st->mounts_seen = true;
	st->nmounts = n;
	if (n && !(st->root_done = calloc(n, sizeof(*st->root_done))))
		return -ENOMEM;
	return 0;
}

static struct k_inode *get_ino(const struct ckpt_fs_rs *st, uint32_t id)
{
	return id && id <= st->n ? st->v[id - 1] : NULL;
}

static int add_ino(struct ckpt_fs_rs *st, struct k_inode *ino, bool attached, uint32_t tree)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 64;
		struct k_inode **v = realloc(st->v, cap * sizeof(*v));
		bool *a = v ? realloc(st->attached, cap * sizeof(*a)) : NULL;
		uint32_t *t = a ? realloc(st->tree, cap * sizeof(*t)) : NULL;
		if (v)
			st->v = v;
		if (a)
			st->attached = a;
		if (!t)
			return -ENOMEM;
		st->tree = t;
		st->cap = cap;
	}
	st->v[st->n] = ino;
	st->attached[st->n] = attached;
	st->tree[st->n] = tree;
	st->n++;
	return 0;
}

static void get_times(struct snap_dec *d, struct k_inode *i)
{
	struct timespec *t[] = {&i->atime, &i->mtime, &i->ctime};
	for (int j = 0; j < 3; j++) {
		t[j]->tv_sec = snap_get_i64(d);
		t[j]->tv_nsec = snap_get_i64(d);
	}
}

static bool times_ok(const struct k_inode *i)
{
	const struct timespec *t[] = {&i->atime, &i->mtime, &i->ctime};
	for (int j = 0; j < 3; j++)
		if (t[j]->tv_nsec < 0 || t[j]->tv_nsec >= 1000000000L)
			return false;
	return true;
}

static int restore_inode(struct k_kernel *k, struct ckpt_fs_rs *st, struct snap_dec *d,
			 const struct ckpt_fs_restore_ops *ops, char *why, size_t len)
{
	uint32_t id = snap_get_u32(d), mount = snap_get_u32(d), tree = snap_get_u32(d);
	uint32_t mode = snap_get_u32(d), uid = snap_get_u32(d), gid = snap_get_u32(d);
	uint64_t rdev = snap_get_u64(d), ino = snap_get_u64(d), size = snap_get_u64(d);
	struct k_inode attrs = {0};
	get_times(d, &attrs);
	uint32_t iflags = snap_get_u32(d), seals = snap_get_u32(d);
	if (snap_dec_err(d) || id != st->n + 1 || !st->mounts_seen || (iflags & ~K_I_OPAQUE) ||
	    !times_ok(&attrs) || !ino || ino > (1ULL << 48) || (mode & ~(S_IFMT | 07777)))
		return fs_fail(why, len, -EBADMSG, "a bad inode record");
	struct k_inode *i;
	if (mount) {
		/* A tree's root: the one this sandbox's boot made. */
		struct k_mount *m = mount <= st->nmounts ? mount_at_index(k, mount - 1) : NULL;
		i = m ? tree_of(m) : NULL;
		if (!i || tree != id || st->root_done[mount - 1] || !S_ISDIR(mode))
			return fs_fail(why, len, -EBADMSG, "a bad filesystem root record");
		st->root_done[mount - 1] = true;
		inode_get(i);
	} else {
		struct k_inode *root = get_ino(st, tree);
		char target[K_PATH_MAX];
		if (S_ISLNK(mode) && (snap_get_str(d, target, sizeof(target)), snap_dec_err(d)))
			return fs_fail(why, len, -EBADMSG, "a bad symlink record");
		if (!root || st->tree[tree - 1] != tree ||
		    !(i = tmpfs_inode_restore(k, root->sb, mode, S_ISLNK(mode) ? target : NULL)))
			return fs_fail(why, len, -EBADMSG, "a bad inode record");
		i->ino = ino;
		if (root->sb->next_ino <= ino)
			root->sb->next_ino = ino + 1;
		i->rdev = rdev;
		i->seals = seals;
	}
	i->mode = (i->mode & S_IFMT) | (mode & 07777);
	i->uid = uid;
	i->gid = gid;
	i->atime = attrs.atime, i->mtime = attrs.mtime, i->ctime = attrs.ctime;
	i->iflags = (i->iflags & ~K_I_OPAQUE) | iflags;
	int err = 0;
	if (!mount && S_ISREG(mode)) {
		uint32_t n = snap_get_u32(d);
		struct k_mobj **ch = n && n <= (1u << 20) ? calloc(n, sizeof(*ch)) : NULL;
		if (n && !ch)
			err = n > (1u << 20) ? -EBADMSG : -ENOMEM;
		for (uint32_t j = 0; !err && j < n; j++) {
			uint32_t mid = snap_get_u32(d);
			if (mid && !(ch[j] = ops->mobj(ops->arg, mid)))
				err = -EBADMSG;
		}
		if (!err && !snap_dec_err(d))
			err = tmpfs_file_restore(i, ch, n, size);
		free(ch);
	} else if (S_ISDIR(mode)) {
		int64_t next = snap_get_i64(d);
		if (!snap_dec_err(d))
			err = tmpfs_dir_set_serial(i, next);
	}
	if (!err && snap_dec_err(d))
		err = -EBADMSG;
	if (!err)
		err = add_ino(st, i, mount != 0, mount ? id : tree);
	if (err) {
		inode_put(i);
		return fs_fail(why, len, err, "a bad file record in a filesystem tree");
	}
	return 0;
}

static int restore_dentry(struct ckpt_fs_rs *st, struct snap_dec *d, char *why, size_t len)
{
	uint32_t dir = snap_get_u32(d);
	char name[K_NAME_MAX + 1];
	size_t nl = snap_get_str(d, name, sizeof(name));
	uint32_t child = snap_get_u32(d);
	int64_t serial = snap_get_i64(d);
	struct k_inode *di = get_ino(st, dir), *ci = get_ino(st, child);
	if (snap_dec_err(d) || !nl || !di || !ci || !st->attached[dir - 1] ||
	    st->tree[child - 1] != st->tree[dir - 1] || st->tree[child - 1] == child)
		return fs_fail(why, len, -EBADMSG, "a bad directory entry record");
	/* A name the boot already made (a mount point in a root, as /tmp in
	 * an overlay's upper layer): that directory is this one. */
	struct k_inode *have = NULL;
	if (di->ops->lookup && di->ops->lookup(di, name, &have) == 0) {
		if (S_ISDIR(have->mode)) {
			if (!S_ISDIR(ci->mode) || st->attached[child - 1]) {
				inode_put(have);
				return fs_fail(why, len, -EBADMSG,
					       "a directory entry the sandbox already has");
			}
			have->mode = ci->mode;
			have->uid = ci->uid, have->gid = ci->gid;
			have->atime = ci->atime, have->mtime = ci->mtime, have->ctime = ci->ctime;
			have->iflags = ci->iflags;
			inode_put(ci);
			st->v[child - 1] = have;
			st->attached[child - 1] = true;
			return 0;
		}
		/* A file the boot wrote (as /etc/hosts): the snapshot's wins
		 * (the directory's times stay the snapshot's). */
		struct timespec mtime = di->mtime, ctime = di->ctime;
		int err = di->ops->unlink ? di->ops->unlink(di, name, have) : -EPERM;
		di->mtime = mtime;
		di->ctime = ctime;
		inode_put(have);
		if (err)
			return fs_fail(why, len, err, "a file the sandbox made cannot be replaced");
	}
	if (S_ISDIR(ci->mode) && st->attached[child - 1])
		return fs_fail(why, len, -EBADMSG, "a directory with two names");
	int err = tmpfs_entry_restore(di, name, ci, serial);
	if (err)
		return fs_fail(why, len, err == -EINVAL ? -EBADMSG : err,
			       "a bad directory entry record");
	st->attached[child - 1] = true;
	return 0;
}

int ckpt_fs_restore(struct k_kernel *k, struct ckpt_fs_rs **stp, uint32_t tag, struct snap_dec *d,
		    const struct ckpt_fs_restore_ops *ops, char *why, size_t len)
{
	if (!*stp && !(*stp = calloc(1, sizeof(**stp))))
		return -ENOMEM;
	struct ckpt_fs_rs *st = *stp;
	switch (tag) {
	case CK_MOUNTS: return restore_mounts(k, st, d, why, len);
	case CK_INODE:
		if (st->n >= CK_MAX_OBJECTS)
			return fs_fail(why, len, -EBADMSG, "too many files");
		return restore_inode(k, st, d, ops, why, len);
	default: return restore_dentry(st, d, why, len);
	}
}

bool ckpt_fs_restored(const struct ckpt_fs_rs *st)
{
	return st && st->mounts_seen;
}

void ckpt_fs_restore_end(struct ckpt_fs_rs *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		inode_put(st->v[i]);
	free(st->v);
	free(st->attached);
	free(st->tree);
	free(st->root_done);
	free(st);
}
