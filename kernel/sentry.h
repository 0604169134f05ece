/* Internal to kernel/: the sentry's objects and the helpers its subsystems
 * share.  Functions return a value or a negative errno, as in Linux. */
#ifndef HUSK_KERNEL_SENTRY_H
#define HUSK_KERNEL_SENTRY_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "../platform/platform.h"
#include "kernel.h"

/* sys/user.h has its own, of another type. */
#undef PAGE_SIZE
#undef PAGE_MASK
#define PAGE_SIZE 4096UL
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PAGE_UP(x) (((x) + PAGE_SIZE - 1) & PAGE_MASK)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define K_NSIG 64

struct k_task;
struct k_kernel;
struct snap_enc;
struct snap_dec;
struct ckpt_ctx;

#include "vfs/vfs.h"

/* ---- memory file: all guest memory lives in one memfd ---- */
struct k_extent {
	uint64_t off, len;
};

struct k_memfile {
	int fd;
	uint8_t *base; /* the whole file, mapped into the sentry */
	uint64_t size;
	struct k_extent *free; /* sorted, coalesced free ranges */
	size_t nfree, cap;
	uint64_t allocated;
};

int memfile_init(struct k_memfile *mf, uint64_t size);
void memfile_destroy(struct k_memfile *mf);
int64_t memfile_alloc(struct k_memfile *mf, uint64_t len);
/* Grows the allocation [off, off+len) in place to newlen if the file range
 * after it is free; returns 0 or -ENOMEM. */
int memfile_extend(struct k_memfile *mf, uint64_t off, uint64_t len, uint64_t newlen);
/* Releases a range: its pages are dropped and read as zero again. */
void memfile_free(struct k_memfile *mf, uint64_t off, uint64_t len);
/* Drops a range's pages without releasing it (MADV_DONTNEED). */
void memfile_zero(struct k_memfile *mf, uint64_t off, uint64_t len);
/* Copies the populated pages of [src, src+len) to dst. */
void memfile_copy(struct k_memfile *mf, uint64_t dst, uint64_t src, uint64_t len);

/* ---- address spaces ---- */
enum {
	VMA_SHARED = 1 << 0,    /* MAP_SHARED: survives fork shared */
	VMA_GROWSDOWN = 1 << 1,
	VMA_HEAP = 1 << 2,
	VMA_STACK = 1 << 3,
	VMA_BACKED = 1 << 4, /* memory from the start, even while PROT_NONE */
	VMA_SIGBUS = 1 << 5, /* past the end of a mapped file: touching it is SIGBUS */
	VMA_NOWRITE = 1 << 6, /* shared mapping of a file it may not write (no VM_MAYWRITE) */
	VMA_COW = 1 << 7,     /* private view of shared pages: copied when written */
	VMA_FORKED = 1 << 8,  /* with VMA_COW: private memory a fork shares */
	VMA_VVAR = 1 << 9,    /* the time page: [vvar] in /proc/PID/maps */
	VMA_VDSO = 1 << 10,   /* the vDSO: [vdso] */
	VMA_USERTRAP = 1 << 11, /* systrap's table of patched syscall sites */
};

/* A range of the memory file that one or more VMAs map (several after a
 * split, a shared duplicate or, later, a fork).  Or, with fd >= 0, a host
 * file that cannot change under the sandbox (a read-only gofer mount's):
 * the stubs map its pages directly, so nothing is copied and every
 * sandbox shares the host's page cache, as runsc maps donated files.
 * Such an object is only ever mapped read-only, shared or copy-on-write;
 * host is the sentry's own read-only view of it, off its place in the
 * file (0 but for a snapshot's memory image). */
struct k_mobj {
	int refs;
	uint64_t off, len;
	int fd;
	uint8_t *host;
	/* A host file's: the guest path it was opened by and what it was
	 * then (a snapshot maps it again by path, if it is still that); or,
	 * image, memory a restore maps from its snapshot's memory image (a
	 * checkpoint saves it as memory). */
	bool image;
	char *src;
	uint64_t src_ino, src_size;
	struct timespec src_mtime;
};

/* The same for len bytes at off (page-aligned) of the host file fd: a
 * restored snapshot's memory image, shared copy-on-write. */
struct k_mobj *mobj_file_at(int fd, uint64_t off, uint64_t len);
/* A fresh object of len bytes of the memory file (refs 1), and dropping a
 * reference (the last frees its range, or unmaps and closes its file). */
struct k_mobj *mobj_new(struct k_memfile *mf, uint64_t len);
void mobj_put(struct k_memfile *mf, struct k_mobj *o);
/* An object of the first len bytes (page-rounded) of the host file fd,
 * which must be open read-only (the object keeps a copy of it); NULL on
 * failure (the caller copies the file instead). */
struct k_mobj *mobj_file(int fd, uint64_t len);
/* Where the sentry sees o's bytes. */
static inline uint8_t *mobj_host(const struct k_memfile *mf, const struct k_mobj *o)
{
	return o->fd >= 0 ? o->host : mf->base + o->off;
}

struct k_vma {
	uint64_t start, end;
	int prot;            /* PROT_* */
	int flags;           /* VMA_* */
	struct k_mobj *mobj; /* NULL: inaccessible and never touched yet */
	uint64_t pgoff;      /* byte offset of start within mobj */
};

struct k_mm {
	struct k_kernel *k;
	int users;
	struct pf_as *as;
	struct k_vma *v; /* sorted by start, non-overlapping */
	size_t n, cap;
	uint64_t mmap_base;           /* top-down allocation starts below this */
	uint64_t brk_start, brk_cur;
	uint64_t stack_start, stack_end;
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv[64];
	size_t nauxv;
	uint64_t total_vm; /* bytes mapped, for RLIMIT_AS */
	struct k_path exe; /* the program execve loaded (/proc/PID/exe) */
	struct k_mobj *batch; /* the page the platform batches mapping changes in */
	bool ut_off;          /* syscall patching gave up on this mm */
	struct k_ut_seen *ut_seen; /* how often sites trapped before a patch */
};

int mm_new(struct k_kernel *k, struct k_mm **out);
void mm_free(struct k_mm *mm);
/* Address spaces are shared by threads (and a vfork child): counted. */
struct k_mm *mm_get(struct k_mm *mm);
void mm_put(struct k_mm *mm);
/* A copy of mm for fork: shared mappings stay shared, private memory is
 * copy-on-write in both (nothing is copied now). */
