/* lbdsr's control plane against its real fast path: ARP for the vip is
 * answered, a flow to the vip leaves by the backend port toward a
 * backend's MAC (the rest of the frame untouched), the Maglev table by
 * weight is double-buffered and switched in one write (not rewritten when
 * the pool did not change), flows keep their backend through a change and
 * a SYN picks again; what the model says to drop is dropped. TC and XDP
 * builds. Needs root (skips otherwise). */
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

#include "lbdsr_shared.h"
#include "pcn_kern_user.h"
#include "pcn_percpu.h"
#include "testdata/cube_testutil.h"

extern const struct pcn_cube_desc lbdsr_desc;

#define SLOT 7 /* the harness's PatchPanel slot */

static enum pcn_hook hook = PCN_HOOK_TC;

static int setup(void **state)
{
	struct cube_harness *h = calloc(1, sizeof(*h));

	hook = PCN_HOOK_TC;
	*state = h;
	cube_harness_init(h, &lbdsr_desc);
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

#define FE_MAC "\x02\x00\x00\x00\x00\x64"
#define LB1(pool)                                                                                      \
	"{\"lbdsr:lbdsr\":[{\"name\":\"lb1\",\"ports\":[{\"name\":\"fe\",\"type\":\"FRONTEND\"},"         \
	"{\"name\":\"be\",\"type\":\"BACKEND\"}],\"algorithm\":\"Random\","                              \
	"\"frontend\":{\"vip\":\"10.9.0.100\",\"mac\":\"02:00:00:00:00:64\"},"                          \
	"\"backend\":{\"pool\":[" pool "]}}]}"
#define B(n, w) "{\"id\":" #n ",\"mac\":\"02:00:00:00:00:0" #n "\",\"weight\":" #w "}"

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

static uint32_t ctl(struct cube_harness *h)
{
	uint32_t zero = 0, v = 0xdead;

	assert_int_equal(pcn_map_lookup(cube_harness_instance(h, "lb1"), "lbdsr_ctl", &zero, &v), 0);
	return v;
}

/* Port 0 (fe) has no peer: drop_no_peer; port 1 (be) an empty PatchPanel
 * slot: drop_tail_call. */
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
	}
	free(per);
	close(fd);
	return st;
}

enum where { DROPPED, TO_FE, TO_BE };

/* Runs frame (len bytes, rewritten in place) through lb1 from in_port. */
static enum where run(struct cube_harness *h, void *frame, uint32_t len, uint32_t in_port)
{
	char path[160], out[128];
	struct pcn_cube_stats a, b;
	int ncpu = libbpf_num_possible_cpus(), fd, md;
	size_t stride = pcn_percpu_stride(sizeof(struct pcn_pkt_md));
	char *v = calloc((size_t)ncpu, stride);
	uint32_t zero = 0;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	assert_non_null(v);
	assert_true(len <= sizeof(out));
	snprintf(path, sizeof(path), "%s/shared/pcn_md", h->bpffs);
	md = bpf_obj_get(path);
	assert_true(md >= 0);
	for (int i = 0; i < ncpu; i++)
		((struct pcn_pkt_md *)(v + (size_t)i * stride))->in_port = in_port;
	assert_int_equal(bpf_map_update_elem(md, &zero, v, BPF_ANY), 0);
	close(md);
	free(v);
	snprintf(path, sizeof(path), "%s/cubes/lbdsr/lb1/prog", h->bpffs);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	a = stats(h);
	assert_int_equal(bpf_prog_test_run_opts(fd, &opts), 0);
	close(fd);
	b = stats(h);
	assert_int_equal(opts.data_size_out, len);
	memcpy(frame, out, len);
	if (b.drop_no_peer > a.drop_no_peer)
		return TO_FE;
	if (b.drop_tail_call > a.drop_tail_call)
		return TO_BE;
	return DROPPED;
}

struct tcp_frame {
	struct ethhdr eth;
	struct iphdr ip;
	struct tcphdr tcp;
} __attribute__((packed));

static void tcp_build(struct tcp_frame *f, const char *dmac, const char *dst, uint16_t sport, int syn)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->eth.h_dest, dmac, ETH_ALEN);
	memcpy(f->eth.h_source, "\x02\x00\x00\x00\x00\xcc", ETH_ALEN);
	f->eth.h_proto = htons(ETH_P_IP);
	f->ip.version = 4;
	f->ip.ihl = 5;
	f->ip.ttl = 64;
	f->ip.protocol = IPPROTO_TCP;
	f->ip.tot_len = htons(sizeof(*f) - sizeof(f->eth));
	f->ip.saddr = inet_addr("10.8.0.5");
	f->ip.daddr = inet_addr(dst);
	f->tcp.source = htons(sport);
	f->tcp.dest = htons(80);
	f->tcp.doff = 5;
	f->tcp.syn = syn;
	f->tcp.ack = !syn;
	f->tcp.check = 0x1234;
}

