// SPDX-License-Identifier: GPL-2.0
/*
 * Devices bound to a context (IOMMUFD_OBJ_DEVICE) and their attachment to
 * HW pagetables.
 *
 * Binding claims the DMA ownership of one device for the context
 * (iommu_device_claim_dma_owner() with the context as the cookie): its
 * iommu_group leaves the kernel's DMA API and is attached to the group's
 * blocking domain. All devices of a group bound at the same time are bound
 * to the same context; the IOMMU core refuses anything else.
 *
 * The attachment model
 * --------------------
 * On 6.1 the unit the IOMMU translates for is the iommu_group: a domain is
 * attached to a group, and iommu_group_replace_domain() moves a whole
 * group. Devices of one group cannot be told apart by the IOMMU, so iommufd
 * keeps per group (struct iommufd_group, one per context and iommu_group):
 *
 *   igroup->hwpt         the HWPT whose domain the group is attached to, or
 *                        NULL when the group is on its blocking domain;
 *   igroup->device_list  the devices userspace attached; never empty while
 *                        igroup->hwpt is set, and every device on it holds
 *                        one long-term reference on igroup->hwpt.
 *
 * A bound device is "attached" exactly when it is on device_list, and
 * reports igroup->hwpt as its HWPT then. The rules, for a group of three
 * devices A, B and C all bound to one context:
 *
 *  - attach(A, H) with no device attached attaches the group to H's domain
 *    (blocking -> H). attach(B, H') afterwards must name the same HWPT
 *    (H' == H, or an IOAS whose automatic HWPT the group is on); anything
 *    else is -EINVAL and changes nothing. attach of a device already
 *    attached is -EBUSY; it is what replace is for.
 *
 *  - replace(A, H2) while A, B and C are attached to H1 moves the group:
 *    its domain goes from H1 to H2 in one iommu_group_replace_domain(), so
 *    A, B and C all follow and all report H2; the three references move
 *    from H1 to H2. The hardware could not keep B and C on H1 anyway, and
 *    refusing would make replace useless for every multi-device group.
 *
 *  - After detach(C), A and B stay attached to H1 and the group stays on
 *    H1's domain: C reports detached, but its DMA still reaches H1, which is
 *    unavoidable with a shared requester ID. replace(A, H2) then moves the
 *    group again: A and B report H2; C still reports detached and its DMA
 *    follows the group to H2.
 *
 *  - After detach(B) and detach(C), only A is attached: replace(A, H2)
 *    moves the group, A reports H2, B and C report detached and their DMA
 *    follows. detach(A) finally puts the group back on its blocking
 *    domain.
 *
 *  - replace of a device that is not attached is -EINVAL (attach it);
 *    replace onto the HWPT the group is on already is a successful no-op.
 *
 * So no DMA of the group ever reaches a domain this context did not attach
 * it to: the group's domain is only ever its blocking domain or the domain
 * of a HWPT of this context, every change is one call of the core that goes
 * straight from the old domain to the new one (never through the kernel's
 * default domain), and a failed attach or replace leaves the group where it
 * was. The old domain is released only after the core has moved every
 * device off it: H1 loses the references of the moved devices once the
 * replace succeeded, and an automatic H1 is destroyed when that was its
 * last device, after the group's lock is dropped.
 *
 * Reserved regions follow what the devices report: while a device is
 * attached to a paging HWPT its reserved regions are reserved in that HWPT's
 * IOAS (owner: the device); they leave the IOAS when the device detaches,
 * or when the group moves to a HWPT of another IOAS, where they were
 * reserved before the move. A nested HWPT's first stage belongs to
 * userspace; nothing is reserved for it. The first device with a software
 * MSI window sets up the MSI cookie of every paging domain its group is
 * attached to (IOMMU_RESV_SW_MSI; VT-d has none).
 *
 * Locking: igroup->lock (outermost) serializes everything about a group;
 * for a paging HWPT its ioas->mutex is taken inside it, protecting the
 * HWPT's flags and the IOAS' list of HWPTs.
 */
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/irqdomain.h>
#include <linux/kref.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Allow binding devices on platforms that cannot isolate their MSIs (DMA can then forge interrupts)");

