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
#define CK_VERSION 3

enum {
	CK_KERNEL = 1, /* the sandbox as a whole */
	CK_MOBJ,       /* a memory object */
	CK_MM,         /* an address space and its VMAs */
	CK_FILE,       /* an open file description */
	CK_FDT,        /* a descriptor table */
	CK_FS,         /* a root, cwd and umask */
	CK_TG,         /* a thread group (process) */
	CK_TASK,       /* a thread */
	CK_MOUNTS,     /* the mount table (ckpt/fs.c) */
	CK_INODE,      /* a file of a tmpfs tree */
	CK_DENTRY,     /* a name in a tmpfs directory */
};

/* Memory objects: of the memory file, a host file mapped by path, or the
 * sandbox's own time page and vDSO (made afresh by every boot). */
enum { CKM_MEM = 0, CKM_FILE = 1, CKM_VVAR = 2, CKM_VDSO = 3 };

/* What file kinds' save and restore share (ckpt/shared.c). */
struct ckpt_ctx {
	void **v;
	int *kind; /* restore: what each object is (CKF_*): no id is taken for another's */
	size_t n, cap;
	struct k_task *t0; /* restore: the boot task (path lookups) */
	const char *why;   /* save: what a file's save could not carry */
};

/* Filesystem trees (ckpt/fs.c).  Saving: mobj writes a memory object's
 * record (once) and gives its id; restoring: mobj gives the object of an
 * id (NULL: none). */
struct ckpt_fs_save_ops {
	uint32_t (*mobj)(void *arg, struct k_mobj *o);
	void *arg;
};
struct ckpt_fs_restore_ops {
	struct k_mobj *(*mobj)(void *arg, uint32_t id);
	void *arg;
};
/* Every tree's file chunks (fn for each: memory the snapshot holds). */
int ckpt_fs_chunks(struct k_kernel *k, int (*fn)(void *arg, struct k_mobj *o), void *arg);
/* The mount table and every tree (why says what failed). */
int ckpt_fs_save(struct k_kernel *k, struct snap_enc *e, const struct ckpt_fs_save_ops *ops,
		 char *why, size_t whylen);
/* A CK_MOUNTS, CK_INODE or CK_DENTRY record (state in *st, made at the
 * first); ckpt_fs_restored says whether the mount table came; end frees. */
struct ckpt_fs_rs;
int ckpt_fs_restore(struct k_kernel *k, struct ckpt_fs_rs **st, uint32_t tag, struct snap_dec *d,
		    const struct ckpt_fs_restore_ops *ops, char *why, size_t len);
bool ckpt_fs_restored(const struct ckpt_fs_rs *st);
void ckpt_fs_restore_end(struct ckpt_fs_rs *st);

/* An epoll's entries, after every file they name. */
#define CK_EPOLL 100

/* What identifies a sandbox's vDSO image (its bytes). */
uint64_t ckpt_vdso_hash(const struct k_kernel *k, const struct k_mobj *o);

/* Limits a hostile snapshot cannot talk the restore past. */
#define CK_MAX_OBJECTS (1 << 20)
#define CK_MAX_VMAS 65536
#define CK_MAX_FDS (1 << 20)

#endif
