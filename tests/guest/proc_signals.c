/* proc_signals.c - signals between processes: kill() to a child waiting
 * in sigsuspend or pause (siginfo of the sender); SIGCHLD with SA_SIGINFO
 * for exit, kill, stop and continue; SIGSTOP/SIGCONT seen by waitpid
 * (WUNTRACED, WCONTINUED) and waitid, signals held while stopped (a fatal
 * one too, until SIGCONT; SIGKILL not); a blocking pipe read interrupted (EINTR
 * without SA_RESTART, restarted with it); kill(0) and kill(-pgid) to a
 * process group; kill errors (ESRCH, EINVAL, a zombie); SIGPIPE/EPIPE
 * after the reader process exited; the signal mask and dispositions
 * inherited across fork, pending signals not.
 *
 * Under husk this program is pid 1, which the kernel shields from signals
 * it has no handler for; so main() keeps SIGPIPE ignored and never
 * signals its own group.  Whenever the parent cannot know that a child
 * is already blocked, it repeats the signal until the child answers. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>

#define NO_PID 0x3ffffff0L

static void mkpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe2");
}

static void closep(int p[2])
{
	close(p[0]);
	close(p[1]);
}

/* Reads one line (up to '\n') from fd and prints it; "(eof)" if none. */
static void relay_line(int fd)
{
	char buf[256];
	size_t n = 0;
	while (n < sizeof buf - 1) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = 0;
	if (n == 0)
		printf("(eof)\n");
	else
		printf("%s%s", buf, buf[n - 1] == '\n' ? "" : "\n");
}

static void wait_byte(int fd)
{
	char c;
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static void show_status(const char *label, int st)
{
	if (WIFEXITED(st))
		printf("%s: exited %d\n", label, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by signal %d\n", label, WTERMSIG(st));
	else if (WIFSTOPPED(st))
		printf("%s: stopped by signal %d\n", label, WSTOPSIG(st));
	else if (WIFCONTINUED(st))
		printf("%s: continued\n", label);
	else
		printf("%s: status 0x%x\n", label, st);
}

static void reap(const char *label, pid_t c)
{
	int st = 0;
	if (waitpid(c, &st, 0) != c)
		printf("%s: waitpid %s\n", label, errname(errno));
	else
		show_status(label, st);
}

static void set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	if (sigaction(sig, &sa, NULL) != 0)
		die("sigaction");
}

static void set_action(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = flags | SA_SIGINFO;
	if (sigaction(sig, &sa, NULL) != 0)
		die("sigaction");
}

static void block(int sig, int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(how, &s, NULL);
}

/* Sends sig to pid until fd becomes readable (the child's answer). */
static void signal_until_answer(pid_t pid, int sig, int fd)
{
	for (int i = 0; i < 1000; i++) {
		kill(pid, sig);
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 20) > 0)
			return;
	}
}

static const char *code_name(int c)
{
	switch (c) {
	case SI_USER: return "SI_USER";
	case SI_TKILL: return "SI_TKILL";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_KERNEL: return "SI_KERNEL";
	case CLD_EXITED: return "CLD_EXITED";
	case CLD_KILLED: return "CLD_KILLED";
	case CLD_DUMPED: return "CLD_DUMPED";
	case CLD_STOPPED: return "CLD_STOPPED";
	case CLD_CONTINUED: return "CLD_CONTINUED";
	default: return "other";
	}
}

/* ---- a child receives a signal from its parent ---------------------- */

static volatile int got_sig, got_code, got_pid_ok, got_uid_ok;
static volatile int hits;

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	got_pid_ok = si->si_pid == getppid();
	got_uid_ok = si->si_uid == getuid();
}

static void on_hit(int sig)
{
	(void)sig;
	hits++;
}

