/* Fast-path side of the chaining counters (pcn_chain_kern_user.h): the map
 * and the function that counts a missed tail call with its reason.
 * Included by pcn_helpers.h after pcn_maps.h. */
#ifndef PCN_CHAIN_H
#define PCN_CHAIN_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "pcn_chain_kern_user.h"
#include "pcn_kern_user.h"

/* Missed tail calls of each instance by reason, indexed by instance index;
 * read by the broker for /metrics and each instance's state. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PCN_MAX_CUBES);
	__type(key, __u32);
	__type(value, struct pcn_chain_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_chain_stats SEC(".maps");

/* Chaining options of each instance (resume-long-chains), by instance
 * index; written by the broker. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PCN_MAX_CUBES);
	__type(key, __u32);
	__type(value, struct pcn_chain_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_chain_cfg SEC(".maps");

/* Counts one missed tail call of instance `index` for `reason`. Only called
 * on the miss path, so a chain that works pays nothing for it. */
static __always_inline void pcn__count_miss(__u32 index, __u32 reason)
{
	struct pcn_chain_stats *cs = bpf_map_lookup_elem(&pcn_chain_stats, &index);

	if (cs && reason < PCN_MISS_REASONS)
		cs->miss[reason]++;
}

#endif /* PCN_CHAIN_H */
