/* fs_dup_close.c - dup, dup2, dup3, F_DUPFD, close and close_range on
 * file descriptors of a /tmp file: lowest-free numbering, shared offsets
 * and status flags, per-descriptor FD_CLOEXEC, and the error paths. */
#include "guest.h"

#define D "/tmp/husk-fs-dup"

static long getfd(long fd)
{
	return syscall(SYS_fcntl, fd, (long)F_GETFD);
}

static void show_open(const char *label, long lo, long hi)
{
	printf("%s:", label);
	for (long fd = lo; fd <= hi; fd++) {
		long r = getfd(fd);
		printf(" %ld=%s", fd, r < 0 ? "-" : r ? "cloexec" : "open");
	}
	printf("\n");
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	/* Start from a known table: only 0, 1 and 2 open. */
	CHECK("close_range(3, ~0U, 0)", syscall(SYS_close_range, 3L, (long)~0U, 0L));
	fresh_dir(D);
	put_file(D "/f", "0123456789", -1, 0644);

	long fd = syscall(SYS_open, D "/f", (long)O_RDWR, 0L);
	printf("first open: %ld\n", fd);
	CHECK("dup(3)", syscall(SYS_dup, 3L));
	CHECK("dup(bad)", syscall(SYS_dup, 100L));
	CHECK("dup(-1)", syscall(SYS_dup, -1L));

	/* dup shares the offset and the status flags. */
	char c;
	syscall(SYS_read, 3L, &c, 1L);
	CHECK("lseek(4, 0, SEEK_CUR) after read on 3", syscall(SYS_lseek, 4L, 0L, (long)SEEK_CUR));
	syscall(SYS_fcntl, 4L, (long)F_SETFL, (long)(O_APPEND | O_NONBLOCK));
	EXPECT("F_SETFL on 4 shows on 3", (syscall(SYS_fcntl, 3L, (long)F_GETFL) & (O_APPEND | O_NONBLOCK)) ==
					       (O_APPEND | O_NONBLOCK));
	syscall(SYS_fcntl, 4L, (long)F_SETFL, 0L);
	/* ...but not the descriptor flags. */
	syscall(SYS_fcntl, 4L, (long)F_SETFD, (long)FD_CLOEXEC);
	show_open("after F_SETFD(4, FD_CLOEXEC)", 3, 5);

	/* dup2. */
	CHECK("dup2(3, 10)", syscall(SYS_dup2, 3L, 10L));
	CHECK("dup2(3, 3) same fd", syscall(SYS_dup2, 3L, 3L));
	CHECK("dup2(50, 50) closed fd", syscall(SYS_dup2, 50L, 50L));
	CHECK("dup2(50, 11) closed source", syscall(SYS_dup2, 50L, 11L));
	CHECK("dup2(4, 10) replaces 10", syscall(SYS_dup2, 4L, 10L));
	show_open("after dup2(4,10): 10 is not cloexec", 10, 10);
	CHECK("dup2(3, -1)", syscall(SYS_dup2, 3L, -1L));
	struct k_rlimit64 rl = {0};
	syscall(SYS_prlimit64, 0L, (long)RLIMIT_NOFILE, NULL, &rl);
	CHECK("dup2(3, RLIMIT_NOFILE)", syscall(SYS_dup2, 3L, (long)rl.cur));
	EXPECT("dup2(3, RLIMIT_NOFILE - 1) returns it", syscall(SYS_dup2, 3L, (long)rl.cur - 1) == (long)rl.cur - 1);
	syscall(SYS_close, (long)rl.cur - 1);

	/* dup3. */
	CHECK("dup3(3, 12, O_CLOEXEC)", syscall(SYS_dup3, 3L, 12L, (long)O_CLOEXEC));
	show_open("after dup3", 12, 12);
	CHECK("dup3(3, 3, 0)", syscall(SYS_dup3, 3L, 3L, 0L));
	CHECK("dup3(3, 13, O_APPEND)", syscall(SYS_dup3, 3L, 13L, (long)O_APPEND));
	CHECK("dup3(3, 13, -1)", syscall(SYS_dup3, 3L, 13L, -1L));
	CHECK("dup3(50, 13, 0)", syscall(SYS_dup3, 50L, 13L, 0L));

	/* F_DUPFD finds the lowest free fd at or above its argument. */
	CHECK("F_DUPFD(3, 0)", syscall(SYS_fcntl, 3L, (long)F_DUPFD, 0L));
	CHECK("F_DUPFD(3, 10)", syscall(SYS_fcntl, 3L, (long)F_DUPFD, 10L));
	CHECK("F_DUPFD_CLOEXEC(3, 20)", syscall(SYS_fcntl, 3L, (long)F_DUPFD_CLOEXEC, 20L));
	show_open("fds 3..21", 3, 21);
	CHECK("F_DUPFD(3, -1)", syscall(SYS_fcntl, 3L, (long)F_DUPFD, -1L));
	CHECK("F_DUPFD(3, RLIMIT_NOFILE)", syscall(SYS_fcntl, 3L, (long)F_DUPFD, (long)rl.cur));

	/* close_range. */
	CHECK("close_range(20, 10, 0) first > last", syscall(SYS_close_range, 20L, 10L, 0L));
	CHECK("close_range(3, 5, 0x100) unknown flag", syscall(SYS_close_range, 3L, 5L, 0x100L));
	CHECK("close_range(10, 11, CLOSE_RANGE_CLOEXEC)",
	      syscall(SYS_close_range, 10L, 11L, (long)CLOSE_RANGE_CLOEXEC));
	show_open("after CLOSE_RANGE_CLOEXEC 10..11", 9, 12);
	CHECK("close_range(5, 6, 0) closes 5 and 6", syscall(SYS_close_range, 5L, 6L, 0L));
	show_open("after close_range(5, 6)", 3, 7);
	CHECK("close_range(30, 40, 0) nothing open", syscall(SYS_close_range, 30L, 40L, 0L));
	CHECK("close_range(11, ~0U, CLOSE_RANGE_UNSHARE)",
	      syscall(SYS_close_range, 11L, (long)~0U, (long)CLOSE_RANGE_UNSHARE));
	show_open("after close_range(11, ~0U)", 9, 21);
	CHECK("close_range(3, 3, CLOEXEC|UNSHARE)",
	      syscall(SYS_close_range, 3L, 3L, (long)(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE)));
	show_open("3 after CLOEXEC|UNSHARE", 3, 3);

	/* Closing one duplicate leaves the description open. */
	CHECK("close(3)", syscall(SYS_close, 3L));
	CHECK("read(4) after close(3)", syscall(SYS_read, 4L, &c, 1L));
	printf("read byte: %c\n", c);
	CHECK("close(3) again", syscall(SYS_close, 3L));
	CHECK("next open reuses 3", syscall(SYS_open, D "/f", (long)O_RDONLY, 0L));
	CHECK("close_range(3, ~0U, 0)", syscall(SYS_close_range, 3L, (long)~0U, 0L));
	show_open("at the end", 0, 5);
	(void)fd;
	cleanup_dir(D);
	return 0;
}
