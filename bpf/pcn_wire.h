/* A cube's wiring as load-time constants: the peers of ports 0 ..
 * PCN_WIRE_PORTS - 1, read from pcn_fwd by cube-runtime when it loads the
 * program (cube-runtime/wiring.c), so that pcn_pkt_send skips the pcn_fwd
 * lookup and a cube -> cube hop is a tail call with a constant slot, which
 * the JIT turns into a direct jump (tests/bench/chain.sh: ~2-4 ns against
 * ~20 for a slot read from a map).
 *
 * The constants are used only while pcn_wire_gen[instance] (an array: the
 * lookup is inlined) equals pcn_wire_gen_c, the generation they were read
 * at: the broker bumps it when it changes one of the instance's pcn_fwd
 * entries, so from then on pcn_pkt_send reads pcn_fwd as before, until the
 * runtime has reloaded the program with the new wiring. Included by
 * pcn_helpers.h after pcn_maps.h.
 */
#ifndef PCN_WIRE_H
#define PCN_WIRE_H

#include "pcn_kern_user.h"

/* Set by cube-runtime by name through BTF; the names are a contract with
 * cube-runtime/wiring.c. Generation 0 means "no constants". The fields of
 * struct pcn_fwd_val, one array each: plain __u32 arrays keep the
 * skeletons of every program that includes this usable by C files that
 * do not include pcn_kern_user.h. */
const volatile __u32 pcn_wire_gen_c = 0;
const volatile __u32 pcn_wire_kind[PCN_WIRE_PORTS] = {};
const volatile __u32 pcn_wire_ifindex[PCN_WIRE_PORTS] = {};
const volatile __u32 pcn_wire_cube[PCN_WIRE_PORTS] = {};
const volatile __u32 pcn_wire_port[PCN_WIRE_PORTS] = {};

_Static_assert(PCN_WIRE_PORTS == 4, "pcn__tail_call_wired has one call site per wired port");

/* Copies the constant peer of port into *peer and returns the port, if the
 * constants are current and cover it; -1 (pcn_fwd must be read) if not. */
static __always_inline int pcn__wired(__u32 port, struct pcn_fwd_val *peer)
{
	__u32 key = pcn_cube_index;
	__u32 *gen;

	if (!pcn_wire_gen_c || port >= PCN_WIRE_PORTS)
		return -1;
	gen = bpf_map_lookup_elem(&pcn_wire_gen, &key);
	if (!gen || *gen != pcn_wire_gen_c)
		return -1;
	peer->kind = pcn_wire_kind[port];
	peer->ifindex = pcn_wire_ifindex[port];
	peer->cube_index = pcn_wire_cube[port];
	peer->port = pcn_wire_port[port];
	return (int)port;
}

/* A tail call into slot at a call site of its own. slot must be a value
 * the verifier knows (read from .rodata): the verifier (kernel 6.18) makes
 * a call site a direct jump only if its key is the same constant on every
 * path, and clang 14 would merge the sites of pcn__tail_call_wired into
 * one whose key differs by path; the asm, with a different `site` each
 * (loaded into r0, which the call overwrites), keeps them apart, as
 * Cilium's tail_call_static does. */
static __always_inline void pcn__tail_call_site(struct __ctx_buff *ctx, __u32 slot, const int site)
{
	asm volatile("r1 = %[ctx]\n\t"
		     "r2 = %[map]\n\t"
		     "r3 = %[slot]\n\t"
		     "r0 = %[site]\n\t"
		     "call 12\n\t"
		     :
		     : [ctx] "r"(ctx), [map] "r"(&PCN_PP), [slot] "r"(slot), [site] "i"(site)
		     : "r0", "r1", "r2", "r3", "r4", "r5", "memory");
}

/* Jumps to slot: by a direct jump when wired (pcn__wired's result) names a
 * port whose peer is a constant, else through the map-read slot. Returns
 * only if the jump failed. */
static __always_inline void pcn__tail_call_wired(struct __ctx_buff *ctx, int wired, __u32 slot)
{
	switch (wired) {
	case 0:
		pcn__tail_call_site(ctx, pcn_wire_cube[0], 0);
		break;
	case 1:
		pcn__tail_call_site(ctx, pcn_wire_cube[1], 1);
		break;
	case 2:
		pcn__tail_call_site(ctx, pcn_wire_cube[2], 2);
		break;
	case 3:
		pcn__tail_call_site(ctx, pcn_wire_cube[3], 3);
		break;
	default:
		bpf_tail_call(ctx, &PCN_PP, slot);
		break;
	}
}

#endif /* PCN_WIRE_H */
