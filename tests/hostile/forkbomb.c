/* For the task limit test.  "count": forks children that wait on a pipe
 * until fork fails, reports how many it made and the errno, then lets
 * them go and reaps them.  "zombies": the same with children that exit at
 * once and are not reaped (zombies count).  "bomb": every process forks
 * without end. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "bomb") == 0) {
		for (;;)
			fork();
	}
	if (argc > 1 && strcmp(argv[1], "zombies") == 0) {
		int made = 0;
		pid_t c;
		while ((c = fork()) >= 0) {
			if (c == 0)
				_exit(0);
			made++;
		}
		int err = errno;
		int reaped = 0;
		while (wait(NULL) > 0)
			reaped++;
		printf("zombies %d, then %s; reaped %d\n", made, err == EAGAIN ? "EAGAIN" : strerror(err),
		       reaped);
		return 0;
	}
	int p[2];
	if (pipe(p) != 0)
		return 1;
	int made = 0, err = 0;
	for (;;) {
		pid_t c = fork();
		if (c < 0) {
			err = errno;
			break;
		}
		if (c == 0) {
			char b;
			close(p[1]);
			while (read(p[0], &b, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		made++;
	}
	close(p[1]);
	int reaped = 0;
	while (wait(NULL) > 0)
		reaped++;
	printf("made %d, then %s; reaped %d\n", made, err == EAGAIN ? "EAGAIN" : strerror(err),
	       reaped);
	return 0;
}
