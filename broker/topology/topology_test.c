/* Tests of the topology (topology/) through the broker's writes and
 * POST /attach's handler, against a fake cube (control/fakecube_test.c):
 * a port wired to a netdev (a veth pair made here) and to another
 * instance's port, then unwired, as the pinned pcn_fwd and pcn_netdev_in
 * read back; transparent instances attached first, last, before, after
 * and auto, the resulting order as the API shows it, as the pinned
 * pcn_tstack holds it (both directions) and as attachments.json keeps it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "core/tables.h"
#include "core/core.h"
#include "store/datastore.h"
#include "topology/topology.h"
#include "pcn_kern_user.h"
#include "pcn_layout.h"
#include "pcn_transparent_kern_user.h"

#include "control/fakecube_test.h"

static struct broker *B;
static char veth[2][IFNAMSIZ];
static bool veth_made;

static int sh(const char *cmd)
{
	return system(cmd);
}

static void veth_del(const char *name)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null", name);
	sh(cmd);
}

/* Pairs of runs that died before their cleanup: cmt<pid>a whose process
 * is gone. */
static void sweep_dead_veths(void)
{
	struct if_nameindex *all = if_nameindex();

	for (struct if_nameindex *i = all; i && i->if_index; i++) {
		char *end;
		long pid;

		if (strncmp(i->if_name, "cmt", 3) != 0)
			continue;
		pid = strtol(i->if_name + 3, &end, 10);
		if (strcmp(end, "a") != 0 || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		veth_del(i->if_name);
	}
	if (all)
		if_freenameindex(all);
}

static int group_teardown(void **state)
{
	tb_stop();
	if (veth_made)
		veth_del(veth[0]);
	veth_made = false;
	return 0;
}

static int group_setup(void **state)
{
	char cmd[160];

	sweep_dead_veths();
	snprintf(veth[0], sizeof(veth[0]), "cmt%da", (int)getpid());
	snprintf(veth[1], sizeof(veth[1]), "cmt%db", (int)getpid());
	snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %s", veth[0], veth[1]);
	if (sh(cmd))
		return -1;
	veth_made = true;
	snprintf(cmd, sizeof(cmd), "ip link set %s up && ip link set %s up", veth[0], veth[1]);
	B = sh(cmd) ? NULL : tb_start();
	/* cmocka runs no group teardown after a failed setup. */
	if (!B)
		group_teardown(state);
	return B ? 0 : -1;
}

static int shared_map(const char *name)
{
	char path[512];
	int fd;

	assert_int_equal(pcn_layout_shared(path, sizeof(path), tb_bpffs_root(), name), 0);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	return fd;
}

static struct pcn_fwd_val fwd(uint32_t cube, uint32_t port)
{
	struct pcn_fwd_val v = { 0 };
	__u32 key = pcn_fwd_slot(cube, port);
	int fd = shared_map(PCN_MAP_FWD);

	assert_int_equal(bpf_map_lookup_elem(fd, &key, &v), 0);
	close(fd);
	return v;
}

/* pcn_netdev_in's entry for ifindex: 0 and *out, or -ENOENT. */
static int netdev_in(int ifindex, struct pcn_netdev_val *out)
{
	__u32 key = (__u32)ifindex;
	int fd = shared_map(PCN_MAP_NETDEV_IN), rc;

	rc = bpf_map_lookup_elem(fd, &key, out) ? -errno : 0;
	close(fd);
	return rc;
}

/* The broker's input filter on ifindex's TC ingress (dataplane/netdev.c
 * puts it at handle and priority 0xcbe): 1 present, 0 absent. */
static int tc_filter(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 0xcbe, .priority = 0xcbe);
	libbpf_print_fn_t saved = libbpf_set_print(NULL);
	int rc = bpf_tc_query(&hook, &opts);
	__u32 cnt = 0;

	libbpf_set_print(saved);
	/* Or, on kernels with tcx, the broker's tcx link (BPF_TCX_INGRESS). */
	if (!(rc == 0 && opts.prog_id > 0) && bpf_prog_query(ifindex, 46, 0, NULL, NULL, &cnt) == 0)
		return cnt > 0;
	return rc == 0 && opts.prog_id > 0;
}

static void write_ok(enum broker_method m, const char *path, const char *body, int want)
{
	char msg[256];
	int got = tb_write(m, path, body, msg, sizeof(msg));

	if (got != want)
		fail_msg("%d %s %s: %d (%s), want %d", (int)m, path, body ? body : "", got, msg, want);
}

static struct broker_port *port(const char *inst, const char *name)
{
	struct broker_instance *i = broker_instance_find(B, inst);

