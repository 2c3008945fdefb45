/* firewall's control plane against its real fast path (BPF_PROG_TEST_RUN
 * on the loaded program, in a private bpffs; needs root, skips otherwise):
 * 1,000 and 5,000 random rules (random prefixes, protocols, ports, TCP
 * flags, actions) installed through the runtime's apply path, then 10,000
 * random probe packets each; every verdict of the fast path must equal the
 * first match of a reference matcher written here, field by field, with
 * no tables. Then the rule set is replaced and probed again (the other
 * half of the double buffer), and the counters of the rules add up to the
 * probes that matched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <stdio.h>
#include <time.h>

#include "pcn_percpu.h"
#include "pcn_transparent_kern_user.h"
#include "firewall_shared.h"
#include "testdata/cube_testutil.h"

extern const struct pcn_cube_desc firewall_desc;
void fw_ct_sweep(struct pcn_instance *inst, void *arg);

#define SLOT 7 /* the harness's PatchPanel slot */
#define NPROBES 10000
#define NPORTS 64

/* A rule as the test draws it; -1: the field is not set. */
struct trule {
	int src_len, dst_len;
	uint32_t src, dst; /* host order, host bits cleared */
	int proto;         /* 6, 17, 1 */
	int sport, dport;
	int fmask, fval;   /* TCP flags; fmask 0: not set */
	int forward;
};

struct t_ctx {
	struct cube_harness h;
	int prog, tmd, stats;
	uint16_t ports[NPORTS];
	uint32_t nets[64]; /* addresses the rules' prefixes are drawn around */
};

static unsigned rnd(unsigned n)
{
	return (unsigned)random() % n;
}

static int setup(void **state)
{
	struct t_ctx *t = calloc(1, sizeof(*t));

	*state = t;
	t->prog = t->tmd = t->stats = -1;
	if (cube_harness_init(&t->h, &firewall_desc) || !t->h.rt)
		return 0;
	srandom(1313);
	for (int i = 0; i < NPORTS; i++)
		t->ports[i] = (uint16_t)(1 + rnd(65535));
	for (int i = 0; i < 64; i++)
		t->nets[i] = 0x0a000000u | (rnd(256) << 16) | (rnd(256) << 8) | rnd(256);
	return 0;
}

static int teardown(void **state)
{
	struct t_ctx *t = *state;

	if (t->prog >= 0)
		close(t->prog);
	if (t->tmd >= 0)
		close(t->tmd);
	if (t->stats >= 0)
		close(t->stats);
	cube_harness_fini(&t->h);
	free(t);
	return 0;
}

static uint32_t mask(int len)
{
	return len <= 0 ? 0 : len >= 32 ? 0xffffffffu : ~0u << (32 - len);
}

static void draw_rule(struct t_ctx *t, struct trule *r)
{
	static const int protos[] = { 6, 17, 1 };

	memset(r, -1, sizeof(*r));
	r->fmask = r->fval = 0;
	/* Mostly specific rules (a rule matching nearly everything early
	 * in the list would decide every probe); a few broad ones. */
	if (rnd(16)) {
		r->src_len = (int)(12 + rnd(21));
		r->src = ((uint32_t)random() * 2u) & mask(r->src_len);
		if (rnd(2))
			r->src = t->nets[rnd(64)] & mask(r->src_len);
	}
	if (rnd(8)) {
		r->dst_len = (int)(12 + rnd(21));
		r->dst = ((uint32_t)random() * 2u) & mask(r->dst_len);
		if (rnd(2))
			r->dst = t->nets[rnd(64)] & mask(r->dst_len);
	}
	if (rnd(8))
		r->proto = protos[rnd(3)];
	if (r->proto != 1) {
		if (!rnd(3)) {
			r->sport = t->ports[rnd(NPORTS)];
			if (r->proto < 0)
				r->proto = 6;
		}
		if (rnd(2)) {
			r->dport = t->ports[rnd(NPORTS)];
			if (r->proto < 0)
				r->proto = 17;
		}
	}
	if (r->proto == 6 && !rnd(5)) {
		r->fmask = 0x02 | 0x10; /* SYN, ACK */
		r->fval = rnd(2) ? 0x02 : 0x12;
	}
	r->forward = (int)rnd(2);
}

