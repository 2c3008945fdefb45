/* simpleforwarder: what its fast path and its control plane share. */
#ifndef SIMPLEFORWARDER_SHARED_H
#define SIMPLEFORWARDER_SHARED_H

#include <linux/types.h>

/* What to do with a packet from a port; numbered as the YANG enumeration. */
enum simplefwd_action_kind {
	SIMPLEFWD_ACTION_DROP = 0,
	SIMPLEFWD_ACTION_SLOWPATH = 1,
	SIMPLEFWD_ACTION_FORWARD = 2, /* out of `outport` */
};

/* Value of simplefwd_actions, keyed by the ingress port (__u32). */
struct simplefwd_action {
	__u32 action;  /* enum simplefwd_action_kind */
	__u32 outport; /* SIMPLEFWD_ACTION_FORWARD only */
};

#ifndef __BPF__
_Static_assert(sizeof(struct simplefwd_action) == 8, "simplefwd_action layout");
#endif

#endif /* SIMPLEFORWARDER_SHARED_H */
