/* Internal to kernel/ckpt/: checkpoint (save.c) and restore (restore.c)
 * of a whole sandbox, and the record tags of the snapshot's object
 * section they share.  Objects refer to each other by ids (1, 2, ...)
 * given in the order they are written; a record only names objects
 * written before it. */
#ifndef HUSK_KERNEL_CKPT_H
#define HUSK_KERNEL_CKPT_H

#include "../../snapshot/snapshot.h"
#include "../sentry.h"

/* Bumped when a record's layout changes: a reader refuses other ones. */
#define CK_VERSION 2

enum {
	CK_KERNEL = 1, /* the sandbox as a whole */
	CK_MOBJ,       /* a memory object */
	CK_MM,         /* an address space and its VMAs */
	CK_FILE,       /* an open file description */
	CK_FDT,        /* a descriptor table */
	CK_FS,         /* a root, cwd and umask */
	CK_TG,         /* a thread group (process) */
	CK_TASK,       /* a thread */
};

/* Memory objects: of the memory file, a host file mapped by path, or the
 * sandbox's own time page and vDSO (made afresh by every boot). */
enum { CKM_MEM = 0, CKM_FILE = 1, CKM_VVAR = 2, CKM_VDSO = 3 };

/* What file kinds' save and restore share (ckpt/shared.c). */
struct ckpt_ctx {
	void **v;
	size_t n, cap;
};

/* An epoll's entries, after every file they name. */
#define CK_EPOLL 100

/* Limits a hostile snapshot cannot talk the restore past. */
#define CK_MAX_OBJECTS (1 << 20)
#define CK_MAX_VMAS 65536
#define CK_MAX_FDS (1 << 20)

#endif
