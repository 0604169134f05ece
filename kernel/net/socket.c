/* The socket syscalls: each hands its descriptor to the family behind it
 * (inet.c's AF_INET sockets, unix.c's socketpair ends), with the checks
 * Linux makes before any family sees the call. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "net.h"

#define MAX_IOV 1024

long sock_copy_out(struct k_task *t, uint64_t ubuf, uint64_t ulen, const void *v, size_t size,
		   int kind)
{
	if (kind == SOCK_OUT_ADDR && (!ubuf || !ulen))
		return 0;
	int32_t len;
	if (k_copy_in(t, &len, ulen, sizeof(len)))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	size_t n = (size_t)len < size ? (size_t)len : size;
	if (n && k_copy_out(t, ubuf, v, n))
		return -EFAULT;
	len = (int32_t)(kind == SOCK_OUT_ADDR ? size : n);
	return k_copy_out(t, ulen, &len, sizeof(len));
}

/* The socket at fd (a new reference), or NULL with *err set. */
static struct k_file *sock_get(struct k_task *t, int fd, long *err)
{
	struct k_file *f = fdt_get(t, fd);
	if (!f) {
		*err = -EBADF;
		return NULL;
	}
	if (!inet_file(f) && !unix_file(f) && !netlink_file(f)) {
		file_put(f);
		*err = -ENOTSOCK;
		return NULL;
	}
	return f;
}

SYSCALL(socket)
{
	int domain = (int)a[0], flags = (int)a[1], proto = (int)a[2];
	int type = flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (domain < 0 || domain >= AF_MAX)
		return -EAFNOSUPPORT;
	if (type <= 0 || type > SOCK_PACKET)
		return -EINVAL;
	if (domain == AF_INET)
		return inet_socket(t, type, proto, flags);
	if (domain == AF_UNIX)
		return unix_socket(t, type, proto, flags);
	if (domain == AF_NETLINK)
		return netlink_socket(t, type, proto, flags);
	/* IPv6 is still to come. */
	return -EAFNOSUPPORT;
}

SYSCALL(socketpair)
{
	return unix_socketpair(t, a);
}

SYSCALL(bind)
{
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	long r = inet_file(f)	 ? inet_bind(t, f, a[1], (int)a[2])
		 : netlink_file(f) ? netlink_bind(t, f, a[1], (int)a[2])
				   : unix_bind(t, f, a[1], (int)a[2]);
	file_put(f);
	return r;
}

SYSCALL(listen)
{
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	long r = inet_file(f)	 ? inet_listen(t, f, (int)a[1])
		 : netlink_file(f) ? -EOPNOTSUPP
				   : unix_listen(t, f, (int)a[1]);
	file_put(f);
	return r;
}

static long do_accept(struct k_task *t, const uint64_t *a, int flags)
{
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	long r = inet_file(f)	 ? inet_accept(t, f, a[1], a[2], flags)
		 : netlink_file(f) ? -EOPNOTSUPP
				   : unix_accept(t, f, a[1], a[2], flags);
	file_put(f);
	return r;
}

SYSCALL(accept) { return do_accept(t, a, 0); }
SYSCALL(accept4) { return do_accept(t, a, (int)a[3]); }

SYSCALL(connect)
{
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	/* A netlink socket "connects" to the kernel: nothing changes. */
	long r = inet_file(f)	 ? inet_connect(t, f, a[1], (int)a[2])
		 : netlink_file(f) ? 0
				   : unix_connect(t, f, a[1], (int)a[2]);
	file_put(f);
	return r;
}

SYSCALL(sendto)
{
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	struct iovec v = {(void *)a[1], a[2]};
	bool trunc;
	if (netlink_file(f)) {
		long r = netlink_transfer(t, f, &v, 1, (int)a[3], true, 0, 0, &trunc);
		file_put(f);
		return r;
	}
	if (!inet_file(f)) {
		file_put(f);
		return unix_sendto(t, a);
	}
	long r = inet_sendmsg(t, f, &v, 1, a[4], (int)a[5], (int)a[3]);
	file_put(f);
	return r;
}