/**
 * struct iommufd_group - A context's state of one iommu_group
 * @ref: The bound devices of the group hold it
 * @lock: Protects @hwpt, @device_list and @sw_msi_start; outermost lock
 * @ictx: The context
 * @group: The iommu_group; a reference is held
 * @hwpt: The HWPT the group is attached to, NULL for the blocking domain
 * @device_list: The attached devices (struct iommufd_device.group_item)
 * @sw_msi_start: Start of the group's software MSI window, or PHYS_ADDR_MAX
 */
struct iommufd_group {
	struct kref ref;
	/* Serializes attach, replace and detach of the group's devices */
	struct mutex lock;
	struct iommufd_ctx *ictx;
	struct iommu_group *group;
	struct iommufd_hw_pagetable *hwpt;
	struct list_head device_list;
	phys_addr_t sw_msi_start;
};

static void iommufd_group_release(struct kref *kref)
{
	struct iommufd_group *igroup =
		container_of(kref, struct iommufd_group, ref);

	WARN_ON(igroup->hwpt || !list_empty(&igroup->device_list));
	/* A new igroup may have replaced this dying one in the table */
	xa_cmpxchg(&igroup->ictx->groups, iommu_group_id(igroup->group),
		   igroup, NULL, GFP_KERNEL);
	iommu_group_put(igroup->group);
	mutex_destroy(&igroup->lock);
	kfree(igroup);
}

static void iommufd_put_group(struct iommufd_group *igroup)
{
	kref_put(&igroup->ref, iommufd_group_release);
}

static bool iommufd_group_try_get(struct iommufd_group *igroup,
				  struct iommu_group *group)
{
	if (!igroup || igroup->group != group)
		return false;
	return kref_get_unless_zero(&igroup->ref);
}

/* The context's igroup of @group, created on first use, with a reference */
static struct iommufd_group *iommufd_get_group(struct iommufd_ctx *ictx,
					       struct iommu_group *group)
{
	unsigned int id = iommu_group_id(group);
	struct iommufd_group *igroup, *cur, *new;

	xa_lock(&ictx->groups);
	igroup = xa_load(&ictx->groups, id);
	if (iommufd_group_try_get(igroup, group)) {
		xa_unlock(&ictx->groups);
		return igroup;
	}
	xa_unlock(&ictx->groups);

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return ERR_PTR(-ENOMEM);
	kref_init(&new->ref);
	mutex_init(&new->lock);
	INIT_LIST_HEAD(&new->device_list);
	new->sw_msi_start = PHYS_ADDR_MAX;
	new->ictx = ictx;
	new->group = iommu_group_ref_get(group);

	/*
	 * Store it unless a live igroup appeared meanwhile; a dying one (its
	 * release has not erased it yet) is replaced.
	 */
	cur = igroup;
	for (;;) {
		xa_lock(&ictx->groups);
		igroup = __xa_cmpxchg(&ictx->groups, id, cur, new, GFP_KERNEL);
		if (xa_is_err(igroup)) {
			xa_unlock(&ictx->groups);
			igroup = ERR_PTR(xa_err(igroup));
			break;
		}
		if (igroup == cur) {
			xa_unlock(&ictx->groups);
			return new;
		}
		if (iommufd_group_try_get(igroup, group)) {
			xa_unlock(&ictx->groups);
			break;
		}
		cur = igroup;
		xa_unlock(&ictx->groups);
	}

	iommu_group_put(new->group);
	mutex_destroy(&new->lock);
	kfree(new);
	return igroup;
}

