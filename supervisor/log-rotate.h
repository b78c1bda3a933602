/* log-rotate.h: when a log file rotates and what it is renamed to (NAME.log,
 * NAME.log.1 ... NAME.log.N). Pure: names and decisions, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes the name of generation @k of @base to @buf: @base itself for 0, "@base.K"
 * otherwise. Returns its length, or -ENAMETOOLONG when @size is too small. */
int log_rotate_name(const char *base, unsigned k, char *buf, size_t size);

/* True when @add more bytes would take a file of @size bytes past @max, so it must
 * rotate first. Never for an empty file (a line longer than @max gets a file of its
 * own) nor with @max = 0 (no rotation). */
bool log_rotate_due(uint64_t size, uint64_t add, uint64_t max);

/* One step of a rotation: rename generation @from onto @to (replacing it), or, with
 * @unlink, remove generation @from. */
struct log_rotate_step {
	unsigned from, to;
	bool unlink;
};

/* The @i-th step (from 0) of rotating with @keep old files kept: NAME.log.(keep-1)
 * onto NAME.log.(keep), ..., NAME.log onto NAME.log.1; with @keep = 0 NAME.log is
 * removed. Returns false past the last step. */
bool log_rotate_step(unsigned keep, unsigned i, struct log_rotate_step *ret);
