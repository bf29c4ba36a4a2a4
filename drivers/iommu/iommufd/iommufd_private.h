/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iommufd internals: the object model shared by every part of iommufd.
 *
 * Every open of /dev/iommu is a context (struct iommufd_ctx) holding a table
 * of objects (IOAS, HW pagetables, devices, accesses, ...) indexed by a u32
 * id that userspace names them by. ids are allocated lowest-free from 1; 0 is
 * never an object.
 *
 * Lifetime of an object:
 *
 *   iommufd_object_alloc()     reserves an id; lookups do not find it yet
 *        |
 *        +-- creation fails --> iommufd_object_abort[_and_destroy]()
 *        |
 *   iommufd_object_finalize()  publishes it; only called once nothing can
 *        |                     fail any more
 *   (in use)
 *        |
 *   iommufd_object_destroy_user() (IOMMU_DESTROY) fails with -EBUSY while
 *                              it has users; iommufd_object_put_and_destroy()
 *                              (the kernel owner of the object: VFIO, the
 *                              driver of an access, the last device of an
 *                              automatic HWPT); the close of the context
 *
 * Two reference counts:
 *   users          long-term references: other objects built on this one
 *                  (an HWPT on its IOAS, a device on its HWPT, an access on
 *                  its IOAS), the kernel owner of a device or an access, and
 *                  the table itself holds one. An object can only be
 *                  destroyed when the table's is the last.
 *   shortterm_users references for the duration of one ioctl, taken by
 *                  iommufd_get_object(); the table holds one too, for as
 *                  long as the object is in the table (its id not
 *                  XA_ZERO_ENTRY). Destroy never proceeds while another is
 *                  held, so an ioctl never sees an object destroyed under it.
 *
 * The rule that makes "unused" one decision nothing can slip past:
 *   users is only ever raised under the xa_lock of the table
 *   (iommufd_object_get_user()), by a holder of a short-term reference on
 *   the object or of a long-term one it keeps until the raise is done.
 *   Destroy checks that users is 1 and takes the table's short-term
 *   reference away (1 -> 0) in one critical section of that same lock.
 * So a thread that takes a long-term reference and then drops its short-term
 * one (iommufd_access_attach(), a device attaching to an HWPT, an HWPT built
 * on an IOAS) has either raised users before that critical section (destroy
 * sees users > 1) or still holds its short-term reference in it (destroy
 * sees shortterm_users > 1): -EBUSY, and the object is untouched. Once
 * shortterm_users is 0 no lookup succeeds, so users can only go down.
 * iommufd_object_put_and_destroy(), which cannot fail, takes the object out
 * of the table first, waits for the short-term references to drain and
 * checks users again under the same lock; a user that appeared meanwhile
 * keeps the object (it goes back in the table).
 * Objects not in the table yet (before iommufd_object_finalize()) are
 * reachable by nobody: their creator raises users without the lock.
 * Lowering either count needs no lock: a destroy that does not see the
 * drop yet answers -EBUSY, as it would have a moment earlier.
 *
 * Lock order (outer first), for all of iommufd:
 *   igroup->lock               (struct iommufd_group: the group's attachment)
 *   access->change_lock        (struct iommufd_access: one attach, replace,
 *                               detach or destroy at a time; the driver's
 *                               unmap callback runs under it, see
 *                               struct iommufd_access)
 *   access->ioas_lock          (struct iommufd_access: its IOAS)
 *   ioas->mutex                (struct iommufd_ioas: its list of HWPTs)
 *   iopt->domains_rwsem        (struct io_pagetable: domains, accesses)
 *   iopt->iova_rwsem           (struct io_pagetable: the IOVA trees)
 *   pages->mutex               (struct iopt_pages: pins and their users)
 *   mmap_lock of the mm owning the user memory (pinning)
 *   ictx->lock                 (struct iommufd_ctx: the VFIO compat state;
 *                               taken by VFIO under its own locks, never
 *                               under the ones above; under it only an
 *                               IOAS is allocated, then the xa_lock)
 *   ictx->objects xa_lock      (spinlock; protects the table, the check
 *                               of users on destroy and every raise of
 *                               users; taken under any of the above,
 *                               nothing is taken under it)
 * Every helper that needs one of them says so with lockdep_assert_held().
 */
#ifndef __IOMMUFD_PRIVATE_H
#define __IOMMUFD_PRIVATE_H

#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>

struct iommufd_access;
struct iommufd_device;
struct iommufd_ioas;
struct iommu_hwpt_get_dirty_bitmap;

/**
 * struct iommufd_ctx - One open of /dev/iommu
 * @file: The file of the open
 * @objects: id -> struct iommufd_object; an id under construction or being
 *	     destroyed holds XA_ZERO_ENTRY
 * @destroy_wait: Woken when an object's shortterm_users drops to zero
 * @account_mode: How pinned pages are charged (enum iommufd_account_mode)
 * @groups: iommu_group id -> struct iommufd_group of the bound devices;
 *	    xa_lock protects it
 * @lock: Protects the state of the VFIO type1 compatibility requests
 * @vfio_ioas: The IOAS of the VFIO type1 compatibility requests, or NULL;
 *	       under the xa_lock of @objects, cleared when it is destroyed
 * @no_iommu_mode: A VFIO no-IOMMU group uses the context as its container:
 *		   no compat IOAS, the type1 requests answer as VFIO's
 *		   no-iommu driver; set under @lock, never cleared
 */
struct iommufd_ctx {
	struct file *file;
	struct xarray objects;
	wait_queue_head_t destroy_wait;
	u8 account_mode;
	struct xarray groups;
	struct mutex lock; /* VFIO compatibility state */
	struct iommufd_ioas *vfio_ioas;
	bool no_iommu_mode;
};

/* How pinned pages are charged: IOMMU_OPTION_RLIMIT_MODE values */
enum iommufd_account_mode {
	IOPT_PAGES_ACCOUNT_USER = 0,
	IOPT_PAGES_ACCOUNT_MM = 1,
};

enum iommufd_object_type {
	IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_ANY = IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_HWPT_PAGING,
	IOMMUFD_OBJ_HWPT_NESTED,
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_ACCESS,
#ifdef CONFIG_IOMMUFD_TEST
	IOMMUFD_OBJ_SELFTEST,
#endif
	IOMMUFD_OBJ_MAX,
};

/**
 * struct iommufd_object - What every object starts with
 * @shortterm_users: References held by running ioctls (see top of file)
 * @users: Long-term references (see top of file); raised only under the
 *	   table's xa_lock, by iommufd_object_get_user()
 * @type: The kind of object
 * @id: Its id in the context
 */
struct iommufd_object {
	refcount_t shortterm_users;
	refcount_t users;
	enum iommufd_object_type type;
	unsigned int id;
};

/**
 * struct iommufd_ucmd - One ioctl in flight
 * @ictx: The context
 * @ubuffer: The user's struct
 * @user_size: Its size as userspace gave it
 * @cmd: The kernel copy, zero-extended to the kernel's struct size
 */
struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

/* Copy the (possibly updated) command struct back, cut to the user's size */
static inline int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd,
				       size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx,
					     size_t size,
					     enum iommufd_object_type type);
