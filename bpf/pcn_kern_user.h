/* Structures and constants shared by the fast path (BPF) and user space.
 *
 * Each struct is defined once, here, and included by both sides; the
 * _Static_asserts pin their layout so a change on one side cannot drift
 * from the other silently.
 */
#ifndef PCN_KERN_USER_H
#define PCN_KERN_USER_H

#ifdef __BPF__
#include <linux/types.h>
#else
#include <linux/types.h>
#endif

/* Slots in each PatchPanel program array; an instance's index is its slot. */
#define PCN_MAX_CUBES 1024
/* Ports per instance; port numbers run from 0 to PCN_MAX_PORTS - 1. */
#define PCN_MAX_PORTS 256
/* Netdevs that can be peered with a cube port at once. */
#define PCN_MAX_NETDEVS 1024

/* Names of the maps every fast path shares, pinned by the broker under
 * <bpffs root>/shared/ (object names are limited to 15 characters). */
#define PCN_MAP_PP_XDP "pcn_pp_xdp"
#define PCN_MAP_PP_TC "pcn_pp_tc"
#define PCN_MAP_FWD "pcn_fwd"
#define PCN_MAP_NETDEV_IN "pcn_netdev_in"
#define PCN_MAP_MD "pcn_md"
#define PCN_MAP_STATS "pcn_cube_stats"
#define PCN_MAP_SLOWPATH "pcn_slowpath"

/* The ring every fast path writes slow-path packets and log lines into;
 * the broker's demultiplexer reads it (broker/slowpath/slowpath.c). */
#define PCN_SLOWPATH_RING_BYTES (16u << 20)
/* Packet bytes a slow-path record carries at most; the rest is cut (the
 * record says the real length). bpf_ringbuf_reserve takes a constant size,
 * so every record is this big. */
#define PCN_SLOWPATH_SNAPLEN 1514
/* Bytes of a fast-path log line, NUL included. */
#define PCN_LOG_TEXT_MAX 128

/* pcn_inject.bpf.c: the tag in front of a frame the broker injects (XDP),
 * and the skb->mark that carries it (TC): 1 bit, 10 bits of instance index
 * (PCN_MAX_CUBES), 8 bits of port (PCN_MAX_PORTS). */
#define PCN_INJECT_MAGIC 0x50434e49u /* "PCNI" */
#define PCN_INJECT_MARK 0x80000000u
#define PCN_INJECT_MARK_MASK 0xfffc0000u
struct pcn_inject_tag {
	__u32 magic;
	__u32 cube_index;
	__u32 port;
	__u32 pad;
};

/* What a ring record holds. */
enum pcn_slowpath_kind {
	PCN_SP_PACKET = 1, /* pcn_pkt_controller(_md): header + packet bytes */
	PCN_SP_NOTIFY = 2, /* pcn_notify: header only */
	PCN_SP_LOG = 3,    /* pcn_log: header + text */
};

/* Header of every ring record. */
struct pcn_slowpath_hdr {
	__u32 kind;       /* enum pcn_slowpath_kind */
	__u32 cube_index; /* instance that sent it */
	__u32 port;       /* its ingress port (md->in_port) */
	__u32 reason;     /* the cube's reason; a log line: its level */
	__u32 md[3];      /* the cube's metadata */
	__u32 orig_len;   /* the packet's real length */
	__u32 cap_len;    /* bytes that follow (packet bytes or text) */
	__u32 direction;  /* 0 ingress, 1 egress (transparent cubes) */
};

/* A record for a packet of at most PCN_SLOWPATH_SMALL bytes: most slow-path
 * traffic (ARP, 64-byte frames) fits, and a ring of small records absorbs a
 * burst ten times longer. */
#define PCN_SLOWPATH_SMALL 128
struct pcn_slowpath_rec_small {
	struct pcn_slowpath_hdr hdr;
	__u8 data[PCN_SLOWPATH_SMALL];
};

/* A whole record: what the fast path reserves. */
struct pcn_slowpath_rec {
	struct pcn_slowpath_hdr hdr;
	__u8 data[PCN_SLOWPATH_SNAPLEN + 6]; /* +6: keeps the size a multiple of 8 */
};

/* Verdicts a cube's handler returns; the wrapper turns them into the hook's
 * own (XDP_PASS, TC_ACT_SHOT, ...). */
enum pcn_rx {
	RX_OK = 0,       /* let the packet continue into the host stack */
	RX_DROP = 1,     /* drop it */
	RX_REDIRECT = 2, /* pcn_pkt_send chose a netdev: redirect there */
};

/* Per-packet metadata, kept in a per-CPU array across tail calls (a chain
 * runs on one CPU with preemption off, so one slot per CPU is enough). */
