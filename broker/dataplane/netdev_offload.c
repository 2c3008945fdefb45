/* Offloads that an XDP cube port breaks on the veth it is peered with, and
 * turning them off on that veth's other end while the port is peered.
 *
 * A cube port peered with netdev X (one end of a veth) gets X's received
 * frames in XDP and redirects them into another netdev. What X receives was
 * sent by the veth's other end, P, often in a container's namespace:
 *  - XDP_DRV: native XDP makes an xdp_frame of the packet and drops the
 *    skb's pending checksum offload (CHECKSUM_PARTIAL). P's TCP and UDP
 *    leave their L4 checksum to offload, so the receiver behind the cube
 *    drops every segment and datagram as corrupt; pings pass. Fix: P
 *    computes its checksums itself (tx-checksum-* off, "ethtool -K P tx off").
 *  - XDP_SKB: generic XDP gets P's TSO/GSO super-packets (up to 64 KB) and a
 *    redirect refuses anything longer than the target's MTU: bulk TCP stalls
 *    after the first window. Fix: P segments before sending (tx-*-segmentation
 *    off). (At XDP_DRV the veth turns P's segmentation off by itself.)
 * P may be in another namespace: it is reached through X's IFLA_LINK and
 * IFLA_LINK_NETNSID, with a socket made in P's namespace by a short-lived
 * thread that setns()es into it (the loop thread never changes namespace).
 *
 * Which features were on, and so must be turned on again, is kept in bpffs
 * beside the pins, as empty directories <root>/shared/txoff/<ifindex>/<feature>
 * (bpffs holds directories and pins, no files): it outlives a broker
 * restart as the attachment itself does. A feature that was off already is
 * the user's choice and is left alone, also when the port is unpeered.
 */
#include "dataplane_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pcn_layout.h"
#include "rtnl.h"

/* <root>/shared/txoff: see above. */
#define TXOFF_DIR "txoff"
/* Features a veth offers are about 70; room for more. */
#define MAX_FEATURES 256

enum txoff_kind {
	TXOFF_CSUM, /* XDP_DRV */
	TXOFF_SEG,  /* XDP_SKB */
};

/* What GET /netdevs shows for a peered netdev (in memory: rebuilt by the
 * attach a restarted broker makes for each port). */
struct txoff_rec {
	struct txoff_rec *next;
	int ifindex;
	char peer[IF_NAMESIZE];
	int netnsid;       /* -1: the broker's namespace */
	enum pcn_hook hook;
	json_t *features;  /* names turned off by Cubemesh */
	char error[200];   /* why they could not be, else "" */
};

static struct txoff_rec *recs;

/* ---- the far end of a veth ------------------------------------------------ */

struct peer {
	int sock; /* AF_INET socket in the peer's namespace: ethtool ioctls */
	char name[IF_NAMESIZE];
	char self[IF_NAMESIZE]; /* the end the cube is peered with */
	int netnsid; /* -1: ours */
};

/* The nsid the broker's namespace gives the namespace of fd, or -errno. */
static int nsid_of(int nl, int fd)
{
	struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };
	struct broker_nlreq req;
	__u32 nsfd = (__u32)fd;
	char buf[1024];
	ssize_t got;
	int n, rc;

	broker_nlreq_init(&req, RTM_GETNSID, 0, &g, sizeof(g));
	broker_nlreq_attr(&req, NETNSA_FD, &nsfd, sizeof(nsfd));
	rc = broker_nlreq_send(nl, &req);
	if (rc)
		return rc;
	got = recv(nl, buf, sizeof(buf), 0);
	if (got < 0)
		return -errno;
	n = (int)got;
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
		struct rtattr *a;
		int len;

		if (nh->nlmsg_type == NLMSG_ERROR)
			return ((struct nlmsgerr *)NLMSG_DATA(nh))->error ?: -ENOENT;
		if (nh->nlmsg_type != RTM_NEWNSID)
			continue;
		len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(struct rtgenmsg));
		a = (struct rtattr *)((char *)NLMSG_DATA(nh) + NLMSG_ALIGN(sizeof(struct rtgenmsg)));
		for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
			if (a->rta_type == NETNSA_NSID && RTA_PAYLOAD(a) >= sizeof(__s32))
				return *(__s32 *)RTA_DATA(a);
	}
	return -ENOENT;
}

