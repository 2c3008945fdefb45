/* Maglev lookup-table population (see maglev.h), with weights.
 *
 * The paper's population: backend i prefers the entries offset_i,
 * offset_i + skip_i, offset_i + 2 skip_i, ... (mod M; M prime and
 * 0 < skip_i < M, so this visits every entry once); backends take turns,
 * each taking its next preferred entry still free, until the table is full.
 *
 * Weights: a turn is earned, not given. Each round every backend adds its
 * weight to a credit and takes one entry per max-weight of credit, so over
 * the fill backend i takes entries in the ratio w_i / sum(w); with equal
 * weights this is the paper's round robin exactly.
 *
 * Backends take their turns in the order of their ids (not of the caller's
 * array), so one set of backends always gives one table: a process that
 * restarts and rebuilds it from its configuration writes what was there. */
#include "maglev.h"

#include <errno.h>
#include <stdlib.h>

uint64_t maglev_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

int maglev_is_prime(uint32_t m)
{
	if (m < 2)
		return 0;
	if (m % 2 == 0)
		return m == 2;
	for (uint32_t d = 3; (uint64_t)d * d <= m; d += 2)
		if (m % d == 0)
			return 0;
	return 1;
}

struct mg_slot {
	uint64_t id;
	uint32_t weight;
	uint32_t orig;   /* index in the caller's array */
	uint64_t pos;    /* next preferred entry (64 bits: pos + skip < 2^33) */
	uint64_t skip;
	uint64_t credit;
};

static int mg_cmp(const void *a, const void *b)
{
	const struct mg_slot *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int maglev_build(const struct maglev_backend *b, size_t n, uint32_t m, uint16_t *table)
{
	struct mg_slot *s = NULL;
	size_t live = 0, i, filled = 0;
	uint32_t wmax = 0;

	if (m < 3 || !maglev_is_prime(m) || n > MAGLEV_MAX_BACKENDS || (n && !b) || !table)
		return -EINVAL;
	for (uint32_t k = 0; k < m; k++)
		table[k] = MAGLEV_NONE;
	for (i = 0; i < n; i++)
		if (b[i].weight)
			live++;
	if (!live)
		return 0;
	s = calloc(live, sizeof(*s));
	if (!s)
		return -ENOMEM;
	live = 0;
	for (i = 0; i < n; i++) {
		if (!b[i].weight)
			continue;
		s[live].id = b[i].id;
		s[live].weight = b[i].weight;
		s[live].orig = (uint32_t)i;
		/* Two independent hashes of the id: where to start, and the
		 * stride (never 0: 1..M-1). */
		s[live].pos = maglev_mix64(b[i].id) % m;
		s[live].skip = maglev_mix64(b[i].id ^ 0x5bd1e9955bd1e995ull) % (m - 1) + 1;
		if (b[i].weight > wmax)
			wmax = b[i].weight;
		live++;
	}
	qsort(s, live, sizeof(*s), mg_cmp);
	for (i = 1; i < live; i++) {
		if (s[i].id == s[i - 1].id) {
			free(s);
			return -EINVAL;
		}
	}
	/* Every round the heaviest backend takes one entry, so the loop ends
	 * after at most m rounds. */
	while (filled < m) {
		for (i = 0; i < live && filled < m; i++) {
			struct mg_slot *x = &s[i];

			x->credit += x->weight;
			while (x->credit >= wmax && filled < m) {
				x->credit -= wmax;
				while (table[x->pos] != MAGLEV_NONE) {
					x->pos += x->skip;
					if (x->pos >= m)
						x->pos -= m;
				}
				table[x->pos] = (uint16_t)x->orig;
				filled++;
			}
		}
	}
	free(s);
	return 0;
}
