// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd: /dev/iommu contexts, the object table and the ioctl rules
 * (size handling of every command, unknown requests), and every ioctl of
 * the core against the mock IOMMU driver of CONFIG_IOMMUFD_TEST: IOAS
 * map/unmap/copy/ranges/allowed ranges, options, the VFIO compat IOAS,
 * in-kernel accesses, mock domains and devices, HWPT allocation (paging
 * and nested), invalidation, hardware info, the pinned-page accounting
 * (rlimits, nothing left pinned after any test), and IOMMU_DESTROY racing
 * an access attaching to the IOAS.
 */
#include <assert.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "iommufd_utils.h"

/*
 * The memory every test maps: shared anonymous memory (not copy-on-write
 * across the harness' fork, no THP, so MD_CHECK_REFS sees every page),
 * aligned to the huge page size so automatic IOVA alignment is decided by
 * the length only. Shared also means that what a test writes into it stays
 * for the tests after it: every fixture's setup puts the pattern of
 * iommufd_fill_buffer() back (no two words alike), so a read, copy or map
 * of the wrong page or offset never compares equal.
 */
static void *buffer;
static unsigned long BUFFER_SIZE;

static void buffer_reset(void)
{
	iommufd_fill_buffer(buffer, BUFFER_SIZE);
}

static __attribute__((constructor)) void setup_buffer(void)
{
	iommufd_setup_globals();
	BUFFER_SIZE = 128 * PAGE_SIZE;
	buffer = iommufd_alloc_buffer(BUFFER_SIZE, HUGEPAGE_SIZE);
	assert(buffer);
}

FIXTURE(iommufd) {
	int fd;
};

FIXTURE_SETUP(iommufd)
{
	buffer_reset();
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
}

FIXTURE_TEARDOWN(iommufd)
{
	close(self->fd);
	teardown_check_unpinned(buffer, BUFFER_SIZE);
}

TEST_F(iommufd, simple_close)
{
}

TEST_F(iommufd, destroy_unknown_id)
{
	test_err_destroy(ENOENT, 0);
	test_err_destroy(ENOENT, 1);
	test_err_destroy(ENOENT, 0x7fffffff);
	test_err_destroy(ENOENT, UINT32_MAX);
}

TEST_F(iommufd, ioas_alloc_destroy)
{
	__u32 a, b, c;

	test_ioctl_ioas_alloc(&a);
	test_ioctl_ioas_alloc(&b);
	EXPECT_EQ(1, a);
	EXPECT_EQ(2, b);

	/* The lowest free id is reused */
	test_ioctl_destroy(a);
	test_err_destroy(ENOENT, a);
	test_ioctl_ioas_alloc(&c);
	EXPECT_EQ(a, c);

	test_ioctl_destroy(b);
	test_ioctl_destroy(c);
	test_err_destroy(ENOENT, b);
}

TEST_F(iommufd, ioas_alloc_flags)
{
	test_err_ioas_alloc(EOPNOTSUPP, 1);
	test_err_ioas_alloc(EOPNOTSUPP, 1U << 31);
}

/* Each open is its own id space */
TEST_F(iommufd, contexts_are_independent)
{
	int fd2 = open("/dev/iommu", O_RDWR);
	__u32 a, b;

	ASSERT_NE(-1, fd2);
	test_ioctl_ioas_alloc(&a);
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(fd2, 0, &b));
	EXPECT_EQ(a, b);
	EXPECT_EQ(0, _test_ioctl_destroy(fd2, b));
	/* Destroying in the other context did not touch this one */
	test_ioctl_destroy(a);
	close(fd2);
}

/* Closing a context with objects in it frees them */
TEST_F(iommufd, close_with_objects)
{
	int fd2 = open("/dev/iommu", O_RDWR);
	unsigned int i;
	__u32 id;

	ASSERT_NE(-1, fd2);
	for (i = 0; i != 100; i++)
		ASSERT_EQ(0, _test_ioctl_ioas_alloc(fd2, 0, &id));
	EXPECT_EQ(100, id);
	EXPECT_EQ(0, close(fd2));
}

/*
 * Size handling, for every command: shorter than the first released struct
 * (@min_size, from the uAPI's history, not derived from today's header) is
 * EINVAL; longer with a non-zero byte past the kernel's struct is E2BIG;
 * longer with zeros there behaves exactly like the kernel's size.
 */
#define TEST_LENGTH(_struct, _ioctl, min_size, ...)			\
	({								\
		const unsigned long req = (_ioctl);			\
		struct {						\
			struct _struct cmd;				\
			uint8_t extra;					\
		} cmd = { .cmd = { __VA_ARGS__ } };			\
		const typeof(cmd.cmd) init = { __VA_ARGS__ };		\
		const __u32 min = (min_size);				\
		int ret_exact, errno_exact, ret_long, errno_long;	\
									\
		cmd.cmd.size = min - 1;					\
		EXPECT_EQ(-1, ioctl(self->fd, req, &cmd));		\
		EXPECT_EQ(EINVAL, errno);				\
									\
		cmd.cmd = init;						\
		cmd.cmd.size = sizeof(init) + 1;			\
		cmd.extra = 0xff;					\
		EXPECT_EQ(-1, ioctl(self->fd, req, &cmd));		\
		EXPECT_EQ(E2BIG, errno);				\
									\
		cmd.cmd = init;						\
		cmd.cmd.size = sizeof(init);				\
		errno = 0;						\
		ret_exact = ioctl(self->fd, req, &cmd);			\
		errno_exact = errno;					\
		cmd.cmd = init;						\
		cmd.cmd.size = sizeof(init) + 1;			\
		cmd.extra = 0;						\
		errno = 0;						\
		ret_long = ioctl(self->fd, req, &cmd);			\
		errno_long = errno;					\
		EXPECT_EQ(ret_exact, ret_long);				\
		EXPECT_EQ(errno_exact, errno_long);			\
									\
		/* The first released size is accepted, zero-extended */ \
		cmd.cmd = init;						\
		cmd.cmd.size = min;					\
		errno = 0;						\
		ret_long = ioctl(self->fd, req, &cmd);			\
		errno_long = errno;					\
		EXPECT_EQ(ret_exact, ret_long);				\
		EXPECT_EQ(errno_exact, errno_long);			\
	})

TEST_F(iommufd, cmd_length)
{
	TEST_LENGTH(iommu_destroy, IOMMU_DESTROY, 8, .id = 0x7fffffff);
	TEST_LENGTH(iommu_ioas_alloc, IOMMU_IOAS_ALLOC, 12);
	TEST_LENGTH(iommu_ioas_allow_iovas, IOMMU_IOAS_ALLOW_IOVAS, 24,
		    .ioas_id = 0x7fffffff);
	TEST_LENGTH(iommu_ioas_copy, IOMMU_IOAS_COPY, 40,
		    .flags = MAP_RW, .dst_ioas_id = 0x7fffffff,
		    .src_ioas_id = 0x7fffffff, .length = PAGE_SIZE);
	TEST_LENGTH(iommu_ioas_iova_ranges, IOMMU_IOAS_IOVA_RANGES, 32,
		    .ioas_id = 0x7fffffff);
	TEST_LENGTH(iommu_ioas_map, IOMMU_IOAS_MAP, 40,
		    .flags = MAP_RW, .ioas_id = 0x7fffffff,
		    .user_va = (uintptr_t)buffer, .length = PAGE_SIZE);
	TEST_LENGTH(iommu_ioas_unmap, IOMMU_IOAS_UNMAP, 24,
		    .ioas_id = 0x7fffffff, .length = PAGE_SIZE);
	TEST_LENGTH(iommu_option, IOMMU_OPTION, 24,
		    .option_id = IOMMU_OPTION_RLIMIT_MODE,
		    .op = IOMMU_OPTION_OP_GET);
	TEST_LENGTH(iommu_vfio_ioas, IOMMU_VFIO_IOAS, 12,
		    .op = IOMMU_VFIO_IOAS_GET);
	TEST_LENGTH(iommu_hwpt_alloc, IOMMU_HWPT_ALLOC, 24,
		    .dev_id = 0x7fffffff, .pt_id = 0x7fffffff);
	TEST_LENGTH(iommu_hw_info, IOMMU_GET_HW_INFO, 32,
		    .dev_id = 0x7fffffff);
	TEST_LENGTH(iommu_hwpt_invalidate, IOMMU_HWPT_INVALIDATE, 32,
		    .hwpt_id = 0x7fffffff);
}

/* Requests iommufd does not implement, and bad encodings of those it does */
TEST_F(iommufd, cmd_unknown)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd) };
	unsigned int nr;

	/*
	 * Implemented: 0x80..0x8d and IOMMU_TEST_CMD at 0xa0; the empty
	 * slots between them and everything past the table are not.
	 */
	for (nr = 0x8e; nr <= 0xff; nr++) {
		if (nr == IOMMUFD_CMD_BASE + 32)
			continue;
		EXPECT_EQ(-1, ioctl(self->fd, _IO(IOMMUFD_TYPE, nr), &cmd));
		EXPECT_EQ(ENOTTY, errno);
	}
	EXPECT_EQ(IOMMU_TEST_CMD, _IO(IOMMUFD_TYPE, 0xa0));
	/* The test command with direction/size bits */
	nr = _IOWR(IOMMUFD_TYPE, 0xa0, struct iommu_test_cmd);
	EXPECT_EQ(-1, ioctl(self->fd, nr, &cmd));
	EXPECT_EQ(ENOTTY, errno);
	/* Below the iommufd range: VFIO's requests */
	EXPECT_EQ(-1, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0x7f), &cmd));
	EXPECT_EQ(ENOTTY, errno);
	/* The right number with direction or size bits */
	nr = _IOWR(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY, struct iommu_destroy);
	EXPECT_EQ(-1, ioctl(self->fd, nr, &cmd));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO('x', IOMMUFD_CMD_DESTROY), &cmd));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(iommufd, cmd_bad_pointer)
{
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_DESTROY, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_IOAS_ALLOC, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(iommufd, option_rlimit_mode)
{
	__u64 val = 0xdead;
	__u32 id;

	/* Per-user accounting is the default of /dev/iommu */
	test_cmd_option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0,
			&val);
	EXPECT_EQ(0, val);

	val = 1;
	test_cmd_option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0,
			&val);
	test_cmd_option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0,
			&val);
	EXPECT_EQ(1, val);

	test_err_option(EINVAL, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET,
			0, 2);
	test_err_option(EOPNOTSUPP, IOMMU_OPTION_RLIMIT_MODE,
			IOMMU_OPTION_OP_GET, 1, 0);
	test_err_option(EOPNOTSUPP, IOMMU_OPTION_RLIMIT_MODE, 2, 0, 0);
	test_err_option(EOPNOTSUPP, 0xffff, IOMMU_OPTION_OP_GET, 0, 0);

	/* Only while the context holds no object */
	test_ioctl_ioas_alloc(&id);
	test_err_option(EBUSY, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET,
			0, 0);
	test_ioctl_destroy(id);
	val = 0;
	test_cmd_option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0,
			&val);
}

TEST_F(iommufd, option_reserved_and_writeback)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET,
		.__reserved = 1,
	};

	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_OPTION, &cmd));
	EXPECT_EQ(EOPNOTSUPP, errno);

	/* Only val64 is written back */
	cmd.__reserved = 0;
	cmd.val64 = 0x1234;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_OPTION, &cmd));
	EXPECT_EQ(0, cmd.val64);
	EXPECT_EQ(sizeof(cmd), cmd.size);
	EXPECT_EQ(IOMMU_OPTION_RLIMIT_MODE, cmd.option_id);
	EXPECT_EQ(IOMMU_OPTION_OP_GET, cmd.op);
}

/* IOMMU_TEST_CMD itself, and ops that need no IOAS */
TEST_F(iommufd, test_cmd_basics)
{
	struct iommu_test_cmd cmd = TEST_CMD_INIT(0, 0);
	int access_fd;

	/* Unknown ops */
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_TEST_CMD, &cmd));
	EXPECT_EQ(EOPNOTSUPP, errno);
	cmd.op = 0x7fff;
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_TEST_CMD, &cmd));
	EXPECT_EQ(EOPNOTSUPP, errno);

	/* Size rules of the table apply: min 68, struct 72 */
	cmd.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT;
	cmd.memory_limit.limit = DEFAULT_TEMP_MEMORY_LIMIT;
	cmd.size = 67;
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_TEST_CMD, &cmd));
	EXPECT_EQ(EINVAL, errno);
	cmd.size = 68;
	EXPECT_EQ(0, ioctl(self->fd, IOMMU_TEST_CMD, &cmd));

	test_err_set_temp_memory_limit(EINVAL, 0);
	test_err_set_temp_memory_limit(EINVAL, 11);
	test_cmd_set_temp_memory_limit(12);
	test_cmd_set_temp_memory_limit(DEFAULT_TEMP_MEMORY_LIMIT);

	/* Objects that do not exist */
	test_err_add_reserved(ENOENT, 0x7fffffff, PAGE_SIZE, PAGE_SIZE);
	test_err_mock_domain(ENOENT, 0x7fffffff);
	test_err_mock_domain_replace(ENOENT, 0x7fffffff, 0x7fffffff);
	test_err_create_access(ENOENT, 0x7fffffff, 0);
	test_err_md_check_map(ENOENT, 0x7fffffff, MOCK_APERTURE_START,
			      PAGE_SIZE, buffer);
	test_err_md_check_iotlb(ENOENT, 0x7fffffff, 0, 0);

	/* The access ops want an access fd: the iommufd is not one */
	test_err_access_rw(EBADFD, self->fd, 0, buffer, 1, 0);
	test_err_access_pages(EBADFD, self->fd, 0, 0, PAGE_SIZE, NULL);
	test_err_destroy_access_pages(EBADFD, self->fd, 1);
	test_err_access_replace_ioas(EBADFD, self->fd, 1);
	access_fd = open("/dev/null", O_RDWR);
	ASSERT_LE(0, access_fd);
	test_err_access_rw(EBADFD, access_fd, 0, buffer, 1, 0);
	close(access_fd);

	/* MD_CHECK_REFS: page aligned only; nothing is pinned now */
	test_err_md_check_refs(EINVAL, (uint8_t *)buffer + 1, PAGE_SIZE, 0);
	test_err_md_check_refs(EINVAL, buffer, PAGE_SIZE - 1, 0);
	test_cmd_md_check_refs(buffer, BUFFER_SIZE, 0);
	test_err_md_check_refs(EIO, buffer, PAGE_SIZE, 1);
}

TEST_F(iommufd, vfio_ioas)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_VFIO_IOAS_GET,
		.__reserved = 1,
	};
	__u32 ioas_id, ioas2_id, id;

	test_err_vfio_ioas(ENODEV, IOMMU_VFIO_IOAS_GET, 0);
	test_ioctl_ioas_alloc(&ioas_id);
	test_ioctl_ioas_alloc(&ioas2_id);
	test_err_vfio_ioas(ENODEV, IOMMU_VFIO_IOAS_GET, 0);

	test_err_vfio_ioas(ENOENT, IOMMU_VFIO_IOAS_SET, 0x7fffffff);
	test_err_vfio_ioas(ENOENT, IOMMU_VFIO_IOAS_SET, 0);
	test_err_vfio_ioas(EOPNOTSUPP, 3, ioas_id);
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));
	EXPECT_EQ(EOPNOTSUPP, errno);

	id = ioas_id;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_SET, &id);
	id = 0;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_GET, &id);
	EXPECT_EQ(ioas_id, id);

	id = ioas2_id;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_SET, &id);
	id = 0;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_GET, &id);
	EXPECT_EQ(ioas2_id, id);

	/* CLEAR forgets it without destroying it */
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_CLEAR, &id);
	test_err_vfio_ioas(ENODEV, IOMMU_VFIO_IOAS_GET, 0);
	test_ioctl_destroy(ioas2_id);

	/* Destroying the compat IOAS clears the selection */
	id = ioas_id;
	test_cmd_vfio_ioas(IOMMU_VFIO_IOAS_SET, &id);
	test_ioctl_destroy(ioas_id);
	test_err_vfio_ioas(ENODEV, IOMMU_VFIO_IOAS_GET, 0);
}

/*
 * An IOAS, with no domain, with one mock domain (a mock device attached to
 * the IOAS: an automatic HWPT), or with two distinct mock domains (the
 * second a HWPT allocated on the IOAS, with a second mock device attached
 * to it), optionally with a tiny temporary memory limit so pinning and
 * mapping work in very small batches; the results must be the same.
 */
FIXTURE(iommufd_ioas) {
	int fd;
	__u32 ioas_id;
	unsigned int ndomains;
	__u32 stdev_id[2];
	__u32 hwpt_id[2];
	__u32 idev_id[2];
	__u64 base_iova;
};

FIXTURE_VARIANT(iommufd_ioas) {
	unsigned int mock_domains;
	unsigned int memory_limit;
};

/*
 * Attach @n (1 or 2) mock devices to @ioas_id so that the IOAS has @n
 * distinct domains: two devices attached to the IOAS itself would share one
 * automatic HWPT.
 */
static void add_mock_domains(struct __test_metadata *_metadata, int fd,
			     __u32 ioas_id, unsigned int n, __u32 *stdev_id,
			     __u32 *hwpt_id, __u32 *idev_id)
{
	__u32 attached;

	if (!n)
		return;
	ASSERT_EQ(0, _test_cmd_mock_domain(fd, ioas_id, &stdev_id[0],
					   &hwpt_id[0], &idev_id[0]));
	ASSERT_NE(0, hwpt_id[0]);
	ASSERT_NE(ioas_id, hwpt_id[0]);
	if (n < 2)
		return;
	ASSERT_EQ(0, _test_cmd_hwpt_alloc(fd, idev_id[0], ioas_id, 0,
					  &hwpt_id[1], IOMMU_HWPT_DATA_NONE,
					  NULL, 0));
	ASSERT_EQ(0, _test_cmd_mock_domain(fd, hwpt_id[1], &stdev_id[1],
					   &attached, &idev_id[1]));
	ASSERT_EQ(hwpt_id[1], attached);
	ASSERT_NE(hwpt_id[0], hwpt_id[1]);
}

FIXTURE_SETUP(iommufd_ioas)
{
	buffer_reset();
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	self->ndomains = variant->mock_domains;
	add_mock_domains(_metadata, self->fd, self->ioas_id, self->ndomains,
			 self->stdev_id, self->hwpt_id, self->idev_id);
	/* Inside the mock aperture, also without a domain */
	self->base_iova = MOCK_APERTURE_START;
	if (variant->memory_limit)
		test_cmd_set_temp_memory_limit(variant->memory_limit);
}

FIXTURE_TEARDOWN(iommufd_ioas)
{
	if (variant->memory_limit)
		EXPECT_EQ(0, _test_cmd_set_temp_memory_limit(self->fd,
							     DEFAULT_TEMP_MEMORY_LIMIT));
	close(self->fd);
	teardown_check_unpinned(buffer, BUFFER_SIZE);
}

FIXTURE_VARIANT_ADD(iommufd_ioas, no_domain) {
	.mock_domains = 0,
};

FIXTURE_VARIANT_ADD(iommufd_ioas, mock_domain) {
	.mock_domains = 1,
};

FIXTURE_VARIANT_ADD(iommufd_ioas, two_mock_domain) {
	.mock_domains = 2,
};

FIXTURE_VARIANT_ADD(iommufd_ioas, mock_domain_limit) {
	.mock_domains = 1,
	.memory_limit = 16,
};

FIXTURE_VARIANT_ADD(iommufd_ioas, two_mock_domain_limit) {
	.mock_domains = 2,
	.memory_limit = 32,
};

/* Every domain of the fixture maps iova..+length to uptr */
#define check_map_all(iova, length, uptr)				\
	({								\
		unsigned int __d;					\
		for (__d = 0; __d < self->ndomains; __d++) {		\
			test_cmd_md_check_map(self->hwpt_id[__d], iova,	\
					      length, uptr);		\
		}							\
	})

/* Pages of uptr..+length hold @refs pins (only pinned with a domain) */
#define check_refs_if_domain(uptr, length, refs)			\
	({								\
		test_cmd_md_check_refs(uptr, length,			\
				       self->ndomains ? (refs) : 0);	\
	})

static bool ranges_intersect(__u64 a, __u64 alen, __u64 b, __u64 blen)
{
	return a < b + blen && b < a + alen;
}

TEST_F(iommufd_ioas, ioas_destroy)
{
	if (!self->ndomains) {
		/* Areas do not hold the IOAS */
		test_ioctl_ioas_map_fixed(buffer, PAGE_SIZE, self->base_iova);
		test_ioctl_destroy(self->ioas_id);
		test_err_destroy(ENOENT, self->ioas_id);
		return;
	}

	/* Busy while a domain is built on it */
	test_err_destroy(EBUSY, self->ioas_id);
	/* An automatic HWPT is busy while its device is attached */
	test_err_destroy(EBUSY, self->hwpt_id[0]);
	/* Devices are not destroyable, the selftest object owning them is */
	test_err_destroy(EBUSY, self->idev_id[0]);

	test_ioctl_ioas_map_fixed(buffer, PAGE_SIZE, self->base_iova);
	if (self->ndomains == 2) {
		test_ioctl_destroy(self->stdev_id[1]);
		test_err_destroy(EBUSY, self->ioas_id);
		/* A manual HWPT stays after its device left */
		test_ioctl_destroy(self->hwpt_id[1]);
	}
	test_err_destroy(EBUSY, self->ioas_id);
	test_ioctl_destroy(self->stdev_id[0]);
	/* The automatic HWPT went away with its last device */
	test_err_destroy(ENOENT, self->hwpt_id[0]);
	test_err_destroy(ENOENT, self->stdev_id[0]);
	/* The area was unpinned with the last domain */
	test_cmd_md_check_refs(buffer, PAGE_SIZE, 0);
	test_ioctl_destroy(self->ioas_id);
}

