/* The cubes' part of GET /metrics as the broker gathers it
 * (cube_metrics.c), against a fake cube process on a real nng socket
 * (fakecube_test.c) that answers with whatever the test gives it: a good
 * reply is checked and labelled; a slow process is cut off at the bound
 * and counted; garbage and a reply too big to unpack are dropped whole;
 * a service that declared no metrics is not asked. Needs root (the fake
 * broker pins an instance). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/control.h"
#include "core/core.h"
#include "core/tables.h"
#include "ipc.h"

#include "control/fakecube_test.h"

static struct broker *B;
static struct broker_service *HW;

static int group_setup(void **state)
{
	char msg[256];

	B = tb_start();
	if (!B) {
		tb_stop();
		return -1;
	}
	HW = broker_service_find(B, "helloworld");
	if (!HW || tb_write(BROKER_POST, "/helloworld/hw1", "{}", msg, sizeof(msg)) != 201) {
		fprintf(stderr, "cannot create hw1: %s\n", msg);
		return -1;
	}
	/* As its Register would have said. */
	HW->metrics = true;
	return 0;
}

static int group_teardown(void **state)
{
	tb_stop();
	return 0;
}

struct gathered {
	bool done;
	char *text;
};

static void gathered(struct broker *b, void *arg, const char *text, size_t len)
{
	struct gathered *g = arg;

	g->done = true;
	g->text = text ? strndup(text, len) : NULL;
}

/* One gather with a bound of timeout_ms; how long it took in *ms. */
static struct gathered gather(unsigned timeout_ms, uint64_t *ms)
{
	struct gathered g = { 0 };
	uint64_t t0 = broker_now_ms();

	broker_cube_metrics_gather(B, timeout_ms, gathered, &g);
	while (!g.done && broker_now_ms() - t0 < 5000) {
		uv_run(B->loop, UV_RUN_NOWAIT);
		if (!g.done)
			usleep(1000);
	}
	assert_true(g.done);
	if (ms)
		*ms = broker_now_ms() - t0;
	return g;
}

/* A CubeReply carrying r, packed, into *buf. */
static size_t pack_reply(Cubemesh__MetricsReply *r, void **buf)
{
	Cubemesh__CubeReply rep = CUBEMESH__CUBE_REPLY__INIT;
	Cubemesh__Status st = CUBEMESH__STATUS__INIT;
	size_t n;

	rep.status = &st;
	rep.body_case = CUBEMESH__CUBE_REPLY__BODY_METRICS;
	rep.metrics = r;
	n = protobuf_c_message_get_packed_size(&rep.base);
	*buf = malloc(n);
	assert_non_null(*buf);
	assert_int_equal(protobuf_c_message_pack(&rep.base, *buf), n);
	return n;
}

/* The reply checked and labelled; an instance the service lacks, and a
 * label trying to end the line, do not get through as such. */
static void test_gather_reply(void **state)
{
	Cubemesh__MetricLabel l = CUBEMESH__METRIC_LABEL__INIT, *pl = &l;
	Cubemesh__MetricSample s = CUBEMESH__METRIC_SAMPLE__INIT, *ps = &s;
	Cubemesh__MetricFamily f = CUBEMESH__METRIC_FAMILY__INIT, *pf = &f;
	Cubemesh__InstanceMetrics im[2] = { CUBEMESH__INSTANCE_METRICS__INIT, CUBEMESH__INSTANCE_METRICS__INIT };
	Cubemesh__InstanceMetrics *pim[2] = { &im[0], &im[1] };
	Cubemesh__MetricsReply r = CUBEMESH__METRICS_REPLY__INIT;
	uint64_t dropped = HW->metrics_dropped;
	struct gathered g;
	void *buf;
	size_t n;

	l.name = "k";
	l.value = "a\"} 1\n# EOF\n";
	s.labels = &pl;
	s.n_labels = 1;
	s.value = 42;
	f.name = "hello_packets";
	f.type = CUBEMESH__METRIC_TYPE__METRIC_COUNTER;
	f.help = "Packets";
	f.samples = &ps;
	f.n_samples = 1;
	im[0].instance = "hw1";
	im[1].instance = "not-mine";
	im[0].families = im[1].families = &pf;
	im[0].n_families = im[1].n_families = 1;
	r.instances = pim;
	r.n_instances = 2;
	n = pack_reply(&r, &buf);
	tb_cube_metrics(buf, n, 0);
	free(buf);
	g = gather(500, NULL);
	assert_non_null(g.text);
	assert_string_equal(g.text, "# TYPE hello_packets counter\n# HELP hello_packets Packets\n"
				    "hello_packets_total{service=\"helloworld\",cube=\"hw1\",k=\"a\\\"} 1\\n# EOF\\n\"} 42\n");
	assert_int_equal(HW->metrics_dropped, dropped + 1);
	free(g.text);
}

