// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark of `make bench` (rig/bench.sh), run in the VM on an edu
 * device alone in its IOMMU group. Every path is measured in the same boot:
 *
 *   iommufd  /dev/iommu, the edu's VFIO device cdev attached to an IOAS;
 *            IOMMU_IOAS_MAP / IOMMU_IOAS_UNMAP
 *   compat   VFIO_IOMMU_MAP_DMA / VFIO_IOMMU_UNMAP_DMA answered by iommufd:
 *            on /dev/vfio/vfio with the VFIO group when iommufd provides
 *            it (CONFIG_IOMMUFD_VFIO_CONTAINER), else on a /dev/iommu fd
 *            whose compat IOAS the device cdev is attached to (the same
 *            handler, iommufd_vfio_ioctl())
 *   type1    the same requests on VFIO's own container and
 *            vfio_iommu_type1, where /dev/vfio/vfio is that (the bench
 *            kernel, rig/config/bench.config)
 *
 * Memory: 4 KiB pages (MADV_NOHUGEPAGE), the same written last page first
 * ("4k-scattered": the allocator hands out ascending frames, so no two
 * neighbours are physically contiguous, as in a guest that ran a while),
 * transparent huge pages (MADV_HUGEPAGE) and 2 MiB hugetlb pages (reserved
 * here, released after), written before anything is timed. Times: CLOCK_MONOTONIC; every figure is
 * the median of --reps repetitions. Sizes go from 1 MiB to 1 GiB, or to
 * what fits in the VM (said on a "#" line).
 *
 * Output: "#" lines tell what was measured, left out and why; each figure
 * is a line
 *   BENCH <path> <memtype> <op> <x> <value> <n>
 * with n the repetitions (samples for the readers) and
 *   op             x        value
 *   map, unmap     bytes    ns per 4 KiB page
 *   unmap_n        N        ns per area: one unmap of N one-page areas
 *   copy           bytes    ns per page: IOMMU_IOAS_COPY into an IOAS with
 *                           a domain of its own
 *   domain2        bytes    ns per page: IOMMU_HWPT_ALLOC of a second
 *                           domain on the mapped IOAS (filled from it)
 *   copy_pins,     bytes    pages pinned by that (nr_foll_pin_acquired
 *   domain2_pins            after vm.stat_refresh): 0 expected
 *   replace        bytes    ns: ATTACH moving the device between domains
 *   detach_attach  bytes    ns: DETACH, then ATTACH
 *   R_idle_p99     bytes    ns: latency of reader R alone, 99th percentile
 *   R_p99, R_max   bytes    ns: the same while another thread maps x bytes
 *   slab, sunreclaim, kmem  bytes  KiB per GiB mapped: growth of Slab,
 *                           SUnreclaim and of what MemFree lost (slab and
 *                           IO page tables; the memory was faulted before)
 * Readers R: ranges (IOMMU_IOAS_IOVA_RANGES), rw (iommufd_access_rw() of
 * an in-kernel access, reached through IOMMU_TEST_CMD), info
 * (VFIO_IOMMU_GET_INFO).
 *
 *   bench [--reps N] [--max-mib M] [--smoke] [--map-only]
 *         [--memtypes hugetlb,thp,4k,4k-scattered]
 * --smoke: 1 repetition of 1 and 2 MiB, every request once; fails (exit 1)
 * on a request that fails or pages pinned again, never on a time.
 * --map-only: only map and unmap; --memtypes: only those memory types.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "vfio_util.h"
#include "../../drivers/iommu/iommufd/iommufd_test.h"

#define PG		4096ULL
#define SZ_1M		(1ULL << 20)
#define SZ_2M		(2ULL << 20)
#define SZ_1G		(1ULL << 30)
#define IOVA_BASE	(1ULL << 32)	/* the mappings measured */
#define IOVA_RW		(1ULL << 31)	/* the page the rw reader reads */
#define MAX_REPS	64
#define MARGIN		(256 * SZ_1M)	/* left to the kernel */
#define NR_SAMPLES	(1 << 20)

enum { MT_HUGETLB, MT_THP, MT_4K, MT_4K_SCATTERED, NR_MT };
static const char *const mt_name[NR_MT] = {
	"hugetlb", "thp", "4k", "4k-scattered"
};

