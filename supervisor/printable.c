/* printable.c: text from outside made printable (see printable.h). */
#include "printable.h"

#include <stdbool.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), or 0 if invalid. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* C0 and DEL, and C1 (U+0080..U+009F): a terminal acts on U+009B (CSI) as on ESC [. */
static bool is_control(const unsigned char *s, size_t n)
{
	if (n == 1)
		return s[0] < 0x20 || s[0] == 0x7f;
	return n == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

size_t printable_copy(char *dst, size_t size, const char *src, size_t len, char control)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0;

	while (i < len) {
		size_t n = utf8_sequence(s + i, len - i);

		if (n == 0 || is_control(s + i, n)) {
			if (o + 1 >= size)
				break;
			dst[o++] = n == 0 ? '?' : control;
			i += n == 0 ? 1 : n;
			continue;
		}
		if (o + n >= size)
			break;
		memcpy(dst + o, s + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return o;
}

size_t printable_fix_utf8(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t len = strlen(s), fixed = 0;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence(p + i, len - i);

		if (n == 0) {
			p[i++] = '?';
			fixed++;
		} else
			i += n;
	}
	return fixed;
}
