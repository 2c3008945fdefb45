/* pcnctl logs (see logs.h). */
#include "logs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "args.h"
#include "format.h"
#include "http.h"

int pcnctl_logs_parse(struct pcnctl_logs *l, const struct pcnctl_opts *o, char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	if (o->nwords < 1 || strcmp(o->words[0], "logs") != 0) {
		if (o->follow || o->service) {
			snprintf(err, errlen, "%s only goes with 'pcnctl logs'", o->follow ? "--follow" : "--service");
			return -EINVAL;
		}
		return 1;
	}
	if (o->nwords > 2) {
		snprintf(err, errlen, "'pcnctl logs' takes one cube at most (got '%s' after '%s')", o->words[2],
			 o->words[1]);
		return -EINVAL;
	}
	l->cube = o->nwords == 2 ? o->words[1] : NULL;
	l->service = o->service;
	l->follow = o->follow;
	return 0;
}

/* Appends "&key=<escaped value>" to *path; 0 or -ENOMEM. */
static int add_arg(char **path, const char *key, const char *value)
{
	char *esc = pcnctl_escape_segment(value), *p = NULL;
	int rc = -ENOMEM;

	if (esc && asprintf(&p, "%s&%s=%s", *path, key, esc) >= 0) {
		free(*path);
		*path = p;
		rc = 0;
	}
	free(esc);
	return rc;
}

char *pcnctl_logs_path(const struct pcnctl_logs *l, uint64_t since)
{
	char *path = NULL;

	if (asprintf(&path, "logs?since=%" PRIu64, since) < 0)
		return NULL;
	if ((l->service && add_arg(&path, "service", l->service)) || (l->cube && add_arg(&path, "cube", l->cube))) {
		free(path);
		return NULL;
	}
	return path;
}

/* "2026-11-25T22:30:01.123Z" from milliseconds since the epoch. */
static void stamp(char *buf, size_t n, json_int_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	size_t k;

	gmtime_r(&s, &tm);
	k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%03dZ", (int)(ms % 1000));
}

static const char *str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

int pcnctl_logs_print(FILE *out, const char *body, bool json, uint64_t *next)
{
	json_t *doc = json_loads(body, 0, NULL), *lines, *line;
	json_int_t nx;
	size_t i;
	int n = 0;

	lines = json_object_get(doc, "lines");
	nx = json_integer_value(json_object_get(doc, "next"));
	if (!json_is_array(lines) || !json_is_integer(json_object_get(doc, "next")) || nx < 0) {
		json_decref(doc);
		return -EINVAL;
	}
	json_array_foreach(lines, i, line) {
		char when[40];

		if (json) {
			char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);

			if (s)
				fprintf(out, "%s\n", s);
			free(s);
		} else {
			const char *cube = str_of(line, "cube");

			stamp(when, sizeof(when), json_integer_value(json_object_get(line, "time")));
			fprintf(out, "%s %s %s%s%s %s: %s\n", when, str_of(line, "level"), str_of(line, "service"),
				*cube ? "/" : "", cube, str_of(line, "source"), str_of(line, "message"));
		}
		n++;
	}
	fflush(out);
	*next = (uint64_t)nx;
	json_decref(doc);
	return n;
}

/* One GET of the lines from *since on; prints them and moves *since. Returns
 * the number of lines, or a pcnctl exit status as a negative number. */
static int fetch(const struct pcnctl_opts *o, const struct pcnctl_logs *l, const struct pcnctl_http_opts *h,
		 uint64_t *since)
{
	struct pcnctl_response res = { 0 };
	char err[512] = "", *path = pcnctl_logs_path(l, *since), *url = NULL;
	int rc = -1;

	if (!path || asprintf(&url, "%s%s", o->url, path) < 0) {
		url = NULL;
		fprintf(stderr, "pcnctl: %s\n", strerror(ENOMEM));
		goto out;
	}
	rc = pcnctl_http_request("GET", url, NULL, h, &res, err, sizeof(err));
	if (rc == -EHOSTUNREACH || rc == -EIO) {
		fprintf(stderr, "pcnctl: cannot reach the broker at %s: %s\n", o->url, err);
		rc = -3;
	} else if (rc) {
		fprintf(stderr, "pcnctl: %s\n", rc == -ENOMEM ? strerror(ENOMEM) : err);
		rc = -1;
	} else if (res.status < 200 || res.status >= 300) {
		pcnctl_print_error(stderr, res.status, res.body);
		rc = -1;
	} else if ((rc = pcnctl_logs_print(stdout, res.body, o->json, since)) < 0) {
		fprintf(stderr, "pcnctl: the broker's answer to GET %s is not a log page\n", path);
		rc = -1;
	}
out:
	pcnctl_response_fini(&res);
	free(url);
	free(path);
	return rc;
}

int pcnctl_logs_run(const struct pcnctl_opts *o, const struct pcnctl_logs *l)
{
	struct pcnctl_http_opts h = { .token = o->token, .trace = o->verbose ? stderr : NULL };
	const struct timespec pause = { PCNCTL_LOGS_POLL_MS / 1000, (PCNCTL_LOGS_POLL_MS % 1000) * 1000000L };
	uint64_t since = 0;
	int n, status = 0;

	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "pcnctl: cannot initialise libcurl\n");
		return 1;
	}
	for (;;) {
		n = fetch(o, l, &h, &since);
		if (n < 0) {
			status = -n;
			break;
		}
		/* A full page means more lines were there when the broker
		 * answered: ask right away. A shorter one reached the end:
		 * stop there (lines that keep coming would never let a plain
		 * `pcnctl logs` end), or wait for more when following. */
		if (n >= PCNCTL_LOGS_PAGE)
			continue;
		if (!l->follow)
			break;
		nanosleep(&pause, NULL);
	}
	curl_global_cleanup();
	return status;
}
