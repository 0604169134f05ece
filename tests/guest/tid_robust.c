/* tid_robust.c - set_tid_address, set_robust_list, get_robust_list. */
#include "guest.h"

struct robust_list { struct robust_list *next; };
struct robust_list_head {
	struct robust_list list;
	long futex_offset;
	struct robust_list *list_op_pending;
};

static int clear_tid;
static struct robust_list_head head = {{&head.list}, 0, NULL};

int main(void)
{
	GUEST_INIT();
	long tid = syscall(SYS_gettid);
	long r = syscall(SYS_set_tid_address, &clear_tid);
	EXPECT("set_tid_address returns gettid", r == tid);
	r = syscall(SYS_set_tid_address, NULL);
	EXPECT("set_tid_address(NULL) returns gettid", r == tid);
	r = syscall(SYS_set_tid_address, BAD_LOW);
	EXPECT("set_tid_address(bad) returns gettid (not checked)", r == tid);
	syscall(SYS_set_tid_address, &clear_tid);

	/* Remember libc's registration (may be NULL with musl). */
	struct robust_list_head *orig = NULL, *got = NULL;
	size_t orig_len = 0, len = 0;
	CHECK("get_robust_list(0) initial",
	      syscall(SYS_get_robust_list, 0L, &orig, &orig_len));
	EXPECT("initial len is 0 or 24", orig_len == 0 || orig_len == 24);

	CHECK("set_robust_list(head, 24)", syscall(SYS_set_robust_list, &head, 24L));
	CHECK("get_robust_list(0)", syscall(SYS_get_robust_list, 0L, &got, &len));
	EXPECT("head round-trips", got == &head);
	printf("len: %zu\n", len);
	got = NULL;
	len = 0;
	CHECK("get_robust_list(getpid())",
	      syscall(SYS_get_robust_list, syscall(SYS_getpid), &got, &len));
	EXPECT("same head via own pid", got == &head && len == 24);

	CHECK("set_robust_list(head, 23)", syscall(SYS_set_robust_list, &head, 23L));
	CHECK("set_robust_list(head, 0)", syscall(SYS_set_robust_list, &head, 0L));
	CHECK("set_robust_list(head, 48)", syscall(SYS_set_robust_list, &head, 48L));
	CHECK("get_robust_list(0) after bad sets", syscall(SYS_get_robust_list, 0L, &got, &len));
	EXPECT("head unchanged by failed sets", got == &head);
	/* The head pointer itself is not validated. */
	CHECK("set_robust_list(bad, 24)", syscall(SYS_set_robust_list, BAD_LOW, 24L));
	CHECK("get_robust_list(0)", syscall(SYS_get_robust_list, 0L, &got, &len));
	EXPECT("bad head stored as is", got == (void *)BAD_LOW);
	CHECK("set_robust_list(NULL, 24)", syscall(SYS_set_robust_list, NULL, 24L));
	CHECK("get_robust_list(0)", syscall(SYS_get_robust_list, 0L, &got, &len));
	EXPECT("NULL head stored", got == NULL);

	CHECK("get_robust_list(-1)", syscall(SYS_get_robust_list, -1L, &got, &len));
	CHECK("get_robust_list(0x7fffffff)",
	      syscall(SYS_get_robust_list, 0x7fffffffL, &got, &len));
	CHECK("get_robust_list(0, bad head_ptr)",
	      syscall(SYS_get_robust_list, 0L, BAD_LOW, &len));
	CHECK("get_robust_list(0, bad len_ptr)",
	      syscall(SYS_get_robust_list, 0L, &got, BAD_LOW));

	/* Restore libc's registration before exiting. */
	if (orig_len)
		CHECK("restore original", syscall(SYS_set_robust_list, orig, orig_len));
	else
		CHECK("restore original", syscall(SYS_set_robust_list, &head, 24L));
	return 0;
}
