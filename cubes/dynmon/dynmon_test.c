/* dynmon's control plane against the real kernel: code in Polycube's
 * dynmon dialect (testdata/: a packet counter and an NTP probe written as
 * Polycube's examples are, with bcc-style maps, method calls, <uapi/...>
 * includes and Polycube's %I/%P in pcn_log at log level TRACE) compiled
 * through dynmon_compat.h, swapped in with pcn_reload, and frames run
 * through the pinned programs in each direction; the model's metrics and
 * open-metrics say what was counted. Refused code (clang, verifier) fails
 * the round with their words and the old code counts on. TC and XDP (whose
 * egress runs in the TC twin). Needs root and clang (skips otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include "dynmon_ntp_counter.h"
#include "dynmon_packet_counter.h"
#include "pcn_percpu.h"
#include "pcn_transparent_kern_user.h"
#include "testdata/cube_testutil.h"

extern const struct pcn_cube_desc dynmon_desc;

struct t_ctx {
	struct cube_harness h;
	enum pcn_hook hook;
	int prog, prog_tc, tmd;
};

/* s as a JSON string (malloc'd). */
static char *jstr(const char *s)
{
	char *out = malloc(strlen(s) * 6 + 3), *o = out;

	assert_non_null(out);
	*o++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			o += sprintf(o, "\\%c", *s);
		else if (*s == '\n')
			o += sprintf(o, "\\n");
		else if ((unsigned char)*s < 0x20)
			o += sprintf(o, "\\u%04x", *s);
		else
			*o++ = *s;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

/* dm1's whole configuration with these codes (NULL: the test's own). */
static char *config(const char *ingress, const char *egress)
{
	char *in = jstr(ingress ? ingress : dynmon_packet_counter), *eg = jstr(egress ? egress : dynmon_ntp_counter);
	size_t n = strlen(in) + strlen(eg) + 1024;
	char *json = malloc(n);

	assert_non_null(json);
	snprintf(json, n,
		 "{\"dynmon:dynmon\":[{\"name\":\"dm1\",\"loglevel\":\"TRACE\",\"dataplane-config\":{"
		 "\"ingress-path\":{\"name\":\"packets\",\"code\":%s,\"metric-configs\":["
		 "{\"name\":\"packets_total\",\"map-name\":\"PACKETS\",\"open-metrics-metadata\":"
		 "{\"help\":\"packets in\",\"type\":\"counter\",\"labels\":[{\"name\":\"l\",\"value\":\"v\"}]}}]},"
		 "\"egress-path\":{\"name\":\"ntp\",\"code\":%s,\"metric-configs\":["
		 "{\"name\":\"ntp_packets_total\",\"map-name\":\"NTP_PACKETS\"},"
		 "{\"name\":\"ntp_private_total\",\"map-name\":\"NTP_PRIVATE\"}]}}}]}",
		 in, eg);
	free(in);
	free(eg);
	return json;
}

static int setup_hook(void **state, enum pcn_hook hook)
{
	struct t_ctx *t = calloc(1, sizeof(*t));
	char path[256], shared[200], *json;

	*state = t;
	t->hook = hook;
	t->prog = t->prog_tc = t->tmd = -1;
	if (cube_harness_init(&t->h, &dynmon_desc) || !t->h.rt)
		return 0;
	if (system("clang --version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "skipped: no clang\n");
		return 0;
	}
	json = config(NULL, NULL);
	assert_int_equal(cube_harness_apply(&t->h, CUBEMESH__APPLY_OP__APPLY_CREATE, "dm1", hook, json, NULL), 0);
	free(json);
	snprintf(path, sizeof(path), "%s/cubes/dynmon/dm1/prog", t->h.bpffs);
	t->prog = bpf_obj_get(path);
	assert_true(t->prog >= 0);
	if (hook != PCN_HOOK_TC) {
		snprintf(path, sizeof(path), "%s/cubes/dynmon/dm1/prog_tc", t->h.bpffs);
		t->prog_tc = bpf_obj_get(path);
		assert_true(t->prog_tc >= 0);
	}
	assert_int_equal(pcn_layout_shared(shared, sizeof(shared), t->h.bpffs, NULL), 0);
	snprintf(path, sizeof(path), "%s/pcn_tmd", shared);
	t->tmd = bpf_obj_get(path);
	assert_true(t->tmd >= 0);
	return 0;
}

static int setup_tc(void **state)
{
	return setup_hook(state, PCN_HOOK_TC);
}

static int setup_xdp(void **state)
{
	return setup_hook(state, PCN_HOOK_XDP_DRV);
}

static int teardown(void **state)
{
	struct t_ctx *t = *state;

	if (t->prog >= 0)
		close(t->prog);
	if (t->prog_tc >= 0)
		close(t->prog_tc);
	if (t->tmd >= 0)
		close(t->tmd);
	cube_harness_fini(&t->h);
	free(t);
	return 0;
}

/* Runs a frame in direction dir: ingress through the instance's program,
 * egress through it too at TC and through its TC twin at XDP. */
static void run(struct t_ctx *t, const void *frame, size_t len, uint32_t dir)
{
	int n = libbpf_num_possible_cpus();
	size_t stride = pcn_percpu_stride(sizeof(struct pcn_tmd));
	char *v = calloc((size_t)n, stride);
	uint32_t zero = 0;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len);

	assert_non_null(v);
	for (int i = 0; i < n; i++)
		((struct pcn_tmd *)(v + (size_t)i * stride))->dir = dir;
	assert_int_equal(bpf_map_update_elem(t->tmd, &zero, v, BPF_ANY), 0);
	free(v);
	assert_int_equal(bpf_prog_test_run_opts(dir == PCN_TDIR_EGRESS && t->prog_tc >= 0 ? t->prog_tc : t->prog,
						&opts),
			 0);
}

/* A UDP datagram sport -> dport whose first payload byte is b0 (an NTP
 * header's li_vn_mode). Built aligned and copied in. */
static void udp(struct t_ctx *t, uint32_t dir, uint16_t sport, uint16_t dport, uint8_t b0)
{
	unsigned char f[sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr) + 48] = { 0 };
	struct ethhdr eth = { .h_proto = htons(ETH_P_IP) };
	struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP };
	struct udphdr uh = { .source = htons(sport), .dest = htons(dport), .len = htons(8 + 48) };

	ip.tot_len = htons(sizeof(f) - sizeof(eth));
	inet_pton(AF_INET, "10.0.0.1", &ip.saddr);
	inet_pton(AF_INET, "10.0.0.2", &ip.daddr);
	memcpy(f, &eth, sizeof(eth));
	memcpy(f + sizeof(eth), &ip, sizeof(ip));
	memcpy(f + sizeof(eth) + sizeof(ip), &uh, sizeof(uh));
	f[sizeof(eth) + sizeof(ip) + sizeof(uh)] = b0;
	run(t, f, sizeof(f), dir);
}

