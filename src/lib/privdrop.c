/* Privilege dropping (see privdrop.h).  Also used by the command-line
 * tools, so files they create in state_dir belong to the server user. */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/privdrop.h"

int
privdrop_lookup(const char *user, uid_t *uid_r, gid_t *gid_r,
    const char **error_r)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		*error_r = "no such user for run_as";
		return -1;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return 0;
}

int
privdrop_chown_tree(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char sub[PATH_MAX];
	int r = 0;

	if (lstat(path, &st) == -1)
		return -1;
	if ((st.st_uid != uid || st.st_gid != gid) &&
	    lchown(path, uid, gid) == -1)
		r = -1;
	/* A sticky directory (the maildrop) holds other users' files,
	 * whose owners say who they are from: they keep them. */
	if (!S_ISDIR(st.st_mode) || (st.st_mode & S_ISVTX) != 0)
		return r;
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
		    de->d_name) >= sizeof(sub))
			continue;
		if (privdrop_chown_tree(sub, uid, gid) == -1)
			r = -1;
	}
	closedir(d);
	return r;
}

int
privdrop_to(const char *user, uid_t uid, gid_t gid, const char **error_r)
{
	if (initgroups(user, gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		*error_r = strerror(errno);
		return -1;
	}
	if (uid != 0 && setuid(0) != -1) {
		*error_r = "could regain root after dropping privileges";
		return -1;
	}
	return 0;
}
