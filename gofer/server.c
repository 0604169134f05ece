/* The gofer's server: `husk gofer --fd N --spec JSON`.  After confining
 * itself (confine.c) it answers one request at a time on the socket until
 * the sentry closes it.  Files are named by fids; each fid refers to a node,
 * which holds an O_PATH|O_NOFOLLOW fd of the file and, for everything but a
 * mount's root, its parent node and name (needed to open it: see
 * docs/gofer.md, "Opening files without /proc"). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "confine.h"
#include "gofer.h"
#include "proto.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* Nodes alive at once: every node holds an fd, so RLIMIT_NOFILE bounds
 * them first; this is the backstop. */
enum { NODES_MAX = 2 * GF_FIDS_MAX };

struct node {
	int fd;             /* O_PATH|O_NOFOLLOW */
	int dirfd;          /* O_RDONLY|O_DIRECTORY for getdents, opened lazily; or -1 */
	uint32_t mode;      /* st_mode when walked */
	uint64_t dev, ino;
	struct node *parent; /* NULL for a mount's root */
	char *name;          /* the name in parent */
	uint32_t refs;       /* fids, and children that name this node as parent */
	int mount;           /* index in the spec */
	bool hashed;         /* in the (parent, name) table */
	struct node *hnext;
};

struct fid_slot {
	struct node *node; /* NULL: free */
	uint32_t gen;
	uint32_t next_free; /* slot index + 1 of the next free slot, 0 for none */
};

struct srv {
	int sock;
	struct gf_spec spec;
	struct node **roots; /* per spec mount, NULL for tmpfs */
	/* fids */
	struct fid_slot *fids;
	uint32_t nfids, capfids, free_head;
	/* (parent, name) → node */
	struct node **tab;
	size_t nbuckets, nhashed, nnodes;
	bool no_openat2, no_fchmodat2, no_utimens_empty;
	uint8_t in[GF_MSG_MAX];
	uint8_t out[GF_MSG_MAX];
	char dents[32768] __attribute__((aligned(8)));
};

/* ---- nodes ---- */

static size_t hash_of(const struct node *parent, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)parent;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

static void unhash(struct srv *s, struct node *n)
{
	if (!n->hashed)
		return;
	struct node **pp = &s->tab[hash_of(n->parent, n->name) & (s->nbuckets - 1)];
	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	n->hnext = NULL;
	n->hashed = false;
	s->nhashed--;
}

static void hash_in(struct srv *s, struct node *n)
{
	if (s->nhashed + 1 > s->nbuckets && s->nbuckets < ((size_t)1 << 24)) {
		size_t nb = s->nbuckets ? s->nbuckets * 2 : 1024;
		struct node **t = calloc(nb, sizeof(*t));
		if (t) {
			for (size_t i = 0; i < s->nbuckets; i++)
				for (struct node *m = s->tab[i], *next; m; m = next) {
					next = m->hnext;
					size_t b = hash_of(m->parent, m->name) & (nb - 1);
					m->hnext = t[b];
					t[b] = m;
				}
			free(s->tab);
			s->tab = t;
			s->nbuckets = nb;
		}
	}
	if (!s->nbuckets)
		return; /* no memory for a table: the node just is not shared */
	size_t b = hash_of(n->parent, n->name) & (s->nbuckets - 1);
	n->hnext = s->tab[b];
	s->tab[b] = n;
	n->hashed = true;
	s->nhashed++;
}