static char *state(struct t_ctx *t, const char *path)
{
	char *json = NULL;

	assert_int_equal(pcn__state_read(cube_harness_instance(&t->h, "dm1"), path, &json), 0);
	return json;
}

/* json holds each of the NULL-terminated fragments. */
static void has(const char *json, ...)
{
	va_list ap;
	const char *frag;

	va_start(ap, json);
	while ((frag = va_arg(ap, const char *))) {
		if (!strstr(json, frag))
			fail_msg("%s lacks %s", json, frag);
	}
	va_end(ap);
}

/* The probes count what they should, each in its direction. */
static void count_some(struct t_ctx *t, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		udp(t, PCN_TDIR_INGRESS, 5000, 5001, 0);
		udp(t, PCN_TDIR_EGRESS, 40000, 123, 0x23);  /* NTP client, mode 3 */
		udp(t, PCN_TDIR_EGRESS, 123, 40000, 0x17);  /* mode 7 */
		udp(t, PCN_TDIR_EGRESS, 40000, 53, 0x17);   /* not NTP */
	}
}

static void test_probes(void **state_)
{
	struct t_ctx *t = *state_;
	char *json;

	if (t->prog < 0)
		skip();
	count_some(t, 3);
	json = state(t, "metrics");
	has(json, "\"name\":\"packets_total\",\"value\":\"[3]\"", "\"name\":\"ntp_packets_total\",\"value\":\"[6]\"",
	    "\"name\":\"ntp_private_total\",\"value\":\"[3]\"", NULL);
	free(json);
	json = state(t, "open-metrics");
	/* Only the metric with OpenMetrics metadata, in Polycube's shape. */
	has(json, "# TYPE packets_total counter", "packets_total{l=\\\"v\\\"} 3", NULL);
	if (strstr(json, "ntp_packets_total"))
		fail_msg("%s exports a metric without metadata", json);
	free(json);
}

