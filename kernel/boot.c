/* Booting a sandbox and running its task: the memory file, the first
 * address space and task, the program, and the loop that takes each guest
 * stop (syscall, fault, interrupt) to the kernel and back. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../gofer/gofer.h"
#include "sentry.h"

/* The memory file's size: the most guest memory one sandbox can have mapped
 * with backing at once.  It is sparse; only touched pages cost. */
#define MEMFILE_SIZE (1ULL << 40)

void k_log(struct k_kernel *k, const char *fmt, ...)
{
	if (!k->cfg.debug)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	dprintf(STDERR_FILENO, "husk: %s\n", buf);
}

uint64_t k_random_u64(void)
{
	uint64_t v = 0;
	while (getrandom(&v, sizeof(v), 0) != sizeof(v))
		;
	return v;
}

/* ---- signals husk receives, for the guest ---- */
static volatile uint64_t host_signals;
static struct pf_ctx *volatile running_ctx;
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
				SIGALRM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU};

static void on_host_signal(int sig)
{
	__atomic_or_fetch(&host_signals, SIGBIT(sig), __ATOMIC_SEQ_CST);
	struct pf_ctx *c = running_ctx;
	if (c)
		pf_ctx_interrupt(c);
}

bool k_host_signals_pending(void)
{
	/* A guest timer that came due counts too: it becomes a signal. */
	return __atomic_load_n(&host_signals, __ATOMIC_SEQ_CST) != 0 || k_timer_due();
}

int k_wait_host_signal(clockid_t clock, const struct timespec *deadline)
{
	return k_wait_host(clock, deadline, NULL, 0);
}

