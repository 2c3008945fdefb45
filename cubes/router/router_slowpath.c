/* router: the slow path. ICMP echo to the router's addresses, time
 * exceeded and net unreachable are built here and injected into the
 * router as if they had arrived on the port the packet came in on, so the
 * fast path routes them back like any other packet. A next hop not
 * resolved yet gets an ARP request out of its port and its packets wait
 * in a bounded queue (ROUTER_QUEUE_MAX per next hop, ROUTER_PENDING_MAX
 * next hops); the fast path learns the reply and notifies, and the queue
 * goes back into the router, which now forwards it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "router_int.h"

static void inject(struct pcn_instance *inst, uint32_t port, const uint8_t *data, size_t len)
{
	if (pcn_send_packet_out(inst, port, PCN_DIR_INGRESS, data, len))
		router_priv_of(inst)->queue_drops++;
}

static struct router_pending **pending_of(struct router_priv *p, uint32_t nh)
{
	for (int i = 0; i < ROUTER_PENDING_MAX; i++)
		if (p->pend[i] && p->pend[i]->nh == nh)
			return &p->pend[i];
	return NULL;
}

static void arp_request(struct pcn_instance *inst, struct router_pending *q)
{
	struct router_priv *p = router_priv_of(inst);
	struct router_iface *ifc = &p->ifs[q->port];
	uint32_t src = ifc->has_ip ? ifc->ip.addr : 0;
	uint8_t frame[64] = { 0 };

	/* The port's address on the next hop's network, if it has one there. */
	router_iface_for(ifc, 1, q->nh, &src);
	router_build_arp_request(frame, ifc->mac, src, q->nh);
	q->tries++;
	q->last_ms = router_now_ns() / 1000000;
	p->arp_requests++;
	pcn_send_packet_out(inst, q->port, PCN_DIR_EGRESS, frame, 60);
}

/* Sends what waits for nh, now that it is resolved: back into the router,
 * which forwards it with the new entry. */
static void pending_release(struct pcn_instance *inst, uint32_t nh)
{
	struct router_pending **slot = pending_of(router_priv_of(inst), nh), *q;

	if (!slot)
		return;
	q = *slot;
	*slot = NULL;
	for (size_t i = 0; i < q->n; i++)
		inject(inst, q->pkts[i].in_port, q->pkts[i].data, q->pkts[i].len);
	free(q);
}

static void arp_miss(struct pcn_instance *inst, const struct pcn_pkt *pkt)
{
	struct router_priv *p = router_priv_of(inst);
	uint32_t nh = pkt->md[0], port = pkt->md[1];
	struct router_pending **slot = pending_of(p, nh), *q;
	struct router_arp_entry e;

	if (pkt->len != pkt->orig_len || port >= PCN_MAX_PORTS || !p->ifs[port].valid) {
		p->queue_drops++;
		return;
	}
	/* Learned between the miss and now: send it at once. */
	if (pcn_map_lookup(inst, MAP_ARP, &nh, &e) == 0) {
		inject(inst, pkt->port, pkt->data, pkt->len);
		return;
	}
	if (!slot) {
		for (int i = 0; i < ROUTER_PENDING_MAX && !slot; i++)
			if (!p->pend[i])
				slot = &p->pend[i];
		if (!slot || !(*slot = calloc(1, sizeof(**slot)))) {
			p->queue_drops++;
			return;
		}
		(*slot)->nh = nh;
		(*slot)->port = port;
		arp_request(inst, *slot);
	}
	q = *slot;
	if (q->n == ROUTER_QUEUE_MAX) {
		p->queue_drops++;
		return;
	}
	q->pkts[q->n].in_port = pkt->port;
	q->pkts[q->n].len = pkt->len;
	memcpy(q->pkts[q->n].data, pkt->data, pkt->len);
	q->n++;
}

/* An ICMP error about pkt, from the address of the port it came in on,
 * routed back to its source by the fast path. */
static void icmp_error(struct pcn_instance *inst, const struct pcn_pkt *pkt, uint8_t type, uint8_t code,
		       uint32_t src)
{
	struct router_priv *p = router_priv_of(inst);
	uint8_t frame[128];
	size_t n;

	if (pkt->port >= PCN_MAX_PORTS || !p->ifs[pkt->port].valid || !p->ifs[pkt->port].has_ip)
		return;
	n = router_build_icmp_error(frame, sizeof(frame), pkt->data, pkt->len, type, code,
				    src ? src : p->ifs[pkt->port].ip.addr, p->ifs[pkt->port].mac);
	if (n)
		inject(inst, pkt->port, frame, n);
}

