/* Objects several file descriptions share (a pipe's buffer), named by ids
 * in a snapshot: the first file saved writes the object's state, the rest
 * only its id; at restore the first makes it and the rest find it. */
#include <stdlib.h>

#include "ckpt.h"

static int grow(struct ckpt_ctx *c, size_t need)
{
	if (need <= c->cap)
		return 0;
	size_t n = c->cap ? c->cap * 2 : 16;
	while (n < need)
		n *= 2;
	void **nv = realloc(c->v, n * sizeof(*nv));
	if (nv)
		c->v = nv;
	int *nk = nv ? realloc(c->kind, n * sizeof(*nk)) : NULL;
	if (!nk)
		return -ENOMEM;
	c->kind = nk;
	for (size_t i = c->cap; i < n; i++) {
		nv[i] = NULL;
		nk[i] = 0;
	}
	c->cap = n;
	return 0;
}

uint32_t ckpt_shared_id(struct ckpt_ctx *c, const void *obj, bool *fresh)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i] == obj) {
			*fresh = false;
			return (uint32_t)i + 1;
		}
	*fresh = true;
	if (grow(c, c->n + 1))
		return 0;
	c->v[c->n++] = (void *)obj;
	return (uint32_t)c->n;
}

int ckpt_unsaved(struct ckpt_ctx *c, const char *what)
{
	c->why = what;
	return -EOPNOTSUPP;
}

struct k_task *ckpt_boot_task(struct ckpt_ctx *c)
{
	return c->t0;
}

bool ckpt_shared_known(struct ckpt_ctx *c, uint32_t id)
{
	return id >= 1 && id <= c->n && c->v[id - 1];
}

void *ckpt_shared_get(struct ckpt_ctx *c, uint32_t id, int kind)
{
	return ckpt_shared_known(c, id) && c->kind[id - 1] == kind ? c->v[id - 1] : NULL;
}

int ckpt_shared_set(struct ckpt_ctx *c, uint32_t id, int kind, void *obj)
{
	if (id == 0 || id > CK_MAX_OBJECTS || ckpt_shared_known(c, id))
		return -EBADMSG;
	int err = grow(c, id);
	if (err)
		return err;
	c->v[id - 1] = obj;
	c->kind[id - 1] = kind;
	if (id > c->n)
		c->n = id;
	return 0;
}

uint64_t ckpt_vdso_hash(const struct k_kernel *k, const struct k_mobj *o)
{
	/* FNV-1a over the image: the same bytes, the same functions at the
	 * same places (a guest's C library keeps pointers into it). */
	const uint8_t *p = mobj_host(&k->mem, o);
	uint64_t h = 0xcbf29ce484222325ULL;
	for (uint64_t i = 0; i < o->len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}
