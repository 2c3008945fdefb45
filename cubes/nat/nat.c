/* nat control plane: the rules (the configuration's, written into the
 * fast path's tables after every apply; the append and enable/disable
 * actions are changes of the configuration the broker writes),
 * masquerade's address (the parent's, followed when it changes), the
 * timeouts of tracked flows (a sweep of nat_ct on a timer) and the
 * natting-table. The flows themselves are the fast path's: nat_ct is
 * pinned, so a restart of this process keeps every one of them. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <bpf/bpf.h>
#include <jansson.h>
#include <linux/bpf.h>

#include "nat_cp.h"
#include "nat_shared.h"
#include "nat_tc.skel.h"
#include "nat_xdp.skel.h"
#include "nat_yang.h"
#include "pcn_cube.h"

#define NAT_MAX_RULES 1024

/* One rule, from the configuration or from an append. */
struct nat_rule {
	uint32_t kind, id;
	struct nat_rule_val v;
};

struct nat_priv {
	struct nat_priv *next;
	struct nat_rule *cfg; /* the configuration's rules, as of the last apply */
	size_t n_cfg;
	int masq_leaf; /* the enabled leaf: -1 absent, else its value */
};

/* Every instance's data: on_destroy runs when an instance is deleted, not
 * when the process exits while its instances live on in the kernel. */
static struct nat_priv *nat_all;

__attribute__((destructor)) static void nat_free_all(void)
{
	while (nat_all) {
		struct nat_priv *p = nat_all;

		nat_all = p->next;
		free(p->cfg);
		free(p);
	}
}

unsigned nat_env(const char *name, unsigned def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return def;
	v = strtoul(s, &end, 10);
	return *end || v == 0 || v > 1000000 ? def : (unsigned)v;
}

/* ---- configuration --------------------------------------------------------- */

int nat_cfg_get(struct pcn_instance *inst, struct nat_cfg *c)
{
	uint32_t zero = 0;

	return pcn_map_lookup(inst, "nat_cfg", &zero, c);
}

static int nat_cfg_put(struct pcn_instance *inst, const struct nat_cfg *c)
{
	uint32_t zero = 0;

	return pcn_map_update(inst, "nat_cfg", &zero, c, BPF_ANY);
}

/* Masquerade is on when the enabled leaf says so (absent: off). */
static int nat_masq_sync(struct pcn_instance *inst)
{
	struct nat_priv *p = pcn_instance_priv(inst);
	struct nat_cfg c;
	int rc = nat_cfg_get(inst, &c);

	if (rc)
		return rc;
	c.masq = p && p->masq_leaf > 0;
	return nat_cfg_put(inst, &c);
}

static int nat_parse_ip(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ip = a.s_addr;
	return 0;
}

/* "10.0.0.0/24" (libyang's canonical form of an ipv4-prefix). */
static int nat_parse_prefix(const char *s, uint32_t *ip, uint8_t *plen)
{
	char buf[32], *slash;
	unsigned long l = 32;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		l = strtoul(slash + 1, NULL, 10);
		if (l > 32)
			return -EINVAL;
	}
	if (nat_parse_ip(buf, ip))
		return -EINVAL;
	*plen = (uint8_t)l;
	if (l < 32)
		*ip &= htonl(l ? ~0u << (32 - l) : 0);
	return 0;
}

