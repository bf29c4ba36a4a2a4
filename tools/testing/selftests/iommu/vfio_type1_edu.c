// SPDX-License-Identifier: GPL-2.0
/*
 * DMA through the legacy VFIO group/container interface and the type1 IOMMU
 * backend, with QEMU's edu device as the DMA engine: transfers to mapped
 * IOVAs land at the right place, transfers to IOVAs that are not mapped
 * (any more) are blocked and reported as DMA remapping faults.
 *
 * Needs an edu device alone in its IOMMU group (or $EDU_BDF), no driver
 * bound to it, vfio-pci and an IOMMU.
 */
#include "../kselftest_harness.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "edu.h"
#include "vfio_util.h"

#define BUF_SIZE	EDU_BUF_SIZE
#define IOVA_SRC	0x100000ULL
#define IOVA_DST	0x200000ULL
#define IOVA_GONE	0x300000ULL
#define IOVA_SPAN	0x400000ULL
/* 64 GiB: needs more than 32 address bits in the IOMMU and the device */
#define IOVA_HIGH	0x1000000000ULL

FIXTURE(type1) {
	char bdf[PCI_BDF_SIZE];
	bool bound;
	struct vfio_legacy vfio;
	struct edu edu;
	uint8_t *mem;		/* src, dst, victim, then two pages of span */
	uint8_t *src;
	uint8_t *dst;
	uint8_t *victim;
	uint8_t *span;
	int kmsg;
};

static size_t count_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += a[i] == b[i];
	return n;
}

FIXTURE_SETUP(type1)
{
	self->vfio.container = -1;
	self->vfio.group = -1;
	self->vfio.device = -1;
	self->kmsg = -1;

	if (access("/dev/vfio/vfio", F_OK))
		SKIP(return, "no /dev/vfio/vfio");
	if (edu_find_single(self->bdf))
		SKIP(return, "no edu device alone in an IOMMU group");

	ASSERT_EQ(0, pci_release(self->bdf));
	self->bound = true;
	ASSERT_EQ(0, pci_bind(self->bdf, "vfio-pci"));
	ASSERT_EQ(0, vfio_legacy_open(&self->vfio, self->bdf));
	ASSERT_EQ(0, edu_init(&self->edu, self->vfio.device));

	self->mem = mmap(NULL, 5 * BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->src = self->mem;
	self->dst = self->mem + BUF_SIZE;
	self->victim = self->mem + 2 * BUF_SIZE;
	self->span = self->mem + 3 * BUF_SIZE;

	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
}

FIXTURE_TEARDOWN(type1)
{
	if (self->kmsg >= 0)
		close(self->kmsg);
	edu_uninit(&self->edu);
	vfio_legacy_close(&self->vfio);
	if (self->mem && self->mem != MAP_FAILED)
		munmap(self->mem, 5 * BUF_SIZE);
	if (self->bound)
		pci_release(self->bdf);
}

/* Full buffer RAM -> device -> RAM, twice, with different data. */
TEST_F(type1, round_trip)
{
	int c = self->vfio.container;
	uint8_t seed;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, vfio_type1_map(c, self->src, IOVA_SRC, BUF_SIZE));
	ASSERT_EQ(0, vfio_type1_map(c, self->dst, IOVA_DST, BUF_SIZE));

	/*
	 * The second pass catches a device buffer left over from the first
	 * one (RAM -> device broken) as well as a destination that was not
	 * written (device -> RAM broken).
	 */
	for (seed = 0x11; seed <= 0x22; seed += 0x11) {
		fill(self->src, BUF_SIZE, seed);
		memset(self->dst, 0, BUF_SIZE);
		ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_SRC, 0,
					      BUF_SIZE));
		ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, IOVA_DST,
					    BUF_SIZE));
		ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));
	}

	ASSERT_EQ(BUF_SIZE, vfio_type1_unmap(c, IOVA_SRC, BUF_SIZE));
	ASSERT_EQ(BUF_SIZE, vfio_type1_unmap(c, IOVA_DST, BUF_SIZE));
}

/* Byte offsets inside IOVA pages and the device buffer are honoured. */
TEST_F(type1, offsets)
{
	const size_t so = 0x123, dev = 0x800, dso = 0x456, len = 100;
	int c = self->vfio.container;
	uint8_t expect[BUF_SIZE];

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, vfio_type1_map(c, self->src, IOVA_SRC, BUF_SIZE));
	ASSERT_EQ(0, vfio_type1_map(c, self->dst, IOVA_DST, BUF_SIZE));
	fill(self->src, BUF_SIZE, 0x33);
	memset(self->dst, 0xee, BUF_SIZE);

	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_SRC + so, dev, len));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, dev, IOVA_DST + dso, len));

	memset(expect, 0xee, BUF_SIZE);
	memcpy(expect + dso, self->src + so, len);
	ASSERT_EQ(0, memcmp(expect, self->dst, BUF_SIZE));
}

