/* The ptrace platform: each address space is a stub process, guest syscalls
 * stop it through PTRACE_SYSEMU (so the host never runs them), and the
 * sentry changes its mappings by injecting syscalls at the stub's own
 * syscall instruction. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ptrace.h"
#include "../systrap/systrap.h"

extern const char husk_stub_begin[], husk_stub_syscall[], husk_stub_batch[];

/* The signal pf_ctx_interrupt sends; a traced process reports it to us. */
#define INTERRUPT_SIG SIGSTOP

/* systrap mode: the same stub processes, guest threads untraced
 * (systrap.c); chosen once, before the first address space. */
static bool systrap;

uint64_t pf_guest_min(void) { return 0x10000; }
/* Under systrap the slots sit below the stub page; the guest below them. */
uint64_t pf_guest_max(void) { return systrap ? SLOTS_BASE : STUB_ADDR; }

static int wait_stop(pid_t tid, int *st)
{
	while (waitpid(tid, st, __WALL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void mark_dead(struct pf_as *as, int st)
{
	as->dead = true;
	as->wait_status = st;
}

void pt_mark_dead(struct pf_as *as, int status)
{
	mark_dead(as, status);
}

int pt_wait_stop(pid_t tid, int *status)
{
	return wait_stop(tid, status);
}

static long inject(struct pf_as *as, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		   uint64_t a3, uint64_t a4, uint64_t a5);

/* The zygote: the sandbox's first stub, which never runs guest code.
 * Every address space is a fork of it made by an injected clone, so a new
 * one needs no host clone of the sentry's (which its seccomp filter
 * forbids), starts with nothing but the stub page, and shares the
 * sandbox's namespaces.  It is the pid namespace's init. */
static struct pf_as *zygote;
static int zygote_memfd = -1;
/* The sandbox's socket of host files to map: the sentry sends on tx, every
 * stub inherits rx (STUB_FDSOCK).  Files are sent only as the stub about
 * to take them runs its batch, so the queue is empty between batches; the
 * sentry's own copy of rx drains what a failed batch left. */
static int fdsock_tx = -1, fdsock_rx = -1;
static void drop_fds(struct pf_as *as);

#define SCRATCH 0x10000UL

static void reap(pid_t pid)
{
	int st;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, __WALL) >= 0 && !WIFEXITED(st) && !WIFSIGNALED(st))
		;
}

static int zygote_start(int memfd)
{
	if (zygote)
		return zygote_memfd == memfd ? 0 : -EBUSY;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	struct pf_as *z = calloc(1, sizeof(*z));
	int err = z ? stub_spawn(memfd, systrap ? st_shm_fd() : -1,
				 systrap ? st_doorbell_fd() : -1, sv[1], &z->pid)
		    : -ENOMEM;
	if (err) {
		free(z);
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	fdsock_tx = sv[0];
	fdsock_rx = sv[1];
	if (ptrace(PTRACE_GETREGS, z->pid, 0, &z->tmpl) != 0 || (z->tmpl.r13 = 0) != 0 ||
	    ptrace(PTRACE_SETOPTIONS, z->pid, 0,
		   PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK |
			   PTRACE_O_TRACECLONE) != 0) {
		err = -errno;
		reap(z->pid);
		free(z);
		return err;
	}
	/* SIGCHLD ignored in the zygote: the stubs it forks are reaped as
	 * soon as the sentry, their tracer, has seen them exit. */
	long r = inject(z, SYS_mmap, SCRATCH, PAGE_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, (uint64_t)-1, 0);
	if (r == (long)SCRATCH) {
		/* struct kernel_sigaction: handler SIG_IGN, flags, restorer, mask */
		ptrace(PTRACE_POKEDATA, z->pid, SCRATCH, (void *)(uintptr_t)SIG_IGN);
		for (int i = 1; i < 4; i++)
			ptrace(PTRACE_POKEDATA, z->pid, SCRATCH + 8 * (uint64_t)i, 0);
		r = inject(z, SYS_rt_sigaction, SIGCHLD, SCRATCH, 0, 8, 0, 0);
		inject(z, SYS_munmap, SCRATCH, PAGE_SIZE, 0, 0, 0, 0);
	}
	if (r >= 0 && systrap)
		r = st_zygote_setup(z);
	if (r < 0) {
		reap(z->pid);
		free(z);
		return (int)r;
	}
	zygote = z;
	zygote_memfd = memfd;
	return 0;
}

void pf_shutdown(void)
{
	if (zygote) {
		/* The zygote is its pid namespace's init: it is reported only
		 * once every stub is reaped, and some killed ones may still
		 * wait for their tracer. */
		kill(zygote->pid, SIGKILL);
		for (;;) {
			int st;
			pid_t p = waitpid(-1, &st, __WALL);
			if (p < 0 || (p == zygote->pid && (WIFEXITED(st) || WIFSIGNALED(st))))
				break;
		}
		free(zygote);
		zygote = NULL;
		zygote_memfd = -1;
		close(fdsock_tx);
		close(fdsock_rx);
		fdsock_tx = fdsock_rx = -1;
	}
}

/* Forks the zygote: the child stops at once (auto-attached, SIGSTOP). */
static int zygote_fork(pid_t *child)
{
	struct pf_as *z = zygote;
	pf_regs r = z->tmpl;
	r.rip = STUB_ADDR + (uint64_t)(husk_stub_syscall - husk_stub_begin);
	r.rax = SYS_clone;
	r.orig_rax = (uint64_t)-1;
	r.rdi = SIGCHLD, r.rsi = 0, r.rdx = 0, r.r10 = 0, r.r8 = 0;
	if (ptrace(PTRACE_SETREGS, z->pid, 0, &r) != 0 || ptrace(PTRACE_CONT, z->pid, 0, 0) != 0)
		return -errno;
	unsigned long pid = 0;
	for (;;) {
		int st, err = wait_stop(z->pid, &st);
		if (err)
			return err;
		if (!WIFSTOPPED(st))
			return -ESRCH;
		if ((st >> 8) == (SIGTRAP | (PTRACE_EVENT_FORK << 8))) {
			if (ptrace(PTRACE_GETEVENTMSG, z->pid, 0, &pid) != 0)
				return -errno;
			ptrace(PTRACE_CONT, z->pid, 0, 0);
			continue;
		}
		if (WSTOPSIG(st) == SIGTRAP)
			break; /* the int3 after the syscall */
		ptrace(PTRACE_CONT, z->pid, 0, 0);
	}
	if (ptrace(PTRACE_GETREGS, z->pid, 0, &r) != 0)
		return -errno;
	if ((long)r.rax < 0)
		return (int)r.rax;
	if (!pid)
		return -ECHILD;
	int st, err = wait_stop((pid_t)pid, &st);
	if (err)
		return err;
	if (!WIFSTOPPED(st)) {
		return -ECHILD;
	}
	*child = (pid_t)pid;
	return 0;
}

int pf_as_new(int memfd, struct pf_as **out)
{
	int err = zygote_start(memfd);
	if (err)
		return err;
	struct pf_as *as = calloc(1, sizeof(*as));
	if (!as)
		return -ENOMEM;
	if ((err = zygote_fork(&as->pid))) {
		free(as);
		return err;
	}
	/* r13 0 in the template: an injection is one syscall, not a batch. */
	if (ptrace(PTRACE_GETREGS, as->pid, 0, &as->tmpl) != 0 || (as->tmpl.r13 = 0) != 0) {
		err = -errno;
		reap(as->pid);
		free(as);
		return err;
	}
	if (systrap)
		st_as_new(as);
	*out = as;
	return 0;
}

/* ---- contexts by host tid, for pf_wait_any ---- */
#define HASH_SIZE 256
static struct pf_ctx *by_tid[HASH_SIZE];

static void hash_add(struct pf_ctx *c)
{
	struct pf_ctx **b = &by_tid[(unsigned)c->tid % HASH_SIZE];
	c->hnext = *b;
	*b = c;
}

static void hash_del(struct pf_ctx *c)
{
	for (struct pf_ctx **p = &by_tid[(unsigned)c->tid % HASH_SIZE]; *p; p = &(*p)->hnext)
		if (*p == c) {
			*p = c->hnext;
			return;
		}
}

static struct pf_ctx *hash_find(pid_t tid)
{
	for (struct pf_ctx *c = by_tid[(unsigned)tid % HASH_SIZE]; c; c = c->hnext)
		if (c->tid == tid)
			return c;
	return NULL;
}

void pf_as_free(struct pf_as *as)
{
	if (!as)
		return;
	/* Killed, not waited for: pf_wait_any reaps what is left of it
	 * (unknown tids are passed over), off the path of an exit or exec. */
	if (!as->dead)
		kill(as->pid, SIGKILL);
	for (struct pf_ctx *c = as->ctxs; c; c = c->next) {
		c->dead = true;
		c->as = NULL;
	}
	if (systrap)
		st_as_free(as);
	drop_fds(as);
	free(as);
}

/* A thread of as that is stopped and free to run an injected syscall. */
static pid_t idle_thread(struct pf_as *as, struct pf_ctx **ctx)
{
	*ctx = NULL;
	if (!as->main_taken)
		return as->pid;
	for (struct pf_ctx *c = as->ctxs; c; c = c->next)
		if (!c->running && !c->dead) {
			*ctx = c;
			return c->tid;
		}
	return -1;
}

/* Runs one syscall in a stopped thread of the stub and returns its result
 * (or -errno).  *event gets the new thread of an injected clone. */
static int flush(struct pf_as *as);

/* Runs the stub from rip with regs set up (an injected syscall or a
 * batch) in a stopped thread of as until its int3; r gets its registers. */
static long run_stub(struct pf_as *as, pf_regs *r, unsigned long *event)
{
	struct pf_ctx *ctx;
	pid_t tid = idle_thread(as, &ctx);
	if (tid < 0)
		return -EBUSY;
	/* The main thread runs on the sentry's CPU: an injection then costs
	 * two switches there, not wakeups across CPUs. */
	int cpu = sched_getcpu();
	if (tid == as->pid && systrap && cpu >= 0 && cpu + 1 != as->main_cpu) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(tid, sizeof(set), &set) == 0)
			as->main_cpu = cpu + 1;
	}
	if (ptrace(PTRACE_SETREGS, tid, 0, r) != 0 || ptrace(PTRACE_CONT, tid, 0, 0) != 0)
		return -errno;
	for (;;) {
		int st, err = wait_stop(tid, &st);
		if (err)
			return err;
		if (!WIFSTOPPED(st)) {
			if (ctx) {
				ctx->dead = true;
				ctx->wait_status = st;
			}
			if (tid == as->pid)
				mark_dead(as, st);
			return -ESRCH;
		}
		int sig = WSTOPSIG(st);
		if (sig == SIGTRAP && (st >> 16)) {
			/* A ptrace event: the new thread of a clone. */
			if (event && ptrace(PTRACE_GETEVENTMSG, tid, 0, event) != 0)
				return -errno;
			if (ptrace(PTRACE_CONT, tid, 0, 0) != 0)
				return -errno;
			continue;
		}
		if (sig == SIGTRAP)
			break;
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) {
			/* A fault inside the stub itself: it is broken. */
			kill(as->pid, SIGKILL);
			return -EFAULT;
		}
		/* An interrupt raced with the injection: report it on the
		 * next run, and let the injected syscall go on. */
		if (ctx)
			ctx->interrupt_pending = true;
		if (ptrace(PTRACE_CONT, tid, 0, 0) != 0)
			return -errno;
	}
	if (ptrace(PTRACE_GETREGS, tid, 0, r) != 0)
		return -errno;
	return (long)r->rax;
}

