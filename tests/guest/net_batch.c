/* net_batch.c - batched and waiting socket calls over loopback:
 * sendmmsg and recvmmsg (with MSG_WAITFORONE, and each msg_len), a
 * receive timeout (SO_RCVTIMEO: EAGAIN when it runs out, on recv and on
 * accept), and MSG_WAITALL gathering a stream sent in pieces. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "guest.h"

static struct sockaddr_in bound_name(int fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (bind(fd, (struct sockaddr *)&a, sizeof a))
		die("bind");
	getsockname(fd, (struct sockaddr *)&a, &len);
	return a;
}

int main(void)
{
	GUEST_INIT();
	int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in an = bound_name(a);
	connect(b, (struct sockaddr *)&an, sizeof an);
	char *words[3] = {"one", "three", "fivefive"};
	struct iovec iov[3];
	struct mmsghdr out[3];
	memset(out, 0, sizeof out);
	for (int i = 0; i < 3; i++) {
		iov[i] = (struct iovec){words[i], strlen(words[i])};
		out[i].msg_hdr.msg_iov = &iov[i];
		out[i].msg_hdr.msg_iovlen = 1;
	}
	int n = sendmmsg(b, out, 3, 0);
	printf("sendmmsg %d: %u %u %u\n", n, out[0].msg_len, out[1].msg_len, out[2].msg_len);
	char bufs[4][16];
	struct iovec riov[4];
	struct mmsghdr in[4];
	memset(in, 0, sizeof in);
	for (int i = 0; i < 4; i++) {
		riov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
		in[i].msg_hdr.msg_iov = &riov[i];
		in[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(a, in, 4, MSG_WAITFORONE, NULL);
	printf("recvmmsg %d:", n);
	for (int i = 0; i < n; i++)
		printf(" %.*s(%u)", (int)in[i].msg_len, bufs[i], in[i].msg_len);
	printf("\n");
	CHECK("recvmmsg with nothing, non-blocking", recvmmsg(a, in, 4, MSG_DONTWAIT, NULL));

	/* A receive timeout. */
	struct timeval tv = {0, 100000};
	CHECK("SO_RCVTIMEO", setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	struct timeval back;
	socklen_t blen = sizeof back;
	getsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &back, &blen);
	printf("SO_RCVTIMEO reads back %ld.%06ld\n", (long)back.tv_sec, (long)back.tv_usec);
	char c;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK("recv past the timeout", recv(a, &c, 1, 0));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("it waited about the timeout: %d\n", ms >= 90 && ms < 5000);
	struct timeval bad = {0, 2000000};
	CHECK("SO_RCVTIMEO with usec out of range", setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad));

	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in ln = bound_name(l);
	listen(l, 4);
	setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	CHECK("accept past the timeout", accept(l, NULL, NULL));

	/* MSG_WAITALL: one recv for pieces sent apart. */
	pid_t pid = fork();
	if (pid == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&ln, sizeof ln))
			_exit(1);
		write(s, "01234", 5);
		usleep(50000);
		write(s, "56789", 5);
		usleep(50000);
		close(s);
		_exit(0);
	}
	struct timeval none = {0, 0};
	setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
	int s = accept(l, NULL, NULL);
	char buf[16] = {0};
	ssize_t k = recv(s, buf, 10, MSG_WAITALL);
	printf("MSG_WAITALL: %zd '%s'\n", k, buf);
	k = recv(s, buf, 10, MSG_WAITALL);
	printf("then at the end: %zd\n", k);
	waitpid(pid, NULL, 0);
	close(s);
	close(l);
	close(a);
	close(b);
	return 0;
}
