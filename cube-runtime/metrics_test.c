/* pcn_metric_add and the reply it builds (metrics.c): a cube author's
 * mistakes are refused at the call (-EINVAL) with the same rules the
 * broker applies, samples of one name group into one family per instance,
 * an instance whose callback fails is left out, and the reply stops at its
 * bound (-ENOSPC). No kernel needed: instances are bare records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pcn_int.h"

static int results[32], n_results;

static int add(struct pcn_metrics *m, const char *name, enum pcn_metric_type t, const char *help,
	       const char *const *labels, double v)
{
	int rc = pcn_metric_add(m, name, t, help, labels, v);

	results[n_results++] = rc;
	return rc;
}

static int good_cb(struct pcn_instance *inst, struct pcn_metrics *m)
{
	const char *const in[] = { "direction", "ingress", NULL };
	const char *const eg[] = { "direction", "egress", NULL };
	const char *const utf8[] = { "who", "\xc3\xa9t\xc3\xa9 \"x\"\n", NULL };

	add(m, "pkts", PCN_METRIC_COUNTER, "Packets", in, 5);           /* 0 */
	add(m, "ratio", PCN_METRIC_GAUGE, "A ratio", NULL, -INFINITY);  /* 0 */
	add(m, "pkts", PCN_METRIC_COUNTER, "Packets", eg, 7);           /* 0: same family */
	add(m, "lbl", PCN_METRIC_GAUGE, NULL, utf8, 1);                 /* 0 */
	return 0;
}

static int bad_cb(struct pcn_instance *inst, struct pcn_metrics *m)
{
	const char *const reserved[] = { "cube", "x", NULL };
	const char *const dup[] = { "k", "1", "k", "2", NULL };
	const char *const badkey[] = { "a-b", "1", NULL };
	const char *const under[] = { "__name__", "1", NULL };
	const char *const nonutf[] = { "k", "\xff", NULL };
	const char *const noval[] = { "k", NULL };
	const char *many[2 * 17 + 1];
	char keys[17][8];

	for (int i = 0; i < 17; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		many[2 * i] = keys[i];
		many[2 * i + 1] = "v";
	}
	many[34] = NULL;
	add(m, "1x", PCN_METRIC_GAUGE, NULL, NULL, 1);
	add(m, "a b", PCN_METRIC_GAUGE, NULL, NULL, 1);
	add(m, "", PCN_METRIC_GAUGE, NULL, NULL, 1);
	add(m, NULL, PCN_METRIC_GAUGE, NULL, NULL, 1);
	add(m, "cubemesh_up", PCN_METRIC_GAUGE, NULL, NULL, 1);
	add(m, "req_total", PCN_METRIC_COUNTER, NULL, NULL, 1);
	add(m, "req_created", PCN_METRIC_COUNTER, NULL, NULL, 1);
	add(m, "t", (enum pcn_metric_type)5, NULL, NULL, 1);
	add(m, "c", PCN_METRIC_COUNTER, NULL, NULL, -1);
	add(m, "c", PCN_METRIC_COUNTER, NULL, NULL, INFINITY);
	add(m, "g", PCN_METRIC_GAUGE, NULL, NULL, NAN);
	add(m, "g", PCN_METRIC_GAUGE, "two\nlines", NULL, 1);
	add(m, "g", PCN_METRIC_GAUGE, NULL, reserved, 1);
	add(m, "g", PCN_METRIC_GAUGE, NULL, dup, 1);
	add(m, "g", PCN_METRIC_GAUGE, NULL, badkey, 1);
	add(m, "g", PCN_METRIC_GAUGE, NULL, under, 1);
	add(m, "g", PCN_METRIC_GAUGE, NULL, nonutf, 1);
	add(m, "g", PCN_METRIC_GAUGE, NULL, noval, 1);
	add(m, "g", PCN_METRIC_GAUGE, NULL, many, 1);
	add(m, "g", PCN_METRIC_GAUGE, NULL, NULL, 2);  /* the one good sample */
	add(m, "g", PCN_METRIC_COUNTER, NULL, NULL, 1); /* g is a gauge here */
	return 0;
}

static int failing_cb(struct pcn_instance *inst, struct pcn_metrics *m)
{
	add(m, "lost", PCN_METRIC_GAUGE, NULL, NULL, 1);
	return -EIO;
}

static int flood_cb(struct pcn_instance *inst, struct pcn_metrics *m)
{
	char v[16];
	const char *const labels[] = { "i", v, NULL };
	int rc = 0;

	n_results = 0;
	for (int i = 0; i < 70000 && !rc; i++) {
		snprintf(v, sizeof(v), "%d", i);
		rc = pcn_metric_add(m, "many", PCN_METRIC_GAUGE, NULL, labels, i);
		if (rc)
			results[0] = i, results[1] = rc;
	}
	return 0;
}

