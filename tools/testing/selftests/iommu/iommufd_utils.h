/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the iommufd selftests. Each operation comes in three forms:
 *   _test_x()      the raw ioctl: returns 0 or -1 with errno set
 *   test_cmd_x()   asserts success (test_ioctl_x() for the plain iommufd
 *                  ioctls, as the first helpers were named)
 *   test_err_x()   asserts failure with the given errno
 * The asserting forms work on self->fd (and self->ioas_id where the name
 * has no _id suffix); the raw forms take everything as arguments, so they
 * can be used on other contexts and inside fixture teardowns, where an
 * ASSERT must not be used.
 */
#ifndef __SELFTEST_IOMMUFD_UTILS_H
#define __SELFTEST_IOMMUFD_UTILS_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/iommufd.h>

#include "../kselftest_harness.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

/* Set by each program's constructor (iommufd_setup_globals()) */
static unsigned long PAGE_SIZE;
static unsigned long HUGEPAGE_SIZE;
/* The smallest IOPTE of the mock IOMMU driver */
#define MOCK_PAGE_SIZE (PAGE_SIZE / 2)
#define MOCK_HUGE_PAGE_SIZE (512 * MOCK_PAGE_SIZE)
/* What SET_TEMP_MEMORY_LIMIT is put back to */
#define DEFAULT_TEMP_MEMORY_LIMIT 65536

static inline void iommufd_setup_globals(void)
{
	unsigned long val = 0;
	FILE *f;

	PAGE_SIZE = sysconf(_SC_PAGE_SIZE);
	HUGEPAGE_SIZE = 2UL * 1024 * 1024;
	f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
	if (f) {
		if (fscanf(f, "%lu", &val) == 1 && val)
			HUGEPAGE_SIZE = val;
		fclose(f);
	}
}

/*
 * The content of the memory the tests map: every 8-byte word holds a value
 * made from its own address (a counter of the process' words, so page
 * index and offset are in it), mixed by a bijection: no two words of the
 * process are equal, and a window of a few bytes read at another offset,
 * in another page or in another buffer does not compare equal to the one
 * expected. A read or copy of the wrong page or at the wrong offset cannot
 * pass a memcmp() against the memory at the right place.
 */
static inline uint64_t iommufd_pattern_word(uint64_t n)
{
	/* splitmix64's finalizer: xorshifts and odd multiplications */
	n += 0x9e3779b97f4a7c15ULL;
	n = (n ^ (n >> 30)) * 0xbf58476d1ce4e5b9ULL;
	n = (n ^ (n >> 27)) * 0x94d049bb133111ebULL;
	return n ^ (n >> 31);
}

/* The byte the pattern puts at @p */
static inline uint8_t iommufd_pattern_byte(const void *p)
{
	uintptr_t addr = (uintptr_t)p;

	return iommufd_pattern_word(addr / 8) >> (8 * (addr % 8));
}

/* (Re)write the pattern over [p, p + size) */
static inline void iommufd_fill_buffer(void *p, size_t size)
{
	uint8_t *b = p, *end = b + size;

	for (; b != end && (uintptr_t)b % 8; b++)
		*b = iommufd_pattern_byte(b);
	for (; end - b >= 8; b += 8) {
		uint64_t word = iommufd_pattern_word((uintptr_t)b / 8);

		memcpy(b, &word, sizeof(word));
	}
	for (; b != end; b++)
		*b = iommufd_pattern_byte(b);
}

/* The offset of the first byte of [p, p + size) off the pattern, or -1 */
static inline ssize_t iommufd_check_buffer(const void *p, size_t size)
{
	const uint8_t *b = p;
	uint64_t word = 0;
	size_t i;

	for (i = 0; i != size; i++) {
		uintptr_t addr = (uintptr_t)(b + i);

		if (!i || !(addr % 8))
			word = iommufd_pattern_word(addr / 8);
		if (b[i] != (uint8_t)(word >> (8 * (addr % 8))))
			return i;
	}
	return -1;
}

/*
 * Anonymous shared memory of @size bytes aligned to @align: shared so that
 * the harness' fork of every test does not make its pages copy-on-write,
 * and not transparent huge pages (shmem does not use them by default, and
 * MADV_NOHUGEPAGE keeps them off where shmem_enabled is "advise" or
 * "within_size"): MD_CHECK_REFS counts the pins of every page on its own.
 * Touched so every page exists, and filled with the pattern above.
 */
