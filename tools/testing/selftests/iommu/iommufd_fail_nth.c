// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd under fault injection. Each test runs a scenario of iommufd
 * ioctls once without injection (it must succeed), then again and again
 * with /proc/self/task/<tid>/fail-nth set to k = 1, 2, ... at the
 * scenario's fail_nth_enable() point, so the k-th fault injection site
 * the task reaches from there on fails (slab allocations through
 * failslab, and iommufd's own sites through fail_iommufd). Whatever the
 * scenario then does, the kernel must not crash, warn or leak. After each
 * run, injection off, the scenario's check looks at what it left: every
 * step that reported success took effect (an area it mapped reads right
 * through an access and in the mock domains, an object it made exists and
 * works, pins are where its domains and accesses need them), the step that
 * failed left nothing (no area, no domain, no object: the ids of the
 * context come out free), and after the context is closed nothing stays
 * pinned (checked on a fresh context). The sweep ends with the first k
 * the scenario no longer reaches, so its length follows the number of
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

/* The bytes a scenario maps; its areas are in the first 2 of the buffer */
#define NTH_MAP_LEN (256 * 1024)

/*
 * What a scenario works on: a fresh context per iteration, and what the
 * scenario got done, for its check.
 */
struct nth_state {
	int fd;
	int access_fd;
	__u32 ioas_id;
	__u32 ioas2_id;
	__u32 stdev_id;
	__u32 hwpt_id;
	__u32 idev_id;
	/* Steps of the scenario that succeeded (they run in order) */
	unsigned int steps;
	/* Results of the steps that have one */
	__u32 stdev2_id;
	__u32 hwpt2_id;
	__u32 hwpt3_id;
	__u32 pages_id;
	__u32 pages2_id;
	__u64 iova;
	__u64 iova2;
	__u64 dst;
	struct iommu_test_hw_info info;
};

static void nth_state_init(struct __test_metadata *_metadata,
			   struct nth_state *self)
{
	memset(self, 0, sizeof(*self));
	self->access_fd = -1;
	/* What the scenarios map, as the checks expect to read it */
	iommufd_fill_buffer(buffer, 2 * NTH_MAP_LEN);
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
 * Run after the scenario, without injection: whatever step failed, the
 * state is the one its successful steps made. EXPECTs only.
 */
typedef void (*nth_check_t)(struct __test_metadata *_metadata,
			    struct nth_state *self);

/*
 * Iteration 0 without injection, then k = 1, 2, ... each on a fresh
 * context, until the scenario finishes before reaching the k-th site.
 * After each, the check looks at what the scenario left.
 */
static void fail_nth_sweep(struct __test_metadata *_metadata,
			   struct nth_state *self, nth_scenario_t scenario,
			   nth_check_t check)
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
	check(_metadata, self);
	ASSERT_TRUE(_metadata->passed) {
		TH_LOG("wrong state after the scenario without injection");
	}

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
		check(_metadata, self);
		ASSERT_TRUE(_metadata->passed) {
			TH_LOG("iteration %u: wrong state after %u steps",
			       fail_nth_k, self->steps);
		}
		if (!fired)
			break;
	}
	TH_LOG("%u injection sites", fail_nth_k - 1);
	/* The wrapper's teardown checks the last iteration */
}

/*
 * The scenarios: ASSERTs before fail_nth_enable(), steps after it (every
 * ioctl may fail from there on, with any errno). A step that fails ends
 * the scenario; nth_failed() counts the ones that succeeded in
 * self->steps, so the check knows what took effect (the steps before) and
 * what must have left no trace (the one that failed).
 */
static bool nth_failed(struct nth_state *self, bool failed)
{
	if (!failed)
		self->steps++;
	return failed;
}

#define nth_done(step) (self->steps > (step))

/*
 * The checks' tools, EXPECTs only. What a step created must exist and
 * work; what a failed step would have created must not exist.
 */

/* The mock domain @hwpt_id maps iova..+len to the memory at @uptr */
static void nth_expect_md_map(struct __test_metadata *_metadata,
			      struct nth_state *self, __u32 hwpt_id,
			      __u64 iova, size_t len, void *uptr)
{
	EXPECT_EQ(0, _test_cmd_md_check_map(self->fd, hwpt_id, iova, len,
					    uptr));
}

/*
 * iova..+len of @ioas_id reads, through an access made for the check, as
 * the memory at @uptr; a mock domain @hwpt_id (if not 0) maps it there.
 */
