/* firewall: rules from their text (the model's leaves) to the LBVS tables
 * of firewall_shared.h. Pure: no BPF, no runtime; the unit tests drive it. */
#ifndef FIREWALL_RULES_H
#define FIREWALL_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "firewall_shared.h"

/* One rule as the model has it: each leaf's text, NULL when absent. */
struct fw_rule_text {
	const char *id;
	const char *src, *dst, *l4proto, *sport, *dport, *tcpflags, *conntrack, *action;
};

/* F_* bits of struct fw_rule.has: 1 << enum fw_field. */
struct fw_rule {
	uint32_t id;
	uint32_t has;           /* 1 << enum fw_field for each field named */
	uint32_t src, dst;      /* network order, host bits cleared */
	uint8_t src_len, dst_len;
	uint8_t proto;
	uint8_t flags_mask, flags_val; /* TCP flags that must be set / clear */
	uint8_t ct;             /* enum fw_ct_label */
	uint16_t sport, dport;  /* host order */
	uint8_t action;         /* enum fw_action */
};

/* Parses and checks one rule: 0, or -EINVAL with the reason in err. */
int fw_rule_parse(const struct fw_rule_text *t, struct fw_rule *r, char *err, size_t errlen);

/* Parses a protocol name or number: TCP/UDP/ICMP any case, 0-255; -1 bad. */
int fw_proto_parse(const char *s);
/* The action from its enum text (any case); -1 bad. */
int fw_action_parse(const char *s);

/* What one set of a chain holds, computed from its rules in order. */
struct fw_lpm_entry {
	uint8_t field; /* FW_F_SRC or FW_F_DST */
	uint8_t len;
	uint32_t addr; /* network order */
	struct fw_bv bv;
};
struct fw_exact_entry {
	uint8_t field;
	uint32_t value;
	struct fw_bv bv;
};
struct fw_compiled {
	size_t nrules;
	uint32_t used; /* 1 << field, fields some rule names */
	struct fw_bv wild[FW_NFIELDS]; /* rules that do not name the field */
	struct fw_bv all;              /* every rule */
	struct fw_lpm_entry *lpm;
	size_t n_lpm;
	struct fw_exact_entry *exact;
	size_t n_exact;
};

/* Builds the tables of rules[0..n) (n <= FW_MAX_RULES), in that order. */
int fw_compile(const struct fw_rule *rules, size_t n, struct fw_compiled *out);
void fw_compiled_free(struct fw_compiled *c);

/* Does rule r match a packet with these fields (the reference: each field
 * compared, no tables)? label is enum fw_ct_label (FW_CT_NONE: none);
 * has_ports 0 for a packet without ports; flags: -1 for a non-TCP packet. */
int fw_rule_matches(const struct fw_rule *r, uint32_t saddr, uint32_t daddr, uint8_t proto, int has_ports,
		    uint16_t sport, uint16_t dport, int flags, uint32_t label);

#endif /* FIREWALL_RULES_H */