static struct node *lookup(struct srv *s, const struct node *parent, const char *name)
{
	if (!s->nbuckets)
		return NULL;
	for (struct node *n = s->tab[hash_of(parent, name) & (s->nbuckets - 1)]; n; n = n->hnext)
		if (n->parent == parent && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

static void node_put(struct srv *s, struct node *n)
{
	while (n && --n->refs == 0) {
		struct node *parent = n->parent;
		unhash(s, n);
		close(n->fd);
		if (n->dirfd >= 0)
			close(n->dirfd);
		free(n->name);
		free(n);
		s->nnodes--;
		n = parent;
	}
}

static void fill_stat(struct gf_stat *g, const struct stat *st)
{
	memset(g, 0, sizeof(*g));
	g->ino = st->st_ino;
	g->dev = st->st_dev;
	g->mode = st->st_mode;
	g->nlink = (uint32_t)st->st_nlink;
	g->uid = st->st_uid;
	g->gid = st->st_gid;
	g->rdev = st->st_rdev;
	g->size = (uint64_t)st->st_size;
	g->blocks = (uint64_t)st->st_blocks;
	g->blksize = (uint32_t)st->st_blksize;
	g->atime_sec = st->st_atim.tv_sec;
	g->atime_nsec = st->st_atim.tv_nsec;
	g->mtime_sec = st->st_mtim.tv_sec;
	g->mtime_nsec = st->st_mtim.tv_nsec;
	g->ctime_sec = st->st_ctim.tv_sec;
	g->ctime_nsec = st->st_ctim.tv_nsec;
}

static int fd_stat(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

/* Opens name in dirfd without following any symlink, never leaving dirfd
 * (openat2's RESOLVE_BENEATH where the kernel has it).  Returns an fd or a
 * negative errno. */
static int open_beneath(struct srv *s, int dirfd, const char *name, int flags, mode_t mode)
{
	flags |= O_NOFOLLOW | O_CLOEXEC;
	if (!s->no_openat2) {
		struct open_how how = {
			.flags = (uint64_t)flags,
			.mode = (flags & O_CREAT) ? mode : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS)
			return -errno;
		s->no_openat2 = true;
	}
	int fd = openat(dirfd, name, flags, mode);
	return fd >= 0 ? fd : -errno;
}

/* The node for name in dir, given a fresh O_PATH fd of it (consumed).  An
 * existing node for the same file is shared; one for a file that has since
 * been replaced on the host is forgotten (its fids go on naming the old
 * file). */
static int node_child(struct srv *s, struct node *dir, const char *name, int fd,
		      const struct stat *st, struct node **out)
{
	struct node *old = lookup(s, dir, name);
	if (old) {
		if (old->dev == st->st_dev && old->ino == st->st_ino &&
		    (old->mode & S_IFMT) == (st->st_mode & S_IFMT)) {
			close(fd);
			old->refs++;
			*out = old;
			return 0;
		}
		unhash(s, old);
	}
	struct node *n = NULL;
	if (s->nnodes >= NODES_MAX || !(n = calloc(1, sizeof(*n))) || !(n->name = strdup(name))) {
		free(n);
		close(fd);
		return s->nnodes >= NODES_MAX ? -ENFILE : -ENOMEM;
	}
	n->fd = fd;
	n->dirfd = -1;
	n->mode = st->st_mode;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->parent = dir;
	dir->refs++;
	n->refs = 1;
	n->mount = dir->mount;
	s->nnodes++;
	hash_in(s, n);
	*out = n;
	return 0;
}

/* ---- fids ---- */

static struct node *fid_get(struct srv *s, uint64_t fid)
{
	uint32_t slot = (uint32_t)fid, gen = (uint32_t)(fid >> 32);
	if (slot == 0 || slot > s->nfids)
		return NULL;
	struct fid_slot *f = &s->fids[slot - 1];
	return f->node && f->gen == gen ? f->node : NULL;
}

/* A new fid for n, taking over one reference. */
static int fid_new(struct srv *s, struct node *n, uint64_t *fid)
{
	uint32_t slot;
	if (s->free_head) {
		slot = s->free_head;
		s->free_head = s->fids[slot - 1].next_free;
	} else {
		if (s->nfids >= GF_FIDS_MAX)
			return -ENFILE;
		if (s->nfids == s->capfids) {
			uint32_t cap = s->capfids ? s->capfids * 2 : 256;
			if (cap > GF_FIDS_MAX)
				cap = GF_FIDS_MAX;
			struct fid_slot *f = realloc(s->fids, cap * sizeof(*f));
			if (!f)
				return -ENOMEM;
			s->fids = f;
			s->capfids = cap;
		}
		slot = ++s->nfids;
		s->fids[slot - 1].gen = 0;
	}
	struct fid_slot *f = &s->fids[slot - 1];
	if (++f->gen == 0)
		f->gen = 1;
	f->node = n;
	f->next_free = 0;
	*fid = ((uint64_t)f->gen << 32) | slot;
	return 0;
}

static int fid_close(struct srv *s, uint64_t fid)
{
	struct node *n = fid_get(s, fid);
	if (!n)
		return -EBADF;
	uint32_t slot = (uint32_t)fid;
	s->fids[slot - 1].node = NULL;
	s->fids[slot - 1].next_free = s->free_head;
	s->free_head = slot;
	node_put(s, n);
	return 0;
}

/* ---- helpers for handlers ---- */

/* Copies a wire name into buf (NUL-terminated) after checking it. */
static int get_name(struct gf_rd *r, char buf[GF_NAME_MAX + 1])
{
	size_t n;
	const char *p = gf_rd_str(r, GF_NAME_MAX, &n);
	if (r->bad)
		return -EINVAL;
	if (!gf_name_ok(p, n))
		return -EINVAL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

static bool readonly(const struct srv *s, const struct node *n)
{
	return s->spec.mounts[n->mount].readonly;
}

/* Opens n's file (a regular file) anew with flags, through its parent and
 * name, and checks that what was opened is n's file.  O_TRUNC is done only
 * after that check. */
static int reopen_file(struct srv *s, struct node *n, int flags)
{
	if (!S_ISREG(n->mode))
		return S_ISDIR(n->mode) ? -EISDIR : S_ISLNK(n->mode) ? -ELOOP : -ENXIO;
	if (!n->parent || !n->hashed)
		return -ESTALE; /* unlinked, or replaced on the host */
	int fd = open_beneath(s, n->parent->fd, n->name, (flags & ~O_TRUNC) | O_NONBLOCK | O_NOCTTY, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	int rc = fstat(fd, &st) == 0 ? 0 : -errno;
	if (rc == 0 && (!S_ISREG(st.st_mode) || st.st_dev != n->dev || st.st_ino != n->ino))
		rc = -ESTALE;
	if (rc == 0 && fcntl(fd, F_SETFL, flags & O_APPEND) != 0)
		rc = -errno;
	if (rc == 0 && (flags & O_TRUNC)) {
		if ((flags & O_ACCMODE) != O_RDONLY) {
			if (ftruncate(fd, 0) != 0)
				rc = -errno;
		} else {
			int wfd = reopen_file(s, n, O_WRONLY | O_TRUNC);
			if (wfd < 0)
				rc = wfd;
			else
				close(wfd);
		}
	}
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

static int chown_new(int fd, uint32_t uid, uint32_t gid)
{
	if (uid == UINT32_MAX && gid == UINT32_MAX)
		return 0;
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	return 0;
}

/* After a create: the O_PATH fd for name in dir, checked against the file
 * that was made (dev, ino of want, or any when want is NULL). */
static int path_fd_of_new(struct srv *s, struct node *dir, const char *name,
			  const struct stat *want, struct stat *st)
{
	int fd = open_beneath(s, dir->fd, name, O_PATH, 0);
	if (fd < 0)
		return fd;
	int rc = fd_stat(fd, st);
	if (rc == 0 && want && (st->st_dev != want->st_dev || st->st_ino != want->st_ino))
		rc = -ESTALE;
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

/* The reply for a newly made file: a fid and its stat. */
static int reply_new(struct srv *s, struct node *dir, const char *name, int pfd, struct gf_wr *rp)
{
	struct stat st;
	int rc = fd_stat(pfd, &st);
	if (rc) {
		close(pfd);
		return rc;
	}
	struct node *n;
	if ((rc = node_child(s, dir, name, pfd, &st, &n)) != 0)
		return rc;
	uint64_t fid;
	if ((rc = fid_new(s, n, &fid)) != 0) {
		node_put(s, n);
		return rc;
	}
	struct gf_stat g;
	fill_stat(&g, &st);
	gf_wr_u64(rp, fid);
	gf_wr_stat(rp, &g);
	return 0;
}

/* ---- handlers: each parses the whole request before doing anything ---- */

static int h_attach(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)out_fd;
	size_t n;
	const char *path = gf_rd_str(rq, GF_PATH_MAX, &n);
	if (!gf_rd_done(rq))
		return -EINVAL;
	for (int i = 0; i < s->spec.nmounts; i++) {
		struct node *root = s->roots[i];
		const char *mp = s->spec.mounts[i].path;
		if (!root || strlen(mp) != n || memcmp(mp, path, n) != 0)
			continue;
		struct stat st;
		int rc = fd_stat(root->fd, &st);
		if (rc)
			return rc;
		root->refs++;
		uint64_t fid;
		if ((rc = fid_new(s, root, &fid)) != 0) {
			node_put(s, root);
			return rc;
		}
		struct gf_stat g;
		fill_stat(&g, &st);
		gf_wr_u64(rp, fid);
		gf_wr_stat(rp, &g);
		return 0;
	}
	return -ENOENT;
}

static int h_walk(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)out_fd;
	uint64_t dirfid = gf_rd_u64(rq);
	uint16_t n = gf_rd_u16(rq);
	if (rq->bad || n > GF_WALK_MAX)
		return -EINVAL;
	char names[GF_WALK_MAX][GF_NAME_MAX + 1];
	for (int i = 0; i < n; i++)
		if (get_name(rq, names[i]) != 0)
			return -EINVAL;
	if (!gf_rd_done(rq))
		return -EINVAL;
	struct node *dir = fid_get(s, dirfid);
	if (!dir)
		return -EBADF;

	uint64_t fids[GF_WALK_MAX];
	struct gf_stat sts[GF_WALK_MAX];
	int done = 0, stop_err = 0;
	for (int i = 0; i < n; i++) {
		if (!S_ISDIR(dir->mode)) {
			stop_err = ENOTDIR;
			break;
		}
		int fd = open_beneath(s, dir->fd, names[i], O_PATH, 0);
		if (fd < 0) {
			stop_err = -fd;
			break;
		}
		struct stat st;
		int rc = fd_stat(fd, &st);
		struct node *child;
		if (rc == 0)
			rc = node_child(s, dir, names[i], fd, &st, &child);
		else
			close(fd);
		if (rc == 0 && (rc = fid_new(s, child, &fids[i])) != 0)
			node_put(s, child);
		if (rc) {
			stop_err = -rc;
			break;
		}
		fill_stat(&sts[i], &st);
		done = i + 1;
		dir = child;
		if (S_ISLNK(st.st_mode))
			break;
	}
	gf_wr_u16(rp, (uint16_t)done);
	gf_wr_u32(rp, (uint32_t)stop_err);
	for (int i = 0; i < done; i++) {
		gf_wr_u64(rp, fids[i]);
		gf_wr_stat(rp, &sts[i]);
	}
	return 0;
}

static int h_stat(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)out_fd;
	uint64_t fid = gf_rd_u64(rq);
	if (!gf_rd_done(rq))
		return -EINVAL;
	struct node *n = fid_get(s, fid);
	if (!n)
		return -EBADF;
	struct stat st;
	int rc = fd_stat(n->fd, &st);
	if (rc)
		return rc;
	struct gf_stat g;
	fill_stat(&g, &st);
	gf_wr_stat(rp, &g);
	return 0;
}

/* Open flags the protocol takes: the access mode and these; the ones the
 * gofer sets itself are ignored. */
#define OPEN_FLAGS_OK (O_ACCMODE | O_TRUNC | O_APPEND | O_SYNC | O_DSYNC)
#define OPEN_FLAGS_IGNORED (O_CLOEXEC | O_LARGEFILE | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK)

static int check_open_flags(uint32_t flags)
{
	if (flags & ~(uint32_t)(OPEN_FLAGS_OK | OPEN_FLAGS_IGNORED))
		return -EINVAL;
	if ((flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	return (int)(flags & OPEN_FLAGS_OK);
}

static bool open_writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static int h_open(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)rp;
	uint64_t fid = gf_rd_u64(rq);
	uint32_t wflags = gf_rd_u32(rq);
	if (!gf_rd_done(rq))
		return -EINVAL;
	struct node *n = fid_get(s, fid);
	if (!n)
		return -EBADF;
	int flags = check_open_flags(wflags);
	if (flags < 0)
		return flags;
	if (S_ISLNK(n->mode))
		return -ELOOP;
	if (S_ISDIR(n->mode))
		return -EISDIR;
	if (open_writes(flags) && readonly(s, n))
		return -EROFS;
	int fd = reopen_file(s, n, flags);
	if (fd < 0)
		return fd;
	*out_fd = fd;
	return 0;
}

static int h_readlink(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)out_fd;
	uint64_t fid = gf_rd_u64(rq);
	if (!gf_rd_done(rq))
		return -EINVAL;
	struct node *n = fid_get(s, fid);
	if (!n)
		return -EBADF;
	if (!S_ISLNK(n->mode))
		return -EINVAL;
	char buf[GF_PATH_MAX + 1];
	ssize_t len = readlinkat(n->fd, "", buf, sizeof(buf));
	if (len < 0)
		return -errno;
	if (len > GF_PATH_MAX)
		return -ENAMETOOLONG;
	gf_wr_str(rp, buf, (size_t)len);
	return 0;
}

static int h_getdents(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)out_fd;
	uint64_t fid = gf_rd_u64(rq);
	uint64_t off = gf_rd_u64(rq);
	uint32_t max = gf_rd_u32(rq);
	if (!gf_rd_done(rq) || max == 0)
		return -EINVAL;
	if (max > GF_DENTS_MAX)
		max = GF_DENTS_MAX;
	struct node *n = fid_get(s, fid);
	if (!n)
		return -EBADF;
	if (!S_ISDIR(n->mode))
		return -ENOTDIR;
	if (n->dirfd < 0) {
		int fd = open_beneath(s, n->fd, ".", O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0)
			return fd;
		n->dirfd = fd;
	}
	if (off > INT64_MAX)
		return -EINVAL;
	if (lseek(n->dirfd, (off_t)off, SEEK_SET) < 0)
		return -errno;
	size_t count_at = rp->len;
	gf_wr_u16(rp, 0);
	uint16_t count = 0;
	bool full = false;
	while (count < max && !full) {
		ssize_t got = getdents64(n->dirfd, s->dents, sizeof(s->dents));
		if (got < 0) {
			if (count)
				break;
			return -errno;
		}
		if (got == 0)
			break;
		for (ssize_t pos = 0; pos < got && count < max;) {
			struct dirent64 *d = (struct dirent64 *)(s->dents + pos);
			if (d->d_reclen == 0 || (ssize_t)d->d_reclen > got - pos)
				return -EIO;
			pos += d->d_reclen;
			size_t nlen = strnlen(d->d_name, d->d_reclen - offsetof(struct dirent64, d_name));
			if (nlen == 0 || nlen > GF_NAME_MAX)
				continue;
			if (rp->cap - rp->len < 8 + 8 + 1 + 2 + nlen) {
				full = true;
				break;
			}
			gf_wr_u64(rp, d->d_ino);
			gf_wr_u64(rp, (uint64_t)d->d_off);
			gf_wr_u8(rp, d->d_type);
			gf_wr_str(rp, d->d_name, nlen);
			count++;
		}
	}
	memcpy(rp->p + count_at, &count, sizeof(count));
	return 0;
}

static int h_statfs(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)out_fd;
	uint64_t fid = gf_rd_u64(rq);
	if (!gf_rd_done(rq))
		return -EINVAL;
	struct node *n = fid_get(s, fid);
	if (!n)
		return -EBADF;
	struct statfs st;
	if (fstatfs(n->fd, &st) != 0)
		return -errno;
	int fsid[2];
	memcpy(fsid, &st.f_fsid, sizeof(fsid));
	gf_wr_u64(rp, (uint64_t)st.f_type);
	gf_wr_u64(rp, (uint64_t)st.f_bsize);
	gf_wr_u64(rp, st.f_blocks);
	gf_wr_u64(rp, st.f_bfree);
	gf_wr_u64(rp, st.f_bavail);
	gf_wr_u64(rp, st.f_files);
	gf_wr_u64(rp, st.f_ffree);
	gf_wr_u32(rp, (uint32_t)fsid[0]);
	gf_wr_u32(rp, (uint32_t)fsid[1]);
	gf_wr_u64(rp, (uint64_t)st.f_namelen);
	gf_wr_u64(rp, (uint64_t)st.f_frsize);
	gf_wr_u64(rp, (uint64_t)st.f_flags);
	return 0;
}

static int h_close(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)rp;
	(void)out_fd;
	uint32_t n = gf_rd_u32(rq);
	if (rq->bad || n > GF_CLOSE_MAX || rq->left != (size_t)n * 8)
		return -EINVAL;
	int rc = 0;
	for (uint32_t i = 0; i < n; i++)
		if (fid_close(s, gf_rd_u64(rq)) != 0)
			rc = -EBADF;
	return rc;
}

/* The directory node a write goes into. */
static int write_dir(struct srv *s, uint64_t fid, struct node **out)
{
	struct node *d = fid_get(s, fid);
	if (!d)
		return -EBADF;
	if (!S_ISDIR(d->mode))
		return -ENOTDIR;
	if (readonly(s, d))
		return -EROFS;
	*out = d;
	return 0;
}

static int h_mkdir(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)out_fd;
	uint64_t dirfid = gf_rd_u64(rq);
	uint32_t mode = gf_rd_u32(rq), uid = gf_rd_u32(rq), gid = gf_rd_u32(rq);
	char name[GF_NAME_MAX + 1];
	if (get_name(rq, name) != 0 || !gf_rd_done(rq))
		return -EINVAL;
	struct node *d;
	int rc = write_dir(s, dirfid, &d);
	if (rc)
		return rc;
	if (mkdirat(d->fd, name, mode & 07777) != 0)
		return -errno;
	struct stat st;
	int pfd = path_fd_of_new(s, d, name, NULL, &st);
	if (pfd >= 0 && !S_ISDIR(st.st_mode)) {
		close(pfd);
		pfd = -ESTALE;
	}
	if (pfd >= 0 && (rc = chown_new(pfd, uid, gid)) != 0) {
		close(pfd);
		pfd = rc;
	}
	if (pfd < 0) {
		unlinkat(d->fd, name, AT_REMOVEDIR);
		return pfd;
	}
	if ((rc = reply_new(s, d, name, pfd, rp)) != 0)
		unlinkat(d->fd, name, AT_REMOVEDIR);
	return rc;
}

