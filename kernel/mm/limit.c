/* The sandbox's memory limit.  Guest memory is the memory file's pages, so
 * its size is what the host has given that file: st_blocks.  The sentry
 * checks it as guest stops come by, and the scheduler looks every tick
 * even while guests only compute, so a guest that allocates without end
 * is killed (as the OOM killer would, SIGKILL) before it can take the
 * node's memory. */
#define _GNU_SOURCE
#include <sys/stat.h>

#include "../sentry.h"

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

