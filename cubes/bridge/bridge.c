/* bridge: the control plane and slow path of an 802.1Q bridge (Polycube's
 * pcn-bridge model).
 *
 * The fast path classifies, learns and forwards known unicast by itself;
 * this process writes each port's VLAN settings and the static fdb entries
 * from the model, sets the aging time, lists the fdb (forgetting what aged
 * out, also on a timer), flushes it, and floods what the fast path sends
 * up (broadcast, multicast, unknown destinations) to the other ports of the
 * frame's VLAN, tagged or not as each port wants. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <jansson.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <unistd.h>

#include "bridge_devmap_xdp.skel.h"
#include "bridge_int.h"
#include "bridge_tc.skel.h"
#include "bridge_xdp.skel.h"
#include "bridge_yang.h"

/* How often learned entries past the aging time are removed from the map
 * (the fast path already ignores them). */
#define BRIDGE_SWEEP_MS 2000

/* Every instance's data: the runtime calls on_destroy when an instance is
 * deleted, not when the process exits while instances live on in the
 * kernel (their normal end), so what is left is freed at exit. */
static struct bridge_priv *bridge_privs;

static void bridge_priv_free(struct bridge_priv *priv)
{
	struct bridge_priv **pp;

	if (!priv)
		return;
	for (pp = &bridge_privs; *pp; pp = &(*pp)->next)
		if (*pp == priv) {
			*pp = priv->next;
			break;
		}
	free(priv->statics);
	bridge_devmap_xdp__destroy(priv->untag);
	bridge_stp_free(priv);
	free(priv);
}

__attribute__((destructor)) static void bridge_privs_free(void)
{
	while (bridge_privs)
		bridge_priv_free(bridge_privs);
}

/* The clock bpf_ktime_get_ns() reads. */
static uint64_t bridge_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t bridge_aging_ns(struct pcn_instance *inst)
{
	struct bridge_cfg cfg = { 0 };
	uint32_t zero = 0;

	if (pcn_map_lookup(inst, BRIDGE_CFG, &zero, &cfg) || !cfg.aging_ns)
		return BRIDGE_DEFAULT_AGING_NS;
	return cfg.aging_ns;
}

int bridge_write_cfg(struct pcn_instance *inst, struct bridge_priv *priv)
{
	struct bridge_cfg cfg = { .aging_ns = priv->aging_ns, .stp = priv->stp_enabled ? 1 : 0 };
	uint32_t zero = 0;
	int rc = pcn_map_update(inst, BRIDGE_CFG, &zero, &cfg, BPF_ANY);

	if (rc)
		return pcn_fail(inst, rc, "cannot write the bridge's settings: %s", strerror(-rc));
	return 0;
}

static int bridge_set_aging(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	struct bridge_priv *priv = pcn_instance_priv(inst);

	priv->aging_ns = BRIDGE_DEFAULT_AGING_NS;
	if (op != PCN_OP_DELETE)
		priv->aging_ns = strtoull(pcn_node_value(node), NULL, 10) * 1000000000ull;
	return bridge_write_cfg(inst, priv);
}

/* ---- the filtering database ---------------------------------------------- */

/* What bridge_fdb_walk's callback decides for an entry. */
enum bridge_walk { BRIDGE_KEEP, BRIDGE_DELETE, BRIDGE_STOP };

/* Calls fn on every fdb entry; deletes those it says to. The key after a
 * deleted one is taken before the delete, so the walk goes on. */
static int bridge_fdb_walk(struct pcn_instance *inst,
			   enum bridge_walk (*fn)(struct pcn_instance *, const struct bridge_fdb_key *,
						  const struct bridge_fdb_val *, void *),
			   void *arg)
{
	struct bridge_fdb_key key, next;
	int have = pcn_map_next_key(inst, BRIDGE_FDB, NULL, &next) == 0;

	while (have) {
		struct bridge_fdb_val v;
		enum bridge_walk w = BRIDGE_KEEP;

		key = next;
		have = pcn_map_next_key(inst, BRIDGE_FDB, &key, &next) == 0;
		if (pcn_map_lookup(inst, BRIDGE_FDB, &key, &v))
			continue;
		w = fn(inst, &key, &v, arg);
		if (w == BRIDGE_STOP)
			return -ECANCELED;
		if (w == BRIDGE_DELETE)
			pcn_map_delete(inst, BRIDGE_FDB, &key);
	}
	return 0;
}