static int h_create(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	uint64_t dirfid = gf_rd_u64(rq);
	uint32_t wflags = gf_rd_u32(rq), mode = gf_rd_u32(rq), uid = gf_rd_u32(rq), gid = gf_rd_u32(rq);
	char name[GF_NAME_MAX + 1];
	if (get_name(rq, name) != 0 || !gf_rd_done(rq))
		return -EINVAL;
	int flags = check_open_flags(wflags);
	if (flags < 0)
		return flags;
	struct node *d;
	int rc = write_dir(s, dirfid, &d);
	if (rc)
		return rc;
	int oflags = (flags & ~O_TRUNC) | O_CREAT | O_EXCL | O_NONBLOCK | O_NOCTTY;
	int fd = open_beneath(s, d->fd, name, oflags, mode & 07777);
	if (fd < 0)
		return fd;
	struct stat fst, st;
	int pfd = -1;
	rc = fstat(fd, &fst) == 0 ? 0 : -errno;
	if (rc == 0 && (pfd = path_fd_of_new(s, d, name, &fst, &st)) < 0)
		rc = pfd;
	if (rc == 0)
		rc = chown_new(pfd, uid, gid);
	/* chown clears set-id bits: put them back. */
	if (rc == 0 && (mode & (S_ISUID | S_ISGID)) && fchmod(fd, mode & 07777) != 0)
		rc = -errno;
	if (rc == 0 && fcntl(fd, F_SETFL, flags & O_APPEND) != 0)
		rc = -errno;
	if (rc == 0) {
		rc = reply_new(s, d, name, pfd, rp);
		pfd = -1;
	}
	if (rc) {
		if (pfd >= 0)
			close(pfd);
		close(fd);
		unlinkat(d->fd, name, 0);
		return rc;
	}
	*out_fd = fd;
	return 0;
}

