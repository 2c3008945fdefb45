/* packetcapture control plane: turns the model (capture, filter, snaplen,
 * dump, networkmode) into the fast path's configuration map and, for a
 * filter, into new code for ingress micro-cube 1; runs the writer thread
 * (pc_writer.c) that drains the ring buffer into the pcap file and the
 * live streams.
 *
 * Everything happens in on_applied, with the whole configuration: a
 * filter and a snaplen changed in one request compile once, and a refused
 * expression fails the request before anything changed. While an instance
 * is being created (or replayed to a restarted process) its programs are
 * not all in place yet, so its filter is loaded right after, from a timer;
 * until then it captures nothing rather than everything. */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "packetcapture_shared.h"
#include "packetcapture_shared_src.h"
#include "packetcapture_src.h"
#include "packetcapture_tc.skel.h"
#include "packetcapture_xdp.skel.h"
#include "packetcapture_yang.h"
#include "pc_cbpf.h"
#include "pc_writer.h"
#include "pcn_cube.h"

#define PC_DEFAULT_DIR "/var/lib/cubemesh/captures"
#define PC_CHECK_MS 1000

/* A filter's fast path built for the instance's hook (and, at XDP, for
 * the TC twin that runs its egress). */
struct pc_code {
	void *main, *tc;
	size_t main_len, tc_len;
};

static void pc_code_free(struct pc_code *c)
{
	if (c) {
		free(c->main);
		free(c->tc);
	}
	free(c);
}

struct pc {
	struct pc *next;
	struct pc_writer w;
	bool writer_ok;
	bool created;     /* the first round is over: reloads may run */
	bool have;        /* the fields below hold an applied configuration */
	char *filter;     /* the expression in force (NULL: every packet) */
	uint32_t snaplen;
	struct pc_cfg cfg; /* as in the map */
	struct pc_code *pending; /* code to load once created */
	struct pc_code *cur;     /* the code in slot 1, to put back without clang */
	uint32_t uc_id;   /* the filter program put in slot 1 (0: none) */
	int timer;
	uint64_t reload_errors;
	int ring_fd;      /* the writer's own reference to pc_ring */
	int once;         /* the timer that loads the filter after the creation */
};

static struct pc *pc_all;

__attribute__((destructor)) static void pc_free_all(void)
{
	while (pc_all) {
		struct pc *p = pc_all;

		pc_all = p->next;
		pc_writer_stop(&p->w);
		if (p->ring_fd >= 0)
			close(p->ring_fd);
		free(p->filter);
		pc_code_free(p->pending);
		pc_code_free(p->cur);
		free(p);
	}
}

static const char *pc_dir(void)
{
	const char *d = getenv("PCN_CAPTURE_DIR");

	return d && d[0] == '/' ? d : PC_DEFAULT_DIR;
}

/* A file name a client may choose: no '/', not "." or "..", printable. */
static bool pc_name_ok(const char *n)
{
	if (!n[0] || !strcmp(n, ".") || !strcmp(n, "..") || strlen(n) > 200)
		return false;
	for (const char *p = n; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return false;
	return true;
}

/* The file of dump (NULL: the instance's default) into out, or -EINVAL
 * with the reason: only a file directly in the capture directory, so that
 * an API client cannot make a root process write anywhere else. */
static int pc_dump_path(struct pcn_instance *inst, const char *dump, char *out, size_t n)
{
	const char *dir = pc_dir(), *name = dump;
	size_t dl = strlen(dir);

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (!dump) {
		snprintf(out, n, "%.*s/%s.pcap", (int)dl, dir, pcn_instance_name(inst));
		return 0;
	}
	if (dump[0] == '/') {
		if (strncmp(dump, dir, dl) || dump[dl] != '/')
			return pcn_fail(inst, -EINVAL, "dump %s is outside the capture directory %.*s", dump, (int)dl,
					dir);
		name = dump + dl + 1;
	}
	if (!pc_name_ok(name))
		return pcn_fail(inst, -EINVAL, "dump %s: a file name in the capture directory %.*s is expected "
				"(no '/' or '..' below it)", dump, (int)dl, dir);
	if (snprintf(out, n, "%.*s/%s", (int)dl, dir, name) >= (int)n)
		return pcn_fail(inst, -EINVAL, "dump %s: path too long", dump);
	return 0;
}

/* mkdir -p, 0700 for what it creates. */
static void pc_mkdirs(const char *dir)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", dir);
	for (char *c = p + 1; *c; c++)
		if (*c == '/') {
			*c = '\0';
			mkdir(p, 0700);
			*c = '/';
		}
	mkdir(p, 0700);
}

