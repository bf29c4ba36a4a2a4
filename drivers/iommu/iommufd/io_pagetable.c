// SPDX-License-Identifier: GPL-2.0
/*
 * The io_pagetable: the IOVA space of an IOAS (areas, reserved and allowed
 * ranges, alignment) and the domains mirroring it. The model and the terms
 * are at the top of io_pagetable.h, the locks in iommufd_private.h.
 *
 * Every function taking both locks takes domains_rwsem first, then
 * iova_rwsem. Changing the areas takes iova_rwsem for write through
 * iopt_iova_write_lock() (and domains_rwsem for read, to walk the domains
 * to fill). Changing the set of domains or accesses takes both for write
 * with a plain down_write() of iova_rwsem: no MAP can be filling then, a
 * MAP holds domains_rwsem for read until its areas are done or gone.
 * A MAP fills its areas, and undoes a failed fill, with iova_rwsem
 * downgraded to read (io_pagetable.h).
 */
#include <linux/mm.h>
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/iova_bitmap.h>
#include <uapi/linux/iommufd.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/slab.h>

#include "io_pagetable.h"

static struct iopt_area *iopt_area_from_node(struct interval_tree_node *node)
{
	return node ? container_of(node, struct iopt_area, node) : NULL;
}

/* The areas of @iopt in IOVA order: first, then next */
static struct iopt_area *iopt_area_first(struct io_pagetable *iopt)
{
	return iopt_area_from_node(interval_tree_iter_first(&iopt->area_itree,
							    0, ULONG_MAX));
}

static struct iopt_area *iopt_area_next(struct iopt_area *area)
{
	return iopt_area_from_node(interval_tree_iter_next(&area->node, 0,
							   ULONG_MAX));
}

/* The area with the lowest IOVA touching [start, last] */
static struct iopt_area *iopt_area_touching(struct io_pagetable *iopt,
					    unsigned long start,
					    unsigned long last)
{
	return iopt_area_from_node(interval_tree_iter_first(&iopt->area_itree,
							    start, last));
}

/* The area of @iova if it is done: a filling one is a hole to readers */
static struct iopt_area *iopt_area_at(struct io_pagetable *iopt,
				      unsigned long iova)
{
	struct iopt_area *area = iopt_area_touching(iopt, iova, iova);

	return area && !iopt_area_filling(area) ? area : NULL;
}

/*
 * Debug-only: an area is in domains exactly while its IOAS has a domain,
 * and its PFNs are read back from one of them
 */
static void iopt_check_invariants(struct io_pagetable *iopt)
{
	bool has_domains = !xa_empty(&iopt->domains);
	struct iommu_domain *domain;
	struct iopt_area *area;
	unsigned long index;

	if (!IS_ENABLED(CONFIG_IOMMUFD_TEST))
		return;
	lockdep_assert_held(&iopt->iova_rwsem);
	for (area = iopt_area_first(iopt); area; area = iopt_area_next(area)) {
		/* Only a MAP sees its own areas filling, and not here */
		WARN_ON(iopt_area_filling(area));
		WARN_ON(area->in_domains != has_domains);
		WARN_ON(iopt_area_iova(area) % iopt->iova_alignment);
		if (!area->in_domains) {
			WARN_ON(area->pfn_domain);
			continue;
		}
		/* PFNs are read back from a domain that has them */
		xa_for_each(&iopt->domains, index, domain)
			if (domain == area->pfn_domain)
				break;
		WARN_ON(!domain || domain != area->pfn_domain);
	}
}

/**
 * iopt_init_table() - Initialize an empty IOVA space
 * @iopt: The io_pagetable
 *
 * Context: Any context.
 */
void iopt_init_table(struct io_pagetable *iopt)
{
	init_rwsem(&iopt->domains_rwsem);
	init_rwsem(&iopt->iova_rwsem);
	xa_init_flags(&iopt->domains, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	xa_init_flags(&iopt->access_list, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	iopt->area_itree = RB_ROOT_CACHED;
	iopt->allowed_itree = RB_ROOT_CACHED;
	iopt->reserved_itree = RB_ROOT_CACHED;
	iopt->iova_alignment = 1;
	atomic_set(&iopt->unfilling, 0);
	init_waitqueue_head(&iopt->unfill_wq);
}

/**
 * iopt_iova_write_lock() - Take iova_rwsem for write to change the trees
 * @iopt: The io_pagetable
 *
 * A MAP that failed to fill its areas takes them out again under the write
 * lock; until it has, they are in area_itree, marked filling. Wait for it,
 * so that no writer sees such an area. Unlock with up_write().
 *
 * Context: Process context; sleeps. May hold domains_rwsem, not iova_rwsem.
 */
void iopt_iova_write_lock(struct io_pagetable *iopt)
{
	down_write(&iopt->iova_rwsem);
	while (atomic_read(&iopt->unfilling)) {
		up_write(&iopt->iova_rwsem);
		wait_event(iopt->unfill_wq, !atomic_read(&iopt->unfilling));
		down_write(&iopt->iova_rwsem);
	}
}

static void iopt_free_itree(struct rb_root_cached *root, size_t offset)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(root, 0, ULONG_MAX))) {
		interval_tree_remove(node, root);
		kfree((void *)node - offset);
	}
}

/**
 * iopt_destroy_table() - Free an IOVA space nothing is built on any more
 * @iopt: The io_pagetable; its domains and accesses are gone
 *
 * Context: Process context.
 */
