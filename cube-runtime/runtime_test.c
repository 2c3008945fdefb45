/* The cube process against a fake broker: registration (and again after
 * the broker restarts), ApplyConfig answered with a pinned program, state
 * reads, a handler's refusal reaching the user, a refused registration.
 * Sockets live in a fresh temporary directory and pins in a private bpffs
 * mount; needs root. */
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
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "pcn_int.h"
#include "pcn_kern_user.h"
#include "pcnrt_test_tc.skel.h"
#include "pcnrt_test_xdp.skel.h"
#include "rt_test_helloworld_yang.h"
#include "testdata/bpffs_testutil.h"
#include "ipc.h"

/* ---- the cube under test: helloworld's model over the runtime's test fast path ---- */

static int t_action(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *n)
{
	uint32_t zero = 0, v = op == PCN_OP_DELETE ? 0 : (uint32_t)pcn_node_enum(n);

	if (op != PCN_OP_DELETE && strcmp(pcn_node_value(n), "SLOWPATH") == 0)
		return pcn_fail(inst, -EINVAL, "SLOWPATH is not supported by this test cube");
	return pcn_map_update(inst, "rt_test_verdict", &zero, &v, 0);
}

static int t_stats(struct pcn_instance *inst, struct pcn_state *st)
{
	uint64_t sums[2];
	uint32_t zero = 0;
	int rc = pcn_map_sum_u64(inst, "rt_test_stats", &zero, sums, 2);

	if (rc)
		return rc;
	return pcn_state_set(st, "stats/forwarded", "%llu", (unsigned long long)sums[0]);
}

static const struct pcn_config_handler t_handlers[] = {
	{ "/helloworld:helloworld/action", t_action },
	{ NULL },
};

static const struct pcn_state_handler t_state[] = {
	{ "/helloworld:helloworld/stats", t_stats },
	{ NULL },
};

static const struct pcn_cube_desc t_desc = {
	.service = "helloworld",
	.version = "9.9.9",
	.description = "runtime test cube",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = "helloworld",
	.yang_module = rt_test_helloworld_yang,
	.xdp_object = pcnrt_test_xdp__elf_bytes,
	.tc_object = pcnrt_test_tc__elf_bytes,
	.handlers = t_handlers,
	.state = t_state,
};

/* ---- fixture ---------------------------------------------------------------- */

struct fixture {
	char sockdir[64];
	char bpffs[64];
	struct pcn__runtime *rt;
	pthread_t thread;
	bool running;
	int exit_code;
	nng_socket broker; /* fake broker's REP on broker.sock */
	bool broker_open;
	nng_socket cube; /* fake broker's REQ to the cube */
	bool cube_open;
};

static void *run_thread(void *arg)
{
	struct fixture *f = arg;

	f->exit_code = pcn__runtime_run(f->rt);
	return NULL;
}

static void broker_listen(struct fixture *f)
{
	char url[128];

	assert_int_equal(pcn_ipc_url(url, sizeof(url), f->sockdir, "broker.sock"), 0);
	assert_int_equal(nng_rep0_open(&f->broker), 0);
	f->broker_open = true;
	nng_socket_set_ms(f->broker, NNG_OPT_RECVTIMEO, 8000);
	assert_int_equal(nng_listen(f->broker, url, NULL, 0), 0);
}

static void broker_close(struct fixture *f)
{
	if (f->broker_open)
		nng_close(f->broker);
	f->broker_open = false;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	*state = f;
	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root (BPF, bpffs mount)\n");
		return 0;
	}
	if (bpffs_test_mount(f->bpffs, sizeof(f->bpffs))) {
		f->bpffs[0] = '\0';
		return 0;
	}
	snprintf(f->sockdir, sizeof(f->sockdir), "/tmp/pcnrt-sock-XXXXXX");
	assert_non_null(mkdtemp(f->sockdir));
	/* The broker listens first here; the runtime copes with either order. */
	broker_listen(f);
	assert_int_equal(pcn__runtime_create(&f->rt, &t_desc, f->sockdir), 0);
	assert_int_equal(pcn__runtime_start(f->rt), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, run_thread, f), 0);
	f->running = true;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	if (f->rt)
		pcn__runtime_stop(f->rt);
	if (f->running)
		pthread_join(f->thread, NULL);
	pcn__runtime_destroy(f->rt);
	if (f->cube_open)
		nng_close(f->cube);
	broker_close(f);
	if (f->sockdir[0]) {
		snprintf(path, sizeof(path), "%s/broker.sock", f->sockdir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/cube-helloworld.sock", f->sockdir);
		unlink(path);
		rmdir(f->sockdir);
	}
	if (f->bpffs[0])
		bpffs_test_umount(f->bpffs);
	free(f);
	return 0;
}

