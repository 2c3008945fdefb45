/* Tests of the IPC helpers: every message of proto/cubemesh.proto survives
 * a round trip; truncated, flipped and random bytes are refused or decode to
 * a message that is still well-formed (never a crash: run under
 * -DCUBEMESH_SANITIZE=ON too); a request with no body is refused; nng
 * errors map to errnos; URLs and peer credentials. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"

#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

/* ---- sample messages, one of each type ----------------------------------- */

static const char yang_text[] =
	"module helloworld {\n  yang-version 1.1;\n  namespace \"http://cubemesh/hw\";\n"
	"  prefix hw;\n  leaf action { type enumeration { enum DROP; enum FORWARD; } }\n}\n";
/* Binary packet data with NULs and high bytes: must not be treated as text. */
static uint8_t pkt_data[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
			      0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x00 };

static Cubemesh__Status st_err = CUBEMESH__STATUS__INIT;
static Cubemesh__Status st_ok = CUBEMESH__STATUS__INIT;
static Cubemesh__Register reg = CUBEMESH__REGISTER__INIT;
static Cubemesh__RegisterReply reg_reply = CUBEMESH__REGISTER_REPLY__INIT;
static Cubemesh__ProgramInstall prog_install = CUBEMESH__PROGRAM_INSTALL__INIT;
static Cubemesh__ProgramInstall prog_install2 = CUBEMESH__PROGRAM_INSTALL__INIT;
static Cubemesh__ProgramRemove prog_remove = CUBEMESH__PROGRAM_REMOVE__INIT;
static Cubemesh__Health health = CUBEMESH__HEALTH__INIT;
static Cubemesh__BrokerRequest breq_reg = CUBEMESH__BROKER_REQUEST__INIT;
static Cubemesh__BrokerRequest breq_install = CUBEMESH__BROKER_REQUEST__INIT;
static Cubemesh__BrokerRequest breq_remove = CUBEMESH__BROKER_REQUEST__INIT;
static Cubemesh__BrokerRequest breq_health = CUBEMESH__BROKER_REQUEST__INIT;
static Cubemesh__BrokerReply brep = CUBEMESH__BROKER_REPLY__INIT;
static Cubemesh__BrokerReply brep_err = CUBEMESH__BROKER_REPLY__INIT;
static Cubemesh__PortInfo port1 = CUBEMESH__PORT_INFO__INIT;
static Cubemesh__PortInfo port2 = CUBEMESH__PORT_INFO__INIT;
static Cubemesh__PortInfo *ports[] = { &port1, &port2 };
static Cubemesh__ApplyConfig apply = CUBEMESH__APPLY_CONFIG__INIT;
static Cubemesh__ProgramInstall *progs[] = { &prog_install, &prog_install2 };
static Cubemesh__ApplyReply apply_reply = CUBEMESH__APPLY_REPLY__INIT;
static Cubemesh__ReadState read_state = CUBEMESH__READ_STATE__INIT;
static Cubemesh__ReadReply read_reply = CUBEMESH__READ_REPLY__INIT;
static Cubemesh__CubeRequest creq_apply = CUBEMESH__CUBE_REQUEST__INIT;
static Cubemesh__CubeRequest creq_read = CUBEMESH__CUBE_REQUEST__INIT;
static Cubemesh__CubeRequest creq_health = CUBEMESH__CUBE_REQUEST__INIT;
static Cubemesh__CubeReply crep_apply = CUBEMESH__CUBE_REPLY__INIT;
static Cubemesh__CubeReply crep_read = CUBEMESH__CUBE_REPLY__INIT;
static Cubemesh__CubeReply crep_health = CUBEMESH__CUBE_REPLY__INIT;
static uint32_t pkt_md[] = { 7, 0, 0xffffffffu };
static Cubemesh__PacketIn pin = CUBEMESH__PACKET_IN__INIT;
static Cubemesh__PacketIn pin2 = CUBEMESH__PACKET_IN__INIT;
static Cubemesh__PacketIn *pins[] = { &pin, &pin2 };
static Cubemesh__PacketInBatch pin_batch = CUBEMESH__PACKET_IN_BATCH__INIT;
static Cubemesh__PacketOut pout = CUBEMESH__PACKET_OUT__INIT;
static Cubemesh__PacketOut *pouts[] = { &pout };
static Cubemesh__PacketOutBatch pout_batch = CUBEMESH__PACKET_OUT_BATCH__INIT;
static Cubemesh__LogRecord logrec = CUBEMESH__LOG_RECORD__INIT;
static Cubemesh__LogRecord logrec2 = CUBEMESH__LOG_RECORD__INIT;
static Cubemesh__LogRecord *logrecs[] = { &logrec, &logrec2 };
static Cubemesh__LogBatch log_batch = CUBEMESH__LOG_BATCH__INIT;

