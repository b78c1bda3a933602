/* signame.h: signal names as users write them ("TERM", "SIGTERM", "15"). */
#pragma once

/* Returns the name without "SIG" ("TERM"), or NULL for a number without a name. */
const char *signame_to_string(int signo);
/* Parses "TERM", "SIGTERM", "term" or a number in 1..64. Returns the signal, or -EINVAL. */
int signame_from_string(const char *s);
