/* alarm, setitimer and getitimer: error paths, values read back, SIGALRM
 * delivered to a handler during pause() and during nanosleep (EINTR with
 * the time left), an interval timer firing repeatedly, ITIMER_PROF while
 * spinning; and at the end an alarm nobody handles ends the program. */
#include <sys/time.h>

#include "guest.h"

static volatile int alarms, profs;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void on_prof(int sig)
{
	(void)sig;
	profs++;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct itimerval v = {{0, 0}, {0, 0}}, old;
	CHECK("setitimer which 3", syscall(SYS_setitimer, 3L, &v, NULL));
	CHECK("getitimer which -1", syscall(SYS_getitimer, -1L, &old));
	v.it_value.tv_usec = 1000000;
	CHECK("setitimer usec 1000000", syscall(SYS_setitimer, ITIMER_REAL, &v, NULL));
	v.it_value.tv_usec = 0;
	v.it_value.tv_sec = -1;
	CHECK("setitimer negative sec", syscall(SYS_setitimer, ITIMER_REAL, &v, NULL));
	CHECK("setitimer bad pointer", syscall(SYS_setitimer, ITIMER_REAL, (void *)1, NULL));
	CHECK("getitimer bad pointer", syscall(SYS_getitimer, ITIMER_REAL, (void *)1));
	CHECK("getitimer disarmed", syscall(SYS_getitimer, ITIMER_REAL, &old));
	printf("  value %ld.%06ld\n", (long)old.it_value.tv_sec, (long)old.it_value.tv_usec);

	printf("alarm(100) returns %u\n", alarm(100));
	unsigned left = alarm(0);
	printf("alarm(0) after it returns 99 or 100: %s\n", left == 99 || left == 100 ? "yes" : "no");

	struct itimerval set = {{0, 0}, {5, 0}};
	syscall(SYS_setitimer, ITIMER_REAL, &set, NULL);
	syscall(SYS_getitimer, ITIMER_REAL, &old);
	printf("armed 5s, reads between 4 and 5s: %s\n",
	       old.it_value.tv_sec == 4 || (old.it_value.tv_sec == 5 && !old.it_value.tv_usec) ? "yes"
														  : "no");
	memset(&set, 0, sizeof(set));
	syscall(SYS_setitimer, ITIMER_REAL, &set, &old);
	printf("disarming returns the old value: %s\n", old.it_value.tv_sec >= 4 ? "yes" : "no");

	/* A huge value saturates.  (Linux's CPU timers overflow on one, so
	 * they get a merely large value.) */
	struct itimerval huge = {{0x7fffffffffffffffL, 999999}, {0x7fffffffffffffffL, 999999}};
	CHECK("setitimer REAL huge", syscall(SYS_setitimer, ITIMER_REAL, &huge, NULL));
	syscall(SYS_getitimer, ITIMER_REAL, &old);
	printf("  reads far ahead: %s, interval %ld\n", old.it_value.tv_sec > 1000000000L ? "yes" : "no",
	       (long)old.it_interval.tv_sec);
	syscall(SYS_setitimer, ITIMER_REAL, &set, NULL);
	struct itimerval large = {{0, 0}, {1000000000L, 0}};
	for (int which = ITIMER_VIRTUAL; which <= ITIMER_PROF; which++) {
		char label[48];
		snprintf(label, sizeof(label), "setitimer %d 1e9 s", which);
		CHECK(label, syscall(SYS_setitimer, which, &large, NULL));
		syscall(SYS_getitimer, which, &old);
		/* Less the CPU time since; Linux adds a tick to it. */
		printf("  reads about 1e9 s: %s\n",
		       old.it_value.tv_sec >= 999999999L && old.it_value.tv_sec <= 1000000000L ? "yes"
											  : "no");
		syscall(SYS_setitimer, which, &set, NULL);
	}
	printf("alarm(0xffffffff) then alarm(0): %s\n",
	       alarm(0xffffffffU) == 0 && alarm(0) >= 0xfffffffeU ? "ok" : "no");

	signal(SIGALRM, on_alarm);
	struct itimerval once = {{0, 0}, {0, 50000}};
	setitimer(ITIMER_REAL, &once, NULL);
	pause();
	printf("pause ended by the alarm: %d alarm(s)\n", alarms);

	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART */
	setitimer(ITIMER_REAL, &once, NULL);
	struct timespec req = {5, 0}, rem = {0, 0};
	long r = syscall(SYS_nanosleep, &req, &rem);
	printf("nanosleep interrupted: ret %ld errno %s, time left %s\n", r, r ? errname(errno) : "-",
	       rem.tv_sec >= 4 ? "about 5s" : "wrong");

	alarms = 0;
	struct itimerval every = {{0, 20000}, {0, 20000}};
	setitimer(ITIMER_REAL, &every, NULL);
	while (alarms < 3)
		pause();
	memset(&every, 0, sizeof(every));
	setitimer(ITIMER_REAL, &every, NULL);
	printf("interval timer fired 3 times: yes\n");

	signal(SIGPROF, on_prof);
	struct itimerval prof = {{0, 0}, {0, 30000}};
	setitimer(ITIMER_PROF, &prof, NULL);
	for (volatile unsigned long i = 0; !profs; i++)
		;
	printf("ITIMER_PROF fired while spinning: yes\n");

	signal(SIGALRM, SIG_DFL);
	alarm(1);
	for (;;)
		pause();
}
