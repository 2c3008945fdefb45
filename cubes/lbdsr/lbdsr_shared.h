/* lbdsr: what its fast path and its control plane share. */
#ifndef LBDSR_SHARED_H
#define LBDSR_SHARED_H

#include <linux/types.h>

/* Backends in the pool (the model's max-elements). */
#define LBDSR_MAX_BACKENDS 256
/* Flows the session table remembers (LRU). */
#define LBDSR_MAX_SESSIONS 65536

/* The Maglev table: LB_M entries (a prime), LB_CHUNK to a map value (an
 * array rounds each value up to 8 bytes). An entry is a backend's index in
 * the table's backend array, or LB_NONE. */
#define LB_M 65537u
#define LB_CHUNK 64u
#define LB_CHUNKS ((LB_M + LB_CHUNK - 1) / LB_CHUNK)
#define LB_NONE 0xffffu

struct lb_chunk {
	__u16 e[LB_CHUNK];
};

/* Two tables (and two backend arrays): lbdsr_ctl[0] (a __u32: one write
 * switches) names the one the fast path reads; the control plane writes
 * the other, then switches. */
struct lbdsr_backend {
	__u8 mac[6];
	__u16 weight; /* for the control plane's comparison only */
};

/* A flow, addresses and ports in network order; ICMP echo: the id both
 * ways. */
struct lbdsr_flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct lbdsr_session {
	__u8 mac[6];
	__u16 pad;
};

#define LBDSR_NO_PORT 0xffffffffu
/* lbdsr_cfg[0]. */
struct lbdsr_cfg {
	__u32 frontend_port;
	__u32 backend_port;
	__be32 vip;    /* 0: none */
	__u8 mac[6];   /* the frontend's: ARP answers, and what IP must be sent to */
	__u8 lb_mac[6]; /* source of what goes out of the backend port */
};

/* The flow hash (entry = hash % LB_M): murmur3's mixing, three words. */
static inline __u32 lb_hash3(__u32 a, __u32 b, __u32 c)
{
	__u32 h = a ^ 0x9e3779b9u;

	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h ^= b;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	h ^= c;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

#ifndef __BPF__
_Static_assert(sizeof(struct lbdsr_flow) == 16, "lbdsr_flow layout");
_Static_assert(sizeof(struct lbdsr_cfg) == 24, "lbdsr_cfg layout");
_Static_assert(sizeof(struct lb_chunk) == 128, "lb_chunk layout");
#endif

#endif /* LBDSR_SHARED_H */
