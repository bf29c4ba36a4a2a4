/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iommufd's kernel API: what VFIO (device cdev, compat container) and the
 * drivers of emulated devices use. Everything is in the IOMMUFD namespace.
 */
#ifndef __LINUX_IOMMUFD_H
#define __LINUX_IOMMUFD_H

#include <linux/err.h>
#include <linux/errno.h>
#include <linux/types.h>

struct device;
struct file;
struct iommu_group;
struct iommufd_access;
struct iommufd_ctx;
struct iommufd_device;
struct page;

struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id);
void iommufd_device_unbind(struct iommufd_device *idev);
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id);
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id);
void iommufd_device_detach(struct iommufd_device *idev);
struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev);
u32 iommufd_device_to_id(struct iommufd_device *idev);

/**
 * struct iommufd_access_ops - Callbacks of an in-kernel access
 * @needs_pin_pages: The access uses iommufd_access_pin_pages(); its IOAS
 *		     then aligns every area to PAGE_SIZE
 * @unmap: Userspace unmaps [@iova, @iova + @length): the driver must stop
 *	   using and unpin every page it pinned in that range before
 *	   returning. Called without iommufd locks held.
 */
struct iommufd_access_ops {
	u8 needs_pin_pages : 1;
	void (*unmap)(void *data, unsigned long iova, unsigned long length);
};

/* iommufd_access_pin_pages() and iommufd_access_rw() flags */
enum {
	IOMMUFD_ACCESS_RW_READ = 0,
	IOMMUFD_ACCESS_RW_WRITE = 1 << 0,
	/* Called from a kthread that has no mm of its own */
	IOMMUFD_ACCESS_RW_KTHREAD = 1 << 1,
};

struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id);
void iommufd_access_destroy(struct iommufd_access *access);
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id);
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id);
void iommufd_access_detach(struct iommufd_access *access);

int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags);
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length);
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t len, unsigned int flags);

void iommufd_ctx_get(struct iommufd_ctx *ictx);
void iommufd_ctx_put(struct iommufd_ctx *ictx);
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file);
struct iommufd_ctx *iommufd_ctx_from_fd(int fd);
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx,
			   struct iommu_group *group);

/* For VFIO groups that use an iommufd as their container (IOMMUFD_VFIO) */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx);
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx,
				    u32 *out_ioas_id);
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx);

#endif