static void nth_expect_area(struct __test_metadata *_metadata,
			    struct nth_state *self, __u32 ioas_id,
			    __u32 hwpt_id, __u64 iova, size_t len, void *uptr)
{
	static uint8_t tmp[NTH_MAP_LEN];
	int access_fd, rc;

	ASSERT_GE(sizeof(tmp), len);
	rc = _test_cmd_create_access(self->fd, ioas_id, &access_fd, 0);
	EXPECT_EQ(0, rc);
	if (!rc) {
		memset(tmp, 0, len);
		EXPECT_EQ(0, _test_cmd_access_rw(self->fd, access_fd, iova,
						 tmp, len, 0));
		EXPECT_EQ(0, memcmp(tmp, uptr, len));
		close(access_fd);
	}
	if (hwpt_id)
		nth_expect_md_map(_metadata, self, hwpt_id, iova, len, uptr);
}

/* Nothing is mapped at iova..+len of @ioas_id */
static void nth_expect_no_area(struct __test_metadata *_metadata,
			       struct nth_state *self, __u32 ioas_id,
			       __u64 iova, size_t len)
{
	EXPECT_EQ(-1, _test_ioctl_ioas_unmap(self->fd, ioas_id, iova, len,
					     NULL));
	EXPECT_EQ(ENOENT, errno);
}

/*
 * @ioas_id maps @len bytes in all (so no failed MAP or COPY left an area
 * anywhere); unmaps them.
 */
static void nth_expect_mapped(struct __test_metadata *_metadata,
			      struct nth_state *self, __u32 ioas_id,
			      __u64 len)
{
	__u64 unmapped = 0x5a5a;

	EXPECT_EQ(0, _test_ioctl_ioas_unmap(self->fd, ioas_id, 0, UINT64_MAX,
					    &unmapped));
	EXPECT_EQ(len, unmapped);
}

/* @ioas_id has a mock domain (its aperture) or none (the whole space) */
static void nth_expect_domain(struct __test_metadata *_metadata,
			      struct nth_state *self, __u32 ioas_id,
			      bool domain)
{
	struct iommu_iova_range range = {};
	__u32 num = 1;

	EXPECT_EQ(0, _test_ioctl_ioas_iova_ranges(self->fd, ioas_id, &range,
						  &num, NULL));
	EXPECT_EQ(1, num);
	EXPECT_EQ(domain ? MOCK_APERTURE_START : 0, range.start);
	EXPECT_EQ(domain ? MOCK_APERTURE_LAST : UINT64_MAX, range.last);
}

static void nth_expect_refs(struct __test_metadata *_metadata,
			    struct nth_state *self, void *uptr, size_t len,
			    unsigned int refs)
{
	EXPECT_EQ(0, _test_cmd_md_check_refs(self->fd, uptr, len, refs))
		TH_LOG("pages %zu..+%zu: not %u pins",
		       (size_t)((uint8_t *)uptr - (uint8_t *)buffer) /
			       PAGE_SIZE, len / PAGE_SIZE, refs);
}

static void nth_close_access(struct nth_state *self)
{
	if (self->access_fd >= 0)
		close(self->access_fd);
	self->access_fd = -1;
}

static void nth_expect_destroy(struct __test_metadata *_metadata,
			       struct nth_state *self, __u32 id)
{
	EXPECT_EQ(0, _test_ioctl_destroy(self->fd, id));
}

/*
 * Once the check destroyed every object the scenario reported and closed
 * its access: the context holds nothing, no object of a failed step is
 * left. Ids are handed out lowest free first, and a scenario uses fewer
 * than 16: 16 new IOAS get the ids 1 to 16, unless something holds one.
 */
static void nth_expect_no_objects(struct __test_metadata *_metadata,
				  struct nth_state *self)
{
	__u32 i, id;

	nth_close_access(self);
	for (i = 1; i <= 16; i++) {
		id = 0;
		EXPECT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, &id));
		EXPECT_EQ(i, id);
	}
}

/* IOAS alloc, ranges, allowed ranges, map, copy, unmap */
enum {
	BASIC_IOAS,
	BASIC_IOAS2,
	BASIC_RANGES,
	BASIC_ALLOW,
	BASIC_MAP,
	BASIC_MAP_AUTO,
	BASIC_COPY,
	BASIC_UNMAP,
	BASIC_UNMAP_AGAIN,
	BASIC_UNMAP_ALL,
	BASIC_UNMAP_COPY,
};

#define BASIC_ALLOWED_START 0x100000UL
#define BASIC_ALLOWED_LAST (BASIC_ALLOWED_START + 16 * 1024 * 1024 - 1)

static int nth_basic(struct __test_metadata *_metadata,
		     struct nth_state *self)
{
	struct iommu_iova_range ranges[4];
	__u64 alignment;
	__u32 num;

