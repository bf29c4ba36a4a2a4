// SPDX-License-Identifier: GPL-2.0
/*
 * The DMA part of `make run` (rig/guest/demo), through the VFIO device cdev
 * and iommufd: takes QEMU's edu device away from the kernel, binds it to an
 * iommufd, attaches it to an IOAS and lets it DMA, replaces its page table
 * with another one that maps the same IOVA to another buffer, DMAs again,
 * and shows a DMA to an unmapped IOVA blocked. Then, briefly, that a kernel
 * driver is refused on a group userspace owns. Plain lines, ~25 of them.
 * Exit status 0 when everything behaved as it should.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "edu.h"
#include "vfio_util.h"

#define IOVA_SRC	0x100000ULL
#define IOVA_DST	0x200000ULL
#define SZ		EDU_BUF_SIZE

static const char msg[] = "Hello from the edu device, through the IOMMU!";
static int problems;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void expect(int cond, const char *what)
{
	if (!cond) {
		say("  UNEXPECTED: %s", what);
		problems++;
	}
}

static const char *err(int ret)
{
	return ret ? strerror(-ret) : "ok";
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "0000:03:00.0 0000:03:00.1" */
static void group_members(int group, char *line, size_t size)
{
	char members[IOMMU_GROUP_MAX_DEVS][PCI_BDF_SIZE];
	size_t len = 0;
	int i, n, w;

	line[0] = '\0';
	n = iommu_group_devices(group, members, IOMMU_GROUP_MAX_DEVS);
	for (i = 0; i < n && len < size; i++) {
		w = snprintf(line + len, size - len, "%s%s", i ? " " : "",
			     members[i]);
		if (w < 0)
			break;
		len += w;
	}
}

static long vm_pin_kb(void)
{
	char line[256];
	long val = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmPin:", 6))
			val = strtol(line + 6, NULL, 10);
	fclose(f);
	return val;
}

/* --- iommufd and the VFIO device cdev; 0 or a negative errno --- */

static int ioas_alloc(int fd, __u32 *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	if (ioctl(fd, IOMMU_IOAS_ALLOC, &cmd))
		return -errno;
	*id = cmd.out_ioas_id;
	return 0;
}

static int ioas_map(int fd, __u32 ioas, void *va, __u64 iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = SZ,
		.iova = iova,
	};

	return ioctl(fd, IOMMU_IOAS_MAP, &cmd) ? -errno : 0;
}

static int ioas_unmap(int fd, __u32 ioas, __u64 iova)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.iova = iova,
		.length = SZ,
	};

	return ioctl(fd, IOMMU_IOAS_UNMAP, &cmd) ? -errno : 0;
}

static int hwpt_alloc(int fd, __u32 dev_id, __u32 ioas, __u32 *id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.dev_id = dev_id,
		.pt_id = ioas,
	};

	if (ioctl(fd, IOMMU_HWPT_ALLOC, &cmd))
		return -errno;
	*id = cmd.out_hwpt_id;
	return 0;
}

static int destroy(int fd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &cmd) ? -errno : 0;
}

static int cdev_bind(int dev, int iommufd, __u32 *dev_id)
{
	struct vfio_device_bind_iommufd cmd = {
		.argsz = sizeof(cmd),
		.iommufd = iommufd,
	};

	if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &cmd))
		return -errno;
	*dev_id = cmd.out_devid;
	return 0;
}

/* *pt: in an IOAS or a HW pagetable, out the HW pagetable attached to */
static int cdev_attach(int dev, __u32 *pt)
{
	struct vfio_device_attach_iommufd_pt cmd = {
		.argsz = sizeof(cmd),
		.pt_id = *pt,
	};

	if (ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd))
		return -errno;
	*pt = cmd.pt_id;
	return 0;
}

struct demo {
	char bdf[PCI_BDF_SIZE];
	int fd;			/* /dev/iommu */
	int dev;		/* /dev/vfio/devices/vfioX */
	__u32 dev_id;
	struct edu edu;
	uint8_t *mem;		/* buffers A, B, C */
};

