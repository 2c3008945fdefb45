/* pcnctl's command line: the translation of the words that follow the
 * options into one HTTP request.
 *
 * pcnctl knows no YANG schema. It maps words to a URL with a fixed rule
 * (polycubectl's syntax), and leaves every check of names and values to
 * the broker, which answers with a RESTCONF error when something is wrong:
 *
 *   pcnctl <w1> <w2> ... <verb> [key ...] [k=v ...]
 *
 * Words before the verb are URL segments; positional words after add, del
 * or show are list keys (one URL segment each, escaped); k=v pairs make a
 * JSON object whose values are strings (the broker coerces them to the
 * model's types). A "?" anywhere asks for help on the node instead.
 */
#ifndef PCNCTL_ARGS_H
#define PCNCTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

/* What a list of words asks for. */
struct pcnctl_request {
	const char *method;  /* "GET", "POST", "PATCH" or "DELETE"; NULL with local_help */
	char *path;          /* relative to the base URL: "helloworld/hw1/", "hw1/?help" */
	char *body;          /* compact JSON text, or NULL for no body */
	bool help;           /* the answer is the model's help for the node */
	bool local_help;     /* print pcnctl's own usage: the broker has no help here */
	char *words;         /* the path words joined by spaces, to print commands in help */
	/* polycubectl's form of an action with input, "fw1 chain INGRESS
	 * append src=10.0.0.1 action=FORWARD" (k=v right after the path, no
	 * verb): a POST of the pairs, to be sent only if the broker's help
	 * says the node is an action (main.c asks first). */
	bool action_only;
	/* A GET with no verb ("fw1 chain INGRESS reset-counters"): if the
	 * broker refuses it (405) and its help says the node is an action,
	 * main.c POSTs to it instead, as polycubectl runs an action without
	 * input. */
	bool maybe_action;
	/* polycubectl's "k=<<<TEXT" (a pair with no value, after add, set or
	 * as an action's input): the shell's here-string is the body, read
	 * from stdin as YAML or JSON by main.c, replacing the pairs. */
	bool body_from_stdin;
};

/* Translates the words into a request. Returns 0 and sets *out, -EINVAL with
 * a message in err when the words are not a valid command, or -ENOMEM. */
int pcnctl_request_create(struct pcnctl_request **out, int nwords, char *const *words,
			  char *err, size_t errlen);
void pcnctl_request_destroy(struct pcnctl_request *req);

/* Percent-encodes one URL path segment: every byte outside RFC 3986's
 * unreserved set is escaped, so "10.0.1.0/24" stays one segment. Returns a
 * malloc'ed string or NULL on ENOMEM. */
char *pcnctl_escape_segment(const char *s);

#endif
