// SPDX-License-Identifier: GPL-2.0
/*
 * CONFIG_IOMMUFD_TEST: a mock IOMMU driver and IOMMU_TEST_CMD, through which
 * tools/testing/selftests/iommu/ reaches iommufd's internals, plus the
 * fail_iommufd fault injection points and the delays that open the window
 * of the IOMMU_DESTROY race. The ABI is in iommufd_test.h.
 *
 * The mock driver on 6.1
 * ----------------------
 * 6.1 lets one IOMMU driver own the buses the core watches (the real one,
 * VT-d), so the mock has a private bus, "iommufd_mock", whose iommu_ops are
 * the mock's. Its one instance is a struct iommu_device shown in sysfs under
 * the platform device "iommufd_selftest_iommu"; it is never registered with
 * iommu_device_register(), which would refuse a second driver. Mock devices
 * (iommufd_mock<N>) are created on that bus by IOMMU_TEST_OP_MOCK_DOMAIN,
 * probed with iommu_probe_device() and released with iommu_release_device()
 * before they are deleted, since no bus notifier does it for them. Each is in
 * a group of its own.
 *
 * The core of 6.1 gives every group a default domain of the type the driver
 * asks for, and its only types a mock can serve there are paging, DMA API
 * and identity ones. The mock asks for an identity domain and treats it,
 * like the blocking domain of a user-owned group, as a domain that lets no
 * DMA through: a mock device does no DMA, nothing is ever mapped in either,
 * and attaching to them cannot fail.
 *
 * Mock paging domains translate [MOCK_APERTURE_START, MOCK_APERTURE_LAST] in
 * IOPTEs of half a CPU page, plus 512 times that when the device has
 * MOCK_FLAGS_DEVICE_HUGE_IOVA. Each slot of half a page is an xarray value:
 * the PFN of half pages it maps and the markers below. The mock checks that
 * iommufd unmaps in the units it mapped (a kernel bug otherwise, so it
 * WARNs).
 */
#include <linux/anon_inodes.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fault-inject.h>
#include <linux/file.h>
#include <linux/idr.h>
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/iova_bitmap.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/platform_device.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

static DECLARE_FAULT_ATTR(fail_iommufd);
static struct dentry *dbgfs_root;
static struct dentry *dbgfs_delays;
static struct platform_device *selftest_iommu_dev;
static struct iommu_device mock_iommu_device;
static DEFINE_IDA(mock_dev_ida);

/* Bytes the page pinning code may use for one temporary buffer */
size_t iommufd_test_memory_limit = 65536;

#define MOCK_IO_PAGE_SIZE (PAGE_SIZE / 2)
#define MOCK_HUGE_PAGE_SIZE (512 * MOCK_IO_PAGE_SIZE)

/* Markers of a slot value, above its PFN of half pages */
#define MOCK_SLOT_START BIT(BITS_PER_LONG - 2)	/* first slot of a map */
#define MOCK_SLOT_LAST BIT(BITS_PER_LONG - 3)	/* last slot of a map */
#define MOCK_SLOT_HUGE BIT(BITS_PER_LONG - 4)	/* part of a huge IOPTE */
#define MOCK_SLOT_DIRTY BIT(BITS_PER_LONG - 5)	/* written by "DMA" */
#define MOCK_SLOT_PFN_MASK (MOCK_SLOT_DIRTY - 1)

/* The largest ACCESS_PAGES and ACCESS_RW request */
#define MOCK_ACCESS_MAX_LENGTH SZ_16M

/**
 * iommufd_should_fail() - Fault injection point of iommufd
 *
 * Context: Any context.
 * Return: true when the fail_iommufd fault attribute says this call fails.
 */
bool iommufd_should_fail(void)
{
	return should_fail(&fail_iommufd, 1);
}

/*
 * The window of the IOMMU_DESTROY race, opened for the selftest by two
 * debugfs files (root only, 0 by default: no delay):
 *
 *   /sys/kernel/debug/iommufd/attach_delay_ms
 *	iommufd_access_attach() (IOMMU_TEST_OP_CREATE_ACCESS) sleeps
 *	(msleep()) that long, at most IOMMUFD_TEST_ATTACH_DELAY_MAX_MS, with
 *	its short-term reference on the IOAS held, before it raises users.
 *
 *   /sys/kernel/debug/iommufd/destroy_delay_ms
 *	IOMMU_DESTROY, after it read users == 1 and before it takes the
 *	table's short-term reference away, waits for the delayed attach to
 *	have raised users and dropped its short-term reference, for at most
 *	that long (and IOMMUFD_TEST_DESTROY_DELAY_MAX_MS). It waits inside
 *	the table's xa_lock, a spinlock, hence busy: acceptable only for a
 *	test knob off by default (the soft lockup detector reports after
 *	20 s, RCU stalls after 21 s). An attach that has to take the xa_lock
 *	to raise users cannot get there while the destroy waits: the wait
 *	then runs to its end and the destroy sees the attach's short-term
 *	reference. An attach that raises users without the lock gets there,
 *	ends the wait at once and the destroy frees what the access holds:
 *	the race, every time, however long either side takes.
 *
 * And one for the access tests, in the same directory:
 *
 *   /sys/kernel/debug/iommufd/access_unmap_delay_ms
 *	the next unmap callback of a mock access asked to drop everything
 *	(what iommufd_access_replace() and iommufd_access_detach() ask)
 *	sleeps that long first, at most ACCESS_UNMAP_MAX_MS,
 *	so a test can act while the access waits for its driver.
 *
 * And one for the readers of an IOAS during a MAP:
 *
 *   /sys/kernel/debug/iommufd/map_delay_ms
 *	the next MAP (or COPY) that places its areas sleeps that long, at
 *	most MAP_DELAY_MAX_MS, after it placed them and before it pins and
 *	fills the domains, holding what it holds there: a test reads the
 *	IOAS meanwhile.
 *
 *   /sys/kernel/debug/iommufd/unfill_delay_ms
 *	the next MAP whose fill failed sleeps that long, at most
 *	MAP_DELAY_MAX_MS, between dropping iova_rwsem and taking it for
 *	write to take its areas out again: a test's writers come in there.
 *
 * Each is one-shot: the delay that fires puts 0 back, so a test reading 0
 * afterwards knows its window was reached, and a test killed midway leaves
 * no delay behind. The test still writes 0 before and after.
 */
#define IOMMUFD_TEST_DESTROY_DELAY_MAX_MS 2000
#define IOMMUFD_TEST_ATTACH_DELAY_MAX_MS 10000
#define ACCESS_UNMAP_MAX_MS 10000
#define MAP_DELAY_MAX_MS 10000
static u32 iommufd_test_destroy_delay_ms;
static u32 iommufd_test_attach_delay_ms;
static u32 iommufd_test_access_unmap_delay_ms;
static u32 iommufd_test_map_delay_ms;
static u32 iommufd_test_unfill_delay_ms;
/* The delayed attach: 1 while in its delay, 2 once past its raise */
static atomic_t iommufd_test_attach_stage = ATOMIC_INIT(0);

