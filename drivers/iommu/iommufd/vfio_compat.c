// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO type1 compatibility: an iommufd answers the requests of a VFIO
 * container (VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU,
 * VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA) on one IOAS
 * of the context, the compat IOAS (ictx->vfio_ioas). The ioctl dispatcher
 * of main.c hands us every request number that is not an iommufd command.
 *
 * The compat IOAS is chosen with IOMMU_VFIO_IOAS, or created here when a
 * VFIO group is given the iommufd as its container. A context may instead
 * be put in no-iommu mode by a VFIO no-IOMMU group: then it answers like a
 * VFIO container of the no-iommu driver and never gets a compat IOAS.
 *
 * With CONFIG_IOMMUFD_VFIO_CONTAINER the iommufd also provides the VFIO
 * container device itself, /dev/vfio/vfio: the same file operations as
 * /dev/iommu, with the pinned pages charged to the process (mm) as VFIO's
 * type1 driver does.
 *
 * Locking: ictx->lock serializes the changes of the compat state (creating
 * the compat IOAS, entering no-iommu mode); ictx->vfio_ioas itself is read
 * and written under the xa_lock of ictx->objects (see ioas.c).
 */
#include <linux/capability.h>
#include <linux/interval_tree.h>
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/vfio.h>

#include "io_pagetable.h"

/*
 * Whether a compat IOAS exists: one set and not being destroyed. Under
 * ictx->lock the answer stays true (only IOMMU_DESTROY or IOMMU_VFIO_IOAS
 * can take it away), which is all entering no-iommu mode needs.
 */
static bool iommufd_vfio_has_compat_ioas(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	lockdep_assert_held(&ictx->lock);

	ioas = iommufd_get_compat_ioas(ictx);
	if (IS_ERR(ioas))
		return false;
	iommufd_put_object(ictx, &ioas->obj);
	return true;
}

/**
 * iommufd_vfio_compat_ioas_create() - Make sure the context has a compat IOAS
 * @ictx: The context
 *
 * VFIO calls this when a group is given the iommufd as its container: the
 * type1 requests need an IOAS to act on. An IOAS chosen with
 * IOMMU_VFIO_IOAS, or created before, is kept; else a new one is allocated
 * and becomes the compat IOAS. It is an ordinary object: userspace sees it
 * with IOMMU_VFIO_IOAS GET and may destroy it.
 *
 * Context: Process context; takes ictx->lock.
 * Return: 0; -EINVAL if the context is in no-iommu mode; -ENOMEM or -EBUSY
 * (no object id left).
 */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;
	int rc = 0;

	mutex_lock(&ictx->lock);
	if (ictx->no_iommu_mode) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (iommufd_vfio_has_compat_ioas(ictx))
		goto out_unlock;

	ioas = iommufd_ioas_alloc(ictx);
	if (IS_ERR(ioas)) {
		rc = PTR_ERR(ioas);
		goto out_unlock;
	}

	/*
	 * IOMMU_VFIO_IOAS SET does not take ictx->lock: check again where it
	 * writes. The pointer is set before the object is published, so
	 * destroying it (possible right after finalize) clears it.
	 */
	xa_lock(&ictx->objects);
	if (ictx->vfio_ioas &&
	    xa_load(&ictx->objects, ictx->vfio_ioas->obj.id) ==
		    &ictx->vfio_ioas->obj) {
		xa_unlock(&ictx->objects);
		iommufd_object_abort_and_destroy(ictx, &ioas->obj);
		goto out_unlock;
	}
	ictx->vfio_ioas = ioas;
	xa_unlock(&ictx->objects);
	iommufd_object_finalize(ictx, &ioas->obj);

