// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the scalable-mode PASID table entries of nested translation
 * and of the invalidations that go with each change of them.
 *
 * Model: a fake IOMMU without registers, its capabilities chosen by the
 * test, whose qi_submit_sync() records the descriptors it is handed; fake
 * PCI devices (config reads answer "present") with a PASID table behind that
 * IOMMU; fake domains with their domain ids. Each test builds its starting
 * state with the driver's own setup functions, records nothing of that,
 * makes one transition with the driver's code and compares the whole
 * 512-bit entry and every descriptor, in order, with what the VT-d
 * specification asks for. The expected values are encoded below from the
 * specification's bit positions, not with the driver's helpers.
 *
 * This file is included at the end of iommu.c, so that the flushes of a
 * nesting parent (iommu_flush_iotlb_psi()) can be driven as they are.
 */
#include <kunit/test.h>

#define NK_MAX_DESC	16
#define NK_MAX_PASID	BIT(12)		/* 64 directory entries */
#define NK_PGTBL	0x12345000ULL	/* the guest's first-stage table */
#define NK_QDEP		8
#define NK_AGAW_4LVL	2		/* AW: 4-level, 48-bit */
#define NK_AGAW_5LVL	3		/* AW: 5-level, 57-bit */

/* PASID table entry (VT-d 9.6): qword, bit */
#define PE_P		BIT_ULL(0)		/* val[0] */
#define PE_AW(aw)	((u64)(aw) << 2)
#define PE_PGTT(t)	((u64)(t) << 6)
#define PE_SSADE	BIT_ULL(9)
#define PE_DID(did)	((u64)(did))		/* val[1] */
#define PE_PWSNP	BIT_ULL(87 - 64)
#define PE_PGSNP	BIT_ULL(88 - 64)
#define PE_SRE		BIT_ULL(128 - 128)	/* val[2] */
#define PE_FSPM_5LVL	BIT_ULL(130 - 128)
#define PE_WPE		BIT_ULL(132 - 128)
#define PE_NXE		BIT_ULL(133 - 128)
#define PE_EAFE		BIT_ULL(135 - 128)
#define PGTT_FS		1
#define PGTT_NESTED	3

/* Invalidation descriptors (VT-d 6.5.2): qw0 */
#define D_TYPE(t)	((u64)(t))
#define D_G(g)		((u64)(g) << 4)
#define D_DID(did)	((u64)(did) << 16)
#define D_PASID(p)	((u64)(p) << 32)
#define D_ALL_ADDR	0x7ffffffffffff000ULL	/* with S: everything */

struct nk_iommu {
	struct intel_iommu iommu;
	struct nk_test *nk;
};

struct nk_dev {
	struct pci_dev pdev;
	struct pci_bus bus;
	struct dev_iommu dev_iommu;
	struct device_domain_info info;
	struct pasid_table table;
};

struct nk_test {
	struct nk_iommu iommu[2];
	struct nk_dev *dev[2];		/* dev[i] is behind iommu[i] */
	struct dmar_domain *parent;
	bool recording;
	unsigned int ndesc;
	struct qi_desc desc[NK_MAX_DESC];
	struct intel_iommu *desc_iommu[NK_MAX_DESC];
	struct dmar_domain *domains[8];
	unsigned int ndomains;
};

static int nk_qi_record(struct intel_iommu *iommu, struct qi_desc *desc,
			unsigned int count, unsigned long options)
{
	struct nk_test *nk = container_of(iommu, struct nk_iommu, iommu)->nk;
	unsigned int i;

	if (!nk->recording)
		return 0;
	/* ndesc counts them all; the first NK_MAX_DESC are kept */
	for (i = 0; i < count; i++, nk->ndesc++) {
		if (nk->ndesc < NK_MAX_DESC) {
			nk->desc_iommu[nk->ndesc] = iommu;
			nk->desc[nk->ndesc] = desc[i];
		}
	}
	return 0;
}

/* The fake device is present: its vendor and device id read back */
static int nk_pci_read(struct pci_bus *bus, unsigned int devfn, int where,
		       int size, u32 *val)
{
	*val = where == PCI_VENDOR_ID ? 0x11e81234 : 0;
	return PCIBIOS_SUCCESSFUL;
}

static struct pci_ops nk_pci_ops = {
	.read = nk_pci_read,
};

static void nk_start(struct nk_test *nk)
{
	nk->ndesc = 0;
	nk->recording = true;
}

