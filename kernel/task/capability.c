/* capget and capset: each thread group's effective, permitted and
 * inheritable sets, as Linux keeps them in the sandbox's user namespace.
 * A group running as uid 0 starts with every capability, others with
 * none; execve recomputes them as Linux does for a non-setuid file (root
 * keeps all, others lose permitted and effective).  The sentry's own
 * checks still read "privileged" as euid 0. */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <string.h>

#include "../sentry.h"

/* Every capability this kernel knows (CAP_CHECKPOINT_RESTORE is 40). */
#define CAP_ALL ((1ULL << 41) - 1)

void caps_init(struct k_thread_group *tg)
{
	uint64_t all = tg->euid == 0 ? CAP_ALL : 0;
	tg->cap_effective = tg->cap_permitted = all;
	tg->cap_inheritable = 0;
}

void caps_exec(struct k_thread_group *tg)
{
	/* No file capabilities: root gets the full set back, others keep
	 * nothing (ambient capabilities are not offered). */
	if (tg->euid == 0 || tg->uid == 0)
		tg->cap_permitted = tg->cap_effective = CAP_ALL;
	else
		tg->cap_permitted = tg->cap_effective = 0;
}

void caps_setuid(struct k_thread_group *tg, uint32_t old_r, uint32_t old_e, uint32_t old_s,
		 bool keep)
{
	/* Linux's cap_emulate_setxuid. */
	bool had_root = old_r == 0 || old_e == 0 || old_s == 0;
	bool has_root = tg->uid == 0 || tg->euid == 0 || tg->suid == 0;
	if (had_root && !has_root) {
		if (!keep)
			tg->cap_permitted = 0;
		tg->cap_effective = 0;
	}
	if (old_e == 0 && tg->euid != 0)
		tg->cap_effective = 0;
	if (old_e != 0 && tg->euid == 0)
		tg->cap_effective = tg->cap_permitted;
}

/* How many 32-bit data words a header version takes; 0 if unknown. */
static int words(uint32_t version)
{
	switch (version) {
	case _LINUX_CAPABILITY_VERSION_1: return 1;
	case _LINUX_CAPABILITY_VERSION_2:
	case _LINUX_CAPABILITY_VERSION_3: return 2;
	default: return 0;
	}
}

static long read_header(struct k_task *t, uint64_t uhdr, int *n, int *pid)
{
	struct __user_cap_header_struct h;
	if (k_copy_in(t, &h, uhdr, sizeof(h)))
		return -EFAULT;
	*n = words(h.version);
	if (!*n) {
		/* The caller learns the version this kernel prefers. */
		h.version = _LINUX_CAPABILITY_VERSION_3;
		if (k_copy_out(t, uhdr, &h.version, sizeof(h.version)))
			return -EFAULT;
		return -EINVAL;
	}
	*pid = h.pid;
	return 0;
}

SYSCALL(capget)
{
	int n, pid;
	long err = read_header(t, a[0], &n, &pid);
	if (err)
		return err;
	if (pid < 0)
		return -EINVAL;
	struct k_task *o = pid == 0 ? t : task_by_tid(t->k, pid);
	if (!o)
		return -ESRCH;
	if (!a[1])
		return 0; /* probing the version */
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	struct k_thread_group *tg = o->tg;
	for (int i = 0; i < n; i++) {
		d[i].effective = (uint32_t)(tg->cap_effective >> (32 * i));
		d[i].permitted = (uint32_t)(tg->cap_permitted >> (32 * i));
		d[i].inheritable = (uint32_t)(tg->cap_inheritable >> (32 * i));
	}
	return k_copy_out(t, a[1], d, (size_t)n * sizeof(d[0]));
}

SYSCALL(capset)
{
	int n, pid;
	long err = read_header(t, a[0], &n, &pid);
	if (err)
		return err;
	/* Only one's own sets may change (no CAP_SETPCAP over others). */
	if (pid != 0 && pid != t->tid)
		return -EPERM;
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	if (k_copy_in(t, d, a[1], (size_t)n * sizeof(d[0])))
		return -EFAULT;
	uint64_t e = 0, p = 0, i = 0;
	for (int w = 0; w < n; w++) {
		e |= (uint64_t)d[w].effective << (32 * w);
		p |= (uint64_t)d[w].permitted << (32 * w);
		i |= (uint64_t)d[w].inheritable << (32 * w);
	}
	e &= CAP_ALL, p &= CAP_ALL, i &= CAP_ALL;
	struct k_thread_group *tg = t->tg;
	/* Linux's cap_capset: no new permitted ones, effective within
	 * permitted, inheritable within the old inheritable and permitted. */
	if (p & ~tg->cap_permitted)
		return -EPERM;
	if (e & ~p)
		return -EPERM;
	if (i & ~(tg->cap_inheritable | tg->cap_permitted))
		return -EPERM;
	tg->cap_effective = e;
	tg->cap_permitted = p;
	tg->cap_inheritable = i;
	return 0;
}
