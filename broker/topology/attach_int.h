/* Shared by attach.c (stacks, REST, persistence) and attach_port.c (the
 * stacks of cube ports): a parent and its stack of transparent instances. */
#ifndef BROKER_ATTACH_INT_H
#define BROKER_ATTACH_INT_H

#include <bpf/libbpf.h>
#include <uv.h>

#include "topology/topology.h"
#include "pcn_transparent_kern_user.h"

#define ATTACH_MAX_STACK 16

struct tnetdev {
	struct tnetdev *next;
	int ifindex;           /* a netdev parent; 0 for a cube port */
	char name[2 * BROKER_NAME_MAX + 2]; /* the netdev, or "cube:port" */
	enum pcn_hook hook;
	struct broker_instance *stack[ATTACH_MAX_STACK];
	size_t n;
	__u32 parent;          /* the fast path's key: ifindex or pcn_tparent_port() */
	__u32 gen;             /* generation of pcn_tstack in use (pcn_tgen) */
	/* A cube port parent (attach_port.c). */
	struct broker_instance *cube;
	char port[BROKER_NAME_MAX];
	__u32 port_index;
	__u32 slot_in, slot_eg; /* PatchPanel slots of its stack entries; 0: none
				  * (a netdev: slot_eg for an XDP stack) */
	bool open;             /* the wires lead through the stack */
};

/* attach.c: the loaded entry objects and maps. */
struct attach_state {
	struct bpf_object *tc, *xdp;
	int tstack_fd, tgen_fd, tport_fd;
	struct tnetdev *devs;
	bool restoring; /* broker_attach_restore: ports not wired yet */
};

/* attach_parent.c: what was last told to each attached instance, and the
 * timer that looks for changes of its parent. */
struct parent_sent;
struct parent_poll {
	struct parent_sent *sent;
	uv_timer_t timer;
	bool started;
};

/* The topology's own state, owned by struct broker (b->topo). */
struct broker_topology {
	struct attach_state stacks;
	struct parent_poll parents;
};

/* attach.c */
int attach_ensure_loaded(struct broker *b);
/* Writes d's order under the generation not in use, then flips to it. */
void attach_stack_publish(struct broker *b, struct tnetdev *d);
/* d->gen from pcn_tgen (what an earlier broker left), 0 if none. */
void attach_stack_gen_load(struct broker *b, struct tnetdev *d);
struct tnetdev *attach_find(struct broker *b, const char *name);
/* Where to insert in d for position/other, or -1 with err set. */
int attach_insert_pos(const struct tnetdev *d, const char *position, const char *other, struct broker_error *err);
/* Puts inst at position at of d's stack (in memory only). */
void attach_insert(struct tnetdev *d, int at, struct broker_instance *inst);
/* The hooks that enter d's stack (a netdev's entry programs, a port's
 * slots). -EBUSY / -EOPNOTSUPP: another owner holds the netdev's XDP hook
 * (broker_netdev_why says which program), nothing attached. */
int attach_hook_attach(struct broker *b, struct tnetdev *d);
/* Unhooks, clears and frees d once its stack is empty. */
void attach_free_if_empty(struct broker *b, struct tnetdev *d);

/* attach_store.c: every stack into attachments.json. */
void attach_save(struct broker *b);

/* attach_port.c */
/* POST /attach of inst to "cube:port". */
int attach_to_port(struct broker *b, struct broker_instance *inst, const char *port, const char *position,
		   const char *other, struct broker_error *err);
/* Splits "cube:port" into d (cube, port, parent key); 400/404 in err. */
int attach_port_parse(struct broker *b, const char *name, struct tnetdev *d, struct broker_error *err);
/* Gives d its two entry slots, fills them and leads the port's wires
 * through the stack (after its entries are published). */
int attach_port_open(struct broker *b, struct tnetdev *d, uint32_t slot_in, uint32_t slot_eg);
/* Leads the wires straight again, then frees the entry slots (a netdev's
 * too). */
void attach_port_close(struct broker *b, struct tnetdev *d);
/* An XDP stack on a netdev: what the peered XDP cube sends out of it
 * (an XDP redirect, which skips TC egress) goes through an egress entry
 * slot (slot_eg) that runs the stack's XDP builds before the redirect. */
int attach_netdev_open(struct broker *b, struct tnetdev *d, uint32_t slot_eg);

#endif /* BROKER_ATTACH_INT_H */
