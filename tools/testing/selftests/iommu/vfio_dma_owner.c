// SPDX-License-Identifier: GPL-2.0
/*
 * DMA ownership of IOMMU groups through the legacy VFIO interface.
 *
 * Once userspace owns a group (group fd open, attached to a container with
 * an IOMMU set), a driver that uses the kernel DMA API must not bind to any
 * device of the group, while drivers that manage DMA themselves
 * (driver_managed_dma: vfio-pci, pci-stub, pcieport) may. When the owner
 * goes away, kernel drivers may bind again.
 *
 * Needs two edu functions sharing an IOMMU group, and an edu sharing its
 * group with the PCIe port above it (see vfio_util.h for the overrides).
 * The DMA-API driver tried is DMA_API_DRIVER (8250_pci's "serial"), made to bind
 * to an edu with dma_api_bind() (vfio_util.h): where it is allowed, it
 * binds (and is unbound again); where it is not, the bind fails with
 * EBUSY.
 */
#include "../kselftest_harness.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <linux/vfio.h>

#include "edu.h"
#include "vfio_util.h"

#define KMSG_QUIET_MS	300

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

/* Claim the group for userspace the way 6.1 VFIO does it. */
static void own_group(struct __test_metadata *_metadata, int group_id,
		      int *group, int *container)
{
	int flags;

	*group = vfio_group_open(group_id);
	ASSERT_LE(0, *group);
	flags = vfio_group_flags(*group);
	ASSERT_LE(0, flags);
	ASSERT_TRUE(flags & VFIO_GROUP_FLAGS_VIABLE);
	*container = vfio_container_open();
	ASSERT_LE(0, *container);
	ASSERT_EQ(0, vfio_group_set_container(*group, *container));
	ASSERT_EQ(0, vfio_container_set_iommu(*container, VFIO_TYPE1v2_IOMMU));
}

static void disown_group(int *group, int *container)
{
	if (*group >= 0)
		close(*group);
	if (*container >= 0)
		close(*container);
	*group = -1;
	*container = -1;
}

/*
 * @device DMAs through the IOMMU domain of @container: a pattern copied
 * RAM -> device -> RAM through IOVA 0x100000 comes back intact.
 */
static void expect_dma_round_trip(struct __test_metadata *_metadata,
				  int container, int device, uint8_t pattern)
{
	struct edu edu;
	uint8_t *buf;

	ASSERT_EQ(0, edu_init(&edu, device));
	buf = mmap(NULL, 2 * EDU_BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, pattern, EDU_BUF_SIZE);
	memset(buf + EDU_BUF_SIZE, 0, EDU_BUF_SIZE);
	ASSERT_EQ(0, vfio_type1_map(container, buf, 0x100000,
				    2 * EDU_BUF_SIZE));
	ASSERT_EQ(0, edu_dma_from_ram(&edu, 0x100000, 0, EDU_BUF_SIZE));
	ASSERT_EQ(0, edu_dma_to_ram(&edu, 0, 0x100000 + EDU_BUF_SIZE,
				    EDU_BUF_SIZE));
	ASSERT_EQ(0, memcmp(buf, buf + EDU_BUF_SIZE, EDU_BUF_SIZE));
	edu_uninit(&edu);
	munmap(buf, 2 * EDU_BUF_SIZE);
}

FIXTURE(multi_function) {
	char fn0[PCI_BDF_SIZE];
	char fn1[PCI_BDF_SIZE];
	bool bound;
	int group_id;
	int group;
	int container;
	int kmsg;
};

FIXTURE_SETUP(multi_function)
{
	self->group = -1;
	self->container = -1;
	self->kmsg = -1;

	if (access("/dev/vfio/vfio", F_OK))
		SKIP(return, "no /dev/vfio/vfio");
	if (edu_find_multi(self->fn0, self->fn1))
		SKIP(return, "no IOMMU group with two edu functions");
	if (!driver_exists(DMA_API_DRIVER) || !driver_exists("pci-stub"))
		SKIP(return, "needs the %s and pci-stub drivers", DMA_API_DRIVER);

	self->bound = true;
	ASSERT_EQ(0, pci_release(self->fn1));
	ASSERT_EQ(0, pci_release(self->fn0));
	self->group_id = pci_iommu_group(self->fn0);
	ASSERT_LE(0, self->group_id);
	ASSERT_EQ(self->group_id, pci_iommu_group(self->fn1));
	ASSERT_EQ(0, pci_bind(self->fn0, "vfio-pci"));
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
}

FIXTURE_TEARDOWN(multi_function)
{
	disown_group(&self->group, &self->container);
	if (self->kmsg >= 0)
		close(self->kmsg);
	if (self->bound) {
		pci_release(self->fn1);
		pci_release(self->fn0);
		dma_api_remove_ids();
	}
}

/* Nobody owns the group of @bdf: the driver binds, and is unbound again */
static void expect_dma_api_allowed(struct __test_metadata *_metadata,
				   const char *bdf)
{
	ASSERT_TRUE(unbound(bdf));
	ASSERT_EQ(0, dma_api_bind_unbind(bdf));
	ASSERT_TRUE(unbound(bdf));
}

/* The kernel log has no line about @bdf (within a short wait). */
static bool kmsg_silent_about(int kmsg, const char *bdf)
{
	const char *const needles[] = { bdf, NULL };
	char line[512];

	if (kmsg_wait(kmsg, needles, KMSG_QUIET_MS, line, sizeof(line))) {
		fprintf(stderr, "# kernel: %s\n", line);
		return false;
	}
	return true;
}

