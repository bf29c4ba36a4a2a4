/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * iommufd - user space control of IOMMU translation through /dev/iommu
 *
 * Every open() of /dev/iommu creates an independent context. Inside a
 * context user space builds objects and refers to them by a u32 ID that is
 * unique within that context. ID 0 is never handed out, so it can be used to
 * mean "no object". The main object kinds are:
 *
 *  - IOAS: an I/O address space, i.e. a table of IOVA ranges mapped to user
 *    memory, independent of any particular IOMMU hardware.
 *  - HWPT: a hardware page table (IOMMU domain). A paging HWPT mirrors all
 *    mappings of the IOAS it was built on; a nested HWPT is a stage-1 table
 *    owned by user space (e.g. a guest) that sits on top of a paging HWPT.
 *  - DEVICE: a device bound to the context by its driver (for example the
 *    VFIO device cdev), which can then be attached to an IOAS or HWPT.
 *
 * Argument convention: every ioctl takes a pointer to a structure whose first
 * member is a __u32 "size" that user space sets to sizeof() of the structure
 * as it was compiled. Structures only ever grow at the end, which lets old
 * and new binaries and kernels interoperate:
 *
 *  - a size smaller than the first released version of the structure fails
 *    with EINVAL;
 *  - a size smaller than the kernel's structure is accepted and the missing
 *    trailing members are treated as zero;
 *  - a size larger than the kernel's structure is accepted only if all the
 *    extra bytes are zero, otherwise the ioctl fails with E2BIG;
 *  - the kernel never writes more than "size" bytes back.
 *
 * General errno conventions: ENOTTY for an unknown ioctl request, EOPNOTSUPP
 * for an unknown flag bit, enum value, or a non-zero __reserved member,
 * EINVAL for a value that is known but not valid for the request, ENOENT for
 * an ID that does not name a suitable object, EFAULT for a bad user pointer.
 * All __reserved members must be zero.
 */
#ifndef _UAPI_IOMMUFD_H
#define _UAPI_IOMMUFD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IOMMUFD_TYPE (';')

/*
 * ioctl command numbers. The request values are _IO(IOMMUFD_TYPE, nr), i.e.
 * they carry neither a direction nor a size; the size travels in the
 * argument structure instead. New commands are only ever appended.
 */
enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS,
	IOMMUFD_CMD_IOAS_COPY,
	IOMMUFD_CMD_IOAS_IOVA_RANGES,
	IOMMUFD_CMD_IOAS_MAP,
	IOMMUFD_CMD_IOAS_UNMAP,
	IOMMUFD_CMD_OPTION,
	IOMMUFD_CMD_VFIO_IOAS,
	IOMMUFD_CMD_HWPT_ALLOC,
	IOMMUFD_CMD_GET_HW_INFO,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP,
	IOMMUFD_CMD_HWPT_INVALIDATE,
};

