/* pcn-bench-baseline: loads and attaches the benchmarks' baselines.
 *
 *   pcn-bench-baseline --hook xdp|xdp-skb|tc --in IF --out IF --pin DIR
 *                      [--hops N] [--key const|map|memconst] [--fwd sample|min]
 *
 * --hops 0 (default): a forwarding program on IF's ingress, redirecting to
 * --out: bl_sample, the paper's xdp_redirect (--fwd sample, the default),
 * or bl_fwd, the same without its two maps (--fwd min). Either way a
 * program that passes everything is attached to --out's ingress with the
 * same hook, as the sample's loader does (and a cube, on both its netdevs). --hops N: an entry program and N hops of plain tail
 * calls (the last redirects), the baseline of a chain of N cubes. The entry
 * program is pinned at DIR/entry (for `pcn-trafficgen run`) and the chain's
 * array at DIR/chain (the kernel empties a PROG_ARRAY when its last user
 * reference goes). Attachments are netlink/tc ones: they outlive this
 * process. Remove them (from both interfaces) with `ip link set IF xdp
 * off`, `tc qdisc del dev IF clsact` and `rm -r DIR`.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "baseline_kern_user.h"

struct bl_opts {
	const char *hook, *in, *out, *pin;
	unsigned int hops;
	int const_key;
	const char *fwd; /* program of --hops 0 */
};

static int set_cfg(struct bpf_object *obj, const struct bl_cfg *cfg)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		size_t n = strlen(name);

		if (bpf_map__is_internal(map) && n >= 7 && !strcmp(name + n - 7, ".rodata"))
			return bpf_map__set_initial_value(map, cfg, sizeof(*cfg));
	}
	return -ENOENT;
}

/* Opens one copy of the object with only `prog` loaded, configured by cfg,
 * sharing bl_chain/bl_next/bl_hops with `share` when given. */
static int open_one(const char *path, const char *prog, const struct bl_cfg *cfg,
		    struct bpf_object *share, struct bpf_object **out)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	int rc;

	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		return -errno;
	bpf_object__for_each_program(p, obj)
		bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), prog));
	rc = set_cfg(obj, cfg);
	if (!rc && share) {
		static const char *const shared[] = { "bl_chain", "bl_next", "bl_hops" };
		size_t i;

		for (i = 0; i < sizeof(shared) / sizeof(shared[0]) && !rc; i++) {
			struct bpf_map *m = bpf_object__find_map_by_name(share, shared[i]);

			rc = bpf_map__reuse_fd(bpf_object__find_map_by_name(obj, shared[i]),
					       bpf_map__fd(m));
		}
	}
	if (!rc)
		rc = bpf_object__load(obj);
	if (rc) {
		bpf_object__close(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

static int attach(const struct bl_opts *o, int ifindex, int fd)
{
	if (!strcmp(o->hook, "tc")) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fd, .handle = 1, .priority = 1,
			    .flags = BPF_TC_F_REPLACE);
		int rc = bpf_tc_hook_create(&hook);

		if (rc && rc != -EEXIST)
			return rc;
		return bpf_tc_attach(&hook, &opts);
	}
	return bpf_xdp_attach(ifindex, fd,
			      !strcmp(o->hook, "xdp-skb") ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE,
			      NULL);
}

