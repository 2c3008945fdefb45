/* dynmon's control plane, shared by its files (dynmon.c: the model and the
 * instance; dynmon_cc.c: compiling a user's code; dynmon_read.c: reading
 * maps into samples; dynmon_pins.c: the pins of the user's maps). */
#ifndef DYNMON_INT_H
#define DYNMON_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcn_cube.h"

enum dm_dir { DM_INGRESS = 0, DM_EGRESS = 1 };

/* Longest message a 4xx carries (pcn_fail keeps 400 bytes). */
#define DM_ERR_MAX 360
/* Most samples one metric gives (an array map's entries, a hash map's). */
#define DM_MAX_SAMPLES 4096
/* Most maps one direction's code may declare. */
#define DM_MAX_MAPS 64

/* A user map of a loaded code: its name in the code, in the object
 * (dmi_NAME, dme_NAME or dm_NAME) and our own fd to it. */
struct btf;
struct dm_map {
	char name[64];
	char obj_name[72];
	int fd;
	uint32_t type, key_size, value_size, max_entries, flags;
	/* The map's key and value types (from the kernel's copy of the
	 * code's BTF; NULL: none, sizes decide), for decoding. */
	struct btf *btf;
	uint32_t key_tid, value_tid;
};

struct dm_label {
	char *name, *value;
};

enum dm_om_type { DM_OM_COUNTER, DM_OM_GAUGE, DM_OM_HISTOGRAM, DM_OM_SUMMARY, DM_OM_UNTYPED };

/* A metric-configs entry. */
struct dm_metric {
	char *name, *map;
	bool swap, empty;
	bool om; /* open-metrics-metadata present */
	char *help;
	enum dm_om_type type;
	struct dm_label *labels;
	size_t n_labels;
};

/* One direction: the code running (NULL: none, the slot passes), its two
 * builds (the hook's, and TC for the twin of an XDP instance), its maps and
 * its metric configs. */
struct dm_path {
	char *code;
	void *obj, *tc_obj;
	size_t obj_len, tc_len;
	struct dm_map maps[DM_MAX_MAPS];
	size_t n_maps;
	struct dm_metric *metrics;
	size_t n_metrics;
};

/* An instance's record (pcn_instance_priv). */
struct dynmon {
	struct dynmon *next;
	struct dm_path path[2];
	/* The micro-cube slots held a program when this process took the
	 * instance over (a restart): the first round reloads the code to
	 * know its maps, and a failure there keeps what runs. */
	bool adopted;
	/* The instance's loglevel as the last round had it: when it changes,
	 * the runtime reloads the instance and the code goes in again. */
	char loglevel[16];
	uint32_t index; /* the PatchPanel slot the last round saw (0: none yet) */
	bool pin_known;
	char pin_dir[PATH_MAX];
};

/* "ingress", "egress". */
extern const char *const dm_dir_name[2];

/* ---- dynmon_metrics.c: the metrics read by the model and the gateway ---- */

int dynmon_read_metrics(struct pcn_instance *inst, struct pcn_state *st);
int dynmon_read_open_metrics(struct pcn_instance *inst, struct pcn_state *st);
int dynmon_gateway_metrics(struct pcn_instance *inst, struct pcn_metrics *mx);

/* ---- dynmon_cc.c ---- */

/* Compiles a direction's code for the TC or XDP hook into an object
 * (malloc'd *obj). -EINVAL with clang's complaint (trimmed) in err. */
int dm_compile(enum dm_dir dir, bool tc, const char *code, void **obj, size_t *len, char *err, size_t errlen);
/* The user maps an object declares, their layout from its ELF (fd -1). */
int dm_object_maps(const void *obj, size_t len, struct dm_map *maps, size_t max, size_t *n);

/* ---- dynmon_pins.c ---- */

/* The instance's pin directory, found once in bpffs (the runtime keeps it
 * to itself): the directory holding the pinned pcn_uc_ingress whose map is
 * the instance's. -ENOENT if not found. */
int dm_pin_dir(struct pcn_instance *inst, char *buf, size_t len);

/* ---- dynmon_read.c ---- */

struct dm_sample {
	bool keyed;      /* a hash map's entry: key is set */
	char *key;       /* the key as JSON text (a number, an object, a string) */
	bool numeric;    /* value holds the number; else text its JSON */
	uint64_t value;
	char *text;
};

/* Frees samples read by dm_read. */
void dm_samples_free(struct dm_sample *s, size_t n);
/* A sample's key as a label value: a JSON string's content, else its text. */
void dm_key_label(const struct dm_sample *s, char *buf, size_t len);

enum dm_read_mode {
	DM_READ_PEEK,    /* leave the map as it is (the gateway's /metrics) */
	DM_READ_OPTIONS, /* honour swap-on-read and empty-on-read (the model) */
};

/* Reads map m as metric c wants: *out (malloc'd) holds *n samples. */
int dm_read(const struct dm_map *m, const struct dm_metric *c, enum dm_read_mode mode, struct dm_sample **out,
	    size_t *n);

#endif /* DYNMON_INT_H */
