/* Fuzz target: a write request's body through validation against the real
 * models, as the broker's write path runs it (instance_write.c): the URL
 * path names a target, broker_config_apply computes and validates the
 * candidate config from the instance's current one and the body, and what
 * it accepts is what the datastore saves and replays at the next start.
 *
 * Input: byte 0 picks the method (bits 0-2) and whether the instance
 * exists first (bit 3); then the path up to the first '\n'; with bit 3 the
 * next line is the body of the POST that created the instance; the rest is
 * the body of the request.
 *
 * Invariants checked beyond ASan/UBSan: a refusal carries a 4xx/5xx; an
 * accepted config prints, parses back (broker_config_parse, as the replay
 * at start and an upgrade do) and prints the same again: the broker must
 * be able to load what it saved. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libyang/libyang.h>

#include "fuzz_common.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum broker_method methods[8] = { BROKER_POST, BROKER_PUT, BROKER_PATCH, BROKER_DELETE,
					       BROKER_GET, BROKER_POST, BROKER_PATCH, BROKER_PUT };

static void check_err(int rc, const struct broker_error *err, const char *what)
{
	if (rc && (err->http_status < 400 || err->http_status > 599))
		fz_fail("%s returned %d with HTTP status %d", what, rc, err->http_status);
}

/* The path of the instance t belongs to, every byte of its name escaped. */
static int instance_target(struct broker_models *m, const struct broker_target *t, struct broker_target *it)
{
	char path[64 + 3 * 64 + 8];
	struct broker_error err = { 0 };
	size_t o;

	o = (size_t)snprintf(path, sizeof(path), "/%s/", t->service);
	for (const char *c = t->instance; *c && o + 4 < sizeof(path); c++)
		o += (size_t)snprintf(path + o, sizeof(path) - o, "%%%02X", (unsigned char)*c);
	memset(it, 0, sizeof(*it));
	return broker_target_parse(m, path, strlen(path), it, &err);
}

/* Print, parse back, print again: the same text. */
static void check_roundtrip(struct broker_models *m, const struct broker_target *t, const struct lyd_node *cfg)
{
	struct broker_error err = { 0 };
	struct lyd_node *back = NULL;
	char *json = NULL, *again = NULL;
	int rc;

	if (broker_config_print(cfg, &json))
		fz_fail("an accepted config of %s does not print", t->rest_path);
	rc = broker_config_parse(m, t->service, json, &back, &err);
	if (rc)
		fz_fail("the saved form of an accepted config does not load (%d %s): %s", err.http_status,
			err.message, json);
	if (broker_config_print(back, &again) || strcmp(json, again) != 0)
		fz_fail("the config changed through a save and load:\n%s\n%s", json, again ? again : "(none)");
	free(again);
	free(json);
	lyd_free_all(back);
}

static void read_back(struct broker_models *m, const struct broker_target *t, const struct lyd_node *cfg)
{
	struct broker_error err = { 0 };
	char *out = NULL;
	int rc = broker_config_read(m, t, cfg, NULL, 0, &out, &err);

	check_err(rc, &err, "config_read");
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct broker_models *m = fz_models();
	const char *p = (const char *)data + 1, *end = (const char *)data + size, *nl;
	const char *create = NULL, *body;
	size_t create_len = 0;
	struct broker_target t, it;
	struct broker_error err;
	struct lyd_node *cur = NULL, *out = NULL;
	enum broker_method method;
	int rc;

	if (size < 2)
		return 0;
	method = methods[data[0] & 7];
	nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		nl = end;
	memset(&t, 0, sizeof(t));
	memset(&err, 0, sizeof(err));
	rc = broker_target_parse(m, p, (size_t)(nl - p), &t, &err);
	check_err(rc, &err, "target_parse");
	if (rc)
		return 0;
	body = nl < end ? nl + 1 : end;
	if (data[0] & 8) {
		create = body;
		nl = memchr(create, '\n', (size_t)(end - create));
		if (!nl)
			nl = end;
		create_len = (size_t)(nl - create);
		body = nl < end ? nl + 1 : end;
	}
	if (t.kind != BROKER_T_SERVICE && create && !instance_target(m, &t, &it)) {
		memset(&err, 0, sizeof(err));
		rc = broker_config_apply(m, &it, BROKER_POST, NULL, create, create_len, &cur, &err);
		check_err(rc, &err, "config_apply (create)");
		if (!rc && cur)
			check_roundtrip(m, &it, cur);
		broker_target_fini(&it);
	}
	if (method == BROKER_GET) {
		if (t.kind != BROKER_T_SERVICE && cur)
			read_back(m, &t, cur);
		goto out;
	}
	memset(&err, 0, sizeof(err));
	rc = broker_config_apply(m, &t, method, cur, body, (size_t)(end - body), &out, &err);
	check_err(rc, &err, "config_apply");
	if (!rc && out) {
		check_roundtrip(m, &t, out);
		read_back(m, &t, out);
	}
out:
	lyd_free_all(out);
	lyd_free_all(cur);
	broker_target_fini(&t);
	return 0;
}