/*
 * Drop the @nr references attached devices held on @hwpt; an automatic
 * HWPT goes with its last device. Called without locks: the destroy waits
 * for running ioctls that use the HWPT.
 */
static void iommufd_hwpt_put_devices(struct iommufd_ctx *ictx,
				     struct iommufd_hw_pagetable *hwpt,
				     unsigned int nr)
{
	if (!nr)
		return;
	if (!hwpt_is_paging(hwpt) || !to_hwpt_paging(hwpt)->auto_domain) {
		while (nr--)
			iommufd_object_put_user(&hwpt->obj);
		return;
	}
	while (--nr)
		iommufd_object_put_user(&hwpt->obj);
	iommufd_object_put_and_destroy(ictx, &hwpt->obj);
}

static struct iommufd_ioas *hwpt_ioas(struct iommufd_hw_pagetable *hwpt)
{
	return hwpt_is_paging(hwpt) ? to_hwpt_paging(hwpt)->ioas : NULL;
}

static void iommufd_group_record_sw_msi(struct iommufd_group *igroup,
					phys_addr_t sw_msi_start)
{
	lockdep_assert_held(&igroup->lock);
	if (sw_msi_start != PHYS_ADDR_MAX &&
	    igroup->sw_msi_start == PHYS_ADDR_MAX)
		igroup->sw_msi_start = sw_msi_start;
}

/* Set up the MSI window of a paging domain the group is going to use */
static int iommufd_group_setup_msi(struct iommufd_group *igroup,
				   struct iommufd_hwpt_paging *hwpt_paging)
{
	int rc;

	lockdep_assert_held(&igroup->lock);
	lockdep_assert_held(&hwpt_paging->ioas->mutex);

	if (igroup->sw_msi_start == PHYS_ADDR_MAX || hwpt_paging->msi_cookie)
		return 0;
	rc = iommu_get_msi_cookie(hwpt_paging->common.domain,
				  igroup->sw_msi_start);
	if (rc)
		return rc;
	hwpt_paging->msi_cookie = true;
	return 0;
}

/**
 * iommufd_hwpt_attach_device() - Attach a device to a HWPT
 * @hwpt: The HWPT; the caller holds a reference (short-term, or it owns the
 *	  HWPT under construction), or the group is on it and its attached
 *	  devices' long-term references are kept by the group's lock
 * @idev: A bound device, not attached
 *
 * The first device of its group attaches the group to @hwpt's domain; later
 * ones join the group's HWPT, which must be @hwpt. On success the device
 * holds a long-term reference on @hwpt.
 *
 * Context: Process context; the caller holds the group's lock and, for a
 * paging HWPT, its ioas->mutex.
 * Return: 0; -EBUSY if @idev is attached already; -EINVAL if its group is
 * on another HWPT or the driver finds the domain incompatible; -EADDRINUSE
 * if a reserved region of the device is mapped in the IOAS; or another
 * error of the driver or the IOAS. Nothing changed then.
 */
int iommufd_hwpt_attach_device(struct iommufd_hw_pagetable *hwpt,
			       struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_ioas *ioas = hwpt_ioas(hwpt);
	phys_addr_t sw_msi_start;
	int rc;

	lockdep_assert_held(&igroup->lock);
	if (ioas)
		lockdep_assert_held(&ioas->mutex);

	if (!list_empty(&idev->group_item))
		return -EBUSY;
	if (igroup->hwpt && igroup->hwpt != hwpt)
		return -EINVAL;

	if (ioas) {
		rc = iopt_table_enforce_dev_resv_regions(&ioas->iopt, idev->dev,
							 &sw_msi_start);
		if (rc)
			return rc;
		iommufd_group_record_sw_msi(igroup, sw_msi_start);
	}

	if (!igroup->hwpt) {
		if (ioas) {
			rc = iommufd_group_setup_msi(igroup,
						     to_hwpt_paging(hwpt));
			if (rc)
				goto err_unreserve;
		}
		/* The group is owned: it leaves its blocking domain */
		rc = iommu_attach_group(hwpt->domain, igroup->group);
		if (rc)
			goto err_unreserve;
		igroup->hwpt = hwpt;
	}

	iommufd_object_get_user(idev->ictx, &hwpt->obj);
	list_add_tail(&idev->group_item, &igroup->device_list);
	return 0;

err_unreserve:
	if (ioas)
		iopt_remove_reserved_iova(&ioas->iopt, idev->dev);
	return rc;
}