static struct dmar_domain *nk_domain(struct kunit *test, unsigned int type)
{
	struct nk_test *nk = test->priv;
	struct dmar_domain *d;

	d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, d);
	KUNIT_ASSERT_LT(test, nk->ndomains, ARRAY_SIZE(nk->domains));
	nk->domains[nk->ndomains++] = d;
	xa_init(&d->iommu_array);
	spin_lock_init(&d->lock);
	spin_lock_init(&d->s1_lock);
	INIT_LIST_HEAD(&d->devices);
	INIT_LIST_HEAD(&d->dev_pasids);
	INIT_LIST_HEAD(&d->s1_domains);
	INIT_LIST_HEAD(&d->s2_link);
	d->nid = NUMA_NO_NODE;
	d->domain.type = type;
	return d;
}

/* @d holds domain id @did on fake IOMMU @i */
static void nk_did(struct kunit *test, struct dmar_domain *d, int i, u16 did)
{
	struct nk_test *nk = test->priv;
	struct iommu_domain_info *di;
	void *old;

	di = kunit_kzalloc(test, sizeof(*di), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, di);
	di->iommu = &nk->iommu[i].iommu;
	di->refcnt = 1;
	di->did = did;
	old = xa_store(&d->iommu_array, di->iommu->seq_id, di, GFP_KERNEL);
	KUNIT_ASSERT_EQ(test, xa_err(old), 0);
}

static struct dmar_domain *nk_parent(struct kunit *test, int agaw)
{
	struct dmar_domain *d = nk_domain(test, IOMMU_DOMAIN_UNMANAGED);

	d->pgd = alloc_pgtable_page(NUMA_NO_NODE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, d->pgd);
	d->agaw = agaw;
	d->gaw = agaw_to_width(agaw);
	d->nested_parent = 1;
	return d;
}

static struct dmar_domain *nk_nested(struct kunit *test,
				     struct dmar_domain *parent, u64 pgtbl)
{
	struct dmar_domain *d = nk_domain(test, IOMMU_DOMAIN_NESTED);

	d->s2_domain = parent;
	d->s1_cfg.pgtbl_addr = pgtbl;
	d->s1_cfg.addr_width = ADDR_WIDTH_4LEVEL;
	list_add(&d->s2_link, &parent->s1_domains);
	return d;
}

/* Fake device @i (behind fake IOMMU @i) attached to @d without PASID */
static void nk_join(struct kunit *test, int i, struct dmar_domain *d)
{
	struct nk_dev *dev = ((struct nk_test *)test->priv)->dev[i];

	list_add(&dev->info.link, &d->devices);
	d->has_iotlb_device = dev->info.ats_enabled;
}

/*
 * The entry of @pasid of fake device @i, found as the IOMMU walks to it: the
 * directory entry of PASID[19:6] (present: bit 0, table: bits 63:12), then
 * entry PASID[5:0] of that table.
 */
static struct pasid_entry *nk_entry(struct kunit *test, int i, u32 pasid)
{
	struct nk_dev *dev = ((struct nk_test *)test->priv)->dev[i];
	u64 pde = ((u64 *)dev->table.table)[pasid >> 6];

	KUNIT_ASSERT_TRUE_MSG(test, pde & 1, "PASID %u: no table", pasid);
	return (struct pasid_entry *)phys_to_virt(pde & GENMASK_ULL(63, 12)) +
	       (pasid & 0x3f);
}

static void nk_expect_entry(struct kunit *test, int i, u32 pasid,
			    const u64 *val)
{
	struct pasid_entry *pe = nk_entry(test, i, pasid);
	int q;

	for (q = 0; q < 8; q++)
		KUNIT_EXPECT_EQ_MSG(test, pe->val[q], val[q],
				    "PASID %u entry, qword %d", pasid, q);
}

/* The nested entry the specification asks for, on a parent of @agaw */
static void nk_nested_entry(u64 *val, struct dmar_domain *parent, u16 did,
			    u64 pgtbl)
{
	memset(val, 0, 8 * sizeof(*val));
	val[0] = PE_P | PE_AW(parent->agaw) | PE_PGTT(PGTT_NESTED) |
		 virt_to_phys(parent->pgd);
	val[1] = PE_DID(did) | PE_PWSNP;
	val[2] = pgtbl;
}

