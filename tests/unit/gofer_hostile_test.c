#define _GNU_SOURCE
/* The gofer against hostile peers: garbage on the wire (malformed and
 * random messages) to a real gofer, which must answer each with an error
 * and keep serving; and the client against a lying gofer, whose every lie
 * must be EPROTO with the fds it sent closed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gofer_test.h"

/* -------------------------------------------------- garbage on the wire */

/* Sends one raw message; returns the reply's length (its op in *op, its
 * errno in *err when it is an error), or -1 if the gofer closed the
 * connection.  Fds that come with a reply are closed. */
static ssize_t raw(const void *msg, size_t len, uint32_t *op, uint32_t *err)
{
	ssize_t n = send(gsock, msg, len, MSG_NOSIGNAL);
	if (n < 0)
		return -1;
	struct pollfd pfd = {.fd = gsock, .events = POLLIN};
	cr_assert_eq(poll(&pfd, 1, 10000), 1, "the gofer did not answer in 10 s");
	static uint8_t buf[GF_MSG_MAX];
	union {
		char b[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr a;
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			   .msg_controllen = sizeof(ctl.b)};
	n = recvmsg(gsock, &m, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_type == SCM_RIGHTS)
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(fd);
			}
	cr_assert_geq(n, 8);
	uint32_t h[2];
	memcpy(h, buf, 8);
	cr_assert_eq(h[1], (uint32_t)n - 8, "reply length");
	*op = h[0];
	*err = 0;
	if (h[0] == GF_OP_ERROR) {
		cr_assert_eq(n, 12);
		memcpy(err, buf + 8, 4);
	}
	return n;
}

/* A message: header, then the payload parts. */
struct msgb {
	uint8_t b[GF_MSG_MAX + 64];
	size_t n;
};

static void m_start(struct msgb *m, uint32_t op)
{
	memcpy(m->b, &op, 4);
	m->n = 8;
}
static void m_put(struct msgb *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}
static void m_u16(struct msgb *m, uint16_t v) { m_put(m, &v, 2); }
static void m_u32(struct msgb *m, uint32_t v) { m_put(m, &v, 4); }
static void m_u64(struct msgb *m, uint64_t v) { m_put(m, &v, 8); }
static void m_str(struct msgb *m, const char *s, size_t n)
{
	m_u16(m, (uint16_t)n);
	m_put(m, s, n);
}
static void m_end(struct msgb *m)
{
	uint32_t len = (uint32_t)(m->n - 8);
	memcpy(m->b + 4, &len, 4);
}

static uint32_t raw_err(struct msgb *m)
{
	uint32_t op, err;
	cr_assert_gt(raw(m->b, m->n, &op, &err), 0, "the gofer hung up");
	return op == GF_OP_ERROR ? err : 0;
}

TestSuite(gofer_hostile, .init = setup_ro, .fini = teardown);

