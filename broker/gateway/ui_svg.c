/* GET /polycube/v1/topology.svg: the topology (GET /topology's answer)
 * laid out by Graphviz (libgvc, "dot") and rendered as SVG, for the page
 * (ui.c) and for anyone who wants a picture of the mesh.
 *
 * The graph is built through libcgraph's calls, never as DOT text: a name
 * is an argument, not source, so no name can close a quote or start an
 * attribute. What Graphviz still interprets in a name is its label syntax
 * (escapes like \N in any label, and { } | < > in a record's fields), so
 * every label is escaped for that (label_escape, record_escape); the SVG
 * renderer then writes names as XML text with &, <, > and quotes escaped.
 * Cube, service and port names are restricted by the API (letters, digits,
 * '_', '-', '.'); netdev names are not (the kernel allows '<', '"', '\'...).
 *
 * Nodes and their <title> in the SVG (what the page and tests look up):
 *   a standard cube      its name, a record with one field per port
 *   a transparent cube   its name
 *   a netdev             "netdev " + its name (a space: neither a cube's nor
 *                        a netdev's name can hold one, so they never collide)
 * Edges: a port's wire "cube:port--netdev X" or "cube:port--cube2:port2"
 * (once per wire); a transparent stack "parent--first", "first--second", ...
 * in its order, nearest the wire first (the parent: a netdev, or a cube's
 * port "cube:port").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "control/control.h"
#include "gateway/gateway.h"
#include "topology/topology.h"
#include "log.h"

#define NETDEV_PREFIX "netdev "

/* s for a plain label: a backslash is Graphviz's escape (\N is the node's
 * name, \l a line end), so it is doubled; a '"' is written as is (the
 * label is a value, not DOT text). */