static int nat_parse_proto(const char *s, uint8_t *proto)
{
	if (!s || !strcasecmp(s, "all"))
		*proto = 0;
	else if (!strcasecmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcasecmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

/* A rule from its leaves (get(arg, leaf) returns a leaf's text or NULL). */
static int nat_rule_parse(uint32_t kind, const char *(*get)(void *, const char *), void *arg,
			  struct nat_rule_val *v)
{
	const char *ep, *ip;

	memset(v, 0, sizeof(*v));
	switch (kind) {
	case NAT_KIND_SNAT:
		if (nat_parse_prefix(get(arg, "internal-net"), &v->ip1, &v->plen) ||
		    nat_parse_ip(get(arg, "external-ip"), &v->ip2))
			return -EINVAL;
		return 0;
	case NAT_KIND_DNAT:
		return nat_parse_ip(get(arg, "external-ip"), &v->ip1) || nat_parse_ip(get(arg, "internal-ip"), &v->ip2)
			       ? -EINVAL
			       : 0;
	case NAT_KIND_PF:
		/* One at a time: get() may return the same buffer each call. */
		ep = get(arg, "external-port");
		v->port1 = ep ? (uint16_t)strtoul(ep, NULL, 10) : 0;
		ip = get(arg, "internal-port");
		v->port2 = ip ? (uint16_t)strtoul(ip, NULL, 10) : 0;
		if (nat_parse_ip(get(arg, "external-ip"), &v->ip1) || nat_parse_ip(get(arg, "internal-ip"), &v->ip2) ||
		    nat_parse_proto(get(arg, "proto"), &v->proto))
			return -EINVAL;
		return v->port1 && v->port2 ? 0 : -EINVAL;
	}
	return -EINVAL;
}

/* Every rule to install: the configuration's (a copy, *out malloc'ed). */
static int nat_rules_all(struct pcn_instance *inst, struct nat_rule **out, size_t *n)
{
	struct nat_priv *p = pcn_instance_priv(inst);
	size_t k = p ? p->n_cfg : 0;
	struct nat_rule *r = calloc(k ? k : 1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	if (k)
		memcpy(r, p->cfg, k * sizeof(*r));
	*out = r;
	*n = k;
	return 0;
}

/* Highest id first: the lowest id's write to a key two rules share is the
 * last, and wins. */
static int nat_rule_cmp(const void *a, const void *b)
{
	const struct nat_rule *x = a, *y = b;

	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

static int nat_has_snat(const struct nat_rule *r, size_t n, const struct nat_snat_key *k)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].kind == NAT_KIND_SNAT && r[i].v.plen == k->prefixlen && r[i].v.ip1 == k->addr)
			return 1;
	return 0;
}

static int nat_has_dnat(const struct nat_rule *r, size_t n, uint32_t ip)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].kind == NAT_KIND_DNAT && r[i].v.ip1 == ip)
			return 1;
	return 0;
}

static int nat_has_pf(const struct nat_rule *r, size_t n, const struct nat_pf_key *k)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].kind == NAT_KIND_PF && r[i].v.ip1 == k->ip && htons(r[i].v.port1) == k->port &&
		    r[i].v.proto == k->proto)
			return 1;
	return 0;
}

/* Deletes the keys of map `name` (key size ksz) that has() does not want.
 * Keys are collected first: deleting during a walk restarts it. */
static void nat_prune(struct pcn_instance *inst, const char *name, size_t ksz,
		      int (*has)(const struct nat_rule *, size_t, const void *), const struct nat_rule *r, size_t n)
{
	unsigned char keys[NAT_MAX_RULES][sizeof(struct nat_pf_key) > sizeof(struct nat_snat_key)
						  ? sizeof(struct nat_pf_key)
						  : sizeof(struct nat_snat_key)];
	unsigned char cur[sizeof(keys[0])], next[sizeof(keys[0])];
	size_t k = 0;
	void *prev = NULL;

	while (k < NAT_MAX_RULES && pcn_map_next_key(inst, name, prev, next) == 0) {
		memcpy(cur, next, ksz);
		prev = cur;
		if (!has(r, n, cur))
			memcpy(keys[k++], cur, ksz);
	}
	for (size_t i = 0; i < k; i++)
		pcn_map_delete(inst, name, keys[i]);
}

static int has_snat(const struct nat_rule *r, size_t n, const void *k) { return nat_has_snat(r, n, k); }
static int has_dnat(const struct nat_rule *r, size_t n, const void *k)
{
	uint32_t ip;

	memcpy(&ip, k, sizeof(ip));
	return nat_has_dnat(r, n, ip);
}
static int has_pf(const struct nat_rule *r, size_t n, const void *k) { return nat_has_pf(r, n, k); }

/* The fast path's rule tables from the rules: every wanted entry written,
 * then every other deleted, so that a rule that stays is never missing in
 * between. */