static int pc_set_cfg(struct pcn_instance *inst, const struct pc_cfg *c)
{
	uint32_t zero = 0;

	return pcn_map_update(inst, "pc_cfg", &zero, c, BPF_ANY);
}

/* The id of the program in ingress micro-cube slot 1 (0 if unknown). */
static uint32_t pc_slot_id(struct pcn_instance *inst)
{
	uint32_t one = 1, id = 0;

	if (pcn_map_lookup(inst, "pcn_uc_ingress", &one, &id))
		return 0;
	return id;
}

/* The code of expr: libpcap, the translation, clang for each build the
 * instance runs. NULL with err set (rc -EINVAL: the expression or its
 * code is refused). */
static struct pc_code *pc_build(struct pcn_instance *inst, const char *expr, uint32_t snaplen, int *rc, char *err,
				size_t errlen)
{
	bool tc = pcn_instance_attach(inst) == PCN_HOOK_TC;
	struct pc_code *c = calloc(1, sizeof(*c));
	size_t len;
	char *src = pc_cbpf_source(expr, snaplen, packetcapture_src, packetcapture_src_len, packetcapture_shared_src,
				   packetcapture_shared_src_len, &len, rc, err, errlen);

	if (!src || !c) {
		if (!c) {
			*rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
		}
		free(src);
		free(c);
		return NULL;
	}
	*rc = pc_cbpf_build(src, len, tc, &c->main, &c->main_len, err, errlen);
	if (!*rc && !tc)
		*rc = pc_cbpf_build(src, len, 1, &c->tc, &c->tc_len, err, errlen);
	free(src);
	if (*rc) {
		pc_code_free(c);
		return NULL;
	}
	return c;
}

static int pc_load(struct pcn_instance *inst, struct pc *p, const struct pc_code *c)
{
	struct pcn_code code = {
		.kind = PCN_CODE_OBJECT, .data = c->main, .len = c->main_len, .tc_data = c->tc, .tc_len = c->tc_len,
	};
	int rc = pcn_reload(inst, &code, 1);

	if (rc) {
		p->reload_errors++;
		return rc;
	}
	p->uc_id = pc_slot_id(inst);
	return 0;
}

/* Loads a filter left for after the creation; and checks that slot 1
 * still runs the filter: a reload of the whole fast path by the runtime
 * (after a new log level) puts the built-in micro-cube back, which
 * matches nothing. Every second, and a millisecond after each request. */
static void pc_tick(struct pcn_instance *inst, void *arg)
{
	struct pc *p = pcn_instance_priv(inst);
	int rc;

	(void)arg;
	if (!p)
		return;
	p->created = true;
	if (!p->pending && p->cfg.mode == PC_MODE_FILTER && p->filter && pc_slot_id(inst) != p->uc_id) {
		PCN_INFO("PCAP-FILTER-BACK", "%s: its filter program was replaced (a reload of the fast path): "
			 "putting it back", pcn_instance_name(inst));
		if (p->cur) {
			rc = pc_load(inst, p, p->cur);
			if (rc)
				PCN_ERR("PCAP-FILTER-LOAD", "%s: the filter's code does not load (%s): nothing is "
					"captured", pcn_instance_name(inst), strerror(-rc));
			return;
		}
	}
	if (!p->pending)
		return;
	rc = pc_load(inst, p, p->pending);
	if (rc) {
		PCN_ERR("PCAP-FILTER-LOAD", "%s: the filter's code does not load (%s): nothing is captured",
			pcn_instance_name(inst), strerror(-rc));
		return; /* again at the next tick */
	}
	pc_code_free(p->cur);
	p->cur = p->pending;
	p->pending = NULL;
	p->cfg.mode = PC_MODE_FILTER;
	if (pc_set_cfg(inst, &p->cfg))
		PCN_ERR("PCAP-CFG", "%s: cannot update the fast path's configuration", pcn_instance_name(inst));
}

