/* What a record the broker could not restore leaves in the kernel: adopted
 * from its pins, then removed (inst_purge.h). */
#include "inst_purge.h"
#include "dataplane/chainstats.h"
#include "dataplane/rmtree.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/datastore.h"
#include "log.h"

/* Program ids pinned under one instance directory (its program, the TC
 * twin, micro-cube entries: a handful). */
#define PURGE_MAX_PROGS 64

struct pinned {
	__u32 ids[PURGE_MAX_PROGS];
	size_t n;
};

/* nftw has no argument for its callback; this runs once, at start, on the
 * loop thread. */
static struct pinned *walk_pinned;

/* True if fd is a BPF program (an anon inode named bpf-prog), not a map. */
static bool fd_is_prog(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:bpf-prog") == 0;
}

static int collect_prog(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd;

	(void)st;
	(void)ftw;
	if (flag != FTW_F || walk_pinned->n == PURGE_MAX_PROGS)
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (fd_is_prog(fd) && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.id)
		walk_pinned->ids[walk_pinned->n++] = info.id;
	close(fd);
	return 0;
}

static bool pinned_has(const struct pinned *p, __u32 id)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ids[i] == id)
			return true;
	return false;
}

/* A map the broker pinned under <root>/shared, or -errno. */
static int shared_map(struct broker *b, const char *name)
{
	char path[PATH_MAX];
	int fd, rc = pcn_layout_shared(path, sizeof(path), b->opts.bpffs_root, name);

	if (rc)
		return rc;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* The slots of the two PatchPanels that hold one of p's programs. */
struct slots {
	bool xdp[PCN_MAX_CUBES], tc[PCN_MAX_CUBES];
	size_t n;
};

static void find_slots(struct broker *b, const struct pinned *p, struct slots *s)
{
	static const char *const pp[2] = { PCN_MAP_PP_XDP, PCN_MAP_PP_TC };

	memset(s, 0, sizeof(*s));
	for (int k = 0; k < 2; k++) {
		int fd = shared_map(b, pp[k]);

		if (fd < 0)
			continue;
		/* Slot 0 is never a live program (idalloc.h). */
		for (__u32 slot = 1; slot < PCN_MAX_CUBES; slot++) {
			__u32 id = 0;

			/* A PROG_ARRAY read from user space gives the program's id. */
			if (bpf_map_lookup_elem(fd, &slot, &id) || !pinned_has(p, id))
				continue;
			if (k == 0)
				s->xdp[slot] = true;
			else
				s->tc[slot] = true;
			s->n++;
		}
		close(fd);
	}
}

/* The hook a netdev's input program runs at: XDP in the mode attached if
 * the instance is in the XDP PatchPanel and the netdev has XDP, else TC. */
static enum pcn_hook netdev_hook(int ifindex, bool xdp)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (!xdp || bpf_xdp_query(ifindex, 0, &q))
		return xdp ? PCN_HOOK_XDP_SKB : PCN_HOOK_TC;
	if (q.drv_prog_id)
		return PCN_HOOK_XDP_DRV;
	return PCN_HOOK_XDP_SKB;
}

/* Detaches every netdev whose input program enters slot. 0 or the first
 * error. */
static int purge_netdevs(struct broker *b, const char *who, uint32_t slot, bool xdp)
{
	int fd = shared_map(b, PCN_MAP_NETDEV_IN), rc = 0;
	__u32 *ifs = NULL, key, *prev = NULL;
	size_t n = 0;

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	ifs = calloc(PCN_MAX_NETDEVS, sizeof(*ifs));
	if (!ifs) {
		close(fd);
		return -ENOMEM;
	}
	/* Collected first: detaching deletes entries under the iteration. */
	while (n < PCN_MAX_NETDEVS && bpf_map_get_next_key(fd, prev, &key) == 0) {
		struct pcn_netdev_val v;

		if (bpf_map_lookup_elem(fd, &key, &v) == 0 && v.cube_index == slot)
			ifs[n++] = key;
		prev = &key;
	}
	close(fd);
	for (size_t i = 0; i < n; i++) {
		char ifname[IF_NAMESIZE] = "?";
		enum pcn_hook hook = netdev_hook((int)ifs[i], xdp);
		int r = broker_netdev_detach(b->dp, (int)ifs[i], hook);

		if_indextoname(ifs[i], ifname);
		if (r) {
			rc = rc ? rc : r;
			continue;
		}
		PCN_WARN("BROKER-DS-PURGE", "%s: detached its input program from netdev %s (ifindex %u)", who,
			 ifname, ifs[i]);
	}
	free(ifs);
	return rc;
}

