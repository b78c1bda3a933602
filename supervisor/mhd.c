/* mhd.c: libmicrohttpd, loaded with dlopen() on first use (see mhd.h for why). */
#include "mhd.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dlib.h"
#include "macro.h"

#define LIBMHD_SONAME  "libmicrohttpd.so.12"
#define LIBMHD_PACKAGE "libmicrohttpd12"

const struct mhd_api *mhd_load(char *why, size_t size)
{
	static const struct dlib_symbol symbols[] = {
#define SYM(f, m) DLIB_SYMBOL(struct mhd_api, f, m)
		SYM(MHD_start_daemon, start_daemon),
		SYM(MHD_stop_daemon, stop_daemon),
		SYM(MHD_run, run),
		SYM(MHD_add_connection, add_connection),
		SYM(MHD_get_timeout, get_timeout),
		SYM(MHD_get_daemon_info, get_daemon_info),
		SYM(MHD_get_connection_info, get_connection_info),
		SYM(MHD_lookup_connection_value, lookup_connection_value),
		SYM(MHD_suspend_connection, suspend_connection),
		SYM(MHD_resume_connection, resume_connection),
		SYM(MHD_create_response_from_buffer, create_response_from_buffer),
		SYM(MHD_create_response_from_callback, create_response_from_callback),
		SYM(MHD_add_response_header, add_response_header),
		SYM(MHD_set_response_options, set_response_options),
		SYM(MHD_queue_response, queue_response),
		SYM(MHD_destroy_response, destroy_response),
#undef SYM
	};
	static struct mhd_api api;
	static bool loaded;
	struct mhd_api a;
	void *lib;

	if (loaded)
		return &api;
	/* Kept for good once it worked; a failure is tried again at the next client. */
	lib = dlib_load(LIBMHD_SONAME, LIBMHD_PACKAGE, symbols, ELEMENTSOF(symbols), &a, why, size);
	if (!lib)
		return NULL;
	api = a;
	loaded = true;
	return &api;
}