	assert_non_null(i);
	for (size_t k = 0; k < i->n_ports; k++)
		if (strcmp(i->ports[k].name, name) == 0)
			return &i->ports[k];
	fail_msg("%s has no port %s", inst, name);
	return NULL;
}

static void test_wire_netdev_and_cube(void **state)
{
	char body[256];
	struct broker_instance *w1, *w2;
	struct broker_port *p;
	struct pcn_fwd_val v;
	struct pcn_netdev_val nv;
	int ifindex = (int)if_nametoindex(veth[0]);

	assert_true(ifindex > 0);
	snprintf(body, sizeof(body), "{\"ports\":[{\"name\":\"p1\",\"peer\":\"%s\"},{\"name\":\"p2\"}]}", veth[0]);
	write_ok(BROKER_POST, "/helloworld/tw1", body, 201);
	write_ok(BROKER_POST, "/helloworld/tw2", "{\"ports\":[{\"name\":\"q1\"}]}", 201);
	w1 = broker_instance_find(B, "tw1");
	w2 = broker_instance_find(B, "tw2");

	/* p1 <-> the veth: out through pcn_fwd, in through pcn_netdev_in. */
	p = port("tw1", "p1");
	assert_true(p->attached);
	assert_int_equal(p->ifindex, ifindex);
	assert_true(broker_port_up(p));
	v = fwd(w1->index, p->index);
	assert_int_equal(v.kind, PCN_PEER_NETDEV);
	assert_int_equal(v.ifindex, (uint32_t)ifindex);
	assert_int_equal(netdev_in(ifindex, &nv), 0);
	assert_int_equal(nv.cube_index, w1->index);
	assert_int_equal(nv.port, p->index);
	assert_true(tc_filter(ifindex));
	assert_false(tc_filter((int)if_nametoindex(veth[1])));
	/* Unpeered: no entry. */
	assert_int_equal(fwd(w1->index, port("tw1", "p2")->index).kind, PCN_PEER_NONE);

	/* A netdev has one peer; a netdev that does not exist is refused;
	 * neither changes what is wired. */
	snprintf(body, sizeof(body), "\"%s\"", veth[0]);
	write_ok(BROKER_PATCH, "/helloworld/tw2/ports/q1/peer", body, 409);
	write_ok(BROKER_PATCH, "/helloworld/tw2/ports/q1/peer", "\"cmtnosuchdev\"", 400);
	assert_int_equal(fwd(w2->index, port("tw2", "q1")->index).kind, PCN_PEER_NONE);
	assert_int_equal(netdev_in(ifindex, &nv), 0);
	assert_int_equal(nv.cube_index, w1->index);

	/* tw1:p2 <-> tw2:q1, both ways. */
	write_ok(BROKER_PATCH, "/helloworld/tw1/ports/p2/peer", "\"tw2:q1\"", 200);
	write_ok(BROKER_PATCH, "/helloworld/tw2/ports/q1/peer", "\"tw1:p2\"", 200);
	assert_true(port("tw1", "p2")->cube_peer);
	v = fwd(w1->index, port("tw1", "p2")->index);
	assert_int_equal(v.kind, PCN_PEER_CUBE);
	assert_int_equal(v.cube_index, w2->index);
	assert_int_equal(v.port, port("tw2", "q1")->index);
	v = fwd(w2->index, port("tw2", "q1")->index);
	assert_int_equal(v.kind, PCN_PEER_CUBE);
	assert_int_equal(v.cube_index, w1->index);
	assert_int_equal(v.port, port("tw1", "p2")->index);
	/* Its own instance is no peer. */
	write_ok(BROKER_PATCH, "/helloworld/tw1/ports/p2/peer", "\"tw1:p1\"", 400);

	/* Unwired: the entries go, the netdev is free for another port. */
	write_ok(BROKER_DELETE, "/helloworld/tw1/ports/p1/peer", NULL, 200);
	p = port("tw1", "p1");
	assert_false(p->attached);
	assert_int_equal(p->ifindex, 0);
	assert_false(broker_port_up(p));
	assert_int_equal(fwd(w1->index, p->index).kind, PCN_PEER_NONE);
	assert_int_equal(netdev_in(ifindex, &nv), -ENOENT);
	assert_false(tc_filter(ifindex));
	write_ok(BROKER_DELETE, "/helloworld/tw2/ports/q1/peer", NULL, 200);
	assert_int_equal(fwd(w2->index, port("tw2", "q1")->index).kind, PCN_PEER_NONE);
	/* tw1:p2 still points at q1, which exists. */
	assert_int_equal(fwd(w1->index, port("tw1", "p2")->index).kind, PCN_PEER_CUBE);
	snprintf(body, sizeof(body), "\"%s\"", veth[0]);
	write_ok(BROKER_PATCH, "/helloworld/tw2/ports/q1/peer", body, 200);
	assert_int_equal(netdev_in(ifindex, &nv), 0);
	assert_int_equal(nv.cube_index, w2->index);

	/* An instance deleted takes its wires along. */
	assert_true(tc_filter(ifindex));
	write_ok(BROKER_DELETE, "/helloworld/tw2", NULL, 204);
	assert_int_equal(netdev_in(ifindex, &nv), -ENOENT);
	assert_false(tc_filter(ifindex));
	write_ok(BROKER_DELETE, "/helloworld/tw1", NULL, 204);
}

