/* pcnctl: the command line over Cubemesh's REST API, with polycubectl's syntax.
 *
 * Exit status: 0 on a 2xx answer, 1 on an HTTP error (or an internal one),
 * 2 on a usage error, 3 when the broker cannot be reached.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "args.h"
#include "completion.h"
#include "declare.h"
#include "format.h"
#include "http.h"
#include "logs.h"
#include "opts.h"

#ifndef PCNCTL_VERSION
#define PCNCTL_VERSION "0"
#endif

enum { EXIT_OK = 0, EXIT_HTTP = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

static void usage(FILE *out)
{
	/* One usage line per string, each ending in \n, none wider than 80
	 * columns (pcnctl_cli_test.py checks both). */
	fputs("Usage: pcnctl [options] <path words...> [add|del|set|show] [keys...] [k=v ...]\n"
	      "\n"
	      "Commands:\n"
	      "  pcnctl <svc> add <name> [k=v ...]      create an instance (POST)\n"
	      "  pcnctl <name> [words...] show [keys]   read a node (GET); show is the default\n"
	      "  pcnctl <name> [words...] set k=v ...   change leaves (PATCH)\n"
	      "  pcnctl <name> <list> add <keys> [k=v]  add a list entry (POST)\n"
	      "  pcnctl <name> [<list> <keys>] del      delete (DELETE)\n"
	      "  pcnctl connect <cube:port> <peer>      wire a port to a netdev or a cube port\n"
	      "  pcnctl disconnect <cube:port> <peer>\n"
	      "  pcnctl attach <cube> <port> [where]    where: position=auto|first|last,\n"
	      "                                         before=<c> or after=<c>\n"
	      "  pcnctl detach <cube> <port>\n"
	      "  pcnctl cubes | services [<svc>] | topology | netdevs | version\n"
	      "  pcnctl export > mesh.yaml              the whole mesh as YAML\n"
	      "  pcnctl diff -f mesh.yaml               what apply would change (exit 1 if any)\n"
	      "  pcnctl apply -f mesh.yaml              make the mesh match the file\n"
	      "  pcnctl logs [<cube>] [--service S] [-f]\n"
	      "                                         log lines the broker keeps: fast-path\n"
	      "                                         pcn_log, cube processes, the broker's\n"
	      "                                         own (service pcn-broker); -f follows\n"
	      "                                         new ones\n"
	      "  pcnctl <words...> ?                    help for that node, from its model\n"
	      "\n"
	      "Options:\n"
	      "  -j, --json         print the answer as JSON\n"
	      "  -o, --output FMT   table (the default: tables and key: value lines),\n"
	      "                     json (as -j) or yaml\n"
	      "  -v, --verbose      print each HTTP request and status on stderr\n"
	      "  -f, --follow       logs: keep printing new lines until interrupted\n"
	      "      --service S    logs: only the lines of service S\n"
	      "      --url URL      the API's address (default $PCN_URL, else\n"
	      "                     " PCNCTL_DEFAULT_URL ")\n"
	      "      --token TOKEN  send \"Authorization: Bearer TOKEN\" (default $PCN_TOKEN)\n"
	      "  -h, --help         this text\n"
	      "  -V, --version      pcnctl's version (the broker's: pcnctl version)\n"
	      "\n"
	      "Exit status: 0 success, 1 the broker refused, 2 usage error,\n"
	      "             3 broker unreachable.\n",
	      out);
}

/* Prints a successful answer: JSON when asked or when the body is JSON, else as is. */
static void print_answer(const struct pcnctl_opts *o, const struct pcnctl_request *req,
			 const struct pcnctl_response *res)
{
	json_t *doc = res->len ? json_loads(res->body, JSON_DECODE_ANY, NULL) : NULL;

	if (!doc) {
		/* Not JSON (/metrics is OpenMetrics text): print it untouched. */
		fputs(res->body, stdout);
		if (res->len && res->body[res->len - 1] != '\n')
			fputc('\n', stdout);
	} else if (o->json) {
		pcnctl_print_json(stdout, doc);
	} else if (o->yaml) {
		pcnctl_yaml_dump(stdout, doc, NULL);
	} else if (req->help) {
		pcnctl_print_help(stdout, doc, req->words);
	} else {
		pcnctl_print_text(stdout, doc);
	}
	json_decref(doc);
}