/**
 * struct iommu_destroy - ioctl(IOMMU_DESTROY)
 * @size: sizeof(struct iommu_destroy)
 * @id: ID of the object to remove (in)
 *
 * Removes an object from the context. This only works when nothing else
 * depends on the object: an IOAS that still has HWPTs built on it or
 * in-kernel users attached, a paging HWPT that still has devices attached or
 * nested HWPTs on top of it, a nested HWPT with devices attached, and device
 * objects (which belong to the driver that bound them) all fail with EBUSY.
 * An ID that does not exist fails with ENOENT. IDs of destroyed objects may
 * be handed out again.
 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};

#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/**
 * struct iommu_ioas_alloc - ioctl(IOMMU_IOAS_ALLOC)
 * @size: sizeof(struct iommu_ioas_alloc)
 * @flags: Must be 0 (in)
 * @out_ioas_id: ID of the new IOAS (out)
 *
 * Creates an empty I/O address space: nothing is mapped, the whole 64-bit
 * IOVA space is usable and the IOVA alignment is 1. It is removed with
 * IOMMU_DESTROY.
 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/**
 * struct iommu_iova_range - one range of IOVA
 * @start: First IOVA of the range
 * @last: Last IOVA of the range; the range includes this address
 *
 * Array element used by IOMMU_IOAS_IOVA_RANGES and IOMMU_IOAS_ALLOW_IOVAS.
 */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct iommu_ioas_iova_ranges - ioctl(IOMMU_IOAS_IOVA_RANGES)
 * @size: sizeof(struct iommu_ioas_iova_ranges)
 * @ioas_id: IOAS to query (in)
 * @num_iovas: On input the number of elements @allowed_iovas has room for;
 *             on output the total number of ranges the IOAS has (in/out)
 * @__reserved: Must be 0
 * @allowed_iovas: User pointer to an array of struct iommu_iova_range that
 *                 receives the ranges (in)
 * @out_iova_alignment: Required alignment of the IOVA and the length of
 *                      every IOMMU_IOAS_MAP and IOMMU_IOAS_COPY (out)
 *
 * Reports which IOVA may currently be mapped in the IOAS: the complement of
 * everything the IOAS has reserved (addresses outside the aperture of its
 * HWPTs, reserved regions of attached devices such as MSI windows). The
 * ranges are written in ascending order. The list is not narrowed by
 * IOMMU_IOAS_ALLOW_IOVAS, and it can shrink whenever a device or HWPT is
 * added to the IOAS.
 *
 * If the IOAS has more ranges than @num_iovas can hold, the first @num_iovas
 * ranges are written, @num_iovas is set to the total, and the ioctl fails
 * with EMSGSIZE. Calling with @num_iovas = 0 is therefore a way to learn how
 * big the array has to be.
 *
 * @out_iova_alignment is a power of two no larger than the CPU page size. It
 * is 1 for a fresh IOAS and grows with the page sizes of the IOMMUs in use.
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};

#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/**
 * struct iommu_ioas_allow_iovas - ioctl(IOMMU_IOAS_ALLOW_IOVAS)
 * @size: sizeof(struct iommu_ioas_allow_iovas)
 * @ioas_id: IOAS to change (in)
 * @num_iovas: Number of elements in @allowed_iovas; 0 removes the list (in)
 * @__reserved: Must be 0
 * @allowed_iovas: User pointer to an array of struct iommu_iova_range (in)
 *
 * Declares the IOVA ranges user space intends to use, replacing any list set
 * earlier. Each range must have @start < @last and the ranges must not
 * overlap each other (EINVAL). If a range collides with IOVA the IOAS has
 * already reserved the call fails with EADDRINUSE and the previous list stays
 * in force.
 *
 * While a list is set, automatic IOVA allocation by IOMMU_IOAS_MAP and
 * IOMMU_IOAS_COPY only picks addresses inside it, and anything that would
 * reserve IOVA inside it is refused with EADDRINUSE. In particular attaching
 * a device whose reserved regions overlap the list, or creating a HWPT whose
 * aperture does not cover it, fails. This lets user space guarantee that a
 * given IOVA layout (e.g. a guest's memory map) stays usable.
 */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};

#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