void iopt_destroy_table(struct io_pagetable *iopt)
{
	unsigned long unmapped;

	WARN_ON(!xa_empty(&iopt->domains));
	WARN_ON(!xa_empty(&iopt->access_list));
	/* Fails only if an access kept pins: they would leak */
	WARN_ON(iopt_unmap_all(iopt, &unmapped));

	down_write(&iopt->iova_rwsem);
	iopt_free_itree(&iopt->reserved_itree,
			offsetof(struct iopt_reserved, node));
	iopt_free_itree(&iopt->allowed_itree,
			offsetof(struct iopt_allowed, node));
	up_write(&iopt->iova_rwsem);
	xa_destroy(&iopt->domains);
	xa_destroy(&iopt->access_list);
}

/*
 * Recompute iova_alignment from what needs it: the smallest IOPTE of each
 * domain, each access that pins pages, disabled large pages. Raising it
 * fails with -EADDRINUSE if an area does not fit it; lowering it cannot
 * fail.
 */
static int iopt_update_alignment(struct io_pagetable *iopt)
{
	unsigned long align = 1, index;
	struct iommufd_access *access;
	struct iommu_domain *domain;
	struct iopt_area *area;

	lockdep_assert_held_write(&iopt->domains_rwsem);
	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (iopt->disable_large_pages)
		align = PAGE_SIZE;
	xa_for_each(&iopt->domains, index, domain)
		align = max(align, 1UL << __ffs(domain->pgsize_bitmap));
	xa_for_each(&iopt->access_list, index, access)
		align = max(align, access->iova_alignment);

	if (align > iopt->iova_alignment) {
		for (area = iopt_area_first(iopt); area; area = iopt_area_next(area)) {
			if (iopt_area_iova(area) % align ||
			    iopt_area_length(area) % align ||
			    (area->pages_offset & ~PAGE_MASK) % align)
				return -EADDRINUSE;
		}
	}
	iopt->iova_alignment = align;
	return 0;
}

/* Reserve [start, last]; it may overlap other reservations only */
static int __iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
			       unsigned long last, void *owner)
{
	struct iopt_reserved *reserved;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (interval_tree_iter_first(&iopt->area_itree, start, last) ||
	    interval_tree_iter_first(&iopt->allowed_itree, start, last))
		return -EADDRINUSE;

	reserved = kzalloc(sizeof(*reserved), GFP_KERNEL_ACCOUNT);
	if (!reserved)
		return -ENOMEM;
	reserved->node.start = start;
	reserved->node.last = last;
	reserved->owner = owner;
	interval_tree_insert(&reserved->node, &iopt->reserved_itree);
	return 0;
}

static void __iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	struct interval_tree_node *node, *next;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (node = interval_tree_iter_first(&iopt->reserved_itree, 0,
					     ULONG_MAX);
	     node; node = next) {
		struct iopt_reserved *reserved =
			container_of(node, struct iopt_reserved, node);

		next = interval_tree_iter_next(node, 0, ULONG_MAX);
		if (reserved->owner != owner)
			continue;
		interval_tree_remove(node, &iopt->reserved_itree);
		kfree(reserved);
	}
}

/**
 * iopt_reserve_iova() - Keep [@start, @last] from ever being mapped
 * @iopt: The io_pagetable
 * @start: First IOVA
 * @last: Last IOVA (inclusive)
 * @owner: Whose reservation it is; iopt_remove_reserved_iova() of the same
 *	   owner removes it
 *
 * Context: Process context; takes iova_rwsem.
 * Return: 0, -EADDRINUSE if the range touches an area or an allowed range,
 * -ENOMEM.
 */
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last, void *owner)
{
	int rc;

	iopt_iova_write_lock(iopt);
	rc = __iopt_reserve_iova(iopt, start, last, owner);
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_remove_reserved_iova() - Remove every reservation of @owner
 * @iopt: The io_pagetable
 * @owner: The owner given to iopt_reserve_iova()
 *
 * Context: Process context; takes iova_rwsem.
 */
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	down_write(&iopt->iova_rwsem);
	__iopt_remove_reserved_iova(iopt, owner);
	up_write(&iopt->iova_rwsem);
}

/**
 * iopt_table_enforce_dev_resv_regions() - Reserve a device's reserved IOVA
 * @iopt: The io_pagetable the device is attached to
 * @dev: The device; the owner of the reservations
 * @sw_msi_start: Set to the start of the device's software MSI window, or
 *		  PHYS_ADDR_MAX if it has none
 *
 * Direct-relaxable regions (e.g. RMRRs of USB and graphics devices) are
 * not reserved: userspace may map over them.
 *
 * Context: Process context; takes iova_rwsem.
 * Return: 0; -EADDRINUSE if a region touches an area or an allowed range,
 * -ENOMEM, -EINVAL (fault injection); on failure no reservation of @dev
 * is left in @iopt.
 */
