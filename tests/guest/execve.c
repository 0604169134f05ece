/* execve: error paths that leave the caller running, then a real exec of
 * this same program, which checks what survived: the pid, open fds but not
 * close-on-exec ones, ignored signals but not handlers, the signal mask. */
#include <fcntl.h>

#include "guest.h"

static void on_usr1(int sig)
{
	(void)sig;
}

static int child(void)
{
	printf("child: argv ok, pid same %s\n", getenv("PARENT_PID") &&
	       atol(getenv("PARENT_PID")) == getpid() ? "yes" : "no");
	printf("fd 5 open: %s, fd 6 (cloexec) open: %s\n", fcntl(5, F_GETFD) >= 0 ? "yes" : "no",
	       fcntl(6, F_GETFD) >= 0 ? "yes" : "no");
	struct sigaction sa;
	sigaction(SIGUSR1, NULL, &sa);
	printf("handler reset to default: %s\n", sa.sa_handler == SIG_DFL ? "yes" : "no");
	sigaction(SIGUSR2, NULL, &sa);
	printf("ignored stays ignored: %s\n", sa.sa_handler == SIG_IGN ? "yes" : "no");
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	printf("mask kept: %s\n", sigismember(&cur, SIGTERM) ? "yes" : "no");
	return 7;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();
	char *args[] = {argv[0], "child", NULL};
	char *env[] = {NULL, NULL};
	CHECK("execve nonexistent", syscall(SYS_execve, "/nonexistent/prog", args, env));
	CHECK("execve a directory", syscall(SYS_execve, "/tmp", args, env));
	CHECK("execve a non-executable file", syscall(SYS_execve, "/etc/passwd", args, env));
	CHECK("execve bad path pointer", syscall(SYS_execve, (char *)1, args, env));
	CHECK("execve bad argv pointer", syscall(SYS_execve, argv[0], (char **)1, env));
	char *bad_args[] = {argv[0], (char *)1, NULL};
	CHECK("execve bad argv string", syscall(SYS_execve, argv[0], bad_args, env));
	static char huge[200000];
	memset(huge, 'a', sizeof(huge) - 1);
	char *big_args[] = {argv[0], huge, NULL};
	CHECK("execve a 200 KB argument", syscall(SYS_execve, argv[0], big_args, env));
	CHECK("execveat bad flags", syscall(SYS_execveat, AT_FDCWD, argv[0], args, env, 0x4000L));
	printf("still here after the failures\n");

	int f5 = open("/dev/null", O_RDONLY), f6 = open("/dev/null", O_RDONLY | O_CLOEXEC);
	dup2(f5, 5);
	dup2(f6, 6);
	fcntl(6, F_SETFD, FD_CLOEXEC);
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	char pidvar[64];
	snprintf(pidvar, sizeof(pidvar), "PARENT_PID=%ld", (long)getpid());
	env[0] = pidvar;
	syscall(SYS_execve, argv[0], args, env);
	printf("not reached\n");
	return 1;
}
