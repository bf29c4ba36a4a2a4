// SPDX-License-Identifier: GPL-2.0
/*
 * Attach, replace and detach through the VFIO device cdev in an IOMMU group
 * of three devices: the three edu functions of one multi-function device.
 *
 * The IOMMU translates for the group, not for each function, so iommufd
 * keeps one HW pagetable per group (drivers/iommu/iommufd/device.c, its
 * top-of-file model). What is checked here, whatever order the devices
 * are attached and detached in:
 *  - all attached devices of the group report one HWPT; a device that is
 *    not attached cannot be attached to another HWPT than the group's
 *    (-EINVAL, nothing changes);
 *  - VFIO_DEVICE_ATTACH_IOMMUFD_PT of an attached device is a replace, and
 *    a replace moves the whole group: every attached device follows and
 *    reports the new HWPT, devices detached before stay detached;
 *  - a detached device of an attached group still DMAs through the group's
 *    domain (the IOMMU cannot tell the functions apart), and follows it;
 *  - the old automatic HWPT is destroyed by the replace that moves its last
 *    device, not before, and its pages are unpinned with it;
 *  - DMA lands only in the buffers of the HWPT the group is on: the other
 *    IOAS maps other buffers at the same IOVAs, and they stay untouched;
 *    with no device attached, DMA is blocked and the IOMMU reports it.
 *
 * Where a device is, is observed without changing it. Its DMA shows the
 * domain it goes through: each function copies IOVA_SRC to IOVA_DST, and
 * IOAS A and IOAS B map buffers of their own there, so only the HWPTs of
 * one IOAS map the buffer that changes (where two HWPTs of one IOAS are
 * told apart, the other one is destroyed first); a blocked DMA changes
 * nothing and must come with VT-d's fault report of that function at that
 * IOVA. Every function's DMA is checked, so a replace that leaves one
 * behind on the old domain fails. What the DMA cannot show, attached or
 * only following the group (the functions share the group's domain), is
 * seen in what the uAPI refuses: a detached device is refused (-EINVAL) an
 * attach to another HWPT than the group's, and IOMMU_DESTROY of a HWPT is
 * -EBUSY while an attached device holds it.
 *
 * Needs an IOMMU group of (at least) three edu functions and nothing else
 * ($EDU_GROUP_FN0, $EDU_GROUP_FN1, $EDU_GROUP_FN2 override the search),
 * vfio-pci with CONFIG_VFIO_DEVICE_CDEV and iommufd. The functions are left
 * unbound and without driver_override, whatever happens in a test.
 */
#include <dirent.h>
#include <sys/stat.h>

#include <linux/vfio.h>

#include "iommufd_utils.h"
#include "edu.h"
#include "vfio_util.h"

#define NR_FN		3
#define BUF_SIZE	EDU_BUF_SIZE
#define IOVA_SRC	0x100000ULL
#define IOVA_DST	0x200000ULL
#define BOGUS_ID	0x7ffffff0
/* What the destination buffers hold when no DMA reached them */
#define UNTOUCHED_A	0xa5
#define UNTOUCHED_B	0x5b
/*
 * Every DMA is 100 ms of the emulator, a blocked one may wait for VT-d's
 * rate limit (5 s); the debug kernel is slow
 */
#define GROUP_TIMEOUT	240

static __attribute__((constructor)) void setup_globals(void)
{
	iommufd_setup_globals();
}

/* --- finding the group --- */

static bool env_bdfs(char fn[][PCI_BDF_SIZE])
{
	static const char *const names[NR_FN] = {
		"EDU_GROUP_FN0", "EDU_GROUP_FN1", "EDU_GROUP_FN2",
	};
	int i;

	for (i = 0; i < NR_FN; i++) {
		const char *val = getenv(names[i]);

		if (!val || !val[0] || strlen(val) >= PCI_BDF_SIZE)
			return false;
		strcpy(fn[i], val);
	}
	return true;
}

/*
 * The first IOMMU group found made of at least NR_FN
 * devices, all of them edu; its first NR_FN devices in address order.
 */
