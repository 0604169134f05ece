/* The stub: the only code of husk's that runs in the guest's host process.
 * It is copied to a fixed page at the top of the guest address space.  On
 * entry (rdi = address of the seccomp program inside the stub page) it
 * unmaps everything but its own page, installs the filter, and traps to
 * tell the tracer it is ready.  After that the tracer runs each syscall it
 * injects at husk_stub_syscall (or a batch of them from husk_stub_batch,
 * all through that one instruction); the filter kills the process for a
 * syscall from any other address. */
#include "stub_layout.h"
	.section .rodata.husk_stub, "a"
	.balign 4096
	.globl husk_stub_begin, husk_stub_syscall, husk_stub_batch, husk_stub_end
	.globl husk_st_init, husk_st_handler, husk_st_restorer, husk_st_exit
husk_stub_begin:
	mov	%rdi, %r12
	lea	husk_stub_begin(%rip), %rbx
	mov	$11, %eax		/* munmap(0, stub) */
	xor	%edi, %edi
	mov	%rbx, %rsi
	syscall
	lea	4096(%rbx), %rdi	/* munmap(stub end, top - stub end) */
	mov	$0x7ffffffff000, %rsi
	sub	%rdi, %rsi
	mov	$11, %eax
	syscall
	mov	$317, %eax		/* seccomp(SET_MODE_FILTER, 0, prog) */
	mov	$1, %edi
	xor	%esi, %esi
	mov	%r12, %rdx
	syscall
	test	%rax, %rax
	jnz	1f
	int3				/* ready */
husk_stub_syscall:
	syscall
	/* r13: syscalls left in a batch (0 for a single injection).  A batch
	 * is a table at r12 of 64-byte entries (nr, six arguments); it stops
	 * at the first error, which r13 and r12 then point at. */
	test	%r13, %r13
	jz	2f
	cmp	$-4095, %rax
	jae	2f
	add	$64, %r12
	dec	%r13
	jz	2f
husk_stub_batch:
	mov	(%r12), %rax
	mov	8(%r12), %rdi
	mov	16(%r12), %rsi
	mov	24(%r12), %rdx
	mov	32(%r12), %r10
	mov	40(%r12), %r8
	mov	48(%r12), %r9
	jmp	husk_stub_syscall
2:	int3
1:	ud2

/* ---- systrap (platform/systrap/systrap.c) ----
 * A guest thread's setup, run while the sentry still traces it: rdi =
 * the stack_t of its slot's signal stack, rsi = the guest filter.  The
 * first int3 reports to the tracer, which checks rax and detaches; the
 * second, untraced, is the thread's first stop: it parks in the handler. */
husk_st_init:
	mov	%rsi, %r12
	mov	$131, %eax		/* sigaltstack(rdi, NULL) */
	xor	%esi, %esi
	syscall
	test	%rax, %rax
	jnz	3f
	mov	$317, %eax		/* seccomp(SET_MODE_FILTER, 0, guest filter) */
	mov	$1, %edi
	xor	%esi, %esi
	mov	%r12, %rdx
	syscall
3:	int3
	int3
	ud2

/* Every guest stop: a trapped syscall (SIGSYS), a fault, or the sentry's
 * interrupt, on the slot's signal stack with every signal blocked.  rdi =
 * signo, rsi = siginfo, rdx = ucontext.  The slot's first page is the
 * message the sentry reads; the ucontext on this stack holds the
 * registers it reads and rewrites; the restorer's rt_sigreturn puts them
 * back.  Nothing here is trusted by the sentry: a guest thread can write
 * any of it. */
husk_st_handler:
	mov	%rsp, %rbx
	and	$-SLOT_SIZE, %rbx
	mov	%edi, MSG_SIGNO(%rbx)
	mov	8(%rsi), %eax		/* si_code */
	mov	%eax, MSG_CODE(%rbx)
	mov	16(%rsi), %rax		/* si_addr, si_call_addr */
	mov	%rax, MSG_ADDR(%rbx)
	mov	24(%rsi), %eax		/* si_syscall */
	mov	%eax, MSG_SYSCALL(%rbx)
	mov	28(%rsi), %eax		/* si_arch */
	mov	%eax, MSG_ARCH(%rbx)
	mov	%rdx, MSG_UCTX(%rbx)
	rdfsbase %rax
	mov	%rax, MSG_FS(%rbx)
	rdgsbase %rax
	mov	%rax, MSG_GS(%rbx)
	movl	$ST_EVENT, MSG_STATE(%rbx)
	mfence
	/* A sleeping sentry is woken through the doorbell. */
	cmpl	$0, husk_stub_begin + GLOBAL_OFF(%rip)
	je	4f
	mov	$1, %eax		/* write(DOORBELL_FD, &one, 8) */
	mov	$DOORBELL_FD, %edi
	lea	husk_st_one(%rip), %rsi
	mov	$8, %edx
	syscall
4:	mov	$SPIN_LOOPS, %ecx	/* the answer often comes quickly */
5:	cmpl	$ST_RESUME, MSG_STATE(%rbx)
	je	7f
	pause
	dec	%ecx
	jnz	5b
	movl	$1, MSG_SLEEPING(%rbx)
	mfence
6:	cmpl	$ST_RESUME, MSG_STATE(%rbx)
	je	7f
	lea	MSG_STATE(%rbx), %rdi	/* futex(&state, FUTEX_WAIT, ST_EVENT, NULL) */
	xor	%esi, %esi
	mov	$ST_EVENT, %edx
	xor	%r10d, %r10d
	mov	$202, %eax
	syscall
	jmp	6b
7:	movl	$0, MSG_SLEEPING(%rbx)
	mov	MSG_FS(%rbx), %rax
	wrfsbase %rax
	mov	MSG_GS(%rbx), %rax
	wrgsbase %rax
	movl	$ST_RUNNING, MSG_STATE(%rbx)
	ret				/* into the restorer */
husk_st_restorer:
	mov	$15, %eax		/* rt_sigreturn */
	syscall
	ud2
/* Where a context the sentry is done with is resumed: the thread ends. */
husk_st_exit:
	mov	$60, %eax		/* exit(0) */
	xor	%edi, %edi
	syscall
	ud2
	.balign 8
husk_st_one:
	.quad	1
husk_stub_end:
	.section .note.GNU-stack, "", @progbits
