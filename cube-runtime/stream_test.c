/* Live streams (stream.c) seen from the broker's side of the socket: the
 * answer line then the bytes written, in order, from any thread; refusals
 * with their errno; a client that does not read fills its queue and the
 * writer gets -EAGAIN (counted) at once, never blocking; a client that
 * leaves gets on_stream_close; a deleted instance's streams end after
 * their queue; the process's end closes the rest and removes its socket
 * (not a successor's). The callbacks run on the thread that calls
 * pcn__streams_run (the runtime's). Needs root (the stream socket serves
 * root peers only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pcn_int.h"

static pthread_t rt_thread;
static struct pcn_stream *last; /* the stream last opened */
static int opens, closes;
static struct pcn_instance *closed_inst;

static int t_open(struct pcn_instance *inst, const char *name, struct pcn_stream *s)
{
	assert_true(pthread_equal(pthread_self(), rt_thread));
	if (strcmp(name, "busy") == 0) {
		pcn_stream_write(s, "never sent", 10);
		return pcn_fail(inst, -EBUSY, "taken\nby another");
	}
	opens++;
	last = s;
	assert_string_equal(pcn_stream_name(s), name);
	return pcn_stream_write(s, "hello ", 6);
}

static void t_close(struct pcn_instance *inst, struct pcn_stream *s)
{
	assert_true(pthread_equal(pthread_self(), rt_thread));
	closes++;
	closed_inst = inst;
	if (s == last)
		last = NULL;
}

static const struct pcn_stream_desc t_streams[] = {
	{ "s", "text/x-test" },
	{ "busy", NULL },
	{ NULL },
};

static const struct pcn_cube_desc t_desc = {
	.service = "t",
	.streams = t_streams,
	.on_stream_open = t_open,
	.on_stream_close = t_close,
};

struct fixture {
	char dir[64];
	struct pcn__runtime *rt;
	struct pcn_instance *inst;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/cm-stream-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->rt = calloc(1, sizeof(*f->rt));
	f->inst = calloc(1, sizeof(*f->inst));
	f->rt->desc = &t_desc;
	snprintf(f->rt->endpoint, sizeof(f->rt->endpoint), "ipc://%s/cube-t.sock", f->dir);
	f->inst->rt = f->rt;
	snprintf(f->inst->name, sizeof(f->inst->name), "i1");
	f->rt->instances = f->inst;
	rt_thread = pthread_self();
	opens = closes = 0;
	last = NULL;
	closed_inst = NULL;
	assert_int_equal(pcn__streams_start(f->rt), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pcn__streams_stop(f->rt);
	free(f->inst);
	free(f->rt);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Runs the runtime's side until cond holds (2 s at most). */
#define RUN_UNTIL(f, cond)                                                        \
	do {                                                                      \
		for (int i_ = 0; i_ < 200 && !(cond); i_++) {                    \
			struct pollfd p_ = { pcn__streams_fd((f)->rt), POLLIN, 0 }; \
			poll(&p_, 1, 10);                                         \
			pcn__streams_run((f)->rt);                                \
		}                                                                 \
		assert_true(cond);                                                \
	} while (0)

static int client(struct fixture *f, const char *hello)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(pcn_sock_stream(sa.sun_path, sizeof(sa.sun_path), f->rt->endpoint), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, hello, strlen(hello)), (ssize_t)strlen(hello));
	return fd;
}

