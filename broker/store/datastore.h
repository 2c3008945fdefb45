/* The broker's persistent record of every instance.
 *
 * One JSON file per instance, <state_dir>/instances/<service>@<name>.json:
 *   {"format": 1, "service": "router", "name": "r1", "index": 3,
 *    "uuid": "…", "ports": [{"name": "port1", "index": 0}, …],
 *    "config": <the instance's RFC 7951 config, as a JSON value>}
 * A write goes into a write-ahead journal (journal.<generation> beside
 * the records); a commit thread fdatasyncs the journal once for every
 * write staged meanwhile (group commit), then writes the records into
 * their files, and only then reports the writes done (commit.c says how,
 * and how a crash is recovered: the journal is replayed at open). After a
 * crash and the next open each file holds a whole record, and every write
 * reported done is there. Leftover .tmp files are removed at open.
 *
 * The store knows nothing of commit or rollback: the broker calls put only
 * once the cube has applied a change. Not thread-safe: the broker's loop
 * thread owns it (the commit thread is the store's own).
 *
 * May call: jansson, common/. A library (broker_store) that knows nothing
 * of struct broker.
 */
#ifndef BROKER_DATASTORE_H
#define BROKER_DATASTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BROKER_DS_FORMAT 1

struct broker_record_port {
	char name[64];
	uint32_t index;  /* the port number, kept stable across restarts */
};

/* One instance. The record owns config_json and ports (malloc'd); release
 * them with broker_record_fini. */
struct broker_record {
	char service[64];
	char name[64];
	uint32_t index;       /* PatchPanel slot */
	char uuid[37];
	char *config_json;    /* RFC 7951 JSON of the instance (opaque text here); NULL: none */
	size_t n_ports;
	struct broker_record_port *ports;
};

struct broker_datastore;

/* True if s may name a service or an instance in the store: the rule of
 * pcn_name_check (1 to 63 characters out of [A-Za-z0-9_-]), the names
 * the API accepts and bpffs takes as pin directories. */
bool broker_datastore_name_valid(const char *s);

/* Creates the store on state_dir (heap; *out set only on success): makes
 * state_dir and state_dir/instances if missing (mode 0700), takes an
 * exclusive lock on it for as long as the handle lives, and removes the
 * .tmp files a crash left behind, logging each. 0, -EBUSY if another
 * handle (another broker) holds the lock, or -errno. */
int broker_datastore_open(struct broker_datastore **out, const char *state_dir);
/* Destroys the handle (the files stay). Accepts NULL. */
void broker_datastore_close(struct broker_datastore *ds);

/* Persists rec, replacing any record of the same service and name,
 * atomically, and returns once it is durable (put_async, waiting). Files
 * are mode 0600. Returns 0; -EINVAL for an invalid service, instance or
 * port name, two ports sharing a name or a number, a number or count
 * past the bounds load_ex enforces, or config_json that is not a JSON
 * object; -ENOSPC or -EMFILE when the write would lack room or a
 * descriptor (nothing is changed); -EIO if the crash hook refused or the
 * journal could not be synced; or -errno. */
int broker_datastore_put(struct broker_datastore *ds, const struct broker_record *rec);

/* What put_async and delete_async call once the write is durable (rc 0)
 * or has failed (-errno; -ENOENT: delete_async of a record that was not
 * there), on the thread that calls broker_datastore_reap. */
typedef void (*broker_ds_done)(void *arg, int rc);

/* put and delete without waiting: 0 once staged (the journal entry
 * written, not yet synced), and done(arg, rc) later; or
 * -errno (as put and delete return) with nothing staged and done never
 * called. Writes staged while a sync is in flight are synced together by
 * the next one, in the order they were staged. Without a notifier
 * (set_notify) they wait for their sync and call done before returning. */
int broker_datastore_put_async(struct broker_datastore *ds, const struct broker_record *rec, broker_ds_done done,
			       void *arg);
int broker_datastore_delete_async(struct broker_datastore *ds, const char *service, const char *name,
				  broker_ds_done done, void *arg);
/* fn(arg) is called from the commit thread whenever writes are done: it
 * must make the owner's thread call broker_datastore_reap soon. */
void broker_datastore_set_notify(struct broker_datastore *ds, void (*fn)(void *arg), void *arg);
/* Calls the done callbacks of the writes finished since the last reap. */
void broker_datastore_reap(struct broker_datastore *ds);
/* Waits until every staged write is done, then reaps (at stop: no write
 * is left unanswered). */
