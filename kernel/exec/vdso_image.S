/* The vDSO image (built from kernel/vdso/ into build/vdso/vdso.so before
 * this file is assembled), carried inside husk. */
	.section .rodata.husk_vdso, "a"
	.balign 4096
	.globl husk_vdso_image, husk_vdso_image_end
husk_vdso_image:
	.incbin "build/vdso/vdso.so"
husk_vdso_image_end:
	.section .note.GNU-stack, "", @progbits