/* A learned entry that aged out, or whose port no longer exists. */
static int bridge_stale(struct pcn_instance *inst, const struct bridge_fdb_val *v, uint64_t now, uint64_t aging)
{
	if (v->flags & BRIDGE_FDB_STATIC)
		return 0;
	return (now > v->seen_ns && now - v->seen_ns > aging) || !pcn_port_name(inst, v->port);
}

struct bridge_sweep {
	uint64_t now, aging;
};

static enum bridge_walk bridge_sweep_one(struct pcn_instance *inst, const struct bridge_fdb_key *k,
					 const struct bridge_fdb_val *v, void *arg)
{
	struct bridge_sweep *s = arg;

	(void)k;
	return bridge_stale(inst, v, s->now, s->aging) ? BRIDGE_DELETE : BRIDGE_KEEP;
}

static void bridge_sweep(struct pcn_instance *inst, void *arg)
{
	struct bridge_sweep s = { bridge_now_ns(), bridge_aging_ns(inst) };

	(void)arg;
	bridge_fdb_walk(inst, bridge_sweep_one, &s);
}

/* Which learned entries a flush removes: port (or -1 for any) and vlan (0
 * for any); the ports whose membership changed (NULL: none). */
struct bridge_flush {
	int port;
	unsigned vlan;
	const struct bridge_port *new_ports; /* flush entries outside each port's new VLANs */
};

static enum bridge_walk bridge_flush_one(struct pcn_instance *inst, const struct bridge_fdb_key *k,
					 const struct bridge_fdb_val *v, void *arg)
{
	struct bridge_flush *f = arg;

	(void)inst;
	if (v->flags & BRIDGE_FDB_STATIC)
		return BRIDGE_KEEP;
	if (f->new_ports) {
		const struct bridge_port *p = &f->new_ports[v->port % PCN_MAX_PORTS];

		return bridge_port_has_vlan(p, k->vlan) ? BRIDGE_KEEP : BRIDGE_DELETE;
	}
	if (f->port >= 0 && v->port != (uint32_t)f->port)
		return BRIDGE_KEEP;
	if (f->vlan && k->vlan != f->vlan)
		return BRIDGE_KEEP;
	return BRIDGE_DELETE;
}

/* The `flush` action: {"port": name, "vlan": id}, both optional. */
static int bridge_flush(struct pcn_instance *inst, const char *input_json)
{
	struct bridge_flush f = { .port = -1 };
	json_t *in = NULL, *v;
	int rc = 0;

	if (input_json) {
		in = json_loads(input_json, 0, NULL);
		if (!in || !json_is_object(in)) {
			rc = pcn_fail(inst, -EINVAL, "the input is not a JSON object");
			goto out;
		}
	}
	v = in ? json_object_get(in, "port") : NULL;
	if (v) {
		if (!json_is_string(v) || (f.port = pcn_port_index(inst, json_string_value(v))) < 0) {
			rc = pcn_fail(inst, -EINVAL, "flush: no port %s", json_is_string(v) ? json_string_value(v) : "?");
			goto out;
		}
	}
	v = in ? json_object_get(in, "vlan") : NULL;
	if (v) {
		long long id = json_is_integer(v) ? json_integer_value(v)
			       : json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : 0;

		if (id < 1 || id >= BRIDGE_VLAN_MAX) {
			rc = pcn_fail(inst, -EINVAL, "flush: vlan must be 1..4094");
			goto out;
		}
		f.vlan = (unsigned)id;
	}
	bridge_fdb_walk(inst, bridge_flush_one, &f);
out:
	json_decref(in);
	return rc;
}

struct bridge_read {
	struct pcn_state *st;
	uint64_t now, aging;
	struct bridge_priv *priv;
	int rc;
};

