/* control.h: the control API of SPEC §7: libmicrohttpd driven from the sd-event
 * loop, on the unix socket and on the optional TCP listener (`http-listen`). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct manager;
struct control;

// clang-format off
#define CONTROL_BODY_MAX        (64 * 1024) /* larger request bodies get 413 */
#define CONTROL_CONNECTIONS_MAX 256         /* per listener; more wait in the backlog */
#define CONTROL_STREAMS_MAX     64          /* open GET /v1/events at once */
#define CONTROL_TIMEOUT_SEC     10          /* an idle or stalled connection is closed, and
						* a request must be whole this long after the
						* connection or the last answer */
#define CONTROL_PER_IP_MAX      32          /* TCP connections from one address */
#define CONTROL_NAME_MAX        64          /* the longest service name in a path */
// clang-format on

struct control_options {
	const char *socket_path; /* absolute, see listen_socket_path() */
	const char *group;       /* control-group, or NULL */
	bool group_nss;          /* named by the user: looked up through NSS; the default
				  * group is looked up in /etc/group only */
	const char *http_listen; /* "HOST:PORT", or NULL for no TCP listener */
};

/* Listens on @o's sockets and serves the API of @m from @m's event loop; registers
 * itself as the manager's event listener. Logs what fails. Returns 0, or a negative
 * errno (-EADDRINUSE: another vigild answers on the socket). */
int control_new(struct manager *m, const struct control_options *o, struct control **ret);
/* Closes every connection, ends the event streams, removes the socket file.
 * Accepts NULL, returns NULL. */
struct control *control_free(struct control *c);

/* ---- routing, exported for its unit test ---- */

enum control_route_flags {
	CONTROL_ROUTE_MUTATES = 1 << 0, /* needs an authorized peer (SO_PEERCRED) */
	CONTROL_ROUTE_TCP = 1 << 1,     /* also served on the TCP listener */
};

struct control_match {
	const struct control_route *route;
	const char *pattern;             /* "/v1/services/ * /start" without the spaces */
	unsigned flags;                  /* enum control_route_flags */
	char name[CONTROL_NAME_MAX + 1]; /* what the '*' matched */
	char allow[32];                  /* with -EOPNOTSUPP: "GET, POST" */
};

/* Finds the route for @method and @path (no query string); @tcp: only routes the TCP
 * listener serves. HEAD matches GET routes. Returns 0, -ENOENT (404) or
 * -EOPNOTSUPP (405, with ret->allow). */
int control_route_find(const char *method, const char *path, bool tcp, struct control_match *ret);

/* ---- query arguments of GET /v1/services/NAME/logs, exported for their tests ---- */

// clang-format off
#define CONTROL_LOG_LINES     100     /* lines of the tail without ?lines= */
#define CONTROL_LOG_LINES_MAX 1000000 /* a larger ?lines= is cut to this */
// clang-format on

/* Parses ?lines=N: @v NULL (absent) gives CONTROL_LOG_LINES, a number above
 * CONTROL_LOG_LINES_MAX gives the maximum. Returns 0 with *ret set, or -EINVAL. */
int control_parse_lines(const char *v, size_t *ret);
/* Parses ?follow=: absent, 0, false or no; 1, true or yes. Returns 0 with *ret set, or
 * -EINVAL. */
int control_parse_follow(const char *v, bool *ret);
