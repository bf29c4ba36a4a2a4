// SPDX-License-Identifier: GPL-2.0
/*
 * The DMA part of `make run` (rig/guest/demo), through the VFIO device cdev
 * and iommufd: takes QEMU's edu device away from the kernel, binds it to an
 * iommufd, attaches it to an IOAS and lets it DMA, replaces its page table
 * with another one that maps the same IOVA to another buffer, DMAs again,
 * and shows a DMA to an unmapped IOVA blocked. Then nested translation, as
 * a VMM with a vIOMMU uses it: a page table the "guest" writes into its
 * RAM, walked by the IOMMU inside the second stage that maps that RAM, with
 * the dirty pages a migration would read and a first-stage fault after the
 * guest's unmap and invalidation (on hardware without nesting: the
 * documented refusal). Last, briefly, that a kernel driver is refused on a
 * group userspace owns. Plain lines, ~40 of them. Exit status 0 when
 * everything behaved as it should.
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

/*
 * The nested step: the guest's RAM, pages at guest-physical GPA_BASE, holds
 * a 4-level first-stage table mapping S1_SRC to G_SRC and S1_DST to G_DST
 */
#define PG		4096ULL
#define GPA_BASE	0x10000000ULL
#define GPA(pg)		(GPA_BASE + (pg) * PG)
enum { G_PML4, G_PDPT, G_PD, G_PT, G_SRC, G_DST, G_PAGES };
#define S1_SRC		0x40000000ULL
#define S1_DST		0x40001000ULL
#define FS_P		0x1ULL		/* first-stage entry: present, */
#define FS_RW		0x2ULL		/* writable, */
#define FS_US		0x4ULL		/* user, */
#define FS_A		0x20ULL		/* accessed, */
#define FS_D		0x40ULL		/* dirty */
#define FS_TABLE	(FS_P | FS_RW | FS_US)
#define ECAP_NEST	(1ULL << 26)	/* VT-d: nested translation */
#define ECAP_SSADS	(1ULL << 45)	/* VT-d: second-stage A/D */
/* The kernel's rate limit of DMAR fault reports, and a margin */
#define DMAR_REPORT_INTERVAL_US	(5500 * 1000)

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

static int ioas_map_len(int fd, __u32 ioas, void *va, __u64 iova, __u64 len)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	return ioctl(fd, IOMMU_IOAS_MAP, &cmd) ? -errno : 0;
}

static int ioas_map(int fd, __u32 ioas, void *va, __u64 iova)
{
	return ioas_map_len(fd, ioas, va, iova, SZ);
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

static int hwpt_alloc_data(int fd, __u32 dev_id, __u32 pt, __u32 flags,
			   __u32 type, void *data, __u32 len, __u32 *id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = dev_id,
		.pt_id = pt,
		.data_type = type,
		.data_len = len,
		.data_uptr = (uintptr_t)data,
	};

	if (ioctl(fd, IOMMU_HWPT_ALLOC, &cmd))
		return -errno;
	*id = cmd.out_hwpt_id;
	return 0;
}

static int hwpt_alloc(int fd, __u32 dev_id, __u32 ioas, __u32 *id)
{
	return hwpt_alloc_data(fd, dev_id, ioas, 0, IOMMU_HWPT_DATA_NONE,
			       NULL, 0, id);
}

static int hw_info(int fd, __u32 dev_id, struct iommu_hw_info_vtd *vtd,
		   __u32 *type)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = dev_id,
		.data_len = sizeof(*vtd),
		.data_uptr = (uintptr_t)vtd,
	};

	memset(vtd, 0, sizeof(*vtd));
	if (ioctl(fd, IOMMU_GET_HW_INFO, &cmd))
		return -errno;
	*type = cmd.out_data_type;
	return 0;
}

static int invalidate_s1(int fd, __u32 hwpt, __u64 addr, __u64 npages)
{
	struct iommu_hwpt_vtd_s1_invalidate inv = {
		.addr = addr,
		.npages = npages,
	};
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt,
		.data_uptr = (uintptr_t)&inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
		.entry_len = sizeof(inv),
		.entry_num = 1,
	};

	return ioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd) ? -errno : 0;
}

static int dirty_tracking(int fd, __u32 hwpt, bool on)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd),
		.flags = on ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt,
	};

	return ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd) ? -errno : 0;
}

/* Read and clear the dirty bits of up to 64 pages from @iova */
static int dirty_bitmap(int fd, __u32 hwpt, __u64 iova, int pages,
			__u64 *bits)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt,
		.iova = iova,
		.length = pages * PG,
		.page_size = PG,
		.data = (uintptr_t)bits,
	};

	*bits = 0;
	return ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd) ? -errno : 0;
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

/*
 * The edu writes to @iova, which the IOMMU must refuse: true when the kernel
 * reported the fault (into @line). The kernel rate-limits its reports: when
 * none came, once more after the limit's interval.
 */
