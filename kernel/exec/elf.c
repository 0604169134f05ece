/* The program loader: ELF (static, static-PIE, and dynamic with the
 * PT_INTERP loader from the guest's filesystem) and "#!" scripts, into a
 * fresh address space with the initial stack (argv, envp, auxv) as Linux's
 * binfmt_elf and binfmt_script build them.  Files are hostile: every
 * header field is checked before it is used. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../sentry.h"

#define MAX_PHNUM 64
#define MAX_ARG_STRLEN (PAGE_SIZE * 32)
/* Linux's ELF_ET_DYN_BASE for 47-bit address spaces. */
#define ET_DYN_BASE 0x555555554000UL

static int rnd_pages(unsigned bits)
{
	return (int)(k_random_u64() & ((1UL << bits) - 1));
}

static int prot_of(uint32_t pf)
{
	return (pf & PF_R ? PROT_READ : 0) | (pf & PF_W ? PROT_WRITE : 0) |
	       (pf & PF_X ? PROT_EXEC : 0);
}

/* Reads exactly n bytes at off, or fails with -ENOEXEC (short file) or
 * -EIO. */
static int read_at(struct k_file *f, void *buf, size_t n, uint64_t off)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = k_file_pread(f, (char *)buf + done, n - done, (int64_t)(off + done));
		if (r < 0)
			return -EIO;
		if (r == 0)
			return -ENOEXEC;
		done += (size_t)r;
	}
	return 0;
}

struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PHNUM];
	uint64_t bias, phdr_addr, end, brk;
	int stack_prot;
	char interp[K_PATH_MAX]; /* PT_INTERP, or "" */
};

static int check_headers(struct k_file *fd, uint64_t fsize, struct image *im, bool is_interp,
			 const char **why)
{
	Elf64_Ehdr *e = &im->eh;
	if (fsize < sizeof(*e) || read_at(fd, e, sizeof(*e), 0))
		return *why = "not an ELF file", -ENOEXEC;
	if (memcmp(e->e_ident, ELFMAG, SELFMAG) != 0)
		return *why = "not an ELF file", -ENOEXEC;
	if (e->e_ident[EI_CLASS] != ELFCLASS64 || e->e_ident[EI_DATA] != ELFDATA2LSB ||
	    e->e_machine != EM_X86_64)
		return *why = "not an x86-64 ELF executable", -ENOEXEC;
	if (e->e_type != ET_EXEC && e->e_type != ET_DYN)
		return *why = "ELF file is not an executable", -ENOEXEC;
	if (e->e_phentsize != sizeof(Elf64_Phdr) || e->e_phnum == 0 || e->e_phnum > MAX_PHNUM)
		return *why = "bad ELF program headers", -ENOEXEC;
	uint64_t phsize = (uint64_t)e->e_phnum * sizeof(Elf64_Phdr);
	if (e->e_phoff > fsize || phsize > fsize - e->e_phoff ||
	    read_at(fd, im->ph, phsize, e->e_phoff))
		return *why = "truncated ELF program headers", -ENOEXEC;
	im->stack_prot = PROT_READ | PROT_WRITE;
	bool any = false;
	uint64_t prev_end = 0;
	for (int i = 0; i < e->e_phnum; i++) {
		Elf64_Phdr *p = &im->ph[i];
		if (p->p_type == PT_INTERP) {
			if (is_interp)
				return *why = "the ELF interpreter has an interpreter", -ELIBBAD;
			if (p->p_filesz < 2 || p->p_filesz > K_PATH_MAX || p->p_offset > fsize ||
			    p->p_filesz > fsize - p->p_offset ||
			    read_at(fd, im->interp, p->p_filesz, p->p_offset) ||
			    im->interp[p->p_filesz - 1] != 0 ||
			    strlen(im->interp) != p->p_filesz - 1)
				return *why = "bad PT_INTERP", -ENOEXEC;
		}
		if (p->p_type == PT_GNU_STACK && (p->p_flags & PF_X))
			im->stack_prot |= PROT_EXEC;
		if (p->p_type != PT_LOAD)
			continue;
		if (p->p_filesz > p->p_memsz || p->p_offset > fsize ||
		    p->p_filesz > fsize - p->p_offset)
			return *why = "ELF segment outside the file", -ENOEXEC;
		if ((p->p_offset & (PAGE_SIZE - 1)) != (p->p_vaddr & (PAGE_SIZE - 1)))
			return *why = "misaligned ELF segment", -ENOEXEC;
		if (p->p_vaddr + p->p_memsz < p->p_vaddr || p->p_vaddr + p->p_memsz > (1UL << 46))
			return *why = "ELF segment beyond the address space", -ENOEXEC;
		if (any && p->p_vaddr < prev_end)
			return *why = "overlapping or unordered ELF segments", -ENOEXEC;
		prev_end = p->p_vaddr + p->p_memsz;
		any = true;
	}
	if (!any)
		return *why = "ELF file has nothing to load", -ENOEXEC;
	return 0;
}