int iopt_table_enforce_dev_resv_regions(struct io_pagetable *iopt,
					struct device *dev,
					phys_addr_t *sw_msi_start)
{
	struct iommu_resv_region *resv;
	LIST_HEAD(resv_regions);
	int rc = 0;

	*sw_msi_start = PHYS_ADDR_MAX;
	if (iommufd_should_fail())
		return -EINVAL;

	iopt_iova_write_lock(iopt);
	iommu_get_resv_regions(dev, &resv_regions);
	list_for_each_entry(resv, &resv_regions, list) {
		if (resv->type == IOMMU_RESV_DIRECT_RELAXABLE || !resv->length)
			continue;
		if (resv->type == IOMMU_RESV_SW_MSI)
			*sw_msi_start = resv->start;
		rc = __iopt_reserve_iova(iopt, resv->start,
					 resv->start + resv->length - 1, dev);
		if (rc) {
			__iopt_remove_reserved_iova(iopt, dev);
			break;
		}
	}
	iommu_put_resv_regions(dev, &resv_regions);
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_set_allow_iova() - Replace the allowed ranges
 * @iopt: The io_pagetable
 * @allowed_iova: The new ranges (struct iopt_allowed); gets the old ones,
 *		  which the caller frees
 *
 * Context: Process context; takes iova_rwsem.
 * Return: 0, or -EADDRINUSE if a new range touches a reserved range; then
 * nothing changed.
 */
int iopt_set_allow_iova(struct io_pagetable *iopt,
			struct rb_root_cached *allowed_iova)
{
	struct interval_tree_node *node;
	struct rb_root_cached old;

	iopt_iova_write_lock(iopt);
	for (node = interval_tree_iter_first(allowed_iova, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (interval_tree_iter_first(&iopt->reserved_itree,
					     node->start, node->last)) {
			up_write(&iopt->iova_rwsem);
			return -EADDRINUSE;
		}
	}
	old = iopt->allowed_itree;
	iopt->allowed_itree = *allowed_iova;
	*allowed_iova = old;
	up_write(&iopt->iova_rwsem);
	return 0;
}

/*
 * Can [start, last] hold @length bytes at an IOVA aligned to @align, with
 * @page_offset as its offset in a page?
 */
static bool iopt_try_place(unsigned long start, unsigned long last,
			   unsigned long length, unsigned long align,
			   unsigned long page_offset, unsigned long *iova)
{
	unsigned long candidate, candidate_last;

	if (check_add_overflow(start, align - 1, &candidate))
		return false;
	candidate = (candidate & ~(align - 1)) | page_offset;
	if (candidate < start ||
	    check_add_overflow(candidate, length - 1, &candidate_last) ||
	    candidate_last > last)
		return false;
	*iova = candidate;
	return true;
}

/* The lowest fitting hole of [start, last] with no area and no reservation */
static bool iopt_find_hole(struct io_pagetable *iopt, unsigned long start,
			   unsigned long last, unsigned long length,
			   unsigned long align, unsigned long page_offset,
			   unsigned long *iova)
{
	struct interval_tree_span_iter area, resv;

	interval_tree_for_each_span(&area, &iopt->area_itree, start, last) {
		if (!area.is_hole)
			continue;
		interval_tree_for_each_span(&resv, &iopt->reserved_itree,
					    area.start, area.last) {
			if (resv.is_hole &&
			    iopt_try_place(resv.start, resv.last, length, align,
					   page_offset, iova))
				return true;
		}
	}
	return false;
}

/*
 * Choose the IOVA of a new mapping of @length bytes whose memory starts at
 * @addr_hint: aligned like the memory (up to a huge page), so the domains
 * can use large IOPTEs; never 0; only in allowed ranges if there are some.
 */
static int iopt_alloc_iova(struct io_pagetable *iopt, unsigned long *iova,
			   unsigned long addr_hint, unsigned long length)
{
	unsigned long page_offset = addr_hint & ~PAGE_MASK;
	unsigned long win_start = PAGE_SIZE, win_last = ULONG_MAX - PAGE_SIZE;
	struct interval_tree_span_iter allowed;
	unsigned long align, max_align = PAGE_SIZE;

	lockdep_assert_held(&iopt->iova_rwsem);

	if (length >= ULONG_MAX / 2)
		return -EOVERFLOW;

#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	max_align = HPAGE_PMD_SIZE;
#endif
	align = roundup_pow_of_two(length);
	if (addr_hint)
		align = min(align, 1UL << __ffs(addr_hint));
	align = min(align, max_align);
	if (align < iopt->iova_alignment)
		return -EINVAL;
	/*
	 * page_offset is a multiple of the lowest set bit of addr_hint, so of
	 * align: OR-ing it into an aligned IOVA keeps the alignment and gives
	 * the IOVA the memory's offset in its page.
	 */

	if (RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root))
		return iopt_find_hole(iopt, win_start, win_last, length, align,
				      page_offset, iova) ? 0 : -ENOSPC;

	interval_tree_for_each_span(&allowed, &iopt->allowed_itree, win_start,
				    win_last) {
		if (allowed.is_hole)
			continue;
		if (iopt_find_hole(iopt, allowed.start, allowed.last, length,
				   align, page_offset, iova))
			return 0;
	}
	return -ENOSPC;
}

static int iopt_check_fixed_iova(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length)
{
	unsigned long last;

	lockdep_assert_held(&iopt->iova_rwsem);

	if (iova % iopt->iova_alignment)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (interval_tree_iter_first(&iopt->reserved_itree, iova, last))
		return -EINVAL;
	if (interval_tree_iter_first(&iopt->area_itree, iova, last))
		return -EEXIST;
	return 0;
}

/* A domain of @iopt other than @domain, or NULL */
static struct iommu_domain *iopt_other_domain(struct io_pagetable *iopt,
					      struct iommu_domain *domain)
{
	struct iommu_domain *iter;
	unsigned long index;

	lockdep_assert_held(&iopt->domains_rwsem);

	xa_for_each(&iopt->domains, index, iter)
		if (iter != domain)
			return iter;
	return NULL;
}

/*
 * Unmap @area from the domains of @iopt with an index below @end_index
 * (the ones a failed fill got to); the first domain goes last, each other
 * one handing the PFNs over to it
 */
static void iopt_area_unfill_domains(struct iopt_area *area,
				     struct io_pagetable *iopt,
				     unsigned long end_index)
{
	struct iommu_domain *domain, *first = NULL;
	unsigned long index;

	lockdep_assert_held(&iopt->domains_rwsem);

	xa_for_each(&iopt->domains, index, domain) {
		if (index >= end_index)
			break;
		if (!first) {
			first = domain;
			continue;
		}
		iopt_area_unfill_domain(area, domain, first);
	}
	if (first)
		iopt_area_unfill_domain(area, first, NULL);
}

/* Map @area into every domain of @iopt; on failure into none */
static int iopt_area_fill_domains(struct iopt_area *area,
				  struct io_pagetable *iopt)
{
	struct iommu_domain *domain;
	unsigned long index;
	int rc;

	lockdep_assert_held(&iopt->domains_rwsem);

	xa_for_each(&iopt->domains, index, domain) {
		rc = iopt_area_fill_domain(area, domain, !area->in_domains,
					   iopt->disable_large_pages);
		if (rc)
			goto err_unfill;
	}
	return 0;

err_unfill:
	iopt_area_unfill_domains(area, iopt, index);
	return rc;
}

/* Take @area out of @iopt entirely; cannot fail */
static void iopt_area_destroy(struct iopt_area *area, struct io_pagetable *iopt)
{
	iopt_area_unfill_domains(area, iopt, ULONG_MAX);
	interval_tree_remove(&area->node, &iopt->area_itree);
	iopt_put_pages(area->pages);
	kfree(area);
}

/**
 * struct iopt_pages_list - One piece of a mapping being made
 * @next: In the list of pieces, in IOVA order
 * @pages: The memory; the piece holds a reference until an area takes it
 * @area: The area made for it
 * @start_byte: The first byte of @pages it maps
 * @length: Bytes
 * @writable: The source allows write mappings
 */
struct iopt_pages_list {
	struct list_head next;
	struct iopt_pages *pages;
	struct iopt_area *area;
	unsigned long start_byte;
	unsigned long length;
	bool writable;
};

static void iopt_free_pages_list(struct list_head *pages_list)
{
	struct iopt_pages_list *elm, *tmp;

	list_for_each_entry_safe(elm, tmp, pages_list, next) {
		if (elm->pages)
			iopt_put_pages(elm->pages);
		kfree(elm->area);
		list_del(&elm->next);
		kfree(elm);
	}
}

/*
 * Map the pieces of @pages_list, @length bytes in all, at one contiguous
 * IOVA range, one area each, into every domain. All or nothing. The areas
 * are placed under iova_rwsem held for write and filled under it held for
 * read (the model in io_pagetable.h).
 */
static int iopt_map_pages(struct io_pagetable *iopt,
			  struct list_head *pages_list, unsigned long length,
			  unsigned long *iova, unsigned long addr_hint,
			  int iommu_prot, unsigned int flags)
{
	struct iopt_pages_list *elm;
	unsigned long cur;
	int rc;

	down_read(&iopt->domains_rwsem);
	iopt_iova_write_lock(iopt);

	if (length % iopt->iova_alignment) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (flags & IOPT_ALLOC_IOVA)
		rc = iopt_alloc_iova(iopt, iova, addr_hint, length);
	else
		rc = iopt_check_fixed_iova(iopt, *iova, length);
	if (rc)
		goto out_unlock;

	cur = *iova;
	list_for_each_entry(elm, pages_list, next) {
		struct iopt_area *area;

		/* Each piece becomes an area: each must fit the alignment */
		if (elm->length % iopt->iova_alignment ||
		    (elm->start_byte & ~PAGE_MASK) % iopt->iova_alignment) {
			rc = -EINVAL;
			goto out_unlock;
		}
		if ((iommu_prot & IOMMU_WRITE) && !elm->writable) {
			rc = -EPERM;
			goto out_unlock;
		}
		area = kzalloc(sizeof(*area), GFP_KERNEL_ACCOUNT);
		if (!area) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		area->iopt = iopt;
		area->iommu_prot = iommu_prot;
		area->pages_offset = elm->start_byte;
		area->node.start = cur;
		area->node.last = cur + elm->length - 1;
		area->pages_node.start = elm->start_byte >> PAGE_SHIFT;
		area->pages_node.last =
			(elm->start_byte + elm->length - 1) >> PAGE_SHIFT;
		/* The piece keeps its reference until the area is done */
		area->pages = elm->pages;
		area->filling = true;
		elm->area = area;
		cur += elm->length;
	}
	list_for_each_entry(elm, pages_list, next)
		interval_tree_insert(&elm->area->node, &iopt->area_itree);

	/* The IOVA is taken: readers may go on while the memory is pinned */
	downgrade_write(&iopt->iova_rwsem);
	iommufd_test_map_delay();

	list_for_each_entry(elm, pages_list, next) {
		rc = iopt_area_fill_domains(elm->area, iopt);
		if (rc)
			goto err_unfill;
	}

	/* Nothing can fail any more: the areas take the references */
	list_for_each_entry(elm, pages_list, next) {
		/* Pairs with iopt_area_filling(): the fill is seen done */
		smp_store_release(&elm->area->filling, false);
		elm->pages = NULL;
		elm->area = NULL;
	}
	iopt_check_invariants(iopt);
	up_read(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	return 0;

err_unfill:
	/* The failed area unfilled itself; the ones before it are filled */
	list_for_each_entry_continue_reverse(elm, pages_list, next)
		iopt_area_unfill_domains(elm->area, iopt, ULONG_MAX);
	/* Writers that come in between wait (iopt_iova_write_lock()) */
	atomic_inc(&iopt->unfilling);
	up_read(&iopt->iova_rwsem);
	iommufd_test_unfill_delay();
	down_write(&iopt->iova_rwsem);
	list_for_each_entry(elm, pages_list, next) {
		interval_tree_remove(&elm->area->node, &iopt->area_itree);
		elm->area->pages = NULL;
	}
	if (atomic_dec_and_test(&iopt->unfilling))
		wake_up_all(&iopt->unfill_wq);
out_unlock:
	iopt_check_invariants(iopt);
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_map_user_pages() - Map user memory into an IOVA space
 * @ictx: The context (accounting mode)
 * @iopt: The io_pagetable
 * @iova: The IOVA to map at, or with IOPT_ALLOC_IOVA set to the one chosen
 * @uptr: The user memory
 * @length: Bytes
 * @iommu_prot: IOMMU_READ / IOMMU_WRITE, and IOMMU_CACHE
 * @flags: IOPT_ALLOC_IOVA
 *
 * The memory is pinned now if the IOVA space has domains, else on first
 * use.
 *
 * Context: Process context; @uptr is in current's mm.
 * Return: 0; -EINVAL (length, alignment, reserved), -EOVERFLOW, -EEXIST,
 * -ENOSPC, -EFAULT, -ENOMEM (also over RLIMIT_MEMLOCK), or a domain's error.
 */
int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, void __user *uptr,
			unsigned long length, int iommu_prot,
			unsigned int flags)
{
	struct iopt_pages_list elm = {};
	LIST_HEAD(pages_list);
	unsigned long end;
	int rc;

	if (!length || length > SIZE_MAX - PAGE_SIZE)
		return -EINVAL;
	if (check_add_overflow((uintptr_t)uptr, length, &end))
		return -EOVERFLOW;

	elm.pages = iopt_alloc_pages(ictx, uptr, length,
				     iommu_prot & IOMMU_WRITE);
	if (IS_ERR(elm.pages))
		return PTR_ERR(elm.pages);
	elm.start_byte = (uintptr_t)uptr & ~PAGE_MASK;
	elm.length = length;
	elm.writable = iommu_prot & IOMMU_WRITE;
	list_add(&elm.next, &pages_list);

	rc = iopt_map_pages(iopt, &pages_list, length, iova, (uintptr_t)uptr,
			    iommu_prot, flags);
	if (elm.pages)
		iopt_put_pages(elm.pages);
	kfree(elm.area);
	return rc;
}

/**
 * iopt_area_contig_init() - Start a walk over areas covering a range
 * @iter: The iterator
 * @iopt: The io_pagetable; iova_rwsem held
 * @iova: First IOVA of the range
 * @last_iova: Last IOVA (inclusive)
 *
 * The walk stops at the first gap (an area still filling is one, see
 * io_pagetable.h); iopt_area_contig_done() tells whether
 * the whole range was covered.
 *
 * Context: iova_rwsem held.
 * Return: the area containing @iova, or NULL.
 */
struct iopt_area *iopt_area_contig_init(struct iopt_area_contig_iter *iter,
					struct io_pagetable *iopt,
					unsigned long iova,
					unsigned long last_iova)
{
	lockdep_assert_held(&iopt->iova_rwsem);

	iter->cur_iova = iova;
	iter->last_iova = last_iova;
	iter->area = iopt_area_at(iopt, iova);
	return iter->area;
}

/**
 * iopt_area_contig_next() - The area right after the current one
 * @iter: The iterator
 *
 * Context: iova_rwsem held.
 * Return: the next area if it starts right after the current one and the
 * range goes on, else NULL.
 */
struct iopt_area *iopt_area_contig_next(struct iopt_area_contig_iter *iter)
{
	unsigned long last;

	if (!iter->area)
		return NULL;
	last = iopt_area_last_iova(iter->area);
	if (last >= iter->last_iova)
		return NULL;
	iter->cur_iova = last + 1;
	iter->area = iopt_area_at(iter->area->iopt, iter->cur_iova);
	return iter->area;
}

/* References on the pages behind [iova, iova + length), one piece per area */
static int iopt_get_pages(struct io_pagetable *iopt, unsigned long iova,
			  unsigned long length, struct list_head *pages_list)
{
	struct iopt_area_contig_iter iter;
	unsigned long last_iova;
	struct iopt_area *area;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last_iova))
		return -EOVERFLOW;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_contig_init(&iter, iopt, iova, last_iova); area;
	     area = iopt_area_contig_next(&iter)) {
		struct iopt_pages_list *elm;
		unsigned long start, last;

		elm = kzalloc(sizeof(*elm), GFP_KERNEL_ACCOUNT);
		if (!elm) {
			rc = -ENOMEM;
			goto err_free;
		}
		iopt_area_contig_span(&iter, &start, &last);
		elm->start_byte = iopt_area_iova_to_byte(area, start);
		elm->length = last - start + 1;
		elm->writable = area->iommu_prot & IOMMU_WRITE;
		kref_get(&area->pages->kref);
		elm->pages = area->pages;
		list_add_tail(&elm->next, pages_list);
	}
	if (!iopt_area_contig_done(&iter)) {
		rc = -ENOENT;
		goto err_free;
	}
	up_read(&iopt->iova_rwsem);
	return 0;

