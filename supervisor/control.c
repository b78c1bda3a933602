/* control.c: the control API: a routing table of (method, path, handler) served by
 * libmicrohttpd inside the sd-event loop, peer authorization, and the event streams.
 *
 * Its sources keep sd-event's default priority, that of supervision's timers,
 * signals and pipes: whatever became pending first goes first, and each turn is
 * bounded (CONTROL_ACCEPT_BURST). Below them the API starved while services
 * crash-looped with a short restart-delay, a timer always due: `vigilctl stop`
 * never got an answer. */
#include "control.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "control-json.h"
#include "listen.h"
#include "log.h"
#include "logs.h"
#include "macro.h"
#include "manager.h"
#include "metrics.h"
#include "mhd.h"
#include "service.h"
#include "signame.h"
#include "socket-path.h"

/* Bytes of events kept for streams that read slower than events come; a stream
 * that falls further behind is closed rather than buffered without bound. */
#define CONTROL_RING_SIZE (256 * 1024)
/* A body past CONTROL_BODY_MAX without a Content-Length (chunked) is read and
 * dropped up to this much, to answer 413; beyond, the connection is cut. */
#define CONTROL_DISCARD_MAX (1024 * 1024)
/* Supplementary groups looked at for control-group membership. */
#define CONTROL_PEER_GROUPS_MAX 256
/* libmicrohttpd, once the first client came (mhd.h). */
static const struct mhd_api *mhd;

/* Clients accepted per wakeup, so that a flood of them takes turns with the rest. */
#define CONTROL_ACCEPT_BURST 64
/* After accept() failed for want of fds or memory: when to try again. */
#define CONTROL_ACCEPT_RETRY (250 * USEC_PER_MSEC)

struct http_daemon {
	struct control *ctl;
	struct MHD_Daemon *mhd;  /* NULL until the first client came */
	int fd;                  /* the listening socket: vigild accepts, MHD gets each client */
	sd_event_source *listen; /* accepts on @fd; off at the limit and after a failure */
	sd_event_source *retry;  /* accepting again after a failed accept() */
	sd_event_source *io, *timer;
	sd_event_source *deadline; /* cuts off clients too slow to send a request */
	struct peer *clients;      /* its connections, with their deadlines */
	unsigned connections;      /* open ones, as MHD reports them (on_connection) */
	bool tcp;
	bool accept_failing; /* said once, until an accept() works again */
};

/* An open GET /v1/events (where it is in the ring), or GET .../logs (its reader). */
struct stream {
	struct control *ctl;
	struct MHD_Connection *conn;
	uint64_t pos;
	struct log_reader *reader; /* a log stream; NULL: an event stream */
	bool suspended, gone;
	sd_event_source *hup;       /* watches for the client leaving while suspended */
	struct stream *prev, *next; /* the streams of its kind */
};

struct control {
	struct manager *manager;
	sd_event *event;
	char *socket_path;
	struct listen_unix sock;
	bool have_sock;
	struct http_daemon unix_d, tcp_d;
	sd_event_source *post;    /* re-arms the daemons' timers */
	sd_event_source *flush;   /* wakes the event streams */
	sd_event_source *recheck; /* looks at the socket's file after a reload */
	gid_t group;
	char *group_name;
	bool group_nss; /* @group_name named by the user: looked up through NSS */
	uid_t self;

	char *ring; /* CONTROL_RING_SIZE bytes of event lines, once a stream opened */
	uint64_t head;
	struct stream *event_streams, *log_streams;
	unsigned n_event_streams;
	bool closing;
};

/* Who is on the other end of a connection (SO_PEERCRED), and how long it has to send
 * its request: MHD's own timeout only measures silence, so a client sending a byte
 * now and then would hold its connection (and, 256 of them, the API) for ever. */
struct peer {
	bool may_mutate;
	uid_t uid;
	char who[64]; /* "uid U (pid P)", for the log */
	int fd;
	uint64_t deadline;        /* µs: the request must be whole by then; 0: being answered */
	struct peer *prev, *next; /* the daemon's clients */
};
/* The log's name for a client whose credentials are unknown. */
#define PEER_UNKNOWN "an unidentified client"

/* Seconds as 0.000728, not 0.00072800000000000002 (jansson's default is %.17g). */
#define CONTROL_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(9))

/* Per request (MHD's con_cls). */
struct request {
	size_t body_len;
	bool too_large;
	bool replied;
	bool shutdown_after; /* POST /v1/shutdown: start it once the answer is out */
};

/* What a handler gets: size-checked input. */
struct call {
	struct control *ctl;
	struct MHD_Connection *conn;
	const char *name; /* the service name matched by '*' */
	const struct peer *peer;
	bool head; /* HEAD: the answer's headers only */
};

/* What a handler builds: one of a JSON body, a text body or its own response. */
struct reply {
	json_t *json;
	char *text;
	size_t text_len;
	const char *content_type;
	struct MHD_Response *response;
	bool shutdown_after;
};

typedef unsigned route_fn(const struct call *call, struct reply *out);

struct control_route {
	const char *method;
	const char *pattern; /* '*' matches one path segment: the service name */
	route_fn *handler;
	unsigned flags;
};

