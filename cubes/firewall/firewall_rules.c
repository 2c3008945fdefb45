/* firewall: the rule parser and the LBVS compiler (firewall_rules.h). */
#include "firewall_rules.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int fw_proto_parse(const char *s)
{
	char *end;
	long v;

	if (!strcasecmp(s, "TCP"))
		return 6;
	if (!strcasecmp(s, "UDP"))
		return 17;
	if (!strcasecmp(s, "ICMP"))
		return 1;
	if (!isdigit((unsigned char)s[0]))
		return -1;
	v = strtol(s, &end, 10);
	return *end || v < 0 || v > 255 ? -1 : (int)v;
}

int fw_action_parse(const char *s)
{
	static const char *const names[] = { "DROP", "LOG", "FORWARD", "ACCEPT" };

	for (int i = 0; i < 4; i++)
		if (!strcasecmp(s, names[i]))
			return i;
	return -1;
}

static int parse_prefix(const char *s, uint32_t *addr, uint8_t *len)
{
	char buf[32], *slash;
	struct in_addr a;
	long l = 32;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		char *end;

		*slash = '\0';
		if (!isdigit((unsigned char)slash[1]))
			return -1;
		l = strtol(slash + 1, &end, 10);
		if (*end || l < 0 || l > 32)
			return -1;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*len = (uint8_t)l;
	*addr = l ? a.s_addr & htonl(~0u << (32 - l)) : 0;
	return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int parse_flags(const char *s, uint8_t *mask, uint8_t *val)
{
	static const struct {
		const char *name;
		uint8_t bit;
	} f[] = { { "FIN", 0x01 }, { "SYN", 0x02 }, { "RST", 0x04 }, { "PSH", 0x08 },
		  { "ACK", 0x10 }, { "URG", 0x20 }, { "ECE", 0x40 }, { "CWR", 0x80 } };
	char buf[128], *tok, *save;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	*mask = *val = 0;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		int neg = tok[0] == '!', found = 0;

		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			if (!strcasecmp(tok + neg, f[i].name)) {
				if (*mask & f[i].bit)
					return -1; /* named twice */
				*mask |= f[i].bit;
				if (!neg)
					*val |= f[i].bit;
				found = 1;
			}
		if (!found)
			return -1;
	}
	return *mask ? 0 : -1;
}

int fw_rule_parse(const struct fw_rule_text *t, struct fw_rule *r, char *err, size_t errlen)
{
	static const char *const ct[] = { "NEW", "ESTABLISHED", "RELATED", "INVALID" };
	const char *id = t->id ? t->id : "?";
	int v;

	memset(r, 0, sizeof(*r));
	r->id = t->id ? (uint32_t)strtoul(t->id, NULL, 10) : 0;
	if (t->src) {
		if (parse_prefix(t->src, &r->src, &r->src_len))
			goto bad_src;
		if (r->src_len)
			r->has |= 1u << FW_F_SRC;
	}
	if (t->dst) {
		if (parse_prefix(t->dst, &r->dst, &r->dst_len)) {
			snprintf(err, errlen, "rule %s: dst '%s' is not an IPv4 address or prefix (a.b.c.d[/0-32])", id,
				 t->dst);
			return -EINVAL;
		}
		if (r->dst_len)
			r->has |= 1u << FW_F_DST;
	}
	if (t->l4proto) {
		if ((v = fw_proto_parse(t->l4proto)) < 0) {
			snprintf(err, errlen, "rule %s: l4proto '%s' is unknown (TCP, UDP, ICMP or 0-255)", id,
				 t->l4proto);
			return -EINVAL;
		}
		r->proto = (uint8_t)v;
		r->has |= 1u << FW_F_PROTO;
	}
	if (t->sport) {
		if (parse_port(t->sport, &r->sport)) {
			snprintf(err, errlen, "rule %s: sport '%s' is not a port (0-65535)", id, t->sport);
			return -EINVAL;
		}
		r->has |= 1u << FW_F_SPORT;
	}
	if (t->dport) {
		if (parse_port(t->dport, &r->dport)) {
			snprintf(err, errlen, "rule %s: dport '%s' is not a port (0-65535)", id, t->dport);
			return -EINVAL;
		}
		r->has |= 1u << FW_F_DPORT;
	}
	if ((r->has & (1u << FW_F_SPORT | 1u << FW_F_DPORT)) && (r->has & (1u << FW_F_PROTO)) && r->proto != 6 &&
	    r->proto != 17) {
		snprintf(err, errlen, "rule %s: ports need l4proto TCP or UDP", id);
		return -EINVAL;
	}
	if (t->tcpflags) {
		if (parse_flags(t->tcpflags, &r->flags_mask, &r->flags_val)) {
			snprintf(err, errlen,
				 "rule %s: tcpflags '%s': a comma-separated list of SYN, FIN, ACK, RST, PSH, URG, "
				 "CWR, ECE, each once, ! for clear",
				 id, t->tcpflags);
			return -EINVAL;
		}
		r->has |= 1u << FW_F_FLAGS;
	}
	if (t->conntrack) {
		r->ct = 0xff;
		for (int i = 0; i < 4; i++)
			if (!strcasecmp(t->conntrack, ct[i]))
				r->ct = (uint8_t)i;
		if (r->ct == 0xff) {
			snprintf(err, errlen, "rule %s: conntrack '%s' is unknown", id, t->conntrack);
			return -EINVAL;
		}
		r->has |= 1u << FW_F_CT;
	}
	v = t->action ? fw_action_parse(t->action) : FW_DROP;
	if (v < 0) {
		snprintf(err, errlen, "rule %s: action '%s' is unknown", id, t->action);
		return -EINVAL;
	}
	r->action = (uint8_t)v;
	return 0;
bad_src:
	snprintf(err, errlen, "rule %s: src '%s' is not an IPv4 address or prefix (a.b.c.d[/0-32])", id, t->src);
	return -EINVAL;
}

