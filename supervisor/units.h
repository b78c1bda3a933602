/* units.h: durations, sizes and percentages as written in vigil.conf. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses "500ms", "10s", "2m", "1h", "1d", "250us", "1m30s", "1.5s"; a bare number
 * means seconds. Writes microseconds to *ret. Returns 0 or -EINVAL/-ERANGE. */
int units_parse_duration(const char *s, uint64_t *ret);
/* Parses "512", "256K", "10M", "1G" (powers of 1024; an optional trailing "B" or "iB").
 * Writes bytes to *ret. Returns 0 or -EINVAL/-ERANGE. */
int units_parse_size(const char *s, uint64_t *ret);
/* Parses "10%" or "0.1" into a fraction in [0, 1]. Returns 0 or -EINVAL/-ERANGE. */
int units_parse_percent(const char *s, double *ret);
/* True when @word is a unit of a duration or a size ("ms", "K", ...): what follows
 * a number written with a space before its unit. */
bool units_is_suffix(const char *word);
/* Writes @usec in the most readable exact unit ("100ms", "30s", "1500ms") into @buf.
 * Returns @buf. */
char *units_format_duration(uint64_t usec, char *buf, size_t size);
