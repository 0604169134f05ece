/* Cost of starting a process: fork, execve of a small static program
 * (argv[1]) and wait4, per iteration, timed from inside.  With "vfork",
 * vfork instead of fork (what posix_spawn and python's subprocess use). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	long n = argc > 2 ? atol(argv[2]) : 200;
	int use_vfork = argc > 3 && strcmp(argv[3], "vfork") == 0;
	char *const args[] = {argv[1], NULL};
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (volatile long i = 0; i < n; i++) {
		pid_t c = use_vfork ? vfork() : fork();
		if (c == 0) {
			execv(argv[1], args);
			_exit(127);
		}
		int st;
		if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double us = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	printf("%.1f\n", us / (double)n);
	return 0;
}
