/* The stub: the only code of husk's that runs in the guest's host process.
 * It is copied to a fixed page at the top of the guest address space.  On
 * entry (rdi = address of the seccomp program inside the stub page) it
 * unmaps everything but its own page, installs the filter, and traps to
 * tell the tracer it is ready.  After that the tracer runs each syscall it
 * injects at husk_stub_syscall (or a batch of them from husk_stub_batch,
 * all through that one instruction); the filter kills the process for a
 * syscall from any other address. */
#include "stub_layout.h"

/* edx:eax = the XSAVE features the fast path saves (the global page). */
.macro XMASK
	mov	husk_stub_begin + GLOBAL_OFF + GLOBAL_XMASK(%rip), %eax
	mov	husk_stub_begin + GLOBAL_OFF + GLOBAL_XMASK + 4(%rip), %edx
.endm
	.section .rodata.husk_stub, "a"
	.balign 4096
	.globl husk_stub_begin, husk_stub_syscall, husk_stub_batch, husk_stub_end
	.globl husk_st_init, husk_st_handler, husk_st_restorer, husk_st_exit, husk_st_fast
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

/* Every guest stop that comes as a signal: a trapped syscall (SIGSYS), a
 * fault, or the sentry's interrupt, on the slot's signal stack with every
 * signal blocked.  rdi = signo, rsi = siginfo, rdx = ucontext.  The
 * slot's first page is the message the sentry reads; the ucontext on this
 * stack holds the registers it reads and rewrites; the restorer's
 * rt_sigreturn puts them back.  Nothing here is trusted by the sentry: a
 * guest thread can write any of it. */
husk_st_handler:
	mov	%rsp, %rbx
	and	$-SLOT_SIZE, %rbx
	/* A signal inside the fast path (below) is its business first. */
	mov	UC_RIP(%rdx), %rax
	lea	husk_st_fast_region(%rip), %rcx
	sub	%rcx, %rax
	cmp	$(husk_st_fast_crit - husk_st_fast_region), %rax
	jb	.Lin_fast
	cmp	$(husk_st_fast_end - husk_st_fast_region), %rax
	jb	.Lin_crit
.Lstop:
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
	movl	$0, MSG_FAST(%rbx)
	rdfsbase %rax
	mov	%rax, MSG_FS(%rbx)
	rdgsbase %rax
	mov	%rax, MSG_GS(%rbx)
	call	husk_st_wait
	mov	MSG_FS(%rbx), %rax
	wrfsbase %rax
	mov	MSG_GS(%rbx), %rax
	wrgsbase %rax
	ret				/* into the restorer */

.Lin_fast:
	/* The slot check found no slot where gs points: the entry's own
	 * syscall instruction traps the ordinary way. */
	cmp	$(husk_st_fast_probe - husk_st_fast_region), %rax
	jne	1f
	cmp	$SIGSEGV_NO, %edi
	jne	1f
	mov	UC_RCX(%rdx), %rax
	add	$UT_SLOW, %rax
	mov	%rax, UC_RIP(%rdx)
	ret
	/* The sentry's interrupt: a fast path on this thread's own slot (gs
	 * is the slot throughout, up to the critical part) is on its way to
	 * a stop, or in one; before it returns to the guest it looks at the
	 * flag.  Anything else here is the guest's doing (it jumped in): an
	 * ordinary stop, as is a fault.  (A guest that makes its thread loop
	 * in here misses the sentry's deadline for interrupts and is
	 * killed.) */
1:	cmp	$INTERRUPT_SIGNO, %edi
	jne	.Lstop
	rdgsbase %rax
	cmp	%rax, %rbx
	jne	.Lstop
	movl	$1, MSG_INTR(%rbx)
	ret

.Lin_crit:
	/* Interrupted while restoring the guest: finish that here, so the
	 * stop shows the guest's own registers.  The FPU and fs are the
	 * guest's already; gs is once it is set from the message; the rest
	 * is in the fast frame, and rip, rflags and rsp in the iret frame
	 * below the fast stack. */
	cmp	$INTERRUPT_SIGNO, %edi
	jne	.Lstop
	mov	MSG_GS(%rbx), %rax
	wrgsbase %rax
	xor	%ecx, %ecx
