/* The injector of packets out into instances (inject.c). */
#ifndef BROKER_INJECT_H
#define BROKER_INJECT_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane.h"
#include "pcn_kern_user.h"

struct broker_inject;

/* create/destroy (heap): loads both builds of bpf/pcn_inject.bpf.c (sharing
 * the maps pinned under <bpffs_root>/shared) and, for TC, makes a veth pair
 * named pcnj<pid>a/b with the TC build on b's ingress. Without the pair
 * (no permission, name taken) TC injection fails and XDP still works.
 * destroy deletes the pair; accepts NULL. */
int broker_inject_create(struct broker_inject **out, const char *bpffs_root);
void broker_inject_destroy(struct broker_inject *inj);
/* Deletes the injector veth pairs an earlier broker of the mesh rooted at
 * bpffs_root left behind (killed before it could); other meshes' stay. */
void broker_inject_sweep(const char *bpffs_root);
/* Runs the frame into port `port` of the instance in PatchPanel slot
 * `index`, whose fast path runs on `hook`, as if it had just arrived there. */
int broker_inject(struct broker_inject *inj, enum pcn_hook hook, uint32_t index, uint32_t port,
		  const void *data, size_t len);
/* The pcn_fwd entry of (index, port): -ENOENT when the port has no peer. */
int broker_inject_peer(struct broker_inject *inj, uint32_t index, uint32_t port, struct pcn_fwd_val *out);

#endif /* BROKER_INJECT_H */
