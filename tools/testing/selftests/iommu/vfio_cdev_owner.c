// SPDX-License-Identifier: GPL-2.0
/*
 * Per-device DMA ownership through the VFIO device cdev, in an IOMMU group
 * of two edu functions and in a group an edu shares with its PCIe port.
 *
 * VFIO_DEVICE_BIND_IOMMUFD claims the DMA ownership of one device for the
 * iommufd context; the group is user-owned while any device of it is
 * claimed. Checked here:
 *  - a driver using the kernel DMA API cannot bind to another device of a
 *    user-owned group (EBUSY from the bus' dma_configure, before its probe),
 *    drivers managing DMA themselves can (pci-stub, the PCIe port driver),
 *    and vfio-pci binds late;
 *  - a bind fails with EBUSY while a DMA-API driver is bound in the group,
 *    and leaves nothing claimed;
 *  - the devices of a group can be bound to one context only (EBUSY for
 *    another); claims are counted, and the group goes back to the DMA API
 *    when the last bound device is closed, not when the context is;
 *  - the VFIO group and the device cdev exclude each other (EBUSY);
 *  - the claim and an attach really move the group: DMA lands.
 *
 * The DMA-API driver is DMA_API_DRIVER (8250_pci's "serial"), bound for real
 * with dma_api_bind() (vfio_util.h).
 *
 * Needs two edu functions in one IOMMU group, an edu in one group with its
 * port (see vfio_util.h for the overrides), iommufd, vfio-pci with
 * CONFIG_VFIO_DEVICE_CDEV and the DMA-API driver. The edu functions are left
 * unbound and without driver_override, whatever happens in a test.
 */
#include "../kselftest_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "edu.h"
#include "vfio_util.h"

#define MAX_HELD	8

#define IOVA_SRC	0x100000ULL
#define IOVA_DST	0x200000ULL

static bool driver_exists(const char *driver)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s", driver);
	return !access(path, F_OK);
}

static bool unbound(const char *bdf)
{
	char name[64];

	return !pci_driver(bdf, name, sizeof(name)) && !name[0];
}

/* What a test holds; the teardown lets go of it before touching drivers */
struct held {
	int fd[MAX_HELD];
	struct edu edu;		/* its BAR mapping holds the device file */
	uint8_t *buf;		/* DMA source and destination */
};

static void held_init(struct held *h)
{
	int i;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < MAX_HELD; i++)
		h->fd[i] = -1;
}

/* Hold @fd (passed through, like a negative errno) until the teardown */
static int held_keep(struct held *h, int fd)
{
	int i;

	if (fd < 0)
		return fd;
	for (i = 0; i < MAX_HELD; i++) {
		if (h->fd[i] < 0) {
			h->fd[i] = fd;
			return fd;
		}
	}
	close(fd);
	return -EMFILE;
}

static int held_close(struct held *h, int fd)
{
	int i;

	for (i = 0; i < MAX_HELD; i++)
		if (h->fd[i] == fd)
			h->fd[i] = -1;
	return close(fd) ? -errno : 0;
}

static void held_release(struct held *h)
{
	int i;

	edu_uninit(&h->edu);
	for (i = MAX_HELD - 1; i >= 0; i--) {
		if (h->fd[i] >= 0)
			close(h->fd[i]);
		h->fd[i] = -1;
	}
	if (h->buf)
		munmap(h->buf, 2 * EDU_BUF_SIZE);
	h->buf = NULL;
}

static int open_iommufd(struct held *h)
{
	int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);

	return held_keep(h, fd < 0 ? -errno : fd);
}

static int open_cdev(struct held *h, const char *bdf)
{
	return held_keep(h, vfio_cdev_open(bdf));
}

static int ioas_alloc(int iommufd, __u32 *ioas_id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &cmd))
		return -errno;
	*ioas_id = cmd.out_ioas_id;
	return 0;
}

static int ioas_map(int iommufd, __u32 ioas_id, void *va, size_t len,
		    __u64 iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	return ioctl(iommufd, IOMMU_IOAS_MAP, &cmd) ? -errno : 0;
}

