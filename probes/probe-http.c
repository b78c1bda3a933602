/* probe-http.c: the http probe: a GET whose status 200-399 passes, through libcurl's
 * multi interface driven by sd-event (socket and timer callbacks). libcurl is loaded
 * with dlopen() on first use, as systemd loads its optional libraries: a vigild
 * without http probes neither maps libcurl and its TLS stack nor pays for loading it,
 * and runs where libcurl is not installed. Only curl's headers are used at build time. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* The gcc type checks turn curl_easy_setopt() into a macro that would also rewrite
 * calls through the function pointers below. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "dlib.h"
#include "macro.h"
#include "probe.h"
#include "units.h"

#define LIBCURL_SONAME  "libcurl.so.4"
#define LIBCURL_PACKAGE "libcurl4"
/* libcurl's timeouts are rounded up to this: a whole batch of transfers then shares
 * one wakeup instead of re-arming the kernel timer after each (timerfd_settime was
 * the largest single cost with 1000 probes a second). */
#define HTTP_TIMER_QUANTUM (5 * MSEC)
/* Ready sockets handled per wakeup; more wait for the next iteration. */
#define HTTP_EVENTS_BATCH 256
/* The body read at most, as the kubelet (maxRespBodyLength): the status decides, and
 * a long or endless body (a stream) neither times the check out nor costs CPU. */
#define HTTP_BODY_MAX (10 * 1024)

/* The functions vigil uses, looked up in the loaded library. */
struct curl_api {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_multi_init) *multi_init;
	__typeof__(curl_multi_setopt) *multi_setopt;
	__typeof__(curl_multi_add_handle) *multi_add_handle;
	__typeof__(curl_multi_remove_handle) *multi_remove_handle;
	__typeof__(curl_multi_socket_action) *multi_socket_action;
	__typeof__(curl_multi_info_read) *multi_info_read;
	__typeof__(curl_multi_assign) *multi_assign;
	__typeof__(curl_multi_cleanup) *multi_cleanup;
	__typeof__(curl_url) *url;
	__typeof__(curl_url_set) *url_set;
	__typeof__(curl_url_get) *url_get;
	__typeof__(curl_url_strerror) *url_strerror;
	__typeof__(curl_url_cleanup) *url_cleanup;
	__typeof__(curl_free) *free;
};

static struct curl_api api;
static bool api_loaded;

/* The one multi handle, shared by every http probe of the loop. */
static struct {
	CURLM *multi;
	sd_event *event;
	sd_event_source *timer;
	sd_event_source *kick; /* "call me at once": a defer source, no timer needed */
	int epoll_fd;          /* the sockets libcurl wants watched */
	sd_event_source *sockets;
	unsigned users;
} shared;

struct http_priv {
	struct probe *probe;
	CURL *easy;
	bool in_multi;
	size_t body_len; /* of the check in flight */
	char error[CURL_ERROR_SIZE];
};

static int http_load(char *why, size_t size)
{
	static const struct dlib_symbol symbols[] = {
#define SYM(f, m) DLIB_SYMBOL(struct curl_api, f, m)
		SYM(curl_global_init, global_init),
		SYM(curl_easy_init, easy_init),
		SYM(curl_easy_setopt, easy_setopt),
		SYM(curl_easy_getinfo, easy_getinfo),
		SYM(curl_easy_cleanup, easy_cleanup),
		SYM(curl_easy_strerror, easy_strerror),
		SYM(curl_multi_init, multi_init),
		SYM(curl_multi_setopt, multi_setopt),
		SYM(curl_multi_add_handle, multi_add_handle),
		SYM(curl_multi_remove_handle, multi_remove_handle),
		SYM(curl_multi_socket_action, multi_socket_action),
		SYM(curl_multi_info_read, multi_info_read),
		SYM(curl_multi_assign, multi_assign),
		SYM(curl_multi_cleanup, multi_cleanup),
		SYM(curl_url, url),
		SYM(curl_url_set, url_set),
		SYM(curl_url_get, url_get),
		SYM(curl_url_strerror, url_strerror),
		SYM(curl_url_cleanup, url_cleanup),
		SYM(curl_free, free),
#undef SYM
	};
	struct curl_api a;
	void *lib;

	if (api_loaded)
		return 0;
	/* Kept loaded for good once it worked; a failure is tried again (at the next
	 * reload, after the package was installed). */
	lib = dlib_load(
		LIBCURL_SONAME, LIBCURL_PACKAGE, symbols, ELEMENTSOF(symbols), &a, why, size);
	if (!lib)
		return -ENOPKG;
	if (a.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(why, size, "cannot initialise libcurl");
		dlclose(lib);
		return -EIO;
	}
	api = a;
	api_loaded = true;
	return 0;
}

