/* A hostile guest: thousands of syscalls with random numbers and random
 * arguments (bad pointers, huge lengths, stray flags, pointers into a
 * scratch area full of random bytes).  Run under husk, the sentry must
 * answer each one and stay up; tests/hostile/run.sh checks that it did.
 * Calls that would end the program at once (exit, sigreturn, changing the
 * TLS base, fatal signals to itself) or sleep for ever are left out.
 * usage: fuzz_syscalls SEED COUNT */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t state;

static uint64_t rnd(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static unsigned char *scratch;
#define SCRATCH (64 * 4096)

static uint64_t arg(void)
{
	switch (rnd() % 12) {
	case 0: return 0;
	case 1: return (uint64_t)-1;
	case 2: return rnd();
	case 3: return rnd() % 64;
	case 4: return (uint64_t)(scratch + rnd() % SCRATCH);
	case 5: return (uint64_t)(scratch + (rnd() % 64) * 4096);
	case 6: return 0xffff800000000000ULL + rnd() % 4096;
	case 7: return 0x7fffffff0000ULL + rnd() % 0x10000; /* the stub's page */
	case 8: return 1ULL << (rnd() % 64);
	case 9: return (uint64_t)(scratch + SCRATCH - rnd() % 16);
	case 10: return 4096 * (rnd() % 1024);
	default: return rnd() % 4;
	}
}

static int allowed(long nr)
{
	switch (nr) {
	case SYS_exit: case SYS_exit_group: case SYS_rt_sigreturn: case SYS_arch_prctl:
	case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_pause: case SYS_restart_syscall:
	case SYS_kill: case SYS_tkill: case SYS_tgkill: case SYS_rt_sigqueueinfo:
	case SYS_rt_tgsigqueueinfo: case SYS_rt_sigsuspend: case SYS_rt_sigtimedwait:
	case SYS_munmap: case SYS_mremap: case SYS_mprotect: case SYS_brk: case SYS_madvise:
	case SYS_mmap: case SYS_set_tid_address: case SYS_setrlimit: case SYS_prlimit64:
	case SYS_close: case SYS_dup2: case SYS_dup3: case SYS_read: case SYS_readv:
	case SYS_pread64: case SYS_preadv: case SYS_sigaltstack: case SYS_rt_sigaction:
	case SYS_rt_sigprocmask: case SYS_chdir: case SYS_fchdir: case SYS_chroot:
	case SYS_setuid: case SYS_setgid: case SYS_setreuid: case SYS_setregid:
	case SYS_setresuid: case SYS_setresgid: case SYS_setfsuid: case SYS_setfsgid:
	case SYS_setgroups: case SYS_umask: case SYS_futex: case SYS_preadv2:
	case SYS_getrandom: case SYS_alarm: case SYS_setitimer: case SYS_poll: case SYS_ppoll:
	case SYS_select: case SYS_pselect6: case SYS_clone: case SYS_clone3: case SYS_fork:
	case SYS_vfork: case SYS_shmat: case SYS_shmdt: case SYS_semop: case SYS_semtimedop:
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	state = argc > 1 ? strtoull(argv[1], NULL, 0) * 2654435761ULL + 1 : 1;
	long count = argc > 2 ? atol(argv[2]) : 2000;
	scratch = mmap(NULL, SCRATCH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch == MAP_FAILED)
		return 1;
	/* Some of the scratch area is not writable or not there at all. */
	mprotect(scratch + 8 * 4096, 4096, PROT_READ);
	mprotect(scratch + 9 * 4096, 4096, PROT_NONE);
	munmap(scratch + 10 * 4096, 4096);
	/* Report on a descriptor of our own: random calls write junk to 1 and 2. */
	int report = dup(2);
	/* Descriptors of every kind of file for the random calls to hit (the
	 * fd arguments are small numbers a good part of the time).  Only the
	 * sandbox's own /tmp is written. */
	syscall(SYS_open, "/tmp/fuzz-file", O_RDWR | O_CREAT, 0644);
	syscall(SYS_open, "/tmp", O_RDONLY | O_DIRECTORY);
	syscall(SYS_open, "/dev/null", O_RDWR);
	syscall(SYS_open, "/proc/self/status", O_RDONLY);
	syscall(SYS_open, "/etc/passwd", O_RDONLY);
	syscall(SYS_memfd_create, "fuzz", 0);
	syscall(SYS_eventfd2, 1, O_NONBLOCK);
	syscall(SYS_open, "/tmp", O_PATH);
	long done = 0, enosys = 0;
	for (long i = 0; i < count; i++) {
		for (int j = 0; j < 64; j++) {
			uint64_t page = rnd() % 64;
			if (page >= 8 && page <= 10) /* read-only, PROT_NONE, unmapped */
				page = 0;
			scratch[page * 4096 + rnd() % 4096] = (unsigned char)rnd();
		}
		long nr = rnd() % 3 ? (long)(rnd() % 335) : (long)(rnd() % 2048) - 512;
		if (!allowed(nr))
			continue;
		long r = syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
		done++;
		if (r == -1)
			enosys++;
	}
	/* The memory calls, confined to the scratch area so the program
	 * itself survives them. */
	for (long i = 0; i < count / 4; i++) {
		uint64_t at = (uint64_t)scratch + 4096 * (rnd() % 64) + (rnd() % 8 == 0 ? rnd() % 4096 : 0);
		/* Within the scratch area, or so long that the range wraps (each
		 * call must refuse that before touching anything). */
		uint64_t room = (uint64_t)scratch + SCRATCH - at;
		uint64_t len = rnd() % 4 ? rnd() % (room + 1) : UINT64_MAX - rnd() % (1ULL << 40);
		uint64_t new_len = rnd() % 4 ? rnd() % (1 << 20) : rnd();
		switch (rnd() % 5) {
		case 0: syscall(SYS_mprotect, at, len, rnd() % 16); break;
		case 1: syscall(SYS_madvise, at, len, rnd() % 30); break;
		case 2: syscall(SYS_mmap, at, len, rnd() % 8,
				(rnd() % 4) | 0x20 | (rnd() % 2 ? 0x10 : 0x100000), -1, 0); break;
		case 3: syscall(SYS_mremap, at, len, new_len, rnd() % 8, arg()); break;
		default: syscall(SYS_munmap, at, len); break;
		}
		done++;
		/* Keep the scratch area present for the next round. */
		syscall(SYS_mmap, scratch, SCRATCH, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	}
	dprintf(report, "fuzz: %ld calls, %ld failed\n", done, enosys);
	return 0;
}