int k_wait_host(clockid_t clock, const struct timespec *deadline, struct pollfd *fds, int n)
{
	/* Checked with every signal blocked and slept with ppoll, which
	 * unblocks them atomically: one arriving between the check and the
	 * sleep cannot be lost. */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	int ret = -EINTR;
	while (!k_host_signals_pending()) {
		struct timespec left, *tmo = NULL;
		if (deadline) {
			struct timespec now;
			clock_gettime(clock, &now);
			left.tv_sec = deadline->tv_sec - now.tv_sec;
			left.tv_nsec = deadline->tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0)
				left.tv_sec--, left.tv_nsec += 1000000000;
			if (left.tv_sec < 0) {
				ret = -ETIMEDOUT;
				break;
			}
			tmo = &left;
		}
		int r = ppoll(fds, (nfds_t)n, tmo, &old);
		if (r > 0 || (r < 0 && errno != EINTR)) {
			ret = r > 0 ? 0 : -errno; /* never spin on a failing ppoll */
			break;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/* A signal husk was started with ignored (a shell's background job ignores
 * SIGINT and SIGQUIT) starts ignored in the guest too, as across execve,
 * and is not forwarded. */
static uint64_t ignored_at_start(void)
{
	uint64_t set = 0;
	for (size_t i = 0; i < ARRAY_LEN(forwarded); i++) {
		struct sigaction old;
		if (sigaction(forwarded[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			set |= SIGBIT(forwarded[i]);
	}
	return set;
}

static void forward_host_signals(bool on, uint64_t skip)
{
	struct sigaction sa = {0};
	sa.sa_handler = on ? on_host_signal : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_LEN(forwarded); i++)
		if (!(skip & SIGBIT(forwarded[i])))
			sigaction(forwarded[i], &sa, NULL);
	/* A guest writing to a closed pipe gets SIGPIPE from the sentry. */
	signal(SIGPIPE, on ? SIG_IGN : SIG_DFL);
}

static void take_host_signals(struct k_task *t)
{
	uint64_t s = __atomic_exchange_n(&host_signals, 0, __ATOMIC_SEQ_CST);
	for (int sig = 1; s; sig++, s >>= 1)
		if (s & 1)
			k_signal_host(t, sig);
}

void k_collect_signals(struct k_task *t)
{
	take_host_signals(t);
	itimer_fire(t);
}

/* ---- boot ---- */

static void read_cpus(struct k_kernel *k)
{
	long n = syscall(SYS_sched_getaffinity, 0, sizeof(k->cpumask), k->cpumask);
	k->cpumask_bytes = n > 0 ? (uint32_t)n : 8;
	if (n <= 0)
		k->cpumask[0] = 1;
	k->nr_cpu_ids = k->cpumask_bytes * 8;
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	if (f) {
		char line[128];
		if (fgets(line, sizeof(line), f)) {
			char *last = strrchr(line, '-');
			last = last ? last + 1 : line;
			unsigned long hi = strtoul(last, NULL, 10);
			if (hi + 1 <= k->nr_cpu_ids)
				k->nr_cpu_ids = (uint32_t)hi + 1;
		}
		fclose(f);
	}
}

static struct k_thread_group *tg_new(void)
{
	struct k_thread_group *tg = calloc(1, sizeof(*tg));
	if (!tg)
		return NULL;
	tg->pid = tg->pgid = tg->sid = 1;
	tg->ppid = 0;
	tg->nthreads = 1;
	tg->dumpable = 1;
	for (int r = 0; r < RLIM_NLIMITS; r++)
		getrlimit(r, &tg->rlim[r]);
	/* Like the rlimits, the nice value starts as husk's own. */
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	tg->nice = errno ? 0 : nice;
	/* The sandbox runs with the invoking user's credentials. */
	tg->uid = tg->euid = tg->suid = tg->fsuid = getuid();
	tg->gid = tg->egid = tg->sgid = tg->fsgid = getgid();
	return tg;
}

static int install_stdio(struct k_task *t, const int stdio[3])
{
	for (int i = 0; i < 3; i++) {
		int fl = fcntl(stdio[i], F_GETFL);
		if (fl < 0)
			continue; /* closed in husk: closed in the guest */
		int fd = fcntl(stdio[i], F_DUPFD_CLOEXEC, 10);
		if (fd < 0)
			return -errno;
		struct k_file *f = hostfile_new(fd, fl & (O_ACCMODE | O_APPEND | O_NONBLOCK));
		if (!f) {
			close(fd);
			return -ENOMEM;
		}
		int r = fdt_install_at(t, f, i, false);
		file_put(f);
		if (r < 0)
			return r;
	}
	return 0;
}

/* From here on the sentry cannot open a host file.  Builds with the
 * address sanitizer stay unconfined: its runtime reads /proc and starts a
 * thread at exit (the release build runs every test confined, and a unit
 * test shows the filter at work). */
static int confine(struct k_kernel *k, const char **why)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)k, (void)why;
	return 0;
#else
	int err = k_seccomp_confine();
	if (err) {
		*why = "cannot install the sentry's seccomp filter";
		k_log(k, "seccomp: %s", strerror(-err));
	}
	return err;
#endif
}

static void handle_stop(struct k_task *t, const struct pf_event *ev)
{
	switch (ev->kind) {
	case PF_SYSCALL: {
		/* Linux reads the number as an int: the upper half is ignored. */
		long nr = (int)t->regs.orig_rax;
		t->in_syscall = true;
		t->syscall_nr = (uint64_t)nr;
		long ret = k_dispatch(t, nr);
		t->regs.rax = (uint64_t)ret;
		break;
	}
	case PF_SYSCALL32:
		/* There is no 32-bit ABI in the sandbox. */
		k_log(t->k, "32-bit syscall %llu refused", t->regs.orig_rax);
		t->regs.rax = (uint64_t)-ENOSYS;
		break;
	case PF_FAULT:
		if (ev->signo == SIGSEGV && ev->code == SEGV_MAPERR && mm_fault_stack(t, ev->addr))
			break; /* the stack grew: run the instruction again */
		if (ev->signo == SIGSEGV && ev->code == SEGV_ACCERR && mm_fault_cow(t->mm, ev->addr))
			break; /* the page has its own copy now */
		if (ev->signo == SIGSEGV) {
			struct k_vma *v = mm_find(t->mm, ev->addr);
			if (v && (v->flags & VMA_SIGBUS)) {
				task_signal(t, SIGBUS, BUS_ADRERR, ev->addr);
				break;
			}
		}
		t->fault_err = 0;
		task_signal(t, ev->signo, ev->code, ev->addr);
		break;
	case PF_INTERRUPT:
		break;
	case PF_DEAD:
		k_log(t->k, "the guest's host process died (wait status %#x)", ev->status);
		task_exit_group(t, 128 + SIGKILL);
		break;
	}
}

static void run_task(struct k_task *t)
{
	while (!t->tg->exiting) {
		k_collect_signals(t);
		signal_deliver(t);
		if (t->tg->exiting)
			break;
		struct pf_event ev;
		running_ctx = t->ctx;
		mem_ticker_watch(t->ctx);
		itimer_watch(t->ctx);
		/* A signal between the collection above and the watches found
		 * no guest to interrupt: look once more before running it. */
		if (k_host_signals_pending()) {
			itimer_watch(NULL);
			mem_ticker_watch(NULL);
			running_ctx = NULL;
			continue;
		}
		int err = pf_ctx_run(t->ctx, &t->regs, &ev);
		itimer_watch(NULL);
		mem_ticker_watch(NULL);
		running_ctx = NULL;
		if (err) {
			k_log(t->k, "platform error: %s", strerror(-err));
			task_exit_group(t, 128 + SIGKILL);
			break;
		}
		handle_stop(t, &ev);
		if (mem_over_limit(t->k)) {
			k_log(t->k, "memory limit of %llu bytes exceeded: killed",
			      t->k->cfg.memory_limit);
			task_exit_group(t, 128 + SIGKILL);
		}
	}
}

int k_boot(const struct k_config *cfg, struct k_task **out, const char **why)
{
	int err = pf_select(cfg->platform ? cfg->platform : "ptrace");
	if (err)
		return *why = "unknown platform", err;
	struct k_kernel *k = calloc(1, sizeof(*k));
	struct k_task *t = calloc(1, sizeof(*t));
	if (!k || !t) {
		free(k);
		free(t);
		return *why = "out of memory", -ENOMEM;
	}
	k->cfg = *cfg;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	k->boot_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	read_cpus(k);
	t->k = k;
	t->tid = 1;
	const char *base = cfg->argv && cfg->argv[0] ? cfg->argv[0] : cfg->exe ? cfg->exe : "init";
	const char *slash = strrchr(base, '/');
	strncpy(t->comm, slash ? slash + 1 : base, sizeof(t->comm) - 1);

	if ((err = memfile_init(&k->mem, MEMFILE_SIZE))) {
		*why = "cannot create the memory file";
	} else if (!(t->tg = tg_new()) || !(t->fdt = fdt_new())) {
		err = -ENOMEM;
		*why = "out of memory";
	} else if ((err = mm_new(k, &t->mm))) {
		*why = "cannot start the sandbox's guest process";
	} else if ((err = pf_ctx_new(t->mm->as, &t->ctx))) {
		*why = "cannot create the guest thread";
	} else if ((err = install_stdio(t, cfg->stdio))) {
		*why = "cannot set up stdio";
	} else if ((err = k_vfs_init(t))) {
		*why = "cannot build the sandbox's filesystem";
	}
	if (err) {
		k_teardown(t);
		return err;
	}
	*out = t;
	return 0;
}

void k_teardown(struct k_task *t)
{
	struct k_kernel *k = t->k;
	pf_ctx_free(t->ctx);
	mm_free(t->mm);
	pf_shutdown();
	fdt_put(t->fdt);
	k_vfs_teardown(t);
	if (t->tg)
		free(t->tg->groups);
	free(t->tg);
	free(t);
	memfile_destroy(&k->mem);
	free(k);
}

int k_run(const struct k_config *cfg, int *status, const char **why)
{
	struct k_task *t;
	int err = k_boot(cfg, &t, why);
	if (err)
		return err;
	char exe[K_PATH_MAX];
	uint64_t ignored = 0;
	err = k_find_program(t, cfg->exe, cfg->envp, exe, sizeof(exe));
	if (err)
		*why = "not found in the sandbox";
	else
		err = k_exec_load(t, exe, cfg->argv, cfg->envp, why);
	if (!err) {
		ignored = ignored_at_start();
		for (int sig = 1; sig <= K_NSIG; sig++)
			if (ignored & SIGBIT(sig))
				t->tg->act[sig].handler = (uint64_t)SIG_IGN;
		forward_host_signals(true, ignored);
		if ((err = mem_ticker_start(t->k)))
			*why = "cannot start the memory ticker";
		else
			err = confine(t->k, why);
	}
	if (!err) {
		run_task(t);
		itimer_stop(t->k);
		mem_ticker_stop(t->k);
		forward_host_signals(false, ignored);
		*status = t->tg->exit_status;
		if (t->k->enosys_count)
			k_log(t->k, "%llu calls to unsupported syscalls",
			      (unsigned long long)t->k->enosys_count);
		if (t->k->gofer)
			k_log(t->k, "%llu gofer round trips",
			      (unsigned long long)gf_client_round_trips(t->k->gofer));
	}
	k_teardown(t);
	return err;
}
