/* test-depgraph.c: cycles in `requires` and the start order. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <criterion/criterion.h>

#include "depgraph.h"
#include "macro.h"

#define MAX_NODES 16

/* What depgraph_cycles() reported, copied out of its callback. */
struct seen {
	size_t count;
	size_t len[MAX_NODES];
	size_t cycle[MAX_NODES][MAX_NODES];
};

static void on_cycle(const size_t *cycle, size_t len, void *userdata)
{
	struct seen *s = userdata;

	cr_assert_lt(s->count, MAX_NODES);
	cr_assert_leq(len, MAX_NODES);
	s->len[s->count] = len;
	memcpy(s->cycle[s->count], cycle, len * sizeof(*cycle));
	s->count++;
}

static struct depgraph *graph(size_t n)
{
	struct depgraph *g = NULL;

	cr_assert_eq(depgraph_new(n, &g), 0);
	cr_assert_not_null(g);
	return g;
}

static void edge(struct depgraph *g, size_t from, size_t to)
{
	cr_assert_eq(depgraph_add_edge(g, from, to), 0);
}

/* Returns the position of @v in @order (of @n nodes); fails when absent. */
static size_t position(const size_t *order, size_t n, size_t v)
{
	for (size_t i = 0; i < n; i++)
		if (order[i] == v)
			return i;
	cr_assert_fail("node %zu is missing from the order", v);
	return n;
}

/* Checks that @order is a permutation of 0..n-1. */
static void assert_permutation(const size_t *order, size_t n)
{
	bool seen[MAX_NODES] = {false};

	for (size_t i = 0; i < n; i++) {
		cr_assert_lt(order[i], n);
		cr_assert_not(seen[order[i]], "node %zu appears twice", order[i]);
		seen[order[i]] = true;
	}
}

/* Checks that the reported cycle @k is a real cycle of @g's edges @edges: each node
 * requires the next, the last requires the first, and no node appears twice. */
static void assert_is_cycle(const struct seen *s, size_t k, const bool edges[][MAX_NODES])
{
	size_t len = s->len[k];
	bool seen[MAX_NODES] = {false};

	cr_assert_gt(len, 0);
	for (size_t i = 0; i < len; i++) {
		size_t a = s->cycle[k][i], b = s->cycle[k][(i + 1) % len];
		cr_assert_not(seen[a], "node %zu appears twice in cycle %zu", a, k);
		seen[a] = true;
		cr_assert(edges[a][b], "cycle %zu has %zu -> %zu, which is no edge", k, a, b);
	}
}

Test(depgraph, nodes_without_edges_keep_index_order)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(4);
	size_t order[4];

	cr_assert_eq(depgraph_order(g, order), 0);
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(order[i], i);
}

Test(depgraph, the_start_order_puts_a_requirement_first)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(2);
	size_t order[2];

	edge(g, 0, 1); /* 0 requires 1 */
	cr_assert_eq(depgraph_order(g, order), 0);
	cr_assert_eq(order[0], 1);
	cr_assert_eq(order[1], 0);
}

Test(depgraph, the_start_order_follows_a_chain_of_requirements)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(4);
	size_t order[4];

	edge(g, 0, 1);
	edge(g, 1, 2);
	edge(g, 2, 3);
	cr_assert_eq(depgraph_order(g, order), 0);
	cr_assert_eq(order[0], 3);
	cr_assert_eq(order[1], 2);
	cr_assert_eq(order[2], 1);
	cr_assert_eq(order[3], 0);
}

