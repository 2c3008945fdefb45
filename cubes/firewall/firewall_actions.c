/* firewall: the chain's actions. append, insert, delete and batch compute
 * the chain's new rule list from the configuration and hand it to the
 * broker as one PUT of the chain (pcn_action_result): the change is then
 * an ordinary write, checked, applied and persisted whole or not at all.
 * Every rule of the input is checked here first, so a bad one is a 400
 * that changes nothing. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "firewall_int.h"

/* The chain the action runs on, from its data path. */
static int act_chain(struct pcn_instance *inst)
{
	const char *t = pcn_action_target(inst), *p;
	char name[16];
	size_t n = 0;
	int c;

	p = t ? strstr(t, "chain[name='") : NULL;
	if (!p)
		return pcn_fail(inst, -EINVAL, "the action does not name its chain");
	p += strlen("chain[name='");
	while (p[n] && p[n] != '\'' && n + 1 < sizeof(name)) {
		name[n] = p[n];
		n++;
	}
	name[n] = '\0';
	c = fw_chain_index(name);
	if (c < 0)
		return pcn_fail(inst, -EINVAL, "chain %s holds no rules", name);
	return c;
}

/* The input object (unwrapped from "firewall:input" if so given). */
static json_t *act_input(struct pcn_instance *inst, const char *input, int *rc)
{
	json_t *j = input ? json_loads(input, 0, NULL) : json_object();
	const char *k;
	json_t *v;

	*rc = 0;
	if (!j || !json_is_object(j)) {
		json_decref(j);
		*rc = pcn_fail(inst, -EINVAL, "the input is not a JSON object");
		return NULL;
	}
	json_object_foreach(j, k, v) {
		if (json_object_size(j) == 1 && json_is_object(v) && strstr(k, "input")) {
			json_incref(v);
			json_decref(j);
			return v;
		}
	}
	return j;
}

/* The text of member `name` of o (a string or a number), or NULL. */
static char *member_text(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	char buf[32];

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return strdup(buf);
	}
	return NULL;
}

/* A rule from an input object; checked (400 with the reason). */
static int rule_from_json(struct pcn_instance *inst, json_t *o, uint32_t id, struct fw_rtext *r)
{
	struct fw_rule_text t;
	struct fw_rule parsed;
	char err[256], ids[16];

	memset(r, 0, sizeof(*r));
	r->id = id;
	for (int k = 0; k < FW_NTEXT; k++)
		r->v[k] = member_text(o, fw_leaf_name(k));
	snprintf(ids, sizeof(ids), "%" PRIu32, id);
	fw_rtext_view(r, ids, &t);
	if (fw_rule_parse(&t, &parsed, err, sizeof(err)))
		return pcn_fail(inst, -EINVAL, "%s", err);
	return 0;
}

/* A working copy of the chain's configured rules. */
struct work {
	struct fw_rtext *r;
	size_t n, cap;
};

static int work_init(struct work *w, const struct fw_chaincfg *cfg)
{
	w->cap = cfg->n + 16;
	w->n = 0;
	w->r = calloc(w->cap, sizeof(*w->r));
	if (!w->r)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n; i++) {
		w->r[i].id = cfg->r[i].id;
		for (int k = 0; k < FW_NTEXT; k++)
			if (cfg->r[i].v[k] && !(w->r[i].v[k] = strdup(cfg->r[i].v[k])))
				return -ENOMEM;
		w->n++;
	}
	return 0;
}

