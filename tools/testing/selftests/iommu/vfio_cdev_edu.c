// SPDX-License-Identifier: GPL-2.0
/*
 * The VFIO device cdev with iommufd, with QEMU's edu device as the DMA
 * engine: /dev/vfio/devices/vfioX bound to /dev/iommu, attached to an IOAS
 * and to a HW pagetable of another IOAS (a replace), DMA landing where the
 * current page table says and blocked once the IOVA is unmapped or the
 * device detached; the "bind first" rule, the errnos of bad requests, the
 * exclusion of the VFIO group while the cdev is bound, and no pinned page
 * left behind whichever file is closed first.
 *
 * Needs an edu device alone in its IOMMU group (or $EDU_BDF), no driver
 * bound to it, vfio-pci, an IOMMU, iommufd and CONFIG_VFIO_DEVICE_CDEV.
 */
#include <pthread.h>
#include <sys/stat.h>

#include <linux/vfio.h>

#include "iommufd_utils.h"
#include "edu.h"
#include "vfio_util.h"

#define BUF_SIZE	EDU_BUF_SIZE
#define IOVA_SRC	0x100000ULL
#define IOVA_DST	0x200000ULL
#define IOVA_GONE	0x300000ULL
#define BOGUS_ID	0x7ffffff0

static __attribute__((constructor)) void setup_globals(void)
{
	iommufd_setup_globals();
}

FIXTURE(cdev) {
	char bdf[PCI_BDF_SIZE];
	bool bound;		/* vfio-pci bound by the setup */
	int fd;			/* /dev/iommu */
	__u32 ioas_id;
	int dev;		/* /dev/vfio/devices/vfioX */
	__u32 dev_id;
	int group_id;
	struct vfio_legacy legacy;	/* the group path, when a test uses it */
	struct edu edu;
	uint8_t *mem;		/* src, dst, dst2, victim */
	uint8_t *src;
	uint8_t *dst;
	uint8_t *dst2;
	uint8_t *victim;
	int kmsg;
};

/* The fixture's data, for the helpers */
#define cdev_fixture FIXTURE_DATA(cdev)

FIXTURE_SETUP(cdev)
{
	char path[256];

	self->fd = -1;
	self->dev = -1;
	self->kmsg = -1;
	self->legacy.container = -1;
	self->legacy.group = -1;
	self->legacy.device = -1;

	if (access("/dev/iommu", F_OK))
		SKIP(return, "no /dev/iommu");
	if (edu_find_single(self->bdf))
		SKIP(return, "no edu device alone in an IOMMU group");

	ASSERT_EQ(0, pci_release(self->bdf));
	self->bound = true;
	ASSERT_EQ(0, pci_bind(self->bdf, "vfio-pci"));
	if (vfio_cdev_path(self->bdf, path, sizeof(path)) == -ENODEV)
		SKIP(return, "no VFIO device cdev (CONFIG_VFIO_DEVICE_CDEV)");
	self->group_id = pci_iommu_group(self->bdf);
	ASSERT_LE(0, self->group_id);

	/* Nothing of this process is pinned to begin with */
	ASSERT_EQ(0, proc_status_kb("VmPin"));

	self->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	self->dev = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, self->dev);

	self->mem = iommufd_alloc_buffer(4 * BUF_SIZE, PAGE_SIZE);
	ASSERT_NE(NULL, self->mem);
	self->src = self->mem;
	self->dst = self->mem + BUF_SIZE;
	self->dst2 = self->mem + 2 * BUF_SIZE;
	self->victim = self->mem + 3 * BUF_SIZE;

	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
}

FIXTURE_TEARDOWN(cdev)
{
	if (self->kmsg >= 0)
		close(self->kmsg);
	/* The BAR mapping holds the device file: unmap it first */
	edu_uninit(&self->edu);
	vfio_legacy_close(&self->legacy);
	if (self->dev >= 0)
		close(self->dev);
	if (self->fd >= 0)
		close(self->fd);
	if (self->mem)
		munmap(self->mem, 4 * BUF_SIZE);
	if (self->bound)
		pci_release(self->bdf);
}

static int _bind(int dev, int iommufd, __u32 argsz, __u32 flags,
		 __u32 *dev_id)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = argsz,
		.flags = flags,
		.iommufd = iommufd,
		.out_devid = 0,
	};
	int ret;

	ret = ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (!ret && dev_id)
		*dev_id = bind.out_devid;
	return ret;
}

/* BIND with a VF token at @token (VFIO_DEVICE_BIND_FLAG_TOKEN) */
static int _bind_token(int dev, int iommufd, __u32 argsz, const void *token)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = argsz,
		.flags = VFIO_DEVICE_BIND_FLAG_TOKEN,
		.iommufd = iommufd,
		.token_uuid_ptr = (uintptr_t)token,
	};

	return ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind);
}