/* ---- transparent stacks ------------------------------------------------- */

static int attach(bool on, const char *cube, const char *parent, const char *position, const char *other,
		  struct broker_error *err)
{
	json_t *j = json_pack("{s:s, s:s}", "cube", cube, "port", parent);
	int rc;

	if (position)
		json_object_set_new(j, "position", json_string(position));
	if (other)
		json_object_set_new(j, "other", json_string(other));
	memset(err, 0, sizeof(*err));
	rc = broker_attach_json(B, j, on, err);
	json_decref(j);
	return rc;
}

static void attach_ok(const char *cube, const char *position, const char *other)
{
	struct broker_error err;

	if (attach(true, cube, veth[1], position, other, &err))
		fail_msg("attach %s %s %s: %d %s", cube, position ? position : "-", other ? other : "-",
			 err.http_status, err.message);
}

static void attach_refused(const char *cube, const char *position, const char *other, int status)
{
	struct broker_error err;

	assert_int_not_equal(attach(true, cube, veth[1], position, other, &err), 0);
	assert_int_equal(err.http_status, status);
}

/* The names of the stack on veth[1], as GET /topology/<netdev> shows it,
 * "a,b,c". */
static void api_order(char *out, size_t n)
{
	json_t *top = broker_topology_json(B, veth[1]), *all = json_object_get(top, "transparent"), *names;
	size_t i, len = 0;
	json_t *v;

	out[0] = '\0';
	assert_true(json_array_size(all) <= 1);
	names = json_object_get(json_array_get(all, 0), "stack");
	json_array_foreach(names, i, v)
		len += (size_t)snprintf(out + len, n - len, "%s%s", i ? "," : "", json_string_value(v));
	json_decref(top);
}

/* The same from pcn_tstack under the generation pcn_tgen names: the slots
 * of the ingress order, and the egress order, which must be its reverse. */
static void map_order(char *out, size_t n)
{
	int tstack = shared_map(PCN_MAP_TSTACK), tgen = shared_map(PCN_MAP_TGEN);
	__u32 parent = (__u32)if_nametoindex(veth[1]), gen = 0, in[16], eg[16];
	size_t cnt = 0, len = 0;

	out[0] = '\0';
	if (bpf_map_lookup_elem(tgen, &parent, &gen) == 0) {
		for (; cnt < 16; cnt++) {
			struct pcn_tstack_key k = { .parent = parent, .dir = PCN_TDIR_INGRESS, .pos = (__u32)cnt, .gen = gen };

			if (bpf_map_lookup_elem(tstack, &k, &in[cnt]))
				break;
			k.dir = PCN_TDIR_EGRESS;
			assert_int_equal(bpf_map_lookup_elem(tstack, &k, &eg[cnt]), 0);
		}
		/* Only the last position of each order carries the flag. */
		for (size_t p = 0; p < cnt; p++) {
			assert_int_equal(!!(in[p] & PCN_TSTACK_LAST), p == cnt - 1);
			assert_int_equal(!!(eg[p] & PCN_TSTACK_LAST), p == cnt - 1);
			in[p] &= ~PCN_TSTACK_LAST;
			eg[p] &= ~PCN_TSTACK_LAST;
		}
		for (size_t p = 0; p < cnt; p++) {
			const char *name = "?";

			assert_int_equal(eg[p], in[cnt - 1 - p]);
			for (struct broker_instance *i = B->instances; i; i = i->next)
				if (i->index == in[p])
					name = i->name;
			len += (size_t)snprintf(out + len, n - len, "%s%s", p ? "," : "", name);
		}
	}
	close(tstack);
	close(tgen);
}