/* The page span [lo, hi) of an image's PT_LOAD segments. */
static void span(const struct image *im, uint64_t *lo, uint64_t *hi)
{
	*lo = UINT64_MAX;
	*hi = 0;
	for (int i = 0; i < im->eh.e_phnum; i++) {
		const Elf64_Phdr *p = &im->ph[i];
		if (p->p_type != PT_LOAD)
			continue;
		if ((p->p_vaddr & PAGE_MASK) < *lo)
			*lo = p->p_vaddr & PAGE_MASK;
		if (PAGE_UP(p->p_vaddr + p->p_memsz) > *hi)
			*hi = PAGE_UP(p->p_vaddr + p->p_memsz);
	}
}

/* A read-only segment of a file with a page cache: the file's pages,
 * copy-on-write, and fresh zeroes past them (before a bss the tail of the
 * last file page is zeroed through a copy of that page, as Linux's
 * padzero).
 * Returns false when the file has no cache (the caller copies). */
static bool map_cached(struct k_mm *mm, struct k_file *f, uint64_t start, uint64_t end,
		       uint64_t foff, uint64_t flen, bool bss, int64_t *r)
{
	struct k_mobj *cache = f->ops->page_cache ? f->ops->page_cache(f) : NULL;
	if (!cache)
		return false;
	uint64_t fpages = PAGE_UP(flen);
	if (foff > cache->len || fpages > cache->len - foff || fpages > end - start) {
		mobj_put(&mm->k->mem, cache);
		return false;
	}
	uint64_t pgoff = foff;
	*r = mm_map_objs(mm, start, PROT_READ | PROT_WRITE, VMA_COW, MAP_FIXED, &cache, &pgoff,
			 &fpages, 1);
	mobj_put(&mm->k->mem, cache);
	if (*r >= 0 && start + fpages < end)
		*r = mm_map_anon(mm, start + fpages, end - (start + fpages), PROT_READ | PROT_WRITE,
				 0, MAP_FIXED);
	if (*r >= 0 && bss && (flen & ~PAGE_MASK)) {
		/* Before a bss, the file's bytes past p_filesz in its last page
		 * read as zero; otherwise they stay the file's, as in Linux. */
		static const uint8_t zeros[PAGE_SIZE];
		uint64_t tail = start + flen;
		struct iovec iov[2];
		int niov;
		size_t want = fpages - flen;
		if (k_guest_iov(mm, tail, want, true, iov, 2, &niov) != want)
			*r = -EFAULT;
		else
			for (int i = 0; i < niov; i++)
				memcpy(iov[i].iov_base, zeros, iov[i].iov_len);
	}
	return true;
}

