// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/iommu: the context of an open, its object table and the ioctl
 * dispatcher. The object model is described in iommufd_private.h.
 *
 * IOMMU_DESTROY decides that an object is unused in one critical section
 * of the table's xa_lock, the lock every long-term reference is raised
 * under (the rule is at the top of iommufd_private.h).
 */
#define pr_fmt(fmt) "iommufd: " fmt

#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"
#ifdef CONFIG_IOMMUFD_TEST
#include "iommufd_test.h"
#endif

struct iommufd_object_ops {
	void (*destroy)(struct iommufd_object *obj);
};

static const struct iommufd_object_ops iommufd_object_ops[] = {
	[IOMMUFD_OBJ_ACCESS] = {
		.destroy = iommufd_access_destroy_object,
	},
	[IOMMUFD_OBJ_DEVICE] = {
		.destroy = iommufd_device_destroy,
	},
	[IOMMUFD_OBJ_IOAS] = {
		.destroy = iommufd_ioas_destroy,
	},
	[IOMMUFD_OBJ_HWPT_PAGING] = {
		.destroy = iommufd_hwpt_paging_destroy,
	},
	[IOMMUFD_OBJ_HWPT_NESTED] = {
		.destroy = iommufd_hwpt_nested_destroy,
	},
#ifdef CONFIG_IOMMUFD_TEST
	[IOMMUFD_OBJ_SELFTEST] = {
		.destroy = iommufd_selftest_destroy,
	},
#endif
};

static void iommufd_object_destroy(struct iommufd_object *obj)
{
	if (WARN_ON(obj->type >= ARRAY_SIZE(iommufd_object_ops) ||
		    !iommufd_object_ops[obj->type].destroy))
		return;
	iommufd_object_ops[obj->type].destroy(obj);
}

/**
 * _iommufd_object_alloc() - Allocate an object and reserve its id
 * @ictx: The context
 * @size: Size of the object's struct, whose first member is the
 *	  struct iommufd_object
 * @type: The kind of object
 *
 * The id is reserved but lookups do not find the object until
 * iommufd_object_finalize(); until then iommufd_object_abort() undoes this.
 *
 * Context: Process context.
 * Return: the object, or ERR_PTR(-ENOMEM) / ERR_PTR(-EBUSY) when no id is
 * left.
 */
struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx,
					     size_t size,
					     enum iommufd_object_type type)
{
	struct iommufd_object *obj;
	int rc;

	obj = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->type = type;
	/* The table's references */
	refcount_set(&obj->shortterm_users, 1);
	refcount_set(&obj->users, 1);

	/* A NULL entry reserves the id: lookups see nothing yet */
	rc = xa_alloc(&ictx->objects, &obj->id, NULL, xa_limit_31b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		goto err_free;
	return obj;

err_free:
	kfree(obj);
	return ERR_PTR(rc);
}

/**
 * iommufd_object_finalize() - Publish a fully created object
 * @ictx: The context
 * @obj: The object from _iommufd_object_alloc()
 *
 * Call only once nothing can fail any more: userspace may destroy the
 * object right after this.
 *
 * Context: Process context.
 */
void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj)
{
	void *old;

	/* The id's slot exists: storing into it does not allocate */
	old = xa_store(&ictx->objects, obj->id, obj, GFP_KERNEL);
	WARN_ON(old);
}

/**
 * iommufd_object_abort() - Free an object that was never finalized
 * @ictx: The context
 * @obj: The object from _iommufd_object_alloc(); its type-specific state
 *	 must be undone already
 *
 * Context: Process context.
 */
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	void *old;

	old = xa_erase(&ictx->objects, obj->id);
	WARN_ON(old);
	kfree(obj);
}

/**
 * iommufd_object_abort_and_destroy() - Abort an object fully set up
 * @ictx: The context
 * @obj: An object whose creation succeeded but was not finalized (copying
 *	 the answer to userspace failed, say)
 *
 * Runs the type's destroy, then iommufd_object_abort().
 *
 * Context: Process context.
 */
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj)
{
	iommufd_object_destroy(obj);
	iommufd_object_abort(ictx, obj);
}