static int h_symlink(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)out_fd;
	uint64_t dirfid = gf_rd_u64(rq);
	uint32_t uid = gf_rd_u32(rq), gid = gf_rd_u32(rq);
	char name[GF_NAME_MAX + 1], target[GF_PATH_MAX + 1];
	if (get_name(rq, name) != 0)
		return -EINVAL;
	size_t tlen;
	const char *t = gf_rd_str(rq, GF_PATH_MAX, &tlen);
	if (!gf_rd_done(rq) || tlen == 0 || memchr(t, '\0', tlen))
		return -EINVAL;
	memcpy(target, t, tlen);
	target[tlen] = '\0';
	struct node *d;
	int rc = write_dir(s, dirfid, &d);
	if (rc)
		return rc;
	if (symlinkat(target, d->fd, name) != 0)
		return -errno;
	struct stat st;
	int pfd = path_fd_of_new(s, d, name, NULL, &st);
	if (pfd >= 0 && !S_ISLNK(st.st_mode)) {
		close(pfd);
		pfd = -ESTALE;
	}
	if (pfd >= 0 && (rc = chown_new(pfd, uid, gid)) != 0) {
		close(pfd);
		pfd = rc;
	}
	if (pfd < 0) {
		unlinkat(d->fd, name, 0);
		return pfd;
	}
	if ((rc = reply_new(s, d, name, pfd, rp)) != 0)
		unlinkat(d->fd, name, 0);
	return rc;
}

