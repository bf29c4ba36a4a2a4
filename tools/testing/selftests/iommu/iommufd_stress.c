// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded, multi-threaded stress of the iommufd ioctls on ONE /dev/iommu.
 *
 * N worker threads (IOMMUFD_STRESS_THREADS, default 4) share pools of ids:
 * IOASes, HW pagetables, mock devices (IOMMU_TEST_OP_MOCK_DOMAIN), selftest
 * access fds and their pinned ranges, and the IOVA ranges mapped. Each picks
 * random operations on random pool entries: IOAS alloc/destroy, map/unmap
 * (fixed and automatic IOVA, 1..64 pages, sometimes unaligned, overlapping
 * or read-only), copy (between and within IOASes), IOMMU_DESTROY of random
 * ids (in use: EBUSY; gone: ENOENT), mock device create (= attach) /
 * replace / destroy (= detach and unbind: the mock has no separate detach),
 * HWPT_ALLOC (paging, nest parent, dirty tracking, nested), GET_HW_INFO,
 * access create / replace / pin / unpin / read-write / close,
 * IOAS_IOVA_RANGES, IOAS_ALLOW_IOVAS, IOMMU_OPTION, IOMMU_VFIO_IOAS, and
 * about 10% of requests with bad ids, flags, lengths or struct sizes.
 *
 * When an edu device is alone in its IOMMU group (vfio_util's
 * edu_find_single(), $EDU_BDF), one more thread drives it through its VFIO
 * device cdev bound to the same iommufd: attach / replace to the pools'
 * IOASes and HWPTs, detach, DMA to mapped (or not) IOVAs, and close and
 * rebind. Without an edu the program runs without that thread and says so.
 * IOMMUFD_STRESS_EDU=private attaches the edu to an IOAS of its own, made
 * before any other object, for the whole run (DMA and no-op re-attach
 * only: no mock device can meet its VT-d domain); =off leaves it alone.
 *
 * The result of every ioctl must be in the set of results that operation
 * may legally give in a concurrent world: op_table[] below, built from
 * drivers/iommu/iommufd/ (and vfio/device_cdev.c). Any other errno (EFAULT
 * on our own valid buffers, say), success where the request must fail, or
 * an output that contradicts the request, fails the test.
 *
 * At the end everything is torn down and checked: every object of the
 * context can be destroyed (a sweep of IOMMU_DESTROY over every id up to
 * the largest seen, until all give ENOENT: an object left is a leaked
 * reference), nothing of the buffer stays pinned (MD_CHECK_REFS on a fresh
 * context), VmPin and VmLck are back to their start values, and the
 * RLIMIT_MEMLOCK accounting is whole again: on a fresh context, maps of
 * exactly the limit succeed and one page more is -ENOMEM. The run drops
 * CAP_IPC_LOCK and uses the per-process accounting (IOMMU_OPTION_RLIMIT_MODE)
 * so that the limit is reached now and then during the run too.
 *
 * Reproducing: the 64-bit seed (IOMMUFD_STRESS_SEED, else taken from the
 * clock) is printed first; each thread has its own PRNG derived from the
 * seed and its index, so the same seed gives every thread the same sequence
 * of operations and arguments. Which pool entry an operation finds depends
 * on the other threads, so a replay is best-effort: the interleaving is the
 * scheduler's. On a failure (or a hang: no ioctl may take longer than the
 * watchdog, IOMMUFD_STRESS_WATCHDOG seconds, default 120) the seed, the
 * failing thread and the last 64 operations of every thread are printed;
 * running with IOMMUFD_STRESS_THREADS=1 and the same seed replays exactly.
 *
 * IOMMUFD_STRESS_OPS is the total number of operations of the workers
 * (default 20000, some 20-40 s in the VM under TCG); debug-kernel runs set
 * 1000000. Memory does not grow with it: the logs are rings and the pools
 * have fixed sizes.
 */
#define _GNU_SOURCE	/* strerrorname_np() */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <time.h>

#include <linux/vfio.h>

#include "iommufd_utils.h"
#include "edu.h"
#include "vfio_util.h"

#define DEFAULT_OPS		20000
#define DEFAULT_THREADS		4
#define MAX_THREADS		16
#define DEFAULT_WATCHDOG_S	120
#define LOG_RING		64	/* operations remembered per thread */

#define BUF_PAGES		512	/* the memory every map comes from */
#define MAX_MAP_PAGES		64
#define RLIMIT_PAGES		(8 * BUF_PAGES)	/* 8 maps of the whole buffer */
#define FIXED_WINDOW_PAGES	4096	/* fixed IOVAs mostly land here */
#define BOGUS_ID		0xfffffff0u	/* above any id (31 bits) */
#define SWEEP_MARGIN		1024	/* ids of accesses are not reported */
#define RW_MAX			512	/* bytes of one ACCESS_RW */

#define POOL_MAX		128
#define CAP_IOAS		12
#define CAP_HWPT		24
#define CAP_DEV			16
#define CAP_ACCESS		8
#define CAP_ITEM		32
#define CAP_RANGE		96

/* hwpt pool entries: id | flags */
#define HWPT_NEST_PARENT	0x100000000ULL
#define HWPT_NESTED		0x200000000ULL
#define HWPT_AUTO		0x400000000ULL
#define KEY			0xffffffffULL
#define FIXED_RW		(MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA)

static __attribute__((constructor)) void setup_globals(void)
{
	iommufd_setup_globals();
}

/* --- Operations and what each may answer -------------------------------- */

enum {
	OP_IOAS_ALLOC,
	OP_DESTROY,
	OP_MAP,
	OP_UNMAP,
	OP_UNMAP_ALL,
	OP_COPY,
	OP_IOVA_RANGES,
	OP_ALLOW_IOVAS,
	OP_OPT_RLIMIT_GET,
	OP_OPT_RLIMIT_SET,
	OP_OPT_HUGE_GET,
	OP_OPT_HUGE_SET,
	OP_MOCK_CREATE,
	OP_MOCK_REPLACE,
	OP_DEV_DESTROY,
	OP_HWPT_ALLOC,
	OP_HWPT_NESTED,
	OP_HW_INFO,
	OP_ACCESS_CREATE,
	OP_ACCESS_REPLACE,
	OP_ACCESS_PIN,
	OP_ACCESS_UNPIN,
	OP_ACCESS_RW,
	OP_ACCESS_CLOSE,
	OP_VFIO_IOAS_GET,
	OP_VFIO_IOAS_SET,
	OP_VFIO_IOAS_CLEAR,
	/* bad requests: every one of them must fail, and how */
	OP_BAD_DESTROY_ID,
	OP_BAD_MAP_ID,
	OP_BAD_MAP_LEN0,
	OP_BAD_MAP_NOPROT,
	OP_BAD_MAP_FLAG,
	OP_BAD_MAP_OVERFLOW,
	OP_BAD_UNMAP_LEN0,
	OP_BAD_UNMAP_OVERFLOW,
	OP_BAD_COPY_NOPROT,
	OP_BAD_COPY_LEN0,
	OP_BAD_IOAS_FLAGS,
	OP_BAD_SIZE_SHORT,
	OP_BAD_SIZE_LONG,
	OP_BAD_MOCK_FLAGS,
	OP_BAD_REPLACE_ID,
	OP_BAD_HWPT_DATA,
	OP_BAD_ACCESS_FLAGS,
	OP_BAD_ACCESS_FD,
	OP_BAD_OPTION,
	OP_BAD_RANGES_ID,
	/* the edu thread */
	OP_EDU_BIND,
	OP_EDU_ATTACH,
	OP_EDU_DETACH,
	OP_EDU_DMA,
	OP_EDU_CLOSE,
	OP_NR
};

#define OK	0
#define END	(-1)
#define MAX_ERRS 12

struct op_desc {
	const char *name;
	unsigned int weight;	/* in the workers' random choice */
	int legal[MAX_ERRS];	/* OK (success) and errnos, up to END */
};

/*
 * Per operation, every result it may legally give while other threads
 * change the pools under it. Pool ids are hints: any id may have been
 * destroyed (ENOENT; the id may even be reused by an object of another
 * kind: ENOENT for typed lookups, EINVAL where the kernel looks up any
 * object), any object may be in use by a concurrent ioctl (EBUSY for
 * IOMMU_DESTROY). The ENOMEM of maps, copies, attaches, HWPT allocations
 * and pins is the RLIMIT_MEMLOCK of the run (pages are charged when a
 * domain or an access pins them). EFAULT is legal nowhere: every pointer
 * given is valid.
 */
