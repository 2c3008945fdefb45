/* firewall: what the control plane's files share. */
#ifndef FIREWALL_INT_H
#define FIREWALL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "firewall_rules.h"
#include "firewall_shared.h"
#include "pcn_cube.h"

/* A rule's leaves as the configuration has them (owned strings). */
enum { FW_T_SRC, FW_T_DST, FW_T_L4PROTO, FW_T_SPORT, FW_T_DPORT, FW_T_TCPFLAGS, FW_T_CONNTRACK, FW_T_ACTION,
       FW_T_DESCRIPTION, FW_NTEXT };
struct fw_rtext {
	uint32_t id;
	char *v[FW_NTEXT];
};

/* A chain in the configuration: its rules by increasing id. */
struct fw_chaincfg {
	struct fw_rtext *r;
	size_t n;
	char *dflt; /* NULL: DROP */
};

/* What a chain's active set holds: its rules and their counter slots. */
struct fw_applied {
	struct fw_rtext *r;
	uint32_t *slot;
	size_t n;
};

#define FW_CT_SWEEP_MS 2000

struct fw_inst {
	struct fw_inst *next;
	int interactive;
	int installed[FW_CHAINS]; /* installed once by this process */
	int seeded[FW_CHAINS];    /* applied[] read from the kernel: ids only */
	struct fw_chaincfg cfg[FW_CHAINS];
	struct fw_applied applied[FW_CHAINS];
	uint8_t slot_used[FW_CHAINS][FW_SLOTS];
};

void fw_rules_free(struct fw_rtext *r, size_t n);
void fw_inst_free(struct fw_inst *f);
int fw_chain_index(const char *name);
const char *fw_chain_str(int c);
const char *fw_leaf_name(int k);
void fw_rtext_view(const struct fw_rtext *r, const char *id, struct fw_rule_text *t);

/* firewall_install.c */
int fw_install(struct pcn_instance *inst, struct fw_inst *f, int chain, const struct fw_rtext *r, size_t n);
int fw_seed(struct pcn_instance *inst, struct fw_inst *f);
int fw_zero_slot(struct pcn_instance *inst, int chain, uint32_t slot);
void fw_ct_sweep(struct pcn_instance *inst, void *arg);
int fw_state_sessions(struct pcn_instance *inst, struct pcn_state *st);
int fw_state_stats(struct pcn_instance *inst, struct pcn_state *st);

/* firewall_actions.c */
int fw_act_append(struct pcn_instance *inst, const char *input);
int fw_act_insert(struct pcn_instance *inst, const char *input);
int fw_act_delete(struct pcn_instance *inst, const char *input);
int fw_act_batch(struct pcn_instance *inst, const char *input);
int fw_act_reset_counters(struct pcn_instance *inst, const char *input);
int fw_act_apply_rules(struct pcn_instance *inst, const char *input);

#endif /* FIREWALL_INT_H */