static int h_link(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)rp;
	(void)out_fd;
	uint64_t dirfid = gf_rd_u64(rq), tfid = gf_rd_u64(rq);
	char name[GF_NAME_MAX + 1];
	if (get_name(rq, name) != 0 || !gf_rd_done(rq))
		return -EINVAL;
	struct node *d, *t = fid_get(s, tfid);
	int rc = write_dir(s, dirfid, &d);
	if (rc)
		return rc;
	if (!t)
		return -EBADF;
	if (S_ISDIR(t->mode))
		return -EPERM;
	if (linkat(t->fd, "", d->fd, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH in the initial user
	 * namespace: link by the target's parent and name, then check. */
	if (!t->parent || !t->hashed)
		return -ESTALE;
	if (linkat(t->parent->fd, t->name, d->fd, name, 0) != 0)
		return -errno;
	struct stat st;
	if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != t->dev ||
	    st.st_ino != t->ino) {
		unlinkat(d->fd, name, 0);
		return -ESTALE;
	}
	return 0;
}

static int h_unlink(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)rp;
	(void)out_fd;
	uint64_t dirfid = gf_rd_u64(rq);
	uint32_t flags = gf_rd_u32(rq);
	char name[GF_NAME_MAX + 1];
	if (get_name(rq, name) != 0 || !gf_rd_done(rq))
		return -EINVAL;
	if (flags & ~(uint32_t)AT_REMOVEDIR)
		return -EINVAL;
	struct node *d;
	int rc = write_dir(s, dirfid, &d);
	if (rc)
		return rc;
	if (unlinkat(d->fd, name, (int)flags) != 0)
		return -errno;
	struct node *gone = lookup(s, d, name);
	if (gone)
		unhash(s, gone);
	return 0;
}

