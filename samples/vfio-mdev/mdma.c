// SPDX-License-Identifier: GPL-2.0-only
/*
 * mdma: a mediated device that copies memory by IOVA, the way the drivers
 * of mediated devices (vGPUs, s390 channel I/O) reach guest memory: with
 * vfio_dma_rw(), and with vfio_pin_pages() for memory they keep using.
 *
 * Create one with
 *   uuidgen > /sys/devices/virtual/mdma/mdma/mdev_supported_types/mdma-1/create
 * and use it through its VFIO group (a type1 container, or the iommufd
 * that provides /dev/vfio/vfio) or its cdev bound to an iommufd.
 *
 * Region 0 holds eight 64-bit registers, read and written 8 bytes at a
 * time (mdma.h). Writing MDMA_REG_CMD runs a command on SRC, DST
 * and LEN and leaves its result (0 or -errno) in MDMA_REG_STATUS:
 *   MDMA_CMD_COPY_RW    copy LEN bytes from SRC to DST with vfio_dma_rw()
 *   MDMA_CMD_COPY_PIN   the same through pinned pages (page-aligned SRC,
 *                       DST and LEN)
 *   MDMA_CMD_HOLD       pin [SRC, SRC + LEN) for writing and keep the pins
 *   MDMA_CMD_RELEASE    unpin what HOLD pinned
 * The pins held are given back when userspace unmaps any of their IOVAs
 * (dma_unmap), and when the device is closed or reset. MDMA_REG_HELD is
 * the number of pages held, MDMA_REG_UNMAPS the number of dma_unmap calls
 * that dropped them.
 */
#include <linux/device.h>
#include <linux/highmem.h>
#include <linux/init.h>
#include <linux/iommu.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "mdma.h"

#define MDMA_NAME		"mdma"
#define MDMA_MAX_DEVICES	4
#define MDMA_MAX_LEN		(16 * PAGE_SIZE)
#define MDMA_MAX_PAGES		(MDMA_MAX_LEN / PAGE_SIZE)

#define MDMA_REGION_SIZE	(MDMA_NR_REGS * sizeof(u64))

/**
 * struct mdma_state - One mdma device
 * @vdev: Its VFIO device
 * @lock: Protects @regs and the held pins; taken in dma_unmap, which
 *	  iommufd and type1 call without locks of theirs that the pin and
 *	  rw paths take
 * @regs: The registers
 * @held: The pages MDMA_CMD_HOLD pinned, @nr_held of them from @held_iova
 * @held_iova: First IOVA of @held
 * @nr_held: Number of pages held
 */
struct mdma_state {
	struct vfio_device vdev;
	struct mutex lock;	/* regs, held pins */
	u64 regs[MDMA_NR_REGS];
	struct page *held[MDMA_MAX_PAGES];
	dma_addr_t held_iova;
	unsigned int nr_held;
};

static struct mdma_parent {
	struct class *class;
	struct device *dev;
	struct mdev_parent parent;
	atomic_t avail;
} mdma_parent;

static struct mdma_state *to_mdma(struct vfio_device *vdev)
{
	return container_of(vdev, struct mdma_state, vdev);
}

static void mdma_release_held(struct mdma_state *mdma)
{
	lockdep_assert_held(&mdma->lock);

	if (!mdma->nr_held)
		return;
	vfio_unpin_pages(&mdma->vdev, mdma->held_iova, mdma->nr_held);
	mdma->nr_held = 0;
	mdma->regs[MDMA_REG_HELD] = 0;
}

