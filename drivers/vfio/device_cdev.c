// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO device cdev: /dev/vfio/devices/vfioX.
 *
 * Every vfio_device has a struct device "vfioX" in the class "vfio-dev";
 * a device of a real or an emulated IOMMU group also gets a character
 * device there, minor X of the "vfio-dev" region. No-IOMMU devices have
 * no cdev: nothing would isolate their DMA from the iommufd's.
 *
 * Opening the cdev gives a file that can do nothing but
 * VFIO_DEVICE_BIND_IOMMUFD. Binding opens the device (the driver's
 * open_device) with its DMA owned by the iommufd; from then on the file is
 * a device file like the one VFIO_GROUP_GET_DEVICE_FD returns, plus
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT and VFIO_DEVICE_DETACH_IOMMUFD_PT. Closing
 * it closes, detaches and unbinds the device.
 *
 * A device is used through its group or through its cdev, never both: the
 * group cannot be opened while a device of it is bound through its cdev
 * (group->cdev_device_open_cnt), and a device cannot be bound while its
 * group is open. Both answer -EBUSY. Only one file of a device can be
 * bound at a time; any other open of the device gets -EINVAL.
 *
 * Locking: the device set's lock serializes bind, attach, detach and
 * unbind of the devices of a set, like the open and close of the group
 * path; the group's lock is taken inside it.
 */
#include <linux/cdev.h>
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/iommufd.h>
#if IS_ENABLED(CONFIG_KVM)
#include <linux/kvm_host.h>
#endif
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "vfio.h"

static dev_t vfio_device_devt;

/**
 * struct vfio_device_file - One open file of a device cdev
 * @device: The device; the file holds a registration reference on it
 * @bound: Set, with release semantics, once VFIO_DEVICE_BIND_IOMMUFD
 *	   succeeded on this file; never cleared while the file exists
 * @kvm_lock: Protects @kvm
 * @kvm: The KVM the KVM-VFIO device associated with this file, handed to
 *	 the device when it is bound
 */
struct vfio_device_file {
	struct vfio_device *device;
	bool bound;
	struct mutex kvm_lock;	/* protects kvm */
	struct kvm *kvm;
};

#if IS_ENABLED(CONFIG_KVM)
/*
 * The KVM associated with @df, with a reference for the bind: taken under
 * df->kvm_lock, so that the lock need not be held across the driver's
 * open_device, which may take kvm->lock (s390's vfio_ap does) while KVM
 * calls vfio_file_set_kvm(), and so df->kvm_lock, under its own locks.
 * VFIO does not depend on kvm.ko: its functions are looked up, and the
 * lookup of kvm_put_kvm() is kept until *put is called.
 */
static struct kvm *vfio_device_cdev_get_kvm(struct vfio_device_file *df,
					    void (**put)(struct kvm *kvm))
{
	bool (*get)(struct kvm *kvm);
	struct kvm *kvm;

	*put = NULL;
	mutex_lock(&df->kvm_lock);
	kvm = df->kvm;
	if (!kvm)
		goto out_unlock;
	*put = symbol_get(kvm_put_kvm);
	get = symbol_get(kvm_get_kvm_safe);
	if (!*put || !get || !get(kvm)) {
		if (*put)
			symbol_put(kvm_put_kvm);
		*put = NULL;
		kvm = NULL;
	}
	if (get)
		symbol_put(kvm_get_kvm_safe);
out_unlock:
	mutex_unlock(&df->kvm_lock);
	return kvm;
}

/* Drop what vfio_device_cdev_get_kvm() took; may be KVM's last reference */
static void vfio_device_cdev_put_kvm(struct kvm *kvm,
				     void (*put)(struct kvm *kvm))
{
	if (!kvm)
		return;
	put(kvm);
	symbol_put(kvm_put_kvm);
}
#else
static struct kvm *vfio_device_cdev_get_kvm(struct vfio_device_file *df,
					    void (**put)(struct kvm *kvm))
{
	*put = NULL;
	return NULL;
}

static void vfio_device_cdev_put_kvm(struct kvm *kvm,
				     void (*put)(struct kvm *kvm))
{
}
#endif

static bool vfio_device_file_bound(struct vfio_device_file *df)
{
	/* Pairs with the smp_store_release() of vfio_device_cdev_bind() */
	return smp_load_acquire(&df->bound);
}