/**
 * iommufd_hwpt_detach_device() - Detach a device from its group's HWPT
 * @idev: A bound device
 *
 * With its last attached device the group goes back to its blocking
 * domain. The device's reservations leave the IOAS afterwards, once its
 * DMA (if it was the last) cannot reach the domain any more.
 *
 * Context: Process context; the caller holds the group's lock.
 * Return: the HWPT @idev was attached to, whose reference the caller now
 * owns and drops; NULL if @idev was not attached.
 */
struct iommufd_hw_pagetable *
iommufd_hwpt_detach_device(struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *hwpt = igroup->hwpt;
	struct iommufd_ioas *ioas;

	lockdep_assert_held(&igroup->lock);

	if (list_empty(&idev->group_item))
		return NULL;
	list_del_init(&idev->group_item);
	if (list_empty(&igroup->device_list)) {
		iommu_detach_group(hwpt->domain, igroup->group);
		igroup->hwpt = NULL;
	}
	ioas = hwpt_ioas(hwpt);
	if (ioas)
		iopt_remove_reserved_iova(&ioas->iopt, idev->dev);
	return hwpt;
}

/*
 * Move @idev's group to @hwpt (see the top of the file). Returns the HWPT
 * the group was on, whose *nr_refs references the caller now owns and
 * drops; NULL if the group is on @hwpt already; an ERR_PTR if @idev is not
 * attached (-EINVAL) or the move failed, the group unchanged then.
 */
static struct iommufd_hw_pagetable *
iommufd_device_replace_hwpt(struct iommufd_device *idev,
			    struct iommufd_hw_pagetable *hwpt,
			    unsigned int *nr_refs)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *old_hwpt = igroup->hwpt;
	struct iommufd_ioas *new_ioas = hwpt_ioas(hwpt);
	struct iommufd_ioas *old_ioas;
	struct iommufd_device *cur;
	phys_addr_t sw_msi_start;
	unsigned int nr = 0;
	int rc;

	lockdep_assert_held(&igroup->lock);
	if (new_ioas)
		lockdep_assert_held(&new_ioas->mutex);

	if (list_empty(&idev->group_item))
		return ERR_PTR(-EINVAL);
	if (old_hwpt == hwpt)
		return NULL;
	old_ioas = hwpt_ioas(old_hwpt);

	if (new_ioas && new_ioas != old_ioas) {
		list_for_each_entry(cur, &igroup->device_list, group_item) {
			rc = iopt_table_enforce_dev_resv_regions(&new_ioas->iopt,
								 cur->dev,
								 &sw_msi_start);
			if (rc)
				goto err_unreserve;
			iommufd_group_record_sw_msi(igroup, sw_msi_start);
		}
	}
	if (new_ioas) {
		rc = iommufd_group_setup_msi(igroup, to_hwpt_paging(hwpt));
		if (rc)
			goto err_unreserve;
	}

	rc = iommu_group_replace_domain(igroup->group, hwpt->domain);
	if (rc)
		goto err_unreserve;

	list_for_each_entry(cur, &igroup->device_list, group_item) {
		if (old_ioas && old_ioas != new_ioas)
			iopt_remove_reserved_iova(&old_ioas->iopt, cur->dev);
		iommufd_object_get_user(idev->ictx, &hwpt->obj);
		nr++;
	}
	igroup->hwpt = hwpt;
	*nr_refs = nr;
	return old_hwpt;