static int mdma_copy_rw(struct mdma_state *mdma, dma_addr_t src,
			dma_addr_t dst, size_t len)
{
	void *buf;
	int ret;

	buf = kvmalloc(len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = vfio_dma_rw(&mdma->vdev, src, buf, len, false);
	if (!ret)
		ret = vfio_dma_rw(&mdma->vdev, dst, buf, len, true);
	kvfree(buf);
	return ret;
}

static int mdma_copy_pin(struct mdma_state *mdma, dma_addr_t src,
			 dma_addr_t dst, size_t len)
{
	struct page *src_pages[MDMA_MAX_PAGES], *dst_pages[MDMA_MAX_PAGES];
	int npage = len / PAGE_SIZE;
	int ret, i;

	if (!PAGE_ALIGNED(src) || !PAGE_ALIGNED(dst) || !PAGE_ALIGNED(len))
		return -EINVAL;

	ret = vfio_pin_pages(&mdma->vdev, src, npage, IOMMU_READ, src_pages);
	if (ret < 0)
		return ret;
	ret = vfio_pin_pages(&mdma->vdev, dst, npage,
			     IOMMU_READ | IOMMU_WRITE, dst_pages);
	if (ret < 0)
		goto out_unpin_src;

	for (i = 0; i < npage; i++)
		memcpy_page(dst_pages[i], 0, src_pages[i], 0, PAGE_SIZE);
	ret = 0;

	vfio_unpin_pages(&mdma->vdev, dst, npage);
out_unpin_src:
	vfio_unpin_pages(&mdma->vdev, src, npage);
	return ret;
}

static int mdma_hold(struct mdma_state *mdma, dma_addr_t iova, size_t len)
{
	int npage = len / PAGE_SIZE;
	int ret;

	lockdep_assert_held(&mdma->lock);

	if (mdma->nr_held)
		return -EBUSY;
	if (!PAGE_ALIGNED(iova) || !PAGE_ALIGNED(len))
		return -EINVAL;
	ret = vfio_pin_pages(&mdma->vdev, iova, npage,
			     IOMMU_READ | IOMMU_WRITE, mdma->held);
	if (ret < 0)
		return ret;
	mdma->held_iova = iova;
	mdma->nr_held = npage;
	mdma->regs[MDMA_REG_HELD] = npage;
	return 0;
}

static int mdma_run(struct mdma_state *mdma, u64 cmd)
{
	dma_addr_t src = mdma->regs[MDMA_REG_SRC];
	dma_addr_t dst = mdma->regs[MDMA_REG_DST];
	u64 len = mdma->regs[MDMA_REG_LEN];

	lockdep_assert_held(&mdma->lock);

	if (cmd == MDMA_CMD_RELEASE) {
		mdma_release_held(mdma);
		return 0;
	}
	if (!len || len > MDMA_MAX_LEN)
		return -EINVAL;

	switch (cmd) {
	case MDMA_CMD_COPY_RW:
		return mdma_copy_rw(mdma, src, dst, len);
	case MDMA_CMD_COPY_PIN:
		return mdma_copy_pin(mdma, src, dst, len);
	case MDMA_CMD_HOLD:
		return mdma_hold(mdma, src, len);
	default:
		return -EINVAL;
	}
}

/* Registers: 8 bytes at a time, at 8-byte aligned offsets of region 0 */
static int mdma_reg(size_t count, loff_t pos)
{
	if (count != sizeof(u64) || pos < 0 || pos % sizeof(u64) ||
	    pos >= MDMA_REGION_SIZE)
		return -EINVAL;
	return pos / sizeof(u64);
}

static ssize_t mdma_read(struct vfio_device *vdev, char __user *buf,
			 size_t count, loff_t *ppos)
{
	struct mdma_state *mdma = to_mdma(vdev);
	int reg = mdma_reg(count, *ppos);
	u64 val;

	if (reg < 0)
		return reg;
	mutex_lock(&mdma->lock);
	val = mdma->regs[reg];
	mutex_unlock(&mdma->lock);
	if (copy_to_user(buf, &val, sizeof(val)))
		return -EFAULT;
	*ppos += sizeof(val);
	return sizeof(val);
}

static ssize_t mdma_write(struct vfio_device *vdev, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	struct mdma_state *mdma = to_mdma(vdev);
	int reg = mdma_reg(count, *ppos);
	u64 val;

	if (reg < 0)
		return reg;
	if (copy_from_user(&val, buf, sizeof(val)))
		return -EFAULT;

	mutex_lock(&mdma->lock);
	switch (reg) {
	case MDMA_REG_SRC:
	case MDMA_REG_DST:
	case MDMA_REG_LEN:
		mdma->regs[reg] = val;
		break;
	case MDMA_REG_CMD:
		mdma->regs[MDMA_REG_STATUS] = (s64)mdma_run(mdma, val);
		break;
	default:
		/* Read-only */
		break;
	}
	mutex_unlock(&mdma->lock);
	*ppos += sizeof(val);
	return sizeof(val);
}

static void mdma_reset(struct mdma_state *mdma)
{
	mutex_lock(&mdma->lock);
	mdma_release_held(mdma);
	memset(mdma->regs, 0, sizeof(mdma->regs));
	mutex_unlock(&mdma->lock);
}

static long mdma_ioctl(struct vfio_device *vdev, unsigned int cmd,
		       unsigned long arg)
{
	struct mdma_state *mdma = to_mdma(vdev);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO: {
		unsigned long minsz =
			offsetofend(struct vfio_device_info, num_irqs);
		struct vfio_device_info info;

		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz)
			return -EINVAL;
		info.flags = VFIO_DEVICE_FLAGS_PLATFORM;
		info.num_regions = 1;
		info.num_irqs = 0;
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO: {
		unsigned long minsz =
			offsetofend(struct vfio_region_info, offset);
		struct vfio_region_info info;

		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz)
			return -EINVAL;
		if (info.index)
			return -EINVAL;
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_WRITE;
		info.cap_offset = 0;
		info.size = MDMA_REGION_SIZE;
		info.offset = 0;
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_RESET:
		mdma_reset(mdma);
		return 0;
	default:
		return -ENOTTY;
	}
}

