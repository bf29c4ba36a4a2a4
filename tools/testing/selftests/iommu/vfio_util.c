// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers of the VFIO/IOMMU selftests, see vfio_util.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/vfio.h>

#include "edu.h"
#include "vfio_util.h"

#define PCI_DEVICES	"/sys/bus/pci/devices"
#define PCI_DRIVERS	"/sys/bus/pci/drivers"

int sysfs_write(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t ret;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = write(fd, val, len);
	if (ret < 0)
		ret = -errno;
	else if ((size_t)ret != len)
		ret = -EIO;
	else
		ret = 0;
	close(fd);
	return ret;
}

int sysfs_read(const char *path, char *buf, size_t size)
{
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = read(fd, buf, size - 1);
	if (ret < 0) {
		ret = -errno;
		buf[0] = '\0';
	} else {
		buf[ret] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		ret = 0;
	}
	close(fd);
	return ret;
}

int pci_attr_write(const char *bdf, const char *attr, const char *val)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/%s", bdf, attr);
	return sysfs_write(path, val);
}

int pci_attr_read(const char *bdf, const char *attr, char *buf, size_t size)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/%s", bdf, attr);
	return sysfs_read(path, buf, size);
}

int pci_driver(const char *bdf, char *buf, size_t size)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *name;
	ssize_t len;

	buf[0] = '\0';
	snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver", bdf);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		return errno == ENOENT ? 0 : -errno;
	link[len] = '\0';
	name = strrchr(link, '/');
	snprintf(buf, size, "%s", name ? name + 1 : link);
	return 0;
}

bool pci_has_driver(const char *bdf, const char *driver)
{
	char name[64];

	if (pci_driver(bdf, name, sizeof(name)))
		return false;
	return !strcmp(name, driver);
}

int pci_set_override(const char *bdf, const char *driver)
{
	/* A lone newline clears driver_override. */
	return pci_attr_write(bdf, "driver_override", driver ?: "\n");
}

int pci_bind(const char *bdf, const char *driver)
{
	char path[PATH_MAX];
	int ret;

	ret = pci_set_override(bdf, driver);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), PCI_DRIVERS "/%s/bind", driver);
	return sysfs_write(path, bdf);
}

int pci_unbind(const char *bdf)
{
	char path[PATH_MAX], name[64];
	int ret;

	ret = pci_driver(bdf, name, sizeof(name));
	if (ret || !name[0])
		return ret;
	snprintf(path, sizeof(path), PCI_DRIVERS "/%s/unbind", name);
	return sysfs_write(path, bdf);
}

int pci_release(const char *bdf)
{
	int ret = pci_unbind(bdf);
	int ret2 = pci_set_override(bdf, NULL);

	return ret ?: ret2;
}

int pci_ids(const char *bdf, uint16_t *vendor, uint16_t *device)
{
	char buf[32];
	int ret;

	ret = pci_attr_read(bdf, "vendor", buf, sizeof(buf));
	if (ret)
		return ret;
	*vendor = strtoul(buf, NULL, 0);
	ret = pci_attr_read(bdf, "device", buf, sizeof(buf));
	if (ret)
		return ret;
	*device = strtoul(buf, NULL, 0);
	return 0;
}

bool pci_is_edu(const char *bdf)
{
	uint16_t vendor, device;

	if (pci_ids(bdf, &vendor, &device))
		return false;
	return vendor == EDU_VENDOR_ID && device == EDU_DEVICE_ID;
}

int pci_parent(const char *bdf, char *parent)
{
	char path[PATH_MAX], real[PATH_MAX], *slash;
	const char *name;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s", bdf);
	if (!realpath(path, real))
		return -errno;
	slash = strrchr(real, '/');
	if (!slash)
		return -ENODEV;
	*slash = '\0';
	slash = strrchr(real, '/');
	name = slash ? slash + 1 : real;
	/* The parent of a device on a root bus is "pciDDDD:BB". */
	if (!strncmp(name, "pci", 3) || strlen(name) >= PCI_BDF_SIZE)
		return -ENODEV;
	snprintf(path, sizeof(path), PCI_DEVICES "/%s", name);
	if (access(path, F_OK))
		return -ENODEV;
	strcpy(parent, name);
	return 0;
}

