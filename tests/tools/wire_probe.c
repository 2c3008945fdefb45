/* wire_probe: speaks to a broker's socket the way a broken or foreign cube
 * process would, for the integration tests.
 *
 *   wire_probe version URL N     Register with protocol version N; prints the
 *                                broker's status; exit 0 when refused
 *   wire_probe garbage URL SEED  sends 200 malformed requests (truncated,
 *                                random); exit 0 when each got an error reply
 *   wire_probe flood-req URL MIB  speaks nng's ipc framing by hand, as REQ,
 *   wire_probe flood-push URL MIB or as PUSH: announces a 512 MiB message and
 *                                streams up to MIB MiB of it; prints how many
 *                                bytes the peer took before it hung up. A
 *                                socket with a receive cap hangs up at once;
 *                                one without buffers all of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "cubemesh.pb-c.h"
#include "wire.h"

static int roundtrip(nng_socket s, const void *buf, size_t len, Cubemesh__BrokerReply **out)
{
	nng_msg *msg = NULL;
	int rv;

	if ((rv = nng_msg_alloc(&msg, 0)) || (rv = nng_msg_append(msg, buf, len)))
		return rv;
	if ((rv = nng_sendmsg(s, msg, 0))) {
		nng_msg_free(msg);
		return rv;
	}
	if ((rv = nng_recvmsg(s, &msg, 0)))
		return rv;
	rv = pcn_wire_unpack(&cubemesh__broker_reply__descriptor, nng_msg_body(msg), nng_msg_len(msg),
			     (ProtobufCMessage **)out);
	nng_msg_free(msg);
	return rv;
}

static int probe_version(nng_socket s, unsigned version)
{
	Cubemesh__BrokerRequest req = CUBEMESH__BROKER_REQUEST__INIT;
	Cubemesh__Register reg = CUBEMESH__REGISTER__INIT;
	Cubemesh__BrokerReply *rep = NULL;
	uint8_t buf[4096];
	size_t len;
	int rv, refused;

	reg.protocol_version = version;
	reg.service_name = "probe";
	reg.version = "0.0.1";
	reg.kind = CUBEMESH__KIND__KIND_STANDARD;
	reg.yang_module_name = "probe";
	reg.yang_module = "module probe { namespace urn:probe; prefix p; }";
	reg.endpoint = "ipc:///nonexistent";
	req.body_case = CUBEMESH__BROKER_REQUEST__BODY_REGISTER;
	req.register_ = &reg;
	len = cubemesh__broker_request__pack(&req, buf);
	rv = roundtrip(s, buf, len, &rep);
	if (rv) {
		fprintf(stderr, "wire_probe: no reply: %d\n", rv);
		return 2;
	}
	printf("status %d: %s\n", rep->status->code, rep->status->message ? rep->status->message : "");
	refused = rep->status->code != 0;
	protobuf_c_message_free_unpacked((ProtobufCMessage *)rep, NULL);
	return refused ? 0 : 1;
}

static int probe_garbage(nng_socket s, unsigned seed)
{
	Cubemesh__BrokerRequest req = CUBEMESH__BROKER_REQUEST__INIT;
	Cubemesh__Health h = CUBEMESH__HEALTH__INIT;
	uint8_t good[64], buf[512];
	size_t glen;
	int bad = 0;

	req.body_case = CUBEMESH__BROKER_REQUEST__BODY_HEALTH;
	req.health = &h;
	glen = cubemesh__broker_request__pack(&req, good);
	srand(seed);
	for (int i = 0; i < 200; i++) {
		Cubemesh__BrokerReply *rep = NULL;
		size_t len;

		if (i < 50) {
			/* Random bytes behind a plausible first tag. */
			len = 1 + (size_t)(rand() % (int)sizeof(buf));
			for (size_t k = 0; k < len; k++)
				buf[k] = (uint8_t)rand();
			buf[0] = 0x0a;
		} else if (i < 100) {
			len = (size_t)(rand() % (int)sizeof(buf));
			for (size_t k = 0; k < len; k++)
				buf[k] = (uint8_t)rand();
		} else {
			/* An empty request, and claims of long fields that end early. */
			len = 2;
			buf[0] = (uint8_t)(0x08 | (rand() & 0x78));
			buf[1] = 0xff;
		}
		if (roundtrip(s, buf, len, &rep)) {
			fprintf(stderr, "wire_probe: request %d got no reply\n", i);
			return 1;
		}
		if (rep->status->code == 0 && rep->body_case != CUBEMESH__BROKER_REPLY__BODY_HEALTH)
			bad++;
		protobuf_c_message_free_unpacked((ProtobufCMessage *)rep, NULL);
	}
	/* And a good request still works afterwards. */
	{
		Cubemesh__BrokerReply *rep = NULL;

		if (roundtrip(s, good, glen, &rep) || rep->status->code != 0) {
			fprintf(stderr, "wire_probe: a good request failed after the garbage\n");
			return 1;
		}
		protobuf_c_message_free_unpacked((ProtobufCMessage *)rep, NULL);
	}
	printf("200 malformed requests answered; %d accepted as something valid\n", bad);
	return bad ? 1 : 0;
}

