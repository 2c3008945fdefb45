/* The slow-path demultiplexer: packets the fast paths send up, packets the
 * cube processes send out, and fast-path log lines.
 *
 * Up: every fast path writes records into one BPF ring buffer
 * (pcn_slowpath, pinned in <bpffs>/shared). The loop polls the ring's epoll
 * fd (uv_poll) and consumes it; the ring wakes us only when we had caught
 * up, so under load one wakeup drains many records (docs/KERNEL.md: a consumer
 * like this one reached ~2.3 Mpps here, a perf buffer with a wakeup per
 * event ~0.1 Mpps). Records are grouped per cube process and sent as one
 * PacketInBatch over a PUSH socket dialed to <sock_dir>/cube-<svc>-pkt.sock
 * (push/pull over ipc does ~17k messages/s here, so one message per packet
 * would cap the slow path there).
 *
 * Never block: the PUSH socket has a small send buffer and every send is
 * non-blocking. A process that is down (or too slow to drain its queue)
 * loses the packets meant for it, counted per instance and reason; the
 * ring itself is bounded, and a full ring is counted by the fast path.
 *
 * Out: cube processes PUSH PacketOutBatch to <sock_dir>/slowpath.sock (PULL
 * here, also polled by uv_poll). Egress out of a port wired to a netdev is
 * an AF_PACKET send on that netdev: ~2.3 us per frame here against ~11 us
 * for a BPF_PROG_TEST_RUN with live frames, and it works for every hook.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include "core/tables.h"
#include "dataplane/inject.h"
#include "slowpath/slowpath.h"
#include "log.h"
#include "pcn_chain_kern_user.h"
#include "slowpath_int.h"
#include "ipc.h"

static struct sp_svc *svc_get(struct broker_slowpath *sp, const char *name)
{
	struct sp_svc *s;

	for (s = sp->svcs; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->next = sp->svcs;
	sp->svcs = s;
	return s;
}

/* Opens the PUSH socket toward the cube's packet endpoint. The dial is
 * non-blocking: nng redials in the background while the process is away. */
