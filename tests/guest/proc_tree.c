/* proc_tree.c - process trees: fork, vfork, posix_spawn, raw clone and
 * clone3, exec of this program (/proc/self/exe) and of /bin/true; reaping
 * with wait4/waitpid (by pid, -1, -pgid, WNOHANG) and waitid (P_PID,
 * P_ALL, P_PGID, WNOWAIT, the siginfo fields); children killed by
 * signals; ECHILD (no children, a child of another, an orphaned
 * grandchild, SIGCHLD ignored, a clone child without __WALL); getppid;
 * setpgid/getpgid/setsid/getsid and their errors; waitpid(0); memory and
 * open files shared or copied by fork.
 *
 * Under husk this program is pid 1 of its sandbox, a group and session
 * leader; natively it is none of those.  So main() never calls setsid,
 * never signals its own group, and, since an orphan is reparented to pid 1
 * under husk, the orphan check comes last and main() never waits for -1
 * after it. */
#include "guest.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#define NO_PID 0x3ffffff0L /* above any pid_max: never a process */

extern char **environ;

struct k_clone_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
	uint64_t set_tid;
	uint64_t set_tid_size;
	uint64_t cgroup;
};
#define K_CLONE_PARENT_SETTID 0x00100000UL
#define K_CLONE_CHILD_SETTID 0x01000000UL

static void show_status(const char *label, int st)
{
	if (WIFEXITED(st))
		printf("%s: exited %d\n", label, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by signal %d%s\n", label, WTERMSIG(st),
		       WCOREDUMP(st) ? " (core)" : "");
	else if (WIFSTOPPED(st))
		printf("%s: stopped by signal %d\n", label, WSTOPSIG(st));
	else if (WIFCONTINUED(st))
		printf("%s: continued\n", label);
	else
		printf("%s: status 0x%x\n", label, st);
}

static const char *code_name(int c)
{
	switch (c) {
	case CLD_EXITED: return "CLD_EXITED";
	case CLD_KILLED: return "CLD_KILLED";
	case CLD_DUMPED: return "CLD_DUMPED";
	case CLD_STOPPED: return "CLD_STOPPED";
	case CLD_CONTINUED: return "CLD_CONTINUED";
	case CLD_TRAPPED: return "CLD_TRAPPED";
	case 0: return "0";
	default: return "other";
	}
}

static void show_info(const char *label, const siginfo_t *si, pid_t want)
{
	printf("%s: signo %d code %s status %d pid matches %s uid matches %s\n", label,
	       si->si_signo, code_name(si->si_code), si->si_status,
	       si->si_pid == want ? "yes" : "no", si->si_uid == getuid() ? "yes" : "no");
}

/* A child that exits at once with code. */
static pid_t spawn_exit(int code)
{
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0)
		_exit(code);
	return p;
}

/* A child that blocks reading fd (the read end of a pipe whose write end
 * the parent holds) and exits with code once it reads EOF or a byte. */
static pid_t spawn_blocked(int rfd, int wfd, int code)
{
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		char c;
		close(wfd);
		while (read(rfd, &c, 1) < 0 && errno == EINTR)
			;
		_exit(code);
	}
	return p;
}

static void mkpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe2");
}

