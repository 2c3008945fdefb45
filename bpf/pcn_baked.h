/* A cube's wiring as load-time constants: the peer instances of ports 0 ..
 * PCN_BAKED_PORTS - 1, read from pcn_fwd by cube-runtime when it loads the
 * program (cube-runtime/baked.c), so that a cube -> cube hop is a tail
 * call with a constant slot, which the JIT turns into a direct jump
 * (tests/bench/chain.sh: ~2-4 ns against ~20 for a slot read from a map).
 *
 * pcn_pkt_send reads the port's peer from pcn_fwd on every packet (an
 * array: the lookup is inlined) and takes the direct jump only when that
 * peer is the constant's instance; any other peer goes through the
 * map-read slot. So a program whose constants are stale (the broker
 * changed the wiring, cube-runtime has not reloaded it yet) is slower for
 * that hop, never wrong, and no generation has to be checked per packet:
 * pcn_baked_gen is for cube-runtime alone, which reloads the program when
 * the broker bumps it. Included by pcn_helpers.h after pcn_maps.h.
 */
#ifndef PCN_BAKED_H
#define PCN_BAKED_H

#include "pcn_kern_user.h"

/* Set by cube-runtime by name through BTF; the names are a contract with
 * cube-runtime/baked.c. pcn_baked_gen_c is the generation of pcn_baked_gen
 * the constants were read at (0: none), which the runtime reads back to
 * decide whether to reload; pcn_baked_kind and pcn_baked_cube are fields of
 * struct pcn_fwd_val, one plain __u32 array each so that the skeletons of
 * every program that includes this stay usable by C files that do not
 * include pcn_kern_user.h. */
const volatile __u32 pcn_baked_gen_c = 0;
const volatile __u32 pcn_baked_kind[PCN_BAKED_PORTS] = {};
const volatile __u32 pcn_baked_cube[PCN_BAKED_PORTS] = {};

_Static_assert(PCN_BAKED_PORTS == 4, "pcn__tail_call_baked has one call site per wired port");

/* 1 if port's peer is, as a load-time constant, the instance in slot. */
static __always_inline int pcn__baked_to(__u32 port, __u32 slot)
{
	return pcn_baked_gen_c && pcn_baked_kind[port] == PCN_PEER_CUBE && pcn_baked_cube[port] == slot;
}

/* A tail call into slot at a call site of its own. slot must be a value
 * the verifier knows (read from .rodata): the verifier (kernel 6.18) makes
 * a call site a direct jump only if its key is the same constant on every
 * path, and clang 14 would merge the sites of pcn__tail_call_baked into
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

/* Jumps to slot, the peer pcn_fwd names for port: by a direct jump when
 * the port's constant peer is that same instance, else through the
 * map-read slot. Returns only if the jump failed. */
static __always_inline void pcn__tail_call_baked(struct __ctx_buff *ctx, __u32 port, __u32 slot)
{
	if (port == 0 && pcn__baked_to(0, slot))
		pcn__tail_call_site(ctx, pcn_baked_cube[0], 0);
	else if (port == 1 && pcn__baked_to(1, slot))
		pcn__tail_call_site(ctx, pcn_baked_cube[1], 1);
	else if (port == 2 && pcn__baked_to(2, slot))
		pcn__tail_call_site(ctx, pcn_baked_cube[2], 2);
	else if (port == 3 && pcn__baked_to(3, slot))
		pcn__tail_call_site(ctx, pcn_baked_cube[3], 3);
	else
		bpf_tail_call(ctx, &PCN_PP, slot);
}

#endif /* PCN_BAKED_H */
