/* threads.c - threads: pthread mutexes (16 threads on one counter,
 * trylock, timedlock), condition variables (broadcast, signal, timedwait),
 * join values, barriers, semaphores, thread-local storage, gettid, the
 * signal mask a thread inherits and signals aimed at one thread; raw
 * futex calls between threads (WAIT value mismatch, timeouts, WAKE counts,
 * CMP_REQUEUE, WAKE_OP, bitsets, errors); a raw clone thread with
 * CLONE_CHILD_SETTID/CLEARTID; and, each in a child process, exit from a
 * thread (exit_group), a fatal signal to one thread, the main thread's
 * pthread_exit, fork from a threaded process, and execve from a thread
 * while the other threads are blocked.
 *
 * Futex waiters are known to be asleep only once FUTEX_CMP_REQUEUE has
 * moved them (it only moves sleeping waiters), so every count printed is
 * deterministic. */
#include "guest.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/wait.h>

#define K_FUTEX_WAIT 0
#define K_FUTEX_WAKE 1
#define K_FUTEX_REQUEUE 3
#define K_FUTEX_CMP_REQUEUE 4
#define K_FUTEX_WAKE_OP 5
#define K_FUTEX_WAIT_BITSET 9
#define K_FUTEX_WAKE_BITSET 10
#define K_FUTEX_PRIVATE 128
#define K_FUTEX_CLOCK_REALTIME 256
#define K_FUTEX_OP(op, oparg, cmp, cmparg) \
	((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))
#define K_FUTEX_OP_SET 0
#define K_FUTEX_OP_ADD 1
#define K_FUTEX_OP_CMP_EQ 0
/* Private op; a count passed in the timeout slot (requeue, wake_op). */
#define PRIV(op) (K_FUTEX_##op | K_FUTEX_PRIVATE)
#define NR(n) ((const struct timespec *)(long)(n))

extern char **environ;

static long futex(volatile int *uaddr, int op, int val, const struct timespec *ts,
		  volatile int *uaddr2, int val3)
{
	return syscall(SYS_futex, uaddr, (long)op, (long)val, ts, uaddr2, (long)val3);
}

static long gettid_(void)
{
	return syscall(SYS_gettid);
}

static const char *pterr(int e)
{
	return e == EDEADLK ? "EDEADLK" : errname(e);
}

static int load(volatile int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void add(volatile int *p, int v)
{
	__atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Spins (yielding) until *p >= want, or gives up after 10 s. */
static int wait_for(volatile int *p, int want)
{
	double end = now_mono() + 10;
	while (load(p) < want) {
		if (now_mono() > end)
			return 0;
		sched_yield();
	}
	return 1;
}

static void mkthread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int e = pthread_create(t, NULL, fn, arg);
	if (e != 0) {
		errno = e;
		die("pthread_create");
	}
}

/* ---- ids and TLS ---------------------------------------------------- */

static __thread int tls_value = 5;
static long main_pid;

static void *ids_thread(void *arg)
{
	long *out = arg;
	out[0] = gettid_();
	out[1] = getpid();
	out[2] = tls_value; /* the initial value, not main's */
	tls_value = 77;
	pthread_t creator;
	memcpy(&creator, &out[5], sizeof creator);
	out[3] = !pthread_equal(pthread_self(), creator);
	return (void *)0x1234;
}

static void ids(void)
{
	main_pid = getpid();
	EXPECT("main: gettid == getpid", gettid_() == getpid());
	tls_value = 9;
	long out[6];
	memset(out, 0, sizeof out);
	pthread_t self = pthread_self();
	memcpy(&out[5], &self, sizeof self);
	pthread_t t;
	mkthread(&t, ids_thread, out);
	void *ret = NULL;
	int e = pthread_join(t, &ret);
	printf("join: %s, value 0x%lx\n", errname(e), (unsigned long)(uintptr_t)ret);
	EXPECT("thread: gettid != getpid", out[0] != out[1]);
	EXPECT("thread: getpid is the process's", out[1] == main_pid);
	EXPECT("thread: gettid differs from main's", out[0] != gettid_());
	printf("thread: TLS started at %ld, main's still %d\n", out[2], tls_value);
	EXPECT("thread: pthread_self differs", out[3] == 1);
}

/* ---- a mutex-protected counter ------------------------------------- */

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *count_thread(void *arg)
{
	long n = (long)(intptr_t)arg;
	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&count_lock);
		counter++;
		pthread_mutex_unlock(&count_lock);
		if (i % 500 == 0)
			sched_yield();
	}
	return (void *)(intptr_t)(n * 3 + 1);
}

