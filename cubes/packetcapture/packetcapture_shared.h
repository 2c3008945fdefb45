/* What packetcapture's fast path and control plane share: the
 * configuration map's value, the ring buffer's record and the counters.
 * Kept free of includes: the fast path is also compiled at run time from
 * its source (with a filter in it), where this text is put in front. */
#ifndef PACKETCAPTURE_SHARED_H
#define PACKETCAPTURE_SHARED_H

#include <linux/types.h>

/* Directions (bits of pc_cfg.dirs, and pc_rec.dir as an index). */
#define PC_DIR_INGRESS 0
#define PC_DIR_EGRESS 1

/* pc_cfg.mode: what decides which packets are captured. */
#define PC_MODE_ALL 0     /* every packet of the directions: no filter */
#define PC_MODE_FILTER 1  /* ingress micro-cube 1: the filter compiled from the expression */
#define PC_MODE_PENDING 2 /* a filter is being put in place: nothing yet */

/* The most bytes of one packet a record carries (snaplen is cut to it). */
#define PC_MAX_CAPLEN 65535

struct pc_cfg {
	__u32 dirs;    /* bit PC_DIR_INGRESS, bit PC_DIR_EGRESS: 0 is capture OFF */
	__u32 snaplen; /* 1..PC_MAX_CAPLEN */
	__u32 mode;
	__u32 pad;
};

/* One captured packet in the ring buffer: this header, then caplen bytes. */
struct pc_rec {
	__u64 ts_ns;  /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 len;    /* the packet's length on the wire */
	__u32 caplen; /* bytes that follow, <= snaplen */
	__u32 dir;    /* PC_DIR_* */
	__u32 pad;
};

/* Per-CPU counters, one set per direction. */
struct pc_ctr {
	__u64 captured; /* records submitted */
	__u64 dropped;  /* matched, but the ring buffer was full: not captured (the packet went on) */
};

#endif /* PACKETCAPTURE_SHARED_H */
