/* The cube's metrics for the gateway's GET /metrics: each instance's
 * metrics callback adds samples (pcn_metric_add), grouped here by family
 * into one MetricsReply. The broker checks it all again (it trusts no cube
 * process), adds the service and cube labels, merges and prints.
 * Owns: struct pcn_metrics (one collection). Called by runtime.c. */
#include "pcn_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "openmetrics.h"

/* What one process may put in a reply: far below PCN_IPC_MAX_MSG, and what
 * a scrape can carry without the broker's answer growing unreasonably. */
#define METRICS_MAX_SAMPLES 65536
#define METRICS_MAX_BYTES (4u << 20)

struct pcn_metrics {
	Cubemesh__InstanceMetrics *im; /* the instance being collected */
	size_t cap_fam;
	size_t samples, bytes;         /* the whole reply's */
	int err;                       /* first -ENOMEM */
};

static void sample_free(Cubemesh__MetricSample *s)
{
	for (size_t i = 0; i < s->n_labels; i++) {
		free(s->labels[i]->name);
		free(s->labels[i]->value);
		free(s->labels[i]);
	}
	free(s->labels);
	free(s);
}

static void family_free(Cubemesh__MetricFamily *f)
{
	for (size_t i = 0; i < f->n_samples; i++)
		sample_free(f->samples[i]);
	free(f->samples);
	free(f->name);
	free(f->help);
	free(f);
}

static void instance_free(Cubemesh__InstanceMetrics *im)
{
	if (!im)
		return;
	for (size_t i = 0; i < im->n_families; i++)
		family_free(im->families[i]);
	free(im->families);
	free(im->instance);
	free(im);
}

void pcn__metrics_reply_free(Cubemesh__MetricsReply *r)
{
	for (size_t i = 0; i < r->n_instances; i++)
		instance_free(r->instances[i]);
	free(r->instances);
	r->instances = NULL;
	r->n_instances = 0;
}

static bool reserved_label(const char *k)
{
	return strcmp(k, "service") == 0 || strcmp(k, "cube") == 0;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n >= k && strcmp(s + n - k, suf) == 0;
}

/* 0 or -EINVAL: the same rules as the broker's (broker/control/cube_metrics_merge.c). */
static int sample_check(const char *name, enum pcn_metric_type type, const char *help, const char *const *labels,
			double value, size_t *n_labels, size_t *bytes)
{
	size_t n = 0;

	if (!pcn_om_name_ok(name) || strncmp(name, "cubemesh_", 9) == 0)
		return -EINVAL;
	if (type != PCN_METRIC_COUNTER && type != PCN_METRIC_GAUGE)
		return -EINVAL;
	if (type == PCN_METRIC_COUNTER && (has_suffix(name, "_total") || has_suffix(name, "_created")))
		return -EINVAL;
	if (help && (!pcn_om_utf8_ok(help, PCN_OM_HELP_MAX) || strchr(help, '\n')))
		return -EINVAL;
	if (isnan(value) || (type == PCN_METRIC_COUNTER && (!isfinite(value) || value < 0)))
		return -EINVAL;
	*bytes = strlen(name) + (help ? strlen(help) : 0) + 16;
	for (; labels && labels[2 * n]; n++) {
		const char *k = labels[2 * n], *v = labels[2 * n + 1];

		if (n >= PCN_OM_LABELS_MAX || !v || !pcn_om_label_ok(k) || reserved_label(k) ||
		    !pcn_om_utf8_ok(v, PCN_OM_VALUE_MAX))
			return -EINVAL;
		for (size_t j = 0; j < n; j++)
			if (strcmp(labels[2 * j], k) == 0)
				return -EINVAL;
		*bytes += strlen(k) + strlen(v) + 8;
	}
	*n_labels = n;
	return 0;
}