void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj);
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj);
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type);
int iommufd_object_destroy_user(struct iommufd_ctx *ictx, u32 id,
				enum iommufd_object_type type);
void iommufd_object_put_and_destroy(struct iommufd_ctx *ictx,
				    struct iommufd_object *obj);

/*
 * Allocate the object @ptr will point to. Its struct must start with its
 * struct iommufd_object (static_assert beside the struct).
 */
#define iommufd_object_alloc(ictx, ptr, type)				\
	((typeof(ptr))_iommufd_object_alloc(ictx, sizeof(*(ptr)), type))

static inline void iommufd_put_object(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj)
{
	/*
	 * Drops the last one only while a destroy waits for it (the table's
	 * was dropped); that wait is uninterruptible, so is the wake up.
	 */
	if (refcount_dec_and_test(&obj->shortterm_users))
		wake_up_all(&ictx->destroy_wait);
}

/**
 * iommufd_object_get_user() - Take a long-term reference
 * @ictx: The context of @obj
 * @obj: The object; the caller holds a short-term reference on it, or a
 *	 long-term one it keeps until this returns, or created it and has
 *	 not finalized it yet
 *
 * Raised under the table's xa_lock, so that it is ordered against the one
 * critical section in which IOMMU_DESTROY decides that @obj is unused (see
 * the top of the file).
 *
 * Context: Process context; takes the xa_lock of the table.
 */
static inline void iommufd_object_get_user(struct iommufd_ctx *ictx,
					   struct iommufd_object *obj)
{
	xa_lock(&ictx->objects);
	refcount_inc(&obj->users);
	xa_unlock(&ictx->objects);
}

