/* Tests of the datastore: what is put comes back, replaced, deleted; a
 * crash between write and rename keeps the old record; a corrupt file is
 * set aside without stopping the others; bad names never reach the disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datastore.h"
#include "pcn_kern_user.h"

struct fixture {
	char root[64];      /* the test's own directory, removed at teardown */
	char state[128];    /* state_dir given to the store */
	char inst[160];     /* state/instances */
	struct broker_datastore *ds;
};

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/pcn-ds-test-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	/* A state_dir that does not exist yet, two levels down: open makes it. */
	snprintf(f->state, sizeof(f->state), "%s/var/cubemesh", f->root);
	snprintf(f->inst, sizeof(f->inst), "%s/instances", f->state);
	if (broker_datastore_open(&f->ds, f->state))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	broker_datastore_crash_hook = NULL;
	broker_datastore_close(f->ds);
	nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct broker_record_port two_ports[] = { { "port1", 0 }, { "port2", 7 } };

static void make_record(struct broker_record *r, const char *svc, const char *name, uint32_t index,
			const char *config)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->service, sizeof(r->service), "%s", svc);
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->index = index;
	snprintf(r->uuid, sizeof(r->uuid), "1b4e28ba-2fa1-11d2-883f-0016d3cca4%02u", index % 100);
	r->config_json = (char *)config;
	r->n_ports = 2;
	r->ports = two_ports;
}

/* Collects what load hands out. */
struct seen {
	size_t n;
	struct broker_record recs[16];
	int stop_after; /* 0: never */
};

static int collect(void *arg, const struct broker_record *rec)
{
	struct seen *s = arg;

	assert_true(s->n < 16);
	assert_int_equal(broker_record_copy(&s->recs[s->n++], rec), 0);
	return s->stop_after && (int)s->n == s->stop_after ? 42 : 0;
}

static void seen_fini(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		broker_record_fini(&s->recs[i]);
	s->n = 0;
}

static void assert_json_equal(const char *got, const char *want)
{
	json_t *g = json_loads(got, JSON_DECODE_ANY, NULL), *w = json_loads(want, JSON_DECODE_ANY, NULL);

	assert_non_null(g);
	assert_non_null(w);
	if (!json_equal(g, w))
		fail_msg("config %s, want %s", got, want);
	json_decref(g);
	json_decref(w);
}

static void assert_record_equal(const struct broker_record *got, const struct broker_record *want)
{
	assert_string_equal(got->service, want->service);
	assert_string_equal(got->name, want->name);
	assert_int_equal(got->index, want->index);
	assert_string_equal(got->uuid, want->uuid);
	assert_int_equal(got->n_ports, want->n_ports);
	for (size_t i = 0; i < want->n_ports; i++) {
		assert_string_equal(got->ports[i].name, want->ports[i].name);
		assert_int_equal(got->ports[i].index, want->ports[i].index);
	}
	if (want->config_json)
		assert_json_equal(got->config_json, want->config_json);
	else
		assert_null(got->config_json);
}

static bool file_exists(const struct fixture *f, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", f->inst, name);
	return access(path, F_OK) == 0;
}

/* A .tmp left in the store's directory. */
static bool any_tmp(const struct fixture *f)
{
	DIR *d = opendir(f->inst);
	struct dirent *e;
	bool found = false;

	assert_non_null(d);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		found |= n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0;
	}
	closedir(d);
	return found;
}

