/* Inside the datastore: a record and its file's JSON (record.c), used by
 * the files' side (datastore.c). Other callers get records through
 * datastore.h. */
#ifndef BROKER_RECORD_INT_H
#define BROKER_RECORD_INT_H

#include <jansson.h>

#include "datastore.h"

/* The longest service or instance name a record holds. */
#define NAME_MAX_LEN 63

/* Builds the file's JSON for rec into *out. -EINVAL if rec is not
 * storable (out of the bounds a record keeps), -ENOMEM. */
int broker_record_to_json(const struct broker_record *rec, json_t **out);

/* Fills rec from a file's JSON. -EBADMSG if it is not a record of
 * service/name (why says what), -EPROTONOSUPPORT if it is of another
 * format, -ENOMEM. */
int broker_record_from_json(json_t *root, const char *service, const char *name, struct broker_record *rec,
			    const char **why);

#endif
