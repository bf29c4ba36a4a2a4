// SPDX-License-Identifier: GPL-2.0
/*
 * VT-d nested translation and second-stage dirty tracking through iommufd,
 * with QEMU's edu device as the DMA engine behind the VFIO device cdev.
 *
 * Nesting: a buffer plays the guest's RAM and is mapped into the IOAS at
 * guest-physical addresses (GPA = IOVA of the IOAS), under a nesting-parent
 * HWPT. The test writes a first-stage page table into that RAM, as a guest
 * would, and allocates a nested HWPT on it: the edu's DMA to a first-stage
 * IOVA must land in the page the guest's table maps, through both stages;
 * removing the first-stage mapping and invalidating makes the next DMA fault
 * at the first stage, unmapping the GPA in the IOAS makes it fault at the
 * second; a replace moves the DMA to another table.
 *
 * Dirty tracking: DMA writes mark exactly the pages written, read with and
 * without clearing, and a page written again after a clear is reported
 * again, also for a nesting parent whose nested HWPT the device uses.
 *
 * Hardware without nesting or second-stage A/D (every VT-d mode of the rig
 * but "nested", rig.mode= on the kernel command line), and an IOMMU of
 * another kind (SMMUv3, which reports no hardware info), must refuse both
 * with the documented errnos: each case checks that instead.
 *
 * Needs an edu device alone in its IOMMU group, vfio-pci, iommufd and the
 * VFIO device cdev.
 */
#include <linux/vfio.h>

#include "iommufd_utils.h"
#include "edu.h"
#include "vfio_util.h"

#define PG		4096ULL
#define BUF_SIZE	EDU_BUF_SIZE

/* The guest's RAM: pages at GPA_BASE in the IOAS */
#define GPA_BASE	0x10000000ULL
enum {
	PG_PML4_A, PG_PDPT_A, PG_PD_A, PG_PT_A,	/* first-stage table A */
	PG_PML4_B, PG_PDPT_B, PG_PD_B, PG_PT_B,	/* first-stage table B */
	PG_SRC,					/* what the edu reads */
	PG_DST_A,				/* where table A sends writes */
	PG_DST_B,				/* where table B sends writes */
	PG_SPARE,
	RAM_PAGES
};

#define GPA(pg)		(GPA_BASE + (pg) * PG)

/* First-stage IOVAs the edu uses */
#define S1_SRC		0x40000000ULL
#define S1_DST		0x40001000ULL

/* First-stage (x86 4-level) entry bits */
#define FS_P		0x1ULL
#define FS_RW		0x2ULL
#define FS_US		0x4ULL
#define FS_A		0x20ULL
#define FS_D		0x40ULL
#define FS_TABLE	(FS_P | FS_RW | FS_US)

/* ECAP bits: nested translation (26), second-stage A/D (45) */
#define ECAP_NEST	0x4000000ULL
#define ECAP_SLADS	0x200000000000ULL

/*
 * Fault reasons the rig's emulated VT-d reports (VT-d scalable-mode codes):
 * a not-present first-stage entry, a second-stage output without a mapping
 */
#define FR_FS_NOT_PRESENT	"[fault reason 0x71]"
#define FR_SS_NOT_PRESENT	"[fault reason 0x79]"

/* The interval of the kernel's rate limit of DMAR fault reports, a margin */
#define DMAR_REPORT_INTERVAL_MS	(5000 + 500)

static __attribute__((constructor)) void setup_globals(void)
{
	iommufd_setup_globals();
}

FIXTURE(nested) {
	char bdf[PCI_BDF_SIZE];
	bool bound;
	int fd;
	__u32 ioas_id;
	int dev;
	__u32 dev_id;
	struct edu edu;
	uint8_t *ram;
	int kmsg;
	struct iommu_hw_info_vtd vtd;	/* zero on another IOMMU */
	__u64 caps;
	bool nested_mode;	/* rig.mode=nested */
};

#define nested_fixture FIXTURE_DATA(nested)
#define page(pg)	(self->ram + (pg) * PG)