/**
 * iommufd_get_object() - Look up an object for the duration of an ioctl
 * @ictx: The context
 * @id: The id userspace gave
 * @type: The kind expected, or IOMMUFD_OBJ_ANY
 *
 * Release with iommufd_put_object().
 *
 * Context: Process context.
 * Return: the object with a short-term reference, or ERR_PTR(-ENOENT) for an
 * unknown id, an object of another kind, one under construction or one
 * being destroyed.
 */
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type)
{
	struct iommufd_object *obj;

	if (iommufd_should_fail())
		return ERR_PTR(-ENOENT);

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (!obj || (type != IOMMUFD_OBJ_ANY && obj->type != type) ||
	    !refcount_inc_not_zero(&obj->shortterm_users))
		obj = ERR_PTR(-ENOENT);
	xa_unlock(&ictx->objects);
	return obj;
}

/* @obj left the table (XA_ZERO_ENTRY holds its id) and nothing uses it */
static void iommufd_object_destroy_removed(struct iommufd_ctx *ictx,
					   struct iommufd_object *obj)
{
	/* No longer the IOAS of the VFIO compatibility requests */
	xa_lock(&ictx->objects);
	if (ictx->vfio_ioas && &ictx->vfio_ioas->obj == obj)
		ictx->vfio_ioas = NULL;
	xa_unlock(&ictx->objects);

	iommufd_object_destroy(obj);
	xa_erase(&ictx->objects, obj->id);
	kfree(obj);
}

/*
 * The decision that @obj, in the table at @xas, is unused, and its removal:
 * no long-term reference but the table's, and no short-term one but the
 * table's, which is taken away, with the id tombstoned so lookups stop.
 * Long-term references are only raised under the xa_lock held here, by
 * holders of a short-term one (see iommufd_private.h): a raise that is in
 * flight shows in one count or the other, and none can follow a true
 * return.
 */
static bool iommufd_object_remove_unused(struct iommufd_ctx *ictx,
					 struct xa_state *xas,
					 struct iommufd_object *obj)
{
	lockdep_assert_held(&ictx->objects.xa_lock);

	if (refcount_read(&obj->users) != 1)
		return false;
	/*
	 * CONFIG_IOMMUFD_TEST: the selftest holds us here (busy-waiting, the
	 * lock is a spinlock) while another thread raises users and drops
	 * its short-term reference: what the lock must keep out of this
	 * window.
	 */
	iommufd_test_destroy_delay();
	if (!refcount_dec_if_one(&obj->shortterm_users))
		return false;
	xas_store(xas, XA_ZERO_ENTRY);
	return true;
}

/**
 * iommufd_object_destroy_user() - Destroy an object nothing uses
 * @ictx: The context
 * @id: The object's id
 * @type: The kind expected, or IOMMUFD_OBJ_ANY
 *
 * An object that other objects are built on, or that a running ioctl is
 * using, is busy: the caller does not wait for it.
 *
 * Context: Process context.
 * Return: 0, -ENOENT (no such object of that kind), -EBUSY (in use).
 */
int iommufd_object_destroy_user(struct iommufd_ctx *ictx, u32 id,
				enum iommufd_object_type type)
{
	XA_STATE(xas, &ictx->objects, id);
	struct iommufd_object *obj;

	xa_lock(&ictx->objects);
	obj = xas_load(&xas);
	if (!obj || xa_is_zero(obj) ||
	    (type != IOMMUFD_OBJ_ANY && obj->type != type)) {
		xa_unlock(&ictx->objects);
		return -ENOENT;
	}
	if (!iommufd_object_remove_unused(ictx, &xas, obj)) {
		xa_unlock(&ictx->objects);
		return -EBUSY;
	}
	xa_unlock(&ictx->objects);

	iommufd_object_destroy_removed(ictx, obj);
	return 0;
}

/**
 * iommufd_object_put_and_destroy() - Drop the kernel's long-term reference
 *				      and destroy the object with it
 * @ictx: The context
 * @obj: An object the caller holds a long-term reference on besides the
 *	 table's (an automatic HWPT, a bound device, an access)
 *
 * Works from the pointer: destroying by id after dropping the reference
 * would race with IOMMU_DESTROY of the id and its reuse. If something else
 * still uses the object, only the reference is dropped and the object
 * stays in the table (its last user or the close destroys it).
 *
 * Context: Process context; sleeps until running ioctls release the object.
 */
void iommufd_object_put_and_destroy(struct iommufd_ctx *ictx,
				    struct iommufd_object *obj)
{
	XA_STATE(xas, &ictx->objects, obj->id);

