/* dynmon's metrics: each metric config's map read (dynmon_read.c) and
 * written out as the model's metrics (Polycube's JSON), its open-metrics
 * (Polycube's OpenMetrics text) and samples for the gateway's /metrics. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dynmon_int.h"

/* The map a metric config of dir names: the direction's own, else a
 * shared one. */
static const struct dm_map *metric_map(const struct dm_path *p, const char *name)
{
	const struct dm_map *shared = NULL;

	for (size_t i = 0; i < p->n_maps; i++) {
		if (strcmp(p->maps[i].name, name) != 0 || p->maps[i].fd < 0)
			continue;
		if (strncmp(p->maps[i].obj_name, "dm_", 3) != 0)
			return &p->maps[i];
		shared = &p->maps[i];
	}
	return shared;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polycube's JSON for a read: [v, ...] or [{"key": k, "value": v}, ...]. */
static void json_samples(FILE *f, const struct dm_sample *s, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		if (s[i].keyed)
			fprintf(f, "{\"key\": %s, \"value\": ", s[i].key ? s[i].key : "null");
		if (s[i].numeric)
			fprintf(f, "%" PRIu64, s[i].value);
		else
			fputs(s[i].text ? s[i].text : "null", f);
		if (s[i].keyed)
			fputc('}', f);
	}
	fputc(']', f);
}

int dynmon_read_metrics(struct pcn_instance *inst, struct pcn_state *st)
{
	struct dynmon *d = pcn_instance_priv(inst);
	int rc = 0;

	for (int dir = 0; d && !rc && dir < 2; dir++) {
		const struct dm_path *p = &d->path[dir];

		for (size_t i = 0; !rc && i < p->n_metrics; i++) {
			const struct dm_metric *c = &p->metrics[i];
			const struct dm_map *m = metric_map(p, c->map);
			struct dm_sample *s = NULL;
			char path[256], *text = NULL;
			size_t n = 0, len = 0;
			FILE *f;
			int r;

			if (!m) {
				PCN_DEBUG("DYNMON-NO-MAP", "%s: metric %s: the %s code has no map %s",
					  pcn_instance_name(inst), c->name, dm_dir_name[dir], c->map);
				continue;
			}
			r = dm_read(m, c, DM_READ_OPTIONS, &s, &n);
			if (r) {
				PCN_WARN("DYNMON-READ", "%s: cannot read map %s: %s", pcn_instance_name(inst),
					 c->map, strerror(-r));
				continue;
			}
			f = open_memstream(&text, &len);
			if (!f) {
				dm_samples_free(s, n);
				return -ENOMEM;
			}
			json_samples(f, s, n);
			fclose(f);
			dm_samples_free(s, n);
			snprintf(path, sizeof(path), "metrics/%s-metrics[name='%s']/value", dm_dir_name[dir], c->name);
			rc = pcn_state_set(st, path, "%s", text);
			free(text);
			snprintf(path, sizeof(path), "metrics/%s-metrics[name='%s']/timestamp", dm_dir_name[dir],
				 c->name);
			if (!rc)
				rc = pcn_state_set(st, path, "%" PRId64, now_ms());
		}
	}
	return rc;
}

static const char *om_type_name(enum dm_om_type t)
{
	static const char *const names[] = { "counter", "gauge", "histogram", "summary", "untyped" };

	return names[t];
}

/* A label value or HELP text, escaped as OpenMetrics wants. */
static void om_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* Polycube's text for one metric: each value its own sample, named
 * <name> when the map has one value and <name>_<i> otherwise, with the
 * config's labels (and a hash map's key as label "key"); HELP and TYPE
 * before each family. */
