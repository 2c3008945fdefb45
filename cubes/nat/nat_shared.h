/* What nat's fast path and control plane share: the layout of its maps. */
#ifndef NAT_SHARED_H
#define NAT_SHARED_H

#include <linux/types.h>

/* Directions of a tracked packet (the transparent wrapper's). */
#define NAT_DIR_IN 0  /* from the wire (ingress) */
#define NAT_DIR_OUT 1 /* toward the wire (egress) */

/* What made a flow's translation (the model's originating-rule order). */
#define NAT_RULE_SNAT 0
#define NAT_RULE_DNAT 1
#define NAT_RULE_MASQ 2
#define NAT_RULE_PF 3

/* The flow table: one entry per direction of each flow. A packet whose
 * tuple (as it is on the wire at that point) is `key` gets its addresses
 * and ports rewritten to `val`'s. The entry of the other direction is
 * the reverse of val's tuple, mapping to the reverse of key's: both are
 * written when the flow starts, and the control plane removes both.
 * Ports in network order; for ICMP echo the identifier is sport in a
 * request and dport in a reply (so that reversing a tuple works). */
struct nat_key {
	__u32 src;
	__u32 dst;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 dir;
	__u16 pad;
};

struct nat_val {
	__u32 src;
	__u32 dst;
	__u16 sport;
	__u16 dport;
	__u8 rule;     /* NAT_RULE_* */
	__u8 closing;  /* a TCP FIN or RST went through */
	__u8 pad[2];
	__u64 seen_ns; /* CLOCK_MONOTONIC of the last packet (refreshed at most once a second) */
};

#define NAT_CT_MAX 65536 /* entries: 32768 flows */

/* nat_cfg[0]: what the control plane sets. */
struct nat_cfg {
	__u32 masq;      /* masquerade on (the fast path reads this one) */
	__u32 masq_ip;   /* the parent's first IPv4 address (0: none, no masquerade) */
	__u16 port_min;  /* external ports allocated for TCP/UDP and ICMP ids */
	__u16 port_max;
	__u32 pad;
};

/* Source NAT rules: LPM trie on the source address. */
struct nat_snat_key {
	__u32 prefixlen;
	__u32 addr;
};

/* Port forwarding: (external ip, external port, proto); proto 0 = ALL. */
struct nat_pf_key {
	__u32 ip;
	__u16 port;
	__u8 proto;
	__u8 pad;
};
struct nat_pf_val {
	__u32 ip;
	__u16 port;
	__u16 pad;
};

/* Rule kinds (the control plane's). */
#define NAT_KIND_SNAT 0
#define NAT_KIND_DNAT 1
#define NAT_KIND_PF 2

/* A rule as the control plane keeps it. */
struct nat_rule_val {
	__u32 ip1;   /* SNAT: internal net; DNAT, PF: external ip */
	__u32 ip2;   /* SNAT: external ip; DNAT, PF: internal ip */
	__u16 port1; /* PF: external port (host order) */
	__u16 port2; /* PF: internal port (host order) */
	__u8 plen;   /* SNAT: prefix length */
	__u8 proto;  /* PF: IPPROTO_TCP, IPPROTO_UDP or 0 (ALL) */
	__u16 pad;
};

/* Per-CPU counters (u64s, in this order). */
struct nat_ctr {
	__u64 translated;  /* packets rewritten */
	__u64 new_flows;   /* flows started */
	__u64 no_port;     /* new flows dropped: no free external port in NAT_PROBES tries */
	__u64 icmp_errors; /* ICMP errors translated */
};
#define NAT_NCTR (sizeof(struct nat_ctr) / sizeof(__u64))

/* How many ports a new flow tries (hash, then hash + k * step) before it
 * is dropped. */
#define NAT_PROBES 16

#endif /* NAT_SHARED_H */
