// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VFIO device bound to an iommufd: binding opens the device, unbinding
 * closes it, and in between its DMA goes through the I/O page table it is
 * attached to (or nowhere while it is not attached).
 *
 * The device cdev is the only user so far; the state lives in the
 * vfio_device (iommufd_device, iommufd_attached) because a device can be
 * bound once at a time, and is protected by the device set's lock, the
 * lock under which the group path opens and closes devices as well.
 */
#include <linux/iommufd.h>
#include <linux/module.h>
#include <linux/vfio.h>

#include "vfio.h"

MODULE_IMPORT_NS(IOMMUFD);

/**
 * vfio_iommufd_bind() - Bind a device to an iommufd and open it
 * @device: The device; not open through any path
 * @ictx: The iommufd; the caller holds a reference for the call, the
 *	  binding takes its own
 * @kvm: The KVM to hand to the driver's open_device, or NULL. The caller
 *	 keeps it valid until this returns, as the group path does.
 * @devid: Gets the id of the device in @ictx
 *
 * Claims the device's DMA for @ictx (blocked until it is attached), then
 * calls the driver's open_device, as the first open through the group does.
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
	struct iommufd_device *idev;
	int ret;

	lockdep_assert_held(&device->dev_set->lock);

	if (device->open_count)
		return -EINVAL;

	idev = iommufd_device_bind(ictx, device->dev, devid);
	if (IS_ERR(idev))
		return PTR_ERR(idev);

	if (!try_module_get(device->dev->driver->owner)) {
		ret = -ENODEV;
		goto err_unbind;
	}

	device->iommufd_device = idev;
	device->iommufd_attached = false;
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
	device->iommufd_device = NULL;
	module_put(device->dev->driver->owner);
err_unbind:
	iommufd_device_unbind(idev);
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
	iommufd_device_unbind(device->iommufd_device);
	device->iommufd_device = NULL;
	device->open_count = 0;
	module_put(device->dev->driver->owner);
}

/**
 * vfio_iommufd_attach() - Attach a bound device to an IOAS or a HW pagetable
 * @device: The device, bound
 * @pt_id: In: the IOAS or HW pagetable. Out: the HW pagetable used
 *
 * A device attached already is moved to @pt_id in one step (a replace);
 * when that fails it stays where it was.
 *
 * Context: Process context; the caller holds device->dev_set->lock.
 * Return: 0 or the error of iommufd_device_attach() or
 * iommufd_device_replace(): -ENOENT for no such object, -EINVAL for an
 * object of another kind or a domain the device cannot use, ...
 */
int vfio_iommufd_attach(struct vfio_device *device, u32 *pt_id)
{
	int ret;

	lockdep_assert_held(&device->dev_set->lock);

	if (device->iommufd_attached)
		return iommufd_device_replace(device->iommufd_device, pt_id);

	ret = iommufd_device_attach(device->iommufd_device, pt_id);
	if (ret)
		return ret;
	device->iommufd_attached = true;
	return 0;
}

/**
 * vfio_iommufd_detach() - Detach a bound device from its page table
 * @device: The device, bound; attached or not
 *
 * Its DMA is blocked afterwards.
 *
 * Context: Process context; the caller holds device->dev_set->lock.
 */
void vfio_iommufd_detach(struct vfio_device *device)
{
	lockdep_assert_held(&device->dev_set->lock);

	if (!device->iommufd_attached)
		return;
	iommufd_device_detach(device->iommufd_device);
	device->iommufd_attached = false;
}