static void samples_init(void)
{
	st_err.code = -EINVAL;
	st_err.has_http_status = 1;
	st_err.http_status = 400;
	st_err.error_tag = "invalid-value";
	st_err.error_path = "/helloworld/hw1/action";
	st_err.message = "\"FLY\" is not one of DROP, SLOWPATH, FORWARD";

	reg.protocol_version = PCN_PROTOCOL_VERSION;
	reg.service_name = "helloworld";
	reg.version = "1.2.3";
	reg.description = "Hello world cube";
	reg.min_kernel = "5.10";
	reg.kind = CUBEMESH__KIND__KIND_TRANSPARENT;
	reg.yang_module_name = "helloworld";
	reg.yang_module = (char *)yang_text;
	reg.endpoint = "ipc:///run/cubemesh/cube-helloworld.sock";
	reg.has_pid = 1;
	reg.pid = 4242;

	reg_reply.broker_version = "0.1.0";
	reg_reply.bpffs_root = "/sys/fs/bpf/cubemesh";
	reg_reply.slowpath_url = "ipc:///run/cubemesh/slowpath.sock";

	prog_install.instance = "hw1";
	prog_install.hook = CUBEMESH__HOOK__HOOK_XDP_DRV;
	prog_install.pin_path = "/sys/fs/bpf/cubemesh/cubes/helloworld/hw1/prog";
	prog_install2.instance = "hw2";
	prog_install2.hook = CUBEMESH__HOOK__HOOK_TC;
	prog_install2.pin_path = "/sys/fs/bpf/cubemesh/cubes/helloworld/hw2/prog";
	prog_remove.instance = "hw1";
	health.has_uptime_ms = 1;
	health.uptime_ms = UINT64_MAX;
	health.has_instances = 1;
	health.instances = 3;

	breq_reg.body_case = CUBEMESH__BROKER_REQUEST__BODY_REGISTER;
	breq_reg.register_ = &reg;
	breq_install.body_case = CUBEMESH__BROKER_REQUEST__BODY_PROGRAM_INSTALL;
	breq_install.program_install = &prog_install;
	breq_remove.body_case = CUBEMESH__BROKER_REQUEST__BODY_PROGRAM_REMOVE;
	breq_remove.program_remove = &prog_remove;
	breq_health.body_case = CUBEMESH__BROKER_REQUEST__BODY_HEALTH;
	breq_health.health = &health;
	brep.status = &st_ok;
	brep.body_case = CUBEMESH__BROKER_REPLY__BODY_REGISTER;
	brep.register_ = &reg_reply;
	brep_err.status = &st_err; /* an error reply carries no body */

	port1.name = "port1";
	port1.index = 0;
	port1.peer = "veth1";
	port1.has_up = 1;
	port1.up = 1;
	port2.name = "port2";
	port2.index = 255;
	port2.peer = "r1:port2";
	apply.instance = "hw1";
	apply.op = CUBEMESH__APPLY_OP__APPLY_UPDATE;
	apply.index = 1023;
	apply.hook = CUBEMESH__HOOK__HOOK_XDP_SKB;
	apply.config_json = "{\"helloworld:helloworld\":{\"name\":\"hw1\",\"action\":\"FORWARD\"}}";
	apply.n_ports = 2;
	apply.ports = ports;
	apply.has_replay = 1;
	apply.replay = 1;
	apply_reply.n_programs = 2;
	apply_reply.programs = progs;
	read_state.instance = "hw1";
	read_state.path = "ports/port1/status";
	read_reply.state_json = "{\"helloworld:helloworld\":{\"counters\":{\"packets\":\"18446744073709551615\"}}}";

	creq_apply.body_case = CUBEMESH__CUBE_REQUEST__BODY_APPLY;
	creq_apply.apply = &apply;
	creq_read.body_case = CUBEMESH__CUBE_REQUEST__BODY_READ;
	creq_read.read = &read_state;
	creq_health.body_case = CUBEMESH__CUBE_REQUEST__BODY_HEALTH;
	creq_health.health = &health;
	crep_apply.status = &st_ok;
	crep_apply.body_case = CUBEMESH__CUBE_REPLY__BODY_APPLY;
	crep_apply.apply = &apply_reply;
	crep_read.status = &st_ok;
	crep_read.body_case = CUBEMESH__CUBE_REPLY__BODY_READ;
	crep_read.read = &read_reply;
	crep_health.status = &st_err;
	crep_health.body_case = CUBEMESH__CUBE_REPLY__BODY_HEALTH;
	crep_health.health = &health;

	pin.cube_index = 5;
	pin.instance = "hw1";
	pin.port = 2;
	pin.reason = 1;
	pin.n_metadata = 3;
	pin.metadata = pkt_md;
	pin.data.len = sizeof(pkt_data);
	pin.data.data = pkt_data;
	pin.orig_len = 1514;
	pin2.cube_index = 6;
	pin2.port = 0;
	pin2.reason = 0;
	pin2.data.len = 0; /* an empty snap is still a packet-in */
	pin2.data.data = NULL;
	pin2.orig_len = 60;
	pin_batch.n_packets = 2;
	pin_batch.packets = pins;
	pout.instance = "br1";
	pout.port = 3;
	pout.direction = CUBEMESH__DIRECTION__DIR_EGRESS;
	pout.data.len = sizeof(pkt_data);
	pout.data.data = pkt_data;
	pout_batch.n_packets = 1;
	pout_batch.packets = pouts;
	logrec.level = 3;
	logrec.service = "helloworld";
	logrec.instance = "hw1";
	logrec.message = "dropped a packet: \xc3\xa9t\xc3\xa9";
	logrec.has_time_ns = 1;
	logrec.time_ns = 1700000000123456789ull;
	logrec.has_source = 1;
	logrec.source = CUBEMESH__LOG_SOURCE__LOG_FASTPATH;
	logrec2.level = 0;
	logrec2.service = "router";
	logrec2.message = "";
	log_batch.n_records = 2;
	log_batch.records = logrecs;
}