/* Tries one namespace file: its fd when it is the namespace with that nsid. */
static int try_ns(int nl, const char *path, int nsid, dev_t *seen_dev, ino_t *seen, size_t *n_seen, size_t max)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto no;
	for (size_t i = 0; i < *n_seen; i++)
		if (seen[i] == st.st_ino && seen_dev[i] == st.st_dev)
			goto no;
	if (*n_seen < max) {
		seen[*n_seen] = st.st_ino;
		seen_dev[(*n_seen)++] = st.st_dev;
	}
	if (nsid_of(nl, fd) == nsid)
		return fd;
no:
	close(fd);
	return -1;
}

/* A descriptor of the namespace the broker's namespace calls nsid. The
 * kernel maps a namespace to its id (RTM_GETNSID) but not back: try the
 * named namespaces (ip netns) and every process's (containers), once each. */
static int ns_fd_of(int nsid)
{
	enum { MAX_SEEN = 4096 };
	static const char *const dirs[] = { "/run/netns", "/var/run/netns" };
	ino_t *seen = calloc(MAX_SEEN, sizeof(*seen));
	dev_t *seen_dev = calloc(MAX_SEEN, sizeof(*seen_dev));
	size_t n_seen = 0;
	char path[PATH_MAX];
	struct dirent *de;
	int nl, fd = -ENOENT;
	DIR *d;

	nl = broker_rtnl_socket();
	if (nl < 0 || !seen || !seen_dev) {
		fd = nl < 0 ? nl : -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]) && fd < 0; k++) {
		d = opendir(dirs[k]);
		while (d && fd < 0 && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[k], de->d_name);
			fd = try_ns(nl, path, nsid, seen_dev, seen, &n_seen, MAX_SEEN);
		}
		if (d)
			closedir(d);
	}
	d = fd < 0 ? opendir("/proc") : NULL;
	while (d && fd < 0 && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		fd = try_ns(nl, path, nsid, seen_dev, seen, &n_seen, MAX_SEEN);
	}
	if (d)
		closedir(d);
	if (fd < 0)
		fd = -ENOENT;
out:
	if (nl >= 0)
		close(nl);
	free(seen);
	free(seen_dev);
	return fd;
}

struct ns_job {
	int nsfd;
	int ifindex;
	int sock;
	char name[IF_NAMESIZE];
	int err;
};

/* Runs on its own thread: setns() changes only the calling thread, and the
 * thread ends there. A socket keeps the namespace it was made in. */
static void *ns_job_run(void *arg)
{
	struct ns_job *j = arg;
	struct ifreq ifr;

	if (setns(j->nsfd, CLONE_NEWNET) < 0) {
		j->err = -errno;
		return NULL;
	}
	j->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (j->sock < 0) {
		j->err = -errno;
		return NULL;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_ifindex = j->ifindex;
	if (ioctl(j->sock, SIOCGIFNAME, &ifr) < 0) {
		j->err = -errno;
		close(j->sock);
		j->sock = -1;
		return NULL;
	}
	snprintf(j->name, sizeof(j->name), "%s", ifr.ifr_name);
	return NULL;
}

/* Opens the far end of veth ifindex. -ENOTSUP when ifindex is not a veth,
 * -ENODEV when it is gone; other -errno with why in err. */
static int peer_open(int ifindex, struct peer *p, char *err, size_t errlen)
{
	struct broker_link self, other;
	struct ns_job j = { .sock = -1 };
	pthread_t t;
	int rc;

	p->sock = -1;
	p->netnsid = -1;
	p->name[0] = '\0';
	snprintf(p->self, sizeof(p->self), "ifindex %d", ifindex);
	rc = broker__link_get(ifindex, NULL, &self);
	if (rc < 0)
		return rc;
	snprintf(p->self, sizeof(p->self), "%s", self.name);
	if (strcmp(self.kind, "veth") != 0)
		return -ENOTSUP;
	if (self.link <= 0) {
		snprintf(err, errlen, "the kernel does not say where %s's peer is", self.name);
		return -ENOENT;
	}
	if (!self.link_other_ns) {
		rc = broker__link_get(self.link, NULL, &other);
		if (rc < 0) {
			snprintf(err, errlen, "%s's peer (ifindex %d): %s", self.name, self.link, strerror(-rc));
			return rc;
		}
		p->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (p->sock < 0)
			return -errno;
		snprintf(p->name, sizeof(p->name), "%s", other.name);
		return 0;
	}
	p->netnsid = self.link_netnsid;
	j.ifindex = self.link;
	j.nsfd = ns_fd_of(self.link_netnsid);
	if (j.nsfd < 0) {
		snprintf(err, errlen, "%s's peer is in namespace id %d, which the broker cannot open (no file "
			 "under /run/netns or /proc/*/ns/net names it)", self.name, self.link_netnsid);
		return j.nsfd;
	}
	rc = pthread_create(&t, NULL, ns_job_run, &j);
	if (rc == 0)
		pthread_join(t, NULL);
	close(j.nsfd);
	if (rc) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
		return -rc;
	}
	if (j.err) {
		snprintf(err, errlen, "%s's peer in namespace id %d: %s", self.name, self.link_netnsid,
			 strerror(-j.err));
		return j.err;
	}
	p->sock = j.sock;
	snprintf(p->name, sizeof(p->name), "%s", j.name);
	return 0;
}

