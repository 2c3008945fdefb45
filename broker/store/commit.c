/* Group commit of the record files through a write-ahead journal.
 *
 * A write is staged on the caller's (the loop's) thread: its record is
 * appended to the journal, "journal.<generation>" beside the records, as
 * one entry (not synced):
 *   "J1 P <len> <crc32> <service>@<name>.json\n" <len bytes: the file's text> "\n"
 *   "J1 D 0 <crc32> <service>@<name>.json\n" "\n"                 (a delete)
 * the CRC-32 covering the file name and the text. What the write will need
 * later is checked there (a file descriptor: EMFILE; room for the record
 * twice: ENOSPC), so that it fails before anything is committed, while the
 * broker can still undo the change in the cube.
 *
 * One thread (the commit thread) then takes every entry staged so far (a
 * group: whatever arrived while the previous fdatasync was in flight),
 * fdatasyncs the journal once, writes the last record of each file in the
 * group into the file (rewritten in place, not synced; a new record is
 * written to a .tmp and renamed) or unlinks it, and only then reports
 * the writes done (the callbacks run on the owner's thread through reap).
 * Entries are journaled and written out in the order they were staged,
 * so a later write of a record lands after an earlier one.
 *
 * Crash guarantees: a write reported done is durable (its entry is), and
 * after open every record file holds one whole record, the last one
 * reported done or a later one. Between checkpoints a file may be torn by
 * a crash in the middle of its rewrite, but its record is in the journal:
 * open replays every journal left, in order (the last entry of each
 * record; a torn last entry, never acknowledged, dropped), fsyncs the
 * records and the directory, and only then removes the journals. A
 * checkpoint (the journal past JOURNAL_MAX, or close) starts the next
 * generation, fsyncs every record and the directory, and removes the old
 * journal. The record files' format is unchanged.
 *
 * An fdatasync that fails (EIO) fails its group and every later write: the
 * page cache can no longer be trusted to reach the disk (PostgreSQL's
 * lesson); a restart replays what did reach it. A record that cannot be
 * written after its sync is durable all the same: the journal is then
 * kept for the next start to replay. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ds_int.h"
#include "log.h"

/* A checkpoint (an fsync of every record) once the journal holds this much. */
#define JOURNAL_MAX (8u << 20)

int (*broker_datastore_group_hook)(void);

struct entry {
	struct entry *next;
	bool del;
	bool done;
	int rc;
	char fname[FNAME_LEN];
	char *text; /* the record's file (NULL: a delete), written after the sync */
	size_t len;
	broker_ds_done cb; /* NULL: a synchronous caller waits for done */
	void *arg;
};