/* Many areas left for the close of the context to clean up */
TEST_F(iommufd_ioas, ioas_area_auto_destroy)
{
	unsigned int i;

	/* Each area on its own pages of the buffer */
	for (i = 0; i != 10; i++) {
		void *uptr = (uint8_t *)buffer + i * 11 * PAGE_SIZE;

		test_ioctl_ioas_map_fixed(uptr, PAGE_SIZE * (i + 1),
					  self->base_iova +
						  i * 16 * PAGE_SIZE);
		check_map_all(self->base_iova + i * 16 * PAGE_SIZE,
			      PAGE_SIZE * (i + 1), uptr);
		check_refs_if_domain(uptr, PAGE_SIZE * (i + 1), 1);
	}
}

TEST_F(iommufd_ioas, area)
{
	/* Room below for the overlap checks, also inside the aperture */
	__u64 base = self->base_iova + 64 * PAGE_SIZE;
	unsigned int i;

	for (i = 0; i != 10; i++) {
		test_ioctl_ioas_map_fixed((uint8_t *)buffer + i * PAGE_SIZE,
					  PAGE_SIZE, base + 2 * i * PAGE_SIZE);
		check_map_all(base + 2 * i * PAGE_SIZE, PAGE_SIZE,
			      (uint8_t *)buffer + i * PAGE_SIZE);
	}
	check_refs_if_domain(buffer, 10 * PAGE_SIZE, 1);

	/* Overlaps with an existing area, fully or partly */
	test_err_ioctl_ioas_map_fixed(EEXIST, buffer, PAGE_SIZE, base);
	test_err_ioctl_ioas_map_fixed(EEXIST, buffer, 2 * PAGE_SIZE,
				      base - PAGE_SIZE);
	test_err_ioctl_ioas_map_fixed(EEXIST, buffer, 3 * PAGE_SIZE,
				      base + PAGE_SIZE);
	test_err_ioctl_ioas_map_fixed(EEXIST, buffer, 40 * PAGE_SIZE,
				      base - 10 * PAGE_SIZE);

	/* Areas are never split */
	test_err_ioctl_ioas_unmap(ENOENT, base, PAGE_SIZE / 2);
	test_err_ioctl_ioas_unmap(ENOENT, base + PAGE_SIZE / 2, PAGE_SIZE);
	/* Nothing there */
	test_err_ioctl_ioas_unmap(ENOENT, base + PAGE_SIZE, PAGE_SIZE);
	test_err_ioctl_ioas_unmap(ENOENT, base + 20 * PAGE_SIZE,
				  100 * PAGE_SIZE);

	for (i = 0; i != 10; i++)
		test_ioctl_ioas_unmap(base + 2 * i * PAGE_SIZE, PAGE_SIZE);
	test_err_ioctl_ioas_unmap(ENOENT, base, PAGE_SIZE);
	test_cmd_md_check_refs(buffer, 10 * PAGE_SIZE, 0);
}

TEST_F(iommufd_ioas, map_errors)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
		.ioas_id = self->ioas_id,
		.user_va = (uintptr_t)buffer,
		.length = PAGE_SIZE,
		.iova = self->base_iova,
		.__reserved = 1,
	};
	void *gone;
	__u64 iova;

	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	EXPECT_EQ(EOPNOTSUPP, errno);
	cmd.__reserved = 0;
	cmd.flags |= 1 << 3;
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	EXPECT_EQ(EOPNOTSUPP, errno);

	/* Neither readable nor writeable */
	iova = self->base_iova;
	EXPECT_EQ(-1, _test_ioctl_ioas_map(self->fd, self->ioas_id, buffer,
					   PAGE_SIZE, &iova,
					   IOMMU_IOAS_MAP_FIXED_IOVA));
	EXPECT_EQ(EINVAL, errno);

	/* Lengths and addresses at the end of the 64 bit space */
	test_err_ioctl_ioas_map_fixed(EOVERFLOW, buffer, PAGE_SIZE, UINT64_MAX);
	test_err_ioctl_ioas_map(EOVERFLOW, buffer, UINT64_MAX, &iova);
	test_err_ioctl_ioas_map_fixed(EOVERFLOW, buffer, 2 * PAGE_SIZE,
				      UINT64_MAX - PAGE_SIZE + 1);
	test_err_ioctl_ioas_map(EOVERFLOW, (void *)(UINTPTR_MAX - 10),
				PAGE_SIZE, &iova);
	/* Automatic IOVA for half the address space or more */
	test_err_ioctl_ioas_map(EOVERFLOW, buffer, 1ULL << 63, &iova);

	test_err_ioctl_ioas_map_id(ENOENT, 0x7fffffff, buffer, PAGE_SIZE,
				   &iova);
	test_err_ioctl_ioas_map_id(ENOENT, 0, buffer, PAGE_SIZE, &iova);
	test_err_ioctl_ioas_map(EINVAL, buffer, 0, &iova);
	test_err_ioctl_ioas_map_fixed(EINVAL, buffer, 0, self->base_iova);

	/* User memory that is not there */
	gone = mmap(NULL, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, gone);
	ASSERT_EQ(0, munmap(gone, 4 * PAGE_SIZE));
	if (self->ndomains) {
		/* Pinned right away for the domains */
		test_err_ioctl_ioas_map_fixed(EFAULT, gone, 4 * PAGE_SIZE,
					      self->base_iova);
		/* And nothing was left behind */
		test_ioctl_ioas_map_fixed(buffer, 4 * PAGE_SIZE,
					  self->base_iova);
		test_ioctl_ioas_unmap(self->base_iova, 4 * PAGE_SIZE);

		/* The domains' alignment: half a CPU page */
		test_err_ioctl_ioas_map_fixed(EINVAL, buffer,
					      MOCK_PAGE_SIZE / 2,
					      self->base_iova);
		test_err_ioctl_ioas_map_fixed(EINVAL, buffer, PAGE_SIZE,
					      self->base_iova + 1);
		test_err_ioctl_ioas_map_fixed(EINVAL,
					      (uint8_t *)buffer + 16,
					      MOCK_PAGE_SIZE,
					      self->base_iova);
		test_err_ioctl_ioas_map(EINVAL, buffer, MOCK_PAGE_SIZE + 16,
					&iova);
		/* Outside the aperture: reserved */
		test_err_ioctl_ioas_map_fixed(EINVAL, buffer, PAGE_SIZE, 0);
		test_err_ioctl_ioas_map_fixed(EINVAL, buffer, 2 * PAGE_SIZE,
					      MOCK_APERTURE_START - PAGE_SIZE);
		test_err_ioctl_ioas_map_fixed(EINVAL, buffer, 2 * PAGE_SIZE,
					      (__u64)MOCK_APERTURE_LAST + 1 -
						      PAGE_SIZE);
		/* Half-page mappings work */
		test_ioctl_ioas_map_fixed((uint8_t *)buffer + MOCK_PAGE_SIZE,
					  MOCK_PAGE_SIZE,
					  self->base_iova + MOCK_PAGE_SIZE);
		check_map_all(self->base_iova + MOCK_PAGE_SIZE,
			      MOCK_PAGE_SIZE,
			      (uint8_t *)buffer + MOCK_PAGE_SIZE);
		test_cmd_md_check_refs(buffer, PAGE_SIZE, 1);
		test_ioctl_ioas_unmap(self->base_iova + MOCK_PAGE_SIZE,
				      MOCK_PAGE_SIZE);
	} else {
		/* Without a domain nothing is pinned yet */
		test_ioctl_ioas_map_fixed(gone, 4 * PAGE_SIZE,
					  self->base_iova);
		test_ioctl_ioas_unmap(self->base_iova, 4 * PAGE_SIZE);
		/* Any byte alignment, and IOVA 0, are fine */
		test_ioctl_ioas_map_fixed((uint8_t *)buffer + 1, 3, 0);
		test_ioctl_ioas_map_fixed((uint8_t *)buffer + 7, 1,
					  self->base_iova + 5);
		test_ioctl_ioas_unmap(0, 3);
		test_ioctl_ioas_unmap(self->base_iova + 5, 1);
	}
	test_cmd_md_check_refs(buffer, BUFFER_SIZE, 0);
}

TEST_F(iommufd_ioas, unmap_errors)
{
	__u64 len = 0x5a5a;

	test_err_ioctl_ioas_unmap_id(ENOENT, 0x7fffffff, 0, UINT64_MAX);
	test_err_ioctl_ioas_unmap_id(ENOENT, 0x7fffffff, self->base_iova,
				     PAGE_SIZE);
	test_err_ioctl_ioas_unmap(EINVAL, self->base_iova, 0);
	test_err_ioctl_ioas_unmap(EOVERFLOW, UINT64_MAX, PAGE_SIZE);
	test_err_ioctl_ioas_unmap(EOVERFLOW, PAGE_SIZE, UINT64_MAX);
	test_err_ioctl_ioas_unmap(EOVERFLOW, UINT64_MAX - PAGE_SIZE + 1,
				  2 * PAGE_SIZE);

	/* Unmap-all always works, also on an empty IOAS */
	test_cmd_ioas_unmap_all_id(self->ioas_id, &len);
	EXPECT_EQ(0, len);

	test_ioctl_ioas_map_fixed(buffer, PAGE_SIZE, self->base_iova);
	test_ioctl_ioas_map_fixed((uint8_t *)buffer + PAGE_SIZE,
				  2 * PAGE_SIZE,
				  self->base_iova + 4 * PAGE_SIZE);
	test_ioctl_ioas_map((uint8_t *)buffer + 3 * PAGE_SIZE,
			    4 * PAGE_SIZE, &len);
	check_refs_if_domain(buffer, 7 * PAGE_SIZE, 1);
	test_cmd_ioas_unmap_all_id(self->ioas_id, &len);
	EXPECT_EQ(7 * PAGE_SIZE, len);
	test_cmd_md_check_refs(buffer, 7 * PAGE_SIZE, 0);
	test_err_ioctl_ioas_unmap(ENOENT, self->base_iova, PAGE_SIZE);
}

/*
 * Four areas of 8 pages in a 60 page window: unmapping the window removes
 * them and reports their 32 pages; windows cutting an area fail.
 */
TEST_F(iommufd_ioas, unmap_fully_contained_areas)
{
	__u64 base = self->base_iova;
	unsigned int i;
	__u64 len;

	/* At pages 2, 18, 34 and 50 of the window */
	for (i = 0; i != 4; i++)
		test_ioctl_ioas_map_fixed(buffer, 8 * PAGE_SIZE,
					  base + (2 + 16 * i) * PAGE_SIZE);

	test_err_ioctl_ioas_unmap(ENOENT, base + 3 * PAGE_SIZE, PAGE_SIZE);
	test_err_ioctl_ioas_unmap(ENOENT, base, 4 * PAGE_SIZE);
	test_err_ioctl_ioas_unmap(ENOENT, base + 56 * PAGE_SIZE,
				  8 * PAGE_SIZE);
	test_err_ioctl_ioas_unmap(ENOENT, base + 10 * PAGE_SIZE,
				  8 * PAGE_SIZE);
	/* All four are still there */
	for (i = 0; i != 4; i++)
		check_map_all(base + (2 + 16 * i) * PAGE_SIZE, 8 * PAGE_SIZE,
			      buffer);

	ASSERT_EQ(0, _test_ioctl_ioas_unmap(self->fd, self->ioas_id, base,
					    60 * PAGE_SIZE, &len));
	EXPECT_EQ(32 * PAGE_SIZE, len);
	test_err_ioctl_ioas_unmap(ENOENT, base, 64 * PAGE_SIZE);
	test_cmd_md_check_refs(buffer, 8 * PAGE_SIZE, 0);
}

TEST_F(iommufd_ioas, area_auto_iova)
{
	__u64 iovas[10];
	unsigned int i, j;

	for (i = 0; i != 10; i++) {
		__u64 length = PAGE_SIZE * (i + 1);

		test_ioctl_ioas_map(buffer, length, &iovas[i]);
		EXPECT_NE(0, iovas[i]);
		EXPECT_EQ(0, iovas[i] % lowbit(length));
		if (self->ndomains) {
			EXPECT_LE(MOCK_APERTURE_START, iovas[i]);
			EXPECT_GE(MOCK_APERTURE_LAST, iovas[i] + length - 1);
		}
		check_map_all(iovas[i], length, buffer);
	}
	for (i = 0; i != 10; i++) {
		for (j = i + 1; j != 10; j++) {
			EXPECT_FALSE(ranges_intersect(iovas[i],
						      PAGE_SIZE * (i + 1),
						      iovas[j],
						      PAGE_SIZE * (j + 1)));
		}
	}
	/* Each MAP pins its pages once: page p is in 10 - p areas */
	for (i = 0; i != 10; i++) {
		check_refs_if_domain((uint8_t *)buffer + i * PAGE_SIZE,
				     PAGE_SIZE, 10 - i);
	}
	for (i = 0; i != 10; i++)
		test_ioctl_ioas_unmap(iovas[i], PAGE_SIZE * (i + 1));
	test_cmd_md_check_refs(buffer, 10 * PAGE_SIZE, 0);
}

/* Automatic IOVA goes around reserved ranges */
TEST_F(iommufd_ioas, area_auto_iova_reserved)
{
	/* The lowest IOVA automatic allocation can return */
	__u64 start = self->ndomains ? MOCK_APERTURE_START : PAGE_SIZE;
	__u64 iova, iovas[8];
	unsigned int i, k;

	/* Leave one-page holes every four pages */
	for (k = 0; k != 16; k++)
		test_cmd_add_reserved(self->ioas_id,
				      start + (4 * k + 1) * PAGE_SIZE,
				      3 * PAGE_SIZE);
	/* Overlapping reservations are fine */
	test_cmd_add_reserved(self->ioas_id, start + 2 * PAGE_SIZE,
			      2 * PAGE_SIZE);

	for (i = 0; i != 8; i++) {
		test_ioctl_ioas_map(buffer, PAGE_SIZE, &iovas[i]);
		EXPECT_LE(start, iovas[i]);
		for (k = 0; k != 16; k++) {
			__u64 rsv = start + (4 * k + 1) * PAGE_SIZE;

			EXPECT_FALSE(ranges_intersect(iovas[i], PAGE_SIZE, rsv,
						      3 * PAGE_SIZE));
		}
		/* The lowest holes are used first */
		EXPECT_EQ(start + 4 * i * PAGE_SIZE, iovas[i]);
		check_map_all(iovas[i], PAGE_SIZE, buffer);
	}
	/* Two pages fit nowhere in the pattern */
	test_ioctl_ioas_map(buffer, 2 * PAGE_SIZE, &iova);
	EXPECT_LE(start + 64 * PAGE_SIZE, iova);
	EXPECT_EQ(0, iova % (2 * PAGE_SIZE));

	/* Fixed mappings into a reserved range fail */
	test_err_ioctl_ioas_map_fixed(EINVAL, buffer, PAGE_SIZE,
				      start + 5 * PAGE_SIZE);
	test_err_ioctl_ioas_map_fixed(EINVAL, buffer, 2 * PAGE_SIZE,
				      start + 48 * PAGE_SIZE);
	/* Reserving over an area fails */
	test_err_add_reserved(EADDRINUSE, self->ioas_id, iova, PAGE_SIZE);
	test_err_add_reserved(EADDRINUSE, self->ioas_id, iova - PAGE_SIZE,
			      2 * PAGE_SIZE);
	test_err_add_reserved(EINVAL, self->ioas_id, start, 0);
	test_err_add_reserved(EOVERFLOW, self->ioas_id,
			      UINT64_MAX - PAGE_SIZE + 1, 2 * PAGE_SIZE);
	/* Nine areas on the first page, one on the second */
	check_refs_if_domain(buffer, PAGE_SIZE, 9);
	check_refs_if_domain((uint8_t *)buffer + PAGE_SIZE, PAGE_SIZE, 1);
}

TEST_F(iommufd_ioas, iova_ranges)
{
	struct iommu_iova_range ranges[4];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 4,
		.allowed_iovas = (uintptr_t)ranges,
		.__reserved = 1,
	};
	__u64 first = self->ndomains ? MOCK_APERTURE_START : 0;
	__u64 last = self->ndomains ? MOCK_APERTURE_LAST : UINT64_MAX;
	__u64 align = self->ndomains ? MOCK_PAGE_SIZE : 1;
	__u64 alignment;
	__u32 num;

	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	EXPECT_EQ(EOPNOTSUPP, errno);
	num = 4;
	test_err_ioctl_ioas_iova_ranges(ENOENT, 0x7fffffff, ranges, &num,
					NULL);

	/* No room: the count and alignment still come back */
	num = 0;
	test_err_ioctl_ioas_iova_ranges(EMSGSIZE, self->ioas_id, NULL, &num,
					&alignment);
	EXPECT_EQ(1, num);
	EXPECT_EQ(align, alignment);

	memset(ranges, 0x5a, sizeof(ranges));
	num = 4;
	test_ioctl_ioas_iova_ranges(self->ioas_id, ranges, &num, &alignment);
	ASSERT_EQ(1, num);
	EXPECT_EQ(align, alignment);
	EXPECT_EQ(first, ranges[0].start);
	EXPECT_EQ(last, ranges[0].last);
	/* Only the ranges are written */
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, ranges[1].start);

	/* A reservation splits the range */
	test_cmd_add_reserved(self->ioas_id, self->base_iova + PAGE_SIZE,
			      PAGE_SIZE);
	memset(ranges, 0x5a, sizeof(ranges));
	num = 1;
	test_err_ioctl_ioas_iova_ranges(EMSGSIZE, self->ioas_id, ranges, &num,
					&alignment);
	EXPECT_EQ(2, num);
	EXPECT_EQ(align, alignment);
	/* The first range is written, nothing past the capacity */
	EXPECT_EQ(first, ranges[0].start);
	EXPECT_EQ(self->base_iova + PAGE_SIZE - 1, ranges[0].last);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, ranges[1].start);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, ranges[1].last);

	num = 4;
	test_ioctl_ioas_iova_ranges(self->ioas_id, ranges, &num, &alignment);
	ASSERT_EQ(2, num);
	EXPECT_EQ(first, ranges[0].start);
	EXPECT_EQ(self->base_iova + PAGE_SIZE - 1, ranges[0].last);
	EXPECT_EQ(self->base_iova + 2 * PAGE_SIZE, ranges[1].start);
	EXPECT_EQ(last, ranges[1].last);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, ranges[2].start);

	/* Allowed ranges are not intersected into the answer */
	ranges[0].start = self->base_iova + 16 * PAGE_SIZE;
	ranges[0].last = self->base_iova + 32 * PAGE_SIZE - 1;
	test_ioctl_ioas_allow_iovas(self->ioas_id, ranges, 1);
	num = 4;
	test_ioctl_ioas_iova_ranges(self->ioas_id, ranges, &num, &alignment);
	ASSERT_EQ(2, num);
	EXPECT_EQ(first, ranges[0].start);
	EXPECT_EQ(last, ranges[1].last);
}

TEST_F(iommufd_ioas, area_allowed)
{
	struct iommu_iova_range ranges[2];
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 1,
		.allowed_iovas = (uintptr_t)ranges,
		.__reserved = 1,
	};
	__u64 lo = self->base_iova + 256 * PAGE_SIZE;
	__u64 hi = lo + 16 * PAGE_SIZE - 1;
	__u64 iova, iovas[4];
	unsigned int i;

	ranges[0].start = lo;
	ranges[0].last = hi;
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	EXPECT_EQ(EOPNOTSUPP, errno);
	test_err_ioctl_ioas_allow_iovas(ENOENT, 0x7fffffff, ranges, 1);
	test_err_ioctl_ioas_allow_iovas(EFAULT, self->ioas_id, NULL, 1);

	/* start >= last, and overlapping ranges */
	ranges[0].start = lo;
	ranges[0].last = lo;
	test_err_ioctl_ioas_allow_iovas(EINVAL, self->ioas_id, ranges, 1);
	ranges[0].last = lo - 1;
	test_err_ioctl_ioas_allow_iovas(EINVAL, self->ioas_id, ranges, 1);
	ranges[0].start = lo;
	ranges[0].last = lo + 4 * PAGE_SIZE - 1;
	ranges[1].start = lo + 4 * PAGE_SIZE - 1;
	ranges[1].last = hi;
	test_err_ioctl_ioas_allow_iovas(EINVAL, self->ioas_id, ranges, 2);
	ranges[1] = ranges[0];
	test_err_ioctl_ioas_allow_iovas(EINVAL, self->ioas_id, ranges, 2);

	if (self->ndomains) {
		/* The aperture reservations */
		ranges[0].start = 0;
		ranges[0].last = lo;
		test_err_ioctl_ioas_allow_iovas(EADDRINUSE, self->ioas_id,
						ranges, 1);
		ranges[0].start = lo;
		ranges[0].last = (__u64)MOCK_APERTURE_LAST + 1;
		test_err_ioctl_ioas_allow_iovas(EADDRINUSE, self->ioas_id,
						ranges, 1);
	}

	ranges[0].start = lo;
	ranges[0].last = hi;
	test_ioctl_ioas_allow_iovas(self->ioas_id, ranges, 1);

	/* Automatic allocation stays in the allowed range */
	for (i = 0; i != 4; i++) {
		test_ioctl_ioas_map(buffer, PAGE_SIZE * (i + 1), &iovas[i]);
		EXPECT_LE(lo, iovas[i]);
		EXPECT_GE(hi, iovas[i] + PAGE_SIZE * (i + 1) - 1);
		check_map_all(iovas[i], PAGE_SIZE * (i + 1), buffer);
	}
	/* 10 of its 16 pages are used; no room for 8 more */
	test_err_ioctl_ioas_map(ENOSPC, buffer, 8 * PAGE_SIZE, &iova);
	/* Fixed mappings are not restricted to it */
	test_ioctl_ioas_map_fixed(buffer, PAGE_SIZE, self->base_iova);

	/* Reservations may not intersect allowed ranges */
	test_err_add_reserved(EADDRINUSE, self->ioas_id, hi, PAGE_SIZE);
	test_cmd_add_reserved(self->ioas_id, hi + 1, PAGE_SIZE);
	/* and allowed ranges not reservations; the old list stays */
	ranges[0].start = hi - PAGE_SIZE;
	ranges[0].last = hi + 2 * PAGE_SIZE;
	test_err_ioctl_ioas_allow_iovas(EADDRINUSE, self->ioas_id, ranges, 1);
	test_err_add_reserved(EADDRINUSE, self->ioas_id, lo + 12 * PAGE_SIZE,
			      PAGE_SIZE);

	if (!self->ndomains) {
		/* A domain's aperture reservation conflicts with the list */
		ranges[0].start = PAGE_SIZE;
		ranges[0].last = lo - 1;
		ranges[1].start = lo;
		ranges[1].last = hi;
		test_ioctl_ioas_allow_iovas(self->ioas_id, ranges, 2);
		test_err_mock_domain(EADDRINUSE, self->ioas_id);
	}

	/* Clearing the list lifts the restriction */
	for (i = 0; i != 4; i++)
		test_ioctl_ioas_unmap(iovas[i], PAGE_SIZE * (i + 1));
	test_ioctl_ioas_allow_iovas(self->ioas_id, NULL, 0);
	test_cmd_add_reserved(self->ioas_id, lo, PAGE_SIZE);
	if (!self->ndomains) {
		__u32 stdev_id, hwpt_id;

		test_cmd_mock_domain(self->ioas_id, &stdev_id, &hwpt_id, NULL);
		test_cmd_md_check_map(hwpt_id, self->base_iova, PAGE_SIZE,
				      buffer);
		test_ioctl_destroy(stdev_id);
	}
	test_ioctl_ioas_unmap(self->base_iova, PAGE_SIZE);
}

