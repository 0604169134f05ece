#define _GNU_SOURCE
/* /proc and /sys on a booted sandbox (no program loaded): each mounted on
 * a directory of the root tmpfs and read through the VFS as the guest's
 * calls would, with hostile offsets and sizes. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include "../../kernel/sentry.h"

static struct k_task *t;

#define P "/ptest"
#define S "/stest"

static void mount_on(const char *name, struct k_super *sb, struct k_inode *root)
{
	struct k_path r = t->fs->root;
	int err = 0;
	struct k_dentry *d = dentry_lookup(r.d, name, &err);
	cr_assert_not_null(d);
	if (!d->inode) {
		struct k_inode *dir = r.d->inode, *ino;
		struct k_cred cred = {0};
		cr_assert_eq(dir->ops->mkdir(dir, name, 0755, &cred, &ino), 0);
		dentry_instantiate(d, ino);
		inode_put(ino);
	}
	struct k_dentry *rd = dentry_root(root);
	inode_put(root);
	struct k_path at = {r.mnt, d};
	cr_assert_eq(mount_add(t->k, &at, sb, rd, MS_NOSUID | MS_NODEV | MS_NOEXEC, sb->type, NULL),
		     0);
	dentry_put(rd);
	super_put(sb);
	dentry_put(d);
}

static void setup(void)
{
	struct k_config cfg = {.platform = "ptrace", .stdio = {-1, -1, -1}, .hostname = "box"};
	const char *why = NULL;
	int err = k_boot(&cfg, &t, &why);
	cr_assert_eq(err, 0, "boot: %s", why ? why : "?");
	struct k_super *sb;
	struct k_inode *root;
	cr_assert_eq(procfs_new(t, &sb, &root), 0);
	mount_on(P + 1, sb, root);
	cr_assert_eq(sysfs_new(t->k, &sb, &root), 0);
	mount_on(S + 1, sb, root);
}

static void teardown(void) { k_teardown(t); }

TestSuite(procfs, .init = setup, .fini = teardown);

static int open_path(const char *path, int flags, struct k_file **f)
{
	struct k_path p;
	int err = path_lookup(t, AT_FDCWD, path, LOOKUP_FOLLOW, &p);
	if (err)
		return err;
	err = vfs_open_path(t, &p, flags, f);
	path_put(&p);
	return err;
}

/* The whole file, read a chunk at a time; NUL-terminated. */
static char *slurp_chunks(const char *path, size_t chunk, ssize_t *len)
{
	struct k_file *f;
	int err = open_path(path, O_RDONLY, &f);
	if (err) {
		*len = err;
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (n + chunk > cap) {
			cap = 2 * (n + chunk);
			buf = realloc(buf, cap + 1);
		}
		ssize_t r = k_file_pread(f, buf + n, chunk, (int64_t)n);
		cr_assert_geq(r, 0, "%s: %zd", path, r);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	*len = (ssize_t)n;
	file_put(f);
	return buf;
}

static char *slurp(const char *path)
{
	ssize_t n;
	char *s = slurp_chunks(path, 4096, &n);
	cr_assert_not_null(s, "%s: %zd", path, n);
	return s;
}

static int readlink_path(const char *path, char *buf, size_t size)
{
	struct k_path p;
	int err = path_lookup(t, AT_FDCWD, path, 0, &p);
	if (err)
		return err;
	struct k_inode *ino = p.d->inode;
	int n = S_ISLNK(ino->mode) && ino->ops->readlink ? ino->ops->readlink(ino, buf, size) : -EINVAL;
	path_put(&p);
	if (n >= 0 && (size_t)n < size)
		buf[n] = 0;
	return n;
}

struct names {
	char v[256][64];
	int64_t next[256];
	int n;
	int room; /* entries to take before saying "full" (-1: all) */
};

static int collect(void *ctx, const char *name, size_t len, uint64_t ino, unsigned type,
		   int64_t next)
{
	(void)ino, (void)type;
	struct names *nm = ctx;
	if (nm->room == 0 || nm->n == 256)
		return 1;
	if (nm->room > 0)
		nm->room--;
	snprintf(nm->v[nm->n], sizeof(nm->v[0]), "%.*s", (int)len, name);
	nm->next[nm->n++] = next;
	return 0;
}

static bool has(const struct names *nm, const char *name)
{
	for (int i = 0; i < nm->n; i++)
		if (strcmp(nm->v[i], name) == 0)
			return true;
	return false;
}

static void list_dir(const char *path, struct names *nm, int room_each)
{
	struct k_path p;
	cr_assert_eq(path_lookup(t, AT_FDCWD, path, LOOKUP_FOLLOW, &p), 0, "%s", path);
	struct k_inode *ino = p.d->inode;
	memset(nm, 0, sizeof(*nm));
	int64_t pos = 0;
	for (int rounds = 0; rounds < 10000; rounds++) {
		int before = nm->n;
		nm->room = room_each;
		cr_assert_eq(ino->ops->iterate(ino, &pos, collect, nm), 0);
		if (nm->n == before)
			break;
	}
	path_put(&p);
}

/* A tmpfs file /tmp/name, opened and installed as an fd. */
static int make_file(const char *name, struct k_dentry **dent)
{
	struct k_path tmp;
	cr_assert_eq(path_lookup(t, AT_FDCWD, "/tmp", LOOKUP_FOLLOW, &tmp), 0);
	int err = 0;
	struct k_dentry *d = dentry_lookup(tmp.d, name, &err);
	cr_assert_not_null(d);
	struct k_inode *dir = tmp.d->inode, *ino;
	struct k_cred cred = {0};
	cr_assert_eq(dir->ops->create(dir, name, S_IFREG | 0644, 0, &cred, &ino), 0);
	dentry_instantiate(d, ino);
	inode_put(ino);
	struct k_path fp = {tmp.mnt, d};
	struct k_file *f;
	cr_assert_eq(vfs_open_path(t, &fp, O_RDWR, &f), 0);
	int fd = fdt_install(t, f, 0, false);
	cr_assert_geq(fd, 0);
	file_put(f);
	*dent = d; /* the caller's reference */
	path_put(&tmp);
	return fd;
}

Test(procfs, self_and_thread_self)
{
	char buf[64];
	cr_expect_eq(readlink_path(P "/self", buf, sizeof(buf)), 1);
	cr_expect_str_eq(buf, "1");
	cr_expect_eq(readlink_path(P "/thread-self", buf, sizeof(buf)), 8);
	cr_expect_str_eq(buf, "1/task/1");
	cr_expect_eq(readlink_path(P "/mounts", buf, sizeof(buf)), 11);
	/* A short buffer gets the start. */
	cr_expect_eq(readlink_path(P "/thread-self", buf, 3), 3);
	char *s = slurp(P "/thread-self/status");
	cr_expect(strstr(s, "\nPid:\t1\n") != NULL, "%s", s);
	free(s);
}

Test(procfs, status_fields)
{
	strcpy(t->comm, "a\\b\nc");
	t->sigmask = SIGBIT(SIGUSR1);
	t->tg->act[SIGINT].handler = (uint64_t)(uintptr_t)SIG_IGN;
	t->tg->act[SIGTERM].handler = 0x401000;
	char *s = slurp(P "/self/status");
	const char *head = "Name:\ta\\\\b\\nc\nUmask:\t0022\nState:\tR (running)\nTgid:\t1\n";
	cr_expect(strncmp(s, head, strlen(head)) == 0, "%s", s);
	static const char *keys[] = {"Ngid:", "Pid:", "PPid:", "TracerPid:", "Uid:", "Gid:",
				     "FDSize:", "Groups:", "VmPeak:", "VmSize:", "VmRSS:", "VmData:",
				     "VmStk:", "Threads:", "SigQ:", "SigPnd:", "ShdPnd:", "SigBlk:",
				     "SigIgn:", "SigCgt:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:",
				     "CapAmb:", "NoNewPrivs:", "Seccomp:", "Cpus_allowed_list:"};
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		char k[40];
		snprintf(k, sizeof(k), "\n%s\t", keys[i]);
		cr_expect(strstr(s, k) != NULL, "no %s in\n%s", keys[i], s);
	}
	cr_expect(strstr(s, "\nSigBlk:\t0000000000000200\n") != NULL, "%s", s);
	cr_expect(strstr(s, "\nSigIgn:\t0000000000000002\n") != NULL, "%s", s);
	cr_expect(strstr(s, "\nSigCgt:\t0000000000004000\n") != NULL, "%s", s);
	cr_expect(strstr(s, "\nCapBnd:\t000001ffffffffff\n") != NULL, "%s", s);
	free(s);
}

