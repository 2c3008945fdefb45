/* The cube's side of packets out against a broker that stops reading: every
 * packet out is either delivered or counted as lost (CUBE-SP-OUT-LOST), and
 * the count reaches the broker on PacketOutBatch.out_lost once it reads
 * again, even though no packet follows. Also: a transparent cube's packet
 * in carries its direction to pcn_pkt_in. Sockets in a fresh temporary
 * directory; no root needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/reqrep0/rep.h>

#include "pcn_int.h"

static const struct timespec tick = { 0, 10 * 1000000L };

/* A runtime with nothing but its slow path, and the broker's PULL on
 * slowpath.sock (tiny receive buffer: it holds back when not read). */
struct fixture {
	char dir[64];
	struct pcn_cube_desc desc;
	struct pcn__runtime rt;
	struct pcn_instance inst;
	nng_socket pull;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char url[128];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pcnsptest.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->desc.service = "sptest";
	f->rt.desc = &f->desc;
	snprintf(f->rt.socket_dir, sizeof(f->rt.socket_dir), "%s", f->dir);
	assert_int_equal(nng_rep0_open(&f->rt.rep), 0);
	f->rt.rep_open = true;
	assert_int_equal(nng_pull0_open(&f->pull), 0);
	assert_int_equal(nng_socket_set_int(f->pull, NNG_OPT_RECVBUF, 1), 0);
	snprintf(url, sizeof(url), "ipc://%s/slowpath.sock", f->dir);
	assert_int_equal(nng_listen(f->pull, url, NULL, 0), 0);
	assert_int_equal(pcn__slowpath_start(&f->rt), 0);
	f->inst.rt = &f->rt;
	snprintf(f->inst.name, sizeof(f->inst.name), "i1");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	pcn__slowpath_stop(&f->rt);
	nng_close(f->pull);
	nng_close(f->rt.rep);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* What the broker has received so far, summed. */
struct seen {
	uint64_t packets;
	uint64_t reports;   /* batches carrying out_lost */
	uint64_t last_lost; /* the last out_lost received */
	bool empty_report;  /* a batch with no packet, only the count */
};

static void drain(struct fixture *f, struct seen *s)
{
	nng_msg *msg;

	while (nng_recvmsg(f->pull, &msg, NNG_FLAG_NONBLOCK) == 0) {
		Cubemesh__PacketOutBatch *b =
			cubemesh__packet_out_batch__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));

		assert_non_null(b);
		s->packets += b->n_packets;
		if (b->has_out_lost) {
			s->reports++;
			s->last_lost = b->out_lost;
			assert_true(b->has_pid);
			assert_int_equal(b->pid, (uint32_t)getpid());
			assert_string_equal(b->service, "sptest");
			if (!b->n_packets)
				s->empty_report = true;
		}
		cubemesh__packet_out_batch__free_unpacked(b, NULL);
		nng_msg_free(msg);
	}
}

static void test_out_lost_counted_and_reported(void **state)
{
	struct fixture *f = *state;
	static uint8_t frame[1500];
	struct seen s = { 0 };
	uint64_t sent = 0, lost = 0;
	int rc;

	/* At start the process says it has lost nothing. */
	for (int k = 0; k < 1000 && !s.reports; k++) {
		pcn__slowpath_wait(&f->rt, 0);
		drain(f, &s);
		nanosleep(&tick, NULL);
	}
	assert_true(s.empty_report);
	assert_int_equal(s.last_lost, 0);

	/* The broker stops reading: sends go on until the queues are full,
	 * then fail and are counted. */
	memset(frame, 0xab, sizeof(frame));
	for (int i = 0; i < 1000000 && lost < 5; i++) {
		rc = pcn_send_packet_out(&f->inst, 1, PCN_DIR_EGRESS, frame, sizeof(frame));
		if (rc == -EAGAIN)
			lost++;
		else if (rc == 0)
			sent++;
		else
			fail_msg("pcn_send_packet_out: %d", rc);
	}
	assert_int_equal(lost, 5);

	/* It reads again: every packet that was not lost arrives, and the
	 * count of the lost ones follows without any packet to carry it. */
	s.empty_report = false;
	for (int k = 0; k < 1000 && !(s.packets == sent && s.last_lost == lost && s.empty_report); k++) {
		drain(f, &s);
		pcn__slowpath_wait(&f->rt, 0);
		nanosleep(&tick, NULL);
	}
	assert_int_equal(s.packets, sent);
	assert_int_equal(s.last_lost, lost);
	assert_true(s.empty_report);
}

/* pkt_in of the test: what it was last given. */
static struct pcn_pkt last_pkt;
static int n_pkt;

static void t_pkt_in(struct pcn_instance *inst, const struct pcn_pkt *pkt)
{
	(void)inst;
	last_pkt = *pkt;
	n_pkt++;
}

static void test_direction_reaches_pkt_in(void **state)
{
	struct fixture *f = *state;
	Cubemesh__PacketIn p = CUBEMESH__PACKET_IN__INIT, *pp[1] = { &p };
	Cubemesh__PacketInBatch b = CUBEMESH__PACKET_IN_BATCH__INIT;
	uint8_t data[60] = { 0 }, buf[256];
	size_t len;

	f->desc.pkt_in = t_pkt_in;
	f->rt.instances = &f->inst;
	p.instance = f->inst.name;
	p.data.data = data;
	p.data.len = sizeof(data);
	p.orig_len = sizeof(data);
	b.n_packets = 1;
	b.packets = pp;
	/* EGRESS, INGRESS, and no direction at all (an older broker). */
	p.has_direction = 1;
	p.direction = CUBEMESH__DIRECTION__DIR_EGRESS;
	len = cubemesh__packet_in_batch__pack(&b, buf);
	assert_int_equal(pcn__slowpath_handle(&f->rt, buf, len), 0);
	assert_int_equal(n_pkt, 1);
	assert_int_equal(last_pkt.direction, PCN_DIR_EGRESS);
	p.direction = CUBEMESH__DIRECTION__DIR_INGRESS;
	len = cubemesh__packet_in_batch__pack(&b, buf);
	assert_int_equal(pcn__slowpath_handle(&f->rt, buf, len), 0);
	assert_int_equal(last_pkt.direction, PCN_DIR_INGRESS);
	p.direction = CUBEMESH__DIRECTION__DIR_EGRESS;
	p.has_direction = 0;
	len = cubemesh__packet_in_batch__pack(&b, buf);
	assert_int_equal(pcn__slowpath_handle(&f->rt, buf, len), 0);
	assert_int_equal(n_pkt, 3);
	assert_int_equal(last_pkt.direction, PCN_DIR_INGRESS);
	f->rt.instances = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_out_lost_counted_and_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direction_reaches_pkt_in, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
