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
#include <linux/scatterlist.h>
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

/*
 * A record of a long physically contiguous span of pinned indices: where
 * an index has one, its PFN is not read back from a domain. Only a
 * shortcut: made when it can be, dropped as soon as any of its indices is
 * unpinned, so a record never outlives the pins it describes. Spans of
 * RECORD_PAGES or more only: at most one byte per pinned page.
 */
struct pages_run_record {
	struct interval_tree_node node;
	unsigned long pfn;
};

#define RECORD_PAGES 64

static void pages_record(struct iopt_pages *pages, unsigned long index,
			 unsigned long pfn, unsigned long npages)
{
	struct pages_run_record *rec;

	lockdep_assert_held(&pages->mutex);

	if (npages < RECORD_PAGES)
		return;
	rec = kmalloc(sizeof(*rec), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!rec)
		return;
	rec->node.start = index;
	rec->node.last = index + npages - 1;
	rec->pfn = pfn;
	interval_tree_insert(&rec->node, &pages->records_itree);
}

/* Record the long runs of @n pages just pinned at @index */
static void pages_record_pinned(struct iopt_pages *pages, unsigned long index,
				struct page **plist, unsigned long n)
{
	unsigned long i, j, pfn;

	for (i = 0; i < n; i = j) {
		pfn = page_to_pfn(plist[i]);
		for (j = i + 1; j < n && page_to_pfn(plist[j]) == pfn + j - i;
		     j++)
			;
		pages_record(pages, index + i, pfn, j - i);
	}
}

/* [start, last] is being unpinned: the records touching it go */
static void pages_drop_records(struct iopt_pages *pages, unsigned long start,
			       unsigned long last)
{
	struct interval_tree_node *node;

	lockdep_assert_held(&pages->mutex);

	while ((node = interval_tree_iter_first(&pages->records_itree, start,
						last))) {
		interval_tree_remove(node, &pages->records_itree);
		kfree(container_of(node, struct pages_run_record, node));
	}
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
	pages->records_itree = RB_ROOT_CACHED;
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
	if (WARN_ON(!RB_EMPTY_ROOT(&pages->records_itree.rb_root))) {
		mutex_lock(&pages->mutex);
		pages_drop_records(pages, 0, ULONG_MAX);
		mutex_unlock(&pages->mutex);
	}

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
 * The PFN of an index an access covers. Callers ask only for those; an
 * index without an entry is a bug of iommufd and fails: no page stands in
 * for it (a driver would use memory that is not the user's).
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

/* PFNs handled per step by the helpers below (an on-stack array) */
#define PFN_BATCH 64

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
 * Take the entries of [start, last] out of pinned_pfns, PFN_BATCH per
 * walk under its lock, and unpin those pages (@unpin) outside it: the
 * indices no node covers any more. Cannot fail and does not allocate.
 */
static void pages_erase_range(struct iopt_pages *pages, unsigned long start,
			      unsigned long last, bool unpin)
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
		if (unpin)
			pages_unpin_pfns(pages, pfns, n);
		found += n;
		cond_resched();
	} while (n == PFN_BATCH);
	WARN_ON(found != last - start + 1);

	if (unpin) {
		pages_drop_records(pages, start, last);
		pages->npinned -= last - start + 1;
		pages_uncharge(pages, last - start + 1);
	}
}

/*
 * Store @n PFNs at @index.. in pinned_pfns in one walk. Returns how many
 * were stored: all, or on an allocation failure the ones before it (*rc
 * set).
 */
