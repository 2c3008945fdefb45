/* One logger for every Cubemesh process.
 *
 * A line carries a level, a stable message id ("BROKER-CUBE-LOST") that
 * scripts and people can grep for, and free text. libbpf's and libyang's
 * own output is routed here too (pcn_log_route_libbpf).
 */
#ifndef CUBEMESH_LOG_H
#define CUBEMESH_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* enum pcn_log_level: the levels the fast path uses too. */
#include "pcn_log_kern_user.h"

/* Sets the process name shown on each line and the lowest level printed. */
void pcn_log_init(const char *process, enum pcn_log_level min_level);
void pcn_log_set_level(enum pcn_log_level min_level);
enum pcn_log_level pcn_log_get_level(void);

/* Returns the level named by s ("INFO", "debug"...), or -1. */
int pcn_log_level_parse(const char *s);
const char *pcn_log_level_name(enum pcn_log_level level);

/* Logs one line: "<time> <process> <LEVEL> <ID>: <text>". */
void pcn_logf(enum pcn_log_level level, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pcn_vlogf(enum pcn_log_level level, const char *id, const char *fmt, va_list ap);

/* Also hands every line that passes the level ("ID: text") to fn, under the
 * logger's lock: fn must not block and must not log. NULL removes it. */
typedef void (*pcn_log_sink_fn)(enum pcn_log_level level, const char *line, void *arg);
void pcn_log_set_sink(pcn_log_sink_fn fn, void *arg);

/* Routes libbpf's messages into this logger (warnings at WARN, the rest at DEBUG). */
void pcn_log_route_libbpf(void);

/* Copies the string src (NULL: "") into dst, n > 0 bytes with its NUL, as
 * well-formed UTF-8: each byte that does not begin a well-formed sequence
 * (stray continuation, overlong form, surrogate, beyond U+10FFFF, cut
 * short) becomes U+FFFD, and the copy stops before a character that would
 * not fit whole. A line from another process is shown in JSON (GET /logs),
 * where one bad byte would otherwise lose the whole line. Returns the
 * length of dst. */
size_t pcn_log_utf8_copy(char *dst, size_t n, const char *src);

#define PCN_TRACE(id, ...) pcn_logf(PCN_LOG_TRACE, id, __VA_ARGS__)
#define PCN_DEBUG(id, ...) pcn_logf(PCN_LOG_DEBUG, id, __VA_ARGS__)
#define PCN_INFO(id, ...) pcn_logf(PCN_LOG_INFO, id, __VA_ARGS__)
#define PCN_WARN(id, ...) pcn_logf(PCN_LOG_WARN, id, __VA_ARGS__)
#define PCN_ERR(id, ...) pcn_logf(PCN_LOG_ERR, id, __VA_ARGS__)

#endif
