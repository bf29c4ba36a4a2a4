// SPDX-License-Identifier: GPL-2.0
/*
 * A mediated device on iommufd: the mdma sample (samples/vfio-mdev/mdma.c)
 * copies memory by IOVA with vfio_dma_rw() and through pinned pages, as
 * the drivers of mediated devices do. Bound through its cdev it gets an
 * in-kernel access of the iommufd instead of a device object; through its
 * group it uses the iommufd that provides /dev/vfio/vfio. Checked here:
 *  - the copies land in the buffers the IOAS maps at those IOVAs, and fail
 *    (-ENOENT) while the device is not attached;
 *  - the access is the driver's: IOMMU_DESTROY of its id is -EBUSY;
 *  - pins the driver holds are given back when userspace unmaps them,
 *    when the device moves to another IOAS and when it is detached (its
 *    dma_unmap is called), and VmPin follows;
 *  - ATTACH takes an IOAS only, and hands its id back;
 *  - cdev and group exclude each other, as for PCI devices.
 *
 * Needs CONFIG_SAMPLE_VFIO_MDEV_MDMA, iommufd and the VFIO device cdev;
 * the group case needs CONFIG_IOMMUFD_VFIO_CONTAINER. Each test creates
 * its own mdma device and removes it.
 */
#include <dirent.h>
#include <linux/vfio.h>

#include "iommufd_utils.h"
#include "vfio_util.h"
#include "../../../../samples/vfio-mdev/mdma.h"

#define MDMA_TYPE	"/sys/devices/virtual/mdma/mdma/mdev_supported_types/mdma-1"
#define MDEV_DEVICES	"/sys/bus/mdev/devices"

#define BUF_SIZE	(4 * PAGE_SIZE)
#define IOVA_SRC	0x100000ULL
#define IOVA_DST	0x200000ULL
#define BOGUS_ID	0x7ffffff0

static __attribute__((constructor)) void setup_globals(void)
{
	iommufd_setup_globals();
}

/* --- the device --- */

static int mdma_reg_write(int dev, int reg, uint64_t val)
{
	if (pwrite(dev, &val, sizeof(val), reg * sizeof(val)) != sizeof(val))
		return -errno;
	return 0;
}

static int64_t mdma_reg_read(int dev, int reg)
{
	uint64_t val;

	if (pread(dev, &val, sizeof(val), reg * sizeof(val)) != sizeof(val))
		return -errno;
	return val;
}

/* Run @cmd on SRC, DST, LEN; its status, 0 or a negative errno */
static int64_t mdma_cmd(int dev, int cmd, uint64_t src, uint64_t dst,
			uint64_t len)
{
	int ret;

	ret = mdma_reg_write(dev, MDMA_REG_SRC, src);
	if (!ret)
		ret = mdma_reg_write(dev, MDMA_REG_DST, dst);
	if (!ret)
		ret = mdma_reg_write(dev, MDMA_REG_LEN, len);
	if (!ret)
		ret = mdma_reg_write(dev, MDMA_REG_CMD, cmd);
	if (ret)
		return ret;
	return mdma_reg_read(dev, MDMA_REG_STATUS);
}

FIXTURE(mdev) {
	char uuid[40];
	bool created;
	int fd;			/* /dev/iommu */
	int dev;		/* the device: its cdev, or through the group */
	int group;
	int container;
	__u32 id;		/* the access, from BIND */
	__u32 ioas_a, ioas_b;
	uint8_t *mem;		/* src_a, dst_a, src_b, dst_b */
	uint8_t *src_a, *dst_a, *src_b, *dst_b;
};

#define mdev_fixture FIXTURE_DATA(mdev)

/* The "vfioX" of the device, found as QEMU finds it: <device>/vfio-dev/ */
static int mdev_cdev_open(const char *uuid)
{
	char path[256], node[300];
	struct dirent *d;
	DIR *dir;
	int fd = -ENODEV;

	snprintf(path, sizeof(path), MDEV_DEVICES "/%s/vfio-dev", uuid);
	dir = opendir(path);
	if (!dir)
		return -ENODEV;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "vfio", 4))
			break;
	if (d) {
		snprintf(node, sizeof(node), "/dev/vfio/devices/%s",
			 d->d_name);
		fd = open(node, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	closedir(dir);
	return fd;
}

static int mdev_group(const char *uuid)
{
	char path[256], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), MDEV_DEVICES "/%s/iommu_group", uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	return atoi(strrchr(link, '/') + 1);
}

