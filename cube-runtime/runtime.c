/* The cube process: its sockets to the broker, registration, and the loop
 * that serves the broker's requests.
 * Owns: struct pcn__runtime (sockets, registration, the bpffs root). Calls:
 * apply.c, state.c, action.c, parent.c (the requests), slowpath.c, timer.c
 * (runs the timers between requests), upgrade.c (layouts for Register),
 * baked_watch.c (to close its part), yang.c. */
#include "pcn_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "ipc.h"

/* How often the serving loop looks at the stop flag. */
#define POLL_MS 200
/* How long a Register waits for its reply before trying again. */
#define REGISTER_TIMEOUT_MS 5000
/* A broker gone this long gets a fresh dialer (redial_if_quiet). */
#define REDIAL_AFTER_MS 5000

volatile sig_atomic_t pcn__signalled;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool stopping(struct pcn__runtime *rt)
{
	bool s;

	pthread_mutex_lock(&rt->lock);
	s = rt->stop || pcn__signalled;
	pthread_mutex_unlock(&rt->lock);
	return s;
}

int pcn__runtime_create(struct pcn__runtime **out, const struct pcn_cube_desc *desc,
			const char *socket_dir)
{
	struct pcn__runtime *rt;
	int rc;

	if (!desc || !desc->service || !desc->yang_module || !desc->yang_module_name || !socket_dir)
		return -EINVAL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->desc = desc;
	pthread_mutex_init(&rt->lock, NULL);
	pthread_cond_init(&rt->cond, NULL);
	rt->started_ms = now_ms();
	snprintf(rt->socket_dir, sizeof(rt->socket_dir), "%s", socket_dir);
	rc = pcn__yang_ctx_create(&rt->ly, desc->yang_module_name, desc->yang_module);
	if (rc)
		goto out;
	*out = rt;
	rt = NULL;
out:
	pcn__runtime_destroy(rt);
	return rc;
}

void pcn__runtime_stop(struct pcn__runtime *rt)
{
	pthread_mutex_lock(&rt->lock);
	rt->stop = true;
	pthread_cond_broadcast(&rt->cond);
	pthread_mutex_unlock(&rt->lock);
}

int pcn__runtime_bpffs(struct pcn__runtime *rt, char *buf, size_t n, int timeout_ms)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&rt->lock);
	while (!rt->bpffs_root[0] && !rt->stop && rc == 0)
		rc = pthread_cond_timedwait(&rt->cond, &rt->lock, &until);
	if (rt->bpffs_root[0])
		rc = snprintf(buf, n, "%s", rt->bpffs_root) >= (int)n ? -ENAMETOOLONG : 0;
	else
		rc = -EAGAIN;
	pthread_mutex_unlock(&rt->lock);
	return rc;
}

/* ---- registration ------------------------------------------------------- */