#define DMA_API_DRIVER_DIR	PCI_DRIVERS "/" DMA_API_DRIVER
/* 8250_pci's pbn_b0_1_115200: one UART at the start of BAR 0 */
#define SERIAL_BOARD	1
/* A driver_override no driver answers to */
#define NO_DRIVER	"selftests-iommu-none"
/* Most edu devices kept from the driver during one dma_api_bind() */
#define MAX_GUARDED	32

struct dma_api_guarded {
	char bdf[PCI_BDF_SIZE];
	char override[64];
};

/* An unset driver_override reads "(null)" */
static bool override_unset(const char *override)
{
	return !override[0] || !strcmp(override, "(null)");
}

static void dma_api_unguard(struct dma_api_guarded *g, int n)
{
	while (n--)
		pci_set_override(g[n].bdf, override_unset(g[n].override) ?
					   NULL : g[n].override);
}

/*
 * A new dynamic id binds its driver to every unbound device it matches.
 * Keep the driver off the other edu devices meanwhile: each unbound one it
 * could take (no driver_override, or its own) gets an override of no driver.
 * Returns the number of devices guarded or a negative errno (and then none).
 */
static int dma_api_guard(struct dma_api_guarded *g, int max)
{
	char override[64], driver[64];
	struct dirent *d;
	int n = 0, ret = 0;
	DIR *dir;

	dir = opendir(PCI_DEVICES);
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || strlen(d->d_name) >= PCI_BDF_SIZE ||
		    !pci_is_edu(d->d_name))
			continue;
		ret = pci_driver(d->d_name, driver, sizeof(driver));
		if (ret)
			break;
		if (driver[0])
			continue;
		ret = pci_attr_read(d->d_name, "driver_override", override,
				    sizeof(override));
		if (ret)
			break;
		if (!override_unset(override) && strcmp(override, DMA_API_DRIVER))
			continue;
		if (n == max) {
			ret = -E2BIG;
			break;
		}
		ret = pci_set_override(d->d_name, NO_DRIVER);
		if (ret)
			break;
		strcpy(g[n].bdf, d->d_name);
		strcpy(g[n].override, override);
		n++;
	}
	closedir(dir);
	if (ret) {
		dma_api_unguard(g, n);
		return ret;
	}
	return n;
}

void dma_api_remove_ids(void)
{
	char id[32];
	int i;

	snprintf(id, sizeof(id), "%04x %04x", EDU_VENDOR_ID, EDU_DEVICE_ID);
	for (i = 0; i < MAX_GUARDED; i++)
		if (sysfs_write(DMA_API_DRIVER_DIR "/remove_id", id))
			break;
}

/*
 * With the dynamic id serial's probe takes the edu (a device of the fixed
 * board needs no serial class); without it, serial gets as far as declining
 * the device.
 */
int dma_api_bind(const char *bdf)
{
	struct dma_api_guarded g[MAX_GUARDED];
	char id[64];
	int n, ret;

	n = dma_api_guard(g, MAX_GUARDED);
	if (n < 0)
		return n;
	snprintf(id, sizeof(id), "%04x %04x ffffffff ffffffff 0 0 %x",
		 EDU_VENDOR_ID, EDU_DEVICE_ID, SERIAL_BOARD);
	ret = sysfs_write(DMA_API_DRIVER_DIR "/new_id", id);
	dma_api_unguard(g, n);
	if (ret)
		fprintf(stderr, "# " DMA_API_DRIVER ": new_id \"%s\": %s\n", id,
			strerror(-ret));
	ret = pci_bind(bdf, DMA_API_DRIVER);
	dma_api_remove_ids();
	return ret;
}

