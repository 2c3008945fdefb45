/* pcnctl's HTTP client: one request to the broker, redirects included. */
#ifndef PCNCTL_HTTP_H
#define PCNCTL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct pcnctl_http_opts {
	const char *token;  /* sent as "Authorization: Bearer <token>", or NULL */
	FILE *trace;        /* -v: each request line and status is written here, or NULL */
	long timeout_s;     /* whole exchange; 0 means the default (60 s) */
};

/* A response. Release with pcnctl_response_fini. */
struct pcnctl_response {
	long status;         /* HTTP status of the last hop */
	char *body;          /* always NUL-terminated (empty when there is none) */
	size_t len;
	char *content_type;  /* or NULL */
};

/* Sends method url [body] and follows redirects (at most 8). A 307 or 308
 * is followed with the same method and body; the broker answers 308 to
 * /<name>/... so that a PATCH or POST reaches /<svc>/<name>/... intact.
 * Returns 0 with any HTTP status in res; -EHOSTUNREACH when the broker
 * cannot be reached, -ELOOP on too many redirects, -EIO for any other
 * transport failure (with curl's message in err), or -ENOMEM. */
int pcnctl_http_request(const char *method, const char *url, const char *body,
			const struct pcnctl_http_opts *opts, struct pcnctl_response *res,
			char *err, size_t errlen);
void pcnctl_response_fini(struct pcnctl_response *res);

#endif
