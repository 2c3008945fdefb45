/* YANG actions: the broker validated the request; find the author's handler
 * and run it. */
#include "pcn_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the running action callback left with pcn_action_result: one
 * action at a time runs, on the runtime's thread. */
static struct {
	const struct pcn_instance *inst; /* the instance of the running action */
	char *output, *put_path, *put_body;
	const char *target; /* the request's, valid while it is served */
} act;

static void act_clear(void)
{
	free(act.output);
	free(act.put_path);
	free(act.put_body);
	act.output = act.put_path = act.put_body = NULL;
}

int pcn_action_result(struct pcn_instance *inst, const char *output_json, const char *put_path,
		      const char *put_body)
{
	if (!inst || inst != act.inst || (!put_path != !put_body))
		return -EINVAL;
	act_clear();
	if ((output_json && !(act.output = strdup(output_json))) || (put_path && !(act.put_path = strdup(put_path))) ||
	    (put_body && !(act.put_body = strdup(put_body)))) {
		act_clear();
		return -ENOMEM;
	}
	return 0;
}

void pcn__action_set_target(const char *target)
{
	act.target = target;
}

const char *pcn_action_target(const struct pcn_instance *inst)
{
	return inst && inst == act.inst ? act.target : NULL;
}

void pcn__action_take_result(char **output, char **put_path, char **put_body)
{
	*output = act.output;
	*put_path = act.put_path;
	*put_body = act.put_body;
	act.output = act.put_path = act.put_body = NULL;
}

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
	act_clear();
	act.inst = inst;
	rc = h->cb(inst, input_json && input_json[0] ? input_json : NULL);
	act.inst = NULL;
	if (rc) {
		act_clear();
		snprintf(msg, msg_len, "%s", inst->err_msg[0] ? inst->err_msg : strerror(-rc));
		PCN_WARN("CUBE-ACTION-FAIL", "instance %s: action %s: %s", instance, path, msg);
		return rc;
	}
	PCN_INFO("CUBE-ACTION", "instance %s: action %s done", instance, path);
	return 0;
}
