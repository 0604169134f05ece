/* executor: the node's side of sandboxes: the function registry (kept in
 * the state directory), deploys, the instance pool per function and its
 * scaling, the data plane that routes requests to instances, logs and
 * metrics; and the host side of a sandbox's network link (the gateway,
 * its egress policy). */
#ifndef HUSK_EXECUTOR_H
#define HUSK_EXECUTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A host TCP port on 127.0.0.1 whose connections reach a guest port. */
struct ex_publish {
	uint16_t host_port, guest_port;
};

/* Parses "HOSTPORT:GUESTPORT" (1-65535 each); 0 or -EINVAL. */
int ex_publish_parse(const char *s, struct ex_publish *out);

/* Where a guest may connect through its gateway (--egress): nowhere
 * ("none", the default), anywhere ("all"), or the IPv4 networks listed
 * ("CIDR,..."): each within what is never reachable (ex_egress_allows). */
#define EX_EGRESS_MAX 32
#define EX_NODE_PORTS_MAX 80
#define EX_HOST_ADDRS_MAX 64
struct ex_egress {
	bool all;
	int ncidr;
	struct {
		uint32_t addr, mask; /* host byte order */
	} cidr[EX_EGRESS_MAX];
	/* The node's own ports, and the host's addresses they are never
	 * reached at. */
	int nports, nhost;
	uint16_t node_ports[EX_NODE_PORTS_MAX];
	uint32_t host[EX_HOST_ADDRS_MAX];
};

/* Parses "none", "all" or "CIDR,CIDR,..." (a.b.c.d[/n]); 0, -EINVAL, or
 * -E2BIG past EX_EGRESS_MAX networks. */
int ex_egress_parse(const char *s, struct ex_egress *out);
/* Whether the policy lets anything out. */
bool ex_egress_any(const struct ex_egress *e);
/* Notes a port of the node's (never reachable on the host's addresses). */
int ex_egress_add_node_port(struct ex_egress *e, uint16_t port);
/* Fills in the host's IPv4 addresses (getifaddrs); 0 or -errno. */
int ex_egress_host_addrs(struct ex_egress *e);
/* Whether a guest may reach addr:port (host byte order).  Never: 0/8,
 * 127/8, 169.254/16 (link-local), 224/4 and 240/4 (multicast, reserved,
 * broadcast), the sandbox link's subnet, and the node's ports on the
 * host's addresses; then "all", or one of the networks listed. */
bool ex_egress_allows(const struct ex_egress *e, uint32_t addr, uint16_t port);

/* Starts a sandbox's gateway: listens on each published host port now
 * (so a port in use fails here, -EADDRINUSE), then serves in a child
 * process (*pid) that runs its own netstack at the gateway address on
 * one end of a SOCK_SEQPACKET link and relays each accepted host
 * connection into a netstack connection to the guest's port; the other
 * end is *sandbox_fd, for the sentry (k_config.net_fd).  The guest's own
 * TCP connections and UDP flows to other addresses are terminated there
 * and relayed through host sockets where egress allows (NULL: nowhere),
 * refused with ICMP administratively prohibited where it does not.  The
 * published ports join egress's node ports.  The child ends when the
 * link's other end closes or husk dies. */
int ex_gateway_start(const struct ex_publish *pub, int npub, const struct ex_egress *egress,
		     int *sandbox_fd, pid_t *pid);

/* ---- a function's code, written into its revision's directory ---- */

/* Bounds on what one deploy may write (files and archives alike). */
#define EX_CODE_FILES_MAX 10000
#define EX_CODE_BYTES_MAX (256ULL << 20)
#define EX_CODE_PATH_MAX 1024
#define EX_CODE_DEPTH_MAX 32

struct ex_code_limits {
	size_t files;   /* files and directories written so far */
	uint64_t bytes; /* file bytes written so far */
};

/* Whether path is a safe relative path for a function's file: not empty,
 * not absolute, no "." or ".." or empty component, no NUL or control
 * character, at most EX_CODE_PATH_MAX bytes and EX_CODE_DEPTH_MAX
 * components. */
bool ex_code_path_ok(const char *path);
/* Writes data[0, len) as path (ex_code_path_ok) under the directory
 * dirfd, making its parent directories (0755), the file 0644 (0755 when
 * exec); never follows a link, never replaces an existing file.  Counts
 * into lim and fails past its bounds.  0 or -errno, *why saying what
 * (a static string). */
int ex_code_write(int dirfd, const char *path, const void *data, size_t len, bool exec,
		  struct ex_code_limits *lim, const char **why);
/* Unpacks a tar (plain, gzip or bzip2) or zip archive held in
 * data[0, len) under dirfd with ex_code_write's rules: regular files and
 * directories only (a link of either kind, a device or a FIFO refuses
 * the whole archive), a leading "./" allowed, an entry's exec bit kept.
 * 0 or -errno (-EINVAL for a refused archive, -EFBIG/-E2BIG past the
 * bounds, -EEXIST/-ENOTDIR for entries that collide), with why[0,
 * whylen) saying which entry and why.  Directories ex_code_write makes
 * count as files.  What was
 * written before a refusal stays: the caller removes the directory. */