static int edu_find_group(char fn[][PCI_BDF_SIZE])
{
	char members[IOMMU_GROUP_MAX_DEVS][PCI_BDF_SIZE];
	struct dirent **list;
	int i, j, n, nr, ret = -ENODEV;

	if (env_bdfs(fn))
		return 0;
	nr = scandir("/sys/kernel/iommu_groups", &list, NULL, alphasort);
	if (nr < 0)
		return -errno;
	for (i = 0; i < nr; i++) {
		if (ret && list[i]->d_name[0] != '.') {
			n = iommu_group_devices(atoi(list[i]->d_name), members,
						IOMMU_GROUP_MAX_DEVS);
			for (j = 0; j < n && pci_is_edu(members[j]); j++)
				;
			if (n >= NR_FN && j == n) {
				for (j = 0; j < NR_FN; j++)
					strcpy(fn[j], members[j]);
				ret = 0;
			}
		}
		free(list[i]);
	}
	free(list);
	return ret;
}

FIXTURE(group) {
	char fn[NR_FN][PCI_BDF_SIZE];
	int setup_err;		/* the setup's first error, failed by the test */
	bool restore;		/* drivers touched: release all at teardown */
	int fd;			/* /dev/iommu */
	int dev[NR_FN];		/* /dev/vfio/devices/vfioX of each function */
	__u32 dev_id[NR_FN];
	struct edu edu[NR_FN];
	int kmsg;
	uint8_t seed;		/* of the next DMA's data */
	struct vfio_legacy legacy;	/* the group path, when used */
	__u32 ioas_a, ioas_b;
	__u32 hwpt_a;		/* the automatic HWPT of IOAS A */
	__u32 hwpt_b;		/* a HWPT allocated on IOAS B */
	uint8_t *mem;		/* src_a, dst_a, src_b, dst_b */
	uint8_t *src_a, *dst_a, *src_b, *dst_b;
};

/* The fixture's data, for the helpers */
#define group_fixture FIXTURE_DATA(group)

/*
 * All functions bound to vfio-pci, nothing opened yet. Failures are left
 * for the test to report: an ASSERT here would skip the teardown, and with
 * it the restore of the drivers.
 */
FIXTURE_SETUP(group)
{
	char path[256];
	int i, ret = 0;

	self->fd = -1;
	self->kmsg = -1;
	self->legacy.device = -1;
	self->legacy.group = -1;
	self->legacy.container = -1;
	for (i = 0; i < NR_FN; i++)
		self->dev[i] = -1;

	if (access("/dev/iommu", F_OK))
		SKIP(return, "no /dev/iommu");
	if (edu_find_group(self->fn))
		SKIP(return, "no IOMMU group of %d edu functions", NR_FN);
	if (access("/sys/bus/pci/drivers/vfio-pci", F_OK))
		SKIP(return, "no vfio-pci driver");

	self->restore = true;
	for (i = 0; i < NR_FN && !ret; i++)
		ret = pci_release(self->fn[i]);
	for (i = 0; i < NR_FN && !ret; i++)
		ret = pci_bind(self->fn[i], "vfio-pci");
	if (!ret && vfio_cdev_path(self->fn[0], path, sizeof(path)) == -ENODEV)
		SKIP(return, "no VFIO device cdev (CONFIG_VFIO_DEVICE_CDEV)");
	for (i = 1; i < NR_FN && !ret; i++)
		if (pci_iommu_group(self->fn[i]) != pci_iommu_group(self->fn[0]))
			ret = -EXDEV;
	self->setup_err = ret;
}

FIXTURE_TEARDOWN(group)
{
	int i;

	if (self->kmsg >= 0)
		close(self->kmsg);
	vfio_legacy_close(&self->legacy);
	/* The BAR mappings hold the device files: unmap them first */
	for (i = 0; i < NR_FN; i++) {
		edu_uninit(&self->edu[i]);
		if (self->dev[i] >= 0)
			close(self->dev[i]);
	}
	if (self->fd >= 0)
		close(self->fd);
	if (self->mem)
		munmap(self->mem, 4 * BUF_SIZE);
	if (self->restore)
		for (i = NR_FN - 1; i >= 0; i--)
			pci_release(self->fn[i]);
}

/* Whether the test runs: not skipped, and its setup worked */
static bool ready(struct __test_metadata *_metadata, int setup_err)
{
	if (_metadata->skip)
		return false;
	ASSERT_EQ(0, setup_err);
	return true;
}

enum lands { IN_A, IN_B, BLOCKED };

static const char *const lands_name[] = {
	[IN_A] = "IOAS A's buffer",
	[IN_B] = "IOAS B's buffer",
	[BLOCKED] = "nowhere (blocked)",
};

