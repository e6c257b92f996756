/* Outbound abuse control for authenticated senders: the sending limits
 * (messages per hour, recipients per day, per user and per domain), the
 * send-hold of a user and the suspension of a domain, and the automatic
 * stop of an account that sends far above its own normal volume or
 * draws many bounces or spam verdicts.  The counters live in the store
 * (store.h, store_send_reserve); this module decides.  Every function
 * here blocks on the store: call it from a worker thread or the CLI.
 *
 * Normal volume is learnt from the account's own history: the mean
 * number of messages per hour over the hours of the last
 * send_stop_learn_days days in which it sent anything (the current hour
 * left out).  An hour that reaches send_stop_factor times that, and at
 * least send_stop_min_messages, stops the account. */
#ifndef FERRY_SENDLIMIT_H
#define FERRY_SENDLIMIT_H
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct conf;

/* After a send-release the automatic stop leaves the account alone for
 * the hour (volume) or the day (bounces, spam) that stopped it. */
#define SENDLIMIT_RELEASE_GRACE_VOLUME 3600
#define SENDLIMIT_RELEASE_GRACE_NOTES 86400

struct sendlimit_cfg {
	unsigned user_msgs, user_rcpts;		/* 0 = none */
	unsigned dom_msgs, dom_rcpts;
	unsigned stop_factor, stop_min, learn_days;
	unsigned stop_bounces, stop_spam;	/* per 24 hours, 0 = off */
};

enum sendlimit_verdict {
	SENDLIMIT_OK = 0,
	SENDLIMIT_HELD,		/* the user is on send-hold */
	SENDLIMIT_SUSPENDED,	/* the user's domain is suspended */
	SENDLIMIT_LIMIT,	/* over a limit: 451 */
	SENDLIMIT_STOPPED,	/* the automatic stop held the user now */
	SENDLIMIT_ERROR		/* the store failed (allowed, logged) */
};

struct sendlimit_result {
	enum sendlimit_verdict v;
	const char *scope;		/* LIMIT: "user" or "domain" */
	const char *what;		/* LIMIT: "messages per hour", ... */
	int64_t count, limit;		/* LIMIT: the count reached */
	char reason[256];		/* HELD, STOPPED: why */
	bool held_now;			/* the user was held by this call */
	const char *error;		/* ERROR: the store's text */
};

/* The configuration's defaults and thresholds. */
void sendlimit_cfg_get(const struct conf *c, struct sendlimit_cfg *cfg);
/* One message (STORE_SEND_MSG), recipient (RCPT), bounce or spam
 * verdict of address at now: checks, counts and maybe stops, in one
 * store transaction.  Bounces and spam verdicts are always counted. */
void sendlimit_reserve(struct store *s, const struct sendlimit_cfg *cfg,
    const char *address, enum store_send_count what, int64_t now,
    struct sendlimit_result *r);
/* Messages in the last hour: this clock hour plus the part of the one
 * before that the sliding hour still covers. */
int64_t sendlimit_msgs_hour(const struct store_send_stats *st, int64_t now);
/* The learnt normal messages per active hour (0 without history). */
double sendlimit_normal(const struct store_send_stats *st);
/* The hourly count that stops an account with these stats (0: never). */
int64_t sendlimit_stop_threshold(const struct sendlimit_cfg *cfg,
    const struct store_send_stats *st);
/* An effective limit: the override when set (>= 0), else the default. */
int64_t sendlimit_effective(int64_t override, unsigned dflt);

#endif