static void test_refused(void **state_)
{
	struct t_ctx *t = *state_;
	struct pcn__apply_res *res = &t->h.res;
	char *json;

	if (t->prog < 0)
		skip();
	count_some(t, 1);
	json = config("BPF_ARRAY(X, uint64_t, 1);\n"
		      "static __always_inline int handle_rx(struct CTXTYPE *ctx, struct pkt_metadata *md)\n"
		      "{\n\treturn RX_OK\n}\n",
		      NULL);
	assert_int_equal(cube_harness_apply(&t->h, CUBEMESH__APPLY_OP__APPLY_UPDATE, "dm1", t->hook, json, NULL),
			 -EINVAL);
	free(json);
	has(res->msg, "clang refused the ingress-path code", "ingress-path:4:", "expected ';'", NULL);
	json = config(NULL, "static __always_inline int handle_rx(struct CTXTYPE *ctx, struct pkt_metadata *md)\n"
			    "{\n\tunsigned char *p = (void *)(long)ctx->data;\n\n"
			    "\treturn p[64] ? RX_DROP : RX_OK;\n}\n");
	assert_int_equal(cube_harness_apply(&t->h, CUBEMESH__APPLY_OP__APPLY_UPDATE, "dm1", t->hook, json, NULL),
			 -EPROTO);
	free(json);
	has(res->msg, "verifier refused the egress-path code", "invalid access to packet", NULL);
	/* Only system headers: clang quotes what it chokes on, and a file of
	 * the host must not reach the API's user that way. */
	static const char *const includes[] = {
		"#include \"/etc/passwd\"\n",
		"#include <../../../../etc/passwd>\n",
		"#define F </etc/passwd>\n#include F\n",
	};
	for (size_t i = 0; i < sizeof(includes) / sizeof(includes[0]); i++) {
		json = config(includes[i], NULL);
		assert_int_equal(cube_harness_apply(&t->h, CUBEMESH__APPLY_OP__APPLY_UPDATE, "dm1", t->hook, json,
						    NULL),
				 -EINVAL);
		free(json);
		has(res->msg, "only system headers may be included", NULL);
	}
	/* Errors inside a system header are counted, not quoted. */
	json = config("#define udphdr 1\n#include <linux/udp.h>\n", NULL);
	assert_int_equal(cube_harness_apply(&t->h, CUBEMESH__APPLY_OP__APPLY_UPDATE, "dm1", t->hook, json, NULL),
			 -EINVAL);
	free(json);
	has(res->msg, "error(s) in included files", NULL);
	if (strstr(res->msg, "/usr/include"))
		fail_msg("%s quotes a system header", res->msg);
	/* The old code counts on, both ways. */
	count_some(t, 1);
	json = state(t, "metrics");
	has(json, "\"name\":\"packets_total\",\"value\":\"[2]\"", "\"name\":\"ntp_packets_total\",\"value\":\"[4]\"",
	    NULL);
	free(json);
}

/* A hash map of structs, keyed by a struct, with a signed field, a char
 * array and a bitfield: the model shows each as Polycube does, from the
 * code's BTF. The same round changes the loglevel (the code goes in in
 * that round, after the runtime's own reload). */