int ex_code_unpack(int dirfd, const void *data, size_t len, struct ex_code_limits *lim,
		   char *why, size_t whylen);

/* Sends req (with the descriptor fd, unless -1) on the control socket at
 * path and waits up to timeout_ms for the answer: 0 with *reply (new
 * reference; why says the error when it is not "ok": true), or -errno
 * with why. */
int ex_control_call(const char *path, json_t *req, int fd, int timeout_ms, json_t **reply,
		    char *why, size_t n);

/* ---- the node: husk serve ---- */

struct ex_node;

struct ex_node_config {
	const char *state_dir;    /* made if missing (0700) */
	const char *listen_host;  /* the data plane's address, e.g. "127.0.0.1" */
	uint16_t listen_port;     /* 0: any (ex_node_listen_port says which) */
	const char *runtimes_dir; /* runtimes/NAME/manifest.json */
	const char *husk;         /* the husk binary sandboxes are started with */
	const char *platform;     /* NULL: husk's default */
	uint16_t api_port;        /* the node's own ports, never reachable by egress */
};

/* Opens the state directory and loads every function in it (their
 * snapshots are reused: nothing is booted again), and listens on the
 * data plane's address.  0 or -errno with why (static or in buf). */
int ex_node_open(const struct ex_node_config *cfg, struct ex_node **out, char *why, size_t n);
/* Serves until ex_node_stop; then stops every instance (SIGTERM, then
 * SIGKILL after their grace period). */
int ex_node_run(struct ex_node *node);
/* From any thread or a signal handler's flag watcher: ends ex_node_run. */
void ex_node_stop(struct ex_node *node);
void ex_node_free(struct ex_node *node);
uint16_t ex_node_listen_port(const struct ex_node *node);

/* The control plane's calls (api/), safe from any thread.  Errors come
 * back as an HTTP status (4xx/5xx) and a message in why[0, n); success
 * as 200-299. */

/* A function's configuration, as deployed (names are DNS labels). */
#define EX_NAME_MAX 63
#define EX_ENV_MAX 256
struct ex_fn_config {
	char name[EX_NAME_MAX + 1];
	char runtime[32];
	char handler[256];
	json_t *env;           /* object of strings (owned: json_decref) */
	uint32_t memory_mb;    /* 16..65536 */
	uint32_t timeout_s;    /* a request's limit, 1..3600 */
	uint32_t concurrency;  /* requests an instance takes at once, 1..1000 */
	uint32_t min_instances, max_instances; /* 0..max, 1..1000 */
	uint32_t idle_timeout_s; /* an idle instance stops after, 1..86400 */
	char egress[512];      /* none, all, or CIDR,... */
};
/* Defaults for everything but name, runtime and handler. */
void ex_fn_config_defaults(struct ex_fn_config *c);
/* Sets c's fields from obj's (runtime, handler, env, memory_mb,
 * timeout_s, concurrency, min_instances, max_instances, idle_timeout_s,
 * egress): 0, or -1 with why naming the field (unknown, wrong type, out
 * of range, runtime missing). */
int ex_fn_config_parse(json_t *obj, struct ex_fn_config *c, char *why, size_t n);
json_t *ex_fn_config_json(const struct ex_fn_config *c);
void ex_fn_config_free(struct ex_fn_config *c);
/* Whether s is a function name: a lower-case DNS label (RFC 1123). */
bool ex_name_ok(const char *s);

/* The code of a deploy: files (path -> contents) or an archive. */
struct ex_code {
	json_t *files;        /* object of strings, or NULL (borrowed) */
	const void *archive;  /* tar(.gz) or zip bytes, or NULL (borrowed) */
	size_t archive_len;
};

/* POST /functions (replace false: 409 if it exists) and PUT
 * /functions/NAME (replace true: 404 if it does not): a new revision is
 * written and deployed in the background; *out describes the function
 * (new reference).  wait: returns once the revision is ready or failed
 * (or wait_s passed). */
int ex_fn_deploy(struct ex_node *node, const struct ex_fn_config *cfg, const struct ex_code *code,
		 bool replace, bool wait, json_t **out, char *why, size_t n);
int ex_fn_get(struct ex_node *node, const char *name, json_t **out, char *why, size_t n);
int ex_fn_list(struct ex_node *node, json_t **out);
int ex_fn_delete(struct ex_node *node, const char *name, char *why, size_t n);
int ex_fn_instances(struct ex_node *node, const char *name, json_t **out, char *why, size_t n);
int ex_fn_logs(struct ex_node *node, const char *name, size_t tail, json_t **out, char *why,
	       size_t n);
/* Prometheus text exposition of the node's metrics (malloc'd). */
char *ex_node_metrics(struct ex_node *node);
/* The runtimes the node knows (runtimes_dir), for validation. */
bool ex_runtime_known(struct ex_node *node, const char *runtime);

#endif