struct ds_commit {
	pthread_mutex_t lock;
	pthread_cond_t work;    /* staged entries, or stop */
	pthread_cond_t durable; /* entries done */
	pthread_t thread;
	bool thread_up, stop;
	bool busy; /* the thread holds a group */
	int jfd;
	uint64_t jgen;
	size_t jbytes;
	uint64_t seq;
	struct entry *staged, **staged_tail;
	struct entry *done, **done_tail;
	int failed;
	bool keep_journal; /* a record could not be written after its sync: only a replay has it */
	void (*notify)(void *arg);
	void *notify_arg;
	uint64_t groups, writes;
};

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_add(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t ds_entry_crc(const char *fname, const char *text, size_t len)
{
	return crc32_add(crc32_add(0, fname, strlen(fname)), text, len);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int ds_journal_name(char *buf, size_t len, uint64_t gen)
{
	return snprintf(buf, len, JOURNAL_PREFIX "%" PRIu64, gen) >= (int)len ? -ENAMETOOLONG : 0;
}

/* Creates journal.<gen> and makes its name durable. fd or -errno. */
static int journal_create(struct broker_datastore *ds, uint64_t gen)
{
	char name[64];
	int fd;

	ds_journal_name(name, sizeof(name), gen);
	fd = openat(ds->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (fsync(ds->dirfd)) {
		int rc = -errno;

		close(fd);
		unlinkat(ds->dirfd, name, 0);
		return rc;
	}
	return fd;
}

/* ---- the commit thread ---------------------------------------------------- */

/* Writes e's record into its file, not synced: its journal entry is
 * durable already, and until a checkpoint has synced the file a replay
 * rewrites it whole, so an existing file is rewritten in place (a new
 * inode per write costs ext4 a millisecond; this, microseconds). */
static int materialize(struct broker_datastore *ds, const struct entry *e)
{
	int fd, rc;

	if (e->del)
		return unlinkat(ds->dirfd, e->fname, 0) ? -errno : 0;
	fd = openat(ds->dirfd, e->fname, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) /* new (or not a plain file): a whole new one */
		return ds_write_file(ds, e->fname, ".tmp", e->text, e->len, false);
	rc = 0;
	for (size_t off = 0; off < e->len && !rc;) {
		ssize_t n = pwrite(fd, e->text + off, e->len - off, (off_t)off);

		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (!rc && ftruncate(fd, (off_t)e->len))
		rc = -errno;
	close(fd);
	return rc;
}

static bool superseded(const struct entry *e)
{
	for (const struct entry *o = e->next; o; o = o->next)
		if (strcmp(o->fname, e->fname) == 0)
			return true;
	return false;
}

/* Makes batch (staged in fd) durable, writes its records, and hands it back. */
static void commit_group(struct broker_datastore *ds, struct entry *batch, int fd)
{
	struct ds_commit *gc = ds->gc;
	bool any_async = false, kept = false;
	size_t n = 0;
	int rc = 0;

	if (broker_datastore_group_hook)
		broker_datastore_group_hook();
	if (fdatasync(fd))
		rc = -errno;
	for (struct entry *e = batch; e; e = e->next) {
		int mrc;

		n++;
		e->rc = rc;
		if (rc || superseded(e))
			continue; /* only the last write of a record in the group is written out */
		mrc = materialize(ds, e);
		if (e->del) {
			e->rc = mrc == -ENOENT ? mrc : 0;
			if (mrc == -ENOENT)
				continue;
		}
		if (mrc && mrc != -ENOENT) {
			/* Durable all the same: the journal holds it for a replay. */
			PCN_ERR("BROKER-DS-WRITE", "cannot write %s/%s after its sync (%s): the journal keeps it "
				"until a restart replays it", ds->dir, e->fname, strerror(-mrc));
			kept = true;
		}
	}
	if (rc)
		PCN_ERR("BROKER-DS-FSYNC", "cannot make the journal in %s durable: %s; %zu writes failed, and "
			"every later one will until a restart", ds->dir, strerror(-rc), n);
	pthread_mutex_lock(&gc->lock);
	if (rc && !gc->failed)
		gc->failed = rc;
	gc->keep_journal |= kept;
	gc->groups++;
	gc->writes += n;
	for (struct entry *e = batch, *next; e; e = next) {
		next = e->next;
		free(e->text);
		e->text = NULL;
		if (e->cb) {
			e->next = NULL;
			*gc->done_tail = e;
			gc->done_tail = &e->next;
			any_async = true;
		} else {
			e->done = true; /* its waiter frees it */
		}
	}
	pthread_cond_broadcast(&gc->durable);
	pthread_mutex_unlock(&gc->lock);
	if (any_async && gc->notify)
		gc->notify(gc->notify_arg);
}

/* The journal is long: the records written so far are fsynced, a new
 * journal takes over, and the old one goes. Entries staged in the old
 * one meanwhile are committed from it first. */
static void checkpoint(struct broker_datastore *ds)
{
	struct ds_commit *gc = ds->gc;
	struct entry *rest;
	char old_name[64];
	uint64_t old_gen;
	int fd = journal_create(ds, gc->jgen + 1), old_fd, rc;

	if (fd < 0) {
		PCN_WARN("BROKER-DS-CHECKPOINT", "cannot start a new journal in %s: %s; the old one grows",
			 ds->dir, strerror(-fd));
		return;
	}
	pthread_mutex_lock(&gc->lock);
	old_fd = gc->jfd;
	old_gen = gc->jgen;
	gc->jfd = fd;
	gc->jgen++;
	gc->jbytes = 0;
	rest = gc->staged;
	gc->staged = NULL;
	gc->staged_tail = &gc->staged;
	pthread_mutex_unlock(&gc->lock);
	if (rest)
		commit_group(ds, rest, old_fd);
	close(old_fd);
	ds_journal_name(old_name, sizeof(old_name), old_gen);
	rc = ds_sync_all(ds);
	if (!rc && gc->keep_journal)
		rc = -EIO;
	if (rc) {
		/* Left for the next open to replay: it holds records not synced. */
		PCN_WARN("BROKER-DS-CHECKPOINT", "cannot sync the records in %s: %s; %s kept", ds->dir,
			 strerror(-rc), old_name);
		return;
	}
	unlinkat(ds->dirfd, old_name, 0);
}

static void *commit_thread(void *arg)
{
	struct broker_datastore *ds = arg;
	struct ds_commit *gc = ds->gc;

	pthread_mutex_lock(&gc->lock);
	for (;;) {
		struct entry *batch;
		bool big;
		int fd;

		while (!gc->staged && !gc->stop)
			pthread_cond_wait(&gc->work, &gc->lock);
		if (!gc->staged)
			break;
		batch = gc->staged;
		gc->staged = NULL;
		gc->staged_tail = &gc->staged;
		fd = gc->jfd;
		big = gc->jbytes > JOURNAL_MAX && !gc->failed;
		gc->busy = true;
		pthread_mutex_unlock(&gc->lock);
		commit_group(ds, batch, fd);
		if (big)
			checkpoint(ds);
		pthread_mutex_lock(&gc->lock);
		gc->busy = false;
		pthread_cond_broadcast(&gc->durable);
	}
	pthread_mutex_unlock(&gc->lock);
	return NULL;
}

/* ---- staging (the owner's thread) ------------------------------------------ */

/* What a write will need once synced, checked now so that it fails while
 * the broker can still undo it: a descriptor (EMFILE) and room for its
 * record twice, in the journal and in its file (ENOSPC). */
static int can_write(struct ds_commit *gc, size_t len)
{
	struct statvfs sv;
	int fd = dup(gc->jfd);

	if (fd < 0)
		return -errno;
	close(fd);
	if (fstatvfs(gc->jfd, &sv) == 0 && (unsigned long long)sv.f_bavail * sv.f_frsize < 2ull * len + 8192)
		return -ENOSPC;
	return 0;
}

/* Stages a put of text (NULL: a delete) of fname: its journal entry is
 * written (not synced). 0 with *out queued, or -errno with nothing left. */
static int stage(struct broker_datastore *ds, const char *fname, const char *text, size_t len, broker_ds_done cb,
		 void *arg, struct entry **out)
{
	struct ds_commit *gc = ds->gc;
	struct entry *e = calloc(1, sizeof(*e));
	char *buf = NULL, hdr[FNAME_LEN + 64];
	size_t hlen, blen;
	int rc;

	if (!e)
		return -ENOMEM;
	e->del = !text;
	e->cb = cb;
	e->arg = arg;
	snprintf(e->fname, sizeof(e->fname), "%s", fname);
	if (e->del)
		len = 0;
	hlen = (size_t)snprintf(hdr, sizeof(hdr), "J1 %c %zu %08" PRIx32 " %s\n", e->del ? 'D' : 'P', len,
				ds_entry_crc(fname, e->del ? "" : text, len), fname);
	blen = hlen + len + 1;
	buf = malloc(blen);
	if (!buf) {
		rc = -ENOMEM;
		goto fail;
	}
	memcpy(buf, hdr, hlen);
	if (len)
		memcpy(buf + hlen, text, len);
	buf[blen - 1] = '\n';
	if (!e->del) {
		/* The entry's copy of the text is what the commit thread writes. */
		e->text = malloc(len ? len : 1);
		if (!e->text) {
			rc = -ENOMEM;
			goto fail;
		}
		memcpy(e->text, text, len);
		e->len = len;
	}
	if (broker_datastore_crash_hook) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", ds->dir, fname);
		if (broker_datastore_crash_hook(path)) {
			rc = -EIO; /* as if the process had died before journaling it */
			goto fail;
		}
	}
	pthread_mutex_lock(&gc->lock);
	rc = gc->failed ? -EIO : can_write(gc, len);
	if (!rc) {
		rc = write_all(gc->jfd, buf, blen);
		/* A cut entry would hide every later one from a replay. */
		if (rc && ftruncate(gc->jfd, (off_t)gc->jbytes))
			gc->failed = -EIO;
	}
	if (rc) {
		pthread_mutex_unlock(&gc->lock);
		goto fail;
	}
	gc->seq++;
	gc->jbytes += blen;
	*gc->staged_tail = e;
	gc->staged_tail = &e->next;
	pthread_cond_signal(&gc->work);
	pthread_mutex_unlock(&gc->lock);
	free(buf);
	*out = e;
	return 0;
fail:
	free(buf);
	free(e->text);
	free(e);
	return rc;
}

static int wait_done(struct ds_commit *gc, struct entry *e)
{
	int rc;

	pthread_mutex_lock(&gc->lock);
	while (!e->done)
		pthread_cond_wait(&gc->durable, &gc->lock);
	rc = e->rc;
	pthread_mutex_unlock(&gc->lock);
	free(e);
	return rc;
}

int ds_commit_stage(struct broker_datastore *ds, const char *fname, const char *text, size_t len,
		    broker_ds_done cb, void *arg)
{
	struct entry *e;
	bool inline_cb = cb && !ds->gc->notify;
	int rc;

	/* Without a notifier nobody would reap: the caller waits instead. */
	rc = stage(ds, fname, text, len, inline_cb ? NULL : cb, arg, &e);
	if (rc)
		return rc;
	if (cb && !inline_cb)
		return 0;
	rc = wait_done(ds->gc, e);
	if (!inline_cb)
		return rc;
	cb(arg, rc);
	return 0;
}

void broker_datastore_set_notify(struct broker_datastore *ds, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&ds->gc->lock);
	ds->gc->notify = fn;
	ds->gc->notify_arg = arg;
	pthread_mutex_unlock(&ds->gc->lock);
}

void broker_datastore_reap(struct broker_datastore *ds)
{
	struct ds_commit *gc = ds->gc;
	struct entry *list;

	pthread_mutex_lock(&gc->lock);
	list = gc->done;
	gc->done = NULL;
	gc->done_tail = &gc->done;
	pthread_mutex_unlock(&gc->lock);
	for (struct entry *e = list, *next; e; e = next) {
		next = e->next;
		e->cb(e->arg, e->rc);
		free(e);
	}
}

void broker_datastore_drain(struct broker_datastore *ds)
{
	struct ds_commit *gc = ds->gc;

	pthread_mutex_lock(&gc->lock);
	while (gc->thread_up && (gc->staged || gc->busy))
		pthread_cond_wait(&gc->durable, &gc->lock);
	pthread_mutex_unlock(&gc->lock);
	broker_datastore_reap(ds);
}

void broker_datastore_stats(struct broker_datastore *ds, uint64_t *groups, uint64_t *writes)
{
	pthread_mutex_lock(&ds->gc->lock);
	*groups = ds->gc->groups;
	*writes = ds->gc->writes;
	pthread_mutex_unlock(&ds->gc->lock);
}

int ds_commit_open(struct broker_datastore *ds)
{
	struct ds_commit *gc = calloc(1, sizeof(*gc));
	uint64_t gen = 1;
	int rc;

	pthread_once(&crc_once, crc_init);
	if (!gc)
		return -ENOMEM;
	pthread_mutex_init(&gc->lock, NULL);
	pthread_cond_init(&gc->work, NULL);
	pthread_cond_init(&gc->durable, NULL);
	gc->staged_tail = &gc->staged;
	gc->done_tail = &gc->done;
	gc->jfd = -1;
	ds->gc = gc;
	rc = ds_journal_replay(ds, &gen);
	if (rc)
		return rc;
	gc->jgen = gen;
	gc->jfd = journal_create(ds, gen);
	if (gc->jfd < 0)
		return gc->jfd;
	rc = -pthread_create(&gc->thread, NULL, commit_thread, ds);
	gc->thread_up = rc == 0;
	return rc;
}

void ds_commit_close(struct broker_datastore *ds)
{
	struct ds_commit *gc = ds->gc;
	size_t dropped = 0;
	char name[64];

	if (!gc)
		return;
	if (gc->thread_up) {
		pthread_mutex_lock(&gc->lock);
		gc->stop = true;
		pthread_cond_signal(&gc->work);
		pthread_mutex_unlock(&gc->lock);
		pthread_join(gc->thread, NULL);
	}
	for (struct entry *e = gc->done, *next; e; e = next) {
		next = e->next;
		free(e);
		dropped++;
	}
	if (dropped)
		PCN_WARN("BROKER-DS-CLOSE", "%zu writes committed after the last reap: not answered", dropped);
	if (gc->jfd >= 0) {
		close(gc->jfd);
		/* Everything is renamed: once the records are on disk the journal
		 * has nothing a restart needs. */
		ds_journal_name(name, sizeof(name), gc->jgen);
		if (!gc->failed && !gc->keep_journal && ds_sync_all(ds) == 0)
			unlinkat(ds->dirfd, name, 0);
	}
	pthread_cond_destroy(&gc->durable);
	pthread_cond_destroy(&gc->work);
	pthread_mutex_destroy(&gc->lock);
	free(gc);
	ds->gc = NULL;
}
