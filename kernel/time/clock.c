/* The guest's clocks.  Wall, monotonic, boot and TAI time are one clock
 * counted in TSC cycles, calibrated against the host's CLOCK_MONOTONIC, plus
 * an offset each; the sentry reads them here and every guest reads the same
 * numbers through the vDSO from the time page (vdso/vvar.h), so a value the
 * guest reads without a trap and a deadline the sentry keeps agree.
 *
 * Calibration: the frequency is the slope between the first sample (at
 * boot) and the latest; each update, the page's clock goes on from where it
 * is (never a jump back) at a rate that closes its distance to the host's
 * clock by the next update, at most 1000 ppm off the measured rate.  The
 * updates come every 10 ms at first, doubling to one a second.
 *
 * Without an invariant TSC that the host itself keeps time with, or before
 * 2 ms have passed to measure it over, the clocks are the host's own and the
 * vDSO makes syscalls. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../sentry.h"
#include "../vdso/vvar.h"

#define NSEC 1000000000LL
#define SHIFT 32
#define MIN_SPAN_NS 2000000LL     /* the shortest first measurement */
#define FIRST_INTERVAL_NS 10000000LL
#define MAX_INTERVAL_NS NSEC
#define MAX_SLEW_PPM 1000
#define STEP_NS 10000000LL        /* behind by more: jump forward */
#define MAX_PAGES 4

enum { TK_OFF, TK_HOST, TK_CALIBRATING, TK_READY };

static struct {
	int state;
	uint64_t c0;        /* the first sample: cycles and host monotonic ns */
	int64_t h0;
	uint64_t base_cycles;
	int64_t base_ns;
	uint64_t mult;      /* ns per cycle << SHIFT */
	int64_t off[HUSK_NOFF];
	int64_t interval;   /* until the next update */
	uint64_t next_cycles;
	int64_t next_ns;
	int64_t res_ns, coarse_res_ns;
	volatile struct husk_vvar *pages[MAX_PAGES];
	int64_t guest; /* the guest's monotonic and boot clocks' offset */
} tk;

static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

static int64_t host_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return k_ns(ts.tv_sec, ts.tv_nsec);
}

/* The TSC counts at one rate in every power state and is what the host
 * keeps its own time with (so it is synchronised across CPUs). */
static bool tsc_usable(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(0x80000007, &a, &b, &c, &d) || !(d & (1u << 8)))
		return false;
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
	if (!f)
		return false;
	char name[32] = "";
	bool tsc = fgets(name, sizeof(name), f) && strcmp(name, "tsc\n") == 0;
	fclose(f);
	return tsc;
}

/* A TSC reading paired with the host's monotonic clock: the pair from the
 * tightest of three tries, the cycles taken at the middle of the read. */
static void sample(uint64_t *cycles, int64_t *mono)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 3; i++) {
		uint64_t c1 = rdtsc_ordered();
		int64_t h = host_ns(CLOCK_MONOTONIC);
		uint64_t c2 = rdtsc_ordered();
		if (c2 - c1 < best) {
			best = c2 - c1;
			*cycles = c1 + (c2 - c1) / 2;
			*mono = h;
		}
	}
}

/* Another host clock's distance from the monotonic one, read between two
 * monotonic reads. */
static int64_t host_offset(clockid_t id)
{
	int64_t m1 = host_ns(CLOCK_MONOTONIC);
	int64_t x = host_ns(id);
	int64_t m2 = host_ns(CLOCK_MONOTONIC);
	return x - (m1 + (m2 - m1) / 2);
}

static int64_t value_at(uint64_t c)
{
	uint64_t d = c > tk.base_cycles ? c - tk.base_cycles : 0;
	return tk.base_ns + (int64_t)(((unsigned __int128)d * tk.mult) >> SHIFT);
}