/**
 * enum iommufd_ioas_map_flags - Flags for IOMMU_IOAS_MAP and IOMMU_IOAS_COPY
 * @IOMMU_IOAS_MAP_FIXED_IOVA: Map at the IOVA given by the caller instead of
 *                             letting the kernel choose one
 * @IOMMU_IOAS_MAP_WRITEABLE: Devices may write to the mapping
 * @IOMMU_IOAS_MAP_READABLE: Devices may read from the mapping
 *
 * At least one of @IOMMU_IOAS_MAP_READABLE and @IOMMU_IOAS_MAP_WRITEABLE must
 * be given (EINVAL otherwise). Unknown bits fail with EOPNOTSUPP.
 */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/**
 * struct iommu_ioas_map - ioctl(IOMMU_IOAS_MAP)
 * @size: sizeof(struct iommu_ioas_map)
 * @flags: Combination of enum iommufd_ioas_map_flags (in)
 * @ioas_id: IOAS to map into (in)
 * @__reserved: Must be 0
 * @user_va: Start of the user memory to map (in)
 * @length: Number of bytes to map (in)
 * @iova: With IOMMU_IOAS_MAP_FIXED_IOVA the IOVA to map at; on output the
 *        IOVA the memory was mapped at (in/out)
 *
 * Makes the user memory [@user_va, @user_va + @length) reachable by DMA at
 * [@iova, @iova + @length) through every HWPT of the IOAS. The pages are
 * pinned as soon as an IOMMU domain or an in-kernel user needs them; pinned
 * pages are charged against RLIMIT_MEMLOCK as selected by
 * IOMMU_OPTION_RLIMIT_MODE, and going over the limit fails with ENOMEM.
 * Memory that cannot be pinned fails with EFAULT.
 *
 * @length must be non-zero and, like @iova, a multiple of the IOAS IOVA
 * alignment (see IOMMU_IOAS_IOVA_RANGES), else EINVAL.
 *
 * Without IOMMU_IOAS_MAP_FIXED_IOVA the kernel picks a free, suitably aligned
 * IOVA inside the usable (and, if set, allowed) ranges; IOVA 0 is never
 * chosen. If no hole fits the ioctl fails with ENOSPC. With
 * IOMMU_IOAS_MAP_FIXED_IOVA the range must not touch reserved IOVA (EINVAL)
 * or an existing mapping (EEXIST).
 *
 * Each successful call creates one mapping that can later only be removed as
 * a whole by IOMMU_IOAS_UNMAP.
 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/**
 * struct iommu_ioas_copy - ioctl(IOMMU_IOAS_COPY)
 * @size: sizeof(struct iommu_ioas_copy)
 * @flags: Combination of enum iommufd_ioas_map_flags (in)
 * @dst_ioas_id: IOAS to create the new mapping in (in)
 * @src_ioas_id: IOAS that already maps the memory (in)
 * @length: Number of bytes to copy (in)
 * @dst_iova: With IOMMU_IOAS_MAP_FIXED_IOVA the IOVA to map at in the
 *            destination; on output the IOVA actually used (in/out)
 * @src_iova: IOVA of the memory in the source IOAS (in)
 *
 * Maps memory that is already mapped in one IOAS into another (or the same)
 * IOAS without looking it up or pinning it again, which is cheaper than a
 * second IOMMU_IOAS_MAP of the same user memory. The source range
 * [@src_iova, @src_iova + @length) must be completely covered by existing
 * mappings (ENOENT otherwise); it may start and end in the middle of them.
 * Requesting IOMMU_IOAS_MAP_WRITEABLE for memory that was mapped read-only
 * in the source fails with EPERM. The destination follows the same rules as
 * IOMMU_IOAS_MAP.
 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};

#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/**
 * struct iommu_ioas_unmap - ioctl(IOMMU_IOAS_UNMAP)
 * @size: sizeof(struct iommu_ioas_unmap)
 * @ioas_id: IOAS to unmap from (in)
 * @iova: First IOVA of the range to unmap (in)
 * @length: Number of bytes of the range (in); number of bytes that were
 *          actually unmapped (out)
 *
 * Removes every mapping that lies inside [@iova, @iova + @length). Mappings
 * are never split: if a mapping only partly overlaps the range the call
 * fails with ENOENT, and so does a range that contains no mapping at all.
 * Holes inside the range are allowed, which is why the returned @length can
 * be smaller than the requested one.
 *
 * @iova = 0 with @length = U64_MAX removes everything and succeeds even when
 * nothing is mapped.
 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

/**
 * enum iommufd_option - Options for IOMMU_OPTION
 * @IOMMU_OPTION_RLIMIT_MODE: How pinned pages are charged against
 *    RLIMIT_MEMLOCK. Applies to the whole context, so object_id must be 0.
 *    0 charges the user that owns the process (the default for /dev/iommu),
 *    1 charges the process itself like the VFIO type1 container does (the
 *    default when the context was opened as /dev/vfio/vfio). Changing it
 *    needs CAP_SYS_RESOURCE (EPERM) and a context without any object (EBUSY).
 * @IOMMU_OPTION_HUGE_PAGES: Whether the IOAS named by object_id may map
 *    physically contiguous memory with IOMMU page sizes larger than the CPU
 *    page size. 1 (the default) allows it, 0 restricts every mapping to the
 *    CPU page size and raises the IOAS IOVA alignment to that size.
 */
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

