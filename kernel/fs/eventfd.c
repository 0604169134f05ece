/* eventfd: a 64-bit counter behind a descriptor.  A read takes the count
 * (or one, with EFD_SEMAPHORE), a write adds to it; a read of 0 or a write
 * that would pass 0xfffffffffffffffe blocks.  With one thread in the
 * sandbox only a signal can end that wait, as with pipes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../sentry.h"

#define EFD_SEMAPHORE 1
#define EVENTFD_MAX UINT64_C(0xfffffffffffffffe)
#define ERESTARTSYS 512

struct k_eventfd {
	uint64_t count;
	bool semaphore;
};

static ssize_t iov_len(const struct iovec *iov, int n)
{
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	return (ssize_t)len;
}

/* The 8 bytes moved through the iovecs, which may split them. */
static void iov_move(const struct iovec *iov, int n, void *val, bool to_iov)
{
	size_t done = 0;
	for (int i = 0; i < n && done < 8; i++) {
		size_t take = iov[i].iov_len < 8 - done ? iov[i].iov_len : 8 - done;
		if (to_iov)
			memcpy(iov[i].iov_base, (char *)val + done, take);
		else
			memcpy((char *)val + done, iov[i].iov_base, take);
		done += take;
	}
}

static long block(struct k_file *f)
{
	if (f->flags & O_NONBLOCK)
		return -EAGAIN;
	k_wait_host_signal(CLOCK_MONOTONIC, NULL);
	return -ERESTARTSYS;
}

static ssize_t efd_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct k_eventfd *e = f->priv;
	if (pos)
		return -ESPIPE; /* no pread: not a seekable file */
	if (iov_len(iov, n) < 8)
		return -EINVAL;
	if (e->count == 0)
		return block(f);
	uint64_t val = e->semaphore ? 1 : e->count;
	e->count -= val;
	iov_move(iov, n, &val, true);
	return 8;
}

static ssize_t efd_write(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct k_eventfd *e = f->priv;
	if (pos)
		return -ESPIPE;
	if (iov_len(iov, n) < 8)
		return -EINVAL;
	uint64_t val;
	iov_move(iov, n, &val, false);
	if (val == UINT64_MAX)
		return -EINVAL;
	if (val > EVENTFD_MAX - e->count)
		return block(f);
	e->count += val;
	return 8;
}

static int efd_stat(struct k_file *f, struct stat *st)
{
	/* Linux's one anonymous inode: mode 0600 with no type, owned by root. */
	memset(st, 0, sizeof(*st));
	st->st_ino = f->ino;
	st->st_mode = S_IRUSR | S_IWUSR;
	st->st_nlink = 1;
	st->st_blksize = PAGE_SIZE;
	return 0;
}

static int64_t efd_seek(struct k_file *f, int64_t off, int whence)
{
	(void)off, (void)whence;
	return f->pos; /* Linux's noop_llseek: succeeds and moves nothing */
}

static void efd_release(struct k_file *f)
{
	free(f->priv);
}

static int efd_fdinfo(struct k_file *f, char *buf, size_t size)
{
	struct k_eventfd *e = f->priv;
	return snprintf(buf, size, "eventfd-count: %16llx\n", (unsigned long long)e->count);
}

static short efd_poll(struct k_file *f)
{
	struct k_eventfd *e = f->priv;
	short mask = 0;
	if (e->count)
		mask |= POLLIN;
	if (e->count < EVENTFD_MAX)
		mask |= POLLOUT;
	return mask;
}

static const struct k_file_ops eventfd_ops = {
	.read = efd_read,
	.write = efd_write,
	.stat = efd_stat,
	.seek = efd_seek,
	.release = efd_release,
	.anon_name = "eventfd",
	.fdinfo = efd_fdinfo,
	.poll = efd_poll,
};

SYSCALL(eventfd2)
{
	unsigned initval = (unsigned)a[0];
	int flags = (int)a[1];
	if (flags & ~(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE))
		return -EINVAL;
	struct k_eventfd *e = calloc(1, sizeof(*e));
	struct k_file *f = e ? file_new(&eventfd_ops, O_RDWR | (flags & O_NONBLOCK)) : NULL;
	if (!f) {
		free(e);
		return -ENOMEM;
	}
	e->count = initval;
	e->semaphore = flags & EFD_SEMAPHORE;
	f->priv = e;
	long fd = fdt_install(t, f, 0, flags & O_CLOEXEC);
	file_put(f);
	return fd;
}

SYSCALL(eventfd)
{
	const uint64_t b[2] = {a[0], 0};
	return sys_eventfd2(t, b);
}
