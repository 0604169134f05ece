/* System information and limits: uname, rlimits, sysinfo, getrandom,
 * getcwd and umask. */
#define _GNU_SOURCE
#include <limits.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>

#include "../sentry.h"

SYSCALL(uname)
{
	struct utsname u;
	memset(&u, 0, sizeof(u));
	strcpy(u.sysname, "Linux");
	strncpy(u.nodename, t->k->cfg.hostname ? t->k->cfg.hostname : "husk",
		sizeof(u.nodename) - 1);
	strcpy(u.release, K_UTS_RELEASE);
	strcpy(u.version, K_UTS_VERSION);
	strcpy(u.machine, "x86_64");
	strcpy(u.domainname, "(none)");
	return k_copy_out(t, a[0], &u, sizeof(u));
}

static bool may_raise(struct k_task *t)
{
	return t->tg->euid == 0;
}

static long do_prlimit(struct k_task *t, unsigned res, const struct rlimit *nl,
		       struct rlimit *old)
{
	if (res >= RLIM_NLIMITS)
		return -EINVAL;
	struct rlimit *cur = &t->tg->rlim[res];
	if (nl) {
		if (nl->rlim_cur > nl->rlim_max)
			return -EINVAL;
		if (nl->rlim_max > cur->rlim_max && !may_raise(t))
			return -EPERM;
		/* Linux caps open files at fs.nr_open. */
		if (res == RLIMIT_NOFILE && nl->rlim_max > 1048576)
			return -EPERM;
	}
	if (old)
		*old = *cur;
	if (nl)
		*cur = *nl;
	return 0;
}

SYSCALL(getrlimit)
{
	struct rlimit old;
	long r = do_prlimit(t, (unsigned)a[0], NULL, &old);
	if (r == 0)
		r = k_copy_out(t, a[1], &old, sizeof(old));
	return r;
}

SYSCALL(setrlimit)
{
	struct rlimit nl;
	if (k_copy_in(t, &nl, a[1], sizeof(nl)))
		return -EFAULT;
	return do_prlimit(t, (unsigned)a[0], &nl, NULL);
}

SYSCALL(prlimit64)
{
	int pid = (int)a[0];
	struct rlimit nl, old;
	if (a[2] && k_copy_in(t, &nl, a[2], sizeof(nl)))
		return -EFAULT;
	if (pid != 0 && pid != t->tg->pid)
		return -ESRCH;
	if ((unsigned)a[1] >= RLIM_NLIMITS)
		return -EINVAL;
	long r = do_prlimit(t, (unsigned)a[1], a[2] ? &nl : NULL, &old);
	if (r == 0 && a[3])
		r = k_copy_out(t, a[3], &old, sizeof(old));
	return r;
}

SYSCALL(sysinfo)
{
	struct sysinfo host, si;
	if (sysinfo(&host) != 0)
		return -errno;
	memset(&si, 0, sizeof(si));
	struct timespec now;
	k_clock_guest_ts(CLOCK_MONOTONIC, &now);
	/* Uptime and load are the sandbox's; memory is what the host offers. */
	si.uptime = (long)(((uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec -
			    t->k->boot_ns) / 1000000000ull);
	si.totalram = host.totalram;
	si.freeram = host.freeram;
	si.sharedram = 0;
	si.bufferram = 0;
	si.totalswap = 0;
	si.freeswap = 0;
	si.procs = 1;
	si.mem_unit = host.mem_unit;
	return k_copy_out(t, a[0], &si, sizeof(si));
}

SYSCALL(getrandom)
{
	uint64_t buf = a[0];
	size_t len = a[1];
	unsigned flags = (unsigned)a[2];
	if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
	if ((flags & GRND_INSECURE) && (flags & GRND_RANDOM))
		return -EINVAL;
	if (len > (INT_MAX & PAGE_MASK)) /* Linux's MAX_RW_COUNT */
		len = INT_MAX & PAGE_MASK;
	if (len == 0)
		return 0;
	/* Straight into guest memory, up to the first byte it cannot write:
	 * a short count then, as Linux's copy_to_iter gives. */
	size_t done = 0;
	while (done < len) {
		struct iovec iov[16];
		int n;
		size_t ok = k_guest_iov(t->mm, buf + done, len - done, true, iov, 16, &n);
		if (ok == 0)
			return done ? (long)done : -EFAULT;
		for (int i = 0; i < n; i++) {
			size_t at = 0;
			while (at < iov[i].iov_len) {
				ssize_t got = getrandom((char *)iov[i].iov_base + at,
							iov[i].iov_len - at, flags & GRND_NONBLOCK);
				if (got < 0)
					return done ? (long)done : -errno;
				at += (size_t)got;
				done += (size_t)got;
			}
		}
	}
	return (long)done;
}