#define SAMPLE(m) { #m, (const ProtobufCMessage *)&(m) }
static const struct sample {
	const char *what;
	const ProtobufCMessage *msg;
} samples[] = {
	SAMPLE(st_err),       SAMPLE(st_ok),         SAMPLE(reg),         SAMPLE(reg_reply),
	SAMPLE(prog_install), SAMPLE(prog_remove),   SAMPLE(health),      SAMPLE(breq_reg),
	SAMPLE(breq_install), SAMPLE(breq_remove),   SAMPLE(breq_health), SAMPLE(brep),
	SAMPLE(brep_err),     SAMPLE(port1),         SAMPLE(apply),       SAMPLE(apply_reply),
	SAMPLE(read_state),   SAMPLE(read_reply),    SAMPLE(creq_apply),  SAMPLE(creq_read),
	SAMPLE(creq_health),  SAMPLE(crep_apply),    SAMPLE(crep_read),   SAMPLE(crep_health),
	SAMPLE(pin),          SAMPLE(pin_batch),     SAMPLE(pout),        SAMPLE(pout_batch),
	SAMPLE(logrec),       SAMPLE(log_batch),
};
#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

static int setup(void **state)
{
	samples_init();
	return 0;
}

/* Packs m with pcn_ipc_pack and returns a malloc'd copy of the bytes. */
static uint8_t *pack_bytes(const ProtobufCMessage *m, size_t *len)
{
	nng_msg *msg = NULL;
	uint8_t *buf;

	assert_int_equal(pcn_ipc_pack(m, &msg), 0);
	assert_non_null(msg);
	*len = nng_msg_len(msg);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	memcpy(buf, nng_msg_body(msg), *len);
	nng_msg_free(msg);
	return buf;
}

/* A message that decoded must be whole: required fields present, and
 * packable again without trouble. */
static void assert_well_formed(const ProtobufCMessage *m)
{
	size_t len;
	uint8_t *buf;

	assert_true(protobuf_c_message_check(m));
	buf = pack_bytes(m, &len);
	free(buf);
}

/* ---- round trips ----------------------------------------------------------- */

