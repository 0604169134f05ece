/* timerfd_create, timerfd_settime and timerfd_gettime: argument checks,
 * one-shot and interval timers, absolute times, counting expirations,
 * non-blocking reads, a blocking read that sleeps until the timer, one
 * ended by a signal, huge values, and the descriptor's /proc view. */
#include "guest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

static void on_alrm(int sig)
{
	(void)sig;
}

static long rd(int fd, uint64_t *v)
{
	return read(fd, v, sizeof(*v));
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

int main(void)
{
	uint64_t v = 0;
	struct itimerspec its, old;
	memset(&its, 0, sizeof(its));
	CHECK("create bad clock", syscall(SYS_timerfd_create, CLOCK_PROCESS_CPUTIME_ID, 0));
	CHECK("create clock 99", syscall(SYS_timerfd_create, 99, 0));
	CHECK("create bad flags", syscall(SYS_timerfd_create, CLOCK_MONOTONIC, 1));
	int fd = (int)syscall(SYS_timerfd_create, CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	printf("create MONOTONIC NONBLOCK|CLOEXEC: %s, F_GETFL 0%o F_GETFD %d\n",
	       fd >= 0 ? "ok" : errname(errno), fcntl(fd, F_GETFL) & ~0100000, fcntl(fd, F_GETFD));
	CHECK("gettime disarmed", timerfd_gettime(fd, &old));
	printf("  value %lld.%09ld interval %lld.%09ld\n", (long long)old.it_value.tv_sec,
	       old.it_value.tv_nsec, (long long)old.it_interval.tv_sec, old.it_interval.tv_nsec);
	CHECK("read disarmed, nonblocking", rd(fd, &v));
	CHECK("read 4 bytes", read(fd, &v, 4));
	CHECK("write", write(fd, &v, 8));
	CHECK("pread", pread(fd, &v, 8, 0));
	CHECK("lseek", lseek(fd, 5, SEEK_SET));

	/* Argument checks of settime and gettime. */
	CHECK("settime bad flags", timerfd_settime(fd, 4, &its, NULL));
	its.it_value.tv_nsec = 1000000000;
	CHECK("settime nsec 1e9", timerfd_settime(fd, 0, &its, NULL));
	its.it_value.tv_nsec = 0;
	its.it_interval.tv_sec = -1;
	CHECK("settime negative interval", timerfd_settime(fd, 0, &its, NULL));
	its.it_interval.tv_sec = 0;
	CHECK("settime bad pointer", syscall(SYS_timerfd_settime, fd, 0, (void *)1, NULL));
	CHECK("settime bad old pointer", syscall(SYS_timerfd_settime, fd, 0, &its, (void *)1));
	CHECK("settime bad fd", timerfd_settime(99, 0, &its, NULL));
	CHECK("settime on stdin", timerfd_settime(0, 0, &its, NULL));
	CHECK("gettime bad fd", timerfd_gettime(99, &old));
	CHECK("gettime on stdin", timerfd_gettime(0, &old));
	CHECK("gettime bad pointer", syscall(SYS_timerfd_gettime, fd, (void *)1));

	/* A one-shot timer 30 ms away. */
	its.it_value.tv_nsec = 30000000;
	CHECK("settime 30ms one-shot", timerfd_settime(fd, 0, &its, &old));
	timerfd_gettime(fd, &old);
	printf("  armed, reads between 0 and 30ms: %s\n",
	       old.it_value.tv_sec == 0 && old.it_value.tv_nsec > 0 &&
			       old.it_value.tv_nsec <= 30000000
		       ? "yes"
		       : "no");
	CHECK("read before it fires", rd(fd, &v));
	sleep_ms(60);
	CHECK("read after it fired", rd(fd, &v));
	printf("  expirations %llu\n", (unsigned long long)v);
	CHECK("read again", rd(fd, &v));
	timerfd_gettime(fd, &old);
	printf("  spent one-shot reads 0: %s\n", !old.it_value.tv_sec && !old.it_value.tv_nsec ? "yes" : "no");

	/* An interval timer counts every expiration between reads. */
	its.it_value.tv_nsec = 10000000;
	its.it_interval.tv_nsec = 10000000;
	timerfd_settime(fd, 0, &its, NULL);
	sleep_ms(105);
	rd(fd, &v);
	printf("interval 10ms over 105ms: at least 9 expirations: %s\n", v >= 9 ? "yes" : "no");
	timerfd_gettime(fd, &old);
	printf("  interval reads 10ms: %s\n", old.it_interval.tv_nsec == 10000000 ? "yes" : "no");
	/* settime returns the old value and drops unread expirations. */
	sleep_ms(25);
	memset(&its, 0, sizeof(its));
	CHECK("disarm", timerfd_settime(fd, 0, &its, &old));
	printf("  old interval 10ms: %s\n", old.it_interval.tv_nsec == 10000000 ? "yes" : "no");
	CHECK("read after disarm", rd(fd, &v));
	close(fd);

	/* Blocking reads: sleeps until the timer; an absolute time in the past
	 * has already expired. */
	fd = timerfd_create(CLOCK_REALTIME, 0);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	its.it_value = now;
	its.it_value.tv_nsec += 40000000;
	if (its.it_value.tv_nsec >= 1000000000)
		its.it_value.tv_sec++, its.it_value.tv_nsec -= 1000000000;
	CHECK("settime absolute 40ms ahead", timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
	CHECK("blocking read waits for it", rd(fd, &v));
	printf("  expirations %llu\n", (unsigned long long)v);
	its.it_value.tv_sec = 1;
	its.it_value.tv_nsec = 0;
	CHECK("settime absolute 1970", timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
	CHECK("read at once", rd(fd, &v));
	printf("  expirations %llu\n", (unsigned long long)v);

	/* Huge values saturate instead of wrapping. */
	its.it_value.tv_sec = 0x7fffffffffffffffLL;
	its.it_interval.tv_sec = 0x7fffffffffffffffLL;
	CHECK("settime huge", timerfd_settime(fd, 0, &its, NULL));
	timerfd_gettime(fd, &old);
	printf("  far in the future: %s\n", old.it_value.tv_sec > 1000000000LL ? "yes" : "no");
	CHECK("settime huge absolute", timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));

	/* A signal ends a blocking read with EINTR. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alrm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	CHECK("blocking read ended by SIGALRM", rd(fd, &v));

	struct stat st;
	CHECK("fstat", fstat(fd, &st));
	printf("  mode 0%o size %lld\n", (unsigned)st.st_mode, (long long)st.st_size);
	char path[64], link[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	printf("fd link: %s\n", link);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *fi = fopen(path, "r");
	char line[128];
	while (fi && fgets(line, sizeof(line), fi))
		if (!strncmp(line, "clockid", 7) || !strncmp(line, "settime flags", 13) ||
		    !strncmp(line, "it_interval", 11))
			printf("fdinfo %s", line);
	if (fi)
		fclose(fi);
	close(fd);
	return 0;
}
