/* ipc_probe: speaks to a broker's socket the way a broken or foreign cube
 * process would, for the integration tests.
 *
 *   ipc_probe version URL N     Register with protocol version N; prints the
 *                                broker's status; exit 0 when refused. The
 *                                service (and module) name is PROBE_NAME,
 *                                "probe" when unset
 *   ipc_probe garbage URL SEED  sends 200 malformed requests (truncated,
 *                                random); exit 0 when each got an error reply
 *   ipc_probe flood-req URL MIB  speaks nng's ipc framing by hand, as REQ,
 *   ipc_probe flood-push URL MIB or as PUSH: announces a 512 MiB message and
 *                                streams up to MIB MiB of it; prints how many
 *                                bytes the peer took before it hung up. A
 *                                socket with a receive cap hangs up at once;
 *                                one without buffers all of it.
 *
 * A cube process acting on another service's instances (docker-compose
 * shares the socket directory with every container), SOCKDIR holding
 * broker.sock and slowpath.sock; SERVICE "-" registers as nobody, else the
 * probe registers as SERVICE with the module in YANG (its token is what a
 * compromised process of that service would hold):
 *   ipc_probe install SOCKDIR SERVICE YANG INSTANCE PIN
 *                                asks the broker to put the program pinned
 *                                at PIN into INSTANCE's slot; prints the
 *                                status; exit 0 when refused with EACCES
 *   ipc_probe packetout SOCKDIR SERVICE YANG INSTANCE
 *                                sends INSTANCE's ports 0-3 a broadcast frame
 *                                out, each way; exit 0 once sent. From the
 *                                environment: PROBE_DIRECTION (a number: every
 *                                packet that way), PROBE_CLAIM="SERVICE PID"
 *                                (the batch reports 999999 packets lost under
 *                                that name and pid)
 *
 *   ipc_probe packetin URL INSTANCE
 *                                sends a cube's packet socket a batch of 3
 *                                packets in for INSTANCE, as the broker does
 *                                but without its token; exit 0 once sent
 *
 *   ipc_probe log URL LEVEL N   sends the log sink one LogBatch of N records
 *                                at LEVEL, service "probe", cube "p<i>", each
 *                                message holding invalid UTF-8
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
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>

#include "cubemesh.pb-c.h"
#include "ipc.h"

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
	rv = pcn_ipc_unpack(&cubemesh__broker_reply__descriptor, nng_msg_body(msg), nng_msg_len(msg),
			     (ProtobufCMessage **)out);
	nng_msg_free(msg);
	return rv;
}

static int probe_version(nng_socket s, unsigned version)
{
	Cubemesh__BrokerRequest req = CUBEMESH__BROKER_REQUEST__INIT;
	Cubemesh__Register reg = CUBEMESH__REGISTER__INIT;
	Cubemesh__BrokerReply *rep = NULL;
	const char *name = getenv("PROBE_NAME") ? getenv("PROBE_NAME") : "probe";
	char module[512];
	uint8_t buf[4096];
	size_t len;
	int rv, refused;

	snprintf(module, sizeof(module), "module %s { namespace urn:probe; prefix p; }", name);
	reg.protocol_version = version;
	reg.service_name = (char *)name;
	reg.version = "0.0.1";
	reg.kind = CUBEMESH__KIND__KIND_STANDARD;
	reg.yang_module_name = (char *)name;
	reg.yang_module = module;
	reg.endpoint = "ipc:///nonexistent";
	req.body_case = CUBEMESH__BROKER_REQUEST__BODY_REGISTER;
	req.register_ = &reg;
	len = cubemesh__broker_request__pack(&req, buf);
	rv = roundtrip(s, buf, len, &rep);
	if (rv) {
		fprintf(stderr, "ipc_probe: no reply: %d\n", rv);
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
			fprintf(stderr, "ipc_probe: request %d got no reply\n", i);
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
			fprintf(stderr, "ipc_probe: a good request failed after the garbage\n");
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
		fprintf(stderr, "ipc_probe: %s: not an ipc url\n", url);
		return 2;
	}
	strcpy(sun.sun_path, url + 6);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		perror("ipc_probe: connect");
		return 2;
	}
	if (write(fd, hello, sizeof(hello)) != (ssize_t)sizeof(hello) ||
	    recv(fd, peer, sizeof(peer), MSG_WAITALL) != (ssize_t)sizeof(peer)) {
		fprintf(stderr, "ipc_probe: no SP handshake from %s\n", url);
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

/* Registers on s as service with the module text in file yang (or not at
 * all when service is "-"); copies the token the broker gave into tok
 * (*tok_len 0: none). Returns 0, or 2 when refused or unreachable. */
