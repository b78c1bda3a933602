/* probe-tcp.c: the tcp probe: a non-blocking connect to host:port. A host name is
 * looked up in a short-lived thread (getaddrinfo blocks), so the loop never waits;
 * one lookup per probe at a time. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "probe.h"

/* A lookup shared by the loop and its thread; whoever drops the last reference frees it. */
struct lookup {
	atomic_int refs;
	atomic_bool done;
	int pipe[2]; /* the thread writes one byte to [1] when done */
	char host[256], port[8];
	int err; /* getaddrinfo()'s EAI_* */
	struct addrinfo *res;
};

struct tcp_priv {
	char host[256], port[8];
	struct sockaddr_storage addr; /* when host is numeric */
	socklen_t addr_len;
	int fd;              /* the socket connecting, or -1 */
	sd_event_source *io; /* one source, moved from fd to fd */
	struct lookup *lookup;
	struct addrinfo *next; /* the addresses still to try, inside lookup->res */
	int last_err;
};

static void lookup_unref(struct lookup *l)
{
	if (atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	if (l->res)
		freeaddrinfo(l->res);
	close(l->pipe[0]);
	close(l->pipe[1]);
	free(l);
}

static void *lookup_thread(void *arg)
{
	struct lookup *l = arg;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};

	l->err = getaddrinfo(l->host, l->port, &hints, &l->res);
	atomic_store_explicit(&l->done, true, memory_order_release);
	(void)!write(l->pipe[1], "", 1);
	lookup_unref(l);
	return NULL;
}

static void drop_lookup(struct tcp_priv *t)
{
	if (t->lookup) {
		lookup_unref(t->lookup);
		t->lookup = NULL;
	}
	t->next = NULL;
}

static void drop_check(struct tcp_priv *t)
{
	if (t->io)
		(void)sd_event_source_set_enabled(t->io, SD_EVENT_OFF);
	if (t->fd >= 0)
		close(TAKE_FD(t->fd));
	/* A lookup still running is kept, and the next check waits for it: a resolver
	 * that hangs must not gather a thread per period. */
	if (t->lookup && !atomic_load_explicit(&t->lookup->done, memory_order_acquire))
		return;
	drop_lookup(t);
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata);

/* Watches @fd for @events on the probe's one io source. */
static int watch(struct probe *p, int fd, uint32_t events)
{
	struct tcp_priv *t = probe_get_priv(p);
	int r;

	if (!t->io) {
		r = sd_event_add_io(probe_get_host(p)->event, &t->io, fd, events, on_io, p);
		if (r < 0)
			return r;
		(void)sd_event_source_set_description(t->io, "probe-tcp");
		return 0;
	}
	r = sd_event_source_set_io_fd(t->io, fd);
	if (r >= 0)
		r = sd_event_source_set_io_events(t->io, events);
	if (r >= 0)
		r = sd_event_source_set_enabled(t->io, SD_EVENT_ON);
	return r;
}

static void fail(struct probe *p, int err)
{
	struct tcp_priv *t = probe_get_priv(p);

	drop_check(t);
	probe_report(p, PROBE_FAIL, strerror(err));
}

static void pass(struct probe *p)
{
	struct tcp_priv *t = probe_get_priv(p);

	drop_check(t);
	probe_report(p, PROBE_PASS, "connected");
}

/* Starts connecting to @sa. Returns 0 when done (reported) or waiting, or a positive
 * errno when this address failed at once. */
static int connect_to(struct probe *p, const struct sockaddr *sa, socklen_t len)
{
	struct tcp_priv *t = probe_get_priv(p);
	int r;

	t->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		return errno;
	if (connect(t->fd, sa, len) == 0) {
		pass(p);
		return 0;
	}
	if (errno != EINPROGRESS) {
		r = errno;
		close(TAKE_FD(t->fd));
		return r;
	}
	r = watch(p, t->fd, EPOLLOUT);
	if (r < 0) {
		close(TAKE_FD(t->fd));
		return -r;
	}
	return 0;
}

