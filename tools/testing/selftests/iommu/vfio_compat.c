// SPDX-License-Identifier: GPL-2.0
/*
 * The VFIO type1 container requests answered by an iommufd: on a plain
 * /dev/iommu and on /dev/vfio/vfio when iommufd provides it
 * (CONFIG_IOMMUFD_VFIO_CONTAINER; skipped when it is VFIO's own container).
 * VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU,
 * VFIO_IOMMU_GET_INFO and its caps, VFIO_IOMMU_MAP_DMA/UNMAP_DMA with their
 * errors, type1 v1 (split unmaps) against v2, and how IOMMU_VFIO_IOAS picks
 * the IOAS they act on. A mock device of CONFIG_IOMMUFD_TEST provides the
 * domain where one is needed.
 */
#include <assert.h>
#include <linux/vfio.h>

#include "iommufd_utils.h"

#define NODE_IOMMU	"/dev/iommu"
#define NODE_VFIO	"/dev/vfio/vfio"
/* Big enough for the info, both caps and a few IOVA ranges */
#define INFO_BUF_SIZE	512
/* Offsets of the caps in the GET_INFO answer */
#define CAP_DMA_AVAIL_OFFSET	sizeof(struct vfio_iommu_type1_info)
#define CAP_IOVA_RANGE_OFFSET	(CAP_DMA_AVAIL_OFFSET + 16)

static void *buffer;
static unsigned long BUFFER_SIZE;

static __attribute__((constructor)) void setup_buffer(void)
{
	iommufd_setup_globals();
	BUFFER_SIZE = 64 * PAGE_SIZE;
	buffer = iommufd_alloc_buffer(BUFFER_SIZE, HUGEPAGE_SIZE);
	assert(buffer);
}

/* The raw requests: 0 or -1 with errno, like ioctl() */
static int vfio_map(int fd, __u32 argsz, __u32 flags, void *vaddr,
		    __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = argsz,
		.flags = flags,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

#define MAP_RW_FLAGS (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define MAP_SZ sizeof(struct vfio_iommu_type1_dma_map)

/* *size: the size in, what the kernel wrote back out (also on failure) */
static int vfio_unmap(int fd, __u32 argsz, __u32 flags, __u64 iova,
		      __u64 *size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = argsz,
		.flags = flags,
		.iova = iova,
		.size = *size,
	};
	int ret;

	ret = ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
	*size = unmap.size;
	return ret;
}

#define UNMAP_SZ sizeof(struct vfio_iommu_type1_dma_unmap)

#define test_vfio_map(iova, len)					\
	ASSERT_EQ(0, vfio_map(self->fd, MAP_SZ, MAP_RW_FLAGS, buffer,	\
			      iova, len))
#define test_err_vfio_map(_errno, argsz, flags, iova, len)		\
	({								\
		EXPECT_EQ(-1, vfio_map(self->fd, argsz, flags, buffer,	\
				       iova, len));			\
		EXPECT_EQ(_errno, errno);				\
	})
/* Unmap [iova, iova + len) and expect @unmapped bytes to go */
#define test_vfio_unmap(iova, len, unmapped)				\
	({								\
		__u64 __size = len;					\
		ASSERT_EQ(0, vfio_unmap(self->fd, UNMAP_SZ, 0, iova,	\
					&__size));			\
		ASSERT_EQ(unmapped, __size);				\
	})
#define test_err_vfio_unmap(_errno, argsz, flags, iova, len)		\
	({								\
		__u64 __size = len;					\
		EXPECT_EQ(-1, vfio_unmap(self->fd, argsz, flags, iova,	\
					 &__size));			\
		EXPECT_EQ(_errno, errno);				\
	})
#define test_vfio_unmap_all(unmapped)					\
	({								\
		__u64 __size = 0;					\
		ASSERT_EQ(0, vfio_unmap(self->fd, UNMAP_SZ,		\
					VFIO_DMA_UNMAP_FLAG_ALL, 0,	\
					&__size));			\
		ASSERT_EQ(unmapped, __size);				\
	})

