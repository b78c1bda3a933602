/* mhd.c: libmicrohttpd, loaded with dlopen() on first use (see mhd.h for why). */
#include "mhd.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"

#define LIBMHD_SONAME  "libmicrohttpd.so.12"
#define LIBMHD_PACKAGE "libmicrohttpd12"

const struct mhd_api *mhd_load(char *why, size_t size)
{
	static const struct {
		const char *name;
		size_t offset;
	} symbols[] = {
#define SYM(f, m) {#f, offsetof(struct mhd_api, m)}
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
	lib = dlopen(LIBMHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(why,
			 size,
			 "cannot load %s (install the Debian package %s): %s",
			 LIBMHD_SONAME,
			 LIBMHD_PACKAGE,
			 dlerror());
		return NULL;
	}
	for (size_t i = 0; i < ELEMENTSOF(symbols); i++) {
		void *f = dlsym(lib, symbols[i].name);

		if (!f) {
			snprintf(why,
				 size,
				 "%s lacks %s (install the Debian package %s)",
				 LIBMHD_SONAME,
				 symbols[i].name,
				 LIBMHD_PACKAGE);
			dlclose(lib);
			return NULL;
		}
		memcpy((char *)&a + symbols[i].offset, &f, sizeof(f));
	}
	api = a;
	loaded = true;
	return &api;
}
