/* malloc.c - libc's allocator on top of brk/mmap/munmap/mremap: many
 * sizes, realloc growth (glibc moves big blocks with mremap), calloc
 * zeroing, free and reuse.  Prints checksums of the data only. */
#include "guest.h"

int main(void)
{
	GUEST_INIT();
	static const size_t sizes[] = {1, 16, 100, 4000, 4096, 65536, 200000, 1 << 20, 8 << 20};
	unsigned char *blk[9];
	for (int i = 0; i < 9; i++) {
		blk[i] = malloc(sizes[i]);
		if (!blk[i])
			die("malloc");
		fill_pattern(blk[i], sizes[i], (unsigned)i);
	}
	for (int i = 0; i < 9; i++)
		printf("malloc(%zu) checksum: %08x\n", sizes[i], fnv1a(blk[i], sizes[i]));

	/* Grow one block through several reallocs; the prefix must survive. */
	size_t n = 1000;
	unsigned char *r = malloc(n);
	fill_pattern(r, n, 99);
	uint32_t pre = fnv1a(r, n), pre500 = fnv1a(r, 500);
	for (size_t sz = 4096; sz <= (32u << 20); sz *= 4) {
		r = realloc(r, sz);
		if (!r)
			die("realloc");
		memset(r + n, 0x5c, sz - n);
		if (fnv1a(r, 1000) != pre)
			printf("realloc(%zu) lost data\n", sz);
		n = sz;
	}
	printf("realloc chain final size: %zu, prefix kept: %s\n", n,
	       fnv1a(r, 1000) == pre ? "yes" : "no");
	r = realloc(r, 500);
	EXPECT("shrink keeps prefix", r != NULL && fnv1a(r, 500) == pre500);
	free(r);

	unsigned char *z = calloc(3 << 20, 1);
	int zero = z != NULL;
	for (size_t i = 0; z && i < (3u << 20); i += 4096)
		if (z[i]) zero = 0;
	EXPECT("calloc(3 MiB) zeroed", zero);
	free(z);

	for (int i = 0; i < 9; i++)
		free(blk[i]);
	/* Churn: many small allocations freed in a scattered order. */
	void *ptrs[2000];
	uint32_t h = 0;
	for (int i = 0; i < 2000; i++) {
		size_t sz = 8 + (size_t)(i * 37 % 1024);
		ptrs[i] = malloc(sz);
		memset(ptrs[i], i & 0xff, sz);
		h = h * 33 + ((unsigned char *)ptrs[i])[sz - 1];
	}
	for (int i = 0; i < 2000; i += 2)
		free(ptrs[i]);
	for (int i = 1; i < 2000; i += 2)
		free(ptrs[i]);
	printf("churn checksum: %08x\n", h);
	return 0;
}