	self->iova = 0x200000;
	fail_nth_enable();
	if (nth_failed(self,
		       _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas_id)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas2_id)))
		return -1;
	num = ARRAY_SIZE(ranges);
	if (nth_failed(self,
		       _test_ioctl_ioas_iova_ranges(self->fd, self->ioas_id,
						    ranges, &num, &alignment)))
		return -1;
	ranges[0].start = BASIC_ALLOWED_START;
	ranges[0].last = BASIC_ALLOWED_LAST;
	if (nth_failed(self,
		       _test_ioctl_ioas_allow_iovas(self->fd, self->ioas_id,
						    ranges, 1)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_ioas_map(self->fd, self->ioas_id, buffer,
					    NTH_MAP_LEN, &self->iova,
					    MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_ioas_map(self->fd, self->ioas_id, buffer,
					    NTH_MAP_LEN / 2, &self->iova2,
					    IOMMU_IOAS_MAP_READABLE)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_ioas_copy(self->fd, MAP_RW, self->ioas2_id,
					     self->ioas_id, NTH_MAP_LEN,
					     self->iova, &self->dst)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_ioas_unmap(self->fd, self->ioas_id,
					      self->iova, NTH_MAP_LEN, NULL)))
		return -1;
	/* Nothing there any more */
	if (nth_failed(self,
		       !_test_ioctl_ioas_unmap(self->fd, self->ioas_id,
					       self->iova, NTH_MAP_LEN,
					       NULL) || errno != ENOENT))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_ioas_unmap(self->fd, self->ioas_id, 0,
					      UINT64_MAX, NULL)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_ioas_unmap(self->fd, self->ioas2_id,
					      self->dst, NTH_MAP_LEN, NULL)))
		return -1;
	return 0;
}

static void nth_basic_check(struct __test_metadata *_metadata,
			    struct nth_state *self)
{
	const bool map = nth_done(BASIC_MAP) && !nth_done(BASIC_UNMAP);
	const bool map_auto = nth_done(BASIC_MAP_AUTO) &&
			      !nth_done(BASIC_UNMAP_ALL);
	const bool copy = nth_done(BASIC_COPY) &&
			  !nth_done(BASIC_UNMAP_COPY);
	int rc;

	if (nth_done(BASIC_IOAS)) {
		/*
		 * A reservation may not go into an allowed range: there is
		 * one if ALLOW_IOVAS succeeded, none (the old, empty list
		 * stays) if it failed
		 */
		rc = _test_ioctl_add_reserved(self->fd, self->ioas_id,
					      BASIC_ALLOWED_START, PAGE_SIZE);
		if (nth_done(BASIC_ALLOW)) {
			EXPECT_EQ(-1, rc);
			EXPECT_EQ(EADDRINUSE, errno);
		} else {
			EXPECT_EQ(0, rc);
		}

		if (map)
			nth_expect_area(_metadata, self, self->ioas_id, 0,
					self->iova, NTH_MAP_LEN, buffer);
		else
			nth_expect_no_area(_metadata, self, self->ioas_id,
					   self->iova, NTH_MAP_LEN);
		if (map_auto) {
			/* Inside the allowed range */
			EXPECT_LE(BASIC_ALLOWED_START, self->iova2);
			EXPECT_GE(BASIC_ALLOWED_LAST,
				  self->iova2 + NTH_MAP_LEN / 2 - 1);
			nth_expect_area(_metadata, self, self->ioas_id, 0,
					self->iova2, NTH_MAP_LEN / 2, buffer);
		}
		nth_expect_mapped(_metadata, self, self->ioas_id,
				  (map ? NTH_MAP_LEN : 0) +
				  (map_auto ? NTH_MAP_LEN / 2 : 0));
	}
	if (nth_done(BASIC_IOAS2)) {
		if (copy)
			nth_expect_area(_metadata, self, self->ioas2_id, 0,
					self->dst, NTH_MAP_LEN, buffer);
		nth_expect_mapped(_metadata, self, self->ioas2_id,
				  copy ? NTH_MAP_LEN : 0);
		nth_expect_destroy(_metadata, self, self->ioas2_id);
	}
	if (nth_done(BASIC_IOAS))
		nth_expect_destroy(_metadata, self, self->ioas_id);
	nth_expect_no_objects(_metadata, self);
}

/* Map into a mock domain; the domain goes and comes back over the area */
enum {
	MD_DOMAIN,
	MD_MAP,
	MD_DESTROY,
	MD_DOMAIN2,
	MD_CHECK_MAP,
	MD_UNMAP,
	MD_DESTROY2,
};

