/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A userspace driver for QEMU's "edu" PCI device, used as a DMA engine by
 * the IOMMU selftests.
 *
 * The driver only needs an open VFIO device file descriptor: whether it was
 * obtained from a VFIO group (VFIO_GROUP_GET_DEVICE_FD) or from another
 * interface does not matter. BAR0 is mapped through the VFIO region
 * interface, PCI config space is accessed through the VFIO config region.
 *
 * edu DMA engine (BAR0, 1 MiB of MMIO):
 *   0x80  DMA source address        (64 bit)
 *   0x88  DMA destination address   (64 bit)
 *   0x90  DMA byte count            (64 bit)
 *   0x98  DMA command: bit 0 start/busy, bit 1 direction (1: device to RAM),
 *         bit 2 raise an interrupt on completion
 * The device side of a transfer is a 4 KiB buffer at device address 0x40000.
 * A transfer completes after a 100 ms timer of the emulator.
 */
#ifndef __SELFTESTS_IOMMU_EDU_H
#define __SELFTESTS_IOMMU_EDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDU_VENDOR_ID		0x1234
#define EDU_DEVICE_ID		0x11e8

#define EDU_REG_ID		0x00
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98

#define EDU_DMA_CMD_START	0x1
#define EDU_DMA_CMD_TO_RAM	0x2
#define EDU_DMA_CMD_IRQ		0x4

/* The device-side DMA buffer */
#define EDU_BUF_ADDR		0x40000
#define EDU_BUF_SIZE		4096

/* Default completion timeout of a transfer (wall clock, emulation is slow) */
#define EDU_DMA_TIMEOUT_MS	10000

struct edu {
	int device_fd;
	void *bar0;
	size_t bar0_size;
	uint64_t config_offset;
	uint32_t id;
};

/*
 * Map BAR0 of an edu device behind @device_fd, check the identity and enable
 * memory decoding and bus mastering. Returns 0 or a negative errno.
 */
int edu_init(struct edu *edu, int device_fd);

/* Unmap BAR0. Does not close the device fd. */
void edu_uninit(struct edu *edu);

uint32_t edu_read32(struct edu *edu, unsigned int reg);
uint64_t edu_read64(struct edu *edu, unsigned int reg);
void edu_write64(struct edu *edu, unsigned int reg, uint64_t val);

/* PCI config space access through the VFIO config region */
int edu_config_read16(struct edu *edu, unsigned int off, uint16_t *val);
int edu_config_write16(struct edu *edu, unsigned int off, uint16_t val);

/*
 * Run one transfer between the device buffer (@offset bytes into it) and
 * @iova, and poll for its completion for at most @timeout_ms.
 * @to_ram: true for device -> RAM (a DMA write), false for RAM -> device
 * (a DMA read). Returns 0 when the engine reported completion, -EINVAL for
 * a transfer outside the device buffer, -EBUSY if a transfer is in
 * progress, -ETIMEDOUT if it did not complete in time.
 *
 * Completion says nothing about whether the IOMMU let the transfer through:
 * a blocked transfer completes as well.
 */
int edu_dma(struct edu *edu, uint64_t iova, uint32_t offset, uint32_t len,
	    bool to_ram, unsigned int timeout_ms);

/* RAM at @iova -> device buffer at @offset */
static inline int edu_dma_from_ram(struct edu *edu, uint64_t iova,
				   uint32_t offset, uint32_t len)
{
	return edu_dma(edu, iova, offset, len, false, EDU_DMA_TIMEOUT_MS);
}

/* Device buffer at @offset -> RAM at @iova */
static inline int edu_dma_to_ram(struct edu *edu, uint32_t offset,
				 uint64_t iova, uint32_t len)
{
	return edu_dma(edu, iova, offset, len, true, EDU_DMA_TIMEOUT_MS);
}

#endif /* __SELFTESTS_IOMMU_EDU_H */
