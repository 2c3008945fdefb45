/* A bitmap allocator of small integer ids. */
#include "idalloc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define WORD_BITS 64u

static size_t n_words(uint32_t count) { return ((size_t)count + WORD_BITS - 1) / WORD_BITS; }

int broker_idalloc_init(struct broker_idalloc *a, uint32_t first, uint32_t count)
{
	uint64_t *bits;

	if (!a || count == 0 || (uint64_t)first + count - 1 > INT_MAX)
		return -EINVAL;
	bits = calloc(n_words(count), sizeof(*bits));
	if (!bits)
		return -ENOMEM;
	a->first = first;
	a->count = count;
	a->used = 0;
	a->bits = bits;
	return 0;
}

void broker_idalloc_fini(struct broker_idalloc *a)
{
	if (!a)
		return;
	free(a->bits);
	memset(a, 0, sizeof(*a));
}

/* Turns id into a bit position; false if id is outside the range. */
static bool bit_of(const struct broker_idalloc *a, uint32_t id, uint32_t *bit)
{
	if (!a->bits || id < a->first || id - a->first >= a->count)
		return false;
	*bit = id - a->first;
	return true;
}

int broker_idalloc_get(struct broker_idalloc *a)
{
	size_t words = n_words(a->count);

	if (a->used >= a->count)
		return -ENOSPC;
	for (size_t w = 0; w < words; w++) {
		uint64_t free_bits = ~a->bits[w];
		uint32_t bit;

		if (!free_bits)
			continue;
		bit = (uint32_t)(w * WORD_BITS) + (uint32_t)__builtin_ctzll(free_bits);
		/* The last word has bits past count that are never ids. */
		if (bit >= a->count)
			break;
		a->bits[w] |= 1ull << (bit % WORD_BITS);
		a->used++;
		return (int)(a->first + bit);
	}
	return -ENOSPC;
}

int broker_idalloc_reserve(struct broker_idalloc *a, uint32_t id)
{
	uint32_t bit;

	if (!bit_of(a, id, &bit))
		return -ERANGE;
	if (a->bits[bit / WORD_BITS] & (1ull << (bit % WORD_BITS)))
		return -EEXIST;
	a->bits[bit / WORD_BITS] |= 1ull << (bit % WORD_BITS);
	a->used++;
	return 0;
}

int broker_idalloc_put(struct broker_idalloc *a, uint32_t id)
{
	uint32_t bit;

	if (!bit_of(a, id, &bit))
		return -ERANGE;
	if (!(a->bits[bit / WORD_BITS] & (1ull << (bit % WORD_BITS))))
		return -ENOENT;
	a->bits[bit / WORD_BITS] &= ~(1ull << (bit % WORD_BITS));
	a->used--;
	return 0;
}

bool broker_idalloc_used(const struct broker_idalloc *a, uint32_t id)
{
	uint32_t bit;

	if (!bit_of(a, id, &bit))
		return false;
	return (a->bits[bit / WORD_BITS] >> (bit % WORD_BITS)) & 1;
}