static inline void iommufd_object_put_user(struct iommufd_object *obj)
{
	refcount_dec(&obj->users);
}

/*
 * The io_pagetable: an I/O address space as userspace maps it, mirrored
 * into every IOMMU domain built on it. Its internals (areas, pages, the
 * pinning model) are in io_pagetable.h; this is what other parts of
 * iommufd use.
 */

/**
 * struct io_pagetable - The IOVA space of an IOAS
 * @domains_rwsem: Protects @domains, @access_list and their ids; held for
 *		   write to add or remove one, for read while walking them
 * @domains: index -> struct iommu_domain: every domain mirroring the areas
 * @access_list: id -> struct iommufd_access attached to this IOVA space
 * @iova_rwsem: Protects the trees, @iova_alignment and
 *		@disable_large_pages; taken under @domains_rwsem
 * @area_itree: The mapped areas (struct iopt_area)
 * @allowed_itree: The ranges userspace allowed (struct iopt_allowed);
 *		   empty means everything is allowed
 * @reserved_itree: The ranges nothing may be mapped in
 *		    (struct iopt_reserved)
 * @disable_large_pages: IOMMU_OPTION_HUGE_PAGES was set to 0
 * @iova_alignment: What every area's IOVA, length and page offset are a
 *		    multiple of; 1 to PAGE_SIZE
 * @unfilling: MAPs that failed and are taking their areas, still marked
 *	       filling, out of @area_itree again (io_pagetable.h)
 * @unfill_wq: Woken when @unfilling drops to 0
 */
struct io_pagetable {
	struct rw_semaphore domains_rwsem;
	struct xarray domains;
	struct xarray access_list;

	struct rw_semaphore iova_rwsem;
	struct rb_root_cached area_itree;
	struct rb_root_cached allowed_itree;
	struct rb_root_cached reserved_itree;
	u8 disable_large_pages;
	unsigned long iova_alignment;
	atomic_t unfilling;
	wait_queue_head_t unfill_wq;
};

void iopt_init_table(struct io_pagetable *iopt);
void iopt_iova_write_lock(struct io_pagetable *iopt);
void iopt_destroy_table(struct io_pagetable *iopt);
int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, void __user *uptr,
			unsigned long length, int iommu_prot,
			unsigned int flags);
int iopt_copy_iova(struct io_pagetable *dst, struct io_pagetable *src,
		   unsigned long *dst_iova, unsigned long src_iova,
		   unsigned long length, int iommu_prot, unsigned int flags);
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped);
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped);

/* iopt_map_user_pages() / iopt_copy_iova() flags */
enum {
	IOPT_ALLOC_IOVA = 1 << 0,	/* choose *iova; else it is fixed */
};

int iopt_set_allow_iova(struct io_pagetable *iopt,
			struct rb_root_cached *allowed_iova);
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last, void *owner);
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner);
int iopt_table_enforce_dev_resv_regions(struct io_pagetable *iopt,
					struct device *dev,
					phys_addr_t *sw_msi_start);
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain);
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain);
int iopt_disable_large_pages(struct io_pagetable *iopt);
void iopt_enable_large_pages(struct io_pagetable *iopt);
int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access);
void iopt_remove_access(struct io_pagetable *iopt,
			struct iommufd_access *access, u32 iopt_access_list_id);
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable);
int iopt_read_and_clear_dirty_data(struct io_pagetable *iopt,
				   struct iommu_domain *domain,
				   unsigned long flags,
				   struct iommu_hwpt_get_dirty_bitmap *bitmap);

/**
 * struct iommufd_ioas - An I/O address space
 * @obj: The object header
 * @iopt: Its IOVA space
 * @mutex: Protects @hwpt_list; taken before @iopt's locks
 * @hwpt_list: The paging HWPTs built on this IOAS
 *	       (struct iommufd_hwpt_paging.hwpt_item), in creation order
 */
struct iommufd_ioas {
	struct iommufd_object obj;
	struct io_pagetable iopt;
	struct mutex mutex; /* protects hwpt_list */
	struct list_head hwpt_list;
};

static_assert(offsetof(struct iommufd_ioas, obj) == 0);

static inline struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx,
						    u32 id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id,
							IOMMUFD_OBJ_IOAS);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_ioas, obj);
}

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx);

/**
 * struct iommufd_hw_pagetable - What paging and nested HWPTs share
 * @obj: The object header
 * @domain: The IOMMU domain devices attach to
 */
