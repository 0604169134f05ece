/* stdio_errors.c - error paths of read/write/close on the stdio fds.
 * The runner gives this program /dev/null as stdin (opened read-only);
 * stdout and stderr are write-only files. */
#include "guest.h"
#include <sys/stat.h>

int main(void)
{
	GUEST_INIT();
	char buf[16];
	struct stat st;

	if (syscall(SYS_fstat, 0L, &st) == 0)
		EXPECT("stdin is a char device", S_ISCHR(st.st_mode));
	CHECK("read(/dev/null)", syscall(SYS_read, 0L, buf, 16L));
	CHECK("read(/dev/null, bad buf)", syscall(SYS_read, 0L, BAD_LOW, 16L));
	CHECK("write(0) read-only fd", syscall(SYS_write, 0L, "x", 1L));
	CHECK("read(1) write-only fd", syscall(SYS_read, 1L, buf, 1L));
	CHECK("read(2) write-only fd", syscall(SYS_read, 2L, buf, 1L));
	CHECK("read(1, buf, 0) write-only fd", syscall(SYS_read, 1L, buf, 0L));
	CHECK("write(-1)", syscall(SYS_write, -1L, "x", 1L));
	CHECK("write(1000)", syscall(SYS_write, 1000L, "x", 1L));
	CHECK("read(1000)", syscall(SYS_read, 1000L, buf, 1L));
	CHECK("read(-1)", syscall(SYS_read, -1L, buf, 1L));
	CHECK("write(1000, bad, 1)", syscall(SYS_write, 1000L, BAD_LOW, 1L));
	CHECK("write(1, bad low, 10)", syscall(SYS_write, 1L, BAD_LOW, 10L));
	CHECK("write(1, non-canonical, 10)", syscall(SYS_write, 1L, BAD_NONCANON, 10L));
	CHECK("write(1, bad, 0)", syscall(SYS_write, 1L, BAD_LOW, 0L));
	CHECK("write(0, bad, 1) read-only fd", syscall(SYS_write, 0L, BAD_LOW, 1L));
	CHECK("close(-1)", syscall(SYS_close, -1L));
	CHECK("close(1000)", syscall(SYS_close, 1000L));
	CHECK("close(0)", syscall(SYS_close, 0L));
	CHECK("close(0) again", syscall(SYS_close, 0L));
	CHECK("read(0) after close", syscall(SYS_read, 0L, buf, 1L));
	CHECK("fstat(0) after close", syscall(SYS_fstat, 0L, &st));
	CHECK("close(2)", syscall(SYS_close, 2L));
	CHECK("write(2) after close", syscall(SYS_write, 2L, "x", 1L));
	CHECK("write(1) still works", syscall(SYS_write, 1L, "ok\n", 3L));
	return 0;
}
