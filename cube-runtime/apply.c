/* ApplyConfig: creating, updating and deleting instances.
 * Owns: rt->instances and each instance's life (pcn__instance_free frees
 * every file's part of the record). Calls: yang.c, adopt.c, twin.c, the
 * loader (fastpath.c, ucube.c), baked_watch.c, baked.c (its load hook
 * handed to the loader), timer.c and reload.c (to free their parts). */
#include "pcn_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cubemesh.pb-c.h"

/* How long an ApplyConfig waits for the RegisterReply that names the bpffs
 * root: the broker may replay instances on the cube's socket before its
 * reply to Register has arrived on the other one. */
#define BPFFS_WAIT_MS 5000
/* Room for the verifier's log of a refused program (level 1: the failing
 * path only, which fits comfortably). */
#define VERIFIER_LOG_SIZE ((size_t)64 * 1024)

struct pcn_instance *pcn__instance_find(struct pcn__runtime *rt, const char *name)
{
	struct pcn_instance *i;

	for (i = rt->instances; i; i = i->next)
		if (strcmp(i->name, name) == 0)
			return i;
	return NULL;
}

void pcn__instance_free(struct pcn_instance *inst)
{
	if (!inst)
		return;
	pcn_timer_stop(inst, 0);
	pcn__reload_forget(inst);
	bpf_object__close(inst->obj);
	lyd_free_all(inst->tree);
	free(inst->ports);
	free(inst);
}

static void unlink_instance(struct pcn__runtime *rt, struct pcn_instance *inst)
{
	struct pcn_instance **pp;

	for (pp = &rt->instances; *pp; pp = &(*pp)->next) {
		if (*pp == inst) {
			*pp = inst->next;
			return;
		}
	}
}

static int copy_ports(const struct pcn__apply_req *req, struct pcn__port **out)
{
	struct pcn__port *p = NULL;

	if (req->n_ports) {
		p = calloc(req->n_ports, sizeof(*p));
		if (!p)
			return -ENOMEM;
		memcpy(p, req->ports, req->n_ports * sizeof(*p));
	}
	*out = p;
	return 0;
}

static int tree_loglevel(const struct lyd_node *tree)
{
	const char *s = pcn__config_leaf(tree, "loglevel");
	int l = s ? pcn_log_level_parse(s) : -1;

	return l < 0 ? PCN_LOG_INFO : l;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Turns the verifier's log into what a user can act on: the lines after
 * the last instruction it checked (its complaint), and the source line of
 * that instruction. The rest is the path it walked to get there, or
 * statistics. The log is modified (split into lines). */
void pcn__verifier_complaint(char *log, char *out, size_t len)
{
	char errs[384] = "", *src = NULL, *insn_src = NULL, *line, *save = NULL;
	int n;

	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] >= '0' && line[0] <= '9' && strchr(line, ':')) {
			insn_src = src; /* an instruction: what came before was not the complaint */
			errs[0] = '\0';
		} else if (starts_with(line, "; ")) {
			src = line + 2;
			errs[0] = '\0';
		} else if (line[0] && !starts_with(line, "processed ") && !starts_with(line, "verification time") &&
			   !starts_with(line, "stack depth") && !starts_with(line, "func#") &&
			   !starts_with(line, "Validating") && !starts_with(line, "from ")) {
			size_t k = strlen(errs);

			snprintf(errs + k, sizeof(errs) - k, "%s%s", k ? "; " : "", line);
		}
	}
	if (!errs[0])
		snprintf(errs, sizeof(errs), "see the kernel's log (no message found)");
	/* "<source text> @ <file>:<line>"; the text is empty when clang had
	 * no file to quote (code given under a #line name). */
	while (insn_src && (*insn_src == ' ' || *insn_src == '@'))
		insn_src++;
	if (insn_src && *insn_src)
		n = snprintf(out, len, "%s (at %.*s)", errs, (int)(len / 4), insn_src);
	else
		n = snprintf(out, len, "%s", errs);
	if (n >= (int)len && len > 4) /* say that the complaint was cut short */
		memcpy(out + len - 4, "...", 4);
}

static void verifier_msg(struct pcn__apply_res *res, char *log)
{
	char c[sizeof(res->msg) - 48];
	int len;

	pcn__verifier_complaint(log, c, sizeof(c));
	len = snprintf(res->msg, sizeof(res->msg), "the kernel verifier refused the fast path: %s", c);
	if (len >= (int)sizeof(res->msg))
		memcpy(res->msg + sizeof(res->msg) - 4, "...", 4);
	res->http = 422;
	res->tag = "operation-failed";
}