Test(procfs, stat_has_52_fields)
{
	strcpy(t->comm, "my prog) x");
	char *s = slurp(P "/1/stat");
	const char *head = "1 (my prog) x) R 0 1 1 0 -1 4194304 ";
	cr_expect(strncmp(s, head, strlen(head)) == 0, "%s", s);
	/* Fields after the last ')' : 50 more. */
	char *p = strrchr(s, ')') + 1;
	int n = 2;
	for (char *tok = strtok(p, " \n"); tok; tok = strtok(NULL, " \n"))
		n++;
	cr_expect_eq(n, 52, "%d fields", n);
	free(s);
	s = slurp(P "/1/statm");
	unsigned long v[7];
	cr_expect_eq(sscanf(s, "%lu %lu %lu %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3], &v[4],
			    &v[5], &v[6]),
		     7, "%s", s);
	free(s);
}

#define BASE 0x10000000UL

Test(procfs, maps_and_memory)
{
	cr_assert_eq(mm_map_anon(t->mm, BASE, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, VMA_HEAP,
				 MAP_FIXED),
		     (int64_t)BASE);
	cr_assert_eq(mm_map_anon(t->mm, BASE + 16 * PAGE_SIZE, 4 * PAGE_SIZE,
				 PROT_READ | PROT_WRITE, VMA_STACK | VMA_GROWSDOWN, MAP_FIXED),
		     (int64_t)(BASE + 16 * PAGE_SIZE));
	cr_assert_eq(mm_map_anon(t->mm, BASE + 32 * PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_EXEC, 0,
				 MAP_FIXED),
		     (int64_t)(BASE + 32 * PAGE_SIZE));
	char page[PAGE_SIZE];
	memset(page, 1, sizeof(page));
	cr_assert_eq(k_copy_out(t, BASE, page, sizeof(page)), 0);
	char *s = slurp(P "/self/maps");
	char want[512];
	snprintf(want, sizeof(want), "%-72s [heap]\n%-72s [stack]\n%s\n",
		 "10000000-10002000 rw-p 00000000 00:00 0 ", "10010000-10014000 rw-p 00000000 00:00 0 ",
		 "10020000-10021000 r-xp 00000000 00:00 0 ");
	cr_expect_str_eq(s, want);
	free(s);
	s = slurp(P "/self/status");
	unsigned long rss = 0, size = 0;
	char *r = strstr(s, "VmRSS:");
	char *z = strstr(s, "VmSize:");
	cr_assert(r && z);
	sscanf(r, "VmRSS: %lu", &rss);
	sscanf(z, "VmSize: %lu", &size);
	cr_expect_eq(size, 28, "VmSize %lu", size);
	cr_expect(rss >= 4 && rss <= 28, "VmRSS %lu: the touched page", rss);
	free(s);
}