/* The rig's VT-d mode, from the kernel command line */
static bool rig_mode_is(const char *mode)
{
	char line[2048], want[64];
	bool found = false;
	FILE *f;

	f = fopen("/proc/cmdline", "r");
	if (!f)
		return false;
	snprintf(want, sizeof(want), "rig.mode=%s", mode);
	if (fgets(line, sizeof(line), f)) {
		char *tok;

		for (tok = strtok(line, "\n "); tok; tok = strtok(NULL, "\n "))
			if (!strcmp(tok, want))
				found = true;
	}
	fclose(f);
	return found;
}

FIXTURE_SETUP(nested)
{
	__u32 type = 0, len = 0;

	self->fd = -1;
	self->dev = -1;
	self->kmsg = -1;

	if (access("/dev/iommu", F_OK))
		SKIP(return, "no /dev/iommu");
	if (edu_find_single(self->bdf))
		SKIP(return, "no edu device alone in an IOMMU group");
	ASSERT_EQ(0, pci_release(self->bdf));
	self->bound = true;
	ASSERT_EQ(0, pci_bind(self->bdf, "vfio-pci"));

	self->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	self->dev = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, vfio_cdev_bind(self->dev, self->fd, &self->dev_id));
	ASSERT_EQ(0, edu_init(&self->edu, self->dev));

	test_cmd_get_hw_info(self->dev_id, &self->vtd, sizeof(self->vtd),
			     &len, &type, &self->caps);
	if (type == IOMMU_HW_INFO_TYPE_NONE) {
		/* Another IOMMU: no info, no capability, nothing written */
		ASSERT_EQ(0, len);
		ASSERT_EQ(0, self->caps);
		ASSERT_TRUE(all_bytes((uint8_t *)&self->vtd, sizeof(self->vtd),
				      0));
	} else {
		ASSERT_EQ(IOMMU_HW_INFO_TYPE_INTEL_VTD, type);
		ASSERT_EQ(sizeof(self->vtd), len);
	}
	self->nested_mode = rig_mode_is("nested");

	self->ram = iommufd_alloc_buffer(RAM_PAGES * PG, PG);
	ASSERT_NE(NULL, self->ram);
	memset(self->ram, 0, RAM_PAGES * PG);
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
}

FIXTURE_TEARDOWN(nested)
{
	if (self->kmsg >= 0)
		close(self->kmsg);
	edu_uninit(&self->edu);
	if (self->dev >= 0)
		close(self->dev);
	if (self->fd >= 0)
		close(self->fd);
	if (self->ram)
		munmap(self->ram, RAM_PAGES * PG);
	if (self->bound)
		pci_release(self->bdf);
}

/*
 * A first-stage table in pages @pml4.. @pml4 + 3 of the guest's RAM mapping
 * S1_SRC to PG_SRC and S1_DST to @dst
 */
static void build_s1(nested_fixture *self, int pml4, int dst)
{
	uint64_t *l4 = (uint64_t *)page(pml4);
	uint64_t *l3 = (uint64_t *)page(pml4 + 1);
	uint64_t *l2 = (uint64_t *)page(pml4 + 2);
	uint64_t *l1 = (uint64_t *)page(pml4 + 3);

	memset(l4, 0, 4 * PG);
	l4[(S1_SRC >> 39) & 511] = GPA(pml4 + 1) | FS_TABLE;
	l3[(S1_SRC >> 30) & 511] = GPA(pml4 + 2) | FS_TABLE;
	l2[(S1_SRC >> 21) & 511] = GPA(pml4 + 3) | FS_TABLE;
	l1[(S1_SRC >> 12) & 511] = GPA(PG_SRC) | FS_TABLE;
	l1[(S1_DST >> 12) & 511] = GPA(dst) | FS_TABLE;
	__sync_synchronize();
}

/* The leaf entry of @iova in the table at @pml4 */
static uint64_t *s1_leaf(nested_fixture *self, int pml4, uint64_t iova)
{
	return (uint64_t *)page(pml4 + 3) + ((iova >> 12) & 511);
}

/* S1_SRC -> device -> S1_DST; PG_SRC gets fresh data first */
#define dma_round_trip(seed)						\
	({								\
		fill(page(PG_SRC), BUF_SIZE, seed);			\
		ASSERT_EQ(0, edu_dma_from_ram(&self->edu, S1_SRC, 0,	\
					      BUF_SIZE));		\
		ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, S1_DST,	\
					    BUF_SIZE));			\
	})

