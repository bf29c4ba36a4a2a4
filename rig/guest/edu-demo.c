// SPDX-License-Identifier: GPL-2.0
/*
 * The DMA part of `make run` (rig/guest/demo): takes QEMU's edu device away
 * from the kernel, shows that a kernel driver is refused while userspace
 * owns an IOMMU group, lets the edu DMA through the IOMMU to a mapped IOVA
 * and to an unmapped one, and prints what happens in plain lines.
 * Exit status 0 when everything behaved as it should.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include <linux/vfio.h>

#include "edu.h"
#include "vfio_util.h"

#define IOVA_SRC	0x100000ULL
#define IOVA_DST	0x200000ULL
#define IOVA_GONE	0x300000ULL
#define SZ		EDU_BUF_SIZE

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

static void show_group(const char *bdf)
{
	char members[IOMMU_GROUP_MAX_DEVS][PCI_BDF_SIZE], line[256] = "";
	int g = pci_iommu_group(bdf), i, n;

	n = g < 0 ? 0 : iommu_group_devices(g, members, IOMMU_GROUP_MAX_DEVS);
	for (i = 0; i < n; i++) {
		strcat(line, " ");
		strcat(line, members[i]);
	}
	say("  its IOMMU group: %d, devices:%s", g, line);
}

/* Part 2: ownership, on the two-function group */
static void ownership(void)
{
	char fn0[PCI_BDF_SIZE], fn1[PCI_BDF_SIZE];
	int group, container, ret, gid;

	putchar('\n');
	say("== Ownership: kernel drivers stay off a group userspace owns");
	say("  (shown on another group: one with two devices)");
	if (edu_find_multi(fn0, fn1)) {
		say("  (no two-function edu group in this VM, skipped)");
		return;
	}
	pci_release(fn0);
	pci_release(fn1);
	gid = pci_iommu_group(fn0);
	say("  edu functions %s and %s share IOMMU group %d", fn0, fn1, gid);

	ret = pci_bind(fn0, "vfio-pci");
	say("  bind %s to vfio-pci: %s", fn0, err(ret));
	expect(!ret, "vfio-pci bind failed");

	group = vfio_group_open(gid);
	container = vfio_container_open();
	ret = group < 0 ? group : container < 0 ? container :
		vfio_group_set_container(group, container);
	if (!ret)
		ret = vfio_container_set_iommu(container, VFIO_TYPE1v2_IOMMU);
	say("  open /dev/vfio/%d, attach it to a container, type1 IOMMU: %s",
	    gid, err(ret));
	say("  -> group %d is now owned by this program (userspace)", gid);
	expect(!ret, "could not claim the group");

	ret = pci_bind(fn1, "serial");
	say("  bind %s to \"serial\" (a kernel driver using the DMA API): %s",
	    fn1, err(ret));
	expect(ret == -EBUSY, "the kernel driver was not refused with EBUSY");
	if (ret == -EBUSY)
		say("  -> refused: the group belongs to userspace");

	ret = pci_bind(fn1, "pci-stub");
	say("  bind %s to pci-stub (does no DMA): %s", fn1, err(ret));
	expect(!ret, "pci-stub was refused");
	pci_unbind(fn1);

	if (group >= 0)
		close(group);
	if (container >= 0)
		close(container);
	say("  close the group: userspace gives the group back");
	ret = pci_bind(fn1, "serial");
	say("  bind %s to \"serial\" again: %s", fn1, err(ret));
	expect(ret != -EBUSY, "still refused after release");
	if (ret != -EBUSY)
		say("  -> now the driver may look at the device (and declines: the edu is no serial port)");
	pci_release(fn1);
	pci_release(fn0);
}

struct demo {
	char bdf[PCI_BDF_SIZE];
	struct vfio_legacy v;
	struct edu edu;
};

/* Part 1: the device, and userspace taking it from the kernel */
static int take(struct demo *d)
{
	char parent[PCI_BDF_SIZE], drv[64];
	int ret;

	say("== The device");
	if (edu_find_single(d->bdf)) {
		say("  no edu device alone in an IOMMU group");
		return -ENODEV;
	}
	if (pci_parent(d->bdf, parent))
		strcpy(parent, "?");
	say("  QEMU edu DMA engine %s (1234:11e8), below PCIe root port %s",
	    d->bdf, parent);
	show_group(d->bdf);
	pci_driver(d->bdf, drv, sizeof(drv));
	say("  kernel driver: %s", drv[0] ? drv : "none");

	putchar('\n');
	say("== Userspace takes the device: VFIO");
	pci_release(d->bdf);
	ret = pci_bind(d->bdf, "vfio-pci");
	say("  bind %s to vfio-pci: %s -> /dev/vfio/%d", d->bdf, err(ret),
	    pci_iommu_group(d->bdf));
	ret = ret ?: vfio_legacy_open(&d->v, d->bdf);
	say("  open /dev/vfio/%d, attach it to a container (/dev/vfio/vfio) with the type1 IOMMU, get the device: %s",
	    pci_iommu_group(d->bdf), err(ret));
	if (ret)
		return ret;
	say("  -> the group is owned by this program: the kernel switched it from its DMA API domain to ours");
	ret = edu_init(&d->edu, d->v.device);
	say("  map BAR0 through VFIO, enable bus mastering: %s (edu id 0x%08x)",
	    err(ret), d->edu.id);
	return ret;
}

