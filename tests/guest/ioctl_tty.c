/* ioctl_tty.c - terminal ioctls on stdio.  The runner connects stdin to
 * /dev/null and stdout/stderr to files, so none is a terminal. */
#include "guest.h"
#include <sys/ioctl.h>
#include <termios.h>

int main(void)
{
	GUEST_INIT();
	struct termios t;
	struct winsize ws;
	char label[64];
	for (int fd = 0; fd <= 2; fd++) {
		snprintf(label, sizeof label, "TCGETS(%d)", fd);
		CHECK(label, syscall(SYS_ioctl, (long)fd, (long)TCGETS, &t));
		snprintf(label, sizeof label, "TIOCGWINSZ(%d)", fd);
		CHECK(label, syscall(SYS_ioctl, (long)fd, (long)TIOCGWINSZ, &ws));
		snprintf(label, sizeof label, "isatty(%d)", fd);
		errno = 0;
		int r = isatty(fd);
		printf("%s: %d errno=%s\n", label, r, errname(errno));
	}
	CHECK("TCGETS(1, bad)", syscall(SYS_ioctl, 1L, (long)TCGETS, BAD_LOW));
	CHECK("TCGETS(-1)", syscall(SYS_ioctl, -1L, (long)TCGETS, &t));
	CHECK("TCGETS(1000)", syscall(SYS_ioctl, 1000L, (long)TCGETS, &t));
	CHECK("TIOCGWINSZ(1000)", syscall(SYS_ioctl, 1000L, (long)TIOCGWINSZ, &ws));
	CHECK("ioctl(1, 0x5499 unknown)", syscall(SYS_ioctl, 1L, 0x5499L, &t));
	CHECK("libc tcgetattr(1)", tcgetattr(1, &t));
	return 0;
}