void router_pkt_in(struct pcn_instance *inst, const struct pcn_pkt *pkt)
{
	struct router_priv *p = router_priv_of(inst);
	static uint8_t frame[PCN_SLOWPATH_SNAPLEN];
	size_t n;

	if (!p)
		return;
	switch (pkt->reason) {
	case ROUTER_REASON_ARP_LEARN:
		pending_release(inst, pkt->md[0]);
		break;
	case ROUTER_REASON_ARP_MISS:
		arp_miss(inst, pkt);
		break;
	case ROUTER_REASON_TTL:
		icmp_error(inst, pkt, 11, 0, 0); /* time exceeded in transit */
		break;
	case ROUTER_REASON_UNREACH:
		icmp_error(inst, pkt, 3, 0, 0); /* network unreachable */
		break;
	case ROUTER_REASON_LOCAL:
		if (pkt->port >= PCN_MAX_PORTS || !p->ifs[pkt->port].valid || pkt->len != pkt->orig_len)
			break;
		/* UDP to the router: port unreachable, from the address it was
		 * sent to (what ends a traceroute to that address). */
		if (pkt->len >= 14 + 20 && pkt->data[14 + 9] == 17) {
			uint32_t dst;

			memcpy(&dst, pkt->data + 14 + 16, 4);
			icmp_error(inst, pkt, 3, 3, dst);
			break;
		}
		n = router_build_echo_reply(frame, sizeof(frame), pkt->data, pkt->len, p->ifs[pkt->port].mac);
		if (n)
			inject(inst, pkt->port, frame, n);
		break;
	default:
		break;
	}
}

/* Every ROUTER_TIMER_MS: ARP requests again, or give up; every second,
 * forget learned entries older than the aging time. */
void router_tick(struct pcn_instance *inst, void *arg)
{
	struct router_priv *p = router_priv_of(inst);
	uint64_t ms = router_now_ns() / 1000000, now = router_now_ns();
	uint32_t key, next, *prev = NULL, gone[256];
	size_t ngone = 0;

	(void)arg;
	for (int i = 0; i < ROUTER_PENDING_MAX; i++) {
		struct router_pending *q = p->pend[i];
		struct router_arp_entry e;

		if (!q)
			continue;
		/* Resolved, but its notice was lost (the ring was full). */
		if (pcn_map_lookup(inst, MAP_ARP, &q->nh, &e) == 0) {
			pending_release(inst, q->nh);
			continue;
		}
		if (ms - q->last_ms < ROUTER_ARP_RETRY_MS)
			continue;
		if (q->tries < ROUTER_ARP_TRIES && p->ifs[q->port].valid) {
			arp_request(inst, q);
			continue;
		}
		PCN_DEBUG("ROUTER-ARP-GIVEUP", "%s: no ARP reply from next hop %u.%u.%u.%u; %zu packets dropped",
			  pcn_instance_name(inst), q->nh & 255, q->nh >> 8 & 255, q->nh >> 16 & 255, q->nh >> 24,
			  q->n);
		/* Their senders hear it (host unreachable), as from Linux. */
		for (size_t k = 0; k < q->n; k++) {
			struct pcn_pkt held = { .port = q->pkts[k].in_port, .data = q->pkts[k].data,
						.len = q->pkts[k].len, .orig_len = (uint32_t)q->pkts[k].len };

			icmp_error(inst, &held, 3, 1, 0);
		}
		p->queue_drops += q->n;
		free(q);
		p->pend[i] = NULL;
	}
	if (ms - p->last_age_ms < 1000)
		return;
	p->last_age_ms = ms;
	while (pcn_map_next_key(inst, MAP_ARP, prev, &next) == 0) {
		struct router_arp_entry e;

		key = next;
		prev = &key;
		if (pcn_map_lookup(inst, MAP_ARP, &key, &e) || (e.flags & ROUTER_ARP_STATIC))
			continue;
		if (now > e.seen_ns && now - e.seen_ns > p->aging_ns && ngone < sizeof(gone) / sizeof(gone[0]))
			gone[ngone++] = key;
	}
	for (size_t i = 0; i < ngone; i++)
		pcn_map_delete(inst, MAP_ARP, &gone[i]);
}