/* The value of a one-shot knob, which is put back to 0 if it was set */
static u32 iommufd_test_take_delay(u32 *knob)
{
	if (!READ_ONCE(*knob))
		return 0;
	return xchg(knob, 0);
}

/**
 * iommufd_test_destroy_delay() - The wait of destroy_delay_ms, if set
 *
 * Context: Any context; busy-waits (the caller holds a spinlock).
 */
void iommufd_test_destroy_delay(void)
{
	u32 ms = iommufd_test_take_delay(&iommufd_test_destroy_delay_ms);
	ktime_t end;

	if (!ms)
		return;
	end = ktime_add_ms(ktime_get(),
			   min_t(u32, ms, IOMMUFD_TEST_DESTROY_DELAY_MAX_MS));
	while (atomic_read(&iommufd_test_attach_stage) != 2 &&
	       ktime_before(ktime_get(), end))
		cpu_relax();
}

/**
 * iommufd_test_attach_delay() - The delay of attach_delay_ms, if set
 *
 * Context: Process context; sleeps.
 */
void iommufd_test_attach_delay(void)
{
	u32 ms = iommufd_test_take_delay(&iommufd_test_attach_delay_ms);

	atomic_set(&iommufd_test_attach_stage, ms ? 1 : 0);
	if (ms)
		msleep(min_t(u32, ms, IOMMUFD_TEST_ATTACH_DELAY_MAX_MS));
}

/**
 * iommufd_test_map_delay() - The delay of map_delay_ms, if set
 *
 * Context: Process context; sleeps.
 */
void iommufd_test_map_delay(void)
{
	u32 ms = iommufd_test_take_delay(&iommufd_test_map_delay_ms);

	if (ms)
		msleep(min_t(u32, ms, MAP_DELAY_MAX_MS));
}

/**
 * iommufd_test_unfill_delay() - The delay of unfill_delay_ms, if set
 *
 * Context: Process context; sleeps.
 */
void iommufd_test_unfill_delay(void)
{
	u32 ms = iommufd_test_take_delay(&iommufd_test_unfill_delay_ms);

	if (ms)
		msleep(min_t(u32, ms, MAP_DELAY_MAX_MS));
}

/**
 * iommufd_test_attach_raised() - The attach raised users and dropped its
 *				  short-term reference; ends the wait of a
 *				  destroy if that attach was the delayed one
 *
 * Context: Any context.
 */
void iommufd_test_attach_raised(void)
{
	atomic_cmpxchg(&iommufd_test_attach_stage, 1, 2);
}

/**
 * struct mock_dev - A device on the mock bus
 * @dev: The device
 * @flags: MOCK_FLAGS_DEVICE_*
 * @id: Its number in the name
 */
struct mock_dev {
	struct device dev;
	unsigned long flags;
	int id;
};

/**
 * struct mock_iommu_domain - A mock paging domain
 * @domain: The domain
 * @pfns: IOVA / MOCK_IO_PAGE_SIZE -> xa_mk_value(PFN of half pages | markers)
 * @dirty_tracking: IOMMU_HWPT_SET_DIRTY_TRACKING turned tracking on
 */
struct mock_iommu_domain {
	struct iommu_domain domain;
	struct xarray pfns;
	bool dirty_tracking;
};

/**
 * struct mock_iommu_domain_nested - A mock nested domain
 * @domain: The domain
 * @parent: The mock paging domain it is nested on
 * @iotlb: The mock IOTLB entries
 */
struct mock_iommu_domain_nested {
	struct iommu_domain domain;
	struct mock_iommu_domain *parent;
	u32 iotlb[MOCK_NESTED_DOMAIN_IOTLB_NUM];
};

static const struct iommu_ops mock_ops;
static const struct iommu_domain_ops mock_paging_ops;
static const struct iommu_domain_ops mock_nested_ops;

static struct bus_type iommufd_mock_bus_type = {
	.name = "iommufd_mock",
	.iommu_ops = &mock_ops,
};

/**
 * iommufd_selftest_is_mock_dev() - Whether a device is a mock device
 * @dev: The device
 *
 * Context: Any context.
 * Return: true for the devices of IOMMU_TEST_OP_MOCK_DOMAIN.
 */
bool iommufd_selftest_is_mock_dev(struct device *dev)
{
	return dev->bus == &iommufd_mock_bus_type;
}

static struct mock_dev *to_mock_dev(struct device *dev)
{
	return container_of(dev, struct mock_dev, dev);
}

static struct mock_iommu_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_iommu_domain, domain);
}

static struct mock_iommu_domain_nested *
to_mock_nested(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_iommu_domain_nested, domain);
}

/* The blocking (and default) domains: nothing goes through */

static int mock_blocking_attach_dev(struct iommu_domain *domain,
				    struct device *dev)
{
	return 0;
}

static void mock_detach_dev(struct iommu_domain *domain, struct device *dev)
{
}

static void mock_blocking_free(struct iommu_domain *domain)
{
	kfree(domain);
}

static const struct iommu_domain_ops mock_blocking_ops = {
	.attach_dev = mock_blocking_attach_dev,
	.detach_dev = mock_detach_dev,
	.free = mock_blocking_free,
};

/* Paging domains */

static struct iommu_domain *mock_paging_alloc(bool huge)
{
	struct mock_iommu_domain *mock;

	mock = kzalloc(sizeof(*mock), GFP_KERNEL);
	if (!mock)
		return NULL;
	xa_init(&mock->pfns);
	mock->domain.geometry.aperture_start = MOCK_APERTURE_START;
	mock->domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	mock->domain.geometry.force_aperture = true;
	mock->domain.pgsize_bitmap = MOCK_IO_PAGE_SIZE;
	if (huge)
		mock->domain.pgsize_bitmap |= MOCK_HUGE_PAGE_SIZE;
	mock->domain.ops = &mock_paging_ops;
	return &mock->domain;
}

static int mock_paging_attach_dev(struct iommu_domain *domain,
				  struct device *dev)
{
	if (!iommufd_selftest_is_mock_dev(dev))
		return -EINVAL;
	/* A device that cannot track dirty IOVAs cannot use such a domain */
	if (domain->dirty_ops &&
	    (to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return -EINVAL;
	return 0;
}

static int mock_paging_map_pages(struct iommu_domain *domain,
				 unsigned long iova, phys_addr_t paddr,
				 size_t pgsize, size_t pgcount, int prot,
				 gfp_t gfp, size_t *mapped)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	unsigned long first = iova / MOCK_IO_PAGE_SIZE;
	unsigned long pfn = paddr / MOCK_IO_PAGE_SIZE;
	unsigned long nr = pgsize / MOCK_IO_PAGE_SIZE * pgcount;
	unsigned long huge = pgsize == MOCK_IO_PAGE_SIZE ? 0 : MOCK_SLOT_HUGE;
	unsigned long i;

	if (WARN_ON(iova % MOCK_IO_PAGE_SIZE || paddr % MOCK_IO_PAGE_SIZE ||
		    pgsize % MOCK_IO_PAGE_SIZE || !nr))
		return -EINVAL;
	if (iommufd_should_fail())
		return -ENOENT;

	for (i = 0; i != nr; i++) {
		unsigned long val = (pfn + i) | huge;
		void *old;

		if (i == 0)
			val |= MOCK_SLOT_START;
		if (i == nr - 1)
			val |= MOCK_SLOT_LAST;
		old = xa_store(&mock->pfns, first + i, xa_mk_value(val), gfp);
		if (xa_is_err(old)) {
			/* Undo this call: the core only unmaps what was mapped */
			while (i--)
				xa_erase(&mock->pfns, first + i);
			return xa_err(old);
		}
		/* iommufd maps each IOVA of a domain once */
		WARN_ON(old);
	}
	*mapped = pgsize * pgcount;
	return 0;
}

static size_t mock_paging_unmap_pages(struct iommu_domain *domain,
				      unsigned long iova, size_t pgsize,
				      size_t pgcount,
				      struct iommu_iotlb_gather *gather)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	unsigned long first = iova / MOCK_IO_PAGE_SIZE;
	unsigned long nr = pgsize / MOCK_IO_PAGE_SIZE * pgcount;
	/* The core cuts maps and unmaps the same way only without huge IOPTEs */
	bool check_units = !(domain->pgsize_bitmap & MOCK_HUGE_PAGE_SIZE);
	unsigned long i;