static int run(const struct bl_opts *o)
{
	struct bpf_object *objs[BL_MAX_HOPS] = { 0 }, *pass = NULL;
	int in = (int)if_nametoindex(o->in), out = (int)if_nametoindex(o->out);
	const char *kind = strcmp(o->hook, "tc") ? "xdp" : "tc";
	char path[512], file[512];
	unsigned int i, n;
	int rc = 0, entry;

	if (!in || !out) {
		fprintf(stderr, "pcn-bench-baseline: no such interface\n");
		return -ENODEV;
	}
	snprintf(file, sizeof(file), "%s/baseline.%s.bpf.o", BL_OBJ_DIR, kind);
	if (mkdir(o->pin, 0700) && errno != EEXIST)
		return -errno;

	n = o->hops ? o->hops + 1 : 1;
	for (i = 0; i < n; i++) {
		struct bl_cfg cfg = { .out_ifindex = (__u32)out, .self = i, .last = i + 1 == n,
				      .const_key = (__u32)o->const_key };

		rc = open_one(file, o->hops ? "bl_hop" : o->fwd, &cfg, i ? objs[0] : NULL, &objs[i]);
		if (rc)
			goto out;
		if (!o->hops && !strcmp(o->fwd, "bl_sample")) {
			int tx = bpf_map__fd(bpf_object__find_map_by_name(objs[0], "tx_port"));
			__u32 key = 0, val = (__u32)out;

			if (bpf_map_update_elem(tx, &key, &val, 0)) {
				rc = -errno;
				goto out;
			}
		}
		if (o->hops) {
			int chain = bpf_map__fd(bpf_object__find_map_by_name(objs[0], "bl_chain"));
			int next = bpf_map__fd(bpf_object__find_map_by_name(objs[0], "bl_next"));
			int fd = bpf_program__fd(bpf_object__find_program_by_name(objs[i], "bl_hop"));
			__u32 key = i, val = i + 1;

			if (bpf_map_update_elem(chain, &key, &fd, 0) ||
			    bpf_map_update_elem(next, &key, &val, 0)) {
				rc = -errno;
				goto out;
			}
		}
	}
	entry = bpf_program__fd(bpf_object__find_program_by_name(objs[0], o->hops ? "bl_hop" : o->fwd));
	snprintf(path, sizeof(path), "%s/entry", o->pin);
	unlink(path);
	rc = bpf_obj_pin(entry, path) ? -errno : 0;
	if (!rc) {
		snprintf(path, sizeof(path), "%s/chain", o->pin);
		unlink(path);
		rc = bpf_map__pin(bpf_object__find_map_by_name(objs[0], "bl_chain"), path);
	}
	if (!rc)
		rc = attach(o, in, entry);
	if (!rc) {
		struct bl_cfg cfg = { 0 };

		rc = open_one(file, "bl_pass", &cfg, NULL, &pass);
		if (!rc)
			rc = attach(o, out, bpf_program__fd(bpf_object__find_program_by_name(pass, "bl_pass")));
	}
out:
	bpf_object__close(pass);
	for (i = 0; i < BL_MAX_HOPS; i++)
		bpf_object__close(objs[i]);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "hook", required_argument, NULL, 'H' }, { "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },  { "pin", required_argument, NULL, 'p' },
		{ "hops", required_argument, NULL, 'n' }, { "key", required_argument, NULL, 'k' },
		{ "fwd", required_argument, NULL, 'f' },  { NULL, 0, NULL, 0 },
	};
	struct bl_opts o = { .hook = "xdp", .const_key = 0, .fwd = "bl_sample" };
	int c, rc;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': o.hook = optarg; break;
		case 'i': o.in = optarg; break;
		case 'o': o.out = optarg; break;
		case 'p': o.pin = optarg; break;
		case 'n': o.hops = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'k': o.const_key = !strcmp(optarg, "const") ? 1 : !strcmp(optarg, "memconst") ? 2 : 0; break;
		case 'f':
			if (strcmp(optarg, "sample") && strcmp(optarg, "min"))
				goto usage;
			o.fwd = !strcmp(optarg, "min") ? "bl_fwd" : "bl_sample";
			break;
		default: goto usage;
		}
	}
	if (!o.in || !o.out || !o.pin || o.hops >= BL_MAX_HOPS)
		goto usage;
	rc = run(&o);
	if (rc)
		fprintf(stderr, "pcn-bench-baseline: %s\n", strerror(-rc));
	return rc ? 1 : 0;
usage:
	fprintf(stderr, "usage: pcn-bench-baseline --hook xdp|xdp-skb|tc --in IF --out IF "
			"--pin DIR [--hops N<%d] [--key const|map|memconst] [--fwd sample|min]\n", BL_MAX_HOPS);
	return 2;
}