static const char *bridge_static_mac(const struct bridge_priv *priv, const struct bridge_fdb_key *k)
{
	for (size_t i = 0; i < priv->n_statics; i++)
		if (!memcmp(&priv->statics[i].key, k, sizeof(*k)))
			return priv->statics[i].mac;
	return NULL;
}

static enum bridge_walk bridge_read_one(struct pcn_instance *inst, const struct bridge_fdb_key *k,
					const struct bridge_fdb_val *v, void *arg)
{
	struct bridge_read *r = arg;
	const char *port = pcn_port_name(inst, v->port), *mac = NULL;
	char text[18], path[96];
	int is_static = (v->flags & BRIDGE_FDB_STATIC) != 0;

	if (bridge_stale(inst, v, r->now, r->aging))
		return BRIDGE_DELETE;
	if (!port)
		return BRIDGE_KEEP;
	if (is_static)
		mac = bridge_static_mac(r->priv, k);
	if (!mac) {
		bridge_mac_format(k->addr, text);
		mac = text;
	}
	snprintf(path, sizeof(path), "fdb/entry[vlan='%u'][mac='%s']/port", k->vlan, mac);
	r->rc = pcn_state_set(r->st, path, "%s", port);
	snprintf(path, sizeof(path), "fdb/entry[vlan='%u'][mac='%s']/type", k->vlan, mac);
	if (!r->rc)
		r->rc = pcn_state_set(r->st, path, "%s", is_static ? "static" : "dynamic");
	snprintf(path, sizeof(path), "fdb/entry[vlan='%u'][mac='%s']/age", k->vlan, mac);
	if (!r->rc)
		r->rc = pcn_state_set(r->st, path, "%" PRIu64,
				      is_static || r->now < v->seen_ns ? (uint64_t)0
								       : (uint64_t)((r->now - v->seen_ns) / 1000000000ull));
	return r->rc ? BRIDGE_STOP : BRIDGE_KEEP;
}

/* Lists the fdb; learned entries past the aging time are deleted on the way. */
static int bridge_read_fdb(struct pcn_instance *inst, struct pcn_state *st)
{
	struct bridge_read r = { st, bridge_now_ns(), bridge_aging_ns(inst), pcn_instance_priv(inst), 0 };

	bridge_fdb_walk(inst, bridge_read_one, &r);
	return r.rc;
}

/* ---- the slow path ------------------------------------------------------- */

/* Sends the flooded frame out of port p for VLAN vlan, tagged or not as
 * the port wants; frame[t]/len[t] cache the two forms. */
static void bridge_flood_one(struct pcn_instance *inst, const struct pcn_pkt *pkt, uint32_t p, int tagged,
			     unsigned vlan, uint8_t (*frame)[BRIDGE_FRAME_MAX], size_t *len)
{
	if (!len[tagged])
		len[tagged] = bridge_frame_for_port(pkt->data, pkt->len, tagged, vlan, frame[tagged]);
	if (len[tagged])
		pcn_send_packet_out(inst, p, PCN_DIR_EGRESS, frame[tagged], len[tagged]);
}

/* Floods a frame the fast path sent up to the other ports of its VLAN
 * (md[0]), tagged for the trunks that carry that VLAN tagged: to all of
 * them, or (md[2] BRIDGE_FLOOD_MASKED) to the positions of the VLAN's
 * flood list in md[1], those the fast path could not reach. */
static void bridge_pkt_in(struct pcn_instance *inst, const struct pcn_pkt *pkt)
{
	struct bridge_priv *priv = pcn_instance_priv(inst);
	static uint8_t frame[2][BRIDGE_FRAME_MAX];
	size_t len[2] = { 0, 0 };
	unsigned vlan = pkt->md[0];

	if (pkt->reason == BRIDGE_REASON_BPDU) {
		bridge_stp_pkt_in(inst, pkt);
		return;
	}
	if (!priv || pkt->reason != BRIDGE_REASON_FLOOD || pkt->len != pkt->orig_len ||
	    pkt->len + 4 > BRIDGE_FRAME_MAX || vlan > BRIDGE_VLAN_MAX)
		return; /* a frame cut at the snap length cannot be sent again */
	if (pkt->md[2] == BRIDGE_FLOOD_MASKED) {
		const struct bridge_flood *fl = &priv->flood[vlan];

		for (uint32_t i = 0; i < fl->n && i < BRIDGE_FLOOD_FAST; i++)
			if ((pkt->md[1] >> i) & 1 && fl->e[i].port != pkt->port)
				bridge_flood_one(inst, pkt, fl->e[i].port, fl->e[i].tagged, vlan, frame, len);
		return;
	}
	for (uint32_t p = 0; p < PCN_MAX_PORTS; p++) {
		const struct bridge_port *port = &priv->ports[p];

		if (p == pkt->port || port->mode == BRIDGE_PORT_NONE || !bridge_port_fwd(port, vlan))
			continue;
		bridge_flood_one(inst, pkt, p, bridge_port_wants_tag(port, vlan), vlan, frame, len);
	}
}

