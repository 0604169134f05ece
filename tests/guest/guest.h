/*
 * guest.h - shared helpers for the husk differential guest corpus.
 *
 * Every program in tests/guest/ is run twice, natively and under
 * `husk run --`, and its stdout and exit status must be byte-identical.
 * Programs therefore print only deterministic, normalised facts: errno
 * names, yes/no answers, checksums -- never pids, addresses, times,
 * random bytes, host names or kernel versions.
 *
 * Must build warning-free with glibc (-static, -static-pie) and with
 * musl-gcc -static, so no <linux/...> or <asm/...> headers: the few
 * kernel constants and structures needed are defined here.
 */
#ifndef HUSK_GUEST_H
#define HUSK_GUEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* ---- kernel constants that libc headers may not provide ------------- */

#ifndef ARCH_SET_GS
#define ARCH_SET_GS 0x1001
#endif
#ifndef ARCH_SET_FS
#define ARCH_SET_FS 0x1002
#endif
#ifndef ARCH_GET_FS
#define ARCH_GET_FS 0x1003
#endif
#ifndef ARCH_GET_GS
#define ARCH_GET_GS 0x1004
#endif

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_DONTFORK
#define MADV_DONTFORK 10
#endif
#ifndef MADV_DOFORK
#define MADV_DOFORK 11
#endif

#ifndef GRND_NONBLOCK
#define GRND_NONBLOCK 0x0001
#endif
#ifndef GRND_RANDOM
#define GRND_RANDOM 0x0002
#endif
#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004
#endif

#ifndef CLOCK_MONOTONIC_RAW
#define CLOCK_MONOTONIC_RAW 4
#endif
#ifndef CLOCK_REALTIME_COARSE
#define CLOCK_REALTIME_COARSE 5
#endif
#ifndef CLOCK_MONOTONIC_COARSE
#define CLOCK_MONOTONIC_COARSE 6
#endif
#ifndef CLOCK_BOOTTIME
#define CLOCK_BOOTTIME 7
#endif
#ifndef TIMER_ABSTIME
#define TIMER_ABSTIME 1
#endif

#ifndef TCGETS
#define TCGETS 0x5401
#endif
#ifndef TIOCGWINSZ
#define TIOCGWINSZ 0x5413
#endif

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

/* Kernel's struct sigaction for rt_sigaction on x86-64 (not libc's). */
#define K_SA_RESTORER 0x04000000UL
#define K_SA_UNSUPPORTED 0x00000400UL
#define K_SA_EXPOSE_TAGBITS 0x00000800UL
#define K_SIGSETSIZE 8
struct k_sigaction {
	unsigned long handler;
	unsigned long flags;
	unsigned long restorer;
	unsigned long mask;
};
#define K_SIG_DFL 0UL
#define K_SIG_IGN 1UL
#define K_SIGBIT(s) (1UL << ((s) - 1))

/* Kernel's struct rlimit64 for prlimit64. */
struct k_rlimit64 {
	uint64_t cur;
	uint64_t max;
};
#define K_RLIM_INFINITY (~0ULL)

/* Pointers that are never valid user memory. */
#define BAD_LOW ((void *)8UL)                      /* below mmap_min_addr */
#define BAD_NONCANON ((void *)0x8000000000000000UL) /* non-canonical */

#define PAGE 4096UL

/* ---- output helpers -------------------------------------------------- */

/* Call first thing in main(): stdout is a file, make it unbuffered so a
 * program that dies by a signal has still printed everything. */
#define GUEST_INIT() setvbuf(stdout, NULL, _IONBF, 0)

static inline const char *errname(int e)
{
	static char buf[32];
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case ENOEXEC: return "ENOEXEC";
	case EBADF: return "EBADF";
	case ECHILD: return "ECHILD";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EXDEV: return "EXDEV";
	case ENODEV: return "ENODEV";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case ENFILE: return "ENFILE";
	case EMFILE: return "EMFILE";
	case ENOTTY: return "ENOTTY";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case EROFS: return "EROFS";
	case EPIPE: return "EPIPE";
	case EDOM: return "EDOM";
	case ERANGE: return "ERANGE";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOSYS: return "ENOSYS";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ELOOP: return "ELOOP";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ETIMEDOUT: return "ETIMEDOUT";
	default:
		snprintf(buf, sizeof buf, "errno%d", e);
		return buf;
	}
}

/*
 * CHECK(label, expr): evaluate expr (a syscall returning long), print
 *   "label: ret=R errno=NAME"   on failure (ret == -1), or
 *   "label: ret=R errno=-"      on success.
 * Use only where the success value is deterministic (0, a length, ...).
 */