/*
 * Open @node; for /dev/vfio/vfio only if iommufd provides it (VFIO's own
 * container does not know IOMMU_OPTION). Returns the fd, or -1 and sets
 * *why.
 */
static int open_node(const char *node, const char **why)
{
	__u64 val = 0;
	int fd;

	fd = open(node, O_RDWR);
	if (fd < 0) {
		*why = "cannot open the node";
		return -1;
	}
	if (_test_ioctl_option(fd, IOMMU_OPTION_RLIMIT_MODE,
			       IOMMU_OPTION_OP_GET, 0, &val)) {
		close(fd);
		*why = "not an iommufd (VFIO's own container)";
		return -1;
	}
	return fd;
}

/* The IOVA ranges IOMMU_IOAS_IOVA_RANGES reports for @ioas_id */
static int get_iova_ranges(int fd, __u32 ioas_id,
			   struct iommu_iova_range *ranges, __u32 *num)
{
	return _test_ioctl_ioas_iova_ranges(fd, ioas_id, ranges, num, NULL);
}

/*
 * The whole GET_INFO answer into @buf (INFO_BUF_SIZE bytes) and its checks
 * against the IOVA ranges of @ioas_id: layout of the struct and the caps,
 * flags, ranges. Returns the size of the complete answer.
 */
static __u32 check_full_info(struct __test_metadata *_metadata, int fd,
			     __u32 ioas_id, uint8_t *buf)
{
	struct vfio_iommu_type1_info *info = (void *)buf;
	struct vfio_iommu_type1_info_dma_avail *dma_avail =
		(void *)(buf + CAP_DMA_AVAIL_OFFSET);
	struct vfio_iommu_type1_info_cap_iova_range *iova =
		(void *)(buf + CAP_IOVA_RANGE_OFFSET);
	struct iommu_iova_range ranges[8];
	__u32 num = 8, full, i;

	EXPECT_EQ(0, get_iova_ranges(fd, ioas_id, ranges, &num));
	EXPECT_GE(8, num);
	full = CAP_IOVA_RANGE_OFFSET + sizeof(*iova) +
	       num * sizeof(struct vfio_iova_range);

	memset(buf, 0xcd, INFO_BUF_SIZE);
	info->argsz = INFO_BUF_SIZE;
	EXPECT_EQ(0, ioctl(fd, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(full, info->argsz);
	EXPECT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, info->flags);
	EXPECT_EQ(sizeof(*info), info->cap_offset);

	EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, dma_avail->header.id);
	EXPECT_EQ(1, dma_avail->header.version);
	EXPECT_EQ(CAP_IOVA_RANGE_OFFSET, dma_avail->header.next);
	EXPECT_EQ(UINT32_MAX, dma_avail->avail);

	EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, iova->header.id);
	EXPECT_EQ(1, iova->header.version);
	EXPECT_EQ(0, iova->header.next);
	EXPECT_EQ(num, iova->nr_iovas);
	for (i = 0; i != num && i != 8; i++) {
		EXPECT_EQ(ranges[i].start, iova->iova_ranges[i].start);
		EXPECT_EQ(ranges[i].last, iova->iova_ranges[i].end);
	}
	/* Nothing past the answer */
	for (i = full; i != INFO_BUF_SIZE; i++)
		EXPECT_EQ(0xcd, buf[i]);
	return full;
}

/*
 * Every argsz from the minimum to past the full answer: nothing is written
 * beyond argsz, a cap only when it fits, the link to the next cap only when
 * argsz reaches it, cap_offset only with the whole answer.
 */
