/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the VFIO/IOMMU selftests: PCI driver binding through sysfs
 * (and the DMA-API driver of the ownership tests), IOMMU group discovery,
 * the legacy VFIO group/container interface, the VFIO device cdev, watching
 * the kernel log, and DMA the IOMMU must block and report.
 */
#ifndef __SELFTESTS_IOMMU_VFIO_UTIL_H
#define __SELFTESTS_IOMMU_VFIO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "dddd:bb:dd.f" and a NUL, with room to spare */
#define PCI_BDF_SIZE		16
#define IOMMU_GROUP_MAX_DEVS	16

/* sysfs; all return 0 or a negative errno */
int sysfs_write(const char *path, const char *val);
int sysfs_read(const char *path, char *buf, size_t size);
int pci_attr_write(const char *bdf, const char *attr, const char *val);
int pci_attr_read(const char *bdf, const char *attr, char *buf, size_t size);

/* Name of the bound driver in @buf, "" when unbound. */
int pci_driver(const char *bdf, char *buf, size_t size);
bool pci_has_driver(const char *bdf, const char *driver);
/* Set (or with a NULL @driver clear) driver_override */
int pci_set_override(const char *bdf, const char *driver);
/*
 * driver_override = @driver, then write @bdf to the driver's bind file.
 * Returns what the bind write returned. driver_override stays set.
 */
int pci_bind(const char *bdf, const char *driver);
/* Unbind from whatever driver is bound (no-op when unbound). */
int pci_unbind(const char *bdf);
/* Unbind and clear driver_override. */
int pci_release(const char *bdf);
int pci_ids(const char *bdf, uint16_t *vendor, uint16_t *device);
bool pci_is_edu(const char *bdf);
/* The upstream bridge of @bdf, or -ENODEV on a root bus. */
int pci_parent(const char *bdf, char *parent);

/*
 * DMA_API_DRIVER, the driver using the kernel DMA API of the DMA ownership
 * tests: the 8250 PCI driver ("serial"); on arm64 uio_pci_generic, which
 * leaves the device's registers alone at probe (serial reads the edu's BAR
 * bytewise, which the edu answers with an external abort there). Through
 * driver_override alone serial gets past the ownership check and then
 * declines an edu, which is no serial port; dma_api_bind() makes the
 * driver really bind to the edu @bdf, with a dynamic id of the edu
 * carrying the driver_data of serial's fixed one-port board (which
 * uio_pci_generic ignores), an id that exists only for the one bind (the
 * other unbound edu devices are kept from the driver meanwhile). Returns
 * what the write to the driver's bind file returned: 0, -EBUSY when the
 * DMA ownership refuses the driver, or the driver's own refusal.
 * driver_override stays DMA_API_DRIVER.
 * dma_api_remove_ids() removes such ids, also any a killed test left.
 */
#ifdef __aarch64__
#define DMA_API_DRIVER	"uio_pci_generic"
#else
#define DMA_API_DRIVER	"serial"
#endif
int dma_api_bind(const char *bdf);
void dma_api_remove_ids(void);
/*
 * Where the driver is allowed: dma_api_bind() of @bdf, which must bind it, then
 * the unbind. Returns 0, or the first error (logged as a "#" line).
 */
int dma_api_bind_unbind(const char *bdf);

/* IOMMU group number of @bdf, or a negative errno */
int pci_iommu_group(const char *bdf);
/* Devices of an IOMMU group, sorted; returns their number */
int iommu_group_devices(int group, char bdfs[][PCI_BDF_SIZE], int max);

/*
 * Find the edu devices of the test topology. Each honours an environment
 * override, else searches /sys/bus/pci/devices in order:
 *   edu_find_single: an edu alone in its IOMMU group          ($EDU_BDF)
 *   edu_find_multi:  two edu functions sharing one group
 *                    ($EDU_MULTI_FN0, $EDU_MULTI_FN1)
 *   edu_find_behind_port: an edu sharing its group with the PCIe port
 *                    above it ($EDU_PORT_BDF)
 * Return 0 or -ENODEV.
 */
int edu_find_single(char *bdf);
int edu_find_multi(char *fn0, char *fn1);
int edu_find_behind_port(char *bdf, char *port);

/* Legacy VFIO: /dev/vfio/vfio container and /dev/vfio/<group> */
int vfio_container_open(void);
int vfio_group_open(int group);
int vfio_group_flags(int group_fd);
int vfio_group_set_container(int group_fd, int container_fd);
int vfio_group_unset_container(int group_fd);
int vfio_container_set_iommu(int container_fd, unsigned long type);
int vfio_group_device_fd(int group_fd, const char *bdf);
int vfio_type1_map(int container_fd, void *vaddr, uint64_t iova,
		   uint64_t size);