/*
 * Function @i copies RAM at IOVA_SRC -> device -> RAM at IOVA_DST. Both
 * IOASes map their own buffers at both IOVAs, with different data in the
 * sources, so where the data comes from and goes to is seen: only the
 * destination of @where may change, and it must get its own IOAS' source.
 * BLOCKED tries the write only, and wants the IOMMU's report of it (a
 * DMA gone elsewhere would leave both destinations untouched too).
 */
static void expect_dma(struct __test_metadata *_metadata,
		       group_fixture *self, int i, enum lands where)
{
	struct edu *edu = &self->edu[i];
	uint8_t seed = self->seed;

	self->seed += 0x1d;
	fill(self->src_a, BUF_SIZE, seed);
	fill(self->src_b, BUF_SIZE, ~seed);
	memset(self->dst_a, UNTOUCHED_A, BUF_SIZE);
	memset(self->dst_b, UNTOUCHED_B, BUF_SIZE);
	if (where == BLOCKED) {
		ASSERT_EQ(0, edu_dma_blocked(edu, self->fn[i], self->kmsg,
					     IOVA_DST, BUF_SIZE, true));
	} else {
		ASSERT_EQ(0, edu_dma_from_ram(edu, IOVA_SRC, 0, BUF_SIZE));
		ASSERT_EQ(0, edu_dma_to_ram(edu, 0, IOVA_DST, BUF_SIZE));
	}

	if (where == IN_A)
		ASSERT_EQ(0, memcmp(self->src_a, self->dst_a, BUF_SIZE));
	if (where != IN_A)
		ASSERT_TRUE(all_bytes(self->dst_a, BUF_SIZE, UNTOUCHED_A));
	if (where == IN_B)
		ASSERT_EQ(0, memcmp(self->src_b, self->dst_b, BUF_SIZE));
	if (where != IN_B)
		ASSERT_TRUE(all_bytes(self->dst_b, BUF_SIZE, UNTOUCHED_B));
	TH_LOG("DMA of %s: %s", self->fn[i], lands_name[where]);
}

/* Each function's DMA, one after the other */
static void expect_dma_all(struct __test_metadata *_metadata,
			   group_fixture *self, enum lands where)
{
	int i;

	for (i = 0; i < NR_FN; i++)
		expect_dma(_metadata, self, i, where);
}

/* ATTACH @pt_id to function @i: 0, and the HWPT it went to is @hwpt */
static void attach_ok(struct __test_metadata *_metadata, group_fixture *self,
		      int i, __u32 pt_id, __u32 hwpt)
{
	__u32 pt = pt_id;

	ASSERT_EQ(0, vfio_cdev_attach(self->dev[i], &pt));
	ASSERT_EQ(hwpt, pt);
}

/* ATTACH @pt_id to function @i fails with @err */
static void attach_err(struct __test_metadata *_metadata, group_fixture *self,
		       int err, int i, __u32 pt_id)
{
	__u32 pt = pt_id;

	ASSERT_EQ(-err, vfio_cdev_attach(self->dev[i], &pt));
}

#define test_cmd_attach(i, pt_id, hwpt)					\
	attach_ok(_metadata, self, i, pt_id, hwpt)
#define test_err_attach(_errno, i, pt_id)				\
	attach_err(_metadata, self, _errno, i, pt_id)
#define test_cmd_detach(i) ASSERT_EQ(0, vfio_cdev_detach(self->dev[i]))
/* Where the DMA of function @i goes (expect_dma()), and of every function */
#define expect_dma_of(i, where) expect_dma(_metadata, self, i, where)
#define expect_dma_of_all(where) expect_dma_all(_metadata, self, where)

/*
 * Function @i is not attached while its group is on another HWPT than
 * @other_pt: attaching it there is refused. An attached device would
 * have been moved, with its group, by the same call.
 */
#define expect_detached(i, other_pt) test_err_attach(EINVAL, i, other_pt)

#define expect_pinned_kb(kb) ASSERT_EQ((long)(kb), proc_status_kb("VmPin"))

/*
 * The attached functions @order (@n of them, all the attached ones) are
 * detached one after the other. Until the last, the group stays where it
 * is: @hwpt is held (IOMMU_DESTROY -EBUSY) and every function's DMA still
 * lands in @where; after the last, every function's DMA is blocked and
 * reported. An attached device is one that holds the group: each step
 * shows that one of those left still does, the last step that the last
 * one did, alone.
 */