static long inject_in(struct pf_as *as, unsigned long *event, long nr, uint64_t a0, uint64_t a1,
		      uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	if (as->dead)
		return -ESRCH;
	/* Queued changes go first: the order of mapping calls is kept. */
	int err = flush(as);
	if (err)
		return err;
	pf_regs r = as->tmpl;
	r.rip = STUB_ADDR + (uint64_t)(husk_stub_syscall - husk_stub_begin);
	r.rax = (uint64_t)nr;
	r.orig_rax = (uint64_t)-1;
	r.rdi = a0, r.rsi = a1, r.rdx = a2, r.r10 = a3, r.r8 = a4, r.r9 = a5;
	r.r13 = 0; /* not a batch */
	return run_stub(as, &r, event);
}

static long inject(struct pf_as *as, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		   uint64_t a3, uint64_t a4, uint64_t a5)
{
	return inject_in(as, NULL, nr, a0, a1, a2, a3, a4, a5);
}

long pt_inject(struct pf_as *as, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
	       uint64_t a4, uint64_t a5)
{
	return inject(as, nr, a0, a1, a2, a3, a4, a5);
}

/* The files queued mappings of as need, not sent (it died first). */
static void drop_fds(struct pf_as *as)
{
	for (int i = 0; i < as->nfds; i++)
		close(as->fds[i]);
	as->nfds = 0;
}