static inline void *iommufd_alloc_buffer(size_t size, size_t align)
{
	uint8_t *area, *p;

	area = mmap(NULL, size + align, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		return NULL;
	p = (uint8_t *)(((uintptr_t)area + align - 1) & ~(uintptr_t)(align - 1));
	if (mmap(p, size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		return NULL;
	if (p != area)
		munmap(area, p - area);
	munmap(p + size, area + size + align - (p + size));
	madvise(p, size, MADV_NOHUGEPAGE);
	iommufd_fill_buffer(p, size);
	return p;
}

/* A field of /proc/self/status in kB ("VmPin", "VmLck"), -1 if missing */
static inline long proc_status_kb(const char *key)
{
	size_t klen = strlen(key);
	char line[256];
	long val = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			val = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/*
 * Drop @cap from every set of the calling thread (threads created later
 * inherit that); raw syscalls, no libcap. 0 or -1.
 */
static inline int drop_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned int idx = CAP_TO_INDEX(cap);
	__u32 mask = CAP_TO_MASK(cap);

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[idx].effective &= ~mask;
	data[idx].permitted &= ~mask;
	data[idx].inheritable &= ~mask;
	if (syscall(SYS_capset, &hdr, data))
		return -1;
	if (syscall(SYS_capget, &hdr, data))
		return -1;
	return (data[idx].effective & mask) ? -1 : 0;
}

/* lowest set bit */
static inline uint64_t lowbit(uint64_t v)
{
	return v & -v;
}

/* --- IOMMU_DESTROY --- */

static inline int _test_ioctl_destroy(int fd, unsigned int id)
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

/* --- IOMMU_IOAS_ALLOC --- */

static inline int _test_ioctl_ioas_alloc(int fd, __u32 flags, __u32 *id)
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

/* --- IOMMU_IOAS_MAP --- */

#define MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static inline int _test_ioctl_ioas_map(int fd, __u32 ioas_id, void *uptr,
				       size_t length, __u64 *iova, __u32 flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)uptr,
		.length = length,
	};
	int ret;

	if (flags & IOMMU_IOAS_MAP_FIXED_IOVA)
		cmd.iova = *iova;
	ret = ioctl(fd, IOMMU_IOAS_MAP, &cmd);
	if (ret)
		return ret;
	*iova = cmd.iova;
	return 0;
}

/* Automatic IOVA, read/write */
#define test_ioctl_ioas_map_id(ioas_id, uptr, length, iova_p)		\
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, ioas_id, uptr, length, \
					  iova_p, MAP_RW))
#define test_ioctl_ioas_map(uptr, length, iova_p)			\
	test_ioctl_ioas_map_id(self->ioas_id, uptr, length, iova_p)
#define test_err_ioctl_ioas_map_id(_errno, ioas_id, uptr, length, iova_p) \
	({								\
		EXPECT_EQ(-1, _test_ioctl_ioas_map(self->fd, ioas_id, uptr, \
						   length, iova_p, MAP_RW)); \
		EXPECT_EQ(_errno, errno);				\
	})
#define test_err_ioctl_ioas_map(_errno, uptr, length, iova_p)		\
	test_err_ioctl_ioas_map_id(_errno, self->ioas_id, uptr, length, iova_p)

/* Fixed IOVA, read/write */
#define test_ioctl_ioas_map_fixed_id(ioas_id, uptr, length, iova)	\
	({								\
		const __u64 __want = (iova);				\
		__u64 __iova = __want;					\
		ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, ioas_id, uptr, \
				length, &__iova,			\
				MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));	\
		ASSERT_EQ(__want, __iova);				\
	})
#define test_ioctl_ioas_map_fixed(uptr, length, iova)			\
	test_ioctl_ioas_map_fixed_id(self->ioas_id, uptr, length, iova)
#define test_err_ioctl_ioas_map_fixed_id(_errno, ioas_id, uptr, length, iova) \
	({								\
		__u64 __iova = iova;					\
		EXPECT_EQ(-1, _test_ioctl_ioas_map(self->fd, ioas_id, uptr, \
				length, &__iova,			\
				MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));	\
		EXPECT_EQ(_errno, errno);				\
	})
#define test_err_ioctl_ioas_map_fixed(_errno, uptr, length, iova)	\
	test_err_ioctl_ioas_map_fixed_id(_errno, self->ioas_id, uptr,	\
					 length, iova)

/* --- IOMMU_IOAS_UNMAP --- */

static inline int _test_ioctl_ioas_unmap(int fd, __u32 ioas_id, __u64 iova,
					 __u64 length, __u64 *out_len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.iova = iova,
		.length = length,
	};
	int ret;

	ret = ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
	if (out_len)
		*out_len = cmd.length;
	return ret;
}

/* Unmaps exactly one area (or areas covering exactly the range) */
#define test_ioctl_ioas_unmap_id(ioas_id, iova, length)			\
	({								\
		const __u64 __want = (length);				\
		__u64 __len;						\
		ASSERT_EQ(0, _test_ioctl_ioas_unmap(self->fd, ioas_id, iova, \
						    __want, &__len));	\
		ASSERT_EQ(__want, __len);				\
	})
#define test_ioctl_ioas_unmap(iova, length)				\
	test_ioctl_ioas_unmap_id(self->ioas_id, iova, length)
#define test_err_ioctl_ioas_unmap_id(_errno, ioas_id, iova, length)	\
	({								\
		EXPECT_EQ(-1, _test_ioctl_ioas_unmap(self->fd, ioas_id, iova, \
						     length, NULL));	\
		EXPECT_EQ(_errno, errno);				\
	})
