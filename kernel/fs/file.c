/* File descriptions and fd tables. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sentry.h"

struct k_file *file_new(const struct k_file_ops *ops, int flags)
{
	static uint64_t next_ino = 1;
	struct k_file *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->ino = __atomic_fetch_add(&next_ino, 1, __ATOMIC_RELAXED);
	f->refs = 1;
	f->ops = ops;
	f->flags = flags;
	f->host_fd = -1;
	return f;
}

size_t iov_total(const struct iovec *iov, int n)
{
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

void iov_copy(const struct iovec *iov, int n, void *val, size_t len, bool to_iov)
{
	size_t done = 0;
	for (int i = 0; i < n && done < len; i++) {
		size_t take = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
		if (to_iov)
			memcpy(iov[i].iov_base, (char *)val + done, take);
		else
			memcpy((char *)val + done, iov[i].iov_base, take);
		done += take;
	}
}

int anon_stat(struct k_file *f, struct stat *st)
{
	/* Linux's one anonymous inode: mode 0600 with no type, owned by root. */
	memset(st, 0, sizeof(*st));
	st->st_ino = f->ino;
	st->st_mode = S_IRUSR | S_IWUSR;
	st->st_nlink = 1;
	st->st_blksize = PAGE_SIZE;
	return 0;
}

int64_t anon_seek(struct k_file *f, int64_t off, int whence)
{
	(void)off, (void)whence;
	return f->pos; /* succeeds and moves nothing */
}

struct k_file *file_get(struct k_file *f)
{
	f->refs++;
	return f;
}

void file_put(struct k_file *f)
{
	if (f && --f->refs == 0) {
		if (f->epitems)
			epoll_file_gone(f);
		locks_release(f);
		if (f->ops && f->ops->release)
			f->ops->release(f);
		path_put(&f->path);
		inode_put(f->inode);
		free(f);
	}
}

struct k_fdtable *fdt_new(void)
{
	struct k_fdtable *fdt = calloc(1, sizeof(*fdt));
	if (fdt)
		fdt->refs = 1;
	return fdt;
}

void fdt_put(struct k_fdtable *fdt)
{
	if (!fdt || --fdt->refs > 0)
		return;
	for (int i = 0; i < fdt->n; i++)
		file_put(fdt->v[i].f);
	free(fdt->v);
	free(fdt);
}

struct k_fdtable *fdt_dup(const struct k_fdtable *fdt)
{
	struct k_fdtable *n = fdt_new();
	if (!n)
		return NULL;
	if (fdt->n) {
		n->v = calloc((size_t)fdt->n, sizeof(*n->v));
		if (!n->v) {
			free(n);
			return NULL;
		}
		n->n = fdt->n;
		for (int i = 0; i < fdt->n; i++) {
			n->v[i] = fdt->v[i];
			if (n->v[i].f)
				file_get(n->v[i].f);
		}
	}
	return n;
}

static uint64_t nofile(struct k_task *t)
{
	return t->tg->rlim[RLIMIT_NOFILE].rlim_cur;
}

/* Makes room for fd; returns 0 or -ENOMEM. */
static int fdt_grow(struct k_fdtable *fdt, int fd)
{
	if (fd < fdt->n)
		return 0;
	int n = fdt->n ? fdt->n : 16;
	while (n <= fd)
		n *= 2;
	struct k_fdent *v = realloc(fdt->v, (size_t)n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (int i = fdt->n; i < n; i++)
		v[i] = (struct k_fdent){NULL, false};
	fdt->v = v;
	fdt->n = n;
	return 0;
}

int fdt_set(struct k_fdtable *fdt, int fd, struct k_file *f, bool cloexec)
{
	if (fd < 0)
		return -EBADF;
	int err = fdt_grow(fdt, fd);
	if (err)
		return err;
	struct k_file *old = fdt->v[fd].f;
	fdt->v[fd] = (struct k_fdent){file_get(f), cloexec};
	file_put(old);
	return 0;
}

int fdt_install(struct k_task *t, struct k_file *f, int min, bool cloexec)
{
	struct k_fdtable *fdt = t->fdt;
	uint64_t lim = nofile(t);
	int fd = min;
	while (fd < fdt->n && fdt->v[fd].f)
		fd++;
	if ((uint64_t)fd >= lim)
		return -EMFILE;
	int err = fdt_grow(fdt, fd);
	if (err)
		return err;
	fdt->v[fd] = (struct k_fdent){file_get(f), cloexec};
	return fd;
}

/* Puts f at exactly fd, closing what was there (dup2 semantics). */
int fdt_install_at(struct k_task *t, struct k_file *f, int fd, bool cloexec)
{
	if (fd < 0 || (uint64_t)fd >= nofile(t))
		return -EBADF;
	int err = fdt_grow(t->fdt, fd);
	if (err)
		return err;
	struct k_file *old = t->fdt->v[fd].f;
	t->fdt->v[fd] = (struct k_fdent){file_get(f), cloexec};
	file_put(old);
	return fd;
}

struct k_file *fdt_get_raw(struct k_task *t, int fd)
{
	if (fd < 0 || fd >= t->fdt->n || !t->fdt->v[fd].f)
		return NULL;
	return file_get(t->fdt->v[fd].f);
}

struct k_file *fdt_get(struct k_task *t, int fd)
{
	/* O_PATH descriptors name a place; most calls refuse them (EBADF). */
	if (fd < 0 || fd >= t->fdt->n || !t->fdt->v[fd].f || (t->fdt->v[fd].f->flags & O_PATH))
		return NULL;
	return file_get(t->fdt->v[fd].f);
}

int fdt_close(struct k_task *t, int fd)
{
	if (fd < 0 || fd >= t->fdt->n || !t->fdt->v[fd].f)
		return -EBADF;
	struct k_file *f = t->fdt->v[fd].f;
	t->fdt->v[fd] = (struct k_fdent){NULL, false};
	locks_close(t, f);
	file_put(f);
	return 0;
}

ssize_t k_file_pread(struct k_file *f, void *buf, size_t n, int64_t off)
{
	if (!f->ops->read)
		return -EINVAL;
	struct iovec v = {buf, n};
	return f->ops->read(f, &v, 1, &off);
}

ssize_t k_file_pwrite(struct k_file *f, const void *buf, size_t n, int64_t off)
{
	if (!f->ops->write)
		return -EINVAL;
	struct iovec v = {(void *)buf, n};
	return f->ops->write(f, &v, 1, &off);
}
