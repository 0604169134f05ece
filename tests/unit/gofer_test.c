#define _GNU_SOURCE
/* The gofer: the mount spec parser; a real gofer (build/san/husk gofer)
 * serving a temporary host tree (walks, stats, opens with fd donation,
 * directory reads, symlinks never followed, read-only and writable mounts);
 * its confinement (seccomp, no_new_privs, its root, its fds).  Hostile
 * peers are gofer_hostile_test.c's. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gofer_test.h"

/* ---------------------------------------------------------------- spec */

TestSuite(gofer_spec);

Test(gofer_spec, good_specs_parse_sorted_and_normalised)
{
	struct gf_spec s;
	const char *why = NULL;
	int rc = gf_spec_parse("{\"mounts\": ["
			       "{\"path\": \"//data//x/\", \"type\": \"bind\", \"source\": \"/srv//d/\"},"
			       "{\"path\": \"/tmp\", \"type\": \"tmpfs\"},"
			       "{\"path\": \"/\", \"type\": \"bind\", \"source\": \"/\", "
			       "\"readonly\": true, \"overlay\": true}]}",
			       &s, &why);
	cr_assert_eq(rc, 0, "%s", why ? why : "");
	cr_assert_eq(s.nmounts, 3);
	cr_expect_str_eq(s.mounts[0].path, "/");
	cr_expect_eq(s.mounts[0].type, GF_MOUNT_BIND);
	cr_expect(s.mounts[0].readonly && s.mounts[0].overlay);
	cr_expect_str_eq(s.mounts[1].path, "/data/x");
	cr_expect_str_eq(s.mounts[1].source, "/srv/d");
	cr_expect(!s.mounts[1].readonly && !s.mounts[1].overlay);
	cr_expect_str_eq(s.mounts[2].path, "/tmp");
	cr_expect_eq(s.mounts[2].type, GF_MOUNT_TMPFS);
	cr_expect_null(s.mounts[2].source);

	/* To JSON and back gives the same spec. */
	char *json = gf_spec_to_json(&s);
	cr_assert_not_null(json);
	struct gf_spec t;
	cr_assert_eq(gf_spec_parse(json, &t, &why), 0, "%s: %s", json, why);
	cr_assert_eq(t.nmounts, s.nmounts);
	for (int i = 0; i < s.nmounts; i++) {
		cr_expect_str_eq(t.mounts[i].path, s.mounts[i].path);
		cr_expect_eq(t.mounts[i].type, s.mounts[i].type);
		cr_expect_eq(t.mounts[i].readonly, s.mounts[i].readonly);
		cr_expect_eq(t.mounts[i].overlay, s.mounts[i].overlay);
		if (s.mounts[i].source)
			cr_expect_str_eq(t.mounts[i].source, s.mounts[i].source);
	}
	free(json);
	gf_spec_free(&t);
	gf_spec_free(&s);
	cr_expect_eq(s.nmounts, 0);
	cr_expect_null(s.mounts);
}

Test(gofer_spec, default_spec)
{
	struct gf_spec s;
	cr_assert_eq(gf_spec_default(&s), 0);
	cr_assert_eq(s.nmounts, 2);
	cr_expect_str_eq(s.mounts[0].path, "/");
	cr_expect_str_eq(s.mounts[0].source, "/");
	cr_expect(s.mounts[0].type == GF_MOUNT_BIND && s.mounts[0].readonly && s.mounts[0].overlay);
	cr_expect_str_eq(s.mounts[1].path, "/tmp");
	cr_expect_eq(s.mounts[1].type, GF_MOUNT_TMPFS);
	char *json = gf_spec_to_json(&s);
	struct gf_spec t;
	const char *why;
	cr_expect_eq(gf_spec_parse(json, &t, &why), 0);
	free(json);
	gf_spec_free(&t);
	gf_spec_free(&s);
}

Test(gofer_spec, bad_specs_are_refused_with_a_reason)
{
	static const char *const bad[] = {
		NULL,
		"",
		"not json",
		"[]",
		"{}",
		"{\"mounts\": {}}",
		"{\"mounts\": []}",
		"{\"mounts\": [1]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"/\"}], \"x\": 1}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"/\", \"colour\": 1}]}",
		"{\"mounts\": [{\"type\": \"bind\", \"source\": \"/\"}]}",
		"{\"mounts\": [{\"path\": 7, \"type\": \"bind\", \"source\": \"/\"}]}",
		"{\"mounts\": [{\"path\": \"/\", \"source\": \"/\"}]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"nfs\", \"source\": \"/\"}]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\"}]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"relative\"}]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"\"}]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"/a/../b\"}]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": 3}]}",
		"{\"mounts\": [{\"path\": \"\", \"type\": \"bind\", \"source\": \"/\"}]}",
		"{\"mounts\": [{\"path\": \"x\", \"type\": \"bind\", \"source\": \"/\"}]}",
		"{\"mounts\": [{\"path\": \"/a/./b\", \"type\": \"bind\", \"source\": \"/\"}]}",
		"{\"mounts\": [{\"path\": \"/a\\u0000b\", \"type\": \"bind\", \"source\": \"/\"}]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"/\", \"readonly\": 1}]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"/\", \"overlay\": true}]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"tmpfs\"}]}",
		"{\"mounts\": [{\"path\": \"/tmp\", \"type\": \"tmpfs\"}]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"/\"},"
		" {\"path\": \"/t\", \"type\": \"tmpfs\", \"source\": \"/x\"}]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"/\"},"
		" {\"path\": \"/t\", \"type\": \"tmpfs\", \"readonly\": true}]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"/\"},"
		" {\"path\": \"/a\", \"type\": \"tmpfs\"}, {\"path\": \"//a/\", \"type\": \"tmpfs\"}]}",
		"{\"mounts\": [{\"path\": \"/\", \"path\": \"/x\", \"type\": \"bind\", \"source\": \"/\"}]}",
		"{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"/\"}]} trailing",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gf_spec s = {.mounts = (void *)1, .nmounts = 99};
		const char *why = NULL;
		int rc = gf_spec_parse(bad[i], &s, &why);
		cr_expect_eq(rc, -EINVAL, "accepted: %s", bad[i] ? bad[i] : "(null)");
		cr_expect(why && *why, "no reason for: %s", bad[i] ? bad[i] : "(null)");
		cr_expect_eq(s.nmounts, 0);
		cr_expect_null(s.mounts);
	}
	/* Too many mounts, and too long paths. */
	char *big = malloc(65536), *p = big;
	p += sprintf(p, "{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"/\"}");
	for (int i = 0; i < 64; i++)
		p += sprintf(p, ", {\"path\": \"/m%d\", \"type\": \"tmpfs\"}", i);
	strcpy(p, "]}");
	struct gf_spec s;
	const char *why = NULL;
	cr_expect_eq(gf_spec_parse(big, &s, &why), -EINVAL);
	cr_expect(why && strstr(why, "64"), "%s", why);
	p = big + sprintf(big, "{\"mounts\": [{\"path\": \"/");
	memset(p, 'a', 300);
	strcpy(p + 300, "\", \"type\": \"bind\", \"source\": \"/\"}]}");
	cr_expect_eq(gf_spec_parse(big, &s, &why), -EINVAL);
	free(big);
	/* The reason names the problem. */
	gf_spec_parse("{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", "
		      "\"source\": \"/\", \"colour\": 1}]}",
		      &s, &why);
	cr_expect(strstr(why, "colour") != NULL, "%s", why);
}