/* Tries the looked-up addresses in order, as a client would. */
static void connect_next(struct probe *p)
{
	struct tcp_priv *t = probe_get_priv(p);

	while (t->next) {
		struct addrinfo *ai = t->next;
		int err;

		t->next = ai->ai_next;
		err = connect_to(p, ai->ai_addr, ai->ai_addrlen);
		if (err == 0)
			return;
		t->last_err = err;
	}
	fail(p, t->last_err ? t->last_err : EHOSTUNREACH);
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct probe *p = userdata;
	struct tcp_priv *t = probe_get_priv(p);
	int err = 0;
	socklen_t len = sizeof(err);

	(void)src;
	(void)revents;
	if (t->lookup && fd == t->lookup->pipe[0]) {
		struct lookup *l = t->lookup;
		char c;

		(void)!read(fd, &c, 1);
		if (!atomic_load_explicit(&l->done, memory_order_acquire))
			return 0;
		(void)sd_event_source_set_enabled(t->io, SD_EVENT_OFF);
		if (l->err != 0) {
			char why[300];

			snprintf(why,
				 sizeof(why),
				 "cannot resolve '%s': %s",
				 t->host,
				 gai_strerror(l->err));
			drop_check(t);
			probe_report(p, PROBE_FAIL, why);
			return 0;
		}
		t->next = l->res;
		t->last_err = 0;
		connect_next(p);
		return 0;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0) {
		pass(p);
		return 0;
	}
	(void)sd_event_source_set_enabled(t->io, SD_EVENT_OFF);
	close(TAKE_FD(t->fd));
	t->last_err = err;
	if (t->lookup)
		connect_next(p);
	else
		fail(p, err);
	return 0;
}

static int start_lookup(struct probe *p)
{
	struct tcp_priv *t = probe_get_priv(p);
	struct lookup *l = calloc(1, sizeof(*l));
	pthread_attr_t attr;
	pthread_t thread;
	int r;

	if (!l)
		return -ENOMEM;
	if (pipe2(l->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = -errno;
		free(l);
		return r;
	}
	memcpy(l->host, t->host, sizeof(l->host));
	memcpy(l->port, t->port, sizeof(l->port));
	atomic_init(&l->refs, 2);
	atomic_init(&l->done, false);
	r = watch(p, l->pipe[0], EPOLLIN);
	if (r < 0) {
		close(l->pipe[0]);
		close(l->pipe[1]);
		free(l);
		return r;
	}
	t->lookup = l;
	/* Every signal is blocked in vigild, and threads inherit that. */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	r = -pthread_create(&thread, &attr, lookup_thread, l);
	pthread_attr_destroy(&attr);
	if (r < 0) {
		atomic_fetch_sub(&l->refs, 1); /* the thread's reference */
		drop_check(t);
		drop_lookup(t); /* never done: no thread runs it */
		return r;
	}
	return 0;
}

static int tcp_init(struct probe *p)
{
	struct tcp_priv *t = probe_get_priv(p);
	const char *target = probe_get_config(p)->target, *colon = strrchr(target, ':');
	size_t hlen;

	t->fd = -1;
	if (!colon)
		return -EINVAL;
	hlen = (size_t)(colon - target);
	if (hlen >= 2 && target[0] == '[' && target[hlen - 1] == ']') {
		target++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(t->host) || strlen(colon + 1) >= sizeof(t->port))
		return -EINVAL;
	memcpy(t->host, target, hlen);
	t->host[hlen] = '\0';
	snprintf(t->port, sizeof(t->port), "%s", colon + 1);

	/* A numeric address needs no lookup, hence no thread. */
	{
		struct sockaddr_in *in = (struct sockaddr_in *)&t->addr;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->addr;
		uint16_t port = (uint16_t)atoi(t->port);

		if (inet_pton(AF_INET, t->host, &in->sin_addr) == 1) {
			in->sin_family = AF_INET;
			in->sin_port = htons(port);
			t->addr_len = sizeof(*in);
		} else if (inet_pton(AF_INET6, t->host, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(port);
			t->addr_len = sizeof(*in6);
		}
	}
	return 0;
}

static int tcp_start(struct probe *p)
{
	struct tcp_priv *t = probe_get_priv(p);
	int err;

	if (t->lookup) /* an earlier check's, still running (or just done) */
		return watch(p, t->lookup->pipe[0], EPOLLIN);
	if (t->addr_len == 0)
		return start_lookup(p);
	err = connect_to(p, (struct sockaddr *)&t->addr, t->addr_len);
	if (err > 0)
		fail(p, err);
	return 0;
}

static void tcp_cancel(struct probe *p)
{
	drop_check(probe_get_priv(p));
}

static void tcp_done(struct probe *p)
{
	struct tcp_priv *t = probe_get_priv(p);

	drop_check(t);
	drop_lookup(t);
	t->io = sd_event_source_disable_unref(t->io);
}

const struct probe_kind probe_tcp = {
	.name = "tcp",
	.priv_size = sizeof(struct tcp_priv),
	.init = tcp_init,
	.done = tcp_done,
	.start = tcp_start,
	.cancel = tcp_cancel,
};