static int register_as(nng_socket s, const char *sockdir, const char *service, const char *yang,
		       uint8_t *tok, size_t *tok_len)
{
	Cubemesh__BrokerRequest req = CUBEMESH__BROKER_REQUEST__INIT;
	Cubemesh__Register reg = CUBEMESH__REGISTER__INIT;
	Cubemesh__BrokerReply *rep = NULL;
	char endpoint[512], *text = NULL, modname[128];
	uint8_t *buf;
	size_t len = 0;
	FILE *f;
	int rv;

	*tok_len = 0;
	if (strcmp(service, "-") == 0)
		return 0;
	f = fopen(yang, "r");
	if (!f || getdelim(&text, &len, '\0', f) < 0) {
		fprintf(stderr, "ipc_probe: cannot read %s\n", yang);
		if (f)
			fclose(f);
		free(text);
		return 2;
	}
	fclose(f);
	/* The module's name is the file's ("x/simpleforwarder.yang"). */
	snprintf(modname, sizeof(modname), "%s", strrchr(yang, '/') ? strrchr(yang, '/') + 1 : yang);
	modname[strcspn(modname, ".")] = '\0';
	snprintf(endpoint, sizeof(endpoint), "ipc://%s/probe-%d.sock", sockdir, (int)getpid());
	/* IPC_PROBE_PROTOCOL: speak to a broker of an older build. */
	reg.protocol_version = getenv("IPC_PROBE_PROTOCOL") ? (uint32_t)atoi(getenv("IPC_PROBE_PROTOCOL"))
							    : PCN_PROTOCOL_VERSION;
	reg.service_name = (char *)service;
	reg.version = "0.0.1";
	reg.kind = CUBEMESH__KIND__KIND_STANDARD;
	reg.yang_module_name = modname;
	reg.yang_module = text;
	reg.endpoint = endpoint;
	req.body_case = CUBEMESH__BROKER_REQUEST__BODY_REGISTER;
	req.register_ = &reg;
	len = cubemesh__broker_request__get_packed_size(&req);
	buf = malloc(len);
	if (!buf) {
		free(text);
		return 2;
	}
	cubemesh__broker_request__pack(&req, buf);
	rv = roundtrip(s, buf, len, &rep);
	free(buf);
	free(text);
	if (rv || rep->status->code) {
		fprintf(stderr, "ipc_probe: Register as %s: %s\n", service,
			rv ? "no reply" : (rep->status->message ? rep->status->message : "refused"));
		if (!rv)
			protobuf_c_message_free_unpacked((ProtobufCMessage *)rep, NULL);
		return 2;
	}
	if (rep->body_case == CUBEMESH__BROKER_REPLY__BODY_REGISTER && rep->register_->has_token &&
	    rep->register_->token.len <= 64) {
		memcpy(tok, rep->register_->token.data, rep->register_->token.len);
		*tok_len = rep->register_->token.len;
	}
	printf("registered as %s (token of %zu bytes)\n", service, *tok_len);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)rep, NULL);
	return 0;
}