/* ------------------------------------------------- reading, read-only */

TestSuite(gofer, .init = setup_ro, .fini = teardown);

Test(gofer, attach_stat_statfs)
{
	struct stat hst;
	struct gf_stat st;
	cr_assert_eq(stat(rootdir, &hst), 0);
	cr_assert_eq(gf_stat(cl, groot, &st), 0);
	cr_expect_eq(st.ino, hst.st_ino);
	cr_expect(S_ISDIR(st.mode));
	cr_expect_eq(st.mode, hst.st_mode);

	struct statfs sfs, hsfs;
	cr_assert_eq(gf_statfs(cl, groot, &sfs), 0);
	cr_assert_eq(statfs(rootdir, &hsfs), 0);
	cr_expect_eq(sfs.f_type, hsfs.f_type);
	cr_expect_eq(sfs.f_bsize, hsfs.f_bsize);
	cr_expect_eq(sfs.f_namelen, hsfs.f_namelen);
	cr_expect(sfs.f_flags & ST_RDONLY, "the read-only mount is read-only in the kernel");

	gf_fid other;
	cr_expect_eq(gf_attach(cl, "/tmp", &other, &st), -ENOENT, "tmpfs mounts are the sentry's");
	cr_expect_eq(gf_attach(cl, "/nowhere", &other, &st), -ENOENT);
	cr_expect_eq(gf_attach(cl, "/", &other, NULL), 0);
	cr_expect_neq(other, groot);
	cr_expect_eq(gf_close(cl, &other, 1), 0);
	cr_expect_eq(gf_close(cl, &other, 1), -EBADF, "a closed fid is gone");
	cr_expect_eq(gf_stat(cl, other, &st), -EBADF);
	cr_expect_eq(gf_stat(cl, 0x123456789abcULL, &st), -EBADF);

	uint64_t rt = gf_client_round_trips(cl);
	cr_expect_eq(gf_stat(cl, groot, &st), 0);
	cr_expect_eq(gf_client_round_trips(cl), rt + 1);
}

Test(gofer, walk_stat_open_pread)
{
	const char *names[] = {"dir", "f"};
	gf_fid fids[2];
	struct gf_stat st[2];
	int err = -1;
	cr_assert_eq(gf_walk(cl, groot, names, 2, fids, st, &err), 2);
	cr_expect_eq(err, 0);
	struct stat hst;
	host_stat("dir", &hst);
	cr_expect_eq(st[0].ino, hst.st_ino);
	cr_expect(S_ISDIR(st[0].mode));
	host_stat("dir/f", &hst);
	cr_expect_eq(st[1].ino, hst.st_ino);
	cr_expect_eq(st[1].size, 6);
	cr_expect(S_ISREG(st[1].mode));
	cr_expect_eq(st[1].mtime_sec, hst.st_mtim.tv_sec);
	cr_expect_eq(st[1].mtime_nsec, hst.st_mtim.tv_nsec);

	int fd = -1;
	cr_assert_eq(gf_open(cl, fids[1], O_RDONLY, &fd), 0);
	char buf[16] = {0};
	cr_expect_eq(pread(fd, buf, sizeof(buf), 0), 6);
	cr_expect_str_eq(buf, "hello\n");
	struct stat fst;
	cr_assert_eq(fstat(fd, &fst), 0);
	cr_expect_eq(fst.st_ino, hst.st_ino);
	cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC, "donated fds are close-on-exec");
	cr_expect_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	cr_expect_eq(write(fd, "x", 1), -1);
	close(fd);

	cr_expect_eq(gf_open(cl, fids[1], O_RDWR, &fd), -EROFS);
	cr_expect_eq(gf_open(cl, fids[1], O_WRONLY, &fd), -EROFS);
	cr_expect_eq(gf_open(cl, fids[1], O_RDONLY | O_TRUNC, &fd), -EROFS);
	cr_expect_eq(gf_open(cl, fids[1], O_RDONLY | O_CREAT, &fd), -EINVAL);
	cr_expect_eq(gf_open(cl, fids[1], O_RDONLY | O_DIRECTORY, &fd), -EINVAL);
	cr_expect_eq(gf_open(cl, fids[1], O_ACCMODE, &fd), -EINVAL);
	cr_expect_eq(gf_open(cl, fids[0], O_RDONLY, &fd), -EISDIR);
	cr_expect_eq(gf_open(cl, groot, O_RDONLY, &fd), -EISDIR);

	/* A fifo is never opened (it would block the gofer). */
	gf_fid ff = walk_to(groot, "fifo", &st[0]);
	cr_expect(S_ISFIFO(st[0].mode));
	cr_expect_eq(gf_open(cl, ff, O_RDONLY, &fd), -ENXIO);

	/* Walking on from a file, or into nothing. */
	const char *bad[] = {"file", "x"};
	err = 0;
	cr_expect_eq(gf_walk(cl, groot, bad, 2, fids, st, &err), 1);
	cr_expect_eq(err, ENOTDIR);
	const char *none[] = {"dir", "nothing", "more"};
	cr_expect_eq(gf_walk(cl, groot, none, 3, fids, st, &err), 1);
	cr_expect_eq(err, ENOENT);
	cr_expect_eq(gf_walk(cl, groot, none, 0, fids, st, &err), 0);

	/* 64 components in one round trip. */
	char deep[DEEP * 2 + 8] = "deep";
	for (int i = 1; i < DEEP; i++)
		strcat(deep, "/d");
	uint64_t rt = gf_client_round_trips(cl);
	walk_to(groot, deep, &st[0]);
	cr_expect_eq(gf_client_round_trips(cl), rt + 2, "one walk, one close");
}

