/*  mesh_automaton_share.c: the builder's tables of shared leaves
    (mesh_automaton_share.h)
*/
#include <stdlib.h>
#include <string.h>
#include "mesh_automaton.h"
#include "mesh_automaton_share.h"

void
mesh__share_init (mesh__share_t *self)
{
    memset (self, 0, sizeof (*self));
}

void
mesh__share_fini (mesh__share_t *self)
{
    free (self->slots);
    memset (self, 0, sizeof (*self));
}

static uint64_t
s_hash (uint64_t a, uint64_t b, const char *text, size_t size)
{
    uint64_t hash = mesh__am_mix (mesh__am_hash_bytes (text, size) ^ mesh__am_mix (a ^ mesh__am_mix (b + 1)));
    return hash? hash: 1;
}

static mesh__share_slot_t *
s_find (const mesh__share_t *self, uint64_t hash, uint64_t a, uint64_t b, const char *text, size_t size)
{
    size_t mask = self->slot_count - 1;
    for (size_t i = (size_t) hash & mask; ; i = (i + 1) & mask) {
        mesh__share_slot_t *slot = &self->slots [i];
        if (!slot->hash
        || (slot->hash == hash && slot->a == a && slot->b == b && slot->size == size
            && (size == 0 || memcmp (slot->text, text, size) == 0)))
            return slot;
    }
}

static int
s_grow (mesh__share_t *self)
{
    size_t slot_count = self->slot_count? self->slot_count * 2: 256;
    mesh__share_slot_t *slots = calloc (slot_count, sizeof (mesh__share_slot_t));
    if (!slots)
        return -1;
    mesh__share_t bigger = { slots, slot_count, self->count };
    for (size_t i = 0; i < self->slot_count; i++) {
        mesh__share_slot_t *old = &self->slots [i];
        if (old->hash)
            *s_find (&bigger, old->hash, old->a, old->b, old->text, old->size) = *old;
    }
    free (self->slots);
    *self = bigger;
    return 0;
}

uint32_t *
mesh__share_at (mesh__share_t *self, uint64_t a, uint64_t b, const char *text, size_t size)
{
    if ((self->count + 1) * 2 > self->slot_count && s_grow (self))
        return NULL;
    uint64_t hash = s_hash (a, b, text, size);
    mesh__share_slot_t *slot = s_find (self, hash, a, b, text, size);
    if (!slot->hash) {
        *slot = (mesh__share_slot_t) { a, b, text, size, hash, 0 };
        self->count++;
    }
    return &slot->value;
}

uint32_t
mesh__share_get (const mesh__share_t *self, uint64_t a, uint64_t b, const char *text, size_t size)
{
    if (!self->slot_count)
        return 0;
    const mesh__share_slot_t *slot = s_find (self, s_hash (a, b, text, size), a, b, text, size);
    return slot->hash? slot->value: 0;
}
