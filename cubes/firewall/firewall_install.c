/* firewall: a chain's rules into the kernel (the inactive set, then the
 * switch), the counters, the conntrack sweep and the operational state. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "firewall_int.h"

/* Per-CPU values of fw_cnt, all zero (pcn_ncpus of them). */
int fw_zero_slot(struct pcn_instance *inst, int chain, uint32_t slot)
{
	struct fw_cnt *z = calloc((size_t)pcn_ncpus(), sizeof(*z));
	uint32_t k = (uint32_t)chain * FW_SLOTS + slot;
	int rc;

	if (!z)
		return -ENOMEM;
	rc = pcn_map_update(inst, "fw_cnt", &k, z, BPF_ANY);
	free(z);
	return rc;
}

/* The content of a rule without its id: two rules with the same one are
 * the same rule (its counters follow it when its id moves). */
static int same_rule(const struct fw_rtext *a, const struct fw_rtext *b)
{
	for (int k = 0; k < FW_NTEXT; k++) {
		const char *x = a->v[k], *y = b->v[k];

		if (!x != !y || (x && strcmp(x, y)))
			return 0;
	}
	return 1;
}

/* Deletes the entries of set `set` from a map: keys whose byte at off is
 * the set (fw_lpm, fw_exact), or, with off < 0, u32 keys in the set's
 * range of fw_bvs. */
static int clear_set(struct pcn_instance *inst, const char *map, size_t key_size, int off, uint8_t set)
{
	size_t cap = 1024, n = 0;
	uint8_t *keys = malloc(cap * key_size), cur[16], next[16];
	int have = 0, rc = 0;

	if (!keys)
		return -ENOMEM;
	while (pcn_map_next_key(inst, map, have ? cur : NULL, next) == 0) {
		uint32_t u;

		memcpy(cur, next, key_size);
		have = 1;
		memcpy(&u, next, sizeof(u));
		if (off >= 0 ? next[off] != set : u / FW_BV_PER_SET != set)
			continue;
		if (n == cap) {
			uint8_t *k = realloc(keys, 2 * cap * key_size);

			if (!k) {
				rc = -ENOMEM;
				goto out;
			}
			keys = k;
			cap *= 2;
		}
		memcpy(keys + n * key_size, next, key_size);
		n++;
	}
	for (size_t i = 0; i < n; i++)
		pcn_map_delete(inst, map, keys + i * key_size);
out:
	free(keys);
	return rc;
}

/* Set `set`'s part of fw_fixed (firewall_shared.h), all of it, in one
 * batch: the wildcards, every rule, each value of the small fields. */
static int write_fixed(struct pcn_instance *inst, uint32_t set, const struct fw_compiled *cp)
{
	struct fw_bv *v = malloc(FW_FIX_PER_SET * sizeof(*v));
	uint32_t *keys = malloc(FW_FIX_PER_SET * sizeof(*keys)), count = FW_FIX_PER_SET;
	int rc = -ENOMEM;

	if (!v || !keys)
		goto out;
	for (uint32_t i = 0; i < FW_FIX_PER_SET; i++) {
		keys[i] = FW_FIX_IDX(set, i);
		v[i] = i < FW_FIX_ALL    ? cp->wild[i]
		       : i == FW_FIX_ALL ? cp->all
		       : i < FW_FIX_FLAGS ? cp->wild[FW_F_PROTO]
		       : i < FW_FIX_CT    ? cp->wild[FW_F_FLAGS]
					  : cp->wild[FW_F_CT];
	}
	/* A value some rule names: its own vector (the wildcard's rules and its). */
	for (size_t e = 0; e < cp->n_exact; e++) {
		uint32_t val = cp->exact[e].value;

		if (cp->exact[e].field == FW_F_PROTO && val < 256)
			v[FW_FIX_PROTO + val] = cp->exact[e].bv;
		else if (cp->exact[e].field == FW_F_FLAGS && val < 256)
			v[FW_FIX_FLAGS + val] = cp->exact[e].bv;
		else if (cp->exact[e].field == FW_F_CT && val <= FW_CT_NONE)
			v[FW_FIX_CT + val] = cp->exact[e].bv;
	}
	rc = bpf_map_update_batch(pcn_map_fd(inst, "fw_fixed"), keys, v, &count, NULL) ? -errno : 0;
out:
	free(v);
	free(keys);
	return rc;
}