FIXTURE_SETUP(mdev)
{
	static unsigned int serial;
	char path[256];

	self->fd = -1;
	self->dev = -1;
	self->group = -1;
	self->container = -1;
	if (access(MDMA_TYPE, F_OK))
		SKIP(return, "no mdma sample device (CONFIG_SAMPLE_VFIO_MDEV_MDMA)");
	if (access("/dev/iommu", F_OK))
		SKIP(return, "no /dev/iommu");

	snprintf(self->uuid, sizeof(self->uuid),
		 "6d646d61-0000-4000-8000-%012x", getpid() * 64 + serial++);
	ASSERT_EQ(0, sysfs_write(MDMA_TYPE "/create", self->uuid));
	self->created = true;

	self->mem = iommufd_alloc_buffer(4 * BUF_SIZE, PAGE_SIZE);
	ASSERT_NE(NULL, self->mem);
	self->src_a = self->mem;
	self->dst_a = self->mem + BUF_SIZE;
	self->src_b = self->mem + 2 * BUF_SIZE;
	self->dst_b = self->mem + 3 * BUF_SIZE;
	snprintf(path, sizeof(path), MDEV_DEVICES "/%s", self->uuid);
	ASSERT_EQ(0, access(path, F_OK));
}

FIXTURE_TEARDOWN(mdev)
{
	char path[256];

	if (self->dev >= 0)
		close(self->dev);
	if (self->group >= 0)
		close(self->group);
	if (self->container >= 0)
		close(self->container);
	if (self->fd >= 0)
		close(self->fd);
	if (self->mem)
		munmap(self->mem, 4 * BUF_SIZE);
	if (self->created) {
		snprintf(path, sizeof(path), MDEV_DEVICES "/%s/remove",
			 self->uuid);
		sysfs_write(path, "1");
	}
}

/*
 * The device bound through its cdev to a new iommufd; IOAS A and B map
 * their own source and destination buffers at the same IOVAs.
 */
static void mdev_cdev_up(struct __test_metadata *_metadata,
			 mdev_fixture *self)
{
	self->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	self->dev = mdev_cdev_open(self->uuid);
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, vfio_cdev_bind(self->dev, self->fd, &self->id));
	ASSERT_NE(0, self->id);

	test_ioctl_ioas_alloc(&self->ioas_a);
	test_ioctl_ioas_map_fixed_id(self->ioas_a, self->src_a, BUF_SIZE,
				     IOVA_SRC);
	test_ioctl_ioas_map_fixed_id(self->ioas_a, self->dst_a, BUF_SIZE,
				     IOVA_DST);
	test_ioctl_ioas_alloc(&self->ioas_b);
	test_ioctl_ioas_map_fixed_id(self->ioas_b, self->src_b, BUF_SIZE,
				     IOVA_SRC);
	test_ioctl_ioas_map_fixed_id(self->ioas_b, self->dst_b, BUF_SIZE,
				     IOVA_DST);
	fill(self->src_a, BUF_SIZE, 0x11);
	fill(self->src_b, BUF_SIZE, 0x77);
}

/* A copy with @cmd lands in @dst from @src, and nowhere else */
static void expect_copy(struct __test_metadata *_metadata,
			mdev_fixture *self, int cmd, const uint8_t *src,
			uint8_t *dst, uint8_t *other_dst)
{
	memset(self->dst_a, 0xa5, BUF_SIZE);
	memset(self->dst_b, 0x5a, BUF_SIZE);
	ASSERT_EQ(0, mdma_cmd(self->dev, cmd, IOVA_SRC, IOVA_DST, BUF_SIZE));
	ASSERT_EQ(0, memcmp(src, dst, BUF_SIZE));
	ASSERT_EQ(other_dst == self->dst_a ? 0xa5 : 0x5a, other_dst[0]);
	ASSERT_EQ(other_dst[0], other_dst[BUF_SIZE - 1]);
}

#define expect_pinned_kb(kb) ASSERT_EQ((long)(kb), proc_status_kb("VmPin"))