/* Sends the files of as's queued mappings, in the order its batch takes
 * them, and lets go of its copies. */
static int send_fds(struct pf_as *as)
{
	int err = 0;
	for (int i = 0; i < as->nfds && !err; i++) {
		char byte = 0;
		struct iovec iov = {&byte, 1};
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		memset(&ctl, 0, sizeof(ctl));
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				   .msg_controllen = sizeof(ctl.buf)};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &as->fds[i], sizeof(int));
		ssize_t r;
		do
			r = sendmsg(fdsock_tx, &m, MSG_NOSIGNAL);
		while (r < 0 && errno == EINTR);
		if (r != 1)
			err = r < 0 ? -errno : -EIO;
	}
	drop_fds(as);
	return err;
}

/* Closes what a failed batch left in the stubs' queue: a later batch, of
 * whatever address space, must receive its own files. */
static void drain_fdsock(void)
{
	for (;;) {
		char byte;
		struct iovec iov = {&byte, 1};
		union {
			char buf[CMSG_SPACE(sizeof(int) * 4)];
			struct cmsghdr align;
		} ctl;
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				   .msg_controllen = sizeof(ctl.buf)};
		if (recvmsg(fdsock_rx, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0 && errno != EINTR)
			return;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
				for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
					int fd;
					memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
					close(fd);
				}
	}
}