int dma_api_bind_unbind(const char *bdf)
{
	int ret = dma_api_bind(bdf);

	if (!ret && !pci_has_driver(bdf, DMA_API_DRIVER))
		ret = -ENXIO;
	if (ret)
		fprintf(stderr, "# " DMA_API_DRIVER " did not bind to %s: %s\n", bdf,
			strerror(-ret));
	return ret ?: pci_unbind(bdf);
}

int pci_iommu_group(const char *bdf)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *name;
	ssize_t len;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/iommu_group", bdf);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		return -errno;
	link[len] = '\0';
	name = strrchr(link, '/');
	return atoi(name ? name + 1 : link);
}

static int bdf_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int iommu_group_devices(int group, char bdfs[][PCI_BDF_SIZE], int max)
{
	char path[PATH_MAX];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices",
		 group);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || strlen(d->d_name) >= PCI_BDF_SIZE)
			continue;
		if (n < max)
			strcpy(bdfs[n], d->d_name);
		n++;
	}
	closedir(dir);
	if (n > max)
		return -E2BIG;
	qsort(bdfs, n, PCI_BDF_SIZE, bdf_cmp);
	return n;
}

/* Call @match for every edu device in address order until it returns 0. */
static int edu_for_each(int (*match)(const char *bdf, void *arg), void *arg)
{
	struct dirent **list;
	int i, n, ret = -ENODEV;

	n = scandir(PCI_DEVICES, &list, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		if (ret && list[i]->d_name[0] != '.' &&
		    strlen(list[i]->d_name) < PCI_BDF_SIZE &&
		    pci_is_edu(list[i]->d_name))
			ret = match(list[i]->d_name, arg);
		free(list[i]);
	}
	free(list);
	return ret ? -ENODEV : 0;
}

static bool env_bdf(const char *name, char *bdf)
{
	const char *val = getenv(name);

	if (!val || !val[0] || strlen(val) >= PCI_BDF_SIZE)
		return false;
	strcpy(bdf, val);
	return true;
}

static int match_single(const char *bdf, void *arg)
{
	char members[IOMMU_GROUP_MAX_DEVS][PCI_BDF_SIZE];
	int group = pci_iommu_group(bdf);

	if (group < 0 ||
	    iommu_group_devices(group, members, IOMMU_GROUP_MAX_DEVS) != 1)
		return -ENODEV;
	strcpy(arg, bdf);
	return 0;
}

int edu_find_single(char *bdf)
{
	if (env_bdf("EDU_BDF", bdf))
		return 0;
	return edu_for_each(match_single, bdf);
}

static int match_multi(const char *bdf, void *arg)
{
	char members[IOMMU_GROUP_MAX_DEVS][PCI_BDF_SIZE];
	char (*out)[PCI_BDF_SIZE] = arg;
	int group = pci_iommu_group(bdf);
	int i, n;

	if (group < 0)
		return -ENODEV;
	n = iommu_group_devices(group, members, IOMMU_GROUP_MAX_DEVS);
	if (n < 2)
		return -ENODEV;
	for (i = 0; i < n; i++)
		if (!pci_is_edu(members[i]))
			return -ENODEV;
	strcpy(out[0], members[0]);
	strcpy(out[1], members[1]);
	return 0;
}

int edu_find_multi(char *fn0, char *fn1)
{
	char found[2][PCI_BDF_SIZE];
	int ret;

	if (env_bdf("EDU_MULTI_FN0", fn0) && env_bdf("EDU_MULTI_FN1", fn1))
		return 0;
	ret = edu_for_each(match_multi, found);
	if (ret)
		return ret;
	strcpy(fn0, found[0]);
	strcpy(fn1, found[1]);
	return 0;
}

static int match_behind_port(const char *bdf, void *arg)
{
	char parent[PCI_BDF_SIZE];
	int group = pci_iommu_group(bdf);

	if (group < 0 || pci_parent(bdf, parent) ||
	    pci_iommu_group(parent) != group)
		return -ENODEV;
	strcpy(arg, bdf);
	return 0;
}