static int load_segments(struct k_task *t, struct k_file *fd, struct image *im, bool is_interp,
			 const char **why)
{
	struct k_mm *mm = t->mm;
	Elf64_Ehdr *e = &im->eh;
	im->bias = 0;
	if (e->e_type == ET_DYN) {
		uint64_t lo, hi;
		span(im, &lo, &hi);
		if (is_interp) {
			/* The interpreter goes where mmap would put it: top-down. */
			int64_t at = mm_find_free(mm, hi - lo, 0, 0);
			if (at < 0)
				return *why = "no room for the ELF interpreter", (int)at;
			im->bias = (uint64_t)at - lo;
		} else {
			im->bias = ET_DYN_BASE + ((uint64_t)rnd_pages(28) << 12);
		}
	}
	for (int i = 0; i < e->e_phnum; i++) {
		Elf64_Phdr *p = &im->ph[i];
		if (p->p_type != PT_LOAD)
			continue;
		uint64_t va = p->p_vaddr + im->bias;
		uint64_t start = va & PAGE_MASK, end = PAGE_UP(va + p->p_memsz);
		if (end > im->end)
			im->end = end;
		if (end == start)
			continue;
		/* As Linux maps the file from the segment's page: the bytes before
		 * vaddr in that page come from the file too. */
		uint64_t foff = p->p_offset & PAGE_MASK;
		uint64_t flen = p->p_filesz ? p->p_filesz + (p->p_offset - foff) : 0;
		int64_t r;
		if (!(p->p_flags & PF_W) && flen && map_cached(mm, fd, start, end, foff, flen, p->p_memsz > p->p_filesz, &r)) {
			if (r < 0)
				return *why = "cannot map ELF segment", (int)r;
		} else {
			r = mm_map_anon(mm, start, end - start, PROT_READ | PROT_WRITE, 0, MAP_FIXED);
			if (r < 0)
				return *why = "cannot map ELF segment", (int)r;
			struct k_vma *v = mm_find(mm, start);
			uint8_t *dst = mm->k->mem.base + v->mobj->off + v->pgoff + (start - v->start);
			if (flen && read_at(fd, dst, flen, foff))
				return *why = "cannot read ELF segment", -EIO;
		}
		if (va + p->p_memsz > im->brk)
			im->brk = va + p->p_memsz;
		if (is_interp)
			continue;
		if (p->p_flags & PF_X) {
			mm->start_code = start;
			mm->end_code = va + p->p_filesz;
		} else if (p->p_flags & PF_W) {
			mm->start_data = va;
			mm->end_data = va + p->p_filesz;
		}
	}
	for (int i = 0; i < e->e_phnum; i++) {
		Elf64_Phdr *p = &im->ph[i];
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		uint64_t va = p->p_vaddr + im->bias;
		uint64_t start = va & PAGE_MASK, end = PAGE_UP(va + p->p_memsz);
		int err = mm_protect(mm, start, end - start, prot_of(p->p_flags));
		if (err)
			return *why = "cannot protect ELF segment", err;
	}
	/* AT_PHDR: PT_PHDR if present, else the headers inside a loaded segment. */
	for (int i = 0; i < e->e_phnum; i++)
		if (im->ph[i].p_type == PT_PHDR)
			im->phdr_addr = im->ph[i].p_vaddr + im->bias;
	for (int i = 0; i < e->e_phnum && !im->phdr_addr; i++) {
		Elf64_Phdr *p = &im->ph[i];
		if (p->p_type == PT_LOAD && e->e_phoff >= p->p_offset &&
		    e->e_phoff - p->p_offset < p->p_filesz)
			im->phdr_addr = p->p_vaddr + im->bias + (e->e_phoff - p->p_offset);
	}
	return 0;
}

/* Pushes bytes onto the stack being built; sp moves down. */
static int push(struct k_task *t, uint64_t *sp, const void *data, size_t n)
{
	*sp -= n;
	return k_copy_out(t, *sp, data, n);
}

static long count_strings(char *const *v, size_t *bytes)
{
	long n = 0;
	for (; v && v[n]; n++) {
		size_t len = strlen(v[n]) + 1;
		if (len > MAX_ARG_STRLEN)
			return -E2BIG;
		*bytes += len;
	}
	return n;
}

