/* Upgrades of a cube type, make before break: a new process of a service
 * registers while the old one runs. Before anything changes, its map
 * layouts are checked against the pinned maps (a changed layout needs a
 * migration the cube declares) and the stored configurations are re-parsed
 * with its model. Then the new process gets every instance replayed (it
 * loads its programs beside the old ones, reusing or migrating the maps),
 * the PatchPanel slots are swapped, and only then is the old process told
 * to exit. Rolling back is the same operation with the older binary. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "control/control.h"
#include "core/core.h"
#include "model/model.h"
#include "log.h"
#include "ipc.h"

/* How long the old process has to acknowledge Shutdown. It only replies
 * and stops; a process that does not answer is left to its supervisor. */
#define RETIRE_TIMEOUT_MS 1000

static int check_maps(struct broker *b, const Cubemesh__Register *r, struct broker_error *err)
{
	for (struct broker_instance *i = b->instances; i; i = i->next) {
		if (strcmp(i->service, r->service_name) != 0)
			continue;
		for (size_t k = 0; k < r->n_maps; k++) {
			const Cubemesh__MapLayout *l = r->maps[k];
			struct bpf_map_info info = { 0 };
			uint32_t len = sizeof(info);
			char path[512];
			int fd, same;

			if (pcn_layout_cube(path, sizeof(path), b->opts.bpffs_root, i->service, i->name,
					    l->name))
				continue;
			fd = bpf_obj_get(path);
			if (fd < 0)
				continue; /* not pinned (yet): nothing to carry */
			if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
				close(fd);
				continue;
			}
			close(fd);
			same = info.type == l->type && info.key_size == l->key_size &&
			       info.value_size == l->value_size && info.max_entries == l->max_entries;
			if (same || (l->has_migrates && l->migrates))
				continue;
			return broker_error_set(err, 409, "operation-failed", NULL,
						"%s %s cannot take over %s: its map %s changed layout (pinned: key %u, "
						"value %u, %u entries; new: key %u, value %u, %u entries) and it "
						"declares no migration for it; the running version keeps its instances",
						r->service_name, r->version, i->name, l->name, info.key_size,
						info.value_size, info.max_entries, l->key_size, l->value_size,
						l->max_entries);
		}
	}
	return 0;
}

static int replace_model(struct broker *b, struct broker_service *svc, const Cubemesh__Register *r,
			 struct broker_error *err)
{
	struct lyd_node **trees = NULL;
	const char **names = NULL;
	struct broker_instance **insts = NULL;
	size_t n = 0, k = 0;
	int rc;

	for (struct broker_instance *i = b->instances; i; i = i->next)
		if (strcmp(i->service, r->service_name) == 0 && i->config)
			n++;
	trees = calloc(n + 1, sizeof(*trees));
	names = calloc(n + 1, sizeof(*names));
	insts = calloc(n + 1, sizeof(*insts));
	if (!trees || !names || !insts) {
		rc = -ENOMEM;
		goto out;
	}
	for (struct broker_instance *i = b->instances; i; i = i->next)
		if (strcmp(i->service, r->service_name) == 0 && i->config) {
			insts[k] = i;
			names[k] = i->name;
			trees[k++] = i->config;
		}
	/* Calls in flight hold trees of the old context (a write's candidate):
	 * fail them first, synchronously, so that each has freed what it holds
	 * before the context goes (the registration below would anyway). */
	if (svc)
		broker_cube_calls_abort(b, svc);
	rc = broker_models_replace(b->models, r->service_name, r->yang_module, trees, names, n, err);
	if (rc == 0)
		for (k = 0; k < n; k++) {
			insts[k]->config = trees[k];
			broker_inst_state_drop(insts[k]); /* what GET answered came from the old tree */
		}
out:
	free(trees);
	free(names);
	free(insts);
	return rc;
}

int broker_upgrade_prepare(struct broker *b, const Cubemesh__Register *r, struct broker_error *err)
{
	struct broker_service *svc = broker_service_find(b, r->service_name);
	int rc;

	rc = check_maps(b, r, err);
	if (rc)
		return rc;
	rc = replace_model(b, svc, r, err);
	if (rc)
		return rc;
	/* A live process other than this one: it is retired once the new one
	 * has taken every instance over. */
	if (svc && svc->state != BROKER_SVC_DOWN && svc->endpoint[0] && strcmp(svc->endpoint, r->endpoint)) {
		snprintf(svc->old_endpoint, sizeof(svc->old_endpoint), "%s", svc->endpoint);
		snprintf(svc->old_version, sizeof(svc->old_version), "%s", svc->version);
		svc->old_pid = svc->pid;
	} else if (svc) {
		svc->old_endpoint[0] = '\0';
	}
	if (svc)
		svc->replay_failed = false;
	return 0;
}

