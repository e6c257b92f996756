/* Dropping root: when run_as is set and the process is root, switch to
 * that user (supplementary groups, gid, uid) after listeners are bound and
 * files opened; state_dir is created and owned for that user first. */
#ifndef FERRY_PRIVDROP_H
#define FERRY_PRIVDROP_H
#include <sys/types.h>

/* Looks up user: 0, or -1 with *error_r. */
int privdrop_lookup(const char *user, uid_t *uid_r, gid_t *gid_r,
    const char **error_r);
/* chown -R path to uid:gid (only entries not already owned); 0 or -1. */
int privdrop_chown_tree(const char *path, uid_t uid, gid_t gid);
/* Switches to uid/gid for good and checks root cannot be regained. */
int privdrop_to(const char *user, uid_t uid, gid_t gid, const char **error_r);

#endif
