/* bridge: 802.1D spanning tree, pure logic (see bridge_stp.h).
 *
 * Simplified where the result is the same on a stable topology: every
 * designated port sends a configuration BPDU each hello time (not only
 * the root, relayed on reception), and topology-change BPDUs are not sent;
 * the caller flushes a VLAN's learned entries when its roles change. */
#include "bridge_stp.h"

#include <errno.h>
#include <string.h>

int stp_vector_cmp(const struct stp_vector *a, const struct stp_vector *b)
{
	if (a->root != b->root)
		return a->root < b->root ? -1 : 1;
	if (a->cost != b->cost)
		return a->cost < b->cost ? -1 : 1;
	if (a->bridge != b->bridge)
		return a->bridge < b->bridge ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

void stp_init(struct stp *s, uint64_t bridge_id, uint16_t hello, uint16_t max_age, uint16_t fwd_delay)
{
	memset(s, 0, sizeof(*s));
	s->bridge_id = bridge_id;
	s->hello = hello ? hello : 2;
	s->max_age = max_age ? max_age : 20;
	s->fwd_delay = fwd_delay ? fwd_delay : 15;
	s->root = bridge_id;
	s->root_port = -1;
}

int stp_port_set(struct stp *s, int port, int present, uint16_t id, uint32_t path_cost)
{
	struct stp_port *p;

	if (port < 0 || port >= STP_MAX_PORTS)
		return 0;
	p = &s->ports[port];
	if (!present) {
		if (!p->present)
			return 0;
		memset(p, 0, sizeof(*p));
		return 1;
	}
	if (p->present && p->id == id && p->path_cost == path_cost)
		return 0;
	if (!p->present) {
		memset(p, 0, sizeof(*p));
		p->present = 1;
		p->state = STP_BLOCKING;
	}
	p->id = id;
	p->path_cost = path_cost ? path_cost : 1;
	return 1;
}

/* The vector this bridge would send out of port p as its designated port. */
static struct stp_vector stp_ours(const struct stp *s, const struct stp_port *p)
{
	struct stp_vector v = { s->root, s->root_cost, s->bridge_id, p->id };

	return v;
}

int stp_recompute(struct stp *s)
{
	struct stp_vector best = { 0 };
	int best_port = -1, changed = 0;
	uint16_t best_id = 0;

	for (int i = 0; i < STP_MAX_PORTS; i++) {
		struct stp_port *p = &s->ports[i];
		struct stp_vector c;

		if (!p->present || !p->has_info || p->info.bridge == s->bridge_id || p->info.root >= s->bridge_id)
			continue;
		c = p->info;
		c.cost += p->path_cost;
		/* Ties between two ports hearing the same bridge port go to
		 * this bridge's lower port id. */
		if (best_port < 0 || stp_vector_cmp(&c, &best) < 0 ||
		    (stp_vector_cmp(&c, &best) == 0 && p->id < best_id)) {
			best = c;
			best_port = i;
			best_id = p->id;
		}
	}
	if (best_port >= 0) {
		s->root = best.root;
		s->root_cost = best.cost;
		s->root_port = best_port;
		s->root_msg_age = s->ports[best_port].info_age;
	} else {
		s->root = s->bridge_id;
		s->root_cost = 0;
		s->root_port = -1;
		s->root_msg_age = 0;
	}
	for (int i = 0; i < STP_MAX_PORTS; i++) {
		struct stp_port *p = &s->ports[i];
		struct stp_vector ours;
		enum stp_role role;

		if (!p->present)
			continue;
		ours = stp_ours(s, p);
		if (i == s->root_port)
			role = STP_ROLE_ROOT;
		else if (!p->has_info || stp_vector_cmp(&ours, &p->info) <= 0)
			role = STP_ROLE_DESIGNATED;
		else
			role = STP_ROLE_ALTERNATE;
		if (role != p->role) {
			changed = 1;
			p->role = role;
			if (role == STP_ROLE_ALTERNATE) {
				p->state = STP_BLOCKING;
				p->timer = 0;
			}
		}
	}
	return changed;
}

static void stp_send_one(struct stp *s, int i, stp_send_fn send, void *arg)
{
	struct stp_bpdu b = { .v = stp_ours(s, &s->ports[i]) };

	b.msg_age = s->root_port < 0 ? 0 : (uint16_t)(s->root_msg_age + 1);
	b.max_age = s->max_age;
	b.hello = s->hello;
	b.fwd_delay = s->fwd_delay;
	send(arg, i, &b);
}

int stp_rx(struct stp *s, int port, const struct stp_bpdu *b, stp_send_fn send, void *arg)
{
	struct stp_port *p;
	struct stp_vector ours;
	int changed;

	if (port < 0 || port >= STP_MAX_PORTS || !s->ports[port].present)
		return 0;
	p = &s->ports[port];
	if (b->v.bridge == s->bridge_id)
		return 0; /* our own, looped back */
	if (b->msg_age >= b->max_age)
		return 0; /* aged on the way */
	ours = stp_ours(s, p);
	/* Better than what the segment had, or news from its designated
	 * bridge port (which may have got worse): recorded. */
	if (!p->has_info || stp_vector_cmp(&b->v, &p->info) < 0 ||
	    (p->info.bridge == b->v.bridge && p->info.port == b->v.port)) {
		p->has_info = 1;
		p->info = b->v;
		p->info_age = b->msg_age;
		p->info_max_age = b->max_age;
	}
	changed = stp_recompute(s);
	/* A worse BPDU on our designated port: the sender learns better at
	 * once rather than at our next hello. */
	if (p->role == STP_ROLE_DESIGNATED && stp_vector_cmp(&ours, &b->v) < 0 && send)
		stp_send_one(s, port, send, arg);
	return changed;
}

int stp_tick(struct stp *s, stp_send_fn send, void *arg)
{
	int changed = 0;

	for (int i = 0; i < STP_MAX_PORTS; i++) {
		struct stp_port *p = &s->ports[i];

		if (!p->present || !p->has_info)
			continue;
		if (++p->info_age >= (p->info_max_age ? p->info_max_age : s->max_age))
			p->has_info = 0;
	}
	/* Also gives new ports their role. */
	if (stp_recompute(s))
		changed = 1;
	for (int i = 0; i < STP_MAX_PORTS; i++) {
		struct stp_port *p = &s->ports[i];
		enum stp_state before = p->state;

		if (!p->present)
			continue;
		p->timer++;
		if (p->role == STP_ROLE_ROOT || p->role == STP_ROLE_DESIGNATED) {
			if (p->state == STP_BLOCKING) {
				p->state = STP_LISTENING;
				p->timer = 0;
			} else if (p->state == STP_LISTENING && p->timer >= s->fwd_delay) {
				p->state = STP_LEARNING;
				p->timer = 0;
			} else if (p->state == STP_LEARNING && p->timer >= s->fwd_delay) {
				p->state = STP_FORWARDING;
				p->timer = 0;
			}
		} else {
			p->state = STP_BLOCKING;
		}
		if (p->state != before)
			changed = 1;
	}
	if (++s->hello_timer >= s->hello) {
		s->hello_timer = 0;
		for (int i = 0; i < STP_MAX_PORTS && send; i++)
			if (s->ports[i].present && s->ports[i].role == STP_ROLE_DESIGNATED)
				stp_send_one(s, i, send, arg);
	}
	return changed;
}

/* ---- the frames ------------------------------------------------------------ */

static const uint8_t stp_group[6] = { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x00 };

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

int stp_bpdu_parse(const uint8_t *f, size_t len, struct stp_bpdu *b)
{
	const uint8_t *d = f + 14 + 3; /* Ethernet (802.3 length), LLC 42 42 03 */

	if (len < 14 + 3 + 35 || memcmp(f, stp_group, 6) || f[14] != 0x42 || f[15] != 0x42 || f[16] != 0x03)
		return -EINVAL;
	if (get_be(d, 2) != 0 || d[3] != 0x00)
		return -EINVAL; /* protocol 0, configuration BPDU (RSTP's are type 2) */
	memset(b, 0, sizeof(*b));
	b->flags = d[4];
	b->v.root = get_be(d + 5, 8);
	b->v.cost = (uint32_t)get_be(d + 13, 4);
	b->v.bridge = get_be(d + 17, 8);
	b->v.port = (uint16_t)get_be(d + 25, 2);
	b->msg_age = (uint16_t)(get_be(d + 27, 2) >> 8);
	b->max_age = (uint16_t)(get_be(d + 29, 2) >> 8);
	b->hello = (uint16_t)(get_be(d + 31, 2) >> 8);
	b->fwd_delay = (uint16_t)(get_be(d + 33, 2) >> 8);
	return 0;
}

size_t stp_bpdu_build(const struct stp_bpdu *b, const uint8_t src[6], uint8_t out[60])
{
	uint8_t *d = out + 17;

	memset(out, 0, 60);
	memcpy(out, stp_group, 6);
	memcpy(out + 6, src, 6);
	put_be(out + 12, 3 + 35, 2); /* 802.3 length: LLC + BPDU */
	out[14] = 0x42;
	out[15] = 0x42;
	out[16] = 0x03;
	/* protocol 0, version 0, type 0 (configuration) */
	d[4] = b->flags;
	put_be(d + 5, b->v.root, 8);
	put_be(d + 13, b->v.cost, 4);
	put_be(d + 17, b->v.bridge, 8);
	put_be(d + 25, b->v.port, 2);
	put_be(d + 27, (uint64_t)b->msg_age << 8, 2);
	put_be(d + 29, (uint64_t)b->max_age << 8, 2);
	put_be(d + 31, (uint64_t)b->hello << 8, 2);
	put_be(d + 33, (uint64_t)b->fwd_delay << 8, 2);
	return 60;
}