static void check_info_sizes(struct __test_metadata *_metadata, int fd,
			     __u32 full)
{
	struct vfio_iommu_type1_info_dma_avail dma_avail;
	struct vfio_iommu_type1_info_cap_iova_range iova;
	struct vfio_iommu_type1_info info;
	uint8_t buf[INFO_BUF_SIZE];
	__u32 argsz, i;

	/* From the minimum: argsz, flags, iova_pgsizes */
	for (argsz = 16; argsz <= full + 16; argsz += 4) {
		memset(buf, 0xcd, sizeof(buf));
		memcpy(buf, &argsz, sizeof(argsz));
		ASSERT_EQ(0, ioctl(fd, VFIO_IOMMU_GET_INFO, buf));

		memcpy(&info, buf, sizeof(info));
		EXPECT_EQ(full, info.argsz);
		EXPECT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS,
			  info.flags);
		EXPECT_NE(0, info.iova_pgsizes);
		if (argsz >= sizeof(info))
			EXPECT_EQ(argsz >= full ? sizeof(info) : 0,
				  info.cap_offset);

		memcpy(&dma_avail, buf + CAP_DMA_AVAIL_OFFSET,
		       sizeof(dma_avail));
		if (argsz >= CAP_DMA_AVAIL_OFFSET + sizeof(dma_avail)) {
			EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
				  dma_avail.header.id);
			EXPECT_EQ(argsz >= CAP_IOVA_RANGE_OFFSET ?
				  CAP_IOVA_RANGE_OFFSET : 0,
				  dma_avail.header.next);
		}

		memcpy(&iova, buf + CAP_IOVA_RANGE_OFFSET, sizeof(iova));
		if (argsz >= full) {
			EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
				  iova.header.id);
		} else if (argsz >= CAP_IOVA_RANGE_OFFSET + sizeof(iova)) {
			EXPECT_EQ(0xcdcd, iova.header.id);
		}

		for (i = argsz; i != sizeof(buf); i++) {
			if (buf[i] != 0xcd) {
				EXPECT_EQ(0xcd, buf[i]);
				TH_LOG("argsz %u: byte %u written", argsz, i);
				break;
			}
		}
	}
}

/* A context without a domain */
FIXTURE(vfio_compat) {
	int fd;
};

FIXTURE_VARIANT(vfio_compat) {
	const char *node;
	__u64 rlimit_mode;
};

FIXTURE_VARIANT_ADD(vfio_compat, dev_iommu) {
	.node = NODE_IOMMU,
	.rlimit_mode = 0,
};

FIXTURE_VARIANT_ADD(vfio_compat, dev_vfio) {
	.node = NODE_VFIO,
	.rlimit_mode = 1,
};

FIXTURE_SETUP(vfio_compat)
{
	const char *why;

	self->fd = open_node(variant->node, &why);
	if (self->fd < 0)
		SKIP(return, "%s: %s", variant->node, why);
}

FIXTURE_TEARDOWN(vfio_compat)
{
	if (self->fd < 0)
		return;
	close(self->fd);
	teardown_check_unpinned(buffer, BUFFER_SIZE);
}

/* /dev/vfio/vfio charges the process like type1, /dev/iommu the user */
TEST_F(vfio_compat, rlimit_mode)
{
	__u64 val = 5;

	if (_metadata->skip)
		return;

	test_cmd_option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &val);
	EXPECT_EQ(variant->rlimit_mode, val);
}

TEST_F(vfio_compat, api_version)
{
	if (_metadata->skip)
		return;

	EXPECT_EQ(VFIO_API_VERSION, ioctl(self->fd, VFIO_GET_API_VERSION));
}

