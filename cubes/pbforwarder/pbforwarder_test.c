/* pbforwarder's control plane against its real fast path: the table in the
 * kernel follows the configuration (sorted by id, double-buffered), and
 * packets run through the loaded program take the first matching rule's
 * action. Needs root (skips otherwise). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include "pcn_kern_user.h"
#include "pbforwarder_shared.h"
#include "testdata/cube_testutil.h"

extern const struct pcn_cube_desc pbforwarder_desc;

/* The harness gives the instance PatchPanel slot 7. */
#define SLOT 7

/* The hook the instances of the running test are made for. */
static enum pcn_hook hook = PCN_HOOK_TC;

static int setup(void **state)
{
	struct cube_harness *h = calloc(1, sizeof(*h));

	hook = PCN_HOOK_TC;
	*state = h;
	cube_harness_init(h, &pbforwarder_desc);
	return 0;
}

/* The same at XDP: the other build of the fast path, through the verifier
 * and run on packets as a frame. */
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

#define PBF1(rules)                                                                                \
	"{\"pbforwarder:pbforwarder\":[{\"name\":\"pbf1\",\"ports\":[{\"name\":\"p1\"},{\"name\":\"p2\"}]," \
	"\"rules\":[" rules "]}]}"

static const char *const p1p2[] = { "p1", "p2", NULL };

/* json with the instance's type set to the test's hook. */
static int apply(struct cube_harness *h, int op, const char *json)
{
	static const char name[] = "\"name\":\"pbf1\",";
	const char *at = strstr(json, name);
	char buf[2048];

	assert_non_null(at);
	at += strlen(name);
	snprintf(buf, sizeof(buf), "%.*s\"type\":\"%s\",%s", (int)(at - json), json,
		 hook == PCN_HOOK_TC ? "TC" : "XDP_SKB", at);
	return cube_harness_apply(h, op, "pbf1", hook, buf, p1p2);
}

static uint32_t ctl(struct cube_harness *h)
{
	uint32_t zero = 0, v = 0xdeadbeef;

	assert_int_equal(pcn_map_lookup(cube_harness_instance(h, "pbf1"), "pbf_ctl", &zero, &v), 0);
	return v;
}

/* The id of the active table's rule i. */
static uint32_t rule_id(struct cube_harness *h, uint32_t i)
{
	uint32_t key = ((ctl(h) & PBF_CTL_ACTIVE) ? PBF_MAX_RULES : 0) + i;
	struct pbf_rule r;

	assert_int_equal(pcn_map_lookup(cube_harness_instance(h, "pbf1"), "pbf_rules", &key, &r), 0);
	return r.id;
}

/* The instance's counters, summed over the CPUs. */
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
		st.drop_verdict += per[c].drop_verdict;
		st.drop_no_peer += per[c].drop_no_peer;
		st.drop_tail_call += per[c].drop_tail_call;
		st.to_slowpath += per[c].to_slowpath;
	}
	free(per);
	close(fd);
	return st;
}

/* Port 0's peer is nothing (pcn_pkt_send counts drop_no_peer); port 1's
 * an empty PatchPanel slot (drop_tail_call): which one moves says which
 * port a FORWARD chose. */
static void wire_port1(struct cube_harness *h)
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

struct frame {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	unsigned char payload[18];
} __attribute__((packed));

enum outcome { DROPPED, TO_P1, TO_P2, SLOWPATH };

/* Runs frame through the instance's program; what it did, by the counter
 * that moved. */
static enum outcome run_frame(struct cube_harness *h, const void *frame, uint32_t len)
{
	char prog[160];
	struct pcn_cube_stats a = stats(h), b;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .repeat = 1);
	int fd;

	snprintf(prog, sizeof(prog), "%s/cubes/pbforwarder/pbf1/prog", h->bpffs);
	fd = bpf_obj_get(prog);
	assert_true(fd >= 0);
	assert_int_equal(bpf_prog_test_run_opts(fd, &opts), 0);
	close(fd);
	b = stats(h);
	if (b.to_slowpath > a.to_slowpath)
		return SLOWPATH;
	if (b.drop_no_peer > a.drop_no_peer)
		return TO_P1;
	if (b.drop_tail_call > a.drop_tail_call)
		return TO_P2;
	assert_true(b.drop_verdict > a.drop_verdict);
	return DROPPED;
}

static void fill_udp(struct frame *f, int src, int dport)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->eth.h_dest, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	memcpy(f->eth.h_source, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	f->eth.h_proto = htons(ETH_P_IP);
	f->ip.version = 4;
	f->ip.ihl = 5;
	f->ip.ttl = 64;
	f->ip.protocol = IPPROTO_UDP;
	f->ip.tot_len = htons(sizeof(*f) - sizeof(f->eth));
	f->ip.saddr = htonl(0x0a000000 | (uint32_t)src);
	f->ip.daddr = inet_addr("10.0.0.2");
	f->udp.source = htons(40000);
	f->udp.dest = htons((uint16_t)dport);
	f->udp.len = htons(sizeof(f->udp) + sizeof(f->payload));
}

/* A UDP packet from 10.0.0.<src> to 10.0.0.2, port dport. */
static enum outcome run(struct cube_harness *h, int src, int dport)
{
	struct frame f;

	fill_udp(&f, src, dport);
	return run_frame(h, &f, sizeof(f));
}

/* The same with an 802.1Q tag of VLAN vid (in the frame's bytes: at TC a
 * test run does not move it into the skb's metadata, so this reads the
 * tag the way the XDP build always does, and the TC build for an inner
 * tag). */