/* The reference: each field compared as the model says. */
static int ref_match(const struct trule *r, uint32_t s, uint32_t d, int proto, int sp, int dp, int flags)
{
	if (r->src_len >= 0 && (s & mask(r->src_len)) != r->src)
		return 0;
	if (r->dst_len >= 0 && (d & mask(r->dst_len)) != r->dst)
		return 0;
	if (r->proto >= 0 && r->proto != proto)
		return 0;
	if (r->sport >= 0 && (proto == 1 || r->sport != sp))
		return 0;
	if (r->dport >= 0 && (proto == 1 || r->dport != dp))
		return 0;
	if (r->fmask && (proto != 6 || (flags & r->fmask) != r->fval))
		return 0;
	return 1;
}

static int ref_first(const struct trule *r, size_t n, uint32_t s, uint32_t d, int proto, int sp, int dp,
		     int flags)
{
	for (size_t i = 0; i < n; i++)
		if (ref_match(&r[i], s, d, proto, sp, dp, flags))
			return (int)i;
	return -1;
}

/* The configuration of fw1 with these rules in INGRESS (conntrack OFF:
 * the verdict is the rules' alone). */
static char *config_json(const struct trule *r, size_t n, int dflt_forward)
{
	size_t cap = 256 + n * 200, len = 0;
	char *j = malloc(cap);

	assert_non_null(j);
	len += (size_t)snprintf(j + len, cap - len,
				"{\"firewall:firewall\":[{\"name\":\"fw1\",\"type\":\"TC\",\"conntrack\":\"OFF\","
				"\"chain\":[{\"name\":\"INGRESS\",\"default\":\"%s\",\"rule\":[",
				dflt_forward ? "FORWARD" : "DROP");
	for (size_t i = 0; i < n; i++) {
		struct in_addr a;
		char ip[INET_ADDRSTRLEN];

		len += (size_t)snprintf(j + len, cap - len, "%s{\"id\":%zu,\"action\":\"%s\"", i ? "," : "", i,
					r[i].forward ? "FORWARD" : "DROP");
		if (r[i].src_len >= 0) {
			a.s_addr = htonl(r[i].src);
			inet_ntop(AF_INET, &a, ip, sizeof(ip));
			len += (size_t)snprintf(j + len, cap - len, ",\"src\":\"%s/%d\"", ip, r[i].src_len);
		}
		if (r[i].dst_len >= 0) {
			a.s_addr = htonl(r[i].dst);
			inet_ntop(AF_INET, &a, ip, sizeof(ip));
			len += (size_t)snprintf(j + len, cap - len, ",\"dst\":\"%s/%d\"", ip, r[i].dst_len);
		}
		if (r[i].proto >= 0)
			len += (size_t)snprintf(j + len, cap - len, ",\"l4proto\":\"%s\"",
						r[i].proto == 6 ? "TCP" : r[i].proto == 17 ? "udp" : "ICMP");
		if (r[i].sport >= 0)
			len += (size_t)snprintf(j + len, cap - len, ",\"sport\":%d", r[i].sport);
		if (r[i].dport >= 0)
			len += (size_t)snprintf(j + len, cap - len, ",\"dport\":%d", r[i].dport);
		if (r[i].fmask)
			len += (size_t)snprintf(j + len, cap - len, ",\"tcpflags\":\"%s\"",
						r[i].fval == 0x02 ? "SYN,!ACK" : "SYN,ACK");
		len += (size_t)snprintf(j + len, cap - len, "}");
		assert_true(len + 256 < cap);
	}
	snprintf(j + len, cap - len, "]}]}]}");
	return j;
}

static void open_fds(struct t_ctx *t)
{
	char path[256], shared[200];

	if (t->prog >= 0)
		return;
	snprintf(path, sizeof(path), "%s/cubes/firewall/fw1/prog", t->h.bpffs);
	t->prog = bpf_obj_get(path);
	assert_true(t->prog >= 0);
	assert_int_equal(pcn_layout_shared(shared, sizeof(shared), t->h.bpffs, NULL), 0);
	snprintf(path, sizeof(path), "%s/pcn_tmd", shared);
	t->tmd = bpf_obj_get(path);
	assert_true(t->tmd >= 0);
	snprintf(path, sizeof(path), "%s/pcn_cube_stats", shared);
	t->stats = bpf_obj_get(path);
	assert_true(t->stats >= 0);
	/* Every probe goes in from the wire: the INGRESS chain. */
	{
		int n = libbpf_num_possible_cpus();
		size_t stride = pcn_percpu_stride(sizeof(struct pcn_tmd));
		char *v = calloc((size_t)n, stride);
		uint32_t zero = 0;

		assert_non_null(v);
		for (int i = 0; i < n; i++)
			((struct pcn_tmd *)(v + (size_t)i * stride))->dir = PCN_TDIR_INGRESS;
		assert_int_equal(bpf_map_update_elem(t->tmd, &zero, v, BPF_ANY), 0);
		free(v);
	}
}

