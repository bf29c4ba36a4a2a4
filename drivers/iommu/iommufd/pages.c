// SPDX-License-Identifier: GPL-2.0
/*
 * Pinned user memory (struct iopt_pages): pinning on demand, charging,
 * filling and emptying IOMMU domains, pins of in-kernel accesses. The model
 * and the terms are at the top of io_pagetable.h.
 *
 * Pinning: an index is pinned exactly while a node of domains_itree or of
 * access_itree covers it. Whoever adds a node pins first the indices of its
 * span that no node covers yet ("uncovered"), then inserts the node;
 * whoever removes a node removes it first, then unpins the indices of its
 * span that became uncovered. Both walks look at the same two trees, so an
 * index is pinned and charged once however many areas, domains and
 * accesses use it.
 */
#include <linux/cred.h>
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/iommufd.h>

#include "io_pagetable.h"

/**
 * struct iopt_pages_access - A span of a pages object pinned by accesses
 * @node: [first index, last index] in pages->access_itree
 * @users: Pins of exactly this span (access pins, running access_rw)
 */
struct iopt_pages_access {
	struct interval_tree_node node;
	unsigned int users;
};

/* How many struct page pointers one pinning batch may hold */
static unsigned long pin_batch_pages(void)
{
	size_t bytes = SZ_64K;

#ifdef CONFIG_IOMMUFD_TEST
	/* Smaller batches only: more would not be any different */
	bytes = min_t(size_t, READ_ONCE(iommufd_test_memory_limit), bytes);
#endif
	return max_t(size_t, bytes / sizeof(struct page *), 1);
}

/**
 * iopt_alloc_pages() - Describe a range of user memory, pinning nothing
 * @ictx: The context, for its accounting mode
 * @uptr: Start of the range
 * @length: Its length; the caller checked it is not 0 and does not wrap
 * @writable: Pin for write
 *
 * Context: Process context: the range belongs to current's mm, charged to
 * current's user or mm.
 * Return: the pages object with one reference, or ERR_PTR(-ENOMEM).
 */
struct iopt_pages *iopt_alloc_pages(struct iommufd_ctx *ictx,
				    void __user *uptr, unsigned long length,
				    bool writable)
{
	uintptr_t start = (uintptr_t)uptr;
	struct iopt_pages *pages;

	pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);

	kref_init(&pages->kref);
	mutex_init(&pages->mutex);
	xa_init(&pages->pinned_pfns);
	pages->domains_itree = RB_ROOT_CACHED;
	pages->access_itree = RB_ROOT_CACHED;
	pages->uptr = ALIGN_DOWN(start, PAGE_SIZE);
	pages->npages = (ALIGN(start + length, PAGE_SIZE) - pages->uptr) >>
			PAGE_SHIFT;
	pages->writable = writable;
	pages->account_mode = ictx->account_mode;
	pages->has_cap_ipc_lock = capable(CAP_IPC_LOCK);

	get_task_struct(current->group_leader);
	pages->source_task = current->group_leader;
	mmgrab(current->mm);
	pages->source_mm = current->mm;
	pages->source_cred = get_current_cred();
	return pages;
}

/* Called by iopt_put_pages() when the last area and COPY let go */
void iopt_release_pages(struct kref *kref)
{
	struct iopt_pages *pages = container_of(kref, struct iopt_pages, kref);

	/* Every user removed its node and unpinned */
	WARN_ON(pages->npinned);
	WARN_ON(!xa_empty(&pages->pinned_pfns));
	WARN_ON(!RB_EMPTY_ROOT(&pages->domains_itree.rb_root));
	WARN_ON(!RB_EMPTY_ROOT(&pages->access_itree.rb_root));

	xa_destroy(&pages->pinned_pfns);
	mutex_destroy(&pages->mutex);
	put_task_struct(pages->source_task);
	mmdrop(pages->source_mm);
	put_cred(pages->source_cred);
	kfree(pages);
}

/*
 * Charge @npages about to be pinned: to the user or to the mm, against the
 * RLIMIT_MEMLOCK of the task that mapped them; a CAP_IPC_LOCK mapper is not
 * charged. The mm's pinned_vm statistic counts every pinned page.
 */
