/* broker_rmtree (rmtree.h): nftw depth first, so that a directory is
 * empty by the time it is removed; FTW_PHYS reports a symbolic link as
 * itself (unlink removes the link), FTW_MOUNT skips whatever lies on
 * another filesystem. */
#include <errno.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rmtree.h"

/* nftw's callback takes no argument: the first error of this thread's walk. */
static __thread int rm_err;

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	int rc;

	(void)st;
	(void)ftw;
	/* FTW_DNR: a directory it could not list; rmdir says whether it is
	 * empty. FTW_NS: lstat failed, most likely gone already. */
	rc = type == FTW_DP || type == FTW_DNR ? rmdir(path) : unlink(path);
	if (rc && errno != ENOENT && !rm_err)
		rm_err = -errno;
	return 0;
}

int broker_rmtree(const char *dir)
{
	struct stat st;

	/* "" and "/" (however many slashes) are never what a caller means. */
	if (!dir || dir[strspn(dir, "/")] == '\0')
		return -EINVAL;
	if (lstat(dir, &st))
		return errno == ENOENT ? 0 : -errno;
	rm_err = 0;
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) && !rm_err)
		rm_err = errno ? -errno : -EIO;
	return rm_err;
}
