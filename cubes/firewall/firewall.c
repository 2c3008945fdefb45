/* firewall: the control plane. The configuration's rules (per chain, by
 * id) are parsed and checked, compiled into the LBVS tables of
 * firewall_shared.h (firewall_rules.c) and written into the set of the
 * chain the fast path is not reading; one write of fw_ctl then switches
 * the chain to it (firewall_install.c). Interactive mode does this after
 * every change; otherwise apply-rules does.
 *
 * The chain actions (append, insert, delete, batch) stand for changes of
 * the chain's rule list: each computes the new list from the configuration
 * and hands it back as one PUT of the chain (pcn_action_result), which the
 * broker runs as an ordinary write: validated, applied here, persisted,
 * undone whole on failure. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <linux/bpf.h>

#include "firewall_int.h"
#include "firewall_tc.skel.h"
#include "firewall_xdp.skel.h"
#include "firewall_yang.h"

static const char *const fw_leaf[FW_NTEXT] = { "src",      "dst",       "l4proto", "sport",      "dport",
						"tcpflags", "conntrack", "action",  "description" };
static const char *const fw_chain_name[FW_CHAINS] = { "INGRESS", "EGRESS" };

static struct fw_inst *fw_all; /* every instance's data, freed at exit */

__attribute__((destructor)) static void fw_free_all(void)
{
	while (fw_all) {
		struct fw_inst *f = fw_all;

		fw_all = f->next;
		fw_inst_free(f);
	}
}

void fw_rules_free(struct fw_rtext *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++)
		for (int k = 0; k < FW_NTEXT; k++)
			free(r[i].v[k]);
	free(r);
}

void fw_inst_free(struct fw_inst *f)
{
	for (int c = 0; c < FW_CHAINS; c++) {
		fw_rules_free(f->cfg[c].r, f->cfg[c].n);
		free(f->cfg[c].dflt);
		fw_rules_free(f->applied[c].r, f->applied[c].n);
		free(f->applied[c].slot);
	}
	free(f);
}

int fw_chain_index(const char *name)
{
	for (int c = 0; c < FW_CHAINS; c++)
		if (name && !strcasecmp(name, fw_chain_name[c]))
			return c;
	return -1;
}

const char *fw_chain_str(int c)
{
	return fw_chain_name[c];
}

const char *fw_leaf_name(int k)
{
	return fw_leaf[k];
}

static struct fw_inst *fw_of(struct pcn_instance *inst)
{
	return pcn_instance_priv(inst);
}

/* ---- the configuration, as on_applied sees it -------------------------- */

struct fw_collect {
	struct fw_rtext *r;
	size_t n, cap;
};

static int collect_rule(const struct pcn_node *entry, void *arg)
{
	struct fw_collect *c = arg;
	struct fw_rtext *t;
	const char *id = pcn_node_key(entry, "id");

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 32;
		struct fw_rtext *r = realloc(c->r, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		c->r = r;
		c->cap = cap;
	}
	t = &c->r[c->n];
	memset(t, 0, sizeof(*t));
	t->id = id ? (uint32_t)strtoul(id, NULL, 10) : 0;
	c->n++;
	for (int k = 0; k < FW_NTEXT; k++) {
		const char *v = pcn_node_child(entry, fw_leaf[k]);

		if (v && !(t->v[k] = strdup(v)))
			return -ENOMEM;
	}
	return 0;
}

static int cmp_rtext(const void *a, const void *b)
{
	const struct fw_rtext *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

struct fw_cfg_collect {
	struct fw_inst *f;
	struct fw_chaincfg next[FW_CHAINS];
};

static int collect_chain(const struct pcn_node *entry, void *arg)
{
	struct fw_cfg_collect *cc = arg;
	int c = fw_chain_index(pcn_node_key(entry, "name"));
	struct fw_collect col = { 0 };
	const char *d = pcn_node_child(entry, "default");
	int rc;

	if (c < 0)
		return 0; /* INVALID: kept by the model, filters nothing */
	rc = pcn_node_foreach(entry, "rule", collect_rule, &col);
	cc->next[c].r = col.r;
	cc->next[c].n = col.n;
	if (rc)
		return rc;
	if (col.n)
		qsort(col.r, col.n, sizeof(*col.r), cmp_rtext);
	if (d && !(cc->next[c].dflt = strdup(d)))
		return -ENOMEM;
	return 0;
}

/* Every rule parses (or the round fails with the first one's reason). */
static int check_rules(struct pcn_instance *inst, const struct fw_chaincfg *cfg, int c)
{
	char err[256];

	if (cfg->n > FW_MAX_RULES)
		return pcn_fail(inst, -EINVAL, "chain %s: %zu rules, at most %d", fw_chain_name[c], cfg->n,
				FW_MAX_RULES);
	for (size_t i = 0; i < cfg->n; i++) {
		struct fw_rule r;
		char id[16];
		struct fw_rule_text t;

		snprintf(id, sizeof(id), "%" PRIu32, cfg->r[i].id);
		fw_rtext_view(&cfg->r[i], id, &t);
		if (fw_rule_parse(&t, &r, err, sizeof(err)))
			return pcn_fail(inst, -EINVAL, "chain %s: %s", fw_chain_name[c], err);
	}
	return 0;
}

void fw_rtext_view(const struct fw_rtext *r, const char *id, struct fw_rule_text *t)
{
	*t = (struct fw_rule_text){
		.id = id,
		.src = r->v[FW_T_SRC],
		.dst = r->v[FW_T_DST],
		.l4proto = r->v[FW_T_L4PROTO],
		.sport = r->v[FW_T_SPORT],
		.dport = r->v[FW_T_DPORT],
		.tcpflags = r->v[FW_T_TCPFLAGS],
		.conntrack = r->v[FW_T_CONNTRACK],
		.action = r->v[FW_T_ACTION],
	};
}

static int same_text(const char *a, const char *b)
{
	return !a == !b && (!a || !strcmp(a, b));
}

/* The same rules (ids and leaves) in the same order. */
static int same_rules(const struct fw_rtext *a, size_t na, const struct fw_rtext *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		if (a[i].id != b[i].id)
			return 0;
		for (int k = 0; k < FW_NTEXT; k++)
			if (!same_text(a[i].v[k], b[i].v[k]))
				return 0;
	}
	return 1;
}

