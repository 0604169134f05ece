/* The mount table and path names. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "../sentry.h"

struct k_path path_get(struct k_path p)
{
	if (p.mnt)
		p.mnt->refs++;
	if (p.d)
		dentry_get(p.d);
	return p;
}

void path_put(struct k_path *p)
{
	if (p->d)
		dentry_put(p->d);
	if (p->mnt)
		p->mnt->refs--;
	p->d = NULL;
	p->mnt = NULL;
}

bool path_equal(struct k_path a, struct k_path b)
{
	return a.mnt == b.mnt && a.d == b.d;
}

int mount_add(struct k_kernel *k, const struct k_path *at, struct k_super *sb,
	      struct k_dentry *root, int flags, const char *source, struct k_mount **out)
{
	struct k_mount *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->source = strdup(source ? source : "none");
	if (!m->source) {
		free(m);
		return -ENOMEM;
	}
	m->refs = 1;
	m->sb = sb;
	sb->refs++;
	m->root = dentry_get(root);
	m->flags = flags;
	if (at) {
		m->parent = at->mnt;
		m->mountpoint = dentry_get(at->d);
		at->d->mounted++;
	}
	m->next = k->mounts;
	k->mounts = m;
	if (out)
		*out = m;
	return 0;
}

void mounts_free(struct k_kernel *k)
{
	/* Newest first: children go before the mounts they sit on. */
	while (k->mounts) {
		struct k_mount *m = k->mounts;
		k->mounts = m->next;
		if (m->mountpoint) {
			m->mountpoint->mounted--;
			dentry_put(m->mountpoint);
		}
		dentry_put(m->root);
		super_put(m->sb);
		free(m->source);
		free(m);
	}
}

/* The mount on (mnt, d), the most recent if several are stacked. */
struct k_mount *mount_at(struct k_kernel *k, struct k_mount *mnt, struct k_dentry *d)
{
	if (!d->mounted)
		return NULL;
	for (struct k_mount *m = k->mounts; m; m = m->next)
		if (m->parent == mnt && m->mountpoint == d)
			return m;
	return NULL;
}

bool mount_readonly(const struct k_mount *m)
{
	return m->flags & MS_RDONLY;
}

struct k_path vfs_abs_root(struct k_kernel *k)
{
	for (struct k_mount *m = k->mounts; m; m = m->next)
		if (!m->parent)
			return (struct k_path){m, m->root};
	return (struct k_path){0};
}

int path_name(const struct k_path *root, const struct k_path *p, char *buf, size_t size)
{
	/* Names are collected from the leaf up, then written out reversed. */
	const char *parts[K_PATH_MAX / 2];
	int n = 0;
	struct k_mount *mnt = p->mnt;
	struct k_dentry *d = p->d;
	bool reached = false;
	while (n < (int)ARRAY_LEN(parts)) {
		if (mnt == root->mnt && d == root->d) {
			reached = true;
			break;
		}
		if (d == mnt->root) {
			if (!mnt->parent)
				break; /* the absolute root, outside a chroot */
			d = mnt->mountpoint;
			mnt = mnt->parent;
			continue;
		}
		parts[n++] = d->name;
		if (!d->parent) {
			/* A dentry of its own (memfd, O_TMPFILE): no way up. */
			reached = true;
			break;
		}
		d = d->parent;
	}
	size_t len = 0;
	const char *prefix = reached ? "" : "(unreachable)";
	size_t plen = strlen(prefix);
	if (plen + 1 > size)
		return -ENAMETOOLONG;
	memcpy(buf, prefix, plen);
	len = plen;
	if (n == 0) {
		buf[len++] = '/';
	}
	for (int i = n - 1; i >= 0; i--) {
		size_t l = strlen(parts[i]);
		if (len + 1 + l + 1 > size)
			return -ENAMETOOLONG;
		buf[len++] = '/';
		memcpy(buf + len, parts[i], l);
		len += l;
	}
	/* A name that was removed, as /proc/PID/fd shows it. */
	const char del[] = " (deleted)";
	if (p->d->inode && p->d->inode->nlink == 0 && !S_ISDIR(p->d->inode->mode)) {
		if (len + sizeof(del) > size)
			return -ENAMETOOLONG;
		memcpy(buf + len, del, sizeof(del));
		len += sizeof(del) - 1;
	}
	buf[len] = 0;
	return (int)len;
}