/* A cdev file does nothing but BIND before it is bound */
static bool cdev_bound(int dev)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	return !ioctl(dev, VFIO_DEVICE_GET_INFO, &info);
}

/*
 * The group of @bdf is user-owned: the DMA-API driver is refused. @bdf must
 * be unbound: a bound device refuses another driver with EBUSY as well.
 */
static void expect_dma_api_refused(struct __test_metadata *_metadata,
				   const char *bdf)
{
	ASSERT_TRUE(unbound(bdf));
	ASSERT_EQ(-EBUSY, dma_api_bind(bdf));
	ASSERT_TRUE(unbound(bdf));
}

/* Nobody owns the group of @bdf: the driver binds, and is unbound again */
static void expect_dma_api_allowed(struct __test_metadata *_metadata,
				   const char *bdf)
{
	ASSERT_TRUE(unbound(bdf));
	ASSERT_EQ(0, dma_api_bind_unbind(bdf));
	ASSERT_TRUE(unbound(bdf));
}

/*
 * A buffer mapped at IOVA_SRC and IOVA_DST in a new IOAS of @iommufd, and
 * the edu behind the bound @dev brought up.
 */
static void dma_prepare(struct __test_metadata *_metadata, struct held *h,
			int iommufd, int dev, __u32 *ioas_id)
{
	void *p;

	p = mmap(NULL, 2 * EDU_BUF_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	h->buf = p;
	ASSERT_EQ(0, ioas_alloc(iommufd, ioas_id));
	ASSERT_EQ(0, ioas_map(iommufd, *ioas_id, h->buf, EDU_BUF_SIZE,
			      IOVA_SRC));
	ASSERT_EQ(0, ioas_map(iommufd, *ioas_id, h->buf + EDU_BUF_SIZE,
			      EDU_BUF_SIZE, IOVA_DST));
	ASSERT_EQ(0, edu_init(&h->edu, dev));
}

/* RAM at IOVA_SRC -> device -> RAM at IOVA_DST comes back intact */
static void expect_dma_lands(struct __test_metadata *_metadata,
			     struct held *h, uint8_t seed)
{
	uint8_t *src = h->buf, *dst = h->buf + EDU_BUF_SIZE;
	size_t i;

	for (i = 0; i < EDU_BUF_SIZE; i++)
		src[i] = seed + i * 13 + (i >> 8);
	memset(dst, 0, EDU_BUF_SIZE);
	ASSERT_EQ(0, edu_dma_from_ram(&h->edu, IOVA_SRC, 0, EDU_BUF_SIZE));
	ASSERT_EQ(0, edu_dma_to_ram(&h->edu, 0, IOVA_DST, EDU_BUF_SIZE));
	ASSERT_EQ(0, memcmp(src, dst, EDU_BUF_SIZE));
}

/* Whether the test runs: not skipped, and its setup worked */
static bool ready(struct __test_metadata *_metadata, int setup_err)
{
	if (_metadata->skip)
		return false;
	ASSERT_EQ(0, setup_err);
	return true;
}

FIXTURE(multi_function) {
	char fn0[PCI_BDF_SIZE];
	char fn1[PCI_BDF_SIZE];
	int group_id;
	int setup_err;		/* the setup's first error, failed by the test */
	bool restore;		/* drivers touched: unbind both at teardown */
	struct held held;
};

/*
 * fn0 bound to vfio-pci, fn1 unbound. Failures are left for the test to
 * report: an ASSERT here would skip the teardown, and with it the restore.
 */
FIXTURE_SETUP(multi_function)
{
	char path[256];
	int ret;

	held_init(&self->held);
	if (access("/dev/iommu", F_OK))
		SKIP(return, "no /dev/iommu");
	if (edu_find_multi(self->fn0, self->fn1))
		SKIP(return, "no IOMMU group with two edu functions");
	if (!driver_exists("vfio-pci") || !driver_exists(DMA_API_DRIVER))
		SKIP(return, "needs the vfio-pci and %s drivers", DMA_API_DRIVER);

	self->restore = true;
	ret = pci_release(self->fn1);
	if (!ret)
		ret = pci_release(self->fn0);
	if (!ret)
		ret = pci_bind(self->fn0, "vfio-pci");
	if (!ret && vfio_cdev_path(self->fn0, path, sizeof(path)) == -ENODEV)
		SKIP(return, "no VFIO device cdev (CONFIG_VFIO_DEVICE_CDEV)");
	self->group_id = pci_iommu_group(self->fn0);
	if (!ret && self->group_id < 0)
		ret = self->group_id;
	if (!ret && pci_iommu_group(self->fn1) != self->group_id)
		ret = -EXDEV;
	self->setup_err = ret;
}

FIXTURE_TEARDOWN(multi_function)
{
	held_release(&self->held);
	if (self->restore) {
		pci_release(self->fn1);
		pci_release(self->fn0);
		dma_api_remove_ids();
	}
}

/*
 * Binding one function claims the group: a DMA-API driver is refused on
 * the other function, a driver managing DMA itself is not, and vfio-pci
 * binds late, the group staying claimed.
 */
TEST_F(multi_function, claim_refuses_kernel_driver)
{
	struct held *h = &self->held;
	int ictx, dev, dev1;
	__u32 dev_id = 0;

	if (!ready(_metadata, self->setup_err))
		return;
	ASSERT_TRUE(unbound(self->fn1));
	ictx = open_iommufd(h);
	ASSERT_LE(0, ictx);
	dev = open_cdev(h, self->fn0);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, vfio_cdev_bind(dev, ictx, &dev_id));
	ASSERT_NE(0, dev_id);

	expect_dma_api_refused(_metadata, self->fn1);

	if (driver_exists("pci-stub")) {
		ASSERT_EQ(0, pci_bind(self->fn1, "pci-stub"));
		ASSERT_TRUE(pci_has_driver(self->fn1, "pci-stub"));
		ASSERT_EQ(0, pci_unbind(self->fn1));
	}

	ASSERT_EQ(0, pci_bind(self->fn1, "vfio-pci"));
	ASSERT_TRUE(pci_has_driver(self->fn1, "vfio-pci"));
	ASSERT_TRUE(cdev_bound(dev));
	/* A late device joins the claim of the same context, and leaves it */
	dev1 = open_cdev(h, self->fn1);
	ASSERT_LE(0, dev1);
	ASSERT_EQ(0, vfio_cdev_bind(dev1, ictx, NULL));
	ASSERT_EQ(0, held_close(h, dev1));

	/* None of that released the claim of fn0 */
	ASSERT_EQ(0, pci_unbind(self->fn1));
	expect_dma_api_refused(_metadata, self->fn1);
}