SYSCALL(recvfrom)
{
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	struct iovec v = {(void *)a[1], a[2]};
	bool trunc;
	if (netlink_file(f)) {
		long r = netlink_transfer(t, f, &v, 1, (int)a[3], false, a[4], a[5], &trunc);
		file_put(f);
		return r;
	}
	if (!inet_file(f)) {
		file_put(f);
		return unix_recvfrom(t, a);
	}
	long r = inet_recvmsg(t, f, &v, 1, (int)a[3], a[4], a[5], &trunc);
	file_put(f);
	return r;
}

static long inet_msg(struct k_task *t, struct k_file *f, uint64_t umsg, int flags, bool send)
{
	struct msghdr mh;
	if (k_copy_in(t, &mh, umsg, sizeof(mh)))
		return -EFAULT;
	if (mh.msg_iovlen > MAX_IOV)
		return -EMSGSIZE;
	struct iovec *gv = malloc((mh.msg_iovlen ? mh.msg_iovlen : 1) * sizeof(*gv));
	if (!gv)
		return -ENOMEM;
	long r = 0;
	if (mh.msg_iovlen && k_copy_in(t, gv, (uint64_t)mh.msg_iov, mh.msg_iovlen * sizeof(*gv)))
		r = -EFAULT;
	bool trunc = false;
	uint64_t name = mh.msg_name ? (uint64_t)mh.msg_name : 0;
	uint64_t namelen = mh.msg_name ? umsg + offsetof(struct msghdr, msg_namelen) : 0;
	if (!r && netlink_file(f))
		r = netlink_transfer(t, f, gv, (int)mh.msg_iovlen, flags, send, name, namelen, &trunc);
	else if (!r && send)
		r = inet_sendmsg(t, f, gv, (int)mh.msg_iovlen, (uint64_t)mh.msg_name,
				 (int)mh.msg_namelen, flags);
	else if (!r)
		r = inet_recvmsg(t, f, gv, (int)mh.msg_iovlen, flags, name, namelen, &trunc);
	free(gv);
	if (r >= 0 && !send) {
		/* No control messages yet; truncation said in the flags. */
		uint64_t cl = 0;
		int fl = trunc ? MSG_TRUNC : 0;
		if (!mh.msg_name) {
			uint32_t zero = 0;
			if (k_copy_out(t, umsg + offsetof(struct msghdr, msg_namelen), &zero, sizeof(zero)))
				return -EFAULT;
		}
		if (k_copy_out(t, umsg + offsetof(struct msghdr, msg_controllen), &cl, sizeof(cl)) ||
		    k_copy_out(t, umsg + offsetof(struct msghdr, msg_flags), &fl, sizeof(fl)))
			return -EFAULT;
	}
	return r;
}

static long msg(struct k_task *t, const uint64_t *a, bool send)
{
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	if (unix_file(f)) {
		file_put(f);
		return unix_msg(t, (int)a[0], a[1], (int)a[2], send);
	}
	long r = inet_msg(t, f, a[1], (int)a[2], send);
	file_put(f);
	return r;
}

SYSCALL(sendmsg) { return msg(t, a, true); }
SYSCALL(recvmsg) { return msg(t, a, false); }