#define test_err_ioctl_ioas_unmap(_errno, iova, length)			\
	test_err_ioctl_ioas_unmap_id(_errno, self->ioas_id, iova, length)
/* Unmap everything; the number of bytes removed is stored in *out_len */
#define test_cmd_ioas_unmap_all_id(ioas_id, out_len)			\
	ASSERT_EQ(0, _test_ioctl_ioas_unmap(self->fd, ioas_id, 0, UINT64_MAX, \
					    out_len))

/* --- IOMMU_IOAS_COPY --- */

static inline int _test_ioctl_ioas_copy(int fd, __u32 flags, __u32 dst_ioas_id,
					__u32 src_ioas_id, __u64 length,
					__u64 src_iova, __u64 *dst_iova)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dst_ioas_id = dst_ioas_id,
		.src_ioas_id = src_ioas_id,
		.length = length,
		.src_iova = src_iova,
	};
	int ret;

	if (flags & IOMMU_IOAS_MAP_FIXED_IOVA)
		cmd.dst_iova = *dst_iova;
	ret = ioctl(fd, IOMMU_IOAS_COPY, &cmd);
	if (ret)
		return ret;
	*dst_iova = cmd.dst_iova;
	return 0;
}

#define test_ioctl_ioas_copy(flags, dst_ioas_id, src_ioas_id, length,	\
			     src_iova, dst_iova_p)			\
	ASSERT_EQ(0, _test_ioctl_ioas_copy(self->fd, flags, dst_ioas_id, \
					   src_ioas_id, length, src_iova, \
					   dst_iova_p))
#define test_err_ioctl_ioas_copy(_errno, flags, dst_ioas_id, src_ioas_id, \
				 length, src_iova, dst_iova_p)		\
	({								\
		EXPECT_EQ(-1, _test_ioctl_ioas_copy(self->fd, flags,	\
				dst_ioas_id, src_ioas_id, length,	\
				src_iova, dst_iova_p));			\
		EXPECT_EQ(_errno, errno);				\
	})

/* --- IOMMU_IOAS_IOVA_RANGES --- */

/*
 * *num is the capacity in, the total number of ranges out; *num and
 * *alignment are stored also on failure (EMSGSIZE writes them back).
 */
static inline int _test_ioctl_ioas_iova_ranges(int fd, __u32 ioas_id,
					       struct iommu_iova_range *ranges,
					       __u32 *num, __u64 *alignment)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = *num,
		.allowed_iovas = (uintptr_t)ranges,
		.out_iova_alignment = 0x5a5a,
	};
	int ret;

	ret = ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);
	*num = cmd.num_iovas;
	if (alignment)
		*alignment = cmd.out_iova_alignment;
	return ret;
}

#define test_ioctl_ioas_iova_ranges(ioas_id, ranges, num_p, align_p)	\
	ASSERT_EQ(0, _test_ioctl_ioas_iova_ranges(self->fd, ioas_id,	\
						  ranges, num_p, align_p))
#define test_err_ioctl_ioas_iova_ranges(_errno, ioas_id, ranges, num_p,	\
					align_p)			\
	({								\
		EXPECT_EQ(-1, _test_ioctl_ioas_iova_ranges(self->fd,	\
				ioas_id, ranges, num_p, align_p));	\
		EXPECT_EQ(_errno, errno);				\
	})

/* --- IOMMU_IOAS_ALLOW_IOVAS --- */

static inline int _test_ioctl_ioas_allow_iovas(int fd, __u32 ioas_id,
					       const struct iommu_iova_range *ranges,
					       __u32 num)
{
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = num,
		.allowed_iovas = (uintptr_t)ranges,
	};

	return ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

#define test_ioctl_ioas_allow_iovas(ioas_id, ranges, num)		\
	ASSERT_EQ(0, _test_ioctl_ioas_allow_iovas(self->fd, ioas_id,	\
						  ranges, num))
#define test_err_ioctl_ioas_allow_iovas(_errno, ioas_id, ranges, num)	\
	({								\
		EXPECT_EQ(-1, _test_ioctl_ioas_allow_iovas(self->fd,	\
						ioas_id, ranges, num));	\
		EXPECT_EQ(_errno, errno);				\
	})

/* --- IOMMU_OPTION --- */

static inline int _test_ioctl_option(int fd, __u32 option_id, __u16 op,
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

/* --- IOMMU_VFIO_IOAS --- */

static inline int _test_ioctl_vfio_ioas(int fd, __u16 op, __u32 *ioas_id)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.ioas_id = *ioas_id,
		.op = op,
	};
	int ret;

	ret = ioctl(fd, IOMMU_VFIO_IOAS, &cmd);
	if (ret)
		return ret;
	*ioas_id = cmd.ioas_id;
	return 0;
}

#define test_cmd_vfio_ioas(op, ioas_id_p)				\
	ASSERT_EQ(0, _test_ioctl_vfio_ioas(self->fd, op, ioas_id_p))