static void pc_tick_once(struct pcn_instance *inst, void *arg)
{
	struct pc *p = pcn_instance_priv(inst);

	if (p && p->once) {
		pcn_timer_stop(inst, p->once);
		p->once = 0;
	}
	pc_tick(inst, arg);
}

static uint64_t pc_u64(const struct pcn_node *c, const char *leaf, uint64_t dflt)
{
	const char *v = pcn_node_child(c, leaf);

	return v ? strtoull(v, NULL, 10) : dflt;
}

static bool pc_bool(const struct pcn_node *c, const char *leaf)
{
	const char *v = pcn_node_child(c, leaf);

	return v && !strcmp(v, "true");
}

static uint32_t pc_dirs(const char *capture)
{
	if (!capture || !strcasecmp(capture, "OFF"))
		return 0;
	if (!strcasecmp(capture, "INGRESS"))
		return 1u << PC_DIR_INGRESS;
	if (!strcasecmp(capture, "EGRESS"))
		return 1u << PC_DIR_EGRESS;
	return (1u << PC_DIR_INGRESS) | (1u << PC_DIR_EGRESS);
}

static bool pc_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int pc_applied(struct pcn_instance *inst, const struct pcn_node *config)
{
	struct pc *p = pcn_instance_priv(inst);
	const char *expr = pcn_node_child(config, "filter");
	struct pc_wcfg wc = { 0 };
	struct pc_cfg cfg = { 0 };
	uint32_t snaplen = (uint32_t)pc_u64(config, "snaplen", 262144);
	struct pc_code *code = NULL;
	char *keep = NULL;
	int rc;

	if (!p)
		return -EINVAL;
	if (!snaplen)
		snaplen = 262144; /* tcpdump -s 0 */
	if (pc_cbpf_is_all(expr))
		expr = NULL;
	rc = pc_dump_path(inst, pcn_node_child(config, "dump"), wc.path, sizeof(wc.path));
	if (rc)
		return rc;
	cfg.dirs = pc_dirs(pcn_node_child(config, "capture"));
	cfg.snaplen = snaplen < PC_MAX_CAPLEN ? snaplen : PC_MAX_CAPLEN;
	cfg.mode = expr ? PC_MODE_FILTER : PC_MODE_ALL;
	if (expr && !(keep = strdup(expr)))
		return -ENOMEM;
	if (expr && (!p->have || !pc_same(expr, p->filter) || snaplen != p->snaplen)) {
		char err[512];

		code = pc_build(inst, expr, snaplen, &rc, err, sizeof(err));
		if (!code) {
			free(keep);
			return pcn_fail(inst, rc ? rc : -ENOMEM, "filter \"%s\": %s", expr, err);
		}
		if (p->created) {
			rc = pc_load(inst, p, code);
			if (rc) {
				pc_code_free(code);
				free(keep);
				return pcn_fail(inst, rc, "filter \"%s\": its code does not load (%s)", expr,
						strerror(-rc));
			}
			pc_code_free(p->cur);
			p->cur = code;
			pc_code_free(p->pending);
			p->pending = NULL;
		} else {
			/* Loaded by pc_tick once the instance is complete: a
			 * millisecond after the creation, without clang. */
			pc_code_free(p->pending);
			p->pending = code;
		}
	}
	if (cfg.mode == PC_MODE_FILTER && p->pending)
		cfg.mode = PC_MODE_PENDING;
	if (!expr && p->pending) {
		pc_code_free(p->pending);
		p->pending = NULL;
	}
	rc = pc_set_cfg(inst, &cfg);
	if (rc) {
		free(keep);
		return pcn_fail(inst, rc, "cannot configure the fast path: %s", strerror(-rc));
	}
	free(p->filter);
	p->filter = keep;
	p->snaplen = snaplen;
	p->cfg = cfg;
	p->have = true;
	/* This request may have reloaded the whole fast path (a new log
	 * level): check slot 1 once it is over. */
	if (p->created && cfg.mode == PC_MODE_FILTER && !p->once) {
		int id = pcn_timer_start(inst, 1, pc_tick_once, NULL);

		if (id > 0)
			p->once = id;
	}
	wc.snaplen = snaplen;
	wc.limit = pc_u64(config, "dump-size-limit", 104857600);
	wc.files = (unsigned)pc_u64(config, "dump-files", 5);
	if (p->writer_ok) {
		/* The directory exists before the first record asks for it. */
		pc_mkdirs(pc_dir());
		pc_writer_configure(&p->w, &wc, pc_bool(config, "networkmode"));
		if (!cfg.dirs)
			pc_writer_flush(&p->w);
	}
	return 0;
}

