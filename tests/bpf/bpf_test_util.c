#include "bpf_test_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/icmp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "pcn_percpu.h"

static struct bpf_map *rodata_map(struct bpf_object *obj)
{
	struct bpf_map *map;
	size_t n;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);

		n = strlen(name);
		if (bpf_map__is_internal(map) && n >= 7 && !strcmp(name + n - 7, ".rodata"))
			return map;
	}
	return NULL;
}

int t_obj_set_rodata_u32(struct bpf_object *obj, const char *var, uint32_t value)
{
	return t_obj_set_rodata(obj, var, &value, sizeof(value));
}

int t_obj_set_rodata(struct bpf_object *obj, const char *var, const void *value, size_t len)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	struct bpf_map *map;
	const char *init;
	size_t sz;
	char *data;
	int err, id, i;

	map = rodata_map(obj);
	if (!btf || !map)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *v = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, v->name_off), var))
			continue;
		/* libbpf 1.1 hands out the initial value read-only: edit a
		 * copy and set it back whole. */
		init = bpf_map__initial_value(map, &sz);
		if (!init || vs->size != len || vs->offset + len > sz)
			return -EINVAL;
		data = malloc(sz);
		if (!data)
			return -ENOMEM;
		memcpy(data, init, sz);
		memcpy(data + vs->offset, value, len);
		err = bpf_map__set_initial_value(map, data, sz);
		free(data);
		return err;
	}
	return -ENOENT;
}

int t_obj_load(struct bpf_object **out, const char *name, const void *elf, size_t elf_sz,
	       uint32_t cube_index, uint32_t log_level, struct bpf_object *share)
{
	struct bpf_object *obj;
	int err = t_obj_open(&obj, name, elf, elf_sz, cube_index, log_level, share);

	if (err)
		return err;
	err = bpf_object__load(obj);
	if (err) {
		bpf_object__close(obj);
		return err < 0 ? err : -err;
	}
	*out = obj;
	return 0;
}

int t_obj_open(struct bpf_object **out, const char *name, const void *elf, size_t elf_sz,
	       uint32_t cube_index, uint32_t log_level, struct bpf_object *share)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name);
	struct bpf_object *obj;
	struct bpf_map *map;
	int err;

	obj = bpf_object__open_mem(elf, elf_sz, &opts);
	if (!obj)
		return -errno;

	bpf_object__for_each_map(map, obj) {
		/* LIBBPF_PIN_BY_NAME gave every shared map a path under
		 * /sys/fs/bpf at open: drop it so a test pins nothing. */
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			goto out;
		if (share && !strncmp(bpf_map__name(map), "pcn_", 4)) {
			struct bpf_map *other =
				bpf_object__find_map_by_name(share, bpf_map__name(map));

			if (other) {
				err = bpf_map__reuse_fd(map, bpf_map__fd(other));
				if (err)
					goto out;
			}
		}
	}
	/* The netdev program has the constant too (it shares the helpers)
	 * but ignores it; the cubes live by it. */
	err = t_obj_set_rodata_u32(obj, "pcn_cube_index", cube_index);
	if (err)
		goto out;
	err = t_obj_set_rodata_u32(obj, "pcn_log_level", log_level);
out:
	if (err) {
		bpf_object__close(obj);
		return err < 0 ? err : -err;
	}
	*out = obj;
	return 0;
}

int t_map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);

	return map ? bpf_map__fd(map) : -ENOENT;
}

int t_prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);

	return prog ? bpf_program__fd(prog) : -ENOENT;
}

uint32_t t_map_id(int fd)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

int t_hash_clear(int fd)
{
	/* Keys of every map here are at most 8 bytes. */
	uint64_t key;

	while (bpf_map_get_next_key(fd, NULL, &key) == 0) {
		if (bpf_map_delete_elem(fd, &key))
			return -errno;
	}
	return errno == ENOENT ? 0 : -errno;
}

