// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VFIO device bound to an iommufd: binding opens the device, unbinding
 * closes it, and in between its DMA goes through the I/O page table it is
 * attached to (or nowhere while it is not attached).
 *
 * A device of an emulated IOMMU group (a mediated device) has no DMA of
 * its own: its driver reads, writes and pins guest memory by IOVA. It is
 * bound by an in-kernel access of the iommufd instead (the id userspace
 * gets is the access's), attached to an IOAS (never a HW pagetable), and
 * vfio_pin_pages(), vfio_unpin_pages() and vfio_dma_rw() go through it;
 * the driver's dma_unmap is asked to unpin when userspace unmaps, when the
 * device moves to another IOAS and when it is detached.
 *
 * Two users: the device cdev, and with CONFIG_IOMMUFD_VFIO_CONTAINER the
 * group path when the group is given an iommufd as its container. The
 * state lives in the vfio_device (iommufd_device or iommufd_access,
 * iommufd_attached)
 * because a device can be bound once at a time, through one of the two:
 * the group cannot be opened while a device of it is bound through its
 * cdev, and a cdev cannot bind while the group is open. The cdev path
 * changes it under the device set's lock; the group path binds and unbinds
 * under the group's lock (the group is open then) and attaches and
 * detaches under both, as it opens and closes devices.
 */
#include <linux/capability.h>
#include <linux/iommufd.h>
#include <linux/module.h>
#include <linux/vfio.h>

#include "vfio.h"

MODULE_IMPORT_NS(IOMMUFD);
#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
MODULE_IMPORT_NS(IOMMUFD_VFIO);
#endif

static bool vfio_device_is_emulated(struct vfio_device *device)
{
	return device->group->type == VFIO_EMULATED_IOMMU;
}

static void vfio_emulated_unmap(void *data, unsigned long iova,
				unsigned long length)
{
	struct vfio_device *device = data;

	device->ops->dma_unmap(device, iova, length);
}

/* A driver with dma_unmap pins pages, and gives them back on request */
static const struct iommufd_access_ops vfio_emulated_pin_ops = {
	.needs_pin_pages = 1,
	.unmap = vfio_emulated_unmap,
};

/* Without, it only reads and writes (vfio_dma_rw()) */
static const struct iommufd_access_ops vfio_emulated_rw_ops = {
};

/*
 * Make @device @ictx's: an iommufd_device claiming its DMA, or for an
 * emulated device an access. @id gets the object's id.
 */
static int vfio_iommufd_bind_obj(struct vfio_device *device,
				 struct iommufd_ctx *ictx, u32 *id)
{
	struct iommufd_access *access;
	struct iommufd_device *idev;

	if (vfio_device_is_emulated(device)) {
		access = iommufd_access_create(ictx, device->ops->dma_unmap ?
					       &vfio_emulated_pin_ops :
					       &vfio_emulated_rw_ops,
					       device, id);
		if (IS_ERR(access))
			return PTR_ERR(access);
		device->iommufd_access = access;
	} else {
		idev = iommufd_device_bind(ictx, device->dev, id);
		if (IS_ERR(idev))
			return PTR_ERR(idev);
		device->iommufd_device = idev;
	}
	device->iommufd_attached = false;
	return 0;
}

/* Undo vfio_iommufd_bind_obj() of a detached device */
static void vfio_iommufd_unbind_obj(struct vfio_device *device)
{
	if (device->iommufd_access) {
		iommufd_access_destroy(device->iommufd_access);
		device->iommufd_access = NULL;
	} else {
		iommufd_device_unbind(device->iommufd_device);
		device->iommufd_device = NULL;
	}
}

/**
 * vfio_iommufd_bind() - Bind a device to an iommufd and open it
 * @device: The device; not open through any path
 * @ictx: The iommufd; the caller holds a reference for the call, the
 *	  binding takes its own
 * @kvm: The KVM to hand to the driver's open_device, or NULL. The caller
 *	 keeps it valid until this returns, as the group path does.
 * @devid: Gets the id of the device in @ictx
 *
 * Claims the device's DMA for @ictx (blocked until it is attached), or for
 * an emulated device creates its access, then calls the driver's
 * open_device, as the first open through the group does.
 *
 * Context: Process context; the caller holds device->dev_set->lock.
 * Return: 0; -EINVAL if the device is open already (through its group or
 * another file); -ENODEV if its driver is going away; the errors of
 * iommufd_device_bind() (-EBUSY for a DMA ownership conflict, -EPERM for
 * MSIs that cannot be isolated, ...) and of the driver's open_device.
 */
int vfio_iommufd_bind(struct vfio_device *device, struct iommufd_ctx *ictx,
		      struct kvm *kvm, u32 *devid)
{
	int ret;

	lockdep_assert_held(&device->dev_set->lock);

	if (device->open_count)
		return -EINVAL;

	ret = vfio_iommufd_bind_obj(device, ictx, devid);
	if (ret)
		return ret;

	if (!try_module_get(device->dev->driver->owner)) {
		ret = -ENODEV;
		goto err_unbind;
	}

	device->cdev_opened = true;
	device->open_count = 1;
	/* As on the group path: a driver that uses it takes a reference */
	device->kvm = kvm;
	if (device->ops->open_device) {
		ret = device->ops->open_device(device);
		if (ret)
			goto err_undo_open;
	}
	return 0;

err_undo_open:
	device->kvm = NULL;
	device->open_count = 0;
	device->cdev_opened = false;
	module_put(device->dev->driver->owner);
err_unbind:
	vfio_iommufd_unbind_obj(device);
	return ret;
}

/**
 * vfio_iommufd_unbind() - Close a device and unbind it from its iommufd
 * @device: The device, bound with vfio_iommufd_bind()
 *
 * The driver's close_device quiesces the device first; only then is it
 * detached, so it cannot issue DMA into a page table that is going away,
 * and its DMA ownership handed back.
 *
 * Context: Process context; the caller holds device->dev_set->lock.
 */
void vfio_iommufd_unbind(struct vfio_device *device)
{
	lockdep_assert_held(&device->dev_set->lock);

	if (device->ops->close_device)
		device->ops->close_device(device);
	device->kvm = NULL;
	vfio_iommufd_detach(device);
	vfio_iommufd_unbind_obj(device);
	device->cdev_opened = false;
	device->open_count = 0;
	module_put(device->dev->driver->owner);
}

/**
 * vfio_iommufd_attach() - Attach a bound device to an IOAS or a HW pagetable
 * @device: The device, bound
 * @pt_id: In: the IOAS or HW pagetable. Out: the HW pagetable used; for an
 *	   emulated device, which can only use an IOAS, unchanged
 *
 * A device attached already is moved to @pt_id in one step (a replace);
 * when that fails it stays where it was.
 *
 * Context: Process context; the caller holds device->dev_set->lock. Moving
 * an emulated device calls its driver's dma_unmap.
 * Return: 0 or the error of iommufd_device_attach() or
 * iommufd_device_replace(): -ENOENT for no such object, -EINVAL for an
 * object of another kind or a domain the device cannot use, ...; for an
 * emulated device the error of iommufd_access_attach() or
 * iommufd_access_replace(), -ENOENT for anything but an IOAS.
 */
int vfio_iommufd_attach(struct vfio_device *device, u32 *pt_id)
{
	int ret;

	lockdep_assert_held(&device->dev_set->lock);

	if (device->iommufd_access) {
		if (device->iommufd_attached)
			return iommufd_access_replace(device->iommufd_access,
						      *pt_id);
		ret = iommufd_access_attach(device->iommufd_access, *pt_id);
	} else {
		if (device->iommufd_attached)
			return iommufd_device_replace(device->iommufd_device,
						      pt_id);
		ret = iommufd_device_attach(device->iommufd_device, pt_id);
	}
	if (ret)
		return ret;
	device->iommufd_attached = true;
	return 0;
}

/**
 * vfio_iommufd_detach() - Detach a bound device from its page table
 * @device: The device, bound; attached or not
 *
 * Its DMA is blocked afterwards. The driver of an emulated device is asked
 * to unpin everything (dma_unmap), and cannot pin or read any more.
 *
 * Context: Process context; the caller holds device->dev_set->lock.
 */
void vfio_iommufd_detach(struct vfio_device *device)
{
	lockdep_assert_held(&device->dev_set->lock);

	if (!device->iommufd_attached)
		return;
	if (device->iommufd_access)
		iommufd_access_detach(device->iommufd_access);
	else
		iommufd_device_detach(device->iommufd_device);
	device->iommufd_attached = false;
}

/**
 * vfio_iommufd_pin_pages() - vfio_pin_pages() of a device bound to an iommufd
 * @device: The device, open
 * @iova: An IOVA in the first page
 * @npage: Number of pages, at most VFIO_PIN_PAGES_MAX_ENTRIES
 * @prot: IOMMU_READ, and IOMMU_WRITE to write to them
 * @pages: Gets the @npage pages
 *
 * Context: Process context.
 * Return: @npage; -EINVAL when the device is not an emulated one bound by
 * a driver with dma_unmap; the errors of iommufd_access_pin_pages()
 * (-ENOENT: not attached, or not all mapped).
 */
int vfio_iommufd_pin_pages(struct vfio_device *device, dma_addr_t iova,
			   int npage, int prot, struct page **pages)
{
	unsigned int flags = 0;
	int ret;

	if (!device->iommufd_access || !device->ops->dma_unmap)
		return -EINVAL;
	if (iova > ULONG_MAX)
		return -EINVAL;
	if (prot & IOMMU_WRITE)
		flags |= IOMMUFD_ACCESS_RW_WRITE;
	/* As type1: the pages from the one @iova is in */
	ret = iommufd_access_pin_pages(device->iommufd_access,
				       ALIGN_DOWN(iova, PAGE_SIZE),
				       npage * PAGE_SIZE, pages, flags);
	return ret ? ret : npage;
}

/**
 * vfio_iommufd_unpin_pages() - vfio_unpin_pages() of a device bound to an iommufd
 * @device: The device, open
 * @iova: The @iova given to vfio_iommufd_pin_pages()
 * @npage: The @npage given to it
 *
 * Context: Process context.
 */
void vfio_iommufd_unpin_pages(struct vfio_device *device, dma_addr_t iova,
			      int npage)
{
	if (WARN_ON(!device->iommufd_access || iova > ULONG_MAX))
		return;
	iommufd_access_unpin_pages(device->iommufd_access,
				   ALIGN_DOWN(iova, PAGE_SIZE),
				   npage * PAGE_SIZE);
}

/**
 * vfio_iommufd_dma_rw() - vfio_dma_rw() of a device bound to an iommufd
 * @device: The device, open
 * @iova: First IOVA
 * @data: Kernel buffer
 * @len: Bytes
 * @write: Copy @data to the IOVA, else from it
 *
 * Context: Process context, or a kthread without an mm.
 * Return: 0; -EINVAL when the device is not an emulated one; the errors of
 * iommufd_access_rw().
 */
int vfio_iommufd_dma_rw(struct vfio_device *device, dma_addr_t iova,
			void *data, size_t len, bool write)
{
	unsigned int flags = write ? IOMMUFD_ACCESS_RW_WRITE :
				     IOMMUFD_ACCESS_RW_READ;

	if (!device->iommufd_access || iova > ULONG_MAX)
		return -EINVAL;
	if (!current->mm)
		flags |= IOMMUFD_ACCESS_RW_KTHREAD;
	return iommufd_access_rw(device->iommufd_access, iova, data, len,
				 flags);
}

/**
 * vfio_device_cdev_opened() - Whether a device is open through its cdev
 * @device: The device
 *
 * Context: Any context. The answer holds while the caller has the device
 * open (a driver serving one of its ioctls) or holds device->dev_set->lock.
 * Return: true while the device is bound to an iommufd through its cdev.
 */
bool vfio_device_cdev_opened(struct vfio_device *device)
{
	return device->cdev_opened;
}
EXPORT_SYMBOL_GPL(vfio_device_cdev_opened);

/**
 * vfio_iommufd_device_ictx() - The iommufd a device of an IOMMU group is bound to
 * @device: The device
 *
 * Context: As vfio_device_cdev_opened().
 * Return: the iommufd (no reference taken), or NULL if the device is not
 * bound through an iommufd_device (not bound, or an emulated device).
 */
struct iommufd_ctx *vfio_iommufd_device_ictx(struct vfio_device *device)
{
	if (!device->iommufd_device)
		return NULL;
	return iommufd_device_to_ictx(device->iommufd_device);
}
EXPORT_SYMBOL_GPL(vfio_iommufd_device_ictx);

/**
 * vfio_iommufd_get_dev_id() - How an iommufd names a device it may reset
 * @device: A device of the caller's device set
 * @ictx: The iommufd asking
 *
 * For VFIO_DEVICE_GET_PCI_HOT_RESET_INFO and VFIO_DEVICE_PCI_HOT_RESET of
 * a device bound through its cdev: @ictx may reset the devices it has
 * bound, and the devices whose IOMMU group it owns through another bound
 * device (their DMA is blocked or goes to @ictx's page tables; nobody
 * else can be using them).
 *
 * Context: Process context; the caller holds device->dev_set->lock, which
 * keeps devices from being bound or unbound through their cdev (the group
 * path is not looked at: see the code).
 * Return: the object id of @device in @ictx (> 0) if it is bound there
 * through its cdev;
 * 0 (VFIO_PCI_DEVID_OWNED) if not, but @ictx owns its IOMMU group;
 * -ENOENT otherwise.
 */
int vfio_iommufd_get_dev_id(struct vfio_device *device,
			    struct iommufd_ctx *ictx)
{
	struct iommu_group *group;
	bool owned;

	lockdep_assert_held(&device->dev_set->lock);

	/*
	 * Only the cdev path binds and unbinds under the set's lock; the
	 * group path binds under the group's, so its iommufd_device cannot
	 * be looked at here. Its group is owned by the iommufd then, which
	 * gives the same answer for a reset. Object ids start at 1.
	 */
	if (device->cdev_opened && device->iommufd_device &&
	    iommufd_device_to_ictx(device->iommufd_device) == ictx)
		return iommufd_device_to_id(device->iommufd_device);

	/* The device may be unregistered already: not through device->group */
	group = iommu_group_get(device->dev);
	owned = group && iommufd_ctx_has_group(ictx, group);
	iommu_group_put(group);
	return owned ? 0 : -ENOENT;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_get_dev_id);

#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
/*
 * The group path with an iommufd as the container. As a type1 container
 * does, the iommufd owns the DMA of the group from VFIO_GROUP_SET_CONTAINER
 * until the group lets go of it: every device of the group is bound to the
 * iommufd then (a device registered later when it is first opened). A
 * device is attached to the compat IOAS of the iommufd while it is open,
 * and detached when it is closed.
 */

static bool vfio_iommufd_bound(struct vfio_device *device)
{
	return device->iommufd_device || device->iommufd_access;
}

/* Bind @device to @ictx unless it is bound already */
static int vfio_iommufd_group_bind(struct vfio_device *device,
				   struct iommufd_ctx *ictx)
{
	u32 id;

	lockdep_assert_held(&device->group->group_lock);

	if (vfio_iommufd_bound(device))
		return 0;
	return vfio_iommufd_bind_obj(device, ictx, &id);
}

/**
 * vfio_iommufd_group_unbind() - Unbind a device bound through its group
 * @device: The device, closed; bound or not
 *
 * Context: Process context; the caller holds device->group->group_lock.
 */
void vfio_iommufd_group_unbind(struct vfio_device *device)
{
	lockdep_assert_held(&device->group->group_lock);

	if (!vfio_iommufd_bound(device))
		return;
	/* Closed devices are detached: the unbind would detach them anyway */
	WARN_ON(device->iommufd_attached);
	vfio_iommufd_unbind_obj(device);
	device->iommufd_attached = false;
}

static void vfio_group_unbind_iommufd(struct vfio_group *group)
{
	struct vfio_device *device;

	lockdep_assert_held(&group->group_lock);

	mutex_lock(&group->device_lock);
	list_for_each_entry(device, &group->device_list, group_next)
		vfio_iommufd_group_unbind(device);
	mutex_unlock(&group->device_lock);
}

/**
 * vfio_group_attach_iommufd() - Use an iommufd as the container of a group
 * @group: The group, without a container
 * @file: The file given to VFIO_GROUP_SET_CONTAINER
 *
 * For a group with an IOMMU the context gets a compat IOAS if it has none
 * and every device of the group is bound to it, which takes the DMA of the
 * group away from the kernel; a no-IOMMU group puts the context in no-iommu
 * mode instead. A mediated device (emulated IOMMU group) has no DMA to
 * take: the context gets a compat IOAS, and the device is bound (its
 * access created) at its first open.
 *
 * Context: Process context; the caller holds group->group_lock.
 * Return: 0; -EBADFD if @file is no iommufd; -EPERM for a no-IOMMU group
 * without CAP_SYS_RAWIO; -EINVAL if the context is in the other mode (a
 * compat IOAS with a no-IOMMU group, no-iommu mode with another group); the
 * errors of iommufd_device_bind() (-EBUSY: a kernel driver uses the group,
 * -EPERM: MSIs not isolated, ...).
 */
int vfio_group_attach_iommufd(struct vfio_group *group, struct file *file)
{
	struct vfio_device *device;
	struct iommufd_ctx *ictx;
	int ret = 0;

	lockdep_assert_held(&group->group_lock);

	ictx = iommufd_ctx_from_file(file);
	if (IS_ERR(ictx))
		return PTR_ERR(ictx);

	switch (group->type) {
	case VFIO_NO_IOMMU:
		if (!capable(CAP_SYS_RAWIO)) {
			ret = -EPERM;
			goto err_put_ctx;
		}
		ret = iommufd_vfio_compat_set_no_iommu(ictx);
		if (ret)
			goto err_put_ctx;
		break;
	case VFIO_EMULATED_IOMMU:
		ret = iommufd_vfio_compat_ioas_create(ictx);
		if (ret)
			goto err_put_ctx;
		break;
	case VFIO_IOMMU:
		ret = iommufd_vfio_compat_ioas_create(ictx);
		if (ret)
			goto err_put_ctx;
		mutex_lock(&group->device_lock);
		list_for_each_entry(device, &group->device_list, group_next) {
			ret = vfio_iommufd_group_bind(device, ictx);
			if (ret)
				break;
		}
		mutex_unlock(&group->device_lock);
		if (ret)
			goto err_unbind;
		break;
	default:
		ret = -EOPNOTSUPP;
		goto err_put_ctx;
	}

	group->iommufd = ictx;
	group->container_users = 1;
	return 0;

err_unbind:
	vfio_group_unbind_iommufd(group);
err_put_ctx:
	iommufd_ctx_put(ictx);
	return ret;
}

/**
 * vfio_group_detach_iommufd() - Undo vfio_group_attach_iommufd()
 * @group: The group; none of its devices is open
 *
 * Context: Process context; the caller holds group->group_lock.
 */
void vfio_group_detach_iommufd(struct vfio_group *group)
{
	lockdep_assert_held(&group->group_lock);
	WARN_ON(group->container_users != 1);

	vfio_group_unbind_iommufd(group);
	iommufd_ctx_put(group->iommufd);
	group->iommufd = NULL;
	group->container_users = 0;
}

/**
 * vfio_iommufd_group_open() - First open of a device of an iommufd group
 * @device: The device
 *
 * Binds the device if it was registered after the group got the iommufd,
 * and attaches it to the compat IOAS. A device of a no-IOMMU group is
 * neither bound nor attached.
 *
 * Context: Process context; the caller holds device->dev_set->lock and
 * device->group->group_lock.
 * Return: 0; -ENODEV if the context has no compat IOAS (any more); the
 * errors of iommufd_device_bind() and iommufd_device_attach().
 */
int vfio_iommufd_group_open(struct vfio_device *device)
{
	struct vfio_group *group = device->group;
	u32 ioas_id;
	int ret;

	lockdep_assert_held(&device->dev_set->lock);
	lockdep_assert_held(&group->group_lock);

	if (group->type == VFIO_NO_IOMMU)
		return 0;

	ret = vfio_iommufd_group_bind(device, group->iommufd);
	if (ret)
		return ret;
	ret = iommufd_vfio_compat_ioas_get_id(group->iommufd, &ioas_id);
	if (ret)
		return ret;
	return vfio_iommufd_attach(device, &ioas_id);
}

/**
 * vfio_iommufd_group_close() - Last close of a device of an iommufd group
 * @device: The device, quiesced by its driver's close_device
 *
 * Its DMA is blocked until it is opened again; it stays bound, so the
 * group stays owned.
 *
 * Context: Process context; the caller holds device->dev_set->lock.
 */
void vfio_iommufd_group_close(struct vfio_device *device)
{
	vfio_iommufd_detach(device);
}
#endif /* CONFIG_IOMMUFD_VFIO_CONTAINER */