static int prefix_contains(uint32_t net, uint8_t len, uint32_t addr)
{
	return !len || ((ntohl(net) ^ ntohl(addr)) >> (32 - len)) == 0;
}

int fw_rule_matches(const struct fw_rule *r, uint32_t saddr, uint32_t daddr, uint8_t proto, int has_ports,
		    uint16_t sport, uint16_t dport, int flags, uint32_t label)
{
	if ((r->has & (1u << FW_F_SRC)) && !prefix_contains(r->src, r->src_len, saddr))
		return 0;
	if ((r->has & (1u << FW_F_DST)) && !prefix_contains(r->dst, r->dst_len, daddr))
		return 0;
	if ((r->has & (1u << FW_F_PROTO)) && r->proto != proto)
		return 0;
	if ((r->has & (1u << FW_F_SPORT)) && (!has_ports || r->sport != sport))
		return 0;
	if ((r->has & (1u << FW_F_DPORT)) && (!has_ports || r->dport != dport))
		return 0;
	if ((r->has & (1u << FW_F_FLAGS)) && (flags < 0 || ((uint8_t)flags & r->flags_mask) != r->flags_val))
		return 0;
	if ((r->has & (1u << FW_F_CT)) && r->ct != label)
		return 0;
	return 1;
}

static void bv_set(struct fw_bv *bv, size_t i)
{
	bv->w[i / 64] |= 1ULL << (i % 64);
}

/* Index of (field, value) in out->exact, added with the field's wildcard
 * vector if new; -1 when out of memory. */
static long exact_get(struct fw_compiled *out, size_t *cap, uint8_t field, uint32_t value)
{
	for (size_t i = 0; i < out->n_exact; i++)
		if (out->exact[i].field == field && out->exact[i].value == value)
			return (long)i;
	if (out->n_exact == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct fw_exact_entry *e = realloc(out->exact, c * sizeof(*e));

		if (!e)
			return -1;
		out->exact = e;
		*cap = c;
	}
	out->exact[out->n_exact].field = field;
	out->exact[out->n_exact].value = value;
	out->exact[out->n_exact].bv = out->wild[field];
	return (long)out->n_exact++;
}