#define test_err_vfio_ioas(_errno, op, ioas_id)				\
	({								\
		__u32 __id = ioas_id;					\
		EXPECT_EQ(-1, _test_ioctl_vfio_ioas(self->fd, op, &__id)); \
		EXPECT_EQ(_errno, errno);				\
	})

/* --- IOMMU_HWPT_ALLOC --- */

static inline int _test_cmd_hwpt_alloc(int fd, __u32 dev_id, __u32 pt_id,
				       __u32 flags, __u32 *hwpt_id, __u32 data_type,
				       void *data, __u32 data_len)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = dev_id,
		.pt_id = pt_id,
		.data_type = data_type,
		.data_len = data_len,
		.data_uptr = (uintptr_t)data,
	};
	int ret;

	ret = ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
	if (ret)
		return ret;
	if (hwpt_id)
		*hwpt_id = cmd.out_hwpt_id;
	return 0;
}

#define test_cmd_hwpt_alloc(dev_id, pt_id, flags, hwpt_id_p)		\
	({								\
		__u32 *__h = (hwpt_id_p);				\
		ASSERT_EQ(0, _test_cmd_hwpt_alloc(self->fd, dev_id, pt_id, \
				flags, __h, IOMMU_HWPT_DATA_NONE, NULL, 0)); \
		ASSERT_NE(0, *__h);					\
	})
#define test_err_hwpt_alloc(_errno, dev_id, pt_id, flags, hwpt_id_p)	\
	({								\
		EXPECT_EQ(-1, _test_cmd_hwpt_alloc(self->fd, dev_id, pt_id, \
				flags, hwpt_id_p, IOMMU_HWPT_DATA_NONE,	\
				NULL, 0));				\
		EXPECT_EQ(_errno, errno);				\
	})
#define test_cmd_hwpt_alloc_nested(dev_id, pt_id, flags, hwpt_id_p,	\
				   data_type, data, data_len)		\
	({								\
		__u32 *__h = (hwpt_id_p);				\
		ASSERT_EQ(0, _test_cmd_hwpt_alloc(self->fd, dev_id, pt_id, \
				flags, __h, data_type, data, data_len)); \
		ASSERT_NE(0, *__h);					\
	})
#define test_err_hwpt_alloc_nested(_errno, dev_id, pt_id, flags,	\
				   hwpt_id_p, data_type, data, data_len) \
	({								\
		EXPECT_EQ(-1, _test_cmd_hwpt_alloc(self->fd, dev_id, pt_id, \
				flags, hwpt_id_p, data_type, data,	\
				data_len));				\
		EXPECT_EQ(_errno, errno);				\
	})

/* --- IOMMU_GET_HW_INFO --- */

static inline int _test_cmd_get_hw_info(int fd, __u32 dev_id, void *data,
					__u32 data_len, __u32 *out_data_len,
					__u32 *out_data_type, __u64 *out_caps)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = dev_id,
		.data_len = data_len,
		.data_uptr = (uintptr_t)data,
		.out_data_type = 0x5a5a5a5a,
		.out_capabilities = 0x5a5a5a5a,
	};
	int ret;

	ret = ioctl(fd, IOMMU_GET_HW_INFO, &cmd);
	if (ret)
		return ret;
	if (out_data_len)
		*out_data_len = cmd.data_len;
	if (out_data_type)
		*out_data_type = cmd.out_data_type;
	if (out_caps)
		*out_caps = cmd.out_capabilities;
	return 0;
}

#define test_cmd_get_hw_info(dev_id, data, data_len, out_len_p, type_p,	\
			     caps_p)					\
	ASSERT_EQ(0, _test_cmd_get_hw_info(self->fd, dev_id, data,	\
					   data_len, out_len_p, type_p,	\
					   caps_p))
#define test_err_get_hw_info(_errno, dev_id, data, data_len)		\
	({								\
		EXPECT_EQ(-1, _test_cmd_get_hw_info(self->fd, dev_id, data, \
						    data_len, NULL, NULL, \
						    NULL));		\
		EXPECT_EQ(_errno, errno);				\
	})

/* --- IOMMU_HWPT_SET_DIRTY_TRACKING --- */

static inline int _test_cmd_set_dirty_tracking(int fd, __u32 hwpt_id, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd),
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt_id,
	};

	return ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

#define test_cmd_set_dirty_tracking(hwpt_id, enable)			\
	ASSERT_EQ(0, _test_cmd_set_dirty_tracking(self->fd, hwpt_id, enable))
#define test_err_set_dirty_tracking(_errno, hwpt_id, enable)		\
	({								\
		EXPECT_EQ(-1, _test_cmd_set_dirty_tracking(self->fd, hwpt_id, \
							   enable));	\
		EXPECT_EQ(_errno, errno);				\
	})

/* --- IOMMU_HWPT_GET_DIRTY_BITMAP --- */

