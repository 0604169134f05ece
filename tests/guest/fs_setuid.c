/* fs_setuid.c - dropping root for good with setgid(65534) then
 * setuid(65534): the ids cannot come back, root's files refuse access,
 * the owner's own mode bits bind the owner too, and the unprivileged
 * user removes its own scratch tree (its directory in the sticky /tmp).
 * Everything of root's is removed before the drop. */
#include "guest.h"

#define D "/tmp/husk-fs-setuid"
#define NB 65534L

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 0L);
	if (syscall(SYS_setgroups, 0L, NULL) || syscall(SYS_setresgid, 0L, 0L, 0L) ||
	    syscall(SYS_setresuid, 0L, 0L, 0L))
		die("root ids");
	struct stat st = {0};
	syscall(SYS_stat, "/tmp", &st);
	printf("/tmp: %s mode=%04o uid=%ld\n", mode_type(st.st_mode), (unsigned)(st.st_mode & 07777), (long)st.st_uid);
	fresh_dir(D);
	if (rm_tree(D "-2") != 0)
		die("remove an old " D "-2");
	put_file(D "/rootfile", "root's", -1, 0600);
	if (syscall(SYS_mkdir, D "/sub", 0700L) || syscall(SYS_chown, D, NB, NB) ||
	    syscall(SYS_chown, D "/sub", NB, NB))
		die("setup");

	CHECK("setgid(65534)", syscall(SYS_setgid, NB));
	CHECK("setuid(65534)", syscall(SYS_setuid, NB));
	unsigned r, e, s;
	syscall(SYS_getresuid, &r, &e, &s);
	printf("uids %u/%u/%u", r, e, s);
	syscall(SYS_getresgid, &r, &e, &s);
	printf(" gids %u/%u/%u\n", r, e, s);
	CHECK("setuid(0)", syscall(SYS_setuid, 0L));
	CHECK("setresuid(-1, 0, -1)", syscall(SYS_setresuid, -1L, 0L, -1L));
	CHECK("setgid(0)", syscall(SYS_setgid, 0L));
	CHECK("setuid(65534) (no change)", syscall(SYS_setuid, NB));
	CHECK("setgroups(0, NULL)", syscall(SYS_setgroups, 0L, NULL));

	CHECK("open rootfile", syscall(SYS_open, D "/rootfile", (long)O_RDONLY, 0L));
	CHECK("chmod rootfile", syscall(SYS_chmod, D "/rootfile", 0644L));
	CHECK("chown rootfile", syscall(SYS_chown, D "/rootfile", NB, NB));
	CHECK("access rootfile R_OK", syscall(SYS_access, D "/rootfile", (long)R_OK));
	CHECK("access rootfile F_OK", syscall(SYS_access, D "/rootfile", (long)F_OK));
	/* A root-owned file in a directory of ours can still be removed. */
	CHECK("unlink rootfile (our directory)", syscall(SYS_unlink, D "/rootfile"));

	put_file(D "/sub/f", "mine", -1, 0644);
	show_lstat("sub/f", D "/sub/f");
	CHECK("chmod sub/f 0", syscall(SYS_chmod, D "/sub/f", 0L));
	CHECK("open sub/f O_RDONLY (mode 0, the owner)", syscall(SYS_open, D "/sub/f", (long)O_RDONLY, 0L));
	CHECK("access sub/f R_OK", syscall(SYS_access, D "/sub/f", (long)R_OK));
	CHECK("chmod sub 0500", syscall(SYS_chmod, D "/sub", 0500L));
	CHECK("create in sub (no write bit)", syscall(SYS_open, D "/sub/g", (long)(O_RDWR | O_CREAT), 0644L));
	CHECK("unlink sub/f (no write bit)", syscall(SYS_unlink, D "/sub/f"));
	CHECK("chmod sub 0", syscall(SYS_chmod, D "/sub", 0L));
	CHECK("stat sub/f (no search bit)", syscall(SYS_stat, D "/sub/f", &st));
	CHECK("chmod sub 0700", syscall(SYS_chmod, D "/sub", 0700L));
	CHECK("create in /", syscall(SYS_open, "/husk-fs-setuid-nope", (long)(O_RDWR | O_CREAT), 0644L));
	CHECK("mkdir in /tmp (sticky, world-writable)", syscall(SYS_mkdir, D "-2", 0755L));
	CHECK("rmdir it", syscall(SYS_rmdir, D "-2"));
	CHECK("rmdir /tmp itself", syscall(SYS_rmdir, "/tmp"));

	/* Our own cleanup, unprivileged. */
	CHECK("remove the tree as 65534", rm_tree(D));
	CHECK("stat it", syscall(SYS_stat, D, &st));
	return 0;
}
