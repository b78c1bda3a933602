/* log-format.c: the timestamp and stream prefix of a log line. */
#include "log-format.h"

#include <string.h>
#include <time.h>

#include "macro.h"

const char *log_stream_to_string(enum log_stream s)
{
	return s == LOG_STREAM_ERR ? "err" : "out";
}

size_t log_format_timestamp(uint64_t usec, char *buf)
{
	/* gmtime_r and strftime cost more than the rest of a line: format the date
	 * once per second (lines come in bursts read within the same second). */
	static time_t cached_sec = -1;
	static char cached[20]; /* "2024-05-01T12:00:00" */
	time_t sec = (time_t)(usec / USEC_PER_SEC);
	unsigned ms = (unsigned)(usec % USEC_PER_SEC / USEC_PER_MSEC);

	if (sec != cached_sec) {
		struct tm tm;

		if (!gmtime_r(&sec, &tm) ||
		    strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm) != 19)
			memcpy(cached, "0000-00-00T00:00:00", 19);
		cached_sec = sec;
	}
	memcpy(buf, cached, 19);
	buf[19] = '.';
	buf[20] = (char)('0' + ms / 100);
	buf[21] = (char)('0' + ms / 10 % 10);
	buf[22] = (char)('0' + ms % 10);
	buf[23] = 'Z';
	return LOG_TIMESTAMP_LEN;
}

size_t log_format_prefix(uint64_t usec, enum log_stream s, bool continued, char *buf)
{
	size_t n = log_format_timestamp(usec, buf);

	buf[n++] = ' ';
	memcpy(buf + n, log_stream_to_string(s), 3);
	n += 3;
	if (continued)
		buf[n++] = '+';
	buf[n++] = ' ';
	return n;
}