/* The device, bound to vfio-pci, bound to an iommufd through its cdev */
static int take(struct demo *d)
{
	char parent[PCI_BDF_SIZE], path[256];
	int ret;

	if (edu_find_single(d->bdf)) {
		say("== No edu device alone in an IOMMU group");
		return -ENODEV;
	}
	if (pci_parent(d->bdf, parent))
		strcpy(parent, "?");
	say("== The device: QEMU's edu DMA engine %s (1234:11e8) below %s, alone in IOMMU group %d",
	    d->bdf, parent, pci_iommu_group(d->bdf));
	pci_release(d->bdf);
	ret = pci_bind(d->bdf, "vfio-pci");
	ret = ret ?: vfio_cdev_path(d->bdf, path, sizeof(path));
	say("  bind it to vfio-pci: %s -> %s", err(ret), ret ? "?" : path);
	if (ret)
		return ret;

	putchar('\n');
	say("== Userspace takes it: VFIO device cdev + iommufd");
	d->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ret = d->fd < 0 ? -errno : 0;
	if (!ret) {
		d->dev = vfio_cdev_open(d->bdf);
		ret = d->dev < 0 ? d->dev : 0;
	}
	ret = ret ?: cdev_bind(d->dev, d->fd, &d->dev_id);
	say("  open /dev/iommu and %s, VFIO_DEVICE_BIND_IOMMUFD: %s (device object %u)",
	    path, err(ret), d->dev_id);
	if (ret)
		return ret;
	say("  -> its DMA belongs to this program now, blocked until it is attached");
	ret = edu_init(&d->edu, d->dev);
	expect(!ret, "edu_init failed");
	return ret;
}

static void dma(struct demo *d)
{
	uint8_t *a = d->mem, *b = d->mem + SZ, *c = d->mem + 2 * SZ;
	__u32 ioas1, ioas2, hwpt1, hwpt2;
	char line[512];
	int ret, kmsg;
	bool gone;
	double t0;

	memcpy(a, msg, sizeof(msg));
	ret = ioas_alloc(d->fd, &ioas1);
	ret = ret ?: ioas_map(d->fd, ioas1, a, IOVA_SRC);
	ret = ret ?: ioas_map(d->fd, ioas1, b, IOVA_DST);
	say("  IOAS %u: buffer A (the message) at IOVA 0x%llx, buffer B (zeroes) at 0x%llx: %s",
	    ioas1, IOVA_SRC, IOVA_DST, err(ret));
	hwpt1 = ioas1;
	ret = ret ?: cdev_attach(d->dev, &hwpt1);
	say("  VFIO_DEVICE_ATTACH_IOMMUFD_PT to IOAS %u: %s -> HW pagetable %u (an IOMMU domain)",
	    ioas1, err(ret), hwpt1);
	expect(!ret, "could not attach");
	if (ret)
		return;

	putchar('\n');
	say("== DMA");
	t0 = now();
	ret = edu_dma_from_ram(&d->edu, IOVA_SRC, 0, SZ);
	ret = ret ?: edu_dma_to_ram(&d->edu, 0, IOVA_DST, SZ);
	say("  edu: IOVA 0x%llx -> device -> IOVA 0x%llx, %d bytes each way: %s (%.2f s)",
	    IOVA_SRC, IOVA_DST, SZ, err(ret), now() - t0);
	say("  buffer B now holds \"%.*s\"", (int)sizeof(msg) - 1, b);
	expect(!memcmp(a, b, SZ), "the data did not land in buffer B");

	putchar('\n');
	say("== Replace: the device moves to another page table in one step");
	memset(c, 0, SZ);
	ret = ioas_alloc(d->fd, &ioas2);
	ret = ret ?: ioas_map(d->fd, ioas2, c, IOVA_DST);
	ret = ret ?: hwpt_alloc(d->fd, d->dev_id, ioas2, &hwpt2);
	say("  IOAS %u: buffer C (zeroes) at the same IOVA 0x%llx; IOMMU_HWPT_ALLOC: %s -> HW pagetable %u",
	    ioas2, IOVA_DST, err(ret), hwpt2);
	ret = ret ?: cdev_attach(d->dev, &hwpt2);
	gone = destroy(d->fd, hwpt1) == -ENOENT;
	say("  ATTACH to HW pagetable %u while attached (a replace): %s; pagetable %u %s",
	    hwpt2, err(ret), hwpt1,
	    gone ? "went away with it" : "IS STILL THERE");
	expect(!ret && gone, "the replace failed");
	memset(b, 0, SZ);
	ret = ret ?: edu_dma_to_ram(&d->edu, 0, IOVA_DST, SZ);
	say("  edu: device -> IOVA 0x%llx: %s", IOVA_DST, err(ret));
	say("  buffer C now holds \"%.*s\", buffer B is %s",
	    (int)sizeof(msg) - 1, c,
	    all_bytes(b, SZ, 0) ? "untouched" : "WRITTEN");
	expect(!memcmp(a, c, SZ) && all_bytes(b, SZ, 0),
	       "the DMA did not go to buffer C only");

	putchar('\n');
	say("== DMA to an IOVA that is not mapped");
	ret = ioas_unmap(d->fd, ioas2, IOVA_DST);
	memset(c, 0x5a, SZ);
	kmsg = kmsg_open();
	say("  unmap IOVA 0x%llx from IOAS %u: %s; buffer C refilled with 0x5a",
	    IOVA_DST, ioas2, err(ret));
	ret = ret ?: edu_dma_to_ram(&d->edu, 0, IOVA_DST, SZ);
	say("  edu: device -> IOVA 0x%llx: the engine reports %s",
	    IOVA_DST, ret ? err(ret) : "completion");
	expect(all_bytes(c, SZ, 0x5a) && all_bytes(b, SZ, 0),
	       "memory was written through an unmapped IOVA");
	if (kmsg >= 0 &&
	    dmar_fault_wait(kmsg, d->bdf, IOVA_DST, 5000, line, sizeof(line))) {
		say("  buffer C %s; the IOMMU blocked the DMA and the kernel logged:",
		    all_bytes(c, SZ, 0x5a) ? "is untouched" : "WAS WRITTEN");
		say("     %s", line);
	} else {
		say("  no DMAR fault in the kernel log");
		problems++;
	}
	if (kmsg >= 0)
		close(kmsg);
}