/* ---- ethtool features ---------------------------------------------------- */

struct feats {
	unsigned int n;
	char (*names)[ETH_GSTRING_LEN];
	struct ethtool_gfeatures *g;
};

static void feats_free(struct feats *f)
{
	free(f->names);
	free(f->g);
	memset(f, 0, sizeof(*f));
}

static int ethtool(int sock, const char *ifname, void *data)
{
	struct ifreq ifr;
	int rc;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = data;
	rc = ioctl(sock, SIOCETHTOOL, &ifr);
	return rc < 0 ? -errno : rc;
}

/* The netdev's feature names and their state (ETH_SS_FEATURES, GFEATURES). */
static int feats_get(int sock, const char *ifname, struct feats *f)
{
	struct {
		struct ethtool_sset_info hdr;
		__u32 count;
	} info = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ULL << ETH_SS_FEATURES } };
	struct ethtool_gstrings *gs = NULL;
	unsigned int blocks;
	int rc;

	memset(f, 0, sizeof(*f));
	rc = ethtool(sock, ifname, &info);
	if (rc < 0)
		return rc;
	if (!info.hdr.sset_mask || info.count == 0 || info.count > MAX_FEATURES)
		return -EOPNOTSUPP;
	f->n = info.count;
	blocks = (f->n + 31) / 32;
	gs = calloc(1, sizeof(*gs) + (size_t)f->n * ETH_GSTRING_LEN);
	f->names = calloc(f->n, ETH_GSTRING_LEN);
	f->g = calloc(1, sizeof(*f->g) + blocks * sizeof(f->g->features[0]));
	if (!gs || !f->names || !f->g) {
		rc = -ENOMEM;
		goto out;
	}
	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_FEATURES;
	gs->len = f->n;
	rc = ethtool(sock, ifname, gs);
	if (rc < 0)
		goto out;
	for (unsigned int i = 0; i < f->n; i++)
		snprintf(f->names[i], ETH_GSTRING_LEN, "%.*s", ETH_GSTRING_LEN - 1,
			 (const char *)gs->data + (size_t)i * ETH_GSTRING_LEN);
	f->g->cmd = ETHTOOL_GFEATURES;
	f->g->size = blocks;
	rc = ethtool(sock, ifname, f->g);
out:
	free(gs);
	if (rc < 0)
		feats_free(f);
	return rc < 0 ? rc : 0;
}

static bool bit(const __u32 *w, unsigned int i)
{
	return w[i / 32] & (1u << (i % 32));
}

static __u32 word(const struct feats *f, unsigned int i, int which)
{
	const struct ethtool_get_features_block *b = &f->g->features[i / 32];

	return which == 0 ? b->available : which == 1 ? b->requested : b->active;
}

static bool feat_available(const struct feats *f, unsigned int i) { return word(f, i, 0) & (1u << (i % 32)); }
static bool feat_requested(const struct feats *f, unsigned int i) { return word(f, i, 1) & (1u << (i % 32)); }
static bool feat_active(const struct feats *f, unsigned int i) { return word(f, i, 2) & (1u << (i % 32)); }

static int feat_index(const struct feats *f, const char *name)
{
	for (unsigned int i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0)
			return (int)i;
	return -1;
}