Test(procfs, cmdline_environ_auxv)
{
	cr_assert_eq(mm_map_anon(t->mm, BASE, PAGE_SIZE, PROT_READ | PROT_WRITE, 0, MAP_FIXED),
		     (int64_t)BASE);
	const char args[] = "prog\0-x\0A=1\0B=2";
	cr_assert_eq(k_copy_out(t, BASE, args, sizeof(args)), 0);
	t->mm->arg_start = BASE;
	t->mm->arg_end = BASE + 8;
	t->mm->env_start = BASE + 8;
	t->mm->env_end = BASE + sizeof(args);
	ssize_t n;
	char *s = slurp_chunks(P "/self/cmdline", 3, &n);
	cr_expect_eq(n, 8);
	cr_expect_eq(memcmp(s, "prog\0-x", 8), 0);
	free(s);
	s = slurp_chunks(P "/self/environ", 1, &n);
	cr_expect_eq(n, 8);
	cr_expect_eq(memcmp(s, "A=1\0B=2", 8), 0);
	free(s);
	/* setproctitle: the NUL ending argv overwritten. */
	cr_assert_eq(k_copy_out(t, BASE + 7, "!", 1), 0);
	s = slurp_chunks(P "/self/cmdline", 4096, &n);
	cr_expect_eq(n, 5, "up to the first NUL, included: %zd", n);
	free(s);
	/* An argument range over unmapped memory stops where memory does. */
	t->mm->arg_start = BASE + PAGE_SIZE - 2;
	t->mm->arg_end = BASE + 64 * PAGE_SIZE;
	cr_assert_eq(k_copy_out(t, BASE + PAGE_SIZE - 2, "z", 2), 0);
	s = slurp_chunks(P "/self/cmdline", 4096, &n);
	cr_expect_eq(n, 2);
	free(s);
	t->mm->arg_start = UINT64_MAX - 10;
	t->mm->arg_end = UINT64_MAX;
	s = slurp_chunks(P "/self/cmdline", 4096, &n);
	cr_expect_eq(n, 0);
	free(s);
	t->mm->auxv[0] = AT_PAGESZ;
	t->mm->auxv[1] = 4096;
	t->mm->auxv[2] = AT_NULL;
	t->mm->auxv[3] = 0;
	t->mm->nauxv = 4;
	s = slurp_chunks(P "/self/auxv", 5, &n);
	cr_expect_eq(n, 32);
	uint64_t v[4];
	memcpy(v, s, sizeof(v));
	cr_expect(v[0] == AT_PAGESZ && v[1] == 4096 && v[2] == 0 && v[3] == 0);
	free(s);
}