err_unreserve:
	/* Devices not reached have no reservation there: nothing happens */
	if (new_ioas && new_ioas != old_ioas)
		list_for_each_entry(cur, &igroup->device_list, group_item)
			iopt_remove_reserved_iova(&new_ioas->iopt, cur->dev);
	return ERR_PTR(rc);
}

/*
 * Attach or replace to an explicit HWPT. The caller holds the group's lock;
 * @old and @nr_old get what the caller has to drop.
 */
static int iommufd_device_do_hwpt(struct iommufd_device *idev,
				  struct iommufd_hw_pagetable *hwpt,
				  bool replace,
				  struct iommufd_hw_pagetable **old,
				  unsigned int *nr_old)
{
	struct iommufd_hw_pagetable *prev;

	lockdep_assert_held(&idev->igroup->lock);

	if (!replace)
		return iommufd_hwpt_attach_device(hwpt, idev);
	prev = iommufd_device_replace_hwpt(idev, hwpt, nr_old);
	if (IS_ERR(prev))
		return PTR_ERR(prev);
	*old = prev;
	return 0;
}

/*
 * Attach or replace to an IOAS: the first automatic HWPT of @ioas that suits
 * the device (-EINVAL from the driver means it does not), else a new one.
 * Returns the id of the HWPT used.
 */
static int iommufd_device_auto_hwpt(struct iommufd_device *idev,
				    struct iommufd_ioas *ioas, bool replace,
				    u32 *hwpt_id,
				    struct iommufd_hw_pagetable **old,
				    unsigned int *nr_old)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommufd_hw_pagetable *cur;
	int rc;

	lockdep_assert_held(&igroup->lock);

	mutex_lock(&ioas->mutex);
	cur = igroup->hwpt;
	if (cur && hwpt_is_paging(cur) && to_hwpt_paging(cur)->ioas == ioas &&
	    to_hwpt_paging(cur)->auto_domain) {
		/* The group is on this IOAS' automatic HWPT: join or no-op */
		rc = iommufd_device_do_hwpt(idev, cur, replace, old, nr_old);
		if (!rc)
			*hwpt_id = cur->obj.id;
		goto out_unlock;
	}
	if (cur && !replace) {
		/* All devices of a group use one HWPT */
		rc = -EINVAL;
		goto out_unlock;
	}

	list_for_each_entry(hwpt_paging, &ioas->hwpt_list, hwpt_item) {
		struct iommufd_object *obj = &hwpt_paging->common.obj;

		if (!hwpt_paging->auto_domain)
			continue;
		/* Being destroyed: not usable any more */
		if (!refcount_inc_not_zero(&obj->shortterm_users))
			continue;
		rc = iommufd_device_do_hwpt(idev, &hwpt_paging->common, replace,
					    old, nr_old);
		if (!rc)
			*hwpt_id = obj->id;
		iommufd_put_object(idev->ictx, obj);
		if (rc != -EINVAL)
			goto out_unlock;
	}

	/*
	 * A new one. Attach makes the device its first user while it is
	 * empty; replace moves the group once it mirrors the IOAS. Only then
	 * does it become automatic, so nobody else looks at it before.
	 */
	hwpt_paging = iommufd_hwpt_paging_alloc(idev->ictx, ioas, idev, 0,
						!replace, NULL);
	if (IS_ERR(hwpt_paging)) {
		rc = PTR_ERR(hwpt_paging);
		goto out_unlock;
	}
	if (replace) {
		rc = iommufd_device_do_hwpt(idev, &hwpt_paging->common, true,
					    old, nr_old);
		if (rc) {
			struct iommufd_object *obj = &hwpt_paging->common.obj;

			/* Its destroy takes ioas->mutex */
			mutex_unlock(&ioas->mutex);
			iommufd_object_abort_and_destroy(idev->ictx, obj);
			return rc;
		}
	}
	hwpt_paging->auto_domain = true;
	*hwpt_id = hwpt_paging->common.obj.id;
	iommufd_object_finalize(idev->ictx, &hwpt_paging->common.obj);
	rc = 0;