/* ---- the model ----------------------------------------------------------- */

struct bridge_build {
	struct pcn_instance *inst;
	struct bridge_port ports[PCN_MAX_PORTS];
	uint32_t ifindex[PCN_MAX_PORTS]; /* the netdev a port is wired to, 0: a cube or nothing */
	uint8_t port_mac[PCN_MAX_PORTS][6];
	struct bridge_static *statics;
	size_t n_statics, cap;
	struct bridge_stp_pcfg *pcfg;
	size_t n_pcfg, pcap;
	struct bridge_stp_vcfg vcfg[BRIDGE_VLAN_MAX + 1];
	uint32_t cur_port;
	uint16_t allowed[BRIDGE_VLAN_MAX];
	size_t n_allowed;
	unsigned vlan, native;
	int native_on;
};

static unsigned bridge_u(const char *s, unsigned dflt)
{
	return s ? (unsigned)strtoul(s, NULL, 10) : dflt;
}

static int bridge_cfg_access(const struct pcn_node *n, void *arg)
{
	struct bridge_build *b = arg;

	b->vlan = bridge_u(pcn_node_child(n, "vlanid"), 1);
	return 0;
}

static int bridge_cfg_allowed(const struct pcn_node *n, void *arg)
{
	struct bridge_build *b = arg;

	if (b->n_allowed < BRIDGE_VLAN_MAX)
		b->allowed[b->n_allowed++] = (uint16_t)bridge_u(pcn_node_child(n, "vlanid"), 0);
	return 0;
}

static int bridge_cfg_trunk(const struct pcn_node *n, void *arg)
{
	struct bridge_build *b = arg;
	const char *on = pcn_node_child(n, "native-vlan-enabled");

	b->native = bridge_u(pcn_node_child(n, "native-vlan"), 1);
	b->native_on = !on || strcmp(on, "true") == 0;
	return pcn_node_foreach(n, "allowed", bridge_cfg_allowed, b);
}

/* An entry of a port's stp list. */
static int bridge_cfg_port_stp(const struct pcn_node *n, void *arg)
{
	struct bridge_build *b = arg;
	struct bridge_stp_pcfg c = { .port = b->cur_port };

	c.vlan = (uint16_t)bridge_u(pcn_node_child(n, "vlan"), 0);
	c.path_cost = bridge_u(pcn_node_child(n, "path-cost"), 4);
	c.priority = (uint16_t)bridge_u(pcn_node_child(n, "port-priority"), 128);
	if (b->n_pcfg == b->pcap) {
		size_t cap = b->pcap ? b->pcap * 2 : 16;
		struct bridge_stp_pcfg *p = realloc(b->pcfg, cap * sizeof(*p));

		if (!p)
			return pcn_fail(b->inst, -ENOMEM, "out of memory");
		b->pcfg = p;
		b->pcap = cap;
	}
	b->pcfg[b->n_pcfg++] = c;
	return 0;
}