/*
 * With a DMA-API driver bound to fn1, binding fn0 fails and claims
 * nothing: the DMA-API driver binds again, and once it is gone the same file binds.
 */
TEST_F(multi_function, kernel_driver_blocks_claim)
{
	struct held *h = &self->held;
	int ictx, dev;

	if (!ready(_metadata, self->setup_err))
		return;
	ASSERT_EQ(0, dma_api_bind(self->fn1));
	ASSERT_TRUE(pci_has_driver(self->fn1, DMA_API_DRIVER));

	ictx = open_iommufd(h);
	ASSERT_LE(0, ictx);
	dev = open_cdev(h, self->fn0);
	ASSERT_LE(0, dev);
	ASSERT_EQ(-EBUSY, vfio_cdev_bind(dev, ictx, NULL));
	ASSERT_FALSE(cdev_bound(dev));
	ASSERT_TRUE(pci_has_driver(self->fn1, DMA_API_DRIVER));

	ASSERT_EQ(0, pci_unbind(self->fn1));
	ASSERT_EQ(0, dma_api_bind(self->fn1));
	ASSERT_TRUE(pci_has_driver(self->fn1, DMA_API_DRIVER));
	ASSERT_EQ(0, pci_unbind(self->fn1));

	ASSERT_EQ(0, vfio_cdev_bind(dev, ictx, NULL));
	ASSERT_TRUE(cdev_bound(dev));
	expect_dma_api_refused(_metadata, self->fn1);
}