/* Part 3: DMA through the IOMMU */
static void dma(struct demo *d)
{
	static const char msg[] = "Hello from the edu device, through the IOMMU!";
	const char *needles[4];
	char addr[64], dev[32], line[512];
	uint8_t *src, *dst, *victim;
	struct edu *edu = &d->edu;
	int c = d->v.container;
	int ret, kmsg, i, untouched;
	double t0;

	putchar('\n');
	say("== DMA through the IOMMU");
	src = mmap(NULL, 3 * SZ, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED) {
		problems++;
		return;
	}
	dst = src + SZ;
	victim = src + 2 * SZ;
	memset(src, 0, 3 * SZ);
	memcpy(src, msg, sizeof(msg));

	ret = vfio_type1_map(c, src, IOVA_SRC, SZ);
	say("  map buffer A (%p) at IOVA 0x%llx: %s", src, IOVA_SRC, err(ret));
	ret = ret ?: vfio_type1_map(c, dst, IOVA_DST, SZ);
	say("  map buffer B (%p) at IOVA 0x%llx: %s", dst, IOVA_DST, err(ret));
	expect(!ret, "VFIO_IOMMU_MAP_DMA failed");
	say("  buffer A holds \"%s\", buffer B is zeroed", src);

	t0 = now();
	ret = edu_dma_from_ram(edu, IOVA_SRC, 0, SZ);
	say("  edu DMA: IOVA 0x%llx -> device, %d bytes: %s (%.2f s)",
	    IOVA_SRC, SZ, err(ret), now() - t0);
	t0 = now();
	ret = ret ?: edu_dma_to_ram(edu, 0, IOVA_DST, SZ);
	say("  edu DMA: device -> IOVA 0x%llx, %d bytes: %s (%.2f s)",
	    IOVA_DST, SZ, err(ret), now() - t0);
	say("  buffer B now holds \"%.*s\"", (int)sizeof(msg) - 1, dst);
	expect(!memcmp(src, dst, SZ), "the data did not land in buffer B");
	if (!memcmp(src, dst, SZ))
		say("  -> the DMA landed: the IOMMU translated both IOVAs");

	putchar('\n');
	say("== DMA to an IOVA that is not mapped");
	memset(victim, 0x5a, SZ);
	ret = vfio_type1_map(c, victim, IOVA_GONE, SZ);
	ret = ret ?: (vfio_type1_unmap(c, IOVA_GONE, SZ) == SZ ? 0 : -EIO);
	say("  buffer C (%p, all bytes 0x5a) mapped at IOVA 0x%llx, then unmapped: %s",
	    victim, IOVA_GONE, err(ret));
	kmsg = kmsg_open();
	ret = edu_dma_to_ram(edu, 0, IOVA_GONE, SZ);
	say("  edu DMA: device -> IOVA 0x%llx: the engine reports %s",
	    IOVA_GONE, ret ? err(ret) : "completion");
	for (i = 0, untouched = 1; i < SZ; i++)
		untouched &= victim[i] == 0x5a;
	say("  buffer C %s", untouched ? "is untouched (all 0x5a)" :
	    "WAS WRITTEN");
	expect(untouched, "memory behind the unmapped IOVA was written");

	snprintf(addr, sizeof(addr), "fault addr 0x%llx ", IOVA_GONE);
	snprintf(dev, sizeof(dev), "[%s]", pci_short_bdf(d->bdf));
	needles[0] = "DMAR";
	needles[1] = addr;
	needles[2] = dev;
	needles[3] = NULL;
	if (kmsg >= 0 && kmsg_wait(kmsg, needles, 5000, line, sizeof(line))) {
		say("  -> the IOMMU blocked it and reported a fault; kernel log:");
		say("     %s", line);
	} else {
		say("  no DMAR fault in the kernel log");
		problems++;
	}
	if (kmsg >= 0)
		close(kmsg);
	munmap(src, 3 * SZ);
}

int main(void)
{
	struct demo d = { .v = { .container = -1, .group = -1, .device = -1 } };

	if (take(&d)) {
		problems++;
	} else {
		ownership();
		dma(&d);
	}
	edu_uninit(&d.edu);
	vfio_legacy_close(&d.v);
	pci_release(d.bdf);
	putchar('\n');
	say("== Done: VFIO closed, vfio-pci unbound, the device has no driver again");
	if (problems)
		say("demo: %d thing(s) did not behave as expected", problems);
	else
		say("demo: all as expected");
	return problems ? 1 : 0;
}