/* An entry of the bridge's stp list. */
static int bridge_cfg_stp(const struct pcn_node *n, void *arg)
{
	struct bridge_build *b = arg;
	unsigned v = bridge_u(pcn_node_child(n, "vlan"), 0);

	if (!v || v >= BRIDGE_VLAN_MAX)
		return 0;
	b->vcfg[v].present = 1;
	b->vcfg[v].priority = (uint16_t)bridge_u(pcn_node_child(n, "priority"), 32768);
	b->vcfg[v].hello = (uint16_t)bridge_u(pcn_node_child(n, "hello-time"), 2);
	b->vcfg[v].max_age = (uint16_t)bridge_u(pcn_node_child(n, "max-message-age"), 20);
	b->vcfg[v].fwd_delay = (uint16_t)bridge_u(pcn_node_child(n, "forward-delay"), 10);
	return 0;
}

static int bridge_cfg_port(const struct pcn_node *n, void *arg)
{
	struct bridge_build *b = arg;
	const char *name = pcn_node_child(n, "name"), *mode = pcn_node_child(n, "mode");
	int idx = name ? pcn_port_index(b->inst, name) : -ENOENT;

	const char *peer = pcn_node_child(n, "peer");

	if (idx < 0 || idx >= PCN_MAX_PORTS)
		return pcn_fail(b->inst, -EINVAL, "port %s has no number", name ? name : "?");
	/* A peer "cube:port" is another cube; anything else names a netdev
	 * (resolved as the broker does, in the host's namespace). */
	b->ifindex[idx] = peer && !strchr(peer, ':') ? if_nametoindex(peer) : 0;
	if (bridge_mac_parse(pcn_node_child(n, "mac"), b->port_mac[idx]))
		memset(b->port_mac[idx], 0, 6);
	b->cur_port = (uint32_t)idx;
	if (pcn_node_foreach(n, "stp", bridge_cfg_port_stp, b))
		return -ENOMEM;
	b->vlan = 1;
	b->native = 1;
	b->native_on = 1;
	b->n_allowed = 0;
	pcn_node_foreach(n, "access", bridge_cfg_access, b);
	pcn_node_foreach(n, "trunk", bridge_cfg_trunk, b);
	if (mode && strcmp(mode, "trunk") == 0)
		bridge_port_trunk(&b->ports[idx], b->allowed, b->n_allowed, b->native_on ? b->native : 0);
	else
		bridge_port_access(&b->ports[idx], b->vlan);
	return 0;
}

static int bridge_cfg_entry(const struct pcn_node *n, void *arg)
{
	struct bridge_build *b = arg;
	const char *mac = pcn_node_child(n, "mac"), *port = pcn_node_child(n, "port");
	struct bridge_static s = { 0 };
	int idx = port ? pcn_port_index(b->inst, port) : -ENOENT;

	if (!mac || bridge_mac_parse(mac, s.key.addr))
		return pcn_fail(b->inst, -EINVAL, "fdb entry: bad MAC address %s", mac ? mac : "?");
	if (s.key.addr[0] & 1)
		return pcn_fail(b->inst, -EINVAL, "fdb entry: %s is a group address", mac);
	if (idx < 0)
		return pcn_fail(b->inst, -EINVAL, "fdb entry %s: no port %s", mac, port ? port : "?");
	s.key.vlan = (uint16_t)bridge_u(pcn_node_child(n, "vlan"), 0);
	s.port = (uint32_t)idx;
	snprintf(s.mac, sizeof(s.mac), "%s", mac);
	if (b->n_statics == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct bridge_static *p = realloc(b->statics, cap * sizeof(*p));

		if (!p)
			return pcn_fail(b->inst, -ENOMEM, "out of memory");
		b->statics = p;
		b->cap = cap;
	}
	b->statics[b->n_statics++] = s;
	return 0;
}

static int bridge_cfg_fdb(const struct pcn_node *n, void *arg)
{
	return pcn_node_foreach(n, "entry", bridge_cfg_entry, arg);
}

static int bridge_statics_same(const struct bridge_priv *priv, const struct bridge_build *b)
{
	if (!priv->statics_known || priv->n_statics != b->n_statics)
		return 0;
	for (size_t i = 0; i < b->n_statics; i++)
		if (memcmp(&priv->statics[i], &b->statics[i], sizeof(b->statics[i])))
			return 0;
	return 1;
}

