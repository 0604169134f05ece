/* vdso.c - the vDSO at AT_SYSINFO_EHDR: its ELF shape and the symbols
 * libcs look up, then each function called directly (found in its dynamic
 * symbol table) and checked against the raw syscalls: readings interleaved
 * with syscall readings stay in order, clock_getres agrees, clocks it does
 * not serve fall back with the syscall's answer, several threads and a
 * fork child never see time go back, and the [vvar] page cannot be made
 * writable.  Only relations are printed. */
#include "guest.h"
#include <elf.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <sys/wait.h>

typedef int (*gettime_fn)(long, struct timespec *);
typedef int (*getres_fn)(long, struct timespec *);
typedef int (*gtod_fn)(struct timeval *, void *);
typedef long (*time_fn)(long *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);

static const Elf64_Sym *syms;
static const char *strs;
static const Elf64_Word *hash;
static const Elf64_Half *versym;
static const Elf64_Verdef *verdef;
static uintptr_t base, bias;

static long long ns(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static long long sys_ns(long clk)
{
	struct timespec t;
	syscall(SYS_clock_gettime, clk, &t);
	return ns(&t);
}

/* The version name a dynamic symbol is defined with. */
static const char *version_of(size_t i)
{
	if (!versym || !verdef)
		return "";
	unsigned idx = versym[i] & 0x7fff;
	for (const Elf64_Verdef *d = verdef;; d = (const Elf64_Verdef *)((const char *)d + d->vd_next)) {
		if (d->vd_ndx == idx) {
			const Elf64_Verdaux *aux = (const Elf64_Verdaux *)((const char *)d + d->vd_aux);
			return strs + aux->vda_name;
		}
		if (!d->vd_next)
			return "";
	}
}

/* A function defined in the vDSO with the given name and version. */
static void *lookup(const char *name, const char *version)
{
	if (!hash)
		return NULL;
	for (Elf64_Word i = 0; i < hash[1]; i++) {
		const Elf64_Sym *s = &syms[i];
		if (s->st_shndx == SHN_UNDEF || ELF64_ST_TYPE(s->st_info) != STT_FUNC)
			continue;
		if (strcmp(strs + s->st_name, name) == 0 && strcmp(version_of(i), version) == 0)
			return (void *)(bias + s->st_value);
	}
	return NULL;
}

static int parse(void)
{
	base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	EXPECT("AT_SYSINFO_EHDR present", base != 0);
	if (!base)
		return -1;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	EXPECT("ELF64 shared object for x86-64",
	       memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
		       eh->e_type == ET_DYN && eh->e_machine == EM_X86_64);
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	const Elf64_Dyn *dyn = NULL;
	int loads = 0;
	bool exec_load = false;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			if (!loads++)
				bias = base - ph[i].p_vaddr;
			exec_load |= (ph[i].p_flags & (PF_X | PF_W)) == PF_X;
		}
	}
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const Elf64_Dyn *)(bias + ph[i].p_vaddr);
	EXPECT("an executable, read-only PT_LOAD", exec_load);
	EXPECT("a PT_DYNAMIC", dyn != NULL);
	if (!dyn)
		return -1;
	const char *soname = NULL;
	Elf64_Xword soname_off = 0;
	bool has_soname = false;
	for (const Elf64_Dyn *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: syms = (const Elf64_Sym *)(bias + d->d_un.d_ptr); break;
		case DT_STRTAB: strs = (const char *)(bias + d->d_un.d_ptr); break;
		case DT_HASH: hash = (const Elf64_Word *)(bias + d->d_un.d_ptr); break;
		case DT_VERSYM: versym = (const Elf64_Half *)(bias + d->d_un.d_ptr); break;
		case DT_VERDEF: verdef = (const Elf64_Verdef *)(bias + d->d_un.d_ptr); break;
		case DT_SONAME: soname_off = d->d_un.d_val; has_soname = true; break;
		}
	}
	EXPECT("DT_HASH, DT_SYMTAB, DT_STRTAB, versions", hash && syms && strs && versym && verdef);
	if (has_soname && strs)
		soname = strs + soname_off;
	printf("soname: %s\n", soname ? soname : "(none)");
	return hash && syms && strs ? 0 : -1;
}

static gettime_fn v_gettime;

/* Each thread reads the clock many times; it must never go back, and
 * the last reading must not be after the main thread's reading once joined. */