static int nth_map_domain(struct __test_metadata *_metadata,
			  struct nth_state *self)
{
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas_id));
	self->iova = MOCK_APERTURE_START;
	fail_nth_enable();
	if (nth_failed(self,
		       _test_cmd_mock_domain(self->fd, self->ioas_id,
					     &self->stdev_id, &self->hwpt_id,
					     NULL)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_ioas_map(self->fd, self->ioas_id, buffer,
					    NTH_MAP_LEN, &self->iova,
					    MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_destroy(self->fd, self->stdev_id)))
		return -1;
	if (nth_failed(self,
		       _test_cmd_mock_domain(self->fd, self->ioas_id,
					     &self->stdev_id, &self->hwpt_id,
					     NULL)))
		return -1;
	if (nth_failed(self,
		       _test_cmd_md_check_map(self->fd, self->hwpt_id,
					      self->iova, NTH_MAP_LEN, buffer)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_ioas_unmap(self->fd, self->ioas_id,
					      self->iova, NTH_MAP_LEN, NULL)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_destroy(self->fd, self->stdev_id)))
		return -1;
	return 0;
}

static void nth_map_domain_check(struct __test_metadata *_metadata,
				 struct nth_state *self)
{
	const bool domain = (nth_done(MD_DOMAIN) && !nth_done(MD_DESTROY)) ||
			    (nth_done(MD_DOMAIN2) && !nth_done(MD_DESTROY2));
	const bool area = nth_done(MD_MAP) && !nth_done(MD_UNMAP);

	nth_expect_domain(_metadata, self, self->ioas_id, domain);
	/* Pinned for the domain only */
	nth_expect_refs(_metadata, self, buffer, NTH_MAP_LEN,
			area && domain);
	if (area)
		nth_expect_area(_metadata, self, self->ioas_id,
				domain ? self->hwpt_id : 0, self->iova,
				NTH_MAP_LEN, buffer);
	else
		nth_expect_no_area(_metadata, self, self->ioas_id, self->iova,
				   NTH_MAP_LEN);
	nth_expect_mapped(_metadata, self, self->ioas_id,
			  area ? NTH_MAP_LEN : 0);
	if (domain)
		nth_expect_destroy(_metadata, self, self->stdev_id);
	nth_expect_destroy(_metadata, self, self->ioas_id);
	nth_expect_no_objects(_metadata, self);
}

/* Two distinct domains: one filled from existing areas, then maps */
enum {
	TD_MAP,
	TD_HWPT2,
	TD_DEVICE2,
	TD_MAP2,
	TD_DESTROY,
	TD_UNMAP,
	TD_UNMAP_ALL,
};

static int nth_map_two_domains(struct __test_metadata *_metadata,
			       struct nth_state *self)
{
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas_id));
	ASSERT_EQ(0, _test_cmd_mock_domain(self->fd, self->ioas_id,
					   &self->stdev_id, &self->hwpt_id,
					   &self->idev_id));
	self->iova = MOCK_APERTURE_START;
	fail_nth_enable();
	if (nth_failed(self,
		       _test_ioctl_ioas_map(self->fd, self->ioas_id, buffer,
					    NTH_MAP_LEN, &self->iova,
					    MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA)))
		return -1;
	if (nth_failed(self,
		       _test_cmd_hwpt_alloc(self->fd, self->idev_id,
					    self->ioas_id, 0, &self->hwpt2_id,
					    IOMMU_HWPT_DATA_NONE, NULL, 0)))
		return -1;
	if (nth_failed(self,
		       _test_cmd_mock_domain(self->fd, self->hwpt2_id,
					     &self->stdev2_id, NULL, NULL)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_ioas_map(self->fd, self->ioas_id,
					    (uint8_t *)buffer + NTH_MAP_LEN,
					    NTH_MAP_LEN, &self->iova2, MAP_RW)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_destroy(self->fd, self->stdev_id)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_ioas_unmap(self->fd, self->ioas_id,
					      self->iova, NTH_MAP_LEN, NULL)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_ioas_unmap(self->fd, self->ioas_id, 0,
					      UINT64_MAX, NULL)))
		return -1;
	return 0;
}

static void nth_map_two_domains_check(struct __test_metadata *_metadata,
				      struct nth_state *self)
{
	const bool hwpt1 = !nth_done(TD_DESTROY);
	const bool hwpt2 = nth_done(TD_HWPT2);
	const bool area1 = nth_done(TD_MAP) && !nth_done(TD_UNMAP);
	const bool area2 = nth_done(TD_MAP2) && !nth_done(TD_UNMAP_ALL);
	uint8_t *mem2 = (uint8_t *)buffer + NTH_MAP_LEN;

