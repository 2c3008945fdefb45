/* protobuf-c layout facts shared by fuzz_ipc (which walks what unpack
 * made) and seedgen (which fills messages to pack as seeds). Header only:
 * seedgen does not link the fuzz targets' library. */
#ifndef CUBEMESH_FUZZ_PB_H
#define CUBEMESH_FUZZ_PB_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* The size of one element of a repeated field f in its array. */
static inline size_t fz_pb_value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

#endif
