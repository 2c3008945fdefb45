/* Registered cube types: registration, loss and return of their processes.
 *
 * Who may act on what. Every cube container shares the socket directory
 * (docker-compose), so any of them can reach broker.sock and slowpath.sock.
 * A process that registers as a service gets that service's token in its
 * RegisterReply; installing a program (here) and sending packets out
 * (slowpath_out.c) need the token and may name only that service's
 * instances. A request without a valid token may only Register (or ask
 * for Health). The token is the service's, not the process's: a restarted
 * process or an upgrade's new one gets the same token, so the old process
 * of an upgrade goes on working until it is retired; a new broker makes
 * new tokens and every process registers again anyway. Registering as a
 * service that runs replaces its process (BROKER-CUBE-REPLACED): that is
 * how upgrades work, and it is logged. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "control/control.h"
#include "control/inst_purge.h"
#include "core/core.h"
#include "dataplane/dataplane.h"
#include "model/model.h"
#include "instance_int.h"
#include "log.h"
#include "ipc.h"

const char *broker_svc_state_name(enum broker_svc_state s)
{
	switch (s) {
	case BROKER_SVC_UP:
		return "running";
	case BROKER_SVC_STARTING:
		return "starting";
	default:
		return "down";
	}
}

struct broker_service *broker_service_get(struct broker *b, const char *name)
{
	struct broker_service *s = broker_service_find(b, name), **pp;

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (getrandom(s->token, sizeof(s->token), 0) != (ssize_t)sizeof(s->token)) {
		free(s);
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	/* Keep the list sorted by name: GET /services prints it as it is. */
	for (pp = &b->services; *pp && strcmp((*pp)->name, name) < 0; pp = &(*pp)->next)
		;
	s->next = *pp;
	*pp = s;
	return s;
}

int broker_service_require_up(struct broker *b, const char *service, struct broker_error *err)
{
	struct broker_service *s = broker_service_find(b, service);

	if (s && s->state == BROKER_SVC_UP)
		return 0;
	return broker_error_set(err, 503, "resource-denied", NULL,
				"the %s process is %s; its instances keep forwarding, "
				"and the API answers again when it is back",
				service, s ? broker_svc_state_name(s->state) : "not registered");
}