Test(procfs, fd_links_and_listing)
{
	struct k_dentry *d;
	int fd = make_file("husk-proc-f", &d);
	char p[64], buf[256];
	snprintf(p, sizeof(p), P "/self/fd/%d", fd);
	cr_expect_eq(readlink_path(p, buf, sizeof(buf)), 16);
	cr_expect_str_eq(buf, "/tmp/husk-proc-f");
	/* Following it reaches the file. */
	struct k_path fp;
	cr_assert_eq(path_lookup(t, AT_FDCWD, p, LOOKUP_FOLLOW, &fp), 0);
	cr_expect_eq(fp.d, d);
	path_put(&fp);
	/* The magic link. */
	struct k_path lp;
	cr_assert_eq(path_lookup(t, AT_FDCWD, p, 0, &lp), 0);
	struct k_path target;
	struct k_file *tf;
	cr_expect_eq(procfs_get_link(lp.d->inode, &target, &tf), 0);
	cr_expect_eq(target.d, d);
	cr_expect_null(tf);
	path_put(&target);
	cr_expect_eq(lp.d->inode->mode, S_IFLNK | 0700);
	cr_expect_eq(lp.d->inode->size, 64);
	path_put(&lp);
	/* fdinfo. */
	snprintf(p, sizeof(p), P "/self/fdinfo/%d", fd);
	char *s = slurp(p);
	char want[128];
	snprintf(want, sizeof(want), "pos:\t0\nflags:\t0100002\nmnt_id:\t");
	cr_expect(strncmp(s, want, strlen(want)) == 0, "%s", s);
	cr_expect(strstr(s, "\nino:\t") != NULL, "%s", s);
	free(s);
	/* Listing. */
	struct names nm;
	list_dir(P "/self/fd", &nm, -1);
	snprintf(buf, sizeof(buf), "%d", fd);
	cr_expect(has(&nm, ".") && has(&nm, "..") && has(&nm, buf));
	/* Unlinked: " (deleted)". */
	struct k_path tmp;
	cr_assert_eq(path_lookup(t, AT_FDCWD, "/tmp", 0, &tmp), 0);
	cr_assert_eq(tmp.d->inode->ops->unlink(tmp.d->inode, "husk-proc-f", d->inode), 0);
	dentry_drop(d);
	path_put(&tmp);
	snprintf(p, sizeof(p), P "/self/fd/%d", fd);
	cr_expect_eq(readlink_path(p, buf, sizeof(buf)), 26);
	cr_expect_str_eq(buf, "/tmp/husk-proc-f (deleted)");
	dentry_put(d);
	/* Closed: gone. */
	fdt_close(t, fd);
	cr_expect_eq(readlink_path(p, buf, sizeof(buf)), -ENOENT);
	list_dir(P "/self/fd", &nm, -1);
	snprintf(buf, sizeof(buf), "%d", fd);
	cr_expect(!has(&nm, buf));
}

