/* firewall: what its fast path and its control plane share.
 *
 * Classification is a Linear Bit Vector Search: rule i of a chain is bit i
 * of a bitvector of FW_WORDS u64. For each field a table gives, for the
 * packet's value, the vector of the rules that value matches (a rule that
 * does not name the field matches every value); the AND of the fields'
 * vectors has the matching rules as bits, and the lowest is the first
 * match. The fields no rule of the set names are not looked up.
 *
 * Each chain has two sets (double buffer): the control plane fills the set
 * the fast path is not reading, then switches fw_ctl[chain] (one u32): a
 * packet classifies against one whole set, old or new. */
#ifndef FIREWALL_SHARED_H
#define FIREWALL_SHARED_H

#include <linux/types.h>

#define FW_MAX_RULES 5120                /* per chain (the model's max-elements) */
#define FW_WORDS (FW_MAX_RULES / 64)     /* 80 u64 per bitvector */
#define FW_CHAINS 2                      /* INGRESS, EGRESS */
#define FW_SETS (FW_CHAINS * 2)          /* set = chain * 2 + half */
#define FW_SLOTS (2 * FW_MAX_RULES)      /* counter slots per chain: both halves' rules */

enum fw_chain { FW_INGRESS = 0, FW_EGRESS = 1 };

enum fw_field {
	FW_F_SRC = 0,   /* LPM: fw_lpm */
	FW_F_DST = 1,   /* LPM */
	FW_F_PROTO = 2, /* exact: fw_exact */
	FW_F_SPORT = 3,
	FW_F_DPORT = 4,
	FW_F_FLAGS = 5, /* the TCP flags byte */
	FW_F_CT = 6,    /* enum fw_ct_label */
	FW_NFIELDS = 7,
};

/* Every vector lives in fw_bvs (one map, so that the verifier sees the
 * seven pointers of a scan as the same kind and prunes its states); fw_lpm
 * and fw_exact give an index into it. Set s owns the indexes from
 * s * FW_BV_PER_SET: first its wildcard vectors (per field, the rules
 * that do not name it), then the vector of every rule of the set (what an
 * unused field contributes), then the values' vectors. */
#define FW_BV_PER_SET 24576
#define FW_WILD_IDX(set, field) ((set) * FW_BV_PER_SET + (field))
#define FW_ALL_IDX(set) ((set) * FW_BV_PER_SET + FW_NFIELDS)
#define FW_FIRST_VALUE_IDX(set) ((set) * FW_BV_PER_SET + FW_NFIELDS + 1)

/* fw_fixed, an array (its lookups are inlined: no helper call, ~25 ns
 * less each than a hash's): per set, the wildcard vectors, the vector of
 * every rule, and the vector of every value of the small fields
 * (protocol, TCP flags byte, conntrack label): a value no rule names holds
 * the field's wildcard, so an unused field's values all hold every rule
 * and the fast path reads them without looking at the used mask. Written
 * with the set's other tables, before the switch to it; fw_bvs keeps its
 * copies of the wildcards for a fast path of an older build. */
#define FW_FIX_ALL FW_NFIELDS                /* 0..FW_NFIELDS-1: the wildcards */
#define FW_FIX_PROTO (FW_FIX_ALL + 1)        /* + the protocol */
#define FW_FIX_FLAGS (FW_FIX_PROTO + 256)    /* + the flags byte; + 0x100: no TCP header */
#define FW_FIX_CT (FW_FIX_FLAGS + 257)       /* + enum fw_ct_label */
#define FW_FIX_PER_SET (FW_FIX_CT + FW_CT_NONE + 1)
#define FW_FIX_IDX(set, i) ((set) * FW_FIX_PER_SET + (i))

/* Numbered as the model's enumerations. */
enum fw_action { FW_DROP = 0, FW_LOG = 1, FW_FORWARD = 2, FW_ACCEPT = 3 };
enum fw_ct_label { FW_CT_NEW = 0, FW_CT_ESTABLISHED = 1, FW_CT_RELATED = 2, FW_CT_INVALID = 3, FW_CT_NONE = 4 };

struct fw_bv {
	__u64 w[FW_WORDS];
};

/* fw_lpm's key: the set and field are the first 16 bits of the matched
 * data, so prefixlen is 32 + the rule's prefix length. */
struct fw_lpm_key {
	__u32 prefixlen;
	__u8 set;
	__u8 field;
	__u16 pad;
	__u32 addr; /* network order */
};

struct fw_exact_key {
	__u8 set;
	__u8 field;
	__u16 pad;
	__u32 value; /* ports in host order */
};

/* A set's header, written before the switch to it. */
struct fw_setinfo {
	__u32 nrules;
	__u32 nwords;  /* words that hold rules: (nrules + 63) / 64 */
	__u32 used;    /* 1 << enum fw_field for each field some rule names */
	__u32 dflt;    /* enum fw_action when no rule matches */
};

/* Rule at position i of set s: fw_rules[s * FW_MAX_RULES + i]. */
struct fw_rule_info {
	__u32 id;
	__u32 slot;   /* counters: fw_cnt[chain * FW_SLOTS + slot] */
	__u32 action; /* enum fw_action */
	__u32 pad;
};

struct fw_cnt {
	__u64 pkts;
	__u64 bytes;
};

/* fw_ctl: [FW_INGRESS], [FW_EGRESS]: the active half (0/1) of the chain;
 * [FW_CTL_MODES]: FW_MODE_* bits. */
#define FW_CTL_MODES 2
#define FW_CTL_ENTRIES 3
#define FW_MODE_CONNTRACK 1u
#define FW_MODE_ACCEPT_EST 2u

/* Connection tracking: one entry per connection, both directions, keyed
 * by the 5-tuple with the lower (address, port) end first. ICMP echo:
 * both ports are the echo identifier. */
struct fw_ct_key {
	__u32 ip_lo;
	__u32 ip_hi;
	__u16 port_lo; /* network order */
	__u16 port_hi;
	__u8 proto;
	__u8 pad[3];
};

enum fw_ct_state {
	FW_TCP_SYN_SENT = 0,
	FW_TCP_SYN_RECV = 1,
	FW_TCP_ESTABLISHED = 2,
	FW_TCP_FIN_WAIT = 3,
	FW_TCP_LAST_ACK = 4,
	FW_TCP_TIME_WAIT = 5,
	FW_TCP_CLOSED = 6,
	FW_FLOW_NEW = 7,         /* UDP, ICMP: one direction seen */
	FW_FLOW_ESTABLISHED = 8, /* both */
	FW_CT_NSTATES = 9,
};

struct fw_ct_val {
	__u64 last_ns;     /* bpf_ktime_get_ns (CLOCK_MONOTONIC) of the last packet, coarse */
	__u8 state;        /* enum fw_ct_state */
	__u8 init_lo;      /* 1: the lower end opened the connection */
	__u8 fin_lo;       /* FIN_WAIT: 1 if the lower end sent the first FIN */
	__u8 pad[5];
};

#define FW_CT_MAX 65536

#ifndef __BPF__
_Static_assert(sizeof(struct fw_lpm_key) == 12, "fw_lpm_key layout");
_Static_assert(sizeof(struct fw_ct_key) == 16, "fw_ct_key layout");
_Static_assert(sizeof(struct fw_ct_val) == 16, "fw_ct_val layout");
#endif

#endif /* FIREWALL_SHARED_H */
