/* pcn-trafficgen: the benchmarks' traffic generator, sink and timer.
 *
 *   pcn-trafficgen gen --src-ns NS --dst-ns NS [--src-if eth0] [--dst-if eth0]
 *                      [--size 64] [--rate PPS] [--duration S] [--cpu N]
 *                      [--sink-mode drv|skb] [--dst-mac MAC] [--mix PCT --mix-dst-mac MAC]
 *     Sends fixed-size UDP frames out of --src-if in the source namespace,
 *     flat out (--rate 0) or at a rate, for --duration seconds, and counts
 *     what reaches --dst-if in the destination namespace with an XDP sink.
 *     With --mix, PCT percent of the frames go to --mix-dst-mac instead
 *     (e.g. a MAC a bridge has not learned: its slow path). With
 *     --restore every frame's headers are written again (for a device
 *     under test that rewrites frames in place: a router). With --flows N
 *     the frames cycle through N flows (at most TG_FLOWS_MAX): UDP source
 *     ports 1024.., no UDP checksum, and beyond 64,512 flows source
 *     addresses 10.250.1.1, 10.250.2.1, ... too: N flows for a NAT,
 *     conntrack or balancer (a run of more than N frames reuses them). Prints
 *     "offered_pps=... delivered_pps=..." and a JSON line.
 *
 *   pcn-trafficgen run --pin PATH [--ifname IF] [--size 64] [--repeat N] [--runs K]
 *     Runs a pinned XDP or TC program through BPF_PROG_TEST_RUN (not live:
 *     nothing is transmitted) as if a frame arrived on IF, and prints the
 *     kernel's average ns per run for each of K runs.
 *
 * The generator is BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: a tiny
 * XDP program redirects each frame to --src-if, and the kernel really
 * transmits it (docs/KERNEL.md: xdp-trafficgen fails on this kernel). It runs
 * with the thread inside the source namespace (setns) so that the redirect
 * target is looked up there; the sink is attached from inside the
 * destination namespace. Only the network namespace changes: bpffs and
 * /sys stay the host's.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "frame.h"
#include "log.h"
#include "trafficgen_kern_user.h"
#include "trafficgen_xdp.skel.h"

/* Frames per BPF_PROG_TEST_RUN call when sending flat out: large enough
 * that the syscall is noise, small enough to stop near the deadline. */
#define TG_CHUNK_FLAT (1u << 16)
/* Smallest chunk when pacing: below it the call dominates. Each live-frames
 * call re-registers the program with the XDP dispatcher, which may wait for
 * an RCU grace period: seen on kernel 6.18 with native XDP programs attached
 * and a busy host, ~30 ms per call whatever its size. Pacing at low rates
 * pays it; flat out, 64k frames per call hide it. */
#define TG_CHUNK_MIN 32u

struct tg_gen_opts {
	const char *src_ns, *dst_ns, *src_if, *dst_if, *dst_mac, *mix_mac;
	unsigned int mix; /* percent of frames sent to mix_mac */
	unsigned int size;
	uint64_t rate; /* frames per second; 0 = flat out */
	double duration;
	int cpu;
	int sink_skb;
	int restore; /* write the headers again on every frame (tg_restore) */
	unsigned int flows; /* UDP source ports cycled through (tg_flows) */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Opens a network namespace by name (/var/run/netns/NAME) or by path. */
static int ns_open(const char *name)
{
	char path[256];
	int fd;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int ns_enter(int fd)
{
	return setns(fd, CLONE_NEWNET) ? -errno : 0;
}

/* MAC address of ifname in the current network namespace. */
static int if_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int s, rc = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFHWADDR, &ifr))
		rc = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	return rc;
}

static int sink_read(int map_fd, uint64_t *packets, uint64_t *per_cpu, int ncpu)
{
	struct tg_sink_stats st[ncpu];
	__u32 zero = 0;
	int i;

	if (bpf_map_lookup_elem(map_fd, &zero, st))
		return -errno;
	*packets = 0;
	for (i = 0; i < ncpu; i++) {
		per_cpu[i] = st[i].packets;
		*packets += st[i].packets;
	}
	return 0;
}

