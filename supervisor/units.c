/* units.c: durations, sizes and percentages as written in vigil.conf. */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

struct unit {
	const char *suffix;
	uint64_t factor;
};

/* Longest suffixes first so "ms" is not read as "m". */
static const struct unit duration_units[] = {
	{"usec", 1},
	{"msec", MSEC},
	{"min", 60 * SEC},
	{"sec", SEC},
	{"us", 1},
	{"ms", MSEC},
	{"s", SEC},
	{"m", 60 * SEC},
	{"h", 3600 * SEC},
	{"d", 86400 * SEC},
};

static const struct unit size_units[] = {
	{"KiB", 1ULL << 10},
	{"MiB", 1ULL << 20},
	{"GiB", 1ULL << 30},
	{"KB", 1ULL << 10},
	{"MB", 1ULL << 20},
	{"GB", 1ULL << 30},
	{"K", 1ULL << 10},
	{"M", 1ULL << 20},
	{"G", 1ULL << 30},
	{"B", 1},
};

bool units_is_suffix(const char *word)
{
	for (size_t i = 0; i < ELEMENTSOF(duration_units); i++)
		if (STREQ(word, duration_units[i].suffix))
			return true;
	for (size_t i = 0; i < ELEMENTSOF(size_units); i++)
		if (STREQ(word, size_units[i].suffix))
			return true;
	return false;
}

/* Reads one unsigned decimal number (with an optional fraction) at *p. */
static int read_number(const char **p, double *ret)
{
	char buf[64], *end;
	size_t len = strspn(*p, "0123456789.");
	double v;

	/* Plain decimals only: strtod alone would also take "0x10" and "1e3". */
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, *p, len);
	buf[len] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	if (end != buf + len || errno != 0 || !isfinite(v))
		return -EINVAL;
	*p += len;
	*ret = v;
	return 0;
}

static const struct unit *read_unit(const char **p, const struct unit *units, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(units[i].suffix);
		if (strncmp(*p, units[i].suffix, len) == 0 && !isalpha((unsigned char)(*p)[len])) {
			*p += len;
			return &units[i];
		}
	}
	return NULL;
}

int units_parse_duration(const char *s, uint64_t *ret)
{
	const char *p = s;
	double total = 0;

	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return -EINVAL;
	while (*p) {
		const struct unit *u;
		double v;

		if (read_number(&p, &v) < 0)
			return -EINVAL;
		while (isspace((unsigned char)*p))
			p++;
		u = read_unit(&p, duration_units, ELEMENTSOF(duration_units));
		if (!u) {
			/* A bare number is seconds, as in systemd; only as the whole value. */
			if (*p || p != s + strlen(s) || total != 0)
				return -EINVAL;
			total = v * (double)SEC;
			break;
		}
		total += v * (double)u->factor;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (total >= (double)UINT64_MAX / 2)
		return -ERANGE;
	*ret = (uint64_t)(total + 0.5); /* 0 <= total < 2^63 */
	return 0;
}

int units_parse_size(const char *s, uint64_t *ret)
{
	const char *p = s;
	const struct unit *u;
	double v;

	while (isspace((unsigned char)*p))
		p++;
	if (read_number(&p, &v) < 0)
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	u = *p ? read_unit(&p, size_units, ELEMENTSOF(size_units)) : NULL;
	if (*p && !u)
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	if (*p)
		return -EINVAL;
	v *= u ? (double)u->factor : 1.0;
	if (v >= (double)(1ULL << 62))
		return -ERANGE;
	*ret = (uint64_t)(v + 0.5); /* 0 <= v < 2^62 */
	return 0;
}

int units_parse_percent(const char *s, double *ret)
{
	const char *p = s;
	bool percent = false;
	double v;

	while (isspace((unsigned char)*p))
		p++;
	if (read_number(&p, &v) < 0)
		return -EINVAL;
	if (*p == '%') {
		percent = true;
		p++;
	}
	if (*p)
		return -EINVAL;
	if (percent)
		v /= 100.0;
	if (v < 0 || v > 1)
		return -ERANGE;
	*ret = v;
	return 0;
}

char *units_format_duration(uint64_t usec, char *buf, size_t size)
{
	static const struct unit units[] = {
		{"h", 3600 * SEC},
		{"m", 60 * SEC},
		{"s", SEC},
		{"ms", MSEC},
		{"us", 1},
	};

	if (usec == 0) {
		snprintf(buf, size, "0s");
		return buf;
	}
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (usec % units[i].factor == 0) {
			snprintf(buf,
				 size,
				 "%llu%s",
				 (unsigned long long)(usec / units[i].factor),
				 units[i].suffix);
			return buf;
		}
	return buf; /* unreachable: every value is a whole number of µs */
}
