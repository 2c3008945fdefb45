/* Chaining counters (chainstats.c): the missed tail calls of each instance
 * by reason, read from the pinned pcn_chain_stats map. */
#ifndef BROKER_CHAINSTATS_H
#define BROKER_CHAINSTATS_H

#include <stdint.h>

#include <jansson.h>

struct broker;
struct broker_instance;
struct pcn_chain_stats;
/* Missed tail calls of an instance by reason, summed over CPUs. */
int broker_chain_stats_read(struct broker *b, uint32_t cube_index, struct pcn_chain_stats *out);
int broker_chain_stats_reset(struct broker *b, uint32_t cube_index);
/* The instance's tail-call-misses container (RFC 7951 members, unqualified). */
json_t *broker_chain_stats_json(struct broker *b, const struct broker_instance *inst);
/* OpenMetrics lines of every instance's misses by reason (malloc'd), or NULL. */
char *broker_chain_metrics(struct broker *b);

#endif
