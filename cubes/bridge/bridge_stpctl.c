/* bridge: the spanning tree in the slow path. One 802.1D instance
 * (bridge_stp.c) per VLAN that has ports, as Polycube's model has it
 * (stp/<vlan>, ports/<port>/stp/<vlan>); BPDUs of a VLAN go out tagged
 * where the port carries the VLAN tagged, untagged elsewhere (so a Linux
 * bridge, which sends untagged BPDUs, meets the instance of the port's
 * access or native VLAN). The fast path sends every BPDU up while
 * stp-enabled, and learns and forwards per port and VLAN by the states
 * written here (bridge_sync). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_int.h"

/* Polycube's defaults (bridge.yang). */
#define STP_DEF_PRIORITY 32768
#define STP_DEF_HELLO 2
#define STP_DEF_MAX_AGE 20
#define STP_DEF_FWD_DELAY 10
#define STP_DEF_PATH_COST 4
#define STP_DEF_PORT_PRIORITY 128

static const char *const stp_state_names[] = { "disabled", "blocking", "listening", "learning", "forwarding" };

static uint64_t stp_mac48(const uint8_t mac[6])
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | mac[i];
	return v;
}

static const struct bridge_stp_pcfg *stp_pcfg(const struct bridge_priv *priv, uint32_t port, unsigned vlan)
{
	for (size_t i = 0; i < priv->n_pcfg; i++)
		if (priv->pcfg[i].port == port && priv->pcfg[i].vlan == vlan)
			return &priv->pcfg[i];
	return NULL;
}

void bridge_stp_free(struct bridge_priv *priv)
{
	for (unsigned v = 0; v <= BRIDGE_VLAN_MAX; v++) {
		free(priv->stp[v]);
		priv->stp[v] = NULL;
	}
	free(priv->pcfg);
	priv->pcfg = NULL;
	priv->n_pcfg = 0;
}

void bridge_stp_update(struct pcn_instance *inst, struct bridge_priv *priv)
{
	(void)inst;
	for (unsigned v = 1; v < BRIDGE_VLAN_MAX; v++) {
		const struct bridge_stp_vcfg *vc = &priv->vcfg[v];
		uint16_t prio = vc->present ? vc->priority : STP_DEF_PRIORITY;
		uint64_t id = (uint64_t)prio << 48 | stp_mac48(priv->mac);
		struct stp *s = priv->stp[v];
		int any = 0;

		for (uint32_t p = 0; p < PCN_MAX_PORTS && !any; p++)
			any = priv->cfg_ports[p].mode != BRIDGE_PORT_NONE && bridge_port_has_vlan(&priv->cfg_ports[p], v);
		if (!priv->stp_enabled || !any) {
			free(s);
			priv->stp[v] = NULL;
			continue;
		}
		if (!s) {
			s = calloc(1, sizeof(*s));
			if (!s) {
				PCN_ERR("BRIDGE-STP-NOMEM", "VLAN %u: no memory for its spanning tree", v);
				continue;
			}
			stp_init(s, id, 0, 0, 0);
			priv->stp[v] = s;
		}
		if (s->bridge_id != id) {
			if (s->root == s->bridge_id)
				s->root = id;
			s->bridge_id = id;
		}
		s->hello = vc->present && vc->hello ? vc->hello : STP_DEF_HELLO;
		s->max_age = vc->present && vc->max_age ? vc->max_age : STP_DEF_MAX_AGE;
		s->fwd_delay = vc->present && vc->fwd_delay ? vc->fwd_delay : STP_DEF_FWD_DELAY;
		for (uint32_t p = 0; p < PCN_MAX_PORTS; p++) {
			const struct bridge_port *bp = &priv->cfg_ports[p];
			const struct bridge_stp_pcfg *pc = stp_pcfg(priv, p, v);
			int member = bp->mode != BRIDGE_PORT_NONE && bridge_port_has_vlan(bp, v);
			uint16_t pid = (uint16_t)((pc ? pc->priority : STP_DEF_PORT_PRIORITY) << 8 | ((p + 1) & 0xff));

			if (stp_port_set(s, (int)p, member, pid, pc ? pc->path_cost : STP_DEF_PATH_COST) && member &&
			    priv->stp_warm) {
				/* As the pinned map has it (ports: what the fast
				 * path runs): BPDUs correct it within a hello. */
				if (bridge_port_fwd(&priv->ports[p], v))
					s->ports[p].state = STP_FORWARDING;
				else if (bridge_port_has_vlan(&priv->ports[p], v))
					s->ports[p].state = STP_LEARNING;
			}
		}
		stp_recompute(s);
	}
}