/*
 * A DMA write to @iova is refused with a fault report of the reason
 * @reason, and @buf, the page @iova went to before, keeps its 0x5a
 */
static void write_faults(struct __test_metadata *_metadata,
			 nested_fixture *self, uint64_t iova, uint8_t *buf,
			 const char *reason)
{
	char line[512];
	int attempt;

	memset(buf, 0x5a, BUF_SIZE);
	/*
	 * The kernel rate-limits its fault reports: when none came, once
	 * more after the limit's interval (as edu_dma_blocked() does)
	 */
	for (attempt = 0; attempt < 2; attempt++) {
		if (attempt)
			usleep(DMAR_REPORT_INTERVAL_MS * 1000);
		ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, iova, BUF_SIZE));
		if (dmar_fault_wait(self->kmsg, self->bdf, iova, 5000, line,
				    sizeof(line)))
			break;
	}
	ASSERT_GT(2, attempt);
	fprintf(stderr, "# kernel: %s\n", line);
	ASSERT_NE(NULL, strstr(line, reason));
	ASSERT_TRUE(all_bytes(buf, BUF_SIZE, 0x5a));
}

#define expect_write_faults(iova, buf, reason)				\
	write_faults(_metadata, self, iova, buf, reason)

/*
 * Without nesting (every mode but "nested"): the hardware says so and a
 * nesting parent is refused. Returns true when nesting is there.
 */
static bool nesting_or_refused(struct __test_metadata *_metadata,
			       nested_fixture *self)
{
	__u32 hwpt;

	if (self->vtd.ecap_reg & ECAP_NEST) {
		EXPECT_TRUE(self->nested_mode);
		return true;
	}
	EXPECT_FALSE(self->nested_mode);
	test_err_hwpt_alloc(EOPNOTSUPP, self->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &hwpt);
	return false;
}

/* The same for second-stage dirty tracking */
static bool dirty_or_refused(struct __test_metadata *_metadata,
			     nested_fixture *self)
{
	__u32 hwpt;

	if (self->vtd.ecap_reg & ECAP_SLADS) {
		EXPECT_TRUE(self->nested_mode);
		EXPECT_EQ(IOMMU_HW_CAP_DIRTY_TRACKING, self->caps);
		return true;
	}
	EXPECT_FALSE(self->nested_mode);
	EXPECT_EQ(0, self->caps);
	test_err_hwpt_alloc(EOPNOTSUPP, self->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt);
	return false;
}

/* The guest's RAM in the IOAS, a parent on it, a nested HWPT on table A */
static void _setup_nested(struct __test_metadata *_metadata,
			  nested_fixture *self, __u32 parent_flags,
			  __u32 *parent, __u32 *nested)
{
	struct iommu_hwpt_vtd_s1 s1 = {
		.pgtbl_addr = GPA(PG_PML4_A),
		.addr_width = 48,
	};

	test_ioctl_ioas_map_fixed(self->ram, RAM_PAGES * PG, GPA_BASE);
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT | parent_flags, parent);
	build_s1(self, PG_PML4_A, PG_DST_A);
	test_cmd_hwpt_alloc_nested(self->dev_id, *parent, 0, nested,
				   IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1));
}

#define setup_nested(parent_flags, parent, nested)			\
	_setup_nested(_metadata, self, parent_flags, parent, nested)

static int invalidate(int fd, __u32 hwpt, uint64_t addr, uint64_t npages,
		      __u32 flags)
{
	struct iommu_hwpt_vtd_s1_invalidate inv = {
		.addr = addr,
		.npages = npages,
		.flags = flags,
	};
	__u32 num = 1;

	return _test_cmd_hwpt_invalidate(fd, hwpt, &inv,
					 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
					 sizeof(inv), &num);
}

/*
 * VT-d's hardware info always carries the read-only parent mapping erratum;
 * another IOMMU's is empty (checked by the setup)
 */
