/* pcn-broker: the process that owns what every cube shares. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <libyang/libyang.h>

#include "control/control.h"
#include "core/core.h"
#include "dataplane/dataplane.h"
#include "dataplane/inject.h"
#include "dataplane/rmtree.h"
#include "gateway/gateway.h"
#include "model/model.h"
#include "slowpath/slowpath.h"
#include "store/datastore.h"
#include "topology/topology.h"
#include "log.h"
#include "ipc.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: pcn-broker [OPTION]...\n"
		"Runs the Cubemesh broker: the REST API, the PatchPanel, the topology, the\n"
		"datastore, and the registry the cube processes (pcn-<cube>) connect to.\n"
		"\n"
		"  --http ADDR:PORT     where the REST API listens (default 127.0.0.1:9000);\n"
		"                       any address but loopback needs --token\n"
		"  --token TOKEN        require 'Authorization: Bearer TOKEN' (env PCN_TOKEN)\n"
		"  --allow-origin ORIGIN  let web pages of ORIGIN (e.g. https://ui.example:8443)\n"
		"                       call the API (CORS); repeatable or a comma list; by\n"
		"                       default a request carrying any Origin gets 403\n"
		"  --allow-host NAME    accept NAME in the Host header besides the listening\n"
		"                       address (and localhost on loopback); repeatable;\n"
		"                       any other name gets 421 (DNS rebinding)\n"
		"  --max-connections N  HTTP connections open at once; more are closed at\n"
		"                       accept (default 256)\n"
		"  --max-streams N      live streams (GET /<service>/<instance>/<stream>) read\n"
		"                       at once, at most half of them (rounded up) from one\n"
		"                       service; more get 503 (default 16)\n"
		"  --http2              also speak HTTP/2 in clear (h2c); off by default\n"
		"  --state-dir DIR      datastore directory (default /var/lib/cubemesh)\n"
		"  --socket-dir DIR     directory of the nng sockets, mode 0700 (default /run/cubemesh)\n"
		"  --bpffs-root DIR     where programs and maps are pinned (default /sys/fs/bpf/cubemesh)\n"
		"  --yang-dir DIR       directory of the base YANG models (default %s)\n"
		"  --body-limit BYTES   largest request body accepted (default 1048576)\n"
		"  --call-timeout MS    how long to wait for a cube process's answer (default 10000)\n"
		"  --write-timeout MS   a write (queued and then applied) not done in MS gets\n"
		"                       504; the broker keeps the old configuration and sends it\n"
		"                       to the cube again once the cube answers (default 10000)\n"
		"  --write-queue-max N  writes waiting per service; more get 503 with\n"
		"                       Retry-After (default 64)\n"
		"  --write-queue-bytes B  bytes of request bodies waiting per service; more\n"
		"                       get 503 with Retry-After (default 8388608)\n"
		"  --log-level LEVEL    TRACE, DEBUG, INFO, WARN, ERR, CRITICAL or OFF (default INFO)\n"
		"  --tc-attach MODE     TC ports: auto (tcx links where the kernel has them, 6.6+,\n"
		"                       else clsact filters), tcx or clsact (default auto)\n"
		"  --tc-order first|last  tcx: Cubemesh's programs before or after the other\n"
		"                       owners' programs on the netdev (default first)\n"
		"  --xdp-attach MODE    XDP ports: auto (libxdp's dispatcher, beside programs\n"
		"                       loaded with xdp-loader), dispatcher or direct (default auto)\n"
		"  --xdp-priority N     run priority in the dispatcher, 0..1000, lower runs\n"
		"                       first (default 20; xdp-loader's default is 50)\n"
		"  --flush              remove every pin under --bpffs-root and every record in\n"
		"                       --state-dir and the mesh's leftover injector veth pair,\n"
		"                       then exit (netdevs of users are not touched)\n"
		"  -h, --help           show this help and exit\n"
		"  -V, --version        show the version and exit\n"
		"\n"
		"When the broker stops, the data plane keeps forwarding: programs, maps and\n"
		"netdev attachments stay in the kernel, and a new broker takes them over.\n",
		CUBEMESH_DEFAULT_YANG_DIR);
}

static int parse_http(struct broker_opts *o, const char *arg)
{
	static char addr[256];
	const char *colon = strrchr(arg, ':');
	char *end;
	long port;

	if (!colon)
		return -EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -EINVAL;
	if (arg[0] == '[' && colon > arg && colon[-1] == ']')
		snprintf(addr, sizeof(addr), "%.*s", (int)(colon - arg - 2), arg + 1);
	else
		snprintf(addr, sizeof(addr), "%.*s", (int)(colon - arg), arg);
	o->http_addr = addr;
	o->http_port = (int)port;
	return 0;
}

/* Appends the comma-separated items of arg (origins: scheme://host[:port],
 * without a trailing '/'; hosts: a name without port) to a list kept for the
 * life of the process. */