err_free:
	up_read(&iopt->iova_rwsem);
	iopt_free_pages_list(pages_list);
	return rc;
}

/**
 * iopt_copy_iova() - Map what one IOVA range maps at another IOVA
 * @dst: The io_pagetable to map into
 * @src: The io_pagetable whose range is copied (may be @dst)
 * @dst_iova: The IOVA to map at, or with IOPT_ALLOC_IOVA the one chosen
 * @src_iova: The source range's first IOVA
 * @length: Bytes; the source range must be mapped without a gap
 * @iommu_prot: IOMMU_READ / IOMMU_WRITE, and IOMMU_CACHE
 * @flags: IOPT_ALLOC_IOVA
 *
 * The new areas share the pinned pages of the source: nothing is pinned
 * twice. Any part of an area is a source, also one starting or ending
 * inside a page; only the destination's alignment applies to it.
 *
 * No lock of @src is held while those of @dst are taken: the pages are
 * referenced under @src's iova_rwsem, which is dropped before the mapping
 * takes @dst's domains_rwsem and iova_rwsem in the usual order. So @src
 * may be @dst without any lock being taken twice, and a source unmapped
 * in between leaves its pages to the copy, which holds references on them.
 *
 * Context: Process context.
 * Return: 0; -ENOENT (source not completely mapped), -EPERM (write
 * mapping of a read-only source), or the errors of iopt_map_user_pages().
 */
