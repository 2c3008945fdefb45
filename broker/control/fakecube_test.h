/* The API of fakecube_test.c: a broker in the test's process and a fake
 * cube process for it, shared by the broker's unit tests. */
#ifndef BROKER_FAKECUBE_TEST_H
#define BROKER_FAKECUBE_TEST_H

#include <stddef.h>

#include "control/control.h"

struct broker *tb_start(void);
void tb_stop(void);
int tb_write(enum broker_method m, const char *path, const char *body, char *msg, size_t n);
void tb_cube_refuse(int http);
unsigned tb_cube_applies(int op);
const char *tb_state_dir(void);
const char *tb_bpffs_root(void);
void tb_cube_metrics(const void *reply, size_t len, unsigned delay_ms);
unsigned tb_cube_reads(void);
void tb_cube_read_delay(unsigned ms);
void tb_run_ms(unsigned ms);
void tb_cube_refuse_instance(const char *name, int http);
void tb_cube_refuse_value(const char *name, const char *value, int http);
unsigned tb_cube_stale(void);
void tb_cube_apply_delay(unsigned ms);
const char *tb_cube_apply_log(void);
struct tb_write;
struct tb_write *tb_write_start(enum broker_method m, const char *path, const char *body);
int tb_write_wait(struct tb_write *w, unsigned ms);

#endif