/* The URL is parsed by the parser that will read it at each check (libcurl's URL API,
 * which CURLOPT_URL uses), so that what passes here works there. Port 0 parses but
 * cannot be connected to. */
static int http_check(const struct probe_config *cfg, char *why, size_t size)
{
	CURLU *u = api.url();
	CURLUcode uc;
	char *port = NULL;

	if (!u) {
		snprintf(why, size, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	uc = api.url_set(u, CURLUPART_URL, cfg->target, 0);
	if (uc == CURLUE_OK && api.url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK &&
	    strtoul(port, NULL, 10) == 0)
		uc = CURLUE_BAD_PORT_NUMBER;
	api.free(port);
	api.url_cleanup(u);
	if (uc == CURLUE_OK)
		return 0;
	if (uc == CURLUE_BAD_PORT_NUMBER)
		snprintf(why, size, "bad port in '%s' for 'http' (1..65535)", cfg->target);
	else
		snprintf(why,
			 size,
			 "bad URL '%s' for 'http': %s",
			 cfg->target,
			 api.url_strerror(uc));
	return -EINVAL;
}

/* ---- the multi handle on sd-event (notes §8) ---- */

static void finish_transfers(void)
{
	CURLMsg *msg;
	int left;

	while ((msg = api.multi_info_read(shared.multi, &left))) {
		CURL *easy = msg->easy_handle;
		CURLcode res = msg->data.result;
		struct http_priv *h = NULL;
		struct probe *p;
		char why[CURL_ERROR_SIZE + 32], t[32];
		long code = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg is gone once the handle is removed: copy first. */
		(void)api.easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&h);
		(void)api.multi_remove_handle(shared.multi, easy);
		if (!h)
			continue;
		h->in_multi = false;
		p = h->probe;
		/* discard_body() stopped the transfer: the headers came, the status counts. */
		if (res == CURLE_WRITE_ERROR && h->body_len > HTTP_BODY_MAX)
			res = CURLE_OK;
		if (res == CURLE_OK) {
			(void)api.easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
			snprintf(why, sizeof(why), "HTTP %ld", code);
			probe_report(p, code >= 200 && code <= 399 ? PROBE_PASS : PROBE_FAIL, why);
		} else if (res == CURLE_OPERATION_TIMEDOUT) {
			snprintf(why,
				 sizeof(why),
				 "timed out after %s",
				 units_format_duration(probe_get_config(p)->timeout, t, sizeof(t)));
			probe_report(p, PROBE_FAIL, why);
		} else {
			long err = 0;

			/* A refused connection reads as with the tcp probe. */
			(void)api.easy_getinfo(easy, CURLINFO_OS_ERRNO, &err);
			if (res == CURLE_COULDNT_CONNECT && err > 0)
				snprintf(why, sizeof(why), "%s", strerror((int)err));
			else
				snprintf(why,
					 sizeof(why),
					 "%s",
					 h->error[0] ? h->error : api.easy_strerror(res));
			probe_report(p, PROBE_FAIL, why);
		}
	}
}

/* Every ready curl socket of one wakeup, handed to libcurl in one go. sd-event
 * dispatches one source per iteration and polls again in between, so with a source
 * per socket a batch of n ready sockets cost n² readiness reports (that was most of
 * vigild's CPU with 1000 probes a second). */
static int on_sockets(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct epoll_event ev[HTTP_EVENTS_BATCH];
	int n, running;

	(void)src;
	(void)fd;
	(void)revents;
	(void)userdata;
	n = epoll_wait(shared.epoll_fd, ev, (int)ELEMENTSOF(ev), 0);
	for (int i = 0; i < n; i++) {
		int flags = 0;

		if (ev[i].events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (ev[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		(void)api.multi_socket_action(shared.multi, ev[i].data.fd, flags, &running);
	}
	finish_transfers();
	return 0;
}

static void on_timeout(void)
{
	int running;

	(void)api.multi_socket_action(shared.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	finish_transfers();
}

static int on_multi_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	(void)src;
	(void)usec;
	(void)userdata;
	on_timeout();
	return 0;
}

static int on_kick(sd_event_source *src, void *userdata)
{
	(void)src;
	(void)userdata;
	on_timeout();
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: libcurl says which sockets to watch for what. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct epoll_event ev = {.data.fd = fd};
	static char added; /* socketp of a socket in the epoll set: any non-NULL pointer */

	(void)easy;
	(void)userp;
	/* libcurl says this before it closes the socket. */
	if (what == CURL_POLL_REMOVE) {
		(void)epoll_ctl(shared.epoll_fd, EPOLL_CTL_DEL, fd, NULL);
		(void)api.multi_assign(shared.multi, fd, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (socketp)
		return epoll_ctl(shared.epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -1 : 0;
	if (epoll_ctl(shared.epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 &&
	    (errno != EEXIST || epoll_ctl(shared.epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0))
		return -1;
	(void)api.multi_assign(shared.multi, fd, &added);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: libcurl wants to be called back in @ms (-1: never). */
static int on_curl_timer(CURLM *multi, long ms, void *userp)
{
	uint64_t when;

	(void)multi;
	(void)userp;
	if (ms < 0)
		return sd_event_source_set_enabled(shared.timer, SD_EVENT_OFF) < 0 ? -1 : 0;
	if (ms == 0)
		return sd_event_source_set_enabled(shared.kick, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
	/* The clock itself, not the loop's older time: never earlier than asked, a
	 * timeout fires late by at most the quantum. */
	when = clock_now(CLOCK_MONOTONIC) + (uint64_t)ms * MSEC + HTTP_TIMER_QUANTUM - 1;
	when -= when % HTTP_TIMER_QUANTUM;
	(void)sd_event_source_set_time(shared.timer, when);
	return sd_event_source_set_enabled(shared.timer, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
}

static void shared_unref(void)
{
	if (--shared.users > 0)
		return;
	if (shared.multi)
		(void)api.multi_cleanup(shared.multi);
	sd_event_source_disable_unref(shared.timer);
	sd_event_source_disable_unref(shared.kick);
	sd_event_source_disable_unref(shared.sockets);
	if (shared.epoll_fd >= 0)
		close(shared.epoll_fd);
	shared.epoll_fd = -1;
	shared.sockets = NULL;
	sd_event_unref(shared.event);
	shared.multi = NULL;
	shared.timer = NULL;
	shared.kick = NULL;
	shared.event = NULL;
}

static int shared_ref(sd_event *event)
{
	int r;

	if (shared.users++ > 0) {
		/* vigild has one loop; a second one would need a multi handle of its own. */
		if (shared.event != event) {
			shared.users--;
			return -EBUSY;
		}
		return 0;
	}
	shared.event = sd_event_ref(event);
	shared.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (shared.epoll_fd < 0) {
		r = -errno;
		shared_unref();
		return r;
	}
	r = sd_event_add_io(event, &shared.sockets, shared.epoll_fd, EPOLLIN, on_sockets, NULL);
	if (r < 0) {
		shared_unref();
		return r;
	}
	(void)sd_event_source_set_description(shared.sockets, "probe-http");
	r = sd_event_add_time(
		event, &shared.timer, CLOCK_MONOTONIC, USEC_INFINITY, 1, on_multi_timer, NULL);
	if (r < 0) {
		shared_unref();
		return r;
	}
	(void)sd_event_source_set_enabled(shared.timer, SD_EVENT_OFF);
	(void)sd_event_source_set_description(shared.timer, "probe-http-timer");
	r = sd_event_add_defer(event, &shared.kick, on_kick, NULL);
	if (r < 0) {
		shared_unref();
		return r;
	}
	(void)sd_event_source_set_enabled(shared.kick, SD_EVENT_OFF);
	(void)sd_event_source_set_description(shared.kick, "probe-http-kick");
	shared.multi = api.multi_init();
	if (!shared.multi) {
		shared_unref();
		return -ENOMEM;
	}
	(void)api.multi_setopt(shared.multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	(void)api.multi_setopt(shared.multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	return 0;
}

/* ---- the kind ---- */

/* Counts the body and drops it; past HTTP_BODY_MAX a short count ends the transfer. */
static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_priv *h = userdata;

	(void)ptr;
	h->body_len += size * nmemb;
	return h->body_len > HTTP_BODY_MAX ? 0 : size * nmemb;
}

static int http_init(struct probe *p)
{
	struct http_priv *h = probe_get_priv(p);
	const struct probe_config *cfg = probe_get_config(p);
	char why[256];
	int r;

	h->probe = p;
	r = http_load(why, sizeof(why));
	if (r < 0)
		return r;
	r = shared_ref(probe_get_host(p)->event);
	if (r < 0)
		return r;
	h->easy = api.easy_init();
	if (!h->easy) {
		shared_unref();
		return -ENOMEM;
	}
	/* Kubernetes' choices: a new connection per check, no proxy, no redirects
	 * followed (3xx passes), TLS certificates not verified. */
	(void)api.easy_setopt(h->easy, CURLOPT_URL, cfg->target);
	(void)api.easy_setopt(h->easy, CURLOPT_PRIVATE, h);
	(void)api.easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
	(void)api.easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, (long)MAX(cfg->timeout / MSEC, 1));
	(void)api.easy_setopt(h->easy, CURLOPT_FORBID_REUSE, 1L);
	(void)api.easy_setopt(h->easy, CURLOPT_FRESH_CONNECT, 1L);
	(void)api.easy_setopt(h->easy, CURLOPT_PROXY, "");
	(void)api.easy_setopt(h->easy, CURLOPT_SSL_VERIFYPEER, 0L);
	(void)api.easy_setopt(h->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	(void)api.easy_setopt(h->easy, CURLOPT_USERAGENT, "vigil-probe/" PACKAGE_VERSION);
	(void)api.easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, discard_body);
	(void)api.easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
	(void)api.easy_setopt(h->easy, CURLOPT_ERRORBUFFER, h->error);
	return 0;
}

static int http_start(struct probe *p)
{
	struct http_priv *h = probe_get_priv(p);
	CURLMcode mc;

	h->error[0] = '\0';
	h->body_len = 0;
	mc = api.multi_add_handle(shared.multi, h->easy);
	if (mc != CURLM_OK)
		return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
	h->in_multi = true;
	return 0;
}

static void http_cancel(struct probe *p)
{
	struct http_priv *h = probe_get_priv(p);

	if (!h->in_multi)
		return;
	h->in_multi = false;
	(void)api.multi_remove_handle(shared.multi, h->easy);
}

static void http_done(struct probe *p)
{
	struct http_priv *h = probe_get_priv(p);

	if (!h->easy)
		return;
	http_cancel(p);
	api.easy_cleanup(h->easy);
	h->easy = NULL;
	shared_unref();
}

const struct probe_kind probe_http = {
	.name = "http",
	.priv_size = sizeof(struct http_priv),
	.own_timeout = true,
	.load = http_load,
	.check = http_check,
	.init = http_init,
	.done = http_done,
	.start = http_start,
	.cancel = http_cancel,
};