out_unlock:
	mutex_unlock(&ioas->mutex);
	return rc;
}

static int iommufd_device_change_pt(struct iommufd_device *idev, u32 *pt_id,
				    bool replace)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *old = NULL;
	struct iommufd_object *pt_obj;
	unsigned int nr_old = 0;
	u32 hwpt_id = 0;
	int rc;

	pt_obj = iommufd_get_object(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return PTR_ERR(pt_obj);

	mutex_lock(&igroup->lock);
	if (replace && list_empty(&idev->group_item)) {
		/* Nothing to replace: attach it */
		rc = -EINVAL;
		goto out_unlock;
	}
	switch (pt_obj->type) {
	case IOMMUFD_OBJ_HWPT_PAGING:
	case IOMMUFD_OBJ_HWPT_NESTED: {
		struct iommufd_hw_pagetable *hwpt =
			container_of(pt_obj, struct iommufd_hw_pagetable, obj);
		struct iommufd_ioas *ioas = hwpt_ioas(hwpt);

		if (ioas)
			mutex_lock(&ioas->mutex);
		rc = iommufd_device_do_hwpt(idev, hwpt, replace, &old,
					    &nr_old);
		if (ioas)
			mutex_unlock(&ioas->mutex);
		hwpt_id = hwpt->obj.id;
		break;
	}
	case IOMMUFD_OBJ_IOAS: {
		struct iommufd_ioas *ioas =
			container_of(pt_obj, struct iommufd_ioas, obj);

		rc = iommufd_device_auto_hwpt(idev, ioas, replace, &hwpt_id,
					      &old, &nr_old);
		break;
	}
	default:
		rc = -EINVAL;
		break;
	}
out_unlock:
	mutex_unlock(&igroup->lock);
	iommufd_put_object(idev->ictx, pt_obj);

	if (rc)
		return rc;
	if (old)
		iommufd_hwpt_put_devices(idev->ictx, old, nr_old);
	*pt_id = hwpt_id;
	return 0;
}

/**
 * iommufd_device_attach() - Attach a bound device to an IOAS or a HWPT
 * @idev: The device, bound and not attached
 * @pt_id: In: an IOAS, a paging HWPT or a nested HWPT. Out: the HWPT the
 *	   device is attached to
 *
 * An IOAS gets the device an automatic paging HWPT: the first existing one
 * of the IOAS that suits the device, else a new one. See the top of
 * device.c for groups of several devices.
 *
 * Context: Process context.
 * Return: 0; -ENOENT (no such object); -EINVAL (another kind of object, a
 * domain that does not suit the device, or its group is on another HWPT);
 * -EBUSY (attached already); -EADDRINUSE (a reserved region of the device
 * is mapped); -ENOMEM and the errors of the driver and the IOAS.
 */
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id)
{
	return iommufd_device_change_pt(idev, pt_id, false);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_attach, IOMMUFD);

/**
 * iommufd_device_replace() - Move an attached device to another IOAS or HWPT
 * @idev: The device, attached
 * @pt_id: In: an IOAS, a paging HWPT or a nested HWPT. Out: the HWPT the
 *	   device is attached to
 *
 * The device's group moves as one, in a single switch of its domain that
 * never passes through the kernel's DMA domain; every attached device of
 * the group follows (see the top of device.c). Replacing onto the current
 * HWPT does nothing. An automatic HWPT left without devices is destroyed.
 *
 * Context: Process context.
 * Return: 0; -EINVAL if the device is not attached, or as for
 * iommufd_device_attach(). On failure the old attachment is untouched.
 */
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id)
{
	return iommufd_device_change_pt(idev, pt_id, true);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_replace, IOMMUFD);

