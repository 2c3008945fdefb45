/* pbforwarder: the rules of the configuration compiled into the table the
 * fast path scans. Pure logic (no BPF, no runtime): unit-tested alone. */
#ifndef PBFORWARDER_RULES_H
#define PBFORWARDER_RULES_H

#include <stddef.h>

#include "pbforwarder_shared.h"

/* One entry of the model's rules list, as its leaves' text (NULL: not set). */
struct pbf_rule_text {
	const char *id;
	const char *vlan;
	const char *src_mac;
	const char *dst_mac;
	const char *src_ip;
	const char *dst_ip;
	const char *l4_proto;
	const char *src_port;
	const char *dst_port;
	const char *in_port;
	const char *out_port;
	const char *action; /* NULL: DROP, the model's default */
};

/* The number of port `name` of the instance, or a negative errno when it
 * has no such port (yet). */
typedef int (*pbf_port_fn)(void *arg, const char *name);

struct pbf_compiled {
	struct pbf_rule rules[PBF_MAX_RULES]; /* sorted by id */
	size_t n;
	/* Rules that name a port the instance does not have: an in_port
	 * (left out, it cannot match) or a FORWARD's out_port (kept, as a
	 * DROP, so that what it matches does not fall to a later rule). */
	size_t unresolved;
};

/* Compiles n rules into *out. 0, or -EINVAL with the reason in err (what
 * Polycube refuses too: FORWARD without out_port, an L4 port without
 * l4_proto; a value that does not parse; more than PBF_MAX_RULES). */
int pbf_compile(const struct pbf_rule_text *in, size_t n, pbf_port_fn port, void *arg,
		struct pbf_compiled *out, char *err, size_t errlen);

/* "AA:BB:CC:DD:EE:FF" -> its 6 bytes in the first bytes of a zeroed
 * __u64, as the fast path reads them. 0 or -EINVAL. */
int pbf_parse_mac(const char *s, __u64 *mac);

#endif /* PBFORWARDER_RULES_H */
