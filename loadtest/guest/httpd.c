/* A small HTTP/1.1 keep-alive server for the network benchmark, run
 * natively and inside husk: one thread, epoll, non-blocking sockets.
 * GET /bulk/N answers N MiB; any other request a 13-byte body.
 * usage: httpd PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 4096
#define CHUNK 65536

struct conn {
	char in[4096];
	size_t inlen;
	size_t out_left; /* bulk bytes still to send */
	char head[256];
	size_t head_len, head_off;
};

static struct conn *conns[MAXC];
static char bulk[CHUNK];

static void drop(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(conns[fd]);
	conns[fd] = NULL;
}

/* Writes what the connection owes; -1 on error, 0 when all is out, 1
 * when the socket is full. */
static int flush(int fd, struct conn *c)
{
	while (c->head_off < c->head_len) {
		ssize_t w = write(fd, c->head + c->head_off, c->head_len - c->head_off);
		if (w < 0)
			return errno == EAGAIN ? 1 : -1;
		c->head_off += (size_t)w;
	}
	while (c->out_left) {
		size_t n = c->out_left < CHUNK ? c->out_left : CHUNK;
		ssize_t w = write(fd, bulk, n);
		if (w < 0)
			return errno == EAGAIN ? 1 : -1;
		c->out_left -= (size_t)w;
	}
	return 0;
}

/* Answers every complete request in the input; -1 on error. */
static int serve(int ep, int fd, struct conn *c)
{
	for (;;) {
		if (c->head_off < c->head_len || c->out_left) {
			int r = flush(fd, c);
			if (r)
				return r < 0 ? -1 : 0;
		}
		char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
		if (!end)
			return 0;
		size_t used = (size_t)(end + 4 - c->in);
		unsigned long mib = 0;
		if (!strncmp(c->in, "GET /bulk/", 10))
			mib = strtoul(c->in + 10, NULL, 10);
		if (mib > 4096)
			mib = 4096;
		c->out_left = mib << 20;
		c->head_off = 0;
		c->head_len = mib ? (size_t)snprintf(c->head, sizeof c->head,
						     "HTTP/1.1 200 OK\r\nContent-Length: %lu\r\n\r\n",
						     mib << 20)
				  : (size_t)snprintf(c->head, sizeof c->head,
						     "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n"
						     "Hello, world\n");
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
		(void)ep;
	}
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	memset(bulk, 'b', sizeof bulk);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
	if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1024)) {
		perror("httpd: listen");
		return 1;
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	for (;;) {
		struct epoll_event out[64];
		int n = epoll_wait(ep, out, 64, -1);
		for (int i = 0; i < n; i++) {
			int fd = out[i].data.fd;
			if (fd == l) {
				int s;
				while ((s = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					if (s >= MAXC || !(conns[s] = calloc(1, sizeof(struct conn)))) {
						close(s);
						continue;
					}
					setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLET,
								  .data.fd = s};
					epoll_ctl(ep, EPOLL_CTL_ADD, s, &cev);
				}
				continue;
			}
			struct conn *c = conns[fd];
			if (!c)
				continue;
			bool closed = false;
			for (;;) {
				if (c->inlen == sizeof c->in) {
					closed = true; /* a request too big: not ours */
					break;
				}
				ssize_t k = read(fd, c->in + c->inlen, sizeof c->in - c->inlen);
				if (k > 0) {
					c->inlen += (size_t)k;
					continue;
				}
				closed = k == 0 || errno != EAGAIN;
				break;
			}
			if (closed || serve(ep, fd, c) < 0)
				drop(ep, fd);
		}
	}
}