static void set_status(Cubemesh__BrokerReply *reply, int code, char *errbuf, size_t errlen,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void set_status(Cubemesh__BrokerReply *reply, int code, char *errbuf, size_t errlen,
		       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	reply->status->code = code;
	reply->status->message = errbuf;
}

static void handle_register(struct broker *b, const Cubemesh__Register *r, Cubemesh__BrokerReply *reply,
			    char *errbuf, size_t errlen)
{
	static Cubemesh__RegisterReply rr = CUBEMESH__REGISTER_REPLY__INIT;
	struct broker_service_info info;
	struct broker_service *svc;
	struct broker_error err;
	int rc;

	if (r->protocol_version != PCN_PROTOCOL_VERSION) {
		PCN_ERR("BROKER-PROTO-MISMATCH", "%s speaks protocol %u, this broker speaks %u: refused",
			r->service_name, r->protocol_version, PCN_PROTOCOL_VERSION);
		set_status(reply, -EPROTONOSUPPORT, errbuf, errlen,
			   "protocol version %u is not supported: this broker speaks version %u; "
			   "rebuild the cube against this Cubemesh",
			   r->protocol_version, PCN_PROTOCOL_VERSION);
		return;
	}
	/* The name becomes a socket's and a bpffs directory's: the one rule
	 * of names that become paths, before anything looks it up. */
	if (!r->service_name || pcn_name_check(r->service_name)) {
		PCN_ERR("BROKER-SVC-NAME", "a process registered a service name that is not 1-63 of "
			"[A-Za-z0-9_-]: refused");
		set_status(reply, -EINVAL, errbuf, errlen,
			   "the service name must be 1 to 63 letters, digits, '_' or '-' (it names sockets and "
			   "pin directories)");
		return;
	}
	rc = broker_upgrade_prepare(b, r, &err);
	if (rc) {
		PCN_ERR("BROKER-UPGRADE-REFUSED", "%s %s refused: %s", r->service_name, r->version, err.message);
		set_status(reply, rc, errbuf, errlen, "upgrade refused: %s", err.message);
		return;
	}
	rc = broker_models_add(b->models, r->service_name, r->yang_module, &err);
	if (rc) {
		PCN_ERR("BROKER-MODEL-REFUSED", "the model of %s was refused: %s", r->service_name, err.message);
		set_status(reply, rc, errbuf, errlen, "model refused: %s", err.message);
		return;
	}
	svc = broker_service_get(b, r->service_name);
	if (!svc) {
		set_status(reply, -ENOMEM, errbuf, errlen, "out of memory");
		return;
	}
	if (svc->state != BROKER_SVC_DOWN)
		PCN_WARN("BROKER-CUBE-REPLACED", "%s registered again (pid %u) while pid %u was registered: "
			 "the new process takes over", r->service_name, r->pid, svc->pid);
	broker_cube_calls_abort(b, svc);
	svc->gen++;
	svc->registered = true;
	snprintf(svc->version, sizeof(svc->version), "%s", r->version);
	snprintf(svc->description, sizeof(svc->description), "%s", r->description ? r->description : "");
	snprintf(svc->min_kernel, sizeof(svc->min_kernel), "%s", r->min_kernel ? r->min_kernel : "");
	snprintf(svc->endpoint, sizeof(svc->endpoint), "%s", r->endpoint);
	if (broker_models_info(b->models, r->service_name, &info) == 0 && info.version && !r->version[0])
		snprintf(svc->version, sizeof(svc->version), "%s", info.version);
	svc->transparent = r->kind == CUBEMESH__KIND__KIND_TRANSPARENT;
	/* Each becomes a path segment of the API: names by the rule only. */
	svc->n_streams = 0;
	for (size_t i = 0; i < r->n_streams && svc->n_streams < BROKER_STREAMS_MAX; i++)
		if (pcn_name_check(r->streams[i]) == 0)
			snprintf(svc->streams[svc->n_streams++], BROKER_NAME_MAX, "%s", r->streams[i]);
	svc->pid = r->has_pid ? r->pid : 0;
	svc->metrics = r->has_metrics && r->metrics;
	svc->ordered_apply = r->has_ordered_apply && r->ordered_apply;
	svc->registrations++;
	rc = broker_cubeconn_dial(b, svc);
	if (rc) {
		svc->state = BROKER_SVC_DOWN;
		set_status(reply, rc, errbuf, errlen, "cannot connect to %s: %s", r->endpoint, strerror(-rc));
		return;
	}
	svc->state = BROKER_SVC_STARTING;
	PCN_INFO("BROKER-CUBE-REGISTERED", "%s %s registered (pid %u, registration #%u)", svc->name,
		 svc->version, svc->pid, svc->registrations);
	rr.broker_version = CUBEMESH_VERSION;
	rr.bpffs_root = (char *)b->opts.bpffs_root;
	/* The reply goes back on the pipe the Register came on only. */
	rr.has_token = 1;
	rr.token.data = svc->token;
	rr.token.len = sizeof(svc->token);
	reply->body_case = CUBEMESH__BROKER_REPLY__BODY_REGISTER;
	reply->register_ = &rr;
	/* The replay runs after this reply is sent: it goes through the job
	 * queue, behind any write already waiting (and behind dropping what a
	 * record set aside at start left in this process: inst_purge.h). */
	broker_inst_purge_forget(b, svc);
	broker_instances_replay(b, svc);
}

void broker_registry_handle(struct broker *b, Cubemesh__BrokerRequest *req, Cubemesh__BrokerReply *reply,
			    char *errbuf, size_t errlen)
{
	static Cubemesh__Health health = CUBEMESH__HEALTH__INIT;

	reply->status->code = 0;
	switch (req->body_case) {
	case CUBEMESH__BROKER_REQUEST__BODY_REGISTER:
		handle_register(b, req->register_, reply, errbuf, errlen);
		break;
	case CUBEMESH__BROKER_REQUEST__BODY_PROGRAM_INSTALL: {
		const Cubemesh__ProgramInstall *pi = req->program_install;
		struct broker_service *from = broker_service_by_token(b, pi->token.data, pi->has_token ? pi->token.len : 0);
		struct broker_instance *inst = broker_instance_find(b, pi->instance);
		int rc;

		/* Checked before the instance exists: a process that is not
		 * registered learns nothing about the instances. */
		if (!from) {
			broker_forbidden_log(b, "install a program", NULL, pi->instance, "?");
			set_status(reply, -EACCES, errbuf, errlen,
				   "register first: installing a program needs the token of a registration");
			break;
		}
		if (!inst) {
			set_status(reply, -ENOENT, errbuf, errlen, "no instance %s", pi->instance);
			break;
		}
		if (strcmp(inst->service, from->name) != 0) {
			broker_forbidden_log(b, "install a program", from->name, inst->name, inst->service);
			set_status(reply, -EACCES, errbuf, errlen, "%s is an instance of %s, not of %s", inst->name,
				   inst->service, from->name);
			break;
		}
		/* A transparent instance at XDP reloads its TC build too (hook
		 * TC: its egress at TC, cube-runtime/twin.c). */
		rc = broker_pp_install(b->dp, broker_inst_prog_hook(inst, pi->hook), inst->index, pi->pin_path);
		if (rc)
			set_status(reply, rc, errbuf, errlen, "cannot install %s: %s", pi->pin_path, strerror(-rc));
		break;
	}
	case CUBEMESH__BROKER_REQUEST__BODY_PROGRAM_REMOVE:
		set_status(reply, -EPERM, errbuf, errlen,
			   "programs leave the PatchPanel when their instance is deleted");
		break;
	case CUBEMESH__BROKER_REQUEST__BODY_HEALTH:
		health.has_uptime_ms = 1;
		health.uptime_ms = broker_now_ms() - b->started_ms;
		reply->body_case = CUBEMESH__BROKER_REPLY__BODY_HEALTH;
		reply->health = &health;
		break;
	default:
		set_status(reply, -EBADMSG, errbuf, errlen, "unknown request");
	}
}

void broker_service_lost(struct broker *b, struct broker_service *svc, unsigned gen)
{
	if (gen != svc->gen || svc->state == BROKER_SVC_DOWN)
		return;
	PCN_WARN("BROKER-CUBE-LOST", "the %s process (pid %u) went away; its instances keep forwarding "
		 "in the kernel, and REST calls for them answer 503 until it is back", svc->name, svc->pid);
	svc->state = BROKER_SVC_DOWN;
	svc->gen++;
	broker_cube_calls_abort(b, svc);
	broker_cubeconn_close(b, svc);
	for (struct broker_instance *i = b->instances; i; i = i->next)
		if (strcmp(i->service, svc->name) == 0)
			i->in_cube = false;
}