static const struct op_desc op_table[OP_NR] = {
	/* flags 0: nothing but success */
	[OP_IOAS_ALLOC] = { "ioas_alloc", 30, { OK, END } },
	/* any id: gone, or used by another object or a running ioctl */
	[OP_DESTROY] = { "destroy", 50, { OK, ENOENT, EBUSY, END } },
	/*
	 * EEXIST: fixed IOVA over an area. EINVAL: fixed IOVA not aligned to
	 * the IOAS (domains, pinning accesses, huge pages off), in a reserved
	 * range (outside a domain's aperture), length or memory offset not
	 * aligned, automatic IOVA of memory less aligned than the IOAS needs.
	 * ENOSPC: no hole (allowed ranges). ENOMEM: RLIMIT_MEMLOCK.
	 */
	[OP_MAP] = { "map", 160,
		{ OK, ENOENT, EEXIST, EINVAL, ENOSPC, ENOMEM, END } },
	/*
	 * ENOENT: nothing there or an area sticking out. EBUSY: an access
	 * re-pinned after being told to unpin, which a concurrent unmap of
	 * the same area can let happen (it clears prevent_access).
	 */
	[OP_UNMAP] = { "unmap", 90, { OK, ENOENT, EBUSY, END } },
	[OP_UNMAP_ALL] = { "unmap_all", 10, { OK, ENOENT, EBUSY, END } },
	/*
	 * As map, plus ENOENT for a source not mapped without a gap and
	 * EPERM for a writeable copy of a read-only source.
	 */
	[OP_COPY] = { "copy", 60,
		{ OK, ENOENT, EEXIST, EINVAL, ENOSPC, ENOMEM, EPERM, END } },
	/* EMSGSIZE: more ranges than the array holds (struct written back) */
	[OP_IOVA_RANGES] = { "iova_ranges", 20, { OK, ENOENT, EMSGSIZE, END } },
	/* EADDRINUSE: a new range touches a reserved one */
	[OP_ALLOW_IOVAS] = { "allow_iovas", 8,
		{ OK, ENOENT, EADDRINUSE, END } },
	[OP_OPT_RLIMIT_GET] = { "opt_rlimit_get", 5, { OK, END } },
	/* the mode of the run again: EBUSY unless no object exists */
	[OP_OPT_RLIMIT_SET] = { "opt_rlimit_set", 3, { OK, EBUSY, EPERM, END } },
	[OP_OPT_HUGE_GET] = { "opt_huge_get", 8, { OK, ENOENT, END } },
	/* off: EINVAL with domains and areas, EADDRINUSE for small areas */
	[OP_OPT_HUGE_SET] = { "opt_huge_set", 10,
		{ OK, ENOENT, EINVAL, EADDRINUSE, END } },
	/*
	 * Attach of a new mock device to an IOAS or HWPT. EINVAL: the id is
	 * no IOAS or HWPT now, a dirty-tracking domain and a NO_DIRTY device,
	 * a domain of another driver. EADDRINUSE: an area outside the mock
	 * aperture or not fitting its alignment. ENOMEM: pinning for the new
	 * domain.
	 */
	[OP_MOCK_CREATE] = { "mock_create", 50,
		{ OK, ENOENT, EINVAL, EADDRINUSE, ENOMEM, END } },
	[OP_MOCK_REPLACE] = { "mock_replace", 60,
		{ OK, ENOENT, EINVAL, EADDRINUSE, ENOMEM, END } },
	/* IOMMU_DESTROY of the stdev: detach, unbind, delete */
	[OP_DEV_DESTROY] = { "dev_destroy", 30, { OK, ENOENT, EBUSY, END } },
	/*
	 * ENOENT: the device is gone; EINVAL: the pt_id is gone or of
	 * another kind (the lookup is untyped); EOPNOTSUPP: dirty tracking
	 * of a NO_DIRTY device, a paging HWPT as pt_id without data, flags
	 * the edu's IOMMU cannot do; EADDRINUSE: areas outside the aperture.
	 */
	[OP_HWPT_ALLOC] = { "hwpt_alloc", 35,
		{ OK, ENOENT, EINVAL, EOPNOTSUPP, EADDRINUSE, ENOMEM, END } },
	/* parent not a nest parent or automatic: EINVAL */
	[OP_HWPT_NESTED] = { "hwpt_nested", 15,
		{ OK, ENOENT, EINVAL, EOPNOTSUPP, END } },
	[OP_HW_INFO] = { "hw_info", 10, { OK, ENOENT, END } },
	/* EADDRINUSE: a pinning access needs PAGE_SIZE aligned areas */
	[OP_ACCESS_CREATE] = { "access_create", 25,
		{ OK, ENOENT, EADDRINUSE, END } },
	/* EBADFD: the fd was closed by another thread */
	[OP_ACCESS_REPLACE] = { "access_replace", 25,
		{ OK, ENOENT, EADDRINUSE, EBADFD, END } },
	/*
	 * ENOENT: not attached, not mapped without a gap. EINVAL: being
	 * unmapped, areas meeting inside a page. EPERM: write pin of a
	 * read-only map. EOPNOTSUPP: an access that does not pin. EBADE: the
	 * IOVA was mapped again to other memory meanwhile.
	 */
	[OP_ACCESS_PIN] = { "access_pin", 60,
		{ OK, ENOENT, EINVAL, EPERM, EOPNOTSUPP, ENOMEM, EBADFD, EBADE,
		  END } },
	/* ENOENT: an unmap made the access drop the pin already */
	[OP_ACCESS_UNPIN] = { "access_unpin", 40, { OK, ENOENT, EBADFD, END } },
	[OP_ACCESS_RW] = { "access_rw", 50,
		{ OK, ENOENT, EINVAL, EPERM, ENOMEM, EBADFD, END } },
	[OP_ACCESS_CLOSE] = { "access_close", 15, { OK, END } },
	/* ENODEV: no compat IOAS set (or it was destroyed) */
	[OP_VFIO_IOAS_GET] = { "vfio_ioas_get", 4, { OK, ENODEV, END } },
	[OP_VFIO_IOAS_SET] = { "vfio_ioas_set", 4, { OK, ENOENT, END } },
	[OP_VFIO_IOAS_CLEAR] = { "vfio_ioas_clear", 2, { OK, END } },

	[OP_BAD_DESTROY_ID] = { "bad_destroy_id", 6, { ENOENT, END } },
	[OP_BAD_MAP_ID] = { "bad_map_id", 6, { ENOENT, END } },
	/* checked after the IOAS lookup */
	[OP_BAD_MAP_LEN0] = { "bad_map_len0", 6, { EINVAL, ENOENT, END } },
	[OP_BAD_MAP_NOPROT] = { "bad_map_noprot", 6, { EINVAL, END } },
	[OP_BAD_MAP_FLAG] = { "bad_map_flag", 6, { EOPNOTSUPP, END } },
	/* fixed IOVA + length wraps: after the lookup */
	[OP_BAD_MAP_OVERFLOW] = { "bad_map_overflow", 6,
		{ EOVERFLOW, ENOENT, END } },
	[OP_BAD_UNMAP_LEN0] = { "bad_unmap_len0", 6, { EINVAL, ENOENT, END } },
	[OP_BAD_UNMAP_OVERFLOW] = { "bad_unmap_overflow", 6,
		{ EOVERFLOW, ENOENT, END } },
	[OP_BAD_COPY_NOPROT] = { "bad_copy_noprot", 5, { EINVAL, END } },
	[OP_BAD_COPY_LEN0] = { "bad_copy_len0", 5, { EINVAL, ENOENT, END } },
	[OP_BAD_IOAS_FLAGS] = { "bad_ioas_flags", 5, { EOPNOTSUPP, END } },
	/* below the struct's first layout, and a longer one with data */
	[OP_BAD_SIZE_SHORT] = { "bad_size_short", 5, { EINVAL, END } },
	[OP_BAD_SIZE_LONG] = { "bad_size_long", 5, { E2BIG, END } },
	[OP_BAD_MOCK_FLAGS] = { "bad_mock_flags", 5, { EINVAL, END } },
	[OP_BAD_REPLACE_ID] = { "bad_replace_id", 5, { ENOENT, END } },
	[OP_BAD_HWPT_DATA] = { "bad_hwpt_data", 5, { EINVAL, END } },
	[OP_BAD_ACCESS_FLAGS] = { "bad_access_flags", 5,
		{ EOPNOTSUPP, END } },
	/* the iommufd itself is no access fd */
	[OP_BAD_ACCESS_FD] = { "bad_access_fd", 5, { EBADFD, END } },
	[OP_BAD_OPTION] = { "bad_option", 5, { EOPNOTSUPP, END } },
	[OP_BAD_RANGES_ID] = { "bad_ranges_id", 5, { ENOENT, END } },

	/* the edu thread (weights are its own) */
	[OP_EDU_BIND] = { "edu_bind", 0, { OK, END } },
	/*
	 * Attach or replace. EINVAL: a mock domain (the mock refuses other
	 * devices), an id of another kind; EADDRINUSE: areas the VT-d
	 * aperture or reserved regions exclude; EOPNOTSUPP: a domain needing
	 * snooping the IOMMU lacks.
	 */
	[OP_EDU_ATTACH] = { "edu_attach", 0,
		{ OK, ENOENT, EINVAL, EADDRINUSE, EOPNOTSUPP, ENOMEM, END } },
	[OP_EDU_DETACH] = { "edu_detach", 0, { OK, END } },
	/* a blocked DMA completes too; only a timeout (a hang) fails */
	[OP_EDU_DMA] = { "edu_dma", 0, { OK, END } },
	[OP_EDU_CLOSE] = { "edu_close", 0, { OK, END } },
};

#define FIRST_BAD OP_BAD_DESTROY_ID
#define LAST_WORKER_OP OP_BAD_RANGES_ID

/* --- Per-thread state: PRNG, op log ring, counters ----------------------- */

#define PENDING INT32_MIN

struct oplog {
	unsigned long long seq;
	uint32_t op;
	int32_t res;		/* 0, an errno, or PENDING */
	uint32_t id0, id1;
	unsigned long long a0, a1, a2;
};

struct worker {
	int idx;
	pthread_t thread;
	uint64_t rng;
	uint64_t nops;
	unsigned long long seq;
	struct oplog ring[LOG_RING];
	atomic_ullong op_start_ms;	/* 0: not in an operation */
	atomic_bool done;
	char fail[512];
	uint8_t rwbuf[RW_MAX];
	uint32_t counts[OP_NR][2];	/* success, failure */
	uint32_t errs[OP_NR][8];	/* the failures by legal[] slot */
};

/* --- Pools --------------------------------------------------------------- */

struct pool {
	pthread_mutex_t lock;
	unsigned int n, cap;
	uint64_t v[POOL_MAX];
};

struct range {
	uint32_t ioas;
	bool writable;
	uint64_t iova, len;
	uintptr_t uptr;
};

struct range_pool {
	pthread_mutex_t lock;
	unsigned int n;
	struct range r[CAP_RANGE];
};

enum edu_mode { EDU_OFF, EDU_PRIVATE, EDU_SHARED };

static struct stress {
	int fd;
	uint8_t *buf;
	size_t buf_len;
	unsigned int nthreads;
	unsigned long long seed;
	bool acct;		/* per-process accounting, CAP_IPC_LOCK dropped */
	struct pool ioas, hwpt, dev, access, item;
	struct range_pool ranges;
	atomic_uint max_id;
	atomic_bool stop;
	atomic_int failed;	/* thread index + 1 of the first failure */
	struct worker w[MAX_THREADS + 1];
	/* the edu thread */
	enum edu_mode edu_mode;
	bool have_edu;
	char bdf[PCI_BDF_SIZE];
	int dev_fd;
	struct edu edu;
	atomic_uint edu_devid;	/* 0 while not bound */
	uint32_t edu_ioas;	/* the private mode's */
} S;

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void pool_init(struct pool *p, unsigned int cap)
{
	pthread_mutex_init(&p->lock, NULL);
	p->n = 0;
	p->cap = cap;
}

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct worker *w)
{
	return splitmix64(&w->rng);
}