static int fw_modes(struct pcn_instance *inst, const struct pcn_node *config)
{
	const char *ct = pcn_node_child(config, "conntrack");
	const char *ae = pcn_node_child(config, "accept-established");
	uint32_t k = FW_CTL_MODES, m = 0;
	int rc;

	if (!ct || !strcasecmp(ct, "ON"))
		m |= FW_MODE_CONNTRACK;
	if (!ae || !strcasecmp(ae, "ON"))
		m |= FW_MODE_ACCEPT_EST;
	rc = pcn_map_update(inst, "fw_ctl", &k, &m, BPF_ANY);
	return rc ? pcn_fail(inst, rc, "cannot set the conntrack modes: %s", strerror(-rc)) : 0;
}

static int fw_applied_cb(struct pcn_instance *inst, const struct pcn_node *config)
{
	struct fw_inst *f = fw_of(inst);
	struct fw_cfg_collect cc = { .f = f };
	const char *inter = pcn_node_child(config, "interactive");
	int rc, c;

	if (!f)
		return -EINVAL;
	rc = pcn_node_foreach(config, "chain", collect_chain, &cc);
	for (c = 0; !rc && c < FW_CHAINS; c++)
		rc = check_rules(inst, &cc.next[c], c);
	if (!rc)
		rc = fw_modes(inst, config);
	if (rc)
		goto out;
	f->interactive = !inter || !strcmp(inter, "true");
	for (c = 0; c < FW_CHAINS; c++) {
		struct fw_chaincfg old = f->cfg[c];
		int changed_default = !same_text(old.dflt, cc.next[c].dflt);

		f->cfg[c] = cc.next[c];
		cc.next[c] = old; /* freed below */
		/* A default always applies at once; rules in interactive mode.
		 * A chain whose set already is what it would be is left alone:
		 * a write to the other chain or to a mode costs nothing here. */
		if (f->installed[c] && !changed_default &&
		    (!f->interactive || same_rules(f->applied[c].r, f->applied[c].n, f->cfg[c].r, f->cfg[c].n)))
			continue;
		if (f->interactive || !f->installed[c])
			rc = fw_install(inst, f, c, f->cfg[c].r, f->cfg[c].n);
		else if (changed_default)
			rc = fw_install(inst, f, c, f->applied[c].r, f->applied[c].n);
		if (rc)
			break;
	}
out:
	for (c = 0; c < FW_CHAINS; c++) {
		fw_rules_free(cc.next[c].r, cc.next[c].n);
		free(cc.next[c].dflt);
	}
	return rc;
}

/* ---- lifecycle ----------------------------------------------------------- */

static int fw_on_create(struct pcn_instance *inst)
{
	struct fw_inst *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return -ENOMEM;
	f->next = fw_all;
	fw_all = f;
	pcn_instance_set_priv(inst, f);
	rc = fw_seed(inst, f);
	if (rc)
		return rc;
	rc = pcn_timer_start(inst, FW_CT_SWEEP_MS, fw_ct_sweep, NULL);
	return rc < 0 ? rc : 0;
}

static void fw_on_destroy(struct pcn_instance *inst)
{
	struct fw_inst *f = fw_of(inst), **pp;

	for (pp = &fw_all; f && *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			fw_inst_free(f);
			break;
		}
	pcn_instance_set_priv(inst, NULL);
}

static const struct pcn_action_handler fw_actions[] = {
	{ "/firewall:firewall/chain/append", fw_act_append },
	{ "/firewall:firewall/chain/insert", fw_act_insert },
	{ "/firewall:firewall/chain/delete", fw_act_delete },
	{ "/firewall:firewall/chain/batch", fw_act_batch },
	{ "/firewall:firewall/chain/reset-counters", fw_act_reset_counters },
	{ "/firewall:firewall/chain/apply-rules", fw_act_apply_rules },
	{ NULL },
};

static const struct pcn_state_handler fw_state[] = {
	{ "/firewall:firewall/session-table", fw_state_sessions },
	{ "/firewall:firewall/chain/stats", fw_state_stats },
	{ NULL },
};

const struct pcn_cube_desc firewall_desc = {
	.service = "firewall",
	.version = "1.0.0",
	.description = "Stateful firewall: two chains of rules classified by linear bit vector search",
	.min_kernel = "5.17", /* bpf_loop */
	.kind = PCN_CUBE_TRANSPARENT,
	.yang_module_name = "firewall",
	.yang_module = firewall_yang,
	.xdp_object = firewall_xdp__elf_bytes,
	.tc_object = firewall_tc__elf_bytes,
	.on_create = fw_on_create,
	.on_destroy = fw_on_destroy,
	.on_applied = fw_applied_cb,
	.actions = fw_actions,
	.state = fw_state,
};

#ifndef PCN_CUBE_NO_MAIN
int main(int argc, char **argv)
{
	return pcn_cube_main(&firewall_desc, argc, argv);
}
#endif
