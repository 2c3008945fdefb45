/* The netdev input program and a cube attached for real, on veths in a
 * network namespace private to this process (gone when it exits, whatever
 * happens): a frame sent into one veth pair must enter helloworld through
 * the netdev program and leave through the other pair.
 *
 * BPF_PROG_TEST_RUN cannot check this part: which ifindex field names the
 * receiving netdev at TC ingress and in generic XDP. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>

#include "bpf_test_util.h"
#include "helloworld_shared.h"

#include "pcn_netdev_tc.skel.h"
#include "pcn_netdev_xdp.skel.h"
#include "test_helloworld_tc.skel.h"
#include "test_helloworld_xdp.skel.h"

enum { HW = 3 };

struct hook {
	const char *name;
	int xdp;
	const void *(*netdev_elf)(size_t *sz);
	const void *(*hw_elf)(size_t *sz);
};

static const struct hook hook_xdp = { "xdp", 1, pcn_netdev_xdp__elf_bytes,
				      test_helloworld_xdp__elf_bytes };
static const struct hook hook_tc = { "tc", 0, pcn_netdev_tc__elf_bytes,
				     test_helloworld_tc__elf_bytes };

/* Runs a command in this process's (private) network namespace. */
static int sh(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* A raw socket on ifname, for sending or receiving whole frames. */
static int packet_socket(const char *ifname, int *ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct timeval tv = { .tv_sec = 1 };
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	if (fd < 0)
		return -errno;
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		close(fd);
		return -EINVAL;
	}
	*ifindex = sll.sll_ifindex;
	return fd;
}

struct fixture {
	struct bpf_object *netdev, *hw;
	int tx, rx;
};

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		if (f->tx >= 0)
			close(f->tx);
		if (f->rx >= 0)
			close(f->rx);
		/* The namespace, its veths and the attachments on them go with
		 * this process; the objects go here. */
		bpf_object__close(f->hw);
		bpf_object__close(f->netdev);
		free(f);
		*state = NULL;
	}
	return 0;
}

/* cma <-> cmb and cmc <-> cmd; the netdev program on cma, helloworld
 * forwarding its port 0 (cma) to port 1 (cmc). A frame sent on cmb must
 * come out on cmd. */
static void test_attach(void **state)
{
	const struct hook *h = *state;
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t frame[128], got[256];
	size_t len = t_icmp_frame(frame, sizeof(frame)), sz;
	struct pcn_cube_stats st;
	struct pcn_netdev_val in = { .cube_index = HW, .port = 0 };
	uint32_t key = pcn_fwd_slot(HW, 1);
	struct pcn_fwd_val peer = { .kind = PCN_PEER_NETDEV };
	uint32_t slot = HW, zero = 0, action = HELLOWORLD_ACTION_FORWARD, a_ifx;
	int cmb, cmd, nd_fd, hw_fd, err, i, seen = 0;
	ssize_t n;

	assert_non_null(f);
	f->tx = f->rx = -1;
	*state = f;
	if (unshare(CLONE_NEWNET)) {
		print_message("no private network namespace (%s): skipping\n", strerror(errno));
		skip();
	}
	/* IPv6 autoconfiguration would send its own frames through the
	 * programs and move the counters this test checks exactly. */
	assert_int_equal(write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1"), 0);
	assert_int_equal(sh("ip link add cma type veth peer name cmb"), 0);
	assert_int_equal(sh("ip link add cmc type veth peer name cmd"), 0);
	assert_int_equal(sh("for d in cma cmb cmc cmd; do ip link set $d up || exit 1; done"), 0);
	a_ifx = if_nametoindex("cma");
	peer.ifindex = if_nametoindex("cmc");
	assert_true(a_ifx && peer.ifindex);

	{
		const void *elf = h->netdev_elf(&sz);

		err = t_obj_load(&f->netdev, "pcn_netdev", elf, sz, 0, 2, NULL);
		if (err == -EPERM || err == -EACCES) {
			print_message("BPF not permitted here (%s): skipping\n", strerror(-err));
			skip();
		}
		assert_int_equal(err, 0);
		elf = h->hw_elf(&sz);
		assert_int_equal(t_obj_load(&f->hw, "helloworld", elf, sz, HW, 2, f->netdev), 0);
	}
	nd_fd = t_prog_fd(f->netdev, "pcn_netdev_entry");
	hw_fd = t_prog_fd(f->hw, "pcn_entry");
	assert_int_equal(bpf_map_update_elem(t_map_fd(f->netdev, h->xdp ? PCN_MAP_PP_XDP
									  : PCN_MAP_PP_TC),
					     &slot, &hw_fd, BPF_ANY),
			 0);
	assert_int_equal(bpf_map_update_elem(t_map_fd(f->netdev, PCN_MAP_NETDEV_IN), &a_ifx, &in,
					     BPF_ANY),
			 0);
	assert_int_equal(bpf_map_update_elem(t_map_fd(f->netdev, PCN_MAP_FWD), &key, &peer,
					     BPF_ANY),
			 0);
	assert_int_equal(bpf_map_update_elem(t_map_fd(f->hw, "helloworld_action"), &zero, &action,
					     BPF_ANY),
			 0);

	if (h->xdp) {
		assert_int_equal(bpf_xdp_attach((int)a_ifx, nd_fd, XDP_FLAGS_SKB_MODE, NULL), 0);
	} else {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)a_ifx, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = nd_fd);

		assert_int_equal(bpf_tc_hook_create(&hook), 0);
		assert_int_equal(bpf_tc_attach(&hook, &opts), 0);
	}

	f->tx = packet_socket("cmb", &cmb);
	f->rx = packet_socket("cmd", &cmd);
	assert_true(f->tx >= 0 && f->rx >= 0);
	{
		struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = cmb,
					  .sll_halen = ETH_ALEN };

		memcpy(to.sll_addr, frame, ETH_ALEN);
		assert_int_equal(sendto(f->tx, frame, len, 0, (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)len);
	}
	/* Up to a few unrelated frames may show up first; ours is the one
	 * with the same bytes. */
	for (i = 0; i < 8 && !seen; i++) {
		n = recv(f->rx, got, sizeof(got), 0);
		if (n < 0)
			break;
		seen = (size_t)n == len && !memcmp(got, frame, len);
	}
	print_message("[%s] frame sent on cmb %s on cmd\n", h->name, seen ? "arrived" : "missing");
	assert_true(seen);
	assert_int_equal(t_percpu_sum_u64(t_map_fd(f->netdev, PCN_MAP_STATS), HW, &st, sizeof(st)),
			 0);
	assert_int_equal(st.rx_packets, 1);
	assert_int_equal(st.tx_netdev, 1);
	assert_int_equal(st.drop_verdict + st.drop_no_peer + st.drop_tail_call, 0);
}

int main(void)
{
	/* Each test unshares a fresh namespace: the second one does not see
	 * the first one's veths. */
	const struct CMUnitTest tests[] = {
		{ "attach_xdp_generic", test_attach, NULL, teardown, (void *)&hook_xdp },
		{ "attach_tc_ingress", test_attach, NULL, teardown, (void *)&hook_tc },
	};

	return cmocka_run_group_tests_name("bpf_attach", tests, NULL, NULL);
}