struct iommufd_hw_pagetable {
	struct iommufd_object obj;
	struct iommu_domain *domain;
};

/**
 * struct iommufd_hwpt_paging - A paging HWPT: a domain mirroring an IOAS
 * @common: The HWPT
 * @ioas: The IOAS it mirrors; a long-term user of it
 * @hwpt_item: In @ioas->hwpt_list, under @ioas->mutex
 * @auto_domain: Created by attaching a device to the IOAS, destroyed with
 *		 its last device; else created by IOMMU_HWPT_ALLOC
 * @enforce_cache_coherency: The domain enforces no-snoop blocking
 * @msi_cookie: The domain has its software MSI window set up
 * @nest_parent: Allocated with IOMMU_HWPT_ALLOC_NEST_PARENT
 */
struct iommufd_hwpt_paging {
	struct iommufd_hw_pagetable common;
	struct iommufd_ioas *ioas;
	struct list_head hwpt_item;
	bool auto_domain : 1;
	bool enforce_cache_coherency : 1;
	bool msi_cookie : 1;
	bool nest_parent : 1;
};

/**
 * struct iommufd_hwpt_nested - A nested HWPT: user translation on a parent
 * @common: The HWPT
 * @parent: The nesting parent; a long-term user of it
 */
struct iommufd_hwpt_nested {
	struct iommufd_hw_pagetable common;
	struct iommufd_hwpt_paging *parent;
};

static_assert(offsetof(struct iommufd_hwpt_paging, common.obj) == 0);
static_assert(offsetof(struct iommufd_hwpt_nested, common.obj) == 0);

static inline struct iommufd_hwpt_paging *
to_hwpt_paging(struct iommufd_hw_pagetable *hwpt)
{
	return container_of(hwpt, struct iommufd_hwpt_paging, common);
}

static inline bool hwpt_is_paging(struct iommufd_hw_pagetable *hwpt)
{
	return hwpt->obj.type == IOMMUFD_OBJ_HWPT_PAGING;
}

/*
 * Lock order of an access, outer first:
 *   the driver's own locks held when it calls iommufd_access_attach(),
 *   _replace(), _detach() or _destroy() (VFIO: the device set's lock)
 *   access->change_lock
 *   the locks the driver's ops->unmap takes (selftest: staccess->lock;
 *   mdma: mdma->lock); ops->unmap is called from replace and detach with
 *   change_lock held (ioas_lock dropped), and from IOMMU_IOAS_UNMAP with
 *   no access lock held
 *   access->ioas_lock (iommufd_access_pin_pages(), _unpin_pages(), _rw(),
 *   called under the driver's locks)
 *   ioas->mutex, iopt->domains_rwsem, iopt->iova_rwsem, pages->mutex
 * So ops->unmap must not attach, replace, detach or destroy its access,
 * and a driver must not call those holding a lock its ops->unmap takes.
 */

/**
 * struct iommufd_access - An in-kernel user of an IOAS (emulated devices)
 * @obj: The object header
 * @ictx: The context; the access holds a reference on its file
 * @ioas: The attached IOAS (a long-term user of it), or NULL
 * @ioas_unpin: During a replace, the IOAS pins are still being dropped on
 * @change_lock: Held across a whole attach, replace, detach or destroy,
 *		 also while ops->unmap runs for them: one at a time
 * @ioas_lock: Protects @ioas, @ioas_unpin and @pinned; taken before the
 *	       IOAS locks
 * @pinned: Pages pinned through the access and not unpinned yet
 * @ops: The driver's callbacks
 * @data: Passed to @ops
 * @iova_alignment: PAGE_SIZE if the access pins pages, else 1
 * @iopt_access_list_id: Its id in @ioas->iopt.access_list
 */
struct iommufd_access {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_ioas *ioas;
	struct iommufd_ioas *ioas_unpin;
	struct mutex change_lock; /* serializes attach/replace/detach */
	struct mutex ioas_lock; /* protects ioas, ioas_unpin, pinned */
	unsigned long pinned;
	const struct iommufd_access_ops *ops;
	void *data;
	unsigned long iova_alignment;
	u32 iopt_access_list_id;
};

static_assert(offsetof(struct iommufd_access, obj) == 0);

/* The ioctls, one function each */
int iommufd_destroy(struct iommufd_ucmd *ucmd);
int iommufd_option(struct iommufd_ucmd *ucmd);
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
int iommufd_ioas_option(struct iommufd_ucmd *ucmd);
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd);
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd);

