/* bridge: spanning tree (IEEE 802.1D, configuration BPDUs), one instance
 * per VLAN as Polycube's model has it, run by the slow path on a one
 * second tick. Pure logic: no maps, no runtime (bridge_stp_test.c drives
 * three bridges in a loop through it). */
#ifndef BRIDGE_STP_H
#define BRIDGE_STP_H

#include <stddef.h>
#include <stdint.h>

#define STP_MAX_PORTS 256

/* Port states, numbered as the model's enumeration. */
enum stp_state {
	STP_DISABLED = 0,
	STP_BLOCKING = 1,
	STP_LISTENING = 2,
	STP_LEARNING = 3,
	STP_FORWARDING = 4,
};

enum stp_role {
	STP_ROLE_NONE = 0,
	STP_ROLE_ROOT = 1,
	STP_ROLE_DESIGNATED = 2,
	STP_ROLE_ALTERNATE = 3,
};

/* A priority vector: smaller is better, compared in this order. Bridge
 * ids are priority << 48 | MAC; port ids priority << 8 | number. */
struct stp_vector {
	uint64_t root;
	uint32_t cost;
	uint64_t bridge;
	uint16_t port;
};

/* A configuration BPDU (times in seconds). */
struct stp_bpdu {
	struct stp_vector v;
	uint8_t flags;
	uint16_t msg_age, max_age, hello, fwd_delay;
};

struct stp_port {
	int present;
	uint16_t id;
	uint32_t path_cost;
	int has_info;          /* the segment's designated info, heard in a BPDU */
	struct stp_vector info;
	uint16_t info_age;     /* its message age, counted on */
	uint16_t info_max_age;
	enum stp_role role;
	enum stp_state state;
	uint16_t timer;        /* seconds in the current state */
};

struct stp {
	uint64_t bridge_id;
	uint16_t hello, max_age, fwd_delay;
	uint64_t root;
	uint32_t root_cost;
	int root_port;         /* -1: this bridge is the root */
	uint16_t root_msg_age;
	uint16_t hello_timer;
	struct stp_port ports[STP_MAX_PORTS];
};

/* What stp_tick and stp_rx ask of the caller: send b out of port. */
typedef void (*stp_send_fn)(void *arg, int port, const struct stp_bpdu *b);

int stp_vector_cmp(const struct stp_vector *a, const struct stp_vector *b);

/* A new instance (every port absent) with these timers. */
void stp_init(struct stp *s, uint64_t bridge_id, uint16_t hello, uint16_t max_age, uint16_t fwd_delay);
/* Adds (blocking, to move on through listening and learning), updates or
 * (present 0) removes a port; returns 1 when roles may have changed. */
int stp_port_set(struct stp *s, int port, int present, uint16_t id, uint32_t path_cost);
/* Computes root, roles; an alternate port blocks at once. Returns 1 when
 * any port's role changed. */
int stp_recompute(struct stp *s);
/* A BPDU received on port; returns 1 when roles changed. */
int stp_rx(struct stp *s, int port, const struct stp_bpdu *b, stp_send_fn send, void *arg);
/* One second: ages what ports heard, moves states on, sends the hellos of
 * designated ports. Returns 1 when any port's state changed. */
int stp_tick(struct stp *s, stp_send_fn send, void *arg);

/* The BPDU of a frame (after its Ethernet header, any tag removed): 0, or
 * -EINVAL when it is not a configuration BPDU. */
int stp_bpdu_parse(const uint8_t *frame, size_t len, struct stp_bpdu *b);
/* An untagged frame of b from src to 01:80:c2:00:00:00 into out (60
 * bytes); returns its length. */
size_t stp_bpdu_build(const struct stp_bpdu *b, const uint8_t src[6], uint8_t out[60]);

#endif /* BRIDGE_STP_H */
