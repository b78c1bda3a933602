/* log-split.h: cutting a byte stream into lines. Pure: memory only, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The longest line kept whole; a longer one is cut into pieces of this size, each
 * piece after the first marked as continuing the previous one. */
#define LOG_LINE_MAX (64U * 1024U)

/* Finds the first line in @p[0..@n). Returns the bytes it spans including its
 * newline, with its length (newline excluded) in *ret_len. When the first @max + 1
 * bytes hold no newline, the first @max bytes are a piece of a longer line: returns
 * @max with *ret_len = @max. Returns 0 when @p holds no complete line or piece yet. */
size_t log_split_next(const char *p, size_t n, size_t max, size_t *ret_len);

/* Receives one line (without its newline). @continued: it continues the previous
 * line, which was cut at LOG_LINE_MAX. Returns false to refuse it (a sink is full):
 * the splitter keeps it and every byte after it. */
typedef bool log_line_fn(const char *line, size_t len, bool continued, void *userdata);

/* Bytes between calls: a partial line, or, after a refusal, everything not taken.
 * Zero-initialize; lines are handed out straight from the fed chunk when possible,
 * so only partial lines and refused rests are copied (with memcpy). */
struct log_splitter {
	char *buf;
	size_t len, cap;
	bool stopped;   /* a line was refused: call log_splitter_resume() before feeding */
	bool continued; /* the next line continues a piece already handed out */
};

/* Hands out every line of @p[0..@n) (after what the splitter held) while @fn takes
 * them, and keeps the rest. Must not be called while stopped. Returns 0, or -ENOMEM
 * when the rest could not be kept (then it is lost, and the splitter is empty). */
int log_splitter_feed(struct log_splitter *s, const char *p, size_t n, log_line_fn *fn,
		      void *userdata);
/* Hands out the complete lines held since a refusal. Returns true when nothing but a
 * partial line is left (feeding may go on), false when @fn refused again. */
bool log_splitter_resume(struct log_splitter *s, log_line_fn *fn, void *userdata);
/* End of the stream: hands out everything held, a last line without newline
 * included. Returns true when nothing is left, false when @fn refused. */
bool log_splitter_finish(struct log_splitter *s, log_line_fn *fn, void *userdata);
/* Frees the buffer; the splitter is empty and usable again. */
void log_splitter_clear(struct log_splitter *s);