static uint64_t rnd_below(struct worker *w, uint64_t n)
{
	return n ? rnd(w) % n : 0;
}

static bool chance(struct worker *w, unsigned int percent)
{
	return rnd_below(w, 100) < percent;
}

static bool pool_add(struct pool *p, uint64_t v)
{
	bool ok;

	pthread_mutex_lock(&p->lock);
	ok = p->n < p->cap;
	if (ok)
		p->v[p->n++] = v;
	pthread_mutex_unlock(&p->lock);
	return ok;
}

/* Add unless an entry with the same key is there */
static void pool_add_unique(struct pool *p, uint64_t v, uint64_t mask)
{
	unsigned int i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i != p->n; i++)
		if ((p->v[i] & mask) == (v & mask))
			break;
	if (i == p->n && p->n < p->cap)
		p->v[p->n++] = v;
	pthread_mutex_unlock(&p->lock);
}

/* A random entry (drawn from the PRNG whether or not the pool is empty) */
static bool pool_pick(struct pool *p, struct worker *w, uint64_t *v)
{
	uint64_t r = rnd(w);
	bool ok;

	pthread_mutex_lock(&p->lock);
	ok = p->n;
	if (ok)
		*v = p->v[r % p->n];
	pthread_mutex_unlock(&p->lock);
	return ok;
}

/* A random entry, removed: the caller owns it now */
static bool pool_take(struct pool *p, struct worker *w, uint64_t *v)
{
	uint64_t r = rnd(w);
	unsigned int i;
	bool ok;

	pthread_mutex_lock(&p->lock);
	ok = p->n;
	if (ok) {
		i = r % p->n;
		*v = p->v[i];
		p->v[i] = p->v[--p->n];
	}
	pthread_mutex_unlock(&p->lock);
	return ok;
}

/* Remove the entries whose key (@mask bits) is that of @v */
static void pool_del(struct pool *p, uint64_t v, uint64_t mask)
{
	unsigned int i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->n;) {
		if ((p->v[i] & mask) == (v & mask))
			p->v[i] = p->v[--p->n];
		else
			i++;
	}
	pthread_mutex_unlock(&p->lock);
}

static unsigned int pool_count(struct pool *p)
{
	unsigned int n;

	pthread_mutex_lock(&p->lock);
	n = p->n;
	pthread_mutex_unlock(&p->lock);
	return n;
}

static void range_add(const struct range *r)
{
	pthread_mutex_lock(&S.ranges.lock);
	if (S.ranges.n < CAP_RANGE)
		S.ranges.r[S.ranges.n++] = *r;
	pthread_mutex_unlock(&S.ranges.lock);
}

static bool range_pick(struct worker *w, struct range *r)
{
	uint64_t x = rnd(w);
	bool ok;

	pthread_mutex_lock(&S.ranges.lock);
	ok = S.ranges.n;
	if (ok)
		*r = S.ranges.r[x % S.ranges.n];
	pthread_mutex_unlock(&S.ranges.lock);
	return ok;
}

static bool range_full(void)
{
	bool full;

	pthread_mutex_lock(&S.ranges.lock);
	full = S.ranges.n == CAP_RANGE;
	pthread_mutex_unlock(&S.ranges.lock);
	return full;
}

/* Forget the ranges of @ioas (all = true) or the one equal to @r */
static void range_del(const struct range *r, bool all)
{
	unsigned int i;

	pthread_mutex_lock(&S.ranges.lock);
	for (i = 0; i < S.ranges.n;) {
		struct range *c = &S.ranges.r[i];

		if (c->ioas == r->ioas &&
		    (all || (c->iova == r->iova && c->len == r->len))) {
			*c = S.ranges.r[--S.ranges.n];
			if (!all)
				break;
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&S.ranges.lock);
}

static void seen_id(uint32_t id)
{
	unsigned int cur = atomic_load(&S.max_id);

	while (id > cur && id != BOGUS_ID &&
	       !atomic_compare_exchange_weak(&S.max_id, &cur, id))
		;
}

/* --- Logging and checking ------------------------------------------------ */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct oplog *log_begin(struct worker *w, unsigned int op, uint32_t id0,
			       uint32_t id1, uint64_t a0, uint64_t a1,
			       uint64_t a2)
{
	struct oplog *l = &w->ring[w->seq % LOG_RING];

	l->seq = w->seq++;
	l->op = op;
	l->res = PENDING;
	l->id0 = id0;
	l->id1 = id1;
	l->a0 = a0;
	l->a1 = a1;
	l->a2 = a2;
	atomic_store(&w->op_start_ms, now_ms());
	return l;
}

static void worker_fail(struct worker *w, const char *fmt, ...)
{
	int expected = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->fail, sizeof(w->fail), fmt, ap);
	va_end(ap);
	atomic_compare_exchange_strong(&S.failed, &expected, w->idx + 1);
	atomic_store(&S.stop, true);
}

static const char *res_name(int res, char *buf, size_t size)
{
	if (res == PENDING)
		return "(in progress)";
	if (!res)
		return "ok";
	snprintf(buf, size, "%s (%d)", strerrorname_np(res) ?: "?", res);
	return buf;
}

/*
 * The end of an operation: @ret is the ioctl's return, @err its errno.
 * Returns true when the result is legal. A success is counted and left to
 * the caller's own checks of the outputs.
 */
static bool log_end(struct worker *w, struct oplog *l, int ret, int err)
{
	const struct op_desc *d = &op_table[l->op];
	int res = ret ? (err ? err : -1) : 0;
	char buf[48];
	int i;

	l->res = res;
	atomic_store(&w->op_start_ms, 0);
	for (i = 0; i < MAX_ERRS && d->legal[i] != END; i++) {
		if (d->legal[i] == res) {
			w->counts[l->op][!!res]++;
			if (res && i < 8)
				w->errs[l->op][i]++;
			return true;
		}
	}
	worker_fail(w, "%s returned %s, not a legal result",
		    d->name, res_name(res, buf, sizeof(buf)));
	return false;
}

/*
 * log_end() of a call's result and its errno: the call first, then errno
 * (the order of evaluation of function arguments is unspecified)
 */
#define log_call(w, l, call)						\
	({								\
		int __ret = (call);					\
									\
		log_end(w, l, __ret, errno);				\
	})