static int _attach(int dev, __u32 argsz, __u32 flags, __u32 *pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = argsz,
		.flags = flags,
		.pt_id = *pt_id,
	};
	int ret;

	ret = ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	if (!ret)
		*pt_id = attach.pt_id;
	return ret;
}

static int _detach(int dev, __u32 argsz, __u32 flags)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = argsz,
		.flags = flags,
	};

	return ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
}

#define test_cmd_bind(dev, iommufd, dev_id_p)				\
	({								\
		__u32 *__d = (dev_id_p);				\
		ASSERT_EQ(0, _bind(dev, iommufd,			\
				   sizeof(struct vfio_device_bind_iommufd), \
				   0, __d));				\
		ASSERT_NE(0, *__d);					\
	})
#define test_err_bind(_errno, dev, iommufd, argsz, flags)		\
	({								\
		__u32 __d = 0;						\
		EXPECT_EQ(-1, _bind(dev, iommufd, argsz, flags, &__d));	\
		EXPECT_EQ(_errno, errno);				\
	})
/* Attach to @pt_id; the HWPT attached to is stored in *hwpt_p */
#define test_cmd_attach(dev, pt_id, hwpt_p)				\
	({								\
		__u32 __pt = (pt_id);					\
		ASSERT_EQ(0, _attach(dev,				\
			sizeof(struct vfio_device_attach_iommufd_pt), 0, \
			&__pt));					\
		ASSERT_NE(0, __pt);					\
		*(hwpt_p) = __pt;					\
	})
#define test_err_attach(_errno, dev, argsz, flags, pt_id)		\
	({								\
		__u32 __pt = (pt_id);					\
		EXPECT_EQ(-1, _attach(dev, argsz, flags, &__pt));	\
		EXPECT_EQ(_errno, errno);				\
	})
#define test_cmd_detach(dev)						\
	ASSERT_EQ(0, _detach(dev,					\
			     sizeof(struct vfio_device_detach_iommufd_pt), 0))
#define test_err_detach(_errno, dev, argsz, flags)			\
	({								\
		EXPECT_EQ(-1, _detach(dev, argsz, flags));		\
		EXPECT_EQ(_errno, errno);				\
	})

/*
 * A DMA write of the device's buffer to @iova is blocked: the IOMMU reports
 * it, and @buf, what @iova mapped before, keeps its 0x5a
 */
static void write_blocked(struct __test_metadata *_metadata,
			  cdev_fixture *self, uint64_t iova, uint8_t *buf)
{
	memset(buf, 0x5a, BUF_SIZE);
	ASSERT_EQ(0, edu_dma_blocked(&self->edu, self->bdf, self->kmsg, iova,
				     BUF_SIZE, true));
	ASSERT_TRUE(all_bytes(buf, BUF_SIZE, 0x5a));
}

#define expect_write_blocked(iova, buf)					\
	write_blocked(_metadata, self, iova, buf)

/* Bind the cdev to self->fd and bring the edu up on it */
#define bind_and_init()							\
	({								\
		test_cmd_bind(self->dev, self->fd, &self->dev_id);	\
		ASSERT_EQ(0, edu_init(&self->edu, self->dev));		\
	})

/* RAM at IOVA_SRC -> device -> RAM at @iova; src gets fresh data */
#define dma_round_trip(iova, seed)					\
	({								\
		fill(self->src, BUF_SIZE, seed);			\
		ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_SRC, 0,	\
					      BUF_SIZE));		\
		ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, iova,	\
					    BUF_SIZE));			\
	})

/* Bound, attached to the IOAS: DMA lands in the mapped buffers. */
TEST_F(cdev, dma_through_ioas)
{
	__u32 hwpt_id, again;

	if (_metadata->skip)
		return;
	test_ioctl_ioas_map_fixed(self->src, BUF_SIZE, IOVA_SRC);
	test_ioctl_ioas_map_fixed(self->dst, BUF_SIZE, IOVA_DST);
	bind_and_init();
	test_cmd_attach(self->dev, self->ioas_id, &hwpt_id);
	/* An automatic HWPT of the IOAS was made for the device */
	ASSERT_NE(self->ioas_id, hwpt_id);
	ASSERT_NE(self->dev_id, hwpt_id);

	/* Pages are pinned once a domain maps them */
	ASSERT_LE((long)(2 * BUF_SIZE / 1024), proc_status_kb("VmPin"));

	memset(self->dst, 0, BUF_SIZE);
	dma_round_trip(IOVA_DST, 0x11);
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));

	/* Attaching to the IOAS again lands on the same HWPT */
	test_cmd_attach(self->dev, self->ioas_id, &again);
	ASSERT_EQ(hwpt_id, again);
	memset(self->dst, 0, BUF_SIZE);
	dma_round_trip(IOVA_DST, 0x22);
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));

	/* The device and its HWPT cannot be destroyed from under it */
	test_err_destroy(EBUSY, self->dev_id);
	test_err_destroy(EBUSY, hwpt_id);
}