/* Sends frames until the deadline; returns how many were run. */
static int gen_send(int prog_fd, const uint8_t *frame, const struct tg_gen_opts *o,
		    uint64_t *sent, double *elapsed)
{
	double t0 = now_s(), t;
	uint64_t n = 0;
	int rc = 0;

	while ((t = now_s() - t0) < o->duration) {
		uint64_t chunk = TG_CHUNK_FLAT;

		if (o->rate) {
			uint64_t due = (uint64_t)(t * (double)o->rate);

			if (due < n + TG_CHUNK_MIN) {
				struct timespec ts = { 0, 20000 };

				nanosleep(&ts, NULL);
				continue;
			}
			chunk = due - n < chunk ? due - n : chunk;
		}
		LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .data_size_in = o->size,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .repeat = (__u32)chunk);
		if (bpf_prog_test_run_opts(prog_fd, &run)) {
			rc = -errno;
			PCN_ERR("TG-GEN-RUN", "BPF_PROG_TEST_RUN live frames: %s", strerror(errno));
			break;
		}
		n += chunk;
	}
	*elapsed = now_s() - t0;
	*sent = n;
	return rc;
}

static int cmd_gen(const struct tg_gen_opts *o)
{
	int orig = -1, src = -1, dst = -1, ncpu, rc, i;
	struct trafficgen_xdp *skel = NULL;
	uint8_t frame[TG_FRAME_MAX], smac[6], dmac[6], amac[6];
	uint64_t sent = 0, got = 0, *per_cpu = NULL;
	unsigned int src_ifindex, dst_ifindex = 0;
	__u32 xdp_flags;
	double elapsed = 0;
	int attached = 0;

	ncpu = libbpf_num_possible_cpus();
	per_cpu = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*per_cpu));
	orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	src = ns_open(o->src_ns);
	dst = ns_open(o->dst_ns);
	if (ncpu <= 0 || !per_cpu || orig < 0 || src < 0 || dst < 0) {
		rc = src < 0 ? src : dst < 0 ? dst : -ENOMEM;
		fprintf(stderr, "pcn-trafficgen: cannot open the namespaces: %s\n", strerror(-rc));
		goto out;
	}
	if (o->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(o->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			rc = -errno;
			goto out;
		}
	}

	rc = ns_enter(dst);
	if (rc)
		goto out;
	dst_ifindex = if_nametoindex(o->dst_if);
	if (!dst_ifindex || if_mac(o->dst_if, dmac)) {
		rc = -ENODEV;
		fprintf(stderr, "pcn-trafficgen: no %s in %s\n", o->dst_if, o->dst_ns);
		goto out;
	}
	if (o->dst_mac && tg_mac_parse(o->dst_mac, dmac)) {
		rc = -EINVAL;
		goto out;
	}
	rc = ns_enter(src);
	if (rc)
		goto out;
	src_ifindex = if_nametoindex(o->src_if);
	if (!src_ifindex || if_mac(o->src_if, smac)) {
		rc = -ENODEV;
		fprintf(stderr, "pcn-trafficgen: no %s in %s\n", o->src_if, o->src_ns);
		goto out;
	}
	if (o->mix && (!o->mix_mac || tg_mac_parse(o->mix_mac, amac) || o->mix > 100)) {
		rc = -EINVAL;
		fprintf(stderr, "pcn-trafficgen: --mix needs 0..100 and --mix-dst-mac\n");
		goto out;
	}
	rc = tg_frame_build(frame, o->size, smac, dmac);
	if (rc) {
		fprintf(stderr, "pcn-trafficgen: --size must be %d..%d\n", TG_FRAME_MIN, TG_FRAME_MAX);
		goto out;
	}

	skel = trafficgen_xdp__open();
	if (!skel) {
		rc = -errno;
		goto out;
	}
	skel->rodata->tg_out_ifindex = src_ifindex;
	if (o->restore) {
		skel->rodata->tg_restore = 1;
		memcpy((void *)skel->rodata->tg_hdr, frame, TG_HDR_LEN);
	}
	skel->rodata->tg_flows = o->flows;
	if (o->mix) {
		skel->rodata->tg_mix_pct = o->mix;
		memcpy((void *)skel->rodata->tg_mix_mac, amac, 6);
		memcpy((void *)skel->rodata->tg_dst_mac, dmac, 6);
	}
	rc = trafficgen_xdp__load(skel);
	if (rc)
		goto out;

	xdp_flags = o->sink_skb ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	rc = ns_enter(dst);
	if (rc)
		goto out;
	rc = bpf_xdp_attach((int)dst_ifindex, bpf_program__fd(skel->progs.tg_sink),
			    xdp_flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (rc) {
		fprintf(stderr, "pcn-trafficgen: attaching the sink to %s: %s\n", o->dst_if,
			strerror(-rc));
		goto out;
	}
	attached = 1;
	rc = ns_enter(src);
	if (rc)
		goto out;

	rc = gen_send(bpf_program__fd(skel->progs.tg_gen), frame, o, &sent, &elapsed);
	/* Let frames still queued in the veths' NAPI reach the sink. */
	usleep(100000);
	if (!rc)
		rc = sink_read(bpf_map__fd(skel->maps.tg_sink_stats), &got, per_cpu, ncpu);
	if (rc)
		goto out;

	printf("offered_pps=%.0f delivered_pps=%.0f sent=%llu delivered=%llu seconds=%.3f size=%u\n",
	       (double)sent / elapsed, (double)got / elapsed, (unsigned long long)sent,
	       (unsigned long long)got, elapsed, o->size);
	printf("{\"offered_pps\": %.0f, \"delivered_pps\": %.0f, \"sent\": %llu, "
	       "\"delivered\": %llu, \"seconds\": %.3f, \"size\": %u, \"sink_per_cpu\": [",
	       (double)sent / elapsed, (double)got / elapsed, (unsigned long long)sent,
	       (unsigned long long)got, elapsed, o->size);
	for (i = 0; i < ncpu; i++)
		printf("%s%llu", i ? ", " : "", (unsigned long long)per_cpu[i]);
	printf("]}\n");
out:
	if (attached && ns_enter(dst) == 0)
		bpf_xdp_detach((int)dst_ifindex, xdp_flags, NULL);
	if (orig >= 0 && ns_enter(orig))
		rc = rc ? rc : -errno;
	trafficgen_xdp__destroy(skel);
	if (orig >= 0)
		close(orig);
	if (src >= 0)
		close(src);
	if (dst >= 0)
		close(dst);
	free(per_cpu);
	return rc;
}

