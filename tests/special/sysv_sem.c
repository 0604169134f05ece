/* System V semaphores: semget, semctl (SETVAL/GETVAL/SETALL/GETALL,
 * GETPID, GETNCNT, IPC_STAT, IPC_RMID), semop (all-or-nothing, IPC_NOWAIT,
 * waiting for an increase and for zero between processes), semtimedop's
 * timeout, SEM_UNDO at exit, EIDRM for a sleeper, and the errors.  Husk
 * only: the test machines' kernels have semaphores disabled (kernel.sem's
 * SEMMSL is negative), so the expected output is Linux's by the man
 * pages. */
#include "../guest/guest.h"

#include <sched.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static void report(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

static int op(int id, unsigned short num, short delta, short flg)
{
	struct sembuf b = {num, delta, flg};
	return semop(id, &b, 1);
}

int main(void)
{
	int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
	report("semget", id >= 0 ? 0 : -1);
	report("GETVAL fresh", semctl(id, 0, GETVAL));
	report("SETVAL 5", semctl(id, 0, SETVAL, (union semun){.val = 5}));
	report("GETVAL", semctl(id, 0, GETVAL));
	report("GETPID is me", semctl(id, 0, GETPID) == getpid() ? 1 : 0);
	unsigned short all[3] = {1, 2, 3}, got[3];
	report("SETALL", semctl(id, 0, SETALL, (union semun){.array = all}));
	report("GETALL", semctl(id, 0, GETALL, (union semun){.array = got}));
	printf("values %u %u %u\n", got[0], got[1], got[2]);
	struct semid_ds ds;
	report("IPC_STAT", semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}));
	printf("nsems %lu mode %o\n", (unsigned long)ds.sem_nsems, ds.sem_perm.mode & 0777);

	/* All or nothing: the second op cannot go, so neither does. */
	struct sembuf two[2] = {{0, -1, IPC_NOWAIT}, {1, -5, IPC_NOWAIT}};
	report("all-or-nothing", semop(id, two, 2));
	report("sem 0 untouched", semctl(id, 0, GETVAL));
	two[1].sem_op = -2;
	report("both go", semop(id, two, 2));
	semctl(id, 0, GETALL, (union semun){.array = got});
	printf("values %u %u %u\n", got[0], got[1], got[2]);
	report("range", op(id, 2, 32767, 0));

	/* A child waits for an increase; the parent sees it waiting. */
	fflush(stdout);
	pid_t c = fork();
	if (c == 0)
		_exit(op(id, 1, -1, 0) == 0 ? 0 : 1);
	while (semctl(id, 1, GETNCNT) == 0)
		sched_yield();
	report("GETNCNT", semctl(id, 1, GETNCNT));
	op(id, 1, 1, 0);
	int st;
	waitpid(c, &st, 0);
	printf("child got it: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");

	/* Waiting for zero. */
	semctl(id, 2, SETVAL, (union semun){.val = 1});
	fflush(stdout);
	c = fork();
	if (c == 0)
		_exit(op(id, 2, 0, 0) == 0 ? 0 : 1);
	while (semctl(id, 2, GETZCNT) == 0)
		sched_yield();
	report("GETZCNT", semctl(id, 2, GETZCNT));
	op(id, 2, -1, 0);
	waitpid(c, &st, 0);
	printf("zero reached: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");

	/* semtimedop times out. */
	struct sembuf one = {1, -1, 0};
	struct timespec ts = {0, 20 * 1000 * 1000};
	report("semtimedop timeout", semtimedop(id, &one, 1, &ts));

	/* SEM_UNDO: a child's adjustments go with it. */
	semctl(id, 0, SETVAL, (union semun){.val = 3});
	fflush(stdout);
	c = fork();
	if (c == 0) {
		op(id, 0, -2, SEM_UNDO);
		_exit(semctl(id, 0, GETVAL) == 1 ? 0 : 1);
	}
	waitpid(c, &st, 0);
	printf("child saw 1: %s; after its exit: %d\n",
	       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no", semctl(id, 0, GETVAL));

	/* Removal wakes a sleeper with EIDRM. */
	fflush(stdout);
	c = fork();
	if (c == 0) {
		int r = op(id, 1, -10, 0);
		_exit(r < 0 && errno == EIDRM ? 0 : 1);
	}
	while (semctl(id, 1, GETNCNT) == 0)
		sched_yield();
	report("IPC_RMID", semctl(id, 0, IPC_RMID));
	waitpid(c, &st, 0);
	printf("sleeper got EIDRM: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
	report("GETVAL removed", semctl(id, 0, GETVAL));

	/* Errors. */
	key_t key = 0x53454d;
	int k1 = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
	report("keyed", k1 >= 0 ? 0 : -1);
	report("EXCL again", semget(key, 2, IPC_CREAT | IPC_EXCL | 0600));
	report("more than it has", semget(key, 5, 0));
	report("nsems 0 new", semget(IPC_PRIVATE, 0, IPC_CREAT | 0600));
	report("missing key", semget(0x123457, 1, 0));
	report("EFBIG", op(k1, 7, 1, 0));
	report("E2BIG", semop(k1, two, 1000));
	report("EINVAL nsops 0", semop(k1, two, 0));
	report("ERANGE SETVAL", semctl(k1, 0, SETVAL, (union semun){.val = 40000}));
	report("EAGAIN nowait", op(k1, 0, -1, IPC_NOWAIT));
	report("bad num", semctl(k1, 9, GETVAL));
	report("bad id", semctl(987654, 0, GETVAL));
	report("bad cmd", semctl(k1, 0, 999));
	semctl(k1, 0, IPC_RMID);
	return 0;
}
