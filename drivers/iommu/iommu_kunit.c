// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the IOMMU core
 *
 * The tests drive the real IOMMU core (drivers/iommu/iommu.c) and the driver
 * core against a mock IOMMU driver and mock platform devices.
 *
 * The mock IOMMU driver
 *  - registers one struct iommu_device for the duration of a suite
 *    (suite_init/suite_exit). iommu_device_register() installs its ops on
 *    every bus of the core's fixed bus list and refuses different ops while
 *    ops are installed, so on a kernel where a real IOMMU driver owns the
 *    buses the cases are skipped;
 *  - comes in two flavours, chosen per device: the ops of a 6.1 driver
 *    (mock_iommu_ops, the ops of the buses), and the same driver with the
 *    driver ops this series adds (mock_iommu_full_ops: remove_dev_pasid,
 *    domain_alloc_user, hw_info), which probe_device() hands out through a
 *    second struct iommu_device; see mock_iommu_register();
 *  - accepts only the platform devices the tests create: probe_device()
 *    returns -ENODEV for every other device on those buses;
 *  - puts each mock device into a new group, or into the group of an
 *    earlier mock device, as the test asks;
 *  - reports a reserved region of the type a test asks for, when it asks
 *    for one (firmware's direct mappings, such as VT-d's RMRRs);
 *  - records every call the core makes (device probe and release, domain
 *    allocation and freeing, attach and detach per device and domain, PASID
 *    set and remove, hw_info) in an event log the tests query, tracks the
 *    domain each device and each PASID is attached to, and can fail the next
 *    matching call on request;
 *  - checks the promises of the core it can see: no domain is freed while a
 *    device or a PASID is attached to it, and remove_dev_pasid() undoes a
 *    set_dev_pasid() of the same domain.
 *
 * Drivers are bound through the driver core (device_driver_attach()), so the
 * platform bus' dma_configure() hook takes part exactly as for real drivers:
 * a driver doing DMA through the kernel DMA API is accounted by
 * iommu_device_use_default_domain(), a driver with driver_managed_dma set is
 * not.
 *
 * Each case starts from new devices in a new group (struct mock_fixture,
 * built by the suite's init and torn down by its exit) and checks one
 * transition. The fixture also undoes what a case left behind (PASIDs,
 * attachments, claims, domains) and checks that nothing leaked.
 *
 * The file is laid out as:
 *  1. the mock IOMMU driver
 *  2. the mock platform drivers and devices
 *  3. the fixture and the checks the suites share
 *  4. the suites, each with its cases and its definition:
 *     iommu_group_owner_*    group DMA ownership as 6.1 has it
 *     iommu_device_owner_*   per-device DMA ownership
 *     iommu_replace_*        iommu_group_replace_domain()
 *     iommu_pasid            PASID attach, detach and lookup
 *     iommu_direct_mapping   groups with devices that need direct mappings
 *     iommu_release_failure  a release whose default domain attach fails
 *     iommu_driver_defaults  the core's answers for a driver without the
 *                            new driver ops
 *     iommu_driver_user_ops  domain_alloc_user and hw_info passed through
 */

#include <kunit/test.h>
#include <linux/amba/bus.h>
#include <linux/bits.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/fsl/mc.h>
#include <linux/host1x_context_bus.h>
#include <linux/iommu.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

/* 1. The mock IOMMU driver */

/* Calls of the core into the mock driver, as recorded in the event log. */
enum mock_op {
	MOCK_OP_PROBE_DEVICE,
	MOCK_OP_RELEASE_DEVICE,
	MOCK_OP_DOMAIN_ALLOC,
	MOCK_OP_DOMAIN_ALLOC_USER,
	MOCK_OP_DOMAIN_FREE,
	MOCK_OP_ATTACH_DEV,
	MOCK_OP_DETACH_DEV,
	MOCK_OP_SET_DEV_PASID,
	MOCK_OP_REMOVE_DEV_PASID,
	MOCK_OP_HW_INFO,
	MOCK_NR_OPS,
};

static const char * const mock_op_names[MOCK_NR_OPS] = {
	[MOCK_OP_PROBE_DEVICE] = "probe_device",
	[MOCK_OP_RELEASE_DEVICE] = "release_device",
	[MOCK_OP_DOMAIN_ALLOC] = "domain_alloc",
	[MOCK_OP_DOMAIN_ALLOC_USER] = "domain_alloc_user",
	[MOCK_OP_DOMAIN_FREE] = "free",
	[MOCK_OP_ATTACH_DEV] = "attach_dev",
	[MOCK_OP_DETACH_DEV] = "detach_dev",
	[MOCK_OP_SET_DEV_PASID] = "set_dev_pasid",
	[MOCK_OP_REMOVE_DEV_PASID] = "remove_dev_pasid",
	[MOCK_OP_HW_INFO] = "hw_info",
};

/* Masks of ops for expect_calls() */
#define MOCK_DOMAIN_CHANGES	(BIT(MOCK_OP_ATTACH_DEV) | BIT(MOCK_OP_DETACH_DEV))
#define MOCK_PASID_CALLS	(BIT(MOCK_OP_SET_DEV_PASID) | \
				 BIT(MOCK_OP_REMOVE_DEV_PASID))

/* Wildcard for the domain type in fault injection and event queries. */
#define MOCK_ANY_TYPE		UINT_MAX

#define MOCK_MAX_EVENTS		64
#define MOCK_MAX_GROUP_DEVS	4
#define MOCK_MAX_PASIDS		4

/* A mock device without a reserved region (see mock_device_add_resv()) */
#define MOCK_NO_RESV		(-1)
/* Where the reserved region of a mock device lies */
#define MOCK_RESV_START		0xfee00000UL
#define MOCK_RESV_LENGTH	SZ_64K

/* What the full driver's hw_info reports: a type no real driver uses. */
#define MOCK_HW_INFO_TYPE	0x6b756e69U
#define MOCK_HW_INFO_MAGIC	0x10aa55aaU

/**
 * struct mock_hw_info - The hardware description of the full mock driver
 * @magic: MOCK_HW_INFO_MAGIC
 * @nr_pasids: number of PASIDs each device can have
 */
struct mock_hw_info {
	u32 magic;
	u32 nr_pasids;
};

/**
 * struct mock_event - One call of the core into the mock driver
 * @op: the callback
 * @dev: the device, NULL for domain_alloc and free
 * @domain: the domain, NULL for device probe and release, hw_info and a
 *	failed allocation
 * @type: the domain type, for domain callbacks
 * @pasid: the PASID, for set_dev_pasid and remove_dev_pasid; else 0
 * @flags: the flags given to domain_alloc_user
 * @parent: the parent given to domain_alloc_user
 * @user_data: the user data given to domain_alloc_user
 * @ret: what the mock returned: 0 or an error code
 */
struct mock_event {
	enum mock_op op;
	struct device *dev;
	struct iommu_domain *domain;
	unsigned int type;
	ioasid_t pasid;
	u32 flags;
	struct iommu_domain *parent;
	const struct iommu_user_data *user_data;
	int ret;
};

/**
 * struct mock_fault - A failure to inject into the next matching call
 * @armed: the fault is pending
 * @op: the callback to fail
 * @dev: only fail a call for this device; NULL for any device
 * @domain: only fail a call for this domain; NULL for any domain
 * @type: only fail a call for this domain type; MOCK_ANY_TYPE for any
 * @err: the error code to return (domain_alloc returns NULL instead)
 */
struct mock_fault {
	bool armed;
	enum mock_op op;
	struct device *dev;
	struct iommu_domain *domain;
	unsigned int type;
	int err;
};

/**
 * struct mock_pasid - A PASID of a device as the mock hardware sees it
 * @pasid: the PASID
 * @domain: the domain its DMA is translated with; NULL for a free slot
 */
struct mock_pasid {
	ioasid_t pasid;
	struct iommu_domain *domain;
};

/**
 * struct mock_device - A platform device created by a test
 * @pdev: the platform device
 * @node: entry in mock_iommu.devices
 * @group_with: put the device into the group of this mock device, or into
 *	a new group when NULL
 * @full_ops: the device is behind the IOMMU instance with the full ops
 * @def_domain_type: what the def_domain_type callback reports
 * @resv_type: the type (enum iommu_resv_type) of the one reserved region
 *	get_resv_regions() reports, or MOCK_NO_RESV for none
 * @probed: probe_device() accepted the device and release_device() was not
 *	called yet
 * @domain: the domain the core last attached the device to, NULL when
 *	none, after a detach or after release_device()
 * @pasids: the PASIDs set_dev_pasid() attached and remove_dev_pasid() did
 *	not remove yet
 * @nr_drv_probes: how often a mock platform driver's probe ran
 * @nr_drv_removes: how often a mock platform driver's remove ran
 *
 * The fields after @resv_type are protected by mock_iommu.lock.
 */
struct mock_device {
	struct platform_device *pdev;
	struct list_head node;
	struct mock_device *group_with;
	bool full_ops;
	unsigned int def_domain_type;
	int resv_type;
	bool probed;
	struct iommu_domain *domain;
	struct mock_pasid pasids[MOCK_MAX_PASIDS];
	unsigned int nr_drv_probes;
	unsigned int nr_drv_removes;
};

/**
 * struct mock_domain - A domain allocated by the mock driver
 * @domain: the core's domain
 * @alloc_type: the type the core asked for (domain_alloc), or the type the
 *	driver allocated (domain_alloc_user)
 */
struct mock_domain {
	struct iommu_domain domain;
	unsigned int alloc_type;
};

/**
 * struct mock_iommu - The mock IOMMU driver's state
 * @iommu: the instance registered with the core, with the ops of the buses
 * @full_iommu: the instance with the full ops
 * @registered: @iommu is registered and its ops own the buses
 * @lock: protects the fields below and the mock devices' state
 * @devices: the mock devices (struct mock_device) that exist
 * @events: the event log, oldest first
 * @nr_events: entries used in @events
 * @nr_lost_events: events that did not fit into @events
 * @fault: the pending injected failure
 * @next_domain_ops: the ops the next domain the mock allocates gets, instead
 *	of the core's default; used once
 * @nr_live_domains: domains allocated and not yet freed
 * @nr_probed_devices: devices probed and not yet released
 * @nr_freed_in_use: domains freed while a device or a PASID was attached
 * @nr_bad_pasid_calls: set_dev_pasid() on a PASID with a domain, or
 *	remove_dev_pasid() not matching the set_dev_pasid() it undoes
 */
struct mock_iommu {
	struct iommu_device iommu;
	struct iommu_device full_iommu;
	bool registered;
	struct mutex lock; /* see the kernel-doc above */
	struct list_head devices;
	struct mock_event events[MOCK_MAX_EVENTS];
	unsigned int nr_events;
	unsigned int nr_lost_events;
	struct mock_fault fault;
	const struct iommu_domain_ops *next_domain_ops;
	int nr_live_domains;
	int nr_probed_devices;
	int nr_freed_in_use;
	int nr_bad_pasid_calls;
};

static struct mock_iommu mock = {
	.lock = __MUTEX_INITIALIZER(mock.lock),
	.devices = LIST_HEAD_INIT(mock.devices),
};

static void mock_record(const struct mock_event *ev)
{
	mutex_lock(&mock.lock);
	if (mock.nr_events < ARRAY_SIZE(mock.events))
		mock.events[mock.nr_events++] = *ev;
	else
		mock.nr_lost_events++;
	mutex_unlock(&mock.lock);
}

/* Consume the injected fault if it matches the call; return its error. */
static int mock_take_fault(enum mock_op op, struct device *dev,
			   struct iommu_domain *domain, unsigned int type)
{
	struct mock_fault *f = &mock.fault;
	int err = 0;

	mutex_lock(&mock.lock);
	if (f->armed && f->op == op && (!f->dev || f->dev == dev) &&
	    (!f->domain || f->domain == domain) &&
	    (f->type == MOCK_ANY_TYPE || f->type == type)) {
		f->armed = false;
		err = f->err;
	}
	mutex_unlock(&mock.lock);
	return err;
}

/**
 * mock_inject_fault() - Fail the next matching call of the core
 * @op: the callback to fail
 * @dev: only a call for this device, or NULL for any device
 * @domain: only a call for this domain, or NULL for any domain
 * @type: only a call for this domain type, or MOCK_ANY_TYPE
 * @err: the error code the callback returns
 *
 * The fault is used up by the first matching call. A fault still pending at
 * the end of a case is dropped by the fixture teardown.
 */
static void mock_inject_fault(enum mock_op op, struct device *dev,
			      struct iommu_domain *domain, unsigned int type,
			      int err)
{
	mutex_lock(&mock.lock);
	mock.fault = (struct mock_fault) {
		.armed = true,
		.op = op,
		.dev = dev,
		.domain = domain,
		.type = type,
		.err = err,
	};
	mutex_unlock(&mock.lock);
}

/* The next domain the mock allocates gets @ops instead of the default ops. */
static void mock_next_domain_ops(const struct iommu_domain_ops *ops)
{
	mutex_lock(&mock.lock);
	mock.next_domain_ops = ops;
	mutex_unlock(&mock.lock);
}

static void mock_clear_events(void)
{
	mutex_lock(&mock.lock);
	mock.nr_events = 0;
	mock.nr_lost_events = 0;
	mutex_unlock(&mock.lock);
}

/**
 * mock_count() - Count the recorded calls that match
 * @op: the callback
 * @dev: only calls for this device, or NULL for any device
 * @domain: only calls for this domain, or NULL for any domain
 * @type: only calls for this domain type, or MOCK_ANY_TYPE
 * @ok_only: only calls that succeeded
 *
 * Return: the number of matching events since the log was last cleared.
 */
static unsigned int mock_count(enum mock_op op, struct device *dev,
			       struct iommu_domain *domain, unsigned int type,
			       bool ok_only)
{
	const struct mock_event *ev;
	unsigned int n = 0;

	mutex_lock(&mock.lock);
	for (ev = mock.events; ev < mock.events + mock.nr_events; ev++) {
		if (ev->op != op || (dev && ev->dev != dev) ||
		    (domain && ev->domain != domain) ||
		    (type != MOCK_ANY_TYPE && ev->type != type) ||
		    (ok_only && ev->ret))
			continue;
		n++;
	}
	mutex_unlock(&mock.lock);
	return n;
}

/* Number of recorded calls of @op, whatever their arguments and result. */
static unsigned int mock_count_op(enum mock_op op)
{
	return mock_count(op, NULL, NULL, MOCK_ANY_TYPE, false);
}

/* Number of calls recorded since the log was last cleared. */
static unsigned int mock_nr_events(void)
{
	unsigned int n;

	mutex_lock(&mock.lock);
	n = mock.nr_events;
	mutex_unlock(&mock.lock);
	return n;
}

/* Copy event @i of the log (0 is the oldest) to @ev; false if none. */
static bool mock_event_get(unsigned int i, struct mock_event *ev)
{
	bool found = false;

	mutex_lock(&mock.lock);
	if (i < mock.nr_events) {
		*ev = mock.events[i];
		found = true;
	}
	mutex_unlock(&mock.lock);
	return found;
}

/* Copy the last recorded call of @op to @ev; false if there is none. */
static bool mock_last_event(enum mock_op op, struct mock_event *ev)
{
	bool found = false;
	unsigned int i;

	mutex_lock(&mock.lock);
	for (i = mock.nr_events; i-- > 0;) {
		if (mock.events[i].op == op) {
			*ev = mock.events[i];
			found = true;
			break;
		}
	}
	mutex_unlock(&mock.lock);
	return found;
}

/* The mock device a device of the buses is, or NULL. */
static struct mock_device *mock_find_device(struct device *dev)
{
	struct mock_device *mdev, *found = NULL;