2:	mov	FAST_UC+UC_GREGS(%rbx,%rcx,8), %rax
	mov	%rax, UC_GREGS(%rdx,%rcx,8)
	inc	%ecx
	cmp	$15, %ecx		/* r8 ... rcx */
	jb	2b
	mov	FAST_STACK-40(%rbx), %rax
	mov	%rax, UC_RIP(%rdx)
	mov	FAST_STACK-24(%rbx), %rax
	mov	%rax, UC_EFL(%rdx)
	mov	FAST_STACK-16(%rbx), %rax
	mov	%rax, UC_RSP(%rdx)
	movl	$0, MSG_INTR(%rbx)
	jmp	.Lstop

/* The fast path's range begins: an interrupt that lands anywhere from
 * here to husk_st_fast_crit is absorbed (see the handler).  First the
 * wait both paths share (the handler's runs with every signal blocked).
 * It parks the thread of slot rbx until the sentry has seen its stop. */
husk_st_fast_region:
husk_st_wait:
	movl	$ST_EVENT, MSG_STATE(%rbx)
	mfence
	/* A sleeping sentry is woken through the doorbell. */
	cmpl	$0, husk_stub_begin + GLOBAL_OFF + GLOBAL_SLEEPING(%rip)
	je	4f
	mov	$1, %eax		/* write(DOORBELL_FD, &one, 8) */
	mov	$DOORBELL_FD, %edi
	lea	husk_st_one(%rip), %rsi
	mov	$8, %edx
	syscall
4:	mov	MSG_SPIN(%rbx), %ecx	/* the answer often comes quickly */
	cmp	$SPIN_LOOPS, %ecx	/* (the guest can write it: at most that) */
	jbe	5f
	mov	$SPIN_LOOPS, %ecx
5:	cmpl	$ST_RESUME, MSG_STATE(%rbx)
	je	7f
	sub	$1, %ecx
	jb	8f
	pause
	jmp	5b
8:	movl	$1, MSG_SLEEPING(%rbx)
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
	movl	$ST_RUNNING, MSG_STATE(%rbx)
	ret
	/* An interrupt came while the fast path ran: the stop it asked for,
	 * with the frame as it stands (the FPU matches its area now). */
.Lfast_pending:
	movl	$0, MSG_INTR(%rbx)
	movl	$0, MSG_FPDIRTY(%rbx)
	movl	$INTERRUPT_SIGNO, MSG_SIGNO(%rbx)
	movl	$-6, MSG_CODE(%rbx)		/* SI_TKILL */
	lea	FAST_STACK(%rbx), %rsp
	jmp	.Lfast_stop

/* ---- the fast path: patched syscalls, no signal ----
 * A patched site jumps through its table entry (UT_*), which sets rcx to
 * the entry and jumps here.  rax, rcx and r11 are free (a syscall
 * clobbers them); the flags are the guest's and must stay so until they
 * are saved.  gs holds the thread's slot (the sentry keeps it there while
 * the guest's own gs base is 0); the check below is flag-free: it finds
 * the slot gs would be, loads its self-address (a fault when there is
 * none, see the handler) and compares. */
husk_st_fast:
	rdgsbase %r11
	rorx	$16, %r11, %rax
	movzwl	%ax, %eax
	lea	(SLOTS_BASE >> 16)(%rax), %rax
	rorx	$48, %rax, %rax
husk_st_fast_probe:
	mov	MSG_SELF(%rax), %rax
	not	%rax
	lea	1(%r11,%rax), %rax	/* gs - self */
	xchg	%rax, %rcx
	jrcxz	1f
	lea	UT_SLOW(%rax), %rcx	/* not a slot: the entry's syscall */
	jmp	*%rcx
