/* Fuzz target: a datastore record (<state_dir>/instances/<svc>@<name>.json,
 * layout in broker/store/datastore.h) as the broker reads it at start:
 * broker_record_parse is load's parse of one file from a buffer, then the
 * record's config goes through broker_config_parse as the replay does
 * (instance.c) against the real models.
 *
 * Input: the file's bytes. The record must name the service and instance
 * of its file; the target takes them from the record itself when it holds
 * them as valid names, as a file name would (else helloworld@hw1), so the
 * fuzzer reaches what follows.
 *
 * Invariants beyond ASan/UBSan, for a record the loader accepts: what the
 * broker then relies on when it restores and replays it (instance.c:
 * restore_one, replay_step) holds: valid names, at most PCN_MAX_PORTS
 * ports, each numbered below it (a port number is half of a pcn_fwd key).
 * The slot is checked by the restore itself (idalloc: refused out of
 * range). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libyang/libyang.h>

#include "datastore.h"
#include "fuzz_common.h"
#include "model.h"
#include "pcn_kern_user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void copy_member(json_t *root, const char *key, char *dst, size_t n, const char *dflt)
{
	const char *s = json_string_value(json_object_get(root, key));

	/* load takes them from the file's name, valid names only. */
	snprintf(dst, n, "%s", s && broker_datastore_name_valid(s) ? s : dflt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct broker_models *m = fz_models();
	char service[64], name[64];
	struct broker_record rec, copy;
	struct broker_error err;
	struct lyd_node *tree = NULL;
	const char *why = NULL;
	json_t *root;
	int rc;

	root = json_loadb((const char *)data, size, 0, NULL);
	copy_member(root, "service", service, sizeof(service), "helloworld");
	copy_member(root, "name", name, sizeof(name), "hw1");
	json_decref(root);

	rc = broker_record_parse((const char *)data, size, service, name, &rec, &why);
	if (rc) {
		if (rc == -EBADMSG && !why)
			fz_fail("a record refused without a reason");
		if (rc != -EBADMSG && rc != -EPROTONOSUPPORT)
			fz_fail("record_parse returned %d", rc);
		return 0;
	}
	if (!broker_datastore_name_valid(rec.service) || !broker_datastore_name_valid(rec.name))
		fz_fail("a record of invalid names loads: %s@%s", rec.service, rec.name);
	if (rec.n_ports > PCN_MAX_PORTS)
		fz_fail("a record of %zu ports loads (PCN_MAX_PORTS %d)", rec.n_ports, PCN_MAX_PORTS);
	for (size_t i = 0; i < rec.n_ports; i++)
		if (rec.ports[i].index >= PCN_MAX_PORTS)
			fz_fail("a record with port number %u loads", rec.ports[i].index);
	if (broker_record_copy(&copy, &rec))
		fz_fail("record_copy failed");
	memset(&err, 0, sizeof(err));
	if (rec.config_json && !broker_config_parse(m, rec.service, rec.config_json, &tree, &err))
		lyd_free_all(tree);
	broker_record_fini(&copy);
	broker_record_fini(&rec);
	return 0;
}