struct fixture {
	struct pcn_cube_desc desc;
	struct pcn__runtime rt;
	struct pcn_instance inst[2];
};

static void setup(struct fixture *f, int (*cb)(struct pcn_instance *, struct pcn_metrics *), int n)
{
	memset(f, 0, sizeof(*f));
	f->desc.service = "t";
	f->desc.metrics = cb;
	f->rt.desc = &f->desc;
	for (int i = n - 1; i >= 0; i--) {
		f->inst[i].rt = &f->rt;
		snprintf(f->inst[i].name, sizeof(f->inst[i].name), "t%d", i + 1);
		f->inst[i].next = f->rt.instances;
		f->rt.instances = &f->inst[i];
	}
	n_results = 0;
}

static void test_grouped(void **state)
{
	static struct fixture f;
	Cubemesh__MetricsReply r;
	Cubemesh__MetricFamily *pk;

	setup(&f, good_cb, 2);
	assert_int_equal(pcn__metrics_collect(&f.rt, &r), 0);
	for (int i = 0; i < n_results; i++)
		assert_int_equal(results[i], 0);
	assert_int_equal(r.n_instances, 2);
	assert_string_equal(r.instances[0]->instance, "t1");
	assert_string_equal(r.instances[1]->instance, "t2");
	assert_int_equal(r.instances[0]->n_families, 3);
	pk = r.instances[0]->families[0];
	assert_string_equal(pk->name, "pkts");
	assert_int_equal(pk->type, CUBEMESH__METRIC_TYPE__METRIC_COUNTER);
	assert_string_equal(pk->help, "Packets");
	assert_int_equal(pk->n_samples, 2);
	assert_string_equal(pk->samples[1]->labels[0]->value, "egress");
	assert_true(pk->samples[1]->value == 7);
	assert_true(isinf(r.instances[0]->families[1]->samples[0]->value));
	/* The reply packs and unpacks as the broker will read it. */
	{
		Cubemesh__CubeReply rep = CUBEMESH__CUBE_REPLY__INIT, *back;
		Cubemesh__Status st = CUBEMESH__STATUS__INIT;
		size_t n;
		uint8_t *buf;

		rep.status = &st;
		rep.body_case = CUBEMESH__CUBE_REPLY__BODY_METRICS;
		rep.metrics = &r;
		n = protobuf_c_message_get_packed_size(&rep.base);
		buf = malloc(n);
		protobuf_c_message_pack(&rep.base, buf);
		back = cubemesh__cube_reply__unpack(NULL, n, buf);
		assert_non_null(back);
		assert_string_equal(back->metrics->instances[1]->families[2]->samples[0]->labels[0]->value,
				    "\xc3\xa9t\xc3\xa9 \"x\"\n");
		cubemesh__cube_reply__free_unpacked(back, NULL);
		free(buf);
	}
	pcn__metrics_reply_free(&r);
}

static void test_refused(void **state)
{
	static struct fixture f;
	Cubemesh__MetricsReply r;

	setup(&f, bad_cb, 1);
	assert_int_equal(pcn__metrics_collect(&f.rt, &r), 0);
	assert_int_equal(n_results, 21);
	for (int i = 0; i < n_results; i++)
		assert_int_equal(results[i], i == 19 ? 0 : -EINVAL);
	assert_int_equal(r.n_instances, 1);
	assert_int_equal(r.instances[0]->n_families, 1);
	assert_int_equal(r.instances[0]->families[0]->n_samples, 1);
	pcn__metrics_reply_free(&r);
}

static void test_failing_instance(void **state)
{
	static struct fixture f;
	Cubemesh__MetricsReply r;

	setup(&f, failing_cb, 2);
	assert_int_equal(pcn__metrics_collect(&f.rt, &r), 0);
	assert_int_equal(r.n_instances, 0);
	pcn__metrics_reply_free(&r);
	setup(&f, NULL, 2);
	assert_int_equal(pcn__metrics_collect(&f.rt, &r), 0);
	assert_int_equal(r.n_instances, 0);
	pcn__metrics_reply_free(&r);
}

static void test_bound(void **state)
{
	static struct fixture f;
	Cubemesh__MetricsReply r;

	setup(&f, flood_cb, 1);
	assert_int_equal(pcn__metrics_collect(&f.rt, &r), 0);
	assert_int_equal(results[0], 65536);
	assert_int_equal(results[1], -ENOSPC);
	assert_int_equal(r.instances[0]->families[0]->n_samples, 65536);
	pcn__metrics_reply_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grouped),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_failing_instance),
		cmocka_unit_test(test_bound),
	};

	pcn_log_init("metrics-test", PCN_LOG_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