	xa_lock(&ictx->objects);
	if (xas_load(&xas) != obj || refcount_read(&obj->users) != 2) {
		refcount_dec(&obj->users);
		xa_unlock(&ictx->objects);
		return;
	}
	xas_store(&xas, XA_ZERO_ENTRY);
	refcount_dec(&obj->users);
	xa_unlock(&ictx->objects);

	/* The kernel cannot fail: wait for the ioctls still using it */
	if (!refcount_dec_and_test(&obj->shortterm_users))
		wait_event(ictx->destroy_wait,
			   refcount_read(&obj->shortterm_users) == 0);

	/*
	 * One of them may have built something on it (a device joined an
	 * automatic HWPT): checked under the lock users is raised under, so
	 * a raise made before its holder dropped the short-term reference we
	 * waited for is seen. That user destroys the object later; it goes
	 * back in the table, with the table's short-term reference.
	 */
	xas_reset(&xas);
	xa_lock(&ictx->objects);
	if (refcount_read(&obj->users) != 1) {
		refcount_set(&obj->shortterm_users, 1);
		/* Into the tombstone's slot: no allocation */
		xas_store(&xas, obj);
		xa_unlock(&ictx->objects);
		return;
	}
	xa_unlock(&ictx->objects);
	iommufd_object_destroy_removed(ictx, obj);
}

int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return iommufd_object_destroy_user(ucmd->ictx, cmd->id,
					   IOMMUFD_OBJ_ANY);
}

static int iommufd_option_rlimit_mode(struct iommu_option *cmd,
				      struct iommufd_ctx *ictx)
{
	int rc = 0;

	if (cmd->object_id)
		return -EOPNOTSUPP;

	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = ictx->account_mode == IOPT_PAGES_ACCOUNT_MM;
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;

	if (!capable(CAP_SYS_RESOURCE))
		return -EPERM;

	/* The mode of every object's accounting must be the same */
	xa_lock(&ictx->objects);
	if (!xa_empty(&ictx->objects))
		rc = -EBUSY;
	else if (cmd->val64 == 0)
		ictx->account_mode = IOPT_PAGES_ACCOUNT_USER;
	else if (cmd->val64 == 1)
		ictx->account_mode = IOPT_PAGES_ACCOUNT_MM;
	else
		rc = -EINVAL;
	xa_unlock(&ictx->objects);
	return rc;
}

int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		rc = iommufd_option_rlimit_mode(cmd, ucmd->ictx);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		rc = iommufd_ioas_option(ucmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc)
		return rc;

	/* Only val64 goes back, for GET and SET alike */
	if (copy_to_user(&((struct iommu_option __user *)ucmd->ubuffer)->val64,
			 &cmd->val64, sizeof(cmd->val64)))
		return -EFAULT;
	return 0;
}

/* Room for the kernel copy of any command */
union ucmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_hw_info info;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_hwpt_get_dirty_bitmap get_dirty_bitmap;
	struct iommu_hwpt_invalidate cache;
	struct iommu_hwpt_set_dirty_tracking set_dirty_tracking;
	struct iommu_ioas_alloc ioas_alloc;
	struct iommu_ioas_allow_iovas allow_iovas;
	struct iommu_ioas_copy ioas_copy;
	struct iommu_ioas_iova_ranges iova_ranges;
	struct iommu_ioas_map map;
	struct iommu_ioas_unmap unmap;
	struct iommu_option option;
	struct iommu_vfio_ioas vfio_ioas;
#ifdef CONFIG_IOMMUFD_TEST
	struct iommu_test_cmd test;
#endif
};

/**
 * struct iommufd_ioctl_op - One command of the ioctl table
 * @size: The kernel's struct size
 * @min_size: The size of the first released version of the struct: the end
 *	      of its last member then; a shorter struct is -EINVAL
 * @execute: The command
 *
 * The table is indexed by the command number. Every iommufd request is
 * _IO(IOMMUFD_TYPE, nr), without direction or size bits: any other encoding
 * of a number is -ENOTTY.
 */
struct iommufd_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	int (*execute)(struct iommufd_ucmd *ucmd);
};

#define IOCTL_OP(_ioctl, _fn, _struct, _last)				\
	[_IOC_NR(_ioctl) - IOMMUFD_CMD_BASE] = {			\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(union ucmd_buffer) <	\
					  sizeof(_struct)),		\
		.min_size = offsetofend(_struct, _last),		\
		.execute = _fn,						\
	}

