/* The network benchmark's client, run on the host: CONNS keep-alive
 * connections to 127.0.0.1:PORT sending GET / as fast as answers come for
 * SECONDS (requests per second and latency percentiles), or one GET
 * /bulk/MIB read to its end (MB/s).
 * usage: httpload PORT rps CONNS SECONDS | httpload PORT bulk MIB */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXLAT (4 << 20)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(s, (struct sockaddr *)&a, sizeof a)) {
		perror("httpload: connect");
		exit(1);
	}
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return s;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static const char req[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
/* The answer httpd gives: its header and 13 bytes of body. */
static const size_t answer = sizeof("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n") - 1 + 13;

static int rps(int port, int conns, double secs)
{
	int ep = epoll_create1(0);
	int *fd = calloc((size_t)conns, sizeof(int));
	size_t *got = calloc((size_t)conns, sizeof(size_t));
	double *sent = calloc((size_t)conns, sizeof(double));
	double *lat = malloc(MAXLAT * sizeof(double));
	size_t nlat = 0, errors = 0, done = 0;
	for (int i = 0; i < conns; i++) {
		fd[i] = dial(port);
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &ev);
	}
	double start = now(), end = start + secs;
	for (int i = 0; i < conns; i++) {
		sent[i] = now();
		if (write(fd[i], req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
			errors++;
	}
	char buf[65536];
	while (now() < end) {
		struct epoll_event out[64];
		int n = epoll_wait(ep, out, 64, 100);
		for (int k = 0; k < n; k++) {
			int i = (int)out[k].data.u32;
			ssize_t r = read(fd[i], buf, sizeof buf);
			if (r <= 0) {
				errors++;
				epoll_ctl(ep, EPOLL_CTL_DEL, fd[i], NULL);
				continue;
			}
			got[i] += (size_t)r;
			while (got[i] >= answer) {
				got[i] -= answer;
				double t = now();
				if (nlat < MAXLAT)
					lat[nlat++] = t - sent[i];
				done++;
				sent[i] = t;
				if (write(fd[i], req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
					errors++;
			}
		}
	}
	double took = now() - start;
	qsort(lat, nlat, sizeof(double), cmp);
	double p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[nlat * 99 / 100] : 0;
	printf("%.0f %.0f %.0f %zu\n", (double)done / took, p50 * 1e6, p99 * 1e6, errors);
	return errors ? 1 : 0;
}

static int bulk(int port, unsigned long mib)
{
	int s = dial(port);
	char head[64];
	int n = snprintf(head, sizeof head, "GET /bulk/%lu HTTP/1.1\r\n\r\n", mib);
	double start = now();
	if (write(s, head, (size_t)n) != n)
		return 1;
	static char buf[1 << 20];
	size_t total = 0, want = (mib << 20) + (size_t)snprintf(NULL, 0,
				"HTTP/1.1 200 OK\r\nContent-Length: %lu\r\n\r\n", mib << 20);
	while (total < want) {
		ssize_t r = read(s, buf, sizeof buf);
		if (r <= 0) {
			fprintf(stderr, "httpload: bulk ended at %zu of %zu\n", total, want);
			return 1;
		}
		total += (size_t)r;
	}
	double took = now() - start;
	printf("%.1f\n", (double)(mib << 20) / took / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[2], "rps"))
		return rps(atoi(argv[1]), atoi(argv[3]), atof(argv[4]));
	if (argc == 4 && !strcmp(argv[2], "bulk"))
		return bulk(atoi(argv[1]), strtoul(argv[3], NULL, 10));
	fprintf(stderr, "usage: httpload PORT rps CONNS SECONDS | httpload PORT bulk MIB\n");
	return 2;
}