int mm_fork(struct k_mm *mm, struct k_mm **out);
/* Appends a VMA a snapshot describes (above every other, checked; it
 * takes a reference to v->mobj) and maps it. */
int mm_restore_vma(struct k_mm *mm, const struct k_vma *v);
/* The VMA containing addr, or NULL. */
struct k_vma *mm_find(struct k_mm *mm, uint64_t addr);
/* The first VMA that ends above addr, or NULL. */
struct k_vma *mm_find_next(struct k_mm *mm, uint64_t addr);
/* Maps fresh zeroed anonymous memory; addr is a hint unless fixed. */
int64_t mm_map_anon(struct k_mm *mm, uint64_t addr, uint64_t len, int prot, int vflags,
		    int mflags);
/* Maps ranges of existing memory objects (a tmpfs file's chunks) shared:
 * n pieces, each len[i] bytes at offset pgoff[i] of objs[i], back to back. */
int64_t mm_map_objs(struct k_mm *mm, uint64_t addr, int prot, int vflags, int mflags,
		    struct k_mobj **objs, const uint64_t *pgoff, const uint64_t *len, int n);
/* The host address of guest memory at addr in a backed VMA (loaders). */
uint8_t *mm_host_addr(struct k_mm *mm, uint64_t addr);
/* The same, with addr's page made this mm's own first (copied if others
 * see it), whatever its protection: for the sentry's own writes to guest
 * code.  NULL for shared or unbacked memory. */
uint8_t *mm_own_page(struct k_mm *mm, uint64_t addr);
int mm_unmap(struct k_mm *mm, uint64_t addr, uint64_t len);
int mm_protect(struct k_mm *mm, uint64_t addr, uint64_t len, int prot);
/* mremap(2) on page-aligned lengths. */
int64_t mm_remap(struct k_mm *mm, uint64_t old, uint64_t old_len, uint64_t new_len, int flags,
		 uint64_t new_addr);
/* A free range of len bytes, top-down below mmap_base, or -ENOMEM. */
int64_t mm_find_free(struct k_mm *mm, uint64_t len, uint64_t hint, uint64_t limit);

/* A write fault on a copy-on-write page: gives the page its own copy. */
bool mm_fault_cow(struct k_mm *mm, uint64_t addr);
/* The same for every page of [addr, addr+len) in a file's copy-on-write
 * mappings (a snapshot's image), each piece copied in one go. */
int mm_cow_range(struct k_mm *mm, uint64_t addr, uint64_t len);
/* The same for [addr, addr+len) (in one such mapping), with a copy made
 * ahead: the pages of copy (memory) from pgoff on. */
int mm_cow_install(struct k_mm *mm, uint64_t addr, uint64_t len, struct k_mobj *copy,
		   uint64_t pgoff);
/* Syscall patching (systrap, mm/usertrap.c): ut_patch after a syscall
 * stop the platform marked patchable; ut_fault for a SIGILL, which may be
 * a thread meeting a patch: it then runs the syscall (UT_SYSCALL, regs
 * set as for a syscall stop) or the jump (UT_RERUN). */
enum { UT_NOT_MINE, UT_SYSCALL, UT_RERUN };
#define UT_SEEN 64
struct k_ut_seen {
	uint64_t site[UT_SEEN];
	uint8_t n[UT_SEEN];
};
void ut_patch(struct k_task *t);
/* A restored address space's table, pointed at this husk's stub. */
void ut_restored(struct k_mm *mm);
int ut_fault(struct k_task *t);
/* A fault below a growsdown VMA: grows it and returns true if allowed. */
bool mm_fault_stack(struct k_task *t, uint64_t addr);

/* The guest's clocks (time/clock.c): REALTIME, MONOTONIC, BOOTTIME, TAI
 * and their coarse and alarm forms from the TSC calibrated against the
 * host, the numbers the vDSO reads too; other ids from the host.  Every
 * time the guest can see comes from here.  k_clock_update recalibrates
 * when due and returns when it is next due (CLOCK_MONOTONIC ns; 0: never). */
void k_clock_init(void);
int64_t k_clock_ns(clockid_t id);
void k_clock_ts(clockid_t id, struct timespec *ts);
int64_t k_clock_update(void);
bool k_clock_vdso(void);
/* The guest's view (time namespaces): its monotonic and boot clocks are
 * the sentry's plus an offset a restore sets (0 otherwise); deadlines
 * stay on the sentry's clocks, moved at the syscalls that take or give
 * guest times. */
void k_clock_set_guest_offset(int64_t ns);
int64_t k_clock_to_guest(clockid_t id, int64_t ns);
int64_t k_clock_from_guest(clockid_t id, int64_t ns);
void k_clock_guest_ts(clockid_t id, struct timespec *ts);
struct timespec k_ts_from_guest(clockid_t id, struct timespec ts);
/* Time pages kept current (each a struct husk_vvar). */
void k_clock_attach(void *page);
void k_clock_detach(void *page);
/* The vvar page and the vDSO image of a sandbox (exec/vdso.c), made at
 * boot, mapped into each address space execve builds. */
int vdso_init(struct k_kernel *k);
void vdso_teardown(struct k_kernel *k);
int64_t vdso_map(struct k_mm *mm);

/* Interval timers (time/itimer.c): due ones become signals; the
 * earliest ITIMER_REAL deadline (CLOCK_MONOTONIC ns, 0: none). */
void itimer_fire(struct k_kernel *k);
int64_t itimer_next(struct k_kernel *k);
/* POSIX timers: fired with the interval timers (cpu_armed: a CPU-clock
 * one is armed; next_mono: the earliest real-clock expiry), and deleted
 * at execve and exit. */
struct k_ptimer;
struct k_thread_group;
void ptimers_fire(struct k_task *t, bool *cpu_armed, int64_t *next_mono);
void ptimers_free(struct k_kernel *k, struct k_thread_group *tg);
/* A process's timers in a snapshot (cpu: its CPU time now). */
void ptimers_save(struct k_thread_group *tg, uint64_t cpu, struct snap_enc *e);
int ptimers_restore(struct k_kernel *k, struct k_thread_group *tg, struct snap_dec *d);

/* The memory limit (mm/limit.c). */
uint64_t mem_used(struct k_kernel *k);
bool mem_over_limit(struct k_kernel *k);
uint64_t mem_peak(struct k_kernel *k); /* the most mem_used has been */

/* ---- guest memory access: every guest pointer goes through these ---- */
int k_copy_in(struct k_task *t, void *dst, uint64_t src, size_t n);
int k_copy_out(struct k_task *t, uint64_t dst, const void *src, size_t n);
/* Copies a NUL-terminated string of at most max-1 bytes; returns its length,
 * -EFAULT, or -ENAMETOOLONG when no NUL is found within max bytes. */
