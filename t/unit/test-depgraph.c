/* test-depgraph.c: cycles in `requires`. */
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

Test(depgraph, a_requirement_listed_twice_is_no_cycle)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(2);

	edge(g, 0, 1);
	edge(g, 0, 1);
	cr_assert_eq(depgraph_cycles(g, NULL, NULL), 0);
}

Test(depgraph, an_empty_graph_has_no_cycle)
{
	CLEANUP(depgraph_freep) struct depgraph *g = graph(0);
	struct seen s = {0};

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

	edge(g, 0, 1);
	edge(g, 1, 1);
	cr_assert_eq(depgraph_cycles(g, on_cycle, &s), 1);
	cr_assert_eq(s.count, 1);
	cr_assert_eq(s.len[0], 1);
	cr_assert_eq(s.cycle[0][0], 1);
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

Test(depgraph, a_long_chain_is_searched_without_trouble)
{
	enum { N = 2000 };
	CLEANUP(depgraph_freep) struct depgraph *g = graph(N);

	for (size_t i = 0; i + 1 < N; i++)
		edge(g, i, i + 1);
	cr_assert_eq(depgraph_cycles(g, NULL, NULL), 0);
	edge(g, N - 1, 0);
	cr_assert_eq(depgraph_cycles(g, NULL, NULL), 1);
}

Test(depgraph, free_accepts_null)
{
	cr_assert_null(depgraph_free(NULL));
}