static int add_list(const char ***list, size_t *n, const char *arg, bool origin)
{
	char *copy = strdup(arg), *save = NULL, *item;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		size_t len;
		const char **l;

		while (*item == ' ')
			item++;
		len = strlen(item);
		while (len && (item[len - 1] == ' ' || item[len - 1] == '/'))
			item[--len] = '\0';
		if (!len || (origin ? !strstr(item, "://") || strchr(strstr(item, "://") + 3, '/')
				    : strpbrk(item, ":/ ") != NULL)) {
			rc = -EINVAL;
			break;
		}
		l = realloc(*list, (*n + 1) * sizeof(*l));
		if (!l) {
			rc = -ENOMEM;
			break;
		}
		*list = l;
		(*list)[(*n)++] = item;
	}
	/* The items point into copy: it stays, as the list does. */
	if (rc && *n == 0) {
		free(copy);
		free(*list);
		*list = NULL;
	}
	return rc;
}

static int parse_opts(struct broker_opts *o, int argc, char **argv, bool *flush)
{
	enum { O_HTTP = 256, O_TOKEN, O_STATE, O_SOCK, O_BPFFS, O_YANG, O_BODY, O_TIMEOUT, O_LOG, O_FLUSH,
	       O_ORIGIN, O_HOST, O_MAXCONN, O_HTTP2, O_WTIMEOUT, O_WQMAX, O_WQBYTES,
	       O_MAXSTREAMS, O_DPPOLICY };
	static const struct option longopts[] = {
		{ "http", required_argument, NULL, O_HTTP },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "socket-dir", required_argument, NULL, O_SOCK },
		{ "bpffs-root", required_argument, NULL, O_BPFFS },
		{ "yang-dir", required_argument, NULL, O_YANG },
		{ "body-limit", required_argument, NULL, O_BODY },
		{ "call-timeout", required_argument, NULL, O_TIMEOUT },
		{ "write-timeout", required_argument, NULL, O_WTIMEOUT },
		{ "write-queue-max", required_argument, NULL, O_WQMAX },
		{ "write-queue-bytes", required_argument, NULL, O_WQBYTES },
		{ "log-level", required_argument, NULL, O_LOG },
		{ "flush", no_argument, NULL, O_FLUSH },
		{ "allow-origin", required_argument, NULL, O_ORIGIN },
		{ "allow-host", required_argument, NULL, O_HOST },
		{ "max-connections", required_argument, NULL, O_MAXCONN },
		{ "max-streams", required_argument, NULL, O_MAXSTREAMS },
		{ "http2", no_argument, NULL, O_HTTP2 },
		{ "tc-attach", required_argument, NULL, O_DPPOLICY },
		{ "tc-order", required_argument, NULL, O_DPPOLICY },
		{ "xdp-attach", required_argument, NULL, O_DPPOLICY },
		{ "xdp-priority", required_argument, NULL, O_DPPOLICY },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, lvl, li = 0;
	char *end;

	o->http_addr = "127.0.0.1";
	o->http_port = 9000;
	o->token = getenv("PCN_TOKEN");
	if (o->token && !o->token[0])
		o->token = NULL;
	o->state_dir = "/var/lib/cubemesh";
	o->sock_dir = "/run/cubemesh";
	o->bpffs_root = "/sys/fs/bpf/cubemesh";
	o->yang_dir = CUBEMESH_DEFAULT_YANG_DIR;
	o->body_limit = 1 << 20;
	o->call_timeout_ms = 10000;
	o->write_timeout_ms = 10000;
	o->write_queue_max = 64;
	o->write_queue_bytes = 8 << 20;
	o->log_level = PCN_LOG_INFO;
	o->max_connections = 256;
	o->max_streams = 16;
	while ((c = getopt_long(argc, argv, "hV", longopts, &li)) != -1) {
		switch (c) {
		case O_HTTP:
			if (parse_http(o, optarg)) {
				fprintf(stderr, "pcn-broker: --http wants ADDR:PORT, not '%s'\n", optarg);
				return 2;
			}
			break;
		case O_TOKEN:
			o->token = optarg;
			break;
		case O_STATE:
			o->state_dir = optarg;
			break;
		case O_SOCK:
			o->sock_dir = optarg;
			break;
		case O_BPFFS:
			o->bpffs_root = optarg;
			break;
		case O_YANG:
			o->yang_dir = optarg;
			break;
		case O_BODY:
			o->body_limit = strtoul(optarg, &end, 10);
			if (*end || o->body_limit < 1024) {
				fprintf(stderr, "pcn-broker: --body-limit wants a number of bytes >= 1024\n");
				return 2;
			}
			break;
		case O_TIMEOUT:
			o->call_timeout_ms = (unsigned)strtoul(optarg, &end, 10);
			if (*end || o->call_timeout_ms < 100) {
				fprintf(stderr, "pcn-broker: --call-timeout wants milliseconds >= 100\n");
				return 2;
			}
			break;
		case O_WTIMEOUT:
			o->write_timeout_ms = (unsigned)strtoul(optarg, &end, 10);
			if (*end || o->write_timeout_ms < 100) {
				fprintf(stderr, "pcn-broker: --write-timeout wants milliseconds >= 100\n");
				return 2;
			}
			break;
		case O_WQMAX:
			o->write_queue_max = (unsigned)strtoul(optarg, &end, 10);
			if (*end || o->write_queue_max < 1) {
				fprintf(stderr, "pcn-broker: --write-queue-max wants a number >= 1\n");
				return 2;
			}
			break;
		case O_WQBYTES:
			o->write_queue_bytes = strtoul(optarg, &end, 10);
			if (*end || o->write_queue_bytes < 1024) {
				fprintf(stderr, "pcn-broker: --write-queue-bytes wants a number of bytes >= 1024\n");
				return 2;
			}
			break;
		case O_LOG:
			lvl = pcn_log_level_parse(optarg);
			if (lvl < 0) {
				fprintf(stderr, "pcn-broker: unknown log level '%s'\n", optarg);
				return 2;
			}
			o->log_level = lvl;
			break;
		case O_FLUSH:
			*flush = true;
			break;
		case O_DPPOLICY:
			if (broker_dp_policy(longopts[li].name, optarg)) {
				fprintf(stderr, "pcn-broker: bad --%s '%s' (see --help)\n", longopts[li].name, optarg);
				return 2;
			}
			break;
		case O_ORIGIN:
			if (add_list(&o->allow_origins, &o->n_allow_origins, optarg, true)) {
				fprintf(stderr, "pcn-broker: --allow-origin wants scheme://host[:port], not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case O_HOST:
			if (add_list(&o->allow_hosts, &o->n_allow_hosts, optarg, false)) {
				fprintf(stderr, "pcn-broker: --allow-host wants a host name, not '%s'\n", optarg);
				return 2;
			}
			break;
		case O_MAXCONN:
			o->max_connections = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || o->max_connections < 1 || o->max_connections > 1000000) {
				fprintf(stderr, "pcn-broker: --max-connections wants a number from 1 to 1000000\n");
				return 2;
			}
			break;
		case O_MAXSTREAMS:
			o->max_streams = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || o->max_streams < 1 || o->max_streams > 4096) {
				fprintf(stderr, "pcn-broker: --max-streams wants a number from 1 to 4096\n");
				return 2;
			}
			break;
		case O_HTTP2:
			o->http2 = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("pcn-broker %s (protocol %d)\n", CUBEMESH_VERSION, PCN_PROTOCOL_VERSION);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pcn-broker: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return 0;
}

static int flush_all(const struct broker_opts *o)
{
	char dir[PATH_MAX];
	int rc, err;

	rc = broker_dp_flush(o->bpffs_root);
	broker_inject_sweep(o->bpffs_root);
	/* A cut path could name another directory; broker_rmtree follows no
	 * symbolic link and enters no other filesystem below it. */
	err = pcn_path(dir, sizeof(dir), o->state_dir, PCN_LAYOUT_INSTANCES, (const char *)NULL);
	if (!err)
		err = broker_rmtree(dir);
	if (err) {
		PCN_ERR("BROKER-FLUSH", "cannot remove the instances in %s: %s", o->state_dir, strerror(-err));
		rc = rc ? rc : err;
	}
	/* The transparent stacks (attach_store.c) go with the instances. */
	if (pcn_path(dir, sizeof(dir), o->state_dir, "attachments.json", (const char *)NULL))
		rc = rc ? rc : -ENAMETOOLONG;
	else if (unlink(dir) && errno != ENOENT)
		rc = rc ? rc : -errno;
	PCN_INFO("BROKER-FLUSHED", "removed the pins under %s and the datastore in %s", o->bpffs_root,
		 o->state_dir);
	return rc;
}

/* The soft open-files limit (often 1024) up to the hard one: connections,
 * pins, sockets and the datastore's files all need descriptors, and a write
 * that finds none is applied but not saved. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			PCN_WARN("BROKER-FDLIMIT", "cannot raise the open-files limit from %llu to %llu: %s",
				 (unsigned long long)was, (unsigned long long)rl.rlim_max, strerror(errno));
			return;
		}
	}
	PCN_INFO("BROKER-FDLIMIT", "open-files limit %llu (was %llu)", (unsigned long long)rl.rlim_cur,
		 (unsigned long long)was);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct broker *b = h->data;

	if (b->stopping)
		return;
	b->stopping = true;
	PCN_INFO("BROKER-STOP", "signal %d: stopping; the data plane keeps forwarding", signum);
	broker_http_stop(b);
	broker_topology_stop(b);
	broker_cubeconn_stop(b);
	broker_writes_drain(b);
	broker_slowpath_stop(b);
	broker_logsink_stop(b);
	if (b->netmon)
		broker_netmon_stop(b->netmon);
	b->netmon = NULL;
	uv_close((uv_handle_t *)&b->sigint, NULL);
	uv_close((uv_handle_t *)&b->sigterm, NULL);
	broker_loop_fini(b);
	/* h2o keeps timers and connections of its own on the loop; nothing left
	 * needs the loop to drain, so stop it rather than wait for them. */
	uv_stop(b->loop);
}

int main(int argc, char **argv)
{
	static struct broker broker;
	struct broker *b = &broker;
	bool flush = false;
	int rc;

	rc = parse_opts(&b->opts, argc, argv, &flush);
	if (rc)
		return rc;
	pcn_log_init("pcn-broker", b->opts.log_level);
	pcn_log_route_libbpf();
	raise_fd_limit();
	ly_log_options(LY_LOSTORE);
	if (flush)
		return flush_all(&b->opts) ? 1 : 0;
	b->started_ms = broker_now_ms();
	if ((rc = broker_loop_init(b)))
		goto fail;
	if ((rc = broker_models_create(&b->models, b->opts.yang_dir))) {
		PCN_ERR("BROKER-START", "cannot load the base models from %s: %s", b->opts.yang_dir,
			strerror(-rc));
		goto fail;
	}
	if ((rc = broker_idalloc_init(&b->cube_ids, 1, PCN_MAX_CUBES - 1)))
		goto fail;
	if ((rc = broker_datastore_open(&b->ds, b->opts.state_dir))) {
		PCN_ERR("BROKER-START", "cannot open the datastore in %s: %s", b->opts.state_dir, strerror(-rc));
		goto fail;
	}
	if ((rc = broker_dp_create(&b->dp, b->opts.bpffs_root))) {
		PCN_ERR("BROKER-START", "cannot set up the PatchPanel under %s: %s", b->opts.bpffs_root,
			strerror(-rc));
		goto fail;
	}
	b->parent_tell = broker_parent_tell;
	if ((rc = broker_topology_create(b)))
		goto fail;
	if ((rc = broker_instances_restore(b)))
		goto fail;
	broker_attach_restore(b);
	if ((rc = broker_netmon_start(&b->netmon, b->loop, broker_topology_link_event, b)))
		PCN_WARN("BROKER-NETMON", "cannot watch links (%s): port status will not follow netdevs",
			 strerror(-rc));
	if ((rc = broker_cubeconn_start(b)))
		goto fail;
	if ((rc = broker_slowpath_start(b)))
		goto fail;
	if ((rc = broker_logsink_start(b)))
		goto fail;
	if ((rc = broker_http_start(b)))
		goto fail;
	/* h2o writes to sockets without MSG_NOSIGNAL: a client that closes
	 * its connection with answers in flight (wrk at the end of a run)
	 * would kill the broker with SIGPIPE. Write errors are handled. */
	signal(SIGPIPE, SIG_IGN);
	uv_signal_init(b->loop, &b->sigint);
	uv_signal_init(b->loop, &b->sigterm);
	b->sigint.data = b->sigterm.data = b;
	uv_signal_start(&b->sigint, on_signal, SIGINT);
	uv_signal_start(&b->sigterm, on_signal, SIGTERM);
	PCN_INFO("BROKER-READY", "pcn-broker %s ready (state %s, sockets %s, pins %s)", CUBEMESH_VERSION,
		 b->opts.state_dir, b->opts.sock_dir, b->opts.bpffs_root);
	uv_run(b->loop, UV_RUN_DEFAULT);
	broker_dp_destroy(b->dp);
	broker_datastore_close(b->ds);
	PCN_INFO("BROKER-STOPPED", "stopped");
	return 0;
fail:
	PCN_ERR("BROKER-START", "pcn-broker could not start (%s)", strerror(rc < 0 ? -rc : rc));
	return 1;
}
