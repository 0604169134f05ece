/* fs_sendfile.c - sendfile and copy_file_range between regular files:
 * explicit offsets (updated, file positions untouched) and the file
 * positions (advanced), short copies at EOF, overlapping ranges in one
 * file, O_APPEND targets, and the descriptor and argument checks. */
#include "guest.h"

#define D "/tmp/husk-fs-sendfile"

static void show(const char *label, const char *path)
{
	char buf[128] = {0};
	long n = get_file(path, buf, sizeof buf);
	printf("%s: %ld [%s]\n", label, n, n < 0 ? errname(errno) : buf);
}

int main(void)
{
	GUEST_INIT();
	syscall(SYS_umask, 022L);
	fresh_dir(D);
	put_file(D "/src", "0123456789abcdefghijklmnopqrstuvwxyz", -1, 0644);
	long in = syscall(SYS_open, D "/src", (long)O_RDONLY, 0L);
	long out = syscall(SYS_open, D "/dst", (long)(O_RDWR | O_CREAT | O_EXCL), 0644L);

	/* sendfile with an offset pointer: in's position stays. */
	long off = 10;
	CHECK("sendfile(out, in, &off=10, 6)", syscall(SYS_sendfile, out, in, &off, 6L));
	printf("off now %ld, in position %ld, out position %ld\n", off,
	       syscall(SYS_lseek, in, 0L, (long)SEEK_CUR), syscall(SYS_lseek, out, 0L, (long)SEEK_CUR));
	show("dst", D "/dst");
	/* NULL offset: in's position is used and advanced. */
	syscall(SYS_lseek, in, 30L, (long)SEEK_SET);
	CHECK("sendfile(out, in, NULL, 100) near EOF", syscall(SYS_sendfile, out, in, NULL, 100L));
	printf("in position %ld\n", syscall(SYS_lseek, in, 0L, (long)SEEK_CUR));
	CHECK("sendfile at EOF", syscall(SYS_sendfile, out, in, NULL, 100L));
	off = 1000;
	CHECK("sendfile offset beyond EOF", syscall(SYS_sendfile, out, in, &off, 10L));
	CHECK("sendfile count 0", syscall(SYS_sendfile, out, in, NULL, 0L));
	show("dst", D "/dst");
	off = -1;
	CHECK("sendfile offset -1", syscall(SYS_sendfile, out, in, &off, 10L));
	CHECK("sendfile bad offset pointer", syscall(SYS_sendfile, out, in, BAD_LOW, 10L));
	CHECK("sendfile bad in fd", syscall(SYS_sendfile, out, 999L, NULL, 10L));
	CHECK("sendfile bad out fd", syscall(SYS_sendfile, 999L, in, NULL, 10L));
	long wo = syscall(SYS_open, D "/src", (long)O_WRONLY, 0L);
	off = 0;
	CHECK("sendfile from an O_WRONLY fd", syscall(SYS_sendfile, out, wo, &off, 10L));
	CHECK("sendfile to an O_RDONLY fd", syscall(SYS_sendfile, in, in, &off, 10L));
	syscall(SYS_close, wo);
	long ap = syscall(SYS_open, D "/dst", (long)(O_WRONLY | O_APPEND), 0L);
	off = 0;
	CHECK("sendfile to an O_APPEND fd", syscall(SYS_sendfile, ap, in, &off, 3L));
	long dfd = syscall(SYS_open, D, (long)(O_RDONLY | O_DIRECTORY), 0L);
	off = 0;
	CHECK("sendfile from a directory", syscall(SYS_sendfile, out, dfd, &off, 3L));
	long nul = syscall(SYS_open, "/dev/null", (long)O_WRONLY, 0L);
	off = 0;
	CHECK("sendfile to /dev/null", syscall(SYS_sendfile, nul, in, &off, 20L));
	long zero = syscall(SYS_open, "/dev/zero", (long)O_RDONLY, 0L);
	long z = syscall(SYS_open, D "/zeros", (long)(O_RDWR | O_CREAT | O_EXCL), 0644L);
	CHECK("sendfile from /dev/zero", syscall(SYS_sendfile, z, zero, NULL, 100L));
	struct stat st = {0};
	syscall(SYS_fstat, z, &st);
	printf("zeros size %ld\n", (long)st.st_size);

	/* copy_file_range. */
	long c = syscall(SYS_open, D "/cfr", (long)(O_RDWR | O_CREAT | O_EXCL), 0644L);
	long lin = 0, lout = 5;
	CHECK("copy_file_range(in@0 -> c@5, 10)", syscall(SYS_copy_file_range, in, &lin, c, &lout, 10L, 0L));
	printf("offsets now %ld %ld, c position %ld\n", lin, lout, syscall(SYS_lseek, c, 0L, (long)SEEK_CUR));
	long n = syscall(SYS_pread64, c, (char[32]){0}, 32L, 0L);
	printf("c size %ld\n", n);
	syscall(SYS_lseek, in, 20L, (long)SEEK_SET);
	CHECK("copy_file_range(in@pos, c@pos, 4)", syscall(SYS_copy_file_range, in, NULL, c, NULL, 4L, 0L));
	printf("positions now in=%ld c=%ld\n", syscall(SYS_lseek, in, 0L, (long)SEEK_CUR),
	       syscall(SYS_lseek, c, 0L, (long)SEEK_CUR));
	char buf[32] = {0};
	syscall(SYS_pread64, c, buf, 31L, 0L);
	printf("c: %02x %02x %02x %02x %02x [%s]\n", buf[0], buf[1], buf[2], buf[3], buf[4], buf + 5);
	lin = 100;
	CHECK("copy_file_range from beyond EOF", syscall(SYS_copy_file_range, in, &lin, c, NULL, 4L, 0L));
	lin = 0;
	CHECK("copy_file_range flags 1", syscall(SYS_copy_file_range, in, &lin, c, NULL, 4L, 1L));
	CHECK("copy_file_range len 0", syscall(SYS_copy_file_range, in, &lin, c, NULL, 0L, 0L));
	lin = 0;
	lout = 2;
	CHECK("copy_file_range overlapping, one file", syscall(SYS_copy_file_range, c, &lin, c, &lout, 4L, 0L));
	lin = 0;
	lout = 20;
	CHECK("copy_file_range disjoint, one file", syscall(SYS_copy_file_range, c, &lin, c, &lout, 4L, 0L));
	lin = -1;
	CHECK("copy_file_range offset -1", syscall(SYS_copy_file_range, in, &lin, c, NULL, 4L, 0L));
	CHECK("copy_file_range to O_APPEND", syscall(SYS_copy_file_range, in, NULL, ap, NULL, 4L, 0L));
	CHECK("copy_file_range to O_RDONLY", syscall(SYS_copy_file_range, c, NULL, in, NULL, 4L, 0L));
	CHECK("copy_file_range from a directory", syscall(SYS_copy_file_range, dfd, NULL, c, NULL, 4L, 0L));
	CHECK("copy_file_range bad fd", syscall(SYS_copy_file_range, 999L, NULL, c, NULL, 4L, 0L));
	CHECK("copy_file_range bad offset pointer", syscall(SYS_copy_file_range, in, BAD_LOW, c, NULL, 4L, 0L));
	CHECK("copy_file_range to /dev/null", syscall(SYS_copy_file_range, in, NULL, nul, NULL, 4L, 0L));

	syscall(SYS_close, z);
	syscall(SYS_close, zero);
	syscall(SYS_close, nul);
	syscall(SYS_close, dfd);
	syscall(SYS_close, ap);
	syscall(SYS_close, c);
	syscall(SYS_close, in);
	syscall(SYS_close, out);
	cleanup_dir(D);
	return 0;
}
