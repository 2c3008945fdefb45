/* A coarse fast-path clock, for cubes that stamp entries (fdb learning):
 * CLOCK_MONOTONIC (bpf_ktime_get_ns) read at most once per jiffy per CPU.
 * A helper call costs 30-40 ns on a VM with Safe RET on every return, more
 * than the rest of the learning; jiffies are read inline (the verifier
 * inlines bpf_jiffies64), so a packet in the same tick as the last read
 * takes that read's time: up to a tick (1-10 ms) old, nothing next to an
 * aging time of seconds. Per CPU, so that the pair is never torn; an entry
 * stamped by another CPU may therefore look up to a tick newer than now.
 *
 * Opt-in: include it after pcn.h only where pcn_now() is used, so that the
 * map exists only in those cubes (one per instance, pinned with its maps). */
#ifndef PCN_CLOCK_H
#define PCN_CLOCK_H

struct pcn_clock {
	__u64 jiffies;
	__u64 ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pcn_clock);
} pcn_clock SEC(".maps");

static __always_inline __u64 pcn_now(void)
{
	struct pcn_clock *c;
	__u64 j = bpf_jiffies64();
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&pcn_clock, &zero);
	if (!c)
		return bpf_ktime_get_ns();
	if (c->jiffies != j) {
		c->jiffies = j;
		c->ns = bpf_ktime_get_ns();
	}
	return c->ns;
}

#endif