static int pages_charge(struct iopt_pages *pages, unsigned long npages)
{
	int rc;

	lockdep_assert_held(&pages->mutex);

	if (pages->has_cap_ipc_lock)
		goto out_pinned_vm;

	if (pages->account_mode == IOPT_PAGES_ACCOUNT_USER) {
		atomic_long_t *locked_vm = &pages->source_cred->user->locked_vm;
		unsigned long limit, cur, new;

		limit = task_rlimit(pages->source_task, RLIMIT_MEMLOCK) >>
			PAGE_SHIFT;
		cur = atomic_long_read(locked_vm);
		do {
			if (check_add_overflow(cur, npages, &new) ||
			    new > limit)
				return -ENOMEM;
		} while (!atomic_long_try_cmpxchg(locked_vm, &cur, new));
	} else {
		mmap_write_lock(pages->source_mm);
		rc = __account_locked_vm(pages->source_mm, npages, true,
					 pages->source_task, false);
		mmap_write_unlock(pages->source_mm);
		if (rc)
			return rc;
	}

out_pinned_vm:
	atomic64_add(npages, &pages->source_mm->pinned_vm);
	return 0;
}

static void pages_uncharge(struct iopt_pages *pages, unsigned long npages)
{
	lockdep_assert_held(&pages->mutex);

	atomic64_sub(npages, &pages->source_mm->pinned_vm);
	if (pages->has_cap_ipc_lock)
		return;

	if (pages->account_mode == IOPT_PAGES_ACCOUNT_USER) {
		atomic_long_sub(npages, &pages->source_cred->user->locked_vm);
	} else {
		mmap_write_lock(pages->source_mm);
		__account_locked_vm(pages->source_mm, npages, false,
				    pages->source_task, false);
		mmap_write_unlock(pages->source_mm);
	}
}

/*
 * The PFN of a pinned index. Callers ask only for indices a node covers;
 * an index that is not pinned is a bug of iommufd and fails: no page
 * stands in for it (a domain or a driver would use memory that is not
 * the user's).
 */
static int pages_pfn(struct iopt_pages *pages, unsigned long index,
		     unsigned long *pfn)
{
	void *entry;

	lockdep_assert_held(&pages->mutex);

	entry = xa_load(&pages->pinned_pfns, index);
	if (WARN_ON_ONCE(!xa_is_value(entry)))
		return -EFAULT;
	*pfn = xa_to_value(entry);
	return 0;
}

/* PFNs handled per walk of pinned_pfns: the batch of these helpers */
#define PFN_BATCH 64

/*
 * The PFNs of the @n pinned indices from @index, in one walk; the same
 * contract as pages_pfn()
 */
static int pages_read_pfns(struct iopt_pages *pages, unsigned long index,
			   unsigned int n, unsigned long *pfns)
{
	XA_STATE(xas, &pages->pinned_pfns, index);
	unsigned int i;
	void *entry;
	int rc = 0;

	lockdep_assert_held(&pages->mutex);

	rcu_read_lock();
	for (i = 0; i < n; i++) {
		entry = i ? xas_next(&xas) : xas_load(&xas);
		if (WARN_ON_ONCE(!xa_is_value(entry))) {
			rc = -EFAULT;
			break;
		}
		pfns[i] = xa_to_value(entry);
	}
	rcu_read_unlock();
	return rc;
}

/* Unpin @n PFNs; contiguous ones go back in one call */
static void pages_unpin_pfns(struct iopt_pages *pages, unsigned long *pfns,
			     unsigned int n)
{
	unsigned long run_pfn = 0, run_len = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (run_len && run_pfn + run_len == pfns[i]) {
			run_len++;
			continue;
		}
		if (run_len)
			unpin_user_page_range_dirty_lock(pfn_to_page(run_pfn),
							 run_len,
							 pages->writable);
		run_pfn = pfns[i];
		run_len = 1;
	}
	if (run_len)
		unpin_user_page_range_dirty_lock(pfn_to_page(run_pfn), run_len,
						 pages->writable);
}

/*
 * Unpin [start, last], all pinned: PFN_BATCH entries taken out of
 * pinned_pfns per walk, under its lock, then unpinned outside it.
 * Cannot fail and does not allocate.
 */
