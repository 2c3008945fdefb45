/* lbrp: what its fast path and its control plane share. */
#ifndef LBRP_SHARED_H
#define LBRP_SHARED_H

#include <linux/types.h>

/* Services (the model's max-elements); each has a slot of tables. */
#define LBRP_MAX_SERVICES 32
/* Keys of lbrp_services: a service of proto ALL has three (TCP, UDP, ICMP). */
#define LBRP_MAX_SVC_KEYS (3 * LBRP_MAX_SERVICES)
/* Backends per service (the model's max-elements). */
#define LBRP_MAX_BACKENDS 256
/* Flows the connection tables remember (LRU). */
#define LBRP_MAX_CONNS 65536

/* The Maglev table: LB_M entries (a prime), stored LB_CHUNK to a map
 * value (an array rounds each value up to 8 bytes: one entry per value
 * would take 4x the memory). An entry is a backend's index in the table's
 * backend array, or LB_NONE. */
#define LB_M 65537u
#define LB_CHUNK 64u
#define LB_CHUNKS ((LB_M + LB_CHUNK - 1) / LB_CHUNK)
#define LB_NONE 0xffffu

struct lb_chunk {
	__u16 e[LB_CHUNK];
};

/* Each service slot has two tables (and two backend arrays): the fast
 * path reads the one its lbrp_services entry names while the control
 * plane writes the other, then switches with one write of the entry, so
 * no packet sees half a table. Table t of slot s is number 2s + t. */
#define LBRP_TABLES (2 * LBRP_MAX_SERVICES)

/* What the services map is keyed by; addresses and ports in network order.
 * An ICMP service's key has port 0. */
struct lbrp_svc_key {
	__be32 vip;
	__be16 port;
	__u8 proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP */
	__u8 pad;
};

struct lbrp_svc {
	__u32 table; /* 2 * slot + which of its two */
	__u32 n_backends;
};

struct lbrp_backend {
	__be32 ip;
	__be16 port;
	__u16 weight; /* for the control plane's comparison only */
};

/* A flow as the client sent it (forward) or as the backend answers it
 * (reverse): addresses and ports in network order; ICMP echo has the
 * echo id as both ports. */
struct lbrp_flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* lbrp_conns: client's flow -> where it went. */
struct lbrp_conn {
	__be32 backend_ip;
	__be32 new_saddr; /* the client's address after src-ip-rewrite */
	__be16 backend_port;
	__u16 pad;
};

/* lbrp_rev: backend's answer -> what the client expects to see. */
struct lbrp_rev {
	__be32 vip;
	__be32 client_ip; /* before src-ip-rewrite */
	__be16 vport;
	__u16 pad;
};

/* lbrp_cfg[0]. */
#define LBRP_NO_PORT 0xffffffffu
struct lbrp_cfg {
	__u32 frontend_port;
	__u32 backend_port;
	/* src-ip-rewrite: a client address a with (a & mask) == net becomes
	 * new_net | (a & ~mask); mask 0: none. Network order. */
	__be32 rw_net;
	__be32 rw_mask;
	__be32 rw_new;
	__u32 pad;
};

/* The flow hash the Maglev table is indexed with (entry = hash % LB_M):
 * three rounds of murmur3's mixing. Shared so that tests can predict it. */
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
_Static_assert(sizeof(struct lbrp_flow) == 16, "lbrp_flow layout");
_Static_assert(sizeof(struct lbrp_cfg) == 24, "lbrp_cfg layout");
_Static_assert(sizeof(struct lb_chunk) == 128, "lb_chunk layout");
#endif

#endif /* LBRP_SHARED_H */
