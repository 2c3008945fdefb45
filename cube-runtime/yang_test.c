/* The diff -> handler dispatch, on the real helloworld and simpleforwarder
 * models: what a cube author's callbacks see for each kind of change, and
 * that a failing callback leaves nothing applied. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcn_int.h"
#include "rt_test_helloworld_yang.h"
#include "rt_test_simplefwd_yang.h"

/* Every callback appends "<op> <what>" and a ';' here. */
static char calls[4096];
/* The outport value whose handler refuses it (NULL: none refused). */
static const char *refuse_outport;
static int applied_entries;

static void record(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void record(const char *fmt, ...)
{
	size_t n = strlen(calls);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(calls + n, sizeof(calls) - n, fmt, ap);
	va_end(ap);
	strncat(calls, ";", sizeof(calls) - strlen(calls) - 1);
}

static const char *op_name(enum pcn_op op)
{
	return op == PCN_OP_CREATE ? "C" : op == PCN_OP_REPLACE ? "R" : "D";
}

static int hw_action(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *n)
{
	if (op == PCN_OP_REPLACE)
		record("R action=%s(%d) was %s", pcn_node_value(n), pcn_node_enum(n), pcn_node_old_value(n));
	else
		record("%s action=%s(%d)", op_name(op), pcn_node_value(n), pcn_node_enum(n));
	return 0;
}

static int hw_ports(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *n)
{
	record("%s port %s", op_name(op), pcn_node_key(n, "name"));
	return 0;
}

static int hw_peer(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *n)
{
	record("%s peer[%s]=%s", op_name(op), pcn_node_key(n, "name"), pcn_node_value(n));
	return 0;
}

static const struct pcn_config_handler hw_handlers[] = {
	{ "/helloworld:helloworld/action", hw_action },
	{ "/helloworld:helloworld/ports", hw_ports },
	{ "/helloworld:helloworld/ports/peer", hw_peer },
	{ NULL },
};

static const struct pcn_cube_desc hw_desc = {
	.service = "helloworld",
	.version = "1.0",
	.yang_module_name = "helloworld",
	.yang_module = rt_test_helloworld_yang,
	.handlers = hw_handlers,
};

static int sf_actions(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *n)
{
	record("%s actions[%s] action=%s", op_name(op), pcn_node_key(n, "inport"),
	       pcn_node_child(n, "action"));
	return 0;
}

static int sf_outport(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *n)
{
	if (refuse_outport && op != PCN_OP_DELETE && strcmp(pcn_node_value(n), refuse_outport) == 0)
		return pcn_fail(inst, -EINVAL, "outport %s does not exist", pcn_node_value(n));
	record("%s outport[%s]=%s", op_name(op), pcn_node_key(n, "inport"), pcn_node_value(n));
	return 0;
}

static int count_entry(const struct pcn_node *entry, void *arg)
{
	(void)arg;
	applied_entries++;
	return pcn_node_key(entry, "inport") ? 0 : -EINVAL;
}

static int sf_applied(struct pcn_instance *inst, const struct pcn_node *config)
{
	applied_entries = 0;
	return pcn_node_foreach(config, "actions", count_entry, NULL);
}

static const struct pcn_config_handler sf_handlers[] = {
	{ "/simpleforwarder:simpleforwarder/actions", sf_actions },
	{ "/simpleforwarder:simpleforwarder/actions/outport", sf_outport },
	{ NULL },
};

static const struct pcn_cube_desc sf_desc = {
	.service = "simpleforwarder",
	.version = "1.0",
	.yang_module_name = "simpleforwarder",
	.yang_module = rt_test_simplefwd_yang,
	.handlers = sf_handlers,
	.on_applied = sf_applied,
};

struct fixture {
	struct pcn__runtime *rt;
	struct pcn_instance inst;
};

static int setup(void **state, const struct pcn_cube_desc *desc)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(pcn__runtime_create(&f->rt, desc, "/nonexistent"), 0);
	f->inst.rt = f->rt;
	snprintf(f->inst.name, sizeof(f->inst.name), "t1");
	calls[0] = '\0';
	refuse_outport = NULL;
	*state = f;
	return 0;
}

static int setup_hw(void **state) { return setup(state, &hw_desc); }
static int setup_sf(void **state) { return setup(state, &sf_desc); }

static int teardown(void **state)
{
	struct fixture *f = *state;

	lyd_free_all(f->inst.tree);
	pcn__runtime_destroy(f->rt);
	free(f);
	return 0;
}

/* Applies json (NULL: delete the instance) over the fixture's current tree,
 * keeping the new tree only on success, as the runtime does. */
static int apply(struct fixture *f, const char *json)
{
	struct lyd_node *tree = NULL;
	int rc;

	if (json)
		assert_int_equal(pcn__config_parse(f->rt->ly, json, &tree), 0);
	calls[0] = '\0';
	rc = pcn__config_dispatch(&f->inst, f->inst.tree, tree);
	if (rc) {
		lyd_free_all(tree);
		return rc;
	}
	lyd_free_all(f->inst.tree);
	f->inst.tree = tree;
	return 0;
}

static void test_create_gets_defaults(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(apply(f, "{\"helloworld:helloworld\":[{\"name\":\"t1\"}]}"), 0);
	/* `action` was not given: its default reaches the handler. */
	assert_string_equal(calls, "C action=DROP(0);");
}