static int svc_open(struct broker_slowpath *sp, struct sp_svc *s)
{
	char name[BROKER_NAME_MAX + 16], url[512];
	int rc;

	rc = pcn_sock_cube(name, sizeof(name), PCN_SOCK_CUBE_PKT, s->name, 0);
	if (!rc)
		rc = pcn_ipc_url(url, sizeof(url), sp->b->opts.sock_dir, name);
	if (rc)
		return rc;
	rc = pcn_ipc_errno(nng_push0_open(&s->push));
	if (rc)
		return rc;
	pcn_ipc_cap(s->push);
	nng_socket_set_int(s->push, NNG_OPT_SENDBUF, SP_SENDBUF);
	nng_socket_set_ms(s->push, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(s->push, NNG_OPT_RECONNMAXT, 1000);
	rc = pcn_ipc_errno(nng_dial(s->push, url, NULL, NNG_FLAG_NONBLOCK));
	if (rc) {
		nng_close(s->push);
		return rc;
	}
	s->open = true;
	return 0;
}

static void count_drop(struct broker_slowpath *sp, struct sp_svc *s, bool down)
{
	for (size_t k = 0; k < s->n; k++) {
		struct broker_sp_counters *c = &sp->ctr[s->msgs[k].cube_index];

		if (down)
			c->drop_cube_down++;
		else
			c->drop_queue_full++;
	}
}

/* Sends the packets waiting for s as one batch, or drops and counts them. */
static void svc_flush(struct broker_slowpath *sp, struct sp_svc *s)
{
	Cubemesh__PacketInBatch batch = CUBEMESH__PACKET_IN_BATCH__INIT;
	struct broker_service *svc;
	nng_msg *msg = NULL;
	int rc;

	if (!s->n)
		return;
	svc = broker_service_find(sp->b, s->name);
	if (!svc || svc->state != BROKER_SVC_UP) {
		count_drop(sp, s, true);
		goto out;
	}
	if (!s->open && svc_open(sp, s)) {
		count_drop(sp, s, true);
		goto out;
	}
	batch.n_packets = s->n;
	batch.packets = s->ptrs;
	/* Only we know it besides the cube: it drops batches without it. */
	batch.has_token = 1;
	batch.token.data = svc->token;
	batch.token.len = sizeof(svc->token);
	rc = pcn_ipc_pack(&batch.base, &msg);
	if (!rc) {
		rc = pcn_ipc_errno(nng_sendmsg(s->push, msg, NNG_FLAG_NONBLOCK));
		if (rc)
			nng_msg_free(msg);
	}
	if (rc) {
		count_drop(sp, s, false);
		goto out;
	}
	for (size_t k = 0; k < s->n; k++)
		sp->ctr[s->msgs[k].cube_index].to_cube++;
	sp->g.batches_up++;
out:
	s->n = 0;
}

static void flush_all(struct broker_slowpath *sp)
{
	for (struct sp_svc *s = sp->svcs; s; s = s->next)
		svc_flush(sp, s);
}

static void on_linger(uv_timer_t *t)
{
	flush_all(t->data);
}

/* Sends the batches that are full enough; the others go when the linger
 * timer fires. */
static void flush_full(struct broker_slowpath *sp)
{
	bool waiting = false;

	for (struct sp_svc *s = sp->svcs; s; s = s->next) {
		if (s->n >= SP_FLUSH_AT)
			svc_flush(sp, s);
		else if (s->n)
			waiting = true;
	}
	if (waiting && !uv_is_active((uv_handle_t *)&sp->linger))
		uv_timer_start(&sp->linger, on_linger, SP_LINGER_MS, 0);
}

static void log_fastpath(struct broker_slowpath *sp, const struct pcn_slowpath_hdr *h, const void *data,
			 size_t len, const struct broker_instance *inst)
{
	char text[PCN_LOG_TEXT_MAX];
	size_t n = h->cap_len;
	int level = (int)h->reason;

	if (n > len)
		n = len;
	if (n > sizeof(text) - 1)
		n = sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = '\0';
	/* bpf_snprintf counts the NUL it wrote. */
	while (n && text[n - 1] == '\0')
		n--;
	if (level < PCN_LOG_TRACE || level >= PCN_LOG_OFF)
		level = PCN_LOG_INFO;
	sp->g.log_lines++;
	broker_logsink_add(sp->b, level, true, inst ? inst->service : "", inst ? inst->name : "", text);
	/* The instance's loglevel already filtered this line in the kernel:
	 * its own level must not hide it again in the broker, so lines below
	 * INFO are written at INFO with their level in the text. */
	pcn_logf(level < PCN_LOG_INFO ? PCN_LOG_INFO : (enum pcn_log_level)level, "CUBE-FASTPATH-LOG",
		 "%s %s [%s] %s", inst ? inst->service : "?", inst ? inst->name : "?",
		 pcn_log_level_name((enum pcn_log_level)level), text);
}

/* ---- checksums left to offload ------------------------------------------ */

/* One's complement sum of len bytes as big-endian 16-bit words. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A TCP or UDP segment a host sent with its checksum left to offload
 * (CHECKSUM_PARTIAL, the default over a veth) reaches the fast path at TC
 * as the kernel holds it: the checksum field carries only the pseudo
 * header's sum, for the device to complete; the fast path cannot tell
 * (a TC program does not see skb->ip_summed). Copied up whole, and sent
 * out again by a cube's slow path (AF_PACKET: no offload), the frame
 * leaves with that sum, and the receiver drops it. Completes the checksum
 * of a whole frame (len: the packet's real length) in exactly that form:
 * IPv4 (not a fragment) or IPv6 (TCP or UDP right after the fixed header),
 * its field equal to the folded pseudo-header sum and the segment not
 * already valid. A checksum that is wrong in any other way stays wrong.
 * Returns 1 if it completed one. */
int broker_sp_csum_complete(uint8_t *f, size_t len)
{
	size_t off = ETH_HLEN, l4len, coff;
	uint32_t pseudo = 0, sum;
	uint16_t proto, field;
	uint8_t l4;

	if (len < ETH_HLEN)
		return 0;
	proto = (uint16_t)(f[12] << 8 | f[13]);
	if ((proto == 0x8100 || proto == 0x88a8) && len >= ETH_HLEN + 4) {
		proto = (uint16_t)(f[16] << 8 | f[17]);
		off += 4;
	}
	if (proto == 0x0800) {
		const uint8_t *ip = f + off;
		size_t ihl, tot;

		if (len < off + 20 || ip[0] >> 4 != 4)
			return 0;
		ihl = (size_t)(ip[0] & 0xf) * 4;
		tot = (size_t)(ip[2] << 8 | ip[3]);
		/* A fragment's checksum covers the whole datagram. */
		if (ihl < 20 || tot < ihl || off + tot > len || ((ip[6] & 0x3f) | ip[7]))
			return 0;
		l4 = ip[9];
		l4len = tot - ihl;
		pseudo = csum_add(0, ip + 12, 8);
		off += ihl;
	} else if (proto == 0x86dd) {
		const uint8_t *ip = f + off;

		if (len < off + 40 || ip[0] >> 4 != 6)
			return 0;
		l4 = ip[6];
		l4len = (size_t)(ip[4] << 8 | ip[5]);
		if (off + 40 + l4len > len)
			return 0;
		pseudo = csum_add(0, ip + 8, 32);
		off += 40;
	} else {
		return 0;
	}
	if (l4 == 6 && l4len >= 20)
		coff = off + 16;
	else if (l4 == 17 && l4len >= 8)
		coff = off + 6;
	else
		return 0;
	pseudo += l4 + (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
	field = (uint16_t)(f[coff] << 8 | f[coff + 1]);
	/* UDP's 0 is "no checksum"; a valid segment sums to 0xffff. */
	if ((l4 == 17 && field == 0) || field != csum_fold(pseudo) ||
	    csum_fold(csum_add(pseudo, f + off, l4len)) == 0xffff)
		return 0;
	f[coff] = f[coff + 1] = 0;
	sum = (uint16_t)~csum_fold(csum_add(pseudo, f + off, l4len));
	if (l4 == 17 && sum == 0)
		sum = 0xffff;
	f[coff] = (uint8_t)(sum >> 8);
	f[coff + 1] = (uint8_t)sum;
	return 1;
}

/* One ring record (runs inside ring_buffer__consume). */
static int on_record(void *ctx, void *data, size_t size)
{
	struct broker_slowpath *sp = ctx;
	const struct pcn_slowpath_hdr *h = data;
	const uint8_t *payload = (const uint8_t *)data + sizeof(*h);
	struct broker_instance *inst;
	Cubemesh__PacketIn *p;
	struct sp_svc *s;
	size_t cap;

	if (size < sizeof(*h) || h->cube_index >= PCN_MAX_CUBES) {
		sp->g.bad_records++;
		goto out;
	}
	inst = broker_instance_by_index(sp->b, h->cube_index);
	if (h->kind == PCN_SP_LOG) {
		log_fastpath(sp, h, payload, size - sizeof(*h), inst);
		goto out;
	}
	if (h->kind == PCN_SP_RESUME) {
		/* A packet past the hop limit going on (chainresume.c). */
		if (h->cap_len > size - sizeof(*h) ||
		    broker_chain_resume(sp->b, sp->inj, h->cube_index, h->port, payload, h->cap_len))
			sp->g.bad_records++;
		goto out;
	}
	if (h->kind != PCN_SP_PACKET && h->kind != PCN_SP_NOTIFY) {
		sp->g.bad_records++;
		goto out;
	}
	sp->ctr[h->cube_index].up++;
	if (!inst) {
		sp->ctr[h->cube_index].drop_no_instance++;
		goto out;
	}
	s = svc_get(sp, inst->service);
	if (!s) {
		sp->ctr[h->cube_index].drop_queue_full++;
		goto out;
	}
	if (s->n == SP_BATCH)
		svc_flush(sp, s);
	cap = h->kind == PCN_SP_PACKET ? h->cap_len : 0;
	if (cap > size - sizeof(*h))
		cap = size - sizeof(*h);
	if (cap > PCN_SLOWPATH_SNAPLEN)
		cap = PCN_SLOWPATH_SNAPLEN;
	p = &s->msgs[s->n];
	cubemesh__packet_in__init(p);
	p->cube_index = h->cube_index;
	snprintf(s->inst[s->n], sizeof(s->inst[s->n]), "%s", inst->name);
	p->instance = s->inst[s->n];
	p->port = h->port;
	p->reason = h->reason;
	memcpy(s->md[s->n], h->md, sizeof(h->md));
	p->n_metadata = 3;
	p->metadata = s->md[s->n];
	memcpy(s->data[s->n], payload, cap);
	/* The cube's slow path gets the frame as it would leave the host. */
	if (h->kind == PCN_SP_PACKET && cap == h->orig_len && broker_sp_csum_complete(s->data[s->n], cap))
		sp->g.csum_completed++;
	p->data.data = s->data[s->n];
	p->data.len = cap;
	p->orig_len = h->orig_len;
	p->has_direction = 1;
	p->direction = h->direction ? CUBEMESH__DIRECTION__DIR_EGRESS : CUBEMESH__DIRECTION__DIR_INGRESS;
	s->ptrs[s->n] = p;
	s->n++;
out:
	/* A negative return stops ring_buffer__consume after this record
	 * (libbpf 1.1 has no consume_n): the loop gets its turn back. */
	return ++sp->turn_records >= SP_RECORDS_PER_TURN ? -EAGAIN : 0;
}

static void on_ring(uv_poll_t *h, int status, int events)
{
	struct broker_slowpath *sp = h->data;

	(void)events;
	if (status < 0)
		return;
	sp->turn_records = 0;
	ring_buffer__consume(sp->rb);
	flush_full(sp);
}

/* ---- lifetime --------------------------------------------------------------- */

static int open_ring(struct broker_slowpath *sp)
{
	char path[PATH_MAX];
	int fd, rc;

	rc = pcn_layout_shared(path, sizeof(path), sp->b->opts.bpffs_root, PCN_MAP_SLOWPATH);
	if (rc)
		return rc;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		rc = -errno;
		PCN_ERR("BROKER-SP-RING", "cannot open %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = uv_timer_init(sp->b->loop, &sp->linger);
	if (rc) {
		close(fd);
		return rc;
	}
	sp->linger.data = sp;
	sp->linger_init = true;
	sp->rb = ring_buffer__new(fd, on_record, sp, NULL);
	rc = sp->rb ? 0 : -errno;
	/* The ring keeps its own reference to the map. */
	close(fd);
	if (rc)
		return rc;
	rc = uv_poll_init(sp->b->loop, &sp->ring_poll, ring_buffer__epoll_fd(sp->rb));
	if (rc)
		return rc;
	sp->ring_poll.data = sp;
	sp->ring_polling = true;
	return uv_poll_start(&sp->ring_poll, UV_READABLE, on_ring);
}

static int open_pull(struct broker_slowpath *sp)
{
	char url[512], path[PATH_MAX];
	int fd, rc;

	rc = pcn_ipc_url(url, sizeof(url), sp->b->opts.sock_dir, PCN_SOCK_SLOWPATH);
	if (rc)
		return rc;
	rc = pcn_ipc_errno(nng_pull0_open(&sp->pull));
	if (rc)
		return rc;
	sp->pull_open = true;
	rc = pcn_ipc_cap(sp->pull);
	if (rc)
		return rc;
	/* Room for bursts of PacketOutBatch; beyond it the cubes' sends fail
	 * (and they count it) instead of waiting for us. */
	nng_socket_set_int(sp->pull, NNG_OPT_RECVBUF, SP_SENDBUF);
	rc = pcn_ipc_errno(nng_listen(sp->pull, url, NULL, 0));
	if (rc) {
		PCN_ERR("BROKER-SP-LISTEN", "cannot listen on %s: %s", url, strerror(-rc));
		return rc;
	}
	if (snprintf(path, sizeof(path), "%s/" PCN_SOCK_SLOWPATH, sp->b->opts.sock_dir) < (int)sizeof(path))
		chmod(path, 0600);
	rc = pcn_ipc_errno(nng_socket_get_int(sp->pull, NNG_OPT_RECVFD, &fd));
	if (rc)
		return rc;
	rc = uv_poll_init(sp->b->loop, &sp->pull_poll, fd);
	if (rc)
		return rc;
	sp->pull_poll.data = sp;
	sp->pull_polling = true;
	return uv_poll_start(&sp->pull_poll, UV_READABLE, broker__sp_on_pull);
}

int broker_slowpath_start(struct broker *b)
{
	struct broker_slowpath *sp;
	int rc;

	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	sp->b = b;
	sp->pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (sp->pkt_fd < 0)
		PCN_WARN("BROKER-SP-PACKET", "no AF_PACKET socket (%s): packets out will fail", strerror(errno));
	b->slowpath = sp;
	rc = broker_inject_create(&sp->inj, b->opts.bpffs_root);
	if (rc)
		PCN_WARN("BROKER-SP-INJECT", "no injector (%s): packets out go to netdevs only", strerror(-rc));
	rc = open_ring(sp);
	if (!rc)
		rc = open_pull(sp);
	if (rc) {
		broker_slowpath_stop(b);
		return rc;
	}
	PCN_INFO("BROKER-SP-READY", "slow path ready");
	return 0;
}

static void free_on_close(uv_handle_t *h)
{
	struct broker_slowpath *sp = h->data;

	if (h == (uv_handle_t *)&sp->ring_poll)
		sp->ring_polling = false;
	else if (h == (uv_handle_t *)&sp->linger)
		sp->linger_init = false;
	else
		sp->pull_polling = false;
	if (!sp->ring_polling && !sp->pull_polling && !sp->linger_init)
		free(sp);
}

void broker_slowpath_stop(struct broker *b)
{
	struct broker_slowpath *sp = b->slowpath;
	struct sp_svc *s, *next;
	bool closing = false;

	if (!sp)
		return;
	b->slowpath = NULL;
	for (s = sp->svcs; s; s = next) {
		next = s->next;
		if (s->open)
			nng_close(s->push);
		free(s);
	}
	sp->svcs = NULL;
	if (sp->pull_polling) {
		uv_close((uv_handle_t *)&sp->pull_poll, free_on_close);
		closing = true;
	}
	if (sp->ring_polling) {
		uv_close((uv_handle_t *)&sp->ring_poll, free_on_close);
		closing = true;
	}
	if (sp->linger_init) {
		uv_close((uv_handle_t *)&sp->linger, free_on_close);
		closing = true;
	}
	if (sp->pull_open)
		nng_close(sp->pull);
	ring_buffer__free(sp->rb);
	sp->rb = NULL;
	if (sp->pkt_fd >= 0)
		close(sp->pkt_fd);
	sp->pkt_fd = -1;
	broker_inject_destroy(sp->inj);
	sp->inj = NULL;
	if (!closing)
		free(sp);
}

int broker_slowpath_counters(struct broker *b, uint32_t index, struct broker_sp_counters *out)
{
	if (!b->slowpath || index >= PCN_MAX_CUBES)
		return -ENOENT;
	*out = b->slowpath->ctr[index];
	return 0;
}

void broker_slowpath_reset(struct broker *b, uint32_t index)
{
	if (b->slowpath && index < PCN_MAX_CUBES)
		memset(&b->slowpath->ctr[index], 0, sizeof(b->slowpath->ctr[index]));
}

int broker_slowpath_global(struct broker *b, struct broker_sp_global *out)
{
	if (!b->slowpath)
		return -ENOENT;
	*out = b->slowpath->g;
	return 0;
}
