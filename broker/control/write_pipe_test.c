/* Pipelined writes (loop.c, control/write_pipe.c) against a fake cube
 * process on a real nng socket (fakecube_test.c) that takes its time over
 * each Apply and checks ApplyConfig.after as a cube process does: writes of
 * one service are in flight together, of one instance or of several; a
 * write the cube refuses among them changes nothing (the broker's
 * configuration, the datastore, what the cube applied) while the ones
 * around it commit, in the order they came; a create and a port change
 * still run alone, in their place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/control.h"
#include "core/core.h"
#include "model/model.h"
#include "store/datastore.h"

#include "control/fakecube_test.h"

static struct broker *B;

static int group_setup(void **state)
{
	(void)state;
	B = tb_start();
	if (!B)
		tb_stop();
	return B ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	tb_stop();
	return 0;
}

static void write_ok(enum broker_method m, const char *path, const char *body, int want)
{
	char msg[256] = "";
	int got = tb_write(m, path, body, msg, sizeof(msg));

	if (got != want)
		fail_msg("%s: %d (%s), want %d", path, got, msg, want);
}

static void count_running(struct broker *b, struct broker_job *job, void *arg)
{
	(void)b;
	(void)job;
	(*(int *)arg)++;
}

static int n_running(void)
{
	int n = 0;

	broker_jobs_running(B, count_running, &n);
	return n;
}

/* Runs the loop until no job runs (at most 5 s); the most jobs that ran
 * at once meanwhile. */
static int run_all(void)
{
	int most = 0;

	for (int i = 0; i < 5000; i++) {
		int n;

		tb_run_ms(1);
		n = n_running();
		if (n > most)
			most = n;
		if (i > 5 && n == 0)
			break;
	}
	return most;
}

static const char *leaf(const char *name, const char *relpath)
{
	struct broker_instance *i = broker_instance_find(B, name);

	assert_non_null(i);
	return broker_config_leaf(i->config, relpath);
}

struct rec_text {
	const char *name;
	char *json;
};

static int rec_one(void *arg, const struct broker_record *rec)
{
	struct rec_text *r = arg;

	if (strcmp(rec->name, r->name) == 0 && rec->config_json)
		r->json = strdup(rec->config_json);
	return 0;
}

/* The datastore's text of an instance's record (free it). */
static char *record(const char *name)
{
	struct rec_text r = { .name = name };

	assert_int_equal(broker_datastore_load(B->ds, rec_one, &r), 0);
	assert_non_null(r.json);
	return r.json;
}

/* Where "<name>=...<value>..." is in the cube's log from off on (-1: not). */
static long logged_at(size_t off, const char *name, const char *value)
{
	const char *log = tb_cube_apply_log() + off, *p = log;
	char key[64];

	snprintf(key, sizeof(key), "%s=", name);
	while ((p = strstr(p, key))) {
		const char *end = strchr(p, ';');

		if (end && memmem(p, (size_t)(end - p), value, strlen(value)))
			return p - log;
		p++;
	}
	return -1;
}

/* Four writes (path, body) queued at once to a cube that takes delay_ms
 * over each Apply and refuses what tb_cube_refuse_value says; once all
 * ran, the refusal is lifted and each answer must be want[i]. The most
 * writes that ran at once. */
static int four(const char *const w4[4][2], unsigned delay_ms, const int want[4])
{
	struct tb_write *w[4];
	int most;

	tb_cube_apply_delay(delay_ms);
	for (int i = 0; i < 4; i++)
		w[i] = tb_write_start(BROKER_PATCH, w4[i][0], w4[i][1]);
	most = run_all();
	tb_cube_apply_delay(0);
	tb_cube_refuse_instance(NULL, 0);
	for (int i = 0; i < 4; i++) {
		int got = tb_write_wait(w[i], 1000);

		if (got != want[i])
			fail_msg("%s %s: %d, want %d", w4[i][0], w4[i][1], got, want[i]);
	}
	return most;
}