/* The same from attachments.json. */
static void file_order(char *out, size_t n)
{
	json_t *all = broker_attach_store_load(tb_state_dir()), *o, *names, *v;
	size_t i, k, len = 0;

	out[0] = '\0';
	json_array_foreach(all, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "netdev")) ?: "", veth[1]) != 0)
			continue;
		names = json_object_get(o, "stack");
		json_array_foreach(names, k, v) {
			const char *name = json_string_value(v);

			len += (size_t)snprintf(out + len, n - len, "%s%s", k ? "," : "", name ? name : "?");
		}
	}
	json_decref(all);
}

static void order_is(const char *want)
{
	char got[256];

	api_order(got, sizeof(got));
	assert_string_equal(got, want);
	map_order(got, sizeof(got));
	assert_string_equal(got, want);
	file_order(got, sizeof(got));
	assert_string_equal(got, want);
}

static void test_stack_positions(void **state)
{
	static const char *const cubes[] = { "t1", "t2", "t3", "t4", "t5", "t6" };
	struct broker_error err;
	char path[64];

	for (size_t i = 0; i < sizeof(cubes) / sizeof(cubes[0]); i++) {
		snprintf(path, sizeof(path), "/transparenthelloworld/%s", cubes[i]);
		write_ok(BROKER_POST, path, "{}", 201);
	}
	write_ok(BROKER_POST, "/helloworld/th1", "{}", 201);
	order_is("");
	attach_ok("t1", NULL, NULL); /* no position: auto */
	order_is("t1");
	attach_ok("t2", "first", NULL);
	order_is("t2,t1");
	attach_ok("t3", "last", NULL);
	order_is("t2,t1,t3");
	attach_ok("t4", "before", "t1");
	order_is("t2,t4,t1,t3");
	attach_ok("t5", "after", "t1");
	order_is("t2,t4,t1,t5,t3");
	attach_ok("t6", "auto", NULL);
	order_is("t2,t4,t1,t5,t3,t6");
	/* Refused, and the order stays. */
	attach_refused("t1", "first", NULL, 409);       /* attached already */
	attach_refused("th1", NULL, NULL, 400);         /* a standard cube */
	attach_refused("nosuch", NULL, NULL, 404);
	order_is("t2,t4,t1,t5,t3,t6");
	assert_int_equal(attach(false, "t6", veth[1], NULL, NULL, &err), 0);
	attach_refused("t6", "before", "nosuch", 400);  /* other not in the stack */
	attach_refused("t6", "before", NULL, 400);      /* other missing */
	attach_refused("t6", "middle", NULL, 400);
	assert_int_not_equal(attach(true, "t6", "cmtnosuchdev", NULL, NULL, &err), 0);
	assert_int_equal(err.http_status, 400);
	order_is("t2,t4,t1,t5,t3");
	/* pcnctl's form: after=<cube>. */
	{
		json_t *j = json_pack("{s:s, s:s, s:s}", "cube", "t6", "port", veth[1], "after", "t2");

		assert_int_equal(broker_attach_json(B, j, true, &err), 0);
		json_decref(j);
	}
	order_is("t2,t6,t4,t1,t5,t3");

	/* Detach from the middle, the ends, and a cube not there. */
	assert_int_equal(attach(false, "t4", veth[1], NULL, NULL, &err), 0);
	order_is("t2,t6,t1,t5,t3");
	assert_int_not_equal(attach(false, "t4", veth[1], NULL, NULL, &err), 0);
	assert_int_equal(err.http_status, 404);
	assert_int_equal(attach(false, "t2", veth[1], NULL, NULL, &err), 0);
	assert_int_equal(attach(false, "t3", veth[1], NULL, NULL, &err), 0);
	order_is("t6,t1,t5");
	/* A deleted instance leaves its stack. */
	write_ok(BROKER_DELETE, "/transparenthelloworld/t1", NULL, 204);
	order_is("t6,t5");
	assert_int_equal(attach(false, "t6", veth[1], NULL, NULL, &err), 0);
	assert_int_equal(attach(false, "t5", veth[1], NULL, NULL, &err), 0);
	/* Empty: nothing of it is left in the maps or the file. */
	order_is("");
	{
		int tgen = shared_map(PCN_MAP_TGEN);
		__u32 parent = (__u32)if_nametoindex(veth[1]), gen;

		assert_int_not_equal(bpf_map_lookup_elem(tgen, &parent, &gen), 0);
		close(tgen);
	}
	for (size_t i = 1; i < sizeof(cubes) / sizeof(cubes[0]); i++) {
		snprintf(path, sizeof(path), "/transparenthelloworld/%s", cubes[i]);
		write_ok(BROKER_DELETE, path, NULL, 204);
	}
	write_ok(BROKER_DELETE, "/helloworld/th1", NULL, 204);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_netdev_and_cube),
		cmocka_unit_test(test_stack_positions),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "topology_test needs root (veths, bpffs pins)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