	mutex_lock(&mock.lock);
	list_for_each_entry(mdev, &mock.devices, node) {
		if (&mdev->pdev->dev == dev) {
			found = mdev;
			break;
		}
	}
	mutex_unlock(&mock.lock);
	return found;
}

/* The domain the core last attached @mdev to, as the mock hardware sees it. */
static struct iommu_domain *mock_device_domain(struct mock_device *mdev)
{
	struct iommu_domain *domain;

	mutex_lock(&mock.lock);
	domain = mdev->domain;
	mutex_unlock(&mock.lock);
	return domain;
}

/* The slot of @pasid of @mdev, or NULL; under mock.lock. */
static struct mock_pasid *mock_pasid_slot(struct mock_device *mdev,
					  ioasid_t pasid)
{
	unsigned int i;

	lockdep_assert_held(&mock.lock);
	for (i = 0; i < ARRAY_SIZE(mdev->pasids); i++) {
		if (mdev->pasids[i].domain && mdev->pasids[i].pasid == pasid)
			return &mdev->pasids[i];
	}
	return NULL;
}

/* A slot of @mdev without a PASID, or NULL; under mock.lock. */
static struct mock_pasid *mock_free_pasid_slot(struct mock_device *mdev)
{
	unsigned int i;

	lockdep_assert_held(&mock.lock);
	for (i = 0; i < ARRAY_SIZE(mdev->pasids); i++) {
		if (!mdev->pasids[i].domain)
			return &mdev->pasids[i];
	}
	return NULL;
}

/* The domain @pasid of @mdev is attached to, as the mock hardware sees it. */
static struct iommu_domain *mock_device_pasid_domain(struct mock_device *mdev,
						     ioasid_t pasid)
{
	struct mock_pasid *slot;
	struct iommu_domain *domain;

	mutex_lock(&mock.lock);
	slot = mock_pasid_slot(mdev, pasid);
	domain = slot ? slot->domain : NULL;
	mutex_unlock(&mock.lock);
	return domain;
}

static unsigned int mock_device_drv_probes(struct mock_device *mdev)
{
	unsigned int n;

	mutex_lock(&mock.lock);
	n = mdev->nr_drv_probes;
	mutex_unlock(&mock.lock);
	return n;
}

static int mock_nr_freed_in_use(void)
{
	int n;

	mutex_lock(&mock.lock);
	n = mock.nr_freed_in_use;
	mutex_unlock(&mock.lock);
	return n;
}

/* The IOMMU driver side of the mock. */

static bool mock_domain_type_supported(unsigned int type)
{
	/*
	 * DMA API domains need CONFIG_IOMMU_DMA, which most configurations
	 * running these tests (UML) do not have; the mock devices ask for
	 * identity default domains instead.
	 */
	switch (type) {
	case IOMMU_DOMAIN_BLOCKED:
	case IOMMU_DOMAIN_IDENTITY:
	case IOMMU_DOMAIN_UNMANAGED:
		return true;
	default:
		return false;
	}
}

/*
 * A new domain for the core. Type, ops and page sizes are left to the core
 * unless a test asked for other ops (mock_next_domain_ops()).
 */
static struct mock_domain *mock_domain_new(unsigned int type)
{
	struct mock_domain *md;

	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md)
		return NULL;
	md->alloc_type = type;

	mutex_lock(&mock.lock);
	md->domain.ops = mock.next_domain_ops;
	mock.next_domain_ops = NULL;
	mock.nr_live_domains++;
	mutex_unlock(&mock.lock);
	return md;
}

static struct iommu_domain *mock_domain_alloc(unsigned int type)
{
	struct mock_domain *md = NULL;
	int err;

	err = mock_take_fault(MOCK_OP_DOMAIN_ALLOC, NULL, NULL, type);
	if (!err && !mock_domain_type_supported(type))
		err = -EOPNOTSUPP;
	if (!err) {
		md = mock_domain_new(type);
		if (!md)
			err = -ENOMEM;
	}
	mock_record(&(struct mock_event) {
		.op = MOCK_OP_DOMAIN_ALLOC,
		.domain = md ? &md->domain : NULL,
		.type = type,
		.ret = err,
	});
	return md ? &md->domain : NULL;
}

static const struct iommu_domain_ops mock_nested_ops;

/*
 * The full driver's domain_alloc_user(): a paging domain, left for the core
 * to complete, or a nested domain on @parent with its own ops. Flags and data
 * are only recorded; the tests check what the core passes through.
 */
static struct iommu_domain *
mock_domain_alloc_user(struct device *dev, u32 flags,
		       struct iommu_domain *parent,
		       const struct iommu_user_data *user_data)
{
	unsigned int type = parent ? IOMMU_DOMAIN_NESTED :
				     IOMMU_DOMAIN_UNMANAGED;
	struct mock_domain *md = NULL;
	int err;

	err = mock_take_fault(MOCK_OP_DOMAIN_ALLOC_USER, dev, NULL, type);
	if (!err) {
		md = mock_domain_new(type);
		if (!md)
			err = -ENOMEM;
		else if (parent && !md->domain.ops)
			md->domain.ops = &mock_nested_ops;
	}
	mock_record(&(struct mock_event) {
		.op = MOCK_OP_DOMAIN_ALLOC_USER,
		.dev = dev,
		.domain = md ? &md->domain : NULL,
		.type = type,
		.flags = flags,
		.parent = parent,
		.user_data = user_data,
		.ret = err,
	});
	return md ? &md->domain : ERR_PTR(err);
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_domain *md = container_of(domain, struct mock_domain,
					      domain);
	struct mock_device *mdev;
	unsigned int i;

	mock_record(&(struct mock_event) {
		.op = MOCK_OP_DOMAIN_FREE,
		.domain = domain,
		.type = md->alloc_type,
	});

	mutex_lock(&mock.lock);
	/* The core promises that nothing uses a domain it frees */
	list_for_each_entry(mdev, &mock.devices, node) {
		if (!mdev->probed)
			continue;
		if (mdev->domain == domain)
			mock.nr_freed_in_use++;
		for (i = 0; i < ARRAY_SIZE(mdev->pasids); i++) {
			if (mdev->pasids[i].domain == domain)
				mock.nr_freed_in_use++;
		}
	}
	mock.nr_live_domains--;
	mutex_unlock(&mock.lock);
	kfree(md);
}

static int mock_attach_dev(struct iommu_domain *domain, struct device *dev)
{
	struct mock_device *mdev = dev_iommu_priv_get(dev);
	int err;

	err = mock_take_fault(MOCK_OP_ATTACH_DEV, dev, domain, domain->type);
	if (!err) {
		mutex_lock(&mock.lock);
		mdev->domain = domain;
		mutex_unlock(&mock.lock);
	}
	mock_record(&(struct mock_event) {
		.op = MOCK_OP_ATTACH_DEV,
		.dev = dev,
		.domain = domain,
		.type = domain->type,
		.ret = err,
	});
	return err;
}

static void mock_detach_dev(struct iommu_domain *domain, struct device *dev)
{
	struct mock_device *mdev = dev_iommu_priv_get(dev);

	mutex_lock(&mock.lock);
	if (mdev->domain == domain)
		mdev->domain = NULL;
	mutex_unlock(&mock.lock);
	mock_record(&(struct mock_event) {
		.op = MOCK_OP_DETACH_DEV,
		.dev = dev,
		.domain = domain,
		.type = domain->type,
	});
}

static int mock_set_dev_pasid(struct iommu_domain *domain, struct device *dev,
			      ioasid_t pasid)
{
	struct mock_device *mdev = dev_iommu_priv_get(dev);
	struct mock_pasid *slot;
	int err;

	err = mock_take_fault(MOCK_OP_SET_DEV_PASID, dev, domain, domain->type);
	if (!err) {
		mutex_lock(&mock.lock);
		if (mock_pasid_slot(mdev, pasid)) {
			/* The core gives a PASID one domain at a time */
			mock.nr_bad_pasid_calls++;
			err = -EBUSY;
		} else {
			slot = mock_free_pasid_slot(mdev);
			if (slot) {
				slot->pasid = pasid;
				slot->domain = domain;
			} else {
				err = -ENOSPC;
			}
		}
		mutex_unlock(&mock.lock);
	}
	mock_record(&(struct mock_event) {
		.op = MOCK_OP_SET_DEV_PASID,
		.dev = dev,
		.domain = domain,
		.type = domain->type,
		.pasid = pasid,
		.ret = err,
	});
	return err;
}

static void mock_remove_dev_pasid(struct device *dev, ioasid_t pasid,
				  struct iommu_domain *domain)
{
	struct mock_device *mdev = dev_iommu_priv_get(dev);
	struct mock_pasid *slot;

	mutex_lock(&mock.lock);
	slot = mock_pasid_slot(mdev, pasid);
	if (slot && slot->domain == domain)
		slot->domain = NULL;
	else
		mock.nr_bad_pasid_calls++;
	mutex_unlock(&mock.lock);
	mock_record(&(struct mock_event) {
		.op = MOCK_OP_REMOVE_DEV_PASID,
		.dev = dev,
		.domain = domain,
		.type = domain->type,
		.pasid = pasid,
	});
}

static void *mock_hw_info(struct device *dev, u32 *length, u32 *type)
{
	struct mock_hw_info *info = NULL;
	int err;

	/* A driver may fill in the outputs before it fails */
	*length = sizeof(*info);
	*type = MOCK_HW_INFO_TYPE;

	err = mock_take_fault(MOCK_OP_HW_INFO, dev, NULL, MOCK_ANY_TYPE);
	if (!err) {
		info = kzalloc(sizeof(*info), GFP_KERNEL);
		if (!info)
			err = -ENOMEM;
	}
	if (info) {
		info->magic = MOCK_HW_INFO_MAGIC;
		info->nr_pasids = MOCK_MAX_PASIDS;
	}
	mock_record(&(struct mock_event) {
		.op = MOCK_OP_HW_INFO,
		.dev = dev,
		.type = MOCK_ANY_TYPE,
		.ret = err,
	});
	return info ?: ERR_PTR(err);
}

static struct iommu_device *mock_probe_device(struct device *dev)
{
	struct mock_device *mdev = mock_find_device(dev);

	/* Devices on the buses that no test created are not ours. */
	if (!mdev)
		return ERR_PTR(-ENODEV);

	dev_iommu_priv_set(dev, mdev);
	mutex_lock(&mock.lock);
	mdev->probed = true;
	mock.nr_probed_devices++;
	mutex_unlock(&mock.lock);
	mock_record(&(struct mock_event) {
		.op = MOCK_OP_PROBE_DEVICE,
		.dev = dev,
		.type = MOCK_ANY_TYPE,
	});
	return mdev->full_ops ? &mock.full_iommu : &mock.iommu;
}

static void mock_release_device(struct device *dev)
{
	struct mock_device *mdev = dev_iommu_priv_get(dev);

	mutex_lock(&mock.lock);
	mdev->probed = false;
	mdev->domain = NULL;
	memset(mdev->pasids, 0, sizeof(mdev->pasids));
	mock.nr_probed_devices--;
	mutex_unlock(&mock.lock);
	mock_record(&(struct mock_event) {
		.op = MOCK_OP_RELEASE_DEVICE,
		.dev = dev,
		.type = MOCK_ANY_TYPE,
	});
}

static struct iommu_group *mock_device_group(struct device *dev)
{
	struct mock_device *mdev = dev_iommu_priv_get(dev);
	struct iommu_group *group;

	if (!mdev->group_with)
		return iommu_group_alloc();

	group = iommu_group_get(&mdev->group_with->pdev->dev);
	return group ?: ERR_PTR(-ENODEV);
}

static int mock_def_domain_type(struct device *dev)
{
	struct mock_device *mdev = dev_iommu_priv_get(dev);

	return mdev->def_domain_type;
}

/* The reserved region the test gave the device, if any */
static void mock_get_resv_regions(struct device *dev, struct list_head *head)
{
	struct mock_device *mdev = dev_iommu_priv_get(dev);
	struct iommu_resv_region *region;

	if (mdev->resv_type == MOCK_NO_RESV)
		return;
	region = iommu_alloc_resv_region(MOCK_RESV_START, MOCK_RESV_LENGTH,
					 IOMMU_READ | IOMMU_WRITE,
					 mdev->resv_type, GFP_KERNEL);
	if (region)
		list_add_tail(&region->list, head);
}

/* The ops of every domain, unless a test asks for others */
static const struct iommu_domain_ops mock_domain_ops = {
	.attach_dev = mock_attach_dev,
	.detach_dev = mock_detach_dev,
	.set_dev_pasid = mock_set_dev_pasid,
	.free = mock_domain_free,
};

/* Domains whose hardware cannot translate the DMA of single PASIDs */
static const struct iommu_domain_ops mock_domain_nopasid_ops = {
	.attach_dev = mock_attach_dev,
	.detach_dev = mock_detach_dev,
	.free = mock_domain_free,
};

/* Nested domains: the core gives no default ops to those */
static const struct iommu_domain_ops mock_nested_ops = {
	.attach_dev = mock_attach_dev,
	.detach_dev = mock_detach_dev,
	.free = mock_domain_free,
};

/* A driver with the ops of 6.1: the ops of the buses */
static const struct iommu_ops mock_iommu_ops = {
	.domain_alloc = mock_domain_alloc,
	.probe_device = mock_probe_device,
	.release_device = mock_release_device,
	.device_group = mock_device_group,
	.def_domain_type = mock_def_domain_type,
	.get_resv_regions = mock_get_resv_regions,
	.default_domain_ops = &mock_domain_ops,
	.pgsize_bitmap = SZ_4K,
	.owner = THIS_MODULE,
};

/* The same driver with the driver ops the series adds */
static const struct iommu_ops mock_iommu_full_ops = {
	.domain_alloc = mock_domain_alloc,
	.probe_device = mock_probe_device,
	.release_device = mock_release_device,
	.device_group = mock_device_group,
	.def_domain_type = mock_def_domain_type,
	.get_resv_regions = mock_get_resv_regions,
	.hw_info = mock_hw_info,
	.domain_alloc_user = mock_domain_alloc_user,
	.remove_dev_pasid = mock_remove_dev_pasid,
	.default_domain_ops = &mock_domain_ops,
	.pgsize_bitmap = SZ_4K,
	.owner = THIS_MODULE,
};

/*
 * The buses iommu_device_register() gives the ops to: the iommu_buses[] list
 * of the 6.1 core, which is not visible from here.
 */
static struct bus_type * const mock_buses[] = {
	&platform_bus_type,
#ifdef CONFIG_PCI
	&pci_bus_type,
#endif
#ifdef CONFIG_ARM_AMBA
	&amba_bustype,
#endif
#ifdef CONFIG_FSL_MC_BUS
	&fsl_mc_bus_type,
#endif
#ifdef CONFIG_TEGRA_HOST1X_CONTEXT_BUS
	&host1x_context_device_bus_type,
#endif
};

/**
 * mock_iommu_register() - Register the mock IOMMU with the core
 *
 * The 6.1 core probes devices and allocates domains for iommu_domain_alloc()
 * with the ops of the bus; everything else, and everything this series adds,
 * goes through the ops of the device's IOMMU instance (dev_iommu_ops()).
 * The full flavour is a second instance whose ops differ from the buses' only
 * in the added ops: probe_device() returns it for the devices that ask for
 * it. It is not registered with iommu_device_register(), which refuses ops
 * other than the buses'; it only gets its sysfs device, for the links the
 * core makes to each device it probes.
 *
 * Return: 0 on success, -EBUSY if another IOMMU driver owns the buses, or
 * another error code.
 */