/* Telling the old process to exit runs beside the loop: a process that
 * does not answer (stopped, hung) must not hold up every other service's
 * requests while nng waits for it (it blocked the loop 10 s, nng's
 * handshake timeout, before). */
struct retire {
	struct broker *b;
	nng_socket s;
	nng_aio *aio;
	bool receiving;
	int result;
	char service[BROKER_NAME_MAX], old_version[64], version[64], endpoint[256];
	uint32_t old_pid;
};

static void retire_done(struct broker *b, void *arg)
{
	struct retire *r = arg;

	(void)b;
	if (r->result)
		PCN_WARN("BROKER-UPGRADE-RETIRE", "cannot tell the old %s process (pid %u, %s) to exit: %s",
			 r->service, r->old_pid, r->endpoint, nng_strerror(r->result));
	else
		PCN_INFO("BROKER-UPGRADED", "%s %s -> %s: every instance taken over, the old process (pid %u) "
			 "exits", r->service, r->old_version, r->version, r->old_pid);
	nng_aio_free(r->aio); /* waits for retire_cb to return */
	nng_close(r->s);
	free(r);
}

/* On nng's threads: only hands over to the loop. */
static void retire_cb(void *arg)
{
	struct retire *r = arg;
	int rv = nng_aio_result(r->aio);

	if (!r->receiving && rv == 0) {
		r->receiving = true;
		nng_recv_aio(r->s, r->aio);
		return;
	}
	if (!r->receiving)
		nng_msg_free(nng_aio_get_msg(r->aio));
	else if (rv == 0)
		nng_msg_free(nng_aio_get_msg(r->aio));
	r->result = rv;
	broker_post(r->b, retire_done, r);
}

void broker_upgrade_replayed(struct broker *b, struct broker_service *svc)
{
	Cubemesh__CubeRequest req = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__Shutdown sd = CUBEMESH__SHUTDOWN__INIT;
	struct retire *r = NULL;
	nng_msg *msg = NULL;
	char reason[160];
	int rc;

	if (!svc->old_endpoint[0])
		return;
	if (svc->replay_failed) {
		/* Some instance did not come over: the old process is left
		 * alone (it no longer gets requests), and the operator told. */
		PCN_ERR("BROKER-UPGRADE-PARTIAL", "%s %s did not take every instance over; the old process "
			"(pid %u, %s) was not stopped", svc->name, svc->version, svc->old_pid, svc->old_version);
		svc->old_endpoint[0] = '\0';
		return;
	}
	snprintf(reason, sizeof(reason), "%s %s (pid %u) took over", svc->name, svc->version, svc->pid);
	sd.reason = reason;
	req.body_case = CUBEMESH__CUBE_REQUEST__BODY_SHUTDOWN;
	req.shutdown = &sd;
	/* A one-off socket: the service's REQ socket now talks to the new
	 * process. */
	r = calloc(1, sizeof(*r));
	rc = r ? 0 : -ENOMEM;
	if (!rc) {
		r->b = b;
		r->old_pid = svc->old_pid;
		snprintf(r->service, sizeof(r->service), "%s", svc->name);
		snprintf(r->old_version, sizeof(r->old_version), "%s", svc->old_version);
		snprintf(r->version, sizeof(r->version), "%s", svc->version);
		snprintf(r->endpoint, sizeof(r->endpoint), "%s", svc->old_endpoint);
		rc = pcn_ipc_errno(nng_req0_open(&r->s));
		if (rc) {
			free(r);
			r = NULL;
		}
	}
	if (!rc)
		rc = pcn_ipc_cap(r->s);
	if (!rc)
		rc = pcn_ipc_errno(nng_dial(r->s, r->endpoint, NULL, NNG_FLAG_NONBLOCK));
	if (!rc)
		rc = pcn_ipc_errno(nng_aio_alloc(&r->aio, retire_cb, r));
	if (!rc)
		rc = pcn_ipc_pack(&req.base, &msg);
	if (!rc) {
		/* For the send (the dial included) and then the reply. */
		nng_aio_set_timeout(r->aio, RETIRE_TIMEOUT_MS);
		nng_aio_set_msg(r->aio, msg);
		nng_send_aio(r->s, r->aio);
	} else {
		PCN_WARN("BROKER-UPGRADE-RETIRE", "cannot tell the old %s process (pid %u, %s) to exit: %s",
			 svc->name, svc->old_pid, svc->old_endpoint, strerror(-rc));
		if (r) {
			if (r->aio)
				nng_aio_free(r->aio);
			nng_close(r->s);
			free(r);
		}
	}
	svc->old_endpoint[0] = '\0';
}
