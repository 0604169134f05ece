/* /sys: the little of sysfs programs read to size themselves: the CPUs
 * the sandbox has (what sched_getaffinity reports), one NUMA node,
 * transparent huge pages, and the empty directories a cgroup-aware
 * runtime looks in.  Served by pseudofs.c's engine. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

static int gen_cpulist(struct pfs_ctx *c, struct pbuf *b)
{
	pb_cpulist(b, c->ps->k);
	pb_puts(b, "\n");
	return 0;
}

static int gen_possible(struct pfs_ctx *c, struct pbuf *b)
{
	unsigned n = c->ps->k->nr_cpu_ids ? c->ps->k->nr_cpu_ids : 1;
	if (n == 1)
		pb_puts(b, "0\n");
	else
		pb_printf(b, "0-%u\n", n - 1);
	return 0;
}

static int gen_kernel_max(struct pfs_ctx *c, struct pbuf *b)
{
	unsigned n = c->ps->k->nr_cpu_ids ? c->ps->k->nr_cpu_ids : 1;
	pb_printf(b, "%u\n", n - 1);
	return 0;
}

#define FILE_(n, s) {.name = (n), .mode = S_IFREG | 0444, .flags = PFS_RO_OPEN, .text = (s)}
#define GEN(n, g) {.name = (n), .mode = S_IFREG | 0444, .flags = PFS_RO_OPEN, .gen = (g)}
#define SDIR(n, k) {.name = (n), .mode = S_IFDIR | 0755, .kids = (k)}

static const struct pfs_ent none[] = {{0}};

/* cpuN: cpu0 cannot be taken offline and has no "online" file. */
static const struct pfs_ent cpu0_kids[] = {{0}};
static const struct pfs_ent cpuN_kids[] = {FILE_("online", "1\n"), {0}};
static const struct pfs_ent cpu0_ent = SDIR("cpu", cpu0_kids);
static const struct pfs_ent cpuN_ent = SDIR("cpu", cpuN_kids);

static int lookup_cpu(struct pfs_ctx *c, const char *name, struct pfs_node *out)
{
	unsigned long cpu;
	if (strncmp(name, "cpu", 3) != 0 || !pfs_parse_uint(name + 3, INT_MAX, &cpu) ||
	    !pfs_cpu_present(c->ps->k, (unsigned)cpu))
		return -ENOENT;
	*out = (struct pfs_node){cpu ? &cpuN_ent : &cpu0_ent, 0, 0, (int)cpu, 0};
	return 0;
}

static bool next_cpu(struct pfs_ctx *c, int64_t key, struct pfs_dent *d)
{
	for (int64_t cpu = key < 0 ? 0 : key; cpu < 8 * (int64_t)sizeof(c->ps->k->cpumask); cpu++) {
		if (!pfs_cpu_present(c->ps->k, (unsigned)cpu))
			continue;
		snprintf(d->name, sizeof(d->name), "cpu%d", (int)cpu);
		d->key = cpu;
		d->node = (struct pfs_node){cpu ? &cpuN_ent : &cpu0_ent, 0, 0, (int)cpu, 0};
		return true;
	}
	return false;
}

static const struct pfs_ent cpu_kids[] = {
	GEN("kernel_max", gen_kernel_max),
	FILE_("offline", "\n"),
	GEN("online", gen_cpulist),
	GEN("possible", gen_possible),
	GEN("present", gen_cpulist),
	{0},
};

static const struct pfs_ent node0_kids[] = {GEN("cpulist", gen_cpulist), {0}};

static const struct pfs_ent node_kids[] = {
	FILE_("has_cpu", "0\n"),
	FILE_("has_memory", "0\n"),
	FILE_("has_normal_memory", "0\n"),
	SDIR("node0", node0_kids),
	FILE_("online", "0\n"),
	FILE_("possible", "0\n"),
	{0},
};

static const struct pfs_ent system_kids[] = {
	{.name = "cpu", .mode = S_IFDIR | 0755, .kids = cpu_kids, .dlookup = lookup_cpu,
	 .dnext = next_cpu},
	SDIR("node", node_kids),
	{0},
};

static const struct pfs_ent devices_kids[] = {SDIR("system", system_kids), {0}};

static const struct pfs_ent thp_kids[] = {
	FILE_("defrag", "always defer defer+madvise [madvise] never\n"),
	FILE_("enabled", "always [madvise] never\n"),
	FILE_("hpage_pmd_size", "2097152\n"),
	FILE_("shmem_enabled", "always within_size advise [never] deny force\n"),
	{0},
};

static const struct pfs_ent mm_kids[] = {SDIR("transparent_hugepage", thp_kids), {0}};
static const struct pfs_ent kernel_kids[] = {SDIR("mm", mm_kids), {0}};
static const struct pfs_ent fs_kids[] = {SDIR("cgroup", none), {0}};

static const struct pfs_ent sys_kids[] = {
	SDIR("block", none),
	SDIR("bus", none),
	SDIR("class", none),
	SDIR("dev", none),
	SDIR("devices", devices_kids),
	SDIR("firmware", none),
	SDIR("fs", fs_kids),
	SDIR("kernel", kernel_kids),
	SDIR("module", none),
	{0},
};

static const struct pfs_ent sys_root = {.name = "/", .mode = S_IFDIR | 0555, .kids = sys_kids};

int sysfs_new(struct k_kernel *k, struct k_super **sb, struct k_inode **root)
{
	struct pfs_sb *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	ps->k = k;
	ps->root = &sys_root;
	ps->reg_size = 4096;
	return pfs_new(ps, "sysfs", SYSFS_MAGIC, sb, root);
}