out_unlock:
	mutex_unlock(&ictx->lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_create, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_ioas_get_id() - The id of the compat IOAS
 * @ictx: The context
 * @out_ioas_id: Gets the id
 *
 * VFIO attaches the devices of a group that uses the iommufd as its
 * container to this IOAS.
 *
 * Context: Process context.
 * Return: 0, or -ENODEV if the context has no compat IOAS.
 */
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *out_ioas_id)
{
	struct iommufd_ioas *ioas;

	ioas = iommufd_get_compat_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	*out_ioas_id = ioas->obj.id;
	iommufd_put_object(ictx, &ioas->obj);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_get_id, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_set_no_iommu() - Put the context in no-iommu mode
 * @ictx: The context
 *
 * VFIO calls this when a no-IOMMU group is given the iommufd as its
 * container. The context then answers the type1 requests as a container of
 * the VFIO no-iommu driver does, and no compat IOAS can be created any more.
 * Entering the mode again is a no-op.
 *
 * Context: Process context; takes ictx->lock.
 * Return: 0, or -EINVAL if the context has a compat IOAS.
 */
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	int rc = 0;

	mutex_lock(&ictx->lock);
	if (iommufd_vfio_has_compat_ioas(ictx))
		rc = -EINVAL;
	else
		ictx->no_iommu_mode = true;
	mutex_unlock(&ictx->lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_set_no_iommu, IOMMUFD_VFIO);

static bool iommufd_vfio_no_iommu(struct iommufd_ctx *ictx)
{
	/* Only ever set, never cleared */
	return READ_ONCE(ictx->no_iommu_mode);
}

/* VFIO_DMA_CC_IOMMU: every domain of the IOAS blocks no-snoop DMA */
static int iommufd_vfio_cc_iommu(struct iommufd_ctx *ictx)
{
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommufd_ioas *ioas;
	int rc = 1;

	ioas = iommufd_get_compat_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt_paging, &ioas->hwpt_list, hwpt_item) {
		if (!hwpt_paging->enforce_cache_coherency) {
			rc = 0;
			break;
		}
	}
	mutex_unlock(&ioas->mutex);

	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static int iommufd_vfio_check_extension(struct iommufd_ctx *ictx,
					unsigned long type)
{
	switch (type) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return !iommufd_vfio_no_iommu(ictx);

	case VFIO_NOIOMMU_IOMMU:
		return IS_ENABLED(CONFIG_VFIO_NOIOMMU);

	case VFIO_DMA_CC_IOMMU:
		return iommufd_vfio_cc_iommu(ictx);

	/*
	 * Not provided: the sPAPR and nesting drivers, EEH, and changing the
	 * user address of a live mapping (VFIO_UPDATE_VADDR) that the pages
	 * of an IOAS cannot follow.
	 */
	case VFIO_SPAPR_TCE_IOMMU:
	case VFIO_SPAPR_TCE_v2_IOMMU:
	case VFIO_TYPE1_NESTING_IOMMU:
	case VFIO_EEH:
	case VFIO_UPDATE_VADDR:
	default:
		return 0;
	}
}

