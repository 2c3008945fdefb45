/* Fuzz target: every message of proto/cubemesh.proto through
 * pcn_ipc_unpack, the one function by which the broker (cubeconn.c,
 * logsink.c, slowpath_out.c) and the cube runtime (runtime.c, reload.c,
 * slowpath.c) decode what arrives on their sockets.
 *
 * Input: byte 0 picks the descriptor (modulo the number of messages), the
 * rest is the message. Beyond ASan/UBSan, for what unpack accepts: every
 * field the handlers read is walked (strings read to their NUL, bytes and
 * repeated fields to their length, sub-messages recursively), a oneof-only
 * request has a member set, and a message without unknown fields packs
 * again into bytes that unpack to the same packed form. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_pb.h"
#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const descs[] = {
#include "fuzz_ipc_descs.h"
};
#define N_DESCS (sizeof(descs) / sizeof(descs[0]))

/* Unknown fields anywhere in the message: protobuf-c keeps them as read,
 * and accepts an over-long varint tag of field 0 (0x80 0x00) that it packs
 * back as 0x00, which it then refuses: such bytes do not round-trip, and
 * no handler reads unknown fields. */
static bool has_unknown;

static void walk(const ProtobufCMessage *m, int depth);

static void walk_value(const ProtobufCFieldDescriptor *f, const void *v, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(const char *const *)v;

		if (!s)
			fz_fail("string field %s is NULL", f->name);
		fz_touch(s, strlen(s) + 1);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = v;

		if (b->len && !b->data)
			fz_fail("bytes field %s: %zu bytes at NULL", f->name, b->len);
		fz_touch(b->data, b->len);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)v;

		if (sub)
			walk(sub, depth + 1);
		break;
	}
	case PROTOBUF_C_TYPE_ENUM: {
		int e;

		memcpy(&e, v, sizeof(e));
		fz_touch(&e, sizeof(e));
		break;
	}
	default:
		break;
	}
}

static void walk(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (depth > 64)
		fz_fail("messages nested deeper than 64");
	if (m->n_unknown_fields)
		has_unknown = true;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m + f->offset;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n, sz = fz_pb_value_size(f);
			const char *arr;

			memcpy(&n, (const char *)m + f->quantifier_offset, sizeof(n));
			memcpy(&arr, base, sizeof(arr));
			if (n && !arr)
				fz_fail("repeated field %s: %zu elements at NULL", f->name, n);
			for (size_t k = 0; k < n; k++)
				walk_value(f, arr + k * sz, depth);
			continue;
		}
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t which;

			memcpy(&which, (const char *)m + f->quantifier_offset, sizeof(which));
			if (which != f->id)
				continue;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
			   f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) {
			protobuf_c_boolean has;

			memcpy(&has, (const char *)m + f->quantifier_offset, sizeof(has));
			if (!has)
				continue;
		}
		if ((f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) &&
		    f->label != PROTOBUF_C_LABEL_REQUIRED && !*(const void *const *)base)
			continue;
		walk_value(f, base, depth);
	}
}

/* True for a message made only of a oneof (BrokerRequest, CubeRequest)
 * none of whose members is set: pcn_ipc_unpack refuses those. */
static bool oneof_only_unset(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (!d->n_fields)
		return false;
	for (unsigned i = 0; i < d->n_fields; i++) {
		uint32_t which;

		if (!(d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			return false;
		memcpy(&which, (const char *)m + d->fields[i].quantifier_offset, sizeof(which));
		if (which)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *desc;
	ProtobufCMessage *m = NULL, *again = NULL;
	nng_msg *packed = NULL, *repacked = NULL;
	int rc;

	if (size < 1)
		return 0;
	desc = descs[data[0] % N_DESCS];
	rc = pcn_ipc_unpack(desc, data + 1, size - 1, &m);
	if (rc) {
		if (rc != -EBADMSG)
			fz_fail("unpack returned %d", rc);
		return 0;
	}
	if (m->descriptor != desc)
		fz_fail("unpacked a %s as a %s", m->descriptor->name, desc->name);
	if (oneof_only_unset(m))
		fz_fail("a %s with no member of its oneof set was accepted", desc->name);
	has_unknown = false;
	walk(m, 0);
	if (has_unknown)
		goto out;
	if (pcn_ipc_pack(m, &packed))
		fz_fail("an unpacked %s does not pack", desc->name);
	rc = pcn_ipc_unpack(desc, nng_msg_body(packed), nng_msg_len(packed), &again);
	if (rc)
		fz_fail("a packed %s does not unpack (%d)", desc->name, rc);
	if (pcn_ipc_pack(again, &repacked))
		fz_fail("a repacked %s does not pack", desc->name);
	if (nng_msg_len(repacked) != nng_msg_len(packed) ||
	    memcmp(nng_msg_body(repacked), nng_msg_body(packed), nng_msg_len(packed)) != 0)
		fz_fail("a %s packs differently after a round trip", desc->name);
	nng_msg_free(repacked);
	nng_msg_free(packed);
	protobuf_c_message_free_unpacked(again, NULL);
out:
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