void bridge_stp_effective(const struct bridge_priv *priv, struct bridge_port *eff)
{
	for (unsigned v = 1; v < BRIDGE_VLAN_MAX; v++) {
		const struct stp *s = priv->stp[v];

		if (!s)
			continue;
		for (uint32_t p = 0; p < PCN_MAX_PORTS; p++) {
			const struct stp_port *sp = &s->ports[p];

			if (!sp->present)
				continue;
			bridge_port_set_state(&eff[p], v, sp->state >= STP_LEARNING, sp->state == STP_FORWARDING);
		}
	}
}

struct stp_send_ctx {
	struct pcn_instance *inst;
	struct bridge_priv *priv;
	unsigned vlan;
};

/* Sends a BPDU of the VLAN out of port, from the port's MAC (ports/mac, or
 * the bridge's with the port number in its last byte). */
static void stp_send(void *arg, int port, const struct stp_bpdu *b)
{
	struct stp_send_ctx *c = arg;
	const struct bridge_port *bp = &c->priv->cfg_ports[port];
	uint8_t src[6], frame[60], out[64];
	size_t len;

	memcpy(src, c->priv->port_mac[port], 6);
	if (!memcmp(src, "\0\0\0\0\0\0", 6)) {
		memcpy(src, c->priv->mac, 6);
		src[5] = (uint8_t)(src[5] + port + 1);
	}
	len = stp_bpdu_build(b, src, frame);
	len = bridge_frame_for_port(frame, len, bridge_port_wants_tag(bp, c->vlan), c->vlan, out);
	if (len)
		pcn_send_packet_out(c->inst, (uint32_t)port, PCN_DIR_EGRESS, out, len);
}

void bridge_stp_timer(struct pcn_instance *inst, void *arg)
{
	struct bridge_priv *priv = pcn_instance_priv(inst);
	int changed = 0;

	(void)arg;
	if (!priv || !priv->stp_enabled)
		return;
	for (unsigned v = 1; v < BRIDGE_VLAN_MAX; v++) {
		struct stp_send_ctx c = { inst, priv, v };

		if (priv->stp[v] && stp_tick(priv->stp[v], stp_send, &c))
			changed = 1;
	}
	if (changed)
		bridge_sync(inst, priv);
}

void bridge_stp_pkt_in(struct pcn_instance *inst, const struct pcn_pkt *pkt)
{
	struct bridge_priv *priv = pcn_instance_priv(inst);
	unsigned v = pkt->md[0];
	struct stp_send_ctx c = { inst, priv, v };
	uint8_t frame[128];
	struct stp_bpdu b;
	size_t len;

	if (!priv || v >= BRIDGE_VLAN_MAX || !priv->stp[v] || pkt->len > sizeof(frame) - 4)
		return;
	len = bridge_frame_for_port(pkt->data, pkt->len, 0, v, frame); /* the tag off, if in the bytes */
	if (!len || stp_bpdu_parse(frame, len, &b))
		return;
	if (stp_rx(priv->stp[v], (int)pkt->port, &b, stp_send, &c))
		bridge_sync(inst, priv);
}

int bridge_stp_read(struct pcn_instance *inst, struct pcn_state *st)
{
	struct bridge_priv *priv = pcn_instance_priv(inst);
	char path[160];

	if (!priv)
		return 0;
	/* Without spanning tree every port forwards in each of its VLANs. */
	for (uint32_t p = 0; p < PCN_MAX_PORTS && !priv->stp_enabled; p++) {
		const char *name = pcn_port_name(inst, p);

		if (!name || priv->cfg_ports[p].mode == BRIDGE_PORT_NONE)
			continue;
		for (unsigned v = 1; v < BRIDGE_VLAN_MAX; v++) {
			int rc;

			if (!bridge_port_has_vlan(&priv->cfg_ports[p], v))
				continue;
			snprintf(path, sizeof(path), "ports[name='%s']/stp[vlan='%u']/state", name, v);
			rc = pcn_state_set(st, path, "%s", stp_state_names[STP_FORWARDING]);
			if (rc)
				return rc;
		}
	}
	for (unsigned v = 1; v < BRIDGE_VLAN_MAX && priv->stp_enabled; v++) {
		const struct stp *s = priv->stp[v];

		if (!s)
			continue;
		for (uint32_t p = 0; p < PCN_MAX_PORTS; p++) {
			const char *name = pcn_port_name(inst, p);
			int rc;

			if (!s->ports[p].present || !name || s->ports[p].state > STP_FORWARDING)
				continue;
			snprintf(path, sizeof(path), "ports[name='%s']/stp[vlan='%u']/state", name, v);
			rc = pcn_state_set(st, path, "%s", stp_state_names[s->ports[p].state]);
			if (rc)
				return rc;
		}
	}
	return 0;
}
