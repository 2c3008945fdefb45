/* The HTTP gateway: the only code that speaks h2o. Routes (api_fixed.c,
 * api_cube.c, action.c), request guards and replies (http.c).
 *
 * May call: control/, topology/, model/, store/, dataplane/, slowpath/,
 * core/. Nothing below calls it.
 */
#ifndef BROKER_GATEWAY_H
#define BROKER_GATEWAY_H

#include <h2o.h>
#include <jansson.h>

#include "core/core.h"
#include "model/model.h"

#define BROKER_API_PREFIX "/polycube/v1"

/* http.c ------------------------------------------------------------------ */
int broker_http_start(struct broker *b);
void broker_http_stop(struct broker *b);
/* Replies; body may be NULL. Takes a copy of body. */
void broker_reply(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len);
void broker_reply_json(h2o_req_t *req, int status, json_t *body); /* steals body */
void broker_reply_error(h2o_req_t *req, const struct broker_error *err);

/* A request answered later: survives the client going away. */
struct broker_pending {
	h2o_req_t *req;           /* NULL once the client is gone */
	struct broker *b;
	void *ref;                /* its marker in the request's pool */
	void *data;               /* the caller's */
};
struct broker_pending *broker_pending_new(struct broker *b, h2o_req_t *req);
/* Frees pd and returns its request, or NULL if the client went away. */
h2o_req_t *broker_pending_take(struct broker_pending *pd);

/* api_fixed.c / api_cube.c ------------------------------------------------ */
int broker_api_fixed(struct broker *b, h2o_req_t *req, const char *seg, const char *rest, size_t rest_len);
int broker_api_cube(struct broker *b, h2o_req_t *req, const char *path, size_t path_len);
/* The route of a path's first segment seg and the rest of the path after
 * it: 0 with *allow the methods of the resource and its name (the second
 * segment, "" for the collection; n bytes) in name; -ENOENT when seg is no
 * fixed route (a service's, api_cube.c); -ENOTDIR when the path goes deeper
 * than the resource (a 404). broker_api_fixed's lookup, without a request. */
int broker_fixed_route(const char *seg, const char *rest, size_t rest_len, const char **allow, char *name,
		       size_t n);
/* allow: the methods a resource supports ("GET, HEAD, OPTIONS"). Answers
 * OPTIONS (204) and any other method (405), both with an Allow header, and
 * returns 1; 0 when the request's method is in allow and not OPTIONS. */
int broker_method_check(h2o_req_t *req, const char *allow);
/* POST /attach (attach true) and /detach of a transparent cube. */
void broker_attach_post(struct broker *b, h2o_req_t *req, bool attach);
/* action.c: answers a POST on a YANG action's path and returns 0; returns 1
 * (having answered nothing) when path names no action. */
int broker_action_post(struct broker *b, h2o_req_t *req, const char *path, size_t path_len);
/* stream.c: a request on /<service>/<instance>/<stream> where the service
 * registered that stream: answered (a live stream, or its error) and 0;
 * 1 (nothing answered) for any other path. path as broker_api_cube's. */
int broker_stream_get(struct broker *b, h2o_req_t *req, const char *path, size_t path_len);
/* openapi.c: the OpenAPI 3.0 document of the API as it stands now (the
 * fixed routes, each registered service's model, its streams); and GET
 * /openapi.json, a fixed route. */
json_t *broker_openapi_doc(struct broker *b);
void broker_openapi_get(struct broker *b, h2o_req_t *req, const char *seg, const char *name);
/* ui.c: the topology page under /ui/ (and "/" for a browser): answered
 * and 0; 1 (nothing answered) for any other path (path: the request's,
 * without its query). ui_svg.c: GET /topology.svg, a fixed route. */
int broker_ui_serve(struct broker *b, h2o_req_t *req, const char *path, size_t len);
void broker_topology_svg_get(struct broker *b, h2o_req_t *req, const char *seg, const char *name);

#endif