Test(gofer, getdents_all_entries_with_offsets)
{
	/* The root: every name, "." and ".." included. */
	struct gf_dirent ents[64];
	int n = gf_getdents(cl, groot, 0, ents, 64);
	cr_assert_gt(n, 0);
	const char *want[] = {".", "..", "dir", "file", "swap", "swapdir", "rel", "abs",
			      "up", "dangling", "sl", "fifo", "many", "deep"};
	size_t nwant = sizeof(want) / sizeof(want[0]);
	cr_expect_eq((size_t)n, nwant);
	for (size_t i = 0; i < nwant; i++) {
		bool found = false;
		for (int j = 0; j < n; j++)
			if (strcmp(ents[j].name, want[i]) == 0) {
				found = true;
				if (strcmp(want[i], "rel") == 0)
					cr_expect_eq(ents[j].type, DT_LNK);
				if (strcmp(want[i], "dir") == 0)
					cr_expect_eq(ents[j].type, DT_DIR);
				if (strcmp(want[i], "fifo") == 0)
					cr_expect_eq(ents[j].type, DT_FIFO);
			}
		cr_expect(found, "no %s", want[i]);
	}
	cr_expect_eq(gf_getdents(cl, groot, ents[n - 1].off, ents, 64), 0, "then the end");

	/* A big directory in small pages, continuing from each page's last
	 * offset: every entry exactly once. */
	gf_fid many = walk_to(groot, "many", NULL);
	static char seen[MANY];
	memset(seen, 0, sizeof(seen));
	uint64_t off = 0;
	int total = 0, dots = 0, pages = 0;
	for (;;) {
		n = gf_getdents(cl, many, off, ents, 7);
		cr_assert_geq(n, 0);
		if (n == 0)
			break;
		pages++;
		for (int i = 0; i < n; i++) {
			int k;
			if (strcmp(ents[i].name, ".") == 0 || strcmp(ents[i].name, "..") == 0)
				dots++;
			else if (sscanf(ents[i].name, "entry-%d-", &k) == 1 && k >= 0 && k < MANY) {
				cr_expect_eq(seen[k], 0, "entry %d twice", k);
				seen[k] = 1;
				cr_expect_eq(ents[i].type, DT_REG);
			} else
				cr_expect(false, "unexpected entry %s", ents[i].name);
			total++;
		}
		off = ents[n - 1].off;
	}
	cr_expect_eq(total, MANY + 2);
	cr_expect_eq(dots, 2);
	cr_expect_geq(pages, (MANY + 2) / 7);

	/* Whole pages: at most 256 per reply, and never past 64 KiB. */
	static struct gf_dirent big[1000];
	n = gf_getdents(cl, many, 0, big, 1000);
	cr_expect_gt(n, 100);
	cr_expect_leq(n, 256);

	/* Rewinding works; a file is not a directory. */
	cr_expect_gt(gf_getdents(cl, many, 0, ents, 1), 0);
	gf_fid f = walk_to(groot, "file", NULL);
	cr_expect_eq(gf_getdents(cl, f, 0, ents, 4), -ENOTDIR);
	cr_expect_eq(gf_getdents(cl, f, 0, ents, 0), -EINVAL);
}

Test(gofer, readlink)
{
	struct gf_stat st;
	char buf[256];
	gf_fid rel = walk_to(groot, "rel", &st);
	cr_expect(S_ISLNK(st.mode));
	int n = gf_readlink(cl, rel, buf, sizeof(buf));
	cr_assert_eq(n, 5);
	cr_expect_eq(memcmp(buf, "dir/f", 5), 0);
	cr_expect_eq(gf_readlink(cl, rel, buf, 3), 3, "a short buffer gets a prefix");

	gf_fid abs = walk_to(groot, "abs", NULL);
	char want[256];
	snprintf(want, sizeof(want), "%s/outside", base);
	n = gf_readlink(cl, abs, buf, sizeof(buf));
	cr_assert_eq(n, (int)strlen(want));
	cr_expect_eq(memcmp(buf, want, (size_t)n), 0);

	gf_fid dng = walk_to(groot, "dangling", NULL);
	n = gf_readlink(cl, dng, buf, sizeof(buf));
	cr_expect_eq(n, (int)strlen("nowhere/at/all"));

	cr_expect_eq(gf_readlink(cl, groot, buf, sizeof(buf)), -EINVAL, "not a symlink");
	gf_fid f = walk_to(groot, "file", NULL);
	cr_expect_eq(gf_readlink(cl, f, buf, sizeof(buf)), -EINVAL);
}

