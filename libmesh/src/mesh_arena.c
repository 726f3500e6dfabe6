/*  mesh_arena.c: memory that is freed all at once

    See mesh_arena.h. Chunks are a singly linked list, newest first; only
    the newest is filled, so a piece that does not fit starts a new chunk
    twice the size of the last (up to S_CHUNK_MAX), and the tail of the old
    one is wasted: fine for what lives here, many small pieces written once.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "mesh_arena.h"

#define S_CHUNK_MIN     256
#define S_CHUNK_MAX     (16 * 1024)

void
mesh__arena_init (mesh__arena_t *self)
{
    assert (self);
    self->head = NULL;
    self->bytes = 0;
}

void *
mesh__arena_alloc (mesh__arena_t *self, size_t size)
{
    const size_t align = _Alignof (max_align_t);
    size = (size + align - 1) & ~(align - 1);
    mesh__arena_chunk_t *chunk = self->head;
    if (!chunk || chunk->capacity - chunk->used < size) {
        size_t capacity = chunk? chunk->capacity * 2: S_CHUNK_MIN;
        if (capacity > S_CHUNK_MAX)
            capacity = S_CHUNK_MAX;
        if (capacity < size)
            capacity = size;
        chunk = (mesh__arena_chunk_t *) malloc (sizeof (mesh__arena_chunk_t) + capacity);
        if (!chunk)
            return NULL;
        chunk->next = self->head;
        chunk->capacity = capacity;
        chunk->used = 0;
        self->head = chunk;
        self->bytes += sizeof (mesh__arena_chunk_t) + capacity;
    }
    void *memory = (char *) chunk->data + chunk->used;
    chunk->used += size;
    memset (memory, 0, size);
    return memory;
}

void
mesh__arena_fini (mesh__arena_t *self)
{
    while (self->head) {
        mesh__arena_chunk_t *next = self->head->next;
        free (self->head);
        self->head = next;
    }
    self->bytes = 0;
}
