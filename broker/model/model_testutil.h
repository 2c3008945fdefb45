/* Helpers shared by the model layer's unit tests. */
#ifndef BROKER_MODEL_TESTUTIL_H
#define BROKER_MODEL_TESTUTIL_H

#include <stddef.h>

#include "model.h"

/* Reads a whole file (malloc'd, NUL-terminated) or NULL. */
char *mt_read_file(const char *path);
/* Models with helloworld and simpleforwarder from CUBEMESH_YANG_DIR and the
 * test modules router-test and transparent-test from testdata/. Asserts. */
struct broker_models *mt_models(void);
/* Parses path as a target; asserts success. */
void mt_target(struct broker_models *m, const char *path, struct broker_target *t);
/* Applies method on path with body to cur; returns the rc, *out on success. */
int mt_apply(struct broker_models *m, const char *path, int method, const struct lyd_node *cur, const char *body,
	     struct lyd_node **out, struct broker_error *err);
/* GETs path of inst (no state) and returns the JSON (malloc'd); asserts. */
char *mt_read(struct broker_models *m, const char *path, const struct lyd_node *inst);
/* The datastore form of inst (malloc'd). */
char *mt_print(const struct lyd_node *inst);

#endif