	nth_expect_domain(_metadata, self, self->ioas_id, hwpt1 || hwpt2);
	/* Pinned once for any number of domains */
	nth_expect_refs(_metadata, self, buffer, NTH_MAP_LEN,
			area1 && (hwpt1 || hwpt2));
	nth_expect_refs(_metadata, self, mem2, NTH_MAP_LEN,
			area2 && (hwpt1 || hwpt2));
	if (area1) {
		nth_expect_area(_metadata, self, self->ioas_id,
				hwpt1 ? self->hwpt_id : 0, self->iova,
				NTH_MAP_LEN, buffer);
		if (hwpt2)
			nth_expect_md_map(_metadata, self, self->hwpt2_id,
					  self->iova, NTH_MAP_LEN, buffer);
	} else {
		nth_expect_no_area(_metadata, self, self->ioas_id, self->iova,
				   NTH_MAP_LEN);
	}
	if (area2) {
		nth_expect_area(_metadata, self, self->ioas_id,
				hwpt1 ? self->hwpt_id : 0, self->iova2,
				NTH_MAP_LEN, mem2);
		if (hwpt2)
			nth_expect_md_map(_metadata, self, self->hwpt2_id,
					  self->iova2, NTH_MAP_LEN, mem2);
	}
	nth_expect_mapped(_metadata, self, self->ioas_id,
			  (area1 ? NTH_MAP_LEN : 0) +
			  (area2 ? NTH_MAP_LEN : 0));
	if (nth_done(TD_DEVICE2))
		nth_expect_destroy(_metadata, self, self->stdev2_id);
	if (hwpt2)
		nth_expect_destroy(_metadata, self, self->hwpt2_id);
	if (hwpt1)
		nth_expect_destroy(_metadata, self, self->stdev_id);
	nth_expect_destroy(_metadata, self, self->ioas_id);
	nth_expect_no_objects(_metadata, self);
}

/*
 * Reads and writes through an access, fast and slow path. What is written
 * is the pattern of nth_wr's addresses, unlike the buffer's.
 */
enum {
	RW_ACCESS,
	RW_READ_BYTE,
	RW_WRITE_BYTE,
	RW_READ_CROSS,
	RW_WRITE_CROSS,
	RW_READ_SLOW,
	RW_WRITE_SLOW,
	RW_READ_PAGE,
	RW_STEPS
};

/* One read or write of nth_access_rw: at buffer + off, len bytes */
struct nth_rw_op {
	unsigned int step;
	bool write;
	__u32 flags;
	size_t off;
	size_t len;
	uint8_t *data;
};

static uint8_t nth_rd[4][4096];
static uint8_t nth_wr[3][128];

static void nth_rw_ops(struct nth_rw_op *ops)
{
	const size_t cross = PAGE_SIZE - 50;
	const struct nth_rw_op table[] = {
		{ RW_READ_BYTE, false, 0, 0, 1, nth_rd[0] },
		{ RW_WRITE_BYTE, true, 0, 0, 1, nth_wr[0] },
		{ RW_READ_CROSS, false, 0, cross, 100, nth_rd[1] },
		{ RW_WRITE_CROSS, true, 0, cross, 100, nth_wr[1] },
		{ RW_READ_SLOW, false, MOCK_ACCESS_RW_SLOW_PATH, cross, 100,
		  nth_rd[2] },
		{ RW_WRITE_SLOW, true, MOCK_ACCESS_RW_SLOW_PATH, cross, 100,
		  nth_wr[2] },
		{ RW_READ_PAGE, false, 0, 0, 4096, nth_rd[3] },
	};

	memcpy(ops, table, sizeof(table));
}

#define NTH_RW_OPS (RW_STEPS - RW_READ_BYTE)

static int nth_access_rw(struct __test_metadata *_metadata,
			 struct nth_state *self)
{
	struct nth_rw_op ops[NTH_RW_OPS];
	unsigned int i;
	int access_fd;

	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas_id));
	self->iova = MOCK_APERTURE_START;
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, buffer,
					  NTH_MAP_LEN, &self->iova,
					  MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));
	nth_rw_ops(ops);
	iommufd_fill_buffer(nth_wr, sizeof(nth_wr));
	memset(nth_rd, 0, sizeof(nth_rd));
	fail_nth_enable();
	if (nth_failed(self,
		       _test_cmd_create_access(self->fd, self->ioas_id,
					       &access_fd, 0)))
		return -1;
	self->access_fd = access_fd;
	for (i = 0; i != NTH_RW_OPS; i++) {
		__u32 flags = ops[i].flags;

		if (ops[i].write)
			flags |= MOCK_ACCESS_RW_WRITE;
		if (nth_failed(self,
			       _test_cmd_access_rw(self->fd, access_fd,
						   self->iova + ops[i].off,
						   ops[i].data, ops[i].len,
						   flags)))
			return -1;
	}
	return 0;
}

/*
 * Every read that succeeded saw the writes before it and nothing else;
 * the memory holds what the successful writes put there (a failed one
 * may have written a part), and the access still reads it.
 */
static void nth_access_rw_check(struct __test_metadata *_metadata,
				struct nth_state *self)
{
	const size_t span = 2 * PAGE_SIZE;
	struct nth_rw_op ops[NTH_RW_OPS];
	const struct nth_rw_op *failed = NULL;
	uint8_t *model, *mem = buffer;
	unsigned int i;
	size_t off;

