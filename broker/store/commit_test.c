/* Tests of the group commit (commit.c): writes staged while a sync is in
 * flight are synced together by the next one, reported done in the order
 * they were staged and only once their files are in place; a journal left
 * by a crash is replayed at open (a torn last entry dropped); errors come
 * back where the caller can still undo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "datastore.h"

struct fixture {
	char root[64];
	char state[128];
	char inst[160];
	struct broker_datastore *ds;
};

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/pcn-gc-test-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->state, sizeof(f->state), "%s/state", f->root);
	snprintf(f->inst, sizeof(f->inst), "%s/instances", f->state);
	if (broker_datastore_open(&f->ds, f->state))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	broker_datastore_group_hook = NULL;
	broker_datastore_close(f->ds);
	nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static bool file_exists(const struct fixture *f, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", f->inst, name);
	return access(path, F_OK) == 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	char *buf = malloc(1 << 20);
	size_t n;

	assert_non_null(fp);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* The journal's name in f->inst (there is one while the store is open). */
static void journal_path(const struct fixture *f, char *out, size_t len)
{
	DIR *d = opendir(f->inst);
	struct dirent *e;
	int found = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "journal.", 8) == 0) {
			snprintf(out, len, "%s/%s", f->inst, e->d_name);
			found++;
		}
	closedir(d);
	assert_int_equal(found, 1);
}

static int journal_count(const struct fixture *f)
{
	DIR *d = opendir(f->inst);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strncmp(e->d_name, "journal.", 8) == 0;
	closedir(d);
	return n;
}

static void make_record(struct broker_record *r, const char *name, uint32_t index, const char *config)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->service, sizeof(r->service), "helloworld");
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->index = index;
	snprintf(r->uuid, sizeof(r->uuid), "1b4e28ba-2fa1-11d2-883f-0016d3cca4%02u", index % 100);
	r->config_json = (char *)config;
}

/* ---- the grouping --------------------------------------------------------- */

static sem_t hook_entered, hook_release;
static int hook_calls;

/* Holds the first group's sync until the test releases it. */
static int hold_first(void)
{
	if (hook_calls++ == 0) {
		sem_post(&hook_entered);
		sem_wait(&hook_release);
	}
	return 0;
}

static pthread_mutex_t note_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t note_cond = PTHREAD_COND_INITIALIZER;
static int notes;

static void notify(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&note_lock);
	notes++;
	pthread_cond_signal(&note_cond);
	pthread_mutex_unlock(&note_lock);
}

struct done_log {
	int n;
	int order[64];
	int rc[64];
	struct fixture *f;
	const char *must_exist[64]; /* a file that is in place when its write is done */
};
static struct done_log dlog;

struct done_arg {
	int id;
	const char *file;
	bool file_gone; /* a delete: the file is gone when done */
};

static void on_done(void *arg, int rc)
{
	struct done_arg *a = arg;

	dlog.order[dlog.n] = a->id;
	dlog.rc[dlog.n] = rc;
	dlog.n++;
	if (a->file)
		assert_true(file_exists(dlog.f, a->file) != a->file_gone);
}

