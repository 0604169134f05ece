/* A function's code written into its revision's directory: the files
 * map and deploy archives (tar, tar.gz, zip) alike, from hostile
 * clients.  Each test works in a fresh base directory: base/fn is the
 * function's; nothing may ever appear outside it. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../executor/executor.h"

static char base[64];	/* the test's temporary directory */
static char where[128]; /* base/elsewhere: a link's target, outside fn */
static int dfd = -1;	/* base/fn, the function's directory */

static void setup(void)
{
	strcpy(base, "/tmp/husk-code-test.XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	char fn[96];
	snprintf(fn, sizeof(fn), "%s/fn", base);
	snprintf(where, sizeof(where), "%s/elsewhere", base);
	cr_assert_eq(mkdir(fn, 0755), 0);
	dfd = open(fn, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(dfd, 0);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static void teardown(void)
{
	close(dfd);
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Nothing but fn (and an empty elsewhere) in base. */
static void assert_outside_clean(void)
{
	DIR *d = opendir(base);
	cr_assert_not_null(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (strcmp(n, ".") && strcmp(n, "..") && strcmp(n, "fn") && strcmp(n, "elsewhere"))
			cr_assert_fail("'%s' was written outside the function's directory", n);
	}
	closedir(d);
	d = opendir(where);
	if (!d)
		return;
	while ((de = readdir(d)))
		cr_assert(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."),
			  "'%s' was written through a link", de->d_name);
	closedir(d);
}

static bool exists(const char *rel)
{
	struct stat st;
	return fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static mode_t mode_of(const char *rel)
{
	struct stat st;
	cr_assert_eq(fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW), 0, "'%s' missing", rel);
	return st.st_mode;
}

/* Asserts the file rel holds exactly want. */
static void assert_content(const char *rel, const char *want)
{
	char got[4096];
	int fd = openat(dfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	cr_assert_geq(fd, 0, "'%s' missing", rel);
	ssize_t n = read(fd, got, sizeof(got));
	close(fd);
	cr_assert_eq(n, (ssize_t)strlen(want), "'%s': %zd bytes", rel, n);
	cr_assert(!memcmp(got, want, (size_t)n), "'%s' content differs", rel);
}

/* ---- archives, built here with libarchive's write API ---- */

enum kind { TAR, TGZ, ZIP };

struct ent {
	const char *path;
	mode_t type;	  /* AE_IFREG when 0 */
	mode_t perm;	  /* 0644 (0755 for a directory) when 0 */
	const char *data; /* its bytes: size of them, or strlen when size is 0 */
	size_t size;	  /* with data NULL: size bytes of 'x' */
	const char *link; /* a symbolic link's target */
	const char *hard; /* a hard link's target */
};

static char *build(enum kind k, const struct ent *ents, size_t n, size_t *len)
{
	size_t cap = 1 << 20;
	for (size_t i = 0; i < n; i++)
		cap += ents[i].size + 4096;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	struct archive *a = archive_write_new();
	if (k == ZIP)
		cr_assert_eq(archive_write_set_format_zip(a), ARCHIVE_OK);
	else
		cr_assert_eq(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (k == TGZ)
		cr_assert_eq(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	cr_assert_eq(archive_write_open_memory(a, buf, cap, len), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		const struct ent *x = &ents[i];
		mode_t type = x->type ? x->type : AE_IFREG;
		size_t size = x->data && !x->size ? strlen(x->data) : x->size;
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, x->path);
		archive_entry_set_filetype(e, type);
		archive_entry_set_perm(e, x->perm ? x->perm : type == AE_IFDIR ? 0755 : 0644);
		if (x->link)
			archive_entry_set_symlink(e, x->link);
		if (x->hard)
			archive_entry_set_hardlink(e, x->hard);
		archive_entry_set_size(e, type == AE_IFREG && !x->hard ? (la_int64_t)size : 0);
		cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK, "%s: %s", x->path,
			     archive_error_string(a));
		if (type == AE_IFREG && x->data) {
			cr_assert_eq(archive_write_data(a, x->data, size), (la_ssize_t)size);
		} else if (type == AE_IFREG) {
			static char fill[4096];
			memset(fill, 'x', sizeof(fill));
			for (size_t done = 0; done < size;) {
				size_t c = size - done < sizeof(fill) ? size - done : sizeof(fill);
				cr_assert_eq(archive_write_data(a, fill, c), (la_ssize_t)c);
				done += c;
			}
		}
		archive_entry_free(e);
	}
	cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return buf;
}

/* Builds and unpacks; the result, why in whybuf. */
static char whybuf[512];
static int unpack_ents(enum kind k, const struct ent *ents, size_t n, struct ex_code_limits *lim)
{
	size_t len;
	char *buf = build(k, ents, n, &len);
	int r = ex_code_unpack(dfd, buf, len, lim, whybuf, sizeof(whybuf));
	free(buf);
	return r;
}
#define UNPACK(k, lim, ...)                                                    \
	unpack_ents(k, (const struct ent[]){__VA_ARGS__},                      \
		    sizeof((const struct ent[]){__VA_ARGS__}) / sizeof(struct ent), lim)

/* Asserts an archive was refused with r, why naming what. */
static void assert_refused(int got, int want, const char *what)
{
	cr_assert_eq(got, want, "got %d (%s)", got, whybuf);
	cr_assert_not_null(strstr(whybuf, what), "why: '%s', wanted '%s'", whybuf, what);
	assert_outside_clean();
}

/* ---- the files map ---- */

Test(code, files_map, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	const char *why = "unset";
	static const char *files[][2] = {
		{"index.js", "console.log(1)\n"},     {"lib/util/a.js", "a"},
		{"lib/util/b.js", "bb"},	      {"lib/c.json", "{}"},
		{"empty", ""},			      {"deep/er/still/x", "x"},
	};
	uint64_t bytes = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t n = strlen(files[i][1]);
		cr_assert_eq(ex_code_write(dfd, files[i][0], files[i][1], n, false, &lim, &why), 0,
			     "%s: %s", files[i][0], why);
		bytes += n;
	}
	cr_assert_null(why);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		assert_content(files[i][0], files[i][1]);
	cr_assert(S_ISDIR(mode_of("lib/util")));
	/* Six files, and lib, lib/util, deep, deep/er, deep/er/still. */
	cr_assert_eq(lim.files, 11);
	cr_assert_eq(lim.bytes, bytes);
	assert_outside_clean();
}

Test(code, exec_bit, .init = setup, .fini = teardown)
{
	/* Modes are exact, whatever the umask. */
	umask(077);
	struct ex_code_limits lim = {0};
	cr_assert_eq(ex_code_write(dfd, "bin/run", "#!/bin/sh\n", 10, true, &lim, NULL), 0);
	cr_assert_eq(ex_code_write(dfd, "data.txt", "d", 1, false, &lim, NULL), 0);
	cr_assert_eq(mode_of("bin/run") & 07777, 0755);
	cr_assert_eq(mode_of("data.txt") & 07777, 0644);
	cr_assert_eq(mode_of("bin") & 07777, 0755);
	cr_assert(S_ISREG(mode_of("bin/run")));
}

Test(code, path_table)
{
	char longest[EX_CODE_PATH_MAX + 1], too_long[EX_CODE_PATH_MAX + 2];
	memset(longest, 'a', EX_CODE_PATH_MAX);
	longest[EX_CODE_PATH_MAX] = 0;
	for (int i = 200; i < EX_CODE_PATH_MAX; i += 201)
		longest[i] = '/';
	memset(too_long, 'a', EX_CODE_PATH_MAX + 1);
	too_long[EX_CODE_PATH_MAX + 1] = 0;
	char deepest[2 * EX_CODE_DEPTH_MAX + 2] = "", too_deep[2 * EX_CODE_DEPTH_MAX + 4] = "";
	for (int i = 0; i < EX_CODE_DEPTH_MAX; i++)
		strcat(deepest, i ? "/d" : "d");
	snprintf(too_deep, sizeof(too_deep), "%s/d", deepest);

	const char *good[] = {"a", "a/b/c.txt", ".env", "a/.b", "...", "..a", "a..", "a b",
			      "\xc3\xbcnicode", "dir.with.dots/x", "a\\b", longest, deepest};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert(ex_code_path_ok(good[i]), "good '%s'", good[i]);
	const char *bad[] = {"", "/abs", "/", "../x", "..", ".", "x/..", "a/../../etc/x",
			     "a//b", "a/./b", "./a", "a/", "a/.", "a\nb", "\n", "a\tb",
			     "a\x7f", "a\x01/b", too_long, too_deep};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!ex_code_path_ok(bad[i]), "bad '%s'", bad[i]);
	cr_assert(!ex_code_path_ok(NULL));
}

Test(code, write_refuses_bad_paths, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	const char *bad[] = {"../x", "/tmp/x", "a/../../x", "a//b", "", "a\nb"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		cr_assert_eq(ex_code_write(dfd, bad[i], "x", 1, false, &lim, &why), -EINVAL);
		cr_assert_not_null(why);
	}
	const char *why = NULL;
	ex_code_write(dfd, "a/../../etc/x", "x", 1, false, &lim, &why);
	cr_assert_str_eq(why, "path escapes the function's directory");
	cr_assert_eq(lim.files, 0);
	cr_assert_eq(lim.bytes, 0);
	cr_assert(!exists("a"));
	assert_outside_clean();
}

Test(code, existing_not_replaced, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	const char *why;
	cr_assert_eq(ex_code_write(dfd, "a", "first", 5, false, &lim, &why), 0);
	cr_assert_eq(ex_code_write(dfd, "a", "second", 6, false, &lim, &why), -EEXIST);
	cr_assert_not_null(why);
	assert_content("a", "first");
	/* A file where a directory is, and a directory where a file is. */
	cr_assert_eq(ex_code_write(dfd, "d/f", "f", 1, false, &lim, &why), 0);
	cr_assert_eq(ex_code_write(dfd, "d", "x", 1, false, &lim, &why), -EEXIST);
	cr_assert_lt(ex_code_write(dfd, "a/b", "x", 1, false, &lim, &why), 0);
	assert_content("a", "first");
	cr_assert(S_ISDIR(mode_of("d")));
}

Test(code, planted_symlinks_not_followed, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	const char *why = NULL;
	char target[160];
	cr_assert_eq(mkdir(where, 0755), 0);
	cr_assert_eq(symlinkat(where, dfd, "sub"), 0);
	snprintf(target, sizeof(target), "%s/t", where);
	cr_assert_eq(symlinkat(target, dfd, "leaf"), 0);

	cr_assert_lt(ex_code_write(dfd, "sub/f", "x", 1, false, &lim, &why), 0);
	cr_assert_not_null(why);
	cr_assert_lt(ex_code_write(dfd, "sub/new/f", "x", 1, false, &lim, &why), 0);
	cr_assert_eq(ex_code_write(dfd, "leaf", "x", 1, false, &lim, &why), -EEXIST);
	cr_assert(S_ISLNK(mode_of("sub")) && S_ISLNK(mode_of("leaf")));
	assert_outside_clean();

	/* Nor by an archive, through a file or a directory entry. */
	cr_assert_lt(UNPACK(TAR, &lim, {.path = "sub/f", .data = "x"}), 0);
	assert_outside_clean();
	cr_assert_lt(UNPACK(TAR, &lim, {.path = "sub/", .type = AE_IFDIR}), 0);
	assert_outside_clean();
	cr_assert_lt(UNPACK(ZIP, &lim, {.path = "leaf", .data = "x"}), 0);
	assert_outside_clean();
	cr_assert_eq(lim.bytes, 0);
}

Test(code, write_limits, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {.files = EX_CODE_FILES_MAX};
	const char *why;
	cr_assert_eq(ex_code_write(dfd, "f", "x", 1, false, &lim, &why), -E2BIG);
	lim.files = EX_CODE_FILES_MAX - 1;
	/* The directory takes the last place. */
	cr_assert_eq(ex_code_write(dfd, "d/f", "x", 1, false, &lim, &why), -E2BIG);
	cr_assert_eq(lim.files, EX_CODE_FILES_MAX);

	lim = (struct ex_code_limits){.bytes = EX_CODE_BYTES_MAX - 10};
	cr_assert_eq(ex_code_write(dfd, "big", "0123456789a", 11, false, &lim, &why), -EFBIG);
	cr_assert_not_null(why);
	cr_assert(!exists("big"));
	cr_assert_eq(ex_code_write(dfd, "fits", "0123456789", 10, false, &lim, &why), 0);
	cr_assert_eq(lim.bytes, EX_CODE_BYTES_MAX);
	cr_assert_eq(ex_code_write(dfd, "more", "x", 1, false, &lim, &why), -EFBIG);
}

/* ---- archives ---- */

Test(code, tar_gz, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	/* The files map and the archive share one budget. */
	cr_assert_eq(ex_code_write(dfd, "from_map", "m", 1, false, &lim, NULL), 0);
	int r = UNPACK(TGZ, &lim, {.path = "./", .type = AE_IFDIR},
		       {.path = "./bin/", .type = AE_IFDIR},
		       {.path = "./bin/run", .perm = 0755, .data = "#!/bin/sh\n"},
		       {.path = "./lib/x.txt", .data = "hello"},
		       {.path = "./lib/", .type = AE_IFDIR, .perm = 0700},
		       {.path = "plain/y", .data = "y"},
		       {.path = "./suid", .perm = 04755, .data = "s"},
		       {.path = "./sgid", .perm = 02644, .data = "g"},
		       {.path = "./only-dir", .type = AE_IFDIR});
	cr_assert_eq(r, 0, "%s", whybuf);
	assert_content("bin/run", "#!/bin/sh\n");
	assert_content("lib/x.txt", "hello");
	assert_content("plain/y", "y");
	cr_assert_eq(mode_of("bin/run") & 07777, 0755);
	cr_assert_eq(mode_of("lib/x.txt") & 07777, 0644);
	cr_assert_eq(mode_of("lib") & 07777, 0755);
	cr_assert_eq(mode_of("suid") & 07777, 0755);
	cr_assert_eq(mode_of("sgid") & 07777, 0644);
	cr_assert(S_ISDIR(mode_of("only-dir")));
	/* from_map; bin, run, lib, x.txt, plain, y, suid, sgid, only-dir. */
	cr_assert_eq(lim.files, 10);
	cr_assert_eq(lim.bytes, 1 + 10 + 5 + 1 + 1 + 1);
	assert_outside_clean();
}

Test(code, zip, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	int r = UNPACK(ZIP, &lim, {.path = "main.py", .data = "print(1)\n"},
		       {.path = "pkg/", .type = AE_IFDIR},
		       {.path = "pkg/__init__.py", .data = ""},
		       {.path = "pkg/tool", .perm = 0755, .data = "#!/bin/sh\n"},
		       {.path = "pkg/big", .size = 300000});
	cr_assert_eq(r, 0, "%s", whybuf);
	assert_content("main.py", "print(1)\n");
	assert_content("pkg/__init__.py", "");
	cr_assert_eq(mode_of("pkg/tool") & 07777, 0755);
	cr_assert_eq(mode_of("main.py") & 07777, 0644);
	struct stat st;
	cr_assert_eq(fstatat(dfd, "pkg/big", &st, 0), 0);
	cr_assert_eq(st.st_size, 300000);
	cr_assert_eq(lim.bytes, 9 + 10 + 300000);
}

Test(code, plain_tar_duplicate_entry, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	int r = UNPACK(TAR, &lim, {.path = "a", .data = "one"}, {.path = "a", .data = "two"});
	assert_refused(r, -EEXIST, "entry 'a'");
	assert_content("a", "one");
}

Test(code, zip_slip, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	int r = UNPACK(TAR, &lim, {.path = "ok.txt", .data = "ok"}, {.path = "../evil", .data = "x"});
	assert_refused(r, -EINVAL, "entry '../evil': path escapes");
	r = UNPACK(ZIP, &lim, {.path = "../evil", .data = "x"});
	assert_refused(r, -EINVAL, "'../evil'");
	r = UNPACK(TGZ, &lim, {.path = "a/../../etc/x", .data = "x"});
	assert_refused(r, -EINVAL, "entry 'a/../../etc/x': path escapes the function's directory");
	r = UNPACK(TAR, &lim, {.path = "../", .type = AE_IFDIR});
	assert_refused(r, -EINVAL, "escapes");
	cr_assert(!exists("a"));
}

Test(code, absolute_entry, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	int r = UNPACK(TAR, &lim, {.path = "/etc/x", .data = "x"});
	assert_refused(r, -EINVAL, "entry '/etc/x': absolute");
	char abs[128];
	snprintf(abs, sizeof(abs), "%s/pwned", base);
	r = UNPACK(ZIP, &lim, {.path = abs, .data = "x"});
	assert_refused(r, -EINVAL, "absolute");
	cr_assert_eq(lim.files, 0);
}

Test(code, symlink_entry, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	cr_assert_eq(mkdir(where, 0755), 0);
	int r = UNPACK(TAR, &lim, {.path = "lnk", .type = AE_IFLNK, .link = where},
		       {.path = "lnk/f", .data = "x"});
	assert_refused(r, -EINVAL, "entry 'lnk': symbolic links are not allowed");
	cr_assert(!exists("lnk"));
	r = UNPACK(ZIP, &lim, {.path = "zl", .type = AE_IFLNK, .link = "/etc/passwd"});
	assert_refused(r, -EINVAL, "entry 'zl': symbolic links");
	cr_assert(!exists("zl"));
}

Test(code, hardlink_entry, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	int r = UNPACK(TAR, &lim, {.path = "a", .data = "x"}, {.path = "h", .hard = "a"});
	assert_refused(r, -EINVAL, "entry 'h': hard links are not allowed");
	r = UNPACK(TAR, &lim, {.path = "h2", .hard = "/etc/passwd"});
	assert_refused(r, -EINVAL, "hard links");
	cr_assert(!exists("h") && !exists("h2"));
}

Test(code, special_entries, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	int r = UNPACK(TAR, &lim, {.path = "p", .type = AE_IFIFO});
	assert_refused(r, -EINVAL, "entry 'p': FIFOs are not allowed");
	r = UNPACK(TAR, &lim, {.path = "c", .type = AE_IFCHR});
	assert_refused(r, -EINVAL, "entry 'c': devices");
	r = UNPACK(TAR, &lim, {.path = "b", .type = AE_IFBLK});
	assert_refused(r, -EINVAL, "entry 'b': devices");
	cr_assert(!exists("p") && !exists("c") && !exists("b"));
}

Test(code, hostile_name_in_why, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	char name[600];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	name[3] = '\n';
	name[4] = '\033';
	int r = UNPACK(TAR, &lim, {.path = name, .data = "x"});
	assert_refused(r, -EINVAL, "control character");
	for (const char *c = whybuf; *c; c++)
		cr_assert((unsigned char)*c >= 0x20 && *c != 0x7f, "control byte in why");
	cr_assert_lt(strlen(whybuf), 300);
}

Test(code, too_many_files, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {.files = EX_CODE_FILES_MAX - 2};
	int r = UNPACK(TAR, &lim, {.path = "a", .data = "a"}, {.path = "b", .data = "b"},
		       {.path = "c", .data = "c"});
	assert_refused(r, -E2BIG, "entry 'c': too many files");
	cr_assert_eq(lim.files, EX_CODE_FILES_MAX);
	cr_assert(!exists("c"));
	/* Directories count too. */
	lim.files = EX_CODE_FILES_MAX - 1;
	r = UNPACK(TGZ, &lim, {.path = "d/", .type = AE_IFDIR}, {.path = "e/", .type = AE_IFDIR});
	assert_refused(r, -E2BIG, "entry 'e/'");
	cr_assert(!exists("e"));
}

Test(code, byte_cap, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {.bytes = EX_CODE_BYTES_MAX - 1000};
	int r = UNPACK(TGZ, &lim, {.path = "fits", .size = 1000}, {.path = "big", .size = 5000});
	assert_refused(r, -EFBIG, "entry 'big': the code is too large");
	cr_assert_eq(lim.bytes, EX_CODE_BYTES_MAX);
	cr_assert(!exists("big"));
	struct stat st;
	cr_assert_eq(fstatat(dfd, "fits", &st, 0), 0);
	cr_assert_eq(st.st_size, 1000);
}

/* Sets each little-endian 32-bit field at off from each record signed
 * sig that holds from to to. */
static void patch32(unsigned char *b, size_t len, const char *sig, size_t off, uint32_t from,
		    uint32_t to, int *patched)
{
	for (size_t i = 0; i + off + 4 <= len; i++) {
		if (memcmp(b + i, sig, 4))
			continue;
		unsigned char *f = b + i + off;
		uint32_t v = f[0] | f[1] << 8 | f[2] << 16 | (uint32_t)f[3] << 24;
		if (v != from)
			continue;
		for (int k = 0; k < 4; k++)
			f[k] = (unsigned char)(to >> (8 * k));
		(*patched)++;
	}
}

Test(code, zip_lying_size, .init = setup, .fini = teardown)
{
	/* 4 MiB that say they are 10 (more than libarchive inflates in one
	 * go): the cap counts what is written, not what is declared. */
	const struct ent big = {.path = "bomb", .size = 4 << 20};
	size_t len;
	unsigned char *buf = (unsigned char *)build(ZIP, &big, 1, &len);
	int patched = 0;
	patch32(buf, len, "PK\3\4", 22, 4 << 20, 10, &patched);
	patch32(buf, len, "PK\1\2", 24, 4 << 20, 10, &patched);
	patch32(buf, len, "PK\7\10", 12, 4 << 20, 10, &patched);
	cr_assert_geq(patched, 1);
	struct ex_code_limits lim = {.bytes = EX_CODE_BYTES_MAX - 1000};
	int r = ex_code_unpack(dfd, buf, len, &lim, whybuf, sizeof(whybuf));
	free(buf);
	assert_refused(r, -EFBIG, "entry 'bomb': the code is too large");
	cr_assert_leq(lim.bytes, EX_CODE_BYTES_MAX);
	struct stat st;
	if (fstatat(dfd, "bomb", &st, 0) == 0)
		cr_assert_leq(st.st_size, 1000);
}

Test(code, garbage, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	static const char junk[] = "this is not an archive, just some words\n"
				   "\x1f\x8b\x08 and a fake gzip magic in the middle";
	int r = ex_code_unpack(dfd, junk, sizeof(junk), &lim, whybuf, sizeof(whybuf));
	assert_refused(r, -EINVAL, "cannot read the archive");
	/* A gzip header and then nonsense. */
	static const char gz[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbagegarbage";
	r = ex_code_unpack(dfd, gz, sizeof(gz) - 1, &lim, whybuf, sizeof(whybuf));
	assert_refused(r, -EINVAL, "");
	cr_assert_gt(strlen(whybuf), 0);
	cr_assert_eq(lim.files, 0);
}

Test(code, truncated, .init = setup, .fini = teardown)
{
	/* Bytes that do not compress, so half the tar.gz is half the data. */
	static char noise[64 << 10];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(noise); i++) {
		x = x * 1103515245 + 12345;
		noise[i] = (char)(x >> 24);
	}
	const struct ent ents[] = {{.path = "a", .data = noise, .size = sizeof(noise)},
				   {.path = "b", .data = noise, .size = sizeof(noise)}};
	size_t len;
	char *buf = build(TGZ, ents, 2, &len);
	struct ex_code_limits lim = {0};
	int r = ex_code_unpack(dfd, buf, len / 2, &lim, whybuf, sizeof(whybuf));
	free(buf);
	assert_refused(r, -EINVAL, "");
	cr_assert_gt(strlen(whybuf), 0);
	cr_assert(!exists("b"));
}

Test(code, empty, .init = setup, .fini = teardown)
{
	struct ex_code_limits lim = {0};
	cr_assert_eq(ex_code_unpack(dfd, "", 0, &lim, whybuf, sizeof(whybuf)), -EINVAL);
	cr_assert_str_eq(whybuf, "the archive is empty");
	cr_assert_eq(ex_code_unpack(dfd, NULL, 0, &lim, NULL, 0), -EINVAL);
	/* A tar of no entries is an archive with nothing in it. */
	size_t len;
	char *buf = build(TAR, NULL, 0, &len);
	cr_assert_eq(ex_code_unpack(dfd, buf, len, &lim, whybuf, sizeof(whybuf)), 0, "%s", whybuf);
	free(buf);
	assert_outside_clean();
}
