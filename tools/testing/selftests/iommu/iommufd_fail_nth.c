// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd under fault injection. Each test runs a scenario of iommufd
 * ioctls once without injection (it must succeed), then again and again
 * with /proc/self/task/<tid>/fail-nth set to k = 1, 2, ... at the
 * scenario's fail_nth_enable() point, so the k-th fault injection site
 * the task reaches from there on fails (slab allocations through
 * failslab, and iommufd's own sites through fail_iommufd). Whatever the
 * scenario then does, the kernel must not crash, warn or leak, and after
 * the context is closed nothing may stay pinned (checked after every
 * iteration on a fresh context). The sweep ends with the first k the
 * scenario no longer reaches, so its length follows the number of
 * injection sites the scenario passes, not a fixed count.
 */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "iommufd_utils.h"

static void *buffer;
static unsigned long BUFFER_SIZE;
static bool have_fault_injection;

static bool write_debugfs(const char *name, const char *val)
{
	char path[300];
	ssize_t len = strlen(val);
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return false;
	ok = write(fd, val, len) == len;
	close(fd);
	return ok;
}

static __attribute__((constructor)) void setup_buffer(void)
{
	struct dirent *de;
	char name[300];
	DIR *dir;

	iommufd_setup_globals();
	BUFFER_SIZE = 2 * 1024 * 1024;
	buffer = iommufd_alloc_buffer(BUFFER_SIZE, HUGEPAGE_SIZE);
	assert(buffer);

	/* Sleeping allocations (GFP_KERNEL) must be candidates too */
	have_fault_injection = write_debugfs("failslab/ignore-gfp-wait", "N");
	write_debugfs("fail_page_alloc/ignore-gfp-wait", "N");
	write_debugfs("fail_page_alloc/ignore-gfp-highmem", "N");

	/* No report (and stack dump) on the console per injected failure */
	dir = opendir("/sys/kernel/debug");
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "fail", 4))
			continue;
		snprintf(name, sizeof(name), "%s/verbose", de->d_name);
		write_debugfs(name, "0");
	}
	closedir(dir);
}

/* State of the running sweep (each test runs in its own process) */
static int fail_nth_fd = -1;
static unsigned int fail_nth_k;
static bool fail_nth_armed;

/* Called by a scenario where the injection starts */
static void fail_nth_enable(void)
{
	char buf[16];
	int len;

	fail_nth_armed = true;
	if (!fail_nth_k)
		return;
	len = snprintf(buf, sizeof(buf), "%u", fail_nth_k);
	if (pwrite(fail_nth_fd, buf, len, 0) != len)
		fail_nth_armed = false;
}

/*
 * After a scenario under injection: did the k-th site fire? The file reads
 * "0\n" when it did, the remaining count when the scenario ended first.
 * A fault on the read itself means it fired there. Disarms in any case.
 */
static bool fail_nth_fired(struct __test_metadata *_metadata)
{
	char buf[32] = {};
	bool fired;
	ssize_t n;

	n = pread(fail_nth_fd, buf, sizeof(buf) - 1, 0);
	if (n < 0 && errno == EFAULT) {
		fired = true;
	} else {
		ASSERT_LT(0, n);
		fired = !strcmp(buf, "0\n");
	}
	if (pwrite(fail_nth_fd, "0", 1, 0) != 1)
		ASSERT_EQ(1, pwrite(fail_nth_fd, "0", 1, 0));
	return fired;
}

/* What a scenario works on: a fresh context per iteration */
struct nth_state {
	int fd;
	int access_fd;
	__u32 ioas_id;
	__u32 ioas2_id;
	__u32 stdev_id;
	__u32 hwpt_id;
	__u32 idev_id;
};

static void nth_state_init(struct __test_metadata *_metadata,
			   struct nth_state *self)
{
	memset(self, 0, sizeof(*self));
	self->access_fd = -1;
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
}

/* EXPECTs only (also a fixture teardown); safe to run twice */
static void nth_state_release(struct __test_metadata *_metadata,
			      struct nth_state *self)
{
	if (self->access_fd >= 0)
		close(self->access_fd);
	self->access_fd = -1;
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	teardown_check_unpinned(buffer, BUFFER_SIZE);
}

FIXTURE(fail_nth) {
	struct nth_state st;
};

FIXTURE_SETUP(fail_nth)
{
	nth_state_init(_metadata, &self->st);
}

FIXTURE_TEARDOWN(fail_nth)
{
	nth_state_release(_metadata, &self->st);
}