static void mutex_counter(void)
{
	pthread_t t[16];
	for (long i = 0; i < 16; i++)
		mkthread(&t[i], count_thread, (void *)(intptr_t)i);
	long sum = 0;
	int bad = 0;
	for (int i = 0; i < 16; i++) {
		void *r;
		if (pthread_join(t[i], &r) != 0)
			bad++;
		sum += (long)(intptr_t)r;
	}
	printf("16 threads x 2000: counter %ld, join values sum %ld, join errors %d\n", counter,
	       sum, bad);
}

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static volatile int holder_ready, holder_release;

static void *holder_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&held);
	add(&holder_ready, 1);
	while (!load(&holder_release))
		futex(&holder_release, PRIV(WAIT), 0, NULL, NULL, 0);
	pthread_mutex_unlock(&held);
	return NULL;
}

static void mutex_errors(void)
{
	pthread_t t;
	mkthread(&t, holder_thread, NULL);
	wait_for(&holder_ready, 1);
	printf("trylock of a held mutex: %s\n", errname(pthread_mutex_trylock(&held)));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	printf("timedlock 20ms of a held mutex: %s\n", errname(pthread_mutex_timedlock(&held, &ts)));
	__atomic_store_n(&holder_release, 1, __ATOMIC_SEQ_CST);
	futex(&holder_release, PRIV(WAKE), 1, NULL, NULL, 0);
	pthread_join(t, NULL);
	printf("lock after the holder left: %s\n", errname(pthread_mutex_lock(&held)));
	pthread_mutex_unlock(&held);

	pthread_mutex_t ec;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&ec, &a);
	pthread_mutex_lock(&ec);
	printf("errorcheck relock: %s\n", pterr(pthread_mutex_lock(&ec)));
	pthread_mutex_unlock(&ec);
	printf("errorcheck unlock unlocked: %s\n", errname(pthread_mutex_unlock(&ec)));
}

/* ---- condition variables ------------------------------------------- */

static pthread_mutex_t cv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t cv_back = PTHREAD_COND_INITIALIZER;
static int cv_waiting, cv_generation, cv_woken, cv_tokens, cv_consumed;

static void *bcast_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cv_lock);
	int gen = cv_generation;
	cv_waiting++;
	pthread_cond_signal(&cv_back);
	while (cv_generation == gen)
		pthread_cond_wait(&cv, &cv_lock);
	cv_woken++;
	pthread_mutex_unlock(&cv_lock);
	return NULL;
}

static void *token_thread(void *arg)
{
	(void)arg;
	int mine = 0;
	pthread_mutex_lock(&cv_lock);
	cv_waiting++;
	pthread_cond_signal(&cv_back);
	for (;;) {
		while (cv_tokens == 0)
			pthread_cond_wait(&cv, &cv_lock);
		if (cv_tokens < 0) /* the end */
			break;
		cv_tokens--;
		cv_consumed++;
		mine++;
		pthread_cond_signal(&cv_back);
	}
	pthread_mutex_unlock(&cv_lock);
	return (void *)(intptr_t)mine;
}

