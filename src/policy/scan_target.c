/* scan_conn_target_parse() (scan_conn.h), apart from the connection
 * code so that the configuration parser can check scanner addresses
 * without linking the event and DNS machinery. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include "lib/strutil.h"
#include "policy/scan_conn.h"

int
scan_conn_target_parse(const char *target, bool *is_unix, char *host,
    size_t hostsize, uint16_t *port_r)
{
	const char *colon, *end = NULL;
	uint64_t port;
	size_t n;

	*is_unix = target[0] == '/';
	if (*is_unix)
		return str_lcpy(host, target, hostsize) < hostsize &&
		    strlen(target) < sizeof(((struct sockaddr_un *)0)->sun_path)
		    ? 0 : -1;
	if (target[0] == '[') {
		end = strchr(target, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		colon = end + 1;
		target++;
		n = (size_t)(end - target);
	} else {
		colon = strrchr(target, ':');
		if (colon == NULL || strchr(target, ':') != colon)
			return -1;
		n = (size_t)(colon - target);
	}
	if (n == 0 || n >= hostsize ||
	    str_parse_uint(colon + 1, 1, 65535, &port) < 0)
		return -1;
	memcpy(host, target, n);
	host[n] = '\0';
	*port_r = (uint16_t)port;
	return 0;
}