long k_copy_string(struct k_task *t, char *dst, uint64_t src, size_t max);
/* Describes the guest range [addr, addr+len) as host iovecs over the memory
 * file, for at most maxiov pieces, stopping at the first byte that is not
 * accessible (write: needs PROT_WRITE).  Returns the bytes covered. */
size_t k_guest_iov(struct k_mm *mm, uint64_t addr, size_t len, bool write, struct iovec *iov,
		   int maxiov, int *niov);

/* ---- files ---- */
/* A file op's answer for "would block" on a blocking file: the caller
 * sleeps on k_file_events and tries again (never seen by the guest). */
#define K_EBLOCK 530
/* read/write for guest iovecs, with the sleeping and retrying above;
 * flags: K_RW_NONBLOCK (MSG_DONTWAIT), K_RW_NOSIGNAL (no SIGPIPE). */
struct k_file;
#define K_RW_NONBLOCK 1
#define K_RW_NOSIGNAL 2
long k_file_rw(struct k_task *t, struct k_file *f, const struct iovec *gv, int n, bool write,
	       int64_t *pos, int flags);
struct k_file_ops {
	/* Move data between the file and host iovecs over guest memory. */
	ssize_t (*read)(struct k_file *f, const struct iovec *iov, int n, int64_t *pos);
	ssize_t (*write)(struct k_file *f, const struct iovec *iov, int n, int64_t *pos);
	long (*ioctl)(struct k_task *t, struct k_file *f, unsigned cmd, uint64_t arg);
	int (*stat)(struct k_file *f, struct stat *st);
	int64_t (*seek)(struct k_file *f, int64_t off, int whence);
	/* Whether a read now would return 0 without taking any data: Linux
	 * answers 0 then even for a buffer it could not write. */
	bool (*at_eof)(struct k_file *f);
	/* Writes never look at the data (/dev/null): a bad buffer is fine. */
	bool discards;
	void (*release)(struct k_file *f);
	/* Anonymous files: /proc/PID/fd's "anon_inode:[NAME]", and extra
	 * fdinfo lines (returns their length). */
	const char *anon_name;
	int (*fdinfo)(struct k_file *f, char *buf, size_t size);
	/* Readiness now (POLLIN ...); none: Linux's default, always ready.
	 * poll_wake: when (CLOCK_MONOTONIC ns) it may change by itself; 0:
	 * not by itself. */
	short (*poll)(struct k_file *f);
	int64_t (*poll_wake)(struct k_file *f);
	/* Files whose contents cannot change under the sandbox (read-only
	 * gofer mounts): the whole file as one memory object (a new
	 * reference), which private mappings and execve share copy-on-write
	 * instead of copying; NULL where there is none. */
	struct k_mobj *(*page_cache)(struct k_file *f);
	/* Checkpoint (ckpt/): the kind a snapshot records (CKF_*; 0: cannot
	 * be saved yet) and what this description adds (its kind's restore
	 * function reads the same back). */
	uint32_t ckpt_kind;
	int (*save)(struct k_file *f, struct snap_enc *e, struct ckpt_ctx *c);
};

struct k_file {
	int refs;
	const struct k_file_ops *ops;
	int flags; /* O_ACCMODE | O_APPEND | O_NONBLOCK ... */
	int64_t pos;
	int host_fd; /* host-backed files: the sentry's own descriptor */
	uint64_t ino; /* the inode number the guest sees for anonymous files */
	int owner, sig;         /* F_SETOWN, F_SETSIG */
	struct k_path path;     /* files opened by name: where */
	struct k_inode *inode;  /* and what */
	void *priv;
	void *epitems;          /* epoll entries watching it (fs/eventpoll.c) */
};

struct k_file *file_new(const struct k_file_ops *ops, int flags);
/* Helpers for files of the sentry's own (fs/file.c): the bytes iovecs
 * hold; copying a small value to or from them; fstat and lseek of an
 * anonymous file (mode 0600, no type; Linux's noop_llseek). */
size_t iov_total(const struct iovec *iov, int n);
void iov_copy(const struct iovec *iov, int n, void *val, size_t len, bool to_iov);
int anon_stat(struct k_file *f, struct stat *st);
int64_t anon_seek(struct k_file *f, int64_t off, int whence);
/* A file's readiness for poll and epoll (fs/select.c); a host-backed
 * file adds its descriptor to host[] (at most maxhost) to sleep on. */
short k_file_ready(struct k_file *f, short events, struct pollfd *host, int *nhost, int maxhost);
/* The file's description is going: its epoll entries go with it. */
void epoll_file_gone(struct k_file *f);
struct k_file *file_get(struct k_file *f);
void file_put(struct k_file *f);
/* A file backed by a host descriptor the sentry owns (husk's stdio). */
struct k_file *hostfile_new(int host_fd, int flags);
/* Which of husk's stdio (0-2) such a file stands for (-1: none known):
 * what a restored sandbox binds it to. */
void hostfile_set_stdio(struct k_file *f, int which);
int hostfile_stdio(const struct k_file *f);
/* Kinds of file descriptions a snapshot holds, and their restore. */
enum {
	CKF_STDIO = 1, CKF_INET, CKF_EVENTFD, CKF_PIPE, CKF_EPOLL, CKF_PATH, CKF_TIMERFD, CKF_UNIX,
	CKF_SIGNALFD,
};
typedef int (*ckpt_restore_fn)(struct k_kernel *k, struct snap_dec *d, int flags,
			       struct ckpt_ctx *c, struct k_file **out);
int hostfile_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		     struct k_file **out);
int inet_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		 struct k_file **out);
int eventfd_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		    struct k_file **out);
int pipe_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		 struct k_file **out);
int epoll_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		  struct k_file **out);
int timerfd_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		    struct k_file **out);
int unix_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		 struct k_file **out);
int signalfd_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		     struct k_file **out);
/* An epoll's interest list comes after every file (ckpt/): its entries. */
struct k_epoll_entry {
	struct k_file *file;
	int fd;
	uint32_t events;
	uint64_t data;
};
int epoll_entries(struct k_file *ep, struct k_epoll_entry *out, int max);
int epoll_restore_entry(struct k_kernel *k, struct k_file *ep, const struct k_epoll_entry *e);
bool file_is_epoll(const struct k_file *f);
/* Objects several files share (a pipe), for their save and restore: an
 * id (fresh: first seen, the file saving it writes its state), and the
 * object a restore made for an id, of a kind (CKF_*: NULL when not yet, or
 * when the id is another kind's, as a hostile snapshot may say). */