static void condvars(void)
{
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		mkthread(&t[i], bcast_thread, NULL);
	pthread_mutex_lock(&cv_lock);
	while (cv_waiting < 8)
		pthread_cond_wait(&cv_back, &cv_lock);
	/* All 8 hold no lock now: they are in pthread_cond_wait. */
	cv_generation++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&cv_lock);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	printf("broadcast woke %d of 8\n", cv_woken);

	/* pthread_cond_signal: 100 tokens handed out one at a time. */
	cv_waiting = 0;
	for (int i = 0; i < 4; i++)
		mkthread(&t[i], token_thread, NULL);
	pthread_mutex_lock(&cv_lock);
	while (cv_waiting < 4)
		pthread_cond_wait(&cv_back, &cv_lock);
	for (int i = 0; i < 100; i++) {
		cv_tokens++;
		pthread_cond_signal(&cv);
		while (cv_tokens > 0)
			pthread_cond_wait(&cv_back, &cv_lock);
	}
	cv_tokens = -1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&cv_lock);
	long total = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (long)(intptr_t)r;
	}
	printf("signal: consumed %d, per-thread sum %ld\n", cv_consumed, total);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 10000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&cv_lock);
	int e = pthread_cond_timedwait(&cv, &cv_lock, &ts);
	pthread_mutex_unlock(&cv_lock);
	printf("cond_timedwait 10ms: %s\n", errname(e));
}

/* ---- barriers and semaphores ---------------------------------------- */

static pthread_barrier_t bar;
static volatile int serial_count[3];
static volatile int phase_sum[3];

static void *barrier_thread(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int round = 0; round < 3; round++) {
		add(&phase_sum[round], id);
		int r = pthread_barrier_wait(&bar);
		if (r == PTHREAD_BARRIER_SERIAL_THREAD)
			add(&serial_count[round], 1);
		else if (r != 0)
			add(&serial_count[round], 100);
		/* Everyone has added for this round by now. */
		if (load(&phase_sum[round]) != 28)
			add(&serial_count[round], 1000);
	}
	return NULL;
}

static sem_t sem_items, sem_done;
static volatile int sem_sum;

static void *sem_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 25; i++) {
		sem_wait(&sem_items);
		add(&sem_sum, 1);
		sem_post(&sem_done);
	}
	return NULL;
}

static void barriers(void)
{
	pthread_barrier_init(&bar, NULL, 8);
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		mkthread(&t[i], barrier_thread, (void *)(intptr_t)i);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	printf("barrier x3 rounds of 8: serial threads %d %d %d\n", serial_count[0],
	       serial_count[1], serial_count[2]);

	sem_init(&sem_items, 0, 0);
	sem_init(&sem_done, 0, 0);
	for (int i = 0; i < 4; i++)
		mkthread(&t[i], sem_thread, NULL);
	for (int i = 0; i < 100; i++)
		sem_post(&sem_items);
	for (int i = 0; i < 100; i++)
		sem_wait(&sem_done);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	int v = -1;
	sem_getvalue(&sem_items, &v);
	printf("semaphores: 100 posted, %d taken, %d left, trywait %s\n", sem_sum, v,
	       sem_trywait(&sem_items) == 0 ? "ok" : errname(errno));
}

/* ---- raw futexes ----------------------------------------------------- */

struct waiter {
	volatile int *word;
	int op;
	int val;
	int bitset;
	volatile int *announced;
	long ret;
	int err;
};

static void *waiter_thread(void *arg)
{
	struct waiter *w = arg;
	add(w->announced, 1);
	errno = 0;
	w->ret = futex(w->word, w->op, w->val, NULL, NULL, w->bitset);
	w->err = errno;
	return NULL;
}

static void start_waiters(pthread_t *t, struct waiter *w, int n, volatile int *word,
			  volatile int *announced, int bitset)
{
	for (int i = 0; i < n; i++) {
		w[i].word = word;
		w[i].op = (bitset ? K_FUTEX_WAIT_BITSET : K_FUTEX_WAIT) | K_FUTEX_PRIVATE;
		w[i].val = *word;
		w[i].bitset = bitset;
		w[i].announced = announced;
		w[i].ret = -2;
		mkthread(&t[i], waiter_thread, &w[i]);
	}
	wait_for(announced, n);
}