Test(depgraph, every_node_comes_after_all_it_requires)
{
	/* web requires db and cache, db requires volume, worker requires db, cache
	 * requires nothing, proxy requires web; node 6 is alone. */
	enum { WEB, DB, CACHE, VOLUME, WORKER, PROXY, LONE, N };
	static const size_t edges[][2] = {
		{WEB, DB},
		{WEB, CACHE},
		{DB, VOLUME},
		{WORKER, DB},
		{PROXY, WEB},
	};
	CLEANUP(depgraph_freep) struct depgraph *g = graph(N);
	size_t order[N];

	for (size_t i = 0; i < ELEMENTSOF(edges); i++)
		edge(g, edges[i][0], edges[i][1]);
	cr_assert_eq(depgraph_order(g, order), 0);
	assert_permutation(order, N);
	for (size_t i = 0; i < ELEMENTSOF(edges); i++)
		cr_assert_gt(position(order, N, edges[i][0]),
			     position(order, N, edges[i][1]),
			     "%zu does not come after %zu",
			     edges[i][0],
			     edges[i][1]);
}

Test(depgraph, a_diamond_starts_its_shared_requirement_once_and_first)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(4);
	size_t order[4];

	edge(g, 0, 1);
	edge(g, 0, 2);
	edge(g, 1, 3);
	edge(g, 2, 3);
	cr_assert_eq(depgraph_order(g, order), 0);
	assert_permutation(order, 4);
	cr_assert_eq(order[0], 3);
	cr_assert_eq(order[3], 0);
}

Test(depgraph, a_requirement_listed_twice_is_harmless)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(2);
	size_t order[2];

	edge(g, 0, 1);
	edge(g, 0, 1);
	cr_assert_eq(depgraph_order(g, order), 0);
	cr_assert_eq(order[0], 1);
	cr_assert_eq(order[1], 0);
	cr_assert_eq(depgraph_cycles(g, NULL, NULL), 0);
}

Test(depgraph, an_empty_graph_has_an_empty_order_and_no_cycle)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(0);
	size_t order[1] = {99};
	struct seen s = {0};

	cr_assert_eq(depgraph_order(g, order), 0);
	cr_assert_eq(depgraph_cycles(g, on_cycle, &s), 0);
	cr_assert_eq(s.count, 0);
}

Test(depgraph, a_graph_without_a_cycle_reports_none)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(5);
	struct seen s = {0};

	edge(g, 0, 1);
	edge(g, 1, 2);
	edge(g, 0, 2);
	edge(g, 3, 4);
	cr_assert_eq(depgraph_cycles(g, on_cycle, &s), 0);
	cr_assert_eq(s.count, 0);
}

Test(depgraph, a_two_node_cycle_is_reported_once_with_its_path)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(3);
	struct seen s = {0};

	edge(g, 0, 1);
	edge(g, 1, 0);
	edge(g, 2, 0); /* 2 requires the cycle but is not in it */
	cr_assert_eq(depgraph_cycles(g, on_cycle, &s), 1);
	cr_assert_eq(s.count, 1);
	cr_assert_eq(s.len[0], 2);
	cr_assert_eq(s.cycle[0][0], 0);
	cr_assert_eq(s.cycle[0][1], 1);
}

Test(depgraph, a_longer_cycle_is_reported_in_requirement_order_from_its_lowest_node)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(5);
	struct seen s = {0};

	/* 3 -> 1 -> 4 -> 2 -> 3, plus 0 outside. */
	edge(g, 3, 1);
	edge(g, 1, 4);
	edge(g, 4, 2);
	edge(g, 2, 3);
	edge(g, 0, 3);
	cr_assert_eq(depgraph_cycles(g, on_cycle, &s), 1);
	cr_assert_eq(s.len[0], 4);
	cr_assert_eq(s.cycle[0][0], 1);
	cr_assert_eq(s.cycle[0][1], 4);
	cr_assert_eq(s.cycle[0][2], 2);
	cr_assert_eq(s.cycle[0][3], 3);
}

Test(depgraph, a_node_that_requires_itself_is_a_cycle_of_one)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(3);
	struct seen s = {0};
	size_t order[3];

	edge(g, 0, 1);
	edge(g, 1, 1);
	cr_assert_eq(depgraph_cycles(g, on_cycle, &s), 1);
	cr_assert_eq(s.count, 1);
	cr_assert_eq(s.len[0], 1);
	cr_assert_eq(s.cycle[0][0], 1);
	cr_assert_eq(depgraph_order(g, order), -ELOOP);
}