/**
 * iommufd_device_detach() - Detach a device from its HWPT
 * @idev: The device
 *
 * The group's DMA goes back to its blocking domain when this was its last
 * attached device. An automatic HWPT left without devices is destroyed.
 * A device that is not attached is left alone.
 *
 * Context: Process context.
 */
void iommufd_device_detach(struct iommufd_device *idev)
{
	struct iommufd_hw_pagetable *hwpt;

	mutex_lock(&idev->igroup->lock);
	hwpt = iommufd_hwpt_detach_device(idev);
	mutex_unlock(&idev->igroup->lock);
	if (hwpt)
		iommufd_hwpt_put_devices(idev->ictx, hwpt, 1);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_detach, IOMMUFD);

/* The MSIs of @dev cannot be forged by its DMA */
static bool iommufd_device_msi_isolated(struct device *dev)
{
	if (iommufd_selftest_is_mock_dev(dev))
		return true;
	return device_iommu_capable(dev, IOMMU_CAP_INTR_REMAP) ||
	       irq_domain_check_msi_remap();
}

/**
 * iommufd_device_bind() - Bind a device to a context
 * @ictx: The context
 * @dev: The device; it must have an IOMMU group
 * @id: Gets the id of the new device object
 *
 * Claims the DMA ownership of @dev for @ictx: its group is put on its
 * blocking domain, and drivers using the DMA API can no longer bind to any
 * device of the group. The device is not attached. The device object holds
 * a reference on @ictx and cannot be destroyed by IOMMU_DESTROY; undo with
 * iommufd_device_unbind().
 *
 * Context: Process context.
 * Return: the device, or an ERR_PTR: -ENODEV (no IOMMU group), -EINVAL (the
 * IOMMU cannot make the device's DMA cache coherent), -EPERM (MSIs cannot
 * be isolated and allow_unsafe_interrupts is off, or a device of the group
 * needs firmware's direct mappings kept), -EBUSY (the group is
 * used by a kernel driver or another owner, or @dev is bound already),
 * -ENOMEM.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id)
{
	struct iommufd_device *idev;
	struct iommufd_group *igroup;
	struct iommu_group *group;
	int rc;

	group = iommu_group_get(dev);
	if (!group)
		return ERR_PTR(-ENODEV);

	if (!device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY)) {
		rc = -EINVAL;
		goto out_group_put;
	}
	if (!iommufd_device_msi_isolated(dev)) {
		if (!allow_unsafe_interrupts) {
			rc = -EPERM;
			goto out_group_put;
		}
		dev_warn(dev,
			 "MSIs are not isolated: the device's DMA can forge interrupts (iommufd.allow_unsafe_interrupts)\n");
	}

	rc = iommu_device_claim_dma_owner(dev, ictx);
	if (rc)
		goto out_group_put;

	igroup = iommufd_get_group(ictx, group);
	if (IS_ERR(igroup)) {
		rc = PTR_ERR(igroup);
		goto err_release_owner;
	}

	idev = iommufd_object_alloc(ictx, idev, IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto err_put_igroup;
	}
	idev->ictx = ictx;
	idev->igroup = igroup;
	idev->dev = dev;
	INIT_LIST_HEAD(&idev->group_item);
	/*
	 * The binder's reference keeps IOMMU_DESTROY away. A mock device's
	 * owner is an object of this very context: a reference on the file
	 * would keep the context from ever being released.
	 */
	refcount_inc(&idev->obj.users);
	if (!iommufd_selftest_is_mock_dev(dev))
		iommufd_ctx_get(ictx);
	iommufd_object_finalize(ictx, &idev->obj);
	*id = idev->obj.id;
	iommu_group_put(group);
	return idev;

err_put_igroup:
	iommufd_put_group(igroup);
err_release_owner:
	iommu_device_release_dma_owner(dev);
