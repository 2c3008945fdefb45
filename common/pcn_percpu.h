/* Per-CPU map values from user space: one value added up over every CPU as
 * u64 counters, or set to zeros on every CPU. Used for the framework's
 * counters (pcn_cube_stats, pcn_chain_stats) and a cube's own per-CPU maps
 * (pcn_map_sum_u64).
 *
 * A per-CPU lookup returns one value per *possible* CPU
 * (libbpf_num_possible_cpus(), not only the online ones), each rounded up
 * to 8 bytes. value_size is the map's value size, which the caller knows
 * (the struct both sides share, or bpf_map__value_size): a smaller one
 * would let the kernel write past the buffer, so it is never guessed. It
 * costs no system call beyond the lookup or update itself.
 */
#ifndef CUBEMESH_PCN_PERCPU_H
#define CUBEMESH_PCN_PERCPU_H

#include <stddef.h>

/* Bytes of one CPU's value in a per-CPU lookup's buffer. */
static inline size_t pcn_percpu_stride(size_t value_size)
{
	return (value_size + 7) & ~(size_t)7;
}

/* Adds up key's value over every possible CPU as u64 counters: the i-th
 * u64 of sum receives the sum of the i-th u64 of each CPU's value. fd: a
 * PERCPU_ARRAY, PERCPU_HASH or LRU_PERCPU_HASH map of value_size bytes.
 * sum_size bytes are written (a multiple of 8, at most the stride: the
 * first counters of a longer value may be summed alone), and only on
 * success. 0; -EINVAL (a size, a NULL key or sum); -ENOMEM; the lookup's -errno
 * (-ENOENT: no such key); or libbpf_num_possible_cpus()'s error. */
int pcn_percpu_sum_u64(int fd, const void *key, size_t value_size, void *sum, size_t sum_size);

/* Sets key's value to zeros on every possible CPU. The key must exist: a
 * hash map never gains an entry (-ENOENT), an array's key past its end is
 * -E2BIG. 0, -EINVAL (value_size 0, NULL key), -ENOMEM, the update's
 * -errno, or libbpf_num_possible_cpus()'s error. */
int pcn_percpu_reset(int fd, const void *key, size_t value_size);

#endif /* CUBEMESH_PCN_PERCPU_H */
