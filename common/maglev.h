/* Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table
 * of prime size M whose entries name backends, filled so that each backend
 * holds a share of the entries proportional to its weight, and so that a
 * change of the backend set moves few entries.
 *
 * Each backend has a stable identity (a 64-bit id: its address, its MAC):
 * its preference order over the table's entries comes from hashing the id
 * only, so the table for a set of backends does not depend on their order
 * in the configuration or on the others' ids beyond the competition for
 * entries. Removing one backend moves its own entries and, measured, well
 * under 1% of the others'.
 *
 * Pure C: no BPF. The load balancers' control planes build the table here
 * and write it into the map their fast path indexes with a flow's hash:
 * entry = table[flow_hash % M]. */
#ifndef MAGLEV_H
#define MAGLEV_H

#include <stddef.h>
#include <stdint.h>

/* The default table size: a prime, so every skip visits every entry. */
#define MAGLEV_M_DEFAULT 65537u
/* A table entry no backend holds (no backend, or all of weight 0). */
#define MAGLEV_NONE 0xffffu
/* Backends per table: entries are 16-bit indexes, MAGLEV_NONE excluded. */
#define MAGLEV_MAX_BACKENDS 65535u

struct maglev_backend {
	uint64_t id;     /* stable identity; unique in a set */
	uint32_t weight; /* 0: holds no entry (gets no new flows) */
};

/* 1 if m is prime, else 0. */
int maglev_is_prime(uint32_t m);

/* Fills table[0..m-1] with indexes into b[] (MAGLEV_NONE where no backend
 * can be placed: n == 0 or every weight 0). m must be a prime >= 3. Returns
 * 0, -EINVAL (m not prime, n too large, two backends with one id) or
 * -ENOMEM. */
int maglev_build(const struct maglev_backend *b, size_t n, uint32_t m, uint16_t *table);

/* The 64-bit mixer the table's preferences are built on (splitmix64's
 * finalizer), exposed for tests and for deriving ids. */
uint64_t maglev_mix64(uint64_t x);

#endif /* MAGLEV_H */
