/* GET /openapi.json: an OpenAPI 3.0 document of the API as it stands now,
 * built at each request: the fixed routes (their methods read from the
 * same table the dispatcher uses, broker_fixed_route), the resources of
 * every service whose model is registered (model/openapi.c walks it), and
 * the live streams each registered process declared (stream.c). A service
 * that registers later is in the next document: the text is kept only
 * while no service registered, upgraded or went away since it was built. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "gateway/gateway.h"
#include "log.h"

/* A fixed route's documentation: what its body and answer look like. The
 * methods come from the route table, not from here. */
struct fixed_doc {
	const char *seg;
	const char *summary;
	const char *item_summary;  /* /<seg>/{name}; NULL: none */
	const char *media;         /* the GET answer's media type */
	const char *get_schema;    /* JSON of the GET answer's schema */
	const char *post_schema;   /* JSON of the POST body's schema, or NULL */
	const char *query;         /* space-separated query parameters of GET */
};

#define S_OBJ "{\"type\":\"object\"}"
#define S_ARR_OBJ "{\"type\":\"array\",\"items\":{\"type\":\"object\"}}"
#define S_STR "{\"type\":\"string\"}"
#define S_HOOK "{\"type\":\"string\",\"enum\":[\"TC\",\"XDP_SKB\",\"XDP_DRV\"]}"
/* How one of Cubemesh's programs sits at a hook (dataplane/netdev*.c). */
#define S_HOOKAT                                                                                                     \
	"{\"type\":\"object\",\"properties\":{\"hook\":" S_HOOK ",\"attach\":{\"type\":\"string\",\"enum\":[\"tcx\"," \
	"\"clsact\",\"dispatcher\",\"direct\",\"refused\"]}}}"
/* A netdev: GET /netdevs' items. cubemesh-attach: the input program of the
 * port peered with it (why: a refusal's reason; run-priority: in libxdp's
 * dispatcher), and "transparent": the entries of a transparent stack. */
#define S_NETDEVS                                                                                                    \
	"{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"name\":" S_STR                        \
	",\"ifindex\":{\"type\":\"integer\"},\"mac\":" S_STR ",\"mtu\":{\"type\":\"integer\"},\"status\":{\"type\":"  \
	"\"string\",\"enum\":[\"UP\",\"DOWN\"]},\"type\":" S_STR ",\"peer-offload\":{\"type\":\"object\",\"description\":" \
	"\"offloads Cubemesh turned off on this veth's other end\"},\"cubemesh-attach\":{\"type\":\"object\","      \
	"\"properties\":{\"hook\":" S_HOOK ",\"attach\":" S_STR ",\"why\":" S_STR ",\"run-priority\":{\"type\":"     \
	"\"integer\"},\"transparent\":{\"type\":\"object\",\"properties\":{\"ingress\":" S_HOOKAT ",\"egress\":"    \
	S_HOOKAT "}}}}}}}"