uint32_t ckpt_shared_id(struct ckpt_ctx *c, const void *obj, bool *fresh);
void *ckpt_shared_get(struct ckpt_ctx *c, uint32_t id, int kind);
bool ckpt_shared_known(struct ckpt_ctx *c, uint32_t id);
int ckpt_shared_set(struct ckpt_ctx *c, uint32_t id, int kind, void *obj);
/* A file's save refusing: what it cannot carry yet (static text). */
int ckpt_unsaved(struct ckpt_ctx *c, const char *what);
/* A restore's boot task: what a file's restore resolves paths with. */
struct k_task *ckpt_boot_task(struct ckpt_ctx *c);
/* Reads or writes a file at off from the sentry's own buffer. */
ssize_t k_file_pread(struct k_file *f, void *buf, size_t n, int64_t off);
ssize_t k_file_pwrite(struct k_file *f, const void *buf, size_t n, int64_t off);
/* Opens the inode at path as a new file description (no fd yet). */
int vfs_open_path(struct k_task *t, const struct k_path *p, int flags, struct k_file **out);
struct k_mount *mount_at(struct k_kernel *k, struct k_mount *mnt, struct k_dentry *d);
/* openat2 with all its arguments; the other open calls come through it. */
long vfs_openat(struct k_task *t, int dirfd, uint64_t upath, uint64_t flags, uint32_t mode,
		uint64_t resolve);
/* An unnamed regular file in dir (O_TMPFILE). */
int vfs_tmpfile(struct k_task *t, const struct k_path *dir, uint32_t mode, bool linkable,
		struct k_path *out);
/* The file ops of directories, and fstat of a file of the VFS. */
extern const struct k_file_ops vfs_dir_ops;
int vfs_file_stat(struct k_file *f, struct stat *st);
/* lseek on a directory: the getdents cookie. */
int64_t vfs_dir_seek(struct k_file *f, int64_t off, int whence);
/* Frees every cached dentry nobody uses (at teardown). */
void dcache_clear(void);

/* Filesystems. */
#define TMPFS_MAGIC 0x01021994
int tmpfs_new(struct k_kernel *k, uint32_t root_mode, struct k_super **sb, struct k_inode **root);
/* /proc and /sys (fs/pseudofs.c, the engine; fs/procfs.c, fs/procfs_pid.c,
 * fs/sysfs.c).  procfs_new: t is the task
 * /proc/self names (the sandbox's first; its thread group's pid dirs are
 * generated from the task list).  Mount them nosuid,nodev,noexec. */
#define PROC_SUPER_MAGIC 0x9fa0
#define SYSFS_MAGIC 0x62656572
int procfs_new(struct k_task *t, struct k_super **sb, struct k_inode **root);
int sysfs_new(struct k_kernel *k, struct k_super **sb, struct k_inode **root);
/* /proc's magic links (PID/exe, cwd, root, fd/N): sets *path (a new
 * reference) to what ino stands for, or for an fd with no path (stdio,
 * pipes) *file (a new reference) instead; -EINVAL when ino is no magic
 * link (plain symlinks such as /proc/self included), -ENOENT when its
 * target is gone.  For the walker: follow these without readlink, and
 * refuse them (ELOOP) under LOOKUP_NO_MAGICLINKS. */
int procfs_get_link(struct k_inode *ino, struct k_path *path, struct k_file **file);
/* Opening such a file through its link (open("/dev/stdout")): a new file
 * description of it with the open's flags (O_ACCMODE, O_APPEND,
 * O_NONBLOCK); -ENXIO for files that cannot be reopened yet. */
int procfs_reopen(struct k_file *f, int flags, struct k_file **out);
/* Whether the cached dentry name in dir (inode cached, NULL for a negative
 * one) of /proc or /sys still stands: processes and fds come and go.  True
 * for inodes of other filesystems. */
bool procfs_revalidate(struct k_inode *dir, const char *name, struct k_inode *cached);
/* File locks (fs/locks.c). */
long file_lock(struct k_task *t, struct k_file *f, int cmd, uint64_t uarg);
void locks_close(struct k_task *t, struct k_file *f);
void locks_release(struct k_file *f);
void locks_free(struct k_inode *ino);
/* Pipes and FIFOs (fs/pipe.c). */
int fifo_open(struct k_inode *ino, struct k_file *f);
void pipe_free(void *pipe);
bool file_is_pipe(const struct k_file *f);
long pipe_size(struct k_file *f, int cmd, uint64_t arg);
/* F_ADD_SEALS / F_GET_SEALS on a file. */
long file_seals(struct k_task *t, struct k_file *f, int cmd, unsigned arg);
/* An in-memory writable layer over lower_root (the overlaid root). */
int overlay_new(struct k_kernel *k, struct k_inode *lower_root, struct k_super **sb,
		struct k_inode **root);
/* The memory object holding byte off of a tmpfs regular file (allocated
 * if missing), and the size of such chunks. */
struct k_mobj *tmpfs_chunk(struct k_inode *ino, uint64_t off, uint64_t *chunk_size);
/* The same without allocating: NULL for a hole. */
struct k_mobj *tmpfs_chunk_peek(struct k_inode *ino, uint64_t off, uint64_t *chunk_size);
bool tmpfs_inode_is(const struct k_inode *ino);
/* A tree as a checkpoint sees it, and rebuilt by a restore (ckpt/fs.c):
 * a directory's entries (name, inode, getdents cookie) in order, the
 * cookie its next entry gets, a file's chunks (NULL: a hole), a symlink's
 * target; inodes made without a name (a name added links them: links
 * and directories' counts as they were). */
typedef int (*tmpfs_entry_fn)(void *arg, const char *name, struct k_inode *ino, int64_t serial);
int tmpfs_each_entry(struct k_inode *dir, tmpfs_entry_fn fn, void *arg);
int64_t tmpfs_dir_serial(struct k_inode *dir);
size_t tmpfs_file_chunks(struct k_inode *ino, struct k_mobj *const **chunks);
const char *tmpfs_link_target(struct k_inode *ino);
struct k_inode *tmpfs_inode_restore(struct k_kernel *k, struct k_super *sb, uint32_t mode,
				    const char *target);
int tmpfs_entry_restore(struct k_inode *dir, const char *name, struct k_inode *ino,
			int64_t serial);
