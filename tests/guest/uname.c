/* uname.c - only sysname and machine are printed; release, version and
 * nodename are host-specific (husk reports a fixed release). */
#include "guest.h"
#include <ctype.h>
#include <sys/utsname.h>

static int terminated(const char *f, size_t n)
{
	return memchr(f, '\0', n) != NULL;
}

int main(void)
{
	GUEST_INIT();
	struct utsname u;
	memset(&u, 0x5a, sizeof u);
	CHECK("uname", syscall(SYS_uname, &u));
	printf("sysname: %s\n", u.sysname);
	printf("machine: %s\n", u.machine);
	EXPECT("sysname terminated", terminated(u.sysname, sizeof u.sysname));
	EXPECT("nodename terminated", terminated(u.nodename, sizeof u.nodename));
	EXPECT("release terminated", terminated(u.release, sizeof u.release));
	EXPECT("version terminated", terminated(u.version, sizeof u.version));
	EXPECT("machine terminated", terminated(u.machine, sizeof u.machine));
	EXPECT("release non-empty", u.release[0] != '\0');
	EXPECT("release starts with digit", isdigit((unsigned char)u.release[0]));
	EXPECT("release has a dot", strchr(u.release, '.') != NULL);
	EXPECT("version non-empty", u.version[0] != '\0');

	struct utsname v;
	CHECK("libc uname", uname(&v));
	EXPECT("libc uname same sysname", strcmp(u.sysname, v.sysname) == 0);
	EXPECT("libc uname same release", strcmp(u.release, v.release) == 0);
	EXPECT("libc uname same machine", strcmp(u.machine, v.machine) == 0);

	CHECK("uname(NULL)", syscall(SYS_uname, NULL));
	CHECK("uname(bad low)", syscall(SYS_uname, BAD_LOW));
	CHECK("uname(non-canonical)", syscall(SYS_uname, BAD_NONCANON));
	/* struct utsname is 390 bytes; a buffer running into a read-only page
	 * must fail too. */
	unsigned char *p = map_pages(2, PROT_READ | PROT_WRITE);
	if (syscall(SYS_mprotect, p + PAGE, PAGE, (long)PROT_READ) != 0)
		die("mprotect");
	CHECK("uname(straddles read-only page)", syscall(SYS_uname, p + PAGE - 100));
	CHECK("uname(fits before read-only page)",
	      syscall(SYS_uname, p + PAGE - sizeof(struct utsname)));
	return 0;
}
