/* A bitmap allocator of small integer ids.
 *
 * The broker hands out PatchPanel slots (first = 1, count = PCN_MAX_CUBES - 1:
 * slot 0 stays empty on purpose, so a zeroed index is never a live program)
 * and the port numbers of each instance (first = 0, count = PCN_MAX_PORTS).
 * Ids come back lowest first, so a freed id is reused before the range grows,
 * and ids restored from the datastore are reserved exactly.
 *
 * Not thread-safe: the broker's loop thread owns every allocator.
 */
#ifndef BROKER_IDALLOC_H
#define BROKER_IDALLOC_H

#include <stdbool.h>
#include <stdint.h>

struct broker_idalloc {
	uint32_t first;  /* lowest id */
	uint32_t count;  /* ids first .. first + count - 1 */
	uint32_t used;   /* how many are allocated */
	uint64_t *bits;  /* bit i set: id first + i is allocated */
};

/* Initializes a (caller's storage) for ids first .. first + count - 1 and
 * allocates its bitmap. Returns 0, -EINVAL (count 0, or ids past INT_MAX:
 * get returns them as int), or -ENOMEM. */
int broker_idalloc_init(struct broker_idalloc *a, uint32_t first, uint32_t count);
/* Frees the bitmap; a stays reusable with init. Accepts a zeroed or
 * already finalized allocator. */
void broker_idalloc_fini(struct broker_idalloc *a);
/* Allocates the lowest free id and returns it (>= 0), or -ENOSPC. */
int broker_idalloc_get(struct broker_idalloc *a);
/* Allocates exactly id (restored from the datastore): 0, -EEXIST if it is
 * taken, -ERANGE if outside the range. */
int broker_idalloc_reserve(struct broker_idalloc *a, uint32_t id);
/* Frees id: 0, -ENOENT if it was not allocated, -ERANGE if outside. */
int broker_idalloc_put(struct broker_idalloc *a, uint32_t id);
/* True if id is allocated (false outside the range). */
bool broker_idalloc_used(const struct broker_idalloc *a, uint32_t id);

#endif
