/* api/'s insides: server.c's replies, functions.c's routes. */
#ifndef HUSK_API_INTERNAL_H
#define HUSK_API_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>

#include "../executor/executor.h"
#include "api.h"

/* A request body's cap: a deploy's archive (base64: 4/3 of it) and files. */
#define API_BODY_MAX (64u << 20)
#define API_BODY_MAX_TEXT "64 MiB"

int api_reply_json(struct MHD_Connection *c, int status, json_t *o); /* takes o */
int api_reply_error(struct MHD_Connection *c, int status, const char *msg);
int api_reply_text(struct MHD_Connection *c, int status, const char *type, char *text); /* takes text */
int api_route(struct ex_node *node, struct MHD_Connection *c, const char *url, const char *method,
	      const char *body, size_t len);

#endif