Test(gofer_hostile, malformed_messages_get_errors)
{
	static struct msgb m;
	uint32_t op, err;

	/* Shorter than a header. */
	cr_assert_gt(raw("abc", 3, &op, &err), 0);
	cr_expect(op == GF_OP_ERROR && err == EINVAL);
	/* A length that is not the message's. */
	m_start(&m, GF_OP_STAT);
	m_u64(&m, groot);
	m_end(&m);
	uint32_t lie = 100;
	memcpy(m.b + 4, &lie, 4);
	cr_expect_eq(raw_err(&m), EINVAL);
	lie = 4;
	memcpy(m.b + 4, &lie, 4);
	cr_expect_eq(raw_err(&m), EINVAL);
	/* Unknown ops, and the error op as a request. */
	uint32_t ops[] = {GF_OP_ERROR, GF_OP_COUNT, 999, UINT32_MAX};
	for (size_t i = 0; i < 4; i++) {
		m_start(&m, ops[i]);
		m_end(&m);
		cr_expect_eq(raw_err(&m), EOPNOTSUPP);
	}
	/* Trailing bytes, missing bytes. */
	m_start(&m, GF_OP_STAT);
	m_u64(&m, groot);
	m_u32(&m, 0);
	m_end(&m);
	cr_expect_eq(raw_err(&m), EINVAL);
	m_start(&m, GF_OP_STAT);
	m_u32(&m, 0);
	m_end(&m);
	cr_expect_eq(raw_err(&m), EINVAL);
	/* Strings past the message. */
	m_start(&m, GF_OP_ATTACH);
	m_u16(&m, 60000);
	m_put(&m, "/", 1);
	m_end(&m);
	cr_expect_eq(raw_err(&m), EINVAL);
	/* Walks: too many names, names with '/', "..", ".", NUL, empty, too
	 * long; an unknown fid. */
	m_start(&m, GF_OP_WALK);
	m_u64(&m, groot);
	m_u16(&m, 65000);
	m_end(&m);
	cr_expect_eq(raw_err(&m), EINVAL);
	const char *names[] = {"a/b", "..", ".", "a\0b", "", "/"};
	size_t lens[] = {3, 2, 1, 3, 0, 1};
	for (size_t i = 0; i < 6; i++) {
		m_start(&m, GF_OP_WALK);
		m_u64(&m, groot);
		m_u16(&m, 1);
		m_str(&m, names[i], lens[i]);
		m_end(&m);
		cr_expect_eq(raw_err(&m), EINVAL, "name %zu", i);
	}
	char longname[300];
	memset(longname, 'x', sizeof(longname));
	m_start(&m, GF_OP_WALK);
	m_u64(&m, groot);
	m_u16(&m, 1);
	m_str(&m, longname, 256);
	m_end(&m);
	cr_expect_eq(raw_err(&m), EINVAL);
	m_start(&m, GF_OP_WALK);
	m_u64(&m, groot + 12345);
	m_u16(&m, 1);
	m_str(&m, "dir", 3);
	m_end(&m);
	cr_expect_eq(raw_err(&m), EBADF);
	/* Close: duplicates, unknown fids, huge counts. */
	gf_fid f = walk_to(groot, "file", NULL);
	m_start(&m, GF_OP_CLOSE);
	m_u32(&m, 2);
	m_u64(&m, f);
	m_u64(&m, f);
	m_end(&m);
	cr_expect_eq(raw_err(&m), EBADF);
	m_start(&m, GF_OP_CLOSE);
	m_u32(&m, UINT32_MAX);
	m_u64(&m, groot);
	m_end(&m);
	cr_expect_eq(raw_err(&m), EINVAL);
	/* getdents: a huge count is clamped; zero is refused. */
	m_start(&m, GF_OP_GETDENTS);
	m_u64(&m, groot);
	m_u64(&m, 0);
	m_u32(&m, UINT32_MAX);
	m_end(&m);
	cr_expect_eq(raw_err(&m), 0);
	m_start(&m, GF_OP_GETDENTS);
	m_u64(&m, groot);
	m_u64(&m, UINT64_MAX);
	m_u32(&m, 1);
	m_end(&m);
	cr_expect_eq(raw_err(&m), EINVAL);
	/* Open flags the protocol does not take. */
	m_start(&m, GF_OP_OPEN);
	m_u64(&m, groot);
	m_u32(&m, O_PATH);
	m_end(&m);
	cr_expect_eq(raw_err(&m), EINVAL);
	/* More than 64 KiB. */
	static uint8_t huge[100000];
	memset(huge, 0, sizeof(huge));
	uint32_t hh[2] = {GF_OP_STAT, sizeof(huge) - 8};
	memcpy(huge, hh, 8);
	cr_assert_gt(raw(huge, sizeof(huge), &op, &err), 0);
	cr_expect(op == GF_OP_ERROR && err == EMSGSIZE);
	/* fds sent to the gofer are dropped. */
	int p[2];
	cr_assert_eq(pipe(p), 0);
	m_start(&m, GF_OP_STAT);
	m_u64(&m, groot);
	m_end(&m);
	union {
		char b[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr a;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = {.iov_base = m.b, .iov_len = m.n};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			    .msg_controllen = sizeof(ctl.b)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * 2);
	memcpy(CMSG_DATA(c), p, sizeof(p));
	cr_assert_eq(sendmsg(gsock, &mh, 0), (ssize_t)m.n);
	close(p[0]);
	close(p[1]);
	char buf[256];
	cr_assert_gt(recv(gsock, buf, sizeof(buf), 0), 8);

	/* Still serving. */
	struct gf_stat st;
	cr_expect_eq(gf_stat(cl, groot, &st), 0);
	cr_expect_eq(gf_stat(cl, f, &st), -EBADF);
}

Test(gofer_hostile, random_frames_never_crash_it, .timeout = 120)
{
	static struct msgb m;
	unsigned seed = 12345;
	gf_fid some[4] = {groot, walk_to(groot, "dir", NULL), walk_to(groot, "file", NULL),
			  walk_to(groot, "rel", NULL)};
	for (int i = 0; i < 4000; i++) {
		uint32_t op, err;
		size_t len;
		if (i % 2) {
			/* Garbage. */
			len = 1 + (size_t)(rand_r(&seed) % 400);
			for (size_t k = 0; k < len; k++)
				m.b[k] = (uint8_t)rand_r(&seed);
			uint32_t o = (uint32_t)rand_r(&seed) % (GF_OP_COUNT + 2);
			if (len >= 8) {
				memcpy(m.b, &o, 4);
				if (rand_r(&seed) % 4) {
					uint32_t l = (uint32_t)len - 8;
					memcpy(m.b + 4, &l, 4);
				}
			}
		} else {
			/* A plausible request with real fids, then mutated. */
			m_start(&m, (uint32_t)(1 + rand_r(&seed) % (GF_OP_COUNT - 1)));
			m_u64(&m, some[rand_r(&seed) % 4]);
			int parts = rand_r(&seed) % 6;
			for (int k = 0; k < parts; k++) {
				switch (rand_r(&seed) % 4) {
				case 0: m_u32(&m, (uint32_t)rand_r(&seed) % 4); break;
				case 1: m_u64(&m, some[rand_r(&seed) % 4]); break;
				case 2: m_u16(&m, (uint16_t)(rand_r(&seed) % 3)); break;
				default: m_str(&m, "dir", 3); break;
				}
			}
			m_end(&m);
			len = m.n;
			int flips = rand_r(&seed) % 3;
			for (int k = 0; k < flips; k++)
				m.b[8 + (size_t)rand_r(&seed) % (len - 8)] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
		}
		ssize_t n = raw(m.b, len, &op, &err);
		cr_assert_gt(n, 0, "the gofer hung up after frame %d", i);
	}
	/* (The random closes may have closed the fids above.) */
	gf_fid r;
	struct gf_stat st;
	cr_assert_eq(gf_attach(cl, "/", &r, &st), 0);
	cr_expect_eq(gf_stat(cl, r, &st), 0);
	static char status[8192];
	read_proc(gpid, "status", status, sizeof(status));
	const char *vm = strstr(status, "VmRSS:");
	cr_assert_not_null(vm);
	cr_expect_lt(atol(vm + 6), 512 * 1024, "the gofer grew: %s", vm);
}

Test(gofer_hostile, an_empty_message_closes_the_connection)
{
	cr_assert_eq(send(gsock, "", 0, MSG_NOSIGNAL), 0);
	int st;
	cr_assert_eq(waitpid(gpid, &st, 0), gpid);
	gpid = -1;
	expect_clean_exit(st);
	struct gf_stat gst;
	cr_expect_eq(gf_stat(cl, groot, &gst), -EIO);
	gf_client_free(cl);
	cl = NULL;
	close(gsock);
	gsock = -1;
}

/* ------------------------------------------- the client vs a lying gofer */

static struct gf_client *lc;
static int fake = -1;

static int lsock = -1;

static void setup_liar(void)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(gf_client_new(sv[0], &lc), 0);
	lsock = sv[0];
	fake = sv[1];
}