/*
 * Through the cdev: the bind gives an access, not a device; copies land
 * in the attached IOAS, by dma_rw and through pins; nothing stays pinned.
 */
TEST_F(mdev, cdev_copy)
{
	__u32 pt;

	mdev_cdev_up(_metadata, self);
	/* The driver's object, not userspace's to destroy */
	test_err_destroy(EBUSY, self->id);

	/* Not attached: nothing to reach */
	ASSERT_EQ(-ENOENT, mdma_cmd(self->dev, MDMA_CMD_COPY_RW, IOVA_SRC,
				    IOVA_DST, BUF_SIZE));
	ASSERT_EQ(-ENOENT, mdma_cmd(self->dev, MDMA_CMD_COPY_PIN, IOVA_SRC,
				    IOVA_DST, BUF_SIZE));

	/* An IOAS only; its id comes back */
	pt = BOGUS_ID;
	ASSERT_EQ(-ENOENT, vfio_cdev_attach(self->dev, &pt));
	pt = self->id;
	ASSERT_EQ(-ENOENT, vfio_cdev_attach(self->dev, &pt));
	pt = self->ioas_a;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &pt));
	ASSERT_EQ(self->ioas_a, pt);

	expect_copy(_metadata, self, MDMA_CMD_COPY_RW, self->src_a,
		    self->dst_a, self->dst_b);
	expect_copy(_metadata, self, MDMA_CMD_COPY_PIN, self->src_a,
		    self->dst_a, self->dst_b);
	/* Odd sizes and offsets for dma_rw */
	memset(self->dst_a, 0, BUF_SIZE);
	ASSERT_EQ(0, mdma_cmd(self->dev, MDMA_CMD_COPY_RW, IOVA_SRC + 3,
			      IOVA_DST + 5, 3001));
	ASSERT_EQ(0, memcmp(self->src_a + 3, self->dst_a + 5, 3001));
	ASSERT_EQ(0, self->dst_a[4]);
	ASSERT_EQ(0, self->dst_a[5 + 3001]);
	/* Past the end of the mapping */
	ASSERT_EQ(-ENOENT, mdma_cmd(self->dev, MDMA_CMD_COPY_RW, IOVA_SRC,
				    IOVA_DST + PAGE_SIZE, BUF_SIZE));
	/* The IOAS is in use while the device is attached to it */
	test_err_destroy(EBUSY, self->ioas_a);
	/* No domain, and the copies unpinned: nothing pinned */
	expect_pinned_kb(0);

	ASSERT_EQ(0, close(self->dev));
	self->dev = -1;
	/* Closing unbound and detached it: the access and IOAS can go */
	test_err_destroy(ENOENT, self->id);
	test_ioctl_destroy(self->ioas_a);
}

/*
 * Pins the driver holds go back when userspace unmaps them: the unmap
 * succeeds, the driver's dma_unmap dropped them, VmPin is back to 0.
 */