	if (WARN_ON(iova % MOCK_IO_PAGE_SIZE || pgsize % MOCK_IO_PAGE_SIZE))
		return 0;

	for (i = 0; i != nr; i++) {
		void *ent = xa_erase(&mock->pfns, first + i);
		unsigned long val;

		/* iommufd never unmaps what it did not map */
		if (WARN_ON(!ent))
			break;
		val = xa_to_value(ent);
		if (check_units) {
			WARN_ON(i == 0 && !(val & MOCK_SLOT_START));
			WARN_ON(i == nr - 1 && !(val & MOCK_SLOT_LAST));
		}
		/* Nor does it ever cut a huge IOPTE */
		if (val & MOCK_SLOT_HUGE) {
			WARN_ON(i == 0 && iova % MOCK_HUGE_PAGE_SIZE);
			WARN_ON(i == nr - 1 &&
				(iova + nr * MOCK_IO_PAGE_SIZE) %
					MOCK_HUGE_PAGE_SIZE);
		}
	}
	return i * MOCK_IO_PAGE_SIZE;
}

static phys_addr_t mock_paging_iova_to_phys(struct iommu_domain *domain,
					    dma_addr_t iova)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	void *ent = xa_load(&mock->pfns, iova / MOCK_IO_PAGE_SIZE);

	/* iommufd only asks about what it mapped */
	if (WARN_ON(!ent))
		return 0;
	return (phys_addr_t)(xa_to_value(ent) & MOCK_SLOT_PFN_MASK) *
		       MOCK_IO_PAGE_SIZE + iova % MOCK_IO_PAGE_SIZE;
}

static void mock_paging_free(struct iommu_domain *domain)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);

	/* iommufd unmaps everything before it frees a domain */
	WARN_ON(!xa_empty(&mock->pfns));
	xa_destroy(&mock->pfns);
	kfree(mock);
}

static const struct iommu_domain_ops mock_paging_ops = {
	.attach_dev = mock_paging_attach_dev,
	.detach_dev = mock_detach_dev,
	.map_pages = mock_paging_map_pages,
	.unmap_pages = mock_paging_unmap_pages,
	.iova_to_phys = mock_paging_iova_to_phys,
	.free = mock_paging_free,
};

/* Dirty tracking of paging domains */

static int mock_set_dirty_tracking(struct iommu_domain *domain, bool enabled)
{
	WRITE_ONCE(to_mock_domain(domain)->dirty_tracking, enabled);
	return 0;
}

/* Whether a slot in [first, first + nr) is dirty; clear them unless asked */
static bool mock_test_clear_dirty(struct mock_iommu_domain *mock,
				  unsigned long first, unsigned long nr,
				  unsigned long flags)
{
	bool dirty = false;
	unsigned long i;

	for (i = first; i != first + nr; i++) {
		void *ent = xa_load(&mock->pfns, i);
		unsigned long val;

		if (!ent)
			continue;
		val = xa_to_value(ent);
		if (!(val & MOCK_SLOT_DIRTY))
			continue;
		dirty = true;
		/* Unmapped or changed meanwhile: nothing to clear */
		if (!(flags & IOMMU_DIRTY_NO_CLEAR))
			xa_cmpxchg(&mock->pfns, i, ent,
				   xa_mk_value(val & ~MOCK_SLOT_DIRTY),
				   GFP_KERNEL);
	}
	return dirty;
}

static void mock_record_dirty(struct iommu_dirty_bitmap *dirty,
			      unsigned long iova, unsigned long length,
			      unsigned long flags)
{
	if (dirty->bitmap)
		iova_bitmap_set(dirty->bitmap, iova, length);
	if (dirty->gather && !(flags & IOMMU_DIRTY_NO_CLEAR))
		iommu_iotlb_gather_add_range(dirty->gather, iova, length);
}

static int mock_read_and_clear_dirty(struct iommu_domain *domain,
				     unsigned long iova, size_t size,
				     unsigned long flags,
				     struct iommu_dirty_bitmap *dirty)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	unsigned long first, last, cur;

	/* Without a bitmap it is the clearing pass before tracking starts */
	if (dirty->bitmap && !READ_ONCE(mock->dirty_tracking))
		return -EINVAL;
	if (!size || check_add_overflow(iova, size - 1, &last))
		return -EINVAL;

	/* Only the aperture has slots */
	first = max_t(unsigned long, iova, MOCK_APERTURE_START);
	last = min_t(unsigned long, last, MOCK_APERTURE_LAST);
	for (cur = ALIGN_DOWN(first, MOCK_IO_PAGE_SIZE); cur <= last;) {
		unsigned long index = cur / MOCK_IO_PAGE_SIZE;
		void *ent = xa_load(&mock->pfns, index);
		unsigned long head, len;

		if (ent && (xa_to_value(ent) & MOCK_SLOT_HUGE)) {
			/* A huge IOPTE is dirty as a whole */
			head = ALIGN_DOWN(cur, MOCK_HUGE_PAGE_SIZE);
			len = MOCK_HUGE_PAGE_SIZE;
		} else {
			head = cur;
			len = MOCK_IO_PAGE_SIZE;
		}
		if (ent && mock_test_clear_dirty(mock, head / MOCK_IO_PAGE_SIZE,
						 len / MOCK_IO_PAGE_SIZE,
						 flags)) {
			/* The bitmap covers [iova, last] only */
			unsigned long start = max(head, iova);
			unsigned long end = min(head + len - 1, last);

			mock_record_dirty(dirty, start, end - start + 1, flags);
		}
		cur = head + len;
		cond_resched();
	}
	return 0;
}

static const struct iommu_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_set_dirty_tracking,
	.read_and_clear_dirty = mock_read_and_clear_dirty,
};

/* Nested domains */

static int mock_nested_attach_dev(struct iommu_domain *domain,
				  struct device *dev)
{
	return iommufd_selftest_is_mock_dev(dev) ? 0 : -EINVAL;
}

