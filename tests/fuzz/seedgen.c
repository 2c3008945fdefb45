/* Writes the seed inputs of the fuzz targets that are not plain text
 * (tests/fuzz/seeds.sh runs it; the corpora are committed):
 *
 *   seedgen wire DIR      one packed message of every type of
 *                         proto/cubemesh.proto, every field set, and one
 *                         per member of a oneof (fuzz_ipc's input: the
 *                         descriptor's index, then the message)
 *   seedgen slowpath DIR  ring records (packet, notification, log line,
 *                         resume, bad kinds) and PacketOutBatch messages
 *                         (fuzz_slowpath's two modes)
 *   seedgen pcnctl DIR_PCNCTL DIR_TARGET DIR_CONFIG
 *                         pcnctl command lines read from stdin, one a line
 *                         (words split on blanks, quotes removed), written
 *                         as fuzz_pcnctl's input and, through pcnctl's own
 *                         translation, as the REST path (fuzz_target) and
 *                         the method, path and body (fuzz_config) they make
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "fuzz_pb.h"
#include "pcn_chain_kern_user.h"
#include "pcn_kern_user.h"
#include "ipc.h"

static const ProtobufCMessageDescriptor *const descs[] = {
#include "fuzz_ipc_descs.h"
};
#define N_DESCS (sizeof(descs) / sizeof(descs[0]))

static int n_written;

static void write_seed(const char *dir, const char *prefix, const void *a, size_t alen, const void *b,
		       size_t blen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%04d", dir, prefix, n_written++);
	f = fopen(path, "wb");
	if (!f || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen)) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

/* ---- every message, every field ------------------------------------------ */

/* What the filled messages point to, freed at the end. */
static void *arena[65536];
static size_t n_arena;

static void *alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p || n_arena == sizeof(arena) / sizeof(arena[0])) {
		fputs("seedgen: out of memory\n", stderr);
		exit(1);
	}
	arena[n_arena++] = p;
	return p;
}

static const uint8_t frame[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06 };

static ProtobufCMessage *fill(const ProtobufCMessageDescriptor *d, int depth, int oneof_pick);

static void set_value(const ProtobufCFieldDescriptor *f, void *v, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		*(const char **)v = strstr(f->name, "module") ? "module helloworld { yang-version 1.1; }" :
				    strstr(f->name, "json") || strstr(f->name, "config") ?
										  "{\"helloworld:helloworld\":[{\"name\":\"hw1\"}]}" :
				    strstr(f->name, "service") ? "helloworld" : "hw1";
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = v;

		b->data = (uint8_t *)frame;
		b->len = sizeof(frame);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		*(ProtobufCMessage **)v = depth < 3 ? fill(f->descriptor, depth + 1, 0) : NULL;
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *e = f->descriptor;
		int val = e->n_values > 1 ? e->values[1].value : e->values[0].value;

		memcpy(v, &val, sizeof(val));
		break;
	}
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)v = 1;
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*(uint64_t *)v = 3;
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		*(double *)v = 1.5;
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		*(float *)v = 1.5f;
		break;
	default:
		*(uint32_t *)v = 1;
		break;
	}
}

/* A message of type d with every field set; of the fields of a oneof,
 * only the oneof_pick-th (counted over all oneof fields). */
static ProtobufCMessage *fill(const ProtobufCMessageDescriptor *d, int depth, int oneof_pick)
{
	ProtobufCMessage *m = alloc(d->sizeof_message);
	int k = 0;

	protobuf_c_message_init(d, m);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *base = (char *)m + f->offset;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (k++ != oneof_pick)
				continue;
			memcpy((char *)m + f->quantifier_offset, &f->id, sizeof(uint32_t));
			set_value(f, base, depth);
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = 2;
			char *arr = alloc(n * fz_pb_value_size(f));

			for (size_t j = 0; j < n; j++)
				set_value(f, arr + j * fz_pb_value_size(f), depth);
			memcpy((char *)m + f->quantifier_offset, &n, sizeof(n));
			memcpy(base, &arr, sizeof(arr));
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
		    f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
			*(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
		set_value(f, base, depth);
	}
	return m;
}

