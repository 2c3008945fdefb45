/* Chaining counters shared by the fast path and user space: why a tail
 * call was missed, per instance.
 *
 * pcn_cube_stats.drop_tail_call counts every missed tail call of an
 * instance; pcn_chain_stats says why, one counter per reason, so that no
 * packet leaves a chain without a counter naming the cause.
 */
#ifndef PCN_CHAIN_KERN_USER_H
#define PCN_CHAIN_KERN_USER_H

#include <linux/types.h>

#define PCN_MAP_CHAIN_STATS "pcn_chain_stats"

/* The kernel's limit of tail calls per packet (MAX_TAIL_CALL_CNT, 33 on
 * kernel 6.18). The netdev input program spends one to enter the first
 * cube, so a packet can cross PCN_MAX_HOPS cube-to-cube wires (md->hops
 * counts them) before the kernel would refuse the next jump. */
#define PCN_TAIL_CALL_LIMIT 33
#define PCN_MAX_HOPS (PCN_TAIL_CALL_LIMIT - 1)

/* Why a tail call was missed. Index of pcn_chain_stats.miss; the names in
 * pcn_miss_reason_names (user space) follow the same order. */
enum pcn_miss_reason {
	PCN_MISS_EMPTY_SLOT = 0, /* PatchPanel slot empty: the cube was removed or not yet installed */
	PCN_MISS_HOP_LIMIT = 1,  /* the chain is longer than the kernel's tail-call limit */
	PCN_MISS_MICRO_CUBE = 2, /* pcn_call_*_program: the cube's own program array slot is empty */
	PCN_MISS_RESUMED = 3,    /* not lost: past the hop limit, handed to the slow path to resume */
	PCN_MISS_REASONS = 4,
};

#define PCN_MAP_CHAIN_CFG "pcn_chain_cfg"
/* Per-instance chaining options, written by the broker from the instance's
 * configuration (pcn_chain_cfg, indexed by cube_index). */
struct pcn_chain_cfg {
	__u32 resume; /* resume-long-chains: past the hop limit, go on through the slow path */
};
/* Kind of the slow-path ring record of a packet to resume (beside
 * enum pcn_slowpath_kind): hdr.cube_index and hdr.port name where it
 * enters next, the broker injects it there. */
#define PCN_SP_RESUME 4

/* Per-instance missed tail calls by reason (per-CPU array indexed by
 * cube_index). */
struct pcn_chain_stats {
	__u64 miss[PCN_MISS_REASONS];
};

#ifndef __BPF__
/* REST/metrics names of the reasons, in enum order (NULL: unused). */
static const char *const pcn_miss_reason_names[PCN_MISS_REASONS] = {
	"empty-slot",
	"hop-limit",
	"micro-cube",
	"resumed",
};
_Static_assert(sizeof(struct pcn_chain_stats) == 32, "pcn_chain_stats layout");
_Static_assert(sizeof(struct pcn_chain_cfg) == 4, "pcn_chain_cfg layout");
#endif

#endif /* PCN_CHAIN_KERN_USER_H */