static struct {
	char bdf[PCI_BDF_SIZE];
	int reps;
	bool smoke;
	bool map_only;		/* --map-only: map and unmap, nothing else */
	unsigned int mts;	/* --memtypes: bit per MT_ */
	uint64_t max_mib;
	bool type1;		/* /dev/vfio/vfio is VFIO's own container */
	bool no_test_cmd;	/* IOMMU_TEST_CMD missing: no rw reader */
	int failures;
} B = { .reps = 5, .mts = (1 << NR_MT) - 1 };

struct buf {
	int mt;
	uint8_t *p;
	void *raw;
	uint64_t len, rawlen;
};

struct ctx;
struct path {
	const char *name;
	int (*open)(struct ctx *c);
	int (*map)(struct ctx *c, void *va, uint64_t iova, uint64_t len);
	int (*unmap)(struct ctx *c, uint64_t iova, uint64_t len);
};

struct ctx {
	const struct path *p;
	int mt;
	int fd;			/* /dev/iommu or the container */
	int dev;		/* the device cdev */
	__u32 ioas, dev_id, hwpt;
	struct vfio_legacy lg;	/* the group way */
};

static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int fail(const char *what, int err)
{
	say("FAIL %s: %s", what, strerror(-err));
	B.failures++;
	return err;
}

static void bench(struct ctx *c, const char *op, uint64_t x, double val, int n)
{
	printf("BENCH %-7s %-7s %-16s %11llu %12.1f %6d\n", c->p->name,
	       mt_name[c->mt], op, (unsigned long long)x, val, n);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double median(int64_t *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? -errno : 0;
}

/* --- /proc and /sys --- */

static int64_t proc_value(const char *file, const char *key)
{
	size_t klen = strlen(key);
	char line[256];
	int64_t val = -1;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && strchr(" :", line[klen])) {
			val = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return val;
}

/* vm.stat_refresh folds the per-CPU vmstat deltas into the totals */
static int64_t vmstat(const char *key)
{
	sysfs_write("/proc/sys/vm/stat_refresh", "1");
	return proc_value("/proc/vmstat", key);
}

static int64_t pins(void)
{
	return vmstat("nr_foll_pin_acquired");
}

static int64_t meminfo_kb(const char *key)
{
	return proc_value("/proc/meminfo", key);
}

/* Largest power of two <= @v */
static uint64_t pow2_floor(uint64_t v)
{
	return v ? 1ULL << (63 - __builtin_clzll(v)) : 0;
}

/* --- iommufd --- */

static int ioas_alloc(int fd, __u32 *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int ret = xioctl(fd, IOMMU_IOAS_ALLOC, &cmd);

	*id = cmd.out_ioas_id;
	return ret;
}

static int destroy(int fd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return xioctl(fd, IOMMU_DESTROY, &cmd);
}

static int hwpt_alloc(int fd, __u32 dev_id, __u32 pt_id, __u32 *id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .dev_id = dev_id, .pt_id = pt_id,
	};
	int ret = xioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	*id = cmd.out_hwpt_id;
	return ret;
}

static int ioas_map_id(int fd, __u32 ioas, void *va, uint64_t iova,
		       uint64_t len)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas, .user_va = (uintptr_t)va,
		.length = len, .iova = iova,
	};

	return xioctl(fd, IOMMU_IOAS_MAP, &cmd);
}

static int ioas_unmap_id(int fd, __u32 ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = len,
	};

	return xioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
}

static int ioas_copy(int fd, __u32 dst, __u32 src, uint64_t iova,
		     uint64_t len)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.dst_ioas_id = dst, .src_ioas_id = src, .length = len,
		.dst_iova = iova, .src_iova = iova,
	};

	return xioctl(fd, IOMMU_IOAS_COPY, &cmd);
}

static int iommufd_map(struct ctx *c, void *va, uint64_t iova, uint64_t len)
{
	return ioas_map_id(c->fd, c->ioas, va, iova, len);
}

static int iommufd_unmap(struct ctx *c, uint64_t iova, uint64_t len)
{
	return ioas_unmap_id(c->fd, c->ioas, iova, len);
}

