/* System V shared memory: shmget (private and keyed, IPC_CREAT/IPC_EXCL,
 * size checks), shmat (sharing with a forked child, SHM_RDONLY, fixed
 * and rounded addresses), shmdt, shmctl (IPC_STAT fields, nattch, IPC_SET,
 * IPC_RMID while attached and after), and the errors. */
#include "guest.h"

#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>

static void report(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

static long nattch(int id)
{
	struct shmid_ds ds;
	if (shmctl(id, IPC_STAT, &ds) != 0)
		return -1;
	return (long)ds.shm_nattch;
}

int main(void)
{
	int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
	report("shmget private", id >= 0 ? 0 : -1);
	struct shmid_ds ds;
	report("IPC_STAT", shmctl(id, IPC_STAT, &ds));
	printf("segsz %zu mode %o nattch %lu cpid is me: %s\n", ds.shm_segsz,
	       ds.shm_perm.mode & 0777, (unsigned long)ds.shm_nattch,
	       ds.shm_cpid == getpid() ? "yes" : "no");

	char *p = shmat(id, NULL, 0);
	report("shmat", p == (void *)-1 ? -1 : 0);
	printf("nattch after attach: %ld\n", nattch(id));
	strcpy(p, "from parent");
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		/* Inherited attachment: the same pages. */
		printf("child sees: %s\n", p);
		strcpy(p + 100, "from child");
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	printf("parent sees: %s\n", p + 100);
	printf("nattch after the child left: %ld\n", nattch(id));

	/* A second attach, read-only: writes fault. */
	char *r = shmat(id, NULL, SHM_RDONLY);
	printf("read-only attach sees: %s\n", r);
	printf("nattch with two: %ld\n", nattch(id));
	fflush(stdout);
	c = fork();
	if (c == 0) {
		r[0] = 'x';
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("write to read-only attach: %s\n",
	       WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV ? "SIGSEGV" : "no fault");
	report("shmdt read-only", shmdt(r));
	report("shmdt again", shmdt(r));
	report("shmdt not a segment", shmdt((void *)&st));

	/* Fixed and rounded addresses. */
	char *area = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(area, 1 << 20);
	char *f = shmat(id, area + 4096, 0);
	printf("fixed address kept: %s\n", f == area + 4096 ? "yes" : "no");
	report("misaligned", (long)shmat(id, area + 8192 + 1, 0));
	char *g = shmat(id, area + 65536 + 1, SHM_RND);
	printf("SHM_RND rounds down: %s\n", g == area + 65536 ? "yes" : "no");
	report("over a mapping without SHM_REMAP", (long)shmat(id, area + 4096, 0));
	printf("contents at the fixed attach: %s\n", f);
	shmdt(f);
	shmdt(g);

	/* Keys: IPC_CREAT|IPC_EXCL, lookups, sizes. */
	key_t key = 0x4b5355;
	int k1 = shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0640);
	report("keyed create", k1 >= 0 ? 0 : -1);
	report("EXCL again", shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0640));
	printf("lookup finds it: %s\n", shmget(key, 4096, 0) == k1 ? "yes" : "no");
	report("larger than the segment", shmget(key, 1 << 20, 0));
	report("missing key", shmget(0x7777777, 4096, 0));
	report("size 0", shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600));

	/* IPC_SET changes the mode; IPC_RMID while attached. */
	shmctl(k1, IPC_STAT, &ds);
	ds.shm_perm.mode = 0600;
	report("IPC_SET", shmctl(k1, IPC_SET, &ds));
	shmctl(k1, IPC_STAT, &ds);
	printf("mode now %o\n", ds.shm_perm.mode & 0777);
	char *q = shmat(k1, NULL, 0);
	strcpy(q, "still here");
	report("IPC_RMID attached", shmctl(k1, IPC_RMID, NULL));
	printf("after RMID the key is gone: %s\n", shmget(key, 4096, 0) < 0 && errno == ENOENT ? "yes" : "no");
	printf("memory still there: %s\n", q);
	report("shmdt the last", shmdt(q));
	report("IPC_STAT removed", shmctl(k1, IPC_STAT, &ds));

	report("IPC_RMID", shmctl(id, IPC_RMID, NULL));
	void *again = shmat(id, NULL, 0);
	printf("shmat of a removed, attached segment: %s\n", again != (void *)-1 ? "yes" : errname(errno));
	shmdt(p);
	report("IPC_STAT after last detach", shmctl(id, IPC_STAT, &ds));
	report("shmctl bad id", shmctl(12345678, IPC_STAT, &ds));
	report("shmctl bad cmd", shmctl(k1, 999, &ds));
	return 0;
}
