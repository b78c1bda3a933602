/* log-rotate.c: log file generations and the rename order that shifts them. */
#include "log-rotate.h"

#include <errno.h>
#include <stdio.h>

int log_rotate_name(const char *base, unsigned k, char *buf, size_t size)
{
	int n = k == 0 ? snprintf(buf, size, "%s", base) : snprintf(buf, size, "%s.%u", base, k);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return n;
}

bool log_rotate_due(uint64_t size, uint64_t add, uint64_t max)
{
	return max > 0 && size > 0 && add > max - (size < max ? size : max);
}

bool log_rotate_step(unsigned keep, unsigned i, struct log_rotate_step *ret)
{
	if (keep == 0) {
		if (i > 0)
			return false;
		*ret = (struct log_rotate_step){.from = 0, .unlink = true};
		return true;
	}
	if (i >= keep)
		return false;
	/* Oldest first, so that no generation is overwritten before it moved on. */
	*ret = (struct log_rotate_step){.from = keep - 1 - i, .to = keep - i};
	return true;
}
