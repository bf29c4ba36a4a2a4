/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The test ABI of CONFIG_IOMMUFD_TEST: IOMMU_TEST_CMD on /dev/iommu drives
 * the mock IOMMU driver and checks iommufd's internal state. Shared by the
 * kernel and tools/testing/selftests/iommu/; the numbers and layouts are
 * those of upstream's v6.8 selftest ABI, so upstream's test programs run
 * against this kernel too. Not a stable ABI: test kernels only.
 */
#ifndef _UAPI_IOMMUFD_TEST_H
#define _UAPI_IOMMUFD_TEST_H

#include <linux/types.h>
#include <linux/iommufd.h>

enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN,
	IOMMU_TEST_OP_MD_CHECK_MAP,
	IOMMU_TEST_OP_MD_CHECK_REFS,
	IOMMU_TEST_OP_CREATE_ACCESS,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_RW,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
	IOMMU_TEST_OP_DIRTY,
	IOMMU_TEST_OP_MD_CHECK_IOTLB,
};

/* Mock paging domains translate this IOVA window only */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

/* IOMMU_TEST_OP_ACCESS_PAGES flags */
enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,
};

/* IOMMU_TEST_OP_ACCESS_RW flags */
enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

/* IOMMU_TEST_OP_CREATE_ACCESS flags */
enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

/* IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS dev_flags */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
};

enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

/**
 * struct iommu_test_cmd - ioctl(IOMMU_TEST_CMD)
 * @size: sizeof(struct iommu_test_cmd)
 * @op: One of IOMMU_TEST_OP_*
 * @id: The object (or, for access ops, the access fd) the op works on
 * @__reserved: Not checked
 * @last: End of the first released layout (the minimum size)
 *
 * The union member named after the op carries its arguments and results.
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			/* out_idev_id is the standard iommufd_bind object */
			__u32 out_idev_id;
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;
		} mock_domain_flags;
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		/*
		 * IOMMU_TEST_OP_MD_CHECK_REFS: the user memory
		 * [uptr, uptr + length) (page aligned) holds @refs pins
		 * (FOLL_PIN) on each of its pages, else EIO. A small page
		 * counts its own pins. For pages of a compound page (THP,
		 * hugetlb) the kernel keeps only the total of the whole
		 * folio (compound_pincount on 6.1), so the check is made per
		 * folio: its total must be @refs times the number of its
		 * pages inside the range, i.e. its pages outside the range
		 * are claimed to hold none. A folio must be met in one run
		 * of consecutive pages of the range.
		 */
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		struct {
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 ioas_id;
		} access_replace_ioas;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
	};
	__u32 last;
};

#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

/* Mock structs for IOMMU_GET_HW_INFO */
#define IOMMU_HW_INFO_TYPE_SELFTEST 0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL 0xdeadbeef

/**
 * struct iommu_test_hw_info - What IOMMU_GET_HW_INFO reports for a mock device
 * @flags: Always 0
 * @test_reg: IOMMU_HW_INFO_SELFTEST_REGVAL
 */
struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

/* Should not be equal to any defined value in enum iommu_hwpt_data_type */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef

/**
 * struct iommu_hwpt_selftest - IOMMU_HWPT_ALLOC data of a mock nested domain
 * @iotlb: Initial value of every mock IOTLB entry
 */
struct iommu_hwpt_selftest {
	__u32 iotlb;
};

/* Should not be equal to any defined value in enum iommu_hwpt_invalidate_data_type */
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

/**
 * struct iommu_hwpt_invalidate_selftest - One mock IOTLB invalidation
 * @flags: IOMMU_TEST_INVALIDATE_FLAG_ALL, or 0
 * @iotlb_id: The entry to invalidate, 0 to MOCK_NESTED_DOMAIN_IOTLB_ID_MAX;
 *	      ignored with IOMMU_TEST_INVALIDATE_FLAG_ALL
 */
enum {
	IOMMU_TEST_INVALIDATE_FLAG_ALL = 1 << 0,
};

struct iommu_hwpt_invalidate_selftest {
	__u32 flags;
	__u32 iotlb_id;
};

#endif
