/* lbrp's control plane against its real fast path: the Maglev table in the
 * kernel follows the pool (double-buffered, switched by the service's
 * entry, not rewritten when the pool did not change), and TCP and UDP
 * packets run through the loaded program are translated both ways with
 * valid checksums, keep their backend while the pool changes, and a TCP
 * SYN picks from the current table. TC and XDP builds. Needs root (skips
 * otherwise). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "lbrp_shared.h"
#include "pcn_kern_user.h"
#include "pcn_percpu.h"
#include "testdata/cube_testutil.h"

extern const struct pcn_cube_desc lbrp_desc;

#define SLOT 7 /* the harness's PatchPanel slot */

static enum pcn_hook hook = PCN_HOOK_TC;

static int setup(void **state)
{
	struct cube_harness *h = calloc(1, sizeof(*h));

	hook = PCN_HOOK_TC;
	*state = h;
	cube_harness_init(h, &lbrp_desc);
	return 0;
}

static int setup_xdp(void **state)
{
	int rc = setup(state);

	hook = PCN_HOOK_XDP_SKB;
	return rc;
}

static int teardown(void **state)
{
	cube_harness_fini(*state);
	free(*state);
	return 0;
}

#define LB1(backends)                                                                                \
	"{\"lbrp:lbrp\":[{\"name\":\"lb1\",\"ports\":[{\"name\":\"fe\",\"type\":\"FRONTEND\"},"         \
	"{\"name\":\"be\",\"type\":\"BACKEND\"}],"                                                      \
	"\"service\":[{\"vip\":\"10.9.0.1\",\"vport\":80,\"proto\":\"ALL\",\"backend\":[" backends "]}]}]}"

static const char *const ports[] = { "fe", "be", NULL };

static int apply(struct cube_harness *h, int op, const char *json)
{
	static const char name[] = "\"name\":\"lb1\",";
	const char *at = strstr(json, name);
	char buf[2048];

	assert_non_null(at);
	at += strlen(name);
	snprintf(buf, sizeof(buf), "%.*s\"type\":\"%s\",%s", (int)(at - json), json,
		 hook == PCN_HOOK_TC ? "TC" : "XDP_SKB", at);
	return cube_harness_apply(h, op, "lb1", hook, buf, ports);
}

static struct pcn_instance *inst(struct cube_harness *h)
{
	return cube_harness_instance(h, "lb1");
}

static struct lbrp_svc svc(struct cube_harness *h, uint8_t proto)
{
	struct lbrp_svc_key k = { .vip = inet_addr("10.9.0.1"), .port = htons(proto == IPPROTO_ICMP ? 0 : 80),
				  .proto = proto };
	struct lbrp_svc v = { .table = 0xdead };

	assert_int_equal(pcn_map_lookup(inst(h), "lbrp_services", &k, &v), 0);
	return v;
}

/* Entries of the service's current table held by each backend index. */
static void table_counts(struct cube_harness *h, uint32_t *counts, size_t n)
{
	struct lbrp_svc v = svc(h, IPPROTO_TCP);

	memset(counts, 0, n * sizeof(*counts));
	for (uint32_t ch = 0; ch < LB_CHUNKS; ch++) {
		uint32_t key = v.table * LB_CHUNKS + ch;
		struct lb_chunk c;

		assert_int_equal(pcn_map_lookup(inst(h), "lbrp_maglev", &key, &c), 0);
		for (uint32_t j = 0; j < LB_CHUNK && ch * LB_CHUNK + j < LB_M; j++) {
			assert_true(c.e[j] < n);
			counts[c.e[j]]++;
		}
	}
}

/* Port 0 (fe) has no peer: drop_no_peer; port 1 (be) an empty PatchPanel
 * slot: drop_tail_call. Which counter moved says where a packet went. */
static void wire(struct cube_harness *h)
{
	char path[160];
	struct pcn_fwd_val peer = { .kind = PCN_PEER_CUBE, .cube_index = 9, .port = 0 };
	uint32_t key = pcn_fwd_slot(SLOT, 1);
	int fd;

	snprintf(path, sizeof(path), "%s/shared/pcn_fwd", h->bpffs);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_update_elem(fd, &key, &peer, BPF_ANY), 0);
	close(fd);
}

static struct pcn_cube_stats stats(struct cube_harness *h)
{
	char path[160];
	struct pcn_cube_stats st = { 0 }, *per;
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint32_t key = SLOT;