static void test_round_trip_every_type(void **state)
{
	for (size_t i = 0; i < N_SAMPLES; i++) {
		const ProtobufCMessage *m = samples[i].msg;
		ProtobufCMessage *got = NULL;
		uint8_t *bytes, *again;
		size_t len, len2;

		bytes = pack_bytes(m, &len);
		assert_int_equal(pcn_ipc_unpack(m->descriptor, bytes, len, &got), 0);
		assert_non_null(got);
		assert_ptr_equal(got->descriptor, m->descriptor);
		/* protobuf-c packs fields in a fixed order: the same message gives
		 * the same bytes, so equal bytes mean every field came back. */
		again = pack_bytes(got, &len2);
		if (len != len2 || memcmp(bytes, again, len) != 0)
			fail_msg("%s changed across a round trip", samples[i].what);
		protobuf_c_message_free_unpacked(got, NULL);
		free(bytes);
		free(again);
	}
}

/* Spot checks of what users see, so a broken comparison above cannot hide a loss. */
static void test_round_trip_fields(void **state)
{
	Cubemesh__BrokerRequest *br = NULL;
	Cubemesh__CubeRequest *cr = NULL;
	Cubemesh__PacketInBatch *pb = NULL;
	Cubemesh__LogBatch *lb = NULL;
	Cubemesh__CubeReply *cp = NULL;
	uint8_t *b;
	size_t len;

	b = pack_bytes(&breq_reg.base, &len);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__broker_request__descriptor, b, len, (ProtobufCMessage **)&br), 0);
	free(b);
	assert_int_equal(br->body_case, CUBEMESH__BROKER_REQUEST__BODY_REGISTER);
	assert_string_equal(br->register_->yang_module, yang_text);
	assert_string_equal(br->register_->service_name, "helloworld");
	assert_int_equal(br->register_->kind, CUBEMESH__KIND__KIND_TRANSPARENT);
	assert_true(br->register_->has_pid);
	assert_int_equal(br->register_->pid, 4242);
	protobuf_c_message_free_unpacked(&br->base, NULL);

	b = pack_bytes(&creq_apply.base, &len);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__cube_request__descriptor, b, len, (ProtobufCMessage **)&cr), 0);
	free(b);
	assert_int_equal(cr->body_case, CUBEMESH__CUBE_REQUEST__BODY_APPLY);
	assert_int_equal(cr->apply->index, 1023);
	assert_int_equal(cr->apply->n_ports, 2);
	assert_string_equal(cr->apply->ports[1]->name, "port2");
	assert_int_equal(cr->apply->ports[1]->index, 255);
	assert_string_equal(cr->apply->ports[1]->peer, "r1:port2");
	assert_false(cr->apply->ports[1]->has_up);
	assert_true(cr->apply->replay);
	assert_string_equal(cr->apply->config_json, apply.config_json);
	protobuf_c_message_free_unpacked(&cr->base, NULL);

	b = pack_bytes(&pin_batch.base, &len);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__packet_in_batch__descriptor, b, len, (ProtobufCMessage **)&pb), 0);
	free(b);
	assert_int_equal(pb->n_packets, 2);
	assert_int_equal(pb->packets[0]->data.len, sizeof(pkt_data));
	assert_memory_equal(pb->packets[0]->data.data, pkt_data, sizeof(pkt_data));
	assert_int_equal(pb->packets[0]->n_metadata, 3);
	assert_int_equal(pb->packets[0]->metadata[2], 0xffffffffu);
	assert_int_equal(pb->packets[1]->data.len, 0);
	assert_int_equal(pb->packets[1]->orig_len, 60);
	protobuf_c_message_free_unpacked(&pb->base, NULL);

	b = pack_bytes(&log_batch.base, &len);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__log_batch__descriptor, b, len, (ProtobufCMessage **)&lb), 0);
	free(b);
	assert_int_equal(lb->n_records, 2);
	assert_string_equal(lb->records[0]->message, logrec.message);
	assert_int_equal(lb->records[0]->time_ns, 1700000000123456789ull);
	assert_int_equal(lb->records[0]->source, CUBEMESH__LOG_SOURCE__LOG_FASTPATH);
	assert_null(lb->records[1]->instance);
	protobuf_c_message_free_unpacked(&lb->base, NULL);

	b = pack_bytes(&crep_health.base, &len);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__cube_reply__descriptor, b, len, (ProtobufCMessage **)&cp), 0);
	free(b);
	assert_int_equal(cp->status->code, -EINVAL);
	assert_int_equal(cp->status->http_status, 400);
	assert_string_equal(cp->status->error_path, "/helloworld/hw1/action");
	assert_int_equal(cp->health->uptime_ms, UINT64_MAX);
	protobuf_c_message_free_unpacked(&cp->base, NULL);
}