static void nk_expect_desc(struct kunit *test, unsigned int n, int i,
			   u64 qw0, u64 qw1)
{
	struct nk_test *nk = test->priv;

	KUNIT_ASSERT_LT_MSG(test, n, min_t(unsigned int, nk->ndesc, NK_MAX_DESC),
			    "descriptor %u missing", n);
	KUNIT_EXPECT_PTR_EQ_MSG(test, nk->desc_iommu[n], &nk->iommu[i].iommu,
				"descriptor %u: IOMMU", n);
	KUNIT_EXPECT_EQ_MSG(test, nk->desc[n].qw0, qw0, "descriptor %u: qw0", n);
	KUNIT_EXPECT_EQ_MSG(test, nk->desc[n].qw1, qw1, "descriptor %u: qw1", n);
	KUNIT_EXPECT_EQ_MSG(test, nk->desc[n].qw2, 0, "descriptor %u: qw2", n);
	KUNIT_EXPECT_EQ_MSG(test, nk->desc[n].qw3, 0, "descriptor %u: qw3", n);
}

static void nk_expect_ndesc(struct kunit *test, unsigned int n)
{
	KUNIT_EXPECT_EQ(test, ((struct nk_test *)test->priv)->ndesc, n);
}

/* PASID-cache, PASID-selective within the domain id */
static void nk_expect_pc(struct kunit *test, unsigned int n, int i, u16 did,
			 u32 pasid)
{
	nk_expect_desc(test, n, i, D_TYPE(7) | D_G(1) | D_DID(did) |
		       D_PASID(pasid), 0);
}

/* IOTLB, domain selective */
static void nk_expect_iotlb_dsi(struct kunit *test, unsigned int n, int i,
				u16 did)
{
	nk_expect_desc(test, n, i, D_TYPE(2) | D_G(2) | D_DID(did), 0);
}

/* IOTLB, page selective: 2^am pages at @addr, no leaf hint */
static void nk_expect_iotlb_psi(struct kunit *test, unsigned int n, int i,
				u16 did, u64 addr, unsigned int am)
{
	nk_expect_desc(test, n, i, D_TYPE(2) | D_G(3) | D_DID(did), addr | am);
}

/* PASID-based IOTLB, everything of the PASID */
static void nk_expect_piotlb_all(struct kunit *test, unsigned int n, int i,
				 u16 did, u32 pasid)
{
	nk_expect_desc(test, n, i, D_TYPE(6) | D_G(2) | D_DID(did) |
		       D_PASID(pasid), 0);
}

/* Device-TLB of fake device @i (requests without PASID), everything */
static void nk_expect_devtlb_all(struct kunit *test, unsigned int n, int i)
{
	struct nk_dev *dev = ((struct nk_test *)test->priv)->dev[i];
	u16 sid = dev->info.bus << 8 | dev->info.devfn;
	u16 pfsid = dev->info.pfsid;

	nk_expect_desc(test, n, i, D_TYPE(3) | (u64)(pfsid & 0xf) << 12 |
		       (u64)NK_QDEP << 16 | (u64)sid << 32 |
		       (u64)(pfsid >> 4) << 52, D_ALL_ADDR | BIT_ULL(0));
}

/* PASID-based device-TLB of fake device @i, everything of @pasid */
static void nk_expect_pdevtlb_all(struct kunit *test, unsigned int n, int i,
				  u32 pasid)
{
	struct nk_dev *dev = ((struct nk_test *)test->priv)->dev[i];
	u16 sid = dev->info.bus << 8 | dev->info.devfn;
	u16 pfsid = dev->info.pfsid;

	nk_expect_desc(test, n, i, D_TYPE(8) | (u64)NK_QDEP << 4 |
		       (u64)(pfsid & 0xf) << 12 | (u64)sid << 16 |
		       D_PASID(pasid) | (u64)(pfsid >> 4) << 52,
		       D_ALL_ADDR | BIT_ULL(11));
}

