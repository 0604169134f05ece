/* fstat and the fd form of newfstatat.  Paths need the VFS, which husk's
 * filesystem brings; until then the guest's root is empty. */
#define _GNU_SOURCE
#include <fcntl.h>

#include "../sentry.h"

static long stat_fd(struct k_task *t, int fd, uint64_t ubuf)
{
	struct k_file *f = fdt_get(t, fd);
	if (!f)
		return -EBADF;
	struct stat st = {0};
	long r = f->ops->stat ? f->ops->stat(f, &st) : -EINVAL;
	file_put(f);
	if (r == 0)
		r = k_copy_out(t, ubuf, &st, sizeof(st));
	return r;
}

SYSCALL(fstat) { return stat_fd(t, (int)a[0], a[1]); }

SYSCALL(newfstatat)
{
	int dirfd = (int)a[0], flags = (int)a[3];
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	char c;
	long n = k_copy_string(t, &c, a[1], 1);
	if (n == -EFAULT)
		return -EFAULT;
	if (n == 0) {
		if (!(flags & AT_EMPTY_PATH))
			return -ENOENT;
		if (dirfd == AT_FDCWD)
			return -ENOENT;
		return stat_fd(t, dirfd, a[2]);
	}
	return -ENOENT;
}
