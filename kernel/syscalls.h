/* Every syscall handler, by subsystem.  Included by sentry.h. */
#ifndef HUSK_KERNEL_SYSCALLS_H
#define HUSK_KERNEL_SYSCALLS_H

/* fs/ */
SYSCALL(read); SYSCALL(write); SYSCALL(readv); SYSCALL(writev);
SYSCALL(pread64); SYSCALL(pwrite64); SYSCALL(preadv); SYSCALL(pwritev);
SYSCALL(lseek); SYSCALL(close); SYSCALL(dup); SYSCALL(dup2); SYSCALL(dup3);
SYSCALL(fcntl); SYSCALL(fstat); SYSCALL(newfstatat); SYSCALL(ioctl);
/* mm/ */
SYSCALL(mmap); SYSCALL(munmap); SYSCALL(mprotect); SYSCALL(mremap);
SYSCALL(madvise); SYSCALL(brk);
/* task/ */
SYSCALL(getpid); SYSCALL(gettid); SYSCALL(getppid); SYSCALL(getuid);
SYSCALL(geteuid); SYSCALL(getgid); SYSCALL(getegid); SYSCALL(getpgrp);
SYSCALL(getpgid); SYSCALL(getsid); SYSCALL(getresuid); SYSCALL(getresgid);
SYSCALL(getgroups); SYSCALL(exit); SYSCALL(exit_group); SYSCALL(set_tid_address);
SYSCALL(set_robust_list); SYSCALL(get_robust_list); SYSCALL(arch_prctl);
SYSCALL(prctl); SYSCALL(rseq);
/* signal/ */
SYSCALL(rt_sigaction); SYSCALL(rt_sigprocmask); SYSCALL(rt_sigpending);
SYSCALL(sigaltstack); SYSCALL(rt_sigreturn); SYSCALL(kill); SYSCALL(tgkill);
SYSCALL(tkill);
/* time/ */
SYSCALL(clock_gettime); SYSCALL(clock_getres); SYSCALL(gettimeofday);
SYSCALL(time); SYSCALL(nanosleep); SYSCALL(clock_nanosleep);
SYSCALL(restart_syscall);
/* sys/ */
SYSCALL(uname); SYSCALL(getrlimit); SYSCALL(setrlimit); SYSCALL(prlimit64);
SYSCALL(sysinfo); SYSCALL(getrandom); SYSCALL(getcwd); SYSCALL(umask);
SYSCALL(sched_yield); SYSCALL(sched_getaffinity); SYSCALL(sched_setaffinity);

#endif
