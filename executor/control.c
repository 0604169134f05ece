/* The client side of a sandbox's control socket (husk run --control):
 * one request a connection, one JSON datagram each way, a descriptor
 * riding with the request where it needs one (the snapshot's file). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "executor.h"

int ex_control_call(const char *path, json_t *req, int fd, int timeout_ms, json_t **reply,
		    char *why, size_t n)
{
	*reply = NULL;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(why, n, "%s: path too long for a socket", path);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, path);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int err = errno;
		snprintf(why, n, "cannot reach %s: %s", path, strerror(err));
		if (s >= 0)
			close(s);
		return -err;
	}
	char *text = json_dumps(req, JSON_COMPACT);
	if (!text) {
		close(s);
		snprintf(why, n, "out of memory");
		return -ENOMEM;
	}
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {text, strlen(text)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	char buf[4096];
	ssize_t got = -1;
	int err = 0;
	struct pollfd p = {s, POLLIN, 0};
	if (sendmsg(s, &mh, MSG_NOSIGNAL) < 0) {
		err = -errno;
		snprintf(why, n, "cannot send the request: %s", strerror(errno));
	} else if (poll(&p, 1, timeout_ms) <= 0) {
		err = -ETIMEDOUT;
		snprintf(why, n, "no answer from the sandbox within %d ms", timeout_ms);
	} else if ((got = recv(s, buf, sizeof(buf) - 1, 0)) <= 0) {
		err = -ECONNRESET;
		snprintf(why, n, "the sandbox closed the connection");
	}
	free(text);
	close(s);
	if (err)
		return err;
	buf[got] = 0;
	if (!(*reply = json_loads(buf, 0, NULL)) || !json_is_object(*reply)) {
		json_decref(*reply);
		*reply = NULL;
		snprintf(why, n, "a garbled answer from the sandbox");
		return -EPROTO;
	}
	if (!json_is_true(json_object_get(*reply, "ok"))) {
		json_t *e = json_object_get(*reply, "error");
		snprintf(why, n, "%s", json_is_string(e) ? json_string_value(e) : "failed");
	}
	return 0;
}