/* Loads the instance's fast path for its hook with its current constants. */
static int load(struct pcn_instance *inst, int loglevel, const char *bpffs, struct bpf_object **out,
		struct pcn__apply_res *res)
{
	const struct pcn_cube_desc *desc = inst->rt->desc;
	const void *(*bytes_fn)(size_t *) = inst->attach == PCN_HOOK_TC ? desc->tc_object : desc->xdp_object;
	char shared[PATH_MAX];
	size_t size = 0;
	const void *bytes;
	char *log;
	int rc;

	if (!bytes_fn) {
		snprintf(res->msg, sizeof(res->msg), "%s has no fast path for the %s hook", desc->service,
			 inst->attach == PCN_HOOK_TC ? "TC" : "XDP");
		res->http = 400;
		res->tag = "invalid-value";
		return -ENOTSUP;
	}
	bytes = bytes_fn(&size);
	rc = pcn_layout_shared(shared, sizeof(shared), bpffs, NULL);
	if (!rc)
		rc = pcn__mkdirs(shared);
	if (rc)
		return rc;
	log = malloc(VERIFIER_LOG_SIZE);
	if (!log)
		return -ENOMEM;
	struct pcn__load_opts o = {
		.shared_pin_root = shared,
		.pin_dir = inst->pin_dir,
		.cube_index = inst->index,
		.log_level = (uint32_t)loglevel,
		.object_name = desc->service,
		.log_buf = log,
		.log_size = VERIFIER_LOG_SIZE,
		.migrations = desc->migrations,
		.err_msg = res->msg,
		.err_len = sizeof(res->msg),
		.prepare = pcn__baked_prepare,
	};
	res->msg[0] = '\0';
	rc = pcn__fastpath_load(out, bytes, size, &o);
	if (!rc) {
		/* Micro-cubes, if the fast path has any (bpf/pcn_ucube.h). */
		rc = pcn__ucube_fill(*out);
		if (rc) {
			bpf_object__close(*out);
			*out = NULL;
		}
	}
	if (rc) {
		PCN_ERR("CUBE-BPF-LOAD", "instance %s: cannot load the fast path: %s", inst->name,
			strerror(-rc));
		if (rc == -EPROTO && res->msg[0]) {
			/* A pinned map does not fit (upgrade.c said why). */
			res->http = 409;
			res->tag = "operation-failed";
		} else if (log[0])
			verifier_msg(res, log);
		else
			snprintf(res->msg, sizeof(res->msg), "cannot load the fast path: %s", strerror(-rc));
	}
	free(log);
	return rc;
}

static int apply_create(struct pcn__runtime *rt, const struct pcn__apply_req *req,
			struct lyd_node *tree, struct pcn__apply_res *res)
{
	struct pcn_instance *inst = calloc(1, sizeof(*inst));
	char bpffs[PATH_MAX], prog[PATH_MAX];
	bool created = false, may_have_pins = false, adopted = false;
	int rc;

