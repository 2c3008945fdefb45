/* bridge: pure logic of the control plane (see bridge_frame.h). */
#include "bridge_frame.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ETH_ALEN_2 12 /* both MAC addresses */
#define ETH_HLEN_ 14
#define TPID_8021Q 0x8100

void bridge_port_add_vlan(struct bridge_port *p, unsigned vlan)
{
	if (vlan && vlan < BRIDGE_VLAN_MAX) {
		p->vlans[vlan >> 6] |= 1ull << (vlan & 63);
		p->fwd[vlan >> 6] |= 1ull << (vlan & 63);
	}
}

void bridge_port_set_state(struct bridge_port *p, unsigned vlan, int learn, int fwd)
{
	uint64_t bit = 1ull << (vlan & 63);

	if (!vlan || vlan >= BRIDGE_VLAN_MAX)
		return;
	p->vlans[vlan >> 6] = learn ? p->vlans[vlan >> 6] | bit : p->vlans[vlan >> 6] & ~bit;
	p->fwd[vlan >> 6] = fwd ? p->fwd[vlan >> 6] | bit : p->fwd[vlan >> 6] & ~bit;
}

int bridge_port_fwd(const struct bridge_port *p, unsigned vlan)
{
	if (!vlan || vlan >= BRIDGE_VLAN_MAX)
		return 0;
	return (int)((p->fwd[vlan >> 6] >> (vlan & 63)) & 1);
}

int bridge_port_has_vlan(const struct bridge_port *p, unsigned vlan)
{
	if (!vlan || vlan >= BRIDGE_VLAN_MAX)
		return 0;
	return (int)((p->vlans[vlan >> 6] >> (vlan & 63)) & 1);
}

int bridge_port_wants_tag(const struct bridge_port *p, unsigned vlan)
{
	return p->mode == BRIDGE_PORT_TRUNK && vlan != p->pvid;
}

void bridge_port_access(struct bridge_port *p, unsigned vlan)
{
	memset(p, 0, sizeof(*p));
	p->mode = BRIDGE_PORT_ACCESS;
	p->pvid = (uint16_t)vlan;
	bridge_port_add_vlan(p, vlan);
}

void bridge_port_trunk(struct bridge_port *p, const uint16_t *allowed, size_t n, unsigned native)
{
	memset(p, 0, sizeof(*p));
	p->mode = BRIDGE_PORT_TRUNK;
	p->pvid = (uint16_t)native;
	for (size_t i = 0; i < n; i++)
		bridge_port_add_vlan(p, allowed[i]);
	bridge_port_add_vlan(p, native);
}

void bridge_flood_list(const struct bridge_port *ports, size_t n, unsigned vlan, struct bridge_flood *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t p = 0; p < n; p++) {
		if (ports[p].mode == BRIDGE_PORT_NONE || !bridge_port_fwd(&ports[p], vlan))
			continue;
		if (out->n == BRIDGE_FLOOD_FAST) {
			out->n = 0;
			out->slow = 1;
			return;
		}
		out->e[out->n].port = (uint16_t)p;
		out->e[out->n].tagged = (uint16_t)bridge_port_wants_tag(&ports[p], vlan);
		out->n++;
	}
}

size_t bridge_frame_for_port(const uint8_t *in, size_t len, int tagged, unsigned vlan, uint8_t *out)
{
	size_t skip = 0, n = 0;

	if (len < ETH_HLEN_)
		return 0;
	if (((in[12] << 8) | in[13]) == TPID_8021Q) {
		if (len < ETH_HLEN_ + 4)
			return 0;
		skip = 4;
	}
	memcpy(out, in, ETH_ALEN_2);
	n = ETH_ALEN_2;
	if (tagged) {
		out[n++] = TPID_8021Q >> 8;
		out[n++] = TPID_8021Q & 0xff;
		out[n++] = (uint8_t)((vlan >> 8) & 0x0f);
		out[n++] = (uint8_t)(vlan & 0xff);
	}
	memcpy(out + n, in + ETH_ALEN_2 + skip, len - ETH_ALEN_2 - skip);
	return n + len - ETH_ALEN_2 - skip;
}

int bridge_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -EINVAL;
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

void bridge_mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}
