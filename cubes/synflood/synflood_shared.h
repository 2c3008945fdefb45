/* What synflood's fast path and control plane share: the layout of its
 * maps' values. */
#ifndef SYNFLOOD_SHARED_H
#define SYNFLOOD_SHARED_H

#include <linux/types.h>

/* synflood_ctr keys: the direction through the parent. */
#define SYNFLOOD_DIR_INGRESS 0 /* from the wire */
#define SYNFLOOD_DIR_EGRESS 1  /* toward the wire */

/* One direction's counters (per CPU; summed as u64s by the control plane,
 * so only u64 members, in this order: synflood.c names them by index). */
struct synflood_ctr {
	__u64 syn;         /* SYN without ACK */
	__u64 synack;      /* SYN with ACK */
	__u64 rst;         /* RST */
	__u64 established; /* client ACKs completing a handshake seen here */
	__u64 ipv4;        /* IPv4 packets */
	__u64 ipv4_local;  /* ingress: IPv4 packets to one of the parent's addresses */
};
#define SYNFLOOD_NCTR (sizeof(struct synflood_ctr) / sizeof(__u64))

/* The parent's IPv4 addresses (network order), for ipv4_local; written by
 * the control plane when the parent changes. */
#define SYNFLOOD_MAX_ADDRS 8
struct synflood_addrs {
	__u32 n;
	__u32 addr[SYNFLOOD_MAX_ADDRS];
};

/* A handshake between its SYN-ACK and the client's ACK (synflood_hs):
 * addresses as IPv6 (IPv4 mapped to ::ffff:a.b.c.d), ports in network
 * order. */
struct synflood_hs {
	__u32 client[4];
	__u32 server[4];
	__u16 cport;
	__u16 sport;
};

#endif /* SYNFLOOD_SHARED_H */
