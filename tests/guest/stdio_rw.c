/* stdio_rw.c - read(2) from a regular-file stdin and write(2) to stdout.
 * Reads in odd-sized chunks and echoes them back line by line. */
#include "guest.h"

int main(void)
{
	GUEST_INIT();
	char buf[4096];
	char line[256];
	size_t ll = 0, total = 0;
	long nreads = 0;
	uint32_t h = 2166136261u;

	/* A read into a bad buffer fails and must not consume input. */
	CHECK("read(0, bad, 5)", syscall(SYS_read, 0L, BAD_LOW, 5L));
	CHECK("read(0, non-canonical, 5)", syscall(SYS_read, 0L, BAD_NONCANON, 5L));
	/* Zero-length reads never touch the buffer. */
	CHECK("read(0, NULL, 0)", syscall(SYS_read, 0L, NULL, 0L));
	CHECK("read(0, bad, 0)", syscall(SYS_read, 0L, BAD_LOW, 0L));

	for (;;) {
		long n = syscall(SYS_read, 0L, buf, 7L);
		if (n < 0)
			die("read");
		if (n == 0)
			break;
		nreads++;
		for (long i = 0; i < n; i++) {
			h = (h ^ (unsigned char)buf[i]) * 16777619u;
			total++;
			if (buf[i] == '\n' || ll == sizeof line - 1) {
				line[ll] = '\0';
				printf("> [%s]\n", line);
				ll = 0;
			} else {
				line[ll++] = buf[i];
			}
		}
	}
	if (ll) {
		line[ll] = '\0';
		printf("> [%s] (no newline)\n", line);
	}
	printf("total bytes: %zu\n", total);
	printf("reads of 7 bytes: %ld\n", nreads);
	printf("checksum: %08x\n", h);
	CHECK("read at EOF", syscall(SYS_read, 0L, buf, 100L));
	CHECK("read at EOF again", syscall(SYS_read, 0L, buf, 100L));

	static const char msg[] = "raw write line\n";
	CHECK("write(1, msg)", syscall(SYS_write, 1L, msg, (long)(sizeof msg - 1)));
	CHECK("write(1, msg, 0)", syscall(SYS_write, 1L, msg, 0L));
	CHECK("write(1, NULL, 0)", syscall(SYS_write, 1L, NULL, 0L));
	/* Embedded NUL bytes go through untouched. */
	static const char nul[] = "a\0b\n";
	CHECK("write(1, with NUL)", syscall(SYS_write, 1L, nul, 4L));
	CHECK("libc write", write(1, "libc write line\n", 16));
	return 0;
}
