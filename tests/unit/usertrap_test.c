#define _GNU_SOURCE
/* systrap's syscall patching (kernel/mm/usertrap.c) on a real sandbox with
 * no program loaded: which sites it rewrites, into what, and how a thread
 * that meets a patch half-way is sent on. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "../../kernel/sentry.h"

static struct k_task *t;

static void setup(void)
{
	struct k_config cfg = {.platform = "systrap", .stdio = {-1, -1, -1}};
	const char *why = NULL;
	int err = k_boot(&cfg, &t, &why);
	cr_assert_eq(err, 0, "boot: %s", why ? why : "?");
	cr_assert(pf_ut_enabled(), "this machine cannot run the fast path");
}

static void teardown(void) { k_teardown(t); }

TestSuite(usertrap, .init = setup, .fini = teardown);

#define CODE 0x10000000UL

/* A page of guest code at CODE holding `mov $nr,%eax; syscall` at off. */
static uint64_t code_page(int vflags, uint64_t off, uint32_t nr)
{
	int64_t a = mm_map_anon(t->mm, CODE, PAGE_SIZE, PROT_READ | PROT_EXEC,
				vflags | VMA_BACKED, MAP_FIXED);
	cr_assert_eq(a, (int64_t)CODE);
	uint8_t *p = mm_host_addr(t->mm, CODE);
	memset(p, 0x90, PAGE_SIZE);
	p[off] = 0xb8;
	memcpy(p + off + 1, &nr, 4);
	p[off + 5] = 0x0f;
	p[off + 6] = 0x05;
	return CODE + off;
}

/* The state of a thread that trapped at the site's syscall. */
static void trapped_at(uint64_t site, uint32_t nr)
{
	t->regs.rip = site + 7;
	t->regs.rax = t->regs.orig_rax = nr;
}

/* A site is patched at its third trap. */
static void traps(uint64_t site, uint32_t nr)
{
	for (int i = 0; i < 2; i++) {
		trapped_at(site, nr);
		ut_patch(t);
		cr_expect_eq(((uint8_t *)mm_host_addr(t->mm, site))[0], 0xb8, "patched at trap %d", i + 1);
	}
	trapped_at(site, nr);
	ut_patch(t);
}

static uint32_t patched_entry(uint64_t site)
{
	const uint8_t *p = mm_host_addr(t->mm, site);
	cr_assert_eq(p[0], 0xff);
	cr_assert_eq(p[1], 0x24);
	cr_assert_eq(p[2], 0x25);
	uint32_t entry;
	memcpy(&entry, p + 3, 4);
	return entry;
}

Test(usertrap, rewrites_a_site_and_its_entry_reads_back)
{
	/* Both shapes: inside one aligned word, and across two. */
	const uint64_t offs[] = {0x100, 0x1fd};
	for (int i = 0; i < 2; i++) {
		uint64_t site = code_page(0, offs[i], SYS_getppid);
		traps(site, SYS_getppid);
		uint32_t entry = patched_entry(site);
		cr_expect_eq(entry, PF_UT_BASE + (uint64_t)(i + 1) * PF_UT_ENTRY);
		/* The byte where the syscall was: an invalid opcode. */
		cr_expect_eq(((uint8_t *)mm_host_addr(t->mm, site))[5], 0x06);
		struct k_vma *tv = mm_find(t->mm, PF_UT_BASE);
		cr_assert(tv && (tv->flags & VMA_USERTRAP));
		cr_expect_eq(tv->prot, PROT_READ | PROT_EXEC);
		cr_expect_eq(pf_ut_entry_nr(mm_host_addr(t->mm, entry), entry), SYS_getppid);
		cr_expect_eq(pf_ut_used(mm_host_addr(t->mm, PF_UT_BASE)), (uint32_t)i + 2);
		mm_unmap(t->mm, CODE, PAGE_SIZE);
	}
}

