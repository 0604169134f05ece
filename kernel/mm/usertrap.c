/* Syscall patching under systrap (platform.h, pf_ut_*): a site that traps
 * the slow way (a signal per syscall) and reads `mov $nr,%eax; syscall`
 * is rewritten into a jump through an entry of a table the sentry keeps
 * in the address space, into the platform's signal-free path.  As in
 * gVisor, which does the same: the table sits at a fixed low address; a
 * patch is written so that a thread that has run the old mov meets an
 * invalid opcode where the syscall was, never half an instruction, and
 * that fault (ut_fault) sends it the right way.  Code and table pages are
 * made this address space's own first (a fork's child or another process
 * mapping the same file keeps the original). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "../sentry.h"

#define UT_ENTRIES (PF_UT_SIZE / PF_UT_ENTRY)
/* A site is patched at its third slow trap: a patch copies its code page
 * and changes the mapping, which costs more than a few traps, and a
 * program's start makes many syscalls from sites it never uses again. */
#define UT_PATCH_AT 3
#define SITE_LEN 7 /* b8 nr nr nr nr 0f 05, and ff 24 25 entry */

/* The table of mm, mapped first if create; NULL if it cannot be (the
 * guest has something of its own there, or unmapped or changed it). */
static struct k_vma *table(struct k_mm *mm, bool create)
{
	struct k_vma *v = mm_find(mm, PF_UT_BASE);
	if (!v && create) {
		struct k_vma *next = mm_find_next(mm, PF_UT_BASE);
		if (next && next->start < PF_UT_BASE + PF_UT_SIZE)
			return NULL;
		if (mm_map_anon(mm, PF_UT_BASE, PF_UT_SIZE, PROT_READ | PROT_EXEC,
				VMA_USERTRAP | VMA_BACKED, MAP_FIXED) < 0)
			return NULL;
		uint8_t *hdr = mm_own_page(mm, PF_UT_BASE);
		if (!hdr)
			return NULL;
		pf_ut_header(hdr, 1);
		v = mm_find(mm, PF_UT_BASE);
	}
	if (!v || !(v->flags & VMA_USERTRAP) || v->start != PF_UT_BASE ||
	    v->end < PF_UT_BASE + PF_UT_SIZE || v->prot != (PROT_READ | PROT_EXEC) || !v->mobj)
		return NULL;
	return v;
}

/* Whether [addr, addr+len) is readable guest code in one page of a
 * private mapping (not the table, not the vDSO); its host bytes then. */
