/* A harness for a cube's own tests: its description driven through the
 * runtime's apply and read paths, with pins in a private bpffs, no sockets
 * and no broker. Header-only; include after cmocka.h. */
#ifndef PCN_CUBE_TESTUTIL_H
#define PCN_CUBE_TESTUTIL_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cubemesh.pb-c.h"
#include "pcn_int.h"
#include "testdata/bpffs_testutil.h"

struct cube_harness {
	char bpffs[64];
	struct pcn__runtime *rt;
	struct pcn__apply_res res; /* of the last apply */
};

/* 0, or -EPERM etc. when the test must be skipped (said on stderr). */
static inline int cube_harness_init(struct cube_harness *h, const struct pcn_cube_desc *desc)
{
	int rc;

	memset(h, 0, sizeof(*h));
	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root (BPF, bpffs mount)\n");
		return -EPERM;
	}
	rc = bpffs_test_mount(h->bpffs, sizeof(h->bpffs));
	if (rc) {
		h->bpffs[0] = '\0';
		return rc;
	}
	rc = pcn__runtime_create(&h->rt, desc, "/nonexistent");
	if (rc)
		return rc;
	/* What a RegisterReply would have said. */
	snprintf(h->rt->bpffs_root, sizeof(h->rt->bpffs_root), "%s", h->bpffs);
	return 0;
}

static inline void cube_harness_fini(struct cube_harness *h)
{
	pcn__runtime_destroy(h->rt);
	h->rt = NULL;
	if (h->bpffs[0])
		bpffs_test_umount(h->bpffs);
	h->bpffs[0] = '\0';
}

/* ports: "name", "name", ..., NULL; numbered 0, 1, ... in that order. */
static inline int cube_harness_apply(struct cube_harness *h, int op, const char *instance,
				     enum pcn_hook attach, const char *json, const char *const *ports)
{
	struct pcn__port p[16];
	struct pcn__apply_req req = {
		.instance = instance,
		.op = op,
		.index = 7,
		.attach = attach,
		.config_json = json,
		.ports = p,
	};

	memset(p, 0, sizeof(p));
	for (size_t i = 0; ports && ports[i] && i < 16; i++) {
		snprintf(p[i].name, sizeof(p[i].name), "%s", ports[i]);
		p[i].index = (uint32_t)i;
		req.n_ports = i + 1;
	}
	return pcn__apply(h->rt, &req, &h->res);
}

static inline struct pcn_instance *cube_harness_instance(struct cube_harness *h, const char *name)
{
	return pcn__instance_find(h->rt, name);
}

#endif
