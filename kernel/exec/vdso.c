/* The vDSO and its time page in every guest address space, as Linux maps
 * its own: [vvar] (one read-only page the sentry writes, time/clock.c)
 * right below [vdso] (the image built from kernel/vdso/, embedded in husk
 * by vdso_image.S), announced to the program in AT_SYSINFO_EHDR. */
#include <elf.h>
#include <string.h>
#include <sys/mman.h>

#include "../sentry.h"
#include "../vdso/vvar.h"

extern const uint8_t husk_vdso_image[], husk_vdso_image_end[];

/* The embedded image is the build's own output; still, it is checked once
 * before any guest relies on it. */
static bool image_ok(size_t len)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)husk_vdso_image;
	return len >= sizeof(*eh) && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
	       eh->e_ident[EI_CLASS] == ELFCLASS64 && eh->e_type == ET_DYN &&
	       eh->e_machine == EM_X86_64;
}

int vdso_init(struct k_kernel *k)
{
	size_t len = (size_t)(husk_vdso_image_end - husk_vdso_image);
	if (!image_ok(len))
		return -ENOEXEC;
	k->vvar = mobj_new(&k->mem, PAGE_SIZE);
	k->vdso = mobj_new(&k->mem, PAGE_UP(len));
	if (!k->vvar || !k->vdso) {
		vdso_teardown(k);
		return -ENOMEM;
	}
	memcpy(k->mem.base + k->vdso->off, husk_vdso_image, len);
	k_clock_attach(k->mem.base + k->vvar->off);
	return 0;
}

void vdso_teardown(struct k_kernel *k)
{
	if (k->vvar) {
		k_clock_detach(k->mem.base + k->vvar->off);
		mobj_put(&k->mem, k->vvar);
	}
	if (k->vdso)
		mobj_put(&k->mem, k->vdso);
	k->vvar = k->vdso = NULL;
}

int64_t vdso_map(struct k_mm *mm)
{
	struct k_kernel *k = mm->k;
	if (!k->vvar || !k->vdso)
		return -ENOEXEC;
	uint64_t zero = 0, vlen = PAGE_SIZE, dlen = k->vdso->len;
	/* Room for both together, found top-down like any mapping. */
	int64_t at = mm_map_anon(mm, 0, vlen + dlen, PROT_NONE, 0, 0);
	if (at < 0)
		return at;
	int64_t r = mm_map_objs(mm, (uint64_t)at, PROT_READ, VMA_SHARED | VMA_NOWRITE | VMA_VVAR,
				MAP_FIXED, &k->vvar, &zero, &vlen, 1);
	if (r >= 0)
		r = mm_map_objs(mm, (uint64_t)at + vlen, PROT_READ | PROT_EXEC, VMA_COW | VMA_VDSO,
				MAP_FIXED, &k->vdso, &zero, &dlen, 1);
	if (r < 0) {
		mm_unmap(mm, (uint64_t)at, vlen + dlen);
		return r;
	}
	return at + (int64_t)vlen;
}
