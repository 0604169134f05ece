/* What the gofer's unit tests share (gofer_test.c, gofer_hostile_test.c):
 * a temporary host tree, and a real gofer (build/san/husk gofer) serving
 * it through a client.  Every tests/unit file is linked into one binary, so
 * all here is static: each file has its own copy of the state, which its
 * own suites set up.  Include it after defining _GNU_SOURCE. */
#ifndef HUSK_TESTS_UNIT_GOFER_TEST_H
#define HUSK_TESTS_UNIT_GOFER_TEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../gofer/gofer.h"
#include "../../gofer/proto.h"

#define HUSK "build/san/husk"

static char base[64];
static char rootdir[128];
static struct gf_client *cl;
static int gsock = -1;
static pid_t gpid = -1;
static gf_fid groot;

static inline void hpath(char *out, size_t n, const char *rel)
{
	snprintf(out, n, "%s/%s", rootdir, rel);
}

static inline void mkfile(const char *rel, const char *content)
{
	char p[512];
	hpath(p, sizeof(p), rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static inline void mkdir_(const char *rel)
{
	char p[512];
	hpath(p, sizeof(p), rel);
	cr_assert_eq(mkdir(p, 0755), 0, "%s: %s", p, strerror(errno));
}

static inline void symlink_(const char *target, const char *rel)
{
	char p[512];
	hpath(p, sizeof(p), rel);
	cr_assert_eq(symlink(target, p), 0, "%s: %s", p, strerror(errno));
}

enum { MANY = 300, DEEP = 64 };

static inline void make_tree(void)
{
	strcpy(base, "/tmp/husk-gofer-XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	char p[512];
	snprintf(p, sizeof(p), "%s/outside", base);
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/outside/secret", base);
	int fd = open(p, O_WRONLY | O_CREAT, 0644);
	cr_assert_eq(write(fd, "secret\n", 7), 7);
	close(fd);
	snprintf(rootdir, sizeof(rootdir), "%s/root", base);
	cr_assert_eq(mkdir(rootdir, 0755), 0);

	mkdir_("dir");
	mkfile("dir/f", "hello\n");
	mkdir_("dir/sub");
	mkfile("dir/sub/deep", "deep");
	mkfile("file", "0123456789");
	mkfile("swap", "inside");
	mkdir_("swapdir");
	mkfile("swapdir/inner", "inner");
	symlink_("dir/f", "rel");
	snprintf(p, sizeof(p), "%s/outside", base);
	symlink_(p, "abs");
	symlink_("..", "up");
	symlink_("nowhere/at/all", "dangling");
	snprintf(p, sizeof(p), "%s/outside", base);
	symlink_(p, "sl");
	hpath(p, sizeof(p), "fifo");
	cr_assert_eq(mkfifo(p, 0644), 0);
	mkdir_("many");
	for (int i = 0; i < MANY; i++) {
		char rel[160];
		snprintf(rel, sizeof(rel), "many/entry-%03d-%s", i,
			 "with-a-rather-long-name-to-fill-the-messages-faster-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		mkfile(rel, "");
	}
	char rel[DEEP * 2 + 8] = "deep";
	mkdir_(rel);
	for (int i = 1; i < DEEP; i++) {
		strcat(rel, "/d");
		mkdir_(rel);
	}
}

static inline int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

static inline void rm_tree(void)
{
	if (base[0])
		nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	base[0] = '\0';
}

static inline void start_spec(const char *json)
{
	struct gf_spec spec;
	const char *why;
	cr_assert_eq(gf_spec_parse(json, &spec, &why), 0, "%s", why);
	int rc = gf_spawn(HUSK, &spec, &gsock, &gpid);
	gf_spec_free(&spec);
	cr_assert_eq(rc, 0, "gf_spawn: %s", strerror(-rc));
	cr_assert_eq(gf_client_new(gsock, &cl), 0);
}

static inline void start(bool readonly)
{
	char json[512];
	snprintf(json, sizeof(json),
		 "{\"mounts\": [{\"path\": \"/\", \"type\": \"bind\", \"source\": \"%s\", "
		 "\"readonly\": %s}, {\"path\": \"/tmp\", \"type\": \"tmpfs\"}]}",
		 rootdir, readonly ? "true" : "false");
	start_spec(json);
	struct gf_stat st;
	int rc = gf_attach(cl, "/", &groot, &st);
	cr_assert_eq(rc, 0, "attach: %s", strerror(-rc));
	cr_assert(S_ISDIR(st.mode));
}

/* Closes the connection: the gofer must exit 0, never killed (a syscall
 * outside its seccomp allowlist would kill it with SIGSYS). */
static inline int stop(void)
{
	gf_client_free(cl);
	cl = NULL;
	close(gsock);
	gsock = -1;
	int st = 0;
	if (gpid > 0) {
		cr_expect_eq(waitpid(gpid, &st, 0), gpid);
		gpid = -1;
	}
	return st;
}

static inline void expect_clean_exit(int st)
{
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "gofer: %s %d",
		  WIFSIGNALED(st) ? "killed by signal" : "exit status",
		  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

static inline void setup_ro(void)
{
	make_tree();
	start(true);
}

static inline void setup_rw(void)
{
	make_tree();
	start(false);
}

static inline void teardown(void)
{
	if (cl)
		expect_clean_exit(stop());
	rm_tree();
}

/* Walks a relative path ("a/b/c") to its end, which must be reached. */
static inline gf_fid walk_to(gf_fid from, const char *path, struct gf_stat *last)
{
	char buf[512];
	strcpy(buf, path);
	const char *names[GF_WALK_MAX];
	int n = 0;
	for (char *save, *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save))
		names[n++] = t;
	gf_fid fids[GF_WALK_MAX];
	struct gf_stat st[GF_WALK_MAX];
	int err = -1;
	int got = gf_walk(cl, from, names, n, fids, st, &err);
	cr_assert_eq(got, n, "walk %s: %d (%s) stop %d", path, got, got < 0 ? strerror(-got) : "", err);
	cr_assert_eq(err, 0);
	if (n > 1)
		cr_assert_eq(gf_close(cl, fids, n - 1), 0);
	if (last)
		*last = st[n - 1];
	return fids[n - 1];
}

static inline void host_stat(const char *rel, struct stat *st)
{
	char p[512];
	hpath(p, sizeof(p), rel);
	cr_assert_eq(lstat(p, st), 0, "%s: %s", p, strerror(errno));
}

static inline void read_proc(pid_t pid, const char *file, char *buf, size_t n)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/%s", pid, file);
	int fd = open(p, O_RDONLY);
	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	ssize_t got = read(fd, buf, n - 1);
	close(fd);
	cr_assert_gt(got, 0);
	buf[got] = '\0';
}

#endif