/* Which backend (1..3) a flow went to; the frame otherwise untouched. */
static int sent_to(struct cube_harness *h, uint16_t sport, int syn)
{
	struct tcp_frame f, g;

	tcp_build(&f, FE_MAC, "10.9.0.100", sport, syn);
	g = f;
	assert_int_equal(run(h, &f, sizeof(f), 0), TO_BE);
	assert_memory_equal(f.eth.h_source, "\x00\x00\x00\x00\x00\x64", ETH_ALEN);
	assert_memory_equal(&f.ip, &g.ip, sizeof(f.ip) + sizeof(f.tcp));
	assert_memory_equal(f.eth.h_dest, "\x02\x00\x00\x00\x00", 5);
	assert_true(f.eth.h_dest[5] >= 1 && f.eth.h_dest[5] <= 3);
	return f.eth.h_dest[5];
}

static void test_arp_and_drops(void **state)
{
	struct cube_harness *h = *state;
	unsigned char arp[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0xcc, 0x08, 0x06,
				  0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 0xcc, 10, 8, 0, 5,
				  0, 0, 0, 0, 0, 0, 10, 9, 0, 100 };
	struct tcp_frame f;

	if (!h->rt)
		skip();
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, LB1(B(1, 1))), 0);
	wire(h);
	/* Who has the vip? Answered, out of the frontend port. */
	assert_int_equal(run(h, arp, sizeof(arp), 0), TO_FE);
	assert_memory_equal(arp, "\x02\x00\x00\x00\x00\xcc" FE_MAC, 12);
	assert_int_equal(arp[21], 2); /* a reply */
	assert_memory_equal(arp + 22, FE_MAC "\x0a\x09\x00\x64", 10);
	assert_memory_equal(arp + 32, "\x02\x00\x00\x00\x00\xcc\x0a\x08\x00\x05", 10);
	/* For another address: not ours to answer. */
	arp[21] = 1;
	arp[41] = 101;
	assert_int_equal(run(h, arp, sizeof(arp), 0), DROPPED);
	/* To the vip but another MAC; to the MAC but another address; from
	 * the backend port: dropped, as Polycube does. */
	tcp_build(&f, "\x02\x00\x00\x00\x00\x65", "10.9.0.100", 1000, 1);
	assert_int_equal(run(h, &f, sizeof(f), 0), DROPPED);
	tcp_build(&f, FE_MAC, "10.9.0.101", 1000, 1);
	assert_int_equal(run(h, &f, sizeof(f), 0), DROPPED);
	tcp_build(&f, FE_MAC, "10.9.0.100", 1000, 1);
	assert_int_equal(run(h, &f, sizeof(f), 1), DROPPED);
	assert_int_equal(sent_to(h, 1000, 1), 1);
	/* An empty pool: nothing to send to. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, LB1("")), 0);
	tcp_build(&f, FE_MAC, "10.9.0.100", 1001, 1);
	assert_int_equal(run(h, &f, sizeof(f), 0), DROPPED);
}

static void test_tables_and_affinity(void **state)
{
	struct cube_harness *h = *state;
	int pinned[200], n[4] = { 0 }, moved = 0;
	uint32_t c0, c1;

	if (!h->rt)
		skip();
	/* A new instance: table 0 is all zeros and holds no backend. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, LB1(B(1, 1) "," B(2, 1) "," B(3, 2))), 0);
	wire(h);
	c0 = ctl(h);
	assert_int_equal(c0, 1u | 3u << 16);
	for (int i = 0; i < 200; i++) {
		pinned[i] = sent_to(h, (uint16_t)(2000 + i), 1);
		n[pinned[i]]++;
	}
	assert_true(n[1] > 20 && n[2] > 20 && n[3] > 70);

	/* The same pool again: nothing written. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, LB1(B(1, 1) "," B(2, 1) "," B(3, 2))), 0);
	assert_int_equal(ctl(h), c0);

	/* 3 goes: the other table; open flows keep their backend, even 3's;
	 * a SYN picks again and never 3. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, LB1(B(1, 1) "," B(2, 1))), 0);
	c1 = ctl(h);
	assert_int_equal(c1, 0u | 2u << 16);
	for (int i = 0; i < 200; i++)
		assert_int_equal(sent_to(h, (uint16_t)(2000 + i), 0), pinned[i]);
	for (int i = 0; i < 200; i++) {
		int b = sent_to(h, (uint16_t)(2000 + i), 1);

		assert_int_not_equal(b, 3);
		if (pinned[i] != 3)
			moved += b != pinned[i];
	}
	/* Maglev: the others' flows stay (a few of 200 at most). */
	assert_true(moved <= 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_arp_and_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tables_and_affinity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_and_drops, setup_xdp, teardown),
		cmocka_unit_test_setup_teardown(test_tables_and_affinity, setup_xdp, teardown),
	};

	pcn_log_init("lbdsr_test", PCN_LOG_WARN);
	pcn_log_route_libbpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
