/* The sentry's seccomp allowlist: once installed, opening a host file
 * kills the process; what running a guest needs still works. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../kernel/sentry.h"

static int run_confined(void (*body)(void))
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (k_seccomp_confine() != 0)
			_exit(99);
		body();
		_exit(0);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static void open_host_file(void)
{
	open("/etc/passwd", O_RDONLY);
	_exit(1); /* not reached: the filter kills first */
}

static void allowed_calls(void)
{
	struct timespec ts;
	char buf[8];
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0 || getrandom(buf, sizeof(buf), 0) != 8)
		_exit(2);
	if (write(STDERR_FILENO, "", 0) != 0)
		_exit(3);
}

static void exec_something(void)
{
	execl("/bin/true", "true", (char *)NULL);
	_exit(1);
}

Test(confine, open_of_a_host_path_is_killed)
{
	int st = run_confined(open_host_file);
	cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status %#x", st);
}

Test(confine, execve_is_killed)
{
	int st = run_confined(exec_something);
	cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status %#x", st);
}

Test(confine, what_guests_need_still_works)
{
	int st = run_confined(allowed_calls);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}