TEST_F(nested, hw_info)
{
	if (_metadata->skip || !self->vtd.cap_reg)
		return;
	ASSERT_EQ(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, self->vtd.flags);
	ASSERT_EQ(0, self->vtd.__reserved);
	ASSERT_EQ(self->nested_mode, !!(self->vtd.ecap_reg & ECAP_NEST));
	ASSERT_EQ(self->nested_mode, !!(self->vtd.ecap_reg & ECAP_SLADS));
}

/* A DMA through both stages lands where the guest's table says */
TEST_F(nested, dma_through_both_stages)
{
	__u32 parent, nested, hwpt;
	uint64_t *leaf;

	if (_metadata->skip || !nesting_or_refused(_metadata, self))
		return;
	setup_nested(0, &parent, &nested);
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id, 0, &hwpt);

	hwpt = nested;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &hwpt));
	ASSERT_EQ(nested, hwpt);
	dma_round_trip(0x21);
	ASSERT_EQ(0, memcmp(page(PG_SRC), page(PG_DST_A), BUF_SIZE));

	/* The IOMMU marked the first-stage leaf accessed and dirty */
	leaf = s1_leaf(self, PG_PML4_A, S1_DST);
	ASSERT_EQ(FS_A | FS_D, *leaf & (FS_A | FS_D));
	leaf = s1_leaf(self, PG_PML4_A, S1_SRC);
	ASSERT_EQ(FS_A, *leaf & (FS_A | FS_D));

	/* The parent and the nested HWPT are in use */
	test_err_destroy(EBUSY, parent);
	test_err_destroy(EBUSY, nested);

	/* Detached: the first-stage IOVA is blocked */
	ASSERT_EQ(0, vfio_cdev_detach(self->dev));
	ASSERT_EQ(0, edu_dma_blocked(&self->edu, self->bdf, self->kmsg,
				     S1_DST, BUF_SIZE, true));
	test_ioctl_destroy(nested);
	test_ioctl_destroy(parent);
}

/*
 * The guest removes the first-stage mapping: the IOMMU may still use what it
 * cached until the guest's invalidation, after which the DMA faults at the
 * first stage.
 */
TEST_F(nested, stage1_unmap_faults)
{
	__u32 parent, nested, hwpt;
	uint64_t *leaf;

	if (_metadata->skip || !nesting_or_refused(_metadata, self))
		return;
	setup_nested(0, &parent, &nested);
	hwpt = nested;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &hwpt));
	dma_round_trip(0x31);
	ASSERT_EQ(0, memcmp(page(PG_SRC), page(PG_DST_A), BUF_SIZE));

	leaf = s1_leaf(self, PG_PML4_A, S1_DST);
	*leaf = 0;
	__sync_synchronize();
	/* Not invalidated yet: the emulated IOMMU still uses its IOTLB */
	memset(page(PG_DST_A), 0, BUF_SIZE);
	dma_round_trip(0x33);
	ASSERT_EQ(0, memcmp(page(PG_SRC), page(PG_DST_A), BUF_SIZE));

	ASSERT_EQ(0, invalidate(self->fd, nested, S1_DST, 1,
				IOMMU_VTD_INV_FLAGS_LEAF));
	expect_write_faults(S1_DST, page(PG_DST_A), FR_FS_NOT_PRESENT);

	/* Mapped again, to the other page, and invalidated: DMA goes there */
	*leaf = GPA(PG_DST_B) | FS_TABLE;
	__sync_synchronize();
	ASSERT_EQ(0, invalidate(self->fd, nested, 0, UINT64_MAX, 0));
	memset(page(PG_DST_B), 0, BUF_SIZE);
	dma_round_trip(0x32);
	ASSERT_EQ(0, memcmp(page(PG_SRC), page(PG_DST_B), BUF_SIZE));
}

/*
 * The VMM unmaps guest RAM from the parent: the next DMA through the nested
 * HWPT faults at the second stage, whatever the IOMMU had cached of the
 * nested translation.
 */
