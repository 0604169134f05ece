/* AF_UNIX sockets in a snapshot: each end with its options, name, peer
 * and credentials, and the message queues it shares with its peer (each
 * saved once, with the bytes waiting in it), so a socketpair, an accepted
 * connection or a listener comes back as it was, both ends in the one
 * sandbox.  A name in the filesystem is taken again at the node's path
 * (the tmpfs trees come back first).  Not saved yet, and refused with a
 * reason: descriptors in flight (SCM_RIGHTS), and connections a listener
 * has not accepted. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../snapshot/snapshot.h"
#include "net.h"

/* A restored queue may hold at most this much (a sender fills one to
 * about UNIX_BUF; a hostile snapshot gets no further). */
#define QUEUE_MAX (4 * UNIX_BUF)

static void put_addr(struct snap_enc *e, const struct unix_addr *a)
{
	snap_put_bytes(e, a->path, a->len);
}

static int get_addr(struct snap_dec *d, struct unix_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->len = (socklen_t)snap_get_bytes(d, a->path, sizeof(a->path));
	return snap_dec_err(d) ? -EBADMSG : 0;
}

static void put_cred(struct snap_enc *e, const struct unix_cred *c)
{
	snap_put_u32(e, (uint32_t)c->pid);
	snap_put_u32(e, c->uid);
	snap_put_u32(e, c->gid);
}

static void get_cred(struct snap_dec *d, struct unix_cred *c)
{
	c->pid = (int)snap_get_u32(d);
	c->uid = snap_get_u32(d);
	c->gid = snap_get_u32(d);
}

static int save_queue(struct snap_enc *e, struct ckpt_ctx *c, const struct unix_queue *q)
{
	bool fresh = false;
	uint32_t id = q ? ckpt_shared_id(c, q, &fresh) : 0;
	if (q && !id)
		return -ENOMEM;
	snap_put_u32(e, id);
	if (!fresh)
		return 0;
	for (const struct unix_msg *m = q->head; m; m = m->next)
		if (m->nfiles)
			return ckpt_unsaved(c, "a message queued on it carries descriptors");
	snap_put_u8(e, (uint8_t)(q->eof | q->nopeer << 1));
	snap_put_u32(e, (uint32_t)q->nmsgs);
	for (const struct unix_msg *m = q->head; m; m = m->next) {
		snap_put_u64(e, m->off);
		put_cred(e, &m->cred);
		put_addr(e, &m->from);
		snap_put_bytes(e, m->data, m->len);
	}
	return 0;
}

int unix_save(struct k_file *f, struct snap_enc *e, struct ckpt_ctx *c)
{
	struct unix_end *u = f->priv;
	if (u->aq_len)
		return ckpt_unsaved(c, "a listener with connections not yet accepted");
	snap_put_u8(e, (uint8_t)u->type);
	snap_put_u8(e, (uint8_t)(u->shut_rd | u->passcred << 1 | u->listening << 2 |
				 u->has_peer_cred << 3));
	snap_put_u32(e, (uint32_t)u->backlog);
	put_addr(e, &u->name);
	put_addr(e, &u->peer);
	snap_put_str(e, u->ino && u->node_path ? u->node_path : "");
	const char *peer = unix_bound_node_path(u->peer_ino);
	snap_put_str(e, peer ? peer : "");
	put_cred(e, &u->cred);
	put_cred(e, &u->peer_cred);
	int err = save_queue(e, c, u->rx);
	return err ? err : save_queue(e, c, u->tx);
}