static int bridge_in_statics(const struct bridge_build *b, const struct bridge_fdb_key *k)
{
	for (size_t i = 0; i < b->n_statics; i++)
		if (!memcmp(&b->statics[i].key, k, sizeof(*k)))
			return 1;
	return 0;
}

/* Removes static entries of the map the new model no longer has. */
static enum bridge_walk bridge_unstatic_one(struct pcn_instance *inst, const struct bridge_fdb_key *k,
					    const struct bridge_fdb_val *v, void *arg)
{
	(void)inst;
	return (v->flags & BRIDGE_FDB_STATIC) && !bridge_in_statics(arg, k) ? BRIDGE_DELETE : BRIDGE_KEEP;
}

/* Rewrites the flood list of each VLAN whose ports changed. */
static int bridge_write_flood(struct pcn_instance *inst, struct bridge_priv *priv)
{
	static struct bridge_flood fl;

	for (uint32_t v = 1; v < BRIDGE_VLAN_MAX; v++) {
		memset(&fl, 0, sizeof(fl));
		bridge_flood_list(priv->ports, PCN_MAX_PORTS, v, &fl);
		if (!memcmp(&fl, &priv->flood[v], sizeof(fl)))
			continue;
		int rc = pcn_map_update(inst, BRIDGE_FLOOD, &v, &fl, BPF_ANY);

		if (rc)
			return pcn_fail(inst, rc, "cannot write the ports of VLAN %u: %s", v, strerror(-rc));
		priv->flood[v] = fl;
	}
	return 0;
}

/* A VLAN's DEVMAP as it should be: its flood list's ports wired to
 * netdevs. Returns a digest of it (0: no entry), the entries in e. */
static uint64_t bridge_devmap_want(const struct bridge_flood *fl, const uint32_t *ifindex,
				   struct bridge_flood_port *e, uint32_t *ifx, size_t *n)
{
	uint64_t h = 1469598103934665603ull;

	*n = 0;
	for (uint32_t i = 0; i < fl->n && i < BRIDGE_FLOOD_FAST; i++) {
		uint32_t p = fl->e[i].port;

		if (p >= PCN_MAX_PORTS || !ifindex[p])
			continue;
		e[*n] = fl->e[i];
		ifx[*n] = ifindex[p];
		(*n)++;
		h = (h ^ ((uint64_t)p << 33 | (uint64_t)fl->e[i].tagged << 32 | ifindex[p])) * 1099511628211ull;
	}
	return *n ? h : 0;
}

/* XDP: makes each VLAN's DEVMAP anew where its ports or their netdevs
 * changed, and swaps it in (one update of bridge_devmaps: a flood sees the
 * old map or the new one). */
static int bridge_write_devmaps(struct pcn_instance *inst, struct bridge_priv *priv, const uint32_t *ifindex)
{
	int untag = bpf_program__fd(priv->untag->progs.bridge_untag);

	for (uint32_t v = 1; v < BRIDGE_VLAN_MAX; v++) {
		struct bridge_flood_port e[BRIDGE_FLOOD_FAST];
		uint32_t ifx[BRIDGE_FLOOD_FAST];
		size_t n;
		uint64_t sig = bridge_devmap_want(&priv->flood[v], ifindex, e, ifx, &n);
		int fd, rc = 0;

		if (sig == priv->dm_sig[v])
			continue;
		if (!sig) {
			pcn_map_delete(inst, BRIDGE_DEVMAPS, &v);
			priv->dm_sig[v] = 0;
			continue;
		}
		fd = bpf_map_create(BPF_MAP_TYPE_DEVMAP_HASH, NULL, sizeof(uint32_t), sizeof(struct bpf_devmap_val),
				    PCN_MAX_PORTS, NULL);
		if (fd < 0)
			return pcn_fail(inst, -errno, "cannot make the DEVMAP of VLAN %u: %s", v, strerror(errno));
		for (size_t i = 0; i < n && !rc; i++) {
			uint32_t port = e[i].port;
			struct bpf_devmap_val val = { .ifindex = ifx[i] };

			val.bpf_prog.fd = e[i].tagged ? 0 : untag;
			if (bpf_map_update_elem(fd, &port, &val, BPF_ANY))
				rc = -errno;
		}
		if (!rc)
			rc = pcn_map_update(inst, BRIDGE_DEVMAPS, &v, &fd, BPF_ANY);
		close(fd);
		if (rc)
			return pcn_fail(inst, rc, "cannot write the DEVMAP of VLAN %u: %s", v, strerror(-rc));
		priv->dm_sig[v] = sig;
	}
	return 0;
}