static const struct fixed_doc fixed_docs[] = {
	{ "", "The API's entry points (links)", NULL, "application/json", S_OBJ, NULL, NULL },
	{ "services", "The cube types known to the broker, with their state", "One cube type", "application/json",
	  S_ARR_OBJ, NULL, NULL },
	{ "cubes", "Every instance (POST: create several at once, all or none)", "One instance", "application/json",
	  S_ARR_OBJ,
	  "{\"type\":\"array\",\"minItems\":1,\"items\":{\"type\":\"object\",\"required\":[\"service-name\",\"name\"],"
	  "\"properties\":{\"service-name\":" S_STR ",\"name\":" S_STR "},\"additionalProperties\":true}}",
	  NULL },
	{ "netdevs", "The host's network devices", "One network device", "application/json", S_NETDEVS, NULL, NULL },
	{ "connect", "Wire a cube's port to a netdev or to another cube's port", NULL, NULL, NULL,
	  "{\"type\":\"object\",\"required\":[\"peer1\",\"peer2\"],\"properties\":{\"peer1\":{\"type\":\"string\","
	  "\"description\":\"cube:port\"},\"peer2\":{\"type\":\"string\",\"description\":\"netdev or cube:port\"}}}",
	  NULL },
	{ "disconnect", "Remove a wire", NULL, NULL, NULL,
	  "{\"type\":\"object\",\"required\":[\"peer1\",\"peer2\"],\"properties\":{\"peer1\":" S_STR
	  ",\"peer2\":" S_STR "}}",
	  NULL },
	{ "attach", "Attach a transparent cube to a port or netdev", NULL, NULL, NULL,
	  "{\"type\":\"object\",\"required\":[\"cube\",\"port\"],\"properties\":{\"cube\":" S_STR ",\"port\":" S_STR
	  ",\"position\":{\"type\":\"string\",\"enum\":[\"first\",\"last\",\"before\",\"after\",\"auto\"]},"
	  "\"other\":" S_STR "}}",
	  NULL },
	{ "detach", "Detach a transparent cube", NULL, NULL, NULL,
	  "{\"type\":\"object\",\"required\":[\"cube\",\"port\"],\"properties\":{\"cube\":" S_STR ",\"port\":" S_STR
	  "}}",
	  NULL },
	{ "topology", "Cubes, ports, wires and transparent stacks", "The topology around one cube",
	  "application/json", S_OBJ, NULL, NULL },
	{ "topology.svg", "The topology drawn as SVG", NULL, "image/svg+xml", S_STR, NULL, NULL },
	{ "version", "The broker's version and protocol version", NULL, "application/json",
	  "{\"type\":\"object\",\"properties\":{\"name\":" S_STR ",\"version\":" S_STR
	  ",\"protocol-version\":{\"type\":\"integer\"}}}",
	  NULL, NULL },
	{ "metrics", "Counters in the OpenMetrics text format", NULL, "text/plain", S_STR, NULL, NULL },
	{ "logs", "The log lines the broker keeps", NULL, "application/json", S_ARR_OBJ, NULL, "service cube since" },
	{ "openapi.json", "This document", NULL, "application/json", S_OBJ, NULL, NULL },
};

static json_t *op_new(const char *id, const char *summary, const char *tag)
{
	return json_pack("{s:s, s:s, s:[s], s:{s:{s:s}, s:{s:s}}}", "operationId", id, "summary", summary, "tags",
			 tag, "responses", "4XX", "$ref", "#/components/responses/Error", "default", "$ref",
			 "#/components/responses/Error");
}

static json_t *schema_of(const char *text)
{
	json_t *s = json_loads(text, 0, NULL);

	if (!s)
		PCN_ERR("BROKER-OAPI-SCHEMA", "a fixed route's schema does not parse: %s", text);
	return s ? s : json_object();
}

static void op_id(char *buf, size_t n, const char *verb, const char *seg, bool item)
{
	size_t o = (size_t)snprintf(buf, n, "%s_%s%s", verb, seg[0] ? seg : "root", item ? "_item" : "");

	for (size_t i = 0; i < o && i < n; i++)
		if (buf[i] == '.')
			buf[i] = '_';
}

/* The path item of /<seg> (item false) or /<seg>/{name}, with the verbs
 * allow lists; NULL when the route does not exist. */
