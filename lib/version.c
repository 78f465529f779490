/* version.c - the loaded library's version, and whether it can serve a program's header. */
#include "error.h"

const char *gp_version(void)
{
	return GP_VERSION_STRING;
}

int gp_check_version(unsigned int header_version)
{
	unsigned int major = (header_version >> 16) & 0xff, minor = (header_version >> 8) & 0xff;
	unsigned int patch = header_version & 0xff;
	int ok = major == GP_VERSION_MAJOR;

	if (ok && major == 0)
		ok = minor == GP_VERSION_MINOR && patch <= GP_VERSION_PATCH;
	else if (ok)
		ok = minor < GP_VERSION_MINOR ||
		     (minor == GP_VERSION_MINOR && patch <= GP_VERSION_PATCH);
	if (ok)
		return 0;
	return gp_fail(GP_EUNSUPPORTED, "libgpupager %s is loaded but the program was built "
		       "against gpupager.h %u.%u.%u: install a matching libgpupager or rebuild "
		       "the program", GP_VERSION_STRING, major, minor, patch);
}
