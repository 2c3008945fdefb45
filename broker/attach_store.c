/* The transparent stacks in the state directory (attachments.json), so a
 * restarted broker knows them again: written after every attach and detach
 * (temporary file, fsync, rename), read once at start after the instances
 * are restored. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

#define ATTACH_STORE_FILE "attachments.json"

int broker_attach_store_save(struct broker *b, json_t *stacks)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	char *text = json_dumps(stacks, JSON_INDENT(1) | JSON_SORT_KEYS);
	size_t len;
	int fd = -1, rc = 0;

	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", b->opts.state_dir, ATTACH_STORE_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd)) {
		rc = -errno ? -errno : -EIO;
		goto out;
	}
	if (rename(tmp, path))
		rc = -errno;
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

json_t *broker_attach_store_load(struct broker *b)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", b->opts.state_dir, ATTACH_STORE_FILE);
	if (access(path, F_OK))
		return NULL;
	j = json_load_file(path, 0, &jerr);
	if (!j || !json_is_array(j)) {
		PCN_ERR("BROKER-ATTACH-LOAD", "%s is not a list of stacks (%s): transparent cubes are not "
			"restored", path, jerr.text);
		json_decref(j);
		return NULL;
	}
	return j;
}