/*
 * Attach while attached replaces: a HWPT allocated on a second IOAS maps
 * the same IOVA to another buffer, and the DMA follows to it.
 */
TEST_F(cdev, replace_hwpt)
{
	__u32 hwpt_id, ioas2, hwpt2, got;

	if (_metadata->skip)
		return;
	test_ioctl_ioas_map_fixed(self->src, BUF_SIZE, IOVA_SRC);
	test_ioctl_ioas_map_fixed(self->dst, BUF_SIZE, IOVA_DST);
	bind_and_init();
	test_cmd_attach(self->dev, self->ioas_id, &hwpt_id);

	memset(self->dst, 0, BUF_SIZE);
	memset(self->dst2, 0x5a, BUF_SIZE);
	dma_round_trip(IOVA_DST, 0x33);
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));
	ASSERT_TRUE(all_bytes(self->dst2, BUF_SIZE, 0x5a));

	test_ioctl_ioas_alloc(&ioas2);
	test_ioctl_ioas_map_fixed_id(ioas2, self->src, BUF_SIZE, IOVA_SRC);
	test_ioctl_ioas_map_fixed_id(ioas2, self->dst2, BUF_SIZE, IOVA_DST);
	test_cmd_hwpt_alloc(self->dev_id, ioas2, 0, &hwpt2);
	ASSERT_NE(hwpt_id, hwpt2);

	test_cmd_attach(self->dev, hwpt2, &got);
	ASSERT_EQ(hwpt2, got);
	/* The automatic HWPT went with its last device */
	test_err_destroy(ENOENT, hwpt_id);

	memset(self->dst, 0xa5, BUF_SIZE);
	dma_round_trip(IOVA_DST, 0x44);
	ASSERT_EQ(0, memcmp(self->src, self->dst2, BUF_SIZE));
	ASSERT_TRUE(all_bytes(self->dst, BUF_SIZE, 0xa5));

	/* Replacing onto the HWPT the device is on changes nothing */
	test_cmd_attach(self->dev, hwpt2, &got);
	ASSERT_EQ(hwpt2, got);
	test_err_destroy(EBUSY, hwpt2);
	test_err_destroy(EBUSY, ioas2);

	/* And back to the first IOAS, which gets a new automatic HWPT */
	test_cmd_attach(self->dev, self->ioas_id, &got);
	ASSERT_NE(hwpt2, got);
	memset(self->dst, 0, BUF_SIZE);
	memset(self->dst2, 0x5a, BUF_SIZE);
	dma_round_trip(IOVA_DST, 0x55);
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));
	ASSERT_TRUE(all_bytes(self->dst2, BUF_SIZE, 0x5a));

	/* The manual HWPT stays until destroyed, and can be once unused */
	test_ioctl_destroy(hwpt2);
	test_ioctl_destroy(ioas2);
}

/* A DMA write to an IOVA that was unmapped is blocked and reported. */
TEST_F(cdev, unmap_blocks)
{
	__u32 hwpt_id;

	if (_metadata->skip)
		return;
	test_ioctl_ioas_map_fixed(self->src, BUF_SIZE, IOVA_SRC);
	test_ioctl_ioas_map_fixed(self->dst, BUF_SIZE, IOVA_DST);
	test_ioctl_ioas_map_fixed(self->victim, BUF_SIZE, IOVA_GONE);
	bind_and_init();
	test_cmd_attach(self->dev, self->ioas_id, &hwpt_id);

	memset(self->victim, 0, BUF_SIZE);
	dma_round_trip(IOVA_GONE, 0x66);
	ASSERT_EQ(0, memcmp(self->src, self->victim, BUF_SIZE));

	test_ioctl_ioas_unmap(IOVA_GONE, BUF_SIZE);
	expect_write_blocked(IOVA_GONE, self->victim);

	/* What is still mapped still works */
	memset(self->dst, 0, BUF_SIZE);
	dma_round_trip(IOVA_DST, 0x77);
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));
	ASSERT_TRUE(all_bytes(self->victim, BUF_SIZE, 0x5a));
}

/*
 * An unmap whose IOVA is not a multiple of its size rounded up to a power
 * of two: VT-d invalidates 2^n pages at an address aligned to that size,
 * so the flush must widen to an aligned range that covers all of it (with
 * first-stage tables too), or the last page stays in the IOTLB.
 */
