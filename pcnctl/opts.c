/* pcnctl: global options (see opts.h). */
#include "opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Takes the value of "--name value" or "--name=value". Returns the value, or
 * NULL when the option is not this one. *i moves past a separate value. */
static const char *opt_value(const char *name, int argc, char **argv, int *i, bool *missing)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

/* The base URL always ends with '/', so that request paths simply append. */
static char *normalize_url(const char *url)
{
	size_t n = strlen(url);
	char *s = malloc(n + 2);

	if (!s)
		return NULL;
	memcpy(s, url, n + 1);
	if (n == 0 || s[n - 1] != '/') {
		s[n] = '/';
		s[n + 1] = '\0';
	}
	return s;
}

int pcnctl_opts_init(struct pcnctl_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	const char *url = getenv("PCN_URL");
	bool words_only = false;
	int ret = 0;

	memset(o, 0, sizeof(*o));
	o->token = getenv("PCN_TOKEN");
	if (o->token && !*o->token)
		o->token = NULL;
	o->words = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*o->words));
	if (!o->words)
		return -ENOMEM;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool missing = false;
		const char *v;

		/* Words never start with '-' in this syntax (keys and k=v pairs
		 * do not), so options may be given anywhere, as people type them
		 * after the command. "--" lets a word start with '-'. */
		if (words_only || a[0] != '-' || a[1] == '\0') {
			o->words[o->nwords++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			words_only = true;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			o->json = true;
			o->yaml = false;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			o->verbose = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			o->help = true;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			o->version = true;
		} else if (!strcmp(a, "-f") || !strcmp(a, "--follow")) {
			o->follow = true;
		} else if ((v = opt_value("-o", argc, argv, &i, &missing)) || missing ||
			   (v = opt_value("--output", argc, argv, &i, &missing)) || missing) {
			/* -o table (the default), json (as -j) or yaml; the last wins. */
			if (missing || (strcmp(v, "table") && strcmp(v, "json") && strcmp(v, "yaml"))) {
				snprintf(err, errlen, "-o takes table, json or yaml");
				ret = -EINVAL;
				goto out;
			}
			o->json = !strcmp(v, "json");
			o->yaml = !strcmp(v, "yaml");
		} else if ((v = opt_value("--service", argc, argv, &i, &missing)) || missing) {
			if (missing || !*v) {
				snprintf(err, errlen, "--service needs a value");
				ret = -EINVAL;
				goto out;
			}
			o->service = v;
		} else if ((v = opt_value("--url", argc, argv, &i, &missing)) || missing) {
			if (missing || !*v) {
				snprintf(err, errlen, "--url needs a value");
				ret = -EINVAL;
				goto out;
			}
			url = v;
		} else if ((v = opt_value("--token", argc, argv, &i, &missing)) || missing) {
			if (missing) {
				snprintf(err, errlen, "--token needs a value");
				ret = -EINVAL;
				goto out;
			}
			o->token = *v ? v : NULL;
		} else {
			snprintf(err, errlen, "unknown option '%s'", a);
			ret = -EINVAL;
			goto out;
		}
	}

	o->url = normalize_url(url && *url ? url : PCNCTL_DEFAULT_URL);
	if (!o->url)
		ret = -ENOMEM;
out:
	if (ret)
		pcnctl_opts_fini(o);
	return ret;
}

void pcnctl_opts_fini(struct pcnctl_opts *o)
{
	if (!o)
		return;
	free(o->words);
	free(o->url);
	memset(o, 0, sizeof(*o));
}
