/* What the generator's BPF programs and pcn-trafficgen share. */
#ifndef TRAFFICGEN_KERN_USER_H
#define TRAFFICGEN_KERN_USER_H

#include <linux/types.h>

/* Bytes of a frame's headers (Ethernet, IPv4, UDP) tg_gen writes again on
 * every frame with --restore. */
#define TG_HDR_LEN 42

/* --flows: source ports per source address (1024..65535), and the most
 * flows (source addresses 10.250.0.1 .. 10.250.255.1). */
#define TG_PORTS 64512u
#define TG_FLOWS_MAX (256u * TG_PORTS)

/* Per-CPU counters of the sink. */
struct tg_sink_stats {
	__u64 packets;
	__u64 bytes;
};

#ifndef __BPF__
_Static_assert(sizeof(struct tg_sink_stats) == 16, "tg_sink_stats layout");
#endif

#endif /* TRAFFICGEN_KERN_USER_H */