#define IOVA_ODD	0x401000ULL	/* three pages from an odd page */
TEST_F(cdev, unmap_unaligned_range)
{
	__u32 hwpt_id;

	if (_metadata->skip)
		return;
	test_ioctl_ioas_map_fixed(self->src, BUF_SIZE, IOVA_SRC);
	/* dst, dst2, victim: three pages in a row, one area */
	test_ioctl_ioas_map_fixed(self->dst, 3 * BUF_SIZE, IOVA_ODD);
	bind_and_init();
	test_cmd_attach(self->dev, self->ioas_id, &hwpt_id);

	/* The last page's translation is in the IOTLB now */
	memset(self->victim, 0, BUF_SIZE);
	dma_round_trip(IOVA_ODD + 2 * BUF_SIZE, 0x3c);
	ASSERT_EQ(0, memcmp(self->src, self->victim, BUF_SIZE));

	test_ioctl_ioas_unmap(IOVA_ODD, 3 * BUF_SIZE);
	expect_write_blocked(IOVA_ODD + 2 * BUF_SIZE, self->victim);
}

/* A detached device's DMA is blocked; attaching it again restores it. */
TEST_F(cdev, detach_blocks)
{
	__u32 hwpt_id;

	if (_metadata->skip)
		return;
	test_ioctl_ioas_map_fixed(self->src, BUF_SIZE, IOVA_SRC);
	test_ioctl_ioas_map_fixed(self->dst, BUF_SIZE, IOVA_DST);
	bind_and_init();
	test_cmd_attach(self->dev, self->ioas_id, &hwpt_id);
	memset(self->dst, 0, BUF_SIZE);
	dma_round_trip(IOVA_DST, 0x88);
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));

	test_cmd_detach(self->dev);
	/* The automatic HWPT went with the detach */
	test_err_destroy(ENOENT, hwpt_id);
	expect_write_blocked(IOVA_DST, self->dst);

	/* Detaching a detached device is fine */
	test_cmd_detach(self->dev);

	test_cmd_attach(self->dev, self->ioas_id, &hwpt_id);
	memset(self->dst, 0, BUF_SIZE);
	dma_round_trip(IOVA_DST, 0x99);
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));
}

/*
 * The other side of a race: a thread doing @step over and over until told
 * to stop. @step returns 0, or -1 with errno set; @rounds counts the steps
 * done, @err keeps the errno of the first that failed (and ends the loop).
 */
struct race_loop {
	int (*step)(struct race_loop *l);
	bool stop;		/* __atomic: set by the test, read by the loop */
	unsigned long rounds;
	int err;
	pthread_t thread;
};

static void *race_loop_fn(void *arg)
{
	struct race_loop *l = arg;

	while (!__atomic_load_n(&l->stop, __ATOMIC_RELAXED)) {
		if (l->step(l)) {
			l->err = errno;
			break;
		}
		l->rounds++;
	}
	return NULL;
}

static int race_loop_start(struct race_loop *l)
{
	return pthread_create(&l->thread, NULL, race_loop_fn, l);
}

static int race_loop_stop(struct race_loop *l)
{
	__atomic_store_n(&l->stop, true, __ATOMIC_RELAXED);
	return pthread_join(l->thread, NULL);
}

/* map_vs_detach: maps and unmaps one buffer */
struct map_loop {
	struct race_loop loop;	/* first: the step gets it */
	int fd;
	__u32 ioas_id;
	void *buf;
};

static int map_step(struct race_loop *l)
{
	struct map_loop *m = (struct map_loop *)l;
	__u64 iova = IOVA_GONE;

	return _test_ioctl_ioas_map(m->fd, m->ioas_id, m->buf, BUF_SIZE, &iova,
				    IOMMU_IOAS_MAP_FIXED_IOVA |
				    IOMMU_IOAS_MAP_READABLE |
				    IOMMU_IOAS_MAP_WRITEABLE) ||
	       _test_ioctl_ioas_unmap(m->fd, m->ioas_id, iova, BUF_SIZE, NULL) ?
	       -1 : 0;
}

/*
 * Maps into a HW pagetable while its only device leaves it and comes back:
 * the IOMMU driver flushes after each map while the detach takes the
 * domain off the device's IOMMU. The device's DMA still lands afterwards.
 * The 20000 rounds take minutes on the debug kernel under emulation: the
 * harness's 30 s default would cut them.
 */
