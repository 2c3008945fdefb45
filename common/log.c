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