	snprintf(path, sizeof(path), "%s/shared/pcn_cube_stats", h->bpffs);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	per = calloc((size_t)ncpu, sizeof(*per));
	assert_non_null(per);
	assert_int_equal(bpf_map_lookup_elem(fd, &key, per), 0);
	for (int c = 0; c < ncpu; c++) {
		st.drop_no_peer += per[c].drop_no_peer;
		st.drop_tail_call += per[c].drop_tail_call;
		st.drop_verdict += per[c].drop_verdict;
	}
	free(per);
	close(fd);
	return st;
}

struct frame {
	struct ethhdr eth;
	struct iphdr ip;
	union {
		struct tcphdr tcp;
		struct udphdr udp;
	};
	unsigned char payload[12];
} __attribute__((packed));

static uint16_t csum(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static uint16_t l4_csum(const struct frame *f)
{
	size_t l4len = sizeof(*f) - sizeof(f->eth) - sizeof(f->ip);
	uint32_t sum = 0;
	const uint8_t *a = (const uint8_t *)&f->ip.saddr;

	for (int i = 0; i < 8; i += 2)
		sum += (uint32_t)(a[i] << 8 | a[i + 1]);
	sum += f->ip.protocol;
	sum += (uint32_t)l4len;
	return csum(&f->tcp, l4len, sum);
}

static void build(struct frame *f, uint8_t proto, const char *src, uint16_t sport, const char *dst, uint16_t dport,
		  int syn)
{
	memset(f, 0, sizeof(*f));
	f->eth.h_proto = htons(ETH_P_IP);
	f->ip.version = 4;
	f->ip.ihl = 5;
	f->ip.ttl = 64;
	f->ip.protocol = proto;
	f->ip.tot_len = htons(sizeof(*f) - sizeof(f->eth));
	f->ip.saddr = inet_addr(src);
	f->ip.daddr = inet_addr(dst);
	memcpy(f->payload, "hello lbrp!", 11);
	if (proto == IPPROTO_TCP) {
		f->tcp.source = htons(sport);
		f->tcp.dest = htons(dport);
		f->tcp.doff = 5;
		f->tcp.syn = syn;
		f->tcp.ack = !syn;
		f->tcp.check = l4_csum(f);
	} else {
		f->udp.source = htons(sport);
		f->udp.dest = htons(dport);
		f->udp.len = htons(sizeof(*f) - sizeof(f->eth) - sizeof(f->ip));
		f->udp.check = l4_csum(f);
	}
	f->ip.check = csum(&f->ip, sizeof(f->ip), 0);
}

enum where { DROPPED, TO_FE, TO_BE };

/* Runs f (in place) through lb1 as if it came in on port in_port. */
static enum where run(struct cube_harness *h, struct frame *f, uint32_t in_port)
{
	char path[160];
	struct pcn_cube_stats a, b;
	int ncpu = libbpf_num_possible_cpus(), fd, md;
	size_t stride = pcn_percpu_stride(sizeof(struct pcn_pkt_md));
	char *v = calloc((size_t)ncpu, stride);
	struct frame out;
	uint32_t zero = 0, out_len = sizeof(out);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f, .data_size_in = sizeof(*f), .data_out = &out,
		    .data_size_out = sizeof(out), .repeat = 1);

	assert_non_null(v);
	snprintf(path, sizeof(path), "%s/shared/pcn_md", h->bpffs);
	md = bpf_obj_get(path);
	assert_true(md >= 0);
	for (int i = 0; i < ncpu; i++)
		((struct pcn_pkt_md *)(v + (size_t)i * stride))->in_port = in_port;
	assert_int_equal(bpf_map_update_elem(md, &zero, v, BPF_ANY), 0);
	close(md);
	free(v);
	snprintf(path, sizeof(path), "%s/cubes/lbrp/lb1/prog", h->bpffs);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	a = stats(h);
	assert_int_equal(bpf_prog_test_run_opts(fd, &opts), 0);
	close(fd);
	b = stats(h);
	out_len = opts.data_size_out;
	assert_int_equal(out_len, sizeof(*f));
	memcpy(f, &out, sizeof(*f));
	if (b.drop_no_peer > a.drop_no_peer)
		return TO_FE;
	if (b.drop_tail_call > a.drop_tail_call)
		return TO_BE;
	return DROPPED;
}

static void assert_csums(const struct frame *f)
{
	struct frame g = *f;

	g.ip.check = 0;
	assert_int_equal(csum(&g.ip, sizeof(g.ip), 0), f->ip.check);
	if (f->ip.protocol == IPPROTO_TCP) {
		g.tcp.check = 0;
		assert_int_equal(l4_csum(&g), f->tcp.check);
	} else {
		g.udp.check = 0;
		assert_int_equal(l4_csum(&g), f->udp.check);
	}
}

static int backend_of(const struct frame *f)
{
	uint32_t d = ntohl(f->ip.daddr);

	assert_int_equal(d >> 8, 0x0a090100 >> 8); /* 10.9.1.x */
	return (int)(d & 0xff);
}