static void nk_init_iommu(struct nk_test *nk, int i)
{
	struct intel_iommu *iommu = &nk->iommu[i].iommu;

	nk->iommu[i].nk = nk;
	iommu->seq_id = i;
	iommu->node = NUMA_NO_NODE;
	iommu->agaw = NK_AGAW_5LVL;
	snprintf(iommu->name, sizeof(iommu->name), "nk%d", i);
	spin_lock_init(&iommu->lock);
	raw_spin_lock_init(&iommu->register_lock);
	/* Translation on: device-TLB invalidations are issued */
	iommu->gcmd = DMA_GCMD_TE;
	/*
	 * Coherent, device TLBs, snoop control, PASID, SRS, EAFS, nesting,
	 * scalable mode with both stages, second-stage A/D, PWSNP
	 */
	iommu->ecap = BIT_ULL(0) | BIT_ULL(2) | BIT_ULL(7) | BIT_ULL(26) |
		      BIT_ULL(31) | BIT_ULL(34) | BIT_ULL(40) | BIT_ULL(43) |
		      BIT_ULL(45) | BIT_ULL(46) | BIT_ULL(47) | BIT_ULL(48);
	/*
	 * SAGAW 4- and 5-level, page-selective flushes up to 2^9 pages,
	 * 5-level first stage; no caching mode, no write-buffer flushing
	 */
	iommu->cap = (0xcULL << 8) | BIT_ULL(39) | (9ULL << 48) | BIT_ULL(60);
	iommu->flush.flush_iotlb = qi_flush_iotlb;
	iommu->qi_record = nk_qi_record;
}

