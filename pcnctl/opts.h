/* pcnctl's global options: where the broker is, how to print, how to log. */
#ifndef PCNCTL_OPTS_H
#define PCNCTL_OPTS_H

#include <stdbool.h>
#include <stddef.h>

#define PCNCTL_DEFAULT_URL "http://127.0.0.1:9000/polycube/v1/"

/* Global options. Filled by pcnctl_opts_init; release with pcnctl_opts_fini. */
struct pcnctl_opts {
	char *url;          /* base URL of the API, always ending with '/' */
	const char *token;  /* bearer token, or NULL */
	bool json;          /* -j: print the response as JSON */
	bool yaml;          /* -o yaml: print the response as YAML (libyaml) */
	bool verbose;       /* -v: print each HTTP request line on stderr */
	bool help;          /* --help */
	bool version;       /* --version */
	bool follow;        /* -f, --follow: pcnctl logs keeps printing new lines */
	const char *service; /* --service S: pcnctl logs of that service only, or NULL */
	int nwords;         /* the words left once options are removed */
	char **words;       /* points into argv; the array itself is owned */
};

/* Parses argv (argv[0] is the program name). Options may appear anywhere
 * before "--"; everything after "--" is a word. The URL and token default to
 * $PCN_URL and $PCN_TOKEN. Returns 0, -EINVAL with a message in err for a
 * usage error, or -ENOMEM. On error nothing needs releasing. */
int pcnctl_opts_init(struct pcnctl_opts *o, int argc, char **argv, char *err, size_t errlen);
void pcnctl_opts_fini(struct pcnctl_opts *o);

#endif