static int mock_iommu_register(void)
{
	int ret;

	ret = iommu_device_sysfs_add(&mock.iommu, NULL, NULL, "iommu-kunit");
	if (ret)
		return ret;
	ret = iommu_device_sysfs_add(&mock.full_iommu, NULL, NULL,
				     "iommu-kunit-full");
	if (ret)
		goto err_sysfs;
	mock.full_iommu.ops = &mock_iommu_full_ops;

	ret = iommu_device_register(&mock.iommu, &mock_iommu_ops, NULL);
	if (ret)
		goto err_full_sysfs;
	mock.registered = true;
	return 0;

err_full_sysfs:
	iommu_device_sysfs_remove(&mock.full_iommu);
err_sysfs:
	iommu_device_sysfs_remove(&mock.iommu);
	return ret;
}

/**
 * mock_iommu_unregister() - Undo mock_iommu_register()
 *
 * iommu_device_unregister() of 6.1 leaves the ops installed on the buses,
 * and nothing else takes them away. Once no device uses the mock any more,
 * take them away here: a test module must not leave pointers to its text
 * behind when it is unloaded, and a later suite or a reload of the module
 * must be able to register again.
 */
static void mock_iommu_unregister(void)
{
	int i;

	if (!mock.registered)
		return;

	iommu_device_unregister(&mock.iommu);
	iommu_device_sysfs_remove(&mock.full_iommu);
	iommu_device_sysfs_remove(&mock.iommu);
	for (i = 0; i < ARRAY_SIZE(mock_buses); i++) {
		if (mock_buses[i]->iommu_ops == &mock_iommu_ops)
			mock_buses[i]->iommu_ops = NULL;
	}
	mock.registered = false;
}

/* 2. The mock platform drivers and devices */

static int mock_drv_probe(struct platform_device *pdev)
{
	struct mock_device *mdev = mock_find_device(&pdev->dev);

	if (!mdev)
		return -ENODEV;

	mutex_lock(&mock.lock);
	mdev->nr_drv_probes++;
	mutex_unlock(&mock.lock);
	return 0;
}

static void mock_drv_remove(struct platform_device *pdev)
{
	struct mock_device *mdev = mock_find_device(&pdev->dev);

	if (!mdev)
		return;

	mutex_lock(&mock.lock);
	mdev->nr_drv_removes++;
	mutex_unlock(&mock.lock);
}

/*
 * The device names never match the driver names: drivers only bind when a
 * test binds them.
 */
#define MOCK_DEVICE_NAME	"iommu-kunit-dev"
/* A device no IOMMU translates: the mock refuses to probe it */
#define PLAIN_DEVICE_NAME	"iommu-kunit-plain"

/* Does DMA through the kernel DMA API: the usual kernel driver. */
static struct platform_driver mock_dma_driver = {
	.probe = mock_drv_probe,
	.remove_new = mock_drv_remove,
	.driver = {
		.name = "iommu-kunit-dma-drv",
	},
};

/* Manages DMA itself, for example a VFIO driver. */
static struct platform_driver mock_managed_driver = {
	.probe = mock_drv_probe,
	.remove_new = mock_drv_remove,
	.driver = {
		.name = "iommu-kunit-managed-drv",
	},
	.driver_managed_dma = true,
};

static int mock_bind(struct mock_device *mdev, struct platform_driver *drv)
{
	return device_driver_attach(&drv->driver, &mdev->pdev->dev);
}

static void mock_unbind(struct mock_device *mdev)
{
	device_release_driver(&mdev->pdev->dev);
}

static bool mock_bound_to(struct mock_device *mdev,
			  struct platform_driver *drv)
{
	return READ_ONCE(mdev->pdev->dev.driver) == &drv->driver;
}

/**
 * mock_device_add_resv() - Create a platform device the mock IOMMU translates
 * @test: the test case
 * @group_with: share the group of this mock device, or NULL for a new group
 * @full_ops: put the device behind the IOMMU instance with the full ops;
 *	ignored with @group_with, whose instance the device shares
 * @resv_type: the type of the reserved region the mock reports for the
 *	device (enum iommu_resv_type), or MOCK_NO_RESV
 *
 * The device is registered with the driver core, which makes the IOMMU core
 * probe it: it gets into its group and is attached to the group's domain.
 * No driver is bound.
 *
 * Return: the mock device, or NULL on failure (the case failed already).
 */
static struct mock_device *mock_device_add_resv(struct kunit *test,
						struct mock_device *group_with,
						bool full_ops, int resv_type)
{
	struct mock_device *mdev;
	int ret;

	mdev = kunit_kzalloc(test, sizeof(*mdev), GFP_KERNEL);
	if (!mdev) {
		KUNIT_FAIL(test, "out of memory");
		return NULL;
	}
	mdev->group_with = group_with;
	mdev->full_ops = group_with ? group_with->full_ops : full_ops;
	mdev->def_domain_type = IOMMU_DOMAIN_IDENTITY;
	mdev->resv_type = resv_type;

	mdev->pdev = platform_device_alloc(MOCK_DEVICE_NAME,
					   PLATFORM_DEVID_AUTO);
	if (!mdev->pdev) {
		KUNIT_FAIL(test, "platform_device_alloc() failed");
		return NULL;
	}

	/* Known to the mock before the bus notifier makes the core probe it */
	mutex_lock(&mock.lock);
	list_add_tail(&mdev->node, &mock.devices);
	mutex_unlock(&mock.lock);

	ret = platform_device_add(mdev->pdev);
	if (ret) {
		mutex_lock(&mock.lock);
		list_del(&mdev->node);
		mutex_unlock(&mock.lock);
		platform_device_put(mdev->pdev);
		KUNIT_FAIL(test, "platform_device_add() failed: %d", ret);
		return NULL;
	}
	return mdev;
}

/* A mock device without a reserved region: see mock_device_add_resv(). */
static struct mock_device *mock_device_add(struct kunit *test,
					   struct mock_device *group_with,
					   bool full_ops)
{
	return mock_device_add_resv(test, group_with, full_ops, MOCK_NO_RESV);
}

/*
 * Unregister a mock device: unbinds its driver, and makes the IOMMU core
 * release it and take it out of its group.
 */
static void mock_device_remove(struct mock_device *mdev)
{
	platform_device_unregister(mdev->pdev);
	mutex_lock(&mock.lock);
	list_del(&mdev->node);
	mutex_unlock(&mock.lock);
}

/* 3. The fixture and the checks the suites share */

#define FX_MAX_DOMAINS		4
#define FX_MAX_PASIDS		4

/**
 * struct fx_pasid - A PASID a case attached through the fixture
 * @dev: the device
 * @pasid: the PASID
 * @domain: the domain attached to it; NULL for an unused entry
 */
struct fx_pasid {
	struct device *dev;
	ioasid_t pasid;
	struct iommu_domain *domain;
};

/**
 * struct mock_fixture - The devices of one test case and what it set up
 * @mdev: the mock devices, all in @group; @mdev[@nr_devs - 1] is the one the
 *	cases bind drivers to
 * @nr_devs: number of devices in @mdev
 * @group: the group of the devices; the fixture holds a reference
 * @default_domain: the domain the group was on after the devices were added
 * @claimed: the fixture claimed DMA ownership of @group and did not release
 *	it yet
 * @dev_claimed: DMA ownership of @mdev[i] is claimed (by any owner) and not
 *	released yet
 * @domains: domains the case allocated and did not free yet
 * @pasids: PASIDs the case attached and did not detach yet
 *
 * The exit of the suites undoes what is left, in the order a user of the
 * core would: PASIDs, the group's attachment, the claims, the domains.
 */
struct mock_fixture {
	struct mock_device *mdev[MOCK_MAX_GROUP_DEVS];
	unsigned int nr_devs;
	struct iommu_group *group;
	struct iommu_domain *default_domain;
	bool claimed;
	bool dev_claimed[MOCK_MAX_GROUP_DEVS];
	struct iommu_domain *domains[FX_MAX_DOMAINS];
	struct fx_pasid pasids[FX_MAX_PASIDS];
};

static struct mock_device *fx_target(struct mock_fixture *fx)
{
	return fx->mdev[fx->nr_devs - 1];
}

static struct device *fx_dev(struct mock_fixture *fx, unsigned int i)
{
	return &fx->mdev[i]->pdev->dev;
}

/**
 * mock_fixture_init() - Set up a test case with one group of devices
 * @test: the test case
 * @nr_devs: number of devices in the group
 * @full_ops: the devices are behind the IOMMU instance with the full ops
 *
 * Skips the case if the mock IOMMU could not be registered. Checks that the
 * core probed the devices into one group, allocated one identity default
 * domain for it and attached each device to it, then clears the event log so
 * the case sees only its own calls.
 *
 * Return: 0 (failures abort the case).
 */
static int mock_fixture_init(struct kunit *test, unsigned int nr_devs,
			     bool full_ops)
{
	struct mock_fixture *fx;
	struct iommu_group *group;
	unsigned int i;

	if (!mock.registered)
		kunit_skip(test, "another IOMMU driver owns the buses");

	mutex_lock(&mock.lock);
	mock.nr_freed_in_use = 0;
	mock.nr_bad_pasid_calls = 0;
	mutex_unlock(&mock.lock);
	mock_clear_events();
	fx = kunit_kzalloc(test, sizeof(*fx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fx);
	test->priv = fx;

	for (i = 0; i < nr_devs; i++) {
		fx->mdev[i] = mock_device_add(test, i ? fx->mdev[0] : NULL,
					      full_ops);
		KUNIT_ASSERT_NOT_NULL(test, fx->mdev[i]);
		fx->nr_devs++;
	}

	fx->group = iommu_group_get(fx_dev(fx, 0));
	KUNIT_ASSERT_NOT_NULL_MSG(test, fx->group, "device not in a group");
	fx->default_domain = iommu_get_domain_for_dev(fx_dev(fx, 0));
	KUNIT_ASSERT_NOT_NULL(test, fx->default_domain);
	KUNIT_ASSERT_EQ(test, fx->default_domain->type, IOMMU_DOMAIN_IDENTITY);

	/*
	 * One default domain for the group, attached to each device. 6.1
	 * attaches a device that joins an existing group twice (in
	 * iommu_group_add_device() and in iommu_probe_device()); the count is
	 * not pinned.
	 */
	KUNIT_ASSERT_EQ(test, mock_count(MOCK_OP_DOMAIN_ALLOC, NULL, NULL,
					 MOCK_ANY_TYPE, true), 1);
	for (i = 0; i < nr_devs; i++) {
		group = iommu_group_get(fx_dev(fx, i));
		KUNIT_ASSERT_PTR_EQ(test, group, fx->group);
		iommu_group_put(group);
		KUNIT_ASSERT_EQ(test, mock_count(MOCK_OP_PROBE_DEVICE,
						 fx_dev(fx, i), NULL,
						 MOCK_ANY_TYPE, true), 1);
		KUNIT_ASSERT_GE(test, mock_count(MOCK_OP_ATTACH_DEV,
						 fx_dev(fx, i),
						 fx->default_domain,
						 MOCK_ANY_TYPE, true), 1);
		KUNIT_ASSERT_PTR_EQ(test, mock_device_domain(fx->mdev[i]),
				    fx->default_domain);
	}

	mock_clear_events();
	return 0;
}

static bool fx_owns_domain(struct mock_fixture *fx,
			   struct iommu_domain *domain)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fx->domains); i++) {
		if (domain && fx->domains[i] == domain)
			return true;
	}
	return false;
}

/**
 * mock_fixture_exit() - Tear down what mock_fixture_init() and the case set up
 * @test: the test case
 *
 * Detaches the PASIDs and the domain the case left attached, releases the
 * DMA ownership it left claimed, frees its domains, drops the group
 * reference, unregisters the devices (unbinding their drivers), then checks
 * that the core released every device and freed every domain, and that the
 * mock saw no broken promise: nothing leaks from one case into the next.
 */
static void mock_fixture_exit(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *domain;
	int probed, live, freed_in_use, bad_pasid_calls;
	unsigned int i, lost;

	if (!fx)
		return;

	/* A fault the case armed but did not use must not hit the teardown */
	mutex_lock(&mock.lock);
	mock.fault.armed = false;
	mock.next_domain_ops = NULL;
	mutex_unlock(&mock.lock);

	for (i = 0; i < ARRAY_SIZE(fx->pasids); i++) {
		if (fx->pasids[i].domain)
			iommu_detach_device_pasid(fx->pasids[i].domain,
						  fx->pasids[i].dev,
						  fx->pasids[i].pasid);
	}
	if (fx->group) {
		domain = iommu_get_domain_for_dev(fx_dev(fx, 0));
		if (fx_owns_domain(fx, domain))
			iommu_detach_group(domain, fx->group);
	}
	for (i = 0; i < fx->nr_devs; i++) {
		if (fx->dev_claimed[i])
			iommu_device_release_dma_owner(fx_dev(fx, i));
	}
	if (fx->claimed)
		iommu_group_release_dma_owner(fx->group);
	/* Nested domains were allocated after their parents */
	for (i = ARRAY_SIZE(fx->domains); i-- > 0;) {
		if (fx->domains[i])
			iommu_domain_free(fx->domains[i]);
	}
	if (fx->group)
		iommu_group_put(fx->group);
	for (i = fx->nr_devs; i-- > 0;)
		mock_device_remove(fx->mdev[i]);

	mutex_lock(&mock.lock);
	probed = mock.nr_probed_devices;
	live = mock.nr_live_domains;
	lost = mock.nr_lost_events;
	freed_in_use = mock.nr_freed_in_use;
	bad_pasid_calls = mock.nr_bad_pasid_calls;
	mutex_unlock(&mock.lock);

	KUNIT_EXPECT_EQ_MSG(test, probed, 0,
			    "devices not released by the core");
	KUNIT_EXPECT_EQ_MSG(test, live, 0, "domains not freed by the core");
	KUNIT_EXPECT_EQ_MSG(test, lost, 0, "event log too small");
	KUNIT_EXPECT_EQ_MSG(test, freed_in_use, 0,
			    "domains freed while a device or PASID used them");
	KUNIT_EXPECT_EQ_MSG(test, bad_pasid_calls, 0,
			    "PASID calls not matching the PASID's state");
}

/* Claim the whole group, as 6.1's VFIO does. */
static int fx_claim(struct mock_fixture *fx)
{
	int ret = iommu_group_claim_dma_owner(fx->group, fx);

	if (!ret)
		fx->claimed = true;
	return ret;
}

static void fx_release(struct mock_fixture *fx)
{
	iommu_group_release_dma_owner(fx->group);
	fx->claimed = false;
}

/* Claim device @i for @owner, as binding it to iommufd does. */
static int fx_claim_dev(struct mock_fixture *fx, unsigned int i, void *owner)
{
	int ret = iommu_device_claim_dma_owner(fx_dev(fx, i), owner);

	if (!ret)
		fx->dev_claimed[i] = true;
	return ret;
}

static void fx_release_dev(struct mock_fixture *fx, unsigned int i)
{
	iommu_device_release_dma_owner(fx_dev(fx, i));
	fx->dev_claimed[i] = false;
}

/* Claim every device of the group for the fixture. */
static void fx_claim_every_dev(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	unsigned int i;

	for (i = 0; i < fx->nr_devs; i++)
		KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, i, fx), 0);
}

/* Free @domain with the rest of the case, unless the case frees it. */
static void fx_keep_domain(struct kunit *test, struct iommu_domain *domain)
{
	struct mock_fixture *fx = test->priv;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fx->domains); i++) {
		if (!fx->domains[i]) {
			fx->domains[i] = domain;
			return;
		}
	}
	iommu_domain_free(domain);
	KUNIT_ASSERT_FAILURE(test, "more than %d domains", FX_MAX_DOMAINS);
}

/* A new paging domain, as 6.1's VFIO type1 allocates them. */
static struct iommu_domain *fx_alloc_domain(struct kunit *test)
{
	struct iommu_domain *domain;