/*
 * Both functions bound to one context: one owner, one HW pagetable for the
 * group, and the group user-owned until the last bound device is closed.
 */
TEST_F(multi_function, same_iommufd_counts_claims)
{
	struct held *h = &self->held;
	__u32 id0 = 0, id1 = 0, ioas = 0, hwpt0 = 0, hwpt1 = 0;
	int ictx, dev0, dev1;

	if (!ready(_metadata, self->setup_err))
		return;
	ASSERT_EQ(0, pci_bind(self->fn1, "vfio-pci"));
	ictx = open_iommufd(h);
	ASSERT_LE(0, ictx);
	dev0 = open_cdev(h, self->fn0);
	ASSERT_LE(0, dev0);
	dev1 = open_cdev(h, self->fn1);
	ASSERT_LE(0, dev1);

	ASSERT_EQ(0, vfio_cdev_bind(dev0, ictx, &id0));
	ASSERT_EQ(0, vfio_cdev_bind(dev1, ictx, &id1));
	ASSERT_NE(0, id0);
	ASSERT_NE(0, id1);
	ASSERT_NE(id0, id1);

	ASSERT_EQ(0, ioas_alloc(ictx, &ioas));
	hwpt0 = ioas;
	ASSERT_EQ(0, vfio_cdev_attach(dev0, &hwpt0));
	hwpt1 = ioas;
	ASSERT_EQ(0, vfio_cdev_attach(dev1, &hwpt1));
	ASSERT_EQ(hwpt0, hwpt1);

	/* fn1 still claims the group once fn0 is closed and unbound */
	ASSERT_EQ(0, held_close(h, dev0));
	ASSERT_EQ(0, pci_unbind(self->fn0));
	expect_dma_api_refused(_metadata, self->fn0);

	ASSERT_EQ(0, held_close(h, dev1));
	expect_dma_api_allowed(_metadata, self->fn0);
}

/* A second context cannot claim a device of a group the first one owns. */
TEST_F(multi_function, other_iommufd_refused)
{
	struct held *h = &self->held;
	int ictx_a, ictx_b, dev0, dev1;

	if (!ready(_metadata, self->setup_err))
		return;
	ASSERT_EQ(0, pci_bind(self->fn1, "vfio-pci"));
	ictx_a = open_iommufd(h);
	ASSERT_LE(0, ictx_a);
	ictx_b = open_iommufd(h);
	ASSERT_LE(0, ictx_b);
	dev0 = open_cdev(h, self->fn0);
	ASSERT_LE(0, dev0);
	dev1 = open_cdev(h, self->fn1);
	ASSERT_LE(0, dev1);

	ASSERT_EQ(0, vfio_cdev_bind(dev0, ictx_a, NULL));
	ASSERT_EQ(-EBUSY, vfio_cdev_bind(dev1, ictx_b, NULL));
	ASSERT_FALSE(cdev_bound(dev1));

	/* Released with its last device, the group goes to the other one */
	ASSERT_EQ(0, held_close(h, dev0));
	ASSERT_EQ(0, vfio_cdev_bind(dev1, ictx_b, NULL));
	dev0 = open_cdev(h, self->fn0);
	ASSERT_LE(0, dev0);
	ASSERT_EQ(-EBUSY, vfio_cdev_bind(dev0, ictx_a, NULL));
	ASSERT_FALSE(cdev_bound(dev0));
	ASSERT_EQ(0, vfio_cdev_bind(dev0, ictx_b, NULL));
}

/* While a device is bound through its cdev, the VFIO group does not open. */
TEST_F(multi_function, cdev_excludes_group)
{
	struct held *h = &self->held;
	int ictx, dev, group;

	if (!ready(_metadata, self->setup_err))
		return;
	ictx = open_iommufd(h);
	ASSERT_LE(0, ictx);
	dev = open_cdev(h, self->fn0);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, vfio_cdev_bind(dev, ictx, NULL));

	ASSERT_EQ(-EBUSY, held_keep(h, vfio_group_open(self->group_id)));
	/* The failed open left the claim alone */
	expect_dma_api_refused(_metadata, self->fn1);

	ASSERT_EQ(0, held_close(h, dev));
	group = held_keep(h, vfio_group_open(self->group_id));
	ASSERT_LE(0, group);
}