static void detach_in_turn(struct __test_metadata *_metadata,
			   group_fixture *self, __u32 hwpt, enum lands where,
			   const int *order, int n)
{
	int k;

	for (k = 0; k < n; k++) {
		ASSERT_EQ(0, vfio_cdev_detach(self->dev[order[k]]));
		TH_LOG("%s detached", self->fn[order[k]]);
		if (k == n - 1)
			break;
		test_err_destroy(EBUSY, hwpt);
		expect_dma_all(_metadata, self, where);
	}
	expect_dma_all(_metadata, self, BLOCKED);
}

#define expect_attached_in_turn(hwpt, where, ...)			\
	({								\
		const int __order[] = { __VA_ARGS__ };			\
		detach_in_turn(_metadata, self, hwpt, where, __order,	\
			       ARRAY_SIZE(__order));			\
	})

/*
 * The common start: every function bound through its cdev to one iommufd,
 * IOAS A and IOAS B mapping a source and a destination buffer each at the
 * same IOVAs, hwpt_b allocated on IOAS B, all three attached to IOAS A on
 * one automatic HWPT (hwpt_a), and their DMA landing in A.
 */
static void group_up(struct __test_metadata *_metadata,
		     group_fixture *self)
{
	__u32 pt;
	int i;

	expect_pinned_kb(0);
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	self->mem = iommufd_alloc_buffer(4 * BUF_SIZE, PAGE_SIZE);
	ASSERT_NE(NULL, self->mem);
	self->src_a = self->mem;
	self->dst_a = self->mem + BUF_SIZE;
	self->src_b = self->mem + 2 * BUF_SIZE;
	self->dst_b = self->mem + 3 * BUF_SIZE;

	self->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	for (i = 0; i < NR_FN; i++) {
		self->dev[i] = vfio_cdev_open(self->fn[i]);
		ASSERT_LE(0, self->dev[i]);
		ASSERT_EQ(0, vfio_cdev_bind(self->dev[i], self->fd,
					    &self->dev_id[i]));
		ASSERT_NE(0, self->dev_id[i]);
		ASSERT_EQ(0, edu_init(&self->edu[i], self->dev[i]));
	}

	test_ioctl_ioas_alloc(&self->ioas_a);
	test_ioctl_ioas_map_fixed_id(self->ioas_a, self->src_a, BUF_SIZE,
				     IOVA_SRC);
	test_ioctl_ioas_map_fixed_id(self->ioas_a, self->dst_a, BUF_SIZE,
				     IOVA_DST);
	test_ioctl_ioas_alloc(&self->ioas_b);
	test_ioctl_ioas_map_fixed_id(self->ioas_b, self->src_b, BUF_SIZE,
				     IOVA_SRC);
	test_ioctl_ioas_map_fixed_id(self->ioas_b, self->dst_b, BUF_SIZE,
				     IOVA_DST);
	test_cmd_hwpt_alloc(self->dev_id[0], self->ioas_b, 0, &self->hwpt_b);

	pt = self->ioas_a;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev[0], &pt));
	self->hwpt_a = pt;
	ASSERT_NE(self->ioas_a, self->hwpt_a);
	ASSERT_NE(self->hwpt_b, self->hwpt_a);
	/* The others join the group's automatic HWPT */
	test_cmd_attach(1, self->ioas_a, self->hwpt_a);
	test_cmd_attach(2, self->ioas_a, self->hwpt_a);
	TH_LOG("%s, %s, %s: on HWPT %u (automatic, IOAS A); HWPT %u on IOAS B",
	       self->fn[0], self->fn[1], self->fn[2], self->hwpt_a,
	       self->hwpt_b);
	test_err_destroy(EBUSY, self->hwpt_a);
	/* Both IOASes have a domain: all four pages pinned */
	expect_pinned_kb(4 * BUF_SIZE / 1024);
	expect_dma_of_all(IN_A);
}

/*
 * Close everything, files of the devices first: every pin is released
 * (the teardown only cleans up after a failure).
 */
static void group_down(struct __test_metadata *_metadata,
		       group_fixture *self)
{
	int i;

	for (i = 0; i < NR_FN; i++) {
		edu_uninit(&self->edu[i]);
		ASSERT_EQ(0, close(self->dev[i]));
		self->dev[i] = -1;
	}
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	expect_pinned_kb(0);
}

/*
 * Scenario 1: function 0 is moved to hwpt_b while 1 and 2 are attached to
 * IOAS A. The group moves: all three follow and DMA into B only, and IOAS
 * A's automatic HWPT, left without a device, is gone at once (its pages
 * unpinned). DETACH of one of them always succeeds; the device reports
 * detached, but its DMA stays on the group's domain while the others are
 * attached.
 */