Test(procfs, stdio_pipe_links)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	struct k_file *f = hostfile_new(pfd[0], O_RDONLY);
	cr_assert_eq(fdt_install_at(t, f, 5, false), 5);
	file_put(f);
	close(pfd[1]);
	char buf[64], want[64];
	snprintf(want, sizeof(want), "pipe:[%llu]", (unsigned long long)f->ino);
	int n = readlink_path(P "/1/fd/5", buf, sizeof(buf));
	cr_expect_eq(n, (int)strlen(want));
	cr_expect_str_eq(buf, want);
	struct k_path lp, path;
	struct k_file *got;
	cr_assert_eq(path_lookup(t, AT_FDCWD, P "/1/fd/5", 0, &lp), 0);
	cr_expect_eq(lp.d->inode->mode, S_IFLNK | 0500);
	cr_expect_eq(procfs_get_link(lp.d->inode, &path, &got), 0);
	cr_expect_eq(got, f);
	cr_expect_null(path.d);
	/* Opening it again: a new description of the same pipe. */
	struct k_file *re;
	cr_assert_eq(procfs_reopen(got, O_RDONLY | O_NONBLOCK, &re), 0);
	cr_expect_neq(re, f);
	cr_expect_eq(re->ino, f->ino);
	char c;
	cr_expect_eq(re->ops->read(re, &(struct iovec){&c, 1}, 1, NULL), 0, "the writer is gone: EOF");
	file_put(re);
	file_put(got);
	path_put(&lp);
	/* Plain symlinks are no magic links. */
	cr_assert_eq(path_lookup(t, AT_FDCWD, P "/self", 0, &lp), 0);
	cr_expect_eq(procfs_get_link(lp.d->inode, &path, &got), -EINVAL);
	path_put(&lp);
	int null = open("/dev/null", O_RDWR);
	f = hostfile_new(null, O_RDWR);
	cr_assert_eq(fdt_install_at(t, f, 6, false), 6);
	file_put(f);
	cr_expect_eq(readlink_path(P "/1/fd/6", buf, sizeof(buf)), 9);
	cr_expect_str_eq(buf, "/dev/null");
}

Test(procfs, revalidate)
{
	struct k_path dir;
	cr_assert_eq(path_lookup(t, AT_FDCWD, P "/1/fd", LOOKUP_FOLLOW, &dir), 0);
	struct k_inode *di = dir.d->inode;
	cr_expect(procfs_revalidate(di, "40", NULL), "no fd 40: the negative entry stands");
	struct k_file *f = hostfile_new(dup(2), O_WRONLY);
	fdt_install_at(t, f, 40, false);
	file_put(f);
	cr_expect(!procfs_revalidate(di, "40", NULL), "fd 40 now exists");
	struct k_inode *ino;
	cr_assert_eq(di->ops->lookup(di, "40", &ino), 0);
	cr_expect(procfs_revalidate(di, "40", ino));
	fdt_close(t, 40);
	cr_expect(!procfs_revalidate(di, "40", ino), "closed");
	inode_put(ino);
	cr_expect_eq(di->ops->lookup(di, "40", &ino), -ENOENT);
	cr_expect_eq(di->ops->lookup(di, "040", &ino), -ENOENT);
	cr_expect_eq(di->ops->lookup(di, "-1", &ino), -ENOENT);
	cr_expect_eq(di->ops->lookup(di, "99999999999999999999", &ino), -ENOENT);
	path_put(&dir);
	cr_assert_eq(path_lookup(t, AT_FDCWD, P, LOOKUP_FOLLOW, &dir), 0);
	di = dir.d->inode;
	cr_expect(procfs_revalidate(di, "2", NULL), "no pid 2");
	cr_assert_eq(di->ops->lookup(di, "1", &ino), 0);
	cr_expect(procfs_revalidate(di, "1", ino));
	t->tg->pid = 7; /* as if pid 1 were gone */
	cr_expect(!procfs_revalidate(di, "1", ino));
	t->tg->pid = 1;
	inode_put(ino);
	path_put(&dir);
}

Test(procfs, root_listing_resumes_by_cookie)
{
	struct names all, one;
	list_dir(P, &all, -1);
	list_dir(P, &one, 1);
	cr_expect_eq(all.n, one.n);
	for (int i = 0; i < all.n && i < one.n; i++)
		cr_expect_str_eq(all.v[i], one.v[i]);
	cr_expect(has(&all, "self") && has(&all, "1") && has(&all, "cpuinfo") && has(&all, "sys"));
	cr_expect_str_eq(all.v[all.n - 1], "1", "pids come last");
	list_dir(P "/1", &all, -1);
	cr_expect(has(&all, "task") && has(&all, "fd") && has(&all, "status") && has(&all, "exe"));
	list_dir(P "/1/task", &all, -1);
	cr_expect_eq(all.n, 3);
	cr_expect(has(&all, "1"));
	list_dir(P "/1/task/1", &all, -1);
	cr_expect(!has(&all, "task") && has(&all, "stat"));
	/* Cookies far out are harmless. */
	struct k_path p;
	cr_assert_eq(path_lookup(t, AT_FDCWD, P, 0, &p), 0);
	struct names nm = {.room = -1};
	int64_t pos = INT64_MAX;
	cr_expect_eq(p.d->inode->ops->iterate(p.d->inode, &pos, collect, &nm), 0);
	cr_expect_eq(nm.n, 0);
	pos = (1 << 16) + 0x7fffffffLL + 5;
	cr_expect_eq(p.d->inode->ops->iterate(p.d->inode, &pos, collect, &nm), 0);
	cr_expect_eq(nm.n, 0);
	path_put(&p);
}