/* Moves n waiters, once all are asleep, from word to hold; returns how
 * many moved (n unless it gave up after 10 s). */
static int park(volatile int *word, volatile int *hold, int n)
{
	int moved = 0;
	double end = now_mono() + 10;
	while (moved < n && now_mono() < end) {
		long r = futex(word, PRIV(CMP_REQUEUE), 0,
			       NR(INT_MAX), hold, *word);
		if (r < 0)
			return -1;
		moved += (int)r;
		if (moved < n)
			sched_yield();
	}
	return moved;
}

static void join_waiters(pthread_t *t, struct waiter *w, int n, const char *label)
{
	int ok = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		if (w[i].ret == 0)
			ok++;
	}
	printf("%s: %d of %d waiters returned 0\n", label, ok, n);
}

static void raw_futex(void)
{
	volatile int word = 0, hold = 0, other = 0;
	struct timespec ten_ms = {0, 10000000};

	CHECK("FUTEX_WAIT value mismatch", futex(&word, PRIV(WAIT), 1, NULL, NULL, 0));
	CHECK("FUTEX_WAIT shared value mismatch", futex(&word, K_FUTEX_WAIT, 1, NULL, NULL, 0));
	CHECK("FUTEX_WAIT 10ms", futex(&word, PRIV(WAIT), 0, &ten_ms, NULL, 0));
	CHECK("FUTEX_WAIT shared 10ms", futex(&word, K_FUTEX_WAIT, 0, &ten_ms, NULL, 0));
	struct timespec abs;
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 10000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	CHECK("FUTEX_WAIT_BITSET absolute monotonic +10ms",
	      futex(&word, PRIV(WAIT_BITSET), 0, &abs, NULL, -1));
	clock_gettime(CLOCK_REALTIME, &abs);
	abs.tv_sec -= 1;
	CHECK("FUTEX_WAIT_BITSET absolute realtime in the past",
	      futex(&word, PRIV(WAIT_BITSET) | K_FUTEX_CLOCK_REALTIME, 0, &abs,
		    NULL, -1));
	struct timespec bad_ts = {0, 1000000000};
	CHECK("FUTEX_WAIT nsec 1e9", futex(&word, PRIV(WAIT), 0, &bad_ts, NULL, 0));
	bad_ts.tv_sec = -1;
	bad_ts.tv_nsec = 0;
	CHECK("FUTEX_WAIT negative timeout",
	      futex(&word, PRIV(WAIT), 0, &bad_ts, NULL, 0));
	CHECK("FUTEX_WAIT unaligned",
	      futex((volatile int *)((char *)&word + 1), PRIV(WAIT), 0, NULL, NULL, 0));
	CHECK("FUTEX_WAIT bad address", futex((volatile int *)BAD_LOW, PRIV(WAIT), 0,
					    NULL, NULL, 0));
	CHECK("FUTEX_WAIT_BITSET bitset 0",
	      futex(&word, PRIV(WAIT_BITSET), 0, NULL, NULL, 0));
	CHECK("FUTEX_WAKE_BITSET bitset 0",
	      futex(&word, PRIV(WAKE_BITSET), 1, NULL, NULL, 0));
	CHECK("futex op 99", futex(&word, 99, 0, NULL, NULL, 0));
	CHECK("FUTEX_WAKE nobody", futex(&word, PRIV(WAKE), INT_MAX, NULL, NULL, 0));
	CHECK("FUTEX_CMP_REQUEUE mismatch",
	      futex(&word, PRIV(CMP_REQUEUE), 1, NR(1), &hold, 5));
	CHECK("FUTEX_CMP_REQUEUE negative count",
	      futex(&word, PRIV(CMP_REQUEUE), 1, NR(-1), &hold, 0));

	/* FUTEX_WAKE counts. */
	pthread_t t[6];
	struct waiter w[6];
	volatile int announced = 0;
	start_waiters(t, w, 5, &word, &announced, 0);
	printf("5 waiters asleep (parked): %d\n", park(&word, &hold, 5));
	CHECK("FUTEX_WAKE the emptied word", futex(&word, PRIV(WAKE), INT_MAX, NULL, NULL, 0));
	CHECK("FUTEX_WAKE 2 of 5", futex(&hold, PRIV(WAKE), 2, NULL, NULL, 0));
	CHECK("FUTEX_WAKE 1 of 3", futex(&hold, PRIV(WAKE), 1, NULL, NULL, 0));
	CHECK("FUTEX_WAKE 10 of 2", futex(&hold, PRIV(WAKE), 10, NULL, NULL, 0));
	CHECK("FUTEX_WAKE none left", futex(&hold, PRIV(WAKE), 10, NULL, NULL, 0));
	join_waiters(t, w, 5, "FUTEX_WAKE");

	/* FUTEX_CMP_REQUEUE: wake 1, move 2, leave 1. */
	announced = 0;
	word = 7;
	start_waiters(t, w, 4, &word, &announced, 0);
	printf("4 waiters asleep (parked): %d\n", park(&word, &hold, 4));
	hold = 3;
	CHECK("FUTEX_CMP_REQUEUE wake 1 move 2",
	      futex(&hold, PRIV(CMP_REQUEUE), 1, NR(2), &other, 3));
	CHECK("FUTEX_REQUEUE wake 0 move 5 (only 2 left)",
	      futex(&other, PRIV(REQUEUE), 0, NR(5), &word, 0));
	CHECK("FUTEX_WAKE the rest on hold", futex(&hold, PRIV(WAKE), INT_MAX, NULL, NULL, 0));
	CHECK("FUTEX_WAKE the moved ones", futex(&word, PRIV(WAKE), INT_MAX, NULL, NULL, 0));
	join_waiters(t, w, 4, "FUTEX_CMP_REQUEUE");

	/* FUTEX_WAKE_OP: two waiters on each word. */
	volatile int w1 = 0, w2 = 0, h1 = 0, h2 = 0, ann1 = 0, ann2 = 0;
	start_waiters(t, w, 2, &w1, &ann1, 0);
	start_waiters(t + 2, w + 2, 2, &w2, &ann2, 0);
	int a = park(&w1, &h1, 2), b = park(&w2, &h2, 2);
	/* Put them back where they were. */
	long ra = futex(&h1, PRIV(CMP_REQUEUE), 0, NR(INT_MAX), &w1, h1);
	long rb = futex(&h2, PRIV(CMP_REQUEUE), 0, NR(INT_MAX), &w2, h2);
	printf("WAKE_OP setup: parked %d+%d, moved back %ld+%ld\n", a, b, ra, rb);
	CHECK("FUTEX_WAKE_OP set 5, old == 0: wakes 1+1",
	      futex(&w1, PRIV(WAKE_OP), 1, NR(1), &w2,
		    K_FUTEX_OP(K_FUTEX_OP_SET, 5, K_FUTEX_OP_CMP_EQ, 0)));
	printf("  second word now %d\n", w2);
	CHECK("FUTEX_WAKE_OP add 1, old == 0 false: wakes 1+0",
	      futex(&w1, PRIV(WAKE_OP), 1, NR(1), &w2,
		    K_FUTEX_OP(K_FUTEX_OP_ADD, 1, K_FUTEX_OP_CMP_EQ, 0)));
	printf("  second word now %d\n", w2);
	CHECK("FUTEX_WAKE the last on the second word", futex(&w2, PRIV(WAKE), INT_MAX, NULL, NULL, 0));
	join_waiters(t, w, 4, "FUTEX_WAKE_OP");

	/* Bitsets: only matching waiters wake. */
	volatile int bw = 0, bh = 0, bann = 0;
	start_waiters(t, w, 1, &bw, &bann, 1);
	start_waiters(t + 1, w + 1, 1, &bw, &bann, 2);
	a = park(&bw, &bh, 2);
	ra = futex(&bh, PRIV(CMP_REQUEUE), 0, NR(INT_MAX), &bw, bh);
	printf("bitset setup: parked %d, moved back %ld\n", a, ra);
	CHECK("FUTEX_WAKE_BITSET 4 (nobody)", futex(&bw, PRIV(WAKE_BITSET), INT_MAX, NULL, NULL, 4));
	CHECK("FUTEX_WAKE_BITSET 2", futex(&bw, PRIV(WAKE_BITSET), INT_MAX, NULL, NULL, 2));
	pthread_join(t[1], NULL);
	printf("  the bitset-2 waiter returned %ld\n", w[1].ret);
	CHECK("FUTEX_WAKE (all bits)", futex(&bw, PRIV(WAKE), INT_MAX, NULL, NULL, 0));
	pthread_join(t[0], NULL);
	printf("  the bitset-1 waiter returned %ld\n", w[0].ret);
}

