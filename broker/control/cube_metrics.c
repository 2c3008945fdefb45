/* GET /metrics, the cubes' part: every up service that declared a metrics
 * callback (Register.metrics) is asked at once (MetricsRequest), each
 * call bounded; when the last has answered or timed out, the replies are
 * checked and merged (cube_metrics_merge.c) and the caller gets the text.
 * A cube that is slow, stopped or gone is only absent from this scrape,
 * and counted (broker_service.metrics_timeouts).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "core/tables.h"
#include "log.h"

struct cm_gather {
	struct broker *b;
	size_t n, remaining;
	struct broker_cm_source *srcs;
	/* The services' names (a service is looked up again at the end: the
	 * list may have changed meanwhile). */
	char (*names)[BROKER_NAME_MAX];
	Cubemesh__MetricsReply **replies;
	broker_cm_done done;
	void *arg;
};

struct cm_call {
	struct cm_gather *g;
	size_t idx;
};

static bool instance_of(void *arg, const char *service, const char *instance)
{
	struct broker *b = arg;
	struct broker_instance *i = broker_instance_find(b, instance);

	return i && strcmp(i->service, service) == 0;
}

static void gather_finish(struct cm_gather *g)
{
	struct broker *b = g->b;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	for (size_t i = 0; i < g->n; i++) {
		struct broker_service *svc = broker_service_find(b, g->names[i]);

		g->srcs[i].service = g->names[i];
		g->srcs[i].reply = g->replies[i];
		g->srcs[i].warned = svc ? svc->metrics_warned : 0;
	}
	if (!f || broker_cube_metrics_merge(g->srcs, g->n, instance_of, b, f)) {
		PCN_WARN("BROKER-METRICS-NOMEM", "cannot merge the cubes' metrics: out of memory");
		if (f)
			fclose(f);
		free(text);
		text = NULL;
		len = 0;
	} else if (fclose(f)) {
		free(text);
		text = NULL;
		len = 0;
	}
	for (size_t i = 0; i < g->n; i++) {
		struct broker_service *svc = broker_service_find(b, g->names[i]);

		if (svc) {
			svc->metrics_dropped += g->srcs[i].dropped;
			svc->metrics_warned = g->srcs[i].warned;
		}
		if (g->replies[i])
			protobuf_c_message_free_unpacked(&g->replies[i]->base, NULL);
	}
	g->done(b, g->arg, len ? text : NULL, len);
	free(text);
	free(g->srcs);
	free(g->names);
	free(g->replies);
	free(g);
}

static void cm_call_cb(struct broker *b, void *arg, const struct broker_error *err, Cubemesh__CubeReply *reply)
{
	struct cm_call *c = arg;
	struct cm_gather *g = c->g;
	size_t idx = c->idx;

	free(c);
	if (err) {
		struct broker_service *svc = broker_service_find(b, g->names[idx]);

		if (err->http_status == 504 && svc)
			svc->metrics_timeouts++;
		if (err->http_status == 502 && svc) {
			svc->metrics_dropped++;
			if (!(svc->metrics_warned & (1u << BROKER_CM_TOO_MANY))) {
				svc->metrics_warned |= 1u << BROKER_CM_TOO_MANY;
				PCN_WARN("BROKER-METRICS-DROP", "%s: dropped its whole metrics reply: %s (logged once)",
					 g->names[idx], err->message);
			}
		}
		PCN_DEBUG("BROKER-METRICS-ABSENT", "%s: no metrics in this scrape: %s", g->names[idx], err->message);
	} else if (reply && reply->body_case == CUBEMESH__CUBE_REPLY__BODY_METRICS) {
		/* Kept past the reply (freed once every call is back): taken
		 * out of it, so that freeing the reply leaves it alone. */
		g->replies[idx] = reply->metrics;
		reply->metrics = NULL;
		reply->body_case = CUBEMESH__CUBE_REPLY__BODY__NOT_SET;
	}
	if (--g->remaining == 0)
		gather_finish(g);
}

void broker_cube_metrics_gather(struct broker *b, unsigned timeout_ms, broker_cm_done done, void *arg)
{
	Cubemesh__CubeRequest req = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__MetricsRequest mreq = CUBEMESH__METRICS_REQUEST__INIT;
	struct cm_gather *g = calloc(1, sizeof(*g));
	size_t n = 0;

	for (struct broker_service *s = b->services; s; s = s->next)
		n += s->metrics && s->state == BROKER_SVC_UP;
	if (!g || !n) {
		free(g);
		done(b, arg, NULL, 0);
		return;
	}
	g->b = b;
	g->done = done;
	g->arg = arg;
	g->srcs = calloc(n, sizeof(*g->srcs));
	g->names = calloc(n, sizeof(*g->names));
	g->replies = calloc(n, sizeof(*g->replies));
	if (!g->srcs || !g->names || !g->replies) {
		g->n = 0;
		gather_finish(g);
		return;
	}
	req.body_case = CUBEMESH__CUBE_REQUEST__BODY_METRICS;
	req.metrics = &mreq;
	/* One reference for this loop, so that a call failing at once does
	 * not finish the gather before the others are asked. */
	g->remaining = 1;
	for (struct broker_service *s = b->services; s && g->n < n; s = s->next) {
		struct cm_call *c;

		if (!s->metrics || s->state != BROKER_SVC_UP)
			continue;
		snprintf(g->names[g->n], sizeof(g->names[0]), "%s", s->name);
		c = malloc(sizeof(*c));
		if (!c) {
			g->n++;
			continue;
		}
		c->g = g;
		c->idx = g->n++;
		g->remaining++;
		if (broker_cube_call_ms(b, s, &req, timeout_ms, BROKER_CM_MAX_REPLY, cm_call_cb, c)) {
			g->remaining--;
			free(c);
		}
	}
	if (--g->remaining == 0)
		gather_finish(g);
}