/**
 * enum iommufd_option_ops - Operations for IOMMU_OPTION
 * @IOMMU_OPTION_OP_SET: Change the option to val64
 * @IOMMU_OPTION_OP_GET: Read the option into val64
 */
enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/**
 * struct iommu_option - ioctl(IOMMU_OPTION)
 * @size: sizeof(struct iommu_option)
 * @option_id: One of enum iommufd_option (in)
 * @op: One of enum iommufd_option_ops (in)
 * @__reserved: Must be 0
 * @object_id: Object the option applies to; 0 for options of the whole
 *             context (in)
 * @val64: Value to set, or the value read (in/out)
 *
 * Reads or changes a tunable of the context or of one object. An unknown
 * @option_id or @op fails with EOPNOTSUPP, a value the option does not
 * accept with EINVAL. Only @val64 is written back, for both operations.
 */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};

#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

/**
 * enum iommufd_vfio_ioas_op - Operations for IOMMU_VFIO_IOAS
 * @IOMMU_VFIO_IOAS_GET: Return the compatibility IOAS in ioas_id; fails with
 *                       ENODEV if there is none
 * @IOMMU_VFIO_IOAS_SET: Make the IOAS named by ioas_id the compatibility IOAS
 * @IOMMU_VFIO_IOAS_CLEAR: Forget the compatibility IOAS (it is not destroyed)
 */
enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/**
 * struct iommu_vfio_ioas - ioctl(IOMMU_VFIO_IOAS)
 * @size: sizeof(struct iommu_vfio_ioas)
 * @ioas_id: IOAS ID for IOMMU_VFIO_IOAS_SET (in), or the current one for
 *           IOMMU_VFIO_IOAS_GET (out)
 * @op: One of enum iommufd_vfio_ioas_op (in)
 * @__reserved: Must be 0
 *
 * An iommufd context can also answer the VFIO type1 container ioctls
 * (VFIO_IOMMU_MAP_DMA and friends) so that programs written for the VFIO
 * container keep working. Those requests all operate on a single IOAS, the
 * compatibility IOAS, which this ioctl queries and selects. Attaching a VFIO
 * group to the context creates one automatically if none is set.
 */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};

#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

/**
 * enum iommufd_hwpt_alloc_flags - Flags for IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_ALLOC_NEST_PARENT: The paging HWPT may later be used as the
 *                                parent of nested HWPTs
 * @IOMMU_HWPT_ALLOC_DIRTY_TRACKING: The paging HWPT is able to track which
 *                                   IOVA devices have written to (see
 *                                   IOMMU_HWPT_SET_DIRTY_TRACKING)
 */
enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
};

/**
 * enum iommu_hwpt_vtd_s1_flags - Intel VT-d stage-1 page table attributes
 * @IOMMU_VTD_S1_SRE: Supervisor Request Enable; requests carrying supervisor
 *                    privilege are translated too
 * @IOMMU_VTD_S1_EAFE: Extended Access Flag Enable
 * @IOMMU_VTD_S1_WPE: Write Protect Enable; supervisor writes honour
 *                    read-only page table entries
 *
 * These mirror the corresponding bits of a guest's scalable-mode PASID table
 * entry.
 */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

/**
 * struct iommu_hwpt_vtd_s1 - Intel VT-d stage-1 page table description
 *                            (IOMMU_HWPT_DATA_VTD_S1)
 * @flags: Combination of enum iommu_hwpt_vtd_s1_flags
 * @pgtbl_addr: Guest physical address of the root of the stage-1 page table
 * @addr_width: Input address width of the stage-1 page table, in bits
 *              (e.g. 48 for 4-level or 57 for 5-level paging)
 * @__reserved: Must be 0
 *
 * Driver data for IOMMU_HWPT_ALLOC when a nested HWPT is created on a VT-d
 * parent. data_len must be exactly sizeof(struct iommu_hwpt_vtd_s1).
 */
struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

/**
 * enum iommu_hwpt_data_type - Format of the driver data of IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_DATA_NONE: No data; the kernel builds and manages a paging
 *                        HWPT
 * @IOMMU_HWPT_DATA_VTD_S1: struct iommu_hwpt_vtd_s1, describing a user-owned
 *                          Intel VT-d stage-1 table for a nested HWPT
 */
enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
};

/**
 * struct iommu_hwpt_alloc - ioctl(IOMMU_HWPT_ALLOC)
 * @size: sizeof(struct iommu_hwpt_alloc)
 * @flags: Combination of enum iommufd_hwpt_alloc_flags (in)
 * @dev_id: Bound device whose IOMMU the HWPT is created for (in)
 * @pt_id: IOAS, or paging HWPT to nest on (in)
 * @out_hwpt_id: ID of the new HWPT (out)
 * @__reserved: Must be 0
 * @data_type: One of enum iommu_hwpt_data_type (in)
 * @data_len: Length in bytes of the driver data at @data_uptr (in)
 * @data_uptr: User pointer to the driver data (in)
 *
 * Creates a HWPT (an IOMMU domain) suitable for the device @dev_id without
 * attaching the device to it. What is created depends on @pt_id:
 *
 * If @pt_id is an IOAS, a paging HWPT managed by the kernel is created. It
 * immediately mirrors every mapping of the IOAS and its aperture becomes a
 * reservation of the IOAS. @data_type must be IOMMU_HWPT_DATA_NONE with
 * @data_len 0. Flags or hardware features the IOMMU cannot provide (e.g.
 * dirty tracking) fail with EOPNOTSUPP. Unlike the HWPTs the kernel creates
 * when a device is attached straight to an IOAS, such a HWPT is never shared
 * automatically and lives until it is destroyed with IOMMU_DESTROY.
 *
 * If @pt_id is a paging HWPT created with IOMMU_HWPT_ALLOC_NEST_PARENT, a
 * nested HWPT is created whose stage-1 table is owned by user space and is
 * described by the driver data @data_type / @data_len / @data_uptr; @flags
 * must be 0. The parent cannot be destroyed while the nested HWPT exists.
 * @data_len must be within the sizes the driver understands (EINVAL), and a
 * @data_type the driver does not know fails with EOPNOTSUPP.
 *
 * A @data_type / @data_len mismatch (data without a type or a type without
 * data) and a @pt_id that is neither an IOAS nor a paging HWPT fail with
 * EINVAL; an unknown @dev_id fails with ENOENT.
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
};

#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

/**
 * enum iommu_hw_info_vtd_flags - Flags in struct iommu_hw_info_vtd
 * @IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: The hardware is affected by
 *    erratum 772415 (SPR17): read-only mappings must not be used in a paging
 *    HWPT that is the parent of nested HWPTs.
 */
enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/**
 * struct iommu_hw_info_vtd - Intel VT-d hardware information
 *                            (IOMMU_HW_INFO_TYPE_INTEL_VTD)
 * @flags: Combination of enum iommu_hw_info_vtd_flags
 * @__reserved: Always 0
 * @cap_reg: Raw value of the VT-d Capability Register (VT-d specification
 *           section 11.4.2)
 * @ecap_reg: Raw value of the VT-d Extended Capability Register (VT-d
 *            specification section 11.4.3)
 *
 * Returned by IOMMU_GET_HW_INFO so that a VMM can present a matching virtual
 * IOMMU to its guest and check the guest's stage-1 tables can be used.
 */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

/**
 * enum iommu_hw_info_type - Format of the data returned by IOMMU_GET_HW_INFO
 * @IOMMU_HW_INFO_TYPE_NONE: The IOMMU driver reports no hardware information
 * @IOMMU_HW_INFO_TYPE_INTEL_VTD: struct iommu_hw_info_vtd
 */
enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
};

