/* The gofer confines itself before it reads a single request:
 *   1. no fds but the socket (and stderr, for diagnostics)
 *   2. new mount, network, IPC and UTS namespaces (and a user namespace
 *      mapping only its own ids when it is not root)
 *   3. a private clone of each bind mount's host tree (nosuid, nodev,
 *      read-only where the spec says so), without the host's /proc, /sys
 *      and /dev when the source is the host's "/"
 *   4. pivot_root into the "/" mount's clone, the old root detached
 *   5. only the capabilities serving needs
 *   6. PR_SET_PDEATHSIG, no_new_privs and a seccomp allowlist
 * See docs/gofer.md ("Confinement"). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = strlen(text);
	ssize_t w = write(fd, text, n);
	int e = w == (ssize_t)n ? 0 : (w < 0 ? errno : EIO);
	close(fd);
	return -e;
}

static int enter_namespaces(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
	if (uid == 0 && unshare(flags) == 0)
		return 0;
	/* Not root (or root without CAP_SYS_ADMIN): a user namespace in which
	 * the gofer is its own uid and gid, nothing more. */
	if (unshare(flags | CLONE_NEWUSER) != 0)
		return -errno;
	char map[64];
	int rc = write_file("/proc/self/setgroups", "deny");
	if (rc && rc != -ENOENT)
		return rc;
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)uid, (unsigned)uid);
	if ((rc = write_file("/proc/self/uid_map", map)) != 0)
		return rc;
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)gid, (unsigned)gid);
	return write_file("/proc/self/gid_map", map);
}

/* The sentry provides /proc, /sys and /dev itself: a clone of the host's
 * "/" must not carry the host's.  They are detached from the gofer's own
 * (private) mount namespace before the clone; where the kernel refuses
 * (mounts locked by a user namespace), an empty read-only tmpfs covers
 * them instead. */
static int hide_host_pseudo_fs(void)
{
	static const char *const dirs[] = {"/proc", "/sys", "/dev"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct stat st;
		if (lstat(dirs[i], &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		if (umount2(dirs[i], MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			continue;
		if (mount("husk-gofer-empty", dirs[i], "tmpfs",
			  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=1,mode=0555") != 0)
			return -errno;
	}
	return 0;
}

/* Keeps the capabilities that serving files as their owners needs. */
static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	uint32_t keep = (1u << CAP_CHOWN) | (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH) |
			(1u << CAP_FOWNER) | (1u << CAP_FSETID);
	if (syscall(SYS_capget, &hdr, data) != 0)
		return -errno;
	data[0].effective &= keep;
	data[0].permitted &= keep;
	data[0].inheritable = 0;
	data[1].effective = data[1].permitted = data[1].inheritable = 0;
	if (syscall(SYS_capset, &hdr, data) != 0)
		return -errno;
	return 0;
}

/* A private copy of a bind mount's host tree, submounts included, with
 * nosuid, nodev and (if the spec says so) rdonly on every mount in it. */
static int clone_source(const struct gf_mount *m, int *out, const char **step)
{
	static char why[256];
	snprintf(why, sizeof(why), "cloning the source of %.100s (%.100s)", m->path, m->source);
	*step = why;
	int fd = open_tree(AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (fd < 0)
		return -errno;
	*out = fd;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, sizeof(why), "the source of %.100s (%.100s) must be a directory", m->path,
			 m->source);
		return -ENOTDIR;
	}
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m->readonly ? MOUNT_ATTR_RDONLY : 0),
	};
	snprintf(why, sizeof(why), "setting nosuid, nodev and rdonly on %.100s (mount_setattr)", m->path);
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) != 0)
		return -errno;
	return 0;
}

