#define _GNU_SOURCE
/* Address spaces and guest memory access, on a real sandbox (a stub process
 * under ptrace) with no program loaded. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../kernel/sentry.h"

static struct k_task *t;

static void setup(void)
{
	struct k_config cfg = {.platform = "ptrace", .stdio = {-1, -1, -1}};
	const char *why = NULL;
	int err = k_boot(&cfg, &t, &why);
	cr_assert_eq(err, 0, "boot: %s", why ? why : "?");
}

static void teardown(void) { k_teardown(t); }

TestSuite(mm, .init = setup, .fini = teardown);

#define BASE 0x10000000UL

Test(mm, map_fixed_and_copy)
{
	int64_t a = mm_map_anon(t->mm, BASE, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, 0, MAP_FIXED);
	cr_assert_eq(a, (int64_t)BASE);
	const char msg[] = "hello guest";
	cr_expect_eq(k_copy_out(t, BASE + PAGE_SIZE - 4, msg, sizeof(msg)), 0);
	char back[sizeof(msg)];
	cr_expect_eq(k_copy_in(t, back, BASE + PAGE_SIZE - 4, sizeof(back)), 0);
	cr_expect_str_eq(back, msg);
}

Test(mm, bad_pointers_are_efault)
{
	char buf[16];
	cr_expect_eq(k_copy_in(t, buf, 0, 1), -EFAULT);
	cr_expect_eq(k_copy_in(t, buf, UINT64_MAX - 4, 16), -EFAULT);
	cr_expect_eq(k_copy_out(t, 0xdead0000, buf, 1), -EFAULT);
	mm_map_anon(t->mm, BASE, PAGE_SIZE, PROT_READ, 0, MAP_FIXED);
	cr_expect_eq(k_copy_in(t, buf, BASE, sizeof(buf)), 0);
	cr_expect_eq(k_copy_out(t, BASE, buf, 1), -EFAULT, "read-only memory is not writable");
	cr_expect_eq(k_copy_in(t, buf, BASE + PAGE_SIZE - 8, 16), -EFAULT, "runs off the end");
	mm_map_anon(t->mm, BASE + PAGE_SIZE, PAGE_SIZE, PROT_NONE, 0, MAP_FIXED);
	cr_expect_eq(k_copy_in(t, buf, BASE + PAGE_SIZE, 1), -EFAULT, "PROT_NONE");
}

Test(mm, strings)
{
	mm_map_anon(t->mm, BASE, PAGE_SIZE, PROT_READ | PROT_WRITE, 0, MAP_FIXED);
	char buf[64];
	k_copy_out(t, BASE, "abc", 4);
	cr_expect_eq(k_copy_string(t, buf, BASE, sizeof(buf)), 3);
	cr_expect_str_eq(buf, "abc");
	cr_expect_eq(k_copy_string(t, buf, BASE, 3), -ENAMETOOLONG);
	/* A string running into an unmapped page faults rather than reading on. */
	char fill[8];
	memset(fill, 'x', sizeof(fill));
	k_copy_out(t, BASE + PAGE_SIZE - 8, fill, 8);
	cr_expect_eq(k_copy_string(t, buf, BASE + PAGE_SIZE - 8, sizeof(buf)), -EFAULT);
}