/* Points every wire into a purged slot (another instance's port) at slot 0,
 * as when a peer is deleted (chainwire.c): the next owner of the slot must
 * not get those packets. Its own entries become "no peer". */
static int purge_wires(struct broker *b, const char *who, const struct slots *s)
{
	const struct pcn_fwd_val dead = { .kind = PCN_PEER_CUBE, .cube_index = 0, .port = 0 };
	const struct pcn_fwd_val none = { .kind = PCN_PEER_NONE };
	enum { BATCH = 4096 };
	__u32 *keys = calloc(BATCH, sizeof(*keys)), out = 0, *in = NULL;
	struct pcn_fwd_val *vals = calloc(BATCH, sizeof(*vals));
	int fd = shared_map(b, PCN_MAP_FWD), rc = 0;

	if (fd < 0 || !keys || !vals) {
		rc = fd < 0 ? fd : -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 count = BATCH;
		int r = bpf_map_lookup_batch(fd, in, &out, keys, vals, &count, NULL);

		if (r && errno != ENOENT) {
			rc = -errno;
			break;
		}
		for (__u32 i = 0; i < count; i++) {
			uint32_t owner = keys[i] / PCN_MAX_PORTS, port = keys[i] % PCN_MAX_PORTS;
			bool owner_purged = s->xdp[owner] || s->tc[owner];

			if (owner_purged) {
				/* Written here, not with broker_fwd_del: that bumps the
				 * slot's pcn_baked_gen, and a cube process still holding
				 * the old instance would reload it and pin it again. */
				if (vals[i].kind != PCN_PEER_NONE &&
				    bpf_map_update_elem(fd, &keys[i], &none, BPF_ANY) < 0)
					rc = rc ? rc : -errno;
			} else if (vals[i].kind == PCN_PEER_CUBE && vals[i].cube_index < PCN_MAX_CUBES &&
				   (s->xdp[vals[i].cube_index] || s->tc[vals[i].cube_index])) {
				int w = broker_fwd_set(b->dp, owner, port, &dead);

				if (w)
					rc = rc ? rc : w;
				else
					PCN_WARN("BROKER-DS-PURGE", "%s: the wire of slot %u port %u into slot %u now "
						 "leads nowhere", who, owner, port, vals[i].cube_index);
			}
		}
		if (r)
			break; /* ENOENT: that was the last batch */
		in = &out;
	}
out:
	if (fd >= 0)
		close(fd);
	free(keys);
	free(vals);
	return rc;
}

/* Keeps slot out of the allocator: something in the kernel may still lead
 * there. */
static void hold_slot(struct broker *b, const char *who, uint32_t slot, const char *why)
{
	if (broker_idalloc_reserve(&b->cube_ids, slot) == 0)
		PCN_WARN("BROKER-DS-SLOT-HELD", "%s: slot %u stays reserved (%s); `pcn-broker --flush` or "
			 "removing %s's pins frees it at the next start", who, slot, why, who);
}

/* ---- the cube processes that outlived the broker ------------------------ */

/* Names purged at start, until their service's process has been told to
 * drop them: a process that outlived the broker still holds the instance,
 * and would pin it again (its wiring timer reloads it when the slot's
 * wiring changes) or take a new instance of that name for an update of
 * the old one. */
struct purged {
	struct purged *next;
	char service[BROKER_NAME_MAX];
	char name[BROKER_NAME_MAX];
};
static struct purged *purged_list;

static void purged_add(const char *service, const char *name)
{
	struct purged *p = calloc(1, sizeof(*p));

	if (!p)
		return;
	snprintf(p->service, sizeof(p->service), "%s", service);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->next = purged_list;
	purged_list = p;
}

struct forget_ctx {
	struct broker_service *svc;
	unsigned gen;
	struct broker_job *job;
	struct purged *cur;
};

static struct purged *purged_next(const char *service)
{
	for (struct purged *p = purged_list; p; p = p->next)
		if (strcmp(p->service, service) == 0)
			return p;
	return NULL;
}

static void purged_remove(struct purged *gone)
{
	for (struct purged **pp = &purged_list; *pp; pp = &(*pp)->next)
		if (*pp == gone) {
			*pp = gone->next;
			free(gone);
			return;
		}
}