static void write_file(const struct fixture *f, const char *name, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->inst, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static const char cfg_r1[] =
	"{\"router:router\": {\"name\": \"r1\", \"loglevel\": \"DEBUG\", \"route\": [{\"network\": "
	"\"10.0.1.0/24\", \"nexthop\": \"0.0.0.0\"}], \"counter\": \"18446744073709551615\"}}";
static const char cfg_r1_v2[] = "{\"router:router\": {\"name\": \"r1\", \"loglevel\": \"INFO\"}}";
static const char cfg_hw[] = "{\"helloworld:helloworld\": {\"name\": \"hw1\", \"action\": \"FORWARD\"}}";

static void test_put_load_round_trip(void **state)
{
	struct fixture *f = *state;
	struct broker_record r[4];
	struct seen s = { 0 };

	/* Put out of order; "a-b" sorts after "a" as a service though its
	 * file name ("a-b@…") sorts before ("a@…"). */
	make_record(&r[0], "router", "r1", 3, cfg_r1);
	make_record(&r[1], "helloworld", "hw1", 1, cfg_hw);
	make_record(&r[2], "a-b", "x", 2, "{}");
	make_record(&r[3], "a", "x", 4, NULL);
	r[3].n_ports = 0;
	r[3].ports = NULL;
	for (int i = 0; i < 4; i++)
		assert_int_equal(broker_datastore_put(f->ds, &r[i]), 0);
	assert_true(file_exists(f, "router@r1.json"));

	assert_int_equal(broker_datastore_load(f->ds, collect, &s), 0);
	assert_int_equal(s.n, 4);
	assert_record_equal(&s.recs[0], &r[3]);
	assert_record_equal(&s.recs[1], &r[2]);
	assert_record_equal(&s.recs[2], &r[1]);
	assert_record_equal(&s.recs[3], &r[0]);
	seen_fini(&s);

	/* And again from a fresh handle, as after a broker restart. */
	broker_datastore_close(f->ds);
	f->ds = NULL;
	assert_int_equal(broker_datastore_open(&f->ds, f->state), 0);
	assert_int_equal(broker_datastore_load(f->ds, collect, &s), 0);
	assert_int_equal(s.n, 4);
	assert_record_equal(&s.recs[3], &r[0]);
	seen_fini(&s);
}

static void test_put_replaces(void **state)
{
	struct fixture *f = *state;
	struct broker_record r;
	struct broker_record_port one_port[] = { { "port2", 7 } };
	struct seen s = { 0 };

	make_record(&r, "router", "r1", 3, cfg_r1);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	r.config_json = (char *)cfg_r1_v2;
	r.n_ports = 1;
	r.ports = one_port;
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	assert_int_equal(broker_datastore_load(f->ds, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_record_equal(&s.recs[0], &r);
	seen_fini(&s);
	assert_false(any_tmp(f));
}

static void test_delete(void **state)
{
	struct fixture *f = *state;
	struct broker_record r;
	struct seen s = { 0 };

	make_record(&r, "router", "r1", 3, cfg_r1);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	make_record(&r, "router", "r2", 5, cfg_r1);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	assert_int_equal(broker_datastore_delete(f->ds, "router", "r1"), 0);
	assert_false(file_exists(f, "router@r1.json"));
	assert_int_equal(broker_datastore_delete(f->ds, "router", "r1"), -ENOENT);
	assert_int_equal(broker_datastore_delete(f->ds, "bridge", "r2"), -ENOENT);
	assert_int_equal(broker_datastore_load(f->ds, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.recs[0].name, "r2");
	seen_fini(&s);
}

static char hook_path[512];

/* Plays a crash right before the write is journaled. */
static int crash_hook(const char *path)
{
	snprintf(hook_path, sizeof(hook_path), "%s", path);
	return 1;
}

static void test_crash_before_rename(void **state)
{
	struct fixture *f = *state;
	struct broker_record r;
	struct seen s = { 0 };
	char want[512];

	make_record(&r, "router", "r1", 3, cfg_r1);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);

	broker_datastore_crash_hook = crash_hook;
	r.config_json = (char *)cfg_r1_v2;
	r.index = 9;
	assert_int_equal(broker_datastore_put(f->ds, &r), -EIO);
	broker_datastore_crash_hook = NULL;
	snprintf(want, sizeof(want), "%s/router@r1.json", f->inst);
	assert_string_equal(hook_path, want);
	/* The record on disk is still the old one... */
	assert_int_equal(broker_datastore_load(f->ds, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.recs[0].index, 3);
	assert_json_equal(s.recs[0].config_json, cfg_r1);
	seen_fini(&s);

	/* ...and after a restart. */
	broker_datastore_close(f->ds);
	f->ds = NULL;
	assert_int_equal(broker_datastore_open(&f->ds, f->state), 0);
	assert_false(any_tmp(f));
	assert_int_equal(broker_datastore_load(f->ds, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.recs[0].index, 3);
	seen_fini(&s);
}

static void test_corrupt_file_skipped(void **state)
{
	struct fixture *f = *state;
	struct broker_record r;
	struct seen s = { 0 };

	make_record(&r, "router", "r1", 1, cfg_r1);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	make_record(&r, "router", "r2", 2, cfg_r1);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	make_record(&r, "router", "r3", 3, cfg_r1);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	/* Half a file, as a disk error or a hand edit might leave it. */
	write_file(f, "router@r2.json", "{\"format\": 1, \"service\": \"router\", \"na");
	/* Valid JSON that is not a record of the name it is filed under. */
	write_file(f, "bridge@b1.json", "{\"format\": 1, \"service\": \"bridge\", \"name\": \"b2\", \"index\": 4, "
					 "\"uuid\": \"\", \"ports\": [], \"config\": null}");
	/* A port index that does not fit a uint32. */
	write_file(f, "bridge@b3.json", "{\"format\": 1, \"service\": \"bridge\", \"name\": \"b3\", \"index\": 4, "
					 "\"uuid\": \"\", \"ports\": [{\"name\": \"p\", \"index\": -1}], \"config\": {}}");
	/* Two ports on one number. */
	write_file(f, "bridge@b5.json", "{\"format\": 1, \"service\": \"bridge\", \"name\": \"b5\", \"index\": 5, "
					 "\"uuid\": \"\", \"ports\": [{\"name\": \"p\", \"index\": 1}, "
					 "{\"name\": \"q\", \"index\": 1}], \"config\": {}}");
	/* A newer broker's file: skipped, but left for that broker. */
	write_file(f, "bridge@b4.json", "{\"format\": 2}");
	/* Not a record file at all. */
	write_file(f, "notes.json", "{}");

	assert_int_equal(broker_datastore_load(f->ds, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.recs[0].name, "r1");
	assert_string_equal(s.recs[1].name, "r3");
	seen_fini(&s);
	assert_false(file_exists(f, "router@r2.json"));
	assert_true(file_exists(f, "router@r2.json.corrupt"));
	assert_true(file_exists(f, "bridge@b1.json.corrupt"));
	assert_true(file_exists(f, "bridge@b3.json.corrupt"));
	assert_true(file_exists(f, "bridge@b5.json.corrupt"));
	assert_true(file_exists(f, "bridge@b4.json"));
	assert_true(file_exists(f, "notes.json"));

	/* The next start does not trip on them again, and can write r2 anew. */
	make_record(&r, "router", "r2", 2, cfg_r1);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	assert_int_equal(broker_datastore_load(f->ds, collect, &s), 0);
	assert_int_equal(s.n, 3);
	seen_fini(&s);
}

/* A file cut at every length: loaded whole, or set aside; never a crash
 * (run under -DCUBEMESH_SANITIZE=ON too). */
static void test_truncated_files(void **state)
{
	struct fixture *f = *state;
	struct broker_record r;
	struct seen s = { 0 };
	char path[512], aside[600], text[4096];
	size_t len, loaded = 0;
	FILE *fp;

	make_record(&r, "router", "r1", 3, cfg_r1);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	snprintf(path, sizeof(path), "%s/router@r1.json", f->inst);
	snprintf(aside, sizeof(aside), "%s.corrupt", path);
	fp = fopen(path, "r");
	assert_non_null(fp);
	len = fread(text, 1, sizeof(text), fp);
	fclose(fp);
	assert_true(len > 100 && len < sizeof(text));
	for (size_t cut = 0; cut <= len; cut++) {
		fp = fopen(path, "w");
		assert_non_null(fp);
		assert_int_equal(fwrite(text, 1, cut, fp), cut);
		fclose(fp);
		assert_int_equal(broker_datastore_load(f->ds, collect, &s), 0);
		if (s.n) {
			assert_int_equal(s.n, 1);
			assert_record_equal(&s.recs[0], &r);
			loaded++;
		} else {
			assert_int_equal(access(path, F_OK), -1);
			assert_int_equal(unlink(aside), 0);
		}
		seen_fini(&s);
	}
	/* Only the cuts that lose nothing but trailing whitespace still load. */
	assert_true(loaded >= 1 && loaded <= 2);
}

static void test_walk_stops(void **state)
{
	struct fixture *f = *state;
	struct broker_record r;
	struct seen s = { .stop_after = 2 };

	for (uint32_t i = 1; i <= 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "r%u", i);
		make_record(&r, "router", name, i, NULL);
		assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	}
	assert_int_equal(broker_datastore_load(f->ds, collect, &s), 42);
	assert_int_equal(s.n, 2);
	seen_fini(&s);
}

static void test_bad_names_refused(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"", "a/b", "..", "../etc", "x..y", ".", "a b", "r1@x", "caf\xc3\xa9", "a\\b",
		"web.1", /* bpffs refuses it as a pin directory, the model as a name */
	};
	struct broker_record r;
	struct seen s = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_record(&r, "router", bad[i], 1, NULL);
		assert_int_equal(broker_datastore_put(f->ds, &r), -EINVAL);
		make_record(&r, bad[i], "r1", 1, NULL);
		assert_int_equal(broker_datastore_put(f->ds, &r), -EINVAL);
		assert_int_equal(broker_datastore_delete(f->ds, bad[i], "r1"), -EINVAL);
		assert_int_equal(broker_datastore_delete(f->ds, "router", bad[i]), -EINVAL);
		assert_false(broker_datastore_name_valid(bad[i]));
	}
	assert_int_equal(broker_datastore_delete(f->ds, NULL, "r1"), -EINVAL);
	/* 64 characters fill the field with no room for the NUL: never read past it. */
	make_record(&r, "router", "r1", 1, NULL);
	memset(r.name, 'n', sizeof(r.name));
	assert_int_equal(broker_datastore_put(f->ds, &r), -EINVAL);
	assert_false(broker_datastore_name_valid("1234567890123456789012345678901234567890123456789012345678901234"));
	/* Nothing reached the disk, inside the store or next to it. */
	assert_int_equal(broker_datastore_load(f->ds, collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(access("/tmp/etc.json", F_OK), -1);

	/* The longest name and every allowed character are fine. */
	make_record(&r, "my_svc-2_0", "123456789012345678901234567890123456789012345678901234567890123", 1, NULL);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	/* A port name must not be empty; a config must be JSON. */
	make_record(&r, "router", "r1", 1, "{\"router:router\": ");
	assert_int_equal(broker_datastore_put(f->ds, &r), -EINVAL);
	make_record(&r, "router", "r1", 1, NULL);
	struct broker_record_port empty[] = { { "", 1 } };
	r.ports = empty;
	r.n_ports = 1;
	assert_int_equal(broker_datastore_put(f->ds, &r), -EINVAL);
	/* Two ports on one number, or under one name. */
	struct broker_record_port same_index[] = { { "p1", 1 }, { "p2", 1 } };
	struct broker_record_port same_name[] = { { "p1", 1 }, { "p1", 2 } };
	r.ports = same_index;
	r.n_ports = 2;
	assert_int_equal(broker_datastore_put(f->ds, &r), -EINVAL);
	r.ports = same_name;
	assert_int_equal(broker_datastore_put(f->ds, &r), -EINVAL);
	assert_false(file_exists(f, "router@r1.json"));
	assert_false(any_tmp(f));
}

static void test_permissions(void **state)
{
	struct fixture *f = *state;
	struct broker_record r;
	struct stat st;
	char path[512];
	mode_t old = umask(0); /* the store must not depend on the caller's umask */

	make_record(&r, "router", "r1", 1, cfg_r1);
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	umask(old);
	snprintf(path, sizeof(path), "%s/router@r1.json", f->inst);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(f->inst, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(f->state, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct broker_datastore *ds = (struct broker_datastore *)0x1;
	char path[512];

	/* A state_dir that is a file. */
	write_file(f, "plain", "x");
	snprintf(path, sizeof(path), "%s/plain", f->inst);
	assert_int_equal(broker_datastore_open(&ds, path), -ENOTDIR);
	assert_ptr_equal(ds, (struct broker_datastore *)0x1);
	assert_int_equal(broker_datastore_open(&ds, ""), -EINVAL);
	/* A second broker on the same state is refused, until the first closes. */
	ds = NULL;
	assert_int_equal(broker_datastore_open(&ds, f->state), -EBUSY);
	assert_null(ds);
	broker_datastore_close(f->ds);
	f->ds = NULL;
	assert_int_equal(broker_datastore_open(&f->ds, f->state), 0);
	broker_datastore_close(NULL);
}

static void test_record_copy(void **state)
{
	struct broker_record r, c;

	make_record(&r, "router", "r1", 3, cfg_r1);
	assert_int_equal(broker_record_copy(&c, &r), 0);
	assert_ptr_not_equal(c.config_json, r.config_json);
	assert_ptr_not_equal(c.ports, r.ports);
	assert_record_equal(&c, &r);
	broker_record_fini(&c);
	assert_null(c.ports);
	assert_int_equal(c.n_ports, 0);
	broker_record_fini(&c); /* twice is harmless */
	broker_record_fini(NULL);
}


/* ---- hostile records: every number and count bounded ---------------------- */

/* A well-formed record of svc/name with n ports numbered 0 .. n-1, to be
 * spoiled by the test; written with json_dump_file. */
static json_t *rec_json(const char *svc, const char *name, json_int_t index, size_t n_ports)
{
	json_t *ports = json_array();

	for (size_t i = 0; i < n_ports; i++) {
		char pn[32];

		snprintf(pn, sizeof(pn), "p%zu", i);
		json_array_append_new(ports, json_pack("{s:s, s:I}", "name", pn, "index", (json_int_t)i));
	}
	return json_pack("{s:i, s:s, s:s, s:I, s:s, s:o, s:{}}", "format", 1, "service", svc, "name", name,
			 "index", index, "uuid", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "ports", ports, "config");
}

static void dump_rec(const struct fixture *f, json_t *j)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s@%s.json", f->inst, json_string_value(json_object_get(j, "service")),
		 json_string_value(json_object_get(j, "name")));
	assert_int_equal(json_dump_file(j, path, JSON_COMPACT), 0);
	json_decref(j);
}

/* Loads everything; asserts exactly the names in want (sorted, NULL-ended)
 * came back and every other record file was set aside. */
static void assert_loaded_only(struct fixture *f, const char *const *want)
{
	struct seen s = { 0 };
	size_t n = 0;

	assert_int_equal(broker_datastore_load(f->ds, collect, &s), 0);
	for (; want[n]; n++) {
		assert_true(n < s.n);
		assert_string_equal(s.recs[n].name, want[n]);
	}
	assert_int_equal(s.n, n);
	seen_fini(&s);
}

/* The replay's arrays hold PCN_MAX_PORTS (256) ports: a record with more
 * used to overflow them on every start. */
static void test_oversized_ports(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = { "full", "ok", NULL };
	json_t *j;

	dump_rec(f, rec_json("bridge", "big", 2, 300));
	dump_rec(f, rec_json("bridge", "full", 3, 256)); /* exactly the bound: fine */
	dump_rec(f, rec_json("bridge", "ok", 4, 2));
	j = rec_json("bridge", "portnum", 5, 1); /* port number past the bound */
	json_integer_set(json_object_get(json_array_get(json_object_get(j, "ports"), 0), "index"), 256);
	dump_rec(f, j);
	assert_loaded_only(f, want);
	assert_true(file_exists(f, "bridge@big.json.corrupt"));
	assert_true(file_exists(f, "bridge@portnum.json.corrupt"));
	assert_false(file_exists(f, "bridge@big.json"));
}

static void test_slot_out_of_range(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = { "last", NULL };

	dump_rec(f, rec_json("bridge", "zero", 0, 1)); /* slot 0 is never an instance's */
	dump_rec(f, rec_json("bridge", "max", 1024, 1));
	dump_rec(f, rec_json("bridge", "huge", 4000000000LL, 1));
	dump_rec(f, rec_json("bridge", "last", 1023, 1));
	assert_loaded_only(f, want);
	assert_true(file_exists(f, "bridge@zero.json.corrupt"));
	assert_true(file_exists(f, "bridge@max.json.corrupt"));
	assert_true(file_exists(f, "bridge@huge.json.corrupt"));
}

static void note_skip(void *arg, const struct broker_ds_skipped *sk)
{
	struct seen *s = arg;
	struct broker_record *r = &s->recs[s->n++];

	assert_true(s->n < 16);
	snprintf(r->service, sizeof(r->service), "%s", sk->service);
	snprintf(r->name, sizeof(r->name), "%s", sk->name);
	r->index = sk->has_index ? sk->index : 9999;
	r->n_ports = sk->set_aside; /* 1: moved aside, 0: left in place */
}

static int accept_all(void *arg, const struct broker_record *rec)
{
	(void)arg;
	/* A record the caller refuses is set aside like a corrupt one. */
	return strcmp(rec->name, "refused") == 0 ? BROKER_DS_REFUSE : 0;
}

/* Two records on one slot: the first in the walk's order keeps it, the
 * other is set aside and reported, with the slot it claimed. */
static void test_duplicate_slots(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = { "a1", "c1", NULL };
	struct seen sk = { 0 };
	char link[512];

	dump_rec(f, rec_json("bridge", "a1", 7, 1));
	dump_rec(f, rec_json("bridge", "b1", 7, 1));
	dump_rec(f, rec_json("bridge", "c1", 8, 1));
	assert_loaded_only(f, want);
	assert_true(file_exists(f, "bridge@b1.json.corrupt"));

	/* load_ex says what it set aside or left in place, and why. */
	dump_rec(f, rec_json("bridge", "d1", 8, 1));
	dump_rec(f, rec_json("bridge", "refused", 9, 1));
	write_file(f, "bridge@e1.json", "{\"format\": 2}");
	write_file(f, "bridge@f1.json", "{\"format\": 1, \"serv");
	/* Unreadable (O_NOFOLLOW): left in place, as another format is. */
	snprintf(link, sizeof(link), "%s/bridge@g1.json", f->inst);
	assert_int_equal(symlink("bridge@c1.json", link), 0);
	assert_int_equal(broker_datastore_load_ex(f->ds, accept_all, note_skip, &sk), 0);
	assert_int_equal(sk.n, 5);
	assert_string_equal(sk.recs[0].name, "d1");
	assert_int_equal(sk.recs[0].index, 8);
	assert_int_equal(sk.recs[0].n_ports, 1);
	assert_string_equal(sk.recs[1].name, "e1");
	assert_int_equal(sk.recs[1].index, 9999);
	assert_int_equal(sk.recs[1].n_ports, 0);
	assert_string_equal(sk.recs[2].name, "f1");
	assert_int_equal(sk.recs[2].n_ports, 1);
	assert_string_equal(sk.recs[3].name, "g1");
	assert_int_equal(sk.recs[3].n_ports, 0);
	assert_string_equal(sk.recs[4].name, "refused");
	assert_int_equal(sk.recs[4].index, 9);
	assert_true(file_exists(f, "bridge@refused.json.corrupt"));
	assert_true(file_exists(f, "bridge@e1.json"));
	assert_true(file_exists(f, "bridge@g1.json"));
}

/* Members of the wrong JSON type, and strings that are too long or not
 * what they claim to be. */
static void test_wrong_types_and_huge_strings(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = { "good", NULL };
	static const char *const spoil[][2] = {
		{ "index", "\"3\"" },	     { "index", "3.5" },	   { "index", "-1" },
		{ "ports", "{}" },	     { "ports", "[3]" },	   { "ports", "[{\"name\": 1, \"index\": 0}]" },
		{ "config", "\"x\"" },	     { "config", "[1, 2]" },	   { "config", "42" },
		{ "uuid", "\"../../../../../../../../../../etc/xx\"" }, { "uuid", "7" },
		{ "format", "\"1\"" },
	};
	char *big = malloc(1 << 20);
	json_t *j;

	assert_non_null(big);
	for (size_t i = 0; i < sizeof(spoil) / sizeof(spoil[0]); i++) {
		char name[16];

		snprintf(name, sizeof(name), "w%zu", i);
		j = rec_json("bridge", name, (json_int_t)(10 + i), 1);
		json_object_set_new(j, spoil[i][0], json_loads(spoil[i][1], JSON_DECODE_ANY, NULL));
		dump_rec(f, j);
	}
	/* A megabyte where a name, a port name and a uuid go. */
	memset(big, 'x', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	j = rec_json("bridge", "h1", 40, 1);
	json_object_set_new(j, "uuid", json_string(big));
	dump_rec(f, j);
	j = rec_json("bridge", "h2", 41, 1);
	json_object_set_new(json_array_get(json_object_get(j, "ports"), 0), "name", json_string(big));
	dump_rec(f, j);
	free(big);
	dump_rec(f, rec_json("bridge", "good", 50, 1));
	assert_loaded_only(f, want);
	assert_true(file_exists(f, "bridge@w6.json.corrupt"));
	assert_true(file_exists(f, "bridge@w9.json.corrupt"));
	assert_true(file_exists(f, "bridge@h1.json.corrupt"));
}

/* 10 MB of record: 300,000 ports. Refused at once, not after comparing
 * every pair of ports (quadratic: minutes) nor allocating for them all. */
static void test_ten_mb_record(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = { "cfg", NULL };
	char path[512];
	struct stat st;
	json_t *j, *cfg = json_object(), *rules = json_array();
	FILE *fp;

	snprintf(path, sizeof(path), "%s/bridge@huge.json", f->inst);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{\"format\": 1, \"service\": \"bridge\", \"name\": \"huge\", \"index\": 3, \"uuid\": \"\", "
	      "\"config\": {}, \"ports\": [", fp);
	for (int i = 0; i < 300000; i++)
		fprintf(fp, "%s{\"name\": \"port%07d\", \"index\": %d}", i ? ", " : "", i, i);
	fputs("]}", fp);
	fclose(fp);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 10 * 1000 * 1000);
	/* A large config (about 10 MB of rules) is a record like any other. */
	for (int i = 0; i < 200000; i++)
		json_array_append_new(rules, json_pack("{s:i, s:s}", "id", i, "action", "DROP-THIS-PACKET-NOW"));
	json_object_set_new(cfg, "fw:rules", rules);
	j = rec_json("bridge", "cfg", 4, 1);
	json_object_set_new(j, "config", cfg);
	dump_rec(f, j);
	assert_loaded_only(f, want);
	assert_true(file_exists(f, "bridge@huge.json.corrupt"));
}

/* The store never writes what it would refuse to read back. */
static void test_put_refuses_past_bounds(void **state)
{
	struct fixture *f = *state;
	struct broker_record r;
	struct broker_record_port *many = calloc(PCN_MAX_PORTS + 1, sizeof(*many));
	struct broker_record_port far[] = { { "p1", PCN_MAX_PORTS } };

	assert_non_null(many);
	for (uint32_t i = 0; i <= PCN_MAX_PORTS; i++) {
		snprintf(many[i].name, sizeof(many[i].name), "p%u", i);
		many[i].index = i;
	}
	make_record(&r, "router", "r1", 1, NULL);
	r.ports = many;
	r.n_ports = PCN_MAX_PORTS + 1;
	assert_int_equal(broker_datastore_put(f->ds, &r), -EINVAL);
	r.n_ports = PCN_MAX_PORTS;
	assert_int_equal(broker_datastore_put(f->ds, &r), 0);
	make_record(&r, "router", "r2", 1, NULL);
	r.ports = far;
	r.n_ports = 1;
	assert_int_equal(broker_datastore_put(f->ds, &r), -EINVAL);
	make_record(&r, "router", "r3", 0, NULL);
	assert_int_equal(broker_datastore_put(f->ds, &r), -EINVAL);
	make_record(&r, "router", "r3", PCN_MAX_CUBES, NULL);
	assert_int_equal(broker_datastore_put(f->ds, &r), -EINVAL);
	make_record(&r, "router", "r3", 2, "\"not an object\"");
	assert_int_equal(broker_datastore_put(f->ds, &r), -EINVAL);
	make_record(&r, "router", "r3", 2, NULL);
	snprintf(r.uuid, sizeof(r.uuid), "../../x");
	assert_int_equal(broker_datastore_put(f->ds, &r), -EINVAL);
	assert_false(file_exists(f, "router@r2.json"));
	assert_false(file_exists(f, "router@r3.json"));
	free(many);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_put_load_round_trip), T(test_put_replaces),   T(test_delete),
		T(test_crash_before_rename), T(test_corrupt_file_skipped), T(test_truncated_files),
		T(test_walk_stops),
		T(test_bad_names_refused),   T(test_permissions),    T(test_open_errors),
		T(test_record_copy),
		T(test_oversized_ports),     T(test_slot_out_of_range), T(test_duplicate_slots),
		T(test_wrong_types_and_huge_strings), T(test_ten_mb_record), T(test_put_refuses_past_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