static void write_page(volatile struct husk_vvar *p)
{
	uint32_t seq = p->seq;
	p->seq = seq + 1;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	p->mode = tk.state == TK_READY ? HUSK_VVAR_TSC : HUSK_VVAR_SYSCALL;
	p->base_cycles = tk.base_cycles;
	p->base_ns = tk.base_ns;
	p->mult = tk.mult;
	p->shift = SHIFT;
	for (int i = 0; i < HUSK_NOFF; i++)
		p->offset[i] = tk.off[i] + (i == HUSK_OFF_MONO || i == HUSK_OFF_BOOT ? tk.guest : 0);
	p->res_ns = tk.res_ns;
	p->coarse_res_ns = tk.coarse_res_ns;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	p->seq = seq + 2;
}

static void publish(void)
{
	for (int i = 0; i < MAX_PAGES; i++)
		if (tk.pages[i])
			write_page(tk.pages[i]);
}

void k_clock_init(void)
{
	if (tk.state != TK_OFF)
		return;
	struct timespec r;
	tk.res_ns = clock_getres(CLOCK_MONOTONIC, &r) == 0 ? k_ns(r.tv_sec, r.tv_nsec) : 1;
	tk.coarse_res_ns = clock_getres(CLOCK_MONOTONIC_COARSE, &r) == 0
				   ? k_ns(r.tv_sec, r.tv_nsec) : tk.res_ns;
	if (!tsc_usable()) {
		tk.state = TK_HOST;
		return;
	}
	sample(&tk.c0, &tk.h0);
	tk.state = TK_CALIBRATING;
}

static void update_offsets(void)
{
	static const clockid_t ids[HUSK_NOFF] = {
		[HUSK_OFF_MONO] = CLOCK_MONOTONIC, [HUSK_OFF_REAL] = CLOCK_REALTIME,
		[HUSK_OFF_BOOT] = CLOCK_BOOTTIME, [HUSK_OFF_TAI] = CLOCK_TAI,
	};
	for (int i = HUSK_OFF_REAL; i < HUSK_NOFF; i++) {
		/* The host's offsets move only when its clock is set; a read's
		 * own jitter must not make the guest's wall clock wobble. */
		int64_t o = host_offset(ids[i]);
		if (llabs(o - tk.off[i]) > 1000)
			tk.off[i] = o;
	}
}

/* The measured rate: cycles to ns from the first sample to (c, h). */
static uint64_t measured_mult(uint64_t c, int64_t h)
{
	return (uint64_t)(((unsigned __int128)(uint64_t)(h - tk.h0) << SHIFT) / (c - tk.c0));
}

int64_t k_clock_update(void)
{
	if (tk.state == TK_OFF || tk.state == TK_HOST)
		return 0;
	if (tk.state == TK_READY && rdtsc_ordered() < tk.next_cycles)
		return tk.next_ns;
	uint64_t c;
	int64_t h;
	sample(&c, &h);
	if (tk.state == TK_CALIBRATING) {
		if (h - tk.h0 < MIN_SPAN_NS || c <= tk.c0)
			return tk.h0 + MIN_SPAN_NS;
		tk.mult = measured_mult(c, h);
		tk.base_cycles = c;
		tk.base_ns = h;
		tk.interval = FIRST_INTERVAL_NS;
		update_offsets();
		tk.state = TK_READY;
	} else {
		int64_t err = value_at(c) - h;
		uint64_t rate = measured_mult(c, h);
		/* The new page starts from the old one's value at the moment
		 * it goes out, not at the sample: a guest thread reading the
		 * old page meanwhile never sees the new one go back. */
		uint64_t cp = rdtsc_ordered();
		int64_t now = value_at(cp);
		if (err < -STEP_NS) {
			/* Far behind (the host slept?): forward at once. */
			now = h + (int64_t)(((unsigned __int128)(cp - c) * rate) >> SHIFT);
			err = 0;
		}
		c = cp;
		/* Close err over the next interval, within MAX_SLEW_PPM. */
		int64_t lim = tk.interval / 1000000 * MAX_SLEW_PPM;
		if (err > lim)
			err = lim;
		if (err < -lim)
			err = -lim;
		tk.mult = (uint64_t)((unsigned __int128)rate * (uint64_t)(tk.interval - err) /
				     (uint64_t)tk.interval);
		tk.base_cycles = c;
		tk.base_ns = now;
		update_offsets();
		tk.interval = tk.interval * 2 < MAX_INTERVAL_NS ? tk.interval * 2 : MAX_INTERVAL_NS;
	}
	uint64_t rate = tk.mult ? tk.mult : 1;
	tk.next_cycles = c + (uint64_t)(((unsigned __int128)(uint64_t)tk.interval << SHIFT) / rate);
	tk.next_ns = tk.base_ns + tk.interval;
	publish();
	return tk.next_ns;
}