/* The message the stub receives files with, in its descriptor page:
 * rewritten before each batch that takes one. */
struct fdmsg {
	struct msghdr m;
	struct iovec iov;
	char byte;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
};

static void fdmsg_init(struct pf_as *as)
{
	struct fdmsg *f = (struct fdmsg *)as->fdmsg;
	const uint64_t at = FDMSG_ADDR;
	memset(f, 0, sizeof(*f));
	f->iov.iov_base = (void *)(at + offsetof(struct fdmsg, byte));
	f->iov.iov_len = 1;
	f->m.msg_iov = (struct iovec *)(at + offsetof(struct fdmsg, iov));
	f->m.msg_iovlen = 1;
	f->m.msg_control = (void *)(at + offsetof(struct fdmsg, ctl));
	f->m.msg_controllen = sizeof(f->ctl.buf);
}

/* Runs the queued mapping changes of as in one stop of its stub.  A
 * failure (the host is out of memory for page tables) leaves the address
 * space inconsistent: it is killed, as Linux kills what it cannot map. */
static int flush(struct pf_as *as)
{
	int n = as->nbatch;
	if (!n || as->dead) {
		as->nheld = 0;
		drop_fds(as);
		return as->dead ? -ESRCH : 0;
	}
	/* The files it held are let go at its end (room for that is kept). */
	for (int i = 0; i < as->nheld; i++) {
		uint64_t *e = as->batch[as->nbatch++];
		e[0] = SYS_close, e[1] = HELD_FD + (uint64_t)i;
	}
	as->nheld = 0;
	n = as->nbatch;
	as->nbatch = 0;
	int err = send_fds(as);
	if (err) {
		drain_fdsock();
		kill(as->pid, SIGKILL);
		mark_dead(as, SIGKILL);
		return err;
	}
	pf_regs r = as->tmpl;
	r.rip = STUB_ADDR + (uint64_t)(husk_stub_batch - husk_stub_begin);
	r.orig_rax = (uint64_t)-1;
	r.r12 = BATCH_ADDR;
	r.r13 = (uint64_t)n;
	long res = run_stub(as, &r, NULL);
	/* Done when the count ran out; else r13 names the entry that failed
	 * (or the stub never ran it). */
	if (r.r13 != 0) {
		drain_fdsock();
		kill(as->pid, SIGKILL);
		mark_dead(as, SIGKILL);
		return res < 0 && res > -4096 ? (int)res : -EFAULT;
	}
	return 0;
}

int pt_flush(struct pf_as *as)
{
	return flush(as);
}

static int queue(struct pf_as *as, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		 uint64_t a4, uint64_t a5)
{
	if (!as->batch)
		return -ENOSYS;
	if (as->nbatch + as->nheld >= BATCH_MAX) {
		int err = flush(as);
		if (err)
			return err;
	}
	uint64_t *e = as->batch[as->nbatch++];
	e[0] = (uint64_t)nr, e[1] = a0, e[2] = a1, e[3] = a2, e[4] = a3, e[5] = a4, e[6] = a5;
	return 0;
}

