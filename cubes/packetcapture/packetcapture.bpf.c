/* packetcapture fast path: passes every packet and copies those the
 * capture wants (its direction is on, and the filter matches) into a BPF
 * ring buffer that the cube's process writes out as pcap.
 *
 * The filter is the user's tcpdump expression, compiled by libpcap into
 * classic BPF and translated into C by the control plane (pc_cbpf.c); that
 * C goes in place of the marker below and the control plane reloads
 * ingress micro-cube 1 from the whole source (pcn_reload: one atomic slot
 * update, no packet lost). Both directions call the same micro-cube. With
 * no filter ("all") the micro-cube is skipped: the only cost is the copy.
 *
 * A full ring buffer drops the capture, never the packet: the record is
 * counted in pc_ctr.dropped and the packet goes on.
 *
 * Self-contained but for bpf/ headers: cube-runtime compiles it at run
 * time (the control plane puts packetcapture_shared.h in front of it). */
#include "pcn_transparent.h"
/* After pcn_transparent.h: a micro-cube's RX_OK goes on through the stack. */
#include "pcn_ucube.h"
#ifndef PC_SOURCE_INLINE
#include "packetcapture_shared.h"
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pc_cfg);
} pc_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct pc_ctr);
} pc_ctr SEC(".maps");

/* 32 MiB: at 64-byte captures (96 bytes a record) about 350k packets, a
 * third of a second at 1 Mpps, for the writer to catch up. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20);
} pc_ring SEC(".maps");

/* ---- packet loads for the filter (classic BPF's semantics) --------------- */

/* The packet's length on the wire (classic BPF's "len"). */
static __always_inline __u32 pc_wirelen(struct __ctx_buff *ctx)
{
#if defined(PCN_HOOK_XDP)
	return (__u32)bpf_xdp_get_buff_len(ctx);
#else
	return ctx->len;
#endif
}

/* Reads n (1, 2 or 4) bytes at off, big-endian, into *v; -1 past the end
 * of the packet (classic BPF then rejects it). Direct access to the
 * linear part, the load helper beyond it (TC's paged data, XDP's frags). */
