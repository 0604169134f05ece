/* AF_UNIX socket pairs: stream, datagram and seqpacket ends, send/recv
 * and sendmsg/recvmsg, message boundaries and truncation, MSG_DONTWAIT,
 * shutdown, a closed peer (EOF, EPIPE), FIONREAD, socket options and
 * names, a blocking read woken by another process, and the errors. */
#include "guest.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

static void report(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	int s[2];
	report("stream pair", socketpair(AF_UNIX, SOCK_STREAM, 0, s));
	struct stat st;
	fstat(s[0], &st);
	printf("S_ISSOCK: %s\n", S_ISSOCK(st.st_mode) ? "yes" : "no");
	report("send", send(s[0], "hello", 5, 0));
	report("send", send(s[0], " world", 6, 0));
	int avail = 0;
	ioctl(s[1], FIONREAD, &avail);
	printf("FIONREAD %d\n", avail);
	char buf[64] = {0};
	report("stream recv joins", recv(s[1], buf, sizeof(buf) - 1, 0));
	printf("got '%s'\n", buf);
	report("MSG_DONTWAIT empty", recv(s[1], buf, sizeof(buf), MSG_DONTWAIT));
	int type = 0, dom = 0;
	socklen_t len = sizeof(type);
	getsockopt(s[0], SOL_SOCKET, SO_TYPE, &type, &len);
	len = sizeof(dom);
	getsockopt(s[0], SOL_SOCKET, SO_DOMAIN, &dom, &len);
	printf("SO_TYPE stream %s, SO_DOMAIN unix %s\n", type == SOCK_STREAM ? "yes" : "no",
	       dom == AF_UNIX ? "yes" : "no");
	struct sockaddr_un sun;
	len = sizeof(sun);
	report("getsockname", getsockname(s[0], (struct sockaddr *)&sun, &len));
	printf("family unix %s, len %u\n", sun.sun_family == AF_UNIX ? "yes" : "no", (unsigned)len);

	/* sendmsg/recvmsg with two iovecs each. */
	struct iovec out[2] = {{"ab", 2}, {"cde", 3}};
	struct msghdr mh = {.msg_iov = out, .msg_iovlen = 2};
	report("sendmsg", sendmsg(s[0], &mh, 0));
	char a[3] = {0}, b[8] = {0};
	struct iovec in[2] = {{a, 2}, {b, 7}};
	struct msghdr rh = {.msg_iov = in, .msg_iovlen = 2};
	report("recvmsg", recvmsg(s[1], &rh, 0));
	printf("pieces '%s' '%s'\n", a, b);

	/* shutdown and a closed peer. */
	report("shutdown WR", shutdown(s[0], SHUT_WR));
	report("read after peer's SHUT_WR", recv(s[1], buf, sizeof(buf), 0));
	report("send after own SHUT_WR", send(s[0], "x", 1, MSG_NOSIGNAL));
	close(s[1]);
	report("send to a closed peer", send(s[0], "x", 1, MSG_NOSIGNAL));
	close(s[0]);

	/* Datagrams keep their boundaries; a short buffer truncates. */
	int d[2];
	report("dgram pair", socketpair(AF_UNIX, SOCK_DGRAM, 0, d));
	send(d[0], "first", 5, 0);
	send(d[0], "second!", 7, 0);
	report("dgram recv 1", recv(d[1], buf, sizeof(buf), 0));
	report("dgram recv truncated", recv(d[1], buf, 3, 0));
	report("dgram nothing left", recv(d[1], buf, sizeof(buf), MSG_DONTWAIT));
	report("empty datagram", send(d[0], "", 0, 0));
	report("recv empty datagram", recv(d[1], buf, sizeof(buf), 0));
	close(d[0]);
	close(d[1]);
	int q[2];
	report("seqpacket pair", socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, q));
	printf("cloexec %s\n", fcntl(q[0], F_GETFD) & FD_CLOEXEC ? "yes" : "no");
	send(q[0], "abc", 3, 0);
	send(q[0], "de", 2, 0);
	report("seqpacket recv", recv(q[1], buf, sizeof(buf), 0));

	/* A blocking read woken by another process's write. */
	int w[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, w);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		struct timespec t = {0, 30 * 1000 * 1000};
		nanosleep(&t, NULL);
		_exit(write(w[1], "late", 4) == 4 ? 0 : 1);
	}
	memset(buf, 0, sizeof(buf));
	report("blocking read", read(w[0], buf, sizeof(buf)));
	printf("got '%s'\n", buf);
	waitpid(c, NULL, 0);

	/* Errors. */
	int e[2];
	report("AF_INET pair", socketpair(AF_INET, SOCK_STREAM, 0, e));
	report("bad type", socketpair(AF_UNIX, 77, 0, e));
	report("raw type", socketpair(AF_UNIX, SOCK_RAW, 0, e));
	report("bad protocol", socketpair(AF_UNIX, SOCK_STREAM, 9, e));
	report("bad pointer", syscall(SYS_socketpair, (long)AF_UNIX, (long)SOCK_STREAM, 0L, 8L));
	report("sendto with an address", sendto(w[0], "x", 1, 0, (struct sockaddr *)&sun,
						 sizeof(sa_family_t) + 2));
	int p[2];
	if (pipe(p) != 0)
		die("pipe");
	report("send on a pipe", send(p[1], "x", 1, 0));
	report("shutdown bad how", shutdown(w[0], 7));
	report("unknown option", getsockopt(w[0], SOL_SOCKET, 9999, &type, &len));
	return 0;
}