TEST_F(nested, stage2_unmap_faults)
{
	__u32 parent, nested, hwpt;

	if (_metadata->skip || !nesting_or_refused(_metadata, self))
		return;
	setup_nested(0, &parent, &nested);
	hwpt = nested;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &hwpt));
	dma_round_trip(0x41);
	ASSERT_EQ(0, memcmp(page(PG_SRC), page(PG_DST_A), BUF_SIZE));

	test_ioctl_ioas_unmap(GPA_BASE, RAM_PAGES * PG);
	test_ioctl_ioas_map_fixed(self->ram, PG_DST_A * PG, GPA_BASE);
	expect_write_faults(S1_DST, page(PG_DST_A), FR_SS_NOT_PRESENT);
}

/* Replace between two nested HWPTs: the DMA follows the new table */
TEST_F(nested, replace_nested)
{
	struct iommu_hwpt_vtd_s1 s1b = {
		.pgtbl_addr = GPA(PG_PML4_B),
		.addr_width = 48,
	};
	__u32 parent, nested, nested_b, hwpt;

	if (_metadata->skip || !nesting_or_refused(_metadata, self))
		return;
	setup_nested(0, &parent, &nested);
	build_s1(self, PG_PML4_B, PG_DST_B);
	test_cmd_hwpt_alloc_nested(self->dev_id, parent, 0, &nested_b,
				   IOMMU_HWPT_DATA_VTD_S1, &s1b, sizeof(s1b));

	hwpt = nested;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &hwpt));
	dma_round_trip(0x51);
	ASSERT_EQ(0, memcmp(page(PG_SRC), page(PG_DST_A), BUF_SIZE));

	hwpt = nested_b;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &hwpt));
	ASSERT_EQ(nested_b, hwpt);
	memset(page(PG_DST_A), 0x5a, BUF_SIZE);
	dma_round_trip(0x52);
	ASSERT_EQ(0, memcmp(page(PG_SRC), page(PG_DST_B), BUF_SIZE));
	ASSERT_TRUE(all_bytes(page(PG_DST_A), BUF_SIZE, 0x5a));

	/* Back to the parent itself: IOVAs are GPAs again */
	hwpt = parent;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &hwpt));
	fill(page(PG_SRC), BUF_SIZE, 0x53);
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, GPA(PG_SRC), 0, BUF_SIZE));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, GPA(PG_SPARE), BUF_SIZE));
	ASSERT_EQ(0, memcmp(page(PG_SRC), page(PG_SPARE), BUF_SIZE));

	/* Detached: blocked */
	ASSERT_EQ(0, vfio_cdev_detach(self->dev));
	ASSERT_EQ(0, edu_dma_blocked(&self->edu, self->bdf, self->kmsg,
				     GPA(PG_SPARE), BUF_SIZE, true));
}

