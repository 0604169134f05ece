/* A snapshot's memory image: its memory blocks decompressed into a sparse
 * file beside it (FILE.img), each at the offset it was saved at.  Restores
 * map it copy-on-write instead of copying, so every instance of one
 * snapshot shares its pages in the host's page cache and reads only the
 * pages it touches; a write copies a piece into the instance's own memory
 * file.  The first restore builds it (under a temporary name, renamed into
 * place); later ones reuse it while it is newer than the snapshot. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"

/* Memory keys a snapshot may use: at most a memory file's size. */
#define IMAGE_MAX (1ULL << 41)

/* After the image's pages, a page whose start says which snapshot file it
 * was made from (device, inode, size, mtime): a snapshot replaced, even
 * by one with an older mtime, gets an image of its own. */
struct trailer {
	char magic[8]; /* "HUSKIMG1" */
	uint64_t dev, ino, size, mtime_sec, mtime_nsec;
};

static struct trailer identity(const struct stat *st)
{
	struct trailer t = {.dev = st->st_dev, .ino = st->st_ino, .size = (uint64_t)st->st_size,
			    .mtime_sec = (uint64_t)st->st_mtim.tv_sec,
			    .mtime_nsec = (uint64_t)st->st_mtim.tv_nsec};
	memcpy(t.magic, "HUSKIMG1", 8);
	return t;
}

static int build(const struct snap_reader *r, const char *img, uint64_t end,
		 const struct trailer *id)
{
	char tmp[4300];
	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", img, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	struct snap_info info;
	snap_info(r, &info);
	uint8_t *buf = malloc(info.block_max);
	int err = buf ? 0 : -ENOMEM;
	if (!err && ftruncate(fd, (off_t)(end + PAGE_SIZE)) != 0)
		err = -errno;
	for (size_t i = 0; !err && i < snap_mem_count(r); i++) {
		struct snap_block b;
		int k = snap_mem_block(r, i, &b);
		if (!k)
			k = snap_mem_read(r, i, buf, info.block_max);
		if (k < 0)
			err = k;
		else if (pwrite(fd, buf, b.length, (off_t)b.mem_offset) != (ssize_t)b.length)
			err = -EIO;
	}
	free(buf);
	if (!err && pwrite(fd, id, sizeof(*id), (off_t)end) != (ssize_t)sizeof(*id))
		err = -EIO;
	if (close(fd) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, img) != 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int ckpt_image_open(const struct snap_reader *r, int snap_fd, const char *path, uint64_t *size)
{
	uint64_t end = 0;
	for (size_t i = 0; i < snap_mem_count(r); i++) {
		struct snap_block b;
		if (snap_mem_block(r, i, &b))
			return -EBADMSG;
		if (b.mem_offset + b.length > end)
			end = b.mem_offset + b.length;
	}
	if (end > IMAGE_MAX)
		return -EFBIG;
	char img[4200];
	if (snprintf(img, sizeof(img), "%s.img", path) >= (int)sizeof(img))
		return -ENAMETOOLONG;
	/* The snapshot as the reader has it (its descriptor, not its name,
	 * which may have moved on). */
	struct stat ss;
	if (fstat(snap_fd, &ss) != 0)
		return -errno;
	struct trailer want = identity(&ss), got;
	for (int tries = 0; tries < 2; tries++) {
		int fd = open(img, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		struct stat is;
		if (fd >= 0 && fstat(fd, &is) == 0 && S_ISREG(is.st_mode) &&
		    (uint64_t)is.st_size == end + PAGE_SIZE &&
		    pread(fd, &got, sizeof(got), (off_t)end) == (ssize_t)sizeof(got) &&
		    !memcmp(&got, &want, sizeof(got))) {
			*size = end;
			return fd;
		}
		if (fd >= 0)
			close(fd);
		if (tries == 0) {
			int err = build(r, img, end, &want);
			if (err)
				return err;
		}
	}
	return -ESTALE;
}