/*
 * While the VFIO group is open, open only or owned through a container, no
 * device of it binds through its cdev; closing the group lets them bind.
 */
TEST_F(multi_function, group_excludes_cdev)
{
	struct held *h = &self->held;
	int ictx, dev0, dev1, group, container;

	if (!ready(_metadata, self->setup_err))
		return;
	ASSERT_EQ(0, pci_bind(self->fn1, "vfio-pci"));
	ictx = open_iommufd(h);
	ASSERT_LE(0, ictx);
	dev0 = open_cdev(h, self->fn0);
	ASSERT_LE(0, dev0);
	dev1 = open_cdev(h, self->fn1);
	ASSERT_LE(0, dev1);
	group = held_keep(h, vfio_group_open(self->group_id));
	ASSERT_LE(0, group);

	ASSERT_EQ(-EBUSY, vfio_cdev_bind(dev0, ictx, NULL));

	if (!access("/dev/vfio/vfio", F_OK)) {
		container = held_keep(h, vfio_container_open());
		ASSERT_LE(0, container);
		ASSERT_EQ(0, vfio_group_set_container(group, container));
		ASSERT_EQ(0, vfio_container_set_iommu(container,
						      VFIO_TYPE1v2_IOMMU));
		ASSERT_EQ(-EBUSY, vfio_cdev_bind(dev0, ictx, NULL));
		ASSERT_EQ(-EBUSY, vfio_cdev_bind(dev1, ictx, NULL));
	} else {
		TH_LOG("no /dev/vfio/vfio: group claim not tried");
	}
	ASSERT_FALSE(cdev_bound(dev0));
	ASSERT_FALSE(cdev_bound(dev1));

	ASSERT_EQ(0, held_close(h, group));
	ASSERT_EQ(0, vfio_cdev_bind(dev0, ictx, NULL));
	ASSERT_EQ(0, vfio_cdev_bind(dev1, ictx, NULL));
}

/* Closing the bound device, attached or not, releases the claim. */
TEST_F(multi_function, release_on_device_close)
{
	struct held *h = &self->held;
	__u32 ioas = 0, hwpt = 0;
	int ictx, dev;

	if (!ready(_metadata, self->setup_err))
		return;
	ictx = open_iommufd(h);
	ASSERT_LE(0, ictx);
	dev = open_cdev(h, self->fn0);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, vfio_cdev_bind(dev, ictx, NULL));
	ASSERT_EQ(0, ioas_alloc(ictx, &ioas));
	hwpt = ioas;
	ASSERT_EQ(0, vfio_cdev_attach(dev, &hwpt));
	expect_dma_api_refused(_metadata, self->fn1);

	/* The context stays open; it holds no claim without a device */
	ASSERT_EQ(0, held_close(h, dev));
	expect_dma_api_allowed(_metadata, self->fn1);

	/* And claims again with a new bind */
	dev = open_cdev(h, self->fn0);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, vfio_cdev_bind(dev, ictx, NULL));
	expect_dma_api_refused(_metadata, self->fn1);
}

/* The bound device keeps its context, and the claim, after the fd closes. */
TEST_F(multi_function, claim_outlives_iommufd)
{
	struct held *h = &self->held;
	int ictx, dev;

	if (!ready(_metadata, self->setup_err))
		return;
	ictx = open_iommufd(h);
	ASSERT_LE(0, ictx);
	dev = open_cdev(h, self->fn0);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, vfio_cdev_bind(dev, ictx, NULL));

	ASSERT_EQ(0, held_close(h, ictx));
	ASSERT_TRUE(cdev_bound(dev));
	expect_dma_api_refused(_metadata, self->fn1);

	ASSERT_EQ(0, held_close(h, dev));
	expect_dma_api_allowed(_metadata, self->fn1);
}