/* What HWPT_ALLOC refuses for nested HWPTs, and what attach refuses */
TEST_F(nested, alloc_errors)
{
	struct iommu_hwpt_vtd_s1 s1 = {
		.pgtbl_addr = GPA(PG_PML4_A),
		.addr_width = 48,
	};
	uint8_t longer[sizeof(s1) + 8] = {};
	__u32 parent, plain, nested, hwpt;

	if (_metadata->skip || !nesting_or_refused(_metadata, self))
		return;
	test_ioctl_ioas_map_fixed(self->ram, RAM_PAGES * PG, GPA_BASE);
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &parent);
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id, 0, &plain);

	/* Not a nesting parent */
	test_err_hwpt_alloc_nested(EINVAL, self->dev_id, plain, 0, &nested,
				   IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1));
	/* Flags, data type, data length */
	test_err_hwpt_alloc_nested(EOPNOTSUPP, self->dev_id, parent,
				   IOMMU_HWPT_ALLOC_NEST_PARENT, &nested,
				   IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1));
	test_err_hwpt_alloc_nested(EOPNOTSUPP, self->dev_id, parent, 0,
				   &nested, IOMMU_HWPT_DATA_NONE, NULL, 0);
	test_err_hwpt_alloc_nested(EOPNOTSUPP, self->dev_id, parent, 0,
				   &nested, IOMMU_HWPT_DATA_SELFTEST, &s1,
				   sizeof(s1));
	test_err_hwpt_alloc_nested(EINVAL, self->dev_id, parent, 0, &nested,
				   IOMMU_HWPT_DATA_VTD_S1, &s1,
				   sizeof(s1) - 1);
	memcpy(longer, &s1, sizeof(s1));
	test_err_hwpt_alloc_nested(EINVAL, self->dev_id, parent, 0, &nested,
				   IOMMU_HWPT_DATA_VTD_S1, longer,
				   sizeof(longer));
	test_err_hwpt_alloc_nested(EFAULT, self->dev_id, parent, 0, &nested,
				   IOMMU_HWPT_DATA_VTD_S1, NULL, sizeof(s1));
	/* Unknown first-stage flags, reserved field */
	s1.flags = 1ULL << 3;
	test_err_hwpt_alloc_nested(EOPNOTSUPP, self->dev_id, parent, 0,
				   &nested, IOMMU_HWPT_DATA_VTD_S1, &s1,
				   sizeof(s1));
	s1.flags = 0;
	s1.__reserved = 1;
	test_err_hwpt_alloc_nested(EOPNOTSUPP, self->dev_id, parent, 0,
				   &nested, IOMMU_HWPT_DATA_VTD_S1, &s1,
				   sizeof(s1));
	s1.__reserved = 0;
	/* A table pointer not page aligned, or beyond the parent's width */
	s1.pgtbl_addr = GPA(PG_PML4_A) + 8;
	test_err_hwpt_alloc_nested(EINVAL, self->dev_id, parent, 0, &nested,
				   IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1));
	s1.pgtbl_addr = 1ULL << 60;
	test_err_hwpt_alloc_nested(EINVAL, self->dev_id, parent, 0, &nested,
				   IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1));
	s1.pgtbl_addr = GPA(PG_PML4_A);
	/* Neither a nested HWPT nor a device is a parent */
	test_cmd_hwpt_alloc_nested(self->dev_id, parent, 0, &nested,
				   IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1));
	test_err_hwpt_alloc_nested(EINVAL, self->dev_id, nested, 0, &hwpt,
				   IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1));
	test_err_hwpt_alloc_nested(EINVAL, self->dev_id, self->dev_id, 0,
				   &hwpt, IOMMU_HWPT_DATA_VTD_S1, &s1,
				   sizeof(s1));
	test_err_destroy(EBUSY, parent);

	/*
	 * What the hardware cannot walk is refused at attach: a 40-bit or a
	 * 57-bit first stage (no FL5LP), EAFE (no EAFS)
	 */
	s1.addr_width = 40;
	test_cmd_hwpt_alloc_nested(self->dev_id, parent, 0, &hwpt,
				   IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1));
	ASSERT_EQ(-EINVAL, vfio_cdev_attach(self->dev, &hwpt));
	test_ioctl_destroy(hwpt);
	s1.addr_width = 57;
	test_cmd_hwpt_alloc_nested(self->dev_id, parent, 0, &hwpt,
				   IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1));
	ASSERT_EQ(-EINVAL, vfio_cdev_attach(self->dev, &hwpt));
	test_ioctl_destroy(hwpt);
	s1.addr_width = 48;
	s1.flags = IOMMU_VTD_S1_EAFE;
	test_cmd_hwpt_alloc_nested(self->dev_id, parent, 0, &hwpt,
				   IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1));
	ASSERT_EQ(-EINVAL, vfio_cdev_attach(self->dev, &hwpt));
	test_ioctl_destroy(hwpt);

	/* Still on nothing: a failed attach changed nothing */
	ASSERT_EQ(0, edu_dma_blocked(&self->edu, self->bdf, self->kmsg,
				     GPA(PG_SPARE), BUF_SIZE, true));
}

/* A nesting parent takes writable mappings only (erratum 772415) */
TEST_F(nested, parent_read_only)
{
	__u32 parent;
	__u64 iova = GPA_BASE;

	if (_metadata->skip || !nesting_or_refused(_metadata, self))
		return;
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &parent);
	EXPECT_EQ(-1, _test_ioctl_ioas_map(self->fd, self->ioas_id, self->ram,
					   PG, &iova,
					   IOMMU_IOAS_MAP_FIXED_IOVA |
					   IOMMU_IOAS_MAP_READABLE));
	EXPECT_EQ(EINVAL, errno);
	test_ioctl_ioas_map_fixed(self->ram, PG, GPA_BASE);
}