static void child_receives(void)
{
	int ready[2], rep[2];
	mkpipe(ready);
	mkpipe(rep);
	pid_t c = fork();
	if (c == 0) {
		block(SIGUSR1, SIG_BLOCK);
		set_action(SIGUSR1, on_info, 0);
		write(ready[1], "r", 1);
		sigset_t empty;
		sigemptyset(&empty);
		int r = 0;
		while (!got_sig)
			r = sigsuspend(&empty);
		dprintf(rep[1], "child: sigsuspend %d %s, signal %d, code %s, from parent %s, uid %s\n",
			r, errname(errno), got_sig, code_name(got_code), got_pid_ok ? "yes" : "no",
			got_uid_ok ? "yes" : "no");
		_exit(0);
	}
	wait_byte(ready[0]);
	CHECK("kill(child in sigsuspend, SIGUSR1)", kill(c, SIGUSR1));
	relay_line(rep[0]);
	reap("  child", c);
	closep(ready);
	closep(rep);

	/* pause(): the signal may come before the child sleeps, so repeat. */
	mkpipe(ready);
	mkpipe(rep);
	c = fork();
	if (c == 0) {
		set_handler(SIGUSR1, on_hit, 0);
		write(ready[1], "r", 1);
		int r = pause();
		dprintf(rep[1], "child: pause %d %s, handler ran %s\n", r, errname(errno),
			hits > 0 ? "yes" : "no");
		_exit(0);
	}
	wait_byte(ready[0]);
	signal_until_answer(c, SIGUSR1, rep[0]);
	relay_line(rep[0]);
	reap("  child", c);
	closep(ready);
	closep(rep);

	/* sigqueue: the value travels with the signal. */
	mkpipe(ready);
	mkpipe(rep);
	c = fork();
	if (c == 0) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGRTMIN + 1);
		sigprocmask(SIG_BLOCK, &s, NULL);
		write(ready[1], "r", 1);
		siginfo_t si;
		int sig = sigwaitinfo(&s, &si);
		dprintf(rep[1], "child: sigwaitinfo SIGRTMIN+%d, code %s, value %d, from parent %s\n",
			sig - SIGRTMIN, code_name(si.si_code), si.si_value.sival_int,
			si.si_pid == getppid() ? "yes" : "no");
		_exit(0);
	}
	wait_byte(ready[0]);
	union sigval v;
	v.sival_int = 321;
	CHECK("sigqueue(child, SIGRTMIN+1, 321)", sigqueue(c, SIGRTMIN + 1, v));
	relay_line(rep[0]);
	reap("  child", c);
	closep(ready);
	closep(rep);
}

/* ---- SIGCHLD -------------------------------------------------------- */

static volatile int chld_count, chld_code, chld_status, chld_pid;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	chld_count++;
	chld_code = si->si_code;
	chld_status = si->si_status;
	chld_pid = si->si_pid;
}

static void await_chld(const char *label, pid_t c)
{
	sigset_t m;
	sigprocmask(SIG_BLOCK, NULL, &m);
	sigdelset(&m, SIGCHLD);
	chld_count = 0;
	while (chld_count == 0)
		sigsuspend(&m);
	printf("%s: SIGCHLD %d, code %s, status %d, from the child %s\n", label, chld_count,
	       code_name(chld_code), chld_status, chld_pid == c ? "yes" : "no");
}

static void flush_sig(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	struct timespec zero = {0, 0};
	while (sigtimedwait(&s, NULL, &zero) > 0)
		;
}

static void sigchld(void)
{
	block(SIGCHLD, SIG_BLOCK);
	flush_sig(SIGCHLD);
	set_action(SIGCHLD, on_chld, 0);

	pid_t c = fork();
	if (c == 0)
		_exit(5);
	await_chld("child exit(5)", c);
	reap("  reaped", c);

	int p[2];
	mkpipe(p);
	c = fork();
	if (c == 0) {
		char ch;
		close(p[1]);
		read(p[0], &ch, 1);
		_exit(0);
	}
	kill(c, SIGKILL);
	await_chld("child SIGKILL", c);
	reap("  reaped", c);
	closep(p);

	/* Stop and continue notify too (no SA_NOCLDSTOP). */
	mkpipe(p);
	c = fork();
	if (c == 0) {
		char ch;
		close(p[1]);
		read(p[0], &ch, 1);
		_exit(6);
	}
	kill(c, SIGSTOP);
	await_chld("child SIGSTOP", c);
	int st = 0;
	EXPECT("  waitpid WUNTRACED", waitpid(c, &st, WUNTRACED) == c);
	show_status("  status", st);
	kill(c, SIGCONT);
	await_chld("child SIGCONT", c);
	st = 0;
	EXPECT("  waitpid WCONTINUED", waitpid(c, &st, WCONTINUED) == c);
	show_status("  status", st);
	closep(p);
	await_chld("child exit(6)", c);
	reap("  reaped", c);

	/* SA_NOCLDSTOP: a stop sends nothing; the exit still does. */
	set_action(SIGCHLD, on_chld, SA_NOCLDSTOP);
	mkpipe(p);
	c = fork();
	if (c == 0) {
		char ch;
		close(p[1]);
		read(p[0], &ch, 1);
		_exit(7);
	}
	kill(c, SIGSTOP);
	st = 0;
	EXPECT("SA_NOCLDSTOP: waitpid WUNTRACED", waitpid(c, &st, WUNTRACED) == c);
	show_status("  status", st);
	sigset_t pend;
	sigpending(&pend);
	EXPECT("  SIGCHLD pending after the stop", sigismember(&pend, SIGCHLD));
	kill(c, SIGCONT);
	closep(p);
	await_chld("  child exit(7)", c);
	reap("  reaped", c);

	set_handler(SIGCHLD, SIG_DFL, 0);
	flush_sig(SIGCHLD);
	block(SIGCHLD, SIG_UNBLOCK);
}

