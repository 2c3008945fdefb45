/* bridge fast path: an 802.1Q bridge.
 *
 * A frame is classified into a VLAN by its ingress port (access: the
 * port's VLAN, untagged frames only; trunk: the tag's VLAN when the port
 * allows it, the native VLAN for untagged frames), its source is learned in
 * that VLAN's filtering database, and a known unicast destination is sent
 * out of its port with the tag that port wants (pushed or popped here).
 * Broadcast, multicast and unknown destinations are flooded to the VLAN's
 * other ports wired to netdevs by the fast path: at TC a clone per port
 * (bpf_clone_redirect), the last one redirected; at XDP one broadcast
 * redirect into the VLAN's DEVMAP (BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS),
 * the frame tagged, each untagged port's entry running bridge_untag
 * (bridge_devmap.bpf.c). Ports wired to other cubes get theirs from the
 * slow path (a tail call cannot be cloned).
 *
 * Where the tag is: at XDP in the frame's bytes; at TC in the skb's
 * metadata (the kernel moves a received tag there before the TC hook,
 * skb_vlan_untag), pushed and popped with the skb VLAN helpers. */
#if defined(PCN_HOOK_XDP)
/* Not pcn.h: its wrapper turns every redirect into bpf_redirect(ifindex),
 * and the XDP flood is a bpf_redirect_map broadcast; pcn_entry is at the
 * end of this file. */
#include "pcn_helpers.h"
static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md);
#else
#include "pcn.h"
#endif

#include "bridge_shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BRIDGE_FDB_SIZE);
	__type(key, struct bridge_fdb_key);
	__type(value, struct bridge_fdb_val);
} bridge_fdb SEC(".maps");

/* Port number -> its VLAN settings (mode 0: no such port). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PCN_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct bridge_port);
} bridge_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bridge_cfg);
} bridge_cfg SEC(".maps");

/* VLAN -> its ports, for flooding (written by the control plane). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BRIDGE_VLAN_MAX + 1);
	__type(key, __u32);
	__type(value, struct bridge_flood);
} bridge_flood SEC(".maps");

#if defined(PCN_HOOK_XDP)
/* VLAN -> a DEVMAP_HASH of its ports wired to netdevs (port -> ifindex and
 * bridge_untag for the ports that want it untagged), made by the control
 * plane; no entry: the slow path floods the VLAN. */
/* The value is a struct bpf_devmap_val (ifindex, program fd on write, id
 * on read), given by size: a struct used only here is emitted by clang as
 * a forward declaration, whose size libbpf cannot know. */
struct bridge_devmap {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, PCN_MAX_PORTS);
	__type(key, __u32);
	__uint(value_size, 8);
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, BRIDGE_VLAN_MAX + 1);
	__type(key, __u32);
	__array(values, struct bridge_devmap);
} bridge_devmaps SEC(".maps");

/* handle_rx's verdict for a redirect already set (the broadcast). */
#define BRIDGE_RX_REDIRECTED 16
#endif

#include "pcn_clock.h"

#define BRIDGE_ETH_P_8021Q 0x8100

struct bridge_vlan_hdr {
	__be16 tci;
	__be16 proto; /* the ethertype after the tag */
};

static __always_inline int bridge_port_has_vlan(const struct bridge_port *p, __u32 vlan)
{
	return (p->vlans[(vlan >> 6) & (BRIDGE_VLAN_WORDS - 1)] >> (vlan & 63)) & 1;
}

static __always_inline int bridge_port_fwd(const struct bridge_port *p, __u32 vlan)
{
	return (p->fwd[(vlan >> 6) & (BRIDGE_VLAN_WORDS - 1)] >> (vlan & 63)) & 1;
}

/* The frame's tag: 1 and its VLAN id in *vid when it has one (a priority
 * tag, VLAN 0, counts as none), 0 when untagged, -1 when it cannot be
 * read. */
static __always_inline int bridge_tag(struct __ctx_buff *ctx, const struct ethhdr *eth, __u16 *vid)
{
#if defined(PCN_HOOK_XDP)
	const struct bridge_vlan_hdr *vh = (const void *)(eth + 1);

	if (eth->h_proto != bpf_htons(BRIDGE_ETH_P_8021Q))
		return 0;
	if ((const void *)(vh + 1) > ctx_data_end(ctx))
		return -1;
	*vid = bpf_ntohs(vh->tci) & 0xfff;
#else
	/* A tag left in the bytes at TC (a second one, 802.1ad) is not ours
	 * to read: refuse the frame rather than misfile it. */
	if (eth->h_proto == bpf_htons(BRIDGE_ETH_P_8021Q))
		return -1;
	if (!ctx->vlan_present)
		return 0;
	*vid = ctx->vlan_tci & 0xfff;
#endif
	return *vid ? 1 : 0;
}

