/* fs_mmap_file.c - mmap of regular files: MAP_PRIVATE copy-on-write
 * (writes stay private; untouched pages still follow the file),
 * MAP_SHARED (writes seen by read(), write() seen in the mapping), the
 * zero tail of the last page, file offsets, a file grown after mapping,
 * access-mode checks (EACCES), directories (ENODEV), O_PATH (EBADF),
 * msync and mincore. */
#include "guest.h"

#define D "/tmp/husk-fs-mmap"

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	static unsigned char data[3 * 4096];
	fill_pattern(data, sizeof data, 11);
	put_file(D "/f", (char *)data, sizeof data, 0644);
	long fd = syscall(SYS_open, D "/f", (long)O_RDWR, 0L);
	unsigned char buf[16] = {0};

	/* MAP_PRIVATE. */
	unsigned char *p = raw_mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap private");
	EXPECT("private mapping has the file's bytes", !memcmp(p, data, sizeof data));
	p[10] = 'P';
	syscall(SYS_pread64, fd, buf, 1L, 10L);
	EXPECT("private write not in the file", buf[0] == data[10]);
	syscall(SYS_pwrite64, fd, "W", 1L, 20L);
	EXPECT("file write seen in the written (copied) page", p[20] == 'W');
	syscall(SYS_pwrite64, fd, "V", 1L, PAGE + 5);
	EXPECT("file write seen in an untouched page", p[PAGE + 5] == 'V');
	syscall(SYS_munmap, p, 3 * PAGE);

	/* MAP_SHARED, with an unmapped page after it. */
	p = map_pages(4, PROT_NONE);
	if (raw_mmap(p, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != p)
		die("mmap shared");
	syscall(SYS_munmap, p + 3 * PAGE, PAGE);
	memcpy(p + 100, "shared!", 7);
	syscall(SYS_pread64, fd, buf, 7L, 100L);
	EXPECT("shared write seen by pread", !memcmp(buf, "shared!", 7));
	syscall(SYS_pwrite64, fd, "written", 7L, 2 * PAGE);
	EXPECT("pwrite seen in the shared mapping", !memcmp(p + 2 * PAGE, "written", 7));
	CHECK("msync MS_SYNC", syscall(SYS_msync, p, 3 * PAGE, (long)MS_SYNC));
	CHECK("msync MS_ASYNC", syscall(SYS_msync, p, PAGE, (long)MS_ASYNC));
	CHECK("msync MS_INVALIDATE", syscall(SYS_msync, p, PAGE, (long)MS_INVALIDATE));
	CHECK("msync flags 0", syscall(SYS_msync, p, PAGE, 0L));
	CHECK("msync MS_SYNC|MS_ASYNC", syscall(SYS_msync, p, PAGE, (long)(MS_SYNC | MS_ASYNC)));
	CHECK("msync flags 8", syscall(SYS_msync, p, PAGE, 8L));
	CHECK("msync unaligned", syscall(SYS_msync, p + 1, PAGE, (long)MS_SYNC));
	CHECK("msync length 0", syscall(SYS_msync, p, 0L, (long)MS_SYNC));
	CHECK("msync beyond the mapping", syscall(SYS_msync, p, 4 * PAGE, (long)MS_SYNC));
	unsigned char vec[4] = {9, 9, 9, 9};
	for (int i = 0; i < 3; i++)
		(void)*(volatile unsigned char *)(p + i * PAGE);
	CHECK("mincore 3 touched pages", syscall(SYS_mincore, p, 3 * PAGE, vec));
	printf("  resident: %d %d %d\n", vec[0] & 1, vec[1] & 1, vec[2] & 1);
	CHECK("mincore unaligned", syscall(SYS_mincore, p + 1, PAGE, vec));
	CHECK("mincore beyond the mapping", syscall(SYS_mincore, p, 4 * PAGE, vec));
	CHECK("mincore bad vector", syscall(SYS_mincore, p, PAGE, BAD_LOW));
	syscall(SYS_munmap, p, 3 * PAGE);
	CHECK("msync after munmap", syscall(SYS_msync, p, PAGE, (long)MS_SYNC));

	/* Offsets, and the tail of the last page. */
	put_file(D "/small", "0123456789", -1, 0644);
	long s = syscall(SYS_open, D "/small", (long)O_RDWR, 0L);
	p = raw_mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	if (p == MAP_FAILED)
		die("mmap small");
	int zeros = 1;
	for (unsigned i = 10; i < PAGE; i++)
		zeros &= p[i] == 0;
	printf("small: [%.10s], rest of the page zero: %s\n", p, zeros ? "yes" : "no");
	p[50] = 'X'; /* beyond EOF: never reaches the file's size */
	syscall(SYS_msync, p, PAGE, (long)MS_SYNC);
	struct stat st = {0};
	syscall(SYS_fstat, s, &st);
	printf("small size after writing beyond EOF in the page: %ld\n", (long)st.st_size);
	syscall(SYS_ftruncate, s, 20L);
	memcpy(buf, "??", 2);
	CHECK("pread of the grown part", syscall(SYS_pread64, s, buf, 10L, 10L));
	syscall(SYS_ftruncate, s, 8000L);
	EXPECT("grown file visible in the mapping's page", p[5] == '5');
	syscall(SYS_munmap, p, PAGE);
	p = raw_mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, (long)PAGE);
	EXPECT("mapping at offset 4096", p != MAP_FAILED && p[5] == 'V');
	syscall(SYS_munmap, p, PAGE);
	CHECK_OK("mapping at an offset beyond EOF", (long)raw_mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 100 * PAGE));
	CHECK_OK("mapping at offset 100 (unaligned)", (long)raw_mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 100));

	/* Access modes. */
	long ro = syscall(SYS_open, D "/f", (long)O_RDONLY, 0L);
	long wo = syscall(SYS_open, D "/f", (long)O_WRONLY, 0L);
	long ap = syscall(SYS_open, D "/f", (long)(O_RDWR | O_APPEND), 0L);
	long pa = syscall(SYS_open, D "/f", (long)O_PATH, 0L);
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
#define M(label, prot, flags, f) CHECK_OK(label, (long)raw_mmap(NULL, PAGE, prot, flags, f, 0))
	M("O_RDONLY, PROT_READ, MAP_SHARED", PROT_READ, MAP_SHARED, ro);
	M("O_RDONLY, PROT_WRITE, MAP_SHARED", PROT_READ | PROT_WRITE, MAP_SHARED, ro);
	M("O_RDONLY, PROT_WRITE, MAP_PRIVATE", PROT_READ | PROT_WRITE, MAP_PRIVATE, ro);
	M("O_WRONLY, PROT_READ, MAP_SHARED", PROT_READ, MAP_SHARED, wo);
	M("O_WRONLY, PROT_WRITE, MAP_SHARED", PROT_WRITE, MAP_SHARED, wo);
	M("O_APPEND, PROT_WRITE, MAP_SHARED", PROT_READ | PROT_WRITE, MAP_SHARED, ap);
	M("O_APPEND, PROT_READ, MAP_SHARED", PROT_READ, MAP_SHARED, ap);
	M("O_PATH", PROT_READ, MAP_PRIVATE, pa);
	M("directory", PROT_READ, MAP_PRIVATE, dfd);
	M("MAP_SHARED_VALIDATE, unknown flag", PROT_READ, MAP_SHARED_VALIDATE | 0x400000, fd);
	M("MAP_SHARED_VALIDATE", PROT_READ, MAP_SHARED_VALIDATE, fd);
	unsigned char *r = raw_mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
	if (r == MAP_FAILED)
		die("mmap read-only");
	CHECK("mprotect a read-only MAP_SHARED of O_RDONLY to PROT_WRITE",
	      syscall(SYS_mprotect, r, PAGE, (long)(PROT_READ | PROT_WRITE)));
	/* The mapping outlives the descriptor and the name. */
	syscall(SYS_close, ro);
	syscall(SYS_unlink, D "/f");
	EXPECT("mapping readable after close and unlink", r[5] == data[5]);

	syscall(SYS_close, wo);
	syscall(SYS_close, ap);
	syscall(SYS_close, pa);
	syscall(SYS_close, dfd);
	syscall(SYS_close, s);
	syscall(SYS_close, fd);
	cleanup_dir(D);
	return 0;
}
