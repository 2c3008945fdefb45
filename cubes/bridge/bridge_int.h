/* bridge: the control plane's internals, shared by bridge.c (model, fdb,
 * flooding) and bridge_stpctl.c (spanning tree). */
#ifndef BRIDGE_INT_H
#define BRIDGE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bridge_frame.h"
#include "bridge_shared.h"
#include "bridge_stp.h"
#include "pcn_cube.h"
#include "pcn_kern_user.h"

struct bridge_devmap_xdp;

/* The stp list of the bridge, by VLAN (present 0: the model's defaults). */
struct bridge_stp_vcfg {
	int present;
	uint16_t priority, hello, max_age, fwd_delay;
};

/* An entry of a port's stp list. */
struct bridge_stp_pcfg {
	uint32_t port;
	uint16_t vlan;
	uint16_t priority;
	uint32_t path_cost;
};

#define BRIDGE_FDB "bridge_fdb"
#define BRIDGE_PORTS "bridge_ports"
#define BRIDGE_CFG "bridge_cfg"
#define BRIDGE_FLOOD "bridge_flood"
#define BRIDGE_DEVMAPS "bridge_devmaps" /* XDP builds only */
/* How often learned entries past the aging time are removed from the map
 * (the fast path already ignores them). */
#define BRIDGE_SWEEP_MS 2000

/* A static fdb entry as the model has it. */
struct bridge_static {
	struct bridge_fdb_key key;
	uint32_t port;
	char mac[18]; /* as written in the model: the key the state must repeat */
};

struct bridge_priv {
	/* What bridge_ports holds (read back at create: the pins outlive a
	 * restart), so that an apply writes and flushes only what changed. */
	struct bridge_port ports[PCN_MAX_PORTS];
	/* What bridge_flood holds, for the same reason. */
	struct bridge_flood flood[BRIDGE_VLAN_MAX + 1];
	struct bridge_static *statics;
	size_t n_statics;
	int statics_known; /* statics match the map (not before the first apply) */
	/* XDP: bridge_untag, loaded here, and a digest of each VLAN's DEVMAP
	 * as last written (0: none written by this process). */
	struct bridge_devmap_xdp *untag;
	uint64_t dm_sig[BRIDGE_VLAN_MAX + 1];
	struct bridge_priv *next; /* bridge_privs */

	/* The model's view, kept for bridge_sync, which adds the spanning
	 * tree's states to it. */
	struct bridge_port cfg_ports[PCN_MAX_PORTS];
	uint32_t ifindex[PCN_MAX_PORTS]; /* the netdev a port is wired to, 0: a cube or nothing */
	uint8_t port_mac[PCN_MAX_PORTS][6]; /* ports/mac, or 0s */
	uint64_t aging_ns;
	int stp_enabled;
	/* The process restarted with spanning tree on: each VLAN's instance
	 * starts from the states the fast path still has, not from blocking
	 * (which would stop traffic for twice the forward delay). */
	int stp_warm;
	uint8_t mac[6];                     /* the bridge's (mac, or made from its name) */
	struct bridge_stp_vcfg vcfg[BRIDGE_VLAN_MAX + 1];
	struct bridge_stp_pcfg *pcfg;       /* ports/stp entries */
	size_t n_pcfg;
	struct stp *stp[BRIDGE_VLAN_MAX + 1]; /* one instance per VLAN in use */
};


/* Writes the ports' VLAN settings the fast path uses (the model's, with
 * the spanning tree's states), the flood lists and DEVMAPs, where they
 * changed; learned entries outside a port's new VLANs are flushed. */
int bridge_sync(struct pcn_instance *inst, struct bridge_priv *priv);
/* Writes bridge_cfg from priv (aging time, stp-enabled). */
int bridge_write_cfg(struct pcn_instance *inst, struct bridge_priv *priv);

/* Spanning tree (bridge_stpctl.c). */
/* Makes, updates and removes the VLANs' instances after an apply. */
void bridge_stp_update(struct pcn_instance *inst, struct bridge_priv *priv);
/* Narrows eff's learning and forwarding bits to the ports' states. */
void bridge_stp_effective(const struct bridge_priv *priv, struct bridge_port *eff);
/* The one-second timer. */
void bridge_stp_timer(struct pcn_instance *inst, void *arg);
/* A BPDU the fast path sent up. */
void bridge_stp_pkt_in(struct pcn_instance *inst, const struct pcn_pkt *pkt);
/* ports/stp/state */
int bridge_stp_read(struct pcn_instance *inst, struct pcn_state *st);
void bridge_stp_free(struct bridge_priv *priv);

#endif /* BRIDGE_INT_H */