/* Copy windows of 2 KiB at odd steps out of one area into another IOAS */
TEST_F(iommufd_ioas, copy_sweep)
{
	const __u64 src = self->base_iova;
	const __u64 len = 4 * PAGE_SIZE;
	uint8_t tmp[2048];
	__u32 dst_ioas;
	__u64 off, dst;
	int access_fd;

	test_ioctl_ioas_map_fixed(buffer, len, src);
	test_ioctl_ioas_alloc(&dst_ioas);
	test_cmd_create_access(dst_ioas, &access_fd, 0);

	for (off = 0; off + sizeof(tmp) <= len; off += 511) {
		/* Fixed destination at an unrelated, unaligned IOVA */
		dst = 0x100000 + 3 * off;
		test_ioctl_ioas_copy(MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
				     dst_ioas, self->ioas_id, sizeof(tmp),
				     src + off, &dst);
		EXPECT_EQ(0x100000 + 3 * off, dst);
		memset(tmp, 0, sizeof(tmp));
		test_cmd_access_rw(access_fd, dst, tmp, sizeof(tmp), 0);
		ASSERT_EQ(0, memcmp(tmp, (uint8_t *)buffer + off,
				    sizeof(tmp)));
		test_ioctl_ioas_unmap_id(dst_ioas, dst, sizeof(tmp));

		/* Automatic destination */
		test_ioctl_ioas_copy(IOMMU_IOAS_MAP_READABLE, dst_ioas,
				     self->ioas_id, sizeof(tmp), src + off,
				     &dst);
		memset(tmp, 0, sizeof(tmp));
		test_cmd_access_rw(access_fd, dst, tmp, sizeof(tmp), 0);
		ASSERT_EQ(0, memcmp(tmp, (uint8_t *)buffer + off,
				    sizeof(tmp)));
		test_ioctl_ioas_unmap_id(dst_ioas, dst, sizeof(tmp));
	}
	close(access_fd);
	test_ioctl_destroy(dst_ioas);
	test_ioctl_ioas_unmap(src, len);
}

TEST_F(iommufd_ioas, copy_area)
{
	const __u64 src = self->base_iova;
	__u32 dst_ioas, stdev_id, hwpt_id;
	__u64 dst, ro_iova;

	test_ioctl_ioas_map_fixed(buffer, 4 * PAGE_SIZE, src);
	test_ioctl_ioas_alloc(&dst_ioas);
	test_cmd_mock_domain(dst_ioas, &stdev_id, &hwpt_id, NULL);

	/* Into a domain of another IOAS: the pages are pinned only once */
	test_ioctl_ioas_copy(MAP_RW, dst_ioas, self->ioas_id, 4 * PAGE_SIZE,
			     src, &dst);
	test_cmd_md_check_map(hwpt_id, dst, 4 * PAGE_SIZE, buffer);
	test_cmd_md_check_refs(buffer, 4 * PAGE_SIZE, 1);
	/* Also a copy of a part */
	test_ioctl_ioas_copy(MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA, dst_ioas,
			     self->ioas_id, PAGE_SIZE, src + 2 * PAGE_SIZE,
			     &(__u64){ MOCK_APERTURE_START + 64 * PAGE_SIZE });
	test_cmd_md_check_map(hwpt_id, MOCK_APERTURE_START + 64 * PAGE_SIZE,
			      PAGE_SIZE, (uint8_t *)buffer + 2 * PAGE_SIZE);
	test_cmd_md_check_refs(buffer, 4 * PAGE_SIZE, 1);
	/* The destination keeps the pages */
	test_ioctl_ioas_unmap(src, 4 * PAGE_SIZE);
	test_cmd_md_check_refs(buffer, 4 * PAGE_SIZE, 1);
	test_cmd_md_check_map(hwpt_id, dst, 4 * PAGE_SIZE, buffer);
	test_ioctl_ioas_map_fixed(buffer, 4 * PAGE_SIZE, src);

	/* Overlaps in the destination */
	test_err_ioctl_ioas_copy(EEXIST, MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
				 dst_ioas, self->ioas_id, PAGE_SIZE, src,
				 &dst);
	/* The destination's alignment: a 2 KiB window at an odd offset */
	test_err_ioctl_ioas_copy(EINVAL, MAP_RW, dst_ioas, self->ioas_id,
				 MOCK_PAGE_SIZE, src + 511, &dst);
	/* Outside the destination's aperture */
	dst = 0;
	test_err_ioctl_ioas_copy(EINVAL, MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
				 dst_ioas, self->ioas_id, PAGE_SIZE, src, &dst);

	/* Holes in the source */
	test_err_ioctl_ioas_copy(ENOENT, MAP_RW, dst_ioas, self->ioas_id,
				 2 * PAGE_SIZE, src + 3 * PAGE_SIZE, &dst);
	test_err_ioctl_ioas_copy(ENOENT, MAP_RW, dst_ioas, self->ioas_id,
				 PAGE_SIZE, src + 8 * PAGE_SIZE, &dst);
	/* Objects */
	test_err_ioctl_ioas_copy(ENOENT, MAP_RW, dst_ioas, 0x7fffffff,
				 PAGE_SIZE, src, &dst);
	test_err_ioctl_ioas_copy(ENOENT, MAP_RW, 0x7fffffff, self->ioas_id,
				 PAGE_SIZE, src, &dst);
	test_err_ioctl_ioas_copy(ENOENT, MAP_RW, hwpt_id, self->ioas_id,
				 PAGE_SIZE, src, &dst);
	/* Arguments */
	test_err_ioctl_ioas_copy(EOPNOTSUPP, MAP_RW | (1 << 3), dst_ioas,
				 self->ioas_id, PAGE_SIZE, src, &dst);
	test_err_ioctl_ioas_copy(EINVAL, 0, dst_ioas, self->ioas_id,
				 PAGE_SIZE, src, &dst);
	test_err_ioctl_ioas_copy(EINVAL, MAP_RW, dst_ioas, self->ioas_id, 0,
				 src, &dst);
	test_err_ioctl_ioas_copy(EOVERFLOW, MAP_RW, dst_ioas, self->ioas_id,
				 UINT64_MAX, src, &dst);
	test_err_ioctl_ioas_copy(EOVERFLOW, MAP_RW, dst_ioas, self->ioas_id,
				 PAGE_SIZE, UINT64_MAX, &dst);

	/* Write access may not be gained by a copy */
	ro_iova = src + 16 * PAGE_SIZE;
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id,
					  (uint8_t *)buffer + 8 * PAGE_SIZE,
					  PAGE_SIZE, &ro_iova,
					  IOMMU_IOAS_MAP_READABLE |
						  IOMMU_IOAS_MAP_FIXED_IOVA));
	test_err_ioctl_ioas_copy(EPERM, MAP_RW, dst_ioas, self->ioas_id,
				 PAGE_SIZE, ro_iova, &dst);
	test_err_ioctl_ioas_copy(EPERM, IOMMU_IOAS_MAP_WRITEABLE, dst_ioas,
				 self->ioas_id, PAGE_SIZE, ro_iova, &dst);
	test_ioctl_ioas_copy(IOMMU_IOAS_MAP_READABLE, dst_ioas, self->ioas_id,
			     PAGE_SIZE, ro_iova, &dst);
	test_cmd_md_check_map(hwpt_id, dst, PAGE_SIZE,
			      (uint8_t *)buffer + 8 * PAGE_SIZE);
	/* Unmap-all reports every area: 4 + 1 + 1 pages */
	test_cmd_ioas_unmap_all_id(dst_ioas, &dst);
	EXPECT_EQ(6 * PAGE_SIZE, dst);
	test_ioctl_destroy(stdev_id);
	test_ioctl_destroy(dst_ioas);
}

/* Memory of its own for the copy tests below, with the pattern as well */
static uint8_t *alloc_unique_buffer(size_t size)
{
	return iommufd_alloc_buffer(size, HUGEPAGE_SIZE);
}

/* What iova..+length reads through @access_fd is the memory at @mem */
#define check_access_content(access_fd, iova, mem, length)		\
	({								\
		const size_t __len = (length);				\
		uint8_t *__tmp = calloc(1, __len);			\
									\
		ASSERT_NE(NULL, __tmp);					\
		test_cmd_access_rw(access_fd, iova, __tmp, __len, 0);	\
		EXPECT_EQ(0, memcmp(__tmp, mem, __len));		\
		free(__tmp);						\
	})

/*
 * Source and destination in one IOAS: the copies share the source's pinned
 * pages, may be copied again, and keep the memory after the source goes.
 */
TEST_F(iommufd_ioas, copy_same_ioas)
{
	const size_t len = 8 * PAGE_SIZE;
	const __u64 src = self->base_iova;
	const __u64 fixed = src + 64 * PAGE_SIZE;
	const __u64 again_iova = fixed + 2 * len;
	__u64 dst, part, again;
	uint8_t *mem;
	int access_fd;

	mem = alloc_unique_buffer(len);
	ASSERT_NE(NULL, mem);
	test_ioctl_ioas_map_fixed(mem, len, src);
	test_cmd_create_access(self->ioas_id, &access_fd, 0);

	/* The whole area at a fixed IOVA */
	dst = fixed;
	test_ioctl_ioas_copy(MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
			     self->ioas_id, self->ioas_id, len, src, &dst);
	EXPECT_EQ(fixed, dst);
	check_map_all(fixed, len, mem);
	check_access_content(access_fd, fixed, mem, len);
	/* Not pinned a second time */
	check_refs_if_domain(mem, len, 1);

	/* A part of it at an automatic IOVA, read-only */
	test_ioctl_ioas_copy(IOMMU_IOAS_MAP_READABLE, self->ioas_id,
			     self->ioas_id, 2 * PAGE_SIZE, src + 3 * PAGE_SIZE,
			     &part);
	EXPECT_EQ(0, part % PAGE_SIZE);
	EXPECT_FALSE(ranges_intersect(part, 2 * PAGE_SIZE, src, len));
	EXPECT_FALSE(ranges_intersect(part, 2 * PAGE_SIZE, fixed, len));
	check_map_all(part, 2 * PAGE_SIZE, mem + 3 * PAGE_SIZE);
	check_access_content(access_fd, part, mem + 3 * PAGE_SIZE,
			     2 * PAGE_SIZE);
	test_err_access_rw(EPERM, access_fd, part, mem, 1,
			   MOCK_ACCESS_RW_WRITE);
	check_refs_if_domain(mem, len, 1);

	/* A copy of a copy */
	again = again_iova;
	test_ioctl_ioas_copy(MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
			     self->ioas_id, self->ioas_id, PAGE_SIZE,
			     fixed + 5 * PAGE_SIZE, &again);
	EXPECT_EQ(again_iova, again);
	check_map_all(again, PAGE_SIZE, mem + 5 * PAGE_SIZE);
	check_access_content(access_fd, again, mem + 5 * PAGE_SIZE, PAGE_SIZE);

	/* Over its own source, or running past the copy into a hole */
	test_err_ioctl_ioas_copy(EEXIST, MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
				 self->ioas_id, self->ioas_id, 2 * PAGE_SIZE,
				 src, &(__u64){ src + PAGE_SIZE });
	test_err_ioctl_ioas_copy(ENOENT, MAP_RW, self->ioas_id, self->ioas_id,
				 2 * PAGE_SIZE, fixed + len - PAGE_SIZE, &dst);

	/* The source goes, the copies keep the pages */
	test_ioctl_ioas_unmap(src, len);
	check_map_all(fixed, len, mem);
	check_access_content(access_fd, fixed, mem, len);
	check_refs_if_domain(mem, len, 1);

	test_ioctl_ioas_unmap(fixed, len);
	test_ioctl_ioas_unmap(part, 2 * PAGE_SIZE);
	test_ioctl_ioas_unmap(again, PAGE_SIZE);
	test_cmd_md_check_refs(mem, len, 0);
	close(access_fd);
	munmap(mem, len);
}

/*
 * Windows starting and ending inside pages of an area are valid sources.
 * The destination's own alignment still applies: with a mock domain the
 * memory's offset in its page and the length must be multiples of the 2 KiB
 * IOPTE, but the IOVA's offset in its page need not be the memory's.
 */
TEST_F(iommufd_ioas, copy_subpage_window)
{
	const size_t len = 4 * PAGE_SIZE;
	const size_t win = 2 * PAGE_SIZE;
	const __u64 src = self->base_iova;
	const __u64 fixed = src + 16 * PAGE_SIZE;
	__u32 dst_ioas, stdev_id, hwpt_id, late_ioas, late_stdev, late_hwpt;
	__u64 off, dst;
	uint8_t *mem;
	int access_fd;

	mem = alloc_unique_buffer(len);
	ASSERT_NE(NULL, mem);
	test_ioctl_ioas_map_fixed(mem, len, src);
	test_cmd_create_access(self->ioas_id, &access_fd, 0);

	/* In the same IOAS: windows starting and ending half a page in */
	for (off = MOCK_PAGE_SIZE; off + win <= len; off += PAGE_SIZE) {
		/* A page-aligned IOVA for memory half a page in */
		dst = fixed;
		test_ioctl_ioas_copy(MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
				     self->ioas_id, self->ioas_id, win,
				     src + off, &dst);
		check_map_all(fixed, win, mem + off);
		check_access_content(access_fd, fixed, mem + off, win);
		test_ioctl_ioas_unmap(fixed, win);

		/* An automatic IOVA keeps the memory's offset in its page */
		test_ioctl_ioas_copy(MAP_RW, self->ioas_id, self->ioas_id, win,
				     src + off, &dst);
		EXPECT_EQ(off % PAGE_SIZE, dst % PAGE_SIZE);
		check_map_all(dst, win, mem + off);
		check_access_content(access_fd, dst, mem + off, win);
		test_ioctl_ioas_unmap(dst, win);
	}
	check_refs_if_domain(mem, len, 1);

	/* A window at an odd byte: fine unless a domain needs 2 KiB */
	if (self->ndomains) {
		test_err_ioctl_ioas_copy(EINVAL,
					 MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
					 self->ioas_id, self->ioas_id,
					 MOCK_PAGE_SIZE, src + 511,
					 &(__u64){ fixed });
		test_err_ioctl_ioas_copy(EINVAL, MAP_RW, self->ioas_id,
					 self->ioas_id, MOCK_PAGE_SIZE,
					 src + 511, &dst);
	} else {
		test_ioctl_ioas_copy(MAP_RW, self->ioas_id, self->ioas_id,
				     MOCK_PAGE_SIZE, src + 511, &dst);
		EXPECT_EQ(511, dst % PAGE_SIZE);
		check_access_content(access_fd, dst, mem + 511,
				     MOCK_PAGE_SIZE);
		test_ioctl_ioas_unmap(dst, MOCK_PAGE_SIZE);

		dst = fixed + 511;
		test_ioctl_ioas_copy(MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
				     self->ioas_id, self->ioas_id,
				     MOCK_PAGE_SIZE, src + 511, &dst);
		check_access_content(access_fd, fixed + 511, mem + 511,
				     MOCK_PAGE_SIZE);
		/* Inside the aperture, but not fit for a domain's IOPTEs */
		test_err_mock_domain(EADDRINUSE, self->ioas_id);
		test_ioctl_ioas_unmap(fixed + 511, MOCK_PAGE_SIZE);
	}

	/* Into another IOAS with a mock domain: the exact half pages */
	test_ioctl_ioas_alloc(&dst_ioas);
	test_cmd_mock_domain(dst_ioas, &stdev_id, &hwpt_id, NULL);
	dst = MOCK_APERTURE_START;
	test_ioctl_ioas_copy(MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA, dst_ioas,
			     self->ioas_id, win, src + MOCK_PAGE_SIZE, &dst);
	test_cmd_md_check_map(hwpt_id, MOCK_APERTURE_START, win,
			      mem + MOCK_PAGE_SIZE);
	test_cmd_md_check_refs(mem, 3 * PAGE_SIZE, 1);
	test_err_ioctl_ioas_copy(EINVAL, MAP_RW, dst_ioas, self->ioas_id,
				 MOCK_PAGE_SIZE, src + 511, &dst);
	test_ioctl_ioas_unmap_id(dst_ioas, MOCK_APERTURE_START, win);

	/* Into an IOAS whose domain comes after the copy */
	test_ioctl_ioas_alloc(&late_ioas);
	dst = MOCK_APERTURE_START;
	test_ioctl_ioas_copy(MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA, late_ioas,
			     self->ioas_id, win, src + MOCK_PAGE_SIZE, &dst);
	test_cmd_mock_domain(late_ioas, &late_stdev, &late_hwpt, NULL);
	test_cmd_md_check_map(late_hwpt, MOCK_APERTURE_START, win,
			      mem + MOCK_PAGE_SIZE);
	test_cmd_md_check_refs(mem, 3 * PAGE_SIZE, 1);
	test_ioctl_ioas_unmap_id(late_ioas, MOCK_APERTURE_START, win);

	test_ioctl_destroy(late_stdev);
	test_ioctl_destroy(late_ioas);
	test_ioctl_destroy(stdev_id);
	test_ioctl_destroy(dst_ioas);
	close(access_fd);
	test_ioctl_ioas_unmap(src, len);
	test_cmd_md_check_refs(mem, len, 0);
	munmap(mem, len);
}

/*
 * A source not completely mapped is ENOENT, also when its start or length
 * does not fit the destination's alignment: the source is checked before
 * the destination. Only a zero length and an overflow come first.
 */