Test(gofer, walk_stops_at_symlinks_and_never_follows_them)
{
	gf_fid fids[4];
	struct gf_stat st[4];
	int err = -1;
	const char *p1[] = {"rel", "x"};
	cr_expect_eq(gf_walk(cl, groot, p1, 2, fids, st, &err), 1);
	cr_expect_eq(err, 0);
	cr_expect(S_ISLNK(st[0].mode));

	/* The absolute symlink points outside the served tree: its target
	 * is not reachable. */
	const char *p2[] = {"abs", "secret"};
	cr_expect_eq(gf_walk(cl, groot, p2, 2, fids, st, &err), 1);
	cr_expect(S_ISLNK(st[0].mode));
	gf_fid abs = fids[0];
	const char *p3[] = {"secret"};
	cr_expect_eq(gf_walk(cl, abs, p3, 1, fids, st, &err), 0);
	cr_expect_eq(err, ENOTDIR);
	int fd = -1;
	cr_expect_eq(gf_open(cl, abs, O_RDONLY, &fd), -ELOOP);
	struct gf_dirent ents[4];
	cr_expect_eq(gf_getdents(cl, abs, 0, ents, 4), -ENOTDIR);

	/* Neither is it by its path: the gofer's "/" is the served tree. */
	char path[256];
	snprintf(path, sizeof(path), "%s/outside/secret", base);
	const char *names[16];
	int n = 0;
	for (char *save, *t = strtok_r(path, "/", &save); t; t = strtok_r(NULL, "/", &save))
		names[n++] = t;
	cr_expect_eq(gf_walk(cl, groot, names, n, fids, st, &err), 0);
	cr_expect_eq(err, ENOENT);

	const char *p4[] = {"up", "root"};
	cr_expect_eq(gf_walk(cl, groot, p4, 2, fids, st, &err), 1);
	cr_expect(S_ISLNK(st[0].mode));
	const char *p5[] = {"dangling"};
	cr_expect_eq(gf_walk(cl, groot, p5, 1, fids, st, &err), 1);
	cr_expect_eq(err, 0);
	cr_expect(S_ISLNK(st[0].mode));
}

Test(gofer, bad_names_are_einval)
{
	gf_fid fids[GF_WALK_MAX + 1];
	int err;
	const char *dotdot[] = {".."}, *dot[] = {"."}, *slash[] = {"dir/f"}, *empty[] = {""},
		   *abs[] = {"/dir"}, *second[] = {"dir", ".."};
	cr_expect_eq(gf_walk(cl, groot, dotdot, 1, fids, NULL, &err), -EINVAL);
	cr_expect_eq(gf_walk(cl, groot, dot, 1, fids, NULL, &err), -EINVAL);
	cr_expect_eq(gf_walk(cl, groot, slash, 1, fids, NULL, &err), -EINVAL);
	cr_expect_eq(gf_walk(cl, groot, empty, 1, fids, NULL, &err), -EINVAL);
	cr_expect_eq(gf_walk(cl, groot, abs, 1, fids, NULL, &err), -EINVAL);
	cr_expect_eq(gf_walk(cl, groot, second, 2, fids, NULL, &err), -EINVAL);
	char longname[300];
	memset(longname, 'a', 256);
	longname[256] = '\0';
	const char *lng[] = {longname};
	cr_expect_eq(gf_walk(cl, groot, lng, 1, fids, NULL, &err), -EINVAL);
	longname[255] = '\0';
	cr_expect_eq(gf_walk(cl, groot, lng, 1, fids, NULL, &err), 0, "255 bytes is a name");
	cr_expect_eq(err, ENOENT);
	const char *many[GF_WALK_MAX + 1];
	for (int i = 0; i <= GF_WALK_MAX; i++)
		many[i] = "d";
	cr_expect_eq(gf_walk(cl, groot, many, GF_WALK_MAX + 1, fids, NULL, &err), -EINVAL);
	cr_expect_eq(gf_walk(cl, groot, many, -1, fids, NULL, &err), -EINVAL);
}

static int proc_field(const char *status, const char *field)
{
	const char *p = strstr(status, field);
	cr_assert_not_null(p, "no %s", field);
	return atoi(p + strlen(field));
}

static int names_in(const char *dir, char names[][256], int max)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && n < max)
			snprintf(names[n++], 256, "%s", e->d_name);
	closedir(d);
	return n;
}

Test(gofer, is_confined)
{
	static char status[8192];
	read_proc(gpid, "status", status, sizeof(status));
	cr_expect_eq(proc_field(status, "Seccomp:"), 2, "a seccomp filter");
	cr_expect_eq(proc_field(status, "NoNewPrivs:"), 1);

	/* Its root is the served tree, and nothing else. */
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/root/", gpid);
	static char theirs[64][256], ours[64][256];
	int n = names_in(p, theirs, 64), m = names_in(rootdir, ours, 64);
	cr_expect_eq(n, m);
	for (int i = 0; i < n; i++) {
		bool found = false;
		for (int j = 0; j < m; j++)
			found |= strcmp(theirs[i], ours[j]) == 0;
		cr_expect(found, "the gofer's root has %s", theirs[i]);
	}

	/* Its own namespaces. */
	const char *ns[] = {"mnt", "net", "ipc", "uts"};
	for (size_t i = 0; i < 4; i++) {
		char a[128], b[128], pa[64], pb[64];
		snprintf(pa, sizeof(pa), "/proc/%d/ns/%s", gpid, ns[i]);
		snprintf(pb, sizeof(pb), "/proc/self/ns/%s", ns[i]);
		ssize_t la = readlink(pa, a, sizeof(a) - 1), lb = readlink(pb, b, sizeof(b) - 1);
		cr_assert(la > 0 && lb > 0);
		a[la] = b[lb] = '\0';
		cr_expect_str_neq(a, b, "%s namespace shared", ns[i]);
	}

	/* Its fds: the socket, stderr, and the mount roots (O_PATH). */
	snprintf(p, sizeof(p), "/proc/%d/fd", gpid);
	static char fds[64][256];
	n = names_in(p, fds, 64);
	int sockets = 0;
	for (int i = 0; i < n; i++) {
		char lp[128], target[256];
		snprintf(lp, sizeof(lp), "/proc/%d/fd/%s", gpid, fds[i]);
		ssize_t l = readlink(lp, target, sizeof(target) - 1);
		cr_assert_gt(l, 0);
		target[l] = '\0';
		if (strncmp(target, "socket:", 7) == 0)
			sockets++;
		else if (atoi(fds[i]) != 2)
			cr_expect(target[0] == '/' && strstr(target, base) == NULL,
				  "fd %s -> %s", fds[i], target);
	}
	cr_expect_eq(sockets, 1);
	cr_expect_leq(n, 4, "fds: %d", n);
}

