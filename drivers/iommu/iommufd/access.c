// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel accesses: drivers of emulated and mediated devices reading,
 * writing and pinning the memory an IOAS maps, by IOVA, without an IOMMU.
 *
 * An access is an object of the context (IOMMUFD_OBJ_ACCESS) that its
 * driver creates and destroys; userspace cannot IOMMU_DESTROY it. While
 * attached it is a long-term user of its IOAS. Pins go through the areas
 * (iopt_area_add_access()), so pages a domain or another access uses are
 * not pinned twice, and an IOMMU_IOAS_UNMAP of a pinned range first asks
 * the driver (ops->unmap) to unpin.
 *
 * access->ioas is where new pins go; access->ioas_unpin is where the pins
 * made so far are. They differ only while iommufd_access_replace() or
 * iommufd_access_detach() asks the driver to drop its pins (access->ioas is
 * NULL then): new pins fail with -ENOENT meanwhile. access->pinned counts
 * the pages pinned, so that a driver holding none is not asked.
 *
 * Asking the driver means dropping access->ioas_lock, which its unpins
 * take. access->change_lock, held from the start to the end of every
 * attach, replace, detach and destroy, keeps another one of them out of
 * that window: it waits for the first one to finish instead of finding
 * access->ioas NULL and taking the access for not attached.
 */
#include <linux/iommufd.h>
#include <linux/mm.h>
#include <linux/overflow.h>

#include "io_pagetable.h"

/**
 * iommufd_access_create() - Create an in-kernel access
 * @ictx: The context; the access holds a reference on it
 * @ops: The driver's callbacks
 * @data: Passed to @ops
 * @id: Gets the access's object id
 *
 * Context: Process context.
 * Return: the access, or an ERR_PTR (-EINVAL for @ops that pin pages
 * without an unmap callback).
 */
struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id)
{
	struct iommufd_access *access;

	/* A pinning driver must be able to give its pins back on request */
	if (WARN_ON(ops->needs_pin_pages && !ops->unmap))
		return ERR_PTR(-EINVAL);

	access = iommufd_object_alloc(ictx, access, IOMMUFD_OBJ_ACCESS);
	if (IS_ERR(access))
		return access;

	access->ops = ops;
	access->data = data;
	access->iova_alignment = ops->needs_pin_pages ? PAGE_SIZE : 1;
	mutex_init(&access->change_lock);
	mutex_init(&access->ioas_lock);
	/* The driver's reference: IOMMU_DESTROY gets -EBUSY */
	refcount_inc(&access->obj.users);
	access->ictx = ictx;
	iommufd_ctx_get(ictx);
	iommufd_object_finalize(ictx, &access->obj);
	*id = access->obj.id;
	return access;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_create, IOMMUFD);

/**
 * iommufd_access_destroy() - Destroy an access
 * @access: The access, with nothing pinned any more
 *
 * Detaches it if it is still attached.
 *
 * Context: Process context.
 */
void iommufd_access_destroy(struct iommufd_access *access)
{
	struct iommufd_ctx *ictx = access->ictx;

	/* By pointer: userspace knows the id, it must not race the destroy */
	iommufd_object_put_and_destroy(ictx, &access->obj);
	iommufd_ctx_put(ictx);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_destroy, IOMMUFD);

static void __iommufd_access_detach(struct iommufd_access *access)
{
	struct iommufd_ioas *ioas = access->ioas;

	lockdep_assert_held(&access->ioas_lock);

	iopt_remove_access(&ioas->iopt, access, access->iopt_access_list_id);
	iommufd_object_put_user(&ioas->obj);
	access->ioas = NULL;
	access->ioas_unpin = NULL;
}

/* Object destroy: the driver destroys its access, or the context closes */
void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_access *access =
		container_of(obj, struct iommufd_access, obj);

	mutex_lock(&access->change_lock);
	mutex_lock(&access->ioas_lock);
	/* No replace or detach is half done: they hold change_lock */
	if (!WARN_ON(access->ioas != access->ioas_unpin) && access->ioas)
		__iommufd_access_detach(access);
	mutex_unlock(&access->ioas_lock);
	mutex_unlock(&access->change_lock);
	mutex_destroy(&access->ioas_lock);
	mutex_destroy(&access->change_lock);
}