int fw_compile(const struct fw_rule *rules, size_t n, struct fw_compiled *out)
{
	size_t cap = 0, lcap = 0;

	memset(out, 0, sizeof(*out));
	if (n > FW_MAX_RULES)
		return -E2BIG;
	out->nrules = n;
	for (size_t i = 0; i < n; i++) {
		bv_set(&out->all, i);
		out->used |= rules[i].has;
		for (int f = 0; f < FW_NFIELDS; f++)
			if (!(rules[i].has & (1u << f)))
				bv_set(&out->wild[f], i);
	}
	/* Exact fields: each value some rule names gets the wildcard rules
	 * plus the rules naming that value. A hash from value to entry would
	 * be quicker than the linear search; the number of distinct values
	 * is small in practice, and 5,000 distinct ports still compile in
	 * tens of ms. */
	for (size_t i = 0; i < n; i++) {
		const struct fw_rule *r = &rules[i];
		long e;

		if (r->has & (1u << FW_F_PROTO)) {
			if ((e = exact_get(out, &cap, FW_F_PROTO, r->proto)) < 0)
				goto nomem;
			bv_set(&out->exact[e].bv, i);
		}
		if (r->has & (1u << FW_F_SPORT)) {
			if ((e = exact_get(out, &cap, FW_F_SPORT, r->sport)) < 0)
				goto nomem;
			bv_set(&out->exact[e].bv, i);
		}
		if (r->has & (1u << FW_F_DPORT)) {
			if ((e = exact_get(out, &cap, FW_F_DPORT, r->dport)) < 0)
				goto nomem;
			bv_set(&out->exact[e].bv, i);
		}
		if (r->has & (1u << FW_F_CT)) {
			if ((e = exact_get(out, &cap, FW_F_CT, r->ct)) < 0)
				goto nomem;
			bv_set(&out->exact[e].bv, i);
		}
	}
	/* Flags: every byte value, when some rule names flags. */
	if (out->used & (1u << FW_F_FLAGS))
		for (uint32_t v = 0; v < 256; v++) {
			long e = exact_get(out, &cap, FW_F_FLAGS, v);

			if (e < 0)
				goto nomem;
			for (size_t i = 0; i < n; i++)
				if ((rules[i].has & (1u << FW_F_FLAGS)) &&
				    ((uint8_t)v & rules[i].flags_mask) == rules[i].flags_val)
					bv_set(&out->exact[e].bv, i);
		}
	/* Prefixes: each distinct prefix P gets the wildcard rules and every
	 * rule whose prefix contains P; a longest-prefix match then finds
	 * exactly the rules whose prefix contains the address (prefixes that
	 * contain one address are nested). */
	for (int f = FW_F_SRC; f <= FW_F_DST; f++) {
		uint32_t *keys = malloc((n ? n : 1) * sizeof(*keys));
		size_t nk = 0;

		if (!keys)
			goto nomem;
		for (size_t i = 0; i < n; i++)
			if (rules[i].has & (1u << f))
				keys[nk++] = (uint32_t)i; /* the rules naming the field */
		for (size_t k = 0; k < nk; k++) {
			const struct fw_rule *r = &rules[keys[k]];
			uint32_t a = f == FW_F_SRC ? r->src : r->dst;
			uint8_t l = f == FW_F_SRC ? r->src_len : r->dst_len;
			struct fw_lpm_entry *e = NULL;

			for (size_t j = 0; j < out->n_lpm; j++)
				if (out->lpm[j].field == f && out->lpm[j].addr == a && out->lpm[j].len == l) {
					e = &out->lpm[j];
					break;
				}
			if (e)
				continue;
			if (out->n_lpm == lcap) {
				size_t c = lcap ? lcap * 2 : 64;
				struct fw_lpm_entry *ne = realloc(out->lpm, c * sizeof(*ne));

				if (!ne) {
					free(keys);
					goto nomem;
				}
				out->lpm = ne;
				lcap = c;
			}
			e = &out->lpm[out->n_lpm++];
			e->field = (uint8_t)f;
			e->addr = a;
			e->len = l;
			e->bv = out->wild[f];
			for (size_t j = 0; j < nk; j++) {
				const struct fw_rule *q = &rules[keys[j]];
				uint32_t qa = f == FW_F_SRC ? q->src : q->dst;
				uint8_t ql = f == FW_F_SRC ? q->src_len : q->dst_len;

				if (ql <= l && prefix_contains(qa, ql, a))
					bv_set(&e->bv, keys[j]);
			}
		}
		free(keys);
	}
	return 0;
nomem:
	fw_compiled_free(out);
	return -ENOMEM;
}

void fw_compiled_free(struct fw_compiled *c)
{
	free(c->lpm);
	free(c->exact);
	c->lpm = NULL;
	c->exact = NULL;
	c->n_lpm = c->n_exact = 0;
}
