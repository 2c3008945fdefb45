/* The broker's side of the data plane: the PatchPanel, the forwarding and
 * netdev-input maps, the netdev input programs attached to host netdevs,
 * per-instance counters, and the host's netdevs (listing and monitoring).
 *
 * The broker is the only writer of pcn_pp_xdp, pcn_pp_tc, pcn_fwd and
 * pcn_netdev_in. Everything here is pinned or attached in the kernel so the
 * data plane outlives the broker: destroying a broker_dp closes descriptors
 * and changes nothing that forwards packets.
 *
 * Functions return 0 (or the documented value) on success, -errno on failure.
 * Not thread-safe: call from the broker's loop thread.
 *
 * May call: libbpf, rtnetlink, common/ (and core/, for chainstats.c and
 * inject.c, which the broker links itself). broker_dp knows nothing of
 * struct broker.
 */
#ifndef BROKER_DATAPLANE_H
#define BROKER_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "pcn_kern_user.h"
#include "pcn_layout.h"


struct broker_dp;

/* create/destroy (heap). Mounts bpffs at /sys/fs/bpf if nothing is mounted
 * there (only when bpffs_root is below /sys/fs/bpf), makes <root>/shared and
 * <root>/cubes, loads both netdev programs (reusing pinned shared maps), and
 * pins them at <root>/shared/netdev_xdp and netdev_tc (replacing older
 * pins). */
int broker_dp_create(struct broker_dp **out, const char *bpffs_root);
/* How netdev input programs are attached, for the broker_dp_create calls
 * that follow (process-wide; the broker's options of the same names):
 *   "tc-attach"    auto (default: tcx links where the kernel has them,
 *                  6.6+, else clsact filters) | tcx | clsact
 *   "tc-order"     first (default: before other owners' tcx programs) | last
 *   "xdp-attach"   auto (default: libxdp's dispatcher when libxdp is
 *                  linked) | dispatcher | direct (the netdev's only program)
 *   "xdp-priority" 0..1000, the dispatcher's run priority (default 20;
 *                  xdp-loader's is 50; lower runs first)
 * -EINVAL for an unknown key or value (tcx or dispatcher where they are not
 * available are refused by broker_dp_create, -EOPNOTSUPP). */
int broker_dp_policy(const char *key, const char *value);
/* Closes descriptors; leaves pins, PatchPanel entries and attachments: the
 * data plane outlives the broker. Accepts NULL. */
void broker_dp_destroy(struct broker_dp *dp);
/* Removes everything under bpffs_root, and the root itself (for
 * `pcn-broker --flush` and tests). Detaches nothing: netdev attachments are
 * the caller's. Refuses (-EINVAL) a root that is not on a bpffs; a missing
 * root is not an error. */
int broker_dp_flush(const char *bpffs_root);
/* The root given to broker_dp_create. */
const char *broker_dp_root(const struct broker_dp *dp);

/* PatchPanel: puts the program pinned at pin_path in slot index of the
 * hook's array (atomic replace of an older program there); remove empties
 * the slot (an empty slot already is not an error). XDP_SKB and XDP_DRV
 * share the XDP array. */
int broker_pp_install(struct broker_dp *dp, enum pcn_hook hook, uint32_t index, const char *pin_path);
int broker_pp_remove(struct broker_dp *dp, enum pcn_hook hook, uint32_t index);

/* Forwarding: (cube_index, port) -> peer, read by pcn_pkt_send.
 * broker_fwd_del returns -ENOENT when there was no entry; callers may treat
 * that as success. */
int broker_fwd_set(struct broker_dp *dp, uint32_t cube_index, uint32_t port, const struct pcn_fwd_val *val);
int broker_fwd_del(struct broker_dp *dp, uint32_t cube_index, uint32_t port);

/* Peers netdev `ifindex` with (cube_index, port): writes the pcn_netdev_in
 * entry and attaches the input program on the hook. TC: a tcx link pinned
 * under <root>/shared (updated in place if there), or with clsact (policy
 * above, or a kernel without tcx): clsact qdisc (created if missing; the
 * broker remembers in bpffs that it created it) + an ingress filter at a
 * fixed handle/priority, replaced if there. XDP_SKB / XDP_DRV: generic /
 * native XDP, as one program of libxdp's dispatcher (other programs there
 * keep running, by priority) or directly. -EBUSY (broker_netdev_why says
 * why) if a program that is neither ours nor a libxdp dispatcher holds that
 * XDP hook, or XDP is attached in the other mode.
 * Attaching again (another port, or after a broker restart) replaces ours.
 * For XDP_DRV on a veth whose peer has neither an XDP program nor GRO on,
 * logs BROKER-XDP-VETH-GRO: native XDP redirect into that veth drops.
 * XDP on a veth: turns off on its other end the offloads XDP breaks (tx
 * checksum at XDP_DRV, segmentation at XDP_SKB), detach turns them on
 * again (netdev_offload.c; a failure there is logged, not returned). */
int broker_netdev_attach(struct broker_dp *dp, int ifindex, enum pcn_hook hook, uint32_t cube_index, uint32_t port);
/* Undoes attach: removes our filter (and the clsact qdisc if we created it),
 * or our XDP program, and the pcn_netdev_in entry. A netdev that is gone
 * already is not an error (returns 0). */