static char *label_escape(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(2 * n + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* s for a record's field: its separators and port brackets too. */
static void record_escape(char *out, size_t n, const char *s)
{
	size_t o = 0;

	for (; *s && o + 3 < n; s++) {
		if (strchr("\\{}|<>\" ", *s))
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = '\0';
}

static Agnode_t *netdev_node(Agraph_t *g, const char *ifname)
{
	char name[2 * BROKER_NAME_MAX + 16], *label;
	Agnode_t *n;

	snprintf(name, sizeof(name), NETDEV_PREFIX "%s", ifname);
	n = agnode(g, name, 0);
	if (n)
		return n;
	n = agnode(g, name, 1);
	label = label_escape(ifname);
	agsafeset(n, "label", label ? label : "?", "");
	free(label);
	agsafeset(n, "shape", "ellipse", "");
	agsafeset(n, "class", "netdev", "");
	return n;
}

/* The node of a "cube:port" (setting *port to the port) or of a netdev. */
static Agnode_t *peer_node(Agraph_t *g, const char *peer, char *port, size_t n)
{
	const char *colon = strchr(peer, ':');
	char cube[BROKER_NAME_MAX];

	port[0] = '\0';
	if (!colon)
		return netdev_node(g, peer);
	snprintf(cube, sizeof(cube), "%.*s", (int)(colon - peer), peer);
	snprintf(port, n, "%s", colon + 1);
	return agnode(g, cube, 0);
}

static Agedge_t *wire(Agraph_t *g, Agnode_t *a, const char *aport, Agnode_t *z, const char *zport)
{
	Agedge_t *e = agedge(g, a, z, NULL, 1);

	if (!e)
		return NULL;
	if (aport && aport[0])
		agsafeset(e, "tailport", (char *)aport, "");
	if (zport && zport[0])
		agsafeset(e, "headport", (char *)zport, "");
	return e;
}

static void add_cube(struct broker *b, Agraph_t *g, json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *svc = json_string_value(json_object_get(c, "service-name"));
	const struct broker_service *s = svc ? broker_service_find(b, svc) : NULL;
	json_t *ports = json_object_get(c, "ports"), *p;
	char label[2048], field[2 * BROKER_NAME_MAX + 8];
	size_t len, i;
	Agnode_t *n;

	if (!name || !svc)
		return;
	n = agnode(g, (char *)name, 1);
	agsafeset(n, "class", "cube", "");
	if (s && s->state != BROKER_SVC_UP)
		agsafeset(n, "fillcolor", "#f8d0d0", "");
	if (s && s->transparent) {
		snprintf(label, sizeof(label), "%s\\n(%s)", name, svc);
		agsafeset(n, "shape", "box", "");
		agsafeset(n, "style", "rounded,dashed,filled", "");
		agsafeset(n, "label", label, "");
		return;
	}
	/* rankdir=LR lays a record's top fields out top to bottom: the name,
	 * then one field per port, each its own edge end. */
	record_escape(field, sizeof(field), name);
	len = (size_t)snprintf(label, sizeof(label), "%s", field);
	record_escape(field, sizeof(field), svc);
	len += (size_t)snprintf(label + len, sizeof(label) - len, "\\n(%s)", field);
	json_array_foreach(ports, i, p) {
		const char *pn = json_string_value(json_object_get(p, "name"));
		char esc[2 * BROKER_NAME_MAX + 8];

		if (!pn || len >= sizeof(label))
			continue;
		record_escape(esc, sizeof(esc), pn);
		len += (size_t)snprintf(label + len, sizeof(label) - len, "|<%s> %s", esc, esc);
	}
	agsafeset(n, "shape", "record", "");
	agsafeset(n, "label", label, "");
}

/* Port `port` of cube `cube` in the topology's cubes: its position among
 * the cube's ports (-1 when absent), its peer in *peer, and whether it
 * faces right (see add_wires) in *right. */
static int port_pos(json_t *cubes, const char *cube, const char *port, const char **peer, bool *right)
{
	json_t *c, *p;
	size_t i, k;

	*peer = NULL;
	json_array_foreach(cubes, i, c) {
		const char *cn = json_string_value(json_object_get(c, "name"));

		if (!cn || strcmp(cn, cube) != 0)
			continue;
		json_array_foreach(json_object_get(c, "ports"), k, p) {
			const char *pn = json_string_value(json_object_get(p, "name"));

			if (pn && strcmp(pn, port) == 0) {
				*peer = json_string_value(json_object_get(p, "peer"));
				*right = !(k == 0 && json_array_size(json_object_get(c, "ports")) > 1);
				return (int)k;
			}
		}
	}
	return -1;
}

/* A port's wire, once. "dot" ranks an edge's tail left of its head, and an
 * undirected wire has no side of its own: a cube's first port faces left
 * (its peer is the tail) and its other ports right, so that a chain wired
 * port1 <- ... -> port2, the usual way, reads left to right. A cube-to-cube
 * wire whose ends point at each other is drawn once: from the end facing
 * right, or the end whose "cube:port" sorts first when both or neither
 * do; a wire one end of which does not point back, from the end that does. */
static void add_wires(Agraph_t *g, json_t *cubes, json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	json_t *ports = json_object_get(c, "ports"), *p;
	size_t i, n = json_array_size(ports);

	json_array_foreach(ports, i, p) {
		const char *pn = json_string_value(json_object_get(p, "name"));
		const char *peer = json_string_value(json_object_get(p, "peer"));
		char self[2 * BROKER_NAME_MAX + 2], pport[BROKER_NAME_MAX];
		Agnode_t *a = agnode(g, (char *)name, 0), *z;
		bool a_right = !(i == 0 && n > 1), z_right;
		const char *back;
		int zpos;

		if (!pn || !peer || !peer[0] || !a)
			continue;
		snprintf(self, sizeof(self), "%s:%s", name, pn);
		z = peer_node(g, peer, pport, sizeof(pport));
		if (!z)
			continue; /* a peer cube that is gone: its port is DOWN */
		if (!pport[0]) {
			if (a_right)
				wire(g, a, pn, z, NULL);
			else
				wire(g, z, NULL, a, pn);
			continue;
		}
		zpos = port_pos(cubes, agnameof(z), pport, &back, &z_right);
		if (zpos >= 0 && back && strcmp(back, self) == 0) {
			if (a_right == z_right ? strcmp(self, peer) > 0 : !a_right)
				continue; /* drawn from the other end */
		}
		wire(g, a, pn, z, pport);
	}
}

static void add_stacks(Agraph_t *g, json_t *stacks)
{
	json_t *t, *name;
	size_t i, k;

	json_array_foreach(stacks, i, t) {
		const char *parent = json_string_value(json_object_get(t, "parent"));
		char pport[BROKER_NAME_MAX];
		const char *tail_port;
		Agnode_t *prev;

		if (!parent)
			continue;
		prev = peer_node(g, parent, pport, sizeof(pport));
		tail_port = pport;
		json_array_foreach(json_object_get(t, "stack"), k, name) {
			Agnode_t *n = json_string_value(name) ? agnode(g, (char *)json_string_value(name), 0) : NULL;
			Agedge_t *e;
			char pos[24];

			if (!n || !prev)
				break;
			e = wire(g, prev, tail_port, n, NULL);
			if (e) {
				snprintf(pos, sizeof(pos), "%zu", k + 1);
				agsafeset(e, "style", "dashed", "");
				agsafeset(e, "label", pos, "");
				agsafeset(e, "class", "stack", "");
			}
			prev = n;
			tail_port = NULL;
		}
	}
}

/* One Graphviz context for the broker's life, made at the first request
 * (it loads the plugins) and kept: Graphviz 2.43's pango plugin remembers
 * the last font name it measured in a static, pointing into the context,
 * and after a gvFreeContext the next context's first label read it freed
 * (AddressSanitizer caught it). The broker's event loop is its only user. */
static GVC_t *ui_gvc;

/* The SVG text of the topology in *out (*len bytes; free with
 * gvFreeRenderData), or -errno. */
static int topology_svg(struct broker *b, char **out, unsigned *len)
{
	json_t *topo, *c;
	GVC_t *gvc;
	Agraph_t *g;
	size_t i;
	int rc;

	if (!ui_gvc)
		ui_gvc = gvContext();
	gvc = ui_gvc;
	if (!gvc)
		return -ENOMEM;
	topo = broker_topology_json(b, NULL);
	g = topo ? agopen("cubemesh", Agundirected, NULL) : NULL;
	if (!g) {
		json_decref(topo);
		return -ENOMEM;
	}
	agattr(g, AGRAPH, "rankdir", "LR");
	agattr(g, AGRAPH, "fontname", "sans-serif");
	/* Room for the page's counters under each node and at the edges. */
	agattr(g, AGRAPH, "pad", "0.5");
	agattr(g, AGRAPH, "nodesep", "0.4");
	agattr(g, AGNODE, "fontname", "sans-serif");
	agattr(g, AGNODE, "fontsize", "11");
	agattr(g, AGNODE, "style", "filled");
	agattr(g, AGNODE, "fillcolor", "#eef3fb");
	agattr(g, AGEDGE, "fontname", "sans-serif");
	agattr(g, AGEDGE, "fontsize", "9");
	json_array_foreach(json_object_get(topo, "cubes"), i, c)
		add_cube(b, g, c);
	json_array_foreach(json_object_get(topo, "cubes"), i, c)
		add_wires(g, json_object_get(topo, "cubes"), c);
	add_stacks(g, json_object_get(topo, "transparent"));
	json_decref(topo);
	rc = gvLayout(gvc, g, "dot");
	if (!rc) {
		rc = gvRenderData(gvc, g, "svg", out, len);
		gvFreeLayout(gvc, g);
	}
	agclose(g);
	return rc ? -EIO : 0;
}

void broker_topology_svg_get(struct broker *b, h2o_req_t *req, const char *seg, const char *name)
{
	struct broker_error err;
	unsigned len = 0;
	char *svg = NULL;
	int rc;

	(void)seg;
	(void)name;
	rc = topology_svg(b, &svg, &len);
	if (rc) {
		PCN_ERR("BROKER-UI-SVG", "cannot lay the topology out with Graphviz: %s", strerror(-rc));
		gvFreeRenderData(svg);
		broker_error_set(&err, 500, "operation-failed", "/topology.svg",
				 "cannot lay the topology out (Graphviz: %s)", strerror(-rc));
		return broker_reply_error(req, &err);
	}
	/* Opened on its own, an SVG is a document that could run script:
	 * this one never needs any. */
	h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL,
			      H2O_STRLIT("default-src 'none'; style-src 'unsafe-inline'"));
	h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
			      H2O_STRLIT("nosniff"));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
	broker_reply(req, 200, "image/svg+xml", svg, len);
	gvFreeRenderData(svg);
}