/* Keep the group from being opened while @group's device is bound */
static int vfio_group_use_cdev(struct vfio_group *group)
{
	int ret = 0;

	mutex_lock(&group->group_lock);
	if (group->opened_file)
		ret = -EBUSY;
	else
		group->cdev_device_open_cnt++;
	mutex_unlock(&group->group_lock);
	return ret;
}

static void vfio_group_unuse_cdev(struct vfio_group *group)
{
	mutex_lock(&group->group_lock);
	group->cdev_device_open_cnt--;
	mutex_unlock(&group->group_lock);
}

static int vfio_device_cdev_open(struct inode *inode, struct file *filep)
{
	struct vfio_device *device =
		container_of(inode->i_cdev, struct vfio_device, cdev);
	struct vfio_device_file *df;
	int ret;

	/* Being unregistered */
	if (!vfio_device_try_get_registration(device))
		return -ENODEV;

	df = kzalloc(sizeof(*df), GFP_KERNEL_ACCOUNT);
	if (!df) {
		ret = -ENOMEM;
		goto err_put_registration;
	}
	df->device = device;
	mutex_init(&df->kvm_lock);
	filep->private_data = df;
	return 0;

err_put_registration:
	vfio_device_put_registration(device);
	return ret;
}

static int vfio_device_cdev_release(struct inode *inode, struct file *filep)
{
	struct vfio_device_file *df = filep->private_data;
	struct vfio_device *device = df->device;

	if (df->bound) {
		mutex_lock(&device->dev_set->lock);
		vfio_iommufd_unbind(device);
		mutex_unlock(&device->dev_set->lock);
		vfio_group_unuse_cdev(device->group);
	}
	mutex_destroy(&df->kvm_lock);
	kfree(df);
	vfio_device_put_registration(device);
	return 0;
}

/*
 * The VF token of VFIO_DEVICE_BIND_FLAG_TOKEN into @uuid; NULL in *@token
 * without the flag
 */
static int vfio_device_cdev_get_token(struct vfio_device_bind_iommufd *bind,
				      struct vfio_device_bind_iommufd __user *arg,
				      uuid_t *uuid, const uuid_t **token)
{
	*token = NULL;
	if (!(bind->flags & VFIO_DEVICE_BIND_FLAG_TOKEN))
		return 0;
	if (bind->argsz <
	    offsetofend(struct vfio_device_bind_iommufd, token_uuid_ptr))
		return -EINVAL;
	if (copy_from_user(&bind->token_uuid_ptr, &arg->token_uuid_ptr,
			   sizeof(bind->token_uuid_ptr)) ||
	    copy_from_user(uuid, u64_to_user_ptr(bind->token_uuid_ptr),
			   sizeof(*uuid)))
		return -EFAULT;
	*token = uuid;
	return 0;
}

/* The driver's check of the token: a VF token for SR-IOV devices */
static int vfio_device_match_token(struct vfio_device *device,
				   const uuid_t *token)
{
	if (device->ops->match_token_uuid)
		return device->ops->match_token_uuid(device, token);
	/* A token for a device that takes none is a mistake */
	return token ? -EINVAL : 0;
}

static long vfio_device_cdev_bind(struct vfio_device_file *df,
				  struct vfio_device_bind_iommufd __user *arg)
{
	unsigned long minsz =
		offsetofend(struct vfio_device_bind_iommufd, out_devid);
	struct vfio_device *device = df->device;
	struct vfio_device_bind_iommufd bind;
	void (*put_kvm)(struct kvm *kvm);
	struct iommufd_ctx *ictx;
	const uuid_t *token;
	struct kvm *kvm;
	uuid_t uuid;
	u32 devid;
	int ret;

	if (copy_from_user(&bind, arg, minsz))
		return -EFAULT;
	if (bind.argsz < minsz || bind.flags & ~VFIO_DEVICE_BIND_FLAG_TOKEN ||
	    bind.iommufd < 0)
		return -EINVAL;
	ret = vfio_device_cdev_get_token(&bind, arg, &uuid, &token);
	if (ret)
		return ret;

	mutex_lock(&device->dev_set->lock);
	ret = vfio_group_use_cdev(device->group);
	if (ret)
		goto out_unlock;
	if (df->bound) {
		ret = -EINVAL;
		goto err_unuse_group;
	}