static int nat_install(struct pcn_instance *inst)
{
	struct nat_rule *r;
	size_t n;
	int rc = nat_rules_all(inst, &r, &n);

	if (rc)
		return rc;
	qsort(r, n, sizeof(*r), nat_rule_cmp);
	for (size_t i = 0; i < n && !rc; i++) {
		const struct nat_rule_val *v = &r[i].v;

		if (r[i].kind == NAT_KIND_SNAT) {
			struct nat_snat_key k = { .prefixlen = v->plen, .addr = v->ip1 };

			rc = pcn_map_update(inst, "nat_snat", &k, &v->ip2, BPF_ANY);
		} else if (r[i].kind == NAT_KIND_DNAT) {
			rc = pcn_map_update(inst, "nat_dnat", &v->ip1, &v->ip2, BPF_ANY);
		} else if (r[i].kind == NAT_KIND_PF) {
			struct nat_pf_key k = { .ip = v->ip1, .port = htons(v->port1), .proto = v->proto };
			struct nat_pf_val pv = { .ip = v->ip2, .port = htons(v->port2) };

			rc = pcn_map_update(inst, "nat_pf", &k, &pv, BPF_ANY);
		}
	}
	if (!rc) {
		nat_prune(inst, "nat_snat", sizeof(struct nat_snat_key), has_snat, r, n);
		nat_prune(inst, "nat_dnat", sizeof(uint32_t), has_dnat, r, n);
		nat_prune(inst, "nat_pf", sizeof(struct nat_pf_key), has_pf, r, n);
	}
	free(r);
	return rc;
}

/* ---- on_applied: the configuration's rules ---------------------------------- */

struct nat_collect {
	struct pcn_instance *inst;
	struct nat_rule *r;
	size_t n;
	uint32_t kind;
	int rc;
};

static const char *nat_node_get(void *arg, const char *leaf)
{
	return pcn_node_child(arg, leaf);
}

static int nat_collect_entry(const struct pcn_node *e, void *arg)
{
	struct nat_collect *c = arg;
	const char *id = pcn_node_key(e, "id");
	struct nat_rule *r;

	if (c->n >= NAT_MAX_RULES)
		return c->rc = pcn_fail(c->inst, -ENOSPC, "at most %d rules", NAT_MAX_RULES);
	r = &c->r[c->n];
	r->kind = c->kind;
	r->id = id ? (uint32_t)strtoul(id, NULL, 10) : 0;
	if (nat_rule_parse(c->kind, nat_node_get, (void *)e, &r->v))
		return c->rc = pcn_fail(c->inst, -EINVAL, "%s: a rule's fields are not valid", pcn_node_path(e));
	c->n++;
	return 0;
}

static int nat_collect_kind(const struct pcn_node *container, void *arg)
{
	return pcn_node_foreach(container, "entry", nat_collect_entry, arg);
}

static int nat_masq_leaf(const struct pcn_node *masq, void *arg)
{
	const char *v = pcn_node_child(masq, "enabled");

	*(int *)arg = !v ? -1 : !strcmp(v, "true");
	return 0;
}

static int nat_collect_rule(const struct pcn_node *rule, void *arg)
{
	struct nat_collect *c = arg;
	static const char *const names[] = { "snat", "dnat", "port-forwarding" };
	static const uint32_t kinds[] = { NAT_KIND_SNAT, NAT_KIND_DNAT, NAT_KIND_PF };
	int rc = 0;

	for (size_t i = 0; i < 3 && !rc; i++) {
		c->kind = kinds[i];
		rc = pcn_node_foreach(rule, names[i], nat_collect_kind, c);
	}
	return rc;
}

static int nat_rule_masq(const struct pcn_node *rule, void *arg)
{
	return pcn_node_foreach(rule, "masquerade", nat_masq_leaf, arg);
}

static int nat_applied(struct pcn_instance *inst, const struct pcn_node *config)
{
	struct nat_priv *p = pcn_instance_priv(inst);
	struct nat_collect c = { .inst = inst };
	struct nat_rule *old_cfg;
	size_t old_n;
	int masq = -1, rc;

	if (!p)
		return -EINVAL;
	c.r = calloc(NAT_MAX_RULES, sizeof(*c.r));
	if (!c.r)
		return -ENOMEM;
	rc = pcn_node_foreach(config, "rule", nat_collect_rule, &c);
	if (rc) {
		free(c.r);
		return rc;
	}
	pcn_node_foreach(config, "rule", nat_rule_masq, &masq);
	old_cfg = p->cfg;
	old_n = p->n_cfg;
	p->cfg = c.r;
	p->n_cfg = c.n;
	p->masq_leaf = masq;
	rc = nat_install(inst);
	if (!rc)
		rc = nat_masq_sync(inst);
	if (rc) {
		/* Refused: the runtime undoes the round; the rules stay as they were. */
		p->cfg = old_cfg;
		p->n_cfg = old_n;
		free(c.r);
		nat_install(inst);
		return pcn_fail(inst, rc, "cannot install the rules: %s", strerror(-rc));
	}
	free(old_cfg);
	return 0;
}