/* Inserts r at the place of id: every rule from id on moves one id up. */
static int work_insert(struct work *w, const struct fw_rtext *r)
{
	size_t at = 0;

	if (w->n == w->cap) {
		struct fw_rtext *nr = realloc(w->r, 2 * w->cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		w->r = nr;
		w->cap *= 2;
	}
	while (at < w->n && w->r[at].id < r->id)
		at++;
	for (size_t i = at; i < w->n; i++)
		w->r[i].id++;
	memmove(&w->r[at + 1], &w->r[at], (w->n - at) * sizeof(*w->r));
	w->r[at] = *r;
	w->n++;
	return 0;
}

static uint32_t work_next_id(const struct work *w)
{
	return w->n ? w->r[w->n - 1].id + 1 : 0;
}

/* Removes the rule at index i; the rules after it move one id down. */
static void work_remove(struct work *w, size_t i)
{
	for (int k = 0; k < FW_NTEXT; k++)
		free(w->r[i].v[k]);
	memmove(&w->r[i], &w->r[i + 1], (w->n - i - 1) * sizeof(*w->r));
	w->n--;
	for (size_t j = i; j < w->n; j++)
		w->r[j].id--;
}

/* The first rule whose leaves equal every leaf the probe gives; -1. */
static long work_find(const struct work *w, const struct fw_rtext *probe)
{
	for (size_t i = 0; i < w->n; i++) {
		int eq = 1;

		for (int k = 0; eq && k < FW_NTEXT; k++)
			if (probe->v[k] && (!w->r[i].v[k] || strcasecmp(probe->v[k], w->r[i].v[k])))
				eq = 0;
		if (eq)
			return (long)i;
	}
	return -1;
}

static void work_free(struct work *w)
{
	fw_rules_free(w->r, w->n);
	w->r = NULL;
	w->n = 0;
}

/* Hands the working copy to the broker: one PUT of the chain. */
static int work_commit(struct pcn_instance *inst, int c, const struct work *w, const char *output)
{
	struct fw_inst *f = pcn_instance_priv(inst);
	json_t *chain = json_object(), *rules = json_array();
	char path[32], *body;
	int rc;

	if (!chain || !rules) {
		json_decref(chain);
		json_decref(rules);
		return -ENOMEM;
	}
	json_object_set_new(chain, "name", json_string(fw_chain_str(c)));
	if (f->cfg[c].dflt)
		json_object_set_new(chain, "default", json_string(f->cfg[c].dflt));
	for (size_t i = 0; i < w->n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "id", json_integer(w->r[i].id));
		for (int k = 0; k < FW_NTEXT; k++) {
			const char *v = w->r[i].v[k];

			if (!v)
				continue;
			/* uint16 leaves are JSON numbers (RFC 7951). */
			if (k == FW_T_SPORT || k == FW_T_DPORT)
				json_object_set_new(o, fw_leaf_name(k), json_integer(strtol(v, NULL, 10)));
			else
				json_object_set_new(o, fw_leaf_name(k), json_string(v));
		}
		json_array_append_new(rules, o);
	}
	json_object_set_new(chain, "rule", rules);
	body = json_dumps(chain, JSON_COMPACT);
	json_decref(chain);
	if (!body)
		return -ENOMEM;
	snprintf(path, sizeof(path), "chain/%s", fw_chain_str(c));
	rc = pcn_action_result(inst, output, path, body);
	free(body);
	return rc;
}

static int act_begin(struct pcn_instance *inst, const char *input, int *c, json_t **in, struct work *w)
{
	struct fw_inst *f = pcn_instance_priv(inst);
	int rc;

	memset(w, 0, sizeof(*w));
	*in = NULL;
	if (!f)
		return -EINVAL;
	*c = act_chain(inst);
	if (*c < 0)
		return *c;
	*in = act_input(inst, input, &rc);
	if (!*in)
		return rc;
	rc = work_init(w, &f->cfg[*c]);
	return rc;
}

int fw_act_append(struct pcn_instance *inst, const char *input)
{
	struct work w;
	struct fw_rtext r;
	json_t *in;
	char out[48];
	int c, rc = act_begin(inst, input, &c, &in, &w);

	if (!rc && w.n >= FW_MAX_RULES)
		rc = pcn_fail(inst, -ENOSPC, "chain %s is full (%d rules)", fw_chain_str(c), FW_MAX_RULES);
	if (!rc) {
		uint32_t id = work_next_id(&w);

		rc = rule_from_json(inst, in, id, &r);
		if (!rc)
			rc = work_insert(&w, &r);
		if (rc)
			for (int k = 0; k < FW_NTEXT; k++)
				free(r.v[k]);
		snprintf(out, sizeof(out), "{\"id\":%" PRIu32 "}", id);
		if (!rc)
			rc = work_commit(inst, c, &w, out);
	}
	work_free(&w);
	json_decref(in);
	return rc;
}

int fw_act_insert(struct pcn_instance *inst, const char *input)
{
	struct work w;
	struct fw_rtext r;
	json_t *in;
	char out[48];
	int c, rc = act_begin(inst, input, &c, &in, &w);
	uint32_t id = 0;

	if (!rc && w.n >= FW_MAX_RULES)
		rc = pcn_fail(inst, -ENOSPC, "chain %s is full (%d rules)", fw_chain_str(c), FW_MAX_RULES);
	if (!rc) {
		json_t *jid = json_object_get(in, "id");

		id = json_is_integer(jid) ? (uint32_t)json_integer_value(jid)
		     : json_is_string(jid) ? (uint32_t)strtoul(json_string_value(jid), NULL, 10)
					   : 0;
		if (id > work_next_id(&w))
			id = work_next_id(&w); /* past the end: appended */
		rc = rule_from_json(inst, in, id, &r);
		if (!rc)
			rc = work_insert(&w, &r);
		else
			for (int k = 0; k < FW_NTEXT; k++)
				free(r.v[k]);
	}
	snprintf(out, sizeof(out), "{\"id\":%" PRIu32 "}", id);
	if (!rc)
		rc = work_commit(inst, c, &w, out);
	work_free(&w);
	json_decref(in);
	return rc;
}