	domain = iommu_domain_alloc(&platform_bus_type);
	KUNIT_ASSERT_NOT_NULL(test, domain);
	fx_keep_domain(test, domain);
	return domain;
}

static void fx_free_domain(struct mock_fixture *fx,
			   struct iommu_domain *domain)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fx->domains); i++) {
		if (fx->domains[i] == domain)
			fx->domains[i] = NULL;
	}
	iommu_domain_free(domain);
}

/* Attach @domain to @pasid of the first device; detached by the exit. */
static int fx_attach_pasid(struct kunit *test, struct iommu_domain *domain,
			   ioasid_t pasid)
{
	struct mock_fixture *fx = test->priv;
	struct fx_pasid *slot = NULL;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(fx->pasids) && !slot; i++) {
		if (!fx->pasids[i].domain)
			slot = &fx->pasids[i];
	}
	KUNIT_ASSERT_NOT_NULL(test, slot);

	ret = iommu_attach_device_pasid(domain, fx_dev(fx, 0), pasid);
	if (!ret)
		*slot = (struct fx_pasid) {
			.dev = fx_dev(fx, 0),
			.pasid = pasid,
			.domain = domain,
		};
	return ret;
}

static void fx_detach_pasid(struct mock_fixture *fx,
			    struct iommu_domain *domain, ioasid_t pasid)
{
	unsigned int i;

	iommu_detach_device_pasid(domain, fx_dev(fx, 0), pasid);
	for (i = 0; i < ARRAY_SIZE(fx->pasids); i++) {
		if (fx->pasids[i].domain == domain &&
		    fx->pasids[i].pasid == pasid)
			fx->pasids[i].domain = NULL;
	}
}

/* Every device of the group is on @domain, for the core and the mock. */
static void expect_group_on(struct kunit *test, struct mock_fixture *fx,
			    struct iommu_domain *domain)
{
	unsigned int i;

	for (i = 0; i < fx->nr_devs; i++) {
		KUNIT_EXPECT_PTR_EQ(test,
				    iommu_get_domain_for_dev(fx_dev(fx, i)),
				    domain);
		KUNIT_EXPECT_PTR_EQ(test, mock_device_domain(fx->mdev[i]),
				    domain);
	}
}

/* Every device of the group is on the group's blocking domain. */
static void expect_group_blocked(struct kunit *test, struct mock_fixture *fx)
{
	struct iommu_domain *domain;
	unsigned int i;

	for (i = 0; i < fx->nr_devs; i++) {
		domain = iommu_get_domain_for_dev(fx_dev(fx, i));
		KUNIT_ASSERT_NOT_NULL(test, domain);
		KUNIT_EXPECT_EQ(test, domain->type, IOMMU_DOMAIN_BLOCKED);
		KUNIT_EXPECT_PTR_EQ(test, mock_device_domain(fx->mdev[i]),
				    domain);
	}
}

/* Every device of the group is on the default domain it started on. */
static void expect_group_default(struct kunit *test, struct mock_fixture *fx)
{
	expect_group_on(test, fx, fx->default_domain);
}

/* The core did not change any device's domain since the log was cleared. */
static void expect_no_domain_change(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_ATTACH_DEV), 0);
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_DETACH_DEV), 0);
}

/* No call of the core since the log was cleared involved @domain. */
static void expect_no_call_on(struct kunit *test, struct iommu_domain *domain)
{
	KUNIT_EXPECT_EQ(test, mock_count(MOCK_OP_ATTACH_DEV, NULL, domain,
					 MOCK_ANY_TYPE, false), 0);
	KUNIT_EXPECT_EQ(test, mock_count(MOCK_OP_DETACH_DEV, NULL, domain,
					 MOCK_ANY_TYPE, false), 0);
}

/* Expected calls for expect_calls() */

static struct mock_event call_attach(struct device *dev,
				     struct iommu_domain *domain, int ret)
{
	return (struct mock_event) {
		.op = MOCK_OP_ATTACH_DEV,
		.dev = dev,
		.domain = domain,
		.type = domain->type,
		.ret = ret,
	};
}

/* An attach to a domain the case has no pointer to, by its type */
static struct mock_event call_attach_type(struct device *dev,
					  unsigned int type, int ret)
{
	return (struct mock_event) {
		.op = MOCK_OP_ATTACH_DEV,
		.dev = dev,
		.type = type,
		.ret = ret,
	};
}

static struct mock_event call_set_pasid(struct device *dev,
					struct iommu_domain *domain,
					ioasid_t pasid, int ret)
{
	return (struct mock_event) {
		.op = MOCK_OP_SET_DEV_PASID,
		.dev = dev,
		.domain = domain,
		.type = domain->type,
		.pasid = pasid,
		.ret = ret,
	};
}

static struct mock_event call_remove_pasid(struct device *dev,
					   struct iommu_domain *domain,
					   ioasid_t pasid)
{
	return (struct mock_event) {
		.op = MOCK_OP_REMOVE_DEV_PASID,
		.dev = dev,
		.domain = domain,
		.type = domain->type,
		.pasid = pasid,
	};
}

static bool call_matches(const struct mock_event *ev,
			 const struct mock_event *want)
{
	if (ev->op != want->op || ev->dev != want->dev ||
	    ev->pasid != want->pasid || ev->ret != want->ret)
		return false;
	if (want->domain)
		return ev->domain == want->domain;
	return ev->type == want->type;
}

static void call_describe(const struct mock_event *ev, char *buf, size_t len)
{
	snprintf(buf, len, "%s(%s, domain type %u, pasid %u) = %d",
		 mock_op_names[ev->op], ev->dev ? dev_name(ev->dev) : "-",
		 ev->type, ev->pasid, ev->ret);
}

/**
 * expect_calls() - Check the calls of some ops since the log was cleared
 * @test: the test case
 * @ops: the ops to look at, a mask of BIT(MOCK_OP_*); calls of other ops
 *	are not checked
 * @want: the calls expected, in order (see call_attach() and friends)
 * @n: the number of calls expected
 *
 * The calls of @ops the core made must be exactly @want: same op, device,
 * domain (or domain type, when @want has no domain), PASID and result.
 */
static void expect_calls(struct kunit *test, unsigned long ops,
			 const struct mock_event *want, unsigned int n)
{
	char got_str[96], want_str[96];
	struct mock_event ev;
	unsigned int i, seen = 0;

	for (i = 0; mock_event_get(i, &ev); i++) {
		if (!(ops & BIT(ev.op)))
			continue;
		if (seen < n && !call_matches(&ev, &want[seen])) {
			call_describe(&ev, got_str, sizeof(got_str));
			call_describe(&want[seen], want_str, sizeof(want_str));
			KUNIT_FAIL(test, "call %u: %s, expected %s", seen,
				   got_str, want_str);
		}
		seen++;
	}
	KUNIT_EXPECT_EQ_MSG(test, seen, n, "number of calls");
}

/*
 * Attaching the blocking domain failed on device @failed: the devices before
 * it had moved and must be back on the default domain, with one attach each,
 * and so is @failed (drivers that detach before attaching leave it
 * detached); the devices after it were not touched.
 */
static void expect_blocking_attach_unwound(struct kunit *test,
					   struct mock_fixture *fx,
					   unsigned int failed, int err)
{
	struct mock_event want[2 * MOCK_MAX_GROUP_DEVS];
	unsigned int i, n = 0;

	for (i = 0; i < failed; i++)
		want[n++] = call_attach_type(fx_dev(fx, i),
					     IOMMU_DOMAIN_BLOCKED, 0);
	want[n++] = call_attach_type(fx_dev(fx, failed), IOMMU_DOMAIN_BLOCKED,
				     err);
	for (i = 0; i <= failed; i++)
		want[n++] = call_attach(fx_dev(fx, i), fx->default_domain, 0);
	expect_calls(test, MOCK_DOMAIN_CHANGES, want, n);
	expect_group_default(test, fx);
}

static int mock_suite_init(struct kunit_suite *suite)
{
	int ret;

	ret = platform_driver_register(&mock_dma_driver);
	if (ret)
		return ret;
	ret = platform_driver_register(&mock_managed_driver);
	if (ret)
		goto err_dma_driver;

	ret = mock_iommu_register();
	/* -EBUSY: a real IOMMU driver owns the buses, the cases skip */
	if (ret && ret != -EBUSY)
		goto err_managed_driver;
	return 0;

err_managed_driver:
	platform_driver_unregister(&mock_managed_driver);
err_dma_driver:
	platform_driver_unregister(&mock_dma_driver);
	return ret;
}

static void mock_suite_exit(struct kunit_suite *suite)
{
	mock_iommu_unregister();
	platform_driver_unregister(&mock_managed_driver);
	platform_driver_unregister(&mock_dma_driver);
}

/* Fixtures of the suites: devices of the 6.1 driver, or of the full one */

static int one_device_init(struct kunit *test)
{
	return mock_fixture_init(test, 1, false);
}

static int two_devices_init(struct kunit *test)
{
	return mock_fixture_init(test, 2, false);
}

static int three_devices_init(struct kunit *test)
{
	return mock_fixture_init(test, 3, false);
}

static int one_full_device_init(struct kunit *test)
{
	return mock_fixture_init(test, 1, true);
}

/* 4. The suites */

/*
 * Group DMA ownership of 6.1 (iommu_group_claim_dma_owner() and the driver
 * core accounting of DMA API drivers): these cases pin down its behaviour
 * so the per-device ownership rework keeps it. The exception is a claim
 * failing on a later device of the group, which 6.1 left half done
 * (claim_fails_when_last_blocking_attach_fails).
 */

static void devices_start_on_default_domain(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	/* mock_fixture_init() checked the probe calls; check the state */
	expect_group_default(test, fx);
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void claim_without_driver_moves_to_blocking(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);

	expect_group_blocked(test, fx);
	KUNIT_EXPECT_EQ(test, mock_count(MOCK_OP_DOMAIN_ALLOC, NULL, NULL,
					 IOMMU_DOMAIN_BLOCKED, true), 1);
	for (i = 0; i < fx->nr_devs; i++)
		KUNIT_EXPECT_EQ(test,
				mock_count(MOCK_OP_ATTACH_DEV, fx_dev(fx, i),
					   NULL, IOMMU_DOMAIN_BLOCKED, true),
				1);
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_DOMAIN_FREE), 0);
}

static void claim_with_dma_driver_bound_fails_eperm(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver), 0);
	mock_clear_events();

	/* 6.1 refuses any claim while owner_cnt is held, with -EPERM */
	KUNIT_EXPECT_EQ(test, fx_claim(fx), -EPERM);

	expect_group_default(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_DOMAIN_ALLOC), 0);
	KUNIT_EXPECT_TRUE(test, mock_bound_to(fx_target(fx), &mock_dma_driver));
}

static void claim_with_managed_driver_bound_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, mock_bind(fx_target(fx), &mock_managed_driver),
			0);

	KUNIT_EXPECT_EQ(test, fx_claim(fx), 0);

	expect_group_blocked(test, fx);
	KUNIT_EXPECT_TRUE(test, mock_bound_to(fx_target(fx),
					      &mock_managed_driver));
}

static void claim_twice_fails_eperm(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	int other_owner;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test,
			iommu_group_claim_dma_owner(fx->group, &other_owner),
			-EPERM);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void dma_driver_bind_while_claimed_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver),
			-EBUSY);

	/* Refused in dma_configure(), before the driver's probe */
	KUNIT_EXPECT_NULL(test, fx_target(fx)->pdev->dev.driver);
	KUNIT_EXPECT_EQ(test, mock_device_drv_probes(fx_target(fx)), 0);
	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void managed_driver_bind_while_claimed_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, mock_bind(fx_target(fx), &mock_managed_driver),
			0);

	KUNIT_EXPECT_TRUE(test, mock_bound_to(fx_target(fx),
					      &mock_managed_driver));
	KUNIT_EXPECT_EQ(test, mock_device_drv_probes(fx_target(fx)), 1);
	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
}

static void release_restores_default_domain(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	mock_clear_events();

	fx_release(fx);

	expect_group_default(test, fx);
	for (i = 0; i < fx->nr_devs; i++)
		KUNIT_EXPECT_EQ(test, mock_count(MOCK_OP_ATTACH_DEV,
						 fx_dev(fx, i),
						 fx->default_domain,
						 MOCK_ANY_TYPE, true), 1);
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_ATTACH_DEV), fx->nr_devs);
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void dma_driver_binds_after_release(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	fx_release(fx);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver), 0);

	KUNIT_EXPECT_TRUE(test, mock_bound_to(fx_target(fx), &mock_dma_driver));
	KUNIT_EXPECT_EQ(test, mock_device_drv_probes(fx_target(fx)), 1);
	expect_group_default(test, fx);
	expect_no_domain_change(test);
}

static void dma_driver_unbind_allows_claim(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver), 0);
	mock_unbind(fx_target(fx));

	KUNIT_EXPECT_EQ(test, fx_claim(fx), 0);

	expect_group_blocked(test, fx);
}

static void claim_fails_when_blocking_attach_fails(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	/* The first device the core moves fails: only it goes back */
	mock_inject_fault(MOCK_OP_ATTACH_DEV, fx_dev(fx, 0), NULL,
			  IOMMU_DOMAIN_BLOCKED, -EIO);

	KUNIT_EXPECT_EQ(test, fx_claim(fx), -EIO);

	expect_blocking_attach_unwound(test, fx, 0, -EIO);
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void claim_fails_when_last_blocking_attach_fails(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	unsigned int last = fx->nr_devs - 1;

	/*
	 * 6.1 left the devices moved before the failing one on the blocking
	 * domain while the group reported its default domain; the group and
	 * every device must be back on the default domain.
	 */
	mock_inject_fault(MOCK_OP_ATTACH_DEV, fx_dev(fx, last), NULL,
			  IOMMU_DOMAIN_BLOCKED, -EIO);

	KUNIT_EXPECT_EQ(test, fx_claim(fx), -EIO);

	expect_blocking_attach_unwound(test, fx, last, -EIO);
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void dma_driver_binds_after_failed_claim(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	mock_inject_fault(MOCK_OP_ATTACH_DEV, fx_dev(fx, fx->nr_devs - 1),
			  NULL, IOMMU_DOMAIN_BLOCKED, -EIO);
	KUNIT_ASSERT_EQ(test, fx_claim(fx), -EIO);
	mock_clear_events();

	/* The failed claim left no owner behind */
	KUNIT_EXPECT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver), 0);

	KUNIT_EXPECT_TRUE(test, mock_bound_to(fx_target(fx), &mock_dma_driver));
	expect_group_default(test, fx);
	expect_no_domain_change(test);
}

