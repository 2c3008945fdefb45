/* broker_rmtree: removes a tree as rm -rf does, but a symbolic link inside
 * it (or the tree itself being one) never takes its target with it, and a
 * filesystem mounted below it is not entered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dp_testutil.h"
#include "rmtree.h"

/* base holds tree/ (what is removed) and outside/ (what must stay). */
static char base[64], tree[128], outside[128], mnt[128];

static void mkfile(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static void mkdirf(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s", dir, name);
	assert_int_equal(mkdir(path, 0700), 0);
}

static bool exists(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", dir, name);
	return lstat(path, &st) == 0;
}

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/cubemesh-rmtree.XXXXXX");
	if (!mkdtemp(base))
		return -1;
	snprintf(tree, sizeof(tree), "%s/tree", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	snprintf(mnt, sizeof(mnt), "%s/tree/mnt", base);
	if (mkdir(tree, 0700) || mkdir(outside, 0700))
		return -1;
	mkfile(outside, "target");
	return 0;
}

/* Runs after a failed test too: nothing is left in /tmp or mounted. */
static int teardown(void **state)
{
	(void)state;
	umount2(mnt, MNT_DETACH);
	dpt_sh("rm -rf -- '%s'", base);
	return 0;
}

static void test_tree_with_links(void **state)
{
	char path[PATH_MAX];

	(void)state;
	mkdirf(tree, "/a");
	mkdirf(tree, "/a/b");
	mkdirf(tree, "/a/empty");
	snprintf(path, sizeof(path), "%s/a/b", tree);
	mkfile(path, "file");
	mkfile(tree, "top");
	/* Links to a directory and to a file outside, and a dangling one. */
	snprintf(path, sizeof(path), "%s/a/dirlink", tree);
	assert_int_equal(symlink(outside, path), 0);
	snprintf(path, sizeof(path), "%s/filelink", tree);
	assert_int_equal(symlink("../outside/target", path), 0);
	snprintf(path, sizeof(path), "%s/dangling", tree);
	assert_int_equal(symlink("/nonexistent/cubemesh", path), 0);
	/* An unreadable directory is still removed (root's rm -rf does). */
	mkdirf(tree, "/a/closed");
	snprintf(path, sizeof(path), "%s/a/closed", tree);
	assert_int_equal(chmod(path, 0), 0);

	assert_int_equal(broker_rmtree(tree), 0);
	assert_false(exists(tree, ""));
	assert_true(exists(outside, "/target"));
	assert_true(exists(outside, ""));
	/* Twice: a tree that is gone is removed. */
	assert_int_equal(broker_rmtree(tree), 0);
}

static void test_tree_is_a_link(void **state)
{
	char link[PATH_MAX];

	(void)state;
	snprintf(link, sizeof(link), "%s/link", tree);
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(broker_rmtree(link), 0);
	assert_false(exists(tree, "/link"));
	assert_true(exists(outside, "/target"));
}

static void test_mount_below(void **state)
{
	char failed[PATH_MAX];

	(void)state;
	mkdirf(mnt, "");
	if (mount("cubemesh-rmtree", mnt, "tmpfs", 0, "size=64k"))
		skip();
	mkfile(mnt, "kept");
	mkfile(tree, "gone");
	/* The mount point stays, so does its parent: an error. */
	assert_true(broker_rmtree(tree) < 0);
	assert_true(exists(mnt, "/kept"));
	assert_false(exists(tree, "/gone"));
	/* The report names the first path left: the tree (the walk does not
	 * report the mount point, which is on another filesystem). */
	assert_int_equal(broker_rmtree_report(tree, failed, sizeof(failed)), -ENOTEMPTY);
	assert_string_equal(failed, tree);
	assert_int_equal(umount2(mnt, MNT_DETACH), 0);
	assert_int_equal(broker_rmtree_report(tree, failed, sizeof(failed)), 0);
	assert_string_equal(failed, "");
	assert_false(exists(tree, ""));
}

static void test_refusals(void **state)
{
	(void)state;
	assert_int_equal(broker_rmtree(""), -EINVAL);
	assert_int_equal(broker_rmtree("/"), -EINVAL);
	assert_int_equal(broker_rmtree("///"), -EINVAL);
	assert_int_equal(broker_rmtree(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tree_with_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree_is_a_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mount_below, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
