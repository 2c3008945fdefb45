/* A broker in the test's process and a fake cube process for it, shared by
 * the broker's unit tests through fakecube_test.h (no test of its
 * own: the name only follows the folder's rule for test files).
 *
 * The broker is the real one (models, datastore, PatchPanel under a bpffs
 * root of its own, job queues, nng calls); the cube is a real nng REP
 * socket on an ipc:// path in the test's temporary directory, answering
 * CubeRequests from a thread: every Apply is accepted (or refused, when
 * the test says so), everything else answers a bare OK. The services
 * register through the broker's own registry (broker_registry_handle), as
 * a cube process's Register would. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libyang/libyang.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "control/control.h"
#include "topology/topology.h"
#include "core/core.h"
#include "dataplane/dataplane.h"
#include "model/model.h"
#include "store/datastore.h"
#include "pcn_layout.h"
#include "log.h"
#include "ipc.h"

#include "control/fakecube_test.h"

static struct {
	struct broker b;
	bool started;
	char root[64];       /* the temporary directory: state/ and sockets */
	char state[128];
	char sock[128];
	char bpffs[64];
	char url[2][192];    /* the fake cube's endpoints (one per service) */
	nng_socket rep[2];   /* one fake process per service */
	bool rep_open[2];
	pthread_t th[2];
	bool th_started[2];
	atomic_bool stop;
	atomic_int refuse;   /* 0: accept Applies; else refuse them with this status */
	atomic_uint applies[3]; /* per ApplyOp */
	/* tb_cube_metrics: the bytes a MetricsRequest gets (NULL: a bare
	 * OK), after delay_ms; set before the request is sent. */
	void *metrics_reply;
	size_t metrics_len;
	unsigned metrics_delay_ms;
	atomic_uint reads;            /* ReadState requests answered */
	atomic_uint read_delay_ms;    /* each waits this long before its answer */
	/* tb_cube_refuse_instance: Applies of this instance are refused with
	 * refuse_one_http; apply_delay_ms: each Apply waits so long first;
	 * apply_log: "<instance>=<config>;" of every Apply accepted, in order. */
	char refuse_one[64];
	char refuse_value[64];
	int refuse_one_http;
	/* The seq of the last Apply taken per instance (ApplyConfig.after is
	 * checked as a cube process checks it: pcn__apply). */
	struct {
		char name[64];
		uint64_t seq;
	} applied[16];
	atomic_uint stale;            /* Applies refused as stale-base */
	atomic_uint apply_delay_ms;
	pthread_mutex_t log_lock;
	char apply_log[8192];
} T;

void tb_cube_refuse_instance(const char *name, int http)
{
	tb_cube_refuse_value(name, NULL, http);
}

/* Applies of name whose config holds value (NULL: any) are refused. */
void tb_cube_refuse_value(const char *name, const char *value, int http)
{
	pthread_mutex_lock(&T.log_lock);
	snprintf(T.refuse_one, sizeof(T.refuse_one), "%s", name ? name : "");
	snprintf(T.refuse_value, sizeof(T.refuse_value), "%s", value ? value : "");
	T.refuse_one_http = http;
	pthread_mutex_unlock(&T.log_lock);
}

unsigned tb_cube_stale(void)
{
	return atomic_load(&T.stale);
}

/* The slot of name in T.applied (the log lock held). */
static uint64_t *applied_of(const char *name)
{
	for (int i = 0; i < 16; i++)
		if (strcmp(T.applied[i].name, name) == 0)
			return &T.applied[i].seq;
	for (int i = 0; i < 16; i++)
		if (!T.applied[i].name[0]) {
			snprintf(T.applied[i].name, sizeof(T.applied[i].name), "%s", name);
			return &T.applied[i].seq;
		}
	return NULL;
}

void tb_cube_apply_delay(unsigned ms)
{
	atomic_store(&T.apply_delay_ms, ms);
}

/* The test reads it between its loop runs: no Apply is then in progress
 * that it waits for. */