static enum outcome run_tagged(struct cube_harness *h, int src, int dport, uint16_t vid)
{
	struct frame f;
	unsigned char buf[sizeof(f) + 4];

	fill_udp(&f, src, dport);
	memcpy(buf, &f, 12);
	buf[12] = 0x81;
	buf[13] = 0x00;
	buf[14] = (unsigned char)(vid >> 8);
	buf[15] = (unsigned char)vid;
	memcpy(buf + 16, (unsigned char *)&f + 12, sizeof(f) - 12);
	return run_frame(h, buf, sizeof(buf));
}

static void test_first_match_by_id(void **state)
{
	struct cube_harness *h = *state;
	uint32_t c0;

	if (!h->rt)
		skip();
	/* No rules: everything drops, Polycube's default. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, PBF1("")), 0);
	assert_int_equal(PBF_CTL_COUNT(ctl(h)), 0);
	wire_port1(h);
	assert_int_equal(run(h, 1, 53), DROPPED);

	/* Given out of order; 5 (UDP to 53) comes before 20 (from .1). */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE,
			       PBF1("{\"id\":20,\"src_ip\":\"10.0.0.1\",\"action\":\"FORWARD\",\"out_port\":\"p1\"},"
				    "{\"id\":5,\"l4_proto\":\"UDP\",\"dst_port\":53,\"action\":\"FORWARD\","
				    "\"out_port\":\"p2\"},"
				    "{\"id\":30,\"src_ip\":\"10.0.0.3\",\"action\":\"SLOWPATH\"}")),
			 0);
	c0 = ctl(h);
	assert_int_equal(PBF_CTL_COUNT(c0), 3);
	assert_int_equal(rule_id(h, 0), 5);
	assert_int_equal(rule_id(h, 1), 20);
	assert_int_equal(rule_id(h, 2), 30);
	assert_int_equal(run(h, 1, 53), TO_P2);
	assert_int_equal(run(h, 1, 54), TO_P1);
	assert_int_equal(run(h, 3, 54), SLOWPATH);
	assert_int_equal(run(h, 4, 54), DROPPED);

	/* Rule 5 goes: the other table becomes the active one, and .1's
	 * packets to 53 now fall to rule 20. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE,
			       PBF1("{\"id\":20,\"src_ip\":\"10.0.0.1\",\"action\":\"FORWARD\",\"out_port\":\"p1\"},"
				    "{\"id\":30,\"src_ip\":\"10.0.0.3\",\"action\":\"SLOWPATH\"}")),
			 0);
	assert_int_not_equal(ctl(h) & PBF_CTL_ACTIVE, c0 & PBF_CTL_ACTIVE);
	assert_int_equal(PBF_CTL_COUNT(ctl(h)), 2);
	assert_int_equal(run(h, 1, 53), TO_P1);

	/* A rule whose in_port is the other port does not match. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE,
			       PBF1("{\"id\":1,\"in_port\":\"p2\",\"action\":\"SLOWPATH\"},"
				    "{\"id\":2,\"in_port\":\"p1\",\"action\":\"DROP\"},"
				    "{\"id\":20,\"src_ip\":\"10.0.0.1\",\"action\":\"FORWARD\",\"out_port\":\"p1\"}")),
			 0);
	assert_int_equal(run(h, 1, 53), DROPPED);
}

/* A rule's vlan matches the frame's tag; the headers behind the tag are
 * still read (addresses, ports). */
static void test_vlan(void **state)
{
	struct cube_harness *h = *state;

	if (!h->rt)
		skip();
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE,
			       PBF1("{\"id\":1,\"vlan\":100,\"action\":\"SLOWPATH\"},"
				    "{\"id\":2,\"vlan\":200,\"l4_proto\":\"UDP\",\"dst_port\":53,"
				    "\"action\":\"FORWARD\",\"out_port\":\"p2\"},"
				    "{\"id\":3,\"src_ip\":\"10.0.0.1\",\"action\":\"FORWARD\",\"out_port\":\"p1\"}")),
			 0);
	wire_port1(h);
	assert_int_equal(run_tagged(h, 1, 53, 100), SLOWPATH);
	assert_int_equal(run_tagged(h, 1, 53, 200), TO_P2);
	assert_int_equal(run_tagged(h, 1, 54, 200), TO_P1);
	assert_int_equal(run_tagged(h, 4, 54, 200), DROPPED);
	/* Untagged: no vlan rule matches. */
	assert_int_equal(run(h, 1, 53), TO_P1);
}

/* A refused configuration leaves the table as it was. */
static void test_refusal_changes_nothing(void **state)
{
	struct cube_harness *h = *state;
	uint32_t c0;

	if (!h->rt)
		skip();
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE,
			       PBF1("{\"id\":1,\"action\":\"FORWARD\",\"out_port\":\"p2\"}")),
			 0);
	wire_port1(h);
	c0 = ctl(h);
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE,
			       PBF1("{\"id\":1,\"action\":\"FORWARD\",\"out_port\":\"p2\"},"
				    "{\"id\":2,\"dst_port\":53}")),
			 -EINVAL);
	assert_int_equal(ctl(h), c0);
	assert_int_equal(run(h, 1, 53), TO_P2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_match_by_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vlan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_match_by_id, setup_xdp, teardown),
		cmocka_unit_test_setup_teardown(test_vlan, setup_xdp, teardown),
	};

	pcn_log_init("pbforwarder_test", PCN_LOG_WARN);
	pcn_log_route_libbpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