static int build_stack(struct k_task *t, struct image *im, const struct image *interp,
		       const char *execfn, char *const *argv, char *const *envp, const char **why)
{
	struct k_mm *mm = t->mm;
	uint64_t top = pf_guest_max() - 0x10000 - ((uint64_t)rnd_pages(22) << 12);
	uint64_t size = t->tg->rlim[RLIMIT_STACK].rlim_cur;
	if (size < 128 * 1024)
		size = 128 * 1024;
	if (size > 256UL << 20 || size == RLIM_INFINITY)
		size = 256UL << 20;
	size = PAGE_UP(size);
	size_t strbytes = strlen(execfn) + 1;
	long argc = count_strings(argv, &strbytes), envc = count_strings(envp, &strbytes);
	if (argc < 0 || envc < 0 || strbytes > size / 4)
		return *why = "argument list too long", -E2BIG;
	/* Like Linux: the strings and vectors plus 128 KiB to start with; the
	 * stack grows on faults below it (mm/fault.c) up to RLIMIT_STACK. */
	uint64_t initial = PAGE_UP(strbytes + (uint64_t)(argc + envc + 64) * 8 + (128UL << 10));
	if (initial > size)
		initial = size;
	int64_t r = mm_map_anon(mm, top - initial, initial, im->stack_prot,
				VMA_STACK | VMA_GROWSDOWN, MAP_FIXED);
	if (r < 0)
		return *why = "cannot map the stack", (int)r;
	mm->stack_start = top - initial;
	mm->stack_end = top;
	/* Linux keeps mmap_base a stack's length plus a guard gap below it. */
	uint64_t gap = size + (1UL << 20);
	if (gap < (128UL << 20))
		gap = 128UL << 20;
	mm->mmap_base = (top - gap - ((uint64_t)rnd_pages(28) << 12)) & PAGE_MASK;
	int64_t vdso = vdso_map(mm);
	if (vdso < 0)
		return *why = "cannot map the vDSO", (int)vdso;

	uint64_t sp = top;
	uint64_t zero = 0;
	if (push(t, &sp, &zero, 8))
		return *why = "stack", -EFAULT;
	if (push(t, &sp, execfn, strlen(execfn) + 1))
		return *why = "stack", -EFAULT;
	uint64_t execfn_addr = sp;
	uint64_t *ptrs = calloc((size_t)(argc + envc + 2), sizeof(uint64_t));
	if (!ptrs)
		return -ENOMEM;
	mm->env_end = sp;
	for (long i = envc - 1; i >= 0; i--) {
		if (push(t, &sp, envp[i], strlen(envp[i]) + 1))
			return free(ptrs), *why = "stack", -EFAULT;
		ptrs[argc + 1 + i] = sp;
	}
	mm->env_start = sp;
	mm->arg_end = sp;
	for (long i = argc - 1; i >= 0; i--) {
		if (push(t, &sp, argv[i], strlen(argv[i]) + 1))
			return free(ptrs), *why = "stack", -EFAULT;
		ptrs[i] = sp;
	}
	mm->arg_start = sp;
	const char platform[] = "x86_64";
	push(t, &sp, platform, sizeof(platform));
	uint64_t platform_addr = sp;
	uint64_t rnd[2] = {k_random_u64(), k_random_u64()};
	push(t, &sp, rnd, sizeof(rnd));
	uint64_t random_addr = sp;
	sp &= ~15UL;

	uint64_t aux[] = {
		AT_SYSINFO_EHDR, (uint64_t)vdso,
		AT_HWCAP, getauxval(AT_HWCAP),
		AT_PAGESZ, PAGE_SIZE,
		AT_CLKTCK, 100,
		AT_PHDR, im->phdr_addr,
		AT_PHENT, sizeof(Elf64_Phdr),
		AT_PHNUM, im->eh.e_phnum,
		AT_BASE, interp ? interp->bias : 0,
		AT_FLAGS, 0,
		AT_ENTRY, im->eh.e_entry + im->bias,
		AT_UID, t->tg->uid,
		AT_EUID, t->tg->euid,
		AT_GID, t->tg->gid,
		AT_EGID, t->tg->egid,
		AT_SECURE, 0,
		AT_RANDOM, random_addr,
		AT_HWCAP2, getauxval(AT_HWCAP2),
		AT_EXECFN, execfn_addr,
		AT_PLATFORM, platform_addr,
		AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ) ? getauxval(AT_MINSIGSTKSZ) : 2048,
		AT_NULL, 0,
	};
	_Static_assert(sizeof(aux) / sizeof(aux[0]) <= ARRAY_LEN(((struct k_mm *)0)->auxv),
		       "auxv fits");
	memcpy(mm->auxv, aux, sizeof(aux));
	mm->nauxv = sizeof(aux) / sizeof(aux[0]);
	/* argc, argv[], NULL, envp[], NULL, auxv: sp 16-aligned at argc. */
	size_t words = 1 + (size_t)argc + 1 + (size_t)envc + 1;
	size_t total = words * 8 + sizeof(aux);
	sp = (sp - total) & ~15UL;
	uint64_t at = sp;
	uint64_t argc64 = (uint64_t)argc;
	int err = k_copy_out(t, at, &argc64, 8);
	at += 8;
	err |= k_copy_out(t, at, ptrs, (size_t)(argc + 1) * 8);
	at += (uint64_t)(argc + 1) * 8;
	err |= k_copy_out(t, at, ptrs + argc + 1, (size_t)(envc + 1) * 8);
	at += (uint64_t)(envc + 1) * 8;
	err |= k_copy_out(t, at, aux, sizeof(aux));
	free(ptrs);
	if (err)
		return *why = "stack", -EFAULT;
	pf_regs_init(&t->regs, mm->as);
	t->regs.rsp = sp;
	t->regs.rip = interp ? interp->eh.e_entry + interp->bias : im->eh.e_entry + im->bias;
	return 0;
}

/* Opens path for execution: a regular file the task may execute, on a
 * mount that allows it. */