static bool write_blocked(struct demo *d, __u64 iova, char *line, size_t size)
{
	bool seen = false;
	int attempt, kmsg;

	kmsg = kmsg_open();
	if (kmsg < 0)
		return false;
	for (attempt = 0; attempt < 2 && !seen; attempt++) {
		if (attempt)
			usleep(DMAR_REPORT_INTERVAL_US);
		seen = !edu_dma_to_ram(&d->edu, 0, iova, SZ) &&
		       iommu_fault_wait(kmsg, d->bdf, iova, 5000, line, size);
	}
	close(kmsg);
	return seen;
}

static void dma(struct demo *d)
{
	uint8_t *a = d->mem, *b = d->mem + SZ, *c = d->mem + 2 * SZ;
	__u32 ioas1, ioas2, hwpt1, hwpt2;
	char line[512];
	bool gone, blocked;
	double t0;
	int ret;

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
	say("  unmap IOVA 0x%llx from IOAS %u: %s; buffer C refilled with 0x5a",
	    IOVA_DST, ioas2, err(ret));
	blocked = !ret && write_blocked(d, IOVA_DST, line, sizeof(line));
	expect(all_bytes(c, SZ, 0x5a) && all_bytes(b, SZ, 0),
	       "memory was written through an unmapped IOVA");
	if (blocked) {
		say("  edu: device -> IOVA 0x%llx: buffer C %s; the IOMMU blocked the DMA and the kernel logged:",
		    IOVA_DST, all_bytes(c, SZ, 0x5a) ? "is untouched" : "WAS WRITTEN");
		say("     %s", line);
	} else {
		say("  edu: device -> IOVA 0x%llx: no IOMMU fault report in the kernel log",
		    IOVA_DST);
		problems++;
	}
}

/*
 * Nested translation as a VMM with a vIOMMU does it: the guest's RAM in an
 * IOAS under a nesting parent (second stage: guest-physical -> host), the
 * guest's own first-stage table in that RAM, a nested HW pagetable on it
 */
