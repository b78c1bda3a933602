/* service-state.c: the states of SPEC §4 and their names. */
#include "service-state.h"

#include <errno.h>
#include <string.h>

#include "macro.h"

static const char *const names[SERVICE_STATE_COUNT] = {
	[SERVICE_STOPPED] = "stopped",
	[SERVICE_WAITING] = "waiting",
	[SERVICE_STARTING] = "starting",
	[SERVICE_RUNNING] = "running",
	[SERVICE_STOPPING] = "stopping",
	[SERVICE_BACKOFF] = "backoff",
	[SERVICE_EXITED] = "exited",
	[SERVICE_FAILED] = "failed",
};

const char *service_state_to_string(enum service_state s)
{
	return s < SERVICE_STATE_COUNT ? names[s] : "invalid";
}
