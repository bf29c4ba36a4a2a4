/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals of the io_pagetable (io_pagetable.c) and of the pinned user
 * memory behind it (pages.c).
 *
 * Terms, used the same way in every function:
 *   last	an inclusive end: [start, last]
 *   end	an exclusive end: [start, end)
 *   index	a page of a struct iopt_pages: index 0 is the page at
 *		pages->uptr, the page-aligned start of the user range
 *   byte	a byte offset into a struct iopt_pages, from pages->uptr
 *
 * Model:
 *   An area (struct iopt_area) is what one MAP or one piece of a COPY
 *   created: the IOVA range [iova, last_iova] maps the bytes
 *   [pages_offset, pages_offset + length) of a pages object. Several areas,
 *   in one or more IOAS, may share one pages object (COPY).
 *
 *   A pages object (struct iopt_pages) is a range of user memory. Its
 *   pages are pinned on demand, once, whoever needs them: an index is
 *   pinned exactly while it is covered by a node of pages->domains_itree
 *   (an area mapped into the IOMMU domains of its IOAS) or of
 *   pages->access_itree (a span pinned by in-kernel accesses). Charging
 *   (RLIMIT_MEMLOCK) follows the pins: a page is charged once however many
 *   users it has. Where the PFN of a pinned index is kept:
 *     - an index an access covers: in pages->pinned_pfns (accesses need
 *	 the struct page; the entry is read back from a domain when the
 *	 index was pinned for one already);
 *     - any other pinned index: only in the domains of the areas that
 *	 cover it. No memory is spent per page on them: a second domain
 *	 is filled, a COPY mapped and the last unmap unpinned with the
 *	 PFNs read back from a domain (area->pfn_domain), before that
 *	 domain lets them go; long physically contiguous spans (THP,
 *	 hugetlb) are recorded once per span to skip that reading.
 *
 *   Every area of an IOAS is mapped into every domain of it (HWPT paging
 *   domains built on the IOAS), whether or not a device is attached: an
 *   area is "in domains" (area->pages_node is in domains_itree) exactly
 *   while its IOAS has at least one domain.
 *
 *   Unmapping a domain or unpinning cannot fail (a buffer allocated on
 *   the way has an on-stack fallback).
 *
 *   A MAP (or COPY) places its areas in area_itree under iova_rwsem held
 *   for write, marked "filling", then downgrades to read for the long
 *   part, pinning and filling the domains: readers of the IOAS (IOVA
 *   ranges, accesses, COPY from it, dirty bitmaps) go on meanwhile, unless
 *   a writer queued up, and take a filling area for a hole; writers wait
 *   for the whole MAP, as it holds iova_rwsem for read until the areas
 *   are done. A MAP that fails undoes its fill under the read lock, then
 *   takes iova_rwsem for write again to take its areas out; writers that
 *   get the lock in between wait for that (iopt_iova_write_lock()), so no
 *   writer ever sees a filling area.
 *
 * Locks: see the lock order in iommufd_private.h. The IOVA trees are
 * protected by iopt->iova_rwsem, the pins and the trees of a pages
 * object by pages->mutex; area->num_accesses, area->in_domains and
 * area->pfn_domain by pages->mutex. The last two change only with the
 * area's IOAS locked as well, so its own IOAS reads them under its locks.
 */
#ifndef __IO_PAGETABLE_H
#define __IO_PAGETABLE_H

#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/xarray.h>

#include "iommufd_private.h"

struct iopt_pages;

/**
 * struct iopt_area - One mapping of an IOAS
 * @node: [iova, last_iova] in iopt->area_itree
 * @pages_node: [first index, last index] of the pages it maps; in
 *		pages->domains_itree while @in_domains
 * @iopt: The IOVA space it is in
 * @pages: The user memory it maps; the area holds a reference
 * @pages_offset: The byte of @pages that @node.start maps
 * @iommu_prot: IOMMU_READ / IOMMU_WRITE / IOMMU_CACHE
 * @in_domains: Pinned and mapped into every domain of @iopt
 * @prevent_access: Being unmapped: accesses may not pin it any more
 * @filling: Its MAP is pinning and filling domains (see the model above);
 *	     set and cleared by the mapper, read by iopt_area_filling()
 * @num_accesses: Access pins made through this area (pages->mutex)
 * @pfn_domain: While @in_domains, a domain of @iopt mapping the whole
 *		area, the PFNs of its pages are read back from; another one
 *		takes over before it is unmapped; NULL out of domains
 *		(pages->mutex)
 */
struct iopt_area {
	struct interval_tree_node node;
	struct interval_tree_node pages_node;
	struct io_pagetable *iopt;
	struct iopt_pages *pages;
	unsigned long pages_offset;
	int iommu_prot;
	bool in_domains;
	bool prevent_access;
	bool filling;
	unsigned int num_accesses;
	struct iommu_domain *pfn_domain;
};

static inline bool iopt_area_filling(struct iopt_area *area)
{
	/* Pairs with the release of iopt_map_pages() once the fill is done */
	return smp_load_acquire(&area->filling);
}

static inline unsigned long iopt_area_iova(struct iopt_area *area)
{
	return area->node.start;
}

static inline unsigned long iopt_area_last_iova(struct iopt_area *area)
{
	return area->node.last;
}

static inline unsigned long iopt_area_length(struct iopt_area *area)
{
	return area->node.last - area->node.start + 1;
}

static inline unsigned long iopt_area_index(struct iopt_area *area)
{
	return area->pages_node.start;
}

static inline unsigned long iopt_area_last_index(struct iopt_area *area)
{
	return area->pages_node.last;
}