/* Reaps until n writes are done (bounded). */
static void reap_until(struct fixture *f, int n)
{
	for (int i = 0; i < 500 && dlog.n < n; i++) {
		struct timespec ts;

		pthread_mutex_lock(&note_lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (!notes)
			pthread_cond_timedwait(&note_cond, &note_lock, &ts);
		notes = 0;
		pthread_mutex_unlock(&note_lock);
		broker_datastore_reap(f->ds);
	}
	assert_int_equal(dlog.n, n);
}

static const char *const cfg_v[] = {
	"{\"helloworld:helloworld\": {\"action\": \"DROP\"}}",
	"{\"helloworld:helloworld\": {\"action\": \"SLOWPATH\"}}",
	"{\"helloworld:helloworld\": {\"action\": \"FORWARD\"}}",
};

static void test_writes_in_flight_share_one_sync(void **state)
{
	struct fixture *f = *state;
	static char names[10][16], files[10][32];
	struct done_arg args[32];
	struct broker_record r;
	uint64_t groups, writes;
	int n = 0;

	memset(&dlog, 0, sizeof(dlog));
	dlog.f = f;
	hook_calls = 0;
	sem_init(&hook_entered, 0, 0);
	sem_init(&hook_release, 0, 0);
	broker_datastore_set_notify(f->ds, notify, NULL);
	broker_datastore_group_hook = hold_first;

	/* The first write's sync is in flight (held)... */
	make_record(&r, "first", 1, cfg_v[0]);
	args[n] = (struct done_arg){ .id = n, .file = "helloworld@first.json" };
	assert_int_equal(broker_datastore_put_async(f->ds, &r, on_done, &args[n]), 0);
	n++;
	sem_wait(&hook_entered);
	/* ...while ten instances are written twice each, and "first" deleted. */
	for (int v = 1; v <= 2; v++)
		for (int i = 0; i < 10; i++) {
			snprintf(names[i], sizeof(names[i]), "w%d", i);
			snprintf(files[i], sizeof(files[i]), "helloworld@w%d.json", i);
			make_record(&r, names[i], (uint32_t)(10 + i), cfg_v[v]);
			args[n] = (struct done_arg){ .id = n, .file = files[i] };
			assert_int_equal(broker_datastore_put_async(f->ds, &r, on_done, &args[n]), 0);
			n++;
		}
	args[n] = (struct done_arg){ .id = n, .file = "helloworld@first.json", .file_gone = true };
	assert_int_equal(broker_datastore_delete_async(f->ds, "helloworld", "first", on_done, &args[n]), 0);
	n++;
	/* Nothing is done, nor in place, before its sync. */
	broker_datastore_reap(f->ds);
	assert_int_equal(dlog.n, 0);
	assert_false(file_exists(f, "helloworld@w0.json"));

	sem_post(&hook_release);
	reap_until(f, n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(dlog.order[i], i);
		assert_int_equal(dlog.rc[i], 0);
	}
	/* One sync for the first write, one for the 21 staged meanwhile. */
	broker_datastore_stats(f->ds, &groups, &writes);
	assert_int_equal(writes, (uint64_t)n);
	assert_int_equal(groups, 2);
	/* The later write of each instance is the one on disk. */
	for (int i = 0; i < 10; i++) {
		char path[512], *text;

		snprintf(path, sizeof(path), "%s/%s", f->inst, files[i]);
		text = slurp(path, NULL);
		assert_non_null(strstr(text, "FORWARD"));
		free(text);
	}
	assert_false(file_exists(f, "helloworld@first.json"));
	/* A delete of what is not there says so, through the callback. */
	args[n] = (struct done_arg){ .id = n };
	assert_int_equal(broker_datastore_delete_async(f->ds, "helloworld", "first", on_done, &args[n]), 0);
	reap_until(f, n + 1);
	assert_int_equal(dlog.rc[n], -ENOENT);
	/* An invalid record is refused at once, its callback never called. */
	make_record(&r, "bad.name", 3, cfg_v[0]);
	assert_int_equal(broker_datastore_put_async(f->ds, &r, on_done, &args[0]), -EINVAL);
	broker_datastore_reap(f->ds);
	assert_int_equal(dlog.n, n + 1);
	sem_destroy(&hook_entered);
	sem_destroy(&hook_release);
}

/* Without a notifier nobody reaps: put_async waits and calls back inline. */
static void test_no_notifier_calls_back_inline(void **state)
{
	struct fixture *f = *state;
	struct done_arg a = { .id = 7, .file = "helloworld@solo.json" };
	struct broker_record r;

	memset(&dlog, 0, sizeof(dlog));
	dlog.f = f;
	make_record(&r, "solo", 4, cfg_v[2]);
	assert_int_equal(broker_datastore_put_async(f->ds, &r, on_done, &a), 0);
	assert_int_equal(dlog.n, 1);
	assert_int_equal(dlog.order[0], 7);
	assert_int_equal(dlog.rc[0], 0);
}

/* ---- recovery ------------------------------------------------------------- */

struct seen {
	int n;
	char names[8][64];
	char configs[8][256];
};

static int collect(void *arg, const struct broker_record *rec)
{
	struct seen *s = arg;

	assert_true(s->n < 8);
	snprintf(s->names[s->n], 64, "%s", rec->name);
	snprintf(s->configs[s->n], 256, "%s", rec->config_json ? rec->config_json : "");
	s->n++;
	return 0;
}

/* A crash after the journal's sync, before the renamed files reached the
 * disk: one record cut to nothing, another lost. The journal brings both
 * back; its torn last entry (never acknowledged) is dropped. */
static void test_journal_replayed_after_crash(void **state)
{
	struct fixture *f = *state;
	struct broker_record r;
	char jpath[512], path[512], *journal;
	struct seen s = { 0 };
	size_t jlen;
	FILE *fp;

	make_record(&r, "a", 1, cfg_v[0]);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	make_record(&r, "a", 1, cfg_v[2]);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	make_record(&r, "b", 2, cfg_v[1]);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	journal_path(f, jpath, sizeof(jpath));
	journal = slurp(jpath, &jlen);
	assert_true(jlen > 0);

	/* A clean close leaves no journal: the records are synced. */
	broker_datastore_close(f->ds);
	f->ds = NULL;
	assert_int_equal(journal_count(f), 0);

	/* What a crash could have left: the journal, a record cut, one gone,
	 * and a last entry cut in the middle. */
	snprintf(path, sizeof(path), "%s/helloworld@a.json", f->inst);
	assert_int_equal(truncate(path, 0), 0);
	snprintf(path, sizeof(path), "%s/helloworld@b.json", f->inst);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/journal.41", f->inst);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fwrite(journal, 1, jlen, fp);
	fputs("J1 P 400 0badc0de helloworld@c.json\n{\"format\": 1, \"serv", fp);
	fclose(fp);
	free(journal);

	assert_int_equal(broker_datastore_open(&f->ds, f->state), 0);
	assert_int_equal(journal_count(f), 1); /* the new one only */
	assert_false(file_exists(f, "journal.41"));
	assert_int_equal(broker_datastore_load(f->ds, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.names[0], "a");
	assert_non_null(strstr(s.configs[0], "FORWARD"));
	assert_string_equal(s.names[1], "b");
	assert_non_null(strstr(s.configs[1], "SLOWPATH"));
	assert_false(file_exists(f, "helloworld@c.json"));
	/* The next generation goes on after the replayed one. */
	assert_true(file_exists(f, "journal.42"));
}

/* A write that cannot even be staged (no descriptor left, as
 * integ_write_emfile plays it) fails at once, with nothing left behind
 * that a replay would apply, and the next write goes through. */
static void test_stage_failure_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct broker_record r;
	struct rlimit old, low;
	char jpath[512], *text;
	size_t blen, alen;
	int fd;

	make_record(&r, "a", 1, cfg_v[0]);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	journal_path(f, jpath, sizeof(jpath));
	free(slurp(jpath, &blen));
	fd = dup(0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)fd; /* no descriptor past the ones open */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	make_record(&r, "a", 1, cfg_v[2]);
	assert_int_equal(broker_datastore_put(f->ds, &r), -EMFILE);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	free(slurp(jpath, &alen));
	assert_int_equal(alen, blen);
	/* The record is the old one, and the next write goes through. */
	snprintf(jpath, sizeof(jpath), "%s/helloworld@a.json", f->inst);
	text = slurp(jpath, NULL);
	assert_non_null(strstr(text, "DROP"));
	free(text);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	text = slurp(jpath, NULL);
	assert_non_null(strstr(text, "FORWARD"));
	free(text);
}

static void on_count(void *arg, int rc)
{
	(void)arg;
	assert_int_equal(rc, 0);
	dlog.n++;
}

/* Past 8 MiB of journal a checkpoint syncs the records and the next
 * generation takes over: the old journal goes, nothing is lost. */
static void test_checkpoint_starts_a_new_journal(void **state)
{
	struct fixture *f = *state;
	static char cfg[16 * 1024];
	struct broker_record r;
	char jpath[512], name[16];
	struct seen s = { 0 };
	int n = 0;

	memset(&dlog, 0, sizeof(dlog));
	dlog.f = f;
	broker_datastore_set_notify(f->ds, notify, NULL);
	journal_path(f, jpath, sizeof(jpath));
	assert_non_null(strstr(jpath, "journal.1"));
	for (; n < 700; n++) {
		/* ~12 KiB a record: 700 of them pass the threshold. */
		snprintf(cfg, sizeof(cfg), "{\"helloworld:helloworld\": {\"action\": \"DROP\", \"pad\": \"%0*d\"}}",
			 12000, n);
		snprintf(name, sizeof(name), "c%d", n % 5);
		make_record(&r, name, (uint32_t)(1 + n % 5), cfg);
		assert_int_equal(broker_datastore_put_async(f->ds, &r, on_count, NULL), 0);
		if (n % 50 == 49)
			reap_until(f, n + 1);
	}
	reap_until(f, n);
	/* A write after the checkpoint goes to the new journal. */
	make_record(&r, "c0", 1, cfg_v[2]);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	/* The checkpoint runs after the group that crossed the threshold is
	 * reported done: a put staged before it swapped journals is committed
	 * from the old one, which goes a moment after that put returns. */
	for (int i = 0; i < 200 && journal_count(f) != 1; i++)
		usleep(10 * 1000);
	journal_path(f, jpath, sizeof(jpath));
	assert_null(strstr(jpath, "journal.1"));
	broker_datastore_close(f->ds);
	f->ds = NULL;
	assert_int_equal(broker_datastore_open(&f->ds, f->state), 0);
	assert_int_equal(broker_datastore_load(f->ds, collect, &s), 0);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.names[0], "c0");
	assert_non_null(strstr(s.configs[0], "FORWARD"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_writes_in_flight_share_one_sync),
		T(test_no_notifier_calls_back_inline),
		T(test_journal_replayed_after_crash),
		T(test_stage_failure_leaves_nothing),
		T(test_checkpoint_starts_a_new_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