static void pages_unpin_range(struct iopt_pages *pages, unsigned long start,
			      unsigned long last)
{
	XA_STATE(xas, &pages->pinned_pfns, start);
	unsigned long pfns[PFN_BATCH], found = 0, index = start;
	unsigned int n;
	void *entry;

	lockdep_assert_held(&pages->mutex);

	do {
		n = 0;
		xas_lock(&xas);
		xas_for_each(&xas, entry, last) {
			index = xas.xa_index;
			if (!WARN_ON(!xa_is_value(entry)))
				pfns[n++] = xa_to_value(entry);
			xas_store(&xas, NULL);
			if (n == PFN_BATCH)
				break;
		}
		xas_unlock(&xas);
		/*
		 * Not xas_pause(): the store may have freed the node it would
		 * step over, the walk goes on from the index after the last
		 */
		xas_set(&xas, index + 1);
		pages_unpin_pfns(pages, pfns, n);
		found += n;
		cond_resched();
	} while (n == PFN_BATCH);
	WARN_ON(found != last - start + 1);

	pages->npinned -= last - start + 1;
	pages_uncharge(pages, last - start + 1);
}

/*
 * Store the PFNs of @n pages just pinned at @index.. in one walk. Returns
 * how many were stored: all, or on an allocation failure the ones before
 * it (*rc set).
 */
static unsigned long pages_store_pfns(struct iopt_pages *pages,
				      unsigned long index, struct page **plist,
				      unsigned long n, int *rc)
{
	XA_STATE(xas, &pages->pinned_pfns, index);
	unsigned long i = 0;

	lockdep_assert_held(&pages->mutex);

	do {
		xas_lock(&xas);
		for (; i < n; i++) {
			xas_store(&xas, xa_mk_value(page_to_pfn(plist[i])));
			if (xas_error(&xas))
				break;
			xas_next(&xas);
		}
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_KERNEL_ACCOUNT));
	*rc = xas_error(&xas);
	return i;
}

/*
 * Pin [start, last], none of it pinned yet, in batches. On failure *next is
 * the first index not pinned: [start, *next) stays pinned for the caller
 * to unpin.
 */
static int pages_pin_range(struct iopt_pages *pages, unsigned long start,
			   unsigned long last, unsigned long *next)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long batch, index = start;
	struct mm_struct *remote_mm = NULL;
	struct page **plist;
	int rc = 0;

	lockdep_assert_held(&pages->mutex);
	*next = start;

	if (pages->writable)
		gup_flags |= FOLL_WRITE;

	batch = min(pin_batch_pages(), last - start + 1);
	if (iommufd_should_fail())
		return -ENOMEM;
	plist = kmalloc_array(batch, sizeof(*plist), GFP_KERNEL | __GFP_NOWARN);
	if (!plist && batch > PAGE_SIZE / sizeof(*plist)) {
		/* Fragmented memory: a page of them does too */
		batch = PAGE_SIZE / sizeof(*plist);
		plist = kmalloc_array(batch, sizeof(*plist), GFP_KERNEL);
	}
	if (!plist)
		return -ENOMEM;

	/* Another process (or a kthread) pins: the mm must still be alive */
	if (current->mm != pages->source_mm) {
		if (!mmget_not_zero(pages->source_mm)) {
			rc = -EFAULT;
			goto out_free;
		}
		remote_mm = pages->source_mm;
	}

	while (index <= last) {
		unsigned long n = min(batch, last - index + 1);
		uintptr_t uaddr = pages->uptr + index * PAGE_SIZE;
		long npinned;
		unsigned long i;

		rc = pages_charge(pages, n);
		if (rc)
			break;

		if (remote_mm) {
			mmap_read_lock(remote_mm);
			npinned = pin_user_pages_remote(remote_mm, uaddr, n,
							gup_flags, plist, NULL,
							NULL);
			mmap_read_unlock(remote_mm);
		} else {
			npinned = pin_user_pages_fast(uaddr, n, gup_flags,
						      plist);
		}
		if (npinned <= 0) {
			pages_uncharge(pages, n);
			rc = npinned ? npinned : -EFAULT;
			break;
		}
		if (npinned < n)
			pages_uncharge(pages, n - npinned);

		i = pages_store_pfns(pages, index, plist, npinned, &rc);
		if (rc) {
			unpin_user_pages(plist + i, npinned - i);
			pages_uncharge(pages, npinned - i);
		}
		pages->npinned += i;
		index += i;
		*next = index;
		if (rc)
			break;
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			break;
		}
		cond_resched();
	}

	if (remote_mm)
		mmput(remote_mm);
out_free:
	kfree(plist);
	return rc;
}

