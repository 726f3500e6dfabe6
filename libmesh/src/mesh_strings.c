/*  mesh_strings.c: strings copied once, packed, and kept once

    See mesh_strings.h. The pool takes its blocks from an arena, each sized
    so that the arena's malloc is exactly 64 kB (a size class of its own in
    jemalloc and glibc alike, so nothing is rounded up), and fills a block
    end to end; a string that does not fit the rest of the block starts a
    new one (the tail is lost: under 1% with strings of a few hundred
    bytes), and a string larger than a block gets an arena piece of its
    own. The intern table is open addressing with linear probing over the
    items' indexes, FNV-1a hashed (each item's hash kept), never more than
    half full; it only grows (a bus's names are added once and looked up
    while loading).
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "mesh_strings.h"

#define S_BLOCK_SIZE    (65536 - sizeof (mesh__arena_chunk_t))

char *
mesh__strings_reserve (mesh__strings_t *self, size_t size)
{
    assert (self);
    if (size >= S_BLOCK_SIZE / 4)       //  large: a piece of its own
        return (char *) mesh__arena_alloc (&self->arena, size + 1);
    if (self->room < size + 1) {
        char *block = (char *) mesh__arena_alloc (&self->arena, S_BLOCK_SIZE);
        if (!block)
            return NULL;
        self->block = block;
        self->room = S_BLOCK_SIZE;
    }
    return self->block;
}

void
mesh__strings_commit (mesh__strings_t *self, size_t size)
{
    if (size >= S_BLOCK_SIZE / 4) {
        //  Its own piece: the arena zeroed it, so it is terminated
        return;
    }
    assert (self->room >= size + 1);
    self->block [size] = '\0';
    self->block += size + 1;
    self->room -= size + 1;
}

const char *
mesh__strings_copy (mesh__strings_t *self, const char *text, size_t size)
{
    char *copy = mesh__strings_reserve (self, size);
    if (!copy)
        return NULL;
    memcpy (copy, text, size);
    mesh__strings_commit (self, size);
    return copy;
}

size_t
mesh__strings_bytes (const mesh__strings_t *self)
{
    return self->arena.bytes;
}

void
mesh__strings_fini (mesh__strings_t *self)
{
    mesh__arena_fini (&self->arena);
    self->block = NULL;
    self->room = 0;
}

static uint32_t
s_hash (const char *text, size_t size)
{
    uint64_t hash = 14695981039346656037ULL;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ (uint8_t) text [i]) * 1099511628211ULL;
    return (uint32_t) (hash ^ (hash >> 32));
}

//  The slot holding text, or the empty slot where it would go. Items are
//  compared by hash first: a probe reads an item's bytes (a cache miss,
//  in a pool of megabytes) only when the hashes agree.
static size_t
s_slot (const mesh__intern_t *self, const char *text, size_t size, uint32_t hash)
{
    size_t mask = self->slot_count - 1;
    size_t slot = hash & mask;
    for (uint32_t found; (found = self->slots [slot]); slot = (slot + 1) & mask) {
        const char *item = self->items [found - 1];
        if (self->hashes [found - 1] == hash && strncmp (item, text, size) == 0 && item [size] == '\0')
            break;
    }
    return slot;
}

//  Room for one more item, in the list and in the hash; -1 if out of memory.
static int
s_reserve (mesh__intern_t *self)
{
    if (self->count == self->capacity) {
        size_t capacity = self->capacity? self->capacity * 2: 16;
        const char **items = (const char **) realloc ((void *) self->items, capacity * sizeof (char *));
        if (!items)
            return -1;
        self->items = items;
        uint32_t *hashes = (uint32_t *) realloc (self->hashes, capacity * sizeof (uint32_t));
        if (!hashes)
            return -1;
        self->hashes = hashes;
        self->capacity = capacity;
    }
    if ((self->count + 1) * 2 <= self->slot_count)
        return 0;
    size_t slot_count = self->slot_count? self->slot_count * 2: 64;
    uint32_t *slots = (uint32_t *) calloc (slot_count, sizeof (uint32_t));
    if (!slots)
        return -1;
    free (self->slots);
    self->slots = slots;
    self->slot_count = slot_count;
    //  The items are distinct: each goes to the first empty slot
    for (size_t i = 0; i < self->count; i++) {
        size_t slot = self->hashes [i] & (slot_count - 1);
        while (slots [slot])
            slot = (slot + 1) & (slot_count - 1);
        slots [slot] = (uint32_t) i + 1;
    }
    return 0;
}

const char *
mesh__intern (mesh__intern_t *self, mesh__strings_t *pool, const char *text, size_t size, bool *added)
{
    assert (self && pool && text);
    if (added)
        *added = false;
    if (self->count >= UINT32_MAX - 1)
        return NULL;
    uint32_t hash = s_hash (text, size);
    if (self->slot_count) {
        uint32_t found = self->slots [s_slot (self, text, size, hash)];
        if (found)
            return self->items [found - 1];
    }
    if (s_reserve (self))
        return NULL;
    const char *copy = mesh__strings_copy (pool, text, size);
    if (!copy)
        return NULL;
    self->items [self->count] = copy;
    self->hashes [self->count] = hash;
    self->slots [s_slot (self, text, size, hash)] = (uint32_t) self->count + 1;
    self->count++;
    if (added)
        *added = true;
    return copy;
}

void
mesh__intern_fini (mesh__intern_t *self)
{
    free ((void *) self->items);
    free (self->hashes);
    free (self->slots);
    memset (self, 0, sizeof (*self));
}