/* Sets the features whose bits are in mask to on (or off). */
static int feats_set(int sock, const char *ifname, const struct feats *f, const __u32 *mask, bool on)
{
	unsigned int blocks = (f->n + 31) / 32;
	struct ethtool_sfeatures *s = calloc(1, sizeof(*s) + blocks * sizeof(s->features[0]));
	int rc;

	if (!s)
		return -ENOMEM;
	s->cmd = ETHTOOL_SFEATURES;
	s->size = blocks;
	for (unsigned int b = 0; b < blocks; b++) {
		s->features[b].valid = mask[b];
		s->features[b].requested = on ? mask[b] : 0;
	}
	rc = ethtool(sock, ifname, s);
	free(s);
	/* A positive answer (ETHTOOL_F_WISH...) says some could not be set as
	 * asked; the caller reads the result back. */
	return rc < 0 ? rc : 0;
}

static bool kind_matches(enum txoff_kind kind, const char *n)
{
	size_t len = strlen(n);

	if (kind == TXOFF_CSUM)
		return strncmp(n, "tx-checksum-", 12) == 0;
	/* Every offload that hands the veth a packet larger than the MTU.
	 * Not tx-generic-segmentation: software GSO cuts the packet before
	 * the veth sees it. */
	if (strcmp(n, "tx-generic-segmentation") == 0)
		return false;
	return strncmp(n, "tx-", 3) == 0 &&
	       ((len > 13 && strcmp(n + len - 13, "-segmentation") == 0) || strcmp(n, "tx-gso-list") == 0);
}

/* ---- markers ------------------------------------------------------------- */

static int marker_dir(const struct broker_dp *dp, int ifindex, const char *feature, char *buf, size_t len)
{
	char idx[16];

	snprintf(idx, sizeof(idx), "%d", ifindex);
	return pcn_path(buf, len, dp->root, PCN_LAYOUT_SHARED, TXOFF_DIR, idx, feature, (const char *)NULL);
}