	nth_rw_ops(ops);
	model = malloc(span);
	ASSERT_NE(NULL, model);
	for (off = 0; off != span; off++)
		model[off] = iommufd_pattern_byte(mem + off);
	for (i = 0; i != NTH_RW_OPS; i++) {
		if (!nth_done(ops[i].step)) {
			if (nth_done(RW_ACCESS) && ops[i].write &&
			    self->steps == ops[i].step)
				failed = &ops[i];
			break;
		}
		if (ops[i].write)
			memcpy(model + ops[i].off, ops[i].data, ops[i].len);
		else
			EXPECT_EQ(0, memcmp(ops[i].data, model + ops[i].off,
					    ops[i].len))
				TH_LOG("read of step %u", ops[i].step);
	}
	for (off = 0; off != span; off++) {
		bool partly = failed && off >= failed->off &&
			      off < failed->off + failed->len;

		if (mem[off] == model[off] ||
		    (partly && mem[off] == failed->data[off - failed->off]))
			continue;
		EXPECT_EQ(model[off], mem[off])
			TH_LOG("byte %zu of the buffer", off);
		break;
	}
	free(model);
	EXPECT_EQ(-1, iommufd_check_buffer(mem + span,
					   2 * NTH_MAP_LEN - span));

	/* The access works: it reads what is there */
	if (nth_done(RW_ACCESS)) {
		static uint8_t tmp[2 * 4096];

		ASSERT_GE(sizeof(tmp), span);
		memset(tmp, 0, span);
		EXPECT_EQ(0, _test_cmd_access_rw(self->fd, self->access_fd,
						 self->iova, tmp, span, 0));
		EXPECT_EQ(0, memcmp(tmp, mem, span));
	}
	nth_expect_area(_metadata, self, self->ioas_id, 0, self->iova,
			NTH_MAP_LEN, buffer);
	nth_close_access(self);
	/* No access left holding it */
	nth_expect_destroy(_metadata, self, self->ioas_id);
	nth_expect_no_objects(_metadata, self);
}

/* Pin and unpin through an access; an unmap drops a pinned item */
enum {
	PIN_PAGES,
	PIN_UNPIN,
	PIN_PAGES2,
	PIN_DESTROY_DOMAIN,	/* done at once without a domain */
	PIN_UNMAP,
	PIN_UNPIN_GONE,
};

static int nth_access_pin_common(struct __test_metadata *_metadata,
				 struct nth_state *self, bool domain)
{
	int access_fd;

	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas_id));
	if (domain)
		ASSERT_EQ(0, _test_cmd_mock_domain(self->fd, self->ioas_id,
						   &self->stdev_id,
						   &self->hwpt_id, NULL));
	self->iova = MOCK_APERTURE_START;
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, buffer,
					  NTH_MAP_LEN, &self->iova,
					  MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));
	ASSERT_EQ(0, _test_cmd_create_access(self->fd, self->ioas_id,
					     &access_fd,
					     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES));
	self->access_fd = access_fd;
	fail_nth_enable();
	if (nth_failed(self,
		       _test_cmd_access_pages(self->fd, access_fd,
					      MOCK_FLAGS_ACCESS_WRITE,
					      self->iova, 4 * PAGE_SIZE, buffer,
					      &self->pages_id)))
		return -1;
	if (nth_failed(self,
		       _test_cmd_destroy_access_pages(self->fd, access_fd,
						      self->pages_id)))
		return -1;
	if (nth_failed(self,
		       _test_cmd_access_pages(self->fd, access_fd, 0,
					      self->iova + PAGE_SIZE,
					      NTH_MAP_LEN - PAGE_SIZE,
					      (uint8_t *)buffer + PAGE_SIZE,
					      &self->pages2_id)))
		return -1;
	if (nth_failed(self,
		       domain && _test_ioctl_destroy(self->fd, self->stdev_id)))
		return -1;
	/* The access is told to drop the item */
	if (nth_failed(self,
		       _test_ioctl_ioas_unmap(self->fd, self->ioas_id,
					      self->iova, NTH_MAP_LEN, NULL)))
		return -1;
	if (nth_failed(self,
		       !_test_cmd_destroy_access_pages(self->fd, access_fd,
						       self->pages2_id) ||
		       errno != ENOENT))
		return -1;
	return 0;
}

static void nth_access_pin_check(struct __test_metadata *_metadata,
				 struct nth_state *self, bool with_domain)
{
	const bool domain = with_domain && !nth_done(PIN_DESTROY_DOMAIN);
	const bool area = !nth_done(PIN_UNMAP);
	const bool item = nth_done(PIN_PAGES) && !nth_done(PIN_UNPIN);
	const bool item2 = nth_done(PIN_PAGES2) && !nth_done(PIN_UNMAP);
	/* The unmap failed: it may have had the item dropped already */
	const bool item2_maybe = item2 && self->steps == PIN_UNMAP;
	const size_t npages = NTH_MAP_LEN / PAGE_SIZE;
	uint8_t *mem = buffer;
	int rc;

