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
 *  - accepts only the platform devices the tests create: probe_device()
 *    returns -ENODEV for every other device on those buses;
 *  - puts each mock device into a new group, or into the group of an
 *    earlier mock device, as the test asks;
 *  - records every call the core makes (device probe and release, domain
 *    allocation and freeing by type, attach and detach per device and
 *    domain) in an event log the tests query, tracks the domain each device
 *    is attached to, and can fail the next matching call on request.
 *
 * Drivers are bound through the driver core (device_driver_attach()), so the
 * platform bus' dma_configure() hook takes part exactly as for real drivers:
 * a driver doing DMA through the kernel DMA API is accounted by
 * iommu_device_use_default_domain(), a driver with driver_managed_dma set is
 * not.
 *
 * Each case starts from new devices in a new group (struct mock_fixture,
 * built by the suite's init and torn down by its exit) and checks one
 * transition. Further suites reuse the mock and the fixture and only add
 * cases and a suite definition.
 */

#include <kunit/test.h>
#include <linux/amba/bus.h>
#include <linux/device.h>
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

/* Calls of the core into the mock driver, as recorded in the event log. */
enum mock_op {
	MOCK_OP_PROBE_DEVICE,
	MOCK_OP_RELEASE_DEVICE,
	MOCK_OP_DOMAIN_ALLOC,
	MOCK_OP_DOMAIN_FREE,
	MOCK_OP_ATTACH_DEV,
	MOCK_OP_DETACH_DEV,
};

/* Wildcard for the domain type in fault injection and event queries. */
#define MOCK_ANY_TYPE		UINT_MAX

#define MOCK_MAX_EVENTS		64
#define MOCK_MAX_GROUP_DEVS	4

/**
 * struct mock_event - One call of the core into the mock driver
 * @op: the callback
 * @dev: the device, NULL for domain allocation and freeing
 * @domain: the domain, NULL for device probe and release and for a failed
 *	allocation
 * @type: the domain type, for domain callbacks
 * @ret: what the mock returned: 0 or an error code
 */
struct mock_event {
	enum mock_op op;
	struct device *dev;
	struct iommu_domain *domain;
	unsigned int type;
	int ret;
};

/**
 * struct mock_fault - A failure to inject into the next matching call
 * @armed: the fault is pending
 * @op: the callback to fail
 * @dev: only fail a call for this device; NULL for any device
 * @type: only fail a call for this domain type; MOCK_ANY_TYPE for any
 * @err: the error code to return (domain_alloc returns NULL instead)
 */
struct mock_fault {
	bool armed;
	enum mock_op op;
	struct device *dev;
	unsigned int type;
	int err;
};

/**
 * struct mock_device - A platform device created by a test
 * @pdev: the platform device
 * @node: entry in mock_iommu.devices
 * @group_with: put the device into the group of this mock device, or into
 *	a new group when NULL
 * @def_domain_type: what the def_domain_type callback reports
 * @probed: probe_device() accepted the device and release_device() was not
 *	called yet
 * @domain: the domain the core last attached the device to, NULL when
 *	none or after a detach
 * @nr_drv_probes: how often a mock platform driver's probe ran
 * @nr_drv_removes: how often a mock platform driver's remove ran
 *
 * The fields after @def_domain_type are protected by mock_iommu.lock.
 */
struct mock_device {
	struct platform_device *pdev;
	struct list_head node;
	struct mock_device *group_with;
	unsigned int def_domain_type;
	bool probed;
	struct iommu_domain *domain;
	unsigned int nr_drv_probes;
	unsigned int nr_drv_removes;
};

/**
 * struct mock_domain - A domain allocated by the mock driver
 * @domain: the core's domain
 * @alloc_type: the type the core asked for
 */
struct mock_domain {
	struct iommu_domain domain;
	unsigned int alloc_type;
};

/**
 * struct mock_iommu - The mock IOMMU driver's state
 * @iommu: the instance registered with the core
 * @registered: @iommu is registered and its ops own the buses
 * @lock: protects the fields below and the mock devices' state
 * @devices: the mock devices (struct mock_device) that exist
 * @events: the event log, oldest first
 * @nr_events: entries used in @events
 * @nr_lost_events: events that did not fit into @events
 * @fault: the pending injected failure
 * @nr_live_domains: domains allocated and not yet freed
 * @nr_probed_devices: devices probed and not yet released
 */
struct mock_iommu {
	struct iommu_device iommu;
	bool registered;
	struct mutex lock; /* see the kernel-doc above */
	struct list_head devices;
	struct mock_event events[MOCK_MAX_EVENTS];
	unsigned int nr_events;
	unsigned int nr_lost_events;
	struct mock_fault fault;
	int nr_live_domains;
	int nr_probed_devices;
};

static struct mock_iommu mock = {
	.lock = __MUTEX_INITIALIZER(mock.lock),
	.devices = LIST_HEAD_INIT(mock.devices),
};

static void mock_record(enum mock_op op, struct device *dev,
			struct iommu_domain *domain, unsigned int type, int ret)
{
	struct mock_event *ev;

	mutex_lock(&mock.lock);
	if (mock.nr_events < ARRAY_SIZE(mock.events)) {
		ev = &mock.events[mock.nr_events++];
		ev->op = op;
		ev->dev = dev;
		ev->domain = domain;
		ev->type = type;
		ev->ret = ret;
	} else {
		mock.nr_lost_events++;
	}
	mutex_unlock(&mock.lock);
}

/* Consume the injected fault if it matches the call; return its error. */
static int mock_take_fault(enum mock_op op, struct device *dev,
			   unsigned int type)
{
	struct mock_fault *f = &mock.fault;
	int err = 0;

	mutex_lock(&mock.lock);
	if (f->armed && f->op == op && (!f->dev || f->dev == dev) &&
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
 * @type: only a call for this domain type, or MOCK_ANY_TYPE
 * @err: the error code the callback returns
 *
 * The fault is used up by the first matching call. A fault still pending at
 * the end of a case is dropped by the fixture teardown.
 */
static void mock_inject_fault(enum mock_op op, struct device *dev,
			      unsigned int type, int err)
{
	mutex_lock(&mock.lock);
	mock.fault = (struct mock_fault) {
		.armed = true,
		.op = op,
		.dev = dev,
		.type = type,
		.err = err,
	};
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

static unsigned int mock_device_drv_probes(struct mock_device *mdev)
{
	unsigned int n;

	mutex_lock(&mock.lock);
	n = mdev->nr_drv_probes;
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

static struct iommu_domain *mock_domain_alloc(unsigned int type)
{
	struct mock_domain *md = NULL;
	int err;

	err = mock_take_fault(MOCK_OP_DOMAIN_ALLOC, NULL, type);
	if (!err && !mock_domain_type_supported(type))
		err = -EOPNOTSUPP;
	if (!err) {
		md = kzalloc(sizeof(*md), GFP_KERNEL);
		if (!md)
			err = -ENOMEM;
	}
	if (md) {
		md->alloc_type = type;
		mutex_lock(&mock.lock);
		mock.nr_live_domains++;
		mutex_unlock(&mock.lock);
	}
	mock_record(MOCK_OP_DOMAIN_ALLOC, NULL, md ? &md->domain : NULL, type,
		    err);
	return md ? &md->domain : NULL;
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_domain *md = container_of(domain, struct mock_domain,
					      domain);

	mock_record(MOCK_OP_DOMAIN_FREE, NULL, domain, md->alloc_type, 0);
	mutex_lock(&mock.lock);
	mock.nr_live_domains--;
	mutex_unlock(&mock.lock);
	kfree(md);
}

static int mock_attach_dev(struct iommu_domain *domain, struct device *dev)
{
	struct mock_device *mdev = dev_iommu_priv_get(dev);
	int err;

	err = mock_take_fault(MOCK_OP_ATTACH_DEV, dev, domain->type);
	if (!err) {
		mutex_lock(&mock.lock);
		mdev->domain = domain;
		mutex_unlock(&mock.lock);
	}
	mock_record(MOCK_OP_ATTACH_DEV, dev, domain, domain->type, err);
	return err;
}

static void mock_detach_dev(struct iommu_domain *domain, struct device *dev)
{
	struct mock_device *mdev = dev_iommu_priv_get(dev);

	mutex_lock(&mock.lock);
	if (mdev->domain == domain)
		mdev->domain = NULL;
	mutex_unlock(&mock.lock);
	mock_record(MOCK_OP_DETACH_DEV, dev, domain, domain->type, 0);
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
	mock_record(MOCK_OP_PROBE_DEVICE, dev, NULL, MOCK_ANY_TYPE, 0);
	return &mock.iommu;
}

static void mock_release_device(struct device *dev)
{
	struct mock_device *mdev = dev_iommu_priv_get(dev);

	mutex_lock(&mock.lock);
	mdev->probed = false;
	mock.nr_probed_devices--;
	mutex_unlock(&mock.lock);
	mock_record(MOCK_OP_RELEASE_DEVICE, dev, NULL, MOCK_ANY_TYPE, 0);
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

static const struct iommu_domain_ops mock_domain_ops = {
	.attach_dev = mock_attach_dev,
	.detach_dev = mock_detach_dev,
	.free = mock_domain_free,
};

static const struct iommu_ops mock_iommu_ops = {
	.domain_alloc = mock_domain_alloc,
	.probe_device = mock_probe_device,
	.release_device = mock_release_device,
	.device_group = mock_device_group,
	.def_domain_type = mock_def_domain_type,
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
 * Return: 0 on success, -EBUSY if another IOMMU driver owns the buses, or
 * another error code.
 */
static int mock_iommu_register(void)
{
	int ret;

	ret = iommu_device_sysfs_add(&mock.iommu, NULL, NULL, "iommu-kunit");
	if (ret)
		return ret;

	ret = iommu_device_register(&mock.iommu, &mock_iommu_ops, NULL);
	if (ret) {
		iommu_device_sysfs_remove(&mock.iommu);
		return ret;
	}
	mock.registered = true;
	return 0;
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
	iommu_device_sysfs_remove(&mock.iommu);
	for (i = 0; i < ARRAY_SIZE(mock_buses); i++) {
		if (mock_buses[i]->iommu_ops == &mock_iommu_ops)
			mock_buses[i]->iommu_ops = NULL;
	}
	mock.registered = false;
}

/* The platform drivers bound to the mock devices. */

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
 * mock_device_add() - Create a platform device the mock IOMMU translates
 * @test: the test case
 * @group_with: share the group of this mock device, or NULL for a new group
 *
 * The device is registered with the driver core, which makes the IOMMU core
 * probe it: it gets into its group and is attached to the group's default
 * domain. No driver is bound.
 *
 * Return: the mock device, or NULL on failure (the case failed already).
 */
static struct mock_device *mock_device_add(struct kunit *test,
					   struct mock_device *group_with)
{
	struct mock_device *mdev;
	int ret;

	mdev = kunit_kzalloc(test, sizeof(*mdev), GFP_KERNEL);
	if (!mdev) {
		KUNIT_FAIL(test, "out of memory");
		return NULL;
	}
	mdev->group_with = group_with;
	mdev->def_domain_type = IOMMU_DOMAIN_IDENTITY;

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

/**
 * struct mock_fixture - The devices of one test case
 * @mdev: the mock devices, all in @group; @mdev[@nr_devs - 1] is the one the
 *	cases bind drivers to
 * @nr_devs: number of devices in @mdev
 * @group: the group of the devices; the fixture holds a reference
 * @default_domain: the domain the group was on after the devices were added
 * @claimed: the fixture claimed DMA ownership of @group and did not release
 *	it yet
 */
struct mock_fixture {
	struct mock_device *mdev[MOCK_MAX_GROUP_DEVS];
	unsigned int nr_devs;
	struct iommu_group *group;
	struct iommu_domain *default_domain;
	bool claimed;
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
 *
 * Skips the case if the mock IOMMU could not be registered. Checks that the
 * core probed the devices into one group, allocated one identity default
 * domain for it and attached each device to it, then clears the event log so
 * the case sees only its own calls.
 *
 * Return: 0 (failures abort the case).
 */
static int mock_fixture_init(struct kunit *test, unsigned int nr_devs)
{
	struct mock_fixture *fx;
	struct iommu_group *group;
	unsigned int i;

	if (!mock.registered)
		kunit_skip(test, "another IOMMU driver owns the buses");

	mock_clear_events();
	fx = kunit_kzalloc(test, sizeof(*fx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fx);
	test->priv = fx;

	for (i = 0; i < nr_devs; i++) {
		fx->mdev[i] = mock_device_add(test, i ? fx->mdev[0] : NULL);
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

/**
 * mock_fixture_exit() - Tear down what mock_fixture_init() and the case set up
 * @test: the test case
 *
 * Releases DMA ownership the case left claimed, drops the group reference,
 * unregisters the devices (unbinding their drivers), then checks that the
 * core released every device and freed every domain: nothing leaks from one
 * case into the next.
 */
static void mock_fixture_exit(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	int probed, live;
	unsigned int i, lost;

	if (!fx)
		return;

	if (fx->claimed)
		iommu_group_release_dma_owner(fx->group);
	if (fx->group)
		iommu_group_put(fx->group);
	for (i = fx->nr_devs; i-- > 0;)
		mock_device_remove(fx->mdev[i]);

	mutex_lock(&mock.lock);
	mock.fault.armed = false;
	probed = mock.nr_probed_devices;
	live = mock.nr_live_domains;
	lost = mock.nr_lost_events;
	mutex_unlock(&mock.lock);

	KUNIT_EXPECT_EQ_MSG(test, probed, 0,
			    "devices not released by the core");
	KUNIT_EXPECT_EQ_MSG(test, live, 0, "domains not freed by the core");
	KUNIT_EXPECT_EQ_MSG(test, lost, 0, "event log too small");
}

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
	unsigned int i;

	for (i = 0; i < fx->nr_devs; i++) {
		KUNIT_EXPECT_PTR_EQ(test,
				    iommu_get_domain_for_dev(fx_dev(fx, i)),
				    fx->default_domain);
		KUNIT_EXPECT_PTR_EQ(test, mock_device_domain(fx->mdev[i]),
				    fx->default_domain);
	}
}

/* The core did not change any device's domain since the log was cleared. */
static void expect_no_domain_change(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_ATTACH_DEV), 0);
	KUNIT_EXPECT_EQ(test, mock_count_op(MOCK_OP_DETACH_DEV), 0);
}

/*
 * Group DMA ownership of 6.1 (iommu_group_claim_dma_owner() and the driver
 * core accounting of DMA API drivers): these cases pin down its behaviour
 * so the per-device ownership rework keeps it.
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

	/*
	 * Fail the first device the core moves. With a later device failing,
	 * 6.1 leaves the devices moved before it on the blocking domain while
	 * the group still reports the default domain; that is not pinned here.
	 */
	mock_inject_fault(MOCK_OP_ATTACH_DEV, fx_dev(fx, 0),
			  IOMMU_DOMAIN_BLOCKED, -EIO);

	KUNIT_EXPECT_EQ(test, fx_claim(fx), -EIO);

	expect_group_default(test, fx);
	KUNIT_EXPECT_EQ(test, mock_count(MOCK_OP_ATTACH_DEV, NULL, NULL,
					 MOCK_ANY_TYPE, true), 0);
	KUNIT_EXPECT_FALSE(test, iommu_group_dma_owner_claimed(fx->group));
}

static void device_added_while_claimed_joins_blocking(struct kunit *test)
{
	struct mock_fixture *fx = test->priv;
	struct mock_device *mdev;

	KUNIT_ASSERT_LT(test, fx->nr_devs, MOCK_MAX_GROUP_DEVS);
	KUNIT_ASSERT_EQ(test, fx_claim(fx), 0);
	mock_clear_events();

	mdev = mock_device_add(test, fx->mdev[0]);
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

static int one_device_init(struct kunit *test)
{
	return mock_fixture_init(test, 1);
}

static int two_devices_init(struct kunit *test)
{
	return mock_fixture_init(test, 2);
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

kunit_test_suites(&group_owner_one_device_suite,
		  &group_owner_two_devices_suite);

MODULE_DESCRIPTION("KUnit tests for the IOMMU core");
MODULE_LICENSE("GPL");
