/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The registers of the mdma sample device (mdma.c): eight 64-bit registers
 * at the start of region 0, read and written 8 bytes at a time. Shared with
 * the selftests in tools/testing/selftests/iommu.
 */
#ifndef _SAMPLES_VFIO_MDEV_MDMA_H
#define _SAMPLES_VFIO_MDEV_MDMA_H

/* Register numbers: the byte offset is 8 times the number */
enum {
	MDMA_REG_SRC,		/* source IOVA */
	MDMA_REG_DST,		/* destination IOVA */
	MDMA_REG_LEN,		/* bytes, at most 16 pages */
	MDMA_REG_CMD,		/* write: run a command */
	MDMA_REG_STATUS,	/* the last command's 0 or -errno (read-only) */
	MDMA_REG_HELD,		/* pages held by MDMA_CMD_HOLD (read-only) */
	MDMA_REG_UNMAPS,	/* dma_unmap calls that dropped them (read-only) */
	MDMA_REG_RESERVED,
	MDMA_NR_REGS,
};

/* Values written to MDMA_REG_CMD */
enum {
	MDMA_CMD_COPY_RW = 1,	/* copy SRC -> DST with vfio_dma_rw() */
	MDMA_CMD_COPY_PIN,	/* the same through pinned pages */
	MDMA_CMD_HOLD,		/* pin [SRC, SRC + LEN) and keep the pins */
	MDMA_CMD_RELEASE,	/* unpin what HOLD pinned */
};

#endif /* _SAMPLES_VFIO_MDEV_MDMA_H */
