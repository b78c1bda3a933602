/* depgraph.c: the graph of `requires` and its cycles (Tarjan). */
#include "depgraph.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "macro.h"

struct node {
	size_t *edges; /* the nodes this one requires */
	size_t n_edges, cap;
};

struct depgraph {
	size_t n;
	struct node *nodes;
};

int depgraph_new(size_t n, struct depgraph **ret)
{
	struct depgraph *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->n = n;
	g->nodes = calloc(n ? n : 1, sizeof(*g->nodes));
	if (!g->nodes) {
		free(g);
		return -ENOMEM;
	}
	*ret = g;
	return 0;
}

struct depgraph *depgraph_free(struct depgraph *g)
{
	if (!g)
		return NULL;
	for (size_t i = 0; i < g->n; i++)
		free(g->nodes[i].edges);
	free(g->nodes);
	free(g);
	return NULL;
}

int depgraph_add_edge(struct depgraph *g, size_t from, size_t to)
{
	struct node *nd = &g->nodes[from];

	if (nd->n_edges == nd->cap) {
		size_t cap = nd->cap ? nd->cap * 2 : 4;
		size_t *e = realloc(nd->edges, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		nd->edges = e;
		nd->cap = cap;
	}
	nd->edges[nd->n_edges++] = to;
	return 0;
}

/* Tarjan's algorithm, recursive: the depth is bounded by the number of services,
 * which config.c caps. */
struct tarjan {
	const struct depgraph *g;
	size_t *index, *low, *stack, *comp; /* comp: component id of each node */
	bool *on_stack;
	size_t next_index, sp, n_comps;
};

#define UNVISITED ((size_t)-1)

static void strongconnect(struct tarjan *t, size_t v)
{
	const struct node *nd = &t->g->nodes[v];

	t->index[v] = t->low[v] = t->next_index++;
	t->stack[t->sp++] = v;
	t->on_stack[v] = true;
	for (size_t i = 0; i < nd->n_edges; i++) {
		size_t w = nd->edges[i];
		if (t->index[w] == UNVISITED) {
			strongconnect(t, w);
			t->low[v] = MIN(t->low[v], t->low[w]);
		} else if (t->on_stack[w])
			t->low[v] = MIN(t->low[v], t->index[w]);
	}
	if (t->low[v] != t->index[v])
		return;
	for (;;) {
		size_t w = t->stack[--t->sp];
		t->on_stack[w] = false;
		t->comp[w] = t->n_comps;
		if (w == v)
			break;
	}
	t->n_comps++;
}

/* Finds the shortest cycle from @start back to itself inside its component with a
 * breadth-first search; writes it to @cycle and returns its length. */
static size_t find_cycle(const struct depgraph *g, const size_t *comp, size_t start, size_t *queue,
			 size_t *parent, size_t *cycle)
{
	size_t head = 0, tail = 0, len = 0;

	for (size_t i = 0; i < g->n; i++)
		parent[i] = UNVISITED;
	queue[tail++] = start;
	while (head < tail) {
		size_t v = queue[head++];
		const struct node *nd = &g->nodes[v];

		for (size_t i = 0; i < nd->n_edges; i++) {
			size_t w = nd->edges[i];
			if (comp[w] != comp[start])
				continue;
			if (w == start) {
				/* Walk back from v to start, then reverse into requirement order.
				 */
				for (size_t u = v; u != UNVISITED && u != start; u = parent[u])
					cycle[len++] = u;
				cycle[len++] = start;
				for (size_t a = 0, b = len - 1; a < b; a++, b--) {
					size_t tmp = cycle[a];
					cycle[a] = cycle[b];
					cycle[b] = tmp;
				}
				return len;
			}
			if (parent[w] == UNVISITED && w != start) {
				parent[w] = v;
				queue[tail++] = w;
			}
		}
	}
	return 0; /* unreachable for a start inside a cycle */
}

int depgraph_cycles(const struct depgraph *g, depgraph_cycle_fn *fn, void *userdata)
{
	size_t n = g->n ? g->n : 1;
	CLEANUP_FREE size_t *index = malloc(n * sizeof(size_t));
	CLEANUP_FREE size_t *low = malloc(n * sizeof(size_t));
	CLEANUP_FREE size_t *stack = malloc(n * sizeof(size_t));
	CLEANUP_FREE size_t *comp = malloc(n * sizeof(size_t));
	CLEANUP_FREE size_t *comp_size = calloc(n, sizeof(size_t));
	CLEANUP_FREE bool *on_stack = calloc(n, sizeof(bool));
	CLEANUP_FREE bool *reported = calloc(n, sizeof(bool));
	struct tarjan t = {.g = g};
	int count = 0;

	if (!index || !low || !stack || !comp || !comp_size || !on_stack || !reported)
		return -ENOMEM;
	t = (struct tarjan){.g = g,
			    .index = index,
			    .low = low,
			    .stack = stack,
			    .comp = comp,
			    .on_stack = on_stack};
	for (size_t v = 0; v < g->n; v++)
		index[v] = UNVISITED;
	for (size_t v = 0; v < g->n; v++)
		if (index[v] == UNVISITED)
			strongconnect(&t, v);
	for (size_t v = 0; v < g->n; v++)
		comp_size[comp[v]]++;

	/* Report each cyclic component once, from its lowest-numbered node, so the
	 * output is stable. The queue and parent arrays reuse index and low. */
	for (size_t v = 0; v < g->n; v++) {
		bool self = false;
		size_t len;

		for (size_t i = 0; i < g->nodes[v].n_edges; i++)
			self |= g->nodes[v].edges[i] == v;
		if (reported[comp[v]] || (comp_size[comp[v]] < 2 && !self))
			continue;
		reported[comp[v]] = true;
		len = find_cycle(g, comp, v, index, low, stack);
		if (fn)
			fn(stack, len, userdata);
		count++;
	}
	return count;
}