static unsigned fail(struct reply *out, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static unsigned fail(struct reply *out, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	out->json = error_to_json(msg);
	return status;
}

static unsigned out_of_memory(struct reply *out)
{
	return fail(out, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
}

static struct service *find_service(const struct call *call, struct reply *out, unsigned *status)
{
	struct service *s = manager_find(call->ctl->manager, call->name);

	if (!s)
		*status = fail(out, MHD_HTTP_NOT_FOUND, "no such service '%s'", call->name);
	return s;
}

/* ---- handlers ---- */

static unsigned handle_list(const struct call *call, struct reply *out)
{
	struct service *const *list;
	size_t n = manager_get_services(call->ctl->manager, &list);
	uint64_t now = clock_now(CLOCK_REALTIME);

	out->json = json_array();
	for (size_t i = 0; out->json && i < n; i++)
		if (json_array_append_new(out->json, service_to_json(list[i], false, now)) < 0)
			out->json = (json_decref(out->json), NULL);
	return out->json ? MHD_HTTP_OK : out_of_memory(out);
}

static unsigned handle_show(const struct call *call, struct reply *out)
{
	unsigned status;
	struct service *s = find_service(call, out, &status);

	if (!s)
		return status;
	out->json = service_to_json(s, true, clock_now(CLOCK_REALTIME));
	return out->json ? MHD_HTTP_OK : out_of_memory(out);
}

typedef int request_fn(struct manager *m, struct service *s);

static unsigned request(const struct call *call, struct reply *out, request_fn *fn,
			const char *action)
{
	unsigned status;
	struct service *s = find_service(call, out, &status);
	int r;

	if (!s)
		return status;
	r = fn(call->ctl->manager, s);
	if (r == -EALREADY)
		return fail(out,
			    MHD_HTTP_CONFLICT,
			    "%s is already %s: nothing to %s",
			    call->name,
			    service_state_to_string(service_get_state(s)),
			    action);
	if (r == -ESHUTDOWN)
		return fail(out, MHD_HTTP_SERVICE_UNAVAILABLE, "vigild is shutting down");
	if (r < 0)
		return fail(out, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s: %s", action, strerror(-r));
	log_info("%s: %s requested by %s", call->name, action, call->peer->who);
	out->json = json_pack("{s:s, s:s}", "service", call->name, "action", action);
	return out->json ? MHD_HTTP_ACCEPTED : out_of_memory(out);
}

static unsigned handle_start(const struct call *call, struct reply *out)
{
	return request(call, out, manager_start_service, "start");
}

static unsigned handle_stop(const struct call *call, struct reply *out)
{
	return request(call, out, manager_stop_service, "stop");
}

static unsigned handle_restart(const struct call *call, struct reply *out)
{
	return request(call, out, manager_restart_service, "restart");
}

static unsigned handle_signal(const struct call *call, struct reply *out)
{
	const char *arg = mhd->lookup_connection_value(call->conn, MHD_GET_ARGUMENT_KIND, "signal");
	unsigned status;
	struct service *s = find_service(call, out, &status);
	int sig, r;

	if (!s)
		return status;
	if (!arg || !arg[0])
		return fail(out, MHD_HTTP_BAD_REQUEST, "missing ?signal=NAME");
	sig = signame_from_string(arg);
	if (sig < 0)
		return fail(out, MHD_HTTP_BAD_REQUEST, "unknown signal '%.32s'", arg);
	r = service_signal(s, sig);
	if (r == -ESRCH)
		return fail(out, MHD_HTTP_CONFLICT, "%s is not running", call->name);
	if (r < 0)
		return fail(out,
			    MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "cannot signal %s: %s",
			    call->name,
			    strerror(-r));
	log_info("%s: SIG%s sent, requested by %s",
		 call->name,
		 signame_to_string(sig) ?: arg,
		 call->peer->who);
	out->json = json_pack(
		"{s:s, s:s}", "service", call->name, "signal", signame_to_string(sig) ?: arg);
	return out->json ? MHD_HTTP_OK : out_of_memory(out);
}

static unsigned handle_reload(const struct call *call, struct reply *out)
{
	struct config_errors errors = {0};
	struct reload_result res = {0};
	int r;

	if (manager_is_shutting_down(call->ctl->manager))
		return fail(out, MHD_HTTP_SERVICE_UNAVAILABLE, "vigild is shutting down");
	log_info("Reloading the configuration, requested by %s", call->peer->who);
	r = manager_reload(call->ctl->manager, &errors, &res);
	if (r < 0) {
		for (size_t i = 0; i < errors.n; i++)
			log_error("%s", errors.lines[i]);
		log_error("Reload failed: nothing changed");
		out->json = config_errors_to_json(&errors);
		config_errors_clear(&errors);
		return out->json ? MHD_HTTP_UNPROCESSABLE_CONTENT : out_of_memory(out);
	}
	out->json = reload_result_to_json(&res);
	reload_result_clear(&res);
	return out->json ? MHD_HTTP_OK : out_of_memory(out);
}

static unsigned handle_shutdown(const struct call *call, struct reply *out)
{
	log_info("Shutdown requested by %s", call->peer->who);
	out->shutdown_after = true;
	out->json = json_pack("{s:s}", "status", "shutting down");
	return out->json ? MHD_HTTP_ACCEPTED : out_of_memory(out);
}

/* Adds {"name","state","why"} to @culprits. */
static int add_culprit(json_t *culprits, const struct service *s, const char *why)
{
	return json_array_append_new(culprits,
				     json_pack("{s:s, s:s, s:s}",
					       "name",
					       service_get_name(s),
					       "state",
					       service_state_to_string(service_get_state(s)),
					       "why",
					       why));
}

/* SPEC §11: unhealthy when an autostart service failed or fails its liveness. */
static unsigned handle_healthz(const struct call *call, struct reply *out)
{
	struct service *const *list;
	size_t n = manager_get_services(call->ctl->manager, &list);
	json_t *culprits = json_array();

	for (size_t i = 0; culprits && i < n; i++) {
		const struct service *s = list[i];

		if (!service_get_config(s)->autostart)
			continue;
		/* One that cannot even be started (a missing binary) is as broken as a
		 * failed one, though backoff keeps trying. */
		if (service_get_state(s) == SERVICE_FAILED ||
		    (service_get_state(s) == SERVICE_BACKOFF && service_start_failed(s)))
			add_culprit(culprits, s, service_get_reason(s));
		else if (STREQ(service_health_to_string(s), "unhealthy"))
			add_culprit(culprits, s, "liveness failing");
	}
	if (!culprits)
		return out_of_memory(out);
	n = json_array_size(culprits);
	out->json =
		json_pack("{s:s, s:o}", "status", n ? "unhealthy" : "healthy", "failing", culprits);
	if (!out->json)
		return out_of_memory(out);
	return n ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
}

/* SPEC §11: not ready while a wanted service is not ready. A service whose run
 * ended with success and no restart due (exited) did its job. */
static unsigned handle_readyz(const struct call *call, struct reply *out)
{
	struct service *const *list;
	size_t n = manager_get_services(call->ctl->manager, &list);
	json_t *culprits = json_array();
	bool stopping = manager_is_shutting_down(call->ctl->manager);

	for (size_t i = 0; culprits && i < n; i++) {
		const struct service *s = list[i];
		enum service_state st = service_get_state(s);

		if (!service_is_wanted(s) || service_is_ready(s))
			continue;
		if (st == SERVICE_EXITED && service_exited_successfully(s))
			continue;
		add_culprit(culprits, s, st == SERVICE_RUNNING ? "readiness failing" : "not ready");
	}
	if (!culprits)
		return out_of_memory(out);
	n = json_array_size(culprits);
	out->json = json_pack("{s:s, s:o}",
			      "status",
			      stopping ? "shutting down"
			      : n      ? "not ready"
				       : "ready",
			      "not_ready",
			      culprits);
	if (!out->json)
		return out_of_memory(out);
	return n || stopping ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
}

static unsigned handle_metrics(const struct call *call, struct reply *out)
{
	if (metrics_render(call->ctl->manager, &out->text, &out->text_len) < 0)
		return out_of_memory(out);
	out->content_type = METRICS_CONTENT_TYPE;
	return MHD_HTTP_OK;
}

/* ---- the event streams ---- */

static void ring_append(struct control *ctl, const char *data, size_t len)
{
	while (len > 0) {
		size_t at = (size_t)(ctl->head % CONTROL_RING_SIZE);
		size_t n = MIN(len, CONTROL_RING_SIZE - at);

		memcpy(ctl->ring + at, data, n);
		ctl->head += n;
		data += n;
		len -= n;
	}
}

static void on_event(struct service *s, enum service_state from, const char *reason, void *userdata)
{
	struct control *ctl = userdata;
	char *line;
	json_t *j;

	if (ctl->n_event_streams == 0)
		return;
	j = service_event_to_json(s, from, reason, clock_now(CLOCK_REALTIME));
	line = j ? json_dumps(j, CONTROL_JSON_FLAGS) : NULL;
	json_decref(j);
	if (!line) {
		log_warning("Failed to format an event: out of memory, ignoring");
		return;
	}
	ring_append(ctl, line, strlen(line));
	ring_append(ctl, "\n", 1);
	free(line);
	/* Not from here: this may run inside a request handler, and MHD must not be
	 * entered again from its own callback. */
	(void)sd_event_source_set_enabled(ctl->flush, SD_EVENT_ONESHOT);
}

static int on_stream_hup(sd_event_source *src, int fd, uint32_t revents, void *userdata);

static void stream_suspend(struct stream *st)
{
	const union MHD_ConnectionInfo *ci =
		mhd->get_connection_info(st->conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	mhd->suspend_connection(st->conn);
	st->suspended = true;
	/* MHD does not look at a suspended connection at all: watch for the client
	 * leaving, or its slot would stay taken until the next event. */
	if (ci)
		(void)sd_event_add_io(
			st->ctl->event, &st->hup, ci->connect_fd, EPOLLRDHUP, on_stream_hup, st);
}

static void stream_resume(struct stream *st)
{
	if (!st->suspended)
		return;
	st->hup = sd_event_source_disable_unref(st->hup);
	st->suspended = false;
	mhd->resume_connection(st->conn);
}

/* Resumes the event streams, or with @all the log streams too (at the end). */
static void wake_streams(struct control *ctl, bool all)
{
	for (struct stream *st = ctl->event_streams; st; st = st->next)
		stream_resume(st);
	for (struct stream *st = all ? ctl->log_streams : NULL; st; st = st->next)
		stream_resume(st);
	/* In external-polling mode a resume does not wake the daemon: run it now
	 * (notes §7). */
	mhd->run(ctl->unix_d.mhd);
}

/* At exit, after the loop: gives every stream its last data and its end (the
 * terminating chunk, which tells a client a clean end from vigild going away).
 * One pass of MHD does not always send them all, so it runs again while streams
 * remain, at most 200 ms: a client that stopped reading is not waited for. */
static void end_streams(struct control *ctl)
{
	const union MHD_DaemonInfo *info;

	wake_streams(ctl, true);
	info = mhd->get_daemon_info(ctl->unix_d.mhd, MHD_DAEMON_INFO_EPOLL_FD);
	for (int i = 0; info && i < 20 && (ctl->event_streams || ctl->log_streams); i++) {
		struct pollfd pfd = {.fd = info->epoll_fd, .events = POLLIN};

		(void)poll(&pfd, 1, 10);
		mhd->run(ctl->unix_d.mhd);
	}
}

static int on_stream_hup(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct stream *st = userdata;

	(void)src;
	(void)fd;
	(void)revents;
	st->gone = true;
	stream_resume(st);
	mhd->run(st->ctl->unix_d.mhd);
	return 0;
}

static int on_flush(sd_event_source *src, void *userdata)
{
	(void)src;
	wake_streams(userdata, false);
	return 0;
}

static ssize_t stream_read(void *cls, uint64_t offset, char *buf, size_t max)
{
	struct stream *st = cls;
	struct control *ctl = st->ctl;
	uint64_t avail = ctl->head - st->pos;
	size_t n, at;

	(void)offset;
	if (st->gone)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (avail > CONTROL_RING_SIZE) {
		log_debug("control: an event stream fell %llu bytes behind, closing it",
			  (unsigned long long)avail);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (avail == 0) {
		if (ctl->closing)
			return MHD_CONTENT_READER_END_OF_STREAM;
		stream_suspend(st);
		return 0;
	}
	n = (size_t)MIN(avail, (uint64_t)max);
	at = (size_t)(st->pos % CONTROL_RING_SIZE);
	if (n > CONTROL_RING_SIZE - at)
		n = CONTROL_RING_SIZE - at; /* the rest on the next call */
	memcpy(buf, ctl->ring + at, n);
	st->pos += n;
	return (ssize_t)n;
}

/* The list @st belongs in: a log stream has its reader from the start. */
static struct stream **stream_list(struct stream *st)
{
	return st->reader ? &st->ctl->log_streams : &st->ctl->event_streams;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;

	st->hup = sd_event_source_disable_unref(st->hup);
	if (st->prev)
		st->prev->next = st->next;
	else
		*stream_list(st) = st->next;
	if (st->next)
		st->next->prev = st->prev;
	if (st->reader)
		log_reader_free(st->reader);
	else
		st->ctl->n_event_streams--;
	free(st);
}

static void stream_link(struct stream *st)
{
	struct stream **list = stream_list(st);

	st->next = *list;
	if (st->next)
		st->next->prev = st;
	*list = st;
	if (!st->reader)
		st->ctl->n_event_streams++;
}

static ssize_t no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_OF_STREAM;
}

/* HEAD of a stream (events, logs): its headers and no body. Its length is unknown
 * until it ends, so no Content-Length: RFC 9110 §8.6 allows none, but not one
 * other than GET's (an empty buffer answered "Content-Length: 0"). Not chunked,
 * and the connection closed after it: libmicrohttpd 0.9.75 would end an empty
 * chunked body, 5 bytes a HEAD answer must not have. */
static unsigned stream_head(struct reply *out, const char *content_type)
{
	out->response =
		mhd->create_response_from_callback(MHD_SIZE_UNKNOWN, 64, no_body, NULL, NULL);
	if (!out->response)
		return out_of_memory(out);
	if (mhd->set_response_options(
		    out->response, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END) != MHD_YES) {
		mhd->destroy_response(out->response);
		out->response = NULL;
		return out_of_memory(out);
	}
	out->content_type = content_type;
	return MHD_HTTP_OK;
}

static unsigned handle_events(const struct call *call, struct reply *out)
{
	struct control *ctl = call->ctl;
	struct stream *st;

	if (call->head)
		return stream_head(out, "application/x-ndjson");
	if (ctl->n_event_streams >= CONTROL_STREAMS_MAX)
		return fail(out,
			    MHD_HTTP_SERVICE_UNAVAILABLE,
			    "too many event streams (at most %d)",
			    CONTROL_STREAMS_MAX);
	if (!ctl->ring && !(ctl->ring = malloc(CONTROL_RING_SIZE)))
		return out_of_memory(out);
	st = calloc(1, sizeof(*st));
	if (!st)
		return out_of_memory(out);
	*st = (struct stream){.ctl = ctl, .conn = call->conn, .pos = ctl->head};
	out->response = mhd->create_response_from_callback(
		MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
	if (!out->response) {
		free(st);
		return out_of_memory(out);
	}
	stream_link(st);
	out->content_type = "application/x-ndjson";
	return MHD_HTTP_OK;
}

/* ---- service logs: a reader on the service's tail, streamed when following ---- */

static void on_log_wake(struct log_reader *r, void *userdata)
{
	struct stream *st = userdata;

	(void)r;
	stream_resume(st);
	/* A resume does not wake the daemon in external-polling mode (notes §7). */
	mhd->run(st->ctl->unix_d.mhd);
}

static ssize_t log_stream_read(void *cls, uint64_t offset, char *buf, size_t max)
{
	struct stream *st = cls;
	ssize_t n;

	(void)offset;
	if (st->gone)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = log_reader_read(st->reader, buf, max);
	if (n > 0)
		return n;
	if (n == 0 || st->ctl->closing)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n != -EAGAIN)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	stream_suspend(st);
	return 0;
}

int control_parse_lines(const char *v, size_t *ret)
{
	char *end;
	unsigned long long n;

	if (!v) {
		*ret = CONTROL_LOG_LINES;
		return 0;
	}
	/* strtoull() skips blanks and takes a sign: " -5" would be a huge count. */
	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (*end || errno)
		return -EINVAL;
	*ret = (size_t)MIN(n, (unsigned long long)CONTROL_LOG_LINES_MAX);
	return 0;
}

int control_parse_follow(const char *v, bool *ret)
{
	if (!v || STREQ(v, "0") || STREQ(v, "false") || STREQ(v, "no"))
		*ret = false;
	else if (STREQ(v, "1") || STREQ(v, "true") || STREQ(v, "yes"))
		*ret = true;
	else
		return -EINVAL;
	return 0;
}

static unsigned handle_logs(const struct call *call, struct reply *out)
{
	const char *f = mhd->lookup_connection_value(call->conn, MHD_GET_ARGUMENT_KIND, "follow");
	const char *l = mhd->lookup_connection_value(call->conn, MHD_GET_ARGUMENT_KIND, "lines");
	bool follow;
	struct service_logs *logs;
	struct stream *st;
	unsigned status;
	size_t lines;
	int r;
	struct service *s = find_service(call, out, &status);

	if (!s)
		return status;
	if (control_parse_follow(f, &follow) < 0)
		return fail(out, MHD_HTTP_BAD_REQUEST, "bad follow '%s' (use 1 or 0)", f);
	if (control_parse_lines(l, &lines) < 0)
		return fail(out, MHD_HTTP_BAD_REQUEST, "bad lines '%s' (a number of lines)", l);
	logs = service_get_logs(s);
	if (!logs)
		return fail(out, MHD_HTTP_NOT_FOUND, "%s: its output is not captured", call->name);
	if (call->head)
		return stream_head(out, "text/plain; charset=utf-8");
	st = calloc(1, sizeof(*st));
	if (!st)
		return out_of_memory(out);
	*st = (struct stream){.ctl = call->ctl, .conn = call->conn};
	r = service_logs_reader_new(logs, lines, follow, on_log_wake, st, &st->reader);
	if (r == -EMFILE) {
		free(st);
		return fail(out,
			    MHD_HTTP_SERVICE_UNAVAILABLE,
			    "%s: too many log readers (at most %d)",
			    call->name,
			    LOGS_READERS_MAX);
	}
	if (r < 0) {
		free(st);
		return out_of_memory(out);
	}
	out->response = mhd->create_response_from_callback(
		MHD_SIZE_UNKNOWN, 16 * 1024, log_stream_read, st, stream_free);
	if (!out->response) {
		log_reader_free(st->reader);
		free(st);
		return out_of_memory(out);
	}
	stream_link(st);
	out->content_type = "text/plain; charset=utf-8";
	return MHD_HTTP_OK;
}

/* ---- routing ---- */

// clang-format off
static const struct control_route routes[] = {
	{"GET",  "/v1/services",           handle_list,     0},
	{"GET",  "/v1/services/*",         handle_show,     0},
	{"POST", "/v1/services/*/start",   handle_start,    CONTROL_ROUTE_MUTATES},
	{"POST", "/v1/services/*/stop",    handle_stop,     CONTROL_ROUTE_MUTATES},
	{"POST", "/v1/services/*/restart", handle_restart,  CONTROL_ROUTE_MUTATES},
	{"POST", "/v1/services/*/signal",  handle_signal,   CONTROL_ROUTE_MUTATES},
	{"GET",  "/v1/services/*/logs",    handle_logs,     0},
	{"GET",  "/v1/events",             handle_events,   0},
	{"POST", "/v1/reload",             handle_reload,   CONTROL_ROUTE_MUTATES},
	{"POST", "/v1/shutdown",           handle_shutdown, CONTROL_ROUTE_MUTATES},
	{"GET",  "/healthz",               handle_healthz,  CONTROL_ROUTE_TCP},
	{"GET",  "/readyz",                handle_readyz,   CONTROL_ROUTE_TCP},
	{"GET",  "/metrics",               handle_metrics,  CONTROL_ROUTE_TCP},
};
// clang-format on

/* Matches @path against @pattern, where '*' stands for one non-empty segment. */
static bool match_pattern(const char *pattern, const char *path, char *name, size_t name_size)
{
	while (*pattern) {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");

			if (n == 0 || n >= name_size)
				return false;
			memcpy(name, path, n);
			name[n] = '\0';
			path += n;
			pattern++;
		} else if (*pattern++ != *path++)
			return false;
	}
	return *path == '\0';
}

int control_route_find(const char *method, const char *path, bool tcp, struct control_match *ret)
{
	bool path_known = false;

	if (STREQ(method, "HEAD"))
		method = "GET";
	ret->allow[0] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
		const struct control_route *r = &routes[i];

		if (tcp && !(r->flags & CONTROL_ROUTE_TCP))
			continue;
		if (!match_pattern(r->pattern, path, ret->name, sizeof(ret->name)))
			continue;
		if (STREQ(r->method, method)) {
			ret->route = r;
			ret->pattern = r->pattern;
			ret->flags = r->flags;
			return 0;
		}
		if (!strstr(ret->allow, r->method)) {
			size_t len = strlen(ret->allow);
			/* HEAD is answered wherever GET is. */
			snprintf(ret->allow + len,
				 sizeof(ret->allow) - len,
				 "%s%s%s",
				 len ? ", " : "",
				 r->method,
				 STREQ(r->method, "GET") ? ", HEAD" : "");
		}
		path_known = true;
	}
	return path_known ? -EOPNOTSUPP : -ENOENT;
}

/* ---- requests ---- */

static bool in_groups(const gid_t *groups, size_t n, gid_t g)
{
	for (size_t i = 0; i < n; i++)
		if (groups[i] == g)
			return true;
	return false;
}

/* Looks at who connected: root, vigild's own user and members of control-group may
 * change things (SPEC §7). */
static void peer_identify(const struct control *ctl, int fd, struct peer *p)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
		log_debug_errno(-errno, "control: Failed to read the peer's credentials");
		return;
	}
	p->uid = uc.uid;
	/* A client in a pid namespace vigild cannot see into (vigild in a container,
	 * the client on the host) has no pid here: the kernel says 0. */
	if (uc.pid > 0)
		snprintf(p->who, sizeof(p->who), "uid %u (pid %d)", (unsigned)uc.uid, (int)uc.pid);
	else
		snprintf(p->who,
			 sizeof(p->who),
			 "uid %u (outside vigild's pid namespace)",
			 (unsigned)uc.uid);
	p->may_mutate = uc.uid == 0 || uc.uid == ctl->self;
	if (!p->may_mutate && ctl->group != (gid_t)-1) {
		gid_t groups[CONTROL_PEER_GROUPS_MAX];
		socklen_t glen = sizeof(groups);

		p->may_mutate = uc.gid == ctl->group;
		if (!p->may_mutate && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
			p->may_mutate = in_groups(groups, glen / sizeof(gid_t), ctl->group);
	}
}

static void sync_listen(struct http_daemon *d);

/* Cuts off the clients whose request is not whole by its deadline: shutdown() makes
 * MHD see the end of the connection and close it. */
static int on_deadline(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct http_daemon *d = userdata;
	uint64_t next = UINT64_MAX;
	bool cut = false;

	for (struct peer *p = d->clients; p; p = p->next) {
		if (!p->deadline)
			continue;
		if (p->deadline <= usec) {
			log_debug("control: %s took over %d s to send its request: closing",
				  p->who,
				  CONTROL_TIMEOUT_SEC);
			if (p->fd >= 0)
				(void)shutdown(p->fd, SHUT_RDWR);
			p->deadline = 0;
			cut = true;
		} else if (p->deadline < next)
			next = p->deadline;
	}
	if (next != UINT64_MAX) {
		(void)sd_event_source_set_time(src, next);
		(void)sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	}
	if (cut && d->mhd)
		mhd->run(d->mhd);
	return 0;
}

/* A new connection, or one whose answer has gone: its next request must be whole
 * within CONTROL_TIMEOUT_SEC. */
static void expect_request(struct http_daemon *d, struct peer *p)
{
	uint64_t now;

	if (sd_event_now(d->ctl->event, CLOCK_MONOTONIC, &now) < 0)
		return;
	p->deadline = now + CONTROL_TIMEOUT_SEC * USEC_PER_SEC;
	if (!d->deadline && sd_event_add_time(d->ctl->event,
					      &d->deadline,
					      CLOCK_MONOTONIC,
					      p->deadline,
					      USEC_PER_SEC / 10,
					      on_deadline,
					      d) < 0)
		return;
	/* Every deadline is now + the same time, so a timer already armed is due no
	 * later than this one; on_deadline() re-arms for the earliest left. */
	if (sd_event_source_get_enabled(d->deadline, NULL) > 0)
		return;
	(void)sd_event_source_set_time(d->deadline, p->deadline);
	(void)sd_event_source_set_enabled(d->deadline, SD_EVENT_ONESHOT);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_daemon *d = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			mhd->get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct peer *p = calloc(1, sizeof(*p));

		if (p) {
			snprintf(p->who, sizeof(p->who), d->tcp ? "a TCP client" : PEER_UNKNOWN);
			p->fd = ci ? ci->connect_fd : -1;
			p->next = d->clients;
			if (d->clients)
				d->clients->prev = p;
			d->clients = p;
			expect_request(d, p);
		}
		if (p && ci && !d->tcp)
			peer_identify(d->ctl, ci->connect_fd, p);
		*socket_context = p;
		d->connections++;
	} else {
		struct peer *p = *socket_context;

		if (p) {
			if (p->prev)
				p->prev->next = p->next;
			else
				d->clients = p->next;
			if (p->next)
				p->next->prev = p->prev;
			free(p);
		}
		*socket_context = NULL;
		if (d->connections > 0)
			d->connections--;
		/* A slot is free: the next client may come out of the backlog. */
		sync_listen(d);
	}
}

