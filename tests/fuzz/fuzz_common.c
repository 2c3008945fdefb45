/* See fuzz_common.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "log.h"
#include "model.h"

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
out:
	fclose(f);
	return buf;
}

static void add(struct broker_models *m, const char *dir, const char *name)
{
	struct broker_error err = { 0 };
	char path[512];
	char *text;

	snprintf(path, sizeof(path), "%s/%s.yang", dir, name);
	text = read_file(path);
	if (!text)
		fz_fail("cannot read %s", path);
	if (broker_models_add(m, name, text, &err))
		fz_fail("cannot load %s: %s", path, err.message);
	free(text);
}

struct broker_models *fz_models(void)
{
	static struct broker_models *m;
	static const char *const cubes[] = { "helloworld", "simplebridge", "simpleforwarder", "ddosmitigator",
					     "transparenthelloworld" };

	if (m)
		return m;
	fz_quiet();
	if (broker_models_create(&m, CUBEMESH_YANG_DIR))
		fz_fail("cannot create the models from %s", CUBEMESH_YANG_DIR);
	for (size_t i = 0; i < sizeof(cubes) / sizeof(cubes[0]); i++)
		add(m, CUBEMESH_YANG_DIR, cubes[i]);
	add(m, CUBEMESH_TESTDATA_DIR, "router-test");
	add(m, CUBEMESH_TESTDATA_DIR, "transparent-test");
	return m;
}

void fz_quiet(void)
{
	pcn_log_init("fuzz", PCN_LOG_OFF);
}

void fz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FUZZ-INVARIANT: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static volatile size_t sink;

void fz_touch(const void *p, size_t n)
{
	const volatile uint8_t *b = p;
	size_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += b[i];
	sink += s;
}