static const struct iommufd_ioctl_op iommufd_ioctl_ops[] = {
	IOCTL_OP(IOMMU_DESTROY, iommufd_destroy, struct iommu_destroy, id),
	IOCTL_OP(IOMMU_GET_HW_INFO, iommufd_get_hw_info, struct iommu_hw_info,
		 __reserved),
	IOCTL_OP(IOMMU_HWPT_ALLOC, iommufd_hwpt_alloc, struct iommu_hwpt_alloc,
		 __reserved),
	IOCTL_OP(IOMMU_HWPT_GET_DIRTY_BITMAP, iommufd_hwpt_get_dirty_bitmap,
		 struct iommu_hwpt_get_dirty_bitmap, data),
	IOCTL_OP(IOMMU_HWPT_INVALIDATE, iommufd_hwpt_invalidate,
		 struct iommu_hwpt_invalidate, __reserved),
	IOCTL_OP(IOMMU_HWPT_SET_DIRTY_TRACKING, iommufd_hwpt_set_dirty_tracking,
		 struct iommu_hwpt_set_dirty_tracking, __reserved),
	IOCTL_OP(IOMMU_IOAS_ALLOC, iommufd_ioas_alloc_ioctl,
		 struct iommu_ioas_alloc, out_ioas_id),
	IOCTL_OP(IOMMU_IOAS_ALLOW_IOVAS, iommufd_ioas_allow_iovas,
		 struct iommu_ioas_allow_iovas, allowed_iovas),
	IOCTL_OP(IOMMU_IOAS_COPY, iommufd_ioas_copy, struct iommu_ioas_copy,
		 src_iova),
	IOCTL_OP(IOMMU_IOAS_IOVA_RANGES, iommufd_ioas_iova_ranges,
		 struct iommu_ioas_iova_ranges, out_iova_alignment),
	IOCTL_OP(IOMMU_IOAS_MAP, iommufd_ioas_map, struct iommu_ioas_map,
		 iova),
	IOCTL_OP(IOMMU_IOAS_UNMAP, iommufd_ioas_unmap, struct iommu_ioas_unmap,
		 length),
	IOCTL_OP(IOMMU_OPTION, iommufd_option, struct iommu_option, val64),
	IOCTL_OP(IOMMU_VFIO_IOAS, iommufd_vfio_ioas, struct iommu_vfio_ioas,
		 __reserved),
#ifdef CONFIG_IOMMUFD_TEST
	IOCTL_OP(IOMMU_TEST_CMD, iommufd_test, struct iommu_test_cmd, last),
#endif
};

static long iommufd_fops_ioctl(struct file *filp, unsigned int cmd,
			       unsigned long arg)
{
	struct iommufd_ucmd ucmd = {
		.ictx = filp->private_data,
		.ubuffer = (void __user *)arg,
	};
	const struct iommufd_ioctl_op *op;
	union ucmd_buffer buf;
	unsigned int nr;
	int rc;

	nr = _IOC_NR(cmd);
	/* Below and past the table: the VFIO type1 compatibility requests */
	if (nr < IOMMUFD_CMD_BASE ||
	    nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_ioctl_ops))
		return iommufd_vfio_ioctl(ucmd.ictx, cmd, arg);
	rc = get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer);
	if (rc)
		return rc;
	op = &iommufd_ioctl_ops[nr - IOMMUFD_CMD_BASE];
	if (!op->execute || cmd != _IO(IOMMUFD_TYPE, nr))
		return -ENOTTY;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;

	ucmd.cmd = &buf;
	rc = copy_struct_from_user(ucmd.cmd, op->size, ucmd.ubuffer,
				   ucmd.user_size);
	if (rc)
		return rc;
	return op->execute(&ucmd);
}

