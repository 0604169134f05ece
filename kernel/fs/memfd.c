/* memfd_create: an unlinked tmpfs file of the sandbox's own, with seals
 * (F_ADD_SEALS / F_GET_SEALS) that tmpfs enforces. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../sentry.h"

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#define MFD_NAME_MAX 249 /* NAME_MAX less "memfd:" */
/* MFD_HUGETLB's size bits. */
#define MFD_HUGE_MASK (0x3fU << 26)

SYSCALL(memfd_create)
{
	unsigned flags = (unsigned)a[1];
	if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC |
		      MFD_HUGE_MASK))
		return -EINVAL;
	if ((flags & MFD_HUGE_MASK) && !(flags & MFD_HUGETLB))
		return -EINVAL;
	if ((flags & MFD_EXEC) && (flags & MFD_NOEXEC_SEAL))
		return -EINVAL;
	char name[MFD_NAME_MAX + 2];
	long n = k_copy_string(t, name, a[0], sizeof(name));
	if (n == -EFAULT)
		return -EFAULT;
	if (n < 0 || n > MFD_NAME_MAX)
		return -EINVAL;
	if (flags & MFD_HUGETLB)
		return -EINVAL; /* no huge page pool in the sandbox */
	struct k_kernel *k = t->k;
	if (!k->memfd_mnt) {
		struct k_super *sb;
		struct k_inode *root;
		int err = tmpfs_new(k, 01777, &sb, &root);
		if (err)
			return err;
		struct k_dentry *rd = dentry_root(root);
		inode_put(root);
		err = rd ? mount_add(k, NULL, sb, rd, 0, "memfd", &k->memfd_mnt) : -ENOMEM;
		if (rd)
			dentry_put(rd);
		super_put(sb);
		if (err)
			return err;
		/* Not part of the guest's tree: only reachable by descriptor. */
		k->memfd_mnt->flags |= K_MNT_INTERNAL;
	}
	struct k_inode *dir = k->memfd_mnt->root->inode, *ino;
	struct k_cred c;
	task_cred(t, &c);
	char hidden[64];
	static unsigned long serial;
	snprintf(hidden, sizeof(hidden), "memfd-%lu", serial++);
	uint32_t mode = (flags & MFD_NOEXEC_SEAL) ? 0666 : 0777;
	int err = dir->ops->create(dir, hidden, S_IFREG | mode, 0, &c, &ino);
	if (err)
		return err;
	dir->ops->unlink(dir, hidden, ino);
	ino->seals = (flags & MFD_ALLOW_SEALING) ? 0 : F_SEAL_SEAL;
	if (flags & MFD_NOEXEC_SEAL)
		ino->seals |= 0x20 /* F_SEAL_EXEC */ | ((flags & MFD_ALLOW_SEALING) ? 0 : F_SEAL_SEAL);
	char label[sizeof("memfd:") + sizeof(name)];
	snprintf(label, sizeof(label), "memfd:%s", name);
	struct k_dentry *d = dentry_root(ino);
	inode_put(ino);
	if (!d || dentry_rename_root(d, label)) {
		if (d)
			dentry_put(d);
		return -ENOMEM;
	}
	struct k_path p = {k->memfd_mnt, d};
	struct k_file *f;
	k->memfd_mnt->refs++;
	err = vfs_open_path(t, &p, O_RDWR, &f);
	path_put(&p);
	if (err)
		return err;
	int fd = fdt_install(t, f, 0, flags & MFD_CLOEXEC);
	file_put(f);
	return fd;
}

/* Does the task map any chunk of ino shared and writable? */
static bool mapped_writable(struct k_task *t, struct k_inode *ino)
{
	struct k_mm *mm = t->mm;
	for (size_t i = 0; i < mm->n; i++) {
		struct k_vma *v = &mm->v[i];
		if (!(v->flags & VMA_SHARED) || !(v->prot & PROT_WRITE) || !v->mobj)
			continue;
		for (uint64_t off = 0; off < ino->size || off == 0; off += v->mobj->len) {
			uint64_t csize;
			if (tmpfs_chunk_peek(ino, off, &csize) == v->mobj)
				return true;
			if (!csize)
				break;
		}
	}
	return false;
}

long file_seals(struct k_task *t, struct k_file *f, int cmd, unsigned arg)
{
	struct k_inode *ino = f->inode;
	if (!ino || !tmpfs_inode_is(ino) || !S_ISREG(ino->mode))
		return -EINVAL;
	if (cmd == F_GET_SEALS)
		return ino->seals;
	if (arg & ~(unsigned)(F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
			      F_SEAL_FUTURE_WRITE | 0x20))
		return -EINVAL;
	int acc = f->flags & O_ACCMODE;
	if (acc != O_WRONLY && acc != O_RDWR)
		return -EPERM;
	if (ino->seals & F_SEAL_SEAL)
		return -EPERM;
	if ((arg & F_SEAL_WRITE) && !(ino->seals & F_SEAL_WRITE) && mapped_writable(t, ino))
		return -EBUSY;
	ino->seals |= arg;
	return 0;
}
