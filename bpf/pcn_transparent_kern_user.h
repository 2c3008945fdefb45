/* Transparent cubes (§VI-H), shared by the fast path and the broker: the
 * stacks of transparent instances attached to a netdev or to a standard
 * cube's port. */
#ifndef PCN_TRANSPARENT_KERN_USER_H
#define PCN_TRANSPARENT_KERN_USER_H

#include <linux/types.h>

#include "pcn_kern_user.h"

#define PCN_MAP_TSTACK "pcn_tstack"
#define PCN_MAP_TGEN "pcn_tgen"
#define PCN_MAP_TPORT "pcn_tport"

enum pcn_tdir {
	PCN_TDIR_INGRESS = 0, /* from the wire toward the host (or the peered cube); into a cube port */
	PCN_TDIR_EGRESS = 1,  /* toward the wire; out of a cube port */
};

/* The parent of a stack, as the fast path names it: a netdev's ifindex, or
 * a cube port with PCN_TPARENT_PORT set (10 bits of instance index, 8 of
 * port: PCN_MAX_CUBES, PCN_MAX_PORTS). */
#define PCN_TPARENT_PORT 0x80000000u
static inline __attribute__((always_inline)) __u32 pcn_tparent_port(__u32 cube_index, __u32 port)
{
	return PCN_TPARENT_PORT | cube_index << 8 | port;
}

/* Key of pcn_tstack: the pos-th transparent instance a packet meets on its
 * parent in direction dir (the broker writes ingress positions from the
 * wire inward, egress ones from the inside out), in generation gen. The
 * broker writes a new order under the generation not in use and then flips
 * pcn_tgen, so a packet (which reads the generation once, at the stack's
 * entry) sees the old order or the new one, never a mix. */
struct pcn_tstack_key {
	__u32 parent;
	__u32 dir; /* enum pcn_tdir */
	__u32 pos;
	__u32 gen; /* 0 or 1 */
};

/* Where the packet being processed on this CPU is in its stack. */
struct pcn_tmd {
	__u32 parent;
	__u32 dir;
	__u32 pos;
	__u32 gen;
	__u32 slot; /* a cube port's stack: the entry slot it came in by (pcn_tport) */
	__u32 last; /* 1: the instance at pos is the stack's last (PCN_TSTACK_LAST) */
	/* Where the stack ends, as its entry knew it, saving a lookup there.
	 * A netdev's ingress stack: 1 + the PatchPanel slot of the peered
	 * cube and its port, from the netdev input program specialized for
	 * that peer (0: look the netdev up in pcn_netdev_in). A cube port's
	 * stack (slot != 0): its pcn_tport next, 1 + a cube's slot and its
	 * port, or to_cube 0 and to_port a netdev's ifindex (both 0: look
	 * the slot up in pcn_tport). */
	__u32 to_cube;
	__u32 to_port;
};

/* Set in a pcn_tstack value (an instance index) at the last position of
 * its stack and direction: the fast path goes on past it without looking
 * up the position after it, which is not there (one hash lookup, ~20 ns a
 * frame on a retpoline/SRSO kernel: tests/bench/transparent.sh). A value
 * without it (written before) costs that lookup and nothing else. */
#define PCN_TSTACK_LAST 0x80000000u

/* Value of pcn_tport, keyed by PatchPanel slot: the stack entered by the
 * port-stack entry program (pcn_tnetdev.bpf.c: pcn_tport_entry) in that slot. A
 * cube port with a stack has two such slots: the wires that led into the
 * port lead to the ingress one, the port's own pcn_fwd entry to the egress
 * one; `next` is where the packet goes after the stack (into the cube; the
 * port's real peer). */
struct pcn_tport_val {
	__u32 parent; /* pcn_tparent_port() */
	__u32 dir;    /* enum pcn_tdir */
	__u32 owner;  /* the cube of the port: misses are counted on it */
	__u32 pad;
	struct pcn_fwd_val next;
};

#ifndef __BPF__
_Static_assert(sizeof(struct pcn_tstack_key) == 16, "pcn_tstack_key layout");
_Static_assert(sizeof(struct pcn_tmd) == 32, "pcn_tmd layout");
_Static_assert(sizeof(struct pcn_tport_val) == 32, "pcn_tport_val layout");
#endif

#endif /* PCN_TRANSPARENT_KERN_USER_H */
