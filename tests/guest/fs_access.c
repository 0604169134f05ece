/* fs_access.c - access, faccessat and faccessat2: what root may do
 * (everything but X_OK on a file without any x bit), the mode and flag
 * checks, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, and, with only the
 * effective uid dropped to 65534, the difference between the real ids
 * (access) and the effective ones (AT_EACCESS); then with all ids
 * dropped (the saved uid stays 0 so that root comes back for cleanup). */
#include "guest.h"

#define D "/tmp/husk-fs-access"
#define NOBODY 65534L

static const char *files[] = {"r", "w", "x", "g-x", "none", "all", "dir-0700/inner", "dir-0700",
			      "dir-0500", "link-none", "dangling"};
static const int modes[] = {F_OK, R_OK, W_OK, X_OK, R_OK | W_OK};
static const char *mnames[] = {"F", "R", "W", "X", "RW"};

static void table(const char *label, long flags, int use2)
{
	printf("%s:\n", label);
	for (unsigned i = 0; i < sizeof files / sizeof *files; i++) {
		char path[128] = {0};
		snprintf(path, sizeof path, D "/%s", files[i]);
		printf("  %-15s", files[i]);
		for (unsigned m = 0; m < sizeof modes / sizeof *modes; m++) {
			long r = use2 ? syscall(SYS_faccessat2, (long)AT_FDCWD, path, (long)modes[m], flags)
				      : syscall(SYS_access, path, (long)modes[m]);
			printf(" %s=%s", mnames[m], r == 0 ? "ok" : errname(errno));
		}
		printf("\n");
	}
}

static void ids(const char *label)
{
	unsigned r, e, s, gr, ge, gs;
	syscall(SYS_getresuid, &r, &e, &s);
	syscall(SYS_getresgid, &gr, &ge, &gs);
	printf("%s: uid %u/%u/%u gid %u/%u/%u\n", label, r, e, s, gr, ge, gs);
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 0L);
	/* Known starting ids (root, as the runner provides), and no
	 * supplementary groups. */
	if (syscall(SYS_setgroups, 0L, NULL) || syscall(SYS_setresgid, 0L, 0L, 0L) ||
	    syscall(SYS_setresuid, 0L, 0L, 0L))
		die("setresuid(0)");
	fresh_dir(D);
	put_file(D "/r", "r", -1, 0400);
	put_file(D "/w", "w", -1, 0200);
	put_file(D "/x", "x", -1, 0100);
	put_file(D "/g-x", "x", -1, 0010);
	put_file(D "/none", "n", -1, 0000);
	put_file(D "/all", "a", -1, 0777);
	if (syscall(SYS_mkdir, D "/dir-0700", 0700L) || syscall(SYS_mkdir, D "/dir-0500", 0500L) ||
	    syscall(SYS_symlink, "none", D "/link-none") ||
	    syscall(SYS_symlink, "missing", D "/dangling"))
		die("setup");
	put_file(D "/dir-0700/inner", "i", -1, 0666);

	table("root, access", 0, 0);

	/* Argument checks. */
	CHECK("access mode 8", syscall(SYS_access, D "/all", 8L));
	CHECK("access mode -1", syscall(SYS_access, D "/all", -1L));
	CHECK("access empty path", syscall(SYS_access, "", (long)F_OK));
	CHECK("access bad pointer", syscall(SYS_access, BAD_LOW, (long)F_OK));
	CHECK("access f/x", syscall(SYS_access, D "/all/x", (long)F_OK));
	CHECK("faccessat (3 args) dangling", syscall(SYS_faccessat, (long)AT_FDCWD, D "/dangling", (long)F_OK));
	CHECK("faccessat2 flags 0x1", syscall(SYS_faccessat2, (long)AT_FDCWD, D "/all", (long)F_OK, 1L));
	CHECK("faccessat2 AT_SYMLINK_FOLLOW (invalid)",
	      syscall(SYS_faccessat2, (long)AT_FDCWD, D "/all", (long)F_OK, (long)AT_SYMLINK_FOLLOW));
	CHECK("faccessat2 AT_SYMLINK_NOFOLLOW dangling",
	      syscall(SYS_faccessat2, (long)AT_FDCWD, D "/dangling", (long)F_OK, (long)AT_SYMLINK_NOFOLLOW));
	CHECK("faccessat2 AT_SYMLINK_NOFOLLOW link-none X_OK",
	      syscall(SYS_faccessat2, (long)AT_FDCWD, D "/link-none", (long)X_OK, (long)AT_SYMLINK_NOFOLLOW));
	long fd = syscall(SYS_open, D "/none", (long)O_PATH, 0L);
	CHECK("faccessat2(fd, \"\", F_OK, AT_EMPTY_PATH)",
	      syscall(SYS_faccessat2, fd, "", (long)F_OK, (long)AT_EMPTY_PATH));
	CHECK("faccessat2(fd, \"\", X_OK, AT_EMPTY_PATH)",
	      syscall(SYS_faccessat2, fd, "", (long)X_OK, (long)AT_EMPTY_PATH));
	CHECK("faccessat2(fd, \"\", F_OK, 0)", syscall(SYS_faccessat2, fd, "", (long)F_OK, 0L));
	syscall(SYS_close, fd);
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("faccessat(dfd, \"r\", R_OK)", syscall(SYS_faccessat, dfd, "r", (long)R_OK));
	CHECK("faccessat(999, \"r\", R_OK)", syscall(SYS_faccessat, 999L, "r", (long)R_OK));

	/* Effective uid and gid 65534, real and saved still 0. */
	if (syscall(SYS_setresgid, -1L, NOBODY, -1L) || syscall(SYS_setresuid, -1L, NOBODY, -1L))
		die("drop effective ids");
	ids("effective dropped");
	table("euid 65534: access (real ids)", 0, 0);
	table("euid 65534: faccessat2 AT_EACCESS", AT_EACCESS, 1);
	CHECK("open r as euid 65534", syscall(SYS_open, D "/r", (long)O_RDONLY, 0L));

	/* Back to root, then all ids 65534 but the saved uid. */
	if (syscall(SYS_setresuid, -1L, 0L, -1L) || syscall(SYS_setresgid, NOBODY, NOBODY, NOBODY) ||
	    syscall(SYS_setresuid, NOBODY, NOBODY, 0L))
		die("drop all ids");
	ids("all dropped");
	table("uid 65534: access", 0, 0);
	table("uid 65534: faccessat2 AT_EACCESS", AT_EACCESS, 1);
	CHECK("faccessat(dfd, \"dir-0700/inner\", F_OK)", syscall(SYS_faccessat, dfd, "dir-0700/inner", (long)F_OK));

	/* Root again. */
	if (syscall(SYS_setresuid, 0L, 0L, 0L) || syscall(SYS_setresgid, 0L, 0L, 0L))
		die("regain root");
	ids("restored");
	CHECK("access none R_OK as root again", syscall(SYS_access, D "/none", (long)R_OK));
	syscall(SYS_close, dfd);
	cleanup_dir(D);
	return 0;
}
