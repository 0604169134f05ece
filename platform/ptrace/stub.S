/* The stub: the only code of husk's that runs in the guest's host process.
 * It is copied to a fixed page at the top of the guest address space.  On
 * entry (rdi = address of the seccomp program inside the stub page) it
 * unmaps everything but its own page, installs the filter, and traps to
 * tell the tracer it is ready.  After that the tracer runs each syscall it
 * injects at husk_stub_syscall (or a batch of them from husk_stub_batch,
 * all through that one instruction); the filter kills the process for a
 * syscall from any other address. */
	.section .rodata.husk_stub, "a"
	.balign 4096
	.globl husk_stub_begin, husk_stub_syscall, husk_stub_batch, husk_stub_end
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
husk_stub_end:
	.section .note.GNU-stack, "", @progbits