static void device_added_while_claimed_joins_blocking(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct mock_device *mdev;

	KUNIT_ASSERT_LT(test, fx->nr_devs, MOCK_MAX_GROUP_DEVS);
	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	mock_clear_events();

	mdev = mock_device_add(test, fx->mdev[0], false);
	KUNIT_ASSERT_NOT_NULL(test, mdev);
	fx->mdev[fx->nr_devs++] = mdev;

	/* The new device must not get the kernel's default domain */
	expect_group_blocked(test, fx);
	KUNIT_EXPECT_EQ(test, mock_count(MOCK_OP_ATTACH_DEV, NULL,
					 fx->default_domain, MOCK_ANY_TYPE,
					 false), 0);
	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void owner_claimed_false_when_unowned(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void owner_claimed_true_when_claimed(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);

	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void owner_claimed_true_with_dma_driver_bound(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver), 0);

	/* 6.1 reports owner_cnt, which counts DMA API drivers as owners */
	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void owner_claimed_false_with_managed_driver_bound(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, mock_bind(fx_target(fx), &mock_managed_driver),
			0);

	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void owner_claimed_false_after_release(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	fx_release(fx);

	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

/* Two-device group only */

static void devices_share_group_and_default_domain(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_group *g0, *g1;

	g0 = iommu_group_get(fx_dev(fx, 0));
	g1 = iommu_group_get(fx_dev(fx, 1));
	KUNIT_EXPECT_NOT_NULL(test, g0);
	KUNIT_EXPECT_PTR_EQ(test, g0, g1);
	iommu_group_put(g1);
	iommu_group_put(g0);
	KUNIT_EXPECT_PTR_EQ(test, iommu_get_domain_for_dev(fx_dev(fx, 1)),
			    iommu_get_domain_for_dev(fx_dev(fx, 0)));
}

static void claim_fails_while_one_of_two_dma_drivers_remains(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, mock_bind(fx->mdev[0], &mock_dma_driver), 0);
	KUNIT_ASSERT_EQ(test, mock_bind(fx->mdev[1], &mock_dma_driver), 0);
	mock_unbind(fx->mdev[1]);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim(fx), -EPERM);

	expect_group_default(test, fx);
	expect_no_domain_change(test);
}

static void claim_with_dma_driver_on_peer_fails_eperm(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	/* The driver is on device 0; cases bind to the last device otherwise */
	KUNIT_ASSERT_EQ(test, mock_bind(fx->mdev[0], &mock_dma_driver), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim(fx), -EPERM);

	expect_group_default(test, fx);
	expect_no_domain_change(test);
}

static struct kunit_case group_owner_one_device_cases[] = {
	KUNIT_CASE(devices_start_on_default_domain),
	KUNIT_CASE(claim_without_driver_moves_to_blocking),
	KUNIT_CASE(claim_with_dma_driver_bound_fails_eperm),
	KUNIT_CASE(claim_with_managed_driver_bound_succeeds),
	KUNIT_CASE(claim_twice_fails_eperm),
	KUNIT_CASE(dma_driver_bind_while_claimed_fails_ebusy),
	KUNIT_CASE(managed_driver_bind_while_claimed_succeeds),
	KUNIT_CASE(release_restores_default_domain),
	KUNIT_CASE(dma_driver_binds_after_release),
	KUNIT_CASE(dma_driver_unbind_allows_claim),
	KUNIT_CASE(claim_fails_when_blocking_attach_fails),
	KUNIT_CASE(claim_fails_when_last_blocking_attach_fails),
	KUNIT_CASE(dma_driver_binds_after_failed_claim),
	KUNIT_CASE(device_added_while_claimed_joins_blocking),
	KUNIT_CASE(owner_claimed_false_when_unowned),
	KUNIT_CASE(owner_claimed_true_when_claimed),
	KUNIT_CASE(owner_claimed_true_with_dma_driver_bound),
	KUNIT_CASE(owner_claimed_false_with_managed_driver_bound),
	KUNIT_CASE(owner_claimed_false_after_release),
	{}
};

/* The same cases, and those that need a second device */
static struct kunit_case group_owner_two_devices_cases[] = {
	KUNIT_CASE(devices_start_on_default_domain),
	KUNIT_CASE(claim_without_driver_moves_to_blocking),
	KUNIT_CASE(claim_with_dma_driver_bound_fails_eperm),
	KUNIT_CASE(claim_with_managed_driver_bound_succeeds),
	KUNIT_CASE(claim_twice_fails_eperm),
	KUNIT_CASE(dma_driver_bind_while_claimed_fails_ebusy),
	KUNIT_CASE(managed_driver_bind_while_claimed_succeeds),
	KUNIT_CASE(release_restores_default_domain),
	KUNIT_CASE(dma_driver_binds_after_release),
	KUNIT_CASE(dma_driver_unbind_allows_claim),
	KUNIT_CASE(claim_fails_when_blocking_attach_fails),
	KUNIT_CASE(claim_fails_when_last_blocking_attach_fails),
	KUNIT_CASE(dma_driver_binds_after_failed_claim),
	KUNIT_CASE(device_added_while_claimed_joins_blocking),
	KUNIT_CASE(owner_claimed_false_when_unowned),
	KUNIT_CASE(owner_claimed_true_when_claimed),
	KUNIT_CASE(owner_claimed_true_with_dma_driver_bound),
	KUNIT_CASE(owner_claimed_false_with_managed_driver_bound),
	KUNIT_CASE(owner_claimed_false_after_release),
	KUNIT_CASE(devices_share_group_and_default_domain),
	KUNIT_CASE(claim_fails_while_one_of_two_dma_drivers_remains),
	KUNIT_CASE(claim_with_dma_driver_on_peer_fails_eperm),
	{}
};

static struct kunit_suite group_owner_one_device_suite = {
	.name = "iommu_group_owner_one_device",
	.suite_init = mock_suite_init,
	.suite_exit = mock_suite_exit,
	.init = one_device_init,
	.exit = mock_fixture_exit,
	.test_cases = group_owner_one_device_cases,
};

static struct kunit_suite group_owner_two_devices_suite = {
	.name = "iommu_group_owner_two_devices",
	.suite_init = mock_suite_init,
	.suite_exit = mock_suite_exit,
	.init = two_devices_init,
	.exit = mock_fixture_exit,
	.test_cases = group_owner_two_devices_cases,
};

/*
 * Per-device DMA ownership: iommu_device_claim_dma_owner() and
 * iommu_device_release_dma_owner(), as iommufd binds and unbinds devices.
 * The fixture is the owner; a local variable stands for another one. Cases
 * that bind a driver bind it to the last device, which is the claimed device
 * itself in a one-device group and a peer of device 0 otherwise.
 */

static void dev_claim_moves_group_to_blocking(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	unsigned int i;

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 0, fx), 0);

	expect_group_blocked(test, fx);
	KUNIT_EXPECT_EQ(test, mock_count(MOCK_OP_DOMAIN_ALLOC, NULL, NULL,
					 IOMMU_DOMAIN_BLOCKED, true), 1);
	for (i = 0; i < fx->nr_devs; i++)
		KUNIT_EXPECT_EQ(test,
				mock_count(MOCK_OP_ATTACH_DEV, fx_dev(fx, i),
					   NULL, IOMMU_DOMAIN_BLOCKED, true),
				1);
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_ATTACH_DEV), fx->nr_devs);
	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void dev_release_restores_default_domain(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	mock_clear_events();

	fx_release_dev(fx, 0);

	expect_group_default(test, fx);
	for (i = 0; i < fx->nr_devs; i++)
		KUNIT_EXPECT_EQ(test, mock_count(MOCK_OP_ATTACH_DEV,
						 fx_dev(fx, i),
						 fx->default_domain,
						 MOCK_ANY_TYPE, true), 1);
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_ATTACH_DEV), fx->nr_devs);
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void dev_claim_twice_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 0, fx), -EBUSY);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void dev_claim_twice_by_other_owner_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	int other_owner;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 0, &other_owner), -EBUSY);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
}

static void dev_claim_with_dma_driver_bound_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	unsigned int last = fx->nr_devs - 1;

	KUNIT_ASSERT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver), 0);
	mock_clear_events();

	/* The driver is on the device claimed */
	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, last, fx), -EBUSY);

	expect_group_default(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_DOMAIN_ALLOC), 0);
	KUNIT_EXPECT_TRUE(test, mock_bound_to(fx_target(fx), &mock_dma_driver));
}

static void dev_claim_with_managed_driver_bound_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	unsigned int last = fx->nr_devs - 1;

	KUNIT_ASSERT_EQ(test, mock_bind(fx_target(fx), &mock_managed_driver),
			0);

	/* vfio-pci bound first, then the device is bound to iommufd */
	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, last, fx), 0);

	expect_group_blocked(test, fx);
	KUNIT_EXPECT_TRUE(test, mock_bound_to(fx_target(fx),
					      &mock_managed_driver));
}

static void dma_driver_bind_to_claimed_device_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	unsigned int last = fx->nr_devs - 1;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, last, fx), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver),
			-EBUSY);

	/* Refused in dma_configure(), before the driver's probe */
	KUNIT_EXPECT_NULL(test, fx_target(fx)->pdev->dev.driver);
	KUNIT_EXPECT_EQ(test, mock_device_drv_probes(fx_target(fx)), 0);
	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
}

static void dma_driver_binds_after_dev_release(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	fx_release_dev(fx, 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver), 0);

	KUNIT_EXPECT_TRUE(test, mock_bound_to(fx_target(fx), &mock_dma_driver));
	expect_group_default(test, fx);
	expect_no_domain_change(test);
}

static void dev_claim_after_group_claim_by_other_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	int other_owner;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 0, &other_owner), -EBUSY);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
}

static void dev_claim_after_group_claim_by_same_owner_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	mock_clear_events();

	/* The two levels do not mix, even with the same cookie */
	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 0, fx), -EBUSY);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
	/* ... so the group claim still releases cleanly (fixture exit) */
}

static void group_claim_after_dev_claim_fails_eperm(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	int other_owner;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	mock_clear_events();

	/* The group-level claim keeps its -EPERM of 6.1 */
	KUNIT_EXPECT_EQ(test,
			iommu_group_claim_dma_owner(fx->group, &other_owner),
			-EPERM);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
}

static void dev_claim_fails_when_last_blocking_attach_fails(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	unsigned int last = fx->nr_devs - 1;

	mock_inject_fault(MOCK_OP_ATTACH_DEV, fx_dev(fx, last), NULL,
			  IOMMU_DOMAIN_BLOCKED, -EIO);

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 0, fx), -EIO);

	expect_blocking_attach_unwound(test, fx, last, -EIO);
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void dma_driver_binds_after_failed_dev_claim(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	mock_inject_fault(MOCK_OP_ATTACH_DEV, fx_dev(fx, fx->nr_devs - 1),
			  NULL, IOMMU_DOMAIN_BLOCKED, -EIO);
	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), -EIO);
	mock_clear_events();

	/* The failed claim left no owner behind */
	KUNIT_EXPECT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver), 0);

	KUNIT_EXPECT_TRUE(test, mock_bound_to(fx_target(fx), &mock_dma_driver));
	expect_group_default(test, fx);
	expect_no_domain_change(test);
}

static void dev_claim_after_failed_dev_claim_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	mock_inject_fault(MOCK_OP_ATTACH_DEV, fx_dev(fx, fx->nr_devs - 1),
			  NULL, IOMMU_DOMAIN_BLOCKED, -EIO);
	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), -EIO);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 0, fx), 0);

	expect_group_blocked(test, fx);
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_ATTACH_DEV), fx->nr_devs);
}

static void dev_claim_while_kernel_attached_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *domain = fx_alloc_domain(test);

	/* A kernel user attached the unowned group to its own domain */
	KUNIT_ASSERT_EQ(test, iommu_attach_group(domain, fx->group), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 0, fx), -EBUSY);

	expect_group_on(test, fx, domain);
	expect_no_domain_change(test);
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void device_added_while_dev_claimed_joins_blocking(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct mock_device *mdev;

	KUNIT_ASSERT_LT(test, fx->nr_devs, MOCK_MAX_GROUP_DEVS);
	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	mock_clear_events();

	mdev = mock_device_add(test, fx->mdev[0], false);
	KUNIT_ASSERT_NOT_NULL(test, mdev);
	fx->mdev[fx->nr_devs++] = mdev;

	/* The new device must not get the kernel's default domain */
	expect_group_blocked(test, fx);
	expect_no_call_on(test, fx->default_domain);
}

/* Multi-device groups only: device 0 is claimed first, the last is a peer */

static void peer_claim_by_same_owner_only_counts(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 1, fx), 0);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_DOMAIN_ALLOC), 0);
	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void peer_claim_by_other_owner_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	int other_owner;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 1, &other_owner), -EBUSY);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
}

static void peer_claim_while_attached_only_counts(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *domain = fx_alloc_domain(test);

	/* iommufd binds device 0, attaches it, then binds a peer */
	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	KUNIT_ASSERT_EQ(test, iommu_attach_group(domain, fx->group), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 1, fx), 0);

	expect_group_on(test, fx, domain);
	expect_no_domain_change(test);
}

static void dev_claim_with_dma_driver_on_peer_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 0, fx), -EBUSY);

	expect_group_default(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_TRUE(test, mock_bound_to(fx_target(fx), &mock_dma_driver));
}

static void dma_driver_bind_to_peer_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver),
			-EBUSY);

	KUNIT_EXPECT_NULL(test, fx_target(fx)->pdev->dev.driver);
	KUNIT_EXPECT_EQ(test, mock_device_drv_probes(fx_target(fx)), 0);
	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
}

static void managed_driver_binds_late_to_peer(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	mock_clear_events();

	/* vfio-pci binds to another device of the group after the claim */
	KUNIT_EXPECT_EQ(test, mock_bind(fx_target(fx), &mock_managed_driver),
			0);

	KUNIT_EXPECT_TRUE(test, mock_bound_to(fx_target(fx),
					      &mock_managed_driver));
	KUNIT_EXPECT_EQ(test, mock_device_drv_probes(fx_target(fx)), 1);
	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
}

static void peer_with_late_managed_driver_claim_counts(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	KUNIT_ASSERT_EQ(test, mock_bind(fx_target(fx), &mock_managed_driver),
			0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, fx->nr_devs - 1, fx), 0);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
}

static void release_of_first_claim_keeps_blocking(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 1, fx), 0);
	mock_clear_events();

	fx_release_dev(fx, 0);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void release_of_second_claim_keeps_blocking(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 1, fx), 0);
	mock_clear_events();

	fx_release_dev(fx, 1);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

/* Both orders of release end the same way: the second release restores */
static void check_last_release_restores_default(struct kunit *test,
						unsigned int first_released)
{
	struct mock_fixture *fx = test->priv;
	struct mock_event want[MOCK_MAX_GROUP_DEVS];
	unsigned int i;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 1, fx), 0);
	fx_release_dev(fx, first_released);
	mock_clear_events();

	fx_release_dev(fx, !first_released);

	for (i = 0; i < fx->nr_devs; i++)
		want[i] = call_attach(fx_dev(fx, i), fx->default_domain, 0);
	expect_calls(test, MOCK_DOMAIN_CHANGES, want, fx->nr_devs);
	expect_group_default(test, fx);
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void last_release_restores_default_first_claim_first(struct kunit *test)
{
	check_last_release_restores_default(test, 0);
}

static void last_release_restores_default_first_claim_last(struct kunit *test)
{
	check_last_release_restores_default(test, 1);
}

static void dma_driver_bind_after_partial_release_fails(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 1, fx), 0);
	fx_release_dev(fx, 0);
	mock_clear_events();

	/* Device 1 still holds the group for its owner */
	KUNIT_EXPECT_EQ(test, mock_bind(fx->mdev[0], &mock_dma_driver),
			-EBUSY);

	KUNIT_EXPECT_NULL(test, fx_dev(fx, 0)->driver);
	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
}

static struct kunit_case device_owner_one_device_cases[] = {
	KUNIT_CASE(dev_claim_moves_group_to_blocking),
	KUNIT_CASE(dev_release_restores_default_domain),
	KUNIT_CASE(dev_claim_twice_fails_ebusy),
	KUNIT_CASE(dev_claim_twice_by_other_owner_fails_ebusy),
	KUNIT_CASE(dev_claim_with_dma_driver_bound_fails_ebusy),
	KUNIT_CASE(dev_claim_with_managed_driver_bound_succeeds),
	KUNIT_CASE(dma_driver_bind_to_claimed_device_fails_ebusy),
	KUNIT_CASE(dma_driver_binds_after_dev_release),
	KUNIT_CASE(dev_claim_after_group_claim_by_other_fails_ebusy),
	KUNIT_CASE(dev_claim_after_group_claim_by_same_owner_fails_ebusy),
	KUNIT_CASE(group_claim_after_dev_claim_fails_eperm),
	KUNIT_CASE(dev_claim_fails_when_last_blocking_attach_fails),
	KUNIT_CASE(dma_driver_binds_after_failed_dev_claim),
	KUNIT_CASE(dev_claim_after_failed_dev_claim_succeeds),
	KUNIT_CASE(dev_claim_while_kernel_attached_fails_ebusy),
	KUNIT_CASE(device_added_while_dev_claimed_joins_blocking),
	{}
};

