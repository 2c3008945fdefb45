/* Per-instance records that a file of the runtime keeps beside the
 * instances (reload.c: the object before the last reload; wiring.c: the
 * entry's code; parent.c: the ParentInfo), found by instance. A few
 * instances per process: a list is enough. Serving thread only. */
#include "pcn_int.h"

#include <stdlib.h>

void *pcn__inst_rec_find(struct pcn__inst_rec **list, const struct pcn_instance *inst, size_t size, bool create)
{
	struct pcn__inst_rec *r;

	for (r = *list; r; r = r->next)
		if (r->inst == inst)
			return r;
	if (!create || size < sizeof(*r))
		return NULL;
	r = calloc(1, size);
	if (r) {
		r->inst = inst;
		r->next = *list;
		*list = r;
	}
	return r;
}

void *pcn__inst_rec_take(struct pcn__inst_rec **list, const struct pcn_instance *inst)
{
	for (struct pcn__inst_rec **pp = list; *pp; pp = &(*pp)->next) {
		if ((*pp)->inst == inst) {
			struct pcn__inst_rec *r = *pp;

			*pp = r->next;
			return r;
		}
	}
	return NULL;
}