void broker_datastore_drain(struct broker_datastore *ds);
/* How many syncs (groups) the commit thread made, for how many writes. */
void broker_datastore_stats(struct broker_datastore *ds, uint64_t *groups, uint64_t *writes);
/* For tests of the grouping: when set, the commit thread calls it before
 * each group's sync. NULL by default. */
extern int (*broker_datastore_group_hook)(void);

/* Removes the record of service/name and fsyncs the directory. 0, -ENOENT if
 * absent, -EINVAL for invalid names, or -errno. */
int broker_datastore_delete(struct broker_datastore *ds, const char *service, const char *name);

/* Calls fn(arg, rec) for every stored record, sorted by service then name.
 * rec is valid only during the call (copy it with broker_record_copy).
 * config_json is the stored config re-encoded compactly: the same JSON
 * value as was put, not necessarily the same text.
 * A corrupt file is logged (BROKER-DS-CORRUPT), moved aside to
 * <file>.corrupt and skipped; a file of a newer format is logged and
 * skipped but left in place, for the broker that wrote it. Neither stops
 * the walk. A non-zero return from fn stops the walk and is returned;
 * otherwise 0, or -errno if the directory cannot be read. */
int broker_datastore_load(struct broker_datastore *ds, int (*fn)(void *arg, const struct broker_record *rec),
			  void *arg);

/* What load does with one file's bytes, from a buffer (for the fuzz target
 * tests/fuzz/fuzz_datastore.c): fills rec from the record of service/name
 * in buf[0..len). 0 (release rec with broker_record_fini), -EBADMSG with
 * *why saying what is wrong, -EPROTONOSUPPORT (another format), -ENOMEM. */
int broker_record_parse(const char *buf, size_t len, const char *service, const char *name,
			struct broker_record *rec, const char **why);

/* The largest record file load reads; a larger one is set aside unread. */
#define BROKER_DS_MAX_FILE (64 << 20)

/* What load_ex could not hand to fn. The strings live for the call. */
struct broker_ds_skipped {
	const char *service;  /* from the file name */
	const char *name;
	bool set_aside;       /* moved to <file>.corrupt: its instance is gone. false:
			       * a format this broker does not know, or a file it
			       * cannot read (a symlink, EIO): left in place */
	bool has_index;       /* the record was readable and claims this slot */
	uint32_t index;
	const char *why;
};

/* What fn returns to refuse a record: it is set aside as a corrupt one
 * (and reported to skipped), and the walk goes on. */
#define BROKER_DS_REFUSE 1000

/* broker_datastore_load, and also: every number and count in a record is
 * bounded (slot 1 .. PCN_MAX_CUBES - 1, at most PCN_MAX_PORTS ports, port
 * numbers below PCN_MAX_PORTS, a uuid that is one, a config that is an
 * object or null, a file of at most BROKER_DS_MAX_FILE bytes) and a slot
 * belongs to the first record in the walk's order that claims it; a record
 * past a bound or claiming a slot another holds is set aside as corrupt. Each record set aside or left in place is reported to
 * skipped (may be NULL), after it is moved. */
int broker_datastore_load_ex(struct broker_datastore *ds, int (*fn)(void *arg, const struct broker_record *rec),
			     void (*skipped)(void *arg, const struct broker_ds_skipped *s), void *arg);

/* Frees what rec owns and zeroes it. Accepts NULL and zeroed records. */
void broker_record_fini(struct broker_record *rec);
/* Deep-copies src into dst (caller's storage, overwritten without being
 * finalized). 0 or -ENOMEM (dst is then zeroed). */
int broker_record_copy(struct broker_record *dst, const struct broker_record *src);

/* For tests of crash safety: when set, called with the record file's path
 * before the write is journaled; a non-zero return makes put stop there
 * and return -EIO, as if the process had died. NULL by default. */
extern int (*broker_datastore_crash_hook)(const char *tmp_path);

/* The transparent stacks (attachments.json in state_dir, written whole,
 * fsync'd and renamed): what topology/attach_restore.c saves after every
 * change and reads back at start. load: NULL when there is none (or it
 * cannot be read: logged). */
struct json_t;
int broker_attach_store_save(const char *state_dir, struct json_t *stacks);
struct json_t *broker_attach_store_load(const char *state_dir);

#endif
