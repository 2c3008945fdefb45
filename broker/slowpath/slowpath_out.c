/* Packets out: PacketOutBatch from the cube processes on slowpath.sock,
 * sent out of netdevs (AF_PACKET, sendmmsg) or into instances through the
 * injector (inject.c). See slowpath.c for the whole picture. */
#include <errno.h>
#include <net/ethernet.h>
#include <string.h>

#include "log.h"
#include "slowpath_int.h"
#include "ipc.h"

/* ---- packets out ----------------------------------------------------------- */

/* Sends the frames queued for netdevs: one sendmmsg per SP_MMSG frames
 * instead of a sendto each (AF_PACKET, ~2.3 us a frame here, most of it
 * per call). A frame the kernel refuses is counted and skipped. */
static void flush_netdev(struct broker_slowpath *sp)
{
	unsigned done = 0;

	while (done < sp->n_mm) {
		int n = sendmmsg(sp->pkt_fd, sp->mm + done, sp->n_mm - done, MSG_DONTWAIT);

		if (n <= 0) {
			sp->mm_ctr[done++]->out_errors++;
			continue;
		}
		for (int i = 0; i < n; i++)
			sp->mm_ctr[done + (unsigned)i]->out++;
		done += (unsigned)n;
	}
	sp->n_mm = 0;
}

/* Queues a frame out of a netdev (sent by flush_netdev). */
static void send_netdev(struct broker_slowpath *sp, int ifindex, const Cubemesh__PacketOut *po,
			struct broker_sp_counters *c)
{
	unsigned k;

	if (sp->n_mm == SP_MMSG)
		flush_netdev(sp);
	k = sp->n_mm++;
	sp->sll[k] = (struct sockaddr_ll){ .sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = ETH_ALEN };
	memcpy(sp->sll[k].sll_addr, po->data.data, ETH_ALEN);
	sp->iov[k] = (struct iovec){ .iov_base = po->data.data, .iov_len = po->data.len };
	sp->mm[k] = (struct mmsghdr){ .msg_hdr = { .msg_name = &sp->sll[k], .msg_namelen = sizeof(sp->sll[k]),
						  .msg_iov = &sp->iov[k], .msg_iovlen = 1 } };
	sp->mm_ctr[k] = c;
}

/* EGRESS: out of the port toward its peer (a netdev, or a cube port, which
 * then receives it as ingress). INGRESS: into the instance itself, as if it
 * had arrived on the port. from: the service whose token the batch
 * carried (NULL: none); only its own instances are served. */
static void packet_out(struct broker_slowpath *sp, const struct broker_service *from, const Cubemesh__PacketOut *po)
{
	struct broker_instance *inst = broker_instance_find(sp->b, po->instance), *peer_inst;
	struct broker_port *port = NULL;
	struct broker_sp_counters *c;
	struct pcn_fwd_val peer;
	int rc;

	if (!inst) {
		sp->g.out_no_target++;
		return;
	}
	if (!from || strcmp(from->name, inst->service) != 0) {
		sp->g.out_forbidden++;
		broker_forbidden_log(sp->b, "send a packet out", from ? from->name : NULL, inst->name, inst->service);
		return;
	}
	if (inst->index >= PCN_MAX_CUBES)
		return;
	c = &sp->ctr[inst->index];
	for (size_t k = 0; k < inst->n_ports; k++)
		if (inst->ports[k].index == po->port)
			port = &inst->ports[k];
	/* A frame no netdev or injector takes is refused here, where it is
	 * counted, not deep in a send. */
	if (!port || port->index >= PCN_MAX_PORTS || po->data.len < ETH_HLEN || po->data.len > SP_MAX_FRAME ||
	    (po->direction != CUBEMESH__DIRECTION__DIR_INGRESS && po->direction != CUBEMESH__DIRECTION__DIR_EGRESS)) {
		c->out_errors++;
		return;
	}
	if (po->direction == CUBEMESH__DIRECTION__DIR_INGRESS) {
		rc = broker_inject(sp->inj, inst->hook, inst->index, port->index, po->data.data, po->data.len);
	} else if (port->ifindex > 0) {
		send_netdev(sp, port->ifindex, po, c);
		return; /* counted when sent */
	} else if (!(rc = broker_inject_peer(sp->inj, inst->index, port->index, &peer))) {
		peer_inst = broker_instance_by_index(sp->b, peer.cube_index);
		if (peer.kind == PCN_PEER_NETDEV) {
			send_netdev(sp, (int)peer.ifindex, po, c);
			return;
		} else if (peer_inst)
			rc = broker_inject(sp->inj, peer_inst->hook, peer.cube_index, peer.port, po->data.data,
					   po->data.len);
		else
			rc = -ENOENT;
	}
	if (rc) {
		c->out_errors++;
		return;
	}
	c->out++;
}

/* Keeps the sender's count of packets out it lost, under the pid it
 * registered with (the one /services shows) and the service its token
 * names (whatever the batch claims: one service must not fill another's
 * series). A process without a token yet keeps its count, and reports it
 * again once registered (cube-runtime/slowpath.c). /metrics shows only the
 * processes the broker knows (slowpath_metrics.c). */
static void report_proc(struct broker_slowpath *sp, const struct broker_service *from,
			const Cubemesh__PacketOutBatch *batch)
{
	if (from && batch->has_pid)
		broker_sp_procs_report(&sp->procs, from->name, batch->pid, batch->out_lost);
}

void broker__sp_on_pull(uv_poll_t *h, int status, int events)
{
	struct broker_slowpath *sp = h->data;

	(void)events;
	if (status < 0)
		return;
	for (int k = 0; k < SP_OUT_PER_TURN; k++) {
		Cubemesh__PacketOutBatch *batch = NULL;
		struct broker_service *from;
		nng_msg *msg;

		if (nng_recvmsg(sp->pull, &msg, NNG_FLAG_NONBLOCK))
			break;
		if (!pcn_ipc_peer_is_root(nng_msg_get_pipe(msg))) {
			sp->g.bad_messages++;
			nng_msg_free(msg);
			continue;
		}
		if (pcn_ipc_unpack(&cubemesh__packet_out_batch__descriptor, nng_msg_body(msg), nng_msg_len(msg),
				    (ProtobufCMessage **)&batch)) {
			sp->g.bad_messages++;
			PCN_DEBUG("BROKER-SP-BAD", "malformed message on slowpath.sock (%zu bytes)",
				  nng_msg_len(msg));
			nng_msg_free(msg);
			continue;
		}
		from = broker_service_by_token(sp->b, batch->token.data, batch->has_token ? batch->token.len : 0);
		if (batch->has_out_lost)
			report_proc(sp, from, batch);
		nng_msg_free(msg);
		for (size_t i = 0; i < batch->n_packets; i++)
			packet_out(sp, from, batch->packets[i]);
		flush_netdev(sp);
		protobuf_c_message_free_unpacked(&batch->base, NULL);
	}
}