/* A transfer crossing a page boundary of the IOVA space */
TEST_F(type1, cross_page)
{
	const size_t start = BUF_SIZE / 2;
	int c = self->vfio.container;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, vfio_type1_map(c, self->span, IOVA_SPAN, 2 * BUF_SIZE));
	ASSERT_EQ(0, vfio_type1_map(c, self->dst, IOVA_DST, BUF_SIZE));
	fill(self->span, 2 * BUF_SIZE, 0x44);
	memset(self->dst, 0, BUF_SIZE);

	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_SPAN + start, 0,
				      BUF_SIZE));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, IOVA_DST, BUF_SIZE));
	ASSERT_EQ(0, memcmp(self->span + start, self->dst, BUF_SIZE));
}

/* IOVAs above 4 GiB */
TEST_F(type1, high_iova)
{
	uint64_t src = IOVA_HIGH, dst = IOVA_HIGH + 0x200000;
	int c = self->vfio.container;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, vfio_type1_map(c, self->src, src, BUF_SIZE));
	ASSERT_EQ(0, vfio_type1_map(c, self->dst, dst, BUF_SIZE));
	fill(self->src, BUF_SIZE, 0x55);
	memset(self->dst, 0, BUF_SIZE);

	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, src, 0, BUF_SIZE));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, dst, BUF_SIZE));
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));
}

/*
 * Device -> RAM at an IOVA that was mapped and then unmapped: the memory
 * that was behind it stays untouched, the IOMMU reports a fault, and the
 * device keeps working for mapped IOVAs.
 */
TEST_F(type1, unmapped_write_blocked)
{
	int c = self->vfio.container;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, vfio_type1_map(c, self->src, IOVA_SRC, BUF_SIZE));
	ASSERT_EQ(0, vfio_type1_map(c, self->dst, IOVA_DST, BUF_SIZE));
	ASSERT_EQ(0, vfio_type1_map(c, self->victim, IOVA_GONE, BUF_SIZE));

	/* The victim mapping works while it exists. */
	fill(self->src, BUF_SIZE, 0x66);
	memset(self->victim, 0x5a, BUF_SIZE);
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_SRC, 0, BUF_SIZE));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, IOVA_GONE, BUF_SIZE));
	ASSERT_EQ(0, memcmp(self->src, self->victim, BUF_SIZE));

	ASSERT_EQ(BUF_SIZE, vfio_type1_unmap(c, IOVA_GONE, BUF_SIZE));
	memset(self->victim, 0x5a, BUF_SIZE);

	ASSERT_EQ(0, edu_dma_blocked(&self->edu, self->bdf, self->kmsg,
				     IOVA_GONE, BUF_SIZE, true));
	ASSERT_TRUE(all_bytes(self->victim, BUF_SIZE, 0x5a));

	/* Still working for what is mapped */
	memset(self->dst, 0, BUF_SIZE);
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, IOVA_DST, BUF_SIZE));
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));
	ASSERT_TRUE(all_bytes(self->victim, BUF_SIZE, 0x5a));
}

/*
 * RAM -> device from an unmapped IOVA: the device does not get the data of
 * the memory that was behind it, and the IOMMU reports a fault.
 */
TEST_F(type1, unmapped_read_blocked)
{
	int c = self->vfio.container;
	size_t same;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, vfio_type1_map(c, self->src, IOVA_SRC, BUF_SIZE));
	ASSERT_EQ(0, vfio_type1_map(c, self->dst, IOVA_DST, BUF_SIZE));
	ASSERT_EQ(0, vfio_type1_map(c, self->victim, IOVA_GONE, BUF_SIZE));

	/* The victim mapping is readable while it exists. */
	fill(self->victim, BUF_SIZE, 0x77);
	memset(self->dst, 0, BUF_SIZE);
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_GONE, 0, BUF_SIZE));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, IOVA_DST, BUF_SIZE));
	ASSERT_EQ(0, memcmp(self->victim, self->dst, BUF_SIZE));

	ASSERT_EQ(BUF_SIZE, vfio_type1_unmap(c, IOVA_GONE, BUF_SIZE));

	/* Load other data into the device, then read from the unmapped IOVA. */
	fill(self->src, BUF_SIZE, 0x88);
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_SRC, 0, BUF_SIZE));
	ASSERT_EQ(0, edu_dma_blocked(&self->edu, self->bdf, self->kmsg,
				     IOVA_GONE, BUF_SIZE, false));

	/* What the device holds now must not be the victim's data. */
	memset(self->dst, 0, BUF_SIZE);
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, IOVA_DST, BUF_SIZE));
	same = count_equal(self->victim, self->dst, BUF_SIZE);
	TH_LOG("device buffer after the blocked read: %02x %02x %02x %02x ...",
	       self->dst[0], self->dst[1], self->dst[2], self->dst[3]);
	TH_LOG("%zu of %d bytes equal to the unmapped memory", same, BUF_SIZE);
	ASSERT_GT((size_t)BUF_SIZE / 16, same);
}

TEST_HARNESS_MAIN