	if (!inst)
		return -ENOMEM;
	inst->rt = rt;
	snprintf(inst->name, sizeof(inst->name), "%s", req->instance);
	inst->index = req->index;
	inst->attach = req->attach;
	inst->loglevel = tree_loglevel(tree);
	rc = copy_ports(req, &inst->ports);
	if (rc)
		goto out;
	inst->n_ports = req->n_ports;
	rc = pcn__runtime_bpffs(rt, bpffs, sizeof(bpffs), BPFFS_WAIT_MS);
	if (rc) {
		snprintf(res->msg, sizeof(res->msg), "not registered with the broker yet");
		res->http = 503;
		goto out;
	}
	/* req->instance, not the copy: a cut name must not name another directory. */
	rc = pcn_layout_cube(inst->pin_dir, sizeof(inst->pin_dir), bpffs, rt->desc->service, req->instance, NULL);
	if (rc) {
		snprintf(res->msg, sizeof(res->msg), "\"%.80s\" cannot name a pin directory: %s", req->instance,
			 strerror(-rc));
		res->http = 400;
		goto out;
	}
	/* From here on, a failure may leave maps pinned by a partial load. */
	may_have_pins = true;
	/* A replay to a restarted process: the pinned program may be the very
	 * one this process would load (adopt.c). */
	adopted = req->replay && pcn__adopt_instance(inst, bpffs, inst->loglevel, &inst->obj) == 0;
	if (!adopted)
		rc = load(inst, inst->loglevel, bpffs, &inst->obj, res);
	if (rc)
		goto out;
	if (rt->desc->on_create) {
		rc = rt->desc->on_create(inst);
		if (rc) {
			snprintf(res->msg, sizeof(res->msg), "%s", inst->err_msg[0] ? inst->err_msg : strerror(-rc));
			goto out;
		}
	}
	created = true;
	rc = pcn__config_dispatch(inst, NULL, tree);
	if (rc) {
		snprintf(res->msg, sizeof(res->msg), "%s", inst->err_msg);
		goto out;
	}
	rc = pcn_path(prog, sizeof(prog), inst->pin_dir, PCN_PIN_PROG, (const char *)NULL);
	if (!rc && !adopted) {
		rc = pcn__fastpath_pin_prog(inst->obj, prog);
		if (!rc)
			pcn__adopt_record_instance(inst, inst->loglevel);
	}
	if (rc) {
		snprintf(res->msg, sizeof(res->msg), "cannot pin the program at %.300s: %s", prog, strerror(-rc));
		/* The handlers ran: take their changes back. */
		pcn__config_dispatch(inst, tree, NULL);
		goto out;
	}
	rc = pcn__twin_load(inst, inst->loglevel, bpffs, adopted, res->twin_pin, sizeof(res->twin_pin));
	if (rc) {
		snprintf(res->msg, sizeof(res->msg), "cannot load the TC build (egress at TC): %s", strerror(-rc));
		pcn__config_dispatch(inst, tree, NULL);
		goto out;
	}
	memcpy(res->prog_pin, prog, sizeof(res->prog_pin));
	res->attach = inst->attach;
	inst->tree = tree;
	inst->next = rt->instances;
	rt->instances = inst;
	PCN_INFO("CUBE-INSTANCE-CREATED", "instance %s (index %u) %s, program pinned at %s", inst->name,
		 inst->index, req->replay ? "replayed" : "created", prog);
	/* Without it the instance works, reading pcn_fwd for every packet. */
	if (adopted)
		pcn__baked_adopted(inst);
	if (pcn__baked_watch(inst, bpffs) < 0)
		PCN_WARN("CUBE-WIRING-WATCH", "instance %s: its wiring changes will not reload it", inst->name);
	inst = NULL;
out:
	if (inst) {
		if (created && rt->desc->on_destroy)
			rt->desc->on_destroy(inst);
		/* A replayed instance keeps the pins of what it learned; a new
		 * one that failed never existed. */
		if (may_have_pins && !req->replay)
			pcn__unpin_dir(inst->pin_dir);
		inst->tree = NULL; /* the caller frees tree */
		pcn__instance_free(inst);
	}
	return rc;
}

/* The TC build (twin.c) of a transparent instance at XDP, loaded again
 * with the round's constants and pinned before the handlers run: a
 * handler's reload in the round replaces it, never the other way round.
 * *old: a reference to the twin the pin named (-1: none), for twin_back. */
static int twin_stage(struct pcn_instance *inst, int loglevel, const char *bpffs, struct pcn__apply_res *res,
		      int *old)
{
	char pin[PATH_MAX + 8];

	*old = -1;
	if (pcn__twin_wanted(inst) &&
	    pcn_path(pin, sizeof(pin), inst->pin_dir, PCN_PIN_PROG_TC, (const char *)NULL) == 0)
		*old = bpf_obj_get(pin);
	return pcn__twin_load(inst, loglevel, bpffs, false, res->twin_pin, sizeof(res->twin_pin));
}

/* Points the twin's pin back at old (twin_stage's), the one the TC
 * PatchPanel still runs. */
static void twin_back(struct pcn_instance *inst, int old)
{
	char pin[PATH_MAX + 8];

	if (old < 0 || pcn_path(pin, sizeof(pin), inst->pin_dir, PCN_PIN_PROG_TC, (const char *)NULL))
		return;
	if ((unlink(pin) && errno != ENOENT) || bpf_obj_pin(old, pin))
		PCN_ERR("CUBE-TWIN-LOAD", "instance %s: cannot pin its TC build back: %s", inst->name, strerror(errno));
}

