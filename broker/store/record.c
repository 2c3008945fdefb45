/* A datastore record and its file's JSON: the bounds every record keeps,
 * and the conversion both ways. datastore.c reads and writes the files. */
#include "datastore.h"
#include "record_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pcn_layout.h"
#include "pcn_kern_user.h"

bool broker_datastore_name_valid(const char *s)
{
	/* The rule of every name that becomes a path (pcn_layout.h): a record
	 * the API could not have made is not one. */
	return pcn_name_check(s) == 0;
}

static bool port_name_valid(const char *s)
{
	size_t n = strnlen(s, sizeof(((struct broker_record_port *)0)->name));

	return n > 0 && n < sizeof(((struct broker_record_port *)0)->name);
}

/* A port's name and number each name one port: the broker reserves the
 * numbers on restore, and a duplicate would leave two ports on one number. */
static bool ports_unique(const struct broker_record_port *ports, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (ports[i].index == ports[j].index ||
			    strncmp(ports[i].name, ports[j].name, sizeof(ports[i].name)) == 0)
				return false;
	return true;
}

/* A uuid as the broker writes it (36 characters of hex digits and dashes),
 * or empty (records written by hand, by tests). It is printed into JSON
 * and port uuids: nothing else gets through. */
static bool uuid_valid(const char *u)
{
	size_t n = strlen(u);

	if (n == 0)
		return true;
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = u[i];

		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/* The bounds every count and number in a record keeps: what the broker's
 * arrays (PatchPanel, pcn_fwd, the stack arrays of a replay) are sized
 * for. A record past them is refused whole, never cut to fit. */
static const char *record_bounds(const struct broker_record *rec)
{
	if (rec->index == 0 || rec->index >= PCN_MAX_CUBES)
		return "slot out of range";
	if (rec->n_ports > PCN_MAX_PORTS)
		return "more ports than an instance may have";
	for (size_t i = 0; i < rec->n_ports; i++)
		if (rec->ports[i].index >= PCN_MAX_PORTS)
			return "port number out of range";
	if (!uuid_valid(rec->uuid))
		return "uuid is not a uuid";
	return NULL;
}

/* ---- records ------------------------------------------------------------ */

void broker_record_fini(struct broker_record *rec)
{
	if (!rec)
		return;
	free(rec->config_json);
	free(rec->ports);
	memset(rec, 0, sizeof(*rec));
}

int broker_record_copy(struct broker_record *dst, const struct broker_record *src)
{
	*dst = *src;
	dst->config_json = NULL;
	dst->ports = NULL;
	if (src->config_json && !(dst->config_json = strdup(src->config_json)))
		goto nomem;
	if (src->n_ports) {
		dst->ports = calloc(src->n_ports, sizeof(*dst->ports));
		if (!dst->ports)
			goto nomem;
		memcpy(dst->ports, src->ports, src->n_ports * sizeof(*dst->ports));
	}
	return 0;
nomem:
	broker_record_fini(dst);
	return -ENOMEM;
}

/* Builds the file's JSON for rec into *out. -EINVAL if rec is not storable. */
int broker_record_to_json(const struct broker_record *rec, json_t **out)
{
	json_t *root = NULL, *ports = NULL, *config = NULL;
	int rc = -ENOMEM;

	if (!broker_datastore_name_valid(rec->service) || !broker_datastore_name_valid(rec->name) ||
	    strnlen(rec->uuid, sizeof(rec->uuid)) == sizeof(rec->uuid) || (rec->n_ports && !rec->ports) ||
	    record_bounds(rec) || !ports_unique(rec->ports, rec->n_ports))
		return -EINVAL;
	if (rec->config_json) {
		json_error_t jerr;

		config = json_loads(rec->config_json, JSON_DECODE_ANY, &jerr);
		if (!config) {
			PCN_WARN("BROKER-DS-BADCONFIG", "refused to store %s@%s: its config is not JSON (%s)",
				 rec->service, rec->name, jerr.text);
			return -EINVAL;
		}
		if (!json_is_object(config)) {
			PCN_WARN("BROKER-DS-BADCONFIG", "refused to store %s@%s: its config is not a JSON object",
				 rec->service, rec->name);
			json_decref(config);
			return -EINVAL;
		}
	} else {
		config = json_null();
	}
	ports = json_array();
	if (!ports)
		goto out;
	for (size_t i = 0; i < rec->n_ports; i++) {
		if (!port_name_valid(rec->ports[i].name)) {
			rc = -EINVAL;
			goto out;
		}
		if (json_array_append_new(ports, json_pack("{s:s, s:I}", "name", rec->ports[i].name, "index",
							   (json_int_t)rec->ports[i].index)))
			goto out;
	}
	/* "o" steals the references, also when pack fails. */
	root = json_pack("{s:i, s:s, s:s, s:I, s:s, s:o, s:o}", "format", BROKER_DS_FORMAT, "service",
			 rec->service, "name", rec->name, "index", (json_int_t)rec->index, "uuid", rec->uuid,
			 "ports", ports, "config", config);
	ports = config = NULL;
	if (!root)
		goto out;
	*out = root;
	rc = 0;
out:
	json_decref(ports);
	json_decref(config);
	return rc;
}

/* Reads a uint32 member; false if absent or out of range. */
static bool get_u32(json_t *obj, const char *key, uint32_t *v)
{
	json_t *j = json_object_get(obj, key);
	json_int_t n;

	if (!json_is_integer(j))
		return false;
	n = json_integer_value(j);
	if (n < 0 || n > (json_int_t)UINT32_MAX)
		return false;
	*v = (uint32_t)n;
	return true;
}

/* Copies a string member into dst[n]; false if absent or too long. */
static bool get_str(json_t *obj, const char *key, char *dst, size_t n)
{
	json_t *j = json_object_get(obj, key);

	if (!json_is_string(j) || json_string_length(j) >= n || strlen(json_string_value(j)) != json_string_length(j))
		return false;
	memcpy(dst, json_string_value(j), json_string_length(j) + 1);
	return true;
}

/* Fills rec from a file's JSON. -EBADMSG if it is not a record of
 * service/name, -EPROTONOSUPPORT if it is of another format, -ENOMEM. */
int broker_record_from_json(json_t *root, const char *service, const char *name, struct broker_record *rec,
			     const char **why)
{
	json_t *ports, *config;
	uint32_t format;
	size_t i;

	memset(rec, 0, sizeof(*rec));
	*why = "not a JSON object";
	if (!json_is_object(root))
		return -EBADMSG;
	*why = "no format";
	if (!get_u32(root, "format", &format))
		return -EBADMSG;
	if (format != BROKER_DS_FORMAT)
		return -EPROTONOSUPPORT;
	*why = "service, name, index or uuid missing or invalid";
	if (!get_str(root, "service", rec->service, sizeof(rec->service)) ||
	    !get_str(root, "name", rec->name, sizeof(rec->name)) || !get_u32(root, "index", &rec->index) ||
	    !get_str(root, "uuid", rec->uuid, sizeof(rec->uuid)))
		return -EBADMSG;
	*why = "service and name do not match the file name";
	if (strcmp(rec->service, service) != 0 || strcmp(rec->name, name) != 0)
		return -EBADMSG;
	*why = "ports missing or invalid";
	ports = json_object_get(root, "ports");
	if (!json_is_array(ports))
		return -EBADMSG;
	/* Checked before anything is allocated or compared: ports_unique is
	 * quadratic, and the replay's arrays hold PCN_MAX_PORTS. */
	*why = "more ports than an instance may have";
	if (json_array_size(ports) > PCN_MAX_PORTS)
		return -EBADMSG;
	*why = "ports missing or invalid";
	if (json_array_size(ports)) {
		rec->ports = calloc(json_array_size(ports), sizeof(*rec->ports));
		if (!rec->ports)
			return -ENOMEM;
	}
	for (i = 0; i < json_array_size(ports); i++) {
		json_t *p = json_array_get(ports, i);

		if (!json_is_object(p) || !get_str(p, "name", rec->ports[i].name, sizeof(rec->ports[i].name)) ||
		    !port_name_valid(rec->ports[i].name) || !get_u32(p, "index", &rec->ports[i].index))
			goto bad;
		rec->n_ports++;
	}
	*why = "two ports share a name or a number";
	if (!ports_unique(rec->ports, rec->n_ports))
		goto bad;
	*why = record_bounds(rec);
	if (*why)
		goto bad;
	*why = "config missing or not an object";
	config = json_object_get(root, "config");
	if (!config || !(json_is_object(config) || json_is_null(config)))
		goto bad;
	if (!json_is_null(config)) {
		rec->config_json = json_dumps(config, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!rec->config_json) {
			broker_record_fini(rec);
			return -ENOMEM;
		}
	}
	return 0;
bad:
	broker_record_fini(rec);
	return -EBADMSG;
}

int broker_record_parse(const char *buf, size_t len, const char *service, const char *name,
			struct broker_record *rec, const char **why)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	memset(rec, 0, sizeof(*rec));
	*why = "not JSON";
	/* The flags of load_one's json_loadb: the same bytes, the same verdict. */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return -EBADMSG;
	rc = broker_record_from_json(root, service, name, rec, why);
	json_decref(root);
	return rc;
}