static int mkdir_p3(const struct broker_dp *dp, int ifindex, const char *feature)
{
	char path[PATH_MAX];
	char *slash[2];
	int rc = marker_dir(dp, ifindex, feature, path, sizeof(path));

	if (rc < 0)
		return rc;
	/* .../txoff, .../txoff/<ifindex>, then the feature's. */
	slash[1] = strrchr(path, '/');
	*slash[1] = '\0';
	slash[0] = strrchr(path, '/');
	*slash[0] = '\0';
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	*slash[0] = '/';
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	*slash[1] = '/';
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The recorded features of ifindex as a JSON array of names (empty if none). */
static json_t *markers_read(const struct broker_dp *dp, int ifindex)
{
	char path[PATH_MAX], idx[16];
	json_t *arr = json_array();
	struct dirent *de;
	DIR *d;

	snprintf(idx, sizeof(idx), "%d", ifindex);
	if (!arr || pcn_path(path, sizeof(path), dp->root, PCN_LAYOUT_SHARED, TXOFF_DIR, idx, (const char *)NULL))
		return arr;
	d = opendir(path);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			json_array_append_new(arr, json_string(de->d_name));
	if (d)
		closedir(d);
	return arr;
}

static void markers_drop(const struct broker_dp *dp, int ifindex, json_t *names)
{
	char path[PATH_MAX];
	size_t i;
	json_t *v;

	json_array_foreach(names, i, v)
		if (marker_dir(dp, ifindex, json_string_value(v), path, sizeof(path)) == 0)
			rmdir(path);
	if (marker_dir(dp, ifindex, "x", path, sizeof(path)) == 0) {
		*strrchr(path, '/') = '\0';
		rmdir(path);
	}
}

/* ---- records for GET /netdevs ---------------------------------------------- */

static struct txoff_rec *rec_find(int ifindex, bool create)
{
	struct txoff_rec *r;

	for (r = recs; r; r = r->next)
		if (r->ifindex == ifindex)
			return r;
	if (!create)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->ifindex = ifindex;
	r->next = recs;
	recs = r;
	return r;
}

static void rec_drop(int ifindex)
{
	for (struct txoff_rec **pp = &recs; *pp; pp = &(*pp)->next)
		if ((*pp)->ifindex == ifindex) {
			struct txoff_rec *r = *pp;

			*pp = r->next;
			json_decref(r->features);
			free(r);
			return;
		}
}

json_t *broker__offload_json(int ifindex)
{
	struct txoff_rec *r = rec_find(ifindex, false);
	json_t *o;

	if (!r || (!r->error[0] && json_array_size(r->features) == 0))
		return NULL;
	o = json_pack("{s:s, s:s, s:O}", "peer", r->peer, "hook",
		      pcn_hook_name(r->hook), "turned-off-by-cubemesh",
		      r->features);
	if (!o)
		return NULL;
	if (r->netnsid >= 0)
		json_object_set_new(o, "peer-netnsid", json_integer(r->netnsid));
	json_object_set_new(o, "why", json_string(r->hook == PCN_HOOK_XDP_DRV ?
		"native XDP drops the sender's checksum offload: its TCP and UDP would arrive with bad checksums" :
		"generic XDP cannot redirect the sender's TSO/GSO packets, larger than the MTU"));
	if (r->error[0])
		json_object_set_new(o, "error", json_string(r->error));
	return o;
}

/* ---- public -------------------------------------------------------------- */

static const char *log_id(enum txoff_kind kind)
{
	return kind == TXOFF_CSUM ? "BROKER-XDP-VETH-CSUM" : "BROKER-XDP-VETH-TSO";
}

static void join_names(json_t *names, char *buf, size_t len, const char *sep, const char *suffix)
{
	size_t i, off = 0;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(names, i, v) {
		int n = snprintf(buf + off, len - off, "%s%s%s", i ? sep : "", json_string_value(v), suffix);

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
}

int broker__offload_off(struct broker_dp *dp, int ifindex, enum pcn_hook hook)
{
	enum txoff_kind kind = hook == PCN_HOOK_XDP_DRV ? TXOFF_CSUM : TXOFF_SEG;
	__u32 mask[MAX_FEATURES / 32] = { 0 };
	char err[200] = "", list[600];
	struct peer p;
	struct feats f = { 0 };
	struct txoff_rec *r;
	json_t *now_off = json_array(), *names;
	bool any = false;
	int rc;

	if (hook == PCN_HOOK_TC) {
		json_decref(now_off);
		return broker__offload_restore(dp, ifindex);
	}
	rc = peer_open(ifindex, &p, err, sizeof(err));
	if (rc == -ENOTSUP || rc == -ENODEV) {
		json_decref(now_off);
		return 0; /* not a veth: nothing sent it with offloads pending */
	}
	if (rc == 0 && (rc = feats_get(p.sock, p.name, &f)) < 0)
		snprintf(err, sizeof(err), "cannot read %s's features: %s", p.name, strerror(-rc));
	for (unsigned int i = 0; rc == 0 && i < f.n; i++) {
		if (!kind_matches(kind, f.names[i]) || !feat_available(&f, i) || !feat_requested(&f, i))
			continue;
		/* The marker first: a broker that dies right after the change
		 * still knows, when it comes back, what to turn on again. */
		rc = mkdir_p3(dp, ifindex, f.names[i]);
		if (rc < 0) {
			snprintf(err, sizeof(err), "cannot record %s in bpffs: %s", f.names[i], strerror(-rc));
			break;
		}
		mask[i / 32] |= 1u << (i % 32);
		json_array_append_new(now_off, json_string(f.names[i]));
		any = true;
	}
	if (rc == 0 && any && (rc = feats_set(p.sock, p.name, &f, mask, false)) < 0)
		snprintf(err, sizeof(err), "cannot turn off %s's offloads: %s", p.name, strerror(-rc));
	if (rc == 0 && any) {
		/* Read back: the kernel answers 0 also when it kept a feature on. */
		feats_free(&f);
		if (feats_get(p.sock, p.name, &f) == 0)
			for (unsigned int i = 0; i < f.n; i++)
				if (kind_matches(kind, f.names[i]) && feat_active(&f, i) && bit(mask, i)) {
					snprintf(err, sizeof(err), "%s stays on after turning it off", f.names[i]);
					rc = -EIO;
				}
	}
	names = markers_read(dp, ifindex);
	r = rec_find(ifindex, true);
	if (r) {
		json_decref(r->features);
		r->features = json_incref(names);
		snprintf(r->peer, sizeof(r->peer), "%s", p.name[0] ? p.name : "?");
		r->netnsid = p.netnsid;
		r->hook = hook;
		snprintf(r->error, sizeof(r->error), "%s", rc < 0 ? err : "");
	}
	if (rc < 0) {
		join_names(now_off, list, sizeof(list), " ", " off");
		PCN_WARN(log_id(kind), "%s is a veth at %s and its peer's %s stays on: %s. %s; run in the "
			 "peer's namespace: ethtool -K %s %s", p.self, pcn_hook_name(hook),
			 kind == TXOFF_CSUM ? "tx checksum offload" : "segmentation offload", err,
			 kind == TXOFF_CSUM ? "Its TCP and UDP will arrive with bad checksums" :
					      "Its TCP bulk transfers will stall",
			 p.name[0] ? p.name : "<peer>", kind == TXOFF_CSUM ? "tx off" : (list[0] ? list : "tso off"));
	} else if (any) {
		char where[48] = "";

		if (p.netnsid >= 0)
			snprintf(where, sizeof(where), " (namespace id %d)", p.netnsid);
		join_names(now_off, list, sizeof(list), ", ", "");
		PCN_WARN(log_id(kind), "turned off %s on %s%s, the other end of %s (ifindex %d), while a cube at %s "
			 "is peered with it (%s); restored when the port is unpeered", list, p.name, where, p.self, ifindex,
			 pcn_hook_name(hook),
			 kind == TXOFF_CSUM ? "native XDP loses checksum offload" :
					      "generic XDP cannot redirect TSO/GSO packets");
	}
	json_decref(names);
	json_decref(now_off);
	feats_free(&f);
	if (p.sock >= 0)
		close(p.sock);
	return rc;
}

int broker__offload_restore(struct broker_dp *dp, int ifindex)
{
	json_t *names = markers_read(dp, ifindex);
	__u32 mask[MAX_FEATURES / 32] = { 0 };
	char err[200] = "", list[600];
	struct feats f = { 0 };
	struct peer p;
	size_t i;
	json_t *v;
	int rc;

	rec_drop(ifindex);
	if (json_array_size(names) == 0) {
		markers_drop(dp, ifindex, names);
		json_decref(names);
		return 0;
	}
	rc = peer_open(ifindex, &p, err, sizeof(err));
	if (rc == -ENODEV || rc == -ENOTSUP) {
		/* The veth is gone, and its other end with it. */
		markers_drop(dp, ifindex, names);
		json_decref(names);
		return 0;
	}
	if (rc == 0 && (rc = feats_get(p.sock, p.name, &f)) < 0)
		snprintf(err, sizeof(err), "cannot read %s's features: %s", p.name, strerror(-rc));
	json_array_foreach(names, i, v) {
		int k = rc == 0 ? feat_index(&f, json_string_value(v)) : -1;

		if (k >= 0 && feat_available(&f, (unsigned int)k))
			mask[k / 32] |= 1u << (k % 32);
	}
	if (rc == 0 && (rc = feats_set(p.sock, p.name, &f, mask, true)) < 0)
		snprintf(err, sizeof(err), "cannot turn %s's offloads on again: %s", p.name, strerror(-rc));
	join_names(names, list, sizeof(list), rc < 0 ? " " : ", ", rc < 0 ? " on" : "");
	if (rc < 0)
		PCN_WARN("BROKER-XDP-VETH-RESTORE", "cannot give back the offloads Cubemesh turned off on the other "
			 "end of %s: %s; run in its namespace: ethtool -K %s %s", p.self, err,
			 p.name[0] ? p.name : "<peer>", list);
	else
		PCN_INFO("BROKER-XDP-VETH-RESTORE", "turned %s on again on %s, the other end of %s (ifindex %d)",
			 list, p.name, p.self, ifindex);
	/* Given back or reported: either way the user has it now. */
	markers_drop(dp, ifindex, names);
	json_decref(names);
	feats_free(&f);
	if (p.sock >= 0)
		close(p.sock);
	return rc;
}

int broker__peer_gro(int ifindex, char *name, size_t len)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GGRO };
	char err[200];
	struct peer p;
	int rc = peer_open(ifindex, &p, err, sizeof(err));

	if (rc == 0) {
		snprintf(name, len, "%s", p.name);
		rc = ethtool(p.sock, p.name, &ev);
		if (rc >= 0)
			rc = ev.data != 0;
	}
	if (p.sock >= 0)
		close(p.sock);
	return rc;
}