static void *reader(void *arg)
{
	long long *last = arg, prev = 0;
	bool ok = true;
	for (int i = 0; i < 100000; i++) {
		struct timespec t;
		v_gettime(CLOCK_MONOTONIC, &t);
		if (ns(&t) < prev)
			ok = false;
		prev = ns(&t);
	}
	*last = ok ? prev : -1;
	return NULL;
}

/* sys, vdso, sys, ...: every vDSO reading between its neighbours. */
static bool interleaved(long clk, int rounds)
{
	bool ok = true;
	for (int i = 0; i < rounds; i++) {
		struct timespec t;
		long long a = sys_ns(clk);
		if (v_gettime(clk, &t) != 0)
			return false;
		long long b = sys_ns(clk);
		if (ns(&t) < a || ns(&t) > b)
			ok = false;
	}
	return ok;
}

int main(int argc, char **argv)
{
	GUEST_INIT();
	if (argc > 1 && strcmp(argv[1], "exec") == 0) {
		/* After execve: a fresh mapping, still in order with the syscall. */
		if (parse() == 0 && (v_gettime = (gettime_fn)lookup("__vdso_clock_gettime", "LINUX_2.6")))
			EXPECT("after exec: interleaved MONOTONIC in order", interleaved(CLOCK_MONOTONIC, 200));
		return 0;
	}
	if (parse() != 0)
		return 1;
	static const char *names[] = {"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time",
				      "__vdso_getcpu", "__vdso_clock_getres"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		printf("%s@LINUX_2.6: %s\n", names[i], lookup(names[i], "LINUX_2.6") ? "yes" : "no");
	v_gettime = (gettime_fn)lookup("__vdso_clock_gettime", "LINUX_2.6");
	gtod_fn v_gtod = (gtod_fn)lookup("__vdso_gettimeofday", "LINUX_2.6");
	time_fn v_time = (time_fn)lookup("__vdso_time", "LINUX_2.6");
	getcpu_fn v_getcpu = (getcpu_fn)lookup("__vdso_getcpu", "LINUX_2.6");
	getres_fn v_getres = (getres_fn)lookup("__vdso_clock_getres", "LINUX_2.6");
	if (!v_gettime || !v_gtod || !v_time || !v_getcpu || !v_getres)
		return 1;

	static const struct { long id; const char *name; } fine[] = {
		{CLOCK_REALTIME, "REALTIME"}, {CLOCK_MONOTONIC, "MONOTONIC"},
		{CLOCK_BOOTTIME, "BOOTTIME"}, {CLOCK_TAI, "TAI"}, {CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW"},
	};
	char label[96];
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		snprintf(label, sizeof(label), "%s: vDSO between syscall readings", fine[i].name);
		EXPECT(label, interleaved(fine[i].id, 2000));
	}
	/* A coarse clock is never ahead of its fine one read after it. */
	static const struct { long coarse, fine; const char *name; } coarse[] = {
		{CLOCK_REALTIME_COARSE, CLOCK_REALTIME, "REALTIME_COARSE"},
		{CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC, "MONOTONIC_COARSE"},
	};
	for (size_t i = 0; i < 2; i++) {
		bool ok = true;
		for (int j = 0; j < 1000; j++) {
			struct timespec t;
			v_gettime(coarse[i].coarse, &t);
			if (ns(&t) > sys_ns(coarse[i].fine))
				ok = false;
		}
		snprintf(label, sizeof(label), "%s: not ahead of the fine clock", coarse[i].name);
		EXPECT(label, ok);
	}
	/* CPU clocks: served by the kernel through the fallback. */
	struct timespec t = {-1, -1};
	int r = v_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	printf("PROCESS_CPUTIME_ID: ret %d, sane %s\n", r,
	       t.tv_sec >= 0 && t.tv_nsec >= 0 && t.tv_nsec < 1000000000 ? "yes" : "no");
	t = (struct timespec){-1, -1};
	r = v_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	printf("THREAD_CPUTIME_ID: ret %d, sane %s\n", r,
	       t.tv_sec >= 0 && t.tv_nsec >= 0 && t.tv_nsec < 1000000000 ? "yes" : "no");
	/* Bad ids come back as the raw syscall's -errno. */
	printf("clock 100: %s\n", errname(-v_gettime(100, &t)));
	printf("clock -1: %s\n", errname(-v_gettime(-1, &t)));
	printf("clock 100 getres: %s\n", errname(-v_getres(100, &t)));

	static const long all[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11};
	bool same = true;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct timespec a = {-1, -1}, b = {-1, -2};
		long ra = v_getres(all[i], &a);
		long rb = syscall(SYS_clock_getres, all[i], &b);
		if (ra != (rb < 0 ? -errno : rb) || (ra == 0 && (a.tv_sec != b.tv_sec || a.tv_nsec != b.tv_nsec)))
			same = false;
	}
	EXPECT("clock_getres: the syscall's answer for every clock", same);
	printf("clock_getres(MONOTONIC, NULL): %d\n", v_getres(CLOCK_MONOTONIC, NULL));

	bool ordered = true;
	for (int i = 0; i < 1000; i++) {
		struct timeval tv;
		long long a = sys_ns(CLOCK_REALTIME) / 1000;
		v_gtod(&tv, NULL);
		long long b = sys_ns(CLOCK_REALTIME) / 1000;
		long long v = (long long)tv.tv_sec * 1000000 + tv.tv_usec;
		if (v < a || v > b)
			ordered = false;
	}
	EXPECT("gettimeofday: between REALTIME readings", ordered);
	printf("gettimeofday(NULL, NULL): %d\n", v_gtod(NULL, NULL));
	long stored = 0;
	long s1 = sys_ns(CLOCK_REALTIME) / 1000000000;
	long now = v_time(&stored);
	long s2 = sys_ns(CLOCK_REALTIME) / 1000000000;
	EXPECT("time: between REALTIME readings, stored too", now >= s1 - 1 && now <= s2 && stored == now);
	EXPECT("time(NULL) plausible", v_time(NULL) > 1600000000);

	unsigned cpu = 9999, node = 9999;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	long rc = v_getcpu(&cpu, &node, NULL);
	printf("getcpu: ret %ld, cpu in range %s, node set %s\n", rc,
	       cpu < (unsigned)ncpu ? "yes" : "no", node != 9999 ? "yes" : "no");
	printf("getcpu(NULL, NULL): %ld\n", v_getcpu(NULL, NULL, NULL));

	pthread_t th[4];
	long long last[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, reader, &last[i]);
	bool mono = true;
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	v_gettime(CLOCK_MONOTONIC, &t);
	for (int i = 0; i < 4; i++)
		if (last[i] < 0 || last[i] > ns(&t))
			mono = false;
	EXPECT("4 threads: monotonic, and before the joiner's reading", mono);

	v_gettime(CLOCK_MONOTONIC, &t);
	long long before = ns(&t);
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec c;
		v_gettime(CLOCK_MONOTONIC, &c);
		_exit(ns(&c) >= before && interleaved(CLOCK_MONOTONIC, 200) ? 0 : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	EXPECT("fork child: after the parent's reading, in order", WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* A sleep: the clock advanced by at least the time slept. */
	struct timespec a, b, req = {0, 20000000};
	v_gettime(CLOCK_MONOTONIC, &a);
	nanosleep(&req, NULL);
	v_gettime(CLOCK_MONOTONIC, &b);
	EXPECT("20 ms nanosleep: at least 20 ms passed", ns(&b) - ns(&a) >= 20000000);

	/* The time page refuses write access; the vDSO's own pages are code. */
	FILE *f = fopen("/proc/self/maps", "r");
	char line[256];
	unsigned long vvar = 0, vvar_end = 0;
	bool vdso_rx = false;
	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, "[vvar]") && !vvar)
			sscanf(line, "%lx-%lx", &vvar, &vvar_end);
		if (strstr(line, "[vdso]"))
			vdso_rx = strncmp(strchr(line, ' ') + 1, "r-xp", 4) == 0;
	}
	if (f)
		fclose(f);
	EXPECT("[vvar] in maps", vvar != 0);
	EXPECT("[vdso] in maps, r-xp", vdso_rx);
	if (vvar) {
		CHECK("mprotect([vvar], RW)",
		      syscall(SYS_mprotect, vvar, vvar_end - vvar, (long)(PROT_READ | PROT_WRITE)));
		/* A syscall may not write into it either. */
		CHECK("clock_gettime into [vvar]", syscall(SYS_clock_gettime, (long)CLOCK_MONOTONIC, vvar));
	}

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char self[] = "/proc/self/exe", arg[] = "exec";
		char *av[] = {self, arg, NULL};
		execv(self, av);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	EXPECT("exec child exited 0", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return 0;
}