/* A process slower than the bound: the gather ends at the bound without
 * it, and counts it. */
static void test_gather_timeout(void **state)
{
	uint64_t timeouts = HW->metrics_timeouts, ms;
	static const uint8_t ok[] = { 0x0a, 0x02, 0x08, 0x00 }; /* CubeReply{status{code 0}} */
	struct gathered g;

	tb_cube_metrics(ok, sizeof(ok), 600);
	g = gather(150, &ms);
	assert_null(g.text);
	assert_true(ms < 450);
	assert_int_equal(HW->metrics_timeouts, timeouts + 1);
	/* The fake cube answers late, to a request no one waits for. */
	usleep(700 * 1000);
	uv_run(B->loop, UV_RUN_NOWAIT);
}

/* Bytes that are no CubeReply: nothing from that process. */
static void test_gather_garbage(void **state)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34 };
	struct gathered g;

	tb_cube_metrics(junk, sizeof(junk), 0);
	g = gather(500, NULL);
	assert_null(g.text);
}

/* A reply past BROKER_CM_MAX_REPLY is refused before it is unpacked. */
static void test_gather_too_big(void **state)
{
	size_t ns = BROKER_CM_MAX_REPLY / 1000 + 10, n;
	Cubemesh__MetricSample *s = calloc(ns, sizeof(*s)), **ps = calloc(ns, sizeof(*ps));
	Cubemesh__MetricLabel *l = calloc(ns, sizeof(*l)), **pl = calloc(ns, sizeof(*pl));
	Cubemesh__MetricFamily f = CUBEMESH__METRIC_FAMILY__INIT, *pf = &f;
	Cubemesh__InstanceMetrics im = CUBEMESH__INSTANCE_METRICS__INIT, *pim = &im;
	Cubemesh__MetricsReply r = CUBEMESH__METRICS_REPLY__INIT;
	uint64_t dropped = HW->metrics_dropped;
	char *big = malloc(1001);
	struct gathered g;
	void *buf;

	memset(big, 'x', 1000);
	big[1000] = '\0';
	for (size_t i = 0; i < ns; i++) {
		cubemesh__metric_sample__init(&s[i]);
		cubemesh__metric_label__init(&l[i]);
		l[i].name = "k";
		l[i].value = big;
		pl[i] = &l[i];
		s[i].labels = &pl[i];
		s[i].n_labels = 1;
		ps[i] = &s[i];
	}
	f.name = "big";
	f.type = CUBEMESH__METRIC_TYPE__METRIC_GAUGE;
	f.samples = ps;
	f.n_samples = ns;
	im.instance = "hw1";
	im.families = &pf;
	im.n_families = 1;
	r.instances = &pim;
	r.n_instances = 1;
	n = pack_reply(&r, &buf);
	assert_true(n > BROKER_CM_MAX_REPLY);
	tb_cube_metrics(buf, n, 0);
	free(buf);
	g = gather(2000, NULL);
	assert_null(g.text);
	assert_int_equal(HW->metrics_dropped, dropped + 1);
	free(s);
	free(ps);
	free(l);
	free(pl);
	free(big);
}

/* A service whose process declared no metrics is not asked. */
static void test_gather_not_declared(void **state)
{
	uint64_t ms;
	struct gathered g;

	HW->metrics = false;
	tb_cube_metrics(NULL, 0, 0);
	g = gather(500, &ms);
	HW->metrics = true;
	assert_null(g.text);
	assert_true(ms < 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gather_reply),   cmocka_unit_test(test_gather_timeout),
		cmocka_unit_test(test_gather_garbage), cmocka_unit_test(test_gather_too_big),
		cmocka_unit_test(test_gather_not_declared),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "cube_metrics_gather_test needs root (bpffs pins)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
