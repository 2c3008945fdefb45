/* The transparent stacks in the state directory (attachments.json), so a
 * restarted broker knows them again: written after every attach and detach
 * (temporary file, fsync, rename), read once at start after the instances
 * are restored. What the stacks mean is the topology's
 * (topology/attach_restore.c); this file only keeps the JSON. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "datastore.h"
#include "pcn_layout.h"
#include "log.h"

#define ATTACH_STORE_FILE "attachments.json"

/* The largest attachments file read back: 16 stacks of 16 names on each
 * of PCN_MAX_NETDEVS netdevs fit in far less. */
#define ATTACH_STORE_MAX (4 << 20)

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

int broker_attach_store_save(const char *state_dir, json_t *stacks)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	char *text = json_dumps(stacks, JSON_INDENT(1) | JSON_SORT_KEYS);
	size_t len;
	int fd = -1, rc = 0;

	if (!text)
		return -ENOMEM;
	if (pcn_path(path, sizeof(path), state_dir, ATTACH_STORE_FILE, (const char *)NULL) ||
	    pcn_path(tmp, sizeof(tmp), state_dir, ATTACH_STORE_FILE ".tmp", (const char *)NULL)) {
		free(text);
		return -ENAMETOOLONG;
	}
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd)) {
		rc = -errno ? -errno : -EIO;
		goto out;
	}
	if (rename(tmp, path)) {
		rc = -errno;
		goto out;
	}
	/* The rename is durable only once the directory is on disk (as the
	 * instance records, datastore.c). */
	rc = fsync_dir(state_dir);
out:
	if (fd >= 0)
		close(fd);
	if (rc) {
		unlink(tmp);
		PCN_ERR("BROKER-ATTACH-SAVE", "cannot save the transparent stacks in %s: %s", path, strerror(-rc));
	}
	free(text);
	return rc;
}

json_t *broker_attach_store_load(const char *state_dir)
{
	char path[PATH_MAX];
	json_error_t jerr = { .text = "" };
	struct stat st;
	json_t *j = NULL;

	if (pcn_path(path, sizeof(path), state_dir, ATTACH_STORE_FILE, (const char *)NULL) || stat(path, &st))
		return NULL;
	if (S_ISREG(st.st_mode) && st.st_size <= ATTACH_STORE_MAX)
		j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	else
		snprintf(jerr.text, sizeof(jerr.text), "not a regular file of at most %d bytes", ATTACH_STORE_MAX);
	if (!j || !json_is_array(j)) {
		PCN_ERR("BROKER-ATTACH-LOAD", "%s is not a list of stacks (%s): transparent cubes are not "
			"restored", path, jerr.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

