/* Unit tests of the per-process slow-path reports and their /metrics text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slowpath_procs.h"

/* The exporter's text for t (malloc'd). */
static char *metrics(const struct broker_sp_procs *t, broker_sp_proc_live_fn live, void *arg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	broker_sp_procs_metrics(f, t, live, arg);
	fclose(f);
	return text;
}

static void test_family_and_series(void **state)
{
	static struct broker_sp_procs t;
	char *text;

	(void)state;
	memset(&t, 0, sizeof(t));
	text = metrics(&t, NULL, NULL);
	/* The family is declared even with no process yet, OpenMetrics style
	 * (the _total suffix only on samples). */
	assert_non_null(strstr(text, "# TYPE cubemesh_cube_slowpath_out_lost_packets counter\n"));
	assert_non_null(strstr(text, "# HELP cubemesh_cube_slowpath_out_lost_packets "));
	assert_null(strstr(text, "_total{"));
	free(text);

	broker_sp_procs_report(&t, "helloworld", 42, 0);
	broker_sp_procs_report(&t, "simplebridge", 43, 7);
	broker_sp_procs_report(&t, "simplebridge", 43, 9); /* a later report replaces */
	text = metrics(&t, NULL, NULL);
	assert_non_null(strstr(text, "cubemesh_cube_slowpath_out_lost_packets_total{service=\"helloworld\",pid=\"42\"} 0\n"));
	assert_non_null(strstr(text, "cubemesh_cube_slowpath_out_lost_packets_total{service=\"simplebridge\",pid=\"43\"} 9\n"));
	assert_null(strstr(text, "} 7\n"));
	free(text);
}

/* A restarted process is a new series; the exited one goes when the
 * caller says it is not live any more. */
static bool only_pid_50(const char *service, uint32_t pid, void *arg)
{
	(void)service;
	(void)arg;
	return pid == 50;
}

static void test_restart_and_liveness(void **state)
{
	static struct broker_sp_procs t;
	char *text;

	(void)state;
	memset(&t, 0, sizeof(t));
	broker_sp_procs_report(&t, "helloworld", 49, 100);
	broker_sp_procs_report(&t, "helloworld", 50, 1);
	text = metrics(&t, NULL, NULL);
	assert_non_null(strstr(text, "{service=\"helloworld\",pid=\"49\"} 100\n"));
	assert_non_null(strstr(text, "{service=\"helloworld\",pid=\"50\"} 1\n"));
	free(text);
	text = metrics(&t, only_pid_50, NULL);
	assert_null(strstr(text, "pid=\"49\""));
	assert_non_null(strstr(text, "{service=\"helloworld\",pid=\"50\"} 1\n"));
	free(text);
}

/* More processes than slots: the least recently heard makes room, and the
 * table never holds two entries for one process. */
static void test_bounded(void **state)
{
	static struct broker_sp_procs t;
	char *text, *p;
	int n = 0;

	(void)state;
	memset(&t, 0, sizeof(t));
	for (uint32_t pid = 1; pid <= BROKER_SP_PROCS; pid++)
		broker_sp_procs_report(&t, "c", pid, pid);
	broker_sp_procs_report(&t, "c", 1, 1000); /* pid 1 heard again: pid 2 is now the oldest */
	broker_sp_procs_report(&t, "c", 9999, 5);
	text = metrics(&t, NULL, NULL);
	assert_non_null(strstr(text, "{service=\"c\",pid=\"1\"} 1000\n"));
	assert_non_null(strstr(text, "{service=\"c\",pid=\"9999\"} 5\n"));
	assert_null(strstr(text, "{service=\"c\",pid=\"2\"}"));
	for (p = text; (p = strstr(p, "_total{")); p++)
		n++;
	assert_int_equal(n, BROKER_SP_PROCS);
	free(text);
	/* Nameless reports are ignored. */
	broker_sp_procs_report(&t, "", 7, 7);
	broker_sp_procs_report(&t, NULL, 7, 7);
	text = metrics(&t, NULL, NULL);
	assert_null(strstr(text, "service=\"\""));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_series),
		cmocka_unit_test(test_restart_and_liveness),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