int gf_confine(const struct gf_spec *spec, int sock, int *root_fds, const char **step)
{
	for (int i = 0; i < spec->nmounts; i++)
		root_fds[i] = -1;
	*step = "checking the spec";
	if (spec->nmounts < 1 || spec->nmounts > 64 || strcmp(spec->mounts[0].path, "/") != 0 ||
	    spec->mounts[0].type != GF_MOUNT_BIND)
		return -EINVAL;

	*step = "closing inherited fds";
	if (sock < 3)
		return -EBADF;
	close(0);
	close(1);
	if (syscall(SYS_close_range, 3, sock - 1, 0) != 0 ||
	    syscall(SYS_close_range, sock + 1, ~0U, 0) != 0)
		return -errno;

	*step = "PR_SET_PDEATHSIG";
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		return -errno;
	umask(0);
	/* As many fids as the host allows fds. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	*step = "unshare";
	int rc = enter_namespaces();
	if (rc)
		return rc;
	*step = "making mounts private";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return -errno;

	/* Clone every source tree before the namespace changes further (a
	 * source may live under the staging directory below): the host's "/"
	 * last, once its /proc, /sys and /dev are gone (so that a source
	 * under them, /dev/shm say, is still cloned whole). */
	for (int i = 0; i < spec->nmounts; i++)
		if (spec->mounts[i].type == GF_MOUNT_BIND && strcmp(spec->mounts[i].source, "/") != 0 &&
		    (rc = clone_source(&spec->mounts[i], &root_fds[i], step)) != 0)
			return rc;
	bool hidden = false;
	for (int i = 0; i < spec->nmounts; i++) {
		if (spec->mounts[i].type != GF_MOUNT_BIND || strcmp(spec->mounts[i].source, "/") != 0)
			continue;
		*step = "detaching /proc, /sys and /dev";
		if (!hidden && (rc = hide_host_pseudo_fs()) != 0)
			return rc;
		hidden = true;
		if ((rc = clone_source(&spec->mounts[i], &root_fds[i], step)) != 0)
			return rc;
	}

	/* The "/" mount's clone becomes the root: attach it under a scratch
	 * tmpfs, pivot into it, and detach everything else. */
	*step = "mounting the scratch tmpfs";
	static const char *const stages[] = {"/tmp", "/mnt", "/run", "/dev", "/var"};
	const char *stage = NULL;
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]) && !stage; i++)
		if (mount("husk-gofer", stages[i], "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=16k,nr_inodes=4,mode=0700") == 0)
			stage = stages[i];
	if (!stage)
		return -errno;
	char newroot[32];
	snprintf(newroot, sizeof(newroot), "%s/root", stage);
	*step = "attaching the root (move_mount)";
	if (mkdir(newroot, 0700) != 0)
		return -errno;
	if (move_mount(root_fds[0], "", AT_FDCWD, newroot, MOVE_MOUNT_F_EMPTY_PATH) != 0)
		return -errno;
	*step = "pivot_root";
	if (chdir(newroot) != 0 || syscall(SYS_pivot_root, ".", ".") != 0)
		return -errno;
	if (umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
		return -errno;

	*step = "dropping capabilities";
	return drop_capabilities();
}

/* ---- seccomp ---- */

#define ALLOW(call, ...)                                                                           \
	do {                                                                                       \
		if (rc == 0)                                                                       \
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, (call), __VA_ARGS__);           \
	} while (0)

int gf_seccomp(int sock, const char **step)
{
	*step = "no_new_privs";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	*step = "building the seccomp filter";
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);

	/* The connection: only on the socket. */
	ALLOW(SCMP_SYS(recvmsg), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)sock));
	ALLOW(SCMP_SYS(sendmsg), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)sock));
	/* Diagnostics (and sanitizer reports) on stderr only. */
	ALLOW(SCMP_SYS(write), 1, SCMP_A0(SCMP_CMP_EQ, 2));

	/* Files.  Every openat carries O_NOFOLLOW. */
	ALLOW(SCMP_SYS(openat), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, O_NOFOLLOW, O_NOFOLLOW));
	ALLOW(SYS_openat2, 0);
	ALLOW(SCMP_SYS(close), 0);
	ALLOW(SCMP_SYS(fstat), 0);
	ALLOW(SCMP_SYS(newfstatat), 0);
	ALLOW(SCMP_SYS(fstatfs), 0);
	ALLOW(SCMP_SYS(getdents64), 0);
	ALLOW(SCMP_SYS(lseek), 0);
	ALLOW(SCMP_SYS(readlinkat), 0);
	ALLOW(SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_SETFL));
	/* Writes (refused before the syscall on read-only mounts, which are
	 * read-only in the kernel too). */
	ALLOW(SCMP_SYS(mkdirat), 0);
	ALLOW(SCMP_SYS(unlinkat), 0);
	ALLOW(SCMP_SYS(renameat2), 0);
	ALLOW(SCMP_SYS(symlinkat), 0);
	ALLOW(SCMP_SYS(linkat), 0);
	ALLOW(SCMP_SYS(fchmod), 0);
	ALLOW(SYS_fchmodat2, 0);
	ALLOW(SCMP_SYS(fchownat), 0);
	ALLOW(SCMP_SYS(ftruncate), 0);
	ALLOW(SCMP_SYS(utimensat), 0);

	/* Memory for malloc (and the sanitizers' allocator): never executable. */
	ALLOW(SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	ALLOW(SCMP_SYS(mprotect), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	ALLOW(SCMP_SYS(munmap), 0);
	ALLOW(SCMP_SYS(mremap), 0);
	ALLOW(SCMP_SYS(madvise), 0);
	ALLOW(SCMP_SYS(brk), 0);

	ALLOW(SCMP_SYS(exit_group), 0);

	if (rc == 0) {
		*step = "loading the seccomp filter";
		rc = seccomp_load(ctx);
	}
	seccomp_release(ctx);
	return rc < 0 ? rc : (rc > 0 ? -rc : 0);
}
