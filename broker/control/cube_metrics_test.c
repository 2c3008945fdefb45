/* The cubes' metrics as the broker prints them (cube_metrics_merge.c):
 * merged by family, labelled, escaped, and everything a hostile or buggy
 * cube process could send dropped and counted, never printed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/control.h"

/* A reply built by hand: fixed pools, nothing to free. */
#define MAXN 64
struct fake {
	Cubemesh__MetricsReply r;
	Cubemesh__InstanceMetrics im[4], *pim[4];
	Cubemesh__MetricFamily f[MAXN], *pf[4][MAXN];
	Cubemesh__MetricSample s[MAXN], *ps[MAXN][MAXN];
	Cubemesh__MetricLabel l[MAXN * 4], *pl[MAXN][8];
	size_t nf, ns, nl;
};

static void fake_init(struct fake *x)
{
	memset(x, 0, sizeof(*x));
	cubemesh__metrics_reply__init(&x->r);
	x->r.instances = x->pim;
}

static Cubemesh__InstanceMetrics *inst(struct fake *x, const char *name)
{
	Cubemesh__InstanceMetrics *im = &x->im[x->r.n_instances];

	cubemesh__instance_metrics__init(im);
	im->instance = (char *)name;
	im->families = x->pf[x->r.n_instances];
	x->pim[x->r.n_instances++] = im;
	return im;
}

static Cubemesh__MetricFamily *fam(struct fake *x, Cubemesh__InstanceMetrics *im, const char *name, int type,
				   const char *help)
{
	Cubemesh__MetricFamily *f = &x->f[x->nf];

	cubemesh__metric_family__init(f);
	f->name = (char *)name;
	f->type = (Cubemesh__MetricType)type;
	f->help = (char *)help;
	f->samples = x->ps[x->nf++];
	im->families[im->n_families++] = f;
	return f;
}

/* labels: "k", "v", ..., NULL */
static void sample(struct fake *x, Cubemesh__MetricFamily *f, double v, ...)
{
	size_t si = x->ns++;
	Cubemesh__MetricSample *s = &x->s[si];
	const char *k;
	va_list ap;

	cubemesh__metric_sample__init(s);
	s->value = v;
	s->labels = x->pl[si];
	va_start(ap, v);
	while ((k = va_arg(ap, const char *))) {
		Cubemesh__MetricLabel *l = &x->l[x->nl++];

		cubemesh__metric_label__init(l);
		l->name = (char *)k;
		l->value = va_arg(ap, char *);
		s->labels[s->n_labels++] = l;
	}
	va_end(ap);
	f->samples[f->n_samples++] = s;
}

static bool known(void *arg, const char *service, const char *instance)
{
	(void)arg;
	return strcmp(instance, "ghost") != 0 && strncmp(instance, service, 2) == 0;
}

static char *merge(struct broker_cm_source *src, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(broker_cube_metrics_merge(src, n, known, NULL, f), 0);
	fclose(f);
	return buf;
}

#define C CUBEMESH__METRIC_TYPE__METRIC_COUNTER
#define G CUBEMESH__METRIC_TYPE__METRIC_GAUGE

/* One family from two processes and three instances: one TYPE/HELP, its
 * samples together and sorted, service and cube labels first. */
static void test_merge_families(void **state)
{
	static struct fake a, b;
	struct broker_cm_source src[2] = { { .service = "synflood", .reply = &a.r },
					   { .service = "syncheck", .reply = &b.r } };
	Cubemesh__InstanceMetrics *i;
	char *out;

	fake_init(&a);
	fake_init(&b);
	i = inst(&a, "sy2");
	sample(&a, fam(&a, i, "syn_packets", C, "SYNs seen"), 5, "dir", "in", NULL);
	sample(&a, fam(&a, i, "half_open", G, "ratio"), 0.25, NULL);
	i = inst(&a, "sy1");
	sample(&a, fam(&a, i, "syn_packets", C, "SYNs seen"), 7, "dir", "in", NULL);
	i = inst(&b, "sy9");
	sample(&b, fam(&b, i, "syn_packets", C, "another help"), 1e20, NULL);
	out = merge(src, 2);
	assert_string_equal(out, "# TYPE half_open gauge\n"
				 "# HELP half_open ratio\n"
				 "half_open{service=\"synflood\",cube=\"sy2\"} 0.25\n"
				 "# TYPE syn_packets counter\n"
				 "# HELP syn_packets SYNs seen\n"
				 "syn_packets_total{service=\"syncheck\",cube=\"sy9\"} 1e+20\n"
				 "syn_packets_total{service=\"synflood\",cube=\"sy1\",dir=\"in\"} 7\n"
				 "syn_packets_total{service=\"synflood\",cube=\"sy2\",dir=\"in\"} 5\n");
	assert_int_equal(src[0].dropped + src[1].dropped, 0);
	free(out);
}