static uint64_t drops(struct t_ctx *t)
{
	int n = libbpf_num_possible_cpus();
	struct pcn_cube_stats *per = calloc((size_t)n, sizeof(*per));
	uint32_t key = SLOT;
	uint64_t d = 0;

	assert_non_null(per);
	assert_int_equal(bpf_map_lookup_elem(t->stats, &key, per), 0);
	for (int c = 0; c < n; c++)
		d += per[c].drop_verdict;
	free(per);
	return d;
}

/* 1 when the fast path forwards the packet. */
static int probe(struct t_ctx *t, uint32_t s, uint32_t d, int proto, int sp, int dp, int flags)
{
	unsigned char f[sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct tcphdr)] = { 0 };
	struct ethhdr eth = { .h_proto = htons(ETH_P_IP) };
	struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = (uint8_t)proto };
	unsigned char *l4 = f + sizeof(eth) + sizeof(ip);
	uint64_t before = drops(t);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f, .data_size_in = sizeof(f));

	ip.tot_len = htons(sizeof(f) - sizeof(eth));
	ip.saddr = htonl(s);
	ip.daddr = htonl(d);
	memcpy(f, &eth, sizeof(eth));
	memcpy(f + sizeof(eth), &ip, sizeof(ip));
	if (proto == 6 || proto == 17) {
		uint16_t ps[2] = { htons((uint16_t)sp), htons((uint16_t)dp) };

		memcpy(l4, ps, sizeof(ps));
		if (proto == 6) {
			l4[12] = 5 << 4;
			l4[13] = (unsigned char)flags;
		}
	} else {
		uint16_t id = htons((uint16_t)sp);

		l4[0] = flags < 0 ? 0 : 8; /* echo reply (flags -1) or request; sp is the identifier */
		memcpy(l4 + 4, &id, sizeof(id));
	}
	assert_int_equal(bpf_prog_test_run_opts(t->prog, &opts), 0);
	return drops(t) == before;
}

/* Installs n random rules, then checks NPROBES probes against the reference. */
static void check_random(struct t_ctx *t, size_t n, int op)
{
	static const int protos[] = { 6, 17, 1 };
	struct trule *r = calloc(n, sizeof(*r));
	int dflt = (int)rnd(2), bad = 0, matched = 0;
	uint64_t sum_first = 0;
	char *json;

	assert_non_null(r);
	for (size_t i = 0; i < n; i++)
		draw_rule(t, &r[i]);
	json = config_json(r, n, dflt);
	assert_int_equal(cube_harness_apply(&t->h, op, "fw1", PCN_HOOK_TC, json, NULL), 0);
	free(json);
	open_fds(t);
	for (int p = 0; p < NPROBES; p++) {
		/* Mostly a packet a random rule matches (an earlier one may
		 * match it too: the reference says which is first); some
		 * anywhere near the rules' networks and ports. */
		const struct trule *q = &r[rnd((unsigned)n)];
		int near = rnd(4) != 0;
		uint32_t s = near && q->src_len >= 0 ? q->src | (rnd(1u << 16) & ~mask(q->src_len))
			     : rnd(2)               ? t->nets[rnd(64)] ^ rnd(1u << rnd(24))
						    : (uint32_t)random() * 2u;
		uint32_t d = near && q->dst_len >= 0 ? q->dst | (rnd(1u << 16) & ~mask(q->dst_len))
			     : rnd(2)               ? t->nets[rnd(64)] ^ rnd(1u << rnd(24))
						    : (uint32_t)random() * 2u;
		int proto = near && q->proto >= 0 ? q->proto : protos[rnd(3)];
		int sp = near && q->sport >= 0 ? q->sport : rnd(4) ? t->ports[rnd(NPORTS)] : (int)rnd(65536);
		int dp = near && q->dport >= 0 ? q->dport : rnd(4) ? t->ports[rnd(NPORTS)] : (int)rnd(65536);
		int flags = near && q->fmask ? q->fval | (int)(rnd(256) & ~q->fmask) : (int)rnd(256);
		int first = ref_first(r, n, s, d, proto, sp, dp, flags);
		int want = first < 0 ? dflt : r[first].forward;
		int got = probe(t, s, d, proto, sp, dp, flags);

		matched += first >= 0;
		sum_first += first >= 0 ? (uint64_t)first : 0;
		if (got != want && bad++ < 5)
			fprintf(stderr, "probe %d: %08x -> %08x proto %d %d -> %d flags %02x: first rule %d, want %s, got %s\n",
				p, s, d, proto, sp, dp, flags, first, want ? "FORWARD" : "DROP", got ? "FORWARD" : "DROP");
	}
	fprintf(stderr, "%zu rules: %d probes, %d matched a rule (first match at %llu on average), %d wrong verdicts\n",
		n, NPROBES, matched, (unsigned long long)(matched ? sum_first / (uint64_t)matched : 0), bad);
	assert_int_equal(bad, 0);
	/* Enough probes matched a rule, and not only the first few rules,
	 * for the test to mean something; some matched none (the default). */
	assert_true(matched > NPROBES / 2);
	assert_true(sum_first / (uint64_t)matched > n / 8);
	free(r);
}

