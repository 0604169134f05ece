/* The sentry's side of the gofer protocol.  The gofer is less trusted than
 * the sentry: every reply is checked (op, length, counts, strings, fds) and
 * a reply that breaks the protocol closes whatever fds it carried, fails
 * the call with -EPROTO and marks the connection broken (-EIO from then
 * on). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gofer.h"
#include "proto.h"

/* fds one reply may carry, plus room to notice extra ones */
enum { FDS_ROOM = 8 };

struct gf_client {
	int sock;
	pid_t peer;  /* the gofer's pid (0: unknown) */
	int peer_cpu; /* the CPU it is pinned to, +1 (0: none) */
	bool broken;
	bool closing; /* gf_client_closing: fids are not closed one by one */
	uint64_t round_trips;
	uint8_t buf[GF_MSG_MAX];
};

int gf_client_new(int sock, struct gf_client **out)
{
	if (sock < 0 || !out)
		return -EINVAL;
	struct gf_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sock = sock;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0)
		c->peer = cred.pid;
	*out = c;
	return 0;
}

/* The gofer runs on the caller's CPU: a round trip is then two switches
 * there instead of a wakeup on another CPU, which costs tens of µs when
 * that CPU idles (in a VM above all). */
static void follow(struct gf_client *c)
{
	int cpu = c->peer ? sched_getcpu() : -1;
	if (cpu < 0 || cpu + 1 == c->peer_cpu)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(c->peer, sizeof(set), &set) == 0)
		c->peer_cpu = cpu + 1;
	else
		c->peer = 0; /* not ours to move: leave it */
}

/* The socket stays the caller's (it came from gf_spawn): the caller closes
 * it, which is what makes the gofer exit. */
void gf_client_free(struct gf_client *c)
{
	free(c);
}

void gf_client_closing(struct gf_client *c)
{
	if (c)
		c->closing = true;
}

uint64_t gf_client_round_trips(const struct gf_client *c) { return c ? c->round_trips : 0; }

/* A request being built in c->buf after the header. */
static void req_init(struct gf_client *c, struct gf_wr *w)
{
	gf_wr_init(w, c->buf + GF_HDR_SIZE, GF_MSG_MAX - GF_HDR_SIZE);
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static int broken(struct gf_client *c)
{
	c->broken = true;
	return -EPROTO;
}

/* One round trip: sends op with the payload in w, receives the reply into
 * c->buf and sets r over its payload.  want_fd: the reply must carry one fd
 * (stored in *fd), otherwise none.  Returns 0, a negative errno from the
 * gofer, or -EPROTO / -EIO. */
static int rpc(struct gf_client *c, uint32_t op, struct gf_wr *w, struct gf_rd *r, int *fd)
{
	if (fd)
		*fd = -1;
	if (c->broken)
		return -EIO;
	follow(c);
	if (w->over)
		return -EINVAL;
	uint32_t h[2] = {op, (uint32_t)w->len};
	memcpy(c->buf, h, sizeof(h));
	ssize_t n;
	do
		n = send(c->sock, c->buf, GF_HDR_SIZE + w->len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)(GF_HDR_SIZE + w->len)) {
		c->broken = true;
		return -EIO;
	}

	struct iovec iov = {.iov_base = c->buf, .iov_len = sizeof(c->buf)};
	union {
		char buf[CMSG_SPACE(sizeof(int) * FDS_ROOM)];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	do
		n = recvmsg(c->sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		c->broken = true;
		return -EIO; /* the gofer is gone */
	}
	c->round_trips++;

	int fds[FDS_ROOM * 2], nfds = 0;
	bool bad_ctl = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0)) {
			bad_ctl = true;
			continue;
		}
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;
			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (nfds < (int)(sizeof(fds) / sizeof(fds[0])))
				fds[nfds++] = f;
			else
				close(f);
		}
	}
	if (bad_ctl || (size_t)n < GF_HDR_SIZE) {
		close_fds(fds, nfds);
		return broken(c);
	}
	memcpy(h, c->buf, sizeof(h));
	if (h[1] != (size_t)n - GF_HDR_SIZE) {
		close_fds(fds, nfds);
		return broken(c);
	}
	gf_rd_init(r, c->buf + GF_HDR_SIZE, h[1]);
	if (h[0] == GF_OP_ERROR) {
		uint32_t e = gf_rd_u32(r);
		if (nfds || !gf_rd_done(r) || e == 0 || e > 4095) {
			close_fds(fds, nfds);
			return broken(c);
		}
		return -(int)e;
	}
	if (h[0] != op || nfds != (fd ? 1 : 0)) {
		close_fds(fds, nfds);
		return broken(c);
	}
	if (fd) {
		/* Only regular files are donated. */
		struct stat st;
		if (fstat(fds[0], &st) != 0 || !S_ISREG(st.st_mode)) {
			close(fds[0]);
			return broken(c);
		}
		*fd = fds[0];
	}
	return 0;
}

