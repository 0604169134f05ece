/* Character devices (by device number, wherever their node lives) and the
 * sandbox's /dev: null, zero, full, random, urandom, tty, the /dev/fd and
 * stdio links, /dev/pts and a tmpfs on /dev/shm. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/sysmacros.h>

#include "../sentry.h"

static ssize_t fill_zero(const struct iovec *iov, int n)
{
	size_t done = 0;
	for (int i = 0; i < n; i++) {
		memset(iov[i].iov_base, 0, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	return (ssize_t)done;
}

static size_t total(const struct iovec *iov, int n)
{
	size_t t = 0;
	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

static ssize_t null_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	(void)f, (void)iov, (void)n, (void)pos;
	return 0;
}

static ssize_t sink_write(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	(void)f, (void)pos;
	return (ssize_t)total(iov, n);
}

static ssize_t zero_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	(void)f, (void)pos;
	return fill_zero(iov, n);
}

static ssize_t full_write(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	(void)f, (void)iov, (void)n, (void)pos;
	return -ENOSPC;
}

static ssize_t random_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	(void)f, (void)pos;
	size_t done = 0;
	for (int i = 0; i < n; i++) {
		size_t at = 0;
		while (at < iov[i].iov_len) {
			ssize_t r = getrandom((char *)iov[i].iov_base + at, iov[i].iov_len - at, 0);
			if (r < 0)
				return done ? (ssize_t)done : -errno;
			at += (size_t)r;
		}
		done += at;
	}
	return (ssize_t)done;
}

static int64_t dev_seek(struct k_file *f, int64_t off, int whence)
{
	/* Character devices accept any seek and stay where they are. */
	(void)off, (void)whence;
	f->pos = 0;
	return 0;
}

static bool null_eof(struct k_file *f)
{
	(void)f;
	return true;
}

static const struct k_file_ops null_ops = {
	.read = null_read, .write = sink_write, .seek = dev_seek, .at_eof = null_eof,
	.discards = true};
static const struct k_file_ops zero_ops = {
	.read = zero_read, .write = sink_write, .seek = dev_seek, .discards = true};
static const struct k_file_ops full_ops = {.read = zero_read, .write = full_write, .seek = dev_seek};
static const struct k_file_ops random_ops = {
	.read = random_read, .write = sink_write, .seek = dev_seek};

int chrdev_open(uint64_t rdev, struct k_file *f)
{
	unsigned maj = major(rdev), min = minor(rdev);
	if (maj == 1) {
		switch (min) {
		case 3: f->ops = &null_ops; return 0;
		case 5: f->ops = &zero_ops; return 0;
		case 7: f->ops = &full_ops; return 0;
		case 8: case 9: f->ops = &random_ops; return 0;
		}
	}
	/* /dev/tty with no controlling terminal, and devices husk lacks. */
	return -ENXIO;
}

static int node(struct k_inode *dir, const char *name, uint32_t mode, uint64_t rdev)
{
	struct k_cred root = {0};
	struct k_inode *ino;
	int err = dir->ops->create(dir, name, mode, rdev, &root, &ino);
	if (!err)
		inode_put(ino);
	return err;
}

static int link_(struct k_inode *dir, const char *name, const char *target)
{
	struct k_cred root = {0};
	struct k_inode *ino;
	int err = dir->ops->symlink(dir, name, target, &root, &ino);
	if (!err)
		inode_put(ino);
	return err;
}

static int subdir(struct k_inode *dir, const char *name, uint32_t mode)
{
	struct k_cred root = {0};
	struct k_inode *ino;
	int err = dir->ops->mkdir(dir, name, mode, &root, &ino);
	if (!err)
		inode_put(ino);
	return err;
}

int devfs_new(struct k_kernel *k, struct k_super **sb, struct k_inode **root)
{
	int err = tmpfs_new(k, 0755, sb, root);
	if (err)
		return err;
	struct k_inode *d = *root;
	static const struct {
		const char *name;
		unsigned maj, min;
	} devs[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8},
		    {"urandom", 1, 9}, {"tty", 5, 0}};
	for (size_t i = 0; i < ARRAY_LEN(devs) && !err; i++)
		err = node(d, devs[i].name, S_IFCHR | 0666, makedev(devs[i].maj, devs[i].min));
	if (!err)
		err = link_(d, "fd", "/proc/self/fd");
	if (!err)
		err = link_(d, "stdin", "/proc/self/fd/0");
	if (!err)
		err = link_(d, "stdout", "/proc/self/fd/1");
	if (!err)
		err = link_(d, "stderr", "/proc/self/fd/2");
	if (!err)
		err = subdir(d, "pts", 0755);
	if (!err)
		err = subdir(d, "shm", 01777);
	if (err) {
		inode_put(*root);
		super_put(*sb);
	}
	return err;
}
