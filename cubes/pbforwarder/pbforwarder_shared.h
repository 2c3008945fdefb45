/* pbforwarder: what its fast path and its control plane share. */
#ifndef PBFORWARDER_SHARED_H
#define PBFORWARDER_SHARED_H

#include <linux/types.h>

/* Rules the fast path scans per packet, at most (the model's max-elements). */
#define PBF_MAX_RULES 256

/* What a rule matches on: a bit per leaf that is set. */
enum pbf_match {
	PBF_M_SRC_MAC = 1u << 0,
	PBF_M_DST_MAC = 1u << 1,
	PBF_M_VLAN = 1u << 2,
	PBF_M_SRC_IP = 1u << 3,
	PBF_M_DST_IP = 1u << 4,
	PBF_M_L4PROTO = 1u << 5,
	PBF_M_SRC_PORT = 1u << 6,
	PBF_M_DST_PORT = 1u << 7,
	PBF_M_IN_PORT = 1u << 8,
};

/* Numbered as the model's enumeration. */
enum pbf_action {
	PBF_ACTION_DROP = 0,
	PBF_ACTION_SLOWPATH = 1,
	PBF_ACTION_FORWARD = 2, /* out of out_port */
};

/* Reason the slow path gets for a SLOWPATH rule's packets (md[0]: the
 * rule's id). */
#define PBF_REASON_SLOWPATH 1

/* One compiled rule: a value of pbf_rules. MAC addresses are their 6 bytes
 * copied into the low-addressed bytes of a zeroed __u64 (the fast path
 * reads them the same way); addresses and ports in network order. */
struct pbf_rule {
	__u64 src_mac;
	__u64 dst_mac;
	__u32 src_ip;
	__u32 dst_ip;
	__u32 in_port;
	__u32 out_port;
	__u32 id;
	__u32 flags; /* enum pbf_match */
	__u16 src_port;
	__u16 dst_port;
	__u16 vlan;
	__u8 l4proto; /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 action;  /* enum pbf_action */
};

/* pbf_rules holds two tables of PBF_MAX_RULES rules, each sorted by id: the
 * fast path scans the active one while the control plane writes the other,
 * then switches with one write of pbf_ctl[0] (a __u32, so a packet reads
 * either the old table whole or the new one whole). */
#define PBF_CTL_ACTIVE (1u << 16)          /* the table at PBF_MAX_RULES is active */
#define PBF_CTL_COUNT(v) ((v) & 0xffffu)   /* rules in the active table */

#ifndef __BPF__
_Static_assert(sizeof(struct pbf_rule) == 48, "pbf_rule layout");
#endif

#endif /* PBFORWARDER_SHARED_H */