static void forget_end(struct broker *b, struct forget_ctx *fc)
{
	broker_job_done(b, fc->job);
	free(fc);
}

static void forget_step(struct broker *b, struct forget_ctx *fc);

static void forget_done(struct broker *b, void *arg, const struct broker_error *err, Cubemesh__CubeReply *reply)
{
	struct forget_ctx *fc = arg;

	(void)reply;
	if (err) {
		/* Kept for the next registration; the replay behind us goes on. */
		PCN_WARN("BROKER-DS-FORGET", "cannot tell %s to drop %s: %s", fc->svc->name, fc->cur->name,
			 err->message);
		forget_end(b, fc);
		return;
	}
	PCN_INFO("BROKER-DS-FORGET", "told %s to drop %s (its record was set aside)", fc->svc->name,
		 fc->cur->name);
	purged_remove(fc->cur);
	forget_step(b, fc);
}

static void forget_step(struct broker *b, struct forget_ctx *fc)
{
	Cubemesh__CubeRequest req = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__ApplyConfig ac = CUBEMESH__APPLY_CONFIG__INIT;

	for (;;) {
		if (fc->gen != fc->svc->gen || !(fc->cur = purged_next(fc->svc->name))) {
			forget_end(b, fc);
			return;
		}
		/* An instance of that name exists again: it is not ours to drop. */
		if (!broker_instance_find(b, fc->cur->name))
			break;
		purged_remove(fc->cur);
	}
	ac.instance = fc->cur->name;
	ac.op = CUBEMESH__APPLY_OP__APPLY_DELETE;
	req.body_case = CUBEMESH__CUBE_REQUEST__BODY_APPLY;
	req.apply = &ac;
	if (broker_cube_call(b, fc->svc, &req, forget_done, fc))
		forget_end(b, fc);
}

static void forget_run(struct broker *b, struct broker_job *job)
{
	struct forget_ctx *fc = job->arg;

	job->arg = NULL;
	fc->job = job;
	forget_step(b, fc);
}

/* A job dropped before it ran (the broker stopping). */
static void forget_free(struct broker *b, struct broker_job *job)
{
	(void)b;
	free(job->arg);
	job->arg = NULL;
}

void broker_inst_purge_forget(struct broker *b, struct broker_service *svc)
{
	struct forget_ctx *fc;

	if (!purged_next(svc->name))
		return;
	fc = calloc(1, sizeof(*fc));
	if (!fc)
		return;
	fc->svc = svc;
	fc->gen = svc->gen;
	/* Same key as the replay queued next: it runs first. */
	if (!broker_job_submit(b, svc->name, forget_run, forget_free, fc))
		free(fc);
}

/* Adopts and removes what the pins in dir show of one instance; hold:
 * touch nothing, only keep its slots (a record of another format). */
