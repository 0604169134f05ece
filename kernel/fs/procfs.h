/* Internal to kernel/fs: the engine (pseudofs.c) that /proc (procfs.c,
 * procfs_pid.c) and /sys (sysfs.c) share.  A pseudo filesystem is a tree
 * of static entries (struct pfs_ent) plus directories whose content is
 * generated (the pids of /proc, the fds of /proc/PID/fd).  An inode only
 * names its place in that tree (entry, pid, tid, fd): it holds no pointer
 * to a task or a file, so a stale one is harmless; what it shows is
 * computed when it is read.  Regular files are generated into a buffer at
 * open (seq_file style), again when a read starts at offset 0, and read
 * and seeked over; at most PFS_MAX_FILE bytes.  Inode numbers are a hash
 * of the parent's and the name: stable for a (pid, entry) and never an
 * address of the sentry's. */
#ifndef HUSK_KERNEL_FS_PROCFS_H
#define HUSK_KERNEL_FS_PROCFS_H

#include "../sentry.h"

#define PFS_MAX_FILE (1u << 20)

/* A growing text buffer, bounded by PFS_MAX_FILE (the rest is dropped). */
struct pbuf {
	char *p;
	size_t len, cap;
	bool trunc;
};

void pb_put(struct pbuf *b, const void *s, size_t n);
void pb_puts(struct pbuf *b, const char *s);
void pb_printf(struct pbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The sandbox's CPUs (the set bits of k->cpumask) as a list: "0-3,6". */
void pb_cpulist(struct pbuf *b, const struct k_kernel *k);
/* The same set as Linux's "%*pb": 32-bit hex chunks, most significant first. */
void pb_cpumask_hex(struct pbuf *b, const struct k_kernel *k);
bool pfs_cpu_present(const struct k_kernel *k, unsigned cpu);
unsigned pfs_ncpus(const struct k_kernel *k);

struct pfs_ent;
struct pfs_sb;

/* Where an inode is in the tree.  pid 0: not under /proc/PID; tid 0: the
 * thread group's directory rather than task/TID; fd -1: not an fd entry. */
struct pfs_node {
	const struct pfs_ent *ent;
	int pid, tid, fd;
	uint64_t parent_ino;
};

/* What a generator or a dynamic directory works with. */
struct pfs_ctx {
	struct pfs_sb *ps;
	const struct pfs_node *n;
	struct k_task *t; /* the node's task, or (pid 0) the caller's */
};

/* An entry of a generated directory; key orders them and is its cookie. */
struct pfs_dent {
	char name[32];
	int64_t key;
	struct pfs_node node;
};

typedef int (*pfs_gen_fn)(struct pfs_ctx *c, struct pbuf *b);
/* Gets at most a page of what was written (len) and the whole count. */
typedef ssize_t (*pfs_write_fn)(struct pfs_ctx *c, const char *buf, size_t len, size_t count);
/* A symlink's target into buf (size K_PATH_MAX); returns its length. */
typedef int (*pfs_readlink_fn)(struct pfs_ctx *c, char *buf, size_t size);
/* Magic links: the path (or the file, when it has none) they stand for. */
typedef int (*pfs_getlink_fn)(struct pfs_ctx *c, struct k_path *p, struct k_file **f);
/* Generated directories: one name, and the first entry with key >= key. */
typedef int (*pfs_dlookup_fn)(struct pfs_ctx *c, const char *name, struct pfs_node *out);
typedef bool (*pfs_dnext_fn)(struct pfs_ctx *c, int64_t key, struct pfs_dent *out);
typedef uint32_t (*pfs_mode_fn)(struct pfs_ctx *c);

enum {
	PFS_RO_OPEN = 1 << 0, /* sysctl-like: opening for writing is EACCES, even for root */
	PFS_INTVAL = 1 << 1,  /* a sysctl number: a read past offset 0 returns nothing */
	PFS_SIZE64 = 1 << 2,  /* st_size 64 (the fd links) */
};

struct pfs_ent {
	const char *name;
	uint32_t mode;
	unsigned flags;
	const struct pfs_ent *kids; /* static children, up to one with no name */
	pfs_dlookup_fn dlookup;
	pfs_dnext_fn dnext;
	pfs_gen_fn gen;
	pfs_write_fn write;
	pfs_readlink_fn readlink;
	pfs_getlink_fn getlink;
	pfs_mode_fn modefn; /* when the mode depends on the target (fd links) */
	const char *text;   /* a file whose content is this constant */
};

/* A generated file, and a file whose content is the constant s. */
#define PFS_REG(n, m, g) {.name = (n), .mode = S_IFREG | (m), .gen = (g)}
#define PFS_TEXT(n, m, s) {.name = (n), .mode = S_IFREG | (m), .text = (s)}

/* A filesystem instance (k_super's priv, freed with it). */
struct pfs_sb {
	struct k_kernel *k;
	struct k_task *task; /* the first task: /proc/self outside the scheduler */
	const struct pfs_ent *root;
	uint64_t reg_size; /* st_size of regular files (sysfs: 4096) */
	/* procfs: what was read from the host when it was created. */
	char **cpu_block; /* the host's /proc/cpuinfo per processor, after its first line */
	size_t ncpu_block;
	char boot_id[40];
	int oom_score_adj, oom_score_adj_min; /* of the one thread group */
};

/* Makes the filesystem: takes ps (freed on failure too). */
int pfs_new(struct pfs_sb *ps, const char *type, long magic, struct k_super **sb,
	    struct k_inode **root);
void pfs_sb_free(struct pfs_sb *ps);
/* A canonical decimal number (no sign, no leading zero) up to max. */
bool pfs_parse_uint(const char *s, unsigned long max, unsigned long *out);
/* A file whose content is ent->text. */
int pfs_gen_text(struct pfs_ctx *c, struct pbuf *b);
/* What the node of ino names (its task: ENOENT once that is gone). */
int pfs_ctx_of(struct k_inode *ino, struct pfs_ctx *c);
/* Whether ino is one of a pseudo filesystem's. */
bool pfs_inode_is(const struct k_inode *ino);

/* The sandbox's tasks: the thread group leader pid (with tid 0) or its
 * thread tid; the leader with the smallest pid >= min; the thread of pid
 * with the smallest tid >= min; the task /proc/self names. */
struct k_task *pfs_task_find(struct pfs_sb *ps, int pid, int tid);
struct k_task *pfs_task_next_pid(struct pfs_sb *ps, int64_t min);
struct k_task *pfs_task_next_tid(struct pfs_sb *ps, int pid, int64_t min);
struct k_task *pfs_task_current(struct pfs_sb *ps);

/* Between procfs.c and procfs_pid.c. */

#define USER_HZ 100 /* the clock ticks /proc counts CPU time in */

/* The CPU time t has used: none before it runs. */
static inline uint64_t pfs_task_cpu_ns(struct k_task *t)
{
	return t && t->ctx ? pf_ctx_cputime_ns(t->ctx) : 0;
}

/* The root's generated entries: one directory per process. */
int procfs_lookup_pid(struct pfs_ctx *c, const char *name, struct pfs_node *out);
bool procfs_next_pid(struct pfs_ctx *c, int64_t key, struct pfs_dent *d);

#endif
