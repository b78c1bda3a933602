/* service-state.h: the states of SPEC §4 and their names. */
#pragma once

enum service_state {
	SERVICE_STOPPED,
	SERVICE_WAITING,
	SERVICE_STARTING,
	SERVICE_RUNNING,
	SERVICE_STOPPING,
	SERVICE_BACKOFF,
	SERVICE_EXITED,
	SERVICE_FAILED,
	SERVICE_STATE_COUNT
};

/* Returns the state's name as in SPEC §4 ("running"), never NULL. */
const char *service_state_to_string(enum service_state s);