static int probe_install(nng_socket s, uint8_t *tok, size_t tok_len, const char *instance, const char *pin)
{
	Cubemesh__BrokerRequest req = CUBEMESH__BROKER_REQUEST__INIT;
	Cubemesh__ProgramInstall pi = CUBEMESH__PROGRAM_INSTALL__INIT;
	Cubemesh__BrokerReply *rep = NULL;
	uint8_t buf[1024];
	size_t len;
	int refused;

	pi.instance = (char *)instance;
	pi.hook = CUBEMESH__HOOK__HOOK_XDP_SKB; /* the instance's own hook */
	pi.pin_path = (char *)pin;
	pi.has_token = tok_len > 0;
	pi.token.data = tok;
	pi.token.len = tok_len;
	req.body_case = CUBEMESH__BROKER_REQUEST__BODY_PROGRAM_INSTALL;
	req.program_install = &pi;
	if (cubemesh__broker_request__get_packed_size(&req) > sizeof(buf))
		return 2;
	len = cubemesh__broker_request__pack(&req, buf);
	if (roundtrip(s, buf, len, &rep)) {
		fprintf(stderr, "ipc_probe: no reply to ProgramInstall\n");
		return 2;
	}
	printf("install %s into %s: status %d: %s\n", pin, instance, rep->status->code,
	       rep->status->message ? rep->status->message : "");
	refused = rep->status->code == -EACCES;
	protobuf_c_message_free_unpacked((ProtobufCMessage *)rep, NULL);
	return refused ? 0 : 1;
}

/* Sends m once on a push socket dialled to url and lets it leave before the
 * socket closes. Returns 0, the nng error of the send, or -1 (said on
 * stderr) when url cannot be reached. */
static int push_once(const char *url, const ProtobufCMessage *m)
{
	nng_msg *msg = NULL;
	nng_socket push;
	int rv;

	if ((rv = nng_push0_open(&push)) || (rv = nng_dial(push, url, NULL, 0))) {
		fprintf(stderr, "ipc_probe: cannot reach %s: %s\n", url, nng_strerror(rv));
		return -1;
	}
	nng_socket_set_ms(push, NNG_OPT_SENDTIMEO, 2000);
	if ((rv = pcn_ipc_pack(m, &msg)) == 0 && (rv = nng_sendmsg(push, msg, 0)))
		nng_msg_free(msg);
	usleep(200 * 1000);
	nng_close(push);
	return rv;
}

static int probe_packetout(const char *sockdir, uint8_t *tok, size_t tok_len, const char *instance)
{
	Cubemesh__PacketOutBatch batch = CUBEMESH__PACKET_OUT_BATCH__INIT;
	Cubemesh__PacketOut po[8], *pos[8];
	uint8_t frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0xba, 0xd0, 1, 0x88, 0xb5 };
	char url[512], claim[64];
	int rv;

	memcpy(frame + 14, "not yours", 9);
	for (int i = 0; i < 8; i++) {
		cubemesh__packet_out__init(&po[i]);
		po[i].instance = (char *)instance;
		po[i].port = (uint32_t)(i / 2);
		po[i].direction = i % 2 ? CUBEMESH__DIRECTION__DIR_INGRESS : CUBEMESH__DIRECTION__DIR_EGRESS;
		if (getenv("PROBE_DIRECTION"))
			po[i].direction = (Cubemesh__Direction)atoi(getenv("PROBE_DIRECTION"));
		po[i].data.data = frame;
		po[i].data.len = sizeof(frame);
		pos[i] = &po[i];
	}
	batch.n_packets = 8;
	batch.packets = pos;
	batch.has_token = tok_len > 0;
	batch.token.data = tok;
	batch.token.len = tok_len;
	if (getenv("PROBE_CLAIM") && sscanf(getenv("PROBE_CLAIM"), "%63s %u", claim, &batch.pid) == 2) {
		batch.service = claim;
		batch.has_pid = batch.has_out_lost = 1;
		batch.out_lost = 999999;
	}
	snprintf(url, sizeof(url), "ipc://%s/slowpath.sock", sockdir);
	if ((rv = push_once(url, &batch.base)) < 0)
		return 2;
	printf("sent 8 packets out for %s: %s\n", instance, rv ? "failed" : "ok");
	return rv ? 2 : 0;
}

