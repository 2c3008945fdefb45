/* helloworld 1.1.0's fast path: the same source with HELLOWORLD_V2, whose
 * helloworld_stats value grew by a byte counter. Built only to exercise
 * upgrades, migrations and rollbacks (pcn-helloworld-v2). */
#define HELLOWORLD_V2 1
#include "helloworld.bpf.c"