static void test_random_1000(void **state)
{
	struct t_ctx *t = *state;

	if (!t->h.rt)
		skip();
	check_random(t, 1000, CUBEMESH__APPLY_OP__APPLY_CREATE);
	/* Replaced by another set: written into the other half. */
	check_random(t, 1000, CUBEMESH__APPLY_OP__APPLY_UPDATE);
}

static void test_random_5000(void **state)
{
	struct t_ctx *t = *state;

	if (!t->h.rt)
		skip();
	check_random(t, 5000, CUBEMESH__APPLY_OP__APPLY_CREATE);
}

/* ---- connection tracking ------------------------------------------------ */

#define A 0x0a000001u /* 10.0.0.1, on the wire side: its packets go through INGRESS */
#define B 0x0a000002u /* 10.0.0.2, behind the firewall: EGRESS */
#define TF_FIN 0x01
#define TF_SYN 0x02
#define TF_RST 0x04
#define TF_ACK 0x10

static void set_dir(struct t_ctx *t, uint32_t dir)
{
	int n = libbpf_num_possible_cpus();
	size_t stride = pcn_percpu_stride(sizeof(struct pcn_tmd));
	char *v = calloc((size_t)n, stride);
	uint32_t zero = 0;

	assert_non_null(v);
	for (int i = 0; i < n; i++)
		((struct pcn_tmd *)(v + (size_t)i * stride))->dir = dir;
	assert_int_equal(bpf_map_update_elem(t->tmd, &zero, v, BPF_ANY), 0);
	free(v);
}

/* 1 when the fast path forwards a packet going `dir`. */
static int pkt(struct t_ctx *t, uint32_t dir, uint32_t s, uint32_t d, int proto, int sp, int dp, int flags)
{
	set_dir(t, dir);
	return probe(t, s, d, proto, sp, dp, flags);
}

/* An ICMP error (port unreachable) from s to d quoting a UDP datagram
 * qs:qsp -> qd:qdp; 1 when forwarded. */
static int icmp_error(struct t_ctx *t, uint32_t dir, uint32_t s, uint32_t d, uint32_t qs, int qsp, uint32_t qd,
		      int qdp)
{
	unsigned char f[14 + 20 + 8 + 20 + 8] = { 0 };
	struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_ICMP };
	struct iphdr in = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP };
	uint16_t ports[2] = { htons((uint16_t)qsp), htons((uint16_t)qdp) };
	uint64_t before;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f, .data_size_in = sizeof(f));

	set_dir(t, dir);
	f[12] = 0x08;
	ip.tot_len = htons(sizeof(f) - 14);
	ip.saddr = htonl(s);
	ip.daddr = htonl(d);
	in.tot_len = htons(28);
	in.saddr = htonl(qs);
	in.daddr = htonl(qd);
	memcpy(f + 14, &ip, sizeof(ip));
	f[34] = 3; /* destination unreachable */
	f[35] = 3; /* port */
	memcpy(f + 42, &in, sizeof(in));
	memcpy(f + 62, ports, sizeof(ports));
	before = drops(t);
	assert_int_equal(bpf_prog_test_run_opts(t->prog, &opts), 0);
	return drops(t) == before;
}