/* nng's ipc transport by hand (nng/src/sp/transport/ipc): both ends send
 * "\0SP\0" + their protocol number (16 bits) + two zero bytes, then each
 * message is a 0x01 byte, its length (64 bits, big endian) and the bytes. */
static int probe_flood(const char *url, uint16_t proto, unsigned mib)
{
	static uint8_t chunk[1 << 16];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint8_t hello[8] = { 0, 'S', 'P', 0, (uint8_t)(proto >> 8), (uint8_t)proto, 0, 0 }, peer[8];
	uint64_t announce = 512ull << 20, sent = 0, limit = (uint64_t)mib << 20;
	uint8_t head[9] = { 1 };
	int fd;

	if (strncmp(url, "ipc://", 6) != 0 || strlen(url + 6) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "wire_probe: %s: not an ipc url\n", url);
		return 2;
	}
	strcpy(sun.sun_path, url + 6);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		perror("wire_probe: connect");
		return 2;
	}
	if (write(fd, hello, sizeof(hello)) != (ssize_t)sizeof(hello) ||
	    recv(fd, peer, sizeof(peer), MSG_WAITALL) != (ssize_t)sizeof(peer)) {
		fprintf(stderr, "wire_probe: no SP handshake from %s\n", url);
		close(fd);
		return 2;
	}
	for (int i = 0; i < 8; i++)
		head[1 + i] = (uint8_t)(announce >> (56 - 8 * i));
	memset(chunk, 0x5a, sizeof(chunk));
	if (send(fd, head, sizeof(head), MSG_NOSIGNAL) == (ssize_t)sizeof(head)) {
		struct timeval tv = { .tv_sec = 2 };

		/* A peer that hangs up makes a send fail; one that stops
		 * reading makes it time out: both end the stream. */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		while (sent < limit) {
			ssize_t n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);

			if (n <= 0)
				break;
			sent += (uint64_t)n;
		}
	}
	printf("sent %llu bytes of a 512 MiB message\n", (unsigned long long)sent);
	/* Hold the connection a moment: the peer keeps what it buffered while
	 * it is open, so its peak memory shows it. */
	usleep(300 * 1000);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	nng_socket s;
	int rv;

	if (argc == 4 && strcmp(argv[1], "flood-req") == 0)
		return probe_flood(argv[2], 0x30, (unsigned)atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "flood-push") == 0)
		return probe_flood(argv[2], 0x50, (unsigned)atoi(argv[3]));
	if (argc != 4 || (strcmp(argv[1], "version") && strcmp(argv[1], "garbage"))) {
		fprintf(stderr, "usage: wire_probe version|garbage|flood-req|flood-push URL N\n");
		return 2;
	}
	if ((rv = nng_req0_open(&s)) || (rv = nng_dial(s, argv[2], NULL, 0))) {
		fprintf(stderr, "wire_probe: cannot reach %s: %s\n", argv[2], nng_strerror(rv));
		return 2;
	}
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	rv = strcmp(argv[1], "version") == 0 ? probe_version(s, (unsigned)atoi(argv[3]))
					     : probe_garbage(s, (unsigned)atoi(argv[3]));
	nng_close(s);
	return rv;
}