Test(usertrap, leaves_other_code_alone)
{
	/* The number the thread trapped with is not the one in the code. */
	uint64_t site = code_page(0, 0x100, SYS_getppid);
	for (int i = 0; i < 4; i++) {
		trapped_at(site, SYS_getpid);
		ut_patch(t);
	}
	cr_expect_eq(((uint8_t *)mm_host_addr(t->mm, site))[0], 0xb8);
	/* Shared memory: the write would reach other mappings of it. */
	mm_unmap(t->mm, CODE, PAGE_SIZE);
	site = code_page(VMA_SHARED, 0x100, SYS_getppid);
	for (int i = 0; i < 4; i++) {
		trapped_at(site, SYS_getppid);
		ut_patch(t);
	}
	cr_expect_eq(((uint8_t *)mm_host_addr(t->mm, site))[0], 0xb8);
	/* A site split across two pages. */
	mm_unmap(t->mm, CODE, PAGE_SIZE);
	site = code_page(0, PAGE_SIZE - 3, SYS_getppid);
	for (int i = 0; i < 4; i++) {
		trapped_at(site, SYS_getppid);
		ut_patch(t);
	}
	cr_expect_eq(((uint8_t *)mm_host_addr(t->mm, site))[0], 0xb8);
}

Test(usertrap, guest_mapping_at_the_table_turns_it_off)
{
	cr_assert_eq(mm_map_anon(t->mm, PF_UT_BASE, PAGE_SIZE, PROT_READ, 0, MAP_FIXED),
		     (int64_t)PF_UT_BASE);
	uint64_t site = code_page(0, 0x100, SYS_getppid);
	traps(site, SYS_getppid);
	cr_expect_eq(((uint8_t *)mm_host_addr(t->mm, site))[0], 0xb8);
	cr_expect(t->mm->ut_off);
}

Test(usertrap, a_thread_meeting_the_patch_is_sent_on)
{
	uint64_t site = code_page(0, 0x100, SYS_getppid);
	traps(site, SYS_getppid);
	/* It ran the old mov: the syscall, returning after the site. */
	t->regs.rip = site + 5;
	t->regs.rax = SYS_getppid;
	cr_expect_eq(ut_fault(t), UT_SYSCALL);
	cr_expect_eq(t->regs.orig_rax, SYS_getppid);
	cr_expect_eq(t->regs.rip, site + 7);
	/* A restart_syscall the sentry set up: that call. */
	t->regs.rip = site + 5;
	t->regs.rax = SYS_restart_syscall;
	cr_expect_eq(ut_fault(t), UT_SYSCALL);
	cr_expect_eq(t->regs.orig_rax, SYS_restart_syscall);
	/* A mov caught half-written: through the jump again. */
	t->regs.rip = site + 5;
	t->regs.rax = 0x2524ff6e;
	cr_expect_eq(ut_fault(t), UT_RERUN);
	cr_expect_eq(t->regs.rip, site);
	/* Any other invalid opcode is the guest's. */
	t->regs.rip = site + 0x40;
	cr_expect_eq(ut_fault(t), UT_NOT_MINE);
	/* So is a jump whose entry is not one the sentry wrote. */
	uint32_t entry = patched_entry(site);
	uint8_t *e = mm_own_page(t->mm, entry);
	e[20] ^= 1; /* inside its code */
	t->regs.rip = site + 5;
	t->regs.rax = SYS_getppid;
	cr_expect_eq(ut_fault(t), UT_NOT_MINE);
}

/* A table a snapshot of another husk build brought: its header points
 * where that build's stub had its fast path.  A restore points it here,
 * keeping the entries (they jump through the header) and their count. */
Test(usertrap, a_restored_table_is_pointed_at_this_stub)
{
	uint64_t site = code_page(0, 0x100, SYS_getppid);
	traps(site, SYS_getppid);
	uint8_t *hdr = mm_host_addr(t->mm, PF_UT_BASE);
	cr_expect(!pf_ut_stale(hdr));
	uint64_t elsewhere = 0x7fffffff0123;
	memcpy(hdr, &elsewhere, 8); /* (UT_HDR_FAST: the first word) */
	cr_expect(pf_ut_stale(hdr));
	cr_expect_eq(pf_ut_used(hdr), 0, "a stale header counts no entries");
	ut_restored(t->mm);
	hdr = mm_host_addr(t->mm, PF_UT_BASE);
	cr_expect(!pf_ut_stale(hdr));
	cr_expect_eq(pf_ut_used(hdr), 2);
	uint32_t entry = patched_entry(site);
	cr_expect_eq(pf_ut_entry_nr(mm_host_addr(t->mm, entry), entry), SYS_getppid);
}