int broker_netdev_detach(struct broker_dp *dp, int ifindex, enum pcn_hook hook);
/* What broker_netdev_attach would refuse, without changing anything: 0,
 * or -EBUSY (broker_netdev_why says why) when the XDP hook of that mode is
 * held by a program that is neither Cubemesh's netdev input program nor a
 * dispatcher it can join, or XDP runs in the other mode. TC: always 0 (tcx
 * and clsact both share). For a request's check before it is committed. */
int broker_netdev_check(struct broker_dp *dp, int ifindex, enum pcn_hook hook);
/* Why the last broker_netdev_attach returned -EBUSY (names the program
 * holding the hook, its id and owner when known), "" otherwise. */
const char *broker_netdev_why(const struct broker_dp *dp);
/* The input program a peered netdev runs is specialized for it
 * (netdev_spec.c): with no ingress stack of transparent cubes it jumps
 * straight into the peered instance, without looking the stack up. Call
 * this after changing netdev ifindex's ingress stack in pcn_tstack (first
 * instance attached, last one detached, or any change: it is cheap enough):
 * if the netdev is peered, its program is rebuilt for the stack it now has
 * and replaced atomically. Returns 0 when the netdev is not peered. Until it
 * is called, packets bypass a stack that appeared after the peering.
 * Called after each POST /attach and /detach (api_fixed.c); broker/topology/attach.c
 * should call it wherever it writes a netdev's stack or its pcn_netdev_in
 * entry (a restore, a port stack that redirects the netdev's entry). */
int broker_netdev_stack_changed(struct broker_dp *dp, int ifindex);

/* One of Cubemesh's programs other than a port's input program (the
 * entries of transparent stacks: broker/topology/attach.c) at a netdev's
 * hook, under the policy above and beside other owners' programs, as
 * input programs are attached:
 *  - TC, ingress or egress: a tcx link pinned at <root>/shared/<pin>, made
 *    before or after the other owners' (tc-order); when the pin is there
 *    (a restarted broker), the program is swapped inside that link (no
 *    gap, same place). With clsact: a filter at handle = priority =
 *    tc_prio, replaced if there (the qdisc made if missing; it goes with
 *    the last filter of ours). The other mechanism's leftover at that place
 *    goes once the new one is in.
 *  - XDP_SKB / XDP_DRV: the netdev's only XDP program. One of Cubemesh's
 *    there (this one, a former broker's, a port's input program) is
 *    replaced atomically; an empty hook is taken only if it still is.
 *    -EBUSY when another owner's program (or XDP in the other mode) holds
 *    it, -EOPNOTSUPP under the dispatcher policy (only a port's input
 *    program joins libxdp's dispatcher): nothing changes, and
 *    broker_netdev_why says why (the program's id and name).
 * Detach removes only ours: the link at pin, the filter at tc_prio, or an
 * XDP program named name. A gone netdev is not an error. While attached,
 * GET /netdevs shows cubemesh-attach.<label>.{ingress,egress}: {"hook",
 * "attach": "tcx" | "clsact" | "direct"}, as the input program's. */
struct broker_hookat {
	int ifindex;
	enum pcn_hook hook;
	bool egress;       /* TC only: egress rather than ingress */
	const char *pin;   /* the tcx link's pin name in <root>/shared (no '/') */
	uint32_t tc_prio;  /* clsact: the filter's handle and priority */
	const char *name;  /* the program's kernel name (15 characters) */
	const char *label; /* where GET /netdevs shows it, or NULL */
};
int broker_dp_hook_attach(struct broker_dp *dp, const struct broker_hookat *at, int prog);
int broker_dp_hook_detach(struct broker_dp *dp, const struct broker_hookat *at);

/* Per-instance counters summed over CPUs; reset zeroes them (when an index
 * is reused). */
int broker_stats_read(struct broker_dp *dp, uint32_t cube_index, struct pcn_cube_stats *out);
int broker_stats_reset(struct broker_dp *dp, uint32_t cube_index);

/* Host netdevs for GET /netdevs: a new jansson array of objects
 * {"name","ifindex","mac","mtu","status":"UP"|"DOWN","type"} where status is
 * UP when the link is administratively up and running (carrier), and type is
 * the rtnetlink kind ("veth", "bridge", ...), or "loopback" / "ether" /
 * "other" for devices without one. get: one object (-ENOENT). The caller
 * owns the reference. */
int broker_netdevs_list(json_t **out);
int broker_netdev_get(const char *name, json_t **out);
/* The ifindex of a netdev in the broker's namespace, or -ENODEV. */
int broker_netdev_ifindex(const char *name);
/* 1 if up and running (as "status" above), 0 if not, -ENODEV. */
int broker_netdev_is_up(int ifindex);

/* Watches rtnetlink (RTMGRP_LINK) on a libuv loop and calls cb on the loop
 * thread when a link goes up or down (same meaning as "status" above) or is
 * deleted (or leaves the namespace). A rename is reported as the link's
 * current state under its new name. If the kernel drops notifications
 * (socket overrun) the monitor re-reads all links and reports the
 * differences.
 * start/stop (activity): stop closes the uv handle; the memory is freed in
 * its close callback, so run the loop once more after stop. Accepts NULL. */
struct broker_netmon;
enum broker_link_event {
	BROKER_LINK_UP,
	BROKER_LINK_DOWN,
	BROKER_LINK_DELETED,
};
typedef void (*broker_netmon_cb)(void *arg, int ifindex, const char *ifname, enum broker_link_event ev);
int broker_netmon_start(struct broker_netmon **out, uv_loop_t *loop, broker_netmon_cb cb, void *arg);
void broker_netmon_stop(struct broker_netmon *nm);

#endif /* BROKER_DATAPLANE_H */