int edu_find_behind_port(char *bdf, char *port)
{
	int ret;

	if (!env_bdf("EDU_PORT_BDF", bdf)) {
		ret = edu_for_each(match_behind_port, bdf);
		if (ret)
			return ret;
	}
	return pci_parent(bdf, port);
}

int vfio_container_open(void)
{
	int fd, ret;

	fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		ret = -EINVAL;
		goto err;
	}
	if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		ret = -EOPNOTSUPP;
		goto err;
	}
	return fd;
err:
	close(fd);
	return ret;
}

int vfio_group_open(int group)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int vfio_group_flags(int group_fd)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };

	if (ioctl(group_fd, VFIO_GROUP_GET_STATUS, &status))
		return -errno;
	return status.flags;
}

int vfio_group_set_container(int group_fd, int container_fd)
{
	return ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd) ?
		-errno : 0;
}

int vfio_group_unset_container(int group_fd)
{
	return ioctl(group_fd, VFIO_GROUP_UNSET_CONTAINER) ? -errno : 0;
}

int vfio_container_set_iommu(int container_fd, unsigned long type)
{
	return ioctl(container_fd, VFIO_SET_IOMMU, type) ? -errno : 0;
}

int vfio_group_device_fd(int group_fd, const char *bdf)
{
	int fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, bdf);

	return fd < 0 ? -errno : fd;
}