TEST_F_TIMEOUT(group, replace_all_attached, GROUP_TIMEOUT)
{
	if (!ready(_metadata, self->setup_err))
		return;
	group_up(_metadata, self);

	test_cmd_attach(0, self->hwpt_b, self->hwpt_b);
	/* No device left on the automatic HWPT of A: destroyed with the move */
	test_err_destroy(ENOENT, self->hwpt_a);
	expect_pinned_kb(2 * BUF_SIZE / 1024);
	test_err_destroy(EBUSY, self->hwpt_b);
	/* 1 and 2 followed 0: each one's DMA lands in B */
	expect_dma_of_all(IN_B);

	/* DETACH of 1: reported detached, its DMA still follows the group */
	test_cmd_detach(1);
	expect_detached(1, self->ioas_a);
	expect_detached(1, self->ioas_b);
	/* The others stay, holding hwpt_b, and the group with it */
	test_err_destroy(EBUSY, self->hwpt_b);
	expect_dma_of_all(IN_B);
	/* DETACH of a detached device is fine, and changes nothing */
	test_cmd_detach(1);
	test_err_destroy(EBUSY, self->hwpt_b);
	expect_dma_of_all(IN_B);
	/* 2 followed 0 to hwpt_b: it holds the group once 0 left */
	expect_attached_in_turn(self->hwpt_b, IN_B, 0, 2);
	test_ioctl_destroy(self->hwpt_b);

	group_down(_metadata, self);
}

/*
 * Scenario 2: function 2 is detached first; the group stays on IOAS A's
 * automatic HWPT for 0 and 1, which keeps it, and 2's DMA still reaches A.
 * Then function 0 is moved to hwpt_b: 0 and 1 follow; 2 still reports
 * detached and its DMA follows the group to B. A's HWPT goes with the
 * move. Function 2 can join the group's HWPT again.
 */
TEST_F_TIMEOUT(group, replace_after_one_detached, GROUP_TIMEOUT)
{
	if (!ready(_metadata, self->setup_err))
		return;
	group_up(_metadata, self);

	test_cmd_detach(2);
	expect_detached(2, self->hwpt_b);
	test_err_destroy(EBUSY, self->hwpt_a);
	/* 0 and 1 stay on A; 2 too, unavoidably: the group's domain is A's */
	expect_dma_of_all(IN_A);

	test_cmd_attach(0, self->hwpt_b, self->hwpt_b);
	test_err_destroy(ENOENT, self->hwpt_a);
	expect_pinned_kb(2 * BUF_SIZE / 1024);
	expect_detached(2, self->ioas_a);
	expect_dma_of_all(IN_B);
	test_err_destroy(EBUSY, self->hwpt_b);

	/* 2 joins the group's HWPT again, by its id */
	test_cmd_attach(2, self->hwpt_b, self->hwpt_b);
	expect_dma_of(2, IN_B);
	/* 1 followed 0 to hwpt_b: it holds the group once 0 and 2 left */
	expect_attached_in_turn(self->hwpt_b, IN_B, 0, 2, 1);
	test_ioctl_destroy(self->hwpt_b);

	group_down(_metadata, self);
}

/*
 * Scenario 3: functions 1 and 2 are detached, only 0 is attached; moving
 * it to hwpt_b moves the group: 1 and 2 report detached, all three DMA
 * into B. Detaching 0 puts the group on its blocking domain: every
 * function's DMA is blocked and reported, and hwpt_b, held by no device,
 * can be destroyed.
 */
TEST_F_TIMEOUT(group, replace_after_two_detached, GROUP_TIMEOUT)
{
	if (!ready(_metadata, self->setup_err))
		return;
	group_up(_metadata, self);

	test_cmd_detach(1);
	test_cmd_detach(2);
	test_err_destroy(EBUSY, self->hwpt_a);
	expect_detached(1, self->hwpt_b);
	expect_detached(2, self->ioas_b);
	expect_dma_of_all(IN_A);

	test_cmd_attach(0, self->hwpt_b, self->hwpt_b);
	test_err_destroy(ENOENT, self->hwpt_a);
	expect_pinned_kb(2 * BUF_SIZE / 1024);
	expect_detached(1, self->ioas_a);
	expect_detached(2, self->ioas_a);
	expect_dma_of_all(IN_B);

	/* 0 was the last attached device: blocked, all three, and reported */
	expect_attached_in_turn(self->hwpt_b, IN_B, 0);
	/* Neither 1 nor 2 held it */
	test_ioctl_destroy(self->hwpt_b);
	/* No domain maps anything now */
	expect_pinned_kb(0);

	group_down(_metadata, self);
}