TEST_F(iommufd_ioas, copy_source_unmapped)
{
	const __u64 lengths[] = { MOCK_PAGE_SIZE, MOCK_PAGE_SIZE - 1 };
	const __u32 fixed_rw = MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA;
	const size_t len = 4 * PAGE_SIZE;
	const __u64 src = self->base_iova;
	const __u64 same_dst = src + 16 * PAGE_SIZE;
	__u32 dom_ioas, stdev_id, hwpt_id, plain_ioas;
	__u64 iova, dst;
	uint8_t *mem;
	unsigned int l;
	int access_fd, src_access_fd;

	mem = alloc_unique_buffer(len);
	ASSERT_NE(NULL, mem);
	test_ioctl_ioas_map_fixed(mem, len, src);
	/* Alignment MOCK_PAGE_SIZE */
	test_ioctl_ioas_alloc(&dom_ioas);
	test_cmd_mock_domain(dom_ioas, &stdev_id, &hwpt_id, NULL);
	/* Alignment 1 */
	test_ioctl_ioas_alloc(&plain_ioas);
	test_cmd_create_access(plain_ioas, &access_fd, 0);
	test_cmd_create_access(self->ioas_id, &src_access_fd, 0);

	/* Nothing mapped there, odd start and odd length */
	test_err_ioctl_ioas_copy(ENOENT, MAP_RW, dom_ioas, self->ioas_id, 1000,
				 src + len + 511, &dst);
	test_err_ioctl_ioas_copy(ENOENT, MAP_RW, self->ioas_id, self->ioas_id,
				 1000, src + len + 511, &dst);
	/* and a fixed destination that is misaligned, reserved or taken */
	test_err_ioctl_ioas_copy(ENOENT, fixed_rw, dom_ioas, self->ioas_id,
				 1000, src + len + 511,
				 &(__u64){ MOCK_APERTURE_START + 1 });
	test_err_ioctl_ioas_copy(ENOENT, fixed_rw, dom_ioas, self->ioas_id,
				 MOCK_PAGE_SIZE, src + len + 511, &(__u64){ 0 });
	test_err_ioctl_ioas_copy(ENOENT, fixed_rw, self->ioas_id,
				 self->ioas_id, 1000, src + len + 511,
				 &(__u64){ src + 1 });
	/* Starting inside the area at an odd byte and running out of it */
	test_err_ioctl_ioas_copy(ENOENT, MAP_RW, dom_ioas, self->ioas_id,
				 PAGE_SIZE + 1, src + len - PAGE_SIZE + 511,
				 &dst);
	/* Starting before it and ending inside */
	test_err_ioctl_ioas_copy(ENOENT, MAP_RW, dom_ioas, self->ioas_id,
				 PAGE_SIZE + 1, src - 511, &dst);
	/* A zero length and an overflow are reported first */
	test_err_ioctl_ioas_copy(EINVAL, MAP_RW, dom_ioas, self->ioas_id, 0,
				 src + len + 511, &dst);
	test_err_ioctl_ioas_copy(EOVERFLOW, MAP_RW, dom_ioas, self->ioas_id,
				 2 * PAGE_SIZE, UINT64_MAX - PAGE_SIZE, &dst);

	/*
	 * Windows of a mock IOPTE (2 KiB on 4 KiB pages) and of a byte less,
	 * at 511-byte steps from a page before the area to a page after it,
	 * into an IOAS with a domain, one without, and the source IOAS.
	 */
	for (l = 0; l != ARRAY_SIZE(lengths); l++) {
		const __u64 wlen = lengths[l];

		for (iova = src - PAGE_SIZE; iova < src + len + PAGE_SIZE;
		     iova += 511) {
			const bool mapped = iova >= src &&
					    iova + wlen <= src + len;
			const __u64 off = iova - src;
			const bool aligned = !(off % MOCK_PAGE_SIZE) &&
					     !(wlen % MOCK_PAGE_SIZE);
			const int dom_err = !mapped ? ENOENT :
					    !aligned ? EINVAL : 0;
			const int same_err = !mapped ? ENOENT :
					     !aligned && self->ndomains ?
					     EINVAL : 0;

			/* Into the IOAS with a domain, automatic IOVA */
			if (dom_err) {
				test_err_ioctl_ioas_copy(dom_err, MAP_RW,
							 dom_ioas,
							 self->ioas_id, wlen,
							 iova, &dst);
			} else {
				test_ioctl_ioas_copy(MAP_RW, dom_ioas,
						     self->ioas_id, wlen, iova,
						     &dst);
				test_cmd_md_check_map(hwpt_id, dst, wlen,
						      mem + off);
				test_ioctl_ioas_unmap_id(dom_ioas, dst, wlen);
			}

			/* Into the one without, at a page-aligned IOVA */
			dst = MOCK_APERTURE_START;
			if (!mapped) {
				test_err_ioctl_ioas_copy(ENOENT, fixed_rw,
							 plain_ioas,
							 self->ioas_id, wlen,
							 iova, &dst);
			} else {
				test_ioctl_ioas_copy(fixed_rw, plain_ioas,
						     self->ioas_id, wlen, iova,
						     &dst);
				check_access_content(access_fd, dst, mem + off,
						     wlen);
				test_ioctl_ioas_unmap_id(plain_ioas, dst, wlen);
			}

			/* Into the source IOAS, at a page-aligned IOVA */
			dst = same_dst;
			if (same_err) {
				test_err_ioctl_ioas_copy(same_err, fixed_rw,
							 self->ioas_id,
							 self->ioas_id, wlen,
							 iova, &dst);
			} else {
				test_ioctl_ioas_copy(fixed_rw, self->ioas_id,
						     self->ioas_id, wlen, iova,
						     &dst);
				check_access_content(src_access_fd, dst,
						     mem + off, wlen);
				test_ioctl_ioas_unmap(dst, wlen);
			}
		}
	}

	close(src_access_fd);
	close(access_fd);
	test_ioctl_destroy(plain_ioas);
	test_ioctl_destroy(stdev_id);
	test_ioctl_destroy(dom_ioas);
	test_ioctl_ioas_unmap(src, len);
	test_cmd_md_check_refs(mem, len, 0);
	munmap(mem, len);
}

TEST_F(iommufd_ioas, option_huge_pages)
{
	const __u64 dom_align = self->ndomains ? MOCK_PAGE_SIZE : 1;
	__u64 alignment, val;
	__u32 num = 0;

	val = 0x5a;
	test_cmd_option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
			self->ioas_id, &val);
	EXPECT_EQ(1, val);
	test_err_option(ENOENT, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
			0, 0);
	test_err_option(ENOENT, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
			0x7fffffff, 0);
	test_err_option(EINVAL, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
			self->ioas_id, 2);
	test_err_option(EOPNOTSUPP, IOMMU_OPTION_HUGE_PAGES, 2, self->ioas_id,
			0);

	/* Off: PAGE_SIZE alignment; idempotent */
	val = 0;
	test_cmd_option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
			self->ioas_id, &val);
	test_cmd_option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
			self->ioas_id, &val);
	test_cmd_option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
			self->ioas_id, &val);
	EXPECT_EQ(0, val);
	test_err_ioctl_ioas_iova_ranges(EMSGSIZE, self->ioas_id, NULL, &num,
					&alignment);
	EXPECT_EQ(PAGE_SIZE, alignment);
	test_err_ioctl_ioas_map_fixed(EINVAL, buffer, PAGE_SIZE / 2,
				      self->base_iova);
	test_ioctl_ioas_map_fixed(buffer, 2 * PAGE_SIZE, self->base_iova);
	check_map_all(self->base_iova, 2 * PAGE_SIZE, buffer);

	/* On again */
	val = 1;
	test_cmd_option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
			self->ioas_id, &val);
	num = 0;
	test_err_ioctl_ioas_iova_ranges(EMSGSIZE, self->ioas_id, NULL, &num,
					&alignment);
	EXPECT_EQ(dom_align, alignment);

	if (self->ndomains) {
		/* Not while a domain has areas */
		test_err_option(EINVAL, IOMMU_OPTION_HUGE_PAGES,
				IOMMU_OPTION_OP_SET, self->ioas_id, 0);
	} else {
		/* Areas not aligned to PAGE_SIZE are in the way */
		test_ioctl_ioas_map_fixed(buffer, PAGE_SIZE / 2,
					  self->base_iova + 4 * PAGE_SIZE);
		test_err_option(EADDRINUSE, IOMMU_OPTION_HUGE_PAGES,
				IOMMU_OPTION_OP_SET, self->ioas_id, 0);
		test_ioctl_ioas_unmap(self->base_iova + 4 * PAGE_SIZE,
				      PAGE_SIZE / 2);
		/* Aligned areas are fine */
		val = 0;
		test_cmd_option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
				self->ioas_id, &val);
	}
	test_ioctl_ioas_unmap(self->base_iova, 2 * PAGE_SIZE);
}

/* Pinning through an in-kernel access (the mdev model) */
TEST_F(iommufd_ioas, access_pin)
{
	__u64 iova = self->base_iova, ro_iova, alignment;
	__u32 pages_id, pages_id2, num;
	unsigned int npages, off;
	int access_fd, rw_fd;

	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, iova);
	test_cmd_create_access(self->ioas_id, &access_fd,
			       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	test_err_create_access(EOPNOTSUPP, self->ioas_id, 1 << 1);
	test_err_create_access(ENOENT, 0x7fffffff, 0);

	/* A pinning access raises the alignment to PAGE_SIZE */
	num = 0;
	test_err_ioctl_ioas_iova_ranges(EMSGSIZE, self->ioas_id, NULL, &num,
					&alignment);
	EXPECT_EQ(PAGE_SIZE, alignment);

	for (npages = 1; npages < 16; npages += 3) {
		for (off = 0; off + npages <= 32; off += 5) {
			test_cmd_access_pages(access_fd,
					      MOCK_FLAGS_ACCESS_WRITE,
					      iova + off * PAGE_SIZE,
					      npages * PAGE_SIZE,
					      (uint8_t *)buffer +
						      off * PAGE_SIZE,
					      &pages_id);
			test_cmd_destroy_access_pages(access_fd, pages_id);
		}
	}

	/* Two items at once, then each goes once */
	test_cmd_access_pages(access_fd, 0, iova, 4 * PAGE_SIZE, buffer,
			      &pages_id);
	test_cmd_access_pages(access_fd, 0, iova + PAGE_SIZE, PAGE_SIZE, NULL,
			      &pages_id2);
	EXPECT_NE(pages_id, pages_id2);
	test_cmd_destroy_access_pages(access_fd, pages_id2);
	test_err_destroy_access_pages(ENOENT, access_fd, pages_id2);
	test_cmd_destroy_access_pages(access_fd, pages_id);
	test_err_destroy_access_pages(ENOENT, access_fd, pages_id);
	test_err_destroy_access_pages(ENOENT, access_fd, 0x7fffffff);

	/* The pages must be the ones of the user memory at uptr */
	test_err_access_pages(EBADE, access_fd, 0, iova, PAGE_SIZE,
			      (uint8_t *)buffer + PAGE_SIZE);
	/* Not mapped */
	test_err_access_pages(ENOENT, access_fd, 0, iova + BUFFER_SIZE,
			      PAGE_SIZE, NULL);
	test_err_access_pages(ENOENT, access_fd, 0,
			      iova + BUFFER_SIZE - PAGE_SIZE, 2 * PAGE_SIZE,
			      NULL);
	/* Arguments */
	test_err_access_pages(EOPNOTSUPP, access_fd, 1 << 3, iova, PAGE_SIZE,
			      NULL);
	test_err_access_pages(ENOMEM, access_fd, 0, iova,
			      16 * 1024 * 1024 + PAGE_SIZE, NULL);

	/* Write pins of a read-only area */
	ro_iova = iova + 2 * BUFFER_SIZE;
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, buffer,
					  PAGE_SIZE, &ro_iova,
					  IOMMU_IOAS_MAP_READABLE |
						  IOMMU_IOAS_MAP_FIXED_IOVA));
	test_err_access_pages(EPERM, access_fd, MOCK_FLAGS_ACCESS_WRITE,
			      ro_iova, PAGE_SIZE, NULL);
	test_cmd_access_pages(access_fd, 0, ro_iova, PAGE_SIZE, buffer,
			      &pages_id);
	test_cmd_destroy_access_pages(access_fd, pages_id);

	/* An access that does not pin cannot pin */
	test_cmd_create_access(self->ioas_id, &rw_fd, 0);
	test_err_access_pages(EOPNOTSUPP, rw_fd, 0, iova, PAGE_SIZE, NULL);
	close(rw_fd);

	/* Closing the access unpins and restores the alignment */
	test_cmd_access_pages(access_fd, 0, iova, 8 * PAGE_SIZE, buffer,
			      &pages_id);
	close(access_fd);
	num = 0;
	test_err_ioctl_ioas_iova_ranges(EMSGSIZE, self->ioas_id, NULL, &num,
					&alignment);
	EXPECT_EQ(self->ndomains ? MOCK_PAGE_SIZE : 1, alignment);
	test_ioctl_ioas_unmap(ro_iova, PAGE_SIZE);
	test_ioctl_ioas_unmap(iova, BUFFER_SIZE);
	test_cmd_md_check_refs(buffer, BUFFER_SIZE, 0);
}

/* Unmapping an area tells the access to drop what it pinned there */
TEST_F(iommufd_ioas, access_pin_unmap)
{
	__u64 iova = self->base_iova;
	__u32 pages_id, pages_id2;
	int access_fd;

	test_ioctl_ioas_map_fixed(buffer, 8 * PAGE_SIZE, iova);
	test_ioctl_ioas_map_fixed((uint8_t *)buffer + 8 * PAGE_SIZE,
				  8 * PAGE_SIZE, iova + 8 * PAGE_SIZE);
	test_cmd_create_access(self->ioas_id, &access_fd,
			       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	test_cmd_access_pages(access_fd, MOCK_FLAGS_ACCESS_WRITE,
			      iova + PAGE_SIZE, 2 * PAGE_SIZE,
			      (uint8_t *)buffer + PAGE_SIZE, &pages_id);
	test_cmd_access_pages(access_fd, 0, iova + 9 * PAGE_SIZE, PAGE_SIZE,
			      (uint8_t *)buffer + 9 * PAGE_SIZE, &pages_id2);

	test_ioctl_ioas_unmap(iova, 8 * PAGE_SIZE);
	test_err_destroy_access_pages(ENOENT, access_fd, pages_id);
	/* Nothing of the unmapped area is left pinned */
	test_cmd_md_check_refs(buffer, 8 * PAGE_SIZE, 0);
	check_map_all(iova + 8 * PAGE_SIZE, 8 * PAGE_SIZE,
		      (uint8_t *)buffer + 8 * PAGE_SIZE);

	/* The other item is untouched */
	test_cmd_destroy_access_pages(access_fd, pages_id2);
	test_ioctl_ioas_unmap(iova + 8 * PAGE_SIZE, 8 * PAGE_SIZE);
	close(access_fd);
	test_cmd_md_check_refs(buffer, 16 * PAGE_SIZE, 0);
}

/* Byte-granular reads and writes through an access, both paths */
TEST_F_TIMEOUT(iommufd_ioas, access_rw, 300)
{
	static const __u32 paths[] = { 0, MOCK_ACCESS_RW_SLOW_PATH };
	const __u64 iova = self->base_iova;
	uint8_t *big, *mem = buffer;
	uint8_t tmp[64], pattern[64];
	unsigned int p, off, len, i;
	__u64 ro_iova;
	int access_fd;

	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, iova);
	test_cmd_create_access(self->ioas_id, &access_fd, 0);

	for (p = 0; p != ARRAY_SIZE(paths); p++) {
		for (off = PAGE_SIZE - 50; off < PAGE_SIZE + 50; off++) {
			for (len = 1; len < 64; len++) {
				/* Bytes of no other write, nor of the pattern */
				__u64 seed = ~((__u64)p << 40 |
					       (__u64)off << 8 | len);

				for (i = 0; i != len; i++) {
					seed += 1ULL << 48;
					pattern[i] = iommufd_pattern_word(seed);
				}
				test_cmd_access_rw(access_fd, iova + off,
						   pattern, len,
						   MOCK_ACCESS_RW_WRITE |
							   paths[p]);
				ASSERT_EQ(0, memcmp(mem + off, pattern, len));
				memset(tmp, 0, sizeof(tmp));
				test_cmd_access_rw(access_fd, iova + off, tmp,
						   len, paths[p]);
				ASSERT_EQ(0, memcmp(tmp, mem + off, len));
			}
		}
	}

	/*
	 * The whole buffer at once, both ways. What is written is the
	 * pattern of big's own addresses: unlike the buffer's in every word,
	 * and repeating nowhere, so a page or byte written or read at the
	 * wrong place shows.
	 */
	big = malloc(BUFFER_SIZE);
	ASSERT_NE(NULL, big);
	iommufd_fill_buffer(big, BUFFER_SIZE);
	test_cmd_access_rw(access_fd, iova, big, BUFFER_SIZE,
			   MOCK_ACCESS_RW_WRITE);
	ASSERT_EQ(0, memcmp(big, buffer, BUFFER_SIZE));
	memset(big, 0, BUFFER_SIZE);
	test_cmd_access_rw(access_fd, iova, big, BUFFER_SIZE,
			   MOCK_ACCESS_RW_SLOW_PATH);
	ASSERT_EQ(0, memcmp(big, buffer, BUFFER_SIZE));
	/* Back to the buffer's own pattern, read back through both paths */
	buffer_reset();
	ASSERT_EQ(-1, iommufd_check_buffer(buffer, BUFFER_SIZE));
	for (p = 0; p != ARRAY_SIZE(paths); p++) {
		memset(big, 0, BUFFER_SIZE);
		test_cmd_access_rw(access_fd, iova, big, BUFFER_SIZE, paths[p]);
		ASSERT_EQ(0, memcmp(big, buffer, BUFFER_SIZE));
	}
	free(big);

	/* Errors */
	test_err_access_rw(ENOENT, access_fd, iova + BUFFER_SIZE, tmp, 1, 0);
	test_err_access_rw(ENOENT, access_fd, iova + BUFFER_SIZE - 1, tmp, 2,
			   0);
	test_err_access_rw(EOPNOTSUPP, access_fd, iova, tmp, 1, 1 << 1);
	test_err_access_rw(ENOMEM, access_fd, iova, buffer,
			   16 * 1024 * 1024 + 1, 0);
	ro_iova = iova + 2 * BUFFER_SIZE;
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, buffer,
					  PAGE_SIZE, &ro_iova,
					  IOMMU_IOAS_MAP_READABLE |
						  IOMMU_IOAS_MAP_FIXED_IOVA));
	for (p = 0; p != ARRAY_SIZE(paths); p++) {
		test_err_access_rw(EPERM, access_fd, ro_iova, tmp, 8,
				   MOCK_ACCESS_RW_WRITE | paths[p]);
		test_cmd_access_rw(access_fd, ro_iova, tmp, 8, paths[p]);
		ASSERT_EQ(0, memcmp(tmp, buffer, 8));
	}
	close(access_fd);
}

/*
 * A mapping made WRITEABLE but not READABLE: an access may write it and
 * write-pin it, but reading it or pinning it without MOCK_FLAGS_ACCESS_WRITE
 * is EPERM, also when the range starts in a readable area.
 */
TEST_F(iommufd_ioas, access_write_only)
{
	static const __u32 paths[] = { 0, MOCK_ACCESS_RW_SLOW_PATH };
	static const uint8_t pattern[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	__u64 iova = self->base_iova, wo_iova = iova + PAGE_SIZE;
	uint8_t *wo_mem = (uint8_t *)buffer + PAGE_SIZE;
	int access_fd, pin_fd;
	uint8_t tmp[8];
	__u32 pages_id;
	unsigned int p;

	test_ioctl_ioas_map_fixed(buffer, PAGE_SIZE, iova);
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, wo_mem,
					  PAGE_SIZE, &wo_iova,
					  IOMMU_IOAS_MAP_WRITEABLE |
						  IOMMU_IOAS_MAP_FIXED_IOVA));

	test_cmd_create_access(self->ioas_id, &access_fd, 0);
	for (p = 0; p != ARRAY_SIZE(paths); p++) {
		test_err_access_rw(EPERM, access_fd, wo_iova, tmp, sizeof(tmp),
				   paths[p]);
		test_err_access_rw(EPERM, access_fd, wo_iova - 4, tmp,
				   sizeof(tmp), paths[p]);
		/* Writes are fine, also from the readable area on */
		test_cmd_access_rw(access_fd, wo_iova + 16, (void *)pattern,
				   sizeof(pattern),
				   MOCK_ACCESS_RW_WRITE | paths[p]);
		ASSERT_EQ(0, memcmp(wo_mem + 16, pattern, sizeof(pattern)));
		test_cmd_access_rw(access_fd, wo_iova - 4, (void *)pattern,
				   sizeof(pattern),
				   MOCK_ACCESS_RW_WRITE | paths[p]);
		ASSERT_EQ(0, memcmp(wo_mem - 4, pattern, sizeof(pattern)));
	}
	close(access_fd);

	test_cmd_create_access(self->ioas_id, &pin_fd,
			       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	test_err_access_pages(EPERM, pin_fd, 0, wo_iova, PAGE_SIZE, NULL);
	/* The readable page pinned first is let go again */
	test_err_access_pages(EPERM, pin_fd, 0, iova, 2 * PAGE_SIZE, NULL);
	test_cmd_access_pages(pin_fd, MOCK_FLAGS_ACCESS_WRITE, wo_iova,
			      PAGE_SIZE, wo_mem, &pages_id);
	test_cmd_destroy_access_pages(pin_fd, pages_id);
	test_cmd_access_pages(pin_fd, MOCK_FLAGS_ACCESS_WRITE, iova,
			      2 * PAGE_SIZE, buffer, &pages_id);
	test_cmd_destroy_access_pages(pin_fd, pages_id);
	close(pin_fd);
	test_ioctl_ioas_unmap(iova, 2 * PAGE_SIZE);
	test_cmd_md_check_refs(buffer, 2 * PAGE_SIZE, 0);
}

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

/*
 * A READABLE-only mapping of MAP_PRIVATE memory the process has only read
 * so far: pages of a memfd's page cache (shmem, then hugetlbfs), and the
 * shared zeropage of anonymous memory. The read-only pin (of every domain,
 * and of an access without a domain) must break COW at pin time: the
 * process' later write goes to the very pages the IOAS holds, so every
 * domain maps the process' pages and an access reads what the process
 * wrote, while the file keeps its content.
 */
