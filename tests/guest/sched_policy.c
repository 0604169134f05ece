/* Scheduler policy and priority: sched_get_priority_max/min,
 * sched_getscheduler/getparam/setscheduler/setparam, sched_rr_get_interval,
 * getpriority/setpriority, with Linux's argument checks.  Real-time
 * policies are left alone: natively they would change the test's host
 * scheduling. */
#include "guest.h"

#include <sched.h>
#include <sys/resource.h>

int main(void)
{
	int policies[] = {SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, 6, 42, -1};
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		char label[64];
		snprintf(label, sizeof(label), "priority max policy %d", policies[i]);
		CHECK(label, syscall(SYS_sched_get_priority_max, policies[i]));
		snprintf(label, sizeof(label), "priority min policy %d", policies[i]);
		CHECK(label, syscall(SYS_sched_get_priority_min, policies[i]));
	}

	struct sched_param p = {0};
	CHECK("getscheduler self", syscall(SYS_sched_getscheduler, 0));
	CHECK("getscheduler own pid", syscall(SYS_sched_getscheduler, getpid()));
	CHECK("getscheduler -1", syscall(SYS_sched_getscheduler, -1));
	CHECK("getscheduler absent pid", syscall(SYS_sched_getscheduler, 999999));
	CHECK("getparam self", syscall(SYS_sched_getparam, 0, &p));
	printf("  priority %d\n", p.sched_priority);
	CHECK("getparam NULL", syscall(SYS_sched_getparam, 0, NULL));
	CHECK("getparam -1", syscall(SYS_sched_getparam, -1, &p));
	CHECK("getparam bad pointer", syscall(SYS_sched_getparam, 0, (void *)1));
	CHECK("getparam absent pid", syscall(SYS_sched_getparam, 999999, &p));

	p.sched_priority = 0;
	CHECK("setscheduler BATCH", syscall(SYS_sched_setscheduler, 0, SCHED_BATCH, &p));
	CHECK("getscheduler after", syscall(SYS_sched_getscheduler, 0));
	CHECK("setparam priority 0 keeps BATCH", syscall(SYS_sched_setparam, 0, &p));
	CHECK("getscheduler after setparam", syscall(SYS_sched_getscheduler, 0));
	CHECK("setscheduler OTHER", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &p));
	p.sched_priority = 5;
	CHECK("setscheduler OTHER priority 5", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &p));
	CHECK("setparam priority 5 under OTHER", syscall(SYS_sched_setparam, 0, &p));
	p.sched_priority = 0;
	CHECK("setscheduler FIFO priority 0", syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &p));
	p.sched_priority = 100;
	CHECK("setscheduler RR priority 100", syscall(SYS_sched_setscheduler, 0, SCHED_RR, &p));
	p.sched_priority = 0;
	CHECK("setscheduler policy 42", syscall(SYS_sched_setscheduler, 0, 42, &p));
	CHECK("setscheduler DEADLINE", syscall(SYS_sched_setscheduler, 0, 6, &p));
	CHECK("setscheduler policy -1", syscall(SYS_sched_setscheduler, 0, -1, &p));
	CHECK("setscheduler NULL", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL));
	CHECK("setscheduler bad pointer", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, (void *)1));
	CHECK("setscheduler absent pid", syscall(SYS_sched_setscheduler, 999999, SCHED_OTHER, &p));
	CHECK("setscheduler pid -1", syscall(SYS_sched_setscheduler, -1, SCHED_OTHER, &p));
	CHECK("setscheduler reset-on-fork", syscall(SYS_sched_setscheduler, 0,
						    SCHED_OTHER | 0x40000000, &p));

	struct timespec ts;
	CHECK("rr_get_interval -1", syscall(SYS_sched_rr_get_interval, -1, &ts));
	CHECK("rr_get_interval absent pid", syscall(SYS_sched_rr_get_interval, 999999, &ts));
	CHECK("rr_get_interval bad pointer", syscall(SYS_sched_rr_get_interval, 0, (void *)1));

	/* The raw getpriority answers 20 - nice. */
	CHECK("getpriority process 0", syscall(SYS_getpriority, PRIO_PROCESS, 0));
	CHECK("getpriority own pid", syscall(SYS_getpriority, PRIO_PROCESS, getpid()));
	CHECK("getpriority own pgrp", syscall(SYS_getpriority, PRIO_PGRP, 0));
	CHECK("getpriority which 3", syscall(SYS_getpriority, 3, 0));
	CHECK("getpriority absent pid", syscall(SYS_getpriority, PRIO_PROCESS, 999999));
	CHECK("setpriority nice 5", syscall(SYS_setpriority, PRIO_PROCESS, 0, 5));
	CHECK("getpriority after", syscall(SYS_getpriority, PRIO_PROCESS, 0));
	CHECK("setpriority nice 100 clamps to 19", syscall(SYS_setpriority, PRIO_PROCESS, 0, 100));
	CHECK("getpriority after", syscall(SYS_getpriority, PRIO_PROCESS, 0));
	errno = 0;
	printf("libc getpriority: %d\n", getpriority(PRIO_PROCESS, 0));
	CHECK("setpriority which 3", syscall(SYS_setpriority, 3, 0, 0));
	CHECK("setpriority absent pid", syscall(SYS_setpriority, PRIO_PROCESS, 999999, 0));
	/* Lowering nice needs CAP_SYS_NICE or RLIMIT_NICE: what it gives is the
	 * same natively and in the sandbox, privileged or not. */
	struct rlimit rl = {0, 0};
	getrlimit(RLIMIT_NICE, &rl);
	long r = syscall(SYS_setpriority, PRIO_PROCESS, 0, 10);
	printf("setpriority back to 10: %s\n", r == 0 ? "ok" : errname(errno));
	return 0;
}