/*
 * The rules: one HWPT per group (attaching a member that is not attached
 * to anything else is -EINVAL and changes nothing), ATTACH of an attached
 * member is a replace of the group, a replace onto the group's HWPT is a
 * successful no-op, and a failed replace leaves the group where it was.
 */
TEST_F_TIMEOUT(group, attach_rules, GROUP_TIMEOUT)
{
	__u32 hwpt_a2, hwpt_b2;

	if (!ready(_metadata, self->setup_err))
		return;
	group_up(_metadata, self);

	/* Another HWPT for a member not attached: refused */
	test_cmd_detach(1);
	test_err_attach(EINVAL, 1, self->hwpt_b);
	test_err_attach(EINVAL, 1, self->ioas_b);
	/* Also another HWPT of the same IOAS */
	test_cmd_hwpt_alloc(self->dev_id[1], self->ioas_a, 0, &hwpt_a2);
	test_err_attach(EINVAL, 1, hwpt_a2);
	/* Nothing changed: the group is on A's automatic HWPT */
	expect_detached(1, self->hwpt_b);
	test_err_destroy(EBUSY, self->hwpt_a);
	expect_dma_of_all(IN_A);
	/* It joins by IOAS or by HWPT id */
	test_cmd_attach(1, self->ioas_a, self->hwpt_a);
	test_cmd_detach(1);
	test_cmd_attach(1, self->hwpt_a, self->hwpt_a);
	/* The manual HWPT of A was never used: it can go */
	test_ioctl_destroy(hwpt_a2);

	/* A failed replace leaves the group where it was */
	test_err_attach(ENOENT, 1, BOGUS_ID);
	test_err_attach(EINVAL, 1, self->dev_id[0]);
	test_err_destroy(EBUSY, self->hwpt_a);
	expect_dma_of_all(IN_A);

	/* Attach while attached is a replace, of the group: from 1 this time */
	test_cmd_attach(1, self->hwpt_b, self->hwpt_b);
	test_err_destroy(ENOENT, self->hwpt_a);
	expect_dma_of_all(IN_B);
	/* Onto the group's HWPT: a no-op, keeping every reference */
	test_cmd_attach(1, self->hwpt_b, self->hwpt_b);
	test_cmd_attach(1, self->hwpt_b, self->hwpt_b);
	test_err_destroy(EBUSY, self->hwpt_b);
	expect_dma_of_all(IN_B);

	/*
	 * An IOAS is not the manual HWPT the group is on: a replace to IOAS B
	 * moves the group to an automatic HWPT of B, a new one.
	 */
	hwpt_b2 = self->ioas_b;
	ASSERT_EQ(0, vfio_cdev_attach(self->dev[2], &hwpt_b2));
	ASSERT_NE(self->hwpt_b, hwpt_b2);
	ASSERT_NE(self->ioas_b, hwpt_b2);
	/* ... and the same again is the no-op */
	test_cmd_attach(0, self->ioas_b, hwpt_b2);
	/* No device holds hwpt_b any more (nor took a reference twice) */
	test_ioctl_destroy(self->hwpt_b);
	test_err_destroy(EBUSY, hwpt_b2);
	/* With hwpt_b gone, only hwpt_b2 maps B's buffers: all DMA through it */
	expect_dma_of_all(IN_B);
	/* 0 followed 2 to hwpt_b2: it holds the group once 2 and 1 left */
	expect_attached_in_turn(hwpt_b2, IN_B, 2, 1, 0);
	/* The automatic HWPT went with its last device */
	test_err_destroy(ENOENT, hwpt_b2);

	group_down(_metadata, self);
}

/* --- hot reset: the three functions are one reset set (the bus) --- */

struct reset_info {
	struct vfio_pci_hot_reset_info hdr;
	struct vfio_pci_dependent_device dev[NR_FN + 1];
};

/* GET_PCI_HOT_RESET_INFO of @dev with room for @room entries */
static int hot_reset_info(int dev, struct reset_info *info, int room)
{
	memset(info, 0xcc, sizeof(*info));
	info->hdr.argsz = sizeof(info->hdr) + room * sizeof(info->dev[0]);
	return ioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info);
}

