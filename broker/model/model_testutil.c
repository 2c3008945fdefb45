#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libyang/libyang.h>

#include "model_testutil.h"

char *mt_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	buf = calloc(1, n + 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
out:
	fclose(f);
	return buf;
}

static void add(struct broker_models *m, const char *dir, const char *name)
{
	char path[512];
	struct broker_error err = { 0 };
	char *text;

	snprintf(path, sizeof(path), "%s/%s.yang", dir, name);
	text = mt_read_file(path);
	assert_non_null(text);
	if (broker_models_add(m, name, text, &err))
		fail_msg("adding %s: %s", name, err.message);
	free(text);
}

struct broker_models *mt_models(void)
{
	struct broker_models *m = NULL;

	assert_int_equal(broker_models_create(&m, CUBEMESH_YANG_DIR), 0);
	add(m, CUBEMESH_YANG_DIR, "helloworld");
	add(m, CUBEMESH_YANG_DIR, "simpleforwarder");
	add(m, CUBEMESH_TESTDATA_DIR, "router-test");
	add(m, CUBEMESH_TESTDATA_DIR, "transparent-test");
	return m;
}

void mt_target(struct broker_models *m, const char *path, struct broker_target *t)
{
	struct broker_error err = { 0 };

	if (broker_target_parse(m, path, strlen(path), t, &err))
		fail_msg("target %s: %d %s", path, err.http_status, err.message);
}

int mt_apply(struct broker_models *m, const char *path, int method, const struct lyd_node *cur, const char *body,
	     struct lyd_node **out, struct broker_error *err)
{
	struct broker_target t;
	int rc;

	mt_target(m, path, &t);
	rc = broker_config_apply(m, &t, method, cur, body, body ? strlen(body) : 0, out, err);
	broker_target_fini(&t);
	return rc;
}

char *mt_read(struct broker_models *m, const char *path, const struct lyd_node *inst)
{
	struct broker_target t;
	struct broker_error err = { 0 };
	char *json = NULL;

	mt_target(m, path, &t);
	if (broker_config_read(m, &t, inst, NULL, 0, &json, &err))
		fail_msg("read %s: %d %s", path, err.http_status, err.message);
	broker_target_fini(&t);
	return json;
}

char *mt_print(const struct lyd_node *inst)
{
	char *s = NULL;

	assert_int_equal(broker_config_print(inst, &s), 0);
	return s;
}