static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status, struct reply *out,
			     const char *allow)
{
	struct MHD_Response *resp = out->response;
	const char *type = out->content_type;
	enum MHD_Result ret;

	if (!resp && out->json) {
		char *s = json_dumps(out->json, CONTROL_JSON_FLAGS);
		size_t n = s ? strlen(s) : 0;
		char *t = s ? realloc(s, n + 2) : NULL;

		if (t) {
			t[n] = '\n'; /* for people reading curl's output */
			t[n + 1] = '\0';
			resp = mhd->create_response_from_buffer(n + 1, t, MHD_RESPMEM_MUST_FREE);
			if (!resp)
				free(t);
		} else
			free(s);
		type = "application/json";
	} else if (!resp && out->text) {
		resp = mhd->create_response_from_buffer(
			out->text_len, out->text, MHD_RESPMEM_MUST_FREE);
		if (resp)
			out->text = NULL;
	}
	if (!resp) {
		static const char oom[] = "{\"error\":\"out of memory\"}\n";

		resp = mhd->create_response_from_buffer(
			sizeof(oom) - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		type = "application/json";
		if (!resp)
			return MHD_NO;
	}
	out->response = NULL;
	if (type)
		mhd->add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (allow)
		mhd->add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = mhd->queue_response(conn, status, resp);
	mhd->destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_now(struct MHD_Connection *conn, struct request *rq, unsigned status,
				 struct reply *out, const char *allow)
{
	enum MHD_Result ret = queue(conn, status, out, allow);

	rq->replied = true;
	rq->shutdown_after = out->shutdown_after;
	json_decref(out->json);
	free(out->text);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_daemon *d = cls;
	struct request *rq = *con_cls;
	struct reply out = {0};
	struct control_match m;
	const union MHD_ConnectionInfo *ci;
	const struct peer *peer;
	static const struct peer nobody = {.who = PEER_UNKNOWN};
	unsigned status;
	int r;

	(void)version;
	(void)upload_data;
	if (!rq) {
		const char *cl = mhd->lookup_connection_value(
			conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		/* Refuse a large body before reading it; MHD then closes the connection. */
		if (cl && strtoull(cl, NULL, 10) > CONTROL_BODY_MAX) {
			status = fail(&out,
				      MHD_HTTP_CONTENT_TOO_LARGE,
				      "request body too large (at most %d bytes)",
				      CONTROL_BODY_MAX);
			return reply_now(conn, rq, status, &out, NULL);
		}
		return MHD_YES;
	}
	if (rq->replied) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* No endpoint takes a body yet: count it, then drop it. */
		rq->body_len += *upload_data_size;
		*upload_data_size = 0;
		if (rq->body_len > CONTROL_BODY_MAX)
			rq->too_large = true;
		return rq->body_len > CONTROL_DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	/* The request is whole: no deadline while it is answered (a stream may last). */
	ci = mhd->get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci && ci->socket_context)
		((struct peer *)ci->socket_context)->deadline = 0;
	if (rq->too_large) {
		status = fail(&out,
			      MHD_HTTP_CONTENT_TOO_LARGE,
			      "request body too large (at most %d bytes)",
			      CONTROL_BODY_MAX);
		return reply_now(conn, rq, status, &out, NULL);
	}

	r = control_route_find(method, url, d->tcp, &m);
	if (r == -ENOENT) {
		status = fail(
			&out, MHD_HTTP_NOT_FOUND, "no such endpoint: %.16s %.200s", method, url);
		return reply_now(conn, rq, status, &out, NULL);
	}
	if (r == -EOPNOTSUPP) {
		status = fail(&out,
			      MHD_HTTP_METHOD_NOT_ALLOWED,
			      "%.16s is not allowed on %.200s",
			      method,
			      url);
		return reply_now(conn, rq, status, &out, m.allow);
	}
	peer = ci && ci->socket_context ? ci->socket_context : &nobody;
	if ((m.flags & CONTROL_ROUTE_MUTATES) && !peer->may_mutate) {
		log_info("control: denied %s %s to %s", method, url, peer->who);
		if (d->ctl->group != (gid_t)-1)
			status = fail(&out,
				      MHD_HTTP_FORBIDDEN,
				      "permission denied: uid %u is not root, vigild's user or in "
				      "group '%s'",
				      (unsigned)peer->uid,
				      d->ctl->group_name);
		else
			status = fail(&out,
				      MHD_HTTP_FORBIDDEN,
				      "permission denied: uid %u is not root or vigild's user",
				      (unsigned)peer->uid);
		return reply_now(conn, rq, status, &out, NULL);
	}
	status = m.route->handler(&(struct call){.ctl = d->ctl,
						 .conn = conn,
						 .name = m.name,
						 .peer = peer,
						 .head = STREQ(method, "HEAD")},
				  &out);
	return reply_now(conn, rq, status, &out, NULL);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_daemon *d = cls;
	struct request *rq = *con_cls;
	const union MHD_ConnectionInfo *ci =
		mhd->get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	(void)toe;
	if (rq && rq->shutdown_after)
		manager_shutdown(d->ctl->manager, MANAGER_EXIT_OK);
	free(rq);
	*con_cls = NULL;
	/* Kept alive: the next request has its own time. */
	if (ci && ci->socket_context)
		expect_request(d, ci->socket_context);
}

/* ---- libmicrohttpd in the sd-event loop (notes §7) ---- */

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	/* TCP options it sets on every connection, which a unix socket has not: three
	 * lines per request of the control socket, none of them a problem (no Nagle,
	 * nothing to push). */
	if (strstr(msg, "Operation not supported") &&
	    (strstr(msg, "TCP_NODELAY") || strstr(msg, "TCP_CORK")))
		return;
	if (strstr(msg, "Failed to push the data from buffers to the network"))
		return;
	/* Mostly clients that went away: nothing an operator can act on. */
	log_debug("control: %s", msg);
}

static int on_mhd_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct http_daemon *d = userdata;

	(void)src;
	(void)fd;
	(void)revents;
	mhd->run(d->mhd);
	return 0;
}