typedef int (*nth_scenario_t)(struct __test_metadata *_metadata,
			      struct nth_state *self);

/*
 * Iteration 0 without injection, then k = 1, 2, ... each on a fresh
 * context, until the scenario finishes before reaching the k-th site.
 */
static void fail_nth_sweep(struct __test_metadata *_metadata,
			   struct nth_state *self, nth_scenario_t scenario)
{
	char path[64];

	if (!have_fault_injection)
		SKIP(return, "fault injection (failslab in debugfs) unavailable");
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", getpid());
	fail_nth_fd = open(path, O_RDWR);
	ASSERT_LE(0, fail_nth_fd);

	fail_nth_k = 0;
	fail_nth_armed = false;
	ASSERT_EQ(0, scenario(_metadata, self));
	ASSERT_TRUE(fail_nth_armed);

	for (fail_nth_k = 1;; fail_nth_k++) {
		bool fired;

		/*
		 * A limit against a sweep that never ends. Creating a mock
		 * device alone passes a few hundred allocation sites, and a
		 * debug kernel with fail_page_alloc counts page allocations
		 * too: well above upstream's 400.
		 */
		ASSERT_GT(2000, fail_nth_k);
		nth_state_release(_metadata, self);
		ASSERT_TRUE(_metadata->passed) {
			TH_LOG("state left behind by iteration %u",
			       fail_nth_k - 1);
		}
		nth_state_init(_metadata, self);
		fail_nth_armed = false;
		scenario(_metadata, self);
		fired = fail_nth_fired(_metadata);
		ASSERT_TRUE(fail_nth_armed) {
			TH_LOG("iteration %u did not arm fail-nth", fail_nth_k);
		}
		if (!fired)
			break;
	}
	TH_LOG("%u injection sites", fail_nth_k - 1);
	/* The wrapper's teardown checks the last iteration */
}

/*
 * The scenarios: ASSERTs before fail_nth_enable(), plain error returns
 * after it (every ioctl may fail from there on, with any errno).
 */

/* IOAS alloc, ranges, allowed ranges, map, copy, unmap */
static int nth_basic(struct __test_metadata *_metadata,
		     struct nth_state *self)
{
	const __u64 map_len = 256 * 1024;
	struct iommu_iova_range ranges[4];
	__u64 iova, iova2, dst, alignment;
	__u32 num;

	fail_nth_enable();
	if (_test_ioctl_ioas_alloc(self->fd, 0, &self->ioas_id))
		return -1;
	if (_test_ioctl_ioas_alloc(self->fd, 0, &self->ioas2_id))
		return -1;
	num = ARRAY_SIZE(ranges);
	if (_test_ioctl_ioas_iova_ranges(self->fd, self->ioas_id, ranges,
					 &num, &alignment))
		return -1;
	ranges[0].start = 0x100000;
	ranges[0].last = 0x100000 + 16 * 1024 * 1024 - 1;
	if (_test_ioctl_ioas_allow_iovas(self->fd, self->ioas_id, ranges, 1))
		return -1;
	iova = 0x200000;
	if (_test_ioctl_ioas_map(self->fd, self->ioas_id, buffer, map_len,
				 &iova, MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA))
		return -1;
	if (_test_ioctl_ioas_map(self->fd, self->ioas_id, buffer, map_len / 2,
				 &iova2, IOMMU_IOAS_MAP_READABLE))
		return -1;
	if (_test_ioctl_ioas_copy(self->fd, MAP_RW, self->ioas2_id,
				  self->ioas_id, map_len, iova, &dst))
		return -1;
	if (_test_ioctl_ioas_unmap(self->fd, self->ioas_id, iova, map_len,
				   NULL))
		return -1;
	/* Nothing there any more */
	if (!_test_ioctl_ioas_unmap(self->fd, self->ioas_id, iova, map_len,
				    NULL) ||
	    errno != ENOENT)
		return -1;
	if (_test_ioctl_ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				   NULL))
		return -1;
	if (_test_ioctl_ioas_unmap(self->fd, self->ioas2_id, dst, map_len,
				   NULL))
		return -1;
	return 0;
}