TEST_F(vfio_compat, check_extension)
{
	static const struct {
		unsigned long ext;
		int answer;
	} answers[] = {
		{ VFIO_TYPE1_IOMMU, 1 },
		{ VFIO_SPAPR_TCE_IOMMU, 0 },
		{ VFIO_TYPE1v2_IOMMU, 1 },
		{ VFIO_EEH, 0 },
		{ VFIO_TYPE1_NESTING_IOMMU, 0 },
		{ VFIO_SPAPR_TCE_v2_IOMMU, 0 },
		{ VFIO_UNMAP_ALL, 1 },
		{ VFIO_UPDATE_VADDR, 0 },
		{ 11, 0 },
		{ 1000, 0 },
		{ ~0UL, 0 },
	};
	unsigned int i;
	int ret;

	if (_metadata->skip)
		return;

	for (i = 0; i != ARRAY_SIZE(answers); i++) {
		EXPECT_EQ(answers[i].answer,
			  ioctl(self->fd, VFIO_CHECK_EXTENSION,
				answers[i].ext));
	}
	/* 1 exactly with CONFIG_VFIO_NOIOMMU */
	ret = ioctl(self->fd, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU);
	EXPECT_TRUE(ret == 0 || ret == 1);
	/* Needs the compat IOAS */
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	EXPECT_EQ(ENODEV, errno);
}

/* Only the six container requests are answered */
TEST_F(vfio_compat, unknown_requests)
{
	uint8_t buf[256] = {};
	struct vfio_iommu_type1_dirty_bitmap *dirty = (void *)buf;

	if (_metadata->skip)
		return;

	dirty->argsz = sizeof(*dirty);
	dirty->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_GROUP_GET_STATUS, buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_DEVICE_GET_INFO, buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_IOMMU_ENABLE, buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO(VFIO_TYPE, 0x7f), buf));
	EXPECT_EQ(ENOTTY, errno);
	/* A container request with direction and size bits */
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(VFIO_TYPE, VFIO_BASE, __u32),
			    buf));
	EXPECT_EQ(ENOTTY, errno);
}

/* Without a compat IOAS: the argument checks, then ENODEV */
TEST_F(vfio_compat, no_compat_ioas)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	__u32 ioas_id;

	if (_metadata->skip)
		return;

	EXPECT_EQ(-1, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(ENODEV, errno);

	info.argsz = 15;
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_IOMMU_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	info.argsz = sizeof(info);
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_IOMMU_GET_INFO, &info));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_IOMMU_GET_INFO, NULL));
	EXPECT_EQ(EFAULT, errno);

	test_err_vfio_map(EINVAL, MAP_SZ - 1, MAP_RW_FLAGS, PAGE_SIZE,
			  PAGE_SIZE);
	test_err_vfio_map(EINVAL, MAP_SZ, 1 << 2, PAGE_SIZE, PAGE_SIZE);
	test_err_vfio_map(ENODEV, MAP_SZ, MAP_RW_FLAGS, PAGE_SIZE, PAGE_SIZE);
	test_err_vfio_unmap(EINVAL, UNMAP_SZ - 1, 0, PAGE_SIZE, PAGE_SIZE);
	test_err_vfio_unmap(ENODEV, UNMAP_SZ, 0, PAGE_SIZE, PAGE_SIZE);
	test_err_vfio_unmap(ENODEV, UNMAP_SZ, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);

	/* Nothing was created on the way */
	test_err_vfio_ioas(ENODEV, IOMMU_VFIO_IOAS_GET, 0);
	test_ioctl_ioas_alloc(&ioas_id);
	EXPECT_EQ(1, ioas_id);
}