/* Returns 0, a negative errno to try again, or 1: the broker refused us. */
static int do_register(struct pcn__runtime *rt)
{
	const struct pcn_cube_desc *d = rt->desc;
	Cubemesh__BrokerRequest req = CUBEMESH__BROKER_REQUEST__INIT;
	Cubemesh__Register reg = CUBEMESH__REGISTER__INIT;
	Cubemesh__BrokerReply *rep = NULL;
	struct pcn__map_layouts layouts;
	char *streams[PCN__STREAMS_MAX];
	nng_msg *msg = NULL;
	int rc;

	reg.protocol_version = PCN_PROTOCOL_VERSION;
	/* protobuf-c wants char *, and never writes through them when packing. */
	reg.service_name = (char *)d->service;
	reg.version = (char *)(d->version ? d->version : "0");
	reg.description = (char *)d->description;
	reg.min_kernel = (char *)d->min_kernel;
	reg.kind = d->kind == PCN_CUBE_TRANSPARENT ? CUBEMESH__KIND__KIND_TRANSPARENT
						     : CUBEMESH__KIND__KIND_STANDARD;
	reg.yang_module_name = (char *)d->yang_module_name;
	reg.yang_module = (char *)d->yang_module;
	reg.endpoint = rt->endpoint;
	reg.has_pid = 1;
	reg.pid = (uint32_t)getpid();
	/* Only a cube with metrics is asked for them at each scrape. */
	reg.has_metrics = d->metrics != NULL;
	reg.metrics = d->metrics != NULL;
	/* pcn__apply checks ApplyConfig.after: writes may be pipelined. */
	reg.has_ordered_apply = 1;
	reg.ordered_apply = 1;
	/* The broker refuses a version whose maps do not fit the pinned ones. */
	rc = pcn__map_layouts(d, &layouts);
	if (rc)
		return rc;
	reg.n_maps = layouts.n;
	reg.maps = layouts.p;
	/* The live streams the gateway may ask for (stream.c). */
	for (const struct pcn_stream_desc *sd = d->streams; sd && sd->name && reg.n_streams < PCN__STREAMS_MAX; sd++)
		streams[reg.n_streams++] = (char *)sd->name;
	reg.streams = streams;
	req.body_case = CUBEMESH__BROKER_REQUEST__BODY_REGISTER;
	req.register_ = &reg;

	rc = pcn_ipc_pack(&req.base, &msg);
	pcn__map_layouts_free(&layouts);
	if (rc)
		return rc;
	rc = pcn_ipc_errno(nng_sendmsg(rt->req, msg, 0));
	if (rc) {
		nng_msg_free(msg);
		return rc;
	}
	msg = NULL;
	rc = pcn_ipc_errno(nng_recvmsg(rt->req, &msg, 0));
	if (rc)
		return rc;
	rc = pcn_ipc_unpack(&cubemesh__broker_reply__descriptor, nng_msg_body(msg), nng_msg_len(msg),
			     (ProtobufCMessage **)&rep);
	nng_msg_free(msg);
	if (rc) {
		PCN_WARN("CUBE-REGISTER-BADREPLY", "the broker's reply to Register is malformed");
		return rc;
	}
	if (rep->status->code != 0) {
		PCN_ERR("CUBE-REGISTER-REFUSED", "the broker refused to register %s %s: %s (code %d)",
			d->service, reg.version, pcn_ipc_status_text(rep->status), rep->status->code);
		rc = 1;
		goto out;
	}
	if (rep->body_case != CUBEMESH__BROKER_REPLY__BODY_REGISTER || !rep->register_->bpffs_root[0]) {
		PCN_WARN("CUBE-REGISTER-BADREPLY", "the broker accepted Register without a bpffs root");
		rc = -EPROTO;
		goto out;
	}
	/* Before anyone learns we are registered: a packet out or a program
	 * install without it would be refused. */
	pcn__slowpath_set_token(rt, rep->register_->has_token ? rep->register_->token.data : NULL,
				rep->register_->has_token ? rep->register_->token.len : 0);
	pthread_mutex_lock(&rt->lock);
	snprintf(rt->bpffs_root, sizeof(rt->bpffs_root), "%s", rep->register_->bpffs_root);
	pthread_cond_broadcast(&rt->cond);
	pthread_mutex_unlock(&rt->lock);
	PCN_INFO("CUBE-REGISTERED", "registered %s %s with broker %s (bpffs %s)", d->service, reg.version,
		 rep->register_->broker_version, rep->register_->bpffs_root);
	rc = 0;
out:
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return rc;
}

/* nng redials a lost broker by itself; once, under load, a cube's dialer
 * was seen to stay silent after the broker was killed, through two broker
 * restarts. A fresh dialer costs nothing when the old one was fine, so a
 * broker gone for REDIAL_AFTER_MS gets one. Called with rt->lock held. */
