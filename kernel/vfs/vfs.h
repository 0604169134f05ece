/* The VFS: inodes, dentries, mounts and path resolution.  Included by
 * sentry.h; internal to kernel/. */
#ifndef HUSK_KERNEL_VFS_H
#define HUSK_KERNEL_VFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

struct k_task;
struct k_file;
struct k_inode;
struct k_super;

/* Linux's limits. */
#define K_NAME_MAX 255
#define K_PATH_MAX 4096
#define K_MAXSYMLINKS 40

struct k_cred {
	uint32_t uid, euid, fsuid;
	uint32_t gid, egid, fsgid;
};

enum {
	K_SET_MODE = 1 << 0,
	K_SET_UID = 1 << 1,
	K_SET_GID = 1 << 2,
	K_SET_SIZE = 1 << 3,
	K_SET_ATIME = 1 << 4,
	K_SET_MTIME = 1 << 5,
	K_SET_CTIME = 1 << 6,
};

struct k_setattr {
	unsigned mask;
	uint32_t mode, uid, gid;
	uint64_t size;
	struct timespec atime, mtime, ctime;
};

/* getdents: emit returns 0 to go on, 1 when the caller's buffer is full. */
typedef int (*k_dirent_fn)(void *ctx, const char *name, size_t len, uint64_t ino,
			   unsigned type, int64_t next_off);

struct k_inode_ops {
	/* Directories.  Names are single components, never "." or "..". */
	int (*lookup)(struct k_inode *dir, const char *name, struct k_inode **out);
	/* Regular files, fifos, sockets, device nodes (mode says which). */
	int (*create)(struct k_inode *dir, const char *name, uint32_t mode, uint64_t rdev,
		      const struct k_cred *c, struct k_inode **out);
	int (*mkdir)(struct k_inode *dir, const char *name, uint32_t mode,
		     const struct k_cred *c, struct k_inode **out);
	int (*symlink)(struct k_inode *dir, const char *name, const char *target,
		       const struct k_cred *c, struct k_inode **out);
	int (*link)(struct k_inode *dir, const char *name, struct k_inode *target);
	int (*unlink)(struct k_inode *dir, const char *name, struct k_inode *victim);
	int (*rmdir)(struct k_inode *dir, const char *name, struct k_inode *victim);
	/* The VFS has checked types, emptiness and loops; flags: RENAME_*. */
	int (*rename)(struct k_inode *odir, const char *oname, struct k_inode *ndir,
		      const char *nname, unsigned flags);
	/* Directory listing from the cookie *pos (0: start), "." and ".."
	 * included; updates *pos past what was emitted. */
	int (*iterate)(struct k_inode *dir, int64_t *pos, k_dirent_fn emit, void *ctx);
	/* Symlinks: the target, not NUL-terminated; returns its length. */
	int (*readlink)(struct k_inode *ino, char *buf, size_t size);
	int (*setattr)(struct k_inode *ino, const struct k_setattr *a);
	/* Makes f a file description of ino: sets f->ops and its state. */
	int (*open)(struct k_inode *ino, struct k_file *f);
	int (*statfs)(struct k_inode *ino, struct statfs *st);
	/* fallocate(2) modes 0, FALLOC_FL_KEEP_SIZE and PUNCH_HOLE. */
	int (*fallocate)(struct k_inode *ino, int mode, uint64_t off, uint64_t len);
	/* Brings the inode's attributes up to date before they are shown. */
	void (*refresh)(struct k_inode *ino);
	/* The last reference is gone. */
	void (*evict)(struct k_inode *ino);
};

struct k_super {
	int refs;
	uint64_t dev;     /* st_dev the guest sees */
	long magic;       /* f_type for statfs */
	const char *type; /* "tmpfs", "proc", ... for /proc/mounts */
	uint64_t next_ino;
	void *priv;
	void (*put_priv)(void *priv); /* frees priv with the superblock */
};

struct k_inode {
	int refs;
	const struct k_inode_ops *ops;
	struct k_super *sb;
	uint64_t ino;
	uint32_t mode;
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t rdev;
	uint64_t size;
	uint64_t blocks;
	struct timespec atime, mtime, ctime;
	unsigned iflags; /* K_I_* */
	unsigned seals;  /* memfd seals (F_SEAL_*) */
	void *pipe;      /* FIFOs: the pipe while it exists (fs/pipe.c) */
	void *locks;     /* record and flock locks (fs/locks.c) */
	void *priv;
};

/* An overlay upper directory that hides the lower one of the same name. */
#define K_I_OPAQUE 1u
/* An O_TMPFILE file that linkat may still give a name. */
#define K_I_LINKABLE 2u

struct k_dentry {
	int refs;
	struct k_dentry *parent; /* NULL at a filesystem's root */
	struct k_inode *inode;   /* NULL: a cached "no such name" */
	char *name;
	uint32_t hash;
	struct k_dentry *hnext;  /* hash chain */
	struct k_dentry *lru_prev, *lru_next; /* unused dentries, to evict */
	int mounted;             /* mounts on this dentry */
	bool hashed;
};

struct k_mount {
	int refs;
	struct k_super *sb;
	struct k_dentry *root;
	struct k_mount *parent;      /* NULL for the root mount */
	struct k_dentry *mountpoint; /* in parent */
	int flags;                   /* MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC */
	char *source;
	struct k_mount *next;
};

struct k_path {
	struct k_mount *mnt;
	struct k_dentry *d;
};