static void test_structs(void **state_)
{
	static const char code[] =
		"#include <uapi/linux/udp.h>\n"
		"struct flow { uint32_t saddr; uint16_t port; uint16_t pad; };\n"
		"struct stats { uint64_t packets; int32_t delta; char tag[4]; uint8_t flag : 1; };\n"
		"BPF_HASH(FLOWS, struct flow, struct stats, 16);\n"
		"static __always_inline int handle_rx(struct CTXTYPE *ctx, struct pkt_metadata *md)\n"
		"{\n"
		"\tvoid *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;\n"
		"\tstruct iphdr *ip = data + sizeof(struct ethhdr);\n"
		"\tstruct udphdr *udp = (void *)(ip + 1);\n"
		"\tstruct stats zero = {}, *v;\n"
		"\tstruct flow k = {};\n"
		"\tif ((void *)(udp + 1) > end)\n"
		"\t\treturn RX_OK;\n"
		"\tk.saddr = ip->saddr;\n"
		"\tk.port = bpf_ntohs(udp->dest);\n"
		"\tv = FLOWS.lookup_or_try_init(&k, &zero);\n"
		"\tif (v) {\n"
		"\t\tv->packets++;\n"
		"\t\tv->delta = -2;\n"
		"\t\tv->tag[0] = 'a';\n"
		"\t\tv->tag[1] = 'b';\n"
		"\t\tv->flag = 1;\n"
		"\t}\n"
		"\treturn RX_OK;\n"
		"}\n";
	struct t_ctx *t = *state_;
	char *in, *json;
	size_t n;

	if (t->prog < 0)
		skip();
	in = jstr(code);
	n = strlen(in) + 512;
	json = malloc(n);
	assert_non_null(json);
	snprintf(json, n,
		 "{\"dynmon:dynmon\":[{\"name\":\"dm1\",\"dataplane-config\":{\"ingress-path\":{\"code\":%s,"
		 "\"metric-configs\":[{\"name\":\"flows\",\"map-name\":\"FLOWS\"}]}}}]}",
		 in);
	free(in);
	/* loglevel goes from TRACE to INFO: the runtime reloads the instance
	 * in this round, and the code is swapped in within it. */
	assert_int_equal(cube_harness_apply(&t->h, CUBEMESH__APPLY_OP__APPLY_UPDATE, "dm1", t->hook, json, NULL), 0);
	free(json);
	usleep(5000);
	pcn__timers_run(t->h.rt, 0);
	udp(t, PCN_TDIR_INGRESS, 40000, 5001, 0);
	udp(t, PCN_TDIR_INGRESS, 40000, 5001, 0);
	json = state(t, "metrics");
	/* 10.0.0.1 read as a little-endian u32: 0x0100000a. */
	has(json, "{\\\"key\\\": {\\\"saddr\\\": 16777226, \\\"port\\\": 5001, \\\"pad\\\": 0}, \\\"value\\\": "
		  "{\\\"packets\\\": 2, \\\"delta\\\": -2, \\\"tag\\\": \\\"ab\\\", \\\"flag\\\": 1}}",
	    NULL);
	free(json);
}

/* A _SHARED map is one map for both paths (Polycube's way of sharing
 * between ingress and egress); a private map of the same name in each
 * path is two maps. A queue is read by popping. */
