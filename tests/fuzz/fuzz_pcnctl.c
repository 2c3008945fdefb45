/* Fuzz target: pcnctl's command line, as main.c takes it: the global
 * options (pcnctl_opts_init), then the words translated into one HTTP
 * request (pcnctl_request_create).
 *
 * Input: the arguments after argv[0], separated by NUL bytes (at most 64).
 * Invariants beyond ASan/UBSan: a refusal says why; a request has a
 * method and a path, or is pcnctl's own help; a body is JSON (it is sent
 * as application/json), an object but for a PATCH of one leaf; the path
 * has no raw space, '#' or control character before the help query
 * (every word is escaped). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "args.h"
#include "fuzz_common.h"
#include "opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

static void check_request(const struct pcnctl_request *req)
{
	const char *q;

	if (req->local_help)
		return;
	if (!req->method || !req->path)
		fz_fail("a request without method or path");
	if (req->body) {
		/* set with one k=v PATCHes the leaf with a bare value. */
		json_t *j = json_loads(req->body, JSON_DECODE_ANY, NULL);

		if (!j || (strcmp(req->method, "PATCH") != 0 && !json_is_object(j)))
			fz_fail("the body of a %s is not JSON or not an object: %s", req->method, req->body);
		json_decref(j);
	}
	q = strchr(req->path, '?');
	for (const char *c = req->path; *c && (!q || c < q); c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '#')
			fz_fail("unescaped byte 0x%02x in the path %s", (unsigned char)*c, req->path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool env_done;
	char *argv[MAX_ARGS + 2];
	char *buf, err[256];
	struct pcnctl_opts o;
	struct pcnctl_request *req = NULL;
	int argc = 1, rc;
	size_t i = 0;

	if (!env_done) {
		unsetenv("PCN_URL");
		unsetenv("PCN_TOKEN");
		env_done = true;
	}
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "pcnctl";
	while (i <= size && argc <= MAX_ARGS) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;

	err[0] = '\0';
	rc = pcnctl_opts_init(&o, argc, argv, err, sizeof(err));
	if (rc) {
		if (rc == -EINVAL && !err[0])
			fz_fail("a usage error without a message");
		goto out;
	}
	if (o.nwords > 0) {
		err[0] = '\0';
		rc = pcnctl_request_create(&req, o.nwords, o.words, err, sizeof(err));
		if (rc == -EINVAL && !err[0])
			fz_fail("a refused command without a message");
		if (!rc) {
			check_request(req);
			pcnctl_request_destroy(req);
		}
	}
	pcnctl_opts_fini(&o);
out:
	free(buf);
	return 0;
}