int vfio_type1_map(int container_fd, void *vaddr, uint64_t iova,
		   uint64_t size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(container_fd, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

int64_t vfio_type1_unmap(int container_fd, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};

	if (ioctl(container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return -errno;
	return unmap.size;
}

int vfio_legacy_open(struct vfio_legacy *v, const char *bdf)
{
	int ret;

	v->container = -1;
	v->device = -1;
	v->group_id = pci_iommu_group(bdf);
	if (v->group_id < 0)
		return v->group_id;
	v->group = vfio_group_open(v->group_id);
	if (v->group < 0)
		return v->group;

	ret = vfio_group_flags(v->group);
	if (ret < 0)
		goto err;
	if (!(ret & VFIO_GROUP_FLAGS_VIABLE)) {
		ret = -EBUSY;
		goto err;
	}
	v->container = vfio_container_open();
	if (v->container < 0) {
		ret = v->container;
		goto err;
	}
	ret = vfio_group_set_container(v->group, v->container);
	if (ret)
		goto err;
	ret = vfio_container_set_iommu(v->container, VFIO_TYPE1v2_IOMMU);
	if (ret)
		goto err;
	v->device = vfio_group_device_fd(v->group, bdf);
	if (v->device < 0) {
		ret = v->device;
		goto err;
	}
	return 0;
err:
	vfio_legacy_close(v);
	return ret;
}

void vfio_legacy_close(struct vfio_legacy *v)
{
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	v->device = -1;
	v->group = -1;
	v->container = -1;
}

int vfio_cdev_path(const char *bdf, char *path, size_t size)
{
	char dir[PATH_MAX], attr[2 * PATH_MAX], buf[32];
	unsigned int maj, min;
	struct dirent *d;
	struct stat st;
	DIR *dp;
	int ret = -ENODEV;

	snprintf(dir, sizeof(dir), PCI_DEVICES "/%s/vfio-dev", bdf);
	dp = opendir(dir);
	if (!dp)
		return -ENODEV;
	while ((d = readdir(dp))) {
		if (strncmp(d->d_name, "vfio", 4))
			continue;
		snprintf(attr, sizeof(attr), "%s/%s/dev", dir, d->d_name);
		/* No "dev": the kernel gave the device no cdev */
		if (sysfs_read(attr, buf, sizeof(buf)) ||
		    sscanf(buf, "%u:%u", &maj, &min) != 2)
			break;
		snprintf(path, size, "/dev/vfio/devices/%s", d->d_name);
		if (stat(path, &st)) {
			ret = -errno;
			break;
		}
		ret = S_ISCHR(st.st_mode) && major(st.st_rdev) == maj &&
		      minor(st.st_rdev) == min ? 0 : -ENXIO;
		break;
	}
	closedir(dp);
	return ret;
}

int vfio_cdev_open(const char *bdf)
{
	char path[PATH_MAX];
	int fd, ret;

	ret = vfio_cdev_path(bdf, path, sizeof(path));
	if (ret)
		return ret;
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static uint64_t kmsg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool kmsg_match(const char *text, const char *const *needles)
{
	for (; *needles; needles++)
		if (!strstr(text, *needles))
			return false;
	return true;
}

/* The text of the next record before @deadline, into @rec; NULL: none */
static char *kmsg_next(int fd, uint64_t deadline, char *rec, size_t size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char *text;
	ssize_t len;

	for (;;) {
		len = read(fd, rec, size - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* records were overwritten */
		if (len < 0 && errno == EAGAIN) {
			uint64_t now = kmsg_now_ms();

			if (now >= deadline)
				return NULL;
			poll(&pfd, 1, deadline - now);
			continue;
		}
		if (len <= 0)
			return NULL;
		rec[len] = '\0';
		/* "prio,seq,usec,flags;text\n" then " KEY=value" lines */
		text = strchr(rec, ';');
		text = text ? text + 1 : rec;
		text[strcspn(text, "\n")] = '\0';
		return text;
	}
}

bool kmsg_wait(int fd, const char *const *needles, unsigned int timeout_ms,
	       char *line, size_t size)
{
	uint64_t deadline = kmsg_now_ms() + timeout_ms;
	char rec[8192], *text;

	while ((text = kmsg_next(fd, deadline, rec, sizeof(rec)))) {
		if (kmsg_match(text, needles)) {
			if (line)
				snprintf(line, size, "%s", text);
			return true;
		}
	}
	return false;
}

const char *pci_short_bdf(const char *bdf)
{
	/* Skip the domain if there is one. */
	return strlen(bdf) > 8 && bdf[4] == ':' ? bdf + 5 : bdf;
}

/* VT-d's fault report: pr_err() of drivers/iommu/intel/dmar.c */
static void dmar_fault_needles(const char *bdf, uint64_t iova, char *addr,
			       size_t addr_size, char *dev, size_t dev_size)
{
	snprintf(addr, addr_size, "fault addr 0x%llx ",
		 (unsigned long long)iova);
	snprintf(dev, dev_size, "[%s]", pci_short_bdf(bdf));
}

bool dmar_fault_wait(int kmsg, const char *bdf, uint64_t iova,
		     unsigned int timeout_ms, char *line, size_t size)
{
	char addr[64], dev[32];
	const char *const needles[] = { "DMAR", addr, dev, NULL };

	dmar_fault_needles(bdf, iova, addr, sizeof(addr), dev, sizeof(dev));
	return kmsg_wait(kmsg, needles, timeout_ms, line, size);
}

/*
 * SMMUv3's report: arm_smmu_evtq_thread() logs "event 0xNN received:", then
 * the event's four dwords, "\t0x%016llx" a record each (records of the
 * SMMU's device, "<name>.smmuv3: ..." on virt): the StreamID (the
 * PCI requester ID on QEMU's virt) in bits 63:32 of the first, the input
 * address of a translation, address size, access or permission fault in
 * the third.
 */
static bool smmu_fault_wait(int kmsg, const char *bdf, uint64_t iova,
			    unsigned int timeout_ms, char *line, size_t size)
{
	uint64_t deadline = kmsg_now_ms() + timeout_ms;
	unsigned int dom, bus, dev, fn, id = 0;
	unsigned long long evt[4];
	char rec[8192], *text, *p;
	int n = -1;

	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
		return false;
	while ((text = kmsg_next(kmsg, deadline, rec, sizeof(rec)))) {
		if (!strstr(text, "smmu"))
			continue;
		if (strstr(text, "event 0x") && strstr(text, " received:")) {
			id = strtoul(strstr(text, "event 0x") + 6, NULL, 16);
			n = 0;
			continue;
		}
		/* "<dev>: \x090x...": /dev/kmsg escapes the tab */
		p = strstr(text, ": ");
		p = p ? strstr(p, "0x") : NULL;
		if (n < 0 || !p || sscanf(p, "0x%llx", &evt[n]) != 1) {
			n = -1;
			continue;
		}
		if (++n < 4)
			continue;
		n = -1;
		if (id >= 0x10 && id <= 0x13 && evt[2] == iova &&
		    evt[0] >> 32 == (bus << 8 | dev << 3 | fn)) {
			if (line)
				snprintf(line, size,
					 "SMMUv3 event 0x%02x, sid 0x%llx, input address 0x%llx",
					 id, evt[0] >> 32, evt[2]);
			return true;
		}
	}
	return false;
}

static bool iommu_is_smmu(void)
{
	static int smmu = -1;
	struct dirent *d;
	DIR *dp;

	if (smmu >= 0)
		return smmu;
	smmu = 0;
	dp = opendir("/sys/class/iommu");
	while (dp && (d = readdir(dp)))
		if (!strncmp(d->d_name, "smmu3.", 6))
			smmu = 1;
	if (dp)
		closedir(dp);
	return smmu;
}

bool iommu_fault_wait(int kmsg, const char *bdf, uint64_t iova,
		      unsigned int timeout_ms, char *line, size_t size)
{
	if (iommu_is_smmu())
		return smmu_fault_wait(kmsg, bdf, iova, timeout_ms, line, size);
	return dmar_fault_wait(kmsg, bdf, iova, timeout_ms, line, size);
}

/* How long a report may take to reach the log */
#define DMAR_FAULT_WAIT_MS	5000
/*
 * dmar_fault() prints through a ratelimit state of its own with the
 * default interval (5 s) and burst (10, of which each fault takes three);
 * SMMUv3's event thread likewise (each event takes one); an interval
 * after the first DMA, with a margin, a new one has begun.
 */
#define DMAR_RATELIMIT_MS	(5000 + 500)

int edu_dma_blocked(struct edu *edu, const char *bdf, int kmsg,
		    uint64_t iova, uint32_t len, bool to_ram)
{
	char addr[64], dev[32], line[512];
	uint64_t start = 0, now;
	int attempt, ret;

	for (attempt = 0; attempt < 2; attempt++) {
		if (attempt) {
			fprintf(stderr,
				"# no IOMMU fault report of %s at 0x%llx yet (rate-limited?): once more\n",
				bdf, (unsigned long long)iova);
			now = kmsg_now_ms();
			if (now < start + DMAR_RATELIMIT_MS)
				usleep((start + DMAR_RATELIMIT_MS - now) * 1000);
		}
		if (lseek(kmsg, 0, SEEK_END) < 0)
			return -errno;
		start = kmsg_now_ms();
		ret = edu_dma(edu, iova, 0, len, to_ram, EDU_DMA_TIMEOUT_MS);
		if (ret)
			return ret;
		if (iommu_fault_wait(kmsg, bdf, iova, DMAR_FAULT_WAIT_MS, line,
				     sizeof(line))) {
			fprintf(stderr, "# kernel: %s\n", line);
			return 0;
		}
	}
	dmar_fault_needles(bdf, iova, addr, sizeof(addr), dev, sizeof(dev));
	fprintf(stderr,
		"# no kernel log line with \"DMAR\", \"%s\", \"%s\"\n",
		addr, dev);
	return -ENOMSG;
}

int vfio_cdev_bind(int dev, int iommufd, uint32_t *dev_id)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};

	if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return -errno;
	if (dev_id)
		*dev_id = bind.out_devid;
	return 0;
}

int vfio_cdev_attach(int dev, uint32_t *pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = *pt_id,
	};

	if (ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return -errno;
	*pt_id = attach.pt_id;
	return 0;
}

int vfio_cdev_detach(int dev)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	return ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach) ? -errno : 0;
}

void fill(uint8_t *buf, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = seed + i * 7 + (i >> 8);
}

bool all_bytes(const uint8_t *buf, size_t len, uint8_t val)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != val)
			return false;
	return true;
}
