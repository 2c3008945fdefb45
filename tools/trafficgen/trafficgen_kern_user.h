/* What the generator's BPF programs and pcn-trafficgen share. */
#ifndef TRAFFICGEN_KERN_USER_H
#define TRAFFICGEN_KERN_USER_H

#include <linux/types.h>

/* Bytes of a frame's headers (Ethernet, IPv4, UDP) tg_gen writes again on
 * every frame with --restore. */
#define TG_HDR_LEN 42

/* Per-CPU counters of the sink. */
struct tg_sink_stats {
	__u64 packets;
	__u64 bytes;
};

#ifndef __BPF__
_Static_assert(sizeof(struct tg_sink_stats) == 16, "tg_sink_stats layout");
#endif

#endif /* TRAFFICGEN_KERN_USER_H */
