/* net_unix.c - AF_UNIX sockets with names: a filesystem socket (bind
 * makes the node, EADDRINUSE for a second, the node stays after close
 * and then refuses), listen/accept/connect with a forked client,
 * descriptors passed both ways (SCM_RIGHTS: a pipe's end handed over and
 * read through), SO_PEERCRED, SCM_CREDENTIALS with SO_PASSCRED, MSG_CTRUNC
 * when the control buffer is short, an abstract name, named datagrams
 * with the sender's address, seqpacket boundaries, autobind, and errors. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "guest.h"

static socklen_t addr_of(struct sockaddr_un *a, const char *path, bool abstract)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	if (abstract) {
		size_t n = strlen(path);
		memcpy(a->sun_path + 1, path, n);
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	}
	strcpy(a->sun_path, path);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

/* Sends one byte with fds attached. */
static ssize_t send_fds(int s, const int *fds, int n, char byte)
{
	char buf[CMSG_SPACE(sizeof(int) * 4)];
	memset(buf, 0, sizeof buf);
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
	return sendmsg(s, &mh, 0);
}

/* Receives one byte and up to 4 fds; *n gets how many came. */
static ssize_t recv_fds(int s, int *fds, int *n, size_t room, int *flags)
{
	char buf[CMSG_SPACE(sizeof(int) * 4)];
	char byte;
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = room};
	ssize_t r = recvmsg(s, &mh, 0);
	*n = 0;
	*flags = mh.msg_flags;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); r >= 0 && c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds + *n, CMSG_DATA(c), sizeof(int) * (size_t)k);
			*n += k;
		}
	return r;
}