static void test_shared(void **state_)
{
	static const char in_code[] =
		"BPF_TABLE_SHARED(\"array\", int, uint64_t, BOTH, 1);\n"
		"BPF_ARRAY(MINE, uint64_t, 1);\n"
		"BPF_QUEUE(SEEN, uint32_t, 8);\n"
		"static __always_inline int handle_rx(struct CTXTYPE *ctx, struct pkt_metadata *md)\n"
		"{\n\tint k = 0;\n\tuint32_t len = ctx->data_end - ctx->data;\n\tuint64_t *c = BOTH.lookup(&k);\n"
		"\tif (c)\n\t\t__sync_fetch_and_add(c, 1);\n\tc = MINE.lookup(&k);\n\tif (c)\n\t\t*c += 1;\n"
		"\tSEEN.push(&len, 0);\n\treturn RX_OK;\n}\n";
	static const char eg_code[] =
		"BPF_TABLE_SHARED(\"array\", int, uint64_t, BOTH, 1);\n"
		"BPF_ARRAY(MINE, uint64_t, 1);\n"
		"static __always_inline int handle_rx(struct CTXTYPE *ctx, struct pkt_metadata *md)\n"
		"{\n\tint k = 0;\n\tuint64_t *c = BOTH.lookup(&k);\n"
		"\tif (c)\n\t\t__sync_fetch_and_add(c, 1);\n\tc = MINE.lookup(&k);\n\tif (c)\n\t\t*c += 10;\n"
		"\treturn RX_OK;\n}\n";
	struct t_ctx *t = *state_;
	char *in, *eg, *json;
	size_t n;

	if (t->prog < 0)
		skip();
	in = jstr(in_code);
	eg = jstr(eg_code);
	n = strlen(in) + strlen(eg) + 1024;
	json = malloc(n);
	assert_non_null(json);
	snprintf(json, n,
		 "{\"dynmon:dynmon\":[{\"name\":\"dm1\",\"loglevel\":\"TRACE\",\"dataplane-config\":{"
		 "\"ingress-path\":{\"code\":%s,\"metric-configs\":[{\"name\":\"both\",\"map-name\":\"BOTH\"},"
		 "{\"name\":\"mine\",\"map-name\":\"MINE\"},{\"name\":\"seen\",\"map-name\":\"SEEN\"}]},"
		 "\"egress-path\":{\"code\":%s,\"metric-configs\":[{\"name\":\"mine\",\"map-name\":\"MINE\"}]}}}]}",
		 in, eg);
	free(in);
	free(eg);
	assert_int_equal(cube_harness_apply(&t->h, CUBEMESH__APPLY_OP__APPLY_UPDATE, "dm1", t->hook, json, NULL), 0);
	free(json);
	udp(t, PCN_TDIR_INGRESS, 1, 2, 0);
	udp(t, PCN_TDIR_INGRESS, 1, 2, 0);
	udp(t, PCN_TDIR_EGRESS, 1, 2, 0);
	json = state(t, "metrics");
	has(json, "\"name\":\"both\",\"value\":\"[3]\"", "\"ingress-metrics\":[", NULL);
	has(json, "\"name\":\"mine\",\"value\":\"[2]\"", "\"name\":\"mine\",\"value\":\"[10]\"", NULL);
	/* Two frames of 90 bytes, popped: the next read finds the queue empty. */
	has(json, "\"name\":\"seen\",\"value\":\"[90, 90]\"", NULL);
	free(json);
	json = state(t, "metrics");
	has(json, "\"name\":\"seen\",\"value\":\"[]\"", NULL);
	free(json);
	/* The maps of the code before are gone; the shared one is pinned once. */
	{
		static const char *const gone[] = { "dmi_PACKETS", "dme_NTP_PACKETS", "dme_NTP_PRIVATE" };
		static const char *const there[] = { "dm_BOTH", "dmi_MINE", "dme_MINE", "dmi_SEEN" };
		char path[256];

		for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
			snprintf(path, sizeof(path), "%s/cubes/dynmon/dm1/%s", t->h.bpffs, gone[i]);
			if (access(path, F_OK) == 0)
				fail_msg("%s is still pinned", path);
		}
		for (size_t i = 0; i < sizeof(there) / sizeof(there[0]); i++) {
			snprintf(path, sizeof(path), "%s/cubes/dynmon/dm1/%s", t->h.bpffs, there[i]);
			if (access(path, F_OK) != 0)
				fail_msg("%s is not pinned", path);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probes, setup_tc, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup_tc, teardown),
		cmocka_unit_test_setup_teardown(test_structs, setup_tc, teardown),
		cmocka_unit_test_setup_teardown(test_shared, setup_tc, teardown),
		cmocka_unit_test_setup_teardown(test_probes, setup_xdp, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup_xdp, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