static inline int _test_cmd_get_dirty_bitmap(int fd, __u32 hwpt_id,
					     __u64 iova, __u64 length,
					     __u64 page_size, void *bitmap,
					     __u32 flags)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt_id,
		.flags = flags,
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.data = (uintptr_t)bitmap,
	};

	return ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

#define test_cmd_get_dirty_bitmap(hwpt_id, iova, length, page_size, bitmap, \
				  flags)				\
	ASSERT_EQ(0, _test_cmd_get_dirty_bitmap(self->fd, hwpt_id, iova,  \
						length, page_size,	\
						bitmap, flags))
#define test_err_get_dirty_bitmap(_errno, hwpt_id, iova, length, page_size, \
				  bitmap, flags)			\
	({								\
		EXPECT_EQ(-1, _test_cmd_get_dirty_bitmap(self->fd, hwpt_id, \
							 iova, length,	\
							 page_size,	\
							 bitmap, flags)); \
		EXPECT_EQ(_errno, errno);				\
	})

/* --- IOMMU_TEST_OP_DIRTY: mark the mock slots of the set bits dirty --- */

static inline int _test_cmd_mock_dirty(int fd, __u32 hwpt_id, __u64 iova,
				       __u64 length, __u64 page_size,
				       void *bitmap, __u64 *nr_dirty)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DIRTY,
		.id = hwpt_id,
		.dirty = {
			.iova = iova,
			.length = length,
			.page_size = page_size,
			.uptr = (uintptr_t)bitmap,
		},
	};
	int ret;

	ret = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (ret)
		return ret;
	if (nr_dirty)
		*nr_dirty = cmd.dirty.out_nr_dirty;
	return 0;
}

#define test_cmd_mock_dirty(hwpt_id, iova, length, page_size, bitmap,	\
			    nr_dirty)					\
	ASSERT_EQ(0, _test_cmd_mock_dirty(self->fd, hwpt_id, iova, length, \
					  page_size, bitmap, nr_dirty))
#define test_err_mock_dirty(_errno, hwpt_id, iova, length, page_size,	\
			    bitmap)					\
	({								\
		EXPECT_EQ(-1, _test_cmd_mock_dirty(self->fd, hwpt_id, iova, \
						   length, page_size,	\
						   bitmap, NULL));	\
		EXPECT_EQ(_errno, errno);				\
	})

/* --- IOMMU_HWPT_INVALIDATE --- */

/* *entry_num: in the number of entries, out the number handled */
static inline int _test_cmd_hwpt_invalidate(int fd, __u32 hwpt_id, void *reqs,
					    __u32 data_type, __u32 entry_len,
					    __u32 *entry_num)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt_id,
		.data_uptr = (uintptr_t)reqs,
		.data_type = data_type,
		.entry_len = entry_len,
		.entry_num = *entry_num,
	};
	int ret;

	ret = ioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd);
	/* Written back on success and on failure */
	*entry_num = cmd.entry_num;
	return ret;
}

#define test_cmd_hwpt_invalidate(hwpt_id, reqs, data_type, entry_len,	\
				 entry_num_p)				\
	ASSERT_EQ(0, _test_cmd_hwpt_invalidate(self->fd, hwpt_id, reqs,	\
					       data_type, entry_len,	\
					       entry_num_p))
#define test_err_hwpt_invalidate(_errno, hwpt_id, reqs, data_type,	\
				 entry_len, entry_num_p)		\
	({								\
		EXPECT_EQ(-1, _test_cmd_hwpt_invalidate(self->fd, hwpt_id, \
				reqs, data_type, entry_len, entry_num_p)); \
		EXPECT_EQ(_errno, errno);				\
	})

/* --- IOMMU_TEST_CMD --- */

#define TEST_CMD_INIT(_op, _id)						\
	{								\
		.size = sizeof(struct iommu_test_cmd),			\
		.op = _op,						\
		.id = _id,						\
	}