TEST_F(iommufd_ioas, ro_unshare)
{
	enum { RO_SHMEM, RO_ZEROPAGE, RO_HUGETLB, RO_KINDS };
	static const uint8_t old_val = 0xa5;
	const __u64 iova = self->base_iova;
	unsigned int kind;
	uint8_t *tmp;

	tmp = malloc(HUGEPAGE_SIZE);
	ASSERT_NE(NULL, tmp);

	for (kind = 0; kind != RO_KINDS; kind++) {
		size_t len = kind == RO_HUGETLB ? HUGEPAGE_SIZE : 4 * PAGE_SIZE;
		__u64 map_iova = iova;
		int mfd = -1, access_fd, pin_fd;
		__u32 pages_id;
		uint8_t *mem;
		size_t i;

		if (kind == RO_ZEROPAGE) {
			mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		} else {
			mfd = syscall(SYS_memfd_create, "ro_unshare",
				      kind == RO_HUGETLB ? MFD_HUGETLB : 0);
			ASSERT_LE(0, mfd);
			ASSERT_EQ(0, ftruncate(mfd, len));
			/* hugetlbfs has no write(): fill it through a mapping */
			mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
				   MAP_SHARED, mfd, 0);
			ASSERT_NE(MAP_FAILED, mem);
			memset(mem, old_val, len);
			ASSERT_EQ(0, munmap(mem, len));
			mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, mfd, 0);
		}
		ASSERT_NE(MAP_FAILED, mem);
		/* Read faults only: the page cache or the zeropage is mapped */
		for (i = 0; i < len; i += PAGE_SIZE)
			ASSERT_EQ(kind == RO_ZEROPAGE ? 0 : old_val, mem[i]);

		ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, mem,
						  len, &map_iova,
						  IOMMU_IOAS_MAP_READABLE |
							  IOMMU_IOAS_MAP_FIXED_IOVA));
		/* Without a domain, an access pins the pages now */
		test_cmd_create_access(self->ioas_id, &pin_fd,
				       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
		test_cmd_access_pages(pin_fd, 0, iova, len, mem, &pages_id);

		for (i = 0; i != len; i++)
			mem[i] = (uint8_t)(i * 7 + kind + 1);

		check_map_all(iova, len, mem);
		test_cmd_create_access(self->ioas_id, &access_fd, 0);
		memset(tmp, 0, len);
		test_cmd_access_rw(access_fd, iova, tmp, len, 0);
		ASSERT_EQ(0, memcmp(tmp, mem, len));
		memset(tmp, 0, len);
		test_cmd_access_rw(access_fd, iova, tmp, len,
				   MOCK_ACCESS_RW_SLOW_PATH);
		ASSERT_EQ(0, memcmp(tmp, mem, len));
		close(access_fd);

		test_cmd_destroy_access_pages(pin_fd, pages_id);
		close(pin_fd);
		test_ioctl_ioas_unmap(iova, len);
		test_cmd_md_check_refs(mem, len, 0);
		ASSERT_EQ(0, munmap(mem, len));

		if (mfd >= 0) {
			/* The file kept its content */
			mem = mmap(NULL, len, PROT_READ, MAP_SHARED, mfd, 0);
			ASSERT_NE(MAP_FAILED, mem);
			for (i = 0; i != len; i++)
				ASSERT_EQ(old_val, mem[i]);
			ASSERT_EQ(0, munmap(mem, len));
			close(mfd);
		}
	}
	free(tmp);
}

TEST_F(iommufd_ioas, access_replace_ioas)
{
	const __u64 iova = self->base_iova + 64 * PAGE_SIZE;
	__u32 ioas_a, ioas_b;
	uint8_t tmp[16];
	int access_fd;

	test_ioctl_ioas_alloc(&ioas_a);
	test_ioctl_ioas_alloc(&ioas_b);
	test_ioctl_ioas_map_fixed_id(ioas_a, buffer, PAGE_SIZE, iova);
	test_ioctl_ioas_map_fixed_id(ioas_b, (uint8_t *)buffer + PAGE_SIZE,
				     PAGE_SIZE, iova);

	test_cmd_create_access(ioas_a, &access_fd, 0);
	/* The access holds its IOAS */
	test_err_destroy(EBUSY, ioas_a);
	test_cmd_access_rw(access_fd, iova + 8, tmp, sizeof(tmp), 0);
	EXPECT_EQ(0, memcmp(tmp, (uint8_t *)buffer + 8, sizeof(tmp)));

	test_cmd_access_replace_ioas(access_fd, ioas_b);
	test_cmd_access_rw(access_fd, iova + 8, tmp, sizeof(tmp), 0);
	EXPECT_EQ(0, memcmp(tmp, (uint8_t *)buffer + PAGE_SIZE + 8,
			    sizeof(tmp)));
	test_ioctl_destroy(ioas_a);
	test_err_destroy(EBUSY, ioas_b);

	/* Targets that are not an IOAS */
	test_err_access_replace_ioas(ENOENT, access_fd, 0x7fffffff);
	test_err_access_replace_ioas(ENOENT, access_fd, ioas_a);
	if (self->ndomains)
		test_err_access_replace_ioas(ENOENT, access_fd,
					     self->hwpt_id[0]);
	/* Still on ioas_b */
	test_cmd_access_rw(access_fd, iova + 8, tmp, sizeof(tmp), 0);
	EXPECT_EQ(0, memcmp(tmp, (uint8_t *)buffer + PAGE_SIZE + 8,
			    sizeof(tmp)));

	/* Onto the fixture's IOAS, with its domains */
	test_ioctl_ioas_map_fixed((uint8_t *)buffer + 2 * PAGE_SIZE,
				  PAGE_SIZE, iova);
	test_cmd_access_replace_ioas(access_fd, self->ioas_id);
	test_cmd_access_rw(access_fd, iova + 8, tmp, sizeof(tmp), 0);
	EXPECT_EQ(0, memcmp(tmp, (uint8_t *)buffer + 2 * PAGE_SIZE + 8,
			    sizeof(tmp)));
	test_ioctl_destroy(ioas_b);
	close(access_fd);
	test_ioctl_ioas_unmap(iova, PAGE_SIZE);
}

/*
 * Test hook of selftest.c: the next unmap-everything callback of a mock
 * access (what a replace or detach sends its driver) sleeps this many ms.
 */
#define ACCESS_UNMAP_DELAY "/sys/kernel/debug/iommufd/access_unmap_delay_ms"

static bool set_access_unmap_delay(unsigned int ms)
{
	char buf[16];
	int fd, len;
	bool ok;

	fd = open(ACCESS_UNMAP_DELAY, O_WRONLY);
	if (fd < 0)
		return false;
	len = snprintf(buf, sizeof(buf), "%u\n", ms);
	ok = write(fd, buf, len) == len;
	close(fd);
	return ok;
}

struct access_replace_args {
	int fd;
	int access_fd;
	__u32 ioas_id;
	int rc;
	int err;
};

static void *access_replace_thread(void *data)
{
	struct access_replace_args *args = data;

	args->rc = _test_cmd_access_replace_ioas(args->fd, args->access_fd,
						 args->ioas_id);
	args->err = errno;
	return NULL;
}

/*
 * While a replace waits for the driver to drop its pins (the unmap
 * callback, slowed down by the hook), the access is on no IOAS: reads fail
 * with ENOENT. A second replace of it in that window must wait for the
 * first one and then move the access on, not fail with ENOENT (nor slip in
 * and leave the access in two IOAS). Then the access is on the last IOAS
 * only, its pin of the first is gone, and every IOAS it left can go.
 */
TEST_F(iommufd_ioas, access_replace_during_unpin)
{
	const __u64 iova = self->base_iova + 64 * PAGE_SIZE;
	struct access_replace_args args = {};
	__u32 ioas_a, ioas_b, ioas_c, pages_id;
	struct timespec start, now = {};
	int access_fd, rc, err = 0;
	uint8_t tmp[16];
	pthread_t thread;

	if (!set_access_unmap_delay(0))
		SKIP(return, "cannot write %s", ACCESS_UNMAP_DELAY);

	test_ioctl_ioas_alloc(&ioas_a);
	test_ioctl_ioas_alloc(&ioas_b);
	test_ioctl_ioas_alloc(&ioas_c);
	test_ioctl_ioas_map_fixed_id(ioas_a, buffer, PAGE_SIZE, iova);
	test_ioctl_ioas_map_fixed_id(ioas_b, (uint8_t *)buffer + PAGE_SIZE,
				     PAGE_SIZE, iova);
	test_ioctl_ioas_map_fixed_id(ioas_c, (uint8_t *)buffer + 2 * PAGE_SIZE,
				     PAGE_SIZE, iova);
	test_cmd_create_access(ioas_a, &access_fd,
			       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	/* A driver holding a pin is asked to unpin: the hook runs */
	test_cmd_access_pages(access_fd, 0, iova, PAGE_SIZE, buffer,
			      &pages_id);

	ASSERT_TRUE(set_access_unmap_delay(1000));
	args.fd = self->fd;
	args.access_fd = access_fd;
	args.ioas_id = ioas_b;
	ASSERT_EQ(0, pthread_create(&thread, NULL, access_replace_thread,
				    &args));

	/* Until the first replace is in the window */
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		rc = _test_cmd_access_rw(self->fd, access_fd, iova, tmp, 1, 0);
		if (rc) {
			err = errno;
			break;
		}
		usleep(200);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 5);
	EXPECT_EQ(-1, rc);
	EXPECT_EQ(ENOENT, err);

	/* Waits for the first replace, then moves the access on to C */
	rc = _test_cmd_access_replace_ioas(self->fd, access_fd, ioas_c);
	err = rc ? errno : 0;
	ASSERT_EQ(0, pthread_join(thread, NULL));
	set_access_unmap_delay(0);
	EXPECT_EQ(0, args.rc);
	EXPECT_EQ(0, rc);
	EXPECT_EQ(0, err);

	/* On C alone; the pin on A went in the first replace */
	test_cmd_access_rw(access_fd, iova + 8, tmp, sizeof(tmp), 0);
	EXPECT_EQ(0, memcmp(tmp, (uint8_t *)buffer + 2 * PAGE_SIZE + 8,
			    sizeof(tmp)));
	test_err_destroy_access_pages(ENOENT, access_fd, pages_id);
	test_ioctl_destroy(ioas_a);
	test_ioctl_destroy(ioas_b);
	test_err_destroy(EBUSY, ioas_c);
	close(access_fd);
	test_ioctl_destroy(ioas_c);
}

/*
 * IOMMU_DESTROY of an IOAS racing an access attaching to it: the attach
 * (iommufd_access_attach()) holds a short-term reference on the IOAS,
 * raises users and drops the short-term reference; the destroy reads users
 * and then takes the table's short-term reference away if it is the only
 * one. Two one-shot debug knobs of CONFIG_IOMMUFD_TEST (debugfs iommufd/)
 * put the attach's raise inside the destroy's window, every time:
 *  - attach_delay_ms: the attach sleeps between its lookup of the IOAS and
 *    the raise of users;
 *  - destroy_delay_ms: the destroy busy-waits between reading users == 1
 *    and dropping the short-term count.
 * The attaching thread goes to sleep first; the destroy then reads users
 * == 1 and waits; the attach wakes up and raises users. Unless that raise
 * is ordered against the destroy's window (it must wait for the table's
 * xa_lock), the attach drops its short-term reference before the destroy
 * looks at it, and the destroy frees an IOAS with an access on it. It must
 * answer -EBUSY, leave the IOAS intact, and the attach must succeed.
 */
#define RACE_KNOB_DIR "/sys/kernel/debug/iommufd/"
#define RACE_ATTACH_DELAY_MS 300
#define RACE_DESTROY_DELAY_MS 1000
/* The attach is taken to sleep in its delay once seen in D that long */
#define RACE_SLEEP_SEEN_MS 20

static bool race_knob_set(const char *name, unsigned int ms)
{
	char path[128], val[16];
	bool ok;
	int fd, len;

	snprintf(path, sizeof(path), RACE_KNOB_DIR "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return false;
	len = snprintf(val, sizeof(val), "%u", ms);
	ok = write(fd, val, len) == len;
	close(fd);
	return ok;
}

/* The knob's value, or -1 */
static long race_knob_get(const char *name)
{
	char path[128], val[16];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), RACE_KNOB_DIR "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, val, sizeof(val) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	val[n] = 0;
	return strtol(val, NULL, 10);
}

/*
 * Readers of an IOAS do not wait for a MAP: while one pins and fills the
 * domains (held there by the one-shot knob map_delay_ms), IOVA_RANGES, an
 * access reading another mapping and a COPY of it complete, and the MAP is
 * still running when they are done. The IOVA being mapped is a hole to
 * them until the MAP returns; then it reads like any other.
 */
#define MAP_DELAY_MS 2000

struct map_during_args {
	int fd;
	__u32 ioas_id;
	void *buf;
	__u64 iova;
	int rc;
	int err;
	bool done;
};

/* The MAP of the threads below: one page at args->iova */
static void map_during_one(struct map_during_args *args)
{
	__u64 iova = args->iova;

	args->rc = _test_ioctl_ioas_map(args->fd, args->ioas_id, args->buf,
					PAGE_SIZE, &iova,
					IOMMU_IOAS_MAP_FIXED_IOVA |
					IOMMU_IOAS_MAP_WRITEABLE |
					IOMMU_IOAS_MAP_READABLE);
	args->err = args->rc ? errno : 0;
}

static void *map_during_thread(void *data)
{
	struct map_during_args *args = data;

	map_during_one(args);
	__atomic_store_n(&args->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Each reader's return value and errno, taken while the MAP waits */
struct map_during_readers {
	int ranges, rw, copy, rw_new, copy_new;
	int ranges_err, rw_err, copy_err, rw_new_err, copy_new_err;
	bool map_done;
};

TEST_F(iommufd_ioas, readers_during_map)
{
	const __u64 iova = self->base_iova + 64 * PAGE_SIZE;
	struct map_during_args args = {
		.fd = self->fd,
		.ioas_id = self->ioas_id,
		.buf = (uint8_t *)buffer + PAGE_SIZE,
		.iova = self->base_iova + 128 * PAGE_SIZE,
	};
	struct iommu_iova_range ranges[4];
	struct iommu_ioas_iova_ranges ranges_cmd = {
		.size = sizeof(ranges_cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 4,
		.allowed_iovas = (uintptr_t)ranges,
	};
	struct map_during_readers r = {};
	uint8_t tmp[16], tmp_new[16];
	__u64 dst_iova, dst_new;
	int access_fd, i;
	pthread_t thread;
	long knob = -1;
	__u32 ioas2;

	if (!race_knob_set("map_delay_ms", 0))
		SKIP(return, "no " RACE_KNOB_DIR "map_delay_ms");

	test_ioctl_ioas_alloc(&ioas2);
	test_ioctl_ioas_map_fixed(buffer, PAGE_SIZE, iova);
	test_cmd_create_access(self->ioas_id, &access_fd, 0);

	ASSERT_TRUE(race_knob_set("map_delay_ms", MAP_DELAY_MS));
	ASSERT_EQ(0, pthread_create(&thread, NULL, map_during_thread, &args));
	/* The knob goes back to 0 as the MAP enters its delay */
	for (i = 0; i < 5000 && knob; i++) {
		usleep(1000);
		knob = race_knob_get("map_delay_ms");
	}

	/* Taken first, checked once the MAP is joined */
	r.ranges = ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &ranges_cmd);
	r.ranges_err = errno;
	r.rw = _test_cmd_access_rw(self->fd, access_fd, iova + 8, tmp,
				   sizeof(tmp), 0);
	r.rw_err = errno;
	r.copy = _test_ioctl_ioas_copy(self->fd, IOMMU_IOAS_MAP_READABLE,
				       ioas2, self->ioas_id, PAGE_SIZE, iova,
				       &dst_iova);
	r.copy_err = errno;
	/* What is being mapped is not there yet */
	r.rw_new = _test_cmd_access_rw(self->fd, access_fd, args.iova, tmp_new,
				       sizeof(tmp_new), 0);
	r.rw_new_err = errno;
	r.copy_new = _test_ioctl_ioas_copy(self->fd, IOMMU_IOAS_MAP_READABLE,
					   ioas2, self->ioas_id, PAGE_SIZE,
					   args.iova, &dst_new);
	r.copy_new_err = errno;
	/* None of that waited for the MAP */
	r.map_done = __atomic_load_n(&args.done, __ATOMIC_ACQUIRE);

	race_knob_set("map_delay_ms", 0);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	ASSERT_EQ(0, knob);
	ASSERT_EQ(0, args.rc);
	EXPECT_EQ(0, r.ranges);
	EXPECT_EQ(0, r.rw);
	EXPECT_EQ(0, memcmp(tmp, (uint8_t *)buffer + 8, sizeof(tmp)));
	EXPECT_EQ(0, r.copy);
	EXPECT_EQ(-1, r.rw_new);
	EXPECT_EQ(ENOENT, r.rw_new_err);
	EXPECT_EQ(-1, r.copy_new);
	EXPECT_EQ(ENOENT, r.copy_new_err);
	EXPECT_FALSE(r.map_done);

	/* Mapped now: it reads like any other */
	test_cmd_access_rw(access_fd, args.iova + 8, tmp, sizeof(tmp), 0);
	EXPECT_EQ(0, memcmp(tmp, (uint8_t *)buffer + PAGE_SIZE + 8,
			    sizeof(tmp)));
	if (self->ndomains)
		check_map_all(args.iova, PAGE_SIZE, args.buf);

	close(access_fd);
	test_ioctl_destroy(ioas2);
	test_ioctl_ioas_unmap(args.iova, PAGE_SIZE);
	test_ioctl_ioas_unmap(iova, PAGE_SIZE);
}

/* An attribute of the fail_iommufd fault injection (debugfs); NULL: read */
static bool fail_iommufd_attr(const char *name, const char *val, char *old,
			      size_t size)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/fail_iommufd/%s",
		 name);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return false;
	if (old) {
		n = read(fd, old, size - 1);
		if (n <= 0) {
			close(fd);
			return false;
		}
		old[n] = 0;
	}
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val);
}

