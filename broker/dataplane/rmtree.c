/* broker_rmtree (rmtree.h): nftw depth first, so that a directory is
 * empty by the time it is removed; FTW_PHYS reports a symbolic link as
 * itself (unlink removes the link), FTW_MOUNT skips whatever lies on
 * another filesystem. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rmtree.h"

/* nftw's callback takes no argument: the first error of this thread's walk
 * and, when the caller asked for it, where it put the path that failed. */
static __thread int rm_err;
static __thread char *rm_failed;
static __thread size_t rm_failed_len;

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	int rc;

	(void)st;
	(void)ftw;
	/* FTW_DNR: a directory it could not list; rmdir says whether it is
	 * empty. FTW_NS: lstat failed, most likely gone already. */
	rc = type == FTW_DP || type == FTW_DNR ? rmdir(path) : unlink(path);
	if (rc && errno != ENOENT && !rm_err) {
		rm_err = -errno;
		if (rm_failed)
			snprintf(rm_failed, rm_failed_len, "%s", path);
	}
	return 0;
}

int broker_rmtree_report(const char *dir, char *failed, size_t len)
{
	struct stat st;

	if (failed && len)
		failed[0] = '\0';
	/* "" and "/" (however many slashes) are never what a caller means. */
	if (!dir || dir[strspn(dir, "/")] == '\0')
		return -EINVAL;
	if (lstat(dir, &st))
		return errno == ENOENT ? 0 : -errno;
	rm_err = 0;
	rm_failed = failed && len ? failed : NULL;
	rm_failed_len = len;
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) && !rm_err) {
		/* The walk itself failed (the top could not be opened, no
		 * memory): name the tree. */
		rm_err = errno ? -errno : -EIO;
		if (rm_failed)
			snprintf(rm_failed, rm_failed_len, "%s", dir);
	}
	rm_failed = NULL;
	return rm_err;
}

int broker_rmtree(const char *dir)
{
	return broker_rmtree_report(dir, NULL, 0);
}