/* ---- hostile input ----------------------------------------------------------- */

/* Decodes buf as desc: either refused with -EBADMSG or well-formed. Returns 1 if accepted. */
static int decode_or_refuse(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len)
{
	ProtobufCMessage *m = NULL;
	int rc = pcn_ipc_unpack(desc, buf, len, &m);

	if (rc) {
		assert_int_equal(rc, -EBADMSG);
		assert_null(m);
		return 0;
	}
	assert_well_formed(m);
	protobuf_c_message_free_unpacked(m, NULL);
	return 1;
}

static void test_truncated(void **state)
{
	for (size_t i = 0; i < N_SAMPLES; i++) {
		const ProtobufCMessage *m = samples[i].msg;
		size_t len, refused = 0;
		uint8_t *bytes = pack_bytes(m, &len);

		for (size_t cut = 0; cut < len; cut++) {
			/* A copy of exactly cut bytes, so the sanitizers see any over-read. */
			uint8_t *part = malloc(cut ? cut : 1);

			assert_non_null(part);
			memcpy(part, bytes, cut);
			if (!decode_or_refuse(m->descriptor, part, cut))
				refused++;
			free(part);
		}
		assert_true(decode_or_refuse(m->descriptor, bytes, len));
		/* Cutting into the first field always breaks something that is
		 * required or half-written. */
		if (len > 1 && refused == 0)
			fail_msg("no truncation of %s was refused", samples[i].what);
		free(bytes);
	}
}

/* xorshift32, seeded: the same "random" bytes on every run. */
static uint32_t rng_state = 0x2545f491u;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void test_garbage(void **state)
{
	uint8_t buf[512];
	size_t accepted = 0, tries = 0;

	for (size_t i = 0; i < N_SAMPLES; i++) {
		const ProtobufCMessageDescriptor *desc = samples[i].msg->descriptor;

		for (int k = 0; k < 2000; k++) {
			size_t len = rng() % sizeof(buf);
			uint8_t *copy;

			for (size_t j = 0; j < len; j++)
				buf[j] = (uint8_t)rng();
			copy = malloc(len ? len : 1);
			assert_non_null(copy);
			memcpy(copy, buf, len);
			accepted += (size_t)decode_or_refuse(desc, copy, len);
			tries++;
			free(copy);
		}
	}
	/* Uniform random bytes are almost never a message with all its required fields. */
	assert_true(accepted < tries / 10);
}

/* Valid messages with a few bytes flipped: closer to what a bug sends. */
static void test_mutated(void **state)
{
	for (size_t i = 0; i < N_SAMPLES; i++) {
		const ProtobufCMessage *m = samples[i].msg;
		size_t len;
		uint8_t *bytes = pack_bytes(m, &len);

		for (int k = 0; k < 500 && len; k++) {
			uint8_t *copy = malloc(len);

			assert_non_null(copy);
			memcpy(copy, bytes, len);
			for (int f = 0; f < 1 + k % 4; f++)
				copy[rng() % len] ^= (uint8_t)(1u << (rng() % 8));
			decode_or_refuse(m->descriptor, copy, len);
			free(copy);
		}
		free(bytes);
	}
}