	nth_expect_domain(_metadata, self, self->ioas_id, domain);
	/* Pinned while a domain or an item of the access needs them */
	if (!item2_maybe) {
		nth_expect_refs(_metadata, self, mem, PAGE_SIZE,
				area && (domain || item));
		nth_expect_refs(_metadata, self, mem + PAGE_SIZE,
				3 * PAGE_SIZE,
				area && (domain || item || item2));
		nth_expect_refs(_metadata, self, mem + 4 * PAGE_SIZE,
				(npages - 4) * PAGE_SIZE,
				area && (domain || item2));
	}
	/* The items there are work: they can be let go, once */
	if (item) {
		rc = _test_cmd_destroy_access_pages(self->fd, self->access_fd,
						    self->pages_id);
		EXPECT_EQ(0, rc);
		rc = _test_cmd_destroy_access_pages(self->fd, self->access_fd,
						    self->pages_id);
		EXPECT_EQ(-1, rc);
		EXPECT_EQ(ENOENT, errno);
	}
	if (nth_done(PIN_PAGES2)) {
		rc = _test_cmd_destroy_access_pages(self->fd, self->access_fd,
						    self->pages2_id);
		if (item2 && !item2_maybe)
			EXPECT_EQ(0, rc);
		if (!item2 || item2_maybe)
			EXPECT_TRUE(!rc ? item2_maybe : errno == ENOENT);
	}
	/* Without items: pinned for the domain only */
	nth_expect_refs(_metadata, self, mem, NTH_MAP_LEN, area && domain);

	if (area)
		nth_expect_area(_metadata, self, self->ioas_id,
				domain ? self->hwpt_id : 0, self->iova,
				NTH_MAP_LEN, buffer);
	else
		nth_expect_no_area(_metadata, self, self->ioas_id, self->iova,
				   NTH_MAP_LEN);
	nth_expect_mapped(_metadata, self, self->ioas_id,
			  area ? NTH_MAP_LEN : 0);
	nth_close_access(self);
	if (domain)
		nth_expect_destroy(_metadata, self, self->stdev_id);
	nth_expect_destroy(_metadata, self, self->ioas_id);
	nth_expect_no_objects(_metadata, self);
}

static int nth_access_pin(struct __test_metadata *_metadata,
			  struct nth_state *self)
{
	return nth_access_pin_common(_metadata, self, false);
}

static void nth_access_pin_check_plain(struct __test_metadata *_metadata,
				       struct nth_state *self)
{
	nth_access_pin_check(_metadata, self, false);
}

static int nth_access_pin_domain(struct __test_metadata *_metadata,
				 struct nth_state *self)
{
	return nth_access_pin_common(_metadata, self, true);
}

static void nth_access_pin_check_domain(struct __test_metadata *_metadata,
					struct nth_state *self)
{
	nth_access_pin_check(_metadata, self, true);
}

/* Device bind/attach, hardware info, HWPT allocation, replace */
enum {
	DEV_DOMAIN,
	DEV_INFO,
	DEV_HWPT2,
	DEV_REPLACE_IOAS2,
	DEV_REPLACE_HWPT2,
	DEV_DESTROY,
	DEV_DESTROY_HWPT2,
};

static int nth_device(struct __test_metadata *_metadata,
		      struct nth_state *self)
{
	__u64 iova = MOCK_APERTURE_START;

	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas_id));
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(self->fd, 0, &self->ioas2_id));
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas_id, buffer,
					  NTH_MAP_LEN, &iova,
					  MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));
	ASSERT_EQ(0, _test_ioctl_ioas_map(self->fd, self->ioas2_id, buffer,
					  NTH_MAP_LEN, &iova,
					  MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA));
	self->iova = iova;
	fail_nth_enable();
	if (nth_failed(self,
		       _test_cmd_mock_domain(self->fd, self->ioas_id,
					     &self->stdev_id, &self->hwpt_id,
					     &self->idev_id)))
		return -1;
	if (nth_failed(self,
		       _test_cmd_get_hw_info(self->fd, self->idev_id,
					     &self->info, sizeof(self->info),
					     NULL, NULL, NULL)))
		return -1;
	if (nth_failed(self,
		       _test_cmd_hwpt_alloc(self->fd, self->idev_id,
					    self->ioas_id, 0, &self->hwpt2_id,
					    IOMMU_HWPT_DATA_NONE, NULL, 0)))
		return -1;
	if (nth_failed(self,
		       _test_cmd_mock_domain_replace(self->fd, self->stdev_id,
						     self->ioas2_id,
						     &self->hwpt3_id)))
		return -1;
	if (nth_failed(self,
		       _test_cmd_mock_domain_replace(self->fd, self->stdev_id,
						     self->hwpt2_id, NULL)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_destroy(self->fd, self->stdev_id)))
		return -1;
	if (nth_failed(self,
		       _test_ioctl_destroy(self->fd, self->hwpt2_id)))
		return -1;
	return 0;
}