/* What a task resolves paths against (shared by CLONE_FS later). */
struct k_fs_ctx {
	int refs;
	struct k_path root, cwd;
	uint32_t umask;
};

/* ---- inodes ---- */
struct k_inode *inode_new(struct k_super *sb, const struct k_inode_ops *ops, uint32_t mode);
struct k_inode *inode_get(struct k_inode *ino);
void inode_put(struct k_inode *ino);
void inode_touch(struct k_inode *ino, bool atime, bool mtime, bool ctime);
void inode_stat(const struct k_inode *ino, struct stat *st);
struct k_super *super_new(const char *type, long magic);
void super_put(struct k_super *sb);

/* A mount that is not in the guest's tree (memfd files live there). */
#define K_MNT_INTERNAL 0x40000000

/* ---- dentries ---- */
struct k_dentry *dentry_root(struct k_inode *root);
struct k_dentry *dentry_get(struct k_dentry *d);
void dentry_put(struct k_dentry *d);
/* The child name of dir, from the cache or the filesystem: a negative
 * dentry when there is no such name.  NULL with *err on failure. */
struct k_dentry *dentry_lookup(struct k_dentry *dir, const char *name, int *err);
/* Gives a negative dentry its new inode (after create/mkdir/...). */
void dentry_instantiate(struct k_dentry *d, struct k_inode *ino);
/* Forgets d (after unlink/rmdir): later lookups ask the filesystem. */
void dentry_drop(struct k_dentry *d);
/* A dentry under parent that lookups never find (O_TMPFILE's "#ino"). */
struct k_dentry *dentry_anon(struct k_dentry *parent, const char *name, struct k_inode *ino);
/* Names a parentless dentry (memfd:NAME). */
int dentry_rename_root(struct k_dentry *d, const char *name);
/* Moves d to newname under newdir (after rename). */
int dentry_move(struct k_dentry *d, struct k_dentry *newdir, const char *newname);

/* ---- mounts and paths ---- */
struct k_path path_get(struct k_path p);
void path_put(struct k_path *p);
bool path_equal(struct k_path a, struct k_path b);
/* Mounts sb's root dentry on at (or as the root mount when at is NULL). */
int mount_add(struct k_kernel *k, const struct k_path *at, struct k_super *sb,
	      struct k_dentry *root, int flags, const char *source, struct k_mount **out);
void mounts_free(struct k_kernel *k);
/* The absolute path of p as seen from root; returns its length or -errno. */
int path_name(const struct k_path *root, const struct k_path *p, char *buf, size_t size);
/* The top of the sandbox's mount tree, whatever a task's chroot (no
 * reference taken; mnt NULL before the VFS is built). */
struct k_path vfs_abs_root(struct k_kernel *k);

enum {
	LOOKUP_FOLLOW = 1 << 0,    /* follow a trailing symlink */
	LOOKUP_DIRECTORY = 1 << 1, /* the result must be a directory */
	LOOKUP_EMPTY = 1 << 2,     /* "" names dirfd itself (AT_EMPTY_PATH) */
	LOOKUP_NO_SYMLINKS = 1 << 3,
	LOOKUP_BENEATH = 1 << 4,   /* never above the starting directory */
	LOOKUP_IN_ROOT = 1 << 5,   /* the starting directory is the root */
	LOOKUP_NO_XDEV = 1 << 6,
	LOOKUP_NO_MAGICLINKS = 1 << 7,
	/* A /proc magic link to a file with no path (a pipe, husk's stdio)
	 * may end the walk: -K_EMAGICFILE, the file in *magic. */
	LOOKUP_MAGIC_FILE = 1 << 8,
};

#define K_EMAGICFILE 1000

/* Resolves path relative to dirfd (AT_FDCWD: the cwd) for task t. */
int path_lookup(struct k_task *t, int dirfd, const char *path, int flags, struct k_path *out);
/* Resolves all but the last component: *parent and the last name (empty
 * for "/"); *trailing_slash when the path ended in "/". */
int path_parent(struct k_task *t, int dirfd, const char *path, int flags,
		struct k_path *parent, char *last, bool *trailing_slash);
/* path_lookup that may end at a pathless file (LOOKUP_MAGIC_FILE). */
int path_lookup_file(struct k_task *t, int dirfd, const char *path, int flags,
		     struct k_path *out, struct k_file **magic);
/* The same, relative to a path instead of a descriptor. */
int path_lookup_from(struct k_task *t, const struct k_path *from, const char *path, int flags,
		     struct k_path *out);
int path_parent_from(struct k_task *t, const struct k_path *from, const char *path, int flags,
		     struct k_path *parent, char *last, bool *trailing_slash);
/* Copies a path argument from the guest: -ENOENT for "", -ENAMETOOLONG. */
int k_copy_path(struct k_task *t, uint64_t uaddr, char *buf, bool allow_empty);

/* Permission to access ino for mask (MAY_READ | MAY_WRITE | MAY_EXEC). */
enum { MAY_EXEC = 1, MAY_WRITE = 2, MAY_READ = 4 };
int inode_permission(struct k_task *t, struct k_inode *ino, int mask);
/* Makes a node (mode: its type and permissions, less the umask) at a
 * path the kernel holds, relative to the cwd, as mknod would: its inode,
 * referenced, in *out; -EEXIST when the name is taken. */
int vfs_mknod_path(struct k_task *t, const char *path, uint32_t mode, struct k_inode **out);
bool mount_readonly(const struct k_mount *m);
void task_cred(const struct k_task *t, struct k_cred *c);

#endif