static int wait_code(pid_t pid)
{
	int st = 0;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

/* ---- child modes, reached by exec of /proc/self/exe ----------------- */

static int exec_child(int argc, char **argv)
{
	/* argv[2]: the fd to report on; argv[3]: the expected parent pid. */
	printf("exec child: argc %d, argv[1] %s, argv[3] is ppid %s\n", argc, argv[1],
	       argc > 3 && atol(argv[3]) == (long)getppid() ? "yes" : "no");
	if (argc > 2) {
		int fd = atoi(argv[2]);
		char c = 'x';
		if (write(fd, &c, 1) != 1)
			return 98;
		/* Wait until the parent has tried setpgid on us. */
		if (read(fd + 1, &c, 1) != 1)
			return 97;
	}
	return 33;
}

/* ---- sections ------------------------------------------------------- */

static void no_children(void)
{
	int st;
	siginfo_t si;
	CHECK("wait4(-1) without children", wait4(-1, &st, 0, NULL));
	CHECK("waitpid(-1, WNOHANG) without children", waitpid(-1, &st, WNOHANG));
	CHECK("waitid(P_ALL) without children", waitid(P_ALL, 0, &si, WEXITED));
	CHECK("waitpid of a pid that is no child", waitpid((pid_t)NO_PID, &st, 0));
	CHECK("wait4 bad options", syscall(SYS_wait4, -1L, &st, 0x1000L, NULL));
	CHECK("waitid without WEXITED/WSTOPPED/WCONTINUED", waitid(P_ALL, 0, &si, 0));
	CHECK("waitid bad idtype", syscall(SYS_waitid, 42L, 0L, &si, (long)WEXITED, NULL));
}

static void reap_in_order(void)
{
	static const int codes[] = {0, 1, 7, 42, 255, 256 + 3};
	pid_t pids[6];
	for (int i = 0; i < 6; i++)
		pids[i] = spawn_exit(codes[i]);
	/* Reap from the last to the first: order of exit does not matter. */
	for (int i = 5; i >= 0; i--) {
		int st = 0;
		pid_t r = i % 2 ? waitpid(pids[i], &st, 0) : wait4(pids[i], &st, 0, NULL);
		char label[64];
		snprintf(label, sizeof label, "child %d (exit %d)", i, codes[i]);
		if (r != pids[i])
			printf("%s: wait returned the wrong pid (%s)\n", label, errname(errno));
		show_status(label, st);
	}
	int st;
	CHECK("reaped twice", waitpid(pids[0], &st, 0));
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void reap_any(void)
{
	pid_t pids[5];
	int got[5], found = 0;
	for (int i = 0; i < 5; i++)
		pids[i] = spawn_exit(20 + i);
	for (int i = 0; i < 5; i++) {
		int st = 0;
		pid_t r = i % 2 ? wait(&st) : waitpid(-1, &st, 0);
		for (int j = 0; j < 5; j++)
			if (r == pids[j]) {
				found++;
				pids[j] = -2; /* each one once */
			}
		got[i] = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	qsort(got, 5, sizeof got[0], cmp_int);
	printf("wait(-1) x5: every pid one of ours once: %s, codes %d %d %d %d %d\n",
	       found == 5 ? "yes" : "no", got[0], got[1], got[2], got[3], got[4]);
	int st;
	CHECK("wait(-1) after all reaped", wait(&st));

	/* rusage from wait4: only that it is filled in. */
	pid_t p = spawn_exit(0);
	struct rusage ru;
	memset(&ru, 0xff, sizeof ru);
	pid_t r = wait4(p, &st, 0, &ru);
	EXPECT("wait4 with rusage returns the pid", r == p);
	EXPECT("rusage maxrss plausible", ru.ru_maxrss >= 0 && ru.ru_utime.tv_usec >= 0 &&
					  ru.ru_utime.tv_usec < 1000000);
}

static void nohang(void)
{
	int p[2];
	mkpipe(p);
	pid_t c = spawn_blocked(p[0], p[1], 4);
	int st = 12345;
	CHECK("WNOHANG while the child runs", waitpid(c, &st, WNOHANG));
	CHECK("WNOHANG on -1 while the child runs", waitpid(-1, &st, WNOHANG));
	siginfo_t si;
	memset(&si, 0x55, sizeof si);
	CHECK("waitid WNOHANG while the child runs", waitid(P_PID, c, &si, WEXITED | WNOHANG));
	printf("  waitid left si_signo %d si_pid %d si_code %d si_status %d\n", si.si_signo,
	       (int)si.si_pid, si.si_code, si.si_status);
	close(p[1]);
	close(p[0]);
	/* Wait until it is a zombie without reaping it. */
	memset(&si, 0, sizeof si);
	CHECK("waitid WNOWAIT until it exits", waitid(P_PID, c, &si, WEXITED | WNOWAIT));
	show_info("  waitid WNOWAIT", &si, c);
	st = 0;
	pid_t r = waitpid(c, &st, WNOHANG);
	EXPECT("WNOHANG after exit returns the pid", r == c);
	show_status("  its status", st);
	CHECK("WNOHANG after reaping", waitpid(c, &st, WNOHANG));
}

static void with_waitid(void)
{
	siginfo_t si;
	pid_t c = spawn_exit(3);
	memset(&si, 0, sizeof si);
	CHECK("waitid P_PID WNOWAIT", waitid(P_PID, c, &si, WEXITED | WNOWAIT));
	show_info("  first look", &si, c);
	memset(&si, 0, sizeof si);
	CHECK("waitid P_PID WNOWAIT again", waitid(P_PID, c, &si, WEXITED | WNOWAIT));
	show_info("  second look", &si, c);
	int st = 0;
	pid_t r = waitpid(c, &st, 0);
	EXPECT("waitpid still reaps it after WNOWAIT", r == c);
	show_status("  status", st);
	CHECK("waitid P_PID after reaping", waitid(P_PID, c, &si, WEXITED));

	c = spawn_exit(5);
	memset(&si, 0, sizeof si);
	CHECK("waitid P_ALL", waitid(P_ALL, 0, &si, WEXITED));
	show_info("  P_ALL", &si, c);

	/* P_PGID: two children in a group of their own, one outside it. */
	int p[2];
	mkpipe(p);
	pid_t a = spawn_blocked(p[0], p[1], 6);
	pid_t b = spawn_blocked(p[0], p[1], 7);
	pid_t o = spawn_blocked(p[0], p[1], 8);
	CHECK("setpgid(a, a)", setpgid(a, a));
	CHECK("setpgid(b, a)", setpgid(b, a));
	EXPECT("getpgid(b) == a", getpgid(b) == a);
	EXPECT("getpgid(o) == our group", getpgid(o) == getpgid(0));
	close(p[1]);
	close(p[0]);
	int codes[2] = {0, 0}, ok = 1;
	for (int i = 0; i < 2; i++) {
		memset(&si, 0, sizeof si);
		if (waitid(P_PGID, a, &si, WEXITED) != 0 || (si.si_pid != a && si.si_pid != b))
			ok = 0;
		codes[i] = si.si_status;
	}
	qsort(codes, 2, sizeof codes[0], cmp_int);
	printf("waitid P_PGID twice: ok %s, codes %d %d\n", ok ? "yes" : "no", codes[0], codes[1]);
	CHECK("waitid P_PGID with the group empty", waitid(P_PGID, a, &si, WEXITED));
	printf("outside child: exit %d\n", wait_code(o));

	/* waitpid(-pgid) the same way. */
	mkpipe(p);
	a = spawn_blocked(p[0], p[1], 9);
	b = spawn_blocked(p[0], p[1], 10);
	setpgid(a, a);
	setpgid(b, a);
	close(p[1]);
	close(p[0]);
	int n = 0, sum = 0;
	for (;;) {
		st = 0;
		r = waitpid(-a, &st, 0);
		if (r < 0)
			break;
		n++;
		sum += WEXITSTATUS(st);
	}
	printf("waitpid(-pgid): %d reaped, codes sum %d, then %s\n", n, sum, errname(errno));
}

static void killed(void)
{
	int p[2];
	static const int sigs[] = {SIGKILL, SIGTERM, SIGUSR1, SIGHUP};
	for (int i = 0; i < 4; i++) {
		mkpipe(p);
		pid_t c = spawn_blocked(p[0], p[1], 0);
		char label[64];
		snprintf(label, sizeof label, "kill(child, %d)", sigs[i]);
		CHECK(label, kill(c, sigs[i]));
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (i % 2) {
			CHECK("  waitid", waitid(P_PID, c, &si, WEXITED | WNOWAIT));
			show_info("  info", &si, c);
		}
		int st = 0;
		pid_t r = waitpid(c, &st, 0);
		EXPECT("  waitpid returns the pid", r == c);
		printf("  WIFEXITED %d WIFSIGNALED %d WTERMSIG %d\n", WIFEXITED(st) ? 1 : 0,
		       WIFSIGNALED(st) ? 1 : 0, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		close(p[0]);
		close(p[1]);
	}
}

static void ignored_sigterm(void)
{
	int go[2], ready[2];
	mkpipe(go);
	mkpipe(ready);
	pid_t c = fork();
	if (c == 0) {
		char ch;
		signal(SIGTERM, SIG_IGN);
		close(go[1]);
		close(ready[0]);
		write(ready[1], "r", 1);
		ssize_t n = read(go[0], &ch, 1);
		_exit(n == 1 ? 11 : 12);
	}
	close(go[0]);
	close(ready[1]);
	char ch;
	read(ready[0], &ch, 1);
	CHECK("kill(child ignoring SIGTERM, SIGTERM)", kill(c, SIGTERM));
	CHECK("kill(child, 0)", kill(c, 0));
	write(go[1], "g", 1);
	int st = 0;
	waitpid(c, &st, 0);
	show_status("  it lives on", st);
	close(go[1]);
	close(ready[0]);
}

static void parents(void)
{
	pid_t me = getpid();
	pid_t c = fork();
	if (c == 0)
		_exit(getppid() == me ? 1 : 2);
	printf("getppid in a child is our pid: %s\n", wait_code(c) == 1 ? "yes" : "no");

	/* Two levels: the grandchild's parent is the child. */
	c = fork();
	if (c == 0) {
		pid_t mid = getpid();
		pid_t g = fork();
		if (g == 0)
			_exit(getppid() == mid ? 1 : 2);
		_exit(wait_code(g) == 1 && getppid() == me ? 1 : 2);
	}
	printf("getppid two levels down: %s\n", wait_code(c) == 1 ? "yes" : "no");
}

static void groups_sessions(void)
{
	pid_t mysid = getsid(0);
	pid_t mypg = getpgid(0);
	EXPECT("getpgid(0) == getpgid(getpid())", getpgid(getpid()) == mypg);
	EXPECT("getsid(0) == getsid(getpid())", getsid(getpid()) == mysid);
	EXPECT("getpgrp() == getpgid(0)", getpgrp() == mypg);
	CHECK("getpgid(no such pid)", getpgid((pid_t)NO_PID));
	CHECK("getsid(no such pid)", getsid((pid_t)NO_PID));
	CHECK("setpgid(no such pid, 0)", setpgid((pid_t)NO_PID, 0));
	CHECK("setpgid(0, -1)", syscall(SYS_setpgid, 0L, -1L));
	CHECK("setpgid(-1, 0)", syscall(SYS_setpgid, -1L, 0L));

	/* A child: inherits group and session, makes its own group, then
	 * may not setsid as a group leader. */
	pid_t c = fork();
	if (c == 0) {
		int bits = 0;
		if (getpgid(0) == mypg)
			bits |= 1;
		if (getsid(0) == mysid)
			bits |= 2;
		if (setpgid(0, 0) == 0 && getpgid(0) == getpid())
			bits |= 4;
		if (setsid() == -1 && errno == EPERM)
			bits |= 8;
		if (getsid(0) == mysid)
			bits |= 16;
		/* Back into the parent's group: same session, allowed. */
		if (setpgid(0, mypg) == 0 && getpgid(0) == mypg)
			bits |= 32;
		/* A group that does not exist in the session. */
		if (setpgid(0, (pid_t)NO_PID) == -1 && errno == EPERM)
			bits |= 64;
		_exit(bits);
	}
	int bits = wait_code(c);
	printf("child: inherits group %s, session %s, setpgid(0,0) leads %s, "
	       "setsid as leader EPERM %s, session kept %s, back to parent group %s, "
	       "setpgid to missing group EPERM %s\n",
	       bits & 1 ? "yes" : "no", bits & 2 ? "yes" : "no", bits & 4 ? "yes" : "no",
	       bits & 8 ? "yes" : "no", bits & 16 ? "yes" : "no", bits & 32 ? "yes" : "no",
	       bits & 64 ? "yes" : "no");

	/* A child that is not a group leader may setsid. */
	int go[2], ready[2];
	mkpipe(go);
	mkpipe(ready);
	c = fork();
	if (c == 0) {
		int b = 0;
		pid_t s = setsid();
		if (s == getpid())
			b |= 1;
		if (getsid(0) == getpid() && getpgid(0) == getpid())
			b |= 2;
		if (setpgid(0, 0) == -1 && errno == EPERM)
			b |= 4;
		if (setsid() == -1 && errno == EPERM)
			b |= 8;
		/* The session of a process may be read by anyone. */
		if (getsid(getppid()) == mysid)
			b |= 16;
		close(ready[0]);
		close(go[1]);
		write(ready[1], "r", 1);
		char ch;
		read(go[0], &ch, 1);
		_exit(b);
	}
	close(ready[1]);
	close(go[0]);
	char ch;
	read(ready[0], &ch, 1);
	EXPECT("parent sees the child's new session", getsid(c) == c);
	EXPECT("parent sees the child's new group", getpgid(c) == c);
	CHECK("setpgid(child in another session, child)", setpgid(c, c));
	CHECK("setpgid(child in another session, our group)", setpgid(c, mypg));
	write(go[1], "g", 1);
	bits = wait_code(c);
	printf("setsid child: returns its pid %s, leads session and group %s, "
	       "setpgid after EPERM %s, setsid again EPERM %s, getsid(parent) %s\n",
	       bits & 1 ? "yes" : "no", bits & 2 ? "yes" : "no", bits & 4 ? "yes" : "no",
	       bits & 8 ? "yes" : "no", bits & 16 ? "yes" : "no");
	close(ready[0]);
	close(go[1]);

	/* Joining a group of another session from our session: EPERM. */
	mkpipe(go);
	mkpipe(ready);
	pid_t s = fork();
	if (s == 0) {
		setsid();
		close(ready[0]);
		close(go[1]);
		write(ready[1], "r", 1);
		read(go[0], &ch, 1);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	read(ready[0], &ch, 1);
	int q[2];
	mkpipe(q);
	pid_t m = spawn_blocked(q[0], q[1], 0);
	CHECK("setpgid(our child, group of another session)", setpgid(m, s));
	CHECK("setpgid(our child, itself)", setpgid(m, m));
	CHECK("setpgid(our child, its group again)", setpgid(m, m));
	CHECK("setpgid(our child, 0)", setpgid(m, 0));
	close(q[1]);
	close(q[0]);
	write(go[1], "g", 1);
	close(go[1]);
	close(ready[0]);
	wait_code(s);
	wait_code(m);
}

static volatile int vfork_flag;

static void with_vfork(void)
{
	vfork_flag = 0;
	pid_t c = vfork();
	if (c == 0) {
		vfork_flag = 42; /* shared memory until _exit */
		_exit(5);
	}
	printf("vfork: parent sees the child's write: %s\n", vfork_flag == 42 ? "yes" : "no");
	printf("vfork+_exit: exit %d\n", wait_code(c));

	static char *targs[] = {"true", NULL};
	c = vfork();
	if (c == 0) {
		execve("/bin/true", targs, environ);
		_exit(127);
	}
	printf("vfork+execve /bin/true: exit %d\n", wait_code(c));

	c = vfork();
	if (c == 0) {
		execve("/nonexistent/true", targs, environ);
		_exit(errno == ENOENT ? 126 : 125);
	}
	printf("vfork+execve missing file: exit %d\n", wait_code(c));

	pid_t sp = 0;
	static char *fargs[] = {"false", NULL};
	int r = posix_spawn(&sp, "/bin/false", NULL, NULL, fargs, environ);
	printf("posix_spawn /bin/false: %s, exit %d\n", errname(r), r == 0 ? wait_code(sp) : -1);
	r = posix_spawn(&sp, "/bin/true", NULL, NULL, targs, environ);
	printf("posix_spawn /bin/true: %s, exit %d\n", errname(r), r == 0 ? wait_code(sp) : -1);
}

static void with_exec(void)
{
	int up[2], down[2];
	/* Not close-on-exec: the new image reports through them. */
	if (pipe(up) != 0 || pipe(down) != 0)
		die("pipe");
	/* Make down[0] == up[1] + 1 so one fd number tells the child both. */
	int wfd = 50, rfd = 51;
	dup2(up[1], wfd);
	dup2(down[0], rfd);
	close(up[1]);
	close(down[0]);
	char fdarg[16], ppidarg[24];
	snprintf(fdarg, sizeof fdarg, "%d", wfd);
	snprintf(ppidarg, sizeof ppidarg, "%ld", (long)getpid());
	pid_t c = fork();
	if (c == 0) {
		char *args[] = {"proc_tree", "exec-child", fdarg, ppidarg, NULL};
		close(up[0]);
		close(down[1]);
		execve("/proc/self/exe", args, environ);
		_exit(127);
	}
	close(wfd);
	close(rfd);
	char ch;
	ssize_t n = read(up[0], &ch, 1);
	printf("exec child reported: %s\n", n == 1 ? "yes" : "no");
	CHECK("setpgid(child after execve, child)", setpgid(c, c));
	write(down[1], "g", 1);
	printf("exec child exit %d\n", wait_code(c));
	close(up[0]);
	close(down[1]);

	/* Exec of /proc/self/exe with no fds: just the argument. */
	c = fork();
	if (c == 0) {
		char *args[] = {"proc_tree", "exec-child", NULL};
		execve("/proc/self/exe", args, environ);
		_exit(127);
	}
	printf("plain exec child exit %d\n", wait_code(c));
}

static void raw_clone(void)
{
	/* fork-like clone: CLONE_PARENT_SETTID and CLONE_CHILD_SETTID. */
	static volatile pid_t ptid, ctid;
	ptid = 0;
	ctid = 0;
	long r = syscall(SYS_clone, (long)(K_CLONE_PARENT_SETTID | K_CLONE_CHILD_SETTID | SIGCHLD),
			 0L, &ptid, &ctid, 0L);
	if (r == 0)
		_exit(ctid == (pid_t)syscall(SYS_gettid) ? 1 : 2);
	printf("clone SETTID: parent tid word is the pid %s, child tid word set %s, "
	       "not in our copy %s\n",
	       ptid == (pid_t)r ? "yes" : "no", wait_code((pid_t)r) == 1 ? "yes" : "no",
	       ctid == 0 ? "yes" : "no");

	/* clone with exit signal 0: only __WALL/__WCLONE waits see it. */
	int p[2];
	mkpipe(p);
	r = syscall(SYS_clone, 0L, 0L, NULL, NULL, 0L);
	if (r == 0) {
		char c;
		close(p[1]);
		read(p[0], &c, 1);
		_exit(17);
	}
	int st = 0;
	CHECK("waitpid(clone child, WNOHANG) without __WALL", waitpid((pid_t)r, &st, WNOHANG));
	CHECK("waitpid(clone child, WNOHANG|__WCLONE)", waitpid((pid_t)r, &st, WNOHANG | __WCLONE));
	close(p[1]);
	close(p[0]);
	st = 0;
	EXPECT("waitpid(clone child, __WALL) reaps it", waitpid((pid_t)r, &st, __WALL) == r);
	show_status("  status", st);

	/* clone3 as fork. */
	struct k_clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.exit_signal = SIGCHLD;
	ca.flags = K_CLONE_PARENT_SETTID;
	ptid = 0;
	ca.parent_tid = (uint64_t)(uintptr_t)&ptid;
	r = syscall(SYS_clone3, &ca, (long)sizeof ca);
	if (r == 0)
		_exit(getppid() > 0 ? 3 : 4);
	if (r < 0) {
		printf("clone3: %s\n", errname(errno));
	} else {
		printf("clone3: parent tid word %s, exit %d\n", ptid == (pid_t)r ? "yes" : "no",
		       wait_code((pid_t)r));
	}
	CHECK("clone3 size 8", syscall(SYS_clone3, &ca, 8L));
	ca.exit_signal = 65;
	CHECK("clone3 exit_signal 65", syscall(SYS_clone3, &ca, (long)sizeof ca));
}

static void sigchld_ignored(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGCHLD, &sa, &old);
	int p[2];
	mkpipe(p);
	pid_t c = spawn_blocked(p[0], p[1], 3);
	close(p[0]);
	close(p[1]);
	int st;
	/* Blocks until the child is gone, then finds no child to report. */
	CHECK("SIGCHLD ignored: waitpid(child)", waitpid(c, &st, 0));
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, NULL);
	c = spawn_exit(4);
	CHECK("SA_NOCLDWAIT: waitpid(child)", waitpid(c, &st, 0));
	sigaction(SIGCHLD, &old, NULL);
	c = spawn_exit(5);
	printf("default again: exit %d\n", wait_code(c));
}

static int cow_value = 1;

static void fork_state(void)
{
	/* waitpid(0): only children in our own process group. */
	int p[2];
	mkpipe(p);
	pid_t in = spawn_blocked(p[0], p[1], 12);
	pid_t out = spawn_blocked(p[0], p[1], 13);
	setpgid(out, out);
	close(p[1]);
	close(p[0]);
	int st = 0;
	pid_t r = waitpid(0, &st, 0);
	printf("waitpid(0) reaps the child in our group: %s, exit %d\n", r == in ? "yes" : "no",
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	/* The other one is a zombie by now, or soon: wait for it by pid. */
	siginfo_t si;
	waitid(P_PID, out, &si, WEXITED | WNOWAIT);
	CHECK("waitpid(0, WNOHANG) with only another group's child", waitpid(0, &st, WNOHANG));
	printf("that child: exit %d\n", wait_code(out));

	/* Memory: private pages are copied, shared ones are shared. */
	cow_value = 2;
	volatile int *shared = (volatile int *)raw_mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
							 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if ((void *)shared == MAP_FAILED)
		die("mmap shared");
	shared[0] = 10;
	pid_t c = fork();
	if (c == 0) {
		int ok = cow_value == 2 && shared[0] == 10;
		cow_value = 3;
		shared[0] = 11;
		_exit(ok ? 0 : 1);
	}
	int code = wait_code(c);
	printf("fork memory: child saw ours %s, its private write stays there %s, "
	       "its shared write reaches us %s\n",
	       code == 0 ? "yes" : "no", cow_value == 2 ? "yes" : "no", shared[0] == 11 ? "yes" : "no");
	munmap((void *)shared, PAGE);

	/* Descriptors: the open file (and its offset) is shared, the table
	 * is not. */
	char path[64];
	snprintf(path, sizeof path, "/tmp/husk-proc_tree.%ld", (long)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("open tmp file");
	unlink(path);
	write(fd, "0123456789", 10);
	lseek(fd, 2, SEEK_SET);
	c = fork();
	if (c == 0) {
		char b[3];
		ssize_t n = read(fd, b, 3); /* moves the shared offset to 5 */
		close(fd);                  /* closes only the child's descriptor */
		_exit(n == 3 && b[0] == '2' ? 0 : 1);
	}
	code = wait_code(c);
	printf("fork fds: child read at our offset %s, offset now %ld, our fd still open %s\n",
	       code == 0 ? "yes" : "no", (long)lseek(fd, 0, SEEK_CUR),
	       fcntl(fd, F_GETFD) >= 0 ? "yes" : "no");
	close(fd);
}

/* Last: the orphan may be reparented to us (pid 1 under husk). */
static void orphan(void)
{
	int p[2], info[2];
	mkpipe(p);
	mkpipe(info);
	pid_t c = fork();
	if (c == 0) {
		pid_t g = fork();
		if (g == 0) {
			pid_t gg = fork();
			if (gg == 0) {
				char ch;
				close(p[1]);
				read(p[0], &ch, 1); /* until the grandparent lets go */
				_exit(0);
			}
			write(info[1], &gg, sizeof gg);
			_exit(6);
		}
		pid_t gg = 0;
		int bits = 0;
		read(info[0], &gg, sizeof gg);
		if (wait_code(g) == 6)
			bits |= 1;
		int st;
		/* gg is alive (it waits for p[1], which we hold) but not ours. */
		if (waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD)
			bits |= 2;
		if (waitpid(gg, &st, WNOHANG) == -1 && errno == ECHILD)
			bits |= 4;
		if (kill(gg, 0) == 0)
			bits |= 8;
		if (setpgid(gg, gg) == -1 && errno == ESRCH)
			bits |= 16;
		close(p[1]);
		_exit(bits);
	}
	close(p[0]);
	close(p[1]);
	close(info[0]);
	close(info[1]);
	int bits = wait_code(c);
	printf("orphan: middle child exit 6 %s, grandparent waits -1 ECHILD %s, "
	       "waits for it ECHILD %s, it is alive %s, setpgid on it ESRCH %s\n",
	       bits & 1 ? "yes" : "no", bits & 2 ? "yes" : "no", bits & 4 ? "yes" : "no",
	       bits & 8 ? "yes" : "no", bits & 16 ? "yes" : "no");
}

int main(int argc, char **argv)
{
	GUEST_INIT();
	if (argc > 1 && strcmp(argv[1], "exec-child") == 0)
		return exec_child(argc, argv);
	signal(SIGCHLD, SIG_DFL);

	no_children();
	reap_in_order();
	reap_any();
	nohang();
	with_waitid();
	killed();
	ignored_sigterm();
	parents();
	groups_sessions();
	with_vfork();
	with_exec();
	raw_clone();
	sigchld_ignored();
	fork_state();
	orphan();
	printf("done\n");
	return 0;
}
