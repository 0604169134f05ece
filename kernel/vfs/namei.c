/* Path resolution, as Linux's namei: component by component from the root
 * or a starting directory, through mounts both ways, following symlinks
 * (at most 40), with "." and ".." handled in the sentry and never passed to
 * a filesystem.  openat2's RESOLVE_* restrictions are honoured here. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "../sentry.h"

int k_copy_path(struct k_task *t, uint64_t uaddr, char *buf, bool allow_empty)
{
	long n = k_copy_string(t, buf, uaddr, K_PATH_MAX);
	if (n < 0)
		return (int)n;
	if (n == 0 && !allow_empty)
		return -ENOENT;
	return (int)n;
}

struct walker {
	struct k_task *t;
	struct k_path cur, root, start;
	int flags;
	int links;
	struct k_file *magic; /* a pathless file a /proc link ended at */
};

static void set_path(struct k_path *dst, struct k_path src)
{
	struct k_path n = path_get(src);
	path_put(dst);
	*dst = n;
}

/* Steps into whatever is mounted on cur, repeatedly (stacked mounts). */
static int cross_mounts(struct walker *w)
{
	struct k_mount *m;
	while ((m = mount_at(w->t->k, w->cur.mnt, w->cur.d))) {
		if (w->flags & LOOKUP_NO_XDEV)
			return -EXDEV;
		set_path(&w->cur, (struct k_path){m, m->root});
	}
	return 0;
}

static int dotdot(struct walker *w)
{
	for (;;) {
		if (path_equal(w->cur, w->root))
			return 0;
		if ((w->flags & LOOKUP_BENEATH) && path_equal(w->cur, w->start))
			return -EXDEV;
		if (w->cur.d == w->cur.mnt->root) {
			if (!w->cur.mnt->parent)
				return 0;
			if (w->flags & LOOKUP_NO_XDEV)
				return -EXDEV;
			set_path(&w->cur, (struct k_path){w->cur.mnt->parent, w->cur.mnt->mountpoint});
			continue;
		}
		set_path(&w->cur, (struct k_path){w->cur.mnt, w->cur.d->parent});
		return cross_mounts(w);
	}
}

static bool is_dir(const struct k_dentry *d)
{
	return d->inode && S_ISDIR(d->inode->mode);
}

/* Walks path (a buffer of 2*K_PATH_MAX the walker may rewrite).  With
 * parent set, stops before the last component and copies it to last. */
static int walk(struct walker *w, char *path, char *scratch, bool parent, char *last,
		bool *trailing_slash)
{
	char *p = path;
	if (trailing_slash)
		*trailing_slash = false;
restart:
	if (*p == '/') {
		if (w->flags & LOOKUP_BENEATH)
			return -EXDEV;
		set_path(&w->cur, w->root);
		while (*p == '/')
			p++;
	}
	if (!*p) {
		if (parent) {
			last[0] = 0;
			return 0;
		}
		return 0;
	}
	while (*p) {
		char *name = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - name);
		if (len > K_NAME_MAX)
			return -ENAMETOOLONG;
		bool slash = *p == '/';
		while (*p == '/')
			p++;
		bool is_last = !*p;
		char comp[K_NAME_MAX + 1];
		memcpy(comp, name, len);
		comp[len] = 0;
		if (!is_dir(w->cur.d))
			return -ENOTDIR;
		int err = inode_permission(w->t, w->cur.d->inode, MAY_EXEC);
		if (err)
			return err;
		if (is_last && parent) {
			memcpy(last, comp, len + 1);
			if (trailing_slash)
				*trailing_slash = slash;
			return 0;
		}
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if ((err = dotdot(w)))
				return err;
			continue;
		}
		struct k_dentry *child = dentry_lookup(w->cur.d, comp, &err);
		if (!child)
			return err;
		if (!child->inode) {
			dentry_put(child);
			return -ENOENT;
		}
		bool follow = !is_last || slash || (w->flags & LOOKUP_FOLLOW);
		if (S_ISLNK(child->inode->mode) && follow &&
		    child->inode->sb->magic == PROC_SUPER_MAGIC) {
			/* /proc's magic links go to the object, not to its name. */
			struct k_path mp = {0};
			struct k_file *mf = NULL;
			int r = procfs_get_link(child->inode, &mp, &mf);
			if (r != -EINVAL) {
				dentry_put(child);
				if (r)
					return r;
				if ((w->flags & (LOOKUP_NO_MAGICLINKS | LOOKUP_NO_SYMLINKS)) ||
				    ++w->links > K_MAXSYMLINKS) {
					path_put(&mp);
					file_put(mf);
					return -ELOOP;
				}
				if (mf) {
					if (!is_last || slash || !(w->flags & LOOKUP_MAGIC_FILE)) {
						file_put(mf);
						return is_last && !slash ? -ENXIO : -ENOTDIR;
					}
					w->magic = mf;
					return -K_EMAGICFILE;
				}
				path_put(&w->cur);
				w->cur = mp;
				if (slash && !is_dir(w->cur.d))
					return -ENOTDIR;
				continue;
			}
		}
		if (S_ISLNK(child->inode->mode) && follow) {
			if (w->flags & LOOKUP_NO_SYMLINKS) {
				dentry_put(child);
				return -ELOOP;
			}
			if (++w->links > K_MAXSYMLINKS) {
				dentry_put(child);
				return -ELOOP;
			}
			struct k_inode *ino = child->inode;
			int n = ino->ops->readlink ? ino->ops->readlink(ino, scratch, K_PATH_MAX)
						   : -EINVAL;
			dentry_put(child);
			if (n < 0)
				return n;
			if (n == 0)
				return -ENOENT;
			/* The rest of the path goes after the target. */
			size_t rest = strlen(p);
			if ((size_t)n + 1 + rest + 2 > 2 * K_PATH_MAX)
				return -ENAMETOOLONG;
			scratch[n] = 0;
			if (rest || slash) {
				scratch[n++] = '/';
				memcpy(scratch + n, p, rest + 1);
			}
			memcpy(path, scratch, strlen(scratch) + 1);
			p = path;
			goto restart;
		}
		struct k_dentry *old = w->cur.d;
		w->cur.d = child; /* takes the lookup's reference */
		dentry_put(old);
		if ((err = cross_mounts(w)))
			return err;
		if (slash && !is_dir(w->cur.d))
			return -ENOTDIR;
	}
	return 0;
}

