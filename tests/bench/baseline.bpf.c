/* Baselines for the benchmarks: what a hand-written eBPF program does
 * without Cubemesh, built for XDP and TC like a cube (-DPCN_HOOK_*).
 *
 * bl_sample: the paper's baseline (Table III), the kernel's
 * samples/bpf/xdp_redirect_kern.c as it was until Linux 5.14: the
 * interface to redirect to read from a one-entry array (tx_port), the
 * packet counted in a per-CPU array (rxcnt), the MACs swapped, then
 * bpf_redirect. bl_fwd: the same with neither map (a load-time constant
 * interface, no counter), the least a program can do to forward. bl_hop: one hop of a chain of plain tail calls; the
 * next slot is either a load-time constant (the JIT turns the tail call into
 * a direct jump) or read from a map with a per-CPU metadata update, as
 * pcn_pkt_send does. The last hop redirects.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "baseline_kern_user.h"

#if defined(PCN_HOOK_XDP)
#define BL_SEC "xdp"
#define bl_ctx xdp_md
#define BL_DROP XDP_DROP
#else
#define BL_SEC "tc"
#define bl_ctx __sk_buff
#define BL_DROP TC_ACT_SHOT
#endif

const volatile struct bl_cfg bl_cfg = { 0 };

/* The chain's programs by slot; shared by every instance of one chain. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, BL_MAX_HOPS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} bl_chain SEC(".maps");

/* Slot -> next slot, for the hops that read their target from a map. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BL_MAX_HOPS);
	__type(key, __u32);
	__type(value, __u32);
} bl_next SEC(".maps");

/* Hops done by the packet on this CPU, the stand-in for pcn_md. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bl_hops SEC(".maps");

/* bl_sample's maps, as the kernel sample names them: the out interface
 * (written by pcn-bench-baseline) and the received packets per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rxcnt SEC(".maps");

/* Swaps the MACs and redirects out of ifindex; drops a runt. */
static __always_inline int bl_swap_redirect(struct bl_ctx *ctx, __u32 ifindex)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return BL_DROP;
	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
	return bpf_redirect(ifindex, 0);
}

SEC(BL_SEC)
int bl_sample(struct bl_ctx *ctx)
{
	__u32 port = 0, key = 0, *ifindex;
	__u64 *count;

	if ((void *)(long)ctx->data + sizeof(struct ethhdr) > (void *)(long)ctx->data_end)
		return BL_DROP;
	ifindex = bpf_map_lookup_elem(&tx_port, &port);
	if (!ifindex)
		return BL_DROP;
	count = bpf_map_lookup_elem(&rxcnt, &key);
	if (count)
		*count += 1;
	return bl_swap_redirect(ctx, *ifindex);
}

/* On the out interface, as the sample's loader attaches its dummy
 * program there ("Redirect require an XDP bpf_prog loaded on the TX
 * device"): a cube attaches its netdev input program to both interfaces,
 * and a hook on the out interface changes what a frame sent out of it
 * costs (for TC: a clsact qdisc turns on the egress hook for the device). */
SEC(BL_SEC)
int bl_pass(struct bl_ctx *ctx)
{
#if defined(PCN_HOOK_XDP)
	return XDP_PASS;
#else
	return TC_ACT_OK;
#endif
}

SEC(BL_SEC)
int bl_fwd(struct bl_ctx *ctx)
{
	return bl_swap_redirect(ctx, bl_cfg.out_ifindex);
}

SEC(BL_SEC)
int bl_hop(struct bl_ctx *ctx)
{
	__u32 self = bl_cfg.self, zero = 0, *next, *hops;
	int verdict = BL_DROP;

	if (bl_cfg.last) {
		verdict = bpf_redirect(bl_cfg.out_ifindex, 0);
		goto out;
	}
	if (bl_cfg.const_key == 1) {
		/* A constant key: the JIT (kernel 6.18) patches a direct jump. */
		bpf_tail_call(ctx, &bl_chain, bl_cfg.self + 1);
		goto out;
	}
	next = bpf_map_lookup_elem(&bl_next, &self);
	hops = bpf_map_lookup_elem(&bl_hops, &zero);
	if (!next || !hops)
		goto out;
	(*hops)++;
	/* "memconst": the map-key hop's reads and write, then the constant
	 * key's direct jump; tells the indirect jump's cost from theirs. */
	if (bl_cfg.const_key == 2 && *next == bl_cfg.self + 1) {
		/* A call site of its own (clang 14 would merge it with the one
		 * below, and the verifier then sees no constant key), as
		 * pcn__tail_call_site in bpf/pcn_baked.h. */
		asm volatile("r1 = %[ctx]\n\t"
			     "r2 = %[map]\n\t"
			     "r3 = %[slot]\n\t"
			     "call 12\n\t"
			     :
			     : [ctx] "r"(ctx), [map] "r"(&bl_chain), [slot] "r"(bl_cfg.self + 1)
			     : "r0", "r1", "r2", "r3", "r4", "r5", "memory");
		goto out;
	}
	bpf_tail_call(ctx, &bl_chain, *next);
out:
	return verdict;
}

char _license[] SEC("license") = "GPL";
