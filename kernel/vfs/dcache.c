/* The dentry cache: names resolved once are not asked of a filesystem
 * again (for the gofer, that is a round trip saved).  Dentries are hashed
 * by (parent, name); unused ones sit on an LRU list and are evicted past a
 * bound, so a guest looking up endless names cannot grow the sentry. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "../sentry.h"

#define MAX_UNUSED 65536
/* The hash table grows with the dentries it holds, one bucket each (a
 * fixed one of 16384 buckets had a sandbox of ~100 dentries touch all of
 * its 128 KiB, bucket by random bucket, and keep it). */
#define MIN_BUCKETS 256
#define MAX_BUCKETS (1u << 17)

static struct k_dentry *few[MIN_BUCKETS], **table = few;
static size_t nbuckets = MIN_BUCKETS, nhashed;
static struct k_dentry lru = {.lru_prev = &lru, .lru_next = &lru};
static size_t unused;

static uint32_t name_hash(const struct k_dentry *parent, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)parent;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (uint32_t)(h ^ (h >> 32));
}

static void lru_del(struct k_dentry *d)
{
	if (!d->lru_next)
		return;
	d->lru_prev->lru_next = d->lru_next;
	d->lru_next->lru_prev = d->lru_prev;
	d->lru_prev = d->lru_next = NULL;
	unused--;
}

static void unhash(struct k_dentry *d)
{
	if (!d->hashed)
		return;
	struct k_dentry **pp = &table[d->hash & (nbuckets - 1)];
	while (*pp && *pp != d)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = d->hnext;
	d->hnext = NULL;
	d->hashed = false;
	nhashed--;
}

/* Twice the buckets, when there are more dentries than buckets; with no
 * memory for that, the chains just grow longer. */
static void grow(void)
{
	if (nhashed <= nbuckets || nbuckets >= MAX_BUCKETS)
		return;
	size_t n = nbuckets * 2;
	struct k_dentry **t = calloc(n, sizeof(*t));
	if (!t)
		return;
	for (size_t i = 0; i < nbuckets; i++)
		for (struct k_dentry *d = table[i], *next; d; d = next) {
			next = d->hnext;
			struct k_dentry **slot = &t[d->hash & (n - 1)];
			d->hnext = *slot;
			*slot = d;
		}
	if (table != few)
		free(table);
	table = t;
	nbuckets = n;
}

static void hash_in(struct k_dentry *d)
{
	struct k_dentry **slot = &table[d->hash & (nbuckets - 1)];
	d->hnext = *slot;
	*slot = d;
	d->hashed = true;
	nhashed++;
	grow();
}

struct k_dentry *dentry_get(struct k_dentry *d)
{
	if (d->refs++ == 0)
		lru_del(d);
	return d;
}

static void dentry_free(struct k_dentry *d)
{
	while (d) {
		struct k_dentry *parent = d->parent;
		unhash(d);
		lru_del(d);
		inode_put(d->inode);
		free(d->name);
		free(d);
		/* Freeing a child drops its reference on the parent. */
		if (!parent || --parent->refs > 0)
			return;
		if (parent->hashed && parent->parent) {
			/* Cached and unused: keep it on the LRU. */
			parent->lru_next = lru.lru_next;
			parent->lru_prev = &lru;
			lru.lru_next->lru_prev = parent;
			lru.lru_next = parent;
			unused++;
			return;
		}
		d = parent;
	}
}

static void evict_unused(void)
{
	while (unused > MAX_UNUSED) {
		struct k_dentry *victim = lru.lru_prev;
		lru_del(victim);
		dentry_free(victim);
	}
}

void dentry_put(struct k_dentry *d)
{
	if (!d || --d->refs > 0)
		return;
	/* A named, hashed dentry stays cached until evicted; a filesystem
	 * root or a dropped one goes now. */
	if (d->hashed && d->parent && !d->mounted) {
		d->lru_next = lru.lru_next;
		d->lru_prev = &lru;
		lru.lru_next->lru_prev = d;
		lru.lru_next = d;
		unused++;
		evict_unused();
		return;
	}
	dentry_free(d);
}

static struct k_dentry *dentry_alloc(struct k_dentry *parent, const char *name)
{
	struct k_dentry *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->name = strdup(name);
	if (!d->name) {
		free(d);
		return NULL;
	}
	d->refs = 1;
	if (parent) {
		d->parent = dentry_get(parent);
		d->hash = name_hash(parent, name);
	}
	return d;
}

struct k_dentry *dentry_root(struct k_inode *root)
{
	struct k_dentry *d = dentry_alloc(NULL, "/");
	if (d)
		d->inode = inode_get(root);
	return d;
}

struct k_dentry *dentry_lookup(struct k_dentry *dir, const char *name, int *err)
{
	uint32_t h = name_hash(dir, name);
	for (struct k_dentry *d = table[h & (nbuckets - 1)]; d; d = d->hnext) {
		if (d->hash != h || d->parent != dir || strcmp(d->name, name) != 0)
			continue;
		/* /proc's processes and fds come and go: ask it again. */
		if (!procfs_revalidate(dir->inode, name, d->inode)) {
			unhash(d);
			break;
		}
		return dentry_get(d);
	}
	struct k_inode *dino = dir->inode;
	if (!dino->ops->lookup) {
		*err = -ENOTDIR;
		return NULL;
	}
	struct k_inode *ino = NULL;
	int r = dino->ops->lookup(dino, name, &ino);
	if (r && r != -ENOENT) {
		*err = r;
		return NULL;
	}
	struct k_dentry *d = dentry_alloc(dir, name);
	if (!d) {
		inode_put(ino);
		*err = -ENOMEM;
		return NULL;
	}
	d->inode = ino;
	hash_in(d);
	return d;
}

void dentry_instantiate(struct k_dentry *d, struct k_inode *ino)
{
	inode_put(d->inode);
	d->inode = inode_get(ino);
}

void dentry_drop(struct k_dentry *d)
{
	unhash(d);
}

int dentry_move(struct k_dentry *d, struct k_dentry *newdir, const char *newname)
{
	char *n = strdup(newname);
	if (!n)
		return -ENOMEM;
	unhash(d);
	free(d->name);
	d->name = n;
	if (d->parent != newdir) {
		struct k_dentry *old = d->parent;
		d->parent = dentry_get(newdir);
		dentry_put(old);
	}
	d->hash = name_hash(newdir, newname);
	hash_in(d);
	return 0;
}

void dcache_clear(void)
{
	while (unused) {
		struct k_dentry *victim = lru.lru_prev;
		lru_del(victim);
		dentry_free(victim);
	}
}

int dentry_rename_root(struct k_dentry *d, const char *name)
{
	char *n = strdup(name);
	if (!n)
		return -ENOMEM;
	free(d->name);
	d->name = n;
	return 0;
}

struct k_dentry *dentry_anon(struct k_dentry *parent, const char *name, struct k_inode *ino)
{
	struct k_dentry *d = dentry_alloc(parent, name);
	if (d)
		d->inode = inode_get(ino);
	return d;
}