/* A kernel driver is refused on a group a bound device makes user-owned */
static void ownership(void)
{
	char fn0[PCI_BDF_SIZE], fn1[PCI_BDF_SIZE], members[256];
	int fd, dev = -1, ret, busy, freed;
	__u32 dev_id;

	putchar('\n');
	if (edu_find_multi(fn0, fn1)) {
		say("== (no edu group with several functions: ownership not shown)");
		return;
	}
	group_members(pci_iommu_group(fn0), members, sizeof(members));
	say("== Ownership, on IOMMU group %d: %s", pci_iommu_group(fn0),
	    members);
	pci_release(fn1);
	pci_release(fn0);
	fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ret = fd < 0 ? -errno : pci_bind(fn0, "vfio-pci");
	if (!ret) {
		dev = vfio_cdev_open(fn0);
		ret = dev < 0 ? dev : cdev_bind(dev, fd, &dev_id);
	}
	busy = ret ?: pci_bind(fn1, "serial");
	pci_release(fn1);
	if (dev >= 0)
		close(dev);
	freed = pci_bind(fn1, "serial");
	pci_release(fn1);
	say("  bind the DMA-API driver \"serial\" to %s while %s is bound to an iommufd: %s",
	    pci_short_bdf(fn1), pci_short_bdf(fn0), err(busy));
	say("  the same once %s is closed: %s", pci_short_bdf(fn0),
	    freed == -ENODEV ? "it probes (and declines: no serial port)" :
	    err(freed));
	expect(busy == -EBUSY, "the kernel driver was not refused with EBUSY");
	expect(freed != -EBUSY, "still refused after the device was closed");
	if (fd >= 0)
		close(fd);
	pci_release(fn0);
}

int main(void)
{
	struct demo d = { .fd = -1, .dev = -1 };
	long pinned;

	d.mem = mmap(NULL, 3 * SZ, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d.mem == MAP_FAILED)
		return 1;
	memset(d.mem, 0, 3 * SZ);

	if (take(&d))
		problems++;
	else
		dma(&d);
	edu_uninit(&d.edu);
	if (d.dev >= 0)
		close(d.dev);
	if (d.fd >= 0)
		close(d.fd);
	pinned = vm_pin_kb();
	pci_release(d.bdf);
	expect(pinned == 0, "pages still pinned after closing everything");

	ownership();

	putchar('\n');
	say("== Done: files closed, %ld kB pinned, vfio-pci unbound", pinned);
	if (problems)
		say("demo: %d thing(s) did not behave as expected", problems);
	else
		say("demo: all as expected");
	return problems ? 1 : 0;
}