static int on_mhd_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct http_daemon *d = userdata;

	(void)src;
	(void)usec;
	mhd->run(d->mhd);
	return 0;
}

static void rearm(struct control *ctl, struct http_daemon *d)
{
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t now;

	if (!d->mhd)
		return;
	if (mhd->get_timeout(d->mhd, &ms) != MHD_YES) {
		(void)sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
		return;
	}
	if (sd_event_now(ctl->event, CLOCK_MONOTONIC, &now) < 0)
		return;
	(void)sd_event_source_set_time(d->timer, now + (uint64_t)ms * USEC_PER_MSEC);
	(void)sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
}

/* After every loop iteration: MHD's next deadline may have moved. */
static int on_post(sd_event_source *src, void *userdata)
{
	struct control *ctl = userdata;

	(void)src;
	rearm(ctl, &ctl->unix_d);
	rearm(ctl, &ctl->tcp_d);
	return 0;
}

/* Loads libmicrohttpd if need be and starts @d's daemon, which gets its clients from
 * on_listen(). Logs what fails. */
static int daemon_start(struct http_daemon *d)
{
	struct control *ctl = d->ctl;
	const union MHD_DaemonInfo *info;
	char why[512];
	int r;

	if (!mhd)
		mhd = mhd_load(why, sizeof(why));
	if (!mhd) {
		log_error("Failed to serve the control API: %s", why);
		return -ENOENT;
	}
	d->mhd = mhd->start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_USE_EPOLL |
					   MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
				   0,
				   NULL,
				   NULL,
				   on_request,
				   d,
				   /* the logger must come first */
				   MHD_OPTION_EXTERNAL_LOGGER,
				   on_mhd_log,
				   NULL,
				   MHD_OPTION_NOTIFY_CONNECTION,
				   on_connection,
				   d,
				   MHD_OPTION_NOTIFY_COMPLETED,
				   on_completed,
				   d,
				   MHD_OPTION_CONNECTION_TIMEOUT,
				   (unsigned)CONTROL_TIMEOUT_SEC,
				   MHD_OPTION_CONNECTION_LIMIT,
				   (unsigned)CONTROL_CONNECTIONS_MAX,
				   /* Over TCP one address may not take every slot (0: no
				    * limit; the unix socket's clients are all trusted). */
				   MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				   d->tcp ? (unsigned)CONTROL_PER_IP_MAX : 0U,
				   MHD_OPTION_END);
	if (!d->mhd) {
		r = -errno ?: -EIO;
		goto fail;
	}
	info = mhd->get_daemon_info(d->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	r = info ? sd_event_add_io(ctl->event, &d->io, info->epoll_fd, EPOLLIN, on_mhd_io, d)
		 : -EIO;
	if (r >= 0)
		r = sd_event_add_time(
			ctl->event, &d->timer, CLOCK_MONOTONIC, USEC_INFINITY, 1, on_mhd_timer, d);
	if (r < 0)
		goto fail;
	(void)sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
	(void)sd_event_source_set_description(d->io, d->tcp ? "control-tcp" : "control");
	(void)sd_event_source_set_description(d->timer,
					      d->tcp ? "control-tcp-timer" : "control-timer");
	return 0;
fail:
	log_error_errno(r, "Failed to serve %s", d->tcp ? "the TCP listener" : "the control API");
	d->io = sd_event_source_disable_unref(d->io);
	d->timer = sd_event_source_disable_unref(d->timer);
	if (d->mhd)
		mhd->stop_daemon(d->mhd);
	d->mhd = NULL;
	return r;
}

