/* Inside the datastore: the handle, shared by the record files' side
 * (datastore.c) and the group commit's journal (commit.c). */
#ifndef BROKER_DS_INT_H
#define BROKER_DS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datastore.h"

struct ds_commit; /* commit.c */

struct broker_datastore {
	char *dir; /* <state_dir>/instances */
	int dirfd; /* open on dir: every file is reached relative to it, and it is what we fsync */
	struct ds_commit *gc;
};

/* commit.c: replays what the journals hold into the record files, makes
 * them durable, removes the journals, opens a fresh one and starts the
 * commit thread. 0 or -errno. */
int ds_commit_open(struct broker_datastore *ds);
/* Commits what is staged, makes the files durable, removes the journal
 * and stops the thread. */
void ds_commit_close(struct broker_datastore *ds);

/* The journal, shared by commit.c (writing) and commit_replay.c (reading
 * at open): "journal.<generation>" beside the records; each entry carries
 * the CRC of its file name and text. */
#define JOURNAL_PREFIX "journal."
#define FNAME_LEN 160
uint32_t ds_entry_crc(const char *fname, const char *text, size_t len);
int ds_journal_name(char *buf, size_t len, uint64_t gen);
/* commit_replay.c: applies what the journals a crash left hold and
 * removes them; *next: the generation of the next journal. 0 or -errno. */
int ds_journal_replay(struct broker_datastore *ds, uint64_t *next);

/* datastore.c: writes text to fname's .tmp (suffix) and renames it over
 * fname; with sync, the .tmp is fsynced before and the directory after.
 * 0 or -errno. */
int ds_write_file(struct broker_datastore *ds, const char *fname, const char *suffix, const char *text, size_t len,
		  bool sync);
/* True for "<service>@<name>.json" with valid names. */
bool ds_fname_valid(const char *fname);
/* Stages a put of text (NULL: a delete) of the record file fname; cb(arg,
 * rc) once it is durable (from broker_datastore_reap; inline if no notifier
 * is set). NULL cb: waits and returns the outcome. */
int ds_commit_stage(struct broker_datastore *ds, const char *fname, const char *text, size_t len,
		    broker_ds_done cb, void *arg);
/* fsyncs every record file and then the directory. 0 or the first -errno. */
int ds_sync_all(struct broker_datastore *ds);

#endif
