/* Objects several file descriptions share (a pipe's buffer), named by ids
 * in a snapshot: the first file saved writes the object's state, the rest
 * only its id; at restore the first makes it and the rest find it. */
#include <stdlib.h>

#include "ckpt.h"

static int grow(void ***v, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void **nv = realloc(*v, n * sizeof(**v));
	if (!nv)
		return -ENOMEM;
	for (size_t i = *cap; i < n; i++)
		nv[i] = NULL;
	*v = nv;
	*cap = n;
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
	if (grow(&c->v, &c->cap, c->n + 1))
		return 0;
	c->v[c->n++] = (void *)obj;
	return (uint32_t)c->n;
}

void *ckpt_shared_get(struct ckpt_ctx *c, uint32_t id)
{
	return id >= 1 && id <= c->n ? c->v[id - 1] : NULL;
}

int ckpt_shared_set(struct ckpt_ctx *c, uint32_t id, void *obj)
{
	if (id == 0 || id > CK_MAX_OBJECTS || ckpt_shared_get(c, id))
		return -EBADMSG;
	int err = grow(&c->v, &c->cap, id);
	if (err)
		return err;
	c->v[id - 1] = obj;
	if (id > c->n)
		c->n = id;
	return 0;
}
