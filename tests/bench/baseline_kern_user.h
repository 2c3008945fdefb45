/* Load-time configuration of the baseline programs (baseline.bpf.c), set
 * by pcn-bench-baseline before load. */
#ifndef BASELINE_KERN_USER_H
#define BASELINE_KERN_USER_H

#include <linux/types.h>

/* Slots of the baseline's own tail-call array: entry + up to 15 hops. */
#define BL_MAX_HOPS 16

struct bl_cfg {
	__u32 out_ifindex; /* where the last program redirects */
	__u32 self;        /* this program's slot in bl_chain */
	__u32 last;        /* 1: this hop redirects instead of jumping on */
	__u32 const_key;   /* 1: jump to self + 1 (a constant); 0: read it from bl_next;
			    * 2: read it, then jump by the constant (memconst) */
};

#ifndef __BPF__
_Static_assert(sizeof(struct bl_cfg) == 16, "bl_cfg layout");
#endif

#endif
