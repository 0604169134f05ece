/* --strace: one line per guest syscall, with decoded arguments and result,
 * in strace's notation. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sentry.h"

#define MAX_STR 32
#define LINE 1024

struct line {
	char buf[LINE];
	size_t n;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct line *l, const char *fmt, ...)
{
	if (l->n >= LINE - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(l->buf + l->n, LINE - l->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		l->n = l->n + (size_t)r < LINE - 1 ? l->n + (size_t)r : LINE - 1;
}

static void put_bytes(struct line *l, const unsigned char *p, size_t n, bool more)
{
	put(l, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		switch (c) {
		case '\n': put(l, "\\n"); break;
		case '\t': put(l, "\\t"); break;
		case '\r': put(l, "\\r"); break;
		case '"': put(l, "\\\""); break;
		case '\\': put(l, "\\\\"); break;
		default:
			if (c >= 32 && c < 127)
				put(l, "%c", c);
			else
				put(l, "\\%o", c);
		}
	}
	put(l, more ? "\"..." : "\"");
}

/* A guest buffer: as much of it as is readable, up to MAX_STR bytes. */
static void put_buf(struct line *l, struct k_task *t, uint64_t addr, uint64_t len)
{
	unsigned char tmp[MAX_STR];
	size_t n = len < MAX_STR ? len : MAX_STR;
	if (k_copy_in(t, tmp, addr, n) != 0) {
		put(l, "%#lx", addr);
		return;
	}
	put_bytes(l, tmp, n, len > n);
}

static void put_str(struct line *l, struct k_task *t, uint64_t addr)
{
	char tmp[MAX_STR + 1];
	long n = k_copy_string(t, tmp, addr, sizeof(tmp));
	if (n == -EFAULT) {
		put(l, "%#lx", addr);
		return;
	}
	bool more = n < 0;
	put_bytes(l, (unsigned char *)tmp, more ? MAX_STR : (size_t)n, more);
}

struct flag {
	uint64_t bit;
	const char *name;
};

static void put_flags(struct line *l, uint64_t v, const struct flag *f, size_t nf,
		      const char *zero)
{
	if (v == 0) {
		put(l, "%s", zero);
		return;
	}
	bool first = true;
	for (size_t i = 0; i < nf; i++) {
		if (f[i].bit && (v & f[i].bit) == f[i].bit) {
			put(l, "%s%s", first ? "" : "|", f[i].name);
			v &= ~f[i].bit;
			first = false;
		}
	}
	if (v)
		put(l, "%s%#lx", first ? "" : "|", v);
}

#define FLAG(x) {x, #x}
static const struct flag prot_flags[] = {
	FLAG(PROT_READ), FLAG(PROT_WRITE), FLAG(PROT_EXEC), FLAG(PROT_GROWSDOWN), FLAG(PROT_GROWSUP),
};
static const struct flag map_flags[] = {
	FLAG(MAP_SHARED_VALIDATE), FLAG(MAP_SHARED), FLAG(MAP_PRIVATE), FLAG(MAP_FIXED_NOREPLACE),
	FLAG(MAP_FIXED), FLAG(MAP_ANONYMOUS), FLAG(MAP_32BIT), FLAG(MAP_GROWSDOWN),
	FLAG(MAP_DENYWRITE), FLAG(MAP_EXECUTABLE), FLAG(MAP_LOCKED), FLAG(MAP_NORESERVE),
	FLAG(MAP_POPULATE), FLAG(MAP_NONBLOCK), FLAG(MAP_STACK), FLAG(MAP_HUGETLB),
};

static const char *clock_name(int64_t c)
{
	static const char *names[] = {"CLOCK_REALTIME", "CLOCK_MONOTONIC",
		"CLOCK_PROCESS_CPUTIME_ID", "CLOCK_THREAD_CPUTIME_ID", "CLOCK_MONOTONIC_RAW",
		"CLOCK_REALTIME_COARSE", "CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME",
		"CLOCK_REALTIME_ALARM", "CLOCK_BOOTTIME_ALARM", NULL, "CLOCK_TAI"};
	return c >= 0 && (size_t)c < ARRAY_LEN(names) ? names[c] : NULL;
}

