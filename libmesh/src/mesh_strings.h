/*  mesh_strings.h: strings copied once, packed, and kept once

    Private to libmesh (mesh__ names). A rule file of 100,000 rules holds
    100,000 rule names, 100,000 patterns and, typically, a handful of
    distinct target names named 100,000 times. A malloc per string costs
    its allocator's header and size-class rounding, and a page fault for
    every 4 kB touched: the pool copies strings end to end (no alignment,
    one NUL each) into 64 kB blocks of an arena, freed in one sweep; the
    intern table hands out one copy per distinct string, so that equal
    names are one pointer.

    Usage:
        mesh__strings_t pool = { 0 };           //  all zeros: empty
        mesh__intern_t targets = { 0 };
        const char *copy = mesh__strings_copy (&pool, text, size);
        bool added;
        const char *name = mesh__intern (&targets, &pool, "rewards", 7, &added);
        ...
        mesh__intern_fini (&targets);           //  the strings stay in the pool
        mesh__strings_fini (&pool);             //  every copy is gone
*/
#ifndef MESH_STRINGS_H_INCLUDED
#define MESH_STRINGS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mesh_arena.h"

typedef struct {
    mesh__arena_t arena;        //  the blocks
    char *block;                //  the one being filled
    size_t room;                //  bytes left in it
} mesh__strings_t;

//  A NUL-terminated copy of size bytes of text (which need not be
//  terminated), valid until mesh__strings_fini; NULL when out of memory.
const char *
    mesh__strings_copy (mesh__strings_t *self, const char *text, size_t size);

//  Room for a string of exactly size bytes, for a caller that writes it
//  in place: fill the size bytes, then keep them with mesh__strings_commit
//  of the same size (which terminates them). NULL when out of memory.
char *
    mesh__strings_reserve (mesh__strings_t *self, size_t size);
void
    mesh__strings_commit (mesh__strings_t *self, size_t size);

//  Bytes malloc'd for the pool.
size_t
    mesh__strings_bytes (const mesh__strings_t *self);

//  Free every copy. The pool is then empty, ready for use again.
void
    mesh__strings_fini (mesh__strings_t *self);

typedef struct {
    const char **items;         //  each distinct string, in order of first sight
    uint32_t *hashes;           //  its hash
    size_t count;
    size_t capacity;
    uint32_t *slots;            //  hash of items: index + 1, 0 for empty;
    size_t slot_count;          //  a power of two, at most half full
} mesh__intern_t;

//  The one copy of text (size bytes, no NUL among them) in the table,
//  copied into pool if it is new, in which case *added is set (added may
//  be NULL). NULL when out of memory.
const char *
    mesh__intern (mesh__intern_t *self, mesh__strings_t *pool, const char *text, size_t size,
                  bool *added);

//  Free the table (the strings are the pool's). All zeros again.
void
    mesh__intern_fini (mesh__intern_t *self);

#endif