int tmpfs_dir_set_serial(struct k_inode *dir, int64_t next); /* (raises only) */
int tmpfs_file_restore(struct k_inode *ino, struct k_mobj **chunks, size_t n, uint64_t size);
/* An overlay's upper layer (a tmpfs directory), from its root. */
struct k_inode *overlay_upper_root(struct k_inode *root);
/* /dev: a tmpfs with the device nodes, links and directories of a sandbox. */
int devfs_new(struct k_kernel *k, struct k_super **sb, struct k_inode **root);
/* A bind mount served by the gofer. */
struct gf_client;
struct ns_stack;
int goferfs_new(struct k_kernel *k, struct gf_client *c, const char *mount_path, bool readonly,
		struct k_super **sb, struct k_inode **root);
/* Whether ino is a file of a read-only gofer mount (it cannot change). */
bool goferfs_readonly(const struct k_inode *ino);
/* Opens the character device rdev (its node may live on any filesystem). */
int chrdev_open(uint64_t rdev, struct k_file *f);

struct k_fdent {
	struct k_file *f;
	bool cloexec;
};

struct k_fdtable {
	int refs;
	struct k_fdent *v;
	int n;
};

struct k_fdtable *fdt_new(void);
void fdt_put(struct k_fdtable *fdt);
/* A copy for a new process: the same open files, one more reference each. */
struct k_fdtable *fdt_dup(const struct k_fdtable *fdt);
/* Installs f at the lowest free fd >= min; takes a reference. */
int fdt_install(struct k_task *t, struct k_file *f, int min, bool cloexec);
/* Puts f at exactly fd, closing what was there; -EBADF past RLIMIT_NOFILE. */
int fdt_install_at(struct k_task *t, struct k_file *f, int fd, bool cloexec);
/* The file at fd with a new reference, or NULL (also for O_PATH ones). */
struct k_file *fdt_get(struct k_task *t, int fd);
/* The same, O_PATH descriptors included (Linux's fdget_raw). */
struct k_file *fdt_get_raw(struct k_task *t, int fd);
int fdt_close(struct k_task *t, int fd);
/* Puts f at fd of fdt (a restore's: no limit but memory). */
int fdt_set(struct k_fdtable *fdt, int fd, struct k_file *f, bool cloexec);

/* ---- signals ---- */
struct k_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

#define SIGBIT(s) (1ULL << ((s) - 1))

/* A real-time signal sent while one of its number is pending waits in a
 * queue behind it (standard signals merge instead). */
struct k_sigq {
	struct k_sigq *next;
	siginfo_t info;
};
/* Drops every queued signal of a list (sig 0: all of them). */
void sigq_drop(struct k_kernel *k, struct k_sigq **q, int sig);

/* ---- waiting (task/scheduler.c) ---- */
struct k_waiter {
	struct k_waiter *next, *prev;
	struct k_task *t;
};

/* Tasks waiting for something; waking them makes them runnable, and each
 * looks again at what it waits for. */
struct k_waitq {
	struct k_waiter *head;
};

void waitq_wake_all(struct k_waitq *q);

/* What a sleeping task waits for: any of nq queues, a host descriptor, an
 * absolute deadline on clock.  Signals end the sleep unless nointr. */
struct k_sleep {
	struct k_waitq **qs;
	int nq;
	clockid_t clock;
	const struct timespec *deadline;
	struct pollfd *fds;
	int nfds;
	bool nointr;
};

/* Sleeps the calling task: 0 when woken (or a descriptor is ready),
 * -EINTR when a signal is pending for it (or it must exit), -ETIMEDOUT at
 * the deadline.  Callers look again at their condition and loop. */
int k_sleep(struct k_task *t, const struct k_sleep *s);
/* Makes a sleeping task runnable (its sleep returns 0). */
void k_task_wake(struct k_task *t);
/* A signal or a kill for t: ends an interruptible sleep, or stops the
 * guest code it runs so that it sees the signal. */
void k_task_kick(struct k_task *t);
/* Whether t has a signal to take, or must exit. */
bool task_interrupted(struct k_task *t);
/* The task the sentry is running now (NULL outside any task). */
struct k_task *k_current(void);

/* Fibers (task/fiber.c): each task's sentry stack. */
struct k_fiber;
int fiber_new(void (*fn)(void *), void *arg, struct k_fiber **out);
void fiber_free(struct k_fiber *f);
/* Runs f until it yields or ends; true when it ended. */
bool fiber_switch(struct k_fiber *f);
void fiber_yield(void);
bool fiber_active(void);

/* ---- tasks ---- */
/* An interval timer: ITIMER_REAL's value is a CLOCK_MONOTONIC deadline,
 * the CPU timers' the CPU time left; 0 when disarmed. */
struct k_itimer {
	int64_t value, interval;
};

/* Wait statuses as wait4 reports them. */
#define K_WEXITED(code) (((code) & 0xff) << 8)
#define K_WKILLED(sig) ((sig) & 0x7f)
#define K_WCORE 0x80

struct k_thread_group {
	int pid, pgid, sid;
	int nthreads;                /* live threads */
	struct k_task *threads;      /* linked by tg_next */
	struct k_thread_group *parent; /* NULL for the sandbox's init */
	struct k_thread_group *children, *sibling;
	int exit_signal;             /* sent to the parent at exit (clone's CSIGNAL) */
	struct k_sigaction act[K_NSIG + 1];
	uint64_t pending;            /* signals for the whole group */
	siginfo_t siginfo[K_NSIG + 1];
	struct k_sigq *rtq;        /* real-time signals queued behind the pending ones */
	struct rlimit rlim[RLIM_NLIMITS];
	uint32_t uid, euid, suid, fsuid, gid, egid, sgid, fsgid;
	uint32_t *groups; /* supplementary groups */
	int ngroups;
	uint64_t cap_effective, cap_permitted, cap_inheritable;
	int dumpable;
	struct k_itimer itimer[3]; /* ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF */
	struct k_ptimer *ptimers;  /* POSIX timers (time/posix_timers.c) */
	struct sem_undo *sem_undo; /* SEM_UNDO adjustments (ipc/sem.c) */
	int next_timer_id;
	uint64_t ptimer_cpu_sampled;
	int sched_policy, sched_priority, nice; /* kept, not applied on the host */
	uint64_t cpu_sampled;      /* guest CPU time when the CPU timers last ran */
	uint64_t cpu_base;         /* CPU time of address spaces left by execve */
	uint64_t cpu_children;     /* of reaped children, for RUSAGE_CHILDREN */
	bool exiting;              /* every thread is to leave */
	bool zombie;               /* all threads gone, not yet reaped */
	struct k_kernel *k;        /* set once a zombie: its count to keep */
	bool execed;               /* has called execve since fork (setpgid's EACCES) */
	int exit_code;             /* wait status */
	int exit_status;           /* as a shell reports it: code, or 128+signal */
	/* Job control: a group stop, and what wait4 has yet to report. */
	bool stopped;
	int stop_sig;
	bool report_stop, report_cont;
	struct k_waitq child_wait; /* its threads in wait4 */
	struct k_waitq stop_wait;  /* its threads held by a group stop */
	struct k_task *execing;    /* a thread in execve, waiting for the rest to go */
	struct k_waitq exec_wait;
};