/* IOMMU_VFIO_IOAS chooses the IOAS; the requests act on it at call time */
TEST_F(vfio_compat, compat_ioas_choice)
{
	__u32 ioas1, ioas2, id = 0;

	if (_metadata->skip)
		return;

	test_ioctl_ioas_alloc(&ioas1);
	test_ioctl_ioas_alloc(&ioas2);

	id = ioas1;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_SET, &id);
	test_vfio_map(PAGE_SIZE, PAGE_SIZE);
	test_err_vfio_map(EEXIST, MAP_SZ, MAP_RW_FLAGS, PAGE_SIZE, PAGE_SIZE);

	id = ioas2;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_SET, &id);
	id = 0;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_GET, &id);
	EXPECT_EQ(ioas2, id);
	/* The other IOAS now: no overlap */
	test_vfio_map(PAGE_SIZE, PAGE_SIZE);

	/* Each has its own mapping */
	test_ioctl_ioas_unmap_id(ioas1, PAGE_SIZE, PAGE_SIZE);
	test_ioctl_ioas_unmap_id(ioas2, PAGE_SIZE, PAGE_SIZE);

	/* VFIO_SET_IOMMU and the answers follow the compat IOAS */
	EXPECT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, ioctl(self->fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));

	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_CLEAR, &id);
	test_err_vfio_map(ENODEV, MAP_SZ, MAP_RW_FLAGS, PAGE_SIZE, PAGE_SIZE);

	/* Destroying the compat IOAS unselects it */
	id = ioas1;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_SET, &id);
	test_ioctl_destroy(ioas1);
	test_err_vfio_ioas(ENODEV, IOMMU_VFIO_IOAS_GET, 0);
	test_err_vfio_map(ENODEV, MAP_SZ, MAP_RW_FLAGS, PAGE_SIZE, PAGE_SIZE);
	test_err_vfio_unmap(ENODEV, UNMAP_SZ, 0, PAGE_SIZE, PAGE_SIZE);
}

/* SET_IOMMU TYPE1 (v1) disables huge pages on the compat IOAS, v2 not */
TEST_F(vfio_compat, set_iommu_huge_pages)
{
	__u32 ioas_id, id;
	__u64 val;

	if (_metadata->skip)
		return;

	test_ioctl_ioas_alloc(&ioas_id);
	id = ioas_id;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_SET, &id);

	EXPECT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	/* May be repeated */
	EXPECT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	val = 5;
	test_cmd_option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas_id,
			&val);
	EXPECT_EQ(1, val);

	EXPECT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	val = 5;
	test_cmd_option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas_id,
			&val);
	EXPECT_EQ(0, val);
}

/* MAP/UNMAP on an IOAS without a domain */
TEST_F(vfio_compat, map_unmap)
{
	__u32 ioas_id, id;
	__u64 size;

	if (_metadata->skip)
		return;

	test_ioctl_ioas_alloc(&ioas_id);
	id = ioas_id;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_SET, &id);
	EXPECT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));

	/* The IOVA is always fixed, even 0 */
	test_vfio_map(0, PAGE_SIZE);
	test_vfio_map(PAGE_SIZE, 4 * PAGE_SIZE);
	test_err_vfio_map(EEXIST, MAP_SZ, MAP_RW_FLAGS, 2 * PAGE_SIZE,
			  PAGE_SIZE);
	test_err_vfio_map(EINVAL, MAP_SZ, MAP_RW_FLAGS, 16 * PAGE_SIZE, 0);
	/* No READ or WRITE is not refused here, unlike IOMMU_IOAS_MAP */
	EXPECT_EQ(0, vfio_map(self->fd, MAP_SZ, 0, buffer, 16 * PAGE_SIZE,
			      PAGE_SIZE));
	/* A larger struct is fine */
	EXPECT_EQ(0, vfio_map(self->fd, MAP_SZ + 8, VFIO_DMA_MAP_FLAG_READ,
			      buffer, 17 * PAGE_SIZE, PAGE_SIZE));

	/* v2: whole mappings only */
	test_err_vfio_unmap(ENOENT, UNMAP_SZ, 0, PAGE_SIZE, PAGE_SIZE);
	/* A range without mappings is no error */
	test_vfio_unmap(32 * PAGE_SIZE, PAGE_SIZE, 0);
	/* Holes are fine, the size is what went */
	test_vfio_unmap(PAGE_SIZE, 15 * PAGE_SIZE, 4 * PAGE_SIZE);

	test_err_vfio_unmap(EINVAL, UNMAP_SZ, 0, 0, 0);
	test_err_vfio_unmap(EOVERFLOW, UNMAP_SZ, 0, 2 * PAGE_SIZE,
			    UINT64_MAX);
	test_err_vfio_unmap(EINVAL, UNMAP_SZ,
			    VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0, PAGE_SIZE);
	test_err_vfio_unmap(EINVAL, UNMAP_SZ, 1 << 2, 0, PAGE_SIZE);
	test_err_vfio_unmap(EINVAL, UNMAP_SZ, VFIO_DMA_UNMAP_FLAG_ALL, 0,
			    PAGE_SIZE);
	test_err_vfio_unmap(EINVAL, UNMAP_SZ, VFIO_DMA_UNMAP_FLAG_ALL,
			    PAGE_SIZE, 0);
	/* A failed unmap writes the (zero) size back */
	size = PAGE_SIZE / 2;
	EXPECT_EQ(-1, vfio_unmap(self->fd, UNMAP_SZ, 0, 0, &size));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, size);

	test_vfio_unmap_all(3 * PAGE_SIZE);
	test_vfio_unmap_all(0);
	/* The IOAS itself agrees: nothing left */
	test_err_ioctl_ioas_unmap_id(ENOENT, ioas_id, 0, 64 * PAGE_SIZE);
}

