// SPDX-License-Identifier: GPL-2.0
/*
 * A userspace driver for QEMU's "edu" PCI device over a VFIO device fd.
 * See edu.h for the register layout.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "edu.h"

#define EDU_BAR0_MIN_SIZE	0x100000

/*
 * MMIO accessors. Relaxed atomics give single, untorn loads and stores of
 * the register width that the compiler may neither merge nor drop.
 */
uint32_t edu_read32(struct edu *edu, unsigned int reg)
{
	uint32_t *p = (uint32_t *)((char *)edu->bar0 + reg);

	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

uint64_t edu_read64(struct edu *edu, unsigned int reg)
{
	uint64_t *p = (uint64_t *)((char *)edu->bar0 + reg);

	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void edu_write64(struct edu *edu, unsigned int reg, uint64_t val)
{
	uint64_t *p = (uint64_t *)((char *)edu->bar0 + reg);

	__atomic_store_n(p, val, __ATOMIC_RELAXED);
}

static int edu_region_info(int device_fd, unsigned int index,
			   struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	if (ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, info))
		return -errno;
	return 0;
}

static int edu_config_read(struct edu *edu, unsigned int off, void *buf,
			   size_t len)
{
	ssize_t ret = pread(edu->device_fd, buf, len, edu->config_offset + off);

	if (ret < 0)
		return -errno;
	return ret == (ssize_t)len ? 0 : -EIO;
}

static int edu_config_write(struct edu *edu, unsigned int off,
			    const void *buf, size_t len)
{
	ssize_t ret = pwrite(edu->device_fd, buf, len,
			     edu->config_offset + off);

	if (ret < 0)
		return -errno;
	return ret == (ssize_t)len ? 0 : -EIO;
}

int edu_config_read16(struct edu *edu, unsigned int off, uint16_t *val)
{
	return edu_config_read(edu, off, val, sizeof(*val));
}

int edu_config_write16(struct edu *edu, unsigned int off, uint16_t val)
{
	return edu_config_write(edu, off, &val, sizeof(val));
}

int edu_init(struct edu *edu, int device_fd)
{
	struct vfio_region_info bar0, config;
	uint16_t vendor, device, cmd;
	void *p;
	int ret;

	memset(edu, 0, sizeof(*edu));
	edu->device_fd = device_fd;

	ret = edu_region_info(device_fd, VFIO_PCI_CONFIG_REGION_INDEX, &config);
	if (ret)
		return ret;
	edu->config_offset = config.offset;

	ret = edu_config_read16(edu, PCI_VENDOR_ID, &vendor);
	if (!ret)
		ret = edu_config_read16(edu, PCI_DEVICE_ID, &device);
	if (ret)
		return ret;
	if (vendor != EDU_VENDOR_ID || device != EDU_DEVICE_ID)
		return -ENODEV;

	ret = edu_region_info(device_fd, VFIO_PCI_BAR0_REGION_INDEX, &bar0);
	if (ret)
		return ret;
	if (!(bar0.flags & VFIO_REGION_INFO_FLAG_MMAP) ||
	    bar0.size < EDU_BAR0_MIN_SIZE)
		return -ENODEV;

	/* Memory decoding first: vfio-pci refuses BAR access without it. */
	ret = edu_config_read16(edu, PCI_COMMAND, &cmd);
	if (ret)
		return ret;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	ret = edu_config_write16(edu, PCI_COMMAND, cmd);
	if (ret)
		return ret;

	p = mmap(NULL, bar0.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 device_fd, bar0.offset);
	if (p == MAP_FAILED)
		return -errno;
	edu->bar0 = p;
	edu->bar0_size = bar0.size;

	/* The identification register reads 0xRRrr00ed (major, minor). */
	edu->id = edu_read32(edu, EDU_REG_ID);
	if ((edu->id & 0xff) != 0xed) {
		edu_uninit(edu);
		return -ENODEV;
	}
	return 0;
}

void edu_uninit(struct edu *edu)
{
	if (edu->bar0)
		munmap(edu->bar0, edu->bar0_size);
	edu->bar0 = NULL;
	edu->bar0_size = 0;
}

static uint64_t edu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int edu_dma(struct edu *edu, uint64_t iova, uint32_t offset, uint32_t len,
	    bool to_ram, unsigned int timeout_ms)
{
	const struct timespec pause = { .tv_nsec = 1000000 };
	uint64_t cmd = EDU_DMA_CMD_START;
	uint64_t deadline;

	if (!len || offset >= EDU_BUF_SIZE || len > EDU_BUF_SIZE - offset)
		return -EINVAL;
	if (edu_read64(edu, EDU_REG_DMA_CMD) & EDU_DMA_CMD_START)
		return -EBUSY;

	if (to_ram) {
		edu_write64(edu, EDU_REG_DMA_SRC, EDU_BUF_ADDR + offset);
		edu_write64(edu, EDU_REG_DMA_DST, iova);
		cmd |= EDU_DMA_CMD_TO_RAM;
	} else {
		edu_write64(edu, EDU_REG_DMA_SRC, iova);
		edu_write64(edu, EDU_REG_DMA_DST, EDU_BUF_ADDR + offset);
	}
	edu_write64(edu, EDU_REG_DMA_COUNT, len);
	edu_write64(edu, EDU_REG_DMA_CMD, cmd);

	deadline = edu_now_ms() + timeout_ms;
	while (edu_read64(edu, EDU_REG_DMA_CMD) & EDU_DMA_CMD_START) {
		if (edu_now_ms() > deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
	return 0;
}