int iopt_copy_iova(struct io_pagetable *dst, struct io_pagetable *src,
		   unsigned long *dst_iova, unsigned long src_iova,
		   unsigned long length, int iommu_prot, unsigned int flags)
{
	struct iopt_pages_list *first;
	LIST_HEAD(pages_list);
	int rc;

	rc = iopt_get_pages(src, src_iova, length, &pages_list);
	if (rc)
		return rc;
	first = list_first_entry(&pages_list, struct iopt_pages_list, next);
	/* Aligned like the memory, as a MAP of it would be */
	rc = iopt_map_pages(dst, &pages_list, length, dst_iova,
			    first->pages->uptr + first->start_byte,
			    iommu_prot, flags);
	iopt_free_pages_list(&pages_list);
	return rc;
}

/*
 * Remove every area inside [start, last]. An area sticking out of the
 * range stops the walk with -ENOENT (areas are never split); areas removed
 * before it stay removed. In-kernel accesses pinning an area are told to
 * let go first.
 */
static int iopt_unmap_iova_range(struct io_pagetable *iopt,
				 unsigned long start, unsigned long last,
				 unsigned long *unmapped)
{
	unsigned long unmapped_bytes = 0, notified_iova = 0;
	bool notified = false;
	struct iopt_area *area;
	int rc = 0;

again:
	down_read(&iopt->domains_rwsem);
	iopt_iova_write_lock(iopt);
	while ((area = iopt_area_touching(iopt, start, last))) {
		unsigned long area_iova = iopt_area_iova(area);
		unsigned long area_length = iopt_area_length(area);

		if (area_iova < start || iopt_area_last_iova(area) > last) {
			rc = -ENOENT;
			break;
		}

		/* No pinner runs: they hold iova_rwsem for read */
		if (area->num_accesses) {
			if (notified && notified_iova == area_iova) {
				/* The access did not unpin when told to */
				rc = -EBUSY;
				break;
			}
			area->prevent_access = true;
			up_write(&iopt->iova_rwsem);
			up_read(&iopt->domains_rwsem);
			iommufd_access_notify_unmap(iopt, area_iova,
						    area_length);
			notified = true;
			notified_iova = area_iova;
			goto again;
		}

		iopt_area_destroy(area, iopt);
		unmapped_bytes += area_length;
		cond_resched();
	}
	if (!rc && !unmapped_bytes)
		rc = -ENOENT;
	/* The area the accesses were told about, if it is still there */
	if (notified) {
		area = iopt_area_touching(iopt, notified_iova, notified_iova);
		if (area && iopt_area_iova(area) == notified_iova)
			area->prevent_access = false;
	}
	iopt_check_invariants(iopt);
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	*unmapped = unmapped_bytes;
	return rc;
}