Test(procfs, hostile_offsets)
{
	struct k_file *f;
	cr_assert_eq(open_path(P "/self/status", O_RDONLY, &f), 0);
	char buf[64];
	cr_expect_eq(k_file_pread(f, buf, sizeof(buf), INT64_MAX), 0);
	cr_expect_eq(k_file_pread(f, buf, sizeof(buf), 1 << 30), 0);
	cr_expect_eq(f->ops->seek(f, -1, SEEK_SET), -EINVAL);
	cr_expect_eq(f->ops->seek(f, 0, SEEK_END), -EINVAL);
	cr_expect_eq(f->ops->seek(f, INT64_MAX, SEEK_SET), INT64_MAX);
	cr_expect_eq(f->ops->seek(f, 1, SEEK_CUR), -EINVAL);
	cr_expect_eq(f->ops->seek(f, 3, SEEK_SET), 3);
	struct iovec iov[3] = {{buf, 2}, {buf + 2, 0}, {buf + 2, 3}};
	cr_expect_eq(f->ops->read(f, iov, 3, NULL), 5);
	cr_expect_eq(memcmp(buf, "e:\tin", 5), 0, "%.5s", buf);
	cr_expect_eq(f->pos, 8);
	/* A write to a read-only proc file: EINVAL (no write op). */
	cr_expect_eq(k_file_pwrite(f, "x", 1, 0), -EINVAL);
	file_put(f);
	/* Byte-at-a-time reads give the same text as one read. */
	ssize_t n1, n2;
	char *a = slurp_chunks(P "/self/limits", 1, &n1);
	char *b = slurp_chunks(P "/self/limits", 1 << 20, &n2);
	cr_expect_eq(n1, n2);
	cr_expect_str_eq(a, b);
	free(a);
	free(b);
	/* A sysctl number: nothing past offset 0; writing it is EACCES. */
	cr_assert_eq(open_path(P "/sys/kernel/pid_max", O_RDONLY, &f), 0);
	cr_expect_eq(k_file_pread(f, buf, 3, 0), 3);
	cr_expect_eq(k_file_pread(f, buf, 3, 3), 0);
	cr_expect_eq(f->ops->seek(f, 5, SEEK_END), 5);
	file_put(f);
	cr_expect_eq(open_path(P "/sys/kernel/pid_max", O_WRONLY, &f), -EACCES);
	cr_assert_eq(open_path(P "/sys/kernel/hostname", O_RDONLY, &f), 0);
	cr_expect_eq(k_file_pread(f, buf, 3, 1), 3);
	cr_expect_eq(memcmp(buf, "ox\n", 3), 0);
	file_put(f);
}

Test(procfs, writes)
{
	struct k_file *f;
	cr_assert_eq(open_path(P "/self/comm", O_WRONLY, &f), 0);
	cr_expect_eq(k_file_pwrite(f, "newname-that-is-long\n", 21, 0), 21);
	file_put(f);
	cr_expect_str_eq(t->comm, "newname-that-is");
	char *s = slurp(P "/self/comm");
	cr_expect_str_eq(s, "newname-that-is\n");
	free(s);
	cr_assert_eq(open_path(P "/self/comm", O_WRONLY, &f), 0);
	cr_expect_eq(k_file_pwrite(f, "foo\n", 4, 0), 4);
	file_put(f);
	s = slurp(P "/self/comm");
	cr_expect_str_eq(s, "foo\n\n", "the newline is kept, as Linux keeps it");
	free(s);
	cr_assert_eq(open_path(P "/self/oom_score_adj", O_RDWR, &f), 0);
	cr_expect_eq(k_file_pwrite(f, " -500\n", 6, 0), 6);
	cr_expect_eq(k_file_pwrite(f, "1001", 4, 0), -EINVAL);
	cr_expect_eq(k_file_pwrite(f, "abc", 3, 0), -EINVAL);
	cr_expect_eq(k_file_pwrite(f, "99999999999999", 14, 0), -ERANGE);
	char buf[16] = {0};
	cr_expect_eq(k_file_pread(f, buf, sizeof(buf), 0), 5);
	cr_expect_str_eq(buf, "-500\n");
	file_put(f);
}

