/* bridge: what its fast path and its control plane share. */
#ifndef BRIDGE_SHARED_H
#define BRIDGE_SHARED_H

#include <linux/types.h>

/* Entries the filtering database holds at most (all VLANs together). */
#define BRIDGE_FDB_SIZE 16384

/* Reason the slow path receives: flood the frame to every other port of its
 * VLAN (broadcast, multicast, or a destination not learned). md[0] is the
 * VLAN (at TC the tag is skb metadata, not in the copied bytes); when md[2]
 * is BRIDGE_FLOOD_MASKED, the fast path flooded the netdev ports itself
 * and md[1] has a bit per position of bridge_flood[vlan].e that the slow
 * path must still send to (ports wired to other cubes). */
#define BRIDGE_REASON_FLOOD 1
#define BRIDGE_FLOOD_MASKED 1
/* Reason: a BPDU (to 01:80:c2:00:00:00) while stp-enabled; md[0] its VLAN. */
#define BRIDGE_REASON_BPDU 2

/* Ports of a VLAN the fast path floods by itself (more: the slow path
 * floods that VLAN, all of it). md[1] holds one bit per position. */
#define BRIDGE_FLOOD_FAST 32

#define BRIDGE_VLAN_MAX 4095
#define BRIDGE_VLAN_WORDS 64 /* 4096 bits */

/* bridge_port.mode: 0 means the port does not exist (yet). */
enum bridge_port_mode {
	BRIDGE_PORT_NONE = 0,
	BRIDGE_PORT_ACCESS = 1,
	BRIDGE_PORT_TRUNK = 2,
};

/* Value of bridge_ports[port number]: the port's VLAN settings, written by
 * the control plane from the model. */
struct bridge_port {
	__u32 mode;        /* enum bridge_port_mode */
	__u16 pvid;        /* access: vlanid; trunk: native-vlan (0: untagged frames dropped) */
	__u16 pad;
	/* The VLANs the port belongs to and learns in, one bit each: access:
	 * pvid only; trunk: the allowed ones plus the native VLAN when
	 * enabled; with spanning tree, only those where the port is learning
	 * or forwarding. */
	__u64 vlans[BRIDGE_VLAN_WORDS];
	/* Those where it forwards (all of vlans without spanning tree). */
	__u64 fwd[BRIDGE_VLAN_WORDS];
};

/* Value of bridge_flood[vlan]: the VLAN's ports, in port order, and
 * whether each wants the VLAN's frames tagged. */
struct bridge_flood_port {
	__u16 port;
	__u16 tagged;
};
struct bridge_flood {
	__u32 n;    /* entries of e in use */
	__u32 slow; /* more than BRIDGE_FLOOD_FAST ports: the slow path floods */
	struct bridge_flood_port e[BRIDGE_FLOOD_FAST];
};

/* Key of bridge_fdb: VLAN and MAC address (addr[0] first on the wire). */
struct bridge_fdb_key {
	__u16 vlan;
	__u8 addr[6];
};

#define BRIDGE_FDB_STATIC 1u

/* Value of bridge_fdb. */
struct bridge_fdb_val {
	__u32 port;    /* port number */
	__u32 flags;   /* BRIDGE_FDB_STATIC: from the model, never aged nor moved */
	__u64 seen_ns; /* bpf_ktime_get_ns() when last seen (CLOCK_MONOTONIC) */
};

/* Value of bridge_cfg[0]. */
struct bridge_cfg {
	__u64 aging_ns; /* fdb/aging-time; 0: not set yet (the default) */
	__u32 stp;      /* stp-enabled: BPDUs go to the slow path */
	__u32 pad;
};

#define BRIDGE_DEFAULT_AGING_NS (300ull * 1000000000ull)

/* Learning refreshes an entry's timestamp only once it is older than this:
 * an eighth of the aging time, at most a second (so `age` reads true to a
 * second), instead of a hash update per packet. */
#define BRIDGE_REFRESH_MAX_NS 1000000000ull

#ifndef __BPF__
_Static_assert(sizeof(struct bridge_port) == 8 + 16 * BRIDGE_VLAN_WORDS, "bridge_port layout");
_Static_assert(sizeof(struct bridge_flood) == 8 + 4 * BRIDGE_FLOOD_FAST, "bridge_flood layout");
_Static_assert(sizeof(struct bridge_fdb_key) == 8, "bridge_fdb_key layout");
_Static_assert(sizeof(struct bridge_fdb_val) == 16, "bridge_fdb_val layout");
_Static_assert(sizeof(struct bridge_cfg) == 16, "bridge_cfg layout");
#endif

#endif /* BRIDGE_SHARED_H */