/**
 * enum iommufd_hw_capabilities - Generic IOMMU capabilities of a device
 * @IOMMU_HW_CAP_DIRTY_TRACKING: The IOMMU can track DMA writes, so
 *                               IOMMU_HWPT_ALLOC_DIRTY_TRACKING may be used
 *                               for this device
 */
enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
};

/**
 * struct iommu_hw_info - ioctl(IOMMU_GET_HW_INFO)
 * @size: sizeof(struct iommu_hw_info)
 * @flags: Must be 0 (in)
 * @dev_id: Bound device to query (in)
 * @data_len: Size of the buffer at @data_uptr (in); size of the data the
 *            kernel has for this device (out)
 * @data_uptr: User pointer to a buffer for the driver specific data; may be
 *             0 when @data_len is 0 (in)
 * @out_data_type: Format of that data, one of enum iommu_hw_info_type (out)
 * @__reserved: Must be 0
 * @out_capabilities: Combination of enum iommufd_hw_capabilities (out)
 *
 * Describes the IOMMU that translates for the device @dev_id. The kernel
 * copies as much of its driver specific data as fits into @data_len bytes
 * and zero-fills the rest of the buffer. On return @data_len holds the full
 * size of the kernel's data, which may be larger than the buffer, so a call
 * with @data_len 0 tells how large the buffer must be. A driver without
 * hardware information reports IOMMU_HW_INFO_TYPE_NONE and a length of 0;
 * the ioctl still succeeds for any bound device.
 */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 out_data_type;
	__u32 __reserved;
	__aligned_u64 out_capabilities;
};

#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

/**
 * enum iommufd_hwpt_set_dirty_tracking_flags - Flags for
 *                                              IOMMU_HWPT_SET_DIRTY_TRACKING
 * @IOMMU_HWPT_DIRTY_TRACKING_ENABLE: Turn tracking on; without it tracking
 *                                    is turned off
 */
enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/**
 * struct iommu_hwpt_set_dirty_tracking - ioctl(IOMMU_HWPT_SET_DIRTY_TRACKING)
 * @size: sizeof(struct iommu_hwpt_set_dirty_tracking)
 * @flags: Combination of enum iommufd_hwpt_set_dirty_tracking_flags (in)
 * @hwpt_id: Paging HWPT to change (in)
 * @__reserved: Must be 0
 *
 * Starts or stops recording which IOVA devices write to through the HWPT.
 * The HWPT must have been created with IOMMU_HWPT_ALLOC_DIRTY_TRACKING
 * (EOPNOTSUPP otherwise). Turning tracking on begins from a clean state: all
 * dirty information gathered before is discarded. Turning it on or off when
 * it already is in that state succeeds and does nothing.
 */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};

#define IOMMU_HWPT_SET_DIRTY_TRACKING \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

/**
 * enum iommufd_hwpt_get_dirty_bitmap_flags - Flags for
 *                                            IOMMU_HWPT_GET_DIRTY_BITMAP
 * @IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR: Only read the dirty state; do not
 *                                        reset it, so the same IOVA is
 *                                        reported again by the next call
 */
enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/**
 * struct iommu_hwpt_get_dirty_bitmap - ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP)
 * @size: sizeof(struct iommu_hwpt_get_dirty_bitmap)
 * @hwpt_id: Paging HWPT to read from (in)
 * @flags: Combination of enum iommufd_hwpt_get_dirty_bitmap_flags (in)
 * @__reserved: Must be 0
 * @iova: First IOVA of the range to report; bit 0 of the bitmap stands for
 *        it (in)
 * @length: Number of bytes of IOVA to report (in)
 * @page_size: Bytes of IOVA each bit stands for; a power of two (in)
 * @data: User pointer to the bitmap (in)
 *
 * Reports which IOVA in [@iova, @iova + @length) devices have written to
 * since tracking was enabled or the dirty state was last cleared. Bit n
 * covers [@iova + n * @page_size, @iova + (n + 1) * @page_size); bits are
 * numbered like those of an array of little-endian __u64, i.e. bit n is bit
 * (n % 8) of byte (n / 8). The bitmap needs @length / @page_size bits,
 * rounded up to whole bytes, and may start at any byte address.
 *
 * The kernel only sets bits and never clears them, so the buffer should be
 * zeroed beforehand. When the IOMMU tracks at a coarser granularity than
 * @page_size, all bits covered by a dirty IOMMU page are set. Unless
 * IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR is given, the dirty state of the
 * reported range is reset.
 *
 * @iova and @iova + @length must be multiples of both @page_size and the
 * IOVA alignment of the IOAS (EINVAL), and @length must not be 0. The HWPT
 * must have been created with IOMMU_HWPT_ALLOC_DIRTY_TRACKING (EOPNOTSUPP).
 */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};