int pf_as_set_batch(struct pf_as *as, void *host, uint64_t off)
{
	long r = inject(as, SYS_mmap, BATCH_ADDR, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED,
			STUB_MEMFD, off);
	if (r >= 0)
		r = inject(as, SYS_mmap, FDMSG_ADDR, PAGE_SIZE, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_FIXED, STUB_MEMFD, off + PAGE_SIZE);
	if (r < 0)
		return (int)r;
	as->batch = host;
	as->nbatch = 0;
	as->nheld = 0;
	as->fdmsg = (uint8_t *)host + PAGE_SIZE;
	return 0;
}

/* The held number of the file sb is, if the queued batch holds it. */
static int held_find(const struct pf_as *as, const struct stat *sb)
{
	for (int i = 0; i < as->nheld; i++)
		if (as->held[i].dev == sb->st_dev && as->held[i].ino == sb->st_ino)
			return i;
	return -1;
}

int pf_as_map_file(struct pf_as *as, uint64_t addr, uint64_t len, int prot, int fd,
		   uint64_t off)
{
	if (as->dead)
		return -ESRCH;
	if (!as->batch)
		return -ENOSYS;
	if (prot & PROT_WRITE)
		return -EACCES;
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return -errno;
	int h = held_find(as, &sb);
	/* A file new to the batch takes three entries (receive it at
	 * STUB_RECV_FD, move it to its held number, close that one) and a
	 * fourth at the batch's end; then one a mapping. */
	if (as->nbatch + (h < 0 ? 5 : 1) + as->nheld > BATCH_MAX ||
	    (h < 0 && as->nheld == HELD_MAX)) {
		int err = flush(as);
		if (err)
			return err;
		h = -1;
	}
	if (h < 0) {
		int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (copy < 0)
			return -errno;
		if (as->nfds == 0)
			fdmsg_init(as);
		as->fds[as->nfds++] = copy;
		h = as->nheld++;
		as->held[h].dev = sb.st_dev;
		as->held[h].ino = sb.st_ino;
		queue(as, SYS_recvmsg, STUB_FDSOCK, FDMSG_ADDR, 0, 0, 0, 0);
		queue(as, SYS_dup3, STUB_RECV_FD, HELD_FD + (uint64_t)h, O_CLOEXEC, 0, 0, 0);
		queue(as, SYS_close, STUB_RECV_FD, 0, 0, 0, 0, 0);
	}
	queue(as, SYS_mmap, addr, len, (uint64_t)prot, MAP_SHARED | MAP_FIXED,
		 HELD_FD + (uint64_t)h, off);
	return 0;
}

/* A mapping change: queued when the address space batches, else run now. */
static int change(struct pf_as *as, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		  uint64_t a4, uint64_t a5)
{
	if (as->dead)
		return -ESRCH;
	if (as->batch)
		return queue(as, nr, a0, a1, a2, a3, a4, a5);
	long r = inject(as, nr, a0, a1, a2, a3, a4, a5);
	return r < 0 ? (int)r : 0;
}

int pf_as_map(struct pf_as *as, uint64_t addr, uint64_t len, int prot, uint64_t off)
{
	return change(as, SYS_mmap, addr, len, (uint64_t)prot, MAP_SHARED | MAP_FIXED, STUB_MEMFD,
		      off);
}

int pf_as_map_populated(struct pf_as *as, uint64_t addr, uint64_t len, int prot, uint64_t off)
{
	return change(as, SYS_mmap, addr, len, (uint64_t)prot,
		      MAP_SHARED | MAP_FIXED | MAP_POPULATE, STUB_MEMFD, off);
}

int pf_as_reserve(struct pf_as *as, uint64_t addr, uint64_t len)
{
	return change(as, SYS_mmap, addr, len, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, (uint64_t)-1, 0);
}

int pf_as_unmap(struct pf_as *as, uint64_t addr, uint64_t len)
{
	return change(as, SYS_munmap, addr, len, 0, 0, 0, 0);
}

int pf_as_protect(struct pf_as *as, uint64_t addr, uint64_t len, int prot)
{
	return change(as, SYS_mprotect, addr, len, (uint64_t)prot, 0, 0, 0);
}

