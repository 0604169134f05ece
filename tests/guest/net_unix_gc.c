/* net_unix_gc.c - AF_UNIX sockets that only messages in flight keep
 * alive are collected, as Linux's garbage collector does: a socketpair
 * whose ends each travel in the other's queue, a socket sent over itself,
 * and a listener queued in its own pending connection, all closed by the
 * program, leave /proc/net/unix; a socket in flight whose receiver is
 * still open stays, and can be received.  Then many such cycles, past
 * what may be in flight at once without collection. */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "guest.h"

static unsigned long ino_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

static int send_fd(int s, int fd)
{
	char byte = 'f', buf[CMSG_SPACE(sizeof(int))];
	memset(buf, 0, sizeof buf);
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = sizeof buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(s, &mh, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int s)
{
	char byte, buf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = sizeof buf};
	if (recvmsg(s, &mh, 0) != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int fd = -1;
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* How many of the inodes /proc/net/unix still lists; Linux collects
 * after close, possibly a moment later (its collector is a work item). */
static int listed(const unsigned long *inos, int n)
{
	int found = 0;
	for (int tries = 0; tries < 200; tries++) {
		found = 0;
		FILE *f = fopen("/proc/net/unix", "r");
		char line[512];
		while (f && fgets(line, sizeof line, f)) {
			char num[32];
			unsigned x;
			unsigned long ino;
			if (sscanf(line, "%31s %x %x %x %x %x %lu", num, &x, &x, &x, &x, &x, &ino) != 7)
				continue;
			for (int i = 0; i < n; i++)
				found += inos[i] == ino;
		}
		if (f)
			fclose(f);
		if (!found)
			break;
		usleep(10000);
	}
	return found;
}

/* Collection runs when a unix socket is released (as Linux's does), not
 * when a descriptor of one in flight is closed: a throwaway socket. */
static void release_one(void)
{
	close(socket(AF_UNIX, SOCK_STREAM, 0));
}

int main(void)
{
	/* A pair, each end in flight to the other. */
	int p[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, p);
	unsigned long pair[2] = {ino_of(p[0]), ino_of(p[1])};
	printf("pair: send %d %d\n", send_fd(p[0], p[0]), send_fd(p[1], p[1]));
	close(p[0]);
	close(p[1]);
	release_one();
	printf("pair: still listed %d\n", listed(pair, 2));

	/* A datagram socket sent to itself. */
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	socklen_t alen = sizeof(sa_family_t);
	bind(d, (struct sockaddr *)&a, alen); /* autobind */
	alen = sizeof a;
	getsockname(d, (struct sockaddr *)&a, &alen);
	connect(d, (struct sockaddr *)&a, alen);
	unsigned long self[1] = {ino_of(d)};
	printf("self: send %d\n", send_fd(d, d));
	close(d);
	release_one();
	printf("self: still listed %d\n", listed(self, 1));

	/* In flight to a receiver still open: alive, and received. */
	int q[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, q);
	int x = socket(AF_UNIX, SOCK_STREAM, 0);
	unsigned long xi[1] = {ino_of(x)};
	printf("alive: send %d\n", send_fd(q[0], x));
	close(x);
	release_one();
	usleep(100000); /* (Linux's collector had its chance) */
	printf("alive: listed %d\n", listed(xi, 1) ? 1 : 0);
	int got = recv_fd(q[1]);
	printf("alive: received the same socket %d\n", got >= 0 && ino_of(got) == xi[0]);
	close(got);
	close(q[0]);
	close(q[1]);

	/* Many cycles: more than may be in flight at once (4096 in a husk
	 * sandbox, RLIMIT_NOFILE's worth per user on Linux) unless they are
	 * collected. */
	int failures = 0;
	for (int i = 0; i < 3000; i++) {
		int c[2];
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, c)) {
			failures++;
			continue;
		}
		failures += send_fd(c[0], c[0]) != 0;
		failures += send_fd(c[1], c[1]) != 0;
		close(c[0]);
		close(c[1]);
		release_one();
		if (i % 500 == 499)
			usleep(50000); /* Linux's collector is asynchronous */
	}
	printf("cycles: failures %d\n", failures);
	return 0;
}
