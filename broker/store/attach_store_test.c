/* Tests of the transparent stacks on disk (attach_store.c): what is saved
 * is loaded back; a file that is not a list of stacks, or too big, or not a
 * file, is refused (NULL: nothing restored) instead of half read; a save
 * goes through a temporary file and a rename, so a failed save leaves the
 * previous file whole and no temporary file behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datastore.h"

#define FILE_NAME "attachments.json"
#define MAX_BYTES (4 << 20) /* ATTACH_STORE_MAX */

struct fixture {
	char dir[64];
	char file[128];
	char tmp[128];
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
	snprintf(f->dir, sizeof(f->dir), "/tmp/pcn-attach-test-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->file, sizeof(f->file), "%s/" FILE_NAME, f->dir);
	snprintf(f->tmp, sizeof(f->tmp), "%s/" FILE_NAME ".tmp", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Two stacks as topology/attach_restore.c writes them. */
static json_t *two_stacks(void)
{
	json_error_t err;
	json_t *j = json_loads("[{\"netdev\":\"veth1\",\"hook\":2,\"stack\":[\"fw0\",\"dd1\"]},"
			       "{\"netdev\":\"hw1:port2\",\"hook\":0,\"slot-in\":7,\"slot-eg\":8,"
			       "\"stack\":[\"fw1\"]}]",
			       0, &err);

	assert_non_null(j);
	return j;
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* The names in dir other than . and .., counted. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	json_t *saved = two_stacks(), *loaded, *empty = json_array();
	struct stat st;

	assert_int_equal(broker_attach_store_save(f->dir, saved), 0);
	loaded = broker_attach_store_load(f->dir);
	assert_non_null(loaded);
	assert_true(json_equal(saved, loaded));
	/* Only the file: the temporary one was renamed onto it. */
	assert_int_equal(stat(f->file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(entries(f->dir), 1);
	json_decref(loaded);
	/* A save replaces the whole: no stacks left is an empty list. */
	assert_int_equal(broker_attach_store_save(f->dir, empty), 0);
	loaded = broker_attach_store_load(f->dir);
	assert_non_null(loaded);
	assert_int_equal(json_array_size(loaded), 0);
	assert_int_equal(entries(f->dir), 1);
	json_decref(loaded);
	json_decref(empty);
	json_decref(saved);
}

/* No file (a first start) is no stacks, not an error. */
static void test_absent(void **state)
{
	struct fixture *f = *state;

	assert_null(broker_attach_store_load(f->dir));
	assert_int_equal(entries(f->dir), 0);
}

static void test_corrupt_refused(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"[{\"port\":\"veth1\",\"cubes\":[\"fw0\"]",      /* cut short */
		"{\"port\":\"veth1\",\"cubes\":[\"fw0\"]}",      /* an object, not a list */
		"[{\"port\":\"veth1\",\"port\":\"veth2\"}]",     /* a duplicate member */
		"",                                              /* empty */
		"\"attachments\"",                               /* a string */
	};
	json_t *j;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(f->file, bad[i], strlen(bad[i]));
		assert_null(broker_attach_store_load(f->dir));
	}
	/* Not a file. */
	assert_int_equal(unlink(f->file), 0);
	assert_int_equal(mkdir(f->file, 0700), 0);
	assert_null(broker_attach_store_load(f->dir));
	assert_int_equal(rmdir(f->file), 0);
	/* A valid list a byte over the limit is refused unread; at the limit
	 * it is read. */
	{
		size_t len = MAX_BYTES + 1;
		char *text = malloc(len);

		assert_non_null(text);
		memset(text, ' ', len);
		text[0] = '[';
		text[len - 1] = ']';
		write_file(f->file, text, len);
		assert_null(broker_attach_store_load(f->dir));
		text[1] = '[';
		write_file(f->file, text + 1, len - 1);
		j = broker_attach_store_load(f->dir);
		assert_non_null(j);
		assert_true(json_is_array(j));
		json_decref(j);
		free(text);
	}
}

/* A temporary file left by a save that died before its rename is not
 * read, and the next save overwrites it and renames it away. */
static void test_stale_tmp(void **state)
{
	struct fixture *f = *state;
	json_t *saved = two_stacks(), *loaded;
	static const char junk[] = "[\"a stale temporary file, longer than what is saved next..................\"";

	write_file(f->tmp, junk, sizeof(junk) - 1);
	assert_null(broker_attach_store_load(f->dir));
	assert_int_equal(broker_attach_store_save(f->dir, saved), 0);
	assert_int_equal(access(f->tmp, F_OK), -1);
	loaded = broker_attach_store_load(f->dir);
	assert_non_null(loaded);
	assert_true(json_equal(saved, loaded));
	json_decref(loaded);
	json_decref(saved);
}

/* A save that cannot rename (the name is taken by a directory that is not
 * empty) fails with the reason, and leaves neither a temporary file nor a
 * changed previous state. A save into a directory that does not exist
 * fails and creates nothing. */
static void test_failed_save_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	json_t *saved = two_stacks();
	char inner[192], missing[192];
	struct stat st;

	assert_int_equal(mkdir(f->file, 0700), 0);
	snprintf(inner, sizeof(inner), "%s/keep", f->file);
	write_file(inner, "x", 1);
	assert_true(broker_attach_store_save(f->dir, saved) < 0);
	assert_int_equal(access(f->tmp, F_OK), -1);
	assert_int_equal(stat(f->file, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(entries(f->dir), 1);

	snprintf(missing, sizeof(missing), "%s/nosuchdir", f->dir);
	assert_int_equal(broker_attach_store_save(missing, saved), -ENOENT);
	assert_int_equal(access(missing, F_OK), -1);
	json_decref(saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_save_leaves_nothing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