/* ns per run of a pinned program, as the kernel measures it (it excludes
 * the syscall: the repeat loop runs inside the kernel), in whole ns; and
 * the same from the wall clock around the syscall, to a hundredth of a ns
 * (the syscall's own ~1 us is noise at a repeat of 10^6 or more): the
 * kernel's figure alone cannot tell a change of half a ns. */
static int cmd_run(const char *pin, const char *ifname, unsigned int size, unsigned int repeat,
		   unsigned int runs)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	uint8_t frame[TG_FRAME_MAX];
	uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	unsigned int ifindex = 0, i;
	struct __sk_buff skb = { 0 };
	struct xdp_md xdp = { 0 };
	double t0, wall;
	int fd, rc;

	if (ifname) {
		ifindex = if_nametoindex(ifname);
		if (!ifindex) {
			fprintf(stderr, "pcn-trafficgen: no interface %s\n", ifname);
			return -ENODEV;
		}
	}
	rc = tg_frame_build(frame, size, mac, mac);
	if (rc)
		return rc;
	fd = bpf_obj_get(pin);
	if (fd < 0) {
		rc = -errno;
		fprintf(stderr, "pcn-trafficgen: %s: %s\n", pin, strerror(errno));
		return rc;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		rc = -errno;
		goto out;
	}
	for (i = 0; i < runs; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .data_size_in = size,
			    .repeat = repeat);

		if (info.type == BPF_PROG_TYPE_XDP) {
			xdp.data_end = size;
			xdp.ingress_ifindex = ifindex;
			run.ctx_in = &xdp;
			run.ctx_size_in = sizeof(xdp);
		} else {
			skb.ifindex = ifindex;
			run.ctx_in = &skb;
			run.ctx_size_in = sizeof(skb);
		}
		t0 = now_s();
		if (bpf_prog_test_run_opts(fd, &run)) {
			rc = -errno;
			fprintf(stderr, "pcn-trafficgen: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
			goto out;
		}
		wall = (now_s() - t0) * 1e9 / repeat;
		printf("ns_per_packet=%u retval=%u wall_ns_per_packet=%.2f\n", run.duration, run.retval,
		       wall);
	}