static const uint8_t *code_at(struct k_mm *mm, uint64_t addr, size_t len)
{
	if (addr < pf_guest_min() || (addr & PAGE_MASK) != ((addr + len - 1) & PAGE_MASK))
		return NULL;
	struct k_vma *v = mm_find(mm, addr);
	if (!v || !v->mobj || !(v->prot & PROT_EXEC) || !(v->prot & PROT_READ) ||
	    (v->flags & (VMA_SHARED | VMA_SIGBUS | VMA_USERTRAP | VMA_VDSO | VMA_VVAR)))
		return NULL;
	return mm_host_addr(mm, addr);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Counts a slow trap at site; true once it has come UT_PATCH_AT times
 * (approximately: sites that share a bucket take it over). */
static bool hot(struct k_mm *mm, uint64_t site)
{
	if (!mm->ut_seen && !(mm->ut_seen = calloc(1, sizeof(*mm->ut_seen))))
		return false;
	struct k_ut_seen *s = mm->ut_seen;
	unsigned b = (unsigned)((site * 0x9e3779b97f4a7c15ULL) >> 58) % UT_SEEN;
	if (s->site[b] != site) {
		s->site[b] = site;
		s->n[b] = 0;
	}
	return ++s->n[b] >= UT_PATCH_AT;
}

void ut_patch(struct k_task *t)
{
	struct k_mm *mm = t->mm;
	uint64_t rip = t->regs.rip, site = rip - SITE_LEN;
	uint32_t nr = (uint32_t)t->regs.orig_rax;
	if (mm->ut_off || !pf_ut_enabled() || rip < SITE_LEN || (uint32_t)t->regs.rax != nr)
		return;
	const uint8_t *old = code_at(mm, site, SITE_LEN);
	uint8_t want[SITE_LEN] = {0xb8, 0, 0, 0, 0, 0x0f, 0x05};
	put_le32(want + 1, nr);
	if (!old || memcmp(old, want, SITE_LEN) != 0 || !hot(mm, site))
		return;
	struct k_vma *tv = table(mm, true);
	uint8_t *hdr = tv ? mm_own_page(mm, PF_UT_BASE) : NULL;
	uint32_t used = hdr ? pf_ut_used(hdr) : 0;
	if (used == 0 || used >= UT_ENTRIES) {
		mm->ut_off = true; /* the guest's own mapping is there, or it is full */
		return;
	}
	/* The entry first, then the header, then the code.  Mapping changes
	 * (the table's, a copy of a shared page) reach the host before this
	 * thread runs again; if another thread may be running meanwhile, they
	 * go before the code changes. */
	uint64_t entry = PF_UT_BASE + (uint64_t)used * PF_UT_ENTRY;
	uint8_t *slot = mm_own_page(mm, entry);
	hdr = slot ? mm_own_page(mm, PF_UT_BASE) : NULL;
	if (!hdr)
		return;
	pf_ut_entry(slot, entry, nr, rip);
	pf_ut_header(hdr, used + 1);
	uint8_t *code = mm_own_page(mm, site);
	if (!code || (mm->users > 1 && pf_as_flush(mm->as) != 0))
		return;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint8_t jmp[SITE_LEN] = {0xff, 0x24, 0x25};
	put_le32(jmp + 3, (uint32_t)entry);
	if ((site & 7) + SITE_LEN <= 8) {
		/* One aligned word: the whole patch lands at once. */
		uint64_t *w = (uint64_t *)((uintptr_t)code & ~(uintptr_t)7);
		uint64_t word = __atomic_load_n(w, __ATOMIC_RELAXED);
		memcpy((uint8_t *)&word + (site & 7), jmp, SITE_LEN);
		__atomic_store_n(w, word, __ATOMIC_SEQ_CST);
		return;
	}
	/* Otherwise in three steps: the syscall's first byte becomes the
	 * invalid opcode; then all but the mov's opcode (the syscall's place
	 * keeps 0x06: the entry's third byte); then the opcode itself. */
	volatile uint8_t *c = code;
	c[5] = jmp[5];
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (int i = 1; i < SITE_LEN; i++)
		c[i] = jmp[i];
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	c[0] = jmp[0];
}

int ut_fault(struct k_task *t)
{
	struct k_mm *mm = t->mm;
	uint64_t at = t->regs.rip, site = at - 5;
	if (!pf_ut_enabled() || at < 5)
		return UT_NOT_MINE;
	const uint8_t *code = code_at(mm, site, SITE_LEN);
	if (!code || code[0] != 0xff || code[1] != 0x24 || code[2] != 0x25)
		return UT_NOT_MINE;
	uint32_t entry;
	memcpy(&entry, code + 3, 4);
	struct k_vma *tv = table(mm, false);
	if (!tv || entry <= PF_UT_BASE || entry >= PF_UT_BASE + PF_UT_SIZE ||
	    (entry - PF_UT_BASE) % PF_UT_ENTRY)
		return UT_NOT_MINE;
	const uint8_t *e = mm_host_addr(mm, entry);
	int64_t nr = e ? pf_ut_entry_nr(e, entry) : -1;
	if (nr < 0)
		return UT_NOT_MINE;
	/* It ran the old mov, or was sent back to the syscall to restart it
	 * (the sentry's -ERESTART*, rip - 2).  The entry's number is the
	 * site's; a restart_syscall is the one number that differs. */
	if ((uint32_t)t->regs.rax == (uint32_t)nr || t->regs.rax == SYS_restart_syscall) {
		t->regs.orig_rax = t->regs.rax;
		t->regs.rip = t->regs.rcx = site + SITE_LEN;
		t->regs.r11 = t->regs.eflags;
		return UT_SYSCALL;
	}
	/* A mov caught half-written: take the jump. */
	t->regs.rip = site;
	return UT_RERUN;
}

void ut_restored(struct k_mm *mm)
{
	struct k_vma *v = table(mm, false);
	const uint8_t *hdr = v ? mm_host_addr(mm, PF_UT_BASE) : NULL;
	uint8_t *own;
	/* (Written only when it differs: the page stays the image's.) */
	if (hdr && pf_ut_stale(hdr) && (own = mm_own_page(mm, PF_UT_BASE)))
		pf_ut_rebase(own);
}