/* An UPDATE, or a CREATE (replay) of an instance this process already has:
 * diff against the current tree; reload the program when its constants
 * change, or on a replay so the PatchPanel gets a fresh program.
 * A handler may pcn_reload in a round that reloads: the runtime loads its
 * object (and the twin) first, with the new constants, and holds it
 * (inst->reload.held: reload.c does not close it); the handler's reload,
 * made with the new constants too, then replaces what it reloads and
 * wins: the runtime pins its own entry only if no handler reloaded the
 * entry in the round. */
static int apply_update(struct pcn_instance *inst, const struct pcn__apply_req *req,
			struct lyd_node *tree, struct pcn__apply_res *res)
{
	struct pcn__port *old_ports = inst->ports, *ports = NULL;
	struct bpf_object *old_obj = inst->obj, *obj = NULL;
	size_t old_n = inst->n_ports;
	int loglevel = tree_loglevel(tree), old_level = inst->loglevel;
	bool reload = req->op == CUBEMESH__APPLY_OP__APPLY_CREATE || loglevel != inst->loglevel ||
		      req->index != inst->index;
	uint32_t old_index = inst->index;
	uint64_t entry0 = inst->reload.entry_reloads;
	char bpffs[PATH_MAX], prog[PATH_MAX];
	int rc, old_twin = -1;

	rc = copy_ports(req, &ports);
	if (rc)
		return rc;
	inst->ports = ports;
	inst->n_ports = req->n_ports;
	if (reload) {
		rc = pcn__runtime_bpffs(inst->rt, bpffs, sizeof(bpffs), BPFFS_WAIT_MS);
		if (rc)
			goto out;
		inst->index = req->index;
		rc = load(inst, loglevel, bpffs, &obj, res);
		if (rc)
			goto out;
		/* The new object reuses the pinned maps: handlers see the same
		 * maps through either object; their reloads take the new
		 * constants. */
		inst->obj = obj;
		inst->reload.held = obj;
		inst->loglevel = loglevel;
		rc = twin_stage(inst, loglevel, bpffs, res, &old_twin);
		if (rc) {
			snprintf(res->msg, sizeof(res->msg), "cannot load the TC build (egress at TC): %s",
				 strerror(-rc));
			goto out;
		}
	}
	rc = pcn__config_dispatch(inst, inst->tree, tree);
	if (rc) {
		snprintf(res->msg, sizeof(res->msg), "%s", inst->err_msg);
		goto out;
	}
	if (reload) {
		rc = pcn_path(prog, sizeof(prog), inst->pin_dir, PCN_PIN_PROG, (const char *)NULL);
		/* A handler's reload of the entry pinned (and installed) its own. */
		if (!rc && inst->reload.entry_reloads == entry0)
			rc = pcn__fastpath_pin_prog(obj, prog);
		if (rc) {
			snprintf(res->msg, sizeof(res->msg), "cannot pin the program at %.300s: %s", prog,
				 strerror(-rc));
			pcn__config_dispatch(inst, tree, inst->tree);
			goto out;
		}
		memcpy(res->prog_pin, prog, sizeof(res->prog_pin));
		res->attach = inst->attach;
		pcn__adopt_record_instance(inst, loglevel);
		bpf_object__close(old_obj);
		/* Replaced by a handler's reload: held, it never became prev. */
		if (inst->obj != obj)
			bpf_object__close(obj);
		inst->reload.held = NULL;
		if (old_twin >= 0)
			close(old_twin);
		PCN_INFO("CUBE-INSTANCE-RELOADED", "instance %s: program reloaded (log level %s)%s",
			 inst->name, pcn_log_level_name(loglevel),
			 inst->obj != obj ? ", and by its handlers" : "");
	}
	free(old_ports);
	lyd_free_all(inst->tree);
	inst->tree = tree;
	return 0;
out:
	inst->ports = old_ports;
	inst->n_ports = old_n;
	if (obj && inst->obj != obj) {
		/* A handler reloaded in the round: what it swapped in serves
		 * (and is inst->obj); the object the round started with runs
		 * on from its pins if nothing replaced it. */
		bpf_object__close(old_obj);
	} else if (reload) {
		/* Only an object loaded here goes back: a handler's
		 * pcn_reload in a round that does not reload has replaced
		 * inst->obj itself, and made old_obj its previous object
		 * (closed one reload later), which must not come back. */
		inst->obj = old_obj;
	}
	if (reload && inst->reload.entry_reloads == entry0)
		twin_back(inst, old_twin);
	if (old_twin >= 0)
		close(old_twin);
	inst->reload.held = NULL;
	inst->loglevel = old_level;
	inst->index = old_index;
	res->twin_pin[0] = '\0';
	free(ports);
	bpf_object__close(obj);
	return rc;
}