/* Accepts only while below the connection limit and not waiting to retry: further
 * clients wait in the listen backlog. */
static void sync_listen(struct http_daemon *d)
{
	bool waiting = d->retry && sd_event_source_get_enabled(d->retry, NULL) > 0;
	bool on = !waiting && d->connections < CONTROL_CONNECTIONS_MAX;

	(void)sd_event_source_set_enabled(d->listen, on ? SD_EVENT_ON : SD_EVENT_OFF);
}

/* accept() failed for want of fds, memory or buffers. The socket stays readable, so
 * trying again at once would spin: the clients wait in the backlog meanwhile. */
static void accept_failed(struct http_daemon *d, int err)
{
	uint64_t now;

	if (!d->accept_failing)
		log_warning_errno(
			err,
			"control: Failed to accept a connection, trying again every %llu ms",
			(unsigned long long)(CONTROL_ACCEPT_RETRY / USEC_PER_MSEC));
	d->accept_failing = true;
	if (sd_event_now(d->ctl->event, CLOCK_MONOTONIC, &now) < 0)
		return;
	(void)sd_event_source_set_time(d->retry, now + CONTROL_ACCEPT_RETRY);
	(void)sd_event_source_set_enabled(d->retry, SD_EVENT_ONESHOT);
	sync_listen(d);
}

