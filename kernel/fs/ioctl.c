/* ioctl: the commands every file has (FIOCLEX, FIONCLEX, FIONBIO,
 * FIOASYNC) are done here, the rest by the file's own ioctl op. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ioctl.h>

#include "../sentry.h"

SYSCALL(ioctl)
{
	int fd = (int)a[0];
	unsigned cmd = (unsigned)a[1];
	struct k_file *f = fdt_get(t, fd);
	if (!f)
		return -EBADF;
	long r = 0;
	int on;
	switch (cmd) {
	case FIOCLEX:
		t->fdt->v[fd].cloexec = true;
		break;
	case FIONCLEX:
		t->fdt->v[fd].cloexec = false;
		break;
	case FIONBIO:
	case FIOASYNC:
		r = k_copy_in(t, &on, a[2], sizeof(on));
		if (r == 0) {
			int bit = cmd == FIONBIO ? O_NONBLOCK : O_ASYNC;
			f->flags = on ? f->flags | bit : f->flags & ~bit;
		}
		break;
	case FIONREAD:
		if (f->inode && S_ISREG(f->inode->mode)) {
			/* i_size - f_pos, negative past the end, as Linux. */
			int n = (int)((int64_t)f->inode->size - f->pos);
			r = k_copy_out(t, a[2], &n, sizeof(n));
			break;
		}
		r = f->ops->ioctl ? f->ops->ioctl(t, f, cmd, a[2]) : -ENOTTY;
		break;
	default:
		r = f->ops->ioctl ? f->ops->ioctl(t, f, cmd, a[2]) : -ENOTTY;
		break;
	}
	file_put(f);
	return r;
}