/* Quotes, backslashes and newlines in values and HELP are escaped; labels
 * are sorted by name; bad keys, reserved keys and repeated keys drop the
 * sample; non-UTF-8 drops it too. */
static void test_labels(void **state)
{
	static struct fake a;
	struct broker_cm_source src = { .service = "dynmon", .reply = &a.r };
	Cubemesh__InstanceMetrics *i;
	Cubemesh__MetricFamily *f;
	char *out;

	fake_init(&a);
	i = inst(&a, "dy1");
	f = fam(&a, i, "pkts", G, "a \"quoted\"\nhelp \\");
	sample(&a, f, 1, "z", "last", "a", "x\"} 99\nevil_total 1\\", NULL);
	sample(&a, f, 2, "bad-key", "v", NULL);
	sample(&a, f, 3, "service", "spoof", NULL);
	sample(&a, f, 4, "cube", "spoof", NULL);
	sample(&a, f, 5, "__name__", "x", NULL);
	sample(&a, f, 6, "k", "1", "k", "2", NULL);
	sample(&a, f, 7, "k", "\xff\xfe", NULL);
	sample(&a, f, 8, "k", "\xc3\xa9t\xc3\xa9", NULL);
	out = merge(&src, 1);
	assert_string_equal(out, "# TYPE pkts gauge\n"
				 "# HELP pkts a \\\"quoted\\\"\\nhelp \\\\\n"
				 "pkts{service=\"dynmon\",cube=\"dy1\",a=\"x\\\"} 99\\nevil_total 1\\\\\",z=\"last\"} 1\n"
				 "pkts{service=\"dynmon\",cube=\"dy1\",k=\"\xc3\xa9t\xc3\xa9\"} 8\n");
	assert_int_equal(src.dropped, 6);
	assert_true(src.warned & (1u << BROKER_CM_BAD_LABEL));
	free(out);
}

/* Names: malformed, the broker's own, a counter named with _total, an
 * unknown type, a bad HELP: the family is dropped with its samples. */
static void test_names(void **state)
{
	static struct fake a;
	struct broker_cm_source src = { .service = "dynmon", .reply = &a.r };
	Cubemesh__InstanceMetrics *i;
	char *out;

	fake_init(&a);
	i = inst(&a, "dy1");
	sample(&a, fam(&a, i, "1abc", G, NULL), 1, NULL);
	sample(&a, fam(&a, i, "a b", G, NULL), 1, NULL);
	sample(&a, fam(&a, i, "x\n# EOF", G, NULL), 1, NULL);
	sample(&a, fam(&a, i, "", G, NULL), 1, NULL);
	sample(&a, fam(&a, i, "cubemesh_service_up", G, NULL), 1, NULL);
	sample(&a, fam(&a, i, "req_total", C, NULL), 1, NULL);
	sample(&a, fam(&a, i, "req_created", C, NULL), 1, NULL);
	sample(&a, fam(&a, i, "weird", 7, NULL), 1, NULL);
	sample(&a, fam(&a, i, "badhelp", G, "\xc0\x80"), 1, NULL);
	sample(&a, fam(&a, i, "ns:ok_1", G, NULL), 1, NULL);
	out = merge(&src, 1);
	assert_string_equal(out, "# TYPE ns:ok_1 gauge\nns:ok_1{service=\"dynmon\",cube=\"dy1\"} 1\n");
	assert_int_equal(src.dropped, 9);
	assert_true(src.warned & (1u << BROKER_CM_RESERVED));
	assert_true(src.warned & (1u << BROKER_CM_BAD_TYPE));
	assert_true(src.warned & (1u << BROKER_CM_BAD_HELP));
	free(out);
}

/* NaN anywhere, negative or infinite counters are dropped; a gauge may be
 * infinite. */
static void test_values(void **state)
{
	static struct fake a;
	struct broker_cm_source src = { .service = "dynmon", .reply = &a.r };
	Cubemesh__InstanceMetrics *i;
	Cubemesh__MetricFamily *c, *g;
	char *out;

	fake_init(&a);
	i = inst(&a, "dy1");
	c = fam(&a, i, "c", C, NULL);
	g = fam(&a, i, "g", G, NULL);
	sample(&a, c, NAN, "k", "1", NULL);
	sample(&a, c, -1, "k", "2", NULL);
	sample(&a, c, INFINITY, "k", "3", NULL);
	sample(&a, c, 3, "k", "4", NULL);
	sample(&a, g, NAN, "k", "1", NULL);
	sample(&a, g, -INFINITY, "k", "2", NULL);
	sample(&a, g, -0.5, "k", "3", NULL);
	out = merge(&src, 1);
	assert_string_equal(out, "# TYPE c counter\n"
				 "c_total{service=\"dynmon\",cube=\"dy1\",k=\"4\"} 3\n"
				 "# TYPE g gauge\n"
				 "g{service=\"dynmon\",cube=\"dy1\",k=\"2\"} -Inf\n"
				 "g{service=\"dynmon\",cube=\"dy1\",k=\"3\"} -0.5\n");
	assert_int_equal(src.dropped, 4);
	free(out);
}