enum k_task_state { TASK_RUNNABLE, TASK_GUEST, TASK_SLEEPING, TASK_DEAD };

struct k_task {
	struct k_kernel *k;
	struct k_thread_group *tg;
	struct k_mm *mm;
	struct k_fdtable *fdt;
	struct k_fs_ctx *fs;
	struct pf_ctx *ctx;
	int tid;
	pf_regs regs;
	uint64_t sigmask;
	uint64_t saved_sigmask; /* rt_sigsuspend's caller's, until delivery */
	bool has_saved_sigmask;
	uint64_t pending;
	uint64_t clear_child_tid;
	uint64_t robust_list, robust_len;
	uint64_t sas_sp, sas_size;
	int sas_flags;
	char comm[16];
	siginfo_t siginfo[K_NSIG + 1]; /* of each pending signal */
	struct k_sigq *rtq;            /* real-time signals queued behind those */
	uint64_t fault_err;            /* page fault error code, for sigcontext */
	uint64_t last_fault;           /* a fault retried as stale (addr | 1) */
	bool in_syscall;               /* regs.rax holds this syscall's result */
	uint64_t syscall_nr;           /* the syscall being handled */
	uint64_t restart_nr;           /* what ERESTART_RESTARTBLOCK restarts */
	clockid_t restart_clock;       /* an interrupted sleep, to resume */
	struct timespec restart_deadline;
	uint64_t restart_rem;
	/* Set by a call other than a sleep that asked for restart_syscall:
	 * what resumes it, and its arguments. */
	long (*restart_fn)(struct k_task *t);
	uint64_t restart_args[3];
	int pdeathsig;
	int keepcaps;
	bool no_new_privs;
	/* Scheduling (task/scheduler.c). */
	enum k_task_state state;
	struct k_fiber *fiber;
	struct k_task *rq_next;        /* in the run queue */
	struct k_task *next, *prev;    /* every task of the kernel */
	struct k_task *tg_next;        /* the threads of its group */
	int guest_status;              /* the host wait status of its last stop */
	bool sleep_nointr;
	int sleep_result;
	int64_t sleep_until;           /* CLOCK_MONOTONIC ns; 0: no deadline */
	int64_t guest_since;           /* resumed beside others (not alone) at; 0: alone, or told */
	uint32_t long_sleeps;          /* times it slept in the sentry for LONG_SLEEP_NS or more */
	uint32_t quick;                /* its stops since the last of those (up to HOT_STOPS) */
	struct pollfd *sleep_fds;
	int sleep_nfds;
	bool exiting;                  /* this thread is to leave */
	int exit_code;                 /* exit(2)'s status for a lone thread */
	/* vfork: the parent sleeps until its child execs or exits. */
	struct k_task *vfork_parent, *vfork_child;
	bool frozen; /* parked for a checkpoint (ckpt/freeze.c) */
};

/* Kills the thread group as wait status wstatus says (K_WEXITED(code),
 * K_WKILLED(sig)): every thread leaves. */
void task_exit_group(struct k_task *t, int wstatus);
/* A synchronous fault for the task: it cannot be blocked or ignored. */
void task_signal(struct k_task *t, int sig, int code, uint64_t addr);
/* Sends sig to the task's thread group with si_code code (SI_USER...),
 * as kill would from the kernel. */
void task_send(struct k_task *t, int sig, int code);
/* Sends sig (with info, or a kill-style one from sender) to a thread
 * group, or to one thread; 0 or -errno after permission checks are done. */
int sig_send_group(struct k_thread_group *tg, int sig, const siginfo_t *info);
int sig_send_thread(struct k_task *t, int sig, const siginfo_t *info);
/* A signal husk itself received, for the guest (its init). */
void k_signal_host(struct k_kernel *k, int sig);
/* Runs before the task returns to the guest: the default action of a
 * pending signal, or a handler's frame; and syscall restarts. */
void signal_deliver(struct k_task *t);
/* Takes a pending signal of mask for t (thread's first), or returns 0. */
int signal_dequeue(struct k_task *t, uint64_t mask, siginfo_t *si);
/* The signals t may take now. */
uint64_t task_ready_signals(const struct k_task *t);
/* Whether sig would be thrown away by tg (ignored, and not blocked). */
bool sig_ignored(const struct k_thread_group *tg, int sig);
/* A thread group's exit, told to its parent: SIGCHLD and wait4. */
void tg_notify_parent(struct k_thread_group *tg, int why, int status);
/* The tasks and thread groups of the sandbox by id (NULL: none). */
struct k_task *task_by_tid(struct k_kernel *k, int tid);
struct k_thread_group *tg_by_pid(struct k_kernel *k, int pid);
int tg_ppid(const struct k_thread_group *tg);
/* Capability sets (task/capability.c): at boot, across execve, and as
 * set*uid changes the ids (keep: PR_SET_KEEPCAPS). */
void caps_init(struct k_thread_group *tg);
void caps_exec(struct k_thread_group *tg);
void caps_setuid(struct k_thread_group *tg, uint32_t old_r, uint32_t old_e, uint32_t old_s,
		 bool keep);
/* The guest CPU time of a thread group's current address space and of the
 * ones execve left. */
uint64_t tg_cputime(struct k_task *t);
/* Task lifetime (task/exit.c, task/fork.c, task/scheduler.c). */
void task_exit(struct k_task *t);      /* the calling thread leaves (its fiber ends) */
void task_free(struct k_task *t);      /* after its fiber ended */
void k_task_start(struct k_task *t);   /* queues a new task to run */
void k_kill_all(struct k_kernel *k);
int k_alloc_pid(struct k_kernel *k);
void k_task_link(struct k_task *t);    /* into the kernel's task list */
void tg_release(struct k_thread_group *tg); /* a reaped or never-used group */
void vfork_release(struct k_task *child); /* lets a vfork parent go on */
/* System V IPC at the sandbox's end (ipc/shm.c, ipc/sem.c), and a
 * process's SEM_UNDO adjustments at its exit. */