/* ---- a raw clone thread ---------------------------------------------- */

static long raw_sys(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

static volatile int rc_started, rc_release, rc_seen_ctid;
static volatile pid_t rc_ptid, rc_ctid;

/* Runs on its own stack with the main thread's TLS: raw syscalls only. */
static void raw_thread_fn(void)
{
	rc_seen_ctid = rc_ctid == (pid_t)raw_sys(SYS_gettid, 0, 0, 0);
	__atomic_store_n(&rc_started, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&rc_release, __ATOMIC_SEQ_CST))
		raw_sys(SYS_futex, (long)&rc_release, PRIV(WAIT), 0);
}

static long clone_thread(unsigned long flags, void *stack_top, volatile pid_t *ptid,
			 volatile pid_t *ctid, void (*fn)(void))
{
	long ret;
	register long r10 __asm__("r10") = (long)ctid;
	register long r8 __asm__("r8") = 0;
	register long r9 __asm__("r9") = (long)fn;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "call *%%r9\n\t"
			 "mov $60, %%eax\n\t" /* SYS_exit: this thread only */
			 "xor %%edi, %%edi\n\t"
			 "syscall\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(ret)
			 : "a"((long)SYS_clone), "D"(flags), "S"(stack_top), "d"(ptid), "r"(r10),
			   "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static void raw_thread(void)
{
	unsigned char *stack = map_pages(16, PROT_READ | PROT_WRITE);
	unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			      CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID |
			      CLONE_CHILD_CLEARTID;
	long tid = clone_thread(flags, stack + 16 * PAGE, &rc_ptid, &rc_ctid, raw_thread_fn);
	if (tid < 0) {
		printf("raw clone thread: errno %s\n", errname((int)-tid));
		return;
	}
	wait_for(&rc_started, 1);
	printf("raw thread: parent tid word %s, child tid word %s, thread saw it %s\n",
	       rc_ptid == tid ? "yes" : "no", rc_ctid == tid ? "yes" : "no",
	       rc_seen_ctid ? "yes" : "no");
	CHECK("tgkill(thread, 0)", syscall(SYS_tgkill, (long)getpid(), tid, 0L));
	__atomic_store_n(&rc_release, 1, __ATOMIC_SEQ_CST);
	futex(&rc_release, PRIV(WAKE), 1, NULL, NULL, 0);
	/* CLONE_CHILD_CLEARTID: the kernel zeroes the word and wakes us. */
	pid_t v;
	while ((v = rc_ctid) != 0)
		futex((volatile int *)&rc_ctid, K_FUTEX_WAIT, v, NULL, NULL, 0);
	printf("raw thread exit cleared the tid word: yes\n");
	/* The thread is gone (a zombie thread is reaped at once). */
	long r;
	int tries = 0;
	while ((r = syscall(SYS_tgkill, (long)getpid(), tid, 0L)) == 0 && tries++ < 1000)
		sched_yield();
	printf("tgkill(gone thread, 0): %s\n", r == -1 ? errname(errno) : "ok");
	munmap(stack, 16 * PAGE);
}

/* ---- signals and threads --------------------------------------------- */

static volatile long handler_tid;
static volatile int sig_ready, sig_got;

static void on_sig(int sig)
{
	(void)sig;
	handler_tid = gettid_();
	sig_got = 1;
}

static void *sig_thread(void *arg)
{
	long *out = arg;
	out[0] = gettid_();
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	out[1] = sigismember(&cur, SIGUSR2); /* inherited from the creator */
	out[2] = sigismember(&cur, SIGUSR1);
	sigset_t block, empty;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);
	add(&sig_ready, 1);
	while (!sig_got)
		sigsuspend(&empty);
	return NULL;
}

