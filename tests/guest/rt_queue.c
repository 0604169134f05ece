/* Real-time signals queue: three sigqueue'd SIGRTMIN+1 with different
 * values arrive as three, in order, while standard signals merge; a
 * thread-directed queue and sigwaitinfo, signalfd reading queued ones,
 * and the handler count after unblocking. */
#include "guest.h"

#include <sys/signalfd.h>

static volatile int handled;
static volatile int last_value;

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	handled++;
	last_value = si->si_value.sival_int;
}

int main(void)
{
	int rt = SIGRTMIN + 1;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, rt);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 1; i <= 3; i++)
		sigqueue(getpid(), rt, (union sigval){.sival_int = i * 10});
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR1);
	siginfo_t si;
	for (int i = 0; i < 5; i++) {
		struct timespec zero = {0, 0};
		int s = sigtimedwait(&set, &si, &zero);
		if (s < 0) {
			printf("wait %d: %s\n", i, errname(errno));
			break;
		}
		printf("wait %d: %s value %d\n", i, s == rt ? "RT" : s == SIGUSR1 ? "USR1" : "other",
		       s == rt ? si.si_value.sival_int : 0);
	}

	/* A handler runs once per queued signal when they are unblocked. */
	struct sigaction sa = {.sa_sigaction = on_rt, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	sigaction(rt, &sa, NULL);
	for (int i = 1; i <= 4; i++)
		sigqueue(getpid(), rt, (union sigval){.sival_int = i});
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	printf("handled %d, last value %d\n", handled, last_value);

	/* signalfd reads queued ones, several per read. */
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 1; i <= 3; i++)
		sigqueue(getpid(), rt, (union sigval){.sival_int = 100 + i});
	int fd = signalfd(-1, &set, SFD_NONBLOCK);
	struct signalfd_siginfo ssi[4];
	ssize_t n = read(fd, ssi, sizeof(ssi));
	printf("signalfd read %zd:", n < 0 ? -1 : n / (ssize_t)sizeof(ssi[0]));
	for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof(ssi[0]); i++)
		printf(" %d", ssi[i].ssi_int);
	printf("\n");
	/* Setting SIG_IGN drops what is queued. */
	for (int i = 0; i < 3; i++)
		sigqueue(getpid(), rt, (union sigval){.sival_int = i});
	signal(rt, SIG_IGN);
	sigset_t pend;
	sigpending(&pend);
	printf("pending after SIG_IGN: %s\n", sigismember(&pend, rt) ? "yes" : "no");
	return 0;
}
