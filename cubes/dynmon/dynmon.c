/* dynmon control plane: takes each direction's code from dataplane-config,
 * compiles it in Polycube's dialect (dynmon_cc.c) for the instance's hook
 * (and for TC, the egress twin of an XDP instance), swaps it in as the
 * direction's micro-cube with pcn_reload (verified before anything
 * changes, then one atomic update of the slot: no packet lost, a refused
 * code leaves the old one running), and reads the maps its metric configs
 * name (dynmon_read.c) for the model's metrics, open-metrics and the
 * gateway's /metrics. What each leaf means is in yang/dynmon.yang; how
 * this differs from Polycube in README.md.
 *
 * Maps across code changes: a map the new code declares with the same
 * name and layout (type, key, value, size, flags) as the running one is
 * the same map, its content kept; one whose layout changed is a new, empty
 * map; maps the new code no longer declares are dropped. All of them
 * survive a restart of this process (pinned). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

#include "dynmon_int.h"
#include "dynmon_tc.skel.h"
#include "dynmon_xdp.skel.h"
#include "dynmon_yang.h"

/* What a direction runs when its code is taken away: Polycube's default. */
static const char dm_pass_code[] =
	"static __always_inline int handle_rx(struct CTXTYPE *ctx, struct pkt_metadata *md)\n"
	"{\n\treturn RX_OK;\n}\n";

const char *const dm_dir_name[2] = { "ingress", "egress" };

/* Every instance's data, freed at exit (instances outlive the process). */
static struct dynmon *dm_all;

static void metrics_free(struct dm_metric *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].name);
		free(m[i].map);
		free(m[i].help);
		for (size_t j = 0; j < m[i].n_labels; j++) {
			free(m[i].labels[j].name);
			free(m[i].labels[j].value);
		}
		free(m[i].labels);
	}
	free(m);
}

static void map_close(struct dm_map *m)
{
	if (m->fd >= 0)
		close(m->fd);
	btf__free(m->btf);
	m->fd = -1;
	m->btf = NULL;
}

static void maps_close(struct dm_path *p)
{
	for (size_t i = 0; i < p->n_maps; i++)
		map_close(&p->maps[i]);
	p->n_maps = 0;
}

static void dm_free(struct dynmon *d)
{
	for (int i = 0; i < 2; i++) {
		struct dm_path *p = &d->path[i];

		maps_close(p);
		free(p->code);
		free(p->obj);
		free(p->tc_obj);
		metrics_free(p->metrics, p->n_metrics);
	}
	free(d);
}

__attribute__((destructor)) static void dm_free_all(void)
{
	while (dm_all) {
		struct dynmon *d = dm_all;

		dm_all = d->next;
		dm_free(d);
	}
}

/* ---- the configuration -------------------------------------------------- */