static int iommufd_fops_open(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx;

	ictx = kzalloc(sizeof(*ictx), GFP_KERNEL_ACCOUNT);
	if (!ictx)
		return -ENOMEM;

	xa_init_flags(&ictx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	xa_init(&ictx->groups);
	mutex_init(&ictx->lock);
	init_waitqueue_head(&ictx->destroy_wait);
	ictx->account_mode = IOPT_PAGES_ACCOUNT_USER;
	/* Charged like VFIO's type1 when opened as /dev/vfio/vfio */
	if (iommufd_vfio_compat_opened_as_container(filp))
		ictx->account_mode = IOPT_PAGES_ACCOUNT_MM;
	ictx->file = filp;
	filp->private_data = ictx;
	return 0;
}

/*
 * No ioctl runs any more, and nothing outside holds a reference to an object
 * (a VFIO device bound to the context holds the file open). Destroy in
 * dependency order: each pass destroys every object no other object uses,
 * which frees the objects they were built on for the next pass.
 */
static int iommufd_fops_release(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx = filp->private_data;
	struct iommufd_object *obj;
	unsigned long index;

	while (!xa_empty(&ictx->objects)) {
		unsigned int destroyed = 0;

		xa_for_each(&ictx->objects, index, obj) {
			if (refcount_read(&obj->users) != 1)
				continue;
			xa_erase(&ictx->objects, index);
			iommufd_object_destroy(obj);
			kfree(obj);
			destroyed++;
		}
		/* Objects using each other in a cycle: leak, do not spin */
		if (WARN_ON(!destroyed))
			break;
	}
	WARN_ON(!xa_empty(&ictx->groups));
	mutex_destroy(&ictx->lock);
	kfree(ictx);
	return 0;
}

static const struct file_operations iommufd_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_fops_open,
	.release = iommufd_fops_release,
	.unlocked_ioctl = iommufd_fops_ioctl,
};

/**
 * iommufd_ctx_get() - Take a reference on a context
 * @ictx: The context
 *
 * The reference is one on the file of its /dev/iommu open.
 *
 * Context: Any context.
 */
void iommufd_ctx_get(struct iommufd_ctx *ictx)
{
	get_file(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_get, IOMMUFD);

/**
 * iommufd_ctx_put() - Drop a reference from iommufd_ctx_get() or
 *		       iommufd_ctx_from_file()
 * @ictx: The context
 *
 * Context: Process context.
 */
void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
	fput(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_put, IOMMUFD);

/**
 * iommufd_ctx_from_file() - The context of an open file of /dev/iommu
 * @file: The file
 *
 * Context: Any context.
 * Return: the context with a reference (iommufd_ctx_put()), or
 * ERR_PTR(-EBADFD) if @file is not an iommufd.
 */
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file)
{
	struct iommufd_ctx *ictx;

	if (file->f_op != &iommufd_fops)
		return ERR_PTR(-EBADFD);
	ictx = file->private_data;
	iommufd_ctx_get(ictx);
	return ictx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_file, IOMMUFD);

/**
 * iommufd_ctx_from_fd() - The context of a file descriptor of /dev/iommu
 * @fd: The file descriptor
 *
 * Context: Process context.
 * Return: the context with a reference (iommufd_ctx_put()),
 * ERR_PTR(-EBADF) for a closed @fd, ERR_PTR(-EBADFD) if it is no iommufd.
 */
struct iommufd_ctx *iommufd_ctx_from_fd(int fd)
{
	struct iommufd_ctx *ictx;
	struct file *file;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	ictx = iommufd_ctx_from_file(file);
	fput(file);
	return ictx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_fd, IOMMUFD);

static struct miscdevice iommu_misc_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "iommu",
	.fops = &iommufd_fops,
	.nodename = "iommu",
	.mode = 0660,
};

static int __init iommufd_init(void)
{
	int rc;

	rc = misc_register(&iommu_misc_dev);
	if (rc)
		return rc;
	rc = iommufd_vfio_compat_misc_register(&iommufd_fops);
	if (rc)
		goto err_misc;
	rc = iommufd_test_init();
	if (rc)
		goto err_vfio_misc;
	return 0;

err_vfio_misc:
	iommufd_vfio_compat_misc_deregister();
err_misc:
	misc_deregister(&iommu_misc_dev);
	return rc;
}

static void __exit iommufd_exit(void)
{
	iommufd_test_exit();
	iommufd_vfio_compat_misc_deregister();
	misc_deregister(&iommu_misc_dev);
}

module_init(iommufd_init);
module_exit(iommufd_exit);

MODULE_DESCRIPTION("iommufd: user API for IOMMU I/O address spaces");
MODULE_IMPORT_NS(IOMMUFD_INTERNAL);
MODULE_LICENSE("GPL");