/* Reads exactly n bytes (2 s at most), keeping the runtime's side going. */
static void read_n(struct fixture *f, int fd, char *buf, size_t n)
{
	size_t got = 0;

	for (int i = 0; i < 200 && got < n; i++) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		pcn__streams_run(f->rt);
		if (poll(&p, 1, 10) <= 0)
			continue;
		r = read(fd, buf + got, n - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_int_equal(got, n);
	buf[n] = '\0';
}

/* 0 when the peer closed (EOF) within 2 s. */
static int wait_eof(struct fixture *f, int fd)
{
	char c;

	for (int i = 0; i < 200; i++) {
		struct pollfd p = { fd, POLLIN, 0 };

		pcn__streams_run(f->rt);
		if (poll(&p, 1, 10) > 0)
			return read(fd, &c, 1) == 0 ? 0 : -1;
	}
	return -1;
}

static void *writer(void *arg)
{
	return (void *)(intptr_t)pcn_stream_write(arg, "world", 5);
}

static void test_open_write_close(void **state)
{
	struct fixture *f = *state;
	char buf[64];
	pthread_t t;
	void *ret;
	int fd = client(f, "i1 s\n");

	RUN_UNTIL(f, opens == 1);
	/* From another thread, as a capture's writer. */
	assert_int_equal(pthread_create(&t, NULL, writer, last), 0);
	pthread_join(t, &ret);
	assert_int_equal((intptr_t)ret, 0);
	read_n(f, fd, buf, strlen("OK text/x-test\nhello world"));
	assert_string_equal(buf, "OK text/x-test\nhello world");
	/* The client leaves: on_stream_close, on this thread. */
	close(fd);
	RUN_UNTIL(f, closes == 1);
	assert_ptr_equal(closed_inst, f->inst);
	assert_null(last);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	char buf[64];
	int fd;

	fd = client(f, "i1 busy\n");
	read_n(f, fd, buf, strlen("ERR 16 taken by another\n"));
	assert_string_equal(buf, "ERR 16 taken by another\n");
	assert_int_equal(wait_eof(f, fd), 0);
	close(fd);

	fd = client(f, "i1 nope\n");
	read_n(f, fd, buf, 6);
	assert_string_equal(buf, "ERR 2 ");
	close(fd);

	fd = client(f, "i2 s\n");
	read_n(f, fd, buf, 6);
	assert_string_equal(buf, "ERR 2 ");
	close(fd);

	/* Not the protocol: closed without an answer. */
	fd = client(f, "i1/../x s\n");
	assert_int_equal(wait_eof(f, fd), 0);
	close(fd);
	assert_int_equal(opens, 0);
	assert_int_equal(closes, 0);
}

static void test_slow_client_eagain(void **state)
{
	struct fixture *f = *state;
	static char block[65536];
	size_t queued = 0;
	int fd = client(f, "i1 s\n"), rc = 0, i;
	struct pcn_stream *s;

	RUN_UNTIL(f, opens == 1);
	s = last;
	/* The client reads nothing: the queue fills and then refuses, at
	 * once, whole writes only. */
	for (i = 0; i < 1000; i++) {
		rc = pcn_stream_write(s, block, sizeof(block));
		if (rc)
			break;
		queued += sizeof(block);
		pcn__streams_run(f->rt);
	}
	assert_int_equal(rc, -EAGAIN);
	assert_true(queued <= PCN_STREAM_QUEUE + (8u << 20)); /* the queue and the socket's buffers */
	assert_int_equal(pcn_stream_write(s, block, sizeof(block)), -EAGAIN);
	assert_int_equal(pcn_stream_drops(s), 2);
	close(fd);
	RUN_UNTIL(f, closes == 1);
}

static void test_instance_gone_flushes(void **state)
{
	struct fixture *f = *state;
	char buf[64];
	int fd = client(f, "i1 s\n");

	RUN_UNTIL(f, opens == 1);
	assert_int_equal(pcn_stream_write(last, "bye", 3), 0);
	pcn__streams_instance_gone(f->inst);
	assert_int_equal(closes, 1);
	read_n(f, fd, buf, strlen("OK text/x-test\nhello bye"));
	assert_string_equal(buf, "OK text/x-test\nhello bye");
	assert_int_equal(wait_eof(f, fd), 0);
	close(fd);
}

static void test_stop_closes(void **state)
{
	struct fixture *f = *state;
	char path[108];
	int fd = client(f, "i1 s\n");

	RUN_UNTIL(f, opens == 1);
	assert_int_equal(pcn_sock_stream(path, sizeof(path), f->rt->endpoint), 0);
	pcn__streams_stop(f->rt);
	assert_int_equal(closes, 1);
	assert_null(f->rt->streams);
	assert_int_equal(access(path, F_OK), -1); /* its socket is gone */
	close(fd);
}

/* A new process of the service bound its socket at the same path while
 * this one was exiting: this one's exit leaves it there. */
static void test_stop_leaves_successor(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_int_equal(pcn_sock_stream(sa.sun_path, sizeof(sa.sun_path), f->rt->endpoint), 0);
	assert_int_equal(unlink(sa.sun_path), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	pcn__streams_stop(f->rt);
	assert_int_equal(access(sa.sun_path, F_OK), 0);
	close(fd);
	unlink(sa.sun_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_write_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_client_eagain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instance_gone_flushes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_leaves_successor, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