static void redial_if_quiet(struct pcn__runtime *rt)
{
	nng_dialer old = rt->dialer;
	int rv;

	if (!rt->lost_ms || rt->pipes || now_ms() - rt->lost_ms < REDIAL_AFTER_MS)
		return;
	rt->lost_ms = now_ms();
	pthread_mutex_unlock(&rt->lock);
	nng_dialer_close(old);
	rv = nng_dial(rt->req, rt->broker_url, &rt->dialer, NNG_FLAG_NONBLOCK);
	pthread_mutex_lock(&rt->lock);
	if (rv)
		PCN_WARN("CUBE-REDIAL", "cannot dial %s again: %s", rt->broker_url, nng_strerror(rv));
	else
		PCN_DEBUG("CUBE-REDIAL", "no broker for %d ms: dialing %s afresh", REDIAL_AFTER_MS,
			  rt->broker_url);
}

/* Registers each time a pipe to the broker comes up: the first time, and
 * again after the broker restarted (it forgot us). Runs on its own thread,
 * because a pipe callback must not block on a request. */
static void *register_main(void *arg)
{
	struct pcn__runtime *rt = arg;

	pthread_mutex_lock(&rt->lock);
	while (!rt->stop) {
		struct timespec until;
		unsigned gen = rt->broker_up_gen;
		int rc;

		if (gen == rt->registered_gen) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&rt->cond, &rt->lock, &until);
			if (!rt->stop)
				redial_if_quiet(rt);
			continue;
		}
		pthread_mutex_unlock(&rt->lock);
		rc = do_register(rt);
		pthread_mutex_lock(&rt->lock);
		if (rc == 0) {
			rt->registered_gen = gen;
		} else if (rc == 1) {
			rt->exit_code = 1;
			rt->stop = true;
		} else if (rc != -EBADF && !rt->stop) {
			PCN_DEBUG("CUBE-REGISTER-RETRY", "Register failed (%s); trying again", strerror(-rc));
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&rt->cond, &rt->lock, &until);
		}
	}
	pthread_mutex_unlock(&rt->lock);
	return NULL;
}

static void broker_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct pcn__runtime *rt = arg;

	bool stop;

	pthread_mutex_lock(&rt->lock);
	if (ev == NNG_PIPE_EV_ADD_POST) {
		rt->broker_up_gen++;
		rt->pipes++;
		rt->lost_ms = 0;
		pthread_cond_broadcast(&rt->cond);
	} else if (rt->pipes && --rt->pipes == 0) {
		rt->lost_ms = now_ms();
	}
	stop = rt->stop;
	pthread_mutex_unlock(&rt->lock);
	if (stop)
		return; /* our own socket closing: nothing was lost */
	if (ev == NNG_PIPE_EV_REM_POST)
		PCN_WARN("CUBE-BROKER-LOST", "lost the broker; the data plane keeps running, waiting for it");
	else
		PCN_DEBUG("CUBE-BROKER-UP", "connected to the broker");
}