#define NEED_ENV(f)                  \
	do {                         \
		if (!(f)->rt)        \
			skip();      \
	} while (0)

/* Receives a Register on the fake broker and answers it with `code`. */
static void expect_register(struct fixture *f, int code)
{
	Cubemesh__BrokerRequest *req = NULL;
	Cubemesh__BrokerReply rep = CUBEMESH__BROKER_REPLY__INIT;
	Cubemesh__RegisterReply rr = CUBEMESH__REGISTER_REPLY__INIT;
	Cubemesh__Status st;
	struct pcn_ipc_status_buf sb;
	char endpoint[128];
	nng_msg *msg = NULL;

	assert_int_equal(nng_recvmsg(f->broker, &msg, 0), 0);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__broker_request__descriptor, nng_msg_body(msg),
					 nng_msg_len(msg), (ProtobufCMessage **)&req),
			 0);
	nng_msg_free(msg);
	assert_int_equal(req->body_case, CUBEMESH__BROKER_REQUEST__BODY_REGISTER);
	assert_int_equal(req->register_->protocol_version, PCN_PROTOCOL_VERSION);
	assert_string_equal(req->register_->service_name, "helloworld");
	assert_string_equal(req->register_->version, "9.9.9");
	assert_string_equal(req->register_->yang_module_name, "helloworld");
	/* The whole module text travels, so the broker needs no file. */
	assert_non_null(strstr(req->register_->yang_module, "module helloworld {"));
	assert_int_equal(pcn_ipc_url(endpoint, sizeof(endpoint), f->sockdir, "cube-helloworld.sock"), 0);
	assert_string_equal(req->register_->endpoint, endpoint);
	assert_int_equal(req->register_->pid, getpid());
	protobuf_c_message_free_unpacked(&req->base, NULL);

	if (code)
		pcn_ipc_status_set(&st, &sb, code, 0, NULL, NULL, "protocol version 1 is not supported");
	else
		pcn_ipc_status_set(&st, &sb, 0, 0, NULL, NULL, NULL);
	rep.status = &st;
	rr.broker_version = "test-broker";
	rr.bpffs_root = f->bpffs;
	rep.body_case = CUBEMESH__BROKER_REPLY__BODY_REGISTER;
	rep.register_ = &rr;
	assert_int_equal(pcn_ipc_pack(&rep.base, &msg), 0);
	assert_int_equal(nng_sendmsg(f->broker, msg, 0), 0);
}

/* One broker -> cube call; the reply is the caller's to free. */
static Cubemesh__CubeReply *call(struct fixture *f, Cubemesh__CubeRequest *req)
{
	Cubemesh__CubeReply *rep = NULL;
	nng_msg *msg = NULL;

	if (!f->cube_open) {
		assert_int_equal(nng_req0_open(&f->cube), 0);
		f->cube_open = true;
		nng_socket_set_ms(f->cube, NNG_OPT_RECVTIMEO, 10000);
		assert_int_equal(nng_dial(f->cube, f->rt->endpoint, NULL, 0), 0);
	}
	assert_int_equal(pcn_ipc_pack(&req->base, &msg), 0);
	assert_int_equal(nng_sendmsg(f->cube, msg, 0), 0);
	assert_int_equal(nng_recvmsg(f->cube, &msg, 0), 0);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__cube_reply__descriptor, nng_msg_body(msg), nng_msg_len(msg),
					 (ProtobufCMessage **)&rep),
			 0);
	nng_msg_free(msg);
	return rep;
}

static Cubemesh__CubeReply *apply(struct fixture *f, Cubemesh__ApplyOp op, const char *json)
{
	Cubemesh__CubeRequest req = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__ApplyConfig a = CUBEMESH__APPLY_CONFIG__INIT;
	Cubemesh__PortInfo p1 = CUBEMESH__PORT_INFO__INIT, p2 = CUBEMESH__PORT_INFO__INIT;
	Cubemesh__PortInfo *ports[] = { &p1, &p2 };

	p1.name = "port1";
	p1.index = 0;
	p2.name = "port2";
	p2.index = 1;
	a.instance = "hw1";
	a.op = op;
	a.index = 5;
	a.hook = CUBEMESH__HOOK__HOOK_TC;
	a.config_json = (char *)json;
	a.n_ports = 2;
	a.ports = ports;
	req.body_case = CUBEMESH__CUBE_REQUEST__BODY_APPLY;
	req.apply = &a;
	return call(f, &req);
}

