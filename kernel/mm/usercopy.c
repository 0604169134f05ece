/* Guest memory access.  The sentry reads and writes guest memory through
 * its own mapping of the memory file, after checking every byte of the
 * range against the VMAs and their protections: a bad pointer is -EFAULT,
 * never a fault in the sentry. */
#include <string.h>
#include <sys/mman.h>

#include "../sentry.h"

size_t k_guest_iov(struct k_mm *mm, uint64_t addr, size_t len, bool write, struct iovec *iov,
		   int maxiov, int *niov)
{
	size_t done = 0;
	int n = 0;
	if (addr + len < addr)
		len = (size_t)(UINT64_MAX - addr); /* wraps: stop at the top */
	while (done < len && n < maxiov) {
		uint64_t at = addr + done;
		struct k_vma *v = mm_find(mm, at);
		if (!v || !v->mobj || v->prot == PROT_NONE || (write && !(v->prot & PROT_WRITE)))
			break;
		if (write && (v->flags & VMA_COW)) {
			/* The sentry writing for the guest breaks the sharing too. */
			if (!mm_fault_cow(mm, at))
				break;
			continue;
		}
		size_t chunk = v->end - at;
		if (chunk > len - done)
			chunk = len - done;
		uint8_t *host = mobj_host(&mm->k->mem, v->mobj) + v->pgoff + (at - v->start);
		if (n > 0 && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len == host)
			iov[n - 1].iov_len += chunk;
		else
			iov[n++] = (struct iovec){host, chunk};
		done += chunk;
	}
	*niov = n;
	return done;
}

static int copy(struct k_task *t, uint64_t gaddr, void *buf, size_t n, bool out)
{
	while (n > 0) {
		struct iovec iov[8];
		int niov;
		size_t got = k_guest_iov(t->mm, gaddr, n, out, iov, 8, &niov);
		if (got == 0)
			return -EFAULT;
		for (int i = 0; i < niov; i++) {
			if (out)
				memcpy(iov[i].iov_base, buf, iov[i].iov_len);
			else
				memcpy(buf, iov[i].iov_base, iov[i].iov_len);
			buf = (uint8_t *)buf + iov[i].iov_len;
		}
		gaddr += got;
		n -= got;
	}
	return 0;
}

int k_copy_in(struct k_task *t, void *dst, uint64_t src, size_t n)
{
	return copy(t, src, dst, n, false);
}

int k_copy_out(struct k_task *t, uint64_t dst, const void *src, size_t n)
{
	return copy(t, dst, (void *)src, n, true);
}

long k_copy_string(struct k_task *t, char *dst, uint64_t src, size_t max)
{
	size_t done = 0;
	while (done < max) {
		struct iovec iov[1];
		int niov;
		size_t want = max - done;
		/* Never read past the page: the next one may be unmapped. */
		size_t to_page = PAGE_SIZE - ((src + done) & (PAGE_SIZE - 1));
		if (want > to_page)
			want = to_page;
		if (k_guest_iov(t->mm, src + done, want, false, iov, 1, &niov) == 0)
			return -EFAULT;
		const char *p = iov[0].iov_base;
		size_t got = iov[0].iov_len;
		const char *nul = memchr(p, 0, got);
		size_t take = nul ? (size_t)(nul - p) + 1 : got;
		memcpy(dst + done, p, take);
		done += take;
		if (nul)
			return (long)(done - 1);
	}
	return -ENAMETOOLONG;
}
