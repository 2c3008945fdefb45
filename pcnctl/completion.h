/* Shell completion for pcnctl, driven by the broker's models: the OpenAPI
 * document the broker builds from them (GET /openapi.json) says which
 * services, lists, leaves, actions and enum values exist; GET /cubes
 * which instances; a list's live entries give its keys. completion.bash
 * calls `pcnctl __complete "<line up to the cursor>"`. */
#ifndef PCNCTL_COMPLETION_H
#define PCNCTL_COMPLETION_H

#include <jansson.h>

/* Fetches a concrete API path ("/bridge/br1/ports") and returns its JSON
 * (a new reference), or NULL. */
typedef json_t *(*pcnctl_complete_get)(void *arg, const char *path);

/* The candidates for the word cur after the words words[0..n) (options
 * removed, the program name too): a new array of strings, each a whole
 * word ("port1", "set", "type=", "type=TCP"), that start with cur. api: the
 * OpenAPI document; cubes: GET /cubes ({service: [{name, ...}]}); get may
 * be NULL (no live keys). */
json_t *pcnctl_complete(const json_t *api, const json_t *cubes, pcnctl_complete_get get, void *arg,
			char *const *words, int n, const char *cur);

/* `pcnctl __complete LINE`: prints the candidates for the end of LINE,
 * one a line; the document and the instances are cached for
 * $PCNCTL_COMPLETE_TTL seconds (10 by default, 0: never) per user and URL.
 * Always returns 0: a shell completion never reports errors. */
int pcnctl_complete_main(const char *line);

#endif
