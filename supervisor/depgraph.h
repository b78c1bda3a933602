/* depgraph.h: the graph of `requires` and its cycles (a configuration with one is
 * refused; at run time each service waits for what it requires). Pure. */
#pragma once

#include <stddef.h>

#include "macro.h"

struct depgraph;

/* Creates a graph of @n nodes (0..n-1) and no edges. */
int depgraph_new(size_t n, struct depgraph **ret);
/* Accepts NULL, returns NULL. */
struct depgraph *depgraph_free(struct depgraph *g);
DEFINE_CLEANUP(struct depgraph, depgraph_free)
/* Records that node @from requires node @to. Returns 0 or -ENOMEM. */
int depgraph_add_edge(struct depgraph *g, size_t from, size_t to);

/* Calls @fn once per dependency cycle (a strongly connected group of nodes, or a
 * node that requires itself) with one cycle through it, in order, each node once.
 * Returns how many cycles there are (>= 0), or -ENOMEM. */
typedef void depgraph_cycle_fn(const size_t *cycle, size_t len, void *userdata);
int depgraph_cycles(const struct depgraph *g, depgraph_cycle_fn *fn, void *userdata);
