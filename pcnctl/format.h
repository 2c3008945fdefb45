/* pcnctl's output: responses as YAML-like text or JSON, help tables, errors. */
#ifndef PCNCTL_FORMAT_H
#define PCNCTL_FORMAT_H

#include <stdio.h>

#include <jansson.h>

/* Writes v as YAML-like text: "key: value" lines, nested objects indented
 * by two spaces, lists of objects as "- " items, and a list whose elements
 * are all flat objects (scalars only) as a table with a header of column
 * names, as polycubectl prints ports or routes. A bare scalar is printed
 * alone; an empty top-level object or list prints nothing. */
void pcnctl_print_text(FILE *out, const json_t *v);

/* Writes v as indented JSON. */
void pcnctl_print_json(FILE *out, const json_t *v);

/* Writes the broker's help for a node (an array of {name, kind, type,
 * config, keys, default, enum, description, init-only}, or an object holding
 * that array under "children" with the node's own "kind" and "keys") as a
 * table, then the pcnctl commands that apply there. words is the command's
 * path ("hw1 ports"). */
void pcnctl_print_help(FILE *out, const json_t *help, const char *words);

/* Writes an error response to err: each RESTCONF error's error-message and
 * error-path, or the HTTP status and the start of the body when the body is
 * not a RESTCONF error. */
void pcnctl_print_error(FILE *err, long status, const char *body);

#endif