/* ---- job control stops ---------------------------------------------- */

static void stop_continue(void)
{
	int p[2], rep[2], ready[2];
	mkpipe(p);
	mkpipe(rep);
	mkpipe(ready);
	pid_t c = fork();
	if (c == 0) {
		char ch;
		set_handler(SIGUSR1, on_hit, SA_RESTART);
		close(p[1]);
		write(ready[1], "r", 1);
		ssize_t n = read(p[0], &ch, 1);
		dprintf(rep[1], "child: read %zd after the stop, SIGUSR1 handled %d time(s)\n", n,
			hits);
		_exit(n == 1 ? 9 : 10);
	}
	wait_byte(ready[0]); /* its handler is in place */
	closep(ready);
	int st = 0;
	CHECK("kill(child, SIGSTOP)", kill(c, SIGSTOP));
	EXPECT("waitpid WUNTRACED returns it", waitpid(c, &st, WUNTRACED) == c);
	printf("  WIFSTOPPED %d WSTOPSIG %d\n", WIFSTOPPED(st) ? 1 : 0, WIFSTOPPED(st) ? WSTOPSIG(st) : 0);
	CHECK("waitpid WUNTRACED|WNOHANG again (reported once)", waitpid(c, &st, WUNTRACED | WNOHANG));
	CHECK("waitpid without WUNTRACED, WNOHANG", waitpid(c, &st, WNOHANG));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	CHECK("waitid WSTOPPED|WNOHANG after it was reported",
	      waitid(P_PID, c, &si, WSTOPPED | WNOHANG));
	printf("  si_pid is zero %s\n", si.si_pid == 0 ? "yes" : "no");
	/* A stopped child keeps a caught signal pending. */
	CHECK("kill(stopped child, SIGUSR1)", kill(c, SIGUSR1));
	CHECK("kill(stopped child, SIGCONT)", kill(c, SIGCONT));
	st = 0;
	EXPECT("waitpid WCONTINUED returns it", waitpid(c, &st, WCONTINUED) == c);
	printf("  WIFCONTINUED %d\n", WIFCONTINUED(st) ? 1 : 0);
	CHECK("waitpid WCONTINUED|WNOHANG again", waitpid(c, &st, WCONTINUED | WNOHANG));
	write(p[1], "x", 1);
	relay_line(rep[0]);
	reap("  child", c);
	closep(p);
	closep(rep);

	/* waitid sees stops and continues, and WNOWAIT leaves them. */
	mkpipe(p);
	c = fork();
	if (c == 0) {
		char ch;
		close(p[1]);
		read(p[0], &ch, 1);
		_exit(0);
	}
	kill(c, SIGSTOP);
	memset(&si, 0, sizeof si);
	CHECK("waitid WSTOPPED|WNOWAIT", waitid(P_PID, c, &si, WSTOPPED | WNOWAIT));
	printf("  code %s status %d pid ok %s\n", code_name(si.si_code), si.si_status,
	       si.si_pid == c ? "yes" : "no");
	memset(&si, 0, sizeof si);
	CHECK("waitid WSTOPPED", waitid(P_PID, c, &si, WSTOPPED));
	printf("  code %s status %d\n", code_name(si.si_code), si.si_status);
	kill(c, SIGCONT);
	memset(&si, 0, sizeof si);
	CHECK("waitid WCONTINUED", waitid(P_PID, c, &si, WCONTINUED));
	printf("  code %s status %d\n", code_name(si.si_code), si.si_status);
	closep(p);
	reap("  child", c);

	/* SIGKILL ends a stopped child at once; SIGTERM only after SIGCONT. */
	static const int fatal[] = {SIGKILL, SIGTERM};
	for (int i = 0; i < 2; i++) {
		mkpipe(p);
		c = fork();
		if (c == 0) {
			char ch;
			close(p[1]);
			read(p[0], &ch, 1);
			_exit(0);
		}
		kill(c, SIGSTOP);
		waitpid(c, &st, WUNTRACED);
		char label[64];
		snprintf(label, sizeof label, "stopped child, signal %d", fatal[i]);
		CHECK(label, kill(c, fatal[i]));
		if (fatal[i] != SIGKILL) {
			/* Only SIGKILL acts on a stopped process; the rest wait. */
			CHECK("  still there (WNOHANG)", waitpid(c, &st, WNOHANG));
			CHECK("  kill(child, SIGCONT)", kill(c, SIGCONT));
		}
		reap("  child", c);
		closep(p);
	}

	/* SIGCONT to a running child with a handler: the handler runs. */
	mkpipe(ready);
	mkpipe(rep);
	c = fork();
	if (c == 0) {
		block(SIGCONT, SIG_BLOCK);
		set_handler(SIGCONT, on_hit, 0);
		write(ready[1], "r", 1);
		sigset_t empty;
		sigemptyset(&empty);
		while (!hits)
			sigsuspend(&empty);
		dprintf(rep[1], "child: SIGCONT handler ran %d\n", hits);
		_exit(0);
	}
	wait_byte(ready[0]);
	kill(c, SIGCONT);
	relay_line(rep[0]);
	st = 0;
	waitpid(c, &st, WCONTINUED);
	show_status("  child (no continue reported: it never stopped)", st);
	closep(ready);
	closep(rep);
}

