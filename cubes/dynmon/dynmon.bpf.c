/* dynmon's own fast path: the wrapper alone. Each direction's micro-cube
 * slot is empty until a user's code fills it (dynmon.c), and an empty slot
 * passes every packet. */
#include "dynmon_entry.h"