#if defined(PCN_HOOK_XDP)
/* Removes the tag from the frame's bytes (the MAC addresses move 4 bytes
 * up). */
static __always_inline int bridge_pop(struct __ctx_buff *ctx)
{
	struct ethhdr *eth = ctx_data(ctx);
	__u8 macs[12];

	if ((void *)eth + 16 > ctx_data_end(ctx))
		return -1;
	__builtin_memcpy(macs, eth, 12);
	if (bpf_xdp_adjust_head(ctx, 4))
		return -1;
	eth = ctx_data(ctx);
	if ((void *)(eth + 1) > ctx_data_end(ctx))
		return -1;
	__builtin_memcpy(eth, macs, 12);
	return 0;
}

/* Inserts a tag of VLAN vid after the MAC addresses. */
static __always_inline int bridge_push(struct __ctx_buff *ctx, __u16 vid)
{
	struct ethhdr *eth = ctx_data(ctx);
	struct bridge_vlan_hdr *vh;
	__u8 macs[12];

	if ((void *)(eth + 1) > ctx_data_end(ctx))
		return -1;
	__builtin_memcpy(macs, eth, 12);
	if (bpf_xdp_adjust_head(ctx, -4))
		return -1;
	eth = ctx_data(ctx);
	vh = (void *)(eth + 1);
	if ((void *)(vh + 1) > ctx_data_end(ctx))
		return -1;
	__builtin_memcpy(eth, macs, 12);
	/* vh->proto already holds the original ethertype: it is where the
	 * frame's own ethertype was before the head moved. */
	eth->h_proto = bpf_htons(BRIDGE_ETH_P_8021Q);
	vh->tci = bpf_htons(vid);
	return 0;
}
#else
static __always_inline int bridge_pop(struct __ctx_buff *ctx)
{
	return bpf_skb_vlan_pop(ctx) ? -1 : 0;
}

static __always_inline int bridge_push(struct __ctx_buff *ctx, __u16 vid)
{
	return bpf_skb_vlan_push(ctx, bpf_htons(BRIDGE_ETH_P_8021Q), vid) ? -1 : 0;
}
#endif

/* Refreshes what the fdb knows of the source, writing only when something
 * changed: a new address (an insert), a move to another port, or a
 * timestamp older than the refresh interval (written in place). A static
 * entry is left alone. */
static __always_inline void bridge_learn(const struct ethhdr *eth, __u16 vlan, __u32 in_port, __u64 now,
					 __u64 refresh)
{
	struct bridge_fdb_key key = { .vlan = vlan };
	struct bridge_fdb_val *e;

	if (eth->h_source[0] & 1)
		return; /* a group address is never a source */
	__builtin_memcpy(key.addr, eth->h_source, 6);
	e = bpf_map_lookup_elem(&bridge_fdb, &key);
	if (!e) {
		struct bridge_fdb_val v = { .port = in_port, .seen_ns = now };

		bpf_map_update_elem(&bridge_fdb, &key, &v, BPF_NOEXIST);
		return;
	}
	if (e->flags & BRIDGE_FDB_STATIC)
		return;
	if (e->port != in_port) {
		e->port = in_port;
		e->seen_ns = now;
	} else if (now > e->seen_ns && now - e->seen_ns > refresh) {
		e->seen_ns = now;
	}
}

#if defined(PCN_HOOK_TC)
/* Gives the skb the tag a port wants: VLAN vlan's, or none. */
static __always_inline int bridge_set_tag(struct __ctx_buff *ctx, __u32 want, __u32 vlan)
{
	if (want && !ctx->vlan_present)
		return bridge_push(ctx, vlan);
	if (!want && ctx->vlan_present)
		return bridge_pop(ctx);
	return 0;
}

/* Floods the frame of VLAN vlan to the VLAN's other ports: a clone out of
 * each port wired to a netdev, with the tag that port wants, the last one
 * redirected rather than cloned; the ports wired to cubes through the
 * slow path (md[1]: which). The loop keeps its state in md (map memory,
 * which the verifier does not track value by value): with it in
 * registers, every combination of tag state and mask was a state of its
 * own and the verifier gave up past a million instructions. */