/* HWPT_INVALIDATE: the VT-d entry rules and the partial-completion count */
TEST_F(nested, invalidate_errors)
{
	struct iommu_hwpt_vtd_s1_invalidate inv[3] = {
		{ .addr = S1_SRC, .npages = 1 },
		{ .addr = 0, .npages = UINT64_MAX },
		{ .addr = S1_DST, .npages = 1 },
	};
	uint8_t longer[sizeof(inv[0]) + 8] = {};
	__u32 parent, nested, num;

	if (_metadata->skip || !nesting_or_refused(_metadata, self))
		return;
	setup_nested(0, &parent, &nested);

	/* No entries: only the type is checked */
	num = 0;
	test_cmd_hwpt_invalidate(nested, NULL,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
				 sizeof(inv[0]), &num);
	num = 0;
	test_err_hwpt_invalidate(EINVAL, nested, NULL,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(0, num);
	/* Only nested HWPTs take invalidations */
	num = 1;
	test_err_hwpt_invalidate(ENOENT, parent, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(0, num);
	/* Entry length */
	num = 1;
	test_err_hwpt_invalidate(EINVAL, nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
				 sizeof(inv[0]) - 1, &num);
	EXPECT_EQ(0, num);
	memcpy(longer, inv, sizeof(inv[0]));
	num = 1;
	test_err_hwpt_invalidate(EINVAL, nested, longer,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
				 sizeof(longer), &num);
	EXPECT_EQ(0, num);

	/* All good: all handled, no pages is handled too */
	num = 3;
	test_cmd_hwpt_invalidate(nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(3, num);
	inv[2].npages = 0;
	num = 3;
	test_cmd_hwpt_invalidate(nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(3, num);

	/* The third entry is bad: two were handled */
	inv[2].npages = 1;
	inv[2].flags = 1U << 1;
	num = 3;
	test_err_hwpt_invalidate(EOPNOTSUPP, nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(2, num);
	inv[2].flags = 0;
	inv[2].__reserved = 1;
	num = 3;
	test_err_hwpt_invalidate(EOPNOTSUPP, nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(2, num);
	inv[2].__reserved = 0;
	inv[2].addr = S1_DST + 8;
	num = 3;
	test_err_hwpt_invalidate(EINVAL, nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(2, num);
	inv[2].addr = PG;
	inv[2].npages = UINT64_MAX;
	num = 3;
	test_err_hwpt_invalidate(EINVAL, nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(2, num);
}

/* Read the dirty bits of the guest's RAM pages into *@bits */
static int dirty_pages(int fd, __u32 hwpt, uint64_t *bits, __u32 flags)
{
	*bits = 0;
	return _test_cmd_get_dirty_bitmap(fd, hwpt, GPA_BASE, RAM_PAGES * PG,
					  PG, bits, flags);
}

/* DMA writes mark exactly the pages written; a clear rearms them */
TEST_F(nested, dirty_tracking)
{
	uint64_t bits;
	__u32 hwpt, id;

	if (_metadata->skip || !dirty_or_refused(_metadata, self))
		return;
	test_ioctl_ioas_map_fixed(self->ram, RAM_PAGES * PG, GPA_BASE);
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt);
	id = hwpt;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &id));

	/* Tracking off: nothing to report (the ioctl does not fail) */
	ASSERT_EQ(0, dirty_pages(self->fd, hwpt, &bits, 0));
	ASSERT_EQ(0, bits);

	/* DMA before tracking starts is forgotten */
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, GPA(PG_DST_B), BUF_SIZE));
	test_cmd_set_dirty_tracking(hwpt, true);
	ASSERT_EQ(0, dirty_pages(self->fd, hwpt, &bits, 0));
	ASSERT_EQ(0, bits);

	/* Reads mark nothing, writes their pages */
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, GPA(PG_SRC), 0, BUF_SIZE));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, GPA(PG_DST_A), BUF_SIZE));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, GPA(PG_SPARE), BUF_SIZE));
	ASSERT_EQ(0, dirty_pages(self->fd, hwpt, &bits,
				 IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	ASSERT_EQ((1ULL << PG_DST_A) | (1ULL << PG_SPARE), bits);
	/* Not cleared: the same again, then read and cleared */
	ASSERT_EQ(0, dirty_pages(self->fd, hwpt, &bits,
				 IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	ASSERT_EQ((1ULL << PG_DST_A) | (1ULL << PG_SPARE), bits);
	ASSERT_EQ(0, dirty_pages(self->fd, hwpt, &bits, 0));
	ASSERT_EQ((1ULL << PG_DST_A) | (1ULL << PG_SPARE), bits);
	ASSERT_EQ(0, dirty_pages(self->fd, hwpt, &bits, 0));
	ASSERT_EQ(0, bits);

	/* Written again after the clear: reported again */
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, GPA(PG_DST_A), BUF_SIZE));
	ASSERT_EQ(0, dirty_pages(self->fd, hwpt, &bits, 0));
	ASSERT_EQ(1ULL << PG_DST_A, bits);
	test_cmd_set_dirty_tracking(hwpt, false);
}

/*
 * A 2 MiB page of hugetlb memory, mapped once the domain is on the IOMMU
 * (so it may use large pages), is one second-stage leaf: a DMA write into
 * it marks all of it dirty.
 */
TEST_F(nested, dirty_large_page)
{
	const uint64_t iova = 0x40000000ULL, len = 2ULL << 20;
	uint64_t bits[len / PG / 64];
	__u32 hwpt, id;
	uint8_t *huge;
	size_t i;

	if (_metadata->skip || !dirty_or_refused(_metadata, self))
		return;
	huge = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	ASSERT_NE(MAP_FAILED, huge);
	memset(huge, 0, len);

	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt);
	id = hwpt;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &id));
	test_ioctl_ioas_map_fixed(huge, len, iova);
	test_cmd_set_dirty_tracking(hwpt, true);

	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, iova + 3 * PG, BUF_SIZE));
	memset(bits, 0, sizeof(bits));
	test_cmd_get_dirty_bitmap(hwpt, iova, len, PG, bits,
				  IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	for (i = 0; i < ARRAY_SIZE(bits); i++)
		ASSERT_EQ(UINT64_MAX, bits[i]);

	/* Read and cleared: nothing the next time */
	memset(bits, 0, sizeof(bits));
	test_cmd_get_dirty_bitmap(hwpt, iova, len, PG, bits, 0);
	ASSERT_EQ(UINT64_MAX, bits[0]);
	memset(bits, 0, sizeof(bits));
	test_cmd_get_dirty_bitmap(hwpt, iova, len, PG, bits, 0);
	for (i = 0; i < ARRAY_SIZE(bits); i++)
		ASSERT_EQ(0, bits[i]);

	test_ioctl_ioas_unmap(iova, len);
	munmap(huge, len);
}