/* Unpin the indices of [start, last] that no node covers */
static void pages_unpin_uncovered(struct iopt_pages *pages,
				  unsigned long start, unsigned long last)
{
	struct interval_tree_span_iter dom, acc;

	lockdep_assert_held(&pages->mutex);

	interval_tree_for_each_span(&dom, &pages->domains_itree, start, last) {
		if (!dom.is_hole)
			continue;
		interval_tree_for_each_span(&acc, &pages->access_itree,
					    dom.start, dom.last) {
			if (acc.is_hole)
				pages_unpin_range(pages, acc.start, acc.last);
		}
	}
}

/*
 * Pin the indices of [start, last] that no node covers, before a node
 * covering them is inserted. On failure nothing stays pinned.
 */
static int pages_pin_uncovered(struct iopt_pages *pages, unsigned long start,
			       unsigned long last)
{
	struct interval_tree_span_iter dom, acc;
	unsigned long next;
	int rc;

	lockdep_assert_held(&pages->mutex);

	interval_tree_for_each_span(&dom, &pages->domains_itree, start, last) {
		if (!dom.is_hole)
			continue;
		interval_tree_for_each_span(&acc, &pages->access_itree,
					    dom.start, dom.last) {
			if (!acc.is_hole)
				continue;
			rc = pages_pin_range(pages, acc.start, acc.last, &next);
			if (rc)
				goto err_unpin;
		}
	}
	return 0;

err_unpin:
	/* The trees did not change: what is uncovered before next we pinned */
	if (next > start)
		pages_unpin_uncovered(pages, start, next - 1);
	return rc;
}

/*
 * Map the area into @domain: each run of physically contiguous memory with
 * one iommu_map(), so the domain uses the largest IOPTEs it can, unless
 * large pages are disabled: then each page on its own. On failure nothing
 * of the area is left in @domain.
 */
static int area_map_domain(struct iopt_area *area, struct iommu_domain *domain,
			   bool disable_large_pages)
{
	unsigned long start_byte = area->pages_offset;
	unsigned long end_byte = start_byte + iopt_area_length(area);
	unsigned long run_iova = iopt_area_iova(area);
	unsigned long run_len = 0, index, pfns[PFN_BATCH];
	unsigned int batch = 0, b = 0;
	phys_addr_t run_phys = 0;
	int rc;

	for (index = iopt_area_index(area);
	     index <= iopt_area_last_index(area); index++) {
		unsigned long pg_start = max(start_byte, index << PAGE_SHIFT);
		unsigned long pg_end = min(end_byte, (index + 1) << PAGE_SHIFT);
		phys_addr_t phys;

		if (b == batch) {
			batch = min_t(unsigned long, PFN_BATCH,
				      iopt_area_last_index(area) - index + 1);
			b = 0;
			rc = pages_read_pfns(area->pages, index, batch, pfns);
			if (rc)
				goto err_unmap;
		}
		phys = PFN_PHYS(pfns[b++]) + (pg_start & ~PAGE_MASK);

		if (run_len &&
		    (disable_large_pages || run_phys + run_len != phys)) {
			rc = iommu_map(domain, run_iova, run_phys, run_len,
				       area->iommu_prot);
			if (rc)
				goto err_unmap;
			run_iova += run_len;
			run_len = 0;
			cond_resched();
		}
		if (!run_len)
			run_phys = phys;
		run_len += pg_end - pg_start;
	}
	rc = iommu_map(domain, run_iova, run_phys, run_len, area->iommu_prot);
	if (rc)
		goto err_unmap;
	return 0;

err_unmap:
	/* Unmapped in the units it was mapped in: whole earlier runs */
	if (run_iova != iopt_area_iova(area))
		WARN_ON(iommu_unmap(domain, iopt_area_iova(area),
				    run_iova - iopt_area_iova(area)) !=
			run_iova - iopt_area_iova(area));
	return rc;
}

/**
 * iopt_area_fill_domain() - Map an area into one more domain of its IOAS
 * @area: The area
 * @domain: The domain
 * @first_domain: @domain is the first domain of the IOAS: pin the area and
 *		  put it in domains_itree first
 * @disable_large_pages: Map with PAGE_SIZE IOPTEs
 *
 * Context: Process context; iova_rwsem of the area's IOAS held.
 * Return: 0, or -ENOMEM / -EFAULT (pinning, charging) or the domain's
 * error; then nothing changed.
 */