#define CHECK(label, expr)                                                 \
	do {                                                               \
		errno = 0;                                                 \
		long r_ = (long)(expr);                                    \
		int e_ = errno;                                            \
		printf("%s: ret=%ld errno=%s\n", (label), r_,              \
		       r_ == -1 ? errname(e_) : "-");                      \
	} while (0)

/*
 * CHECK_OK(label, expr): for calls whose success value is not
 * deterministic (addresses, tids, byte counts from the host): prints
 * "label: ok" or "label: ret=-1 errno=NAME".
 */
#define CHECK_OK(label, expr)                                              \
	do {                                                               \
		errno = 0;                                                 \
		long r_ = (long)(expr);                                    \
		int e_ = errno;                                            \
		if (r_ == -1)                                              \
			printf("%s: ret=-1 errno=%s\n", (label), errname(e_)); \
		else                                                       \
			printf("%s: ok\n", (label));                       \
	} while (0)

/* EXPECT(label, cond): print "label: yes" or "label: no". */
#define EXPECT(label, cond) printf("%s: %s\n", (label), (cond) ? "yes" : "no")

/* Abort the test with a fixed, recognisable status. */
static inline void die(const char *what)
{
	printf("FATAL: %s (errno=%s)\n", what, errname(errno));
	exit(99);
}

/* ---- memory helpers (raw syscalls, never libc malloc) ---------------- */

static inline void *raw_mmap(void *addr, unsigned long len, long prot,
			     long flags, long fd, long off)
{
	long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	return r == -1 ? MAP_FAILED : (void *)r;
}

/* Anonymous private read/write mapping of n pages, or die. */
static inline unsigned char *map_pages(unsigned long n, long prot)
{
	void *p = raw_mmap(NULL, n * PAGE, prot,
			   (long)(MAP_PRIVATE | MAP_ANONYMOUS), -1L, 0L);
	if (p == MAP_FAILED)
		die("mmap setup");
	return p;
}

/* Is [p, p+len) entirely unmapped?  Probes with MAP_FIXED_NOREPLACE,
 * which fails with EEXIST if any page of the range is mapped. */
static inline int range_unmapped(void *p, unsigned long len)
{
	void *r = raw_mmap(p, len, (long)PROT_NONE,
			   (long)(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE),
			   -1L, 0L);
	if (r == MAP_FAILED)
		return 0;
	if (r != p) { /* kernel < 4.17 would treat it as a hint */
		syscall(SYS_munmap, r, len);
		return 0;
	}
	syscall(SYS_munmap, r, len);
	return 1;
}

/* Is the user memory at p writable by the kernel?  getrandom() into it:
 * EFAULT if not.  Clobbers 8 bytes at p. */
static inline int kernel_can_write(void *p)
{
	return syscall(SYS_getrandom, p, 8UL, 0L) == 8;
}

/* Is the user memory at p readable by the kernel?  writev(2, p, 1)
 * reads one struct iovec from p; the memory must be zero-filled so the
 * iovec is {NULL, 0} and nothing reaches stderr.  EFAULT if not. */
static inline int kernel_can_read_zeroed(void *p)
{
	return syscall(SYS_writev, 2L, p, 1L) == 0;
}

/* Simple deterministic checksum (FNV-1a, 32-bit). */
static inline uint32_t fnv1a(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

/* Deterministic fill pattern. */
static inline void fill_pattern(unsigned char *p, size_t len, unsigned seed)
{
	uint32_t x = 0x9e3779b9u ^ seed;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)(x >> 16);
	}
}

/* Make sure a fatal signal never leaves a core file behind. */
static inline void no_core_dumps(void)
{
	struct k_rlimit64 rl = {0, 0};
	if (syscall(SYS_prlimit64, 0L, (long)RLIMIT_CORE, &rl, NULL) != 0)
		die("prlimit64(RLIMIT_CORE)");
}

/* Dummy restorer for raw rt_sigaction; never actually called since
 * the corpus never delivers a signal to a handler. */
static inline void dummy_restorer(void) {}
static inline void dummy_handler(int sig) { (void)sig; }

static inline long raw_sigaction(int sig, const struct k_sigaction *act,
				 struct k_sigaction *old)
{
	return syscall(SYS_rt_sigaction, (long)sig, act, old, (long)K_SIGSETSIZE);
}

static inline long raw_sigprocmask(int how, const unsigned long *set,
				   unsigned long *old)
{
	return syscall(SYS_rt_sigprocmask, (long)how, set, old, (long)K_SIGSETSIZE);
}