void shm_teardown(struct k_kernel *k);
void sem_teardown(void);
/* How many SysV segments and semaphore sets exist (snapshots refuse them). */
int shm_count(void);
int sem_count(void);
struct sem_undo;
void sem_exit(struct k_thread_group *tg);
/* Runs every task until none is left; ignored: host signals not forwarded. */
void k_schedule(struct k_kernel *k, uint64_t ignored);
uint64_t k_ignored_at_start(void);
/* Wakes up to n waiters of the futex word at addr in t's address space. */
int futex_wake_addr(struct k_task *t, uint64_t addr, int n);

/* ---- System V IPC (ipc/) ---- */
/* An IPC object's key, owner and mode, as struct ipc_perm keeps them. */
struct k_ipc_perm {
	int32_t key;
	uint32_t uid, gid, cuid, cgid;
	uint16_t mode, seq;
};

/* The kernel's struct ipc64_perm on x86-64, as IPC_STAT writes it. */
struct k_ipc64_perm {
	int32_t key;
	uint32_t uid, gid, cuid, cgid;
	uint16_t mode, pad1;
	uint16_t seq, pad2;
	uint64_t unused1, unused2;
};

/* ipcperms: the owner, group or other bits of the mode must grant want
 * (4 read, 2 write, 1 execute); euid 0 may do anything.  ipc_owner: may
 * change or remove it (IPC_SET, IPC_RMID). */
bool ipc_allowed(struct k_task *t, const struct k_ipc_perm *p, int want);
bool ipc_owner(struct k_task *t, const struct k_ipc_perm *p);
void ipc_perm64(const struct k_ipc_perm *p, struct k_ipc64_perm *out);
/* A new object's perm: key, the caller's ids, the mode bits of flags. */
void ipc_perm_init(struct k_task *t, struct k_ipc_perm *p, int32_t key, int flags, uint16_t seq);

/* ---- the kernel ---- */
/* Tasks a sandbox may have at once unless configured: a fork bomb stops
 * here with EAGAIN. */
#define K_DEFAULT_MAX_TASKS 1024

struct k_kernel {
	struct k_config cfg;
	struct k_memfile mem;
	struct k_mobj *vvar, *vdso; /* the time page and the vDSO (exec/vdso.c) */
	uint64_t boot_ns; /* the guest's CLOCK_MONOTONIC at its boot (a restore's: the snapshot's) */
	int last_pid;
	uint64_t nsigq;           /* real-time signals queued, for RLIMIT_SIGPENDING */
	/* Sandbox-wide counts of what a guest can make many of, each with a
	 * cap, so that no mix of processes grows the sentry's heap without end. */
	int epoll_watches, ptimers;
	int ntasks, max_tasks;    /* live tasks, and how many may be */
	int nzombies;             /* thread groups waiting to be reaped */
	struct k_task *tasks;     /* every task, newest first */
	struct k_thread_group *init; /* pid 1 */
	struct k_task *rq_head, *rq_tail; /* runnable tasks */
	int nguest;               /* tasks running guest code (TASK_GUEST) */
	int64_t shared_until;     /* guest threads took turns lately: till then, none is alone */
	struct k_task *dead;      /* tasks whose fiber ended, to free */
	uint64_t enosys_seen[8]; /* bitmap over syscall numbers, logged once */
	uint64_t enosys_count;
	struct k_mount *mounts;  /* newest first */
	struct gf_client *gofer; /* NULL without one */
	struct ns_stack *net;    /* the guest's TCP/IP stack (at boot with a link, else at
				  * the first socket) */
	int net_if;              /* its link's interface index, 0: none */
	int net_fd;              /* the link (from cfg), -1 once its peer is gone */
	struct k_mount *memfd_mnt; /* where memfd files live */
	uint64_t mem_peak;       /* highest guest memory seen (mm/limit.c) */
	int64_t next_tick;       /* when the scheduler next checks limits and CPU timers */
	int64_t next_mem_check;  /* when a guest stop next looks at the memory used */
	bool cpu_timers;         /* some group has a CPU interval timer armed */
	int64_t ptimer_next;     /* the earliest real-clock POSIX timer expiry */
	/* Checkpoint (ckpt/): a request's connection, its file, and the
	 * freeze it started. */
	int ctl_conn, ckpt_fd;
	bool freezing, ckpt_leave, ckpt_compress;
	int nfrozen;             /* tasks parked at a syscall boundary */
	int hot_fd;              /* a restore records its first writes here (-1: not) */
	size_t nhot;
	int64_t hot_until;
	int64_t freeze_started;
	struct k_waitq thaw_wait;
	uint32_t cpumask_bytes;  /* what sched_getaffinity returns */
	uint32_t nr_cpu_ids;
	unsigned char cpumask[128];
};

/* Time arithmetic for guest-given values (non-negative, nsec < 1e9):
 * saturating, as Linux's ktime is, instead of overflowing. */
static inline struct timespec k_ts_add(struct timespec a, struct timespec b)
{
	struct timespec r;
	r.tv_nsec = a.tv_nsec + b.tv_nsec;
	if (__builtin_add_overflow(a.tv_sec, b.tv_sec, &r.tv_sec) ||
	    (r.tv_nsec >= 1000000000 && r.tv_sec == INT64_MAX))
		return (struct timespec){INT64_MAX, 0};
	if (r.tv_nsec >= 1000000000)
		r.tv_sec++, r.tv_nsec -= 1000000000;
	return r;
}

static inline int64_t k_ns(int64_t sec, int64_t nsec)
{
	int64_t r;
	if (__builtin_mul_overflow(sec, 1000000000, &r) || __builtin_add_overflow(r, nsec, &r))
		return INT64_MAX;
	return r;
}

