/* auxv.c - the ELF auxiliary vector and initial process state the
 * loader hands to a static program.  Host-specific entries (HWCAP,
 * SYSINFO_EHDR, PLATFORM, MINSIGSTKSZ) are not examined. */
#include "guest.h"
#include <elf.h>
#include <sys/auxv.h>

extern char _start[];
extern char **environ;

int main(int argc, char **argv)
{
	GUEST_INIT();
	printf("argc: %d\n", argc);
	EXPECT("argv[0] non-empty", argv[0] && argv[0][0]);
	EXPECT("argv[argc] == NULL", argv[argc] == NULL);
	EXPECT("environ != NULL", environ != NULL);
	EXPECT("argv, environ on the stack above a local",
	       (unsigned long)argv > (unsigned long)&argc &&
	       (unsigned long)environ > (unsigned long)argv);

	printf("AT_PAGESZ: %lu\n", getauxval(AT_PAGESZ));
	printf("AT_PHENT: %lu\n", getauxval(AT_PHENT));
	printf("AT_SECURE: %lu\n", getauxval(AT_SECURE));
	printf("AT_BASE: %lu\n", getauxval(AT_BASE));
	printf("AT_FLAGS: %lu\n", getauxval(AT_FLAGS));
	EXPECT("AT_ENTRY == _start", getauxval(AT_ENTRY) == (unsigned long)_start);
	EXPECT("AT_UID == getuid", getauxval(AT_UID) == (unsigned long)getuid());
	EXPECT("AT_EUID == geteuid", getauxval(AT_EUID) == (unsigned long)geteuid());
	EXPECT("AT_GID == getgid", getauxval(AT_GID) == (unsigned long)getgid());
	EXPECT("AT_EGID == getegid", getauxval(AT_EGID) == (unsigned long)getegid());

	unsigned char *rnd = (unsigned char *)getauxval(AT_RANDOM);
	EXPECT("AT_RANDOM present", rnd != NULL);
	if (rnd) {
		int nz = 0;
		for (int i = 0; i < 16; i++)
			nz |= rnd[i];
		EXPECT("AT_RANDOM 16 bytes not all zero", nz != 0);
	}

	Elf64_Phdr *ph = (Elf64_Phdr *)getauxval(AT_PHDR);
	unsigned long n = getauxval(AT_PHNUM);
	EXPECT("AT_PHDR present", ph != NULL);
	EXPECT("AT_PHNUM > 0", n > 0);
	int loads = 0, entry_in_exec_load = 0, phdr_in_load = 0;
	unsigned long bias = 0;
	for (unsigned long i = 0; ph && i < n; i++)
		if (ph[i].p_type == PT_PHDR)
			bias = (unsigned long)ph - ph[i].p_vaddr;
	if (bias == 0 && ph)
		for (unsigned long i = 0; i < n; i++)
			if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
				/* headers live in the first segment */
				Elf64_Ehdr *eh = (Elf64_Ehdr *)((unsigned long)ph - sizeof(Elf64_Ehdr));
				bias = (unsigned long)eh - ph[i].p_vaddr;
				break;
			}
	for (unsigned long i = 0; ph && i < n; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		loads++;
		unsigned long lo = bias + ph[i].p_vaddr, hi = lo + ph[i].p_memsz;
		if ((ph[i].p_flags & PF_X) && (unsigned long)_start >= lo &&
		    (unsigned long)_start < hi)
			entry_in_exec_load = 1;
		if ((unsigned long)ph >= lo && (unsigned long)ph < hi)
			phdr_in_load = 1;
	}
	EXPECT("at least one PT_LOAD", loads >= 1);
	EXPECT("_start inside an executable PT_LOAD", entry_in_exec_load);
	EXPECT("program headers inside a PT_LOAD", phdr_in_load);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)(bias + 0);
	for (unsigned long i = 0; ph && i < n; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0)
			eh = (Elf64_Ehdr *)(bias + ph[i].p_vaddr);
	EXPECT("ELF header mapped with magic", memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0);
	EXPECT("e_entry + bias == _start", bias + eh->e_entry == (unsigned long)_start);
	return 0;
}