TEST_F(mdev, cdev_unmap_held)
{
	__u32 pt;

	mdev_cdev_up(_metadata, self);
	pt = self->ioas_a;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &pt));

	ASSERT_EQ(0, mdma_cmd(self->dev, MDMA_CMD_HOLD, IOVA_DST, 0,
			      BUF_SIZE));
	ASSERT_EQ(BUF_SIZE / PAGE_SIZE, mdma_reg_read(self->dev,
						      MDMA_REG_HELD));
	expect_pinned_kb(BUF_SIZE / 1024);
	/* Held once: a second HOLD is refused by the driver */
	ASSERT_EQ(-EBUSY, mdma_cmd(self->dev, MDMA_CMD_HOLD, IOVA_SRC, 0,
				   BUF_SIZE));

	/* Unmapping the source is no business of the held pins */
	test_ioctl_ioas_unmap_id(self->ioas_a, IOVA_SRC, BUF_SIZE);
	ASSERT_EQ(0, mdma_reg_read(self->dev, MDMA_REG_UNMAPS));
	ASSERT_EQ(BUF_SIZE / PAGE_SIZE, mdma_reg_read(self->dev,
						      MDMA_REG_HELD));
	/* Unmapping the destination asks the driver to unpin */
	test_ioctl_ioas_unmap_id(self->ioas_a, IOVA_DST, BUF_SIZE);
	ASSERT_EQ(1, mdma_reg_read(self->dev, MDMA_REG_UNMAPS));
	ASSERT_EQ(0, mdma_reg_read(self->dev, MDMA_REG_HELD));
	expect_pinned_kb(0);
	/* Nothing mapped any more */
	ASSERT_EQ(-ENOENT, mdma_cmd(self->dev, MDMA_CMD_COPY_RW, IOVA_SRC,
				    IOVA_DST, BUF_SIZE));

	/* Held pins released by the driver itself, then by the close */
	test_ioctl_ioas_map_fixed_id(self->ioas_a, self->dst_a, BUF_SIZE,
				     IOVA_DST);
	ASSERT_EQ(0, mdma_cmd(self->dev, MDMA_CMD_HOLD, IOVA_DST, 0,
			      PAGE_SIZE));
	ASSERT_EQ(0, mdma_cmd(self->dev, MDMA_CMD_RELEASE, 0, 0, 0));
	expect_pinned_kb(0);
	ASSERT_EQ(0, mdma_cmd(self->dev, MDMA_CMD_HOLD, IOVA_DST, 0,
			      PAGE_SIZE));
	expect_pinned_kb(PAGE_SIZE / 1024);
	ASSERT_EQ(0, close(self->dev));
	self->dev = -1;
	expect_pinned_kb(0);
}

/*
 * ATTACH of an attached device moves it to the other IOAS: the driver is
 * asked to unpin first, and then reaches B's buffers. DETACH asks it too,
 * and leaves it nothing to reach; it can attach again.
 */
TEST_F(mdev, cdev_replace_detach)
{
	__u32 pt;

	mdev_cdev_up(_metadata, self);
	pt = self->ioas_a;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &pt));
	ASSERT_EQ(0, mdma_cmd(self->dev, MDMA_CMD_HOLD, IOVA_DST, 0,
			      BUF_SIZE));
	expect_pinned_kb(BUF_SIZE / 1024);

	pt = self->ioas_b;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &pt));
	ASSERT_EQ(self->ioas_b, pt);
	ASSERT_EQ(0, mdma_reg_read(self->dev, MDMA_REG_HELD));
	ASSERT_EQ(1, mdma_reg_read(self->dev, MDMA_REG_UNMAPS));
	expect_pinned_kb(0);
	expect_copy(_metadata, self, MDMA_CMD_COPY_RW, self->src_b,
		    self->dst_b, self->dst_a);
	expect_copy(_metadata, self, MDMA_CMD_COPY_PIN, self->src_b,
		    self->dst_b, self->dst_a);
	/* A is free now, B is held */
	test_ioctl_destroy(self->ioas_a);
	test_err_destroy(EBUSY, self->ioas_b);
	/* Onto the same IOAS: nothing changes */
	ASSERT_EQ(0, vfio_cdev_attach(self->dev, &pt));
	ASSERT_EQ(1, mdma_reg_read(self->dev, MDMA_REG_UNMAPS));

	ASSERT_EQ(0, mdma_cmd(self->dev, MDMA_CMD_HOLD, IOVA_SRC, 0,
			      BUF_SIZE));
	expect_pinned_kb(BUF_SIZE / 1024);
	ASSERT_EQ(0, vfio_cdev_detach(self->dev));
	ASSERT_EQ(0, mdma_reg_read(self->dev, MDMA_REG_HELD));
	ASSERT_EQ(2, mdma_reg_read(self->dev, MDMA_REG_UNMAPS));
	expect_pinned_kb(0);
	ASSERT_EQ(-ENOENT, mdma_cmd(self->dev, MDMA_CMD_COPY_RW, IOVA_SRC,
				    IOVA_DST, BUF_SIZE));
	/* Detached twice is fine; B can go */
	ASSERT_EQ(0, vfio_cdev_detach(self->dev));
	test_ioctl_destroy(self->ioas_b);
	pt = self->ioas_b;
	ASSERT_EQ(-ENOENT, vfio_cdev_attach(self->dev, &pt));
}

/*
 * Before the bind the device file does nothing but bind; a bound device
 * keeps its group from being opened, and an open group keeps its device
 * from being bound.
 */