/* The state of connection s:sp <-> d:dp (proto), -1 if none. */
static int ct_state(struct t_ctx *t, uint32_t s, int sp, uint32_t d, int dp, int proto)
{
	uint64_t ks = ((uint64_t)s << 16) | (uint16_t)sp, kd = ((uint64_t)d << 16) | (uint16_t)dp;
	struct fw_ct_key k = { .proto = (uint8_t)proto };
	struct fw_ct_val v;

	k.ip_lo = htonl(ks <= kd ? s : d);
	k.ip_hi = htonl(ks <= kd ? d : s);
	k.port_lo = htons((uint16_t)(ks <= kd ? sp : dp));
	k.port_hi = htons((uint16_t)(ks <= kd ? dp : sp));
	if (pcn_map_lookup(cube_harness_instance(&t->h, "fw1"), "fw_ct", &k, &v))
		return -1;
	return v.state;
}

#define CT_CONFIG(ae)                                                                                       \
	"{\"firewall:firewall\":[{\"name\":\"fw1\",\"type\":\"TC\",\"accept-established\":\"" ae "\","        \
	"\"chain\":[{\"name\":\"INGRESS\",\"rule\":["                                                           \
	"{\"id\":0,\"l4proto\":\"TCP\",\"dport\":80,\"conntrack\":\"NEW\",\"action\":\"FORWARD\"},"            \
	"{\"id\":1,\"conntrack\":\"ESTABLISHED\",\"action\":\"FORWARD\"},"                                    \
	"{\"id\":2,\"l4proto\":\"UDP\",\"conntrack\":\"NEW\",\"action\":\"FORWARD\"},"                        \
	"{\"id\":3,\"l4proto\":\"ICMP\",\"conntrack\":\"NEW\",\"action\":\"FORWARD\"}]},"                     \
	"{\"name\":\"EGRESS\",\"rule\":[{\"id\":0,\"conntrack\":\"ESTABLISHED\",\"action\":\"FORWARD\"},"         \
	"{\"id\":1,\"conntrack\":\"RELATED\",\"action\":\"FORWARD\"}]}]}]}"