/* The reply was read to its end, exactly; otherwise the protocol broke
 * (and a donated fd is closed). */
static int finish(struct gf_client *c, struct gf_rd *r, int *fd)
{
	if (gf_rd_done(r))
		return 0;
	if (fd && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return broken(c);
}

static int put_name(struct gf_wr *w, const char *name)
{
	if (!name)
		return -EINVAL;
	size_t n = strnlen(name, GF_NAME_MAX + 1);
	if (!gf_name_ok(name, n))
		return -EINVAL;
	gf_wr_str(w, name, n);
	return 0;
}

/* A stat from the gofer: a file type Linux knows. */
static bool stat_ok(const struct gf_stat *st)
{
	switch (st->mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFIFO:
	case S_IFSOCK: case S_IFCHR: case S_IFBLK:
		return (st->mode & ~(uint32_t)(S_IFMT | 07777)) == 0;
	default:
		return false;
	}
}

/* fid and stat of a newly named file. */
static int read_fid_stat(struct gf_client *c, struct gf_rd *r, gf_fid *fid, struct gf_stat *st)
{
	struct gf_stat tmp;
	uint64_t f = gf_rd_u64(r);
	gf_rd_stat(r, &tmp);
	if (r->bad || !stat_ok(&tmp))
		return broken(c);
	if (fid)
		*fid = f;
	if (st)
		*st = tmp;
	return 0;
}

int gf_attach(struct gf_client *c, const char *mount_path, gf_fid *root, struct gf_stat *st)
{
	if (!c || !mount_path || !root)
		return -EINVAL;
	size_t n = strnlen(mount_path, GF_PATH_MAX + 1);
	if (n == 0 || n > GF_PATH_MAX)
		return -EINVAL;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_str(&w, mount_path, n);
	struct gf_rd r;
	int rc = rpc(c, GF_OP_ATTACH, &w, &r, NULL);
	if (rc)
		return rc;
	if ((rc = read_fid_stat(c, &r, root, st)) != 0)
		return rc;
	return finish(c, &r, NULL);
}

int gf_walk(struct gf_client *c, gf_fid dir, const char *const *names, int n, gf_fid *fids,
	    struct gf_stat *st, int *stop_err)
{
	if (!c || n < 0 || n > GF_WALK_MAX || (n && (!names || !fids)))
		return -EINVAL;
	if (stop_err)
		*stop_err = 0;
	if (n == 0)
		return 0;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_u64(&w, dir);
	gf_wr_u16(&w, (uint16_t)n);
	for (int i = 0; i < n; i++)
		if (put_name(&w, names[i]) != 0)
			return -EINVAL;
	struct gf_rd r;
	int rc = rpc(c, GF_OP_WALK, &w, &r, NULL);
	if (rc)
		return rc;
	uint16_t done = gf_rd_u16(&r);
	uint32_t err = gf_rd_u32(&r);
	if (r.bad || done > n || err > 4095)
		return broken(c);
	struct gf_stat tmp = {0};
	for (int i = 0; i < done; i++) {
		fids[i] = gf_rd_u64(&r);
		gf_rd_stat(&r, &tmp);
		if (r.bad || !stat_ok(&tmp))
			return broken(c);
		/* Only the last component walked may be a symlink, or
		 * something other than a directory. */
		if (i < done - 1 && !S_ISDIR(tmp.mode))
			return broken(c);
		if (st)
			st[i] = tmp;
	}
	/* Short of n: an error, or a symlink last. */
	if (done < n && err == 0 && (done == 0 || !S_ISLNK(tmp.mode)))
		return broken(c);
	if (done == n && err != 0)
		return broken(c);
	if ((rc = finish(c, &r, NULL)) != 0)
		return rc;
	if (stop_err)
		*stop_err = (int)err;
	return done;
}

int gf_stat(struct gf_client *c, gf_fid fid, struct gf_stat *st)
{
	if (!c || !st)
		return -EINVAL;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_u64(&w, fid);
	struct gf_rd r;
	int rc = rpc(c, GF_OP_STAT, &w, &r, NULL);
	if (rc)
		return rc;
	struct gf_stat tmp;
	gf_rd_stat(&r, &tmp);
	if (r.bad || !stat_ok(&tmp))
		return broken(c);
	if ((rc = finish(c, &r, NULL)) != 0)
		return rc;
	*st = tmp;
	return 0;
}

/* The donated fd must have been opened with the access mode asked for. */
static int check_fd_mode(struct gf_client *c, int fd, int flags)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != (flags & O_ACCMODE)) {
		close(fd);
		return broken(c);
	}
	return 0;
}