static __always_inline int pc_ld(struct __ctx_buff *ctx, __u32 off, const __u32 n, __u32 *v)
{
	__u8 *p = ctx_data(ctx), *end = ctx_data_end(ctx), buf[4] = {};
	long rc;

	if (off > 0xffff)
		return -1;
	p += off;
	if (p + n <= end) {
		if (n == 1)
			*v = p[0];
		else if (n == 2)
			*v = (__u32)p[0] << 8 | p[1];
		else
			*v = (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
		return 0;
	}
#if defined(PCN_HOOK_XDP)
	rc = bpf_xdp_load_bytes(ctx, off, buf, n);
#else
	rc = bpf_skb_load_bytes(ctx, off, buf, n);
#endif
	if (rc)
		return -1;
	if (n == 1)
		*v = buf[0];
	else if (n == 2)
		*v = (__u32)buf[0] << 8 | buf[1];
	else
		*v = (__u32)buf[0] << 24 | (__u32)buf[1] << 16 | (__u32)buf[2] << 8 | buf[3];
	return 0;
}

/* PC_FILTER_HERE: the control plane puts the generated pc_filter here,
 * with #define PC_FILTER_GENERATED. It returns classic BPF's verdict: 0
 * rejects, anything else is how many bytes to keep. The built-in one
 * (slot 1 before a filter is loaded, or after the runtime reloaded the
 * whole fast path from the cube's object, until the control plane puts
 * the filter back) matches nothing: better no capture than everything. */
#ifndef PC_FILTER_GENERATED
static __always_inline __u32 pc_filter(struct __ctx_buff *ctx, __u32 wirelen)
{
	(void)ctx;
	(void)wirelen;
	return 0;
}
#endif

/* ---- the capture ------------------------------------------------------------ */

/* No wakeup per record: the writer drains the ring every 10 ms anyway
 * (pc_writer.c), and a wakeup (an irq_work, then the writer's epoll) or
 * even asking the ring how full it is costs more per packet than the
 * copy. 10 ms at line rate is far less than the ring holds. */
#define PC_SUBMIT_FLAGS BPF_RB_NO_WAKEUP

/* One size of record: reserve (a constant, as the helper wants), copy
 * caplen bytes, submit; a full ring counts a drop. Small buckets copy the
 * whole bucket straight from the packet when it is that long (the record
 * says caplen; the rest is never read): no helper call. */
#define PC_TRY_BUCKET(B, DIRECT)                                                                   \
	if (caplen <= (B)) {                                                                       \
		struct pc_rec *r = bpf_ringbuf_reserve(&pc_ring, sizeof(struct pc_rec) + (B), 0); \
		__u8 *data = ctx_data(ctx);                                                        \
		__u64 n = caplen;                                                                  \
		if (!r)                                                                            \
			goto full;                                                                 \
		if (DIRECT && (void *)(data + (B)) <= ctx_data_end(ctx)) {                         \
			__builtin_memcpy(r + 1, data, (B));                                        \
		} else {                                                                           \
			asm volatile("" : "+r"(n));                                                \
			if (n < 1 || n > (B)) {                                                    \
				bpf_ringbuf_discard(r, 0);                                         \
				return;                                                            \
			}                                                                          \
			if (PC_LOAD(ctx, r + 1, n)) {                                              \
				bpf_ringbuf_discard(r, 0);                                         \
				return;                                                            \
			}                                                                          \
		}                                                                                  \
		r->ts_ns = ts;                                                                     \
		r->len = wirelen;                                                                  \
		r->caplen = caplen;                                                                \
		r->dir = dir;                                                                      \
		r->pad = 0;                                                                        \
		bpf_ringbuf_submit(r, PC_SUBMIT_FLAGS);                                            \
		c->captured++;                                                                     \
		return;                                                                            \
	}

#if defined(PCN_HOOK_XDP)
#define PC_LOAD(ctx, dst, n) bpf_xdp_load_bytes(ctx, 0, dst, n)
#else
#define PC_LOAD(ctx, dst, n) bpf_skb_load_bytes(ctx, 0, dst, n)
#endif

/* Records the first caplen bytes of the packet (caplen >= 1). */
static __always_inline void pc_capture(struct __ctx_buff *ctx, __u32 dir, __u32 wirelen, __u32 caplen)
{
	struct pc_ctr *c = bpf_map_lookup_elem(&pc_ctr, &dir);
	__u64 ts = bpf_ktime_get_ns();

	if (!c)
		return;
	PC_TRY_BUCKET(64, 1)
	PC_TRY_BUCKET(128, 1)
	PC_TRY_BUCKET(256, 0)
	PC_TRY_BUCKET(512, 0)
	PC_TRY_BUCKET(1024, 0)
	PC_TRY_BUCKET(1536, 0)
	PC_TRY_BUCKET(4096, 0)
	PC_TRY_BUCKET(9216, 0)
	PC_TRY_BUCKET(PC_MAX_CAPLEN, 0)
	return;
full:
	c->dropped++;
}

static __always_inline __u32 pc_min(__u32 a, __u32 b)
{
	return a < b ? a : b;
}

/* The filter's verdict applied: nothing, or the packet up to the
 * filter's length and the snap length. */
static __always_inline void pc_filtered(struct __ctx_buff *ctx, const struct pc_cfg *cfg, __u32 dir, __u32 wirelen,
					__u32 keep)
{
	__u32 caplen = pc_min(pc_min(keep, cfg->snaplen), pc_min(wirelen, PC_MAX_CAPLEN));

	if (caplen)
		pc_capture(ctx, dir, wirelen, caplen);
}

/* Ingress micro-cube 1, for both directions: the filter, then the capture. */
static __always_inline int pc_uc_filter(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	__u32 zero = 0, dir = md->in_port == PCN_TDIR_EGRESS ? PC_DIR_EGRESS : PC_DIR_INGRESS;
	struct pc_cfg *cfg = bpf_map_lookup_elem(&pc_cfg, &zero);
	__u32 wirelen = pc_wirelen(ctx);

	if (cfg)
		pc_filtered(ctx, cfg, dir, wirelen, pc_filter(ctx, wirelen));
	return RX_OK;
}

PCN_MICRO_CUBE_INGRESS(1, pc_uc_filter)

static __always_inline int pc_handle(struct __ctx_buff *ctx, struct pcn_pkt_md *md, __u32 dir)
{
	__u32 zero = 0;
	struct pc_cfg *cfg = bpf_map_lookup_elem(&pc_cfg, &zero);

	if (!cfg || !(cfg->dirs & (1u << dir)) || cfg->mode == PC_MODE_PENDING)
		return RX_OK;
	if (cfg->mode == PC_MODE_FILTER) {
		/* On success the micro-cube passes the packet on itself; a
		 * failed jump (hop limit) loses the capture, not the packet. */
		pcn_call_ingress_program(ctx, md, 1);
		return RX_OK;
	}
	pc_filtered(ctx, cfg, dir, pc_wirelen(ctx), 0xffffffff);
	return RX_OK;
}

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return pc_handle(ctx, md, PC_DIR_INGRESS);
}

static __always_inline int handle_tx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return pc_handle(ctx, md, PC_DIR_EGRESS);
}

#ifdef PC_TEST_HARNESS
/* pc_cbpf_test: the generated filter's verdict on a crafted packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} pc_test_out SEC(".maps");

SEC(PCN_SEC)
int pc_test(struct __ctx_buff *ctx)
{
	__u32 zero = 0, v = pc_filter(ctx, pc_wirelen(ctx));

	bpf_map_update_elem(&pc_test_out, &zero, &v, BPF_ANY);
	return CTX_ACT_OK;
}
#endif