Test(gofer, swaps_on_the_host_cannot_lead_outside)
{
	char hp[512], hq[512], out[512];
	snprintf(out, sizeof(out), "%s/outside/secret", base);
	int fd = -1;

	/* A file swapped for a symlink to outside between walk and open. */
	gf_fid swap = walk_to(groot, "swap", NULL);
	hpath(hp, sizeof(hp), "swap");
	hpath(hq, sizeof(hq), "swap.old");
	cr_assert_eq(rename(hp, hq), 0);
	cr_assert_eq(symlink(out, hp), 0);
	int rc = gf_open(cl, swap, O_RDONLY, &fd);
	cr_expect(rc == -ELOOP || rc == -ESTALE, "open after swap: %d", rc);
	/* ... or for another file: never opened as if it were the first. */
	unlink(hp);
	mkfile("swap", "another");
	rc = gf_open(cl, swap, O_RDONLY, &fd);
	cr_expect_eq(rc, -ESTALE);

	/* A directory swapped for a symlink to outside: the fid still names
	 * the directory it was walked to, wherever that went. */
	gf_fid dir = walk_to(groot, "swapdir", NULL);
	hpath(hp, sizeof(hp), "swapdir");
	hpath(hq, sizeof(hq), "swapdir.old");
	cr_assert_eq(rename(hp, hq), 0);
	snprintf(out, sizeof(out), "%s/outside", base);
	cr_assert_eq(symlink(out, hp), 0);
	const char *secret[] = {"secret"}, *inner[] = {"inner"};
	gf_fid fids[2];
	struct gf_stat st[2];
	int err;
	cr_expect_eq(gf_walk(cl, dir, secret, 1, fids, st, &err), 0);
	cr_expect_eq(err, ENOENT);
	cr_expect_eq(gf_walk(cl, dir, inner, 1, fids, st, &err), 1);
	struct gf_dirent ents[8];
	int n = gf_getdents(cl, dir, 0, ents, 8);
	cr_expect_eq(n, 3, ". .. inner");
	for (int i = 0; i < n; i++)
		cr_expect_str_neq(ents[i].name, "secret");

	/* A symlink swapped for a directory: still a symlink to the fid. */
	gf_fid sl = walk_to(groot, "sl", NULL);
	hpath(hp, sizeof(hp), "sl");
	cr_assert_eq(unlink(hp), 0);
	mkdir_("sl");
	mkfile("sl/x", "x");
	cr_expect_eq(gf_open(cl, sl, O_RDONLY, &fd), -ELOOP);
	const char *x[] = {"x"};
	cr_expect_eq(gf_walk(cl, sl, x, 1, fids, st, &err), 0);
	cr_expect_eq(err, ENOTDIR);
	/* A fresh walk sees the directory (inside the tree). */
	const char *slx[] = {"sl", "x"};
	cr_expect_eq(gf_walk(cl, groot, slx, 2, fids, st, &err), 2);
}

Test(gofer, writes_on_a_readonly_mount_are_erofs)
{
	gf_fid dir = walk_to(groot, "dir", NULL), f = walk_to(groot, "file", NULL), nf;
	struct gf_stat st;
	int fd;
	cr_expect_eq(gf_mkdir(cl, dir, "new", 0755, -1, -1, &nf, &st), -EROFS);
	cr_expect_eq(gf_create(cl, dir, "new", O_RDWR, 0644, -1, -1, &nf, &st, &fd), -EROFS);
	cr_expect_eq(gf_symlink(cl, dir, "new", "t", -1, -1, &nf, &st), -EROFS);
	cr_expect_eq(gf_link(cl, dir, "new", f), -EROFS);
	cr_expect_eq(gf_unlink(cl, dir, "f", 0), -EROFS);
	cr_expect_eq(gf_rename(cl, dir, "f", dir, "g", 0), -EROFS);
	struct gf_setattr a = {.mask = GF_SET_MODE, .mode = 0600};
	cr_expect_eq(gf_setattr(cl, f, &a), -EROFS);
	a = (struct gf_setattr){.mask = GF_SET_SIZE, .size = 0};
	cr_expect_eq(gf_setattr(cl, f, &a), -EROFS);
	struct stat hst;
	host_stat("file", &hst);
	cr_expect_eq(hst.st_size, 10);
	cr_expect_eq(hst.st_mode & 07777, 0644);
	char p[512];
	hpath(p, sizeof(p), "dir/new");
	cr_expect_neq(access(p, F_OK), 0);
}

Test(gofer, the_fid_table_is_bounded, .timeout = 120)
{
	/* 64 fids per walk of "deep/d/d/..." until the table is full. */
	const char *names[GF_WALK_MAX];
	names[0] = "deep";
	for (int i = 1; i < GF_WALK_MAX; i++)
		names[i] = "d";
	static gf_fid fids[GF_FIDS_MAX + GF_WALK_MAX];
	int nf = 1, err = 0;
	for (;;) {
		int got = gf_walk(cl, groot, names, GF_WALK_MAX, fids + nf, NULL, &err);
		cr_assert_geq(got, 0, "walk: %s", strerror(-got));
		nf += got;
		if (got < GF_WALK_MAX)
			break;
		cr_assert_leq(nf, GF_FIDS_MAX);
	}
	cr_expect_eq(err, ENFILE);
	cr_expect_eq(nf, GF_FIDS_MAX, "the root's fid and %d more", nf - 1);
	gf_fid x;
	cr_expect_eq(gf_attach(cl, "/", &x, NULL), -ENFILE);
	/* Closing makes room again. */
	cr_expect_eq(gf_close(cl, fids + 1, nf - 1), 0);
	cr_expect_eq(gf_attach(cl, "/", &x, NULL), 0);
	struct gf_stat st;
	cr_expect_eq(gf_stat(cl, x, &st), 0);
}

