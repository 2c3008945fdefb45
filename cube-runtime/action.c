/* YANG actions: the broker validated the request; find the author's handler
 * and run it. */
#include "pcn_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int pcn__action_run(struct pcn__runtime *rt, const char *instance, const char *path, const char *input_json,
		    char *msg, size_t msg_len)
{
	struct pcn_instance *inst = pcn__instance_find(rt, instance);
	const struct pcn_action_handler *h;
	int rc;

	msg[0] = '\0';
	if (!inst) {
		snprintf(msg, msg_len, "no instance %s", instance);
		return -ENOENT;
	}
	for (h = rt->desc->actions; h && h->path; h++)
		if (strcmp(h->path, path) == 0)
			break;
	if (!h || !h->path) {
		snprintf(msg, msg_len, "%s has no handler for the action %s", rt->desc->service, path);
		return -EOPNOTSUPP;
	}
	inst->err = 0;
	inst->err_msg[0] = '\0';
	rc = h->cb(inst, input_json && input_json[0] ? input_json : NULL);
	if (rc) {
		snprintf(msg, msg_len, "%s", inst->err_msg[0] ? inst->err_msg : strerror(-rc));
		PCN_WARN("CUBE-ACTION-FAIL", "instance %s: action %s: %s", instance, path, msg);
		return rc;
	}
	PCN_INFO("CUBE-ACTION", "instance %s: action %s done", instance, path);
	return 0;
}
