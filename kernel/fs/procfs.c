/* /proc itself: its root (the static entries, then procfs_pid.c's one
 * directory per pid), /proc/self, and the system files programs and
 * runtimes read (cpuinfo, meminfo, stat, uptime, loadavg, /proc/sys).
 * Linux's formats, field for field (fs/proc/).  What comes from the host
 * (the CPU model) is read once, when the filesystem is made: the sentry
 * may open no host file later.  The engine is pseudofs.c's. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "../../netstack/netstack.h"
#include "procfs.h"

/* ======================= /proc itself ======================= */

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	k_clock_ts(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t uptime_ns(struct k_kernel *k)
{
	uint64_t now = (uint64_t)k_clock_to_guest(CLOCK_MONOTONIC, (int64_t)now_ns(CLOCK_MONOTONIC));
	return now > k->boot_ns ? now - k->boot_ns : 0;
}

static unsigned task_count(struct pfs_sb *ps, int *last_pid)
{
	unsigned n = 0;
	*last_pid = 0;
	for (struct k_task *t = pfs_task_next_pid(ps, 1); t;
	     t = pfs_task_next_pid(ps, t->tg->pid + 1LL)) {
		n += (unsigned)(t->tg->nthreads > 0 ? t->tg->nthreads : 1);
		*last_pid = t->tg->pid;
	}
	return n;
}

static int link_self(struct pfs_ctx *c, char *buf, size_t size)
{
	struct k_task *t = pfs_task_current(c->ps);
	if (!t)
		return -ENOENT;
	int n = snprintf(buf, size, "%d", t->tg->pid);
	return n < (int)size ? n : (int)size - 1;
}

static int link_thread_self(struct pfs_ctx *c, char *buf, size_t size)
{
	struct k_task *t = pfs_task_current(c->ps);
	if (!t)
		return -ENOENT;
	int n = snprintf(buf, size, "%d/task/%d", t->tg->pid, t->tid);
	return n < (int)size ? n : (int)size - 1;
}

static int link_mounts(struct pfs_ctx *c, char *buf, size_t size)
{
	(void)c;
	return snprintf(buf, size, "self/mounts");
}

static int gen_cpuinfo(struct pfs_ctx *c, struct pbuf *b)
{
	struct pfs_sb *ps = c->ps;
	struct k_kernel *k = ps->k;
	bool any = false;
	for (unsigned i = 0; i < 8 * sizeof(k->cpumask) && !b->trunc; i++) {
		if (!pfs_cpu_present(k, i))
			continue;
		any = true;
		const char *blk = i < ps->ncpu_block && ps->cpu_block[i] ? ps->cpu_block[i]
		                  : ps->ncpu_block && ps->cpu_block[0] ? ps->cpu_block[0]
		                                                        : "";
		pb_printf(b, "processor\t: %u\n", i);
		pb_puts(b, blk);
		pb_puts(b, "\n");
	}
	if (!any) {
		pb_puts(b, "processor\t: 0\n");
		pb_puts(b, ps->ncpu_block && ps->cpu_block[0] ? ps->cpu_block[0] : "");
		pb_puts(b, "\n");
	}
	return 0;
}

static int gen_meminfo(struct pfs_ctx *c, struct pbuf *b)
{
	struct sysinfo si;
	if (sysinfo(&si) != 0)
		return -errno;
	uint64_t unit = si.mem_unit ? si.mem_unit : 1;
	uint64_t total = si.totalram * unit >> 10, free_ = si.freeram * unit >> 10;
	uint64_t buffers = si.bufferram * unit >> 10;
	uint64_t anon = c->ps->k->mem.allocated >> 10;
	if (anon > total)
		anon = total;
	const struct {
		const char *name;
		uint64_t kb;
	} v[] = {
		{"MemTotal:", total},         {"MemFree:", free_},
		{"MemAvailable:", free_ + buffers},
		{"Buffers:", 0},              {"Cached:", 0},
		{"SwapCached:", 0},           {"Active:", anon},
		{"Inactive:", 0},             {"Active(anon):", anon},
		{"Inactive(anon):", 0},       {"Active(file):", 0},
		{"Inactive(file):", 0},       {"Unevictable:", 0},
		{"Mlocked:", 0},              {"SwapTotal:", 0},
		{"SwapFree:", 0},             {"Dirty:", 0},
		{"Writeback:", 0},            {"AnonPages:", anon},
		{"Mapped:", 0},               {"Shmem:", 0},
		{"KReclaimable:", 0},         {"Slab:", 0},
		{"SReclaimable:", 0},         {"SUnreclaim:", 0},
		{"KernelStack:", 0},          {"PageTables:", 0},
		{"NFS_Unstable:", 0},         {"Bounce:", 0},
		{"WritebackTmp:", 0},         {"CommitLimit:", total / 2},
		{"Committed_AS:", anon},      {"VmallocTotal:", 34359738367ULL},
		{"VmallocUsed:", 0},          {"VmallocChunk:", 0},
		{"AnonHugePages:", 0},        {"ShmemHugePages:", 0},
		{"ShmemPmdMapped:", 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(v); i++)
		pb_printf(b, "%-16s%8llu kB\n", v[i].name, (unsigned long long)v[i].kb);
	pb_puts(b, "HugePages_Total:       0\nHugePages_Free:        0\n"
		   "HugePages_Rsvd:        0\nHugePages_Surp:        0\n"
		   "Hugepagesize:       2048 kB\n");
	return 0;
}

static int gen_stat_root(struct pfs_ctx *c, struct pbuf *b)
{
	struct k_kernel *k = c->ps->k;
	unsigned ncpu = pfs_ncpus(k);
	uint64_t up = uptime_ns(k) / (1000000000ull / USER_HZ);
	int last;
	unsigned nthreads = task_count(c->ps, &last);
	uint64_t user = 0;
	for (struct k_task *t = pfs_task_next_pid(c->ps, 1); t;
	     t = pfs_task_next_pid(c->ps, t->tg->pid + 1LL))
		user += pfs_task_cpu_ns(t) / (1000000000ull / USER_HZ);
	uint64_t all = up * ncpu, idle = all > user ? all - user : 0;
	pb_printf(b, "cpu  %llu 0 0 %llu 0 0 0 0 0 0\n", (unsigned long long)user,
		  (unsigned long long)idle);
	for (unsigned i = 0; i < 8 * sizeof(k->cpumask); i++)
		if (pfs_cpu_present(k, i))
			pb_printf(b, "cpu%u %llu 0 0 %llu 0 0 0 0 0 0\n", i,
				  (unsigned long long)(user / ncpu), (unsigned long long)(idle / ncpu));
	uint64_t btime = (now_ns(CLOCK_REALTIME) - uptime_ns(k)) / 1000000000ull;
	pb_printf(b, "intr 0\nctxt 0\nbtime %llu\nprocesses %u\nprocs_running 1\nprocs_blocked 0\n"
		     "softirq 0 0 0 0 0 0 0 0 0 0 0\n",
		  (unsigned long long)btime, nthreads);
	return 0;
}

static int gen_uptime(struct pfs_ctx *c, struct pbuf *b)
{
	struct k_kernel *k = c->ps->k;
	uint64_t up = uptime_ns(k) / 10000000ull; /* hundredths */
	uint64_t busy = 0;
	for (struct k_task *t = pfs_task_next_pid(c->ps, 1); t;
	     t = pfs_task_next_pid(c->ps, t->tg->pid + 1LL))
		busy += pfs_task_cpu_ns(t) / 10000000ull;
	uint64_t all = up * pfs_ncpus(k), idle = all > busy ? all - busy : 0;
	pb_printf(b, "%llu.%02llu %llu.%02llu\n", (unsigned long long)(up / 100),
		  (unsigned long long)(up % 100), (unsigned long long)(idle / 100),
		  (unsigned long long)(idle % 100));
	return 0;
}

static int gen_loadavg(struct pfs_ctx *c, struct pbuf *b)
{
	int last;
	unsigned n = task_count(c->ps, &last);
	pb_printf(b, "0.00 0.00 0.00 1/%u %d\n", n ? n : 1, last);
	return 0;
}

/* ---- /proc/sys ---- */

static int gen_hostname(struct pfs_ctx *c, struct pbuf *b)
{
	const char *h = c->ps->k->cfg.hostname;
	pb_printf(b, "%s\n", h ? h : "husk");
	return 0;
}

static int gen_boot_id(struct pfs_ctx *c, struct pbuf *b)
{
	pb_printf(b, "%s\n", c->ps->boot_id);
	return 0;
}

static void make_uuid(char *out, size_t size)
{
	uint64_t a = k_random_u64(), b = k_random_u64();
	snprintf(out, size, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
		 (unsigned)((b >> 48) & 0x3fff) | 0x8000, (unsigned long long)(b & 0xffffffffffffULL));
}

static int gen_uuid(struct pfs_ctx *c, struct pbuf *b)
{
	(void)c;
	char u[40];
	make_uuid(u, sizeof(u));
	pb_printf(b, "%s\n", u);
	return 0;
}

static int gen_threads_max(struct pfs_ctx *c, struct pbuf *b)
{
	(void)c;
	/* Linux: a thread's 16 KiB stack may take an eighth of memory. */
	struct sysinfo si;
	unsigned long long pages = 0;
	if (sysinfo(&si) == 0)
		pages = (unsigned long long)si.totalram * (si.mem_unit ? si.mem_unit : 1) / PAGE_SIZE;
	unsigned long long n = pages / 32;
	if (n < 20)
		n = 20;
	if (n > 0x3fffffff)
		n = 0x3fffffff;
	pb_printf(b, "%llu\n", n);
	return 0;
}

static int gen_file_max(struct pfs_ctx *c, struct pbuf *b)
{
	(void)c;
	/* Linux: a tenth of memory in KiB, at least NR_FILE. */
	struct sysinfo si;
	unsigned long long kb = 0;
	if (sysinfo(&si) == 0)
		kb = (unsigned long long)si.totalram * (si.mem_unit ? si.mem_unit : 1) / 1024;
	unsigned long long n = kb / 10 < 8192 ? 8192 : kb / 10;
	pb_printf(b, "%llu\n", n);
	return 0;
}

/* /proc/net: the sandbox's own network, from its netstack. */
static int gen_net_dev(struct pfs_ctx *c, struct pbuf *b)
{
	pb_printf(b, "Inter-|   Receive                                                |  Transmit\n"
		     " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
		     "packets errs drop fifo colls carrier compressed\n");
	struct ns_stack *s = k_net_stack(c->ps->k);
	struct ns_ifinfo i;
	for (int k = 0; s && ns_if_info(s, k, &i) > 0; k++)
		pb_printf(b, "%6s: %7llu %7llu    0 %4llu    0     0          0         0 %8llu "
			     "%7llu    0 %4llu    0     0       0          0\n",
			  i.name, (unsigned long long)i.rx_bytes, (unsigned long long)i.rx_packets,
			  (unsigned long long)i.rx_dropped, (unsigned long long)i.tx_bytes,
			  (unsigned long long)i.tx_packets, (unsigned long long)i.tx_dropped);
	return 0;
}

/* Addresses as Linux prints them: the 32 bits in memory order, in hex. */
static void net_conns(struct pbuf *b, struct ns_conn *v, int n)
{
	for (int i = 0; i < n; i++)
		pb_printf(b, "%4d: %08X:%04X %08X:%04X %02X %08zX:%08zX 00:00000000 00000000 %5u "
			     "%8d %lu 1 0000000000000000 100 0 0 10 0\n",
			  i, __builtin_bswap32(v[i].laddr), v[i].lport, __builtin_bswap32(v[i].raddr),
			  v[i].rport, v[i].state, v[i].tx_queue, v[i].rx_queue, 0u, 0, 0ul);
}

static int gen_net_list(struct pfs_ctx *c, struct pbuf *b, const char *head,
			int (*list)(const struct ns_stack *, struct ns_conn *, int))
{
	pb_printf(b, "%s", head);
	struct ns_stack *s = k_net_stack(c->ps->k);
	static struct ns_conn v[1024];
	int n = s ? list(s, v, 1024) : 0;
	net_conns(b, v, n < 1024 ? n : 1024);
	return 0;
}

static int gen_net_tcp(struct pfs_ctx *c, struct pbuf *b)
{
	return gen_net_list(c, b, "  sl  local_address rem_address   st tx_queue rx_queue tr "
				  "tm->when retrnsmt   uid  timeout inode\n", ns_tcp_list);
}

static int gen_net_udp(struct pfs_ctx *c, struct pbuf *b)
{
	return gen_net_list(c, b, "   sl  local_address rem_address   st tx_queue rx_queue tr "
				  "tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
			    ns_udp_list);
}

static int gen_net_unix(struct pfs_ctx *c, struct pbuf *b)
{
	(void)c;
	pb_puts(b, "Num       RefCount Protocol Flags    Type St Inode Path\n");
	static struct k_unix_info v[1024];
	int n = k_unix_list(v, 1024);
	for (int i = 0; i < n && i < 1024; i++) {
		/* Kernel addresses hidden (kptr_restrict), Linux's reference
		 * counts (the socket's, and a connected stream's peer's: a
		 * datagram socket's peer holds the other way), __SO_ACCEPTCON
		 * for a listener; SOCK_SEQPACKET is type 5. */
		unsigned refs = v[i].type != SOCK_DGRAM && v[i].state != 1 ? 3u : 2u;
		pb_printf(b, "%016x: %08X %08X %08X %04X %02X %5lu", 0, refs, 0u,
			  v[i].listening ? 0x10000u : 0u, (unsigned)v[i].type, (unsigned)v[i].state,
			  v[i].ino);
		if (v[i].path_len) {
			/* An abstract name shows as @name, its NULs as @. */
			char p[sizeof(v[i].path) + 2];
			int len = v[i].path[0] ? (int)strnlen(v[i].path, (size_t)v[i].path_len)
					       : v[i].path_len;
			for (int k = 0; k < len; k++)
				p[k] = v[i].path[k] ? v[i].path[k] : '@';
			p[len] = 0;
			pb_printf(b, " %s", p);
		}
		pb_puts(b, "\n");
	}
	return 0;
}

static const struct pfs_ent net_kids[] = {
	PFS_REG("dev", 0444, gen_net_dev),
	PFS_REG("tcp", 0444, gen_net_tcp),
	PFS_REG("udp", 0444, gen_net_udp),
	PFS_REG("unix", 0444, gen_net_unix),
	{0},
};

#define SYSCTL_INT(n, m, s)                                                                     \
	{.name = (n), .mode = S_IFREG | (m), .flags = PFS_RO_OPEN | PFS_INTVAL, .text = (s)}
#define SYSCTL_STR(n, m, s) {.name = (n), .mode = S_IFREG | (m), .flags = PFS_RO_OPEN, .text = (s)}
#define SYSCTL_GEN(n, m, fl, g) {.name = (n), .mode = S_IFREG | (m), .flags = PFS_RO_OPEN | (fl), .gen = (g)}
#define PDIR(n, k) {.name = (n), .mode = S_IFDIR | 0555, .kids = (k)}

static const struct pfs_ent sys_kernel_random[] = {
	SYSCTL_GEN("boot_id", 0444, 0, gen_boot_id),
	SYSCTL_INT("entropy_avail", 0444, "256\n"),
	SYSCTL_INT("poolsize", 0444, "256\n"),
	SYSCTL_GEN("uuid", 0444, 0, gen_uuid),
	{0},
};

static const struct pfs_ent sys_kernel[] = {
	SYSCTL_INT("cap_last_cap", 0444, "40\n"),
	SYSCTL_STR("domainname", 0644, "(none)\n"),
	SYSCTL_GEN("hostname", 0644, 0, gen_hostname),
	SYSCTL_INT("ngroups_max", 0444, "65536\n"),
	SYSCTL_STR("osrelease", 0444, K_UTS_RELEASE "\n"),
	SYSCTL_STR("ostype", 0444, "Linux\n"),
	SYSCTL_INT("overflowgid", 0644, "65534\n"),
	SYSCTL_INT("overflowuid", 0644, "65534\n"),
	SYSCTL_INT("pid_max", 0644, "4194304\n"),
	PDIR("random", sys_kernel_random),
	SYSCTL_INT("randomize_va_space", 0644, "2\n"),
	SYSCTL_INT("shmall", 0644, "18446744073692774399\n"),
	SYSCTL_INT("shmmax", 0644, "18446744073692774399\n"),
	SYSCTL_INT("shmmni", 0644, "4096\n"),
	SYSCTL_GEN("threads-max", 0644, PFS_INTVAL, gen_threads_max),
	SYSCTL_STR("version", 0444, K_UTS_VERSION "\n"),
	{0},
};

static const struct pfs_ent sys_vm[] = {
	SYSCTL_INT("max_map_count", 0644, "65530\n"),
	SYSCTL_INT("mmap_min_addr", 0644, "65536\n"),
	SYSCTL_INT("overcommit_memory", 0644, "0\n"),
	SYSCTL_INT("overcommit_ratio", 0644, "50\n"),
	{0},
};

static const struct pfs_ent sys_fs[] = {
	SYSCTL_GEN("file-max", 0644, PFS_INTVAL, gen_file_max),
	SYSCTL_INT("nr_open", 0644, "1048576\n"),
	SYSCTL_INT("pipe-max-size", 0644, "1048576\n"),
	{0},
};

static const struct pfs_ent sys_net_core[] = {
	SYSCTL_INT("somaxconn", 0644, "4096\n"),
	{0},
};

static const struct pfs_ent sys_net[] = {PDIR("core", sys_net_core), {0}};

static const struct pfs_ent sys_kids[] = {
	PDIR("fs", sys_fs),
	PDIR("kernel", sys_kernel),
	PDIR("net", sys_net),
	PDIR("vm", sys_vm),
	{0},
};

static const struct pfs_ent root_kids[] = {
	PDIR("sys", sys_kids),
	PFS_REG("cpuinfo", 0444, gen_cpuinfo),
	PFS_TEXT("filesystems", 0444,
	     "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tdevpts\n"
	     "nodev\toverlay\n"),
	PFS_REG("loadavg", 0444, gen_loadavg),
	PFS_REG("meminfo", 0444, gen_meminfo),
	{.name = "mounts", .mode = S_IFLNK | 0777, .readlink = link_mounts},
	PDIR("net", net_kids),
	PFS_REG("stat", 0444, gen_stat_root),
	PFS_REG("uptime", 0444, gen_uptime),
	PFS_TEXT("version", 0444, "Linux version " K_UTS_RELEASE " " K_UTS_VERSION "\n"),
	{.name = "self", .mode = S_IFLNK | 0777, .readlink = link_self},
	{.name = "thread-self", .mode = S_IFLNK | 0777, .readlink = link_thread_self},
	{0},
};

static const struct pfs_ent proc_root = {
	.name = "/", .mode = S_IFDIR | 0555, .kids = root_kids, .dlookup = procfs_lookup_pid,
	.dnext = procfs_next_pid};

/* The host's /proc/cpuinfo, one block per processor (after its
 * "processor" line), indexed by processor number. */
static void read_host_cpuinfo(struct pfs_sb *ps)
{
	int fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size_t cap = 64 << 10, len = 0;
	char *text = malloc(cap + 1);
	while (text) {
		if (len == cap) {
			if (cap >= PFS_MAX_FILE)
				break;
			char *bigger = realloc(text, 2 * cap + 1);
			if (!bigger)
				break;
			text = bigger;
			cap *= 2;
		}
		ssize_t r = read(fd, text + len, cap - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!text)
		return;
	text[len] = 0;
	for (char *blk = text; *blk;) {
		char *end = strstr(blk, "\n\n");
		char *next = end ? end + 2 : blk + strlen(blk);
		if (end)
			end[1] = 0; /* the block keeps its last newline */
		unsigned long cpu;
		char *nl = strchr(blk, '\n');
		char *colon = strchr(blk, ':');
		if (strncmp(blk, "processor", 9) == 0 && nl && colon && colon < nl) {
			*nl = 0;
			char *num = colon + 1;
			while (*num == ' ')
				num++;
			if (pfs_parse_uint(num, 4095, &cpu)) {
				if (cpu >= ps->ncpu_block) {
					char **v = realloc(ps->cpu_block, (cpu + 1) * sizeof(*v));
					if (v) {
						for (size_t i = ps->ncpu_block; i <= cpu; i++)
							v[i] = NULL;
						ps->cpu_block = v;
						ps->ncpu_block = cpu + 1;
					}
				}
				if (cpu < ps->ncpu_block && !ps->cpu_block[cpu])
					ps->cpu_block[cpu] = strdup(nl + 1);
			}
		}
		blk = next;
	}
	free(text);
}

int procfs_new(struct k_task *t, struct k_super **sb, struct k_inode **root)
{
	struct pfs_sb *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	ps->k = t->k;
	ps->task = t;
	ps->root = &proc_root;
	read_host_cpuinfo(ps);
	if (!ps->ncpu_block || !ps->cpu_block[0]) {
		char **v = ps->ncpu_block ? ps->cpu_block : calloc(1, sizeof(*v));
		if (v) {
			ps->cpu_block = v;
			if (!ps->ncpu_block)
				ps->ncpu_block = 1;
			v[0] = strdup("vendor_id\t: unknown\nmodel name\t: unknown\nflags\t\t:\n");
		}
	}
	make_uuid(ps->boot_id, sizeof(ps->boot_id));
	return pfs_new(ps, "proc", PROC_SUPER_MAGIC, sb, root);
}