/* ---- interrupted reads ---------------------------------------------- */

static int sigpipe_w = -1;

static void on_usr1_note(int sig)
{
	(void)sig;
	hits++;
	write(sigpipe_w, "h", 1);
}

static void interrupted_reads(void)
{
	int data[2], ready[2], rep[2];
	mkpipe(data);
	mkpipe(ready);
	mkpipe(rep);
	pid_t c = fork();
	if (c == 0) {
		char ch;
		set_handler(SIGUSR1, on_hit, 0);
		close(data[1]);
		write(ready[1], "r", 1);
		ssize_t n = read(data[0], &ch, 1);
		dprintf(rep[1], "child: read on an empty pipe, no SA_RESTART: %zd %s\n", n,
			n < 0 ? errname(errno) : "-");
		_exit(0);
	}
	wait_byte(ready[0]);
	signal_until_answer(c, SIGUSR1, rep[0]);
	relay_line(rep[0]);
	reap("  child", c);
	closep(data);
	closep(ready);
	closep(rep);

	int notes[2];
	mkpipe(data);
	mkpipe(ready);
	mkpipe(rep);
	mkpipe(notes);
	c = fork();
	if (c == 0) {
		char ch = 0;
		sigpipe_w = notes[1];
		set_handler(SIGUSR1, on_usr1_note, SA_RESTART);
		close(data[1]);
		write(ready[1], "r", 1);
		ssize_t n = read(data[0], &ch, 1);
		dprintf(rep[1], "child: read with SA_RESTART: %zd '%c', handler ran %d times\n", n,
			n == 1 ? ch : '?', hits);
		_exit(0);
	}
	wait_byte(ready[0]);
	for (int i = 0; i < 3; i++) {
		kill(c, SIGUSR1);
		wait_byte(notes[0]); /* the handler ran; the read goes on */
	}
	write(data[1], "d", 1);
	relay_line(rep[0]);
	reap("  child", c);
	closep(data);
	closep(ready);
	closep(rep);
	closep(notes);
}

/* ---- process groups ------------------------------------------------- */

static int group_rep = -1;
static char group_letter;

static void on_group(int sig)
{
	char c = sig == SIGUSR1 ? group_letter : (char)(group_letter - 'a' + 'A');
	write(group_rep, &c, 1);
	hits++;
}