/*
 * A nesting parent tracking dirty pages: DMA through a nested HWPT on it
 * marks the guest-physical pages it wrote, the first-stage table pages
 * included, whose entries the IOMMU marks accessed (and the leaf dirty).
 */
TEST_F(nested, dirty_through_nested)
{
	__u32 parent, nested, hwpt;
	uint64_t bits;

	if (_metadata->skip || !nesting_or_refused(_metadata, self) ||
	    !dirty_or_refused(_metadata, self))
		return;
	setup_nested(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &parent, &nested);
	hwpt = nested;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &hwpt));
	/* Tracking starts with the nested HWPT attached */
	test_cmd_set_dirty_tracking(parent, true);
	ASSERT_EQ(0, dirty_pages(self->fd, parent, &bits, 0));
	ASSERT_EQ(0, bits);

	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, S1_DST, BUF_SIZE));
	ASSERT_EQ(0, dirty_pages(self->fd, parent, &bits, 0));
	ASSERT_EQ((1ULL << PG_DST_A) | (1ULL << PG_PML4_A) |
		  (1ULL << PG_PDPT_A) | (1ULL << PG_PD_A) | (1ULL << PG_PT_A),
		  bits);

	/* After the clear, only the page written again (A/D bits are set) */
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, S1_DST, BUF_SIZE));
	ASSERT_EQ(0, dirty_pages(self->fd, parent, &bits, 0));
	ASSERT_EQ(1ULL << PG_DST_A, bits);
}

TEST_HARNESS_MAIN