static int pc_sink(void *stream, const void *buf, size_t len)
{
	return pcn_stream_write(stream, buf, len);
}

static int pc_on_create(struct pcn_instance *inst)
{
	struct pc *p = calloc(1, sizeof(*p));
	int fd, rc;

	if (!p)
		return -ENOMEM;
	p->next = pc_all;
	pc_all = p;
	pcn_instance_set_priv(inst, p);
	p->ring_fd = -1;
	/* Its own fd: the object pcn_map_fd's belongs to is closed after two
	 * reloads, and the writer's epoll would lose the ring with it. */
	fd = pcn_map_fd(inst, "pc_ring");
	if (fd >= 0 && (p->ring_fd = dup(fd)) < 0)
		fd = -errno;
	rc = fd < 0 ? fd : pc_writer_start(&p->w, p->ring_fd, pc_sink);
	if (rc)
		return pcn_fail(inst, rc, "cannot start the capture writer: %s", strerror(-rc));
	p->writer_ok = true;
	rc = pcn_timer_start(inst, PC_CHECK_MS, pc_tick, NULL);
	if (rc < 0)
		return rc;
	p->timer = rc;
	/* The first tick comes a second later: the filter of a new instance
	 * goes in as soon as the creation is done. */
	rc = pcn_timer_start(inst, 1, pc_tick_once, NULL);
	if (rc < 0)
		return rc;
	p->once = rc;
	return 0;
}

static void pc_on_destroy(struct pcn_instance *inst)
{
	struct pc *p = pcn_instance_priv(inst), **pp;

	for (pp = &pc_all; p && *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p) {
		if (p->writer_ok)
			pc_writer_stop(&p->w);
		if (p->ring_fd >= 0)
			close(p->ring_fd);
		free(p->filter);
		pc_code_free(p->pending);
		pc_code_free(p->cur);
		free(p);
	}
	pcn_instance_set_priv(inst, NULL);
}

/* ---- state ------------------------------------------------------------------ */

