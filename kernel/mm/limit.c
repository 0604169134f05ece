/* The sandbox's memory limit.  Guest memory is the memory file's pages, so
 * its size is what the host has given that file: st_blocks.  The sentry
 * checks it as guest stops come by, and a ticker stops a guest that only
 * computes, so a guest that allocates without end is killed (as the OOM
 * killer would, SIGKILL) before it can take the node's memory. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../sentry.h"

/* The ticker's signal and period. */
#define TICK_SIG (SIGRTMIN + 3)
#define TICK_NS (20 * 1000 * 1000)

static struct pf_ctx *volatile ticking;

static void on_tick(int sig)
{
	(void)sig;
	struct pf_ctx *c = ticking;
	if (c)
		pf_ctx_interrupt(c);
}

uint64_t mem_used(struct k_kernel *k)
{
	struct stat st;
	if (fstat(k->mem.fd, &st) != 0)
		return 0;
	return (uint64_t)st.st_blocks * 512;
}

bool mem_over_limit(struct k_kernel *k)
{
	uint64_t used = mem_used(k);
	if (used > k->mem_peak)
		k->mem_peak = used; /* the high-water mark getrusage reports */
	return k->cfg.memory_limit && used > k->cfg.memory_limit;
}

uint64_t mem_peak(struct k_kernel *k)
{
	mem_over_limit(k);
	return k->mem_peak;
}

int mem_ticker_start(struct k_kernel *k)
{
	return k->cfg.memory_limit ? k_ticker_ensure(k) : 0;
}

/* The ticker also serves the CPU interval timers, so it starts for them
 * when there is no memory limit to watch. */
int k_ticker_ensure(struct k_kernel *k)
{
	if (k->ticker_on)
		return 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(TICK_SIG, &sa, NULL) != 0)
		return -errno;
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = TICK_SIG;
	if (timer_create(CLOCK_MONOTONIC, &ev, &k->ticker) != 0)
		return -errno;
	struct itimerspec its = {{0, TICK_NS}, {0, TICK_NS}};
	if (timer_settime(k->ticker, 0, &its, NULL) != 0)
		return -errno;
	k->ticker_on = true;
	return 0;
}

void mem_ticker_stop(struct k_kernel *k)
{
	ticking = NULL;
	if (k->ticker_on) {
		timer_delete(k->ticker);
		k->ticker_on = false;
	}
}

void mem_ticker_watch(struct pf_ctx *c)
{
	ticking = c;
}
