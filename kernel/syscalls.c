/* The syscall table and dispatch.  A number with no entry returns ENOSYS,
 * is counted, and is logged once. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/syscall.h>

#include "sentry.h"

/* strace letters: d int, u unsigned, x hex, p pointer, f fd, s string,
 * b buffer in (length: next argument), B buffer out (length: the result),
 * o octal, P mmap prot, M mmap flags, c clock, S signal, R rlimit resource,
 * A arch_prctl code, I ioctl request, t timespec in, v iovec in (count:
 * next argument), V iovec out. */
#define E(nr, name, args) [SYS_##nr] = {#name, sys_##name, args, 'd'}
#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#define EX(nr, name, args) [SYS_##nr] = {#name, sys_##name, args, 'x'}

static const struct k_syscall table[] = {
	E(read, read, "fBu"),
	E(write, write, "fbu"),
	E(close, close, "f"),
	E(fstat, fstat, "fp"),
	E(lseek, lseek, "fdd"),
	EX(mmap, mmap, "xuPMfx"),
	E(mprotect, mprotect, "xuP"),
	E(munmap, munmap, "xu"),
	EX(brk, brk, "x"),
	E(rt_sigaction, rt_sigaction, "Sppu"),
	E(rt_sigprocmask, rt_sigprocmask, "dppu"),
	E(rt_sigreturn, rt_sigreturn, ""),
	E(ioctl, ioctl, "fIx"),
	E(pread64, pread64, "fBud"),
	E(pwrite64, pwrite64, "fbud"),
	E(readv, readv, "fVd"),
	E(writev, writev, "fvd"),
	E(sched_yield, sched_yield, ""),
	EX(mremap, mremap, "xuuxx"),
	E(madvise, madvise, "xud"),
	E(dup, dup, "f"),
	E(dup2, dup2, "ff"),
	E(nanosleep, nanosleep, "tp"),
	E(getpid, getpid, ""),
	E(clone, clone, "xpppx"),
	E(fork, fork, ""),
	E(vfork, vfork, ""),
	E(exit, exit, "d"),
	E(wait4, wait4, "dpxp"),
	E(kill, kill, "dS"),
	E(uname, uname, "p"),
	E(fcntl, fcntl, "fdx"),
	E(getcwd, getcwd, "pu"),
	E(gettimeofday, gettimeofday, "pp"),
	E(getrlimit, getrlimit, "Rp"),
	E(sysinfo, sysinfo, "p"),
	E(getuid, getuid, ""),
	E(getgid, getgid, ""),
	E(geteuid, geteuid, ""),
	E(getegid, getegid, ""),
	E(getppid, getppid, ""),
	E(getpgrp, getpgrp, ""),
	E(getgroups, getgroups, "dp"),
	E(getresuid, getresuid, "ppp"),
	E(getresgid, getresgid, "ppp"),
	E(getpgid, getpgid, "d"),
	E(getsid, getsid, "d"),
	E(setpgid, setpgid, "dd"),
	E(setsid, setsid, ""),
	E(waitid, waitid, "ddpxp"),
	E(clone3, clone3, "pu"),
	E(timer_create, timer_create, "cpp"),
	E(timer_settime, timer_settime, "ddpp"),
	E(timer_gettime, timer_gettime, "dp"),
	E(timer_getoverrun, timer_getoverrun, "d"),
	E(timer_delete, timer_delete, "d"),
	E(signalfd, signalfd, "dpu"),
	E(signalfd4, signalfd4, "dpux"),
	E(capget, capget, "pp"),
	E(capset, capset, "pp"),
	E(semget, semget, "xdo"),
	E(semop, semop, "dpu"),
	E(semtimedop, semtimedop, "dpup"),
	E(semctl, semctl, "dddx"),
	E(shmget, shmget, "xuo"),
	E(shmat, shmat, "dxx"),
	E(shmdt, shmdt, "x"),
	E(shmctl, shmctl, "ddp"),
	E(socket, socket, "ddd"),
	E(socketpair, socketpair, "dddp"),
	E(sendto, sendto, "fbudpu"),
	E(recvfrom, recvfrom, "fBudpp"),
	E(sendmsg, sendmsg, "fpd"),
	E(recvmsg, recvmsg, "fpd"),
	E(shutdown, shutdown, "fd"),
	E(getsockname, getsockname, "fpp"),
	E(getpeername, getpeername, "fpp"),
	E(getsockopt, getsockopt, "fddpp"),
	E(setsockopt, setsockopt, "fddpd"),
	E(epoll_create, epoll_create, "d"),
	E(epoll_create1, epoll_create1, "x"),
	E(epoll_ctl, epoll_ctl, "ddfp"),
	E(epoll_wait, epoll_wait, "fpdd"),
	E(epoll_pwait, epoll_pwait, "fpddpu"),
	E(epoll_pwait2, epoll_pwait2, "fpdppu"),
	E(rt_sigpending, rt_sigpending, "pu"),
	E(sigaltstack, sigaltstack, "pp"),
	E(umask, umask, "o"),
	E(setrlimit, setrlimit, "Rp"),
	E(prctl, prctl, "dxxxx"),
	E(arch_prctl, arch_prctl, "Ax"),
	E(gettid, gettid, ""),
	E(tkill, tkill, "dS"),
	E(time, time, "p"),
	E(sched_setaffinity, sched_setaffinity, "dup"),
	E(sched_getaffinity, sched_getaffinity, "dup"),
	E(set_tid_address, set_tid_address, "p"),
	E(restart_syscall, restart_syscall, ""),
	E(clock_gettime, clock_gettime, "cp"),
	E(clock_getres, clock_getres, "cp"),
	E(clock_nanosleep, clock_nanosleep, "cdtp"),
	E(exit_group, exit_group, "d"),
	E(tgkill, tgkill, "ddS"),
	E(newfstatat, newfstatat, "fspx"),
	E(set_robust_list, set_robust_list, "pu"),
	E(get_robust_list, get_robust_list, "dpp"),
	E(dup3, dup3, "ffx"),
	E(preadv, preadv, "fVdd"),
	E(pwritev, pwritev, "fvdd"),
	E(prlimit64, prlimit64, "dRpp"),
	E(getrandom, getrandom, "Bux"),
	E(rseq, rseq, "puxx"),
	E(open, open, "sxo"),
	E(openat, openat, "fsxo"),
	E(openat2, openat2, "fspu"),
	E(creat, creat, "so"),
	E(close_range, close_range, "uux"),
	E(stat, stat, "sp"),
	E(lstat, lstat, "sp"),
	E(statx, statx, "fsxxp"),
	E(statfs, statfs, "sp"),
	E(fstatfs, fstatfs, "fp"),
	E(readlink, readlink, "spu"),
	E(readlinkat, readlinkat, "fspu"),
	E(access, access, "so"),
	E(faccessat, faccessat, "fso"),
	E(faccessat2, faccessat2, "fsox"),
	E(getdents64, getdents64, "fpu"),
	E(mkdir, mkdir, "so"),
	E(mkdirat, mkdirat, "fso"),
	E(mknod, mknod, "sox"),
	E(mknodat, mknodat, "fsox"),
	E(rmdir, rmdir, "s"),
	E(unlink, unlink, "s"),
	E(unlinkat, unlinkat, "fsx"),
	E(rename, rename, "ss"),
	E(renameat, renameat, "fsfs"),
	E(renameat2, renameat2, "fsfsx"),
	E(link, link, "ss"),
	E(linkat, linkat, "fsfsx"),
	E(symlink, symlink, "ss"),
	E(symlinkat, symlinkat, "sfs"),
	E(chmod, chmod, "so"),
	E(fchmod, fchmod, "fo"),
	E(fchmodat, fchmodat, "fso"),
	E(chown, chown, "sdd"),
	E(fchown, fchown, "fdd"),
	E(lchown, lchown, "sdd"),
	E(fchownat, fchownat, "fsddx"),
	E(utimensat, utimensat, "fspx"),
	E(truncate, truncate, "sd"),
	E(ftruncate, ftruncate, "fd"),
	E(fallocate, fallocate, "fxdd"),
	E(fsync, fsync, "f"),
	E(fdatasync, fdatasync, "f"),
	E(syncfs, syncfs, "f"),
	E(sync, sync, ""),
	E(fadvise64, fadvise64, "fddd"),
	E(readahead, readahead, "fdu"),
	E(chdir, chdir, "s"),
	E(fchdir, fchdir, "f"),
	E(chroot, chroot, "s"),
	E(preadv2, preadv2, "fVddx"),
	E(pwritev2, pwritev2, "fvddx"),
	E(getdents, getdents, "fpu"),
	E(futex, futex, "pdxpxx"),
	E(getcpu, getcpu, "ppp"),
	E(utimes, utimes, "sp"),
	E(futimesat, futimesat, "fsp"),
	E(utime, utime, "sp"),
	E(sync_file_range, sync_file_range, "fddx"),
	E(msync, msync, "xux"),
	E(fchmodat2, fchmodat2, "fsox"),
	E(setgroups, setgroups, "dp"),
	E(setuid, setuid, "d"),
	E(setgid, setgid, "d"),
	E(setreuid, setreuid, "dd"),
	E(setregid, setregid, "dd"),
	E(setresuid, setresuid, "ddd"),
	E(setresgid, setresgid, "ddd"),
	E(setfsuid, setfsuid, "d"),
	E(setfsgid, setfsgid, "d"),
	E(memfd_create, memfd_create, "sx"),
	E(sendfile, sendfile, "ffpu"),
	E(copy_file_range, copy_file_range, "fpfpux"),
	E(pipe, pipe, "p"),
	E(pipe2, pipe2, "px"),
	E(flock, flock, "fx"),
	E(mincore, mincore, "xup"),
	E(execve, execve, "spp"),
	E(execveat, execveat, "fsppx"),
	E(setitimer, setitimer, "dpp"),
	E(getitimer, getitimer, "dp"),
	E(alarm, alarm, "u"),
	E(pause, pause, ""),
	E(rt_sigsuspend, rt_sigsuspend, "pu"),
	E(rt_sigtimedwait, rt_sigtimedwait, "pppu"),
	E(rt_sigqueueinfo, rt_sigqueueinfo, "ddp"),
	E(rt_tgsigqueueinfo, rt_tgsigqueueinfo, "dddp"),
	E(getrusage, getrusage, "dp"),
	E(eventfd, eventfd, "u"),
	E(eventfd2, eventfd2, "ux"),
	E(timerfd_create, timerfd_create, "dx"),
	E(timerfd_settime, timerfd_settime, "fxpp"),
	E(timerfd_gettime, timerfd_gettime, "fp"),
	E(poll, poll, "pud"),
	E(ppoll, ppoll, "pupp"),
	E(select, select, "dpppp"),
	E(pselect6, pselect6, "dppppp"),
	E(times, times, "p"),
	E(sched_get_priority_max, sched_get_priority_max, "d"),
	E(sched_get_priority_min, sched_get_priority_min, "d"),
	E(sched_getscheduler, sched_getscheduler, "d"),
	E(sched_getparam, sched_getparam, "dp"),
	E(sched_setscheduler, sched_setscheduler, "ddp"),
	E(sched_setparam, sched_setparam, "dp"),
	E(sched_rr_get_interval, sched_rr_get_interval, "dp"),
	E(getpriority, getpriority, "dd"),
	E(setpriority, setpriority, "ddd"),
	E(getxattr, getxattr, "sspu"),
	E(lgetxattr, lgetxattr, "sspu"),
	E(fgetxattr, fgetxattr, "fspu"),
	E(listxattr, listxattr, "spu"),
	E(llistxattr, llistxattr, "spu"),
	E(flistxattr, flistxattr, "fpu"),
	E(setxattr, setxattr, "sspux"),
	E(lsetxattr, lsetxattr, "sspux"),
	E(fsetxattr, fsetxattr, "fspux"),
	E(removexattr, removexattr, "ss"),
	E(lremovexattr, lremovexattr, "ss"),
	E(fremovexattr, fremovexattr, "fs"),
};