/* The device cdev bound to c->fd and attached to @pt_id */
static int cdev_attach(struct ctx *c, __u32 pt_id)
{
	c->dev = vfio_cdev_open(B.bdf);
	if (c->dev < 0)
		return c->dev;
	c->hwpt = pt_id;
	return vfio_cdev_bind(c->dev, c->fd, &c->dev_id) ?:
	       vfio_cdev_attach(c->dev, &c->hwpt);
}

static int iommufd_open(struct ctx *c)
{
	c->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return -errno;
	return ioas_alloc(c->fd, &c->ioas) ?: cdev_attach(c, c->ioas);
}

/* --- the VFIO type1 requests --- */

static int type1_map(struct ctx *c, void *va, uint64_t iova, uint64_t len)
{
	return vfio_type1_map(c->fd, va, iova, len);
}

static int type1_unmap(struct ctx *c, uint64_t iova, uint64_t len)
{
	int64_t ret = vfio_type1_unmap(c->fd, iova, len);

	return ret < 0 ? ret : 0;
}

static int group_open(struct ctx *c)
{
	int ret = vfio_legacy_open(&c->lg, B.bdf);

	c->fd = ret ? -1 : c->lg.container;
	return ret;
}

static int compat_open(struct ctx *c)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd), .op = IOMMU_VFIO_IOAS_SET,
	};
	int ret;

	if (!B.type1)
		return group_open(c);
	ret = iommufd_open(c);
	if (ret)
		return ret;
	cmd.ioas_id = c->ioas;
	ret = xioctl(c->fd, IOMMU_VFIO_IOAS, &cmd);
	if (!ret && ioctl(c->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		ret = -errno;
	return ret;
}

static const struct path paths[] = {
	{ "iommufd", iommufd_open, iommufd_map, iommufd_unmap },
	{ "compat", compat_open, type1_map, type1_unmap },
	{ "type1", group_open, type1_map, type1_unmap },
};

static void ctx_close(struct ctx *c)
{
	if (c->dev >= 0)
		close(c->dev);
	if (c->lg.group >= 0)
		vfio_legacy_close(&c->lg);
	else if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->dev = -1;
}

static int ctx_open(struct ctx *c, const struct path *p, int mt)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->p = p;
	c->mt = mt;
	c->fd = -1;
	c->dev = -1;
	c->lg.container = -1;
	c->lg.group = -1;
	c->lg.device = -1;
	ret = p->open(c);
	if (ret) {
		ctx_close(c);
		return fail(p->name, ret);
	}
	return 0;
}

/*
 * /dev/vfio/vfio is an iommufd when IOMMU_IOAS_ALLOC works on it; VFIO's
 * container refuses requests it does not know.
 */
static bool container_is_iommufd(void)
{
	int fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	bool ret = false;
	__u32 id;

	if (fd < 0)
		return false;
	if (!ioas_alloc(fd, &id))
		ret = true;
	close(fd);
	return ret;
}

/* --- memory --- */

static int hugetlb_reserve(uint64_t pages)
{
	char val[32];

	snprintf(val, sizeof(val), "%llu", (unsigned long long)pages);
	sysfs_write("/proc/sys/vm/nr_hugepages", val);
	return sysfs_read("/proc/sys/vm/nr_hugepages", val, sizeof(val)) ?
	       0 : atoi(val);
}

static void buf_free(struct buf *b)
{
	if (b->raw)
		munmap(b->raw, b->rawlen);
	b->raw = NULL;
	if (b->mt == MT_HUGETLB)
		hugetlb_reserve(0);
}

