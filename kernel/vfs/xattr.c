/* Extended attributes: the sandbox's filesystems keep none.  Lookups go
 * through path resolution as usual; a name is never found (ENODATA) and
 * setting one is not supported, as on a filesystem without xattrs. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>

#include "../sentry.h"

#define XATTR_NAME_MAX 255
#define XATTR_SIZE_MAX 65536

static long xattr_path(struct k_task *t, uint64_t upath, bool follow)
{
	char path[K_PATH_MAX];
	int err = k_copy_path(t, upath, path, false);
	if (err < 0)
		return err;
	struct k_path p;
	if ((err = path_lookup(t, AT_FDCWD, path, follow ? LOOKUP_FOLLOW : 0, &p)))
		return err;
	path_put(&p);
	return 0;
}

static long xattr_fd(struct k_task *t, int fd)
{
	struct k_file *f = fdt_get(t, fd);
	if (!f)
		return -EBADF;
	file_put(f);
	return 0;
}

static long check_name(struct k_task *t, uint64_t uname)
{
	char name[XATTR_NAME_MAX + 2];
	long n = k_copy_string(t, name, uname, sizeof(name));
	if (n == -EFAULT)
		return -EFAULT;
	if (n < 0 || n > XATTR_NAME_MAX || n == 0)
		return -ERANGE;
	return 0;
}

static long get(struct k_task *t, long found, uint64_t uname)
{
	if (found)
		return found;
	long err = check_name(t, uname);
	return err ? err : -ENODATA;
}

SYSCALL(getxattr) { return get(t, xattr_path(t, a[0], true), a[1]); }
SYSCALL(lgetxattr) { return get(t, xattr_path(t, a[0], false), a[1]); }
SYSCALL(fgetxattr) { return get(t, xattr_fd(t, (int)a[0]), a[1]); }
SYSCALL(listxattr) { long e = xattr_path(t, a[0], true); return e ? e : 0; }
SYSCALL(llistxattr) { long e = xattr_path(t, a[0], false); return e ? e : 0; }
SYSCALL(flistxattr) { long e = xattr_fd(t, (int)a[0]); return e ? e : 0; }

static long set(struct k_task *t, long found, uint64_t uname, int flags)
{
	if (found)
		return found;
	if (flags & ~3)
		return -EINVAL;
	long err = check_name(t, uname);
	return err ? err : -EOPNOTSUPP;
}

SYSCALL(setxattr) { return set(t, xattr_path(t, a[0], true), a[1], (int)a[4]); }
SYSCALL(lsetxattr) { return set(t, xattr_path(t, a[0], false), a[1], (int)a[4]); }
SYSCALL(fsetxattr) { return set(t, xattr_fd(t, (int)a[0]), a[1], (int)a[4]); }
SYSCALL(removexattr) { return get(t, xattr_path(t, a[0], true), a[1]); }
SYSCALL(lremovexattr) { return get(t, xattr_path(t, a[0], false), a[1]); }
SYSCALL(fremovexattr) { return get(t, xattr_fd(t, (int)a[0]), a[1]); }