Test(gofer, default_spec_hides_host_proc_sys_dev)
{
	expect_clean_exit(stop());
	struct gf_spec spec;
	cr_assert_eq(gf_spec_default(&spec), 0);
	int rc = gf_spawn(HUSK, &spec, &gsock, &gpid);
	gf_spec_free(&spec);
	cr_assert_eq(rc, 0);
	cr_assert_eq(gf_client_new(gsock, &cl), 0);
	gf_fid root, fids[4];
	struct gf_stat st[4];
	cr_assert_eq(gf_attach(cl, "/", &root, st), 0);
	int err;
	const char *self[] = {"proc", "self"}, *null[] = {"dev", "null"}, *kernel[] = {"sys", "kernel"};
	cr_expect_lt(gf_walk(cl, root, self, 2, fids, st, &err), 2);
	cr_expect_lt(gf_walk(cl, root, null, 2, fids, st, &err), 2);
	cr_expect_lt(gf_walk(cl, root, kernel, 2, fids, st, &err), 2);
	/* The rest of the host's root is there, read-only. */
	const char *sh[] = {"bin"};
	cr_expect_eq(gf_walk(cl, root, sh, 1, fids, st, &err), 1);
	struct statfs sfs;
	cr_expect_eq(gf_statfs(cl, root, &sfs), 0);
	cr_expect(sfs.f_flags & ST_RDONLY);
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/root/proc/self", gpid);
	cr_expect_neq(access(p, F_OK), 0, "the host's /proc is not in the gofer's root");
	static char status[8192];
	read_proc(gpid, "status", status, sizeof(status));
	cr_expect_eq(proc_field(status, "Seccomp:"), 2);
}

Test(gofer, several_bind_mounts_each_with_its_own_flags)
{
	expect_clean_exit(stop());
	/* The host's "/" read-only, and a writable directory of the tree. */
	char json[512], w[256];
	snprintf(w, sizeof(w), "%s/dir", rootdir);
	snprintf(json, sizeof(json),
		 "{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"/\", "
		 "\"readonly\": true}, {\"path\": \"/w\", \"type\": \"bind\", \"source\": "
		 "\"%s\"}]}",
		 w);
	start_spec(json);
	gf_fid root, wr, nf;
	struct gf_stat st;
	cr_assert_eq(gf_attach(cl, "/", &root, &st), 0);
	cr_assert_eq(gf_attach(cl, "/w", &wr, &st), 0);
	struct stat hst;
	host_stat("dir", &hst);
	cr_expect_eq(st.ino, hst.st_ino);
	int fd;
	cr_expect_eq(gf_create(cl, root, "nope", O_RDWR, 0644, -1, -1, &nf, &st, &fd), -EROFS);
	cr_assert_eq(gf_create(cl, wr, "yes", O_RDWR, 0644, -1, -1, &nf, &st, &fd), 0);
	close(fd);
	host_stat("dir/yes", &hst);
	cr_expect_eq(hst.st_ino, st.ino);
	/* The writable mount is writable in the kernel too; the root is not. */
	struct statfs sfs;
	cr_expect_eq(gf_statfs(cl, wr, &sfs), 0);
	cr_expect_eq(sfs.f_flags & ST_RDONLY, 0);
	cr_expect_eq(gf_statfs(cl, root, &sfs), 0);
	cr_expect(sfs.f_flags & ST_RDONLY);
	/* Each mount is its own tree: no walking out of /w with "..". */
	const char *up[] = {".."};
	gf_fid fids[2];
	int err;
	cr_expect_eq(gf_walk(cl, wr, up, 1, fids, NULL, &err), -EINVAL);
}