TEST_F(mdev, cdev_rules)
{
	uint64_t val;
	__u32 id, pt = 1;
	int group;

	self->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	self->dev = mdev_cdev_open(self->uuid);
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(-1, pread(self->dev, &val, sizeof(val), 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-EINVAL, vfio_cdev_attach(self->dev, &pt));

	group = vfio_group_open(mdev_group(self->uuid));
	ASSERT_LE(0, group);
	ASSERT_EQ(-EBUSY, vfio_cdev_bind(self->dev, self->fd, &id));
	ASSERT_EQ(0, close(group));

	ASSERT_EQ(0, vfio_cdev_bind(self->dev, self->fd, &id));
	ASSERT_EQ(-EINVAL, vfio_cdev_bind(self->dev, self->fd, &id));
	ASSERT_EQ(-EBUSY, vfio_group_open(mdev_group(self->uuid)));
	ASSERT_EQ(0, mdma_reg_read(self->dev, MDMA_REG_HELD));
	/* The driver's own checks: registers are 8 bytes */
	ASSERT_EQ(-1, pread(self->dev, &val, 4, 0));
	ASSERT_EQ(EINVAL, errno);
}

/*
 * Through the group, with the iommufd that provides /dev/vfio/vfio as its
 * container: type1 MAP_DMA, then the copies land; UNMAP_DMA of held pins
 * makes the driver drop them.
 */
TEST_F(mdev, group_compat)
{
	int flags;

	self->group = vfio_group_open(mdev_group(self->uuid));
	ASSERT_LE(0, self->group);
	flags = vfio_group_flags(self->group);
	ASSERT_LT(0, flags);
	ASSERT_TRUE(flags & VFIO_GROUP_FLAGS_VIABLE);
	self->container = vfio_container_open();
	ASSERT_LE(0, self->container);
	ASSERT_EQ(0, vfio_group_set_container(self->group, self->container));
	ASSERT_EQ(0, vfio_container_set_iommu(self->container,
					      VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, vfio_type1_map(self->container, self->src_a, IOVA_SRC,
				    BUF_SIZE));
	ASSERT_EQ(0, vfio_type1_map(self->container, self->dst_a, IOVA_DST,
				    BUF_SIZE));
	self->dev = vfio_group_device_fd(self->group, self->uuid);
	ASSERT_LE(0, self->dev);
	fill(self->src_a, BUF_SIZE, 0x33);

	expect_copy(_metadata, self, MDMA_CMD_COPY_RW, self->src_a,
		    self->dst_a, self->dst_b);
	expect_copy(_metadata, self, MDMA_CMD_COPY_PIN, self->src_a,
		    self->dst_a, self->dst_b);

	ASSERT_EQ(0, mdma_cmd(self->dev, MDMA_CMD_HOLD, IOVA_DST, 0,
			      BUF_SIZE));
	expect_pinned_kb(BUF_SIZE / 1024);
	ASSERT_EQ(BUF_SIZE, vfio_type1_unmap(self->container, IOVA_DST,
					     BUF_SIZE));
	ASSERT_EQ(0, mdma_reg_read(self->dev, MDMA_REG_HELD));
	ASSERT_EQ(1, mdma_reg_read(self->dev, MDMA_REG_UNMAPS));
	expect_pinned_kb(0);
	ASSERT_EQ(-ENOENT, mdma_cmd(self->dev, MDMA_CMD_COPY_RW, IOVA_SRC,
				    IOVA_DST, BUF_SIZE));

	/* Closed and opened again: attached again, still reaching memory */
	ASSERT_EQ(0, close(self->dev));
	self->dev = vfio_group_device_fd(self->group, self->uuid);
	ASSERT_LE(0, self->dev);
	memset(self->src_a + PAGE_SIZE, 0, PAGE_SIZE);
	ASSERT_EQ(0, mdma_cmd(self->dev, MDMA_CMD_COPY_RW, IOVA_SRC,
			      IOVA_SRC + PAGE_SIZE, PAGE_SIZE));
	ASSERT_EQ(0, memcmp(self->src_a, self->src_a + PAGE_SIZE, PAGE_SIZE));
}

TEST_HARNESS_MAIN
