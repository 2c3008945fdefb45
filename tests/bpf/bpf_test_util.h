/* Helpers for fast-path tests: load BPF objects without pinning anything,
 * share the pcn_* maps between them as the pins would, build real frames
 * and run programs through BPF_PROG_TEST_RUN. */
#ifndef CUBEMESH_BPF_TEST_UTIL_H
#define CUBEMESH_BPF_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <bpf/libbpf.h>

#include "pcn_kern_user.h"

/* Opens the ELF image `elf` (a skeleton's __elf_bytes) with no map pinned,
 * sets pcn_cube_index and pcn_log_level, makes every pcn_* map that `share`
 * also has the very same map (NULL: create them), and loads it.
 * Returns 0 and sets *out, or -errno (-EPERM when BPF is not permitted). */
int t_obj_load(struct bpf_object **out, const char *name, const void *elf, size_t elf_sz,
	       uint32_t cube_index, uint32_t log_level, struct bpf_object *share);

/* t_obj_load without the load: set more constants, then bpf_object__load. */
int t_obj_open(struct bpf_object **out, const char *name, const void *elf, size_t elf_sz,
	       uint32_t cube_index, uint32_t log_level, struct bpf_object *share);

/* Sets the u32 load-time constant `var` in .rodata, as cube-runtime does:
 * by name through BTF, before load. 0 or -errno. */
int t_obj_set_rodata_u32(struct bpf_object *obj, const char *var, uint32_t value);
/* The same for a constant of any type, len bytes (its size in BTF). */
int t_obj_set_rodata(struct bpf_object *obj, const char *var, const void *value, size_t len);

/* fd of the map / program called `name`, or -ENOENT. */
int t_map_fd(struct bpf_object *obj, const char *name);
int t_prog_fd(struct bpf_object *obj, const char *name);

/* Kernel id of the map behind fd (two fds of one map have one id), or 0. */
uint32_t t_map_id(int fd);

/* Deletes every entry of a hash map. 0 or -errno. */
int t_hash_clear(int fd);

/* Per-CPU maps: writes `value` (value_sz bytes) on every CPU at `key`, or
 * sums the u64 words of the values of all CPUs into `sum` (value_sz a
 * multiple of 8: pcn_percpu_sum_u64 with a u32 key) / reads the value of one
 * CPU into `out`. 0 or -errno. */
int t_percpu_set(int fd, uint32_t key, const void *value, size_t value_sz);
int t_percpu_sum_u64(int fd, uint32_t key, void *sum, size_t value_sz);
int t_percpu_get(int fd, uint32_t key, int cpu, void *out, size_t value_sz);

/* Pins this process to one CPU so that what a program left in a per-CPU
 * map can be read back from that CPU. Returns the CPU or -errno. */
int t_pin_cpu(void);

/* Writes an Ethernet + IPv4 + ICMP echo request frame (valid checksums)
 * into buf; returns its length, or 0 if cap is too small. */
size_t t_icmp_frame(uint8_t *buf, size_t cap);

/* Runs the program once on the frame; *retval is the program's verdict.
 * 0 or -errno. */
int t_run(int prog_fd, const void *frame, size_t len, uint32_t *retval);

/* True if any of the shared map names was pinned in the default bpffs root
 * since this process started, which a test that loads without pinning must
 * never cause (pins from before are another program's). */
int t_any_pin_in_default_root(void);

#endif
