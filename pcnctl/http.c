/* pcnctl: HTTP over libcurl.
 *
 * Redirects are followed here rather than by CURLOPT_FOLLOWLOCATION: each
 * hop is then visible under -v, and the method and body are resent exactly
 * for 307/308 whatever the method (curl would also keep a custom method
 * across a 301/302/303, which is wrong for DELETE and PATCH).
 */
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define MAX_REDIRECTS 8
#define DEFAULT_TIMEOUT_S 60

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
	struct pcnctl_response *res = user;
	size_t add = size * n;
	char *b = realloc(res->body, res->len + add + 1);

	if (!b)
		return 0; /* curl then fails with CURLE_WRITE_ERROR */
	memcpy(b + res->len, p, add);
	res->len += add;
	b[res->len] = '\0';
	res->body = b;
	return add;
}

static void reset_response(struct pcnctl_response *res)
{
	free(res->body);
	free(res->content_type);
	memset(res, 0, sizeof(*res));
}

/* Errors that mean "nobody answered at that address". */
static bool unreachable(CURLcode c)
{
	return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
	       c == CURLE_COULDNT_RESOLVE_PROXY || c == CURLE_OPERATION_TIMEDOUT ||
	       c == CURLE_GOT_NOTHING || c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR ||
	       c == CURLE_UNSUPPORTED_PROTOCOL || c == CURLE_URL_MALFORMAT;
}

/* Appends to a header list, which stays whole (for the caller to free) on failure. */
static int add_header(struct curl_slist **list, const char *h)
{
	struct curl_slist *l = curl_slist_append(*list, h);

	if (!l)
		return -ENOMEM;
	*list = l;
	return 0;
}

static int set_method(CURL *c, const char *method, const char *body)
{
	CURLcode rc = curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);

	if (body) {
		rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	/* A body makes curl send POST; any other method is named explicitly. */
	rc |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
			       (!strcmp(method, "GET") || (body && !strcmp(method, "POST"))) ? NULL
											   : method);
	return rc == CURLE_OK ? 0 : -EINVAL;
}

int pcnctl_http_request(const char *method, const char *url, const char *body,
			const struct pcnctl_http_opts *opts, struct pcnctl_response *res,
			char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	char *auth = NULL, *next_url = NULL;
	CURL *c = NULL;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	c = curl_easy_init();
	if (!c) {
		ret = -ENOMEM;
		goto out;
	}
	if (asprintf(&auth, "Authorization: Bearer %s", opts->token ? opts->token : "") < 0) {
		auth = NULL;
		ret = -ENOMEM;
		goto out;
	}
	/* Every write says JSON, with a body or not: the broker refuses a body
	 * of any other type (415), and an explicit type costs nothing. */
	if (add_header(&hdrs, "Accept: application/json") ||
	    ((body || strcmp(method, "GET")) && add_header(&hdrs, "Content-Type: application/json")) ||
	    (opts->token && add_header(&hdrs, auth))) {
		ret = -ENOMEM;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, res);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT,
			 opts->timeout_s > 0 ? opts->timeout_s : (long)DEFAULT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "pcnctl");
	/* The broker is local: never route it through a proxy from the environment. */
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");

	for (int hop = 0;; hop++) {
		const char *loc = NULL, *ct = NULL;
		CURLcode cc;

		reset_response(res);
		errbuf[0] = '\0';
		if (set_method(c, method, body) || curl_easy_setopt(c, CURLOPT_URL, url)) {
			snprintf(err, errlen, "%s: not a usable URL", url);
			ret = -EINVAL;
			goto out;
		}
		if (opts->trace) {
			fprintf(opts->trace, "> %s %s\n", method, url);
			if (body)
				fprintf(opts->trace, "> %s\n", body);
		}
		cc = curl_easy_perform(c);
		if (cc != CURLE_OK) {
			snprintf(err, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
			ret = cc == CURLE_WRITE_ERROR ? -ENOMEM
			      : unreachable(cc)      ? -EHOSTUNREACH
						     : -EIO;
			goto out;
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
		if (!res->body) {
			res->body = strdup("");
			if (!res->body) {
				ret = -ENOMEM;
				goto out;
			}
		}
		if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) {
			res->content_type = strdup(ct);
			if (!res->content_type) {
				ret = -ENOMEM;
				goto out;
			}
		}
		if (opts->trace)
			fprintf(opts->trace, "< %ld\n", res->status);

		/* curl resolves a relative Location against the current URL. */
		if (res->status < 300 || res->status >= 400 ||
		    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc)
			break;
		if (hop == MAX_REDIRECTS) {
			snprintf(err, errlen, "more than %d redirects", MAX_REDIRECTS);
			ret = -ELOOP;
			goto out;
		}
		free(next_url);
		next_url = strdup(loc);
		if (!next_url) {
			ret = -ENOMEM;
			goto out;
		}
		url = next_url;
		/* As browsers do: 303 (and 301/302 after a POST) become a GET. */
		if (res->status == 303 ||
		    ((res->status == 301 || res->status == 302) && !strcmp(method, "POST"))) {
			method = "GET";
			body = NULL;
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
		}
	}
out:
	if (ret)
		reset_response(res);
	free(next_url);
	free(auth);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return ret;
}

void pcnctl_response_fini(struct pcnctl_response *res)
{
	if (res)
		reset_response(res);
}
