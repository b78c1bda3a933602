/* fuzz-notify.c: notify_parse() on any datagram a service may send (SPEC §5). Checks
 * its flags against a second reading of the lines, and that the STATUS= text kept is
 * printable UTF-8 within NOTIFY_STATUS_MAX bytes, equal to what was sent when that is
 * short, printable ASCII. */
#include <stdbool.h>

#include "fuzz.h"
#include "notify.h"

/* Length of the valid UTF-8 character at @s (NUL-terminated), or 0. Written apart
 * from notify.c's on purpose: a second opinion. */
static size_t utf8_char(const unsigned char *s)
{
	unsigned cp, len;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (unsigned i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
		return 0; /* overlong */
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool line_is(const char *line, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(line, lit, n) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *end = buf + size, *status = NULL;
	struct notify_message m;
	bool ready = false, stopping = false, watchdog = false, trigger = false;
	size_t status_len = 0, kept;

	memset(&m, 0xa5, sizeof(m)); /* whatever the caller's struct held before */
	notify_parse(buf, size, &m);

	for (const char *l = buf; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		size_t n = nl ? (size_t)(nl - l) : (size_t)(end - l);

		ready |= line_is(l, n, "READY=1");
		stopping |= line_is(l, n, "STOPPING=1");
		watchdog |= line_is(l, n, "WATCHDOG=1");
		trigger |= line_is(l, n, "WATCHDOG=trigger");
		if (n >= 7 && memcmp(l, "STATUS=", 7) == 0)
			status = l + 7, status_len = n - 7;
		l += n + 1;
	}
	FUZZ_CHECK(m.ready == ready, "READY=1: %d, parsed %d", ready, m.ready);
	FUZZ_CHECK(m.stopping == stopping, "STOPPING=1: %d, parsed %d", stopping, m.stopping);
	FUZZ_CHECK(m.watchdog == watchdog, "WATCHDOG=1: %d, parsed %d", watchdog, m.watchdog);
	FUZZ_CHECK(m.watchdog_trigger == trigger,
		   "WATCHDOG=trigger: %d, parsed %d",
		   trigger,
		   m.watchdog_trigger);
	FUZZ_CHECK(m.has_status == !!status, "STATUS=: %d, parsed %d", !!status, m.has_status);

	kept = strnlen(m.status, sizeof(m.status));
	FUZZ_CHECK(kept <= NOTIFY_STATUS_MAX, "status of %zu bytes", kept);
	for (size_t i = 0; i < kept;) {
		const unsigned char *c = (const unsigned char *)m.status + i;
		size_t n = utf8_char(c);

		FUZZ_CHECK(n > 0, "status byte %zu (0x%02x) is not UTF-8", i, c[0]);
		FUZZ_CHECK(
			n > 1 || (c[0] >= 0x20 && c[0] != 0x7f), "control 0x%02x at %zu", c[0], i);
		i += n;
	}
	if (!status)
		FUZZ_CHECK(kept == 0, "no STATUS=, yet a status of %zu bytes", kept);
	if (status && status_len <= NOTIFY_STATUS_MAX) {
		bool plain = true;

		for (size_t i = 0; i < status_len; i++)
			plain &= status[i] >= 0x20 && status[i] < 0x7f;
		if (plain)
			FUZZ_CHECK(kept == status_len && memcmp(m.status, status, kept) == 0,
				   "a plain status was changed");
	}
	return 0;
}
