/* pcnctl logs: the broker's log ring (GET /logs), once or followed.
 *
 *   pcnctl logs [<cube>] [--service S] [--follow]
 *
 * prints the lines the broker keeps (fast-path pcn_log lines, the cube
 * processes' lines, the broker's own under service "pcn-broker"), oldest
 * first, one per line; with --follow it then asks for the lines after the
 * last one it printed, every PCNCTL_LOGS_POLL_MS, until interrupted.
 */
#ifndef PCNCTL_LOGS_H
#define PCNCTL_LOGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "opts.h"

#define PCNCTL_LOGS_POLL_MS 500
/* Lines the broker returns at most per GET (LS_PAGE in broker/slowpath/logsink.c). */
#define PCNCTL_LOGS_PAGE 500

/* What pcnctl logs was asked for. Points into the options' words. */
struct pcnctl_logs {
	const char *cube;    /* or NULL: every cube */
	const char *service; /* or NULL: every service */
	bool follow;
};

/* Whether the command line is a logs command, and which. Returns 0 and fills
 * l for "logs [<cube>]"; 1 when the words are another command (which must
 * then not carry --follow or --service); -EINVAL with a message in err for a
 * usage error. */
int pcnctl_logs_parse(struct pcnctl_logs *l, const struct pcnctl_opts *o, char *err, size_t errlen);

/* The request for the lines from seq `since` on (0: the oldest kept),
 * relative to the base URL: "logs?since=N&service=S&cube=C". malloc'd, or
 * NULL on ENOMEM. */
char *pcnctl_logs_path(const struct pcnctl_logs *l, uint64_t since);

/* Prints the lines of one GET /logs answer (text, or one JSON object per
 * line with json) and sets *next to the seq to ask from next time. Returns
 * the number of lines, or -EINVAL when body is not such an answer. */
int pcnctl_logs_print(FILE *out, const char *body, bool json, uint64_t *next);

/* Runs the command against base_url; returns pcnctl's exit status. */
int pcnctl_logs_run(const struct pcnctl_opts *o, const struct pcnctl_logs *l);

#endif
