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

#endif /* HUSK_GUEST_H */