static int nk_init_dev(struct kunit *test, int i)
{
	struct nk_test *nk = test->priv;
	struct nk_dev *dev;

	dev = kunit_kzalloc(test, sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	dev->table.table = alloc_pgtable_page(NUMA_NO_NODE);
	if (!dev->table.table)
		return -ENOMEM;
	dev->table.max_pasid = NK_MAX_PASID;
	dev->bus.ops = &nk_pci_ops;
	dev->pdev.bus = &dev->bus;
	dev->pdev.devfn = PCI_DEVFN(i + 2, 0);
	dev->pdev.error_state = pci_channel_io_normal;
	dev->dev_iommu.priv = &dev->info;
	dev->pdev.dev.iommu = &dev->dev_iommu;
	dev->info.dev = &dev->pdev.dev;
	dev->info.iommu = &nk->iommu[i].iommu;
	dev->info.pasid_table = &dev->table;
	dev->info.bus = 3;
	dev->info.devfn = dev->pdev.devfn;
	dev->info.pfsid = 0x0abc + i;
	dev->info.ats_supported = 1;
	dev->info.ats_enabled = 1;
	dev->info.ats_qdep = NK_QDEP;
	INIT_LIST_HEAD(&dev->info.link);
	nk->dev[i] = dev;
	return 0;
}

static int nk_init(struct kunit *test)
{
	struct nk_test *nk;
	int i, ret;

	/* The quirk makes every setup write the fake IOMMU's registers */
	if (rwbf_quirk)
		kunit_skip(test, "write-buffer flushing quirk on this machine");
	nk = kunit_kzalloc(test, sizeof(*nk), GFP_KERNEL);
	if (!nk)
		return -ENOMEM;
	test->priv = nk;
	for (i = 0; i < ARRAY_SIZE(nk->iommu); i++) {
		nk_init_iommu(nk, i);
		ret = nk_init_dev(test, i);
		if (ret)
			return ret;
	}
	return 0;
}

static void nk_exit(struct kunit *test)
{
	struct nk_test *nk = test->priv;
	struct pasid_dir_entry *dir;
	unsigned int i, d;

	if (!nk)
		return;
	for (i = 0; i < nk->ndomains; i++) {
		if (nk->domains[i]->pgd)
			free_pgtable_page(nk->domains[i]->pgd);
		xa_destroy(&nk->domains[i]->iommu_array);
	}
	for (i = 0; i < ARRAY_SIZE(nk->dev); i++) {
		if (!nk->dev[i] || !nk->dev[i]->table.table)
			continue;
		dir = nk->dev[i]->table.table;
		for (d = 0; d < NK_MAX_PASID >> PASID_PDE_SHIFT; d++)
			if (get_pasid_table_from_pde(&dir[d]))
				free_pgtable_page(get_pasid_table_from_pde(&dir[d]));
		free_pgtable_page(dir);
	}
}

/* A nested entry where there was none, without caching mode: no flush */
static void nested_new_entry(struct kunit *test)
{
	struct nk_test *nk = test->priv;
	struct intel_iommu *iommu = &nk->iommu[0].iommu;
	struct dmar_domain *parent = nk_parent(test, NK_AGAW_4LVL);
	struct dmar_domain *s1 = nk_nested(test, parent, NK_PGTBL);
	u64 val[8];

	nk_did(test, parent, 0, 2);
	nk_did(test, s1, 0, 5);

	nk_start(nk);
	KUNIT_ASSERT_EQ(test, intel_pasid_setup_nested(iommu, &nk->dev[0]->pdev.dev,
						       PASID_RID2PASID, s1), 0);
	nk_nested_entry(val, parent, 5, NK_PGTBL);
	nk_expect_entry(test, 0, PASID_RID2PASID, val);
	nk_expect_ndesc(test, 0);
}

/*
 * In caching mode the IOMMU may have cached the entry as not present: the
 * new entry is announced (PASID cache, then the IOTLB of its domain id and
 * PASID).
 */
static void nested_new_entry_caching_mode(struct kunit *test)
{
	struct nk_test *nk = test->priv;
	struct intel_iommu *iommu = &nk->iommu[0].iommu;
	struct dmar_domain *parent = nk_parent(test, NK_AGAW_4LVL);
	struct dmar_domain *s1 = nk_nested(test, parent, NK_PGTBL);

	iommu->cap |= BIT_ULL(7);
	nk_did(test, parent, 0, 2);
	nk_did(test, s1, 0, 5);

	nk_start(nk);
	KUNIT_ASSERT_EQ(test, intel_pasid_setup_nested(iommu, &nk->dev[0]->pdev.dev,
						       PASID_RID2PASID, s1), 0);
	nk_expect_pc(test, 0, 0, 5, PASID_RID2PASID);
	nk_expect_piotlb_all(test, 1, 0, 5, PASID_RID2PASID);
	nk_expect_ndesc(test, 2);
}

/* The user's first-stage flags and width, as the entry encodes them */
static void nested_first_stage_fields(struct kunit *test)
{
	struct nk_test *nk = test->priv;
	struct intel_iommu *iommu = &nk->iommu[0].iommu;
	struct dmar_domain *parent = nk_parent(test, NK_AGAW_4LVL);
	struct dmar_domain *s1 = nk_nested(test, parent, NK_PGTBL);
	struct dmar_domain *wpe = nk_nested(test, parent, NK_PGTBL);
	u64 val[8];

	s1->s1_cfg.flags = IOMMU_VTD_S1_SRE | IOMMU_VTD_S1_WPE |
			   IOMMU_VTD_S1_EAFE;
	s1->s1_cfg.addr_width = ADDR_WIDTH_5LEVEL;
	/* Write protection without supervisor requests is dropped */
	wpe->s1_cfg.flags = IOMMU_VTD_S1_WPE;
	nk_did(test, s1, 0, 5);
	nk_did(test, wpe, 0, 6);

	KUNIT_ASSERT_EQ(test, intel_pasid_setup_nested(iommu, &nk->dev[0]->pdev.dev,
						       1, s1), 0);
	KUNIT_ASSERT_EQ(test, intel_pasid_setup_nested(iommu, &nk->dev[0]->pdev.dev,
						       2, wpe), 0);
	nk_nested_entry(val, parent, 5, NK_PGTBL);
	val[2] |= PE_SRE | PE_WPE | PE_EAFE | PE_FSPM_5LVL;
	nk_expect_entry(test, 0, 1, val);
	nk_nested_entry(val, parent, 6, NK_PGTBL);
	nk_expect_entry(test, 0, 2, val);
}

/*
 * First stage -> nested: the first-stage entry is torn down (PASID cache,
 * PASID-based IOTLB of its domain id, device TLB), then the nested one set.
 */
static void first_stage_to_nested(struct kunit *test)
{
	struct nk_test *nk = test->priv;
	struct intel_iommu *iommu = &nk->iommu[0].iommu;
	struct device *dev = &nk->dev[0]->pdev.dev;
	struct dmar_domain *parent = nk_parent(test, NK_AGAW_4LVL);
	struct dmar_domain *s1 = nk_nested(test, parent, NK_PGTBL);
	struct dmar_domain *fs = nk_parent(test, NK_AGAW_4LVL);
	void *pgd = fs->pgd;
	u64 val[8] = {};

	nk_did(test, s1, 0, 5);
	KUNIT_ASSERT_EQ(test, intel_pasid_setup_first_level(iommu, dev, pgd,
							    PASID_RID2PASID, 3,
							    0), 0);
	val[0] = PE_P | PE_AW(iommu->agaw) | PE_PGTT(PGTT_FS);
	val[1] = PE_DID(3) | PE_PWSNP;
	val[2] = virt_to_phys(pgd) | PE_NXE;
	nk_expect_entry(test, 0, PASID_RID2PASID, val);

	nk_start(nk);
	intel_pasid_tear_down_entry(iommu, dev, PASID_RID2PASID, false);
	KUNIT_ASSERT_EQ(test, intel_pasid_setup_nested(iommu, dev,
						       PASID_RID2PASID, s1), 0);
	nk_nested_entry(val, parent, 5, NK_PGTBL);
	nk_expect_entry(test, 0, PASID_RID2PASID, val);
	nk_expect_pc(test, 0, 0, 3, PASID_RID2PASID);
	nk_expect_piotlb_all(test, 1, 0, 3, PASID_RID2PASID);
	nk_expect_devtlb_all(test, 2, 0);
	nk_expect_ndesc(test, 3);
}

/*
 * Nested -> nested on the same parent: what the IOMMU cached under the old
 * nested domain id goes (domain-selective IOTLB: nested entries are tagged
 * with it), the new entry carries the new domain id.
 */
static void nested_to_nested(struct kunit *test)
{
	struct nk_test *nk = test->priv;
	struct intel_iommu *iommu = &nk->iommu[0].iommu;
	struct device *dev = &nk->dev[0]->pdev.dev;
	struct dmar_domain *parent = nk_parent(test, NK_AGAW_4LVL);
	struct dmar_domain *a = nk_nested(test, parent, NK_PGTBL);
	struct dmar_domain *b = nk_nested(test, parent, NK_PGTBL + 0x3000);
	u64 val[8];

	nk_did(test, a, 0, 5);
	nk_did(test, b, 0, 6);
	KUNIT_ASSERT_EQ(test, intel_pasid_setup_nested(iommu, dev,
						       PASID_RID2PASID, a), 0);

	nk_start(nk);
	intel_pasid_tear_down_entry(iommu, dev, PASID_RID2PASID, false);
	KUNIT_ASSERT_EQ(test, intel_pasid_setup_nested(iommu, dev,
						       PASID_RID2PASID, b), 0);
	nk_nested_entry(val, parent, 6, NK_PGTBL + 0x3000);
	nk_expect_entry(test, 0, PASID_RID2PASID, val);
	nk_expect_pc(test, 0, 0, 5, PASID_RID2PASID);
	nk_expect_iotlb_dsi(test, 1, 0, 5);
	nk_expect_devtlb_all(test, 2, 0);
	nk_expect_ndesc(test, 3);
}

/* Nested -> blocked: the entry is cleared entirely and its caches flushed */
static void nested_to_blocked(struct kunit *test)
{
	struct nk_test *nk = test->priv;
	struct intel_iommu *iommu = &nk->iommu[0].iommu;
	struct device *dev = &nk->dev[0]->pdev.dev;
	struct dmar_domain *parent = nk_parent(test, NK_AGAW_4LVL);
	struct dmar_domain *s1 = nk_nested(test, parent, NK_PGTBL);
	static const u64 zero[8];

	nk_did(test, s1, 0, 5);
	KUNIT_ASSERT_EQ(test, intel_pasid_setup_nested(iommu, dev,
						       PASID_RID2PASID, s1), 0);

	nk_start(nk);
	intel_pasid_tear_down_entry(iommu, dev, PASID_RID2PASID, false);
	nk_expect_entry(test, 0, PASID_RID2PASID, zero);
	nk_expect_pc(test, 0, 0, 5, PASID_RID2PASID);
	nk_expect_iotlb_dsi(test, 1, 0, 5);
	nk_expect_devtlb_all(test, 2, 0);
	nk_expect_ndesc(test, 3);
}

/*
 * Nested -> nested on another parent: the second-stage half of the entry
 * follows the new parent (its table, depth, forced snooping and dirty
 * tracking).
 */
static void nested_parent_change(struct kunit *test)
{
	struct nk_test *nk = test->priv;
	struct intel_iommu *iommu = &nk->iommu[0].iommu;
	struct device *dev = &nk->dev[0]->pdev.dev;
	struct dmar_domain *p1 = nk_parent(test, NK_AGAW_4LVL);
	struct dmar_domain *p2 = nk_parent(test, NK_AGAW_5LVL);
	struct dmar_domain *a = nk_nested(test, p1, NK_PGTBL);
	struct dmar_domain *b = nk_nested(test, p2, NK_PGTBL);
	u64 val[8];

	p2->force_snooping = 1;
	p2->dirty_tracking = true;
	nk_did(test, a, 0, 5);
	nk_did(test, b, 0, 7);
	KUNIT_ASSERT_EQ(test, intel_pasid_setup_nested(iommu, dev,
						       PASID_RID2PASID, a), 0);

	nk_start(nk);
	intel_pasid_tear_down_entry(iommu, dev, PASID_RID2PASID, false);
	KUNIT_ASSERT_EQ(test, intel_pasid_setup_nested(iommu, dev,
						       PASID_RID2PASID, b), 0);
	nk_nested_entry(val, p2, 7, NK_PGTBL);
	val[0] |= PE_SSADE;
	val[1] |= PE_PGSNP;
	nk_expect_entry(test, 0, PASID_RID2PASID, val);
	nk_expect_pc(test, 0, 0, 5, PASID_RID2PASID);
	nk_expect_iotlb_dsi(test, 1, 0, 5);
	nk_expect_devtlb_all(test, 2, 0);
	nk_expect_ndesc(test, 3);
}

/*
 * A nested domain on a PASID other than RID2PASID: tearing it down flushes
 * the device TLB of that PASID only, and leaves the entry of requests
 * without PASID alone.
 */
static void nested_pasid_teardown(struct kunit *test)
{
	struct nk_test *nk = test->priv;
	struct intel_iommu *iommu = &nk->iommu[0].iommu;
	struct device *dev = &nk->dev[0]->pdev.dev;
	struct dmar_domain *parent = nk_parent(test, NK_AGAW_4LVL);
	struct dmar_domain *a = nk_nested(test, parent, NK_PGTBL);
	struct dmar_domain *b = nk_nested(test, parent, NK_PGTBL + 0x1000);
	static const u64 zero[8];
	u64 val[8];

	nk_did(test, a, 0, 5);
	nk_did(test, b, 0, 6);
	KUNIT_ASSERT_EQ(test, intel_pasid_setup_nested(iommu, dev,
						       PASID_RID2PASID, a), 0);
	KUNIT_ASSERT_EQ(test, intel_pasid_setup_nested(iommu, dev, 5, b), 0);

	nk_start(nk);
	intel_pasid_tear_down_entry(iommu, dev, 5, false);
	nk_expect_entry(test, 0, 5, zero);
	nk_nested_entry(val, parent, 5, NK_PGTBL);
	nk_expect_entry(test, 0, PASID_RID2PASID, val);
	nk_expect_pc(test, 0, 0, 6, 5);
	nk_expect_iotlb_dsi(test, 1, 0, 6);
	nk_expect_pdevtlb_all(test, 2, 0, 5);
	nk_expect_ndesc(test, 3);
}

/*
 * Dirty tracking of the parent turned on under a present nested entry: SSADE
 * set in place, and what was cached without it flushed (a cached
 * translation lets writes through without setting D).
 */
static void nested_dirty_tracking_on(struct kunit *test)
{
	struct nk_test *nk = test->priv;
	struct intel_iommu *iommu = &nk->iommu[0].iommu;
	struct device *dev = &nk->dev[0]->pdev.dev;
	struct dmar_domain *parent = nk_parent(test, NK_AGAW_4LVL);
	struct dmar_domain *s1 = nk_nested(test, parent, NK_PGTBL);
	u64 val[8];

	nk_did(test, s1, 0, 5);
	KUNIT_ASSERT_EQ(test, intel_pasid_setup_nested(iommu, dev,
						       PASID_RID2PASID, s1), 0);

	nk_start(nk);
	spin_lock(&iommu->lock);
	intel_pasid_setup_dirty_tracking(iommu, dev, PASID_RID2PASID, true);
	spin_unlock(&iommu->lock);
	nk_nested_entry(val, parent, 5, NK_PGTBL);
	val[0] |= PE_SSADE;
	nk_expect_entry(test, 0, PASID_RID2PASID, val);
	nk_expect_pc(test, 0, 0, 5, PASID_RID2PASID);
	nk_expect_iotlb_dsi(test, 1, 0, 5);
	nk_expect_devtlb_all(test, 2, 0);
	nk_expect_ndesc(test, 3);
}

/*
 * An unmap in the parent: the parent's domain id and each nested domain id
 * get the same page-selective flush (no leaf hint), the nested domains'
 * device TLBs are flushed entirely.
 */
static void parent_unmap(struct kunit *test)
{
	struct nk_test *nk = test->priv;
	struct intel_iommu *iommu = &nk->iommu[0].iommu;
	struct dmar_domain *parent = nk_parent(test, NK_AGAW_4LVL);
	struct dmar_domain *a = nk_nested(test, parent, NK_PGTBL);
	struct dmar_domain *b = nk_nested(test, parent, NK_PGTBL + 0x1000);

	nk_did(test, parent, 0, 2);
	nk_did(test, a, 0, 5);
	nk_did(test, b, 0, 6);
	nk_join(test, 0, a);

	nk_start(nk);
	iommu_flush_iotlb_psi(iommu, parent, 0x100, 4, 0, 0);
	nk_expect_iotlb_psi(test, 0, 0, 2, 0x100000, 2);
	/* s1_domains is most recent first */
	nk_expect_iotlb_psi(test, 1, 0, 6, 0x100000, 2);
	nk_expect_iotlb_psi(test, 2, 0, 5, 0x100000, 2);
	nk_expect_devtlb_all(test, 3, 0);
	nk_expect_ndesc(test, 4);
}

/*
 * A map in the parent in caching mode: announced to the parent's and the
 * nested domain ids, no device TLB flush (nothing was mapped there before).
 */
static void parent_map_caching_mode(struct kunit *test)
{
	struct nk_test *nk = test->priv;
	struct intel_iommu *iommu = &nk->iommu[0].iommu;
	struct dmar_domain *parent = nk_parent(test, NK_AGAW_4LVL);
	struct dmar_domain *s1 = nk_nested(test, parent, NK_PGTBL);

	iommu->cap |= BIT_ULL(7);
	nk_did(test, parent, 0, 2);
	nk_did(test, s1, 0, 5);
	nk_join(test, 0, s1);

	nk_start(nk);
	iommu_flush_iotlb_psi(iommu, parent, 0x200, 1, 0, 1);
	nk_expect_iotlb_psi(test, 0, 0, 2, 0x200000, 0);
	nk_expect_iotlb_psi(test, 1, 0, 5, 0x200000, 0);
	nk_expect_ndesc(test, 2);
}

/*
 * The parent's flush runs once per IOMMU: on each, only the nested domain's
 * id there and the device TLBs of its devices behind that IOMMU.
 */
static void parent_unmap_per_iommu(struct kunit *test)
{
	struct nk_test *nk = test->priv;
	struct dmar_domain *parent = nk_parent(test, NK_AGAW_4LVL);
	struct dmar_domain *s1 = nk_nested(test, parent, NK_PGTBL);

	nk_did(test, parent, 0, 2);
	nk_did(test, parent, 1, 3);
	nk_did(test, s1, 0, 5);
	nk_did(test, s1, 1, 9);
	nk_join(test, 0, s1);
	nk_join(test, 1, s1);

	nk_start(nk);
	iommu_flush_iotlb_psi(&nk->iommu[0].iommu, parent, 0x100, 1, 0, 0);
	iommu_flush_iotlb_psi(&nk->iommu[1].iommu, parent, 0x100, 1, 0, 0);
	nk_expect_iotlb_psi(test, 0, 0, 2, 0x100000, 0);
	nk_expect_iotlb_psi(test, 1, 0, 5, 0x100000, 0);
	nk_expect_devtlb_all(test, 2, 0);
	nk_expect_iotlb_psi(test, 3, 1, 3, 0x100000, 0);
	nk_expect_iotlb_psi(test, 4, 1, 9, 0x100000, 0);
	nk_expect_devtlb_all(test, 5, 1);
	nk_expect_ndesc(test, 6);
}

static struct kunit_case vtd_nested_cases[] = {
	KUNIT_CASE(nested_new_entry),
	KUNIT_CASE(nested_new_entry_caching_mode),
	KUNIT_CASE(nested_first_stage_fields),
	KUNIT_CASE(first_stage_to_nested),
	KUNIT_CASE(nested_to_nested),
	KUNIT_CASE(nested_to_blocked),
	KUNIT_CASE(nested_parent_change),
	KUNIT_CASE(nested_pasid_teardown),
	KUNIT_CASE(nested_dirty_tracking_on),
	KUNIT_CASE(parent_unmap),
	KUNIT_CASE(parent_map_caching_mode),
	KUNIT_CASE(parent_unmap_per_iommu),
	{}
};

static struct kunit_suite vtd_nested_suite = {
	.name = "vtd_nested",
	.init = nk_init,
	.exit = nk_exit,
	.test_cases = vtd_nested_cases,
};

kunit_test_suite(vtd_nested_suite);
