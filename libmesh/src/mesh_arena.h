/*  mesh_arena.h: memory that is freed all at once

    Private to libmesh (mesh__ names). An arena hands out zeroed pieces from
    chunks it mallocs, growing them geometrically from 256 bytes to 16 kB
    (a larger piece gets a chunk of its own size), and frees every chunk in
    one sweep. A compiled rule lives in one (so a rule is freed at once and
    its memory is the sum of its chunks: a one-field rule costs a few
    hundred bytes, not a page); the automaton's builder expands each rule's
    `$or`s in one and empties it between rules. The arena is two words, so
    a rule costs no more for holding one.

    Usage:
        mesh__arena_t arena;
        mesh__arena_init (&arena);
        node_t *node = mesh__arena_alloc (&arena, sizeof (node_t));
        ...
        mesh__arena_fini (&arena);          //  and it can be used again
*/
#ifndef MESH_ARENA_H_INCLUDED
#define MESH_ARENA_H_INCLUDED

#include <stddef.h>

typedef struct mesh__arena_chunk_s {
    struct mesh__arena_chunk_s *next;
    size_t capacity;            //  bytes of data
    size_t used;
    max_align_t data [];
} mesh__arena_chunk_t;

typedef struct {
    mesh__arena_chunk_t *head;
    size_t bytes;               //  everything malloc'd for the chunks
} mesh__arena_t;

//  Start an empty arena in caller storage; it mallocs nothing yet. (All
//  zeros is an empty arena too, so a calloc'd owner needs no call.)
void
    mesh__arena_init (mesh__arena_t *self);

//  size bytes of zeroed memory, aligned for any type, that live until
//  mesh__arena_fini; NULL when out of memory.
void *
    mesh__arena_alloc (mesh__arena_t *self, size_t size);

//  Free every chunk. The arena is then empty, ready for use again.
void
    mesh__arena_fini (mesh__arena_t *self);

#endif