/* Returns the number of bytes unmapped or a negative errno */
int64_t vfio_type1_unmap(int container_fd, uint64_t iova, uint64_t size);

/* A device of a group attached to a type1 container */
struct vfio_legacy {
	int container;
	int group;
	int device;
	int group_id;
};

/*
 * Open the group of @bdf (bound to vfio-pci already), attach it to a new
 * type1 container and get the device fd. Returns 0 or a negative errno.
 */
int vfio_legacy_open(struct vfio_legacy *v, const char *bdf);
void vfio_legacy_close(struct vfio_legacy *v);

/*
 * VFIO device cdev: the /dev/vfio/devices/vfioX node of @bdf (bound to
 * vfio-pci), found as QEMU does, through <device>/vfio-dev/vfioX/dev; the
 * node's device number is checked against it. vfio_cdev_path() returns 0
 * or a negative errno (-ENODEV: no cdev), vfio_cdev_open() an O_RDWR fd or
 * a negative errno.
 */
int vfio_cdev_path(const char *bdf, char *path, size_t size);
int vfio_cdev_open(const char *bdf);

/*
 * The cdev ioctls; 0 or a negative errno. vfio_cdev_bind() stores the
 * device's id in *@dev_id unless it is NULL; vfio_cdev_attach() takes the
 * IOAS or HWPT in *@pt_id and stores there what it attached to.
 */
int vfio_cdev_bind(int dev, int iommufd, uint32_t *dev_id);
int vfio_cdev_attach(int dev, uint32_t *pt_id);
int vfio_cdev_detach(int dev);

/*
 * Kernel log. kmsg_open() returns an fd positioned at the end of the log,
 * so only later records are seen. kmsg_wait() waits up to @timeout_ms for a
 * record containing every string of the NULL-terminated @needles and copies
 * its text into @line; returns true when found.
 */
int kmsg_open(void);
bool kmsg_wait(int fd, const char *const *needles, unsigned int timeout_ms,
	       char *line, size_t size);

/* "bb:dd.f" of a "dddd:bb:dd.f" address, as the DMAR fault report prints */
const char *pci_short_bdf(const char *bdf);

/*
 * The DMAR fault report of @bdf at @iova: a record with "DMAR",
 * "fault addr 0x<iova> " and "[bb:dd.f]", read from @kmsg within
 * @timeout_ms (see kmsg_wait()). Returns true when seen.
 */
bool dmar_fault_wait(int kmsg, const char *bdf, uint64_t iova,
		     unsigned int timeout_ms, char *line, size_t size);
/*
 * The same of the IOMMU the system has: VT-d's report, or SMMUv3's event
 * (translation, address size, access or permission fault) of @bdf's
 * StreamID at @iova.
 */
bool iommu_fault_wait(int kmsg, const char *bdf, uint64_t iova,
		      unsigned int timeout_ms, char *line, size_t size);

/*
 * Test data: @len bytes from @seed that do not repeat within 64 KiB, so a
 * copy from the wrong page or offset differs; all_bytes(): every byte @val
 */
void fill(uint8_t *buf, size_t len, uint8_t seed);
bool all_bytes(const uint8_t *buf, size_t len, uint8_t val);

struct edu;

/*
 * A DMA the IOMMU must block, and its fault report: the edu of @bdf moves
 * @len bytes between its buffer and @iova (@to_ram: writes them to @iova,
 * else reads them from it), then the IOMMU's fault report of @bdf at @iova
 * must follow in the kernel log (@kmsg, positioned at its end first, so
 * only reports of this DMA count). VT-d rate-limits its reports (about
 * three faults per five seconds): when none came, the DMA is done once
 * more after the rate limit's interval, and that one must be reported.
 * What was seen, or looked for in vain, is logged as a "#" line on stderr.
 *
 * Returns 0 when reported, -ENOMSG when not, another negative errno when
 * the DMA could not be done. Whether memory changed is for the caller to
 * check: the report says the IOMMU refused the DMA, the untouched memory
 * that it did not go to the buffer checked.
 */
int edu_dma_blocked(struct edu *edu, const char *bdf, int kmsg,
		    uint64_t iova, uint32_t len, bool to_ram);

#endif /* __SELFTESTS_IOMMU_VFIO_UTIL_H */