const struct k_syscall *k_syscall_lookup(long nr)
{
	if (nr < 0 || (size_t)nr >= ARRAY_LEN(table) || !table[nr].fn)
		return NULL;
	return &table[nr];
}

long k_dispatch(struct k_task *t, long nr)
{
	const struct k_syscall *sc = k_syscall_lookup(nr);
	bool strace = t->k->cfg.strace;
	if (!sc) {
		struct k_kernel *k = t->k;
		k->enosys_count++;
		if (nr >= 0 && nr < 512) {
			uint64_t bit = 1ULL << (nr % 64);
			if (!(k->enosys_seen[nr / 64] & bit)) {
				k->enosys_seen[nr / 64] |= bit;
				const char *name = k_syscall_name(nr);
				k_log(k, "unsupported syscall %ld (%s)", nr, name ? name : "unknown");
			}
		}
		if (strace)
			strace_unknown(t, nr);
		return -ENOSYS;
	}
	const uint64_t a[6] = {t->regs.rdi, t->regs.rsi, t->regs.rdx,
			       t->regs.r10, t->regs.r8, t->regs.r9};
	if (strace)
		strace_enter(t, nr, sc);
	long ret = sc->fn(t, a);
	/* The sentry's "would block" never reaches the guest: a path that
	 * forgot to wait on it says EAGAIN. */
	if (ret == -K_EBLOCK)
		ret = -EAGAIN;
	if (strace)
		strace_exit(t, nr, sc, ret);
	return ret;
}