static int restore_queue(struct snap_dec *d, struct ckpt_ctx *c, struct unix_queue **out)
{
	uint32_t id = snap_get_u32(d);
	*out = NULL;
	if (snap_dec_err(d))
		return -EBADMSG;
	if (!id)
		return 0;
	struct unix_queue *q = ckpt_shared_get(c, id, CKF_UNIX);
	if (ckpt_shared_known(c, id) && !q)
		return -EBADMSG; /* (another kind's) */
	if (q) {
		if (q->refs >= 2)
			return -EBADMSG; /* (a queue joins two ends at most) */
		q->refs++;
		*out = q;
		return 0;
	}
	int flags = snap_get_u8(d);
	uint32_t n = snap_get_u32(d);
	if (snap_dec_err(d) || flags > 3 || n > DGRAM_QLEN * 4 || !(q = unix_queue_new()))
		return snap_dec_err(d) || flags > 3 || n > DGRAM_QLEN * 4 ? -EBADMSG : -ENOMEM;
	q->eof = flags & 1;
	q->nopeer = flags >> 1 & 1;
	int err = ckpt_shared_set(c, id, CKF_UNIX, q);
	for (uint32_t i = 0; !err && i < n; i++) {
		uint64_t off = snap_get_u64(d);
		struct unix_cred cred;
		struct unix_addr from;
		get_cred(d, &cred);
		err = get_addr(d, &from);
		size_t len;
		const void *data = err ? NULL : snap_get_blob(d, &len);
		if (!data || snap_dec_err(d) || off > len || len > UNIX_BUF ||
		    q->bytes + len + MSG_COST > QUEUE_MAX) {
			err = -EBADMSG;
			break;
		}
		struct unix_msg *m = unix_room(len + MSG_COST) ? calloc(1, sizeof(*m) + len) : NULL;
		if (!m) {
			err = unix_room(len + MSG_COST) ? -ENOMEM : -ENOBUFS;
			break;
		}
		m->len = len;
		m->off = off;
		m->cred = cred;
		m->from = from;
		memcpy(m->data, data, len);
		unix_queue_push(q, m);
	}
	/* (On an error the context keeps the queue: the restore fails, and
	 * the sandbox with it.) */
	*out = q;
	return err;
}

int unix_restore(struct k_kernel *k, struct snap_dec *d, int flags, struct ckpt_ctx *c,
		 struct k_file **out)
{
	(void)k;
	int type = snap_get_u8(d), bits = snap_get_u8(d);
	int backlog = (int)snap_get_u32(d);
	struct unix_addr name, peer;
	char node[K_PATH_MAX], peer_node[K_PATH_MAX];
	int err = get_addr(d, &name);
	if (!err)
		err = get_addr(d, &peer);
	snap_get_str(d, node, sizeof(node));
	snap_get_str(d, peer_node, sizeof(peer_node));
	struct unix_cred cred, peer_cred;
	get_cred(d, &cred);
	get_cred(d, &peer_cred);
	if (err || snap_dec_err(d) || (type != SOCK_STREAM && type != SOCK_DGRAM &&
				       type != SOCK_SEQPACKET) ||
	    bits > 15 || backlog < 0 || backlog > 4096 || ((bits & 4) && (!name.len || type == SOCK_DGRAM)))
		return -EBADMSG;
	struct unix_end *e = unix_end_alloc(type);
	struct k_file *f = e ? file_new(&unix_ops, flags) : NULL;
	if (!f) {
		unix_end_free(e);
		return -ENOMEM;
	}
	/* The file owns the end from here: its release undoes the rest. */
	unix_end_attach(e, f);
	e->shut_rd = bits & 1;
	e->passcred = bits >> 1 & 1;
	e->listening = bits >> 2 & 1;
	e->has_peer_cred = bits >> 3 & 1;
	e->backlog = backlog;
	e->name = name;
	e->peer = peer;
	e->cred = cred;
	e->peer_cred = peer_cred;
	struct k_task *t = ckpt_boot_task(c);
	err = restore_queue(d, c, &e->rx);
	if (!err)
		err = restore_queue(d, c, &e->tx);
	/* A datagram socket always has its queue; a listener has none. */
	if (!err && ((type == SOCK_DGRAM && (!e->rx || e->tx)) ||
		     (e->listening && (e->rx || e->tx)) || (!e->rx != !e->tx && type != SOCK_DGRAM)))
		err = -EBADMSG;
	if (!err && t)
		err = unix_rebind(t, e, node[0] == '/' ? node : NULL);
	if (!err && t && peer_node[0] == '/')
		e->peer_ino = unix_node_at(t, peer_node);
	if (err) {
		file_put(f);
		return err;
	}
	*out = f;
	return 0;
}