out:
	close(fd);
	return rc;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pcn-trafficgen gen --src-ns NS --dst-ns NS [--src-if IF] [--dst-if IF]\n"
		"                          [--size BYTES] [--rate PPS] [--duration S] [--cpu N]\n"
		"                          [--sink-mode drv|skb] [--dst-mac MAC]\n"
		"                          [--mix PCT --mix-dst-mac MAC] [--restore] [--flows N]\n"
		"       pcn-trafficgen run --pin PATH [--ifname IF] [--size BYTES] [--repeat N]\n"
		"                          [--runs K]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "src-ns", required_argument, NULL, 's' },  { "dst-ns", required_argument, NULL, 'd' },
		{ "src-if", required_argument, NULL, 'S' },  { "dst-if", required_argument, NULL, 'D' },
		{ "size", required_argument, NULL, 'z' },    { "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 't' }, { "cpu", required_argument, NULL, 'c' },
		{ "sink-mode", required_argument, NULL, 'm' }, { "dst-mac", required_argument, NULL, 'M' },
		{ "pin", required_argument, NULL, 'p' },     { "ifname", required_argument, NULL, 'i' },
		{ "repeat", required_argument, NULL, 'n' },  { "runs", required_argument, NULL, 'k' },
		{ "mix", required_argument, NULL, 'x' },     { "mix-dst-mac", required_argument, NULL, 'X' },
		{ "restore", no_argument, NULL, 'R' },       { "flows", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
	};
	struct tg_gen_opts o = { .src_if = "eth0", .dst_if = "eth0", .size = 64, .duration = 1.0,
				 .cpu = -1 };
	const char *pin = NULL, *ifname = NULL;
	unsigned int repeat = 1000000, runs = 1;
	int c, rc;

	if (argc < 2) {
		usage();
		return 2;
	}
	pcn_log_init("pcn-trafficgen", PCN_LOG_WARN);
	pcn_log_route_libbpf();
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o.src_ns = optarg; break;
		case 'd': o.dst_ns = optarg; break;
		case 'S': o.src_if = optarg; break;
		case 'D': o.dst_if = optarg; break;
		case 'z': o.size = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'r': o.rate = strtoull(optarg, NULL, 0); break;
		case 't': o.duration = strtod(optarg, NULL); break;
		case 'c': o.cpu = atoi(optarg); break;
		case 'm': o.sink_skb = !strcmp(optarg, "skb"); break;
		case 'M': o.dst_mac = optarg; break;
		case 'x': o.mix = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'X': o.mix_mac = optarg; break;
		case 'R': o.restore = 1; break;
		case 'F': o.flows = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'p': pin = optarg; break;
		case 'i': ifname = optarg; break;
		case 'n': repeat = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'k': runs = (unsigned int)strtoul(optarg, NULL, 0); break;
		default: usage(); return 2;
		}
	}
	if (o.flows > TG_FLOWS_MAX) {
		fprintf(stderr, "pcn-trafficgen: --flows is at most %u\n", TG_FLOWS_MAX);
		return 2;
	}
	if (!strcmp(argv[1], "gen") && o.src_ns && o.dst_ns && o.duration > 0) {
		rc = cmd_gen(&o);
	} else if (!strcmp(argv[1], "run") && pin && repeat && runs) {
		rc = cmd_run(pin, ifname, o.size, repeat, runs);
	} else {
		usage();
		return 2;
	}
	if (rc)
		fprintf(stderr, "pcn-trafficgen: %s\n", strerror(-rc));
	return rc ? 1 : 0;
}
