/* Log levels, shared by the fast path (pcn_log, bpf/pcn_helpers.h) and
 * every process (common/log.h): the same order and numbers as the YANG
 * loglevel enumeration and LogRecord.level of the IPC protocol. */
#ifndef PCN_LOG_KERN_USER_H
#define PCN_LOG_KERN_USER_H

enum pcn_log_level {
	PCN_LOG_TRACE = 0,
	PCN_LOG_DEBUG = 1,
	PCN_LOG_INFO = 2,
	PCN_LOG_WARN = 3,
	PCN_LOG_ERR = 4,
	PCN_LOG_CRITICAL = 5,
	PCN_LOG_OFF = 6,
};

#endif