int gf_open(struct gf_client *c, gf_fid fid, int flags, int *host_fd)
{
	if (!c || !host_fd)
		return -EINVAL;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_u64(&w, fid);
	gf_wr_u32(&w, (uint32_t)flags);
	struct gf_rd r;
	int fd;
	int rc = rpc(c, GF_OP_OPEN, &w, &r, &fd);
	if (rc)
		return rc;
	if ((rc = finish(c, &r, &fd)) != 0)
		return rc;
	if ((rc = check_fd_mode(c, fd, flags)) != 0)
		return rc;
	*host_fd = fd;
	return 0;
}

int gf_readlink(struct gf_client *c, gf_fid fid, char *buf, size_t size)
{
	if (!c || (!buf && size))
		return -EINVAL;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_u64(&w, fid);
	struct gf_rd r;
	int rc = rpc(c, GF_OP_READLINK, &w, &r, NULL);
	if (rc)
		return rc;
	size_t n;
	const char *t = gf_rd_str(&r, GF_PATH_MAX, &n);
	if (r.bad || n == 0 || memchr(t, '\0', n))
		return broken(c);
	if ((rc = finish(c, &r, NULL)) != 0)
		return rc;
	if (n > size)
		n = size;
	if (n)
		memcpy(buf, t, n);
	return (int)n;
}

int gf_getdents(struct gf_client *c, gf_fid dir, uint64_t off, struct gf_dirent *ents, int max)
{
	if (!c || max <= 0 || !ents)
		return -EINVAL;
	if (max > GF_DENTS_MAX)
		max = GF_DENTS_MAX;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_u64(&w, dir);
	gf_wr_u64(&w, off);
	gf_wr_u32(&w, (uint32_t)max);
	struct gf_rd r;
	int rc = rpc(c, GF_OP_GETDENTS, &w, &r, NULL);
	if (rc)
		return rc;
	uint16_t n = gf_rd_u16(&r);
	if (r.bad || n > max)
		return broken(c);
	for (int i = 0; i < n; i++) {
		struct gf_dirent *d = &ents[i];
		d->ino = gf_rd_u64(&r);
		d->off = gf_rd_u64(&r);
		d->type = gf_rd_u8(&r);
		size_t len;
		const char *name = gf_rd_str(&r, GF_NAME_MAX, &len);
		if (r.bad || len == 0 || memchr(name, '/', len) || memchr(name, '\0', len) ||
		    d->type > DT_WHT)
			return broken(c);
		memcpy(d->name, name, len);
		d->name[len] = '\0';
	}
	if ((rc = finish(c, &r, NULL)) != 0)
		return rc;
	return n;
}