const char *tb_cube_apply_log(void)
{
	return T.apply_log;
}

unsigned tb_cube_reads(void)
{
	return atomic_load(&T.reads);
}

void tb_cube_read_delay(unsigned ms)
{
	atomic_store(&T.read_delay_ms, ms);
}

const char *tb_state_dir(void)
{
	return T.state;
}

const char *tb_bpffs_root(void)
{
	return T.bpffs;
}

void tb_cube_refuse(int http)
{
	atomic_store(&T.refuse, http);
}

unsigned tb_cube_applies(int op)
{
	return atomic_load(&T.applies[op]);
}

/* Whatever the test wants a MetricsRequest answered with, raw: a packed
 * CubeReply, garbage, a huge message; len 0 goes back to a bare OK. */
void tb_cube_metrics(const void *reply, size_t len, unsigned delay_ms)
{
	free(T.metrics_reply);
	T.metrics_reply = len ? malloc(len) : NULL;
	if (T.metrics_reply)
		memcpy(T.metrics_reply, reply, len);
	T.metrics_len = T.metrics_reply ? len : 0;
	T.metrics_delay_ms = delay_ms;
}

static const char *const services[2] = { "helloworld", "transparenthelloworld" };

/* What a cube process pins for an instance it creates: its directory under
 * the bpffs root (the broker removes it at delete). */
static void pin_dir(int svc, const char *name)
{
	char dir[512];
	size_t len;

	if (pcn_layout_cube(dir, sizeof(dir), T.bpffs, services[svc], name, NULL))
		return;
	len = strlen(dir);
	for (size_t i = strlen(T.bpffs) + 1; i <= len; i++)
		if (dir[i] == '/' || dir[i] == '\0') {
			char c = dir[i];

			dir[i] = '\0';
			mkdir(dir, 0700);
			dir[i] = c;
		}
}

static void cube_answer(int svc, nng_msg *in)
{
	Cubemesh__CubeRequest *req = NULL;
	Cubemesh__CubeReply rep = CUBEMESH__CUBE_REPLY__INIT;
	Cubemesh__ApplyReply ar = CUBEMESH__APPLY_REPLY__INIT;
	Cubemesh__Status st;
	struct pcn_ipc_status_buf sb;
	nng_msg *out = NULL;
	int refuse = atomic_load(&T.refuse);

	pcn_ipc_status_set(&st, &sb, 0, 0, NULL, NULL, NULL);
	if (pcn_ipc_unpack(&cubemesh__cube_request__descriptor, nng_msg_body(in), nng_msg_len(in),
			    (ProtobufCMessage **)&req) == 0 &&
	    req->body_case == CUBEMESH__CUBE_REQUEST__BODY_METRICS && T.metrics_len) {
		protobuf_c_message_free_unpacked(&req->base, NULL);
		usleep(T.metrics_delay_ms * 1000u);
		if (nng_msg_alloc(&out, T.metrics_len) == 0) {
			memcpy(nng_msg_body(out), T.metrics_reply, T.metrics_len);
			if (nng_sendmsg(T.rep[svc], out, 0) != 0)
				nng_msg_free(out);
		}
		return;
	}
	if (req && req->body_case == CUBEMESH__CUBE_REQUEST__BODY_READ) {
		atomic_fetch_add(&T.reads, 1);
		usleep(atomic_load(&T.read_delay_ms) * 1000u);
	}
	if (req && req->body_case == CUBEMESH__CUBE_REQUEST__BODY_APPLY) {
		const Cubemesh__ApplyConfig *a = req->apply;
		bool refuse_this, stale;
		uint64_t *seq;

		usleep(atomic_load(&T.apply_delay_ms) * 1000u);
		pthread_mutex_lock(&T.log_lock);
		seq = applied_of(a->instance);
		stale = a->op != CUBEMESH__APPLY_OP__APPLY_DELETE && a->has_after &&
			(!seq || !a->after || *seq != a->after);
		/* A refused instance: only the value the test names in its
		 * config ("" for any) is refused. */
		refuse_this = T.refuse_one[0] && strcmp(T.refuse_one, a->instance) == 0;
		if (refuse_this)
			refuse = T.refuse_one_http;
		if (refuse_this && T.refuse_value[0] && a->config_json && !strstr(a->config_json, T.refuse_value))
			refuse = 0;
		if (!stale && (!refuse || a->op == CUBEMESH__APPLY_OP__APPLY_DELETE)) {
			snprintf(T.apply_log + strlen(T.apply_log), sizeof(T.apply_log) - strlen(T.apply_log),
				 "%s=%s;", a->instance, a->config_json ? a->config_json : "");
			if (seq)
				*seq = a->has_seq ? a->seq : 0;
		}
		pthread_mutex_unlock(&T.log_lock);
		if (stale) {
			atomic_fetch_add(&T.stale, 1);
			pcn_ipc_status_set(&st, &sb, -ESTALE, 409, "stale-base", NULL, "stale: %s", a->instance);
		} else if (refuse && a->op != CUBEMESH__APPLY_OP__APPLY_DELETE) {
			pcn_ipc_status_set(&st, &sb, -EINVAL, (uint32_t)refuse, "invalid-value", NULL,
					    "the fake cube refuses %s", req->apply->instance);
		} else {
			if (req->apply->op == CUBEMESH__APPLY_OP__APPLY_CREATE)
				pin_dir(svc, req->apply->instance);
			if ((unsigned)req->apply->op < 3)
				atomic_fetch_add(&T.applies[req->apply->op], 1);
			rep.body_case = CUBEMESH__CUBE_REPLY__BODY_APPLY;
			rep.apply = &ar;
		}
	}
	rep.status = &st;
	if (req)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	if (pcn_ipc_pack(&rep.base, &out) == 0 && nng_sendmsg(T.rep[svc], out, 0) != 0)
		nng_msg_free(out);
}