static int write_set(struct pcn_instance *inst, uint32_t set, const struct fw_compiled *cp,
		     const uint32_t *ids, const uint8_t *actions, const uint32_t *slots, uint32_t dflt)
{
	struct fw_setinfo si = { .nrules = (uint32_t)cp->nrules,
				 .nwords = (uint32_t)((cp->nrules + 63) / 64),
				 .used = cp->used,
				 .dflt = dflt };
	uint32_t k, idx = FW_FIRST_VALUE_IDX(set);
	int rc;

	if (cp->n_lpm + cp->n_exact + FW_NFIELDS + 1 > FW_BV_PER_SET)
		return -E2BIG;
	rc = clear_set(inst, "fw_lpm", sizeof(struct fw_lpm_key), 4, (uint8_t)set);
	if (!rc)
		rc = clear_set(inst, "fw_exact", sizeof(struct fw_exact_key), 0, (uint8_t)set);
	if (!rc)
		rc = clear_set(inst, "fw_bvs", sizeof(uint32_t), -1, (uint8_t)set);
	for (size_t i = 0; !rc && i < cp->n_lpm; i++, idx++) {
		struct fw_lpm_key key = { .prefixlen = 32 + cp->lpm[i].len,
					  .set = (uint8_t)set,
					  .field = cp->lpm[i].field,
					  .addr = cp->lpm[i].addr };

		rc = pcn_map_update(inst, "fw_bvs", &idx, &cp->lpm[i].bv, BPF_ANY);
		if (!rc)
			rc = pcn_map_update(inst, "fw_lpm", &key, &idx, BPF_ANY);
	}
	for (size_t i = 0; !rc && i < cp->n_exact; i++, idx++) {
		struct fw_exact_key key = { .set = (uint8_t)set, .field = cp->exact[i].field, .value = cp->exact[i].value };

		rc = pcn_map_update(inst, "fw_bvs", &idx, &cp->exact[i].bv, BPF_ANY);
		if (!rc)
			rc = pcn_map_update(inst, "fw_exact", &key, &idx, BPF_ANY);
	}
	for (int f = 0; !rc && f < FW_NFIELDS; f++) {
		k = FW_WILD_IDX(set, f);
		rc = pcn_map_update(inst, "fw_bvs", &k, &cp->wild[f], BPF_ANY);
	}
	k = FW_ALL_IDX(set);
	if (!rc)
		rc = pcn_map_update(inst, "fw_bvs", &k, &cp->all, BPF_ANY);
	for (size_t i = 0; !rc && i < cp->nrules; i++) {
		struct fw_rule_info ri = { .id = ids[i], .slot = slots[i], .action = actions[i] };

		k = set * FW_MAX_RULES + (uint32_t)i;
		rc = pcn_map_update(inst, "fw_rules", &k, &ri, BPF_ANY);
	}
	if (!rc)
		rc = write_fixed(inst, set, cp);
	if (!rc)
		rc = pcn_map_update(inst, "fw_setinfo", &set, &si, BPF_ANY);
	return rc;
}

static int dup_rules(const struct fw_rtext *r, size_t n, struct fw_rtext **out)
{
	struct fw_rtext *d = calloc(n ? n : 1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		d[i].id = r[i].id;
		for (int k = 0; k < FW_NTEXT; k++)
			if (r[i].v[k] && !(d[i].v[k] = strdup(r[i].v[k]))) {
				fw_rules_free(d, n);
				return -ENOMEM;
			}
	}
	*out = d;
	return 0;
}