/* One direction as the new configuration has it. */
struct dm_cfg {
	const char *code; /* NULL: none */
	struct dm_metric *metrics;
	size_t n_metrics;
	int err;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int label_cb(const struct pcn_node *n, void *arg)
{
	struct dm_metric *m = arg;
	struct dm_label *l = realloc(m->labels, (m->n_labels + 1) * sizeof(*l));

	if (!l)
		return -ENOMEM;
	m->labels = l;
	l[m->n_labels].name = dup_or_null(pcn_node_child(n, "name"));
	l[m->n_labels].value = dup_or_null(pcn_node_child(n, "value"));
	m->n_labels++;
	return 0;
}

static int om_cb(const struct pcn_node *n, void *arg)
{
	static const char *const types[] = { "counter", "gauge", "histogram", "summary", "untyped" };
	struct dm_metric *m = arg;
	const char *t = pcn_node_child(n, "type");

	m->om = true;
	m->help = dup_or_null(pcn_node_child(n, "help"));
	m->type = DM_OM_UNTYPED;
	for (int i = 0; t && i < 5; i++)
		if (strcasecmp(t, types[i]) == 0)
			m->type = (enum dm_om_type)i;
	return pcn_node_foreach(n, "labels", label_cb, m);
}

static int extraction_cb(const struct pcn_node *n, void *arg)
{
	struct dm_metric *m = arg;
	const char *s = pcn_node_child(n, "swap-on-read"), *e = pcn_node_child(n, "empty-on-read");

	m->swap = s && strcmp(s, "true") == 0;
	m->empty = e && strcmp(e, "true") == 0;
	return 0;
}

static int metric_cb(const struct pcn_node *n, void *arg)
{
	struct dm_cfg *c = arg;
	struct dm_metric *m = realloc(c->metrics, (c->n_metrics + 1) * sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	c->metrics = m;
	m = &m[c->n_metrics++];
	memset(m, 0, sizeof(*m));
	m->name = dup_or_null(pcn_node_child(n, "name"));
	m->map = dup_or_null(pcn_node_child(n, "map-name"));
	if (!m->name || !m->map)
		return -ENOMEM;
	rc = pcn_node_foreach(n, "extraction-options", extraction_cb, m);
	if (!rc)
		rc = pcn_node_foreach(n, "open-metrics-metadata", om_cb, m);
	return rc;
}

static int path_cb(const struct pcn_node *n, void *arg)
{
	struct dm_cfg *c = arg;
	const char *code = pcn_node_child(n, "code");

	/* Blank code is no code. */
	if (code && code[strspn(code, " \t\r\n")])
		c->code = code;
	return pcn_node_foreach(n, "metric-configs", metric_cb, c);
}

static int dp_cb(const struct pcn_node *n, void *arg)
{
	struct dm_cfg *c = arg;
	int rc = pcn_node_foreach(n, "ingress-path", path_cb, &c[DM_INGRESS]);

	return rc ? rc : pcn_node_foreach(n, "egress-path", path_cb, &c[DM_EGRESS]);
}

/* ---- swapping a direction's code ------------------------------------------ */

static int pin_dir(struct pcn_instance *inst, struct dynmon *d)
{
	if (!d->pin_known && dm_pin_dir(inst, d->pin_dir, sizeof(d->pin_dir)) == 0)
		d->pin_known = true;
	return d->pin_known ? 0 : -ENOENT;
}

static bool same_layout(const struct dm_map *a, const struct bpf_map_info *b)
{
	return a->type == b->type && a->key_size == b->key_size && a->value_size == b->value_size &&
	       a->max_entries == b->max_entries && a->flags == b->map_flags;
}

/* A pin moved aside for the new code, put back if it fails. */
struct dm_aside {
	char path[PATH_MAX + 80];
	int fd;
};

static const struct dm_map *find_map(const struct dm_map *maps, size_t n, const char *obj_name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(maps[i].obj_name, obj_name) == 0)
			return &maps[i];
	return NULL;
}

/* Builds for the instance's hook: obj for it; tc for the TC twin of an XDP
 * instance (NULL at TC). */
struct dm_build {
	void *obj, *tc;
	size_t obj_len, tc_len;
};

static void build_free(struct dm_build *b)
{
	free(b->obj);
	free(b->tc);
	memset(b, 0, sizeof(*b));
}

/* The TC build of an XDP instance's code, compiled beside the XDP one. */
struct tc_job {
	enum dm_dir dir;
	const char *code;
	void *obj;
	size_t len;
	char err[DM_ERR_MAX];
	int rc;
};

static void *tc_job_run(void *arg)
{
	struct tc_job *j = arg;

	j->rc = dm_compile(j->dir, true, j->code, &j->obj, &j->len, j->err, sizeof(j->err));
	return NULL;
}

static int build(struct pcn_instance *inst, enum dm_dir dir, const char *code, struct dm_build *b, char *err,
		 size_t errlen)
{
	bool xdp = pcn_instance_attach(inst) != PCN_HOOK_TC;
	struct tc_job job = { .dir = dir, .code = code };
	pthread_t th;
	bool threaded = false;
	int rc;

	memset(b, 0, sizeof(*b));
	/* Two clang runs at once for an XDP instance: the hook's and its
	 * twin's (half the wait on a machine with two cores). */
	if (xdp)
		threaded = pthread_create(&th, NULL, tc_job_run, &job) == 0;
	rc = dm_compile(dir, !xdp, code, &b->obj, &b->obj_len, err, errlen);
	if (threaded)
		pthread_join(th, NULL);
	else if (xdp)
		tc_job_run(&job);
	if (xdp) {
		b->tc = job.obj;
		b->tc_len = job.len;
		if (!rc && job.rc) {
			rc = job.rc;
			snprintf(err, errlen, "%s", job.err);
		}
	}
	if (rc)
		build_free(b);
	return rc;
}

/* The pins of d's maps that neither direction's code uses any more. */
static void unpin_unused(struct dynmon *d, const struct dm_map *old, size_t n_old)
{
	for (size_t i = 0; d->pin_known && i < n_old; i++) {
		char path[PATH_MAX + 80];

		if (find_map(d->path[0].maps, d->path[0].n_maps, old[i].obj_name) ||
		    find_map(d->path[1].maps, d->path[1].n_maps, old[i].obj_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->pin_dir, old[i].obj_name);
		if (unlink(path) && errno != ENOENT)
			PCN_WARN("DYNMON-UNPIN", "cannot remove %s: %s", path, strerror(errno));
	}
}

/* Puts b in dir's slot; on success d->path[dir] takes b's builds and maps,
 * and b gets the builds it ran before (the caller frees them). */
static int swap_in(struct pcn_instance *inst, struct dynmon *d, enum dm_dir dir, struct dm_build *b, char *err,
		   size_t errlen)
{
	struct dm_path *p = &d->path[dir];
	struct dm_map maps[DM_MAX_MAPS], old[DM_MAX_MAPS];
	struct dm_aside *aside = calloc(DM_MAX_MAPS, sizeof(*aside)); /* ~270 KiB: not on the stack */
	size_t n = 0, n_aside = 0, n_old = p->n_maps;
	struct pcn_code code = {
		.kind = PCN_CODE_OBJECT, .data = b->obj, .len = b->obj_len, .tc_data = b->tc, .tc_len = b->tc_len,
	};
	int rc;

	err[0] = '\0';
	if (!aside) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	rc = dm_object_maps(b->obj, b->obj_len, maps, DM_MAX_MAPS, &n);
	if (rc) {
		snprintf(err, errlen, "cannot read the new object: %s", strerror(-rc));
		free(aside);
		return -EINVAL;
	}
	/* A map pinned with another layout: the new code gets a new one (the
	 * old program keeps its own until the swap). */
	for (size_t i = 0; i < n && pin_dir(inst, d) == 0; i++) {
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);
		struct dm_aside *a = &aside[n_aside];
		int fd;

		snprintf(a->path, sizeof(a->path), "%s/%s", d->pin_dir, maps[i].obj_name);
		fd = bpf_obj_get(a->path);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && !same_layout(&maps[i], &info) &&
		    unlink(a->path) == 0) {
			PCN_INFO("DYNMON-MAP-NEW", "%s: map %s changed layout: the new code starts it empty",
				 pcn_instance_name(inst), maps[i].name);
			a->fd = fd;
			n_aside++;
			continue;
		}
		close(fd);
	}
	rc = pcn_reload(inst, &code, dir == DM_EGRESS ? PCN_RELOAD_EGRESS + 1 : 1);
	if (rc) {
		const char *why = pcn_reload_error(inst);

		for (size_t i = 0; i < n_aside; i++) {
			unlink(aside[i].path);
			if (bpf_obj_pin(aside[i].fd, aside[i].path))
				PCN_ERR("DYNMON-REPIN", "cannot pin %s back: %s", aside[i].path, strerror(errno));
		}
		if (rc == -EPROTO) {
			/* A pinned map the runtime will not let go (its own
			 * check of layouts): the pins were not found. */
			snprintf(err, errlen, "a map of the %s code is pinned with another layout: %s",
				 dm_dir_name[dir], strerror(-rc));
			rc = -EBUSY;
		} else if (strncmp(why, "the kernel verifier refused ", 28) == 0 && strstr(why, ": ")) {
			/* Its complaint about the user's code (compiled under
			 * the path's name: the lines it quotes are the user's). */
			snprintf(err, errlen, "the kernel verifier refused the %s-path code: %.300s", dm_dir_name[dir],
				 strstr(why, ": ") + 2);
			rc = -EPROTO;
		} else {
			snprintf(err, errlen, "the %s-path code does not load: %.300s", dm_dir_name[dir],
				 why[0] ? why : strerror(-rc));
		}
		goto out;
	}
	/* Our own references: the runtime closes its object one reload later. */
	for (size_t i = 0; i < n; i++) {
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd = pcn_map_fd(inst, maps[i].obj_name);

		maps[i].fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
		if (maps[i].fd >= 0 && bpf_obj_get_info_by_fd(maps[i].fd, &info, &len) == 0) {
			maps[i].type = info.type;
			maps[i].key_size = info.key_size;
			maps[i].value_size = info.value_size;
			maps[i].max_entries = info.max_entries;
			maps[i].flags = info.map_flags;
			if (info.btf_id)
				maps[i].btf = btf__load_from_kernel_by_id(info.btf_id);
			maps[i].key_tid = info.btf_key_type_id;
			maps[i].value_tid = info.btf_value_type_id;
		}
	}
	memcpy(old, p->maps, n_old * sizeof(old[0]));
	memcpy(p->maps, maps, n * sizeof(maps[0]));
	p->n_maps = n;
	unpin_unused(d, old, n_old);
	for (size_t i = 0; i < n_old; i++)
		map_close(&old[i]);
	{
		struct dm_build prev = { p->obj, p->tc_obj, p->obj_len, p->tc_len };

		p->obj = b->obj;
		p->obj_len = b->obj_len;
		p->tc_obj = b->tc;
		p->tc_len = b->tc_len;
		*b = prev;
	}
out:
	for (size_t i = 0; i < n_aside; i++)
		close(aside[i].fd);
	free(aside);
	return rc;
}