/**
 * iopt_unmap_iova() - Unmap every area inside a range
 * @iopt: The io_pagetable
 * @iova: First IOVA of the range
 * @length: Bytes, not 0
 * @unmapped: Gets the bytes unmapped
 *
 * Context: Process context.
 * Return: 0; -ENOENT if nothing was mapped in the range or an area sticks
 * out of it (areas before it may be unmapped already), -EOVERFLOW,
 * -EINVAL, -EBUSY (an in-kernel access did not let go).
 */
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped)
{
	unsigned long last;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	return iopt_unmap_iova_range(iopt, iova, last, unmapped);
}

/**
 * iopt_unmap_all() - Unmap everything
 * @iopt: The io_pagetable
 * @unmapped: Gets the bytes unmapped
 *
 * Context: Process context.
 * Return: 0, or -EBUSY if an in-kernel access did not let go.
 */
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped)
{
	int rc;

	rc = iopt_unmap_iova_range(iopt, 0, ULONG_MAX, unmapped);
	/* Nothing mapped is fine here */
	return rc == -ENOENT ? 0 : rc;
}

/**
 * iopt_table_add_domain() - Mirror the IOVA space into one more domain
 * @iopt: The io_pagetable
 * @domain: A paging domain; every area is mapped into it now and every
 *	    later one as it is made
 *
 * IOVA outside the domain's aperture becomes reserved, and the alignment
 * grows to the domain's smallest IOPTE.
 *
 * Context: Process context; takes domains_rwsem and iova_rwsem.
 * Return: 0; -EINVAL if the smallest IOPTE is larger than PAGE_SIZE,
 * -EADDRINUSE if an area is outside the aperture, in an allowed range that
 * the aperture excludes, or does not fit the new alignment, -ENOMEM,
 * -EFAULT, or the domain's error; then nothing changed.
 */
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain)
{
	const struct iommu_domain_geometry *geo = &domain->geometry;
	struct iopt_area *area, *failed;
	struct iommu_domain *keep;
	bool first_domain;
	u32 index;
	int rc;

	if (!domain->pgsize_bitmap ||
	    1UL << __ffs(domain->pgsize_bitmap) > PAGE_SIZE)
		return -EINVAL;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);

	if (geo->aperture_start) {
		rc = __iopt_reserve_iova(iopt, 0, geo->aperture_start - 1,
					 domain);
		if (rc)
			goto err_reserved;
	}
	if (geo->aperture_end < ULONG_MAX) {
		rc = __iopt_reserve_iova(iopt, geo->aperture_end + 1,
					 ULONG_MAX, domain);
		if (rc)
			goto err_reserved;
	}

	first_domain = xa_empty(&iopt->domains);
	rc = xa_alloc(&iopt->domains, &index, domain, xa_limit_32b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		goto err_reserved;
	rc = iopt_update_alignment(iopt);
	if (rc)
		goto err_erase;

	for (area = iopt_area_first(iopt); area; area = iopt_area_next(area)) {
		rc = iopt_area_fill_domain(area, domain, first_domain,
					   iopt->disable_large_pages);
		if (rc)
			goto err_unfill;
	}
	iopt_check_invariants(iopt);
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return 0;

err_unfill:
	failed = area;
	keep = iopt_other_domain(iopt, domain);
	for (area = iopt_area_first(iopt); area; area = iopt_area_next(area)) {
		if (area == failed)
			break;
		iopt_area_unfill_domain(area, domain, keep);
	}
err_erase:
	xa_erase(&iopt->domains, index);
	/* Lowering the alignment cannot fail */
	WARN_ON(iopt_update_alignment(iopt));
err_reserved:
	__iopt_remove_reserved_iova(iopt, domain);
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_table_remove_domain() - Stop mirroring into a domain
 * @iopt: The io_pagetable
 * @domain: A domain added by iopt_table_add_domain(); no device uses it
 *
 * Everything is unmapped from @domain; with the last domain gone, pages
 * no access and no other area in domains (COPY) uses are unpinned. Cannot
 * fail.
 *
 * Context: Process context; takes domains_rwsem and iova_rwsem.
 */
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain)
{
	struct iommu_domain *iter, *keep;
	struct iopt_area *area;
	unsigned long index;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);

	xa_for_each(&iopt->domains, index, iter)
		if (iter == domain)
			break;
	if (WARN_ON(iter != domain))
		goto out_unlock;
	xa_erase(&iopt->domains, index);
	keep = iopt_other_domain(iopt, domain);

	for (area = iopt_area_first(iopt); area; area = iopt_area_next(area))
		iopt_area_unfill_domain(area, domain, keep);
	__iopt_remove_reserved_iova(iopt, domain);
	WARN_ON(iopt_update_alignment(iopt));
	iopt_check_invariants(iopt);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/**
 * iopt_disable_large_pages() - Map everything with PAGE_SIZE IOPTEs
 * @iopt: The io_pagetable
 *
 * Context: Process context; takes domains_rwsem and iova_rwsem.
 * Return: 0; -EINVAL if the IOVA space has both domains and areas (they
 * are mapped already), -EADDRINUSE if an area is not PAGE_SIZE aligned.
 */