/* The starting point of a relative path. */
static int start_at(struct k_task *t, int dirfd, struct k_path *out)
{
	if (dirfd == AT_FDCWD) {
		*out = path_get(t->fs->cwd);
		return 0;
	}
	struct k_file *f = fdt_get_raw(t, dirfd);
	if (!f)
		return -EBADF;
	if (!f->path.d) {
		file_put(f);
		return -ENOTDIR;
	}
	*out = path_get(f->path);
	file_put(f);
	return 0;
}

static int lookup(struct k_task *t, int dirfd, const struct k_path *from, const char *path,
		  int flags, bool parent, struct k_path *out, char *last, bool *trailing,
		  struct k_file **magic)
{
	struct walker w = {.t = t, .flags = flags};
	int err = 0;
	if (path[0] != '/' || (flags & (LOOKUP_IN_ROOT | LOOKUP_BENEATH))) {
		if (from)
			w.cur = path_get(*from);
		else if ((err = start_at(t, dirfd, &w.cur)))
			return err;
	} else {
		w.cur = path_get(t->fs->root);
	}
	if (!path[0] && !(flags & LOOKUP_EMPTY)) {
		path_put(&w.cur);
		return -ENOENT;
	}
	w.start = path_get(w.cur);
	w.root = flags & LOOKUP_IN_ROOT ? path_get(w.cur) : path_get(t->fs->root);
	char *buf = malloc(4 * K_PATH_MAX);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	size_t len = strlen(path);
	if (len >= K_PATH_MAX) {
		err = -ENAMETOOLONG;
		goto out;
	}
	memcpy(buf, path, len + 1);
	err = walk(&w, buf, buf + 2 * K_PATH_MAX, parent, last, trailing);
	if (!err && !parent && (flags & LOOKUP_DIRECTORY) && !is_dir(w.cur.d))
		err = -ENOTDIR;
out:
	free(buf);
	path_put(&w.start);
	path_put(&w.root);
	if (err == -K_EMAGICFILE && magic)
		*magic = w.magic;
	else
		file_put(w.magic);
	if (err) {
		path_put(&w.cur);
		return err;
	}
	*out = w.cur;
	return 0;
}

int path_lookup(struct k_task *t, int dirfd, const char *path, int flags, struct k_path *out)
{
	return lookup(t, dirfd, NULL, path, flags, false, out, NULL, NULL, NULL);
}

int path_parent(struct k_task *t, int dirfd, const char *path, int flags,
		struct k_path *parent, char *last, bool *trailing_slash)
{
	return lookup(t, dirfd, NULL, path, flags, true, parent, last, trailing_slash, NULL);
}

int path_lookup_from(struct k_task *t, const struct k_path *from, const char *path, int flags,
		     struct k_path *out)
{
	return lookup(t, AT_FDCWD, from, path, flags, false, out, NULL, NULL, NULL);
}

int path_parent_from(struct k_task *t, const struct k_path *from, const char *path, int flags,
		     struct k_path *parent, char *last, bool *trailing_slash)
{
	return lookup(t, AT_FDCWD, from, path, flags, true, parent, last, trailing_slash, NULL);
}

int path_lookup_file(struct k_task *t, int dirfd, const char *path, int flags,
		     struct k_path *out, struct k_file **magic)
{
	*magic = NULL;
	return lookup(t, dirfd, NULL, path, flags | LOOKUP_MAGIC_FILE, false, out, NULL, NULL,
		      magic);
}
