/* The sandbox's mount tree, and the fs context of its first task. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "../../gofer/gofer.h"
#include "../sentry.h"

/* Mounts (sb, root) on the directory name under parent, creating the
 * directory if it is missing.  Takes over the caller's references. */
static int mount_fs_at(struct k_kernel *k, struct k_path *parent, const char *name,
		       struct k_super *sb, struct k_inode *root, int flags, const char *source)
{
	int err = 0;
	struct k_dentry *d = dentry_lookup(parent->d, name, &err);
	if (d && !d->inode) {
		struct k_inode *dir = parent->d->inode, *ino;
		struct k_cred cred = {0};
		if (!dir->ops->mkdir || (err = dir->ops->mkdir(dir, name, 0755, &cred, &ino))) {
			err = err ? err : -EPERM;
		} else {
			dentry_instantiate(d, ino);
			inode_put(ino);
		}
	}
	struct k_dentry *rd = NULL;
	if (d && !err) {
		rd = dentry_root(root);
		struct k_path at = {parent->mnt, d};
		err = rd ? mount_add(k, &at, sb, rd, flags, source, NULL) : -ENOMEM;
	}
	if (rd)
		dentry_put(rd);
	if (d)
		dentry_put(d);
	inode_put(root);
	super_put(sb);
	return err;
}

static int mount_tmpfs_at(struct k_kernel *k, struct k_path *parent, const char *name,
			  uint32_t mode)
{
	struct k_super *sb;
	struct k_inode *root;
	int err = tmpfs_new(k, mode, &sb, &root);
	if (err)
		return err;
	return mount_fs_at(k, parent, name, sb, root, MS_NOSUID | MS_NODEV, "tmpfs");
}

/* A root without the directory, and read-only, cannot have that mount:
 * the sandbox goes on without it. */
static int optional(struct k_kernel *k, const char *what, int err)
{
	if (err == -EROFS || err == -ENOENT) {
		k_log(k, "no %s: the root has no such directory and is read-only", what);
		return 1;
	}
	return err;
}

/* The sentry's own filesystems: /dev (with /dev/shm), /proc, /sys. */
static int mount_system(struct k_task *t, struct k_path *root)
{
	struct k_kernel *k = t->k;
	struct k_super *sb;
	struct k_inode *ino;
	int err = devfs_new(k, &sb, &ino);
	if (!err)
		err = optional(k, "/dev", mount_fs_at(k, root, "dev", sb, ino, MS_NOSUID, "devtmpfs"));
	if (err < 0)
		return err;
	if (err == 0) {
		struct k_path dev;
		if ((err = path_lookup_from(t, root, "dev", 0, &dev)))
			return err;
		err = mount_tmpfs_at(k, &dev, "shm", 01777);
		path_put(&dev);
		if (err)
			return err;
	}
	if ((err = procfs_new(t, &sb, &ino)))
		return err;
	err = optional(k, "/proc",
		       mount_fs_at(k, root, "proc", sb, ino, MS_NOSUID | MS_NODEV | MS_NOEXEC, "proc"));
	if (err < 0)
		return err;
	if ((err = sysfs_new(k, &sb, &ino)))
		return err;
	err = optional(k, "/sys",
		       mount_fs_at(k, root, "sys", sb, ino, MS_NOSUID | MS_NODEV | MS_NOEXEC, "sysfs"));
	return err < 0 ? err : 0;
}

/* Creates the directories of path that are missing (a mount point inside
 * another mount, such as a bind under the sandbox's own /tmp). */
static int make_dirs(struct k_task *t, const char *path)
{
	char buf[K_PATH_MAX];
	size_t len = strlen(path);
	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = 0;
		struct k_path at;
		int err = path_lookup_from(t, &t->fs->root, buf, LOOKUP_FOLLOW, &at);
		if (err == -ENOENT) {
			struct k_path parent;
			char last[K_NAME_MAX + 1];
			bool slash;
			if ((err = path_parent_from(t, &t->fs->root, buf, LOOKUP_FOLLOW, &parent, last,
						    &slash)))
				return err;
			struct k_inode *dir = parent.d->inode, *ino;
			struct k_dentry *d = dentry_lookup(parent.d, last, &err);
			struct k_cred root = {0};
			if (d && !mount_readonly(parent.mnt) && dir->ops->mkdir &&
			    (err = dir->ops->mkdir(dir, last, 0755, &root, &ino)) == 0) {
				dentry_instantiate(d, ino);
				inode_put(ino);
			} else if (d && !err) {
				err = -EROFS;
			}
			if (d)
				dentry_put(d);
			path_put(&parent);
			if (err)
				return err;
		} else if (err) {
			return err;
		} else {
			path_put(&at);
		}
		*p = c;
		if (!c)
			return 0;
	}
}

/* Mounts one entry of the spec (not "/") at its guest path. */
static int mount_spec_entry(struct k_task *t, const struct gf_mount *m)
{
	struct k_kernel *k = t->k;
	struct k_path parent;
	char last[K_NAME_MAX + 1];
	bool slash;
	int err = make_dirs(t, m->path);
	if (err)
		return err;
	err = path_parent_from(t, &t->fs->root, m->path, LOOKUP_FOLLOW, &parent, last, &slash);
	if (err)
		return err;
	if (m->type == GF_MOUNT_TMPFS) {
		err = mount_tmpfs_at(k, &parent, last, 01777);
	} else if (!k->gofer) {
		err = -ENOTCONN;
	} else {
		struct k_super *sb;
		struct k_inode *ino;
		err = goferfs_new(k, k->gofer, m->path, m->readonly, &sb, &ino);
		if (!err)
			err = mount_fs_at(k, &parent, last, sb, ino, m->readonly ? MS_RDONLY : 0,
					  m->source);
	}
	path_put(&parent);
	return err;
}

