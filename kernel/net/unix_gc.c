/* Garbage collection of AF_UNIX sockets that only messages in flight
 * keep alive, as Linux's unix_gc: a socket sent over itself (or a ring of
 * sockets each queued in the next) is unreachable once the guest closes
 * its descriptors, yet its file is referenced from a queue that only it
 * can drain.  Candidates are unix sockets whose every reference is in
 * flight; those referenced from outside the candidates' own queues are
 * alive, with everything their queues hold; the rest have their queues
 * purged, which drops the last references. */
#define _GNU_SOURCE
#include <stdlib.h>

#include "net.h"

static struct unix_end *end_of(struct k_file *f)
{
	return unix_file(f) ? f->priv : NULL;
}

/* Calls fn for each unix socket in a message queued for e: its receive
 * queue, and a listener's connections not yet accepted. */
static void each_child(struct unix_end *e, void (*fn)(struct unix_end *child, bool *changed),
		       bool *changed)
{
	struct unix_queue *q = e->rx;
	struct unix_end *embryo = e->listening ? e->aq_head : NULL;
	for (;;) {
		for (struct unix_msg *m = q ? q->head : NULL; m; m = m->next)
			for (int i = 0; i < m->nfiles; i++) {
				struct unix_end *c = end_of(m->files[i]);
				if (c)
					fn(c, changed);
			}
		if (!embryo)
			return;
		q = embryo->rx;
		embryo = embryo->aq_next;
	}
}

static void count_inflight(struct unix_end *c, bool *changed)
{
	(void)changed;
	c->gc_inflight++;
}

static void drop_internal(struct unix_end *c, bool *changed)
{
	(void)changed;
	if (c->gc_candidate)
		c->gc_count--;
}

static void mark_alive(struct unix_end *c, bool *changed)
{
	if (c->gc_candidate && !c->gc_alive) {
		c->gc_alive = true;
		*changed = true;
	}
}

void unix_gc(void)
{
	static bool running; /* purging closes files, whose release calls us */
	if (running || !unix_inflight_count())
		return;
	running = true;
	bool unused = false;
	for (struct unix_end *e = unix_all_ends(); e; e = e->all_next) {
		e->gc_inflight = 0;
		e->gc_candidate = e->gc_alive = e->gc_scanned = false;
	}
	/* Each queue is one end's receive queue (an embryo's too). */
	for (struct unix_end *e = unix_all_ends(); e; e = e->all_next)
		for (struct unix_msg *m = e->rx ? e->rx->head : NULL; m; m = m->next)
			for (int i = 0; i < m->nfiles; i++) {
				struct unix_end *c = end_of(m->files[i]);
				if (c)
					count_inflight(c, &unused);
			}
	int candidates = 0;
	for (struct unix_end *e = unix_all_ends(); e; e = e->all_next)
		if (e->file && e->gc_inflight > 0 && e->file->refs == e->gc_inflight) {
			e->gc_candidate = true;
			e->gc_count = e->gc_inflight;
			candidates++;
		}
	if (!candidates) {
		running = false;
		return;
	}
	for (struct unix_end *e = unix_all_ends(); e; e = e->all_next)
		if (e->gc_candidate)
			each_child(e, drop_internal, &unused);
	/* Referenced from outside: alive, and so is all it holds. */
	for (struct unix_end *e = unix_all_ends(); e; e = e->all_next)
		if (e->gc_candidate && e->gc_count > 0)
			e->gc_alive = true;
	for (bool changed = true; changed;) {
		changed = false;
		for (struct unix_end *e = unix_all_ends(); e; e = e->all_next)
			if (e->gc_candidate && e->gc_alive && !e->gc_scanned) {
				e->gc_scanned = true;
				each_child(e, mark_alive, &changed);
			}
	}
	/* The rest is garbage: its queues' messages are taken out first, and
	 * freed only then (freeing closes files, which frees ends). */
	struct unix_msg *dead = NULL;
	for (struct unix_end *e = unix_all_ends(); e; e = e->all_next) {
		if (!e->gc_candidate || e->gc_alive)
			continue;
		unix_queue_take(e->rx, &dead);
		for (struct unix_end *s = e->listening ? e->aq_head : NULL; s; s = s->aq_next)
			unix_queue_take(s->rx, &dead);
	}
	unix_msgs_free(dead);
	running = false;
}