static Cubemesh__MetricFamily *family_get(struct pcn_metrics *m, const char *name, enum pcn_metric_type type,
					  const char *help)
{
	Cubemesh__InstanceMetrics *im = m->im;
	Cubemesh__MetricFamily *f;

	/* The last family first: a callback usually adds a family's samples
	 * together. */
	for (size_t i = im->n_families; i-- > 0;)
		if (strcmp(im->families[i]->name, name) == 0)
			return (int)im->families[i]->type == (int)type ? im->families[i] : NULL;
	if (im->n_families == m->cap_fam) {
		size_t cap = m->cap_fam ? 2 * m->cap_fam : 8;
		Cubemesh__MetricFamily **p = realloc(im->families, cap * sizeof(*p));

		if (!p)
			return NULL;
		im->families = p;
		m->cap_fam = cap;
	}
	f = malloc(sizeof(*f));
	if (!f)
		return NULL;
	cubemesh__metric_family__init(f);
	f->name = strdup(name);
	f->type = type == PCN_METRIC_COUNTER ? CUBEMESH__METRIC_TYPE__METRIC_COUNTER
					     : CUBEMESH__METRIC_TYPE__METRIC_GAUGE;
	f->help = help ? strdup(help) : NULL;
	if (!f->name || (help && !f->help)) {
		family_free(f);
		return NULL;
	}
	im->families[im->n_families++] = f;
	return f;
}

int pcn_metric_add(struct pcn_metrics *m, const char *name, enum pcn_metric_type type, const char *help,
		   const char *const *labels, double value)
{
	Cubemesh__MetricFamily *f;
	Cubemesh__MetricSample *s, **ps;
	size_t n_labels = 0, bytes = 0;

	if (!m || !m->im)
		return -EINVAL;
	if (sample_check(name, type, help, labels, value, &n_labels, &bytes))
		return -EINVAL;
	if (m->samples >= METRICS_MAX_SAMPLES || m->bytes + bytes > METRICS_MAX_BYTES)
		return -ENOSPC;
	f = family_get(m, name, type, help);
	if (!f) {
		/* Either a second type for one name, or out of memory. */
		for (size_t i = 0; i < m->im->n_families; i++)
			if (strcmp(m->im->families[i]->name, name) == 0)
				return -EINVAL;
		return m->err = -ENOMEM;
	}
	/* Families grow one sample at a time: double their arrays at powers
	 * of two (n_samples is the capacity's marker). */
	if ((f->n_samples & (f->n_samples - 1)) == 0) {
		ps = realloc(f->samples, (f->n_samples ? 2 * f->n_samples : 1) * sizeof(*ps));
		if (!ps)
			return m->err = -ENOMEM;
		f->samples = ps;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return m->err = -ENOMEM;
	cubemesh__metric_sample__init(s);
	s->value = value;
	if (n_labels) {
		s->labels = calloc(n_labels, sizeof(*s->labels));
		if (!s->labels) {
			free(s);
			return m->err = -ENOMEM;
		}
		for (size_t i = 0; i < n_labels; i++) {
			Cubemesh__MetricLabel *l = malloc(sizeof(*l));

			if (!l) {
				sample_free(s);
				return m->err = -ENOMEM;
			}
			cubemesh__metric_label__init(l);
			l->name = strdup(labels[2 * i]);
			l->value = strdup(labels[2 * i + 1]);
			s->labels[s->n_labels++] = l;
			if (!l->name || !l->value) {
				sample_free(s);
				return m->err = -ENOMEM;
			}
		}
	}
	f->samples[f->n_samples++] = s;
	m->samples++;
	m->bytes += bytes;
	return 0;
}

int pcn__metrics_collect(struct pcn__runtime *rt, Cubemesh__MetricsReply *out)
{
	struct pcn_metrics m = { 0 };
	size_t n = 0;

	cubemesh__metrics_reply__init(out);
	if (!rt->desc->metrics)
		return 0;
	for (struct pcn_instance *i = rt->instances; i; i = i->next)
		n++;
	if (!n)
		return 0;
	out->instances = calloc(n, sizeof(*out->instances));
	if (!out->instances)
		return -ENOMEM;
	for (struct pcn_instance *i = rt->instances; i; i = i->next) {
		Cubemesh__InstanceMetrics *im = calloc(1, sizeof(*im));
		int rc;

		if (!im)
			goto nomem;
		cubemesh__instance_metrics__init(im);
		im->instance = strdup(i->name);
		if (!im->instance) {
			free(im);
			goto nomem;
		}
		m.im = im;
		m.cap_fam = 0;
		i->err = 0;
		i->err_msg[0] = '\0';
		rc = rt->desc->metrics(i, &m);
		if (m.err) {
			instance_free(im);
			goto nomem;
		}
		if (rc) {
			PCN_WARN("CUBE-METRICS-FAIL", "instance %s: the metrics callback failed: %s", i->name,
				 i->err_msg[0] ? i->err_msg : strerror(-rc));
			instance_free(im);
			continue;
		}
		out->instances[out->n_instances++] = im;
	}
	return 0;
nomem:
	pcn__metrics_reply_free(out);
	return -ENOMEM;
}
