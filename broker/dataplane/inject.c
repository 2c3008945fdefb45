/* Injecting packets out of a cube's slow path into an instance.
 *
 * How, measured here (docs/KERNEL.md): BPF_PROG_TEST_RUN with live frames costs
 * ~11 us per single frame and really transmits what the program redirects,
 * but only for XDP: for a TC program it returns the verdict and ignores the
 * redirect. An AF_PACKET send costs ~2.3 us. So XDP instances get the
 * frame through a test run of the XDP injector (tag in front of the frame),
 * and TC instances through an AF_PACKET send into a private veth pair whose
 * far end runs the TC injector on its ingress (tag in skb->mark). Both
 * injectors set the packet's metadata and tail-call the instance.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "inject.h"
#include "log.h"
#include "pcn_layout.h"
#include "pcn_inject_tc.skel.h"
#include "pcn_inject_xdp.skel.h"
#include "rtnl.h"

#define INJECT_PROG "pcn_inject_entry"
#define INJECT_MAX_FRAME 9000

/* inject_tc packs the slot and the port into the mark's low 18 bits
 * (pcn_inject.bpf.c unpacks them): any larger table would alias. */
_Static_assert(PCN_MAX_CUBES <= 1024 && PCN_MAX_PORTS <= 256, "the TC injector's mark holds 10 + 8 bits");

struct broker_inject {
	struct bpf_object *obj_xdp, *obj_tc;
	int prog_xdp, prog_tc;
	int fwd;          /* pcn_fwd, for egress toward a peer */
	char veth_a[IF_NAMESIZE], veth_b[IF_NAMESIZE];
	bool veth;        /* the pair exists and b runs the TC injector */
	int ifindex_a;
	int pkt_fd;       /* AF_PACKET, sends into veth_a */
	uint8_t buf[sizeof(struct pcn_inject_tag) + INJECT_MAX_FRAME];
};

static int load(const void *elf, size_t sz, const char *name, const char *shared, struct bpf_object **obj_out,
		int *prog_out)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name, .pin_root_path = shared);
	struct bpf_object *obj = bpf_object__open_mem(elf, sz, &opts);
	struct bpf_program *prog;
	int rc;

	if (!obj)
		return -errno;
	prog = bpf_object__find_program_by_name(obj, INJECT_PROG);
	rc = prog ? bpf_object__load(obj) : -ENOENT;
	if (rc) {
		bpf_object__close(obj);
		return rc;
	}
	*obj_out = obj;
	*prog_out = bpf_program__fd(prog);
	return 0;
}

/* True for a name veth_setup makes: "pcnj", digits, "a". The sweep looks
 * at those only: any process with CAP_NET_ADMIN on the host (every cube
 * container) can name a netdev anything and give it our alias. */
static bool our_veth_name(const char *name)
{
	size_t n = strlen(name);

	/* The prefix first: a shorter name has nothing past its NUL to read. */
	return n >= 6 && strncmp(name, "pcnj", 4) == 0 && strspn(name + 4, "0123456789") == n - 5 &&
	       name[n - 1] == 'a';
}

/* Deletes the pairs an earlier broker of the same mesh left behind (killed,
 * or failed to start after making its pair): they carry its bpffs root as
 * their alias. Pairs of other meshes, live or not, are not ours to judge. */
void broker_inject_sweep(const char *bpffs_root)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	char path[64 + IF_NAMESIZE], alias[PATH_MAX];

	for (i = ifs; i && i->if_index; i++) {
		FILE *f;
		int rc;

		if (!our_veth_name(i->if_name))
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/ifalias", i->if_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(alias, sizeof(alias), f)) {
			alias[strcspn(alias, "\n")] = '\0';
			if (strcmp(alias, bpffs_root) == 0) {
				rc = broker_rtnl_link_del(i->if_name);
				if (rc == 0)
					PCN_INFO("BROKER-INJECT-SWEEP", "deleted %s, left by an earlier broker", i->if_name);
				else
					PCN_DEBUG("BROKER-INJECT-SWEEP", "cannot delete %s: %s", i->if_name, strerror(-rc));
			}
		}
		fclose(f);
	}
	if (ifs)
		if_freenameindex(ifs);
}

/* The veth pair of the TC injector: the broker's own, it lives as long as
 * the broker does, and is named by its bpffs root (alias) so that the next
 * broker of the mesh can sweep it after a crash. IPv6 is off on both ends
 * before they are up: no router solicitation or DAD frame of the kernel's
 * ever reaches the TC injector. */
static int veth_setup(struct broker_inject *inj, const char *bpffs_root)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);
	int rc;

	broker_inject_sweep(bpffs_root);
	snprintf(inj->veth_a, sizeof(inj->veth_a), "pcnj%da", (int)getpid() % 10000000);
	snprintf(inj->veth_b, sizeof(inj->veth_b), "pcnj%db", (int)getpid() % 10000000);
	/* A pair of an earlier process with our pid (a pid namespace, or the
	 * numbers came round) is stale: ours now. */
	rc = broker_rtnl_link_del(inj->veth_a);
	if (rc && rc != -ENODEV)
		return rc;
	rc = broker_rtnl_veth_add(inj->veth_a, inj->veth_b);
	if (rc)
		return rc;
	/* From here destroy deletes the pair, whatever fails next. */
	inj->veth = true;
	/* Without IPv6 in the kernel there is nothing to turn off. */
	rc = broker_sysctl_netdev("ipv6", inj->veth_a, "disable_ipv6", "1");
	if (!rc || rc == -ENOENT)
		rc = broker_sysctl_netdev("ipv6", inj->veth_b, "disable_ipv6", "1");
	if (rc && rc != -ENOENT)
		return rc;
	rc = broker_rtnl_link_up(inj->veth_a, bpffs_root);
	if (!rc)
		rc = broker_rtnl_link_up(inj->veth_b, NULL);
	if (rc)
		return rc;
	inj->ifindex_a = (int)if_nametoindex(inj->veth_a);
	hook.ifindex = (int)if_nametoindex(inj->veth_b);
	if (!inj->ifindex_a || !hook.ifindex)
		return -ENODEV;
	rc = bpf_tc_hook_create(&hook);
	if (rc && rc != -EEXIST)
		return rc;
	opts.prog_fd = inj->prog_tc;
	return bpf_tc_attach(&hook, &opts);
}

