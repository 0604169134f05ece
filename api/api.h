/* api: the node's control plane, REST and JSON over HTTP
 * (libmicrohttpd, jansson), in front of executor/.  Every path but
 * /healthz and /metrics wants "Authorization: Bearer TOKEN". */
#ifndef HUSK_API_H
#define HUSK_API_H

#include <stddef.h>
#include <stdint.h>

struct ex_node;
struct api;

struct api_config {
	const char *host; /* an IP address */
	uint16_t port;    /* 0: any (api_port says which) */
	const char *token;
};

/* Serves the API on its own threads (one a connection, at most
 * API_CONNECTIONS_MAX) until api_stop: 0 or -errno with why. */
int api_start(const struct api_config *cfg, struct ex_node *node, struct api **out, char *why,
	      size_t n);
void api_stop(struct api *a);
uint16_t api_port(const struct api *a);

/* The bearer token: given (checked: 32 to 256 printable characters), or
 * STATE_DIR/token, made at the first start from 32 random bytes (hex,
 * mode 0600).  0 or -errno with why. */
int api_token(const char *state_dir, const char *given, char *out, size_t size, char *why,
	      size_t n);

#endif