TEST_F_TIMEOUT(cdev, map_vs_detach, 1200)
{
	struct map_loop m = { .loop.step = map_step, .fd = self->fd,
			      .ioas_id = self->ioas_id, .buf = self->victim };
	__u32 hwpt_id, got;
	int i;

	if (_metadata->skip)
		return;
	test_ioctl_ioas_map_fixed(self->src, BUF_SIZE, IOVA_SRC);
	test_ioctl_ioas_map_fixed(self->dst, BUF_SIZE, IOVA_DST);
	bind_and_init();
	/* A manual HWPT: its domain stays in the IOAS while detached */
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id, 0, &hwpt_id);

	ASSERT_EQ(0, race_loop_start(&m.loop));
	for (i = 0; i < 20000 && !m.loop.err; i++) {
		test_cmd_attach(self->dev, hwpt_id, &got);
		test_cmd_detach(self->dev);
	}
	ASSERT_EQ(0, race_loop_stop(&m.loop));
	ASSERT_EQ(0, m.loop.err);
	ASSERT_LT(0, m.loop.rounds);

	test_cmd_attach(self->dev, hwpt_id, &got);
	memset(self->dst, 0, BUF_SIZE);
	dma_round_trip(IOVA_DST, 0x77);
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));
	test_cmd_detach(self->dev);
	test_ioctl_destroy(hwpt_id);
}

/* replace_never_bypasses: replaces between two HWPTs */
struct replace_loop {
	struct race_loop loop;	/* first: the step gets it */
	int dev;
	__u32 hwpt[2];
};

static int replace_step(struct race_loop *l)
{
	struct replace_loop *r = (struct replace_loop *)l;
	__u32 pt = r->hwpt[l->rounds & 1];

	return _attach(r->dev, sizeof(struct vfio_device_attach_iommufd_pt), 0,
		       &pt);
}

/* The physical address of the page at @p, 0 when unknown (needs root) */
static uint64_t phys_of(const void *p)
{
	uint64_t ent = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent),
		  (uintptr_t)p / PAGE_SIZE * sizeof(ent)) != sizeof(ent))
		ent = 0;
	close(fd);
	if (!(ent >> 63))
		return 0;
	return (ent & ((1ULL << 55) - 1)) * PAGE_SIZE;
}

/*
 * A replace moves the device from one HWPT to the other without a moment
 * of bypass: DMA writes to an IOVA that is the physical address of a page
 * no HWPT maps, while another thread replaces back and forth, land in the
 * page both HWPTs map there or are blocked, never in that page (where an
 * untranslated write would go). SMMUv3 booted with disable_bypass=0, as
 * the rig's smmuv3 mode does, would bypass between its domains otherwise.
 */
#define REPLACE_DMAS	60
TEST_F_TIMEOUT(cdev, replace_never_bypasses, 600)
{
	struct replace_loop r = { .loop.step = replace_step, .dev = self->dev };
	uint64_t iova;
	__u32 ioas2;
	int i;

	if (_metadata->skip)
		return;
	memset(self->victim, 0x5a, BUF_SIZE);
	iova = phys_of(self->victim);
	if (!iova)
		SKIP(return, "no physical address from /proc/self/pagemap");
	ASSERT_TRUE(iova >= IOVA_SRC + BUF_SIZE || iova + BUF_SIZE <= IOVA_SRC);

	test_ioctl_ioas_map_fixed(self->src, BUF_SIZE, IOVA_SRC);
	test_ioctl_ioas_map_fixed(self->dst, BUF_SIZE, iova);
	test_ioctl_ioas_alloc(&ioas2);
	test_ioctl_ioas_map_fixed_id(ioas2, self->src, BUF_SIZE, IOVA_SRC);
	test_ioctl_ioas_map_fixed_id(ioas2, self->dst, BUF_SIZE, iova);
	bind_and_init();
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id, 0, &r.hwpt[0]);
	test_cmd_hwpt_alloc(self->dev_id, ioas2, 0, &r.hwpt[1]);
	test_cmd_attach(self->dev, r.hwpt[1], &r.hwpt[1]);

	/* Both HWPTs send the write to dst */
	memset(self->dst, 0, BUF_SIZE);
	dma_round_trip(iova, 0x21);
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));

	ASSERT_EQ(0, race_loop_start(&r.loop));
	for (i = 0; i < REPLACE_DMAS && !r.loop.err; i++)
		ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0, iova, BUF_SIZE));
	ASSERT_EQ(0, race_loop_stop(&r.loop));
	ASSERT_EQ(0, r.loop.err);
	ksft_print_msg("%d DMA writes during %lu replaces\n", i,
		       r.loop.rounds);
	ASSERT_LT(REPLACE_DMAS, r.loop.rounds);
	ASSERT_TRUE(all_bytes(self->victim, BUF_SIZE, 0x5a));

	/* Still translated afterwards */
	memset(self->dst, 0, BUF_SIZE);
	dma_round_trip(iova, 0x42);
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));
	ASSERT_TRUE(all_bytes(self->victim, BUF_SIZE, 0x5a));
	test_cmd_detach(self->dev);
	test_ioctl_destroy(r.hwpt[0]);
	test_ioctl_destroy(r.hwpt[1]);
	test_ioctl_destroy(ioas2);
}

