/* Inodes and superblocks. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "../sentry.h"

struct k_super *super_new(const char *type, long magic)
{
	static uint64_t next_dev = 1;
	struct k_super *sb = calloc(1, sizeof(*sb));
	if (!sb)
		return NULL;
	sb->refs = 1;
	sb->type = type;
	sb->magic = magic;
	/* Anonymous device numbers, as Linux gives tmpfs and proc (major 0). */
	sb->dev = makedev(0, 0x20 + __atomic_fetch_add(&next_dev, 1, __ATOMIC_RELAXED));
	sb->next_ino = 1;
	return sb;
}

void super_put(struct k_super *sb)
{
	if (sb && --sb->refs == 0) {
		if (sb->put_priv)
			sb->put_priv(sb->priv);
		free(sb);
	}
}

struct k_inode *inode_new(struct k_super *sb, const struct k_inode_ops *ops, uint32_t mode)
{
	struct k_inode *ino = calloc(1, sizeof(*ino));
	if (!ino)
		return NULL;
	ino->refs = 1;
	ino->ops = ops;
	ino->sb = sb;
	sb->refs++;
	ino->ino = sb->next_ino++;
	ino->mode = mode;
	ino->nlink = 1;
	ino->blocks = 0;
	k_clock_ts(CLOCK_REALTIME, &ino->mtime);
	ino->atime = ino->ctime = ino->mtime;
	return ino;
}

struct k_inode *inode_get(struct k_inode *ino)
{
	ino->refs++;
	return ino;
}

void inode_put(struct k_inode *ino)
{
	if (!ino || --ino->refs > 0)
		return;
	if (ino->ops && ino->ops->evict)
		ino->ops->evict(ino);
	locks_free(ino);
	super_put(ino->sb);
	free(ino);
}

void inode_touch(struct k_inode *ino, bool atime, bool mtime, bool ctime)
{
	struct timespec now;
	k_clock_ts(CLOCK_REALTIME, &now);
	if (atime)
		ino->atime = now;
	if (mtime)
		ino->mtime = now;
	if (ctime)
		ino->ctime = now;
}

void inode_stat(const struct k_inode *ino, struct stat *st)
{
	if (ino->ops && ino->ops->refresh)
		ino->ops->refresh((struct k_inode *)ino);
	memset(st, 0, sizeof(*st));
	st->st_dev = ino->sb->dev;
	st->st_ino = ino->ino;
	st->st_mode = ino->mode;
	st->st_nlink = ino->nlink;
	st->st_uid = ino->uid;
	st->st_gid = ino->gid;
	st->st_rdev = ino->rdev;
	st->st_size = (off_t)ino->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)ino->blocks;
	st->st_atim = ino->atime;
	st->st_mtim = ino->mtime;
	st->st_ctim = ino->ctime;
}