static void *cube_thread(void *arg)
{
	int svc = (int)(intptr_t)arg;

	while (!atomic_load(&T.stop)) {
		nng_msg *in;
		int rv = nng_recvmsg(T.rep[svc], &in, 0);

		if (rv == NNG_ETIMEDOUT)
			continue;
		if (rv)
			break;
		cube_answer(svc, in);
		nng_msg_free(in);
	}
	return NULL;
}

/* Runs the broker's loop until *done or ms have passed. */
static bool run_until(const bool *done, unsigned ms)
{
	uint64_t end = broker_now_ms() + ms;

	while (!*done && broker_now_ms() < end) {
		uv_run(T.b.loop, UV_RUN_NOWAIT);
		if (!*done)
			usleep(1000);
	}
	return *done;
}

/* Runs the broker's loop for ms. */
void tb_run_ms(unsigned ms)
{
	bool never = false;

	run_until(&never, ms);
}

struct write_wait {
	bool done;
	int status;
	char *msg;
	size_t n;
};

static void write_done(struct broker *b, void *arg, const struct broker_error *err, int status)
{
	struct write_wait *w = arg;

	(void)b;
	w->status = err ? err->http_status : status;
	if (w->msg)
		snprintf(w->msg, w->n, "%s", err ? err->message : "");
	w->done = true;
}

struct tb_write {
	struct write_wait w;
	char msg[256];
};

/* A write queued as the gateway queues it, not waited for. */
struct tb_write *tb_write_start(enum broker_method m, const char *path, const char *body)
{
	struct tb_write *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->w.msg = t->msg;
	t->w.n = sizeof(t->msg);
	broker_instance_write(&T.b, path, strlen(path), m, body ? body : "", body ? strlen(body) : 0, write_done,
			      &t->w);
	return t;
}

/* Runs the loop until t is answered (or ms passed); its HTTP status, or
 * -ETIMEDOUT. Frees t when answered. */