static json_t *fixed_item(const struct fixed_doc *d, bool item)
{
	char name[8], id[64];
	const char *allow = NULL;
	json_t *pi;

	if (broker_fixed_route(d->seg, item ? "/x" : "", item ? 2 : 0, &allow, name, sizeof(name)) || !allow)
		return NULL;
	pi = json_object();
	if (item)
		json_object_set_new(pi, "parameters",
				    json_pack("[{s:s, s:s, s:b, s:{s:s}}]", "name", "name", "in", "path", "required", 1,
					      "schema", "type", "string"));
	if (strstr(allow, "GET")) {
		json_t *op, *query = json_array(), *schema = schema_of(d->get_schema ? d->get_schema : S_OBJ);

		op_id(id, sizeof(id), "get", d->seg, item);
		op = op_new(id, item ? d->item_summary : d->summary, "mesh");
		/* /<seg>/{name} answers one element of /<seg>'s array. */
		if (item && json_is_object(json_object_get(schema, "items"))) {
			json_t *one = json_incref(json_object_get(schema, "items"));

			json_decref(schema);
			schema = one;
		}
		json_object_set_new(json_object_get(op, "responses"), "200",
				    json_pack("{s:s, s:{s:{s:o}}}", "description", "OK", "content",
					      d->media ? d->media : "application/json", "schema", schema));
		if (d->query && !item) {
			char q[64], *save = NULL;

			snprintf(q, sizeof(q), "%s", d->query);
			for (char *w = strtok_r(q, " ", &save); w; w = strtok_r(NULL, " ", &save))
				json_array_append_new(query, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", w, "in",
								       "query", "required", 0, "schema", "type",
								       "string"));
			json_object_set(op, "parameters", query);
		}
		json_decref(query);
		json_object_set_new(pi, "get", op);
	}
	if (strstr(allow, "POST")) {
		json_t *op;

		op_id(id, sizeof(id), "post", d->seg, item);
		op = op_new(id, d->summary, "mesh");
		json_object_set_new(op, "requestBody",
				    json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content", "application/json", "schema",
					      schema_of(d->post_schema ? d->post_schema : S_OBJ)));
		json_object_set_new(json_object_get(op, "responses"), "200", json_pack("{s:s}", "description", "Done"));
		json_object_set_new(pi, "post", op);
	}
	return pi;
}

/* GET /<service>/{<service>_name}/<stream> of each stream a registered
 * process declared; the media type is the cube's, told at open. */
static void add_streams(struct broker *b, json_t *paths)
{
	for (struct broker_service *s = b->services; s; s = s->next) {
		struct broker_service_info info;

		if (broker_models_info(b->models, s->name, &info))
			continue;
		for (unsigned k = 0; k < s->n_streams; k++) {
			char path[3 * BROKER_NAME_MAX + 16], param[BROKER_NAME_MAX + 8], id[3 * BROKER_NAME_MAX + 16],
				summary[BROKER_NAME_MAX + 64];
			json_t *op;

			snprintf(param, sizeof(param), "%s_name", s->name);
			snprintf(path, sizeof(path), "/%s/{%s}/%s", s->name, param, s->streams[k]);
			snprintf(id, sizeof(id), "stream_%s_%s", s->name, s->streams[k]);
			for (char *c = id; *c; c++)
				if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
					*c = '_';
			snprintf(summary, sizeof(summary), "Live stream %s of an instance", s->streams[k]);
			op = op_new(id, summary, s->name);
			json_object_set_new(op, "description",
					    json_string("Chunked, as the instance produces it, until the client or the "
							"instance goes away"));
			json_object_set_new(json_object_get(op, "responses"), "200",
					    json_pack("{s:s, s:{s:{s:{s:s, s:s}}}}", "description", "The stream", "content",
						      "*/*", "schema", "type", "string", "format", "binary"));
			json_object_set_new(paths, path,
					    json_pack("{s:[{s:s, s:s, s:b, s:{s:s}}], s:o}", "parameters", "name", param, "in",
						      "path", "required", 1, "schema", "type", "string", "get", op));
		}
	}
}

/* The RESTCONF error body every failure carries (broker_error_json). */
static json_t *error_schema(void)
{
	return schema_of(
		"{\"type\":\"object\",\"required\":[\"ietf-restconf:errors\"],\"properties\":{\"ietf-restconf:errors\":"
		"{\"type\":\"object\",\"required\":[\"error\"],\"properties\":{\"error\":{\"type\":\"array\",\"items\":"
		"{\"type\":\"object\",\"required\":[\"error-tag\",\"error-message\"],\"properties\":{"
		"\"error-type\":{\"type\":\"string\",\"enum\":[\"transport\",\"rpc\",\"protocol\",\"application\"]},"
		"\"error-tag\":{\"type\":\"string\",\"description\":\"invalid-value, unknown-element, missing-element, "
		"data-exists, data-missing, operation-not-supported, access-denied, malformed-message, too-big, "
		"operation-failed, resource-denied...\"},"
		"\"error-path\":{\"type\":\"string\"},\"error-message\":{\"type\":\"string\"}}}}}}}}");
}