/* The same cases, and those that need peers */
static struct kunit_case device_owner_three_devices_cases[] = {
	KUNIT_CASE(dev_claim_moves_group_to_blocking),
	KUNIT_CASE(dev_release_restores_default_domain),
	KUNIT_CASE(dev_claim_twice_fails_ebusy),
	KUNIT_CASE(dev_claim_twice_by_other_owner_fails_ebusy),
	KUNIT_CASE(dev_claim_with_dma_driver_bound_fails_ebusy),
	KUNIT_CASE(dev_claim_with_managed_driver_bound_succeeds),
	KUNIT_CASE(dma_driver_bind_to_claimed_device_fails_ebusy),
	KUNIT_CASE(dma_driver_binds_after_dev_release),
	KUNIT_CASE(dev_claim_after_group_claim_by_other_fails_ebusy),
	KUNIT_CASE(dev_claim_after_group_claim_by_same_owner_fails_ebusy),
	KUNIT_CASE(group_claim_after_dev_claim_fails_eperm),
	KUNIT_CASE(dev_claim_fails_when_last_blocking_attach_fails),
	KUNIT_CASE(dma_driver_binds_after_failed_dev_claim),
	KUNIT_CASE(dev_claim_after_failed_dev_claim_succeeds),
	KUNIT_CASE(dev_claim_while_kernel_attached_fails_ebusy),
	KUNIT_CASE(device_added_while_dev_claimed_joins_blocking),
	KUNIT_CASE(peer_claim_by_same_owner_only_counts),
	KUNIT_CASE(peer_claim_by_other_owner_fails_ebusy),
	KUNIT_CASE(peer_claim_while_attached_only_counts),
	KUNIT_CASE(dev_claim_with_dma_driver_on_peer_fails_ebusy),
	KUNIT_CASE(dma_driver_bind_to_peer_fails_ebusy),
	KUNIT_CASE(managed_driver_binds_late_to_peer),
	KUNIT_CASE(peer_with_late_managed_driver_claim_counts),
	KUNIT_CASE(release_of_first_claim_keeps_blocking),
	KUNIT_CASE(release_of_second_claim_keeps_blocking),
	KUNIT_CASE(last_release_restores_default_first_claim_first),
	KUNIT_CASE(last_release_restores_default_first_claim_last),
	KUNIT_CASE(dma_driver_bind_after_partial_release_fails),
	{}
};

static struct kunit_suite device_owner_one_device_suite = {
	.name = "iommu_device_owner_one_device",
	.suite_init = mock_suite_init,
	.suite_exit = mock_suite_exit,
	.init = one_device_init,
	.exit = mock_fixture_exit,
	.test_cases = device_owner_one_device_cases,
};

static struct kunit_suite device_owner_three_devices_suite = {
	.name = "iommu_device_owner_three_devices",
	.suite_init = mock_suite_init,
	.suite_exit = mock_suite_exit,
	.init = three_devices_init,
	.exit = mock_fixture_exit,
	.test_cases = device_owner_three_devices_cases,
};

/*
 * iommu_group_replace_domain(): iommufd moves a user-owned group from one
 * domain (hw_pagetable) to another. The fixture claims every device of the
 * group and attaches it to domain A with iommu_attach_group(), as iommufd's
 * first attach does; the cases replace A with B.
 */

/* Claim every device and attach the group to a new domain, A. */
static struct iommu_domain *replace_setup(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *domain;

	fx_claim_every_dev(test);
	domain = fx_alloc_domain(test);
	KUNIT_ASSERT_EQ(test, iommu_attach_group(domain, fx->group), 0);
	mock_clear_events();
	return domain;
}

/* Each device moved to @domain with one attach_dev(), nothing else */
static void expect_one_attach_each(struct kunit *test, struct mock_fixture *fx,
				   struct iommu_domain *domain)
{
	struct mock_event want[MOCK_MAX_GROUP_DEVS];
	unsigned int i;

	for (i = 0; i < fx->nr_devs; i++)
		want[i] = call_attach(fx_dev(fx, i), domain, 0);
	expect_calls(test, MOCK_DOMAIN_CHANGES, want, fx->nr_devs);
}

static void attach_owned_group_to_domain(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a;

	fx_claim_every_dev(test);
	a = fx_alloc_domain(test);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, iommu_attach_group(a, fx->group), 0);

	expect_one_attach_each(test, fx, a);
	expect_group_on(test, fx, a);
}

static void attach_group_while_attached_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = replace_setup(test);
	struct iommu_domain *b = fx_alloc_domain(test);

	mock_clear_events();

	/* What replace is for: attach only leaves the core's domains */
	KUNIT_EXPECT_EQ(test, iommu_attach_group(b, fx->group), -EBUSY);

	expect_group_on(test, fx, a);
	expect_no_domain_change(test);
}

static void replace_moves_each_device_with_one_attach(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *b;

	replace_setup(test);
	b = fx_alloc_domain(test);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, iommu_group_replace_domain(fx->group, b), 0);

	/* No detach, no blocking or default domain in between */
	expect_one_attach_each(test, fx, b);
	expect_group_on(test, fx, b);
	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void replace_from_blocking_attaches_once(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a;

	fx_claim_every_dev(test);
	a = fx_alloc_domain(test);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, iommu_group_replace_domain(fx->group, a), 0);

	expect_one_attach_each(test, fx, a);
	expect_group_on(test, fx, a);
}

static void replace_with_group_claim_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = fx_alloc_domain(test);
	struct iommu_domain *b = fx_alloc_domain(test);

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	KUNIT_ASSERT_EQ(test, iommu_attach_group(a, fx->group), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, iommu_group_replace_domain(fx->group, b), 0);

	expect_one_attach_each(test, fx, b);
	expect_group_on(test, fx, b);
}

static void replace_unowned_group_fails_eperm(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = fx_alloc_domain(test);

	mock_clear_events();

	KUNIT_EXPECT_EQ(test, iommu_group_replace_domain(fx->group, a), -EPERM);

	expect_group_default(test, fx);
	expect_no_domain_change(test);
}

static void replace_kernel_attached_group_fails_eperm(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = fx_alloc_domain(test);
	struct iommu_domain *b = fx_alloc_domain(test);

	/* Attached by a kernel user, not claimed by a user */
	KUNIT_ASSERT_EQ(test, iommu_attach_group(a, fx->group), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, iommu_group_replace_domain(fx->group, b), -EPERM);

	expect_group_on(test, fx, a);
	expect_no_domain_change(test);
}

static void replace_with_dma_driver_bound_fails_eperm(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = fx_alloc_domain(test);

	KUNIT_ASSERT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, iommu_group_replace_domain(fx->group, a), -EPERM);

	expect_group_default(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_TRUE(test, mock_bound_to(fx_target(fx), &mock_dma_driver));
}

static void replace_with_null_fails_einval(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = replace_setup(test);

	KUNIT_EXPECT_EQ(test, iommu_group_replace_domain(fx->group, NULL),
			-EINVAL);

	expect_group_on(test, fx, a);
	expect_no_domain_change(test);
}

static void replace_with_same_domain_makes_no_calls(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = replace_setup(test);

	KUNIT_EXPECT_EQ(test, iommu_group_replace_domain(fx->group, a), 0);

	expect_group_on(test, fx, a);
	KUNIT_EXPECT_EQ(test, mock_nr_events(), 0);
}

/*
 * Device @failed refuses B: the devices before it had moved to B and go back
 * to A with one attach each, and so does @failed (drivers that detach before
 * attaching leave it detached); the devices after it are not touched, and
 * nothing reaches the default domain on the way.
 */
static void check_replace_failure(struct kunit *test, unsigned int failed)
{
	struct mock_fixture *fx = test->priv;
	struct mock_event want[2 * MOCK_MAX_GROUP_DEVS];
	struct iommu_domain *a, *b;
	unsigned int i, n = 0;

	KUNIT_ASSERT_LT(test, failed, fx->nr_devs);
	a = replace_setup(test);
	b = fx_alloc_domain(test);
	mock_clear_events();
	mock_inject_fault(MOCK_OP_ATTACH_DEV, fx_dev(fx, failed), b,
			  MOCK_ANY_TYPE, -EIO);

	KUNIT_EXPECT_EQ(test, iommu_group_replace_domain(fx->group, b), -EIO);

	for (i = 0; i < failed; i++)
		want[n++] = call_attach(fx_dev(fx, i), b, 0);
	want[n++] = call_attach(fx_dev(fx, failed), b, -EIO);
	for (i = 0; i <= failed; i++)
		want[n++] = call_attach(fx_dev(fx, i), a, 0);
	expect_calls(test, MOCK_DOMAIN_CHANGES, want, n);
	expect_group_on(test, fx, a);
	expect_no_call_on(test, fx->default_domain);
	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void replace_failure_on_first_device_keeps_a(struct kunit *test)
{
	check_replace_failure(test, 0);
}

static void replace_failure_on_second_device_reverts_first(struct kunit *test)
{
	check_replace_failure(test, 1);
}

static void replace_failure_on_last_device_reverts_all(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	check_replace_failure(test, fx->nr_devs - 1);
}

static void replace_after_failure_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *b;

	replace_setup(test);
	b = fx_alloc_domain(test);
	mock_inject_fault(MOCK_OP_ATTACH_DEV, fx_dev(fx, fx->nr_devs - 1), b,
			  MOCK_ANY_TYPE, -EIO);
	KUNIT_ASSERT_EQ(test, iommu_group_replace_domain(fx->group, b), -EIO);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, iommu_group_replace_domain(fx->group, b), 0);

	expect_one_attach_each(test, fx, b);
	expect_group_on(test, fx, b);
}

static void old_domain_unused_after_replace(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = replace_setup(test);
	struct iommu_domain *b = fx_alloc_domain(test);

	KUNIT_ASSERT_EQ(test, iommu_group_replace_domain(fx->group, b), 0);

	/* The caller may free A right away: no device may still use it */
	fx_free_domain(fx, a);

	KUNIT_EXPECT_EQ(test, mock_nr_freed_in_use(), 0);
	expect_group_on(test, fx, b);
}

static void detach_after_replace_goes_to_blocking(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *b;
	unsigned int i;

	replace_setup(test);
	b = fx_alloc_domain(test);
	KUNIT_ASSERT_EQ(test, iommu_group_replace_domain(fx->group, b), 0);
	mock_clear_events();

	iommu_detach_group(b, fx->group);

	expect_group_blocked(test, fx);
	for (i = 0; i < fx->nr_devs; i++)
		KUNIT_EXPECT_EQ(test,
				mock_count(MOCK_OP_ATTACH_DEV, fx_dev(fx, i),
					   NULL, IOMMU_DOMAIN_BLOCKED, true),
				1);
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_ATTACH_DEV), fx->nr_devs);
	expect_no_call_on(test, fx->default_domain);
	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void release_after_replace_restores_default(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *b;
	unsigned int i;

	replace_setup(test);
	b = fx_alloc_domain(test);
	KUNIT_ASSERT_EQ(test, iommu_group_replace_domain(fx->group, b), 0);
	mock_clear_events();

	for (i = 0; i < fx->nr_devs; i++)
		fx_release_dev(fx, i);

	expect_one_attach_each(test, fx, fx->default_domain);
	expect_group_default(test, fx);
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static struct kunit_case replace_one_device_cases[] = {
	KUNIT_CASE(attach_owned_group_to_domain),
	KUNIT_CASE(attach_group_while_attached_fails_ebusy),
	KUNIT_CASE(replace_moves_each_device_with_one_attach),
	KUNIT_CASE(replace_from_blocking_attaches_once),
	KUNIT_CASE(replace_with_group_claim_succeeds),
	KUNIT_CASE(replace_unowned_group_fails_eperm),
	KUNIT_CASE(replace_kernel_attached_group_fails_eperm),
	KUNIT_CASE(replace_with_dma_driver_bound_fails_eperm),
	KUNIT_CASE(replace_with_null_fails_einval),
	KUNIT_CASE(replace_with_same_domain_makes_no_calls),
	KUNIT_CASE(replace_failure_on_first_device_keeps_a),
	KUNIT_CASE(replace_after_failure_succeeds),
	KUNIT_CASE(old_domain_unused_after_replace),
	KUNIT_CASE(detach_after_replace_goes_to_blocking),
	KUNIT_CASE(release_after_replace_restores_default),
	{}
};

/* The same cases, and failures after some devices moved */
static struct kunit_case replace_three_devices_cases[] = {
	KUNIT_CASE(attach_owned_group_to_domain),
	KUNIT_CASE(attach_group_while_attached_fails_ebusy),
	KUNIT_CASE(replace_moves_each_device_with_one_attach),
	KUNIT_CASE(replace_from_blocking_attaches_once),
	KUNIT_CASE(replace_with_group_claim_succeeds),
	KUNIT_CASE(replace_unowned_group_fails_eperm),
	KUNIT_CASE(replace_kernel_attached_group_fails_eperm),
	KUNIT_CASE(replace_with_dma_driver_bound_fails_eperm),
	KUNIT_CASE(replace_with_null_fails_einval),
	KUNIT_CASE(replace_with_same_domain_makes_no_calls),
	KUNIT_CASE(replace_failure_on_first_device_keeps_a),
	KUNIT_CASE(replace_after_failure_succeeds),
	KUNIT_CASE(old_domain_unused_after_replace),
	KUNIT_CASE(detach_after_replace_goes_to_blocking),
	KUNIT_CASE(release_after_replace_restores_default),
	KUNIT_CASE(replace_failure_on_second_device_reverts_first),
	KUNIT_CASE(replace_failure_on_last_device_reverts_all),
	{}
};

static struct kunit_suite replace_one_device_suite = {
	.name = "iommu_replace_one_device",
	.suite_init = mock_suite_init,
	.suite_exit = mock_suite_exit,
	.init = one_device_init,
	.exit = mock_fixture_exit,
	.test_cases = replace_one_device_cases,
};

static struct kunit_suite replace_three_devices_suite = {
	.name = "iommu_replace_three_devices",
	.suite_init = mock_suite_init,
	.suite_exit = mock_suite_exit,
	.init = three_devices_init,
	.exit = mock_fixture_exit,
	.test_cases = replace_three_devices_cases,
};

/*
 * PASID attach and detach: iommu_attach_device_pasid(),
 * iommu_detach_device_pasid() and iommu_get_domain_for_dev_pasid() on a
 * device of the full driver, alone in its group. The cases use PASIDs other
 * than IOMMU_NO_PASID (0), which the core keeps for DMA without PASID.
 */

#define PASID_A		5U
#define PASID_B		7U

/* Claim the device and give the case a domain, A. */
static struct iommu_domain *pasid_setup(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *domain;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	domain = fx_alloc_domain(test);
	mock_clear_events();
	return domain;
}

static void attach_pasid_calls_driver(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);
	struct mock_event want;

	KUNIT_EXPECT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);

	want = call_set_pasid(fx_dev(fx, 0), a, PASID_A, 0);
	expect_calls(test, MOCK_PASID_CALLS, &want, 1);
	KUNIT_EXPECT_PTR_EQ(test, mock_device_pasid_domain(fx->mdev[0], PASID_A),
			    a);
	/* DMA without PASID keeps the group's domain */
	expect_no_domain_change(test);
	expect_group_blocked(test, fx);
}

