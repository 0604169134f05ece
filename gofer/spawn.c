/* Starting a gofer: `self_exe gofer --fd N --spec JSON` on one end of a
 * SOCK_SEQPACKET socket pair. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gofer.h"

/* Linux's limit on one argument string (MAX_ARG_STRLEN). */
enum { ARG_STRLEN_MAX = 32 * 4096 };

int gf_spawn(const char *self_exe, const struct gf_spec *spec, int *sock, pid_t *pid)
{
	if (!self_exe || !spec || !sock || !pid)
		return -EINVAL;
	char *json = gf_spec_to_json(spec);
	if (!json)
		return -EINVAL;
	if (strlen(json) >= ARG_STRLEN_MAX) {
		free(json);
		return -E2BIG;
	}
	int sv[2], errpipe[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		int e = errno;
		free(json);
		return -e;
	}
	if (pipe2(errpipe, O_CLOEXEC) != 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		free(json);
		return -e;
	}
	/* Everything the child needs is ready before fork: the child only
	 * makes async-signal-safe calls (the caller may have threads). */
	char fdstr[16];
	snprintf(fdstr, sizeof(fdstr), "%d", sv[1]);
	char *argv[] = {(char *)self_exe, "gofer", "--fd", fdstr, "--spec", json, NULL};

	pid_t child = fork();
	if (child < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		close(errpipe[0]);
		close(errpipe[1]);
		free(json);
		return -e;
	}
	if (child == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		int e = 0;
		if (fcntl(sv[1], F_SETFD, 0) != 0)
			e = errno;
		else
			execv(self_exe, argv);
		if (!e)
			e = errno;
		ssize_t unused = write(errpipe[1], &e, sizeof(e));
		(void)unused;
		_exit(127);
	}
	free(json);
	close(sv[1]);
	close(errpipe[1]);
	/* The pipe closes on a successful exec; an errno arrives otherwise. */
	int e = 0;
	ssize_t n;
	do
		n = read(errpipe[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(errpipe[0]);
	if (n == (ssize_t)sizeof(e)) {
		close(sv[0]);
		int st;
		while (waitpid(child, &st, 0) < 0 && errno == EINTR)
			;
		return -(e > 0 ? e : ECHILD);
	}
	*sock = sv[0];
	*pid = child;
	return 0;
}