/* IOMMU_TEST_OP_ADD_RESERVED */
static inline int _test_ioctl_add_reserved(int fd, __u32 ioas_id, __u64 start,
					   __u64 length)
{
	struct iommu_test_cmd cmd = TEST_CMD_INIT(IOMMU_TEST_OP_ADD_RESERVED,
						  ioas_id);

	cmd.add_reserved.start = start;
	cmd.add_reserved.length = length;
	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#define test_cmd_add_reserved(ioas_id, start, length)			\
	ASSERT_EQ(0, _test_ioctl_add_reserved(self->fd, ioas_id, start, length))
#define test_err_add_reserved(_errno, ioas_id, start, length)		\
	({								\
		EXPECT_EQ(-1, _test_ioctl_add_reserved(self->fd, ioas_id, \
						       start, length));	\
		EXPECT_EQ(_errno, errno);				\
	})

/* IOMMU_TEST_OP_MOCK_DOMAIN and IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS */
static inline int __test_cmd_mock_domain(int fd, __u32 op, __u32 pt_id,
					 __u32 dev_flags, __u32 *stdev_id,
					 __u32 *hwpt_id, __u32 *idev_id)
{
	struct iommu_test_cmd cmd = TEST_CMD_INIT(op, pt_id);
	int ret;

	if (op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS)
		cmd.mock_domain_flags.dev_flags = dev_flags;
	ret = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (ret)
		return ret;
	if (stdev_id)
		*stdev_id = cmd.mock_domain.out_stdev_id;
	if (hwpt_id)
		*hwpt_id = cmd.mock_domain.out_hwpt_id;
	if (idev_id)
		*idev_id = cmd.mock_domain.out_idev_id;
	return 0;
}

static inline int _test_cmd_mock_domain_flags(int fd, __u32 pt_id, __u32 dev_flags,
					      __u32 *stdev_id, __u32 *hwpt_id,
					      __u32 *idev_id)
{
	return __test_cmd_mock_domain(fd, IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
				      pt_id, dev_flags, stdev_id, hwpt_id,
				      idev_id);
}

static inline int _test_cmd_mock_domain(int fd, __u32 pt_id, __u32 *stdev_id,
					__u32 *hwpt_id, __u32 *idev_id)
{
	return __test_cmd_mock_domain(fd, IOMMU_TEST_OP_MOCK_DOMAIN, pt_id, 0,
				      stdev_id, hwpt_id, idev_id);
}

#define __test_cmd_mock_domain_op(op, pt_id, dev_flags, stdev_p, hwpt_p, \
				  idev_p)				\
	({								\
		__u32 __stdev = 0, __hwpt = 0, __idev = 0;		\
		__u32 *__stdev_p = (stdev_p), *__hwpt_p = (hwpt_p);	\
		__u32 *__idev_p = (idev_p);				\
		ASSERT_EQ(0, __test_cmd_mock_domain(self->fd, op, pt_id, \
				dev_flags, &__stdev, &__hwpt, &__idev)); \
		ASSERT_NE(0, __stdev);					\
		ASSERT_NE(0, __hwpt);					\
		ASSERT_NE(0, __idev);					\
		if (__stdev_p)						\
			*__stdev_p = __stdev;				\
		if (__hwpt_p)						\
			*__hwpt_p = __hwpt;				\
		if (__idev_p)						\
			*__idev_p = __idev;				\
	})
#define test_cmd_mock_domain(pt_id, stdev_p, hwpt_p, idev_p)		\
	__test_cmd_mock_domain_op(IOMMU_TEST_OP_MOCK_DOMAIN, pt_id, 0,	\
				  stdev_p, hwpt_p, idev_p)
#define test_cmd_mock_domain_flags(pt_id, dev_flags, stdev_p, hwpt_p, idev_p) \
	__test_cmd_mock_domain_op(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, pt_id, \
				  dev_flags, stdev_p, hwpt_p, idev_p)
#define test_err_mock_domain_flags(_errno, pt_id, dev_flags)		\
	({								\
		EXPECT_EQ(-1, _test_cmd_mock_domain_flags(self->fd, pt_id, \
				dev_flags, NULL, NULL, NULL));		\
		EXPECT_EQ(_errno, errno);				\
	})
#define test_err_mock_domain(_errno, pt_id)				\
	({								\
		EXPECT_EQ(-1, _test_cmd_mock_domain(self->fd, pt_id, NULL, \
						    NULL, NULL));	\
		EXPECT_EQ(_errno, errno);				\
	})

/* IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE */
static inline int _test_cmd_mock_domain_replace(int fd, __u32 stdev_id, __u32 pt_id,
						__u32 *hwpt_id)
{
	struct iommu_test_cmd cmd =
		TEST_CMD_INIT(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev_id);
	int ret;

	cmd.mock_domain_replace.pt_id = pt_id;
	ret = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (ret)
		return ret;
	if (hwpt_id)
		*hwpt_id = cmd.mock_domain_replace.pt_id;
	return 0;
}

#define test_cmd_mock_domain_replace(stdev_id, pt_id, hwpt_p)		\
	ASSERT_EQ(0, _test_cmd_mock_domain_replace(self->fd, stdev_id,	\
						   pt_id, hwpt_p))
#define test_err_mock_domain_replace(_errno, stdev_id, pt_id)		\
	({								\
		EXPECT_EQ(-1, _test_cmd_mock_domain_replace(self->fd,	\
					stdev_id, pt_id, NULL));	\
		EXPECT_EQ(_errno, errno);				\
	})

