/* Loading a fast path: load-time constants through BTF, pins, and the map
 * helpers cube authors use. Needs root (loads BPF programs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "pcn_int.h"
#include "pcn_kern_user.h"
#include "pcnrt_test_tc.skel.h"
#include "pcnrt_test_xdp.skel.h"
#include "testdata/bpffs_testutil.h"

static bool can_load(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skipped: loading BPF programs needs root\n");
		return false;
	}
	return true;
}

/* Reads the u32 `name` back from the loaded object's .rodata map, through
 * the kernel's copy (not libbpf's), to see what the verifier saw. */
static uint32_t rodata_readback(struct bpf_object *obj, const char *name)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vsi;
	const struct btf_type *sec;
	struct bpf_map *map, *ro = NULL;
	uint32_t zero = 0, v = 0xdeadbeef;
	char *buf;
	int id;

	bpf_object__for_each_map(map, obj)
		if (bpf_map__is_internal(map) && strstr(bpf_map__name(map), ".rodata"))
			ro = map;
	assert_non_null(ro);
	buf = calloc(1, bpf_map__value_size(ro));
	assert_non_null(buf);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(ro), &zero, buf), 0);
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	assert_true(id > 0);
	sec = btf__type_by_id(btf, id);
	vsi = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vsi++) {
		const struct btf_type *var = btf__type_by_id(btf, vsi->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name) == 0)
			memcpy(&v, buf + vsi->offset, sizeof(v));
	}
	free(buf);
	return v;
}

static void test_constants_reach_the_kernel(void **state)
{
	struct pcn__load_opts o = { .cube_index = 77, .log_level = PCN_LOG_DEBUG, .object_name = "rt_test" };
	bool pp_pinned_before = access("/sys/fs/bpf/pcn_pp_tc", F_OK) == 0;
	struct bpf_object *obj = NULL;
	const void *bytes;
	size_t size;

	if (!can_load())
		skip();
	bytes = pcnrt_test_tc__elf_bytes(&size);
	/* No pin root, no pin dir: nothing may land in the host's bpffs. */
	assert_int_equal(pcn__fastpath_load(&obj, bytes, size, &o), 0);
	assert_int_equal(rodata_readback(obj, "pcn_cube_index"), 77);
	assert_int_equal(rodata_readback(obj, "pcn_log_level"), PCN_LOG_DEBUG);
	if (!pp_pinned_before)
		assert_int_not_equal(access("/sys/fs/bpf/pcn_pp_tc", F_OK), 0);
	bpf_object__close(obj);
}

static void test_unknown_constant(void **state)
{
	struct bpf_object *obj;
	const void *bytes;
	size_t size;

	bytes = pcnrt_test_xdp__elf_bytes(&size);
	obj = bpf_object__open_mem(bytes, size, NULL);
	assert_non_null(obj);
	assert_int_equal(pcn__rodata_set_u32(obj, "pcn_no_such_thing", 1), -ENOENT);
	assert_int_equal(pcn__rodata_set_u32(obj, "pcn_cube_index", 5), 0);
	bpf_object__close(obj);
}