Test(gofer, spawn_failures)
{
	struct gf_spec spec;
	cr_assert_eq(gf_spec_default(&spec), 0);
	int s;
	pid_t p;
	cr_expect_eq(gf_spawn("/nonexistent/husk", &spec, &s, &p), -ENOENT);
	gf_spec_free(&spec);

	/* A source that does not exist: the gofer says why and exits 1; the
	 * client sees the connection closed. */
	char json[256];
	snprintf(json, sizeof(json),
		 "{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"%s/nothing\"}]}",
		 base);
	cr_assert_eq(gf_spec_parse(json, &spec, NULL), 0);
	cr_assert_eq(gf_spawn(HUSK, &spec, &s, &p), 0);
	gf_spec_free(&spec);
	struct gf_client *c;
	cr_assert_eq(gf_client_new(s, &c), 0);
	gf_fid r;
	cr_expect_eq(gf_attach(c, "/", &r, NULL), -EIO);
	cr_expect_eq(gf_attach(c, "/", &r, NULL), -EIO);
	gf_client_free(c);
	close(s);
	int st;
	cr_assert_eq(waitpid(p, &st, 0), p);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

/* ------------------------------------------------ writes, read-write */

TestSuite(gofer_rw, .init = setup_rw, .fini = teardown);

Test(gofer_rw, mkdir_create_write_stat)
{
	gf_fid dir = walk_to(groot, "dir", NULL), d, f;
	struct gf_stat st;
	cr_assert_eq(gf_mkdir(cl, dir, "newdir", 0750, -1, -1, &d, &st), 0);
	cr_expect(S_ISDIR(st.mode));
	cr_expect_eq(st.mode & 07777, 0750, "the mode as asked (no umask in the gofer)");
	struct stat hst;
	host_stat("dir/newdir", &hst);
	cr_expect_eq(hst.st_ino, st.ino);
	cr_expect_eq(gf_mkdir(cl, dir, "newdir", 0750, -1, -1, &d, &st), -EEXIST);

	int fd = -1;
	cr_assert_eq(gf_create(cl, d, "file", O_RDWR, 0640, 1234, 5678, &f, &st, &fd), 0);
	cr_expect(S_ISREG(st.mode));
	cr_expect_eq(st.mode & 07777, 0640);
	cr_expect_eq(st.uid, 1234);
	cr_expect_eq(st.gid, 5678);
	cr_expect_eq(pwrite(fd, "written", 7, 0), 7);
	close(fd);
	host_stat("dir/newdir/file", &hst);
	cr_expect_eq(hst.st_size, 7);
	cr_expect_eq(hst.st_uid, 1234);
	cr_expect_eq(gf_stat(cl, f, &st), 0);
	cr_expect_eq(st.size, 7);
	cr_expect_eq(gf_create(cl, d, "file", O_RDWR, 0640, -1, -1, &f, &st, &fd), -EEXIST);

	/* Open for writing, with O_TRUNC and O_APPEND. */
	cr_assert_eq(gf_open(cl, f, O_WRONLY | O_APPEND, &fd), 0);
	cr_expect(fcntl(fd, F_GETFL) & O_APPEND);
	cr_expect_eq(write(fd, "+", 1), 1);
	close(fd);
	host_stat("dir/newdir/file", &hst);
	cr_expect_eq(hst.st_size, 8);
	cr_assert_eq(gf_open(cl, f, O_RDWR | O_TRUNC, &fd), 0);
	close(fd);
	host_stat("dir/newdir/file", &hst);
	cr_expect_eq(hst.st_size, 0);

	/* Set-id bits survive the chown of a create. */
	gf_fid g;
	cr_assert_eq(gf_create(cl, d, "suid", O_WRONLY, 04755, 1, 1, &g, &st, &fd), 0);
	close(fd);
	cr_expect_eq(st.mode & 07777, 04755);

	const char *slash = "a/b";
	cr_expect_eq(gf_create(cl, d, slash, O_RDWR, 0644, -1, -1, &g, &st, &fd), -EINVAL);
	cr_expect_eq(gf_mkdir(cl, d, "..", 0755, -1, -1, &g, &st), -EINVAL);
	cr_expect_eq(gf_create(cl, f, "x", O_RDWR, 0644, -1, -1, &g, &st, &fd), -ENOTDIR);
}

Test(gofer_rw, rename_unlink_and_fids_follow)
{
	gf_fid dir = walk_to(groot, "dir", NULL), sub = walk_to(groot, "dir/sub", NULL);
	gf_fid f = walk_to(dir, "f", NULL);
	cr_assert_eq(gf_rename(cl, dir, "f", sub, "moved", 0), 0);
	char p[512];
	hpath(p, sizeof(p), "dir/sub/moved");
	cr_expect_eq(access(p, F_OK), 0);
	/* The fid follows the file: it still opens. */
	int fd = -1;
	cr_assert_eq(gf_open(cl, f, O_RDONLY, &fd), 0);
	char buf[8] = {0};
	cr_expect_eq(pread(fd, buf, 8, 0), 6);
	cr_expect_str_eq(buf, "hello\n");
	close(fd);

	/* NOREPLACE and EXCHANGE. */
	cr_expect_eq(gf_rename(cl, sub, "moved", sub, "deep", RENAME_NOREPLACE), -EEXIST);
	gf_fid deep = walk_to(sub, "deep", NULL);
	cr_expect_eq(gf_rename(cl, sub, "moved", sub, "deep", RENAME_EXCHANGE), 0);
	cr_assert_eq(gf_open(cl, deep, O_RDONLY, &fd), 0);
	memset(buf, 0, sizeof(buf));
	cr_expect_eq(pread(fd, buf, 8, 0), 4);
	cr_expect_str_eq(buf, "deep");
	close(fd);
	cr_assert_eq(gf_open(cl, f, O_RDONLY, &fd), 0);
	cr_expect_eq(pread(fd, buf, 8, 0), 6);
	close(fd);
	cr_expect_eq(gf_rename(cl, sub, "moved", sub, "deep", RENAME_EXCHANGE | RENAME_NOREPLACE),
		     -EINVAL);
	cr_expect_eq(gf_rename(cl, sub, "moved", sub, "x", 1u << 7), -EINVAL);

	/* Replacing: the replaced file's fid goes stale. */
	cr_assert_eq(gf_rename(cl, sub, "moved", sub, "deep", 0), 0);
	cr_expect_eq(gf_open(cl, f, O_RDONLY, &fd), -ESTALE);
	cr_assert_eq(gf_open(cl, deep, O_RDONLY, &fd), 0);
	close(fd);

	/* Unlink. */
	cr_expect_eq(gf_unlink(cl, sub, "deep", 0), 0);
	hpath(p, sizeof(p), "dir/sub/deep");
	cr_expect_neq(access(p, F_OK), 0);
	cr_expect_eq(gf_open(cl, deep, O_RDONLY, &fd), -ESTALE);
	cr_expect_eq(gf_unlink(cl, sub, "deep", 0), -ENOENT);
	cr_expect_eq(gf_unlink(cl, dir, "sub", 0), -EISDIR);
	cr_expect_eq(gf_unlink(cl, dir, "sub", AT_REMOVEDIR), 0);
	cr_expect_eq(gf_unlink(cl, groot, "many", AT_REMOVEDIR), -ENOTEMPTY);
	cr_expect_eq(gf_unlink(cl, groot, "file", 0x1234), -EINVAL);
}

Test(gofer_rw, symlink_and_link)
{
	gf_fid dir = walk_to(groot, "dir", NULL), s, f = walk_to(groot, "file", NULL);
	struct gf_stat st;
	cr_assert_eq(gf_symlink(cl, dir, "ln", "/etc/passwd", 42, 43, &s, &st), 0);
	cr_expect(S_ISLNK(st.mode));
	cr_expect_eq(st.uid, 42);
	char buf[64];
	cr_expect_eq(gf_readlink(cl, s, buf, sizeof(buf)), 11);
	cr_expect_eq(memcmp(buf, "/etc/passwd", 11), 0);
	char p[512], t[64];
	hpath(p, sizeof(p), "dir/ln");
	cr_expect_eq(readlink(p, t, sizeof(t)), 11);
	cr_expect_eq(gf_symlink(cl, dir, "ln", "x", -1, -1, &s, &st), -EEXIST);
	cr_expect_eq(gf_symlink(cl, dir, "empty", "", -1, -1, &s, &st), -ENOENT);

	cr_assert_eq(gf_link(cl, dir, "hard", f), 0);
	struct stat hst;
	host_stat("dir/hard", &hst);
	cr_expect_eq(hst.st_nlink, 2);
	cr_expect_eq(gf_stat(cl, f, &st), 0);
	cr_expect_eq(st.ino, hst.st_ino);
	cr_expect_eq(st.nlink, 2);
	cr_expect_eq(gf_link(cl, dir, "hard", f), -EEXIST);
	cr_expect_eq(gf_link(cl, groot, "dirlink", dir), -EPERM);
}

Test(gofer_rw, setattr)
{
	gf_fid f = walk_to(groot, "file", NULL), d = walk_to(groot, "dir", NULL);
	struct gf_setattr a = {.mask = GF_SET_MODE, .mode = 0600};
	cr_expect_eq(gf_setattr(cl, f, &a), 0);
	a = (struct gf_setattr){.mask = GF_SET_SIZE, .size = 3};
	cr_expect_eq(gf_setattr(cl, f, &a), 0);
	a = (struct gf_setattr){.mask = GF_SET_UID | GF_SET_GID, .uid = 7, .gid = 8};
	cr_expect_eq(gf_setattr(cl, f, &a), 0);
	a = (struct gf_setattr){.mask = GF_SET_ATIME | GF_SET_MTIME, .atime_sec = 1000,
				.atime_nsec = 5, .mtime_sec = 2000, .mtime_nsec = 6};
	cr_expect_eq(gf_setattr(cl, f, &a), 0);
	struct stat hst;
	host_stat("file", &hst);
	cr_expect_eq(hst.st_mode & 07777, 0600);
	cr_expect_eq(hst.st_size, 3);
	cr_expect_eq(hst.st_uid, 7);
	cr_expect_eq(hst.st_gid, 8);
	cr_expect_eq(hst.st_atim.tv_sec, 1000);
	cr_expect_eq(hst.st_atim.tv_nsec, 5);
	cr_expect_eq(hst.st_mtim.tv_sec, 2000);
	cr_expect_eq(hst.st_mtim.tv_nsec, 6);
	struct gf_stat st;
	cr_expect_eq(gf_stat(cl, f, &st), 0);
	cr_expect_eq(st.mtime_sec, 2000);
	cr_expect_eq(st.size, 3);

	a = (struct gf_setattr){.mask = GF_SET_MTIME, .mtime_sec = 3000, .mtime_nsec = UTIME_OMIT};
	cr_expect_eq(gf_setattr(cl, d, &a), 0);
	a = (struct gf_setattr){.mask = GF_SET_MODE, .mode = 0700};
	cr_expect_eq(gf_setattr(cl, d, &a), 0);
	host_stat("dir", &hst);
	cr_expect_eq(hst.st_mode & 07777, 0700);
	a = (struct gf_setattr){.mask = GF_SET_SIZE, .size = 0};
	cr_expect_eq(gf_setattr(cl, d, &a), -EISDIR);
	a = (struct gf_setattr){.mask = 1u << 20};
	cr_expect_eq(gf_setattr(cl, f, &a), -EINVAL);
	a = (struct gf_setattr){.mask = GF_SET_SIZE, .size = UINT64_MAX};
	cr_expect_eq(gf_setattr(cl, f, &a), -EINVAL);
	a = (struct gf_setattr){.mask = GF_SET_ATIME, .atime_nsec = 2000000000};
	cr_expect_eq(gf_setattr(cl, f, &a), -EINVAL);
	/* Symlinks' times change (never their targets'); their mode does not. */
	gf_fid rel = walk_to(groot, "rel", NULL);
	a = (struct gf_setattr){.mask = GF_SET_MTIME, .mtime_sec = 4000};
	cr_expect_eq(gf_setattr(cl, rel, &a), 0);
	host_stat("rel", &hst);
	cr_expect_eq(hst.st_mtim.tv_sec, 4000);
	host_stat("dir/f", &hst);
	cr_expect_neq(hst.st_mtim.tv_sec, 4000);
	a = (struct gf_setattr){.mask = GF_SET_MODE, .mode = 0600};
	cr_expect_eq(gf_setattr(cl, rel, &a), -EOPNOTSUPP);
}

/* The optimised build (glibc's malloc, not the sanitizers') lives within
 * the same allowlist.  bin/husk exists when `make test` runs this. */
Test(gofer_rw, the_release_build_serves_too, .timeout = 60)
{
	if (access("bin/husk", X_OK) != 0)
		cr_skip_test("no bin/husk");
	expect_clean_exit(stop());
	char json[512];
	snprintf(json, sizeof(json),
		 "{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"%s\"}]}",
		 rootdir);
	struct gf_spec spec;
	cr_assert_eq(gf_spec_parse(json, &spec, NULL), 0);
	cr_assert_eq(gf_spawn("bin/husk", &spec, &gsock, &gpid), 0);
	gf_spec_free(&spec);
	cr_assert_eq(gf_client_new(gsock, &cl), 0);
	struct gf_stat st;
	cr_assert_eq(gf_attach(cl, "/", &groot, &st), 0);
	/* Enough fids, nodes and replies to make malloc grow and shrink. */
	static gf_fid fids[20000];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 20000; i++)
			fids[i] = walk_to(groot, i % 2 ? "many" : "dir/sub/deep", NULL);
		cr_assert_eq(gf_close(cl, fids, 20000), 0);
	}
	gf_fid many = walk_to(groot, "many", NULL), d, f;
	struct gf_dirent ents[256];
	cr_expect_gt(gf_getdents(cl, many, 0, ents, 256), 200);
	int fd;
	cr_assert_eq(gf_mkdir(cl, groot, "made", 0755, -1, -1, &d, &st), 0);
	cr_assert_eq(gf_create(cl, d, "f", O_RDWR, 0644, -1, -1, &f, &st, &fd), 0);
	close(fd);
	cr_assert_eq(gf_open(cl, f, O_RDWR | O_TRUNC, &fd), 0);
	close(fd);
	struct gf_setattr a = {.mask = GF_SET_MODE | GF_SET_SIZE | GF_SET_MTIME, .mode = 0600,
			       .size = 5, .mtime_nsec = UTIME_NOW};
	cr_expect_eq(gf_setattr(cl, f, &a), 0);
	cr_expect_eq(gf_rename(cl, d, "f", groot, "g", 0), 0);
	cr_expect_eq(gf_link(cl, groot, "h", f), 0);
	cr_expect_eq(gf_unlink(cl, groot, "h", 0), 0);
	cr_expect_eq(gf_symlink(cl, d, "s", "x", -1, -1, &f, &st), 0);
	char buf[8];
	cr_expect_eq(gf_readlink(cl, f, buf, sizeof(buf)), 1);
	struct statfs sfs;
	cr_expect_eq(gf_statfs(cl, groot, &sfs), 0);
}