static int apply_delete(struct pcn__runtime *rt, struct pcn_instance *inst)
{
	int rc;

	/* Its streams end first: on_stream_close may still need priv. */
	pcn__streams_instance_gone(inst);
	if (rt->desc->on_destroy)
		rt->desc->on_destroy(inst);
	unlink_instance(rt, inst);
	/* The broker has taken the program out of the PatchPanel before
	 * asking; the pins are all that keep the maps and program alive. */
	rc = pcn__unpin_dir(inst->pin_dir);
	if (rc)
		PCN_WARN("CUBE-UNPIN", "instance %s: cannot remove %s: %s", inst->name, inst->pin_dir,
			 strerror(-rc));
	PCN_INFO("CUBE-INSTANCE-DELETED", "instance %s deleted", inst->name);
	pcn__instance_free(inst);
	return 0;
}

int pcn__apply(struct pcn__runtime *rt, const struct pcn__apply_req *req, struct pcn__apply_res *res)
{
	struct pcn_instance *inst = pcn__instance_find(rt, req->instance);
	struct lyd_node *tree = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!req->instance[0] || strlen(req->instance) >= PCN__NAME_MAX) {
		snprintf(res->msg, sizeof(res->msg), "bad instance name");
		return -EINVAL;
	}
	if (req->op == CUBEMESH__APPLY_OP__APPLY_DELETE) {
		if (!inst)
			return 0; /* already gone: deleting twice is not an error */
		return apply_delete(rt, inst);
	}
	/* A pipelined write, computed on top of a change that is not the
	 * last one applied (refused, or replaced by a replay or an undo):
	 * refused untouched; the broker computes it again. */
	if (req->has_after && (!inst || !req->after || inst->applied_seq != req->after)) {
		snprintf(res->msg, sizeof(res->msg), "instance %s: change %" PRIu64 " follows %" PRIu64
			 ", not the last change applied (%" PRIu64 ")", req->instance, req->seq, req->after,
			 inst ? inst->applied_seq : 0);
		res->http = 409;
		res->tag = "stale-base";
		return -ESTALE;
	}
	rc = pcn__config_parse(rt->ly, req->config_json, &tree);
	if (rc) {
		snprintf(res->msg, sizeof(res->msg), "cannot parse the configuration: %s",
			 ly_errmsg(rt->ly) ? ly_errmsg(rt->ly) : "?");
		return rc;
	}
	if (!tree) {
		snprintf(res->msg, sizeof(res->msg), "no configuration for %s", req->instance);
		return -EINVAL;
	}
	if (inst)
		rc = apply_update(inst, req, tree, res);
	else if (req->op == CUBEMESH__APPLY_OP__APPLY_CREATE)
		rc = apply_create(rt, req, tree, res);
	else {
		snprintf(res->msg, sizeof(res->msg), "no instance %s", req->instance);
		rc = -ENOENT;
	}
	if (rc) {
		lyd_free_all(tree);
		return rc;
	}
	inst = pcn__instance_find(rt, req->instance);
	if (inst)
		inst->applied_seq = req->seq;
	return 0;
}

/* ---- instance accessors (pcn_cube.h) ------------------------------------ */

const char *pcn_instance_name(const struct pcn_instance *inst)
{
	return inst->name;
}

uint32_t pcn_instance_index(const struct pcn_instance *inst)
{
	return inst->index;
}

enum pcn_hook pcn_instance_attach(const struct pcn_instance *inst)
{
	return inst->attach;
}

void *pcn_instance_priv(const struct pcn_instance *inst)
{
	return inst->priv;
}

void pcn_instance_set_priv(struct pcn_instance *inst, void *priv)
{
	inst->priv = priv;
}

int pcn_port_index(const struct pcn_instance *inst, const char *name)
{
	if (!inst || !name)
		return -EINVAL;
	for (size_t i = 0; i < inst->n_ports; i++)
		if (strcmp(inst->ports[i].name, name) == 0)
			return (int)inst->ports[i].index;
	return -ENOENT;
}

const char *pcn_port_name(const struct pcn_instance *inst, uint32_t index)
{
	for (size_t i = 0; inst && i < inst->n_ports; i++)
		if (inst->ports[i].index == index)
			return inst->ports[i].name;
	return NULL;
}