static unsigned int pages_store_pfns(struct iopt_pages *pages,
				     unsigned long index,
				     const unsigned long *pfns, unsigned int n,
				     int *rc)
{
	XA_STATE(xas, &pages->pinned_pfns, index);
	unsigned int i = 0;

	lockdep_assert_held(&pages->mutex);

	do {
		xas_lock(&xas);
		for (; i < n; i++) {
			xas_store(&xas, xa_mk_value(pfns[i]));
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
 * Pins uncovered indices in batches; its page list and, when another
 * process pins, a reference on the mm are taken on first use.
 */
struct pages_pinner {
	struct iopt_pages *pages;
	struct page **plist;
	unsigned long batch;
	struct mm_struct *remote_mm;
};

static void pinner_done(struct pages_pinner *pin)
{
	if (pin->remote_mm)
		mmput(pin->remote_mm);
	kfree(pin->plist);
}

/*
 * Pin and charge the pages of @index up to at most @last into pin->plist.
 * Return: how many (at least one), or -errno with nothing pinned.
 */
static long pinner_pin(struct pages_pinner *pin, unsigned long index,
		       unsigned long last)
{
	struct iopt_pages *pages = pin->pages;
	uintptr_t uaddr = pages->uptr + index * PAGE_SIZE;
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long n;
	long npinned;
	int rc;

	lockdep_assert_held(&pages->mutex);

	if (fatal_signal_pending(current))
		return -EINTR;
	if (!pin->plist) {
		if (iommufd_should_fail())
			return -ENOMEM;
		pin->batch = pin_batch_pages();
		pin->plist = kmalloc_array(pin->batch, sizeof(*pin->plist),
					   GFP_KERNEL | __GFP_NOWARN);
		if (!pin->plist && pin->batch > PAGE_SIZE / sizeof(*pin->plist)) {
			/* Fragmented memory: a page of them does too */
			pin->batch = PAGE_SIZE / sizeof(*pin->plist);
			pin->plist = kmalloc_array(pin->batch,
						   sizeof(*pin->plist),
						   GFP_KERNEL);
		}
		if (!pin->plist)
			return -ENOMEM;
		/* Another process (or a kthread): the mm must still be alive */
		if (current->mm != pages->source_mm) {
			if (!mmget_not_zero(pages->source_mm))
				return -EFAULT;
			pin->remote_mm = pages->source_mm;
		}
	}

	n = min(pin->batch, last - index + 1);
	if (pages->writable)
		gup_flags |= FOLL_WRITE;
	rc = pages_charge(pages, n);
	if (rc)
		return rc;
	if (pin->remote_mm) {
		mmap_read_lock(pin->remote_mm);
		npinned = pin_user_pages_remote(pin->remote_mm, uaddr, n,
						gup_flags, pin->plist, NULL,
						NULL);
		mmap_read_unlock(pin->remote_mm);
	} else {
		npinned = pin_user_pages_fast(uaddr, n, gup_flags, pin->plist);
	}
	if (npinned <= 0) {
		pages_uncharge(pages, n);
		return npinned ? npinned : -EFAULT;
	}
	if (npinned < n)
		pages_uncharge(pages, n - npinned);
	pages->npinned += npinned;
	return npinned;
}

/* Give back @n pages of pin->plist from @first that found no user */
static void pinner_unpin(struct pages_pinner *pin, unsigned long first,
			 unsigned long n)
{
	if (!n)
		return;
	unpin_user_pages(pin->plist + first, n);
	pin->pages->npinned -= n;
	pages_uncharge(pin->pages, n);
}

/*
 * The PFNs of @n pages from pin->plist[@first], in @pfns (at most
 * PFN_BATCH)
 */
static void pinner_pfns(struct pages_pinner *pin, unsigned long first,
			unsigned int n, unsigned long *pfns)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		pfns[i] = page_to_pfn(pin->plist[first + i]);
}

/*
 * The IOVA of the first byte of @index in @area; for the index after the
 * area's last, the IOVA after the area.
 */
static unsigned long area_index_iova(struct iopt_area *area,
				     unsigned long index)
{
	unsigned long byte = clamp(index << PAGE_SHIFT, area->pages_offset,
				   area->pages_offset + iopt_area_length(area));

	return iopt_area_iova(area) + (byte - area->pages_offset);
}

/*
 * The PFN of @index, which @area maps in @domain, and in *npages how many
 * indices from it up to @last follow it contiguously, as far as a record
 * tells (else 1): from the record, else read back from @domain. 0 for a
 * hole in @domain, a bug of iommufd (page frame 0 is never user memory
 * that iommufd pins: firmware keeps it on x86, RAM starts above it on the
 * arm64 machines supported here).
 */
static unsigned long area_pfn_run(struct iopt_area *area,
				  struct iommu_domain *domain,
				  unsigned long index, unsigned long last,
				  unsigned long *npages)
{
	struct interval_tree_node *node;

	lockdep_assert_held(&area->pages->mutex);

	node = interval_tree_iter_first(&area->pages->records_itree, index,
					index);
	if (node) {
		*npages = min(node->last, last) - index + 1;
		return container_of(node, struct pages_run_record, node)->pfn +
		       index - node->start;
	}
	*npages = 1;
	return PHYS_PFN(iommu_iova_to_phys(domain,
					   area_index_iova(area, index)));
}

/*
 * The PFNs of @n indices of @area from @index: recorded, or read back from
 * its pfn_domain, which maps it (area->in_domains). A hole there is a bug
 * of iommufd and fails.
 */
static int area_read_pfns(struct iopt_area *area, unsigned long index,
			  unsigned int n, unsigned long *pfns)
{
	unsigned long pfn, cnt, k;
	unsigned int i;

	for (i = 0; i < n; i += cnt) {
		pfn = area_pfn_run(area, area->pfn_domain, index + i,
				   index + n - 1, &cnt);
		if (WARN_ON_ONCE(!pfn))
			return -EFAULT;
		for (k = 0; k < cnt; k++)
			pfns[i + k] = pfn + k;
	}
	return 0;
}

/*
 * The PFNs of up to @n indices from @index, which areas in domains cover,
 * read back from the domain of one of them. Return: how many (at least
 * one: up to the end of that area), or -errno.
 */
static int pages_domains_read(struct iopt_pages *pages, unsigned long index,
			      unsigned int n, unsigned long *pfns)
{
	struct interval_tree_node *node;
	struct iopt_area *area;
	int rc;

	lockdep_assert_held(&pages->mutex);

	node = interval_tree_iter_first(&pages->domains_itree, index, index);
	if (WARN_ON_ONCE(!node))
		return -EFAULT;
	area = container_of(node, struct iopt_area, pages_node);
	n = min_t(unsigned long, n, node->last - index + 1);
	rc = area_read_pfns(area, index, n, pfns);
	return rc ? rc : n;
}

/* A physically contiguous run of pages: @npages indices from @index */
struct pfn_run {
	unsigned long index;
	unsigned long pfn;
	unsigned long npages;
};

/* Unpin @npages contiguous pages from @pfn, rescheduling on long runs */
static void pages_unpin_contig(struct iopt_pages *pages, unsigned long pfn,
			       unsigned long npages)
{
	unsigned long n;

	while (npages) {
		n = min_t(unsigned long, npages, SZ_16M >> PAGE_SHIFT);
		unpin_user_page_range_dirty_lock(pfn_to_page(pfn), n,
						 pages->writable);
		pfn += n;
		npages -= n;
		if (npages)
			cond_resched();
	}
}

/*
 * Unpin the indices of @runs (ascending) that no node covers: a merge of
 * the runs with the uncovered spans of what they cover.
 */
static void pages_unpin_runs(struct iopt_pages *pages,
			     const struct pfn_run *runs, unsigned int nr)
{
	struct interval_tree_span_iter dom, acc;
	unsigned long total = 0;
	unsigned int r = 0;

	lockdep_assert_held(&pages->mutex);

	if (!nr)
		return;
	interval_tree_for_each_span(&dom, &pages->domains_itree, runs[0].index,
				    runs[nr - 1].index + runs[nr - 1].npages - 1) {
		if (!dom.is_hole)
			continue;
		interval_tree_for_each_span(&acc, &pages->access_itree,
					    dom.start, dom.last) {
			if (!acc.is_hole)
				continue;
			pages_drop_records(pages, acc.start, acc.last);
			for (; r < nr; r++) {
				const struct pfn_run *run = &runs[r];
				unsigned long run_last = run->index +
							 run->npages - 1;
				unsigned long s = max(acc.start, run->index);
				unsigned long e = min(acc.last, run_last);

				if (run->index > acc.last)
					break;
				if (s <= e) {
					pages_unpin_contig(pages,
							   run->pfn + s -
								   run->index,
							   e - s + 1);
					total += e - s + 1;
				}
				/* The run goes on into the next span */
				if (run_last > acc.last)
					break;
			}
		}
	}
	if (total) {
		pages->npinned -= total;
		pages_uncharge(pages, total);
	}
}

/* Runs buffered by area_unmap_unpin() per unmap: one IOTLB flush each */
#define UNMAP_RUNS 256

/*
 * Unmap [@iova, @end) from @domain and unpin the @nr runs it mapped, the
 * indices no node covers. An unmap that came short (a bug) leaks the pins
 * rather than unpin pages a device may still reach.
 */
static void domain_unmap_unpin(struct iopt_pages *pages,
			       struct iommu_domain *domain, unsigned long iova,
			       unsigned long end, const struct pfn_run *runs,
			       unsigned int nr)
{
	if (iova != end && WARN_ON(iommu_unmap(domain, iova, end - iova) !=
				   end - iova)) {
		/* Uncovered now: no record may speak for them any more */
		if (nr)
			pages_drop_records(pages, runs[0].index,
					   runs[nr - 1].index +
						   runs[nr - 1].npages - 1);
		return;
	}
	pages_unpin_runs(pages, runs, nr);
}

/*
 * Unmap from @domain, the area's last domain, the area's pages from its
 * first index to before @end_index, exactly what @domain maps of it, and
 * unpin the ones no node covers: the area is out of domains_itree
 * already. Their PFNs are recorded or read back from @domain, in
 * physically contiguous runs; the domain is unmapped in chunks that end
 * where the memory is not contiguous, so no IOPTE is cut. pages->mutex is
 * held throughout: the PFNs are nowhere else. Cannot fail; a buffer of
 * runs is allocated if it can be, else a few on the stack do.
 */
static void area_unmap_unpin(struct iopt_area *area,
			     struct iommu_domain *domain,
			     unsigned long end_index)
{
	unsigned long chunk_iova = iopt_area_iova(area), iova, index, pfn, cnt;
	struct pfn_run stack_runs[8], *runs;
	unsigned int nr = 0, max_runs, step = 0;
	bool contig = false;

	lockdep_assert_held(&area->pages->mutex);

	if (end_index == iopt_area_index(area))
		return;
	/* fail_iommufd takes the fallback: the chunks get short */
	runs = iommufd_should_fail() ? NULL :
	       kmalloc_array(UNMAP_RUNS, sizeof(*runs),
			     GFP_KERNEL | __GFP_NOWARN);
	max_runs = UNMAP_RUNS;
	if (!runs) {
		runs = stack_runs;
		max_runs = ARRAY_SIZE(stack_runs);
	}

	for (index = iopt_area_index(area); index < end_index; index += cnt) {
		if (!(++step % PFN_BATCH))
			cond_resched();
		iova = area_index_iova(area, index);
		pfn = area_pfn_run(area, domain, index, end_index - 1, &cnt);
		if (WARN_ON_ONCE(!pfn)) {
			/* Not mapped: a bug. Leak its pin, cut around it */
			domain_unmap_unpin(area->pages, domain, chunk_iova, iova,
					   runs, nr);
			chunk_iova = area_index_iova(area, index + 1);
			nr = 0;
			contig = false;
			continue;
		}
		if (contig && runs[nr - 1].pfn + runs[nr - 1].npages == pfn) {
			runs[nr - 1].npages += cnt;
			continue;
		}
		if (nr == max_runs) {
			/* A cut between two pages no IOPTE can span */
			domain_unmap_unpin(area->pages, domain, chunk_iova, iova,
					   runs, nr);
			chunk_iova = iova;
			nr = 0;
		}
		runs[nr++] = (struct pfn_run){ .index = index, .pfn = pfn,
					       .npages = cnt };
		contig = true;
	}
	domain_unmap_unpin(area->pages, domain, chunk_iova,
			   area_index_iova(area, end_index), runs, nr);
	if (runs != stack_runs)
		kfree(runs);
}

/* Runs a mapper gathers before it maps them with one IOTLB sync */
#define MAP_RUNS 128
/* The longest run in a scatterlist: an entry's length is an unsigned int */
#define MAP_RUN_PAGES (SZ_1G >> PAGE_SHIFT)

/*
 * Maps the consecutive indices of an area into a domain: the pages are
 * gathered in runs of physically contiguous memory, so the domain uses
 * the largest IOPTEs it can (every page a run of its own with @one_page),
 * and up to MAP_RUNS runs are mapped by one iommu_map_sg(), one IOTLB
 * sync for them all. [iopt_area_iova(area), run_iova) is mapped; the
 * pending runs, indices [run_index, next_index), are not yet. Without
 * the buffer (a failed allocation) each run is mapped on its own.
 */
struct area_mapper {
	struct iopt_area *area;
	struct iommu_domain *domain;
	bool one_page;
	unsigned long next_index;
	unsigned long run_index;
	unsigned long run_iova;
	unsigned int nr, max;
	struct pfn_run *runs;
	struct scatterlist *sgl;
	struct pfn_run one;
};

static void mapper_init(struct area_mapper *m, struct iopt_area *area,
			struct iommu_domain *domain, bool one_page)
{
	unsigned int max_runs;

	*m = (struct area_mapper){
		.area = area,
		.domain = domain,
		.one_page = one_page,
		.next_index = iopt_area_index(area),
		.run_index = iopt_area_index(area),
		.run_iova = iopt_area_iova(area),
		.runs = &m->one,
		.max = 1,
	};
	/*
	 * PAGE_SIZE IOPTEs: iommu_map_sg() would join contiguous pages into
	 * larger ones. fail_iommufd takes the fallback: a run per map.
	 */
	if (one_page || iommufd_should_fail())
		return;
	max_runs = min_t(unsigned long, MAP_RUNS,
			 iopt_area_last_index(area) - iopt_area_index(area) + 1);
	m->runs = kmalloc_array(max_runs, sizeof(*m->runs) + sizeof(*m->sgl),
				GFP_KERNEL | __GFP_NOWARN);
	if (!m->runs) {
		m->runs = &m->one;
		return;
	}
	m->sgl = (struct scatterlist *)(m->runs + max_runs);
	m->max = max_runs;
}

static void mapper_done(struct area_mapper *m)
{
	if (m->runs != &m->one)
		kfree(m->runs);
}

/* The bytes of the area run @run covers: their first one's address */
static phys_addr_t mapper_run(struct area_mapper *m,
			      const struct pfn_run *run, size_t *len)
{
	unsigned long start_byte = m->area->pages_offset;
	unsigned long end_byte = start_byte + iopt_area_length(m->area);
	unsigned long first = max(start_byte, run->index << PAGE_SHIFT);
	unsigned long end = min(end_byte,
				(run->index + run->npages) << PAGE_SHIFT);

	*len = end - first;
	return PFN_PHYS(run->pfn) + (first & ~PAGE_MASK);
}

/* Map the pending runs, all or none */
static int mapper_flush(struct area_mapper *m)
{
	unsigned long iova = m->run_iova;
	phys_addr_t phys;
	unsigned int i;
	ssize_t mapped;
	size_t len;
	int rc;

	if (!m->nr)
		return 0;
	if (m->sgl) {
		sg_init_table(m->sgl, m->nr);
		for (i = 0; i < m->nr; i++) {
			phys = mapper_run(m, &m->runs[i], &len);
			sg_set_page(&m->sgl[i], pfn_to_page(PHYS_PFN(phys)), len,
				    offset_in_page(phys));
			iova += len;
		}
		mapped = iommu_map_sg(m->domain, m->run_iova, m->sgl, m->nr,
				      m->area->iommu_prot);
		if (mapped < 0)
			return mapped;
		if (WARN_ON(mapped != iova - m->run_iova)) {
			iommu_unmap(m->domain, m->run_iova, mapped);
			return -EFAULT;
		}
	} else {
		for (i = 0; i < m->nr; i++) {
			phys = mapper_run(m, &m->runs[i], &len);
			rc = iommu_map(m->domain, iova, phys, len,
				       m->area->iommu_prot);
			if (rc) {
				if (iova != m->run_iova)
					iommu_unmap(m->domain, m->run_iova,
						    iova - m->run_iova);
				return rc;
			}
			iova += len;
		}
	}
	m->run_iova = iova;
	m->run_index = m->next_index;
	m->nr = 0;
	return 0;
}

/*
 * The pages of the next @n indices are @pfns. On failure next_index is
 * the first of them not taken.
 */
static int mapper_add(struct area_mapper *m, const unsigned long *pfns,
		      unsigned int n)
{
	struct pfn_run *run;
	unsigned int i;
	int rc;

	for (i = 0; i < n; i++, m->next_index++) {
		run = m->nr ? &m->runs[m->nr - 1] : NULL;
		if (run && !m->one_page && run->pfn + run->npages == pfns[i] &&
		    (!m->sgl || run->npages < MAP_RUN_PAGES)) {
			run->npages++;
			continue;
		}
		if (m->nr == m->max) {
			rc = mapper_flush(m);
			if (rc)
				return rc;
			cond_resched();
		}
		m->runs[m->nr++] = (struct pfn_run){ .index = m->next_index,
						     .pfn = pfns[i],
						     .npages = 1 };
	}
	return 0;
}

/* Map the indices up to @last that areas in domains cover: copied */
static int map_from_domains(struct area_mapper *m, unsigned long last)
{
	unsigned long pfns[PFN_BATCH];
	int n, rc;

	while (m->next_index <= last) {
		n = pages_domains_read(m->area->pages, m->next_index,
				       min_t(unsigned long, PFN_BATCH,
					     last - m->next_index + 1), pfns);
		if (n < 0)
			return n;
		rc = mapper_add(m, pfns, n);
		if (rc)
			return rc;
		cond_resched();
	}
	return 0;
}

/* Map the indices up to @last that accesses cover: from pinned_pfns */
static int map_from_access(struct area_mapper *m, unsigned long last)
{
	XA_STATE(xas, &m->area->pages->pinned_pfns, m->next_index);
	unsigned long pfns[PFN_BATCH];
	unsigned int i, n;
	void *entry;
	int rc = 0;

	while (m->next_index <= last) {
		n = min_t(unsigned long, PFN_BATCH, last - m->next_index + 1);
		xas_set(&xas, m->next_index);
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
		rc = rc ?: mapper_add(m, pfns, n);
		if (rc)
			return rc;
		cond_resched();
	}
	return 0;
}

/*
 * Pin the indices up to @last that nothing covers and map them: no
 * record of them is kept, the domain has their PFNs. Pages pinned and not
 * taken by the mapper are given back here.
 */
static int map_from_pins(struct area_mapper *m, struct pages_pinner *pin,
			 unsigned long last)
{
	unsigned long pfns[PFN_BATCH], first;
	unsigned int i, n;
	long npinned;
	int rc;

	while (m->next_index <= last) {
		npinned = pinner_pin(pin, m->next_index, last);
		if (npinned < 0)
			return npinned;
		for (i = 0; i < npinned; i += n) {
			n = min_t(unsigned long, PFN_BATCH, npinned - i);
			pinner_pfns(pin, i, n, pfns);
			first = m->next_index;
			rc = mapper_add(m, pfns, n);
			if (rc) {
				pinner_unpin(pin, i + m->next_index - first,
					     npinned - i - (m->next_index - first));
				return rc;
			}
		}
		/* Taken: an unpin from now on drops the records */
		pages_record_pinned(m->area->pages, m->next_index - npinned,
				    pin->plist, npinned);
		cond_resched();
	}
	return 0;
}

/*
 * Map @area into @domain, the first domain of its IOAS: what no node
 * covers is pinned, the rest is mapped from where its PFNs are. On
 * failure nothing of the area is left in @domain and nothing stays pinned
 * for it.
 */
static int area_fill_first(struct iopt_area *area, struct iommu_domain *domain,
			   bool one_page)
{
	struct pages_pinner pin = { .pages = area->pages };
	struct iopt_pages *pages = area->pages;
	struct interval_tree_span_iter dom, acc;
	struct area_mapper m;
	int rc = 0;

	lockdep_assert_held(&pages->mutex);

	mapper_init(&m, area, domain, one_page);
	interval_tree_for_each_span(&dom, &pages->domains_itree,
				    iopt_area_index(area),
				    iopt_area_last_index(area)) {
		if (!dom.is_hole) {
			rc = map_from_domains(&m, dom.last);
			if (rc)
				goto err_unmap;
			continue;
		}
		interval_tree_for_each_span(&acc, &pages->access_itree,
					    dom.start, dom.last) {
			if (acc.is_hole)
				rc = map_from_pins(&m, &pin, acc.last);
			else
				rc = map_from_access(&m, acc.last);
			if (rc)
				goto err_unmap;
		}
	}
	rc = mapper_flush(&m);
	if (rc)
		goto err_unmap;
	mapper_done(&m);
	pinner_done(&pin);
	return 0;

err_unmap:
	/* The pending runs are not in the domain: their PFNs are known */
	pages_unpin_runs(pages, m.runs, m.nr);
	area_unmap_unpin(area, domain, m.run_index);
	mapper_done(&m);
	pinner_done(&pin);
	return rc;
}

/*
 * Map @area, in domains already, into one more domain: its PFNs are read
 * back from its pfn_domain. On failure nothing of it is left in @domain.
 */
static int area_fill_more(struct iopt_area *area, struct iommu_domain *domain,
			  bool one_page)
{
	unsigned long index, last = iopt_area_last_index(area);
	unsigned long pfns[PFN_BATCH];
	struct area_mapper m;
	unsigned int n;
	int rc;

	lockdep_assert_held(&area->pages->mutex);

	mapper_init(&m, area, domain, one_page);
	for (index = iopt_area_index(area); index <= last; index += n) {
		n = min_t(unsigned long, PFN_BATCH, last - index + 1);
		rc = area_read_pfns(area, index, n, pfns) ?:
		     mapper_add(&m, pfns, n);
		if (rc)
			goto err_unmap;
		cond_resched();
	}
	rc = mapper_flush(&m);
	if (rc)
		goto err_unmap;
	mapper_done(&m);
	return 0;

err_unmap:
	if (m.run_iova != iopt_area_iova(area))
		WARN_ON(iommu_unmap(domain, iopt_area_iova(area),
				    m.run_iova - iopt_area_iova(area)) !=
			m.run_iova - iopt_area_iova(area));
	mapper_done(&m);
	return rc;
}

/**
 * iopt_area_fill_domain() - Map an area into one more domain of its IOAS
 * @area: The area
 * @domain: The domain
 * @first_domain: @domain is the first domain of the IOAS: pin the area,
 *		  map it and put it in domains_itree
 * @disable_large_pages: Map with PAGE_SIZE IOPTEs
 *
 * Context: Process context; iova_rwsem of the area's IOAS held.
 * Return: 0, or -ENOMEM / -EFAULT / -EINTR (pinning, charging) or the
 * domain's error; then nothing changed.
 */
int iopt_area_fill_domain(struct iopt_area *area, struct iommu_domain *domain,
			  bool first_domain, bool disable_large_pages)
{
	struct iopt_pages *pages = area->pages;
	int rc;

	lockdep_assert_held(&area->iopt->iova_rwsem);

	mutex_lock(&pages->mutex);
	if (WARN_ON(area->in_domains == first_domain)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (!first_domain) {
		rc = area_fill_more(area, domain, disable_large_pages);
		goto out_unlock;
	}
	rc = area_fill_first(area, domain, disable_large_pages);
	if (rc)
		goto out_unlock;
	interval_tree_insert(&area->pages_node, &pages->domains_itree);
	area->in_domains = true;
	area->pfn_domain = domain;
out_unlock:
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_area_unfill_domain() - Unmap an area from one domain of its IOAS
 * @area: The area, mapped into @domain by iopt_area_fill_domain()
 * @domain: The domain
 * @keep: Another domain of the IOAS that keeps the area mapped (and
 *	  becomes its pfn_domain if @domain was), or NULL if @domain is the
 *	  last: then the area leaves domains_itree and what nothing else uses
 *	  is unpinned, under pages->mutex
 *
 * Cannot fail.
 *
 * Context: Process context; iova_rwsem of the area's IOAS held.
 */
void iopt_area_unfill_domain(struct iopt_area *area,
			     struct iommu_domain *domain,
			     struct iommu_domain *keep)
{
	struct iopt_pages *pages = area->pages;
	size_t unmapped;

	lockdep_assert_held(&area->iopt->iova_rwsem);

	mutex_lock(&pages->mutex);
	if (WARN_ON(!area->in_domains))
		goto out_unlock;
	if (keep) {
		/* PFNs are read back from a domain that has them */
		if (area->pfn_domain == domain)
			area->pfn_domain = keep;
		mutex_unlock(&pages->mutex);
		/* The whole area: a multiple of the units it was mapped in */
		unmapped = iommu_unmap(domain, iopt_area_iova(area),
				       iopt_area_length(area));
		WARN_ON(unmapped != iopt_area_length(area));
		return;
	}
	/* The last domain is the one PFNs were read back from */
	WARN_ON_ONCE(area->pfn_domain != domain);
	interval_tree_remove(&area->pages_node, &pages->domains_itree);
	area->in_domains = false;
	area_unmap_unpin(area, domain, iopt_area_last_index(area) + 1);
	area->pfn_domain = NULL;
out_unlock:
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

/*
 * Entries in pinned_pfns for the indices of [start, last] that no access
 * covers, before an access node covering them is inserted: read back from
 * a domain where areas in domains cover them, else pinned. Afterwards the
 * same as pages_access_drop() of the span.
 */
static int pages_access_fill(struct iopt_pages *pages, unsigned long start,
			     unsigned long last, unsigned long *next)
{
	struct pages_pinner pin = { .pages = pages };
	struct interval_tree_span_iter acc, dom;
	unsigned long pfns[PFN_BATCH], index;
	unsigned int stored;
	long n;
	int rc = 0;

	lockdep_assert_held(&pages->mutex);

	*next = start;
	interval_tree_for_each_span(&acc, &pages->access_itree, start, last) {
		if (!acc.is_hole)
			continue;
		interval_tree_for_each_span(&dom, &pages->domains_itree,
					    acc.start, acc.last) {
			for (index = dom.start; index <= dom.last; index += n) {
				unsigned long i = 0;

				if (!dom.is_hole) {
					n = pages_domains_read(pages, index,
							       min_t(unsigned long,
								     PFN_BATCH,
								     dom.last - index + 1),
							       pfns);
					if (n < 0) {
						rc = n;
						goto out;
					}
					stored = pages_store_pfns(pages, index,
								  pfns, n, &rc);
					*next = index + stored;
					if (rc)
						goto out;
					continue;
				}
				n = pinner_pin(&pin, index, dom.last);
				if (n < 0) {
					rc = n;
					goto out;
				}
				for (i = 0; i < n; i += stored) {
					unsigned int k = min_t(unsigned long,
							       PFN_BATCH, n - i);

					pinner_pfns(&pin, i, k, pfns);
					stored = pages_store_pfns(pages,
								  index + i,
								  pfns, k, &rc);
					*next = index + i + stored;
					if (rc) {
						pinner_unpin(&pin, i + stored,
							     n - i - stored);
						goto out;
					}
				}
			}
		}
	}
out:
	pinner_done(&pin);
	return rc;
}

/*
 * Take the entries of [start, last] that no access covers any more (its
 * node was removed) out of pinned_pfns; unpin those no area in domains
 * covers.
 */
static void pages_access_drop(struct iopt_pages *pages, unsigned long start,
			      unsigned long last)
{
	struct interval_tree_span_iter acc, dom;

	lockdep_assert_held(&pages->mutex);

	interval_tree_for_each_span(&acc, &pages->access_itree, start, last) {
		if (!acc.is_hole)
			continue;
		interval_tree_for_each_span(&dom, &pages->domains_itree,
					    acc.start, acc.last)
			pages_erase_range(pages, dom.start, dom.last,
					  dom.is_hole);
	}
}

/* One more access pin of exactly [first, last] */
static int pages_access_get(struct iopt_pages *pages, unsigned long first,
			    unsigned long last)
{
	struct iopt_pages_access *access;
	unsigned long next;
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
	rc = pages_access_fill(pages, first, last, &next);
	if (rc)
		goto err_drop;
	access->node.start = first;
	access->node.last = last;
	access->users = 1;
	interval_tree_insert(&access->node, &pages->access_itree);
	return 0;

err_drop:
	/* The trees did not change: what has an entry is before next */
	if (next > first)
		pages_access_drop(pages, first, next - 1);
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
	pages_access_drop(pages, first, last);
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
