/* getcwd.c - the runner starts every test in "/", which is also husk's
 * fixed working directory.  Raw getcwd returns the length including the
 * NUL. */
#include "guest.h"

int main(void)
{
	GUEST_INIT();
	char buf[4096];
	memset(buf, 'x', sizeof buf);
	CHECK("getcwd(buf, 4096)", syscall(SYS_getcwd, buf, 4096L));
	printf("cwd: %s\n", buf);
	EXPECT("byte after NUL untouched", buf[2] == 'x');
	memset(buf, 'x', sizeof buf);
	CHECK("getcwd(buf, 2)", syscall(SYS_getcwd, buf, 2L));
	CHECK("getcwd(buf, 1)", syscall(SYS_getcwd, buf, 1L));
	CHECK("getcwd(buf, 0)", syscall(SYS_getcwd, buf, 0L));
	CHECK("getcwd(NULL, 0)", syscall(SYS_getcwd, NULL, 0L));
	CHECK("getcwd(NULL, 4096)", syscall(SYS_getcwd, NULL, 4096L));
	CHECK("getcwd(bad, 4096)", syscall(SYS_getcwd, BAD_LOW, 4096L));
	CHECK("getcwd(bad, 1)", syscall(SYS_getcwd, BAD_LOW, 1L));
	CHECK("getcwd(buf, -1)", syscall(SYS_getcwd, buf, -1L));
	unsigned char *ro = map_pages(1, PROT_READ);
	CHECK("getcwd(read-only, 64)", syscall(SYS_getcwd, ro, 64L));

	char *s = getcwd(buf, sizeof buf);
	printf("libc getcwd: %s\n", s ? s : "(null)");
	char *d = getcwd(NULL, 0);
	printf("libc getcwd(NULL, 0): %s\n", d ? d : "(null)");
	free(d);
	errno = 0;
	s = getcwd(buf, 1);
	printf("libc getcwd(buf, 1): %s errno=%s\n", s ? s : "(null)", errname(errno));
	return 0;
}