int tb_write_wait(struct tb_write *t, unsigned ms)
{
	int status;

	if (!run_until(&t->w.done, ms))
		return -ETIMEDOUT;
	status = t->w.status;
	free(t);
	return status;
}

/* One write through the broker's queue, as the gateway sends it; its
 * HTTP status (-ETIMEDOUT if it did not end in 5 s). */
int tb_write(enum broker_method m, const char *path, const char *body, char *msg, size_t n)
{
	struct write_wait w = { .msg = msg, .n = n };

	broker_instance_write(&T.b, path, strlen(path), m, body ? body : "", body ? strlen(body) : 0, write_done,
			      &w);
	if (!run_until(&w.done, 5000))
		return -ETIMEDOUT;
	return w.status;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = calloc(1, (size_t)len + 1)) && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Registers service (its model from yang/<service>.yang) as a process at
 * endpoint would, and waits until its (empty) replay has made it UP. */
static int tb_register(const char *service, bool transparent, const char *endpoint)
{
	Cubemesh__BrokerRequest req = CUBEMESH__BROKER_REQUEST__INIT;
	Cubemesh__Register r = CUBEMESH__REGISTER__INIT;
	Cubemesh__BrokerReply reply = CUBEMESH__BROKER_REPLY__INIT;
	Cubemesh__Status st = CUBEMESH__STATUS__INIT;
	char path[512], errbuf[256] = "";
	struct broker_service *svc;
	char *text;
	bool up = false;

	snprintf(path, sizeof(path), "%s/%s.yang", CUBEMESH_TEST_YANG_DIR, service);
	text = read_text(path);
	if (!text)
		return -ENOENT;
	r.protocol_version = PCN_PROTOCOL_VERSION;
	r.service_name = (char *)service;
	r.version = "1.0";
	r.kind = transparent ? CUBEMESH__KIND__KIND_TRANSPARENT : CUBEMESH__KIND__KIND_STANDARD;
	r.yang_module_name = (char *)service;
	r.yang_module = text;
	r.endpoint = (char *)endpoint;
	r.has_pid = 1;
	r.pid = (uint32_t)getpid();
	r.has_ordered_apply = 1;
	r.ordered_apply = 1;
	req.body_case = CUBEMESH__BROKER_REQUEST__BODY_REGISTER;
	req.register_ = &r;
	reply.status = &st;
	broker_registry_handle(&T.b, &req, &reply, errbuf, sizeof(errbuf));
	free(text);
	if (st.code) {
		fprintf(stderr, "register %s: %d %s\n", service, st.code, errbuf);
		return st.code;
	}
	svc = broker_service_find(&T.b, service);
	for (int i = 0; i < 5000 && svc && !up; i++) {
		uv_run(T.b.loop, UV_RUN_NOWAIT);
		up = svc->state == BROKER_SVC_UP;
		if (!up)
			usleep(1000);
	}
	return up ? 0 : -ETIMEDOUT;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* What runs that died before their cleanup (a crash, an abort of the
 * sanitizers) left: <dir>/<prefix><pid>[-...] whose process is gone. */
static void sweep_dead(const char *dir, const char *prefix, bool bpffs)
{
	DIR *d = opendir(dir);
	size_t pl = strlen(prefix);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[300], *end;
		long pid;

		if (strncmp(e->d_name, prefix, pl) != 0)
			continue;
		pid = strtol(e->d_name + pl, &end, 10);
		if ((*end && *end != '-') || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (bpffs)
			broker_dp_flush(path);
		else
			nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		rmdir(path);
	}
	closedir(d);
}

struct broker *tb_start(void)
{
	struct broker *b = &T.b;

	memset(&T, 0, sizeof(T));
	pthread_mutex_init(&T.log_lock, NULL);
	T.b.opts.call_timeout_ms = 3000;
	T.b.opts.write_timeout_ms = 4000;
	T.b.opts.write_queue_max = 64;
	T.b.opts.write_queue_bytes = 1 << 20;
	T.b.opts.body_limit = 1 << 20;
	pcn_log_init("broker-test", getenv("CM_TEST_LOG") ? PCN_LOG_DEBUG : PCN_LOG_OFF);
	ly_log_options(LY_LOSTORE);
	sweep_dead("/tmp", "pcn-brk-test-", false);
	sweep_dead("/sys/fs/bpf", "cmtest-", true);
	snprintf(T.root, sizeof(T.root), "/tmp/pcn-brk-test-%d-XXXXXX", (int)getpid());
	if (!mkdtemp(T.root))
		return NULL;
	T.started = true;
	snprintf(T.state, sizeof(T.state), "%s/state", T.root);
	snprintf(T.sock, sizeof(T.sock), "%s/sock", T.root);
	snprintf(T.bpffs, sizeof(T.bpffs), "/sys/fs/bpf/cmtest-%d", (int)getpid());
	if (mkdir(T.sock, 0700))
		return NULL;
	for (int i = 0; i < 2; i++)
		snprintf(T.url[i], sizeof(T.url[i]), "ipc://%s/cube%d.sock", T.sock, i);
	b->opts.state_dir = T.state;
	b->opts.sock_dir = T.sock;
	b->opts.bpffs_root = T.bpffs;
	b->opts.yang_dir = CUBEMESH_TEST_YANG_DIR;
	b->started_ms = broker_now_ms();
	if (broker_loop_init(b) || broker_models_create(&b->models, b->opts.yang_dir) ||
	    broker_idalloc_init(&b->cube_ids, 1, PCN_MAX_CUBES - 1) || broker_datastore_open(&b->ds, T.state) ||
	    broker_dp_create(&b->dp, T.bpffs) || broker_topology_create(b))
		return NULL;
	b->parent_tell = broker_parent_tell;
	/* The fake cube, listening before the services register (the broker
	 * dials it at registration). */
	for (int i = 0; i < 2; i++) {
		if (nng_rep0_open(&T.rep[i]))
			return NULL;
		T.rep_open[i] = true;
		pcn_ipc_cap(T.rep[i]);
		nng_socket_set_ms(T.rep[i], NNG_OPT_RECVTIMEO, 50);
		if (nng_listen(T.rep[i], T.url[i], NULL, 0))
			return NULL;
		if (pthread_create(&T.th[i], NULL, cube_thread, (void *)(intptr_t)i))
			return NULL;
		T.th_started[i] = true;
	}
	if (tb_register(services[0], false, T.url[0]) || tb_register(services[1], true, T.url[1]))
		return NULL;
	return b;
}

/* Everything tb_start made goes, whatever state a failed test left. */
void tb_stop(void)
{
	struct broker *b = &T.b;

	if (!T.started)
		return;
	for (struct broker_service *s = b->services; s; s = s->next)
		broker_cubeconn_close(b, s);
	atomic_store(&T.stop, true);
	for (int i = 0; i < 2; i++) {
		if (T.th_started[i])
			pthread_join(T.th[i], NULL);
		if (T.rep_open[i])
			nng_close(T.rep[i]);
	}
	while (b->instances) {
		struct broker_instance *i = b->instances;

		b->instances = i->next;
		broker_instance_free(i);
	}
	while (b->services) {
		struct broker_service *s = b->services;

		b->services = s->next;
		free(s);
	}
	broker_topology_stop(b);
	if (b->loop) {
		broker_loop_fini(b);
		uv_run(b->loop, UV_RUN_NOWAIT);
	}
	broker_idalloc_fini(&b->cube_ids);
	if (b->dp)
		broker_dp_destroy(b->dp);
	if (b->ds)
		broker_datastore_close(b->ds);
	if (b->models)
		broker_models_destroy(b->models);
	broker_dp_flush(T.bpffs);
	rmdir(T.bpffs);
	nftw(T.root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	tb_cube_metrics(NULL, 0, 0);
	T.started = false;
}
