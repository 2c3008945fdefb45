/* Fuzz target: the broker's slow path as the kernel and the cube processes
 * feed it: records of the pcn_slowpath ring (packets up, notifications,
 * fast-path log lines, packets past the hop limit) through on_record, and
 * PacketOutBatch messages from slowpath.sock through packet_out.
 *
 * on_record and packet_out are static: this file includes slowpath.c and
 * slowpath_out.c, and stands in for what they call outside (the injector,
 * the chain resume, the log sink, the instance table) with stubs that read
 * every byte they are handed, so that a length the code got wrong is a
 * read past the input's end that ASan reports. The broker holds four
 * instances (slots 1, 2, 3, 700) of two services, with ports wired to
 * netdevs and to cubes; no service is up, so batches up are dropped and
 * counted (packing is fuzz_ipc's).
 *
 * Input: byte 0 bit 0 picks the mode. Ring mode: records, each a 16-bit
 * little-endian length then that many bytes, each copied to a buffer of
 * exactly its size (as the ring hands them). Out mode: the rest is one
 * PacketOutBatch. */
#include "../../broker/slowpath/slowpath.c"
#include "../../broker/slowpath/slowpath_out.c"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- stand-ins ----------------------------------------------------------- */

struct broker_service *broker_service_find(struct broker *b, const char *name)
{
	(void)b;
	fz_touch(name, strlen(name));
	return NULL;
}

struct broker_instance *broker_instance_find(struct broker *b, const char *name)
{
	for (struct broker_instance *i = b->instances; i; i = i->next)
		if (strcmp(i->name, name) == 0)
			return i;
	return NULL;
}

/* A token of one byte or more names a service: helloworld if its first
 * byte is odd, else simplebridge (instances c0, c2 and c1, c3). */
struct broker_instance *broker_instance_by_index(struct broker *b, uint32_t index)
{
	for (struct broker_instance *i = b->instances; i; i = i->next)
		if (i->index == index)
			return i;
	return NULL;
}

struct broker_service *broker_service_by_token(struct broker *b, const void *tok, size_t len)
{
	static struct broker_service svcs[2] = { { .name = "helloworld" }, { .name = "simplebridge" } };

	(void)b;
	if (!len)
		return NULL;
	fz_touch(tok, len);
	return &svcs[((const uint8_t *)tok)[0] & 1 ? 0 : 1];
}

void broker_forbidden_log(struct broker *b, const char *what, const char *svc, const char *instance,
			  const char *inst_svc)
{
	(void)b;
	fz_touch(what, strlen(what));
	if (svc)
		fz_touch(svc, strlen(svc));
	fz_touch(instance, strlen(instance));
	fz_touch(inst_svc, strlen(inst_svc));
}

int broker_chain_resume(struct broker *b, struct broker_inject *inj, uint32_t index, uint32_t port,
			const void *data, size_t len)
{
	(void)b;
	(void)inj;
	fz_touch(data, len);
	return index < PCN_MAX_CUBES && port < PCN_MAX_PORTS ? 0 : -EINVAL;
}

void broker_logsink_add(struct broker *b, int level, bool fastpath, const char *service, const char *cube,
			const char *message)
{
	(void)b;
	(void)fastpath;
	if (level < PCN_LOG_TRACE || level >= PCN_LOG_OFF)
		fz_fail("log line of level %d", level);
	fz_touch(service, strlen(service));
	fz_touch(cube, strlen(cube));
	fz_touch(message, strlen(message));
}

int broker_inject_create(struct broker_inject **out, const char *bpffs_root)
{
	(void)out;
	(void)bpffs_root;
	return -ENOSYS;
}

void broker_inject_destroy(struct broker_inject *inj)
{
	(void)inj;
}

int broker_inject(struct broker_inject *inj, enum pcn_hook hook, uint32_t index, uint32_t port,
		  const void *data, size_t len)
{
	(void)inj;
	(void)hook;
	if (index >= PCN_MAX_CUBES || port >= PCN_MAX_PORTS)
		fz_fail("inject into slot %u port %u", index, port);
	fz_touch(data, len);
	return 0;
}