static int cmp_char(const void *a, const void *b)
{
	return *(const char *)a - *(const char *)b;
}

static void read_letters(int fd, const char *label)
{
	char buf[4] = {0};
	for (int i = 0; i < 3; i++)
		if (read(fd, &buf[i], 1) != 1)
			buf[i] = '?';
	qsort(buf, 3, 1, cmp_char);
	printf("%s: %s\n", label, buf);
}

/* Each member of the group (handlers for USR1/USR2 and both blocked,
 * inherited from the leader) waits in sigsuspend until it has seen both. */
static void member_wait(char letter)
{
	group_letter = letter;
	sigset_t empty;
	sigemptyset(&empty);
	while (hits < 2)
		sigsuspend(&empty);
}

static void groups(void)
{
	int lready[2], rep[2];
	mkpipe(lready);
	mkpipe(rep);
	group_rep = rep[1];
	sigset_t both;
	sigemptyset(&both);
	sigaddset(&both, SIGUSR1);
	sigaddset(&both, SIGUSR2);
	pid_t leader = fork();
	if (leader == 0) {
		sigprocmask(SIG_BLOCK, &both, NULL);
		set_handler(SIGUSR1, on_group, 0);
		set_handler(SIGUSR2, on_group, 0);
		setpgid(0, 0);
		pid_t m[2];
		for (int i = 0; i < 2; i++) {
			m[i] = fork();
			if (m[i] == 0) {
				member_wait((char)('b' + i));
				_exit(0);
			}
		}
		/* kill(0): the whole group, the sender included. */
		int r = kill(0, SIGUSR1);
		write(lready[1], r == 0 ? "a" : "!", 1);
		member_wait('a');
		int ok = 0;
		for (int i = 0; i < 2; i++) {
			int st;
			if (waitpid(m[i], &st, 0) == m[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
				ok++;
		}
		_exit(ok);
	}
	setpgid(leader, leader); /* as the leader does: no race on the group */
	char ch = 0;
	read(lready[0], &ch, 1);
	printf("leader's kill(0, SIGUSR1): %s\n", ch == 'a' ? "ok" : "failed");
	read_letters(rep[0], "  reached");
	EXPECT("the group is the leader's", getpgid(leader) == leader);
	EXPECT("we are not in it", getpgid(0) != leader);
	CHECK("kill(-leader, SIGUSR2)", kill(-leader, SIGUSR2));
	read_letters(rep[0], "  reached");
	reap("leader (exit = members that exited 0)", leader);
	CHECK("kill(-pgid) of the empty group", kill(-leader, SIGUSR2));
	closep(lready);
	closep(rep);
}

/* ---- errors --------------------------------------------------------- */

static void errors(void)
{
	CHECK("kill(no such pid, SIGUSR1)", kill((pid_t)NO_PID, SIGUSR1));
	CHECK("kill(no such pid, 0)", kill((pid_t)NO_PID, 0));
	CHECK("kill(-no such group, SIGUSR1)", kill((pid_t)-NO_PID, SIGUSR1));
	CHECK("kill(self, 65)", syscall(SYS_kill, (long)getpid(), 65L));
	CHECK("kill(self, -1)", syscall(SYS_kill, (long)getpid(), -1L));
	CHECK("kill(self, 0)", kill(getpid(), 0));
	CHECK("tgkill(no such tid)", syscall(SYS_tgkill, (long)getpid(), NO_PID, 0L));
	CHECK("tkill(no such tid)", syscall(SYS_tkill, NO_PID, (long)SIGUSR1));
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	siginfo_t si;
	waitid(P_PID, c, &si, WEXITED | WNOWAIT); /* a zombie now */
	CHECK("kill(zombie, 0)", kill(c, 0));
	CHECK("kill(zombie, SIGKILL)", kill(c, SIGKILL));
	reap("  zombie", c);
	CHECK("kill(reaped child, 0)", kill(c, 0));
}

/* ---- SIGPIPE -------------------------------------------------------- */

static void on_pipe(int sig)
{
	(void)sig;
	hits++;
}

static void sigpipe(void)
{
	int p[2];
	mkpipe(p);
	pid_t c = fork();
	if (c == 0) {
		char buf[3];
		close(p[1]);
		ssize_t n = read(p[0], buf, 3);
		_exit((int)n);
	}
	close(p[0]);
	CHECK("write to the reader process", write(p[1], "abc", 3));
	reap("  reader", c);
	CHECK("write after the reader exited (SIGPIPE ignored)", write(p[1], "abc", 3));
	close(p[1]);

	/* Default action in a writer child. */
	mkpipe(p);
	pid_t r = fork();
	if (r == 0)
		_exit(0);
	reap("  reader", r);
	close(p[0]);
	c = fork();
	if (c == 0) {
		signal(SIGPIPE, SIG_DFL);
		write(p[1], "x", 1);
		_exit(0);
	}
	reap("writer with SIGPIPE default", c);

	/* A handler: the write fails with EPIPE after it ran. */
	c = fork();
	if (c == 0) {
		set_handler(SIGPIPE, on_pipe, 0);
		errno = 0;
		ssize_t n = write(p[1], "x", 1);
		_exit(n == -1 && errno == EPIPE && hits == 1 ? 40 : 41);
	}
	reap("writer with a SIGPIPE handler (40 = EPIPE after the handler)", c);

	/* Blocked: EPIPE, and SIGPIPE stays pending. */
	c = fork();
	if (c == 0) {
		block(SIGPIPE, SIG_BLOCK);
		signal(SIGPIPE, SIG_DFL);
		ssize_t n = write(p[1], "x", 1);
		sigset_t pend;
		sigpending(&pend);
		_exit(n == -1 && errno == EPIPE && sigismember(&pend, SIGPIPE) ? 42 : 43);
	}
	reap("writer with SIGPIPE blocked (42 = EPIPE and pending)", c);
	close(p[1]);
}

/* ---- fork and signal state ------------------------------------------ */

static void on_usr2(int sig)
{
	(void)sig;
}

static void inheritance(void)
{
	set_handler(SIGUSR1, on_hit, 0);
	set_handler(SIGUSR2, on_usr2, 0);
	signal(SIGHUP, SIG_IGN);
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, SIGTERM);
	sigprocmask(SIG_SETMASK, &m, NULL);
	raise(SIGUSR1); /* pending in the parent */
	hits = 0;
	pid_t c = fork();
	if (c == 0) {
		int bits = 0;
		sigset_t cur, pend;
		sigprocmask(SIG_BLOCK, NULL, &cur);
		if (sigismember(&cur, SIGUSR1) && sigismember(&cur, SIGTERM))
			bits |= 1;
		if (!sigismember(&cur, SIGUSR2))
			bits |= 2;
		sigpending(&pend);
		if (!sigismember(&pend, SIGUSR1))
			bits |= 4;
		struct sigaction sa;
		sigaction(SIGUSR2, NULL, &sa);
		if (sa.sa_handler == on_usr2)
			bits |= 8;
		sigaction(SIGHUP, NULL, &sa);
		if (sa.sa_handler == SIG_IGN)
			bits |= 16;
		/* Unblocking runs nothing: nothing was pending here. */
		sigprocmask(SIG_UNBLOCK, &m, NULL);
		if (hits == 0)
			bits |= 32;
		/* An ignored SIGHUP does nothing. */
		raise(SIGHUP);
		_exit(bits);
	}
	int st = 0;
	waitpid(c, &st, 0);
	int bits = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
	printf("fork: mask inherited %s, unblocked stays unblocked %s, pending not inherited %s, "
	       "handler inherited %s, SIG_IGN inherited %s, nothing delivered on unblock %s\n",
	       bits & 1 ? "yes" : "no", bits & 2 ? "yes" : "no", bits & 4 ? "yes" : "no",
	       bits & 8 ? "yes" : "no", bits & 16 ? "yes" : "no", bits & 32 ? "yes" : "no");
	sigset_t pend;
	sigpending(&pend);
	EXPECT("parent: SIGUSR1 still pending", sigismember(&pend, SIGUSR1));
	sigprocmask(SIG_UNBLOCK, &m, NULL);
	printf("parent: handler ran on unblock %d time(s)\n", hits);
	sigemptyset(&m);
	sigprocmask(SIG_SETMASK, &m, NULL);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
}

int main(void)
{
	GUEST_INIT();
	no_core_dumps();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigset_t empty;
	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);

	child_receives();
	sigchld();
	stop_continue();
	interrupted_reads();
	groups();
	errors();
	sigpipe();
	inheritance();
	printf("done\n");
	return 0;
}