int gf_statfs(struct gf_client *c, gf_fid fid, struct statfs *st)
{
	if (!c || !st)
		return -EINVAL;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_u64(&w, fid);
	struct gf_rd r;
	int rc = rpc(c, GF_OP_STATFS, &w, &r, NULL);
	if (rc)
		return rc;
	struct statfs t;
	memset(&t, 0, sizeof(t));
	t.f_type = (__fsword_t)gf_rd_u64(&r);
	t.f_bsize = (__fsword_t)gf_rd_u64(&r);
	t.f_blocks = gf_rd_u64(&r);
	t.f_bfree = gf_rd_u64(&r);
	t.f_bavail = gf_rd_u64(&r);
	t.f_files = gf_rd_u64(&r);
	t.f_ffree = gf_rd_u64(&r);
	int fsid[2] = {(int)gf_rd_u32(&r), (int)gf_rd_u32(&r)};
	memcpy(&t.f_fsid, fsid, sizeof(fsid));
	t.f_namelen = (__fsword_t)gf_rd_u64(&r);
	t.f_frsize = (__fsword_t)gf_rd_u64(&r);
	t.f_flags = (__fsword_t)gf_rd_u64(&r);
	if ((rc = finish(c, &r, NULL)) != 0)
		return rc;
	*st = t;
	return 0;
}

int gf_close(struct gf_client *c, const gf_fid *fids, int n)
{
	if (!c || n < 0 || (n && !fids))
		return -EINVAL;
	if (c->closing)
		return 0;
	int ret = 0;
	while (n > 0) {
		int k = n > GF_CLOSE_MAX ? GF_CLOSE_MAX : n;
		struct gf_wr w;
		req_init(c, &w);
		gf_wr_u32(&w, (uint32_t)k);
		for (int i = 0; i < k; i++)
			gf_wr_u64(&w, fids[i]);
		struct gf_rd r;
		int rc = rpc(c, GF_OP_CLOSE, &w, &r, NULL);
		if (rc == 0)
			rc = finish(c, &r, NULL);
		if (rc == -EPROTO || rc == -EIO)
			return rc;
		if (rc && !ret)
			ret = rc;
		fids += k;
		n -= k;
	}
	return ret;
}

int gf_mkdir(struct gf_client *c, gf_fid dir, const char *name, uint32_t mode, uint32_t uid,
	     uint32_t gid, gf_fid *fid, struct gf_stat *st)
{
	if (!c || !fid)
		return -EINVAL;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_u64(&w, dir);
	gf_wr_u32(&w, mode);
	gf_wr_u32(&w, uid);
	gf_wr_u32(&w, gid);
	if (put_name(&w, name) != 0)
		return -EINVAL;
	struct gf_rd r;
	int rc = rpc(c, GF_OP_MKDIR, &w, &r, NULL);
	if (rc)
		return rc;
	if ((rc = read_fid_stat(c, &r, fid, st)) != 0)
		return rc;
	return finish(c, &r, NULL);
}

