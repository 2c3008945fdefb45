/* OpenMetrics text: the checks and escapes both ends of a cube's metrics
 * need. A cube's runtime refuses a bad sample early (pcn_metric_add); the
 * broker checks everything again, since what a cube process sends is not
 * trusted, and is the only one that prints.
 */
#ifndef PCN_OPENMETRICS_H
#define PCN_OPENMETRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Bounds of one sample (bytes): longer is invalid. */
#define PCN_OM_NAME_MAX 128       /* a family's or a label's name */
#define PCN_OM_HELP_MAX 1024
#define PCN_OM_VALUE_MAX 1024     /* a label's value */
#define PCN_OM_LABELS_MAX 16      /* labels of a sample, besides service and cube */

/* Metric name: [a-zA-Z_:][a-zA-Z0-9_:]*, 1..PCN_OM_NAME_MAX bytes. */
bool pcn_om_name_ok(const char *s);
/* Label name: [a-zA-Z_][a-zA-Z0-9_]*, 1..PCN_OM_NAME_MAX bytes, not
 * starting with "__" (reserved by Prometheus). */
bool pcn_om_label_ok(const char *s);
/* s is well-formed UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF) of at most max bytes. */
bool pcn_om_utf8_ok(const char *s, size_t max);
/* Writes s to f escaped as a label value or a HELP text: \\, \" and \n. */
void pcn_om_escape(FILE *f, const char *s);
/* Writes v as an OpenMetrics number: integers without a fraction, NaN,
 * +Inf, -Inf; otherwise the shortest of %.15g/%.17g that reads back. */
void pcn_om_value(FILE *f, double v);

#endif