/* polycubectl's "k=<<<TEXT": the here-string (stdin) is the whole body,
 * YAML or JSON (Polycube's scripts quote with ' as YAML allows), as
 * polycubectl takes it. 0, or -EINVAL with err set. */
static int body_from_stdin(struct pcnctl_request *req, char *err, size_t errlen)
{
	size_t len = 0, cap = 0;
	char *text = NULL, *body;
	json_t *doc = NULL, *lines = NULL;
	ssize_t n;
	int rc;

	if (isatty(STDIN_FILENO)) {
		snprintf(err, errlen, "a k= with no value takes the body from stdin (k=<<<TEXT); stdin is a terminal");
		return -EINVAL;
	}
	do {
		if (len + 4096 > cap) {
			char *p = cap < (64u << 20) ? realloc(text, cap ? 2 * cap : 65536) : NULL;

			if (!p) {
				free(text);
				snprintf(err, errlen, "the body on stdin is too long");
				return -EINVAL;
			}
			text = p;
			cap = cap ? 2 * cap : 65536;
		}
		n = read(STDIN_FILENO, text + len, cap - len - 1);
		if (n > 0)
			len += (size_t)n;
	} while (n > 0 || (n < 0 && errno == EINTR));
	text[len] = '\0';
	if (strspn(text, " \t\r\n") == len) {
		free(text);
		snprintf(err, errlen, "a k= with no value takes the body from stdin (k=<<<TEXT), which is empty");
		return -EINVAL;
	}
	rc = pcnctl_yaml_load(text, len, &doc, &lines, err, errlen);
	free(text);
	json_decref(lines);
	if (rc)
		return -EINVAL;
	body = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(doc);
	if (!body) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -EINVAL;
	}
	free(req->body);
	req->body = body;
	return 0;
}

/* polycubectl's "<path> <action> k=v ...": EXIT_OK when the broker's help
 * says the node is an action, else a usage error as without the check. */
static int check_action(const struct pcnctl_opts *o, const struct pcnctl_request *req,
			const struct pcnctl_http_opts *hopts)
{
	struct pcnctl_response res = { 0 };
	char *url = NULL, err[256];
	json_t *doc = NULL;
	int status = EXIT_USAGE, rc;

	if (asprintf(&url, "%s%s?help", o->url, req->path) < 0)
		return EXIT_HTTP;
	rc = pcnctl_http_request("GET", url, NULL, hopts, &res, err, sizeof(err));
	free(url);
	if (rc == -EHOSTUNREACH || rc == -EIO) {
		fprintf(stderr, "pcnctl: cannot reach the broker at %s: %s\n", o->url, err);
		status = EXIT_UNREACHABLE;
		goto out;
	}
	if (!rc && res.status == 200 && (doc = json_loads(res.body, 0, NULL)) &&
	    !strcmp(json_string_value(json_object_get(doc, "kind")) ? json_string_value(json_object_get(doc, "kind")) : "",
		    "action")) {
		status = EXIT_OK;
		goto out;
	}
	if (!rc && res.status >= 400) {
		pcnctl_print_error(stderr, res.status, res.body);
		status = EXIT_HTTP;
		goto out;
	}
	fprintf(stderr, "pcnctl: k=v pairs go after a verb (add, set), or after an action\nTry 'pcnctl --help'.\n");
out:
	json_decref(doc);
	pcnctl_response_fini(&res);
	return status;
}