static int offset_index(clockid_t id)
{
	switch (id) {
	case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_COARSE:
		return HUSK_OFF_MONO;
	case CLOCK_REALTIME: case CLOCK_REALTIME_COARSE: case CLOCK_REALTIME_ALARM:
		return HUSK_OFF_REAL;
	case CLOCK_BOOTTIME: case CLOCK_BOOTTIME_ALARM:
		return HUSK_OFF_BOOT;
	case CLOCK_TAI:
		return HUSK_OFF_TAI;
	default:
		return -1;
	}
}

int64_t k_clock_ns(clockid_t id)
{
	int i = offset_index(id);
	if (tk.state != TK_READY || i < 0)
		return host_ns(id == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME
			       : id == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME : id);
	return value_at(rdtsc_ordered()) + tk.off[i];
}

void k_clock_ts(clockid_t id, struct timespec *ts)
{
	int64_t ns = k_clock_ns(id);
	ts->tv_sec = ns / NSEC;
	ts->tv_nsec = ns % NSEC;
	if (ts->tv_nsec < 0) {
		ts->tv_sec--;
		ts->tv_nsec += NSEC;
	}
}

bool k_clock_vdso(void)
{
	return tk.state == TK_READY;
}

void k_clock_attach(void *page)
{
	for (int i = 0; i < MAX_PAGES; i++)
		if (!tk.pages[i]) {
			tk.pages[i] = page;
			write_page(tk.pages[i]);
			return;
		}
	/* No room: that page keeps mode 0 and its guests make syscalls. */
}

void k_clock_detach(void *page)
{
	for (int i = 0; i < MAX_PAGES; i++)
		if (tk.pages[i] == page)
			tk.pages[i] = NULL;
}

/* Time namespaces, as Linux's: the guest's monotonic and boot clocks are
 * the sentry's plus an offset (0 in a booted sandbox; a restored one's
 * go on from where its snapshot's were, on this host or another), its
 * wall clock the host's.  The sentry keeps every deadline on its own
 * clocks: guest times are moved at the syscalls that take or give them. */
static bool namespaced(clockid_t id)
{
	switch (id) {
	case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_COARSE: case CLOCK_MONOTONIC_RAW:
	case CLOCK_BOOTTIME: case CLOCK_BOOTTIME_ALARM:
		return true;
	default:
		return false;
	}
}

void k_clock_set_guest_offset(int64_t ns)
{
	tk.guest = ns;
	publish();
}

int64_t k_clock_to_guest(clockid_t id, int64_t ns)
{
	return namespaced(id) ? k_ns_add(ns, tk.guest) : ns;
}

int64_t k_clock_from_guest(clockid_t id, int64_t ns)
{
	return namespaced(id) ? k_ns_add(ns, -tk.guest) : ns;
}

void k_clock_guest_ts(clockid_t id, struct timespec *ts)
{
	int64_t ns = k_clock_to_guest(id, k_clock_ns(id));
	ts->tv_sec = ns / NSEC;
	ts->tv_nsec = ns % NSEC;
	if (ts->tv_nsec < 0) {
		ts->tv_sec--;
		ts->tv_nsec += NSEC;
	}
}

struct timespec k_ts_from_guest(clockid_t id, struct timespec ts)
{
	int64_t ns = k_clock_from_guest(id, k_ns(ts.tv_sec, ts.tv_nsec));
	struct timespec r = {ns / NSEC, ns % NSEC};
	if (r.tv_nsec < 0) {
		r.tv_sec--;
		r.tv_nsec += NSEC;
	}
	return r;
}