static int open_exec(struct k_task *t, const char *path, struct k_file **out, uint64_t *size)
{
	struct k_path p;
	int err = path_lookup(t, AT_FDCWD, path, LOOKUP_FOLLOW, &p);
	if (err)
		return err;
	struct k_inode *ino = p.d->inode;
	if (!S_ISREG(ino->mode) || (p.mnt->flags & MS_NOEXEC))
		err = -EACCES;
	else
		err = inode_permission(t, ino, MAY_EXEC);
	if (!err)
		err = vfs_open_path(t, &p, O_RDONLY, out);
	if (!err)
		*size = ino->size;
	path_put(&p);
	return err;
}

/* "#!interp [arg]": the new argv is interp, arg, the script, argv[1...]. */
static int parse_shebang(const char *buf, size_t n, char *interp, char *arg)
{
	const char *end = memchr(buf, '\n', n);
	if (!end)
		end = buf + n;
	const char *p = buf + 2;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	const char *q = p;
	while (q < end && *q != ' ' && *q != '\t')
		q++;
	if (q == p)
		return -ENOEXEC;
	if ((size_t)(q - p) >= K_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(interp, p, (size_t)(q - p));
	interp[q - p] = 0;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	const char *e = end;
	while (e > q && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	memcpy(arg, q, (size_t)(e - q));
	arg[e - q] = 0;
	return 0;
}

int k_exec_load(struct k_task *t, const char *path, char *const *argv, char *const *envp,
		const char **why)
{
	/* Scripts may name scripts, a few levels deep (Linux allows 4). */
	char *paths[6] = {0}, *args[6] = {0};
	char *const *av = argv;
	char **owned = NULL;
	const char *execfn = path;
	const char *cur = path;
	struct k_file *f = NULL;
	uint64_t fsize = 0;
	int err;
	for (int depth = 0;; depth++) {
		if ((err = open_exec(t, cur, &f, &fsize))) {
			*why = "cannot execute the program";
			goto out;
		}
		char head[256];
		ssize_t n = k_file_pread(f, head, sizeof(head), 0);
		if (n < 0) {
			err = (int)n;
			*why = "cannot read the program";
			goto out;
		}
		if (n < 2 || head[0] != '#' || head[1] != '!')
			break;
		if (depth >= 4) {
			err = -ELOOP;
			*why = "too many levels of #! interpreters";
			goto out;
		}
		paths[depth] = malloc(K_PATH_MAX);
		args[depth] = malloc(256);
		if (!paths[depth] || !args[depth]) {
			err = -ENOMEM;
			goto out;
		}
		if ((err = parse_shebang(head, (size_t)n, paths[depth], args[depth]))) {
			*why = "bad #! line";
			goto out;
		}
		size_t argc = 0;
		while (av && av[argc])
			argc++;
		char **nv = calloc(argc + 3, sizeof(char *));
		if (!nv) {
			err = -ENOMEM;
			goto out;
		}
		size_t k = 0;
		nv[k++] = paths[depth];
		if (args[depth][0])
			nv[k++] = args[depth];
		nv[k++] = (char *)cur;
		for (size_t i = 1; i < argc; i++)
			nv[k++] = av[i];
		free(owned);
		owned = nv;
		av = nv;
		cur = paths[depth];
		file_put(f);
		f = NULL;
	}
	struct image *im = calloc(1, sizeof(*im)), *in = NULL;
	if (!im) {
		err = -ENOMEM;
		goto out;
	}
	err = check_headers(f, fsize, im, false, why);
	if (!err)
		err = load_segments(t, f, im, false, why);
	if (!err && im->interp[0]) {
		struct k_file *fi = NULL;
		uint64_t isize = 0;
		in = calloc(1, sizeof(*in));
		if (!in)
			err = -ENOMEM;
		else if ((err = open_exec(t, im->interp, &fi, &isize)))
			*why = "cannot open the ELF interpreter";
		if (!err)
			err = check_headers(fi, isize, in, true, why);
		if (!err)
			err = load_segments(t, fi, in, true, why);
		file_put(fi);
	}
	if (!err) {
		struct k_mm *mm = t->mm;
		/* The heap starts at a random page above the image, as Linux's
		 * arch_randomize_brk (up to 32 MiB). */
		mm->brk_start = mm->brk_cur = PAGE_UP(im->brk) + ((uint64_t)rnd_pages(13) << 12);
		err = build_stack(t, im, in, execfn, av, envp, why);
		/* /proc/PID/exe: the file itself, whatever name reached it. */
		if (!err && f->path.d) {
			path_put(&mm->exe);
			mm->exe = path_get(f->path);
		}
	}
	free(in);
	free(im);
out:
	file_put(f);
	free(owned);
	for (int i = 0; i < 6; i++) {
		free(paths[i]);
		free(args[i]);
	}
	return err;
}
