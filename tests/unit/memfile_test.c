#define _GNU_SOURCE
/* The memory file's range allocator. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../kernel/sentry.h"

#define MB (1UL << 20)

static struct k_memfile mf;

static void setup(void) { cr_assert_eq(memfile_init(&mf, 64 * MB), 0); }
static void teardown(void) { memfile_destroy(&mf); }

TestSuite(memfile, .init = setup, .fini = teardown);

Test(memfile, alloc_is_first_fit_and_page_granular)
{
	cr_expect_eq(memfile_alloc(&mf, 0), -EINVAL);
	cr_expect_eq(memfile_alloc(&mf, 100), -EINVAL);
	int64_t a = memfile_alloc(&mf, 4 * PAGE_SIZE), b = memfile_alloc(&mf, PAGE_SIZE);
	cr_expect_eq(a, 0);
	cr_expect_eq(b, (int64_t)(4 * PAGE_SIZE));
	cr_expect_eq(mf.allocated, 5 * PAGE_SIZE);
}

Test(memfile, exhaustion_is_enomem)
{
	cr_expect_eq(memfile_alloc(&mf, 64 * MB), 0);
	cr_expect_eq(memfile_alloc(&mf, PAGE_SIZE), -ENOMEM);
}

Test(memfile, free_coalesces_and_zeroes)
{
	int64_t a = memfile_alloc(&mf, PAGE_SIZE), b = memfile_alloc(&mf, PAGE_SIZE),
		c = memfile_alloc(&mf, PAGE_SIZE);
	memset(mf.base + b, 0xab, PAGE_SIZE);
	memfile_free(&mf, (uint64_t)a, PAGE_SIZE);
	memfile_free(&mf, (uint64_t)c, PAGE_SIZE);
	memfile_free(&mf, (uint64_t)b, PAGE_SIZE);
	cr_expect_eq(mf.nfree, 1, "all free ranges merge into one");
	cr_expect_eq(mf.allocated, 0);
	cr_expect_eq(mf.base[b], 0, "freed pages read as zero");
	cr_expect_eq(memfile_alloc(&mf, 3 * PAGE_SIZE), 0);
}

Test(memfile, extend_in_place_only_when_free)
{
	int64_t a = memfile_alloc(&mf, PAGE_SIZE);
	cr_expect_eq(memfile_extend(&mf, (uint64_t)a, PAGE_SIZE, 3 * PAGE_SIZE), 0);
	int64_t b = memfile_alloc(&mf, PAGE_SIZE);
	cr_expect_eq(b, (int64_t)(3 * PAGE_SIZE));
	cr_expect_eq(memfile_extend(&mf, (uint64_t)a, 3 * PAGE_SIZE, 4 * PAGE_SIZE), -ENOMEM);
}

Test(memfile, copy_keeps_holes)
{
	int64_t src = memfile_alloc(&mf, 4 * PAGE_SIZE), dst = memfile_alloc(&mf, 4 * PAGE_SIZE);
	memset(mf.base + src + 2 * PAGE_SIZE, 7, PAGE_SIZE);
	memfile_copy(&mf, (uint64_t)dst, (uint64_t)src, 4 * PAGE_SIZE);
	cr_expect_eq(mf.base[dst + 2 * PAGE_SIZE], 7);
	cr_expect_eq(mf.base[dst + 2 * PAGE_SIZE + PAGE_SIZE - 1], 7);
	cr_expect_eq(mf.base[dst], 0);
}

Test(memfile, many_fragments)
{
	int64_t offs[200];
	for (int i = 0; i < 200; i++)
		offs[i] = memfile_alloc(&mf, PAGE_SIZE);
	for (int i = 0; i < 200; i += 2)
		memfile_free(&mf, (uint64_t)offs[i], PAGE_SIZE);
	cr_expect_geq(mf.nfree, 100);
	for (int i = 1; i < 200; i += 2)
		memfile_free(&mf, (uint64_t)offs[i], PAGE_SIZE);
	cr_expect_eq(mf.nfree, 1);
}