static bool same_code(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Whether a micro-cube slot of the instance holds a program. */
static bool slot_used(struct pcn_instance *inst, const char *array)
{
	uint32_t key = 1, id = 0;
	int fd = pcn_map_fd(inst, array);

	return fd >= 0 && bpf_map_lookup_elem(fd, &key, &id) == 0 && id != 0;
}

/* A copy of the path's current builds into b (to load them again). */
static int build_copy(const struct dm_path *p, struct dm_build *b)
{
	memset(b, 0, sizeof(*b));
	b->obj = malloc(p->obj_len);
	b->obj_len = p->obj_len;
	if (b->obj && p->tc_obj) {
		b->tc = malloc(p->tc_len);
		b->tc_len = p->tc_len;
	}
	if (!b->obj || (p->tc_obj && !b->tc)) {
		build_free(b);
		return -ENOMEM;
	}
	memcpy(b->obj, p->obj, p->obj_len);
	if (p->tc_obj)
		memcpy(b->tc, p->tc_obj, p->tc_len);
	return 0;
}

static int dynmon_on_applied(struct pcn_instance *inst, const struct pcn_node *config)
{
	struct dynmon *d = pcn_instance_priv(inst);
	struct dm_cfg cfg[2] = { { 0 } };
	struct dm_build b[2] = { { 0 } };
	bool change[2] = { false, false }, done[2] = { false, false };
	char err[DM_ERR_MAX] = "", *old_code = NULL;
	const char *ll = pcn_node_child(config, "loglevel");
	/* The runtime reloads the instance in this round (apply.c), its
	 * micro-cube slots with its own object: the code goes in again, with
	 * the new level (its pcn_log lines follow it: a load-time constant). */
	bool relevel = (ll && d && d->loglevel[0] && strcmp(ll, d->loglevel) != 0) ||
		       (d && d->index && d->index != pcn_instance_index(inst));
	int rc;

	if (!d)
		return -EINVAL;
	rc = pcn_node_foreach(config, "dataplane-config", dp_cb, cfg);
	if (rc)
		goto out;
	for (int i = 0; i < 2; i++) {
		const char *code = cfg[i].code;

		/* After a restart the code runs already: loaded again, so that
		 * this process knows its maps (kept, being pinned). */
		change[i] = !same_code(code, d->path[i].code) || (d->adopted && code);
		/* Code taken away: the slot gets the pass-everything code. */
		if (!code && d->path[i].code)
			code = dm_pass_code;
		if (d->adopted && !code && slot_used(inst, i ? "pcn_uc_egress" : "pcn_uc_ingress")) {
			change[i] = true;
			code = dm_pass_code;
		}
		if (!change[i] && relevel && d->path[i].obj) {
			/* The same code again, the same builds. */
			rc = build_copy(&d->path[i], &b[i]);
			if (rc) {
				rc = pcn_fail(inst, rc, "%s", strerror(-rc));
				goto out;
			}
			change[i] = true;
			continue;
		}
		if (!change[i])
			continue;
		rc = build(inst, (enum dm_dir)i, code, &b[i], err, sizeof(err));
		if (rc) {
			rc = pcn_fail(inst, rc == -ENOENT ? -EINVAL : rc, "%s", err);
			goto out;
		}
	}
	for (int i = 0; i < 2; i++) {
		if (!change[i])
			continue;
		rc = swap_in(inst, d, (enum dm_dir)i, &b[i], err, sizeof(err));
		if (rc) {
			pcn_fail(inst, rc, "%s", err);
			goto out;
		}
		done[i] = true;
		if (i == DM_INGRESS)
			old_code = d->path[i].code;
		else
			free(d->path[i].code);
		d->path[i].code = cfg[i].code ? strdup(cfg[i].code) : NULL;
	}
	PCN_INFO("DYNMON-APPLIED", "%s: ingress %s, egress %s", pcn_instance_name(inst),
		 d->path[0].code ? "user code" : "pass", d->path[1].code ? "user code" : "pass");
out:
	if (rc && done[DM_INGRESS]) {
		/* The egress failed after the ingress was swapped: the ingress
		 * goes back to what it ran (swap_in left its builds in b). */
		char e2[DM_ERR_MAX];
		int r2 = 0;

		if (!b[DM_INGRESS].obj)
			r2 = build(inst, DM_INGRESS, dm_pass_code, &b[DM_INGRESS], e2, sizeof(e2));
		if (!r2)
			r2 = swap_in(inst, d, DM_INGRESS, &b[DM_INGRESS], e2, sizeof(e2));
		free(d->path[DM_INGRESS].code);
		d->path[DM_INGRESS].code = old_code;
		old_code = NULL;
		if (r2)
			PCN_ERR("DYNMON-ROLLBACK", "%s: the ingress code could not go back: %s",
				pcn_instance_name(inst), e2);
	}
	if (!rc || d->adopted) {
		for (int i = 0; i < 2; i++) {
			metrics_free(d->path[i].metrics, d->path[i].n_metrics);
			d->path[i].metrics = cfg[i].metrics;
			d->path[i].n_metrics = cfg[i].n_metrics;
			cfg[i].metrics = NULL;
			cfg[i].n_metrics = 0;
		}
	}
	if (d->adopted && rc) {
		/* Replaying after a restart: what ran before keeps running; say
		 * why this process cannot read its maps. */
		PCN_ERR("DYNMON-REPLAY", "%s: cannot load its code again: %s", pcn_instance_name(inst),
			err);
		rc = 0;
	}
	if (!rc) {
		snprintf(d->loglevel, sizeof(d->loglevel), "%s", ll ? ll : "");
		d->index = pcn_instance_index(inst);
	}
	d->adopted = false;
	free(old_code);
	for (int i = 0; i < 2; i++) {
		metrics_free(cfg[i].metrics, cfg[i].n_metrics);
		build_free(&b[i]);
	}
	return rc;
}

/* ---- the instance ------------------------------------------------------------ */

static int dynmon_on_create(struct pcn_instance *inst)
{
	struct dynmon *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	for (int i = 0; i < 2; i++)
		for (size_t j = 0; j < DM_MAX_MAPS; j++)
			d->path[i].maps[j].fd = -1;
	/* Programs in the slots already: this process takes over an
	 * instance whose code ran on (a restart, an upgrade). */
	d->adopted = slot_used(inst, "pcn_uc_ingress") || slot_used(inst, "pcn_uc_egress");
	d->next = dm_all;
	dm_all = d;
	pcn_instance_set_priv(inst, d);
	return 0;
}

static void dynmon_on_destroy(struct pcn_instance *inst)
{
	struct dynmon *d = pcn_instance_priv(inst), **pp;

	for (pp = &dm_all; d && *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	if (d)
		dm_free(d);
	pcn_instance_set_priv(inst, NULL);
}

static const struct pcn_config_handler dynmon_handlers[] = {
	{ NULL },
};

static const struct pcn_state_handler dynmon_state[] = {
	{ "/dynmon:dynmon/metrics", dynmon_read_metrics },
	{ "/dynmon:dynmon/open-metrics", dynmon_read_open_metrics },
	{ NULL },
};

const struct pcn_cube_desc dynmon_desc = {
	.service = "dynmon",
	.version = "1.0.0",
	.description = "Dynamic traffic monitor: user code injected at run time, its maps exported as metrics",
	.min_kernel = "5.17",
	.kind = PCN_CUBE_TRANSPARENT,
	.yang_module_name = "dynmon",
	.yang_module = dynmon_yang,
	.xdp_object = dynmon_xdp__elf_bytes,
	.tc_object = dynmon_tc__elf_bytes,
	.handlers = dynmon_handlers,
	.state = dynmon_state,
	.on_create = dynmon_on_create,
	.on_destroy = dynmon_on_destroy,
	.on_applied = dynmon_on_applied,
	.metrics = dynmon_gateway_metrics,
};

/* dynmon_test builds this file without main and drives dynmon_desc. */
#ifndef PCN_CUBE_NO_MAIN
int main(int argc, char **argv)
{
	return pcn_cube_main(&dynmon_desc, argc, argv);
}
#endif