int64_t sock_now_ns(void)
{
	struct timespec ts;
	k_clock_ts(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t sock_deadline(int64_t sec, int64_t nsec)
{
	if (sec < 0 || nsec < 0)
		return sock_now_ns();
	if (sec > 1000000000LL)
		sec = 1000000000LL;
	return sock_now_ns() + sec * 1000000000LL + nsec % 1000000000LL;
}

/* sendmmsg and recvmmsg: one msg call per entry, each one's length into
 * its msg_len; an error after the first entry ends the batch with the
 * count done (Linux's).  recvmmsg's timeout is looked at between entries,
 * as Linux does; MSG_WAITFORONE makes all but the first non-blocking. */
static long mmsg(struct k_task *t, const uint64_t *a, bool send)
{
	int fd = (int)a[0], flags = (int)a[3];
	uint64_t vec = a[1];
	unsigned vlen = (unsigned)a[2];
	if (vlen > MAX_IOV)
		vlen = MAX_IOV;
	long err;
	struct k_file *f = sock_get(t, fd, &err);
	if (!f)
		return err;
	file_put(f);
	int64_t until = 0;
	if (!send && a[4]) {
		struct timespec ts;
		if (k_copy_in(t, &ts, a[4], sizeof(ts)))
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
			return -EINVAL;
		until = sock_deadline(ts.tv_sec, ts.tv_nsec);
	}
	bool waitforone = !send && (flags & MSG_WAITFORONE);
	flags &= ~MSG_WAITFORONE;
	unsigned i = 0;
	for (; i < vlen; i++) {
		uint64_t m = vec + (uint64_t)i * sizeof(struct mmsghdr);
		uint64_t args[3] = {(uint64_t)(unsigned)fd, m, (uint64_t)(unsigned)flags};
		long r = msg(t, args, send);
		if (r < 0) {
			if (i == 0)
				return r;
			break;
		}
		unsigned len = (unsigned)r;
		if (k_copy_out(t, m + offsetof(struct mmsghdr, msg_len), &len, sizeof(len)))
			return i ? (long)i : -EFAULT;
		if (waitforone)
			flags |= MSG_DONTWAIT;
		if (until && sock_now_ns() >= until) {
			i++;
			break;
		}
	}
	return (long)i;
}

SYSCALL(sendmmsg) { return mmsg(t, a, true); }
SYSCALL(recvmmsg) { return mmsg(t, a, false); }

SYSCALL(shutdown)
{
	int how = (int)a[1];
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	if (unix_file(f)) {
		file_put(f);
		return unix_shutdown(t, a);
	}
	long r = how < SHUT_RD || how > SHUT_RDWR ? -EINVAL
		 : netlink_file(f)		   ? 0
						   : inet_shutdown(t, f, how);
	file_put(f);
	return r;
}

static long name(struct k_task *t, const uint64_t *a, bool peer)
{
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	long r = inet_file(f)	 ? inet_name(t, f, a[1], a[2], peer)
		 : netlink_file(f) ? netlink_getname(t, f, a[1], a[2], peer)
				   : unix_getname(t, f, a[1], a[2], peer);
	file_put(f);
	return r;
}

SYSCALL(getsockname) { return name(t, a, false); }
SYSCALL(getpeername) { return name(t, a, true); }

static long netlink_getsockopt(struct k_task *t, int level, int opt, uint64_t uval, uint64_t ulen)
{
	int v;
	if (level != SOL_SOCKET)
		return -ENOPROTOOPT;
	switch (opt) {
	case SO_TYPE: v = SOCK_RAW; break;
	case SO_DOMAIN: v = AF_NETLINK; break;
	case SO_PROTOCOL: v = 0; /* NETLINK_ROUTE */ break;
	case SO_RCVBUF: case SO_SNDBUF: v = 212992; break;
	case SO_ERROR: v = 0; break;
	default: return -ENOPROTOOPT;
	}
	return sock_copy_out(t, uval, ulen, &v, sizeof(v), SOCK_OUT_OPT);
}

SYSCALL(getsockopt)
{
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	if (unix_file(f)) {
		file_put(f);
		return unix_getsockopt(t, a);
	}
	long r = netlink_file(f) ? netlink_getsockopt(t, (int)a[1], (int)a[2], a[3], a[4])
				 : inet_getsockopt(t, f, (int)a[1], (int)a[2], a[3], a[4]);
	file_put(f);
	return r;
}

SYSCALL(setsockopt)
{
	long err;
	struct k_file *f = sock_get(t, (int)a[0], &err);
	if (!f)
		return err;
	if (unix_file(f)) {
		file_put(f);
		return unix_setsockopt(t, a);
	}
	/* A netlink socket takes its options (buffer sizes, NETLINK_*)
	 * without effect: nothing it offers depends on them. */
	long r = netlink_file(f) ? ((int)a[4] < 0 ? -EINVAL : 0)
				 : inet_setsockopt(t, f, (int)a[1], (int)a[2], a[3], (int)a[4]);
	file_put(f);
	return r;
}