static void test_request_without_body(void **state)
{
	Cubemesh__BrokerRequest empty_b = CUBEMESH__BROKER_REQUEST__INIT;
	Cubemesh__CubeRequest empty_c = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__BrokerReply reply = CUBEMESH__BROKER_REPLY__INIT;
	Cubemesh__Status ok = CUBEMESH__STATUS__INIT;
	ProtobufCMessage *m = (ProtobufCMessage *)0x1;
	/* Field 15, varint 1: a member a future version might add, unknown here. */
	const uint8_t unknown[] = { 0x78, 0x01 };
	uint8_t *b;
	size_t len;

	b = pack_bytes(&empty_b.base, &len);
	assert_int_equal(len, 0);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__broker_request__descriptor, b, len, &m), -EBADMSG);
	assert_ptr_equal(m, (ProtobufCMessage *)0x1); /* *out untouched on failure */
	free(b);
	b = pack_bytes(&empty_c.base, &len);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__cube_request__descriptor, b, len, &m), -EBADMSG);
	free(b);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__cube_request__descriptor, unknown, sizeof(unknown), &m),
			 -EBADMSG);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__broker_request__descriptor, NULL, 0, &m), -EBADMSG);

	/* A reply may carry no body: the status says it all. */
	reply.status = &ok;
	b = pack_bytes(&reply.base, &len);
	m = NULL;
	assert_int_equal(pcn_ipc_unpack(&cubemesh__broker_reply__descriptor, b, len, &m), 0);
	assert_int_equal(((Cubemesh__BrokerReply *)m)->body_case, CUBEMESH__BROKER_REPLY__BODY__NOT_SET);
	protobuf_c_message_free_unpacked(m, NULL);
	free(b);
	/* ...but not without its required status. */
	assert_int_equal(pcn_ipc_unpack(&cubemesh__broker_reply__descriptor, NULL, 0, &m), -EBADMSG);
}

static void test_bad_arguments(void **state)
{
	nng_msg *msg = NULL;
	ProtobufCMessage *m = NULL;

	assert_int_equal(pcn_ipc_pack(NULL, &msg), -EINVAL);
	assert_int_equal(pcn_ipc_pack(&health.base, NULL), -EINVAL);
	assert_int_equal(pcn_ipc_unpack(NULL, "", 0, &m), -EINVAL);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__health__descriptor, NULL, 3, &m), -EINVAL);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__health__descriptor, "", 0, NULL), -EINVAL);
}

/* ---- status, errors, URLs -------------------------------------------------- */