int fw_act_delete(struct pcn_instance *inst, const char *input)
{
	struct work w;
	struct fw_rtext probe;
	json_t *in;
	long at;
	int c, rc = act_begin(inst, input, &c, &in, &w);

	if (rc)
		goto out;
	memset(&probe, 0, sizeof(probe));
	for (int k = 0; k < FW_NTEXT; k++)
		probe.v[k] = member_text(in, fw_leaf_name(k));
	at = work_find(&w, &probe);
	for (int k = 0; k < FW_NTEXT; k++)
		free(probe.v[k]);
	if (at < 0) {
		rc = pcn_fail(inst, -ENOENT, "chain %s: no rule has those fields", fw_chain_str(c));
		goto out;
	}
	work_remove(&w, (size_t)at);
	rc = work_commit(inst, c, &w, NULL);
out:
	work_free(&w);
	json_decref(in);
	return rc;
}

int fw_act_batch(struct pcn_instance *inst, const char *input)
{
	struct work w;
	json_t *in, *rules, *o;
	size_t i;
	int c, rc = act_begin(inst, input, &c, &in, &w);

	if (rc)
		goto out;
	rules = json_object_get(in, "rules");
	if (!json_is_array(rules)) {
		rc = pcn_fail(inst, -EINVAL, "batch: rules must be a list");
		goto out;
	}
	json_array_foreach(rules, i, o) {
		const char *op = json_string_value(json_object_get(o, "operation"));
		json_t *jid = json_object_get(o, "id");
		int has_id = json_is_integer(jid) || json_is_string(jid);
		uint32_t id = json_is_integer(jid) ? (uint32_t)json_integer_value(jid)
			      : has_id             ? (uint32_t)strtoul(json_string_value(jid), NULL, 10)
						   : 0;
		struct fw_rtext r;

		if (!op)
			op = "APPEND";
		if (!strcasecmp(op, "APPEND") || !strcasecmp(op, "INSERT")) {
			if (w.n >= FW_MAX_RULES) {
				rc = pcn_fail(inst, -ENOSPC, "batch: chain %s is full", fw_chain_str(c));
				break;
			}
			if (!strcasecmp(op, "APPEND") || !has_id || id > work_next_id(&w))
				id = work_next_id(&w);
			rc = rule_from_json(inst, o, id, &r);
			if (!rc)
				rc = work_insert(&w, &r);
			else
				for (int k = 0; k < FW_NTEXT; k++)
					free(r.v[k]);
		} else if (!strcasecmp(op, "DELETE") || !strcasecmp(op, "UPDATE")) {
			long at = -1;

			for (size_t j = 0; has_id && j < w.n; j++)
				if (w.r[j].id == id)
					at = (long)j;
			if (at < 0) {
				rc = pcn_fail(inst, -ENOENT, "batch: rule %d: no rule with that id", (int)i);
				break;
			}
			if (!strcasecmp(op, "DELETE")) {
				work_remove(&w, (size_t)at);
			} else {
				rc = rule_from_json(inst, o, id, &r);
				if (!rc) {
					for (int k = 0; k < FW_NTEXT; k++) {
						free(w.r[at].v[k]);
						w.r[at].v[k] = r.v[k];
					}
				} else {
					for (int k = 0; k < FW_NTEXT; k++)
						free(r.v[k]);
				}
			}
		} else {
			rc = pcn_fail(inst, -EINVAL, "batch: rule %d: operation %s is unknown", (int)i, op);
		}
		if (rc)
			break;
	}
	if (!rc)
		rc = work_commit(inst, c, &w, NULL);
out:
	work_free(&w);
	json_decref(in);
	return rc;
}

int fw_act_reset_counters(struct pcn_instance *inst, const char *input)
{
	struct fw_inst *f = pcn_instance_priv(inst);
	int c = act_chain(inst), rc = 0;

	(void)input;
	if (c < 0 || !f)
		return c < 0 ? c : -EINVAL;
	for (size_t i = 0; !rc && i < f->applied[c].n; i++)
		rc = fw_zero_slot(inst, c, f->applied[c].slot[i]);
	if (rc)
		return pcn_fail(inst, rc, "cannot reset the counters: %s", strerror(-rc));
	return pcn_action_result(inst, "{\"result\":true}", NULL, NULL);
}

int fw_act_apply_rules(struct pcn_instance *inst, const char *input)
{
	struct fw_inst *f = pcn_instance_priv(inst);
	int c = act_chain(inst), rc;

	(void)input;
	if (c < 0 || !f)
		return c < 0 ? c : -EINVAL;
	rc = fw_install(inst, f, c, f->cfg[c].r, f->cfg[c].n);
	if (rc)
		return rc;
	return pcn_action_result(inst, "{\"result\":true}", NULL, NULL);
}