static int purge_one(struct broker *b, const char *service, const char *name, bool hold)
{
	char dir[PATH_MAX], who[2 * BROKER_NAME_MAX + 2];
	struct pinned pinned = { .n = 0 };
	struct slots *s = NULL;
	int held = 0, rc = 0;

	snprintf(who, sizeof(who), "%s/%s", service, name);
	if (!broker_datastore_name_valid(service) || !broker_datastore_name_valid(name))
		return 0;
	if (pcn_layout_cube(dir, sizeof(dir), b->opts.bpffs_root, service, name, NULL) || access(dir, F_OK))
		return 0; /* no pins: nothing in the kernel names it */
	walk_pinned = &pinned;
	nftw(dir, collect_prog, 16, FTW_PHYS);
	walk_pinned = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return 0;
	if (pinned.n)
		find_slots(b, &pinned, s);
	for (uint32_t slot = 1; slot < PCN_MAX_CUBES; slot++) {
		if (!s->xdp[slot] && !s->tc[slot])
			continue;
		/* A restored instance owns it: its replay puts its own program
		 * back; never empty a live instance's slot. */
		if (broker_idalloc_used(&b->cube_ids, slot)) {
			PCN_WARN("BROKER-DS-PURGE", "%s: its program is in slot %u, which a restored instance "
				 "owns: left to that instance", who, slot);
			s->xdp[slot] = s->tc[slot] = false;
			continue;
		}
		if (hold) {
			hold_slot(b, who, slot, "its record is of another format");
			held++;
		}
	}
	if (hold)
		goto out;
	purged_add(service, name);
	for (uint32_t slot = 1; slot < PCN_MAX_CUBES; slot++) {
		int r;

		if (!s->xdp[slot] && !s->tc[slot])
			continue;
		r = purge_netdevs(b, who, slot, s->xdp[slot]);
		if (r) {
			hold_slot(b, who, slot, "a netdev still enters it");
			held++;
		}
	}
	if (s->n && (rc = purge_wires(b, who, s))) {
		PCN_ERR("BROKER-DS-PURGE", "%s: cannot reset the wires into its slots: %s", who, strerror(-rc));
		for (uint32_t slot = 1; slot < PCN_MAX_CUBES; slot++)
			if (s->xdp[slot] || s->tc[slot]) {
				hold_slot(b, who, slot, "wires may still lead there");
				held++;
			}
	}
	for (uint32_t slot = 1; slot < PCN_MAX_CUBES; slot++) {
		int r = 0;

		if (s->xdp[slot])
			r = broker_pp_remove(b->dp, PCN_HOOK_XDP_SKB, slot);
		if (s->tc[slot] && !r)
			r = broker_pp_remove(b->dp, PCN_HOOK_TC, slot);
		if (!s->xdp[slot] && !s->tc[slot])
			continue;
		if (r) {
			hold_slot(b, who, slot, "its program is still in the PatchPanel");
			held++;
			continue;
		}
		broker_stats_reset(b->dp, slot);
		broker_chain_stats_reset(b, slot);
		PCN_WARN("BROKER-DS-PURGE", "%s: emptied PatchPanel slot %u (%s%s%s)", who, slot,
			 s->xdp[slot] ? "xdp" : "", s->xdp[slot] && s->tc[slot] ? ", " : "", s->tc[slot] ? "tc" : "");
	}
	if (broker_rmtree(dir)) {
		PCN_ERR("BROKER-DS-PURGE", "%s: could not remove every pin under %s", who, dir);
		for (uint32_t slot = 1; slot < PCN_MAX_CUBES; slot++)
			if (s->xdp[slot] || s->tc[slot]) {
				hold_slot(b, who, slot, "pins that claim it are left");
				held++;
			}
	} else {
		PCN_WARN("BROKER-DS-PURGE", "%s: removed its pins (%s)", who, dir);
	}
out:
	free(s);
	return held;
}

static bool item_named(const struct broker_purge_item *items, size_t n, const char *service, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i].service, service) == 0 && strcmp(items[i].name, name) == 0)
			return true;
	return false;
}

static bool restored(struct broker *b, const char *service, const char *name)
{
	struct broker_instance *inst = broker_instance_find(b, name);

	return inst && strcmp(inst->service, service) == 0;
}

/* Pin directories no record names: a record deleted by hand, or a create
 * that died between the cube's load and the broker's save. Same fate as a
 * set-aside record. */
static int purge_orphans(struct broker *b, const struct broker_purge_item *items, size_t n_items)
{
	char cubes[PATH_MAX];
	struct dirent *se;
	DIR *sd;
	int held = 0;

	if (pcn_path(cubes, sizeof(cubes), b->opts.bpffs_root, PCN_LAYOUT_CUBES, (const char *)NULL))
		return 0;
	sd = opendir(cubes);
	if (!sd)
		return 0;
	while ((se = readdir(sd))) {
		char svcdir[PATH_MAX];
		struct dirent *ie;
		DIR *id;

		if (se->d_name[0] == '.' || !broker_datastore_name_valid(se->d_name))
			continue;
		if (pcn_path(svcdir, sizeof(svcdir), cubes, se->d_name, (const char *)NULL))
			continue;
		id = opendir(svcdir);
		if (!id)
			continue;
		while ((ie = readdir(id))) {
			if (ie->d_name[0] == '.' || !broker_datastore_name_valid(ie->d_name) ||
			    restored(b, se->d_name, ie->d_name) || item_named(items, n_items, se->d_name, ie->d_name))
				continue;
			PCN_WARN("BROKER-DS-ORPHAN", "%s/%s has pins but no record: removing what it left in the "
				 "kernel", se->d_name, ie->d_name);
			held += purge_one(b, se->d_name, ie->d_name, false);
		}
		closedir(id);
	}
	closedir(sd);
	return held;
}

int broker_inst_purge(struct broker *b, const struct broker_purge_item *items, size_t n_items)
{
	int held = 0;

	for (size_t i = 0; i < n_items; i++)
		held += purge_one(b, items[i].service, items[i].name, items[i].foreign);
	held += purge_orphans(b, items, n_items);
	return held;
}