static void thread_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sig;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	pthread_sigmask(SIG_SETMASK, &m, NULL);

	long out[3] = {0, 0, 0};
	pthread_t t;
	mkthread(&t, sig_thread, out);
	wait_for(&sig_ready, 1);
	printf("thread inherited mask: SIGUSR2 %ld, SIGUSR1 %ld\n", out[1], out[2]);
	/* Thread-directed: runs in that thread even though it blocks it
	 * outside sigsuspend. */
	printf("pthread_kill: %s\n", errname(pthread_kill(t, SIGUSR1)));
	pthread_join(t, NULL);
	EXPECT("handler ran in the target thread", handler_tid == out[0]);

	/* Process-directed with main blocking it: the other thread takes it. */
	sig_got = 0;
	sig_ready = 0;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	pthread_sigmask(SIG_SETMASK, &m, NULL); /* the thread inherits SIGUSR1 blocked */
	mkthread(&t, sig_thread, out);
	wait_for(&sig_ready, 1);
	CHECK("kill(getpid(), SIGUSR1)", kill(getpid(), SIGUSR1));
	pthread_join(t, NULL);
	EXPECT("process signal went to the thread that allows it", handler_tid == out[0]);
	sigset_t pend;
	sigpending(&pend);
	EXPECT("nothing left pending for main", !sigismember(&pend, SIGUSR1));
	sigemptyset(&m);
	pthread_sigmask(SIG_SETMASK, &m, NULL);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
}

