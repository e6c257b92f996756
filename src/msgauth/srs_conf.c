/* The SRS secret of a configuration: where it lives and loading it for
 * the roles that rewrite (queue) and reverse (smtpd).  Kept apart from
 * srs.c so the codec needs no configuration (unit tests, fuzzing). */
#include <limits.h>
#include <stdio.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "msgauth/srs.h"

struct srs_keys *
srs_keys_for_conf(const struct conf *c)
{
	char path[PATH_MAX];
	const char *error = NULL;
	struct srs_keys *k;

	if (!c->srs)
		return NULL;
	if (c->srs_secret_file[0] != '\0') {
		if ((size_t)snprintf(path, sizeof(path), "%s",
		    c->srs_secret_file) >= sizeof(path))
			return NULL;
	} else if (conf_state_path(c, path, sizeof(path), "srs.secret") < 0)
		return NULL;
	if ((k = srs_keys_load(path, true, &error)) == NULL)
		log_warnx("- srs secret-unusable path=%s error=%s "
		    "note=\"no SRS rewriting, SRS bounces refused\"",
		    log_q(path), log_q(error));
	return k;
}