/**
 * iommufd_access_attach() - Attach an access to an IOAS
 * @access: The access, not attached
 * @ioas_id: The IOAS
 *
 * Waits for a replace or detach of the access that is still running.
 *
 * Context: Process context.
 * Return: 0; -ENOENT (no such IOAS), -EINVAL (attached already),
 * -EADDRINUSE (an area does not fit the access's alignment), -ENOMEM.
 */
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id)
{
	struct iommufd_ioas *ioas;
	int rc;

	mutex_lock(&access->change_lock);
	mutex_lock(&access->ioas_lock);
	if (access->ioas) {
		rc = -EINVAL;
		goto out_unlock;
	}
	ioas = iommufd_get_ioas(access->ictx, ioas_id);
	if (IS_ERR(ioas)) {
		rc = PTR_ERR(ioas);
		goto out_unlock;
	}
	rc = iopt_add_access(&ioas->iopt, access);
	if (!rc) {
		/* CONFIG_IOMMUFD_TEST: the selftest races IOMMU_DESTROY here */
		iommufd_test_attach_delay();
		iommufd_object_get_user(access->ictx, &ioas->obj);
		access->ioas = ioas;
		access->ioas_unpin = ioas;
	}
	iommufd_put_object(access->ictx, &ioas->obj);
	/* CONFIG_IOMMUFD_TEST: ends a destroy's wait in the race test */
	iommufd_test_attach_raised();
out_unlock:
	mutex_unlock(&access->ioas_lock);
	mutex_unlock(&access->change_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_attach, IOMMUFD);

/*
 * Before the access leaves access->ioas: ask its driver, if it holds pins,
 * to drop them all. Pins and reads fail (-ENOENT) from here on, unpins
 * still find the IOAS (ioas_unpin); access->ioas is left NULL for the
 * caller to set. Drops ioas_lock around the callback and takes it again;
 * change_lock, held throughout, keeps attach, replace and detach out.
 */
static void access_ask_unpin(struct iommufd_access *access)
{
	bool unpin;

	lockdep_assert_held(&access->change_lock);
	lockdep_assert_held(&access->ioas_lock);

	access->ioas = NULL;
	unpin = access->pinned;
	mutex_unlock(&access->ioas_lock);

	/* Only a driver holding pins is asked: unmap of everything is slow */
	if (unpin && access->ops->unmap)
		access->ops->unmap(access->data, 0, ULONG_MAX);

	mutex_lock(&access->ioas_lock);
	/* No pin could be added since: the driver must have dropped all */
	if (IS_ENABLED(CONFIG_IOMMUFD_TEST))
		WARN_ON_ONCE(access->pinned);
}

/**
 * iommufd_access_replace() - Move an access to another IOAS
 * @access: The access, attached
 * @ioas_id: The new IOAS
 *
 * A driver that pins pages is asked (ops->unmap of everything) to drop its
 * pins on the old IOAS first; new pins fail until the move is done.
 *
 * Waits for another replace or a detach of the access that is still
 * running.
 *
 * Context: Process context; calls ops->unmap with only the access's
 * change_lock held.
 * Return: 0; -ENOENT (not attached, no such IOAS), -EADDRINUSE, -ENOMEM;
 * then the access is still on the old IOAS.
 */
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id)
{
	struct iommufd_ioas *old_ioas, *new_ioas;
	u32 old_id;
	int rc;

	mutex_lock(&access->change_lock);
	mutex_lock(&access->ioas_lock);
	old_ioas = access->ioas;
	if (!old_ioas) {
		rc = -ENOENT;
		goto out_unlock;
	}
	new_ioas = iommufd_get_ioas(access->ictx, ioas_id);
	if (IS_ERR(new_ioas)) {
		rc = PTR_ERR(new_ioas);
		goto out_unlock;
	}
	if (new_ioas == old_ioas) {
		rc = 0;
		goto out_put;
	}

	/* iopt_add_access() sets the id only when it succeeds */
	old_id = access->iopt_access_list_id;
	rc = iopt_add_access(&new_ioas->iopt, access);
	if (rc)
		goto out_put;
	iommufd_object_get_user(access->ictx, &new_ioas->obj);
	iommufd_put_object(access->ictx, &new_ioas->obj);
	access_ask_unpin(access);
	iopt_remove_access(&old_ioas->iopt, access, old_id);
	iommufd_object_put_user(&old_ioas->obj);
	access->ioas = new_ioas;
	access->ioas_unpin = new_ioas;
	mutex_unlock(&access->ioas_lock);
	mutex_unlock(&access->change_lock);
	return 0;

out_put:
	iommufd_put_object(access->ictx, &new_ioas->obj);
out_unlock:
	mutex_unlock(&access->ioas_lock);
	mutex_unlock(&access->change_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_replace, IOMMUFD);

/**
 * iommufd_access_detach() - Detach an access from its IOAS
 * @access: The access, attached
 *
 * A driver that pins pages is asked (ops->unmap of everything) to drop its
 * pins first; new pins fail from the start of the call, so none can slip
 * in after the unmap callback.
 *
 * Waits for a replace or another detach of the access that is still
 * running; the driver's unmap callback must not attach, replace, detach or
 * destroy the access itself (it would wait for itself).
 *
 * Context: Process context; calls ops->unmap with only the access's
 * change_lock held.
 */
void iommufd_access_detach(struct iommufd_access *access)
{
	mutex_lock(&access->change_lock);
	mutex_lock(&access->ioas_lock);
	/* Not attached: the driver's bug (nothing is half done here) */
	if (WARN_ON(!access->ioas || access->ioas != access->ioas_unpin))
		goto out_unlock;
	access_ask_unpin(access);
	access->ioas = access->ioas_unpin;
	__iommufd_access_detach(access);
out_unlock:
	mutex_unlock(&access->ioas_lock);
	mutex_unlock(&access->change_lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_detach, IOMMUFD);

/**
 * iommufd_access_notify_unmap() - Ask the accesses to unpin a range
 * @iopt: The io_pagetable being unmapped
 * @iova: First IOVA of the range
 * @length: Bytes
 *
 * Context: Process context; no io_pagetable lock held: the drivers' unmap
 * callbacks unpin, which takes them.
 */
void iommufd_access_notify_unmap(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length)
{
	struct iommufd_access *access;
	unsigned long index = 0;

	for (;;) {
		down_read(&iopt->domains_rwsem);
		access = xa_find(&iopt->access_list, &index, ULONG_MAX,
				 XA_PRESENT);
		/* Being destroyed: its destroy detaches it, no pins left */
		if (access &&
		    !refcount_inc_not_zero(&access->obj.shortterm_users)) {
			up_read(&iopt->domains_rwsem);
			index++;
			continue;
		}
		up_read(&iopt->domains_rwsem);
		if (!access)
			break;

		if (access->ops->unmap)
			access->ops->unmap(access->data, iova, length);
		iommufd_put_object(access->ictx, &access->obj);
		index++;
	}
}

/*
 * Pinned pages of consecutive areas line up in one array only if the
 * areas meet at a page boundary of their memory.
 */
static bool access_span_aligned(struct iopt_area *area, unsigned long start,
				unsigned long last, unsigned long iova,
				unsigned long last_iova)
{
	if (start != iova &&
	    iopt_area_iova_to_byte(area, start) & ~PAGE_MASK)
		return false;
	if (last != last_iova &&
	    (iopt_area_iova_to_byte(area, last) + 1) & ~PAGE_MASK)
		return false;
	return true;
}

/*
 * Unpin [iova, last_iova] area by area, as iommufd_access_pin_pages()
 * pinned it. Return: the pages of the spans whose pin was there and is gone
 * now; a span that matches no pin (the driver's bug) does not count.
 */
static unsigned long access_unpin_range(struct io_pagetable *iopt,
					unsigned long iova,
					unsigned long last_iova)
{
	struct iopt_area_contig_iter iter;
	unsigned long unpinned = 0;
	struct iopt_area *area;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (area = iopt_area_contig_init(&iter, iopt, iova, last_iova); area;
	     area = iopt_area_contig_next(&iter)) {
		unsigned long start, last, first_index, last_index;

		iopt_area_contig_span(&iter, &start, &last);
		first_index = iopt_area_iova_to_index(area, start);
		last_index = iopt_area_iova_to_index(area, last);
		if (iopt_area_remove_access(area, first_index, last_index))
			unpinned += last_index - first_index + 1;
	}
	WARN_ON(!iopt_area_contig_done(&iter));
	return unpinned;
}

/**
 * iommufd_access_pin_pages() - Pin the pages an IOVA range maps
 * @access: An access whose ops have needs_pin_pages
 * @iova: First IOVA
 * @length: Bytes
 * @out_pages: Gets the struct page of every page of the range, in order
 * @flags: IOMMUFD_ACCESS_RW_WRITE to write to the pages
 *
 * Undo with iommufd_access_unpin_pages() of the same range, at the latest
 * when ops->unmap asks for it.
 *
 * Context: Process context.
 * Return: 0; -ENOENT (not attached, or the range is not mapped without a
 * gap), -EINVAL (being unmapped, or areas meeting inside a page), -EPERM
 * (write pin of a mapping that is not WRITEABLE, read pin of one that is
 * not READABLE), -EOVERFLOW, -ENOMEM, -EFAULT.
 */
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags)
{
	struct iopt_area_contig_iter iter;
	unsigned long last_iova, npinned = 0;
	struct io_pagetable *iopt;
	struct iopt_area *area;
	int rc = 0;

	if (WARN_ON(!access->ops->needs_pin_pages))
		return -EINVAL;
	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last_iova))
		return -EOVERFLOW;

	mutex_lock(&access->ioas_lock);
	if (!access->ioas) {
		mutex_unlock(&access->ioas_lock);
		return -ENOENT;
	}
	iopt = &access->ioas->iopt;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_contig_init(&iter, iopt, iova, last_iova); area;
	     area = iopt_area_contig_next(&iter)) {
		unsigned long start, last, first_index, last_index;

		iopt_area_contig_span(&iter, &start, &last);
		if (area->prevent_access ||
		    !access_span_aligned(area, start, last, iova, last_iova)) {
			rc = -EINVAL;
			goto err_unpin;
		}
		first_index = iopt_area_iova_to_index(area, start);
		last_index = iopt_area_iova_to_index(area, last);
		rc = iopt_area_add_access(area, first_index, last_index,
					  out_pages, flags);
		if (rc)
			goto err_unpin;
		npinned += last_index - first_index + 1;
		out_pages += last_index - first_index + 1;
	}
	if (!iopt_area_contig_done(&iter)) {
		rc = -ENOENT;
		goto err_unpin;
	}
	/* Counted as access_unpin_range() counts it back */
	access->pinned += npinned;
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_lock);
	return 0;