int broker_inject_peer(struct broker_inject *inj, uint32_t index, uint32_t port, struct pcn_fwd_val *out)
{
	(void)inj;
	if (index >= PCN_MAX_CUBES || port >= PCN_MAX_PORTS)
		fz_fail("peer of slot %u port %u", index, port);
	memset(out, 0, sizeof(*out));
	switch (port % 3) {
	case 0:
		return -ENOENT;
	case 1:
		out->kind = PCN_PEER_NETDEV;
		out->ifindex = 1;
		return 0;
	default:
		out->kind = PCN_PEER_CUBE;
		out->cube_index = (index + 1) % 4;
		out->port = 1;
		return 0;
	}
}

/* ---- the broker it runs in ----------------------------------------------- */

static struct broker_slowpath *fz_sp(void)
{
	static struct broker_slowpath *sp;
	static struct broker b;
	static struct broker_instance insts[4];
	static struct broker_port ports[4][3];
	static const uint32_t slots[4] = { 1, 2, 3, 700 };

	if (sp)
		return sp;
	fz_quiet();
	b.opts.sock_dir = "/nonexistent";
	for (int i = 0; i < 4; i++) {
		struct broker_instance *in = &insts[i];

		snprintf(in->name, sizeof(in->name), "c%d", i);
		snprintf(in->service, sizeof(in->service), "%s", i % 2 ? "simplebridge" : "helloworld");
		in->index = slots[i];
		in->hook = (enum pcn_hook)(i % 3);
		for (int k = 0; k < 3; k++) {
			snprintf(ports[i][k].name, sizeof(ports[i][k].name), "p%d", k);
			ports[i][k].index = (uint32_t)k;
			ports[i][k].ifindex = k == 0 ? 1 : 0;
		}
		in->ports = ports[i];
		in->n_ports = 3;
		in->next = i < 3 ? &insts[i + 1] : NULL;
	}
	b.instances = &insts[0];
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		fz_fail("out of memory");
	sp->b = &b;
	sp->pkt_fd = -1; /* sendmmsg fails: the frames out are counted as errors */
	sp->inj = (struct broker_inject *)&b;
	b.slowpath = sp;
	return sp;
}

static void ring_mode(struct broker_slowpath *sp, const uint8_t *p, size_t n)
{
	sp->turn_records = 0;
	while (n >= 2) {
		size_t len = (size_t)p[0] | (size_t)p[1] << 8;
		uint8_t *rec;

		p += 2;
		n -= 2;
		if (len > n)
			len = n;
		rec = malloc(len ? len : 1);
		if (!rec)
			return;
		memcpy(rec, p, len);
		on_record(sp, rec, len);
		free(rec);
		p += len;
		n -= len;
	}
	flush_all(sp);
}

static void out_mode(struct broker_slowpath *sp, const uint8_t *p, size_t n)
{
	Cubemesh__PacketOutBatch *batch = NULL;
	const struct broker_service *from;

	if (pcn_ipc_unpack(&cubemesh__packet_out_batch__descriptor, p, n, (ProtobufCMessage **)&batch))
		return;
	/* As broker__sp_on_pull does once it has the message. */
	from = broker_service_by_token(sp->b, batch->token.data, batch->has_token ? batch->token.len : 0);
	if (batch->has_out_lost)
		report_proc(sp, from, batch);
	for (size_t i = 0; i < batch->n_packets; i++)
		packet_out(sp, from, batch->packets[i]);
	flush_netdev(sp);
	protobuf_c_message_free_unpacked(&batch->base, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct broker_slowpath *sp = fz_sp();

	if (size < 1)
		return 0;
	if (data[0] & 1)
		out_mode(sp, data + 1, size - 1);
	else
		ring_mode(sp, data + 1, size - 1);
	return 0;
}