int broker_inject_create(struct broker_inject **out, const char *bpffs_root)
{
	struct broker_inject *inj;
	char shared[PATH_MAX], path[PATH_MAX + 16];
	const void *elf;
	size_t sz;
	int rc;

	inj = calloc(1, sizeof(*inj));
	if (!inj)
		return -ENOMEM;
	inj->fwd = inj->pkt_fd = -1;
	rc = pcn_layout_shared(shared, sizeof(shared), bpffs_root, NULL);
	elf = pcn_inject_xdp__elf_bytes(&sz);
	if (!rc)
		rc = load(elf, sz, "pcn_inject_xdp", shared, &inj->obj_xdp, &inj->prog_xdp);
	if (!rc) {
		elf = pcn_inject_tc__elf_bytes(&sz);
		rc = load(elf, sz, "pcn_inject_tc", shared, &inj->obj_tc, &inj->prog_tc);
	}
	if (rc) {
		PCN_ERR("BROKER-INJECT-LOAD", "cannot load the injector: %s", strerror(-rc));
		goto out;
	}
	rc = pcn_path(path, sizeof(path), shared, PCN_MAP_FWD, (const char *)NULL);
	inj->fwd = rc ? -1 : bpf_obj_get(path);
	if (inj->fwd < 0) {
		rc = rc ? rc : -errno;
		goto out;
	}
	inj->pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	rc = veth_setup(inj, bpffs_root);
	if (rc || inj->pkt_fd < 0)
		PCN_WARN("BROKER-INJECT-VETH", "no veth pair for TC injection (%s): packets out into TC "
			 "instances will fail", strerror(rc ? -rc : errno));
	*out = inj;
	inj = NULL;
	rc = 0;
out:
	broker_inject_destroy(inj);
	return rc;
}

void broker_inject_destroy(struct broker_inject *inj)
{
	int rc;

	if (!inj)
		return;
	if (inj->veth) {
		rc = broker_rtnl_link_del(inj->veth_a);
		if (rc)
			PCN_DEBUG("BROKER-INJECT-VETH", "cannot delete %s: %s", inj->veth_a, strerror(-rc));
	}
	if (inj->pkt_fd >= 0)
		close(inj->pkt_fd);
	if (inj->fwd >= 0)
		close(inj->fwd);
	bpf_object__close(inj->obj_xdp);
	bpf_object__close(inj->obj_tc);
	free(inj);
}

int broker_inject_peer(struct broker_inject *inj, uint32_t index, uint32_t port, struct pcn_fwd_val *out)
{
	__u32 key = pcn_fwd_slot(index, port);

	if (index >= PCN_MAX_CUBES || port >= PCN_MAX_PORTS)
		return -ENOENT;
	if (bpf_map_lookup_elem(inj->fwd, &key, out))
		return -errno;
	return out->kind == PCN_PEER_NONE ? -ENOENT : 0;
}

static int inject_xdp(struct broker_inject *inj, uint32_t index, uint32_t port, const void *data, size_t len)
{
	struct pcn_inject_tag tag = { .magic = PCN_INJECT_MAGIC, .cube_index = index, .port = port };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = inj->buf, .data_size_in = (uint32_t)(sizeof(tag) + len),
		    .repeat = 1, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	memcpy(inj->buf, &tag, sizeof(tag));
	memcpy(inj->buf + sizeof(tag), data, len);
	return bpf_prog_test_run_opts(inj->prog_xdp, &run) ? -errno : 0;
}

static int inject_tc(struct broker_inject *inj, uint32_t index, uint32_t port, const void *data, size_t len)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = inj->ifindex_a, .sll_halen = ETH_ALEN };
	uint32_t mark = PCN_INJECT_MARK | (index & 0x3ff) << 8 | (port & 0xff);

	if (!inj->veth || inj->pkt_fd < 0)
		return -ENODEV;
	if (setsockopt(inj->pkt_fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		return -errno;
	memcpy(sll.sll_addr, data, ETH_ALEN);
	if (sendto(inj->pkt_fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return 0;
}

int broker_inject(struct broker_inject *inj, enum pcn_hook hook, uint32_t index, uint32_t port,
		  const void *data, size_t len)
{
	if (!inj || index >= PCN_MAX_CUBES || port >= PCN_MAX_PORTS || len < ETH_HLEN || len > INJECT_MAX_FRAME)
		return -EINVAL;
	return hook == PCN_HOOK_TC ? inject_tc(inj, index, port, data, len)
				      : inject_xdp(inj, index, port, data, len);
}
