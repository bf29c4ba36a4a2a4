/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the iommufd selftests. Each operation comes in three forms:
 *   _test_x()      the raw ioctl: returns 0 or -1 with errno set
 *   test_cmd_x()   asserts success
 *   test_err_x()   asserts failure with the given errno
 */
#ifndef __SELFTEST_IOMMUFD_UTILS_H
#define __SELFTEST_IOMMUFD_UTILS_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/iommufd.h>

#include "../kselftest_harness.h"

static int _test_ioctl_destroy(int fd, unsigned int id)
{
	struct iommu_destroy cmd = {
		.size = sizeof(cmd),
		.id = id,
	};

	return ioctl(fd, IOMMU_DESTROY, &cmd);
}

#define test_ioctl_destroy(id) ASSERT_EQ(0, _test_ioctl_destroy(self->fd, id))
#define test_err_destroy(_errno, id)					\
	({								\
		EXPECT_EQ(-1, _test_ioctl_destroy(self->fd, id));	\
		EXPECT_EQ(_errno, errno);				\
	})

static int _test_ioctl_ioas_alloc(int fd, __u32 flags, __u32 *id)
{
	struct iommu_ioas_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
	};
	int ret;

	ret = ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);
	if (ret)
		return ret;
	*id = cmd.out_ioas_id;
	return 0;
}

#define test_ioctl_ioas_alloc(id)					\
	({								\
		__u32 *__id = (id);					\
									\
		ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, __id));	\
		ASSERT_NE(0, *__id);					\
	})
#define test_err_ioas_alloc(_errno, flags)				\
	({								\
		__u32 __id;						\
		EXPECT_EQ(-1, _test_ioctl_ioas_alloc(self->fd, flags, &__id)); \
		EXPECT_EQ(_errno, errno);				\
	})

static int _test_ioctl_option(int fd, __u32 option_id, __u16 op,
			      __u32 object_id, __u64 *val64)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option_id,
		.op = op,
		.object_id = object_id,
		.val64 = *val64,
	};
	int ret;

	ret = ioctl(fd, IOMMU_OPTION, &cmd);
	if (ret)
		return ret;
	*val64 = cmd.val64;
	return 0;
}

#define test_cmd_option(option_id, op, object_id, val64)		\
	ASSERT_EQ(0, _test_ioctl_option(self->fd, option_id, op,	\
					object_id, val64))
#define test_err_option(_errno, option_id, op, object_id, val)		\
	({								\
		__u64 __val = val;					\
		EXPECT_EQ(-1, _test_ioctl_option(self->fd, option_id,	\
						 op, object_id, &__val)); \
		EXPECT_EQ(_errno, errno);				\
	})

#endif