int main(void)
{
	GUEST_INIT();
	char path[64];
	snprintf(path, sizeof path, "/tmp/husk-unix-%d", (int)getpid());
	unlink(path);
	struct sockaddr_un a;
	socklen_t alen = addr_of(&a, path, false);

	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK("bind a path", bind(l, (struct sockaddr *)&a, alen));
	struct stat st;
	EXPECT("the path is a socket node", stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK("bind the same path again", bind(l2, (struct sockaddr *)&a, alen));
	CHECK("listen unbound", listen(l2, 1));
	close(l2);
	CHECK("listen", listen(l, 4));
	struct sockaddr_un got;
	socklen_t glen = sizeof got;
	CHECK("getsockname", getsockname(l, (struct sockaddr *)&got, &glen));
	EXPECT("its name is the path", glen == alen && !strcmp(got.sun_path, path));

	int pipefd[2];
	if (pipe(pipefd))
		die("pipe");
	write(pipefd[1], "through the pipe", 16);
	close(pipefd[1]);
	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&a, alen))
			_exit(10);
		int fds[4], n, fl;
		if (recv_fds(c, fds, &n, sizeof(char[CMSG_SPACE(sizeof(int) * 4)]), &fl) != 1 || n != 1)
			_exit(11);
		char buf[32] = {0};
		ssize_t k = read(fds[0], buf, sizeof buf - 1);
		/* Back: what was read, and a descriptor of the child's own. */
		int p2[2];
		pipe(p2);
		write(p2[1], "from the child", 14);
		close(p2[1]);
		send_fds(c, &p2[0], 1, 'c');
		write(c, buf, (size_t)k);
		close(c);
		_exit(0);
	}
	int s = accept(l, NULL, NULL);
	struct ucred cr;
	socklen_t crlen = sizeof cr;
	CHECK("SO_PEERCRED", getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &crlen));
	EXPECT("the peer is the child", cr.pid == pid && cr.uid == getuid() && cr.gid == getgid());
	struct sockaddr_un pn;
	socklen_t pnlen = sizeof pn;
	CHECK("getpeername: an unnamed client", getpeername(s, (struct sockaddr *)&pn, &pnlen));
	printf("its length %u\n", pnlen);
	CHECK("send a descriptor", send_fds(s, &pipefd[0], 1, 'p'));
	close(pipefd[0]);
	int fds[4], n, fl;
	ssize_t r = recv_fds(s, fds, &n, sizeof(char[CMSG_SPACE(sizeof(int) * 4)]), &fl);
	char buf[64] = {0};
	read(fds[0], buf, sizeof buf - 1);
	printf("got %zd byte and %d descriptor: '%s'\n", r, n, buf);
	close(fds[0]);
	memset(buf, 0, sizeof buf);
	r = read(s, buf, sizeof buf - 1);
	printf("the child read '%s' through ours\n", buf);
	int st2;
	waitpid(pid, &st2, 0);
	printf("child exit %d\n", WEXITSTATUS(st2));
	close(s);

	/* Two descriptors, a buffer for one: MSG_CTRUNC. */
	int sp[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	int two[2] = {0, 1};
	send_fds(sp[0], two, 2, 'x');
	r = recv_fds(sp[1], fds, &n, CMSG_LEN(sizeof(int)), &fl);
	printf("short control: %zd byte, %d descriptor, MSG_CTRUNC %d\n", r, n, !!(fl & MSG_CTRUNC));
	for (int i = 0; i < n; i++)
		close(fds[i]);
	/* SCM_CREDENTIALS for a receiver that asks. */
	int one = 1;
	setsockopt(sp[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
	write(sp[0], "c", 1);
	char cbuf[CMSG_SPACE(sizeof(struct ucred))];
	char byte;
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	recvmsg(sp[1], &mh, 0);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	struct ucred u2 = {0};
	if (c && c->cmsg_type == SCM_CREDENTIALS)
		memcpy(&u2, CMSG_DATA(c), sizeof u2);
	EXPECT("SCM_CREDENTIALS: our own", c && u2.pid == getpid() && u2.uid == getuid());
	close(sp[0]);
	close(sp[1]);

	/* The node outlives the socket, and then refuses. */
	close(l);
	int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK("connect to a closed socket's node", connect(c2, (struct sockaddr *)&a, alen));
	CHECK("unlink it", unlink(path));
	CHECK("connect to nothing", connect(c2, (struct sockaddr *)&a, alen));
	close(c2);

	/* Abstract names, a seqpacket listener: messages keep their edges. */
	struct sockaddr_un ab;
	char aname[48];
	snprintf(aname, sizeof aname, "husk-abstract-%d", (int)getpid());
	socklen_t ablen = addr_of(&ab, aname, true);
	int al = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK("bind abstract", bind(al, (struct sockaddr *)&ab, ablen));
	CHECK("listen", listen(al, 1));
	int ac = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK("connect abstract", connect(ac, (struct sockaddr *)&ab, ablen));
	int as = accept(al, NULL, NULL);
	write(ac, "first", 5);
	write(ac, "second", 6);
	memset(buf, 0, sizeof buf);
	printf("seqpacket reads %zd", read(as, buf, sizeof buf));
	printf(", %zd\n", read(as, buf, sizeof buf));
	int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK("connect a datagram socket to a stream name", connect(dg, (struct sockaddr *)&ab, ablen));
	close(as);
	close(ac);
	close(al);

	/* Datagrams by name, with the sender's. */
	struct sockaddr_un d1, d2;
	char n1[48], n2[48];
	snprintf(n1, sizeof n1, "husk-d1-%d", (int)getpid());
	snprintf(n2, sizeof n2, "husk-d2-%d", (int)getpid());
	socklen_t l1 = addr_of(&d1, n1, true), l2n = addr_of(&d2, n2, true);
	int x = socket(AF_UNIX, SOCK_DGRAM, 0), y = socket(AF_UNIX, SOCK_DGRAM, 0);
	bind(x, (struct sockaddr *)&d1, l1);
	bind(y, (struct sockaddr *)&d2, l2n);
	CHECK("sendto by name", sendto(x, "dgram!", 6, 0, (struct sockaddr *)&d2, l2n));
	struct sockaddr_un from;
	socklen_t flen = sizeof from;
	memset(buf, 0, sizeof buf);
	r = recvfrom(y, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
	EXPECT("it came, from x's name", r == 6 && flen == l1 && !memcmp(from.sun_path, d1.sun_path, l1 - 2));
	CHECK("sendto a name nobody has", sendto(x, "?", 1, 0, (struct sockaddr *)&ab, ablen));
	CHECK("recv into no buffer, nothing queued", recv(y, buf, 0, MSG_DONTWAIT));
	sendto(x, "zz", 2, 0, (struct sockaddr *)&d2, l2n);
	CHECK("recv into no buffer takes the datagram", recv(y, buf, 0, 0));
	CHECK("it is gone", recv(y, buf, sizeof buf, MSG_DONTWAIT));

	/* Autobind: an empty name picks an abstract one. */
	int z = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un empty = {.sun_family = AF_UNIX};
	CHECK("autobind", bind(z, (struct sockaddr *)&empty, sizeof(sa_family_t)));
	socklen_t zlen = sizeof got;
	getsockname(z, (struct sockaddr *)&got, &zlen);
	printf("autobound: length %u, abstract %d\n", zlen, got.sun_path[0] == 0);
	CHECK("bind with another family", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&(struct sockaddr){.sa_family = AF_INET}, sizeof(struct sockaddr)));
	CHECK("accept on a datagram socket", accept(z, NULL, NULL));
	/* A datagram socket connected to another takes from no third party
	 * (Linux's unix_may_send): x connects to z; y may not send to x, z
	 * may; after x dissolves its association, y may too. */
	CHECK("connect x to z", connect(x, (struct sockaddr *)&got, zlen));
	CHECK("y to x (x is z's)", sendto(y, "no", 2, 0, (struct sockaddr *)&d1, l1));
	CHECK("z to x", sendto(z, "ok", 2, 0, (struct sockaddr *)&d1, l1));
	CHECK("x reads z's", recv(x, buf, sizeof buf, MSG_DONTWAIT));
	CHECK("x to z by its connection", send(x, "hi", 2, 0));
	struct sockaddr_un unspec = {.sun_family = AF_UNSPEC};
	CHECK("x dissolves", connect(x, (struct sockaddr *)&unspec, sizeof(sa_family_t)));
	CHECK("y to x now", sendto(y, "yes", 3, 0, (struct sockaddr *)&d1, l1));
	close(x);
	close(y);
	close(z);
	close(dg);
	return 0;
}