/* IOMMU_TEST_OP_MD_CHECK_MAP: the mock domain maps iova..+length to uptr */
static inline int _test_cmd_md_check_map(int fd, __u32 hwpt_id, __u64 iova,
					 __u64 length, void *uptr)
{
	struct iommu_test_cmd cmd = TEST_CMD_INIT(IOMMU_TEST_OP_MD_CHECK_MAP,
						  hwpt_id);

	cmd.check_map.iova = iova;
	cmd.check_map.length = length;
	cmd.check_map.uptr = (uintptr_t)uptr;
	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#define test_cmd_md_check_map(hwpt_id, iova, length, uptr)		\
	ASSERT_EQ(0, _test_cmd_md_check_map(self->fd, hwpt_id, iova, length, \
					    uptr))
#define test_err_md_check_map(_errno, hwpt_id, iova, length, uptr)	\
	({								\
		EXPECT_EQ(-1, _test_cmd_md_check_map(self->fd, hwpt_id,	\
						     iova, length, uptr)); \
		EXPECT_EQ(_errno, errno);				\
	})

/*
 * IOMMU_TEST_OP_MD_CHECK_REFS: every page of uptr..+length holds @refs pins
 * (EIO otherwise). On a huge page (THP, hugetlb) only the total of the
 * folio is known, so the check is per folio: refs times its pages in the
 * range, none on its pages outside the range. E.g. with pages 2..5 of a
 * huge page pinned once, (page 2, 4 pages, 1) passes, (page 2, 1 page, 1)
 * and (page 0, 2 pages, 0) fail: compare small pages, where both pass.
 */
static inline int _test_cmd_md_check_refs(int fd, void *uptr, __u64 length,
					  __u32 refs)
{
	struct iommu_test_cmd cmd = TEST_CMD_INIT(IOMMU_TEST_OP_MD_CHECK_REFS, 0);

	cmd.check_refs.length = length;
	cmd.check_refs.uptr = (uintptr_t)uptr;
	cmd.check_refs.refs = refs;
	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#define test_cmd_md_check_refs(uptr, length, refs)			\
	ASSERT_EQ(0, _test_cmd_md_check_refs(self->fd, uptr, length, refs))
#define test_err_md_check_refs(_errno, uptr, length, refs)		\
	({								\
		EXPECT_EQ(-1, _test_cmd_md_check_refs(self->fd, uptr,	\
						      length, refs));	\
		EXPECT_EQ(_errno, errno);				\
	})

/* IOMMU_TEST_OP_MD_CHECK_IOTLB: entry @iotlb_id of nested @hwpt_id */
static inline int _test_cmd_md_check_iotlb(int fd, __u32 hwpt_id, __u32 iotlb_id,
					   __u32 expected)
{
	struct iommu_test_cmd cmd = TEST_CMD_INIT(IOMMU_TEST_OP_MD_CHECK_IOTLB,
						  hwpt_id);

	cmd.check_iotlb.id = iotlb_id;
	cmd.check_iotlb.iotlb = expected;
	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#define test_cmd_md_check_iotlb(hwpt_id, iotlb_id, expected)		\
	ASSERT_EQ(0, _test_cmd_md_check_iotlb(self->fd, hwpt_id, iotlb_id, \
					      expected))
#define test_err_md_check_iotlb(_errno, hwpt_id, iotlb_id, expected)	\
	({								\
		EXPECT_EQ(-1, _test_cmd_md_check_iotlb(self->fd, hwpt_id, \
						       iotlb_id, expected)); \
		EXPECT_EQ(_errno, errno);				\
	})
#define test_cmd_md_check_iotlb_all(hwpt_id, expected)			\
	({								\
		__u32 __i;						\
		for (__i = 0; __i < MOCK_NESTED_DOMAIN_IOTLB_NUM; __i++) \
			test_cmd_md_check_iotlb(hwpt_id, __i, expected); \
	})

/* IOMMU_TEST_OP_CREATE_ACCESS: the access is a file descriptor */
static inline int _test_cmd_create_access(int fd, __u32 ioas_id, int *access_fd,
					  __u32 flags)
{
	struct iommu_test_cmd cmd = TEST_CMD_INIT(IOMMU_TEST_OP_CREATE_ACCESS,
						  ioas_id);
	int ret;

	cmd.create_access.flags = flags;
	ret = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (ret)
		return ret;
	*access_fd = cmd.create_access.out_access_fd;
	return 0;
}

#define test_cmd_create_access(ioas_id, access_fd_p, flags)		\
	({								\
		int *__afd = (access_fd_p);				\
		ASSERT_EQ(0, _test_cmd_create_access(self->fd, ioas_id,	\
						     __afd, flags));	\
		ASSERT_LE(0, *__afd);					\
	})
#define test_err_create_access(_errno, ioas_id, flags)			\
	({								\
		int __afd;						\
		EXPECT_EQ(-1, _test_cmd_create_access(self->fd, ioas_id, \
						      &__afd, flags));	\
		EXPECT_EQ(_errno, errno);				\
	})

/* IOMMU_TEST_OP_ACCESS_REPLACE_IOAS */
static inline int _test_cmd_access_replace_ioas(int fd, int access_fd, __u32 ioas_id)
{
	struct iommu_test_cmd cmd =
		TEST_CMD_INIT(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, access_fd);

	cmd.access_replace_ioas.ioas_id = ioas_id;
	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#define test_cmd_access_replace_ioas(access_fd, ioas_id)		\
	ASSERT_EQ(0, _test_cmd_access_replace_ioas(self->fd, access_fd,	\
						   ioas_id))
#define test_err_access_replace_ioas(_errno, access_fd, ioas_id)	\
	({								\
		EXPECT_EQ(-1, _test_cmd_access_replace_ioas(self->fd,	\
						access_fd, ioas_id));	\
		EXPECT_EQ(_errno, errno);				\
	})

/* IOMMU_TEST_OP_ACCESS_PAGES: pin iova..+length through the access */
static inline int _test_cmd_access_pages(int fd, int access_fd, __u32 flags,
					 __u64 iova, __u64 length, void *uptr,
					 __u32 *pages_id)
{
	struct iommu_test_cmd cmd = TEST_CMD_INIT(IOMMU_TEST_OP_ACCESS_PAGES,
						  access_fd);
	int ret;

	cmd.access_pages.flags = flags;
	cmd.access_pages.iova = iova;
	cmd.access_pages.length = length;
	cmd.access_pages.uptr = (uintptr_t)uptr;
	ret = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (ret)
		return ret;
	if (pages_id)
		*pages_id = cmd.access_pages.out_access_pages_id;
	return 0;
}

#define test_cmd_access_pages(access_fd, flags, iova, length, uptr,	\
			      pages_id_p)				\
	ASSERT_EQ(0, _test_cmd_access_pages(self->fd, access_fd, flags,	\
					    iova, length, uptr, pages_id_p))
#define test_err_access_pages(_errno, access_fd, flags, iova, length, uptr) \
	({								\
		__u32 __pid;						\
		EXPECT_EQ(-1, _test_cmd_access_pages(self->fd, access_fd, \
				flags, iova, length, uptr, &__pid));	\
		EXPECT_EQ(_errno, errno);				\
	})

/* IOMMU_TEST_OP_DESTROY_ACCESS_PAGES */
static inline int _test_cmd_destroy_access_pages(int fd, int access_fd,
						 __u32 pages_id)
{
	struct iommu_test_cmd cmd =
		TEST_CMD_INIT(IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, access_fd);

	cmd.destroy_access_pages.access_pages_id = pages_id;
	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#define test_cmd_destroy_access_pages(access_fd, pages_id)		\
	ASSERT_EQ(0, _test_cmd_destroy_access_pages(self->fd, access_fd, \
						    pages_id))
#define test_err_destroy_access_pages(_errno, access_fd, pages_id)	\
	({								\
		EXPECT_EQ(-1, _test_cmd_destroy_access_pages(self->fd,	\
					access_fd, pages_id));		\
		EXPECT_EQ(_errno, errno);				\
	})

/* IOMMU_TEST_OP_ACCESS_RW: copy between uptr and iova through the access */
static inline int _test_cmd_access_rw(int fd, int access_fd, __u64 iova, void *uptr,
				      __u64 length, __u32 flags)
{
	struct iommu_test_cmd cmd = TEST_CMD_INIT(IOMMU_TEST_OP_ACCESS_RW,
						  access_fd);

	cmd.access_rw.iova = iova;
	cmd.access_rw.length = length;
	cmd.access_rw.uptr = (uintptr_t)uptr;
	cmd.access_rw.flags = flags;
	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#define test_cmd_access_rw(access_fd, iova, uptr, length, flags)	\
	ASSERT_EQ(0, _test_cmd_access_rw(self->fd, access_fd, iova, uptr, \
					 length, flags))
#define test_err_access_rw(_errno, access_fd, iova, uptr, length, flags) \
	({								\
		EXPECT_EQ(-1, _test_cmd_access_rw(self->fd, access_fd,	\
						  iova, uptr, length,	\
						  flags));		\
		EXPECT_EQ(_errno, errno);				\
	})

/* IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT (global to the kernel) */
static inline int _test_cmd_set_temp_memory_limit(int fd, __u32 limit)
{
	struct iommu_test_cmd cmd =
		TEST_CMD_INIT(IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, 0);

	cmd.memory_limit.limit = limit;
	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#define test_cmd_set_temp_memory_limit(limit)				\
	ASSERT_EQ(0, _test_cmd_set_temp_memory_limit(self->fd, limit))
#define test_err_set_temp_memory_limit(_errno, limit)			\
	({								\
		EXPECT_EQ(-1, _test_cmd_set_temp_memory_limit(self->fd,	\
							      limit));	\
		EXPECT_EQ(_errno, errno);				\
	})

/*
 * For fixture teardowns (EXPECT only: an ASSERT there would jump back into
 * the harness' teardown path): after the context of the test is closed,
 * nothing of @buf may still be pinned (checked on a fresh context), and
 * the process' pinned_vm (VmPin) is back to zero.
 */
#define teardown_check_unpinned(buf, len)				\
	({								\
		int __fd = open("/dev/iommu", O_RDWR);			\
									\
		EXPECT_LE(0, __fd);					\
		if (__fd >= 0) {					\
			EXPECT_EQ(0, _test_cmd_md_check_refs(__fd, buf, len, 0)); \
			close(__fd);					\
		}							\
		EXPECT_EQ(0, proc_status_kb("VmPin"));			\
	})

#endif
