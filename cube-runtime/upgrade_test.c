/* Upgrade helpers: pcn_map_migrate_copy on real maps (root), and telling a
 * live unix socket from a stale one without connecting (pcn__ipc_live). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "pcn_int.h"

static void test_percpu_grows(void **state)
{
	int ncpus = libbpf_num_possible_cpus(), old_fd, new_fd;
	uint64_t *v, *w;
	uint32_t key = 0;

	(void)state;
	/* 24-byte values (3 counters) -> 32 (a fourth appended). */
	old_fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "mig_old", 4, 24, 1, NULL);
	new_fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "mig_new", 4, 32, 1, NULL);
	assert_true(old_fd >= 0 && new_fd >= 0);
	v = calloc((size_t)ncpus, 24);
	w = calloc((size_t)ncpus, 32);
	for (int c = 0; c < ncpus; c++)
		for (int i = 0; i < 3; i++)
			v[c * 3 + i] = (uint64_t)(100 * c + i + 1);
	assert_int_equal(bpf_map_update_elem(old_fd, &key, v, BPF_ANY), 0);
	for (int c = 0; c < ncpus; c++)
		w[c * 4 + 3] = 777; /* must be zeroed by the migration */
	assert_int_equal(bpf_map_update_elem(new_fd, &key, w, BPF_ANY), 0);

	assert_int_equal(pcn_map_migrate_copy(old_fd, new_fd), 0);
	assert_int_equal(bpf_map_lookup_elem(new_fd, &key, w), 0);
	for (int c = 0; c < ncpus; c++) {
		for (int i = 0; i < 3; i++)
			assert_int_equal(w[c * 4 + i], 100 * c + i + 1);
		assert_int_equal(w[c * 4 + 3], 0);
	}
	/* And back (a rollback): the fourth counter is cut off. */
	assert_int_equal(pcn_map_migrate_copy(new_fd, old_fd), 0);
	assert_int_equal(bpf_map_lookup_elem(old_fd, &key, v), 0);
	assert_int_equal(v[2], 3);
	free(v);
	free(w);
	close(old_fd);
	close(new_fd);
}

/* The entries of a hash of 4-byte keys and 8-byte values, each checked
 * to hold ten times its key; returns how many there are. */
static int hash_tens(int fd)
{
	uint32_t key, next;
	uint64_t got;
	int n = 0;

	for (int rc = bpf_map_get_next_key(fd, NULL, &next); rc == 0; rc = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		assert_int_equal(bpf_map_lookup_elem(fd, &key, &got), 0);
		assert_int_equal(got, key * 10);
		n++;
	}
	return n;
}

static void test_hash_shrinks(void **state)
{
	int old_fd, new_fd;
	uint64_t val[2];
	uint32_t key;

	(void)state;
	old_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "mig_old", 4, 16, 8, NULL);
	new_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "mig_new", 4, 8, 8, NULL);
	assert_true(old_fd >= 0 && new_fd >= 0);
	for (key = 1; key <= 3; key++) {
		val[0] = key * 10;
		val[1] = 999;
		assert_int_equal(bpf_map_update_elem(old_fd, &key, val, BPF_ANY), 0);
	}
	assert_int_equal(pcn_map_migrate_copy(old_fd, new_fd), 0);
	assert_int_equal(hash_tens(new_fd), 3);
	close(old_fd);
	close(new_fd);
}

/* simpleforwarder's actions moved from a hash to an array (and a rollback
 * goes back): entries carried by key, past the array's end dropped, an
 * array's zero entries not put in the hash. */
static void test_hash_to_array_and_back(void **state)
{
	int hash_fd, arr_fd, back_fd;
	uint64_t val, got;
	uint32_t key;

	(void)state;
	hash_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "mig_hash", 4, 8, 16, NULL);
	arr_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mig_arr", 4, 8, 8, NULL);
	back_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "mig_back", 4, 8, 16, NULL);
	assert_true(hash_fd >= 0 && arr_fd >= 0 && back_fd >= 0);
	for (key = 2; key <= 10; key += 4) { /* 2, 6 and 10 (past the array) */
		val = key * 10;
		assert_int_equal(bpf_map_update_elem(hash_fd, &key, &val, BPF_ANY), 0);
	}
	assert_int_equal(pcn_map_migrate_copy(hash_fd, arr_fd), 0);
	for (key = 0; key < 8; key++) {
		assert_int_equal(bpf_map_lookup_elem(arr_fd, &key, &got), 0);
		assert_int_equal(got, key == 2 || key == 6 ? key * 10 : 0);
	}
	assert_int_equal(pcn_map_migrate_copy(arr_fd, back_fd), 0);
	assert_int_equal(hash_tens(back_fd), 2);
	close(hash_fd);
	close(arr_fd);
	close(back_fd);
}

/* A copy from a map of (old_type, old_key bytes) to one of (new_type,
 * new_key bytes), both with 8-byte values, is refused with -EINVAL. */
static void assert_copy_refused(enum bpf_map_type old_type, uint32_t old_key, enum bpf_map_type new_type,
				uint32_t new_key)
{
	int old_fd = bpf_map_create(old_type, "mig_old", old_key, 8, 8, NULL);
	int new_fd = bpf_map_create(new_type, "mig_new", new_key, 8, 8, NULL);

	assert_true(old_fd >= 0 && new_fd >= 0);
	assert_int_equal(pcn_map_migrate_copy(old_fd, new_fd), -EINVAL);
	close(old_fd);
	close(new_fd);
}

static void test_type_change_refused(void **state)
{
	(void)state;
	/* per-CPU to shared would sum or split counters: not a copy. */
	assert_copy_refused(BPF_MAP_TYPE_PERCPU_HASH, 4, BPF_MAP_TYPE_ARRAY, 4);
}

static void test_key_change_refused(void **state)
{
	(void)state;
	assert_copy_refused(BPF_MAP_TYPE_HASH, 4, BPF_MAP_TYPE_HASH, 8);
}

static void test_ipc_live(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[64];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/pcn-upgrade-test-%d.sock", (int)getpid());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_false(pcn__ipc_live(path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_false(pcn__ipc_live(path)); /* bound, not listening */
	assert_int_equal(listen(fd, 1), 0);
	assert_true(pcn__ipc_live(path));
	close(fd);
	/* The file stays behind a dead socket: stale, not live. */
	assert_int_equal(access(path, F_OK), 0);
	assert_false(pcn__ipc_live(path));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percpu_grows),
		cmocka_unit_test(test_hash_shrinks),
		cmocka_unit_test(test_hash_to_array_and_back),
		cmocka_unit_test(test_type_change_refused),
		cmocka_unit_test(test_key_change_refused),
		cmocka_unit_test(test_ipc_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
