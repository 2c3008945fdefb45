/* Fuzz target: a REST path (the bytes after /polycube/v1, as h2o hands
 * them to the broker) mapped to a node of the real models
 * (broker_target_parse), then what the broker does with a target: the
 * help of pcnctl's `?` (broker_schema_help) and, on a refusal, the
 * RESTCONF error body. The input is the path, unterminated: the parser
 * takes a length, so a read past it is a bug ASan reports. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct broker_models *m = fz_models();
	struct broker_target t;
	struct broker_error err;
	char *out = NULL;
	int rc;

	memset(&t, 0, sizeof(t));
	memset(&err, 0, sizeof(err));
	rc = broker_target_parse(m, (const char *)data, size, &t, &err);
	if (rc) {
		/* Every refusal becomes a 4xx/5xx with a body. */
		if (err.http_status < 400 || err.http_status > 599)
			fz_fail("target_parse returned %d with HTTP status %d", rc, err.http_status);
		out = broker_error_json(&err);
		if (!out)
			fz_fail("no error body for status %d", err.http_status);
		free(out);
		return 0;
	}
	if (t.kind != BROKER_T_SERVICE && (!t.xpath || !t.snode || !t.rest_path))
		fz_fail("target of kind %d without xpath, node or rest path", (int)t.kind);
	memset(&err, 0, sizeof(err));
	if (!broker_schema_help(m, &t, &out, &err))
		free(out);
	broker_target_fini(&t);
	return 0;
}