int k_vfs_init(struct k_task *t)
{
	struct k_kernel *k = t->k;
	const struct gf_spec *spec = k->cfg.spec;
	struct k_super *sb;
	struct k_inode *root;
	int err, flags = 0;
	/* A gofer socket is never one of the stdio descriptors: 0 means none,
	 * so a zeroed k_config has no gofer. */
	if (k->cfg.gofer_sock > 2 && (err = gf_client_new(k->cfg.gofer_sock, &k->gofer)))
		return err;
	if (spec && spec->nmounts > 0 && spec->mounts[0].type == GF_MOUNT_BIND) {
		if (!k->gofer)
			return -ENOTCONN;
		err = goferfs_new(k, k->gofer, "/", spec->mounts[0].readonly, &sb, &root);
		flags = spec->mounts[0].readonly ? MS_RDONLY : 0;
		if (!err && spec->mounts[0].overlay) {
			/* Writes land in the sandbox's memory; the host's files
			 * are never touched. */
			struct k_super *osb;
			struct k_inode *oroot;
			err = overlay_new(k, root, &osb, &oroot);
			inode_put(root);
			super_put(sb);
			sb = osb;
			root = oroot;
			flags = 0;
		}
	} else {
		err = tmpfs_new(k, 0755, &sb, &root);
	}
	if (err)
		return err;
	struct k_dentry *rd = dentry_root(root);
	inode_put(root);
	struct k_mount *m = NULL;
	err = rd ? mount_add(k, NULL, sb, rd, flags, spec ? "rootfs" : "tmpfs", &m) : -ENOMEM;
	super_put(sb);
	if (rd)
		dentry_put(rd);
	if (err)
		return err;
	struct k_fs_ctx *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->refs = 1;
	fs->root = path_get((struct k_path){m, m->root});
	fs->cwd = path_get(fs->root);
	fs->umask = 022;
	t->fs = fs;
	if (spec) {
		for (int i = 1; i < spec->nmounts; i++)
			if ((err = mount_spec_entry(t, &spec->mounts[i])))
				return err;
	} else if ((err = mount_tmpfs_at(k, &fs->root, "tmp", 01777))) {
		return err;
	}
	if ((err = mount_system(t, &fs->root)))
		return err;
	/* Start where asked if that directory exists in the sandbox. */
	struct k_path cwd;
	if (k->cfg.cwd && path_lookup_from(t, &fs->root, k->cfg.cwd,
					   LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &cwd) == 0) {
		path_put(&fs->cwd);
		fs->cwd = cwd;
	}
	return 0;
}

struct k_fs_ctx *fs_ctx_dup(const struct k_fs_ctx *fs)
{
	struct k_fs_ctx *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->refs = 1;
	n->root = path_get(fs->root);
	n->cwd = path_get(fs->cwd);
	n->umask = fs->umask;
	return n;
}

void fs_ctx_put(struct k_fs_ctx *fs)
{
	if (fs && --fs->refs == 0) {
		path_put(&fs->root);
		path_put(&fs->cwd);
		free(fs);
	}
}

void k_vfs_teardown(struct k_kernel *k)
{
	/* Every gofer inode goes now: one by one, their fids would cost a
	 * round trip each; closing the connection releases them all. */
	gf_client_closing(k->gofer);
	mounts_free(k);
	dcache_clear();
	gf_client_free(k->gofer);
	k->gofer = NULL;
}

int k_write_file(struct k_task *t, const char *path, const void *data, size_t n, uint32_t mode)
{
	struct k_path parent;
	char last[K_NAME_MAX + 1];
	bool slash;
	int err = path_parent_from(t, &t->fs->root, path, LOOKUP_FOLLOW, &parent, last, &slash);
	if (err)
		return err;
	struct k_inode *dir = parent.d->inode, *ino = NULL;
	struct k_dentry *d = dentry_lookup(parent.d, last, &err);
	if (d && !d->inode) {
		struct k_cred c;
		task_cred(t, &c);
		err = dir->ops->create ? dir->ops->create(dir, last, S_IFREG | mode, 0, &c, &ino)
				       : -EPERM;
		if (!err) {
			dentry_instantiate(d, ino);
			inode_put(ino);
		}
	}
	struct k_file *f = NULL;
	if (d && !err) {
		struct k_path p = {parent.mnt, d};
		err = vfs_open_path(t, &p, O_WRONLY, &f);
	}
	if (!err) {
		struct k_setattr a = {.mask = K_SET_SIZE, .size = 0};
		if (f->inode->ops->setattr)
			f->inode->ops->setattr(f->inode, &a);
		ssize_t w = k_file_pwrite(f, data, n, 0);
		err = w < 0 ? (int)w : (size_t)w == n ? 0 : -EIO;
	}
	file_put(f);
	if (d)
		dentry_put(d);
	path_put(&parent);
	return err;
}

int k_find_program(struct k_task *t, const char *name, char *const *envp, char *out, size_t size)
{
	if (strchr(name, '/')) {
		if (strlen(name) >= size)
			return -ENAMETOOLONG;
		strcpy(out, name);
		return 0;
	}
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (char *const *e = envp; e && *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	while (*path) {
		size_t n = strcspn(path, ":");
		if (n && n + 1 + strlen(name) < size) {
			memcpy(out, path, n);
			out[n] = '/';
			strcpy(out + n + 1, name);
			struct k_path p;
			if (path_lookup_from(t, &t->fs->root, out, LOOKUP_FOLLOW, &p) == 0) {
				bool ok = S_ISREG(p.d->inode->mode) &&
					  inode_permission(t, p.d->inode, MAY_EXEC) == 0;
				path_put(&p);
				if (ok)
					return 0;
			}
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return -ENOENT;
}
