/* The node's insides, shared by executor/'s files (registry.c, deploy.c,
 * pool.c, router.c, logs.c, metrics.c).  One lock guards all of it: the
 * API's threads take it for each call, the libuv loop's thread for each
 * callback that touches it.  Deploys run on threads of their own and
 * take it only to publish what they did. */
#ifndef HUSK_EXECUTOR_NODE_H
#define HUSK_EXECUTOR_NODE_H

#include <limits.h>
#include <pthread.h>
#include <uv.h>

#include "executor.h"
#include "http.h"

/* Bounds that keep one function from exhausting the node. */
#define NODE_FUNCTIONS_MAX 1000
/* Requests waiting for an instance, a function: 10 for each slot the
 * function may have (Knative's queue-proxy keeps 10 a slot), at most
 * QUEUE_MAX. */
#define QUEUE_PER_SLOT 10
#define QUEUE_MAX 1000
#define LOG_LINES_MAX 1000   /* kept a function */
#define LOG_LINE_MAX 4096    /* longer lines are cut */
#define OUTPUT_MAX 16384     /* a failed deploy's output kept */
#define STOP_GRACE_MS 10000  /* SIGTERM, then SIGKILL after this */
#define START_TIMEOUT_MS 30000
#define DEPLOY_TIMEOUT_MS 120000
#define DEPLOYS_MAX 8        /* at once (each boots a sandbox); more get 429 */

enum rev_state { REV_DEPLOYING, REV_READY, REV_FAILED };
/* STANDBY: booted ahead, waiting for the snapshot (husk restore --wait):
 * a cold start then only restores.  A serving revision keeps one while
 * its function had a request in the last STANDBY_KEEP_MS. */
enum inst_state { INST_STARTING, INST_READY, INST_STOPPING, INST_STANDBY };
#define INST_STATES 4
#define STANDBY_KEEP_MS (10 * 60 * 1000)

struct ex_fn;
struct ex_rev;
struct conn;
struct upconn;

struct ex_inst {
	struct ex_rev *rev;
	struct ex_inst *next;
	uint32_t id;
	enum inst_state state;
	uv_process_t proc;
	uv_pipe_t out[2];    /* the guest's stdout and stderr */
	char linebuf[2][LOG_LINE_MAX];
	size_t linelen[2];
	int open_handles;    /* closed before it is freed */
	char sock[108];      /* its control socket */
	uint16_t port;       /* its gateway's host port */
	uint32_t active;     /* requests in flight */
	struct upconn *idle_up; /* connections to it kept for the next request */
	uint32_t nidle_up;
	uint64_t idle_since; /* uv_now() when active went to 0 */
	uint64_t started;    /* uv_now() at start, for the cold start's latency */
	bool exited, closing, loading;
	uv_timer_t kill_timer;
	uv_work_t load;      /* the restore request, on a pool thread */
	int load_err;
	char load_why[256];
	double restore_ms;
};

struct ex_rev {
	struct ex_fn *fn;
	struct ex_rev *next; /* older */
	uint32_t num;
	struct ex_fn_config cfg;
	enum rev_state state;
	char *error;  /* why it failed */
	char *output; /* the guest's output when it failed */
	char dir[PATH_MAX];
	uint64_t snapshot_bytes, memory_bytes;
	double deploy_ms;
	int64_t created; /* wall clock, s */
	struct ex_inst *insts;
	uint32_t ninst;  /* alive, any state */
	pthread_t thread; /* the deploy's, while it runs */
};

struct log_line {
	int64_t when_ms; /* wall clock */
	uint32_t inst;   /* 0: the deploy's boot */
	uint32_t rev;
	bool err;
	char *text;
};

/* Latency buckets for the metrics' histograms, in seconds. */
#define HIST_BUCKETS 12
struct hist {
	uint64_t count[HIST_BUCKETS + 1]; /* the last: +Inf */
	double sum;
};