/* PCI_HOT_RESET of @dev with the @count group fds of @fds */
static int hot_reset(int dev, __u32 flags, const int *fds, int count)
{
	struct {
		struct vfio_pci_hot_reset hdr;
		__s32 fds[NR_FN];
	} reset = {
		.hdr.argsz = sizeof(reset.hdr) + count * sizeof(__s32),
		.hdr.flags = flags,
		.hdr.count = count,
	};

	if (count)
		memcpy(reset.fds, fds, count * sizeof(__s32));
	return ioctl(dev, VFIO_DEVICE_PCI_HOT_RESET, &reset);
}

/* The entry of function @i in @info, NULL if it has none */
static const struct vfio_pci_dependent_device *
reset_entry(group_fixture *self, const struct reset_info *info, int i)
{
	unsigned int dom, bus, dev, fn;
	__u32 k;

	if (sscanf(self->fn[i], "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
		return NULL;
	for (k = 0; k < info->hdr.count && k < NR_FN + 1; k++)
		if (info->dev[k].segment == dom && info->dev[k].bus == bus &&
		    info->dev[k].devfn == (dev << 3 | fn))
			return &info->dev[k];
	return NULL;
}

/*
 * The INFO of function @from's device file lists the three functions and
 * nothing else; with DEV_ID, function i carries @ids[i], else its group.
 */
static void expect_reset_info(struct __test_metadata *_metadata,
			      group_fixture *self, int fd, __u32 flags,
			      const __u32 *ids)
{
	const struct vfio_pci_dependent_device *e;
	struct reset_info info;
	__u32 want;
	int i;

	/* Too small: the number needed, and the form of the entries */
	ASSERT_EQ(-1, hot_reset_info(fd, &info, 0));
	ASSERT_EQ(ENOSPC, errno);
	ASSERT_EQ(NR_FN, info.hdr.count);
	ASSERT_EQ(flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID, info.hdr.flags);
	ASSERT_EQ(-1, hot_reset_info(fd, &info, NR_FN - 1));
	ASSERT_EQ(ENOSPC, errno);

	ASSERT_EQ(0, hot_reset_info(fd, &info, NR_FN + 1));
	ASSERT_EQ(flags, info.hdr.flags);
	ASSERT_EQ(NR_FN, info.hdr.count);
	for (i = 0; i < NR_FN; i++) {
		e = reset_entry(self, &info, i);
		ASSERT_NE(NULL, e);
		/* devid and group_id share the same word */
		want = (flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID) ?
		       ids[i] : (__u32)pci_iommu_group(self->fn[i]);
		ASSERT_EQ(want, e->devid);
		TH_LOG("%s: %s %d", self->fn[i],
		       (flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID) ? "devid" :
		       "group", (int)e->devid);
	}
	/* Nothing past the entries */
	ASSERT_EQ(0xcccccccc, info.dev[NR_FN].devid);
}

/* PCI_HOT_RESET of a device bound through its cdev takes no group fds */
static void expect_reset_rules(struct __test_metadata *_metadata, int fd)
{
	struct vfio_pci_hot_reset hdr = { .argsz = sizeof(hdr) - 1 };
	int fds[1] = { fd };

	ASSERT_EQ(-1, ioctl(fd, VFIO_DEVICE_PCI_HOT_RESET, &hdr));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, hot_reset(fd, 1, NULL, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, hot_reset(fd, 0, fds, 1));
	ASSERT_EQ(EINVAL, errno);
	hdr.argsz = sizeof(hdr) - 1;
	ASSERT_EQ(-1, ioctl(fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hdr));
	ASSERT_EQ(EINVAL, errno);
}

/*
 * All three bound to one iommufd: each lists the three by their ids, may
 * reset them all (DEV_ID_OWNED), and the reset needs no group fd. The
 * functions work after the reset: DMA lands where it did.
 */
TEST_F_TIMEOUT(group, hot_reset_all_bound, GROUP_TIMEOUT)
{
	const __u32 flags = VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
			    VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
	struct reset_info info;
	int i;

	if (!ready(_metadata, self->setup_err))
		return;
	/* Not before the bind */
	self->dev[0] = vfio_cdev_open(self->fn[0]);
	ASSERT_LE(0, self->dev[0]);
	ASSERT_EQ(-1, hot_reset_info(self->dev[0], &info, NR_FN));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, hot_reset(self->dev[0], 0, NULL, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, close(self->dev[0]));
	self->dev[0] = -1;

	group_up(_metadata, self);
	for (i = 0; i < NR_FN; i++)
		expect_reset_info(_metadata, self, self->dev[i], flags,
				  self->dev_id);
	expect_reset_rules(_metadata, self->dev[1]);

	ASSERT_EQ(0, hot_reset(self->dev[1], 0, NULL, 0));
	TH_LOG("bus reset from %s", self->fn[1]);
	expect_dma_of_all(IN_A);
	/* Detached devices are still the iommufd's to reset */
	test_cmd_detach(2);
	expect_reset_info(_metadata, self, self->dev[2], flags, self->dev_id);
	ASSERT_EQ(0, hot_reset(self->dev[2], 0, NULL, 0));
	expect_dma_of(0, IN_A);

	group_down(_metadata, self);
}

/*
 * Only function 0 bound: the others are vfio-pci's and in the IOMMU group
 * the iommufd owns through function 0, so they are listed as OWNED (0) and
 * the iommufd may reset them.
 */
TEST_F_TIMEOUT(group, hot_reset_group_owned, GROUP_TIMEOUT)
{
	const __u32 flags = VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
			    VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
	__u32 ids[NR_FN] = { 0 };

	if (!ready(_metadata, self->setup_err))
		return;
	self->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	self->dev[0] = vfio_cdev_open(self->fn[0]);
	ASSERT_LE(0, self->dev[0]);
	ASSERT_EQ(0, vfio_cdev_bind(self->dev[0], self->fd, &ids[0]));

	expect_reset_info(_metadata, self, self->dev[0], flags, ids);
	ASSERT_EQ(0, hot_reset(self->dev[0], 0, NULL, 0));
	/* Function 1 bound too: it is named by its id now */
	self->dev[1] = vfio_cdev_open(self->fn[1]);
	ASSERT_LE(0, self->dev[1]);
	ASSERT_EQ(0, vfio_cdev_bind(self->dev[1], self->fd, &ids[1]));
	expect_reset_info(_metadata, self, self->dev[0], flags, ids);
	ASSERT_EQ(0, hot_reset(self->dev[1], 0, NULL, 0));
	/* Unbound again: owned through function 0 */
	ASSERT_EQ(0, close(self->dev[1]));
	self->dev[1] = -1;
	ids[1] = VFIO_PCI_DEVID_OWNED;
	expect_reset_info(_metadata, self, self->dev[0], flags, ids);
}

/*
 * Function 2 on another driver (pci-stub, which leaves the DMA alone and
 * so does not keep the group from being claimed): it is outside VFIO's
 * reset set, NOT_OWNED, DEV_ID_OWNED is clear, and the reset is refused
 * without touching anything.
 */
TEST_F_TIMEOUT(group, hot_reset_not_owned, GROUP_TIMEOUT)
{
	const __u32 flags = VFIO_PCI_HOT_RESET_FLAG_DEV_ID;
	__u32 ids[NR_FN] = { 0 };
	int i;

	if (!ready(_metadata, self->setup_err))
		return;
	if (access("/sys/bus/pci/drivers/pci-stub", F_OK))
		SKIP(return, "no pci-stub driver");
	ASSERT_EQ(0, pci_release(self->fn[2]));
	ASSERT_EQ(0, pci_bind(self->fn[2], "pci-stub"));

	self->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	for (i = 0; i < 2; i++) {
		self->dev[i] = vfio_cdev_open(self->fn[i]);
		ASSERT_LE(0, self->dev[i]);
		ASSERT_EQ(0, vfio_cdev_bind(self->dev[i], self->fd, &ids[i]));
	}
	ids[2] = VFIO_PCI_DEVID_NOT_OWNED;
	expect_reset_info(_metadata, self, self->dev[0], flags, ids);
	ASSERT_EQ(-1, hot_reset(self->dev[0], 0, NULL, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_TRUE(pci_has_driver(self->fn[2], "pci-stub"));
}

/*
 * The group path is unchanged: entries name IOMMU groups, no flags, and
 * the reset takes the group's fd (and not zero fds).
 */
TEST_F_TIMEOUT(group, hot_reset_group_path, GROUP_TIMEOUT)
{
	struct vfio_legacy *v = &self->legacy;

	if (!ready(_metadata, self->setup_err))
		return;
	ASSERT_EQ(0, vfio_legacy_open(v, self->fn[0]));
	expect_reset_info(_metadata, self, v->device, 0, NULL);
	ASSERT_EQ(-1, hot_reset(v->device, 0, NULL, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, hot_reset(v->device, 0, &v->device, 1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, hot_reset(v->device, 0, &v->group, 1));
}

TEST_HARNESS_MAIN
