/* Shared by the fuzz targets of tests/fuzz: the models loaded once, quiet
 * logs. Each target is a libFuzzer entry point (LLVMFuzzerTestOneInput);
 * scripts/fuzz.sh builds and runs them. */
#ifndef CUBEMESH_FUZZ_COMMON_H
#define CUBEMESH_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

struct broker_models;

/* The broker's models with every shipped cube module (yang/) and the test
 * models of broker/model/testdata (router-test: composite keys, leaf-lists,
 * actions; transparent-test), created on the first call and kept for the
 * process: the broker also keeps its models across requests. Aborts if a
 * module does not load (the target would fuzz nothing). */
struct broker_models *fz_models(void);

/* Sets the process's log level to OFF: the code under test logs refused
 * input, which would only slow the fuzzer down. */
void fz_quiet(void);

/* Stops the process with a message when an invariant the target checks does
 * not hold: libFuzzer records the input like any crash. */
void fz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Reads every one of the n bytes at p (into a sum the compiler must keep):
 * a length the code under test got wrong becomes a read past the end of
 * the input, which ASan reports. */
void fz_touch(const void *p, size_t n);

#endif
