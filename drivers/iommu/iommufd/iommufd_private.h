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
 *   iommufd_object_destroy_user() (IOMMU_DESTROY, close, the owner of the
 *                              object): fails with -EBUSY while it has users
 *
 * Two reference counts:
 *   users          long-term references: other objects built on this one
 *                  (an HWPT on its IOAS, a device on its HWPT), and the
 *                  table itself holds one. An object can only be destroyed
 *                  when the table's is the last.
 *   shortterm_users references for the duration of one ioctl, taken by
 *                  iommufd_get_object(); the table holds one too. Destroy
 *                  waits for the others to drain, so an ioctl never sees an
 *                  object being destroyed under it.
 * A long-term reference may only be taken by a holder of a short-term one;
 * destroy re-checks users after the short-term references have drained.
 *
 * Lock order (outer first):
 *   ictx->objects xa_lock      (spinlock; protects the table and the check
 *                               of users on destroy)
 */
#ifndef __IOMMUFD_PRIVATE_H
#define __IOMMUFD_PRIVATE_H

#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>

struct iommufd_ioas;

/**
 * struct iommufd_ctx - One open of /dev/iommu
 * @file: The file of the open
 * @objects: id -> struct iommufd_object; an id under construction or being
 *	     destroyed holds XA_ZERO_ENTRY
 * @destroy_wait: Woken when an object's shortterm_users drops to zero
 * @account_mode: How pinned pages are charged (enum iommufd_account_mode)
 */
struct iommufd_ctx {
	struct file *file;
	struct xarray objects;
	wait_queue_head_t destroy_wait;
	u8 account_mode;
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
 * @users: Long-term references (see top of file)
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

/* Take a long-term reference; the caller holds a short-term one */
static inline void iommufd_object_get_user(struct iommufd_object *obj)
{
	refcount_inc(&obj->users);
}

static inline void iommufd_object_put_user(struct iommufd_object *obj)
{
	refcount_dec(&obj->users);
}

/* The ioctls, one function each */
int iommufd_destroy(struct iommufd_ucmd *ucmd);
int iommufd_option(struct iommufd_ucmd *ucmd);
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);

/* Per object type: called by destroy once nothing uses the object */
void iommufd_ioas_destroy(struct iommufd_object *obj);

#endif