#define B(n, w) "{\"ip\":\"10.9.1." #n "\",\"port\":800" #n ",\"weight\":" #w "}"

/* A flow in, its answer back, both with valid checksums; another flow from
 * the same client lands by the table. */
static void test_translate(void **state)
{
	struct cube_harness *h = *state;
	struct frame f;
	int be;

	if (!h->rt)
		skip();
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, LB1(B(1, 1) "," B(2, 1) "," B(3, 2))), 0);
	wire(h);
	for (uint8_t proto = IPPROTO_TCP; proto; proto = proto == IPPROTO_TCP ? IPPROTO_UDP : 0) {
		build(&f, proto, "10.8.0.5", 40000, "10.9.0.1", 80, 1);
		assert_int_equal(run(h, &f, 0), TO_BE);
		be = backend_of(&f);
		assert_true(be >= 1 && be <= 3);
		assert_int_equal(ntohs(proto == IPPROTO_TCP ? f.tcp.dest : f.udp.dest), 8000 + be);
		assert_int_equal(f.ip.saddr, inet_addr("10.8.0.5"));
		assert_csums(&f);

		/* The answer: from the backend, to the client. */
		char bip[16];
		snprintf(bip, sizeof(bip), "10.9.1.%d", be);
		build(&f, proto, bip, (uint16_t)(8000 + be), "10.8.0.5", 40000, 0);
		assert_int_equal(run(h, &f, 1), TO_FE);
		assert_int_equal(f.ip.saddr, inet_addr("10.9.0.1"));
		assert_int_equal(ntohs(proto == IPPROTO_TCP ? f.tcp.source : f.udp.source), 80);
		assert_csums(&f);
	}
	/* Not a service: crosses as it is, both ways. */
	build(&f, IPPROTO_TCP, "10.8.0.5", 40000, "10.9.0.2", 80, 1);
	assert_int_equal(run(h, &f, 0), TO_BE);
	assert_int_equal(f.ip.daddr, inet_addr("10.9.0.2"));
	build(&f, IPPROTO_UDP, "10.9.1.1", 9, "10.8.0.5", 40000, 0);
	assert_int_equal(run(h, &f, 1), TO_FE);
	assert_int_equal(f.ip.saddr, inet_addr("10.9.1.1"));
}

/* The table by weight; double-buffered; a pool that did not change is not
 * rewritten; established flows keep their backend through a change, even
 * when it is removed; a SYN picks again. */
static void test_tables_and_affinity(void **state)
{
	struct cube_harness *h = *state;
	uint32_t counts[3], t0, t1;
	struct frame f;
	int pinned[64], moved = 0;

	if (!h->rt)
		skip();
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, LB1(B(1, 1) "," B(2, 1) "," B(3, 2))), 0);
	wire(h);
	t0 = svc(h, IPPROTO_TCP).table;
	assert_int_equal(svc(h, IPPROTO_UDP).table, t0);
	assert_int_equal(svc(h, IPPROTO_ICMP).table, t0);
	assert_int_equal(svc(h, IPPROTO_TCP).n_backends, 3);
	table_counts(h, counts, 3);
	assert_true(counts[0] >= LB_M / 4 - 2 && counts[0] <= LB_M / 4 + 2);
	assert_true(counts[2] >= LB_M / 2 - 2 && counts[2] <= LB_M / 2 + 2);

	/* 64 flows open (a SYN each). */
	for (int i = 0; i < 64; i++) {
		build(&f, IPPROTO_TCP, "10.8.0.7", (uint16_t)(41000 + i), "10.9.0.1", 80, 1);
		assert_int_equal(run(h, &f, 0), TO_BE);
		pinned[i] = backend_of(&f);
	}

	/* The same pool again (a name added): nothing rewritten. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE,
			       LB1(B(1, 1) "," B(2, 1) "," B(3, 2))),
			 0);
	assert_int_equal(svc(h, IPPROTO_TCP).table, t0);

	/* Backend 3 goes and 1 weighs 3: the other table. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, LB1(B(1, 3) "," B(2, 1))), 0);
	t1 = svc(h, IPPROTO_TCP).table;
	assert_int_equal(t1, t0 ^ 1u);
	table_counts(h, counts, 2);
	assert_true(counts[0] >= 3 * LB_M / 4 - 2 && counts[0] <= 3 * LB_M / 4 + 2);
	for (int i = 0; i < 64; i++) {
		build(&f, IPPROTO_TCP, "10.8.0.7", (uint16_t)(41000 + i), "10.9.0.1", 80, 0);
		assert_int_equal(run(h, &f, 0), TO_BE);
		assert_int_equal(backend_of(&f), pinned[i]);
	}
	/* A SYN on the same ports is a new connection: never backend 3. */
	for (int i = 0; i < 64; i++) {
		build(&f, IPPROTO_TCP, "10.8.0.7", (uint16_t)(41000 + i), "10.9.0.1", 80, 1);
		assert_int_equal(run(h, &f, 0), TO_BE);
		assert_int_not_equal(backend_of(&f), 3);
		moved += backend_of(&f) != pinned[i];
	}
	assert_true(moved > 0);

	/* All at weight 0: a new flow is dropped, an old one goes on. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, LB1(B(1, 0) "," B(2, 0))), 0);
	assert_int_equal(svc(h, IPPROTO_TCP).table, t1 ^ 1u);
	build(&f, IPPROTO_TCP, "10.8.0.8", 42000, "10.9.0.1", 80, 1);
	assert_int_equal(run(h, &f, 0), DROPPED);
	build(&f, IPPROTO_TCP, "10.8.0.7", 41000, "10.9.0.1", 80, 0);
	assert_int_equal(run(h, &f, 0), TO_BE);
}

/* src-ip-rewrite: a client of ip-range reaches the backend from the same
 * host of new_ip_range, and the answer to that address reaches the client
 * from the service. */