/* Map into a mock domain; the domain goes and comes back over the area */
static int nth_map_domain(struct __test_metadata *_metadata,
			  struct nth_state *self)
{
	const __u64 map_len = 256 * 1024;
	__u64 iova = MOCK_APERTURE_START;

	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas_id));
	fail_nth_enable();
	if (_test_cmd_mock_domain(self->fd, self->ioas_id, &self->stdev_id,
				  &self->hwpt_id, NULL))
		return -1;
	if (_test_ioctl_ioas_map(self->fd, self->ioas_id, buffer, map_len,
				 &iova, MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA))
		return -1;
	if (_test_ioctl_destroy(self->fd, self->stdev_id))
		return -1;
	if (_test_cmd_mock_domain(self->fd, self->ioas_id, &self->stdev_id,
				  &self->hwpt_id, NULL))
		return -1;
	if (_test_cmd_md_check_map(self->fd, self->hwpt_id, iova, map_len,
				   buffer))
		return -1;
	if (_test_ioctl_ioas_unmap(self->fd, self->ioas_id, iova, map_len,
				   NULL))
		return -1;
	if (_test_ioctl_destroy(self->fd, self->stdev_id))
		return -1;
	return 0;
}

/* Two distinct domains: one filled from existing areas, then maps */
static int nth_map_two_domains(struct __test_metadata *_metadata,
			       struct nth_state *self)
{
	const __u64 map_len = 256 * 1024;
	__u64 iova = MOCK_APERTURE_START, iova2;
	__u32 hwpt2, stdev2;

	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas_id));
	ASSERT_EQ(0, _test_cmd_mock_domain(self->fd, self->ioas_id,
					   &self->stdev_id, &self->hwpt_id,
					   &self->idev_id));
	fail_nth_enable();
	if (_test_ioctl_ioas_map(self->fd, self->ioas_id, buffer, map_len,
				 &iova, MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA))
		return -1;
	if (_test_cmd_hwpt_alloc(self->fd, self->idev_id, self->ioas_id, 0,
				 &hwpt2, IOMMU_HWPT_DATA_NONE, NULL, 0))
		return -1;
	if (_test_cmd_mock_domain(self->fd, hwpt2, &stdev2, NULL, NULL))
		return -1;
	if (_test_ioctl_ioas_map(self->fd, self->ioas_id,
				 (uint8_t *)buffer + map_len, map_len, &iova2,
				 MAP_RW))
		return -1;
	if (_test_ioctl_destroy(self->fd, self->stdev_id))
		return -1;
	if (_test_ioctl_ioas_unmap(self->fd, self->ioas_id, iova, map_len,
				   NULL))
		return -1;
	if (_test_ioctl_ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				   NULL))
		return -1;
	return 0;
}

/* Reads and writes through an access, fast and slow path */
static int nth_access_rw(struct __test_metadata *_metadata,
			 struct nth_state *self)
{
	const __u64 map_len = 256 * 1024;
	__u64 iova = MOCK_APERTURE_START;
	uint8_t tmp[4096];
	int access_fd;

	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas_id));
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, buffer,
					  map_len, &iova,
					  MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));
	fail_nth_enable();
	if (_test_cmd_create_access(self->fd, self->ioas_id, &access_fd, 0))
		return -1;
	self->access_fd = access_fd;
	if (_test_cmd_access_rw(self->fd, access_fd, iova, tmp, 1, 0))
		return -1;
	if (_test_cmd_access_rw(self->fd, access_fd, iova, tmp, 1,
				MOCK_ACCESS_RW_WRITE))
		return -1;
	if (_test_cmd_access_rw(self->fd, access_fd, iova + PAGE_SIZE - 50,
				tmp, 100, 0))
		return -1;
	if (_test_cmd_access_rw(self->fd, access_fd, iova + PAGE_SIZE - 50,
				tmp, 100, MOCK_ACCESS_RW_WRITE))
		return -1;
	if (_test_cmd_access_rw(self->fd, access_fd, iova + PAGE_SIZE - 50,
				tmp, 100, MOCK_ACCESS_RW_SLOW_PATH))
		return -1;
	if (_test_cmd_access_rw(self->fd, access_fd, iova + PAGE_SIZE - 50,
				tmp, 100,
				MOCK_ACCESS_RW_WRITE |
					MOCK_ACCESS_RW_SLOW_PATH))
		return -1;
	if (_test_cmd_access_rw(self->fd, access_fd, iova, tmp, sizeof(tmp),
				0))
		return -1;
	return 0;
}

