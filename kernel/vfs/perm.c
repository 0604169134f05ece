/* Permission checks, as Linux's generic_permission with capabilities
 * reduced to "fsuid 0 may do anything but execute a file nobody may". */
#define _GNU_SOURCE
#include "../sentry.h"

void task_cred(const struct k_task *t, struct k_cred *c)
{
	c->uid = t->tg->uid;
	c->euid = t->tg->euid;
	c->fsuid = t->tg->fsuid;
	c->gid = t->tg->gid;
	c->egid = t->tg->egid;
	c->fsgid = t->tg->fsgid;
}

int inode_permission(struct k_task *t, struct k_inode *ino, int mask)
{
	struct k_cred c;
	task_cred(t, &c);
	uint32_t mode = ino->mode;
	if (c.fsuid == 0) {
		/* CAP_DAC_OVERRIDE: all but exec of a file with no x bit. */
		if (!(mask & MAY_EXEC) || S_ISDIR(mode) || (mode & 0111))
			return 0;
		return -EACCES;
	}
	unsigned bits;
	bool group = c.fsgid == ino->gid;
	for (int i = 0; !group && i < t->tg->ngroups; i++)
		group = t->tg->groups[i] == ino->gid;
	if (c.fsuid == ino->uid)
		bits = (mode >> 6) & 7;
	else if (group)
		bits = (mode >> 3) & 7;
	else
		bits = mode & 7;
	return ((unsigned)mask & ~bits) ? -EACCES : 0;
}
