/* Waiting for children: wait4 and waitid.  A thread group's children are
 * its zombies to reap and its stopped or continued children to report;
 * every thread of the group may wait for them (Linux without
 * __WNOTHREAD). */
#define _GNU_SOURCE
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "../sentry.h"

#define ERESTARTSYS 512
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define WAIT_FLAGS (__WNOTHREAD | __WCLONE | __WALL)

struct wait_opts {
	int type; /* P_ALL, P_PID, P_PGID */
	int id;
	int options;
};

static bool eligible(const struct k_thread_group *c, const struct wait_opts *wo)
{
	if (wo->type == P_PID && c->pid != wo->id)
		return false;
	if (wo->type == P_PGID && c->pgid != wo->id)
		return false;
	if (wo->options & __WALL)
		return true;
	/* A "clone" child is one that signals something other than SIGCHLD. */
	return ((c->exit_signal != SIGCHLD) ^ !(wo->options & __WCLONE)) != 0;
}

struct wait_result {
	int pid, uid, code, status; /* code: CLD_*; status: wait4's */
	uint64_t cpu;
};

static void result_exit(const struct k_thread_group *c, struct wait_result *r)
{
	int x = c->exit_code;
	r->pid = c->pid;
	r->uid = (int)c->uid;
	r->status = x;
	r->cpu = c->cpu_base + c->cpu_children;
	if (x & 0x7f) {
		r->code = (x & K_WCORE) ? CLD_DUMPED : CLD_KILLED;
		r->status = x & 0xff;
	} else {
		r->code = CLD_EXITED;
	}
}

/* One eligible child with something to report, taken (unless WNOWAIT);
 * 1 with *r set, 0 if none yet, -ECHILD if no child is eligible at all. */
static int find_child(struct k_task *t, const struct wait_opts *wo, struct wait_result *r)
{
	bool any = false;
	for (struct k_thread_group *c = t->tg->children; c; c = c->sibling) {
		if (!eligible(c, wo))
			continue;
		any = true;
		if (c->zombie && (wo->options & WEXITED)) {
			result_exit(c, r);
			if (!(wo->options & WNOWAIT)) {
				t->tg->cpu_children += r->cpu;
				tg_release(c);
			}
			return 1;
		}
		if (c->report_stop && c->stopped && (wo->options & WSTOPPED)) {
			*r = (struct wait_result){c->pid, (int)c->uid, CLD_STOPPED,
						  (c->stop_sig << 8) | 0x7f, 0};
			if (!(wo->options & WNOWAIT))
				c->report_stop = false;
			return 1;
		}
		if (c->report_cont && (wo->options & WCONTINUED)) {
			*r = (struct wait_result){c->pid, (int)c->uid, CLD_CONTINUED, 0xffff, 0};
			if (!(wo->options & WNOWAIT))
				c->report_cont = false;
			return 1;
		}
	}
	return any ? 0 : -ECHILD;
}

static int do_wait(struct k_task *t, const struct wait_opts *wo, struct wait_result *r)
{
	struct k_waitq *q = &t->tg->child_wait;
	struct k_sleep s = {.qs = &q, .nq = 1};
	for (;;) {
		int found = find_child(t, wo, r);
		if (found)
			return found;
		if (wo->options & WNOHANG)
			return 0;
		if (k_sleep(t, &s) == -EINTR)
			return -ERESTARTSYS;
	}
}

static int put_rusage(struct k_task *t, uint64_t uru, const struct wait_result *r)
{
	if (!uru)
		return 0;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	ru.ru_utime.tv_sec = (time_t)(r->cpu / 1000000000ull);
	ru.ru_utime.tv_usec = (suseconds_t)(r->cpu % 1000000000ull / 1000);
	return k_copy_out(t, uru, &ru, sizeof(ru));
}

SYSCALL(wait4)
{
	int pid = (int)a[0], options = (int)a[2];
	if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | WAIT_FLAGS))
		return -EINVAL;
	if (pid == INT32_MIN)
		return -ESRCH;
	struct wait_opts wo = {.options = options | WEXITED};
	if (pid < -1)
		wo.type = P_PGID, wo.id = -pid;
	else if (pid == -1)
		wo.type = P_ALL;
	else if (pid == 0)
		wo.type = P_PGID, wo.id = t->tg->pgid;
	else
		wo.type = P_PID, wo.id = pid;
	struct wait_result r;
	int found = do_wait(t, &wo, &r);
	if (found <= 0)
		return found;
	int status = r.status;
	if (a[1] && k_copy_out(t, a[1], &status, sizeof(status)))
		return -EFAULT;
	if (put_rusage(t, a[3], &r))
		return -EFAULT;
	return r.pid;
}

SYSCALL(waitid)
{
	int type = (int)a[0], id = (int)a[1], options = (int)a[3];
	if (options & ~(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | WAIT_FLAGS))
		return -EINVAL;
	if (!(options & (WEXITED | WSTOPPED | WCONTINUED)))
		return -EINVAL;
	struct wait_opts wo = {.type = type, .id = id, .options = options};
	switch (type) {
	case P_ALL:
		break;
	case P_PID:
		if (id <= 0)
			return -EINVAL;
		break;
	case P_PGID:
		if (id < 0)
			return -EINVAL;
		if (id == 0)
			wo.id = t->tg->pgid;
		break;
	case P_PIDFD:
		return -EBADF; /* no pidfds in the sentry yet */
	default:
		return -EINVAL;
	}
	struct wait_result r;
	int found = do_wait(t, &wo, &r);
	if (found < 0)
		return found;
	if (a[2]) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (found) {
			si.si_signo = SIGCHLD;
			si.si_code = r.code;
			si.si_pid = r.pid;
			si.si_uid = (uid_t)r.uid;
			if (r.code == CLD_EXITED)
				si.si_status = (r.status >> 8) & 0xff;
			else if (r.code == CLD_STOPPED)
				si.si_status = (r.status >> 8) & 0xff;
			else if (r.code == CLD_CONTINUED)
				si.si_status = SIGCONT;
			else
				si.si_status = r.status & 0x7f;
		}
		if (k_copy_out(t, a[2], &si, sizeof(si)))
			return -EFAULT;
	}
	if (found && put_rusage(t, a[4], &r))
		return -EFAULT;
	return 0;
}