	/* -EBADF for a closed fd, -EBADFD for a file that is no iommufd */
	ictx = iommufd_ctx_from_fd(bind.iommufd);
	if (IS_ERR(ictx)) {
		ret = PTR_ERR(ictx);
		goto err_unuse_group;
	}

	/*
	 * As the group path checks "vf_token=" before it opens the device;
	 * but not for a device open already: a PF's token is set by the
	 * check, and only its user may set it
	 */
	ret = device->open_count ? -EINVAL :
				   vfio_device_match_token(device, token);
	if (ret) {
		iommufd_ctx_put(ictx);
		goto err_unuse_group;
	}

	kvm = vfio_device_cdev_get_kvm(df, &put_kvm);
	ret = vfio_iommufd_bind(device, ictx, kvm, &devid);
	vfio_device_cdev_put_kvm(kvm, put_kvm);
	/* A bound device holds its own reference on the iommufd */
	iommufd_ctx_put(ictx);
	if (ret)
		goto err_unuse_group;

	if (put_user(devid, &arg->out_devid)) {
		ret = -EFAULT;
		goto err_unbind;
	}

	/* The device is open: let the other file operations at it */
	smp_store_release(&df->bound, true);
	mutex_unlock(&device->dev_set->lock);
	return 0;

err_unbind:
	vfio_iommufd_unbind(device);
err_unuse_group:
	vfio_group_unuse_cdev(device->group);
out_unlock:
	mutex_unlock(&device->dev_set->lock);
	return ret;
}

static long
vfio_device_cdev_attach_pt(struct vfio_device *device,
			   struct vfio_device_attach_iommufd_pt __user *arg)
{
	unsigned long minsz =
		offsetofend(struct vfio_device_attach_iommufd_pt, pt_id);
	struct vfio_device_attach_iommufd_pt attach;
	int ret;

	if (copy_from_user(&attach, arg, minsz))
		return -EFAULT;
	if (attach.argsz < minsz || attach.flags)
		return -EINVAL;

	/*
	 * The answer goes back into pt_id: find out it can before anything
	 * changes. A replace moves the device's whole group and may free the
	 * old automatic HWPT, so a failure afterwards could not be undone.
	 */
	if (put_user(attach.pt_id, &arg->pt_id))
		return -EFAULT;

	mutex_lock(&device->dev_set->lock);
	ret = vfio_iommufd_attach(device, &attach.pt_id);
	mutex_unlock(&device->dev_set->lock);
	if (ret)
		return ret;

	/*
	 * Only another thread unmapping the struct meanwhile gets here: the
	 * attach stands, as userspace asked; it may query it again.
	 */
	if (put_user(attach.pt_id, &arg->pt_id))
		return -EFAULT;
	return 0;
}

static long
vfio_device_cdev_detach_pt(struct vfio_device *device,
			   struct vfio_device_detach_iommufd_pt __user *arg)
{
	unsigned long minsz =
		offsetofend(struct vfio_device_detach_iommufd_pt, flags);
	struct vfio_device_detach_iommufd_pt detach;

	if (copy_from_user(&detach, arg, minsz))
		return -EFAULT;
	if (detach.argsz < minsz || detach.flags)
		return -EINVAL;

	mutex_lock(&device->dev_set->lock);
	vfio_iommufd_detach(device);
	mutex_unlock(&device->dev_set->lock);
	return 0;
}

static long vfio_device_cdev_ioctl(struct file *filep, unsigned int cmd,
				   unsigned long arg)
{
	struct vfio_device_file *df = filep->private_data;
	void __user *uarg = (void __user *)arg;

	if (cmd == VFIO_DEVICE_BIND_IOMMUFD)
		return vfio_device_cdev_bind(df, uarg);

	if (!vfio_device_file_bound(df))
		return -EINVAL;

	switch (cmd) {
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		return vfio_device_cdev_attach_pt(df->device, uarg);
	case VFIO_DEVICE_DETACH_IOMMUFD_PT:
		return vfio_device_cdev_detach_pt(df->device, uarg);
	default:
		return vfio_device_ioctl(df->device, cmd, arg);
	}
}

static ssize_t vfio_device_cdev_read(struct file *filep, char __user *buf,
				     size_t count, loff_t *ppos)
{
	struct vfio_device_file *df = filep->private_data;

	if (!vfio_device_file_bound(df))
		return -EINVAL;
	return vfio_device_read(df->device, buf, count, ppos);
}

