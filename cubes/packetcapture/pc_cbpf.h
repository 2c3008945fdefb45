/* A tcpdump expression into C for packetcapture's fast path: libpcap
 * compiles it to classic BPF (as tcpdump does, for Ethernet frames), and
 * each classic instruction becomes a C statement of a pc_filter function
 * that clang builds for the hook (cube-runtime's reload from source). */
#ifndef PC_CBPF_H
#define PC_CBPF_H

#include <stddef.h>
#include <stdint.h>

struct bpf_program; /* libpcap's */
struct pc_cbpf;     /* a compiled expression */

/* Compiles expr with libpcap for DLT_EN10MB and snaplen into *prog
 * (pcap_freecode it). -EINVAL with libpcap's message in err when it
 * refuses the expression. */
int pc_cbpf_compile(const char *expr, uint32_t snaplen, struct bpf_program *prog, char *err, size_t errlen);

/* The C text of `static __always_inline __u32 pc_filter(struct __ctx_buff
 * *ctx, __u32 wirelen)` running prog (malloc'd, NUL-terminated), or NULL.
 * It uses pc_ld() of packetcapture.bpf.c for packet loads. */
char *pc_cbpf_to_c(const struct bpf_program *prog);

/* The whole fast-path source with the filter of expr in it, for
 * pcn_reload (malloc'd, *len set); bpf_src is packetcapture.bpf.c's text,
 * shared_h packetcapture_shared.h's. NULL with err set on failure (an
 * expression libpcap refuses: -EINVAL in *rc). */
char *pc_cbpf_source(const char *expr, uint32_t snaplen, const char *bpf_src, size_t bpf_len,
		     const char *shared_h, size_t shared_len, size_t *len, int *rc, char *err, size_t errlen);

/* Builds src with clang for TC (tc) or XDP, as cube-runtime builds a
 * source reload (same flags; headers from PCN_BPF_INCLUDE_DIR, else
 * PC_BPF_INCLUDE_DIR), into *bytes (malloc'd) and *size. clang's first
 * error line in err on failure. */
int pc_cbpf_build(const char *src, size_t len, int tc, void **bytes, size_t *size, char *err, size_t errlen);

/* True when expr means "no filter": NULL, "", blanks, or "all" (Polycube's
 * word for it). */
int pc_cbpf_is_all(const char *expr);

/* For pc_cbpf_test, which cannot include libpcap's headers beside the
 * kernel's (both define struct bpf_insn): a compiled program (NULL with
 * err set), libpcap's own verdict of it on a packet (bpf_filter, what
 * pcap_offline_filter runs), and its release. */
struct pc_cbpf *pc_cbpf_new(const char *expr, uint32_t snaplen, char *err, size_t errlen);
unsigned pc_cbpf_reference(const struct pc_cbpf *prog, const uint8_t *pkt, size_t len);
void pc_cbpf_free(struct pc_cbpf *prog);

#endif /* PC_CBPF_H */
