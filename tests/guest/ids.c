/* ids.c - process and credential ids: relations only, never raw values. */
#include "guest.h"

int main(void)
{
	GUEST_INIT();
	long pid = syscall(SYS_getpid);
	long tid = syscall(SYS_gettid);
	long ppid = syscall(SYS_getppid);

	EXPECT("getpid > 0", pid > 0);
	EXPECT("getpid == getpid", pid == syscall(SYS_getpid));
	EXPECT("libc getpid == raw getpid", (long)getpid() == pid);
	EXPECT("gettid > 0", tid > 0);
	EXPECT("gettid == getpid (single thread)", tid == pid);
	EXPECT("getppid >= 0", ppid >= 0);
	EXPECT("getppid != getpid", ppid != pid);
	EXPECT("getppid stable", ppid == syscall(SYS_getppid));

	long uid = syscall(SYS_getuid), euid = syscall(SYS_geteuid);
	long gid = syscall(SYS_getgid), egid = syscall(SYS_getegid);
	EXPECT("getuid >= 0", uid >= 0);
	EXPECT("getgid >= 0", gid >= 0);
	EXPECT("getuid == geteuid", uid == euid);
	EXPECT("getgid == getegid", gid == egid);
	EXPECT("libc getuid == raw", (long)getuid() == uid);
	EXPECT("libc getegid == raw", (long)getegid() == egid);
	/* The syscalls take no arguments; junk in argument registers is ignored. */
	EXPECT("getpid ignores args", syscall(SYS_getpid, 1L, 2L, 3L) == pid);
	return 0;
}
