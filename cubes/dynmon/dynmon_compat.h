/* What dynmon puts in front of a user's code (Polycube's dynmon dialect),
 * so that code written for Polycube builds unchanged with clang into an
 * object cube-runtime loads:
 *
 *   BPF_ARRAY(PKT_COUNTER, uint64_t, 1);
 *   static __always_inline int handle_rx(struct CTXTYPE *ctx, struct pkt_metadata *md)
 *   {
 *           unsigned int key = 0;
 *           uint64_t *c = PKT_COUNTER.lookup(&key);
 *           if (c) *c += 1;
 *           pcn_log(ctx, LOG_TRACE, "counter: %d", *c);
 *           return RX_OK;
 *   }
 *
 * - The wrapper (dynmon_entry.h) comes first; after the user's code dynmon
 *   adds DYNMON_PROGRAM(handle_rx), which makes the user's handler micro-cube
 *   1 of its direction (-DDYNMON_EGRESS for the egress path).
 * - Map declarations in bcc's style (BPF_TABLE, BPF_ARRAY, BPF_HASH,
 *   BPF_PERCPU_ARRAY, BPF_PERCPU_HASH, BPF_QUEUE, BPF_STACK, the _SHARED /
 *   _PUBLIC / _PINNED variants) declare a libbpf map plus a constant object
 *   of the same name whose members are functions: NAME.lookup(&k),
 *   .update(&k, &v), .insert(&k, &v), .delete(&k), .lookup_or_init(&k, &z),
 *   .lookup_or_try_init(&k, &z), .increment(k), .push(&v, flags),
 *   .pop(&v), .peek(&v). clang folds each call through the constant into a
 *   direct call (BPF has no indirect calls), so they cost what
 *   bpf_map_*_elem costs.
 * - The map itself is named with a prefix per direction, dmi_NAME
 *   (ingress) or dme_NAME (egress), so the two paths' maps never collide
 *   (as in Polycube, where each path is its own program); a _SHARED,
 *   _PUBLIC or _PINNED map is dm_NAME, one map for both paths of the
 *   instance. Metric configs name the map as the code does (NAME).
 */
#ifndef DYNMON_COMPAT_H
#define DYNMON_COMPAT_H

#include "dynmon_entry.h"

/* ---- Polycube's names ---------------------------------------------------- */

#define pkt_metadata pcn_pkt_md

/* bcc's and <stdint.h>'s integer types (the same types glibc gives them on
 * x86-64, so a user's #include <stdint.h> does not conflict). */
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long uint64_t;
typedef signed char int8_t;
typedef short int16_t;
typedef int int32_t;
typedef long int64_t;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;

#define bpf_trace_printk(fmt, ...) bpf_printk(fmt, ##__VA_ARGS__)

/* ---- maps ------------------------------------------------------------------ */

#define DM__CAT2(a, b) a##b
#define DM__CAT(a, b) DM__CAT2(a, b)
#ifdef DYNMON_EGRESS
#define DYNMON__PREFIX dme_
#else
#define DYNMON__PREFIX dmi_
#endif
#define DM__PRIVATE(name) DM__CAT(DYNMON__PREFIX, name)
#define DM__SHARED(name) DM__CAT(dm_, name)

/* bcc's table type names, as the map type: folded by clang at compile
 * time; an unknown name gives map type 0, which libbpf refuses. */
#define DM__IS(s, lit) (__builtin_strcmp((s), (lit)) == 0)
#define DM__TYPE(s)                                                                                \
	(DM__IS(s, "hash")              ? BPF_MAP_TYPE_HASH                                        \
	 : DM__IS(s, "array")           ? BPF_MAP_TYPE_ARRAY                                       \
	 : DM__IS(s, "percpu_hash")     ? BPF_MAP_TYPE_PERCPU_HASH                                 \
	 : DM__IS(s, "percpu_array")    ? BPF_MAP_TYPE_PERCPU_ARRAY                                \
	 : DM__IS(s, "lru_hash")        ? BPF_MAP_TYPE_LRU_HASH                                    \
	 : DM__IS(s, "lru_percpu_hash") ? BPF_MAP_TYPE_LRU_PERCPU_HASH                             \
	 : DM__IS(s, "lpm_trie")        ? BPF_MAP_TYPE_LPM_TRIE                                    \
					: 0)

