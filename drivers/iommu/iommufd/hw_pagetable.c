// SPDX-License-Identifier: GPL-2.0
/*
 * HW pagetables (HWPTs): the IOMMU domains devices are attached to.
 *
 * A paging HWPT (IOMMUFD_OBJ_HWPT_PAGING) is a domain the kernel manages: it
 * mirrors every mapping of its IOAS, whose long-term user it is, from the
 * moment it is created until it is destroyed, whether or not a device is
 * attached. It is either automatic (created when a device is attached
 * straight to the IOAS, shared by later devices the domain suits, destroyed
 * with its last device) or allocated by IOMMU_HWPT_ALLOC (never shared
 * automatically, destroyed by IOMMU_DESTROY).
 *
 * A nested HWPT (IOMMUFD_OBJ_HWPT_NESTED) is a domain whose first stage
 * userspace owns (a guest's page table), translated further by a paging
 * HWPT allocated with IOMMU_HWPT_ALLOC_NEST_PARENT, its parent and a
 * long-term user of it.
 *
 * Both kinds are built for one device, whose IOMMU driver allocates the
 * domain; any other device the domain suits may attach later.
 */
#include <linux/err.h>
#include <linux/iommu.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

/**
 * iommufd_hwpt_paging_destroy() - Destroy a paging HWPT
 * @obj: The HWPT; no device is attached and no nested HWPT is built on it
 *
 * Also undoes a creation that failed after iommufd_hwpt_paging_alloc()
 * returned (iommufd_object_abort_and_destroy()): the domain may be missing
 * or not added to the IOAS yet. Whether it was added is whether the HWPT is
 * on the IOAS' list; both happen together under ioas->mutex.
 *
 * Context: Process context; takes ioas->mutex, so the caller must not hold
 * it.
 */
void iommufd_hwpt_paging_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *hwpt_paging =
		container_of(obj, struct iommufd_hwpt_paging, common.obj);
	struct iommu_domain *domain = hwpt_paging->common.domain;
	struct iommufd_ioas *ioas = hwpt_paging->ioas;
	bool added;

	mutex_lock(&ioas->mutex);
	added = !list_empty(&hwpt_paging->hwpt_item);
	list_del_init(&hwpt_paging->hwpt_item);
	mutex_unlock(&ioas->mutex);

	if (added)
		iopt_table_remove_domain(&ioas->iopt, domain);
	if (domain)
		iommu_domain_free(domain);
	iommufd_object_put_user(&ioas->obj);
}

/**
 * iommufd_hwpt_nested_destroy() - Destroy a nested HWPT
 * @obj: The HWPT; no device is attached
 *
 * Context: Process context.
 */
void iommufd_hwpt_nested_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_nested *hwpt_nested =
		container_of(obj, struct iommufd_hwpt_nested, common.obj);

	if (hwpt_nested->common.domain)
		iommu_domain_free(hwpt_nested->common.domain);
	iommufd_object_put_user(&hwpt_nested->parent->common.obj);
}

/**
 * iommufd_hwpt_paging_enforce_cc() - Make a paging HWPT's domain block
 *				      no-snoop DMA
 * @hwpt_paging: The HWPT
 *
 * Once a domain enforces cache coherency it keeps doing so; calling this
 * again is a no-op. Drivers such as VT-d decide per IOPTE, so this only
 * covers the whole IOAS when done before the domain is added to it.
 *
 * Context: Process context; the caller holds hwpt_paging->ioas->mutex,
 * which protects the HWPT's flags.
 * Return: 0, or -EINVAL if the domain (or a device attached to it) cannot
 * enforce it.
 */
int iommufd_hwpt_paging_enforce_cc(struct iommufd_hwpt_paging *hwpt_paging)
{
	struct iommu_domain *domain = hwpt_paging->common.domain;

	lockdep_assert_held(&hwpt_paging->ioas->mutex);

	if (hwpt_paging->enforce_cache_coherency)
		return 0;
	if (!domain->ops->enforce_cache_coherency ||
	    !domain->ops->enforce_cache_coherency(domain))
		return -EINVAL;
	hwpt_paging->enforce_cache_coherency = true;
	return 0;
}