/* Type1 v1 may unmap inside a mapping; no domain needed for the split */
TEST_F(vfio_compat, type1_split)
{
	unsigned int i;
	__u32 id = 0;

	if (_metadata->skip)
		return;

	test_ioctl_ioas_alloc(&id);
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_SET, &id);
	EXPECT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));

	test_vfio_map(16 * PAGE_SIZE, 16 * PAGE_SIZE);
	/* Out of the middle, then the rest piece by piece */
	test_vfio_unmap(20 * PAGE_SIZE, 2 * PAGE_SIZE, 2 * PAGE_SIZE);
	for (i = 16; i != 32; i++) {
		if (i == 20 || i == 21)
			continue;
		test_vfio_unmap(i * PAGE_SIZE, PAGE_SIZE, PAGE_SIZE);
	}
	test_vfio_unmap_all(0);
}

TEST_F(vfio_compat, get_info_no_domain)
{
	uint8_t buf[INFO_BUF_SIZE];
	struct vfio_iommu_type1_info *info = (void *)buf;
	__u32 ioas_id, id, full;

	if (_metadata->skip)
		return;

	test_ioctl_ioas_alloc(&ioas_id);
	id = ioas_id;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_SET, &id);

	full = check_full_info(_metadata, self->fd, ioas_id, buf);
	/* One range, all of the IOVA space */
	EXPECT_EQ(CAP_IOVA_RANGE_OFFSET + 16 + 16, full);
	/* Every size from a page up */
	EXPECT_EQ((__u64)~(PAGE_SIZE - 1), info->iova_pgsizes);
	check_info_sizes(_metadata, self->fd, full);

	/* Huge pages off: still every size from a page up */
	EXPECT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	check_full_info(_metadata, self->fd, ioas_id, buf);
	EXPECT_EQ((__u64)~(PAGE_SIZE - 1), info->iova_pgsizes);
}

/* A compat IOAS with a mock domain (a mock device attached to it) */
FIXTURE(vfio_compat_mock_domain) {
	int fd;
	__u32 ioas_id;
	__u32 hwpt_id;
};

FIXTURE_VARIANT(vfio_compat_mock_domain) {
	const char *node;
	unsigned long type;
};