/* ---- filesystem tests (fs_*.c) -------------------------------------- */
/*
 * Constants and structures for the fs_* programs that musl 1.2.3's
 * headers lack (statx, openat2, renameat2, close_range, preadv2 flags),
 * and helpers to build and remove scratch trees with raw syscalls.
 * Scratch trees live under /tmp/husk-fs-NAME (a fresh tmpfs under husk,
 * the host's /tmp natively), are removed first in case a crashed native
 * run left one behind, and are removed again at the end.
 */
#include <fcntl.h>
#include <sys/stat.h>

#ifndef O_PATH
#define O_PATH 010000000
#endif
#ifndef O_TMPFILE
#define O_TMPFILE 020200000
#endif
#ifndef AT_SYMLINK_FOLLOW
#define AT_SYMLINK_FOLLOW 0x400
#endif
#ifndef AT_EACCESS
#define AT_EACCESS 0x200
#endif
#ifndef AT_REMOVEDIR
#define AT_REMOVEDIR 0x200
#endif
#ifndef AT_NO_AUTOMOUNT
#define AT_NO_AUTOMOUNT 0x800
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE 2
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT 4
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE 2
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC 4
#endif
#ifndef RWF_HIPRI
#define RWF_HIPRI 0x01
#endif
#ifndef RWF_DSYNC
#define RWF_DSYNC 0x02
#endif
#ifndef RWF_SYNC
#define RWF_SYNC 0x04
#endif
#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x08
#endif
#ifndef RWF_APPEND
#define RWF_APPEND 0x10
#endif
#ifndef SEEK_DATA
#define SEEK_DATA 3
#endif
#ifndef SEEK_HOLE
#define SEEK_HOLE 4
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36
#endif
#ifndef F_OFD_SETLK
#define F_OFD_SETLK 37
#endif
#ifndef F_DUPFD_CLOEXEC
#define F_DUPFD_CLOEXEC 1030
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#endif
#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#endif
#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL 0x0001
#endif
#ifndef F_SEAL_SHRINK
#define F_SEAL_SHRINK 0x0002
#endif
#ifndef F_SEAL_GROW
#define F_SEAL_GROW 0x0004
#endif
#ifndef F_SEAL_WRITE
#define F_SEAL_WRITE 0x0008
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef FIONREAD
#define FIONREAD 0x541B
#endif
#ifndef FIONBIO
#define FIONBIO 0x5421
#endif
#ifndef FIONCLEX
#define FIONCLEX 0x5450
#endif
#ifndef FIOCLEX
#define FIOCLEX 0x5451
#endif

/* Magic numbers of struct statfs's f_type. */
#define K_TMPFS_MAGIC 0x01021994L
#define K_PROC_SUPER_MAGIC 0x9fa0L
#define K_SYSFS_MAGIC 0x62656572L

/* statx(2): the kernel's struct, the mask bits and the sync flags. */
struct k_statx_timestamp {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};
struct k_statx {
	uint32_t stx_mask;
	uint32_t stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink;
	uint32_t stx_uid;
	uint32_t stx_gid;
	uint16_t stx_mode;
	uint16_t spare0;
	uint64_t stx_ino;
	uint64_t stx_size;
	uint64_t stx_blocks;
	uint64_t stx_attributes_mask;
	struct k_statx_timestamp stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor;
	uint32_t stx_dev_major, stx_dev_minor;
	uint64_t spare2[14];
};
#define K_STATX_TYPE 0x0001U
#define K_STATX_MODE 0x0002U
#define K_STATX_NLINK 0x0004U
#define K_STATX_UID 0x0008U
#define K_STATX_GID 0x0010U
#define K_STATX_ATIME 0x0020U
#define K_STATX_MTIME 0x0040U
#define K_STATX_CTIME 0x0080U
#define K_STATX_INO 0x0100U
#define K_STATX_SIZE 0x0200U
#define K_STATX_BLOCKS 0x0400U
#define K_STATX_BASIC_STATS 0x07ffU
#define K_STATX_BTIME 0x0800U
#define K_STATX__RESERVED 0x80000000U
#define K_AT_STATX_FORCE_SYNC 0x2000
#define K_AT_STATX_DONT_SYNC 0x4000

/* openat2(2). */
struct k_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#define K_RESOLVE_NO_XDEV 0x01
#define K_RESOLVE_NO_MAGICLINKS 0x02
#define K_RESOLVE_NO_SYMLINKS 0x04
#define K_RESOLVE_BENEATH 0x08
#define K_RESOLVE_IN_ROOT 0x10