int pf_as_spare_thread(struct pf_as *as)
{
	if (!systrap)
		return 0; /* (a thread is one clone; the main one is kept anyway) */
	struct pf_ctx *c;
	int err = pf_ctx_new(as, &c);
	if (!err)
		pf_ctx_free(c); /* parked, for the next pf_ctx_new */
	return err;
}

int pf_as_flush(struct pf_as *as)
{
	return pt_flush(as);
}

/* A new stub thread, made by a clone injected into an idle one: it shares
 * the stub's memory and filter, and stops at once (auto-attached). */
static int new_thread(struct pf_as *as, pid_t *tid)
{
	unsigned long child = 0;
	long r = inject_in(as, &child, SYS_clone,
			   CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
				   CLONE_SYSVSEM,
			   0, 0, 0, 0, 0);
	if (r < 0)
		return (int)r;
	if (!child)
		return -ECHILD;
	int st, err = wait_stop((pid_t)child, &st);
	if (err)
		return err;
	if (!WIFSTOPPED(st))
		return -ECHILD;
	*tid = (pid_t)child;
	return 0;
}

int pt_new_thread(struct pf_as *as, pid_t *tid)
{
	return new_thread(as, tid);
}

int pf_ctx_new(struct pf_as *as, struct pf_ctx **out)
{
	struct pf_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (systrap) {
		/* Every guest thread is a new one; the main thread serves
		 * injections only. */
		int err = st_ctx_new(as, c);
		if (err) {
			free(c);
			return err;
		}
	} else if (!as->main_taken) {
		c->tid = as->pid;
	} else {
		int err = new_thread(as, &c->tid);
		if (err) {
			free(c);
			return err;
		}
	}
	if (c->tid == as->pid)
		as->main_taken = true;
	c->as = as;
	c->place_cpu = -1;
	c->next = as->ctxs;
	as->ctxs = c;
	if (!systrap)
		hash_add(c);
	*out = c;
	return 0;
}

void pf_ctx_free(struct pf_ctx *ctx)
{
	if (!ctx)
		return;
	if (systrap) {
		st_ctx_free(ctx);
		for (struct pf_ctx **p = ctx->as ? &ctx->as->ctxs : NULL; p && *p; p = &(*p)->next)
			if (*p == ctx) {
				*p = ctx->next;
				break;
			}
		free(ctx);
		return;
	}
	hash_del(ctx);
	struct pf_as *as = ctx->as;
	if (as) {
		for (struct pf_ctx **p = &as->ctxs; *p; p = &(*p)->next)
			if (*p == ctx) {
				*p = ctx->next;
				break;
			}
		if (ctx->tid == as->pid) {
			/* The main thread stays, stopped: it serves injections. */
			as->main_taken = false;
		} else if (!ctx->dead && !as->dead) {
			int st;
			if (ctx->running) {
				/* Still in the guest: stop it first. */
				syscall(SYS_tgkill, as->pid, ctx->tid, INTERRUPT_SIG);
				if (wait_stop(ctx->tid, &st) != 0 || !WIFSTOPPED(st))
					goto gone;
			}
			pf_regs r = as->tmpl;
			r.rip = STUB_ADDR + (uint64_t)(husk_stub_syscall - husk_stub_begin);
			r.rax = SYS_exit;
			r.orig_rax = (uint64_t)-1;
			r.rdi = 0;
			/* Its exit is reaped later, by pf_wait_any. */
			if (ptrace(PTRACE_SETREGS, ctx->tid, 0, &r) != 0 ||
			    ptrace(PTRACE_CONT, ctx->tid, 0, 0) != 0)
				goto gone;
		}
	}
gone:
	free(ctx);
}

void pf_ctx_set_owner(struct pf_ctx *ctx, void *owner)
{
	ctx->owner = owner;
}

void *pf_ctx_owner(const struct pf_ctx *ctx)
{
	return ctx->owner;
}

void pf_regs_init(pf_regs *r, const struct pf_as *as)
{
	memset(r, 0, sizeof(*r));
	r->cs = as->tmpl.cs;
	r->ss = as->tmpl.ss;
	r->ds = as->tmpl.ds;
	r->es = as->tmpl.es;
	r->eflags = 0x202; /* IF, and the always-one bit */
	r->orig_rax = (uint64_t)-1;
}

static int ncpus = 1;

/* Where a guest thread may run, relative to the sentry's CPU (cpu): a
 * thread is moved only when that changes. */