#define VTD_TRANSLATION_DEBUGFS \
	"/sys/kernel/debug/iommu/intel/domain_translation_struct"

/*
 * Whether VT-d's debugfs dump of the page tables in use lists @bdf; -1 if
 * the file cannot be read to its end.
 */
static int vtd_translation_lists(const char *bdf)
{
	char line[512], needle[64];
	int found = 0;
	FILE *f;

	snprintf(needle, sizeof(needle), "Device %s @", bdf);
	f = fopen(VTD_TRANSLATION_DEBUGFS, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, needle, strlen(needle)))
			found = 1;
	if (ferror(f))
		found = -1;
	fclose(f);
	return found;
}

/*
 * VT-d's debugfs walks the page table of each device's domain. A device
 * that userspace claimed and left unattached is on the blocking domain,
 * which has no page table: it is not listed (reading the blocking domain
 * as a paging domain would walk memory that is not a page table). Attached,
 * it is listed; detached again, it is not.
 */
TEST_F(cdev, vtd_debugfs_blocked)
{
	__u32 hwpt_id;

	if (_metadata->skip)
		return;
	if (access(VTD_TRANSLATION_DEBUGFS, R_OK))
		SKIP(return, "no %s (CONFIG_INTEL_IOMMU_DEBUGFS)",
		     VTD_TRANSLATION_DEBUGFS);
	/* Before the bind the device is on its default domain */
	bind_and_init();
	ASSERT_EQ(0, vtd_translation_lists(self->bdf));
	test_cmd_attach(self->dev, self->ioas_id, &hwpt_id);
	ASSERT_EQ(1, vtd_translation_lists(self->bdf));
	test_cmd_detach(self->dev);
	ASSERT_EQ(0, vtd_translation_lists(self->bdf));
}

/* Nothing but BIND works on a file that is not bound. */
TEST_F(cdev, before_bind)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info region = {
		.argsz = sizeof(region),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	struct vfio_device_feature feature = {
		.argsz = sizeof(feature),
		.flags = VFIO_DEVICE_FEATURE_PROBE |
			 VFIO_DEVICE_FEATURE_MIGRATION,
	};
	uint8_t byte;
	void *p;

	if (_metadata->skip)
		return;
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_GET_REGION_INFO, &region));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_RESET));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_FEATURE, &feature));
	EXPECT_EQ(EINVAL, errno);
	test_err_attach(EINVAL, self->dev,
			sizeof(struct vfio_device_attach_iommufd_pt), 0,
			self->ioas_id);
	test_err_detach(EINVAL, self->dev,
			sizeof(struct vfio_device_detach_iommufd_pt), 0);
	EXPECT_EQ(-1, pread(self->dev, &byte, 1, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pwrite(self->dev, &byte, 1, 0));
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_SHARED, self->dev, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	if (p != MAP_FAILED)
		munmap(p, PAGE_SIZE);

	/* And all of it works once bound */
	bind_and_init();
	ASSERT_EQ(0, ioctl(self->dev, VFIO_DEVICE_GET_INFO, &info));
	ASSERT_TRUE(info.flags & VFIO_DEVICE_FLAGS_PCI);
	ASSERT_EQ(0, ioctl(self->dev, VFIO_DEVICE_GET_REGION_INFO, &region));
}

/*
 * Bad binds fail with the documented errnos and change nothing. The size
 * is the v6.8 one: the VF token fields come after it.
 */