/* getdents64(2)'s record. */
struct k_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* "reg", "dir", "lnk", ... for the type bits of a mode. */
static inline const char *mode_type(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFIFO: return "fifo";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	case S_IFSOCK: return "sock";
	default: return "?";
	}
}

/* Removes the tree at path relative to dirfd (files, symlinks, fifos,
 * directories, whatever their modes; root needs none).  Missing is fine.
 * Returns 0, or -1 with errno from the first failure. */
static inline int rm_tree_at(int dirfd, const char *path)
{
	if (syscall(SYS_unlinkat, (long)dirfd, path, 0L) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	long fd = syscall(SYS_openat, (long)dirfd, path,
			  (long)(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), 0L);
	if (fd < 0)
		return -1;
	static char buf[8192]; /* not reentrant across levels: refilled below */
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, (long)sizeof buf);
		if (n < 0) {
			syscall(SYS_close, fd);
			return -1;
		}
		if (n == 0)
			break;
		/* Remove one real entry, then re-read from the start, so that
		 * the recursion may reuse buf. */
		int removed = 0;
		for (long off = 0; off < n;) {
			struct k_dirent64 *d = (struct k_dirent64 *)(buf + off);
			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			char name[256];
			snprintf(name, sizeof name, "%s", d->d_name);
			if (rm_tree_at((int)fd, name) != 0) {
				int e = errno;
				syscall(SYS_close, fd);
				errno = e;
				return -1;
			}
			removed = 1;
			break;
		}
		if (!removed)
			break;
		syscall(SYS_lseek, fd, 0L, (long)SEEK_SET);
	}
	syscall(SYS_close, fd);
	if (syscall(SYS_unlinkat, (long)dirfd, path, (long)AT_REMOVEDIR) != 0 &&
	    errno != ENOENT)
		return -1;
	return 0;
}

static inline int rm_tree(const char *path)
{
	return rm_tree_at(AT_FDCWD, path);
}

/* A fresh empty directory at path (mode 0755 after the umask), removing
 * whatever a crashed earlier run left there; dies on failure. */
static inline void fresh_dir(const char *path)
{
	if (rm_tree(path) != 0)
		die("fresh_dir: remove old tree");
	if (syscall(SYS_mkdir, path, 0755L) != 0)
		die("fresh_dir: mkdir");
}

/* Removes the scratch tree at the end; prints nothing unless it fails. */
static inline void cleanup_dir(const char *path)
{
	if (rm_tree(path) != 0)
		printf("cleanup %s failed: %s\n", path, errname(errno));
}

/* Creates (or truncates) path with mode and the given contents; dies on
 * failure. */
static inline void put_file(const char *path, const char *data, long len, long mode)
{
	long fd = syscall(SYS_openat, (long)AT_FDCWD, path,
			  (long)(O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC), mode);
	if (fd < 0)
		die(path);
	if (len < 0)
		len = (long)strlen(data);
	if (len > 0 && syscall(SYS_write, fd, data, len) != len)
		die("put_file: write");
	syscall(SYS_close, fd);
}

/* Reads up to cap-1 bytes of path into buf, NUL-terminated; returns the
 * count or -1 with errno. */
static inline long get_file(const char *path, char *buf, long cap)
{
	long fd = syscall(SYS_openat, (long)AT_FDCWD, path, (long)(O_RDONLY | O_CLOEXEC), 0L);
	if (fd < 0)
		return -1;
	long got = 0;
	while (got < cap - 1) {
		long n = syscall(SYS_read, fd, buf + got, cap - 1 - got);
		if (n < 0) {
			int e = errno;
			syscall(SYS_close, fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		got += n;
	}
	buf[got] = 0;
	syscall(SYS_close, fd);
	return got;
}

/* Prints "label: TYPE size=N nlink=N mode=OOOO" from lstat(path) (no size
 * for directories), or the errno. */
static inline void show_lstat(const char *label, const char *path)
{
	struct stat st;
	if (syscall(SYS_newfstatat, (long)AT_FDCWD, path, &st, (long)AT_SYMLINK_NOFOLLOW) != 0) {
		printf("%s: errno=%s\n", label, errname(errno));
		return;
	}
	/* A directory's size depends on the file system: not printed. */
	if (S_ISDIR(st.st_mode))
		printf("%s: dir nlink=%ld mode=%04o\n", label, (long)st.st_nlink,
		       (unsigned)(st.st_mode & 07777));
	else
		printf("%s: %s size=%ld nlink=%ld mode=%04o\n", label, mode_type(st.st_mode),
		       (long)st.st_size, (long)st.st_nlink, (unsigned)(st.st_mode & 07777));
}

#endif /* HUSK_GUEST_H */