/* The functions behind NAME.lookup() & co. for map variable m. */
#define DM__FUNCS(_key, _leaf, _name, m)                                                           \
	static __always_inline _leaf *_name##__lookup(const void *k)                               \
	{                                                                                          \
		return bpf_map_lookup_elem(&m, k);                                                 \
	}                                                                                          \
	static __always_inline int _name##__update(const void *k, const void *v)                   \
	{                                                                                          \
		return bpf_map_update_elem(&m, k, v, BPF_ANY);                                     \
	}                                                                                          \
	static __always_inline int _name##__insert(const void *k, const void *v)                   \
	{                                                                                          \
		return bpf_map_update_elem(&m, k, v, BPF_NOEXIST);                                 \
	}                                                                                          \
	static __always_inline int _name##__delete(const void *k)                                  \
	{                                                                                          \
		return bpf_map_delete_elem(&m, k);                                                 \
	}                                                                                          \
	static __always_inline _leaf *_name##__lookup_or_init(const void *k, const void *z)        \
	{                                                                                          \
		_leaf *v = bpf_map_lookup_elem(&m, k);                                             \
		if (!v) {                                                                          \
			bpf_map_update_elem(&m, k, z, BPF_NOEXIST);                                \
			v = bpf_map_lookup_elem(&m, k);                                            \
		}                                                                                  \
		return v;                                                                          \
	}                                                                                          \
	static __always_inline void _name##__increment(_key key)                                   \
	{                                                                                          \
		_leaf *v = bpf_map_lookup_elem(&m, &key);                                          \
		if (v) {                                                                           \
			if (sizeof(_leaf) == 8)                                                    \
				__sync_fetch_and_add((__u64 *)v, 1);                               \
			else if (sizeof(_leaf) == 4)                                               \
				__sync_fetch_and_add((__u32 *)v, 1);                               \
		} else {                                                                           \
			_leaf one;                                                                 \
			__builtin_memset(&one, 0, sizeof(one));                                    \
			*(__u8 *)&one = 1;                                                         \
			bpf_map_update_elem(&m, &key, &one, BPF_NOEXIST);                          \
		}                                                                                  \
	}                                                                                          \
	static const struct {                                                                      \
		_leaf *(*lookup)(const void *);                                                    \
		int (*update)(const void *, const void *);                                         \
		int (*insert)(const void *, const void *);                                         \
		int (*delete)(const void *);                                                       \
		_leaf *(*lookup_or_init)(const void *, const void *);                              \
		_leaf *(*lookup_or_try_init)(const void *, const void *);                          \
		void (*increment)(_key);                                                           \
	} _name __attribute__((unused)) = {                                                        \
		_name##__lookup, _name##__update, _name##__insert, _name##__delete,                \
		_name##__lookup_or_init, _name##__lookup_or_init, _name##__increment,              \
	}

/* "array" maps are mmapable: swap-on-read exchanges their values with 0
 * from user space, atomically with respect to the program. */
#define DM__FLAGS(_type) ((_type) == BPF_MAP_TYPE_ARRAY ? BPF_F_MMAPABLE : 0)

#define DM__TABLE(_type, _key, _leaf, _name, _max, m)                                              \
	struct {                                                                                   \
		__uint(type, _type);                                                               \
		__uint(max_entries, _max);                                                         \
		__uint(map_flags, DM__FLAGS(_type));                                               \
		__type(key, _key);                                                                 \
		__type(value, _leaf);                                                              \
	} m SEC(".maps");                                                                          \
	DM__FUNCS(_key, _leaf, _name, m)

/* bcc's BPF_TABLE("hash", key, leaf, name, size) and its scopes. */
#define BPF_TABLE(_table_type, _key, _leaf, _name, _max)                                           \
	DM__TABLE(DM__TYPE(_table_type), _key, _leaf, _name, _max, DM__PRIVATE(_name))
#define BPF_TABLE_SHARED(_table_type, _key, _leaf, _name, _max)                                    \
	DM__TABLE(DM__TYPE(_table_type), _key, _leaf, _name, _max, DM__SHARED(_name))
#define BPF_TABLE_PUBLIC BPF_TABLE_SHARED
#define BPF_TABLE_PINNED(_table_type, _key, _leaf, _name, _max, _pin)                              \
	BPF_TABLE_SHARED(_table_type, _key, _leaf, _name, _max)

/* bcc's optional arguments: BPF_HASH(name[, key[, leaf[, size]]]). */
#define DM__NARG(...) DM__NARG_(__VA_ARGS__, 4, 3, 2, 1, 0)
#define DM__NARG_(a, b, c, d, n, ...) n
#define DM__VARIANT(base, ...) DM__CAT(base, DM__NARG(__VA_ARGS__))(__VA_ARGS__)

