/* nat's flow table from the control plane: the timeouts' sweep and the
 * natting-table (nat.c has the rules, the actions and the instance). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "nat_cp.h"
#include "nat_shared.h"
#include "pcn_cube.h"

static uint64_t nat_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- the flow table --------------------------------------------------------- */

#define NAT_WALK_CHUNK 4096

/* Calls fn on every entry of nat_ct (in batches: a table of 10,000 flows
 * is two syscalls, not 40,000). */
static int nat_ct_walk(struct pcn_instance *inst, int (*fn)(const struct nat_key *, const struct nat_val *, void *),
		       void *arg)
{
	int fd = pcn_map_fd(inst, "nat_ct"), rc = 0;
	struct nat_key *keys;
	struct nat_val *vals;
	uint32_t in_tok = 0, out_tok = 0;
	void *in = NULL;

	if (fd < 0)
		return fd;
	keys = calloc(NAT_WALK_CHUNK, sizeof(*keys));
	vals = calloc(NAT_WALK_CHUNK, sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (;;) {
		uint32_t count = NAT_WALK_CHUNK;
		int err = bpf_map_lookup_batch(fd, in, &out_tok, keys, vals, &count, NULL);

		if (err && errno != ENOENT) {
			rc = -errno;
			break;
		}
		for (uint32_t i = 0; i < count && !rc; i++)
			rc = fn(&keys[i], &vals[i], arg);
		if (err || rc)
			break;
		in_tok = out_tok;
		in = &in_tok;
	}
	free(keys);
	free(vals);
	return rc;
}

static void nat_partner(const struct nat_key *k, const struct nat_val *v, struct nat_key *rk)
{
	memset(rk, 0, sizeof(*rk));
	rk->src = v->dst;
	rk->dst = v->src;
	rk->sport = v->dport;
	rk->dport = v->sport;
	rk->proto = k->proto;
	rk->dir = k->dir ^ 1;
}

struct nat_sweep {
	struct pcn_instance *inst;
	uint64_t now;
	uint32_t masq_ip;
	struct nat_key *dead;
	size_t n, cap;
};

static uint64_t nat_timeout_ns(uint8_t proto, int closing)
{
	unsigned s;

	if (proto == IPPROTO_TCP)
		s = closing ? nat_env("NAT_TCP_CLOSING_TIMEOUT", 60) : nat_env("NAT_TCP_TIMEOUT", 7440);
	else if (proto == IPPROTO_UDP)
		s = nat_env("NAT_UDP_TIMEOUT", 120);
	else
		s = nat_env("NAT_ICMP_TIMEOUT", 30);
	return (uint64_t)s * 1000000000ULL;
}

static int nat_dead(struct nat_sweep *s, const struct nat_key *k)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct nat_key *d = realloc(s->dead, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		s->dead = d;
		s->cap = cap;
	}
	s->dead[s->n++] = *k;
	return 0;
}

/* A flow is judged from its outgoing entry (with its partner's last packet
 * and FIN/RST); an entry whose partner is gone, on its own. */
static int nat_sweep_one(const struct nat_key *k, const struct nat_val *v, void *arg)
{
	struct nat_sweep *s = arg;
	struct nat_key rk;
	struct nat_val rv;
	uint64_t seen = v->seen_ns;
	int closing = v->closing, partner, stale;

	nat_partner(k, v, &rk);
	partner = pcn_map_lookup(s->inst, "nat_ct", &rk, &rv) == 0;
	if (partner && k->dir == NAT_DIR_IN)
		return 0; /* judged with its outgoing entry */
	if (partner) {
		seen = rv.seen_ns > seen ? rv.seen_ns : seen;
		closing |= rv.closing;
	}
	/* Masquerade's flows of an address the parent no longer has. */
	stale = v->rule == NAT_RULE_MASQ && v->src != s->masq_ip;
	if (!stale && (seen > s->now || s->now - seen < nat_timeout_ns(k->proto, closing)))
		return 0;
	if (nat_dead(s, k))
		return -ENOMEM;
	return partner ? nat_dead(s, &rk) : 0;
}

void nat__sweep(struct pcn_instance *inst, void *arg)
{
	struct nat_sweep s = { .inst = inst, .now = nat_now_ns() };
	struct nat_cfg c;

	(void)arg;
	if (nat_cfg_get(inst, &c))
		return;
	s.masq_ip = c.masq_ip;
	nat_ct_walk(inst, nat_sweep_one, &s);
	for (size_t i = 0; i < s.n; i++)
		pcn_map_delete(inst, "nat_ct", &s.dead[i]);
	if (s.n)
		PCN_DEBUG("NAT-SWEEP", "%s: %zu entries timed out", pcn_instance_name(inst), s.n);
	free(s.dead);
}

/* ---- state ------------------------------------------------------------------ */

struct nat_read {
	struct pcn_state *st;
	int rc;
};

static const char *nat_proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : p == IPPROTO_ICMP ? "icmp" : "other";
}

static int nat_read_one(const struct nat_key *k, const struct nat_val *v, void *arg)
{
	static const char *const rules[] = { "snat", "dnat", "masquerade", "portforwarding" };
	struct nat_read *r = arg;
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN], ext[INET_ADDRSTRLEN], base[200], path[240];

	if (k->dir != NAT_DIR_OUT)
		return 0;
	inet_ntop(AF_INET, &k->src, src, sizeof(src));
	inet_ntop(AF_INET, &k->dst, dst, sizeof(dst));
	inet_ntop(AF_INET, &v->src, ext, sizeof(ext));
	snprintf(base, sizeof(base),
		 "natting-table[internal-src='%s'][internal-dst='%s'][internal-sport='%u'][internal-dport='%u']"
		 "[proto='%s']",
		 src, dst, ntohs(k->sport), ntohs(k->dport), nat_proto_name(k->proto));
	snprintf(path, sizeof(path), "%s/originating-rule", base);
	r->rc = pcn_state_set(r->st, path, "%s", rules[v->rule & 3]);
	snprintf(path, sizeof(path), "%s/external-ip", base);
	if (!r->rc)
		r->rc = pcn_state_set(r->st, path, "%s", ext);
	snprintf(path, sizeof(path), "%s/external-port", base);
	if (!r->rc)
		r->rc = pcn_state_set(r->st, path, "%u", ntohs(v->sport));
	return r->rc;
}

int nat_read_table(struct pcn_instance *inst, struct pcn_state *st)
{
	struct nat_read r = { .st = st };
	int rc = nat_ct_walk(inst, nat_read_one, &r);

	return rc ? rc : r.rc;
}