static void test_map_helpers(void **state)
{
	struct pcn__load_opts o = { .cube_index = 3, .object_name = "rt_test" };
	struct pcn_instance inst = { 0 };
	uint32_t k, next, verdict = RX_OK;
	uint64_t v, sums[2];
	unsigned char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 3);
	const void *bytes;
	size_t size;

	if (!can_load())
		skip();
	bytes = pcnrt_test_tc__elf_bytes(&size);
	assert_int_equal(pcn__fastpath_load(&inst.obj, bytes, size, &o), 0);

	for (k = 1; k <= 3; k++) {
		v = k * 100;
		assert_int_equal(pcn_map_update(&inst, "rt_test_table", &k, &v, 0), 0);
	}
	k = 2;
	assert_int_equal(pcn_map_lookup(&inst, "rt_test_table", &k, &v), 0);
	assert_int_equal(v, 200);
	assert_int_equal(pcn_map_next_key(&inst, "rt_test_table", NULL, &next), 0);
	assert_int_equal(pcn_map_delete(&inst, "rt_test_table", &k), 0);
	assert_int_equal(pcn_map_lookup(&inst, "rt_test_table", &k, &v), -ENOENT);
	assert_int_equal(pcn_map_clear(&inst, "rt_test_table"), 0);
	assert_int_equal(pcn_map_next_key(&inst, "rt_test_table", NULL, &next), -ENOENT);
	/* An array cannot be emptied; an unknown map is named as such. */
	assert_int_equal(pcn_map_clear(&inst, "rt_test_verdict"), -EINVAL);
	assert_int_equal(pcn_map_lookup(&inst, "rt_test_nope", &k, &v), -ENOENT);

	/* Run the program: each run counts one packet on the CPU it ran on;
	 * the sum over CPUs sees them all. */
	k = 0;
	assert_int_equal(pcn_map_update(&inst, "rt_test_verdict", &k, &verdict, 0), 0);
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(bpf_object__find_program_by_name(inst.obj, "pcn_entry")),
						&run),
			 0);
	assert_int_equal(run.retval, 0 /* TC_ACT_OK */);
	assert_int_equal(pcn_map_sum_u64(&inst, "rt_test_stats", &k, sums, 2), 0);
	assert_int_equal(sums[0], 3);
	assert_int_equal(sums[1], 0);
	assert_true(pcn_ncpus() >= 1);
	bpf_object__close(inst.obj);
}

/* The private bpffs is mounted and unmounted around the test, so a failed
 * assertion still leaves nothing mounted. */
static char root[64];

static int mount_bpffs(void **state)
{
	root[0] = '\0';
	if (geteuid() == 0 && bpffs_test_mount(root, sizeof(root)))
		root[0] = '\0';
	return 0;
}

static int umount_bpffs(void **state)
{
	if (root[0])
		bpffs_test_umount(root);
	return 0;
}

static void test_pins_are_reused(void **state)
{
	char shared[128], dir[128], path[192];
	struct pcn__load_opts o = { .cube_index = 4, .object_name = "rt_test" };
	struct pcn_instance a = { 0 }, b = { 0 };
	uint32_t k = 9;
	uint64_t v = 4242;
	const void *bytes;
	size_t size;
	struct stat sb;

	if (!can_load())
		skip();
	if (!root[0])
		skip();
	snprintf(shared, sizeof(shared), "%s/shared", root);
	snprintf(dir, sizeof(dir), "%s/cubes/rt/i1", root);
	assert_int_equal(pcn__mkdirs(shared), 0);
	o.shared_pin_root = shared;
	o.pin_dir = dir;
	bytes = pcnrt_test_xdp__elf_bytes(&size);
	assert_int_equal(pcn__fastpath_load(&a.obj, bytes, size, &o), 0);
	/* Shared maps by name under shared/, private ones in the instance's dir. */
	snprintf(path, sizeof(path), "%s/pcn_pp_xdp", shared);
	assert_int_equal(stat(path, &sb), 0);
	snprintf(path, sizeof(path), "%s/rt_test_table", dir);
	assert_int_equal(stat(path, &sb), 0);
	snprintf(path, sizeof(path), "%s/prog", dir);
	assert_int_equal(pcn__fastpath_pin_prog(a.obj, path), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(pcn_map_update(&a, "rt_test_table", &k, &v, 0), 0);

	/* A second load (a restarted process) finds the same map. */
	v = 0;
	assert_int_equal(pcn__fastpath_load(&b.obj, bytes, size, &o), 0);
	assert_int_equal(pcn_map_lookup(&b, "rt_test_table", &k, &v), 0);
	assert_int_equal(v, 4242);
	/* Re-pinning the program replaces the old pin. */
	assert_int_equal(pcn__fastpath_pin_prog(b.obj, path), 0);
	bpf_object__close(a.obj);
	bpf_object__close(b.obj);

	assert_int_equal(pcn__unpin_dir(dir), 0);
	assert_int_not_equal(stat(dir, &sb), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_constants_reach_the_kernel),
		cmocka_unit_test(test_unknown_constant),
		cmocka_unit_test(test_map_helpers),
		cmocka_unit_test_setup_teardown(test_pins_are_reused, mount_bpffs, umount_bpffs),
	};

	pcn_log_init("cube_runtime_fastpath_test", PCN_LOG_WARN);
	pcn_log_route_libbpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