out_group_put:
	iommu_group_put(group);
	return ERR_PTR(rc);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_bind, IOMMUFD);

/**
 * iommufd_device_unbind() - Undo iommufd_device_bind()
 * @idev: The device, detached
 *
 * The device object is destroyed once running ioctls that use it finish;
 * the last device of its group hands the group back to the DMA API.
 *
 * Context: Process context; sleeps while ioctls use the device.
 */
void iommufd_device_unbind(struct iommufd_device *idev)
{
	struct iommufd_ctx *ictx = idev->ictx;
	bool mock = iommufd_selftest_is_mock_dev(idev->dev);
	bool attached;

	mutex_lock(&idev->igroup->lock);
	attached = !list_empty(&idev->group_item);
	mutex_unlock(&idev->igroup->lock);
	if (WARN_ON(attached))
		iommufd_device_detach(idev);

	iommufd_object_put_and_destroy(ictx, &idev->obj);
	if (!mock)
		iommufd_ctx_put(ictx);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_unbind, IOMMUFD);

/**
 * iommufd_device_destroy() - Destroy a device object
 * @obj: The device, detached
 *
 * Context: Process context.
 */
void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev =
		container_of(obj, struct iommufd_device, obj);

	iommu_device_release_dma_owner(idev->dev);
	iommufd_put_group(idev->igroup);
}

/**
 * iommufd_device_to_ictx() - The context a device is bound to
 * @idev: The device
 *
 * Context: Any context.
 * Return: the context; no reference is taken.
 */
struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev)
{
	return idev->ictx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_ictx, IOMMUFD);

/**
 * iommufd_device_to_id() - The object id of a bound device
 * @idev: The device
 *
 * Context: Any context.
 * Return: the id userspace names the device by.
 */
u32 iommufd_device_to_id(struct iommufd_device *idev)
{
	return idev->obj.id;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_id, IOMMUFD);

/**
 * iommufd_ctx_has_group() - Whether a device of a group is bound to a context
 * @ictx: The context, or NULL
 * @group: The iommu_group, or NULL
 *
 * The answer may be stale as soon as it is given unless the caller keeps
 * the devices from being bound or unbound.
 *
 * Context: Any context but hard interrupt (takes the xa_lock).
 * Return: true if @ictx owns the DMA of @group through a bound device.
 */
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, struct iommu_group *group)
{
	struct iommufd_group *igroup;
	bool ret;

	if (!ictx || !group)
		return false;

	xa_lock(&ictx->groups);
	igroup = xa_load(&ictx->groups, iommu_group_id(group));
	ret = igroup && igroup->group == group && kref_read(&igroup->ref);
	xa_unlock(&ictx->groups);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_has_group, IOMMUFD);

/* IOMMU_GET_HW_INFO */
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	void __user *uptr = u64_to_user_ptr(cmd->data_uptr);
	struct iommufd_device *idev;
	u32 length, type;
	void *data;
	int rc;

	if (cmd->flags || cmd->__reserved)
		return -EOPNOTSUPP;

	idev = iommufd_get_device(ucmd, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);

	/* NULL, with type NONE and length 0, when the driver has no hw_info */
	data = iommu_get_hw_info(idev->dev, &length, &type);
	if (IS_ERR(data)) {
		rc = PTR_ERR(data);
		goto out_put;
	}

	if (copy_to_user(uptr, data, min(length, cmd->data_len))) {
		rc = -EFAULT;
		goto out_free;
	}
	if (cmd->data_len > length &&
	    clear_user(uptr + length, cmd->data_len - length)) {
		rc = -EFAULT;
		goto out_free;
	}

	cmd->data_len = length;
	cmd->out_data_type = type;
	cmd->out_capabilities = 0;
	if (device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING))
		cmd->out_capabilities |= IOMMU_HW_CAP_DIRTY_TRACKING;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));

out_free:
	kfree(data);
out_put:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}