static void teardown_liar(void)
{
	gf_client_free(lc);
	lc = NULL;
	if (lsock >= 0)
		close(lsock);
	if (fake >= 0)
		close(fake);
	lsock = fake = -1;
}

TestSuite(gofer_client, .init = setup_liar, .fini = teardown_liar);

/* Queues the next reply (with fds) before the client asks. */
static void lie(const struct msgb *m, const int *fds, int nfds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr a;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = {.iov_base = (void *)m->b, .iov_len = m->n};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (nfds) {
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	cr_assert_eq(sendmsg(fake, &mh, 0), (ssize_t)m->n);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void reset_liar(void)
{
	teardown_liar();
	setup_liar();
}

static void good_stat(struct msgb *m, uint32_t mode)
{
	struct gf_stat st = {.ino = 1, .mode = mode, .nlink = 1};
	struct gf_wr w;
	gf_wr_init(&w, m->b + m->n, sizeof(m->b) - m->n);
	gf_wr_stat(&w, &st);
	m->n += w.len;
}

Test(gofer_client, lying_replies_are_eproto_and_fds_are_closed)
{
	static struct msgb m;
	struct gf_stat st;
	int before = count_fds();

	/* A good reply first: the fake works. */
	m_start(&m, GF_OP_STAT);
	good_stat(&m, S_IFREG | 0644);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_stat(lc, 1, &st), 0);
	cr_expect_eq(st.ino, 1);

	/* The wrong op. */
	m_start(&m, GF_OP_WALK);
	good_stat(&m, S_IFREG | 0644);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_stat(lc, 1, &st), -EPROTO);
	cr_expect_eq(gf_stat(lc, 1, &st), -EIO, "broken from then on");
	reset_liar();

	/* A length that lies. */
	m_start(&m, GF_OP_STAT);
	good_stat(&m, S_IFREG | 0644);
	m_end(&m);
	uint32_t l = 5;
	memcpy(m.b + 4, &l, 4);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_stat(lc, 1, &st), -EPROTO);
	reset_liar();

	/* Short, long, and a nonsense file type. */
	m_start(&m, GF_OP_STAT);
	m_u64(&m, 0);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_stat(lc, 1, &st), -EPROTO);
	reset_liar();
	m_start(&m, GF_OP_STAT);
	good_stat(&m, S_IFREG);
	m_u32(&m, 0);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_stat(lc, 1, &st), -EPROTO);
	reset_liar();
	m_start(&m, GF_OP_STAT);
	good_stat(&m, 0170000);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_stat(lc, 1, &st), -EPROTO);
	reset_liar();

	/* Errors: a real one passes; errno 0, huge errnos and errors with
	 * fds do not. */
	m_start(&m, GF_OP_ERROR);
	m_u32(&m, ENOENT);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_stat(lc, 1, &st), -ENOENT);
	uint32_t bad_errs[] = {0, 4096, UINT32_MAX};
	for (int i = 0; i < 3; i++) {
		m_start(&m, GF_OP_ERROR);
		m_u32(&m, bad_errs[i]);
		m_end(&m);
		lie(&m, NULL, 0);
		cr_expect_eq(gf_stat(lc, 1, &st), -EPROTO);
		reset_liar();
	}
	int p[2];
	cr_assert_eq(pipe(p), 0);
	m_start(&m, GF_OP_ERROR);
	m_u32(&m, EIO);
	m_end(&m);
	lie(&m, p, 2);
	cr_expect_eq(gf_stat(lc, 1, &st), -EPROTO);
	reset_liar();

	/* fds nobody asked for; fds that are not regular files; none where
	 * one is due. */
	m_start(&m, GF_OP_STAT);
	good_stat(&m, S_IFREG | 0644);
	m_end(&m);
	lie(&m, p, 1);
	cr_expect_eq(gf_stat(lc, 1, &st), -EPROTO);
	reset_liar();
	int fd = 12345;
	m_start(&m, GF_OP_OPEN);
	m_end(&m);
	lie(&m, p, 1);
	cr_expect_eq(gf_open(lc, 1, O_RDONLY, &fd), -EPROTO, "a pipe is not a file");
	cr_expect_eq(fd, 12345);
	reset_liar();
	m_start(&m, GF_OP_OPEN);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_open(lc, 1, O_RDONLY, &fd), -EPROTO);
	reset_liar();
	int rf = open("/proc/self/status", O_RDONLY);
	int two[2] = {rf, rf};
	m_start(&m, GF_OP_OPEN);
	m_end(&m);
	lie(&m, two, 2);
	cr_expect_eq(gf_open(lc, 1, O_RDONLY, &fd), -EPROTO, "two fds");
	reset_liar();
	m_start(&m, GF_OP_OPEN);
	m_end(&m);
	lie(&m, &rf, 1);
	cr_expect_eq(gf_open(lc, 1, O_RDWR, &fd), -EPROTO, "the wrong access mode");
	reset_liar();
	m_start(&m, GF_OP_OPEN);
	m_end(&m);
	lie(&m, &rf, 1);
	cr_expect_eq(gf_open(lc, 1, O_RDONLY, &fd), 0, "a good one");
	close(fd);
	close(rf);
	close(p[0]);
	close(p[1]);

	/* Walks: more than asked, a symlink in the middle, short with no
	 * reason. */
	const char *names[] = {"a", "b"};
	gf_fid fids[2];
	int err;
	m_start(&m, GF_OP_WALK);
	m_u16(&m, 3);
	m_u32(&m, 0);
	for (int i = 0; i < 3; i++) {
		m_u64(&m, 1);
		good_stat(&m, S_IFDIR | 0755);
	}
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_walk(lc, 1, names, 2, fids, NULL, &err), -EPROTO);
	reset_liar();
	m_start(&m, GF_OP_WALK);
	m_u16(&m, 2);
	m_u32(&m, 0);
	m_u64(&m, 1);
	good_stat(&m, S_IFLNK | 0777);
	m_u64(&m, 2);
	good_stat(&m, S_IFDIR | 0755);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_walk(lc, 1, names, 2, fids, NULL, &err), -EPROTO);
	reset_liar();
	m_start(&m, GF_OP_WALK);
	m_u16(&m, 1);
	m_u32(&m, 0);
	m_u64(&m, 1);
	good_stat(&m, S_IFDIR | 0755);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_walk(lc, 1, names, 2, fids, NULL, &err), -EPROTO);
	reset_liar();

	/* getdents: more than asked, names with '/', lengths past the end. */
	struct gf_dirent ents[2];
	m_start(&m, GF_OP_GETDENTS);
	m_u16(&m, 3);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_getdents(lc, 1, 0, ents, 2), -EPROTO);
	reset_liar();
	m_start(&m, GF_OP_GETDENTS);
	m_u16(&m, 1);
	m_u64(&m, 1);
	m_u64(&m, 1);
	m_put(&m, "\x04", 1);
	m_str(&m, "a/b", 3);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_getdents(lc, 1, 0, ents, 2), -EPROTO);
	reset_liar();
	m_start(&m, GF_OP_GETDENTS);
	m_u16(&m, 1);
	m_u64(&m, 1);
	m_u64(&m, 1);
	m_put(&m, "\x04", 1);
	m_u16(&m, 255);
	m_put(&m, "abc", 3);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_getdents(lc, 1, 0, ents, 2), -EPROTO);
	reset_liar();

	/* readlink: a length past the message; a target longer than asked
	 * is cut, as readlink(2) does. */
	char buf[8];
	m_start(&m, GF_OP_READLINK);
	m_u16(&m, 4000);
	m_put(&m, "abc", 3);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_readlink(lc, 1, buf, sizeof(buf)), -EPROTO);
	reset_liar();
	m_start(&m, GF_OP_READLINK);
	m_str(&m, "0123456789", 10);
	m_end(&m);
	lie(&m, NULL, 0);
	cr_expect_eq(gf_readlink(lc, 1, buf, sizeof(buf)), 8);

	/* A gofer that hangs up. */
	close(fake);
	fake = -1;
	cr_expect_eq(gf_stat(lc, 1, &st), -EIO);
	teardown_liar();
	cr_expect_eq(count_fds(), before - 2, "no fd leaked (the fake pair is gone)");
	setup_liar();
}
