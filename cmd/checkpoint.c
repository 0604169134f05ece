/* husk checkpoint: asks a running sandbox (husk run --control PATH) to
 * save itself.  The snapshot is written into PATH.tmp, which this command
 * opens and hands over with the request (the sentry opens no files), and
 * renamed into place once the sentry says it is complete and it is on
 * disk. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../executor/executor.h"
#include "cmd.h"

/* How long a checkpoint may take (freezing, then writing memory). */
#define REPLY_TIMEOUT_MS 120000

static int usage(void)
{
	fprintf(stderr, "usage: husk checkpoint --control SOCKET [--leave-running] "
			"[--no-compress] FILE\n");
	return 2;
}

/* Sends one request (with fd) on the control socket and waits for the
 * answer: 0 and the answer in buf when it says ok, else 1 (said why). */
static int send_request(const char *control, const char *text, int fd, char *buf, size_t size)
{
	json_t *req = json_loads(text, 0, NULL), *rep = NULL;
	char why[512];
	int err = req ? ex_control_call(control, req, fd, REPLY_TIMEOUT_MS, &rep, why, sizeof(why))
		      : -EINVAL;
	json_decref(req);
	int rc = 1;
	if (err)
		fprintf(stderr, "husk: %s\n", req ? why : "bad request");
	else if (!json_is_true(json_object_get(rep, "ok")))
		fprintf(stderr, "husk: %s\n", why);
	else {
		char *t = json_dumps(rep, JSON_COMPACT);
		snprintf(buf, size, "%s", t ? t : "{}");
		free(t);
		rc = 0;
	}
	json_decref(rep);
	return rc;
}

int cmd_checkpoint(int argc, char **argv)
{
	const char *control = NULL, *file = NULL;
	bool leave = false, compress = true;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--control") && i + 1 < argc)
			control = argv[++i];
		else if (!strncmp(argv[i], "--control=", 10))
			control = argv[i] + 10;
		else if (!strcmp(argv[i], "--leave-running"))
			leave = true;
		else if (!strcmp(argv[i], "--no-compress"))
			compress = false;
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			return usage();
	}
	if (!control || !file)
		return usage();
	char *tmp;
	if (asprintf(&tmp, "%s.tmp", file) < 0)
		return 1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		fprintf(stderr, "husk checkpoint: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	char req[128];
	int len = snprintf(req, sizeof(req),
			   "{\"op\": \"checkpoint\", \"leave_running\": %s, \"compress\": %s}",
			   leave ? "true" : "false", compress ? "true" : "false");
	(void)len;
	char buf[4096];
	int rc = send_request(control, req, fd, buf, sizeof(buf));
	if (rc == 0) {
		if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, file) != 0) {
			fprintf(stderr, "husk checkpoint: %s: %s\n", file, strerror(errno));
			rc = 1;
		} else {
			fd = -1;
			printf("%s\n", buf); /* the sentry's numbers, as JSON */
		}
	}
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

/* husk load: hands a snapshot to a sandbox waiting for one (husk restore
 * --control SOCK --wait), which becomes it; prints the sentry's answer. */
int cmd_load(int argc, char **argv)
{
	const char *control = NULL, *file = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--control") && i + 1 < argc)
			control = argv[++i];
		else if (!strncmp(argv[i], "--control=", 10))
			control = argv[i] + 10;
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			file = NULL, control = NULL, i = argc;
	}
	if (!control || !file) {
		fprintf(stderr, "usage: husk load --control SOCKET SNAPSHOT\n");
		return 2;
	}
	char abs[PATH_MAX];
	if (!realpath(file, abs)) {
		fprintf(stderr, "husk load: %s: %s\n", file, strerror(errno));
		return 1;
	}
	int fd = open(abs, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "husk load: %s: %s\n", abs, strerror(errno));
		return 1;
	}
	json_t *req = json_pack("{s:s, s:s}", "op", "restore", "path", abs);
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	char buf[4096];
	int rc = text ? send_request(control, text, fd, buf, sizeof(buf)) : 1;
	free(text);
	close(fd);
	if (rc == 0)
		printf("%s\n", buf);
	return rc;
}