static void *failed_map_thread(void *data)
{
	struct map_during_args *args = data;
	char path[64];
	int fd;

	/* fail_iommufd fails this thread's third fault point: the pin */
	snprintf(path, sizeof(path), "/proc/self/task/%ld/make-it-fail",
		 (long)syscall(SYS_gettid));
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1) {
		args->rc = -2;
		if (fd >= 0)
			close(fd);
		__atomic_store_n(&args->done, true, __ATOMIC_RELEASE);
		return NULL;
	}
	map_during_one(args);
	if (write(fd, "0", 1) != 1)
		args->rc = -3;
	close(fd);
	__atomic_store_n(&args->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A MAP whose fill fails takes its areas out again under iova_rwsem held
 * for write, which it takes after dropping the read lock (and sleeping
 * there, unfill_delay_ms). Writers that come in between wait for it and
 * never see its areas: an UNMAP of its range finds nothing, a MAP at its
 * IOVA succeeds.
 */
TEST_F(iommufd_ioas, writers_during_failed_map)
{
	struct map_during_args args = {
		.fd = self->fd,
		.ioas_id = self->ioas_id,
		.buf = buffer,
		.iova = self->base_iova + 128 * PAGE_SIZE,
	};
	char filter[16] = "", prob[16] = "", times[16] = "", verbose[16] = "";
	char space[16] = "";
	int unmap_rc, unmap_err, map_rc, map_err, i;
	__u64 unmapped, iova = args.iova;
	pthread_t thread;
	long knob = -1;

	if (!self->ndomains)
		SKIP(return, "nothing is pinned without a domain");
	if (!race_knob_set("unfill_delay_ms", 0) ||
	    !fail_iommufd_attr("task-filter", "Y", filter, sizeof(filter)))
		SKIP(return, "no unfill_delay_ms or fail_iommufd in debugfs");
	ASSERT_TRUE(fail_iommufd_attr("probability", "100", prob,
				      sizeof(prob)));
	ASSERT_TRUE(fail_iommufd_attr("times", "1", times, sizeof(times)));
	ASSERT_TRUE(fail_iommufd_attr("verbose", "0", verbose,
				      sizeof(verbose)));
	ASSERT_TRUE(fail_iommufd_attr("interval", "1", NULL, 0));
	/*
	 * The first two fault points of the MAP pass: the lookup of the IOAS
	 * and the run buffer of the domain fill (its failure is a fallback,
	 * not an error); the third, the pinning, fails
	 */
	ASSERT_TRUE(fail_iommufd_attr("space", "3", space, sizeof(space)));

	ASSERT_TRUE(race_knob_set("unfill_delay_ms", MAP_DELAY_MS));
	ASSERT_EQ(0, pthread_create(&thread, NULL, failed_map_thread, &args));
	/* The knob goes back to 0 as the failed MAP enters its delay */
	for (i = 0; i < 5000 && knob; i++) {
		usleep(1000);
		knob = race_knob_get("unfill_delay_ms");
	}
	unmap_rc = _test_ioctl_ioas_unmap(self->fd, self->ioas_id, args.iova,
					  PAGE_SIZE, &unmapped);
	unmap_err = errno;
	map_rc = _test_ioctl_ioas_map(self->fd, self->ioas_id,
				      (uint8_t *)buffer + 2 * PAGE_SIZE,
				      PAGE_SIZE, &iova,
				      IOMMU_IOAS_MAP_FIXED_IOVA |
				      IOMMU_IOAS_MAP_WRITEABLE |
				      IOMMU_IOAS_MAP_READABLE);
	map_err = errno;

	race_knob_set("unfill_delay_ms", 0);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	fail_iommufd_attr("probability", prob, NULL, 0);
	fail_iommufd_attr("times", times, NULL, 0);
	fail_iommufd_attr("verbose", verbose, NULL, 0);
	fail_iommufd_attr("task-filter", filter, NULL, 0);
	fail_iommufd_attr("space", space, NULL, 0);
	if (knob)
		TH_LOG("the MAP did not fail in its fill: %d, errno %d",
		       args.rc, args.err);
	ASSERT_EQ(0, knob);
	EXPECT_EQ(-1, args.rc);
	EXPECT_EQ(ENOMEM, args.err);
	EXPECT_EQ(-1, unmap_rc);
	EXPECT_EQ(ENOENT, unmap_err);
	if (map_rc)
		TH_LOG("MAP at the failed MAP's IOVA: errno %d", map_err);
	ASSERT_EQ(0, map_rc);
	check_map_all(args.iova, PAGE_SIZE, (uint8_t *)buffer + 2 * PAGE_SIZE);
	test_ioctl_ioas_unmap(args.iova, PAGE_SIZE);
}

/* Thread @tid of this process sleeps uninterruptibly (state D) */
static bool race_thread_in_d(pid_t tid)
{
	char path[64], line[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return false;
	line[n] = 0;
	/* "tid (comm) S ...": the state follows the last parenthesis */
	p = strrchr(line, ')');
	return p && p[1] == ' ' && p[2] == 'D';
}

struct destroy_race {
	int fd;
	__u32 ioas_id;
	pid_t attacher;		/* set by the attaching thread */
	bool attach_done;	/* set by it when its ioctl returned */
	int attach_rc, attach_errno;
	int access_fd;
	int destroy_rc, destroy_errno;
	long destroy_ms;	/* how long the destroy took */
	long attach_ms;		/* how long the attach took */
};

/* The attaching thread; no ASSERT here: it longjmp()s to the test thread */
static void *destroy_race_attacher(void *arg)
{
	struct destroy_race *race = arg;

	__atomic_store_n(&race->attacher, syscall(SYS_gettid),
			 __ATOMIC_RELEASE);
	race->attach_rc =
		_test_cmd_create_access(race->fd, race->ioas_id,
					&race->access_fd,
					MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	race->attach_errno = race->attach_rc ? errno : 0;
	__atomic_store_n(&race->attach_done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Create an access on race->ioas_id on another thread and, while it sleeps
 * in its attach delay, destroy the IOAS on this one. Both knobs are set
 * here, are one-shot, and are read back by the caller. Returns false if
 * the attaching thread was never seen asleep (then nothing was destroyed).
 */
static bool destroy_during_attach(struct destroy_race *race)
{
	unsigned int i, in_d = 0;
	pthread_t thread;
	pid_t tid;

	race->attacher = 0;
	race->attach_done = false;
	race->attach_rc = -1;
	race->attach_errno = 0;
	race->destroy_rc = -1;
	race->destroy_errno = 0;
	race->access_fd = -1;
	if (!race_knob_set("attach_delay_ms", RACE_ATTACH_DELAY_MS) ||
	    !race_knob_set("destroy_delay_ms", RACE_DESTROY_DELAY_MS))
		return false;
	if (pthread_create(&thread, NULL, destroy_race_attacher, race))
		return false;

	while (!(tid = __atomic_load_n(&race->attacher, __ATOMIC_ACQUIRE)))
		usleep(100);
	/* Bounded, and over if the attach returned (it failed early) */
	for (i = 0; i < 10 * RACE_ATTACH_DELAY_MS && in_d < RACE_SLEEP_SEEN_MS;
	     i++) {
		if (__atomic_load_n(&race->attach_done, __ATOMIC_ACQUIRE))
			break;
		in_d = race_thread_in_d(tid) ? in_d + 1 : 0;
		usleep(1000);
	}
	if (in_d >= RACE_SLEEP_SEEN_MS) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		race->destroy_rc = _test_ioctl_destroy(race->fd, race->ioas_id);
		race->destroy_errno = race->destroy_rc ? errno : 0;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		race->destroy_ms = (t1.tv_sec - t0.tv_sec) * 1000 +
				   (t1.tv_nsec - t0.tv_nsec) / 1000000;
	}
	pthread_join(thread, NULL);
	return in_d >= RACE_SLEEP_SEEN_MS;
}

FIXTURE(iommufd_destroy_race) {
	int fd;
	__u32 ioas_id;
	bool have_knobs;
	struct destroy_race race;
};

FIXTURE_SETUP(iommufd_destroy_race)
{
	buffer_reset();
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	self->race.fd = self->fd;
	self->race.ioas_id = self->ioas_id;
	self->race.access_fd = -1;
	/* Also clears what an earlier run killed midway left */
	self->have_knobs = race_knob_set("attach_delay_ms", 0) &&
			   race_knob_set("destroy_delay_ms", 0);
}

FIXTURE_TEARDOWN(iommufd_destroy_race)
{
	if (self->have_knobs) {
		EXPECT_TRUE(race_knob_set("attach_delay_ms", 0));
		EXPECT_TRUE(race_knob_set("destroy_delay_ms", 0));
	}
	if (self->race.access_fd >= 0)
		close(self->race.access_fd);
	close(self->fd);
	teardown_check_unpinned(buffer, BUFFER_SIZE);
}

TEST_F(iommufd_destroy_race, ioas_vs_access)
{
	const __u64 iova = MOCK_APERTURE_START;
	struct destroy_race *race = &self->race;
	uint8_t tmp[16];
	__u32 pages_id;

	if (!self->have_knobs)
		SKIP(return, "no %s{attach,destroy}_delay_ms (%s)",
		     RACE_KNOB_DIR, "CONFIG_IOMMUFD_TEST, debugfs");
	/* Areas do not hold the IOAS: only the access will */
	test_ioctl_ioas_map_fixed(buffer, 8 * PAGE_SIZE, iova);

	ASSERT_TRUE(destroy_during_attach(race))
		TH_LOG("the attach was never seen asleep in its delay: %s",
		       race->attach_rc ? strerror(race->attach_errno) : "");
	/* Both windows were reached: the knobs fired (they are one-shot) */
	ASSERT_EQ(0, race_knob_get("attach_delay_ms"));
	ASSERT_EQ(0, race_knob_get("destroy_delay_ms"))
		TH_LOG("the destroy saw users != 1: the race was not set up");
	TH_LOG("IOMMU_DESTROY took %ld ms", race->destroy_ms);

	ASSERT_EQ(0, race->attach_rc)
		TH_LOG("attach: %s", strerror(race->attach_errno));
	ASSERT_LE(0, race->access_fd);
	ASSERT_EQ(-1, race->destroy_rc)
		TH_LOG("IOMMU_DESTROY freed the IOAS an access was attaching to");
	ASSERT_EQ(EBUSY, race->destroy_errno);

	/* The IOAS is intact: it maps, and the access pins and reads */
	test_ioctl_ioas_map_fixed((uint8_t *)buffer + 8 * PAGE_SIZE,
				  8 * PAGE_SIZE, iova + 8 * PAGE_SIZE);
	test_cmd_access_pages(race->access_fd, MOCK_FLAGS_ACCESS_WRITE,
			      iova + 6 * PAGE_SIZE, 4 * PAGE_SIZE,
			      (uint8_t *)buffer + 6 * PAGE_SIZE, &pages_id);
	test_cmd_access_rw(race->access_fd, iova + 7 * PAGE_SIZE + 8, tmp,
			   sizeof(tmp), 0);
	ASSERT_EQ(0, memcmp(tmp, (uint8_t *)buffer + 7 * PAGE_SIZE + 8,
			    sizeof(tmp)));
	memset(tmp, 0xa5, sizeof(tmp));
	test_cmd_access_rw(race->access_fd, iova + 9 * PAGE_SIZE + 8, tmp,
			   sizeof(tmp), MOCK_ACCESS_RW_WRITE);
	ASSERT_EQ(0, memcmp(tmp, (uint8_t *)buffer + 9 * PAGE_SIZE + 8,
			    sizeof(tmp)));
	/* Still held by the access */
	test_err_destroy(EBUSY, self->ioas_id);

	test_cmd_destroy_access_pages(race->access_fd, pages_id);
	close(race->access_fd);
	race->access_fd = -1;
	test_ioctl_destroy(self->ioas_id);
	test_err_destroy(ENOENT, self->ioas_id);
}

/*
 * One or two mock domains, on the common buffer or on hugetlb memory (two
 * huge pages): what the domains map, and the pin counts.
 */
FIXTURE(iommufd_mock_domain) {
	int fd;
	__u32 ioas_id;
	unsigned int ndomains;
	__u32 stdev_id[2];
	__u32 hwpt_id[2];
	__u32 idev_id[2];
	uint8_t *buf;
	size_t buf_size;
};

FIXTURE_VARIANT(iommufd_mock_domain) {
	unsigned int mock_domains;
	bool hugepages;
};

FIXTURE_SETUP(iommufd_mock_domain)
{
	buffer_reset();
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	self->ndomains = variant->mock_domains;
	add_mock_domains(_metadata, self->fd, self->ioas_id, self->ndomains,
			 self->stdev_id, self->hwpt_id, self->idev_id);
	if (variant->hugepages) {
		/* Needs free huge pages (the VM runner reserves them) */
		self->buf_size = 2 * HUGEPAGE_SIZE;
		self->buf = mmap(NULL, self->buf_size, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB |
					 MAP_POPULATE,
				 -1, 0);
		ASSERT_NE(MAP_FAILED, self->buf);
		iommufd_fill_buffer(self->buf, self->buf_size);
	} else {
		self->buf = buffer;
		self->buf_size = BUFFER_SIZE;
	}
}

FIXTURE_TEARDOWN(iommufd_mock_domain)
{
	close(self->fd);
	teardown_check_unpinned(buffer, BUFFER_SIZE);
	if (self->buf != buffer) {
		teardown_check_unpinned(self->buf, self->buf_size);
		munmap(self->buf, self->buf_size);
	}
}

FIXTURE_VARIANT_ADD(iommufd_mock_domain, one_domain) {
	.mock_domains = 1,
};

FIXTURE_VARIANT_ADD(iommufd_mock_domain, two_domains) {
	.mock_domains = 2,
};

FIXTURE_VARIANT_ADD(iommufd_mock_domain, one_domain_hugepage) {
	.mock_domains = 1,
	.hugepages = true,
};

FIXTURE_VARIANT_ADD(iommufd_mock_domain, two_domains_hugepage) {
	.mock_domains = 2,
	.hugepages = true,
};

TEST_F(iommufd_mock_domain, basic)
{
	const __u64 iova = MOCK_APERTURE_START;
	__u64 aligned;
	__u32 num = 1;
	struct iommu_iova_range range;
	void *gone;

	/* The IOAS takes the aperture and the alignment of the domains */
	test_ioctl_ioas_iova_ranges(self->ioas_id, &range, &num, &aligned);
	EXPECT_EQ(1, num);
	EXPECT_EQ(MOCK_APERTURE_START, range.start);
	EXPECT_EQ(MOCK_APERTURE_LAST, range.last);
	EXPECT_EQ(MOCK_PAGE_SIZE, aligned);

	test_cmd_md_check_refs(self->buf, self->buf_size, 0);
	test_ioctl_ioas_map_fixed(self->buf, self->buf_size, iova);
	check_map_all(iova, self->buf_size, self->buf);
	/* One pin, whatever the number of domains */
	test_cmd_md_check_refs(self->buf, self->buf_size, 1);
	/* MD_CHECK_MAP notices a different page */
	test_err_md_check_map(EINVAL, self->hwpt_id[0], iova, PAGE_SIZE,
			      self->buf + PAGE_SIZE);
	test_err_md_check_map(EINVAL, self->hwpt_id[0], iova + 1, PAGE_SIZE,
			      self->buf + 1);
	test_err_md_check_map(EINVAL, self->hwpt_id[0],
			      iova + self->buf_size, PAGE_SIZE, self->buf);
	test_err_md_check_map(ENOENT, self->ioas_id, iova, PAGE_SIZE,
			      self->buf);
	test_ioctl_ioas_unmap(iova, self->buf_size);
	test_cmd_md_check_refs(self->buf, self->buf_size, 0);
	test_err_md_check_map(EINVAL, self->hwpt_id[0], iova, PAGE_SIZE,
			      self->buf);

	/* Pinning memory that is not there fails at MAP */
	gone = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, gone);
	munmap(gone, PAGE_SIZE);
	test_err_ioctl_ioas_map_fixed(EFAULT, gone, PAGE_SIZE, iova);
	/* Read-only user memory can only be mapped read-only */
	gone = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, gone);
	memset(gone, 1, PAGE_SIZE);
	ASSERT_EQ(0, mprotect(gone, PAGE_SIZE, PROT_READ));
	test_err_ioctl_ioas_map_fixed(EFAULT, gone, PAGE_SIZE, iova);
	aligned = iova;
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, gone,
					  PAGE_SIZE, &aligned,
					  IOMMU_IOAS_MAP_READABLE |
						  IOMMU_IOAS_MAP_FIXED_IOVA));
	test_cmd_md_check_refs(gone, PAGE_SIZE, 1);
	test_ioctl_ioas_unmap(iova, PAGE_SIZE);
	test_cmd_md_check_refs(gone, PAGE_SIZE, 0);
	munmap(gone, PAGE_SIZE);
}

/*
 * MD_CHECK_REFS counts exactly, on small and on huge pages: two MAPs of the
 * same memory pin it twice, and a count one off is EIO. On a huge page only
 * the folio's total is known, so a range stands for the whole folio: refs
 * on its pages in the range, none on the others (iommufd_test.h).
 */
TEST_F(iommufd_mock_domain, check_refs_exact)
{
	const size_t len = 4 * PAGE_SIZE;
	uint8_t *mem = self->buf + 2 * PAGE_SIZE;
	__u64 iova, iova2;

	test_ioctl_ioas_map(mem, len, &iova);
	check_map_all(iova, len, mem);
	test_cmd_md_check_refs(mem, len, 1);
	test_err_md_check_refs(EIO, mem, len, 0);
	test_err_md_check_refs(EIO, mem, len, 2);
	test_err_md_check_refs(EIO, mem, len + PAGE_SIZE, 1);
	if (variant->hugepages) {
		/* The folio holds 4 pins: 1 page or 0 pins say otherwise */
		test_err_md_check_refs(EIO, mem, PAGE_SIZE, 1);
		/* Which of its pages hold them is not recorded anywhere */
		test_cmd_md_check_refs(mem - PAGE_SIZE, len, 1);
		test_err_md_check_refs(EIO, self->buf, 2 * PAGE_SIZE, 0);
		test_err_md_check_refs(EIO, self->buf, HUGEPAGE_SIZE, 0);
		/* The second huge page holds none */
		test_cmd_md_check_refs(self->buf + HUGEPAGE_SIZE,
				       HUGEPAGE_SIZE, 0);
	} else {
		test_err_md_check_refs(EIO, mem - PAGE_SIZE, len, 1);
		test_cmd_md_check_refs(mem + PAGE_SIZE, PAGE_SIZE, 1);
		test_cmd_md_check_refs(self->buf, 2 * PAGE_SIZE, 0);
		test_cmd_md_check_refs(mem + len, PAGE_SIZE, 0);
	}

	/* A second MAP of the same memory pins it again */
	test_ioctl_ioas_map(mem, len, &iova2);
	check_map_all(iova2, len, mem);
	test_cmd_md_check_refs(mem, len, 2);
	test_err_md_check_refs(EIO, mem, len, 1);
	test_err_md_check_refs(EIO, mem, len, 3);
	if (!variant->hugepages)
		test_cmd_md_check_refs(mem + 3 * PAGE_SIZE, PAGE_SIZE, 2);

	test_ioctl_ioas_unmap(iova, len);
	test_cmd_md_check_refs(mem, len, 1);
	test_ioctl_ioas_unmap(iova2, len);
	test_cmd_md_check_refs(mem, len, 0);
	test_cmd_md_check_refs(self->buf, self->buf_size, 0);
}

/*
 * A page stays pinned while anything uses it: pages only domains use have
 * their PFNs nowhere but in the domains, so the last domain going reads
 * them back and must leave what an access or a COPY still uses.
 */