/* Per object type: called by destroy once nothing uses the object */
void iommufd_ioas_destroy(struct iommufd_object *obj);
void iommufd_hwpt_paging_destroy(struct iommufd_object *obj);
void iommufd_hwpt_nested_destroy(struct iommufd_object *obj);
void iommufd_device_destroy(struct iommufd_object *obj);
void iommufd_access_destroy_object(struct iommufd_object *obj);

/* HWPTs, for devices and the selftest (hw_pagetable.c) */
struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  struct iommufd_device *idev, u32 flags,
			  bool immediate_attach,
			  const struct iommu_user_data *user_data);
int iommufd_hwpt_paging_enforce_cc(struct iommufd_hwpt_paging *hwpt_paging);

struct iommufd_group;

/**
 * struct iommufd_device - A device bound to a context (IOMMUFD_OBJ_DEVICE)
 * @obj: The object header
 * @ictx: The context
 * @igroup: The context's state of the device's iommu_group (device.c)
 * @group_item: In the igroup's list of attached devices while attached,
 *		else empty; under the igroup's lock
 * @dev: The device; its DMA is owned by @ictx while bound
 */
struct iommufd_device {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_group *igroup;
	struct list_head group_item;
	struct device *dev;
};

static_assert(offsetof(struct iommufd_device, obj) == 0);

static inline struct iommufd_device *
iommufd_get_device(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_object *obj = iommufd_get_object(ucmd->ictx, id,
							IOMMUFD_OBJ_DEVICE);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_device, obj);
}

/* Attach and detach with the group's lock held (device.c) */
int iommufd_hwpt_attach_device(struct iommufd_hw_pagetable *hwpt,
			       struct iommufd_device *idev);
struct iommufd_hw_pagetable *
iommufd_hwpt_detach_device(struct iommufd_device *idev);

/* The compat IOAS of IOMMU_VFIO_IOAS and the VFIO type1 requests */
struct iommufd_ioas *iommufd_get_compat_ioas(struct iommufd_ctx *ictx);

/*
 * The VFIO type1 requests, and /dev/vfio/vfio with
 * CONFIG_IOMMUFD_VFIO_CONTAINER (vfio_compat.c)
 */
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg);
#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
int iommufd_vfio_compat_misc_register(const struct file_operations *fops);
void iommufd_vfio_compat_misc_deregister(void);
bool iommufd_vfio_compat_opened_as_container(struct file *filp);
#else
static inline int
iommufd_vfio_compat_misc_register(const struct file_operations *fops)
{
	return 0;
}

static inline void iommufd_vfio_compat_misc_deregister(void)
{
}

static inline bool iommufd_vfio_compat_opened_as_container(struct file *filp)
{
	return false;
}
#endif

/*
 * CONFIG_IOMMUFD_TEST: the mock driver and IOMMU_TEST_CMD (selftest.c),
 * the fault-injection points the fail_nth selftest sweeps, and the delays
 * that open windows for the selftest (the IOMMU_DESTROY race, an access's
 * unmap, readers during a MAP, writers during a failed one: debugfs
 * iommufd/, see selftest.c); without it they compile to nothing.
 */
#ifdef CONFIG_IOMMUFD_TEST
int iommufd_test(struct iommufd_ucmd *ucmd);
void iommufd_selftest_destroy(struct iommufd_object *obj);
bool iommufd_should_fail(void);
int __init iommufd_test_init(void);
void iommufd_test_exit(void);
bool iommufd_selftest_is_mock_dev(struct device *dev);
void iommufd_test_destroy_delay(void);
void iommufd_test_attach_delay(void);
void iommufd_test_attach_raised(void);
void iommufd_test_map_delay(void);
void iommufd_test_unfill_delay(void);
extern size_t iommufd_test_memory_limit;
#else
static inline bool iommufd_should_fail(void)
{
	return false;
}

static inline int __init iommufd_test_init(void)
{
	return 0;
}

static inline void iommufd_test_exit(void)
{
}

static inline bool iommufd_selftest_is_mock_dev(struct device *dev)
{
	return false;
}

static inline void iommufd_test_destroy_delay(void)
{
}

static inline void iommufd_test_attach_delay(void)
{
}

static inline void iommufd_test_attach_raised(void)
{
}

static inline void iommufd_test_map_delay(void)
{
}

static inline void iommufd_test_unfill_delay(void)
{
}
#endif

#endif