/* Rebuilds the ports' VLAN settings and the static entries from the whole
 * config: everything is checked first, so a refusal changes nothing. A
 * port whose VLANs changed loses the entries learned outside its new ones. */
int bridge_sync(struct pcn_instance *inst, struct bridge_priv *priv)
{
	static struct bridge_port eff[PCN_MAX_PORTS];
	int rc = 0, changed = 0;

	memcpy(eff, priv->cfg_ports, sizeof(eff));
	if (priv->stp_enabled)
		bridge_stp_effective(priv, eff);
	for (uint32_t p = 0; p < PCN_MAX_PORTS; p++) {
		if (!memcmp(&priv->ports[p], &eff[p], sizeof(eff[p])))
			continue;
		rc = pcn_map_update(inst, BRIDGE_PORTS, &p, &eff[p], BPF_ANY);
		if (rc)
			return pcn_fail(inst, rc, "cannot write port %u: %s", p, strerror(-rc));
		priv->ports[p] = eff[p];
		changed = 1;
	}
	if (changed) {
		struct bridge_flush f = { .port = -1, .new_ports = eff };

		rc = bridge_write_flood(inst, priv);
		if (rc)
			return rc;
		bridge_fdb_walk(inst, bridge_flush_one, &f);
	}
	if (priv->untag)
		rc = bridge_write_devmaps(inst, priv, priv->ifindex);
	return rc;
}

/* The bridge's MAC when the model gives none: locally administered, made
 * from the instance's name (the same across restarts). */
