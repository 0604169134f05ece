/* net_proc_unix.c - /proc/net/unix lists the program's own AF_UNIX
 * sockets as Linux does: its header, then for each socket (found by its
 * inode, as ss and lsof find them) the reference count, flags (listening),
 * type, state and path: a named listener, a connection not yet accepted
 * (no inode: connecting), a connected client, a socketpair, an abstract
 * datagram socket (@ for the NULs) and an unbound seqpacket socket. */
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

int main(void)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/husk-proc-unix-%d.sock", (int)getpid());
	unlink(path);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, path);
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&a, alen) || listen(l, 4))
		return 1;
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&a, alen))
		return 2;
	int sp[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un ab = {.sun_family = AF_UNIX};
	memcpy(ab.sun_path, "\0husk\0abs", 9);
	if (bind(d, (struct sockaddr *)&ab, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 9)))
		return 3;
	int q = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct {
		const char *name;
		unsigned long ino;
	} mine[] = {{"listener", ino_of(l)}, {"client", ino_of(c)}, {"pair0", ino_of(sp[0])},
		    {"pair1", ino_of(sp[1])}, {"abstract", ino_of(d)}, {"seqpacket", ino_of(q)}};
	FILE *f = fopen("/proc/net/unix", "r");
	if (!f)
		return 4;
	char line[512];
	if (fgets(line, sizeof line, f))
		printf("header: %s", line);
	/* Linux lists them in its hash order: the rows are kept and printed
	 * in ours. */
	static char rows[7][400];
	int pending = 0;
	while (fgets(line, sizeof line, f)) {
		char num[32], p[300] = "";
		unsigned refs, proto, flags, type, st;
		unsigned long ino;
		int n = sscanf(line, "%31s %x %x %x %x %x %lu %299s", num, &refs, &proto, &flags,
			       &type, &st, &ino, p);
		if (n < 7)
			continue;
		int who = -1;
		for (int i = 0; i < 6; i++)
			if (mine[i].ino == ino)
				who = i;
		/* The accept queue's end: no inode, our listener's path. */
		if (who < 0 && ino == 0 && !strcmp(p, path)) {
			who = 6;
			pending++;
		}
		if (who < 0)
			continue;
		snprintf(rows[who], sizeof rows[who], "%-9s refs %u proto %u flags %05x type %u st %u path %s",
			 who < 6 ? mine[who].name : "pending", refs, proto, flags, type, st,
			 !strcmp(p, path) ? "(ours)" : p);
	}
	fclose(f);
	for (int i = 0; i < 7; i++)
		printf("%s\n", rows[i][0] ? rows[i] : "(missing)");
	printf("pending ends: %d\n", pending);
	/* Accepted, the pending end is a socket of its own. */
	int s = accept(l, NULL, NULL);
	f = fopen("/proc/net/unix", "r");
	int seen = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long ino;
		unsigned x;
		char num[32];
		if (sscanf(line, "%31s %x %x %x %x %x %lu", num, &x, &x, &x, &x, &x, &ino) == 7 &&
		    ino == ino_of(s))
			seen++;
	}
	if (f)
		fclose(f);
	printf("accepted end listed: %d\n", seen);
	unlink(path);
	return 0;
}