/* A second type for a family (the first seen wins), a gauge that would
 * read as a counter's sample, a repeated label set, an instance that is
 * not the service's. */
static void test_clashes(void **state)
{
	static struct fake a, b;
	struct broker_cm_source src[2] = { { .service = "aa", .reply = &a.r }, { .service = "bb", .reply = &b.r } };
	Cubemesh__InstanceMetrics *i;
	Cubemesh__MetricFamily *f;
	char *out;

	fake_init(&a);
	fake_init(&b);
	i = inst(&a, "aa1");
	sample(&a, fam(&a, i, "m", C, NULL), 1, NULL);
	f = fam(&a, i, "d", G, NULL);
	sample(&a, f, 1, "k", "v", NULL);
	sample(&a, f, 2, "k", "v", NULL);
	sample(&a, fam(&a, inst(&a, "ghost"), "g", G, NULL), 1, NULL);
	sample(&a, fam(&a, inst(&a, "bb1"), "h", G, NULL), 1, NULL);
	i = inst(&b, "bb1");
	sample(&b, fam(&b, i, "m", G, NULL), 2, NULL);
	sample(&b, fam(&b, i, "m_total", G, NULL), 2, NULL);
	sample(&b, fam(&b, i, "m_created", G, NULL), 2, NULL);
	sample(&b, fam(&b, i, "n_total", G, NULL), 2, NULL);
	out = merge(src, 2);
	assert_string_equal(out, "# TYPE d gauge\n"
				 "d{service=\"aa\",cube=\"aa1\",k=\"v\"} 1\n"
				 "# TYPE m counter\n"
				 "m_total{service=\"aa\",cube=\"aa1\"} 1\n"
				 "# TYPE n_total gauge\n"
				 "n_total{service=\"bb\",cube=\"bb1\"} 2\n");
	assert_int_equal(src[0].dropped, 3);
	assert_int_equal(src[1].dropped, 3);
	assert_true(src[0].warned & (1u << BROKER_CM_DUPLICATE));
	assert_true(src[0].warned & (1u << BROKER_CM_UNKNOWN_INSTANCE));
	assert_true(src[1].warned & (1u << BROKER_CM_TYPE_CLASH));
	assert_true(src[1].warned & (1u << BROKER_CM_NAME_CLASH));
	free(out);
}

/* More samples than one process may send: the rest are dropped. */
static void test_bound(void **state)
{
	size_t n = BROKER_CM_MAX_SAMPLES + 10;
	Cubemesh__MetricsReply r = CUBEMESH__METRICS_REPLY__INIT;
	Cubemesh__InstanceMetrics im = CUBEMESH__INSTANCE_METRICS__INIT, *pim = &im;
	Cubemesh__MetricFamily f = CUBEMESH__METRIC_FAMILY__INIT, *pf = &f;
	Cubemesh__MetricSample *s = calloc(n, sizeof(*s)), **ps = calloc(n, sizeof(*ps));
	Cubemesh__MetricLabel *l = calloc(n, sizeof(*l)), **pl = calloc(n, sizeof(*pl));
	char (*v)[16] = calloc(n, sizeof(*v));
	struct broker_cm_source src = { .service = "dd", .reply = &r };
	char *out;

	for (size_t k = 0; k < n; k++) {
		cubemesh__metric_sample__init(&s[k]);
		cubemesh__metric_label__init(&l[k]);
		snprintf(v[k], sizeof(v[k]), "%zu", k);
		l[k].name = "i";
		l[k].value = v[k];
		pl[k] = &l[k];
		s[k].labels = &pl[k];
		s[k].n_labels = 1;
		s[k].value = (double)k;
		ps[k] = &s[k];
	}
	f.name = "many";
	f.type = CUBEMESH__METRIC_TYPE__METRIC_GAUGE;
	f.samples = ps;
	f.n_samples = n;
	im.instance = "dd1";
	im.families = &pf;
	im.n_families = 1;
	r.instances = &pim;
	r.n_instances = 1;
	out = merge(&src, 1);
	assert_int_equal(src.dropped, 10);
	assert_true(src.warned & (1u << BROKER_CM_TOO_MANY));
	free(out);
	free(s);
	free(ps);
	free(l);
	free(pl);
	free(v);
}

/* A process that did not answer is simply absent. */
static void test_absent(void **state)
{
	struct broker_cm_source src = { .service = "gone", .reply = NULL };
	char *out = merge(&src, 1);

	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_families), cmocka_unit_test(test_labels), cmocka_unit_test(test_names),
		cmocka_unit_test(test_values),	       cmocka_unit_test(test_clashes), cmocka_unit_test(test_bound),
		cmocka_unit_test(test_absent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
