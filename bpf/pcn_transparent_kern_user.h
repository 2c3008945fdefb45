/* Transparent cubes (§VI-H), shared by the fast path and the broker: the
 * stacks of transparent instances attached to a netdev. */
#ifndef PCN_TRANSPARENT_KERN_USER_H
#define PCN_TRANSPARENT_KERN_USER_H

#include <linux/types.h>

#define PCN_MAP_TSTACK "pcn_tstack"

enum pcn_tdir {
	PCN_TDIR_INGRESS = 0, /* from the wire toward the host (or the peered cube) */
	PCN_TDIR_EGRESS = 1,  /* toward the wire */
};

/* Key of pcn_tstack: the pos-th transparent instance a packet meets on
 * netdev ifindex in direction dir (the broker writes ingress positions from
 * the wire inward, egress ones from the inside out). */
struct pcn_tstack_key {
	__u32 ifindex;
	__u32 dir; /* enum pcn_tdir */
	__u32 pos;
	__u32 pad;
};

/* Where the packet being processed on this CPU is in its stack. */
struct pcn_tmd {
	__u32 ifindex;
	__u32 dir;
	__u32 pos;
	__u32 pad;
};

#ifndef __BPF__
_Static_assert(sizeof(struct pcn_tstack_key) == 16, "pcn_tstack_key layout");
_Static_assert(sizeof(struct pcn_tmd) == 16, "pcn_tmd layout");
#endif

#endif /* PCN_TRANSPARENT_KERN_USER_H */
