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
#include "../snapshot/snapshot.h"
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

/* ---- boot ---- */

#define CPUMASK_MAX 128
_Static_assert(sizeof(((struct k_kernel *)0)->cpumask) == CPUMASK_MAX, "cpumask size");

static void read_cpus(uint8_t *mask, uint32_t *bytes, uint32_t *ids)
{
	memset(mask, 0, CPUMASK_MAX);
	long n = syscall(SYS_sched_getaffinity, 0, CPUMASK_MAX, mask);
	*bytes = n > 0 ? (uint32_t)n : 8;
	if (n <= 0)
		mask[0] = 1;
	*ids = *bytes * 8;
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	if (f) {
		char line[128];
		if (fgets(line, sizeof(line), f)) {
			char *last = strrchr(line, '-');
			last = last ? last + 1 : line;
			unsigned long hi = strtoul(last, NULL, 10);
			if (hi + 1 <= *ids)
				*ids = (uint32_t)hi + 1;
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
	tg->exit_signal = SIGCHLD;
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
	caps_init(tg);
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
		hostfile_set_stdio(f, i);
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

#define FD_TABLE_AHEAD 1024

int k_boot(const struct k_config *cfg, struct k_task **out, const char **why)
{
	/* The sandbox's CPUs are the host's before the platform pins the
	 * sentry to one of them. */
	uint8_t cpumask[CPUMASK_MAX];
	uint32_t cpumask_bytes, nr_cpu_ids;
	read_cpus(cpumask, &cpumask_bytes, &nr_cpu_ids);
	/* The sentry's descriptor table, grown now to FD_TABLE_AHEAD slots
	 * while it has one thread: Linux grows a table that threads share
	 * only after an RCU grace period, and a restore (its copier thread
	 * running) that passed 64 descriptors waited 5-15 ms for one. */
	int ahead = -1;
	for (int fd = 0; fd < 3 && ahead < 0; fd++)
		ahead = fcntl(fd, F_DUPFD_CLOEXEC, FD_TABLE_AHEAD - 1);
	if (ahead < 0 && cfg->gofer_sock > 0)
		ahead = fcntl(cfg->gofer_sock, F_DUPFD_CLOEXEC, FD_TABLE_AHEAD - 1);
	if (ahead >= 0)
		close(ahead);
	/* systrap unless asked otherwise; ptrace where the CPU or kernel
	 * cannot run systrap's stub (no FSGSBASE). */
	int err = pf_select(cfg->platform ? cfg->platform : "systrap");
	if (err == -ENOTSUP && !cfg->platform)
		err = pf_select("ptrace");
	if (err)
		return *why = err == -ENOTSUP ? "platform not supported on this machine"
					       : "unknown platform",
		       err;
	/* The gofer goes where the platform put the sentry: a call to it is
	 * then a switch on one CPU, not a wakeup of another (in a VM, tens
	 * of microseconds each). */
	cpu_set_t mine;
	if (cfg->gofer_pid > 0 && sched_getaffinity(0, sizeof(mine), &mine) == 0 &&
	    CPU_COUNT(&mine) == 1)
		sched_setaffinity(cfg->gofer_pid, sizeof(mine), &mine);
	struct k_kernel *k = calloc(1, sizeof(*k));
	struct k_task *t = calloc(1, sizeof(*t));
	if (!k || !t) {
		free(k);
		free(t);
		return *why = "out of memory", -ENOMEM;
	}
	k->cfg = *cfg;
	k->ctl_conn = k->ckpt_fd = k->hot_fd = -1;
	k->max_tasks = cfg->max_tasks ? cfg->max_tasks : K_DEFAULT_MAX_TASKS;
	struct timespec now;
	k_clock_ts(CLOCK_MONOTONIC, &now);
	k->boot_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	memcpy(k->cpumask, cpumask, CPUMASK_MAX);
	k->cpumask_bytes = cpumask_bytes;
	k->nr_cpu_ids = nr_cpu_ids;
	t->k = k;
	t->tid = 1;
	const char *base = cfg->argv && cfg->argv[0] ? cfg->argv[0] : cfg->exe ? cfg->exe : "init";
	const char *slash = strrchr(base, '/');
	strncpy(t->comm, slash ? slash + 1 : base, sizeof(t->comm) - 1);

	t->tg = tg_new();
	/* The guest's limits are the host's as husk started (tg_new); the
	 * sentry itself holds a host descriptor for each gofer file in use
	 * and each mapped one: as many as the host lets it, as the gofer. */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	t->fdt = fdt_new();
	if (t->tg) {
		k->init = t->tg;
		t->tg->threads = t;
		t->tg->nthreads = 1;
	}
	k_clock_init();
	if ((err = memfile_init(&k->mem, MEMFILE_SIZE))) {
		*why = "cannot create the memory file";
	} else if ((err = vdso_init(k))) {
		*why = "cannot set up the vDSO";
	} else if (!t->tg || !t->fdt) {
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
	} else if ((err = k_net_init(k))) {
		*why = "cannot set up the sandbox's network";
	}
	if (err) {
		k_teardown(t);
		return err;
	}
	/* The sandbox's init: pid 1, in the task list, owner of its context. */
	pf_ctx_set_owner(t->ctx, t);
	k->last_pid = 1;
	k_task_link(t);
	*out = t;
	return 0;
}

/* The kernel's own state, once no task is left (or a test is done). */
static void kernel_free(struct k_kernel *k)
{
	shm_teardown(k);
	sem_teardown();
	k_net_free(k);
	pf_shutdown();
	k_vfs_teardown(k);
	tg_release(k->init);
	vdso_teardown(k);
	memfile_destroy(&k->mem);
	free(k);
}

void k_teardown(struct k_task *t)
{
	struct k_kernel *k = t->k;
	/* A task that never ran: it leaves as a thread would. */
	if (t->tg && t->tg->threads == t) {
		t->tg->threads = NULL;
		t->tg->nthreads = 0;
	}
	if (t->next || t->prev || k->tasks == t) {
		k->tasks = NULL;
		k->ntasks = 0;
	}
	pf_ctx_free(t->ctx);
	mm_put(t->mm);
	fdt_put(t->fdt);
	fs_ctx_put(t->fs);
	if (t->tg && t->tg != k->init)
		tg_release(t->tg);
	free(t);
	kernel_free(k);
}

/* The sandbox runs until its init is gone. */
static int run_to_end(struct k_kernel *k, uint64_t ignored, int *status)
{
	k_schedule(k, ignored);
	*status = k->init->exit_status;
	if (k->enosys_count)
		k_log(k, "%llu calls to unsupported syscalls", (unsigned long long)k->enosys_count);
	if (k->gofer)
		k_log(k, "%llu gofer round trips",
		      (unsigned long long)gf_client_round_trips(k->gofer));
	kernel_free(k);
	return 0;
}

/* The boot task of a restored sandbox: the snapshot's tasks replace it. */
static void drop_boot_task(struct k_task *t)
{
	struct k_kernel *k = t->k;
	if (t->prev)
		t->prev->next = t->next;
	else
		k->tasks = t->next;
	if (t->next)
		t->next->prev = t->prev;
	k->ntasks--;
	pf_ctx_free(t->ctx);
	mm_put(t->mm);
	fdt_put(t->fdt);
	fs_ctx_put(t->fs);
	tg_release(t->tg);
	free(t);
}

int k_restore(const struct k_config *cfg, const char *path, int *status, const char **why)
{
	static char reason[512], asked[4096];
	struct k_task *t;
	int err = k_boot(cfg, &t, why);
	if (err)
		return err;
	struct k_kernel *k = t->k;
	/* Pre-started (no path): booted now, the snapshot comes later. */
	int sfd;
	if (!path) {
		/* Whatever can be done ahead is done while waiting: the filter
		 * compiled, a thread ready for the restored process's first
		 * new one (its first will have the boot task's). */
		k_seccomp_prepare();
		pf_as_spare_thread(t->mm->as);
		if ((err = ckpt_wait_restore(k, &sfd, asked, sizeof(asked)))) {
			*why = "cannot wait on the control socket";
			k_teardown(t);
			return err;
		}
		path = asked;
	} else if ((sfd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		err = -errno;
		*why = "cannot open";
		k_teardown(t);
		return err;
	}
	int64_t t0 = k_clock_ns(CLOCK_MONOTONIC);
	struct snap_reader *r;
	if ((err = snap_open_fd(sfd, &r, reason, sizeof(reason)))) {
		close(sfd);
		*why = reason;
		ckpt_answer_restore(k, err, reason, 0);
		k_teardown(t);
		return err;
	}
	/* Memory comes from the snapshot's image, shared copy-on-write, or
	 * (none can be made: a read-only directory) is copied in. */
	uint64_t isize = 0;
	int ifd = cfg->restore_eager ? -EINVAL : ckpt_image_open(r, sfd, path, &isize);
	close(sfd); /* the reader keeps its own mapping */
	if (ifd < 0 && !cfg->restore_eager)
		k_log(k, "no memory image (%s): memory is copied", strerror(-ifd));
	struct ckpt_hot *hot = ckpt_hot_open(k, path, ifd, isize);
	err = ckpt_restore(t, r, ifd, isize, reason, sizeof(reason));
	if (ifd >= 0)
		close(ifd); /* the objects (and the copier) keep their own */
	snap_close(r);
	if (err) {
		ckpt_hot_apply(k, hot, false);
		ckpt_hot_abandon(k, path);
		*why = reason;
		ckpt_answer_restore(k, err, reason, 0);
		k_teardown(t);
		return err;
	}
	drop_boot_task(t);
	double ms = (double)(k_clock_ns(CLOCK_MONOTONIC) - t0) / 1e6;
	k_log(k, "restored in %.3f ms", ms);
	ckpt_answer_restore(k, 0, NULL, ms);
	/* The hot pages are put in place after the answer: nothing can fail
	 * any more, and the sentry does it while whoever asked wakes up and
	 * sends the first request (here, 0.3-1 ms), before any guest code
	 * runs. */
	ckpt_hot_apply(k, hot, true);
	if ((err = confine(k, why))) {
		k_kill_all(k);
		k_schedule(k, 0);
		kernel_free(k);
		return err;
	}
	return run_to_end(k, 0, status);
}

int k_run(const struct k_config *cfg, int *status, const char **why)
{
	struct k_task *t;
	int err = k_boot(cfg, &t, why);
	if (err)
		return err;
	char exe[K_PATH_MAX];
	err = k_find_program(t, cfg->exe, cfg->envp, exe, sizeof(exe));
	if (err)
		*why = "not found in the sandbox";
	else
		err = k_exec_load(t, exe, cfg->argv, cfg->envp, why);
	if (err) {
		k_teardown(t);
		return err;
	}
	uint64_t ignored = k_ignored_at_start();
	for (int sig = 1; sig <= K_NSIG; sig++)
		if (ignored & SIGBIT(sig))
			t->tg->act[sig].handler = (uint64_t)SIG_IGN;
	struct k_kernel *k = t->k;
	if ((err = confine(k, why))) {
		k_teardown(t);
		return err;
	}
	k_task_start(t);
	return run_to_end(k, ignored, status);
}
