/* helloworld: what its fast path and its control plane share. */
#ifndef HELLOWORLD_SHARED_H
#define HELLOWORLD_SHARED_H

#include <linux/types.h>

/* Value of helloworld_action[0]; numbered as the YANG enumeration `action`. */
enum helloworld_action {
	HELLOWORLD_ACTION_DROP = 0,     /* the default: drop everything */
	HELLOWORLD_ACTION_SLOWPATH = 1, /* send every packet to the slow path */
	HELLOWORLD_ACTION_FORWARD = 2,  /* port 0 <-> port 1 */
};

/* Value of helloworld_stats[0] (per CPU: sum over CPUs to read). */
struct helloworld_stats {
	__u64 forwarded; /* handed to pcn_pkt_send */
	__u64 dropped;   /* dropped by the DROP action */
	__u64 slowpath;  /* sent to the slow path */
#ifdef HELLOWORLD_V2
	__u64 bytes;     /* 1.1.0: bytes handed to pcn_pkt_send (the map's value grew) */
#endif
};

#ifndef __BPF__
_Static_assert(sizeof(enum helloworld_action) == 4, "helloworld_action layout");
#ifdef HELLOWORLD_V2
_Static_assert(sizeof(struct helloworld_stats) == 32, "helloworld_stats layout");
#else
_Static_assert(sizeof(struct helloworld_stats) == 24, "helloworld_stats layout");
#endif
#endif

#endif /* HELLOWORLD_SHARED_H */
