/* The topology page: /ui/ and its two assets, compiled into the broker
 * (cmake/embed.cmake: broker/gateway/ui/). The page only reads: it fetches
 * topology.svg, /topology, /services, /metrics, /logs and an instance's
 * configuration from the API with the same guards as any client (a token,
 * when the broker has one, is typed into the page and sent as a bearer
 * header; the page sends no Origin on its same-origin GETs, and writes
 * none). Its assets hold no data, so they are served without the token: a
 * browser cannot send one when it navigates.
 *
 * The headers say what the page may do: its own scripts and styles only
 * (no inline script, no eval), fetches to this gateway only, no frames
 * around it, no forms. */
#include <string.h>

#include "gateway/gateway.h"
#include "ui_index_html.h"
#include "ui_app_js.h"
#include "ui_style_css.h"

#define UI_PREFIX "/ui/"

static const struct ui_asset {
	const char *path; /* after UI_PREFIX */
	const char *type;
	const char *body;
	const unsigned long *len;
} ui_assets[] = {
	{ "", "text/html; charset=utf-8", ui_index_html, &ui_index_html_len },
	{ "index.html", "text/html; charset=utf-8", ui_index_html, &ui_index_html_len },
	{ "app.js", "text/javascript; charset=utf-8", ui_app_js, &ui_app_js_len },
	{ "style.css", "text/css; charset=utf-8", ui_style_css, &ui_style_css_len },
};

static void add_header(h2o_req_t *req, const char *name, const char *value)
{
	h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, NULL, value, strlen(value));
}

static void security_headers(h2o_req_t *req)
{
	add_header(req, "content-security-policy",
		   "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
		   "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
	add_header(req, "x-content-type-options", "nosniff");
	add_header(req, "x-frame-options", "DENY");
	add_header(req, "referrer-policy", "no-referrer");
	add_header(req, "cache-control", "no-cache");
}

/* Whether the client asked for a page (a browser's Accept names
 * text/html); API clients (curl, pcnctl) do not. */
static bool wants_html(h2o_req_t *req)
{
	ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, -1);

	return i >= 0 && h2o_strstr(req->headers.entries[i].value.base, req->headers.entries[i].value.len,
				    H2O_STRLIT("text/html")) != SIZE_MAX;
}

int broker_ui_serve(struct broker *b, h2o_req_t *req, const char *path, size_t len)
{
	size_t plen = strlen(UI_PREFIX);

	(void)b;
	/* "/": a browser goes to the page; anything else gets what it got
	 * before the page existed (the 404 naming the API's prefix). */
	if (len == 1 && path[0] == '/') {
		if (!wants_html(req))
			return 1;
		if (broker_method_check(req, "GET, HEAD, OPTIONS"))
			return 0;
		add_header(req, "location", UI_PREFIX);
		broker_reply(req, 303, "text/plain; charset=utf-8", "See /ui/\n", 9);
		return 0;
	}
	if (len == plen - 1 && memcmp(path, UI_PREFIX, len) == 0) {
		add_header(req, "location", UI_PREFIX);
		broker_reply(req, 301, "text/plain; charset=utf-8", "See /ui/\n", 9);
		return 0;
	}
	if (len < plen || memcmp(path, UI_PREFIX, plen) != 0)
		return 1;
	for (size_t i = 0; i < sizeof(ui_assets) / sizeof(ui_assets[0]); i++) {
		const struct ui_asset *a = &ui_assets[i];

		if (len - plen != strlen(a->path) || memcmp(path + plen, a->path, len - plen) != 0)
			continue;
		if (broker_method_check(req, "GET, HEAD, OPTIONS"))
			return 0;
		security_headers(req);
		broker_reply(req, 200, a->type, a->body, *a->len);
		return 0;
	}
	{
		struct broker_error err;

		broker_error_set(&err, 404, "invalid-value", NULL, "the page has no %.*s", (int)(len > 80 ? 80 : len),
				 path);
		broker_reply_error(req, &err);
	}
	return 0;
}