int t_percpu_set(int fd, uint32_t key, const void *value, size_t value_sz)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t stride = pcn_percpu_stride(value_sz);
	char *buf;
	int err = 0, i;

	if (ncpu < 0)
		return ncpu;
	buf = calloc(ncpu, stride);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < ncpu; i++)
		memcpy(buf + i * stride, value, value_sz);
	if (bpf_map_update_elem(fd, &key, buf, BPF_ANY))
		err = -errno;
	free(buf);
	return err;
}

int t_percpu_sum_u64(int fd, uint32_t key, void *sum, size_t value_sz)
{
	return pcn_percpu_sum_u64(fd, &key, value_sz, sum, value_sz);
}

int t_percpu_get(int fd, uint32_t key, int cpu, void *out, size_t value_sz)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t stride = pcn_percpu_stride(value_sz);
	char *buf;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	if (cpu < 0 || cpu >= ncpu)
		return -EINVAL;
	buf = calloc(ncpu, stride);
	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, buf))
		err = -errno;
	else
		memcpy(out, buf + cpu * stride, value_sz);
	free(buf);
	return err;
}

int t_pin_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return -errno;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return cpu;
}

static uint16_t csum16(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

size_t t_icmp_frame(uint8_t *buf, size_t cap)
{
	static const uint8_t dst[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t src[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	enum { PAYLOAD = 32 };
	/* Headers are built in aligned locals and copied into the frame: in the
	 * frame the IP header sits at offset 14, which UBSan rightly flags as a
	 * misaligned struct iphdr. */
	struct ethhdr eth = { 0 };
	struct iphdr ip = { 0 };
	struct {
		struct icmphdr h;
		uint8_t payload[PAYLOAD];
	} icmp = { 0 };
	size_t len = sizeof(eth) + sizeof(ip) + sizeof(icmp);
	size_t i;

	if (cap < len)
		return 0;
	memcpy(eth.h_dest, dst, ETH_ALEN);
	memcpy(eth.h_source, src, ETH_ALEN);
	eth.h_proto = htons(ETH_P_IP);
	ip.version = 4;
	ip.ihl = 5;
	ip.tot_len = htons((uint16_t)(len - sizeof(eth)));
	ip.id = htons(1);
	ip.ttl = 64;
	ip.protocol = IPPROTO_ICMP;
	ip.saddr = htonl(0x0a000001); /* 10.0.0.1 */
	ip.daddr = htonl(0x0a000002); /* 10.0.0.2 */
	ip.check = csum16(&ip, sizeof(ip));
	icmp.h.type = ICMP_ECHO;
	icmp.h.un.echo.id = htons(0x1234);
	icmp.h.un.echo.sequence = htons(1);
	for (i = 0; i < PAYLOAD; i++)
		icmp.payload[i] = (uint8_t)i;
	icmp.h.checksum = csum16(&icmp, sizeof(icmp));
	memcpy(buf, &eth, sizeof(eth));
	memcpy(buf + sizeof(eth), &ip, sizeof(ip));
	memcpy(buf + sizeof(eth) + sizeof(ip), &icmp, sizeof(icmp));
	return len;
}

int t_run(int prog_fd, const void *frame, size_t len, uint32_t *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len,
		    .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*retval = opts.retval;
	return 0;
}

/* When this test process started: pins older than that belong to someone
 * else on the machine (a broker run by hand with the default root leaves
 * its shared maps pinned there, by design, for its next start). */
static struct timespec t_started;

__attribute__((constructor)) static void t_mark_start(void)
{
	clock_gettime(CLOCK_REALTIME, &t_started);
}

int t_any_pin_in_default_root(void)
{
	static const char *const names[] = { PCN_MAP_PP_XDP, PCN_MAP_PP_TC,  PCN_MAP_FWD,
					     PCN_MAP_NETDEV_IN, PCN_MAP_MD, PCN_MAP_STATS,
					     PCN_MAP_SLOWPATH };
	char path[64];
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "/sys/fs/bpf/%s", names[i]);
		if (stat(path, &st))
			continue;
		if (st.st_ctim.tv_sec > t_started.tv_sec ||
		    (st.st_ctim.tv_sec == t_started.tv_sec && st.st_ctim.tv_nsec >= t_started.tv_nsec))
			return 1;
	}
	return 0;
}