static int n_oneof_fields(const ProtobufCMessageDescriptor *d)
{
	int n = 0;

	for (unsigned i = 0; i < d->n_fields; i++)
		if (d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			n++;
	return n;
}

static void write_msg(const char *dir, const char *prefix, uint8_t lead, const ProtobufCMessage *m)
{
	nng_msg *msg;

	if (pcn_ipc_pack(m, &msg)) {
		fputs("seedgen: pack failed\n", stderr);
		exit(1);
	}
	write_seed(dir, prefix, &lead, 1, nng_msg_body(msg), nng_msg_len(msg));
	nng_msg_free(msg);
}

static void gen_wire(const char *dir)
{
	for (size_t i = 0; i < N_DESCS; i++) {
		int n = n_oneof_fields(descs[i]);

		for (int k = 0; k < (n ? n : 1); k++)
			write_msg(dir, "wire", (uint8_t)i, fill(descs[i], 0, k));
		/* The empty message too: required fields missing, refused. */
		write_seed(dir, "wire", &(uint8_t){ (uint8_t)i }, 1, NULL, 0);
	}
}

/* ---- the slow path ----------------------------------------------------- */

static size_t put_rec(uint8_t *buf, size_t o, uint32_t kind, uint32_t index, uint32_t port, uint32_t reason,
		      const void *data, uint32_t len, uint32_t cap)
{
	struct pcn_slowpath_hdr h = { .kind = kind, .cube_index = index, .port = port, .reason = reason,
				      .md = { 7, 8, 9 }, .orig_len = len, .cap_len = cap };
	size_t n = sizeof(h) + len;

	buf[o] = (uint8_t)n;
	buf[o + 1] = (uint8_t)(n >> 8);
	memcpy(buf + o + 2, &h, sizeof(h));
	if (len)
		memcpy(buf + o + 2 + sizeof(h), data, len);
	return o + 2 + n;
}

static void gen_slowpath(const char *dir)
{
	static const char text[] = "hw1: packet of 64 bytes on port 0";
	uint8_t buf[4096];
	size_t o;

	/* Ring mode (byte 0 even). */
	buf[0] = 0;
	o = put_rec(buf, 1, PCN_SP_PACKET, 1, 0, 0, frame, sizeof(frame), sizeof(frame));
	write_seed(dir, "ring", buf, o, NULL, 0);
	o = put_rec(buf, 1, PCN_SP_NOTIFY, 2, 1, 3, NULL, 0, 0);
	write_seed(dir, "ring", buf, o, NULL, 0);
	o = put_rec(buf, 1, PCN_SP_LOG, 3, 0, 2, text, sizeof(text), sizeof(text));
	write_seed(dir, "ring", buf, o, NULL, 0);
	o = put_rec(buf, 1, PCN_SP_RESUME, 700, 1, 0, frame, sizeof(frame), sizeof(frame));
	write_seed(dir, "ring", buf, o, NULL, 0);
	o = put_rec(buf, 1, 9, 1, 0, 0, frame, 16, 16);
	write_seed(dir, "ring", buf, o, NULL, 0);
	/* One of each in a row, and a packet for a slot nobody holds. */
	o = put_rec(buf, 1, PCN_SP_PACKET, 1, 0, 0, frame, sizeof(frame), sizeof(frame));
	o = put_rec(buf, o, PCN_SP_PACKET, 2, 1, 1, frame, sizeof(frame), sizeof(frame));
	o = put_rec(buf, o, PCN_SP_NOTIFY, 700, 2, 0, NULL, 0, 0);
	o = put_rec(buf, o, PCN_SP_LOG, 1, 0, 4, text, sizeof(text), sizeof(text));
	o = put_rec(buf, o, PCN_SP_PACKET, 5, 0, 0, frame, sizeof(frame), sizeof(frame));
	write_seed(dir, "ring", buf, o, NULL, 0);

	/* Out mode (byte 0 odd): packets into and out of each instance. */
	{
		static const char *const names[] = { "c0", "c1", "c2", "c3", "nobody" };
		Cubemesh__PacketOut pos[10], *ptrs[10];
		Cubemesh__PacketOutBatch batch = CUBEMESH__PACKET_OUT_BATCH__INIT;

		for (int i = 0; i < 10; i++) {
			cubemesh__packet_out__init(&pos[i]);
			pos[i].instance = (char *)names[i % 5];
			pos[i].port = (uint32_t)(i % 3);
			pos[i].direction = i % 2 ? CUBEMESH__DIRECTION__DIR_EGRESS : CUBEMESH__DIRECTION__DIR_INGRESS;
			pos[i].data.data = (uint8_t *)frame;
			pos[i].data.len = i == 9 ? 10 : sizeof(frame);
			ptrs[i] = &pos[i];
		}
		for (int i = 0; i < 10; i++) {
			batch.n_packets = 1;
			batch.packets = &ptrs[i];
			write_msg(dir, "out", 1, &batch.base);
		}
		batch.n_packets = 10;
		batch.packets = ptrs;
		batch.has_out_lost = 1;
		batch.out_lost = 5;
		batch.service = "helloworld";
		batch.has_pid = 1;
		batch.pid = 1234;
		write_msg(dir, "out", 1, &batch.base);
	}
}

/* ---- pcnctl command lines --------------------------------------------- */

static int split_words(char *line, char **w, int max)
{
	int n = 0;
	char *p = line;

	while (*p && n < max) {
		char *o;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		w[n++] = o = p;
		while (*p && *p != ' ' && *p != '\t') {
			char q = *p;

			if (q == '\'' || q == '"') {
				p++;
				while (*p && *p != q)
					*o++ = *p++;
				if (*p)
					p++;
			} else {
				*o++ = *p++;
			}
		}
		if (*p)
			p++;
		*o = '\0';
	}
	return n;
}

static const char *const services[] = { "helloworld", "simplebridge", "simpleforwarder", "ddosmitigator",
				       "transparenthelloworld", "router-test" };

/* fuzz_config's input for req on path: the method, the path, the body; a
 * write below an instance has the instance made first. */
static void write_config(const char *dir, const struct pcnctl_request *req, const char *path)
{
	uint8_t m = !strcmp(req->method, "POST")   ? 0 :
		    !strcmp(req->method, "PATCH")  ? 2 :
		    !strcmp(req->method, "DELETE") ? 3 :
						     4;
	const char *second = strchr(path + 1, '/');
	char cfg[8192];
	int len;

	if (!(m == 0 && second && (!strchr(second + 1, '/') || !strchr(second + 1, '/')[1])))
		m |= 8;
	if (m & 8)
		len = snprintf(cfg, sizeof(cfg), "%c%s\n{}\n%s", m, path, req->body ? req->body : "");
	else
		len = snprintf(cfg, sizeof(cfg), "%c%s\n%s", m, path, req->body ? req->body : "");
	if (len > 0 && (size_t)len < sizeof(cfg))
		write_seed(dir, "req", cfg, (size_t)len, NULL, 0);
}

static void gen_pcnctl(const char *dpcnctl, const char *dtarget, const char *dconfig)
{
	char line[4096], *w[64], err[256];

	while (fgets(line, sizeof(line), stdin)) {
		struct pcnctl_request *req = NULL;
		char joined[4096], path[4096];
		size_t o = 0;
		int n;

		line[strcspn(line, "\n")] = '\0';
		n = split_words(line, w, 64);
		if (n < 2 || strcmp(w[0], "pcnctl") != 0)
			continue;
		for (int i = 1; i < n; i++) {
			size_t l = strlen(w[i]) + 1;

			if (o + l > sizeof(joined))
				break;
			memcpy(joined + o, w[i], l);
			o += l;
		}
		write_seed(dpcnctl, "cmd", joined, o ? o - 1 : 0, NULL, 0);
		if (pcnctl_request_create(&req, n - 1, w + 1, err, sizeof(err)) || req->local_help)
			goto next;
		for (size_t k = 0; k < sizeof(services) / sizeof(services[0]); k++) {
			size_t l = strcspn(req->path, "/");
			bool named = false;

			/* The broker takes "hw1/..." for "<its service>/hw1/..."
			 * (api_cube.c); the models see the service first. */
			for (size_t j = 0; j < sizeof(services) / sizeof(services[0]); j++)
				named |= strlen(services[j]) == l && !strncmp(req->path, services[j], l);
			if (named && k)
				break;
			if (named)
				snprintf(path, sizeof(path), "/%s", req->path);
			else
				snprintf(path, sizeof(path), "/%s/%s", services[k], req->path);
			path[strcspn(path, "?")] = '\0';
			write_seed(dtarget, "path", path, strlen(path), NULL, 0);
			write_config(dconfig, req, path);
		}
next:
		pcnctl_request_destroy(req);
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "wire"))
		gen_wire(argv[2]);
	else if (argc == 3 && !strcmp(argv[1], "slowpath"))
		gen_slowpath(argv[2]);
	else if (argc == 5 && !strcmp(argv[1], "pcnctl"))
		gen_pcnctl(argv[2], argv[3], argv[4]);
	else {
		fputs("usage: seedgen wire DIR | slowpath DIR | pcnctl DIR_PCNCTL DIR_TARGET DIR_CONFIG\n", stderr);
		return 2;
	}
	while (n_arena)
		free(arena[--n_arena]);
	printf("%d seeds\n", n_written);
	return 0;
}