static void test_src_ip_rewrite(void **state)
{
	struct cube_harness *h = *state;
	struct frame f;
	char bip[16];
	int be;

	if (!h->rt)
		skip();
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE,
			       "{\"lbrp:lbrp\":[{\"name\":\"lb1\",\"ports\":[{\"name\":\"fe\",\"type\":\"FRONTEND\"},"
			       "{\"name\":\"be\",\"type\":\"BACKEND\"}],"
			       "\"src-ip-rewrite\":{\"ip-range\":\"10.8.0.0/24\",\"new_ip_range\":\"10.7.0.0/24\"},"
			       "\"service\":[{\"vip\":\"10.9.0.1\",\"vport\":80,\"proto\":\"TCP\",\"backend\":["
			       B(1, 1) "]}]}]}"),
			 0);
	wire(h);
	build(&f, IPPROTO_TCP, "10.8.0.5", 40000, "10.9.0.1", 80, 1);
	assert_int_equal(run(h, &f, 0), TO_BE);
	be = backend_of(&f);
	assert_int_equal(f.ip.saddr, inet_addr("10.7.0.5"));
	assert_csums(&f);
	snprintf(bip, sizeof(bip), "10.9.1.%d", be);
	build(&f, IPPROTO_TCP, bip, (uint16_t)(8000 + be), "10.7.0.5", 40000, 0);
	assert_int_equal(run(h, &f, 1), TO_FE);
	assert_int_equal(f.ip.saddr, inet_addr("10.9.0.1"));
	assert_int_equal(f.ip.daddr, inet_addr("10.8.0.5"));
	assert_int_equal(ntohs(f.tcp.source), 80);
	assert_csums(&f);
	/* Outside the range: unchanged. */
	build(&f, IPPROTO_TCP, "10.6.0.5", 40000, "10.9.0.1", 80, 1);
	assert_int_equal(run(h, &f, 0), TO_BE);
	assert_int_equal(f.ip.saddr, inet_addr("10.6.0.5"));
}

/* Two FRONTEND ports are refused, and the tables stay. */
static void test_one_frontend(void **state)
{
	struct cube_harness *h = *state;
	char buf[1024];
	uint32_t t0;

	if (!h->rt)
		skip();
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, LB1(B(1, 1))), 0);
	t0 = svc(h, IPPROTO_TCP).table;
	snprintf(buf, sizeof(buf), "%s",
		 "{\"lbrp:lbrp\":[{\"name\":\"lb1\",\"ports\":[{\"name\":\"fe\",\"type\":\"FRONTEND\"},"
		 "{\"name\":\"be\",\"type\":\"FRONTEND\"}],"
		 "\"service\":[{\"vip\":\"10.9.0.1\",\"vport\":80,\"proto\":\"ALL\",\"backend\":[" B(2, 1) "]}]}]}");
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, buf), -EINVAL);
	assert_int_equal(svc(h, IPPROTO_TCP).table, t0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_translate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tables_and_affinity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_frontend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_src_ip_rewrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_src_ip_rewrite, setup_xdp, teardown),
		cmocka_unit_test_setup_teardown(test_translate, setup_xdp, teardown),
		cmocka_unit_test_setup_teardown(test_tables_and_affinity, setup_xdp, teardown),
	};

	pcn_log_init("lbrp_test", PCN_LOG_WARN);
	pcn_log_route_libbpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