/* Userspace unmaps [iova, iova + length): give back the pins in it */
static void mdma_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length)
{
	struct mdma_state *mdma = to_mdma(vdev);
	u64 last, held_last;

	if (!length || check_add_overflow(iova, length - 1, &last))
		last = U64_MAX;

	mutex_lock(&mdma->lock);
	held_last = mdma->held_iova + mdma->nr_held * PAGE_SIZE - 1;
	if (mdma->nr_held && iova <= held_last && last >= mdma->held_iova) {
		mdma_release_held(mdma);
		mdma->regs[MDMA_REG_UNMAPS]++;
	}
	mutex_unlock(&mdma->lock);
}

static void mdma_close_device(struct vfio_device *vdev)
{
	mdma_reset(to_mdma(vdev));
}

static int mdma_init_dev(struct vfio_device *vdev)
{
	mutex_init(&to_mdma(vdev)->lock);
	return 0;
}

static void mdma_release_dev(struct vfio_device *vdev)
{
	mutex_destroy(&to_mdma(vdev)->lock);
	vfio_free_device(vdev);
}

static const struct vfio_device_ops mdma_dev_ops = {
	.name		= "vfio-mdma",
	.init		= mdma_init_dev,
	.release	= mdma_release_dev,
	.close_device	= mdma_close_device,
	.read		= mdma_read,
	.write		= mdma_write,
	.ioctl		= mdma_ioctl,
	.dma_unmap	= mdma_dma_unmap,
};

static int mdma_probe(struct mdev_device *mdev)
{
	struct mdma_state *mdma;
	int ret;

	if (atomic_dec_if_positive(&mdma_parent.avail) < 0)
		return -ENOSPC;

	mdma = vfio_alloc_device(mdma_state, vdev, &mdev->dev, &mdma_dev_ops);
	if (IS_ERR(mdma)) {
		ret = PTR_ERR(mdma);
		goto err_avail;
	}
	ret = vfio_register_emulated_iommu_dev(&mdma->vdev);
	if (ret)
		goto err_put_device;
	dev_set_drvdata(&mdev->dev, mdma);
	return 0;

err_put_device:
	vfio_put_device(&mdma->vdev);
err_avail:
	atomic_inc(&mdma_parent.avail);
	return ret;
}

static void mdma_remove(struct mdev_device *mdev)
{
	struct mdma_state *mdma = dev_get_drvdata(&mdev->dev);

	vfio_unregister_group_dev(&mdma->vdev);
	vfio_put_device(&mdma->vdev);
	atomic_inc(&mdma_parent.avail);
}

static unsigned int mdma_get_available(struct mdev_type *mtype)
{
	return atomic_read(&mdma_parent.avail);
}

static struct mdev_type mdma_type = {
	.sysfs_name	= "1",
	.pretty_name	= "mdma",
};

static struct mdev_type *mdma_types[] = {
	&mdma_type,
};

static struct mdev_driver mdma_driver = {
	.device_api	= VFIO_DEVICE_API_PLATFORM_STRING,
	.driver = {
		.name		= MDMA_NAME,
		.owner		= THIS_MODULE,
		.mod_name	= KBUILD_MODNAME,
	},
	.probe		= mdma_probe,
	.remove		= mdma_remove,
	.get_available	= mdma_get_available,
};

static int __init mdma_init(void)
{
	int ret;

	atomic_set(&mdma_parent.avail, MDMA_MAX_DEVICES);
	ret = mdev_register_driver(&mdma_driver);
	if (ret)
		return ret;

	mdma_parent.class = class_create(THIS_MODULE, MDMA_NAME);
	if (IS_ERR(mdma_parent.class)) {
		ret = PTR_ERR(mdma_parent.class);
		goto err_unregister_driver;
	}
	mdma_parent.dev = device_create(mdma_parent.class, NULL, 0, NULL,
					MDMA_NAME);
	if (IS_ERR(mdma_parent.dev)) {
		ret = PTR_ERR(mdma_parent.dev);
		goto err_destroy_class;
	}
	ret = mdev_register_parent(&mdma_parent.parent, mdma_parent.dev,
				   &mdma_driver, mdma_types,
				   ARRAY_SIZE(mdma_types));
	if (ret)
		goto err_destroy_device;
	return 0;

err_destroy_device:
	device_destroy(mdma_parent.class, 0);
err_destroy_class:
	class_destroy(mdma_parent.class);
err_unregister_driver:
	mdev_unregister_driver(&mdma_driver);
	return ret;
}

static void __exit mdma_exit(void)
{
	mdev_unregister_parent(&mdma_parent.parent);
	device_destroy(mdma_parent.class, 0);
	class_destroy(mdma_parent.class);
	mdev_unregister_driver(&mdma_driver);
}

module_init(mdma_init);
module_exit(mdma_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Sample mediated device copying memory by IOVA");
