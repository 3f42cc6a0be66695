/*
 * For systems without Landlock and seccomp: nothing is confined, and the
 * log says so once.
 */
#include "config.h"

#include "log.h"
#include "sandbox.h"

int
sandbox_landlock(const struct sandbox_policy *p, const char **what)
{
	log_warnx("sandbox: built without Landlock and seccomp; this "
	    "process is not confined");
	return 0;
}

int
sandbox_seccomp(const struct sandbox_policy *p, const char **what)
{
	return 0;
}
