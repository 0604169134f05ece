/* What System V IPC objects share: their key, owner and mode, and
 * Linux's permission rules for them (ipc/util.c's ipcperms). */
#include <string.h>

#include "../sentry.h"

bool ipc_allowed(struct k_task *t, const struct k_ipc_perm *p, int want)
{
	struct k_thread_group *tg = t->tg;
	if (tg->euid == 0)
		return true;
	int bits;
	if (tg->euid == p->uid || tg->euid == p->cuid)
		bits = p->mode >> 6;
	else if (tg->egid == p->gid || tg->egid == p->cgid)
		bits = p->mode >> 3;
	else
		bits = p->mode;
	return (bits & want) == want;
}

bool ipc_owner(struct k_task *t, const struct k_ipc_perm *p)
{
	uint32_t e = t->tg->euid;
	return e == 0 || e == p->uid || e == p->cuid;
}

void ipc_perm64(const struct k_ipc_perm *p, struct k_ipc64_perm *out)
{
	memset(out, 0, sizeof(*out));
	out->key = p->key;
	out->uid = p->uid, out->gid = p->gid;
	out->cuid = p->cuid, out->cgid = p->cgid;
	out->mode = p->mode;
	out->seq = p->seq;
}

void ipc_perm_init(struct k_task *t, struct k_ipc_perm *p, int32_t key, int flags, uint16_t seq)
{
	p->key = key;
	p->uid = p->cuid = t->tg->euid;
	p->gid = p->cgid = t->tg->egid;
	p->mode = (uint16_t)(flags & 0777);
	p->seq = seq;
}
