/* Helpers for the data-plane tests: unique names, veth pairs, a bpffs root
 * per test process, and a trivial program to put in the PatchPanel. */
#ifndef BROKER_DP_TESTUTIL_H
#define BROKER_DP_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane.h"

/* Fills root with /sys/fs/bpf/cubemesh-test-<pid>-<tag>. */
void dpt_root(char *buf, size_t len, const char *tag);
/* Fills a/b with cmt<pid><tag>a / ...b (at most 15 characters). */
void dpt_veth_names(char *a, char *b, const char *tag);

/* Runs a shell command; returns its exit status (or -1). */
int dpt_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Runs a command and returns 1 if its output contains needle, 0 if not. */
int dpt_sh_grep(const char *needle, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Creates the veth pair a <-> b (deleting any leftover first); 0 or -1. */
int dpt_veth_add(const char *a, const char *b);
/* Deletes a veth pair by one end; fine if it is gone. */
void dpt_veth_del(const char *a);

/* Loads a program that returns `verdict` (XDP or SCHED_CLS), pins it at
 * path; returns the program fd or -errno. */
int dpt_prog_pin(bool xdp, int verdict, const char *path);
/* The id of the program behind fd, or 0. */
uint32_t dpt_prog_id(int fd);

/* Attaches ifindex at hook to cube 2, port 0, with stderr captured; sets
 * *rc to what broker_netdev_attach returned. Returns 1 if what it logged
 * has needle, 0 if not. */
int dpt_attach_logs(struct broker_dp *dp, int ifindex, enum pcn_hook hook, const char *needle, int *rc);

#endif
