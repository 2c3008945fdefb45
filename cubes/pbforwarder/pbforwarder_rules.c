/* pbforwarder: compiling the model's rules into the fast path's table. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbforwarder_rules.h"

int pbf_parse_mac(const char *s, __u64 *mac)
{
	unsigned char b[6];
	char tail;

	if (!s || sscanf(s, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
			 &tail) != 6)
		return -EINVAL;
	*mac = 0;
	memcpy(mac, b, sizeof(b));
	return 0;
}

/* A decimal number in [0, max]. */
static int pbf_parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno || *end || *v > max)
		return -EINVAL;
	return 0;
}

static int pbf_by_id(const void *a, const void *b)
{
	const struct pbf_rule *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

#define PBF_BAD(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

/* One rule into *r. 1 when it is kept, 0 when it cannot match (its
 * in_port is not a port), or -EINVAL. */
static int pbf_compile_one(const struct pbf_rule_text *t, pbf_port_fn port, void *arg, struct pbf_rule *r,
			   size_t *unresolved, char *err, size_t errlen)
{
	unsigned long v;
	struct in_addr a;
	int idx;

	memset(r, 0, sizeof(*r));
	if (pbf_parse_uint(t->id, UINT32_MAX, &v))
		return PBF_BAD("rule id '%s' is not a number", t->id ? t->id : "");
	r->id = (__u32)v;
	if (!t->action || strcmp(t->action, "DROP") == 0)
		r->action = PBF_ACTION_DROP;
	else if (strcmp(t->action, "SLOWPATH") == 0)
		r->action = PBF_ACTION_SLOWPATH;
	else if (strcmp(t->action, "FORWARD") == 0)
		r->action = PBF_ACTION_FORWARD;
	else
		return PBF_BAD("rule %u: unknown action %s", r->id, t->action);
	if (r->action == PBF_ACTION_FORWARD && (!t->out_port || !*t->out_port))
		return PBF_BAD("rule %u: FORWARD needs out_port", r->id);
	if ((t->src_port || t->dst_port) && !t->l4_proto)
		return PBF_BAD("rule %u: src_port and dst_port need l4_proto", r->id);

	if (t->src_mac) {
		if (pbf_parse_mac(t->src_mac, &r->src_mac))
			return PBF_BAD("rule %u: bad src_mac %s", r->id, t->src_mac);
		r->flags |= PBF_M_SRC_MAC;
	}
	if (t->dst_mac) {
		if (pbf_parse_mac(t->dst_mac, &r->dst_mac))
			return PBF_BAD("rule %u: bad dst_mac %s", r->id, t->dst_mac);
		r->flags |= PBF_M_DST_MAC;
	}
	if (t->vlan) {
		if (pbf_parse_uint(t->vlan, 4095, &v))
			return PBF_BAD("rule %u: vlan %s is not in 0..4095", r->id, t->vlan);
		r->vlan = (__u16)v;
		r->flags |= PBF_M_VLAN;
	}
	if (t->src_ip) {
		if (inet_pton(AF_INET, t->src_ip, &a) != 1)
			return PBF_BAD("rule %u: bad src_ip %s", r->id, t->src_ip);
		r->src_ip = a.s_addr;
		r->flags |= PBF_M_SRC_IP;
	}
	if (t->dst_ip) {
		if (inet_pton(AF_INET, t->dst_ip, &a) != 1)
			return PBF_BAD("rule %u: bad dst_ip %s", r->id, t->dst_ip);
		r->dst_ip = a.s_addr;
		r->flags |= PBF_M_DST_IP;
	}
	if (t->l4_proto) {
		if (strcmp(t->l4_proto, "TCP") == 0)
			r->l4proto = IPPROTO_TCP;
		else if (strcmp(t->l4_proto, "UDP") == 0)
			r->l4proto = IPPROTO_UDP;
		else
			return PBF_BAD("rule %u: unknown l4_proto %s", r->id, t->l4_proto);
		r->flags |= PBF_M_L4PROTO;
	}
	if (t->src_port) {
		if (pbf_parse_uint(t->src_port, 65535, &v))
			return PBF_BAD("rule %u: bad src_port %s", r->id, t->src_port);
		r->src_port = htons((uint16_t)v);
		r->flags |= PBF_M_SRC_PORT;
	}
	if (t->dst_port) {
		if (pbf_parse_uint(t->dst_port, 65535, &v))
			return PBF_BAD("rule %u: bad dst_port %s", r->id, t->dst_port);
		r->dst_port = htons((uint16_t)v);
		r->flags |= PBF_M_DST_PORT;
	}
	if (t->in_port) {
		idx = port(arg, t->in_port);
		if (idx < 0) {
			(*unresolved)++;
			return 0;
		}
		r->in_port = (__u32)idx;
		r->flags |= PBF_M_IN_PORT;
	}
	if (r->action == PBF_ACTION_FORWARD) {
		idx = port(arg, t->out_port);
		if (idx < 0) {
			(*unresolved)++;
			r->action = PBF_ACTION_DROP;
		} else {
			r->out_port = (__u32)idx;
		}
	}
	return 1;
}

int pbf_compile(const struct pbf_rule_text *in, size_t n, pbf_port_fn port, void *arg,
		struct pbf_compiled *out, char *err, size_t errlen)
{
	size_t i;
	int rc;

	out->n = 0;
	out->unresolved = 0;
	if (n > PBF_MAX_RULES)
		return PBF_BAD("%zu rules: at most %d", n, PBF_MAX_RULES);
	for (i = 0; i < n; i++) {
		rc = pbf_compile_one(&in[i], port, arg, &out->rules[out->n], &out->unresolved, err, errlen);
		if (rc < 0)
			return rc;
		out->n += (size_t)rc;
	}
	qsort(out->rules, out->n, sizeof(out->rules[0]), pbf_by_id);
	return 0;
}