void pt_place(struct pf_ctx *ctx, enum pt_place where, int cpu)
{
	if (ncpus < 2 || cpu < 0)
		return;
	if (where == PT_ANY)
		cpu = -1;
	if (where == ctx->place && cpu == ctx->place_cpu)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	for (int i = 0; i < ncpus && i < CPU_SETSIZE; i++)
		if (where == PT_ANY || (where == PT_WITH) == (i == cpu))
			CPU_SET(i, &set);
	if (sched_setaffinity(ctx->tid, sizeof(set), &set) == 0) {
		ctx->place = where;
		ctx->place_cpu = cpu;
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A run that ended now: was it a long one?  The thread then computes
 * rather than calls the sentry, and is better off on another CPU. */
void pt_run_ended(struct pf_ctx *ctx, int64_t now)
{
	ctx->long_run = now - ctx->resumed_at > PF_LONG_RUN_NS;
}

int pf_ctx_resume(struct pf_ctx *ctx, pf_regs *regs, bool alone)
{
	ctx->resumed_at = now_ns();
	if (systrap)
		return st_ctx_resume(ctx, regs, alone);
	/* The guest sees its mappings as the sentry left them. */
	if (ctx->as && !ctx->dead && flush(ctx->as) != 0 && ctx->as->dead)
		ctx->dead = true;
	if (ctx->dead || !ctx->as || ctx->interrupt_pending)
		return 1; /* pf_ctx_stopped reports it without running */
	/* A stub that stops often stays on the sentry thread's CPU: each stop
	 * then wakes the tracer without a cross-CPU interrupt (gVisor's
	 * ptrace does the same), and a handoff between two guest threads is
	 * two switches there.  One that computes between stops, beside
	 * others, may use any CPU. */
	pt_place(ctx, alone || !ctx->long_run ? PT_WITH : PT_ANY, sched_getcpu());
	/* orig_rax -1: the host must never treat the resume as a syscall
	 * restart. */
	regs->orig_rax = (uint64_t)-1;
	if (ptrace(PTRACE_SETREGS, ctx->tid, 0, regs) != 0)
		return -errno;
	if (ptrace(PTRACE_SYSEMU, ctx->tid, 0, 0) != 0)
		return -errno;
	ctx->running = true;
	return 0;
}

int pf_wait_any(struct pf_ctx **out, int *status)
{
	if (systrap)
		return st_wait_any(out, status);
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG | __WALL);
		if (pid < 0)
			return errno == ECHILD ? 0 : -errno;
		if (pid == 0)
			return 0;
		struct pf_ctx *c = hash_find(pid);
		if (!c)
			continue; /* a thread of a stub already given up */
		if (!WIFSTOPPED(st)) {
			c->dead = true;
			c->wait_status = st;
			if (c->as && c->tid == c->as->pid)
				mark_dead(c->as, st);
		}
		if (!c->running)
			continue; /* killed while stopped: seen at its next resume */
		*out = c;
		*status = st;
		return 1;
	}
}

int pf_ctx_stopped(struct pf_ctx *ctx, int st, pf_regs *regs, struct pf_event *ev)
{
	if (systrap)
		return st_ctx_stopped(ctx, regs, ev);
	if (ctx->running)
		pt_run_ended(ctx, now_ns());
	memset(ev, 0, sizeof(*ev));
	bool was_running = ctx->running;
	ctx->running = false;
	if (ctx->dead || !ctx->as || !was_running) {
		if (ctx->dead || !ctx->as) {
			ev->kind = PF_DEAD;
			ev->status = ctx->wait_status;
		} else {
			ctx->interrupt_pending = false;
			ev->kind = PF_INTERRUPT;
		}
		return 0;
	}
	if (!WIFSTOPPED(st)) {
		ctx->dead = true;
		ctx->wait_status = st;
		ev->kind = PF_DEAD;
		ev->status = st;
		return 0;
	}
	if (ptrace(PTRACE_GETREGS, ctx->tid, 0, regs) != 0)
		return -errno;
	int sig = WSTOPSIG(st);
	if (sig == (SIGTRAP | 0x80)) {
		/* `syscall` leaves the return address in rcx; int 0x80 and
		 * sysenter do not.  Either way the host did not run it. */
		ev->kind = regs->rcx == regs->rip ? PF_SYSCALL : PF_SYSCALL32;
		return 0;
	}
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, ctx->tid, 0, &si) != 0)
		return -errno;
	if (sig == SIGSYS && si.si_code == 1 /* SYS_SECCOMP */ &&
	    (uint64_t)si.si_call_addr >= 0xffffffffff600000UL &&
	    (uint64_t)si.si_call_addr < 0xffffffffff601000UL) {
		/* A call into the vsyscall page: the kernel already returned to
		 * the caller; si_syscall names the syscall the sentry must do. */
		ev->kind = PF_SYSCALL;
		regs->orig_rax = (uint64_t)si.si_syscall;
		return 0;
	}
	bool sync = si.si_code > 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
				       sig == SIGFPE || sig == SIGTRAP);
	if (sync) {
		ev->kind = PF_FAULT;
		ev->signo = sig;
		ev->code = si.si_code;
		ev->addr = (uint64_t)si.si_addr;
	} else {
		/* Our interrupt, or a signal someone on the host sent to the
		 * stub: either way it is suppressed, never seen by the guest. */
		ev->kind = PF_INTERRUPT;
	}
	return 0;
}