static void om_metric(FILE *f, const struct dm_metric *c, const struct dm_sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char fam[160];

		if (!s[i].numeric)
			continue; /* OpenMetrics has numbers only (Polycube skips them too) */
		if (n == 1 || s[i].keyed)
			snprintf(fam, sizeof(fam), "%s", c->name);
		else
			snprintf(fam, sizeof(fam), "%s_%zu", c->name, i);
		if (i == 0 || !s[i].keyed) {
			fprintf(f, "# HELP %s ", fam);
			om_escape(f, c->help ? c->help : "");
			fprintf(f, "\n# TYPE %s %s\n", fam, om_type_name(c->type));
		}
		fprintf(f, "%s{", fam);
		for (size_t j = 0; j < c->n_labels; j++) {
			fprintf(f, "%s%s=\"", j ? "," : "", c->labels[j].name);
			om_escape(f, c->labels[j].value);
			fputc('"', f);
		}
		if (s[i].keyed) {
			char k[512];

			dm_key_label(&s[i], k, sizeof(k));
			fprintf(f, "%skey=\"", c->n_labels ? "," : "");
			om_escape(f, k);
			fputc('"', f);
		}
		fprintf(f, "} %" PRIu64 "\n", s[i].value);
	}
}

int dynmon_read_open_metrics(struct pcn_instance *inst, struct pcn_state *st)
{
	struct dynmon *d = pcn_instance_priv(inst);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return -ENOMEM;
	for (int dir = 0; d && dir < 2; dir++) {
		const struct dm_path *p = &d->path[dir];

		for (size_t i = 0; i < p->n_metrics; i++) {
			const struct dm_metric *c = &p->metrics[i];
			const struct dm_map *m = metric_map(p, c->map);
			struct dm_sample *s = NULL;
			size_t n = 0;

			if (!c->om || !m || dm_read(m, c, DM_READ_OPTIONS, &s, &n))
				continue;
			om_metric(f, c, s, n);
			dm_samples_free(s, n);
		}
	}
	fclose(f);
	rc = pcn_state_set(st, "open-metrics", "%s", text ? text : "");
	free(text);
	return rc;
}

/* The gateway's GET /metrics: every metric with OpenMetrics metadata of
 * type counter, gauge or untyped (as a gauge), read without swapping or
 * emptying (a scrape must not take counts away from the model's readers,
 * nor make a counter go back), one sample per value, labelled with the
 * config's labels, path="ingress"|"egress", and index="<i>" (an array of
 * more than one value) or key="<k>" (a hash map). A counter's name loses
 * a "_total" the user gave it: the broker adds its own. */
int dynmon_gateway_metrics(struct pcn_instance *inst, struct pcn_metrics *mx)
{
	struct dynmon *d = pcn_instance_priv(inst);

	for (int dir = 0; d && dir < 2; dir++) {
		const struct dm_path *p = &d->path[dir];

		for (size_t i = 0; i < p->n_metrics; i++) {
			const struct dm_metric *c = &p->metrics[i];
			const struct dm_map *m = metric_map(p, c->map);
			enum pcn_metric_type type = c->type == DM_OM_COUNTER ? PCN_METRIC_COUNTER : PCN_METRIC_GAUGE;
			struct dm_sample *s = NULL;
			char name[160];
			size_t n = 0, nl;

			if (!c->om || !m || c->type == DM_OM_HISTOGRAM || c->type == DM_OM_SUMMARY)
				continue;
			if (dm_read(m, c, DM_READ_PEEK, &s, &n))
				continue;
			snprintf(name, sizeof(name), "%s", c->name);
			nl = strlen(name);
			if (type == PCN_METRIC_COUNTER && nl > 6 && strcmp(name + nl - 6, "_total") == 0)
				name[nl - 6] = '\0';
			for (size_t k = 0; k < n; k++) {
				const char *labels[2 * 19 + 1];
				char idx[32], key[512];
				size_t nlab = 0;

				if (!s[k].numeric)
					continue;
				for (size_t j = 0; j < c->n_labels && j < 14; j++) {
					labels[nlab++] = c->labels[j].name;
					labels[nlab++] = c->labels[j].value;
				}
				labels[nlab++] = "path";
				labels[nlab++] = dm_dir_name[dir];
				if (s[k].keyed) {
					dm_key_label(&s[k], key, sizeof(key));
					labels[nlab++] = "key";
					labels[nlab++] = key;
				} else if (n > 1) {
					snprintf(idx, sizeof(idx), "%zu", k);
					labels[nlab++] = "index";
					labels[nlab++] = idx;
				}
				labels[nlab] = NULL;
				if (pcn_metric_add(mx, name, type, c->help ? c->help : "", labels, (double)s[k].value) ==
				    -ENOSPC)
					break;
			}
			dm_samples_free(s, n);
		}
	}
	return 0;
}