/* ---- child processes: exit, fatal signals, fork, exec ----------------- */

static volatile int blocked_count, never;

static void *blocker(void *arg)
{
	(void)arg;
	add(&blocked_count, 1);
	for (;;)
		futex(&never, PRIV(WAIT), 0, NULL, NULL, 0);
	return NULL;
}

static void start_blockers(int n)
{
	pthread_t t;
	for (int i = 0; i < n; i++)
		mkthread(&t, blocker, NULL);
	wait_for(&blocked_count, n);
}

static int task_count(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int status_threads(void)
{
	char buf[4096];
	if (get_file("/proc/self/status", buf, sizeof buf) < 0)
		return -1;
	char *p = strstr(buf, "\nThreads:");
	return p ? atoi(p + 9) : -2;
}

static void *exiter(void *arg)
{
	exit((int)(intptr_t)arg);
}

static void *killer_target(void *arg)
{
	(void)arg;
	add(&blocked_count, 1);
	for (;;)
		pause();
	return NULL;
}

static int pipefd[2];

static void *late_thread(void *arg)
{
	(void)arg;
	char c;
	ssize_t n = read(40, &c, 1);
	printf("  late thread: read %zd, pid same %s\n", n, getpid() == main_pid ? "yes" : "no");
	return NULL;
}

static char exec_arg[32];

static void *execer(void *arg)
{
	char **argv0 = arg;
	char *args[] = {argv0[0], "after-exec", exec_arg, NULL};
	execve("/proc/self/exe", args, environ);
	printf("execve from a thread failed: %s\n", errname(errno));
	_exit(98);
}

static int after_exec(int argc, char **argv)
{
	printf("after exec from a thread: pid kept %s, gettid == getpid %s, threads %d, "
	       "task entries %d\n",
	       argc > 2 && atol(argv[2]) == (long)getpid() ? "yes" : "no",
	       gettid_() == getpid() ? "yes" : "no", status_threads(), task_count());
	/* A new thread works in the new image. */
	long out[6];
	memset(out, 0, sizeof out);
	pthread_t self = pthread_self();
	memcpy(&out[5], &self, sizeof self);
	pthread_t t;
	mkthread(&t, ids_thread, out);
	void *r;
	pthread_join(t, &r);
	printf("after exec: a new thread ran: %s\n", r == (void *)0x1234 ? "yes" : "no");
	return 21;
}

static void show_child(const char *label, pid_t c)
{
	int st = 0;
	if (waitpid(c, &st, 0) != c)
		printf("%s: waitpid %s\n", label, errname(errno));
	else if (WIFEXITED(st))
		printf("%s: exited %d\n", label, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by signal %d\n", label, WTERMSIG(st));
	else
		printf("%s: status 0x%x\n", label, st);
}

static void children(char **argv)
{
	/* exit() from a thread ends every thread, main blocked in join. */
	pid_t c = fork();
	if (c == 0) {
		start_blockers(3);
		pthread_t t;
		mkthread(&t, exiter, (void *)7);
		pthread_join(t, NULL);
		_exit(50);
	}
	show_child("exit(7) from a thread", c);

	/* A fatal signal aimed at one thread kills the process. */
	c = fork();
	if (c == 0) {
		start_blockers(2);
		pthread_t t;
		mkthread(&t, killer_target, NULL);
		wait_for(&blocked_count, 3);
		pthread_kill(t, SIGTERM);
		pthread_join(t, NULL);
		_exit(51);
	}
	show_child("pthread_kill(thread, SIGTERM)", c);

	/* main returns while other threads block: exit_group from main. */
	c = fork();
	if (c == 0) {
		start_blockers(4);
		exit(8);
	}
	show_child("exit(8) from main with 4 blocked threads", c);

	/* The main thread's pthread_exit: the process lives on.  In a fresh
	 * image: after fork, musl's main thread has no clear_child_tid (the
	 * kernel does not inherit it) and its thread list lock would stay
	 * held when the main thread leaves. */
	if (pipe(pipefd) != 0 || dup2(pipefd[0], 40) != 40)
		die("pipe");
	close(pipefd[0]);
	c = fork();
	if (c == 0) {
		char *args[] = {argv[0], "main-exits", NULL};
		close(pipefd[1]);
		execve("/proc/self/exe", args, environ);
		_exit(97);
	}
	close(40);
	write(pipefd[1], "x", 1);
	show_child("main pthread_exit, last thread returns", c);
	close(pipefd[1]);

	/* fork from a threaded process: only the caller is in the child. */
	blocked_count = 0;
	c = fork();
	if (c == 0) {
		start_blockers(3);
		int before = status_threads();
		int tasks = task_count();
		pid_t g = fork();
		if (g == 0) {
			printf("  forked from a thread group of %d (tasks %d): child has %d (tasks %d)\n",
			       before, tasks, status_threads(), task_count());
			_exit(3);
		}
		int st;
		waitpid(g, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 99);
	}
	show_child("fork from a threaded process", c);

	/* execve from a thread while the others are blocked. */
	c = fork();
	if (c == 0) {
		blocked_count = 0;
		start_blockers(3);
		snprintf(exec_arg, sizeof exec_arg, "%ld", (long)getpid());
		pthread_t t;
		mkthread(&t, execer, argv);
		pthread_join(t, NULL);
		_exit(52);
	}
	show_child("execve from a thread", c);
}

int main(int argc, char **argv)
{
	GUEST_INIT();
	if (argc > 1 && strcmp(argv[1], "after-exec") == 0)
		return after_exec(argc, argv);
	if (argc > 1 && strcmp(argv[1], "main-exits") == 0) {
		main_pid = getpid();
		pthread_t t;
		mkthread(&t, late_thread, NULL);
		pthread_exit(NULL);
	}
	sigset_t empty;
	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);

	ids();
	mutex_counter();
	mutex_errors();
	condvars();
	barriers();
	raw_futex();
	raw_thread();
	thread_signals();
	children(argv);
	printf("done\n");
	return 0;
}
