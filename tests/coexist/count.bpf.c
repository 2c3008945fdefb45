/* Another owner's program on a netdev Cubemesh also uses
 * (tests/integration/coexist.sh): it counts the frames it sees and, when
 * told to, drops them. Built once for XDP (loaded with xdp-loader or ip)
 * and once for TC (attached as a tcx link by coexist_tcx).
 *
 * cx_state[0]: frames seen; cx_state[1]: 1 = drop them (written by the
 * test with bpftool through the pinned map).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
#ifdef PCN_HOOK_XDP
	__uint(pinning, LIBBPF_PIN_BY_NAME); /* xdp-loader -p DIR pins it there */
#endif
} cx_state SEC(".maps");

/* 1 when the frame is to be dropped. */
static __always_inline int cx_seen(void)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&cx_state, &k);

	if (v)
		__sync_fetch_and_add(v, 1);
	k = 1;
	v = bpf_map_lookup_elem(&cx_state, &k);
	return v && *v;
}

#ifdef PCN_HOOK_XDP
SEC("xdp")
int cx_count(struct xdp_md *ctx)
{
	return cx_seen() ? XDP_DROP : XDP_PASS;
}
#else
SEC("tc")
int cx_count(struct __sk_buff *skb)
{
	/* TC_ACT_SHOT, or TC_ACT_UNSPEC (tcx: on to the next program). */
	return cx_seen() ? 2 : -1;
}
#endif

char _license[] SEC("license") = "GPL";
