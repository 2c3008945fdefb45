/* bridge_stp: three bridges in a loop, BPDUs carried between them by the
 * test (through their frames), one second per tick: the lowest bridge id
 * is the root, exactly one port blocks (the one of the higher bridge on
 * the segment between the other two), the rest forward after twice the
 * forward delay; when a link of the tree fails, the blocked port takes
 * over once the heard info is past max age. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bridge_stp.h"

/* Links: (bridge, port) <-> (bridge, port). */
struct end {
	int br, port;
};
static const struct end links[3][2] = {
	{ { 0, 0 }, { 1, 0 } }, /* B1 - B2 */
	{ { 1, 1 }, { 2, 0 } }, /* B2 - B3 */
	{ { 2, 1 }, { 0, 1 } }, /* B3 - B1 */
};
static int link_up[3] = { 1, 1, 1 };
static struct stp *br[3];

struct sent {
	int br, port;
	uint8_t frame[60];
};
static struct sent queue[256];
static int nq;

static void on_send(void *arg, int port, const struct stp_bpdu *b)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 9 };
	int from = (int)(intptr_t)arg;

	assert_true(nq < 256);
	queue[nq].br = from;
	queue[nq].port = port;
	stp_bpdu_build(b, mac, queue[nq].frame);
	nq++;
}

/* Delivers what was sent over the links that are up. */
static void deliver(void)
{
	while (nq) {
		struct sent s = queue[--nq];

		for (int l = 0; l < 3; l++) {
			for (int e = 0; e < 2; e++) {
				struct end a = links[l][e], b = links[l][!e];
				struct stp_bpdu bpdu;

				if (!link_up[l] || a.br != s.br || a.port != s.port)
					continue;
				assert_int_equal(stp_bpdu_parse(s.frame, 60, &bpdu), 0);
				stp_rx(br[b.br], b.port, &bpdu, on_send, (void *)(intptr_t)b.br);
			}
		}
	}
}

static void run(int seconds)
{
	for (int t = 0; t < seconds; t++) {
		for (int i = 0; i < 3; i++)
			stp_tick(br[i], on_send, (void *)(intptr_t)i);
		deliver();
	}
}

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++) {
		br[i] = calloc(1, sizeof(*br[i]));
		if (!br[i])
			return -1;
		/* priority 32768, MACs 02:..:01, :02, :03: B1 is the root. */
		stp_init(br[i], (32768ull << 48) | 0x020000000000ull | (uint64_t)(i + 1), 1, 6, 2);
		stp_port_set(br[i], 0, 1, 0x8001, 4);
		stp_port_set(br[i], 1, 1, 0x8002, 4);
	}
	for (int l = 0; l < 3; l++)
		link_up[l] = 1;
	nq = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		free(br[i]);
	return 0;
}

static void loop_converges(void **state)
{
	(void)state;
	run(1);
	/* Not forwarding before the forward delays have passed. */
	for (int i = 0; i < 3; i++)
		for (int p = 0; p < 2; p++)
			assert_int_not_equal(br[i]->ports[p].state, STP_FORWARDING);
	run(9);
	assert_int_equal(br[0]->root_port, -1);
	assert_int_equal(br[1]->root, br[0]->bridge_id);
	assert_int_equal(br[2]->root, br[0]->bridge_id);
	assert_int_equal(br[1]->root_port, 0);
	assert_int_equal(br[2]->root_port, 1);
	assert_int_equal(br[1]->root_cost, 4);
	/* B2 (lower id than B3) is designated on their segment: B3's port 0
	 * blocks, every other port forwards. */
	assert_int_equal(br[2]->ports[0].role, STP_ROLE_ALTERNATE);
	assert_int_equal(br[2]->ports[0].state, STP_BLOCKING);
	assert_int_equal(br[1]->ports[1].role, STP_ROLE_DESIGNATED);
	assert_int_equal(br[1]->ports[1].state, STP_FORWARDING);
	assert_int_equal(br[0]->ports[0].state, STP_FORWARDING);
	assert_int_equal(br[0]->ports[1].state, STP_FORWARDING);
	assert_int_equal(br[1]->ports[0].state, STP_FORWARDING);
	assert_int_equal(br[2]->ports[1].state, STP_FORWARDING);
	/* Stable: nothing changes over more hellos. */
	run(20);
	assert_int_equal(br[2]->ports[0].state, STP_BLOCKING);
	assert_int_equal(br[1]->ports[1].state, STP_FORWARDING);
}

static void link_failure(void **state)
{
	(void)state;
	run(10);
	assert_int_equal(br[2]->ports[0].state, STP_BLOCKING);
	link_up[2] = 0; /* B3 - B1 goes: B3 must reach the root through B2 */
	run(15);
	assert_int_equal(br[2]->root, br[0]->bridge_id);
	assert_int_equal(br[2]->root_port, 0);
	assert_int_equal(br[2]->root_cost, 8);
	assert_int_equal(br[2]->ports[0].state, STP_FORWARDING);
}

static void lower_priority_wins(void **state)
{
	(void)state;
	/* B3 with priority 4096 becomes the root: now B1 and B2 meet on the
	 * B1 - B2 segment and B2 (higher id) blocks there. */
	br[2]->bridge_id = (4096ull << 48) | 0x020000000003ull;
	br[2]->root = br[2]->bridge_id;
	run(12);
	assert_int_equal(br[0]->root, br[2]->bridge_id);
	assert_int_equal(br[2]->root_port, -1);
	assert_int_equal(br[1]->ports[0].state, STP_BLOCKING);
	assert_int_equal(br[0]->ports[0].state, STP_FORWARDING);
}

static void frames(void **state)
{
	struct stp_bpdu b = { .v = { 0x8000020000000001ull, 8, 0x8000020000000002ull, 0x8002 },
			      .msg_age = 1, .max_age = 20, .hello = 2, .fwd_delay = 15 }, r;
	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 2 };
	uint8_t f[60];

	(void)state;
	assert_int_equal(stp_bpdu_build(&b, mac, f), 60);
	assert_int_equal(f[0], 0x01);
	assert_int_equal(f[12] << 8 | f[13], 38);
	assert_int_equal(stp_bpdu_parse(f, 60, &r), 0);
	assert_int_equal(stp_vector_cmp(&b.v, &r.v), 0);
	assert_int_equal(r.msg_age, 1);
	assert_int_equal(r.max_age, 20);
	assert_int_equal(r.fwd_delay, 15);
	f[17 + 3] = 0x02; /* an RSTP BPDU: not ours to read */
	assert_int_not_equal(stp_bpdu_parse(f, 60, &r), 0);
	assert_int_not_equal(stp_bpdu_parse(f, 40, &r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(loop_converges, setup, teardown),
		cmocka_unit_test_setup_teardown(link_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(lower_priority_wins, setup, teardown),
		cmocka_unit_test(frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