static int on_accept_retry(sd_event_source *src, uint64_t usec, void *userdata)
{
	(void)src;
	(void)usec;
	sync_listen(userdata); /* the retry source is off now */
	return 0;
}

/* Clients are accepted here and handed to libmicrohttpd (loaded at the first one), so
 * that vigild decides when to stop accepting and may swap the socket (on_reload()). */
static int on_listen(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct http_daemon *d = userdata;

	(void)src;
	(void)revents;
	for (unsigned i = 0; i < CONTROL_ACCEPT_BURST && d->connections < CONTROL_CONNECTIONS_MAX;
	     i++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		int c = accept4(fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				accept_failed(d, -errno);
			break;
		}
		if (d->accept_failing) {
			log_info("control: accepting connections again");
			d->accept_failing = false;
		}
		if (!d->mhd && daemon_start(d) < 0) {
			close(c); /* the client sees the connection closed */
			continue;
		}
		/* MHD owns the connection now; it closes it itself when it cannot take it. */
		if (mhd->add_connection(d->mhd, c, (struct sockaddr *)&sa, len) != MHD_YES)
			log_debug_errno(-errno, "control: Failed to take a connection");
	}
	sync_listen(d);
	/* Read what the new clients sent now rather than at the next wakeup. */
	if (d->mhd)
		mhd->run(d->mhd);
	return 0;
}

