/* printable.h: text from outside (a service's STATUS=, a probe's output) made safe for
 * vigild's log, the API and a terminal: valid UTF-8 without control characters. */
#pragma once

#include <stddef.h>

/* Copies @len bytes of @src into @dst (@size bytes, at least 1) as printable UTF-8:
 * each control character (C0, DEL and C1, a NUL included) becomes @control, each byte
 * that is not valid UTF-8 '?', and a cut (when @dst is full) never splits a character.
 * Always NUL-terminates @dst. Returns the length written. */
size_t printable_copy(char *dst, size_t size, const char *src, size_t len, char control);

/* Replaces, in place, each byte of the NUL-terminated @s that is not part of valid
 * UTF-8 with '?', leaving everything else (control characters too) as it is.
 * Returns how many bytes were replaced. */
size_t printable_fix_utf8(char *s);
