/* The lookups of core/tables.h. */
#include <stdio.h>
#include <string.h>

#include "core/tables.h"
#include "log.h"

struct broker_service *broker_service_find(struct broker *b, const char *name)
{
	for (struct broker_service *s = b->services; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

struct broker_service *broker_service_by_token(struct broker *b, const void *tok, size_t len)
{
	struct broker_service *found = NULL;

	if (!tok || len != BROKER_TOKEN_LEN)
		return NULL;
	/* Every byte of every service, whatever matches: the time taken says
	 * nothing about how close a guess was. */
	for (struct broker_service *s = b->services; s; s = s->next) {
		uint8_t diff = 0;

		for (size_t i = 0; i < BROKER_TOKEN_LEN; i++)
			diff |= s->token[i] ^ ((const uint8_t *)tok)[i];
		if (!diff && s->registered && !found)
			found = s;
	}
	return found;
}

void broker_forbidden_log(struct broker *b, const char *what, const char *svc, const char *instance,
			  const char *owner)
{
	uint64_t now = broker_now_ms(), *last_ms = &b->forbidden_last_ms;
	unsigned *unsaid = &b->forbidden_unsaid;
	char name[BROKER_NAME_MAX];
	size_t k;

	if (*last_ms && now - *last_ms < 1000) {
		(*unsaid)++;
		return;
	}
	*last_ms = now;
	/* The name is the sender's: bounded, and no line breaks or escapes
	 * into the log. */
	for (k = 0; instance && instance[k] && k < sizeof(name) - 1; k++)
		name[k] = instance[k] > 0x20 && instance[k] < 0x7f ? instance[k] : '?';
	name[k] = '\0';
	instance = name;
	if (svc)
		PCN_WARN("BROKER-CUBE-FORBIDDEN", "refused: a process of %s tried to %s for %s, an instance of %s "
			 "(%u more refusals in the last second were not logged)",
			 svc, what, instance, owner, *unsaid);
	else
		PCN_WARN("BROKER-CUBE-FORBIDDEN", "refused: a process without a valid registration token tried to "
			 "%s for %s (%u more refusals in the last second were not logged)", what, instance, *unsaid);
	*unsaid = 0;
}

struct broker_instance *broker_instance_find(struct broker *b, const char *name)
{
	for (struct broker_instance *i = b->instances; i; i = i->next)
		if (strcmp(i->name, name) == 0)
			return i;
	return NULL;
}

struct broker_instance *broker_instance_by_index(struct broker *b, uint32_t index)
{
	for (struct broker_instance *i = b->instances; i; i = i->next)
		if (i->index == index)
			return i;
	return NULL;
}

struct broker_port *broker_instance_port(const struct broker_instance *inst, const char *name)
{
	for (size_t i = 0; inst && i < inst->n_ports; i++)
		if (strcmp(inst->ports[i].name, name) == 0)
			return &inst->ports[i];
	return NULL;
}

struct broker_port *broker_peer_port(struct broker *b, const char *peer, struct broker_instance **inst)
{
	char cube[BROKER_NAME_MAX], port[BROKER_NAME_MAX];
	struct broker_instance *i = NULL;
	struct broker_port *p = NULL;

	if (pcn_peer_split(peer, cube, sizeof(cube), port, sizeof(port)) == 1) {
		i = broker_instance_find(b, cube);
		p = broker_instance_port(i, port);
	}
	if (inst)
		*inst = p ? i : NULL;
	return p;
}