/* @len bytes of memory type @mt, 2 MiB aligned, every page written */
static int buf_alloc(struct buf *b, int mt, uint64_t len)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	uint64_t off;

	b->mt = mt;
	b->len = len;
	b->rawlen = len + (mt == MT_HUGETLB ? 0 : SZ_2M);
	if (mt == MT_HUGETLB)
		flags |= MAP_HUGETLB;
	b->raw = mmap(NULL, b->rawlen, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (b->raw == MAP_FAILED) {
		b->raw = NULL;
		return -errno;
	}
	b->p = (uint8_t *)(((uintptr_t)b->raw + SZ_2M - 1) & ~(SZ_2M - 1));
	if (mt != MT_HUGETLB &&
	    madvise(b->p, len, mt == MT_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		return -errno;
	if (mt == MT_4K_SCATTERED) {
		/* Last page first: no two neighbours physically contiguous */
		for (off = len; off; off -= PG)
			b->p[off - PG] = (off - PG) / PG;
		return 0;
	}
	for (off = 0; off < len; off += PG)
		b->p[off] = off / PG;
	return 0;
}

/*
 * The largest size of @mt that fits: a power of two, at most 1 GiB and
 * --max-mib, leaving MARGIN to the kernel. hugetlb pages are reserved for
 * it; what could not be had makes it smaller.
 */
static uint64_t size_for(int mt)
{
	uint64_t avail = meminfo_kb("MemAvailable") * 1024, len;

	len = avail > MARGIN ? pow2_floor(avail - MARGIN) : 0;
	if (len > SZ_1G)
		len = SZ_1G;
	if (B.max_mib && len > B.max_mib * SZ_1M)
		len = pow2_floor(B.max_mib * SZ_1M);
	if (mt == MT_HUGETLB && len >= SZ_2M)
		len = pow2_floor(hugetlb_reserve(len / SZ_2M) * SZ_2M);
	say("%s: sizes 1 MiB .. %llu MiB (MemAvailable %lld MiB%s)",
	    mt_name[mt], (unsigned long long)(len / SZ_1M),
	    (long long)(avail / SZ_1M),
	    len < SZ_1G && !B.max_mib ?
	    "; 1 GiB wants more guest RAM: rig/vm.sh --mem" : "");
	return len < SZ_1M ? 0 : len;
}

/* --- the measurements --- */

/* map and unmap of 1 MiB .. b->len, each from the start of the buffer */
static void run_map_unmap(struct ctx *c, struct buf *b)
{
	int64_t tm[MAX_REPS], tu[MAX_REPS];
	uint64_t len, t0, t1, t2;
	int r, ret;

	/*
	 * Once untimed, the whole buffer: first-use allocations of the kernel,
	 * and every page marked dirty by its first unpin (what the paths that
	 * come later would get for free)
	 */
	ret = c->p->map(c, b->p, IOVA_BASE, b->len) ?:
	      c->p->unmap(c, IOVA_BASE, b->len);
	if (ret) {
		fail("map", ret);
		return;
	}
	for (len = SZ_1M; len <= b->len; len *= 2) {
		for (r = 0; r < B.reps; r++) {
			t0 = now_ns();
			ret = c->p->map(c, b->p, IOVA_BASE, len);
			t1 = now_ns();
			ret = ret ?: c->p->unmap(c, IOVA_BASE, len);
			t2 = now_ns();
			if (ret) {
				fail("map/unmap", ret);
				return;
			}
			tm[r] = t1 - t0;
			tu[r] = t2 - t1;
		}
		bench(c, "map", len, median(tm, B.reps) / (len / PG), B.reps);
		bench(c, "unmap", len, median(tu, B.reps) / (len / PG), B.reps);
	}
}

/* N one-page areas, a hole after each, removed by one unmap */
static void run_unmap_n(struct ctx *c, struct buf *b)
{
	int64_t t[MAX_REPS];
	uint64_t n, i, t0;
	int r, ret = 0;

	for (n = 16; n <= 16384 && n * PG <= b->len; n *= 4) {
		for (r = 0; r < B.reps; r++) {
			for (i = 0; i < n && !ret; i++)
				ret = c->p->map(c, b->p + i * PG,
						IOVA_BASE + 2 * i * PG, PG);
			t0 = now_ns();
			ret = ret ?: c->p->unmap(c, IOVA_BASE, 2 * n * PG);
			t[r] = now_ns() - t0;
			if (ret) {
				c->p->unmap(c, IOVA_BASE, 2 * n * PG);
				fail("unmap_n", ret);
				return;
			}
		}
		bench(c, "unmap_n", n, median(t, B.reps) / n, B.reps);
	}
}

/* What the kernel allocates for a mapping of the whole buffer */
static void run_kmem(struct ctx *c, struct buf *b)
{
	static const char *const keys[] = { "Slab", "SUnreclaim", "MemFree" };
	static const char *const ops[] = { "slab", "sunreclaim", "kmem" };
	int64_t d[3][MAX_REPS], before[3];
	int k, r, ret;

	for (r = 0; r < B.reps; r++) {
		vmstat("nr_free_pages");
		for (k = 0; k < 3; k++)
			before[k] = meminfo_kb(keys[k]);
		ret = c->p->map(c, b->p, IOVA_BASE, b->len);
		vmstat("nr_free_pages");
		for (k = 0; k < 3; k++)
			d[k][r] = meminfo_kb(keys[k]) - before[k];
		d[2][r] = -d[2][r];	/* MemFree lost */
		ret = ret ?: c->p->unmap(c, IOVA_BASE, b->len);
		if (ret) {
			fail("kmem", ret);
			return;
		}
	}
	for (k = 0; k < 3; k++)
		bench(c, ops[k], b->len,
		      median(d[k], B.reps) * (double)SZ_1G / b->len, B.reps);
}

/* The sizes of the secondary measurements: 4 MiB, 64 MiB and the largest */
static int few_sizes(uint64_t max, uint64_t *sz)
{
	int n = 0;

	if (max > 4 * SZ_1M)
		sz[n++] = 4 * SZ_1M;
	if (max > 64 * SZ_1M)
		sz[n++] = 64 * SZ_1M;
	sz[n++] = max;
	return n;
}

static int64_t check_pins(const char *what, int64_t pinned)
{
	if (pinned) {
		say("UNEXPECTED: %s pinned %lld pages again", what,
		    (long long)pinned);
		B.failures++;
	}
	return pinned;
}

/*
 * iommufd: a second domain (HWPT) allocated on the mapped IOAS, which
 * fills it from the first one; then the device moved between the two by a
 * replace, and by detach + attach. The device ends up on a HWPT of its own
 * (h1), no more the IOAS' automatic one.
 */
static void run_domains(struct ctx *c, struct buf *b)
{
	int64_t ta[MAX_REPS], tr[2 * MAX_REPS], td[MAX_REPS], pin, p0;
	uint64_t sz[3], len, t0, t1, t2, t3;
	__u32 h1, h2 = 0;
	int i, n, r, ret;

	ret = hwpt_alloc(c->fd, c->dev_id, c->ioas, &h1) ?:
	      vfio_cdev_attach(c->dev, &h1);
	if (ret) {
		fail("domain2: HWPT_ALLOC", ret);
		return;
	}
	n = few_sizes(b->len, sz);
	for (i = 0; i < n; i++) {
		len = sz[i];
		ret = iommufd_map(c, b->p, IOVA_BASE, len);
		for (pin = 0, r = 0; r < B.reps && !ret; r++) {
			p0 = pins();
			t0 = now_ns();
			ret = hwpt_alloc(c->fd, c->dev_id, c->ioas, &h2);
			ta[r] = now_ns() - t0;
			pin += pins() - p0;
			if (ret)
				break;
			t0 = now_ns();
			ret = vfio_cdev_attach(c->dev, &h2);
			t1 = now_ns();
			ret = ret ?: vfio_cdev_attach(c->dev, &h1);
			t2 = now_ns();
			ret = ret ?: vfio_cdev_detach(c->dev) ?:
			      vfio_cdev_attach(c->dev, &h2);
			t3 = now_ns();
			ret = ret ?: vfio_cdev_detach(c->dev) ?:
			      vfio_cdev_attach(c->dev, &h1);
			tr[2 * r] = t1 - t0;
			tr[2 * r + 1] = t2 - t1;
			td[r] = t3 - t2;
			ret = ret ?: destroy(c->fd, h2);
		}
		ret = ret ?: iommufd_unmap(c, IOVA_BASE, len);
		if (ret) {
			fail("domain2", ret);
			return;
		}
		bench(c, "domain2", len, median(ta, B.reps) / (len / PG), B.reps);
		bench(c, "domain2_pins", len, check_pins("domain2", pin), B.reps);
		bench(c, "replace", len, median(tr, 2 * B.reps), 2 * B.reps);
		bench(c, "detach_attach", len, median(td, B.reps), B.reps);
	}
}

/* iommufd: IOMMU_IOAS_COPY to an IOAS with a domain (HWPT) of its own */
static void run_copy(struct ctx *c, struct buf *b)
{
	int64_t t[MAX_REPS], pin, p0;
	uint64_t sz[3], len, t0;
	__u32 ioas2 = 0, h = 0;
	int i, n, r, ret;

	ret = ioas_alloc(c->fd, &ioas2) ?:
	      hwpt_alloc(c->fd, c->dev_id, ioas2, &h);
	n = few_sizes(b->len, sz);
	for (i = 0; i < n && !ret; i++) {
		len = sz[i];
		ret = iommufd_map(c, b->p, IOVA_BASE, len);
		for (pin = 0, r = 0; r < B.reps && !ret; r++) {
			p0 = pins();
			t0 = now_ns();
			ret = ioas_copy(c->fd, ioas2, c->ioas, IOVA_BASE, len);
			t[r] = now_ns() - t0;
			pin += pins() - p0;
			ret = ret ?: ioas_unmap_id(c->fd, ioas2, IOVA_BASE, len);
		}
		ret = ret ?: iommufd_unmap(c, IOVA_BASE, len);
		if (ret)
			break;
		bench(c, "copy", len, median(t, B.reps) / (len / PG), B.reps);
		bench(c, "copy_pins", len, check_pins("copy", pin), B.reps);
	}
	if (ret)
		fail("copy", ret);
	destroy(c->fd, h);
	destroy(c->fd, ioas2);
}

enum { R_RANGES, R_RW, R_INFO };
static const char *const reader_name[] = { "ranges", "rw", "info" };

struct reader {
	struct ctx *c;
	int kind;
	int access_fd;
	int stop;
	int err;
	size_t n;
	uint64_t *t0;
	int64_t *dt;
};

static int read_once(struct reader *rd)
{
	struct iommu_iova_range ranges[16];
	struct iommu_ioas_iova_ranges rq = {
		.size = sizeof(rq), .ioas_id = rd->c->ioas,
		.num_iovas = 16, .allowed_iovas = (uintptr_t)ranges,
	};
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	struct iommu_test_cmd rw = {
		.size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW,
		.id = rd->access_fd,
	};
	uint8_t data[64];

	switch (rd->kind) {
	case R_RANGES:
		return xioctl(rd->c->fd, IOMMU_IOAS_IOVA_RANGES, &rq);
	case R_RW:
		rw.access_rw.iova = IOVA_RW;
		rw.access_rw.length = sizeof(data);
		rw.access_rw.uptr = (uintptr_t)data;
		return xioctl(rd->c->fd, IOMMU_TEST_CMD, &rw);
	default:
		return xioctl(rd->c->fd, VFIO_IOMMU_GET_INFO, &info);
	}
}

static void *reader_fn(void *arg)
{
	struct reader *rd = arg;
	uint64_t t0;

	while (!__atomic_load_n(&rd->stop, __ATOMIC_RELAXED)) {
		t0 = now_ns();
		rd->err = read_once(rd);
		if (rd->err)
			break;
		if (rd->n < NR_SAMPLES) {
			rd->t0[rd->n] = t0;
			rd->dt[rd->n++] = now_ns() - t0;
		}
	}
	return NULL;
}

/*
 * Run the reader for @idle_ms, or around a map of the whole buffer; the
 * latencies of the calls that overlapped the map (all of them when idle)
 * end up sorted at the start of rd->dt, their number returned.
 */
static long reader_run(struct reader *rd, struct buf *b, int idle_ms)
{
	uint64_t ms = 0, me = UINT64_MAX;
	pthread_t th;
	size_t i, n = 0;
	int ret = 0;

	rd->n = 0;
	rd->stop = 0;
	if (pthread_create(&th, NULL, reader_fn, rd))
		return fail("reader", -EAGAIN);
	usleep((idle_ms ?: 20) * 1000);
	if (!idle_ms) {
		ms = now_ns();
		ret = rd->c->p->map(rd->c, b->p, IOVA_BASE, b->len);
		me = now_ns();
		usleep(20000);
	}
	__atomic_store_n(&rd->stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	if (!idle_ms) {
		ret = ret ?: rd->c->p->unmap(rd->c, IOVA_BASE, b->len);
		say("%s: a map of %llu MiB took %.1f ms", rd->c->p->name,
		    (unsigned long long)(b->len / SZ_1M), (me - ms) / 1e6);
	}
	ret = ret ?: rd->err;
	if (ret)
		return fail(reader_name[rd->kind], ret);
	for (i = 0; i < rd->n; i++)
		if (rd->t0[i] < me && rd->t0[i] + rd->dt[i] > ms)
			rd->dt[n++] = rd->dt[i];
	qsort(rd->dt, n, sizeof(*rd->dt), cmp_i64);
	return n;
}

static int64_t p99(struct reader *rd, long n)
{
	return rd->dt[n - 1 - n / 100];
}

static int access_create(struct ctx *c, int *access_fd)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = c->ioas,
	};
	int ret = xioctl(c->fd, IOMMU_TEST_CMD, &cmd);

	*access_fd = cmd.create_access.out_access_fd;
	return ret;
}

/* Latency of a reader of the IOAS/container while the buffer is mapped */
static void run_stall(struct ctx *c, struct buf *b, int kind, void *rw_page)
{
	struct reader rd = { .c = c, .kind = kind, .access_fd = -1 };
	char op[32];
	long n;
	int ret;

	if (kind == R_RW) {
		ret = access_create(c, &rd.access_fd);
		if (ret == -ENOTTY) {
			B.no_test_cmd = true;
			say("rw: no IOMMU_TEST_CMD (CONFIG_IOMMUFD_TEST=n); %s",
			    "an access is reached otherwise only by mdev drivers");
			return;
		}
		ret = ret ?: ioas_map_id(c->fd, c->ioas, rw_page, IOVA_RW, PG);
		if (ret) {
			fail("rw: access", ret);
			goto out;
		}
	}
	rd.t0 = calloc(NR_SAMPLES, sizeof(*rd.t0));
	rd.dt = calloc(NR_SAMPLES, sizeof(*rd.dt));
	if (!rd.t0 || !rd.dt) {
		fail("reader", -ENOMEM);
		goto out;
	}
	n = reader_run(&rd, b, B.smoke ? 20 : 200);
	if (n > 0) {
		snprintf(op, sizeof(op), "%s_idle_p99", reader_name[kind]);
		bench(c, op, b->len, p99(&rd, n), n);
	}
	n = n > 0 ? reader_run(&rd, b, 0) : 0;
	if (n > 0) {
		snprintf(op, sizeof(op), "%s_p99", reader_name[kind]);
		bench(c, op, b->len, p99(&rd, n), n);
		snprintf(op, sizeof(op), "%s_max", reader_name[kind]);
		bench(c, op, b->len, rd.dt[n - 1], n);
	}
out:
	if (kind == R_RW)
		ioas_unmap_id(c->fd, c->ioas, IOVA_RW, PG);
	if (rd.access_fd >= 0)
		close(rd.access_fd);
	free(rd.t0);
	free(rd.dt);
}

static void run_path(const struct path *p, struct buf *b, void *rw_page)
{
	bool ours = p == &paths[0];
	struct ctx c;

	if (ctx_open(&c, p, b->mt))
		return;
	run_map_unmap(&c, b);
	if (B.map_only) {
		ctx_close(&c);
		return;
	}
	run_kmem(&c, b);
	if (b->mt == MT_4K) {
		run_unmap_n(&c, b);
		if (ours) {
			run_stall(&c, b, R_RANGES, NULL);
			run_stall(&c, b, R_RW, rw_page);
		} else {
			run_stall(&c, b, R_INFO, NULL);
		}
	}
	if (ours) {
		run_copy(&c, b);
		run_domains(&c, b);
	}
	ctx_close(&c);
}

static void setup(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	char line[512] = "", *mode;
	int ret;

	setrlimit(RLIMIT_MEMLOCK, &rl);
	sysfs_read("/proc/cmdline", line, sizeof(line));
	mode = strstr(line, "rig.mode=");
	say("bench: mode %.*s, %d repetitions, medians; ns per 4 KiB page unless said",
	    mode ? (int)strcspn(mode + 9, " \n") : 1, mode ? mode + 9 : "?",
	    B.reps);
	if (edu_find_single(B.bdf)) {
		fail("no edu device alone in an IOMMU group", -ENODEV);
		exit(2);
	}
	ret = pci_release(B.bdf) ?: pci_bind(B.bdf, "vfio-pci");
	if (ret) {
		fail("binding vfio-pci", ret);
		exit(2);
	}
	B.type1 = !container_is_iommufd();
	say("edu %s; /dev/vfio/vfio is %s", B.bdf, B.type1 ?
	    "VFIO's container (type1): compat asked on /dev/iommu" :
	    "iommufd's: compat through it and the group, no type1 here");
	/* THP "never" would leave MADV_HUGEPAGE without effect */
	sysfs_read("/sys/kernel/mm/transparent_hugepage/enabled", line,
		   sizeof(line));
	if (strstr(line, "[never]"))
		sysfs_write("/sys/kernel/mm/transparent_hugepage/enabled",
			    "madvise");
}

/* How many physically contiguous runs the buffer is (/proc/self/pagemap) */
static uint64_t phys_runs(struct buf *b)
{
	uint64_t off, e, prev = 0, runs = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	for (off = 0; off < b->len; off += PG) {
		if (pread(fd, &e, sizeof(e),
			  ((uintptr_t)b->p + off) / PG * sizeof(e)) != sizeof(e)) {
			runs = 0;
			break;
		}
		e &= (1ULL << 55) - 1;	/* the PFN */
		if (!off || e != prev + 1)
			runs++;
		prev = e;
	}
	close(fd);
	return runs;
}

/* "4k,thp": the bits of those memory types */
static unsigned int memtypes(const char *list)
{
	char buf[128], *tok, *save;
	unsigned int mts = 0;
	int mt;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		for (mt = 0; mt < NR_MT; mt++)
			if (!strcmp(tok, mt_name[mt]))
				mts |= 1 << mt;
	return mts;
}

int main(int argc, char **argv)
{
	static uint8_t rw_page[PG] __attribute__((aligned(4096)));
	struct buf b = { 0 };
	int i, mt, ret;
	uint64_t len;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke")) {
			B.smoke = true;
			B.reps = 1;
			B.max_mib = 2;
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			B.reps = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--max-mib") && i + 1 < argc) {
			B.max_mib = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--map-only")) {
			B.map_only = true;
		} else if (!strcmp(argv[i], "--memtypes") && i + 1 < argc) {
			B.mts = memtypes(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--reps N] [--max-mib M] [--smoke] [--map-only] [--memtypes hugetlb,thp,4k,4k-scattered]\n",
				argv[0]);
			return 2;
		}
	}
	if (B.reps < 1 || B.reps > MAX_REPS)
		B.reps = 5;
	setvbuf(stdout, NULL, _IOLBF, 0);
	setup();
	rw_page[0] = 1;
	for (mt = 0; mt < NR_MT; mt++) {
		if (!(B.mts & (1 << mt)))
			continue;
		b.mt = mt;
		len = size_for(mt);
		ret = len ? buf_alloc(&b, mt, len) : -ENOMEM;
		if (ret) {
			fail(mt_name[mt], ret);
			buf_free(&b);
			continue;
		}
		say("%s: %llu physically contiguous runs in %llu pages",
		    mt_name[mt], (unsigned long long)phys_runs(&b),
		    (unsigned long long)(len / PG));
		if (mt == MT_THP)
			say("thp: %lld of %llu MiB in huge pages",
			    (long long)proc_value("/proc/self/smaps_rollup",
						  "AnonHugePages") / 1024,
			    (unsigned long long)(len / SZ_1M));
		for (i = 0; i < 3; i++)
			if (i < 2 || B.type1)
				run_path(&paths[i], &b, rw_page);
		buf_free(&b);
	}
	pci_release(B.bdf);
	say("bench: %d failures", B.failures);
	return B.failures ? 1 : 0;
}