/* Watches @fd (taken) for @d's clients. Returns 0 or a negative errno (@fd closed). */
static int daemon_listen(struct http_daemon *d, int fd)
{
	sd_event_source *src = NULL;
	int r;

	r = sd_event_add_io(d->ctl->event, &src, fd, EPOLLIN, on_listen, d);
	if (r < 0) {
		close(fd);
		return r;
	}
	(void)sd_event_source_set_description(src,
					      d->tcp ? "control-tcp-listen" : "control-listen");
	if (d->listen) {
		d->listen = sd_event_source_disable_unref(d->listen);
		close(d->fd);
	}
	d->listen = src;
	d->fd = fd;
	sync_listen(d);
	return 0;
}

/* Holds @fd (taken, also on failure) for @d and waits for the first client. Returns 0
 * or a negative errno. */
static int daemon_prepare(struct control *ctl, struct http_daemon *d, int fd, bool tcp)
{
	int r;

	d->ctl = ctl;
	d->tcp = tcp;
	d->fd = -1;
	r = sd_event_add_time(
		ctl->event, &d->retry, CLOCK_MONOTONIC, USEC_INFINITY, 1000, on_accept_retry, d);
	if (r < 0) {
		close(fd);
		return r;
	}
	(void)sd_event_source_set_enabled(d->retry, SD_EVENT_OFF);
	return daemon_listen(d, fd);
}

static void daemon_stop(struct http_daemon *d)
{
	/* First: closing its connections calls on_connection(), which looks at @listen. */
	if (d->mhd)
		mhd->stop_daemon(d->mhd);
	d->mhd = NULL;
	d->io = sd_event_source_disable_unref(d->io);
	d->timer = sd_event_source_disable_unref(d->timer);
	d->retry = sd_event_source_disable_unref(d->retry);
	d->deadline = sd_event_source_disable_unref(d->deadline);
	if (d->listen) {
		d->listen = sd_event_source_disable_unref(d->listen);
		close(d->fd);
	}
}

/* After each reload (SIGHUP, POST /v1/reload): clients find vigild by the socket's name
 * only, so when the file was removed (a clean-up of /run, by hand) or another file took
 * its place, a new socket is bound there. Connections made before go on. */