static int iommufd_vfio_set_iommu(struct iommufd_ctx *ictx, unsigned long type)
{
	bool no_iommu = iommufd_vfio_no_iommu(ictx);
	struct iommufd_ioas *ioas;
	int rc = 0;

	if (type == VFIO_NOIOMMU_IOMMU && IS_ENABLED(CONFIG_VFIO_NOIOMMU) &&
	    no_iommu) {
		/* What the VFIO no-iommu driver asks of its users */
		if (!capable(CAP_SYS_RAWIO))
			return -EPERM;
		return 0;
	}
	if ((type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU) ||
	    no_iommu)
		return -EINVAL;

	ioas = iommufd_get_compat_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	/*
	 * Type1 v1 maps and unmaps in PAGE_SIZE units: it may unmap part of
	 * a mapping, so nothing may be mapped with larger IOPTEs.
	 */
	if (type == VFIO_TYPE1_IOMMU)
		rc = iopt_disable_large_pages(&ioas->iopt);

	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static int iommufd_vfio_map_dma(struct iommufd_ctx *ictx,
				struct vfio_iommu_type1_dma_map __user *arg)
{
	const u32 supported = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map map;
	int iommu_prot = IOMMU_CACHE;
	struct iommufd_ioas *ioas;
	unsigned long iova;
	int rc;

	if (copy_from_user(&map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz || map.flags & ~supported)
		return -EINVAL;

	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		iommu_prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		iommu_prot |= IOMMU_WRITE;

	ioas = iommufd_get_compat_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	/* The IOVA is fixed: type1 never chooses one */
	iova = map.iova;
	if (iova != map.iova || (unsigned long)map.size != map.size)
		rc = -EOVERFLOW;
	else
		rc = iopt_map_user_pages(ictx, &ioas->iopt, &iova,
					 u64_to_user_ptr(map.vaddr), map.size,
					 iommu_prot, 0);

	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/*
 * Split the area covering both @iova - 1 and @iova, so that one area ends
 * at @iova - 1 and the next starts at @iova; nothing to do if no area
 * covers both. Only for an IOVA space whose large pages are disabled: every
 * domain then maps the area with PAGE_SIZE IOPTEs, so each half can later
 * be unmapped from the domains on its own, and the alignment is PAGE_SIZE,
 * so the halves use disjoint pages of the pages object and the pins (one
 * per index of pages->domains_itree, io_pagetable.h) stay as they are.
 *
 * This reaches into the area and pages bookkeeping that io_pagetable.c and
 * pages.c own; it is the one operation only type1 v1 needs.
 */
static int iommufd_vfio_split_area(struct io_pagetable *iopt,
				   unsigned long iova)
{
	struct iopt_area *area, *lhs, *rhs;
	struct interval_tree_node *node;
	struct iopt_pages *pages;
	unsigned long lhs_length;
	int rc = 0;

	if (!iova)
		return 0;

	lhs = kzalloc(sizeof(*lhs), GFP_KERNEL_ACCOUNT);
	if (!lhs)
		return -ENOMEM;
	rhs = kzalloc(sizeof(*rhs), GFP_KERNEL_ACCOUNT);
	if (!rhs) {
		rc = -ENOMEM;
		goto out_free_lhs;
	}

	down_read(&iopt->domains_rwsem);
	iopt_iova_write_lock(iopt);

	node = interval_tree_iter_first(&iopt->area_itree, iova - 1, iova);
	if (!node)
		goto out_unlock;
	area = container_of(node, struct iopt_area, node);
	if (iopt_area_iova(area) > iova - 1 || iopt_area_last_iova(area) < iova)
		goto out_unlock;

	/* Large pages enabled again meanwhile, or a cut inside a page */
	if (!iopt->disable_large_pages || iova % iopt->iova_alignment ||
	    iova % PAGE_SIZE) {
		rc = -EINVAL;
		goto out_unlock;
	}
	/* Being unmapped right now */
	if (area->prevent_access) {
		rc = -EBUSY;
		goto out_unlock;
	}

	pages = area->pages;
	lhs_length = iova - iopt_area_iova(area);

	lhs->iopt = iopt;
	lhs->pages = pages;
	lhs->iommu_prot = area->iommu_prot;
	lhs->pages_offset = area->pages_offset;
	lhs->node.start = iopt_area_iova(area);
	lhs->node.last = iova - 1;
	lhs->pages_node.start = iopt_area_index(area);
	lhs->pages_node.last = (lhs->pages_offset + lhs_length - 1) >> PAGE_SHIFT;

	rhs->iopt = iopt;
	rhs->pages = pages;
	rhs->iommu_prot = area->iommu_prot;
	rhs->pages_offset = area->pages_offset + lhs_length;
	rhs->node.start = iova;
	rhs->node.last = iopt_area_last_iova(area);
	rhs->pages_node.start = rhs->pages_offset >> PAGE_SHIFT;
	rhs->pages_node.last = iopt_area_last_index(area);

	mutex_lock(&pages->mutex);
	/* Access pins are recorded per area span: they cannot be split */
	if (area->num_accesses) {
		mutex_unlock(&pages->mutex);
		rc = -EINVAL;
		goto out_unlock;
	}
	if (area->in_domains) {
		/* The same indices stay covered: nothing is pinned or unpinned */
		interval_tree_remove(&area->pages_node, &pages->domains_itree);
		interval_tree_insert(&lhs->pages_node, &pages->domains_itree);
		interval_tree_insert(&rhs->pages_node, &pages->domains_itree);
		lhs->in_domains = true;
		rhs->in_domains = true;
		lhs->pfn_domain = area->pfn_domain;
		rhs->pfn_domain = area->pfn_domain;
	}
	/* lhs takes over the area's reference, rhs gets its own */
	kref_get(&pages->kref);
	mutex_unlock(&pages->mutex);

	interval_tree_remove(&area->node, &iopt->area_itree);
	interval_tree_insert(&lhs->node, &iopt->area_itree);
	interval_tree_insert(&rhs->node, &iopt->area_itree);
	kfree(area);
	lhs = NULL;
	rhs = NULL;

out_unlock:
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	kfree(rhs);
out_free_lhs:
	kfree(lhs);
	return rc;
}

static bool iommufd_vfio_range_mapped(struct io_pagetable *iopt,
				      unsigned long iova, unsigned long last)
{
	struct interval_tree_node *node;
	bool mapped = false;

	down_read(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(&iopt->area_itree, iova, last);
	     node && !mapped;
	     node = interval_tree_iter_next(node, iova, last)) {
		/* One a MAP is filling is not there yet */
		mapped = !iopt_area_filling(container_of(node, struct iopt_area,
							 node));
	}
	up_read(&iopt->iova_rwsem);
	return mapped;
}

static int iommufd_vfio_unmap_range(struct io_pagetable *iopt,
				    unsigned long iova, unsigned long length,
				    unsigned long *unmapped)
{
	unsigned long last;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	/* Type1 v1 may unmap part of a mapping: cut it at both ends first */
	if (READ_ONCE(iopt->disable_large_pages)) {
		rc = iommufd_vfio_split_area(iopt, iova);
		if (rc)
			return rc;
		if (last != ULONG_MAX) {
			rc = iommufd_vfio_split_area(iopt, last + 1);
			if (rc)
				return rc;
		}
	}

	rc = iopt_unmap_iova(iopt, iova, length, unmapped);
	/*
	 * -ENOENT with nothing unmapped is a range without mappings or one
	 * cutting a mapping; to type1 only the latter is an error.
	 */
	if (rc == -ENOENT && !*unmapped &&
	    !iommufd_vfio_range_mapped(iopt, iova, last))
		rc = 0;
	return rc;
}

static int iommufd_vfio_unmap_dma(struct iommufd_ctx *ictx,
				  struct vfio_iommu_type1_dma_unmap __user *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap unmap;
	unsigned long unmapped = 0;
	struct iommufd_ioas *ioas;
	int rc;

	if (copy_from_user(&unmap, arg, minsz))
		return -EFAULT;
	/* No dirty bitmap and no VADDR update */
	if (unmap.argsz < minsz || unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;

	ioas = iommufd_get_compat_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size)
			rc = -EINVAL;
		else
			rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if ((unsigned long)unmap.iova != unmap.iova ||
		   (unsigned long)unmap.size != unmap.size) {
		rc = -EOVERFLOW;
	} else {
		rc = iommufd_vfio_unmap_range(&ioas->iopt, unmap.iova,
					      unmap.size, &unmapped);
	}

	/* What was unmapped, even when a later part of the range failed */
	unmap.size = unmapped;
	if (copy_to_user(arg, &unmap, minsz) && !rc)
		rc = -EFAULT;

	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/* The page sizes of type1: what every domain supports, at least a page */
static u64 iommufd_vfio_pgsizes(struct io_pagetable *iopt)
{
	unsigned long pgsize_bitmap = ULONG_MAX;
	struct iommu_domain *domain;
	unsigned long index;

	lockdep_assert_held(&iopt->domains_rwsem);
	lockdep_assert_held(&iopt->iova_rwsem);

	xa_for_each(&iopt->domains, index, domain)
		pgsize_bitmap &= domain->pgsize_bitmap;

	/* Sizes below a page cannot be mapped from user memory */
	if (pgsize_bitmap & ~PAGE_MASK) {
		pgsize_bitmap &= PAGE_MASK;
		pgsize_bitmap |= PAGE_SIZE;
	}
	return max(pgsize_bitmap, iopt->iova_alignment);
}

/* The usable IOVA of the compat IOAS, collected for GET_INFO */
struct iommufd_vfio_iovas {
	struct vfio_iova_range *ranges;
	u32 nr;
};

/*
 * The holes between the reserved ranges, as IOMMU_IOAS_IOVA_RANGES reports
 * them. Collected under the lock, written out after it, so that a fault on
 * the user's buffer does not hold up the IOAS.
 */
static int iommufd_vfio_collect_iovas(struct io_pagetable *iopt,
				      struct iommufd_vfio_iovas *iovas)
{
	struct interval_tree_span_iter span;
	u32 nr = 0;

	lockdep_assert_held(&iopt->iova_rwsem);

	interval_tree_for_each_span(&span, &iopt->reserved_itree, 0, ULONG_MAX)
		nr += span.is_hole;
	iovas->ranges = kvcalloc(nr, sizeof(*iovas->ranges),
				 GFP_KERNEL_ACCOUNT);
	if (!iovas->ranges)
		return -ENOMEM;

	iovas->nr = 0;
	interval_tree_for_each_span(&span, &iopt->reserved_itree, 0,
				    ULONG_MAX) {
		if (!span.is_hole)
			continue;
		iovas->ranges[iovas->nr].start = span.start;
		iovas->ranges[iovas->nr].end = span.last;
		iovas->nr++;
	}
	return 0;
}

/*
 * The capabilities of VFIO_IOMMU_GET_INFO. Each filler gets the room the
 * user buffer has from the cap's offset on (0 if none), writes the cap
 * only if it fits completely (IOVA ranges: the ranges that fit, the header
 * only if all do), leaves next as 0, and returns the cap's size.
 */
static int iommufd_vfio_cap_dma_avail(const struct iommufd_vfio_iovas *iovas,
				      void __user *ucap, size_t room)
{
	struct vfio_iommu_type1_info_dma_avail cap = {
		.header = {
			.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
			.version = 1,
		},
		/* The number of mappings is not limited */
		.avail = U32_MAX,
	};

	if (room >= sizeof(cap) && copy_to_user(ucap, &cap, sizeof(cap)))
		return -EFAULT;
	return sizeof(cap);
}

static int iommufd_vfio_cap_iova_range(const struct iommufd_vfio_iovas *iovas,
				       void __user *ucap, size_t room)
{
	struct vfio_iommu_type1_info_cap_iova_range __user *ucap_iovas = ucap;
	struct vfio_iommu_type1_info_cap_iova_range cap = {
		.header = {
			.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
			.version = 1,
		},
		.nr_iovas = iovas->nr,
	};
	size_t size = struct_size(&cap, iova_ranges, iovas->nr);
	u32 fit;

	/* The ranges that fit, then the header if all of them do */
	if (room > sizeof(cap)) {
		fit = min_t(size_t, iovas->nr, (room - sizeof(cap)) /
					       sizeof(*iovas->ranges));
		if (copy_to_user(ucap_iovas->iova_ranges, iovas->ranges,
				 fit * sizeof(*iovas->ranges)))
			return -EFAULT;
	}
	if (room >= size && copy_to_user(ucap, &cap, sizeof(cap)))
		return -EFAULT;
	return size;
}

static int iommufd_vfio_iommu_get_info(struct iommufd_ctx *ictx,
				       struct vfio_iommu_type1_info __user *arg)
{
	static int (*const fill_caps[])(const struct iommufd_vfio_iovas *iovas,
					void __user *ucap, size_t room) = {
		iommufd_vfio_cap_dma_avail,
		iommufd_vfio_cap_iova_range,
	};
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_info_cap_header __user *prev = NULL;
	struct vfio_iommu_type1_info info = {};
	struct iommufd_vfio_iovas iovas;
	struct iommufd_ioas *ioas;
	size_t total, user_size;
	unsigned int i;
	int rc;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	user_size = info.argsz;

	ioas = iommufd_get_compat_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	down_read(&ioas->iopt.domains_rwsem);
	down_read(&ioas->iopt.iova_rwsem);
	info.iova_pgsizes = iommufd_vfio_pgsizes(&ioas->iopt);
	rc = iommufd_vfio_collect_iovas(&ioas->iopt, &iovas);
	up_read(&ioas->iopt.iova_rwsem);
	up_read(&ioas->iopt.domains_rwsem);
	iommufd_put_object(ictx, &ioas->obj);
	if (rc)
		return rc;

	/* The caps follow the struct, each starting 8-byte aligned */
	total = sizeof(info);
	for (i = 0; i != ARRAY_SIZE(fill_caps); i++) {
		void __user *ucap = (void __user *)arg + total;
		int cap_size;

		cap_size = fill_caps[i](&iovas, ucap,
					user_size > total ? user_size - total : 0);
		if (cap_size < 0) {
			rc = cap_size;
			goto out_free;
		}
		/* Link the previous cap to this one once the buffer has both */
		if (prev && user_size >= total &&
		    put_user(total, &prev->next)) {
			rc = -EFAULT;
			goto out_free;
		}
		prev = ucap;
		total += ALIGN(cap_size, sizeof(u64));
	}

	info.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
	info.cap_offset = user_size >= total ? sizeof(info) : 0;
	info.argsz = total;
	if (copy_to_user(arg, &info, min(user_size, sizeof(info))))
		rc = -EFAULT;

out_free:
	kvfree(iovas.ranges);
	return rc;
}

/**
 * iommufd_vfio_ioctl() - The VFIO type1 container requests
 * @ictx: The context
 * @cmd: The request; every number that is not an iommufd command comes here
 * @arg: Its argument
 *
 * Context: Process context.
 * Return: VFIO_API_VERSION, the answer of VFIO_CHECK_EXTENSION, 0, or a
 * negative errno: -ENOTTY for every other request, -ENODEV when the request
 * needs the compat IOAS and there is none.
 */
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return iommufd_vfio_check_extension(ictx, arg);
	case VFIO_SET_IOMMU:
		return iommufd_vfio_set_iommu(ictx, arg);
	case VFIO_IOMMU_GET_INFO:
		return iommufd_vfio_iommu_get_info(ictx, uarg);
	case VFIO_IOMMU_MAP_DMA:
		return iommufd_vfio_map_dma(ictx, uarg);
	case VFIO_IOMMU_UNMAP_DMA:
		return iommufd_vfio_unmap_dma(ictx, uarg);
	/* Dirty tracking goes through IOMMU_HWPT_*_DIRTY_* instead */
	case VFIO_IOMMU_DIRTY_PAGES:
	default:
		return -ENOTTY;
	}
}

#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
/* /dev/vfio/vfio: VFIO does not register its own container device then */
static struct miscdevice iommufd_vfio_misc_dev = {
	.minor = VFIO_MINOR,
	.name = "vfio",
	.nodename = "vfio/vfio",
	.mode = 0666,
};

/**
 * iommufd_vfio_compat_misc_register() - Provide /dev/vfio/vfio
 * @fops: The file operations of /dev/iommu
 *
 * Context: Process context (module init).
 * Return: 0 or the error of misc_register().
 */
int iommufd_vfio_compat_misc_register(const struct file_operations *fops)
{
	iommufd_vfio_misc_dev.fops = fops;
	return misc_register(&iommufd_vfio_misc_dev);
}

/**
 * iommufd_vfio_compat_misc_deregister() - Undo
 *					    iommufd_vfio_compat_misc_register()
 *
 * Context: Process context (module exit).
 */
void iommufd_vfio_compat_misc_deregister(void)
{
	misc_deregister(&iommufd_vfio_misc_dev);
}

/**
 * iommufd_vfio_compat_opened_as_container() - Whether an open is of
 *					       /dev/vfio/vfio
 * @filp: The file being opened; its private_data is still the miscdevice,
 *	  as misc_open() sets it
 *
 * Such a context charges pinned pages to the process, like VFIO's type1.
 *
 * Context: Process context (open).
 * Return: true for /dev/vfio/vfio, false for /dev/iommu.
 */
bool iommufd_vfio_compat_opened_as_container(struct file *filp)
{
	return filp->private_data == &iommufd_vfio_misc_dev;
}

/* Load iommufd when /dev/vfio/vfio is opened */
MODULE_ALIAS_MISCDEV(VFIO_MINOR);
MODULE_ALIAS("devname:vfio/vfio");
#endif