static int mock_nested_cache_invalidate_user(struct iommu_domain *domain,
					     struct iommu_user_data_array *array)
{
	const u32 type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
	struct mock_iommu_domain_nested *nested = to_mock_nested(domain);
	struct iommu_hwpt_invalidate_selftest inv;
	int rc = 0;
	u32 i, j;

	if (array->type != type) {
		array->entry_num = 0;
		return -EINVAL;
	}

	for (i = 0; i != array->entry_num; i++) {
		rc = iommu_copy_struct_from_user_array(&inv, array, type, i,
						       iotlb_id);
		if (rc)
			break;
		if (inv.flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			rc = -EOPNOTSUPP;
			break;
		}
		if (inv.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			for (j = 0; j != MOCK_NESTED_DOMAIN_IOTLB_NUM; j++)
				WRITE_ONCE(nested->iotlb[j], 0);
			continue;
		}
		if (inv.iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX) {
			rc = -EINVAL;
			break;
		}
		WRITE_ONCE(nested->iotlb[inv.iotlb_id], 0);
	}
	array->entry_num = i;
	return rc;
}

static void mock_nested_free(struct iommu_domain *domain)
{
	kfree(to_mock_nested(domain));
}

static const struct iommu_domain_ops mock_nested_ops = {
	.attach_dev = mock_nested_attach_dev,
	.detach_dev = mock_detach_dev,
	.cache_invalidate_user = mock_nested_cache_invalidate_user,
	.free = mock_nested_free,
};

/* The driver */

static struct iommu_domain *mock_domain_alloc(unsigned int type)
{
	struct iommu_domain *domain;

	switch (type) {
	case IOMMU_DOMAIN_BLOCKED:
	case IOMMU_DOMAIN_IDENTITY:
		/* Both block: see the top of the file */
		domain = kzalloc(sizeof(*domain), GFP_KERNEL);
		if (domain)
			domain->ops = &mock_blocking_ops;
		return domain;
	case IOMMU_DOMAIN_UNMANAGED:
		return mock_paging_alloc(false);
	default:
		return NULL;
	}
}

static struct iommu_domain *
mock_domain_alloc_nested(struct iommu_domain *parent, u32 flags,
			 const struct iommu_user_data *user_data)
{
	struct mock_iommu_domain_nested *nested;
	struct iommu_hwpt_selftest data;
	int rc, i;

	if (!user_data || user_data->type != IOMMU_HWPT_DATA_SELFTEST || flags)
		return ERR_PTR(-EOPNOTSUPP);
	if (parent->ops != &mock_paging_ops)
		return ERR_PTR(-EINVAL);

	rc = iommu_copy_struct_from_user(&data, user_data,
					 IOMMU_HWPT_DATA_SELFTEST, iotlb);
	if (rc)
		return ERR_PTR(rc);

	nested = kzalloc(sizeof(*nested), GFP_KERNEL_ACCOUNT);
	if (!nested)
		return ERR_PTR(-ENOMEM);
	nested->domain.type = IOMMU_DOMAIN_NESTED;
	nested->domain.ops = &mock_nested_ops;
	nested->parent = to_mock_domain(parent);
	for (i = 0; i != MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
		nested->iotlb[i] = data.iotlb;
	return &nested->domain;
}

static struct iommu_domain *
mock_domain_alloc_user(struct device *dev, u32 flags,
		       struct iommu_domain *parent,
		       const struct iommu_user_data *user_data)
{
	const u32 paging_flags = IOMMU_HWPT_ALLOC_NEST_PARENT |
				 IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	struct mock_dev *mdev = to_mock_dev(dev);
	struct iommu_domain *domain;
	bool dirty = flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;

	if (parent)
		return mock_domain_alloc_nested(parent, flags, user_data);

	if ((flags & ~paging_flags) || user_data)
		return ERR_PTR(-EOPNOTSUPP);
	if (dirty && (mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return ERR_PTR(-EOPNOTSUPP);

	domain = mock_paging_alloc(mdev->flags & MOCK_FLAGS_DEVICE_HUGE_IOVA);
	if (!domain)
		return ERR_PTR(-ENOMEM);
	if (dirty)
		domain->dirty_ops = &mock_dirty_ops;
	return domain;
}

static bool mock_capable(struct device *dev, enum iommu_cap cap)
{
	switch (cap) {
	case IOMMU_CAP_CACHE_COHERENCY:
		return true;
	case IOMMU_CAP_DIRTY_TRACKING:
		return !(to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
	default:
		return false;
	}
}

static void *mock_hw_info(struct device *dev, u32 *length, u32 *type)
{
	struct iommu_test_hw_info *info;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return ERR_PTR(-ENOMEM);
	info->test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL;
	*length = sizeof(*info);
	*type = IOMMU_HW_INFO_TYPE_SELFTEST;
	return info;
}

static struct iommu_device *mock_probe_device(struct device *dev)
{
	if (!iommufd_selftest_is_mock_dev(dev))
		return ERR_PTR(-ENODEV);
	return &mock_iommu_device;
}

static int mock_def_domain_type(struct device *dev)
{
	return IOMMU_DOMAIN_IDENTITY;
}

static const struct iommu_ops mock_ops = {
	.owner = THIS_MODULE,
	.pgsize_bitmap = MOCK_IO_PAGE_SIZE,
	.capable = mock_capable,
	.domain_alloc = mock_domain_alloc,
	.probe_device = mock_probe_device,
	.device_group = generic_device_group,
	.def_domain_type = mock_def_domain_type,
	.hw_info = mock_hw_info,
	.domain_alloc_user = mock_domain_alloc_user,
	.default_domain_ops = &mock_paging_ops,
};

/* Mock devices */

static void mock_dev_release(struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	ida_free(&mock_dev_ida, mdev->id);
	kfree(mdev);
}

static struct mock_dev *mock_dev_create(unsigned long dev_flags)
{
	struct mock_dev *mdev;
	int rc;

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL);
	if (!mdev)
		return ERR_PTR(-ENOMEM);

	mdev->id = ida_alloc(&mock_dev_ida, GFP_KERNEL);
	if (mdev->id < 0) {
		rc = mdev->id;
		kfree(mdev);
		return ERR_PTR(rc);
	}
	device_initialize(&mdev->dev);
	mdev->flags = dev_flags;
	mdev->dev.release = mock_dev_release;
	mdev->dev.bus = &iommufd_mock_bus_type;

	rc = dev_set_name(&mdev->dev, "iommufd_mock%u", mdev->id);
	if (rc)
		goto err_put;
	rc = device_add(&mdev->dev);
	if (rc)
		goto err_put;
	/* No bus notifier probes the mock bus */
	rc = iommu_probe_device(&mdev->dev);
	if (rc)
		goto err_del;
	return mdev;

err_del:
	device_del(&mdev->dev);
err_put:
	put_device(&mdev->dev);
	return ERR_PTR(rc);
}

static void mock_dev_destroy(struct mock_dev *mdev)
{
	iommu_release_device(&mdev->dev);
	device_unregister(&mdev->dev);
}

/**
 * struct selftest_obj - A mock device bound and attached to a context
 *			 (IOMMUFD_OBJ_SELFTEST, "stdev")
 * @obj: The object header
 * @idev: The bound device
 * @mdev: The mock device
 */
struct selftest_obj {
	struct iommufd_object obj;
	struct iommufd_device *idev;
	struct mock_dev *mdev;
};

static_assert(offsetof(struct selftest_obj, obj) == 0);

/**
 * iommufd_selftest_destroy() - Destroy a selftest object
 * @obj: The object
 *
 * Detaches, unbinds and deletes its mock device.
 *
 * Context: Process context.
 */
void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct selftest_obj *sobj = container_of(obj, struct selftest_obj, obj);

	iommufd_device_detach(sobj->idev);
	iommufd_device_unbind(sobj->idev);
	mock_dev_destroy(sobj->mdev);
}

static struct selftest_obj *iommufd_test_get_sobj(struct iommufd_ucmd *ucmd,
						  u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct selftest_obj, obj);
}

/* A paging HWPT of the mock driver, with a short-term reference */
static struct iommufd_hwpt_paging *
iommufd_test_get_mock_paging(struct iommufd_ucmd *ucmd, u32 id,
			     struct mock_iommu_domain **mock)
{
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	hwpt_paging = container_of(obj, struct iommufd_hwpt_paging,
				   common.obj);
	if (hwpt_paging->common.domain->ops != &mock_paging_ops) {
		iommufd_put_object(ucmd->ictx, obj);
		return ERR_PTR(-EINVAL);
	}
	*mock = to_mock_domain(hwpt_paging->common.domain);
	return hwpt_paging;
}

static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	struct iommufd_ioas *ioas;
	unsigned long last;
	int rc;

	if (!cmd->add_reserved.length)
		return -EINVAL;
	if (check_add_overflow(cmd->add_reserved.start,
			       cmd->add_reserved.length - 1, &last))
		return -EOVERFLOW;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	rc = iopt_reserve_iova(&ioas->iopt, cmd->add_reserved.start, last,
			       NULL);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

static int iommufd_test_mock_domain(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd)
{
	const u32 valid_flags = MOCK_FLAGS_DEVICE_NO_DIRTY |
				MOCK_FLAGS_DEVICE_HUGE_IOVA;
	struct iommufd_device *idev;
	struct selftest_obj *sobj;
	struct mock_dev *mdev;
	u32 dev_flags = 0;
	u32 idev_id, pt_id;
	int rc;

	if (cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS)
		dev_flags = cmd->mock_domain_flags.dev_flags;
	if (dev_flags & ~valid_flags)
		return -EINVAL;

	sobj = iommufd_object_alloc(ucmd->ictx, sobj, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);

	mdev = mock_dev_create(dev_flags);
	if (IS_ERR(mdev)) {
		rc = PTR_ERR(mdev);
		goto err_abort;
	}
	idev = iommufd_device_bind(ucmd->ictx, &mdev->dev, &idev_id);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto err_destroy_mdev;
	}
	pt_id = cmd->id;
	rc = iommufd_device_attach(idev, &pt_id);
	if (rc)
		goto err_unbind;

	sobj->idev = idev;
	sobj->mdev = mdev;
	/* mock_domain_flags has the same outputs at the same offsets */
	cmd->mock_domain.out_stdev_id = sobj->obj.id;
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_idev_id = idev_id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto err_detach;
	iommufd_object_finalize(ucmd->ictx, &sobj->obj);
	return 0;

err_detach:
	iommufd_device_detach(idev);
err_unbind:
	iommufd_device_unbind(idev);
err_destroy_mdev:
	mock_dev_destroy(mdev);
err_abort:
	iommufd_object_abort(ucmd->ictx, &sobj->obj);
	return rc;
}