struct ex_fn {
	struct ex_node *node;
	struct ex_fn *next;
	char name[EX_NAME_MAX + 1];
	struct ex_rev *revs;    /* newest first */
	struct ex_rev *serving; /* where traffic goes: the newest ready one */
	struct conn *qhead, *qtail; /* requests waiting for an instance */
	uint32_t nqueued;
	struct log_line logs[LOG_LINES_MAX];
	uint32_t log_first, log_count;
	/* Metrics. */
	uint64_t by_code[6]; /* 1xx..5xx, [0] unused */
	struct hist latency, cold_restore, cold_boot;
	uint64_t cold_starts_restore, cold_starts_failed;
	uint64_t last_used; /* uv_now() of its last request */
	bool want_standby;  /* a revision got ready: stand one by */
	bool deleted;
	char *trash;  /* deleted: where its files went, removed with it */
	int waiters; /* API calls waiting on a deploy (it is not freed under them) */
};

struct ex_node {
	struct ex_node_config cfg;
	/* (Shorter than PATH_MAX: room for what goes under it.) */
	char state_dir[PATH_MAX - 512], root_dir[PATH_MAX], run_dir[PATH_MAX];
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a deploy ended */
	uv_loop_t loop;
	uv_async_t wake;
	uv_timer_t tick;
	uv_tcp_t listener;
	uint16_t port;
	struct ex_fn *fns;
	uint32_t nfns;
	uint32_t next_inst;
	bool stopping, stop_asked;
	int ndeploys; /* threads still running */
	uint64_t requests_total;
	uint32_t nconns; /* the data plane's client connections */
};

/* registry.c */
struct ex_fn *fn_find(struct ex_node *node, const char *name);
int rev_save(struct ex_fn *fn); /* the function's record, written atomically */
int registry_load(struct ex_node *node, char *why, size_t n);
void fn_free(struct ex_fn *fn);
json_t *rev_json(const struct ex_rev *r);
json_t *fn_json(const struct ex_fn *fn);
void rev_free(struct ex_rev *r);

/* deploy.c */
/* Writes a deploy's code into a new directory (dir): 0, or -errno with
 * why (a path or archive refused). */
int code_stage(struct ex_node *node, const struct ex_code *code, const char *handler, char *dir,
	       size_t size, char *why, size_t n);
int deploy_start(struct ex_node *node, struct ex_rev *rev); /* lock held */
/* husk's arguments for a sandbox of rev on the control socket sock with
 * its gateway on host port port: booting it from its runtime's manifest,
 * or (manifest NULL) waiting to be restored. */
json_t *sandbox_args(struct ex_node *node, const struct ex_rev *rev, const char *sock, int port,
		     json_t *manifest);
/* A free port on 127.0.0.1 (for an instance's gateway), or -1. */
int ex_pick_port(void);
/* The runtime's default handler into buf. */
void ex_runtime_handler(struct ex_node *node, const char *runtime, char *buf, size_t size);
extern const double hist_bounds[HIST_BUCKETS];
void rm_tree(const char *path);

/* pool.c (loop thread, lock held) */
void pool_tick(struct ex_node *node);
void pool_dispatch(struct ex_fn *fn);
void pool_stop_inst(struct ex_inst *in);
void pool_stop_all(struct ex_node *node);
struct ex_inst *pool_pick(struct ex_fn *fn);
int pool_start(struct ex_rev *rev);
void pool_release(struct ex_inst *in);

/* router.c (loop thread) */
int router_listen(struct ex_node *node, char *why, size_t n);
/* An instance (or NULL, status and message: the request's answer) for a
 * request that waited in its function's queue. */
void router_assign(struct conn *c, struct ex_inst *in, int status, const char *msg);
struct conn *router_queue_next(struct conn *c);
/* The instance is going: the connections kept to it are closed. */
void router_inst_gone(struct ex_inst *in);
void router_drop_queue(struct ex_fn *fn, int status, const char *msg);

/* logs.c */
void log_add(struct ex_fn *fn, uint32_t rev, uint32_t inst, bool err, const char *text,
	     size_t len);
void hist_add(struct hist *h, double seconds);

static inline void node_lock(struct ex_node *n)
{
	pthread_mutex_lock(&n->lock);
}
static inline void node_unlock(struct ex_node *n)
{
	pthread_mutex_unlock(&n->lock);
}

#endif
