/* firewall: the conntrack sweep (timeouts) and the operational state
 * (session-table, chain stats). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firewall_int.h"

/* Seconds an entry lives after its last packet, by state. Linux's
 * defaults, except ESTABLISHED TCP: an hour here instead of five days
 * (the table is bounded, and an LRU drops the oldest first anyway). */
static const uint32_t fw_timeout_s[FW_CT_NSTATES] = {
	[FW_TCP_SYN_SENT] = 120, [FW_TCP_SYN_RECV] = 60, [FW_TCP_ESTABLISHED] = 3600,
	[FW_TCP_FIN_WAIT] = 120, [FW_TCP_LAST_ACK] = 30, [FW_TCP_TIME_WAIT] = 120,
	[FW_TCP_CLOSED] = 10,    [FW_FLOW_NEW] = 30,     [FW_FLOW_ESTABLISHED] = 180,
};
static const char *const fw_state_name[FW_CT_NSTATES] = {
	"SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSED", "NEW", "ESTABLISHED",
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Seconds left before v times out (0: expired). */
static uint32_t eta_s(const struct fw_ct_val *v, uint64_t now)
{
	uint64_t ttl = (uint64_t)fw_timeout_s[v->state < FW_CT_NSTATES ? v->state : FW_TCP_CLOSED] * 1000000000ULL;
	uint64_t age = now > v->last_ns ? now - v->last_ns : 0;

	return age >= ttl ? 0 : (uint32_t)((ttl - age + 999999999ULL) / 1000000000ULL);
}

/* Deletes the expired connections. A packet refreshing an entry between
 * the read and the delete loses it: its next packet finds no entry (TCP:
 * INVALID, UDP/ICMP: NEW); a connection idle for its whole timeout is
 * what that costs. */
void fw_ct_sweep(struct pcn_instance *inst, void *arg)
{
	struct fw_ct_key cur, next;
	struct fw_ct_val v;
	uint64_t now = mono_ns();
	int have = 0, n = 0;

	(void)arg;
	while (pcn_map_next_key(inst, "fw_ct", have ? &cur : NULL, &next) == 0) {
		if (have && pcn_map_lookup(inst, "fw_ct", &cur, &v) == 0 && !eta_s(&v, now) &&
		    pcn_map_delete(inst, "fw_ct", &cur) == 0)
			n++;
		cur = next;
		have = 1;
	}
	if (have && pcn_map_lookup(inst, "fw_ct", &cur, &v) == 0 && !eta_s(&v, now) &&
	    pcn_map_delete(inst, "fw_ct", &cur) == 0)
		n++;
	if (n)
		PCN_DEBUG("FW-CT-SWEEP", "%s: %d connection(s) timed out", pcn_instance_name(inst), n);
}

static const char *proto_name(uint8_t p, char *buf, size_t n)
{
	if (p == 6)
		return "TCP";
	if (p == 17)
		return "UDP";
	if (p == 1)
		return "ICMP";
	snprintf(buf, n, "%u", p);
	return buf;
}

int fw_state_sessions(struct pcn_instance *inst, struct pcn_state *st)
{
	struct fw_ct_key cur, next;
	struct fw_ct_val v;
	uint64_t now = mono_ns();
	int have = 0, rc = 0;

	while (!rc && pcn_map_next_key(inst, "fw_ct", have ? &cur : NULL, &next) == 0) {
		char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN], pb[8], path[256];
		const char *proto;
		uint32_t sa, da;
		uint16_t sp, dp;
		uint32_t eta;

		cur = next;
		have = 1;
		if (pcn_map_lookup(inst, "fw_ct", &cur, &v) || !(eta = eta_s(&v, now)))
			continue;
		sa = v.init_lo ? cur.ip_lo : cur.ip_hi;
		da = v.init_lo ? cur.ip_hi : cur.ip_lo;
		sp = ntohs(v.init_lo ? cur.port_lo : cur.port_hi);
		dp = ntohs(v.init_lo ? cur.port_hi : cur.port_lo);
		inet_ntop(AF_INET, &sa, src, sizeof(src));
		inet_ntop(AF_INET, &da, dst, sizeof(dst));
		proto = proto_name(cur.proto, pb, sizeof(pb));
		snprintf(path, sizeof(path), "session-table[src='%s'][dst='%s'][l4proto='%s'][sport='%u'][dport='%u']/state",
			 src, dst, proto, sp, dp);
		rc = pcn_state_set(st, path, "%s", fw_state_name[v.state < FW_CT_NSTATES ? v.state : FW_TCP_CLOSED]);
		snprintf(path, sizeof(path), "session-table[src='%s'][dst='%s'][l4proto='%s'][sport='%u'][dport='%u']/eta",
			 src, dst, proto, sp, dp);
		if (!rc)
			rc = pcn_state_set(st, path, "%" PRIu32, eta);
	}
	return rc;
}

/* Each rule of each chain's active set: its counters and its leaves. */
int fw_state_stats(struct pcn_instance *inst, struct pcn_state *st)
{
	struct fw_inst *f = pcn_instance_priv(inst);
	int rc = 0;

	for (int c = 0; f && !rc && c < FW_CHAINS; c++) {
		const struct fw_applied *a = &f->applied[c];

		for (size_t i = 0; !rc && i < a->n; i++) {
			uint32_t k = (uint32_t)c * FW_SLOTS + a->slot[i];
			uint64_t sums[2] = { 0, 0 };
			char base[96], path[160];

			rc = pcn_map_sum_u64(inst, "fw_cnt", &k, sums, 2);
			if (rc)
				break;
			snprintf(base, sizeof(base), "chain[name='%s']/stats[id='%" PRIu32 "']", fw_chain_str(c), a->r[i].id);
			snprintf(path, sizeof(path), "%s/pkts", base);
			rc = pcn_state_set(st, path, "%" PRIu64, sums[0]);
			snprintf(path, sizeof(path), "%s/bytes", base);
			if (!rc)
				rc = pcn_state_set(st, path, "%" PRIu64, sums[1]);
			for (int t = 0; !rc && t < FW_NTEXT; t++) {
				if (!a->r[i].v[t])
					continue;
				snprintf(path, sizeof(path), "%s/%s", base, fw_leaf_name(t));
				rc = pcn_state_set(st, path, "%s", a->r[i].v[t]);
			}
		}
	}
	return rc;
}