/**
 * iommufd_hwpt_paging_alloc() - Create a paging HWPT on an IOAS
 * @ictx: The context
 * @ioas: The IOAS the domain mirrors; the caller holds a short-term
 *	  reference and ioas->mutex
 * @idev: The device whose IOMMU driver allocates the domain
 * @flags: IOMMU_HWPT_ALLOC_* flags
 * @immediate_attach: Attach @idev (its group) to the domain as part of the
 *		      creation; the caller holds the group's lock
 * @user_data: Driver data from userspace, or NULL
 *
 * With @immediate_attach the device is attached while the domain is still
 * empty, before the domain is added to the IOAS: a driver that settles the
 * format of a domain on its first attach does so before anything is mapped,
 * and a driver that decides cache coherency per IOPTE (VT-d) learns whether
 * the device's IOMMU can enforce it before the IOAS' mappings are copied in.
 * On 6.1 no driver tells whether a device's IOMMU can enforce coherency
 * (there is no IOMMU_CAP_ENFORCE_CACHE_COHERENCY), so a domain created with
 * its device attached is switched to enforcing when the driver accepts it,
 * and is left as it is when not; IOMMU_HWPT_ALLOC domains are never
 * switched (their device is not attached yet, and the driver could only
 * guess). The DMA of the device meanwhile reaches nothing: the domain is
 * empty until iopt_table_add_domain() fills it.
 *
 * The HWPT is on @ioas' list but not finalized: the caller either
 * finalizes it or, after dropping ioas->mutex, aborts it with
 * iommufd_object_abort_and_destroy() (and detaches @idev first if it was
 * attached here).
 *
 * Context: Process context; may sleep.
 * Return: the HWPT, or an ERR_PTR: -EOPNOTSUPP for flags, data or dirty
 * tracking the driver cannot provide, -EINVAL (IOPTEs larger than
 * PAGE_SIZE, a device the domain does not suit), -EADDRINUSE (mappings or
 * allowed ranges outside the aperture, a reserved region of @idev in use),
 * -ENOMEM, -EFAULT, or the driver's error.
 */
struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  struct iommufd_device *idev, u32 flags,
			  bool immediate_attach,
			  const struct iommu_user_data *user_data)
{
	const u32 valid_flags = IOMMU_HWPT_ALLOC_NEST_PARENT |
				IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommu_domain *domain;
	int rc;

	lockdep_assert_held(&ioas->mutex);

	if (flags & ~valid_flags)
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    !device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING))
		return ERR_PTR(-EOPNOTSUPP);

	hwpt_paging = iommufd_object_alloc(ictx, hwpt_paging,
					   IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(hwpt_paging))
		return hwpt_paging;
	INIT_LIST_HEAD(&hwpt_paging->hwpt_item);
	hwpt_paging->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	hwpt_paging->ioas = ioas;
	iommufd_object_get_user(ictx, &ioas->obj);

	/* Drivers without domain_alloc_user get an unmanaged domain of 6.1 */
	domain = iommu_domain_alloc_user(idev->dev, flags, NULL, user_data);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto err_put_ioas;
	}
	hwpt_paging->common.domain = domain;
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !domain->dirty_ops) {
		rc = -EOPNOTSUPP;
		goto err_free_domain;
	}

	if (immediate_attach) {
		rc = iommufd_hwpt_attach_device(&hwpt_paging->common, idev);
		if (rc)
			goto err_free_domain;
		/* Opportunistic, see above: a refusal is not an error */
		iommufd_hwpt_paging_enforce_cc(hwpt_paging);
	}

	rc = iopt_table_add_domain(&ioas->iopt, domain);
	if (rc)
		goto err_detach;
	list_add_tail(&hwpt_paging->hwpt_item, &ioas->hwpt_list);
	return hwpt_paging;

err_detach:
	if (immediate_attach) {
		WARN_ON(iommufd_hwpt_detach_device(idev) !=
			&hwpt_paging->common);
		iommufd_object_put_user(&hwpt_paging->common.obj);
	}
err_free_domain:
	iommu_domain_free(domain);
err_put_ioas:
	iommufd_object_put_user(&ioas->obj);
	iommufd_object_abort(ictx, &hwpt_paging->common.obj);
	return ERR_PTR(rc);
}

