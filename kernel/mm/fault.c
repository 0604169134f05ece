/* Faults the sentry resolves itself instead of signalling the guest:
 * growth of a stack (growsdown) mapping toward RLIMIT_STACK, as Linux's
 * expand_stack does when a fault lands just below it. */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "../sentry.h"

/* Linux's stack_guard_gap: 256 pages kept free below a growing stack. */
#define STACK_GUARD_GAP (256 * PAGE_SIZE)
/* Grow by at least this much, and at least double, to take few faults. */
#define GROW_MIN (64 * 1024UL)

bool mm_fault_stack(struct k_task *t, uint64_t addr)
{
	struct k_mm *mm = t->mm;
	struct k_vma *v = mm_find_next(mm, addr);
	if (!v || v->start <= addr || !(v->flags & VMA_GROWSDOWN))
		return false;
	/* Earlier growth left adjacent VMAs (each has memory of its own):
	 * the stack is the whole run, and its size is what the limit bounds. */
	uint64_t end = v->end;
	for (struct k_vma *w = v + 1; w < mm->v + mm->n && w->start == end &&
				      (w->flags & VMA_GROWSDOWN); w++)
		end = w->end;
	uint64_t want = addr & PAGE_MASK, cur = v->start;
	uint64_t limit = t->tg->rlim[RLIMIT_STACK].rlim_cur;
	if (limit != RLIM_INFINITY && end - want > limit)
		return false;
	uint64_t floor = pf_guest_min();
	if (v > mm->v && v[-1].end + STACK_GUARD_GAP > floor)
		floor = v[-1].end + STACK_GUARD_GAP;
	if (want < floor)
		return false;
	uint64_t grow = end - cur > GROW_MIN ? end - cur : GROW_MIN;
	uint64_t start = cur - floor > grow ? cur - grow : floor;
	if (limit != RLIM_INFINITY && end - start > limit)
		start = end - limit;
	if (start > want)
		start = want;
	int prot = v->prot, flags = v->flags;
	if (mm_map_anon(mm, start, cur - start, prot, flags, MAP_FIXED_NOREPLACE) < 0)
		return false;
	if (start < mm->stack_start)
		mm->stack_start = start;
	return true;
}