TEST_F(iommufd_mock_domain, pins_follow_users)
{
	const __u64 iova = MOCK_APERTURE_START;
	uint8_t *mem = buffer;
	__u32 pages_id, ioas2, stdev2, hwpt2, stdev3, hwpt3;
	int access_fd;
	__u64 dst, dst2;
	long kb = PAGE_SIZE / 1024, pin0 = proc_status_kb("VmPin");

	test_ioctl_ioas_map_fixed(mem, 8 * PAGE_SIZE, iova);
	test_cmd_create_access(self->ioas_id, &access_fd,
			       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	test_cmd_access_pages(access_fd, MOCK_FLAGS_ACCESS_WRITE,
			      iova + 2 * PAGE_SIZE, 3 * PAGE_SIZE,
			      mem + 2 * PAGE_SIZE, &pages_id);
	test_ioctl_ioas_alloc(&ioas2);
	test_cmd_mock_domain(ioas2, &stdev2, &hwpt2, NULL);
	test_ioctl_ioas_copy(MAP_RW, ioas2, self->ioas_id, 4 * PAGE_SIZE,
			     iova + 4 * PAGE_SIZE, &dst);
	test_cmd_md_check_map(hwpt2, dst, 4 * PAGE_SIZE, mem + 4 * PAGE_SIZE);
	/* Once each, however many users; charged once */
	test_cmd_md_check_refs(mem, 8 * PAGE_SIZE, 1);
	ASSERT_EQ(pin0 + 8 * kb, proc_status_kb("VmPin"));

	/* The first domain goes: the other one of the IOAS has the PFNs */
	test_ioctl_destroy(self->stdev_id[0]);
	if (self->ndomains > 1) {
		test_cmd_md_check_refs(mem, 8 * PAGE_SIZE, 1);
		test_cmd_md_check_map(self->hwpt_id[1], iova, 8 * PAGE_SIZE,
				      mem);
		/* A COPY reads them from there */
		test_ioctl_ioas_copy(MAP_RW, ioas2, self->ioas_id,
				     2 * PAGE_SIZE, iova, &dst2);
		test_cmd_md_check_map(hwpt2, dst2, 2 * PAGE_SIZE, mem);
		test_ioctl_ioas_unmap_id(ioas2, dst2, 2 * PAGE_SIZE);
		test_cmd_md_check_refs(mem, 8 * PAGE_SIZE, 1);
		test_ioctl_destroy(self->stdev_id[1]);
		test_ioctl_destroy(self->hwpt_id[1]);
	}
	/* No domain left: the access and the COPY keep theirs */
	test_cmd_md_check_refs(mem, 2 * PAGE_SIZE, 0);
	test_cmd_md_check_refs(mem + 2 * PAGE_SIZE, 6 * PAGE_SIZE, 1);
	test_cmd_md_check_map(hwpt2, dst, 4 * PAGE_SIZE, mem + 4 * PAGE_SIZE);
	ASSERT_EQ(pin0 + 6 * kb, proc_status_kb("VmPin"));

	/*
	 * A domain again: filled from the access's PFNs, from the COPY's
	 * domain and by pinning, each page still pinned once
	 */
	test_cmd_mock_domain(self->ioas_id, &stdev3, &hwpt3, NULL);
	test_cmd_md_check_map(hwpt3, iova, 8 * PAGE_SIZE, mem);
	test_cmd_md_check_refs(mem, 8 * PAGE_SIZE, 1);
	ASSERT_EQ(pin0 + 8 * kb, proc_status_kb("VmPin"));
	test_ioctl_destroy(stdev3);

	test_cmd_destroy_access_pages(access_fd, pages_id);
	test_cmd_md_check_refs(mem, 4 * PAGE_SIZE, 0);
	test_cmd_md_check_refs(mem + 4 * PAGE_SIZE, 4 * PAGE_SIZE, 1);
	close(access_fd);
	test_ioctl_ioas_unmap(iova, 8 * PAGE_SIZE);
	test_cmd_md_check_refs(mem + 4 * PAGE_SIZE, 4 * PAGE_SIZE, 1);
	test_ioctl_destroy(stdev2);
	test_cmd_md_check_refs(mem, 8 * PAGE_SIZE, 0);
	ASSERT_EQ(pin0, proc_status_kb("VmPin"));
	test_ioctl_destroy(ioas2);
}

/*
 * Memory whose pages were faulted last page first: no two neighbours are
 * physically contiguous, so the last unmap reads more runs than it
 * buffers and unmaps in several chunks, each cut between two runs (the
 * mock WARNs on a cut inside what one map made)
 */
TEST_F(iommufd_mock_domain, unmap_scattered)
{
	const size_t len = 1024 * PAGE_SIZE;
	uint8_t *mem;
	__u64 iova;
	size_t off;

	/* Shared, as buffer: no THP */
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	for (off = len; off; off -= PAGE_SIZE)
		mem[off - PAGE_SIZE] = off / PAGE_SIZE;

	test_ioctl_ioas_map(mem, len, &iova);
	check_map_all(iova, len, mem);
	test_cmd_md_check_refs(mem, len, 1);
	test_ioctl_ioas_unmap(iova, len);
	test_cmd_md_check_refs(mem, len, 0);
	ASSERT_EQ(0, munmap(mem, len));
}

/* Every start and end at mock page granularity over eight pages */
TEST_F_TIMEOUT(iommufd_mock_domain, all_aligns, 300)
{
	const size_t span = 8 * PAGE_SIZE;
	size_t start, end;
	__u64 iova;

	for (start = 0; start < span / 2; start += MOCK_PAGE_SIZE) {
		for (end = start + MOCK_PAGE_SIZE; end <= span;
		     end += MOCK_PAGE_SIZE) {
			size_t first = start / PAGE_SIZE * PAGE_SIZE;
			size_t last = (end + PAGE_SIZE - 1) / PAGE_SIZE *
				      PAGE_SIZE;

			test_ioctl_ioas_map(self->buf + start, end - start,
					    &iova);
			/* Same offset in the CPU page as the user memory */
			EXPECT_EQ(start % PAGE_SIZE, iova % PAGE_SIZE);
			check_map_all(iova, end - start, self->buf + start);
			/*
			 * On a huge page this says as well that its pages
			 * around [first, last) hold none: its count is per
			 * folio (see MD_CHECK_REFS in iommufd_test.h), and
			 * a range of them with 0 would fail.
			 */
			test_cmd_md_check_refs(self->buf + first,
					       last - first, 1);
			if (first && !variant->hugepages)
				test_cmd_md_check_refs(self->buf, first, 0);
			if (last < span && !variant->hugepages)
				test_cmd_md_check_refs(self->buf + last,
						       span - last, 0);
			test_ioctl_ioas_unmap(iova, end - start);
			test_cmd_md_check_refs(self->buf, span, 0);
		}
	}
}

/* The same, copied into a second IOAS with its own mock domain */
TEST_F_TIMEOUT(iommufd_mock_domain, all_aligns_copy, 300)
{
	const size_t span = 8 * PAGE_SIZE;
	__u32 ioas2, stdev2, hwpt2;
	size_t start, end;
	__u64 iova, iova2;

	test_ioctl_ioas_alloc(&ioas2);
	test_cmd_mock_domain(ioas2, &stdev2, &hwpt2, NULL);
	for (start = 0; start < span / 2; start += MOCK_PAGE_SIZE) {
		for (end = start + MOCK_PAGE_SIZE; end <= span;
		     end += 3 * MOCK_PAGE_SIZE) {
			size_t first = start / PAGE_SIZE * PAGE_SIZE;
			size_t last = (end + PAGE_SIZE - 1) / PAGE_SIZE *
				      PAGE_SIZE;

			test_ioctl_ioas_map(self->buf + start, end - start,
					    &iova);
			test_ioctl_ioas_copy(MAP_RW, ioas2, self->ioas_id,
					     end - start, iova, &iova2);
			test_cmd_md_check_map(hwpt2, iova2, end - start,
					      self->buf + start);
			/* Shared with the source: still a single pin */
			test_cmd_md_check_refs(self->buf + first,
					       last - first, 1);
			test_ioctl_ioas_unmap(iova, end - start);
			test_cmd_md_check_refs(self->buf + first,
					       last - first, 1);
			test_cmd_md_check_map(hwpt2, iova2, end - start,
					      self->buf + start);
			test_ioctl_ioas_unmap_id(ioas2, iova2, end - start);
			test_cmd_md_check_refs(self->buf, span, 0);
		}
	}
	test_ioctl_destroy(stdev2);
	test_ioctl_destroy(ioas2);
}

/* A domain added to an IOAS gets the areas it already has */
TEST_F(iommufd_mock_domain, domain_added_later)
{
	const __u64 iova = MOCK_APERTURE_START + HUGEPAGE_SIZE;
	__u32 hwpt, stdev, attached;

	test_ioctl_ioas_map_fixed(self->buf, self->buf_size, iova);
	test_cmd_hwpt_alloc(self->idev_id[0], self->ioas_id, 0, &hwpt);
	test_cmd_md_check_map(hwpt, iova, self->buf_size, self->buf);
	test_cmd_mock_domain(hwpt, &stdev, &attached, NULL);
	EXPECT_EQ(hwpt, attached);
	test_cmd_md_check_refs(self->buf, self->buf_size, 1);
	test_err_destroy(EBUSY, hwpt);
	test_ioctl_destroy(stdev);
	test_ioctl_destroy(hwpt);
	check_map_all(iova, self->buf_size, self->buf);
	test_ioctl_ioas_unmap(iova, self->buf_size);
}

/* Devices attached to the IOAS share its automatic HWPT */
TEST_F(iommufd_mock_domain, shared_auto_hwpt)
{
	__u32 stdev, hwpt, idev;

	test_cmd_mock_domain(self->ioas_id, &stdev, &hwpt, &idev);
	EXPECT_EQ(self->hwpt_id[0], hwpt);
	EXPECT_NE(self->idev_id[0], idev);
	EXPECT_NE(self->stdev_id[0], stdev);

	test_ioctl_ioas_map_fixed(self->buf, PAGE_SIZE, MOCK_APERTURE_START);
	check_map_all(MOCK_APERTURE_START, PAGE_SIZE, self->buf);
	test_cmd_md_check_refs(self->buf, PAGE_SIZE, 1);

	/* The HWPT stays while one of its devices is attached */
	test_ioctl_destroy(self->stdev_id[0]);
	test_err_destroy(EBUSY, hwpt);
	test_cmd_md_check_map(hwpt, MOCK_APERTURE_START, PAGE_SIZE, self->buf);
	test_ioctl_destroy(stdev);
	test_err_destroy(ENOENT, hwpt);
	if (self->ndomains == 1)
		test_cmd_md_check_refs(self->buf, PAGE_SIZE, 0);
	test_ioctl_ioas_unmap(MOCK_APERTURE_START, PAGE_SIZE);
}

/* Attaching straight to a HWPT */
TEST_F(iommufd_mock_domain, hwpt_attach)
{
	__u32 stdev, hwpt;
	unsigned int i;

	for (i = 0; i != self->ndomains; i++) {
		test_cmd_mock_domain(self->hwpt_id[i], &stdev, &hwpt, NULL);
		EXPECT_EQ(self->hwpt_id[i], hwpt);
		test_ioctl_destroy(stdev);
	}
	/* Not something to attach to */
	test_err_mock_domain(EINVAL, self->idev_id[0]);
	test_err_mock_domain(EINVAL, self->stdev_id[0]);
	test_err_mock_domain(ENOENT, 0x7fffffff);
	test_err_mock_domain(ENOENT, 0);
	/* The HWPTs are still in use by the fixture's devices */
	for (i = 0; i != self->ndomains; i++)
		test_err_destroy(EBUSY, self->hwpt_id[i]);
}

TEST_F(iommufd_mock_domain, replace)
{
	const __u64 iova = MOCK_APERTURE_START;
	__u32 ioas2, hwpt_new, hwpt_manual, hwpt_auto, hwpt;

	test_ioctl_ioas_map_fixed(self->buf, 4 * PAGE_SIZE, iova);
	test_ioctl_ioas_alloc(&ioas2);
	test_ioctl_ioas_map_fixed_id(ioas2, self->buf + 4 * PAGE_SIZE,
				     4 * PAGE_SIZE, iova);

	/* Onto another IOAS: a new automatic HWPT there */
	test_cmd_mock_domain_replace(self->stdev_id[0], ioas2, &hwpt_new);
	EXPECT_NE(self->hwpt_id[0], hwpt_new);
	EXPECT_NE(ioas2, hwpt_new);
	test_cmd_md_check_map(hwpt_new, iova, 4 * PAGE_SIZE,
			      self->buf + 4 * PAGE_SIZE);
	/* The old automatic HWPT lost its only device and is gone */
	test_err_mock_domain_replace(ENOENT, self->stdev_id[0],
				     self->hwpt_id[0]);
	test_err_destroy(ENOENT, self->hwpt_id[0]);
	/* Replacing onto the current HWPT changes nothing */
	test_cmd_mock_domain_replace(self->stdev_id[0], hwpt_new, &hwpt);
	EXPECT_EQ(hwpt_new, hwpt);

	/* Onto a manually allocated HWPT: busy while attached */
	test_cmd_hwpt_alloc(self->idev_id[0], self->ioas_id, 0, &hwpt_manual);
	test_cmd_mock_domain_replace(self->stdev_id[0], hwpt_manual, &hwpt);
	EXPECT_EQ(hwpt_manual, hwpt);
	test_err_destroy(EBUSY, hwpt_manual);
	test_err_destroy(ENOENT, hwpt_new);
	test_cmd_md_check_map(hwpt_manual, iova, 4 * PAGE_SIZE, self->buf);

	/* Back to the IOAS: manual HWPTs are never picked automatically */
	test_cmd_mock_domain_replace(self->stdev_id[0], self->ioas_id,
				     &hwpt_auto);
	EXPECT_NE(hwpt_manual, hwpt_auto);
	EXPECT_NE(self->ioas_id, hwpt_auto);
	if (self->ndomains == 2)
		EXPECT_NE(self->hwpt_id[1], hwpt_auto);
	test_cmd_md_check_map(hwpt_auto, iova, 4 * PAGE_SIZE, self->buf);
	test_ioctl_destroy(hwpt_manual);

	/* Errors */
	test_err_mock_domain_replace(ENOENT, 0x7fffffff, self->ioas_id);
	test_err_mock_domain_replace(ENOENT, self->ioas_id, self->ioas_id);
	test_err_mock_domain_replace(ENOENT, self->stdev_id[0], 0x7fffffff);
	test_err_mock_domain_replace(EINVAL, self->stdev_id[0],
				     self->idev_id[0]);
	/* Still where it was */
	test_err_destroy(EBUSY, hwpt_auto);

	/*
	 * ioas2 has no domain left: only the first four pages are pinned (on
	 * a huge page the first check says so: the folio's total is 4)
	 */
	test_cmd_md_check_refs(self->buf, 4 * PAGE_SIZE, 1);
	if (!variant->hugepages)
		test_cmd_md_check_refs(self->buf + 4 * PAGE_SIZE,
				       4 * PAGE_SIZE, 0);
	test_ioctl_destroy(self->stdev_id[0]);
	test_ioctl_ioas_unmap_id(ioas2, iova, 4 * PAGE_SIZE);
	test_ioctl_destroy(ioas2);
	test_ioctl_ioas_unmap(iova, 4 * PAGE_SIZE);
	test_cmd_md_check_refs(self->buf, 8 * PAGE_SIZE, 0);
}

/* A device whose domains also have 1 MiB IOPTEs */
TEST_F(iommufd_mock_domain, huge_iova)
{
	const __u64 iova = MOCK_APERTURE_START;
	const size_t len = self->buf_size / 2;
	__u32 ioas, stdev, hwpt;

	test_err_mock_domain_flags(EINVAL, self->ioas_id, 1U << 31);

	test_ioctl_ioas_alloc(&ioas);
	test_cmd_mock_domain_flags(ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA, &stdev,
				   &hwpt, NULL);
	test_ioctl_ioas_map_fixed_id(ioas, self->buf, self->buf_size, iova);
	test_cmd_md_check_map(hwpt, iova, self->buf_size, self->buf);
	test_cmd_md_check_refs(self->buf, self->buf_size, 1);
	/* The area is removed only whole */
	test_err_ioctl_ioas_unmap_id(ENOENT, ioas, iova + MOCK_HUGE_PAGE_SIZE,
				     MOCK_HUGE_PAGE_SIZE);
	test_ioctl_ioas_unmap_id(ioas, iova, self->buf_size);

	/* Areas starting and ending off the 1 MiB grid */
	test_ioctl_ioas_map_fixed_id(ioas, self->buf + MOCK_PAGE_SIZE,
				     len, iova + MOCK_PAGE_SIZE);
	test_ioctl_ioas_map_fixed_id(ioas, self->buf + MOCK_PAGE_SIZE + len,
				     len - 2 * MOCK_PAGE_SIZE,
				     iova + MOCK_PAGE_SIZE + len);
	test_cmd_md_check_map(hwpt, iova + MOCK_PAGE_SIZE,
			      self->buf_size - 2 * MOCK_PAGE_SIZE,
			      self->buf + MOCK_PAGE_SIZE);
	test_ioctl_ioas_unmap_id(ioas, iova + MOCK_PAGE_SIZE, len);
	test_cmd_md_check_map(hwpt, iova + MOCK_PAGE_SIZE + len,
			      len - 2 * MOCK_PAGE_SIZE,
			      self->buf + MOCK_PAGE_SIZE + len);
	test_ioctl_ioas_unmap_id(ioas, iova + MOCK_PAGE_SIZE + len,
				 len - 2 * MOCK_PAGE_SIZE);
	test_cmd_md_check_refs(self->buf, self->buf_size, 0);
	test_ioctl_destroy(stdev);
	test_ioctl_destroy(ioas);
}

/* One mock device attached to an IOAS: HWPTs, hardware info */
FIXTURE(iommufd_device) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 hwpt_id;
	__u32 idev_id;
};

FIXTURE_SETUP(iommufd_device)
{
	buffer_reset();
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	test_cmd_mock_domain(self->ioas_id, &self->stdev_id, &self->hwpt_id,
			     &self->idev_id);
}

FIXTURE_TEARDOWN(iommufd_device)
{
	close(self->fd);
	teardown_check_unpinned(buffer, BUFFER_SIZE);
}

TEST_F(iommufd_device, get_hw_info)
{
	struct iommu_test_hw_info info;
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = self->idev_id,
	};
	uint8_t big[32], small[8];
	__u32 len, type, idev_nodirty;
	unsigned int i;
	__u64 caps;

	memset(&info, 0xa5, sizeof(info));
	test_cmd_get_hw_info(self->idev_id, &info, sizeof(info), &len, &type,
			     &caps);
	EXPECT_EQ(sizeof(info), len);
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, type);
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL, info.test_reg);
	EXPECT_EQ(IOMMU_HW_CAP_DIRTY_TRACKING, caps);

	/* A bigger buffer: the rest is zeroed, the length is the kernel's */
	memset(big, 0xa5, sizeof(big));
	test_cmd_get_hw_info(self->idev_id, big, sizeof(big), &len, &type,
			     NULL);
	EXPECT_EQ(sizeof(info), len);
	EXPECT_EQ(0, memcmp(big, &info, sizeof(info)));
	for (i = sizeof(info); i != sizeof(big); i++)
		EXPECT_EQ(0, big[i]);

	/* A smaller one: what fits, nothing more */
	memset(small, 0xa5, sizeof(small));
	test_cmd_get_hw_info(self->idev_id, small, 4, &len, &type, NULL);
	EXPECT_EQ(sizeof(info), len);
	EXPECT_EQ(0, memcmp(small, &info, 4));
	for (i = 4; i != sizeof(small); i++)
		EXPECT_EQ(0xa5, small[i]);

	/* No buffer: type, capabilities and length only */
	test_cmd_get_hw_info(self->idev_id, NULL, 0, &len, &type, &caps);
	EXPECT_EQ(sizeof(info), len);
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, type);
	EXPECT_EQ(IOMMU_HW_CAP_DIRTY_TRACKING, caps);

	/* Errors */
	test_err_get_hw_info(ENOENT, 0x7fffffff, &info, sizeof(info));
	test_err_get_hw_info(ENOENT, self->ioas_id, &info, sizeof(info));
	test_err_get_hw_info(ENOENT, self->stdev_id, &info, sizeof(info));
	test_err_get_hw_info(EFAULT, self->idev_id, NULL, sizeof(info));
	cmd.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	EXPECT_EQ(EOPNOTSUPP, errno);
	cmd.flags = 0;
	cmd.__reserved = 1;
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	EXPECT_EQ(EOPNOTSUPP, errno);

	/* A device without dirty tracking */
	test_cmd_mock_domain_flags(self->ioas_id, MOCK_FLAGS_DEVICE_NO_DIRTY,
				   NULL, NULL, &idev_nodirty);
	test_cmd_get_hw_info(idev_nodirty, NULL, 0, &len, &type, &caps);
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, type);
	EXPECT_EQ(0, caps);
}

TEST_F(iommufd_device, hwpt_alloc)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.dev_id = self->idev_id,
		.pt_id = self->ioas_id,
		.__reserved = 1,
	};
	__u32 hwpt, hwpt_parent, hwpt_dirty, stdev, attached;

	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* Data type and length must agree */
	test_err_hwpt_alloc_nested(EINVAL, self->idev_id, self->ioas_id, 0,
				   &hwpt, IOMMU_HWPT_DATA_NONE, &data,
				   sizeof(data));
	test_err_hwpt_alloc_nested(EINVAL, self->idev_id, self->ioas_id, 0,
				   &hwpt, IOMMU_HWPT_DATA_SELFTEST, &data, 0);
	/* Objects */
	test_err_hwpt_alloc(ENOENT, 0x7fffffff, self->ioas_id, 0, &hwpt);
	test_err_hwpt_alloc(ENOENT, self->ioas_id, self->ioas_id, 0, &hwpt);
	test_err_hwpt_alloc(EINVAL, self->idev_id, 0x7fffffff, 0, &hwpt);
	test_err_hwpt_alloc(EINVAL, self->idev_id, self->idev_id, 0, &hwpt);
	test_err_hwpt_alloc(EINVAL, self->idev_id, self->stdev_id, 0, &hwpt);
	/* Paging: known flags only, and no driver data */
	test_err_hwpt_alloc(EOPNOTSUPP, self->idev_id, self->ioas_id, 1U << 31,
			    &hwpt);
	test_err_hwpt_alloc(EOPNOTSUPP, self->idev_id, self->ioas_id, 1 << 2,
			    &hwpt);
	test_err_hwpt_alloc_nested(EOPNOTSUPP, self->idev_id, self->ioas_id,
				   0, &hwpt, IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));

	test_cmd_hwpt_alloc(self->idev_id, self->ioas_id, 0, &hwpt);
	EXPECT_NE(self->hwpt_id, hwpt);
	test_cmd_hwpt_alloc(self->idev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &hwpt_parent);
	test_cmd_hwpt_alloc(self->idev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt_dirty);

	/* Built on the IOAS: every domain mirrors the areas */
	test_ioctl_ioas_map_fixed(buffer, 4 * PAGE_SIZE, MOCK_APERTURE_START);
	test_cmd_md_check_map(hwpt, MOCK_APERTURE_START, 4 * PAGE_SIZE,
			      buffer);
	test_cmd_md_check_map(hwpt_parent, MOCK_APERTURE_START,
			      4 * PAGE_SIZE, buffer);
	test_cmd_md_check_map(hwpt_dirty, MOCK_APERTURE_START,
			      4 * PAGE_SIZE, buffer);
	test_cmd_md_check_map(self->hwpt_id, MOCK_APERTURE_START,
			      4 * PAGE_SIZE, buffer);
	test_cmd_md_check_refs(buffer, 4 * PAGE_SIZE, 1);
	test_err_destroy(EBUSY, self->ioas_id);

	/* Not attached: the device is still on its automatic HWPT */
	test_err_destroy(EBUSY, self->hwpt_id);
	test_ioctl_destroy(hwpt);
	test_err_destroy(ENOENT, hwpt);

	/* A device without dirty tracking cannot use a dirty-tracking HWPT */
	test_err_mock_domain_flags(EINVAL, hwpt_dirty,
				   MOCK_FLAGS_DEVICE_NO_DIRTY);
	/*
	 * The automatic HWPT of the IOAS was made without dirty tracking:
	 * shared with such a device too
	 */
	test_cmd_mock_domain_flags(self->ioas_id, MOCK_FLAGS_DEVICE_NO_DIRTY,
				   &stdev, &attached, NULL);
	EXPECT_EQ(self->hwpt_id, attached);
	test_ioctl_destroy(stdev);
	test_cmd_mock_domain(hwpt_dirty, &stdev, &attached, NULL);
	EXPECT_EQ(hwpt_dirty, attached);
	test_ioctl_destroy(stdev);

	test_ioctl_destroy(hwpt_parent);
	test_ioctl_destroy(hwpt_dirty);
	test_ioctl_ioas_unmap(MOCK_APERTURE_START, 4 * PAGE_SIZE);
}

TEST_F(iommufd_device, dirty_tracking_refused)
{
	__u32 hwpt;

	/*
	 * Only a HWPT allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING: the
	 * domain of any other has no dirty ops, and the HWPT is refused with
	 * EOPNOTSUPP, an automatic one as well (allocated without the flag)
	 */
	test_cmd_hwpt_alloc(self->idev_id, self->ioas_id, 0, &hwpt);
	test_err_set_dirty_tracking(EOPNOTSUPP, hwpt, true);
	test_err_set_dirty_tracking(EOPNOTSUPP, self->hwpt_id, true);
	test_ioctl_destroy(hwpt);
}

/*
 * The dirty marks of the tests: bit n (mock page n of the range) is bit n
 * of the sequence of a maximal 8-bit LFSR (period 255), in which every run
 * of 8 bits occurs once: so a window of the bitmap read at the wrong IOVA,
 * or bits reported at the wrong place, cannot look right. (With every
 * other page marked, windows an even number of pages apart read the same.)
 */
static void dirty_marks(__u8 *marks, size_t npages)
{
	unsigned int lfsr = 1;
	size_t n;

	memset(marks, 0, (npages + 7) / 8);
	for (n = 0; n != npages; n++) {
		if (lfsr & 1)
			marks[n / 8] |= 1 << (n % 8);
		/* x^8 + x^6 + x^5 + x^4 + 1 */
		lfsr = (lfsr >> 1) ^ (-(lfsr & 1) & 0xb8);
	}
}

static bool all_zero(const __u8 *bytes, size_t n)
{
	while (n--) {
		if (bytes[n])
			return false;
	}
	return true;
}

static bool bitmap_bit(const __u8 *bitmap, size_t n)
{
	return bitmap[n / 8] & (1 << (n % 8));
}

/*
 * The bitmap a read of pages [first, first + n) of the range should return
 * with the range's marks @marks (@npages of them, nothing past them), at
 * @page_pages mock pages a bit: a bit is set if one of its pages is marked.
 */
static void dirty_window(const __u8 *marks, size_t npages, size_t first,
			 size_t n, size_t page_pages, __u8 *out)
{
	size_t i, j;

	memset(out, 0, (n + 7) / 8);
	for (i = 0; i != n; i++) {
		for (j = 0; j != page_pages; j++) {
			size_t page = (first + i) * page_pages + j;

			if (page < npages && bitmap_bit(marks, page))
				out[i / 8] |= 1 << (i % 8);
		}
	}
}

/*
 * Read the bits of mock pages [first, first + n) of the range at @iova,
 * marked with @marks, @page_pages mock pages a bit, into an unaligned
 * place of a zeroed buffer: exactly the expected bytes, nothing around.
 */
static void check_dirty_window(struct __test_metadata *_metadata, int fd,
			       __u32 hwpt, __u64 iova, const __u8 *marks,
			       size_t npages, size_t first, size_t n,
			       size_t page_pages, __u32 flags)
{
	const size_t nb = (n + 7) / 8;
	const __u64 ps = page_pages * MOCK_PAGE_SIZE;
	__u8 want[64], got[64 + 8];
	size_t i;

	ASSERT_GE(sizeof(want), nb);
	dirty_window(marks, npages, first, n, page_pages, want);
	memset(got, 0, sizeof(got));
	ASSERT_EQ(0, _test_cmd_get_dirty_bitmap(fd, hwpt, iova + first * ps,
						n * ps, ps, got + 3, flags));
	for (i = 0; i != sizeof(got); i++) {
		const bool in = i >= 3 && i < 3 + nb;

		ASSERT_EQ(in ? want[i - 3] : 0, got[i])
			TH_LOG("window %zu+%zu (%zu a bit), byte %zd", first,
			       n, page_pages, (ssize_t)i - 3);
	}
}

