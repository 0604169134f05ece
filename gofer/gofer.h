/* gofer: the process that serves a sandbox's root filesystem to its sentry,
 * and the sentry's client for it.  One gofer per sandbox; it sees only the
 * sandbox's mounts (its own mount namespace, pivoted into a tree of bind
 * mounts), has no network, and confines itself with a seccomp allowlist.
 *
 * The protocol is fd-based, like gVisor's LISAFS: the sentry names files by
 * gofer-side handles (fids) that it got from attach, walk, mkdir, create or
 * symlink, never by path strings, so nothing is walked twice and no path
 * can race with a symlink swap on the host.  See docs/gofer.md.
 *
 * All functions return 0 (or a count) on success, or a negative errno.
 * The client is not thread-safe: one request at a time per client. */
#ifndef HUSK_GOFER_H
#define HUSK_GOFER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/statfs.h>
#include <sys/types.h>

/* ---- the mount spec: what a sandbox's filesystem is made of ---- */

enum gf_mount_type {
	GF_MOUNT_BIND,  /* a host directory served by the gofer */
	GF_MOUNT_TMPFS, /* an empty in-memory filesystem of the sentry's */
};

struct gf_mount {
	char *path;     /* absolute guest path, normalised ("/", "/tmp", ...) */
	enum gf_mount_type type;
	char *source;   /* GF_MOUNT_BIND: absolute host path */
	bool readonly;  /* GF_MOUNT_BIND: the gofer refuses every write */
	bool overlay;   /* GF_MOUNT_BIND and readonly: the sentry keeps an
			 * in-memory writable upper layer over it */
};

struct gf_spec {
	struct gf_mount *mounts; /* sorted by path, "/" first */
	int nmounts;
};

/* Parses a mount spec (JSON):
 *   {"mounts": [{"path": "/", "type": "bind", "source": "/",
 *                "readonly": true, "overlay": true},
 *               {"path": "/tmp", "type": "tmpfs"}]}
 * Paths must be absolute, without "." or ".." components; "/" must be a
 * bind mount; at most 64 mounts.  On error returns -EINVAL and sets *why. */
int gf_spec_parse(const char *json, struct gf_spec *spec, const char **why);
/* husk run's default: the host's / read-only with an in-memory upper layer,
 * and a fresh tmpfs on /tmp, like `runsc do`. */
int gf_spec_default(struct gf_spec *spec);
/* The spec as JSON (for passing it to `husk gofer`); caller frees. */
char *gf_spec_to_json(const struct gf_spec *spec);
void gf_spec_free(struct gf_spec *spec);

/* ---- starting a gofer ---- */

/* Starts `self_exe gofer` for spec, connected to the caller by a
 * SOCK_SEQPACKET socket pair: *sock is the caller's end, *pid the gofer. */
int gf_spawn(const char *self_exe, const struct gf_spec *spec, int *sock, pid_t *pid);
/* `husk gofer --fd N --spec JSON`: serves the sentry on fd N until it
 * closes; returns the process exit status. */
int gofer_main(int argc, char **argv);

/* ---- the client (the sentry's side) ---- */

typedef uint64_t gf_fid;

struct gf_stat {
	uint64_t ino;
	uint64_t dev;
	uint32_t mode; /* type and permission bits, as st_mode */
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t rdev;
	uint64_t size;
	uint64_t blocks;
	uint32_t blksize;
	int64_t atime_sec, atime_nsec;
	int64_t mtime_sec, mtime_nsec;
	int64_t ctime_sec, ctime_nsec;
};

struct gf_dirent {
	uint64_t ino;
	uint64_t off;  /* the offset to pass to continue after this entry */
	uint8_t type;  /* DT_* */
	char name[256];
};

struct gf_client;

int gf_client_new(int sock, struct gf_client **out);
void gf_client_free(struct gf_client *c);
/* The connection is about to close (the sandbox is going away): from now
 * on gf_close sends nothing, since the gofer drops every fid when the
 * connection closes anyway. */
