/* Internal to the platforms: the systrap half, which ptrace.c (owner of
 * the stub processes and of the pf_ interface) calls in systrap mode. */
#ifndef HUSK_PLATFORM_SYSTRAP_H
#define HUSK_PLATFORM_SYSTRAP_H

#include "../platform.h"

struct pf_as;
struct pf_ctx;

/* Sets up the shared slots and the doorbell (pf_select); -ENOTSUP where
 * the CPU or kernel lacks what the stub needs. */
int st_init(void);
bool st_enabled(void);
int st_shm_fd(void);
int st_doorbell_fd(void);
/* The zygote's global page and signal handlers (inherited by its forks). */
int st_zygote_setup(struct pf_as *z);
void st_as_new(struct pf_as *as);
void st_as_free(struct pf_as *as);
int st_ctx_new(struct pf_as *as, struct pf_ctx *c);
void st_ctx_free(struct pf_ctx *c);
int st_ctx_resume(struct pf_ctx *c, pf_regs *regs, bool alone);
int st_cpu(void);
int st_wait_any(struct pf_ctx **out, int *status);
int st_ctx_stopped(struct pf_ctx *c, pf_regs *regs, struct pf_event *ev);
int st_get_fpregs(struct pf_ctx *c, pf_fpregs *fp);
int st_set_fpregs(struct pf_ctx *c, const pf_fpregs *fp);
void st_ctx_interrupt(struct pf_ctx *c);

#endif