static void nth_device_check(struct __test_metadata *_metadata,
			     struct nth_state *self)
{
	const bool dev = nth_done(DEV_DOMAIN) && !nth_done(DEV_DESTROY);
	const bool hwpt2 = nth_done(DEV_HWPT2) &&
			   !nth_done(DEV_DESTROY_HWPT2);
	/* The HWPT the device is on: an automatic one of ioas or ioas2 */
	const __u32 on = !dev ? 0 :
			 nth_done(DEV_REPLACE_HWPT2) ? self->hwpt2_id :
			 nth_done(DEV_REPLACE_IOAS2) ? self->hwpt3_id :
			 self->hwpt_id;
	const bool auto1 = dev && on == self->hwpt_id;
	const bool auto2 = dev && on == self->hwpt3_id;

	/*
	 * Automatic HWPTs a replace left went with it (checked before the
	 * check makes objects that could take their ids)
	 */
	if (nth_done(DEV_REPLACE_IOAS2) && !auto1) {
		EXPECT_EQ(-1, _test_cmd_md_check_map(self->fd, self->hwpt_id,
						     self->iova, PAGE_SIZE,
						     buffer));
		EXPECT_EQ(ENOENT, errno);
	}
	if (nth_done(DEV_REPLACE_HWPT2) && !auto2) {
		EXPECT_EQ(-1, _test_cmd_md_check_map(self->fd, self->hwpt3_id,
						     self->iova, PAGE_SIZE,
						     buffer));
		EXPECT_EQ(ENOENT, errno);
	}
	if (nth_done(DEV_INFO)) {
		EXPECT_EQ(0, self->info.flags);
		EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL, self->info.test_reg);
	}
	if (dev) {
		/* On its HWPT, which it holds */
		nth_expect_md_map(_metadata, self, on, self->iova,
				  NTH_MAP_LEN, buffer);
		EXPECT_EQ(-1, _test_ioctl_destroy(self->fd, on));
		EXPECT_EQ(EBUSY, errno);
	}
	if (hwpt2)
		nth_expect_md_map(_metadata, self, self->hwpt2_id, self->iova,
				  NTH_MAP_LEN, buffer);
	nth_expect_domain(_metadata, self, self->ioas_id, auto1 || hwpt2);
	nth_expect_domain(_metadata, self, self->ioas2_id, auto2);
	/* Each IOAS maps the buffer: pinned once for each with a domain */
	nth_expect_refs(_metadata, self, buffer, NTH_MAP_LEN,
			(auto1 || hwpt2) + auto2);

	if (dev)
		nth_expect_destroy(_metadata, self, self->stdev_id);
	if (hwpt2)
		nth_expect_destroy(_metadata, self, self->hwpt2_id);
	nth_expect_area(_metadata, self, self->ioas_id, 0, self->iova,
			NTH_MAP_LEN, buffer);
	nth_expect_area(_metadata, self, self->ioas2_id, 0, self->iova,
			NTH_MAP_LEN, buffer);
	nth_expect_destroy(_metadata, self, self->ioas_id);
	nth_expect_destroy(_metadata, self, self->ioas2_id);
	nth_expect_no_objects(_metadata, self);
}

/*
 * Each test has its own timeout: under emulation a sweep of a few hundred
 * iterations takes a while.
 */
#define NTH_TIMEOUT 600

TEST_F_TIMEOUT(fail_nth, basic, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_basic, nth_basic_check);
}

TEST_F_TIMEOUT(fail_nth, map_domain, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_map_domain,
		       nth_map_domain_check);
}

TEST_F_TIMEOUT(fail_nth, map_two_domains, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_map_two_domains,
		       nth_map_two_domains_check);
}

TEST_F_TIMEOUT(fail_nth, access_rw, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_access_rw,
		       nth_access_rw_check);
}

TEST_F_TIMEOUT(fail_nth, access_pin, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_access_pin,
		       nth_access_pin_check_plain);
}

TEST_F_TIMEOUT(fail_nth, access_pin_domain, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_access_pin_domain,
		       nth_access_pin_check_domain);
}

TEST_F_TIMEOUT(fail_nth, device, NTH_TIMEOUT)
{
	fail_nth_sweep(_metadata, &self->st, nth_device, nth_device_check);
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