static __always_inline int bridge_flood_ports(struct __ctx_buff *ctx, struct pcn_pkt_md *md, __u32 vlan,
					      int tagged)
{
	struct bridge_flood *fl = bpf_map_lookup_elem(&bridge_flood, &vlan);
	__u32 in_port = md->in_port;
	int i;

	(void)tagged;
	if (!fl || fl->slow)
		return pcn_pkt_controller_md(ctx, md, BRIDGE_REASON_FLOOD, vlan, 0, 0);
	md->out_ifindex = 0; /* the netdev port whose clone is pending */
	md->reason = 0;      /* whether it wants the tag */
	md->md[1] = 0;       /* the cube-wired ports, by position */
	for (i = 0; i < BRIDGE_FLOOD_FAST; i++) {
		__u32 port, key;
		struct pcn_fwd_val *peer;

		if ((__u32)i >= fl->n)
			break;
		port = fl->e[i].port;
		if (port == in_port || port >= PCN_MAX_PORTS)
			continue;
		key = pcn_fwd_slot(pcn_cube_index, port);
		peer = bpf_map_lookup_elem(&pcn_fwd, &key);
		if (!peer)
			continue;
		if (peer->kind == PCN_PEER_CUBE) {
			md->md[1] |= 1u << i;
			continue;
		}
		if (peer->kind != PCN_PEER_NETDEV)
			continue;
		/* The previous netdev port gets its clone now: this one may be
		 * the last, which takes the frame itself. */
		if (md->out_ifindex && !bridge_set_tag(ctx, md->reason, vlan))
			bpf_clone_redirect(ctx, md->out_ifindex, 0);
		md->out_ifindex = peer->ifindex;
		md->reason = fl->e[i].tagged;
	}
	if (md->md[1]) {
		__u32 want = md->reason; /* pcn_pkt_controller_md sets reason */

		pcn_pkt_controller_md(ctx, md, BRIDGE_REASON_FLOOD, vlan, md->md[1], BRIDGE_FLOOD_MASKED);
		md->reason = want;
	}
	if (!md->out_ifindex || bridge_set_tag(ctx, md->reason, vlan))
		return RX_DROP;
	return RX_REDIRECT;
}
#else
/* Floods the frame of VLAN vlan: one broadcast redirect into the VLAN's
 * DEVMAP, tagged (each untagged port's entry removes the tag), the ingress
 * netdev excluded; the ports wired to cubes through the slow path (md[1]:
 * which, found as at TC). */