static void test_conntrack(void **state)
{
	struct t_ctx *t = *state;
	char *json = NULL;
	const uint32_t IN = PCN_TDIR_INGRESS, OUT = PCN_TDIR_EGRESS;

	if (!t->h.rt)
		skip();
	assert_int_equal(cube_harness_apply(&t->h, CUBEMESH__APPLY_OP__APPLY_CREATE, "fw1", PCN_HOOK_TC,
					    CT_CONFIG("OFF"), NULL),
			 0);
	open_fds(t);

	/* TCP: a NEW to port 80 only, then its replies and the rest. */
	assert_true(pkt(t, IN, A, B, 6, 1234, 80, TF_SYN));
	assert_int_equal(ct_state(t, A, 1234, B, 80, 6), FW_TCP_SYN_SENT);
	assert_false(pkt(t, IN, A, B, 6, 1234, 81, TF_SYN));            /* NEW, no rule */
	assert_int_equal(ct_state(t, A, 1234, B, 81, 6), -1);           /* a dropped SYN tracks nothing */
	assert_false(pkt(t, IN, A, B, 6, 1235, 80, TF_ACK));            /* INVALID: no connection */
	assert_false(pkt(t, OUT, B, A, 6, 80, 1235, TF_SYN | TF_ACK));  /* INVALID */
	assert_false(pkt(t, OUT, B, A, 6, 80, 1234, TF_ACK));           /* not the SYN-ACK: INVALID */
	assert_true(pkt(t, OUT, B, A, 6, 80, 1234, TF_SYN | TF_ACK));   /* ESTABLISHED */
	assert_int_equal(ct_state(t, A, 1234, B, 80, 6), FW_TCP_SYN_RECV);
	assert_true(pkt(t, IN, A, B, 6, 1234, 80, TF_ACK));
	assert_int_equal(ct_state(t, A, 1234, B, 80, 6), FW_TCP_ESTABLISHED);
	assert_true(pkt(t, OUT, B, A, 6, 80, 1234, TF_ACK | TF_FIN));
	assert_int_equal(ct_state(t, A, 1234, B, 80, 6), FW_TCP_FIN_WAIT);
	assert_true(pkt(t, OUT, B, A, 6, 80, 1234, TF_ACK | TF_FIN));   /* the same end again */
	assert_int_equal(ct_state(t, A, 1234, B, 80, 6), FW_TCP_FIN_WAIT);
	assert_true(pkt(t, IN, A, B, 6, 1234, 80, TF_ACK | TF_FIN));
	assert_int_equal(ct_state(t, A, 1234, B, 80, 6), FW_TCP_LAST_ACK);
	assert_true(pkt(t, OUT, B, A, 6, 80, 1234, TF_ACK));
	assert_int_equal(ct_state(t, A, 1234, B, 80, 6), FW_TCP_TIME_WAIT);
	assert_true(pkt(t, IN, A, B, 6, 1234, 80, TF_RST));
	assert_int_equal(ct_state(t, A, 1234, B, 80, 6), FW_TCP_CLOSED);
	assert_true(pkt(t, IN, A, B, 6, 1234, 80, TF_SYN));             /* the tuple reused: NEW again */
	assert_int_equal(ct_state(t, A, 1234, B, 80, 6), FW_TCP_SYN_SENT);

	/* UDP: A's datagram opens the flow, B's answer is ESTABLISHED; B's
	 * datagram to another port of A is NEW, which EGRESS does not allow. */
	assert_true(pkt(t, IN, A, B, 17, 5000, 53, 0));
	assert_int_equal(ct_state(t, A, 5000, B, 53, 17), FW_FLOW_NEW);
	assert_true(pkt(t, OUT, B, A, 17, 53, 5000, 0));
	assert_int_equal(ct_state(t, A, 5000, B, 53, 17), FW_FLOW_ESTABLISHED);
	assert_false(pkt(t, OUT, B, A, 17, 53, 5001, 0));

	/* ICMP errors: RELATED to a tracked flow, else INVALID. */
	assert_true(icmp_error(t, OUT, B, A, A, 5000, B, 53));
	assert_false(icmp_error(t, OUT, B, A, A, 7777, B, 99));

	/* ICMP echo: A's request is NEW, B's reply ESTABLISHED; B's own
	 * request is NEW: dropped. */
	assert_true(pkt(t, IN, A, B, 1, 77, 0, 0));
	assert_int_equal(ct_state(t, A, 77, B, 77, 1), FW_FLOW_NEW);
	assert_true(pkt(t, OUT, B, A, 1, 77, 0, -1));
	assert_int_equal(ct_state(t, A, 77, B, 77, 1), FW_FLOW_ESTABLISHED);
	assert_false(pkt(t, OUT, B, A, 1, 88, 0, 0));

	/* The session table shows them, from the side that opened each. */
	assert_int_equal(pcn__state_read(cube_harness_instance(&t->h, "fw1"), "session-table", &json), 0);
	assert_non_null(strstr(json, "\"src\":\"10.0.0.1\",\"dst\":\"10.0.0.2\",\"l4proto\":\"UDP\",\"sport\":5000,\"dport\":53"));
	assert_non_null(strstr(json, "\"state\":\"SYN_SENT\""));
	free(json);

	/* The sweep (the control plane's timer) deletes what timed out: the
	 * UDP flow made 200 s old (its timeout is 180 s), not the others. */
	{
		struct pcn_instance *inst = cube_harness_instance(&t->h, "fw1");
		struct fw_ct_key k = { .ip_lo = htonl(A), .ip_hi = htonl(B), .port_lo = htons(5000),
				       .port_hi = htons(53), .proto = 17 };
		struct fw_ct_val v;
		struct timespec ts;

		assert_int_equal(pcn_map_lookup(inst, "fw_ct", &k, &v), 0);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v.last_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec - 200ULL * 1000000000ULL;
		assert_int_equal(pcn_map_update(inst, "fw_ct", &k, &v, BPF_EXIST), 0);
		fw_ct_sweep(inst, NULL);
		assert_int_equal(ct_state(t, A, 5000, B, 53, 17), -1);
		assert_int_equal(ct_state(t, A, 77, B, 77, 1), FW_FLOW_ESTABLISHED);
		assert_int_equal(ct_state(t, A, 1234, B, 80, 6), FW_TCP_SYN_SENT);
		/* Its next datagram from A opens it again. */
		assert_true(pkt(t, IN, A, B, 17, 5000, 53, 0));
		assert_int_equal(ct_state(t, A, 5000, B, 53, 17), FW_FLOW_NEW);
		assert_true(pkt(t, OUT, B, A, 17, 53, 5000, 0));
	}

	/* accept-established ON: an ESTABLISHED packet passes with no rule. */
	assert_int_equal(cube_harness_apply(&t->h, CUBEMESH__APPLY_OP__APPLY_UPDATE, "fw1", PCN_HOOK_TC,
					    "{\"firewall:firewall\":[{\"name\":\"fw1\",\"type\":\"TC\"}]}", NULL),
			 0);
	assert_true(pkt(t, OUT, B, A, 17, 53, 5000, 0));
	assert_false(pkt(t, OUT, B, A, 17, 53, 5002, 0)); /* NEW: the default, DROP */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_random_1000, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_5000, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conntrack, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