Test(procfs, mounts_and_cwd)
{
	char *s = slurp(P "/self/mounts");
	cr_expect(strstr(s, "proc " P " proc rw,nosuid,nodev,noexec,relatime 0 0\n") != NULL, "%s",
		  s);
	cr_expect(strstr(s, "sysfs " S " sysfs rw,nosuid,nodev,noexec,relatime 0 0\n") != NULL, "%s",
		  s);
	cr_expect(strncmp(s, "tmpfs / tmpfs rw,", 17) == 0, "%s", s);
	free(s);
	s = slurp(P "/self/mountinfo");
	cr_expect(strstr(s, " / " P " rw,nosuid,nodev,noexec,relatime - proc proc rw\n") != NULL, "%s",
		  s);
	free(s);
	char buf[256];
	cr_expect_eq(readlink_path(P "/self/cwd", buf, sizeof(buf)), 1);
	cr_expect_str_eq(buf, "/");
	cr_expect_eq(readlink_path(P "/self/root", buf, sizeof(buf)), 1);
	cr_expect_eq(readlink_path(P "/self/exe", buf, sizeof(buf)), -ENOENT);
}

Test(procfs, system_files)
{
	unsigned ncpu = 0;
	for (unsigned i = 0; i < 8 * sizeof(t->k->cpumask); i++)
		ncpu += (t->k->cpumask[i / 8] >> (i % 8)) & 1;
	char *s = slurp(P "/cpuinfo");
	unsigned blocks = 0;
	for (char *p = s; (p = strstr(p, "processor\t: ")); p++)
		blocks++;
	cr_expect_eq(blocks, ncpu, "%s", s);
	cr_expect(strstr(s, "model name") != NULL);
	free(s);
	s = slurp(P "/meminfo");
	cr_expect(strncmp(s, "MemTotal:       ", 16) == 0, "%s", s);
	cr_expect(strstr(s, "\nMemAvailable:") != NULL);
	free(s);
	s = slurp(P "/stat");
	cr_expect(strncmp(s, "cpu  ", 5) == 0 && strstr(s, "\nbtime ") && strstr(s, "\ncpu0 "),
		  "%s", s);
	free(s);
	s = slurp(P "/uptime");
	double up, idle;
	cr_expect_eq(sscanf(s, "%lf %lf", &up, &idle), 2, "%s", s);
	free(s);
	s = slurp(P "/loadavg");
	cr_expect_str_eq(s, "0.00 0.00 0.00 1/1 1\n");
	free(s);
	s = slurp(P "/version");
	cr_expect(strncmp(s, "Linux version 4.4.0 ", 20) == 0);
	free(s);
	s = slurp(P "/filesystems");
	cr_expect(strstr(s, "nodev\tproc\n") != NULL);
	free(s);
	s = slurp(P "/sys/kernel/ostype");
	cr_expect_str_eq(s, "Linux\n");
	free(s);
	s = slurp(P "/sys/kernel/hostname");
	cr_expect_str_eq(s, "box\n");
	free(s);
	char *a = slurp(P "/sys/kernel/random/boot_id"), *b = slurp(P "/sys/kernel/random/boot_id");
	cr_expect_str_eq(a, b);
	cr_expect_eq(strlen(a), 37);
	free(b);
	b = slurp(P "/sys/kernel/random/uuid");
	cr_expect_str_neq(a, b);
	cr_expect_eq(b[14], '4');
	free(a);
	free(b);
	s = slurp(P "/1/cgroup");
	cr_expect_str_eq(s, "0::/\n");
	free(s);
	s = slurp(P "/1/limits");
	char line[128];
	snprintf(line, sizeof(line), "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit",
		 "Units");
	cr_expect(strncmp(s, line, strlen(line)) == 0, "%s", s);
	snprintf(line, sizeof(line), "\n%-25s ", "Max open files");
	cr_expect(strstr(s, line) != NULL);
	free(s);
	struct statfs st;
	struct k_path p;
	cr_assert_eq(path_lookup(t, AT_FDCWD, P "/self/status", LOOKUP_FOLLOW, &p), 0);
	cr_expect_eq(p.d->inode->ops->statfs(p.d->inode, &st), 0);
	cr_expect_eq(st.f_type, PROC_SUPER_MAGIC);
	cr_expect_eq(p.d->inode->mode, S_IFREG | 0444);
	cr_expect_eq(p.d->inode->size, 0);
	path_put(&p);
	cr_expect_eq(path_lookup(t, AT_FDCWD, P "/missing", 0, &p), -ENOENT);
	cr_expect_eq(path_lookup(t, AT_FDCWD, P "/2/status", 0, &p), -ENOENT);
	cr_expect_eq(path_lookup(t, AT_FDCWD, P "/01", 0, &p), -ENOENT);
	cr_expect_eq(path_lookup(t, AT_FDCWD, P "/self/status/x", 0, &p), -ENOTDIR);
}