/* Pin and unpin through an access; an unmap drops a pinned item */
static int nth_access_pin_common(struct __test_metadata *_metadata,
				 struct nth_state *self, bool domain)
{
	const __u64 map_len = 256 * 1024;
	__u64 iova = MOCK_APERTURE_START;
	__u32 pages_id;
	int access_fd;

	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas_id));
	if (domain)
		ASSERT_EQ(0, _test_cmd_mock_domain(self->fd, self->ioas_id,
						   &self->stdev_id,
						   &self->hwpt_id, NULL));
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, buffer,
					  map_len, &iova,
					  MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));
	ASSERT_EQ(0, _test_cmd_create_access(self->fd, self->ioas_id,
					     &access_fd,
					     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES));
	self->access_fd = access_fd;
	fail_nth_enable();
	if (_test_cmd_access_pages(self->fd, access_fd,
				   MOCK_FLAGS_ACCESS_WRITE, iova,
				   4 * PAGE_SIZE, buffer, &pages_id))
		return -1;
	if (_test_cmd_destroy_access_pages(self->fd, access_fd, pages_id))
		return -1;
	if (_test_cmd_access_pages(self->fd, access_fd, 0, iova + PAGE_SIZE,
				   map_len - PAGE_SIZE,
				   (uint8_t *)buffer + PAGE_SIZE, &pages_id))
		return -1;
	if (domain && _test_ioctl_destroy(self->fd, self->stdev_id))
		return -1;
	/* The access is told to drop the item */
	if (_test_ioctl_ioas_unmap(self->fd, self->ioas_id, iova, map_len,
				   NULL))
		return -1;
	if (!_test_cmd_destroy_access_pages(self->fd, access_fd, pages_id) ||
	    errno != ENOENT)
		return -1;
	return 0;
}

static int nth_access_pin(struct __test_metadata *_metadata,
			  struct nth_state *self)
{
	return nth_access_pin_common(_metadata, self, false);
}

static int nth_access_pin_domain(struct __test_metadata *_metadata,
				 struct nth_state *self)
{
	return nth_access_pin_common(_metadata, self, true);
}

/* Device bind/attach, hardware info, HWPT allocation, replace */
static int nth_device(struct __test_metadata *_metadata,
		      struct nth_state *self)
{
	const __u64 map_len = 256 * 1024;
	struct iommu_test_hw_info info;
	__u64 iova = MOCK_APERTURE_START;
	__u32 hwpt2, hwpt;

	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas_id));
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas2_id));
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, buffer,
					  map_len, &iova,
					  MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas2_id, buffer,
					  map_len, &iova,
					  MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));
	fail_nth_enable();
	if (_test_cmd_mock_domain(self->fd, self->ioas_id, &self->stdev_id,
				  &self->hwpt_id, &self->idev_id))
		return -1;
	if (_test_cmd_get_hw_info(self->fd, self->idev_id, &info,
				  sizeof(info), NULL, NULL, NULL))
		return -1;
	if (_test_cmd_hwpt_alloc(self->fd, self->idev_id, self->ioas_id, 0,
				 &hwpt2, IOMMU_HWPT_DATA_NONE, NULL, 0))
		return -1;
	if (_test_cmd_mock_domain_replace(self->fd, self->stdev_id,
					  self->ioas2_id, &hwpt))
		return -1;
	if (_test_cmd_mock_domain_replace(self->fd, self->stdev_id, hwpt2,
					  &hwpt))
		return -1;
	if (_test_ioctl_destroy(self->fd, self->stdev_id))
		return -1;
	if (_test_ioctl_destroy(self->fd, hwpt2))
		return -1;
	return 0;
}

/*
 * Each test has its own timeout: under emulation a sweep of a few hundred
 * iterations takes a while.
 */
#define NTH_TIMEOUT 600

TEST_F_TIMEOUT(fail_nth, basic, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_basic);
}

TEST_F_TIMEOUT(fail_nth, map_domain, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_map_domain);
}

TEST_F_TIMEOUT(fail_nth, map_two_domains, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_map_two_domains);
}

TEST_F_TIMEOUT(fail_nth, access_rw, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_access_rw);
}

TEST_F_TIMEOUT(fail_nth, access_pin, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_access_pin);
}

TEST_F_TIMEOUT(fail_nth, access_pin_domain, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_access_pin_domain);
}

TEST_F_TIMEOUT(fail_nth, device, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_device);
}

/* The iommufd fault sites must be injectable, not only allocations */
TEST(fail_iommufd_attr)
{
	DIR *dir;

	if (!have_fault_injection)
		SKIP(return, "fault injection (failslab in debugfs) unavailable");
	dir = opendir("/sys/kernel/debug/fail_iommufd");
	ASSERT_NE(NULL, dir);
	closedir(dir);
}

TEST_HARNESS_MAIN