/*
 * A nested HWPT on @parent for @idev. Not finalized: the caller finalizes it
 * or aborts it with iommufd_object_abort_and_destroy().
 */
static struct iommufd_hwpt_nested *
iommufd_hwpt_nested_alloc(struct iommufd_ctx *ictx,
			  struct iommufd_hwpt_paging *parent,
			  struct iommufd_device *idev, u32 flags,
			  const struct iommu_user_data *user_data)
{
	struct iommufd_hwpt_nested *hwpt_nested;
	struct iommu_domain *domain;
	int rc;

	if (flags || !user_data->len ||
	    !dev_iommu_ops(idev->dev)->domain_alloc_user)
		return ERR_PTR(-EOPNOTSUPP);
	if (parent->auto_domain || !parent->nest_parent)
		return ERR_PTR(-EINVAL);

	hwpt_nested = iommufd_object_alloc(ictx, hwpt_nested,
					   IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(hwpt_nested))
		return hwpt_nested;
	hwpt_nested->parent = parent;
	iommufd_object_get_user(ictx, &parent->common.obj);

	domain = iommu_domain_alloc_user(idev->dev, flags,
					 parent->common.domain, user_data);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto err_put_parent;
	}
	/* The core checks this already; a nested HWPT must never page */
	if (domain->type != IOMMU_DOMAIN_NESTED) {
		rc = -EINVAL;
		goto err_free_domain;
	}
	hwpt_nested->common.domain = domain;
	return hwpt_nested;

err_free_domain:
	iommu_domain_free(domain);
err_put_parent:
	iommufd_object_put_user(&parent->common.obj);
	iommufd_object_abort(ictx, &hwpt_nested->common.obj);
	return ERR_PTR(rc);
}

/* IOMMU_HWPT_ALLOC */
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	const struct iommu_user_data user_data = {
		.type = cmd->data_type,
		.uptr = u64_to_user_ptr(cmd->data_uptr),
		.len = cmd->data_len,
	};
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_object *pt_obj;
	struct iommufd_device *idev;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if ((cmd->data_type == IOMMU_HWPT_DATA_NONE && cmd->data_len) ||
	    (cmd->data_type != IOMMU_HWPT_DATA_NONE && !cmd->data_len))
		return -EINVAL;

	idev = iommufd_get_device(ucmd, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);

	/* Untyped: a missing pt_id is -EINVAL here, like a wrong kind */
	pt_obj = iommufd_get_object(ucmd->ictx, cmd->pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		rc = -EINVAL;
		goto out_put_idev;
	}

	switch (pt_obj->type) {
	case IOMMUFD_OBJ_IOAS: {
		struct iommufd_ioas *ioas =
			container_of(pt_obj, struct iommufd_ioas, obj);
		struct iommufd_hwpt_paging *hwpt_paging;

		mutex_lock(&ioas->mutex);
		hwpt_paging = iommufd_hwpt_paging_alloc(ucmd->ictx, ioas, idev,
							cmd->flags, false,
							cmd->data_len ?
							&user_data : NULL);
		mutex_unlock(&ioas->mutex);
		if (IS_ERR(hwpt_paging)) {
			rc = PTR_ERR(hwpt_paging);
			goto out_put_pt;
		}
		hwpt = &hwpt_paging->common;
		break;
	}
	case IOMMUFD_OBJ_HWPT_PAGING: {
		struct iommufd_hwpt_paging *parent =
			container_of(pt_obj, struct iommufd_hwpt_paging,
				     common.obj);
		struct iommufd_hwpt_nested *hwpt_nested;

		hwpt_nested = iommufd_hwpt_nested_alloc(ucmd->ictx, parent,
							idev, cmd->flags,
							&user_data);
		if (IS_ERR(hwpt_nested)) {
			rc = PTR_ERR(hwpt_nested);
			goto out_put_pt;
		}
		hwpt = &hwpt_nested->common;
		break;
	}
	default:
		rc = -EINVAL;
		goto out_put_pt;
	}

	cmd->out_hwpt_id = hwpt->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto err_destroy;
	iommufd_object_finalize(ucmd->ictx, &hwpt->obj);
	goto out_put_pt;