TEST_F(cdev, bind_errors)
{
	const __u32 size =
		offsetof(struct vfio_device_bind_iommufd, out_devid) + 4;
	const __u32 token_size =
		offsetof(struct vfio_device_bind_iommufd, token_uuid_ptr) + 8;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	const uint8_t uuid[16] = { 0x4a, 0x11, 0x0e, 0x5b, 0x02, 0x9c, 0x4d,
				   0x7f, 0xb1, 0x33, 0x60, 0x2a, 0xe4, 0x08,
				   0xc5, 0x19 };
	int null_fd, closed_fd, other;
	__u32 dev_id2;

	if (_metadata->skip)
		return;
	test_err_bind(EINVAL, self->dev, self->fd, size - 1, 0);
	test_err_bind(EINVAL, self->dev, self->fd, size, 1 << 1);
	test_err_bind(EINVAL, self->dev, -1, size, 0);

	/*
	 * The VF token: argsz must cover its pointer, the pointer must be
	 * readable, and a device that is no SR-IOV VF or PF takes none
	 */
	EXPECT_EQ(-1, _bind_token(self->dev, self->fd, size, uuid));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, _bind_token(self->dev, self->fd, token_size - 1, uuid));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, _bind_token(self->dev, self->fd, token_size, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, _bind_token(self->dev, self->fd, token_size, uuid));
	EXPECT_EQ(EINVAL, errno);

	closed_fd = dup(self->fd);
	ASSERT_LE(0, closed_fd);
	ASSERT_EQ(0, close(closed_fd));
	test_err_bind(EBADF, self->dev, closed_fd, size, 0);

	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, null_fd);
	test_err_bind(EBADFD, self->dev, null_fd, size, 0);
	/* Nor is a device cdev an iommufd */
	test_err_bind(EBADFD, self->dev, self->dev, size, 0);
	close(null_fd);

	/* Still not bound after all that */
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);

	/* A larger argsz is accepted; only the known part is read */
	ASSERT_EQ(0, _bind(self->dev, self->fd, size + 8, 0, &self->dev_id));
	ASSERT_NE(0, self->dev_id);
	ASSERT_EQ(0, ioctl(self->dev, VFIO_DEVICE_GET_INFO, &info));

	/* Bound already */
	test_err_bind(EINVAL, self->dev, self->fd, size, 0);

	/* Another file of the device opens, but cannot bind nor do more */
	other = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, other);
	test_err_bind(EINVAL, other, self->fd, size, 0);
	EXPECT_EQ(-1, ioctl(other, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	close(other);

	/* Closing the bound file lets another one bind */
	ASSERT_EQ(0, close(self->dev));
	self->dev = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, self->dev);
	test_cmd_bind(self->dev, self->fd, &dev_id2);
	ASSERT_EQ(0, ioctl(self->dev, VFIO_DEVICE_GET_INFO, &info));
}

/* Bad attach and detach requests fail with the documented errnos. */
TEST_F(cdev, attach_errors)
{
	const __u32 asize = sizeof(struct vfio_device_attach_iommufd_pt);
	const __u32 dsize = sizeof(struct vfio_device_detach_iommufd_pt);
	__u32 hwpt_id, got;

	if (_metadata->skip)
		return;
	test_ioctl_ioas_map_fixed(self->src, BUF_SIZE, IOVA_SRC);
	test_ioctl_ioas_map_fixed(self->dst, BUF_SIZE, IOVA_DST);
	bind_and_init();

	test_err_attach(ENOENT, self->dev, asize, 0, BOGUS_ID);
	test_err_attach(ENOENT, self->dev, asize, 0, 0);
	/* A device is not a page table */
	test_err_attach(EINVAL, self->dev, asize, 0, self->dev_id);
	test_err_attach(EINVAL, self->dev, asize - 1, 0, self->ioas_id);
	test_err_attach(EINVAL, self->dev, asize, 1, self->ioas_id);
	test_err_detach(EINVAL, self->dev, dsize - 1, 0);
	test_err_detach(EINVAL, self->dev, dsize, 1);

	/* None of that attached the device: its DMA is blocked, and reported */
	expect_write_blocked(IOVA_DST, self->dst);

	/* A failed replace leaves the device where it was */
	test_cmd_attach(self->dev, self->ioas_id, &hwpt_id);
	test_err_attach(ENOENT, self->dev, asize, 0, BOGUS_ID);
	test_err_attach(EINVAL, self->dev, asize, 0, self->dev_id);
	memset(self->dst, 0, BUF_SIZE);
	dma_round_trip(IOVA_DST, 0xaa);
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));
	test_cmd_attach(self->dev, self->ioas_id, &got);
	ASSERT_EQ(hwpt_id, got);

	/* A larger argsz is accepted, the tail ignored */
	ASSERT_EQ(0, _detach(self->dev, dsize + 4, 0));
	got = self->ioas_id;
	ASSERT_EQ(0, _attach(self->dev, asize + 4, 0, &got));
	ASSERT_NE(0, got);
}

/*
 * The device is used through its group or its cdev, never both, and the
 * group path works as before once the cdev is closed.
 */
TEST_F(cdev, group_exclusive)
{
	struct vfio_legacy *legacy = &self->legacy;
	int group;

	if (_metadata->skip)
		return;

	/* Unbound cdev files do not keep the group from opening */
	group = vfio_group_open(self->group_id);
	ASSERT_LE(0, group);
	/* ... but an open group keeps the cdev from binding */
	test_err_bind(EBUSY, self->dev, self->fd,
		      sizeof(struct vfio_device_bind_iommufd), 0);
	ASSERT_EQ(0, close(group));

	bind_and_init();
	ASSERT_EQ(-EBUSY, vfio_group_open(self->group_id));

	/* Closing the cdev (BAR unmapped first) frees the group */
	edu_uninit(&self->edu);
	ASSERT_EQ(0, close(self->dev));
	self->dev = -1;

	ASSERT_EQ(0, vfio_legacy_open(legacy, self->bdf));
	ASSERT_EQ(0, edu_init(&self->edu, legacy->device));
	ASSERT_EQ(0, vfio_type1_map(legacy->container, self->src, IOVA_SRC,
				    BUF_SIZE));
	ASSERT_EQ(0, vfio_type1_map(legacy->container, self->dst, IOVA_DST,
				    BUF_SIZE));
	memset(self->dst, 0, BUF_SIZE);
	dma_round_trip(IOVA_DST, 0xbb);
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));

	/* A device open through its group cannot be bound through its cdev */
	self->dev = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, self->dev);
	test_err_bind(EBUSY, self->dev, self->fd,
		      sizeof(struct vfio_device_bind_iommufd), 0);

	edu_uninit(&self->edu);
	vfio_legacy_close(legacy);
	test_cmd_bind(self->dev, self->fd, &self->dev_id);
}

