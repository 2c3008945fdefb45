/* pcnctl export / diff -f / apply -f: the whole mesh as one YAML file. */
#ifndef PCNCTL_DECLARE_H
#define PCNCTL_DECLARE_H

#include <stdio.h>

#include <jansson.h>

#include "opts.h"

/* ---- YAML <-> JSON (declare_yaml.c, over libyaml) ---------------------- */

/* Parses YAML text into JSON. Plain scalars true/false, null/~ and integers
 * become JSON booleans, null and integers; quoted scalars stay strings.
 * *lines receives {"<path>": line} for every node ("/cubes/0/name": 7), so
 * that a later check can name the line of a value. Returns 0, or -EINVAL
 * with "line N: ..." in err. Anchors, aliases and tags are refused. */
int pcnctl_yaml_load(const char *text, size_t len, json_t **out, json_t **lines, char *err, size_t errlen);

/* Writes doc as block YAML. Strings that would read back as another type
 * ("true", "12", "") are quoted. Returns 0 or -EIO. */
int pcnctl_yaml_dump(FILE *f, const json_t *doc, const char *comment);

/* ---- the commands (declare.c) ------------------------------------------ */

/* Returns -1 when words[0] is not export, diff or apply; else the exit
 * status of the command (0, 1 when diff finds changes or the broker refuses,
 * 2 usage or file error, 3 unreachable). */
int pcnctl_declare_run(const struct pcnctl_opts *o);

/* Exposed for the unit test: the normalized mesh of a GET /cubes and a GET
 * /topology answer, and the plan that turns cur into want (an array of
 * {"op","method","path","body","what"} steps in the order they run). */
json_t *pcnctl_mesh_from_api(const json_t *cubes, const json_t *topology);
json_t *pcnctl_mesh_plan(const json_t *cur, const json_t *want);
/* Checks a parsed file; 0, or -EINVAL with "line N: path: why" in err. */
int pcnctl_mesh_check(const json_t *want, const json_t *lines, const json_t *services, char *err, size_t errlen);

#endif