static const char *rlimit_name(uint64_t r)
{
	static const char *names[] = {"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA",
		"RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE",
		"RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
		"RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
	return r < ARRAY_LEN(names) ? names[r] : NULL;
}

static const char *arch_prctl_name(uint64_t c)
{
	switch (c) {
	case ARCH_SET_FS: return "ARCH_SET_FS";
	case ARCH_GET_FS: return "ARCH_GET_FS";
	case ARCH_SET_GS: return "ARCH_SET_GS";
	case ARCH_GET_GS: return "ARCH_GET_GS";
	default: return NULL;
	}
}

static void put_iov(struct line *l, struct k_task *t, uint64_t addr, uint64_t cnt, long limit)
{
	struct iovec v[4];
	size_t n = cnt < 4 ? cnt : 4;
	if (cnt > 1024 || k_copy_in(t, v, addr, n * sizeof(v[0])) != 0) {
		put(l, "%#lx", addr);
		return;
	}
	put(l, "[");
	for (size_t i = 0; i < n; i++) {
		uint64_t len = v[i].iov_len;
		if (limit >= 0 && (uint64_t)limit < len)
			len = (uint64_t)limit;
		put(l, "%s{iov_base=", i ? ", " : "");
		if (limit == 0)
			put(l, "%p", v[i].iov_base);
		else
			put_buf(l, t, (uint64_t)v[i].iov_base, len);
		put(l, ", iov_len=%zu}", v[i].iov_len);
		if (limit >= 0)
			limit -= (long)len;
	}
	put(l, cnt > n ? ", ...]" : "]");
}

static void put_arg(struct line *l, struct k_task *t, char kind, const uint64_t *a, int i,
		    long ret)
{
	uint64_t v = a[i];
	const char *name;
	switch (kind) {
	case 'd': put(l, "%d", (int)v); break;
	case 'u': put(l, "%lu", v); break;
	case 'o': put(l, "%#lo", v); break;
	case 'f':
		if ((int)v == -100)
			put(l, "AT_FDCWD");
		else
			put(l, "%d", (int)v);
		break;
	case 'p': v ? put(l, "%#lx", v) : put(l, "NULL"); break;
	case 's': put_str(l, t, v); break;
	case 'b': put_buf(l, t, v, a[i + 1]); break;
	case 'B': ret >= 0 ? put_buf(l, t, v, (uint64_t)ret) : put(l, "%#lx", v); break;
	case 'v': put_iov(l, t, v, a[i + 1], -1); break;
	case 'V': put_iov(l, t, v, a[i + 1], ret > 0 ? ret : 0); break;
	case 'P': put_flags(l, v, prot_flags, ARRAY_LEN(prot_flags), "PROT_NONE"); break;
	case 'M': put_flags(l, v, map_flags, ARRAY_LEN(map_flags), "0"); break;
	case 'c':
		(name = clock_name((int)v)) ? put(l, "%s", name) : put(l, "%d", (int)v);
		break;
	case 'R':
		(name = rlimit_name(v)) ? put(l, "%s", name) : put(l, "%#lx", v);
		break;
	case 'A':
		(name = arch_prctl_name(v)) ? put(l, "%s", name) : put(l, "%#lx", v);
		break;
	case 'S':
		if (v >= 1 && v < 32 && sigabbrev_np((int)v))
			put(l, "SIG%s", sigabbrev_np((int)v));
		else
			put(l, "%d", (int)v);
		break;
	case 't': {
		struct timespec ts;
		if (v && k_copy_in(t, &ts, v, sizeof(ts)) == 0)
			put(l, "{tv_sec=%ld, tv_nsec=%ld}", ts.tv_sec, ts.tv_nsec);
		else
			v ? put(l, "%#lx", v) : put(l, "NULL");
		break;
	}
	default: put(l, "%#lx", v); break;
	}
}

static void put_ret(struct line *l, const struct k_syscall *sc, long ret)
{
	static const struct { long code; const char *name, *text; } restart[] = {
		{512, "ERESTARTSYS", "To be restarted if SA_RESTART is set"},
		{513, "ERESTARTNOINTR", "To be restarted"},
		{514, "ERESTARTNOHAND", "To be restarted if no handler"},
		{516, "ERESTART_RESTARTBLOCK", "Interrupted by signal"},
	};
	for (size_t i = 0; i < ARRAY_LEN(restart); i++)
		if (-ret == restart[i].code) {
			put(l, " = ? %s (%s)", restart[i].name, restart[i].text);
			return;
		}
	if (ret < 0 && ret > -4096) {
		const char *name = strerrorname_np((int)-ret);
		put(l, " = -1 %s (%s)", name ? name : "E?", strerror((int)-ret));
	} else if (sc && sc->ret == 'x') {
		put(l, " = %#lx", (uint64_t)ret);
	} else {
		put(l, " = %ld", ret);
	}
}

static const char *const syscall_names[] = {
#include "syscall_names.h"
};

const char *k_syscall_name(long nr)
{
	if (nr < 0 || (size_t)nr >= ARRAY_LEN(syscall_names))
		return NULL;
	return syscall_names[nr];
}

static void emit(struct k_task *t, struct line *l)
{
	put(l, "\n");
	ssize_t r = write(t->k->cfg.strace_fd, l->buf, l->n);
	(void)r;
}

static void format(struct k_task *t, const struct k_syscall *sc, struct line *l, long ret)
{
	const uint64_t a[6] = {t->regs.rdi, t->regs.rsi, t->regs.rdx,
			       t->regs.r10, t->regs.r8, t->regs.r9};
	put(l, "[pid %d] %s(", t->tid, sc->name);
	for (int i = 0; sc->args[i] && i < 6; i++) {
		if (i)
			put(l, ", ");
		put_arg(l, t, sc->args[i], a, i, ret);
	}
	put(l, ")");
}

void strace_enter(struct k_task *t, long nr, const struct k_syscall *sc)
{
	/* Calls that never return, or return into another program, are
	 * printed before they run. */
	if (nr != SYS_exit && nr != SYS_exit_group && nr != SYS_execve && nr != SYS_execveat)
		return;
	struct line l = {.n = 0};
	format(t, sc, &l, 0);
	put(&l, " = ?");
	emit(t, &l);
}

void strace_exit(struct k_task *t, long nr, const struct k_syscall *sc, long ret)
{
	if (nr == SYS_exit || nr == SYS_exit_group)
		return;
	if (nr == SYS_execve || nr == SYS_execveat) {
		struct line l = {.n = 0};
		put(&l, "[pid %d] %s", t->tid, sc->name);
		put_ret(&l, sc, ret);
		emit(t, &l);
		return;
	}
	struct line l = {.n = 0};
	format(t, sc, &l, ret);
	put_ret(&l, sc, ret);
	emit(t, &l);
}

void strace_unknown(struct k_task *t, long nr)
{
	struct line l = {.n = 0};
	const char *name = k_syscall_name(nr);
	if (name)
		put(&l, "[pid %d] %s(", t->tid, name);
	else
		put(&l, "[pid %d] syscall_%ld(", t->tid, nr);
	put(&l, "%#llx, %#llx, %#llx, %#llx, %#llx, %#llx)", t->regs.rdi, t->regs.rsi,
	    t->regs.rdx, t->regs.r10, t->regs.r8, t->regs.r9);
	put_ret(&l, NULL, -ENOSYS);
	emit(t, &l);
}