static void test_status(void **state)
{
	struct pcn_ipc_status_buf buf;
	Cubemesh__Status st;
	Cubemesh__Status *got = NULL;
	char long_path[1000];
	uint8_t *b;
	size_t len;

	pcn_ipc_status_set(&st, &buf, -ENOENT, 404, "invalid-value", "/router/r1/route",
			    "no route %s", "10.0.1.0/24");
	assert_int_equal(st.code, -ENOENT);
	assert_true(st.has_http_status);
	assert_int_equal(st.http_status, 404);
	assert_string_equal(st.error_tag, "invalid-value");
	assert_string_equal(st.message, "no route 10.0.1.0/24");
	assert_string_equal(pcn_ipc_status_text(&st), "no route 10.0.1.0/24");
	b = pack_bytes(&st.base, &len);
	assert_int_equal(pcn_ipc_unpack(&cubemesh__status__descriptor, b, len, (ProtobufCMessage **)&got), 0);
	assert_string_equal(got->error_path, "/router/r1/route");
	protobuf_c_message_free_unpacked(&got->base, NULL);
	free(b);

	pcn_ipc_status_set(&st, &buf, -EIO, 0, NULL, NULL, NULL);
	assert_false(st.has_http_status);
	assert_null(st.error_tag);
	assert_null(st.error_path);
	assert_null(st.message);
	assert_string_equal(pcn_ipc_status_text(&st), strerror(EIO));

	pcn_ipc_status_set(&st, &buf, 0, 0, NULL, NULL, NULL);
	assert_string_equal(pcn_ipc_status_text(&st), "OK");
	assert_string_equal(pcn_ipc_status_text(NULL), "no status");

	/* Too long: truncated into the buffer, never past it. */
	memset(long_path, 'x', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	pcn_ipc_status_set(&st, &buf, -EINVAL, 400, long_path, long_path, "%s", long_path);
	assert_int_equal(strlen(st.error_tag), sizeof(buf.tag) - 1);
	assert_int_equal(strlen(st.error_path), sizeof(buf.path) - 1);
	assert_int_equal(strlen(st.message), sizeof(buf.message) - 1);
}

static void test_errno_mapping(void **state)
{
	static const struct {
		int nng, want;
	} table[] = {
		{ 0, 0 },
		{ NNG_ENOMEM, -ENOMEM },
		{ NNG_EINVAL, -EINVAL },
		{ NNG_ETIMEDOUT, -ETIMEDOUT },
		{ NNG_ECONNREFUSED, -ECONNREFUSED },
		{ NNG_ECLOSED, -EBADF },
		{ NNG_EAGAIN, -EAGAIN },
		{ NNG_ENOTSUP, -ENOTSUP },
		{ NNG_EADDRINUSE, -EADDRINUSE },
		{ NNG_ESTATE, -EPROTO },
		{ NNG_ENOENT, -ENOENT },
		{ NNG_EPERM, -EPERM },
		{ NNG_EMSGSIZE, -EMSGSIZE },
		{ NNG_ECONNRESET, -ECONNRESET },
		{ NNG_ECANCELED, -ECANCELED },
		{ NNG_ENOFILES, -EMFILE },
		{ NNG_EPEERAUTH, -EACCES },
		{ NNG_ECONNSHUT, -ESHUTDOWN },
		{ NNG_EINTERNAL, -EIO },
		{ NNG_ESYSERR | EACCES, -EACCES },
		{ NNG_ESYSERR | ENOSPC, -ENOSPC },
		{ NNG_ETRANERR | 5, -EPROTO },
		{ 999, -EIO },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (pcn_ipc_errno(table[i].nng) != table[i].want)
			fail_msg("nng error %#x (%s) gave %d, want %d", table[i].nng, nng_strerror(table[i].nng),
				 pcn_ipc_errno(table[i].nng), table[i].want);
	/* Every nng error is an error. */
	for (int e = 1; e <= NNG_ECONNSHUT; e++)
		assert_true(pcn_ipc_errno(e) < 0);
}

static void test_url(void **state)
{
	char buf[256], tiny[8];
	char dir[200];

	assert_int_equal(pcn_ipc_url(buf, sizeof(buf), "/run/cubemesh", "broker.sock"), 0);
	assert_string_equal(buf, "ipc:///run/cubemesh/broker.sock");
	assert_int_equal(pcn_ipc_url(buf, sizeof(buf), "/run/cubemesh//", "cube-router.sock"), 0);
	assert_string_equal(buf, "ipc:///run/cubemesh/cube-router.sock");
	assert_int_equal(pcn_ipc_url(buf, sizeof(buf), "/", "x.sock"), 0);
	assert_string_equal(buf, "ipc:///x.sock");
	assert_int_equal(pcn_ipc_url(buf, sizeof(buf), "/run", ""), -EINVAL);
	assert_int_equal(pcn_ipc_url(buf, sizeof(buf), "/run", "a/b.sock"), -EINVAL);
	assert_int_equal(pcn_ipc_url(buf, sizeof(buf), NULL, "b.sock"), -EINVAL);
	assert_int_equal(pcn_ipc_url(buf, sizeof(buf), "", "b.sock"), -EINVAL);
	assert_int_equal(pcn_ipc_url(tiny, sizeof(tiny), "/run", "b.sock"), -ENAMETOOLONG);
	/* 107 characters fit in sun_path with the NUL; 108 do not. */
	memset(dir, 'd', sizeof(dir));
	dir[0] = '/';
	dir[100] = '\0';
	assert_int_equal(pcn_ipc_url(buf, sizeof(buf), dir, "123456"), 0); /* 100 + 1 + 6 */
	assert_int_equal(pcn_ipc_url(buf, sizeof(buf), dir, "1234567"), -ENAMETOOLONG);
}

/* ---- a real exchange over ipc ---------------------------------------------- */

static int peer_root_seen = -1;

static void pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	if (ev == NNG_PIPE_EV_ADD_PRE)
		peer_root_seen = pcn_ipc_peer_is_root(p);
}

static void test_ipc_exchange(void **state)
{
	char dir[] = "/tmp/pcn-ipc-test-XXXXXX", url[256], path[300];
	nng_socket rep = NNG_SOCKET_INITIALIZER, req = NNG_SOCKET_INITIALIZER;
	nng_msg *msg = NULL;
	Cubemesh__BrokerRequest *got = NULL;
	nng_pipe none = NNG_PIPE_INITIALIZER;
	int rv;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/broker.sock", dir);
	rv = pcn_ipc_url(url, sizeof(url), dir, "broker.sock");
	if (rv)
		goto out;
	if ((rv = nng_rep0_open(&rep)) || (rv = nng_req0_open(&req)))
		goto out;
	nng_pipe_notify(rep, NNG_PIPE_EV_ADD_PRE, pipe_cb, NULL);
	nng_socket_set_ms(rep, NNG_OPT_RECVTIMEO, 5000);
	nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 5000);
	if ((rv = nng_listen(rep, url, NULL, 0)) || (rv = nng_dial(req, url, NULL, 0)))
		goto out;
	if ((rv = pcn_ipc_pack(&breq_health.base, &msg)))
		goto out;
	if ((rv = nng_sendmsg(req, msg, 0))) {
		nng_msg_free(msg);
		goto out;
	}
	if ((rv = nng_recvmsg(rep, &msg, 0)))
		goto out;
	rv = pcn_ipc_unpack(&cubemesh__broker_request__descriptor, nng_msg_body(msg), nng_msg_len(msg),
			     (ProtobufCMessage **)&got);
	nng_msg_free(msg);
out:
	nng_close(req);
	nng_close(rep);
	unlink(path);
	rmdir(dir);
	if (rv > 0)
		fail_msg("nng: %s", nng_strerror(rv));
	assert_int_equal(rv, 0);
	assert_int_equal(got->body_case, CUBEMESH__BROKER_REQUEST__BODY_HEALTH);
	assert_int_equal(got->health->instances, 3);
	protobuf_c_message_free_unpacked(&got->base, NULL);
	assert_int_equal(peer_root_seen, geteuid() == 0 ? 1 : 0);
	/* A pipe that does not exist has no credentials: not root. */
	assert_int_equal(pcn_ipc_peer_is_root(none), 0);
	assert_int_equal(access(dir, F_OK), -1);
}

