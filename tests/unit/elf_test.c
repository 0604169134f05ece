#define _GNU_SOURCE
/* The ELF loader against hostile files: every malformed header is refused
 * with ENOEXEC (and a reason), and random corruption never crashes it. */
#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../kernel/sentry.h"

static struct k_task *t;
/* In the sandbox's own tmpfs: the loader reads through the VFS. */
static const char path[] = "/tmp/husk-elf";

static void setup(void)
{
	struct k_config cfg = {.platform = "ptrace", .stdio = {-1, -1, -1}};
	const char *why = NULL;
	cr_assert_eq(k_boot(&cfg, &t, &why), 0, "boot: %s", why ? why : "?");
}

static void teardown(void)
{
	k_teardown(t);
}

TestSuite(elf, .init = setup, .fini = teardown);

struct file {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[3];
	unsigned char code[4096];
};

static void valid(struct file *f)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->eh.e_ident, ELFMAG, SELFMAG);
	f->eh.e_ident[EI_CLASS] = ELFCLASS64;
	f->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f->eh.e_ident[EI_VERSION] = EV_CURRENT;
	f->eh.e_type = ET_EXEC;
	f->eh.e_machine = EM_X86_64;
	f->eh.e_version = EV_CURRENT;
	f->eh.e_entry = 0x400000 + offsetof(struct file, code);
	f->eh.e_phoff = offsetof(struct file, ph);
	f->eh.e_ehsize = sizeof(Elf64_Ehdr);
	f->eh.e_phentsize = sizeof(Elf64_Phdr);
	f->eh.e_phnum = 1;
	f->ph[0] = (Elf64_Phdr){.p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0,
				.p_vaddr = 0x400000, .p_filesz = sizeof(*f),
				.p_memsz = sizeof(*f) + 8192, .p_align = 4096};
}

static int load(const void *data, size_t n, const char **why)
{
	cr_assert_eq(k_write_file(t, path, data, n, 0755), 0);
	char *argv[] = {"prog", NULL}, *envp[] = {NULL};
	*why = NULL;
	return k_exec_load(t, path, argv, envp, why);
}

#define REFUSED(f, n) \
	do { \
		const char *why; \
		cr_expect_eq(load(f, n, &why), -ENOEXEC); \
		cr_expect_not_null(why); \
	} while (0)

Test(elf, valid_file_loads)
{
	struct file f;
	valid(&f);
	const char *why;
	cr_expect_eq(load(&f, sizeof(f), &why), 0, "%s", why ? why : "");
	cr_expect_eq(t->regs.rip, f.eh.e_entry);
	cr_expect_eq(t->regs.rsp & 15, 0, "the stack is 16-aligned at argc");
	uint64_t argc;
	cr_expect_eq(k_copy_in(t, &argc, t->regs.rsp, 8), 0);
	cr_expect_eq(argc, 1);
	struct k_vma *v = mm_find(t->mm, 0x400000);
	cr_assert_not_null(v);
	cr_expect_eq(v->prot, PROT_READ | PROT_EXEC);
	unsigned char bss;
	cr_expect_eq(k_copy_in(t, &bss, 0x400000 + sizeof(f) + 100, 1), 0);
	cr_expect_eq(bss, 0, "bss is zero");
}

Test(elf, malformed_headers)
{
	struct file f;
	valid(&f);
	REFUSED(&f, 10); /* truncated */
	valid(&f); f.eh.e_ident[0] = 0x7e; REFUSED(&f, sizeof(f));
	valid(&f); f.eh.e_ident[EI_CLASS] = ELFCLASS32; REFUSED(&f, sizeof(f));
	valid(&f); f.eh.e_machine = EM_AARCH64; REFUSED(&f, sizeof(f));
	valid(&f); f.eh.e_type = ET_REL; REFUSED(&f, sizeof(f));
	valid(&f); f.eh.e_phnum = 0; REFUSED(&f, sizeof(f));
	valid(&f); f.eh.e_phnum = 0xffff; REFUSED(&f, sizeof(f));
	valid(&f); f.eh.e_phentsize = 12; REFUSED(&f, sizeof(f));
	valid(&f); f.eh.e_phoff = ~0UL - 8; REFUSED(&f, sizeof(f));
	valid(&f); f.eh.e_phoff = sizeof(f) - 10; REFUSED(&f, sizeof(f));
}

Test(elf, malformed_segments)
{
	struct file f;
	valid(&f); f.ph[0].p_filesz = f.ph[0].p_memsz + 1; REFUSED(&f, sizeof(f));
	valid(&f); f.ph[0].p_offset = 1 << 20; REFUSED(&f, sizeof(f));
	valid(&f); f.ph[0].p_filesz = 1 << 20; f.ph[0].p_memsz = 1 << 21; REFUSED(&f, sizeof(f));
	valid(&f); f.ph[0].p_vaddr += 3; REFUSED(&f, sizeof(f));
	valid(&f); f.ph[0].p_vaddr = ~0UL & PAGE_MASK; REFUSED(&f, sizeof(f));
	valid(&f); f.ph[0].p_memsz = ~0UL - 0x1000; REFUSED(&f, sizeof(f));
	valid(&f); f.ph[0].p_type = PT_NOTE; REFUSED(&f, sizeof(f));
	valid(&f);
	f.eh.e_phnum = 2;
	f.ph[1] = f.ph[0]; /* overlapping segments */
	REFUSED(&f, sizeof(f));
	valid(&f);
	f.eh.e_phnum = 2;
	f.ph[1] = (Elf64_Phdr){.p_type = PT_INTERP, .p_offset = 0, .p_filesz = 4};
	REFUSED(&f, sizeof(f));
}

Test(elf, huge_argument_lists_are_e2big)
{
	struct file f;
	valid(&f);
	cr_assert_eq(k_write_file(t, path, &f, sizeof(f), 0755), 0);
	size_t big = 200 * 1024;
	char *s = malloc(big);
	memset(s, 'a', big - 1);
	s[big - 1] = 0;
	char *argv[] = {"prog", s, NULL}, *envp[] = {NULL};
	const char *why;
	cr_expect_eq(k_exec_load(t, path, argv, envp, &why), -E2BIG);
	free(s);
}

Test(elf, random_corruption_never_crashes, .timeout = 120)
{
	int fd = open("/bin/busybox", O_RDONLY);
	cr_assert_geq(fd, 0, "busybox-static is a test dependency");
	size_t n = 4096;
	unsigned char *orig = malloc(n), *buf = malloc(n);
	cr_assert_eq(read(fd, orig, n), (ssize_t)n);
	close(fd);
	srand(1234);
	int loaded = 0, refused = 0;
	for (int i = 0; i < 300; i++) {
		memcpy(buf, orig, n);
		int flips = 1 + rand() % 8;
		for (int j = 0; j < flips; j++)
			buf[rand() % 512] = (unsigned char)rand();
		const char *why;
		int r = load(buf, n, &why);
		cr_expect_leq(r, 0);
		if (r == 0)
			loaded++;
		else
			refused++;
	}
	cr_log_info("corrupted headers: %d loaded, %d refused", loaded, refused);
	free(orig);
	free(buf);
}