/*
 * Dirty tracking through the mock: a HWPT allocated for it mirrors the
 * IOAS; the test marks mock pages dirty in a sequence that never repeats
 * in the range, and reads back the whole range and windows at many
 * offsets, cleared by the read unless NO_CLEAR.
 */
TEST_F_TIMEOUT(iommufd_device, dirty_bitmap, 120)
{
	static const size_t lens[] = { 1, 7, 8, 9, 23, 64 };
	const size_t npages = 128, nbytes = npages / 8;
	__u64 iova = MOCK_APERTURE_START, nr_dirty;
	unsigned long length = npages * MOCK_PAGE_SIZE;
	size_t i, j, first, n, nr_marks = 0;
	__u8 *marks, *bitmap;
	__u32 hwpt;

	marks = calloc(1, nbytes);
	bitmap = calloc(1, nbytes + 16);
	ASSERT_NE(NULL, marks);
	ASSERT_NE(NULL, bitmap);
	dirty_marks(marks, npages);
	for (i = 0; i != npages; i++)
		nr_marks += bitmap_bit(marks, i);
	/* No run of 8 marks is the run of another offset */
	for (i = 0; i + 8 <= npages; i++) {
		for (j = i + 1; j + 8 <= npages; j++) {
			for (n = 0; n != 8; n++) {
				if (bitmap_bit(marks, i + n) !=
				    bitmap_bit(marks, j + n))
					break;
			}
			ASSERT_NE(8, n);
		}
	}

	test_ioctl_ioas_map_fixed(buffer, length, iova);
	test_cmd_hwpt_alloc(self->idev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt);

	/* Tracking off: marking refused, reading reports nothing */
	test_err_mock_dirty(EINVAL, hwpt, iova, length, MOCK_PAGE_SIZE, marks);
	test_cmd_get_dirty_bitmap(hwpt, iova, length, MOCK_PAGE_SIZE, bitmap,
				  0);
	ASSERT_TRUE(all_zero(bitmap, nbytes));

	test_cmd_set_dirty_tracking(hwpt, true);
	test_cmd_set_dirty_tracking(hwpt, true);
	test_cmd_mock_dirty(hwpt, iova, length, MOCK_PAGE_SIZE, marks,
			    &nr_dirty);
	ASSERT_EQ(nr_marks, nr_dirty);

	/* NO_CLEAR reads leave the bits for the next read */
	test_cmd_get_dirty_bitmap(hwpt, iova, length, MOCK_PAGE_SIZE, bitmap,
				  IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	ASSERT_EQ(0, memcmp(marks, bitmap, nbytes));
	memset(bitmap, 0, nbytes);
	test_cmd_get_dirty_bitmap(hwpt, iova, length, MOCK_PAGE_SIZE, bitmap,
				  0);
	ASSERT_EQ(0, memcmp(marks, bitmap, nbytes));
	/* The read cleared them */
	memset(bitmap, 0, nbytes);
	test_cmd_get_dirty_bitmap(hwpt, iova, length, MOCK_PAGE_SIZE, bitmap,
				  0);
	ASSERT_TRUE(all_zero(bitmap, nbytes));

	/*
	 * Windows at every offset of the first bytes and at every seventh
	 * after (each of the 8 bit positions is met), of lengths below, at
	 * and above a byte of bitmap, into an unaligned bitmap buffer:
	 * exactly their own bits
	 */
	test_cmd_mock_dirty(hwpt, iova, length, MOCK_PAGE_SIZE, marks,
			    &nr_dirty);
	for (first = 0; first < npages; first += first < 17 ? 1 : 7) {
		for (i = 0; i != ARRAY_SIZE(lens); i++) {
			n = lens[i];
			if (first + n > npages)
				continue;
			check_dirty_window(_metadata, self->fd, hwpt, iova,
					   marks, npages, first, n, 1,
					   IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
		}
	}
	/* A bit for a CPU page: either of its two mock pages marked */
	for (first = 0; first < npages / 2; first += 3) {
		n = first + 20 <= npages / 2 ? 20 : npages / 2 - first;
		check_dirty_window(_metadata, self->fd, hwpt, iova, marks,
				   npages, first, n, 2,
				   IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	}

	/* Reads that clear, at offsets: their own bits go, no others */
	check_dirty_window(_metadata, self->fd, hwpt, iova, marks, npages, 37,
			   29, 1, 0);
	check_dirty_window(_metadata, self->fd, hwpt, iova, marks, npages, 3,
			   11, 1, 0);
	memset(bitmap, 0, nbytes);
	test_cmd_get_dirty_bitmap(hwpt, iova, length, MOCK_PAGE_SIZE, bitmap,
				  IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	for (i = 0; i != npages; i++) {
		bool cleared = (i >= 37 && i < 37 + 29) || (i >= 3 && i < 14);

		ASSERT_EQ(cleared ? false : bitmap_bit(marks, i),
			  bitmap_bit(bitmap, i))
			TH_LOG("mock page %zu", i);
	}
	/* Marked again: all of them are back, and a read clears them all */
	test_cmd_mock_dirty(hwpt, iova, length, MOCK_PAGE_SIZE, marks,
			    &nr_dirty);
	ASSERT_EQ(nr_marks, nr_dirty);
	check_dirty_window(_metadata, self->fd, hwpt, iova, marks, npages, 0,
			   npages, 1, 0);
	memset(bitmap, 0, nbytes);
	test_cmd_get_dirty_bitmap(hwpt, iova, length, MOCK_PAGE_SIZE, bitmap,
				  0);
	ASSERT_TRUE(all_zero(bitmap, nbytes));

	/* Errors of the request */
	test_err_get_dirty_bitmap(EINVAL, hwpt, iova, 0, MOCK_PAGE_SIZE,
				  bitmap, 0);
	test_err_get_dirty_bitmap(EINVAL, hwpt, iova, length, 0, bitmap, 0);
	test_err_get_dirty_bitmap(EINVAL, hwpt, iova + 1, length,
				  MOCK_PAGE_SIZE, bitmap, 0);
	test_err_get_dirty_bitmap(EOPNOTSUPP, hwpt, iova, length,
				  MOCK_PAGE_SIZE, bitmap, 1 << 5);
	test_err_get_dirty_bitmap(ENOENT, self->ioas_id, iova, length,
				  MOCK_PAGE_SIZE, bitmap, 0);
	test_err_get_dirty_bitmap(EOPNOTSUPP, self->hwpt_id, iova, length,
				  MOCK_PAGE_SIZE, bitmap, 0);

	test_cmd_set_dirty_tracking(hwpt, false);
	test_err_mock_dirty(EINVAL, hwpt, iova, length, MOCK_PAGE_SIZE, marks);
	test_ioctl_destroy(hwpt);
	test_ioctl_ioas_unmap(iova, length);
	free(marks);
	free(bitmap);
}

TEST_F(iommufd_device, hwpt_alloc_nested)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	uint8_t longer[sizeof(data) + 4] = {};
	__u32 parent, plain, nested, nested2, stdev, stdev2, hwpt;

	test_cmd_hwpt_alloc(self->idev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &parent);
	test_cmd_hwpt_alloc(self->idev_id, self->ioas_id, 0, &plain);

	/* Errors */
	test_err_hwpt_alloc_nested(EINVAL, self->idev_id, plain, 0, &nested,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));
	test_err_hwpt_alloc_nested(EINVAL, self->idev_id, self->hwpt_id, 0,
				   &nested, IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));
	test_err_hwpt_alloc_nested(EOPNOTSUPP, self->idev_id, parent,
				   IOMMU_HWPT_ALLOC_NEST_PARENT, &nested,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));
	test_err_hwpt_alloc_nested(EOPNOTSUPP, self->idev_id, parent, 0,
				   &nested, IOMMU_HWPT_DATA_NONE, NULL, 0);
	test_err_hwpt_alloc_nested(EOPNOTSUPP, self->idev_id, parent, 0,
				   &nested, IOMMU_HWPT_DATA_VTD_S1, &data,
				   sizeof(data));
	test_err_hwpt_alloc_nested(EINVAL, self->idev_id, parent, 0, &nested,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data) - 1);
	memcpy(longer, &data, sizeof(data));
	test_err_hwpt_alloc_nested(EINVAL, self->idev_id, parent, 0, &nested,
				   IOMMU_HWPT_DATA_SELFTEST, longer,
				   sizeof(longer));
	test_err_hwpt_alloc_nested(EFAULT, self->idev_id, parent, 0, &nested,
				   IOMMU_HWPT_DATA_SELFTEST, NULL,
				   sizeof(data));
	test_err_hwpt_alloc_nested(ENOENT, 0x7fffffff, parent, 0, &nested,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));

	test_cmd_hwpt_alloc_nested(self->idev_id, parent, 0, &nested,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));
	data.iotlb = 0x1234;
	test_cmd_hwpt_alloc_nested(self->idev_id, parent, 0, &nested2,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));
	test_cmd_md_check_iotlb_all(nested, IOMMU_TEST_IOTLB_DEFAULT);
	test_cmd_md_check_iotlb_all(nested2, 0x1234);
	test_err_md_check_iotlb(EINVAL, nested, 0, 0x1234);
	test_err_md_check_iotlb(EINVAL, nested,
				MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1,
				IOMMU_TEST_IOTLB_DEFAULT);
	/*
	 * Only nested mock HWPTs have an IOTLB: the lookup is of a nested
	 * HWPT, and a paging one is not found
	 */
	test_err_md_check_iotlb(ENOENT, parent, 0, 0);
	/* A nested HWPT is no parent, and not a MD_CHECK_MAP target */
	test_err_hwpt_alloc_nested(EINVAL, self->idev_id, nested, 0, &hwpt,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));
	test_err_md_check_map(ENOENT, nested, MOCK_APERTURE_START, PAGE_SIZE,
			      buffer);

	/* The parent is held by its children */
	test_err_destroy(EBUSY, parent);

	/* Devices attach to and replace onto nested HWPTs */
	test_cmd_mock_domain(nested, &stdev, &hwpt, NULL);
	EXPECT_EQ(nested, hwpt);
	test_err_destroy(EBUSY, nested);
	test_cmd_mock_domain_replace(stdev, nested2, &hwpt);
	EXPECT_EQ(nested2, hwpt);
	test_ioctl_destroy(nested);
	test_err_destroy(EBUSY, nested2);
	test_cmd_mock_domain_replace(self->stdev_id, nested2, &hwpt);
	test_cmd_mock_domain_flags(nested2, MOCK_FLAGS_DEVICE_NO_DIRTY,
				   &stdev2, &hwpt, NULL);
	EXPECT_EQ(nested2, hwpt);
	test_cmd_mock_domain_replace(stdev, parent, &hwpt);
	EXPECT_EQ(parent, hwpt);
	test_cmd_mock_domain_replace(self->stdev_id, self->ioas_id, &hwpt);
	test_ioctl_destroy(stdev2);
	test_ioctl_destroy(nested2);
	test_err_destroy(EBUSY, parent);
	test_ioctl_destroy(stdev);
	test_ioctl_destroy(parent);
	test_ioctl_destroy(plain);
}

TEST_F(iommufd_device, hwpt_invalidate)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_invalidate_selftest inv[2];
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		.__reserved = 1,
	};
	__u32 parent, nested, num;
	unsigned int i;

	test_cmd_hwpt_alloc(self->idev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &parent);
	test_cmd_hwpt_alloc_nested(self->idev_id, parent, 0, &nested,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));
	memset(inv, 0, sizeof(inv));

	/* Header errors; entry_num comes back 0 */
	cmd.hwpt_id = nested;
	cmd.entry_num = 1;
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(0, cmd.entry_num);
	num = 1;
	test_err_hwpt_invalidate(EINVAL, nested, NULL,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(0, num);
	num = 1;
	test_err_hwpt_invalidate(EINVAL, nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 0, &num);
	EXPECT_EQ(0, num);
	num = 1;
	test_err_hwpt_invalidate(ENOENT, parent, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(0, num);
	num = 1;
	test_err_hwpt_invalidate(ENOENT, self->ioas_id, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(0, num);

	/* No entries: only the type is checked */
	num = 0;
	test_cmd_hwpt_invalidate(nested, NULL,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 0, &num);
	EXPECT_EQ(0, num);
	num = 0;
	test_err_hwpt_invalidate(EINVAL, nested, NULL,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
				 0, &num);
	EXPECT_EQ(0, num);

	/* Entry errors */
	num = 1;
	test_err_hwpt_invalidate(EINVAL, nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(0, num);
	num = 1;
	test_err_hwpt_invalidate(EINVAL, nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				 sizeof(inv[0]) - 1, &num);
	EXPECT_EQ(0, num);
	num = 1;
	test_err_hwpt_invalidate(EINVAL, nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				 sizeof(inv[0]) + 1, &num);
	EXPECT_EQ(0, num);
	inv[0].flags = 1 << 1;
	num = 1;
	test_err_hwpt_invalidate(EOPNOTSUPP, nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(0, num);
	inv[0].flags = 0;
	inv[0].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
	num = 1;
	test_err_hwpt_invalidate(EINVAL, nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(0, num);
	test_cmd_md_check_iotlb_all(nested, IOMMU_TEST_IOTLB_DEFAULT);

	/* One entry at a time */
	for (i = 0; i <= MOCK_NESTED_DOMAIN_IOTLB_ID_MAX; i++) {
		unsigned int j;

		inv[0].flags = 0;
		inv[0].iotlb_id = i;
		num = 1;
		test_cmd_hwpt_invalidate(nested, inv,
					 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
					 sizeof(inv[0]), &num);
		EXPECT_EQ(1, num);
		for (j = 0; j <= MOCK_NESTED_DOMAIN_IOTLB_ID_MAX; j++) {
			test_cmd_md_check_iotlb(nested, j,
						j <= i ? 0 :
						IOMMU_TEST_IOTLB_DEFAULT);
		}
	}

	/* The processing stops at the first bad entry */
	test_ioctl_destroy(nested);
	test_cmd_hwpt_alloc_nested(self->idev_id, parent, 0, &nested,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));
	inv[0].flags = 0;
	inv[0].iotlb_id = 2;
	inv[1].flags = 0;
	inv[1].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
	num = 2;
	test_err_hwpt_invalidate(EINVAL, nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(1, num);
	test_cmd_md_check_iotlb(nested, 2, 0);
	test_cmd_md_check_iotlb(nested, 0, IOMMU_TEST_IOTLB_DEFAULT);
	test_cmd_md_check_iotlb(nested, 3, IOMMU_TEST_IOTLB_DEFAULT);

	/* Two good entries */
	inv[0].iotlb_id = 0;
	inv[1].iotlb_id = 1;
	num = 2;
	test_cmd_hwpt_invalidate(nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(2, num);
	test_cmd_md_check_iotlb(nested, 0, 0);
	test_cmd_md_check_iotlb(nested, 1, 0);
	test_cmd_md_check_iotlb(nested, 3, IOMMU_TEST_IOTLB_DEFAULT);

	/* Everything; the id does not matter then */
	inv[0].flags = IOMMU_TEST_INVALIDATE_FLAG_ALL;
	inv[0].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
	num = 1;
	test_cmd_hwpt_invalidate(nested, inv,
				 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				 sizeof(inv[0]), &num);
	EXPECT_EQ(1, num);
	test_cmd_md_check_iotlb_all(nested, 0);

	test_ioctl_destroy(nested);
	test_ioctl_destroy(parent);
}

/*
 * Pinned-page accounting against RLIMIT_MEMLOCK, in a child without
 * CAP_IPC_LOCK (processes with it are not charged). @mode: 0 per-user
 * (the default of /dev/iommu), 1 per-process (IOMMU_OPTION RLIMIT_MODE).
 * The child reports the first failed check and exits non-zero.
 */
#define CHILD_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "# %s:%d: child: %s failed (errno %d)\n", \
				__FILE__, __LINE__, #cond, errno);	\
			_exit(1);					\
		}							\
	} while (0)

static void rlimit_child(unsigned int mode)
{
	const unsigned long limit = 16 * PAGE_SIZE;
	const long kb = PAGE_SIZE / 1024;
	const __u64 iova = MOCK_APERTURE_START;
	struct rlimit rl = { .rlim_cur = limit, .rlim_max = limit };
	__u32 ioas_id, stdev_id, hwpt_id, idev_id, hwpt2_id;
	__u64 val = mode, len, got;
	uint8_t *buf;
	int fd;

	buf = iommufd_alloc_buffer(64 * PAGE_SIZE, PAGE_SIZE);
	CHILD_CHECK(buf);
	fd = open("/dev/iommu", O_RDWR);
	CHILD_CHECK(fd >= 0);
	if (mode)
		CHILD_CHECK(!_test_ioctl_option(fd, IOMMU_OPTION_RLIMIT_MODE,
						IOMMU_OPTION_OP_SET, 0, &val));
	val = 0x5a;
	CHILD_CHECK(!_test_ioctl_option(fd, IOMMU_OPTION_RLIMIT_MODE,
					IOMMU_OPTION_OP_GET, 0, &val));
	CHILD_CHECK(val == mode);

	CHILD_CHECK(!drop_cap(CAP_IPC_LOCK));
	CHILD_CHECK(!setrlimit(RLIMIT_MEMLOCK, &rl));
	CHILD_CHECK(proc_status_kb("VmPin") == 0);
	CHILD_CHECK(proc_status_kb("VmLck") == 0);

	CHILD_CHECK(!_test_ioctl_ioas_alloc(fd, 0, &ioas_id));
	CHILD_CHECK(!_test_cmd_mock_domain(fd, ioas_id, &stdev_id, &hwpt_id,
					   &idev_id));

	/* 8 of 16 pages */
	got = iova;
	CHILD_CHECK(!_test_ioctl_ioas_map(fd, ioas_id, buf, 8 * PAGE_SIZE,
					  &got,
					  MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));
	CHILD_CHECK(proc_status_kb("VmPin") == 8 * kb);
	CHILD_CHECK(proc_status_kb("VmLck") == (mode ? 8 * kb : 0));
	/* 16 more would be 24 */
	got = iova + 16 * PAGE_SIZE;
	CHILD_CHECK(_test_ioctl_ioas_map(fd, ioas_id, buf + 8 * PAGE_SIZE,
					 16 * PAGE_SIZE, &got,
					 MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA) &&
		    errno == ENOMEM);
	/* Nothing of the failed MAP stays charged or pinned */
	CHILD_CHECK(proc_status_kb("VmPin") == 8 * kb);
	CHILD_CHECK(proc_status_kb("VmLck") == (mode ? 8 * kb : 0));
	CHILD_CHECK(!_test_cmd_md_check_refs(fd, buf + 8 * PAGE_SIZE,
					     16 * PAGE_SIZE, 0));
	/* 4 more is 12: fine */
	CHILD_CHECK(!_test_ioctl_ioas_map(fd, ioas_id, buf + 8 * PAGE_SIZE,
					  4 * PAGE_SIZE, &got,
					  MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));
	CHILD_CHECK(proc_status_kb("VmPin") == 12 * kb);
	/* 8 more is 20 again, also with an automatic IOVA */
	CHILD_CHECK(_test_ioctl_ioas_map(fd, ioas_id, buf + 16 * PAGE_SIZE,
					 8 * PAGE_SIZE, &got, MAP_RW) &&
		    errno == ENOMEM);
	/* Unmapping gives it back */
	CHILD_CHECK(!_test_ioctl_ioas_unmap(fd, ioas_id, 0, UINT64_MAX, &len));
	CHILD_CHECK(len == 12 * PAGE_SIZE);
	CHILD_CHECK(proc_status_kb("VmPin") == 0);
	CHILD_CHECK(proc_status_kb("VmLck") == 0);
	CHILD_CHECK(!_test_ioctl_ioas_map(fd, ioas_id, buf, 12 * PAGE_SIZE,
					  &got, MAP_RW));
	CHILD_CHECK(proc_status_kb("VmPin") == 12 * kb);
	CHILD_CHECK(proc_status_kb("VmLck") == (mode ? 12 * kb : 0));
	/* A second domain shares the pins: nothing more is charged */
	CHILD_CHECK(!_test_cmd_hwpt_alloc(fd, idev_id, ioas_id, 0, &hwpt2_id,
					  IOMMU_HWPT_DATA_NONE, NULL, 0));
	CHILD_CHECK(!_test_cmd_md_check_map(fd, hwpt2_id, got,
					    12 * PAGE_SIZE, buf));
	CHILD_CHECK(proc_status_kb("VmPin") == 12 * kb);
	CHILD_CHECK(proc_status_kb("VmLck") == (mode ? 12 * kb : 0));
	CHILD_CHECK(!_test_cmd_md_check_refs(fd, buf, 12 * PAGE_SIZE, 1));
	/* Closing the context gives everything back */
	CHILD_CHECK(!close(fd));
	CHILD_CHECK(proc_status_kb("VmPin") == 0);
	CHILD_CHECK(proc_status_kb("VmLck") == 0);

	/* Choosing the accounting mode needs CAP_SYS_RESOURCE */
	CHILD_CHECK(!drop_cap(CAP_SYS_RESOURCE));
	fd = open("/dev/iommu", O_RDWR);
	CHILD_CHECK(fd >= 0);
	val = !mode;
	CHILD_CHECK(_test_ioctl_option(fd, IOMMU_OPTION_RLIMIT_MODE,
				       IOMMU_OPTION_OP_SET, 0, &val) &&
		    errno == EPERM);
	close(fd);
	_exit(0);
}

static void run_rlimit_child(struct __test_metadata *_metadata,
			     unsigned int mode)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		rlimit_child(mode);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

TEST(rlimit_per_user)
{
	run_rlimit_child(_metadata, 0);
}

TEST(rlimit_per_process)
{
	run_rlimit_child(_metadata, 1);
}

TEST_HARNESS_MAIN