1:	/* r11 = the slot, rax = the entry.  Save the guest's registers in
	 * the fast frame as a signal would have, on the slot's own stack. */
	mov	%rsp, FAST_UC+UC_RSP(%r11)
	lea	FAST_STACK(%r11), %rsp
	pushfq
	pop	%rcx
	mov	%rcx, FAST_UC+UC_EFL(%r11)
	mov	%rcx, FAST_UC+UC_R11(%r11)	/* syscall: r11 = rflags, */
	mov	UT_RET(%rax), %rcx
	mov	%rcx, FAST_UC+UC_RIP(%r11)
	mov	%rcx, FAST_UC+UC_RCX(%r11)	/* rcx = the return address */
	mov	%rcx, MSG_ADDR(%r11)
	mov	UT_NR(%rax), %eax
	mov	%rax, FAST_UC+UC_RAX(%r11)
	mov	%eax, MSG_SYSCALL(%r11)
	mov	%r8, FAST_UC+UC_R8(%r11)
	mov	%r9, FAST_UC+UC_R9(%r11)
	mov	%r10, FAST_UC+UC_R10(%r11)
	mov	%r12, FAST_UC+UC_R12(%r11)
	mov	%r13, FAST_UC+UC_R13(%r11)
	mov	%r14, FAST_UC+UC_R14(%r11)
	mov	%r15, FAST_UC+UC_R15(%r11)
	mov	%rdi, FAST_UC+UC_RDI(%r11)
	mov	%rsi, FAST_UC+UC_RSI(%r11)
	mov	%rbp, FAST_UC+UC_RBP(%r11)
	mov	%rbx, FAST_UC+UC_RBX(%r11)
	mov	%rdx, FAST_UC+UC_RDX(%r11)
	mov	%r11, %rbx
	/* The FPU is saved whole (the sentry may read it, for a signal
	 * frame) and put back only if the sentry changed it. */
	movl	$0, MSG_FPDIRTY(%rbx)
	XMASK
	xsave	FAST_FP(%rbx)
	lea	FAST_FP(%rbx), %rax
	mov	%rax, FAST_UC+UC_FPREGS(%rbx)
	movl	$SIGSYS_NO, MSG_SIGNO(%rbx)
	movl	$1, MSG_CODE(%rbx)		/* SYS_SECCOMP */
	movl	$0xc000003e, MSG_ARCH(%rbx)	/* AUDIT_ARCH_X86_64 */
	lea	FAST_UC(%rbx), %rax
	mov	%rax, MSG_UCTX(%rbx)
	rdfsbase %rax
	mov	%rax, MSG_FS(%rbx)
	mov	%rbx, MSG_GS(%rbx)
	movl	$1, MSG_FAST(%rbx)
.Lfast_stop:
	call	husk_st_wait
	cmpl	$0, MSG_FPDIRTY(%rbx)
	je	3f
	XMASK
	xrstor	FAST_FP(%rbx)
3:	mov	MSG_FS(%rbx), %rax
	wrfsbase %rax
	/* rip, rflags and rsp go back together, by iretq. */
	lea	FAST_STACK-40(%rbx), %rsp
	mov	FAST_UC+UC_RIP(%rbx), %rax
	mov	%rax, (%rsp)
	mov	%cs, %eax
	mov	%rax, 8(%rsp)
	mov	FAST_UC+UC_EFL(%rbx), %rax
	and	$0x50dd5, %eax		/* the flags sigreturn lets a guest set */
	or	$0x202, %eax
	mov	%rax, 16(%rsp)
	mov	FAST_UC+UC_RSP(%rbx), %rax
	mov	%rax, 24(%rsp)
	mov	%ss, %eax
	mov	%rax, 32(%rsp)
	/* From here an interrupt is finished by the handler instead; gs
	 * stays the slot until here. */
husk_st_fast_crit:
	cmpl	$0, MSG_INTR(%rbx)
	jne	.Lfast_pending
	mov	MSG_GS(%rbx), %rax
	wrgsbase %rax
	mov	FAST_UC+UC_R8(%rbx), %r8
	mov	FAST_UC+UC_R9(%rbx), %r9
	mov	FAST_UC+UC_R10(%rbx), %r10
	mov	FAST_UC+UC_R11(%rbx), %r11
	mov	FAST_UC+UC_R12(%rbx), %r12
	mov	FAST_UC+UC_R13(%rbx), %r13
	mov	FAST_UC+UC_R14(%rbx), %r14
	mov	FAST_UC+UC_R15(%rbx), %r15
	mov	FAST_UC+UC_RDI(%rbx), %rdi
	mov	FAST_UC+UC_RSI(%rbx), %rsi
	mov	FAST_UC+UC_RBP(%rbx), %rbp
	mov	FAST_UC+UC_RDX(%rbx), %rdx
	mov	FAST_UC+UC_RAX(%rbx), %rax
	mov	FAST_UC+UC_RCX(%rbx), %rcx
	mov	FAST_UC+UC_RBX(%rbx), %rbx
	iretq
husk_st_fast_end:

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
