/* mhd.h: libmicrohttpd, loaded with dlopen() when the control API first gets a
 * client. A vigild nobody queries (`vigild -- app` in a container) then neither maps
 * libmicrohttpd and its TLS stack (GnuTLS, nettle, p11-kit: 2.6 MiB of PSS here) nor
 * pays the ~2.5 ms it takes to load them at every start. */
#pragma once

#include <stddef.h>

#include <microhttpd.h>

/* The functions control.c uses, looked up in the loaded library. */
struct mhd_api {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_run) *run;
	__typeof__(MHD_add_connection) *add_connection;
	__typeof__(MHD_get_timeout) *get_timeout;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_get_connection_info) *get_connection_info;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_suspend_connection) *suspend_connection;
	__typeof__(MHD_resume_connection) *resume_connection;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_create_response_from_callback) *create_response_from_callback;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_set_response_options) *set_response_options;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
};

/* Loads the library once (later calls return the same table). Returns it, or NULL
 * with the reason, naming the Debian package, in @why. */
const struct mhd_api *mhd_load(char *why, size_t size);
