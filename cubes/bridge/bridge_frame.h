/* bridge: the control plane's pure logic (no maps, no runtime): VLAN
 * membership of a port, the frame a port is sent, MAC text. Unit-tested
 * by bridge_frame_test.c. */
#ifndef BRIDGE_FRAME_H
#define BRIDGE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "bridge_shared.h"

/* Frames the slow path floods are at most this long (a tag added). */
#define BRIDGE_FRAME_MAX (9000 + 4)

/* Makes the port a member of vlan, learning and forwarding. */
void bridge_port_add_vlan(struct bridge_port *p, unsigned vlan);
/* Whether the port is a member of vlan that learns (has_vlan), forwards. */
int bridge_port_has_vlan(const struct bridge_port *p, unsigned vlan);
int bridge_port_fwd(const struct bridge_port *p, unsigned vlan);
/* Spanning tree: whether the port learns and forwards in vlan. */
void bridge_port_set_state(struct bridge_port *p, unsigned vlan, int learn, int fwd);
/* Whether frames of vlan leave the port tagged (a trunk's VLANs but its
 * native one). */
int bridge_port_wants_tag(const struct bridge_port *p, unsigned vlan);
/* Makes an access port of VLAN vlan, or a trunk carrying allowed[0..n-1]
 * tagged and native untagged (native 0: untagged frames are dropped). */
void bridge_port_access(struct bridge_port *p, unsigned vlan);
void bridge_port_trunk(struct bridge_port *p, const uint16_t *allowed, size_t n, unsigned native);

/* The flood list of VLAN vlan: its forwarding ports among ports[0..n-1] in
 * order, each with whether it wants the VLAN tagged; past
 * BRIDGE_FLOOD_FAST ports, n stays 0 and slow is set. */
void bridge_flood_list(const struct bridge_port *ports, size_t n, unsigned vlan, struct bridge_flood *out);

/* The frame to send out of a port for VLAN vlan: in (len bytes, tagged in
 * its bytes or not) without its tag, then with a tag of vlan when tagged
 * is set. out holds len + 4 bytes. Returns the new length, or 0 when in
 * is not a whole Ethernet frame. */
size_t bridge_frame_for_port(const uint8_t *in, size_t len, int tagged, unsigned vlan, uint8_t *out);

/* "aa:bb:cc:dd:ee:ff" (either case) -> 6 bytes: 0, or -EINVAL. */
int bridge_mac_parse(const char *s, uint8_t mac[6]);
/* 6 bytes -> lower-case text (18 bytes with the NUL). */
void bridge_mac_format(const uint8_t mac[6], char out[18]);

#endif /* BRIDGE_FRAME_H */