#define BPF_HASH(...) DM__VARIANT(DM__HASH, __VA_ARGS__)
#define DM__HASH1(n) BPF_TABLE("hash", u64, u64, n, 10240)
#define DM__HASH2(n, k) BPF_TABLE("hash", k, u64, n, 10240)
#define DM__HASH3(n, k, l) BPF_TABLE("hash", k, l, n, 10240)
#define DM__HASH4(n, k, l, s) BPF_TABLE("hash", k, l, n, s)

#define BPF_PERCPU_HASH(...) DM__VARIANT(DM__PHASH, __VA_ARGS__)
#define DM__PHASH1(n) BPF_TABLE("percpu_hash", u64, u64, n, 10240)
#define DM__PHASH2(n, k) BPF_TABLE("percpu_hash", k, u64, n, 10240)
#define DM__PHASH3(n, k, l) BPF_TABLE("percpu_hash", k, l, n, 10240)
#define DM__PHASH4(n, k, l, s) BPF_TABLE("percpu_hash", k, l, n, s)

#define BPF_ARRAY(...) DM__VARIANT(DM__ARRAY, __VA_ARGS__)
#define DM__ARRAY1(n) BPF_TABLE("array", int, u64, n, 10240)
#define DM__ARRAY2(n, l) BPF_TABLE("array", int, l, n, 10240)
#define DM__ARRAY3(n, l, s) BPF_TABLE("array", int, l, n, s)

#define BPF_PERCPU_ARRAY(...) DM__VARIANT(DM__PARRAY, __VA_ARGS__)
#define DM__PARRAY1(n) BPF_TABLE("percpu_array", int, u64, n, 10240)
#define DM__PARRAY2(n, l) BPF_TABLE("percpu_array", int, l, n, 10240)
#define DM__PARRAY3(n, l, s) BPF_TABLE("percpu_array", int, l, n, s)

/* Queues and stacks: no key; NAME.push(&v, flags), .pop(&v), .peek(&v). */
#define DM__QUEUESTACK(_type, _leaf, _name, _max, m)                                               \
	struct {                                                                                   \
		__uint(type, _type);                                                               \
		__uint(max_entries, _max);                                                         \
		__type(value, _leaf);                                                              \
	} m SEC(".maps");                                                                          \
	static __always_inline int _name##__push(const void *v, __u64 f)                           \
	{                                                                                          \
		return bpf_map_push_elem(&m, v, f);                                                \
	}                                                                                          \
	static __always_inline int _name##__pop(void *v)                                           \
	{                                                                                          \
		return bpf_map_pop_elem(&m, v);                                                    \
	}                                                                                          \
	static __always_inline int _name##__peek(void *v)                                          \
	{                                                                                          \
		return bpf_map_peek_elem(&m, v);                                                   \
	}                                                                                          \
	static const struct {                                                                      \
		int (*push)(const void *, __u64);                                                  \
		int (*pop)(void *);                                                                \
		int (*peek)(void *);                                                               \
	} _name __attribute__((unused)) = { _name##__push, _name##__pop, _name##__peek }
#define BPF_QUEUE(_name, _leaf, _max) DM__QUEUESTACK(BPF_MAP_TYPE_QUEUE, _leaf, _name, _max, DM__PRIVATE(_name))
#define BPF_STACK(_name, _leaf, _max) DM__QUEUESTACK(BPF_MAP_TYPE_STACK, _leaf, _name, _max, DM__PRIVATE(_name))
#define BPF_QUEUESTACK(_type, _name, _leaf, _max, _flags)                                          \
	DM__QUEUESTACK(DM__IS(_type, "queue") ? BPF_MAP_TYPE_QUEUE : BPF_MAP_TYPE_STACK, _leaf, _name, \
		       _max, DM__PRIVATE(_name))
#define BPF_QUEUESTACK_SHARED(_type, _name, _leaf, _max, _flags)                                   \
	DM__QUEUESTACK(DM__IS(_type, "queue") ? BPF_MAP_TYPE_QUEUE : BPF_MAP_TYPE_STACK, _leaf, _name, \
		       _max, DM__SHARED(_name))
#define BPF_QUEUESTACK_PUBLIC BPF_QUEUESTACK_SHARED

/* ---- the program ------------------------------------------------------------ */

/* Follows the user's code: its handle_rx becomes the direction's
 * micro-cube 1, which dynmon_entry.h jumps to. */
#ifdef DYNMON_EGRESS
#define DYNMON_PROGRAM(fn) PCN_MICRO_CUBE_EGRESS(1, fn)
#else
#define DYNMON_PROGRAM(fn) PCN_MICRO_CUBE_INGRESS(1, fn)
#endif

#endif /* DYNMON_COMPAT_H */