static void pasid_lookup_gives_attached_domain(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);

	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);

	KUNIT_EXPECT_PTR_EQ(test,
			    iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							   PASID_A, 0),
			    a);
	KUNIT_EXPECT_PTR_EQ(test,
			    iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							   PASID_A,
							   IOMMU_DOMAIN_UNMANAGED),
			    a);
}

static void pasid_lookup_of_other_type_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);

	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);

	KUNIT_EXPECT_PTR_EQ(test,
			    iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							   PASID_A,
							   IOMMU_DOMAIN_IDENTITY),
			    ERR_PTR(-EBUSY));
}

static void pasid_lookup_of_free_pasid_is_null(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);

	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);

	KUNIT_EXPECT_NULL(test, iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							       PASID_B, 0));
}

static void attach_busy_pasid_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);
	struct iommu_domain *b = fx_alloc_domain(test);

	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_attach_pasid(test, b, PASID_A), -EBUSY);

	expect_calls(test, MOCK_PASID_CALLS, NULL, 0);
	KUNIT_EXPECT_PTR_EQ(test,
			    iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							   PASID_A, 0),
			    a);
	KUNIT_EXPECT_PTR_EQ(test, mock_device_pasid_domain(fx->mdev[0], PASID_A),
			    a);
}

static void attach_second_pasid_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);
	struct iommu_domain *b = fx_alloc_domain(test);

	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_attach_pasid(test, b, PASID_B), 0);

	KUNIT_EXPECT_PTR_EQ(test,
			    iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							   PASID_B, 0),
			    b);
	KUNIT_EXPECT_PTR_EQ(test,
			    iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							   PASID_A, 0),
			    a);
}

static void attach_no_pasid_fails_einval(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);

	KUNIT_EXPECT_EQ(test, fx_attach_pasid(test, a, IOMMU_NO_PASID),
			-EINVAL);

	expect_calls(test, MOCK_PASID_CALLS, NULL, 0);
	expect_no_domain_change(test);
	KUNIT_EXPECT_NULL(test, iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							       IOMMU_NO_PASID,
							       0));
}

static void attach_pasid_in_multi_device_group_fails_einval(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);
	struct mock_device *mdev;

	KUNIT_ASSERT_LT(test, fx->nr_devs, MOCK_MAX_GROUP_DEVS);
	mdev = mock_device_add(test, fx->mdev[0], true);
	KUNIT_ASSERT_NOT_NULL(test, mdev);
	fx->mdev[fx->nr_devs++] = mdev;
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_attach_pasid(test, a, PASID_A), -EINVAL);

	expect_calls(test, MOCK_PASID_CALLS, NULL, 0);
	KUNIT_EXPECT_NULL(test, iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							       PASID_A, 0));
}

static void attach_pasid_unowned_fails_eperm(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = fx_alloc_domain(test);

	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_attach_pasid(test, a, PASID_A), -EPERM);

	expect_calls(test, MOCK_PASID_CALLS, NULL, 0);
	KUNIT_EXPECT_NULL(test, iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							       PASID_A, 0));
}

static void attach_pasid_with_dma_driver_bound_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = fx_alloc_domain(test);

	/* A kernel driver owns the device, e.g. for SVA */
	KUNIT_ASSERT_EQ(test, mock_bind(fx->mdev[0], &mock_dma_driver), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);

	KUNIT_EXPECT_PTR_EQ(test, mock_device_pasid_domain(fx->mdev[0], PASID_A),
			    a);
	expect_group_default(test, fx);
}

static void attach_pasid_without_set_dev_pasid_fails(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	mock_next_domain_ops(&mock_domain_nopasid_ops);
	a = fx_alloc_domain(test);
	KUNIT_ASSERT_PTR_EQ(test, a->ops, &mock_domain_nopasid_ops);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_attach_pasid(test, a, PASID_A), -EOPNOTSUPP);

	expect_calls(test, MOCK_PASID_CALLS, NULL, 0);
	KUNIT_EXPECT_NULL(test, iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							       PASID_A, 0));
}

static void attach_pasid_driver_failure_returns_error(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);
	struct mock_event want;

	mock_inject_fault(MOCK_OP_SET_DEV_PASID, fx_dev(fx, 0), a,
			  MOCK_ANY_TYPE, -EIO);

	KUNIT_EXPECT_EQ(test, fx_attach_pasid(test, a, PASID_A), -EIO);

	want = call_set_pasid(fx_dev(fx, 0), a, PASID_A, -EIO);
	expect_calls(test, MOCK_PASID_CALLS, &want, 1);
	KUNIT_EXPECT_NULL(test, iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							       PASID_A, 0));
	KUNIT_EXPECT_NULL(test, mock_device_pasid_domain(fx->mdev[0], PASID_A));
}

static void attach_pasid_after_driver_failure_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);

	mock_inject_fault(MOCK_OP_SET_DEV_PASID, fx_dev(fx, 0), a,
			  MOCK_ANY_TYPE, -EIO);
	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, a, PASID_A), -EIO);
	mock_clear_events();

	/* The failed attach left the PASID free */
	KUNIT_EXPECT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);

	KUNIT_EXPECT_PTR_EQ(test,
			    iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							   PASID_A, 0),
			    a);
	KUNIT_EXPECT_PTR_EQ(test, mock_device_pasid_domain(fx->mdev[0], PASID_A),
			    a);
}

static void detach_pasid_removes_it_from_driver(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);
	struct mock_event want;

	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);
	mock_clear_events();

	fx_detach_pasid(fx, a, PASID_A);

	/* remove_dev_pasid() is told the domain it undoes */
	want = call_remove_pasid(fx_dev(fx, 0), a, PASID_A);
	expect_calls(test, MOCK_PASID_CALLS, &want, 1);
	KUNIT_EXPECT_NULL(test, iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							       PASID_A, 0));
	KUNIT_EXPECT_NULL(test, mock_device_pasid_domain(fx->mdev[0], PASID_A));
	expect_no_domain_change(test);
}

static void detach_pasid_keeps_other_pasids(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);
	struct iommu_domain *b = fx_alloc_domain(test);

	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);
	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, b, PASID_B), 0);
	mock_clear_events();

	fx_detach_pasid(fx, a, PASID_A);

	KUNIT_EXPECT_PTR_EQ(test,
			    iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							   PASID_B, 0),
			    b);
	KUNIT_EXPECT_PTR_EQ(test, mock_device_pasid_domain(fx->mdev[0], PASID_B),
			    b);
}

static void reattach_pasid_after_detach_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);
	struct iommu_domain *b = fx_alloc_domain(test);

	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);
	fx_detach_pasid(fx, a, PASID_A);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_attach_pasid(test, b, PASID_A), 0);

	KUNIT_EXPECT_PTR_EQ(test,
			    iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							   PASID_A, 0),
			    b);
}

/*
 * PASIDs fence the changes of the group's domain and of its ownership: the
 * PASIDs were attached for the owner of the moment, and the core does not
 * know what they translate to.
 */

/* A DMA API driver attached PASID_A to @a and was unbound, leaving it. */
static void pasid_left_by_unbound_driver(struct kunit *test,
					 struct iommu_domain *a)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, mock_bind(fx->mdev[0], &mock_dma_driver), 0);
	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);
	mock_unbind(fx->mdev[0]);
	mock_clear_events();
}

static void claim_with_pasid_attached_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = fx_alloc_domain(test);

	pasid_left_by_unbound_driver(test, a);

	KUNIT_EXPECT_EQ(test, fx_claim(fx), -EBUSY);
	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 0, fx), -EBUSY);

	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
	expect_group_default(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_DOMAIN_ALLOC), 0);
	KUNIT_EXPECT_PTR_EQ(test, mock_device_pasid_domain(fx->mdev[0], PASID_A),
			    a);
}

static void dma_driver_bind_with_pasid_attached_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = fx_alloc_domain(test);

	pasid_left_by_unbound_driver(test, a);

	KUNIT_EXPECT_EQ(test, mock_bind(fx->mdev[0], &mock_dma_driver), -EBUSY);

	KUNIT_EXPECT_NULL(test, fx->mdev[0]->pdev->dev.driver);
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
	expect_group_default(test, fx);
	expect_no_domain_change(test);
}

static void attach_group_with_pasid_attached_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);
	struct iommu_domain *b = fx_alloc_domain(test);

	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, iommu_attach_group(b, fx->group), -EBUSY);
	KUNIT_EXPECT_EQ(test, iommu_attach_device(b, fx_dev(fx, 0)), -EBUSY);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_PTR_EQ(test, mock_device_pasid_domain(fx->mdev[0], PASID_A),
			    a);
}

static void replace_with_pasid_attached_fails_ebusy(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);
	struct iommu_domain *b = fx_alloc_domain(test);
	struct iommu_domain *c = fx_alloc_domain(test);

	KUNIT_ASSERT_EQ(test, iommu_attach_group(b, fx->group), 0);
	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, iommu_group_replace_domain(fx->group, c), -EBUSY);

	expect_group_on(test, fx, b);
	expect_no_domain_change(test);
	KUNIT_EXPECT_PTR_EQ(test, mock_device_pasid_domain(fx->mdev[0], PASID_A),
			    a);
}

static void domain_changes_after_pasid_detach_succeed(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);
	struct iommu_domain *b = fx_alloc_domain(test);
	struct iommu_domain *c = fx_alloc_domain(test);

	KUNIT_ASSERT_EQ(test, fx_attach_pasid(test, a, PASID_A), 0);
	fx_detach_pasid(fx, a, PASID_A);

	KUNIT_EXPECT_EQ(test, iommu_attach_group(b, fx->group), 0);
	KUNIT_EXPECT_EQ(test, iommu_group_replace_domain(fx->group, c), 0);
	expect_group_on(test, fx, c);
}

static struct kunit_case pasid_cases[] = {
	KUNIT_CASE(attach_pasid_calls_driver),
	KUNIT_CASE(pasid_lookup_gives_attached_domain),
	KUNIT_CASE(pasid_lookup_of_other_type_fails_ebusy),
	KUNIT_CASE(pasid_lookup_of_free_pasid_is_null),
	KUNIT_CASE(attach_busy_pasid_fails_ebusy),
	KUNIT_CASE(attach_second_pasid_succeeds),
	KUNIT_CASE(attach_no_pasid_fails_einval),
	KUNIT_CASE(attach_pasid_in_multi_device_group_fails_einval),
	KUNIT_CASE(attach_pasid_unowned_fails_eperm),
	KUNIT_CASE(attach_pasid_with_dma_driver_bound_succeeds),
	KUNIT_CASE(attach_pasid_without_set_dev_pasid_fails),
	KUNIT_CASE(attach_pasid_driver_failure_returns_error),
	KUNIT_CASE(attach_pasid_after_driver_failure_succeeds),
	KUNIT_CASE(detach_pasid_removes_it_from_driver),
	KUNIT_CASE(detach_pasid_keeps_other_pasids),
	KUNIT_CASE(reattach_pasid_after_detach_succeeds),
	KUNIT_CASE(claim_with_pasid_attached_fails_ebusy),
	KUNIT_CASE(dma_driver_bind_with_pasid_attached_fails_ebusy),
	KUNIT_CASE(attach_group_with_pasid_attached_fails_ebusy),
	KUNIT_CASE(replace_with_pasid_attached_fails_ebusy),
	KUNIT_CASE(domain_changes_after_pasid_detach_succeed),
	{}
};

static struct kunit_suite pasid_suite = {
	.name = "iommu_pasid",
	.suite_init = mock_suite_init,
	.suite_exit = mock_suite_exit,
	.init = one_full_device_init,
	.exit = mock_fixture_exit,
	.test_cases = pasid_cases,
};

/*
 * The core's answers for a driver without the driver ops of the series
 * (mock_iommu_ops): iommufd must work with every IOMMU driver for plain
 * paging domains.
 */

/* A platform device the mock IOMMU refuses: it has no IOMMU group. */
static struct platform_device *plain_device_add(struct kunit *test)
{
	struct platform_device *pdev;

	pdev = platform_device_register_simple(PLAIN_DEVICE_NAME,
					       PLATFORM_DEVID_AUTO, NULL, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pdev);
	return pdev;
}

static void alloc_user_without_op_gives_paging_domain(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *domain;

	domain = iommu_domain_alloc_user(fx_dev(fx, 0), 0, NULL, NULL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, domain);
	fx_keep_domain(test, domain);
	KUNIT_EXPECT_EQ(test, domain->type, IOMMU_DOMAIN_UNMANAGED);
	KUNIT_EXPECT_PTR_EQ(test, domain->ops, &mock_domain_ops);
	KUNIT_EXPECT_EQ(test, domain->pgsize_bitmap, (unsigned long)SZ_4K);
	KUNIT_EXPECT_EQ(test, mock_count(MOCK_OP_DOMAIN_ALLOC, NULL, domain,
					 IOMMU_DOMAIN_UNMANAGED, true), 1);
}

static void alloc_user_without_op_refuses_flags(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *domain;

	domain = iommu_domain_alloc_user(fx_dev(fx, 0),
					 IOMMU_HWPT_ALLOC_NEST_PARENT, NULL,
					 NULL);

	KUNIT_EXPECT_PTR_EQ(test, domain, ERR_PTR(-EOPNOTSUPP));
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_DOMAIN_ALLOC), 0);
}

static void alloc_user_without_op_refuses_parent(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *parent = fx_alloc_domain(test);
	struct iommu_domain *domain;

	mock_clear_events();

	domain = iommu_domain_alloc_user(fx_dev(fx, 0), 0, parent, NULL);

	KUNIT_EXPECT_PTR_EQ(test, domain, ERR_PTR(-EOPNOTSUPP));
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_DOMAIN_ALLOC), 0);
}

static void alloc_user_without_op_refuses_data(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	const struct iommu_user_data data = { .type = 1 };
	struct iommu_domain *domain;

	domain = iommu_domain_alloc_user(fx_dev(fx, 0), 0, NULL, &data);

	KUNIT_EXPECT_PTR_EQ(test, domain, ERR_PTR(-EOPNOTSUPP));
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_DOMAIN_ALLOC), 0);
}

static void alloc_user_without_iommu_fails_enodev(struct kunit *test)
{
	struct platform_device *pdev = plain_device_add(test);
	struct iommu_domain *domain;

	domain = iommu_domain_alloc_user(&pdev->dev, 0, NULL, NULL);

	KUNIT_EXPECT_PTR_EQ(test, domain, ERR_PTR(-ENODEV));
	platform_device_unregister(pdev);
}

static void hw_info_without_op_is_empty(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	u32 length = U32_MAX, type = U32_MAX;
	void *data;

	data = iommu_get_hw_info(fx_dev(fx, 0), &length, &type);

	KUNIT_EXPECT_NULL(test, data);
	KUNIT_EXPECT_EQ(test, length, 0);
	KUNIT_EXPECT_EQ(test, type, IOMMU_HW_INFO_TYPE_NONE);
}

static void hw_info_without_iommu_fails_enodev(struct kunit *test)
{
	struct platform_device *pdev = plain_device_add(test);
	u32 length = U32_MAX, type = U32_MAX;
	void *data;

	data = iommu_get_hw_info(&pdev->dev, &length, &type);

	KUNIT_EXPECT_PTR_EQ(test, data, ERR_PTR(-ENODEV));
	KUNIT_EXPECT_EQ(test, length, 0);
	KUNIT_EXPECT_EQ(test, type, IOMMU_HW_INFO_TYPE_NONE);
	platform_device_unregister(pdev);
}