static void test_replace_and_delete_leaf(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(apply(f, "{\"helloworld:helloworld\":[{\"name\":\"t1\",\"action\":\"FORWARD\"}]}"), 0);
	assert_string_equal(calls, "C action=FORWARD(2);");
	assert_int_equal(apply(f, "{\"helloworld:helloworld\":[{\"name\":\"t1\",\"action\":\"SLOWPATH\"}]}"), 0);
	assert_string_equal(calls, "R action=SLOWPATH(1) was FORWARD;");
	/* Back to the default: a replace, not a delete. */
	assert_int_equal(apply(f, "{\"helloworld:helloworld\":[{\"name\":\"t1\"}]}"), 0);
	assert_string_equal(calls, "R action=DROP(0) was SLOWPATH;");
	/* Unchanged config: no call at all. */
	assert_int_equal(apply(f, "{\"helloworld:helloworld\":[{\"name\":\"t1\"}]}"), 0);
	assert_string_equal(calls, "");
}

static void test_list_entries(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(apply(f, "{\"helloworld:helloworld\":[{\"name\":\"t1\",\"ports\":["
				  "{\"name\":\"p1\",\"peer\":\"veth1\"},{\"name\":\"p2\"}]}]}"),
			 0);
	/* An entry first, then its leaves; defaults come after what was given. */
	assert_string_equal(calls, "C port p1;C peer[p1]=veth1;C port p2;C action=DROP(0);");
	assert_int_equal(apply(f, "{\"helloworld:helloworld\":[{\"name\":\"t1\",\"ports\":["
				  "{\"name\":\"p2\",\"peer\":\"veth2\"}]}]}"),
			 0);
	/* A deleted entry's leaves go before the entry. */
	assert_string_equal(calls, "D peer[p1]=veth1;D port p1;C peer[p2]=veth2;");
	/* Deleting the instance deletes everything, children first. */
	assert_int_equal(apply(f, NULL), 0);
	assert_string_equal(calls, "D peer[p2]=veth2;D port p2;D action=DROP(0);");
}

static void test_keys_of_enclosing_entry(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(apply(f, "{\"simpleforwarder:simpleforwarder\":[{\"name\":\"t1\",\"ports\":["
				  "{\"name\":\"p1\"},{\"name\":\"p2\"}],\"actions\":[{\"inport\":\"p1\","
				  "\"action\":\"FORWARD\",\"outport\":\"p2\"}]}]}"),
			 0);
	assert_string_equal(calls, "C actions[p1] action=FORWARD;C outport[p1]=p2;");
	assert_int_equal(applied_entries, 1);
	/* Only the outport changed: the entry's key is still known. */
	assert_int_equal(apply(f, "{\"simpleforwarder:simpleforwarder\":[{\"name\":\"t1\",\"ports\":["
				  "{\"name\":\"p1\"},{\"name\":\"p2\"}],\"actions\":[{\"inport\":\"p1\","
				  "\"action\":\"FORWARD\",\"outport\":\"p1\"}]}]}"),
			 0);
	assert_string_equal(calls, "R outport[p1]=p1;");
}

static void test_failure_rolls_back(void **state)
{
	struct fixture *f = *state;
	const char *before = "{\"simpleforwarder:simpleforwarder\":[{\"name\":\"t1\",\"actions\":["
			     "{\"inport\":\"a\",\"outport\":\"x\"}]}]}";
	const struct lyd_node *kept;

	assert_int_equal(apply(f, before), 0);
	kept = f->inst.tree;
	refuse_outport = "bad";
	/* Entry a changes, entry b is created, then b's outport is refused. */
	assert_int_equal(apply(f, "{\"simpleforwarder:simpleforwarder\":[{\"name\":\"t1\",\"actions\":["
				  "{\"inport\":\"a\",\"outport\":\"y\"},{\"inport\":\"b\",\"outport\":\"bad\"}]}]}"),
			 -EINVAL);
	/* Applied: a's outport, b's entry; then undone in reverse order. */
	assert_string_equal(calls, "R outport[a]=y;C actions[b] action=DROP;"
				   "D actions[b] action=DROP;R outport[a]=x;");
	assert_string_equal(f->inst.err_msg, "outport bad does not exist");
	/* The old tree is still the instance's config. */
	assert_ptr_equal(f->inst.tree, kept);
	assert_string_equal(pcn__config_leaf(f->inst.tree, "actions[inport='a']/outport"), "x");
	/* And a later good apply diffs against it. */
	refuse_outport = NULL;
	assert_int_equal(apply(f, "{\"simpleforwarder:simpleforwarder\":[{\"name\":\"t1\",\"actions\":["
				  "{\"inport\":\"a\",\"outport\":\"z\"}]}]}"),
			 0);
	assert_string_equal(calls, "R outport[a]=z;");
}

static void test_parse_refuses_unknown(void **state)
{
	struct fixture *f = *state;
	struct lyd_node *tree = NULL;

	assert_int_equal(pcn__config_parse(f->rt->ly, "{\"helloworld:helloworld\":[{\"name\":\"t1\",\"fly\":1}]}",
					   &tree),
			 -EINVAL);
	assert_null(tree);
	assert_int_equal(pcn__config_parse(f->rt->ly, "", &tree), 0);
	assert_null(tree);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_gets_defaults, setup_hw, teardown),
		cmocka_unit_test_setup_teardown(test_replace_and_delete_leaf, setup_hw, teardown),
		cmocka_unit_test_setup_teardown(test_list_entries, setup_hw, teardown),
		cmocka_unit_test_setup_teardown(test_parse_refuses_unknown, setup_hw, teardown),
		cmocka_unit_test_setup_teardown(test_keys_of_enclosing_entry, setup_sf, teardown),
		cmocka_unit_test_setup_teardown(test_failure_rolls_back, setup_sf, teardown),
	};

	pcn_log_init("cube_runtime_yang_test", PCN_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
