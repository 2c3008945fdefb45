/* The cubes' metrics, checked and merged into OpenMetrics text.
 *
 * What a cube process sends is not trusted: a bad name, a label that
 * would break out of its quotes, a value that is no number, more than a
 * scrape should carry, an instance that is not the service's. Each such
 * sample (or family) is dropped, counted for its service and logged once
 * per kind (BROKER-METRICS-DROP); what is printed is always well-formed.
 * Families of one name from every process and instance are one family:
 * one TYPE and HELP (the first seen), samples together, a second type
 * dropped. Pure: no loop, no sockets (cube_metrics.c gathers).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "log.h"
#include "openmetrics.h"

static const char *const drop_names[BROKER_CM_DROP_KINDS] = {
	[BROKER_CM_BAD_NAME] = "a malformed metric name",
	[BROKER_CM_RESERVED] = "a name of the broker's (cubemesh_*)",
	[BROKER_CM_BAD_TYPE] = "an unknown metric type",
	[BROKER_CM_BAD_HELP] = "a HELP that is not UTF-8 or too long",
	[BROKER_CM_TYPE_CLASH] = "a family another cube or instance gives another type",
	[BROKER_CM_NAME_CLASH] = "a gauge named like a counter's _total or _created sample",
	[BROKER_CM_BAD_LABEL] = "a malformed, reserved, repeated or non-UTF-8 label",
	[BROKER_CM_BAD_VALUE] = "a NaN, or a counter that is negative or infinite",
	[BROKER_CM_DUPLICATE] = "a second sample with the same labels",
	[BROKER_CM_TOO_MANY] = "samples past the bound of one process",
	[BROKER_CM_UNKNOWN_INSTANCE] = "an instance the service does not have",
};

/* For a log line: at most 64 printable ASCII characters of s. */
static const char *printable(const char *s, char *buf, size_t n)
{
	size_t i;

	if (!s)
		return "(null)";
	for (i = 0; s[i] && i + 1 < n && i < 64; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static void drop(struct broker_cm_source *src, enum broker_cm_drop kind, uint64_t n, const char *instance,
		 const char *name)
{
	char b1[72], b2[72];

	src->dropped += n;
	if (src->warned & (1u << kind))
		return;
	src->warned |= 1u << kind;
	PCN_WARN("BROKER-METRICS-DROP", "%s: dropped metrics of instance %s, family %s: %s (logged once per kind)",
		 src->service, printable(instance, b1, sizeof(b1)), printable(name, b2, sizeof(b2)),
		 drop_names[kind]);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n >= k && strcmp(s + n - k, suf) == 0;
}

/* One family of one instance of one process, as it came. */
struct fam_ref {
	const Cubemesh__MetricFamily *f;
	const char *instance;
	size_t src;
	size_t seq;
	bool dropped;
};

static int fam_cmp(const void *a, const void *b)
{
	const struct fam_ref *x = a, *y = b;
	int c = strcmp(x->f->name, y->f->name);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* One printed sample: its label set (canonical: service, cube, then the
 * cube's labels by name), the key to find a duplicate by. */
struct line {
	char *labels;
	double value;
	size_t seq;
	struct broker_cm_source *src;
	const char *instance;
};

static int line_cmp(const void *a, const void *b)
{
	const struct line *x = a, *y = b;
	int c = strcmp(x->labels, y->labels);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int label_cmp(const void *a, const void *b)
{
	const Cubemesh__MetricLabel *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* The sample's label text, or NULL (invalid: *why says so; or -ENOMEM in
 * *err). */
static char *sample_labels(const char *service, const char *instance, const Cubemesh__MetricSample *s, int *err)
{
	const Cubemesh__MetricLabel *sorted[PCN_OM_LABELS_MAX];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (s->n_labels > PCN_OM_LABELS_MAX)
		return NULL;
	for (size_t i = 0; i < s->n_labels; i++) {
		const Cubemesh__MetricLabel *l = s->labels[i];

		if (!l->name || !l->value || !pcn_om_label_ok(l->name) || strcmp(l->name, "service") == 0 ||
		    strcmp(l->name, "cube") == 0 || !pcn_om_utf8_ok(l->value, PCN_OM_VALUE_MAX))
			return NULL;
		sorted[i] = l;
	}
	qsort(sorted, s->n_labels, sizeof(sorted[0]), label_cmp);
	for (size_t i = 1; i < s->n_labels; i++)
		if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0)
			return NULL;
	f = open_memstream(&buf, &len);
	if (!f) {
		*err = -ENOMEM;
		return NULL;
	}
	fputs("{service=\"", f);
	pcn_om_escape(f, service);
	fputs("\",cube=\"", f);
	pcn_om_escape(f, instance);
	fputc('"', f);
	for (size_t i = 0; i < s->n_labels; i++) {
		fprintf(f, ",%s=\"", sorted[i]->name);
		pcn_om_escape(f, sorted[i]->value);
		fputc('"', f);
	}
	fputc('}', f);
	if (fclose(f)) {
		free(buf);
		*err = -ENOMEM;
		return NULL;
	}
	return buf;
}

static bool family_ok(struct broker_cm_source *src, const char *instance, const Cubemesh__MetricFamily *f)
{
	if (!pcn_om_name_ok(f->name)) {
		drop(src, BROKER_CM_BAD_NAME, f->n_samples, instance, f->name);
		return false;
	}
	if (strncmp(f->name, "cubemesh_", 9) == 0) {
		drop(src, BROKER_CM_RESERVED, f->n_samples, instance, f->name);
		return false;
	}
	if ((f->type != CUBEMESH__METRIC_TYPE__METRIC_COUNTER && f->type != CUBEMESH__METRIC_TYPE__METRIC_GAUGE) ||
	    (f->type == CUBEMESH__METRIC_TYPE__METRIC_COUNTER &&
	     (has_suffix(f->name, "_total") || has_suffix(f->name, "_created")))) {
		drop(src, f->type == CUBEMESH__METRIC_TYPE__METRIC_COUNTER ? BROKER_CM_BAD_NAME : BROKER_CM_BAD_TYPE,
		     f->n_samples, instance, f->name);
		return false;
	}
	if (f->help && !pcn_om_utf8_ok(f->help, PCN_OM_HELP_MAX)) {
		drop(src, BROKER_CM_BAD_HELP, f->n_samples, instance, f->name);
		return false;
	}
	return true;
}

/* A gauge whose name is <counter>_total or <counter>_created would read as
 * that counter's sample. refs[0..n) is sorted by name. */
static bool counter_named(const struct fam_ref *refs, size_t n, const char *name, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(refs[mid].f->name, name, len);

		if (c == 0 && refs[mid].f->name[len])
			c = 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && strncmp(refs[lo].f->name, name, len) == 0 && !refs[lo].f->name[len]; lo++)
		if (!refs[lo].dropped && refs[lo].f->type == CUBEMESH__METRIC_TYPE__METRIC_COUNTER)
			return true;
	return false;
}

/* Prints the group refs[0..n) (one name, kept ones of one type). */
static int print_family(FILE *out, struct fam_ref *refs, size_t n, struct broker_cm_source *srcs)
{
	const Cubemesh__MetricFamily *first = NULL;
	struct line *lines = NULL;
	size_t nl = 0, cap = 0, seq = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		struct broker_cm_source *src = &srcs[refs[i].src];

		if (refs[i].dropped)
			continue;
		if (!first)
			first = refs[i].f;
		for (size_t k = 0; k < refs[i].f->n_samples; k++) {
			const Cubemesh__MetricSample *s = refs[i].f->samples[k];
			bool counter = first->type == CUBEMESH__METRIC_TYPE__METRIC_COUNTER;
			char *labels;

			if (isnan(s->value) || (counter && (!isfinite(s->value) || s->value < 0))) {
				drop(src, BROKER_CM_BAD_VALUE, 1, refs[i].instance, first->name);
				continue;
			}
			labels = sample_labels(src->service, refs[i].instance, s, &rc);
			if (rc)
				goto out;
			if (!labels) {
				drop(src, BROKER_CM_BAD_LABEL, 1, refs[i].instance, first->name);
				continue;
			}
			if (src->samples >= BROKER_CM_MAX_SAMPLES ||
			    src->bytes + strlen(labels) + strlen(first->name) + 32 > BROKER_CM_MAX_BYTES) {
				free(labels);
				drop(src, BROKER_CM_TOO_MANY, 1, refs[i].instance, first->name);
				continue;
			}
			src->samples++;
			src->bytes += strlen(labels) + strlen(first->name) + 32;
			if (nl == cap) {
				size_t nc = cap ? 2 * cap : 16;
				struct line *p = realloc(lines, nc * sizeof(*p));

				if (!p) {
					free(labels);
					rc = -ENOMEM;
					goto out;
				}
				lines = p;
				cap = nc;
			}
			lines[nl++] = (struct line){ labels, s->value, seq++, src, refs[i].instance };
		}
	}
	if (!nl)
		goto out;
	qsort(lines, nl, sizeof(*lines), line_cmp);
	fprintf(out, "# TYPE %s %s\n", first->name,
		first->type == CUBEMESH__METRIC_TYPE__METRIC_COUNTER ? "counter" : "gauge");
	if (first->help && first->help[0]) {
		fprintf(out, "# HELP %s ", first->name);
		pcn_om_escape(out, first->help);
		fputc('\n', out);
	}
	for (size_t i = 0; i < nl; i++) {
		if (i && strcmp(lines[i].labels, lines[i - 1].labels) == 0) {
			drop(lines[i].src, BROKER_CM_DUPLICATE, 1, lines[i].instance, first->name);
			continue;
		}
		fprintf(out, "%s%s%s ", first->name, first->type == CUBEMESH__METRIC_TYPE__METRIC_COUNTER ? "_total" : "",
			lines[i].labels);
		pcn_om_value(out, lines[i].value);
		fputc('\n', out);
	}
out:
	for (size_t i = 0; i < nl; i++)
		free(lines[i].labels);
	free(lines);
	return rc;
}

int broker_cube_metrics_merge(struct broker_cm_source *srcs, size_t n_srcs,
			      bool (*instance_ok)(void *arg, const char *service, const char *instance), void *arg,
			      FILE *out)
{
	struct fam_ref *refs = NULL;
	size_t n = 0, cap = 0, seq = 0;
	int rc = 0;

	for (size_t s = 0; s < n_srcs; s++) {
		const Cubemesh__MetricsReply *r = srcs[s].reply;

		srcs[s].samples = srcs[s].bytes = 0;
		for (size_t i = 0; r && i < r->n_instances; i++) {
			const Cubemesh__InstanceMetrics *im = r->instances[i];

			if (!im->instance || !instance_ok(arg, srcs[s].service, im->instance)) {
				for (size_t k = 0; k < im->n_families; k++)
					drop(&srcs[s], BROKER_CM_UNKNOWN_INSTANCE, im->families[k]->n_samples,
					     im->instance, im->families[k]->name);
				continue;
			}
			for (size_t k = 0; k < im->n_families; k++) {
				if (!family_ok(&srcs[s], im->instance, im->families[k]))
					continue;
				if (n == cap) {
					size_t nc = cap ? 2 * cap : 32;
					struct fam_ref *p = realloc(refs, nc * sizeof(*p));

					if (!p) {
						rc = -ENOMEM;
						goto out;
					}
					refs = p;
					cap = nc;
				}
				refs[n++] = (struct fam_ref){ im->families[k], im->instance, s, seq++, false };
			}
		}
	}
	if (n) /* qsort wants an array, even of nothing */
		qsort(refs, n, sizeof(*refs), fam_cmp);
	/* A second type for a name: the first seen (in the order of the
	 * services, then instances) keeps it. */
	for (size_t i = 1, g = 0; i < n; i++) {
		if (strcmp(refs[g].f->name, refs[i].f->name) != 0) {
			g = i;
			continue;
		}
		if (refs[i].f->type != refs[g].f->type) {
			refs[i].dropped = true;
			drop(&srcs[refs[i].src], BROKER_CM_TYPE_CLASH, refs[i].f->n_samples, refs[i].instance,
			     refs[i].f->name);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = refs[i].f->name;
		size_t len = strlen(name);

		if (refs[i].dropped || refs[i].f->type != CUBEMESH__METRIC_TYPE__METRIC_GAUGE)
			continue;
		if ((has_suffix(name, "_total") && counter_named(refs, n, name, len - 6)) ||
		    (has_suffix(name, "_created") && counter_named(refs, n, name, len - 8))) {
			refs[i].dropped = true;
			drop(&srcs[refs[i].src], BROKER_CM_NAME_CLASH, refs[i].f->n_samples, refs[i].instance, name);
		}
	}
	for (size_t i = 0; i < n && !rc;) {
		size_t j = i + 1;

		while (j < n && strcmp(refs[j].f->name, refs[i].f->name) == 0)
			j++;
		rc = print_family(out, refs + i, j - i, srcs);
		i = j;
	}
out:
	free(refs);
	return rc;
}