/* An output of a successful operation contradicts the request */
#define check_out(w, l, cond, fmt, ...)					\
	({								\
		const struct oplog *__l = (l);				\
		bool __ok = (cond);					\
									\
		if (!__ok)						\
			worker_fail(w, "%s #%llu: %s: " fmt,		\
				    op_table[__l->op].name, __l->seq,	\
				    #cond, ##__VA_ARGS__);		\
		__ok;							\
	})

static void print_log(struct worker *w)
{
	unsigned long long first = w->seq > LOG_RING ? w->seq - LOG_RING : 0;
	unsigned long long s;
	char buf[48];

	fprintf(stderr, "# --- thread %d%s: %llu ops, last %llu:\n",
		w->idx, w->idx == (int)S.nthreads ? " (edu)" : "", w->seq,
		w->seq - first);
	for (s = first; s < w->seq; s++) {
		struct oplog *l = &w->ring[s % LOG_RING];

		fprintf(stderr,
			"#  T%d #%-7llu %-18s ids %u,%u args 0x%llx,0x%llx,0x%llx -> %s\n",
			w->idx, l->seq, op_table[l->op].name, l->id0, l->id1,
			l->a0, l->a1, l->a2, res_name(l->res, buf, sizeof(buf)));
	}
}

static void print_all_logs(void)
{
	unsigned int i;

	/* A replay is best-effort: see the top of this file */
	fprintf(stderr,
		"# seed 0x%016llx (replay: IOMMUFD_STRESS_SEED=0x%016llx IOMMUFD_STRESS_THREADS=%u)\n",
		S.seed, S.seed, S.nthreads);
	for (i = 0; i <= S.nthreads; i++)
		if (S.w[i].seq)
			print_log(&S.w[i]);
}

/* --- Random arguments ---------------------------------------------------- */

static bool pick_ioas(struct worker *w, uint32_t *id)
{
	uint64_t v;

	if (!pool_pick(&S.ioas, w, &v))
		return false;
	*id = v;
	return true;
}

/* An IOAS (mostly) or a HWPT to attach to */
static bool pick_pt(struct worker *w, uint32_t *id, bool *is_hwpt)
{
	uint64_t v;

	*is_hwpt = chance(w, 35);
	if (*is_hwpt && pool_pick(&S.hwpt, w, &v)) {
		*id = v;
		return true;
	}
	*is_hwpt = false;
	return pick_ioas(w, id);
}

/* The idev of a mock device, now and then the edu's */
static bool pick_idev(struct worker *w, uint32_t *idev)
{
	uint32_t edu = atomic_load(&S.edu_devid);
	uint64_t v;

	if (chance(w, 10) && edu && S.edu_mode == EDU_SHARED) {
		*idev = edu;
		return true;
	}
	if (!pool_pick(&S.dev, w, &v))
		return false;
	*idev = v >> 32;
	return true;
}

/* Memory to map: 1..64 pages of the buffer, sometimes not page aligned */
static void pick_memory(struct worker *w, uint8_t **uptr, size_t *len)
{
	size_t pages = 1 + rnd_below(w, MAX_MAP_PAGES);
	size_t first = rnd_below(w, BUF_PAGES - pages + 1);

	*uptr = S.buf + first * PAGE_SIZE;
	*len = pages * PAGE_SIZE;
	if (chance(w, 10)) {
		/* half a page in (the mock IOPTE), or a few bytes */
		size_t off = chance(w, 50) ? MOCK_PAGE_SIZE : 64;

		if (*len > off) {
			*uptr += off;
			*len -= off;
		}
	}
	if (chance(w, 5) && *len > 100)
		*len -= 100;
}

/* A fixed IOVA: in a small window of the mock aperture, so maps collide */
static uint64_t pick_iova(struct worker *w)
{
	struct range r;
	unsigned int k = rnd_below(w, 100);

	if (k < 70)
		return MOCK_APERTURE_START +
		       rnd_below(w, FIXED_WINDOW_PAGES) * PAGE_SIZE;
	if (k < 80)	/* below the mock aperture: domains will refuse it */
		return (1 + rnd_below(w, 1024)) * PAGE_SIZE;
	if (k < 90)	/* not page aligned */
		return MOCK_APERTURE_START +
		       rnd_below(w, FIXED_WINDOW_PAGES) * PAGE_SIZE +
		       (chance(w, 50) ? MOCK_PAGE_SIZE : 64);
	/* over or next to a mapped range */
	if (range_pick(w, &r))
		return r.iova + rnd_below(w, 4) * PAGE_SIZE;
	return MOCK_APERTURE_START;
}

static uint32_t map_flags(struct worker *w)
{
	unsigned int k = rnd_below(w, 100);

	if (k < 85)
		return MAP_RW;
	if (k < 95)
		return IOMMU_IOAS_MAP_READABLE;
	return IOMMU_IOAS_MAP_WRITEABLE;
}

/* --- The worker operations ----------------------------------------------- */

static void do_ioas_alloc(struct worker *w)
{
	struct oplog *l = log_begin(w, OP_IOAS_ALLOC, 0, 0, 0, 0, 0);
	uint32_t id = 0;
	int ret;

	ret = _test_ioctl_ioas_alloc(S.fd, 0, &id);
	if (!log_end(w, l, ret, errno) || ret)
		return;
	l->id0 = id;
	if (!check_out(w, l, id && id != BOGUS_ID, "id %u", id))
		return;
	seen_id(id);
	if (!pool_add(&S.ioas, id)) {
		/* Pool full: nobody knows it, it goes again */
		l = log_begin(w, OP_DESTROY, id, 0, 0, 0, 0);
		log_call(w, l, _test_ioctl_destroy(S.fd, id));
	}
}

static void do_destroy(struct worker *w)
{
	unsigned int k = rnd_below(w, 100);
	struct pool *from = NULL;
	struct oplog *l;
	uint64_t v = 0;
	uint32_t id;
	int ret;

	if (k < 30)
		from = &S.ioas;
	else if (k < 60)
		from = &S.hwpt;
	else if (k < 70)
		from = &S.dev;	/* its idev: a bound device, EBUSY */
	if (from && pool_pick(from, w, &v))
		id = from == &S.dev ? v >> 32 : (uint32_t)v;
	else
		id = 1 + rnd_below(w, atomic_load(&S.max_id) + 8);

	l = log_begin(w, OP_DESTROY, id, 0, 0, 0, 0);
	ret = _test_ioctl_destroy(S.fd, id);
	if (!log_end(w, l, ret, errno))
		return;
	if (!ret) {
		struct range r = { .ioas = id };

		pool_del(&S.ioas, id, KEY);
		pool_del(&S.hwpt, id, KEY);
		pool_del(&S.dev, id, KEY);
		range_del(&r, true);
	} else if (errno == ENOENT && from && from != &S.dev) {
		pool_del(from, id, KEY);
	}
}

static void do_unmap(struct worker *w);

static void do_map(struct worker *w)
{
	uint32_t flags = map_flags(w), ioas;
	bool fixed = chance(w, 50);
	struct oplog *l;
	struct range r;
	uint8_t *uptr;
	__u64 iova = 0;
	size_t len;
	int ret;

	if (range_full()) {
		do_unmap(w);
		return;
	}
	if (!pick_ioas(w, &ioas))
		return;
	pick_memory(w, &uptr, &len);
	if (fixed) {
		flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
		iova = pick_iova(w);
	}
	l = log_begin(w, OP_MAP, ioas, flags, iova, uptr - S.buf, len);
	ret = _test_ioctl_ioas_map(S.fd, ioas, uptr, len, &iova, flags);
	if (!log_end(w, l, ret, errno) || ret)
		return;
	if (fixed && !check_out(w, l, iova == l->a0, "iova 0x%llx", iova))
		return;
	l->a0 = iova;
	/*
	 * An automatic IOVA is never 0, and page aligned for page aligned
	 * memory (it is aligned like the memory, up to a huge page)
	 */
	if (!fixed &&
	    !check_out(w, l, iova && ((uintptr_t)uptr % PAGE_SIZE ||
				      !(iova % PAGE_SIZE)),
		       "iova 0x%llx for uptr %p", iova, uptr))
		return;
	r.ioas = ioas;
	r.iova = iova;
	r.len = len;
	r.uptr = (uintptr_t)uptr;
	r.writable = flags & IOMMU_IOAS_MAP_WRITEABLE;
	range_add(&r);
}

static void do_unmap(struct worker *w)
{
	__u64 iova, len, out = 0;
	struct oplog *l;
	struct range r;
	bool exact;
	int ret;

	if (!range_pick(w, &r))
		return;
	exact = chance(w, 80);
	iova = r.iova;
	len = r.len;
	if (!exact) {
		/* part of it, or reaching past it: an area sticks out */
		iova += rnd_below(w, 2) * PAGE_SIZE;
		len = (1 + rnd_below(w, MAX_MAP_PAGES)) * PAGE_SIZE;
	}
	l = log_begin(w, OP_UNMAP, r.ioas, 0, iova, len, 0);
	ret = _test_ioctl_ioas_unmap(S.fd, r.ioas, iova, len, &out);
	if (!log_end(w, l, ret, errno))
		return;
	if (!ret) {
		l->a2 = out;
		/* Only areas inside the range go */
		if (!check_out(w, l, out && out <= len,
			       "unmapped 0x%llx", out))
			return;
	}
	if (exact && (!ret || errno == ENOENT))
		range_del(&r, false);
}

static void do_unmap_all(struct worker *w)
{
	__u64 out = 0;
	struct oplog *l;
	uint32_t ioas;
	int ret;

	if (!pick_ioas(w, &ioas))
		return;
	l = log_begin(w, OP_UNMAP_ALL, ioas, 0, 0, UINT64_MAX, 0);
	ret = _test_ioctl_ioas_unmap(S.fd, ioas, 0, UINT64_MAX, &out);
	if (!log_end(w, l, ret, errno))
		return;
	l->a2 = out;
	if (!ret || errno == ENOENT)
		range_del(&(struct range){ .ioas = ioas }, true);
}

static void do_copy(struct worker *w)
{
	uint32_t flags = chance(w, 85) ? MAP_RW : IOMMU_IOAS_MAP_READABLE;
	__u64 src_iova, len, dst_iova = 0, skip;
	bool fixed = chance(w, 50);
	uint32_t dst;
	struct oplog *l;
	struct range r;
	int ret;

	if (range_full() || !range_pick(w, &r))
		return;
	dst = r.ioas;
	if (chance(w, 70) && !pick_ioas(w, &dst))
		dst = r.ioas;
	/* all of the range, or its tail from a page in */
	skip = chance(w, 30) ? rnd_below(w, r.len / PAGE_SIZE) * PAGE_SIZE : 0;
	if (skip >= r.len)
		skip = 0;
	src_iova = r.iova + skip;
	len = r.len - skip;
	if (fixed) {
		flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
		dst_iova = pick_iova(w);
	}
	l = log_begin(w, OP_COPY, r.ioas, dst, src_iova, len, dst_iova);
	ret = _test_ioctl_ioas_copy(S.fd, flags, dst, r.ioas, len, src_iova,
				    &dst_iova);
	if (!log_end(w, l, ret, errno) || ret) {
		if (ret && errno == ENOENT && !skip)
			range_del(&r, false);	/* most likely gone */
		return;
	}
	if (fixed && !check_out(w, l, dst_iova == l->a2,
				"dst_iova 0x%llx", dst_iova))
		return;
	l->a2 = dst_iova;
	r.ioas = dst;
	r.iova = dst_iova;
	r.len = len;
	r.uptr += skip;
	r.writable = flags & IOMMU_IOAS_MAP_WRITEABLE;
	range_add(&r);
}

static void do_iova_ranges(struct worker *w)
{
	struct iommu_iova_range ranges[4];
	__u64 align = 0;
	__u32 cap = rnd_below(w, 5), num = cap, i;
	struct oplog *l;
	uint32_t ioas;
	int ret;

	if (!pick_ioas(w, &ioas))
		return;
	l = log_begin(w, OP_IOVA_RANGES, ioas, 0, cap, 0, 0);
	ret = _test_ioctl_ioas_iova_ranges(S.fd, ioas, ranges, &num, &align);
	if (!log_end(w, l, ret, errno))
		return;
	l->a1 = num;
	l->a2 = align;
	if (ret) {
		if (errno == EMSGSIZE)
			check_out(w, l, num > cap, "num %u", num);
		return;
	}
	if (!check_out(w, l, num <= cap && num >= 1, "num %u", num) ||
	    !check_out(w, l, align && !(align & (align - 1)),
		       "alignment 0x%llx", align))
		return;
	for (i = 0; i < num; i++)
		if (!check_out(w, l,
			       ranges[i].start <= ranges[i].last &&
			       (!i || ranges[i].start > ranges[i - 1].last),
			       "range %u 0x%llx-0x%llx", i,
			       (unsigned long long)ranges[i].start,
			       (unsigned long long)ranges[i].last))
			return;
}

static void do_allow_iovas(struct worker *w)
{
	const struct iommu_iova_range aperture = {
		.start = MOCK_APERTURE_START,
		.last = MOCK_APERTURE_LAST,
	};
	__u32 num = chance(w, 50);
	struct oplog *l;
	uint32_t ioas;
	int ret;

	if (!pick_ioas(w, &ioas))
		return;
	l = log_begin(w, OP_ALLOW_IOVAS, ioas, 0, num, 0, 0);
	ret = _test_ioctl_ioas_allow_iovas(S.fd, ioas, &aperture, num);
	log_end(w, l, ret, errno);
}

static void do_option(struct worker *w, unsigned int op)
{
	struct oplog *l;
	uint32_t ioas = 0;
	__u64 val;
	int ret;

	switch (op) {
	case OP_OPT_RLIMIT_GET:
		val = 0x5a;
		l = log_begin(w, OP_OPT_RLIMIT_GET, 0, 0, 0, 0, 0);
		ret = _test_ioctl_option(S.fd, IOMMU_OPTION_RLIMIT_MODE,
					 IOMMU_OPTION_OP_GET, 0, &val);
		if (log_end(w, l, ret, errno) && !ret)
			check_out(w, l, val == S.acct,
				  "mode %llu", (unsigned long long)val);
		return;
	case OP_OPT_RLIMIT_SET:
		/* The run's own mode: changes nothing even when it succeeds */
		val = S.acct;
		l = log_begin(w, OP_OPT_RLIMIT_SET, 0, 0, val, 0, 0);
		ret = _test_ioctl_option(S.fd, IOMMU_OPTION_RLIMIT_MODE,
					 IOMMU_OPTION_OP_SET, 0, &val);
		log_end(w, l, ret, errno);
		return;
	case OP_OPT_HUGE_GET:
		if (!pick_ioas(w, &ioas))
			return;
		val = 0x5a;
		l = log_begin(w, OP_OPT_HUGE_GET, ioas, 0, 0, 0, 0);
		ret = _test_ioctl_option(S.fd, IOMMU_OPTION_HUGE_PAGES,
					 IOMMU_OPTION_OP_GET, ioas, &val);
		if (log_end(w, l, ret, errno) && !ret)
			check_out(w, l, val <= 1, "val %llu",
				  (unsigned long long)val);
		return;
	default:
		if (!pick_ioas(w, &ioas))
			return;
		/* mostly on: off makes every later small map fail */
		val = chance(w, 70);
		l = log_begin(w, OP_OPT_HUGE_SET, ioas, 0, val, 0, 0);
		ret = _test_ioctl_option(S.fd, IOMMU_OPTION_HUGE_PAGES,
					 IOMMU_OPTION_OP_SET, ioas, &val);
		log_end(w, l, ret, errno);
		return;
	}
}

static void do_dev_destroy(struct worker *w);

static void do_mock_create(struct worker *w)
{
	__u32 stdev = 0, hwpt = 0, idev = 0, pt, flags;
	struct oplog *l;
	bool is_hwpt;
	int ret;

	if (pool_count(&S.dev) >= CAP_DEV) {
		do_dev_destroy(w);
		return;
	}
	if (!pick_pt(w, &pt, &is_hwpt))
		return;
	flags = chance(w, 15) ? MOCK_FLAGS_DEVICE_NO_DIRTY : 0;
	l = log_begin(w, OP_MOCK_CREATE, pt, 0, flags, 0, 0);
	ret = _test_cmd_mock_domain_flags(S.fd, pt, flags, &stdev, &hwpt,
					  &idev);
	if (!log_end(w, l, ret, errno) || ret)
		return;
	l->a1 = stdev;
	l->a2 = ((uint64_t)idev << 32) | hwpt;
	if (!check_out(w, l, stdev && hwpt && idev && stdev != idev,
		       "stdev %u hwpt %u idev %u", stdev, hwpt, idev))
		return;
	seen_id(stdev);
	seen_id(hwpt);
	seen_id(idev);
	/* Through an IOAS: an automatic HWPT, which others may use too */
	if (!is_hwpt)
		pool_add_unique(&S.hwpt, hwpt | HWPT_AUTO, KEY);
	if (!pool_add(&S.dev, ((uint64_t)idev << 32) | stdev)) {
		l = log_begin(w, OP_DEV_DESTROY, stdev, idev, 0, 0, 0);
		log_call(w, l, _test_ioctl_destroy(S.fd, stdev));
	}
}

static void do_mock_replace(struct worker *w)
{
	__u32 pt, out = 0, stdev;
	struct oplog *l;
	bool is_hwpt;
	uint64_t v;
	int ret;

	if (!pool_pick(&S.dev, w, &v) || !pick_pt(w, &pt, &is_hwpt))
		return;
	stdev = v;
	l = log_begin(w, OP_MOCK_REPLACE, stdev, pt, 0, 0, 0);
	ret = _test_cmd_mock_domain_replace(S.fd, stdev, pt, &out);
	if (!log_end(w, l, ret, errno))
		return;
	if (ret) {
		if (errno == ENOENT)
			pool_del(&S.dev, stdev, KEY);	/* perhaps the pt */
		return;
	}
	l->a0 = out;
	if (!check_out(w, l, out, "hwpt %u", out))
		return;
	seen_id(out);
	if (!is_hwpt)
		pool_add_unique(&S.hwpt, out | HWPT_AUTO, KEY);
}

static void do_dev_destroy(struct worker *w)
{
	struct oplog *l;
	uint64_t v;
	int ret;

	if (!pool_take(&S.dev, w, &v))
		return;
	l = log_begin(w, OP_DEV_DESTROY, (uint32_t)v, v >> 32, 0, 0, 0);
	ret = _test_ioctl_destroy(S.fd, (uint32_t)v);
	if (!log_end(w, l, ret, errno))
		return;
	/* Still there: a concurrent ioctl was using it */
	if (ret && errno == EBUSY)
		pool_add(&S.dev, v);
}

static void do_hwpt_alloc(struct worker *w)
{
	uint32_t idev, ioas, hwpt = 0, flags = 0;
	unsigned int k = rnd_below(w, 100);
	struct oplog *l;
	int ret;

	if (!pick_idev(w, &idev) || !pick_ioas(w, &ioas))
		return;
	if (k >= 60)
		flags = k < 85 ? IOMMU_HWPT_ALLOC_NEST_PARENT :
				 IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	l = log_begin(w, OP_HWPT_ALLOC, idev, ioas, flags, 0, 0);
	ret = _test_cmd_hwpt_alloc(S.fd, idev, ioas, flags, &hwpt,
				   IOMMU_HWPT_DATA_NONE, NULL, 0);
	if (!log_end(w, l, ret, errno) || ret)
		return;
	l->a1 = hwpt;
	if (!check_out(w, l, hwpt && hwpt != BOGUS_ID, "hwpt %u", hwpt))
		return;
	seen_id(hwpt);
	if (!pool_add(&S.hwpt, hwpt | (flags & IOMMU_HWPT_ALLOC_NEST_PARENT ?
				       HWPT_NEST_PARENT : 0))) {
		l = log_begin(w, OP_DESTROY, hwpt, 0, 0, 0, 0);
		log_call(w, l, _test_ioctl_destroy(S.fd, hwpt));
	}
}

static void do_hwpt_nested(struct worker *w)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	uint32_t idev, parent, hwpt = 0;
	struct oplog *l;
	uint64_t v;
	int ret;

	if (!pick_idev(w, &idev) || !pool_pick(&S.hwpt, w, &v))
		return;
	parent = v;
	l = log_begin(w, OP_HWPT_NESTED, idev, parent, v >> 32, 0, 0);
	ret = _test_cmd_hwpt_alloc(S.fd, idev, parent, 0, &hwpt,
				   IOMMU_HWPT_DATA_SELFTEST, &data,
				   sizeof(data));
	if (!log_end(w, l, ret, errno) || ret)
		return;
	l->a1 = hwpt;
	if (!check_out(w, l, hwpt, "hwpt %u", hwpt))
		return;
	seen_id(hwpt);
	if (!pool_add(&S.hwpt, hwpt | HWPT_NESTED)) {
		l = log_begin(w, OP_DESTROY, hwpt, 0, 0, 0, 0);
		log_call(w, l, _test_ioctl_destroy(S.fd, hwpt));
	}
}

