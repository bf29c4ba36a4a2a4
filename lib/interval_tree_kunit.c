// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the interval tree span iterator: each case builds a small
 * tree and compares the walk with the spans expected, in order.
 */
#include <kunit/test.h>
#include <linux/interval_tree.h>
#include <linux/kernel.h>

struct span {
	unsigned long start;
	unsigned long last;
	bool is_hole;
};

struct span_fixture {
	struct rb_root_cached root;
	struct interval_tree_node nodes[8];
	unsigned int nr_nodes;
};

static void add_node(struct span_fixture *f, unsigned long start,
		     unsigned long last)
{
	struct interval_tree_node *node = &f->nodes[f->nr_nodes++];

	node->start = start;
	node->last = last;
	interval_tree_insert(node, &f->root);
}

static int span_init(struct kunit *test)
{
	struct span_fixture *f;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	f->root = RB_ROOT_CACHED;
	test->priv = f;
	return 0;
}

static void expect_walk(struct kunit *test, unsigned long first,
			unsigned long last, const struct span *want,
			unsigned int nr_want)
{
	struct span_fixture *f = test->priv;
	struct interval_tree_span_iter iter;
	unsigned int i = 0;

	interval_tree_for_each_span(&iter, &f->root, first, last) {
		KUNIT_ASSERT_LT_MSG(test, i, nr_want, "more spans than %u",
				    nr_want);
		KUNIT_EXPECT_EQ_MSG(test, iter.start, want[i].start, "span %u", i);
		KUNIT_EXPECT_EQ_MSG(test, iter.last, want[i].last, "span %u", i);
		KUNIT_EXPECT_EQ_MSG(test, iter.is_hole, want[i].is_hole,
				    "span %u", i);
		i++;
	}
	KUNIT_EXPECT_EQ(test, i, nr_want);
}

static void span_empty_tree_is_one_hole(struct kunit *test)
{
	static const struct span want[] = { { 0, ULONG_MAX, true } };

	expect_walk(test, 0, ULONG_MAX, want, ARRAY_SIZE(want));
}

static void span_node_inside_splits_walk(struct kunit *test)
{
	static const struct span want[] = {
		{ 10, 19, true }, { 20, 29, false }, { 30, 40, true },
	};

	add_node(test->priv, 20, 29);
	expect_walk(test, 10, 40, want, ARRAY_SIZE(want));
}

static void span_overlapping_and_adjacent_nodes_join(struct kunit *test)
{
	static const struct span want[] = {
		{ 0, 9, true }, { 10, 45, false }, { 46, 100, true },
	};

	add_node(test->priv, 10, 20);
	add_node(test->priv, 15, 30);	/* overlaps */
	add_node(test->priv, 31, 40);	/* adjacent */
	add_node(test->priv, 12, 45);	/* reaches furthest, starts inside */
	expect_walk(test, 0, 100, want, ARRAY_SIZE(want));
}

static void span_walk_clipped_to_range(struct kunit *test)
{
	static const struct span want[] = {
		{ 25, 29, false }, { 30, 34, true }, { 35, 37, false },
	};

	add_node(test->priv, 20, 29);
	add_node(test->priv, 35, 50);
	expect_walk(test, 25, 37, want, ARRAY_SIZE(want));
}

static void span_nodes_at_both_ends_of_the_index_space(struct kunit *test)
{
	static const struct span want[] = {
		{ 0, 4, false },
		{ 5, ULONG_MAX - 5, true },
		{ ULONG_MAX - 4, ULONG_MAX, false },
	};

	add_node(test->priv, 0, 4);
	add_node(test->priv, ULONG_MAX - 4, ULONG_MAX);
	expect_walk(test, 0, ULONG_MAX, want, ARRAY_SIZE(want));
}

static void span_single_index_walk(struct kunit *test)
{
	static const struct span want[] = { { 7, 7, false } };

	add_node(test->priv, 5, 9);
	expect_walk(test, 7, 7, want, ARRAY_SIZE(want));
}

static void span_restart_sees_changed_tree(struct kunit *test)
{
	struct span_fixture *f = test->priv;
	struct interval_tree_span_iter iter;

	add_node(f, 10, 19);
	interval_tree_span_iter_first(&iter, &f->root, 0, 50);
	KUNIT_EXPECT_TRUE(test, iter.is_hole);
	KUNIT_EXPECT_EQ(test, iter.last, 9UL);

	/* The hole gets filled; continuing from it sees the new node */
	add_node(f, 0, 9);
	interval_tree_span_iter_restart(&iter, 0);
	KUNIT_EXPECT_FALSE(test, iter.is_hole);
	KUNIT_EXPECT_EQ(test, iter.start, 0UL);
	KUNIT_EXPECT_EQ(test, iter.last, 19UL);

	interval_tree_span_iter_next(&iter);
	KUNIT_EXPECT_TRUE(test, iter.is_hole);
	KUNIT_EXPECT_EQ(test, iter.start, 20UL);
	KUNIT_EXPECT_EQ(test, iter.last, 50UL);

	interval_tree_span_iter_next(&iter);
	KUNIT_EXPECT_TRUE(test, iter.done);
}

static void span_empty_walk_is_done(struct kunit *test)
{
	struct span_fixture *f = test->priv;
	struct interval_tree_span_iter iter;

	interval_tree_span_iter_first(&iter, &f->root, 5, 4);
	KUNIT_EXPECT_TRUE(test, iter.done);
}

static struct kunit_case span_cases[] = {
	KUNIT_CASE(span_empty_tree_is_one_hole),
	KUNIT_CASE(span_node_inside_splits_walk),
	KUNIT_CASE(span_overlapping_and_adjacent_nodes_join),
	KUNIT_CASE(span_walk_clipped_to_range),
	KUNIT_CASE(span_nodes_at_both_ends_of_the_index_space),
	KUNIT_CASE(span_single_index_walk),
	KUNIT_CASE(span_restart_sees_changed_tree),
	KUNIT_CASE(span_empty_walk_is_done),
	{}
};

static struct kunit_suite span_suite = {
	.name = "interval_tree_span",
	.init = span_init,
	.test_cases = span_cases,
};

kunit_test_suite(span_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests of the interval tree span iterator");