static void attach_pasid_without_remove_dev_pasid_fails(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *a = pasid_setup(test);

	/* The domain could, but the driver cannot undo it */
	KUNIT_ASSERT_NOT_NULL(test, a->ops->set_dev_pasid);

	KUNIT_EXPECT_EQ(test, fx_attach_pasid(test, a, PASID_A), -EOPNOTSUPP);

	expect_calls(test, MOCK_PASID_CALLS, NULL, 0);
	KUNIT_EXPECT_NULL(test, iommu_get_domain_for_dev_pasid(fx_dev(fx, 0),
							       PASID_A, 0));
}

static struct kunit_case driver_defaults_cases[] = {
	KUNIT_CASE(alloc_user_without_op_gives_paging_domain),
	KUNIT_CASE(alloc_user_without_op_refuses_flags),
	KUNIT_CASE(alloc_user_without_op_refuses_parent),
	KUNIT_CASE(alloc_user_without_op_refuses_data),
	KUNIT_CASE(alloc_user_without_iommu_fails_enodev),
	KUNIT_CASE(hw_info_without_op_is_empty),
	KUNIT_CASE(hw_info_without_iommu_fails_enodev),
	KUNIT_CASE(attach_pasid_without_remove_dev_pasid_fails),
	{}
};

static struct kunit_suite driver_defaults_suite = {
	.name = "iommu_driver_defaults",
	.suite_init = mock_suite_init,
	.suite_exit = mock_suite_exit,
	.init = one_device_init,
	.exit = mock_fixture_exit,
	.test_cases = driver_defaults_cases,
};

/*
 * domain_alloc_user and hw_info of a driver that has them (the full mock
 * driver): the core passes the request through and fills in what
 * __iommu_domain_alloc() fills in for other domains.
 */

#define MOCK_DATA_TYPE	0x4d4f434bU

static void alloc_user_passes_flags_to_driver(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	u32 flags = IOMMU_HWPT_ALLOC_NEST_PARENT |
		    IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	struct iommu_domain *domain;
	struct mock_event ev;

	domain = iommu_domain_alloc_user(fx_dev(fx, 0), flags, NULL, NULL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, domain);
	fx_keep_domain(test, domain);
	KUNIT_ASSERT_TRUE(test, mock_last_event(MOCK_OP_DOMAIN_ALLOC_USER,
						&ev));
	KUNIT_EXPECT_PTR_EQ(test, ev.domain, domain);
	KUNIT_EXPECT_PTR_EQ(test, ev.dev, fx_dev(fx, 0));
	KUNIT_EXPECT_EQ(test, ev.flags, flags);
	KUNIT_EXPECT_NULL(test, ev.parent);
	KUNIT_EXPECT_NULL(test, ev.user_data);
	/* Not through domain_alloc() */
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_DOMAIN_ALLOC), 0);
}

static void alloc_user_fills_in_type_ops_page_sizes(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *domain;

	/* The mock leaves all three to the core */
	domain = iommu_domain_alloc_user(fx_dev(fx, 0), 0, NULL, NULL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, domain);
	fx_keep_domain(test, domain);
	KUNIT_EXPECT_EQ(test, domain->type, IOMMU_DOMAIN_UNMANAGED);
	KUNIT_EXPECT_PTR_EQ(test, domain->ops, &mock_domain_ops);
	KUNIT_EXPECT_EQ(test, domain->pgsize_bitmap, (unsigned long)SZ_4K);
}

static void alloc_user_passes_parent_and_data(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	const struct iommu_user_data data = {
		.type = MOCK_DATA_TYPE,
		.len = 16,
	};
	struct iommu_domain *parent, *domain;
	struct mock_event ev;

	parent = iommu_domain_alloc_user(fx_dev(fx, 0),
					 IOMMU_HWPT_ALLOC_NEST_PARENT, NULL,
					 NULL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, parent);
	fx_keep_domain(test, parent);

	domain = iommu_domain_alloc_user(fx_dev(fx, 0), 0, parent, &data);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, domain);
	fx_keep_domain(test, domain);
	KUNIT_ASSERT_TRUE(test, mock_last_event(MOCK_OP_DOMAIN_ALLOC_USER,
						&ev));
	KUNIT_EXPECT_PTR_EQ(test, ev.domain, domain);
	KUNIT_EXPECT_EQ(test, ev.flags, 0);
	KUNIT_EXPECT_PTR_EQ(test, ev.parent, parent);
	KUNIT_EXPECT_PTR_EQ(test, ev.user_data, &data);
	KUNIT_EXPECT_EQ(test, domain->type, IOMMU_DOMAIN_NESTED);
}

static void alloc_user_returns_driver_error(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_domain *domain;

	mock_inject_fault(MOCK_OP_DOMAIN_ALLOC_USER, fx_dev(fx, 0), NULL,
			  MOCK_ANY_TYPE, -EINVAL);

	domain = iommu_domain_alloc_user(fx_dev(fx, 0),
					 IOMMU_HWPT_ALLOC_DIRTY_TRACKING, NULL,
					 NULL);

	KUNIT_EXPECT_PTR_EQ(test, domain, ERR_PTR(-EINVAL));
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_DOMAIN_ALLOC), 0);
}

static void hw_info_returns_driver_data(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	u32 length = 0, type = 0;
	struct mock_hw_info *info;

	info = iommu_get_hw_info(fx_dev(fx, 0), &length, &type);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, info);
	KUNIT_EXPECT_EQ(test, length, (u32)sizeof(*info));
	KUNIT_EXPECT_EQ(test, type, MOCK_HW_INFO_TYPE);
	KUNIT_EXPECT_EQ(test, info->magic, MOCK_HW_INFO_MAGIC);
	KUNIT_EXPECT_EQ(test, mock_count(MOCK_OP_HW_INFO, fx_dev(fx, 0), NULL,
					 MOCK_ANY_TYPE, true), 1);
	/* The caller owns the data */
	kfree(info);
}

static void hw_info_error_clears_length_and_type(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	u32 length = 0, type = 0;
	void *data;

	mock_inject_fault(MOCK_OP_HW_INFO, fx_dev(fx, 0), NULL, MOCK_ANY_TYPE,
			  -EIO);

	data = iommu_get_hw_info(fx_dev(fx, 0), &length, &type);

	KUNIT_EXPECT_PTR_EQ(test, data, ERR_PTR(-EIO));
	KUNIT_EXPECT_EQ(test, length, 0);
	KUNIT_EXPECT_EQ(test, type, IOMMU_HW_INFO_TYPE_NONE);
}

static struct kunit_case driver_user_ops_cases[] = {
	KUNIT_CASE(alloc_user_passes_flags_to_driver),
	KUNIT_CASE(alloc_user_fills_in_type_ops_page_sizes),
	KUNIT_CASE(alloc_user_passes_parent_and_data),
	KUNIT_CASE(alloc_user_returns_driver_error),
	KUNIT_CASE(hw_info_returns_driver_data),
	KUNIT_CASE(hw_info_error_clears_length_and_type),
	{}
};

static struct kunit_suite driver_user_ops_suite = {
	.name = "iommu_driver_user_ops",
	.suite_init = mock_suite_init,
	.suite_exit = mock_suite_exit,
	.init = one_full_device_init,
	.exit = mock_fixture_exit,
	.test_cases = driver_user_ops_cases,
};

/*
 * Devices whose firmware needs DMA to some addresses to keep working (VT-d's
 * RMRRs: IOMMU_RESV_DIRECT) cannot be given to userspace: 6.1 refused it
 * with -EPERM. A relaxable direct region (IOMMU_RESV_DIRECT_RELAXABLE: USB
 * and graphics) does not refuse. The cases add a device with such a region
 * to the fixture's group; the core learns about it when it probes the
 * device.
 */

static struct mock_device *direct_device_add(struct kunit *test, int type)
{
	struct mock_fixture *fx = test->priv;
	struct mock_device *mdev;

	KUNIT_ASSERT_LT(test, fx->nr_devs, MOCK_MAX_GROUP_DEVS);
	mdev = mock_device_add_resv(test, fx->mdev[0], false, type);
	KUNIT_ASSERT_NOT_NULL(test, mdev);
	fx->mdev[fx->nr_devs++] = mdev;
	mock_clear_events();
	return mdev;
}

/* A refused claim changed nothing. */
static void expect_claim_refused(struct kunit *test, struct mock_fixture *fx)
{
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
	expect_group_default(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_DOMAIN_ALLOC), 0);
}

static void group_claim_with_direct_device_fails_eperm(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	direct_device_add(test, IOMMU_RESV_DIRECT);

	KUNIT_EXPECT_EQ(test, fx_claim(fx), -EPERM);

	expect_claim_refused(test, fx);
}

static void dev_claim_of_direct_device_fails_eperm(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	direct_device_add(test, IOMMU_RESV_DIRECT);

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, fx->nr_devs - 1, fx), -EPERM);

	expect_claim_refused(test, fx);
}

static void dev_claim_of_peer_of_direct_device_fails_eperm(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	direct_device_add(test, IOMMU_RESV_DIRECT);

	/* The group is the unit of isolation: the peer takes it all along */
	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 0, fx), -EPERM);

	expect_claim_refused(test, fx);
}

static void claim_of_lone_direct_device_fails_eperm(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct iommu_group *group;
	struct mock_device *mdev;
	struct device *dev;
	int ret;

	mdev = mock_device_add_resv(test, NULL, false, IOMMU_RESV_DIRECT);
	KUNIT_ASSERT_NOT_NULL(test, mdev);
	dev = &mdev->pdev->dev;
	group = iommu_group_get(dev);
	KUNIT_EXPECT_NOT_NULL(test, group);
	mock_clear_events();

	if (group) {
		ret = iommu_group_claim_dma_owner(group, fx);
		KUNIT_EXPECT_EQ(test, ret, -EPERM);
		if (!ret)
			iommu_group_release_dma_owner(group);
		iommu_group_put(group);
	}
	ret = iommu_device_claim_dma_owner(dev, fx);
	KUNIT_EXPECT_EQ(test, ret, -EPERM);
	if (!ret)
		iommu_device_release_dma_owner(dev);

	expect_no_domain_change(test);
	mock_device_remove(mdev);
}

static void claim_with_relaxable_region_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	direct_device_add(test, IOMMU_RESV_DIRECT_RELAXABLE);

	KUNIT_EXPECT_EQ(test, fx_claim(fx), 0);

	expect_group_blocked(test, fx);
}

static void dev_claim_with_relaxable_region_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	direct_device_add(test, IOMMU_RESV_DIRECT_RELAXABLE);

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, fx->nr_devs - 1, fx), 0);

	expect_group_blocked(test, fx);
}

static void claim_with_other_reserved_region_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	direct_device_add(test, IOMMU_RESV_RESERVED);

	KUNIT_EXPECT_EQ(test, fx_claim(fx), 0);

	expect_group_blocked(test, fx);
}

static void dma_driver_binds_to_direct_device(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct mock_device *mdev = direct_device_add(test, IOMMU_RESV_DIRECT);

	/* The kernel's own use of the device is not affected */
	KUNIT_EXPECT_EQ(test, mock_bind(mdev, &mock_dma_driver), 0);

	expect_group_default(test, fx);
}

static void claim_after_direct_device_left_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct mock_device *mdev = direct_device_add(test, IOMMU_RESV_DIRECT);

	KUNIT_ASSERT_EQ(test, fx_claim(fx), -EPERM);
	mock_device_remove(mdev);
	fx->nr_devs--;

	KUNIT_EXPECT_EQ(test, fx_claim(fx), 0);

	expect_group_blocked(test, fx);
}

static struct kunit_case direct_mapping_cases[] = {
	KUNIT_CASE(group_claim_with_direct_device_fails_eperm),
	KUNIT_CASE(dev_claim_of_direct_device_fails_eperm),
	KUNIT_CASE(dev_claim_of_peer_of_direct_device_fails_eperm),
	KUNIT_CASE(claim_of_lone_direct_device_fails_eperm),
	KUNIT_CASE(claim_with_relaxable_region_succeeds),
	KUNIT_CASE(dev_claim_with_relaxable_region_succeeds),
	KUNIT_CASE(claim_with_other_reserved_region_succeeds),
	KUNIT_CASE(dma_driver_binds_to_direct_device),
	KUNIT_CASE(claim_after_direct_device_left_succeeds),
	{}
};

static struct kunit_suite direct_mapping_suite = {
	.name = "iommu_direct_mapping",
	.suite_init = mock_suite_init,
	.suite_exit = mock_suite_exit,
	.init = one_device_init,
	.exit = mock_fixture_exit,
	.test_cases = direct_mapping_cases,
};

/*
 * A release whose attach of the default domain fails (on VT-d it may need a
 * domain id, and users may hold them all): the group stays on its blocking
 * domain, owned by nobody. It must not be stuck there: a later claim takes
 * it as it is, and a DMA API driver binding tries the default domain again.
 * The mock fails the last device of two, so the core has to move the first
 * one back.
 */

/* The next attach of the default domain to the last device fails */
static void release_fails_on_last_device(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	mock_inject_fault(MOCK_OP_ATTACH_DEV, fx_dev(fx, fx->nr_devs - 1),
			  fx->default_domain, MOCK_ANY_TYPE, -EIO);
}

static void failed_release_leaves_group_blocked(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	release_fails_on_last_device(test);

	fx_release(fx);

	expect_group_blocked(test, fx);
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void claim_after_failed_release_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	release_fails_on_last_device(test);
	fx_release(fx);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim(fx), 0);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
	KUNIT_EXPECT_TRUE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void dev_claim_after_failed_dev_release_succeeds(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim_dev(fx, 0, fx), 0);
	release_fails_on_last_device(test);
	fx_release_dev(fx, 0);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, fx_claim_dev(fx, 0, fx), 0);

	expect_group_blocked(test, fx);
	expect_no_domain_change(test);
}

static void dma_driver_bind_after_failed_release_restores_default(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	release_fails_on_last_device(test);
	fx_release(fx);
	mock_clear_events();

	KUNIT_EXPECT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver), 0);

	expect_group_default(test, fx);
}

static void dma_driver_bind_fails_while_default_attach_fails(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;

	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	release_fails_on_last_device(test);
	fx_release(fx);
	release_fails_on_last_device(test);

	/* The driver would do DMA through a blocked group: refused */
	KUNIT_EXPECT_EQ(test, mock_bind(fx_target(fx), &mock_dma_driver), -EIO);

	KUNIT_EXPECT_NULL(test, fx_target(fx)->pdev->dev.driver);
	expect_group_blocked(test, fx);
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static struct kunit_case release_failure_cases[] = {
	KUNIT_CASE(failed_release_leaves_group_blocked),
	KUNIT_CASE(claim_after_failed_release_succeeds),
	KUNIT_CASE(dev_claim_after_failed_dev_release_succeeds),
	KUNIT_CASE(dma_driver_bind_after_failed_release_restores_default),
	KUNIT_CASE(dma_driver_bind_fails_while_default_attach_fails),
	{}
};

static struct kunit_suite release_failure_suite = {
	.name = "iommu_release_failure",
	.suite_init = mock_suite_init,
	.suite_exit = mock_suite_exit,
	.init = two_devices_init,
	.exit = mock_fixture_exit,
	.test_cases = release_failure_cases,
};

kunit_test_suites(&group_owner_one_device_suite,
		  &group_owner_two_devices_suite,
		  &device_owner_one_device_suite,
		  &device_owner_three_devices_suite,
		  &replace_one_device_suite,
		  &replace_three_devices_suite,
		  &pasid_suite,
		  &direct_mapping_suite,
		  &release_failure_suite,
		  &driver_defaults_suite,
		  &driver_user_ops_suite);

MODULE_DESCRIPTION("KUnit tests for the IOMMU core");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(IOMMUFD_INTERNAL);