static void do_hw_info(struct worker *w)
{
	struct iommu_test_hw_info info;
	__u32 idev, type = 0, len = 0;
	struct oplog *l;
	int ret;

	if (!pick_idev(w, &idev))
		return;
	l = log_begin(w, OP_HW_INFO, idev, 0, 0, 0, 0);
	ret = _test_cmd_get_hw_info(S.fd, idev, &info, sizeof(info), &len,
				    &type, NULL);
	if (!log_end(w, l, ret, errno) || ret)
		return;
	l->a0 = type;
	l->a1 = len;
	/* NONE: the edu's IOMMU driver reports nothing (SMMUv3 here) */
	check_out(w, l,
		  type == IOMMU_HW_INFO_TYPE_SELFTEST ||
		  type == IOMMU_HW_INFO_TYPE_INTEL_VTD ||
		  (type == IOMMU_HW_INFO_TYPE_NONE && !len),
		  "type 0x%x, len %u", type, len);
}

static void do_access_close(struct worker *w);

static void do_access_create(struct worker *w)
{
	uint32_t ioas, flags;
	struct oplog *l;
	int afd = -1, ret;

	if (pool_count(&S.access) >= CAP_ACCESS) {
		do_access_close(w);
		return;
	}
	if (!pick_ioas(w, &ioas))
		return;
	flags = chance(w, 75) ? MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES : 0;
	l = log_begin(w, OP_ACCESS_CREATE, ioas, 0, flags, 0, 0);
	ret = _test_cmd_create_access(S.fd, ioas, &afd, flags);
	if (!log_end(w, l, ret, errno) || ret)
		return;
	l->a1 = afd;
	if (!check_out(w, l, afd >= 0, "fd %d", afd))
		return;
	if (!pool_add(&S.access, (uint64_t)afd)) {
		l = log_begin(w, OP_ACCESS_CLOSE, 0, 0, afd, 0, 0);
		log_call(w, l, close(afd));
	}
}

static void do_access_replace(struct worker *w)
{
	struct oplog *l;
	uint32_t ioas;
	uint64_t v;
	int ret;

	if (!pool_pick(&S.access, w, &v) || !pick_ioas(w, &ioas))
		return;
	l = log_begin(w, OP_ACCESS_REPLACE, ioas, 0, v, 0, 0);
	ret = _test_cmd_access_replace_ioas(S.fd, (int)v, ioas);
	log_end(w, l, ret, errno);
}