static void nested(struct demo *d)
{
	struct iommu_hwpt_vtd_s1 s1 = {
		.pgtbl_addr = GPA(G_PML4),
		.addr_width = 48,
	};
	struct iommu_hw_info_vtd vtd;
	__u32 type = 0, ioas = 0, parent = 0, hwpt, nest = 0;
	__u64 dirty, want, *leaf;
	uint8_t *ram, *src, *dst;
	bool has_dirty, blocked;
	char line[512];
	int ret;

	putchar('\n');
	say("== Nested translation: the guest's own page table, walked inside a second stage");
	ret = hw_info(d->fd, d->dev_id, &vtd, &type);
	if (!ret && type == IOMMU_HW_INFO_TYPE_INTEL_VTD)
		say("  IOMMU_GET_HW_INFO: Intel VT-d, ECAP 0x%llx: nesting %s, second-stage A/D (dirty tracking) %s",
		    (unsigned long long)vtd.ecap_reg,
		    vtd.ecap_reg & ECAP_NEST ? "yes" : "no",
		    vtd.ecap_reg & ECAP_SSADS ? "yes" : "no");
	else
		say("  IOMMU_GET_HW_INFO: %s, data type %u (no VT-d information)",
		    err(ret), type);
	expect(!ret, "IOMMU_GET_HW_INFO failed");
	if (!(vtd.ecap_reg & ECAP_NEST)) {
		ret = ioas_alloc(d->fd, &ioas);
		ret = ret ?: hwpt_alloc_data(d->fd, d->dev_id, ioas,
					     IOMMU_HWPT_ALLOC_NEST_PARENT,
					     IOMMU_HWPT_DATA_NONE, NULL, 0,
					     &parent);
		say("  IOMMU_HWPT_ALLOC of a nesting parent: %s (this IOMMU cannot nest; MODE=nested has one that can)",
		    err(ret));
		expect(ret == -EOPNOTSUPP, "a nesting parent was not refused with EOPNOTSUPP");
		return;
	}
	has_dirty = vtd.ecap_reg & ECAP_SSADS;

	ram = mmap(NULL, G_PAGES * PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED) {
		expect(0, "no memory for the guest's RAM");
		return;
	}
	memset(ram, 0, G_PAGES * PG);
	src = ram + G_SRC * PG;
	dst = ram + G_DST * PG;
	ret = ioas_alloc(d->fd, &ioas);
	ret = ret ?: ioas_map_len(d->fd, ioas, ram, GPA_BASE, G_PAGES * PG);
	ret = ret ?: hwpt_alloc_data(d->fd, d->dev_id, ioas,
				     IOMMU_HWPT_ALLOC_NEST_PARENT |
				     (has_dirty ? IOMMU_HWPT_ALLOC_DIRTY_TRACKING : 0),
				     IOMMU_HWPT_DATA_NONE, NULL, 0, &parent);
	say("  IOAS %u: %d pages of \"guest RAM\" at guest-physical 0x%llx; a nesting parent on it: %s -> HW pagetable %u",
	    ioas, G_PAGES, GPA_BASE, err(ret), parent);
	expect(!ret, "no nesting parent");
	if (ret)
		goto out_unmap;
	if (has_dirty) {
		ret = dirty_tracking(d->fd, parent, true);
		say("  IOMMU_HWPT_SET_DIRTY_TRACKING on it (as migration starts): %s", err(ret));
		expect(!ret, "dirty tracking did not start");
	}

	/* What a guest's driver writes: a 4-level table, user, read/write */
	memcpy(src, msg, sizeof(msg));
	((__u64 *)(ram + G_PML4 * PG))[(S1_SRC >> 39) & 511] = GPA(G_PDPT) | FS_TABLE;
	((__u64 *)(ram + G_PDPT * PG))[(S1_SRC >> 30) & 511] = GPA(G_PD) | FS_TABLE;
	((__u64 *)(ram + G_PD * PG))[(S1_SRC >> 21) & 511] = GPA(G_PT) | FS_TABLE;
	((__u64 *)(ram + G_PT * PG))[(S1_SRC >> 12) & 511] = GPA(G_SRC) | FS_TABLE;
	leaf = (__u64 *)(ram + G_PT * PG) + ((S1_DST >> 12) & 511);
	*leaf = GPA(G_DST) | FS_TABLE;
	__sync_synchronize();
	say("  the guest writes a first-stage table into its RAM: IOVA 0x%llx -> 0x%llx (the message), 0x%llx -> 0x%llx (zeroes)",
	    S1_SRC, GPA(G_SRC), S1_DST, GPA(G_DST));
	ret = hwpt_alloc_data(d->fd, d->dev_id, parent, 0, IOMMU_HWPT_DATA_VTD_S1,
			      &s1, sizeof(s1), &nest);
	say("  IOMMU_HWPT_ALLOC of a nested pagetable (VT-d stage 1, table at 0x%llx, 48-bit) on %u: %s -> HW pagetable %u",
	    GPA(G_PML4), parent, err(ret), nest);
	hwpt = nest;
	ret = ret ?: cdev_attach(d->dev, &hwpt);
	say("  ATTACH to it (a replace): %s", err(ret));
	expect(!ret, "the nested pagetable could not be attached");
	if (ret)
		goto out_unmap;

	ret = edu_dma_from_ram(&d->edu, S1_SRC, 0, SZ);
	ret = ret ?: edu_dma_to_ram(&d->edu, 0, S1_DST, SZ);
	say("  edu: IOVA 0x%llx -> device -> IOVA 0x%llx: %s; guest page 0x%llx now holds \"%.*s\"",
	    S1_SRC, S1_DST, err(ret), GPA(G_DST), (int)sizeof(msg) - 1, dst);
	expect(!ret && !memcmp(src, dst, SZ), "the data did not land through both stages");
	say("  the IOMMU marked the guest's leaf entries: IOVA 0x%llx %s, IOVA 0x%llx %s",
	    S1_SRC, *(leaf - 1) & FS_A ? "accessed" : "NOT ACCESSED",
	    S1_DST, (*leaf & (FS_A | FS_D)) == (FS_A | FS_D) ?
	    "accessed and dirty" : "NOT DIRTY");
	expect((*leaf & (FS_A | FS_D)) == (FS_A | FS_D), "no A/D bits in the leaf");
	if (has_dirty) {
		ret = dirty_bitmap(d->fd, parent, GPA_BASE, G_PAGES, &dirty);
		want = 1 << G_PML4 | 1 << G_PDPT | 1 << G_PD | 1 << G_PT | 1 << G_DST;
		say("  IOMMU_HWPT_GET_DIRTY_BITMAP of the guest's RAM: %s, pages written: %s%s%s%s%s%s",
		    err(ret), dirty & 1 << G_PML4 ? "0 " : "",
		    dirty & 1 << G_PDPT ? "1 " : "", dirty & 1 << G_PD ? "2 " : "",
		    dirty & 1 << G_PT ? "3 " : "", dirty & 1 << G_SRC ? "4 " : "",
		    dirty & 1 << G_DST ? "5" : "");
		say("     (the four table pages, where the IOMMU set A/D bits, and the page the DMA wrote)");
		expect(!ret && dirty == want, "not exactly the pages written are dirty");
	}

	*leaf = 0;
	__sync_synchronize();
	memset(dst, 0x5a, SZ);
	ret = invalidate_s1(d->fd, nest, S1_DST, 1);
	say("  the guest unmaps IOVA 0x%llx in its table; IOMMU_HWPT_INVALIDATE of that page: %s",
	    S1_DST, err(ret));
	blocked = !ret && write_blocked(d, S1_DST, line, sizeof(line));
	expect(all_bytes(dst, SZ, 0x5a), "memory was written through an unmapped first-stage IOVA");
	if (blocked) {
		say("  edu: device -> IOVA 0x%llx: blocked at the first stage (fault reason 0x71: first-stage entry not present):",
		    S1_DST);
		say("     %s", line);
		expect(!!strstr(line, "[fault reason 0x71]"),
		       "not a first-stage fault");
	} else {
		say("  edu: device -> IOVA 0x%llx: no IOMMU fault report in the kernel log",
		    S1_DST);
		problems++;
	}
out_unmap:
	/* Closing the files frees the pagetables; the pages are unpinned */
	munmap(ram, G_PAGES * PG);
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

	if (take(&d)) {
		problems++;
	} else {
		dma(&d);
		nested(&d);
	}
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