FIXTURE_VARIANT_ADD(vfio_compat_mock_domain, dev_iommu_v2) {
	.node = NODE_IOMMU,
	.type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_VARIANT_ADD(vfio_compat_mock_domain, dev_iommu_v1) {
	.node = NODE_IOMMU,
	.type = VFIO_TYPE1_IOMMU,
};

FIXTURE_VARIANT_ADD(vfio_compat_mock_domain, dev_vfio_v2) {
	.node = NODE_VFIO,
	.type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_VARIANT_ADD(vfio_compat_mock_domain, dev_vfio_v1) {
	.node = NODE_VFIO,
	.type = VFIO_TYPE1_IOMMU,
};

FIXTURE_SETUP(vfio_compat_mock_domain)
{
	const char *why;
	__u32 id = 0;

	self->fd = open_node(variant->node, &why);
	if (self->fd < 0)
		SKIP(return, "%s: %s", variant->node, why);

	test_ioctl_ioas_alloc(&self->ioas_id);
	id = self->ioas_id;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_SET, &id);
	test_cmd_mock_domain(self->ioas_id, NULL, &self->hwpt_id, NULL);
	/* Nothing is mapped yet: v1 may disable huge pages */
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, variant->type));
}

FIXTURE_TEARDOWN(vfio_compat_mock_domain)
{
	if (self->fd < 0)
		return;
	close(self->fd);
	teardown_check_unpinned(buffer, BUFFER_SIZE);
}

TEST_F(vfio_compat_mock_domain, option_huge_pages)
{
	__u64 val = 5;

	if (_metadata->skip)
		return;

	test_cmd_option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
			self->ioas_id, &val);
	EXPECT_EQ(variant->type == VFIO_TYPE1_IOMMU ? 0 : 1, val);
}