Test(mm, protect_splits_and_merges)
{
	mm_map_anon(t->mm, BASE, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, 0, MAP_FIXED);
	size_t n0 = t->mm->n;
	cr_expect_eq(mm_protect(t->mm, BASE + PAGE_SIZE, PAGE_SIZE, PROT_READ), 0);
	cr_expect_eq(t->mm->n, n0 + 2);
	cr_expect_eq(mm_protect(t->mm, BASE + PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
	cr_expect_eq(t->mm->n, n0, "equal neighbours merge again");
	cr_expect_eq(mm_protect(t->mm, BASE + 3 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ), -ENOMEM,
		     "a hole in the range");
}

Test(mm, prot_none_has_no_backing_until_needed)
{
	uint64_t before = t->k->mem.allocated;
	int64_t a = mm_map_anon(t->mm, 0, 1UL << 34, PROT_NONE, 0, 0);
	cr_assert_gt(a, 0);
	cr_expect_eq(t->k->mem.allocated, before, "a 16 GiB reservation costs no memory file");
	cr_expect_eq(mm_protect(t->mm, (uint64_t)a, PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
	cr_expect_eq(t->k->mem.allocated, before + PAGE_SIZE);
	cr_expect_eq(k_copy_out(t, (uint64_t)a, "x", 1), 0);
	cr_expect_eq(mm_unmap(t->mm, (uint64_t)a, 1UL << 34), 0);
	cr_expect_eq(t->k->mem.allocated, before);
}

Test(mm, unmap_middle_and_refs)
{
	mm_map_anon(t->mm, BASE, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, 0, MAP_FIXED);
	uint64_t used = t->k->mem.allocated;
	cr_expect_eq(mm_unmap(t->mm, BASE + PAGE_SIZE, PAGE_SIZE), 0);
	cr_expect_null(mm_find(t->mm, BASE + PAGE_SIZE));
	cr_expect_not_null(mm_find(t->mm, BASE));
	cr_expect_not_null(mm_find(t->mm, BASE + 2 * PAGE_SIZE));
	cr_expect_eq(t->k->mem.allocated, used, "pieces keep the object alive");
	mm_unmap(t->mm, BASE, 3 * PAGE_SIZE);
	cr_expect_eq(t->k->mem.allocated, used - 3 * PAGE_SIZE, "the last piece frees it");
}

Test(mm, remap_moves_without_copy_and_grows)
{
	mm_map_anon(t->mm, BASE, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, 0, MAP_FIXED);
	k_copy_out(t, BASE + PAGE_SIZE, "moved", 6);
	int64_t to = mm_remap(t->mm, BASE, 2 * PAGE_SIZE, 2 * PAGE_SIZE,
			      MREMAP_MAYMOVE | MREMAP_FIXED, 0x20000000UL);
	cr_assert_eq(to, 0x20000000L);
	char buf[6];
	cr_expect_eq(k_copy_in(t, buf, 0x20000000UL + PAGE_SIZE, 6), 0);
	cr_expect_str_eq(buf, "moved");
	cr_expect_null(mm_find(t->mm, BASE));
	/* Block growth in place, so that growing must move. */
	mm_map_anon(t->mm, 0x20000000UL + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ, 0, MAP_FIXED);
	cr_expect_eq(mm_remap(t->mm, 0x20000000UL, 2 * PAGE_SIZE, 8 * PAGE_SIZE, 0, 0), -ENOMEM);
	int64_t grown = mm_remap(t->mm, 0x20000000UL, 2 * PAGE_SIZE, 8 * PAGE_SIZE,
				 MREMAP_MAYMOVE, 0);
	cr_assert_gt(grown, 0);
	cr_expect_eq(k_copy_in(t, buf, (uint64_t)grown + PAGE_SIZE, 6), 0);
	cr_expect_str_eq(buf, "moved");
	struct k_vma *v = mm_find(t->mm, (uint64_t)grown);
	cr_expect_eq(v->end - v->start, 8 * PAGE_SIZE, "still one VMA");
}

Test(mm, find_free_respects_limits)
{
	cr_expect_eq(mm_find_free(t->mm, 1UL << 50, 0, 0), -ENOMEM);
	int64_t low = mm_map_anon(t->mm, 0, PAGE_SIZE, PROT_READ, 0, MAP_32BIT);
	cr_assert_gt(low, 0);
	cr_expect_lt((uint64_t)low, 0x80000000UL);
	cr_expect_eq(mm_map_anon(t->mm, 0x1000, PAGE_SIZE, PROT_READ, 0, MAP_FIXED), -EPERM);
	cr_expect_eq(mm_map_anon(t->mm, pf_guest_max(), PAGE_SIZE, PROT_READ, 0, MAP_FIXED),
		     -ENOMEM, "the stub's page is not the guest's");
}

Test(mm, guest_iov_stops_at_holes)
{
	mm_map_anon(t->mm, BASE, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, 0, MAP_FIXED);
	mm_map_anon(t->mm, BASE + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ, 0, MAP_FIXED);
	struct iovec iov[4];
	int n;
	cr_expect_eq(k_guest_iov(t->mm, BASE, 5 * PAGE_SIZE, false, iov, 4, &n), 3 * PAGE_SIZE);
	cr_expect_eq(k_guest_iov(t->mm, BASE, 5 * PAGE_SIZE, true, iov, 4, &n), 2 * PAGE_SIZE);
	cr_expect_eq(n, 1, "one contiguous piece of the memory file");
}

Test(mm, address_spaces_from_one_template_are_separate)
{
	/* A second address space of the sandbox (a fork of its template
	 * process): the same address holds different memory in each. */
	struct k_mm *other;
	cr_assert_eq(mm_new(t->k, &other), 0);
	cr_assert_eq(mm_map_anon(t->mm, BASE, PAGE_SIZE, PROT_READ | PROT_WRITE, 0, MAP_FIXED),
		     (int64_t)BASE);
	cr_assert_eq(mm_map_anon(other, BASE, PAGE_SIZE, PROT_READ | PROT_WRITE, 0, MAP_FIXED),
		     (int64_t)BASE);
	k_copy_out(t, BASE, "first", 6);
	struct k_mm *mine = t->mm;
	t->mm = other;
	k_copy_out(t, BASE, "other", 6);
	char buf[6];
	k_copy_in(t, buf, BASE, 6);
	cr_expect_str_eq(buf, "other");
	t->mm = mine;
	k_copy_in(t, buf, BASE, 6);
	cr_expect_str_eq(buf, "first");
	mm_free(other);
}