int pcn__runtime_start(struct pcn__runtime *rt)
{
	char name[PCN__NAME_MAX + 16], path[PATH_MAX + 32], url[PATH_MAX + 16];
	int rc;

	rc = pcn__mkdirs(rt->socket_dir);
	if (rc) {
		PCN_ERR("CUBE-SOCKDIR", "cannot create %s: %s", rt->socket_dir, strerror(-rc));
		return rc;
	}
	pcn_sock_cube(name, sizeof(name), PCN_SOCK_CUBE, rt->desc->service, 0);
	rc = pcn_ipc_url(rt->endpoint, sizeof(rt->endpoint), rt->socket_dir, name);
	if (!rc)
		rc = pcn_ipc_url(url, sizeof(url), rt->socket_dir, PCN_SOCK_BROKER);
	if (rc)
		return rc;

	rc = pcn_ipc_errno(nng_rep0_open(&rt->rep));
	if (rc)
		return rc;
	rt->rep_open = true;
	rc = pcn_ipc_cap(rt->rep);
	if (rc)
		return rc;
	nng_socket_set_ms(rt->rep, NNG_OPT_RECVTIMEO, POLL_MS);
	if (snprintf(path, sizeof(path), "%s/%s", rt->socket_dir, name) < (int)sizeof(path) &&
	    pcn__ipc_live(path)) {
		/* Another process of this cube is alive there: we are its
		 * upgrade (or rollback); listen beside it until it exits. */
		pcn_sock_cube(name, sizeof(name), PCN_SOCK_CUBE_PID, rt->desc->service, (int)getpid());
		rc = pcn_ipc_url(rt->endpoint, sizeof(rt->endpoint), rt->socket_dir, name);
		if (rc)
			return rc;
	}
	rc = pcn_ipc_errno(nng_listen(rt->rep, rt->endpoint, NULL, 0));
	if (rc) {
		PCN_ERR("CUBE-LISTEN", "cannot listen on %s: %s", rt->endpoint, strerror(-rc));
		return rc;
	}
	/* Only root may talk to the cube: the directory is 0700 too. */
	if (snprintf(path, sizeof(path), "%s/%s", rt->socket_dir, name) >= (int)sizeof(path) ||
	    chmod(path, 0600))
		PCN_WARN("CUBE-CHMOD", "cannot chmod %s: %s", path, strerror(errno));
	rc = pcn__streams_start(rt);
	if (rc) {
		PCN_ERR("CUBE-STREAM-START", "cannot serve live streams: %s", strerror(-rc));
		return rc;
	}
	rc = pcn__slowpath_start(rt);
	if (rc) {
		PCN_ERR("CUBE-SP-START", "cannot open the slow path: %s", strerror(-rc));
		return rc;
	}

	rc = pcn_ipc_errno(nng_req0_open(&rt->req));
	if (rc)
		return rc;
	rt->req_open = true;
	rc = pcn_ipc_cap(rt->req);
	if (rc)
		return rc;
	nng_socket_set_ms(rt->req, NNG_OPT_RECVTIMEO, REGISTER_TIMEOUT_MS);
	nng_socket_set_ms(rt->req, NNG_OPT_SENDTIMEO, REGISTER_TIMEOUT_MS);
	/* Redial quickly: a broker restart should find us soon. */
	nng_socket_set_ms(rt->req, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(rt->req, NNG_OPT_RECONNMAXT, 1000);
	nng_pipe_notify(rt->req, NNG_PIPE_EV_ADD_POST, broker_pipe_cb, rt);
	nng_pipe_notify(rt->req, NNG_PIPE_EV_REM_POST, broker_pipe_cb, rt);
	if (pthread_create(&rt->reg_thread, NULL, register_main, rt))
		return -EAGAIN;
	rt->reg_thread_started = true;
	/* Non-blocking: the broker may start after us; nng keeps redialing. */
	snprintf(rt->broker_url, sizeof(rt->broker_url), "%s", url);
	rc = pcn_ipc_errno(nng_dial(rt->req, url, &rt->dialer, NNG_FLAG_NONBLOCK));
	if (rc) {
		PCN_ERR("CUBE-DIAL", "cannot dial %s: %s", url, strerror(-rc));
		return rc;
	}
	PCN_INFO("CUBE-STARTED", "%s %s listening on %s, broker at %s", rt->desc->service,
		 rt->desc->version ? rt->desc->version : "", rt->endpoint, url);
	return 0;
}

/* ---- serving ------------------------------------------------------------ */

static void handle_apply(struct pcn__runtime *rt, const Cubemesh__ApplyConfig *a, Cubemesh__CubeReply *rep,
			 struct pcn_ipc_status_buf *sb, Cubemesh__ApplyReply *ar,
			 Cubemesh__ProgramInstall *pi /* two */, Cubemesh__ProgramInstall **pis,
			 struct pcn__apply_res *res)
{
	struct pcn__port *ports = NULL;
	struct pcn__apply_req req = {
		.instance = a->instance,
		.op = a->op,
		.index = a->index,
		.attach = (enum pcn_hook)a->hook,
		.config_json = a->config_json,
		.replay = a->has_replay && a->replay,
		.seq = a->has_seq ? a->seq : 0,
		.has_after = a->has_after,
		.after = a->after,
	};
	int rc = 0;

	if (a->n_ports) {
		ports = calloc(a->n_ports, sizeof(*ports));
		if (!ports)
			rc = -ENOMEM;
	}
	for (size_t i = 0; !rc && i < a->n_ports; i++) {
		snprintf(ports[i].name, sizeof(ports[i].name), "%s", a->ports[i]->name);
		ports[i].index = a->ports[i]->index;
	}
	req.ports = ports;
	req.n_ports = a->n_ports;
	if (!rc)
		rc = pcn__apply(rt, &req, res);
	free(ports);

	rep->body_case = CUBEMESH__CUBE_REPLY__BODY_APPLY;
	rep->apply = ar;
	if (rc) {
		uint32_t http = res->http ? res->http : (uint32_t)pcn_errno_http(rc);

		PCN_WARN("CUBE-APPLY-FAIL", "instance %s: %s", a->instance, res->msg[0] ? res->msg : strerror(-rc));
		pcn_ipc_status_set(rep->status, sb, rc, http, res->tag ? res->tag : pcn_http_tag((int)http), NULL,
				    "%s", res->msg[0] ? res->msg : strerror(-rc));
		return;
	}
	if (res->prog_pin[0]) {
		pi->instance = a->instance;
		pi->hook = (Cubemesh__Hook)res->attach;
		pi->pin_path = res->prog_pin;
		pis[0] = pi;
		ar->n_programs = 1;
		ar->programs = pis;
	}
	/* A transparent instance at XDP: its TC build too (twin.c), in pi + 1. */
	if (res->prog_pin[0] && res->twin_pin[0]) {
		pi[1].instance = a->instance;
		pi[1].hook = CUBEMESH__HOOK__HOOK_TC;
		pi[1].pin_path = res->twin_pin;
		pis[1] = &pi[1];
		ar->n_programs = 2;
	}
}

static void handle_read(struct pcn__runtime *rt, const Cubemesh__ReadState *r, Cubemesh__CubeReply *rep,
			struct pcn_ipc_status_buf *sb, Cubemesh__ReadReply *rr, char **json)
{
	struct pcn_instance *inst = pcn__instance_find(rt, r->instance);
	int rc;

	rep->body_case = CUBEMESH__CUBE_REPLY__BODY_READ;
	rep->read = rr;
	if (!inst) {
		pcn_ipc_status_set(rep->status, sb, -ENOENT, 404, "data-missing", NULL, "no instance %s",
				    r->instance);
		return;
	}
	rc = pcn__state_read(inst, r->path, json);
	if (rc) {
		pcn_ipc_status_set(rep->status, sb, rc, 500, "operation-failed", NULL,
				    "cannot read the state of %s: %s", r->instance,
				    inst->err_msg[0] ? inst->err_msg : strerror(-rc));
		return;
	}
	rr->state_json = *json;
}

/* Answers one request; always replies, so the broker's REQ never hangs. */
static void serve_one(struct pcn__runtime *rt, nng_msg *msg)
{
	Cubemesh__CubeRequest *req = NULL;
	Cubemesh__CubeReply rep = CUBEMESH__CUBE_REPLY__INIT;
	Cubemesh__Status st = CUBEMESH__STATUS__INIT;
	Cubemesh__ApplyReply ar = CUBEMESH__APPLY_REPLY__INIT;
	Cubemesh__ProgramInstall pia[2] = { CUBEMESH__PROGRAM_INSTALL__INIT, CUBEMESH__PROGRAM_INSTALL__INIT };
	Cubemesh__ProgramInstall *pis[2];
	Cubemesh__ReadReply rr = CUBEMESH__READ_REPLY__INIT;
	Cubemesh__Health h = CUBEMESH__HEALTH__INIT;
	Cubemesh__ActionReply actr = CUBEMESH__ACTION_REPLY__INIT;
	Cubemesh__MetricsReply mr = CUBEMESH__METRICS_REPLY__INIT;
	struct pcn_ipc_status_buf sb;
	struct pcn__apply_res *res = NULL;
	nng_msg *out = NULL;
	char *json = NULL;
	char *act_out = NULL, *act_put_path = NULL, *act_put_body = NULL;
	int rc;

	rep.status = &st;
	/* The socket is 0600 in a 0700 directory; checking the peer too means
	 * a wrong mode on either never lets another user configure the cube. */
	if (!pcn_ipc_peer_is_root(nng_msg_get_pipe(msg))) {
		nng_msg_free(msg);
		PCN_WARN("CUBE-PEER-REFUSED", "refused a request from a process not running as root");
		pcn_ipc_status_set(&st, &sb, -EACCES, 403, "access-denied", NULL, "only root may configure cubes");
		goto reply;
	}
	rc = pcn_ipc_unpack(&cubemesh__cube_request__descriptor, nng_msg_body(msg), nng_msg_len(msg),
			     (ProtobufCMessage **)&req);
	nng_msg_free(msg);
	if (rc) {
		PCN_WARN("CUBE-IPC-BAD", "malformed request from the broker");
		pcn_ipc_status_set(&st, &sb, rc, 400, "malformed-message", NULL, "malformed request");
		goto reply;
	}
	pcn__log_instance = req->body_case == CUBEMESH__CUBE_REQUEST__BODY_APPLY    ? req->apply->instance
			    : req->body_case == CUBEMESH__CUBE_REQUEST__BODY_READ   ? req->read->instance
			    : req->body_case == CUBEMESH__CUBE_REQUEST__BODY_ACTION ? req->action->instance
										    : NULL;
	switch (req->body_case) {
	case CUBEMESH__CUBE_REQUEST__BODY_APPLY:
		res = calloc(1, sizeof(*res));
		if (!res) {
			pcn_ipc_status_set(&st, &sb, -ENOMEM, 500, "operation-failed", NULL, "out of memory");
			break;
		}
		handle_apply(rt, req->apply, &rep, &sb, &ar, pia, pis, res);
		break;
	case CUBEMESH__CUBE_REQUEST__BODY_READ:
		handle_read(rt, req->read, &rep, &sb, &rr, &json);
		break;
	case CUBEMESH__CUBE_REQUEST__BODY_ACTION: {
		char amsg[512];

		pcn__action_set_target(req->action->target);
		rc = pcn__action_run(rt, req->action->instance, req->action->path, req->action->input_json, amsg,
				     sizeof(amsg));
		rep.body_case = CUBEMESH__CUBE_REPLY__BODY_ACTION;
		rep.action = &actr;
		if (!rc)
			pcn__action_take_result(&act_out, &act_put_path, &act_put_body);
		actr.output_json = act_out;
		actr.put_path = act_put_path;
		actr.put_body = act_put_body;
		if (rc)
			pcn_ipc_status_set(&st, &sb, rc, (uint32_t)pcn_errno_http(rc), pcn_http_tag(pcn_errno_http(rc)), NULL, "%s", amsg);
		break;
	}
	case CUBEMESH__CUBE_REQUEST__BODY_HEALTH: {
		uint32_t n = 0;

		for (struct pcn_instance *i = rt->instances; i; i = i->next)
			n++;
		h.has_uptime_ms = h.has_instances = 1;
		h.uptime_ms = now_ms() - rt->started_ms;
		h.instances = n;
		rep.body_case = CUBEMESH__CUBE_REPLY__BODY_HEALTH;
		rep.health = &h;
		break;
	}
	case CUBEMESH__CUBE_REQUEST__BODY_METRICS:
		rc = pcn__metrics_collect(rt, &mr);
		rep.body_case = CUBEMESH__CUBE_REPLY__BODY_METRICS;
		rep.metrics = &mr;
		if (rc)
			pcn_ipc_status_set(&st, &sb, rc, 500, "operation-failed", NULL, "cannot collect metrics: %s",
					    strerror(-rc));
		break;
	case CUBEMESH__CUBE_REQUEST__BODY_PARENT:
		rc = pcn__parent_handle(rt, req->parent);
		if (rc)
			pcn_ipc_status_set(&st, &sb, rc, (uint32_t)pcn_errno_http(rc), pcn_http_tag(pcn_errno_http(rc)), NULL,
					    "cannot take the parent of %s: %s", req->parent->instance, strerror(-rc));
		break;
	case CUBEMESH__CUBE_REQUEST__BODY_SHUTDOWN:
		/* A newer process took over every instance: the pins stay. */
		PCN_INFO("CUBE-SUPERSEDED", "the broker handed the instances to another process (%s): exiting",
			 req->shutdown->reason ? req->shutdown->reason : "upgrade");
		pcn__runtime_stop(rt);
		break;
	default:
		pcn_ipc_status_set(&st, &sb, -ENOTSUP, 400, "operation-not-supported", NULL,
				    "unknown request");
		break;
	}
reply:
	pcn__log_instance = NULL;
	rc = pcn_ipc_pack(&rep.base, &out);
	if (!rc) {
		rc = pcn_ipc_errno(nng_sendmsg(rt->rep, out, 0));
		if (rc)
			nng_msg_free(out);
	}
	if (rc)
		PCN_WARN("CUBE-REPLY-LOST", "cannot reply to the broker: %s", strerror(-rc));
	free(json);
	free(act_out);
	free(act_put_path);
	free(act_put_body);
	free(res);
	pcn__metrics_reply_free(&mr);
	if (req)
		protobuf_c_message_free_unpacked(&req->base, NULL);
}

int pcn__runtime_run(struct pcn__runtime *rt)
{
	int code;

	while (!stopping(rt)) {
		nng_msg *msg = NULL;
		int rv;

		/* Streams opened or closed by clients: their callbacks. */
		pcn__streams_run(rt);
		/* Packets in are handled inside the wait; a request is then
		 * received without blocking. */
		if (!pcn__slowpath_wait(rt, pcn__timers_run(rt, POLL_MS)))
			continue;
		rv = nng_recvmsg(rt->rep, &msg, NNG_FLAG_NONBLOCK);
		if (rv == NNG_ETIMEDOUT || rv == NNG_EAGAIN)
			continue;
		if (rv == NNG_ECLOSED)
			break;
		if (rv) {
			PCN_WARN("CUBE-RECV", "receiving from the broker: %s", nng_strerror(rv));
			continue;
		}
		serve_one(rt, msg);
	}
	pthread_mutex_lock(&rt->lock);
	code = rt->exit_code;
	pthread_mutex_unlock(&rt->lock);
	return code;
}

void pcn__runtime_destroy(struct pcn__runtime *rt)
{
	struct pcn_instance *i, *next;

	if (!rt)
		return;
	pcn__runtime_stop(rt);
	/* Closing the REQ socket wakes the register thread out of its wait. */
	if (rt->req_open)
		nng_close(rt->req);
	if (rt->reg_thread_started)
		pthread_join(rt->reg_thread, NULL);
	if (rt->rep_open)
		nng_close(rt->rep);
	/* Before the instances go: on_stream_close gets them. */
	pcn__streams_stop(rt);
	pcn__slowpath_stop(rt);
	for (i = rt->instances; i; i = next) {
		next = i->next;
		pcn__instance_free(i);
	}
	pcn__baked_close(rt);
	if (rt->ly)
		ly_ctx_destroy(rt->ly);
	pthread_cond_destroy(&rt->cond);
	pthread_mutex_destroy(&rt->lock);
	free(rt);
}
