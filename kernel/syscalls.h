/* Every syscall handler, by subsystem.  Included by sentry.h. */
#ifndef HUSK_KERNEL_SYSCALLS_H
#define HUSK_KERNEL_SYSCALLS_H

/* fs/ */
SYSCALL(read); SYSCALL(write); SYSCALL(readv); SYSCALL(writev);
SYSCALL(pread64); SYSCALL(pwrite64); SYSCALL(preadv); SYSCALL(pwritev);
SYSCALL(preadv2); SYSCALL(pwritev2); SYSCALL(getdents);
SYSCALL(lseek); SYSCALL(close); SYSCALL(dup); SYSCALL(dup2); SYSCALL(dup3);
SYSCALL(fcntl); SYSCALL(fstat); SYSCALL(newfstatat); SYSCALL(ioctl);
SYSCALL(epoll_create); SYSCALL(epoll_create1); SYSCALL(epoll_ctl); SYSCALL(epoll_wait);
SYSCALL(epoll_pwait); SYSCALL(epoll_pwait2);
/* ipc/ */
SYSCALL(shmget); SYSCALL(shmat); SYSCALL(shmdt); SYSCALL(shmctl); SYSCALL(semget);
SYSCALL(semop); SYSCALL(semtimedop); SYSCALL(semctl);
/* net/ */
SYSCALL(socket); SYSCALL(socketpair); SYSCALL(sendto); SYSCALL(recvfrom); SYSCALL(sendmsg);
SYSCALL(recvmsg); SYSCALL(shutdown); SYSCALL(getsockname); SYSCALL(getpeername);
SYSCALL(getsockopt); SYSCALL(setsockopt); SYSCALL(bind); SYSCALL(listen); SYSCALL(accept);
SYSCALL(accept4); SYSCALL(connect); SYSCALL(sendmmsg); SYSCALL(recvmmsg);
/* vfs/ */
SYSCALL(open); SYSCALL(openat); SYSCALL(openat2); SYSCALL(creat); SYSCALL(close_range);
SYSCALL(stat); SYSCALL(lstat); SYSCALL(statx); SYSCALL(statfs); SYSCALL(fstatfs);
SYSCALL(readlink); SYSCALL(readlinkat); SYSCALL(access); SYSCALL(faccessat);
SYSCALL(faccessat2); SYSCALL(getdents64); SYSCALL(mkdir); SYSCALL(mkdirat);
SYSCALL(mknod); SYSCALL(mknodat); SYSCALL(rmdir); SYSCALL(unlink); SYSCALL(unlinkat);
SYSCALL(rename); SYSCALL(renameat); SYSCALL(renameat2); SYSCALL(link); SYSCALL(linkat);
SYSCALL(symlink); SYSCALL(symlinkat); SYSCALL(chmod); SYSCALL(fchmod); SYSCALL(fchmodat);
SYSCALL(chown); SYSCALL(fchown); SYSCALL(lchown); SYSCALL(fchownat); SYSCALL(utimensat);
SYSCALL(truncate); SYSCALL(ftruncate); SYSCALL(fallocate); SYSCALL(fsync);
SYSCALL(fdatasync); SYSCALL(syncfs); SYSCALL(sync); SYSCALL(fadvise64); SYSCALL(readahead);
SYSCALL(chdir); SYSCALL(fchdir); SYSCALL(chroot);
SYSCALL(utimes); SYSCALL(futimesat); SYSCALL(utime); SYSCALL(fchmodat2);
SYSCALL(sync_file_range); SYSCALL(msync);
SYSCALL(setgroups); SYSCALL(setuid); SYSCALL(setgid); SYSCALL(setreuid); SYSCALL(setregid);
SYSCALL(setresuid); SYSCALL(setresgid); SYSCALL(setfsuid); SYSCALL(setfsgid);
SYSCALL(memfd_create); SYSCALL(sendfile); SYSCALL(copy_file_range);
SYSCALL(pipe); SYSCALL(pipe2); SYSCALL(flock); SYSCALL(mincore);
SYSCALL(execve); SYSCALL(execveat);
SYSCALL(setitimer); SYSCALL(getitimer); SYSCALL(alarm); SYSCALL(pause);
SYSCALL(rt_sigsuspend); SYSCALL(rt_sigtimedwait); SYSCALL(rt_sigqueueinfo);
SYSCALL(rt_tgsigqueueinfo); SYSCALL(getrusage); SYSCALL(times);
SYSCALL(eventfd); SYSCALL(eventfd2);
SYSCALL(timerfd_create); SYSCALL(timerfd_settime); SYSCALL(timerfd_gettime);
SYSCALL(poll); SYSCALL(ppoll); SYSCALL(select); SYSCALL(pselect6);
SYSCALL(sched_get_priority_max); SYSCALL(sched_get_priority_min); SYSCALL(sched_getscheduler);
SYSCALL(sched_getparam); SYSCALL(sched_setscheduler); SYSCALL(sched_setparam);
SYSCALL(sched_rr_get_interval); SYSCALL(getpriority); SYSCALL(setpriority);
SYSCALL(getxattr); SYSCALL(lgetxattr); SYSCALL(fgetxattr); SYSCALL(listxattr);
SYSCALL(llistxattr); SYSCALL(flistxattr); SYSCALL(setxattr); SYSCALL(lsetxattr);
SYSCALL(fsetxattr); SYSCALL(removexattr); SYSCALL(lremovexattr); SYSCALL(fremovexattr);
/* mm/ */
SYSCALL(mmap); SYSCALL(munmap); SYSCALL(mprotect); SYSCALL(mremap);
SYSCALL(madvise); SYSCALL(brk);
/* task/ */
SYSCALL(getpid); SYSCALL(gettid); SYSCALL(getppid); SYSCALL(getuid);
SYSCALL(geteuid); SYSCALL(getgid); SYSCALL(getegid); SYSCALL(getpgrp);
SYSCALL(getpgid); SYSCALL(getsid); SYSCALL(getresuid); SYSCALL(getresgid);
SYSCALL(getgroups); SYSCALL(exit); SYSCALL(exit_group); SYSCALL(set_tid_address);
SYSCALL(set_robust_list); SYSCALL(get_robust_list); SYSCALL(arch_prctl);
SYSCALL(prctl); SYSCALL(rseq); SYSCALL(futex); SYSCALL(setpgid); SYSCALL(setsid);
SYSCALL(clone); SYSCALL(clone3); SYSCALL(fork); SYSCALL(vfork); SYSCALL(wait4);
SYSCALL(waitid); SYSCALL(capget); SYSCALL(capset);
/* signal/ */
SYSCALL(rt_sigaction); SYSCALL(rt_sigprocmask); SYSCALL(rt_sigpending);
SYSCALL(sigaltstack); SYSCALL(rt_sigreturn); SYSCALL(kill); SYSCALL(tgkill);
SYSCALL(tkill); SYSCALL(signalfd); SYSCALL(signalfd4); SYSCALL(timer_create);
SYSCALL(timer_settime); SYSCALL(timer_gettime); SYSCALL(timer_getoverrun); SYSCALL(timer_delete);
/* time/ */
SYSCALL(clock_gettime); SYSCALL(clock_getres); SYSCALL(gettimeofday);
SYSCALL(time); SYSCALL(nanosleep); SYSCALL(clock_nanosleep);
SYSCALL(restart_syscall);
/* sys/ */
SYSCALL(uname); SYSCALL(getrlimit); SYSCALL(setrlimit); SYSCALL(prlimit64);
SYSCALL(sysinfo); SYSCALL(getrandom); SYSCALL(getcwd); SYSCALL(umask);
SYSCALL(sched_yield); SYSCALL(sched_getaffinity); SYSCALL(sched_setaffinity);
SYSCALL(getcpu);

#endif