err_destroy:
	iommufd_object_abort_and_destroy(ucmd->ictx, &hwpt->obj);
out_put_pt:
	iommufd_put_object(ucmd->ictx, pt_obj);
out_put_idev:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

static struct iommufd_hwpt_paging *
iommufd_get_hwpt_paging(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_hwpt_paging, common.obj);
}

/* IOMMU_HWPT_SET_DIRTY_TRACKING */
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommu_domain *domain;
	int rc;

	/* __reserved is documented as zero but was never checked: keep so */
	if (cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE)
		return -EOPNOTSUPP;

	hwpt_paging = iommufd_get_hwpt_paging(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt_paging))
		return PTR_ERR(hwpt_paging);

	domain = hwpt_paging->common.domain;
	if (!domain->dirty_ops)
		rc = -EOPNOTSUPP;
	else
		rc = iopt_set_dirty_tracking(&hwpt_paging->ioas->iopt, domain,
					     cmd->flags &
					     IOMMU_HWPT_DIRTY_TRACKING_ENABLE);

	iommufd_put_object(ucmd->ictx, &hwpt_paging->common.obj);
	return rc;
}

/* IOMMU_HWPT_GET_DIRTY_BITMAP */
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct io_pagetable *iopt;
	unsigned long alignment;
	u64 last, end;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;

	hwpt_paging = iommufd_get_hwpt_paging(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt_paging))
		return PTR_ERR(hwpt_paging);
	iopt = &hwpt_paging->ioas->iopt;

	if (!cmd->length) {
		rc = -EINVAL;
		goto out_put;
	}
	if (check_add_overflow(cmd->iova, cmd->length - 1, &last) ||
	    last > ULONG_MAX) {
		rc = -EOVERFLOW;
		goto out_put;
	}
	/* iova + length itself may be 2^64: only its low bits matter */
	end = cmd->iova + cmd->length;

	down_read(&iopt->iova_rwsem);
	alignment = iopt->iova_alignment;
	up_read(&iopt->iova_rwsem);
	if ((cmd->iova | end) & (alignment - 1)) {
		rc = -EINVAL;
		goto out_put;
	}
	/* The lowest set bit is what counts: require a power of two */
	if (!cmd->page_size || !is_power_of_2(cmd->page_size) ||
	    ((cmd->iova | end) & (cmd->page_size - 1))) {
		rc = -EINVAL;
		goto out_put;
	}
	if (!hwpt_paging->common.domain->dirty_ops) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}

	rc = iopt_read_and_clear_dirty_data(iopt, hwpt_paging->common.domain,
					    cmd->flags, cmd);
out_put:
	iommufd_put_object(ucmd->ictx, &hwpt_paging->common.obj);
	return rc;
}

/* IOMMU_HWPT_INVALIDATE: entry_num is written back on every path */
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct iommu_user_data_array data_array = {
		.type = cmd->data_type,
		.uptr = u64_to_user_ptr(cmd->data_uptr),
		.entry_len = cmd->entry_len,
		.entry_num = cmd->entry_num,
	};
	struct iommufd_object *obj;
	struct iommu_domain *domain;
	u32 done = 0;
	int rc, rc_respond;

	if (cmd->__reserved) {
		rc = -EOPNOTSUPP;
		goto out_respond;
	}
	if (cmd->entry_num && (!cmd->data_uptr || !cmd->entry_len)) {
		rc = -EINVAL;
		goto out_respond;
	}

	obj = iommufd_get_object(ucmd->ictx, cmd->hwpt_id,
				 IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(obj)) {
		rc = PTR_ERR(obj);
		goto out_respond;
	}
	domain = container_of(obj, struct iommufd_hw_pagetable, obj)->domain;

	if (!domain->ops->cache_invalidate_user) {
		rc = -EOPNOTSUPP;
	} else {
		rc = domain->ops->cache_invalidate_user(domain, &data_array);
		/* A driver cannot claim more than it was given */
		done = min(data_array.entry_num, cmd->entry_num);
	}
	iommufd_put_object(ucmd->ictx, obj);

out_respond:
	cmd->entry_num = done;
	rc_respond = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	return rc_respond ?: rc;
}
