/* The mailbox role: POP3 and IMAP listeners (placeholder until POP3
 * lands: it only logs that nothing is served). */
#include "ferry.h"
#include "lib/log.h"

int
mailbox_main(struct ferry_env *env)
{
	log_warnx("- mailbox not-implemented: POP3/IMAP listeners ignored");
	return 0;
}