Test(procfs, stable_inode_numbers)
{
	struct k_path a, b;
	cr_assert_eq(path_lookup(t, AT_FDCWD, P "/1/status", 0, &a), 0);
	cr_assert_eq(path_lookup(t, AT_FDCWD, P "/1/stat", 0, &b), 0);
	uint64_t ia = a.d->inode->ino, ib = b.d->inode->ino;
	cr_expect_neq(ia, ib);
	path_put(&a);
	path_put(&b);
	/* Forget the cached dentries: a fresh lookup gives the same numbers. */
	dcache_clear();
	cr_assert_eq(path_lookup(t, AT_FDCWD, P "/1/status", 0, &a), 0);
	cr_expect_eq(a.d->inode->ino, ia);
	path_put(&a);
}

Test(procfs, sysfs)
{
	struct k_kernel *k = t->k;
	char *s = slurp(S "/devices/system/cpu/online");
	char want[64] = "";
	/* What the sandbox's affinity mask names, as a list. */
	int first = -1, last = -1;
	size_t len = 0;
	for (int i = 0; i <= (int)(8 * sizeof(k->cpumask)); i++) {
		bool on = i < (int)(8 * sizeof(k->cpumask)) && i < (int)k->nr_cpu_ids &&
			  ((k->cpumask[i / 8] >> (i % 8)) & 1);
		if (on && first < 0)
			first = i;
		if (on)
			last = i;
		if (!on && first >= 0) {
			len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%d", len ? "," : "",
						first);
			if (last > first)
				len += (size_t)snprintf(want + len, sizeof(want) - len, "-%d", last);
			first = -1;
		}
	}
	snprintf(want + len, sizeof(want) - len, "\n");
	cr_expect_str_eq(s, want);
	free(s);
	s = slurp(S "/devices/system/cpu/possible");
	cr_expect(s[0] == '0' && s[strlen(s) - 1] == '\n', "%s", s);
	free(s);
	s = slurp(S "/kernel/mm/transparent_hugepage/enabled");
	cr_expect_str_eq(s, "always [madvise] never\n");
	free(s);
	struct names nm;
	list_dir(S "/devices/system/cpu", &nm, -1);
	cr_expect(has(&nm, "cpu0") && has(&nm, "online") && has(&nm, "possible"));
	list_dir(S "/fs/cgroup", &nm, -1);
	cr_expect_eq(nm.n, 2);
	struct k_path p;
	cr_assert_eq(path_lookup(t, AT_FDCWD, S "/devices/system/cpu/cpu0", 0, &p), 0);
	cr_expect(S_ISDIR(p.d->inode->mode));
	path_put(&p);
	cr_assert_eq(path_lookup(t, AT_FDCWD, S "/devices/system/cpu/online", 0, &p), 0);
	cr_expect_eq(p.d->inode->size, 4096);
	struct statfs st;
	p.d->inode->ops->statfs(p.d->inode, &st);
	cr_expect_eq(st.f_type, SYSFS_MAGIC);
	path_put(&p);
	struct k_file *f;
	cr_expect_eq(open_path(S "/devices/system/cpu/online", O_WRONLY, &f), -EACCES);
	cr_expect_eq(path_lookup(t, AT_FDCWD, S "/devices/system/cpu/cpu9999", 0, &p), -ENOENT);
}