/* The mock domain does not block no-snoop DMA */
TEST_F(vfio_compat_mock_domain, dma_cc)
{
	if (_metadata->skip)
		return;

	EXPECT_EQ(0, ioctl(self->fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	EXPECT_EQ(1, ioctl(self->fd, VFIO_CHECK_EXTENSION, variant->type));
}

TEST_F(vfio_compat_mock_domain, get_info)
{
	uint8_t buf[INFO_BUF_SIZE];
	struct vfio_iommu_type1_info *info = (void *)buf;
	struct vfio_iommu_type1_info_cap_iova_range *iova =
		(void *)(buf + CAP_IOVA_RANGE_OFFSET);
	__u32 full;

	if (_metadata->skip)
		return;

	full = check_full_info(_metadata, self->fd, self->ioas_id, buf);
	/* The mock aperture, no reserved regions */
	EXPECT_EQ(CAP_IOVA_RANGE_OFFSET + 16 + 16, full);
	EXPECT_EQ(MOCK_APERTURE_START, iova->iova_ranges[0].start);
	EXPECT_EQ(MOCK_APERTURE_LAST, iova->iova_ranges[0].end);
	/* Half-page IOPTEs of the mock: reported as a page */
	EXPECT_EQ(PAGE_SIZE, info->iova_pgsizes);
	check_info_sizes(_metadata, self->fd, full);
}

TEST_F(vfio_compat_mock_domain, map_unmap)
{
	__u64 iova = MOCK_APERTURE_START;
	__u64 len = 16 * PAGE_SIZE;

	if (_metadata->skip)
		return;

	test_vfio_map(iova, len);
	test_cmd_md_check_map(self->hwpt_id, iova, len, buffer);
	test_err_vfio_map(EEXIST, MAP_SZ, MAP_RW_FLAGS, iova, PAGE_SIZE);
	/* Outside the aperture of the domain */
	test_err_vfio_map(EINVAL, MAP_SZ, MAP_RW_FLAGS, 0, PAGE_SIZE);
	test_err_vfio_map(EINVAL, MAP_SZ, MAP_RW_FLAGS,
			  (__u64)MOCK_APERTURE_LAST + 1 - PAGE_SIZE,
			  2 * PAGE_SIZE);
	/* Not aligned to the IOAS alignment */
	test_err_vfio_map(EINVAL, MAP_SZ, MAP_RW_FLAGS, iova + len + 1,
			  PAGE_SIZE);
	test_err_vfio_map(EINVAL, MAP_SZ, MAP_RW_FLAGS, iova + len,
			  PAGE_SIZE + 1);

	/* Unmapping an empty range in the aperture or outside it */
	test_vfio_unmap(iova + len, PAGE_SIZE, 0);
	test_vfio_unmap(0, PAGE_SIZE, 0);
	test_vfio_unmap(iova, len, len);
	test_err_md_check_map(EINVAL, self->hwpt_id, iova, PAGE_SIZE, buffer);

	test_vfio_map(iova, len);
	test_vfio_map(iova + len, len);
	test_vfio_unmap_all(2 * len);
	test_err_md_check_map(EINVAL, self->hwpt_id, iova, PAGE_SIZE, buffer);
}

/*
 * Cut a mapping into 16 pieces: v2 refuses with ENOENT (whole mappings
 * only), v1 splits it and the rest stays mapped in the domain.
 */
TEST_F(vfio_compat_mock_domain, unmap_pieces)
{
	__u64 iova = MOCK_APERTURE_START;
	__u64 piece = BUFFER_SIZE / 16;
	unsigned int i;

	if (_metadata->skip)
		return;

	test_vfio_map(iova, BUFFER_SIZE);
	test_cmd_md_check_map(self->hwpt_id, iova, BUFFER_SIZE, buffer);

	if (variant->type == VFIO_TYPE1v2_IOMMU) {
		test_err_vfio_unmap(ENOENT, UNMAP_SZ, 0, iova + piece, piece);
		test_err_vfio_unmap(ENOENT, UNMAP_SZ, 0, iova, piece);
		test_cmd_md_check_map(self->hwpt_id, iova, BUFFER_SIZE, buffer);
		test_vfio_unmap(iova, BUFFER_SIZE, BUFFER_SIZE);
		return;
	}

	/* From the end of the first piece on, every second piece first */
	for (i = 1; i < 16; i += 2) {
		test_vfio_unmap(iova + i * piece, piece, piece);
		test_err_md_check_map(EINVAL, self->hwpt_id, iova + i * piece,
				      PAGE_SIZE, buffer);
		test_cmd_md_check_map(self->hwpt_id, iova + (i - 1) * piece,
				      piece, (uint8_t *)buffer + (i - 1) * piece);
	}
	/* Cuts must stay on pages */
	test_err_vfio_unmap(EINVAL, UNMAP_SZ, 0, iova + PAGE_SIZE / 2,
			    PAGE_SIZE);
	for (i = 0; i < 16; i += 2)
		test_vfio_unmap(iova + i * piece, piece, piece);
	test_vfio_unmap_all(0);
}

/* v1 cannot be chosen once the domain maps something: it is mapped large */
TEST_F(vfio_compat_mock_domain, set_iommu_after_map)
{
	if (_metadata->skip)
		return;

	test_vfio_map(MOCK_APERTURE_START, PAGE_SIZE);
	EXPECT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, variant->type));
	EXPECT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	if (variant->type == VFIO_TYPE1v2_IOMMU) {
		EXPECT_EQ(-1, ioctl(self->fd, VFIO_SET_IOMMU,
				    VFIO_TYPE1_IOMMU));
		EXPECT_EQ(EINVAL, errno);
	} else {
		/* Already off: nothing to change */
		EXPECT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU,
				   VFIO_TYPE1_IOMMU));
	}
	test_vfio_unmap_all(PAGE_SIZE);
}

/* The mock device keeps the IOAS; clearing the choice keeps the mappings */
TEST_F(vfio_compat_mock_domain, compat_ioas_in_use)
{
	__u32 id = 0;

	if (_metadata->skip)
		return;

	test_vfio_map(MOCK_APERTURE_START, PAGE_SIZE);
	test_err_destroy(EBUSY, self->ioas_id);
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_CLEAR, &id);
	test_err_vfio_unmap(ENODEV, UNMAP_SZ, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
	test_cmd_md_check_map(self->hwpt_id, MOCK_APERTURE_START, PAGE_SIZE,
			      buffer);
	id = self->ioas_id;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_SET, &id);
	test_vfio_unmap_all(PAGE_SIZE);
}

TEST_HARNESS_MAIN