static void do_access_pin(struct worker *w)
{
	uint32_t flags = chance(w, 50) ? MOCK_FLAGS_ACCESS_WRITE : 0;
	uint64_t v, iova, len, skip, npages;
	__u32 pages_id = 0;
	uintptr_t uptr;
	struct oplog *l;
	struct range r;
	int afd, ret;

	if (!pool_pick(&S.access, w, &v) || !range_pick(w, &r))
		return;
	afd = v;
	/* all of it, or a page of it */
	skip = chance(w, 40) ? rnd_below(w, r.len / PAGE_SIZE) * PAGE_SIZE : 0;
	if (skip >= r.len)
		skip = 0;
	iova = r.iova + skip;
	len = skip ? min_u64(PAGE_SIZE, r.len - skip) : r.len;
	/*
	 * The kernel compares the pages pinned with those at uptr, as many
	 * as the IOVA range spans: only when they are all in the buffer (an
	 * entry of the pool may be stale, and its memory offset differ)
	 */
	uptr = r.uptr + skip;
	npages = (iova + len - 1) / PAGE_SIZE - iova / PAGE_SIZE + 1;
	if (uptr / PAGE_SIZE * PAGE_SIZE + npages * PAGE_SIZE >
	    (uintptr_t)S.buf + S.buf_len)
		uptr = 0;
	l = log_begin(w, OP_ACCESS_PIN, r.ioas, flags, iova, len, afd);
	ret = _test_cmd_access_pages(S.fd, afd, flags, iova, len,
				     (void *)uptr, &pages_id);
	if (!log_end(w, l, ret, errno) || ret)
		return;
	l->id1 = pages_id;
	if (!pool_add(&S.item, ((uint64_t)afd << 32) | pages_id)) {
		l = log_begin(w, OP_ACCESS_UNPIN, pages_id, 0, afd, 0, 0);
		log_call(w, l,
			 _test_cmd_destroy_access_pages(S.fd, afd, pages_id));
	}
}

static void do_access_unpin(struct worker *w)
{
	struct oplog *l;
	uint64_t v;
	int ret;

	if (!pool_take(&S.item, w, &v))
		return;
	l = log_begin(w, OP_ACCESS_UNPIN, (uint32_t)v, 0, v >> 32, 0, 0);
	ret = _test_cmd_destroy_access_pages(S.fd, v >> 32, (uint32_t)v);
	log_end(w, l, ret, errno);
}

static void do_access_rw(struct worker *w)
{
	uint32_t flags = 0;
	uint64_t v, off, len;
	struct oplog *l;
	struct range r;
	int ret;

	if (!pool_pick(&S.access, w, &v) || !range_pick(w, &r))
		return;
	if (chance(w, 50))
		flags |= MOCK_ACCESS_RW_WRITE;
	if (chance(w, 30))
		flags |= MOCK_ACCESS_RW_SLOW_PATH;
	off = rnd_below(w, r.len);
	len = 1 + rnd_below(w, RW_MAX);
	/* mostly inside the range; sometimes past its end */
	if (chance(w, 90) && len > r.len - off)
		len = r.len - off;
	l = log_begin(w, OP_ACCESS_RW, r.ioas, flags, r.iova + off, len, v);
	ret = _test_cmd_access_rw(S.fd, (int)v, r.iova + off, w->rwbuf, len,
				  flags);
	log_end(w, l, ret, errno);
}

static void do_access_close(struct worker *w)
{
	struct oplog *l;
	uint64_t v;

	/* Taken out of the pool first: nobody else closes this fd number */
	if (!pool_take(&S.access, w, &v))
		return;
	pool_del(&S.item, v << 32, KEY << 32);
	l = log_begin(w, OP_ACCESS_CLOSE, 0, 0, v, 0, 0);
	log_call(w, l, close((int)v));
}

static void do_vfio_ioas(struct worker *w, unsigned int op)
{
	struct oplog *l;
	__u32 ioas = 0;
	int ret;

	if (op == OP_VFIO_IOAS_GET) {
		l = log_begin(w, OP_VFIO_IOAS_GET, 0, 0, 0, 0, 0);
		ret = _test_ioctl_vfio_ioas(S.fd, IOMMU_VFIO_IOAS_GET, &ioas);
		if (log_end(w, l, ret, errno) && !ret) {
			l->id0 = ioas;
			check_out(w, l, ioas, "ioas %u", ioas);
		}
	} else if (op == OP_VFIO_IOAS_SET) {
		if (!pick_ioas(w, &ioas))
			return;
		l = log_begin(w, OP_VFIO_IOAS_SET, ioas, 0, 0, 0, 0);
		ret = _test_ioctl_vfio_ioas(S.fd, IOMMU_VFIO_IOAS_SET, &ioas);
		log_end(w, l, ret, errno);
	} else {
		l = log_begin(w, OP_VFIO_IOAS_CLEAR, 0, 0, 0, 0, 0);
		ret = _test_ioctl_vfio_ioas(S.fd, IOMMU_VFIO_IOAS_CLEAR, &ioas);
		log_end(w, l, ret, errno);
	}
}