static int probe_packetin(const char *url, const char *instance)
{
	Cubemesh__PacketInBatch batch = CUBEMESH__PACKET_IN_BATCH__INIT;
	Cubemesh__PacketIn p[3], *ps[3];
	uint8_t frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0xba, 0xd0, 1, 0x08, 0x06 };
	int rv;

	for (int i = 0; i < 3; i++) {
		cubemesh__packet_in__init(&p[i]);
		p[i].instance = (char *)instance;
		p[i].data.data = frame;
		p[i].data.len = sizeof(frame);
		p[i].orig_len = sizeof(frame);
		ps[i] = &p[i];
	}
	batch.n_packets = 3;
	batch.packets = ps;
	if ((rv = push_once(url, &batch.base)) < 0)
		return 2;
	printf("sent 3 packets in for %s: %s\n", instance, rv ? "failed" : "ok");
	return rv ? 2 : 0;
}

static int probe_log(const char *url, unsigned level, unsigned n)
{
	Cubemesh__LogBatch batch = CUBEMESH__LOG_BATCH__INIT;
	Cubemesh__LogRecord *recs;
	Cubemesh__LogRecord **ptrs;
	char (*names)[16];
	int rv;

	recs = calloc(n ? n : 1, sizeof(*recs));
	ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	names = calloc(n ? n : 1, sizeof(*names));
	if (!recs || !ptrs || !names)
		return 2;
	for (unsigned i = 0; i < n; i++) {
		cubemesh__log_record__init(&recs[i]);
		snprintf(names[i], sizeof(names[i]), "p%u", i);
		recs[i].level = level;
		recs[i].service = "probe";
		recs[i].instance = names[i];
		/* A stray byte, a cut character, then a good one. */
		recs[i].message = "PROBE-LOG: bad \xff byte, cut \xc3 and caf\xc3\xa9";
		ptrs[i] = &recs[i];
	}
	batch.n_records = n;
	batch.records = ptrs;
	rv = push_once(url, &batch.base);
	free(recs);
	free(ptrs);
	free(names);
	if (rv < 0)
		return 2;
	printf("sent %u log records at level %u: %s\n", n, level, rv ? "failed" : "ok");
	return rv ? 2 : 0;
}

int main(int argc, char **argv)
{
	nng_socket s;
	int rv;

	if (argc == 4 && strcmp(argv[1], "packetin") == 0)
		return probe_packetin(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "log") == 0)
		return probe_log(argv[2], (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]));

	if ((argc == 7 && strcmp(argv[1], "install") == 0) || (argc == 6 && strcmp(argv[1], "packetout") == 0)) {
		uint8_t tok[64];
		size_t tok_len;
		char url[512];

		snprintf(url, sizeof(url), "ipc://%s/broker.sock", argv[2]);
		if ((rv = nng_req0_open(&s)) || (rv = nng_dial(s, url, NULL, 0))) {
			fprintf(stderr, "ipc_probe: cannot reach %s: %s\n", url, nng_strerror(rv));
			return 2;
		}
		nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
		rv = register_as(s, argv[2], argv[3], argv[4], tok, &tok_len);
		if (!rv)
			rv = argc == 7 ? probe_install(s, tok, tok_len, argv[5], argv[6])
				       : probe_packetout(argv[2], tok, tok_len, argv[5]);
		nng_close(s);
		return rv;
	}

	if (argc == 4 && strcmp(argv[1], "flood-req") == 0)
		return probe_flood(argv[2], 0x30, (unsigned)atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "flood-push") == 0)
		return probe_flood(argv[2], 0x50, (unsigned)atoi(argv[3]));
	if (argc != 4 || (strcmp(argv[1], "version") && strcmp(argv[1], "garbage"))) {
		fprintf(stderr, "usage: ipc_probe version|garbage|flood-req|flood-push URL N\n");
		return 2;
	}
	if ((rv = nng_req0_open(&s)) || (rv = nng_dial(s, argv[2], NULL, 0))) {
		fprintf(stderr, "ipc_probe: cannot reach %s: %s\n", argv[2], nng_strerror(rv));
		return 2;
	}
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	rv = strcmp(argv[1], "version") == 0 ? probe_version(s, (unsigned)atoi(argv[3]))
					     : probe_garbage(s, (unsigned)atoi(argv[3]));
	nng_close(s);
	return rv;
}