int main(int argc, char **argv)
{
	struct pcnctl_http_opts hopts = { 0 };
	struct pcnctl_response res = { 0 };
	struct pcnctl_request *req = NULL;
	struct pcnctl_logs logs;
	struct pcnctl_opts o;
	char err[512] = "";
	char *url = NULL;
	int rc, status = EXIT_HTTP;

	/* completion.bash asks for the candidates of a line (completion.c). */
	if (argc == 3 && !strcmp(argv[1], "__complete"))
		return pcnctl_complete_main(argv[2]);
	rc = pcnctl_opts_init(&o, argc, argv, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "pcnctl: %s\nTry 'pcnctl --help'.\n",
			rc == -EINVAL ? err : strerror(-rc));
		return rc == -EINVAL ? EXIT_USAGE : EXIT_HTTP;
	}
	if (o.help || o.version) {
		if (o.help)
			usage(stdout);
		else
			printf("pcnctl %s\n", PCNCTL_VERSION);
		status = EXIT_OK;
		goto out;
	}
	if (o.nwords == 0) {
		usage(stderr);
		status = EXIT_USAGE;
		goto out;
	}
	/* export, diff -f FILE, apply -f FILE (declare.c). */
	rc = pcnctl_declare_run(&o);
	if (rc >= 0) {
		status = rc;
		goto out;
	}
	rc = pcnctl_logs_parse(&logs, &o, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "pcnctl: %s\nTry 'pcnctl --help'.\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (rc == 0) {
		status = pcnctl_logs_run(&o, &logs);
		goto out;
	}
	rc = pcnctl_request_create(&req, o.nwords, o.words, err, sizeof(err));
	if (rc) {
		if (rc == -EINVAL)
			fprintf(stderr, "pcnctl: %s\nTry 'pcnctl --help'.\n", err);
		else
			fprintf(stderr, "pcnctl: %s\n", strerror(-rc));
		status = rc == -EINVAL ? EXIT_USAGE : EXIT_HTTP;
		goto out;
	}
	if (req->local_help) {
		usage(stdout);
		status = EXIT_OK;
		goto out;
	}
	if (req->body_from_stdin && body_from_stdin(req, err, sizeof(err))) {
		fprintf(stderr, "pcnctl: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (asprintf(&url, "%s%s", o.url, req->path) < 0) {
		url = NULL;
		fprintf(stderr, "pcnctl: %s\n", strerror(ENOMEM));
		goto out;
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "pcnctl: cannot initialise libcurl\n");
		goto out;
	}
	hopts.token = o.token;
	hopts.trace = o.verbose ? stderr : NULL;
	if (req->action_only) {
		status = check_action(&o, req, &hopts);
		if (status != EXIT_OK) {
			curl_global_cleanup();
			goto out;
		}
	}
	rc = pcnctl_http_request(req->method, url, req->body, &hopts, &res, err, sizeof(err));
	if (!rc && res.status == 405 && req->maybe_action && check_action(&o, req, &hopts) == EXIT_OK) {
		pcnctl_response_fini(&res);
		memset(&res, 0, sizeof(res));
		rc = pcnctl_http_request("POST", url, NULL, &hopts, &res, err, sizeof(err));
	}
	curl_global_cleanup();
	if (rc == -EHOSTUNREACH || rc == -EIO) {
		fprintf(stderr, "pcnctl: cannot reach the broker at %s: %s\n", o.url, err);
		status = EXIT_UNREACHABLE;
		goto out;
	}
	if (rc) {
		fprintf(stderr, "pcnctl: %s\n", rc == -ENOMEM ? strerror(ENOMEM) : err);
		goto out;
	}
	if (res.status >= 200 && res.status < 300) {
		print_answer(&o, req, &res);
		status = EXIT_OK;
	} else {
		pcnctl_print_error(stderr, res.status, res.body);
		status = EXIT_HTTP;
	}
out:
	pcnctl_response_fini(&res);
	free(url);
	pcnctl_request_destroy(req);
	pcnctl_opts_fini(&o);
	return status;
}