static int iommufd_test_mock_domain_replace(struct iommufd_ucmd *ucmd,
					    struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj;
	u32 pt_id = cmd->mock_domain_replace.pt_id;
	int rc;

	sobj = iommufd_test_get_sobj(ucmd, cmd->id);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);

	rc = iommufd_device_replace(sobj->idev, &pt_id);
	if (!rc) {
		cmd->mock_domain_replace.pt_id = pt_id;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

/* Every half page of [iova, iova + length) maps the memory at uptr */
static int iommufd_test_md_check_map(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	unsigned long iova = cmd->check_map.iova;
	unsigned long uptr = cmd->check_map.uptr;
	unsigned long length = cmd->check_map.length;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct mock_iommu_domain *mock;
	struct page *page = NULL;
	unsigned long end, off;
	int rc = 0;

	if (iova % MOCK_IO_PAGE_SIZE || length % MOCK_IO_PAGE_SIZE ||
	    uptr % MOCK_IO_PAGE_SIZE || check_add_overflow(uptr, length, &end) ||
	    check_add_overflow(iova, length, &end))
		return -EINVAL;

	hwpt_paging = iommufd_test_get_mock_paging(ucmd, cmd->id, &mock);
	if (IS_ERR(hwpt_paging))
		return PTR_ERR(hwpt_paging);

	for (off = 0; off != length; off += MOCK_IO_PAGE_SIZE) {
		unsigned long cur = uptr + off;
		phys_addr_t want, have;
		void *ent;

		if (!page || !(cur % PAGE_SIZE)) {
			if (page)
				put_page(page);
			page = NULL;
			rc = get_user_pages_fast(ALIGN_DOWN(cur, PAGE_SIZE), 1,
						 0, &page);
			if (rc != 1) {
				page = NULL;
				rc = rc < 0 ? rc : -EFAULT;
				break;
			}
			rc = 0;
		}
		want = page_to_phys(page) + cur % PAGE_SIZE;
		ent = xa_load(&mock->pfns, (iova + off) / MOCK_IO_PAGE_SIZE);
		if (!ent) {
			rc = -EINVAL;
			break;
		}
		have = (phys_addr_t)(xa_to_value(ent) & MOCK_SLOT_PFN_MASK) *
		       MOCK_IO_PAGE_SIZE;
		if (have != want) {
			rc = -EINVAL;
			break;
		}
		cond_resched();
	}
	if (page)
		put_page(page);
	iommufd_put_object(ucmd->ictx, &hwpt_paging->common.obj);
	return rc;
}

/*
 * The pins of @folio, as 6.1's FOLL_PIN counts them: a pin of a small page
 * adds GUP_PIN_COUNTING_BIAS to its reference count (the few plain
 * references, the caller's lookup among them, stay below one bias); a pin
 * of any subpage of a large folio (THP, hugetlb) adds one reference and
 * one to the folio's compound_pincount. Which subpage of a large folio a
 * pin is on is not recorded anywhere: only the folio's total exists.
 */
static unsigned long mock_folio_pins(struct folio *folio)
{
	if (folio_test_large(folio))
		return atomic_read(folio_pincount_ptr(folio));
	return folio_ref_count(folio) / GUP_PIN_COUNTING_BIAS;
}

/*
 * MD_CHECK_REFS of one run of @nr pages of [uptr, uptr + length), all on
 * @folio: a small page holds refs pins; a large folio holds refs pins for
 * each of its pages in the run and none for its other pages, so its total
 * is refs * nr (see IOMMU_TEST_OP_MD_CHECK_REFS in iommufd_test.h).
 */
static bool mock_folio_pins_match(struct folio *folio, unsigned long nr,
				  u32 refs)
{
	return mock_folio_pins(folio) == (u64)refs * nr;
}

/* See IOMMU_TEST_OP_MD_CHECK_REFS in iommufd_test.h */
static int iommufd_test_md_check_refs(struct iommufd_ucmd *ucmd,
				      struct iommu_test_cmd *cmd)
{
	unsigned long uptr = cmd->check_refs.uptr;
	unsigned long length = cmd->check_refs.length;
	u32 refs = cmd->check_refs.refs;
	/* The run being counted: pages in a row of one folio */
	struct page *run_page = NULL;
	struct folio *run_folio = NULL;
	unsigned long off, end, run_nr = 0;
	int rc = 0;

	if (!PAGE_ALIGNED(uptr) || !PAGE_ALIGNED(length) ||
	    check_add_overflow(uptr, length, &end))
		return -EINVAL;

	for (off = 0; off != length; off += PAGE_SIZE) {
		struct page *page;

		cond_resched();
		rc = get_user_pages_fast(uptr + off, 1, 0, &page);
		if (rc != 1) {
			rc = rc < 0 ? rc : -EFAULT;
			break;
		}
		rc = 0;
		/* The next page of a large folio's run: counted at its end */
		if (run_folio && folio_test_large(run_folio) &&
		    page_folio(page) == run_folio) {
			run_nr++;
			put_page(page);
			continue;
		}
		if (run_page) {
			if (!mock_folio_pins_match(run_folio, run_nr, refs))
				rc = -EIO;
			put_page(run_page);
		}
		/* The reference of the lookup holds the folio of the run */
		run_page = page;
		run_folio = page_folio(page);
		run_nr = 1;
		if (rc)
			break;
	}
	if (run_page) {
		if (!rc && !mock_folio_pins_match(run_folio, run_nr, refs))
			rc = -EIO;
		put_page(run_page);
	}
	return rc;
}

static int iommufd_test_md_check_iotlb(struct iommufd_ucmd *ucmd,
				       struct iommu_test_cmd *cmd)
{
	struct mock_iommu_domain_nested *nested;
	struct iommufd_object *obj;
	struct iommu_domain *domain;
	int rc = 0;

	obj = iommufd_get_object(ucmd->ictx, cmd->id, IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	domain = container_of(obj, struct iommufd_hw_pagetable, obj)->domain;

	if (domain->ops != &mock_nested_ops ||
	    cmd->check_iotlb.id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX) {
		rc = -EINVAL;
		goto out_put;
	}
	nested = to_mock_nested(domain);
	if (READ_ONCE(nested->iotlb[cmd->check_iotlb.id]) !=
	    cmd->check_iotlb.iotlb)
		rc = -EINVAL;
out_put:
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/* Mark the mapped half pages of the set bits of a user bitmap dirty */
static int iommufd_test_dirty(struct iommufd_ucmd *ucmd,
			      struct iommu_test_cmd *cmd)
{
	const unsigned long chunk_bits = PAGE_SIZE * BITS_PER_BYTE;
	unsigned long iova = cmd->dirty.iova;
	unsigned long length = cmd->dirty.length;
	unsigned long page_size = cmd->dirty.page_size;
	void __user *uptr = u64_to_user_ptr(cmd->dirty.uptr);
	struct iommufd_hwpt_paging *hwpt_paging;
	struct mock_iommu_domain *mock;
	unsigned long nbits, done, last;
	unsigned long *bits;
	u64 nr_dirty = 0;
	int rc = 0;

	if (!page_size || !length || iova % page_size || length % page_size ||
	    !uptr || check_add_overflow(iova, length - 1, &last))
		return -EINVAL;

	hwpt_paging = iommufd_test_get_mock_paging(ucmd, cmd->id, &mock);
	if (IS_ERR(hwpt_paging))
		return PTR_ERR(hwpt_paging);
	if (!READ_ONCE(mock->dirty_tracking)) {
		rc = -EINVAL;
		goto out_put;
	}

	bits = (unsigned long *)get_zeroed_page(GFP_KERNEL);
	if (!bits) {
		rc = -ENOMEM;
		goto out_put;
	}

	/* The bitmap is read a page at a time: it may be large */
	nbits = length / page_size;
	for (done = 0; done < nbits; done += chunk_bits) {
		unsigned long n = min(nbits - done, chunk_bits);
		unsigned long bit;

		memset(bits, 0, PAGE_SIZE);
		if (copy_from_user(bits, uptr + done / BITS_PER_BYTE,
				   DIV_ROUND_UP(n, BITS_PER_BYTE))) {
			rc = -EFAULT;
			break;
		}
		for_each_set_bit(bit, bits, n) {
			unsigned long cur = iova + (done + bit) * page_size;
			unsigned long index = cur / MOCK_IO_PAGE_SIZE;
			void *ent = xa_load(&mock->pfns, index);

			if (!ent)
				continue;
			xa_cmpxchg(&mock->pfns, index, ent,
				   xa_mk_value(xa_to_value(ent) |
					       MOCK_SLOT_DIRTY),
				   GFP_KERNEL);
			nr_dirty++;
		}
		cond_resched();
	}
	free_page((unsigned long)bits);

	if (!rc) {
		cmd->dirty.out_nr_dirty = nr_dirty;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
out_put:
	iommufd_put_object(ucmd->ictx, &hwpt_paging->common.obj);
	return rc;
}

/* Accesses: each is an anon file whose release destroys it */

/**
 * struct selftest_access - An access of the test, behind an access fd
 * @access: The access
 * @file: The access fd's file
 * @lock: Protects @items and @next_id; taken outside every iommufd lock
 * @items: The pinned ranges (struct selftest_access_item)
 * @next_id: The id of the next pinned range
 * @needs_pin: The access was created to pin pages
 */
struct selftest_access {
	struct iommufd_access *access;
	struct file *file;
	/* Protects items and next_id */
	struct mutex lock;
	struct list_head items;
	unsigned int next_id;
	bool needs_pin;
};

/**
 * struct selftest_access_item - One range pinned by ACCESS_PAGES
 * @items_elm: In selftest_access.items
 * @iova: First IOVA
 * @length: Bytes
 * @id: What DESTROY_ACCESS_PAGES names it by
 */
struct selftest_access_item {
	struct list_head items_elm;
	unsigned long iova;
	unsigned long length;
	unsigned int id;
};

static void iommufd_test_item_unpin(struct selftest_access *staccess,
				    struct selftest_access_item *item)
{
	lockdep_assert_held(&staccess->lock);
	iommufd_access_unpin_pages(staccess->access, item->iova, item->length);
	list_del(&item->items_elm);
	kfree(item);
}

/* ops->unmap: drop every item that intersects the range */
static void iommufd_test_access_unmap(void *data, unsigned long iova,
				      unsigned long length)
{
	struct selftest_access *staccess = data;
	struct selftest_access_item *item, *tmp;
	unsigned long last;

	if (!length)
		return;
	if (check_add_overflow(iova, length - 1, &last))
		last = ULONG_MAX;

	if (!iova && length == ULONG_MAX) {
		u32 *knob = &iommufd_test_access_unmap_delay_ms;
		u32 ms = iommufd_test_take_delay(knob);

		if (ms)
			msleep_interruptible(min_t(u32, ms, ACCESS_UNMAP_MAX_MS));
	}

	mutex_lock(&staccess->lock);
	list_for_each_entry_safe(item, tmp, &staccess->items, items_elm) {
		if (item->iova > last || item->iova + item->length - 1 < iova)
			continue;
		iommufd_test_item_unpin(staccess, item);
	}
	mutex_unlock(&staccess->lock);
}

static const struct iommufd_access_ops selftest_access_ops_pin = {
	.needs_pin_pages = 1,
	.unmap = iommufd_test_access_unmap,
};

static const struct iommufd_access_ops selftest_access_ops = {
	.unmap = iommufd_test_access_unmap,
};

static int iommufd_test_staccess_release(struct inode *inode,
					 struct file *filep)
{
	struct selftest_access *staccess = filep->private_data;
	struct selftest_access_item *item, *tmp;

	if (staccess->access) {
		mutex_lock(&staccess->lock);
		list_for_each_entry_safe(item, tmp, &staccess->items,
					 items_elm)
			iommufd_test_item_unpin(staccess, item);
		mutex_unlock(&staccess->lock);
		/* Waits for unmap callbacks still running */
		iommufd_access_destroy(staccess->access);
	}
	mutex_destroy(&staccess->lock);
	kfree(staccess);
	return 0;
}

static const struct file_operations iommufd_test_staccess_fops = {
	.release = iommufd_test_staccess_release,
};

/* The access of an access fd, with a reference on its file */
static struct selftest_access *iommufd_test_get_staccess(int fd)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADFD);
	if (file->f_op != &iommufd_test_staccess_fops) {
		fput(file);
		return ERR_PTR(-EBADFD);
	}
	return file->private_data;
}

static int iommufd_test_create_access(struct iommufd_ucmd *ucmd,
				      struct iommu_test_cmd *cmd)
{
	bool needs_pin = cmd->create_access.flags &
			 MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
	struct selftest_access *staccess;
	struct iommufd_access *access;
	struct file *file;
	u32 access_id;
	int fdno, rc;

	if (cmd->create_access.flags &
	    ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;

	staccess = kzalloc(sizeof(*staccess), GFP_KERNEL_ACCOUNT);
	if (!staccess)
		return -ENOMEM;
	mutex_init(&staccess->lock);
	INIT_LIST_HEAD(&staccess->items);
	staccess->needs_pin = needs_pin;

	fdno = get_unused_fd_flags(O_CLOEXEC);
	if (fdno < 0) {
		rc = fdno;
		goto err_free;
	}
	file = anon_inode_getfile("[iommufd_test_staccess]",
				  &iommufd_test_staccess_fops, staccess,
				  O_RDWR);
	if (IS_ERR(file)) {
		rc = PTR_ERR(file);
		goto err_put_fd;
	}
	/* From here the file's release frees staccess and its access */
	staccess->file = file;

	access = iommufd_access_create(ucmd->ictx,
				       needs_pin ? &selftest_access_ops_pin :
						   &selftest_access_ops,
				       staccess, &access_id);
	if (IS_ERR(access)) {
		rc = PTR_ERR(access);
		goto err_fput;
	}
	staccess->access = access;
	rc = iommufd_access_attach(access, cmd->id);
	if (rc)
		goto err_fput;

	cmd->create_access.out_access_fd = fdno;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto err_fput;
	fd_install(fdno, file);
	return 0;

err_fput:
	fput(file);
	put_unused_fd(fdno);
	return rc;
err_put_fd:
	put_unused_fd(fdno);
err_free:
	mutex_destroy(&staccess->lock);
	kfree(staccess);
	return rc;
}

static int iommufd_test_access_replace_ioas(struct iommufd_ucmd *ucmd,
					    struct iommu_test_cmd *cmd)
{
	struct selftest_access *staccess;
	int rc;

	staccess = iommufd_test_get_staccess(cmd->id);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	rc = iommufd_access_replace(staccess->access,
				    cmd->access_replace_ioas.ioas_id);
	fput(staccess->file);
	return rc;
}

/* The pages pinned must be those of the user memory at uptr */
static int iommufd_test_check_pages(unsigned long uptr, struct page **pages,
				    unsigned long npages)
{
	unsigned long base = ALIGN_DOWN(uptr, PAGE_SIZE);
	unsigned long i;
	int rc;

	for (i = 0; i != npages; i++) {
		struct page *page;

		rc = get_user_pages_fast(base + i * PAGE_SIZE, 1, 0, &page);
		if (rc != 1)
			return rc < 0 ? rc : -EFAULT;
		put_page(page);
		if (page != pages[i])
			return -EBADE;
	}
	return 0;
}

static int iommufd_test_access_pages(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	unsigned long iova = cmd->access_pages.iova;
	unsigned long length = cmd->access_pages.length;
	unsigned int flags = cmd->access_pages.flags;
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	unsigned long npages, last, end;
	struct page **pages;
	int rc;

	/* MOCK_FLAGS_ACCESS_SYZ: accepted; IOVAs are taken as they are */
	if (flags & ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	if (length > MOCK_ACCESS_MAX_LENGTH)
		return -ENOMEM;

	staccess = iommufd_test_get_staccess(cmd->id);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	if (!staccess->needs_pin) {
		rc = -EOPNOTSUPP;
		goto out_fput;
	}
	if (!length) {
		rc = -EINVAL;
		goto out_fput;
	}
	if (check_add_overflow(iova, length - 1, &last) ||
	    check_add_overflow(cmd->access_pages.uptr, length, &end)) {
		rc = -EOVERFLOW;
		goto out_fput;
	}
	npages = last / PAGE_SIZE - iova / PAGE_SIZE + 1;

	pages = kvcalloc(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	item = kzalloc(sizeof(*item), GFP_KERNEL_ACCOUNT);
	if (!pages || !item) {
		rc = -ENOMEM;
		goto out_free;
	}

	/*
	 * Pin and record under the lock, so an unmap callback never misses a
	 * pinned range; it runs without iommufd locks held.
	 */
	mutex_lock(&staccess->lock);
	rc = iommufd_access_pin_pages(staccess->access, iova, length, pages,
				      flags & MOCK_FLAGS_ACCESS_WRITE ?
				      IOMMUFD_ACCESS_RW_WRITE : 0);
	if (rc)
		goto out_unlock;
	if (cmd->access_pages.uptr) {
		rc = iommufd_test_check_pages(cmd->access_pages.uptr, pages,
					      npages);
		if (rc) {
			iommufd_access_unpin_pages(staccess->access, iova,
						   length);
			goto out_unlock;
		}
	}
	item->iova = iova;
	item->length = length;
	item->id = staccess->next_id++;
	list_add_tail(&item->items_elm, &staccess->items);
	cmd->access_pages.out_access_pages_id = item->id;
	mutex_unlock(&staccess->lock);

	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		struct selftest_access_item *cur;

		/* Unless an unmap dropped it meanwhile */
		mutex_lock(&staccess->lock);
		list_for_each_entry(cur, &staccess->items, items_elm) {
			if (cur == item) {
				iommufd_test_item_unpin(staccess, item);
				break;
			}
		}
		mutex_unlock(&staccess->lock);
	}
	item = NULL;
	goto out_free;

out_unlock:
	mutex_unlock(&staccess->lock);
out_free:
	kfree(item);
	kvfree(pages);
out_fput:
	fput(staccess->file);
	return rc;
}

static int iommufd_test_access_item_destroy(struct iommufd_ucmd *ucmd,
					    struct iommu_test_cmd *cmd)
{
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	int rc = -ENOENT;

	staccess = iommufd_test_get_staccess(cmd->id);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);

	mutex_lock(&staccess->lock);
	list_for_each_entry(item, &staccess->items, items_elm) {
		if (item->id == cmd->destroy_access_pages.access_pages_id) {
			iommufd_test_item_unpin(staccess, item);
			rc = 0;
			break;
		}
	}
	mutex_unlock(&staccess->lock);
	fput(staccess->file);
	return rc;
}

static int iommufd_test_access_rw(struct iommufd_ucmd *ucmd,
				  struct iommu_test_cmd *cmd)
{
	const u32 valid_flags = MOCK_ACCESS_RW_WRITE |
				MOCK_ACCESS_RW_SLOW_PATH |
				MOCK_FLAGS_ACCESS_SYZ;
	void __user *uptr = u64_to_user_ptr(cmd->access_rw.uptr);
	unsigned long iova = cmd->access_rw.iova;
	size_t length = cmd->access_rw.length;
	u32 flags = cmd->access_rw.flags;
	unsigned int rw_flags = 0;
	struct selftest_access *staccess;
	size_t done, n;
	void *buf;
	int rc;

	/* MOCK_FLAGS_ACCESS_SYZ: accepted; IOVAs are taken as they are */
	if (flags & ~valid_flags)
		return -EOPNOTSUPP;
	if (length > MOCK_ACCESS_MAX_LENGTH)
		return -ENOMEM;
	if (flags & MOCK_ACCESS_RW_WRITE)
		rw_flags |= IOMMUFD_ACCESS_RW_WRITE;

	staccess = iommufd_test_get_staccess(cmd->id);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);

	buf = kvzalloc(length ?: 1, GFP_KERNEL_ACCOUNT);
	if (!buf) {
		rc = -ENOMEM;
		goto out_fput;
	}
	if ((flags & MOCK_ACCESS_RW_WRITE) &&
	    copy_from_user(buf, uptr, length)) {
		rc = -EFAULT;
		goto out_free;
	}

	if (!(flags & MOCK_ACCESS_RW_SLOW_PATH)) {
		rc = iommufd_access_rw(staccess->access, iova, buf, length,
				       rw_flags);
	} else {
		/* One call per page of IOVA */
		rc = length ? 0 : -EINVAL;
		for (done = 0; !rc && done != length; done += n) {
			n = min_t(size_t, length - done,
				  PAGE_SIZE - (iova + done) % PAGE_SIZE);
			rc = iommufd_access_rw(staccess->access, iova + done,
					       buf + done, n, rw_flags);
		}
	}
	if (rc)
		goto out_free;

	if (!(flags & MOCK_ACCESS_RW_WRITE) &&
	    copy_to_user(uptr, buf, length))
		rc = -EFAULT;
out_free:
	kvfree(buf);
out_fput:
	fput(staccess->file);
	return rc;
}

/**
 * iommufd_test() - IOMMU_TEST_CMD
 * @ucmd: The ioctl
 *
 * Context: Process context.
 * Return: 0, or the errno of the op; -EOPNOTSUPP for an unknown op.
 */
int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return iommufd_test_mock_domain(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return iommufd_test_mock_domain_replace(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return iommufd_test_md_check_map(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_md_check_refs(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_IOTLB:
		return iommufd_test_md_check_iotlb(ucmd, cmd);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return iommufd_test_create_access(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return iommufd_test_access_replace_ioas(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return iommufd_test_access_pages(ucmd, cmd);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return iommufd_test_access_item_destroy(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_RW:
		return iommufd_test_access_rw(ucmd, cmd);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		if (cmd->memory_limit.limit < 12)
			return -EINVAL;
		WRITE_ONCE(iommufd_test_memory_limit, cmd->memory_limit.limit);
		return 0;
	case IOMMU_TEST_OP_DIRTY:
		return iommufd_test_dirty(ucmd, cmd);
	default:
		return -EOPNOTSUPP;
	}
}

/**
 * iommufd_test_init() - Set up the mock driver, the fault attribute and
 *			 the test delays
 *
 * Context: Process context, module init.
 * Return: 0 or an error.
 */
int __init iommufd_test_init(void)
{
	int rc;

	/* Optional: fault injection works without its debugfs files */
	dbgfs_root = fault_create_debugfs_attr("fail_iommufd", NULL,
					       &fail_iommufd);
	/* Optional too: the race test skips without them */
	dbgfs_delays = debugfs_create_dir("iommufd", NULL);
	debugfs_create_u32("destroy_delay_ms", 0600, dbgfs_delays,
			   &iommufd_test_destroy_delay_ms);
	debugfs_create_u32("attach_delay_ms", 0600, dbgfs_delays,
			   &iommufd_test_attach_delay_ms);
	debugfs_create_u32("access_unmap_delay_ms", 0600, dbgfs_delays,
			   &iommufd_test_access_unmap_delay_ms);
	debugfs_create_u32("map_delay_ms", 0600, dbgfs_delays,
			   &iommufd_test_map_delay_ms);
	debugfs_create_u32("unfill_delay_ms", 0600, dbgfs_delays,
			   &iommufd_test_unfill_delay_ms);

	selftest_iommu_dev =
		platform_device_register_simple("iommufd_selftest_iommu",
						PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(selftest_iommu_dev)) {
		rc = PTR_ERR(selftest_iommu_dev);
		goto err_dbgfs;
	}

	rc = bus_register(&iommufd_mock_bus_type);
	if (rc)
		goto err_platform;

	/* Not registered with the core (see the top): fill in what it would */
	mock_iommu_device.ops = &mock_ops;
	rc = iommu_device_sysfs_add(&mock_iommu_device,
				    &selftest_iommu_dev->dev, NULL, "%s",
				    dev_name(&selftest_iommu_dev->dev));
	if (rc)
		goto err_bus;
	return 0;

err_bus:
	bus_unregister(&iommufd_mock_bus_type);
err_platform:
	platform_device_unregister(selftest_iommu_dev);
err_dbgfs:
	debugfs_remove_recursive(dbgfs_delays);
	debugfs_remove_recursive(dbgfs_root);
	return rc;
}

/**
 * iommufd_test_exit() - Undo iommufd_test_init()
 *
 * Every mock device is gone by then, as each pins the module.
 *
 * Context: Process context, module exit.
 */
void iommufd_test_exit(void)
{
	iommu_device_sysfs_remove(&mock_iommu_device);
	bus_unregister(&iommufd_mock_bus_type);
	platform_device_unregister(selftest_iommu_dev);
	debugfs_remove_recursive(dbgfs_delays);
	debugfs_remove_recursive(dbgfs_root);
}
