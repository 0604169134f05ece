/* fs_symlink.c - symlink and symlinkat: relative and absolute targets,
 * dangling links, chains (20 links are followed, 41 give ELOOP),
 * loops, symlinks in the middle of a path and with "..", trailing
 * slashes, creation through a dangling link, and the error paths. */
#include "guest.h"

#define D "/tmp/husk-fs-symlink"

static void cat(const char *label, const char *path)
{
	char buf[64] = {0};
	long n = get_file(path, buf, sizeof buf);
	if (n < 0)
		printf("%s: errno=%s\n", label, errname(errno));
	else
		printf("%s: [%s]\n", label, buf);
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 077L); /* symlinks are 0777 whatever the umask */
	fresh_dir(D);
	if (syscall(SYS_mkdir, D "/d", 0755L) || syscall(SYS_mkdir, D "/d/e", 0755L))
		die("setup");
	put_file(D "/f", "top", -1, 0644);
	put_file(D "/d/f", "in d", -1, 0644);
	put_file(D "/d/e/f", "in e", -1, 0644);

	CHECK("symlink relative", syscall(SYS_symlink, "f", D "/rel"));
	CHECK("symlink absolute", syscall(SYS_symlink, D "/d/f", D "/abs"));
	CHECK("symlink dangling", syscall(SYS_symlink, "nothing/here", D "/dangling"));
	CHECK("symlink to a dir", syscall(SYS_symlink, "d/e", D "/le"));
	CHECK("symlink with ..", syscall(SYS_symlink, "../f", D "/d/up"));
	CHECK("symlink to .", syscall(SYS_symlink, ".", D "/dot"));
	show_lstat("rel (umask 077 ignored)", D "/rel");
	cat("rel", D "/rel");
	cat("abs", D "/abs");
	cat("dangling", D "/dangling");
	cat("le/f", D "/le/f");
	cat("le/../f (.. of the target, not of the link)", D "/le/../f");
	cat("d/up", D "/d/up");
	cat("dot/dot/dot/f", D "/dot/dot/dot/f");
	cat("le/ as a file", D "/le/");
	cat("rel/ (trailing slash on a file link)", D "/rel/");

	/* Errors at creation. */
	CHECK("symlink over a file", syscall(SYS_symlink, "x", D "/f"));
	CHECK("symlink over a symlink", syscall(SYS_symlink, "x", D "/rel"));
	CHECK("symlink over a dangling symlink", syscall(SYS_symlink, "x", D "/dangling"));
	CHECK("symlink in a missing dir", syscall(SYS_symlink, "x", D "/missing/l"));
	CHECK("symlink through a file", syscall(SYS_symlink, "x", D "/f/l"));
	CHECK("symlink name with trailing slash", syscall(SYS_symlink, "x", D "/newl/"));
	CHECK("symlink empty target", syscall(SYS_symlink, "", D "/empty"));
	CHECK("symlink empty name", syscall(SYS_symlink, "x", ""));
	CHECK("symlink bad target pointer", syscall(SYS_symlink, BAD_LOW, D "/bad"));
	CHECK("symlink bad name pointer", syscall(SYS_symlink, "x", BAD_LOW));

	/* symlinkat. */
	long dfd = syscall(SYS_open, D "/d", (long)(O_RDONLY | O_DIRECTORY), 0L);
	CHECK("symlinkat(dfd, \"sl\")", syscall(SYS_symlinkat, "f", dfd, "sl"));
	cat("d/sl (relative to the link's dir)", D "/d/sl");
	CHECK("symlinkat(999, \"sl\")", syscall(SYS_symlinkat, "f", 999L, "sl"));
	CHECK("symlinkat(999, absolute)", syscall(SYS_symlinkat, "f", 999L, D "/sl-abs"));
	syscall(SYS_close, dfd);

	/* Loops. */
	CHECK("symlink loop a -> b", syscall(SYS_symlink, "loop-b", D "/loop-a"));
	CHECK("symlink loop b -> a", syscall(SYS_symlink, "loop-a", D "/loop-b"));
	CHECK("symlink self", syscall(SYS_symlink, "self", D "/self"));
	cat("loop-a", D "/loop-a");
	cat("self", D "/self");
	cat("loop-a/x", D "/loop-a/x");
	struct stat st = {0};
	CHECK("lstat loop-a", syscall(SYS_lstat, D "/loop-a", &st));
	CHECK("stat loop-a", syscall(SYS_stat, D "/loop-a", &st));
	CHECK("open loop-a O_CREAT", syscall(SYS_open, D "/loop-a", (long)(O_RDWR | O_CREAT), 0644L));
	CHECK("mkdir self/x", syscall(SYS_mkdir, D "/self/x", 0755L));
	CHECK("unlink loop-b (the link itself)", syscall(SYS_unlink, D "/loop-b"));
	cat("loop-a after unlink", D "/loop-a");

	/* A chain: c0 -> f, c1 -> c0, ... c41 -> c40.  Linux follows at
	 * most 40 symlinks in one lookup.  Lookups of exactly 40 are not
	 * tried: when Linux falls back from its RCU walk to a ref-walk it
	 * keeps counting from where the RCU walk stopped, so a 40-link
	 * lookup fails with ELOOP now and then.  20 links stay below even a
	 * doubled count; 41 always fail. */
	char name[64] = {0}, target[64] = {0};
	for (int i = 0; i <= 41; i++) {
		snprintf(name, sizeof name, D "/c%d", i);
		if (i == 0)
			snprintf(target, sizeof target, "f");
		else
			snprintf(target, sizeof target, "c%d", i - 1);
		if (syscall(SYS_symlink, target, name))
			die("chain");
	}
	cat("c19 (20 links)", D "/c19");
	cat("c40 (41 links)", D "/c40");
	CHECK("stat c40", syscall(SYS_stat, D "/c40", &st));
	CHECK("lstat c41", syscall(SYS_lstat, D "/c41", &st));
	CHECK("readlink c41 needs no resolution", syscall(SYS_readlink, D "/c41", name, sizeof name));
	/* Links in the middle of a path count towards the same limit. */
	for (int i = 0; i <= 20; i++) {
		snprintf(name, sizeof name, D "/m%d", i);
		if (i == 0)
			snprintf(target, sizeof target, "d");
		else
			snprintf(target, sizeof target, "m%d", i - 1);
		if (syscall(SYS_symlink, target, name))
			die("chain m");
	}
	cat("m19/f (20 links)", D "/m19/f");
	cat("c9 via m9/../c9: 10+10 links", D "/m9/../c9");
	cat("c20 via m19/../c20: 20+21 links", D "/m19/../c20");

	/* Creating through a dangling link creates its target. */
	CHECK("symlink to-be -> made", syscall(SYS_symlink, "made", D "/to-be"));
	long fd;
	CHECK_OK("open O_CREAT through the dangling link", fd = syscall(SYS_open, D "/to-be", (long)(O_WRONLY | O_CREAT), 0644L));
	syscall(SYS_write, fd, "new", 3L);
	syscall(SYS_close, fd);
	cat("made", D "/made");
	CHECK("symlink to-dir -> newdir", syscall(SYS_symlink, "newdir", D "/to-dir"));
	CHECK("mkdir through a dangling link", syscall(SYS_mkdir, D "/to-dir", 0755L));
	CHECK("mkdir through a dangling link, trailing slash", syscall(SYS_mkdir, D "/to-dir/", 0755L));

	cleanup_dir(D);
	return 0;
}
