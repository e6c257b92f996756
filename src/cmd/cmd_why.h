/* Inside `ferry why` (cmd_why.c, cmd_why_history.c): printing what the
 * delivery history and the log said. */
#ifndef FERRY_CMD_WHY_H
#define FERRY_CMD_WHY_H

#include "ops/ops_history.h"
#include "ops/ops_why.h"

struct json;

/* The stories of h for people; the number of messages printed. */
int cmd_why_print_history(const struct ops_history *h);
/* h as a JSON array of messages. */
void cmd_why_json_history(struct json *j, const struct ops_history *h);
/* The log's matching sessions and --to deliveries (those of messages h
 * does not name) as JSON arrays under the keys "sessions" and
 * "log_deliveries". */
void cmd_why_json_log(struct json *j, const struct ops_why *w,
    const struct ops_history *h);

#endif