Test(depgraph, two_separate_cycles_are_reported_once_each)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(6);
	bool edges[MAX_NODES][MAX_NODES] = {{false}};
	static const size_t list[][2] = {{0, 1}, {1, 0}, {2, 3}, {3, 4}, {4, 2}, {5, 4}};
	struct seen s = {0};

	for (size_t i = 0; i < ELEMENTSOF(list); i++) {
		edge(g, list[i][0], list[i][1]);
		edges[list[i][0]][list[i][1]] = true;
	}
	cr_assert_eq(depgraph_cycles(g, on_cycle, &s), 2);
	cr_assert_eq(s.count, 2);
	cr_assert_eq(s.len[0], 2);
	cr_assert_eq(s.cycle[0][0], 0);
	cr_assert_eq(s.len[1], 3);
	cr_assert_eq(s.cycle[1][0], 2);
	assert_is_cycle(&s, 0, edges);
	assert_is_cycle(&s, 1, edges);
}

Test(depgraph, a_cycle_with_a_chord_is_still_reported_once)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(4);
	bool edges[MAX_NODES][MAX_NODES] = {{false}};
	static const size_t list[][2] = {{0, 1}, {1, 2}, {2, 3}, {3, 0}, {2, 0}, {1, 3}};
	struct seen s = {0};

	for (size_t i = 0; i < ELEMENTSOF(list); i++) {
		edge(g, list[i][0], list[i][1]);
		edges[list[i][0]][list[i][1]] = true;
	}
	cr_assert_eq(depgraph_cycles(g, on_cycle, &s), 1);
	cr_assert_eq(s.count, 1);
	assert_is_cycle(&s, 0, edges);
	/* The shortest way round from 0: 0 -> 1 -> 2 -> 0. */
	cr_assert_eq(s.len[0], 3);
	cr_assert_eq(s.cycle[0][0], 0);
}

Test(depgraph, a_self_loop_and_a_separate_cycle_are_two_cycles)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(4);
	struct seen s = {0};

	edge(g, 0, 0);
	edge(g, 2, 3);
	edge(g, 3, 2);
	cr_assert_eq(depgraph_cycles(g, on_cycle, &s), 2);
	cr_assert_eq(s.len[0], 1);
	cr_assert_eq(s.cycle[0][0], 0);
	cr_assert_eq(s.len[1], 2);
	cr_assert_eq(s.cycle[1][0], 2);
	cr_assert_eq(s.cycle[1][1], 3);
}

Test(depgraph, cycles_may_be_counted_without_a_callback)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(3);

	edge(g, 0, 1);
	edge(g, 1, 0);
	edge(g, 2, 2);
	cr_assert_eq(depgraph_cycles(g, NULL, NULL), 2);
}

Test(depgraph, the_start_order_refuses_a_cycle)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(3);
	size_t order[3];

	edge(g, 0, 1);
	edge(g, 1, 2);
	edge(g, 2, 1);
	cr_assert_eq(depgraph_order(g, order), -ELOOP);
}

Test(depgraph, a_long_chain_orders_without_trouble)
{
	enum { N = 2000 };
	CLEANUP(depgraph_freep) struct depgraph *g = graph(N);
	CLEANUP_FREE size_t *order = calloc(N, sizeof(size_t));

	cr_assert_not_null(order);
	for (size_t i = 0; i + 1 < N; i++)
		edge(g, i, i + 1);
	cr_assert_eq(depgraph_cycles(g, NULL, NULL), 0);
	cr_assert_eq(depgraph_order(g, order), 0);
	for (size_t i = 0; i < N; i++)
		cr_assert_eq(order[i], N - 1 - i);
}

Test(depgraph, free_accepts_null)
{
	cr_assert_null(depgraph_free(NULL));
}
