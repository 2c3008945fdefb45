/* pc_cbpf's translation against libpcap's reference: for each expression
 * and each crafted frame, the verdict of the generated C (inside the
 * cube's own fast-path source, built with clang for XDP and for TC, run
 * with BPF_PROG_TEST_RUN) equals bpf_filter's on the same bytes, the same
 * number (0 rejects, else the snap length) and not only match/no match.
 * Root: loads programs. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "packetcapture_shared_src.h"
#include "packetcapture_src.h"
#include "pc_cbpf.h"

#define SNAPLEN 96

static const char *const exprs[] = {
	"icmp",
	"udp",
	"tcp and port 80",
	"tcp[tcpflags] & tcp-syn != 0",
	"host 10.0.0.1",
	"net 10.0.0.0/8 and not port 22",
	"ip6",
	"arp",
	"vlan and ip",
	"greater 100",
	"less 60",
	"ether src 02:00:00:00:00:01",
	"ip[8] > 60",
	"udp port 53 or icmp",
	"ip6 and tcp dst port 443",
	"ip[2:2] / 3 > 20 and ip[2:2] % 7 = 3",
	"ip[6:2] & 0x1fff != 0",
	"icmp[icmptype] = icmp-echo",
	"(ip[9] ^ 1) = 0 and (ip[1] << 2) = 0 and (ip[2:2] >> 1) > 10",
	"ip[2:2] - 20 > 10 and ip[2:2] * 2 > 100",
	"tcp[100:4] = 0",
	"ether proto 0x88cc",
};
#define N_EXPRS (sizeof(exprs) / sizeof(exprs[0]))

struct frame {
	const char *what;
	uint8_t b[200];
	size_t len;
};

static struct frame frames[24];
static size_t n_frames;

static uint16_t csum_dummy = 0;

/* Ethernet + IPv4 + L4 (proto, ports) with a payload of pay bytes. */
static void ipv4(const char *what, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t flags, size_t pay,
		 uint16_t frag, uint8_t ihl, bool vlan)
{
	struct frame *f = &frames[n_frames++];
	uint8_t *p = f->b;
	size_t l4 = proto == 6 ? 20 : 8, iplen = ihl * 4 + l4 + pay, o = 0;

	f->what = what;
	memcpy(p, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	o = 12;
	if (vlan) {
		memcpy(p + o, "\x81\x00\x00\x0a", 4);
		o += 4;
	}
	memcpy(p + o, "\x08\x00", 2);
	o += 2;
	p[o] = (uint8_t)(0x40 | ihl);
	p[o + 2] = (uint8_t)(iplen >> 8);
	p[o + 3] = (uint8_t)iplen;
	p[o + 6] = (uint8_t)(frag >> 8);
	p[o + 7] = (uint8_t)frag;
	p[o + 8] = 64;
	p[o + 9] = proto;
	memcpy(p + o + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	o += ihl * 4u;
	if (proto == 1) {
		p[o] = 8; /* echo request */
	} else {
		p[o] = (uint8_t)(sport >> 8);
		p[o + 1] = (uint8_t)sport;
		p[o + 2] = (uint8_t)(dport >> 8);
		p[o + 3] = (uint8_t)dport;
		if (proto == 6) {
			p[o + 12] = 0x50;
			p[o + 13] = flags;
		}
	}
	o += l4 + pay;
	f->len = o;
	(void)csum_dummy;
}

static void frames_make(void)
{
	struct frame *f;

	ipv4("icmp echo", 1, 0, 0, 0, 56, 0, 5, false);
	ipv4("udp 53", 17, 40000, 53, 0, 20, 0, 5, false);
	ipv4("tcp syn 80", 6, 40000, 80, 0x02, 0, 0, 5, false);
	ipv4("tcp ack 22", 6, 22, 40000, 0x10, 100, 0, 5, false);
	ipv4("tcp 443 ip options", 6, 40000, 443, 0x18, 10, 0, 7, false);
	ipv4("udp fragment", 17, 1, 2, 0, 30, 0x2010, 5, false);
	ipv4("vlan icmp", 1, 0, 0, 0, 20, 0, 5, true);
	ipv4("udp 80 tiny", 17, 80, 80, 0, 0, 0, 5, false);

	f = &frames[n_frames++];
	f->what = "ipv6 tcp 443";
	memcpy(f->b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x86\xdd\x60\x00\x00\x00\x00\x14\x06\x40",
	       22);
	f->b[22 + 32] = 0x9c; /* sport 40000 */
	f->b[22 + 33] = 0x40;
	f->b[22 + 34] = 0x01; /* dport 443 */
	f->b[22 + 35] = 0xbb;
	f->b[22 + 32 + 12] = 0x50;
	f->len = 14 + 40 + 20;

	f = &frames[n_frames++];
	f->what = "arp";
	memcpy(f->b, "\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x01\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 22);
	f->len = 42;

	f = &frames[n_frames++];
	f->what = "lldp";
	memcpy(f->b, "\x01\x80\xc2\x00\x00\x0e\x02\x00\x00\x00\x00\x03\x88\xcc", 14);
	f->len = 60;

	/* Loads past the end reject (TC's test run wants a whole IPv4 header). */
	ipv4("tcp cut after the ip header", 6, 40000, 80, 0x02, 0, 0, 5, false);
	frames[n_frames - 1].len = 14 + 20;
}

/* The fast path's source with a test program reading pc_filter's verdict. */
static void *build(const char *src, size_t len, bool tc, size_t *size)
{
	static const char harness[] = "#define PC_TEST_HARNESS 1\n";
	char *full = malloc(sizeof(harness) + len), err[512];
	void *bytes = NULL;
	int rc;

	assert_non_null(full);
	memcpy(full, harness, sizeof(harness) - 1);
	memcpy(full + sizeof(harness) - 1, src, len);
	rc = pc_cbpf_build(full, sizeof(harness) - 1 + len, tc, &bytes, size, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	free(full);
	return bytes;
}

static void check_hook(bool tc)
{
	for (size_t e = 0; e < N_EXPRS; e++) {
		struct pc_cbpf *prog;
		struct bpf_program *p;
		struct bpf_object *obj;
		struct bpf_map *m;
		char err[512];
		size_t len, size;
		int rc, out_fd, prog_fd;
		char *src;
		void *bytes;

		prog = pc_cbpf_new(exprs[e], SNAPLEN, err, sizeof(err));
		if (!prog)
			fail_msg("\"%s\": %s", exprs[e], err);
		src = pc_cbpf_source(exprs[e], SNAPLEN, packetcapture_src, packetcapture_src_len,
				     packetcapture_shared_src, packetcapture_shared_src_len, &len, &rc, err, sizeof(err));
		assert_non_null(src);
		bytes = build(src, len, tc, &size);
		obj = bpf_object__open_mem(bytes, size, NULL);
		assert_non_null(obj);
		bpf_object__for_each_program(p, obj)
			bpf_program__set_autoload(p, strcmp(bpf_program__name(p), "pc_test") == 0);
		/* No pins: the framework's shared maps are not needed here. */
		bpf_object__for_each_map(m, obj)
			bpf_map__set_pin_path(m, NULL);
		rc = bpf_object__load(obj);
		if (rc)
			fail_msg("%s: \"%s\" does not load: %d", tc ? "TC" : "XDP", exprs[e], rc);
		prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "pc_test"));
		out_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "pc_test_out"));
		for (size_t i = 0; i < n_frames; i++) {
			struct frame *f = &frames[i];
			uint32_t zero = 0, got = 0xdeadbeef;
			uint32_t want = pc_cbpf_reference(prog, f->b, f->len);
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = (uint32_t)f->len,
				    .repeat = 1);

			assert_int_equal(bpf_map_update_elem(out_fd, &zero, &got, BPF_ANY), 0);
			rc = bpf_prog_test_run_opts(prog_fd, &o);
			if (rc)
				fail_msg("%s: \"%s\" on %s: BPF_PROG_TEST_RUN %d", tc ? "TC" : "XDP", exprs[e], f->what, rc);
			assert_int_equal(bpf_map_lookup_elem(out_fd, &zero, &got), 0);
			if (got != want)
				fail_msg("%s: \"%s\" on %s: translated %u, libpcap %u", tc ? "TC" : "XDP", exprs[e],
					 f->what, got, want);
		}
		bpf_object__close(obj);
		free(bytes);
		free(src);
		pc_cbpf_free(prog);
	}
}

static void test_xdp(void **state)
{
	(void)state;
	check_hook(false);
}

static void test_tc(void **state)
{
	(void)state;
	check_hook(true);
}

/* An expression libpcap refuses: its message, and no source. */
static void test_refused(void **state)
{
	char err[512];
	size_t len;
	int rc = 0;
	char *src = pc_cbpf_source("tcp and port", SNAPLEN, packetcapture_src, packetcapture_src_len,
				   packetcapture_shared_src, packetcapture_shared_src_len, &len, &rc, err, sizeof(err));

	(void)state;
	assert_null(src);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "syntax error"));
	assert_true(pc_cbpf_is_all("all") && pc_cbpf_is_all(" all ") && pc_cbpf_is_all("") && pc_cbpf_is_all(NULL));
	assert_false(pc_cbpf_is_all("allx") || pc_cbpf_is_all("icmp"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_xdp),
		cmocka_unit_test(test_tc),
	};

	frames_make();
	if (geteuid() != 0) {
		fprintf(stderr, "pc_cbpf_test: needs root (loads programs)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
