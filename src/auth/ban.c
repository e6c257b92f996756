/* Failed-login bans (placeholder: never bans, records nothing, until the
 * store-backed implementation lands). */
#include "auth/ban.h"

int
ban_check(struct store *st, const struct conf *c, const struct sockaddr *sa,
    time_t now, time_t *until_r)
{
	return 0;
}

int
ban_record_failure(struct store *st, const struct conf *c,
    const struct sockaddr *sa, const char *service, time_t now)
{
	return 0;
}