static int pc_read_globalheader(struct pcn_instance *inst, struct pcn_state *st)
{
	struct pc *p = pcn_instance_priv(inst);
	struct pc_pcap_hdr h;
	int rc;

	pc_writer_header(p && p->have ? p->snaplen : 262144, &h);
	rc = pcn_state_set(st, "globalheader/magic", "%" PRIu32, h.magic);
	if (!rc)
		rc = pcn_state_set(st, "globalheader/version_major", "%u", h.version_major);
	if (!rc)
		rc = pcn_state_set(st, "globalheader/version_minor", "%u", h.version_minor);
	if (!rc)
		rc = pcn_state_set(st, "globalheader/thiszone", "%d", h.thiszone);
	if (!rc)
		rc = pcn_state_set(st, "globalheader/sigfigs", "%u", h.sigfigs);
	if (!rc)
		rc = pcn_state_set(st, "globalheader/snaplen", "%" PRIu32, h.snaplen);
	if (!rc)
		rc = pcn_state_set(st, "globalheader/linktype", "%" PRIu32, h.linktype);
	return rc;
}

/* Network mode: the last packet captured. */
static int pc_read_packet(struct pcn_instance *inst, struct pcn_state *st)
{
	struct pc *p = pcn_instance_priv(inst);
	struct pc_qpkt *q = p && p->writer_ok ? pc_writer_last(&p->w) : NULL;
	char *hex;
	int rc;

	if (!q)
		return 0;
	hex = malloc((size_t)q->caplen * 2 + 1);
	if (!hex) {
		free(q);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < q->caplen; i++)
		sprintf(hex + 2 * i, "%02x", q->data[i]);
	hex[2 * q->caplen] = '\0';
	rc = pcn_state_set(st, "packet/capturelen", "%" PRIu32, q->caplen);
	if (!rc)
		rc = pcn_state_set(st, "packet/packetlen", "%" PRIu32, q->len);
	if (!rc)
		rc = pcn_state_set(st, "packet/timestamp-seconds", "%" PRIu64, q->ts_ns / 1000000000);
	if (!rc)
		rc = pcn_state_set(st, "packet/timestamp-microseconds", "%" PRIu64, q->ts_ns % 1000000000 / 1000);
	if (!rc)
		rc = pcn_state_set(st, "packet/rawdata", "%s", hex);
	free(hex);
	free(q);
	return rc;
}

struct pc_totals {
	uint64_t cap[2], dropped, written, bytes, sdrops, errors, rotations;
	char file[PATH_MAX];
};

static int pc_totals(struct pcn_instance *inst, struct pc_totals *t)
{
	struct pc *p = pcn_instance_priv(inst);

	memset(t, 0, sizeof(*t));
	for (uint32_t dir = 0; dir < 2; dir++) {
		uint64_t c[2];
		int rc = pcn_map_sum_u64(inst, "pc_ctr", &dir, c, 2);

		if (rc)
			return rc;
		t->cap[dir] = c[0];
		t->dropped += c[1];
	}
	if (p && p->writer_ok) {
		pthread_mutex_lock(&p->w.mu);
		t->written = p->w.written;
		t->bytes = p->w.written_bytes;
		t->sdrops = p->w.stream_drops;
		t->errors = p->w.errors;
		t->rotations = p->w.rotations;
		snprintf(t->file, sizeof(t->file), "%s", p->w.cur_path);
		pthread_mutex_unlock(&p->w.mu);
	}
	return 0;
}

static int pc_read_stats(struct pcn_instance *inst, struct pcn_state *st)
{
	struct pc_totals t;
	int rc = pc_totals(inst, &t);

#define SET(leaf, v)                                                                               \
	do {                                                                                       \
		if (!rc)                                                                           \
			rc = pcn_state_set(st, "stats/" leaf, "%" PRIu64, (uint64_t)(v));          \
	} while (0)
	SET("captured-ingress", t.cap[PC_DIR_INGRESS]);
	SET("captured-egress", t.cap[PC_DIR_EGRESS]);
	SET("dropped", t.dropped);
	SET("written", t.written);
	SET("written-bytes", t.bytes);
	SET("stream-dropped", t.sdrops);
	SET("write-errors", t.errors);
	SET("rotations", t.rotations);
#undef SET
	if (!rc)
		rc = pcn_state_set(st, "stats/file", "%s", t.file);
	return rc;
}