/* Whichever file goes first, every pinned page is released. */
TEST_F(cdev, close_iommufd_first)
{
	__u32 hwpt_id;

	if (_metadata->skip)
		return;
	test_ioctl_ioas_map_fixed(self->src, BUF_SIZE, IOVA_SRC);
	test_ioctl_ioas_map_fixed(self->dst, BUF_SIZE, IOVA_DST);
	bind_and_init();
	test_cmd_attach(self->dev, self->ioas_id, &hwpt_id);
	ASSERT_LE((long)(2 * BUF_SIZE / 1024), proc_status_kb("VmPin"));

	/* The bound device keeps the iommufd and its mappings alive */
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_LE((long)(2 * BUF_SIZE / 1024), proc_status_kb("VmPin"));
	memset(self->dst, 0, BUF_SIZE);
	dma_round_trip(IOVA_DST, 0xcc);
	ASSERT_EQ(0, memcmp(self->src, self->dst, BUF_SIZE));

	edu_uninit(&self->edu);
	ASSERT_EQ(0, close(self->dev));
	self->dev = -1;
	ASSERT_EQ(0, proc_status_kb("VmPin"));
}

TEST_F(cdev, close_device_first)
{
	__u32 hwpt_id, ioas2, hwpt2;

	if (_metadata->skip)
		return;
	test_ioctl_ioas_map_fixed(self->src, BUF_SIZE, IOVA_SRC);
	test_ioctl_ioas_map_fixed(self->dst, BUF_SIZE, IOVA_DST);
	bind_and_init();
	test_cmd_attach(self->dev, self->ioas_id, &hwpt_id);
	test_ioctl_ioas_alloc(&ioas2);
	test_ioctl_ioas_map_fixed_id(ioas2, self->dst2, BUF_SIZE, IOVA_DST);
	test_cmd_hwpt_alloc(self->dev_id, ioas2, 0, &hwpt2);
	test_cmd_attach(self->dev, hwpt2, &hwpt_id);
	ASSERT_EQ(hwpt2, hwpt_id);
	ASSERT_LE((long)(BUF_SIZE / 1024), proc_status_kb("VmPin"));

	edu_uninit(&self->edu);
	ASSERT_EQ(0, close(self->dev));
	self->dev = -1;
	/* The unbind detached it: the HWPT and its IOAS can go */
	test_ioctl_destroy(hwpt2);
	test_ioctl_destroy(ioas2);
	/* Nothing maps the IOAS without a domain: nothing is pinned */
	ASSERT_EQ(0, proc_status_kb("VmPin"));

	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(0, proc_status_kb("VmPin"));
}

/* Closing while attached, without a detach, with the HWPT still held */
TEST_F(cdev, close_attached_hwpt)
{
	__u32 ioas2, hwpt2, got;

	if (_metadata->skip)
		return;
	test_ioctl_ioas_alloc(&ioas2);
	test_ioctl_ioas_map_fixed_id(ioas2, self->src, BUF_SIZE, IOVA_SRC);
	test_ioctl_ioas_map_fixed_id(ioas2, self->dst2, BUF_SIZE, IOVA_DST);
	bind_and_init();
	test_cmd_hwpt_alloc(self->dev_id, ioas2, 0, &hwpt2);
	test_cmd_attach(self->dev, hwpt2, &got);
	ASSERT_EQ(hwpt2, got);
	memset(self->dst2, 0, BUF_SIZE);
	dma_round_trip(IOVA_DST, 0xdd);
	ASSERT_EQ(0, memcmp(self->src, self->dst2, BUF_SIZE));
	ASSERT_LE((long)(2 * BUF_SIZE / 1024), proc_status_kb("VmPin"));

	/* Both at once: the iommufd first, the device releases it */
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	edu_uninit(&self->edu);
	ASSERT_EQ(0, close(self->dev));
	self->dev = -1;
	ASSERT_EQ(0, proc_status_kb("VmPin"));
}

TEST_HARNESS_MAIN
