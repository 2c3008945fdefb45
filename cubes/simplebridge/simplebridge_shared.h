/* simplebridge: what its fast path and its control plane share. */
#ifndef SIMPLEBRIDGE_SHARED_H
#define SIMPLEBRIDGE_SHARED_H

#include <linux/types.h>

/* Entries the filtering database holds at most. */
#define SIMPLEBRIDGE_FDB_SIZE 4096

/* Reason the slow path receives: flood the frame out of every other port
 * (broadcast, multicast, or a destination not learned). */
#define SIMPLEBRIDGE_REASON_FLOOD 1

/* Key of simplebridge_fdb: a MAC address in the low 6 bytes, network order
 * byte by byte (addr[0] is the first byte on the wire). */
struct simplebridge_fdb_key {
	__u8 addr[6];
	__u8 pad[2];
};

/* Value of simplebridge_fdb. */
struct simplebridge_fdb_val {
	__u32 port;     /* port number the address was last seen on */
	__u32 pad;
	__u64 seen_ns;  /* bpf_ktime_get_ns() then (CLOCK_MONOTONIC) */
};

/* Value of simplebridge_cfg[0]. */
struct simplebridge_cfg {
	__u64 aging_ns; /* fdb/aging-time; 0: not set yet (use the default) */
};

#define SIMPLEBRIDGE_DEFAULT_AGING_NS (300ull * 1000000000ull)

#ifndef __BPF__
_Static_assert(sizeof(struct simplebridge_fdb_key) == 8, "simplebridge_fdb_key layout");
_Static_assert(sizeof(struct simplebridge_fdb_val) == 16, "simplebridge_fdb_val layout");
_Static_assert(sizeof(struct simplebridge_cfg) == 8, "simplebridge_cfg layout");
#endif

#endif /* SIMPLEBRIDGE_SHARED_H */
