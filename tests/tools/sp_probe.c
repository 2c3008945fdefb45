/* sp_probe: puts garbage on a slow-path stream socket (the broker's
 * slowpath.sock or a cube's cube-<svc>-pkt.sock), to check that it is
 * rejected and counted and that nobody crashes.
 *
 *   sp_probe garbage URL N   N random frames, empty and truncated ones, and a
 *                            valid batch naming an instance nobody has
 *
 * Exit status 0 when every frame was handed to the socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/supplemental/util/platform.h>

#include "cubemesh.pb-c.h"

static int send_buf(nng_socket s, const void *buf, size_t len)
{
	int rv = nng_send(s, (void *)buf, len, 0);

	if (rv)
		fprintf(stderr, "send: %s\n", nng_strerror(rv));
	return rv;
}

int main(int argc, char **argv)
{
	Cubemesh__PacketOut po = CUBEMESH__PACKET_OUT__INIT;
	Cubemesh__PacketOut *pos[1] = { &po };
	Cubemesh__PacketOutBatch batch = CUBEMESH__PACKET_OUT_BATCH__INIT;
	uint8_t frame[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x00 };
	uint8_t buf[2048], packed[256];
	size_t plen;
	nng_socket s;
	int n, rv;

	if (argc != 4 || strcmp(argv[1], "garbage") != 0) {
		fprintf(stderr, "usage: sp_probe garbage URL N\n");
		return 2;
	}
	n = atoi(argv[3]);
	srand((unsigned)time(NULL));
	if ((rv = nng_push0_open(&s)) || (rv = nng_dial(s, argv[2], NULL, 0))) {
		fprintf(stderr, "%s: %s\n", argv[2], nng_strerror(rv));
		return 1;
	}
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 2000);
	/* Random bytes of random lengths (protobuf decoding of most fails). */
	for (int i = 0; i < n; i++) {
		size_t len = (size_t)(rand() % (int)sizeof(buf));

		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)rand();
		if (send_buf(s, buf, len))
			return 1;
	}
	/* A valid batch, then every truncation of it. */
	po.instance = "no-such-instance";
	po.port = 0;
	po.direction = CUBEMESH__DIRECTION__DIR_EGRESS;
	po.data.data = frame;
	po.data.len = sizeof(frame);
	batch.n_packets = 1;
	batch.packets = pos;
	plen = cubemesh__packet_out_batch__pack(&batch, packed);
	for (size_t cut = 1; cut < plen; cut++)
		if (send_buf(s, packed, cut))
			return 1;
	if (send_buf(s, packed, plen) || send_buf(s, "", 0))
		return 1;
	/* Let the messages leave before the socket closes. */
	nng_msleep(200);
	nng_close(s);
	return 0;
}