static int on_recheck(sd_event_source *src, void *userdata)
{
	struct control *ctl = userdata;
	struct listen_unix l;
	struct stat st;
	const char *why;
	int r;

	(void)src;
	if (stat(ctl->socket_path, &st) == 0) {
		if (st.st_dev == ctl->sock.dev && st.st_ino == ctl->sock.ino)
			return 0;
		why = "another file took its place";
	} else if (errno == ENOENT)
		why = "it was removed";
	else {
		log_debug_errno(
			-errno, "control: Failed to look at '%s', ignoring", ctl->socket_path);
		return 0;
	}
	r = listen_unix(
		ctl->socket_path, ctl->group_name[0] ? ctl->group_name : NULL, ctl->group_nss, &l);
	if (r == -EADDRINUSE)
		log_warning("Failed to create the control socket again at '%s' (%s): another "
			    "vigild answers there, ignoring",
			    ctl->socket_path,
			    why);
	else if (r == -EEXIST)
		log_warning("Failed to create the control socket again at '%s' (%s): the file is "
			    "not a socket, ignoring",
			    ctl->socket_path,
			    why);
	else if (r < 0)
		log_warning_errno(
			r,
			"Failed to create the control socket again at '%s' (%s), ignoring",
			ctl->socket_path,
			why);
	if (r < 0)
		return 0;
	/* Clients that connected to the old socket before its name went are served. */
	if (sd_event_source_get_enabled(ctl->unix_d.listen, NULL) > 0)
		(void)on_listen(ctl->unix_d.listen, ctl->unix_d.fd, EPOLLIN, &ctl->unix_d);
	r = daemon_listen(&ctl->unix_d, l.fd);
	if (r < 0) {
		listen_unix_remove(ctl->socket_path, &l); /* nobody would answer there */
		log_warning_errno(r,
				  "Failed to serve the new control socket '%s', ignoring",
				  ctl->socket_path);
		return 0;
	}
	ctl->sock = l;
	log_info("Re-created the control socket '%s' (%s)", ctl->socket_path, why);
	return 0;
}

/* The manager's reload hook. The check waits for the next loop iteration: a reload
 * may come from a request, inside libmicrohttpd, which then must not be given
 * connections. */
static void on_reload(void *userdata)
{
	struct control *ctl = userdata;

	(void)sd_event_source_set_enabled(ctl->recheck, SD_EVENT_ONESHOT);
}

int control_new(struct manager *m, const struct control_options *o, struct control **ret)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	int r;

	if (!ctl)
		return log_error_errno(-ENOMEM, "Failed to set up the control socket");
	ctl->manager = m;
	ctl->event = manager_get_event(m);
	ctl->self = geteuid();
	ctl->group = (gid_t)-1;
	ctl->socket_path = strdup(o->socket_path);
	ctl->group_name = strdup(o->group ? o->group : "");
	ctl->group_nss = o->group_nss;
	if (!ctl->socket_path || !ctl->group_name) {
		control_free(ctl);
		return log_error_errno(-ENOMEM, "Failed to set up the control socket");
	}

	r = listen_unix(o->socket_path, o->group, o->group_nss, &ctl->sock);
	if (r == -EADDRINUSE)
		log_error("Failed to listen on '%s': another vigild is answering there",
			  o->socket_path);
	else if (r == -EEXIST)
		log_error("Failed to listen on '%s': the file exists and is not a socket",
			  o->socket_path);
	else if (r == -EPERM && socket_in_own_tmp_dir(o->socket_path))
		log_error("Failed to listen on '%s': its directory /tmp/vigil-%u is not a "
			  "directory of this user's with mode 0700",
			  o->socket_path,
			  (unsigned)geteuid());
	else if (r < 0)
		log_error_errno(r, "Failed to listen on '%s'", o->socket_path);
	if (r < 0) {
		control_free(ctl);
		return r;
	}
	ctl->have_sock = true;
	ctl->group = ctl->sock.gid;
	if (ctl->sock.replaced_stale)
		log_info("Replaced the stale socket '%s'", o->socket_path);
	if (ctl->sock.group_error)
		log_warning_errno(ctl->sock.group_error,
				  "Failed to give '%s' to group '%s', ignoring",
				  o->socket_path,
				  o->group);
	r = daemon_prepare(ctl, &ctl->unix_d, ctl->sock.fd, false);
	if (r < 0) {
		log_error_errno(r, "Failed to serve the control API on '%s'", o->socket_path);
		control_free(ctl);
		return r;
	}
	log_info("Listening on %s", o->socket_path);

	if (o->http_listen) {
		char bound[96];
		int fd = -1;

		r = listen_tcp(o->http_listen, &fd, bound, sizeof(bound));
		if (r == -EINVAL)
			log_error("Failed to listen on '%s': not HOST:PORT", o->http_listen);
		else if (r < 0)
			log_error_errno(r, "Failed to listen on '%s'", o->http_listen);
		if (r >= 0) {
			r = daemon_prepare(ctl, &ctl->tcp_d, fd, true);
			if (r < 0)
				log_error_errno(r, "Failed to serve on '%s'", o->http_listen);
		}
		if (r < 0) {
			control_free(ctl);
			return r;
		}
		log_info("Serving /healthz, /readyz and /metrics on %s", bound);
	}

	r = sd_event_add_post(ctl->event, &ctl->post, on_post, ctl);
	if (r >= 0)
		r = sd_event_add_defer(ctl->event, &ctl->flush, on_flush, ctl);
	if (r >= 0)
		r = sd_event_add_defer(ctl->event, &ctl->recheck, on_recheck, ctl);
	if (r < 0) {
		control_free(ctl);
		return log_error_errno(r, "Failed to set up the control socket");
	}
	(void)sd_event_source_set_enabled(ctl->flush, SD_EVENT_OFF);
	(void)sd_event_source_set_description(ctl->flush, "control-events");
	(void)sd_event_source_set_enabled(ctl->recheck, SD_EVENT_OFF);
	(void)sd_event_source_set_description(ctl->recheck, "control-recheck");
	manager_set_event_listener(m, on_event, ctl);
	manager_set_reload_hook(m, on_reload, ctl);
	*ret = ctl;
	return 0;
}

struct control *control_free(struct control *ctl)
{
	if (!ctl)
		return NULL;
	if (ctl->manager) {
		manager_set_event_listener(ctl->manager, NULL, NULL);
		manager_set_reload_hook(ctl->manager, NULL, NULL);
	}
	/* Streams end cleanly, and MHD refuses to stop with suspended connections. */
	ctl->closing = true;
	if (ctl->unix_d.mhd)
		end_streams(ctl);
	daemon_stop(&ctl->unix_d);
	daemon_stop(&ctl->tcp_d);
	if (ctl->have_sock)
		listen_unix_remove(ctl->socket_path, &ctl->sock);
	sd_event_source_disable_unref(ctl->post);
	sd_event_source_disable_unref(ctl->flush);
	sd_event_source_disable_unref(ctl->recheck);
	free(ctl->ring);
	free(ctl->socket_path);
	free(ctl->group_name);
	free(ctl);
	return NULL;
}