void gf_client_closing(struct gf_client *c);
/* Round trips made so far (for the closing note's count and for tests). */
uint64_t gf_client_round_trips(const struct gf_client *c);

/* The root of the bind mount at guest path mount_path. */
int gf_attach(struct gf_client *c, const char *mount_path, gf_fid *root, struct gf_stat *st);

/* Walks names[0..n) down from dir in one round trip.  It stops after a
 * component that is a symlink (returned, not followed), or at the first
 * component that does not exist or cannot be walked: then *stop_err is
 * its errno (ENOENT, ENOTDIR, EACCES) and the count walked is returned.
 * fids[i] and st[i] are filled for each component walked.  Names are
 * single components: no "/", not "." or "..", at most 255 bytes. */
int gf_walk(struct gf_client *c, gf_fid dir, const char *const *names, int n, gf_fid *fids,
	    struct gf_stat *st, int *stop_err);
int gf_stat(struct gf_client *c, gf_fid fid, struct gf_stat *st);
/* Opens a regular file: the gofer donates a host fd open with flags
 * (O_RDONLY, or O_RDWR / O_WRONLY where the mount is writable; O_TRUNC
 * and O_APPEND honoured), for the sentry's own pread, pwrite and mmap. */
int gf_open(struct gf_client *c, gf_fid fid, int flags, int *host_fd);
/* Reads a symlink's target; returns its length (not NUL-terminated). */
int gf_readlink(struct gf_client *c, gf_fid fid, char *buf, size_t size);
/* Up to max entries of directory dir starting at offset off (0 to start),
 * "." and ".." included; returns the number filled, 0 at the end. */
int gf_getdents(struct gf_client *c, gf_fid dir, uint64_t off, struct gf_dirent *ents, int max);
int gf_statfs(struct gf_client *c, gf_fid fid, struct statfs *st);
/* Releases fids; the gofer closes what it held for them. */
int gf_close(struct gf_client *c, const gf_fid *fids, int n);

/* Writes, on writable mounts only (-EROFS otherwise). */
int gf_mkdir(struct gf_client *c, gf_fid dir, const char *name, uint32_t mode, uint32_t uid,
	     uint32_t gid, gf_fid *fid, struct gf_stat *st);
int gf_create(struct gf_client *c, gf_fid dir, const char *name, int flags, uint32_t mode,
	      uint32_t uid, uint32_t gid, gf_fid *fid, struct gf_stat *st, int *host_fd);
int gf_symlink(struct gf_client *c, gf_fid dir, const char *name, const char *target,
	       uint32_t uid, uint32_t gid, gf_fid *fid, struct gf_stat *st);
int gf_link(struct gf_client *c, gf_fid dir, const char *name, gf_fid target);
/* flags: 0, or AT_REMOVEDIR. */
int gf_unlink(struct gf_client *c, gf_fid dir, const char *name, int flags);
/* flags: renameat2's RENAME_NOREPLACE / RENAME_EXCHANGE. */
int gf_rename(struct gf_client *c, gf_fid olddir, const char *oldname, gf_fid newdir,
	      const char *newname, unsigned flags);

enum {
	GF_SET_MODE = 1 << 0,
	GF_SET_UID = 1 << 1,
	GF_SET_GID = 1 << 2,
	GF_SET_SIZE = 1 << 3,
	GF_SET_ATIME = 1 << 4,
	GF_SET_MTIME = 1 << 5,
};

struct gf_setattr {
	unsigned mask; /* GF_SET_* */
	uint32_t mode, uid, gid;
	uint64_t size;
	int64_t atime_sec, atime_nsec; /* UTIME_NOW / UTIME_OMIT in nsec as utimensat */
	int64_t mtime_sec, mtime_nsec;
};

int gf_setattr(struct gf_client *c, gf_fid fid, const struct gf_setattr *attr);

#endif
