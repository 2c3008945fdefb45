/* Helpers for the messages between pcn-broker and the cube processes. */
#include "ipc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

int pcn_ipc_pack(const ProtobufCMessage *m, nng_msg **out)
{
	nng_msg *msg = NULL;
	size_t len;

	if (!m || !out)
		return -EINVAL;
	len = protobuf_c_message_get_packed_size(m);
	if (nng_msg_alloc(&msg, len))
		return -ENOMEM;
	/* nng_msg_alloc gives a body of exactly len bytes. */
	protobuf_c_message_pack(m, nng_msg_body(msg));
	*out = msg;
	return 0;
}

/* True if every field of desc belongs to a oneof: such a message carries
 * its whole meaning in which member is set. */
static int only_oneof(const ProtobufCMessageDescriptor *desc)
{
	if (desc->n_fields == 0)
		return 0;
	for (unsigned i = 0; i < desc->n_fields; i++)
		if (!(desc->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			return 0;
	return 1;
}

/* True if some oneof of m has a member set (its case word is non-zero). */
static int oneof_set(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		uint32_t which;

		if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			continue;
		memcpy(&which, (const char *)m + f->quantifier_offset, sizeof(which));
		if (which != 0)
			return 1;
	}
	return 0;
}

int pcn_ipc_unpack(const ProtobufCMessageDescriptor *desc, const void *buf, size_t len,
		    ProtobufCMessage **out)
{
	ProtobufCMessage *m;

	if (!desc || !out || (!buf && len))
		return -EINVAL;
	/* protobuf-c reads nothing when len is 0, but wants a pointer anyway. */
	m = protobuf_c_message_unpack(desc, NULL, len, buf ? buf : (const void *)"");
	if (!m)
		return -EBADMSG;
	if (only_oneof(desc) && !oneof_set(m)) {
		protobuf_c_message_free_unpacked(m, NULL);
		return -EBADMSG;
	}
	*out = m;
	return 0;
}

static const char *copy_str(char *dst, size_t n, const char *src)
{
	if (!src)
		return NULL;
	snprintf(dst, n, "%s", src);
	return dst;
}

void pcn_ipc_status_set(Cubemesh__Status *st, struct pcn_ipc_status_buf *buf, int code, uint32_t http,
			 const char *tag, const char *path, const char *fmt, ...)
{
	va_list ap;

	cubemesh__status__init(st);
	st->code = code;
	if (http) {
		st->has_http_status = 1;
		st->http_status = http;
	}
	/* protobuf-c declares these char *, but never writes through them when packing. */
	st->error_tag = (char *)copy_str(buf->tag, sizeof(buf->tag), tag);
	st->error_path = (char *)copy_str(buf->path, sizeof(buf->path), path);
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(buf->message, sizeof(buf->message), fmt, ap);
		va_end(ap);
		st->message = buf->message;
	}
}

const char *pcn_ipc_status_text(const Cubemesh__Status *st)
{
	if (!st)
		return "no status";
	if (st->message && st->message[0])
		return st->message;
	if (st->code)
		return strerror(st->code < 0 ? -st->code : st->code);
	return "OK";
}

int pcn_ipc_errno(int nng_err)
{
	if (nng_err == 0)
		return 0;
	if (nng_err & NNG_ESYSERR) {
		int e = nng_err & ~NNG_ESYSERR;

		return e > 0 ? -e : -EIO;
	}
	if (nng_err & NNG_ETRANERR)
		return -EPROTO;
	switch (nng_err) {
	case NNG_EINTR: return -EINTR;
	case NNG_ENOMEM: return -ENOMEM;
	case NNG_EINVAL: return -EINVAL;
	case NNG_EBUSY: return -EBUSY;
	case NNG_ETIMEDOUT: return -ETIMEDOUT;
	case NNG_ECONNREFUSED: return -ECONNREFUSED;
	/* The socket, context or aio was closed under the call. */
	case NNG_ECLOSED: return -EBADF;
	case NNG_EAGAIN: return -EAGAIN;
	case NNG_ENOTSUP: return -ENOTSUP;
	case NNG_EADDRINUSE: return -EADDRINUSE;
	/* Wrong order for the protocol, e.g. a REP sending before it received. */
	case NNG_ESTATE: return -EPROTO;
	case NNG_ENOENT: return -ENOENT;
	case NNG_EPROTO: return -EPROTO;
	case NNG_EUNREACHABLE: return -EHOSTUNREACH;
	case NNG_EADDRINVAL: return -EADDRNOTAVAIL;
	case NNG_EPERM: return -EPERM;
	case NNG_EMSGSIZE: return -EMSGSIZE;
	case NNG_ECONNABORTED: return -ECONNABORTED;
	case NNG_ECONNRESET: return -ECONNRESET;
	case NNG_ECANCELED: return -ECANCELED;
	case NNG_ENOFILES: return -EMFILE;
	case NNG_ENOSPC: return -ENOSPC;
	case NNG_EEXIST: return -EEXIST;
	case NNG_EREADONLY: return -EROFS;
	case NNG_EWRITEONLY: return -EBADF;
	case NNG_ECRYPTO: return -EBADMSG;
	case NNG_EPEERAUTH: return -EACCES;
	/* Option misuse: a missing, ambiguous or wrongly typed argument. */
	case NNG_ENOARG:
	case NNG_EAMBIGUOUS:
	case NNG_EBADTYPE: return -EINVAL;
	case NNG_ECONNSHUT: return -ESHUTDOWN;
	default: return -EIO;
	}
}

int pcn_ipc_url(char *buf, size_t n, const char *sock_dir, const char *name)
{
	struct sockaddr_un sun;
	size_t dlen;
	int len;

	if (!buf || !sock_dir || !sock_dir[0] || !name || !name[0] || strchr(name, '/'))
		return -EINVAL;
	/* "/run/cubemesh/" and "/run/cubemesh" name the same place; "/" becomes "". */
	dlen = strlen(sock_dir);
	while (dlen > 0 && sock_dir[dlen - 1] == '/')
		dlen--;
	/* The path and its NUL must fit in sun_path. */
	if (dlen + 1 + strlen(name) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	len = snprintf(buf, n, "ipc://%.*s/%s", (int)dlen, sock_dir, name);
	if (len < 0 || (size_t)len >= n)
		return -ENAMETOOLONG;
	return 0;
}

int pcn_ipc_peer_is_root(nng_pipe p)
{
	uint64_t uid;

	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid))
		return 0;
	return uid == 0;
}

int pcn_ipc_cap(nng_socket s)
{
	/* nng reads the 64-bit length of an ipc frame first and, without a
	 * cap, allocates and fills whatever it announces. */
	return pcn_ipc_errno(nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, PCN_IPC_MAX_MSG));
}
