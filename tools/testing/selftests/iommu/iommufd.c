// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd: /dev/iommu contexts, the object table and the ioctl rules
 * (size handling of every command, unknown requests, IOMMU_DESTROY,
 * IOMMU_IOAS_ALLOC, IOMMU_OPTION).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "iommufd_utils.h"

FIXTURE(iommufd) {
	int fd;
};

FIXTURE_SETUP(iommufd)
{
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
}

FIXTURE_TEARDOWN(iommufd)
{
	close(self->fd);
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
		int ret_exact, errno_exact, ret_long, errno_long;	\
									\
		cmd.cmd.size = (min_size) - 1;				\
		EXPECT_EQ(-1, ioctl(self->fd, req, &cmd));		\
		EXPECT_EQ(EINVAL, errno);				\
									\
		cmd.cmd = init;						\
		cmd.cmd.size = sizeof(init) + 1;			\
		cmd.extra = 0xaa;					\
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
	})

TEST_F(iommufd, cmd_length)
{
	TEST_LENGTH(iommu_destroy, IOMMU_DESTROY, 8, .id = 0x7fffffff);
	TEST_LENGTH(iommu_ioas_alloc, IOMMU_IOAS_ALLOC, 12);
	TEST_LENGTH(iommu_option, IOMMU_OPTION, 24,
		    .option_id = IOMMU_OPTION_RLIMIT_MODE,
		    .op = IOMMU_OPTION_OP_GET);
}

/* Requests iommufd does not implement, and bad encodings of those it does */
TEST_F(iommufd, cmd_unknown)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd) };
	unsigned int nr;

	for (nr = 0x88; nr <= 0xff; nr++) {
		EXPECT_EQ(-1, ioctl(self->fd, _IO(IOMMUFD_TYPE, nr), &cmd));
		EXPECT_EQ(ENOTTY, errno);
	}
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

TEST_HARNESS_MAIN
