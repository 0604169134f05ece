/* bigwrite.c - large single write(2) and writev(2) to stdout: the whole
 * buffer must arrive, in order, with the full count returned. */
#include "guest.h"
#include <sys/uio.h>

#define LINES 4096
#define WIDTH 64

static char big[LINES * WIDTH];

int main(void)
{
	GUEST_INIT();
	for (int i = 0; i < LINES; i++) {
		char *l = big + i * WIDTH;
		int n = snprintf(l, WIDTH, "line %05d ", i);
		for (int j = n; j < WIDTH - 1; j++)
			l[j] = (char)('a' + (i + j) % 26);
		l[WIDTH - 1] = '\n';
	}
	printf("begin single write\n");
	long n = syscall(SYS_write, 1L, big, (long)sizeof big);
	printf("single write returned full count: %s\n", n == (long)sizeof big ? "yes" : "no");

	struct iovec iov[16];
	size_t chunk = sizeof big / 16;
	for (int i = 0; i < 16; i++) {
		iov[15 - i].iov_base = big + i * chunk; /* reversed order */
		iov[15 - i].iov_len = chunk;
	}
	printf("begin writev\n");
	n = syscall(SYS_writev, 1L, iov, 16L);
	printf("writev returned full count: %s\n", n == (long)sizeof big ? "yes" : "no");
	printf("checksum: %08x\n", fnv1a(big, sizeof big));
	return 0;
}