struct pcn_pkt_md {
	__u32 cube_index;  /* instance running now (its PatchPanel slot) */
	__u32 in_port;     /* port the packet entered that instance on */
	__u32 out_ifindex; /* netdev chosen by pcn_pkt_send (RX_REDIRECT) */
	__u32 hops;        /* cubes traversed so far in this chain */
	__u32 reason;      /* slow-path reason, when sent up */
	__u32 md[3];       /* cube-defined metadata for the slow path */
};

/* What a port is wired to. */
enum pcn_peer_kind {
	PCN_PEER_NONE = 0,
	PCN_PEER_NETDEV = 1, /* ifindex: bpf_redirect out of it */
	PCN_PEER_CUBE = 2,   /* cube_index/port: tail call into that instance */
};

/* pcn_fwd is an array indexed by (instance, port) flattened: the verifier
 * (kernel 6.18) inlines an array lookup into a few instructions, where a
 * hash lookup is a helper call (~10 ns per packet, tests/bench). The price
 * is memory: PCN_MAX_CUBES * PCN_MAX_PORTS entries of 16 bytes (4 MiB),
 * allocated once per mesh. Callers check port < PCN_MAX_PORTS first: a
 * larger one would name another instance's entry. */
#define PCN_FWD_SLOTS (PCN_MAX_CUBES * PCN_MAX_PORTS)
static inline __attribute__((always_inline)) __u32 pcn_fwd_slot(__u32 cube_index, __u32 port)
{
	return cube_index * PCN_MAX_PORTS + port;
}

/* Ports 0 .. PCN_BAKED_PORTS - 1 of an instance may have their peer as a
 * load-time constant of its program (bpf/pcn_baked.h), the target of a
 * direct jump taken only while pcn_fwd still names that peer; the broker
 * bumps pcn_baked_gen[instance] when one of the instance's pcn_fwd entries
 * changes, and cube-runtime then reloads the program with the new peers
 * (baked.c). */
#define PCN_BAKED_PORTS 4
#define PCN_MAP_BAKED_GEN "pcn_baked_gen"

/* Value of pcn_fwd: what a port is wired to (kind PCN_PEER_NONE: nothing).
 * Written by the broker only; read by pcn_pkt_send. */
struct pcn_fwd_val {
	__u32 kind;       /* enum pcn_peer_kind */
	__u32 ifindex;    /* PCN_PEER_NETDEV */
	__u32 cube_index; /* PCN_PEER_CUBE */
	__u32 port;       /* PCN_PEER_CUBE: the peer's ingress port */
};

/* Value of pcn_netdev_in, keyed by ifindex: which instance and port a
 * packet arriving on that netdev enters. */
struct pcn_netdev_val {
	__u32 cube_index;
	__u32 port;
};

/* Per-instance counters (per-CPU array indexed by cube_index). */
struct pcn_cube_stats {
	__u64 rx_packets;      /* packets that entered the instance */
	__u64 tx_netdev;       /* sent out of a netdev */
	__u64 tx_cube;         /* handed to another cube */
	__u64 drop_verdict;    /* the handler said RX_DROP */
	__u64 drop_no_peer;    /* pcn_pkt_send to a port with no peer */
	__u64 drop_tail_call;  /* tail call into an empty PatchPanel slot */
	__u64 pass;            /* RX_OK: handed to the host stack */
	__u64 to_slowpath;     /* packets and notifications sent to the slow path */
	__u64 drop_ring_full;  /* slow-path records lost: the ring was full */
	__u64 log_lost;        /* pcn_log lines lost: the ring was full */
};

#ifndef __BPF__
_Static_assert(sizeof(struct pcn_pkt_md) == 32, "pcn_pkt_md layout");
_Static_assert(sizeof(struct pcn_fwd_val) == 16, "pcn_fwd_val layout");
_Static_assert(sizeof(struct pcn_netdev_val) == 8, "pcn_netdev_val layout");
_Static_assert(sizeof(struct pcn_cube_stats) == 80, "pcn_cube_stats layout");
_Static_assert(sizeof(struct pcn_slowpath_hdr) == 40, "pcn_slowpath_hdr layout");
_Static_assert(sizeof(struct pcn_inject_tag) == 16, "pcn_inject_tag layout");
_Static_assert(sizeof(struct pcn_slowpath_rec) % 8 == 0, "pcn_slowpath_rec layout");
_Static_assert(sizeof(struct pcn_slowpath_rec_small) % 8 == 0, "pcn_slowpath_rec_small layout");
#endif

#endif /* PCN_KERN_USER_H */
