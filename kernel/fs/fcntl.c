/* dup, dup2, dup3 and fcntl on the fd table and file status flags. */
#define _GNU_SOURCE
#include <fcntl.h>

#include "../sentry.h"

/* The status flags F_SETFL may change, as in Linux's SETFL_MASK. */
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)

SYSCALL(dup)
{
	struct k_file *f = fdt_get_raw(t, (int)a[0]);
	if (!f)
		return -EBADF;
	int r = fdt_install(t, f, 0, false);
	file_put(f);
	return r;
}

static long do_dup3(struct k_task *t, int oldfd, int newfd, int flags)
{
	if (flags & ~O_CLOEXEC)
		return -EINVAL;
	if (oldfd == newfd)
		return -EINVAL;
	struct k_file *f = fdt_get_raw(t, oldfd);
	if (!f)
		return -EBADF;
	int r = fdt_install_at(t, f, newfd, flags & O_CLOEXEC);
	file_put(f);
	return r;
}

SYSCALL(dup2)
{
	int oldfd = (int)a[0], newfd = (int)a[1];
	if (oldfd == newfd) {
		struct k_file *f = fdt_get_raw(t, oldfd);
		if (!f)
			return -EBADF;
		file_put(f);
		return newfd;
	}
	return do_dup3(t, oldfd, newfd, 0);
}

SYSCALL(dup3) { return do_dup3(t, (int)a[0], (int)a[1], (int)a[2]); }

SYSCALL(fcntl)
{
	int fd = (int)a[0], cmd = (int)a[1];
	uint64_t arg = a[2];
	struct k_file *f = fdt_get_raw(t, fd);
	if (!f)
		return -EBADF;
	long r;
	/* An O_PATH descriptor allows only these (Linux's check_fcntl_cmd). */
	if ((f->flags & O_PATH) && cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC && cmd != F_GETFD &&
	    cmd != F_SETFD && cmd != F_GETFL) {
		file_put(f);
		return -EBADF;
	}
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		/* Linux reads the argument as an unsigned int here. */
		if ((uint32_t)arg >= t->tg->rlim[RLIMIT_NOFILE].rlim_cur)
			r = -EINVAL;
		else
			r = fdt_install(t, f, (int)arg, cmd == F_DUPFD_CLOEXEC);
		break;
	case F_GETFD:
		r = t->fdt->v[fd].cloexec ? FD_CLOEXEC : 0;
		break;
	case F_SETFD:
		t->fdt->v[fd].cloexec = arg & FD_CLOEXEC;
		r = 0;
		break;
	case F_GETFL:
		r = f->flags;
		break;
	case F_SETFL:
		f->flags = (f->flags & ~SETFL_MASK) | ((int)arg & SETFL_MASK);
		r = 0;
		break;
	case F_ADD_SEALS:
	case F_GET_SEALS:
		r = file_seals(t, f, cmd, (unsigned)arg);
		break;
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		r = file_lock(t, f, cmd, arg);
		break;
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ:
		r = file_is_pipe(f) ? pipe_size(f, cmd, arg) : -EBADF;
		break;
	case F_GETOWN:
		r = f->owner;
		break;
	case F_SETOWN:
		f->owner = (int)arg;
		r = 0;
		break;
	case F_GETSIG:
		r = f->sig;
		break;
	case F_SETSIG:
		if (arg > K_NSIG)
			r = -EINVAL;
		else
			f->sig = (int)arg, r = 0;
		break;
	case F_GETLEASE:
		r = F_UNLCK;
		break;
	case F_SETLEASE:
		/* No other process can conflict: a lease is always granted,
		 * and F_UNLCK removes nothing. */
		r = arg == F_RDLCK || arg == F_WRLCK || arg == F_UNLCK ? 0 : -EINVAL;
		break;
	default:
		r = -EINVAL;
		break;
	}
	file_put(f);
	return r;
}