int iopt_area_fill_domain(struct iopt_area *area, struct iommu_domain *domain,
			  bool first_domain, bool disable_large_pages)
{
	struct iopt_pages *pages = area->pages;
	int rc;

	lockdep_assert_held(&area->iopt->iova_rwsem);

	mutex_lock(&pages->mutex);
	if (first_domain) {
		if (WARN_ON(area->in_domains)) {
			rc = -EINVAL;
			goto out_unlock;
		}
		rc = pages_pin_uncovered(pages, iopt_area_index(area),
					 iopt_area_last_index(area));
		if (rc)
			goto out_unlock;
		interval_tree_insert(&area->pages_node, &pages->domains_itree);
		area->in_domains = true;
	}

	rc = area_map_domain(area, domain, disable_large_pages);
	if (rc && first_domain) {
		interval_tree_remove(&area->pages_node, &pages->domains_itree);
		area->in_domains = false;
		pages_unpin_uncovered(pages, iopt_area_index(area),
				      iopt_area_last_index(area));
	}
out_unlock:
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_area_unfill_domain() - Unmap an area from one domain of its IOAS
 * @area: The area, mapped into @domain by iopt_area_fill_domain()
 * @domain: The domain
 * @last_domain: It was the last domain of the IOAS: take the area out of
 *		 domains_itree and unpin what nothing else uses
 *
 * Cannot fail and does not allocate.
 *
 * Context: Process context; iova_rwsem of the area's IOAS held.
 */
void iopt_area_unfill_domain(struct iopt_area *area,
			     struct iommu_domain *domain, bool last_domain)
{
	struct iopt_pages *pages = area->pages;
	size_t unmapped;

	lockdep_assert_held(&area->iopt->iova_rwsem);

	/* The whole area: a multiple of the units it was mapped in */
	unmapped = iommu_unmap(domain, iopt_area_iova(area),
			       iopt_area_length(area));
	WARN_ON(unmapped != iopt_area_length(area));

	if (!last_domain)
		return;
	mutex_lock(&pages->mutex);
	if (!WARN_ON(!area->in_domains)) {
		interval_tree_remove(&area->pages_node, &pages->domains_itree);
		area->in_domains = false;
		pages_unpin_uncovered(pages, iopt_area_index(area),
				      iopt_area_last_index(area));
	}
	mutex_unlock(&pages->mutex);
}

static struct iopt_pages_access *
pages_find_access(struct iopt_pages *pages, unsigned long first,
		  unsigned long last)
{
	struct interval_tree_node *node;

	lockdep_assert_held(&pages->mutex);

	for (node = interval_tree_iter_first(&pages->access_itree, first, last);
	     node; node = interval_tree_iter_next(node, first, last)) {
		if (node->start == first && node->last == last)
			return container_of(node, struct iopt_pages_access,
					    node);
	}
	return NULL;
}

/* One more access pin of exactly [first, last] */
static int pages_access_get(struct iopt_pages *pages, unsigned long first,
			    unsigned long last)
{
	struct iopt_pages_access *access;
	int rc;

	lockdep_assert_held(&pages->mutex);

	access = pages_find_access(pages, first, last);
	if (access) {
		access->users++;
		return 0;
	}

	if (iommufd_should_fail())
		return -ENOMEM;
	access = kzalloc(sizeof(*access), GFP_KERNEL_ACCOUNT);
	if (!access)
		return -ENOMEM;
	rc = pages_pin_uncovered(pages, first, last);
	if (rc)
		goto err_free;
	access->node.start = first;
	access->node.last = last;
	access->users = 1;
	interval_tree_insert(&access->node, &pages->access_itree);
	return 0;

err_free:
	kfree(access);
	return rc;
}

/* false when nothing was pinned as [first, last]: a driver's bad unpin */
static bool pages_access_put(struct iopt_pages *pages, unsigned long first,
			     unsigned long last)
{
	struct iopt_pages_access *access;

	lockdep_assert_held(&pages->mutex);

	access = pages_find_access(pages, first, last);
	if (WARN_ON(!access))
		return false;
	if (--access->users)
		return true;
	interval_tree_remove(&access->node, &pages->access_itree);
	pages_unpin_uncovered(pages, first, last);
	kfree(access);
	return true;
}

/**
 * iopt_area_add_access() - Pin part of an area for an in-kernel access
 * @area: The area
 * @start_index: First index of the pages to pin, inside the area
 * @last_index: Last index
 * @out_pages: Gets the struct page of each index, in order
 * @flags: IOMMUFD_ACCESS_RW_WRITE: the access will write
 *
 * Undo with iopt_area_remove_access() of the same span.
 *
 * Context: Process context; iova_rwsem of the area's IOAS held.
 * Return: 0, -EPERM for a write pin of an area that is not writable or a
 * read pin of one that is not readable, -ENOMEM, -EFAULT.
 */
int iopt_area_add_access(struct iopt_area *area, unsigned long start_index,
			 unsigned long last_index, struct page **out_pages,
			 unsigned int flags)
{
	struct iopt_pages *pages = area->pages;
	unsigned long index, pfn;
	int rc;

	lockdep_assert_held(&area->iopt->iova_rwsem);

	if (!iopt_area_permits(area, flags & IOMMUFD_ACCESS_RW_WRITE))
		return -EPERM;

	mutex_lock(&pages->mutex);
	rc = pages_access_get(pages, start_index, last_index);
	if (rc)
		goto out_unlock;
	for (index = start_index; index <= last_index; index++) {
		rc = pages_pfn(pages, index, &pfn);
		if (rc)
			goto err_put;
		*out_pages++ = pfn_to_page(pfn);
	}
	area->num_accesses++;
	mutex_unlock(&pages->mutex);
	return 0;

err_put:
	pages_access_put(pages, start_index, last_index);
out_unlock:
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_area_remove_access() - Undo iopt_area_add_access()
 * @area: The area
 * @start_index: First index, as pinned
 * @last_index: Last index, as pinned
 *
 * Context: Process context; iova_rwsem of the area's IOAS held.
 * Return: true if a pin of exactly that span was there and is gone; false
 * (and nothing changed) for the unpin of something never pinned through
 * the area, a bug of the access's driver.
 */
bool iopt_area_remove_access(struct iopt_area *area,
			     unsigned long start_index,
			     unsigned long last_index)
{
	struct iopt_pages *pages = area->pages;
	bool removed = false;

	lockdep_assert_held(&area->iopt->iova_rwsem);

	mutex_lock(&pages->mutex);
	/* The area's count only drops for a pin that was there */
	if (!WARN_ON(!area->num_accesses) &&
	    pages_access_put(pages, start_index, last_index)) {
		area->num_accesses--;
		removed = true;
	}
	mutex_unlock(&pages->mutex);
	return removed;
}

/**
 * iopt_pages_rw_access() - Copy between a kernel buffer and pinned memory
 * @pages: The pages object
 * @start_byte: Its first byte to copy from or to
 * @data: The kernel buffer
 * @length: Bytes to copy, not 0
 * @flags: IOMMUFD_ACCESS_RW_WRITE: from @data into the memory, else back
 *
 * The pages are pinned for the time of the copy (pages a domain or an
 * access uses already are not pinned again).
 *
 * Context: Process context.
 * Return: 0, -EPERM for a write to memory pinned read-only, -ENOMEM,
 * -EFAULT.
 */
int iopt_pages_rw_access(struct iopt_pages *pages, unsigned long start_byte,
			 void *data, unsigned long length, unsigned int flags)
{
	unsigned long first = start_byte >> PAGE_SHIFT;
	unsigned long last = (start_byte + length - 1) >> PAGE_SHIFT;
	bool write = flags & IOMMUFD_ACCESS_RW_WRITE;
	int rc;

	if (write && !pages->writable)
		return -EPERM;

	mutex_lock(&pages->mutex);
	rc = pages_access_get(pages, first, last);
	if (rc)
		goto out_unlock;

	while (length) {
		unsigned long offset = start_byte & ~PAGE_MASK;
		unsigned long n = min(length, PAGE_SIZE - offset);
		unsigned long pfn;
		void *va;

		rc = pages_pfn(pages, start_byte >> PAGE_SHIFT, &pfn);
		if (rc)
			break;
		va = kmap_local_page(pfn_to_page(pfn));
		if (write)
			memcpy(va + offset, data, n);
		else
			memcpy(data, va + offset, n);
		kunmap_local(va);
		data += n;
		start_byte += n;
		length -= n;
	}

	/* Unpinned dirty: the pages are writable */
	pages_access_put(pages, first, last);
out_unlock:
	mutex_unlock(&pages->mutex);
	return rc;
}
