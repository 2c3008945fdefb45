/* What nat.c and nat_ct.c (the control plane's two halves) share. */
#ifndef NAT_CP_H
#define NAT_CP_H

#include "nat_shared.h"
#include "pcn_cube.h"

/* A number of pcn-nat's environment (NAT_UDP_TIMEOUT...), def when absent
 * or not a number in 1..1000000. */
unsigned nat_env(const char *name, unsigned def);
int nat_cfg_get(struct pcn_instance *inst, struct nat_cfg *c);
/* The timeouts' sweep (a pcn_timer callback; nat_test runs it directly):
 * removes both entries of every flow idle past its timeout, and the flows
 * masqueraded to an address the parent no longer has. */
void nat__sweep(struct pcn_instance *inst, void *arg);
/* natting-table: one row per flow, from its outgoing entry. */
int nat_read_table(struct pcn_instance *inst, struct pcn_state *st);

#endif /* NAT_CP_H */
