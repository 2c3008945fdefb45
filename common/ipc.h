/* Helpers for the messages between pcn-broker and the cube processes.
 *
 * Every process speaks proto/cubemesh.proto over nng; these functions are the
 * one place where protobuf-c and nng meet, and where their errors become
 * negative errnos (converted once, at the boundary).
 */
#ifndef CUBEMESH_IPC_H
#define CUBEMESH_IPC_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <protobuf-c/protobuf-c.h>

#include "cubemesh.pb-c.h"

/* Bumped on any incompatible change to proto/cubemesh.proto; the broker
 * refuses a Register carrying another version. */
/* 2: ProgramInstall and PacketOutBatch carry the token of the Register
 * (a cube of version 1 would register, then be refused everything). */
#define PCN_PROTOCOL_VERSION 2

/* The largest message any socket of the mesh accepts (NNG_OPT_RECVMAXSZ on
 * every nng socket, both sides); a peer that announces more is hung up on
 * before anything is allocated. The largest legitimate ones: a Register
 * carries a YANG module (tens of KiB); a PacketInBatch 256 snaps of 1514
 * bytes (~400 KiB); a PacketOutBatch 256 frames of 9000 (~2.3 MiB); and a
 * ReadReply the state of a whole instance: a ddosmitigator with both its
 * 65536-entry blacklists full and their counters is ~5.7 MiB of JSON. */
#define PCN_IPC_MAX_MSG (16u << 20)

/* Sets NNG_OPT_RECVMAXSZ to PCN_IPC_MAX_MSG on s; call it on every socket
 * before it listens or dials. Returns 0 or a negative errno. */
int pcn_ipc_cap(nng_socket s);

/* Packs m into a new nng_msg (*out, set only on success; the caller sends or
 * frees it). Returns 0 or -ENOMEM. */
int pcn_ipc_pack(const ProtobufCMessage *m, nng_msg **out);

/* Unpacks buf[0..len) as a message of type desc into *out (set only on
 * success; free it with protobuf_c_message_free_unpacked(*out, NULL)).
 * Returns -EBADMSG when protobuf-c refuses the bytes (truncated, garbage,
 * required field missing) and also when the message is nothing but a oneof
 * (BrokerRequest, CubeRequest) and no member of it is set: such a request
 * says nothing, and every handler would otherwise need its own check.
 * -EINVAL on NULL arguments. */
int pcn_ipc_unpack(const ProtobufCMessageDescriptor *desc, const void *buf, size_t len,
		    ProtobufCMessage **out);

/* Storage for the strings a Cubemesh__Status points to, owned by the caller
 * (usually on the stack next to the reply being built), so a status needs no
 * freeing: it lives as long as the buffer. */
struct pcn_ipc_status_buf {
	char tag[64];
	char path[256];
	char message[512];
};

/* Initializes st and fills it: code is 0 or a negative errno; http (0: none)
 * is the status the user should see as-is; tag, path (either may be NULL)
 * and the printf-style message (fmt NULL: none) are copied into buf,
 * truncated if longer, and st points into buf. Nothing to free. */
void pcn_ipc_status_set(Cubemesh__Status *st, struct pcn_ipc_status_buf *buf, int code, uint32_t http,
			 const char *tag, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* The text to show for st: its message, else strerror(-code), else "OK". */
const char *pcn_ipc_status_text(const Cubemesh__Status *st);

/* Returns the negative errno closest to an nng error (0 stays 0). Errors
 * nng got from the system (NNG_ESYSERR) give back that errno; transport
 * errors and unknown codes give -EPROTO and -EIO. */
int pcn_ipc_errno(int nng_err);

/* Writes the nng URL of the socket `name` in sock_dir into buf:
 * ("/run/cubemesh", "broker.sock") -> "ipc:///run/cubemesh/broker.sock".
 * Returns 0, -EINVAL (empty sock_dir or name, or a name holding '/'), or -ENAMETOOLONG
 * when buf is too small or the path would not fit in a unix socket address
 * (nng would only fail later, at listen or dial, with a vaguer error). */
int pcn_ipc_url(char *buf, size_t n, const char *sock_dir, const char *name);

/* Returns 1 if the process at the other end of pipe p runs as root, 0
 * otherwise, including when the credentials cannot be read (not ipc). */
int pcn_ipc_peer_is_root(nng_pipe p);

#endif