static inline int64_t k_ns_add(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

/* Sleeps of the calling task with nothing to wake them but a signal, a
 * deadline on clock (NULL: none) or, for k_wait_host, one of n host
 * descriptors: k_sleep's results. */
int k_wait_host_signal(clockid_t clock, const struct timespec *deadline);
int k_wait_host(clockid_t clock, const struct timespec *deadline, struct pollfd *fds, int n);
/* Every task that sleeps on a file's readiness (poll, select, a blocking
 * read) sleeps on this queue; anything that changes readiness wakes it. */
extern struct k_waitq k_file_events;
extern uint64_t k_file_seq; /* how many changes so far */
void k_file_notify(void);
/* The network stack's timers (net/inet.c): runs those due, and lowers
 * *wake (0: none) to its next one. */
void k_net_tick(struct k_kernel *k, int64_t now, int64_t *wake);
/* The sandbox's netstack (made with lo if it has none yet), its clock set. */
struct ns_stack *k_net_stack(struct k_kernel *k);
/* Packets waiting on the sandbox's link (cfg.net_fd) into the stack. */
void k_net_rx(struct k_kernel *k);
/* The stack and its link, at boot when the sandbox has one. */
int k_net_init(struct k_kernel *k);
void k_net_free(struct k_kernel *k);
/* The sandbox's AF_UNIX sockets, for /proc/net/unix: up to max in out;
 * how many there are. */
struct k_unix_info {
	int type, state; /* SOCK_*; Linux's SS_UNCONNECTED 1, CONNECTING 2, CONNECTED 3 */
	bool listening;
	unsigned long ino; /* 0: not accepted yet */
	int path_len;      /* bytes of path: an abstract name's start with 0; 0: unnamed */
	char path[108];
};
int k_unix_list(struct k_unix_info *out, int max);
void k_log(struct k_kernel *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t k_random_u64(void);

/* ---- checkpoint and restore (ckpt/) ---- */
struct snap_write_stats;
/* The control socket's descriptors for the scheduler's poll (at most
 * two), and what came on them. */
void ckpt_poll_fds(struct k_kernel *k, struct pollfd *fds, int *n);
void ckpt_poll_done(struct k_kernel *k, const struct pollfd *fds, int n);
/* In the scheduler's loop: once every task is parked, saves the sandbox
 * and answers (or gives up past a timeout). */
void ckpt_step(struct k_kernel *k);
/* A pre-started sandbox waits on its control socket for the snapshot it
 * becomes: {"op": "restore", "path": ABSOLUTE} with the file's descriptor
 * (path names where its image goes); answered once restored. */
int ckpt_wait_restore(struct k_kernel *k, int *snap_fd, char *path, size_t size);
void ckpt_answer_restore(struct k_kernel *k, int err, const char *why, double ms);
/* When a freeze in progress gives up (CLOCK_MONOTONIC ns; 0: none). */
int64_t ckpt_deadline(const struct k_kernel *k);
void ckpt_thaw(struct k_kernel *k);
/* A task's loop, before signals are delivered: a call the freeze
 * interrupted is set to run again; and where it parks. */
void ckpt_rewind(struct k_task *t);
void ckpt_park(struct k_task *t);
/* Makes a booted sandbox (t0, its boot task, which the caller drops
 * after) into the snapshot's: its objects and tasks, queued to run. */
struct snap_reader;
int ckpt_restore(struct k_task *t0, const struct snap_reader *r, int image_fd,
		 uint64_t image_size, char *why, size_t whylen);
/* The snapshot at path's memory image (built beside it if missing or
 * older): a read-only descriptor and its size, or -errno. */
int ckpt_image_open(const struct snap_reader *r, int snap_fd, const char *path, uint64_t *size);
/* The pages of image memory restores write first (ckpt/hot.c): read from
 * FILE.hot and copied from then on, on a helper thread, while the restore
 * goes on (NULL: none to copy); or, when there is no FILE.hot yet,
 * recorded into it from now on (ckpt_hot_note, at each copy). */
struct ckpt_hot;
struct ckpt_hot *ckpt_hot_open(struct k_kernel *k, const char *path, int image_fd,
			       uint64_t image_size);
void ckpt_hot_note(struct k_kernel *k, uint64_t off, uint64_t len);
/* A failed restore records nothing: the file it began goes. */
void ckpt_hot_abandon(struct k_kernel *k, const char *path);
/* Waits for the copies and, restored, puts them in the place of those
 * pages in every restored mapping of them; frees h. */
void ckpt_hot_apply(struct k_kernel *k, struct ckpt_hot *h, bool restored);
/* Writes the frozen sandbox into fd; *why says what failed. */
int ckpt_save(struct k_kernel *k, int fd, bool compress, struct snap_write_stats *st,
	      char *why, size_t whylen);

/* ---- syscalls ---- */
typedef long (*k_syscall_fn)(struct k_task *t, const uint64_t *a);

struct k_syscall {
	const char *name;
	k_syscall_fn fn;
	const char *args; /* strace decoding: one letter an argument (strace.c) */
	char ret;         /* strace: 'x' prints the result in hex */
};

const struct k_syscall *k_syscall_lookup(long nr);
long k_dispatch(struct k_task *t, long nr);

/* strace output: before and after a syscall. */
void strace_enter(struct k_task *t, long nr, const struct k_syscall *sc);
void strace_exit(struct k_task *t, long nr, const struct k_syscall *sc, long ret);
void strace_unknown(struct k_task *t, long nr);
/* The name of syscall nr, or NULL. */
const char *k_syscall_name(long nr);

/* A booted sandbox with one task and no program yet (k_run's first half;
 * the unit tests use it too), and its undoing. */
int k_boot(const struct k_config *cfg, struct k_task **out, const char **why);
void k_teardown(struct k_task *t);

/* The sandbox's mount tree and the first task's root and cwd. */
int k_vfs_init(struct k_task *t);
/* A task's root, cwd and umask: shared (CLONE_FS) or copied. */
struct k_fs_ctx *fs_ctx_dup(const struct k_fs_ctx *fs);
void fs_ctx_put(struct k_fs_ctx *fs);
void k_vfs_teardown(struct k_kernel *k); /* once every task is gone */
/* Creates or replaces a regular file in the sandbox (tests, runtimes). */
int k_write_file(struct k_task *t, const char *path, const void *data, size_t n, uint32_t mode);
/* A program name as execvp finds it: on the guest's PATH if it has no "/". */
int k_find_program(struct k_task *t, const char *name, char *const *envp, char *out, size_t size);

/* The sentry's own seccomp allowlist (confine.c); installed by k_run once
 * the sandbox is built. */
int k_seccomp_confine(void);
/* Compiles that filter ahead (k_seccomp_confine does if not yet). */
int k_seccomp_prepare(void);

/* ELF loading and the initial stack. */
int k_exec_load(struct k_task *t, const char *path, char *const *argv, char *const *envp,
		const char **why);

#define SYSCALL(name)                                                      \
	long sys_##name(struct k_task *t __attribute__((unused)),          \
			const uint64_t *a __attribute__((unused)))
#include "syscalls.h"

#endif