static ssize_t vfio_device_cdev_write(struct file *filep,
				      const char __user *buf, size_t count,
				      loff_t *ppos)
{
	struct vfio_device_file *df = filep->private_data;

	if (!vfio_device_file_bound(df))
		return -EINVAL;
	return vfio_device_write(df->device, buf, count, ppos);
}

static int vfio_device_cdev_mmap(struct file *filep,
				 struct vm_area_struct *vma)
{
	struct vfio_device_file *df = filep->private_data;

	if (!vfio_device_file_bound(df))
		return -EINVAL;
	return vfio_device_mmap(df->device, vma);
}

static const struct file_operations vfio_device_cdev_fops = {
	.owner		= THIS_MODULE,
	.open		= vfio_device_cdev_open,
	.release	= vfio_device_cdev_release,
	.read		= vfio_device_cdev_read,
	.write		= vfio_device_cdev_write,
	.unlocked_ioctl	= vfio_device_cdev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vfio_device_cdev_mmap,
};

/**
 * vfio_file_is_device_cdev() - Whether a file is an open VFIO device cdev
 * @file: The file
 *
 * Context: Any context.
 * Return: true for a file of /dev/vfio/devices/vfioX, bound or not.
 */
bool vfio_file_is_device_cdev(struct file *file)
{
	return file->f_op == &vfio_device_cdev_fops;
}

/**
 * vfio_device_cdev_set_kvm() - Associate a KVM with a device cdev file
 * @file: The file; vfio_file_is_device_cdev() must be true
 * @kvm: The KVM, or NULL to drop the association
 *
 * The device gets @kvm when this file binds it, as a device opened through
 * its group gets the group's KVM at its first open; a KVM set after the
 * bind is not seen by the open device.
 *
 * Context: Process context.
 */
void vfio_device_cdev_set_kvm(struct file *file, struct kvm *kvm)
{
	struct vfio_device_file *df = file->private_data;

	mutex_lock(&df->kvm_lock);
	df->kvm = kvm;
	mutex_unlock(&df->kvm_lock);
}

/**
 * vfio_device_add() - Make a registered vfio_device visible
 * @device: The device, its group set
 *
 * Adds its struct device (/sys/class/vfio-dev/vfioX) and, unless it is a
 * no-IOMMU device, its cdev (/dev/vfio/devices/vfioX, the sysfs "dev"
 * attribute).
 *
 * Context: Process context.
 * Return: 0 or the error of cdev_device_add().
 */
int vfio_device_add(struct vfio_device *device)
{
	if (device->group->type != VFIO_NO_IOMMU) {
		device->device.devt = MKDEV(MAJOR(vfio_device_devt),
					    device->index);
		cdev_init(&device->cdev, &vfio_device_cdev_fops);
		device->cdev.owner = THIS_MODULE;
	}
	/* Without a devt this is device_add() alone */
	return cdev_device_add(&device->cdev, &device->device);
}

/**
 * vfio_device_del() - Undo vfio_device_add()
 * @device: The device
 *
 * Files open on the cdev keep working until they are closed; new opens
 * fail once the device's registration is gone.
 *
 * Context: Process context.
 */
void vfio_device_del(struct vfio_device *device)
{
	cdev_device_del(&device->cdev, &device->device);
}

static char *vfio_device_devnode(struct device *dev, umode_t *mode)
{
	return kasprintf(GFP_KERNEL, "vfio/devices/%s", dev_name(dev));
}

/**
 * vfio_cdev_init() - Set up the device cdevs of VFIO
 * @device_class: The "vfio-dev" class
 *
 * Context: Process context, module init.
 * Return: 0 or the error of alloc_chrdev_region().
 */
int vfio_cdev_init(struct class *device_class)
{
	int ret;

	/* The minor of /dev/vfio/devices/vfioX is X, an index below MINORMASK */
	ret = alloc_chrdev_region(&vfio_device_devt, 0, MINORMASK + 1,
				  "vfio-dev");
	if (ret)
		return ret;
	device_class->devnode = vfio_device_devnode;
	return 0;
}

/**
 * vfio_cdev_cleanup() - Undo vfio_cdev_init()
 *
 * Context: Process context, module exit.
 */
void vfio_cdev_cleanup(void)
{
	unregister_chrdev_region(vfio_device_devt, MINORMASK + 1);
}
