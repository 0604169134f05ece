/* Restore against hostile snapshots: a real checkpoint (busybox sleeping
 * in a sandbox) has its object section mutated (bytes flipped, cut short,
 * garbage spliced in) and resealed with valid checksums, so that the
 * kernel's decoder, not the file format's, meets every mutation; then
 * `husk restore` (the ASan build) must either refuse it with a reason
 * (status 125) or run what it describes: never crash, never a sanitizer
 * report. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../snapshot/snapshot.h"

#define HUSK "build/san/husk"
#define ROUNDS 120

extern char **environ;

static char dir[64];

/* Runs argv; its status, or -1 if it had to be killed after ms. */
static int run(char *const argv[], int ms, char *err, size_t errlen)
{
	char errpath[128];
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid;
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	int st = 0;
	for (int waited = 0;; waited += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (waited >= ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			st = -1;
			break;
		}
		usleep(10000);
	}
	FILE *f = fopen(errpath, "r");
	size_t n = f ? fread(err, 1, errlen - 1, f) : 0;
	err[n] = 0;
	if (f)
		fclose(f);
	return st;
}

/* A snapshot of what argv runs (husk run's options, then the program),
 * taken through the control socket. */
static void make_snapshot(const char *snap, char *const *argv)
{
	char sock[128];
	snprintf(sock, sizeof(sock), "%s/ctl", dir);
	char *runv[32] = {HUSK, "run", "--control", sock};
	for (int i = 0; argv[i] && i < 27; i++)
		runv[4 + i] = argv[i];
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	cr_assert_eq(posix_spawn(&pid, HUSK, &fa, NULL, runv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	char *const ckv[] = {HUSK, "checkpoint", "--control", sock, (char *)snap, NULL};
	char err[4096];
	int st = 1;
	for (int i = 0; i < 100 && st != 0; i++) {
		usleep(i ? 20000 : 150000); /* (its state made first) */
		st = run(ckv, 10000, err, sizeof(err));
	}
	waitpid(pid, NULL, 0);
	cr_assert_eq(st, 0, "checkpoint: %s", err);
}

/* Writes a snapshot with objects obj (len) and r's memory. */
static void reseal(const struct snap_reader *r, const void *obj, size_t len, const char *path)
{
	struct snap_writer *w;
	cr_assert_eq(snap_writer_open(path, NULL, &w), 0);
	cr_assert_eq(snap_writer_section(w, SNAP_SEC_OBJECTS, obj, len), 0);
	static uint8_t block[1 << 20];
	for (size_t i = 0; i < snap_mem_count(r); i++) {
		struct snap_block b;
		cr_assert_eq(snap_mem_block(r, i, &b), 0);
		cr_assert_gt(snap_mem_read(r, i, block, sizeof(block)), 0);
		cr_assert_eq(snap_writer_memory(w, b.mem_offset, block, b.length), 0);
	}
	cr_assert_eq(snap_writer_finish(w, NULL), 0);
}

/* What runargs runs, checkpointed into a fresh directory: the reader of
 * its snapshot and the objects section (bad: where a mutated copy goes). */
static struct snap_reader *checkpointed(char *const *runargs, char bad[128], const uint8_t **obj,
					size_t *len)
{
	strcpy(dir, "/tmp/husk-ckfuzz-XXXXXX");
	cr_assert(mkdtemp(dir));
	char snap[128];
	snprintf(snap, sizeof(snap), "%s/orig.snap", dir);
	snprintf(bad, 128, "%s/bad.snap", dir);
	make_snapshot(snap, runargs);
	struct snap_reader *r;
	char why[256];
	cr_assert_eq(snap_open(snap, &r, why, sizeof(why)), 0, "%s", why);
	*obj = snap_section(r, SNAP_SEC_OBJECTS, len);
	cr_assert(*obj && *len > 100);
	return r;
}

static void done_with(struct snap_reader *r)
{
	snap_close(r);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Mutates the objects of what runargs runs, checkpointed, rounds ways;
 * each restored (with --bind bind, if not NULL) must be refused with a reason
 * or run: a clean one runs to its end (server: until killed at ms). */
static void fuzz(char *const *runargs, const char *bind, int rounds, int ms, bool server)
{
	char bad[128];
	const uint8_t *obj;
	size_t len;
	struct snap_reader *r = checkpointed(runargs, bad, &obj, &len);
	uint8_t *m = malloc(len + 64);
	char *const resv[] = {HUSK, "restore", "--bind", (char *)bind, bad, NULL};
	char *const resv_plain[] = {HUSK, "restore", bad, NULL};
	char *const *rv = bind ? resv : resv_plain;
	char err[8192];
	/* The unchanged objects restore and run. */
	reseal(r, obj, len, bad);
	int st = run(rv, server ? ms : 20000, err, sizeof(err));
	cr_assert(server ? st == -1 : st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "a clean restore: %d %s", st, err);
	srand(1234);
	int refused = 0, ran = 0;
	for (int round = 0; round < rounds; round++) {
		memcpy(m, obj, len);
		size_t n = len;
		switch (round % 4) {
		case 0: /* a few bytes flipped */
		case 1:
			for (int k = 0; k < 1 + rand() % 4; k++)
				m[rand() % n] ^= (uint8_t)(1 + rand() % 255);
			break;
		case 2: /* cut short */
			n = (size_t)rand() % len;
			break;
		default: { /* a 32-bit value set to an extreme */
			static const uint32_t v[] = {0, 1, 0xffffffffu, 0x7fffffffu, 0x80000000u, 65536};
			size_t at = (size_t)rand() % (len - 4);
			uint32_t x = v[rand() % 6];
			memcpy(m + at, &x, 4);
			break;
		}
		}
		reseal(r, m, n, bad);
		st = run(rv, ms, err, sizeof(err));
		cr_assert(!strstr(err, "AddressSanitizer") && !strstr(err, "runtime error") &&
				  !strstr(err, "LeakSanitizer"),
			  "round %d: %s", round, err);
		cr_assert(st == -1 || WIFEXITED(st), "round %d: husk died of signal %d: %s", round,
			  WIFSIGNALED(st) ? WTERMSIG(st) : 0, err);
		if (st != -1 && WEXITSTATUS(st) == 125) {
			cr_assert(strstr(err, "husk restore:"), "round %d: refused without a reason",
				  round);
			refused++;
		} else {
			ran++;
		}
	}
	cr_log_info("ckpt_fuzz: %d refused, %d ran", refused, ran);
	cr_assert_gt(refused, rounds / 4);
	free(m);
	done_with(r);
}

/* busybox sleeping, with files of its own in /tmp (a directory, a hard
 * link, a symlink). */
Test(ckpt_fuzz, mutated_objects_are_refused_or_run, .timeout = 600)
{
	if (access(HUSK, X_OK) || access("/bin/busybox", X_OK))
		cr_skip_test("needs " HUSK " and /bin/busybox");
	char *const args[] = {"--", "/bin/busybox", "sh", "-c",
			      "mkdir /tmp/d && echo x >/tmp/d/f && ln /tmp/d/f /tmp/d/h && "
			      "ln -s f /tmp/d/l && exec /bin/busybox sleep 0.3",
			      NULL};
	fuzz(args, NULL, ROUNDS, 3000, false);
}

/* The e2e state server (a listener, pipe, eventfd, epolls one in another,
 * timerfd, POSIX timer, signalfd, a zombie, unix sockets, a /tmp file),
 * run with the repository bound: its husk run arguments, or a skip. */
static char repo[4000], state[4100];

static void state_server(char *args[6])
{
	if (access(HUSK, X_OK) || !getcwd(repo, sizeof(repo)))
		cr_skip_test("needs " HUSK);
	snprintf(state, sizeof(state), "%s/build/special/ckpt_state", repo);
	if (access(state, X_OK))
		cr_skip_test("needs build/special/ckpt_state");
	char *a[] = {"--bind", repo, "--", state, "18080", NULL};
	memcpy(args, a, sizeof(a));
}

Test(ckpt_fuzz, mutated_state_server_is_refused_or_runs, .timeout = 600)
{
	char *args[6];
	state_server(args);
	fuzz(args, repo, 60, 1000, true);
}

/* Crafted: the state server's child (a zombie) made a second process
 * without a parent.  Refused, and what the restore had made freed (the
 * ASan build reports a leak otherwise). */
Test(ckpt_fuzz, a_second_process_without_a_parent_is_refused, .timeout = 120)
{
	char *args[6];
	state_server(args);
	char bad[128];
	const uint8_t *obj;
	size_t len;
	struct snap_reader *r = checkpointed(args, bad, &obj, &len);
	uint8_t *m = malloc(len);
	memcpy(m, obj, len);
	/* The second process record's parent pid (its fourth u32) to 0. */
	struct snap_dec top, body;
	snap_dec_init(&top, m, len);
	uint32_t tag;
	int tgs = 0;
	while (snap_rec_next(&top, &tag, &body))
		if (tag == 7 /* CK_TG */ && ++tgs == 2) {
			memset(m + (body.p - m) + 12, 0, 4);
			break;
		}
	cr_assert_eq(tgs, 2, "the state server has a child");
	reseal(r, m, len, bad);
	char *const rv[] = {HUSK, "restore", "--bind", repo, bad, NULL};
	char err[8192];
	int st = run(rv, 20000, err, sizeof(err));
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 125, "%d: %s", st, err);
	cr_expect(strstr(err, "two processes without a parent"), "%s", err);
	cr_expect(!strstr(err, "Sanitizer"), "%s", err);
	free(m);
	done_with(r);
}