/*
 * The claim moved the group off the DMA API: bound and not attached, the
 * device's DMA is blocked, and the IOMMU reports it (an untouched buffer
 * alone would not tell a blocked DMA from one that went elsewhere);
 * attached to an IOAS, it lands there, with fn1 bound late to vfio-pci and
 * not opened.
 */
TEST_F(multi_function, dma_through_claimed_group)
{
	struct held *h = &self->held;
	__u32 ioas = 0, hwpt = 0;
	uint8_t *dst;
	int ictx, dev, kmsg;

	if (!ready(_metadata, self->setup_err))
		return;
	kmsg = held_keep(h, kmsg_open());
	ASSERT_LE(0, kmsg);
	ictx = open_iommufd(h);
	ASSERT_LE(0, ictx);
	dev = open_cdev(h, self->fn0);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, vfio_cdev_bind(dev, ictx, NULL));
	ASSERT_EQ(0, pci_bind(self->fn1, "vfio-pci"));

	dma_prepare(_metadata, h, ictx, dev, &ioas);
	dst = h->buf + EDU_BUF_SIZE;
	memset(dst, 0x5a, EDU_BUF_SIZE);
	ASSERT_EQ(0, edu_dma_blocked(&h->edu, self->fn0, kmsg, IOVA_DST,
				     EDU_BUF_SIZE, true));
	ASSERT_TRUE(all_bytes(dst, EDU_BUF_SIZE, 0x5a));

	hwpt = ioas;
	ASSERT_EQ(0, vfio_cdev_attach(dev, &hwpt));
	expect_dma_lands(_metadata, h, 0x3d);
	ASSERT_TRUE(pci_has_driver(self->fn1, "vfio-pci"));
}

FIXTURE(pcie_port) {
	char edu[PCI_BDF_SIZE];
	char port[PCI_BDF_SIZE];
	int setup_err;
	bool restore;
	struct held held;
};

FIXTURE_SETUP(pcie_port)
{
	char path[256];
	int ret;

	held_init(&self->held);
	if (access("/dev/iommu", F_OK))
		SKIP(return, "no /dev/iommu");
	if (edu_find_behind_port(self->edu, self->port))
		SKIP(return, "no edu sharing its IOMMU group with its port");
	if (!driver_exists("vfio-pci"))
		SKIP(return, "no vfio-pci driver");

	self->restore = true;
	ret = pci_release(self->edu);
	if (!ret)
		ret = pci_bind(self->edu, "vfio-pci");
	if (!ret && vfio_cdev_path(self->edu, path, sizeof(path)) == -ENODEV)
		SKIP(return, "no VFIO device cdev (CONFIG_VFIO_DEVICE_CDEV)");
	self->setup_err = ret;
}

FIXTURE_TEARDOWN(pcie_port)
{
	held_release(&self->held);
	if (self->restore)
		pci_release(self->edu);
}

/*
 * The PCIe port driver (driver_managed_dma) bound to the port in the group
 * does not keep the edu from being claimed, stays bound, and the edu's DMA
 * goes through the IOAS.
 */
TEST_F(pcie_port, port_driver_does_not_block)
{
	struct held *h = &self->held;
	__u32 ioas = 0, hwpt = 0;
	int ictx, dev;

	if (!ready(_metadata, self->setup_err))
		return;
	ASSERT_TRUE(pci_has_driver(self->port, "pcieport"));
	ASSERT_EQ(pci_iommu_group(self->port), pci_iommu_group(self->edu));

	ictx = open_iommufd(h);
	ASSERT_LE(0, ictx);
	dev = open_cdev(h, self->edu);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, vfio_cdev_bind(dev, ictx, NULL));
	ASSERT_TRUE(pci_has_driver(self->port, "pcieport"));

	dma_prepare(_metadata, h, ictx, dev, &ioas);
	hwpt = ioas;
	ASSERT_EQ(0, vfio_cdev_attach(dev, &hwpt));
	expect_dma_lands(_metadata, h, 0xa7);

	edu_uninit(&h->edu);
	ASSERT_EQ(0, held_close(h, dev));
	ASSERT_TRUE(pci_has_driver(self->port, "pcieport"));
}

TEST_HARNESS_MAIN