#define IOMMU_HWPT_GET_DIRTY_BITMAP \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

/**
 * enum iommu_hwpt_invalidate_data_type - Format of the entries passed to
 *                                        IOMMU_HWPT_INVALIDATE
 * @IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: struct iommu_hwpt_vtd_s1_invalidate
 */
enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
};

/**
 * enum iommu_hwpt_vtd_s1_invalidate_flags - Flags for
 *                                           struct iommu_hwpt_vtd_s1_invalidate
 * @IOMMU_VTD_INV_FLAGS_LEAF: Only last-level (leaf) translations changed;
 *                            cached upper levels of the page table may be
 *                            kept
 */
enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

/**
 * struct iommu_hwpt_vtd_s1_invalidate - One Intel VT-d stage-1 invalidation
 *                                       (IOMMU_HWPT_INVALIDATE_DATA_VTD_S1)
 * @addr: First IOVA to invalidate; must be 4KiB aligned
 * @npages: Number of 4KiB pages to invalidate
 * @flags: Combination of enum iommu_hwpt_vtd_s1_invalidate_flags
 * @__reserved: Must be 0
 *
 * Flushes the IOTLB of a nested VT-d HWPT after the guest changed its
 * stage-1 table, and the device TLBs too when the device uses ATS.
 * @addr = 0 with @npages = U64_MAX invalidates everything. An unaligned
 * @addr, or @npages = U64_MAX with a non-zero @addr, fails with EINVAL;
 * unknown @flags or a non-zero @__reserved fail with EOPNOTSUPP. The entry
 * length passed to IOMMU_HWPT_INVALIDATE must be exactly
 * sizeof(struct iommu_hwpt_vtd_s1_invalidate).
 */
struct iommu_hwpt_vtd_s1_invalidate {
	__aligned_u64 addr;
	__aligned_u64 npages;
	__u32 flags;
	__u32 __reserved;
};

/**
 * struct iommu_hwpt_invalidate - ioctl(IOMMU_HWPT_INVALIDATE)
 * @size: sizeof(struct iommu_hwpt_invalidate)
 * @hwpt_id: Nested HWPT whose caches must be invalidated (in)
 * @data_uptr: User pointer to an array of invalidation entries (in)
 * @data_type: Format of every entry, one of
 *             enum iommu_hwpt_invalidate_data_type (in)
 * @entry_len: Size in bytes of one entry, i.e. the array stride (in)
 * @entry_num: Number of entries in the array (in); number of entries that
 *             were carried out (out)
 * @__reserved: Must be 0
 *
 * Tells the IOMMU driver that user space changed the stage-1 table of a
 * nested HWPT, so the affected translations cached by the hardware must be
 * dropped. A @hwpt_id that is not a nested HWPT fails with ENOENT. Entry i
 * starts at @data_uptr + i * @entry_len; @entry_len must be a length the
 * driver accepts for @data_type (EINVAL), and a @data_type the HWPT's driver
 * does not understand fails with EINVAL. A non-zero @entry_num with a zero
 * @data_uptr or @entry_len also fails with EINVAL.
 *
 * The entries are carried out in order and processing stops at the first
 * one that fails; the ioctl then returns that entry's error. In every case,
 * success or failure, @entry_num is written back with the number of entries
 * completed before the failure (all of them on success), so user space knows
 * where to resume. With @entry_num 0 nothing is invalidated and only
 * @data_type is checked.
 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};

#define IOMMU_HWPT_INVALIDATE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

#endif
