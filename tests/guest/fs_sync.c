/* fs_sync.c - fsync, fdatasync, sync, syncfs, sync_file_range,
 * fadvise64 and readahead: they succeed on files and directories, leave
 * the data alone, and check descriptors, advice values and ranges. */
#include "guest.h"

#define D "/tmp/husk-fs-sync"
#ifndef POSIX_FADV_NORMAL
#define POSIX_FADV_NORMAL 0
#define POSIX_FADV_RANDOM 1
#define POSIX_FADV_SEQUENTIAL 2
#define POSIX_FADV_WILLNEED 3
#define POSIX_FADV_DONTNEED 4
#define POSIX_FADV_NOREUSE 5
#endif
#define SFR_WAIT_BEFORE 1
#define SFR_WRITE 2
#define SFR_WAIT_AFTER 4

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	long fd = syscall(SYS_open, D "/f", (long)(O_RDWR | O_CREAT | O_EXCL), 0644L);
	static unsigned char buf[20000], back[20000];
	fill_pattern(buf, sizeof buf, 5);
	syscall(SYS_write, fd, buf, (long)sizeof buf);
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	long ro = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	long pfd = syscall(SYS_open, D "/f", (long)O_PATH, 0L);
	if (syscall(SYS_mknod, D "/fifo", (long)(S_IFIFO | 0644), 0L))
		die("mknod");
	long ffd = syscall(SYS_open, D "/fifo", (long)O_RDWR, 0L);
	long nul = syscall(SYS_open, "/dev/null", (long)O_RDWR, 0L);

	CHECK("fsync", syscall(SYS_fsync, fd));
	CHECK("fdatasync", syscall(SYS_fdatasync, fd));
	CHECK("fsync O_RDONLY fd", syscall(SYS_fsync, ro));
	CHECK("fsync directory", syscall(SYS_fsync, dfd));
	CHECK("fdatasync directory", syscall(SYS_fdatasync, dfd));
	CHECK("fsync O_PATH", syscall(SYS_fsync, pfd));
	CHECK("fsync FIFO", syscall(SYS_fsync, ffd));
	CHECK("fsync bad fd", syscall(SYS_fsync, 999L));
	CHECK("fdatasync bad fd", syscall(SYS_fdatasync, -1L));
	CHECK("syncfs", syscall(SYS_syncfs, fd));
	CHECK("syncfs directory", syscall(SYS_syncfs, dfd));
	CHECK("syncfs bad fd", syscall(SYS_syncfs, 999L));
	CHECK("sync", syscall(SYS_sync));

	CHECK("sync_file_range 0, 0, WRITE", syscall(SYS_sync_file_range, fd, 0L, 0L, (long)SFR_WRITE));
	CHECK("sync_file_range all flags",
	      syscall(SYS_sync_file_range, fd, 0L, 4096L, (long)(SFR_WAIT_BEFORE | SFR_WRITE | SFR_WAIT_AFTER)));
	CHECK("sync_file_range flags 8", syscall(SYS_sync_file_range, fd, 0L, 0L, 8L));
	CHECK("sync_file_range offset -1", syscall(SYS_sync_file_range, fd, -1L, 0L, (long)SFR_WRITE));
	CHECK("sync_file_range nbytes -1", syscall(SYS_sync_file_range, fd, 0L, -1L, (long)SFR_WRITE));
	CHECK("sync_file_range FIFO", syscall(SYS_sync_file_range, ffd, 0L, 0L, (long)SFR_WRITE));
	CHECK("sync_file_range bad fd", syscall(SYS_sync_file_range, 999L, 0L, 0L, (long)SFR_WRITE));

	static const struct {
		const char *name;
		long advice;
	} adv[] = {{"NORMAL", POSIX_FADV_NORMAL},     {"RANDOM", POSIX_FADV_RANDOM},
		   {"SEQUENTIAL", POSIX_FADV_SEQUENTIAL}, {"WILLNEED", POSIX_FADV_WILLNEED},
		   {"DONTNEED", POSIX_FADV_DONTNEED}, {"NOREUSE", POSIX_FADV_NOREUSE},
		   {"6 (invalid)", 6},                {"-1 (invalid)", -1}};
	for (unsigned i = 0; i < sizeof adv / sizeof *adv; i++) {
		char label[64] = {0};
		snprintf(label, sizeof label, "fadvise64 %s", adv[i].name);
		CHECK(label, syscall(SYS_fadvise64, fd, 0L, 0L, adv[i].advice));
	}
	CHECK("fadvise64 len -1", syscall(SYS_fadvise64, fd, 0L, -1L, (long)POSIX_FADV_NORMAL));
	CHECK("fadvise64 offset -1", syscall(SYS_fadvise64, fd, -1L, 0L, (long)POSIX_FADV_NORMAL));
	CHECK("fadvise64 beyond EOF", syscall(SYS_fadvise64, fd, 1L << 30, 4096L, (long)POSIX_FADV_WILLNEED));
	CHECK("fadvise64 directory", syscall(SYS_fadvise64, dfd, 0L, 0L, (long)POSIX_FADV_NORMAL));
	CHECK("fadvise64 FIFO", syscall(SYS_fadvise64, ffd, 0L, 0L, (long)POSIX_FADV_NORMAL));
	CHECK("fadvise64 O_PATH", syscall(SYS_fadvise64, pfd, 0L, 0L, (long)POSIX_FADV_NORMAL));
	CHECK("fadvise64 bad fd", syscall(SYS_fadvise64, 999L, 0L, 0L, (long)POSIX_FADV_NORMAL));

	CHECK("readahead", syscall(SYS_readahead, fd, 0L, 20000L));
	CHECK("readahead O_RDONLY fd", syscall(SYS_readahead, ro, 4096L, 4096L));
	CHECK("readahead beyond EOF", syscall(SYS_readahead, fd, 1L << 30, 4096L));
	CHECK("readahead offset -1", syscall(SYS_readahead, fd, -1L, 4096L));
	CHECK("readahead count 0", syscall(SYS_readahead, fd, 0L, 0L));
	CHECK("readahead FIFO", syscall(SYS_readahead, ffd, 0L, 4096L));
	CHECK("readahead /dev/null", syscall(SYS_readahead, nul, 0L, 4096L));
	CHECK("readahead O_PATH", syscall(SYS_readahead, pfd, 0L, 4096L));
	CHECK("readahead bad fd", syscall(SYS_readahead, 999L, 0L, 4096L));
	long wo = syscall(SYS_open, D "/f", (long)O_WRONLY, 0L);
	CHECK("readahead O_WRONLY fd", syscall(SYS_readahead, wo, 0L, 4096L));
	syscall(SYS_close, wo);

	/* None of it changed the data. */
	CHECK("offset unchanged", syscall(SYS_lseek, fd, 0L, (long)SEEK_CUR));
	syscall(SYS_pread64, fd, back, (long)sizeof back, 0L);
	EXPECT("data intact", !memcmp(buf, back, sizeof buf));

	syscall(SYS_close, nul);
	syscall(SYS_close, ffd);
	syscall(SYS_close, pfd);
	syscall(SYS_close, ro);
	syscall(SYS_close, dfd);
	syscall(SYS_close, fd);
	cleanup_dir(D);
	return 0;
}