/* ---- actions ------------------------------------------------------------------ */

/* A member of the action's input, with or without the module prefix. */
static const char *nat_json_get(void *arg, const char *leaf)
{
	json_t *in = arg, *v = json_object_get(in, leaf);
	char q[64];
	static char num[16];

	if (!v) {
		snprintf(q, sizeof(q), "nat:%s", leaf);
		v = json_object_get(in, q);
	}
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return num;
	}
	return NULL;
}

static const char *const nat_kind_path[] = { "snat", "dnat", "port-forwarding" };

/* append: the rule, under the next free id (one past the highest of its
 * list, 0 for the first), as a change of the configuration: the broker
 * PUTs the entry (validated, applied through on_applied, saved) before it
 * answers {"id": N}. */
static int nat_append(struct pcn_instance *inst, const char *input_json, uint32_t kind)
{
	struct nat_priv *p = pcn_instance_priv(inst);
	struct nat_rule_val v;
	json_t *in = input_json ? json_loads(input_json, 0, NULL) : NULL, *e = NULL;
	char path[64], out[32], *body = NULL;
	int64_t max = -1;
	const char *proto;
	int rc;

	if (!in || !json_is_object(in)) {
		json_decref(in);
		return pcn_fail(inst, -EINVAL, "append needs the rule's fields");
	}
	rc = nat_rule_parse(kind, nat_json_get, in, &v);
	if (rc) {
		json_decref(in);
		return pcn_fail(inst, -EINVAL, "append: a mandatory field is missing or not valid");
	}
	for (size_t i = 0; p && i < p->n_cfg; i++)
		if (p->cfg[i].kind == kind && (int64_t)p->cfg[i].id > max)
			max = p->cfg[i].id;
	e = json_object();
	if (!e) {
		json_decref(in);
		return -ENOMEM;
	}
	json_object_set_new(e, "id", json_integer(max + 1));
	if (kind == NAT_KIND_SNAT) {
		json_object_set_new(e, "internal-net", json_string(nat_json_get(in, "internal-net")));
		json_object_set_new(e, "external-ip", json_string(nat_json_get(in, "external-ip")));
	} else {
		json_object_set_new(e, "external-ip", json_string(nat_json_get(in, "external-ip")));
		json_object_set_new(e, "internal-ip", json_string(nat_json_get(in, "internal-ip")));
	}
	if (kind == NAT_KIND_PF) {
		/* port-number leaves are JSON numbers (RFC 7951). */
		json_object_set_new(e, "external-port", json_integer(v.port1));
		json_object_set_new(e, "internal-port", json_integer(v.port2));
		proto = nat_json_get(in, "proto");
		if (proto)
			json_object_set_new(e, "proto", json_string(proto));
	}
	json_decref(in);
	body = json_dumps(e, JSON_COMPACT);
	json_decref(e);
	if (!body)
		return -ENOMEM;
	snprintf(path, sizeof(path), "rule/%s/entry/%lld", nat_kind_path[kind], (long long)(max + 1));
	snprintf(out, sizeof(out), "{\"id\":%lld}", (long long)(max + 1));
	rc = pcn_action_result(inst, out, path, body);
	free(body);
	return rc ? pcn_fail(inst, rc, "append: %s", strerror(-rc)) : 0;
}

static int nat_append_snat(struct pcn_instance *inst, const char *in) { return nat_append(inst, in, NAT_KIND_SNAT); }
static int nat_append_dnat(struct pcn_instance *inst, const char *in) { return nat_append(inst, in, NAT_KIND_DNAT); }
static int nat_append_pf(struct pcn_instance *inst, const char *in) { return nat_append(inst, in, NAT_KIND_PF); }

/* enable/disable: the enabled leaf, as a change of the configuration. */
static int nat_masq_enable(struct pcn_instance *inst, const char *in)
{
	(void)in;
	return pcn_action_result(inst, "{\"result\":true}", "rule/masquerade", "{\"enabled\":true}");
}

static int nat_masq_disable(struct pcn_instance *inst, const char *in)
{
	(void)in;
	return pcn_action_result(inst, "{\"result\":true}", "rule/masquerade", "{\"enabled\":false}");
}