static int pc_metrics(struct pcn_instance *inst, struct pcn_metrics *m)
{
	static const char *const in[] = { "direction", "ingress", NULL }, *const eg[] = { "direction", "egress",
											    NULL };
	struct pc_totals t;
	int rc = pc_totals(inst, &t);

	if (!rc)
		rc = pcn_metric_add(m, "packetcapture_captured_packets", PCN_METRIC_COUNTER,
				    "Packets put in the capture ring buffer", in, (double)t.cap[PC_DIR_INGRESS]);
	if (!rc)
		rc = pcn_metric_add(m, "packetcapture_captured_packets", PCN_METRIC_COUNTER,
				    "Packets put in the capture ring buffer", eg, (double)t.cap[PC_DIR_EGRESS]);
	if (!rc)
		rc = pcn_metric_add(m, "packetcapture_dropped_packets", PCN_METRIC_COUNTER,
				    "Matching packets not captured: the ring buffer was full", NULL, (double)t.dropped);
	if (!rc)
		rc = pcn_metric_add(m, "packetcapture_written_packets", PCN_METRIC_COUNTER,
				    "Records written to the pcap file", NULL, (double)t.written);
	if (!rc)
		rc = pcn_metric_add(m, "packetcapture_stream_dropped_packets", PCN_METRIC_COUNTER,
				    "Records a live stream's client was too slow to take", NULL, (double)t.sdrops);
	return rc;
}

/* ---- live streams ------------------------------------------------------------ */

static int pc_stream_open(struct pcn_instance *inst, const char *name, struct pcn_stream *s)
{
	struct pc *p = pcn_instance_priv(inst);
	struct pc_pcap_hdr h;
	int rc;

	if (!p || !p->writer_ok || strcmp(name, "stream"))
		return -ENOENT;
	pc_writer_header(p->have ? p->snaplen : 262144, &h);
	rc = pcn_stream_write(s, &h, sizeof(h));
	if (rc)
		return rc == -EPIPE ? -EPIPE : -EAGAIN;
	rc = pc_writer_stream_add(&p->w, s);
	return rc == -ENOSPC ? -EBUSY : rc;
}

static void pc_stream_close(struct pcn_instance *inst, struct pcn_stream *s)
{
	struct pc *p = pcn_instance_priv(inst);

	if (p && p->writer_ok)
		pc_writer_stream_del(&p->w, s);
}

static const struct pcn_config_handler pc_handlers[] = {
	{ NULL },
};

static const struct pcn_state_handler pc_state[] = {
	{ "/packetcapture:packetcapture/globalheader", pc_read_globalheader },
	{ "/packetcapture:packetcapture/packet", pc_read_packet },
	{ "/packetcapture:packetcapture/stats", pc_read_stats },
	{ NULL },
};

static const struct pcn_stream_desc pc_streams[] = {
	{ "stream", "application/vnd.tcpdump.pcap" },
	{ NULL },
};

const struct pcn_cube_desc packetcapture_desc = {
	.service = "packetcapture",
	.version = "2.0.0",
	.description = "Captures the packets of its parent matching a tcpdump filter into pcap files and streams",
	.min_kernel = "5.18",
	.kind = PCN_CUBE_TRANSPARENT,
	.yang_module_name = "packetcapture",
	.yang_module = packetcapture_yang,
	.xdp_object = packetcapture_xdp__elf_bytes,
	.tc_object = packetcapture_tc__elf_bytes,
	.handlers = pc_handlers,
	.state = pc_state,
	.on_create = pc_on_create,
	.on_destroy = pc_on_destroy,
	.on_applied = pc_applied,
	.metrics = pc_metrics,
	.streams = pc_streams,
	.on_stream_open = pc_stream_open,
	.on_stream_close = pc_stream_close,
};

#ifndef PCN_CUBE_NO_MAIN
int main(int argc, char **argv)
{
	return pcn_cube_main(&packetcapture_desc, argc, argv);
}
#endif
