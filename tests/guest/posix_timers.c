/* POSIX timers: timer_create with SIGEV_SIGNAL (siginfo: SI_TIMER, the
 * value), SIGEV_NONE, the default sigevent, relative and absolute
 * expiries, intervals with overruns while the signal stays blocked,
 * timer_gettime of disarmed and armed timers, a CPU-time timer, deletion,
 * and the errors. */
#include "guest.h"

#include <sys/wait.h>

static void report(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

static int ms_between(int64_t lo, int64_t hi, const struct timespec *ts)
{
	int64_t ms = ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
	return ms >= lo && ms <= hi;
}

int main(void)
{
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigaddset(&usr1, SIGALRM);
	sigprocmask(SIG_BLOCK, &usr1, NULL);

	/* SIGEV_SIGNAL with a value; one shot after 30 ms. */
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	ev.sigev_value.sival_int = 1234;
	timer_t t1;
	report("create SIGUSR1", timer_create(CLOCK_MONOTONIC, &ev, &t1));
	struct itimerspec cur;
	timer_gettime(t1, &cur);
	printf("disarmed: %ld %ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);
	struct itimerspec its = {.it_value = {0, 30 * 1000 * 1000}};
	report("settime 30ms", timer_settime(t1, 0, &its, NULL));
	timer_gettime(t1, &cur);
	printf("armed, 1..30 ms left: %s\n", ms_between(0, 30, &cur.it_value) ? "yes" : "no");
	siginfo_t si;
	int sig = sigwaitinfo(&usr1, &si);
	printf("fired: sig %d code %s value %d\n", sig, si.si_code == SI_TIMER ? "SI_TIMER" : "other",
	       si.si_value.sival_int);
	timer_gettime(t1, &cur);
	printf("after one shot: %ld %ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);

	/* An interval of 10 ms while the signal stays pending: overruns. */
	its = (struct itimerspec){.it_value = {0, 10 * 1000 * 1000},
				  .it_interval = {0, 10 * 1000 * 1000}};
	timer_settime(t1, 0, &its, NULL);
	struct timespec d = {0, 80 * 1000 * 1000};
	nanosleep(&d, NULL);
	sig = sigwaitinfo(&usr1, &si);
	printf("interval: sig %d overrun at least 3: %s\n", sig, si.si_overrun >= 3 ? "yes" : "no");
	printf("getoverrun matches: %s\n", timer_getoverrun(t1) == si.si_overrun ? "yes" : "no");
	struct itimerspec off = {{0, 0}, {0, 0}}, old;
	timer_settime(t1, 0, &off, &old);
	printf("old interval 10 ms: %s\n", old.it_interval.tv_nsec == 10 * 1000 * 1000 ? "yes" : "no");

	/* Absolute time on CLOCK_REALTIME. */
	timer_t t2;
	report("create default sigevent", timer_create(CLOCK_REALTIME, NULL, &t2));
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec += 20 * 1000 * 1000;
	if (now.tv_nsec >= 1000000000)
		now.tv_sec++, now.tv_nsec -= 1000000000;
	its = (struct itimerspec){.it_value = now};
	report("settime absolute", timer_settime(t2, TIMER_ABSTIME, &its, NULL));
	sig = sigwaitinfo(&usr1, &si);
	printf("default: sig %s code %s value is the id: %s\n", sig == SIGALRM ? "SIGALRM" : "other",
	       si.si_code == SI_TIMER ? "SI_TIMER" : "other",
	       si.si_value.sival_int == (int)(intptr_t)t2 ? "yes" : "no");

	/* SIGEV_NONE: counts down, never signals. */
	timer_t t3;
	ev.sigev_notify = SIGEV_NONE;
	report("create SIGEV_NONE", timer_create(CLOCK_MONOTONIC, &ev, &t3));
	its = (struct itimerspec){.it_value = {5, 0}};
	timer_settime(t3, 0, &its, NULL);
	timer_gettime(t3, &cur);
	printf("none, 4..5 s left: %s\n", cur.it_value.tv_sec >= 4 && cur.it_value.tv_sec <= 5 ? "yes" : "no");

	/* A CPU-time timer fires after the process computes. */
	timer_t t4;
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	ev.sigev_value.sival_int = 99;
	report("create CPU timer", timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &t4));
	its = (struct itimerspec){.it_value = {0, 30 * 1000 * 1000}};
	timer_settime(t4, 0, &its, NULL);
	struct timespec zero = {0, 0};
	volatile unsigned long spin = 0;
	int got = 0;
	for (int round = 0; round < 2000 && !got; round++) {
		for (int i = 0; i < 1000000; i++)
			spin++;
		got = sigtimedwait(&usr1, &si, &zero) == SIGUSR1;
	}
	printf("CPU timer fired: %s value %d\n", got ? "yes" : "no", si.si_value.sival_int);

	/* Errors. */
	report("delete", timer_delete(t3));
	report("delete again", timer_delete(t3));
	report("settime deleted", timer_settime(t3, 0, &its, NULL));
	report("gettime deleted", timer_gettime(t3, &cur));
	report("getoverrun deleted", timer_getoverrun(t3));
	report("bad clock", syscall(SYS_timer_create, 77L, NULL, &t3));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = 99;
	report("bad signal", syscall(SYS_timer_create, (long)CLOCK_MONOTONIC, &ev, &t3));
	ev.sigev_notify = 77;
	report("bad notify", syscall(SYS_timer_create, (long)CLOCK_MONOTONIC, &ev, &t3));
	its.it_value.tv_nsec = 1000000000;
	report("bad value", timer_settime(t1, 0, &its, NULL));
	report("bad pointer", syscall(SYS_timer_create, (long)CLOCK_MONOTONIC, 8L, &t3));

	/* Timers are not inherited by a child. */
	pid_t c = fork();
	if (c == 0)
		_exit(timer_gettime(t1, &cur) == -1 && errno == EINVAL ? 0 : 1);
	int st;
	waitpid(c, &st, 0);
	printf("child has no timers: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
	return 0;
}
