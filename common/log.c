#include "log.h"

#include <bpf/libbpf.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const level_names[] = {
	"TRACE", "DEBUG", "INFO", "WARN", "ERR", "CRITICAL", "OFF",
};

static char log_process[32] = "cubemesh";
static enum pcn_log_level log_min = PCN_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static pcn_log_sink_fn log_sink;
static void *log_sink_arg;

void pcn_log_set_sink(pcn_log_sink_fn fn, void *arg)
{
	pthread_mutex_lock(&log_lock);
	log_sink = fn;
	log_sink_arg = arg;
	pthread_mutex_unlock(&log_lock);
}

void pcn_log_init(const char *process, enum pcn_log_level min_level)
{
	snprintf(log_process, sizeof(log_process), "%s", process);
	log_min = min_level;
}

void pcn_log_set_level(enum pcn_log_level min_level) { log_min = min_level; }

enum pcn_log_level pcn_log_get_level(void) { return log_min; }

int pcn_log_level_parse(const char *s)
{
	for (int i = 0; i <= PCN_LOG_OFF; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	if (strcasecmp(s, "WARNING") == 0)
		return PCN_LOG_WARN;
	if (strcasecmp(s, "ERROR") == 0)
		return PCN_LOG_ERR;
	return -1;
}

const char *pcn_log_level_name(enum pcn_log_level level)
{
	if ((unsigned)level > PCN_LOG_OFF)
		return "?";
	return level_names[level];
}

void pcn_vlogf(enum pcn_log_level level, const char *id, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32], line[512];
	va_list ap2;

	if (level < log_min || level >= PCN_LOG_OFF)
		return;
	va_copy(ap2, ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	/* One lock around the whole line so lines from threads never interleave. */
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s.%03ldZ %s %s %s: ", stamp, ts.tv_nsec / 1000000, log_process,
		level_names[level], id);
	vfprintf(stderr, fmt, ap);
	if (fmt[0] == '\0' || fmt[strlen(fmt) - 1] != '\n')
		fputc('\n', stderr);
	fflush(stderr);
	if (log_sink) {
		int n = snprintf(line, sizeof(line), "%s: ", id);

		if (n < 0 || (size_t)n >= sizeof(line))
			n = 0;
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap2);
		log_sink(level, line, log_sink_arg);
	}
	va_end(ap2);
	pthread_mutex_unlock(&log_lock);
}

void pcn_logf(enum pcn_log_level level, const char *id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pcn_vlogf(level, id, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum pcn_log_level l = level == LIBBPF_WARN ? PCN_LOG_WARN : PCN_LOG_DEBUG;

	pcn_vlogf(l, "LIBBPF", fmt, ap);
	return 0;
}

void pcn_log_route_libbpf(void) { libbpf_set_print(libbpf_print); }

/* Length of the well-formed UTF-8 sequence at s (RFC 3629, table 3-7 of
 * Unicode), or 0. s is NUL-terminated: a NUL ends a short sequence. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	/* The second byte's range rules out overlong forms, surrogates and
	 * code points past U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

size_t pcn_log_utf8_copy(char *dst, size_t n, const char *src)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t out = 0;

	if (!dst || n == 0)
		return 0;
	while (*s) {
		size_t len = utf8_seq(s);
		const void *from = s;
		size_t take = len;

		if (!len) {
			from = repl;
			take = sizeof(repl) - 1;
			len = 1;
		}
		if (out + take > n - 1)
			break;
		memcpy(dst + out, from, take);
		out += take;
		s += len;
	}
	dst[out] = '\0';
	return out;
}