/* Bad requests: each one must fail, with the errno of the table */
static void do_bad(struct worker *w, unsigned int op)
{
	uint32_t ioas = BOGUS_ID, hwpt = 0, stdev = 0, idev;
	__u64 iova = MOCK_APERTURE_START, out;
	struct oplog *l;
	uint8_t *uptr;
	size_t len;
	__u64 val;
	int ret, afd;

	/* A valid IOAS where the request is about something else */
	if (op != OP_BAD_MAP_ID && op != OP_BAD_RANGES_ID)
		pick_ioas(w, &ioas);
	pick_memory(w, &uptr, &len);
	l = log_begin(w, op, ioas, 0, 0, 0, 0);
	switch (op) {
	case OP_BAD_DESTROY_ID:
		l->id0 = chance(w, 50) ? BOGUS_ID : 0;
		ret = _test_ioctl_destroy(S.fd, l->id0);
		break;
	case OP_BAD_MAP_ID:
		ret = _test_ioctl_ioas_map(S.fd, ioas, uptr, len, &iova, MAP_RW);
		break;
	case OP_BAD_MAP_LEN0:
		ret = _test_ioctl_ioas_map(S.fd, ioas, uptr, 0, &iova, MAP_RW);
		break;
	case OP_BAD_MAP_NOPROT:
		ret = _test_ioctl_ioas_map(S.fd, ioas, uptr, len, &iova,
					   IOMMU_IOAS_MAP_FIXED_IOVA);
		break;
	case OP_BAD_MAP_FLAG:
		ret = _test_ioctl_ioas_map(S.fd, ioas, uptr, len, &iova,
					   MAP_RW | (1 << 10));
		break;
	case OP_BAD_MAP_OVERFLOW:
		/* page aligned, so the alignment checks pass */
		iova = -(uint64_t)PAGE_SIZE * 2;
		l->a0 = iova;
		ret = _test_ioctl_ioas_map(S.fd, ioas, S.buf, 4 * PAGE_SIZE,
					   &iova,
					   MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
		break;
	case OP_BAD_UNMAP_LEN0:
		ret = _test_ioctl_ioas_unmap(S.fd, ioas, iova, 0, &out);
		break;
	case OP_BAD_UNMAP_OVERFLOW:
		ret = _test_ioctl_ioas_unmap(S.fd, ioas,
					     -(uint64_t)PAGE_SIZE * 2,
					     4 * PAGE_SIZE, &out);
		break;
	case OP_BAD_COPY_NOPROT:
		ret = _test_ioctl_ioas_copy(S.fd, 0, ioas, ioas, PAGE_SIZE,
					    iova, &out);
		break;
	case OP_BAD_COPY_LEN0:
		ret = _test_ioctl_ioas_copy(S.fd, MAP_RW, ioas, ioas, 0, iova,
					    &out);
		break;
	case OP_BAD_IOAS_FLAGS:
		ret = _test_ioctl_ioas_alloc(S.fd, 1 + rnd_below(w, 0xff),
					     &hwpt);
		break;
	case OP_BAD_SIZE_SHORT: {
		struct iommu_destroy cmd = {
			.size = offsetof(struct iommu_destroy, id),
			.id = BOGUS_ID,
		};

		ret = ioctl(S.fd, IOMMU_DESTROY, &cmd);
		break;
	}
	case OP_BAD_SIZE_LONG: {
		struct {
			struct iommu_destroy cmd;
			__u64 more;
		} big = {
			.cmd = { .size = sizeof(big), .id = BOGUS_ID },
			.more = 1,
		};

		ret = ioctl(S.fd, IOMMU_DESTROY, &big);
		break;
	}
	case OP_BAD_MOCK_FLAGS:
		ret = _test_cmd_mock_domain_flags(S.fd, ioas, 1 << 7, &stdev,
						  &hwpt, &idev);
		break;
	case OP_BAD_REPLACE_ID:
		ret = _test_cmd_mock_domain_replace(S.fd, BOGUS_ID, ioas,
						    &hwpt);
		break;
	case OP_BAD_HWPT_DATA:
		/* no data type with a length: checked before any lookup */
		if (!pick_idev(w, &idev))
			idev = BOGUS_ID;
		l->id1 = idev;
		ret = _test_cmd_hwpt_alloc(S.fd, idev, ioas, 0, &hwpt,
					   IOMMU_HWPT_DATA_NONE, &val, 4);
		break;
	case OP_BAD_ACCESS_FLAGS:
		ret = _test_cmd_create_access(S.fd, ioas, &afd, 1 << 5);
		if (!ret)
			close(afd);
		break;
	case OP_BAD_ACCESS_FD:
		switch (rnd_below(w, 3)) {
		case 0:
			ret = _test_cmd_access_replace_ioas(S.fd, S.fd, ioas);
			break;
		case 1:
			ret = _test_cmd_access_rw(S.fd, S.fd, iova, w->rwbuf, 8,
						  0);
			break;
		default:
			ret = _test_cmd_destroy_access_pages(S.fd, S.fd, 0);
			break;
		}
		break;
	case OP_BAD_OPTION:
		val = 0;
		if (chance(w, 50))
			ret = _test_ioctl_option(S.fd, 0x7777,
						 IOMMU_OPTION_OP_GET, ioas, &val);
		else	/* the accounting mode is no option of an object */
			ret = _test_ioctl_option(S.fd, IOMMU_OPTION_RLIMIT_MODE,
						 IOMMU_OPTION_OP_GET, ioas, &val);
		break;
	case OP_BAD_RANGES_ID: {
		struct iommu_iova_range r[1];
		__u32 num = 1;

		ret = _test_ioctl_ioas_iova_ranges(S.fd, ioas, r, &num, NULL);
		break;
	}
	default:
		ret = 0;
		errno = 0;
		break;
	}
	log_end(w, l, ret, errno);
}

static unsigned int op_weight_total(void)
{
	unsigned int op, total = 0;

	for (op = 0; op <= LAST_WORKER_OP; op++)
		total += op_table[op].weight;
	return total;
}

static unsigned int pick_op(struct worker *w)
{
	unsigned int op, r;

	r = rnd_below(w, op_weight_total());
	for (op = 0; op < LAST_WORKER_OP; op++) {
		if (r < op_table[op].weight)
			break;
		r -= op_table[op].weight;
	}
	return op;
}

static void run_op(struct worker *w, unsigned int op)
{
	if (op >= FIRST_BAD) {
		do_bad(w, op);
		return;
	}
	switch (op) {
	case OP_IOAS_ALLOC:
		do_ioas_alloc(w);
		break;
	case OP_DESTROY:
		do_destroy(w);
		break;
	case OP_MAP:
		do_map(w);
		break;
	case OP_UNMAP:
		do_unmap(w);
		break;
	case OP_UNMAP_ALL:
		do_unmap_all(w);
		break;
	case OP_COPY:
		do_copy(w);
		break;
	case OP_IOVA_RANGES:
		do_iova_ranges(w);
		break;
	case OP_ALLOW_IOVAS:
		do_allow_iovas(w);
		break;
	case OP_OPT_RLIMIT_GET:
	case OP_OPT_RLIMIT_SET:
	case OP_OPT_HUGE_GET:
	case OP_OPT_HUGE_SET:
		do_option(w, op);
		break;
	case OP_MOCK_CREATE:
		do_mock_create(w);
		break;
	case OP_MOCK_REPLACE:
		do_mock_replace(w);
		break;
	case OP_DEV_DESTROY:
		do_dev_destroy(w);
		break;
	case OP_HWPT_ALLOC:
		do_hwpt_alloc(w);
		break;
	case OP_HWPT_NESTED:
		do_hwpt_nested(w);
		break;
	case OP_HW_INFO:
		do_hw_info(w);
		break;
	case OP_ACCESS_CREATE:
		do_access_create(w);
		break;
	case OP_ACCESS_REPLACE:
		do_access_replace(w);
		break;
	case OP_ACCESS_PIN:
		do_access_pin(w);
		break;
	case OP_ACCESS_UNPIN:
		do_access_unpin(w);
		break;
	case OP_ACCESS_RW:
		do_access_rw(w);
		break;
	case OP_ACCESS_CLOSE:
		do_access_close(w);
		break;
	default:
		do_vfio_ioas(w, op);
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t i;

	for (i = 0; i < w->nops && !atomic_load(&S.stop); i++)
		run_op(w, pick_op(w));
	atomic_store(&w->done, true);
	return NULL;
}

/* --- The edu thread ------------------------------------------------------ */

static int edu_open_bind(struct worker *w)
{
	struct oplog *l;
	uint32_t devid = 0;
	int ret;

	ret = vfio_cdev_open(S.bdf);
	if (ret < 0) {
		worker_fail(w, "open of the cdev of %s: %s", S.bdf,
			    strerror(-ret));
		return ret;
	}
	S.dev_fd = ret;
	l = log_begin(w, OP_EDU_BIND, 0, 0, S.dev_fd, 0, 0);
	ret = vfio_cdev_bind(S.dev_fd, S.fd, &devid);
	if (!log_end(w, l, ret ? -1 : 0, -ret) || ret)
		return -1;
	l->id0 = devid;
	seen_id(devid);
	ret = edu_init(&S.edu, S.dev_fd);
	if (ret) {
		worker_fail(w, "edu_init: %s", strerror(-ret));
		return ret;
	}
	atomic_store(&S.edu_devid, devid);
	return 0;
}

static void edu_close(struct worker *w)
{
	struct oplog *l;

	if (S.dev_fd < 0)
		return;
	atomic_store(&S.edu_devid, 0);
	/* The BAR mapping holds the device file: unmap it first */
	edu_uninit(&S.edu);
	memset(&S.edu, 0, sizeof(S.edu));
	l = log_begin(w, OP_EDU_CLOSE, 0, 0, S.dev_fd, 0, 0);
	log_call(w, l, close(S.dev_fd));
	S.dev_fd = -1;
}

/*
 * The private mode: before any other object exists, the edu gets an IOAS
 * with a mapping, and is attached to it for the whole run. Its ids are the
 * lowest and are never freed (IOMMU_DESTROY of them is EBUSY), so no stale
 * id of the pools ever names them.
 */
static int edu_private_setup(struct worker *w)
{
	__u64 iova = MOCK_APERTURE_START;
	struct oplog *l;
	uint32_t pt;
	int ret;

	if (_test_ioctl_ioas_alloc(S.fd, 0, &S.edu_ioas) ||
	    _test_ioctl_ioas_map(S.fd, S.edu_ioas, S.buf, 16 * PAGE_SIZE,
				 &iova, FIXED_RW)) {
		worker_fail(w, "edu: IOAS: %s", strerror(errno));
		return -1;
	}
	seen_id(S.edu_ioas);
	pt = S.edu_ioas;
	l = log_begin(w, OP_EDU_ATTACH, pt, 0, 0, 0, 0);
	ret = vfio_cdev_attach(S.dev_fd, &pt);
	if (!log_end(w, l, ret ? -1 : 0, -ret) || ret) {
		worker_fail(w, "edu: attach to its IOAS: %s", strerror(-ret));
		return -1;
	}
	seen_id(pt);
	return 0;
}

static void edu_attach(struct worker *w)
{
	struct oplog *l;
	bool is_hwpt = false;
	uint32_t pt = 0;
	int ret;

	if (S.edu_mode == EDU_SHARED) {
		if (!pick_pt(w, &pt, &is_hwpt))
			return;
	} else {
		pt = S.edu_ioas;	/* where it is: a no-op replace */
	}
	l = log_begin(w, OP_EDU_ATTACH, pt, is_hwpt, 0, 0, 0);
	ret = vfio_cdev_attach(S.dev_fd, &pt);
	if (!log_end(w, l, ret ? -1 : 0, -ret) || ret)
		return;
	l->id1 = pt;
	seen_id(pt);
	if (S.edu_mode == EDU_SHARED && !is_hwpt)
		pool_add_unique(&S.hwpt, pt | HWPT_AUTO, KEY);
}

static void edu_dma_op(struct worker *w)
{
	bool to_ram = chance(w, 50);
	uint64_t iova, len;
	struct oplog *l;
	struct range r;
	int ret;

	if (S.edu_mode == EDU_SHARED && range_pick(w, &r)) {
		iova = r.iova;
		len = min_u64(r.len, EDU_BUF_SIZE);
		/* a read-only map takes no DMA write: a fault */
	} else {
		iova = MOCK_APERTURE_START;
		len = EDU_BUF_SIZE;
	}
	if (chance(w, 10))
		iova = 0x7ff00000;	/* most likely mapped nowhere */
	l = log_begin(w, OP_EDU_DMA, 0, to_ram, iova, len, 0);
	ret = edu_dma(&S.edu, iova, 0, len, to_ram, EDU_DMA_TIMEOUT_MS);
	log_end(w, l, ret ? -1 : 0, -ret);
}

static void *edu_main(void *arg)
{
	const struct timespec pause = { .tv_nsec = 20 * 1000000 };
	struct worker *w = arg;

	/* Bound (and in the private mode attached) before the workers ran */
	while (!atomic_load(&S.stop)) {
		unsigned int k = rnd_below(w, 100);
		struct oplog *l;

		if (S.edu_mode == EDU_PRIVATE) {
			if (k < 10)
				edu_attach(w);
			else
				edu_dma_op(w);
		} else if (k < 40) {
			edu_attach(w);
		} else if (k < 50) {
			l = log_begin(w, OP_EDU_DETACH, 0, 0, 0, 0, 0);
			int ret = vfio_cdev_detach(S.dev_fd);

			log_end(w, l, ret ? -1 : 0, -ret);
		} else if (k < 95) {
			edu_dma_op(w);
		} else {
			edu_close(w);
			if (edu_open_bind(w)) {
				atomic_store(&w->done, true);
				return NULL;
			}
		}
		nanosleep(&pause, NULL);
	}
	edu_close(w);
	atomic_store(&w->done, true);
	return NULL;
}

/* --- Setup, run, teardown checks ----------------------------------------- */

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

/* The harness' timeout of the test: from the number of operations */
static uint64_t stress_ops(void)
{
	return env_u64("IOMMUFD_STRESS_OPS", DEFAULT_OPS);
}

FIXTURE(stress) {
	bool bound;	/* the edu was bound to vfio-pci by us */
};

FIXTURE_SETUP(stress)
{
}

FIXTURE_TEARDOWN(stress)
{
	if (self->bound)
		pci_release(S.bdf);
}

/* Find the edu and bind it to vfio-pci; false to run without it */
static bool stress_find_edu(struct __test_metadata *_metadata, bool *bound)
{
	const char *mode = getenv("IOMMUFD_STRESS_EDU");
	char path[256];

	S.edu_mode = EDU_SHARED;
	if (mode && !strcmp(mode, "off"))
		S.edu_mode = EDU_OFF;
	else if (mode && !strcmp(mode, "private"))
		S.edu_mode = EDU_PRIVATE;
	if (S.edu_mode == EDU_OFF) {
		TH_LOG("IOMMUFD_STRESS_EDU=off: no edu thread");
		return false;
	}
	if (edu_find_single(S.bdf)) {
		TH_LOG("no edu device alone in an IOMMU group: running without the edu thread");
		return false;
	}
	if (pci_release(S.bdf) || pci_bind(S.bdf, "vfio-pci")) {
		TH_LOG("edu %s: cannot bind vfio-pci: running without the edu thread",
		       S.bdf);
		pci_release(S.bdf);
		return false;
	}
	*bound = true;
	if (vfio_cdev_path(S.bdf, path, sizeof(path))) {
		TH_LOG("edu %s: no VFIO device cdev: running without the edu thread",
		       S.bdf);
		return false;
	}
	TH_LOG("edu %s: its cdev thread runs too (%s)", S.bdf,
	       S.edu_mode == EDU_SHARED ? "sharing the pools" :
					  "on an IOAS of its own");
	return true;
}

static void print_summary(void)
{
	unsigned int op, t, i;

	for (op = 0; op < OP_NR; op++) {
		unsigned long long ok = 0, bad = 0, errs[8] = {};
		char line[256];
		int n;

		for (t = 0; t <= S.nthreads; t++) {
			ok += S.w[t].counts[op][0];
			bad += S.w[t].counts[op][1];
			for (i = 0; i < 8; i++)
				errs[i] += S.w[t].errs[op][i];
		}
		if (!ok && !bad)
			continue;
		n = snprintf(line, sizeof(line), "%-18s %7llu ok",
			     op_table[op].name, ok);
		for (i = 0; i < 8 && op_table[op].legal[i] != END; i++)
			if (errs[i] && n < (int)sizeof(line))
				n += snprintf(line + n, sizeof(line) - n,
					      ", %s %llu",
					      strerrorname_np(op_table[op].legal[i]),
					      errs[i]);
		fprintf(stderr, "#   %s\n", line);
	}
}

/*
 * The threads, watched: no operation may take longer than the watchdog.
 * A hang prints the logs (the pending operation of each thread last) and
 * ends the test process: the harness reports the test failed.
 */
static bool stress_run_threads(unsigned int nworkers, bool edu)
{
	const struct timespec tick = { .tv_nsec = 200 * 1000000 };
	uint64_t watchdog_ms = env_u64("IOMMUFD_STRESS_WATCHDOG",
				       DEFAULT_WATCHDOG_S) * 1000;
	unsigned int i, nthreads = nworkers + edu, done;

	for (i = 0; i < nworkers; i++)
		if (pthread_create(&S.w[i].thread, NULL, worker_main, &S.w[i]))
			return false;
	if (edu && pthread_create(&S.w[nworkers].thread, NULL, edu_main,
				  &S.w[nworkers]))
		return false;

	do {
		uint64_t now = now_ms();

		nanosleep(&tick, NULL);
		for (i = 0; i < nthreads; i++) {
			uint64_t start = atomic_load(&S.w[i].op_start_ms);

			if (start && now > start && now - start > watchdog_ms) {
				fprintf(stderr,
					"# HANG: thread %u is in an operation for %llu s\n",
					i, (unsigned long long)(now - start) / 1000);
				print_all_logs();
				fflush(stderr);
				_exit(1);
			}
		}
		for (i = 0, done = 0; i < nworkers; i++)
			done += atomic_load(&S.w[i].done);
		/* The edu thread runs until the workers are done */
		if (done == nworkers)
			atomic_store(&S.stop, true);
		if (edu && atomic_load(&S.stop))
			done += atomic_load(&S.w[nworkers].done);
	} while (done != nthreads);

	for (i = 0; i < nthreads; i++)
		pthread_join(S.w[i].thread, NULL);
	return true;
}

TEST_F_TIMEOUT(stress, run, 600)
{
	unsigned long long total = stress_ops();
	const long kb = PAGE_SIZE / 1024;
	struct rlimit rl = {
		.rlim_cur = RLIMIT_PAGES * PAGE_SIZE,
		.rlim_max = RLIMIT_PAGES * PAGE_SIZE,
	};
	long vmpin0, vmlck0;
	uint64_t seed_state;
	__u64 iova;
	uint32_t id, last, ioas = 0, stdev = 0, hwpt = 0, idev = 0;
	unsigned int i, pass, destroyed, busy;
	bool edu;
	int ret;
	__u64 val;
	struct timespec ts;

	if (access("/dev/iommu", F_OK))
		SKIP(return, "no /dev/iommu");

	clock_gettime(CLOCK_REALTIME, &ts);
	S.seed = env_u64("IOMMUFD_STRESS_SEED",
			 ((uint64_t)ts.tv_sec << 30) ^ ts.tv_nsec ^
			 ((uint64_t)getpid() << 48));
	S.nthreads = env_u64("IOMMUFD_STRESS_THREADS", DEFAULT_THREADS);
	if (!S.nthreads || S.nthreads > MAX_THREADS)
		S.nthreads = DEFAULT_THREADS;
	TH_LOG("seed 0x%016llx (IOMMUFD_STRESS_SEED)", S.seed);
	TH_LOG("%llu ops (IOMMUFD_STRESS_OPS), %u threads (IOMMUFD_STRESS_THREADS)",
	       total, S.nthreads);

	edu = stress_find_edu(_metadata, &self->bound);
	S.dev_fd = -1;

	S.buf_len = BUF_PAGES * PAGE_SIZE;
	S.buf = iommufd_alloc_buffer(S.buf_len, PAGE_SIZE);
	ASSERT_NE(NULL, S.buf);
	pool_init(&S.ioas, CAP_IOAS);
	pool_init(&S.hwpt, CAP_HWPT);
	pool_init(&S.dev, CAP_DEV);
	pool_init(&S.access, CAP_ACCESS);
	pool_init(&S.item, CAP_ITEM);
	pthread_mutex_init(&S.ranges.lock, NULL);

	/*
	 * Accounting: per process (VmLck shows it), against a small
	 * RLIMIT_MEMLOCK, without CAP_IPC_LOCK (whose holders are not
	 * charged); the threads inherit the credentials of this one.
	 */
	S.fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, S.fd);
	val = 1;
	if (!_test_ioctl_option(S.fd, IOMMU_OPTION_RLIMIT_MODE,
				IOMMU_OPTION_OP_SET, 0, &val) &&
	    !drop_cap(CAP_IPC_LOCK) && !setrlimit(RLIMIT_MEMLOCK, &rl)) {
		S.acct = true;
	} else {
		TH_LOG("accounting checks off: needs CAP_SYS_RESOURCE and capset (%s)",
		       strerror(errno));
		/* Back to the default, if the first SET changed it */
		val = 0;
		_test_ioctl_option(S.fd, IOMMU_OPTION_RLIMIT_MODE,
				   IOMMU_OPTION_OP_SET, 0, &val);
	}
	vmpin0 = proc_status_kb("VmPin");
	vmlck0 = proc_status_kb("VmLck");
	ASSERT_LE(0, vmpin0);

	for (i = 0; i <= S.nthreads; i++) {
		struct worker *w = &S.w[i];

		w->idx = i;
		/* thread i's stream: from the seed and i alone */
		seed_state = S.seed ^ (0x9e3779b97f4a7c15ULL * (i + 1));
		w->rng = splitmix64(&seed_state);
		w->nops = total / S.nthreads + (i < total % S.nthreads);
	}
	/* The edu first: in the private mode its objects take the lowest ids */
	if (edu && (edu_open_bind(&S.w[S.nthreads]) ||
		    (S.edu_mode == EDU_PRIVATE &&
		     edu_private_setup(&S.w[S.nthreads])))) {
		fprintf(stderr, "# FAIL: %s\n", S.w[S.nthreads].fail);
		print_all_logs();
		ASSERT_EQ(0, atomic_load(&S.failed));
	}

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, _test_ioctl_ioas_alloc(S.fd, 0, &id));
		seen_id(id);
		pool_add(&S.ioas, id);
	}

	ASSERT_TRUE(stress_run_threads(S.nthreads, edu));

	if (atomic_load(&S.failed)) {
		struct worker *w = &S.w[atomic_load(&S.failed) - 1];

		fprintf(stderr, "# FAIL in thread %d: %s\n", w->idx, w->fail);
		print_all_logs();
		ASSERT_EQ(0, atomic_load(&S.failed));
	}
	print_summary();

	/*
	 * Teardown: the access fds, then IOMMU_DESTROY of every id until none
	 * goes any more (objects built on others go first); then every id must
	 * be gone. One left is a reference nobody gives back.
	 */
	for (i = 0; i < S.access.n; i++)
		EXPECT_EQ(0, close((int)S.access.v[i]));
	S.access.n = 0;
	last = atomic_load(&S.max_id) + SWEEP_MARGIN;
	for (pass = 0;; pass++) {
		destroyed = 0;
		for (id = 1; id <= last; id++)
			destroyed += !_test_ioctl_destroy(S.fd, id);
		if (!destroyed)
			break;
		ASSERT_GT(32, pass);
	}
	for (id = 1, busy = 0; id <= last; id++) {
		if (!_test_ioctl_destroy(S.fd, id) || errno != ENOENT) {
			TH_LOG("object %u is left: %s", id, strerror(errno));
			busy++;
		}
	}
	EXPECT_EQ(0, busy);
	ASSERT_EQ(0, close(S.fd));

	/* Nothing pinned or charged any more */
	EXPECT_EQ(vmpin0, proc_status_kb("VmPin"));
	EXPECT_EQ(vmlck0, proc_status_kb("VmLck"));
	S.fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, S.fd);
	EXPECT_EQ(0, _test_cmd_md_check_refs(S.fd, S.buf, S.buf_len, 0));

	/* The whole limit can be pinned again, and not a page more */
	if (S.acct && vmlck0 == 0) {
		val = 1;
		ASSERT_EQ(0, _test_ioctl_option(S.fd, IOMMU_OPTION_RLIMIT_MODE,
						IOMMU_OPTION_OP_SET, 0, &val));
		ASSERT_EQ(0, _test_ioctl_ioas_alloc(S.fd, 0, &ioas));
		ASSERT_EQ(0, _test_cmd_mock_domain(S.fd, ioas, &stdev, &hwpt,
						   &idev));
		/* each map pins (and is charged) on its own */
		iova = MOCK_APERTURE_START;
		for (i = 0; i < RLIMIT_PAGES / BUF_PAGES; i++) {
			ret = _test_ioctl_ioas_map(S.fd, ioas, S.buf, S.buf_len,
						   &iova, FIXED_RW);
			ASSERT_EQ(0, ret);
			iova += S.buf_len;
		}
		EXPECT_EQ((long)RLIMIT_PAGES * kb, proc_status_kb("VmLck"));
		EXPECT_EQ(vmpin0 + (long)RLIMIT_PAGES * kb,
			  proc_status_kb("VmPin"));
		ret = _test_ioctl_ioas_map(S.fd, ioas, S.buf, PAGE_SIZE, &iova,
					   FIXED_RW);
		EXPECT_EQ(-1, ret);
		EXPECT_EQ(ENOMEM, errno);
	}
	ASSERT_EQ(0, close(S.fd));
	EXPECT_EQ(vmpin0, proc_status_kb("VmPin"));
	EXPECT_EQ(vmlck0, proc_status_kb("VmLck"));
	munmap(S.buf, S.buf_len);
}

/* The harness' timeout follows the number of operations */
static void __attribute__((constructor)) stress_timeout(void)
{
	uint64_t t = env_u64("IOMMUFD_STRESS_TIMEOUT",
			     600 + stress_ops() / 50);

	_stress_run_object.timeout = t > INT32_MAX ? INT32_MAX : t;
}

TEST_HARNESS_MAIN