/* Makes n the child name (taken over) of dir, n being unhashed. */
static void move_node(struct srv *s, struct node *n, struct node *dir, char *name)
{
	for (struct node *up = dir; up; up = up->parent)
		if (up == n) {
			free(name);
			return;
		}
	dir->refs++;
	struct node *old = n->parent;
	free(n->name);
	n->name = name;
	n->parent = dir;
	hash_in(s, n);
	node_put(s, old);
}

static int h_rename(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)rp;
	(void)out_fd;
	uint64_t ofid = gf_rd_u64(rq), nfid = gf_rd_u64(rq);
	uint32_t flags = gf_rd_u32(rq);
	char oname[GF_NAME_MAX + 1], nname[GF_NAME_MAX + 1];
	if (get_name(rq, oname) != 0 || get_name(rq, nname) != 0 || !gf_rd_done(rq))
		return -EINVAL;
	if ((flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
	    flags == (RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	struct node *od, *nd;
	int rc = write_dir(s, ofid, &od);
	if (rc == 0)
		rc = write_dir(s, nfid, &nd);
	if (rc)
		return rc;
	/* (glibc's renameat2 makes a renameat syscall for flags 0) */
	if (syscall(SYS_renameat2, od->fd, oname, nd->fd, nname, flags) != 0)
		return -errno;
	/* The nodes follow their files. */
	struct node *a = lookup(s, od, oname), *b = lookup(s, nd, nname);
	if (a == b)
		return 0; /* same name, or neither known */
	if (a)
		unhash(s, a);
	if (b)
		unhash(s, b);
	char *aname = NULL, *bname = NULL;
	if (a && !(aname = strdup(nname)))
		return 0; /* out of memory: a stays forgotten, its fids go stale */
	if (b && (flags & RENAME_EXCHANGE) && !(bname = strdup(oname))) {
		free(aname);
		return 0;
	}
	/* Nodes can be out of date when the host changed the tree under the
	 * gofer: never make a node its own ancestor (such a node is just
	 * forgotten, and its fids go stale). */
	if (a)
		move_node(s, a, nd, aname);
	if (b && bname)
		move_node(s, b, od, bname);
	return 0;
}

static int utimens_node(struct srv *s, struct node *n, const struct timespec ts[2])
{
	if (!s->no_utimens_empty) {
		if (utimensat(n->fd, "", ts, AT_EMPTY_PATH) == 0)
			return 0;
		if (errno != EINVAL)
			return -errno;
		s->no_utimens_empty = true;
	}
	if (n->parent && n->hashed) {
		struct stat st;
		if (fstatat(n->parent->fd, n->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			return -errno;
		if (st.st_dev != n->dev || st.st_ino != n->ino)
			return -ESTALE;
		return utimensat(n->parent->fd, n->name, ts, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
	}
	if (!S_ISDIR(n->mode))
		return -ESTALE;
	int fd = open_beneath(s, n->fd, ".", O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	int rc = futimens(fd, ts) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

static int chmod_node(struct srv *s, struct node *n, mode_t mode)
{
	if (S_ISLNK(n->mode))
		return -EOPNOTSUPP;
	if (!s->no_fchmodat2) {
		if (syscall(SYS_fchmodat2, n->fd, "", mode, AT_EMPTY_PATH) == 0)
			return 0;
		if (errno != ENOSYS)
			return -errno;
		s->no_fchmodat2 = true;
	}
	int fd;
	if (S_ISDIR(n->mode))
		fd = open_beneath(s, n->fd, ".", O_RDONLY | O_DIRECTORY, 0);
	else
		fd = reopen_file(s, n, O_RDONLY);
	if (fd < 0)
		return fd;
	int rc = fchmod(fd, mode) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

static int h_setattr(struct srv *s, struct gf_rd *rq, struct gf_wr *rp, int *out_fd)
{
	(void)rp;
	(void)out_fd;
	uint64_t fid = gf_rd_u64(rq);
	uint32_t mask = gf_rd_u32(rq), mode = gf_rd_u32(rq), uid = gf_rd_u32(rq), gid = gf_rd_u32(rq);
	uint64_t size = gf_rd_u64(rq);
	struct timespec ts[2];
	ts[0].tv_sec = gf_rd_i64(rq);
	ts[0].tv_nsec = gf_rd_i64(rq);
	ts[1].tv_sec = gf_rd_i64(rq);
	ts[1].tv_nsec = gf_rd_i64(rq);
	if (!gf_rd_done(rq))
		return -EINVAL;
	const uint32_t all =
		GF_SET_MODE | GF_SET_UID | GF_SET_GID | GF_SET_SIZE | GF_SET_ATIME | GF_SET_MTIME;
	if (mask & ~all)
		return -EINVAL;
	struct node *n = fid_get(s, fid);
	if (!n)
		return -EBADF;
	if (mask == 0)
		return 0;
	if (readonly(s, n))
		return -EROFS;
	if ((mask & GF_SET_SIZE) && (size > INT64_MAX))
		return -EINVAL;
	if ((mask & GF_SET_SIZE) && !S_ISREG(n->mode))
		return S_ISDIR(n->mode) ? -EISDIR : -EINVAL;
	int rc;
	if (mask & (GF_SET_UID | GF_SET_GID)) {
		uint32_t u = (mask & GF_SET_UID) ? uid : UINT32_MAX;
		uint32_t g = (mask & GF_SET_GID) ? gid : UINT32_MAX;
		if (fchownat(n->fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
			return -errno;
	}
	if ((mask & GF_SET_MODE) && (rc = chmod_node(s, n, mode & 07777)) != 0)
		return rc;
	if (mask & GF_SET_SIZE) {
		int fd = reopen_file(s, n, O_WRONLY);
		if (fd < 0)
			return fd;
		rc = ftruncate(fd, (off_t)size) == 0 ? 0 : -errno;
		close(fd);
		if (rc)
			return rc;
	}
	if (mask & (GF_SET_ATIME | GF_SET_MTIME)) {
		if (!(mask & GF_SET_ATIME))
			ts[0].tv_nsec = UTIME_OMIT;
		if (!(mask & GF_SET_MTIME))
			ts[1].tv_nsec = UTIME_OMIT;
		if ((rc = utimens_node(s, n, ts)) != 0)
			return rc;
	}
	return 0;
}

typedef int (*handler)(struct srv *, struct gf_rd *, struct gf_wr *, int *);

static const handler handlers[GF_OP_COUNT] = {
	[GF_OP_ATTACH] = h_attach,     [GF_OP_WALK] = h_walk,       [GF_OP_STAT] = h_stat,
	[GF_OP_OPEN] = h_open,         [GF_OP_READLINK] = h_readlink, [GF_OP_GETDENTS] = h_getdents,
	[GF_OP_STATFS] = h_statfs,     [GF_OP_CLOSE] = h_close,     [GF_OP_MKDIR] = h_mkdir,
	[GF_OP_CREATE] = h_create,     [GF_OP_SYMLINK] = h_symlink, [GF_OP_LINK] = h_link,
	[GF_OP_UNLINK] = h_unlink,     [GF_OP_RENAME] = h_rename,   [GF_OP_SETATTR] = h_setattr,
};

/* ---- the loop ---- */

static __attribute__((noreturn)) void quit(int status)
{
	/* Straight to the kernel: no atexit handlers (LeakSanitizer's would
	 * need syscalls the filter does not allow). */
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

/* Sends the reply in s->out (and fd, then closed); quits if the sentry
 * is gone. */
static void send_reply(struct srv *s, size_t len, int fd)
{
	struct iovec iov = {.iov_base = s->out, .iov_len = len};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n;
	do
		n = sendmsg(s->sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)len)
		quit(n < 0 && errno == EPIPE ? 0 : 1);
}

static void reply_error(struct srv *s, int err)
{
	uint32_t h[3] = {GF_OP_ERROR, 4, (uint32_t)err};
	memcpy(s->out, h, sizeof(h));
	send_reply(s, sizeof(h), -1);
}

static __attribute__((noreturn)) void serve(struct srv *s)
{
	for (;;) {
		struct iovec iov = {.iov_base = s->in, .iov_len = sizeof(s->in)};
		/* No control buffer: fds the sentry might send are dropped (and
		 * closed) by the kernel. */
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(s->sock, &msg, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			quit(1);
		}
		if (n == 0)
			quit(0); /* the sentry closed the connection */
		if (msg.msg_flags & MSG_TRUNC) {
			reply_error(s, EMSGSIZE);
			continue;
		}
		uint32_t h[2];
		if ((size_t)n < sizeof(h)) {
			reply_error(s, EINVAL);
			continue;
		}
		memcpy(h, s->in, sizeof(h));
		if (h[1] != (size_t)n - GF_HDR_SIZE) {
			reply_error(s, EINVAL);
			continue;
		}
		if (h[0] >= GF_OP_COUNT || !handlers[h[0]]) {
			reply_error(s, EOPNOTSUPP);
			continue;
		}
		struct gf_rd rq;
		gf_rd_init(&rq, s->in + GF_HDR_SIZE, h[1]);
		struct gf_wr rp;
		gf_wr_init(&rp, s->out + GF_HDR_SIZE, sizeof(s->out) - GF_HDR_SIZE);
		int fd = -1;
		int rc = handlers[h[0]](s, &rq, &rp, &fd);
		if (rc == 0 && rp.over)
			rc = -EMSGSIZE; /* cannot happen: replies are bounded */
		if (rc < 0) {
			if (fd >= 0)
				close(fd);
			reply_error(s, -rc);
			continue;
		}
		uint32_t rh[2] = {h[0], (uint32_t)rp.len};
		memcpy(s->out, rh, sizeof(rh));
		send_reply(s, GF_HDR_SIZE + rp.len, fd);
	}
}

/* ---- gofer_main ---- */

static void usage(void) { fprintf(stderr, "usage: husk gofer --fd N --spec JSON\n"); }

static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (strcmp(argv[*i], name) == 0 && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

int gofer_main(int argc, char **argv)
{
	const char *fdarg = NULL, *specarg = NULL;
	for (int i = 1; i < argc; i++) {
		const char *v;
		if ((v = opt_value(argc, argv, &i, "--fd")))
			fdarg = v;
		else if ((v = opt_value(argc, argv, &i, "--spec")))
			specarg = v;
		else {
			fprintf(stderr, "husk gofer: unknown argument '%s'\n", argv[i]);
			usage();
			return 2;
		}
	}
	if (!fdarg || !specarg) {
		usage();
		return 2;
	}
	char *end;
	errno = 0;
	long fd = strtol(fdarg, &end, 10);
	if (errno || *end || end == fdarg || fd < 3 || fd > 1 << 20) {
		fprintf(stderr, "husk gofer: --fd: not a usable fd number: '%s'\n", fdarg);
		return 2;
	}
	int type = 0, domain = 0;
	socklen_t len = sizeof(type);
	if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET ||
	    (len = sizeof(domain), getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &domain, &len)) != 0 ||
	    domain != AF_UNIX) {
		fprintf(stderr, "husk gofer: --fd %ld: not a unix SOCK_SEQPACKET socket\n", fd);
		return 2;
	}

	static struct srv srv; /* big buffers: not on the stack */
	struct srv *s = &srv;
	s->sock = (int)fd;
	const char *why;
	if (gf_spec_parse(specarg, &s->spec, &why) != 0) {
		fprintf(stderr, "husk gofer: --spec: %s\n", why);
		return 2;
	}
	int root_fds[64];
	const char *step;
	int rc = gf_confine(&s->spec, s->sock, root_fds, &step);
	if (rc) {
		fprintf(stderr, "husk gofer: confining itself failed at %s: %s\n", step, strerror(-rc));
		return 1;
	}
	s->roots = calloc((size_t)s->spec.nmounts, sizeof(*s->roots));
	if (!s->roots)
		return 1;
	for (int i = 0; i < s->spec.nmounts; i++) {
		if (root_fds[i] < 0)
			continue;
		struct stat st;
		struct node *n = calloc(1, sizeof(*n));
		if (!n || fd_stat(root_fds[i], &st) != 0) {
			fprintf(stderr, "husk gofer: the root of %s: %s\n", s->spec.mounts[i].path,
				n ? strerror(errno) : "out of memory");
			return 1;
		}
		n->fd = root_fds[i];
		n->dirfd = -1;
		n->mode = st.st_mode;
		n->dev = st.st_dev;
		n->ino = st.st_ino;
		n->refs = 1; /* the mount's own reference: roots live forever */
		n->mount = i;
		s->nnodes++;
		s->roots[i] = n;
	}
	rc = gf_seccomp(s->sock, &step);
	if (rc) {
		fprintf(stderr, "husk gofer: %s: %s\n", step, strerror(-rc));
		return 1;
	}
	serve(s);
}
