/* A function's code, written into its revision's directory: from a
 * deploy's files map, or unpacked from a tar or zip archive.  Both come
 * from untrusted clients, so every path is checked, then walked one
 * directory at a time from the revision's directory without following a
 * link, and nothing that exists is ever replaced.  One budget (files and
 * bytes) covers everything a deploy writes. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define FILE_FLAGS (O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC)
#define CHUNK (64 << 10)

static const char too_many[] = "too many files (the limit is 10000)";
static const char too_big[] = "the code is too large (the limit is 256 MiB)";
_Static_assert(EX_CODE_FILES_MAX == 10000 && EX_CODE_BYTES_MAX == 256ULL << 20,
	       "the messages above name the limits");

/* Whether n more bytes fit in the budget. */
static bool fits(const struct ex_code_limits *lim, uint64_t n)
{
	return lim->bytes <= EX_CODE_BYTES_MAX && n <= EX_CODE_BYTES_MAX - lim->bytes;
}

/* Why path is not a safe relative path, or NULL when it is. */
static const char *path_problem(const char *path)
{
	if (!path || !*path)
		return "empty path";
	if (*path == '/')
		return "absolute paths are not allowed";
	if (strnlen(path, EX_CODE_PATH_MAX + 1) > EX_CODE_PATH_MAX)
		return "path too long";
	int depth = 0;
	for (const char *c = path;; c++) {
		const char *end = strchrnul(c, '/');
		size_t len = (size_t)(end - c);
		if (len == 0)
			return "empty path component";
		if (len == 2 && c[0] == '.' && c[1] == '.')
			return "path escapes the function's directory";
		if (len == 1 && c[0] == '.')
			return "'.' path component";
		if (++depth > EX_CODE_DEPTH_MAX)
			return "path too deep";
		for (; c < end; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return "control character in path";
		if (!*end)
			return NULL;
	}
}

bool ex_code_path_ok(const char *path)
{
	return !path_problem(path);
}

/* Opens the directory name in cur, making it (0755, counted) when
 * missing; an fd or -errno.  O_NOFOLLOW: a link planted where a
 * directory should be is refused, never followed. */
static int step(int cur, const char *name, struct ex_code_limits *lim, const char **why)
{
	bool made = false;
	int fd = openat(cur, name, DIR_FLAGS);
	if (fd < 0 && errno == ENOENT) {
		if (lim->files >= EX_CODE_FILES_MAX) {
			*why = too_many;
			return -E2BIG;
		}
		if (mkdirat(cur, name, 0755) == 0) {
			made = true;
			lim->files++;
		} else if (errno != EEXIST) {
			*why = "cannot make a directory";
			return -errno;
		}
		fd = openat(cur, name, DIR_FLAGS);
	}
	if (fd < 0) {
		int e = errno;
		*why = e == ELOOP || e == ENOTDIR ? "a part of the path is a link or not a directory"
						  : "cannot open a directory";
		return -e;
	}
	/* Exactly 0755, whatever the umask. */
	if (made && fchmod(fd, 0755) < 0) {
		int e = errno;
		close(fd);
		*why = "cannot set a directory's mode";
		return -e;
	}
	return fd;
}

/* Opens the directory path[0, n) names under dirfd (a copy of dirfd
 * when n is 0), making what is missing; an fd or -errno.  path has
 * passed path_problem and path[n] ends a component. */
static int walk(int dirfd, const char *path, size_t n, struct ex_code_limits *lim,
		const char **why)
{
	char name[EX_CODE_PATH_MAX + 1];
	int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (cur < 0) {
		*why = "cannot use the function's directory";
		return -errno;
	}
	for (size_t i = 0; i < n;) {
		size_t len = strcspn(path + i, "/");
		memcpy(name, path + i, len);
		name[len] = 0;
		int fd = step(cur, name, lim, why);
		close(cur);
		if (fd < 0)
			return fd;
		cur = fd;
		i += len + 1;
	}
	return cur;
}

/* Creates the file path (0644, or 0755 when exec) and its parents; an
 * fd to write to or -errno.  O_EXCL|O_NOFOLLOW: an existing file, or a
 * link planted in its place, is never opened. */
static int create(int dirfd, const char *path, bool exec, struct ex_code_limits *lim,
		  const char **why)
{
	if ((*why = path_problem(path)))
		return -EINVAL;
	const char *slash = strrchr(path, '/');
	int dfd = walk(dirfd, path, slash ? (size_t)(slash - path) : 0, lim, why);
	if (dfd < 0)
		return dfd;
	if (lim->files >= EX_CODE_FILES_MAX) {
		close(dfd);
		*why = too_many;
		return -E2BIG;
	}
	mode_t mode = exec ? 0755 : 0644;
	int fd = openat(dfd, slash ? slash + 1 : path, FILE_FLAGS, mode);
	int e = errno;
	close(dfd);
	if (fd < 0) {
		*why = e == EEXIST ? "a file or directory of that name already exists"
				   : "cannot create the file";
		return -e;
	}
	lim->files++;
	if (fchmod(fd, mode) < 0) {
		e = errno;
		close(fd);
		*why = "cannot set the file's mode";
		return -e;
	}
	return fd;
}

/* Writes buf[0, n) to fd, counting it against the byte budget first. */
static int put(int fd, const void *buf, size_t n, struct ex_code_limits *lim, const char **why)
{
	if (!fits(lim, n)) {
		*why = too_big;
		return -EFBIG;
	}
	lim->bytes += n;
	for (const char *p = buf; n > 0;) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*why = "cannot write the file";
			return w < 0 ? -errno : -EIO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int ex_code_write(int dirfd, const char *path, const void *data, size_t len, bool exec,
		  struct ex_code_limits *lim, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	*why = NULL;
	/* Refused before anything is made. */
	if (!fits(lim, len)) {
		*why = too_big;
		return -EFBIG;
	}
	int fd = create(dirfd, path, exec, lim, why);
	if (fd < 0)
		return fd;
	int r = put(fd, data, len, lim, why);
	close(fd);
	return r;
}

/* Formats into why, control characters (from an entry's name, or
 * libarchive's text about hostile bytes) shown as '?'. */
__attribute__((format(printf, 3, 4))) static void say(char *why, size_t whylen,
						      const char *fmt, ...)
{
	if (!why || !whylen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	for (char *c = why; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

static const char *err_text(struct archive *a)
{
	const char *err = archive_error_string(a);
	return err ? err : "unknown error";
}

/* Why an entry of type t is refused. */
static const char *type_problem(mode_t t)
{
	if (t == AE_IFLNK)
		return "symbolic links are not allowed";
	if (t == AE_IFCHR || t == AE_IFBLK)
		return "devices are not allowed";
	if (t == AE_IFIFO)
		return "FIFOs are not allowed";
	if (t == AE_IFSOCK)
		return "sockets are not allowed";
	return "only regular files and directories are allowed";
}

/* Writes one entry under dirfd; 0 or -errno with *why. */
static int entry(struct archive *a, struct archive_entry *e, int dirfd,
		 struct ex_code_limits *lim, char *buf, const char **why)
{
	const char *name = archive_entry_pathname(e);
	if (!name) {
		*why = "its name cannot be read";
		return -EINVAL;
	}
	/* A hard link is a regular file in tar's eyes: check it first. */
	if (archive_entry_hardlink(e)) {
		*why = "hard links are not allowed";
		return -EINVAL;
	}
	mode_t type = archive_entry_filetype(e);
	if (archive_entry_symlink(e))
		type = AE_IFLNK;
	if (type != AE_IFREG && type != AE_IFDIR) {
		*why = type_problem(type);
		return -EINVAL;
	}
	if (!strncmp(name, "./", 2))
		name += 2;
	char path[EX_CODE_PATH_MAX + 2];
	size_t n = strnlen(name, sizeof(path));
	if (n == sizeof(path)) {
		*why = "path too long";
		return -EINVAL;
	}
	memcpy(path, name, n + 1);
	if (type == AE_IFDIR) {
		if (n > 0 && path[n - 1] == '/')
			path[--n] = 0;
		/* "./" or ".": the function's directory itself. */
		if (!strcmp(path, "") || !strcmp(path, "."))
			return 0;
		if ((*why = path_problem(path)))
			return -EINVAL;
		int fd = walk(dirfd, path, n, lim, why);
		if (fd < 0)
			return fd;
		close(fd);
		return 0;
	}
	/* The declared size may lie (put counts what is written); this
	 * only refuses an honest oversized entry before it is written. */
	la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
	if (size > 0 && !fits(lim, (uint64_t)size)) {
		*why = too_big;
		return -EFBIG;
	}
	int fd = create(dirfd, path, archive_entry_mode(e) & 0111, lim, why);
	if (fd < 0)
		return fd;
	/* A chunk at a time: never a whole entry in memory. */
	la_ssize_t got;
	int r = 0;
	while (!r && (got = archive_read_data(a, buf, CHUNK)) != 0) {
		if (got < 0) {
			*why = err_text(a);
			r = -EINVAL;
		} else {
			r = put(fd, buf, (size_t)got, lim, why);
		}
	}
	close(fd);
	return r;
}

static int entries(struct archive *a, int dirfd, struct ex_code_limits *lim, char *buf,
		   char *why, size_t whylen)
{
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			return 0;
		/* ARCHIVE_WARN (a name in another charset, say) is not fatal. */
		if (r < ARCHIVE_WARN) {
			say(why, whylen, "cannot read the archive: %s", err_text(a));
			return -EINVAL;
		}
		const char *reason = NULL;
		r = entry(a, e, dirfd, lim, buf, &reason);
		if (r < 0) {
			const char *name = archive_entry_pathname(e);
			if (!name)
				name = "?";
			say(why, whylen, "entry '%.200s%s': %s", name, strlen(name) > 200 ? "..." : "",
			    reason);
			return r;
		}
	}
}

int ex_code_unpack(int dirfd, const void *data, size_t len, struct ex_code_limits *lim,
		   char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = 0;
	if (!data || len == 0) {
		say(why, whylen, "the archive is empty");
		return -EINVAL;
	}
	struct archive *a = archive_read_new();
	char *buf = malloc(CHUNK);
	int r;
	if (!a || !buf) {
		say(why, whylen, "out of memory");
		r = -ENOMEM;
	} else if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
		   archive_read_support_filter_bzip2(a) != ARCHIVE_OK ||
		   archive_read_support_format_tar(a) != ARCHIVE_OK ||
		   archive_read_support_format_zip(a) != ARCHIVE_OK) {
		/* Named filters, not _all: that would also hand hostile bytes
		 * to external programs (lrzip, grzip...); ARCHIVE_WARN here
		 * means this libarchive would do so for gzip or bzip2.  Not xz:
		 * its decoder takes what memory the stream asks for (up to
		 * ~1.5 GiB), an easy way to exhaust the node. */
		say(why, whylen, "libarchive lacks built-in tar, zip, gzip or bzip2 support");
		r = -ENOTSUP;
	} else if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
		say(why, whylen, "cannot read the archive: %s", err_text(a));
		r = -EINVAL;
	} else {
		r = entries(a, dirfd, lim, buf, why, whylen);
	}
	if (a)
		archive_read_free(a);
	free(buf);
	return r;
}
