/* The transparent stacks in the state directory (attachments.json), so a
 * restarted broker knows them again: written after every attach and detach
 * (temporary file, fsync, rename), read once at start after the instances
 * are restored, and attached again (broker_attach_restore). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach_int.h"
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

/* Every stack as [{"netdev", "hook", "stack": [names, nearest the wire
 * first]}] (a cube port's: "netdev" is "cube:port", with "slot-in" and
 * "slot-eg"), saved after each change. */
void attach_save(struct broker *b)
{
	json_t *all = json_array();

	for (struct tnetdev *d = A.devs; d; d = d->next) {
		json_t *o = json_object(), *names = json_array();

		for (size_t p = 0; p < d->n; p++)
			json_array_append_new(names, json_string(d->stack[p]->name));
		json_object_set_new(o, "netdev", json_string(d->name));
		json_object_set_new(o, "hook", json_integer(d->hook));
		/* The wires lead to these: a restarted broker keeps them. */
		if (d->slot_in)
			json_object_set_new(o, "slot-in", json_integer(d->slot_in));
		if (d->slot_eg)
			json_object_set_new(o, "slot-eg", json_integer(d->slot_eg));
		json_object_set_new(o, "stack", names);
		json_array_append_new(all, o);
	}
	broker_attach_store_save(b, all);
	json_decref(all);
}

void broker_attach_restore(struct broker *b)
{
	json_t *all = broker_attach_store_load(b), *o;
	size_t i;

	if (!all)
		return;
	if (attach_ensure_loaded(b)) {
		PCN_ERR("BROKER-ATTACH-RESTORE", "cannot load the transparent entry programs: stacks not restored");
		json_decref(all);
		return;
	}
	json_array_foreach(all, i, o) {
		const char *name = json_string_value(json_object_get(o, "netdev"));
		json_t *names = json_object_get(o, "stack"), *n;
		struct tnetdev *d;
		struct broker_error err;
		size_t k;
		bool port = name && strchr(name, ':');
		int ifindex = name && !port ? broker_netdev_ifindex(name) : -ENODEV;

		if ((!port && ifindex < 0) || !json_is_array(names)) {
			PCN_WARN("BROKER-ATTACH-RESTORE", "stack on %s not restored: no such netdev",
				 name ? name : "?");
			continue;
		}
		d = calloc(1, sizeof(*d));
		if (!d)
			break;
		if (port && attach_port_parse(b, name, d, &err)) {
			PCN_WARN("BROKER-ATTACH-RESTORE", "stack on %s not restored: %s", name, err.message);
			free(d);
			continue;
		}
		d->slot_in = (__u32)json_integer_value(json_object_get(o, "slot-in"));
		d->slot_eg = (__u32)json_integer_value(json_object_get(o, "slot-eg"));
		if (!port) {
			d->ifindex = ifindex;
			d->parent = (__u32)ifindex;
			snprintf(d->name, sizeof(d->name), "%s", name);
		}
		d->hook = (enum broker_hook)json_integer_value(json_object_get(o, "hook"));
		attach_stack_gen_load(d);
		json_array_foreach(names, k, n) {
			struct broker_instance *inst = broker_instance_find(b, json_string_value(n) ?: "");

			if (inst && d->n < ATTACH_MAX_STACK)
				d->stack[d->n++] = inst;
		}
		if (!d->n) {
			free(d);
			continue;
		}
		/* The pinned map and the filters survived us; write both again
		 * anyway, the stack as the file says, entries with our programs. */
		attach_stack_publish(d);
		d->next = A.devs;
		A.devs = d;
		if (attach_hook_attach(b, d))
			PCN_WARN("BROKER-ATTACH-RESTORE", "cannot attach the stack on %s again", name);
		if (d->ifindex > 0)
			broker_netdev_stack_changed(b->dp, d->ifindex);
		for (size_t p = 0; p < d->n; p++)
			broker_attach_parent_set(b, d->stack[p], d->name);
		PCN_INFO("BROKER-ATTACH-RESTORED", "%zu transparent cube(s) on %s", d->n, name);
	}
	json_decref(all);
}