int pf_ctx_run(struct pf_ctx *ctx, pf_regs *regs, struct pf_event *ev)
{
	int err = pf_ctx_resume(ctx, regs, true);
	if (err < 0)
		return err;
	if (systrap) {
		/* Only this context runs: wait for it alone. */
		struct pf_ctx *c = NULL;
		int st;
		while (err == 0 && (c != ctx)) {
			int fd;
			if (pf_wait_any(&c, &st) > 0 && c == ctx)
				break;
			if (pf_idle_arm(&fd) == 0) {
				struct pollfd p = {.fd = fd, .events = POLLIN};
				struct timespec tick = {0, 1000000};
				ppoll(fd >= 0 ? &p : NULL, fd >= 0 ? 1 : 0, &tick, NULL);
			}
			pf_idle_disarm();
		}
		return pf_ctx_stopped(ctx, 0, regs, ev);
	}
	int st = 0;
	if (ctx->running && (err = wait_stop(ctx->tid, &st)))
		return err;
	return pf_ctx_stopped(ctx, st, regs, ev);
}

int pf_ctx_get_fpregs(struct pf_ctx *ctx, pf_fpregs *fp)
{
	if (systrap)
		return st_get_fpregs(ctx, fp);
	return ptrace(PTRACE_GETFPREGS, ctx->tid, 0, fp) == 0 ? 0 : -errno;
}

int pf_ctx_set_fpregs(struct pf_ctx *ctx, const pf_fpregs *fp)
{
	if (systrap)
		return st_set_fpregs(ctx, fp);
	return ptrace(PTRACE_SETFPREGS, ctx->tid, 0, fp) == 0 ? 0 : -errno;
}

void pf_ctx_interrupt(struct pf_ctx *ctx)
{
	if (systrap) {
		st_ctx_interrupt(ctx);
		return;
	}
	struct pf_as *as = ctx->as;
	if (as && !ctx->dead)
		syscall(SYS_tgkill, as->pid, ctx->tid, INTERRUPT_SIG);
}

void pf_ctx_long_run(struct pf_ctx *ctx)
{
	if (!ctx->running || ctx->dead)
		return;
	ctx->long_run = true;
	pt_place(ctx, PT_ANY, systrap ? st_cpu() : sched_getcpu());
}

uint64_t pf_ctx_cputime_ns(struct pf_ctx *ctx)
{
	/* The stub's process CPU clock (Linux's MAKE_PROCESS_CPUCLOCK with
	 * CPUCLOCK_SCHED): another process's thread clocks are not readable. */
	if (!ctx->as)
		return 0;
	clockid_t id = (clockid_t)((~(unsigned)ctx->as->pid << 3) | 2);
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int pf_select(const char *name)
{
	bool want;
	if (strcmp(name, "ptrace") == 0)
		want = false;
	else if (strcmp(name, "systrap") == 0)
		want = true;
	else
		return -EINVAL;
	if (zygote && want != systrap)
		return -EBUSY; /* one platform per process */
	if (want) {
		int err = st_init();
		if (err)
			return err;
	}
	systrap = want;
	ncpus = (int)sysconf(_SC_NPROCESSORS_CONF); /* (reads /sys: not once confined) */
	return 0;
}

const char *pf_name(void)
{
	return systrap ? "systrap" : "ptrace";
}