/* A capped socket takes a message of PCN_IPC_MAX_MSG bytes (a Register with
 * a large module, a full PacketOutBatch fit below it) and refuses a larger
 * one: nng hangs up on the sender instead of receiving it. */
static void test_recv_cap(void **state)
{
	char dir[] = "/tmp/pcn-ipc-test-XXXXXX", url[256], path[300];
	nng_socket pull = NNG_SOCKET_INITIALIZER, push = NNG_SOCKET_INITIALIZER;
	size_t cap = 0, sizes[2] = { PCN_IPC_MAX_MSG, PCN_IPC_MAX_MSG + 1 };
	int rv, got[2] = { -1, -1 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cap.sock", dir);
	assert_int_equal(pcn_ipc_url(url, sizeof(url), dir, "cap.sock"), 0);
	assert_int_equal(nng_pull0_open(&pull), 0);
	assert_int_equal(nng_push0_open(&push), 0);
	assert_int_equal(pcn_ipc_cap(pull), 0);
	assert_int_equal(nng_socket_get_size(pull, NNG_OPT_RECVMAXSZ, &cap), 0);
	assert_int_equal(cap, PCN_IPC_MAX_MSG);
	nng_socket_set_ms(pull, NNG_OPT_RECVTIMEO, 500);
	nng_socket_set_ms(push, NNG_OPT_SENDTIMEO, 2000);
	nng_socket_set_ms(push, NNG_OPT_RECONNMINT, 10);
	rv = nng_listen(pull, url, NULL, 0);
	if (!rv)
		rv = nng_dial(push, url, NULL, 0);
	for (int i = 0; i < 2 && !rv; i++) {
		nng_msg *msg = NULL;

		if ((rv = nng_msg_alloc(&msg, sizes[i])))
			break;
		memset(nng_msg_body(msg), 0x5a, sizes[i]);
		if ((rv = nng_sendmsg(push, msg, 0))) {
			nng_msg_free(msg);
			break;
		}
		got[i] = nng_recvmsg(pull, &msg, 0);
		if (got[i] == 0) {
			got[i] = nng_msg_len(msg) == sizes[i] ? 0 : -1;
			nng_msg_free(msg);
		}
	}
	nng_close(push);
	nng_close(pull);
	unlink(path);
	rmdir(dir);
	if (rv)
		fail_msg("nng: %s", nng_strerror(rv));
	assert_int_equal(got[0], 0);
	assert_int_equal(got[1], NNG_ETIMEDOUT);
	{
		nng_socket none = NNG_SOCKET_INITIALIZER;

		assert_int_equal(pcn_ipc_cap(none), -EBADF);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_round_trip_fields),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_mutated),
		cmocka_unit_test(test_request_without_body),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_errno_mapping),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_ipc_exchange),
		cmocka_unit_test(test_recv_cap),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
