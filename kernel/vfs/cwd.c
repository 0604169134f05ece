/* The working directory, the root, and the umask. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>

#include "../sentry.h"

SYSCALL(getcwd)
{
	char buf[K_PATH_MAX];
	/* A working directory that was removed has no name (Linux: ENOENT). */
	if (!t->fs->cwd.d->hashed && t->fs->cwd.d->parent)
		return -ENOENT;
	int n = path_name(&t->fs->root, &t->fs->cwd, buf, sizeof(buf));
	if (n < 0)
		return n;
	if (a[1] < (uint64_t)n + 1)
		return -ERANGE;
	if (k_copy_out(t, a[0], buf, (size_t)n + 1))
		return -EFAULT;
	return n + 1;
}

static long set_dir(struct k_task *t, struct k_path *p, struct k_path *slot)
{
	long err = S_ISDIR(p->d->inode->mode) ? inode_permission(t, p->d->inode, MAY_EXEC)
					      : -ENOTDIR;
	if (!err) {
		path_put(slot);
		*slot = *p;
	} else {
		path_put(p);
	}
	return err;
}

SYSCALL(chdir)
{
	char path[K_PATH_MAX];
	int err = k_copy_path(t, a[0], path, false);
	if (err < 0)
		return err;
	struct k_path p;
	if ((err = path_lookup(t, AT_FDCWD, path, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &p)))
		return err;
	return set_dir(t, &p, &t->fs->cwd);
}

SYSCALL(fchdir)
{
	struct k_file *f = fdt_get_raw(t, (int)a[0]);
	if (!f)
		return -EBADF;
	if (!f->path.d) {
		file_put(f);
		return -ENOTDIR;
	}
	struct k_path p = path_get(f->path);
	file_put(f);
	return set_dir(t, &p, &t->fs->cwd);
}

SYSCALL(chroot)
{
	char path[K_PATH_MAX];
	int err = k_copy_path(t, a[0], path, false);
	if (err < 0)
		return err;
	struct k_path p;
	if ((err = path_lookup(t, AT_FDCWD, path, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &p)))
		return err;
	if (t->tg->euid != 0) {
		path_put(&p);
		return -EPERM;
	}
	return set_dir(t, &p, &t->fs->root);
}

SYSCALL(umask)
{
	uint32_t old = t->fs->umask;
	t->fs->umask = (uint32_t)a[0] & 0777;
	return old;
}