int gf_create(struct gf_client *c, gf_fid dir, const char *name, int flags, uint32_t mode,
	      uint32_t uid, uint32_t gid, gf_fid *fid, struct gf_stat *st, int *host_fd)
{
	if (!c || !fid || !host_fd)
		return -EINVAL;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_u64(&w, dir);
	gf_wr_u32(&w, (uint32_t)flags);
	gf_wr_u32(&w, mode);
	gf_wr_u32(&w, uid);
	gf_wr_u32(&w, gid);
	if (put_name(&w, name) != 0)
		return -EINVAL;
	struct gf_rd r;
	int fd;
	int rc = rpc(c, GF_OP_CREATE, &w, &r, &fd);
	if (rc)
		return rc;
	if ((rc = read_fid_stat(c, &r, fid, st)) != 0 || (rc = finish(c, &r, &fd)) != 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if ((rc = check_fd_mode(c, fd, flags)) != 0)
		return rc;
	*host_fd = fd;
	return 0;
}

int gf_symlink(struct gf_client *c, gf_fid dir, const char *name, const char *target,
	       uint32_t uid, uint32_t gid, gf_fid *fid, struct gf_stat *st)
{
	if (!c || !fid || !target)
		return -EINVAL;
	size_t tlen = strnlen(target, GF_PATH_MAX + 1);
	if (tlen == 0)
		return -ENOENT;
	if (tlen > GF_PATH_MAX)
		return -ENAMETOOLONG;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_u64(&w, dir);
	gf_wr_u32(&w, uid);
	gf_wr_u32(&w, gid);
	if (put_name(&w, name) != 0)
		return -EINVAL;
	gf_wr_str(&w, target, tlen);
	struct gf_rd r;
	int rc = rpc(c, GF_OP_SYMLINK, &w, &r, NULL);
	if (rc)
		return rc;
	if ((rc = read_fid_stat(c, &r, fid, st)) != 0)
		return rc;
	return finish(c, &r, NULL);
}

/* A request that answers with nothing but success or an errno. */
static int simple(struct gf_client *c, uint32_t op, struct gf_wr *w)
{
	struct gf_rd r;
	int rc = rpc(c, op, w, &r, NULL);
	if (rc)
		return rc;
	return finish(c, &r, NULL);
}

int gf_link(struct gf_client *c, gf_fid dir, const char *name, gf_fid target)
{
	if (!c)
		return -EINVAL;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_u64(&w, dir);
	gf_wr_u64(&w, target);
	if (put_name(&w, name) != 0)
		return -EINVAL;
	return simple(c, GF_OP_LINK, &w);
}

int gf_unlink(struct gf_client *c, gf_fid dir, const char *name, int flags)
{
	if (!c)
		return -EINVAL;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_u64(&w, dir);
	gf_wr_u32(&w, (uint32_t)flags);
	if (put_name(&w, name) != 0)
		return -EINVAL;
	return simple(c, GF_OP_UNLINK, &w);
}

int gf_rename(struct gf_client *c, gf_fid olddir, const char *oldname, gf_fid newdir,
	      const char *newname, unsigned flags)
{
	if (!c)
		return -EINVAL;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_u64(&w, olddir);
	gf_wr_u64(&w, newdir);
	gf_wr_u32(&w, flags);
	if (put_name(&w, oldname) != 0 || put_name(&w, newname) != 0)
		return -EINVAL;
	return simple(c, GF_OP_RENAME, &w);
}

int gf_setattr(struct gf_client *c, gf_fid fid, const struct gf_setattr *attr)
{
	if (!c || !attr)
		return -EINVAL;
	struct gf_wr w;
	req_init(c, &w);
	gf_wr_u64(&w, fid);
	gf_wr_u32(&w, attr->mask);
	gf_wr_u32(&w, attr->mode);
	gf_wr_u32(&w, attr->uid);
	gf_wr_u32(&w, attr->gid);
	gf_wr_u64(&w, attr->size);
	gf_wr_i64(&w, attr->atime_sec);
	gf_wr_i64(&w, attr->atime_nsec);
	gf_wr_i64(&w, attr->mtime_sec);
	gf_wr_i64(&w, attr->mtime_nsec);
	return simple(c, GF_OP_SETATTR, &w);
}