json_t *broker_openapi_doc(struct broker *b)
{
	json_t *doc, *paths = json_object(), *schemas = json_object();

	for (size_t i = 0; i < sizeof(fixed_docs) / sizeof(fixed_docs[0]); i++) {
		json_t *pi = fixed_item(&fixed_docs[i], false);
		char p[64];

		if (pi) {
			snprintf(p, sizeof(p), "/%s", fixed_docs[i].seg);
			json_object_set_new(paths, p, pi);
		}
		if (fixed_docs[i].item_summary && (pi = fixed_item(&fixed_docs[i], true))) {
			snprintf(p, sizeof(p), "/%s/{name}", fixed_docs[i].seg);
			json_object_set_new(paths, p, pi);
		}
	}
	for (struct broker_service *s = b->services; s; s = s->next)
		broker_openapi_service(b->models, s->name, paths, schemas); /* -ENOENT: not registered */
	add_streams(b, paths);
	json_object_set_new(schemas, "RestconfErrors", error_schema());
	doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:[{s:[]}, {}], s:o, s:{s:o, s:{s:{s:s, "
			"s:{s:{s:{s:s}}}}}, s:{s:{s:s, s:s}}}}",
			"openapi", "3.0.3", "info", "title", "Cubemesh REST API", "version", CUBEMESH_VERSION,
			"description",
			"Generated from the YANG models of the services registered now. Each resource also answers "
			"OPTIONS (its Allow header) and HEAD where it answers GET; GET ?help describes a node.",
			"servers", "url", BROKER_API_PREFIX, "security", "bearer", "paths", paths, "components",
			"schemas", schemas, "responses", "Error", "description", "A RESTCONF error (RFC 8040 7.1)",
			"content", "application/json", "schema", "$ref", "#/components/schemas/RestconfErrors",
			"securitySchemes", "bearer", "type", "http", "scheme", "bearer");
	return doc;
}

/* What the document depends on: each service's name, registration
 * (a new process may bring another model text, or other streams) and
 * whether its model is loaded. */
static unsigned long doc_signature(const struct broker *b)
{
	unsigned long h = 5381;

	for (const struct broker_service *s = b->services; s; s = s->next) {
		for (const char *c = s->name; *c; c++)
			h = h * 33 + (unsigned char)*c;
		h = h * 33 + s->gen;
		h = h * 33 + s->registrations;
		h = h * 33 + s->registered;
		h = h * 33 + s->n_streams;
	}
	return h;
}

/* The last document, as text: with every cube registered it is ~1 MB and
 * takes the loop ~100 ms to build, so it is built again only when what it
 * depends on changed (a registration, an upgrade). One broker per process;
 * the pointer tells a test's second broker apart. */
static struct {
	const struct broker *b;
	unsigned long sig;
	char *text;
	size_t len;
} cache;

void broker_openapi_get(struct broker *b, h2o_req_t *req, const char *seg, const char *name)
{
	unsigned long sig = doc_signature(b);

	(void)seg;
	(void)name;
	if (!cache.text || cache.b != b || cache.sig != sig) {
		json_t *doc = broker_openapi_doc(b);
		char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

		json_decref(doc);
		if (!text) {
			broker_reply(req, 500, "text/plain", "cannot encode the document\n", 27);
			return;
		}
		free(cache.text);
		cache.b = b;
		cache.sig = sig;
		cache.text = text;
		cache.len = strlen(text);
	}
	broker_reply(req, 200, "application/json", cache.text, cache.len);
}
