/* Touches memory without end and without a syscall between pages (one
 * large mapping), for the memory limit test: only the sentry's ticker can
 * catch it. */
#include <stddef.h>
#include <sys/mman.h>

int main(void)
{
	size_t len = 16UL << 30;
	volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	return 0;
}