/* ---- the parent: masquerade's address ------------------------------------------ */

static void nat_on_parent(struct pcn_instance *inst, const struct pcn_parent_info *parent)
{
	struct nat_cfg c;
	uint32_t ip = parent->name[0] && parent->n_ipv4 ? parent->ipv4[0] : 0;
	char a[INET_ADDRSTRLEN];

	if (nat_cfg_get(inst, &c) || c.masq_ip == ip)
		return;
	c.masq_ip = ip;
	if (nat_cfg_put(inst, &c)) {
		PCN_WARN("NAT-PARENT", "%s: cannot set masquerade's address", pcn_instance_name(inst));
		return;
	}
	inet_ntop(AF_INET, &ip, a, sizeof(a));
	PCN_INFO("NAT-PARENT", "%s: masquerade's address is %s (parent %s)", pcn_instance_name(inst),
		 ip ? a : "none", parent->name[0] ? parent->name : "none");
	/* Flows masqueraded to the old address would carry it on: gone. */
	nat__sweep(inst, NULL);
}

/* ---- the instance --------------------------------------------------------------- */

static int nat_on_create(struct pcn_instance *inst)
{
	struct nat_priv *p = calloc(1, sizeof(*p));
	struct pcn_parent_info parent;
	struct nat_cfg c;
	int rc;

	if (!p)
		return -ENOMEM;
	p->masq_leaf = -1;
	p->next = nat_all;
	nat_all = p;
	pcn_instance_set_priv(inst, p);
	/* A restarted process finds the pinned configuration (and the
	 * actions' masquerade) as it was: only a new instance gets defaults. */
	rc = nat_cfg_get(inst, &c);
	if (rc)
		return rc;
	if (!c.port_min) {
		c.port_min = (uint16_t)nat_env("NAT_PORT_MIN", 1024);
		c.port_max = (uint16_t)nat_env("NAT_PORT_MAX", 65535);
		if (c.port_max < c.port_min)
			c.port_max = c.port_min;
		rc = nat_cfg_put(inst, &c);
		if (rc)
			return rc;
	}
	/* A restarted process is not told its parent again until it changes:
	 * not knowing it is not being detached, and the pinned address
	 * (with the flows masqueraded to it) stays. */
	if (pcn_parent(inst, &parent) == 0)
		nat_on_parent(inst, &parent);
	rc = pcn_timer_start(inst, nat_env("NAT_SWEEP_MS", 2000), nat__sweep, NULL);
	return rc < 0 ? rc : 0;
}

static void nat_on_destroy(struct pcn_instance *inst)
{
	struct nat_priv *p = pcn_instance_priv(inst), **pp;

	for (pp = &nat_all; p && *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p)
		free(p->cfg);
	free(p);
	pcn_instance_set_priv(inst, NULL);
}

static const struct pcn_config_handler nat_handlers[] = {
	{ NULL },
};

static const struct pcn_state_handler nat_state[] = {
	{ "/nat:nat/natting-table", nat_read_table },
	{ NULL },
};

static const struct pcn_action_handler nat_actions[] = {
	{ "/nat:nat/rule/snat/append", nat_append_snat },
	{ "/nat:nat/rule/dnat/append", nat_append_dnat },
	{ "/nat:nat/rule/port-forwarding/append", nat_append_pf },
	{ "/nat:nat/rule/masquerade/enable", nat_masq_enable },
	{ "/nat:nat/rule/masquerade/disable", nat_masq_disable },
	{ NULL },
};

const struct pcn_cube_desc nat_desc = {
	.service = "nat",
	.version = "1.0.0",
	.description = "NAT: source NAT, masquerade, destination NAT and port forwarding with connection tracking",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_TRANSPARENT,
	.yang_module_name = "nat",
	.yang_module = nat_yang,
	.xdp_object = nat_xdp__elf_bytes,
	.tc_object = nat_tc__elf_bytes,
	.handlers = nat_handlers,
	.state = nat_state,
	.actions = nat_actions,
	.on_create = nat_on_create,
	.on_destroy = nat_on_destroy,
	.on_applied = nat_applied,
	.on_parent = nat_on_parent,
};

/* nat_test builds this file without main and drives nat_desc. */
#ifndef PCN_CUBE_NO_MAIN
int main(int argc, char **argv)
{
	return pcn_cube_main(&nat_desc, argc, argv);
}
#endif