static uint32_t verdict_in_kernel(struct fixture *f)
{
	char path[192];
	uint32_t zero = 0, v = 0xffff;
	int fd;

	snprintf(path, sizeof(path), "%s/cubes/helloworld/hw1/rt_test_verdict", f->bpffs);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &v), 0);
	close(fd);
	return v;
}

#define HW1(extra) "{\"helloworld:helloworld\":[{\"name\":\"hw1\"" extra "}]}"

static void test_register_apply_read_delete(void **state)
{
	struct fixture *f = *state;
	Cubemesh__CubeRequest rreq = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__ReadState rs = CUBEMESH__READ_STATE__INIT;
	Cubemesh__CubeReply *rep;
	char prog[192];
	struct stat sb;

	NEED_ENV(f);
	expect_register(f, 0);

	rep = apply(f, CUBEMESH__APPLY_OP__APPLY_CREATE,
		    HW1(",\"action\":\"FORWARD\",\"ports\":[{\"name\":\"port1\"},{\"name\":\"port2\"}]"));
	assert_int_equal(rep->status->code, 0);
	assert_int_equal(rep->body_case, CUBEMESH__CUBE_REPLY__BODY_APPLY);
	assert_int_equal(rep->apply->n_programs, 1);
	snprintf(prog, sizeof(prog), "%s/cubes/helloworld/hw1/prog", f->bpffs);
	assert_string_equal(rep->apply->programs[0]->pin_path, prog);
	assert_string_equal(rep->apply->programs[0]->instance, "hw1");
	assert_int_equal(rep->apply->programs[0]->hook, CUBEMESH__HOOK__HOOK_TC);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	assert_int_equal(stat(prog, &sb), 0);
	assert_int_equal(verdict_in_kernel(f), 2 /* FORWARD */);

	/* A handler's refusal reaches the user with its message; nothing changes. */
	rep = apply(f, CUBEMESH__APPLY_OP__APPLY_UPDATE, HW1(",\"action\":\"SLOWPATH\""));
	assert_int_equal(rep->status->code, -EINVAL);
	assert_int_equal(rep->status->http_status, 400);
	assert_string_equal(rep->status->message, "SLOWPATH is not supported by this test cube");
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	assert_int_equal(verdict_in_kernel(f), 2);

	/* An update that changes no constant reloads nothing. */
	rep = apply(f, CUBEMESH__APPLY_OP__APPLY_UPDATE, HW1(",\"action\":\"DROP\""));
	assert_int_equal(rep->status->code, 0);
	assert_int_equal(rep->apply->n_programs, 0);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	assert_int_equal(verdict_in_kernel(f), 0);

	/* A new log level is a new program, returned for the PatchPanel. */
	rep = apply(f, CUBEMESH__APPLY_OP__APPLY_UPDATE, HW1(",\"loglevel\":\"DEBUG\""));
	assert_int_equal(rep->status->code, 0);
	assert_int_equal(rep->apply->n_programs, 1);
	protobuf_c_message_free_unpacked(&rep->base, NULL);

	rs.instance = "hw1";
	rreq.body_case = CUBEMESH__CUBE_REQUEST__BODY_READ;
	rreq.read = &rs;
	rep = call(f, &rreq);
	assert_int_equal(rep->status->code, 0);
	assert_string_equal(rep->read->state_json,
			    "{\"helloworld:helloworld\":[{\"name\":\"hw1\",\"stats\":{\"forwarded\":\"0\"}}]}");
	protobuf_c_message_free_unpacked(&rep->base, NULL);

	rs.instance = "nope";
	rep = call(f, &rreq);
	assert_int_equal(rep->status->http_status, 404);
	protobuf_c_message_free_unpacked(&rep->base, NULL);

	rep = apply(f, CUBEMESH__APPLY_OP__APPLY_DELETE, NULL);
	assert_int_equal(rep->status->code, 0);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	assert_int_not_equal(stat(prog, &sb), 0);
}

static void test_reregisters_after_broker_restart(void **state)
{
	struct fixture *f = *state;

	NEED_ENV(f);
	expect_register(f, 0);
	broker_close(f);
	/* The broker comes back on the same path: the cube must notice and
	 * register again (the new broker knows nothing of it). */
	broker_listen(f);
	expect_register(f, 0);
}

static void test_refused_register_exits_1(void **state)
{
	struct fixture *f = *state;

	NEED_ENV(f);
	expect_register(f, -EPROTONOSUPPORT);
	pthread_join(f->thread, NULL);
	f->running = false;
	assert_int_equal(f->exit_code, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_apply_read_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reregisters_after_broker_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_register_exits_1, setup, teardown),
	};

	pcn_log_init("cube_runtime_test", PCN_LOG_WARN);
	pcn_log_route_libbpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
