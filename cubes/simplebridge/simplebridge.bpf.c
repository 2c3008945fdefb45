/* simplebridge fast path: learn the source MAC on the ingress port, send
 * known unicast out of its port, and hand broadcast, multicast and unknown
 * destinations to the slow path, which floods them. */
#include "pcn.h"

#include "simplebridge_shared.h"

/* MAC address -> port and last time seen (the filtering database). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SIMPLEBRIDGE_FDB_SIZE);
	__type(key, struct simplebridge_fdb_key);
	__type(value, struct simplebridge_fdb_val);
} simplebridge_fdb SEC(".maps");

/* The instance's settings (aging time), written by the control plane. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct simplebridge_cfg);
} simplebridge_cfg SEC(".maps");

#include "pcn_clock.h"

/* Learning refreshes an entry's timestamp only once it is older than an
 * eighth of the aging time, at most a second (so `age` reads true to a
 * second). */
#define SIMPLEBRIDGE_REFRESH_MAX_NS 1000000000ull

static __always_inline void mac_key(struct simplebridge_fdb_key *k, const unsigned char *mac)
{
	__builtin_memcpy(k->addr, mac, 6);
	k->pad[0] = 0;
	k->pad[1] = 0;
}

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	struct simplebridge_fdb_val learned = {}, *dst, *src;
	struct simplebridge_fdb_key key;
	struct simplebridge_cfg *cfg;
	__u64 now = pcn_now(), aging = SIMPLEBRIDGE_DEFAULT_AGING_NS;
	struct ethhdr *eth = pcn_eth_hdr(ctx);
	__u32 zero = 0;
	int rc = RX_DROP;

	if (!eth)
		goto out;
	cfg = bpf_map_lookup_elem(&simplebridge_cfg, &zero);
	if (cfg && cfg->aging_ns)
		aging = cfg->aging_ns;

	/* Learn (or refresh) the source, unless it is a group address. A
	 * write only when something changed: a new address (an insert), a
	 * move to another port, or a timestamp older than the refresh
	 * interval (both in place); not a hash update per packet. */
	if (!(eth->h_source[0] & 1)) {
		__u64 refresh = aging >> 3;

		if (refresh > SIMPLEBRIDGE_REFRESH_MAX_NS)
			refresh = SIMPLEBRIDGE_REFRESH_MAX_NS;
		mac_key(&key, eth->h_source);
		src = bpf_map_lookup_elem(&simplebridge_fdb, &key);
		if (!src) {
			learned.port = md->in_port;
			learned.seen_ns = now;
			bpf_map_update_elem(&simplebridge_fdb, &key, &learned, BPF_NOEXIST);
		} else if (src->port != md->in_port) {
			src->port = md->in_port;
			src->seen_ns = now;
		} else if (now > src->seen_ns && now - src->seen_ns > refresh) {
			src->seen_ns = now;
		}
	}

	if (eth->h_dest[0] & 1)
		goto flood;
	mac_key(&key, eth->h_dest);
	dst = bpf_map_lookup_elem(&simplebridge_fdb, &key);
	/* An entry older than the aging time counts as unknown. One written
	 * by another CPU in this tick can be newer than this CPU's clock
	 * (pcn_now): fresh, not 2^64 ns old. */
	if (!dst || (now > dst->seen_ns && now - dst->seen_ns > aging))
		goto flood;
	if (dst->port == md->in_port) {
		pcn_log(ctx, LOG_TRACE, "simplebridge: destination on the ingress port %u", md->in_port);
		goto out;
	}
	rc = pcn_pkt_send(ctx, md, dst->port);
	goto out;
flood:
	rc = pcn_pkt_controller(ctx, md, SIMPLEBRIDGE_REASON_FLOOD);
out:
	return rc;
}