static void bridge_default_mac(const char *name, uint8_t mac[6])
{
	uint64_t h = 1469598103934665603ull;

	for (const char *c = name; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ull;
	mac[0] = 0x02;
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}

/* Takes the whole config: the ports' VLAN settings (and the spanning
 * tree's states) and the static entries. Everything is read and checked
 * first, so a refusal changes nothing. */
static int bridge_applied(struct pcn_instance *inst, const struct pcn_node *config)
{
	struct bridge_priv *priv = pcn_instance_priv(inst);
	struct bridge_build *b = calloc(1, sizeof(*b));
	const char *stp_on = pcn_node_child(config, "stp-enabled");
	int rc, stp = stp_on && strcmp(stp_on, "true") == 0;

	if (!b)
		return pcn_fail(inst, -ENOMEM, "out of memory");
	b->inst = inst;
	rc = pcn_node_foreach(config, "ports", bridge_cfg_port, b);
	if (!rc)
		rc = pcn_node_foreach(config, "fdb", bridge_cfg_fdb, b);
	if (!rc)
		rc = pcn_node_foreach(config, "stp", bridge_cfg_stp, b);
	if (rc)
		goto out;
	memcpy(priv->cfg_ports, b->ports, sizeof(b->ports));
	memcpy(priv->ifindex, b->ifindex, sizeof(b->ifindex));
	memcpy(priv->port_mac, b->port_mac, sizeof(b->port_mac));
	memcpy(priv->vcfg, b->vcfg, sizeof(b->vcfg));
	free(priv->pcfg);
	priv->pcfg = b->pcfg;
	priv->n_pcfg = b->n_pcfg;
	b->pcfg = NULL;
	if (bridge_mac_parse(pcn_node_child(config, "mac"), priv->mac))
		bridge_default_mac(pcn_instance_name(inst), priv->mac);
	if (stp != priv->stp_enabled) {
		priv->stp_enabled = stp;
		rc = bridge_write_cfg(inst, priv);
		if (rc)
			goto out;
	}
	bridge_stp_update(inst, priv);
	priv->stp_warm = 0;
	rc = bridge_sync(inst, priv);
	if (rc)
		goto out;
	if (!bridge_statics_same(priv, b)) {
		bridge_fdb_walk(inst, bridge_unstatic_one, b);
		for (size_t i = 0; i < b->n_statics; i++) {
			struct bridge_fdb_val v = { .port = b->statics[i].port, .flags = BRIDGE_FDB_STATIC };

			rc = pcn_map_update(inst, BRIDGE_FDB, &b->statics[i].key, &v, BPF_ANY);
			if (rc) {
				rc = pcn_fail(inst, rc, "cannot write fdb entry %s: %s", b->statics[i].mac, strerror(-rc));
				goto out;
			}
		}
		free(priv->statics);
		priv->statics = b->statics;
		priv->n_statics = b->n_statics;
		priv->statics_known = 1;
		b->statics = NULL;
	}
out:
	free(b->statics);
	free(b->pcfg);
	free(b);
	return rc;
}

static int bridge_create(struct pcn_instance *inst)
{
	struct bridge_priv *priv = calloc(1, sizeof(*priv));

	if (!priv)
		return pcn_fail(inst, -ENOMEM, "out of memory");
	/* The pinned map survives a restart of this process: start from what
	 * it holds, so that the replay changes (and flushes) nothing. */
	for (uint32_t p = 0; p < PCN_MAX_PORTS; p++)
		pcn_map_lookup(inst, BRIDGE_PORTS, &p, &priv->ports[p]);
	for (uint32_t v = 0; v <= BRIDGE_VLAN_MAX; v++)
		pcn_map_lookup(inst, BRIDGE_FLOOD, &v, &priv->flood[v]);
	{
		struct bridge_cfg cfg = { 0 };
		uint32_t zero = 0;

		pcn_map_lookup(inst, BRIDGE_CFG, &zero, &cfg);
		priv->aging_ns = cfg.aging_ns ? cfg.aging_ns : BRIDGE_DEFAULT_AGING_NS;
		priv->stp_enabled = cfg.stp != 0;
		priv->stp_warm = priv->stp_enabled;
	}
	if (pcn_instance_attach(inst) != PCN_HOOK_TC) {
		priv->untag = bridge_devmap_xdp__open_and_load();
		if (!priv->untag) {
			int rc = -errno;

			free(priv);
			return pcn_fail(inst, rc, "cannot load the flood's egress program: %s", strerror(-rc));
		}
	}
	priv->next = bridge_privs;
	bridge_privs = priv;
	pcn_instance_set_priv(inst, priv);
	pcn_timer_start(inst, BRIDGE_SWEEP_MS, bridge_sweep, NULL);
	pcn_timer_start(inst, 1000, bridge_stp_timer, NULL);
	return 0;
}

static void bridge_destroy(struct pcn_instance *inst)
{
	bridge_priv_free(pcn_instance_priv(inst));
	pcn_instance_set_priv(inst, NULL);
}

static const struct pcn_action_handler bridge_actions[] = {
	{ "/bridge:bridge/fdb/flush", bridge_flush },
	{ NULL },
};

static const struct pcn_config_handler bridge_handlers[] = {
	{ "/bridge:bridge/fdb/aging-time", bridge_set_aging },
	{ NULL },
};

static const struct pcn_state_handler bridge_state[] = {
	{ "/bridge:bridge/fdb/entry", bridge_read_fdb },
	{ "/bridge:bridge/ports/stp/state", bridge_stp_read },
	{ NULL },
};

const struct pcn_cube_desc bridge_desc = {
	.service = "bridge",
	.version = "1.0.0",
	.description = "802.1Q bridge: access and trunk ports, per-VLAN learning in the fast path",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = "bridge",
	.yang_module = bridge_yang,
	.xdp_object = bridge_xdp__elf_bytes,
	.tc_object = bridge_tc__elf_bytes,
	.handlers = bridge_handlers,
	.state = bridge_state,
	.on_create = bridge_create,
	.on_destroy = bridge_destroy,
	.on_applied = bridge_applied,
	.pkt_in = bridge_pkt_in,
	.actions = bridge_actions,
};

#ifndef PCN_CUBE_NO_MAIN
int main(int argc, char **argv)
{
	return pcn_cube_main(&bridge_desc, argc, argv);
}
#endif