static void test_refused_in_the_middle(void **state)
{
	static const char *const w4[4][2] = {
		{ "/helloworld/pa/action", "\"FORWARD\"" },
		{ "/helloworld/pb/action", "\"FORWARD\"" },
		{ "/helloworld/pc/action", "\"FORWARD\"" },
		{ "/helloworld/pa/action", "\"SLOWPATH\"" },
	};
	static const int want[4] = { 200, 400, 200, 200 };
	size_t off;
	int most;
	char *rec;

	(void)state;
	write_ok(BROKER_POST, "/helloworld/pa", "{}", 201);
	write_ok(BROKER_POST, "/helloworld/pb", "{}", 201);
	write_ok(BROKER_POST, "/helloworld/pc", "{}", 201);
	off = strlen(tb_cube_apply_log());
	tb_cube_refuse_instance("pb", 400);
	most = four(w4, 40, want);
	/* In flight together, and applied in the order they came. */
	if (most < 3)
		fail_msg("at most %d writes ran at once, want 3", most);
	assert_true(logged_at(off, "pa", "FORWARD") >= 0);
	assert_true(logged_at(off, "pc", "FORWARD") >= 0);
	assert_true(logged_at(off, "pa", "SLOWPATH") > logged_at(off, "pa", "FORWARD"));
	assert_true(logged_at(off, "pa", "SLOWPATH") > logged_at(off, "pc", "FORWARD"));
	/* The refused one changed nothing; the ones around it committed. */
	assert_string_equal(leaf("pb", "action"), "DROP");
	assert_string_equal(leaf("pa", "action"), "SLOWPATH");
	assert_string_equal(leaf("pc", "action"), "FORWARD");
	rec = record("pb");
	assert_null(strstr(rec, "FORWARD"));
	free(rec);
	rec = record("pa");
	assert_non_null(strstr(rec, "SLOWPATH"));
	free(rec);
	rec = record("pc");
	assert_non_null(strstr(rec, "FORWARD"));
	free(rec);
}

/* Four writes of one instance in flight together, the second refused by
 * the cube: the third, computed on it, is refused as stale by the cube and
 * computed again on the first; the refused change is never applied. */
static void test_one_instance_refused_in_the_middle(void **state)
{
	static const char *const w4[4][2] = {
		{ "/helloworld/pe/action", "\"FORWARD\"" },
		{ "/helloworld/pe/action", "\"SLOWPATH\"" },
		{ "/helloworld/pe/loglevel", "\"DEBUG\"" },
		{ "/helloworld/pe/action", "\"DROP\"" },
	};
	static const int want[4] = { 200, 400, 200, 200 };
	unsigned stale = tb_cube_stale();
	size_t off;
	int most;
	char *rec;

	(void)state;
	write_ok(BROKER_POST, "/helloworld/pe", "{}", 201);
	off = strlen(tb_cube_apply_log());
	tb_cube_refuse_value("pe", "SLOWPATH", 400);
	most = four(w4, 30, want);
	if (most < 3)
		fail_msg("at most %d writes of one instance ran at once, want 3 or more", most);
	assert_true(tb_cube_stale() > stale);
	/* What the cube applied: never the refused change, in order. */
	assert_null(strstr(tb_cube_apply_log() + off, "SLOWPATH"));
	assert_true(logged_at(off, "pe", "FORWARD") >= 0);
	assert_true(logged_at(off, "pe", "DEBUG") > logged_at(off, "pe", "FORWARD"));
	assert_true(logged_at(off, "pe", "DROP") > logged_at(off, "pe", "DEBUG"));
	assert_string_equal(leaf("pe", "action"), "DROP");
	assert_string_equal(leaf("pe", "loglevel"), "DEBUG");
	rec = record("pe");
	assert_null(strstr(rec, "SLOWPATH"));
	assert_non_null(strstr(rec, "DEBUG"));
	assert_non_null(strstr(rec, "DROP"));
	free(rec);
	write_ok(BROKER_DELETE, "/helloworld/pe", NULL, 204);
}

/* A create and a change of ports run alone: behind the writes before
 * them, ahead of the ones after, in the order the writes came. */
static void test_alone_in_order(void **state)
{
	struct tb_write *w[4];
	size_t off;

	(void)state;
	off = strlen(tb_cube_apply_log());
	tb_cube_apply_delay(20);
	w[0] = tb_write_start(BROKER_PATCH, "/helloworld/pa/action", "\"DROP\"");
	w[1] = tb_write_start(BROKER_POST, "/helloworld/pd", "{}");
	w[2] = tb_write_start(BROKER_PATCH, "/helloworld/pc/action", "\"SLOWPATH\"");
	w[3] = tb_write_start(BROKER_POST, "/helloworld/pb/ports/p1", "{}");
	run_all();
	tb_cube_apply_delay(0);
	assert_int_equal(tb_write_wait(w[0], 1000), 200);
	assert_int_equal(tb_write_wait(w[1], 1000), 201);
	assert_int_equal(tb_write_wait(w[2], 1000), 200);
	assert_int_equal(tb_write_wait(w[3], 1000), 201);
	assert_true(logged_at(off, "pa", "DROP") >= 0);
	assert_true(logged_at(off, "pd", "") > logged_at(off, "pa", "DROP"));
	assert_true(logged_at(off, "pc", "SLOWPATH") > logged_at(off, "pd", ""));
	assert_true(logged_at(off, "pb", "p1") > logged_at(off, "pc", "SLOWPATH"));
	assert_string_equal(leaf("pc", "action"), "SLOWPATH");
	assert_non_null(broker_instance_find(B, "pd"));
	write_ok(BROKER_DELETE, "/helloworld/pd", NULL, 204);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_in_the_middle),
		cmocka_unit_test(test_one_instance_refused_in_the_middle),
		cmocka_unit_test(test_alone_in_order),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
