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

#include "../../snapshot/snapshot.h"
#include "../sentry.h"

#define EFD_SEMAPHORE 1
#define EVENTFD_MAX UINT64_C(0xfffffffffffffffe)
#define ERESTARTSYS 512

struct k_eventfd {
	uint64_t count;
	bool semaphore;
};

static long block(struct k_file *f)
{
	return (f->flags & O_NONBLOCK) ? -EAGAIN : -K_EBLOCK;
}

static ssize_t efd_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct k_eventfd *e = f->priv;
	if (pos)
		return -ESPIPE; /* no pread: not a seekable file */
	if (iov_total(iov, n) < 8)
		return -EINVAL;
	if (e->count == 0)
		return block(f);
	uint64_t val = e->semaphore ? 1 : e->count;
	e->count -= val;
	iov_copy(iov, n, &val, 8, true);
	k_file_notify();
	return 8;
}

static ssize_t efd_write(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct k_eventfd *e = f->priv;
	if (pos)
		return -ESPIPE;
	if (iov_total(iov, n) < 8)
		return -EINVAL;
	uint64_t val;
	iov_copy(iov, n, &val, 8, false);
	if (val == UINT64_MAX)
		return -EINVAL;
	if (val > EVENTFD_MAX - e->count)
		return block(f);
	e->count += val;
	k_file_notify();
	return 8;
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

/* Checkpoint: the counter and its mode. */
static int efd_save(struct k_file *f, struct snap_enc *e, struct ckpt_ctx *c)
{
	(void)c;
	struct k_eventfd *v = f->priv;
	snap_put_u64(e, v->count);
	snap_put_u8(e, v->semaphore);
	return 0;
}

static const struct k_file_ops eventfd_ops = {
	.ckpt_kind = CKF_EVENTFD,
	.save = efd_save,
	.read = efd_read,
	.write = efd_write,
	.stat = anon_stat,
	.seek = anon_seek,
	.release = efd_release,
	.anon_name = "eventfd",
	.fdinfo = efd_fdinfo,
	.poll = efd_poll,
};

/* An eventfd's file (eventfd2 and a restore). */
static struct k_file *efd_new(uint64_t count, bool semaphore, int flags)
{
	struct k_eventfd *e = calloc(1, sizeof(*e));
	struct k_file *f = e ? file_new(&eventfd_ops, O_RDWR | (flags & O_NONBLOCK)) : NULL;
	if (!f) {
		free(e);
		return NULL;
	}
	e->count = count;
	e->semaphore = semaphore;
	f->priv = e;
	return f;
}

SYSCALL(eventfd2)
{
	unsigned initval = (unsigned)a[0];
	int flags = (int)a[1];
	if (flags & ~(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE))
		return -EINVAL;
	struct k_file *f = efd_new(initval, flags & EFD_SEMAPHORE, flags);
	if (!f)
		return -ENOMEM;
	long fd = fdt_install(t, f, 0, flags & O_CLOEXEC);
	file_put(f);
	return fd;
}

int eventfd_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		    struct k_file **out)
{
	(void)k, (void)c;
	uint64_t count = snap_get_u64(d);
	bool sem = snap_get_u8(d);
	if (snap_dec_err(d) || count > EVENTFD_MAX)
		return -EBADMSG;
	return (*out = efd_new(count, sem, flags)) ? 0 : -ENOMEM;
}

SYSCALL(eventfd)
{
	const uint64_t b[2] = {a[0], 0};
	return sys_eventfd2(t, b);
}