/* The byte of the pages object that @iova (inside @area) maps */
static inline unsigned long iopt_area_iova_to_byte(struct iopt_area *area,
						   unsigned long iova)
{
	return area->pages_offset + (iova - iopt_area_iova(area));
}

static inline unsigned long iopt_area_iova_to_index(struct iopt_area *area,
						    unsigned long iova)
{
	return iopt_area_iova_to_byte(area, iova) >> PAGE_SHIFT;
}

/*
 * May an in-kernel access write (@write) or read the memory of @area? A
 * write needs a mapping made WRITEABLE, a read (or a pin without
 * IOMMUFD_ACCESS_RW_WRITE) one made READABLE, as for the IOMMU.
 */
static inline bool iopt_area_permits(struct iopt_area *area, bool write)
{
	return area->iommu_prot & (write ? IOMMU_WRITE : IOMMU_READ);
}

/**
 * struct iopt_allowed - A range of IOMMU_IOAS_ALLOW_IOVAS
 * @node: The range in iopt->allowed_itree
 */
struct iopt_allowed {
	struct interval_tree_node node;
};

/**
 * struct iopt_reserved - A range nothing may be mapped in
 * @node: The range in iopt->reserved_itree
 * @owner: Who reserved it (a domain, a device), NULL for the selftest's
 */
struct iopt_reserved {
	struct interval_tree_node node;
	void *owner;
};

/**
 * struct iopt_pages - A range of user memory, pinned on demand
 * @kref: One reference per area using it, and one per running COPY
 * @mutex: Protects everything below but the constant fields
 * @uptr: Page-aligned user address of index 0 (constant)
 * @npages: Number of pages in the range (constant)
 * @writable: Pinned for write; areas mapping it may be writable (constant)
 * @has_cap_ipc_lock: The mapping task had CAP_IPC_LOCK: not charged
 *		      (constant)
 * @account_mode: enum iommufd_account_mode (constant)
 * @source_task: The task (group leader) that mapped it: its RLIMIT_MEMLOCK
 * @source_mm: The mm the memory belongs to (mmgrab)
 * @source_cred: The mapping task's credentials; their user is the one
 *		 charged in IOPT_PAGES_ACCOUNT_USER mode (put_cred() is
 *		 available to modules in every 6.1.y, free_uid() is not)
 * @npinned: Pages pinned now, all charged
 * @pinned_pfns: index -> xa_mk_value(PFN) of every index an access covers
 * @domains_itree: Areas in domains (struct iopt_area.pages_node)
 * @access_itree: Spans pinned by accesses (struct iopt_pages_access)
 * @records_itree: Long physically contiguous pinned spans and their PFNs
 *		   (pages.c, struct pages_run_record)
 */
struct iopt_pages {
	struct kref kref;
	struct mutex mutex; /* protects the pins and their users */
	uintptr_t uptr;
	unsigned long npages;
	bool writable;
	bool has_cap_ipc_lock;
	u8 account_mode;
	struct task_struct *source_task;
	struct mm_struct *source_mm;
	const struct cred *source_cred;
	unsigned long npinned;
	struct xarray pinned_pfns;
	struct rb_root_cached domains_itree;
	struct rb_root_cached access_itree;
	struct rb_root_cached records_itree;
};

struct iopt_pages *iopt_alloc_pages(struct iommufd_ctx *ictx,
				    void __user *uptr, unsigned long length,
				    bool writable);
void iopt_release_pages(struct kref *kref);

static inline void iopt_put_pages(struct iopt_pages *pages)
{
	kref_put(&pages->kref, iopt_release_pages);
}

int iopt_area_fill_domain(struct iopt_area *area, struct iommu_domain *domain,
			  bool first_domain, bool disable_large_pages);
void iopt_area_unfill_domain(struct iopt_area *area,
			     struct iommu_domain *domain,
			     struct iommu_domain *keep);
int iopt_area_add_access(struct iopt_area *area, unsigned long start_index,
			 unsigned long last_index, struct page **out_pages,
			 unsigned int flags);
bool iopt_area_remove_access(struct iopt_area *area,
			     unsigned long start_index,
			     unsigned long last_index);
int iopt_pages_rw_access(struct iopt_pages *pages, unsigned long start_byte,
			 void *data, unsigned long length, unsigned int flags);

void iommufd_access_notify_unmap(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length);

/*
 * Walk the areas covering [iova, last] without a gap:
 *	for (area = iopt_area_contig_init(&iter, iopt, iova, last); area;
 *	     area = iopt_area_contig_next(&iter))
 */
struct iopt_area_contig_iter {
	unsigned long cur_iova;
	unsigned long last_iova;
	struct iopt_area *area;
};

struct iopt_area *iopt_area_contig_init(struct iopt_area_contig_iter *iter,
					struct io_pagetable *iopt,
					unsigned long iova,
					unsigned long last_iova);
struct iopt_area *iopt_area_contig_next(struct iopt_area_contig_iter *iter);

/* true once the walk covered all of [iova, last] */
static inline bool iopt_area_contig_done(struct iopt_area_contig_iter *iter)
{
	return iter->area && iter->last_iova <= iopt_area_last_iova(iter->area);
}

/* The part of [iova, last] in the current area: [*start, *last] */
static inline void iopt_area_contig_span(struct iopt_area_contig_iter *iter,
					 unsigned long *start,
					 unsigned long *last)
{
	*start = iter->cur_iova;
	*last = min(iter->last_iova, iopt_area_last_iova(iter->area));
}

#endif