int fw_install(struct pcn_instance *inst, struct fw_inst *f, int chain, const struct fw_rtext *r, size_t n)
{
	struct fw_applied *old = &f->applied[chain];
	struct fw_rule *rules = calloc(n ? n : 1, sizeof(*rules));
	uint32_t *ids = calloc(n ? n : 1, sizeof(*ids)), *slots = calloc(n ? n : 1, sizeof(*slots));
	uint8_t *actions = calloc(n ? n : 1, 1), *keep = calloc(old->n ? old->n : 1, 1);
	struct fw_compiled cp = { 0 };
	struct fw_rtext *copy = NULL;
	uint32_t k = (uint32_t)chain, half = 0, set;
	const char *d = f->cfg[chain].dflt;
	char err[256];
	int rc = -ENOMEM;

	if (!rules || !ids || !slots || !actions || !keep)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct fw_rule_text t;
		char id[16];

		snprintf(id, sizeof(id), "%" PRIu32, r[i].id);
		fw_rtext_view(&r[i], id, &t);
		rc = fw_rule_parse(&t, &rules[i], err, sizeof(err));
		if (rc) {
			rc = pcn_fail(inst, rc, "chain %s: %s", fw_chain_str(chain), err);
			goto out;
		}
		ids[i] = r[i].id;
		actions[i] = rules[i].action;
		/* The same rule at the same place, or one up or down (an
		 * insert or delete before it), keeps its counters. */
		slots[i] = UINT32_MAX;
		for (long j = (long)i - 1; j <= (long)i + 1 && slots[i] == UINT32_MAX; j++)
			if (j >= 0 && (size_t)j < old->n && !keep[j] &&
			    (f->seeded[chain] ? old->r[j].id == r[i].id : same_rule(&old->r[j], &r[i]))) {
				keep[j] = 1;
				slots[i] = old->slot[j];
			}
	}
	/* New rules take free slots (not used by the active set either). */
	for (size_t i = 0, s = 0; i < n; i++) {
		if (slots[i] != UINT32_MAX)
			continue;
		while (s < FW_SLOTS && f->slot_used[chain][s])
			s++;
		if (s == FW_SLOTS) {
			rc = pcn_fail(inst, -ENOSPC, "chain %s: no counter slot left", fw_chain_str(chain));
			goto out;
		}
		slots[i] = (uint32_t)s;
		f->slot_used[chain][s] = 1;
		rc = fw_zero_slot(inst, chain, (uint32_t)s);
		if (rc)
			goto out;
	}
	rc = fw_compile(rules, n, &cp);
	if (rc) {
		rc = pcn_fail(inst, rc, "chain %s: cannot compile %zu rules", fw_chain_str(chain), n);
		goto out;
	}
	rc = dup_rules(r, n, &copy);
	if (rc)
		goto out;
	rc = pcn_map_lookup(inst, "fw_ctl", &k, &half);
	set = (uint32_t)chain * 2 + (half & 1 ? 0 : 1);
	if (!rc)
		rc = write_set(inst, set, &cp, ids, actions, slots, d ? (uint32_t)fw_action_parse(d) : FW_DROP);
	if (!rc) {
		half = set & 1;
		rc = pcn_map_update(inst, "fw_ctl", &k, &half, BPF_ANY); /* the switch */
	}
	if (rc) {
		rc = pcn_fail(inst, rc, "chain %s: cannot write the rules: %s", fw_chain_str(chain), strerror(-rc));
		goto out;
	}
	/* The old set's rules that did not carry over free their slots. A
	 * packet still classifying against the old set may count once more
	 * in a freed slot: it is zeroed again when taken. */
	for (size_t j = 0; j < old->n; j++)
		if (!keep[j])
			f->slot_used[chain][old->slot[j]] = 0;
	fw_rules_free(old->r, old->n);
	free(old->slot);
	old->r = copy;
	old->slot = slots;
	old->n = n;
	copy = NULL;
	slots = NULL;
	f->installed[chain] = 1;
	f->seeded[chain] = 0;
	PCN_DEBUG("FW-RULES", "%s: chain %s: %zu rule(s) in set %u", pcn_instance_name(inst), fw_chain_str(chain), n,
		  set);
out:
	if (slots) /* a failure: the slots taken for new rules go back */
		for (size_t i = 0; i < n; i++) {
			int carried = 0;

			for (size_t j = 0; j < old->n; j++)
				if (old->slot[j] == slots[i])
					carried = 1;
			if (slots[i] != UINT32_MAX && !carried)
				f->slot_used[chain][slots[i]] = 0;
		}
	fw_compiled_free(&cp);
	fw_rules_free(copy, n);
	free(rules);
	free(ids);
	free(slots);
	free(actions);
	free(keep);
	return rc;
}

/* After a restart of the process: the active sets' slots are taken, and
 * their rules (by id) keep them when the configuration is installed again
 * (fw_install compares against applied[], filled here from the kernel
 * with ids only: the replayed configuration completes them). */
int fw_seed(struct pcn_instance *inst, struct fw_inst *f)
{
	for (int c = 0; c < FW_CHAINS; c++) {
		uint32_t k = (uint32_t)c, half = 0, set;
		struct fw_setinfo si = { 0 };

		if (pcn_map_lookup(inst, "fw_ctl", &k, &half))
			continue;
		set = (uint32_t)c * 2 + (half & 1);
		if (pcn_map_lookup(inst, "fw_setinfo", &set, &si) || !si.nrules || si.nrules > FW_MAX_RULES)
			continue;
		f->applied[c].r = calloc(si.nrules, sizeof(struct fw_rtext));
		f->applied[c].slot = calloc(si.nrules, sizeof(uint32_t));
		if (!f->applied[c].r || !f->applied[c].slot)
			return -ENOMEM;
		for (uint32_t i = 0; i < si.nrules; i++) {
			struct fw_rule_info ri;

			k = set * FW_MAX_RULES + i;
			if (pcn_map_lookup(inst, "fw_rules", &k, &ri) || ri.slot >= FW_SLOTS)
				continue;
			f->applied[c].r[f->applied[c].n].id = ri.id;
			f->applied[c].slot[f->applied[c].n++] = ri.slot;
			f->slot_used[c][ri.slot] = 1;
		}
		f->seeded[c] = 1;
	}
	return 0;
}