/*
 * The refusal is due to ownership: before the group is owned and after it
 * is released, the DMA-API driver binds; while owned, binding fails with
 * EBUSY before the driver sees the device.
 */
TEST_F(multi_function, kernel_driver_refused_while_owned)
{
	int ret;

	if (_metadata->skip)
		return;

	expect_dma_api_allowed(_metadata, self->fn1);

	own_group(_metadata, self->group_id, &self->group, &self->container);
	ASSERT_TRUE(pci_has_driver(self->fn0, "vfio-pci"));

	/* Only what happens from here on */
	ASSERT_LE(0, lseek(self->kmsg, 0, SEEK_END));
	ret = dma_api_bind(self->fn1);
	TH_LOG("owned: bind %s to %s: %s", self->fn1, DMA_API_DRIVER,
	       strerror(-ret));
	ASSERT_EQ(-EBUSY, ret);
	ASSERT_TRUE(unbound(self->fn1));
	/* The driver never got to probe: nothing logged about the device */
	ASSERT_TRUE(kmsg_silent_about(self->kmsg, self->fn1));
	/* Still owned and usable */
	ASSERT_TRUE(vfio_group_flags(self->group) & VFIO_GROUP_FLAGS_VIABLE);

	disown_group(&self->group, &self->container);
	expect_dma_api_allowed(_metadata, self->fn1);
}

/* An open group fd alone does not make the group user-owned (6.1 VFIO). */
TEST_F(multi_function, group_fd_alone_not_owned)
{
	if (_metadata->skip)
		return;

	self->group = vfio_group_open(self->group_id);
	ASSERT_LE(0, self->group);
	expect_dma_api_allowed(_metadata, self->fn1);
}

/* Releasing the ownership with VFIO_GROUP_UNSET_CONTAINER */
TEST_F(multi_function, unset_container_releases)
{
	if (_metadata->skip)
		return;

	own_group(_metadata, self->group_id, &self->group, &self->container);
	ASSERT_EQ(-EBUSY, dma_api_bind(self->fn1));
	ASSERT_EQ(0, vfio_group_unset_container(self->group));
	expect_dma_api_allowed(_metadata, self->fn1);
	/* And claimable again */
	ASSERT_EQ(0, vfio_group_set_container(self->group, self->container));
	ASSERT_EQ(-EBUSY, dma_api_bind(self->fn1));
	ASSERT_TRUE(unbound(self->fn1));
}

/* pci-stub does not use the DMA API and may join a user-owned group. */
TEST_F(multi_function, pci_stub_allowed_while_owned)
{
	if (_metadata->skip)
		return;

	own_group(_metadata, self->group_id, &self->group, &self->container);
	ASSERT_EQ(0, pci_bind(self->fn1, "pci-stub"));
	ASSERT_TRUE(pci_has_driver(self->fn1, "pci-stub"));
	ASSERT_TRUE(vfio_group_flags(self->group) & VFIO_GROUP_FLAGS_VIABLE);

	ASSERT_EQ(0, pci_unbind(self->fn1));
	ASSERT_EQ(-EBUSY, dma_api_bind(self->fn1));
	ASSERT_TRUE(unbound(self->fn1));
}

/*
 * vfio-pci may bind to another function of a user-owned group, and the new
 * device is usable through the owning group at once: DMA through the
 * container's IOMMU domain works.
 */
TEST_F(multi_function, vfio_late_bind_while_owned)
{
	int device;

	if (_metadata->skip)
		return;

	own_group(_metadata, self->group_id, &self->group, &self->container);
	ASSERT_EQ(0, pci_bind(self->fn1, "vfio-pci"));
	ASSERT_TRUE(pci_has_driver(self->fn1, "vfio-pci"));

	device = vfio_group_device_fd(self->group, self->fn1);
	ASSERT_LE(0, device);
	expect_dma_round_trip(_metadata, self->container, device, 0xc3);
	close(device);
}

FIXTURE(pcie_port) {
	char edu[PCI_BDF_SIZE];
	char port[PCI_BDF_SIZE];
	bool bound;
	struct vfio_legacy vfio;
};

FIXTURE_SETUP(pcie_port)
{
	self->vfio.container = -1;
	self->vfio.group = -1;
	self->vfio.device = -1;

	if (access("/dev/vfio/vfio", F_OK))
		SKIP(return, "no /dev/vfio/vfio");
	if (edu_find_behind_port(self->edu, self->port))
		SKIP(return, "no edu sharing its IOMMU group with its port");

	self->bound = true;
	ASSERT_EQ(0, pci_release(self->edu));
}

FIXTURE_TEARDOWN(pcie_port)
{
	vfio_legacy_close(&self->vfio);
	if (self->bound)
		pci_release(self->edu);
}

/*
 * The PCIe port driver (driver_managed_dma) bound to the port in the group
 * does not keep userspace from owning the group, and stays bound.
 */
TEST_F(pcie_port, port_driver_does_not_block)
{
	if (_metadata->skip)
		return;

	ASSERT_TRUE(pci_has_driver(self->port, "pcieport"));
	ASSERT_EQ(pci_iommu_group(self->port), pci_iommu_group(self->edu));

	ASSERT_EQ(0, pci_bind(self->edu, "vfio-pci"));
	ASSERT_EQ(0, vfio_legacy_open(&self->vfio, self->edu));
	ASSERT_TRUE(pci_has_driver(self->port, "pcieport"));

	expect_dma_round_trip(_metadata, self->vfio.container,
			      self->vfio.device, 0x3c);
}

TEST_HARNESS_MAIN