static __always_inline int bridge_flood_ports(struct __ctx_buff *ctx, struct pcn_pkt_md *md, __u32 vlan,
					      int tagged)
{
	struct bridge_flood *fl = bpf_map_lookup_elem(&bridge_flood, &vlan);
	__u32 in_port = md->in_port;
	void *devmap;
	int i;

	devmap = bpf_map_lookup_elem(&bridge_devmaps, &vlan);
	if (!fl || fl->slow || !devmap)
		return pcn_pkt_controller_md(ctx, md, BRIDGE_REASON_FLOOD, vlan, 0, 0);
	md->md[1] = 0;
	for (i = 0; i < BRIDGE_FLOOD_FAST; i++) {
		__u32 port, key;
		struct pcn_fwd_val *peer;

		if ((__u32)i >= fl->n)
			break;
		port = fl->e[i].port;
		if (port == in_port || port >= PCN_MAX_PORTS)
			continue;
		key = pcn_fwd_slot(pcn_cube_index, port);
		peer = bpf_map_lookup_elem(&pcn_fwd, &key);
		if (peer && peer->kind == PCN_PEER_CUBE)
			md->md[1] |= 1u << i;
	}
	if (md->md[1])
		pcn_pkt_controller_md(ctx, md, BRIDGE_REASON_FLOOD, vlan, md->md[1], BRIDGE_FLOOD_MASKED);
	if (!tagged && bridge_push(ctx, vlan) < 0)
		return RX_DROP;
	if (bpf_redirect_map(devmap, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS) != XDP_REDIRECT)
		return RX_DROP;
	return BRIDGE_RX_REDIRECTED;
}
#endif

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	struct ethhdr *eth = pcn_eth_hdr(ctx);
	struct bridge_port *in, *out;
	struct bridge_fdb_key key = {};
	struct bridge_fdb_val *dst;
	struct bridge_cfg *cfg;
	__u64 now, aging = BRIDGE_DEFAULT_AGING_NS, refresh;
	__u32 zero = 0, in_port = md->in_port, out_port;
	__u16 vlan = 0;
	int tagged, want_tag;

	if (!eth)
		return RX_DROP;
	in = bpf_map_lookup_elem(&bridge_ports, &in_port);
	if (!in || in->mode == BRIDGE_PORT_NONE)
		return RX_DROP;
	tagged = bridge_tag(ctx, eth, &vlan);
	if (tagged < 0)
		return RX_DROP;
	if (!tagged) {
		vlan = in->pvid;
		if (!vlan)
			return RX_DROP; /* a trunk without its native VLAN */
	} else if (in->mode == BRIDGE_PORT_ACCESS) {
		return RX_DROP; /* an access port takes untagged frames only */
	}
	cfg = bpf_map_lookup_elem(&bridge_cfg, &zero);
	/* With spanning tree on, BPDUs go to it, whatever the port's state. */
	if (cfg && cfg->stp && eth->h_dest[0] == 0x01 && eth->h_dest[1] == 0x80 && eth->h_dest[2] == 0xc2 &&
	    eth->h_dest[3] == 0 && eth->h_dest[4] == 0 && eth->h_dest[5] == 0)
		return pcn_pkt_controller_md(ctx, md, BRIDGE_REASON_BPDU, vlan, 0, 0);
	if (!bridge_port_has_vlan(in, vlan))
		return RX_DROP; /* not a member, or blocking / listening */
	if (cfg && cfg->aging_ns)
		aging = cfg->aging_ns;
	refresh = aging >> 3;
	if (refresh > BRIDGE_REFRESH_MAX_NS)
		refresh = BRIDGE_REFRESH_MAX_NS;
	now = pcn_now();
	bridge_learn(eth, vlan, in_port, now, refresh);
	if (!bridge_port_fwd(in, vlan))
		return RX_DROP; /* learning, not forwarding yet */

	if (eth->h_dest[0] & 1)
		goto flood;
	key.vlan = vlan;
	__builtin_memcpy(key.addr, eth->h_dest, 6);
	dst = bpf_map_lookup_elem(&bridge_fdb, &key);
	/* An entry older than the aging time counts as unknown. One written
	 * by another CPU in this tick can be newer than this CPU's clock
	 * (pcn_now): fresh, not 2^64 ns old. */
	if (!dst || (!(dst->flags & BRIDGE_FDB_STATIC) && now > dst->seen_ns && now - dst->seen_ns > aging))
		goto flood;
	out_port = dst->port;
	if (out_port == in_port)
		return RX_DROP; /* the destination is behind the port it came from */
	out = bpf_map_lookup_elem(&bridge_ports, &out_port);
	if (!out || out->mode == BRIDGE_PORT_NONE || !bridge_port_fwd(out, vlan))
		return RX_DROP; /* outside the VLAN (a static entry), or not forwarding */
	want_tag = out->mode == BRIDGE_PORT_TRUNK && vlan != out->pvid;
	if (want_tag != tagged) {
		if ((want_tag ? bridge_push(ctx, vlan) : bridge_pop(ctx)) < 0)
			return RX_DROP;
	}
	return pcn_pkt_send(ctx, md, out_port);
flood:
	return bridge_flood_ports(ctx, md, vlan, tagged);
}

#if defined(PCN_HOOK_XDP)
/* pcn.h's wrapper, plus the verdict of a redirect the handler set itself
 * (BRIDGE_RX_REDIRECTED: the flood's broadcast), counted as tx_netdev. A
 * framework verdict for it would let this file include pcn.h again. */
SEC(PCN_SEC)
int pcn_entry(struct __ctx_buff *ctx)
{
	struct pcn_cube_stats *st = pcn__stats();
	struct pcn_pkt_md *md = pcn__md();
	int verdict = CTX_ACT_DROP;
	int rc;

	if (!md)
		goto out;
	md->cube_index = pcn_cube_index;
	if (st)
		st->rx_packets++;

	rc = handle_rx(ctx, md);

	if (rc == BRIDGE_RX_REDIRECTED) {
		if (st)
			st->tx_netdev++;
		verdict = XDP_REDIRECT;
	} else {
		verdict = pcn__verdict(md, rc, st);
	}
out:
	return verdict;
}

char _license[] SEC("license") = "GPL";
#endif