int iopt_disable_large_pages(struct io_pagetable *iopt)
{
	int rc = 0;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	if (iopt->disable_large_pages)
		goto out_unlock;
	if (!xa_empty(&iopt->domains) &&
	    !RB_EMPTY_ROOT(&iopt->area_itree.rb_root)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	/* Read without the locks by IOMMU_OPTION and the compat ioctls */
	WRITE_ONCE(iopt->disable_large_pages, true);
	rc = iopt_update_alignment(iopt);
	if (rc)
		WRITE_ONCE(iopt->disable_large_pages, false);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_enable_large_pages() - Undo iopt_disable_large_pages()
 * @iopt: The io_pagetable
 *
 * Only later mappings use large IOPTEs.
 *
 * Context: Process context; takes domains_rwsem and iova_rwsem.
 */
void iopt_enable_large_pages(struct io_pagetable *iopt)
{
	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	WRITE_ONCE(iopt->disable_large_pages, false);
	WARN_ON(iopt_update_alignment(iopt));
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/**
 * iopt_add_access() - Attach an in-kernel access to the IOVA space
 * @iopt: The io_pagetable
 * @access: The access; its iova_alignment joins the IOAS alignment
 *
 * Context: Process context; takes domains_rwsem and iova_rwsem.
 * Return: 0 with access->iopt_access_list_id set; -EADDRINUSE if an area
 * does not fit the access's alignment, -ENOMEM.
 */
int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access)
{
	u32 id;
	int rc;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	rc = xa_alloc(&iopt->access_list, &id, access, xa_limit_16b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		goto out_unlock;
	rc = iopt_update_alignment(iopt);
	if (rc) {
		xa_erase(&iopt->access_list, id);
		goto out_unlock;
	}
	access->iopt_access_list_id = id;
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_remove_access() - Detach an in-kernel access
 * @iopt: The io_pagetable
 * @access: The access, which unpinned everything it pinned
 * @iopt_access_list_id: Its id from iopt_add_access()
 *
 * Context: Process context; takes domains_rwsem and iova_rwsem.
 */
void iopt_remove_access(struct io_pagetable *iopt,
			struct iommufd_access *access, u32 iopt_access_list_id)
{
	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	WARN_ON(xa_erase(&iopt->access_list, iopt_access_list_id) != access);
	WARN_ON(iopt_update_alignment(iopt));
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/* Clear the dirty bits of every area, before tracking starts */
static int iopt_clear_dirty_data(struct io_pagetable *iopt,
				 struct iommu_domain *domain)
{
	const struct iommu_dirty_ops *ops = domain->dirty_ops;
	struct iommu_iotlb_gather gather;
	struct iommu_dirty_bitmap dirty = {
		.gather = &gather,
	};
	struct iopt_area *area;
	int rc = 0;

	lockdep_assert_held(&iopt->iova_rwsem);

	iommu_iotlb_gather_init(&gather);
	for (area = iopt_area_first(iopt); area; area = iopt_area_next(area)) {
		/* Being mapped now: a hole, as to every reader */
		if (iopt_area_filling(area))
			continue;
		rc = ops->read_and_clear_dirty(domain, iopt_area_iova(area),
					       iopt_area_length(area), 0,
					       &dirty);
		if (rc)
			break;
	}
	iommu_iotlb_sync(domain, &gather);
	return rc;
}

/**
 * iopt_set_dirty_tracking() - Start or stop dirty tracking of a domain
 * @iopt: The io_pagetable @domain mirrors
 * @domain: A domain allocated with dirty tracking support
 * @enable: Start (clearing stale dirty bits first) or stop
 *
 * Context: Process context; takes domains_rwsem and iova_rwsem for read.
 * Return: 0, -EINVAL if the domain cannot track, or the driver's error.
 */
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable)
{
	const struct iommu_dirty_ops *ops = domain->dirty_ops;
	int rc;

	if (!ops)
		return -EINVAL;

	down_read(&iopt->domains_rwsem);
	down_read(&iopt->iova_rwsem);
	if (enable) {
		rc = iopt_clear_dirty_data(iopt, domain);
		if (rc)
			goto out_unlock;
	}
	rc = ops->set_dirty_tracking(domain, enable);
out_unlock:
	up_read(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	return rc;
}

struct iopt_dirty_walk {
	struct io_pagetable *iopt;
	struct iommu_domain *domain;
	unsigned long flags;
	struct iommu_iotlb_gather *gather;
};

/* One window of the user bitmap: the areas mapping it, each in turn */
static int iopt_dirty_window(struct iova_bitmap *bitmap, unsigned long iova,
			     size_t length, void *opaque)
{
	struct iopt_dirty_walk *walk = opaque;
	const struct iommu_dirty_ops *ops = walk->domain->dirty_ops;
	struct iommu_dirty_bitmap dirty = {
		.bitmap = bitmap,
		.gather = walk->gather,
	};
	struct iopt_area_contig_iter iter;
	struct iopt_area *area;
	int rc;

	for (area = iopt_area_contig_init(&iter, walk->iopt, iova,
					  iova + length - 1);
	     area; area = iopt_area_contig_next(&iter)) {
		unsigned long start, last;

		iopt_area_contig_span(&iter, &start, &last);
		rc = ops->read_and_clear_dirty(walk->domain, start,
					       last - start + 1, walk->flags,
					       &dirty);
		if (rc)
			return rc;
	}
	return iopt_area_contig_done(&iter) ? 0 : -EINVAL;
}

/**
 * iopt_read_and_clear_dirty_data() - Report dirty IOVAs into a user bitmap
 * @iopt: The io_pagetable @domain mirrors
 * @domain: A domain tracking dirty IOVAs
 * @flags: IOMMU_DIRTY_NO_CLEAR
 * @bitmap: The request of IOMMU_HWPT_GET_DIRTY_BITMAP, checked by the
 *	    caller: the range is aligned and does not wrap
 *
 * Bit n of the user bitmap stands for [iova + n * page_size, + page_size);
 * the range must be mapped without a gap. Dirty bits are cleared as they
 * are read unless @flags says otherwise, and the IOTLB is flushed for
 * them once at the end.
 *
 * Context: Process context; takes domains_rwsem and iova_rwsem for read.
 * Return: 0, or -ENOMEM (-EOPNOTSUPP without dirty ops). Problems met on
 * the walk only leave bits unset.
 */
int iopt_read_and_clear_dirty_data(struct io_pagetable *iopt,
				   struct iommu_domain *domain,
				   unsigned long flags,
				   struct iommu_hwpt_get_dirty_bitmap *bitmap)
{
	struct iommu_iotlb_gather gather;
	struct iopt_dirty_walk walk = {
		.iopt = iopt,
		.domain = domain,
		.flags = flags,
		.gather = &gather,
	};
	struct iova_bitmap *iter;
	int rc;

	if (!domain->dirty_ops)
		return -EOPNOTSUPP;

	iter = iova_bitmap_alloc(bitmap->iova, bitmap->length,
				 bitmap->page_size,
				 u64_to_user_ptr(bitmap->data));
	if (IS_ERR(iter))
		return PTR_ERR(iter);

	iommu_iotlb_gather_init(&gather);
	down_read(&iopt->domains_rwsem);
	down_read(&iopt->iova_rwsem);
	/*
	 * What the walk meets (a gap, tracking turned off, a bitmap page that
	 * cannot be pinned) leaves bits unset and is not an error of the
	 * ioctl: upstream's users rely on that.
	 */
	iova_bitmap_for_each(iter, &walk, iopt_dirty_window);
	rc = 0;
	up_read(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	/* Whatever was cleared is flushed, also after a failure */
	if (!(flags & IOMMU_DIRTY_NO_CLEAR))
		iommu_iotlb_sync(domain, &gather);
	iova_bitmap_free(iter);
	return rc;
}