err_unpin:
	/* [iova, cur_iova) is pinned: the areas before the failing one */
	if (iter.cur_iova > iova)
		access_unpin_range(iopt, iova, iter.cur_iova - 1);
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_pin_pages, IOMMUFD);

/**
 * iommufd_access_unpin_pages() - Undo iommufd_access_pin_pages()
 * @access: The access
 * @iova: First IOVA, as pinned
 * @length: Bytes, as pinned
 *
 * Context: Process context.
 */
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length)
{
	unsigned long last_iova, unpinned;
	struct io_pagetable *iopt;

	if (WARN_ON(!length) ||
	    WARN_ON(check_add_overflow(iova, length - 1, &last_iova)))
		return;

	mutex_lock(&access->ioas_lock);
	if (!WARN_ON(!access->ioas_unpin)) {
		iopt = &access->ioas_unpin->iopt;
		down_read(&iopt->iova_rwsem);
		unpinned = access_unpin_range(iopt, iova, last_iova);
		up_read(&iopt->iova_rwsem);
		/*
		 * Only what was unpinned: a bad unpin must not make a driver
		 * that still holds pins look like one holding none, which
		 * replace and detach would not ask to unpin.
		 */
		if (IS_ENABLED(CONFIG_IOMMUFD_TEST))
			WARN_ON_ONCE(unpinned > access->pinned);
		access->pinned -= min(access->pinned, unpinned);
	}
	mutex_unlock(&access->ioas_lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_unpin_pages, IOMMUFD);

/**
 * iommufd_access_rw() - Read or write the memory an IOVA range maps
 * @access: The access
 * @iova: First IOVA
 * @data: Kernel buffer
 * @length: Bytes, any alignment
 * @flags: IOMMUFD_ACCESS_RW_WRITE: copy @data to the IOVA, else from it;
 *	   IOMMUFD_ACCESS_RW_KTHREAD: the caller has no mm of its own
 *
 * Context: Process context or a kthread.
 * Return: 0; -ENOENT (not attached, or not mapped without a gap), -EINVAL
 * (being unmapped), -EPERM (write to a mapping that is not WRITEABLE, read
 * of one that is not READABLE), -EOVERFLOW,
 * -ENOMEM, -EFAULT. On failure part of the copy may be done.
 */
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t length, unsigned int flags)
{
	struct iopt_area_contig_iter iter;
	struct io_pagetable *iopt;
	unsigned long last_iova;
	struct iopt_area *area;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last_iova))
		return -EOVERFLOW;

	mutex_lock(&access->ioas_lock);
	if (!access->ioas) {
		mutex_unlock(&access->ioas_lock);
		return -ENOENT;
	}
	iopt = &access->ioas->iopt;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_contig_init(&iter, iopt, iova, last_iova); area;
	     area = iopt_area_contig_next(&iter)) {
		unsigned long start, last;

		iopt_area_contig_span(&iter, &start, &last);
		if (area->prevent_access) {
			rc = -EINVAL;
			break;
		}
		if (!iopt_area_permits(area,
				       flags & IOMMUFD_ACCESS_RW_WRITE)) {
			rc = -EPERM;
			break;
		}
		rc = iopt_pages_rw_access(area->pages,
					  iopt_area_iova_to_byte(area, start),
					  data, last - start + 1, flags);
		if (rc)
			break;
		data += last - start + 1;
	}
	if (!rc && !iopt_area_contig_done(&iter))
		rc = -ENOENT;
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_rw, IOMMUFD);
